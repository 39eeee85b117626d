// SPDX-License-Identifier: MIT
/*
 * The credential message, host side (format: hsm_auth_client.h). OpenSSL 3
 * EVP only; every secret copy is cleansed before return.
 */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include "hsm_auth_client.h"

int hsm_auth_kdf(const uint8_t z[HSM_AUTH_SECRET_LEN], const uint8_t nonce[HSM_AUTH_NONCE_LEN],
		 uint8_t key[HSM_AUTH_KEY_LEN], uint8_t iv[HSM_AUTH_IV_LEN])
{
	uint8_t okm[HSM_AUTH_KEY_LEN + HSM_AUTH_IV_LEN];
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ret = -EIO;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return -EIO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA384", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z,
						      HSM_AUTH_SECRET_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)nonce,
						      HSM_AUTH_NONCE_LEN);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      (void *)HSM_AUTH_HKDF_INFO,
						      strlen(HSM_AUTH_HKDF_INFO));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, okm, sizeof(okm), params) == 1) {
		memcpy(key, okm, HSM_AUTH_KEY_LEN);
		memcpy(iv, okm + HSM_AUTH_KEY_LEN, HSM_AUTH_IV_LEN);
		ret = 0;
	}
	OPENSSL_cleanse(okm, sizeof(okm));
	EVP_KDF_CTX_free(kctx);
	return ret;
}

EVP_PKEY *hsm_auth_p384_pub(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pk;
	char group[32];

	if (!len || len > HSM_AUTH_PUB_MAX)
		return NULL;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pk)
		return NULL;
	if (p != der + len || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) ||
	    strcmp(group, "secp384r1"))
		goto bad;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!pctx || EVP_PKEY_public_check(pctx) != 1)
		goto bad;
	EVP_PKEY_CTX_free(pctx);
	return pk;
bad:
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pk);
	return NULL;
}

int hsm_auth_channel_keys(EVP_PKEY *own, EVP_PKEY *peer,
			  const uint8_t nonce[HSM_AUTH_NONCE_LEN],
			  uint8_t key[HSM_AUTH_KEY_LEN], uint8_t iv[HSM_AUTH_IV_LEN])
{
	uint8_t z[HSM_AUTH_SECRET_LEN];
	size_t zlen = sizeof(z);
	EVP_PKEY_CTX *dctx;
	int ret = -EIO;

	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
	if (dctx && EVP_PKEY_derive_init(dctx) == 1 &&
	    EVP_PKEY_derive_set_peer(dctx, peer) == 1 &&
	    EVP_PKEY_derive(dctx, z, &zlen) == 1 && zlen == sizeof(z))
		ret = hsm_auth_kdf(z, nonce, key, iv);
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(dctx);
	return ret;
}

const char *hsm_auth_aad_label(enum hsm_auth_msg_kind kind)
{
	switch (kind) {
	case HSM_AUTH_MSG_OPEN:
		return HSM_AUTH_AAD_OPEN;
	case HSM_AUTH_MSG_CHPIN:
		return HSM_AUTH_AAD_CHPIN;
	case HSM_AUTH_MSG_RESET:
		return HSM_AUTH_AAD_RESET;
	}
	return NULL;
}

int hsm_auth_client_seal(const uint8_t *dev_pub, size_t dev_pub_len,
			 const uint8_t nonce[HSM_AUTH_NONCE_LEN], enum hsm_auth_msg_kind kind,
			 uint8_t role, const uint8_t id[HSM_AUTH_ID_LEN],
			 const uint8_t pin[HSM_AUTH_PIN_LEN],
			 const uint8_t *new_pin, struct hsm_auth_sealed *out)
{
	uint8_t key[HSM_AUTH_KEY_LEN], iv[HSM_AUTH_IV_LEN];
	uint8_t pt[HSM_AUTH_PT_MAX];
	EVP_PKEY *dev = NULL, *host = NULL;
	EVP_CIPHER_CTX *c = NULL;
	unsigned char *der = NULL;
	const char *label;
	size_t pt_len;
	int der_len, n, ret = -EIO;

	if (!dev_pub || !nonce || !id || !pin || !out ||
	    (kind != HSM_AUTH_MSG_OPEN && kind != HSM_AUTH_MSG_CHPIN &&
	     kind != HSM_AUTH_MSG_RESET) ||
	    (kind == HSM_AUTH_MSG_CHPIN && !new_pin))
		return -EINVAL;
	dev = hsm_auth_p384_pub(dev_pub, dev_pub_len);
	if (!dev)
		return -EBADMSG;
	label = hsm_auth_aad_label(kind);
	pt_len = kind == HSM_AUTH_MSG_CHPIN ? HSM_AUTH_CHPIN_PT_LEN : HSM_AUTH_OPEN_PT_LEN;
	pt[0] = role;
	memcpy(pt + 1, id, HSM_AUTH_ID_LEN);
	memcpy(pt + 1 + HSM_AUTH_ID_LEN, pin, HSM_AUTH_PIN_LEN);
	if (kind == HSM_AUTH_MSG_CHPIN)
		memcpy(pt + HSM_AUTH_OPEN_PT_LEN, new_pin, HSM_AUTH_PIN_LEN);

	host = EVP_PKEY_Q_keygen(NULL, NULL, "EC", HSM_AUTH_CURVE);
	if (!host)
		goto out;
	if (hsm_auth_channel_keys(host, dev, nonce, key, iv))
		goto out;
	der_len = i2d_PUBKEY(host, &der);
	if (der_len <= 0 || (size_t)der_len > sizeof(out->host_pub))
		goto out;

	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)label,
			      (int)strlen(label)) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, nonce, HSM_AUTH_NONCE_LEN) != 1 ||
	    EVP_EncryptUpdate(c, out->ct, &n, pt, (int)pt_len) != 1 || (size_t)n != pt_len ||
	    EVP_EncryptFinal_ex(c, out->ct + n, &n) != 1 || n != 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, HSM_AUTH_TAG_LEN, out->tag) != 1)
		goto out;
	memcpy(out->host_pub, der, (size_t)der_len);
	out->host_pub_len = (size_t)der_len;
	out->ct_len = pt_len;
	ret = 0;
out:
	if (ret && out)
		OPENSSL_cleanse(out, sizeof(*out));
	OPENSSL_cleanse(pt, sizeof(pt));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	OPENSSL_free(der);
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_free(host);
	EVP_PKEY_free(dev);
	return ret;
}
