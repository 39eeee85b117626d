// SPDX-License-Identifier: MIT
/*
 * hsm_ops on the host, every operation run on a key borrowed from a real
 * vault (hsm_vault_with_key) and every result checked independently with
 * OpenSSL or a published known-answer vector: ECDSA and RSA signatures
 * verified with the exported public key, RSA-OAEP / raw RSA against
 * EVP_PKEY_encrypt / verify_recover, AES-CBC/GCM/XTS/KWP both ways against
 * EVP, HMAC / HKDF / KBKDF, ECDH against the peer's EVP_PKEY_derive,
 * CKM_RSA_AES_KEY_WRAP unwrap, and each refusal's own status.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm_ops.h"
#include "hsm_vault.h"
#include "tap.h"

/* ---- borrowing: one dispatcher runs the operation under the key ------ */

enum op {
	OP_ECDSA, OP_RSA_SIGN, OP_OAEP, OP_RSA_PRIV, OP_RSA_PUB, OP_ECDH,
	OP_CBC, OP_GCM_ENC, OP_GCM_DEC, OP_XTS, OP_KWP_WRAP, OP_KWP_UNWRAP,
	OP_HMAC, OP_HKDF, OP_KBKDF, OP_RSA_AES_UNWRAP,
};

struct call {
	enum op op;
	int hash;
	int pad;
	bool enc;
	const uint8_t *in;
	size_t inlen;
	const uint8_t *a;	/* label / salt / aad / peer */
	size_t alen;
	const uint8_t *b;	/* info / context */
	size_t blen;
	const uint8_t *iv;
	size_t ivlen;
	uint8_t *out;
	size_t cap;
	size_t len;
	uint8_t tag[16];
	uint8_t iv_out[16];
	bool fips;
	int ret;
	int calls;
};

static void dispatch(const struct hsm_key_ref *k, void *p)
{
	struct call *c = p;

	c->calls++;
	switch (c->op) {
	case OP_ECDSA:
		c->ret = hsm_ops_ecdsa_sign(k, c->hash, c->in, c->inlen, c->out, c->cap, &c->len,
					    &c->fips);
		break;
	case OP_RSA_SIGN:
		c->ret = hsm_ops_rsa_sign(k, c->pad, c->hash, c->in, c->inlen, c->out, c->cap,
					  &c->len, &c->fips);
		break;
	case OP_OAEP:
		c->ret = hsm_ops_rsa_oaep_decrypt(k, c->hash, c->a, c->alen, c->in, c->inlen,
						  c->out, c->cap, &c->len, &c->fips);
		break;
	case OP_RSA_PRIV:
		c->ret = hsm_ops_rsa_private(k, c->in, c->inlen, c->out, c->cap, &c->len,
					     &c->fips);
		break;
	case OP_RSA_PUB:
		c->ret = hsm_ops_rsa_public(k, c->in, c->inlen, c->out, c->cap, &c->len,
					    &c->fips);
		break;
	case OP_ECDH:
		c->ret = hsm_ops_ecdh(k, c->a, c->alen, c->out, c->cap, &c->len, &c->fips);
		break;
	case OP_CBC:
		c->ret = hsm_ops_aes_cbc(k, c->enc, c->iv, c->in, c->inlen, c->out, c->cap,
					 c->iv_out, &c->fips);
		break;
	case OP_GCM_ENC:
		c->ret = hsm_ops_aes_gcm_encrypt(k, c->iv, c->ivlen, c->a, c->alen, c->in,
						 c->inlen, c->out, c->cap, c->tag, &c->fips);
		break;
	case OP_GCM_DEC:
		c->ret = hsm_ops_aes_gcm_decrypt(k, c->iv, c->ivlen, c->a, c->alen, c->in,
						 c->inlen, c->tag, c->out, c->cap, &c->fips);
		break;
	case OP_XTS:
		c->ret = hsm_ops_aes_xts(k, c->enc, c->iv, c->in, c->inlen, c->out, c->cap,
					 &c->fips);
		break;
	case OP_KWP_WRAP:
		c->ret = hsm_ops_aes_kwp_wrap(k, c->in, c->inlen, c->out, c->cap, &c->len,
					      &c->fips);
		break;
	case OP_KWP_UNWRAP:
		c->ret = hsm_ops_aes_kwp_unwrap(k, c->in, c->inlen, c->out, c->cap, &c->len,
						&c->fips);
		break;
	case OP_HMAC:
		c->ret = hsm_ops_hmac(k, c->in, c->inlen, c->out, c->cap, &c->len, &c->fips);
		break;
	case OP_HKDF:
		c->ret = hsm_ops_hkdf(k, c->hash, c->a, c->alen, c->b, c->blen, c->out, c->cap,
				      &c->fips);
		break;
	case OP_KBKDF:
		c->ret = hsm_ops_kbkdf(k, c->hash, c->a, c->alen, c->b, c->blen, c->out, c->cap,
				       &c->fips);
		break;
	case OP_RSA_AES_UNWRAP:
		c->ret = hsm_ops_rsa_aes_unwrap(k, c->hash, c->a, c->alen, c->in, c->inlen,
						c->out, c->cap, &c->len, &c->fips);
		break;
	}
}

