// SPDX-License-Identifier: MIT
/*
 * azihsm validate, paths device and fw: the device's services through
 * libazihsm. A vector's key enters as a session key the way any
 * application's key does: CKM_RSA_AES_KEY_WRAP (RSA-OAEP SHA-256 of a
 * fresh AES-256 key || AES-KWP of the key) to an RSA-2048 session key
 * with the unwrap usage that the run generates, then RsaUnwrap
 * (azihsm_rsa_unwrap) into a session key. The last key is kept
 * while the next vector uses the same bytes (KAT files share keys).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azihsm/msg.h"
#include "validate.h"

#define GEN_SLOTS	6
#define KEY_MAX		8192	/* PKCS#8 of RSA-4096 and its wrapping */

struct lib_be {
	struct azihsm_dev *dev;
	struct azihsm_session *sess;
	uint16_t uk;		/* the unwrapping key */
	EVP_PKEY *uk_pub;
	/* the imported key kept for the next vector */
	uint8_t *kbytes;
	size_t klen;
	enum azihsm_key_type ktype;
	uint32_t kusage;
	uint16_t kid;
	bool have_key;
	char err[160];		/* the last error's device status, for *why */
	const char *stage;	/* what the last command was */
	/* generated signing keys, one per type (gen_types) */
	struct {
		uint16_t id;
		EVP_PKEY *pub;
	} gen[GEN_SLOTS];
};

static const char *na_gcm_enc =
	"GCM encryption IVs are drawn by the device for partition sessions (SP 800-38D "
	"8.2.2, issue 9): a vector's IV cannot be given";

static void drop_key(struct lib_be *l)
{
	if (l->have_key)
		azihsm_key_delete(l->sess, l->kid);
	l->have_key = false;
	if (l->kbytes)
		OPENSSL_clear_free(l->kbytes, l->klen);
	l->kbytes = NULL;
	l->klen = 0;
}

/* @ret (an error of @what) with the device's status in *why. */
static int lib_err(struct lib_be *l, int ret, const char *what, const char **why)
{
	struct azihsm_last_status st = azihsm_last_status(l->dev);

	if (ret >= 0)
		return ret;
	snprintf(l->err, sizeof(l->err), "%s: %s%s%s", l->stage ? l->stage : what, azihsm_strerror(ret),
		 st.kind ? ", device status " : "", st.kind ? azihsm_status_str(st) : "");
	*why = l->err;
	return ret;
}

static int wrap(struct lib_be *l, const uint8_t *target, size_t tlen, uint8_t *out,
		size_t *out_len)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(l->uk_pub, NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t eph[32];
	size_t n = 512;
	int a = 0, f = 0, ret = -EIO;

	if (pc && c && RAND_bytes(eph, sizeof(eph)) == 1 && EVP_PKEY_encrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_encrypt(pc, out, &n, eph, sizeof(eph)) == 1 && n + tlen + 16 <= KEY_MAX) {
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, eph, NULL) == 1 &&
		    EVP_EncryptUpdate(c, out + n, &a, target, (int)tlen) == 1 &&
		    EVP_EncryptFinal_ex(c, out + n + a, &f) == 1) {
			*out_len = n + (size_t)a + (size_t)f;
			ret = 0;
		}
	}
	OPENSSL_cleanse(eph, sizeof(eph));
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_CTX_free(pc);
	return ret;
}

/* @target (raw secret or PKCS#8) as a new session key *id. */
static int unwrap_new(struct lib_be *l, enum azihsm_key_type type, uint32_t usage,
		      const uint8_t *target, size_t tlen, uint16_t *id)
{
	struct azihsm_new_key nk = { .type = type, .usage = usage };
	uint8_t *w = malloc(KEY_MAX);
	size_t wlen;
	int ret;

	if (!w)
		return -ENOMEM;
	l->stage = "key import (RsaUnwrap)";
	ret = wrap(l, target, tlen, w, &wlen);
	if (!ret)
		ret = azihsm_rsa_unwrap(l->sess, l->uk, AZIHSM_HASH_ALG_SHA256, NULL, 0, w, wlen,
					&nk, id, NULL);
	free(w);
	if (!ret)
		l->stage = NULL;
	return ret;
}

