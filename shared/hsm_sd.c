// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Security domain: Shamir over GF(2^8), share encryption (RSA-OAEP-SHA256),
 * the upload to an exchange key (ECDH P-384, HKDF-SHA384, AES-256-GCM) and
 * the domain's masking key (hsm_sd.h).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm_sd.h"

/* Constant time: no table, no branch on secret data. */
uint8_t hsm_sd_gf_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;
	int i;

	for (i = 0; i < 8; i++) {
		r ^= (uint8_t)(-(b & 1)) & a;
		a = (uint8_t)((a << 1) ^ ((uint8_t)(-(a >> 7)) & 0x1b));
		b >>= 1;
	}
	return r;
}

/* a^254 = a^-1 (0 for 0). */
static uint8_t gf_inv(uint8_t a)
{
	uint8_t r = 1, p = a;
	int e = 254;

	while (e) {
		if (e & 1)
			r = hsm_sd_gf_mul(r, p);
		p = hsm_sd_gf_mul(p, p);
		e >>= 1;
	}
	return r;
}

int hsm_sd_make_id(struct hsm_sd *sd)
{
	uint8_t mac[32];
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), sd->key, HSM_SD_KEY_LEN, (const uint8_t *)HSM_SD_ID_LABEL,
		  strlen(HSM_SD_ID_LABEL), mac, &n) || n != sizeof(mac))
		return -1;
	memcpy(sd->id, mac, HSM_SD_ID_LEN);
	return 0;
}

static int hkdf384(const uint8_t *secret, size_t slen, const uint8_t *info, size_t ilen,
		   uint8_t *out, size_t olen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t n = olen;
	int ok;

	if (!c)
		return -1;
	ok = EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha384()) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_key(c, secret, (int)slen) == 1 &&
	     EVP_PKEY_CTX_add1_hkdf_info(c, info, (int)ilen) == 1 &&
	     EVP_PKEY_derive(c, out, &n) == 1 && n == olen;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

int hsm_sd_masking_key(const struct hsm_sd *sd, uint8_t out[HSM_SD_MASK_LEN])
{
	return hkdf384(sd->key, HSM_SD_KEY_LEN, (const uint8_t *)HSM_SD_MASK_INFO,
		       strlen(HSM_SD_MASK_INFO), out, HSM_SD_MASK_LEN);
}

/* An owner's key: RSA of HSM_SD_RSA_BITS_MIN..MAX bits, DER SPKI exactly. */
static EVP_PKEY *owner_key(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);

	if (k && (p != der + len || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
		  EVP_PKEY_get_bits(k) < HSM_SD_RSA_BITS_MIN ||
		  EVP_PKEY_get_bits(k) > HSM_SD_RSA_BITS_MAX)) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* True when @a and @b share their RSA modulus (or it cannot be read). */
static bool same_modulus(const EVP_PKEY *a, const EVP_PKEY *b)
{
	BIGNUM *na = NULL, *nb = NULL;
	bool same = true;

	if (EVP_PKEY_get_bn_param(a, OSSL_PKEY_PARAM_RSA_N, &na) == 1 &&
	    EVP_PKEY_get_bn_param(b, OSSL_PKEY_PARAM_RSA_N, &nb) == 1)
		same = !BN_cmp(na, nb);
	BN_free(na);
	BN_free(nb);
	return same;
}

static int oaep_init(EVP_PKEY_CTX *c, bool enc)
{
	if ((enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) != 1)
		return -1;
	if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) != 1)
		return -1;
	return 0;
}

static void share_encode(const struct hsm_sd *sd, uint8_t x, const uint8_t y[HSM_SD_KEY_LEN],
			 uint8_t out[HSM_SD_SHARE_LEN])
{
	memcpy(out, sd->id, HSM_SD_ID_LEN);
	out[HSM_SD_ID_LEN] = sd->quorum;
	out[HSM_SD_ID_LEN + 1] = x;
	memcpy(out + HSM_SD_ID_LEN + 2, y, HSM_SD_KEY_LEN);
}

