// SPDX-License-Identifier: GPL-2.0-only
/*
 * skcipher ecb(aes), cbc(aes), ctr(aes), xts(aes) on AesEncryptDecrypt
 * 1072. Long requests go in chunks of AZIHSM_KC_CHUNK bytes, chained by
 * the IV the device returns (CBC, CTR); an XTS request (one data unit,
 * one tweak) goes in chunks that name the block they start at, the last
 * one at least a block long (ciphertext stealing happens there). The
 * output IV of CBC and CTR is the device's.
 *
 * An XTS request of 16..8192 bytes goes on the AES fast path instead, as
 * one data unit (the smallest unit size that holds it), and so does a CBC
 * request of up to 1 MiB (cipher 2, an azihsm extension; the CQE returns
 * the output IV), when its scatterlists fit the SGLs (aes_queue.c) and
 * the key's id is current; one a reset overtakes there runs again here
 * (unless its output overlaps its input: -EIO, see aes_queue.c).
 *
 * An XTS request longer than the device takes (16 MiB) goes to the
 * kernel's software xts(aes), allocated with the transform
 * (CRYPTO_ALG_NEED_FALLBACK); without one it is refused with -EINVAL.
 * So does every request under an AES-192-XTS key (48 bytes), which the
 * device does not have but xts(aes) users may set (the crypto manager's
 * extra self-tests do).
 */

/* The device takes XTS units up to 16 MiB. */
#define AZIHSM_KC_XTS_MAX	(16u << 20)
/* One fast-path command: at most 1 MiB (Documentation/device.md, 10). */
#define AZIHSM_KC_FAST_MAX	SZ_1M
#include <crypto/aes.h>
#include <crypto/internal/skcipher.h>
#include <crypto/scatterwalk.h>
#include <crypto/xts.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>

#include "kcrypto.h"

struct azihsm_sk_tfm {
	struct azihsm_kc_tfm kc;	/* first */
	struct crypto_skcipher *soft;	/* xts: beyond AZIHSM_KC_XTS_MAX; or NULL */
	bool soft_only;			/* xts: an AES-192 key, in @soft only */
};

struct azihsm_sk_req {
	struct azihsm_kc_req base;	/* first */
	struct skcipher_request *req;
	u8 mode;			/* AZIHSM_AES_* */
	bool decrypt;
	u8 iv[AES_BLOCK_SIZE];
	unsigned int off, len;		/* the chunk in flight */
	struct azihsm_aes_cmd fast;
	/* the software fallback's request follows: keep last */
	struct skcipher_request soft_req;
};

/* Hand @req to the software fallback, with the caller's callback. */
static int azihsm_sk_soft(struct skcipher_request *req, bool decrypt)
{
	struct azihsm_sk_tfm *t = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct azihsm_sk_req *r = skcipher_request_ctx(req);
	struct skcipher_request *sub = &r->soft_req;

	if (!t->soft)
		return -EINVAL;
	skcipher_request_set_tfm(sub, t->soft);
	skcipher_request_set_callback(sub, req->base.flags, req->base.complete,
				      req->base.data);
	skcipher_request_set_crypt(sub, req->src, req->dst, req->cryptlen, req->iv);
	return decrypt ? crypto_skcipher_decrypt(sub) : crypto_skcipher_encrypt(sub);
}

