/* SPDX-License-Identifier: MIT */
/*
 * HSM command messages on top of MBOR: request and response headers,
 * opcodes and HSM status codes. Shared by firmware, driver and library.
 *
 *   request  = { 0: header, 1: data }
 *   header   = { 1: api_rev { 1: major u32, 2: minor u32 }  (optional),
 *                2: opcode u32,
 *                3: session_id u16                          (optional) }
 *   response = { 0: header', 1: data }      data omitted when status != 0
 *   header'  = header + { 4: status u32, 5: fips_approved bool }
 */
#ifndef AZIHSM_MSG_H
#define AZIHSM_MSG_H

#include "mbor.h"

/* Published opcodes (decimal, as published). */
enum azihsm_op {
	AZIHSM_OP_GET_API_REV		= 1002,
	AZIHSM_OP_GET_DEVICE_INFO	= 1003,
	AZIHSM_OP_DELETE_KEY		= 1014,
	AZIHSM_OP_OPEN_KEY		= 1015,
	AZIHSM_OP_ATTEST_KEY		= 1016,
	AZIHSM_OP_RSA_MOD_EXP		= 1031,
	AZIHSM_OP_RSA_UNWRAP		= 1035,
	AZIHSM_OP_GET_UNWRAPPING_KEY	= 1051,
	AZIHSM_OP_ECC_GENERATE_KEY_PAIR	= 1061,
	AZIHSM_OP_ECC_SIGN		= 1062,
	AZIHSM_OP_AES_GENERATE_KEY	= 1071,
	AZIHSM_OP_AES_ENCRYPT_DECRYPT	= 1072,
	AZIHSM_OP_ECDH_KEY_EXCHANGE	= 1074,
	AZIHSM_OP_HKDF_DERIVE		= 1075,
	AZIHSM_OP_KBKDF_DERIVE		= 1076,
	AZIHSM_OP_HMAC			= 1077,
	AZIHSM_OP_GET_ESTABLISH_CRED_KEY = 1101,
	AZIHSM_OP_ESTABLISH_CREDENTIAL	= 1102,
	AZIHSM_OP_GET_SESSION_ENC_KEY	= 1103,
	AZIHSM_OP_OPEN_SESSION		= 1104,
	AZIHSM_OP_CLOSE_SESSION		= 1105,
	AZIHSM_OP_CHANGE_PIN		= 1106,
	AZIHSM_OP_UNMASK_KEY		= 1107,
	AZIHSM_OP_GET_CERT_CHAIN_INFO	= 1108,
	AZIHSM_OP_GET_CERTIFICATE	= 1109,
	AZIHSM_OP_REOPEN_SESSION	= 1110,
	AZIHSM_OP_INIT_BK3		= 1111,
	AZIHSM_OP_GET_SEALED_BK3	= 1112,
	AZIHSM_OP_SET_SEALED_BK3	= 1113,

	/* azihsm extensions: 4000..4999 */
	AZIHSM_OP_GET_RANDOM		= 4001,
	AZIHSM_OP_KEY_GENERATE		= 4010,	/* any key type */
	AZIHSM_OP_KEY_LIST		= 4011,
	AZIHSM_OP_KEY_PUBLIC		= 4012,
	AZIHSM_OP_KEY_IMPORT		= 4013,	/* kernel session: raw key */
	AZIHSM_OP_KEY_EXPORT_MASKED	= 4014,
	AZIHSM_OP_HASH			= 4021,	/* SHA-2 / HMAC, resumable */
	AZIHSM_OP_RSA_PUBLIC		= 4022,	/* raw RSA with a given public key */
	AZIHSM_OP_ECC_VERIFY		= 4023,	/* ECDSA with a given public key */
	AZIHSM_OP_RSA_SIGN		= 4024,
	AZIHSM_OP_RSA_DECRYPT		= 4025,	/* RSA-OAEP */
	AZIHSM_OP_VERIFY		= 4026,	/* ECDSA / RSA with a vault key */
	AZIHSM_OP_OPEN_KERNEL_SESSION	= 4030,	/* the driver's own session */
	/* 4040..4059: credential management (officer) */
	AZIHSM_OP_RESET_USER_CREDENTIAL	= 4040,
	AZIHSM_OP_UNLOCK_USER		= 4041,
	AZIHSM_OP_ZEROIZE_PARTITION	= 4042,
	/* 4060..4079: self-tests and tamper (hsm-design.md "Self-tests ...") */
	AZIHSM_OP_SELF_TEST		= 4060,	/* on-demand self-tests */
	AZIHSM_OP_TAMPER_LOG		= 4061,	/* the tamper log */
	/* 4080..4089: security domain (officer), "Security domain" below */
	AZIHSM_OP_SD_ACTIVATE		= 4080,
	AZIHSM_OP_SD_EXCHANGE_KEY	= 4081,
	AZIHSM_OP_SD_UPLOAD		= 4082,
	AZIHSM_OP_SD_BACKUP_KEY		= 4083,
	AZIHSM_OP_SD_RESTORE_KEY	= 4084,
	AZIHSM_OP_SD_INFO		= 4085,
};

