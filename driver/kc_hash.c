// SPDX-License-Identifier: GPL-2.0-only
/*
 * ahash sha256/384/512 and hmac(sha256/384/512) on the resumable Hash
 * 4021 command. The request state (exported and imported as is) is the
 * chaining value the device returned, the number of message bytes it
 * covers and a partial block; whole blocks go to the device, a partial
 * block waits in the state. For HMAC the device starts from the key's
 * inner pad and keeps the outer pad: the state holds no key equivalent
 * that finishes a MAC.
 */
#include <crypto/internal/hash.h>
#include <crypto/scatterwalk.h>
#include <crypto/sha2.h>
#include <linux/module.h>
#include <linux/scatterlist.h>

#include "kcrypto.h"

struct azihsm_hash_state {
	u64 done;			/* message bytes in @chain */
	u32 buflen;			/* < block size */
	u32 has_chain;
	u8 chain[SHA512_DIGEST_SIZE];
	u8 buf[SHA512_BLOCK_SIZE];
};

struct azihsm_hash_alg {
	struct ahash_alg alg;
	u8 hash;			/* AZIHSM_HASH_* */
	u8 key_type;			/* HMAC: AZIHSM_KEY_HMAC_*, else 0 */
	const char *name, *driver;
};

struct azihsm_hash_req {
	struct azihsm_kc_req base;	/* first */
	struct ahash_request *req;
	struct azihsm_hash_state st;
	bool final;			/* finish after the data */
	unsigned int nbytes;		/* request data to take */
	unsigned int sg_pos;		/* taken so far */
	unsigned int cmd_len;		/* this command: buf + sg bytes */
	bool cmd_final;
};

static const struct azihsm_hash_alg *azihsm_hash_alg_of(struct crypto_ahash *tfm)
{
	/* crypto_ahash_alg() is newer than 6.1; this works on both. */
	struct ahash_alg *alg = container_of(crypto_hash_alg_common(tfm), struct ahash_alg,
					     halg);

	return container_of(alg, struct azihsm_hash_alg, alg);
}

static int azihsm_hash_cmd_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_hash_req *r = kc->ctx;
	struct ahash_request *req = r->req;
	const struct azihsm_hash_alg *a = azihsm_hash_alg_of(crypto_ahash_reqtfm(req));
	unsigned int dlen = crypto_ahash_digestsize(crypto_ahash_reqtfm(req));
	unsigned int from_sg = r->cmd_len - r->st.buflen;
	bool chained = r->st.has_chain;
	u8 *p;

	mbor_enc_map(e, 3 + (a->key_type ? 1 : 0) + (chained ? 2 : 0));
	mbor_enc_key(e, AZIHSM_HASH_F_HASH);
	mbor_enc_u8(e, a->hash);
	if (a->key_type) {
		mbor_enc_key(e, AZIHSM_HASH_F_KEY_ID);
		mbor_enc_u16(e, kc->key_id);
	}
	if (chained) {
		/* SHA-384 chains the full 64-byte SHA-512 state. */
		mbor_enc_key(e, AZIHSM_HASH_F_STATE);
		mbor_enc_bytes(e, r->st.chain, dlen == SHA384_DIGEST_SIZE ?
			       SHA512_DIGEST_SIZE : dlen);
	}
	mbor_enc_key(e, AZIHSM_HASH_F_DATA);
	p = mbor_enc_bytes_reserve(e, r->cmd_len);
	if (!p)
		return -EMSGSIZE;
	memcpy(p, r->st.buf, r->st.buflen);
	if (from_sg && sg_pcopy_to_buffer(req->src, sg_nents(req->src), p + r->st.buflen,
					  from_sg, r->sg_pos) != from_sg)
		return -EINVAL;
	mbor_enc_key(e, AZIHSM_HASH_F_FINAL);
	mbor_enc_bool(e, r->cmd_final);
	if (chained) {
		mbor_enc_key(e, AZIHSM_HASH_F_DONE);
		mbor_enc_u64(e, r->st.done);
	}
	return 0;
}

