/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: secure boot and measurement (Documentation/hsm-design.md,
 * "Secure boot and measurement").
 *
 * The firmware "image" is a signed manifest (version, security version
 * number, SHA-384 of the firmware core's sources) made by the build
 * (scripts/fw-manifest). At start the device checks it against its fuses:
 * the SHA-384 of the vendor key that must have signed it, and the minimum
 * security version. A manifest that fails leaves the device in its error
 * state with the reason (GetDeviceInfo field AZIHSM_DEVINFO_BOOT).
 *
 * The measurement is SHA-384 over the manifest's signed part (everything
 * before its signature line), so it names what the vendor signed and does
 * not change when the same manifest is signed again (ECDSA signatures are
 * randomized). Without an image ("unsigned" boot, the default of host
 * tests and of a device given no fw-image property) the measurement is
 * SHA-384 over a fixed description of the configuration the firmware was
 * started with (HSM_BOOT_UNSIGNED_LABEL, the firmware revision, the SVN 0):
 * honest, but vouched for by nobody; the boot state says "unsigned".
 */
#ifndef HSM_BOOT_H
#define HSM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azihsm/msg.h"

struct hsm_fw;

#define HSM_BOOT_DIGEST_LEN	48	/* SHA-384 */
#define HSM_BOOT_VERSION_MAX	32	/* version string, without its NUL */
#define HSM_BOOT_MANIFEST_MAX	4096	/* a larger file is refused (MALFORMED) */
#define HSM_BOOT_UNSIGNED_LABEL	"azihsm unsigned firmware configuration v1"

/* What the device was told to boot from (QEMU properties fw-image, fuse-*). */
struct hsm_boot_config {
	const char *image_path;		/* manifest file; NULL: unsigned boot */
	/* Fuses. has_root false: none blown (then an image cannot verify). */
	bool has_root;
	uint8_t root_hash[HSM_BOOT_DIGEST_LEN];	/* SHA-384 of the signer's DER SPKI */
	uint32_t min_svn;
};

/* The outcome of boot: what runs and how it was checked. */
struct hsm_boot_state {
	enum azihsm_boot reason;	/* AZIHSM_BOOT_VERIFIED, _UNSIGNED or a refusal */
	uint32_t svn;
	char version[HSM_BOOT_VERSION_MAX + 1];
	uint8_t code_digest[HSM_BOOT_DIGEST_LEN];	/* as the manifest states it */
	uint8_t measurement[HSM_BOOT_DIGEST_LEN];
	/*
	 * What was verified, kept for the integrity self-test
	 * (hsm_boot_recheck): the fuses (image_path NULL) and the image bytes.
	 */
	struct hsm_boot_config fuses;
	size_t image_len;
	uint8_t image[HSM_BOOT_MANIFEST_MAX];
};

/*
 * Verify manifest bytes @m (@len) against @cfg's fuses into @out.
 * @out->reason: AZIHSM_BOOT_VERIFIED, or why it was refused (then
 * version, SVN and measurement are what could be read, else zero/empty).
 */
void hsm_boot_verify(const struct hsm_boot_config *cfg, const uint8_t *m, size_t len,
		     struct hsm_boot_state *out);
/*
 * Boot as the device does: no image and no fuse -> unsigned (measured
 * configuration, @fw_rev as version); an image -> read and verify it; fuses
 * but no image -> AZIHSM_BOOT_NO_IMAGE. Returns @out->reason.
 */
enum azihsm_boot hsm_boot_load(const struct hsm_boot_config *cfg, const char *fw_rev,
			       struct hsm_boot_state *out);
/*
 * The integrity self-test's boot half: verify again what the device booted
 * from, as it kept it in @st (the image bytes against the fuses, or the
 * unsigned configuration), and compare the new measurement with the one
 * taken at start. @corrupt (selftest-fail=integrity) flips a bit of the new
 * measurement first. 0 when both agree; -1 otherwise, and for a boot that
 * was refused.
 */
int hsm_boot_recheck(const struct hsm_boot_state *st, bool corrupt);
/* Fuse value: 96 lowercase hex digits into @out; 0, or -1 if not that. */
int hsm_boot_parse_root(const char *hex, uint8_t out[HSM_BOOT_DIGEST_LEN]);
/* True for the reasons that let the device serve (verified, unsigned). */
bool hsm_boot_ok(enum azihsm_boot reason);
/* "verified", "unsigned", "bad-signature", ... (never NULL). */
const char *hsm_boot_reason_name(enum azihsm_boot reason);

/*
 * The running firmware's boot result (package id: partition certificate,
 * attestation reports). Valid for the life of @fw, also in the error
 * state (then the measurement of what was refused, or zeros).
 */
/* HSM_BOOT_DIGEST_LEN bytes: SHA-384 of the signed manifest (see above). */
const uint8_t *hsm_boot_measurement(const struct hsm_fw *fw);
uint32_t hsm_boot_svn(const struct hsm_fw *fw);
/* NUL-terminated, at most HSM_BOOT_VERSION_MAX characters. */
const char *hsm_boot_version(const struct hsm_fw *fw);
enum azihsm_boot hsm_boot_reason(const struct hsm_fw *fw);

#endif /* HSM_BOOT_H */