/* Run @c on key @id (usage @need); returns the op status, or -1 if not run. */
static int run(struct hsm_vault *v, uint16_t id, uint32_t need, struct call *c)
{
	c->calls = 0;
	c->ret = -1;
	c->fips = true;	/* every call must write it */
	if (hsm_vault_with_key(v, id, need, dispatch, c) || c->calls != 1)
		return -1;
	return c->ret;
}

/* ---- helpers ---------------------------------------------------------- */

static struct hsm_key_spec spec(enum hsm_key_type type, uint32_t usage)
{
	return (struct hsm_key_spec){ .type = type, .usage = usage };
}

static uint16_t gen(struct hsm_vault *v, enum hsm_key_type type, uint32_t usage)
{
	struct hsm_key_spec s = spec(type, usage);
	uint16_t id = 0;

	if (hsm_vault_generate(v, &s, &id))
		return 0;
	return id;
}

static uint16_t import(struct hsm_vault *v, enum hsm_key_type type, uint32_t usage,
		       const void *secret, size_t len)
{
	struct hsm_key_spec s = spec(type, usage);
	uint16_t id = 0;

	if (hsm_vault_import_secret(v, &s, secret, len, &id))
		return 0;
	return id;
}

static EVP_PKEY *public_of(struct hsm_vault *v, uint16_t id)
{
	uint8_t der[2048];
	const unsigned char *p = der;
	size_t len = 0;

	if (hsm_vault_export_public(v, id, der, sizeof(der), &len))
		return NULL;
	return d2i_PUBKEY(NULL, &p, (long)len);
}

static __attribute__((unused)) size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;

	while (hex[0] && hex[1]) {
		unsigned int b;

		if (hex[0] == ' ') {
			hex++;
			continue;
		}
		sscanf(hex, "%2x", &b);
		out[n++] = (uint8_t)b;
		hex += 2;
	}
	return n;
}

static const char *md_name(int hash)
{
	return hash == HSM_HASH_SHA256 ? "SHA256" : hash == HSM_HASH_SHA384 ? "SHA384" :
									       "SHA512";
}

static void digest_of(int hash, const char *msg, uint8_t *d, size_t *dlen)
{
	unsigned int n = 0;

	EVP_Digest(msg, strlen(msg), d, &n, EVP_get_digestbyname(md_name(hash)), NULL);
	*dlen = n;
}

static const EVP_MD *md_of(int hash)
{
	return EVP_get_digestbyname(md_name(hash));
}

/* ---- 1. asymmetric ---------------------------------------------------- */