int hsm_sd_split(const struct hsm_sd *sd, unsigned int n, const uint8_t *const *owner_der,
		 const size_t *owner_len, int (*rng)(void *ctx, void *out, size_t len),
		 void *rng_ctx, uint8_t **ct, size_t ct_cap, size_t *ct_len)
{
	uint8_t coef[HSM_SD_OWNERS_MAX][HSM_SD_KEY_LEN];	/* c1..c(M-1) */
	uint8_t y[HSM_SD_KEY_LEN], plain[HSM_SD_SHARE_LEN];
	EVP_PKEY *keys[HSM_SD_OWNERS_MAX] = { NULL };
	unsigned int m = sd->quorum, i, j, k;
	int ret = HSM_SD_INVALID;

	if (n < HSM_SD_OWNERS_MIN || n > HSM_SD_OWNERS_MAX || m < 2 || m > n)
		return HSM_SD_INVALID;
	for (i = 0; i < n; i++) {
		keys[i] = owner_key(owner_der[i], owner_len[i]);
		if (!keys[i] || (size_t)EVP_PKEY_get_size(keys[i]) > ct_cap)
			goto out;
	}
	/*
	 * Each owner once: M shares to one key would let one holder meet the
	 * quorum. By modulus, whatever the exponent or the DER.
	 */
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (same_modulus(keys[i], keys[j]))
				goto out;
	ret = HSM_SD_CRYPTO;
	if (rng(rng_ctx, coef, (m - 1) * sizeof(coef[0])))
		goto out;
	for (i = 0; i < n; i++) {
		uint8_t x = (uint8_t)(i + 1);
		EVP_PKEY_CTX *c;
		size_t len = ct_cap;

		/* y = key + c1 x + ... + c(M-1) x^(M-1), Horner, per byte. */
		for (j = 0; j < HSM_SD_KEY_LEN; j++) {
			uint8_t acc = 0;

			for (k = m - 1; k >= 1; k--)
				acc = hsm_sd_gf_mul(acc, x) ^ coef[k - 1][j];
			y[j] = hsm_sd_gf_mul(acc, x) ^ sd->key[j];
		}
		share_encode(sd, x, y, plain);
		c = EVP_PKEY_CTX_new(keys[i], NULL);
		if (!c)
			goto out;
		if (oaep_init(c, true) || EVP_PKEY_encrypt(c, ct[i], &len, plain, sizeof(plain)) != 1) {
			EVP_PKEY_CTX_free(c);
			goto out;
		}
		EVP_PKEY_CTX_free(c);
		ct_len[i] = len;
	}
	ret = HSM_SD_OK;
out:
	for (i = 0; i < n; i++)
		EVP_PKEY_free(keys[i]);
	OPENSSL_cleanse(coef, sizeof(coef));
	OPENSSL_cleanse(y, sizeof(y));
	OPENSSL_cleanse(plain, sizeof(plain));
	return ret;
}

int hsm_sd_decrypt_share(void *rsa, const uint8_t *ct, size_t ct_len, struct hsm_sd_share *out)
{
	uint8_t plain[512];
	size_t len = sizeof(plain);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(rsa, NULL);
	int ret = HSM_SD_BAD_SHARE;

	if (!c)
		return HSM_SD_CRYPTO;
	if (!oaep_init(c, false) && EVP_PKEY_decrypt(c, plain, &len, ct, ct_len) == 1 &&
	    len == HSM_SD_SHARE_LEN && plain[HSM_SD_ID_LEN + 1] != 0) {
		memcpy(out->id, plain, HSM_SD_ID_LEN);
		out->quorum = plain[HSM_SD_ID_LEN];
		out->x = plain[HSM_SD_ID_LEN + 1];
		memcpy(out->y, plain + HSM_SD_ID_LEN + 2, HSM_SD_KEY_LEN);
		ret = HSM_SD_OK;
	}
	EVP_PKEY_CTX_free(c);
	OPENSSL_cleanse(plain, sizeof(plain));
	return ret;
}

int hsm_sd_combine(const uint8_t id[HSM_SD_ID_LEN], uint8_t quorum,
		   const struct hsm_sd_share *shares, unsigned int k, struct hsm_sd *out)
{
	const struct hsm_sd_share *use[HSM_SD_OWNERS_MAX];
	unsigned int n = 0, i, j, b;

	for (i = 0; i < k && n < quorum && n < HSM_SD_OWNERS_MAX; i++) {
		bool dup = false;

		if (memcmp(shares[i].id, id, HSM_SD_ID_LEN) || shares[i].quorum != quorum ||
		    !shares[i].x)
			continue;
		for (j = 0; j < n; j++)
			dup |= use[j]->x == shares[i].x;
		if (!dup)
			use[n++] = &shares[i];
	}
	if (quorum < 2 || n < quorum)
		return HSM_SD_TOO_FEW;
	memset(out, 0, sizeof(*out));
	/* Lagrange at 0: key = sum y_i * prod_{j != i} x_j / (x_j - x_i). */
	for (i = 0; i < n; i++) {
		uint8_t num = 1, den = 1, l;

		for (j = 0; j < n; j++) {
			if (j == i)
				continue;
			num = hsm_sd_gf_mul(num, use[j]->x);
			den = hsm_sd_gf_mul(den, use[j]->x ^ use[i]->x);
		}
		l = hsm_sd_gf_mul(num, gf_inv(den));
		for (b = 0; b < HSM_SD_KEY_LEN; b++)
			out->key[b] ^= hsm_sd_gf_mul(use[i]->y[b], l);
	}
	out->quorum = quorum;
	if (hsm_sd_make_id(out) || CRYPTO_memcmp(out->id, id, HSM_SD_ID_LEN)) {
		OPENSSL_cleanse(out, sizeof(*out));
		return HSM_SD_MISMATCH;
	}
	return HSM_SD_OK;
}

