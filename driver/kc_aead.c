// SPDX-License-Identifier: GPL-2.0-only
/*
 * aead gcm(aes) and rfc4106(gcm(aes)) on AesEncryptDecrypt 1072 (mode
 * GCM). A GCM message cannot be split: AAD and text must fit one command
 * (AZIHSM_KC_CHUNK bytes together); a longer one goes to the kernel's
 * software gcm(aes) / rfc4106(gcm(aes)), allocated with the transform
 * (CRYPTO_ALG_NEED_FALLBACK; without one it is refused with -EINVAL). rfc4106 (RFC 4106,
 * IPsec ESP): the key ends with a 4-byte salt, the nonce is salt || the
 * request's 8-byte IV, and the request's AAD ends with those 8 IV bytes,
 * which are not authenticated.
 *
 * A request with a 16-byte tag and at least one byte of AAD or text goes
 * on the AES fast path instead when its scatterlists fit the SGLs
 * (aes_queue.c) and the key's id is current; the AAD is padded to 16
 * bytes there with a descriptor for zero bytes. One a reset overtakes
 * there runs again here.
 */
#include <crypto/aes.h>
#include <crypto/gcm.h>
#include <crypto/internal/aead.h>
#include <crypto/scatterwalk.h>
#include <linux/module.h>
#include <linux/scatterlist.h>

#include "kcrypto.h"

#define AZIHSM_RFC4106_SALT	4

struct azihsm_aead_tfm {
	struct azihsm_kc_tfm kc;	/* first */
	struct crypto_aead *soft;	/* beyond one command; or NULL */
	u8 salt[AZIHSM_RFC4106_SALT];
	bool rfc4106;
};

struct azihsm_aead_req {
	struct azihsm_kc_req base;	/* first */
	struct aead_request *req;
	bool decrypt;
	u8 nonce[GCM_AES_IV_SIZE];
	unsigned int aad_len;		/* authenticated AAD bytes */
	unsigned int text_off;		/* where the text starts in src/dst */
	unsigned int text_len;		/* without the tag */
	unsigned int tag_len;
	u8 tag[AES_BLOCK_SIZE];
	struct azihsm_aes_cmd fast;
	/* the software fallback's request follows: keep last */
	struct aead_request soft_req;
};

/* Hand @req to the software fallback, with the caller's callback. */
static int azihsm_aead_soft(struct aead_request *req, bool decrypt)
{
	struct azihsm_aead_tfm *t = crypto_aead_ctx(crypto_aead_reqtfm(req));
	struct azihsm_aead_req *r = aead_request_ctx(req);
	struct aead_request *sub = &r->soft_req;

	if (!t->soft)
		return -EINVAL;
	aead_request_set_tfm(sub, t->soft);
	aead_request_set_callback(sub, req->base.flags, req->base.complete, req->base.data);
	aead_request_set_crypt(sub, req->src, req->dst, req->cryptlen, req->iv);
	aead_request_set_ad(sub, req->assoclen);
	return decrypt ? crypto_aead_decrypt(sub) : crypto_aead_encrypt(sub);
}