/* HSM status in the response header (0 = success). */
enum azihsm_status {
	AZIHSM_STATUS_SUCCESS		= 0,
	AZIHSM_STATUS_MALFORMED		= 0x1001, /* MBOR does not decode */
	AZIHSM_STATUS_UNKNOWN_OPCODE	= 0x1002,
	AZIHSM_STATUS_INVALID_ARG	= 0x1003, /* decodes, value not allowed */
	AZIHSM_STATUS_UNSUPPORTED_REV	= 0x1004,
	AZIHSM_STATUS_RSP_TOO_LARGE	= 0x1005, /* answer exceeds dst_len */
	AZIHSM_STATUS_INTERNAL		= 0x1006,
	AZIHSM_STATUS_DRBG_FAILURE	= 0x1007,
	AZIHSM_STATUS_ERROR_STATE	= 0x1008, /* module in error state */
	AZIHSM_STATUS_NO_SESSION	= 0x1010, /* session id missing or not open */
	AZIHSM_STATUS_WRONG_ROLE	= 0x1011, /* the session's role may not do this */
	AZIHSM_STATUS_MUST_CHANGE_PIN	= 0x1012, /* default credential: change it first */
	AZIHSM_STATUS_BAD_CREDENTIAL	= 0x1013, /* wrong id or PIN */
	AZIHSM_STATUS_LOCKED_OUT	= 0x1014, /* too many wrong PINs: wait */
	AZIHSM_STATUS_SESSIONS_FULL	= 0x1015,
	AZIHSM_STATUS_BAD_MESSAGE	= 0x1016, /* sealed credential does not open */
	AZIHSM_STATUS_BAD_NONCE		= 0x1017, /* unknown, used or expired nonce */
	AZIHSM_STATUS_WEAK_PIN		= 0x1018, /* new PIN = old or default */
	AZIHSM_STATUS_KERNEL_SESSION_OPEN = 0x1019, /* OpenKernelSession: one is open */
	AZIHSM_STATUS_KEY_NOT_FOUND	= 0x1020, /* no such key visible to the session */
	AZIHSM_STATUS_KEY_USAGE		= 0x1021, /* the key lacks the usage */
	AZIHSM_STATUS_KEY_TYPE		= 0x1022, /* wrong key type for the operation */
	AZIHSM_STATUS_VAULT_FULL	= 0x1023,
	AZIHSM_STATUS_LABEL_EXISTS	= 0x1024,
	AZIHSM_STATUS_NOT_STORED	= 0x1025, /* persistent change could not be stored */
	AZIHSM_STATUS_BAD_TAG		= 0x1026, /* GCM tag does not verify */
	AZIHSM_STATUS_DECRYPT_FAILED	= 0x1027, /* OAEP / unwrap integrity */
	AZIHSM_STATUS_BAD_BLOB		= 0x1028, /* masked / sealed blob malformed or not authentic */
	AZIHSM_STATUS_BK3_EXISTS	= 0x1029, /* InitBk3: the partition has a BK3 */
	AZIHSM_STATUS_NO_BK3		= 0x102a, /* GetSealedBk3: no BK3 yet (InitBk3) */
	AZIHSM_STATUS_NOT_EMPTY		= 0x102b, /* SetSealedBk3, SdActivate, SdUpload: persistent keys present */
	AZIHSM_STATUS_KEY_DELETED	= 0x102e, /* UnmaskKey: the blob's persistent key was deleted */
	AZIHSM_STATUS_KEY_EXISTS	= 0x102f, /* UnmaskKey persistent: its key is still there */
	AZIHSM_STATUS_QUOTA		= 0x1030, /* the session holds its quota of keys */
	AZIHSM_STATUS_PIN_LOCKED	= 0x1031, /* user: too many wrong PINs, locked for good */
	/* 0x1032..0x1037: identity and attestation */
	AZIHSM_STATUS_NOT_PROVISIONED	= 0x1032, /* no device certificate yet: no chain, no report */
	AZIHSM_STATUS_SD_EXISTS		= 0x103c, /* a (different) security domain is installed */
	AZIHSM_STATUS_NO_SD		= 0x103d, /* no security domain installed */
};

#define AZIHSM_API_REV_MAJOR		1
#define AZIHSM_API_REV_MINOR		0

/* GetDeviceInfo: kind values */
#define AZIHSM_DEVICE_KIND_VIRTUAL	1
#define AZIHSM_DEVICE_KIND_PHYSICAL	2

/*
 * GetDeviceInfo field 6: what became of the partition's stored state at
 * start (the device's `state` property). From TRUNCATED on the module is
 * in its error state: it answers GetApiRev and GetDeviceInfo only, and
 * never writes the file.
 */
enum azihsm_persist {
	AZIHSM_PERSIST_VOLATILE = 0,	/* no state file configured */
	AZIHSM_PERSIST_LOADED = 1,	/* sealed image loaded */
	AZIHSM_PERSIST_CREATED = 2,	/* no file yet: a fresh partition was stored */
	AZIHSM_PERSIST_TRUNCATED = 3,	/* file shorter than a header and a tag */
	AZIHSM_PERSIST_CORRUPT = 4,	/* not authentic, or damaged */
	AZIHSM_PERSIST_ROLLED_BACK = 5,	/* older than the device's counter */
	AZIHSM_PERSIST_FOREIGN = 6,	/* sealed by another device */
	AZIHSM_PERSIST_NV_CORRUPT = 7,	/* the device's NV file is damaged */
	AZIHSM_PERSIST_IO = 8,		/* cannot read or write the files */
	AZIHSM_PERSIST_BAD_IMAGE = 9,	/* authentic, but its content unreadable */
};

/*
 * How the firmware booted (GetDeviceInfo AZIHSM_DEVINFO_BOOT; hsm_boot.h,
 * Documentation/hsm-design.md "Secure boot and measurement"). Only
 * VERIFIED and UNSIGNED serve; the others leave the device in its error
 * state.
 */
enum azihsm_boot {
	AZIHSM_BOOT_UNSIGNED = 0,	/* no image, no fuses: configuration measured only */
	AZIHSM_BOOT_VERIFIED = 1,	/* manifest signed by the fused root, SVN >= fused */
	AZIHSM_BOOT_NO_IMAGE = 2,	/* fuses blown but no image, or it cannot be read */
	AZIHSM_BOOT_MALFORMED = 3,	/* the manifest does not parse */
	AZIHSM_BOOT_NO_ROOT = 4,	/* an image but no root key hash fused */
	AZIHSM_BOOT_WRONG_ROOT = 5,	/* signer key is not the fused root */
	AZIHSM_BOOT_BAD_SIGNATURE = 6,	/* signature does not verify */
	AZIHSM_BOOT_ROLLBACK = 7,	/* SVN below the fused minimum */
};

/*
 * Why the module is in its error state (GetDeviceInfo field 20, the async
 * event's reason byte). The first cause is kept. A PCI-level reset or a
 * restart re-runs the self-tests and leaves the state, except STATE (the
 * stored state stays unusable) and INTEGRITY.
 */
enum azihsm_error_reason {
	AZIHSM_ERR_NONE = 0,
	AZIHSM_ERR_SELFTEST = 1,	/* a power-on / on-demand CAST failed (detail: which) */
	AZIHSM_ERR_DRBG = 2,		/* DRBG failure or entropy health test (detail) */
	AZIHSM_ERR_PCT = 3,		/* pairwise consistency test of a generated key */
	AZIHSM_ERR_TAMPER = 4,		/* tamper event (detail: sensor); keys zeroized */
	AZIHSM_ERR_STATE = 5,		/* stored state unusable (field 6 says how) */
	AZIHSM_ERR_INTEGRITY = 6,	/* firmware integrity test */
};
/* Indexed by enum azihsm_error_reason (sysfs, uevents, the CLI). */
#define AZIHSM_ERROR_REASON_NAMES \
	{ "none", "self-test", "drbg", "pct", "tamper", "state", "integrity" }

/*
 * Self-test ids (SelfTest results; AZIHSM_SELFTEST_NAMES are the names the
 * test-only `selftest-fail` property takes). One per algorithm family.
 */
