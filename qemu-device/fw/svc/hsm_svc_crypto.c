// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware crypto-API services: Hash 4021 (SHA-2 and HMAC,
 * resumable), RsaModExp 1031 (raw private RSA with a vault key),
 * RsaPublic 4022 (raw public RSA with a given key) and EccVerify 4023
 * (ECDSA with a given point). Request and response maps:
 * include/azihsm/msg.h.
 *
 * Classes: a plain Hash INFO; HMAC, RsaModExp USE_KEY with a key the
 * session sees (HMAC: SIGN usage; RsaModExp: SIGN or DECRYPT usage, as
 * x^d mod n is both), and only in the kernel session (issue 9: officer and
 * user sessions get WRONG_ROLE; a keyed Hash step returns the inner
 * chaining value, which with the unpadded raw RSA private operation is
 * for the kernel crypto API's own keys, never a partition key's service);
 * RsaPublic and EccVerify USE_KEY (no secret in them,
 * but they are operations, not information). FIPS flags: SHA-2 approved;
 * HMAC approved with keys of 112 bits or more; raw RSA never (the padding
 * is the host's); ECDSA verification approved for digests of SHA-2 sizes
 * (28, 32, 48, 64 bytes).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "hsm_fw_int.h"
#include "hsm_hash.h"
#include "hsm_ops.h"

#define FW_RSA_MAX_BYTES	512	/* RSA-4096 */
#define FW_RSAPUB_MIN_BITS	512
#define FW_RSAPUB_MAX_BITS	4096
#define FW_RSAPUB_DER_MAX	1024
#define FW_ECC_DIGEST_MAX	64

static bool fw_hash_ok(uint8_t hash)
{
	return hash >= AZIHSM_HASH_SHA256 && hash <= AZIHSM_HASH_SHA512;
}

/* ---- Hash ------------------------------------------------------------ */

struct fw_hash_ctx {
	const struct fw_req *r;
	enum hsm_hash hash;
	struct fw_bytes state, data;
	bool has_state, final;
	uint64_t done;
	uint8_t out[HSM_HASH_STATE_MAX];
	size_t out_len;
	bool fips;
	uint32_t st;
};

static enum hsm_hash fw_hmac_hash(enum hsm_key_type t)
{
	switch (t) {
	case HSM_KEY_HMAC_SHA256:
		return HSM_HASH_SHA256;
	case HSM_KEY_HMAC_SHA384:
		return HSM_HASH_SHA384;
	case HSM_KEY_HMAC_SHA512:
		return HSM_HASH_SHA512;
	default:
		return HSM_HASH_NONE;
	}
}

static uint32_t fw_hash_run(struct fw_hash_ctx *c, const uint8_t *key, size_t key_len)
{
	int st = hsm_hash_step(c->hash, key, key_len, c->has_state ? c->state.p : NULL,
			       c->state.len, c->done, c->data.p, c->data.len, c->final, c->out,
			       &c->out_len);

	return fw_status_ops(st);
}

static void fw_hmac_fn(const struct hsm_key_ref *key, void *ctx)
{
	struct fw_hash_ctx *c = ctx;
	size_t min = key->origin & HSM_ORIGIN_KERNEL ? 1 : HSM_HMAC_KEY_MIN;

	c->st = fw_use_key_ref(c->r, key, HSM_USAGE_SIGN);
	if (c->st)
		return;
	if (fw_hmac_hash(key->type) != c->hash || !key->secret || key->secret_len < min) {
		c->st = AZIHSM_STATUS_KEY_TYPE;
		return;
	}
	c->st = fw_hash_run(c, key->secret, key->secret_len);
	c->fips = key->secret_len >= HSM_HMAC_KEY_FIPS_MIN;
}

uint32_t fw_svc_hash(struct fw_req *r)
{
	struct fw_hash_ctx c = { .r = r, .st = AZIHSM_STATUS_INTERNAL };
	bool has_key = false, has_done = false;
	uint8_t hash = 0;
	uint16_t id = 0;
	const struct fw_field f[] = {
		{ AZIHSM_HASH_F_HASH, FW_U8, false, &hash, NULL },
		{ AZIHSM_HASH_F_KEY_ID, FW_U16, true, &id, &has_key },
		{ AZIHSM_HASH_F_STATE, FW_BYTES, true, &c.state, &c.has_state },
		{ AZIHSM_HASH_F_DATA, FW_BYTES, false, &c.data, NULL },
		{ AZIHSM_HASH_F_FINAL, FW_BOOL, false, &c.final, NULL },
		{ AZIHSM_HASH_F_DONE, FW_U64, true, &c.done, &has_done },
	};
	size_t bs;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_hash_ok(hash) || (has_key && !fw_key_id_valid(id)) || has_done != c.has_state)
		return AZIHSM_STATUS_INVALID_ARG;
	c.hash = (enum hsm_hash)hash;
	bs = hsm_hash_block(c.hash);
	if ((c.has_state && (c.state.len != hsm_hash_state_size(c.hash) || c.done % bs)) ||
	    (!c.final && c.data.len % bs))
		return AZIHSM_STATUS_INVALID_ARG;
	/*
	 * issue 9: the keyed step's result is a raw inner HMAC state: the
	 * kernel session's only, refused before any key is looked up.
	 */
	if (has_key && !r->kernel)
		return AZIHSM_STATUS_WRONG_ROLE;
	/* A key of another session is not found, whatever its usage. */
	st = has_key ? fw_use_key_check(r, id, HSM_USAGE_SIGN, NULL) : fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	if (has_key) {
		ret = hsm_vault_with_key(r->fw->vault, id, HSM_USAGE_SIGN, fw_hmac_fn, &c);
		st = ret ? fw_status_vault(ret) : c.st;
	} else {
		st = fw_hash_run(&c, NULL, 0);
		c.fips = true;
	}
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_HASH_F_OUT);
		mbor_enc_bytes(r->e, c.out, c.out_len);
		r->fips_approved = c.fips;
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return st;
}

