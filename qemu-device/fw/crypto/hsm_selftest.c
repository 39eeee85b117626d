// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cryptographic algorithm self-tests (CASTs): each algorithm family the
 * services use is run through the same OpenSSL implementation the services
 * call, on inputs from a published vector, and its output compared with the
 * published answer (hsm_selftest_kat.h). Both directions where there are two
 * (encrypt and decrypt, sign and verify). A test that is told to fail
 * (`selftest-fail`) flips one bit of its own output before the comparison,
 * so the path that fails is the comparison a real fault would fail.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* dl_iterate_phdr */
#endif
#include <link.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm_boot.h"
#include "hsm_selftest.h"
#include "hsm_selftest_kat.h"

static const char *const st_names[] = AZIHSM_SELFTEST_NAMES;
_Static_assert(sizeof(st_names) / sizeof(st_names[0]) == AZIHSM_ST_COUNT,
	       "one name per self-test id");

int hsm_selftest_id(const char *name)
{
	int i;

	for (i = 1; name && i < AZIHSM_ST_COUNT; i++)
		if (!strcmp(name, st_names[i]))
			return i;
	return 0;
}

const char *hsm_selftest_name(int id)
{
	return id > 0 && id < AZIHSM_ST_COUNT ? st_names[id] : "?";
}

/* @got (which the test may flip a bit of) equals @want. */
static int st_same(uint8_t *got, const uint8_t *want, size_t len, bool corrupt)
{
	if (corrupt)
		got[0] ^= 1;
	return CRYPTO_memcmp(got, want, len) ? -1 : 0;
}

/* One pass of @cipher over @in; -1 on any error. */
static int st_cipher(const EVP_CIPHER *cipher, bool enc, const uint8_t *key, const uint8_t *iv,
		     const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ret = -1;

	if (!c)
		return -1;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(c, cipher, NULL, key, iv, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	    EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	    EVP_CipherFinal_ex(c, out + n, &m) == 1)
		ret = n + m;
	EVP_CIPHER_CTX_free(c);
	return ret;
}

/* Encrypt to @ct and decrypt back to @pt, both compared. */
static int st_block(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
		    const uint8_t *pt, const uint8_t *ct, size_t len, bool corrupt)
{
	uint8_t buf[64];

	if (len > sizeof(buf) - 16 ||
	    st_cipher(cipher, true, key, iv, pt, len, buf) != (int)len ||
	    st_same(buf, ct, len, corrupt) ||
	    st_cipher(cipher, false, key, iv, ct, len, buf) != (int)len)
		return -1;
	return st_same(buf, pt, len, false);
}

static int st_aes_ecb(bool corrupt)
{
	return st_block(EVP_aes_256_ecb(), kat_ecb_key, NULL, kat_ecb_pt, kat_ecb_ct,
			sizeof(kat_ecb_ct), corrupt);
}

static int st_aes_cbc(bool corrupt)
{
	return st_block(EVP_aes_256_cbc(), kat_cbc_key, kat_cbc_iv, kat_cbc_pt, kat_cbc_ct,
			sizeof(kat_cbc_ct), corrupt);
}

static int st_aes_xts(bool corrupt)
{
	return st_block(EVP_aes_128_xts(), kat_xts_key, kat_xts_tweak, kat_xts_pt, kat_xts_ct,
			sizeof(kat_xts_ct), corrupt);
}

/* GCM both ways: the tag computed, then the tag checked (and a bad one refused). */
static int st_gcm_pass(bool enc, const uint8_t *tag_in, uint8_t *out, uint8_t *tag_out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ret = -1;

	if (!c)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, sizeof(kat_gcm_iv), NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, kat_gcm_key, kat_gcm_iv, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, kat_gcm_aad, sizeof(kat_gcm_aad)) != 1 ||
	    EVP_CipherUpdate(c, out, &n, enc ? kat_gcm_pt : kat_gcm_ct,
			     sizeof(kat_gcm_pt)) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, sizeof(kat_gcm_tag),
					(void *)tag_in) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, sizeof(kat_gcm_tag),
				       tag_out) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

