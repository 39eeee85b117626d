// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: keys (KeyGenerate 4010, OpenKey 1015,
 * DeleteKey 1014, KeyList 4011, KeyPublic 4012) and EccSign 1062, on top
 * of hsm_vault and hsm_ops. Request and response maps:
 * include/azihsm/msg.h.
 *
 * Visibility: a session sees the persistent keys (owner 0) and its own
 * session keys (owner = its id); any other key is KEY_NOT_FOUND, exactly
 * as if it did not exist; the kernel session sees its own keys only.
 * Classes (hsm_auth_check): persistent keys are made and deleted under
 * MANAGE_KEYS, session keys under SESSION_KEYS; OpenKey, KeyList and
 * KeyPublic are INFO, EccSign USE_KEY. A persistent change is committed
 * before the answer; if that fails the answer is NOT_STORED and nothing
 * changed (a generated key is deleted again, a deleted one kept).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm_authz.h"
#include "hsm_fw_int.h"
#include "hsm_ops.h"

/* The wire values are the vault's and hsm_ops' (msg.h says so). */
_Static_assert(AZIHSM_KEY_AES128 == HSM_KEY_AES128, "key type");
_Static_assert(AZIHSM_KEY_AES192 == HSM_KEY_AES192, "key type");
_Static_assert(AZIHSM_KEY_AES256 == HSM_KEY_AES256, "key type");
_Static_assert(AZIHSM_KEY_AES256_XTS == HSM_KEY_AES256_XTS, "key type");
_Static_assert(AZIHSM_KEY_AES128_XTS == HSM_KEY_AES128_XTS, "key type");
_Static_assert(AZIHSM_KEY_AES256_GCM == HSM_KEY_AES256_GCM, "key type");
_Static_assert(AZIHSM_KEY_EC_P256 == HSM_KEY_EC_P256, "key type");
_Static_assert(AZIHSM_KEY_EC_P384 == HSM_KEY_EC_P384, "key type");
_Static_assert(AZIHSM_KEY_EC_P521 == HSM_KEY_EC_P521, "key type");
_Static_assert(AZIHSM_KEY_RSA2048 == HSM_KEY_RSA2048, "key type");
_Static_assert(AZIHSM_KEY_RSA3072 == HSM_KEY_RSA3072, "key type");
_Static_assert(AZIHSM_KEY_RSA4096 == HSM_KEY_RSA4096, "key type");
_Static_assert(AZIHSM_KEY_HMAC_SHA256 == HSM_KEY_HMAC_SHA256, "key type");
_Static_assert(AZIHSM_KEY_HMAC_SHA384 == HSM_KEY_HMAC_SHA384, "key type");
_Static_assert(AZIHSM_KEY_HMAC_SHA512 == HSM_KEY_HMAC_SHA512, "key type");
_Static_assert(AZIHSM_USAGE_SIGN == HSM_USAGE_SIGN, "usage");
_Static_assert(AZIHSM_USAGE_VERIFY == HSM_USAGE_VERIFY, "usage");
_Static_assert(AZIHSM_USAGE_ENCRYPT == HSM_USAGE_ENCRYPT, "usage");
_Static_assert(AZIHSM_USAGE_DECRYPT == HSM_USAGE_DECRYPT, "usage");
_Static_assert(AZIHSM_USAGE_UNWRAP == HSM_USAGE_UNWRAP, "usage");
_Static_assert(AZIHSM_USAGE_DERIVE == HSM_USAGE_DERIVE, "usage");
_Static_assert(AZIHSM_HASH_SHA256 == HSM_HASH_SHA256, "hash");
_Static_assert(AZIHSM_HASH_SHA384 == HSM_HASH_SHA384, "hash");
_Static_assert(AZIHSM_HASH_SHA512 == HSM_HASH_SHA512, "hash");
_Static_assert(AZIHSM_KEY_LABEL_MAX == HSM_KEY_LABEL_MAX, "label");

/* KeyList record: id u16, type u8, usage u32, persistent u8, label_len u8. */
#define FW_KEY_REC_FIXED	9
/* Large enough for any DER SPKI of a vault key (RSA-4096: 550 bytes). */
#define FW_SPKI_MAX		1024
/* Large enough for a DER ECDSA signature on P-521 (139 bytes). */
#define FW_ECDSA_SIG_MAX	160