static int azihsm_sk_cmd_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_sk_req *r = kc->ctx;
	struct skcipher_request *req = r->req;
	u8 *p;

	bool xts_on = r->mode == AZIHSM_AES_XTS && r->off;

	mbor_enc_map(e, (r->mode == AZIHSM_AES_ECB ? 4 : 5) + (xts_on ? 1 : 0));
	mbor_enc_key(e, AZIHSM_AES_F_KEY_ID);
	mbor_enc_u16(e, kc->key_id);
	mbor_enc_key(e, AZIHSM_AES_F_MODE);
	mbor_enc_u8(e, r->mode);
	mbor_enc_key(e, AZIHSM_AES_F_DECRYPT);
	mbor_enc_bool(e, r->decrypt);
	if (r->mode != AZIHSM_AES_ECB) {
		mbor_enc_key(e, AZIHSM_AES_F_IV);
		mbor_enc_bytes(e, r->iv, AES_BLOCK_SIZE);
	}
	mbor_enc_key(e, AZIHSM_AES_F_DATA);
	p = mbor_enc_bytes_reserve(e, r->len);
	if (!p)
		return -EMSGSIZE;
	if (sg_pcopy_to_buffer(req->src, sg_nents(req->src), p, r->len, r->off) != r->len)
		return -EINVAL;
	if (xts_on) {
		/* The unit goes on: this data starts at block off / 16. */
		mbor_enc_key(e, AZIHSM_AES_F_XTS_BLOCK);
		mbor_enc_u32(e, r->off / AES_BLOCK_SIZE);
	}
	return 0;
}

static int azihsm_sk_cmd_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_sk_req *r = kc->ctx;
	struct skcipher_request *req = r->req;
	struct azihsm_kbytes out = { }, iv = { };
	const struct azihsm_kfield f[] = {
		{ AZIHSM_AES_F_OUT, AZIHSM_KF_BYTES, false, &out },
		{ AZIHSM_AES_F_IV_OUT, AZIHSM_KF_BYTES, true, &iv },
	};
	int ret = azihsm_kdec(d, f, ARRAY_SIZE(f));

	if (ret)
		return ret;
	if (out.len != r->len)
		return -EBADMSG;
	if (r->mode == AZIHSM_AES_CBC || r->mode == AZIHSM_AES_CTR) {
		if (iv.len != AES_BLOCK_SIZE)
			return -EBADMSG;
		memcpy(r->iv, iv.p, AES_BLOCK_SIZE);
	}
	if (sg_pcopy_from_buffer(req->dst, sg_nents(req->dst), out.p, r->len, r->off) != r->len)
		return -EINVAL;
	return 0;
}

static int azihsm_sk_run(struct azihsm_kc_req *base)
{
	struct azihsm_sk_req *r = container_of(base, struct azihsm_sk_req, base);
	struct skcipher_request *req = r->req;
	struct azihsm_kc_tfm *t = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_AES_ENCRYPT_DECRYPT,
		.req = azihsm_sk_cmd_req,
		.rsp = azihsm_sk_cmd_rsp,
		.ctx = r,
	};
	int ret;

	for (r->off = 0; r->off < req->cryptlen; r->off += r->len) {
		r->len = min_t(unsigned int, req->cryptlen - r->off, AZIHSM_KC_CHUNK);
		/* XTS: the last command of a unit needs a whole block or more. */
		if (r->mode == AZIHSM_AES_XTS && req->cryptlen - r->off - r->len &&
		    req->cryptlen - r->off - r->len < AES_BLOCK_SIZE)
			r->len -= AES_BLOCK_SIZE;
		ret = azihsm_kkey_run(t->hdev, &t->key, &kc);
		if (ret)
			return ret;
	}
	if (r->mode == AZIHSM_AES_CBC || r->mode == AZIHSM_AES_CTR)
		memcpy(req->iv, r->iv, AES_BLOCK_SIZE);
	memzero_explicit(r->iv, sizeof(r->iv));
	return 0;
}

static void azihsm_sk_fast_done(struct azihsm_aes_cmd *cmd, int err,
				const struct azihsm_aes_cqe *cqe)
{
	struct azihsm_sk_req *r = container_of(cmd, struct azihsm_sk_req, fast);
	struct skcipher_request *req = r->req;
	struct azihsm_kc_tfm *t = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));

	if (r->mode == AZIHSM_AES_CBC)
		memzero_explicit(cmd->sqe.cbc.iv, sizeof(cmd->sqe.cbc.iv));
	else
		memzero_explicit(cmd->sqe.xts.tweak, sizeof(cmd->sqe.xts.tweak));
	if (err == -EAGAIN) {
		azihsm_kc_retry(t->hdev, &r->base, &req->base, azihsm_sk_run);
		return;
	}
	if (!err && r->mode == AZIHSM_AES_CBC)
		memcpy(req->iv, cqe->cbc_iv, AES_BLOCK_SIZE);
	memzero_explicit(r->iv, sizeof(r->iv));
	azihsm_kc_fast_done(&req->base, err);
}