static int azihsm_hash_cmd_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_hash_req *r = kc->ctx;
	struct ahash_request *req = r->req;
	unsigned int dlen = crypto_ahash_digestsize(crypto_ahash_reqtfm(req));
	unsigned int clen = dlen == SHA384_DIGEST_SIZE ? SHA512_DIGEST_SIZE : dlen;
	struct azihsm_kbytes out = { };
	const struct azihsm_kfield f[] = {
		{ AZIHSM_HASH_F_OUT, AZIHSM_KF_BYTES, false, &out },
	};
	int ret = azihsm_kdec(d, f, ARRAY_SIZE(f));

	if (ret)
		return ret;
	if (r->cmd_final) {
		if (out.len != dlen)
			return -EBADMSG;
		memcpy(req->result, out.p, dlen);
		return 0;
	}
	if (out.len != clen)
		return -EBADMSG;
	memcpy(r->st.chain, out.p, clen);
	return 0;
}

static int azihsm_hash_run(struct azihsm_kc_req *base)
{
	struct azihsm_hash_req *r = container_of(base, struct azihsm_hash_req, base);
	struct ahash_request *req = r->req;
	struct crypto_ahash *tfm = crypto_ahash_reqtfm(req);
	struct azihsm_kc_tfm *t = crypto_ahash_ctx(tfm);
	unsigned int bs = crypto_ahash_blocksize(tfm);
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_HASH,
		.req = azihsm_hash_cmd_req,
		.rsp = azihsm_hash_cmd_rsp,
		.ctx = r,
	};
	unsigned int avail, left;
	int ret;

	for (;;) {
		left = r->nbytes - r->sg_pos;
		avail = r->st.buflen + left;
		if (r->final && avail <= AZIHSM_KC_CHUNK) {
			r->cmd_len = avail;
			r->cmd_final = true;
		} else if (avail >= bs) {
			r->cmd_len = min_t(unsigned int, rounddown(avail, bs), AZIHSM_KC_CHUNK);
			r->cmd_final = false;
		} else {
			break;
		}
		ret = azihsm_kkey_run(t->hdev, azihsm_hash_alg_of(tfm)->key_type ? &t->key : NULL,
				      &kc);
		if (ret)
			return ret;
		if (r->cmd_final)
			return 0;
		r->sg_pos += r->cmd_len - r->st.buflen;
		r->st.done += r->cmd_len;
		r->st.buflen = 0;
		r->st.has_chain = 1;
	}
	/* Fewer than a block left: it waits in the state. */
	if (left)
		scatterwalk_map_and_copy(r->st.buf + r->st.buflen, req->src, r->sg_pos, left, 0);
	r->st.buflen += left;
	return 0;
}

static int azihsm_hash_submit(struct ahash_request *req, bool data, bool final)
{
	struct crypto_ahash *tfm = crypto_ahash_reqtfm(req);
	struct azihsm_kc_tfm *t = crypto_ahash_ctx(tfm);
	struct azihsm_hash_req *r = ahash_request_ctx(req);

	r->req = req;
	r->final = final;
	r->nbytes = data ? req->nbytes : 0;
	r->sg_pos = 0;
	if (!final && r->st.buflen + r->nbytes < crypto_ahash_blocksize(tfm)) {
		scatterwalk_map_and_copy(r->st.buf + r->st.buflen, req->src, 0, r->nbytes, 0);
		r->st.buflen += r->nbytes;
		return 0;
	}
	return azihsm_kc_enqueue(t->hdev, &r->base, &req->base, azihsm_hash_run);
}

static int azihsm_hash_init(struct ahash_request *req)
{
	struct azihsm_hash_req *r = ahash_request_ctx(req);

	memset(&r->st, 0, sizeof(r->st));
	return 0;
}

static int azihsm_hash_update(struct ahash_request *req)
{
	return azihsm_hash_submit(req, true, false);
}

static int azihsm_hash_final(struct ahash_request *req)
{
	return azihsm_hash_submit(req, false, true);
}

static int azihsm_hash_finup(struct ahash_request *req)
{
	return azihsm_hash_submit(req, true, true);
}

static int azihsm_hash_digest(struct ahash_request *req)
{
	azihsm_hash_init(req);
	return azihsm_hash_finup(req);
}

static int azihsm_hash_export(struct ahash_request *req, void *out)
{
	struct azihsm_hash_req *r = ahash_request_ctx(req);

	memcpy(out, &r->st, sizeof(r->st));
	return 0;
}

static int azihsm_hash_import(struct ahash_request *req, const void *in)
{
	struct azihsm_hash_req *r = ahash_request_ctx(req);
	struct crypto_ahash *tfm = crypto_ahash_reqtfm(req);

	memcpy(&r->st, in, sizeof(r->st));
	if (r->st.buflen >= crypto_ahash_blocksize(tfm))
		return -EINVAL;
	return 0;
}