uint32_t fw_status_vault(int st)
{
	switch (st) {
	case HSM_VAULT_OK:
		return AZIHSM_STATUS_SUCCESS;
	case HSM_VAULT_INVALID_ARG:
	case HSM_VAULT_BAD_TYPE:	/* unknown type asked for */
	case HSM_VAULT_BAD_USAGE:	/* usage empty, meaningless for the type, two purposes */
		return AZIHSM_STATUS_INVALID_ARG;
	case HSM_VAULT_FULL:
	case HSM_VAULT_NO_IDS:
		return AZIHSM_STATUS_VAULT_FULL;
	case HSM_VAULT_NOT_FOUND:
		return AZIHSM_STATUS_KEY_NOT_FOUND;
	case HSM_VAULT_LABEL_EXISTS:
		return AZIHSM_STATUS_LABEL_EXISTS;
	case HSM_VAULT_USAGE_DENIED:
		return AZIHSM_STATUS_KEY_USAGE;
	case HSM_VAULT_NOT_ASYMMETRIC:
		return AZIHSM_STATUS_KEY_TYPE;
	case HSM_VAULT_QUOTA:
		return AZIHSM_STATUS_QUOTA;
	case HSM_VAULT_RNG:		/* the DRBG failed: error state entered */
		return AZIHSM_STATUS_DRBG_FAILURE;
	case HSM_VAULT_PCT_FAILED:	/* a generated pair (imports: fw_status_import) */
		return AZIHSM_STATUS_ERROR_STATE;	/* the error state was entered */
	}
	return AZIHSM_STATUS_INTERNAL;
}

uint32_t fw_status_ops(int st)
{
	switch (st) {
	case HSM_OPS_OK:
		return AZIHSM_STATUS_SUCCESS;
	case HSM_OPS_WRONG_KEY_TYPE:
		return AZIHSM_STATUS_KEY_TYPE;
	case HSM_OPS_INVALID_ARG:
	case HSM_OPS_BAD_HASH:
	case HSM_OPS_BAD_DIGEST_LEN:
	case HSM_OPS_BAD_PADDING_MODE:
	case HSM_OPS_BAD_LENGTH:
	case HSM_OPS_BAD_IV:
	case HSM_OPS_INPUT_RANGE:
	case HSM_OPS_BAD_PEER:
	case HSM_OPS_PEER_CURVE:
		return AZIHSM_STATUS_INVALID_ARG;
	case HSM_OPS_BAD_TAG:
		return AZIHSM_STATUS_BAD_TAG;
	case HSM_OPS_DECRYPT_FAILED:
	case HSM_OPS_UNWRAP_FAILED:
		return AZIHSM_STATUS_DECRYPT_FAILED;
	}
	return AZIHSM_STATUS_INTERNAL;
}

bool fw_key_id_valid(uint16_t id)
{
	return id >= HSM_KEY_ID_MIN && id <= HSM_KEY_ID_MAX;
}

bool fw_visible(const struct fw_req *r, uint16_t owner)
{
	return hsm_authz_visible(r->session_id, r->kernel ? HSM_ROLE_KERNEL : HSM_ROLE_USER,
				 owner);
}

