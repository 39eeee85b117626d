// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cryptographic operations on key material borrowed from the vault:
 * ECDSA, RSA PKCS#1 v1.5 / PSS signatures, RSA-OAEP, raw RSA, ECDH,
 * AES-CBC/GCM/XTS/KWP, HMAC, HKDF, SP 800-108 counter KBKDF and the
 * CKM_RSA_AES_KEY_WRAP unwrap. Each function checks the key type, the
 * parameters and the output capacity before doing any work, and cleanses
 * every intermediate secret it holds. OpenSSL 3 EVP only.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm_ops.h"

#define RSA_MAX_BYTES	512	/* RSA-4096 */

static const char *const ops_errs[] = {
	[HSM_OPS_OK] = "ok",
	[HSM_OPS_INVALID_ARG] = "invalid argument",
	[HSM_OPS_WRONG_KEY_TYPE] = "wrong key type",
	[HSM_OPS_BAD_HASH] = "unsupported hash",
	[HSM_OPS_BAD_DIGEST_LEN] = "digest length does not match the hash",
	[HSM_OPS_BAD_PADDING_MODE] = "unknown padding mode",
	[HSM_OPS_BAD_LENGTH] = "data length not allowed",
	[HSM_OPS_BAD_IV] = "IV length not allowed",
	[HSM_OPS_BUFFER_SMALL] = "output buffer too small",
	[HSM_OPS_INPUT_RANGE] = "input not below the modulus",
	[HSM_OPS_DECRYPT_FAILED] = "decryption failed",
	[HSM_OPS_BAD_TAG] = "authentication tag mismatch",
	[HSM_OPS_UNWRAP_FAILED] = "unwrap integrity check failed",
	[HSM_OPS_BAD_PEER] = "bad peer public key",
	[HSM_OPS_PEER_CURVE] = "peer key on another curve",
	[HSM_OPS_CRYPTO] = "crypto library failure",
	[HSM_OPS_NOMEM] = "out of memory",
};

const char *hsm_ops_strerror(int status)
{
	if (status < 0 || (size_t)status >= sizeof(ops_errs) / sizeof(ops_errs[0]) ||
	    !ops_errs[status])
		return "unknown status";
	return ops_errs[status];
}

size_t hsm_hash_size(enum hsm_hash hash)
{
	switch (hash) {
	case HSM_HASH_SHA256:
		return 32;
	case HSM_HASH_SHA384:
		return 48;
	case HSM_HASH_SHA512:
		return 64;
	default:
		return 0;
	}
}

static const char *hash_name(enum hsm_hash hash)
{
	switch (hash) {
	case HSM_HASH_SHA256:
		return "SHA256";
	case HSM_HASH_SHA384:
		return "SHA384";
	case HSM_HASH_SHA512:
		return "SHA512";
	default:
		return NULL;
	}
}