static int st_aes_gcm(bool corrupt)
{
	uint8_t buf[sizeof(kat_gcm_pt) + 16], tag[sizeof(kat_gcm_tag)], bad[sizeof(kat_gcm_tag)];

	if (st_gcm_pass(true, NULL, buf, tag) || st_same(buf, kat_gcm_ct, sizeof(kat_gcm_ct),
							  corrupt) ||
	    st_same(tag, kat_gcm_tag, sizeof(tag), false))
		return -1;
	if (st_gcm_pass(false, kat_gcm_tag, buf, NULL) ||
	    st_same(buf, kat_gcm_pt, sizeof(kat_gcm_pt), false))
		return -1;
	memcpy(bad, kat_gcm_tag, sizeof(bad));
	bad[0] ^= 1;
	return st_gcm_pass(false, bad, buf, NULL) ? 0 : -1;
}

static int st_aes_kwp(bool corrupt)
{
	uint8_t buf[sizeof(kat_kwp_ct) + 16];

	if (st_cipher(EVP_aes_192_wrap_pad(), true, kat_kwp_kek, NULL, kat_kwp_pt,
		      sizeof(kat_kwp_pt), buf) != (int)sizeof(kat_kwp_ct) ||
	    st_same(buf, kat_kwp_ct, sizeof(kat_kwp_ct), corrupt) ||
	    st_cipher(EVP_aes_192_wrap_pad(), false, kat_kwp_kek, NULL, kat_kwp_ct,
		      sizeof(kat_kwp_ct), buf) != (int)sizeof(kat_kwp_pt))
		return -1;
	return st_same(buf, kat_kwp_pt, sizeof(kat_kwp_pt), false);
}

static int st_sha(const EVP_MD *md, const uint8_t *want, size_t len, bool corrupt)
{
	uint8_t buf[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest("abc", 3, buf, &n, md, NULL) != 1 || n != len)
		return -1;
	return st_same(buf, want, len, corrupt);
}

static int st_sha256(bool corrupt)
{
	return st_sha(EVP_sha256(), kat_sha256, sizeof(kat_sha256), corrupt);
}

static int st_sha384(bool corrupt)
{
	return st_sha(EVP_sha384(), kat_sha384, sizeof(kat_sha384), corrupt);
}

static int st_sha512(bool corrupt)
{
	return st_sha(EVP_sha512(), kat_sha512, sizeof(kat_sha512), corrupt);
}

static int st_hmac(bool corrupt)
{
	uint8_t buf[EVP_MAX_MD_SIZE];
	size_t n = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, kat_hmac_key, sizeof(kat_hmac_key),
		       kat_hmac_msg, sizeof(kat_hmac_msg), buf, sizeof(buf), &n) || n < 32)
		return -1;
	return st_same(buf, kat_hmac_mac, sizeof(kat_hmac_mac), corrupt);
}

static int st_kdf(const char *name, OSSL_PARAM *params, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int ret = -1;

	if (c && EVP_KDF_derive(c, out, len, params) == 1)
		ret = 0;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return ret;
}

static int st_hkdf(bool corrupt)
{
	uint8_t buf[sizeof(kat_hkdf_okm)];
	OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, (void *)kat_hkdf_ikm,
					sizeof(kat_hkdf_ikm)),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, (void *)kat_hkdf_salt,
					sizeof(kat_hkdf_salt)),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, (void *)kat_hkdf_info,
					sizeof(kat_hkdf_info)),
		OSSL_PARAM_END
	};

	if (st_kdf("HKDF", p, buf, sizeof(buf)))
		return -1;
	return st_same(buf, kat_hkdf_okm, sizeof(buf), corrupt);
}

static int st_kbkdf(bool corrupt)
{
	uint8_t buf[sizeof(kat_kbkdf_out)];
	OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"counter", 0),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MAC, (char *)"HMAC", 0),
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, (void *)kat_kbkdf_key,
					sizeof(kat_kbkdf_key)),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, (void *)kat_kbkdf_label,
					sizeof(kat_kbkdf_label)),
		OSSL_PARAM_END
	};

	if (st_kdf("KBKDF", p, buf, sizeof(buf)))
		return -1;
	return st_same(buf, kat_kbkdf_out, sizeof(buf), corrupt);
}

