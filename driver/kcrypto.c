// SPDX-License-Identifier: GPL-2.0-only
/*
 * Crypto-API requests. XTS, CBC and GCM requests the AES fast path can take
 * go there (kc_skcipher.c, kc_aead.c, aes_queue.c) and complete from its
 * completion tasklet (softirq). Of the others, a request whose caller may
 * sleep runs in the caller's context; every other one runs in a worker of one
 * workqueue (it sleeps for its device commands), at most crypto_depth per
 * device at a time. A request beyond that is backlogged
 * when the caller allows it (-EBUSY now, -EINPROGRESS when it starts) and
 * refused with -ENOSPC otherwise, as crypto_enqueue_request() does. The
 * request context holds everything a request needs: nothing is allocated
 * on the request path.
 *
 * The algorithms are registered when the first device that has the
 * kernel-session service is bound, and unregistered when the last one goes
 * and no transform of ours is left (issue 9: with a raised priority, new
 * users of xts(aes) then get the kernel's own, not -ENODEV); with
 * transforms left, when the last of them is freed (a delayed work, so that
 * the crypto API has dropped the transform's hold on the algorithm), or at
 * module unload. A transform is bound to one device at init (round robin
 * over the bound ones); if that device goes, its requests fail with
 * -ENODEV.
 */
#include <crypto/algapi.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "kcrypto.h"

unsigned int azihsm_crypto_priority = 50;
module_param_named(crypto_priority, azihsm_crypto_priority, uint, 0444);
MODULE_PARM_DESC(crypto_priority,
		 "Priority of the crypto-API algorithms (default 50: below the kernel's own implementations, so they are used by driver name only)");

/* 0 would backlog every request for ever: refused. */
static unsigned int azihsm_crypto_depth = 128;
AZIHSM_PARAM_RANGE(crypto_depth, azihsm_crypto_depth, 1, AZIHSM_CRYPTO_DEPTH_MAX, 0444);
MODULE_PARM_DESC(crypto_depth,
		 "Crypto-API requests in flight per device before backlogging, 1..4096 (default 128)");

static bool azihsm_crypto_enable = true;
module_param_named(crypto, azihsm_crypto_enable, bool, 0444);
MODULE_PARM_DESC(crypto, "Register the crypto-API algorithms (default true)");

static struct workqueue_struct *azihsm_kc_wq;
static DEFINE_MUTEX(azihsm_kc_mutex);	/* the device list */
static DEFINE_MUTEX(azihsm_kc_reg_mutex);	/* registration (runs self-tests) */
static LIST_HEAD(azihsm_kc_devs);
static unsigned int azihsm_kc_next;
static unsigned int azihsm_kc_tfms;	/* transforms alive; azihsm_kc_mutex */
static bool azihsm_kc_registered;	/* azihsm_kc_reg_mutex */

static void azihsm_kc_unregister_all(void);
static void azihsm_kc_unreg_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(azihsm_kc_unreg, azihsm_kc_unreg_work);
/* After the last transform's exit: the crypto API then drops its hold. */
#define AZIHSM_KC_UNREG_DELAY_MS	200

static void azihsm_kc_complete(struct azihsm_kc_req *r, int err)
{
	local_bh_disable();
	crypto_request_complete(r->areq, err);
	local_bh_enable();
}

static void azihsm_kc_work(struct work_struct *work)
{
	struct azihsm_kc_req *r = container_of(work, struct azihsm_kc_req, work);
	struct azihsm_dev *hdev = r->hdev;
	struct azihsm_kc_req *next = NULL;
	int err = r->run(r);

	spin_lock_bh(&hdev->kc_lock);
	next = list_first_entry_or_null(&hdev->kc_backlog, struct azihsm_kc_req,
					backlog);
	if (next)
		list_del(&next->backlog);
	else
		hdev->kc_inflight--;
	spin_unlock_bh(&hdev->kc_lock);

	/* @r may be freed once completed. */
	azihsm_kc_complete(r, err);
	if (next) {
		azihsm_kc_complete(next, -EINPROGRESS);
		queue_work(azihsm_kc_wq, &next->work);
	}
}