/* Attributes of key @id if the session may see it, else KEY_NOT_FOUND. */
uint32_t fw_visible_key(struct fw_req *r, uint16_t id, struct hsm_key_attr *attr)
{
	if (hsm_vault_get_attr(r->fw->vault, id, attr) != HSM_VAULT_OK ||
	    !fw_visible(r, attr->owner))
		return AZIHSM_STATUS_KEY_NOT_FOUND;
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_check(struct fw_req *r, enum hsm_auth_op op)
{
	return fw_status_auth(hsm_auth_check(r->fw->auth, r->session_id, op));
}

static uint32_t fw_status_authz(enum hsm_authz_status st)
{
	switch (st) {
	case HSM_AUTHZ_OK:
		return AZIHSM_STATUS_SUCCESS;
	case HSM_AUTHZ_NO_SESSION:
		return AZIHSM_STATUS_NO_SESSION;
	case HSM_AUTHZ_MUST_CHANGE_PIN:
		return AZIHSM_STATUS_MUST_CHANGE_PIN;
	case HSM_AUTHZ_WRONG_ROLE:
		return AZIHSM_STATUS_WRONG_ROLE;
	case HSM_AUTHZ_NOT_VISIBLE:
		return AZIHSM_STATUS_KEY_NOT_FOUND;
	case HSM_AUTHZ_USAGE:
		return AZIHSM_STATUS_KEY_USAGE;
	}
	return AZIHSM_STATUS_INTERNAL;
}

uint32_t fw_use_key_check(struct fw_req *r, uint16_t id, uint32_t need,
			  struct hsm_key_attr *attr)
{
	struct hsm_key_attr a;
	struct hsm_authz_key k;
	uint32_t st = fw_check(r, HSM_OP_USE_KEY);

	if (st)
		return st;
	if (hsm_vault_get_attr(r->fw->vault, id, &a) != HSM_VAULT_OK)
		return AZIHSM_STATUS_KEY_NOT_FOUND;
	k = hsm_authz_of_attr(&a);
	st = fw_status_authz(hsm_authz_use_key(r->fw->auth, r->session_id, &k, need));
	if (!st && attr)
		*attr = a;
	return st;
}

uint32_t fw_use_key_ref(const struct fw_req *r, const struct hsm_key_ref *key, uint32_t need)
{
	struct hsm_authz_key k = hsm_authz_of_ref(key);

	return fw_status_authz(hsm_authz_use_key(r->fw->auth, r->session_id, &k, need));
}

/* A request { 1: key_id u16 }, id range-checked. */
static uint32_t fw_decode_key_id(struct fw_req *r, uint16_t *id)
{
	const struct fw_field f[] = {
		{ AZIHSM_KEY_F_ID, FW_U16, false, id, NULL },
	};
	uint32_t st = fw_decode(r, f, 1);

	if (st)
		return st;
	return fw_key_id_valid(*id) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_INVALID_ARG;
}

uint32_t fw_svc_key_generate(struct fw_req *r)
{
	struct hsm_key_spec spec = { 0 };
	struct fw_bytes label = { 0 };
	uint8_t type = 0;
	uint32_t usage = 0;
	bool persistent = false, has_label = false;
	const struct fw_field f[] = {
		{ AZIHSM_KEY_F_TYPE, FW_U8, false, &type, NULL },
		{ AZIHSM_KEY_F_USAGE, FW_U32, false, &usage, NULL },
		{ AZIHSM_KEY_F_LABEL, FW_BYTES, true, &label, &has_label },
		{ AZIHSM_KEY_F_PERSISTENT, FW_BOOL, false, &persistent, NULL },
	};
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (label.len > AZIHSM_KEY_LABEL_MAX || (has_label && !label.len))
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_check(r, persistent ? HSM_OP_MANAGE_KEYS : HSM_OP_SESSION_KEYS);
	if (st)
		return st;
	spec.type = (enum hsm_key_type)type;
	spec.usage = usage;
	spec.owner = persistent ? 0 : r->session_id;
	spec.label = label.p;
	spec.label_len = label.len;
	if (persistent) {
		st = fw_new_persistent_begin(r);
		if (st)
			return st;
	}
	ret = hsm_vault_generate(r->fw->vault, &spec, &id);
	if (ret) {
		st = fw_status_vault(ret);
		id = 0;
	} else {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_KEY_F_ID);
		mbor_enc_u16(r->e, id);
		if (!fw_rsp_fits(r))
			st = AZIHSM_STATUS_RSP_TOO_LARGE;
	}
	if (persistent)
		return fw_new_persistent_end(r, id, st);
	if (!st && hsm_auth_check(r->fw->auth, r->session_id, HSM_OP_SESSION_KEYS))
		/* The session closed meanwhile: its keys are gone, so is this. */
		st = AZIHSM_STATUS_NO_SESSION;
	if (st && id)
		hsm_vault_delete(r->fw->vault, id);	/* nothing unstored acknowledged */
	return st;
}

