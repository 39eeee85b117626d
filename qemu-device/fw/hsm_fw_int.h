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
#include "hsm_fw.h"
#include "hsm_partition.h"
#include "hsm_vault.h"

struct hsm_fw {
	char serial[33];
	char fw_rev[33];
	struct hsm_drbg *drbg;
	struct hsm_vault *vault;	/* the partition's keys */
	struct hsm_auth *auth;		/* its credentials and sessions */
	struct hsm_partition *part;	/* its stored state */
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
	 * Error state: a failed self-test, or stored state that could not be
	 * used. Only the services marked allowed_in_error answer.
	 */
	bool error_state;
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

/* hsm_svc_backup.c: ZeroizePartition, InitBk3, GetSealedBk3, SetSealedBk3 */
uint32_t fw_svc_zeroize(struct fw_req *r);
uint32_t fw_svc_init_bk3(struct fw_req *r);
uint32_t fw_svc_get_sealed_bk3(struct fw_req *r);
uint32_t fw_svc_set_sealed_bk3(struct fw_req *r);

/* hsm_svc_crypto.c: Hash, RsaModExp, RsaPublic, EccVerify */
uint32_t fw_svc_hash(struct fw_req *r);
uint32_t fw_svc_rsa_mod_exp(struct fw_req *r);
uint32_t fw_svc_rsa_public(struct fw_req *r);
uint32_t fw_svc_ecc_verify(struct fw_req *r);

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