static const EVP_MD *hash_md(enum hsm_hash hash)
{
	switch (hash) {
	case HSM_HASH_SHA256:
		return EVP_sha256();
	case HSM_HASH_SHA384:
		return EVP_sha384();
	case HSM_HASH_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static bool key_is_ec(const struct hsm_key_ref *key)
{
	return (key->type == HSM_KEY_EC_P256 || key->type == HSM_KEY_EC_P384 ||
		key->type == HSM_KEY_EC_P521) && key->pkey && EVP_PKEY_is_a(key->pkey, "EC");
}

static bool key_is_rsa(const struct hsm_key_ref *key)
{
	return (key->type == HSM_KEY_RSA2048 || key->type == HSM_KEY_RSA3072 ||
		key->type == HSM_KEY_RSA4096) && key->pkey && EVP_PKEY_is_a(key->pkey, "RSA");
}

static bool key_is_aes(const struct hsm_key_ref *key)
{
	size_t want;

	switch (key->type) {
	case HSM_KEY_AES128:
		want = 16;
		break;
	case HSM_KEY_AES192:
		want = 24;
		break;
	case HSM_KEY_AES256:
		want = 32;
		break;
	default:
		return false;
	}
	return key->secret && key->secret_len == want;
}

static bool key_is_hmac(const struct hsm_key_ref *key)
{
	size_t min = key->origin & HSM_ORIGIN_KERNEL ? 1 : HSM_HMAC_KEY_MIN;

	return (key->type == HSM_KEY_HMAC_SHA256 || key->type == HSM_KEY_HMAC_SHA384 ||
		key->type == HSM_KEY_HMAC_SHA512) && key->secret &&
	       key->secret_len >= min && key->secret_len <= HSM_HMAC_KEY_MAX;
}

/* An AES key GCM accepts: AES256_GCM or a plain AES-128/192/256 key. */
static bool key_is_gcm(const struct hsm_key_ref *key)
{
	if (key->type == HSM_KEY_AES256_GCM)
		return key->secret && key->secret_len == 32;
	return key_is_aes(key);
}

/* ---- asymmetric ---------------------------------------------------- */

int hsm_ops_ecdsa_sign(const struct hsm_key_ref *key, enum hsm_hash hash,
		       const uint8_t *digest, size_t dlen, uint8_t *sig, size_t cap,
		       size_t *len, bool *fips_approved)
{
	EVP_PKEY_CTX *ctx;
	size_t need, n;
	int st = HSM_OPS_CRYPTO;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !digest || !len)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_ec(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!hash_md(hash))
		return HSM_OPS_BAD_HASH;
	if (dlen != hsm_hash_size(hash))
		return HSM_OPS_BAD_DIGEST_LEN;
	need = (size_t)EVP_PKEY_get_size(key->pkey);
	if (!sig || cap < need) {
		*len = need;
		return HSM_OPS_BUFFER_SMALL;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (!ctx)
		return HSM_OPS_NOMEM;
	n = cap;
	if (EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, hash_md(hash)) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &n, digest, dlen) == 1) {
		*len = n;
		*fips_approved = true;
		st = HSM_OPS_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	return st;
}

int hsm_ops_rsa_sign(const struct hsm_key_ref *key, enum hsm_rsa_sig_pad pad,
		     enum hsm_hash hash, const uint8_t *digest, size_t dlen, uint8_t *sig,
		     size_t cap, size_t *len, bool *fips_approved)
{
	EVP_PKEY_CTX *ctx;
	size_t need, n;
	int st = HSM_OPS_CRYPTO;
	int ok;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !digest || !len)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_rsa(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (pad != HSM_RSA_PKCS1 && pad != HSM_RSA_PSS)
		return HSM_OPS_BAD_PADDING_MODE;
	if (!hash_md(hash))
		return HSM_OPS_BAD_HASH;
	if (dlen != hsm_hash_size(hash))
		return HSM_OPS_BAD_DIGEST_LEN;
	need = (size_t)EVP_PKEY_get_size(key->pkey);
	if (!sig || cap < need) {
		*len = need;
		return HSM_OPS_BUFFER_SMALL;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (!ctx)
		return HSM_OPS_NOMEM;
	ok = EVP_PKEY_sign_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, pad == HSM_RSA_PSS ? RSA_PKCS1_PSS_PADDING :
							      RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_signature_md(ctx, hash_md(hash)) == 1;
	if (ok && pad == HSM_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, hash_md(hash)) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
	n = cap;
	if (ok && EVP_PKEY_sign(ctx, sig, &n, digest, dlen) == 1) {
		*len = n;
		*fips_approved = true;
		st = HSM_OPS_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	return st;
}

/* OAEP decryption into @tmp (RSA_MAX_BYTES); *n = plaintext length. */
int hsm_ops_verify(const struct hsm_key_ref *key, enum hsm_rsa_sig_pad pad,
		   enum hsm_hash hash, const uint8_t *digest, size_t dlen, const uint8_t *sig,
		   size_t sig_len, bool *valid, bool *fips_approved)
{
	EVP_PKEY_CTX *ctx;
	bool rsa;
	int st = HSM_OPS_CRYPTO;
	int ret;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !digest || !valid || (sig_len && !sig))
		return HSM_OPS_INVALID_ARG;
	*valid = false;
	rsa = key_is_rsa(key);
	if (!rsa && !key_is_ec(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (rsa && pad != HSM_RSA_PKCS1 && pad != HSM_RSA_PSS)
		return HSM_OPS_BAD_PADDING_MODE;
	if (!hash_md(hash))
		return HSM_OPS_BAD_HASH;
	if (dlen != hsm_hash_size(hash))
		return HSM_OPS_BAD_DIGEST_LEN;
	if (!sig_len || sig_len > RSA_MAX_BYTES)
		return HSM_OPS_BAD_LENGTH;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (!ctx)
		return HSM_OPS_NOMEM;
	if (EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, hash_md(hash)) == 1 &&
	    (!rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, pad == HSM_RSA_PSS ?
						  RSA_PKCS1_PSS_PADDING :
						  RSA_PKCS1_PADDING) == 1) &&
	    (!rsa || pad != HSM_RSA_PSS ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) == 1)) {
		/* 1 verified, 0 or < 0 a signature that does not verify or parse */
		ret = EVP_PKEY_verify(ctx, sig, sig_len, digest, dlen);
		*valid = ret == 1;
		*fips_approved = true;
		st = HSM_OPS_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return st;
}

static int oaep_decrypt(EVP_PKEY *pkey, enum hsm_hash hash, const uint8_t *label,
			size_t label_len, const uint8_t *in, size_t inlen, uint8_t *tmp,
			size_t *n)
{
	EVP_PKEY_CTX *ctx;
	uint8_t *lab = NULL;
	int st = HSM_OPS_DECRYPT_FAILED;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!ctx)
		return HSM_OPS_NOMEM;
	if (label_len) {
		lab = OPENSSL_memdup(label, label_len);
		if (!lab) {
			EVP_PKEY_CTX_free(ctx);
			return HSM_OPS_NOMEM;
		}
	}
	if (EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, hash_md(hash)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, hash_md(hash)) != 1) {
		st = HSM_OPS_CRYPTO;
		goto out;
	}
	if (lab) {
		/* ownership of @lab passes to the context */
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab, (int)label_len) != 1) {
			st = HSM_OPS_CRYPTO;
			goto out;
		}
		lab = NULL;
	}
	*n = RSA_MAX_BYTES;
	if (EVP_PKEY_decrypt(ctx, tmp, n, in, inlen) == 1)
		st = HSM_OPS_OK;
out:
	OPENSSL_free(lab);
	EVP_PKEY_CTX_free(ctx);
	return st;
}

int hsm_ops_rsa_oaep_decrypt(const struct hsm_key_ref *key, enum hsm_hash hash,
			     const uint8_t *label, size_t label_len, const uint8_t *in,
			     size_t inlen, uint8_t *out, size_t cap, size_t *len,
			     bool *fips_approved)
{
	uint8_t tmp[RSA_MAX_BYTES];
	size_t n = 0;
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !in || !len || (label_len && !label) || label_len > INT32_MAX)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_rsa(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!hash_md(hash))
		return HSM_OPS_BAD_HASH;
	if (inlen != (size_t)EVP_PKEY_get_size(key->pkey))
		return HSM_OPS_BAD_LENGTH;
	st = oaep_decrypt(key->pkey, hash, label, label_len, in, inlen, tmp, &n);
	if (st == HSM_OPS_OK) {
		if (!out || cap < n) {
			*len = n;
			st = HSM_OPS_BUFFER_SMALL;
		} else {
			memcpy(out, tmp, n);
			*len = n;
			*fips_approved = true;
		}
	}
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return st;
}

