// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: operations with vault keys. RsaSign 4024,
 * RsaDecrypt 4025, Verify 4026, Hmac 1077, and the services whose result
 * is a new key that stays in the device: EcdhKeyExchange 1074, HkdfDerive
 * 1075, KbkdfDerive 1076, RsaUnwrap 1035; and GetUnwrappingKey 1051, the
 * partition's RSA unwrapping key. Request and response maps:
 * include/azihsm/msg.h ("Vault operations").
 *
 * Every operation: the USE_KEY class, a key the session sees (as in
 * hsm_svc_keys.c, checked again on the borrowed key), the usage the
 * operation needs (the vault refuses the borrow otherwise). A new key
 * made from a persistent key needs the MANAGE_KEYS class (hsm_authz_use_key:
 * users derive and unwrap from their own session keys only). A new key is
 * persistent (MANAGE_KEYS) or the session's (SESSION_KEYS), checked
 * before any work; a persistent one is committed before the answer, and
 * deleted again if that fails (NOT_STORED). Derived and unwrapped
 * material goes from the operation straight into the vault; every copy
 * is cleansed. fips_approved is the operation's (hsm_ops).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm_fw_int.h"
#include "hsm_ops.h"

_Static_assert(AZIHSM_RSA_PAD_PKCS1 == HSM_RSA_PKCS1, "padding");
_Static_assert(AZIHSM_RSA_PAD_PSS == HSM_RSA_PSS, "padding");
_Static_assert(AZIHSM_KDF_LABEL_MAX == 1024, "hsm_ops KDF input limit");

#define FW_RSA_MAX	512	/* RSA-4096 modulus bytes */
#define FW_SPKI_MAX	1024
#define FW_SECRET_MAX	128	/* derived / agreed secrets: HSM_HMAC_KEY_MAX, XTS 64 */
#define FW_UNWRAP_KEY_TYPE HSM_KEY_RSA2048

/* ---- borrowing a key --------------------------------------------------- */

/* One operation on a borrowed key; services embed it first in their context. */
struct fw_job {
	struct fw_req *r;
	uint32_t need;		/* usage bits the operation needs */
	uint32_t st;
	bool fips;
	void (*run)(const struct hsm_key_ref *key, struct fw_job *j);
};

static void fw_job_fn(const struct hsm_key_ref *key, void *ctx)
{
	struct fw_job *j = ctx;

	/* Checked on the borrowed key itself: no window for another owner. */
	j->st = fw_use_key_ref(j->r, key, j->need);
	if (j->st)
		return;
	j->run(key, j);
}

/* hsm_authz_use_key for key @id and usage @need: run j->run on it. */
static uint32_t fw_use_key(struct fw_req *r, uint16_t id, uint32_t need, struct fw_job *j)
{
	uint32_t st;
	int ret;

	if (!fw_key_id_valid(id))
		return AZIHSM_STATUS_INVALID_ARG;
	/* A key of another session is not found, whatever its usage. */
	st = fw_use_key_check(r, id, need, NULL);
	if (st)
		return st;
	j->r = r;
	j->need = need;
	j->st = AZIHSM_STATUS_INTERNAL;
	j->fips = false;
	ret = hsm_vault_with_key(r->fw->vault, id, need, fw_job_fn, j);
	if (ret)
		return fw_status_vault(ret);
	return j->st;
}

/* ---- new keys ----------------------------------------------------------- */

/* Fields 5..8 of a request that makes a key. */
struct fw_new_key {
	uint8_t type;
	uint32_t usage;
	struct fw_bytes label;
	bool has_label;
	bool persistent;
};

static void fw_new_key_fields(struct fw_field *f, struct fw_new_key *k)
{
	f[0] = (struct fw_field){ AZIHSM_OPS_F_TYPE, FW_U8, false, &k->type, NULL };
	f[1] = (struct fw_field){ AZIHSM_OPS_F_USAGE, FW_U32, false, &k->usage, NULL };
	f[2] = (struct fw_field){ AZIHSM_OPS_F_LABEL, FW_BYTES, true, &k->label, &k->has_label };
	f[3] = (struct fw_field){ AZIHSM_OPS_F_PERSISTENT, FW_BOOL, false, &k->persistent, NULL };
}