enum azihsm_selftest_id {
	AZIHSM_ST_INTEGRITY = 1,	/* firmware image digest */
	AZIHSM_ST_AES_ECB,
	AZIHSM_ST_AES_CBC,
	AZIHSM_ST_AES_GCM,
	AZIHSM_ST_AES_XTS,
	AZIHSM_ST_AES_KWP,
	AZIHSM_ST_SHA256,
	AZIHSM_ST_SHA384,
	AZIHSM_ST_SHA512,
	AZIHSM_ST_HMAC,
	AZIHSM_ST_HKDF,
	AZIHSM_ST_KBKDF,
	AZIHSM_ST_ECDSA,
	AZIHSM_ST_ECDH,
	AZIHSM_ST_RSA_SIGN,
	AZIHSM_ST_RSA_DEC,
	AZIHSM_ST_DRBG,
	AZIHSM_ST_COUNT			/* one past the last id */
};

/* Indexed by enum azihsm_selftest_id. */
#define AZIHSM_SELFTEST_NAMES {						\
	NULL, "integrity", "aes-ecb", "aes-cbc", "aes-gcm", "aes-xts",	\
	"aes-kwp", "sha256", "sha384", "sha512", "hmac", "hkdf", "kbkdf",	\
	"ecdsa", "ecdh", "rsa-sign", "rsa-dec", "drbg" }

/* SelfTest result of one test. */
enum azihsm_selftest_outcome {
	AZIHSM_ST_PASS = 0,
	AZIHSM_ST_FAIL = 1,
	AZIHSM_ST_NOT_RUN = 2,	/* integrity: no firmware measurement in this build */
};

/* Tamper sensors: the tamper log's event type, reason TAMPER's detail. */
enum azihsm_tamper_sensor {
	AZIHSM_TAMPER_ENCLOSURE = 1,	/* enclosure opened / mesh broken */
	AZIHSM_TAMPER_VOLTAGE = 2,	/* supply voltage out of range */
	AZIHSM_TAMPER_TEMPERATURE = 3,	/* temperature out of range */
	AZIHSM_TAMPER_CLOCK = 4,	/* clock frequency out of range */
	AZIHSM_TAMPER_SENSORS		/* one past the last */
};
#define AZIHSM_TAMPER_NAMES { NULL, "enclosure", "voltage", "temperature", "clock" }
/* The tamper log keeps the last this many events (and the total count). */
#define AZIHSM_TAMPER_LOG_MAX		16

/* GetRandom: at most this many bytes per command (fits one response). */
#define AZIHSM_RANDOM_MAX		4096

/* Field ids */
#define AZIHSM_MSG_HEADER		0
#define AZIHSM_MSG_DATA			1
#define AZIHSM_HDR_API_REV		1
#define AZIHSM_HDR_OPCODE		2
#define AZIHSM_HDR_SESSION_ID		3
#define AZIHSM_HDR_STATUS		4
#define AZIHSM_HDR_FIPS_APPROVED	5
#define AZIHSM_REV_MAJOR		1
#define AZIHSM_REV_MINOR		2

/* GetApiRev response data: { 1: min rev, 2: max rev } */
#define AZIHSM_APIREV_MIN		1
#define AZIHSM_APIREV_MAX		2
/* GetDeviceInfo response data: published 1..3, azihsm 4..5 */
#define AZIHSM_DEVINFO_KIND		1	/* u32 */
#define AZIHSM_DEVINFO_TABLES		2	/* u32 */
#define AZIHSM_DEVINFO_FIPS		3	/* bool */
#define AZIHSM_DEVINFO_SERIAL		4	/* bytes */
#define AZIHSM_DEVINFO_FW_REV		5	/* bytes */
#define AZIHSM_DEVINFO_PERSIST		6	/* u32, enum azihsm_persist */
#define AZIHSM_DEVINFO_ERROR_STATE	7	/* bool: module refuses services */
#define AZIHSM_DEVINFO_ERROR_REASON	20	/* u32, enum azihsm_error_reason */
#define AZIHSM_DEVINFO_ERROR_DETAIL	21	/* bytes: e.g. "self-test aes-gcm" (<= 47) */
#define AZIHSM_DEVINFO_TAMPER_COUNT	22	/* u32: tamper events ever (the log's) */
/* Secure boot (hsm_boot.h): 40..43 */
#define AZIHSM_DEVINFO_BOOT		40	/* u32, enum azihsm_boot */
#define AZIHSM_DEVINFO_FW_VERSION	41	/* bytes: manifest version (<= 32) */
#define AZIHSM_DEVINFO_SVN		42	/* u32: security version number */
#define AZIHSM_DEVINFO_MEASUREMENT	43	/* bytes (48): SHA-384, hsm_boot.h */
/*
 * Sessions (header field 3 names the session of every request below but
 * GetSessionEncryptionKey and OpenSession). Credential messages are sealed
 * as shared/hsm_auth_client.h describes.
 *   GetSessionEncryptionKey 1103: {} -> { 1: device_pub bytes (DER SPKI
 *       P-384), 2: nonce bytes (32), 3: signature bytes (96, opt) }:
 *       field 3 (azihsm extension) is ES384 (raw r || s) by the partition
 *       key (GetCertificate 2) over AZIHSM_SESS_SIG_CONTEXT || device_pub ||
 *       nonce; absent while the device is NOT_PROVISIONED. libazihsm
 *       sends no PIN to a key whose signature does not chain to its root.
 *   OpenSession 1104: { 1: host_pub bytes, 2: nonce bytes, 3: ciphertext
 *       bytes, 4: tag bytes } -> { 1: session_id u16, 2: role u8,
 *       3: must_change_pin bool }; the CQE's session_id carries it too
 *   CloseSession 1105: {} -> {}
 *   ChangePin 1106: as OpenSession's request -> {}
 */
#define AZIHSM_SESS_DEVICE_PUB		1
#define AZIHSM_SESS_NONCE		2
#define AZIHSM_SESS_PUB_SIG		3
#define AZIHSM_SESS_SIG_CONTEXT		"azihsm session key v1"
#define AZIHSM_SESS_SIG_LEN		96
#define AZIHSM_SESS_HOST_PUB		1
#define AZIHSM_SESS_MSG_NONCE		2
#define AZIHSM_SESS_CIPHERTEXT		3
#define AZIHSM_SESS_TAG			4
#define AZIHSM_SESS_ID			1
#define AZIHSM_SESS_ROLE		2
#define AZIHSM_SESS_MUST_CHANGE		3

