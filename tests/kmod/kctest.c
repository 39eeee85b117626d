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
 *     output IV, encrypted then decrypted in place, against the software;
 *  6. a request sent from softirq (a timer), as IPsec sends them.
 *
 * Results go to the kernel log as "azihsm_kctest: ok N - ..." lines; the
 * module loads only when everything passed (-EINVAL otherwise), so a
 * failing run cannot go unnoticed. Load azihsm with a small crypto_depth
 * (the script uses 2) so that the queue fills.
 */
#include <crypto/aead.h>
#include <crypto/skcipher.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>
#include <linux/version.h>

#define KC_REQS		64
#define KC_LEN		4096
#define KC_SGS		64	/* entries per burst request: over the fast path's 32 */

static unsigned int kc_n, kc_failed;

static bool fault;
module_param(fault, bool, 0444);
MODULE_PARM_DESC(fault, "Run the fault cases instead (device fault-aes-stall=1, tests/fault-vm.sh)");

static bool fallback;
module_param(fallback, bool, 0444);
MODULE_PARM_DESC(fallback, "Run the software-fallback cases instead (needs xts and gcm, tests/fault-vm.sh)");

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

/*
 * Issue 9, item 12: a request sent from softirq (as IPsec does), here from
 * a timer: the fast path reads the kernel session's ids without sleeping
 * or taking an rwsem; the result must equal the software. (That no rwsem
 * is taken there is for lockdep to prove; the guest kernels have none.)
 */
struct kc_soft_irq {
	struct timer_list timer;
	struct skcipher_request *req;
	int submit;
	bool in_softirq;
};

static void kc_timer_fn(struct timer_list *t)
{
	struct kc_soft_irq *s = from_timer(s, t, timer);

	s->in_softirq = in_softirq();
	s->submit = crypto_skcipher_encrypt(s->req);
	if (s->submit != -EINPROGRESS && s->submit != -EBUSY)
		kc_cb(s->req->base.data, s->submit);
}

static void kc_from_softirq(struct crypto_skcipher *tfm)
{
	struct kc_soft_irq s = { };
	struct kc_req *r = kzalloc(sizeof(*r), GFP_KERNEL);
	struct scatterlist sg;
	u8 *buf = kmalloc(KC_LEN, GFP_KERNEL), *ref = kmalloc(KC_LEN, GFP_KERNEL);
	u8 iv[16];
	bool pass = false;
	char what[160];

	s.req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!buf || !ref || !s.req || !r)
		goto out;
	init_completion(&r->done);
	kc_fill(buf, KC_LEN, 21);
	memcpy(ref, buf, KC_LEN);
	memset(r->iv, 0x2b, sizeof(r->iv));
	memcpy(iv, r->iv, sizeof(iv));
	sg_init_one(&sg, buf, KC_LEN);
	skcipher_request_set_callback(s.req, 0, KC_CB, r);
	skcipher_request_set_crypt(s.req, &sg, &sg, KC_LEN, r->iv);
	timer_setup_on_stack(&s.timer, kc_timer_fn, 0);
	mod_timer(&s.timer, jiffies + 1);
	if (wait_for_completion_timeout(&r->done, msecs_to_jiffies(30000)))
		pass = s.in_softirq && !r->result && !kc_soft_cbc(iv, ref, KC_LEN) &&
		       !memcmp(buf, ref, KC_LEN);
	del_timer_sync(&s.timer);
	destroy_timer_on_stack(&s.timer);
out:
	snprintf(what, sizeof(what),
		 "issue 9: a cbc request sent from softirq (a timer) completes as software (submit %d, result %d)",
		 s.submit, r ? r->result : -ENOMEM);
	kc_ok(pass, what);
	skcipher_request_free(s.req);
	kfree(r);
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

/*
 * ---- fault mode (tests/fault-vm.sh): issue 9, items 1-3 ----
 *
 * The device runs with fault-aes-stall=1: the first AES fast-path command
 * after each controller enable is never completed. The driver's watchdog
 * must notice (cmd_timeout_ms, the script loads the driver with 1000) and
 * reset the controller; the reset must fail an overtaken request whose
 * output overlaps its input with -EIO (the device may have written part of
 * it: a replay would encrypt the ciphertext) and run an out-of-place one
 * again on the control path, with the right output. Right after a reset a
 * request takes the control path (the key ids are stale), so each case
 * first sends one request with more scatterlist entries than the fast
 * path takes (control path, restores the session); the next fast-path
 * request is then the first AES command after the enable, the one that
 * stalls. Kernel self-tests are off (cryptomgr.notests=1) so that they
 * send no AES command first.
 */