/* The label's length and the class the new key needs. */
static uint32_t fw_new_key_check(struct fw_req *r, const struct fw_new_key *k)
{
	if (k->label.len > AZIHSM_KEY_LABEL_MAX || (k->has_label && !k->label.len))
		return AZIHSM_STATUS_INVALID_ARG;
	if (!hsm_key_type_valid((enum hsm_key_type)k->type))
		return AZIHSM_STATUS_INVALID_ARG;
	return fw_check(r, k->persistent ? HSM_OP_MANAGE_KEYS : HSM_OP_SESSION_KEYS);
}

static struct hsm_key_spec fw_new_key_spec(const struct fw_req *r, const struct fw_new_key *k,
					   uint8_t origin)
{
	struct hsm_key_spec s = {
		.type = (enum hsm_key_type)k->type,
		.usage = k->usage,
		.owner = k->persistent ? 0 : r->session_id,
		.origin = origin,
		.label = k->label.p,
		.label_len = k->label.len,
	};

	return s;
}

/* An import refused for its material is the request's fault. */
static uint32_t fw_status_import(int ret)
{
	if (ret == HSM_VAULT_BAD_MATERIAL || ret == HSM_VAULT_PCT_FAILED)
		return AZIHSM_STATUS_INVALID_ARG;
	return fw_status_vault(ret);
}

/* Before inserting a new key: a persistent one takes the persist lock. */
static uint32_t fw_new_key_begin(struct fw_req *r, const struct fw_new_key *k)
{
	return k->persistent ? fw_new_persistent_begin(r) : AZIHSM_STATUS_SUCCESS;
}

/*
 * After inserting new key @id (0 and @st not SUCCESS when the insert
 * failed): answer { 1: id }, store it first if persistent (releasing the
 * lock fw_new_key_begin took); whatever fails deletes the key.
 */
static uint32_t fw_new_key_done(struct fw_req *r, const struct fw_new_key *k, uint16_t id,
				uint32_t st)
{
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_OPS_F_NEW_KEY_ID);
		mbor_enc_u16(r->e, id);
		if (!fw_rsp_fits(r))
			st = AZIHSM_STATUS_RSP_TOO_LARGE;
	}
	if (k->persistent)
		return fw_new_persistent_end(r, id, st);
	if (!st && hsm_auth_check(r->fw->auth, r->session_id, HSM_OP_SESSION_KEYS))
		/* The session closed meanwhile: its keys are gone, so is this. */
		st = AZIHSM_STATUS_NO_SESSION;
	if (st && id)
		hsm_vault_delete(r->fw->vault, id);	/* nothing unstored acknowledged */
	return st;
}

/* Store secret @s as the new key (AES / HMAC types) of @origin. */
static uint32_t fw_new_secret_key(struct fw_req *r, const struct fw_new_key *k,
				  uint8_t origin, const uint8_t *s, size_t len)
{
	struct hsm_key_spec spec = fw_new_key_spec(r, k, origin);
	uint32_t st = fw_new_key_begin(r, k);
	uint16_t id = 0;
	int ret;

	if (st)
		return st;
	ret = hsm_vault_import_secret(r->fw->vault, &spec, s, len, &id);
	if (ret) {
		st = fw_status_import(ret);
		id = 0;
	}
	return fw_new_key_done(r, k, id, st);
}

/*
 * Secret length of a derived key of type @type: the AES size, or for HMAC
 * types @len (16..128) when given, else the type's hash size. 0: refused.
 */
static size_t fw_derived_len(uint8_t type, bool has_len, uint16_t len)
{
	bool hmac = false;
	size_t n;

	switch (type) {
	case AZIHSM_KEY_AES128:
		n = 16;
		break;
	case AZIHSM_KEY_AES192:
		n = 24;
		break;
	case AZIHSM_KEY_AES256:
	case AZIHSM_KEY_AES256_GCM:
	case AZIHSM_KEY_AES128_XTS:
		n = 32;
		break;
	case AZIHSM_KEY_AES256_XTS:
		n = 64;
		break;
	case AZIHSM_KEY_HMAC_SHA256:
		n = 32;
		hmac = true;
		break;
	case AZIHSM_KEY_HMAC_SHA384:
		n = 48;
		hmac = true;
		break;
	case AZIHSM_KEY_HMAC_SHA512:
		n = 64;
		hmac = true;
		break;
	default:
		return 0;	/* EC / RSA keys are not derived */
	}
	if (!has_len)
		return n;
	/* A length only for HMAC types. */
	return hmac && len >= HSM_HMAC_KEY_MIN && len <= HSM_HMAC_KEY_MAX ? len : 0;
}