/*
 * Credential management (design: Documentation/hsm-design.md "Sessions and
 * roles"). In an officer session (the MANAGE_USERS class: a user session
 * is WRONG_ROLE, an officer session still on its default PIN
 * MUST_CHANGE_PIN, no session NO_SESSION). The change is committed before
 * the answer; a failed commit is NOT_STORED.
 *   ResetUserCredential 4040: { 1: host_pub bytes, 2: nonce bytes,
 *       3: ciphertext bytes, 4: tag bytes } -> {}: as OpenSession's
 *       request, sealed with the `azihsm-reset` label; the plaintext
 *       role(1) = 2 (user) | id(16) | pin(16) is the user's new credential.
 *       It replaces the user's id and PIN, flags them must-change (the
 *       user's next session may only ChangePin) and clears the user's
 *       failure counter. Target role not the user: WRONG_ROLE; the new PIN
 *       = the user's default: WEAK_PIN.
 *   UnlockUser 4041: {} -> {}: clears the user's failure counter and
 *       lockout wait; PIN and must-change flag stay.
 * Field ids: the AZIHSM_SESS_* ones of the sealed message (Sessions, above).
 */

/*
 * Zeroize and backup (design: Documentation/hsm-design.md "Zeroize" and
 * "Backup"). Officer only (classes ZEROIZE / BACKUP: a user session is
 * WRONG_ROLE, an officer on the default PIN MUST_CHANGE_PIN); a change is
 * committed before the answer, a failed commit is NOT_STORED.
 *   ZeroizePartition 4042: {} -> {}. Destroys every key (persistent and
 *       session keys, the kernel session's too), the masking key (a new
 *       one is made: blobs exported before no longer open, BAD_BLOB) and
 *       the BK3; both roles get the default must-change credentials back
 *       with no failures; every session is closed, the caller's too (the
 *       CQE says OP_CLOSE for it). If the commit fails (NOT_STORED) the
 *       keys are gone from the device but the state file may still hold
 *       them: zeroize again.
 *   InitBk3 1111: {} -> {}. Makes the partition's BK3 (48 random bytes);
 *       BK3_EXISTS if it has one (only a zeroize removes it).
 *   GetSealedBk3 1112: {} -> { 1: sealed bytes }: the backup blob (BK3
 *       sealed to this device, the masking key wrapped under BK);
 *       NO_BK3 before InitBk3.
 *   SetSealedBk3 1113: { 1: sealed bytes } -> {}: installs the blob's BK3
 *       and masking key. NOT_EMPTY while the partition holds persistent
 *       keys; BAD_BLOB if it does not open on this device (another
 *       device's, damaged, cut short): nothing changes.
 */
#define AZIHSM_BK3_F_SEALED		1
#define AZIHSM_BK3_LEN			48
#define AZIHSM_BK3_SEALED_MAX		512

/*
 * Security domain (Documentation/hsm-design.md "Security domain"; all the
 * officer's, class BACKUP unless said):
 *   SdActivate 4080: { 1: quorum u8, 2..11: owner keys bytes (DER SPKI,
 *       RSA 2048..4096; 3 to 10, no gap) } -> { 1: domain id bytes (16),
 *       2: quorum u8, 3..12: share i bytes (RSA-OAEP-SHA256 to owner i) }.
 *       SD_EXISTS if the partition has a domain.
 *   SdExchangeKey 4081: {} -> { 1: exchange key bytes (DER SPKI P-384),
 *       2: signature bytes (96, opt) }: field 2 is ES384 (raw r || s) by
 *       the partition key (GetCertificate 2) over AZIHSM_SD_XCHG_SIG_CONTEXT
 *       || exchange key; absent while the device is NOT_PROVISIONED.
 *       libazihsm uploads no domain to a key whose signature does not
 *       chain to its root.
 *   SdUpload 4082: { 1: host key bytes (DER SPKI P-384), 2: nonce bytes
 *       (12), 3: ciphertext bytes (49), 4: tag bytes (16) } -> { 1: domain
 *       id bytes }. BAD_BLOB if it does not open; SD_EXISTS if another
 *       domain is installed. The exchange key is replaced after each try.
 *   SdBackupKey 4083: { 1: key id u16 } -> { 1: blob bytes }: a persistent
 *       key masked under the domain. NO_SD without one.
 *   SdRestoreKey 4084 (class MANAGE_KEYS): { 1: blob bytes } -> { 1: key
 *       id u16 }: the key back as a persistent key. NO_SD, BAD_BLOB.
 *   SdInfo 4085 (class INFO): {} -> { 1: active bool, 2: domain id bytes
 *       (16, zeros if none), 3: quorum u8 (0 if none) }
 */
#define AZIHSM_SD_F_QUORUM		1
#define AZIHSM_SD_F_OWNER_FIRST		2	/* .. 11 */
#define AZIHSM_SD_F_ID			1	/* answer */
#define AZIHSM_SD_F_ANS_QUORUM		2	/* answer */
#define AZIHSM_SD_F_SHARE_FIRST		3	/* answer, .. 12 */
#define AZIHSM_SD_F_XCHG_KEY		1	/* answer */
#define AZIHSM_SD_F_XCHG_SIG		2	/* answer */
#define AZIHSM_SD_XCHG_SIG_CONTEXT	"azihsm sd exchange key v1"
#define AZIHSM_SD_F_HOST_KEY		1
#define AZIHSM_SD_F_NONCE		2
#define AZIHSM_SD_F_CT			3
#define AZIHSM_SD_F_TAG			4
#define AZIHSM_SD_F_KEY_ID		1
#define AZIHSM_SD_F_BLOB		1
#define AZIHSM_SD_F_ACTIVE		1	/* SdInfo answer */
#define AZIHSM_SD_F_INFO_ID		2
#define AZIHSM_SD_F_INFO_QUORUM		3
#define AZIHSM_SD_OWNERS_MAX		10

/*
 * Keys (types and usage bits: the hsm_key_type / HSM_USAGE_* values of
 * qemu-device/fw/vault/hsm_vault.h, repeated as AZIHSM_KEY_* below).
 *   KeyGenerate 4010: { 1: type u8, 2: usage u32, 3: label bytes (opt),
 *       4: persistent bool } -> { 1: key_id u16 }
 *   Every new key (generated, imported, derived, unwrapped, unmasked)
 *   serves one purpose: RSA sign/verify, encrypt/decrypt or
 *   encrypt/unwrap; HMAC sign/verify or derive; a mix is INVALID_ARG.
 *   OpenKey 1015: { 1: label bytes } -> { 1: key_id u16 }
 *   DeleteKey 1014: { 1: key_id u16 } -> {}
 *   KeyList 4011: { 1: after u16 (opt) } -> { 1: count u16, 2: records
 *       bytes, 3: next u16 (opt) }: the visible keys with ids above
 *       `after` (0 when absent), in id order, as many as fit the response;
 *       `next` is present when more follow: ask again with after = next.
 *       A record = id u16 LE, type u8, usage u32 LE, persistent u8,
 *       label_len u8, label
 *   KeyPublic 4012: { 1: key_id u16 } -> { 1: DER SPKI bytes }
 *   EccSign 1062: { 1: key_id u16, 2: hash u8 (1 SHA-256, 2 SHA-384,
 *       3 SHA-512), 3: digest bytes } -> { 1: signature bytes (DER) }
 */