#define KF_LEN		1024
#define KF_WAIT_MS	60000

struct kf_req {
	struct completion done;
	int result;
	struct completion *go;		/* completed with the request */
};

static void kf_cb(void *data, int err)
{
	struct kf_req *r = data;

	if (err == -EINPROGRESS)
		return;
	r->result = err;
	if (r->go)
		complete(r->go);
	complete(&r->done);
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static void kf_cb_compat(struct crypto_async_request *areq, int err)
{
	kf_cb(areq->data, err);
}
#define KF_CB kf_cb_compat
#else
#define KF_CB kf_cb
#endif

/* Wait for @r; -ETIME when it never completes (no watchdog). */
static int kf_wait(struct kf_req *r, int submitted)
{
	if (submitted != -EINPROGRESS && submitted != -EBUSY)
		return submitted;
	if (!wait_for_completion_timeout(&r->done, msecs_to_jiffies(KF_WAIT_MS)))
		return -ETIME;
	return r->result;
}

static struct crypto_skcipher *kf_warm_tfm;	/* cbc_aes_azihsm, kc_key */

/* A cbc request over KC_SGS entries: always the control path. */
static int kf_warm(void)
{
	struct skcipher_request *req = skcipher_request_alloc(kf_warm_tfm, GFP_KERNEL);
	struct scatterlist *sg = kcalloc(KC_SGS, sizeof(*sg), GFP_KERNEL);
	DECLARE_CRYPTO_WAIT(wait);
	u8 *buf = kzalloc(KC_LEN, GFP_KERNEL), iv[16] = { };
	unsigned int k;
	int ret = -ENOMEM;

	if (req && buf && sg) {
		sg_init_table(sg, KC_SGS);
		for (k = 0; k < KC_SGS; k++)
			sg_set_buf(&sg[k], buf + k * (KC_LEN / KC_SGS), KC_LEN / KC_SGS);
		skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done,
					      &wait);
		skcipher_request_set_crypt(req, sg, sg, KC_LEN, iv);
		ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
	}
	skcipher_request_free(req);
	kfree(buf);
	kfree(sg);
	return ret;
}

/* Software reference of an skcipher (@name, synchronous). */
static int kf_soft_sk(const char *name, const u8 *key, unsigned int klen, u8 *iv,
		      u8 *buf, unsigned int len)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher(name, 0, CRYPTO_ALG_ASYNC);
	struct skcipher_request *req;
	struct scatterlist sg;
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	ret = crypto_skcipher_setkey(tfm, key, klen);
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!ret && req) {
		sg_init_one(&sg, buf, len);
		skcipher_request_set_callback(req, 0, crypto_req_done, &wait);
		skcipher_request_set_crypt(req, &sg, &sg, len, iv);
		ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
	} else if (!ret) {
		ret = -ENOMEM;
	}
	skcipher_request_free(req);
	crypto_free_skcipher(tfm);
	return ret;
}

/*
 * One stalled skcipher request: @inplace 0 = two buffers, 1 = one
 * scatterlist, 2 = two scatterlists over the same buffer (dm-crypt's
 * reads). In place it must fail -EIO; apart it must complete as software.
 */
static void kf_sk_case(const char *drv, const char *soft, const u8 *key,
		       unsigned int klen, int inplace)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher(drv, 0, 0);
	struct skcipher_request *req = NULL;
	struct scatterlist src, dst;
	struct kf_req r = { };
	u8 *in = kmalloc(KF_LEN, GFP_KERNEL), *out = kmalloc(KF_LEN, GFP_KERNEL);
	u8 *ref = kmalloc(KF_LEN, GFP_KERNEL), iv[16], riv[16];
	char what[200];
	int ret = -ENOMEM;
	bool pass = false;

	if (IS_ERR(tfm)) {
		snprintf(what, sizeof(what), "%s: allocate: %ld", drv, PTR_ERR(tfm));
		kc_ok(false, what);
		goto out_free;
	}
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!req || !in || !out || !ref)
		goto out;
	ret = crypto_skcipher_setkey(tfm, key, klen);
	if (!ret)
		ret = kf_warm();
	if (ret)
		goto out;
	kc_fill(in, KF_LEN, klen);
	memcpy(ref, in, KF_LEN);
	memset(iv, 0x3c, sizeof(iv));
	memcpy(riv, iv, sizeof(riv));
	init_completion(&r.done);
	sg_init_one(&src, in, KF_LEN);
	sg_init_one(&dst, inplace ? in : out, KF_LEN);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, KF_CB, &r);
	skcipher_request_set_crypt(req, &src, inplace == 1 ? &src : &dst, KF_LEN, iv);
	ret = kf_wait(&r, crypto_skcipher_encrypt(req));
	if (inplace) {
		pass = ret == -EIO;
	} else {
		pass = !ret && !kf_soft_sk(soft, key, klen, riv, ref, KF_LEN) &&
		       !memcmp(out, ref, KF_LEN);
	}
