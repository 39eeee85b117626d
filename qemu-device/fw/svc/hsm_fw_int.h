/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware internals shared by the dispatcher (hsm_fw.c) and the
 * services (hsm_svc_*.c): the firmware object, one request as a service
 * sees it, strict request decoding and status mapping.
 */
#ifndef HSM_FW_INT_H
#define HSM_FW_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_boot.h"
#include "hsm_fw.h"
#include "hsm_partition.h"
#include "hsm_selftest.h"
#include "hsm_tamper.h"
#include "hsm_vault.h"

#define HSM_FW_ERR_DETAIL	48	/* GetDeviceInfo field 21, with its NUL */

struct hsm_fw {
	char serial[33];
	char fw_rev[33];
	struct hsm_drbg *drbg;
	struct hsm_vault *vault;	/* the partition's keys */
	struct hsm_auth *auth;		/* its credentials and sessions */
	struct hsm_partition *part;	/* its stored state */
	struct hsm_identity *id;	/* identity and chain; NULL: none */
	/*
	 * Held from a persistent change to its commit by changes that are
	 * undone when the commit fails (fw_persist_begin), and by every
	 * commit, so no other commit stores such a change half-way.
	 */
	pthread_mutex_t persist_lock;
	/*
	 * Kernel masking key: seals the kernel session's blobs. Random at
	 * every start (hsm_fw_new), never stored: such a blob opens until the
	 * process ends, across controller resets.
	 */
	struct hsm_masking_key kernel_mk;
	pthread_mutex_t kernel_mk_lock;	/* a zeroize replaces kernel_mk */
	/*
	 * Error state: a failed self-test, DRBG or pairwise test, a tamper
	 * event, or stored state that could not be used. Only the services
	 * marked allowed_in_error answer. Set with hsm_fw_enter_error (err_lock
	 * guards the reason, the detail and the tamper fields).
	 */
	bool error_state;
	/* How the firmware booted (hsm_boot.h); set once by hsm_fw_new. */
	struct hsm_boot_state boot;
	/*
	 * Security domain exchange key (EVP_PKEY, P-384; NULL until
	 * SdExchangeKey), in memory only, replaced after each SdUpload and
	 * dropped by a zeroize and a tamper (fw_sd_drop_xchg).
	 */
	void *sd_xchg;
	pthread_mutex_t sd_lock;
	pthread_mutex_t err_lock;
	unsigned int err_reason;	/* enum azihsm_error_reason */
	char err_detail[HSM_FW_ERR_DETAIL];
	int selftest_fail;		/* enum azihsm_selftest_id, 0: none */
	/* selftest-fail=pct-*: the next EC (1) / RSA (2) key pair's PCT fails */
	unsigned int pct_fail;
	void (*event)(void *ctx, uint32_t dw0);
	void *event_ctx;
	struct hsm_tamper_log tamper;
	bool tampered;			/* since the last start or reset */
	bool tamper_unstored;		/* a tamper's zeroize could not be stored */
	/*
	 * Test only (hsm_fw_config.fault_corrupt): the AES mode (AZIHSM_AES_*)
	 * whose output AesEncryptDecrypt flips, 0 = off.
	 */
	uint8_t fault_corrupt_mode;
};

struct fw_req {
	struct hsm_fw *fw;
	struct mbor_dec *d;	/* at the data map, or NULL if none */
	struct mbor_enc *e;	/* write exactly one data map */
	/*
	 * Response header's fips_approved: starts as the service's static
	 * flag (fw_ops); a service may change it (patched in on success).
	 */
	bool fips_approved;
	/* The header's session id; checked open for services that need one. */
	bool has_session;
	uint16_t session_id;
	/*
	 * The session is the kernel session: it sees its own session keys
	 * only, never the persistent ones (fw_visible).
	 */
	bool kernel;
	struct hsm_fw_cmd *cmd;	/* cqe_session_* for Open/CloseSession */
};

typedef uint32_t (*fw_service)(struct fw_req *r);

/* One field of a request data map, for fw_decode(). */
enum fw_type {
	FW_U8,
	FW_U16,
	FW_U32,
	FW_U64,
	FW_BOOL,
	FW_BYTES,
};

struct fw_bytes {
	const uint8_t *p;	/* into the request buffer */
	size_t len;
};