int azihsm_kc_enqueue(struct azihsm_dev *hdev, struct azihsm_kc_req *r,
		      struct crypto_async_request *areq,
		      int (*run)(struct azihsm_kc_req *r))
{
	int ret = -EINPROGRESS;

	INIT_WORK(&r->work, azihsm_kc_work);
	r->areq = areq;
	r->hdev = hdev;
	r->run = run;
	/*
	 * A caller that may sleep gets its request run right here: the
	 * answer is the return value, and two context switches (to the
	 * worker and back) are saved. Queue slots still bound what is in
	 * flight on the device.
	 */
	if (areq->flags & CRYPTO_TFM_REQ_MAY_SLEEP)
		return run(r);

	spin_lock_bh(&hdev->kc_lock);
	if (hdev->kc_inflight < azihsm_crypto_depth) {
		hdev->kc_inflight++;
	} else if (areq->flags & CRYPTO_TFM_REQ_MAY_BACKLOG) {
		list_add_tail(&r->backlog, &hdev->kc_backlog);
		ret = -EBUSY;
	} else {
		ret = -ENOSPC;
	}
	spin_unlock_bh(&hdev->kc_lock);
	if (ret == -EINPROGRESS)
		queue_work(azihsm_kc_wq, &r->work);
	return ret;
}

/*
 * A fast-path request a reset overtook (its caller already has
 * -EINPROGRESS): run it again on the control path, in the worker. It is
 * not backlogged: it was accepted before.
 */
void azihsm_kc_retry(struct azihsm_dev *hdev, struct azihsm_kc_req *r,
		     struct crypto_async_request *areq,
		     int (*run)(struct azihsm_kc_req *r))
{
	INIT_WORK(&r->work, azihsm_kc_work);
	r->areq = areq;
	r->hdev = hdev;
	r->run = run;
	spin_lock_bh(&hdev->kc_lock);
	hdev->kc_inflight++;
	spin_unlock_bh(&hdev->kc_lock);
	queue_work(azihsm_kc_wq, &r->work);
}

/* Complete a fast-path request (bottom halves off: the caller's duty). */
void azihsm_kc_fast_done(struct crypto_async_request *areq, int err)
{
	crypto_request_complete(areq, err);
}

int azihsm_kc_tfm_init(struct azihsm_kc_tfm *t)
{
	struct azihsm_dev *hdev, *pick = NULL;
	unsigned int n = 0, i = 0;

	mutex_lock(&azihsm_kc_mutex);
	list_for_each_entry(hdev, &azihsm_kc_devs, kc_node)
		n++;
	if (n) {
		unsigned int want = azihsm_kc_next++ % n;

		list_for_each_entry(hdev, &azihsm_kc_devs, kc_node) {
			if (i++ == want) {
				pick = hdev;
				kref_get(&hdev->kref);
				break;
			}
		}
	}
	if (pick)
		azihsm_kc_tfms++;
	mutex_unlock(&azihsm_kc_mutex);
	if (!pick)
		return -ENODEV;
	t->hdev = pick;
	memset(&t->key, 0, sizeof(t->key));
	INIT_LIST_HEAD(&t->key.node);
	return 0;
}

void azihsm_kc_tfm_exit(struct azihsm_kc_tfm *t)
{
	bool last;

	azihsm_kkey_release(t->hdev, &t->key);
	azihsm_dev_put(t->hdev);
	t->hdev = NULL;
	mutex_lock(&azihsm_kc_mutex);
	last = !--azihsm_kc_tfms && list_empty(&azihsm_kc_devs);
	mutex_unlock(&azihsm_kc_mutex);
	if (last)
		mod_delayed_work(system_wq, &azihsm_kc_unreg,
				 msecs_to_jiffies(AZIHSM_KC_UNREG_DELAY_MS));
}