out:
	snprintf(what, sizeof(what),
		 "issue 9: %s %s overtaken by the watchdog's reset: %s (got %d)", drv,
		 inplace == 1 ? "in place" : inplace == 2 ? "in place, two lists over one buffer" :
		 "out of place",
		 inplace ? "-EIO, not replayed" : "replayed on the control path, output as software",
		 ret);
	kc_ok(pass, what);
	skcipher_request_free(req);
	crypto_free_skcipher(tfm);
out_free:
	kfree(in);
	kfree(out);
	kfree(ref);
}

/* A stalled gcm(aes) encryption; the reference is the kernel's own gcm(aes). */
static void kf_gcm_case(bool inplace)
{
	struct crypto_aead *tfm = crypto_alloc_aead("gcm_aes_azihsm", 0, 0);
	struct crypto_aead *soft = crypto_alloc_aead("gcm(aes)", 0, CRYPTO_ALG_ASYNC);
	struct aead_request *req = NULL, *sreq = NULL;
	enum { AAD = 16, TEXT = 512, ALL = AAD + TEXT + 16 };
	struct scatterlist src, dst;
	DECLARE_CRYPTO_WAIT(wait);
	struct kf_req r = { };
	u8 *in = kzalloc(ALL, GFP_KERNEL), *out = kzalloc(ALL, GFP_KERNEL);
	u8 *ref = kzalloc(ALL, GFP_KERNEL), iv[12], riv[12];
	char what[160];
	int ret = -ENOMEM;
	bool pass = false;

	if (IS_ERR(tfm) || IS_ERR(soft)) {
		ret = -ENOENT;
		goto out;
	}
	req = aead_request_alloc(tfm, GFP_KERNEL);
	sreq = aead_request_alloc(soft, GFP_KERNEL);
	if (!req || !sreq || !in || !out || !ref)
		goto out;
	ret = crypto_aead_setkey(tfm, kc_key, sizeof(kc_key)) ?:
	      crypto_aead_setauthsize(tfm, 16) ?:
	      crypto_aead_setkey(soft, kc_key, sizeof(kc_key)) ?:
	      crypto_aead_setauthsize(soft, 16) ?:
	      kf_warm();
	if (ret)
		goto out;
	kc_fill(in, AAD + TEXT, 5);
	memcpy(ref, in, AAD + TEXT);
	memset(iv, 0xa5, sizeof(iv));
	memcpy(riv, iv, sizeof(riv));
	init_completion(&r.done);
	sg_init_one(&src, in, ALL);
	sg_init_one(&dst, out, ALL);
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, KF_CB, &r);
	aead_request_set_ad(req, AAD);
	aead_request_set_crypt(req, &src, inplace ? &src : &dst, TEXT, iv);
	ret = kf_wait(&r, crypto_aead_encrypt(req));
	if (inplace) {
		pass = ret == -EIO;
	} else if (!ret) {
		sg_init_one(&src, ref, ALL);
		aead_request_set_callback(sreq, 0, crypto_req_done, &wait);
		aead_request_set_ad(sreq, AAD);
		aead_request_set_crypt(sreq, &src, &src, TEXT, riv);
		pass = !crypto_wait_req(crypto_aead_encrypt(sreq), &wait) &&
		       !memcmp(out, ref, ALL);
	}
