/* SPDX-License-Identifier: MIT */
/* OpenSSL reference computations for the host tests (ossl_ref.c). */
#ifndef AZIHSM_OSSL_REF_H
#define AZIHSM_OSSL_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

EVP_PKEY *ref_d2i_pub(const uint8_t *der, size_t len);
const EVP_MD *ref_md(uint8_t hash);
size_t ref_digest(uint8_t hash, const char *msg, uint8_t *dg);
int ref_verify(EVP_PKEY *pk, uint8_t hash, int pad, const uint8_t *dg, size_t dlen,
	       const uint8_t *sig, size_t sl);
size_t ref_hmac(uint8_t hash, const uint8_t *key, size_t klen, const char *msg, uint8_t *mac);
const char *ref_md_name(uint8_t hash);
int ref_kdf(bool kb, uint8_t hash, const uint8_t *key, size_t klen, const char *a, const char *b,
	    uint8_t *out, size_t len);
EVP_PKEY *ref_keygen(const char *alg, const char *curve, unsigned int bits);
size_t ref_spki(EVP_PKEY *pk, uint8_t *out);
size_t ref_ecdh(EVP_PKEY *ours, EVP_PKEY *peer, uint8_t *z);
size_t ref_oaep_encrypt(EVP_PKEY *pub, uint8_t hash, const char *label, const uint8_t *in,
			size_t len, uint8_t *out);
size_t ref_wrap(EVP_PKEY *pub, uint8_t hash, const char *label, const uint8_t *target, size_t tlen,
		uint8_t *out);
size_t ref_pkcs8(EVP_PKEY *pk, uint8_t *out);

#endif
