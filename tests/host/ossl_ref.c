// SPDX-License-Identifier: MIT
/*
 * OpenSSL on its own, for the host tests' cross-checks of the vault
 * operations (test_svc_ops, test_lib_ops): digests, signature checks,
 * HMAC, HKDF / KBKDF, ECDH, RSA-OAEP and CKM_RSA_AES_KEY_WRAP wrapping.
 * Hash arguments are the wire values 1 SHA-256, 2 SHA-384, 3 SHA-512.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azihsm/msg.h"
#include "ossl_ref.h"

EVP_PKEY *ref_d2i_pub(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;

	return len ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
}

const EVP_MD *ref_md(uint8_t hash)
{
	return hash == AZIHSM_HASH_SHA256   ? EVP_sha256()
	       : hash == AZIHSM_HASH_SHA384 ? EVP_sha384()
					    : EVP_sha512();
}

size_t ref_digest(uint8_t hash, const char *msg, uint8_t *dg)
{
	unsigned int n = 0;

	EVP_Digest(msg, strlen(msg), dg, &n, ref_md(hash), NULL);
	return n;
}

/* OpenSSL's verdict on @sig over @dg (RSA @pad, PSS salt = digest length). */
int ref_verify(EVP_PKEY *pk, uint8_t hash, int pad, const uint8_t *dg, size_t dlen,
	       const uint8_t *sig, size_t sl)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	int ok = 0;

	if (c && EVP_PKEY_verify_init(c) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, ref_md(hash)) == 1 &&
	    (pad < 0 ||
	     (EVP_PKEY_CTX_set_rsa_padding(c, pad == AZIHSM_RSA_PAD_PSS ? RSA_PKCS1_PSS_PADDING
									: RSA_PKCS1_PADDING) == 1 &&
	      (pad != AZIHSM_RSA_PAD_PSS ||
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1))))
		ok = EVP_PKEY_verify(c, sig, sl, dg, dlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

size_t ref_hmac(uint8_t hash, const uint8_t *key, size_t klen, const char *msg, uint8_t *mac)
{
	unsigned int n = 0;

	HMAC(ref_md(hash), key, (int)klen, (const uint8_t *)msg, strlen(msg), mac, &n);
	return n;
}

const char *ref_md_name(uint8_t hash)
{
	return hash == AZIHSM_HASH_SHA256   ? "SHA256"
	       : hash == AZIHSM_HASH_SHA384 ? "SHA384"
					    : "SHA512";
}

/* HKDF or KBKDF (counter, HMAC) in OpenSSL; 0 or -1. */
int ref_kdf(bool kb, uint8_t hash, const uint8_t *key, size_t klen, const char *a, const char *b,
	    uint8_t *out, size_t len)
{
	OSSL_PARAM p[8], *q = p;
	EVP_KDF *k = EVP_KDF_fetch(NULL, kb ? "KBKDF" : "HKDF", NULL);
	EVP_KDF_CTX *c = k ? EVP_KDF_CTX_new(k) : NULL;
	int ret;

	if (kb) {
		*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0);
		*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0);
	}
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)ref_md_name(hash),
						0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, klen);
	if (a)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)a, strlen(a));
	if (b)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)b, strlen(b));
	*q = OSSL_PARAM_construct_end();
	ret = c && EVP_KDF_derive(c, out, len, p) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(k);
	return ret;
}

EVP_PKEY *ref_keygen(const char *alg, const char *curve, unsigned int bits)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pk = NULL;

	if (c && EVP_PKEY_keygen_init(c) == 1 &&
	    (!curve || EVP_PKEY_CTX_set_group_name(c, curve) == 1) &&
	    (!bits || EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits) == 1))
		EVP_PKEY_keygen(c, &pk);
	EVP_PKEY_CTX_free(c);
	return pk;
}

size_t ref_spki(EVP_PKEY *pk, uint8_t *out)
{
	uint8_t *p = out;
	int n = i2d_PUBKEY(pk, &p);

	return n > 0 ? (size_t)n : 0;
}

size_t ref_ecdh(EVP_PKEY *ours, EVP_PKEY *peer, uint8_t *z)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ours, NULL);
	size_t n = 132;

	if (!c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, peer) != 1 ||
	    EVP_PKEY_derive(c, z, &n) != 1)
		n = 0;
	EVP_PKEY_CTX_free(c);
	return n;
}

size_t ref_oaep_encrypt(EVP_PKEY *pub, uint8_t hash, const char *label, const uint8_t *in,
			size_t len, uint8_t *out)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	size_t n = 512;

	if (!c || EVP_PKEY_encrypt_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, ref_md(hash)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, ref_md(hash)) != 1 ||
	    (label && EVP_PKEY_CTX_set0_rsa_oaep_label(c, OPENSSL_memdup(label, strlen(label)),
						       (int)strlen(label)) != 1) ||
	    EVP_PKEY_encrypt(c, out, &n, in, len) != 1)
		n = 0;
	EVP_PKEY_CTX_free(c);
	return n;
}

/* CKM_RSA_AES_KEY_WRAP of @target to @pub with an AES-256 ephemeral key. */
size_t ref_wrap(EVP_PKEY *pub, uint8_t hash, const char *label, const uint8_t *target, size_t tlen,
		uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t eph[32];
	size_t n;
	int a = 0, b = 0;

	RAND_bytes(eph, sizeof(eph));
	n = ref_oaep_encrypt(pub, hash, label, eph, sizeof(eph), out);
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (!n || EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, eph, NULL) != 1 ||
	    EVP_EncryptUpdate(c, out + n, &a, target, (int)tlen) != 1 ||
	    EVP_EncryptFinal_ex(c, out + n + a, &b) != 1)
		n = 0;
	else
		n += (size_t)(a + b);
	EVP_CIPHER_CTX_free(c);
	return n;
}

size_t ref_pkcs8(EVP_PKEY *pk, uint8_t *out)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
	uint8_t *p = out;
	int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &p) : 0;

	PKCS8_PRIV_KEY_INFO_free(p8);
	return n > 0 ? (size_t)n : 0;
}
