// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm_kcbig: crypto-API coverage the other tests lack (issue 12,
 * section 3), every output checked against the kernel's software
 * implementation with the same key (tests/kcapi-vm.sh loads it):
 *
 *  1. skciphers over one command: cbc(aes) of 4 KiB + 16 up to 1 MiB + 16
 *     (one entry: the fast path up to 1 MiB, then the control path's
 *     chunks), xts(aes) above 8 KiB (past the fast path's largest unit:
 *     the control path's xts_block chunks, with ciphertext stealing), on
 *     one-entry, page-entry and chained odd-entry scatterlists (hundreds
 *     of entries: sg_alloc_table chains them), in place and not;
 *     encrypted, compared, decrypted back;
 *  2. gcm(aes) on a chained list of more than 32 entries within one
 *     command, and a message longer than one command (the software
 *     fallback); a flipped tag byte is refused with -EBADMSG;
 *  3. sha256 / sha384 over 1 MiB in one request on a chained list, and in
 *     many update() calls of odd sizes;
 *  4. concurrent setkey + encrypt from many transforms (threads, each its
 *     own transform and keys, cbc and xts): no output under another's key;
 *  5. the kernel session's key quota: 64 keyed transforms, the next setkey
 *     -ENOSPC and its transform refuses to encrypt; once one transform
 *     is freed that setkey succeeds and encrypts right.
 *
 * Results go to the kernel log as "azihsm_kcbig: ok N - ..." lines and a
 * plan; the module loads only when everything passed (-EINVAL otherwise).
 * Needs the software xts, gcm (ctr, ghash) and sha512 modules loaded.
 */
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <crypto/skcipher.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

static unsigned int kb_n, kb_failed;

static __printf(2, 3) void kb_ok(bool pass, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	kb_n++;
	if (!pass)
		kb_failed++;
	pr_info("azihsm_kcbig: %sok %u - %s\n", pass ? "" : "not ", kb_n, what);
}

/*
 * A message of @len bytes and a scatterlist over it: @piece 0 is one
 * entry over physically contiguous memory; otherwise entries of at most
 * @piece bytes over vmalloc'd memory, never across a page.
 */
struct kb_msg {
	u8 *buf;
	unsigned int len;
	bool contig;
	struct sg_table t;
};

static void kb_msg_free(struct kb_msg *m)
{
	if (m->t.sgl)
		sg_free_table(&m->t);
	if (m->contig)
		free_pages_exact(m->buf, m->len);
	else
		vfree(m->buf);
	memset(m, 0, sizeof(*m));
}

static int kb_msg_alloc(struct kb_msg *m, unsigned int len, unsigned int piece)
{
	struct scatterlist *sg;
	unsigned int off, n = 0, take;

	memset(m, 0, sizeof(*m));
	m->len = len;
	m->contig = !piece;
	if (m->contig) {
		m->buf = alloc_pages_exact(len, GFP_KERNEL | __GFP_NOWARN);
		if (!m->buf || sg_alloc_table(&m->t, 1, GFP_KERNEL))
			goto err;
		sg_set_buf(m->t.sgl, m->buf, len);
		return 0;
	}
	m->buf = vmalloc(len);
	if (!m->buf)
		goto err;
	for (off = 0; off < len; off += take, n++)
		take = min3(piece, len - off,
			    (unsigned int)(PAGE_SIZE - offset_in_page(m->buf + off)));
	if (sg_alloc_table(&m->t, n, GFP_KERNEL))
		goto err;
	sg = m->t.sgl;
	for (off = 0; off < len; off += take, sg = sg_next(sg)) {
		take = min3(piece, len - off,
			    (unsigned int)(PAGE_SIZE - offset_in_page(m->buf + off)));
		sg_set_page(sg, vmalloc_to_page(m->buf + off), take,
			    offset_in_page(m->buf + off));
	}
	return 0;
err:
	kb_msg_free(m);
	return -ENOMEM;
}

static int kb_sk_run(struct crypto_skcipher *tfm, bool enc, struct scatterlist *src,
		     struct scatterlist *dst, unsigned int len, u8 *iv)
{
	struct skcipher_request *req;
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				      CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, src, dst, len, iv);
	ret = crypto_wait_req(enc ? crypto_skcipher_encrypt(req) :
			      crypto_skcipher_decrypt(req), &wait);
	skcipher_request_free(req);
	return ret;
}

