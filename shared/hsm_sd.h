/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Security domain (Documentation/hsm-design.md, "Security domain"): the
 * domain key, its M-of-N split over GF(2^8) (Shamir), the shares encrypted
 * to the owners' RSA keys, the upload of a recombined key to a device's
 * exchange key, and the masking key backups are made under.
 *
 * The device side (split, encrypt shares, open an upload, masking key) and
 * the owners' side (decrypt a share, combine, seal an upload) are both
 * here: plain OpenSSL, no firmware state, so the CLI links them too.
 */
#ifndef HSM_SD_H
#define HSM_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_SD_ID_LEN		16
#define HSM_SD_KEY_LEN		32
#define HSM_SD_OWNERS_MIN	3
#define HSM_SD_OWNERS_MAX	10
#define HSM_SD_RSA_BITS_MIN	2048
#define HSM_SD_RSA_BITS_MAX	4096
/* A share in clear: domain id, quorum, x (1..N), y (32 bytes). */
#define HSM_SD_SHARE_LEN	(HSM_SD_ID_LEN + 1 + 1 + HSM_SD_KEY_LEN)
/* An upload: nonce (12), AES-256-GCM of domain id || quorum || key, tag (16). */
#define HSM_SD_UPLOAD_PLAIN	(HSM_SD_ID_LEN + 1 + HSM_SD_KEY_LEN)
#define HSM_SD_NONCE_LEN	12
#define HSM_SD_TAG_LEN		16

struct hsm_sd {
	uint8_t id[HSM_SD_ID_LEN];	/* HMAC-SHA256(key, HSM_SD_ID_LABEL), first 16 */
	uint8_t quorum;			/* M */
	uint8_t key[HSM_SD_KEY_LEN];
};

#define HSM_SD_ID_LABEL		"azihsm security domain id v1"
#define HSM_SD_UPLOAD_INFO	"azihsm security domain upload v1"
#define HSM_SD_MASK_INFO	"azihsm security domain masking key v1"

enum hsm_sd_status {
	HSM_SD_OK = 0,
	HSM_SD_INVALID,		/* bad quorum, owner count or owner key */
	HSM_SD_BAD_SHARE,	/* a share does not decrypt or is not of this domain */
	HSM_SD_TOO_FEW,		/* fewer distinct shares than the quorum */
	HSM_SD_MISMATCH,	/* the shares do not recombine to the domain's key */
	HSM_SD_BAD_UPLOAD,	/* the upload does not open or is not consistent */
	HSM_SD_CRYPTO,		/* RNG or OpenSSL failure */
};

/* The domain id of @key (sets sd->id from sd->key). 0 or -1. */
int hsm_sd_make_id(struct hsm_sd *sd);
/*
 * Split @sd->key into @n shares with threshold @sd->quorum (2 <= M <= N,
 * 3 <= N <= 10) and encrypt share i (x = i + 1) to @owner_der[i] (DER
 * SubjectPublicKeyInfo of an RSA key of 2048..4096 bits) with RSA-OAEP
 * (SHA-256, MGF1-SHA-256). @ct[i] gets @ct_len[i] bytes (cap @ct_cap each).
 * @rng draws the polynomial coefficients. HSM_SD_OK, INVALID, CRYPTO.
 */
int hsm_sd_split(const struct hsm_sd *sd, unsigned int n, const uint8_t *const *owner_der,
		 const size_t *owner_len, int (*rng)(void *ctx, void *out, size_t len),
		 void *rng_ctx, uint8_t **ct, size_t ct_cap, size_t *ct_len);
/*
 * The masking key backups under this domain are made with: @out is its
 * encryption key then its MAC key (struct hsm_masking_key, 32 + 48 bytes).
 * 0 or -1; cleanse it.
 */
#define HSM_SD_MASK_LEN		(32 + 48)
int hsm_sd_masking_key(const struct hsm_sd *sd, uint8_t out[HSM_SD_MASK_LEN]);
/*
 * Device: open an upload sealed to the exchange key @xchg (an EC P-384
 * private key, EVP_PKEY) by a host key @host_der (DER SPKI, P-384):
 * ECDH, HKDF-SHA384 (no salt, info HSM_SD_UPLOAD_INFO || exchange public
 * key DER) to an AES-256-GCM key, AAD HSM_SD_UPLOAD_INFO. The plaintext's
 * id must be the key's. HSM_SD_OK (@out filled), BAD_UPLOAD, CRYPTO.
 */
int hsm_sd_open_upload(void *xchg, const uint8_t *host_der, size_t host_len,
		       const uint8_t nonce[HSM_SD_NONCE_LEN], const uint8_t *ct, size_t ct_len,
		       const uint8_t tag[HSM_SD_TAG_LEN], struct hsm_sd *out);

/* ---- owners' side --------------------------------------------------- */
/* One decrypted share. */
struct hsm_sd_share {
	uint8_t id[HSM_SD_ID_LEN];
	uint8_t quorum;
	uint8_t x;
	uint8_t y[HSM_SD_KEY_LEN];
};
/*
 * Decrypt share ciphertext @ct with RSA private key @rsa (EVP_PKEY):
 * HSM_SD_OK, BAD_SHARE.
 */
int hsm_sd_decrypt_share(void *rsa, const uint8_t *ct, size_t ct_len, struct hsm_sd_share *out);
/*
 * Recombine @k shares of domain @id with quorum @quorum into @out: only
 * shares of that id and quorum count, distinct x; TOO_FEW if fewer than
 * the quorum remain, MISMATCH if the result's id is not @id.
 */
int hsm_sd_combine(const uint8_t id[HSM_SD_ID_LEN], uint8_t quorum,
		   const struct hsm_sd_share *shares, unsigned int k, struct hsm_sd *out);
/*
 * Seal @sd to a device's exchange public key @xchg_der (DER SPKI P-384):
 * @host_der (cap 128) gets the fresh host public key, @ct
 * HSM_SD_UPLOAD_PLAIN bytes. HSM_SD_OK, INVALID, CRYPTO.
 */
int hsm_sd_seal_upload(const struct hsm_sd *sd, const uint8_t *xchg_der, size_t xchg_len,
		       uint8_t *host_der, size_t *host_len, uint8_t nonce[HSM_SD_NONCE_LEN],
		       uint8_t ct[HSM_SD_UPLOAD_PLAIN], uint8_t tag[HSM_SD_TAG_LEN]);

/* GF(2^8) (AES polynomial 0x11b), for the tests. */
uint8_t hsm_sd_gf_mul(uint8_t a, uint8_t b);

#endif /* HSM_SD_H */