/* ---- RsaModExp ------------------------------------------------------- */

struct fw_modexp_ctx {
	const struct fw_req *r;
	struct fw_bytes in;
	uint8_t out[FW_RSA_MAX_BYTES];
	size_t len;
	uint32_t need;
	uint32_t st;
};

static void fw_modexp_fn(const struct hsm_key_ref *key, void *ctx)
{
	struct fw_modexp_ctx *c = ctx;
	bool fips;

	c->st = fw_use_key_ref(c->r, key, c->need);
	if (c->st)
		return;
	c->st = fw_status_ops(hsm_ops_rsa_private(key, c->in.p, c->in.len, c->out,
						  sizeof(c->out), &c->len, &fips));
}

uint32_t fw_svc_rsa_mod_exp(struct fw_req *r)
{
	struct fw_modexp_ctx c = { .r = r, .st = AZIHSM_STATUS_INTERNAL };
	uint16_t id = 0;
	const struct fw_field f[] = {
		{ AZIHSM_MODEXP_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_MODEXP_F_IN, FW_BYTES, false, &c.in, NULL },
	};
	struct hsm_key_attr attr;
	uint32_t st, need;
	int ret;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_key_id_valid(id) || !c.in.len || c.in.len > FW_RSA_MAX_BYTES)
		return AZIHSM_STATUS_INVALID_ARG;
	/*
	 * issue 9: raw x^d mod n (no padding) is the kernel session's only:
	 * its class, RAW_KEY, is checked by the dispatcher (hsm_fw.c).
	 */
	/* Class and visibility first (no usage yet: either one serves). */
	st = fw_use_key_check(r, id, 0, &attr);
	if (st)
		return st;
	/* x^d mod n serves both decryption and signing: either usage. */
	need = attr.usage & HSM_USAGE_DECRYPT ? HSM_USAGE_DECRYPT : HSM_USAGE_SIGN;
	st = fw_use_key_check(r, id, need, NULL);
	if (st)
		return st;
	c.need = need;
	ret = hsm_vault_with_key(r->fw->vault, id, need, fw_modexp_fn, &c);
	st = ret ? fw_status_vault(ret) : c.st;
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_MODEXP_F_OUT);
		mbor_enc_bytes(r->e, c.out, c.len);
		r->fips_approved = false;
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return st;
}

/* ---- RsaPublic ------------------------------------------------------- */