static int rsa_raw(const struct hsm_key_ref *key, bool priv, const uint8_t *in,
		   size_t inlen, uint8_t *out, size_t cap, size_t *len, bool *fips_approved)
{
	uint8_t nbuf[RSA_MAX_BYTES];
	EVP_PKEY_CTX *ctx;
	BIGNUM *n = NULL;
	size_t modlen, olen;
	int st = HSM_OPS_CRYPTO;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;	/* raw RSA: the padding is the caller's */
	if (!key || !in || !len)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_rsa(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	modlen = (size_t)EVP_PKEY_get_size(key->pkey);
	if (modlen > sizeof(nbuf))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (inlen != modlen)
		return HSM_OPS_BAD_LENGTH;
	if (!EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &n))
		return HSM_OPS_CRYPTO;
	if (BN_bn2binpad(n, nbuf, (int)modlen) != (int)modlen) {
		BN_free(n);
		return HSM_OPS_CRYPTO;
	}
	BN_free(n);
	/* equal-length big-endian strings: memcmp orders them as numbers */
	if (memcmp(in, nbuf, modlen) >= 0)
		return HSM_OPS_INPUT_RANGE;
	if (!out || cap < modlen) {
		*len = modlen;
		return HSM_OPS_BUFFER_SMALL;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (!ctx)
		return HSM_OPS_NOMEM;
	olen = cap;
	if (priv) {
		if (EVP_PKEY_decrypt_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
		    EVP_PKEY_decrypt(ctx, out, &olen, in, inlen) == 1)
			st = HSM_OPS_OK;
	} else {
		if (EVP_PKEY_encrypt_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
		    EVP_PKEY_encrypt(ctx, out, &olen, in, inlen) == 1)
			st = HSM_OPS_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	if (st == HSM_OPS_OK && olen != modlen) {
		OPENSSL_cleanse(out, olen);
		st = HSM_OPS_CRYPTO;
	}
	if (st == HSM_OPS_OK)
		*len = modlen;
	return st;
}

int hsm_ops_rsa_private(const struct hsm_key_ref *key, const uint8_t *in, size_t inlen,
			uint8_t *out, size_t cap, size_t *len, bool *fips_approved)
{
	return rsa_raw(key, true, in, inlen, out, cap, len, fips_approved);
}

int hsm_ops_rsa_public(const struct hsm_key_ref *key, const uint8_t *in, size_t inlen,
		       uint8_t *out, size_t cap, size_t *len, bool *fips_approved)
{
	return rsa_raw(key, false, in, inlen, out, cap, len, fips_approved);
}

int hsm_ops_ecdh(const struct hsm_key_ref *key, const uint8_t *peer, size_t peer_len,
		 uint8_t *out, size_t cap, size_t *len, bool *fips_approved)
{
	char ours[64], theirs[64];
	const unsigned char *p = peer;
	EVP_PKEY_CTX *pctx = NULL, *dctx = NULL;
	EVP_PKEY *pk = NULL;
	size_t need = 0, n;
	int st = HSM_OPS_CRYPTO;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !peer || !len || !peer_len || peer_len > 4096)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_ec(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!EVP_PKEY_get_group_name(key->pkey, ours, sizeof(ours), NULL))
		return HSM_OPS_CRYPTO;
	pk = d2i_PUBKEY(NULL, &p, (long)peer_len);
	if (!pk || p != peer + peer_len || !EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_group_name(pk, theirs, sizeof(theirs), NULL)) {
		st = HSM_OPS_BAD_PEER;
		goto out;
	}
	if (strcmp(ours, theirs)) {
		st = HSM_OPS_PEER_CURVE;
		goto out;
	}
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!pctx) {
		st = HSM_OPS_NOMEM;
		goto out;
	}
	/* full public-key validation (SP 800-56A 5.6.2.3.3) */
	if (EVP_PKEY_public_check(pctx) != 1) {
		st = HSM_OPS_BAD_PEER;
		goto out;
	}
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (!dctx) {
		st = HSM_OPS_NOMEM;
		goto out;
	}
	if (EVP_PKEY_derive_init(dctx) != 1)
		goto out;
	if (EVP_PKEY_derive_set_peer_ex(dctx, pk, 1) != 1) {
		st = HSM_OPS_BAD_PEER;
		goto out;
	}
	if (EVP_PKEY_derive(dctx, NULL, &need) != 1)
		goto out;
	if (!out || cap < need) {
		*len = need;
		st = HSM_OPS_BUFFER_SMALL;
		goto out;
	}
	n = cap;
	if (EVP_PKEY_derive(dctx, out, &n) != 1) {
		OPENSSL_cleanse(out, need);
		goto out;
	}
	*len = n;
	*fips_approved = true;
	st = HSM_OPS_OK;
out:
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pk);
	return st;
}

/* ---- AES ----------------------------------------------------------- */

/*
 * One-shot cipher: init with @name/@k/@iv, optional AAD, one update over
 * @in, final. For GCM decrypt @tag_in is set before final; for GCM encrypt
 * @tag_out receives the tag. Returns HSM_OPS_* (final failing: @final_err).
 */
struct cipher_job {
	const char *name;
	const uint8_t *k;
	const uint8_t *iv;
	size_t iv_len;
	bool encrypt;
	bool nopad;
	const uint8_t *aad;
	size_t aad_len;
	const uint8_t *in;
	size_t len;
	uint8_t *out;
	const uint8_t *tag_in;
	uint8_t *tag_out;
	size_t tag_len;		/* GCM: 0 = HSM_GCM_TAG_LEN */
	int final_err;
};

