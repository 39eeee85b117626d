// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm controller: enable/disable, the bring-up sequence, reset and
 * the health monitor.
 *
 * Bring-up (probe and every reset), as the published driver does it:
 * CC.EN=0 and wait RDY=0; AQA, ASQ, ACQ; CC.EN=1 and wait RDY=1 within
 * (CAP.TO+1)*500 ms; Identify (CNS 1), checked; CC = AZIHSM_CC_IO_ENABLE;
 * Set Features 0x07 for the HSM queue count, then a CQ and an SQ per
 * granted queue; Set Features 0xC1 and a CQ and an SQ per AES fast-path
 * queue (none if the device grants none); Get Features 0xC2.
 *
 * A reset stops everything with the controller disabled (CC.EN=0 ends all
 * the device's queue activity and DMA) and runs the bring-up again on the
 * same queue memory. If that fails the device is "dead" until it is
 * unbound.
 *
 * Surprise removal (issue 9): a device pulled from its slot reads all
 * ones, config space included (pci_device_is_present() false), possibly
 * long before the hotplug controller gets to remove(). The health monitor
 * and a failed reset notice it and make the device GONE at once, as
 * remove() would: see azihsm_ctrl_gone().
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/jiffies.h>
#include <linux/string.h>

#include "azihsm.h"
#include "kcrypto.h"

const char *azihsm_state_name(enum azihsm_state state)
{
	switch (state) {
	case AZIHSM_STATE_INITIALIZING:
		return "initializing";
	case AZIHSM_STATE_READY:
		return "ready";
	case AZIHSM_STATE_RESETTING:
		return "resetting";
	case AZIHSM_STATE_GONE:
		return "gone";
	case AZIHSM_STATE_DEAD:
		break;
	}
	return "dead";
}

void azihsm_ident_get(struct azihsm_dev *hdev, struct azihsm_ident *ident)
{
	spin_lock_irq(&hdev->lock);
	*ident = hdev->ident;
	spin_unlock_irq(&hdev->lock);
}

static u32 azihsm_csts(struct azihsm_dev *hdev)
{
	return readl(hdev->ctrl + AZIHSM_REG_CSTS);
}

static unsigned int azihsm_ready_timeout_ms(struct azihsm_dev *hdev)
{
	return (((hdev->cap & AZIHSM_CAP_TO_MASK) >> AZIHSM_CAP_TO_SHIFT) + 1) * 500;
}

/* Wait for CSTS.RDY to become @rdy; a fatal or absent device fails early. */
static int azihsm_wait_ready(struct azihsm_dev *hdev, bool rdy)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(azihsm_ready_timeout_ms(hdev));
	u32 csts;

	for (;;) {
		csts = azihsm_csts(hdev);
		if (csts == ~0u) {
			dev_err(hdev->dev, "device not responding (CSTS all ones)\n");
			return -ENODEV;
		}
		if (rdy && (csts & AZIHSM_CSTS_CFS)) {
			dev_err(hdev->dev, "controller fatal status while enabling\n");
			return -EIO;
		}
		if (!!(csts & AZIHSM_CSTS_RDY) == rdy)
			return 0;
		if (time_after(jiffies, deadline)) {
			dev_err(hdev->dev, "CSTS.RDY did not become %d within %u ms (CSTS %#x)\n",
				rdy, azihsm_ready_timeout_ms(hdev), csts);
			return -ETIMEDOUT;
		}
		usleep_range(1000, 2000);
	}
}

/*
 * CC.EN=0: the controller deletes every queue and stops DMA. If it does
 * not confirm, bus mastering is turned off so it cannot write into
 * memory we are about to free.
 */
int azihsm_ctrl_disable(struct azihsm_dev *hdev)
{
	int ret;

	writel(0, hdev->ctrl + AZIHSM_REG_CC);
	ret = azihsm_wait_ready(hdev, false);
	if (ret) {
		dev_err(hdev->dev, "controller did not stop: disabling bus mastering\n");
		pci_clear_master(hdev->pdev);
	}
	return ret;
}

static int azihsm_ctrl_enable(struct azihsm_dev *hdev)
{
	struct azihsm_admin_queue *aq = &hdev->admin;
	u32 aqa;

	pci_set_master(hdev->pdev);
	azihsm_admin_reset(hdev);
	aqa = (AZIHSM_ADMIN_DEPTH - 1) |
	      ((AZIHSM_ADMIN_DEPTH - 1) << AZIHSM_AQA_ACQS_SHIFT);
	writel(aqa, hdev->ctrl + AZIHSM_REG_AQA);
	lo_hi_writeq(aq->sq_dma, hdev->ctrl + AZIHSM_REG_ASQ);
	lo_hi_writeq(aq->cq_dma, hdev->ctrl + AZIHSM_REG_ACQ);
	/* CSS 0, 4 KiB pages (MPS 0), round robin (AMS 0). */
	writel(AZIHSM_CC_EN, hdev->ctrl + AZIHSM_REG_CC);
	return azihsm_wait_ready(hdev, true);
}