static bool fw_hash_valid(uint8_t hash)
{
	return hash >= AZIHSM_HASH_SHA256 && hash <= AZIHSM_HASH_SHA512;
}

/* ---- RsaSign, Verify, Hmac, RsaDecrypt ---------------------------------- */

struct fw_sig_job {
	struct fw_job j;
	enum hsm_hash hash;
	enum hsm_rsa_sig_pad pad;
	struct fw_bytes digest;
	struct fw_bytes sig;	/* Verify */
	uint8_t out[FW_RSA_MAX];
	size_t len;
	bool valid;
};

static void fw_rsa_sign_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_sig_job *c = (struct fw_sig_job *)j;

	j->st = fw_status_ops(hsm_ops_rsa_sign(key, c->pad, c->hash, c->digest.p, c->digest.len,
					       c->out, sizeof(c->out), &c->len, &j->fips));
}

uint32_t fw_svc_rsa_sign(struct fw_req *r)
{
	struct fw_sig_job c = { .j.run = fw_rsa_sign_run };
	uint16_t id = 0;
	uint8_t hash = 0, pad = 0;
	const struct fw_field f[] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_OPS_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_RSASIGN_F_PAD, FW_U8, false, &pad, NULL },
		{ AZIHSM_RSASIGN_F_DIGEST, FW_BYTES, false, &c.digest, NULL },
	};
	uint32_t st;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_hash_valid(hash) || (pad != AZIHSM_RSA_PAD_PKCS1 && pad != AZIHSM_RSA_PAD_PSS))
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	c.pad = (enum hsm_rsa_sig_pad)pad;
	st = fw_use_key(r, id, HSM_USAGE_SIGN, &c.j);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_OPS_F_OUT);
		mbor_enc_bytes(r->e, c.out, c.len);
		r->fips_approved = c.j.fips;
	}
	return st;
}

static void fw_verify_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_sig_job *c = (struct fw_sig_job *)j;

	j->st = fw_status_ops(hsm_ops_verify(key, c->pad, c->hash, c->digest.p, c->digest.len,
					     c->sig.p, c->sig.len, &c->valid, &j->fips));
}

uint32_t fw_svc_verify(struct fw_req *r)
{
	struct fw_sig_job c = { .j.run = fw_verify_run };
	uint16_t id = 0;
	uint8_t hash = 0, pad = 0;
	bool has_pad = false;
	const struct fw_field f[] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_OPS_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_VERIFY_F_PAD, FW_U8, true, &pad, &has_pad },
		{ AZIHSM_VERIFY_F_DIGEST, FW_BYTES, false, &c.digest, NULL },
		{ AZIHSM_VERIFY_F_SIG, FW_BYTES, false, &c.sig, NULL },
	};
	uint32_t st;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_hash_valid(hash) ||
	    (has_pad && pad != AZIHSM_RSA_PAD_PKCS1 && pad != AZIHSM_RSA_PAD_PSS))
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	c.pad = (enum hsm_rsa_sig_pad)pad;	/* 0 for an RSA key: INVALID_ARG */
	st = fw_use_key(r, id, HSM_USAGE_VERIFY, &c.j);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_VERIFY_F_VALID);
		mbor_enc_bool(r->e, c.valid);
		r->fips_approved = c.j.fips;
	}
	return st;
}

struct fw_data_job {
	struct fw_job j;
	enum hsm_hash hash;
	struct fw_bytes in;
	struct fw_bytes label;
	uint8_t out[FW_RSA_MAX];
	size_t len;
};

static void fw_hmac_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_data_job *c = (struct fw_data_job *)j;

	j->st = fw_status_ops(hsm_ops_hmac(key, c->in.p, c->in.len, c->out, sizeof(c->out),
					   &c->len, &j->fips));
}