/* The vector's key @target as a session key, kept for the next vector. */
static int import(struct lib_be *l, enum azihsm_key_type type, uint32_t usage,
		  const uint8_t *target, size_t tlen, uint16_t *id)
{
	int ret;

	if (l->have_key && l->ktype == type && l->kusage == usage && l->klen == tlen &&
	    !CRYPTO_memcmp(l->kbytes, target, tlen)) {
		*id = l->kid;
		return 0;
	}
	drop_key(l);
	l->kbytes = malloc(tlen ? tlen : 1);
	if (!l->kbytes)
		return -ENOMEM;
	ret = unwrap_new(l, type, usage, target, tlen, &l->kid);
	if (ret)
		return ret;
	memcpy(l->kbytes, target, tlen);
	l->klen = tlen;
	l->ktype = type;
	l->kusage = usage;
	l->have_key = true;
	*id = l->kid;
	return 0;
}

static int pkcs8(EVP_PKEY *pk, uint8_t **der, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
	int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, der) : -1;

	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return -EINVAL;
	*len = (size_t)n;
	return 0;
}

static int import_pkey(struct lib_be *l, EVP_PKEY *pk, enum azihsm_key_type type,
		       uint32_t usage, uint16_t *id)
{
	uint8_t *der = NULL;
	size_t n;
	int ret = pkcs8(pk, &der, &n);

	if (ret)
		return ret;
	ret = import(l, type, usage, der, n, id);
	OPENSSL_clear_free(der, n);
	return ret;
}

static enum azihsm_hash_alg hash_alg(int bits)
{
	return bits == 256 ? AZIHSM_HASH_ALG_SHA256 :
	       bits == 384 ? AZIHSM_HASH_ALG_SHA384 : AZIHSM_HASH_ALG_SHA512;
}

static bool bad_tag(struct lib_be *l)
{
	struct azihsm_last_status st = azihsm_last_status(l->dev);

	return st.kind == AZIHSM_STATUS_KIND_HSM && st.code == AZIHSM_STATUS_BAD_TAG;
}

static enum azihsm_key_type aes_type(size_t klen)
{
	return klen == 16 ? AZIHSM_KEY_TYPE_AES128 :
	       klen == 24 ? AZIHSM_KEY_TYPE_AES192 : AZIHSM_KEY_TYPE_AES256;
}

static int lib_aes(struct val_backend *b, enum azihsm_aes_mode mode, bool decrypt,
		   const uint8_t *key, size_t klen, const uint8_t *iv, const uint8_t *in,
		   size_t len, uint8_t *out, const char **why)
{
	struct lib_be *l = b->priv;
	struct azihsm_aes_params p = { .mode = mode, .decrypt = decrypt, .iv = iv,
				       .iv_len = iv ? 16 : 0 };
	enum azihsm_key_type t = aes_type(klen);
	uint16_t id;
	size_t olen;
	int ret;

	if (mode == AZIHSM_AES_MODE_XTS) {
		if (klen != 64) {
			*why = "partition keys do XTS with AES-256 only (key type aes256-xts): "
			       "XTS-AES-128 runs on path kcapi";
			return VAL_NA;
		}
		t = AZIHSM_KEY_TYPE_AES256_XTS;
	}
	ret = import(l, t, AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, key, klen, &id);
	if (!ret)
		ret = azihsm_aes_crypt(l->sess, id, &p, in, len, out, len ? len : 1, &olen, NULL);
	if (!ret && olen != len)
		ret = -EPROTO;
	return lib_err(l, ret, "AesEncryptDecrypt", why);
}

