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
/* The library's version (lib/Makefile reads it from here for the .so name). */
#define AZIHSM_LIB_VERSION "0.1.0"

/* AZIHSM_LIB_VERSION as the library that runs was built with it. */
const char *azihsm_version(void);

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
	/*
	 * Why (hsm-design.md "Self-tests and the error state"): "none",
	 * "self-test", "drbg", "pct", "tamper", "state", "integrity"; the
	 * device's detail, e.g. "self-test aes-gcm"; tamper events ever.
	 */
	char error_reason[16];
	char error_detail[48];
	uint32_t tamper_count;
	char ctrl_state[16];	/* sysfs: "ready", "resetting", "dead", ... */
	uint32_t hsm_queues;
	uint32_t aes_queues;
	/*
	 * Secure boot (Documentation/hsm-design.md, "Secure boot and
	 * measurement"): "verified" (signed manifest checked against the
	 * fuses), "unsigned" (no image: configuration measured only), or why
	 * the image was refused ("no-image", "malformed", "no-root",
	 * "wrong-root", "bad-signature", "rollback"; error_state is then
	 * set). Empty if the firmware does not say.
	 */
	char boot_state[16];
	char fw_version[33];	/* the manifest's version (or fw-rev if unsigned) */
	uint32_t svn;		/* security version number */
	bool has_measurement;
	uint8_t measurement[48];	/* SHA-384 of the signed manifest */
	/*
	 * Identity (Documentation/hsm-design.md "Identity and attestation"):
	 * "provisioned" (the device holds its certificate chain),
	 * "not-provisioned" (GetCertChainInfo answers NOT_PROVISIONED: no
	 * chain, no attestation), or "unknown" (the device did not say, e.g.
	 * in its error state, which refuses the chain services).
	 */
	char provisioning[16];
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

/*
 * Sessions and roles (Documentation/hsm-design.md, "Sessions and roles").
 *
 * Every key service runs in a session: azihsm_login() authenticates a
 * role and returns a session handle; azihsm_logout() closes it. A device
 * holds at most 8 sessions. Closing the device handle (or the process
 * exiting) closes its sessions too, and session (non-persistent) keys die
 * with their session.
 *
 * Credentials: an id of 16 bytes and a PIN. The PIN is a C string of 1..16
 * bytes, zero-padded to 16 on the wire (so it cannot contain a NUL byte);
 * anything longer is -EINVAL. The library seals id and PIN to the device
 * (ECDH P-384 + HKDF-SHA384 + AES-256-GCM, one fresh device nonce per
 * message) and wipes every copy it made. A fresh partition has these
 * default credentials, which must be changed before any other service:
 *
 *   officer: id "azihsm-officer" (zero-padded), PIN "CO-default-PIN-1"
 *   user:    id "azihsm-user"    (zero-padded), PIN "CU-default-PIN-1"
 */
struct azihsm_session;

enum azihsm_role {
	AZIHSM_ROLE_OFFICER = 1,	/* Crypto Officer */
	AZIHSM_ROLE_USER = 2,		/* Crypto User */
};

#define AZIHSM_ID_LEN			16
#define AZIHSM_PIN_MAX			16
#define AZIHSM_DEFAULT_OFFICER_ID	"azihsm-officer"
#define AZIHSM_DEFAULT_USER_ID		"azihsm-user"

/*
 * Open a session for @role. @id: the 16-byte credential id, or NULL for
 * the role's default id above. Errors: -EINVAL (bad role or PIN length),
 * -EIO with azihsm_last_status() (HSM status) BAD_CREDENTIAL (wrong id or
 * PIN), LOCKED_OUT (too many wrong PINs: wait), SESSIONS_FULL, ...;
 * -EPROTO (an answer that does not decode, or a role other than asked).
 * The session's must-change flag says whether only azihsm_change_pin()
 * is allowed in it (default credentials).
 */