/* A P-256 key from a public point and, if @d, the private scalar. */
static EVP_PKEY *st_ec_key(const uint8_t *q, size_t qlen, const uint8_t *d, size_t dlen)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	BIGNUM *priv = d ? BN_bin2bn(d, (int)dlen, NULL) : NULL;
	OSSL_PARAM *p = NULL;
	EVP_PKEY *pk = NULL;

	if (!b || !c || (d && !priv) ||
	    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q, qlen) ||
	    (priv && !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
		goto out;
	p = OSSL_PARAM_BLD_to_param(b);
	if (!p || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, p) != 1)
		pk = NULL;
out:
	OSSL_PARAM_free(p);
	BN_clear_free(priv);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

/* 1: @sig (DER) verifies over @dgst with @pk; 0: it does not; -1: error. */
static int st_verify(EVP_PKEY *pk, const uint8_t *dgst, size_t dlen, const uint8_t *sig,
		     size_t slen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	int ret = -1;

	if (c && EVP_PKEY_verify_init(c) == 1)
		ret = EVP_PKEY_verify(c, sig, slen, dgst, dlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ret;
}

/* The ACVP vector's (r, s) as DER, then verified with its public key. */
static int st_ecdsa_vector(const uint8_t *q, const uint8_t *dgst, const uint8_t *r,
			   const uint8_t *s, bool corrupt)
{
	uint8_t d[32], der[80], *p = der;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(r, 32, NULL), *bs = BN_bin2bn(s, 32, NULL);
	EVP_PKEY *pk = st_ec_key(q, 65, NULL, 0);
	int ret = -1, n;

	if (!sig || !br || !bs || !pk || ECDSA_SIG_set0(sig, br, bs) != 1) {
		BN_free(br);
		BN_free(bs);
		goto out;
	}
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n <= 0 || n > (int)sizeof(der) || i2d_ECDSA_SIG(sig, &p) != n)
		goto out;
	memcpy(d, dgst, sizeof(d));
	if (corrupt)
		d[0] ^= 1;
	ret = st_verify(pk, d, sizeof(d), der, (size_t)n);
out:
	ECDSA_SIG_free(sig);
	EVP_PKEY_free(pk);
	return ret;
}

static int st_ecdsa(bool corrupt)
{
	uint8_t sig[80];
	size_t slen = sizeof(sig);
	EVP_PKEY *kp = st_ec_key(kat_ecdh_q, sizeof(kat_ecdh_q), kat_ecdh_d, sizeof(kat_ecdh_d));
	EVP_PKEY *pub = st_ec_key(kat_ecdh_q, sizeof(kat_ecdh_q), NULL, 0);
	EVP_PKEY_CTX *c = kp ? EVP_PKEY_CTX_new_from_pkey(NULL, kp, NULL) : NULL;
	int ret = -1;

	/* Published signatures: the good one verifies, the modified one not. */
	if (st_ecdsa_vector(kat_ecdsa_good_q, kat_ecdsa_good_dgst, kat_ecdsa_good_r,
			    kat_ecdsa_good_s, corrupt) != 1 ||
	    st_ecdsa_vector(kat_ecdsa_bad_q, kat_ecdsa_bad_dgst, kat_ecdsa_bad_r,
			    kat_ecdsa_bad_s, false) != 0)
		goto out;
	/* Sign with the published key pair; its public key must verify it. */
	if (!c || !pub || EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_sign(c, sig, &slen, kat_sha256, sizeof(kat_sha256)) != 1 ||
	    st_verify(pub, kat_sha256, sizeof(kat_sha256), sig, slen) != 1)
		goto out;
	ret = 0;
out:
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(kp);
	return ret;
}

static int st_ecdh(bool corrupt)
{
	EVP_PKEY *kp = st_ec_key(kat_ecdh_q, sizeof(kat_ecdh_q), kat_ecdh_d, sizeof(kat_ecdh_d));
	EVP_PKEY *peer = st_ec_key(kat_ecdh_peer, sizeof(kat_ecdh_peer), NULL, 0);
	EVP_PKEY_CTX *c = kp ? EVP_PKEY_CTX_new_from_pkey(NULL, kp, NULL) : NULL;
	uint8_t z[66];
	size_t zlen = sizeof(z);
	int ret = -1;

	if (c && peer && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
	    EVP_PKEY_derive(c, z, &zlen) == 1 && zlen == sizeof(kat_ecdh_z))
		ret = st_same(z, kat_ecdh_z, zlen, corrupt);
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(kp);
	return ret;
}