static int lib_gcm(struct val_backend *b, bool decrypt, const uint8_t *key, size_t klen,
		   const uint8_t *iv, size_t iv_len, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len,
		   bool *auth_ok, const char **why)
{
	struct lib_be *l = b->priv;
	struct azihsm_aes_params p = { .mode = AZIHSM_AES_MODE_GCM, .decrypt = true, .iv = iv,
				       .iv_len = iv_len, .aad = aad, .aad_len = aad_len,
				       .tag = tag, .tag_len = tag_len };
	uint16_t id;
	size_t olen;
	int ret;

	if (!decrypt) {
		*why = na_gcm_enc;
		return VAL_NA;
	}
	if (iv_len != 12) {
		*why = "the device's GCM takes 96-bit IVs only";
		return VAL_NA;
	}
	if (tag_len < 12 || tag_len > 16) {
		*why = "partition sessions check GCM tags of 12..16 bytes only";
		return VAL_NA;
	}
	ret = import(l, aes_type(klen), AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, key, klen,
		     &id);
	if (ret)
		return lib_err(l, ret, "key import", why);
	l->stage = NULL;
	ret = azihsm_aes_crypt(l->sess, id, &p, in, len, out, len ? len : 1, &olen, NULL);
	*auth_ok = !ret;
	if (ret && bad_tag(l))
		return 0;
	return lib_err(l, ret, "AesEncryptDecrypt (GCM)", why);
}

static int lib_hash(struct val_backend *b, int bits, const uint8_t *msg, size_t len,
		    uint8_t *out, const char **why)
{
	(void)b, (void)bits, (void)msg, (void)len, (void)out;
	*why = "partition sessions have no digest service (the device hashes for the kernel "
	       "session: path kcapi)";
	return VAL_NA;
}

static int lib_hmac(struct val_backend *b, int bits, const uint8_t *key, size_t klen,
		    const uint8_t *msg, size_t len, uint8_t *out, const char **why)
{
	struct lib_be *l = b->priv;
	enum azihsm_key_type t = bits == 256 ? AZIHSM_KEY_TYPE_HMAC_SHA256 :
				 bits == 384 ? AZIHSM_KEY_TYPE_HMAC_SHA384 :
					       AZIHSM_KEY_TYPE_HMAC_SHA512;
	uint16_t id;
	size_t mlen;
	int ret;

	if (klen < 16 || klen > 128) {
		*why = "partition HMAC keys are 16..128 bytes (imported secrets)";
		return VAL_NA;
	}
	ret = import(l, t, AZIHSM_KEY_USE_SIGN | AZIHSM_KEY_USE_VERIFY, key, klen, &id);
	if (!ret)
		ret = azihsm_hmac(l->sess, id, msg, len, out, 64, &mlen, NULL);
	return lib_err(l, ret, "HMAC", why);
}

static const enum azihsm_key_type gen_types[] = {
	AZIHSM_KEY_TYPE_EC_P256, AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_TYPE_EC_P521,
	AZIHSM_KEY_TYPE_RSA2048, AZIHSM_KEY_TYPE_RSA3072, AZIHSM_KEY_TYPE_RSA4096,
};

