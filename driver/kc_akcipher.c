// SPDX-License-Identifier: GPL-2.0-only
/*
 * akcipher rsa (raw RSA: encrypt = public, decrypt = private; the
 * kernel's pkcs1pad template pads on top) and ecdsa-nist-p256/p384
 * (verify). Public operations send the public key with each command
 * (RsaPublic 4022, EccVerify 4023); the private key is imported into the
 * kernel session (KeyImport, PKCS#1 DER as the crypto API gives it) and
 * used by id (RsaModExp 1031). Moduli the device refuses (below 1024 or
 * above 4096 bits) go to the kernel's software rsa, allocated as a
 * fallback when the transform is created.
 */
#include <crypto/akcipher.h>
#include <crypto/internal/akcipher.h>
#include <crypto/internal/rsa.h>
#include <crypto/scatterwalk.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "kcrypto.h"

#define AZIHSM_RSA_MIN_BYTES	128	/* 1024 bits */
#define AZIHSM_RSA_MAX_BYTES	512	/* 4096 bits */
#define AZIHSM_ECC_MAX_BYTES	48	/* P-384 */
#define AZIHSM_ECDSA_SIG_MAX	128	/* DER r, s of P-384 and some slack */

struct azihsm_rsa_tfm {
	struct azihsm_kc_tfm kc;	/* first */
	struct crypto_akcipher *soft;	/* for moduli the device refuses */
	bool use_soft;
	bool has_priv;
	u8 *pub;			/* PKCS#1 RSAPublicKey DER */
	unsigned int pub_len;
	unsigned int n_size;		/* modulus bytes, 0 = no key */
};

struct azihsm_ecdsa_tfm {
	struct azihsm_kc_tfm kc;	/* first */
	u8 curve;			/* AZIHSM_KEY_EC_* */
	unsigned int size;		/* field bytes */
	u8 point[1 + 2 * AZIHSM_ECC_MAX_BYTES];
	bool has_key;
};

struct azihsm_ak_req {
	struct azihsm_kc_req base;	/* first */
	struct akcipher_request *req;
	bool private;
	bool valid;
	/* the software fallback's request follows: keep last */
	struct akcipher_request soft_req;
};

/* ---- a minimal DER writer for RSAPublicKey { n, e } ---- */

static unsigned int azihsm_der_len_size(unsigned int len)
{
	return len < 0x80 ? 1 : len < 0x100 ? 2 : 3;
}

static u8 *azihsm_der_put_len(u8 *p, unsigned int len)
{
	if (len >= 0x100) {
		*p++ = 0x82;
		*p++ = len >> 8;
	} else if (len >= 0x80) {
		*p++ = 0x81;
	}
	*p++ = len;
	return p;
}

/* Strip leading zero bytes of a big-endian number (at least one byte stays). */
static void azihsm_strip(const u8 **v, size_t *len)
{
	while (*len > 1 && !**v) {
		(*v)++;
		(*len)--;
	}
}

static unsigned int azihsm_der_int_size(const u8 *v, size_t len)
{
	unsigned int body = len + ((v[0] & 0x80) ? 1 : 0);

	return 1 + azihsm_der_len_size(body) + body;
}

static u8 *azihsm_der_put_int(u8 *p, const u8 *v, size_t len)
{
	bool pad = v[0] & 0x80;

	*p++ = 0x02;
	p = azihsm_der_put_len(p, len + pad);
	if (pad)
		*p++ = 0;
	memcpy(p, v, len);
	return p + len;
}

static int azihsm_rsa_pub_der(struct azihsm_rsa_tfm *t, const u8 *n, size_t n_len,
			      const u8 *e, size_t e_len)
{
	unsigned int body, total;
	u8 *p;

	azihsm_strip(&n, &n_len);
	azihsm_strip(&e, &e_len);
	body = azihsm_der_int_size(n, n_len) + azihsm_der_int_size(e, e_len);
	total = 1 + azihsm_der_len_size(body) + body;
	kfree(t->pub);
	t->pub = kmalloc(total, GFP_KERNEL);
	if (!t->pub)
		return -ENOMEM;
	p = t->pub;
	*p++ = 0x30;
	p = azihsm_der_put_len(p, body);
	p = azihsm_der_put_int(p, n, n_len);
	azihsm_der_put_int(p, e, e_len);
	t->pub_len = total;
	t->n_size = n_len;
	return 0;
}

/* ---- rsa ---- */