static int cipher_run(const struct cipher_job *j)
{
	OSSL_PARAM params[2];
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *c;
	size_t ivl = j->iv_len, tl = j->tag_len ? j->tag_len : HSM_GCM_TAG_LEN;
	int outl = 0, fl = 0, st = HSM_OPS_CRYPTO;

	c = EVP_CIPHER_fetch(NULL, j->name, NULL);
	if (!c)
		return HSM_OPS_CRYPTO;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx) {
		EVP_CIPHER_free(c);
		return HSM_OPS_NOMEM;
	}
	params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivl);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_CipherInit_ex2(ctx, c, j->k, j->iv, j->encrypt,
			       j->tag_in || j->tag_out ? params : NULL) != 1)
		goto out;
	if (j->nopad && EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	if (j->aad_len && EVP_CipherUpdate(ctx, NULL, &outl, j->aad, (int)j->aad_len) != 1)
		goto out;
	outl = 0;
	if (j->len && EVP_CipherUpdate(ctx, j->out, &outl, j->in, (int)j->len) != 1)
		goto out;
	if (j->tag_in) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
							      (void *)j->tag_in, tl);
		if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
			goto out;
	}
	if (EVP_CipherFinal_ex(ctx, j->out + outl, &fl) != 1) {
		st = j->final_err;
		goto out;
	}
	if ((size_t)outl + (size_t)fl != j->len)
		goto out;
	if (j->tag_out) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
							      j->tag_out, tl);
		if (EVP_CIPHER_CTX_get_params(ctx, params) != 1)
			goto out;
	}
	st = HSM_OPS_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return st;
}

int hsm_ops_aes_cbc(const struct hsm_key_ref *key, bool encrypt, const uint8_t iv[16],
		    const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		    uint8_t iv_out[16], bool *fips_approved)
{
	static const char *const names[] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
	struct cipher_job j = { 0 };
	uint8_t next[HSM_AES_BLOCK];
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !iv || !in)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_aes(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!len || len % HSM_AES_BLOCK || len > HSM_OPS_MAX_DATA)
		return HSM_OPS_BAD_LENGTH;
	if (!out || cap < len)
		return HSM_OPS_BUFFER_SMALL;
	/* decrypting in place overwrites the last ciphertext block */
	if (!encrypt)
		memcpy(next, in + len - HSM_AES_BLOCK, HSM_AES_BLOCK);
	j.name = names[key->secret_len / 8 - 2];
	j.k = key->secret;
	j.iv = iv;
	j.encrypt = encrypt;
	j.nopad = true;
	j.in = in;
	j.len = len;
	j.out = out;
	j.final_err = HSM_OPS_CRYPTO;
	st = cipher_run(&j);
	if (st != HSM_OPS_OK) {
		OPENSSL_cleanse(out, len);
		return st;
	}
	if (encrypt)
		memcpy(next, out + len - HSM_AES_BLOCK, HSM_AES_BLOCK);
	if (iv_out)
		memcpy(iv_out, next, HSM_AES_BLOCK);
	*fips_approved = true;
	return HSM_OPS_OK;
}

int hsm_ops_aes_ecb(const struct hsm_key_ref *key, bool encrypt, const uint8_t *in, size_t len,
		    uint8_t *out, size_t cap, bool *fips_approved)
{
	static const char *const names[] = { "AES-128-ECB", "AES-192-ECB", "AES-256-ECB" };
	struct cipher_job j = { 0 };
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !in)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_aes(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!len || len % HSM_AES_BLOCK || len > HSM_OPS_MAX_DATA)
		return HSM_OPS_BAD_LENGTH;
	if (!out || cap < len)
		return HSM_OPS_BUFFER_SMALL;
	j.name = names[key->secret_len / 8 - 2];
	j.k = key->secret;
	j.encrypt = encrypt;
	j.nopad = true;
	j.in = in;
	j.len = len;
	j.out = out;
	j.final_err = HSM_OPS_CRYPTO;
	st = cipher_run(&j);
	if (st != HSM_OPS_OK) {
		OPENSSL_cleanse(out, len);
		return st;
	}
	*fips_approved = true;
	return HSM_OPS_OK;
}

/* @ctr + @n as 128-bit big-endian numbers, modulo 2^128. */
static void ctr_add(uint8_t ctr[HSM_AES_BLOCK], uint64_t n)
{
	unsigned int carry = 0;
	int i;

	for (i = HSM_AES_BLOCK - 1; i >= 0; i--) {
		unsigned int sum = ctr[i] + (unsigned int)(n & 0xff) + carry;

		ctr[i] = (uint8_t)sum;
		carry = sum >> 8;
		n >>= 8;
	}
}

int hsm_ops_aes_ctr(const struct hsm_key_ref *key, const uint8_t iv[16], const uint8_t *in,
		    size_t len, uint8_t *out, size_t cap, uint8_t iv_out[16],
		    bool *fips_approved)
{
	static const char *const names[] = { "AES-128-CTR", "AES-192-CTR", "AES-256-CTR" };
	struct cipher_job j = { 0 };
	uint8_t next[HSM_AES_BLOCK];
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !iv || !in)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_aes(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!len || len > HSM_OPS_MAX_DATA)
		return HSM_OPS_BAD_LENGTH;
	if (!out || cap < len)
		return HSM_OPS_BUFFER_SMALL;
	memcpy(next, iv, HSM_AES_BLOCK);
	ctr_add(next, (len + HSM_AES_BLOCK - 1) / HSM_AES_BLOCK);
	j.name = names[key->secret_len / 8 - 2];
	j.k = key->secret;
	j.iv = iv;
	j.encrypt = true;
	j.in = in;
	j.len = len;
	j.out = out;
	j.final_err = HSM_OPS_CRYPTO;
	st = cipher_run(&j);
	if (st != HSM_OPS_OK) {
		OPENSSL_cleanse(out, len);
		return st;
	}
	if (iv_out)
		memcpy(iv_out, next, HSM_AES_BLOCK);
	*fips_approved = true;
	return HSM_OPS_OK;
}