static int azihsm_aead_cmd_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_aead_req *r = kc->ctx;
	struct aead_request *req = r->req;
	unsigned int nents = sg_nents(req->src);
	u8 *p;

	mbor_enc_map(e, 6 + (r->aad_len ? 1 : 0));
	mbor_enc_key(e, AZIHSM_AES_F_KEY_ID);
	mbor_enc_u16(e, kc->key_id);
	mbor_enc_key(e, AZIHSM_AES_F_MODE);
	mbor_enc_u8(e, AZIHSM_AES_GCM);
	mbor_enc_key(e, AZIHSM_AES_F_DECRYPT);
	mbor_enc_bool(e, r->decrypt);
	mbor_enc_key(e, AZIHSM_AES_F_IV);
	mbor_enc_bytes(e, r->nonce, GCM_AES_IV_SIZE);
	mbor_enc_key(e, AZIHSM_AES_F_DATA);
	p = mbor_enc_bytes_reserve(e, r->text_len);
	if (!p || sg_pcopy_to_buffer(req->src, nents, p, r->text_len, r->text_off) != r->text_len)
		return -EINVAL;
	if (r->aad_len) {
		mbor_enc_key(e, AZIHSM_AES_F_AAD);
		p = mbor_enc_bytes_reserve(e, r->aad_len);
		if (!p || sg_pcopy_to_buffer(req->src, nents, p, r->aad_len, 0) != r->aad_len)
			return -EINVAL;
	}
	if (r->decrypt) {
		mbor_enc_key(e, AZIHSM_AES_F_TAG);
		mbor_enc_bytes(e, r->tag, r->tag_len);
	} else {
		mbor_enc_key(e, AZIHSM_AES_F_TAG_LEN);
		mbor_enc_u8(e, r->tag_len);
	}
	return 0;
}

static int azihsm_aead_cmd_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_aead_req *r = kc->ctx;
	struct aead_request *req = r->req;
	unsigned int nents = sg_nents(req->dst);
	struct azihsm_kbytes out = { }, iv = { }, tag = { };
	const struct azihsm_kfield f[] = {
		{ AZIHSM_AES_F_OUT, AZIHSM_KF_BYTES, false, &out },
		{ AZIHSM_AES_F_IV_OUT, AZIHSM_KF_BYTES, true, &iv },
		{ AZIHSM_AES_F_TAG_OUT, AZIHSM_KF_BYTES, r->decrypt, &tag },
	};
	int ret = azihsm_kdec(d, f, ARRAY_SIZE(f));

	if (ret)
		return ret;
	if (out.len != r->text_len || (!r->decrypt && tag.len != r->tag_len))
		return -EBADMSG;
	if (sg_pcopy_from_buffer(req->dst, nents, out.p, out.len, r->text_off) != out.len)
		return -EINVAL;
	if (!r->decrypt &&
	    sg_pcopy_from_buffer(req->dst, nents, tag.p, tag.len,
				 r->text_off + r->text_len) != tag.len)
		return -EINVAL;
	return 0;
}

/* Out of place: the AAD goes along to dst, as the software does. */
static void azihsm_aead_copy_aad(struct aead_request *req)
{
	u8 buf[64];
	unsigned int off, n;

	if (req->src == req->dst || !req->assoclen)
		return;
	for (off = 0; off < req->assoclen; off += n) {
		n = min_t(unsigned int, sizeof(buf), req->assoclen - off);
		scatterwalk_map_and_copy(buf, req->src, off, n, 0);
		scatterwalk_map_and_copy(buf, req->dst, off, n, 1);
	}
}

static int azihsm_aead_run(struct azihsm_kc_req *base);

static void azihsm_aead_fast_done(struct azihsm_aes_cmd *cmd, int err,
				  const struct azihsm_aes_cqe *cqe)
{
	struct azihsm_aead_req *r = container_of(cmd, struct azihsm_aead_req, fast);
	struct aead_request *req = r->req;
	struct azihsm_kc_tfm *t = crypto_aead_ctx(crypto_aead_reqtfm(req));

	memzero_explicit(cmd->sqe.gcm.iv, sizeof(cmd->sqe.gcm.iv));
	if (err == -EAGAIN) {
		azihsm_kc_retry(t->hdev, &r->base, &req->base, azihsm_aead_run);
		return;
	}
	if (!err && !r->decrypt)
		scatterwalk_map_and_copy((void *)cqe->tag, req->dst,
					 r->text_off + r->text_len, AES_BLOCK_SIZE, 1);
	memzero_explicit(r->nonce, sizeof(r->nonce));
	azihsm_kc_fast_done(&req->base, err);
}