static int azihsm_hmac_setkey(struct crypto_ahash *tfm, const u8 *key, unsigned int len)
{
	static const u8 zero;

	/*
	 * HMAC pads a short key with zeros to the block size, so the empty
	 * key (HKDF's default salt) is the one-byte key 00: the device wants
	 * at least one byte.
	 */
	if (!len) {
		key = &zero;
		len = 1;
	}
	return azihsm_kc_setkey(crypto_ahash_ctx(tfm), azihsm_hash_alg_of(tfm)->key_type,
				AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY, key, len);
}

static int azihsm_hash_tfm_init(struct crypto_tfm *tfm)
{
	crypto_ahash_set_reqsize(__crypto_ahash_cast(tfm), sizeof(struct azihsm_hash_req));
	return azihsm_kc_tfm_init(crypto_tfm_ctx(tfm));
}

static void azihsm_hash_tfm_exit(struct crypto_tfm *tfm)
{
	azihsm_kc_tfm_exit(crypto_tfm_ctx(tfm));
}

#define AZIHSM_HASH_ALG(h, keyt, dsize, bsize, cname, dname)			\
	{									\
		.alg = {							\
			.init = azihsm_hash_init,				\
			.update = azihsm_hash_update,				\
			.final = azihsm_hash_final,				\
			.finup = azihsm_hash_finup,				\
			.digest = azihsm_hash_digest,				\
			.export = azihsm_hash_export,				\
			.import = azihsm_hash_import,				\
			.halg.digestsize = dsize,				\
			.halg.statesize = sizeof(struct azihsm_hash_state),	\
			.halg.base.cra_blocksize = bsize,			\
		},								\
		.hash = h, .key_type = keyt, .name = cname, .driver = dname,	\
	}

static struct azihsm_hash_alg azihsm_hash_algs[] = {
	AZIHSM_HASH_ALG(AZIHSM_HASH_SHA256, 0, SHA256_DIGEST_SIZE, SHA256_BLOCK_SIZE,
			"sha256", "sha256_azihsm"),
	AZIHSM_HASH_ALG(AZIHSM_HASH_SHA384, 0, SHA384_DIGEST_SIZE, SHA384_BLOCK_SIZE,
			"sha384", "sha384_azihsm"),
	AZIHSM_HASH_ALG(AZIHSM_HASH_SHA512, 0, SHA512_DIGEST_SIZE, SHA512_BLOCK_SIZE,
			"sha512", "sha512_azihsm"),
	AZIHSM_HASH_ALG(AZIHSM_HASH_SHA256, AZIHSM_KEY_HMAC_SHA256, SHA256_DIGEST_SIZE,
			SHA256_BLOCK_SIZE, "hmac(sha256)", "hmac_sha256_azihsm"),
	AZIHSM_HASH_ALG(AZIHSM_HASH_SHA384, AZIHSM_KEY_HMAC_SHA384, SHA384_DIGEST_SIZE,
			SHA384_BLOCK_SIZE, "hmac(sha384)", "hmac_sha384_azihsm"),
	AZIHSM_HASH_ALG(AZIHSM_HASH_SHA512, AZIHSM_KEY_HMAC_SHA512, SHA512_DIGEST_SIZE,
			SHA512_BLOCK_SIZE, "hmac(sha512)", "hmac_sha512_azihsm"),
};

static unsigned int azihsm_hash_registered;

int azihsm_hash_register(void)
{
	struct azihsm_hash_alg *a;
	int ret;

	for (azihsm_hash_registered = 0; azihsm_hash_registered < ARRAY_SIZE(azihsm_hash_algs);
	     azihsm_hash_registered++) {
		a = &azihsm_hash_algs[azihsm_hash_registered];
		azihsm_kc_base(&a->alg.halg.base, a->name, a->driver,
			       a->alg.halg.base.cra_blocksize, sizeof(struct azihsm_kc_tfm));
		a->alg.halg.base.cra_init = azihsm_hash_tfm_init;
		a->alg.halg.base.cra_exit = azihsm_hash_tfm_exit;
		if (a->key_type)
			a->alg.setkey = azihsm_hmac_setkey;
		ret = crypto_register_ahash(&a->alg);
		if (ret) {
			azihsm_hash_unregister();
			return ret;
		}
	}
	return 0;
}

void azihsm_hash_unregister(void)
{
	while (azihsm_hash_registered)
		crypto_unregister_ahash(&azihsm_hash_algs[--azihsm_hash_registered].alg);
}