static int verify_digest(EVP_PKEY *pub, int pad, int hash, const uint8_t *d, size_t dlen,
			 const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	int ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_signature_md(ctx, md_of(hash)) == 1;

	if (ok && pad)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, pad == HSM_RSA_PSS ?
						  RSA_PKCS1_PSS_PADDING :
						  RSA_PKCS1_PADDING) == 1;
	if (ok && pad == HSM_RSA_PSS)
		/* salt must be exactly the digest length */
		ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)dlen) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_of(hash)) == 1;
	ok = ok && EVP_PKEY_verify(ctx, sig, siglen, d, dlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* The message-level check, as `openssl dgst -verify` does it. */
static int verify_msg(EVP_PKEY *pub, int hash, const char *msg, const uint8_t *sig,
		      size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestVerifyInit(md, NULL, md_of(hash), NULL, pub) == 1 &&
		 EVP_DigestVerify(md, sig, siglen, (const uint8_t *)msg, strlen(msg)) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

static void test_ecdsa(struct hsm_vault *v)
{
	static const struct { enum hsm_key_type t; const char *name; } curves[] = {
		{ HSM_KEY_EC_P256, "P-256" },
		{ HSM_KEY_EC_P384, "P-384" },
		{ HSM_KEY_EC_P521, "P-521" },
	};
	const char *msg = "signed by hsm_ops_ecdsa_sign";
	unsigned int i;
	int h;

	for (i = 0; i < 3; i++) {
		uint16_t id = gen(v, curves[i].t, HSM_USAGE_SIGN);
		EVP_PKEY *pub = public_of(v, id);

		for (h = HSM_HASH_SHA256; h <= HSM_HASH_SHA512; h++) {
			struct call c = { .op = OP_ECDSA, .hash = h };
			uint8_t d[64], sig[160];
			size_t dlen;

			digest_of(h, msg, d, &dlen);
			c.in = d;
			c.inlen = dlen;
			c.out = sig;
			c.cap = sizeof(sig);
			tap_ok(run(v, id, HSM_USAGE_SIGN, &c) == HSM_OPS_OK && c.fips &&
			       verify_digest(pub, 0, h, d, dlen, sig, c.len) &&
			       verify_msg(pub, h, msg, sig, c.len),
			       "ECDSA %s %s: DER signature verifies (EVP_PKEY_verify, "
			       "EVP_DigestVerify), fips", curves[i].name, md_name(h));
			sig[c.len / 2] ^= 1;
			tap_ok(!verify_digest(pub, 0, h, d, dlen, sig, c.len),
			       "ECDSA %s %s: flipped signature bit fails", curves[i].name,
			       md_name(h));
		}
		{
			struct call c = { .op = OP_ECDSA, .hash = HSM_HASH_SHA384 };
			uint8_t d[64] = { 0 }, sig[160];

			c.in = d;
			c.inlen = 32;
			c.out = sig;
			c.cap = sizeof(sig);
			tap_eq(run(v, id, HSM_USAGE_SIGN, &c), HSM_OPS_BAD_DIGEST_LEN,
			       "ECDSA %s: 32-byte digest with SHA-384 refused", curves[i].name);
			tap_ok(!c.fips, "refusal: fips flag false");
			c.inlen = 48;
			c.cap = 8;
			tap_eq(run(v, id, HSM_USAGE_SIGN, &c), HSM_OPS_BUFFER_SMALL,
			       "ECDSA %s: small buffer", curves[i].name);
			tap_eq(c.len, (size_t)EVP_PKEY_get_size(pub),
			       "ECDSA %s: needed size = max DER size %d", curves[i].name,
			       EVP_PKEY_get_size(pub));
			c.hash = 9;
			c.cap = sizeof(sig);
			tap_eq(run(v, id, HSM_USAGE_SIGN, &c), HSM_OPS_BAD_HASH,
			       "ECDSA %s: unknown hash refused", curves[i].name);
		}
		EVP_PKEY_free(pub);
	}
}

/* RSA keys shared by the RSA tests: 2048 (sign+decrypt+unwrap) and 3072. */
static uint16_t rsa2048, rsa3072;

static void test_rsa_sign(struct hsm_vault *v)
{
	uint16_t ids[2] = { rsa2048, rsa3072 };
	const char *msg = "signed by hsm_ops_rsa_sign";
	unsigned int i;
	int h, pad;

	for (i = 0; i < 2; i++) {
		EVP_PKEY *pub = public_of(v, ids[i]);
		int bits = EVP_PKEY_get_bits(pub);

		for (pad = HSM_RSA_PKCS1; pad <= HSM_RSA_PSS; pad++) {
			for (h = HSM_HASH_SHA256; h <= HSM_HASH_SHA512; h++) {
				struct call c = { .op = OP_RSA_SIGN, .hash = h, .pad = pad };
				uint8_t d[64], sig[512];
				size_t dlen;

				digest_of(h, msg, d, &dlen);
				c.in = d;
				c.inlen = dlen;
				c.out = sig;
				c.cap = sizeof(sig);
				tap_ok(run(v, ids[i], HSM_USAGE_SIGN, &c) == HSM_OPS_OK &&
				       c.fips && c.len == (size_t)bits / 8 &&
				       verify_digest(pub, pad, h, d, dlen, sig, c.len),
				       "RSA-%d %s %s: signature verifies (salt = digest length), "
				       "fips", bits, pad == HSM_RSA_PSS ? "PSS" : "PKCS#1",
				       md_name(h));
				if (pad == HSM_RSA_PKCS1)
					tap_ok(verify_msg(pub, h, msg, sig, c.len),
					       "RSA-%d PKCS#1 %s: EVP_DigestVerify of the message",
					       bits, md_name(h));
			}
		}
		{
			struct call c = { .op = OP_RSA_SIGN, .hash = HSM_HASH_SHA512,
					  .pad = HSM_RSA_PSS };
			uint8_t d[64] = { 0 }, sig[512];

			c.in = d;
			c.inlen = 48;
			c.out = sig;
			c.cap = sizeof(sig);
			tap_eq(run(v, ids[i], HSM_USAGE_SIGN, &c), HSM_OPS_BAD_DIGEST_LEN,
			       "RSA-%d: 48-byte digest with SHA-512 refused", bits);
			c.inlen = 64;
			c.pad = 7;
			tap_eq(run(v, ids[i], HSM_USAGE_SIGN, &c), HSM_OPS_BAD_PADDING_MODE,
			       "RSA-%d: unknown padding refused", bits);
			c.pad = HSM_RSA_PKCS1;
			c.cap = (size_t)bits / 8 - 1;
			tap_eq(run(v, ids[i], HSM_USAGE_SIGN, &c), HSM_OPS_BUFFER_SMALL,
			       "RSA-%d: buffer one byte short", bits);
			tap_eq(c.len, (size_t)bits / 8, "RSA-%d: needed = modulus size", bits);
		}
		EVP_PKEY_free(pub);
	}
}

static size_t oaep_encrypt(EVP_PKEY *pub, int hash, const uint8_t *label, size_t llen,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	size_t n = 512;
	int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
		 EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md_of(hash)) == 1 &&
		 EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_of(hash)) == 1;

	if (ok && llen)
		ok = EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup(label, llen),
						      (int)llen) == 1;
	ok = ok && EVP_PKEY_encrypt(ctx, out, &n, in, len) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? n : 0;
}