uint32_t fw_svc_rsa_public(struct fw_req *r)
{
	struct fw_bytes der = { 0 }, in = { 0 };
	const struct fw_field f[] = {
		{ AZIHSM_RSAPUB_F_KEY, FW_BYTES, false, &der, NULL },
		{ AZIHSM_RSAPUB_F_IN, FW_BYTES, false, &in, NULL },
	};
	uint8_t x[FW_RSA_MAX_BYTES], out[FW_RSA_MAX_BYTES];
	struct hsm_key_ref key = { .type = HSM_KEY_RSA2048 };
	const unsigned char *p;
	size_t modlen, len = 0;
	EVP_PKEY *pk;
	uint32_t st;
	bool fips;
	int bits;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!der.len || der.len > FW_RSAPUB_DER_MAX || !in.len)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_check(r, HSM_OP_USE_KEY);
	if (st)
		return st;
	p = der.p;
	pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)der.len);
	if (!pk)
		return AZIHSM_STATUS_INVALID_ARG;
	bits = EVP_PKEY_get_bits(pk);
	modlen = (size_t)EVP_PKEY_get_size(pk);
	if (p != der.p + der.len || bits < FW_RSAPUB_MIN_BITS || bits > FW_RSAPUB_MAX_BITS ||
	    modlen > sizeof(x) || in.len > modlen) {
		EVP_PKEY_free(pk);
		return AZIHSM_STATUS_INVALID_ARG;
	}
	/* The input as a number of the modulus size. */
	memset(x, 0, modlen - in.len);
	memcpy(x + modlen - in.len, in.p, in.len);
	/* A key reference to the given public key, for hsm_ops' raw RSA. */
	key.pkey = pk;
	st = fw_status_ops(hsm_ops_rsa_public(&key, x, modlen, out, sizeof(out), &len, &fips));
	EVP_PKEY_free(pk);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_RSAPUB_F_OUT);
		mbor_enc_bytes(r->e, out, len);
		r->fips_approved = false;
	}
	return st;
}

/* ---- EccVerify ------------------------------------------------------- */

/* The P-256/384/521 public key with point @pt, or NULL if it is not one. */
static EVP_PKEY *fw_ec_point_key(uint8_t curve, const uint8_t *pt, size_t len)
{
	const char *group;
	size_t field;
	OSSL_PARAM_BLD *b;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	switch (curve) {
	case AZIHSM_KEY_EC_P256:
		group = "prime256v1";
		field = 32;
		break;
	case AZIHSM_KEY_EC_P384:
		group = "secp384r1";
		field = 48;
		break;
	case AZIHSM_KEY_EC_P521:
		group = "secp521r1";
		field = 66;
		break;
	default:
		return NULL;
	}
	/* Uncompressed only: 0x04 || X || Y. */
	if (len != 1 + 2 * field || pt[0] != 0x04)
		return NULL;
	b = OSSL_PARAM_BLD_new();
	if (!b)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, len) == 1)
		params = OSSL_PARAM_BLD_to_param(b);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1) {
		EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

		/* On the curve, not the point at infinity, of the right order. */
		if (!chk || EVP_PKEY_public_check(chk) != 1) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		EVP_PKEY_CTX_free(chk);
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

uint32_t fw_svc_ecc_verify(struct fw_req *r)
{
	struct fw_bytes point = { 0 }, digest = { 0 }, sig = { 0 };
	uint8_t curve = 0;
	const struct fw_field f[] = {
		{ AZIHSM_ECCVER_F_CURVE, FW_U8, false, &curve, NULL },
		{ AZIHSM_ECCVER_F_POINT, FW_BYTES, false, &point, NULL },
		{ AZIHSM_ECCVER_F_DIGEST, FW_BYTES, false, &digest, NULL },
		{ AZIHSM_ECCVER_F_SIG, FW_BYTES, false, &sig, NULL },
	};
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk;
	bool valid = false;
	uint32_t st;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!digest.len || digest.len > FW_ECC_DIGEST_MAX || !point.len)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_check(r, HSM_OP_USE_KEY);
	if (st)
		return st;
	pk = fw_ec_point_key(curve, point.p, point.len);
	if (!pk)
		return AZIHSM_STATUS_INVALID_ARG;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!ctx || EVP_PKEY_verify_init(ctx) != 1) {
		st = AZIHSM_STATUS_INTERNAL;
	} else {
		/* 1 valid; 0 wrong; < 0 a malformed signature: not valid either. */
		valid = sig.len && EVP_PKEY_verify(ctx, sig.p, sig.len, digest.p, digest.len) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_ECCVER_F_VALID);
		mbor_enc_bool(r->e, valid);
		r->fips_approved = digest.len == 28 || digest.len == 32 || digest.len == 48 ||
				   digest.len == 64;
	}
	return st;
}