static int azihsm_rsa_cmd_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_ak_req *r = kc->ctx;
	struct akcipher_request *req = r->req;
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(req));
	unsigned int in_len = r->private ? t->n_size : req->src_len;
	unsigned int pad = in_len - req->src_len;
	u8 *p;

	mbor_enc_map(e, 2);
	if (r->private) {
		mbor_enc_key(e, AZIHSM_MODEXP_F_KEY_ID);
		mbor_enc_u16(e, kc->key_id);
		mbor_enc_key(e, AZIHSM_MODEXP_F_IN);
	} else {
		mbor_enc_key(e, AZIHSM_RSAPUB_F_KEY);
		mbor_enc_bytes(e, t->pub, t->pub_len);
		mbor_enc_key(e, AZIHSM_RSAPUB_F_IN);
	}
	p = mbor_enc_bytes_reserve(e, in_len);
	if (!p)
		return -EMSGSIZE;
	memset(p, 0, pad);
	if (sg_pcopy_to_buffer(req->src, sg_nents(req->src), p + pad, req->src_len, 0) !=
	    req->src_len)
		return -EINVAL;
	return 0;
}

static int azihsm_rsa_cmd_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_ak_req *r = kc->ctx;
	struct akcipher_request *req = r->req;
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(req));
	struct azihsm_kbytes out = { };
	const struct azihsm_kfield f[] = {
		{ AZIHSM_MODEXP_F_OUT, AZIHSM_KF_BYTES, false, &out },
	};
	int ret = azihsm_kdec(d, f, ARRAY_SIZE(f));

	if (ret)
		return ret;
	if (out.len != t->n_size)
		return -EBADMSG;
	if (sg_pcopy_from_buffer(req->dst, sg_nents(req->dst), out.p, out.len, 0) != out.len)
		return -EINVAL;
	req->dst_len = out.len;
	return 0;
}

static int azihsm_rsa_run(struct azihsm_kc_req *base)
{
	struct azihsm_ak_req *r = container_of(base, struct azihsm_ak_req, base);
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(r->req));
	struct azihsm_kcmd kc = {
		.opcode = r->private ? AZIHSM_OP_RSA_MOD_EXP : AZIHSM_OP_RSA_PUBLIC,
		.req = azihsm_rsa_cmd_req,
		.rsp = azihsm_rsa_cmd_rsp,
		.ctx = r,
	};

	return azihsm_kkey_run(t->kc.hdev, r->private ? &t->kc.key : NULL, &kc);
}

static int azihsm_rsa_soft(struct akcipher_request *req, bool private)
{
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(req));
	struct azihsm_ak_req *r = akcipher_request_ctx(req);
	struct akcipher_request *sub = &r->soft_req;

	akcipher_request_set_tfm(sub, t->soft);
	akcipher_request_set_callback(sub, req->base.flags, req->base.complete,
				      req->base.data);
	akcipher_request_set_crypt(sub, req->src, req->dst, req->src_len, req->dst_len);
	return private ? crypto_akcipher_decrypt(sub) : crypto_akcipher_encrypt(sub);
}

static int azihsm_rsa_crypt(struct akcipher_request *req, bool private)
{
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(req));
	struct azihsm_ak_req *r = akcipher_request_ctx(req);
	int ret;

	if (t->use_soft) {
		ret = azihsm_rsa_soft(req, private);
		/* The software reports the length in its own request. */
		req->dst_len = r->soft_req.dst_len;
		return ret;
	}
	if (!t->n_size || (private && !t->has_priv))
		return -EINVAL;
	if (req->dst_len < t->n_size) {
		req->dst_len = t->n_size;
		return -EOVERFLOW;
	}
	if (req->src_len > t->n_size)
		return -EINVAL;
	r->req = req;
	r->private = private;
	return azihsm_kc_enqueue(t->kc.hdev, &r->base, &req->base, azihsm_rsa_run);
}

static int azihsm_rsa_encrypt(struct akcipher_request *req)
{
	return azihsm_rsa_crypt(req, false);
}

static int azihsm_rsa_decrypt(struct akcipher_request *req)
{
	return azihsm_rsa_crypt(req, true);
}

static bool azihsm_rsa_size_ok(const u8 *n, size_t len)
{
	azihsm_strip(&n, &len);
	return len >= AZIHSM_RSA_MIN_BYTES && len <= AZIHSM_RSA_MAX_BYTES;
}

/*
 * One key setter for both halves: parse (PKCS#1 RSAPublicKey or
 * RSAPrivateKey), send a size the device refuses to the software, keep
 * the public part as DER, and import a private key into the device.
 */
