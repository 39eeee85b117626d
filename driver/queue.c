// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm HSM queues: an SQ/CQ ring pair per queue with one MSI-X vector,
 * and a fixed set of command slots, each owning page-aligned DMA bounce
 * buffers for its request and response.
 *
 * A queue of depth D has D - 1 slots, so at most D - 1 commands are on
 * the rings and the CQ cannot overflow. The SQ space is still checked
 * against the head the device reports in each completion.
 *
 * Completions are handled in the hard interrupt handler: it only copies
 * the 16-byte entry into the slot and completes the waiter, which does
 * everything else in process context.
 */
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "azihsm.h"

static u16 azihsm_ring_dist(const struct azihsm_hsm_queue *q, u16 from, u16 to)
{
	return (to + q->depth - from) % q->depth;
}

/* Entries on the SQ the device has not yet reported consumed. */
static u16 azihsm_sq_used(const struct azihsm_hsm_queue *q)
{
	return azihsm_ring_dist(q, q->sq_head, q->sq_tail);
}

/* One completion entry, checked against what we put on the ring. */
static void azihsm_hsm_complete(struct azihsm_hsm_queue *q,
				const struct azihsm_hsm_cqe *cqe)
{
	struct azihsm_dev *hdev = q->dev;
	u16 cid = le16_to_cpu(cqe->cid);
	u16 head = le16_to_cpu(cqe->sq_head);
	struct azihsm_slot *slot;

	if (head < q->depth &&
	    azihsm_ring_dist(q, q->sq_head, head) <= azihsm_sq_used(q))
		q->sq_head = head;
	else
		dev_warn_ratelimited(hdev->dev, "queue %u: bad sq_head %u in completion\n",
				     q->qid, head);

	if (cid >= q->nslots || q->slots[cid].state != AZIHSM_SLOT_INFLIGHT) {
		/* A timed-out command completing late lands here too. */
		dev_warn_ratelimited(hdev->dev, "queue %u: unexpected completion, cid %u\n",
				     q->qid, cid);
		return;
	}
	slot = &q->slots[cid];
	slot->cqe = *cqe;
	slot->result = 0;
	slot->ext_status = AZIHSM_EXT_OK;
	slot->state = AZIHSM_SLOT_DONE;
	atomic64_inc(&hdev->stats.completed);
	complete(&slot->done);
}

/* Harvest new completions; with q->lock held. True if there were any. */
static bool azihsm_hsm_process_cq(struct azihsm_hsm_queue *q)
{
	struct azihsm_hsm_cqe cqe;
	bool any = false;
	u16 status;

	for (;;) {
		status = le16_to_cpu(READ_ONCE(q->cq[q->cq_head].status));
		if ((status & AZIHSM_CQE_PHASE) != q->cq_phase)
			break;
		/* Read the entry only after seeing its phase bit. */
		dma_rmb();
		cqe = q->cq[q->cq_head];
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->cq_phase ^= 1;
		}
		any = true;
		azihsm_hsm_complete(q, &cqe);
	}
	return any;
}

static irqreturn_t azihsm_hsm_irq(int irq, void *data)
{
	struct azihsm_hsm_queue *q = data;
	bool any;

	spin_lock(&q->lock);
	any = azihsm_hsm_process_cq(q);
	if (any && !q->stopped)
		writel(q->cq_head, q->dev->db + AZIHSM_DB_CQ_HEAD(q->qid));
	spin_unlock(&q->lock);
	if (!any)
		return IRQ_NONE;
	/* The SQ head moved: a waiter may now fit. */
	wake_up(&q->slot_wq);
	return IRQ_HANDLED;
}

static void azihsm_hsm_queue_free(struct azihsm_dev *hdev,
				  struct azihsm_hsm_queue *q)
{
	unsigned int i;