/* An RSA private key from its published big-endian parts (@p NULL: no CRT values). */
static EVP_PKEY *st_rsa_key(const uint8_t *n, const uint8_t *e, size_t elen, const uint8_t *d,
			    const uint8_t *const *crt)
{
	static const char *const crt_names[5] = {
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn[8] = { 0 };
	OSSL_PARAM *p = NULL;
	EVP_PKEY *pk = NULL;
	unsigned int i;
	bool ok;

	bn[0] = BN_bin2bn(n, 256, NULL);
	bn[1] = BN_bin2bn(e, (int)elen, NULL);
	bn[2] = BN_bin2bn(d, 256, NULL);
	ok = b && c && bn[0] && bn[1] && bn[2] &&
	     OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn[0]) &&
	     OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn[1]) &&
	     OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, bn[2]);
	for (i = 0; ok && crt && i < 5; i++) {
		bn[3 + i] = BN_bin2bn(crt[i], 128, NULL);
		ok = bn[3 + i] && OSSL_PARAM_BLD_push_BN(b, crt_names[i], bn[3 + i]);
	}
	if (ok)
		p = OSSL_PARAM_BLD_to_param(b);
	if (!p || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_KEYPAIR, p) != 1)
		pk = NULL;
	OSSL_PARAM_free(p);
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

/*
 * The CAVP SigGen vector: SHA-256 of its message signed with PKCS#1 v1.5
 * must be its S (the padding is deterministic), and S must verify.
 */
static int st_rsa_sign(bool corrupt)
{
	EVP_PKEY *pk = st_rsa_key(kat_rsa_sig_n, kat_rsa_sig_e, sizeof(kat_rsa_sig_e),
				  kat_rsa_sig_d, NULL);
	EVP_PKEY_CTX *c = pk ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
	uint8_t sig[sizeof(kat_rsa_sig)], dgst[32];
	size_t slen = sizeof(sig);
	unsigned int dlen = 0;
	int ret = -1;

	if (!c || EVP_Digest(kat_rsa_sig_msg, sizeof(kat_rsa_sig_msg), dgst, &dlen, EVP_sha256(),
			     NULL) != 1 || dlen != sizeof(dgst) ||
	    EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(c, sig, &slen, dgst, sizeof(dgst)) != 1 ||
	    slen != sizeof(sig) || st_same(sig, kat_rsa_sig, slen, corrupt))
		goto out;
	EVP_PKEY_CTX_free(c);
	c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!c || EVP_PKEY_verify_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1 ||
	    EVP_PKEY_verify(c, kat_rsa_sig, sizeof(kat_rsa_sig), dgst, sizeof(dgst)) != 1)
		goto out;
	ret = 0;
out:
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
	return ret;
}

/* PKCS #1 v2.1 Example 10.1: the ciphertext decrypts (OAEP, SHA-1) to its message. */
static int st_rsa_dec(bool corrupt)
{
	const uint8_t *const crt[5] = { kat_rsa_oaep_p, kat_rsa_oaep_q, kat_rsa_oaep_dp,
					kat_rsa_oaep_dq, kat_rsa_oaep_qinv };
	EVP_PKEY *pk = st_rsa_key(kat_rsa_oaep_n, kat_rsa_oaep_e, sizeof(kat_rsa_oaep_e),
				  kat_rsa_oaep_d, crt);
	EVP_PKEY_CTX *c = pk ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
	uint8_t out[sizeof(kat_rsa_oaep_ct)];
	size_t olen = sizeof(out);
	int ret = -1;

	if (c && EVP_PKEY_decrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha1()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()) == 1 &&
	    EVP_PKEY_decrypt(c, out, &olen, kat_rsa_oaep_ct, sizeof(kat_rsa_oaep_ct)) == 1 &&
	    olen == sizeof(kat_rsa_oaep_msg))
		ret = st_same(out, kat_rsa_oaep_msg, olen, corrupt);
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
	return ret;
}