/* Copy an ASCII, space-padded field: printable characters, no padding. */
static void azihsm_copy_id(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < cap && src[i]; i++)
		dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

static int azihsm_identify(struct azihsm_dev *hdev)
{
	struct azihsm_ident new = { }, *ident = &new;
	struct azihsm_admin_sqe sqe = { .opc = AZIHSM_ADMIN_IDENTIFY };
	struct azihsm_identify *id;
	dma_addr_t id_dma;
	int ret;

	id = dma_alloc_coherent(hdev->dev, AZIHSM_PAGE_SIZE, &id_dma, GFP_KERNEL);
	if (!id)
		return -ENOMEM;
	sqe.prp1 = cpu_to_le64(id_dma);
	sqe.cdw10 = cpu_to_le32(AZIHSM_IDENTIFY_CNS_CTRL);
	ret = azihsm_admin_exec(hdev, &sqe, NULL);
	if (ret)
		goto out;

	ret = -ENODEV;
	if (le16_to_cpu(id->vid) != AZIHSM_PCI_VENDOR_ID) {
		dev_err(hdev->dev, "Identify: vendor %#x, not %#x\n",
			le16_to_cpu(id->vid), AZIHSM_PCI_VENDOR_ID);
		goto out;
	}
	if ((id->cp_sqes & 0xf) != AZIHSM_HSM_SQES ||
	    (id->cp_cqes & 0xf) != AZIHSM_HSM_CQES ||
	    (id->fp_sqes & 0xf) != AZIHSM_AES_SQES ||
	    (id->fp_cqes & 0xf) != AZIHSM_AES_CQES) {
		dev_err(hdev->dev, "Identify: unsupported queue entry sizes %#x/%#x/%#x/%#x\n",
			id->cp_sqes, id->cp_cqes, id->fp_sqes, id->fp_cqes);
		goto out;
	}
	azihsm_copy_id(ident->serial, sizeof(ident->serial), id->sn, sizeof(id->sn));
	azihsm_copy_id(ident->fw_rev, sizeof(ident->fw_rev), id->fr, sizeof(id->fr));
	azihsm_copy_id(ident->model, sizeof(ident->model), id->mn, sizeof(id->mn));
	ident->ctrl_id = le16_to_cpu(id->ctrl_id);
	ident->hsm_queues_max = le16_to_cpu(id->hsm_queues_max);
	ident->aes_queues_max = le16_to_cpu(id->aes_queues_max);
	ident->queue_entries_max = le16_to_cpu(id->queue_entries_max);
	ident->buf_max = le16_to_cpu(id->hsm_buf_max);
	if (!ident->buf_max || ident->buf_max > AZIHSM_HSM_BUF_MAX)
		ident->buf_max = AZIHSM_HSM_BUF_MAX;
	/* sysfs and DEV_INFO may be reading it: see azihsm_ident_get(). */
	spin_lock_irq(&hdev->lock);
	hdev->ident = new;
	spin_unlock_irq(&hdev->lock);
	ret = 0;
out:
	dma_free_coherent(hdev->dev, AZIHSM_PAGE_SIZE, id, id_dma);
	return ret;
}

static int azihsm_set_queue_count(struct azihsm_dev *hdev, u8 fid,
				  unsigned int want, unsigned int *granted)
{
	struct azihsm_admin_sqe sqe = { .opc = AZIHSM_ADMIN_SET_FEATURES };
	u32 res;
	int ret;

	sqe.cdw10 = cpu_to_le32(fid);
	sqe.cdw11 = cpu_to_le32((want - 1) | ((want - 1) << 16));
	ret = azihsm_admin_exec(hdev, &sqe, &res);
	if (ret)
		return ret;
	/* Zero-based SQ count in the low half, CQ count in the high half. */
	*granted = min3(want, (res & 0xffff) + 1, (res >> 16) + 1);
	return 0;
}