	if (q->irq_requested)
		free_irq(pci_irq_vector(hdev->pdev, q->vector), q);
	if (q->slots) {
		for (i = 0; i < q->nslots; i++) {
			struct azihsm_slot *slot = &q->slots[i];

			if (slot->src) {
				memzero_explicit(slot->src, AZIHSM_HSM_BUF_MAX);
				dma_free_coherent(hdev->dev, AZIHSM_HSM_BUF_MAX,
						  slot->src, slot->src_dma);
			}
			if (slot->dst) {
				memzero_explicit(slot->dst, AZIHSM_HSM_BUF_MAX);
				dma_free_coherent(hdev->dev, AZIHSM_HSM_BUF_MAX,
						  slot->dst, slot->dst_dma);
			}
		}
	}
	if (q->cq)
		dma_free_coherent(hdev->dev, q->depth * sizeof(*q->cq), q->cq,
				  q->cq_dma);
	if (q->sq)
		dma_free_coherent(hdev->dev, q->depth * sizeof(*q->sq), q->sq,
				  q->sq_dma);
	kfree(q->slots);
	kfree(q->free);
	kfree(q);
}

static struct azihsm_hsm_queue *azihsm_hsm_queue_alloc(struct azihsm_dev *hdev,
						       unsigned int index,
						       u16 depth)
{
	struct azihsm_hsm_queue *q;
	unsigned int i;

	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return NULL;
	q->dev = hdev;
	spin_lock_init(&q->lock);
	init_waitqueue_head(&q->slot_wq);
	q->qid = AZIHSM_QID_HSM_FIRST + index;
	q->vector = AZIHSM_MSIX_VEC_HSM_FIRST + index;
	q->depth = depth;
	q->nslots = depth - 1;
	q->cq_phase = 1;
	snprintf(q->irq_name, sizeof(q->irq_name), KBUILD_MODNAME "-hsm%u", index);

	q->sq = dma_alloc_coherent(hdev->dev, depth * sizeof(*q->sq), &q->sq_dma,
				   GFP_KERNEL);
	q->cq = dma_alloc_coherent(hdev->dev, depth * sizeof(*q->cq), &q->cq_dma,
				   GFP_KERNEL);
	q->slots = kcalloc(q->nslots, sizeof(*q->slots), GFP_KERNEL);
	q->free = kcalloc(q->nslots, sizeof(*q->free), GFP_KERNEL);
	if (!q->sq || !q->cq || !q->slots || !q->free)
		goto err;
	for (i = 0; i < q->nslots; i++) {
		struct azihsm_slot *slot = &q->slots[i];

		slot->src = dma_alloc_coherent(hdev->dev, AZIHSM_HSM_BUF_MAX,
					       &slot->src_dma, GFP_KERNEL);
		slot->dst = dma_alloc_coherent(hdev->dev, AZIHSM_HSM_BUF_MAX,
					       &slot->dst_dma, GFP_KERNEL);
		if (!slot->src || !slot->dst)
			goto err;
		init_completion(&slot->done);
		/* Lowest cid on top of the stack. */
		q->free[q->nslots - 1 - i] = i;
	}
	q->nfree = q->nslots;
	return q;

err:
	azihsm_hsm_queue_free(hdev, q);
	return NULL;
}

/*
 * A queue kept across a reset (issue 9: a reset may be what frees memory,
 * so it allocates none): empty rings, every slot free and wiped. The
 * controller is disabled and io_rwsem held for write, so no command owns a
 * slot; a timed-out slot's buffers are the device's no more.
 */
static void azihsm_hsm_queue_recycle(struct azihsm_hsm_queue *q)
{
	unsigned int i;

	spin_lock_irq(&q->lock);
	memset(q->sq, 0, q->depth * sizeof(*q->sq));
	memset(q->cq, 0, q->depth * sizeof(*q->cq));
	q->sq_tail = 0;
	q->sq_head = 0;
	q->cq_head = 0;
	q->cq_phase = 1;
	q->nreserved = 0;
	for (i = 0; i < q->nslots; i++) {
		struct azihsm_slot *slot = &q->slots[i];

		if (slot->state != AZIHSM_SLOT_FREE) {
			memzero_explicit(slot->src, AZIHSM_HSM_BUF_MAX);
			memzero_explicit(slot->dst, AZIHSM_HSM_BUF_MAX);
			slot->state = AZIHSM_SLOT_FREE;
		}
		slot->src_used = 0;
		q->free[q->nslots - 1 - i] = i;
	}
	q->nfree = q->nslots;
	q->stopped = false;
	spin_unlock_irq(&q->lock);
}

