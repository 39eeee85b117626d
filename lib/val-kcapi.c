// SPDX-License-Identifier: MIT
/*
 * azihsm validate, path kcapi: the kernel crypto API through AF_ALG
 * sockets, bound by driver name (ecb_aes_azihsm, gcm_aes_azihsm,
 * sha256_azihsm, hmac_sha256_azihsm, ...), so the kernel's selection by
 * priority cannot swap in a software implementation. The asymmetric
 * algorithms (akcipher) are not reachable through AF_ALG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_alg.h>

#include <openssl/crypto.h>

#include "validate.h"

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

/* The bound transform of the last call, kept while name and key stay. */
struct kc_be {
	int tfm;
	char name[64];
	uint8_t key[256];
	size_t klen;
	unsigned int authsize;
};

static void kc_close(struct kc_be *k)
{
	if (k->tfm >= 0)
		close(k->tfm);
	k->tfm = -1;
	OPENSSL_cleanse(k->key, sizeof(k->key));
	k->klen = 0;
	k->name[0] = '\0';
}

/* A transform for @type/@name with @key (NULL: none), or -errno. */
static int kc_tfm(struct kc_be *k, const char *type, const char *name, const uint8_t *key,
		  size_t klen, unsigned int authsize)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG };

	if (k->tfm >= 0 && !strcmp(k->name, name) && k->klen == klen &&
	    k->authsize == authsize && (!klen || !CRYPTO_memcmp(k->key, key, klen)))
		return k->tfm;
	kc_close(k);
	if (klen > sizeof(k->key))
		return -EINVAL;
	snprintf((char *)sa.salg_type, sizeof(sa.salg_type), "%s", type);
	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", name);
	k->tfm = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (k->tfm < 0)
		return -errno;
	if (bind(k->tfm, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (key && setsockopt(k->tfm, SOL_ALG, ALG_SET_KEY, key, (socklen_t)klen)) ||
	    (authsize && setsockopt(k->tfm, SOL_ALG, ALG_SET_AEAD_AUTHSIZE, NULL, authsize))) {
		int e = -errno;

		kc_close(k);
		return e;
	}
	snprintf(k->name, sizeof(k->name), "%s", name);
	if (key)
		memcpy(k->key, key, klen);
	k->klen = key ? klen : 0;
	k->authsize = authsize;
	return k->tfm;
}

/*
 * One operation: @op ALG_OP_ENCRYPT / ALG_OP_DECRYPT (or -1: a hash), @iv,
 * @assoclen (AEAD), @in -> @out (@out_len bytes read). -errno on failure.
 */
static int kc_run(int tfm, int op, const uint8_t *iv, size_t iv_len, size_t assoclen,
		  const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16) +
		  CMSG_SPACE(sizeof(uint32_t))] = { 0 };
	struct iovec iov = { .iov_base = (void *)in, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fd = accept(tfm, NULL, 0), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (op >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(uint32_t)) +
				     (iv ? CMSG_SPACE(sizeof(struct af_alg_iv) + iv_len) : 0) +
				     (assoclen ? CMSG_SPACE(sizeof(uint32_t)) : 0);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_ALG;
		c->cmsg_type = ALG_SET_OP;
		c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
		*(uint32_t *)CMSG_DATA(c) = (uint32_t)op;
		if (iv) {
			struct af_alg_iv *a;

			c = CMSG_NXTHDR(&msg, c);
			c->cmsg_level = SOL_ALG;
			c->cmsg_type = ALG_SET_IV;
			c->cmsg_len = CMSG_LEN(sizeof(*a) + iv_len);
			a = (struct af_alg_iv *)CMSG_DATA(c);
			a->ivlen = (uint32_t)iv_len;
			memcpy(a->iv, iv, iv_len);
		}
		if (assoclen) {
			c = CMSG_NXTHDR(&msg, c);
			c->cmsg_level = SOL_ALG;
			c->cmsg_type = ALG_SET_AEAD_ASSOCLEN;
			c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
			*(uint32_t *)CMSG_DATA(c) = (uint32_t)assoclen;
		}
	}
	if ((len || op >= 0) && sendmsg(fd, &msg, 0) != (ssize_t)len) {
		ret = -errno;
		if (!ret)
			ret = -EIO;
		goto out;
	}
	n = read(fd, out, out_len ? out_len : 1);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != out_len && out_len)
		ret = -EPROTO;
out:
	close(fd);
	return ret;
}

static int kc_aes(struct val_backend *b, enum azihsm_aes_mode mode, bool decrypt,
		  const uint8_t *key, size_t klen, const uint8_t *iv, const uint8_t *in,
		  size_t len, uint8_t *out, const char **why)
{
	static const char *const names[] = { [AZIHSM_AES_MODE_ECB] = "ecb_aes_azihsm",
					     [AZIHSM_AES_MODE_CBC] = "cbc_aes_azihsm",
					     [AZIHSM_AES_MODE_CTR] = "ctr_aes_azihsm",
					     [AZIHSM_AES_MODE_XTS] = "xts_aes_azihsm" };
	int tfm;

	(void)why;
	if (mode == AZIHSM_AES_MODE_XTS && len < 16) {
		*why = "xts(aes) takes at least one block";
		return VAL_NA;
	}
	tfm = kc_tfm(b->priv, "skcipher", names[mode], key, klen, 0);
	if (tfm < 0)
		return tfm;
	return kc_run(tfm, decrypt ? ALG_OP_DECRYPT : ALG_OP_ENCRYPT, iv, iv ? 16 : 0, 0, in,
		      len, out, len);
}