/* One buffer, one entry, with @soft (a synchronous transform). */
static int kb_sk_soft(struct crypto_skcipher *soft, bool enc, u8 *buf, unsigned int len,
		      u8 *iv)
{
	struct kb_msg m;
	int ret;

	ret = kb_msg_alloc(&m, len, PAGE_SIZE);
	if (ret)
		return ret;
	memcpy(m.buf, buf, len);
	ret = kb_sk_run(soft, enc, m.t.sgl, m.t.sgl, len, iv);
	memcpy(buf, m.buf, len);
	kb_msg_free(&m);
	return ret;
}

/*
 * Section 1: @name against @soft, @len bytes on a list of @piece-byte
 * entries (0: one entry), in place or not.
 */
static void kb_skcipher(const char *name, const char *soft_name, unsigned int keylen,
			unsigned int len, unsigned int piece, bool inplace)
{
	struct crypto_skcipher *tfm = NULL, *soft = NULL;
	struct kb_msg src = { }, dst = { };
	u8 key[64], iv[16], iv_ours[16], iv_soft[16];
	u8 *plain = vmalloc(len), *ref = vmalloc(len);
	bool same = false, back = false, ivs = true;
	int err = -ENOMEM, nents = 0;

	if (!plain || !ref || kb_msg_alloc(&src, len, piece) ||
	    (!inplace && kb_msg_alloc(&dst, len, piece)))
		goto out;
	nents = sg_nents(src.t.sgl);
	tfm = crypto_alloc_skcipher(name, 0, 0);
	soft = crypto_alloc_skcipher(soft_name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(tfm) || IS_ERR(soft)) {
		err = IS_ERR(tfm) ? PTR_ERR(tfm) : PTR_ERR(soft);
		goto out;
	}
	get_random_bytes(key, keylen);
	get_random_bytes(iv, sizeof(iv));
	get_random_bytes(plain, len);
	err = crypto_skcipher_setkey(tfm, key, keylen) ?:
	      crypto_skcipher_setkey(soft, key, keylen);
	if (err)
		goto out;
	memcpy(src.buf, plain, len);
	memcpy(ref, plain, len);
	memcpy(iv_ours, iv, 16);
	memcpy(iv_soft, iv, 16);
	err = kb_sk_run(tfm, true, src.t.sgl, inplace ? src.t.sgl : dst.t.sgl, len, iv_ours) ?:
	      kb_sk_soft(soft, true, ref, len, iv_soft);
	if (err)
		goto out;
	same = !memcmp(inplace ? src.buf : dst.buf, ref, len);
	/* CBC hands back the last ciphertext block as the next IV. */
	if (strstr(name, "cbc"))
		ivs = !memcmp(iv_ours, iv_soft, 16);
	memcpy(iv_ours, iv, 16);
	if (inplace) {
		err = kb_sk_run(tfm, false, src.t.sgl, src.t.sgl, len, iv_ours);
		back = !err && !memcmp(src.buf, plain, len);
	} else {
		err = kb_sk_run(tfm, false, dst.t.sgl, src.t.sgl, len, iv_ours);
		back = !err && !memcmp(src.buf, plain, len);
	}
out:
	kb_ok(!err && same && ivs && back,
	      "%s: %u bytes, %s (%d entries), %s: %s (err %d)", name, len,
	      !piece ? "one entry" : piece == PAGE_SIZE ? "page entries" : "odd entries",
	      nents, inplace ? "in place" : "out of place",
	      !same ? "output differs from the software's" : !ivs ? "output IV differs" :
	      !back ? "does not decrypt back" : "same as the software, decrypts back", err);
	if (!IS_ERR_OR_NULL(tfm))
		crypto_free_skcipher(tfm);
	if (!IS_ERR_OR_NULL(soft))
		crypto_free_skcipher(soft);
	kb_msg_free(&src);
	if (!inplace)
		kb_msg_free(&dst);
	vfree(plain);
	vfree(ref);
}