uint32_t fw_svc_hmac(struct fw_req *r)
{
	struct fw_data_job c = { .j.run = fw_hmac_run };
	uint16_t id = 0;
	const struct fw_field f[] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_HMAC_F_DATA, FW_BYTES, false, &c.in, NULL },
	};
	uint32_t st;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	st = fw_use_key(r, id, HSM_USAGE_SIGN, &c.j);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_OPS_F_OUT);
		mbor_enc_bytes(r->e, c.out, c.len);
		r->fips_approved = c.j.fips;
	}
	return st;
}

static void fw_rsa_decrypt_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_data_job *c = (struct fw_data_job *)j;

	j->st = fw_status_ops(hsm_ops_rsa_oaep_decrypt(key, c->hash, c->label.p, c->label.len,
						       c->in.p, c->in.len, c->out,
						       sizeof(c->out), &c->len, &j->fips));
}

uint32_t fw_svc_rsa_decrypt(struct fw_req *r)
{
	struct fw_data_job c = { .j.run = fw_rsa_decrypt_run };
	uint16_t id = 0;
	uint8_t hash = 0;
	const struct fw_field f[] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_OPS_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_RSADEC_F_IN, FW_BYTES, false, &c.in, NULL },
		{ AZIHSM_RSADEC_F_OAEP_LABEL, FW_BYTES, true, &c.label, NULL },
	};
	uint32_t st;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_hash_valid(hash) || c.label.len > AZIHSM_KDF_LABEL_MAX)
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	st = fw_use_key(r, id, HSM_USAGE_DECRYPT, &c.j);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_OPS_F_OUT);
		mbor_enc_bytes(r->e, c.out, c.len);
		r->fips_approved = c.j.fips;
	}
	OPENSSL_cleanse(c.out, sizeof(c.out));
	return st;
}

/* ---- EcdhKeyExchange, HkdfDerive, KbkdfDerive --------------------------- */

struct fw_derive_job {
	struct fw_job j;
	bool kbkdf;
	enum hsm_hash hash;
	struct fw_bytes a, b;	/* ECDH: peer; HKDF: salt, info; KBKDF: label, context */
	uint8_t secret[FW_SECRET_MAX];
	size_t len;		/* KDF: wanted; ECDH: got */
};

static void fw_ecdh_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_derive_job *c = (struct fw_derive_job *)j;

	j->st = fw_status_ops(hsm_ops_ecdh(key, c->a.p, c->a.len, c->secret, sizeof(c->secret),
					   &c->len, &j->fips));
}

uint32_t fw_svc_ecdh(struct fw_req *r)
{
	struct fw_derive_job c = { .j.run = fw_ecdh_run };
	struct fw_new_key k = { 0 };
	uint16_t id = 0;
	struct fw_field f[6] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_ECDH_F_PEER, FW_BYTES, false, &c.a, NULL },
	};
	uint32_t st;

	fw_new_key_fields(f + 2, &k);
	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	/* The agreed secret feeds an HMAC-type key, nothing else. */
	if (k.type != AZIHSM_KEY_HMAC_SHA256 && k.type != AZIHSM_KEY_HMAC_SHA384 &&
	    k.type != AZIHSM_KEY_HMAC_SHA512)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_new_key_check(r, &k);
	if (st)
		return st;
	st = fw_use_key(r, id, HSM_USAGE_DERIVE, &c.j);
	if (!st) {
		st = fw_new_secret_key(r, &k, HSM_ORIGIN_DERIVED, c.secret, c.len);
		if (!st)
			r->fips_approved = c.j.fips;
	}
	OPENSSL_cleanse(c.secret, sizeof(c.secret));
	return st;
}

static void fw_kdf_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_derive_job *c = (struct fw_derive_job *)j;
	int ret;

	if (c->kbkdf)
		ret = hsm_ops_kbkdf(key, c->hash, c->a.p, c->a.len, c->b.p, c->b.len, c->secret,
				    c->len, &j->fips);
	else
		ret = hsm_ops_hkdf(key, c->hash, c->a.p, c->a.len, c->b.p, c->b.len, c->secret,
				   c->len, &j->fips);
	j->st = fw_status_ops(ret);
}

