/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: cryptographic operations on borrowed key material.
 *
 * Every function takes the key as lent by hsm_vault_with_key() (the vault
 * has already checked the usage bits), checks that the key type fits the
 * operation, works on caller buffers with explicit capacities and returns
 * an enum hsm_ops_status. *fips_approved is always written: true only when
 * the operation succeeded with an approved algorithm and parameters.
 *
 * Output buffers: when @cap is too small (or @out is NULL) the call returns
 * HSM_OPS_BUFFER_SMALL and sets *len to the size needed (for decryption and
 * unwrap: the exact plaintext size, known only after decrypting; nothing is
 * written). AES outputs may overlap their input exactly (out == in).
 *
 * Plain C + OpenSSL 3 EVP, no QEMU types. Every intermediate secret is
 * cleansed. Rules and statuses: "Operations" in Documentation/hsm-design.md.
 */
#ifndef HSM_OPS_H
#define HSM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm_vault.h"

/* Status codes: 0 is success, every refusal has its own code. */
enum hsm_ops_status {
	HSM_OPS_OK = 0,
	HSM_OPS_INVALID_ARG,	/* NULL pointer, zero length where data is needed */
	HSM_OPS_WRONG_KEY_TYPE,	/* the key type does not fit the operation */
	HSM_OPS_BAD_HASH,	/* hash not SHA-256/384/512 */
	HSM_OPS_BAD_DIGEST_LEN,	/* digest length does not match the hash */
	HSM_OPS_BAD_PADDING_MODE, /* RSA signature padding unknown */
	HSM_OPS_BAD_LENGTH,	/* data length not allowed (block multiple, min, max) */
	HSM_OPS_BAD_IV,		/* IV / nonce length not allowed */
	HSM_OPS_BUFFER_SMALL,	/* output buffer too small (*len = needed) */
	HSM_OPS_INPUT_RANGE,	/* RSA mod-exp input >= n */
	HSM_OPS_DECRYPT_FAILED,	/* RSA-OAEP decoding failed */
	HSM_OPS_BAD_TAG,	/* AES-GCM tag does not verify */
	HSM_OPS_UNWRAP_FAILED,	/* AES-KWP integrity check failed */
	HSM_OPS_BAD_PEER,	/* peer public key malformed, not EC or not on its curve */
	HSM_OPS_PEER_CURVE,	/* peer public key on another curve than ours */
	HSM_OPS_CRYPTO,		/* unexpected OpenSSL failure */
	HSM_OPS_NOMEM,
};

enum hsm_hash {
	HSM_HASH_NONE = 0,
	HSM_HASH_SHA256 = 1,
	HSM_HASH_SHA384 = 2,
	HSM_HASH_SHA512 = 3,
};

enum hsm_rsa_sig_pad {
	HSM_RSA_PKCS1 = 1,	/* RSASSA-PKCS1-v1_5 */
	HSM_RSA_PSS = 2,	/* RSASSA-PSS, MGF1 same hash, salt = digest length */
};

#define HSM_AES_BLOCK		16
#define HSM_GCM_IV_LEN		12
#define HSM_GCM_TAG_LEN		16
#define HSM_GCM_TAG_MIN		4	/* shortest tag of the _tag variants */
#define HSM_GCM_TAG_FIPS_MIN	12	/* shorter tags: never approved */
#define HSM_HMAC_KEY_FIPS_MIN	14	/* 112 bits (SP 800-131A) */
#define HSM_XTS_TWEAK_LEN	16
#define HSM_XTS_UNIT_MAX	(1u << 24)	/* XTS data unit: 2^20 blocks (SP 800-38E) */
#define HSM_OPS_MAX_DATA	(16u << 20)	/* one AES call: at most 16 MiB */

const char *hsm_ops_strerror(int status);
/* Output size of @hash, 0 for an unknown one. */
size_t hsm_hash_size(enum hsm_hash hash);

/* ---- asymmetric ---------------------------------------------------- */

/*
 * ECDSA over a digest of @hash (P-256/384/521; dlen must equal the hash
 * size). Output: DER ECDSA-Sig-Value; needed size = the curve's maximum.
 */
int hsm_ops_ecdsa_sign(const struct hsm_key_ref *key, enum hsm_hash hash,
		       const uint8_t *digest, size_t dlen, uint8_t *sig, size_t cap,
		       size_t *len, bool *fips_approved);

/* RSA signature of a digest: PKCS#1 v1.5 or PSS. Output: modulus size. */
int hsm_ops_rsa_sign(const struct hsm_key_ref *key, enum hsm_rsa_sig_pad pad,
		     enum hsm_hash hash, const uint8_t *digest, size_t dlen, uint8_t *sig,
		     size_t cap, size_t *len, bool *fips_approved);