out:
	snprintf(what, sizeof(what),
		 "issue 9: gcm_aes_azihsm %s overtaken by the watchdog's reset: %s (got %d)",
		 inplace ? "in place" : "out of place",
		 inplace ? "-EIO, not replayed" : "replayed, output and tag as software", ret);
	kc_ok(pass, what);
	aead_request_free(req);
	aead_request_free(sreq);
	if (!IS_ERR(tfm))
		crypto_free_aead(tfm);
	if (!IS_ERR(soft))
		crypto_free_aead(soft);
	kfree(in);
	kfree(out);
	kfree(ref);
}

/*
 * Issue 9, item 3: a caller with a signal pending gets no -ERESTARTSYS
 * from a crypto operation. The thread below is woken by the completion of
 * a stalled request, that is inside the reset (its commands must wait for
 * the reset to end); it has SIGUSR1 pending and sends a control-path
 * request that may sleep.
 */
struct kf_sig {
	struct crypto_skcipher *tfm;
	bool pending;
	int ret;
	bool right;
	struct completion go;
	struct completion done;
};

static int kf_sig_thread(void *data)
{
	struct kf_sig *s = data;
	struct skcipher_request *req = skcipher_request_alloc(s->tfm, GFP_KERNEL);
	struct scatterlist *sg = kcalloc(KC_SGS, sizeof(*sg), GFP_KERNEL);
	DECLARE_CRYPTO_WAIT(wait);
	u8 *buf = kmalloc(KC_LEN, GFP_KERNEL), *ref = kmalloc(KC_LEN, GFP_KERNEL);
	u8 iv[16], riv[16];
	unsigned int k;

	/* Until the stalled request completes: inside the reset. */
	wait_for_completion(&s->go);
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 0);
	s->pending = signal_pending(current);
	s->ret = -ENOMEM;
	if (req && buf && ref && sg) {
		kc_fill(buf, KC_LEN, 9);
		memcpy(ref, buf, KC_LEN);
		memset(iv, 0x11, sizeof(iv));
		memcpy(riv, iv, sizeof(riv));
		sg_init_table(sg, KC_SGS);
		for (k = 0; k < KC_SGS; k++)
			sg_set_buf(&sg[k], buf + k * (KC_LEN / KC_SGS), KC_LEN / KC_SGS);
		skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done,
					      &wait);
		skcipher_request_set_crypt(req, sg, sg, KC_LEN, iv);
		s->ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
		s->right = !s->ret && !kc_soft_cbc(riv, ref, KC_LEN) && !memcmp(buf, ref, KC_LEN);
	}
	flush_signals(current);
	skcipher_request_free(req);
	kfree(sg);
	kfree(buf);
	kfree(ref);
	complete(&s->done);
	return 0;
}

static void kf_signal_case(void)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher("cbc_aes_azihsm", 0, 0);
	struct skcipher_request *req = NULL;
	struct kf_sig s = { };
	struct kf_req r = { };
	struct task_struct *t = NULL;
	struct scatterlist sg;
	u8 *buf = kzalloc(KF_LEN, GFP_KERNEL), iv[16] = { };
	bool finished = false;
	char what[200];
	int ret = -ENOMEM;

	init_completion(&s.go);
	init_completion(&s.done);
	init_completion(&r.done);
	if (IS_ERR(tfm) || !buf)
		goto out;
	s.tfm = tfm;
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!req || crypto_skcipher_setkey(tfm, kc_key, sizeof(kc_key)) || kf_warm())
		goto out;
	t = kthread_run(kf_sig_thread, &s, "azihsm_kf_sig");
	if (IS_ERR(t)) {
		t = NULL;
		goto out;
	}
	r.go = &s.go;
	sg_init_one(&sg, buf, KF_LEN);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, KF_CB, &r);
	skcipher_request_set_crypt(req, &sg, &sg, KF_LEN, iv);
	ret = kf_wait(&r, crypto_skcipher_encrypt(req));
	if (wait_for_completion_timeout(&s.done, msecs_to_jiffies(KF_WAIT_MS)))
		finished = true;
	else
		s.ret = -ETIME;
out:
	snprintf(what, sizeof(what),
		 "issue 9: a request sent during the reset by a thread with a signal pending (%s) completes, no -ERESTARTSYS (stalled %d, got %d, output %s)",
		 s.pending ? "yes" : "no", ret, s.ret, s.right ? "right" : "wrong");
	kc_ok(t && s.pending && ret == -EIO && !s.ret && s.right, what);
	if (t && !finished) {
		/* The stalled request never completed: let the thread end. */
		complete(&s.go);
		wait_for_completion(&s.done);
	}
	skcipher_request_free(req);
	if (!IS_ERR(tfm))
		crypto_free_skcipher(tfm);
	kfree(buf);
}