static uint32_t fw_kdf(struct fw_req *r, bool kbkdf)
{
	struct fw_derive_job c = { .j.run = fw_kdf_run, .kbkdf = kbkdf };
	struct fw_new_key k = { 0 };
	uint16_t id = 0, length = 0;
	uint8_t hash = 0;
	bool has_length = false;
	struct fw_field f[9] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_OPS_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_KDF_F_SALT, FW_BYTES, true, &c.a, NULL },
		{ AZIHSM_KDF_F_INFO, FW_BYTES, true, &c.b, NULL },
	};
	uint32_t st;

	fw_new_key_fields(f + 4, &k);
	f[8] = (struct fw_field){ AZIHSM_KDF_F_LENGTH, FW_U16, true, &length, &has_length };
	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	c.len = fw_derived_len(k.type, has_length, length);
	if (!fw_hash_valid(hash) || !c.len || c.a.len > AZIHSM_KDF_LABEL_MAX ||
	    c.b.len > AZIHSM_KDF_LABEL_MAX)
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	st = fw_new_key_check(r, &k);
	if (st)
		return st;
	st = fw_use_key(r, id, HSM_USAGE_DERIVE, &c.j);
	if (!st) {
		st = fw_new_secret_key(r, &k, HSM_ORIGIN_DERIVED, c.secret, c.len);
		if (!st)
			r->fips_approved = c.j.fips;
	}
	OPENSSL_cleanse(c.secret, sizeof(c.secret));
	return st;
}

uint32_t fw_svc_hkdf(struct fw_req *r)
{
	return fw_kdf(r, false);
}

uint32_t fw_svc_kbkdf(struct fw_req *r)
{
	return fw_kdf(r, true);
}

/* ---- GetUnwrappingKey, RsaUnwrap ---------------------------------------- */

static bool fw_is_unwrapping_key(const struct hsm_key_attr *a)
{
	return a->owner == 0 && (a->usage & HSM_USAGE_UNWRAP) &&
	       (a->type == HSM_KEY_RSA2048 || a->type == HSM_KEY_RSA3072 ||
		a->type == HSM_KEY_RSA4096);
}

/*
 * The partition's unwrapping key: found by its label, or, for the officer
 * only (MANAGE_KEYS), made and stored. issue 9: GetUnwrappingKey is of the
 * INFO class and INFO creates nothing, so a user (or the kernel session,
 * which never sees persistent keys) gets KEY_NOT_FOUND until the officer
 * has asked once.
 */
static uint32_t fw_unwrapping_key(struct fw_req *r, uint16_t *id)
{
	static const char label[] = AZIHSM_UNWRAP_KEY_LABEL;
	const struct hsm_key_spec spec = {
		.type = FW_UNWRAP_KEY_TYPE,
		.usage = HSM_USAGE_UNWRAP,	/* never decrypt: no OAEP oracle */
		.owner = 0,
		.label = (const uint8_t *)label,
		.label_len = sizeof(label) - 1,
	};
	struct hsm_key_attr attr;
	int ret, tries;

	for (tries = 0; tries < 2; tries++) {
		if (hsm_vault_find_label(r->fw->vault, label, spec.label_len, 0, id) == HSM_VAULT_OK) {
			if (hsm_vault_get_attr(r->fw->vault, *id, &attr) != HSM_VAULT_OK)
				continue;	/* deleted meanwhile */
			return fw_is_unwrapping_key(&attr) ? AZIHSM_STATUS_SUCCESS :
							     AZIHSM_STATUS_KEY_TYPE;
		}
		if (fw_check(r, HSM_OP_MANAGE_KEYS))
			return AZIHSM_STATUS_KEY_NOT_FOUND;
		if (fw_new_persistent_begin(r))
			return AZIHSM_STATUS_KEY_NOT_FOUND;
		ret = hsm_vault_generate(r->fw->vault, &spec, id);
		if (ret == HSM_VAULT_LABEL_EXISTS) {
			fw_persist_end(r->fw);
			continue;	/* another session made it meanwhile */
		}
		if (ret) {
			fw_persist_end(r->fw);
			return fw_status_vault(ret);
		}
		return fw_new_persistent_end(r, *id, AZIHSM_STATUS_SUCCESS);
	}
	return AZIHSM_STATUS_INTERNAL;
}