/* TEST-RAND's entropy (and nonce) for the next instantiate or reseed. */
static int st_test_rand_set(EVP_RAND_CTX *t, const uint8_t *ent, size_t elen,
			    const uint8_t *nonce, size_t nlen)
{
	OSSL_PARAM p[3], *q = p;

	*q++ = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, (void *)ent,
						 elen);
	if (nonce)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_NONCE,
							 (void *)nonce, nlen);
	*q = OSSL_PARAM_construct_end();
	return EVP_RAND_CTX_set_params(t, p) == 1 ? 0 : -1;
}

/*
 * SP 800-90A CTR_DRBG (AES-256, derivation function), the construction the
 * device's DRBG is: instantiate, reseed, generate twice, the second output
 * compared (CAVP semantics). A TEST-RAND parent hands it the vector's
 * entropy and nonce.
 */
static int st_drbg(bool corrupt)
{
	EVP_RAND *tr = EVP_RAND_fetch(NULL, "TEST-RAND", NULL);
	EVP_RAND *cr = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
	EVP_RAND_CTX *t = tr ? EVP_RAND_CTX_new(tr, NULL) : NULL;
	EVP_RAND_CTX *d = NULL;
	uint8_t out[sizeof(kat_drbg_out)];
	unsigned int strength = 256;
	OSSL_PARAM tp[2], dp[3];
	int ret = -1;

	tp[0] = OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength);
	tp[1] = OSSL_PARAM_construct_end();
	dp[0] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, (char *)"AES-256-CTR", 0);
	dp[1] = OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &(int){ 1 });
	dp[2] = OSSL_PARAM_construct_end();
	if (!t || !cr || EVP_RAND_CTX_set_params(t, tp) != 1 ||
	    st_test_rand_set(t, kat_drbg_entropy, sizeof(kat_drbg_entropy), kat_drbg_nonce,
			     sizeof(kat_drbg_nonce)) ||
	    EVP_RAND_instantiate(t, strength, 0, NULL, 0, NULL) != 1)
		goto out;
	d = EVP_RAND_CTX_new(cr, t);
	if (!d || EVP_RAND_CTX_set_params(d, dp) != 1 ||
	    EVP_RAND_instantiate(d, strength, 0, kat_drbg_pers, sizeof(kat_drbg_pers),
				 NULL) != 1 ||
	    st_test_rand_set(t, kat_drbg_reseed, sizeof(kat_drbg_reseed), NULL, 0) ||
	    EVP_RAND_reseed(d, 0, NULL, 0, NULL, 0) != 1 ||
	    EVP_RAND_generate(d, out, sizeof(out), strength, 0, NULL, 0) != 1 ||
	    EVP_RAND_generate(d, out, sizeof(out), strength, 0, NULL, 0) != 1)
		goto out;
	ret = st_same(out, kat_drbg_out, sizeof(out), corrupt);
out:
	OPENSSL_cleanse(out, sizeof(out));
	EVP_RAND_CTX_free(d);
	EVP_RAND_CTX_free(t);
	EVP_RAND_free(cr);
	EVP_RAND_free(tr);
	return ret;
}

/*
 * Firmware integrity, the code half: SHA-384 over the loaded, read-only
 * segments that hold the firmware core's code (the one holding this
 * function) and its constants (the one holding the known answers), as this
 * process mapped them. The first run in the process records the reference;
 * every later run (power-on of another device instance, a reset, SelfTest)
 * must find the same bytes. This proves the code and constants did not
 * change since they were loaded; it cannot prove the binary is the one the
 * vendor built (the host's loader chose it; secure boot vouches for the
 * sources, hsm-design.md "Self-tests and the error state").
 */
struct st_seg {
	uintptr_t want[2];		/* an address in each segment to find */
	uintptr_t lo[2], hi[2];
};