static const u8 kf_xts_key[32] = "azihsm-kctest-xts-key-two-halve";

static int kc_fault(void)
{
	kf_warm_tfm = crypto_alloc_skcipher("cbc_aes_azihsm", 0, 0);
	if (IS_ERR(kf_warm_tfm) || crypto_skcipher_setkey(kf_warm_tfm, kc_key, sizeof(kc_key))) {
		kc_ok(false, "allocate and key cbc_aes_azihsm");
		pr_info("azihsm_kctest: 1..%u\n", kc_n);
		return -EINVAL;
	}
	kf_sk_case("cbc_aes_azihsm", "cbc(aes-generic)", kc_key, sizeof(kc_key), 1);
	kf_sk_case("cbc_aes_azihsm", "cbc(aes-generic)", kc_key, sizeof(kc_key), 0);
	kf_sk_case("xts_aes_azihsm", "xts(aes)", kf_xts_key, sizeof(kf_xts_key), 2);
	kf_sk_case("xts_aes_azihsm", "xts(aes)", kf_xts_key, sizeof(kf_xts_key), 0);
	kf_gcm_case(true);
	kf_gcm_case(false);
	kf_signal_case();
	crypto_free_skcipher(kf_warm_tfm);
	pr_info("azihsm_kctest: 1..%u\n", kc_n);
	return kc_failed ? -EINVAL : 0;
}

/*
 * ---- fallback mode (tests/fault-vm.sh): issue 9, item 7 ----
 * Requests beyond what the device takes go to the kernel's software
 * instead of failing -EINVAL: a GCM message longer than one command and
 * an XTS data unit over 16 MiB. Each is compared with the software.
 */

/* A scatterlist over vmalloc'ed @buf, a page an entry. */
static int kb_vsg(u8 *buf, size_t len, struct sg_table *t)
{
	size_t n = DIV_ROUND_UP(len, PAGE_SIZE), i;
	struct scatterlist *sg;
	int ret = sg_alloc_table(t, n, GFP_KERNEL);

	if (ret)
		return ret;
	for_each_sg(t->sgl, sg, n, i)
		sg_set_page(sg, vmalloc_to_page(buf + i * PAGE_SIZE),
			    min_t(size_t, PAGE_SIZE, len - i * PAGE_SIZE), 0);
	return 0;
}

static int kb_sk(struct crypto_skcipher *tfm, struct scatterlist *sg, unsigned int len,
		 u8 *iv)
{
	struct skcipher_request *req = skcipher_request_alloc(tfm, GFP_KERNEL);
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	if (!req)
		return -ENOMEM;
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, sg, sg, len, iv);
	ret = crypto_wait_req(crypto_skcipher_encrypt(req), &wait);
	skcipher_request_free(req);
	return ret;
}

static void kb_xts_big(void)
{
	const unsigned int len = (16u << 20) + 512;
	struct crypto_skcipher *tfm = crypto_alloc_skcipher("xts_aes_azihsm", 0, 0);
	struct crypto_skcipher *soft = crypto_alloc_skcipher("xts(aes)", 0, CRYPTO_ALG_ASYNC);
	struct sg_table a = { }, b = { };
	u8 *x = vmalloc(len), *y = vmalloc(len), iv[16], iv2[16];
	static const u8 key[32] = "azihsm-kctest-xts-key-two-halve";
	char what[160];
	int ret = -ENOMEM;
	bool pass = false;

	if (IS_ERR(tfm) || IS_ERR(soft)) {
		ret = -ENOENT;
		goto out;
	}
	if (!x || !y || kb_vsg(x, len, &a) || kb_vsg(y, len, &b))
		goto out;
	kc_fill(x, len, 3);
	memcpy(y, x, len);
	memset(iv, 0x77, sizeof(iv));
	memcpy(iv2, iv, sizeof(iv));
	ret = crypto_skcipher_setkey(tfm, key, sizeof(key)) ?:
	      crypto_skcipher_setkey(soft, key, sizeof(key)) ?:
	      kb_sk(tfm, a.sgl, len, iv);
	if (!ret && !kb_sk(soft, b.sgl, len, iv2))
		pass = !memcmp(x, y, len);
out:
	snprintf(what, sizeof(what),
		 "issue 9: xts_aes_azihsm, one data unit of 16 MiB + 512 bytes (over the device's limit): the software's result, not -EINVAL (got %d)",
		 ret);
	kc_ok(pass, what);
	sg_free_table(&a);
	sg_free_table(&b);
	vfree(x);
	vfree(y);
	if (!IS_ERR(tfm))
		crypto_free_skcipher(tfm);
	if (!IS_ERR(soft))
		crypto_free_skcipher(soft);
}