static int azihsm_rsa_set_key(struct crypto_akcipher *tfm, const void *key,
			      unsigned int keylen, bool private)
{
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(tfm);
	struct rsa_key raw = { };
	int ret;

	azihsm_kkey_release(t->kc.hdev, &t->kc.key);
	t->has_priv = false;
	t->n_size = 0;
	ret = private ? rsa_parse_priv_key(&raw, key, keylen) :
			rsa_parse_pub_key(&raw, key, keylen);
	if (ret)
		return ret;
	t->use_soft = !azihsm_rsa_size_ok(raw.n, raw.n_sz);
	if (t->use_soft)
		return private ? crypto_akcipher_set_priv_key(t->soft, key, keylen) :
				 crypto_akcipher_set_pub_key(t->soft, key, keylen);
	ret = azihsm_rsa_pub_der(t, raw.n, raw.n_sz, raw.e, raw.e_sz);
	if (ret || !private)
		return ret;
	/*
	 * One purpose per key: the raw private operation (RsaModExp) with
	 * the decrypt usage; pkcs1pad's signing is the same operation.
	 */
	ret = azihsm_kc_setkey(&t->kc, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, key, keylen);
	if (ret) {
		t->n_size = 0;
		return ret;
	}
	t->has_priv = true;
	return 0;
}

static int azihsm_rsa_set_pub_key(struct crypto_akcipher *tfm, const void *key,
				  unsigned int keylen)
{
	return azihsm_rsa_set_key(tfm, key, keylen, false);
}

static int azihsm_rsa_set_priv_key(struct crypto_akcipher *tfm, const void *key,
				   unsigned int keylen)
{
	return azihsm_rsa_set_key(tfm, key, keylen, true);
}

static unsigned int azihsm_rsa_max_size(struct crypto_akcipher *tfm)
{
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(tfm);

	return t->use_soft ? crypto_akcipher_maxsize(t->soft) : t->n_size;
}

static int azihsm_rsa_init(struct crypto_akcipher *tfm)
{
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(tfm);
	int ret;

	/*
	 * Synchronous (issue 9): azihsm_rsa_crypt() reads the result length
	 * from the sub-request as soon as the call returns.
	 */
	t->soft = crypto_alloc_akcipher("rsa", 0, CRYPTO_ALG_NEED_FALLBACK | CRYPTO_ALG_ASYNC);
	if (IS_ERR(t->soft))
		return PTR_ERR(t->soft);
	akcipher_set_reqsize(tfm, sizeof(struct azihsm_ak_req) +
			     crypto_akcipher_reqsize(t->soft));
	ret = azihsm_kc_tfm_init(&t->kc);
	if (ret)
		crypto_free_akcipher(t->soft);
	return ret;
}

static void azihsm_rsa_exit(struct crypto_akcipher *tfm)
{
	struct azihsm_rsa_tfm *t = akcipher_tfm_ctx(tfm);

	azihsm_kc_tfm_exit(&t->kc);
	crypto_free_akcipher(t->soft);
	kfree(t->pub);
}

/* ---- ecdsa ---- */

static int azihsm_ecdsa_cmd_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_ak_req *r = kc->ctx;
	struct akcipher_request *req = r->req;
	struct azihsm_ecdsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(req));
	unsigned int nents = sg_nents(req->src);
	u8 *p;

	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_ECCVER_F_CURVE);
	mbor_enc_u8(e, t->curve);
	mbor_enc_key(e, AZIHSM_ECCVER_F_POINT);
	mbor_enc_bytes(e, t->point, 1 + 2 * t->size);
	/* src = signature (src_len) || digest (dst_len) */
	mbor_enc_key(e, AZIHSM_ECCVER_F_DIGEST);
	p = mbor_enc_bytes_reserve(e, req->dst_len);
	if (!p || sg_pcopy_to_buffer(req->src, nents, p, req->dst_len, req->src_len) !=
		  req->dst_len)
		return -EINVAL;
	mbor_enc_key(e, AZIHSM_ECCVER_F_SIG);
	p = mbor_enc_bytes_reserve(e, req->src_len);
	if (!p || sg_pcopy_to_buffer(req->src, nents, p, req->src_len, 0) != req->src_len)
		return -EINVAL;
	return 0;
}

static int azihsm_ecdsa_cmd_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_ak_req *r = kc->ctx;
	const struct azihsm_kfield f[] = {
		{ AZIHSM_ECCVER_F_VALID, AZIHSM_KF_BOOL, false, &r->valid },
	};

	return azihsm_kdec(d, f, ARRAY_SIZE(f));
}

static int azihsm_ecdsa_run(struct azihsm_kc_req *base)
{
	struct azihsm_ak_req *r = container_of(base, struct azihsm_ak_req, base);
	struct azihsm_ecdsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(r->req));
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_ECC_VERIFY,
		.req = azihsm_ecdsa_cmd_req,
		.rsp = azihsm_ecdsa_cmd_rsp,
		.ctx = r,
	};
	int ret;

	r->valid = false;
	ret = azihsm_kkey_run(t->kc.hdev, NULL, &kc);
	if (ret)
		return ret == -EINVAL ? -EBADMSG : ret;
	return r->valid ? 0 : -EKEYREJECTED;
}