uint32_t fw_svc_open_key(struct fw_req *r)
{
	struct fw_bytes label = { 0 };
	const struct fw_field f[] = {
		{ AZIHSM_KEY_F_OPEN_LABEL, FW_BYTES, false, &label, NULL },
	};
	struct hsm_key_attr attr;
	uint16_t id = 0;
	uint32_t st;

	st = fw_decode(r, f, 1);
	if (st)
		return st;
	if (!label.len || label.len > AZIHSM_KEY_LABEL_MAX)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	if (hsm_vault_find_label(r->fw->vault, label.p, label.len, r->session_id, &id) != HSM_VAULT_OK)
		return AZIHSM_STATUS_KEY_NOT_FOUND;
	st = fw_visible_key(r, id, &attr);
	if (st)
		return st;
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_KEY_F_ID);
	mbor_enc_u16(r->e, id);
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_delete_key(struct fw_req *r)
{
	struct hsm_key_attr attr;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode_key_id(r, &id);
	if (st)
		return st;
	/* A restricted session learns nothing about keys. */
	st = fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	st = fw_visible_key(r, id, &attr);
	if (st)
		return st;
	st = fw_check(r, attr.owner ? HSM_OP_SESSION_KEYS : HSM_OP_MANAGE_KEYS);
	if (st)
		return st;
	if (attr.owner) {
		ret = hsm_vault_delete(r->fw->vault, id);
		if (ret)
			return fw_status_vault(ret);
	} else {
		/* Gone from memory only once it is gone from the stored state. */
		fw_persist_begin(r->fw);
		ret = hsm_vault_delete_begin(r->fw->vault, id);
		if (!ret) {
			st = fw_persist_commit(r->fw) ? AZIHSM_STATUS_NOT_STORED : 0;
			hsm_vault_delete_end(r->fw->vault, id, st != 0);
		}
		fw_persist_end(r->fw);
		if (ret)
			return fw_status_vault(ret);
		if (st)
			return st;
	}
	mbor_enc_map(r->e, 0);
	return AZIHSM_STATUS_SUCCESS;
}

/*
 * Room a KeyList answer keeps free after its records: the count and next
 * fields, the bytes item's header and pad, and the closing of the maps.
 */
#define FW_KEY_LIST_SLACK	32