/*
 * HSM queue @index: reuse the one of the same depth a reset left, or
 * allocate it and hook its vector; then create its CQ then SQ.
 */
int azihsm_hsm_queue_create(struct azihsm_dev *hdev, unsigned int index,
			    u16 depth)
{
	struct azihsm_hsm_queue *q = hdev->hsm[index];
	int ret;

	if (q && q->depth == depth) {
		azihsm_hsm_queue_recycle(q);
		goto create;
	}
	if (q) {
		azihsm_hsm_queue_free(hdev, q);
		hdev->hsm[index] = NULL;
	}
	q = azihsm_hsm_queue_alloc(hdev, index, depth);
	if (!q) {
		dev_err(hdev->dev, "no memory for HSM queue %u\n", index);
		return -ENOMEM;
	}
	ret = request_irq(pci_irq_vector(hdev->pdev, q->vector), azihsm_hsm_irq,
			  0, q->irq_name, q);
	if (ret) {
		dev_err(hdev->dev, "cannot request vector %u: %d\n", q->vector, ret);
		goto err_free;
	}
	q->irq_requested = true;
create:
	ret = azihsm_admin_create_cq(hdev, q->qid, q->depth, q->vector, q->cq_dma);
	if (ret)
		goto err_free;
	ret = azihsm_admin_create_sq(hdev, q->qid, q->depth, q->sq_dma);
	if (ret)
		goto err_free;
	hdev->hsm[index] = q;
	return 0;

err_free:
	/*
	 * The device may already know the CQ: leave the queue in hsm[] for
	 * the caller's teardown, which frees it after disabling the controller.
	 */
	hdev->hsm[index] = q;
	return ret;
}

/* Nothing more goes on any ring; slot waiters give up and retry later. */
void azihsm_hsm_queues_stop(struct azihsm_dev *hdev)
{
	unsigned int i;

	for (i = 0; i < AZIHSM_HSM_QUEUES_MAX; i++) {
		struct azihsm_hsm_queue *q = hdev->hsm[i];

		if (!q)
			continue;
		spin_lock_irq(&q->lock);
		q->stopped = true;
		spin_unlock_irq(&q->lock);
		wake_up_all(&q->slot_wq);
	}
}

void azihsm_hsm_queues_wake(struct azihsm_dev *hdev)
{
	unsigned int i;

	for (i = 0; i < AZIHSM_HSM_QUEUES_MAX; i++)
		if (hdev->hsm[i])
			wake_up_all(&hdev->hsm[i]->slot_wq);
}

/*
 * With the controller disabled: take the completions it posted before it
 * stopped, then fail every command still in flight with @err.
 */
void azihsm_hsm_queues_fail(struct azihsm_dev *hdev, int err, u32 ext_status)
{
	unsigned int i, j;

	for (i = 0; i < AZIHSM_HSM_QUEUES_MAX; i++) {
		struct azihsm_hsm_queue *q = hdev->hsm[i];

		if (!q)
			continue;
		if (q->irq_requested)
			synchronize_irq(pci_irq_vector(hdev->pdev, q->vector));
		spin_lock_irq(&q->lock);
		azihsm_hsm_process_cq(q);
		for (j = 0; j < q->nslots; j++) {
			struct azihsm_slot *slot = &q->slots[j];

			if (slot->state != AZIHSM_SLOT_INFLIGHT)
				continue;
			slot->result = err;
			slot->ext_status = ext_status;
			slot->state = AZIHSM_SLOT_DONE;
			atomic64_inc(&hdev->stats.failed);
			complete(&slot->done);
		}
		spin_unlock_irq(&q->lock);
		wake_up_all(&q->slot_wq);
	}
}