#define AZIHSM_KEY_F_ID			1	/* key_id u16, in requests and answers */
#define AZIHSM_KEY_F_TYPE		1	/* KeyGenerate */
#define AZIHSM_KEY_F_USAGE		2
#define AZIHSM_KEY_F_LABEL		3
#define AZIHSM_KEY_F_PERSISTENT		4
#define AZIHSM_KEY_F_OPEN_LABEL		1	/* OpenKey */
#define AZIHSM_KEY_F_AFTER		1	/* KeyList request */
#define AZIHSM_KEY_F_COUNT		1	/* KeyList */
#define AZIHSM_KEY_F_RECORDS		2
#define AZIHSM_KEY_F_NEXT		3
#define AZIHSM_KEY_F_DER		1	/* KeyPublic */
#define AZIHSM_SIGN_F_KEY		1	/* EccSign */
#define AZIHSM_SIGN_F_HASH		2
#define AZIHSM_SIGN_F_DIGEST		3
#define AZIHSM_SIGN_F_SIGNATURE		1
#define AZIHSM_HASH_SHA256		1
#define AZIHSM_HASH_SHA384		2
#define AZIHSM_HASH_SHA512		3
#define AZIHSM_KEY_LABEL_MAX		128

/*
 * Vault operations (qemu-device/fw/svc/hsm_svc_ops.c; design:
 * Documentation/hsm-design.md "Vault operations"). Every one runs in a
 * session on a key the session sees (KEY_NOT_FOUND otherwise), needs the
 * key's usage (KEY_USAGE) and the USE_KEY class; hash u8 is AZIHSM_HASH_*.
 * A request that makes a key carries fields 5..8 = type u8, usage u32,
 * label bytes (opt, 1..128), persistent bool: a persistent result needs
 * MANAGE_KEYS and is stored before the answer (NOT_STORED), a session key
 * SESSION_KEYS; the answer is { 1: key_id u16 }.
 *
 *   RsaSign 4024: { 1: key_id u16, 2: hash u8, 3: padding u8
 *       (AZIHSM_RSA_PAD_*), 4: digest bytes } -> { 1: signature bytes
 *       (modulus size) }. Usage sign. PSS: MGF1 same hash, salt = digest
 *       length.
 *   RsaDecrypt 4025: { 1: key_id u16, 2: hash u8 (OAEP and MGF1),
 *       3: ciphertext bytes (modulus size), 4: oaep_label bytes (opt) } ->
 *       { 1: plaintext bytes }. Usage decrypt. DECRYPT_FAILED if the
 *       padding does not check.
 *   Verify 4026: { 1: key_id u16, 2: hash u8, 3: padding u8 (RSA only),
 *       4: digest bytes, 5: signature bytes } -> { 1: valid bool }. ECDSA
 *       (DER Ecdsa-Sig-Value) or RSA (PSS: any salt length) with the public
 *       part of an EC / RSA key; usage verify. A signature that does not
 *       verify is SUCCESS with valid false.
 *   Hmac 1077: { 1: key_id u16, 2: data bytes } -> { 1: mac bytes }. An
 *       HMAC key, its type's hash; usage sign.
 *   EcdhKeyExchange 1074: { 1: key_id u16, 2: peer bytes (DER SPKI on the
 *       key's curve), 5..8 } -> { 1: key_id u16 }. Usage derive. The
 *       shared secret (the x coordinate, 32/48/66 bytes) never leaves the
 *       device: it becomes the new key, whose type must be AZIHSM_KEY_HMAC_*
 *       (to feed HkdfDerive / KbkdfDerive, or Hmac).
 *   HkdfDerive 1075: { 1: key_id u16, 2: hash u8, 3: salt bytes (opt),
 *       4: info bytes (opt), 5..8, 9: length u16 (opt) } -> { 1: key_id }
 *   KbkdfDerive 1076: { 1: key_id u16, 2: hash u8, 3: kdf_label bytes
 *       (opt), 4: context bytes (opt), 5..8, 9: length u16 (opt) } ->
 *       { 1: key_id u16 }. SP 800-108 counter mode, HMAC-hash PRF.
 *       Both: an HMAC key as input, usage derive; the output is the new
 *       key's material: AES types their size (XTS 64), HMAC types
 *       `length` bytes (16..128, default the type's hash size); `length`
 *       is for HMAC types only. EC / RSA results are INVALID_ARG.
 *   GetUnwrappingKey 1051: {} -> { 1: key_id u16, 2: public bytes (DER
 *       SPKI) }. INFO class. The partition's unwrapping key: a persistent
 *       RSA-2048 vault key labelled AZIHSM_UNWRAP_KEY_LABEL with usage
 *       unwrap. INFO creates nothing: an officer's call (MANAGE_KEYS)
 *       makes (and stores) it if there is none; a user gets KEY_NOT_FOUND
 *       until then, the kernel session always (a persistent key). An
 *       officer may delete it, the officer's next call makes a new one.
 *       KEY_TYPE if another kind of key holds the label.
 *   RsaUnwrap 1035: { 1: key_id u16 (RSA, usage unwrap), 2: hash u8
 *       (OAEP), 3: wrapped bytes, 4: oaep_label bytes (opt), 5..8 } ->
 *       { 1: key_id u16 }. CKM_RSA_AES_KEY_WRAP: RSA-OAEP of an AES key
 *       (16/24/32 bytes) || AES-KWP (RFC 5649) of the target under it. The
 *       target: AES / HMAC secrets raw, EC / RSA keys PKCS#8 DER of the
 *       type's curve / size. DECRYPT_FAILED if either layer does not
 *       check; INVALID_ARG if the target does not fit the type.
 */