int azihsm_login(struct azihsm_dev *dev, enum azihsm_role role,
		 const uint8_t id[AZIHSM_ID_LEN], const char *pin,
		 struct azihsm_session **out);
/*
 * Close the session (CloseSession) and free the handle, whatever the
 * device answers; returns that answer (0, or as above). NULL: no-op.
 * Call it before azihsm_close() of the session's device. A session handle
 * may be used by several threads at once, but not during its logout.
 */
int azihsm_logout(struct azihsm_session *sess);
/* True while the session may only change its PIN (default credentials). */
bool azihsm_session_must_change_pin(const struct azihsm_session *sess);
enum azihsm_role azihsm_session_role(const struct azihsm_session *sess);
uint16_t azihsm_session_id(const struct azihsm_session *sess);
/*
 * Replace the session role's PIN: @old_pin is the current one, @new_pin
 * the new one (same 1..16 byte rule). HSM statuses: BAD_CREDENTIAL,
 * WEAK_PIN (new = current or the default), LOCKED_OUT. On success the
 * session is no longer restricted.
 */
int azihsm_change_pin(struct azihsm_session *sess, const char *old_pin, const char *new_pin);

/*
 * Credential management, in a Crypto Officer session (@officer) whose own
 * PIN is no longer the default. HSM statuses (-EIO): WRONG_ROLE (a user
 * session), MUST_CHANGE_PIN (the officer's default PIN), NO_SESSION,
 * NOT_STORED (the device could not store the change).
 *
 * azihsm_user_reset_pin: give the Crypto User the credential @id (16
 * bytes, NULL: the default user id) / @new_pin (1..16 bytes), sealed to
 * the device like a login. It clears the user's failure counter and is
 * flagged must-change: the user's next session may only change the PIN.
 * WEAK_PIN: @new_pin is the user's default PIN. Sessions the user already
 * has stay open.
 *
 * azihsm_user_unlock: clear the Crypto User's failure counter and lockout
 * wait; the PIN is kept.
 */
int azihsm_user_reset_pin(struct azihsm_session *officer, const uint8_t id[AZIHSM_ID_LEN],
			  const char *new_pin);
int azihsm_user_unlock(struct azihsm_session *officer);

/* Key types and usages (the device's wire values). */
enum azihsm_key_type {
	AZIHSM_KEY_TYPE_AES128 = 0x01,
	AZIHSM_KEY_TYPE_AES192 = 0x02,
	AZIHSM_KEY_TYPE_AES256 = 0x03,
	AZIHSM_KEY_TYPE_AES256_XTS = 0x04,	/* two AES-256 keys */
	AZIHSM_KEY_TYPE_AES256_GCM = 0x05,
	AZIHSM_KEY_TYPE_EC_P256 = 0x10,
	AZIHSM_KEY_TYPE_EC_P384 = 0x11,
	AZIHSM_KEY_TYPE_EC_P521 = 0x12,
	AZIHSM_KEY_TYPE_RSA2048 = 0x20,
	AZIHSM_KEY_TYPE_RSA3072 = 0x21,
	AZIHSM_KEY_TYPE_RSA4096 = 0x22,
	AZIHSM_KEY_TYPE_HMAC_SHA256 = 0x30,
	AZIHSM_KEY_TYPE_HMAC_SHA384 = 0x31,
	AZIHSM_KEY_TYPE_HMAC_SHA512 = 0x32,
};

#define AZIHSM_KEY_USE_SIGN		0x01u
#define AZIHSM_KEY_USE_VERIFY		0x02u
#define AZIHSM_KEY_USE_ENCRYPT		0x04u
#define AZIHSM_KEY_USE_DECRYPT		0x08u
#define AZIHSM_KEY_USE_UNWRAP		0x10u
#define AZIHSM_KEY_USE_DERIVE		0x20u

#define AZIHSM_LABEL_MAX		128

enum azihsm_hash_alg {
	AZIHSM_HASH_ALG_SHA256 = 1,
	AZIHSM_HASH_ALG_SHA384 = 2,
	AZIHSM_HASH_ALG_SHA512 = 3,
};