/*
 * Free the HSM queues from @first on. Only with io_rwsem held for write
 * (or during bring-up) and the controller disabled: no submitter and no
 * DMA left.
 */
void azihsm_hsm_queues_trim(struct azihsm_dev *hdev, unsigned int first)
{
	unsigned int i;

	for (i = first; i < AZIHSM_HSM_QUEUES_MAX; i++) {
		if (!hdev->hsm[i])
			continue;
		azihsm_hsm_queue_free(hdev, hdev->hsm[i]);
		hdev->hsm[i] = NULL;
	}
	hdev->nr_hsm = min(hdev->nr_hsm, first);
}

void azihsm_hsm_queues_destroy(struct azihsm_dev *hdev)
{
	azihsm_hsm_queues_trim(hdev, 0);
}

/* 0 and a slot; -EAGAIN if the queue stopped; -EBUSY if none is free. */
static int azihsm_slot_try_get(struct azihsm_hsm_queue *q,
			       struct azihsm_slot **slotp)
{
	struct azihsm_slot *slot;
	int ret = -EBUSY;

	spin_lock_irq(&q->lock);
	if (q->stopped || READ_ONCE(q->dev->state) != AZIHSM_STATE_READY) {
		ret = -EAGAIN;
	} else if (q->nfree &&
		   azihsm_sq_used(q) + q->nreserved + 1 < q->depth) {
		slot = &q->slots[q->free[--q->nfree]];
		slot->state = AZIHSM_SLOT_RESERVED;
		q->nreserved++;
		*slotp = slot;
		ret = 0;
	}
	spin_unlock_irq(&q->lock);
	return ret;
}

/*
 * Reserve a slot, waiting (interruptibly, unless @uninterruptible) while
 * all are busy. Returns -EAGAIN when the queue is being reset or removed:
 * the caller lets go of io_rwsem and starts over.
 */
int azihsm_slot_get(struct azihsm_hsm_queue *q, bool nowait, bool uninterruptible,
		    struct azihsm_slot **slotp)
{
	int ret, err = 0;

	ret = azihsm_slot_try_get(q, slotp);
	if (ret != -EBUSY || nowait)
		return ret;
	if (uninterruptible)
		wait_event(q->slot_wq, (ret = azihsm_slot_try_get(q, slotp)) != -EBUSY);
	else
		err = wait_event_interruptible(q->slot_wq,
					       (ret = azihsm_slot_try_get(q, slotp)) != -EBUSY);
	return err ? err : ret;
}

/*
 * Give a slot back, its buffers wiped: later commands carry secrets. Only
 * what was used: the request's bytes, and the response's when the device
 * completed the command (its byte_count); everything otherwise.
 */
void azihsm_slot_put(struct azihsm_hsm_queue *q, struct azihsm_slot *slot)
{
	u16 cid = slot - q->slots;
	size_t dst_used = AZIHSM_HSM_BUF_MAX;

	if (slot->state == AZIHSM_SLOT_DONE && !slot->result)
		dst_used = min_t(size_t, le16_to_cpu(slot->cqe.byte_count),
				 AZIHSM_HSM_BUF_MAX);
	memzero_explicit(slot->src, slot->src_used ? slot->src_used : AZIHSM_HSM_BUF_MAX);
	memzero_explicit(slot->dst, dst_used);
	slot->src_used = 0;
	spin_lock_irq(&q->lock);
	if (slot->state == AZIHSM_SLOT_RESERVED)
		q->nreserved--;
	slot->state = AZIHSM_SLOT_FREE;
	q->free[q->nfree++] = cid;
	spin_unlock_irq(&q->lock);
	wake_up(&q->slot_wq);
}