static unsigned int azihsm_hsm_queues_wanted(struct azihsm_dev *hdev)
{
	unsigned int n = azihsm_hsm_queues ? azihsm_hsm_queues : num_online_cpus();

	n = min_t(unsigned int, n, AZIHSM_HSM_QUEUES_MAX);
	n = min(n, hdev->nvec - AZIHSM_MSIX_VEC_HSM_FIRST);
	if (hdev->ident.hsm_queues_max)
		n = min(n, (unsigned int)hdev->ident.hsm_queues_max);
	return max(n, 1u);
}

/* The queue depth, or 0 when the device allows fewer than 2 entries. */
static u16 azihsm_hsm_queue_depth(struct azihsm_dev *hdev)
{
	unsigned int depth = azihsm_queue_depth;
	unsigned int limit = (hdev->cap & AZIHSM_CAP_MQES_MASK) + 1;

	if (hdev->ident.queue_entries_max)
		limit = min(limit, (unsigned int)hdev->ident.queue_entries_max);
	limit = min_t(unsigned int, limit, AZIHSM_QUEUE_ENTRIES_MAX);
	if (limit < 2) {
		/* Issue 9: a queue of 1 entry holds no command (depth - 1 slots). */
		dev_err(hdev->dev, "device allows %u queue entries, at least 2 needed\n", limit);
		return 0;
	}
	return clamp(depth, 2u, limit);
}

static int azihsm_hsm_queues_setup(struct azihsm_dev *hdev)
{
	unsigned int want = azihsm_hsm_queues_wanted(hdev), granted, i;
	u16 depth = azihsm_hsm_queue_depth(hdev);
	int ret;

	if (!depth)
		return -ENODEV;
	ret = azihsm_set_queue_count(hdev, AZIHSM_FEAT_HSM_QUEUES, want, &granted);
	if (ret)
		return ret;
	for (i = 0; i < granted; i++) {
		ret = azihsm_hsm_queue_create(hdev, i, depth);
		if (ret)
			return ret;
	}
	hdev->nr_hsm = granted;
	/* Fewer than before a reset: the others go. */
	azihsm_hsm_queues_trim(hdev, granted);
	return 0;
}

/*
 * AES fast path: one queue per online CPU (or aes_queues), at most what
 * Identify, the vectors 16..31 we have and Set Features 0xC1 allow. A
 * device without AES queues is fine: everything takes the control path.
 */
static int azihsm_aes_queues_setup(struct azihsm_dev *hdev)
{
	unsigned int want = azihsm_aes_queues ? azihsm_aes_queues : num_online_cpus();
	u16 depth = azihsm_hsm_queue_depth(hdev);
	unsigned int granted, i;
	int ret;

	if (!depth)
		return -ENODEV;
	want = min_t(unsigned int, want, AZIHSM_AES_QUEUES_MAX);
	want = min_t(unsigned int, want, hdev->ident.aes_queues_max);
	if (hdev->nvec <= AZIHSM_MSIX_VEC_AES_FIRST)
		want = 0;
	else
		want = min(want, hdev->nvec - AZIHSM_MSIX_VEC_AES_FIRST);
	granted = 0;
	if (want) {
		ret = azihsm_set_queue_count(hdev, AZIHSM_FEAT_AES_QUEUES, want, &granted);
		if (ret) {
			dev_info(hdev->dev, "no AES queues (%d): control path only\n", ret);
			granted = 0;
		}
	}
	for (i = 0; i < granted; i++) {
		ret = azihsm_aes_queue_create(hdev, i, depth);
		if (ret)
			return ret;
	}
	/* Fewer than before a reset: the others go (an RCU grace period). */
	for (i = granted; i < AZIHSM_AES_QUEUES_MAX; i++)
		if (hdev->aes[i])
			break;
	if (i < AZIHSM_AES_QUEUES_MAX)
		azihsm_aes_queues_trim(hdev, granted);
	/* Submitters look at nr_aes first: the queues are ready now. */
	smp_wmb();
	WRITE_ONCE(hdev->nr_aes, granted);
	return 0;
}

/* Optional: older firmware may not know the feature. */
static void azihsm_get_gcm_workaround(struct azihsm_dev *hdev)
{
	struct azihsm_admin_sqe sqe = { .opc = AZIHSM_ADMIN_GET_FEATURES };
	u32 res;

	sqe.cdw10 = cpu_to_le32(AZIHSM_FEAT_AES_GCM_WORKAROUND);
	if (!azihsm_admin_exec(hdev, &sqe, &res))
		dev_dbg(hdev->dev, "AES-GCM workaround: %u\n", res & 1);
}

/*
 * Bring the controller up from whatever state it is in. Called with no
 * HSM queues. On failure the controller is left disabled, no queues.
 */