#define AZIHSM_OPS_F_KEY_ID		1
#define AZIHSM_OPS_F_HASH		2
#define AZIHSM_OPS_F_TYPE		5	/* the new key: 5..8 */
#define AZIHSM_OPS_F_USAGE		6
#define AZIHSM_OPS_F_LABEL		7
#define AZIHSM_OPS_F_PERSISTENT		8
#define AZIHSM_OPS_F_OUT		1	/* answer: signature, plaintext, mac */
#define AZIHSM_OPS_F_NEW_KEY_ID		1	/* answer of a key-making request */
#define AZIHSM_RSASIGN_F_PAD		3
#define AZIHSM_RSASIGN_F_DIGEST		4
#define AZIHSM_RSADEC_F_IN		3
#define AZIHSM_RSADEC_F_OAEP_LABEL	4
#define AZIHSM_VERIFY_F_PAD		3
#define AZIHSM_VERIFY_F_DIGEST		4
#define AZIHSM_VERIFY_F_SIG		5
#define AZIHSM_VERIFY_F_VALID		1	/* answer */
#define AZIHSM_HMAC_F_DATA		2
#define AZIHSM_ECDH_F_PEER		2
#define AZIHSM_KDF_F_SALT		3	/* HKDF salt, KBKDF label */
#define AZIHSM_KDF_F_INFO		4	/* HKDF info, KBKDF context */
#define AZIHSM_KDF_F_LENGTH		9
#define AZIHSM_UNWRAP_F_IN		3
#define AZIHSM_UNWRAP_F_OAEP_LABEL	4
#define AZIHSM_UNWRAPKEY_F_ID		1	/* GetUnwrappingKey answer */
#define AZIHSM_UNWRAPKEY_F_DER		2
#define AZIHSM_RSA_PAD_PKCS1		1	/* RSASSA-PKCS1-v1_5 */
#define AZIHSM_RSA_PAD_PSS		2	/* RSASSA-PSS */
#define AZIHSM_KDF_LABEL_MAX		1024	/* salt, info, label, context */
#define AZIHSM_UNWRAP_KEY_LABEL		"azihsm-unwrapping-key"

/*
 * Identity and attestation (design: Documentation/hsm-design.md "Identity
 * and attestation"; layouts: Documentation/device.md). No session, no
 * class: the chain is public. NOT_PROVISIONED until the device holds a
 * device certificate from the manufacturer root.
 *   GetCertChainInfo 1108: {} -> { 1: count u32 (3), 2: digest bytes
 *       (SHA-384 of the certificates' DER, in order) }
 *   GetCertificate 1109: { 1: index u32 } -> { 1: certificate bytes (DER) }:
 *       0 the manufacturer root, 1 the device, 2 the partition (the leaf,
 *       whose key signs reports); INVALID_ARG past the end.
 */
/*
 *   AttestKey 1016 (in a session, class USE_KEY, hsm_authz_use_key with no
 *       usage bit: any EC / RSA key the session may use; AES / HMAC keys
 *       KEY_TYPE): { 1: key_id u16, 2: report_data bytes (opt, 0..128) } ->
 *       { 1: report bytes }: a COSE_Sign1 (RFC 9052, tag 18, ES384) signed
 *       by the partition key (certificate 2); its payload is the CBOR map
 *       AZIHSM_REPORT_* below (Documentation/device.md, "Attestation
 *       report").
 */
#define AZIHSM_ATTEST_F_KEY_ID		1
#define AZIHSM_ATTEST_F_REPORT_DATA	2
#define AZIHSM_ATTEST_F_REPORT		1
#define AZIHSM_REPORT_DATA_MAX		128
#define AZIHSM_REPORT_MAX		2048
#define AZIHSM_REPORT_VERSION		1
/* Payload map keys (CBOR unsigned integers). */
#define AZIHSM_REPORT_K_VERSION		1	/* uint: AZIHSM_REPORT_VERSION */
#define AZIHSM_REPORT_K_KEY		2	/* COSE_Key: public part */
#define AZIHSM_REPORT_K_ATTRS		3	/* map, AZIHSM_REPORT_A_* */
#define AZIHSM_REPORT_K_DATA		4	/* bstr: the caller's report data */
#define AZIHSM_REPORT_K_MEASUREMENT	5	/* bstr (48): firmware measurement */
#define AZIHSM_REPORT_K_SVN		6	/* uint: firmware security version */
#define AZIHSM_REPORT_K_SERIAL		7	/* tstr: the device serial */
#define AZIHSM_REPORT_A_TYPE		1	/* uint: AZIHSM_KEY_* */
#define AZIHSM_REPORT_A_USAGE		2	/* uint: AZIHSM_USAGE_* bits */
#define AZIHSM_REPORT_A_PERSISTENT	3	/* bool: persistent (else session) key */
#define AZIHSM_REPORT_A_GENERATED	4	/* bool: generated in this device */
#define AZIHSM_REPORT_A_ORIGIN		5	/* uint: origin bits (device.md) */
#define AZIHSM_REPORT_A_EXTRACTABLE	6	/* bool: always false */
#define AZIHSM_COSE_ALG_ES384		(-35)
#define AZIHSM_COSE_TAG_SIGN1		18

#define AZIHSM_CHAIN_F_COUNT		1
#define AZIHSM_CHAIN_F_DIGEST		2
#define AZIHSM_CERT_F_INDEX		1
#define AZIHSM_CERT_F_DER		1
#define AZIHSM_CHAIN_DIGEST_LEN		48
#define AZIHSM_CHAIN_MAX		3

/* Key types and usages on the wire (= hsm_vault.h values). */
#define AZIHSM_KEY_AES128		0x01
#define AZIHSM_KEY_AES192		0x02
#define AZIHSM_KEY_AES256		0x03
#define AZIHSM_KEY_AES256_XTS		0x04
#define AZIHSM_KEY_AES256_GCM		0x05
#define AZIHSM_KEY_EC_P256		0x10
#define AZIHSM_KEY_EC_P384		0x11
#define AZIHSM_KEY_EC_P521		0x12
#define AZIHSM_KEY_RSA2048		0x20
#define AZIHSM_KEY_RSA3072		0x21
#define AZIHSM_KEY_RSA4096		0x22
#define AZIHSM_KEY_HMAC_SHA256		0x30
#define AZIHSM_KEY_HMAC_SHA384		0x31
#define AZIHSM_KEY_HMAC_SHA512		0x32
#define AZIHSM_USAGE_SIGN		0x01
#define AZIHSM_USAGE_VERIFY		0x02
#define AZIHSM_USAGE_ENCRYPT		0x04
#define AZIHSM_USAGE_DECRYPT		0x08
#define AZIHSM_USAGE_UNWRAP		0x10
#define AZIHSM_USAGE_DERIVE		0x20

#define AZIHSM_KEY_AES128_XTS	0x06	/* 32 bytes: two AES-128 keys */