static int gcm(const struct hsm_key_ref *key, bool encrypt, const uint8_t *iv, size_t iv_len,
	       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
	       const uint8_t *tag_in, uint8_t *tag_out, size_t tag_len, uint8_t *out,
	       size_t cap, bool *fips_approved)
{
	static const char *const names[] = { "AES-128-GCM", "AES-192-GCM", "AES-256-GCM" };
	struct cipher_job j = { 0 };
	uint8_t dummy[1];
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !iv || (aad_len && !aad) || (len && !in) || (!tag_in && !tag_out))
		return HSM_OPS_INVALID_ARG;
	if (!key_is_gcm(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (iv_len != HSM_GCM_IV_LEN)
		return HSM_OPS_BAD_IV;
	if (tag_len < HSM_GCM_TAG_MIN || tag_len > HSM_GCM_TAG_LEN)
		return HSM_OPS_BAD_LENGTH;
	if (len > HSM_OPS_MAX_DATA || aad_len > HSM_OPS_MAX_DATA)
		return HSM_OPS_BAD_LENGTH;
	if (len && (!out || cap < len))
		return HSM_OPS_BUFFER_SMALL;
	j.name = names[key->secret_len / 8 - 2];
	j.k = key->secret;
	j.iv = iv;
	j.iv_len = iv_len;
	j.tag_len = tag_len;
	j.encrypt = encrypt;
	j.aad = aad;
	j.aad_len = aad_len;
	j.in = in;
	j.len = len;
	j.out = len ? out : dummy;
	j.tag_in = tag_in;
	j.tag_out = tag_out;
	j.final_err = encrypt ? HSM_OPS_CRYPTO : HSM_OPS_BAD_TAG;
	st = cipher_run(&j);
	if (st != HSM_OPS_OK) {
		/* never hand out unauthenticated plaintext */
		if (len)
			OPENSSL_cleanse(out, len);
		if (tag_out)
			OPENSSL_cleanse(tag_out, tag_len);
		return st;
	}
	/* SP 800-38D: tags of 96..128 bits (shorter ones only with limits) */
	*fips_approved = tag_len >= HSM_GCM_TAG_FIPS_MIN;
	return HSM_OPS_OK;
}

int hsm_ops_aes_gcm_encrypt(const struct hsm_key_ref *key, const uint8_t *iv, size_t iv_len,
			    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
			    uint8_t *out, size_t cap, uint8_t tag[16], bool *fips_approved)
{
	return gcm(key, true, iv, iv_len, aad, aad_len, in, len, NULL, tag, HSM_GCM_TAG_LEN,
		   out, cap, fips_approved);
}

int hsm_ops_aes_gcm_encrypt_tag(const struct hsm_key_ref *key, const uint8_t *iv,
				size_t iv_len, const uint8_t *aad, size_t aad_len,
				const uint8_t *in, size_t len, uint8_t *out, size_t cap,
				uint8_t *tag, size_t tag_len, bool *fips_approved)
{
	if (!tag) {
		if (fips_approved)
			*fips_approved = false;
		return HSM_OPS_INVALID_ARG;
	}
	return gcm(key, true, iv, iv_len, aad, aad_len, in, len, NULL, tag, tag_len, out, cap,
		   fips_approved);
}

int hsm_ops_aes_gcm_decrypt_tag(const struct hsm_key_ref *key, const uint8_t *iv,
				size_t iv_len, const uint8_t *aad, size_t aad_len,
				const uint8_t *in, size_t len, const uint8_t *tag,
				size_t tag_len, uint8_t *out, size_t cap, bool *fips_approved)
{
	if (!tag) {
		if (fips_approved)
			*fips_approved = false;
		return HSM_OPS_INVALID_ARG;
	}
	return gcm(key, false, iv, iv_len, aad, aad_len, in, len, tag, NULL, tag_len, out, cap,
		   fips_approved);
}

int hsm_ops_aes_gcm_decrypt(const struct hsm_key_ref *key, const uint8_t *iv, size_t iv_len,
			    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
			    const uint8_t tag[16], uint8_t *out, size_t cap,
			    bool *fips_approved)
{
	return gcm(key, false, iv, iv_len, aad, aad_len, in, len, tag, NULL, HSM_GCM_TAG_LEN,
		   out, cap, fips_approved);
}

/* Tweak times alpha in GF(2^128), little-endian (IEEE 1619). */
static void xts_mul_alpha(uint8_t t[HSM_AES_BLOCK])
{
	unsigned int i, carry = 0, c;

	for (i = 0; i < HSM_AES_BLOCK; i++) {
		c = t[i] >> 7;
		t[i] = (uint8_t)((t[i] << 1) | carry);
		carry = c;
	}
	if (carry)
		t[0] ^= 0x87;
}

/*
 * t *= alpha^n in GF(2^128), same convention: alpha^n by square and
 * multiply (n <= 2^20 here, so at most 21 squarings), then one product.
 * Only bits of the public alpha^n steer branches; the tweak's bits do not.
 */
static void xts_gf_mul(uint8_t a[HSM_AES_BLOCK], const uint8_t b[HSM_AES_BLOCK])
{
	uint8_t r[HSM_AES_BLOCK] = { 0 }, m, carry;
	unsigned int i, j;

	for (i = 0; i < 8 * HSM_AES_BLOCK; i++) {
		/* r ^= a when bit i of b is set, without branching on a */
		m = (uint8_t)-((b[i / 8] >> (i % 8)) & 1);
		for (j = 0; j < HSM_AES_BLOCK; j++)
			r[j] ^= a[j] & m;
		carry = (uint8_t)-(a[HSM_AES_BLOCK - 1] >> 7);
		for (j = HSM_AES_BLOCK - 1; j > 0; j--)
			a[j] = (uint8_t)((a[j] << 1) | (a[j - 1] >> 7));
		a[0] = (uint8_t)((a[0] << 1) ^ (carry & 0x87));
	}
	memcpy(a, r, HSM_AES_BLOCK);
	OPENSSL_cleanse(r, sizeof(r));
}

static void xts_mul_alpha_pow(uint8_t t[HSM_AES_BLOCK], uint64_t n)
{
	uint8_t p[HSM_AES_BLOCK] = { 1 }, sq[HSM_AES_BLOCK] = { 2 }, tmp[HSM_AES_BLOCK];

	if (!n)
		return;
	/* p = alpha^n, sq = alpha^(2^k) */
	for (; n; n >>= 1) {
		if (n & 1)
			xts_gf_mul(p, sq);
		if (n > 1) {
			memcpy(tmp, sq, sizeof(tmp));
			xts_gf_mul(sq, tmp);
		}
	}
	xts_gf_mul(t, p);
}

/* One XTS block: out = C(in ^ t) ^ t with @ctx (AES-ECB, no padding). */
static int xts_block(EVP_CIPHER_CTX *ctx, const uint8_t t[HSM_AES_BLOCK], const uint8_t *in,
		     uint8_t *out)
{
	uint8_t b[HSM_AES_BLOCK];
	unsigned int i;
	int n = 0;

	for (i = 0; i < HSM_AES_BLOCK; i++)
		b[i] = in[i] ^ t[i];
	if (EVP_CipherUpdate(ctx, b, &n, b, HSM_AES_BLOCK) != 1 || n != HSM_AES_BLOCK) {
		OPENSSL_cleanse(b, sizeof(b));
		return -1;
	}
	for (i = 0; i < HSM_AES_BLOCK; i++)
		out[i] = b[i] ^ t[i];
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

/*
 * XTS built from AES-ECB, for the keys OpenSSL's XTS refuses (equal
 * halves, kernel imports only) and for data starting @start blocks into
 * its data unit (OpenSSL's XTS always starts at block 0): the same IEEE
 * 1619 construction with ciphertext stealing. @klen is one half's size.
 */
static int xts_from_ecb(const uint8_t *k, size_t klen, bool encrypt, const uint8_t tweak[16],
			uint64_t start, const uint8_t *in, size_t len, uint8_t *out)
{
	const EVP_CIPHER *ecb = klen == 32 ? EVP_aes_256_ecb() : EVP_aes_128_ecb();
	EVP_CIPHER_CTX *c1 = EVP_CIPHER_CTX_new(), *c2 = EVP_CIPHER_CTX_new();
	uint8_t t[HSM_AES_BLOCK], t_last[HSM_AES_BLOCK], pp[HSM_AES_BLOCK], cc[HSM_AES_BLOCK];
	size_t full = len / HSM_AES_BLOCK, r = len % HSM_AES_BLOCK, j, plain_blocks;
	int n = 0, st = HSM_OPS_CRYPTO;

	if (!c1 || !c2)
		goto out;
	if (EVP_CipherInit_ex(c1, ecb, NULL, k, NULL, encrypt) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c1, 0) != 1 ||
	    EVP_CipherInit_ex(c2, ecb, NULL, k + klen, NULL, 1) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c2, 0) != 1)
		goto out;
	if (EVP_CipherUpdate(c2, t, &n, tweak, HSM_AES_BLOCK) != 1 || n != HSM_AES_BLOCK)
		goto out;
	xts_mul_alpha_pow(t, start);
	/* With stealing, the last full block is handled with the tail. */
	plain_blocks = r ? full - 1 : full;
	for (j = 0; j < plain_blocks; j++) {
		if (xts_block(c1, t, in + j * HSM_AES_BLOCK, out + j * HSM_AES_BLOCK))
			goto out;
		xts_mul_alpha(t);
	}
	if (r) {
		const uint8_t *last = in + plain_blocks * HSM_AES_BLOCK;
		uint8_t *olast = out + plain_blocks * HSM_AES_BLOCK;

		memcpy(t_last, t, HSM_AES_BLOCK);
		xts_mul_alpha(t_last);
		/* encrypt: block m-1 with T(m-1); decrypt: with T(m) */
		if (xts_block(c1, encrypt ? t : t_last, last, cc))
			goto out;
		memcpy(pp, last + HSM_AES_BLOCK, r);
		memcpy(pp + r, cc + r, HSM_AES_BLOCK - r);
		if (xts_block(c1, encrypt ? t_last : t, pp, olast))
			goto out;
		memcpy(olast + HSM_AES_BLOCK, cc, r);
	}
	st = HSM_OPS_OK;
out:
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(t_last, sizeof(t_last));
	OPENSSL_cleanse(pp, sizeof(pp));
	OPENSSL_cleanse(cc, sizeof(cc));
	EVP_CIPHER_CTX_free(c1);
	EVP_CIPHER_CTX_free(c2);
	return st;
}