/* One key as azihsm_key_list() reports it. */
struct azihsm_key_info {
	uint16_t id;
	uint8_t type;			/* enum azihsm_key_type */
	uint32_t usage;			/* AZIHSM_KEY_USE_* */
	bool persistent;		/* survives sessions and restarts */
	uint8_t label_len;		/* 0: no label */
	uint8_t label[AZIHSM_LABEL_MAX + 1];	/* label_len bytes, then a NUL */
};

/*
 * Generate a key in the device. @label (0..128 bytes, any bytes; NULL
 * with 0 for none) must be unique among the keys the session sees
 * (LABEL_EXISTS). @persistent: an application key, stored (sealed) before
 * the answer and kept across sessions and restarts (NOT_STORED if it could
 * not be stored); otherwise a session key, gone at logout. The officer
 * role may be refused (WRONG_ROLE) where the device reserves key use for
 * users. *key_id: the key's id for the other calls.
 */
int azihsm_key_generate(struct azihsm_session *sess, enum azihsm_key_type type,
			uint32_t usage, const void *label, size_t label_len, bool persistent,
			uint16_t *key_id);
/* Find a key by label (OpenKey): KEY_NOT_FOUND if none is visible. */
int azihsm_key_open(struct azihsm_session *sess, const void *label, size_t label_len,
		    uint16_t *key_id);
int azihsm_key_delete(struct azihsm_session *sess, uint16_t key_id);
/*
 * The keys the session sees. Fills up to @cap entries of @out and sets
 * *count to the number of keys; -ENOSPC (entries 0..cap-1 filled) when
 * *count > @cap.
 */
int azihsm_key_list(struct azihsm_session *sess, struct azihsm_key_info *out, size_t cap,
		    size_t *count);
/*
 * Public part of an EC or RSA key as DER SubjectPublicKeyInfo into @der
 * (capacity @cap; 1024 bytes hold any supported key); *len its length.
 * -ENOSPC if @cap is too small; KEY_TYPE for a secret key.
 */
int azihsm_key_public(struct azihsm_session *sess, uint16_t key_id, uint8_t *der,
		      size_t cap, size_t *len);
/*
 * ECDSA signature over @digest (32/48/64 bytes for SHA-256/384/512, else
 * -EINVAL) with EC key @key_id, as DER Ecdsa-Sig-Value into @sig (139
 * bytes hold a P-521 signature); -ENOSPC if @cap is too small. HSM
 * statuses: KEY_NOT_FOUND, KEY_USAGE (no sign usage), KEY_TYPE.
 * *fips_approved (may be NULL): the answer's FIPS-approved flag.
 */
int azihsm_ecdsa_sign(struct azihsm_session *sess, uint16_t key_id,
		      enum azihsm_hash_alg hash, const void *digest, size_t digest_len,
		      uint8_t *sig, size_t cap, size_t *sig_len, bool *fips_approved);

/*
 * Operations with vault keys (Documentation/library.md, "Operations").
 * Each takes @fips_approved (may be NULL): set to the answer's
 * FIPS-approved flag. HSM statuses common to all: KEY_NOT_FOUND (no such
 * key visible to the session), KEY_USAGE (the key lacks the usage the
 * operation needs), KEY_TYPE (wrong kind of key), INVALID_ARG, and for a
 * new persistent key WRONG_ROLE (users make session keys only), NOT_STORED,
 * LABEL_EXISTS; ECDH, HKDF, KBKDF and unwrap with a persistent key are
 * the officer's only (else WRONG_ROLE). Digests must have the hash's length (else -EINVAL).
 */
enum azihsm_rsa_padding {
	AZIHSM_RSA_PADDING_PKCS1 = 1,	/* RSASSA-PKCS1-v1_5 */
	AZIHSM_RSA_PADDING_PSS = 2,	/* RSASSA-PSS, MGF1 same hash, salt = hash length */
};

