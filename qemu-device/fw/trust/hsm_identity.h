/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: the device identity and its certificate chain
 * Root -> Device -> Partition (design: Documentation/hsm-design.md
 * "Identity and attestation").
 *
 * - Root: the manufacturer CA of this build (scripts/mkpki); its private
 *   key never enters the device. Its certificate is "fused" into the
 *   device (property root-cert): the device trusts only a device
 *   certificate it signed.
 * - Device: an ECC P-384 key per device instance. With a state file it is
 *   derived from the NV file's device secret (hsm_partition_device_key),
 *   so the NV file keeps it for the device's life; without one it is drawn
 *   from the device DRBG at start (one identity per QEMU run). Until the
 *   device holds a certificate for it, it writes a PKCS#10 request to
 *   DEVCERT.csr (property devcert = DEVCERT); the factory (scripts/mkpki
 *   sign, run by vm-run outside the guest) signs it into DEVCERT, which
 *   the device takes only if its key is the device key and the root's
 *   signature verifies.
 * - Partition: an ECC P-384 key derived the same way (another label);
 *   its certificate is issued by the device key inside the device once
 *   the device certificate is in, and carries the firmware measurement
 *   (HSM_ID_OID_MEASUREMENT). The partition key signs attestation reports
 *   and the session encryption key.
 *
 * Thread-safe (one lock).
 */
#ifndef HSM_IDENTITY_H
#define HSM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

struct hsm_partition;
struct hsm_drbg;
struct hsm_identity;

/* Certificates in the chain: root, device, partition (the leaf last). */
#define HSM_ID_CHAIN_LEN	3
#define HSM_ID_CERT_MAX		2048	/* DER bytes of one certificate, at most */
#define HSM_ID_MEASUREMENT_LEN	48	/* SHA-384 */
#define HSM_ID_SIG_LEN		96	/* ECDSA P-384 r || s, 48 bytes each */

/*
 * The partition certificate's private extension (non-critical): an OID of
 * the UUID arc 2.25 (ITU-T X.667: anyone may take one) whose value is the
 * DER SEQUENCE { measurement OCTET STRING (48), svn INTEGER }.
 */
#define HSM_ID_OID_MEASUREMENT	"2.25.303846789733324411842530501833274005558"

struct hsm_identity_config {
	const char *serial;		/* the subject names carry it */
	const char *root_cert;		/* PEM file: the fused root; NULL: no chain */
	const char *devcert;		/* PEM file of the device certificate */
	/* The firmware measurement (secure boot, hsm_boot.h) and its SVN. */
	uint8_t measurement[HSM_ID_MEASUREMENT_LEN];
	uint32_t svn;
};

enum hsm_id_status {
	HSM_ID_OK = 0,
	HSM_ID_NOT_PROVISIONED,	/* no root, or no valid device certificate yet */
	HSM_ID_BAD_INDEX,	/* no such certificate */
	HSM_ID_CRYPTO,		/* a signature could not be made */
};

/*
 * Create the identity: the device and partition keys (from @part's NV
 * secret, or from @drbg for a volatile partition), the root certificate
 * (if configured), the device certificate if DEVCERT holds a valid one,
 * else the request DEVCERT.csr. NULL only if the keys cannot be made.
 */
struct hsm_identity *hsm_identity_new(const struct hsm_identity_config *cfg,
				      struct hsm_partition *part, struct hsm_drbg *drbg);
void hsm_identity_free(struct hsm_identity *id);

/*
 * Certificate @index (0 root, 1 device, 2 partition) as DER into @out
 * (*@len its size). The first call after DEVCERT appeared loads it and
 * issues the partition certificate. NOT_PROVISIONED, BAD_INDEX, CRYPTO;
 * BAD_INDEX also if @cap is too small (it never is at HSM_ID_CERT_MAX).
 */
int hsm_identity_cert(struct hsm_identity *id, unsigned int index, uint8_t *out, size_t cap,
		      size_t *len);
/* SHA-384 of the three DER certificates one after another (the chain's id). */
int hsm_identity_chain_digest(struct hsm_identity *id, uint8_t out[48]);

/*
 * ECDSA P-384 with the partition key over SHA-384(@msg): r || s into @sig.
 * NOT_PROVISIONED until the chain is complete (a signature nobody can
 * check is not given), CRYPTO.
 */
int hsm_identity_sign(struct hsm_identity *id, const uint8_t *msg, size_t len,
		      uint8_t sig[HSM_ID_SIG_LEN]);

/*
 * The firmware measurement the partition certificate and the reports
 * carry: SHA-384 of the signed manifest and its security version, as
 * secure boot measured them (hsm_boot_measurement / hsm_boot_svn, given in
 * the config at hsm_identity_new). The one place both read it from.
 */
void hsm_identity_measurement(const struct hsm_identity *id,
			      uint8_t out[HSM_ID_MEASUREMENT_LEN], uint32_t *svn);

#endif /* HSM_IDENTITY_H */