int hsm_ops_aes_xts_at(const struct hsm_key_ref *key, bool encrypt, const uint8_t tweak[16],
		       uint64_t start_block, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, bool *fips_approved)
{
	struct cipher_job j = { 0 };
	size_t klen;
	bool equal;
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !tweak || !in)
		return HSM_OPS_INVALID_ARG;
	klen = key->type == HSM_KEY_AES256_XTS ? 64 : key->type == HSM_KEY_AES128_XTS ? 32 : 0;
	if (!klen || !key->secret || key->secret_len != klen)
		return HSM_OPS_WRONG_KEY_TYPE;
	/*
	 * Equal halves defeat the mode (IEEE 1619, FIPS 140-3 IG C.I: check
	 * before use). The vault refuses such keys but for the kernel
	 * session's imports (the crypto API's self-tests use them): those
	 * work, never approved. This guards every caller.
	 */
	equal = !CRYPTO_memcmp(key->secret, key->secret + klen / 2, klen / 2);
	if (equal && !(key->origin & HSM_ORIGIN_KERNEL))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (len < HSM_AES_BLOCK || len > HSM_OPS_MAX_DATA ||
	    start_block > HSM_XTS_UNIT_MAX / HSM_AES_BLOCK ||
	    start_block * HSM_AES_BLOCK + len > HSM_XTS_UNIT_MAX)
		return HSM_OPS_BAD_LENGTH;
	if (!out || cap < len)
		return HSM_OPS_BUFFER_SMALL;
	if (equal || start_block) {
		/*
		 * OpenSSL's XTS refuses equal halves and always starts at
		 * block 0: the same mode from AES-ECB. With distinct halves
		 * the output is, bit for bit, the matching slice of XTS-AES
		 * of the whole unit (SP 800-38E, unit <= 2^20 blocks), so it
		 * stays approved.
		 */
		st = xts_from_ecb(key->secret, klen / 2, encrypt, tweak, start_block, in, len, out);
		if (st != HSM_OPS_OK) {
			OPENSSL_cleanse(out, len);
			return st;
		}
		*fips_approved = !equal;
		return HSM_OPS_OK;
	}
	j.name = klen == 64 ? "AES-256-XTS" : "AES-128-XTS";
	j.k = key->secret;
	j.iv = tweak;
	j.encrypt = encrypt;
	j.in = in;
	j.len = len;
	j.out = out;
	j.final_err = HSM_OPS_CRYPTO;
	st = cipher_run(&j);
	if (st != HSM_OPS_OK) {
		OPENSSL_cleanse(out, len);
		return st;
	}
	*fips_approved = true;
	return HSM_OPS_OK;
}

