/* SPDX-License-Identifier: MIT */
/*
 * libazihsm: userspace access to azihsm devices (/dev/azihsmN).
 *
 * Every function returns 0 (or a byte count where said) on success and a
 * negative errno on failure. When the device itself refused a command,
 * the return is -EIO and azihsm_last_status() tells the device's status
 * (completion status or HSM status). Thread-safe per handle for
 * concurrent commands; each handle holds one open file descriptor.
 */
#ifndef AZIHSM_AZIHSM_H
#define AZIHSM_AZIHSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AZIHSM_DEFAULT_DEVICE "/dev/azihsm0"

struct azihsm_dev;

struct azihsm_rev {
	uint32_t major;
	uint32_t minor;
};

/* Where the last device-reported failure came from. */
enum azihsm_status_kind {
	AZIHSM_STATUS_KIND_NONE = 0,
	AZIHSM_STATUS_KIND_COMPLETION = 1,	/* CQE status (enum azihsm_sc) */
	AZIHSM_STATUS_KIND_HSM = 2,		/* response header status */
	AZIHSM_STATUS_KIND_DRIVER = 3,		/* ext_status (AZIHSM_EXT_*) */
};

struct azihsm_last_status {
	enum azihsm_status_kind kind;
	uint32_t code;
};

struct azihsm_info {
	char path[64];		/* device node */
	char pci[33];		/* PCI address */
	uint16_t ctrl_id;
	char serial[33];
	char model[33];
	char fw_rev[33];
	char driver_rev[16];
	struct azihsm_rev api_min;
	struct azihsm_rev api_max;
	uint32_t kind;		/* 1 virtual, 2 physical */
	uint32_t tables;
	bool fips_mode;		/* device runs in FIPS mode (never, emulated) */
	/*
	 * What became of the partition's stored state: "volatile" (none
	 * configured), "loaded", "created", or why it could not be used:
	 * "truncated", "corrupt", "rolled-back", "foreign", "nv-corrupt",
	 * "io-error", "bad-image". In those cases error_state is set and the
	 * device refuses every service but info.
	 */
	char partition_state[16];
	bool error_state;
	char ctrl_state[16];	/* sysfs: "ready", "resetting", "dead", ... */
	uint32_t hsm_queues;
	uint32_t aes_queues;
};

int azihsm_open(const char *path, struct azihsm_dev **out);
void azihsm_close(struct azihsm_dev *dev);

int azihsm_get_api_rev(struct azihsm_dev *dev, struct azihsm_rev *min,
		       struct azihsm_rev *max);
int azihsm_get_info(struct azihsm_dev *dev, struct azihsm_info *info);
/* Fills @buf with @len bytes from the device DRBG (any length). */
int azihsm_random(struct azihsm_dev *dev, void *buf, size_t len);

/*
 * Raw command: send MBOR @req, receive into @rsp (capacity @rsp_cap).
 * Returns the response length, or a negative errno. For tools and tests.
 */
int azihsm_command(struct azihsm_dev *dev, const void *req, size_t req_len,
		   void *rsp, size_t rsp_cap);

struct azihsm_last_status azihsm_last_status(const struct azihsm_dev *dev);
/* Message for a negative errno returned by this library. */
const char *azihsm_strerror(int err);
/* Name of a device status, e.g. "INVALID_OPCODE" or "MALFORMED". */
const char *azihsm_status_str(struct azihsm_last_status st);

#ifdef __cplusplus
}
#endif

#endif /* AZIHSM_AZIHSM_H */