int azihsm_ctrl_init(struct azihsm_dev *hdev)
{
	int ret;

	hdev->cap = lo_hi_readq(hdev->ctrl + AZIHSM_REG_CAP);
	if (hdev->cap == ~0ull) {
		dev_err(hdev->dev, "device not responding (CAP all ones)\n");
		return -ENODEV;
	}
	ret = azihsm_ctrl_disable(hdev);
	if (ret)
		return ret;
	ret = azihsm_ctrl_enable(hdev);
	if (ret)
		goto err_disable;
	ret = azihsm_identify(hdev);
	if (ret)
		goto err_disable;
	writel(AZIHSM_CC_IO_ENABLE, hdev->ctrl + AZIHSM_REG_CC);
	ret = azihsm_hsm_queues_setup(hdev);
	if (ret)
		goto err_disable;
	ret = azihsm_aes_queues_setup(hdev);
	if (ret)
		goto err_disable;
	azihsm_get_gcm_workaround(hdev);
	azihsm_admin_aer_arm(hdev);
	return 0;

err_disable:
	azihsm_ctrl_disable(hdev);
	azihsm_aes_queues_fail(hdev, -EIO);
	azihsm_aes_queues_destroy(hdev);
	azihsm_hsm_queues_destroy(hdev);
	return ret;
}

void azihsm_ctrl_schedule_reset(struct azihsm_dev *hdev, const char *why)
{
	unsigned long flags;
	bool queue = false;

	spin_lock_irqsave(&hdev->lock, flags);
	if (hdev->state == AZIHSM_STATE_READY && !hdev->removing) {
		hdev->state = AZIHSM_STATE_RESETTING;
		queue = true;
	}
	spin_unlock_irqrestore(&hdev->lock, flags);
	if (!queue)
		return;
	dev_warn(hdev->dev, "%s: resetting the controller\n", why);
	/* Slot waiters must let go of io_rwsem for the reset to proceed. */
	azihsm_hsm_queues_wake(hdev);
	queue_work(azihsm_wq, &hdev->reset_work);
}

/*
 * The reset runs on azihsm_wq (WQ_MEM_RECLAIM: dm-crypt may need it to
 * write back) and allocates no queue memory: the bring-up reuses the
 * queues it stopped (issue 9).
 */
void azihsm_reset_work(struct work_struct *work)
{
	struct azihsm_dev *hdev = container_of(work, struct azihsm_dev, reset_work);
	enum azihsm_state state;
	int ret;

	atomic64_inc(&hdev->stats.resets);
	/* Nothing new goes on a ring, the device stops, in-flight fails. */
	azihsm_hsm_queues_stop(hdev);
	azihsm_aes_queues_stop(hdev);
	azihsm_ctrl_disable(hdev);
	azihsm_hsm_queues_fail(hdev, -EIO, AZIHSM_EXT_RESET);
	/* Fast-path requests go again on the control path (unless in place). */
	azihsm_aes_queues_fail(hdev, -EAGAIN);

	down_write(&hdev->io_rwsem);
	ret = azihsm_ctrl_init(hdev);
	state = ret ? AZIHSM_STATE_DEAD : AZIHSM_STATE_READY;
	spin_lock_irq(&hdev->lock);
	hdev->state = state;
	spin_unlock_irq(&hdev->lock);
	up_write(&hdev->io_rwsem);
	wake_up_all(&hdev->state_wq);

	if (ret == -ENODEV && !pci_device_is_present(hdev->pdev))
		azihsm_ctrl_gone(hdev);
	else if (ret)
		dev_err(hdev->dev, "reset failed (%d): device is dead until rebound\n",
			ret);
	else
		dev_info(hdev->dev, "reset done, %u HSM queues, %u AES queues\n",
			 hdev->nr_hsm, hdev->nr_aes);
}

/*
 * The device is gone from the bus but remove() has not run (surprise
 * removal): nothing on a ring will ever complete and nothing new may go
 * on one. Fail every command in flight with -ENODEV now instead of after
 * its timeout, make the state GONE (new commands and ioctls get -ENODEV,
 * as after remove()), and take the device off the crypto-API list (new
 * transforms go elsewhere or get -ENODEV; the algorithms go when no
 * device and no transform is left). remove() finds it GONE and only
 * frees. From the health monitor or the reset worker, never both at once
 * (a reset runs only from READY, this only from READY or DEAD).
 */
