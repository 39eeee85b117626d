// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm admin queue: one 4 KiB page for the SQ and one for the CQ,
 * MSI-X vector 0, and one command in flight at a time. Admin commands
 * are only sent while the controller is being brought up (probe, reset),
 * so there is never a queue of them to manage.
 */
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kobject.h>

#include "azihsm.h"
#include "azihsm/msg.h"

/*
 * An Async Event Request completed (lock held): keep the event for
 * event_work, which logs it, tells user space and re-arms.
 */
static bool azihsm_admin_aer_done(struct azihsm_dev *hdev, const struct azihsm_admin_cqe *cqe)
{
	struct azihsm_admin_queue *aq = &hdev->admin;
	u16 status;

	if (!aq->aer_armed || le16_to_cpu(cqe->cid) != aq->aer_cid)
		return false;
	aq->aer_armed = false;
	status = (le16_to_cpu(cqe->status) >> AZIHSM_CQE_STATUS_SHIFT) & AZIHSM_CQE_STATUS_MASK;
	if (status) {
		/* A device without async events: the health monitor still runs. */
		aq->aer_unsupported = true;
		return true;
	}
	if (aq->aer_stop)
		return true;
	if (aq->ev_n < ARRAY_SIZE(aq->ev))
		aq->ev[aq->ev_n++] = le32_to_cpu(cqe->result);
	schedule_work(&hdev->event_work);
	return true;
}