/* 0: on the fast path (-EINPROGRESS for the caller); else not taken. */
static int azihsm_sk_fast(struct azihsm_kc_tfm *t, struct azihsm_sk_req *r)
{
	struct skcipher_request *req = r->req;
	struct azihsm_aes_cmd *cmd = &r->fast;
	u16 sess, app, kid, dul, attr;
	s64 gen;

	if (req->cryptlen > (r->mode == AZIHSM_AES_XTS ? 8192 : AZIHSM_KC_FAST_MAX))
		return -E2BIG;
	if (!azihsm_kkey_fast_ids(t->hdev, &t->key, &sess, &app, &kid, &gen))
		return -EAGAIN;
	attr = AZIHSM_AES_ATTR_SGL_AES | (r->decrypt ? AZIHSM_AES_ATTR_DECRYPT : 0);
	if (r->mode == AZIHSM_AES_CBC) {
		attr |= AZIHSM_AES_CIPHER_CBC << AZIHSM_AES_ATTR_CIPHER_SHIFT;
	} else {
		/* One data unit: the device splits at the unit size. */
		if (req->cryptlen <= 512)
			dul = AZIHSM_AES_DUL_512;
		else if (req->cryptlen <= 4096)
			dul = AZIHSM_AES_DUL_4096;
		else
			dul = AZIHSM_AES_DUL_8192;
		attr |= (AZIHSM_AES_CIPHER_XTS << AZIHSM_AES_ATTR_CIPHER_SHIFT) |
			(dul << AZIHSM_AES_ATTR_DUL_SHIFT);
	}
	memset(&cmd->sqe, 0, sizeof(cmd->sqe));
	cmd->sqe.attr = cpu_to_le16(attr);
	cmd->sqe.session_id = cpu_to_le16(sess);
	cmd->sqe.short_app_id = cpu_to_le16(app);
	cmd->sqe.src_len = cpu_to_le32(req->cryptlen);
	cmd->sqe.dst_len = cpu_to_le32(req->cryptlen);
	cmd->sqe.frame_type = cpu_to_le32(AZIHSM_AES_FRAME_TYPE);
	if (r->mode == AZIHSM_AES_CBC) {
		cmd->sqe.cbc.key_id = cpu_to_le32(kid);
		memcpy(cmd->sqe.cbc.iv, r->iv, AZIHSM_AES_CBC_IV_LEN);
	} else {
		cmd->sqe.xts.key_id1 = cpu_to_le32(kid);
		memcpy(cmd->sqe.xts.tweak, r->iv, AZIHSM_AES_XTS_TWEAK_LEN);
	}
	cmd->src = req->src;
	cmd->dst = req->dst;
	cmd->aad_len = 0;
	cmd->pad = 0;
	cmd->text_off = 0;
	cmd->text_len = req->cryptlen;
	cmd->done = azihsm_sk_fast_done;
	return azihsm_aes_submit(t->hdev, cmd, gen);
}