struct fw_field {
	uint8_t id;
	enum fw_type type;
	bool optional;
	void *val;		/* uint8_t .. uint64_t / bool / struct fw_bytes */
	bool *present;		/* may be NULL */
};

/*
 * Decode the request data map strictly: every field in @f (ascending ids)
 * of its one type, required ones present, no other field, nothing after
 * the map. MALFORMED otherwise; SUCCESS. No data map at all counts as an
 * empty one. Values are not range-checked here.
 */
uint32_t fw_decode(struct fw_req *r, const struct fw_field *f, unsigned int n);
/* True while the response written so far fits the output buffer. */
bool fw_rsp_fits(const struct fw_req *r);
/* Close session @sid (flush) and drop its keys. */
void fw_drop_session(struct hsm_fw *fw, uint16_t sid);

uint32_t fw_status_auth(int st);
uint32_t fw_status_vault(int st);
uint32_t fw_status_ops(int st);

/* hsm_svc_session.c */
uint32_t fw_svc_session_key(struct fw_req *r);
uint32_t fw_svc_open_session(struct fw_req *r);
uint32_t fw_svc_close_session(struct fw_req *r);
uint32_t fw_svc_change_pin(struct fw_req *r);
uint32_t fw_svc_reset_user(struct fw_req *r);
uint32_t fw_svc_unlock_user(struct fw_req *r);

/* hsm_svc_keys.c */
/* Key ids a request may name. */
bool fw_key_id_valid(uint16_t id);
/*
 * Does the request's session see a key of @owner (0 = persistent)? Its own
 * session keys, and the persistent keys unless it is the kernel session
 * (hsm_authz_visible).
 */
bool fw_visible(const struct fw_req *r, uint16_t owner);
/* Attributes of key @id if the session may see it, else KEY_NOT_FOUND. */
uint32_t fw_visible_key(struct fw_req *r, uint16_t id, struct hsm_key_attr *attr);
/* hsm_auth_check of the request's session for @op, as an HSM status. */
uint32_t fw_check(struct fw_req *r, enum hsm_auth_op op);
/*
 * Using a key: the class USE_KEY first (so a restricted session learns
 * nothing of keys), then hsm_authz_use_key on key @id's attributes for the
 * usage bits @need (NO_SESSION, MUST_CHANGE_PIN, WRONG_ROLE,
 * KEY_NOT_FOUND, KEY_USAGE). @attr (may be NULL) gets the attributes.
 */
uint32_t fw_use_key_check(struct fw_req *r, uint16_t id, uint32_t need,
			  struct hsm_key_attr *attr);
/*
 * The same rule on a key borrowed through hsm_vault_with_key (call it in
 * the callback: no window for the key to change hands). HSM status.
 */
uint32_t fw_use_key_ref(const struct fw_req *r, const struct hsm_key_ref *key, uint32_t need);

/*
 * A persistent change that is undone if it cannot be stored:
 * fw_persist_begin() takes persist_lock, fw_persist_commit() stores the
 * partition with it held (0 or -1), fw_persist_end() releases it.
 */
void fw_persist_begin(struct hsm_fw *fw);
int fw_persist_commit(struct hsm_fw *fw);
void fw_persist_end(struct hsm_fw *fw);

/*
 * A new persistent key (issue 9, red team: a creation racing a zeroize).
 * fw_new_persistent_begin() takes persist_lock and checks again that the
 * caller may still manage persistent keys (a zeroize closes every session
 * with that lock held), so a session of before a zeroize cannot insert a
 * key after the zeroize emptied the vault, and no other commit can store
 * the key before the caller's own. SUCCESS (lock held) or the check's
 * status (lock released). The caller inserts the key, then ends with
 * fw_new_persistent_end(r, id, st): commits when @st is SUCCESS, deletes
 * the key @id (if any) when that fails or @st is not SUCCESS, releases the
 * lock and returns the final status.
 */
uint32_t fw_new_persistent_begin(struct fw_req *r);

/*
 * Answer { @field: blob }: key @id masked under @mk for owner @kind
 * (KeyExportMasked, SdBackupKey). HSM status.
 */
uint32_t fw_mask_to_rsp(struct fw_req *r, uint16_t id, const struct hsm_masking_key *mk,
			enum hsm_blob_owner kind, uint8_t field);