uint32_t fw_svc_unwrapping_key(struct fw_req *r)
{
	uint8_t der[FW_SPKI_MAX];
	size_t len = 0;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode(r, NULL, 0);
	if (st)
		return st;
	st = fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	if (r->kernel)
		return AZIHSM_STATUS_KEY_NOT_FOUND;	/* a persistent key */
	st = fw_unwrapping_key(r, &id);
	if (st)
		return st;
	ret = hsm_vault_export_public(r->fw->vault, id, der, sizeof(der), &len);
	if (ret)
		return fw_status_vault(ret);
	mbor_enc_map(r->e, 2);
	mbor_enc_key(r->e, AZIHSM_UNWRAPKEY_F_ID);
	mbor_enc_u16(r->e, id);
	mbor_enc_key(r->e, AZIHSM_UNWRAPKEY_F_DER);
	mbor_enc_bytes(r->e, der, len);
	return AZIHSM_STATUS_SUCCESS;
}

struct fw_unwrap_job {
	struct fw_job j;
	enum hsm_hash hash;
	struct fw_bytes in, label;
	uint8_t *out;		/* in.len bytes: the target is shorter */
	size_t len;
};

static void fw_unwrap_run(const struct hsm_key_ref *key, struct fw_job *j)
{
	struct fw_unwrap_job *c = (struct fw_unwrap_job *)j;
	int ret;

	ret = hsm_ops_rsa_aes_unwrap(key, c->hash, c->label.p, c->label.len, c->in.p, c->in.len,
				     c->out, c->in.len, &c->len, &j->fips);
	j->st = fw_status_ops(ret);
}

/* Store unwrapped PKCS#8 DER @der as the new EC / RSA key. */
static uint32_t fw_new_pkey(struct fw_req *r, const struct fw_new_key *k, const uint8_t *der,
			    size_t len)
{
	struct hsm_key_spec spec = fw_new_key_spec(r, k, HSM_ORIGIN_IMPORTED);
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *pk = NULL;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	if (p8 && p == der + len)
		pk = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);	/* cleanses the key it held */
	if (!pk)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_new_key_begin(r, k);
	if (st) {
		EVP_PKEY_free(pk);
		return st;
	}
	ret = hsm_vault_import_pkey(r->fw->vault, &spec, pk, &id);
	EVP_PKEY_free(pk);
	if (ret) {
		st = fw_status_import(ret);
		id = 0;
	}
	return fw_new_key_done(r, k, id, st);
}

uint32_t fw_svc_rsa_unwrap(struct fw_req *r)
{
	struct fw_unwrap_job c = { .j.run = fw_unwrap_run };
	struct fw_new_key k = { 0 };
	uint16_t id = 0;
	uint8_t hash = 0;
	struct fw_field f[8] = {
		{ AZIHSM_OPS_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_OPS_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_UNWRAP_F_IN, FW_BYTES, false, &c.in, NULL },
		{ AZIHSM_UNWRAP_F_OAEP_LABEL, FW_BYTES, true, &c.label, NULL },
	};
	uint32_t st;

	fw_new_key_fields(f + 4, &k);
	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_hash_valid(hash) || !c.in.len || c.label.len > AZIHSM_KDF_LABEL_MAX)
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	st = fw_new_key_check(r, &k);
	if (st)
		return st;
	c.out = malloc(c.in.len);
	if (!c.out)
		return AZIHSM_STATUS_INTERNAL;
	st = fw_use_key(r, id, HSM_USAGE_UNWRAP, &c.j);
	if (!st) {
		if (hsm_key_type_asymmetric((enum hsm_key_type)k.type))
			st = fw_new_pkey(r, &k, c.out, c.len);
		else
			st = fw_new_secret_key(r, &k, HSM_ORIGIN_IMPORTED, c.out, c.len);
		if (!st)
			r->fips_approved = c.j.fips;
	}
	OPENSSL_clear_free(c.out, c.in.len);
	return st;
}
