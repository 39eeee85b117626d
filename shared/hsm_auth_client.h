/* SPDX-License-Identifier: MIT */
/*
 * azihsm: the credential message, host side, and its wire constants.
 *
 * Credentials never cross the host link in clear. The device hands out an
 * ephemeral ECDH P-384 public key (DER SubjectPublicKeyInfo) and a fresh
 * single-use 32-byte nonce; the host makes an ephemeral P-384 key of its
 * own and seals the credential to the device:
 *
 *   Z        = ECDH(host private, device public): 48-byte x coordinate
 *   key | iv = HKDF-SHA384(IKM = Z, salt = nonce,
 *                          info = "azihsm credential v1"), 32 + 12 bytes
 *   ct | tag = AES-256-GCM(key, iv, AAD, plaintext), 16-byte tag
 *   AAD      = "azihsm-open" | nonce     (open session, 11 + 32 bytes)
 *              "azihsm-chpin" | nonce    (change PIN,   12 + 32 bytes)
 *              "azihsm-reset" | nonce    (reset a credential, 12 + 32 bytes)
 *   plaintext = role(1) | id(16) | pin(16)                 open: 33 bytes
 *               role(1) | id(16) | pin(16) | new_pin(16)   chpin: 49 bytes
 *               role(1) | id(16) | pin(16)                 reset: 33 bytes
 *
 * A reset message (ResetUserCredential, sent in an officer session) carries
 * the credential the officer gives the target role: its role byte is the
 * target's (the Crypto User), id and pin are the new ones.
 *
 * The message sent is: host public key (DER SPKI), nonce, ciphertext, tag.
 * Labels are ASCII without a terminating NUL.
 *
 * This file depends on OpenSSL only (no firmware internals), so the
 * library can take it over as it is.
 */
#ifndef HSM_AUTH_CLIENT_H
#define HSM_AUTH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define HSM_AUTH_ID_LEN		16
#define HSM_AUTH_PIN_LEN	16
#define HSM_AUTH_NONCE_LEN	32
#define HSM_AUTH_TAG_LEN	16
#define HSM_AUTH_KEY_LEN	32	/* AES-256-GCM key */
#define HSM_AUTH_IV_LEN		12
#define HSM_AUTH_SECRET_LEN	48	/* P-384 ECDH x coordinate */
#define HSM_AUTH_PUB_MAX	160	/* a P-384 SPKI is 120 bytes */
#define HSM_AUTH_OPEN_PT_LEN	(1 + HSM_AUTH_ID_LEN + HSM_AUTH_PIN_LEN)
#define HSM_AUTH_CHPIN_PT_LEN	(HSM_AUTH_OPEN_PT_LEN + HSM_AUTH_PIN_LEN)
#define HSM_AUTH_PT_MAX		HSM_AUTH_CHPIN_PT_LEN
#define HSM_AUTH_HKDF_INFO	"azihsm credential v1"
#define HSM_AUTH_AAD_OPEN	"azihsm-open"
#define HSM_AUTH_AAD_CHPIN	"azihsm-chpin"
#define HSM_AUTH_AAD_RESET	"azihsm-reset"
#define HSM_AUTH_CURVE		"P-384"

/* Role byte of the plaintext (also stored in the partition image). */
enum hsm_auth_role {
	HSM_ROLE_OFFICER = 1,	/* Crypto Officer */
	HSM_ROLE_USER = 2,	/* Crypto User */
	/*
	 * The driver's kernel session (hsm_auth_open_kernel): no credential,
	 * never valid in a sealed message nor stored in the image.
	 */
	HSM_ROLE_KERNEL = 3,
};

/* Which message: selects the AAD label and the plaintext length. */
enum hsm_auth_msg_kind {
	HSM_AUTH_MSG_OPEN = 1,
	HSM_AUTH_MSG_CHPIN = 2,
	HSM_AUTH_MSG_RESET = 3,	/* plaintext as OPEN's: the new credential */
};

/* A sealed credential message, as the host sends it. */
struct hsm_auth_sealed {
	uint8_t host_pub[HSM_AUTH_PUB_MAX];	/* DER SPKI of the host's key */
	size_t host_pub_len;
	uint8_t ct[HSM_AUTH_PT_MAX];
	size_t ct_len;
	uint8_t tag[HSM_AUTH_TAG_LEN];
};

/*
 * Seal @role / @id / @pin (and @new_pin for HSM_AUTH_MSG_CHPIN; ignored and
 * may be NULL for OPEN and RESET) to the device key @dev_pub (DER SPKI,
 * P-384) under @nonce. A fresh host key pair is made for every call and freed; the
 * shared secret, derived key and plaintext are cleansed. 0 on success,
 * -EINVAL (NULL argument, unknown kind), -EBADMSG (@dev_pub not a valid
 * P-384 SPKI, or trailing bytes), -ENOMEM, -EIO (OpenSSL failure).
 * @role is copied as given (the device checks it).
 */
int hsm_auth_client_seal(const uint8_t *dev_pub, size_t dev_pub_len,
			 const uint8_t nonce[HSM_AUTH_NONCE_LEN], enum hsm_auth_msg_kind kind,
			 uint8_t role, const uint8_t id[HSM_AUTH_ID_LEN],
			 const uint8_t pin[HSM_AUTH_PIN_LEN],
			 const uint8_t *new_pin, struct hsm_auth_sealed *out);

/* The AAD label of @kind (NULL for an unknown kind). */
const char *hsm_auth_aad_label(enum hsm_auth_msg_kind kind);

/*
 * The key schedule shared by both ends: HKDF-SHA384 of the ECDH secret
 * @z with salt @nonce and info HSM_AUTH_HKDF_INFO into @key and @iv.
 * 0 or -EIO.
 */
int hsm_auth_kdf(const uint8_t z[HSM_AUTH_SECRET_LEN], const uint8_t nonce[HSM_AUTH_NONCE_LEN],
		 uint8_t key[HSM_AUTH_KEY_LEN], uint8_t iv[HSM_AUTH_IV_LEN]);

/* A whole-buffer DER SPKI of a valid P-384 point (both ends check keys so). */
EVP_PKEY *hsm_auth_p384_pub(const uint8_t *der, size_t len);

/*
 * Both ends' channel keys: ECDH of @own with @peer, then hsm_auth_kdf.
 * The shared secret is cleansed. 0 or -EIO.
 */
int hsm_auth_channel_keys(EVP_PKEY *own, EVP_PKEY *peer,
			  const uint8_t nonce[HSM_AUTH_NONCE_LEN],
			  uint8_t key[HSM_AUTH_KEY_LEN], uint8_t iv[HSM_AUTH_IV_LEN]);

#endif /* HSM_AUTH_CLIENT_H */