/*
 * Kernel session and crypto-API services (the driver's; design:
 * Documentation/hsm-design.md "Kernel session"). Data limits: a request
 * and its answer must fit the command buffers (GetDeviceInfo buf_max).
 *
 *   OpenKernelSession 4030: {} -> { 1: session_id u16 }. Role "kernel":
 *       no credential; sees only its own session keys; not one of the 8
 *       partition sessions; at most one open: only the first open after
 *       a controller reset (CC.EN 1 -> 0, shutdown, NSSR), a PCI reset or
 *       a zeroize succeeds, a second is KERNEL_SESSION_OPEN and changes
 *       nothing. The driver refuses this opcode from userspace. The CQE
 *       says OP_OPEN | IN_SESSION | SHORT_APP_ID_VALID with the id and its
 *       short_app_id, as OpenSession's; FLUSH_SESSION (with that
 *       short_app_id), CloseSession and resets close it.
 *   KeyImport 4013 (kernel session only, else WRONG_ROLE): { 1: type u8,
 *       2: usage u32, 3: material bytes } -> { 1: key_id u16, 2: masked
 *       blob bytes }. Usage: non-empty, allowed for the type (as
 *       KeyGenerate). Material: AES 16/24/32 (also AES256_GCM 32),
 *       AES*_XTS 32/64 (halves may be equal: then no operation with the
 *       key is FIPS-approved), HMAC_* 1..1024 (longer than the hash's
 *       block: hashed first; shorter than 14 bytes: not approved), RSA* =
 *       PKCS#1 RSAPrivateKey DER, nothing after it: type RSA2048 takes any
 *       modulus of 1024..4096 bits (the vault keeps type RSA2048, the size
 *       is the key's), RSA3072 / RSA4096 exactly that size. EC types and
 *       wrong lengths: INVALID_ARG. The key is a session key of the
 *       kernel session; the device cleanses its copy of the request.
 *       The blob is sealed under the device's kernel masking key: random
 *       per power-on, never stored, so it opens only on this device
 *       until QEMU exits (across controller resets).
 *   UnmaskKey 1107: { 1: blob bytes, 2: persistent bool (opt) } ->
 *       { 1: key_id u16 }. A kernel session opens kernel blobs, other
 *       sessions partition blobs (KeyExportMasked); the key comes back
 *       with its type, usage and label (LABEL_EXISTS while a key with
 *       that label lives), as a session key, or with persistent true as a
 *       persistent key (MANAGE_KEYS: officer; stored before the answer,
 *       NOT_STORED). Damaged, truncated or the other kind of blob:
 *       BAD_BLOB.
 *   KeyExportMasked 4014: { 1: key_id u16 } -> { 1: blob bytes }. A
 *       session key of the session (SESSION_KEYS), or a persistent key
 *       (officer only: BACKUP, else WRONG_ROLE).
 *   AesEncryptDecrypt 1072: { 1: key_id u16, 2: mode u8 (AZIHSM_AES_*),
 *       3: decrypt bool, 4: iv bytes (ECB: absent; CBC/CTR/XTS: 16;
 *       GCM decrypt: 12; GCM encrypt: absent, except that the kernel
 *       session may give 12), 5: data bytes, 6: aad bytes (GCM, opt),
 *       7: tag bytes (GCM decrypt: 4..16 in the kernel session, else
 *       12..16, the length checked), 8: tag_len
 *       u8 (GCM encrypt, opt, 4..16, default 16), 9: xts_block u32 (XTS,
 *       opt, default 0) } -> { 1: data bytes, 2: iv_out bytes (CBC/CTR:
 *       the IV for the next call; GCM encrypt: the 12-byte IV used),
 *       3: tag bytes (GCM encrypt) }. GCM encryption IVs are drawn by the
 *       device (SP 800-38D 8.2.2); one given by the kernel session (whose
 *       crypto-API callers choose theirs) is used and the answer is then
 *       not approved; one given by another session is INVALID_ARG.
 *       ECB/CBC: length a multiple of 16; CTR: any length,
 *       128-bit big-endian counter; XTS: >= 16, one data unit or a slice
 *       of one; GCM: any.
 *       xts_block splits one XTS data unit (one tweak) over several calls:
 *       the data starts xts_block 16-byte blocks into the unit, so its
 *       first block's tweak is E_K2(iv) * alpha^xts_block (GF(2^128),
 *       IEEE 1619 little-endian) and the blocks go on from there. Every
 *       slice but the unit's last must be a multiple of 16 bytes (the
 *       device cannot tell: it treats a slice that is not as ending the
 *       unit, with ciphertext stealing, exactly as a whole unit); each
 *       slice >= 16 bytes. xts_block * 16 + data length <= 2^24 (16 MiB,
 *       the SP 800-38E limit of 2^20 blocks per unit), else INVALID_ARG;
 *       xts_block in another mode: INVALID_ARG. The slices' outputs
 *       concatenated equal the whole unit's XTS, bit for bit.
 *       ECB/CBC/CTR of 0 bytes: empty data, iv_out = iv. A field the mode
 *       does not take (an IV for ECB, AAD or tags outside GCM): INVALID_ARG.
 *       Keys: ECB/CBC/CTR AES128/192/256; XTS AES128_XTS / AES256_XTS;
 *       GCM AES256_GCM or AES128/192/256 (else KEY_TYPE); usage encrypt
 *       or decrypt by the decrypt flag, CTR both (its encryption is its
 *       decryption). GCM tag mismatch: BAD_TAG. Approved: all but XTS
 *       with equal halves, GCM tags under 12 bytes and GCM encryption
 *       under the caller's IV (an XTS slice at any xts_block is XTS-AES
 *       of its unit: approved as the whole unit would be).
 *   Hash 4021: { 1: hash u8 (AZIHSM_HASH_*), 2: key_id u16 (opt: HMAC
 *       with that key, its type's hash), 3: state bytes (opt: the
 *       chaining value a previous call returned; absent = start), 4: data
 *       bytes, 5: final bool, 6: done u64 (bytes hashed before `data`;
 *       with a state only) } -> { 1: state bytes (not final: 32 or 64
 *       bytes, data a multiple of the block size) | digest (final) }.
 *       HMAC: the state is the inner hash's; the outer pad never leaves.
 *       The state is H0..H7 as big-endian words (SHA-256 32 bytes,
 *       SHA-384 and SHA-512 64 bytes: all eight words). `done` is present
 *       exactly when the state is, a multiple of the block (64 / 128), and
 *       counts message bytes only (for HMAC the device adds its key^ipad
 *       block). HMAC key: type HMAC_* of the same hash (else KEY_TYPE),
 *       usage sign; with a key the kernel session's only (the state is
 *       the inner HMAC chaining value): others WRONG_ROLE.
 *   RsaModExp 1031: { 1: key_id u16, 2: input bytes (modulus size) } ->
 *       { 1: output bytes (modulus size) }: input^d mod n. The kernel
 *       session's only (officer and user: WRONG_ROLE: raw RSA without
 *       padding is a decryption and signing oracle). The key needs the
 *       sign or the decrypt usage (either); input >= n or of another
 *       length: INVALID_ARG. Never FIPS-approved (raw RSA).
 *   RsaPublic 4022: { 1: public key bytes (PKCS#1 RSAPublicKey DER,
 *       512..4096 bits), 2: input bytes (1..modulus size, left-padded
 *       with zeros, < n) } -> { 1: output (modulus size) }. Not approved.
 *   EccVerify 4023: { 1: curve u8 (AZIHSM_KEY_EC_*), 2: point bytes
 *       (0x04 || X || Y), 3: digest bytes (1..64), 4: signature bytes
 *       (DER ECDSA-Sig-Value) } -> { 1: valid bool }. A point not on the
 *       curve or of the wrong length: INVALID_ARG; a malformed signature:
 *       valid = false. Approved for digests of 28, 32, 48 or 64 bytes.
 *   Hash, RsaPublic and EccVerify need a session (any role; Hash without
 *   a key INFO, the others USE_KEY).
 */