/* The new key that ECDH, HKDF, KBKDF and unwrap make (it stays in the device). */
struct azihsm_new_key {
	enum azihsm_key_type type;
	uint32_t usage;			/* AZIHSM_KEY_USE_* */
	const void *label;		/* 0..128 bytes; NULL with 0 for none */
	size_t label_len;
	bool persistent;		/* else a session key */
};

/* RSA signature (usage sign) of @digest into @sig (the modulus size, <= 512). */
int azihsm_rsa_sign(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		    enum azihsm_rsa_padding pad, const void *digest, size_t digest_len,
		    uint8_t *sig, size_t cap, size_t *sig_len, bool *fips_approved);
/*
 * Verify @sig over @digest with the public part of an EC key (ECDSA, DER
 * signature; @pad ignored, pass 0) or an RSA key (@pad; PSS with any salt
 * length); usage verify. *valid: the verdict (a bad signature is not an
 * error).
 */
int azihsm_verify(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		  enum azihsm_rsa_padding pad, const void *digest, size_t digest_len,
		  const void *sig, size_t sig_len, bool *valid, bool *fips_approved);
/*
 * RSA-OAEP decryption (usage decrypt; @hash for OAEP and MGF1, optional
 * @label) of a modulus-size @ct into @out; DECRYPT_FAILED if it does not
 * decode.
 */
int azihsm_rsa_decrypt(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		       const void *label, size_t label_len, const void *ct, size_t ct_len,
		       uint8_t *out, size_t cap, size_t *out_len, bool *fips_approved);
/* HMAC (usage sign) with an HMAC key, its type's hash; @mac holds 64 bytes. */
int azihsm_hmac(struct azihsm_session *sess, uint16_t key_id, const void *data, size_t len,
		uint8_t *mac, size_t cap, size_t *mac_len, bool *fips_approved);
/*
 * ECDH of EC key @key_id (usage derive) with @peer (DER SPKI on the same
 * curve). The shared secret stays in the device as the new key @nk, which
 * must be an HMAC type: feed it to azihsm_hkdf / azihsm_kbkdf (usage
 * derive) or use it with azihsm_hmac (usage sign). *new_id: its id.
 */
int azihsm_ecdh(struct azihsm_session *sess, uint16_t key_id, const void *peer,
		size_t peer_len, const struct azihsm_new_key *nk, uint16_t *new_id,
		bool *fips_approved);
/*
 * HKDF (RFC 5869; @salt, @info optional, <= 1024 bytes) or SP 800-108
 * counter-mode KBKDF with HMAC (@label, @context) from HMAC key @key_id
 * (usage derive) into the new key @nk: AES types get their size, HMAC
 * types @length bytes (16..128; 0: the type's hash size; other types: 0).
 */
int azihsm_hkdf(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		const void *salt, size_t salt_len, const void *info, size_t info_len,
		const struct azihsm_new_key *nk, size_t length, uint16_t *new_id,
		bool *fips_approved);
int azihsm_kbkdf(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		 const void *label, size_t label_len, const void *context, size_t context_len,
		 const struct azihsm_new_key *nk, size_t length, uint16_t *new_id,
		 bool *fips_approved);
/*
 * The partition's unwrapping key (RSA-2048, usage unwrap only; made by the
 * first call and stored): its key id and DER SPKI (1024 bytes suffice).
 */
int azihsm_unwrapping_key(struct azihsm_session *sess, uint16_t *key_id, uint8_t *der,
			  size_t cap, size_t *len);
/*
 * Unwrap a CKM_RSA_AES_KEY_WRAP blob (RSA-OAEP(@hash, @oaep_label) of an
 * AES key || AES-KWP of the target) with RSA key @key_id (usage unwrap,
 * e.g. the unwrapping key) into the new key @nk. Target: AES / HMAC
 * secrets raw, EC / RSA keys PKCS#8 DER. DECRYPT_FAILED if the blob does
 * not open, INVALID_ARG if the target does not fit @nk's type.
 */