int azihsm_kc_setkey(struct azihsm_kc_tfm *t, u8 type, u32 usage, const u8 *key,
		     unsigned int len)
{
	return azihsm_kkey_import(t->hdev, &t->key, type, usage, key, len);
}

void azihsm_kc_base(struct crypto_alg *base, const char *name, const char *driver,
		    unsigned int blocksize, unsigned int ctxsize)
{
	strscpy(base->cra_name, name, sizeof(base->cra_name));
	strscpy(base->cra_driver_name, driver, sizeof(base->cra_driver_name));
	base->cra_priority = azihsm_crypto_priority;
	base->cra_flags = CRYPTO_ALG_ASYNC | CRYPTO_ALG_KERN_DRIVER_ONLY;
	base->cra_blocksize = blocksize;
	base->cra_ctxsize = ctxsize;
	base->cra_module = THIS_MODULE;
}

/* Does the device offer the kernel session? Opens it as a side effect. */
static bool azihsm_kc_capable(struct azihsm_dev *hdev)
{
	struct azihsm_kkey probe = { };
	static const u8 zero[16];
	int ret;

	INIT_LIST_HEAD(&probe.node);
	ret = azihsm_kkey_import(hdev, &probe, AZIHSM_KEY_AES128,
				 AZIHSM_USAGE_ENCRYPT, zero, sizeof(zero));
	azihsm_kkey_release(hdev, &probe);
	if (ret)
		dev_info(hdev->dev, "no crypto-API algorithms: kernel session refused (%d)\n",
			 ret);
	return !ret;
}

/*
 * The kernel instantiates a template (xts(aes) from xts and aes-generic,
 * say) only when no algorithm of that name exists yet. Registered first,
 * ours would be the only xts(aes) and win whatever its priority: so make
 * sure the kernel's own implementation of every name is there before
 * ours, and the low default priority really leaves it in charge. A name
 * the kernel cannot provide (its module missing) is simply ours.
 */