static int kb_aead(struct crypto_aead *tfm, bool enc, struct scatterlist *src,
		   struct scatterlist *dst, unsigned int ad, unsigned int len, u8 *iv)
{
	struct aead_request *req = aead_request_alloc(tfm, GFP_KERNEL);
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	if (!req)
		return -ENOMEM;
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG | CRYPTO_TFM_REQ_MAY_SLEEP,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, ad);
	aead_request_set_crypt(req, src, dst, len, iv);
	ret = crypto_wait_req(enc ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req), &wait);
	aead_request_free(req);
	return ret;
}

static void kb_gcm_big(void)
{
	enum { AAD = 16, TEXT = 16384, ALL = AAD + TEXT + 16 };
	struct crypto_aead *tfm = crypto_alloc_aead("gcm_aes_azihsm", 0, 0);
	struct crypto_aead *soft = crypto_alloc_aead("gcm(aes)", 0, CRYPTO_ALG_ASYNC);
	struct scatterlist sin, sout, sref;
	u8 *in = kzalloc(ALL, GFP_KERNEL), *out = kzalloc(ALL, GFP_KERNEL);
	u8 *ref = kzalloc(ALL, GFP_KERNEL), iv[12];
	int enc = -ENOMEM, dec = -ENOMEM;
	bool same = false, back = false;
	char what[200];

	if (IS_ERR(tfm) || IS_ERR(soft)) {
		enc = dec = -ENOENT;
		goto out;
	}
	if (!in || !out || !ref)
		goto out;
	kc_fill(in, AAD + TEXT, 8);
	memcpy(ref, in, AAD + TEXT);
	sg_init_one(&sin, in, ALL);
	sg_init_one(&sout, out, ALL);
	sg_init_one(&sref, ref, ALL);
	memset(iv, 0x42, sizeof(iv));
	enc = crypto_aead_setkey(tfm, kc_key, sizeof(kc_key)) ?:
	      crypto_aead_setauthsize(tfm, 16) ?:
	      crypto_aead_setkey(soft, kc_key, sizeof(kc_key)) ?:
	      crypto_aead_setauthsize(soft, 16) ?:
	      kb_aead(tfm, true, &sin, &sout, AAD, TEXT, iv);
	memset(iv, 0x42, sizeof(iv));
	if (!enc && !kb_aead(soft, true, &sref, &sref, AAD, TEXT, iv))
		same = !memcmp(out + AAD, ref + AAD, TEXT + 16);
	memset(iv, 0x42, sizeof(iv));
	if (same) {
		/*
		 * And back, in place: the plaintext, the tag checked. (Out of
		 * place the software left dst's AAD alone: put it there first.)
		 */
		memcpy(out, in, AAD);
		dec = kb_aead(tfm, false, &sout, &sout, AAD, TEXT + 16, iv);
		back = !dec && !memcmp(out, in, AAD + TEXT);
	}
out:
	snprintf(what, sizeof(what),
		 "issue 9: gcm_aes_azihsm, %u bytes of AAD and text (over one command): sealed as the software and opened again, not -EINVAL (enc %d, %s, dec %d)",
		 AAD + TEXT, enc, same ? "as software" : "NOT as software", dec);
	kc_ok(same && back, what);
	kfree(in);
	kfree(out);
	kfree(ref);
	if (!IS_ERR(tfm))
		crypto_free_aead(tfm);
	if (!IS_ERR(soft))
		crypto_free_aead(soft);
}

static int kc_fallback(void)
{
	kb_gcm_big();
	kb_xts_big();
	pr_info("azihsm_kctest: 1..%u\n", kc_n);
	return kc_failed ? -EINVAL : 0;
}

static int __init kc_init(void)
{
	struct crypto_skcipher *tfm;

	if (fault)
		return kc_fault();
	if (fallback)
		return kc_fallback();
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
	kc_from_softirq(tfm);
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