/* 0: on the fast path (-EINPROGRESS for the caller); else not taken. */
static int azihsm_aead_fast(struct azihsm_kc_tfm *t, struct azihsm_aead_req *r)
{
	struct aead_request *req = r->req;
	struct azihsm_aes_cmd *cmd = &r->fast;
	unsigned int pad = -r->aad_len & (AES_BLOCK_SIZE - 1);
	u16 sess, app, kid;
	s64 gen;

	if (r->tag_len != AES_BLOCK_SIZE || (!r->aad_len && !r->text_len))
		return -EINVAL;
	if (!azihsm_kkey_fast_ids(t->hdev, &t->key, &sess, &app, &kid, &gen))
		return -EAGAIN;
	memset(&cmd->sqe, 0, sizeof(cmd->sqe));
	cmd->sqe.attr = cpu_to_le16(AZIHSM_AES_ATTR_SGL_AES |
				    (AZIHSM_AES_CIPHER_GCM << AZIHSM_AES_ATTR_CIPHER_SHIFT) |
				    (r->decrypt ? AZIHSM_AES_ATTR_DECRYPT : 0));
	cmd->sqe.session_id = cpu_to_le16(sess);
	cmd->sqe.short_app_id = cpu_to_le16(app);
	cmd->sqe.src_len = cpu_to_le32(r->aad_len + pad + r->text_len);
	cmd->sqe.dst_len = cpu_to_le32(r->text_len);
	cmd->sqe.frame_type = cpu_to_le32(AZIHSM_AES_FRAME_TYPE);
	cmd->sqe.gcm.key_id = cpu_to_le32(kid);
	cmd->sqe.gcm.aad_len = cpu_to_le32(r->aad_len);
	cmd->sqe.gcm.aad_len_aligned = cpu_to_le32(r->aad_len + pad);
	if (r->decrypt)
		memcpy(cmd->sqe.gcm.tag, r->tag, AES_BLOCK_SIZE);
	memcpy(cmd->sqe.gcm.iv, r->nonce, GCM_AES_IV_SIZE);
	cmd->src = req->src;
	cmd->dst = req->dst;
	cmd->aad_len = r->aad_len;
	cmd->pad = pad;
	cmd->text_off = r->text_off;
	cmd->text_len = r->text_len;
	cmd->done = azihsm_aead_fast_done;
	azihsm_aead_copy_aad(req);
	return azihsm_aes_submit(t->hdev, cmd, gen);
}

static int azihsm_aead_run(struct azihsm_kc_req *base)
{
	struct azihsm_aead_req *r = container_of(base, struct azihsm_aead_req, base);
	struct aead_request *req = r->req;
	struct azihsm_kc_tfm *t = crypto_aead_ctx(crypto_aead_reqtfm(req));
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_AES_ENCRYPT_DECRYPT,
		.req = azihsm_aead_cmd_req,
		.rsp = azihsm_aead_cmd_rsp,
		.ctx = r,
	};

	azihsm_aead_copy_aad(req);
	return azihsm_kkey_run(t->hdev, &t->key, &kc);
}