static void azihsm_kc_software_first(void)
{
	static const char *const names[] = {
		"ecb(aes)", "cbc(aes)", "ctr(aes)", "xts(aes)", "gcm(aes)",
		"rfc4106(gcm(aes))", "sha256", "sha384", "sha512", "hmac(sha256)",
		"hmac(sha384)", "hmac(sha512)", "rsa", "ecdsa-nist-p256",
		"ecdsa-nist-p384",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		crypto_has_alg(names[i], 0, 0);
}

static int azihsm_kc_register(void)
{
	int ret;

	if (azihsm_crypto_priority < 100)
		azihsm_kc_software_first();

	ret = azihsm_skcipher_register();
	if (ret)
		return ret;
	ret = azihsm_aead_register();
	if (ret)
		goto err_skcipher;
	ret = azihsm_hash_register();
	if (ret)
		goto err_aead;
	ret = azihsm_akcipher_register();
	if (ret)
		goto err_hash;
	return 0;

err_hash:
	azihsm_hash_unregister();
err_aead:
	azihsm_aead_unregister();
err_skcipher:
	azihsm_skcipher_unregister();
	return ret;
}

/*
 * Newer kernels run the self-tests asynchronously: wait for them (a
 * lookup waits while an algorithm is being tested), so the probe ends
 * with the results in /proc/crypto and no test runs into a removal.
 */
static void azihsm_kc_wait_tested(void)
{
	static const char *const names[] = {
		"ecb_aes_azihsm", "cbc_aes_azihsm", "ctr_aes_azihsm", "xts_aes_azihsm",
		"gcm_aes_azihsm", "rfc4106_gcm_aes_azihsm", "sha256_azihsm",
		"sha384_azihsm", "sha512_azihsm", "hmac_sha256_azihsm",
		"hmac_sha384_azihsm", "hmac_sha512_azihsm", "rsa_azihsm",
		"ecdsa_nist_p256_azihsm", "ecdsa_nist_p384_azihsm",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		crypto_has_alg(names[i], 0, 0);
}

struct azihsm_kc_reg {
	struct work_struct work;
	struct azihsm_dev *hdev;
};

static void azihsm_kc_reg_fn(struct work_struct *work)
{
	struct azihsm_kc_reg *reg = container_of(work, struct azihsm_kc_reg, work);
	int ret;

	/* Registration runs the self-tests: they bind transforms to us. */
	mutex_lock(&azihsm_kc_reg_mutex);
	if (!azihsm_kc_registered) {
		ret = azihsm_kc_register();
		if (ret)
			dev_err(reg->hdev->dev, "crypto-API registration failed: %d\n", ret);
		else
			azihsm_kc_registered = true;
	}
	mutex_unlock(&azihsm_kc_reg_mutex);
	azihsm_kc_wait_tested();
}

void azihsm_kc_add_device(struct azihsm_dev *hdev)
{
	struct azihsm_kc_reg reg = { .hdev = hdev };

	spin_lock_init(&hdev->kc_lock);
	INIT_LIST_HEAD(&hdev->kc_backlog);
	hdev->kc_inflight = 0;
	if (!azihsm_crypto_enable || !azihsm_kc_capable(hdev))
		return;

	mutex_lock(&azihsm_kc_mutex);
	list_add_tail(&hdev->kc_node, &azihsm_kc_devs);
	hdev->kc_listed = true;
	mutex_unlock(&azihsm_kc_mutex);

	/*
	 * Register from a kernel worker and wait for it uninterruptibly: the
	 * self-test wait must not see the signals of whoever is binding us
	 * (modprobe, a write to sysfs bind). On 6.1 a fatal signal there
	 * makes crypto_wait_for_test() WARN and leaves the algorithm
	 * half-tested; this way the signal is taken when probe returns.
	 */
	INIT_WORK_ONSTACK(&reg.work, azihsm_kc_reg_fn);
	queue_work(system_long_wq, &reg.work);
	flush_work(&reg.work);
	destroy_work_on_stack(&reg.work);
}

/*
 * No device and no transform: take the algorithms away. Under
 * azihsm_kc_reg_mutex, so that a device being added cannot register in
 * between; a transform can no longer be created (no device to bind to).
 */
static void azihsm_kc_unregister_idle(void)
{
	bool idle;

	mutex_lock(&azihsm_kc_reg_mutex);
	mutex_lock(&azihsm_kc_mutex);
	idle = list_empty(&azihsm_kc_devs) && !azihsm_kc_tfms;
	mutex_unlock(&azihsm_kc_mutex);
	if (idle && azihsm_kc_registered) {
		azihsm_kc_unregister_all();
		azihsm_kc_registered = false;
	}
	mutex_unlock(&azihsm_kc_reg_mutex);
}

static void azihsm_kc_unreg_work(struct work_struct *work)
{
	azihsm_kc_unregister_idle();
}

void azihsm_kc_del_device(struct azihsm_dev *hdev)
{
	mutex_lock(&azihsm_kc_mutex);
	if (hdev->kc_listed) {
		list_del(&hdev->kc_node);
		hdev->kc_listed = false;
	}
	mutex_unlock(&azihsm_kc_mutex);
	azihsm_kc_unregister_idle();
}

int azihsm_kc_init(void)
{
	/* Reclaim-safe: dm-crypt writes pages back through us. */
	azihsm_kc_wq = alloc_workqueue("azihsm_crypto", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return azihsm_kc_wq ? 0 : -ENOMEM;
}

static void azihsm_kc_unregister_all(void)
{
	azihsm_akcipher_unregister();
	azihsm_hash_unregister();
	azihsm_aead_unregister();
	azihsm_skcipher_unregister();
}

void azihsm_kc_exit(void)
{
	/* No transform is left: each holds the module. */
	cancel_delayed_work_sync(&azihsm_kc_unreg);
	if (azihsm_kc_registered) {
		azihsm_kc_unregister_all();
		azihsm_kc_registered = false;
	}
	destroy_workqueue(azihsm_kc_wq);
}