int azihsm_rsa_unwrap(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		      const void *oaep_label, size_t oaep_label_len, const void *wrapped,
		      size_t wrapped_len, const struct azihsm_new_key *nk, uint16_t *new_id,
		      bool *fips_approved);

/* AES modes of azihsm_aes_crypt (the device's wire values). */
enum azihsm_aes_mode {
	AZIHSM_AES_MODE_ECB = 1,
	AZIHSM_AES_MODE_CBC = 2,	/* no padding */
	AZIHSM_AES_MODE_CTR = 3,	/* 128-bit big-endian counter */
	AZIHSM_AES_MODE_XTS = 4,	/* one data unit, the IV is the tweak */
	AZIHSM_AES_MODE_GCM = 5,
};

struct azihsm_aes_params {
	enum azihsm_aes_mode mode;
	bool decrypt;
	/*
	 * ECB: NULL; CBC / CTR / XTS: 16 bytes; GCM decrypt: 12; GCM encrypt:
	 * NULL (the device draws the IV, SP 800-38D 8.2.2: see @iv_out).
	 */
	const uint8_t *iv;
	size_t iv_len;
	const uint8_t *aad;	/* GCM, optional */
	size_t aad_len;
	/*
	 * GCM: decrypt: the tag to check (@tag_len 12..16, else the device
	 * answers INVALID_ARG); encrypt: where the
	 * tag goes, @tag_len bytes (4..16; 0 means 16).
	 */
	uint8_t *tag;
	size_t tag_len;
	/*
	 * CBC / CTR: the IV for the next call (16 bytes), may be NULL. GCM
	 * encrypt: required, receives the 12-byte IV the device drew (keep it
	 * with the ciphertext: decryption needs it).
	 */
	uint8_t *iv_out;
};

/*
 * AES with key @key_id (usage encrypt or decrypt) of @len bytes of @in into
 * @out (@cap >= @len). One call is at most one command buffer: @len up to
 * about 8000 bytes (-EINVAL beyond). ECB / CBC: a multiple of 16; XTS:
 * >= 16; chain CBC / CTR calls with iv_out. BAD_TAG: a GCM tag that does
 * not verify (nothing is written).
 */
int azihsm_aes_crypt(struct azihsm_session *sess, uint16_t key_id,
		     const struct azihsm_aes_params *p, const void *in, size_t len, uint8_t *out,
		     size_t cap, size_t *out_len, bool *fips_approved);
/*
 * The key as a masked blob (encrypted and authenticated under the
 * partition's masking key; opens only in this partition). A persistent
 * key needs the officer (BACKUP class), a session key its session. -ENOSPC
 * if @cap is too small (RSA-4096 blobs are about 2.5 KiB).
 */
int azihsm_key_export_masked(struct azihsm_session *sess, uint16_t key_id, uint8_t *blob,
			     size_t cap, size_t *len);
/* Re-enter a masked blob as a session key with its type and usage; BAD_BLOB if damaged. */
int azihsm_key_unmask(struct azihsm_session *sess, const void *blob, size_t len,
		      uint16_t *key_id);
/*
 * Re-enter a masked blob as a persistent key with its type, usage and
 * label (officer: MANAGE_KEYS), stored before the answer (NOT_STORED).
 * LABEL_EXISTS while a key with its label lives; BAD_BLOB if damaged or
 * made under another masking key (e.g. before a zeroize, until the
 * backup's azihsm_bk3_set_sealed).
 */
int azihsm_key_unmask_persistent(struct azihsm_session *officer, const void *blob, size_t len,
				 uint16_t *key_id);