/*
 * Verify a signature over a digest of @hash with the public part of an EC
 * key (DER ECDSA-Sig-Value; @pad ignored) or an RSA key (@pad: PKCS#1 v1.5
 * or PSS with any salt length). HSM_OPS_OK with *valid false when the
 * signature does not verify (or does not parse).
 */
int hsm_ops_verify(const struct hsm_key_ref *key, enum hsm_rsa_sig_pad pad,
		   enum hsm_hash hash, const uint8_t *digest, size_t dlen, const uint8_t *sig,
		   size_t sig_len, bool *valid, bool *fips_approved);

/* RSA-OAEP decryption (MGF1 same hash, optional label; @in = modulus size). */
int hsm_ops_rsa_oaep_decrypt(const struct hsm_key_ref *key, enum hsm_hash hash,
			     const uint8_t *label, size_t label_len, const uint8_t *in,
			     size_t inlen, uint8_t *out, size_t cap, size_t *len,
			     bool *fips_approved);

/*
 * Raw RSA: out = in^d mod n (private) or in^e mod n (public). @in is a
 * big-endian number of exactly the modulus size (else BAD_LENGTH) and < n
 * (else INPUT_RANGE); output has the modulus size. Never FIPS-approved on
 * its own (the padding is done by the caller).
 */
int hsm_ops_rsa_private(const struct hsm_key_ref *key, const uint8_t *in, size_t inlen,
			uint8_t *out, size_t cap, size_t *len, bool *fips_approved);
int hsm_ops_rsa_public(const struct hsm_key_ref *key, const uint8_t *in, size_t inlen,
		       uint8_t *out, size_t cap, size_t *len, bool *fips_approved);

/*
 * ECDH with our EC key and @peer (DER SubjectPublicKeyInfo on the same
 * curve). Output: the shared secret (x coordinate, field size bytes).
 */
int hsm_ops_ecdh(const struct hsm_key_ref *key, const uint8_t *peer, size_t peer_len,
		 uint8_t *out, size_t cap, size_t *len, bool *fips_approved);

/* ---- AES ----------------------------------------------------------- */

/*
 * AES-CBC without padding, AES-128/192/256 keys. @len a non-zero multiple of
 * 16; output @len bytes. @iv_out (may be NULL) gets the chaining value for
 * the next call (last ciphertext block).
 */
int hsm_ops_aes_cbc(const struct hsm_key_ref *key, bool encrypt, const uint8_t iv[16],
		    const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		    uint8_t iv_out[16], bool *fips_approved);

/*
 * AES-ECB without padding, AES-128/192/256 keys; @len a non-zero multiple
 * of 16, output @len bytes.
 */
int hsm_ops_aes_ecb(const struct hsm_key_ref *key, bool encrypt, const uint8_t *in, size_t len,
		    uint8_t *out, size_t cap, bool *fips_approved);

/*
 * AES-CTR (SP 800-38A, the whole 16-byte block a big-endian counter that
 * wraps modulo 2^128), AES-128/192/256 keys; encryption and decryption are
 * the same. @len >= 1, output @len bytes. @iv_out (may be NULL) gets the
 * counter after the last block used, a partial last block counting whole.
 */
int hsm_ops_aes_ctr(const struct hsm_key_ref *key, const uint8_t iv[16], const uint8_t *in,
		    size_t len, uint8_t *out, size_t cap, uint8_t iv_out[16],
		    bool *fips_approved);

/*
 * AES-GCM, IV 12 bytes, tag 16 bytes; len may be 0. Keys: AES256_GCM and
 * AES-128/192/256.
 */
int hsm_ops_aes_gcm_encrypt(const struct hsm_key_ref *key, const uint8_t *iv, size_t iv_len,
			    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
			    uint8_t *out, size_t cap, uint8_t tag[16], bool *fips_approved);
/* Refuses a bad tag with HSM_OPS_BAD_TAG; @out is then zeroed. */
int hsm_ops_aes_gcm_decrypt(const struct hsm_key_ref *key, const uint8_t *iv, size_t iv_len,
			    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
			    const uint8_t tag[16], uint8_t *out, size_t cap,
			    bool *fips_approved);

/*
 * The same with a tag of @tag_len bytes (HSM_GCM_TAG_MIN..16): encrypt
 * writes @tag_len bytes of tag, decrypt checks the @tag_len bytes given.
 * Approved only with tags of HSM_GCM_TAG_FIPS_MIN bytes or more.
 */
int hsm_ops_aes_gcm_encrypt_tag(const struct hsm_key_ref *key, const uint8_t *iv,
				size_t iv_len, const uint8_t *aad, size_t aad_len,
				const uint8_t *in, size_t len, uint8_t *out, size_t cap,
				uint8_t *tag, size_t tag_len, bool *fips_approved);