static irqreturn_t azihsm_admin_irq(int irq, void *data)
{
	struct azihsm_dev *hdev = data;
	struct azihsm_admin_queue *aq = &hdev->admin;
	struct azihsm_admin_cqe cqe;
	bool handled = false;
	u16 status;

	spin_lock(&aq->lock);
	for (;;) {
		status = le16_to_cpu(READ_ONCE(aq->cq[aq->cq_head].status));
		if ((status & AZIHSM_CQE_PHASE) != aq->cq_phase)
			break;
		/* Read the entry only after seeing its phase bit. */
		dma_rmb();
		cqe = aq->cq[aq->cq_head];
		handled = true;
		if (++aq->cq_head == AZIHSM_ADMIN_DEPTH) {
			aq->cq_head = 0;
			aq->cq_phase ^= 1;
		}
		if (azihsm_admin_aer_done(hdev, &cqe))
			continue;
		if (!aq->waiting || le16_to_cpu(cqe.cid) != aq->wait_cid) {
			dev_warn_ratelimited(hdev->dev,
					     "unexpected admin completion, cid %u\n",
					     le16_to_cpu(cqe.cid));
			continue;
		}
		aq->status = (le16_to_cpu(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT) &
			     AZIHSM_CQE_STATUS_MASK;
		aq->result = le32_to_cpu(cqe.result);
		aq->waiting = false;
		complete(&aq->done);
	}
	if (handled)
		writel(aq->cq_head, hdev->db + AZIHSM_DB_CQ_HEAD(AZIHSM_QID_ADMIN));
	spin_unlock(&aq->lock);
	return handled ? IRQ_HANDLED : IRQ_NONE;
}

int azihsm_admin_alloc(struct azihsm_dev *hdev)
{
	struct azihsm_admin_queue *aq = &hdev->admin;
	int ret;

	aq->sq = dma_alloc_coherent(hdev->dev, AZIHSM_PAGE_SIZE, &aq->sq_dma,
				    GFP_KERNEL);
	aq->cq = dma_alloc_coherent(hdev->dev, AZIHSM_PAGE_SIZE, &aq->cq_dma,
				    GFP_KERNEL);
	if (!aq->sq || !aq->cq) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = request_irq(pci_irq_vector(hdev->pdev, AZIHSM_MSIX_VEC_ADMIN),
			  azihsm_admin_irq, 0, KBUILD_MODNAME "-admin", hdev);
	if (ret) {
		dev_err(hdev->dev, "cannot request the admin interrupt: %d\n", ret);
		goto err_free;
	}
	return 0;

err_free:
	if (aq->cq)
		dma_free_coherent(hdev->dev, AZIHSM_PAGE_SIZE, aq->cq, aq->cq_dma);
	if (aq->sq)
		dma_free_coherent(hdev->dev, AZIHSM_PAGE_SIZE, aq->sq, aq->sq_dma);
	aq->sq = NULL;
	aq->cq = NULL;
	return ret;
}

/* Call with the controller disabled: it no longer touches the pages. */
void azihsm_admin_free(struct azihsm_dev *hdev)
{
	struct azihsm_admin_queue *aq = &hdev->admin;

	free_irq(pci_irq_vector(hdev->pdev, AZIHSM_MSIX_VEC_ADMIN), hdev);
	dma_free_coherent(hdev->dev, AZIHSM_PAGE_SIZE, aq->cq, aq->cq_dma);
	dma_free_coherent(hdev->dev, AZIHSM_PAGE_SIZE, aq->sq, aq->sq_dma);
	aq->sq = NULL;
	aq->cq = NULL;
}

/*
 * Empty rings for a controller about to be enabled: its heads and tails
 * start at 0 and its first pass over the CQ writes phase 1.
 */
void azihsm_admin_reset(struct azihsm_dev *hdev)
{
	struct azihsm_admin_queue *aq = &hdev->admin;

	spin_lock_irq(&aq->lock);
	memset(aq->sq, 0, AZIHSM_PAGE_SIZE);
	memset(aq->cq, 0, AZIHSM_PAGE_SIZE);
	aq->sq_tail = 0;
	aq->cq_head = 0;
	aq->cq_phase = 1;
	aq->waiting = false;
	/* A disabled controller dropped the request it held. */
	aq->aer_armed = false;
	spin_unlock_irq(&aq->lock);
}

void azihsm_admin_aer_arm(struct azihsm_dev *hdev)
{
	struct azihsm_admin_queue *aq = &hdev->admin;
	struct azihsm_admin_sqe sqe = { .opc = AZIHSM_ADMIN_ASYNC_EVENT };

	spin_lock_irq(&aq->lock);
	if (!aq->aer_armed && !aq->aer_unsupported && !aq->aer_stop && aq->sq) {
		aq->aer_cid = aq->next_cid++;
		sqe.cid = cpu_to_le16(aq->aer_cid);
		aq->sq[aq->sq_tail] = sqe;
		aq->sq_tail = (aq->sq_tail + 1) % AZIHSM_ADMIN_DEPTH;
		aq->aer_armed = true;
		writel(aq->sq_tail, hdev->db + AZIHSM_DB_SQ_TAIL(AZIHSM_QID_ADMIN));
	}
	spin_unlock_irq(&aq->lock);
}

void azihsm_admin_aer_stop(struct azihsm_dev *hdev)
{
	spin_lock_irq(&hdev->admin.lock);
	hdev->admin.aer_stop = true;
	spin_unlock_irq(&hdev->admin.lock);
	cancel_work_sync(&hdev->event_work);
}

static const char *const azihsm_reason_names[] = AZIHSM_ERROR_REASON_NAMES;

static const char *azihsm_reason_name(unsigned int r)
{
	return r < ARRAY_SIZE(azihsm_reason_names) ? azihsm_reason_names[r] : "unknown";
}

/*
 * An error-state entry or a tamper event: say so at once (dmesg, a
 * KOBJ_CHANGE uevent with AZIHSM_EVENT, AZIHSM_REASON, AZIHSM_TAMPER_COUNT)
 * and leave the next request with the device. The device itself refuses
 * every service from now on, so requests fail with errors (-EIO), never
 * with results; sysfs error_state, error_reason and tamper_count ask it.
 */
void azihsm_event_work(struct work_struct *work)
{
	struct azihsm_dev *hdev = container_of(work, struct azihsm_dev, event_work);
	struct azihsm_admin_queue *aq = &hdev->admin;
	char ev_env[32], reason_env[48], count_env[40];
	char *envp[4];
	unsigned int type, reason, count;
	bool more = true;
	u32 dw0;

	envp[0] = ev_env;
	envp[1] = reason_env;
	envp[2] = count_env;
	envp[3] = NULL;

	while (more) {
		spin_lock_irq(&aq->lock);
		if (!aq->ev_n) {
			spin_unlock_irq(&aq->lock);
			break;
		}
		dw0 = aq->ev[0];
		aq->ev_n--;
		memmove(&aq->ev[0], &aq->ev[1], aq->ev_n * sizeof(aq->ev[0]));
		more = aq->ev_n > 0;
		spin_unlock_irq(&aq->lock);

		type = dw0 & AZIHSM_AER_TYPE_MASK;
		reason = (dw0 >> AZIHSM_AER_REASON_SHIFT) & AZIHSM_AER_REASON_MASK;
		count = dw0 >> AZIHSM_AER_COUNT_SHIFT;
		if (type == AZIHSM_AER_TAMPER)
			dev_crit(hdev->dev, "tamper event (%u so far): keys zeroized, device in its error state\n",
				 count);
		else
			dev_err(hdev->dev, "device entered its error state (%s): services refused until a reset\n",
				azihsm_reason_name(reason));
		snprintf(ev_env, sizeof(ev_env), "AZIHSM_EVENT=%s",
			 type == AZIHSM_AER_TAMPER ? "tamper" : "error_state");
		snprintf(reason_env, sizeof(reason_env), "AZIHSM_REASON=%s",
			 azihsm_reason_name(reason));
		snprintf(count_env, sizeof(count_env), "AZIHSM_TAMPER_COUNT=%u", count);
		if (hdev->class_dev)
			kobject_uevent_env(&hdev->class_dev->kobj, KOBJ_CHANGE, envp);
	}
	azihsm_admin_aer_arm(hdev);
}

/*
 * Send one admin command and wait for it (admin_timeout_ms). Returns 0,
 * -ETIMEDOUT, or -EIO when the device completed it with an error status.
 * A timed-out command is left to the caller's recovery: the callers give
 * up on the bring-up and disable the controller.
 */
int azihsm_admin_exec(struct azihsm_dev *hdev, struct azihsm_admin_sqe *sqe,
		      u32 *result)
{
	struct azihsm_admin_queue *aq = &hdev->admin;
	unsigned long left;
	bool timed_out;
	u16 status = 0;
	u32 res = 0;

	mutex_lock(&hdev->admin_mutex);
	spin_lock_irq(&aq->lock);
	aq->wait_cid = aq->next_cid++;
	sqe->cid = cpu_to_le16(aq->wait_cid);
	aq->sq[aq->sq_tail] = *sqe;
	aq->sq_tail = (aq->sq_tail + 1) % AZIHSM_ADMIN_DEPTH;
	aq->waiting = true;
	reinit_completion(&aq->done);
	/* writel orders the SQE write before the doorbell. */
	writel(aq->sq_tail, hdev->db + AZIHSM_DB_SQ_TAIL(AZIHSM_QID_ADMIN));
	spin_unlock_irq(&aq->lock);

	left = wait_for_completion_timeout(&aq->done,
					   msecs_to_jiffies(azihsm_admin_timeout_ms));

	spin_lock_irq(&aq->lock);
	timed_out = !left && aq->waiting;
	aq->waiting = false;
	if (!timed_out) {
		status = aq->status;
		res = aq->result;
	}
	spin_unlock_irq(&aq->lock);
	mutex_unlock(&hdev->admin_mutex);

	if (timed_out) {
		dev_err(hdev->dev, "admin command %#x timed out after %u ms\n",
			sqe->opc, azihsm_admin_timeout_ms);
		return -ETIMEDOUT;
	}
	if (status) {
		dev_err(hdev->dev, "admin command %#x failed: status %#x\n",
			sqe->opc, status);
		return -EIO;
	}
	if (result)
		*result = res;
	return 0;
}

/* Create I/O CQ @qid of @depth entries at @dma, interrupting on @vector. */
int azihsm_admin_create_cq(struct azihsm_dev *hdev, u16 qid, u16 depth, u16 vector,
			   dma_addr_t dma)
{
	struct azihsm_admin_sqe sqe = { .opc = AZIHSM_ADMIN_CREATE_CQ };

	sqe.prp1 = cpu_to_le64(dma);
	sqe.cdw10 = cpu_to_le32(qid | ((u32)(depth - 1) << 16));
	sqe.cdw11 = cpu_to_le32(AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN |
				((u32)vector << 16));
	return azihsm_admin_exec(hdev, &sqe, NULL);
}

/* Create I/O SQ @qid (priority 0), completing on the CQ of the same id. */
int azihsm_admin_create_sq(struct azihsm_dev *hdev, u16 qid, u16 depth, dma_addr_t dma)
{
	struct azihsm_admin_sqe sqe = { .opc = AZIHSM_ADMIN_CREATE_SQ };

	sqe.prp1 = cpu_to_le64(dma);
	sqe.cdw10 = cpu_to_le32(qid | ((u32)(depth - 1) << 16));
	sqe.cdw11 = cpu_to_le32(AZIHSM_CREATE_PC | ((u32)qid << 16));
	return azihsm_admin_exec(hdev, &sqe, NULL);
}