int hsm_ops_aes_xts(const struct hsm_key_ref *key, bool encrypt, const uint8_t tweak[16],
		    const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		    bool *fips_approved)
{
	return hsm_ops_aes_xts_at(key, encrypt, tweak, 0, in, len, out, cap, fips_approved);
}

/* KWP with a raw AES key; unwrap output goes through a cleansed buffer. */
static int kwp(const uint8_t *k, size_t klen, bool wrap, const uint8_t *in, size_t len,
	       uint8_t *out, size_t cap, size_t *olen)
{
	static const char *const names[] = {
		"AES-128-WRAP-PAD", "AES-192-WRAP-PAD", "AES-256-WRAP-PAD"
	};
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *c;
	uint8_t *buf;
	size_t need, bufsz;
	int outl = 0, fl = 0, st;

	if (wrap) {
		if (!len || len > HSM_OPS_MAX_DATA)
			return HSM_OPS_BAD_LENGTH;
		need = (len + 7) / 8 * 8 + 8;
		if (!out || cap < need) {
			*olen = need;
			return HSM_OPS_BUFFER_SMALL;
		}
	} else {
		if (len < 16 || len % 8 || len > HSM_OPS_MAX_DATA + 16)
			return HSM_OPS_BAD_LENGTH;
	}
	/* room for the cipher's view of the output (it may write whole blocks) */
	bufsz = len + 16;
	buf = OPENSSL_malloc(bufsz);
	if (!buf)
		return HSM_OPS_NOMEM;
	c = EVP_CIPHER_fetch(NULL, names[klen / 8 - 2], NULL);
	ctx = EVP_CIPHER_CTX_new();
	st = HSM_OPS_CRYPTO;
	if (!c || !ctx)
		goto out;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex2(ctx, c, k, NULL, wrap, NULL) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, buf, &outl, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, buf + outl, &fl) != 1) {
		st = wrap ? HSM_OPS_CRYPTO : HSM_OPS_UNWRAP_FAILED;
		goto out;
	}
	need = (size_t)outl + (size_t)fl;
	if (need > bufsz)
		goto out;
	if (!out || cap < need) {
		*olen = need;
		st = HSM_OPS_BUFFER_SMALL;
		goto out;
	}
	memcpy(out, buf, need);
	*olen = need;
	st = HSM_OPS_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	OPENSSL_clear_free(buf, bufsz);
	return st;
}

/* AES-KWP with a vault AES key: the checks both directions share. */
static int kwp_with_key(const struct hsm_key_ref *key, bool wrap, const uint8_t *in,
			size_t len, uint8_t *out, size_t cap, size_t *olen, bool *fips_approved)
{
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !in || !olen)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_aes(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	st = kwp(key->secret, key->secret_len, wrap, in, len, out, cap, olen);
	*fips_approved = st == HSM_OPS_OK;
	return st;
}

int hsm_ops_aes_kwp_wrap(const struct hsm_key_ref *key, const uint8_t *in, size_t len,
			 uint8_t *out, size_t cap, size_t *olen, bool *fips_approved)
{
	return kwp_with_key(key, true, in, len, out, cap, olen, fips_approved);
}

int hsm_ops_aes_kwp_unwrap(const struct hsm_key_ref *key, const uint8_t *in, size_t len,
			   uint8_t *out, size_t cap, size_t *olen, bool *fips_approved)
{
	return kwp_with_key(key, false, in, len, out, cap, olen, fips_approved);
}