int hsm_ops_aes_gcm_decrypt_tag(const struct hsm_key_ref *key, const uint8_t *iv,
				size_t iv_len, const uint8_t *aad, size_t aad_len,
				const uint8_t *in, size_t len, const uint8_t *tag,
				size_t tag_len, uint8_t *out, size_t cap, bool *fips_approved);

/*
 * AES-XTS (key type AES256_XTS: 64 bytes, or AES128_XTS: 32 bytes; halves
 * different, or equal in a HSM_ORIGIN_KERNEL key, then never approved) of
 * one data unit: @len >= 16, ciphertext stealing for non-multiples of 16;
 * output @len bytes.
 */
int hsm_ops_aes_xts(const struct hsm_key_ref *key, bool encrypt, const uint8_t tweak[16],
		    const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		    bool *fips_approved);

/*
 * The same for a slice of a data unit that starts @start_block 16-byte
 * blocks into it: the first block's tweak is E_K2(tweak) * alpha^start_block
 * (GF(2^128), IEEE 1619 little-endian), so slices of 16-byte multiples
 * followed by a last slice of >= 16 bytes (stealing if not a multiple)
 * give exactly the whole unit's XTS. start_block * 16 + @len at most
 * HSM_XTS_UNIT_MAX (else BAD_LENGTH). start_block 0 is hsm_ops_aes_xts;
 * other offsets use an AES-ECB construction, approved like the whole unit
 * (distinct halves).
 */
int hsm_ops_aes_xts_at(const struct hsm_key_ref *key, bool encrypt, const uint8_t tweak[16],
		       uint64_t start_block, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, bool *fips_approved);

/*
 * AES key wrap with padding (RFC 5649 / SP 800-38F KWP), AES-128/192/256
 * keys. Wrap: 1 <= len, output = roundup(len, 8) + 8. Unwrap: len a multiple
 * of 8, >= 16; a failed integrity check is HSM_OPS_UNWRAP_FAILED.
 */
int hsm_ops_aes_kwp_wrap(const struct hsm_key_ref *key, const uint8_t *in, size_t len,
			 uint8_t *out, size_t cap, size_t *olen, bool *fips_approved);
int hsm_ops_aes_kwp_unwrap(const struct hsm_key_ref *key, const uint8_t *in, size_t len,
			   uint8_t *out, size_t cap, size_t *olen, bool *fips_approved);

/* ---- MAC and key derivation ----------------------------------------- */

/*
 * HMAC with an HMAC key; the hash is the key type's. Output: hash size.
 * Approved with keys of HSM_HMAC_KEY_FIPS_MIN bytes or more.
 */
int hsm_ops_hmac(const struct hsm_key_ref *key, const uint8_t *data, size_t len,
		 uint8_t *mac, size_t cap, size_t *mac_len, bool *fips_approved);

/*
 * HKDF (RFC 5869, extract + expand) with an HMAC-type key as input keying
 * material; writes exactly @out_len bytes (1..255 * hash size).
 */
int hsm_ops_hkdf(const struct hsm_key_ref *key, enum hsm_hash hash, const uint8_t *salt,
		 size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
		 size_t out_len, bool *fips_approved);

/*
 * SP 800-108 KDF in counter mode with HMAC-@hash (OpenSSL "KBKDF": 32-bit
 * counter before the fixed input, label || 0x00 || context || [L]_32), an
 * HMAC-type key as key-derivation key; writes exactly @out_len bytes
 * (1..HSM_KBKDF_MAX).
 */
#define HSM_KBKDF_MAX	1024
int hsm_ops_kbkdf(const struct hsm_key_ref *key, enum hsm_hash hash, const uint8_t *label,
		  size_t label_len, const uint8_t *context, size_t context_len, uint8_t *out,
		  size_t out_len, bool *fips_approved);

/* ---- key unwrap ------------------------------------------------------ */

/*
 * CKM_RSA_AES_KEY_WRAP unwrap: @in = RSA-OAEP(@hash, @label) of an ephemeral
 * AES key (16, 24 or 32 bytes) || AES-KWP of the target material under it.
 * Output: the target material (secret bytes or PKCS#8 DER), for the service
 * layer to import. The ephemeral key is cleansed.
 */
int hsm_ops_rsa_aes_unwrap(const struct hsm_key_ref *key, enum hsm_hash hash,
			   const uint8_t *label, size_t label_len, const uint8_t *in,
			   size_t len, uint8_t *out, size_t cap, size_t *olen,
			   bool *fips_approved);

#endif /* HSM_OPS_H */