static int azihsm_sk_crypt(struct skcipher_request *req, u8 mode, bool decrypt)
{
	struct azihsm_kc_tfm *t = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct azihsm_sk_req *r = skcipher_request_ctx(req);

	switch (mode) {
	case AZIHSM_AES_ECB:
	case AZIHSM_AES_CBC:
		if (!IS_ALIGNED(req->cryptlen, AES_BLOCK_SIZE))
			return -EINVAL;
		break;
	case AZIHSM_AES_XTS:
		/* One data unit, in as many commands as it takes. */
		if (req->cryptlen < AES_BLOCK_SIZE)
			return -EINVAL;
		/* Issue 9: beyond the device, the software rather than -EINVAL. */
		if (req->cryptlen > AZIHSM_KC_XTS_MAX ||
		    container_of(t, struct azihsm_sk_tfm, kc)->soft_only)
			return azihsm_sk_soft(req, decrypt);
		break;
	}
	if (!req->cryptlen)
		return 0;
	if (!t->key.id && !t->key.blob)
		return -ENOKEY;
	r->req = req;
	r->mode = mode;
	r->decrypt = decrypt;
	if (mode != AZIHSM_AES_ECB)
		memcpy(r->iv, req->iv, AES_BLOCK_SIZE);
	if ((mode == AZIHSM_AES_XTS || mode == AZIHSM_AES_CBC) && !azihsm_sk_fast(t, r))
		return -EINPROGRESS;
	return azihsm_kc_enqueue(t->hdev, &r->base, &req->base, azihsm_sk_run);
}

static int azihsm_ecb_encrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_ECB, false);
}

static int azihsm_ecb_decrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_ECB, true);
}

static int azihsm_cbc_encrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_CBC, false);
}

static int azihsm_cbc_decrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_CBC, true);
}

static int azihsm_ctr_encrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_CTR, false);
}

static int azihsm_ctr_decrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_CTR, true);
}

static int azihsm_xts_encrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_XTS, false);
}

static int azihsm_xts_decrypt(struct skcipher_request *req)
{
	return azihsm_sk_crypt(req, AZIHSM_AES_XTS, true);
}

static int azihsm_sk_aes_type(unsigned int len)
{
	switch (len) {
	case AES_KEYSIZE_128:
		return AZIHSM_KEY_AES128;
	case AES_KEYSIZE_192:
		return AZIHSM_KEY_AES192;
	case AES_KEYSIZE_256:
		return AZIHSM_KEY_AES256;
	}
	return -EINVAL;
}

static int azihsm_sk_setkey(struct crypto_skcipher *tfm, const u8 *key, unsigned int len)
{
	int type = azihsm_sk_aes_type(len);

	if (type < 0)
		return type;
	return azihsm_kc_setkey(crypto_skcipher_ctx(tfm), type,
				AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT, key, len);
}

static int azihsm_xts_setkey(struct crypto_skcipher *tfm, const u8 *key, unsigned int len)
{
	int ret = xts_verify_key(tfm, key, len);
	struct azihsm_sk_tfm *t;
	u8 type;

	if (ret)
		return ret;
	t = crypto_skcipher_ctx(tfm);
	if (len == 2 * AES_KEYSIZE_128) {
		type = AZIHSM_KEY_AES128_XTS;
	} else if (len == 2 * AES_KEYSIZE_256) {
		type = AZIHSM_KEY_AES256_XTS;
	} else {
		/* The device has no AES-192-XTS: the software's alone. */
		if (len != 2 * AES_KEYSIZE_192 || !t->soft)
			return -EINVAL;
		t->soft_only = false;
		crypto_skcipher_clear_flags(t->soft, CRYPTO_TFM_REQ_MASK);
		crypto_skcipher_set_flags(t->soft, crypto_skcipher_get_flags(tfm) &
					  CRYPTO_TFM_REQ_MASK);
		ret = crypto_skcipher_setkey(t->soft, key, len);
		if (ret)
			return ret;
		t->soft_only = true;
		return 0;
	}
	t->soft_only = false;
	if (t->soft) {
		crypto_skcipher_clear_flags(t->soft, CRYPTO_TFM_REQ_MASK);
		crypto_skcipher_set_flags(t->soft, crypto_skcipher_get_flags(tfm) &
					  CRYPTO_TFM_REQ_MASK);
		ret = crypto_skcipher_setkey(t->soft, key, len);
		if (ret)
			return ret;
	}
	return azihsm_kc_setkey(&t->kc, type, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT,
				key, len);
}