static void test_rsa_oaep(struct hsm_vault *v)
{
	uint16_t ids[2] = { rsa2048, rsa3072 };
	const uint8_t label[] = "oaep label";
	unsigned int i;
	int h;

	for (i = 0; i < 2; i++) {
		EVP_PKEY *pub = public_of(v, ids[i]);
		int bits = EVP_PKEY_get_bits(pub);

		for (h = HSM_HASH_SHA256; h <= HSM_HASH_SHA512; h++) {
			struct call c = { .op = OP_OAEP, .hash = h };
			uint8_t pt[40], ct[512], out[512];
			size_t ctlen;

			RAND_bytes(pt, sizeof(pt));
			ctlen = oaep_encrypt(pub, h, label, sizeof(label), pt, sizeof(pt), ct);
			c.in = ct;
			c.inlen = ctlen;
			c.a = label;
			c.alen = sizeof(label);
			c.out = out;
			c.cap = sizeof(out);
			tap_ok(ctlen && run(v, ids[i], HSM_USAGE_DECRYPT, &c) == HSM_OPS_OK &&
			       c.fips && c.len == sizeof(pt) && !memcmp(out, pt, sizeof(pt)),
			       "RSA-%d OAEP %s with label: OpenSSL ciphertext decrypts, fips",
			       bits, md_name(h));
			c.alen = 0;
			tap_eq(run(v, ids[i], HSM_USAGE_DECRYPT, &c), HSM_OPS_DECRYPT_FAILED,
			       "RSA-%d OAEP %s: wrong (missing) label refused", bits, md_name(h));
			c.alen = sizeof(label);
			c.cap = sizeof(pt) - 1;
			tap_ok(run(v, ids[i], HSM_USAGE_DECRYPT, &c) == HSM_OPS_BUFFER_SMALL &&
			       c.len == sizeof(pt),
			       "RSA-%d OAEP %s: small buffer, *len = plaintext size", bits,
			       md_name(h));
		}
		{
			struct call c = { .op = OP_OAEP, .hash = HSM_HASH_SHA256 };
			uint8_t pt[16] = "no label", ct[512], out[512];
			size_t ctlen = oaep_encrypt(pub, HSM_HASH_SHA256, NULL, 0, pt,
						    sizeof(pt), ct);

			c.in = ct;
			c.inlen = ctlen;
			c.out = out;
			c.cap = sizeof(out);
			tap_ok(run(v, ids[i], HSM_USAGE_DECRYPT, &c) == HSM_OPS_OK &&
			       c.len == sizeof(pt) && !memcmp(out, pt, sizeof(pt)),
			       "RSA-%d OAEP SHA256 without label", bits);
			c.hash = HSM_HASH_SHA384;
			tap_eq(run(v, ids[i], HSM_USAGE_DECRYPT, &c), HSM_OPS_DECRYPT_FAILED,
			       "RSA-%d OAEP: decrypt with another hash refused", bits);
			c.hash = HSM_HASH_SHA256;
			ct[5] ^= 0x40;
			tap_eq(run(v, ids[i], HSM_USAGE_DECRYPT, &c), HSM_OPS_DECRYPT_FAILED,
			       "RSA-%d OAEP: flipped ciphertext bit refused", bits);
			c.inlen = ctlen - 1;
			tap_eq(run(v, ids[i], HSM_USAGE_DECRYPT, &c), HSM_OPS_BAD_LENGTH,
			       "RSA-%d OAEP: ciphertext not modulus-sized refused", bits);
		}
		EVP_PKEY_free(pub);
	}
}