/*
 * Put a reserved slot's command on the SQ (its request is already in
 * slot->src) and ring the doorbell. -EAGAIN if the queue stopped, -ESTALE
 * if the command is bound to a reset generation that is over.
 */
int azihsm_slot_submit(struct azihsm_hsm_queue *q, struct azihsm_slot *slot,
		       struct azihsm_hsm_cmd *cmd)
{
	u16 cid = slot - q->slots;
	struct azihsm_hsm_sqe *sqe;
	int ret = 0;

	spin_lock_irq(&q->lock);
	if (q->stopped) {
		ret = -EAGAIN;
		goto out;
	}
	/* A reset counts itself before it stops the queues. */
	if (cmd->gen_bound && atomic64_read(&q->dev->stats.resets) != cmd->gen) {
		ret = -ESTALE;
		goto out;
	}
	sqe = &q->sq[q->sq_tail];
	memset(sqe, 0, sizeof(*sqe));
	sqe->dw0 = cpu_to_le32((cmd->opc & AZIHSM_HSQE_OPC_MASK) |
			       ((u32)cid << AZIHSM_HSQE_CID_SHIFT));
	sqe->src_len = cpu_to_le32(cmd->src_len);
	sqe->src_prp1 = cpu_to_le64(slot->src_dma);
	sqe->src_prp2 = cpu_to_le64(slot->src_dma + AZIHSM_PAGE_SIZE);
	sqe->dst_len = cpu_to_le32(cmd->dst_len);
	sqe->dst_prp1 = cpu_to_le64(slot->dst_dma);
	sqe->dst_prp2 = cpu_to_le64(slot->dst_dma + AZIHSM_PAGE_SIZE);
	sqe->flags = cmd->session_flags;
	sqe->session_id = cpu_to_le16(cmd->session_id);
	sqe->short_app_id = cpu_to_le16(cmd->short_app_id);

	reinit_completion(&slot->done);
	slot->state = AZIHSM_SLOT_INFLIGHT;
	q->nreserved--;
	q->sq_tail = (q->sq_tail + 1) % q->depth;
	cmd->submit_gen = atomic64_read(&q->dev->stats.resets);
	atomic64_inc(&q->dev->stats.submitted);
	/* writel orders the buffer and SQE writes before the doorbell. */
	writel(q->sq_tail, q->dev->db + AZIHSM_DB_SQ_TAIL(q->qid));
out:
	spin_unlock_irq(&q->lock);
	return ret;
}

/*
 * Wait for a submitted command. 0 with the slot DONE (slot->result tells
 * whether the device completed it), or -ETIMEDOUT: the slot then stays
 * TIMED_OUT, owned by no one, until the reset recycles the queue. Before
 * giving up, the CQ is polled: a completion whose interrupt was lost is
 * taken (missed_irqs) instead of resetting the controller for it.
 */
int azihsm_slot_wait(struct azihsm_hsm_queue *q, struct azihsm_slot *slot,
		     unsigned int timeout_ms)
{
	bool timed_out = false, any;

	if (wait_for_completion_timeout(&slot->done, msecs_to_jiffies(timeout_ms)))
		return 0;
	spin_lock_irq(&q->lock);
	any = !q->stopped && azihsm_hsm_process_cq(q);
	if (any)
		writel(q->cq_head, q->dev->db + AZIHSM_DB_CQ_HEAD(q->qid));
	if (any && slot->state != AZIHSM_SLOT_INFLIGHT)
		atomic64_inc(&q->dev->stats.missed_irqs);
	if (slot->state == AZIHSM_SLOT_INFLIGHT) {
		slot->state = AZIHSM_SLOT_TIMED_OUT;
		timed_out = true;
	}
	spin_unlock_irq(&q->lock);
	if (any)
		wake_up(&q->slot_wq);
	if (!timed_out)
		return 0;	/* completed just now */
	atomic64_inc(&q->dev->stats.timed_out);
	return -ETIMEDOUT;
}