static int st_find_seg(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct st_seg *s = arg;
	unsigned int i, k;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || !(ph->p_flags & PF_R))
			continue;
		for (k = 0; k < 2; k++)
			if (s->want[k] >= lo && s->want[k] < hi) {
				s->lo[k] = lo;
				s->hi[k] = hi;
			}
	}
	return s->lo[0] && s->lo[1];
}

static int st_code_digest(uint8_t out[HSM_BOOT_DIGEST_LEN])
{
	struct st_seg s = { .want = { (uintptr_t)hsm_selftest_run, (uintptr_t)kat_ecb_key } };
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ret = -1;

	dl_iterate_phdr(st_find_seg, &s);
	if (c && s.lo[0] && s.lo[1] && EVP_DigestInit_ex(c, EVP_sha384(), NULL) == 1 &&
	    EVP_DigestUpdate(c, (const void *)s.lo[0], s.hi[0] - s.lo[0]) == 1 &&
	    (s.lo[1] == s.lo[0] ||
	     EVP_DigestUpdate(c, (const void *)s.lo[1], s.hi[1] - s.lo[1]) == 1) &&
	    EVP_DigestFinal_ex(c, out, &n) == 1 && n == HSM_BOOT_DIGEST_LEN)
		ret = 0;
	EVP_MD_CTX_free(c);
	return ret;
}

static pthread_once_t st_code_once = PTHREAD_ONCE_INIT;
static uint8_t st_code_ref[HSM_BOOT_DIGEST_LEN];
static int st_code_ref_ok = -1;

static void st_code_record(void)
{
	st_code_ref_ok = st_code_digest(st_code_ref);
}

/*
 * Firmware integrity: the code half (above) and, given the boot record,
 * the boot half (hsm_boot_recheck: the image verified again against the
 * fuses, or the unsigned configuration measured again, compared with the
 * measurement taken at start).
 */
static int st_integrity(bool corrupt, const struct hsm_boot_state *boot)
{
	uint8_t now[HSM_BOOT_DIGEST_LEN];

	pthread_once(&st_code_once, st_code_record);
	if (st_code_ref_ok || st_code_digest(now))
		return -1;
	if (boot && hsm_boot_recheck(boot, false))
		return -1;
	return st_same(now, st_code_ref, sizeof(now), corrupt);
}

static int (*const st_tests[AZIHSM_ST_COUNT])(bool corrupt) = {
	[AZIHSM_ST_AES_ECB] = st_aes_ecb,
	[AZIHSM_ST_AES_CBC] = st_aes_cbc,
	[AZIHSM_ST_AES_GCM] = st_aes_gcm,
	[AZIHSM_ST_AES_XTS] = st_aes_xts,
	[AZIHSM_ST_AES_KWP] = st_aes_kwp,
	[AZIHSM_ST_SHA256] = st_sha256,
	[AZIHSM_ST_SHA384] = st_sha384,
	[AZIHSM_ST_SHA512] = st_sha512,
	[AZIHSM_ST_HMAC] = st_hmac,
	[AZIHSM_ST_HKDF] = st_hkdf,
	[AZIHSM_ST_KBKDF] = st_kbkdf,
	[AZIHSM_ST_ECDSA] = st_ecdsa,
	[AZIHSM_ST_ECDH] = st_ecdh,
	[AZIHSM_ST_RSA_SIGN] = st_rsa_sign,
	[AZIHSM_ST_RSA_DEC] = st_rsa_dec,
	[AZIHSM_ST_DRBG] = st_drbg,
};

int hsm_selftest_run(int fail_id, const struct hsm_boot_state *boot,
		     struct hsm_selftest_report *rep)
{
	int first = 0, id, r;

	memset(rep, 0, sizeof(*rep));
	for (id = 1; id < AZIHSM_ST_COUNT; id++) {
		r = id == AZIHSM_ST_INTEGRITY ? st_integrity(id == fail_id, boot) :
						st_tests[id](id == fail_id);
		rep->id[rep->n] = (uint8_t)id;
		rep->result[rep->n] = r > 0 ? AZIHSM_ST_NOT_RUN :
					      r < 0 ? AZIHSM_ST_FAIL : AZIHSM_ST_PASS;
		rep->n++;
		if (r < 0 && !first)
			first = id;
	}
	return first;
}