static int lib_gen_sign(struct val_backend *b, enum azihsm_key_type type, EVP_PKEY *key,
			int bits, enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
			uint8_t *sig, size_t *sig_len, EVP_PKEY **pub, const char **why)
{
	struct lib_be *l = b->priv;
	size_t slot;
	bool ec = type == AZIHSM_KEY_TYPE_EC_P256 || type == AZIHSM_KEY_TYPE_EC_P384 ||
		  type == AZIHSM_KEY_TYPE_EC_P521;
	int ret;

	for (slot = 0; slot < GEN_SLOTS && gen_types[slot] != type; slot++)
		;
	if (slot == GEN_SLOTS)
		return -EINVAL;
	if (!l->gen[slot].pub && key) {
		uint8_t *der = NULL;
		size_t n = 0;

		ret = pkcs8(key, &der, &n);
		if (!ret)
			ret = unwrap_new(l, type, AZIHSM_KEY_USE_SIGN, der, n, &l->gen[slot].id);
		OPENSSL_clear_free(der, n);
		if (ret)
			return lib_err(l, ret, "key import", why);
		if (!EVP_PKEY_up_ref(key))
			return -ENOMEM;
		l->gen[slot].pub = key;
	} else if (!l->gen[slot].pub) {
		uint8_t der[1024];
		const uint8_t *p = der;
		size_t n;

		ret = azihsm_key_generate(l->sess, type, AZIHSM_KEY_USE_SIGN, NULL, 0, false,
					  &l->gen[slot].id);
		if (!ret)
			ret = azihsm_key_public(l->sess, l->gen[slot].id, der, sizeof(der), &n);
		if (ret)
			return lib_err(l, ret, "key generate", why);
		l->gen[slot].pub = d2i_PUBKEY(NULL, &p, (long)n);
		if (!l->gen[slot].pub)
			return -EPROTO;
	}
	l->stage = NULL;
	if (ec)
		ret = azihsm_ecdsa_sign(l->sess, l->gen[slot].id, hash_alg(bits), digest, dlen,
					sig, *sig_len, sig_len, NULL);
	else
		ret = azihsm_rsa_sign(l->sess, l->gen[slot].id, hash_alg(bits), pad, digest,
				      dlen, sig, *sig_len, sig_len, NULL);
	if (!ret && !EVP_PKEY_up_ref(l->gen[slot].pub))
		ret = -ENOMEM;
	if (!ret)
		*pub = l->gen[slot].pub;
	return lib_err(l, ret, "Sign", why);
}

static int key_type_of(EVP_PKEY *k, enum azihsm_key_type *t, const char **why)
{
	int bits = EVP_PKEY_get_bits(k);

	if (EVP_PKEY_is_a(k, "EC")) {
		char g[32] = "";

		EVP_PKEY_get_group_name(k, g, sizeof(g), NULL);
		if (!strcmp(g, "prime256v1"))
			*t = AZIHSM_KEY_TYPE_EC_P256;
		else if (!strcmp(g, "secp384r1"))
			*t = AZIHSM_KEY_TYPE_EC_P384;
		else if (!strcmp(g, "secp521r1"))
			*t = AZIHSM_KEY_TYPE_EC_P521;
		else {
			*why = "the device has the curves P-256, P-384 and P-521";
			return VAL_NA;
		}
		return 0;
	}
	if (bits == 2048 || bits == 3072 || bits == 4096) {
		*t = bits == 2048 ? AZIHSM_KEY_TYPE_RSA2048 :
		     bits == 3072 ? AZIHSM_KEY_TYPE_RSA3072 : AZIHSM_KEY_TYPE_RSA4096;
		return 0;
	}
	*why = "the device has RSA-2048, -3072 and -4096";
	return VAL_NA;
}

static bool has_private(EVP_PKEY *key)
{
	BIGNUM *bn = NULL;
	bool ok = EVP_PKEY_get_bn_param(key, "priv", &bn) == 1 ||
		  EVP_PKEY_get_bn_param(key, "d", &bn) == 1;

	BN_clear_free(bn);
	return ok;
}

static int lib_verify(struct val_backend *b, EVP_PKEY *key, int bits,
		      enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
		      const uint8_t *sig, size_t sig_len, bool *valid, const char **why)
{
	struct lib_be *l = b->priv;
	enum azihsm_key_type t;
	uint16_t id;
	int ret = key_type_of(key, &t, why);

	if (ret)
		return ret;
	if (!has_private(key)) {
		*why = "the vector gives only the public key: the device verifies with keys in "
		       "its vault and imports private keys only";
		return VAL_NA;
	}
	ret = import_pkey(l, key, t, AZIHSM_KEY_USE_VERIFY, &id);
	if (ret && azihsm_last_status(l->dev).kind == AZIHSM_STATUS_KIND_HSM &&
	    azihsm_last_status(l->dev).code == AZIHSM_STATUS_INVALID_ARG)
		return VAL_KEY_REFUSED;
	if (!ret)
		ret = azihsm_verify(l->sess, id, hash_alg(bits), pad, digest, dlen, sig, sig_len,
				    valid, NULL);
	return lib_err(l, ret, "Verify", why);
}