static void test_rsa_raw(struct hsm_vault *v)
{
	EVP_PKEY *pub = public_of(v, rsa2048);
	struct call c = { 0 };
	uint8_t m[256], s[256], back[256], nbuf[256], rec[256];
	EVP_PKEY_CTX *ctx;
	BIGNUM *n = NULL;
	size_t reclen = sizeof(rec);
	int ok;

	RAND_bytes(m, sizeof(m));
	m[0] = 0x00;	/* < n */
	c.op = OP_RSA_PRIV;
	c.in = m;
	c.inlen = sizeof(m);
	c.out = s;
	c.cap = sizeof(s);
	tap_ok(run(v, rsa2048, HSM_USAGE_DECRYPT, &c) == HSM_OPS_OK && c.len == 256 && !c.fips,
	       "raw RSA private: ok, 256 bytes, not fips");
	/* independent: s^e mod n by OpenSSL's public verify_recover, no padding */
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	ok = ctx && EVP_PKEY_verify_recover_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
	     EVP_PKEY_verify_recover(ctx, rec, &reclen, s, 256) == 1;
	EVP_PKEY_CTX_free(ctx);
	tap_ok(ok && reclen == 256 && !memcmp(rec, m, 256),
	       "raw RSA private: OpenSSL public op recovers the input");

	c.op = OP_RSA_PUB;
	c.in = s;
	c.out = back;
	tap_ok(run(v, rsa2048, HSM_USAGE_DECRYPT, &c) == HSM_OPS_OK && c.len == 256 &&
	       !memcmp(back, m, 256) && !c.fips,
	       "raw RSA public: (m^d)^e = m, not fips");
	/* public op on an OpenSSL-made value: EVP_PKEY_encrypt with no padding */
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	reclen = sizeof(rec);
	ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
	     EVP_PKEY_encrypt(ctx, rec, &reclen, m, 256) == 1;
	EVP_PKEY_CTX_free(ctx);
	c.in = m;
	tap_ok(ok && run(v, rsa2048, HSM_USAGE_DECRYPT, &c) == HSM_OPS_OK &&
	       !memcmp(back, rec, 256), "raw RSA public: equals OpenSSL m^e mod n");

	EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n);
	BN_bn2binpad(n, nbuf, 256);
	c.op = OP_RSA_PRIV;
	c.in = nbuf;
	tap_eq(run(v, rsa2048, HSM_USAGE_DECRYPT, &c), HSM_OPS_INPUT_RANGE,
	       "raw RSA private: input = n refused");
	memset(back, 0xff, sizeof(back));
	c.in = back;
	tap_eq(run(v, rsa2048, HSM_USAGE_DECRYPT, &c), HSM_OPS_INPUT_RANGE,
	       "raw RSA private: input 0xff..ff > n refused");
	c.op = OP_RSA_PUB;
	tap_eq(run(v, rsa2048, HSM_USAGE_DECRYPT, &c), HSM_OPS_INPUT_RANGE,
	       "raw RSA public: input > n refused");
	BN_sub_word(n, 1);
	BN_bn2binpad(n, nbuf, 256);
	c.op = OP_RSA_PRIV;
	c.in = nbuf;
	c.out = s;
	tap_eq(run(v, rsa2048, HSM_USAGE_DECRYPT, &c), HSM_OPS_OK,
	       "raw RSA private: input n-1 accepted");
	c.in = m;
	c.inlen = 255;
	tap_eq(run(v, rsa2048, HSM_USAGE_DECRYPT, &c), HSM_OPS_BAD_LENGTH,
	       "raw RSA private: 255-byte input refused");
	c.inlen = 256;
	c.cap = 255;
	tap_ok(run(v, rsa2048, HSM_USAGE_DECRYPT, &c) == HSM_OPS_BUFFER_SMALL && c.len == 256,
	       "raw RSA private: small buffer, needed 256");
	BN_free(n);
	EVP_PKEY_free(pub);
}