uint32_t fw_svc_key_list(struct fw_req *r)
{
	uint16_t after = 0;
	const struct fw_field f[] = {
		{ AZIHSM_KEY_F_AFTER, FW_U16, true, &after, NULL },
	};
	struct hsm_key_attr *keys;
	unsigned int n, cap, i, count = 0;
	size_t len = 0, budget;
	bool more = false;
	uint8_t *p;
	uint32_t st;

	st = fw_decode(r, f, 1);
	if (st)
		return st;
	st = fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	cap = hsm_vault_count(r->fw->vault) + 1;
	for (;;) {
		keys = calloc(cap, sizeof(*keys));
		if (!keys)
			return AZIHSM_STATUS_INTERNAL;
		n = hsm_vault_list(r->fw->vault, keys, cap);
		if (n <= cap)
			break;
		free(keys);	/* keys were added meanwhile: again */
		cap = n + 8;
	}
	/* As many visible keys above @after as the response buffer holds. */
	budget = r->e->cap - r->e->pos;
	budget = budget > FW_KEY_LIST_SLACK ? budget - FW_KEY_LIST_SLACK : 0;
	if (budget > MBOR_BYTES_MAX)
		budget = MBOR_BYTES_MAX;
	for (i = 0; i < n; i++) {
		size_t rec = FW_KEY_REC_FIXED + keys[i].label_len;

		if (keys[i].id <= after || !fw_visible(r, keys[i].owner))
			continue;
		if (len + rec > budget) {
			more = true;
			break;
		}
		keys[count++] = keys[i];
		len += rec;
	}
	if (more && !count) {
		free(keys);
		return AZIHSM_STATUS_RSP_TOO_LARGE;	/* not even one record fits */
	}
	mbor_enc_map(r->e, more ? 3 : 2);
	mbor_enc_key(r->e, AZIHSM_KEY_F_COUNT);
	mbor_enc_u16(r->e, (uint16_t)count);
	mbor_enc_key(r->e, AZIHSM_KEY_F_RECORDS);
	p = mbor_enc_bytes_reserve(r->e, len);
	if (!p) {
		free(keys);
		return AZIHSM_STATUS_RSP_TOO_LARGE;
	}
	for (i = 0; i < count; i++) {
		const struct hsm_key_attr *k = &keys[i];

		p[0] = (uint8_t)k->id;
		p[1] = (uint8_t)(k->id >> 8);
		p[2] = (uint8_t)k->type;
		p[3] = (uint8_t)k->usage;
		p[4] = (uint8_t)(k->usage >> 8);
		p[5] = (uint8_t)(k->usage >> 16);
		p[6] = (uint8_t)(k->usage >> 24);
		p[7] = k->owner == 0;
		p[8] = k->label_len;
		memcpy(p + FW_KEY_REC_FIXED, k->label, k->label_len);
		p += FW_KEY_REC_FIXED + k->label_len;
	}
	if (more) {
		mbor_enc_key(r->e, AZIHSM_KEY_F_NEXT);
		mbor_enc_u16(r->e, keys[count - 1].id);
	}
	free(keys);
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_key_public(struct fw_req *r)
{
	uint8_t der[FW_SPKI_MAX];
	struct hsm_key_attr attr;
	size_t len = 0;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode_key_id(r, &id);
	if (st)
		return st;
	st = fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	st = fw_visible_key(r, id, &attr);
	if (st)
		return st;
	ret = hsm_vault_export_public(r->fw->vault, id, der, sizeof(der), &len);
	if (ret)
		return fw_status_vault(ret);
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_KEY_F_DER);
	mbor_enc_bytes(r->e, der, len);
	return AZIHSM_STATUS_SUCCESS;
}

struct fw_sign_ctx {
	const struct fw_req *r;
	enum hsm_hash hash;
	struct fw_bytes digest;
	uint8_t sig[FW_ECDSA_SIG_MAX];
	size_t len;
	bool fips;
	uint32_t st;
};

static void fw_sign_fn(const struct hsm_key_ref *key, void *ctx)
{
	struct fw_sign_ctx *c = ctx;

	/* Checked on the borrowed key itself: no window for another owner. */
	c->st = fw_use_key_ref(c->r, key, HSM_USAGE_SIGN);
	if (c->st)
		return;
	c->st = fw_status_ops(hsm_ops_ecdsa_sign(key, c->hash, c->digest.p, c->digest.len,
						 c->sig, sizeof(c->sig), &c->len, &c->fips));
}

uint32_t fw_svc_ecc_sign(struct fw_req *r)
{
	struct fw_sign_ctx c = { .r = r, .st = AZIHSM_STATUS_INTERNAL };
	uint16_t id = 0;
	uint8_t hash = 0;
	const struct fw_field f[] = {
		{ AZIHSM_SIGN_F_KEY, FW_U16, false, &id, NULL },
		{ AZIHSM_SIGN_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_SIGN_F_DIGEST, FW_BYTES, false, &c.digest, NULL },
	};
	uint32_t st;
	int ret;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_key_id_valid(id) || hash < AZIHSM_HASH_SHA256 || hash > AZIHSM_HASH_SHA512 ||
	    c.digest.len != hsm_hash_size((enum hsm_hash)hash))
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	/* A key of another session is not found, whatever its usage. */
	st = fw_use_key_check(r, id, HSM_USAGE_SIGN, NULL);
	if (st)
		return st;
	ret = hsm_vault_with_key(r->fw->vault, id, HSM_USAGE_SIGN, fw_sign_fn, &c);
	if (ret) {
		st = fw_status_vault(ret);
	} else {
		st = c.st;
		if (!st) {
			mbor_enc_map(r->e, 1);
			mbor_enc_key(r->e, AZIHSM_SIGN_F_SIGNATURE);
			mbor_enc_bytes(r->e, c.sig, c.len);
			r->fips_approved = c.fips;
		}
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return st;
}