void azihsm_ctrl_gone(struct azihsm_dev *hdev)
{
	spin_lock_irq(&hdev->lock);
	if (hdev->removing || (hdev->state != AZIHSM_STATE_READY &&
			       hdev->state != AZIHSM_STATE_DEAD)) {
		spin_unlock_irq(&hdev->lock);
		return;
	}
	hdev->state = AZIHSM_STATE_GONE;
	spin_unlock_irq(&hdev->lock);

	dev_warn(hdev->dev, "device gone (surprise removal): failing every command\n");
	wake_up_all(&hdev->state_wq);
	/* No submitter gets past a stopped ring: then fail what is on it. */
	azihsm_hsm_queues_stop(hdev);
	azihsm_aes_queues_stop(hdev);
	azihsm_hsm_queues_fail(hdev, -ENODEV, AZIHSM_EXT_RESET);
	azihsm_aes_queues_fail(hdev, -ENODEV);
	azihsm_kc_del_device(hdev);
}

void azihsm_health_work(struct work_struct *work)
{
	struct azihsm_dev *hdev = container_of(to_delayed_work(work),
					       struct azihsm_dev, health_work);
	enum azihsm_state state;
	bool removing;
	u32 csts;

	spin_lock_irq(&hdev->lock);
	state = hdev->state;
	removing = hdev->removing;
	spin_unlock_irq(&hdev->lock);
	if (removing || state == AZIHSM_STATE_GONE)
		return;
	if (state == AZIHSM_STATE_DEAD) {
		/* Its reset failed: maybe because it was pulled meanwhile. */
		if (!pci_device_is_present(hdev->pdev))
			azihsm_ctrl_gone(hdev);
		return;
	}

	if (state == AZIHSM_STATE_READY) {
		csts = azihsm_csts(hdev);
		if (csts == ~0u) {
			/* Config space gone too: pulled, not merely hung. */
			if (!pci_device_is_present(hdev->pdev)) {
				azihsm_ctrl_gone(hdev);
				return;
			}
			azihsm_ctrl_schedule_reset(hdev, "device not responding");
		} else if (csts & AZIHSM_CSTS_CFS) {
			azihsm_ctrl_schedule_reset(hdev, "controller fatal status");
		} else if (azihsm_aes_queues_expired(hdev)) {
			azihsm_ctrl_schedule_reset(hdev, "AES command timed out");
		}
	}
	queue_delayed_work(azihsm_wq, &hdev->health_work,
			   msecs_to_jiffies(AZIHSM_HEALTH_PERIOD_MS));
}

void azihsm_ctrl_start_monitor(struct azihsm_dev *hdev)
{
	queue_delayed_work(azihsm_wq, &hdev->health_work,
			   msecs_to_jiffies(AZIHSM_HEALTH_PERIOD_MS));
}

/*
 * Remove: no more resets, no new commands; commands already on a ring
 * finish (or time out), unless the device is no longer there (surprise
 * removal): then they fail at once. Then the controller is disabled and
 * the queues freed. Open files keep the structure; their ioctls get
 * -ENODEV.
 */
void azihsm_ctrl_shutdown(struct azihsm_dev *hdev)
{
	spin_lock_irq(&hdev->lock);
	hdev->removing = true;
	spin_unlock_irq(&hdev->lock);
	cancel_delayed_work_sync(&hdev->health_work);
	cancel_work_sync(&hdev->reset_work);
	cancel_work_sync(&hdev->event_work);

	spin_lock_irq(&hdev->lock);
	hdev->state = AZIHSM_STATE_GONE;
	spin_unlock_irq(&hdev->lock);
	wake_up_all(&hdev->state_wq);
	azihsm_hsm_queues_wake(hdev);

	/*
	 * Surprise removal (issue 9): nothing on a ring will ever complete,
	 * so fail it now instead of letting each command wait out its
	 * timeout before the queues can go.
	 */
	if (!pci_device_is_present(hdev->pdev)) {
		dev_warn(hdev->dev, "device gone: failing the commands in flight\n");
		azihsm_hsm_queues_stop(hdev);
		azihsm_aes_queues_stop(hdev);
		azihsm_hsm_queues_fail(hdev, -ENODEV, AZIHSM_EXT_RESET);
		azihsm_aes_queues_fail(hdev, -ENODEV);
	}

	down_write(&hdev->io_rwsem);
	azihsm_hsm_queues_stop(hdev);
	azihsm_aes_queues_stop(hdev);
	azihsm_ctrl_disable(hdev);
	azihsm_hsm_queues_fail(hdev, -ENODEV, AZIHSM_EXT_RESET);
	azihsm_aes_queues_fail(hdev, -ENODEV);
	azihsm_aes_queues_destroy(hdev);
	azihsm_hsm_queues_destroy(hdev);
	up_write(&hdev->io_rwsem);
}