/* ECDH of @priv with DER SPKI @peer (P-384), then the upload key. */
static int upload_key(EVP_PKEY *priv, const uint8_t *peer_der, size_t peer_len,
		      const uint8_t *xchg_der, size_t xchg_len, uint8_t key[32])
{
	const unsigned char *p = peer_der;
	EVP_PKEY *peer = d2i_PUBKEY(NULL, &p, (long)peer_len);
	uint8_t z[48], info[sizeof(HSM_SD_UPLOAD_INFO) - 1 + 160];
	size_t zlen = sizeof(z), ilen = strlen(HSM_SD_UPLOAD_INFO);
	EVP_PKEY_CTX *c = NULL;
	int ret = -1;

	if (!peer || p != peer_der + peer_len || EVP_PKEY_get_base_id(peer) != EVP_PKEY_EC ||
	    EVP_PKEY_get_bits(peer) != 384 || xchg_len > sizeof(info) - ilen)
		goto out;
	c = EVP_PKEY_CTX_new(priv, NULL);
	if (!c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, peer) != 1 ||
	    EVP_PKEY_derive(c, z, &zlen) != 1)
		goto out;
	memcpy(info, HSM_SD_UPLOAD_INFO, ilen);
	memcpy(info + ilen, xchg_der, xchg_len);
	ret = hkdf384(z, zlen, info, ilen + xchg_len, key, 32);
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	return ret;
}

static int gcm(bool enc, const uint8_t key[32], const uint8_t nonce[HSM_SD_NONCE_LEN],
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[HSM_SD_TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	const char *aad = HSM_SD_UPLOAD_INFO;
	int n = 0, ok;

	if (!c)
		return -1;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 && (size_t)n == len;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, HSM_SD_TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + n, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, HSM_SD_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, len);
	return ok ? 0 : -1;
}

static int pub_der(EVP_PKEY *k, uint8_t *out, size_t cap, size_t *len)
{
	int n = i2d_PUBKEY(k, NULL);
	unsigned char *p = out;

	if (n <= 0 || (size_t)n > cap || i2d_PUBKEY(k, &p) != n)
		return -1;
	*len = (size_t)n;
	return 0;
}

int hsm_sd_open_upload(void *xchg, const uint8_t *host_der, size_t host_len,
		       const uint8_t nonce[HSM_SD_NONCE_LEN], const uint8_t *ct, size_t ct_len,
		       const uint8_t tag[HSM_SD_TAG_LEN], struct hsm_sd *out)
{
	uint8_t key[32], plain[HSM_SD_UPLOAD_PLAIN], xder[160], id[HSM_SD_ID_LEN];
	size_t xlen;
	int ret = HSM_SD_BAD_UPLOAD;

	if (ct_len != HSM_SD_UPLOAD_PLAIN)
		return HSM_SD_BAD_UPLOAD;
	if (pub_der(xchg, xder, sizeof(xder), &xlen))
		return HSM_SD_CRYPTO;
	if (upload_key(xchg, host_der, host_len, xder, xlen, key))
		goto out;
	if (gcm(false, key, nonce, ct, ct_len, plain, (uint8_t *)tag))
		goto out;
	memcpy(out->id, plain, HSM_SD_ID_LEN);
	out->quorum = plain[HSM_SD_ID_LEN];
	memcpy(out->key, plain + HSM_SD_ID_LEN + 1, HSM_SD_KEY_LEN);
	memcpy(id, out->id, sizeof(id));
	if (out->quorum < 2 || out->quorum > HSM_SD_OWNERS_MAX || hsm_sd_make_id(out) ||
	    CRYPTO_memcmp(id, out->id, sizeof(id))) {
		OPENSSL_cleanse(out, sizeof(*out));
		goto out;
	}
	ret = HSM_SD_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	return ret;
}

int hsm_sd_seal_upload(const struct hsm_sd *sd, const uint8_t *xchg_der, size_t xchg_len,
		       uint8_t *host_der, size_t *host_len, uint8_t nonce[HSM_SD_NONCE_LEN],
		       uint8_t ct[HSM_SD_UPLOAD_PLAIN], uint8_t tag[HSM_SD_TAG_LEN])
{
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t key[32], plain[HSM_SD_UPLOAD_PLAIN];
	const unsigned char *p = xchg_der;
	EVP_PKEY *x = d2i_PUBKEY(NULL, &p, (long)xchg_len);
	int ret = HSM_SD_INVALID;

	if (!eph) {
		ret = HSM_SD_CRYPTO;
		goto out;
	}
	if (!x || p != xchg_der + xchg_len)
		goto out;
	ret = HSM_SD_CRYPTO;
	if (pub_der(eph, host_der, 128, host_len) ||
	    upload_key(eph, xchg_der, xchg_len, xchg_der, xchg_len, key))
		goto out;
	memcpy(plain, sd->id, HSM_SD_ID_LEN);
	plain[HSM_SD_ID_LEN] = sd->quorum;
	memcpy(plain + HSM_SD_ID_LEN + 1, sd->key, HSM_SD_KEY_LEN);
	if (RAND_bytes(nonce, HSM_SD_NONCE_LEN) != 1)
		goto out;
	if (gcm(true, key, nonce, plain, sizeof(plain), ct, tag))
		goto out;
	ret = HSM_SD_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_PKEY_free(eph);
	EVP_PKEY_free(x);
	return ret;
}