static int kb_aead_run(struct crypto_aead *tfm, bool enc, struct scatterlist *sg,
		       unsigned int assoclen, unsigned int cryptlen, u8 *iv)
{
	struct aead_request *req;
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	req = aead_request_alloc(tfm, GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG | CRYPTO_TFM_REQ_MAY_SLEEP,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, assoclen);
	aead_request_set_crypt(req, sg, sg, cryptlen, iv);
	ret = crypto_wait_req(enc ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req),
			      &wait);
	aead_request_free(req);
	return ret;
}

/*
 * Section 2: gcm_aes_azihsm against the software, AAD + @text bytes (+
 * the 16-byte tag) in place on @piece-byte entries.
 */
static void kb_gcm(unsigned int aad, unsigned int text, unsigned int piece)
{
	unsigned int len = aad + text + 16;
	struct crypto_aead *tfm = NULL, *soft = NULL;
	struct kb_msg m = { }, r = { };
	u8 key[32], iv[12], ivc[12];
	u8 *plain = vmalloc(len);
	bool same = false, back = false, forged = false;
	int err = -ENOMEM, nents = 0, bad = 0;

	if (!plain || kb_msg_alloc(&m, len, piece) || kb_msg_alloc(&r, len, PAGE_SIZE))
		goto out;
	nents = sg_nents(m.t.sgl);
	tfm = crypto_alloc_aead("gcm_aes_azihsm", 0, 0);
	soft = crypto_alloc_aead("gcm_base(ctr(aes-generic),ghash-generic)", 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(tfm) || IS_ERR(soft)) {
		err = IS_ERR(tfm) ? PTR_ERR(tfm) : PTR_ERR(soft);
		goto out;
	}
	get_random_bytes(key, sizeof(key));
	get_random_bytes(iv, sizeof(iv));
	get_random_bytes(plain, len);
	err = crypto_aead_setkey(tfm, key, sizeof(key)) ?:
	      crypto_aead_setkey(soft, key, sizeof(key)) ?:
	      crypto_aead_setauthsize(tfm, 16) ?: crypto_aead_setauthsize(soft, 16);
	if (err)
		goto out;
	memcpy(m.buf, plain, len);
	memcpy(r.buf, plain, len);
	memcpy(ivc, iv, 12);
	err = kb_aead_run(tfm, true, m.t.sgl, aad, text, ivc);
	memcpy(ivc, iv, 12);
	err = err ?: kb_aead_run(soft, true, r.t.sgl, aad, text, ivc);
	if (err)
		goto out;
	same = !memcmp(m.buf, r.buf, len);
	memcpy(ivc, iv, 12);
	err = kb_aead_run(tfm, false, m.t.sgl, aad, text + 16, ivc);
	back = !err && !memcmp(m.buf, plain, aad + text);
	if (err)
		goto out;
	/* The ciphertext again, one tag byte flipped: refused. */
	memcpy(m.buf, r.buf, len);
	m.buf[len - 1] ^= 1;
	memcpy(ivc, iv, 12);
	bad = kb_aead_run(tfm, false, m.t.sgl, aad, text + 16, ivc);
	forged = bad == -EBADMSG;
out:
	kb_ok(!err && same && back && forged,
	      "gcm_aes_azihsm: %u AAD + %u bytes, %s (%d entries): %s (err %d, forged tag %d)",
	      aad, text, !piece ? "one entry" : "odd entries", nents,
	      !same ? "output differs from the software's" : !back ? "does not decrypt back" :
	      !forged ? "a forged tag is not -EBADMSG" : "same as the software, tag checked",
	      err, bad);
	if (!IS_ERR_OR_NULL(tfm))
		crypto_free_aead(tfm);
	if (!IS_ERR_OR_NULL(soft))
		crypto_free_aead(soft);
	kb_msg_free(&m);
	kb_msg_free(&r);
	vfree(plain);
}