static int azihsm_sk_init(struct crypto_skcipher *tfm)
{
	struct azihsm_sk_tfm *t = crypto_skcipher_ctx(tfm);
	unsigned int reqsize = sizeof(struct azihsm_sk_req);
	int ret;

	t->soft = NULL;
	t->soft_only = false;
	if (!strcmp(crypto_tfm_alg_name(crypto_skcipher_tfm(tfm)), "xts(aes)")) {
		/* Optional: a kernel without software XTS refuses long requests. */
		t->soft = crypto_alloc_skcipher("xts(aes)", 0, CRYPTO_ALG_NEED_FALLBACK);
		if (IS_ERR(t->soft))
			t->soft = NULL;
		else
			reqsize += crypto_skcipher_reqsize(t->soft);
	}
	crypto_skcipher_set_reqsize(tfm, reqsize);
	ret = azihsm_kc_tfm_init(&t->kc);
	if (ret && t->soft)
		crypto_free_skcipher(t->soft);
	return ret;
}

static void azihsm_sk_exit(struct crypto_skcipher *tfm)
{
	struct azihsm_sk_tfm *t = crypto_skcipher_ctx(tfm);

	azihsm_kc_tfm_exit(&t->kc);
	if (t->soft)
		crypto_free_skcipher(t->soft);
}

#define AZIHSM_SK_ALG(mode, setkeyfn, minkey, maxkey, ivlen, blk)		\
	{									\
		.setkey = setkeyfn,						\
		.encrypt = azihsm_##mode##_encrypt,				\
		.decrypt = azihsm_##mode##_decrypt,				\
		.init = azihsm_sk_init,						\
		.exit = azihsm_sk_exit,						\
		.min_keysize = minkey,						\
		.max_keysize = maxkey,						\
		.ivsize = ivlen,						\
		.chunksize = AES_BLOCK_SIZE,					\
		.base.cra_blocksize = blk,					\
	}

static struct skcipher_alg azihsm_sk_algs[] = {
	AZIHSM_SK_ALG(ecb, azihsm_sk_setkey, AES_MIN_KEY_SIZE, AES_MAX_KEY_SIZE, 0,
		      AES_BLOCK_SIZE),
	AZIHSM_SK_ALG(cbc, azihsm_sk_setkey, AES_MIN_KEY_SIZE, AES_MAX_KEY_SIZE,
		      AES_BLOCK_SIZE, AES_BLOCK_SIZE),
	AZIHSM_SK_ALG(ctr, azihsm_sk_setkey, AES_MIN_KEY_SIZE, AES_MAX_KEY_SIZE,
		      AES_BLOCK_SIZE, 1),
	AZIHSM_SK_ALG(xts, azihsm_xts_setkey, 2 * AES_MIN_KEY_SIZE,
		      2 * AES_MAX_KEY_SIZE, AES_BLOCK_SIZE, AES_BLOCK_SIZE),
};

/* cra_name and cra_driver_name, in the order of azihsm_sk_algs. */
static const char *const azihsm_sk_names[][2] = {
	{ "ecb(aes)", "ecb_aes_azihsm" },
	{ "cbc(aes)", "cbc_aes_azihsm" },
	{ "ctr(aes)", "ctr_aes_azihsm" },
	{ "xts(aes)", "xts_aes_azihsm" },
};

int azihsm_skcipher_register(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(azihsm_sk_algs); i++)
		azihsm_kc_base(&azihsm_sk_algs[i].base, azihsm_sk_names[i][0],
			       azihsm_sk_names[i][1],
			       azihsm_sk_algs[i].base.cra_blocksize,
			       sizeof(struct azihsm_sk_tfm));
	/* xts(aes) has a software fallback: never be someone's fallback. */
	azihsm_sk_algs[ARRAY_SIZE(azihsm_sk_algs) - 1].base.cra_flags |=
		CRYPTO_ALG_NEED_FALLBACK;
	return crypto_register_skciphers(azihsm_sk_algs, ARRAY_SIZE(azihsm_sk_algs));
}

void azihsm_skcipher_unregister(void)
{
	crypto_unregister_skciphers(azihsm_sk_algs, ARRAY_SIZE(azihsm_sk_algs));
}