/*
 * Zeroize and backup (Documentation/hsm-design.md, "Zeroize" and "Backup";
 * Documentation/library.md, "Zeroize and backup"). All in a Crypto Officer
 * session whose PIN is not the default (WRONG_ROLE, MUST_CHANGE_PIN as for
 * credential management); every change is stored before the answer
 * (NOT_STORED).
 *
 * azihsm_zeroize: destroy every key in the partition (persistent and
 * session keys, all sessions'), its masking key (blobs made before no
 * longer open) and its BK3; both roles get the default credentials back,
 * must-change, with no failures; every session is closed, @officer's too:
 * on success (and on NOT_STORED) @officer is dead, only azihsm_logout()
 * it, which then just frees it and returns 0.
 *
 * azihsm_bk3_init: make the partition's BK3 (48 random bytes, inside the
 * device); BK3_EXISTS if it has one (only a zeroize removes it).
 * azihsm_bk3_get_sealed: the sealed BK3 blob into @blob (512 bytes hold
 * it; it is 175 today; -ENOSPC if @cap is too small): the BK3
 * sealed to this device and the masking key wrapped under a key derived
 * from it. It opens only on the device that made it. NO_BK3 before
 * azihsm_bk3_init.
 * azihsm_bk3_set_sealed: install a sealed BK3 blob's BK3 and masking key,
 * on a partition without persistent keys (NOT_EMPTY otherwise), e.g.
 * right after a zeroize; then masked blobs made under that masking key
 * open again (azihsm_key_unmask_persistent). BAD_BLOB: another device's,
 * damaged or cut blob; nothing changed.
 */
int azihsm_zeroize(struct azihsm_session *officer);
int azihsm_bk3_init(struct azihsm_session *officer);
int azihsm_bk3_get_sealed(struct azihsm_session *officer, uint8_t *blob, size_t cap,
			  size_t *len);
int azihsm_bk3_set_sealed(struct azihsm_session *officer, const void *blob, size_t len);

/*
 * Identity and attestation (Documentation/hsm-design.md "Identity and
 * attestation", Documentation/library.md).
 *
 * The trusted manufacturer root: the PEM file named by $AZIHSM_ROOT_CA, else
 * AZIHSM_ROOT_CA_DEFAULT (installed with the library; vm-run installs the
 * build's root there in the guest).
 */
#define AZIHSM_ROOT_CA_DEFAULT		"/etc/azihsm/root.pem"
#define AZIHSM_CERT_MAX			2048	/* DER bytes of one certificate */
#define AZIHSM_CERT_CHAIN_LEN		3	/* root, device, partition */
#define AZIHSM_REPORT_DATA_MAX_LEN	128
#define AZIHSM_REPORT_MAX_LEN		2048
#define AZIHSM_MEASUREMENT_LEN		48

const char *azihsm_trusted_root(void);
/* GetCertChainInfo: the number of certificates and their SHA-384. */
int azihsm_cert_chain_info(struct azihsm_dev *dev, uint32_t *count, uint8_t digest[48]);
/*
 * GetCertificate @index (0 root, 1 device, 2 partition) as DER. -EIO with
 * HSM status NOT_PROVISIONED before the device holds its certificate.
 */
int azihsm_get_certificate(struct azihsm_dev *dev, uint32_t index, uint8_t *der, size_t cap,
			   size_t *len);
/*
 * Check the device's chain against the trusted root (root file @root, NULL:
 * azihsm_trusted_root()): 0, or -ENOKEY (it does not chain to that root,
 * or the root file cannot be read), or a transport error.
 */
int azihsm_check_chain(struct azihsm_dev *dev, const char *root);
/*
 * Which device: the serial its device certificate names (subject CN
 * "azihsm device SERIAL", signed by the manufacturer's root) into @serial
 * (NUL-terminated), and the SHA-256 of that certificate's DER into @fp
 * (the fingerprint `azihsm cert chain` and `azihsm info` print). Both stay
 * the same across restarts (the partition certificate is issued anew at
 * each start). -EPROTO if the certificate names no azihsm device.
 */
#define AZIHSM_DEVICE_FP_LEN		32
#define AZIHSM_DEVICE_SERIAL_MAX	64
int azihsm_device_identity(struct azihsm_dev *dev, char serial[AZIHSM_DEVICE_SERIAL_MAX + 1],
			   uint8_t fp[AZIHSM_DEVICE_FP_LEN]);