/* Section 3: a digest of @len bytes in one request and in odd updates. */
static void kb_hash(const char *name, const char *soft_name, unsigned int len,
		    unsigned int piece)
{
	static const unsigned int steps[] = { 1, 63, 4097, 8000, 7936, 13, 65536, 500 };
	struct crypto_ahash *tfm = NULL;
	struct crypto_shash *soft = NULL;
	struct ahash_request *req = NULL;
	struct kb_msg m = { };
	struct scatterlist *sg;
	DECLARE_CRYPTO_WAIT(wait);
	u8 d1[64], d2[64], ref[64];
	unsigned int off, step, i = 0, updates = 0;
	bool one = false, many = false;
	int err = -ENOMEM;

	if (kb_msg_alloc(&m, len, piece))
		goto out;
	tfm = crypto_alloc_ahash(name, 0, 0);
	soft = crypto_alloc_shash(soft_name, 0, 0);
	if (IS_ERR(tfm) || IS_ERR(soft)) {
		err = IS_ERR(tfm) ? PTR_ERR(tfm) : PTR_ERR(soft);
		goto out;
	}
	req = ahash_request_alloc(tfm, GFP_KERNEL);
	if (!req)
		goto out;
	get_random_bytes(m.buf, len);
	err = crypto_shash_tfm_digest(soft, m.buf, len, ref);
	if (err)
		goto out;
	ahash_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG | CRYPTO_TFM_REQ_MAY_SLEEP,
				   crypto_req_done, &wait);
	ahash_request_set_crypt(req, m.t.sgl, d1, len);
	err = crypto_wait_req(crypto_ahash_digest(req), &wait);
	if (err)
		goto out;
	one = !memcmp(d1, ref, crypto_ahash_digestsize(tfm));

	/* Many updates: each a one-entry list over the next bytes. */
	err = crypto_wait_req(crypto_ahash_init(req), &wait);
	for (off = 0; !err && off < len; off += step, i++) {
		struct scatterlist one_sg;

		step = min(steps[i % ARRAY_SIZE(steps)], len - off);
		/* An entry within one page of the vmalloc'd buffer. */
		step = min_t(unsigned int, step, PAGE_SIZE - offset_in_page(m.buf + off));
		sg_init_table(&one_sg, 1);
		sg_set_page(&one_sg, vmalloc_to_page(m.buf + off), step,
			    offset_in_page(m.buf + off));
		ahash_request_set_crypt(req, &one_sg, NULL, step);
		err = crypto_wait_req(crypto_ahash_update(req), &wait);
		updates++;
	}
	if (!err) {
		ahash_request_set_crypt(req, NULL, d2, 0);
		err = crypto_wait_req(crypto_ahash_final(req), &wait);
	}
	many = !err && !memcmp(d2, ref, crypto_ahash_digestsize(tfm));
out:
	sg = m.t.sgl;
	kb_ok(!err && one && many,
	      "%s: %u bytes in one request (%d entries) and in %u updates: %s (err %d)",
	      name, len, sg ? sg_nents(sg) : 0, updates,
	      !one ? "one request differs from the software" :
	      !many ? "the updates differ from the software" : "same as the software", err);
	ahash_request_free(req);
	if (!IS_ERR_OR_NULL(tfm))
		crypto_free_ahash(tfm);
	if (!IS_ERR_OR_NULL(soft))
		crypto_free_shash(soft);
	kb_msg_free(&m);
}

/* Section 4: threads, each with its own transforms, re-keying all along. */
#define KB_THREADS	8
#define KB_ROUNDS	40

struct kb_thread {
	const char *name, *soft_name;
	unsigned int keylen;
	unsigned int seed;
	int err;
	unsigned int wrong, rounds;
	struct completion done;
};