static int azihsm_aead_crypt(struct aead_request *req, bool decrypt)
{
	struct crypto_aead *tfm = crypto_aead_reqtfm(req);
	struct azihsm_aead_tfm *t = crypto_aead_ctx(tfm);
	struct azihsm_aead_req *r = aead_request_ctx(req);
	unsigned int authsize = crypto_aead_authsize(tfm);

	r->req = req;
	r->decrypt = decrypt;
	r->tag_len = authsize;
	if (decrypt) {
		if (req->cryptlen < authsize)
			return -EINVAL;
		r->text_len = req->cryptlen - authsize;
	} else {
		r->text_len = req->cryptlen;
	}
	r->text_off = req->assoclen;
	if (t->rfc4106) {
		/* AAD is 8 or 12 bytes (SPI, sequence number) + the 8-byte IV. */
		if (req->assoclen != 16 && req->assoclen != 20)
			return -EINVAL;
		r->aad_len = req->assoclen - GCM_RFC4106_IV_SIZE;
		memcpy(r->nonce, t->salt, AZIHSM_RFC4106_SALT);
		memcpy(r->nonce + AZIHSM_RFC4106_SALT, req->iv, GCM_RFC4106_IV_SIZE);
	} else {
		r->aad_len = req->assoclen;
		memcpy(r->nonce, req->iv, GCM_AES_IV_SIZE);
	}
	/* Issue 9: longer than one command: the software, not -EINVAL. */
	if ((u64)r->aad_len + r->text_len > AZIHSM_KC_CHUNK)
		return azihsm_aead_soft(req, decrypt);
	if (decrypt)
		scatterwalk_map_and_copy(r->tag, req->src, req->assoclen + r->text_len,
					 authsize, 0);
	if (!azihsm_aead_fast(&t->kc, r))
		return -EINPROGRESS;
	return azihsm_kc_enqueue(t->kc.hdev, &r->base, &req->base, azihsm_aead_run);
}

static int azihsm_aead_encrypt(struct aead_request *req)
{
	return azihsm_aead_crypt(req, false);
}

static int azihsm_aead_decrypt(struct aead_request *req)
{
	return azihsm_aead_crypt(req, true);
}

static int azihsm_aead_key(struct azihsm_aead_tfm *t, const u8 *key, unsigned int len)
{
	u8 type;

	switch (len) {
	case AES_KEYSIZE_128:
		type = AZIHSM_KEY_AES128;
		break;
	case AES_KEYSIZE_192:
		type = AZIHSM_KEY_AES192;
		break;
	case AES_KEYSIZE_256:
		type = AZIHSM_KEY_AES256;
		break;
	default:
		return -EINVAL;
	}
	return azihsm_kc_setkey(&t->kc, type, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT,
				key, len);
}

/* The fallback gets the whole key (rfc4106: with its salt). */
static int azihsm_aead_soft_key(struct crypto_aead *tfm, const u8 *key, unsigned int len)
{
	struct azihsm_aead_tfm *t = crypto_aead_ctx(tfm);

	if (!t->soft)
		return 0;
	crypto_aead_clear_flags(t->soft, CRYPTO_TFM_REQ_MASK);
	crypto_aead_set_flags(t->soft, crypto_aead_get_flags(tfm) & CRYPTO_TFM_REQ_MASK);
	return crypto_aead_setkey(t->soft, key, len);
}

static int azihsm_gcm_setkey(struct crypto_aead *tfm, const u8 *key, unsigned int len)
{
	return azihsm_aead_soft_key(tfm, key, len) ?:
	       azihsm_aead_key(crypto_aead_ctx(tfm), key, len);
}

static int azihsm_rfc4106_setkey(struct crypto_aead *tfm, const u8 *key, unsigned int len)
{
	struct azihsm_aead_tfm *t = crypto_aead_ctx(tfm);
	int ret;

	if (len < AZIHSM_RFC4106_SALT)
		return -EINVAL;
	ret = azihsm_aead_soft_key(tfm, key, len);
	if (ret)
		return ret;
	len -= AZIHSM_RFC4106_SALT;
	ret = azihsm_aead_key(t, key, len);
	if (!ret)
		memcpy(t->salt, key + len, AZIHSM_RFC4106_SALT);
	return ret;
}

static int azihsm_soft_authsize(struct crypto_aead *tfm, unsigned int authsize)
{
	struct azihsm_aead_tfm *t = crypto_aead_ctx(tfm);

	return t->soft ? crypto_aead_setauthsize(t->soft, authsize) : 0;
}

static int azihsm_gcm_setauthsize(struct crypto_aead *tfm, unsigned int authsize)
{
	return crypto_gcm_check_authsize(authsize) ?: azihsm_soft_authsize(tfm, authsize);
}