/*
 * AttestKey: the COSE_Sign1 report on key @key_id with @data (0..128
 * bytes) as report data, into @report (AZIHSM_REPORT_MAX_LEN is enough).
 */
int azihsm_key_attest(struct azihsm_session *sess, uint16_t key_id, const void *data,
		      size_t data_len, uint8_t *report, size_t cap, size_t *len);

/* What a verified report says (Documentation/device.md "Attestation report"). */
struct azihsm_report {
	uint32_t version;
	uint8_t key_type;		/* AZIHSM_KEY_* */
	uint32_t usage;			/* AZIHSM_USAGE_* */
	bool persistent;
	bool generated;			/* made in the device */
	uint32_t origin;		/* origin bits */
	bool extractable;		/* always false */
	uint8_t public_der[1024];	/* the key's public part, DER SPKI */
	size_t public_der_len;
	uint8_t data[AZIHSM_REPORT_DATA_MAX_LEN];
	size_t data_len;
	uint8_t measurement[AZIHSM_MEASUREMENT_LEN];
	uint32_t svn;
	char serial[33];
};

/*
 * Verify @report: the certificates root (@root, NULL: the trusted root),
 * @device_pem and @partition_pem (PEM files) form a valid chain, the
 * partition key's ES384 signature over the report checks, and (when @nonce
 * is not NULL) the report data equals @nonce. 0 with *@out filled;
 * -EBADMSG (not a well-formed report), -ENOKEY (the chain does not verify
 * to the root, or a file cannot be read), -EKEYREJECTED (the signature does
 * not verify: changed, or another device's), -ESTALE (the report data is
 * not @nonce).
 */
int azihsm_report_verify(const uint8_t *report, size_t len, const char *root,
			 const char *device_pem, const char *partition_pem, const uint8_t *nonce,
			 size_t nonce_len, struct azihsm_report *out);

/*
 * Security domain (Documentation/hsm-design.md "Security domain";
 * Documentation/library.md). All in an officer session past its PIN
 * change, except azihsm_sd_info (any session).
 *
 * azihsm_sd_activate: make the partition's security domain: its key split
 * @quorum of @n (3 <= n <= 10, 2 <= quorum <= n) over the owners' RSA
 * public keys @owner_der[i] (DER SubjectPublicKeyInfo, 2048..4096 bits),
 * each share encrypted to one owner. @out gets the domain id and the
 * shares: the only time they leave the device (write them to the security
 * domain file, azihsm sd activate). SD_EXISTS if there is a domain.
 * azihsm_sd_upload: seal a recombined domain (azihsm_sd_combine_shares)
 * to the device's exchange key (fetched here) and install it; BAD_BLOB,
 * SD_EXISTS (another domain installed). The exchange key must carry the
 * partition key's signature and the device's chain must verify to @root
 * (NULL: azihsm_trusted_root()), else -ENOKEY and nothing is sealed or
 * sent (a key the channel swapped in never gets the domain key).
 * azihsm_sd_backup_key: a persistent key masked under the domain (NO_SD
 * without one); azihsm_sd_restore_key: such a blob back as a persistent
 * key on any device holding the domain (KEY_EXISTS, BAD_BLOB, NO_SD).
 */
#define AZIHSM_SD_ID_LEN	16
#define AZIHSM_SD_SHARE_MAX	512
#define AZIHSM_SD_OWNERS_LIMIT	10
struct azihsm_sd_domain {
	uint8_t id[AZIHSM_SD_ID_LEN];
	uint8_t quorum;
	unsigned int n;
	uint8_t share[AZIHSM_SD_OWNERS_LIMIT][AZIHSM_SD_SHARE_MAX];
	size_t share_len[AZIHSM_SD_OWNERS_LIMIT];
};
int azihsm_sd_activate(struct azihsm_session *officer, uint8_t quorum,
		       const uint8_t *const *owner_der, const size_t *owner_len, unsigned int n,
		       struct azihsm_sd_domain *out);