#define AZIHSM_AES_ECB			1
#define AZIHSM_AES_CBC			2
#define AZIHSM_AES_CTR			3
#define AZIHSM_AES_XTS			4
#define AZIHSM_AES_GCM			5
#define AZIHSM_KSESS_F_ID		1
#define AZIHSM_IMPORT_F_TYPE		1
#define AZIHSM_IMPORT_F_USAGE		2
#define AZIHSM_IMPORT_F_MATERIAL	3
#define AZIHSM_IMPORT_F_KEY_ID		1	/* answer */
#define AZIHSM_IMPORT_F_BLOB		2	/* answer */
#define AZIHSM_UNMASK_F_BLOB		1
#define AZIHSM_UNMASK_F_PERSISTENT	2
#define AZIHSM_UNMASK_F_KEY_ID		1	/* answer */
#define AZIHSM_MASK_F_KEY_ID		1
#define AZIHSM_MASK_F_BLOB		1	/* answer */
#define AZIHSM_AES_F_KEY_ID		1
#define AZIHSM_AES_F_MODE		2
#define AZIHSM_AES_F_DECRYPT		3
#define AZIHSM_AES_F_IV			4
#define AZIHSM_AES_F_DATA		5
#define AZIHSM_AES_F_AAD		6
#define AZIHSM_AES_F_TAG		7
#define AZIHSM_AES_F_TAG_LEN		8
#define AZIHSM_AES_F_XTS_BLOCK		9
#define AZIHSM_AES_F_OUT		1	/* answer */
#define AZIHSM_AES_F_IV_OUT		2	/* answer */
#define AZIHSM_AES_F_TAG_OUT		3	/* answer */
#define AZIHSM_HASH_F_HASH		1
#define AZIHSM_HASH_F_KEY_ID		2
#define AZIHSM_HASH_F_STATE		3
#define AZIHSM_HASH_F_DATA		4
#define AZIHSM_HASH_F_FINAL		5
#define AZIHSM_HASH_F_DONE		6
#define AZIHSM_HASH_F_OUT		1	/* answer: state or digest */
#define AZIHSM_MODEXP_F_KEY_ID		1
#define AZIHSM_MODEXP_F_IN		2
#define AZIHSM_MODEXP_F_OUT		1	/* answer */
#define AZIHSM_RSAPUB_F_KEY		1
#define AZIHSM_RSAPUB_F_IN		2
#define AZIHSM_RSAPUB_F_OUT		1	/* answer */
#define AZIHSM_ECCVER_F_CURVE		1
#define AZIHSM_ECCVER_F_POINT		2
#define AZIHSM_ECCVER_F_DIGEST		3
#define AZIHSM_ECCVER_F_SIG		4
#define AZIHSM_ECCVER_F_VALID		1	/* answer */

/*
 * SelfTest (4060) request data: {}; response: { 1: passed bool, 2: count
 * u32, 3: results bytes (count pairs: enum azihsm_selftest_id u8, enum
 * azihsm_selftest_outcome u8) }. A failure enters the error state; the
 * answer is still SUCCESS with passed false (the results say which).
 */
#define AZIHSM_SELFTEST_F_PASSED	1
#define AZIHSM_SELFTEST_F_COUNT		2
#define AZIHSM_SELFTEST_F_RESULTS	3
/*
 * TamperLog (4061) request data: {}; response: { 1: total count u32,
 * 2: entries bytes (the last <= AZIHSM_TAMPER_LOG_MAX events, oldest
 * first, AZIHSM_TAMPER_ENTRY_LEN bytes each: sensor u8, value i32 LE (the
 * reading that tripped it), unix time u64 LE, sequence number u32 LE) }.
 */
#define AZIHSM_TAMPER_F_COUNT		1
#define AZIHSM_TAMPER_F_ENTRIES		2
#define AZIHSM_TAMPER_ENTRY_LEN		17

/* GetRandom request data: { 1: length u16 }; response: { 1: bytes } */
#define AZIHSM_RANDOM_LEN		1
#define AZIHSM_RANDOM_BYTES		1

struct azihsm_api_rev {
	uint32_t major;
	uint32_t minor;
};

struct azihsm_req_hdr {
	bool has_rev;
	struct azihsm_api_rev rev;
	uint32_t opcode;
	bool has_session;
	uint16_t session_id;
};

struct azihsm_rsp_hdr {
	struct azihsm_req_hdr req;
	uint32_t status;
	bool fips_approved;
};

/*
 * Writers open the outer map and write the header; the caller then writes
 * exactly one data map (for a response with status != 0, none).
 */
void azihsm_msg_begin_request(struct mbor_enc *e, const struct azihsm_req_hdr *h);
void azihsm_msg_begin_response(struct mbor_enc *e, const struct azihsm_rsp_hdr *h);

/*
 * Readers decode the outer map and the header and leave @d at the data map.
 * *has_data tells whether a data map follows.
 */
int azihsm_msg_parse_request(struct mbor_dec *d, struct azihsm_req_hdr *h, bool *has_data);
int azihsm_msg_parse_response(struct mbor_dec *d, struct azihsm_rsp_hdr *h, bool *has_data);

/* Encode / decode a { 1: major, 2: minor } revision map. */
void azihsm_msg_enc_rev(struct mbor_enc *e, const struct azihsm_api_rev *r);
int azihsm_msg_dec_rev(struct mbor_dec *d, struct azihsm_api_rev *r);

/*
 * GetRandom (azihsm): write the whole request for @len bytes; decode the
 * response's data map, pointing *data into the decoder's buffer. Every
 * host-side caller (driver hwrng, library) uses these two.
 */
void azihsm_msg_random_request(struct mbor_enc *e, uint16_t len);
int azihsm_msg_random_data(struct mbor_dec *d, const uint8_t **data, size_t *len);

const char *azihsm_status_name(uint32_t status);
/* "volatile", "loaded", "created", "truncated", "corrupt", "rolled-back", ... */
const char *azihsm_persist_name(uint32_t persist);
/* "unsigned", "verified", "no-image", "malformed", "wrong-root", ... */
const char *azihsm_boot_name(uint32_t boot);

#endif /* AZIHSM_MSG_H */