static int kc_gcm(struct val_backend *b, bool decrypt, const uint8_t *key, size_t klen,
		  const uint8_t *iv, size_t iv_len, const uint8_t *aad, size_t aad_len,
		  const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len,
		  bool *auth_ok, const char **why)
{
	size_t ilen = aad_len + len + (decrypt ? tag_len : 0);
	size_t olen = aad_len + len + (decrypt ? 0 : tag_len);
	uint8_t *ib = malloc(ilen + 1), *ob = malloc(olen + 1);
	int tfm, ret;

	if (iv_len != 12) {
		*why = "gcm(aes) of the crypto API takes 96-bit IVs only";
		ret = VAL_NA;
		goto out;
	}
	if (!(tag_len == 4 || tag_len == 8 || (tag_len >= 12 && tag_len <= 16))) {
		*why = "gcm(aes) of the crypto API takes tags of 4, 8, 12..16 bytes";
		ret = VAL_NA;
		goto out;
	}
	ret = -ENOMEM;
	if (!ib || !ob)
		goto out;
	memcpy(ib, aad, aad_len);
	memcpy(ib + aad_len, in, len);
	if (decrypt)
		memcpy(ib + aad_len + len, tag, tag_len);
	tfm = kc_tfm(b->priv, "aead", "gcm_aes_azihsm", key, klen, (unsigned int)tag_len);
	ret = tfm < 0 ? tfm :
	      kc_run(tfm, decrypt ? ALG_OP_DECRYPT : ALG_OP_ENCRYPT, iv, iv_len, aad_len, ib,
		     ilen, ob, olen);
	if (decrypt) {
		*auth_ok = !ret;
		if (ret == -EBADMSG)
			ret = 0;
	}
	if (!ret) {
		memcpy(out, ob + aad_len, len);
		if (!decrypt)
			memcpy(tag, ob + aad_len + len, tag_len);
	}
out:
	free(ib);
	free(ob);
	return ret;
}

static int kc_hash(struct val_backend *b, int bits, const uint8_t *msg, size_t len,
		   uint8_t *out, const char **why)
{
	char name[32];
	int tfm;

	(void)why;
	snprintf(name, sizeof(name), "sha%d_azihsm", bits);
	tfm = kc_tfm(b->priv, "hash", name, NULL, 0, 0);
	return tfm < 0 ? tfm : kc_run(tfm, -1, NULL, 0, 0, msg, len, out, (size_t)bits / 8);
}

static int kc_hmac(struct val_backend *b, int bits, const uint8_t *key, size_t klen,
		   const uint8_t *msg, size_t len, uint8_t *out, const char **why)
{
	char name[32];
	int tfm;

	(void)why;
	snprintf(name, sizeof(name), "hmac_sha%d_azihsm", bits);
	tfm = kc_tfm(b->priv, "hash", name, key, klen, 0);
	return tfm < 0 ? tfm : kc_run(tfm, -1, NULL, 0, 0, msg, len, out, (size_t)bits / 8);
}

static const char *na_akcipher =
	"the kernel's akcipher algorithms (rsa, ecdsa) are not reachable through AF_ALG";

static int kc_gen_sign(struct val_backend *b, enum azihsm_key_type type, EVP_PKEY *key,
		       int bits, enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
		       uint8_t *sig, size_t *sig_len, EVP_PKEY **pub, const char **why)
{
	(void)b, (void)type, (void)key, (void)bits, (void)pad, (void)digest, (void)dlen;
	(void)sig, (void)sig_len, (void)pub;
	*why = na_akcipher;
	return VAL_NA;
}

static int kc_verify(struct val_backend *b, EVP_PKEY *key, int bits,
		     enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
		     const uint8_t *sig, size_t sig_len, bool *valid, const char **why)
{
	(void)b, (void)key, (void)bits, (void)pad, (void)digest, (void)dlen, (void)sig;
	(void)sig_len, (void)valid;
	*why = na_akcipher;
	return VAL_NA;
}

static int kc_hkdf_mac(struct val_backend *b, int bits, const uint8_t *ikm, size_t ikm_len,
		       const uint8_t *salt, size_t salt_len, const uint8_t *info,
		       size_t info_len, size_t okm_len, const uint8_t *msg, size_t msg_len,
		       uint8_t *mac, const char **why)
{
	(void)b, (void)bits, (void)ikm, (void)ikm_len, (void)salt, (void)salt_len, (void)info;
	(void)info_len, (void)okm_len, (void)msg, (void)msg_len, (void)mac;
	*why = "the kernel crypto API has no HKDF reachable through AF_ALG";
	return VAL_NA;
}

static void kc_fini(struct val_backend *b)
{
	if (b->priv)
		kc_close(b->priv);
	free(b->priv);
	b->priv = NULL;
}

static const struct val_ops kc_ops = {
	.aes = kc_aes, .gcm = kc_gcm, .hash = kc_hash, .hmac = kc_hmac,
	.gen_sign = kc_gen_sign, .verify = kc_verify, .hkdf_mac = kc_hkdf_mac,
	.fini = kc_fini,
};

int val_kcapi_init(struct val_backend *b)
{
	struct kc_be *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->tfm = -1;
	b->name = "kcapi";
	b->ops = &kc_ops;
	b->priv = k;
	return 0;
}