/*
 * The owners' side: decrypt the shares of @dom whose owner private keys
 * are given (@keys[i]: an EVP_PKEY * for share @idx[i], @k of them) and
 * recombine the domain key into @key (32 bytes). -EBADMSG: a share does
 * not decrypt with its key; -ENOENT: fewer usable shares than the quorum;
 * -EKEYREJECTED: they do not recombine to @dom's id (a tampered file).
 */
int azihsm_sd_combine_shares(const struct azihsm_sd_domain *dom, void *const *keys,
			     const unsigned int *idx, unsigned int k, uint8_t key[32]);
int azihsm_sd_upload(struct azihsm_session *officer, const struct azihsm_sd_domain *dom,
		     const uint8_t key[32], const char *root);
/*
 * azihsm_sd_upload to one named device only: @expect_device (NULL: any
 * device of the root, as azihsm_sd_upload) is its serial or the
 * fingerprint of its device certificate (64 hex digits, colons allowed;
 * azihsm_device_identity). The chain that vouches for the exchange key
 * must be that device's, else -EXDEV and nothing is sealed or sent (the
 * exchange key of a genuine but other device, e.g. one the attacker
 * relays to, never gets the domain key).
 */
int azihsm_sd_upload_to(struct azihsm_session *officer, const struct azihsm_sd_domain *dom,
			const uint8_t key[32], const char *root, const char *expect_device);
int azihsm_sd_backup_key(struct azihsm_session *officer, uint16_t key_id, uint8_t *blob,
			 size_t cap, size_t *len);
int azihsm_sd_restore_key(struct azihsm_session *officer, const void *blob, size_t len,
			  uint16_t *key_id);
int azihsm_sd_info(struct azihsm_session *sess, bool *active, uint8_t id[AZIHSM_SD_ID_LEN],
		   uint8_t *quorum);

/*
 * Self-tests and tamper (hsm-design.md "Self-tests and the error state",
 * "Tamper response"); no session needed, and they work in the error state.
 *
 * azihsm_selftest runs every known-answer self-test now (SelfTest 4060):
 * one result per algorithm family, in the device's order. A failure puts
 * the device in its error state (passed false); only a reset leaves it.
 */
struct azihsm_selftest_result {
	bool passed;
	unsigned int n;
	struct {
		uint8_t id;		/* enum azihsm_selftest_id (msg.h) */
		uint8_t result;		/* enum azihsm_selftest_outcome */
		char name[16];		/* "aes-gcm", ... ("?" if unknown) */
	} t[32];
};
int azihsm_selftest(struct azihsm_dev *dev, struct azihsm_selftest_result *res);
/* "pass", "FAIL", "not-run". */
const char *azihsm_selftest_result_str(uint8_t result);

/* The device's tamper log (TamperLog 4061): the last events, oldest first. */
struct azihsm_tamper_log {
	uint32_t count;		/* events ever (the log keeps the last 16) */
	unsigned int n;
	struct {
		uint8_t sensor;		/* enum azihsm_tamper_sensor */
		char sensor_name[16];	/* "enclosure", "voltage", ... */
		int32_t value;		/* the reading that tripped it */
		uint64_t time;		/* unix seconds (device clock) */
		uint32_t seq;		/* 1 for the first event ever */
	} e[16];
};
int azihsm_tamper_log(struct azihsm_dev *dev, struct azihsm_tamper_log *log);

struct azihsm_last_status azihsm_last_status(const struct azihsm_dev *dev);
/* Message for a negative errno returned by this library. */
const char *azihsm_strerror(int err);
/* Name of a device status, e.g. "INVALID_OPCODE" or "MALFORMED". */
const char *azihsm_status_str(struct azihsm_last_status st);

#ifdef __cplusplus
}
#endif

#endif /* AZIHSM_AZIHSM_H */
