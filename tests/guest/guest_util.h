/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the guest tests: the raw ioctl path (so tests can
 * send exactly the bytes they want, bad ones included), request builders
 * on top of the one MBOR codec, and sysfs readers.
 *
 * Functions return 0 (or a length) on success and a negative errno on
 * failure, like libazihsm.
 */
#ifndef AZIHSM_GUEST_UTIL_H
#define AZIHSM_GUEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/azihsm.h>

#define GT_DEV		"/dev/azihsm0"
#define GT_SYSFS	"/sys/class/azihsm/azihsm0"

/* Opens GT_DEV read-write; returns the fd or -errno. */
int gt_open(void);

/* A command argument with valid header and buffers, ready to tweak. */
void gt_cmd_init(struct azihsm_cmd *c, const void *req, size_t req_len,
		 void *rsp, size_t rsp_cap);
/* ioctl(AZIHSM_IOCTL_CMD); 0 or -errno. */
int gt_ioctl_cmd(int fd, struct azihsm_cmd *c);

/* Request builders: return the encoded length, or -ENOSPC. */
int gt_req_empty(void *buf, size_t cap, uint32_t opcode);
int gt_req_random(void *buf, size_t cap, uint32_t len);
/* An empty data map with header field 3 = @sid (the ioctl's session flags stay 0). */
int gt_req_sess_empty(void *buf, size_t cap, uint32_t opcode, uint16_t sid);

/*
 * Parses a response header. Returns 0 and the HSM status in *status, or
 * -EBADMSG when the bytes are no response.
 */
int gt_rsp_status(const void *rsp, size_t len, uint32_t *status);

/*
 * One complete round trip: sends @req, and on success returns 0 with the
 * completion status in *cq_status and the HSM status in *hsm_status
 * (UINT32_MAX when the response did not parse).
 */
int gt_roundtrip(int fd, const void *req, size_t req_len,
		 uint32_t *cq_status, uint32_t *hsm_status);

/* GetApiRev over a fresh open: 0 when the device answers with success. */
int gt_device_works(void);

/* Environment of vm-run: NULL when unset or empty. */
const char *gt_env(const char *name);

/* Reads GT_SYSFS/<attr> without the trailing newline. */
int gt_sysfs_str(const char *attr, char *buf, size_t cap);
int gt_sysfs_u64(const char *attr, uint64_t *val);

/*
 * The officer's PIN of the guest tests. gt_officer_login() opens an officer
 * session with it, changing the default PIN to it first if the partition
 * still has the default. 0 or a libazihsm error.
 */
#define GT_OFFICER_PIN		"guest-officer-P1"
#define GT_DEFAULT_OFFICER_PIN	"CO-default-PIN-1"
struct azihsm_dev;
struct azihsm_session;
int gt_officer_login(struct azihsm_dev *dev, struct azihsm_session **s);

/* Reads a whole small file into @buf (NUL-terminated, newline kept). */
int gt_read_file(const char *path, char *buf, size_t cap);
int gt_write_file(const char *path, const char *text);

#endif /* AZIHSM_GUEST_UTIL_H */