static void test_asym_wrong_type(struct hsm_vault *v, uint16_t ec, uint16_t aes)
{
	uint8_t d[32] = { 0 }, out[512];
	struct call c = { .op = OP_RSA_SIGN, .pad = HSM_RSA_PKCS1, .hash = HSM_HASH_SHA256,
			  .in = d, .inlen = 32, .out = out, .cap = sizeof(out) };

	tap_eq(run(v, ec, HSM_USAGE_SIGN, &c), HSM_OPS_WRONG_KEY_TYPE,
	       "RSA sign with an EC key: wrong key type");
	tap_ok(!c.fips, "wrong key type: fips flag false");
	c.op = OP_ECDSA;
	tap_eq(run(v, rsa2048, HSM_USAGE_SIGN, &c), HSM_OPS_WRONG_KEY_TYPE,
	       "ECDSA with an RSA key: wrong key type");
	c.op = OP_RSA_PRIV;
	tap_eq(run(v, ec, HSM_USAGE_SIGN, &c), HSM_OPS_WRONG_KEY_TYPE,
	       "raw RSA with an EC key: wrong key type");
	c.op = OP_OAEP;
	tap_eq(run(v, aes, HSM_USAGE_DECRYPT, &c), HSM_OPS_WRONG_KEY_TYPE,
	       "OAEP with an AES key: wrong key type");
}

int main(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	uint8_t k32[32];
	uint16_t ec, aes;

	rsa2048 = gen(v, HSM_KEY_RSA2048, HSM_USAGE_SIGN | HSM_USAGE_DECRYPT | HSM_USAGE_UNWRAP);
	rsa3072 = gen(v, HSM_KEY_RSA3072, HSM_USAGE_SIGN | HSM_USAGE_DECRYPT);
	ec = gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN | HSM_USAGE_DERIVE);
	RAND_bytes(k32, sizeof(k32));
	aes = import(v, HSM_KEY_AES256, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, k32, 32);
	tap_ok(rsa2048 && rsa3072 && ec && aes, "vault keys generated / imported");

	test_ecdsa(v);
	test_rsa_sign(v);
	test_rsa_oaep(v);
	test_rsa_raw(v);
	test_asym_wrong_type(v, ec, aes);

	hsm_vault_free(v);
	return tap_done();
}