static int kb_thread_fn(void *data)
{
	struct kb_thread *t = data;
	struct crypto_skcipher *tfm, *soft;
	struct kb_msg m = { };
	u8 key[64], iv[16], iv2[16];
	u8 *ref = NULL;
	unsigned int r, len;

	tfm = crypto_alloc_skcipher(t->name, 0, 0);
	soft = crypto_alloc_skcipher(t->soft_name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(tfm) || IS_ERR(soft)) {
		t->err = IS_ERR(tfm) ? PTR_ERR(tfm) : PTR_ERR(soft);
		goto out;
	}
	ref = kmalloc(3 * PAGE_SIZE, GFP_KERNEL);
	if (!ref || kb_msg_alloc(&m, 3 * PAGE_SIZE, 0)) {
		t->err = -ENOMEM;
		goto out;
	}
	for (r = 0; r < KB_ROUNDS && !t->err; r++) {
		/* Sizes on both paths: one entry up to 12 KiB. */
		len = 512 * (1 + (t->seed + r) % 24);
		get_random_bytes(key, t->keylen);
		get_random_bytes(iv, 16);
		get_random_bytes(m.buf, len);
		memcpy(ref, m.buf, len);
		memcpy(iv2, iv, 16);
		t->err = crypto_skcipher_setkey(tfm, key, t->keylen) ?:
			 crypto_skcipher_setkey(soft, key, t->keylen) ?:
			 kb_sk_run(tfm, true, m.t.sgl, m.t.sgl, len, iv) ?:
			 kb_sk_soft(soft, true, ref, len, iv2);
		if (!t->err && memcmp(m.buf, ref, len))
			t->wrong++;
		t->rounds++;
	}
out:
	kfree(ref);
	kb_msg_free(&m);
	if (!IS_ERR_OR_NULL(tfm))
		crypto_free_skcipher(tfm);
	if (!IS_ERR_OR_NULL(soft))
		crypto_free_skcipher(soft);
	complete(&t->done);
	return 0;
}

static void kb_concurrent(void)
{
	struct kb_thread *t = kcalloc(KB_THREADS, sizeof(*t), GFP_KERNEL);
	unsigned int i, wrong = 0, rounds = 0;
	int err = 0;

	if (!t) {
		kb_ok(false, "concurrent setkey/encrypt: no memory");
		return;
	}
	for (i = 0; i < KB_THREADS; i++) {
		struct task_struct *k;

		t[i].name = i % 2 ? "xts_aes_azihsm" : "cbc_aes_azihsm";
		t[i].soft_name = i % 2 ? "xts(ecb(aes-generic))" : "cbc(aes-generic)";
		t[i].keylen = i % 2 ? 64 : 16 + 8 * (i % 3);
		t[i].seed = i * 5;
		init_completion(&t[i].done);
		k = kthread_run(kb_thread_fn, &t[i], "azihsm_kcbig%u", i);
		if (IS_ERR(k)) {
			t[i].err = PTR_ERR(k);
			complete(&t[i].done);
		}
	}
	for (i = 0; i < KB_THREADS; i++) {
		wait_for_completion(&t[i].done);
		wrong += t[i].wrong;
		rounds += t[i].rounds;
		if (t[i].err && !err)
			err = t[i].err;
	}
	kb_ok(!err && !wrong && rounds == KB_THREADS * KB_ROUNDS,
	      "concurrent setkey + encrypt: %u threads (cbc and xts), %u rounds, %u wrong outputs (err %d)",
	      KB_THREADS, rounds, wrong, err);
	kfree(t);
}

/* Section 5: the kernel session's quota of 64 keys. */
#define KB_QUOTA	64

