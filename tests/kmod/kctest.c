// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm_kctest: in-kernel checks of what only an in-kernel user sees of
 * the crypto-API algorithms (tests/guest/kctest.sh loads it):
 *
 *  1. queue full without CRYPTO_TFM_REQ_MAY_BACKLOG: -ENOSPC, the other
 *     requests complete;
 *  2. with MAY_BACKLOG: -EBUSY, then an -EINPROGRESS notification, then
 *     the result, every output equal to the software cbc(aes);
 *     (1 and 2 give each request KC_SGS scatterlist entries, more than
 *     one AES fast-path command takes, so they all use the control path
 *     whose depth they fill);
 *  3. odd scatterlists: many 1..7-byte entries at odd offsets, out of
 *     place and in place, against the software (testmgr covers 1..8
 *     entries; this goes to 255);
 *  4. zero-length requests complete with 0;
 *  5. the AES fast path (one-entry scatterlists): a burst with
 *     MAY_BACKLOG, and a 4 KiB message in two requests chained by the
 *     output IV, encrypted then decrypted in place, against the software.
 *
 * Results go to the kernel log as "azihsm_kctest: ok N - ..." lines; the
 * module loads only when everything passed (-EINVAL otherwise), so a
 * failing run cannot go unnoticed. Load azihsm with a small crypto_depth
 * (the script uses 2) so that the queue fills.
 */
#include <crypto/skcipher.h>
#include <linux/completion.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/version.h>

#define KC_REQS		64
#define KC_LEN		4096
#define KC_SGS		64	/* entries per burst request: over the fast path's 32 */

static unsigned int kc_n, kc_failed;

static void kc_ok(bool pass, const char *what)
{
	kc_n++;
	if (!pass)
		kc_failed++;
	pr_info("azihsm_kctest: %sok %u - %s\n", pass ? "" : "not ", kc_n, what);
}

struct kc_req {
	struct skcipher_request *req;
	struct scatterlist sg[KC_SGS];
	u8 *buf;
	u8 iv[16];
	int submit;		/* what encrypt returned */
	int notified;		/* -EINPROGRESS notifications seen */
	int result;		/* final status */
	struct completion done;
};

static void kc_cb(void *data, int err)
{
	struct kc_req *r = data;

	if (err == -EINPROGRESS) {
		r->notified++;
		return;
	}
	r->result = err;
	complete(&r->done);
}

/* The callback type differs between 6.1 and 6.12; adapt here only. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static void kc_cb_compat(struct crypto_async_request *areq, int err)
{
	kc_cb(areq->data, err);
}
#define KC_CB kc_cb_compat
#else
#define KC_CB kc_cb
#endif

static const u8 kc_key[16] = "azihsm-kctest-k";

/* Software reference: cbc(aes) by the generic driver, synchronously. */
static int kc_soft_cbc(const u8 *iv, u8 *buf, unsigned int len)
{
	struct crypto_skcipher *tfm;
	struct skcipher_request *req;
	struct scatterlist sg;
	DECLARE_CRYPTO_WAIT(wait);
	u8 ivc[16];
	int ret;

	tfm = crypto_alloc_skcipher("cbc(aes-generic)", 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	ret = crypto_skcipher_setkey(tfm, kc_key, sizeof(kc_key));
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!req) {
		crypto_free_skcipher(tfm);
		return -ENOMEM;
	}
	memcpy(ivc, iv, 16);
	sg_init_one(&sg, buf, len);
	skcipher_request_set_callback(req, 0, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, &sg, &sg, len, ivc);
	if (!ret)
		ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
	skcipher_request_free(req);
	crypto_free_skcipher(tfm);
	return ret;
}

static void kc_fill(u8 *buf, unsigned int len, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		buf[i] = (u8)(i * 7 + seed * 13 + (i >> 8));
}

/*
 * Submit KC_REQS requests at once; @flags 0 or MAY_BACKLOG. @nsg entries
 * per request: KC_SGS for the control path, 1 for the fast path.
 */
