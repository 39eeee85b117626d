/* SPDX-License-Identifier: MIT */
/*
 * azihsm validate: NIST vectors through one path (Documentation/validation.md).
 * The engine (cli-validate.c) reads the vectors (vectors.h) and asks a
 * backend for each operation; a backend is one path:
 *   device  libazihsm + ioctl (keys imported as session keys)
 *   kcapi   the kernel crypto API through AF_ALG, by our driver's names
 *   fw      libazihsm on the firmware core in-process (tests/host/azihsm-fw)
 */
#ifndef AZIHSM_VALIDATE_H
#define AZIHSM_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "azihsm/azihsm.h"

/* A backend's answer besides 0 (done) and -errno (an error: a failure). */
#define VAL_NA	1	/* not applicable on this path; *why says why */
/* verify: the device refused the vector's key (e.g. an inconsistent pair) */
#define VAL_KEY_REFUSED	2

struct val_backend;

struct val_ops {
	/* AES ECB/CBC/CTR/XTS, one call: @iv 16 bytes (NULL for ECB). */
	int (*aes)(struct val_backend *b, enum azihsm_aes_mode mode, bool decrypt,
		   const uint8_t *key, size_t klen, const uint8_t *iv, const uint8_t *in,
		   size_t len, uint8_t *out, const char **why);
	/* AES-GCM; decrypt: *auth_ok false when the tag does not verify. */
	int (*gcm)(struct val_backend *b, bool decrypt, const uint8_t *key, size_t klen,
		   const uint8_t *iv, size_t iv_len, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len,
		   bool *auth_ok, const char **why);
	/* SHA-2 (@bits 256/384/512) into @out (64 bytes). */
	int (*hash)(struct val_backend *b, int bits, const uint8_t *msg, size_t len,
		    uint8_t *out, const char **why);
	/* HMAC-SHA-2 into @out (64 bytes). */
	int (*hmac)(struct val_backend *b, int bits, const uint8_t *key, size_t klen,
		    const uint8_t *msg, size_t len, uint8_t *out, const char **why);
	/*
	 * Sign @digest with a key of @type (EC or RSA; one per type, kept):
	 * @key, imported the first time, or NULL: one the path generates.
	 * ECDSA (DER) or RSA (@pad). *pub: its public key (the caller frees
	 * it), to verify with OpenSSL.
	 */
	int (*gen_sign)(struct val_backend *b, enum azihsm_key_type type, EVP_PKEY *key, int bits,
			enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
			uint8_t *sig, size_t *sig_len, EVP_PKEY **pub, const char **why);
	/*
	 * Verify (@key: the vector's key; a private key where the vector
	 * gives one) over @digest: ECDSA (DER @sig) or RSA (@pad).
	 */
	int (*verify)(struct val_backend *b, EVP_PKEY *key, int bits,
		      enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
		      const uint8_t *sig, size_t sig_len, bool *valid, const char **why);
	/*
	 * HKDF (RFC 5869) of @ikm into a new HMAC key of @okm_len bytes that
	 * stays in the device; @mac: HMAC-SHA-@bits of @msg under it (64 bytes),
	 * for the caller to compare with an HMAC under the expected OKM.
	 */
	int (*hkdf_mac)(struct val_backend *b, int bits, const uint8_t *ikm, size_t ikm_len,
			const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
			size_t okm_len, const uint8_t *msg, size_t msg_len, uint8_t *mac,
			const char **why);
	void (*fini)(struct val_backend *b);
};

struct val_backend {
	const char *name;	/* "device", "fw", "kcapi" */
	const struct val_ops *ops;
	void *priv;
};

/* The libazihsm backend on an open session (path device, or fw on the host). */
int val_lib_init(struct val_backend *b, const char *name, struct azihsm_dev *dev,
		 struct azihsm_session *sess);
/* The AF_ALG backend. */
int val_kcapi_init(struct val_backend *b);

#endif