uint32_t fw_new_persistent_end(struct fw_req *r, uint16_t id, uint32_t st);
uint32_t fw_svc_key_generate(struct fw_req *r);
uint32_t fw_svc_open_key(struct fw_req *r);
uint32_t fw_svc_delete_key(struct fw_req *r);
uint32_t fw_svc_key_list(struct fw_req *r);
uint32_t fw_svc_key_public(struct fw_req *r);
uint32_t fw_svc_ecc_sign(struct fw_req *r);

/* hsm_svc_kernel.c: kernel session, raw import, masked blobs, AES */
uint32_t fw_svc_open_kernel(struct fw_req *r);
uint32_t fw_svc_key_import(struct fw_req *r);
uint32_t fw_svc_unmask_key(struct fw_req *r);
uint32_t fw_svc_export_masked(struct fw_req *r);
uint32_t fw_svc_aes(struct fw_req *r);
/*
 * The key blobs of the request's session kind are sealed with: the kernel
 * or the partition masking key, bound to the zeroize epoch (cleanse it).
 * 0 or -1.
 */
int fw_masking_key(const struct fw_req *r, struct hsm_masking_key *out);
/* The blob owner kind of the request's session (its role); 0 or -1. */
int fw_blob_owner(const struct fw_req *r, enum hsm_blob_owner *kind);

/* hsm_svc_selftest.c: SelfTest, TamperLog; the power-on self-tests */
uint32_t fw_svc_self_test(struct fw_req *r);
uint32_t fw_svc_tamper_log(struct fw_req *r);
/* Run the self-tests; a failure enters the error state. 0 or the failed id. */
int fw_run_selftests(struct hsm_fw *fw, struct hsm_selftest_report *rep);

/* hsm_svc_backup.c: ZeroizePartition, InitBk3, GetSealedBk3, SetSealedBk3 */
uint32_t fw_svc_zeroize(struct fw_req *r);
uint32_t fw_svc_init_bk3(struct fw_req *r);
uint32_t fw_svc_get_sealed_bk3(struct fw_req *r);
uint32_t fw_svc_set_sealed_bk3(struct fw_req *r);
/* Security domain: SdActivate, SdExchangeKey, SdUpload, SdBackupKey, SdRestoreKey, SdInfo */
uint32_t fw_svc_sd_activate(struct fw_req *r);
uint32_t fw_svc_sd_exchange_key(struct fw_req *r);
uint32_t fw_svc_sd_upload(struct fw_req *r);
uint32_t fw_svc_sd_backup_key(struct fw_req *r);
uint32_t fw_svc_sd_restore_key(struct fw_req *r);
uint32_t fw_svc_sd_info(struct fw_req *r);
/* Forget the exchange key: no upload sealed to it opens any more. */
void fw_sd_drop_xchg(struct hsm_fw *fw);

/* hsm_svc_crypto.c: Hash, RsaModExp, RsaPublic, EccVerify */
uint32_t fw_svc_hash(struct fw_req *r);
uint32_t fw_svc_rsa_mod_exp(struct fw_req *r);
uint32_t fw_svc_rsa_public(struct fw_req *r);
uint32_t fw_svc_ecc_verify(struct fw_req *r);

/* hsm_svc_identity.c: GetCertChainInfo, GetCertificate, AttestKey */
uint32_t fw_svc_cert_chain_info(struct fw_req *r);
uint32_t fw_svc_get_certificate(struct fw_req *r);
uint32_t fw_svc_attest_key(struct fw_req *r);

/* hsm_svc_ops.c */
uint32_t fw_svc_rsa_sign(struct fw_req *r);
uint32_t fw_svc_rsa_decrypt(struct fw_req *r);
uint32_t fw_svc_verify(struct fw_req *r);
uint32_t fw_svc_hmac(struct fw_req *r);
uint32_t fw_svc_ecdh(struct fw_req *r);
uint32_t fw_svc_hkdf(struct fw_req *r);
uint32_t fw_svc_kbkdf(struct fw_req *r);
uint32_t fw_svc_unwrapping_key(struct fw_req *r);
uint32_t fw_svc_rsa_unwrap(struct fw_req *r);

#endif /* HSM_FW_INT_H */