/* ---- MAC and key derivation ----------------------------------------- */

int hsm_ops_hmac(const struct hsm_key_ref *key, const uint8_t *data, size_t len,
		 uint8_t *mac, size_t cap, size_t *mac_len, bool *fips_approved)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *m;
	enum hsm_hash hash;
	size_t need, n = 0;
	int st = HSM_OPS_CRYPTO;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || (len && !data) || !mac_len)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_hmac(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (len > HSM_OPS_MAX_DATA)
		return HSM_OPS_BAD_LENGTH;
	hash = key->type == HSM_KEY_HMAC_SHA256 ? HSM_HASH_SHA256 :
	       key->type == HSM_KEY_HMAC_SHA384 ? HSM_HASH_SHA384 : HSM_HASH_SHA512;
	need = hsm_hash_size(hash);
	if (!mac || cap < need) {
		*mac_len = need;
		return HSM_OPS_BUFFER_SMALL;
	}
	m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!m)
		return HSM_OPS_CRYPTO;
	ctx = EVP_MAC_CTX_new(m);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)hash_name(hash), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key->secret, key->secret_len, params) == 1 &&
	    (!len || EVP_MAC_update(ctx, data, len) == 1) &&
	    EVP_MAC_final(ctx, mac, &n, cap) == 1 && n == need) {
		*mac_len = n;
		/* SP 800-131A: HMAC keys of at least 112 bits */
		*fips_approved = key->secret_len >= HSM_HMAC_KEY_FIPS_MIN;
		st = HSM_OPS_OK;
	}
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return st;
}

static int kdf_run(const char *alg, OSSL_PARAM *params, uint8_t *out, size_t out_len)
{
	EVP_KDF_CTX *ctx;
	EVP_KDF *kdf;
	int st = HSM_OPS_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, alg, NULL);
	if (!kdf)
		return HSM_OPS_CRYPTO;
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1)
		st = HSM_OPS_OK;
	else
		OPENSSL_cleanse(out, out_len);
	EVP_KDF_CTX_free(ctx);	/* cleanses the key copy it held */
	EVP_KDF_free(kdf);
	return st;
}

/*
 * HKDF (@kbkdf false: @a salt, @b info) or SP 800-108 counter KBKDF-HMAC
 * (@a label, @b context; OpenSSL calls them "salt" and "info" too) keyed
 * by HMAC-type key @key.
 */
static int kdf_with_key(const struct hsm_key_ref *key, bool kbkdf, enum hsm_hash hash,
			const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
			uint8_t *out, size_t out_len, bool *fips_approved)
{
	OSSL_PARAM params[7], *p = params;
	size_t max;
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || (a_len && !a) || (b_len && !b) || !out)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_hmac(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!hash_name(hash))
		return HSM_OPS_BAD_HASH;
	max = kbkdf ? HSM_KBKDF_MAX : 255 * hsm_hash_size(hash);
	if (!out_len || out_len > max || a_len > 1024 || b_len > 1024)
		return HSM_OPS_BAD_LENGTH;
	if (kbkdf) {
		*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"counter", 0);
		*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)"HMAC", 0);
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)hash_name(hash), 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key->secret,
						 key->secret_len);
	if (a_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)a, a_len);
	if (b_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)b, b_len);
	*p = OSSL_PARAM_construct_end();
	st = kdf_run(kbkdf ? "KBKDF" : "HKDF", params, out, out_len);
	*fips_approved = st == HSM_OPS_OK;
	return st;
}

int hsm_ops_hkdf(const struct hsm_key_ref *key, enum hsm_hash hash, const uint8_t *salt,
		 size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
		 size_t out_len, bool *fips_approved)
{
	return kdf_with_key(key, false, hash, salt, salt_len, info, info_len, out, out_len,
			    fips_approved);
}

int hsm_ops_kbkdf(const struct hsm_key_ref *key, enum hsm_hash hash, const uint8_t *label,
		  size_t label_len, const uint8_t *context, size_t context_len, uint8_t *out,
		  size_t out_len, bool *fips_approved)
{
	return kdf_with_key(key, true, hash, label, label_len, context, context_len, out,
			    out_len, fips_approved);
}

/* ---- key unwrap ------------------------------------------------------ */

int hsm_ops_rsa_aes_unwrap(const struct hsm_key_ref *key, enum hsm_hash hash,
			   const uint8_t *label, size_t label_len, const uint8_t *in,
			   size_t len, uint8_t *out, size_t cap, size_t *olen,
			   bool *fips_approved)
{
	uint8_t eph[RSA_MAX_BYTES];
	size_t modlen, n = 0;
	int st;

	if (!fips_approved)
		return HSM_OPS_INVALID_ARG;
	*fips_approved = false;
	if (!key || !in || !olen || (label_len && !label) || label_len > INT32_MAX)
		return HSM_OPS_INVALID_ARG;
	if (!key_is_rsa(key))
		return HSM_OPS_WRONG_KEY_TYPE;
	if (!hash_md(hash))
		return HSM_OPS_BAD_HASH;
	modlen = (size_t)EVP_PKEY_get_size(key->pkey);
	if (len < modlen + 16 || (len - modlen) % 8)
		return HSM_OPS_BAD_LENGTH;
	st = oaep_decrypt(key->pkey, hash, label, label_len, in, modlen, eph, &n);
	if (st == HSM_OPS_OK && n != 16 && n != 24 && n != 32)
		st = HSM_OPS_UNWRAP_FAILED;
	if (st == HSM_OPS_OK)
		st = kwp(eph, n, false, in + modlen, len - modlen, out, cap, olen);
	OPENSSL_cleanse(eph, sizeof(eph));
	*fips_approved = st == HSM_OPS_OK;
	return st;
}