static void kc_burst(struct crypto_skcipher *tfm, u32 flags, unsigned int nsg,
		     const char *name)
{
	struct kc_req *r;
	unsigned int i, k, inprogress = 0, busy = 0, nospc = 0, other = 0;
	unsigned int wrong = 0, notify_wrong = 0;
	u8 *ref, iv[16];
	char what[160];

	r = kcalloc(KC_REQS, sizeof(*r), GFP_KERNEL);
	ref = kmalloc(KC_LEN, GFP_KERNEL);
	if (!r || !ref)
		goto out;
	for (i = 0; i < KC_REQS; i++) {
		r[i].req = skcipher_request_alloc(tfm, GFP_KERNEL);
		r[i].buf = kmalloc(KC_LEN, GFP_KERNEL);
		if (!r[i].req || !r[i].buf)
			goto out;
		kc_fill(r[i].buf, KC_LEN, i);
		memset(r[i].iv, i, sizeof(r[i].iv));
		init_completion(&r[i].done);
		sg_init_table(r[i].sg, nsg);
		for (k = 0; k < nsg; k++)
			sg_set_buf(&r[i].sg[k], r[i].buf + k * (KC_LEN / nsg), KC_LEN / nsg);
		skcipher_request_set_callback(r[i].req, flags, KC_CB, &r[i]);
		skcipher_request_set_crypt(r[i].req, r[i].sg, r[i].sg, KC_LEN, r[i].iv);
	}
	for (i = 0; i < KC_REQS; i++)
		r[i].submit = crypto_skcipher_encrypt(r[i].req);
	for (i = 0; i < KC_REQS; i++) {
		switch (r[i].submit) {
		case -EINPROGRESS:
			inprogress++;
			wait_for_completion(&r[i].done);
			break;
		case -EBUSY:
			busy++;
			wait_for_completion(&r[i].done);
			if (r[i].notified != 1)
				notify_wrong++;
			break;
		case -ENOSPC:
			nospc++;
			continue;
		default:
			other++;
			continue;
		}
		if (r[i].submit == -EINPROGRESS && r[i].notified)
			notify_wrong++;
		memset(iv, i, sizeof(iv));
		kc_fill(ref, KC_LEN, i);
		if (r[i].result || kc_soft_cbc(iv, ref, KC_LEN) || memcmp(ref, r[i].buf, KC_LEN))
			wrong++;
	}
	snprintf(what, sizeof(what),
		 "%s: %u requests: %u in progress, %u backlogged, %u refused -ENOSPC, %u other; %u wrong outputs, %u wrong notifications",
		 name, KC_REQS, inprogress, busy, nospc, other, wrong, notify_wrong);
	if (nsg == 1)	/* fast path; a request without a slot backlogs */
		kc_ok(!nospc && !other && !wrong && !notify_wrong, what);
	else if (flags & CRYPTO_TFM_REQ_MAY_BACKLOG)
		kc_ok(busy > 0 && !nospc && !other && !wrong && !notify_wrong, what);
	else
		kc_ok(nospc > 0 && !busy && !other && !wrong && !notify_wrong &&
		      inprogress + nospc == KC_REQS, what);
out:
	if (r) {
		for (i = 0; i < KC_REQS; i++) {
			skcipher_request_free(r[i].req);
			kfree(r[i].buf);
		}
	}
	kfree(r);
	kfree(ref);
}

/* 255 entries of 1..7 bytes at odd offsets in 2 pages; in and out of place. */
static void kc_odd_sgl(struct crypto_skcipher *tfm, bool inplace)
{
	enum { N = 255 };
	struct scatterlist *src, *dst;
	struct skcipher_request *req;
	DECLARE_CRYPTO_WAIT(wait);
	u8 *in, *out, *flat, iv[16], ivc[16];
	unsigned int i, len = 0, off = 1, doff = 3, n;
	bool pass = false;
	int ret;

	src = kcalloc(N, sizeof(*src), GFP_KERNEL);
	dst = kcalloc(N, sizeof(*dst), GFP_KERNEL);
	in = kzalloc(4 * PAGE_SIZE, GFP_KERNEL);
	out = kzalloc(4 * PAGE_SIZE, GFP_KERNEL);
	flat = kzalloc(4 * PAGE_SIZE, GFP_KERNEL);
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!src || !dst || !in || !out || !flat || !req)
		goto out;
	sg_init_table(src, N);
	sg_init_table(dst, N);
	for (i = 0; i < N; i++) {
		n = 1 + i % 7;
		sg_set_buf(&src[i], in + off, n);
		sg_set_buf(&dst[i], (inplace ? in : out) + (inplace ? off : doff), n);
		kc_fill(in + off, n, i);
		memcpy(flat + len, in + off, n);
		len += n;
		off += n + 1 + (i & 1);
		doff += n + 2;
	}
	len -= len % 16;	/* cbc: whole blocks; the tail entries go unused */
	memset(iv, 0x5a, sizeof(iv));
	memcpy(ivc, iv, sizeof(iv));
	skcipher_request_set_callback(req, 0, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, src, inplace ? src : dst, len, ivc);
	ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
	if (!ret && !kc_soft_cbc(iv, flat, len)) {
		u8 *got = kzalloc(len, GFP_KERNEL);

		if (got) {
			sg_pcopy_to_buffer(inplace ? src : dst, N, got, len, 0);
			pass = !memcmp(got, flat, len) && !memcmp(ivc, flat + len - 16, 16);
			kfree(got);
		}
	}