static void kb_quota(void)
{
	struct crypto_skcipher *tfm[KB_QUOTA + 4] = { }, *soft = NULL;
	struct scatterlist sg, rsg;
	u8 key[16], iv[16], iv2[16];
	u8 *buf = kmalloc(64, GFP_KERNEL), *ref = kmalloc(64, GFP_KERNEL);
	unsigned int i, keyed = 0;
	int err = 0, refused = 0, enc, again;

	if (!buf || !ref) {
		kb_ok(false, "quota: no memory");
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(tfm); i++) {
		tfm[i] = crypto_alloc_skcipher("cbc_aes_azihsm", 0, 0);
		if (IS_ERR(tfm[i])) {
			kb_ok(false, "quota: allocate transform %u (%ld)", i, PTR_ERR(tfm[i]));
			tfm[i] = NULL;
			goto out;
		}
		get_random_bytes(key, sizeof(key));
		refused = crypto_skcipher_setkey(tfm[i], key, sizeof(key));
		if (refused)
			break;
		keyed++;
	}
	kb_ok(keyed == KB_QUOTA && refused == -ENOSPC,
	      "quota: %u transforms keyed, the next setkey %d (want %d, then -ENOSPC)",
	      keyed, refused, KB_QUOTA);
	if (i == ARRAY_SIZE(tfm))
		goto out;
	/* The refused transform has no key: it encrypts nothing. */
	get_random_bytes(buf, 64);
	get_random_bytes(iv, sizeof(iv));
	sg_init_one(&sg, buf, 64);
	enc = kb_sk_run(tfm[i], true, &sg, &sg, 64, iv);
	kb_ok(enc < 0, "quota: the transform whose setkey failed refuses to encrypt (%d)", enc);

	/* Free one keyed transform: its key goes, the refused one fits. */
	crypto_free_skcipher(tfm[0]);
	tfm[0] = NULL;
	soft = crypto_alloc_skcipher("cbc(aes-generic)", 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(soft)) {
		err = PTR_ERR(soft);
		soft = NULL;
	}
	get_random_bytes(key, sizeof(key));
	again = crypto_skcipher_setkey(tfm[i], key, sizeof(key));
	err = err ?: again ?: crypto_skcipher_setkey(soft, key, sizeof(key));
	memcpy(ref, buf, 64);
	memcpy(iv2, iv, sizeof(iv));
	sg_init_one(&rsg, ref, 64);
	err = err ?: kb_sk_run(tfm[i], true, &sg, &sg, 64, iv) ?:
	      kb_sk_run(soft, true, &rsg, &rsg, 64, iv2);
	kb_ok(!again && !err && !memcmp(buf, ref, 64),
	      "quota: with one transform freed the refused one takes a key (%d) and encrypts as the software (err %d)",
	      again, err);
out:
	for (i = 0; i < ARRAY_SIZE(tfm); i++)
		if (tfm[i])
			crypto_free_skcipher(tfm[i]);
	if (soft)
		crypto_free_skcipher(soft);
	kfree(buf);
	kfree(ref);
}

static int __init kb_init(void)
{
	static const unsigned int pieces[] = { 0, PAGE_SIZE, 509 };
	static const unsigned int cbc_lens[] = { 4096 + 16, 65536, SZ_1M, SZ_1M + 16 };
	static const unsigned int xts_lens[] = { 4096 + 16, 8192 + 16, 8192 + 16 + 5, 65536 + 7 };
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(cbc_lens); i++)
		for (j = 0; j < ARRAY_SIZE(pieces); j++)
			kb_skcipher("cbc_aes_azihsm", "cbc(aes-generic)", 32, cbc_lens[i],
				    pieces[j], j != 1);
	for (i = 0; i < ARRAY_SIZE(xts_lens); i++)
		for (j = 0; j < ARRAY_SIZE(pieces); j++)
			kb_skcipher("xts_aes_azihsm", "xts(ecb(aes-generic))", 64, xts_lens[i],
				    pieces[j], j != 1);
	kb_skcipher("ctr_aes_azihsm", "ctr(aes-generic)", 16, SZ_1M + 5, 509, true);

	kb_gcm(20, 4000, 0);
	kb_gcm(20, 4000, 61);		/* 66 entries, one command */
	kb_gcm(13, 16384, 0);		/* over one command: the fallback */
	kb_gcm(13, 16384, 509);

	kb_hash("sha256_azihsm", "sha256-generic", SZ_1M + 3, 509);
	kb_hash("sha384_azihsm", "sha384-generic", SZ_1M + 3, PAGE_SIZE);

	kb_concurrent();
	kb_quota();

	pr_info("azihsm_kcbig: 1..%u\n", kb_n);
	return kb_failed ? -EINVAL : 0;
}

static void __exit kb_exit(void)
{
}

module_init(kb_init);
module_exit(kb_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("azihsm crypto-API coverage: big, chained, concurrent, quota");