static int azihsm_rfc4106_setauthsize(struct crypto_aead *tfm, unsigned int authsize)
{
	return crypto_rfc4106_check_authsize(authsize) ?: azihsm_soft_authsize(tfm, authsize);
}

static int azihsm_aead_init_common(struct crypto_aead *tfm, bool rfc4106)
{
	struct azihsm_aead_tfm *t = crypto_aead_ctx(tfm);
	unsigned int reqsize = sizeof(struct azihsm_aead_req);
	int ret;

	/* Optional: a kernel without software GCM refuses long messages. */
	t->soft = crypto_alloc_aead(rfc4106 ? "rfc4106(gcm(aes))" : "gcm(aes)", 0,
				    CRYPTO_ALG_NEED_FALLBACK);
	if (IS_ERR(t->soft))
		t->soft = NULL;
	else
		reqsize += crypto_aead_reqsize(t->soft);
	crypto_aead_set_reqsize(tfm, reqsize);
	t->rfc4106 = rfc4106;
	ret = azihsm_kc_tfm_init(&t->kc);
	if (ret && t->soft)
		crypto_free_aead(t->soft);
	return ret;
}

static int azihsm_gcm_init(struct crypto_aead *tfm)
{
	return azihsm_aead_init_common(tfm, false);
}

static int azihsm_rfc4106_init(struct crypto_aead *tfm)
{
	return azihsm_aead_init_common(tfm, true);
}

static void azihsm_aead_exit(struct crypto_aead *tfm)
{
	struct azihsm_aead_tfm *t = crypto_aead_ctx(tfm);

	azihsm_kc_tfm_exit(&t->kc);
	if (t->soft)
		crypto_free_aead(t->soft);
	memzero_explicit(t->salt, sizeof(t->salt));
}

static struct aead_alg azihsm_aead_algs[] = {
	{
		.setkey = azihsm_gcm_setkey,
		.setauthsize = azihsm_gcm_setauthsize,
		.encrypt = azihsm_aead_encrypt,
		.decrypt = azihsm_aead_decrypt,
		.init = azihsm_gcm_init,
		.exit = azihsm_aead_exit,
		.ivsize = GCM_AES_IV_SIZE,
		.maxauthsize = AES_BLOCK_SIZE,
		.chunksize = AES_BLOCK_SIZE,
	}, {
		.setkey = azihsm_rfc4106_setkey,
		.setauthsize = azihsm_rfc4106_setauthsize,
		.encrypt = azihsm_aead_encrypt,
		.decrypt = azihsm_aead_decrypt,
		.init = azihsm_rfc4106_init,
		.exit = azihsm_aead_exit,
		.ivsize = GCM_RFC4106_IV_SIZE,
		.maxauthsize = AES_BLOCK_SIZE,
		.chunksize = AES_BLOCK_SIZE,
	},
};

int azihsm_aead_register(void)
{
	azihsm_kc_base(&azihsm_aead_algs[0].base, "gcm(aes)", "gcm_aes_azihsm", 1,
		       sizeof(struct azihsm_aead_tfm));
	azihsm_kc_base(&azihsm_aead_algs[1].base, "rfc4106(gcm(aes))",
		       "rfc4106_gcm_aes_azihsm", 1, sizeof(struct azihsm_aead_tfm));
	/* Both have a software fallback: never be someone's fallback. */
	azihsm_aead_algs[0].base.cra_flags |= CRYPTO_ALG_NEED_FALLBACK;
	azihsm_aead_algs[1].base.cra_flags |= CRYPTO_ALG_NEED_FALLBACK;
	return crypto_register_aeads(azihsm_aead_algs, ARRAY_SIZE(azihsm_aead_algs));
}

void azihsm_aead_unregister(void)
{
	crypto_unregister_aeads(azihsm_aead_algs, ARRAY_SIZE(azihsm_aead_algs));
}