static int lib_hkdf_mac(struct val_backend *b, int bits, const uint8_t *ikm, size_t ikm_len,
			const uint8_t *salt, size_t salt_len, const uint8_t *info,
			size_t info_len, size_t okm_len, const uint8_t *msg, size_t msg_len,
			uint8_t *mac, const char **why)
{
	struct lib_be *l = b->priv;
	enum azihsm_key_type t = bits == 256 ? AZIHSM_KEY_TYPE_HMAC_SHA256 :
				 bits == 384 ? AZIHSM_KEY_TYPE_HMAC_SHA384 :
					       AZIHSM_KEY_TYPE_HMAC_SHA512;
	struct azihsm_new_key nk = { .type = t, .usage = AZIHSM_KEY_USE_SIGN };
	uint16_t id, okm;
	size_t mlen;
	int ret;

	if (ikm_len < 16 || ikm_len > 128) {
		*why = "partition HMAC keys (the IKM) are 16..128 bytes";
		return VAL_NA;
	}
	if (okm_len < 16 || okm_len > 128) {
		*why = "HKDF makes HMAC keys of 16..128 bytes";
		return VAL_NA;
	}
	ret = import(l, t, AZIHSM_KEY_USE_DERIVE, ikm, ikm_len, &id);
	if (ret)
		return lib_err(l, ret, "key import", why);
	ret = azihsm_hkdf(l->sess, id, hash_alg(bits), salt, salt_len, info, info_len, &nk,
			  okm_len, &okm, NULL);
	if (ret)
		return lib_err(l, ret, "HkdfDerive", why);
	ret = azihsm_hmac(l->sess, okm, msg, msg_len, mac, 64, &mlen, NULL);
	azihsm_key_delete(l->sess, okm);
	return lib_err(l, ret, "HMAC with the derived key", why);
}

static void lib_fini(struct val_backend *b)
{
	struct lib_be *l = b->priv;

	if (!l)
		return;
	drop_key(l);
	for (size_t i = 0; i < GEN_SLOTS; i++) {
		if (l->gen[i].pub) {
			azihsm_key_delete(l->sess, l->gen[i].id);
			EVP_PKEY_free(l->gen[i].pub);
		}
	}
	if (l->uk_pub)
		azihsm_key_delete(l->sess, l->uk);
	EVP_PKEY_free(l->uk_pub);
	free(l);
	b->priv = NULL;
}

static const struct val_ops lib_ops = {
	.aes = lib_aes, .gcm = lib_gcm, .hash = lib_hash, .hmac = lib_hmac,
	.gen_sign = lib_gen_sign, .verify = lib_verify, .hkdf_mac = lib_hkdf_mac,
	.fini = lib_fini,
};

int val_lib_init(struct val_backend *b, const char *name, struct azihsm_dev *dev,
		 struct azihsm_session *sess)
{
	struct lib_be *l = calloc(1, sizeof(*l));
	uint8_t der[1024];
	const uint8_t *p = der;
	size_t n;
	int ret;

	if (!l)
		return -ENOMEM;
	l->dev = dev;
	l->sess = sess;
	/*
	 * A session RSA key with the unwrap usage of our own: unwrapping with
	 * the partition's (persistent) unwrapping key is the officer's only,
	 * and this runs as any role.
	 */
	ret = azihsm_key_generate(sess, AZIHSM_KEY_TYPE_RSA2048, AZIHSM_KEY_USE_UNWRAP, NULL, 0,
				  false, &l->uk);
	if (!ret)
		ret = azihsm_key_public(sess, l->uk, der, sizeof(der), &n);
	if (!ret) {
		l->uk_pub = d2i_PUBKEY(NULL, &p, (long)n);
		if (!l->uk_pub)
			ret = -EPROTO;
	}
	if (ret) {
		free(l);
		return ret;
	}
	b->name = name;
	b->ops = &lib_ops;
	b->priv = l;
	return 0;
}