static int azihsm_ecdsa_verify(struct akcipher_request *req)
{
	struct azihsm_ecdsa_tfm *t = akcipher_tfm_ctx(crypto_akcipher_reqtfm(req));
	struct azihsm_ak_req *r = akcipher_request_ctx(req);

	if (!t->has_key)
		return -EINVAL;
	if (!req->src_len || req->src_len > AZIHSM_ECDSA_SIG_MAX || !req->dst_len ||
	    req->dst_len > 64)
		return -EINVAL;
	r->req = req;
	return azihsm_kc_enqueue(t->kc.hdev, &r->base, &req->base, azihsm_ecdsa_run);
}

/* The crypto API's ECDSA public key: 0x04 || X || Y. */
static int azihsm_ecdsa_set_pub_key(struct crypto_akcipher *tfm, const void *key,
				    unsigned int keylen)
{
	struct azihsm_ecdsa_tfm *t = akcipher_tfm_ctx(tfm);
	const u8 *k = key;

	t->has_key = false;
	if (keylen != 1 + 2 * t->size || k[0] != 0x04)
		return -EINVAL;
	memcpy(t->point, key, keylen);
	t->has_key = true;
	return 0;
}

static unsigned int azihsm_ecdsa_max_size(struct crypto_akcipher *tfm)
{
	struct azihsm_ecdsa_tfm *t = akcipher_tfm_ctx(tfm);

	return t->size;
}

static int azihsm_ecdsa_init(struct crypto_akcipher *tfm, u8 curve, unsigned int size)
{
	struct azihsm_ecdsa_tfm *t = akcipher_tfm_ctx(tfm);

	akcipher_set_reqsize(tfm, sizeof(struct azihsm_ak_req));
	t->curve = curve;
	t->size = size;
	t->has_key = false;
	return azihsm_kc_tfm_init(&t->kc);
}

static int azihsm_p256_init(struct crypto_akcipher *tfm)
{
	return azihsm_ecdsa_init(tfm, AZIHSM_KEY_EC_P256, 32);
}

static int azihsm_p384_init(struct crypto_akcipher *tfm)
{
	return azihsm_ecdsa_init(tfm, AZIHSM_KEY_EC_P384, 48);
}

static void azihsm_ecdsa_exit(struct crypto_akcipher *tfm)
{
	azihsm_kc_tfm_exit(akcipher_tfm_ctx(tfm));
}

#define AZIHSM_ECDSA_ALG(initfn)					\
	{								\
		.verify = azihsm_ecdsa_verify,				\
		.set_pub_key = azihsm_ecdsa_set_pub_key,		\
		.max_size = azihsm_ecdsa_max_size,			\
		.init = initfn,						\
		.exit = azihsm_ecdsa_exit,				\
	}

static struct akcipher_alg azihsm_ak_algs[] = {
	{
		.encrypt = azihsm_rsa_encrypt,
		.decrypt = azihsm_rsa_decrypt,
		.set_pub_key = azihsm_rsa_set_pub_key,
		.set_priv_key = azihsm_rsa_set_priv_key,
		.max_size = azihsm_rsa_max_size,
		.init = azihsm_rsa_init,
		.exit = azihsm_rsa_exit,
	},
	AZIHSM_ECDSA_ALG(azihsm_p256_init),
	AZIHSM_ECDSA_ALG(azihsm_p384_init),
};

static const struct {
	const char *name, *driver;
	unsigned int ctxsize;
} azihsm_ak_names[] = {
	{ "rsa", "rsa_azihsm", sizeof(struct azihsm_rsa_tfm) },
	{ "ecdsa-nist-p256", "ecdsa_nist_p256_azihsm", sizeof(struct azihsm_ecdsa_tfm) },
	{ "ecdsa-nist-p384", "ecdsa_nist_p384_azihsm", sizeof(struct azihsm_ecdsa_tfm) },
};

static unsigned int azihsm_ak_registered;

int azihsm_akcipher_register(void)
{
	int ret;

	for (azihsm_ak_registered = 0; azihsm_ak_registered < ARRAY_SIZE(azihsm_ak_algs);
	     azihsm_ak_registered++) {
		unsigned int i = azihsm_ak_registered;

		azihsm_kc_base(&azihsm_ak_algs[i].base, azihsm_ak_names[i].name,
			       azihsm_ak_names[i].driver, 0, azihsm_ak_names[i].ctxsize);
		if (i == 0)
			azihsm_ak_algs[i].base.cra_flags |= CRYPTO_ALG_NEED_FALLBACK;
		ret = crypto_register_akcipher(&azihsm_ak_algs[i]);
		if (ret) {
			azihsm_akcipher_unregister();
			return ret;
		}
	}
	return 0;
}

void azihsm_akcipher_unregister(void)
{
	while (azihsm_ak_registered)
		crypto_unregister_akcipher(&azihsm_ak_algs[--azihsm_ak_registered]);
}