out:
	kc_ok(pass, inplace ? "255 odd scatterlist entries at odd offsets, in place: as software, output IV right"
			    : "255 odd scatterlist entries at odd offsets, out of place: as software, output IV right");
	skcipher_request_free(req);
	kfree(src);
	kfree(dst);
	kfree(in);
	kfree(out);
	kfree(flat);
}

/* One 2 KiB request, waited for; @iv updated by the driver. */
static int kc_one(struct crypto_skcipher *tfm, bool enc, u8 *buf, u8 *iv)
{
	struct skcipher_request *req = skcipher_request_alloc(tfm, GFP_KERNEL);
	DECLARE_CRYPTO_WAIT(wait);
	struct scatterlist sg;
	int ret;

	if (!req)
		return -ENOMEM;
	sg_init_one(&sg, buf, KC_LEN / 2);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, &sg, &sg, KC_LEN / 2, iv);
	ret = crypto_wait_req(enc ? crypto_skcipher_encrypt(req) : crypto_skcipher_decrypt(req),
			      &wait);
	skcipher_request_free(req);
	return ret;
}

/* 4 KiB as two requests chained by the output IV, both ways, in place. */
static void kc_chain(struct crypto_skcipher *tfm)
{
	u8 *buf = kmalloc(KC_LEN, GFP_KERNEL), *ref = kmalloc(KC_LEN, GFP_KERNEL);
	u8 iv0[16], iv[16];
	bool enc_ok = false, dec_ok = false;

	if (!buf || !ref)
		goto out;
	memset(iv0, 0xc3, sizeof(iv0));
	kc_fill(buf, KC_LEN, 77);
	kc_fill(ref, KC_LEN, 77);
	memcpy(iv, iv0, sizeof(iv));
	if (!kc_one(tfm, true, buf, iv) && !kc_one(tfm, true, buf + KC_LEN / 2, iv) &&
	    !kc_soft_cbc(iv0, ref, KC_LEN))
		enc_ok = !memcmp(buf, ref, KC_LEN) && !memcmp(iv, ref + KC_LEN - 16, 16);
	memcpy(iv, iv0, sizeof(iv));
	if (enc_ok && !kc_one(tfm, false, buf, iv) && !kc_one(tfm, false, buf + KC_LEN / 2, iv)) {
		/* ref still holds the ciphertext */
		dec_ok = !memcmp(iv, ref + KC_LEN - 16, 16);
		kc_fill(ref, KC_LEN, 77);
		dec_ok = dec_ok && !memcmp(buf, ref, KC_LEN);
	}
out:
	kc_ok(enc_ok, "4 KiB encrypted as two chained 2 KiB requests (in place): as software, output IV = last ciphertext block");
	kc_ok(dec_ok, "and decrypted the same way: the plaintext, output IV = last ciphertext block");
	kfree(buf);
	kfree(ref);
}

static void kc_zero(struct crypto_skcipher *tfm)
{
	struct skcipher_request *req = skcipher_request_alloc(tfm, GFP_KERNEL);
	DECLARE_CRYPTO_WAIT(wait);
	u8 iv[16] = { };
	int ret = -ENOMEM;

	if (req) {
		skcipher_request_set_callback(req, 0, crypto_req_done, &wait);
		skcipher_request_set_crypt(req, NULL, NULL, 0, iv);
		ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
		skcipher_request_free(req);
	}
	kc_ok(ret == 0, "a zero-length request completes with 0");
}

static int __init kc_init(void)
{
	struct crypto_skcipher *tfm;

	tfm = crypto_alloc_skcipher("cbc_aes_azihsm", 0, 0);
	if (IS_ERR(tfm)) {
		kc_ok(false, "allocate cbc_aes_azihsm");
		return -EINVAL;
	}
	kc_ok(!crypto_skcipher_setkey(tfm, kc_key, sizeof(kc_key)), "setkey");
	kc_burst(tfm, 0, KC_SGS, "without MAY_BACKLOG");
	kc_burst(tfm, CRYPTO_TFM_REQ_MAY_BACKLOG, KC_SGS, "with MAY_BACKLOG");
	kc_odd_sgl(tfm, false);
	kc_odd_sgl(tfm, true);
	kc_zero(tfm);
	kc_burst(tfm, CRYPTO_TFM_REQ_MAY_BACKLOG, 1, "fast path, one entry each, with MAY_BACKLOG");
	kc_chain(tfm);
	crypto_free_skcipher(tfm);
	pr_info("azihsm_kctest: 1..%u\n", kc_n);
	return kc_failed ? -EINVAL : 0;
}

static void __exit kc_exit(void)
{
}

module_init(kc_init);
module_exit(kc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("azihsm crypto-API request semantics test");
