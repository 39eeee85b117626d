// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm HSM queues: a ring (ring.c) per queue with one MSI-X vector,
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

/* The phase and status word ends the entry (azihsm_ring_next_cqe()). */
static_assert(offsetof(struct azihsm_hsm_cqe, status) ==
	      sizeof(struct azihsm_hsm_cqe) - sizeof(__le16));

/* One completion entry, checked against what we put on the ring. */
static void azihsm_hsm_complete(struct azihsm_hsm_queue *q,
				const struct azihsm_hsm_cqe *cqe)
{
	struct azihsm_ring *r = &q->ring;
	struct azihsm_dev *hdev = r->dev;
	u16 cid = le16_to_cpu(cqe->cid);
	u16 head = le16_to_cpu(cqe->sq_head);
	struct azihsm_slot *slot;

	if (head < r->depth &&
	    azihsm_ring_dist(r, r->sq_head, head) <= azihsm_ring_sq_used(r))
		r->sq_head = head;
	else
		dev_warn_ratelimited(hdev->dev, "queue %u: bad sq_head %u in completion\n",
				     r->qid, head);

	if (cid >= r->nslots || q->slots[cid].state != AZIHSM_SLOT_INFLIGHT) {
		/* A timed-out command completing late lands here too. */
		dev_warn_ratelimited(hdev->dev, "queue %u: unexpected completion, cid %u\n",
				     r->qid, cid);
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

/* Harvest new completions; with ring.lock held. True if there were any. */
static bool azihsm_hsm_process_cq(struct azihsm_hsm_queue *q)
{
	struct azihsm_hsm_cqe cqe, *next;
	bool any = false;

	while ((next = azihsm_ring_next_cqe(&q->ring))) {
		cqe = *next;
		any = true;
		azihsm_hsm_complete(q, &cqe);
	}
	return any;
}

static irqreturn_t azihsm_hsm_irq(int irq, void *data)
{
	struct azihsm_hsm_queue *q = data;
	bool any;

	spin_lock(&q->ring.lock);
	any = azihsm_hsm_process_cq(q);
	if (any && !q->ring.stopped)
		azihsm_ring_cq_doorbell(&q->ring);
	spin_unlock(&q->ring.lock);
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

	azihsm_ring_free_irq(&q->ring);
	if (q->slots) {
		for (i = 0; i < q->ring.nslots; i++) {
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
	azihsm_ring_free(&q->ring);
	kfree(q->slots);
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
	init_waitqueue_head(&q->slot_wq);
	snprintf(q->ring.irq_name, sizeof(q->ring.irq_name), KBUILD_MODNAME "-hsm%u",
		 index);
	if (azihsm_ring_alloc(&q->ring, hdev, AZIHSM_QID_HSM_FIRST + index,
			      AZIHSM_MSIX_VEC_HSM_FIRST + index, depth,
			      sizeof(struct azihsm_hsm_sqe),
			      sizeof(struct azihsm_hsm_cqe)))
		goto err;
	q->slots = kcalloc(q->ring.nslots, sizeof(*q->slots), GFP_KERNEL);
	if (!q->slots)
		goto err;
	for (i = 0; i < q->ring.nslots; i++) {
		struct azihsm_slot *slot = &q->slots[i];

		slot->src = dma_alloc_coherent(hdev->dev, AZIHSM_HSM_BUF_MAX,
					       &slot->src_dma, GFP_KERNEL);
		slot->dst = dma_alloc_coherent(hdev->dev, AZIHSM_HSM_BUF_MAX,
					       &slot->dst_dma, GFP_KERNEL);
		if (!slot->src || !slot->dst)
			goto err;
		init_completion(&slot->done);
	}
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

	spin_lock_irq(&q->ring.lock);
	q->nreserved = 0;
	for (i = 0; i < q->ring.nslots; i++) {
		struct azihsm_slot *slot = &q->slots[i];

		if (slot->state != AZIHSM_SLOT_FREE) {
			memzero_explicit(slot->src, AZIHSM_HSM_BUF_MAX);
			memzero_explicit(slot->dst, AZIHSM_HSM_BUF_MAX);
			slot->state = AZIHSM_SLOT_FREE;
		}
		slot->src_used = 0;
	}
	azihsm_ring_reset(&q->ring);
	spin_unlock_irq(&q->ring.lock);
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

	if (q && q->ring.depth == depth) {
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
	ret = azihsm_ring_request_irq(&q->ring, azihsm_hsm_irq, q);
	if (ret)
		goto err_free;
create:
	ret = azihsm_ring_create(&q->ring);
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
		azihsm_ring_stop(&q->ring);
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
		azihsm_ring_sync_irq(&q->ring);
		spin_lock_irq(&q->ring.lock);
		azihsm_hsm_process_cq(q);
		for (j = 0; j < q->ring.nslots; j++) {
			struct azihsm_slot *slot = &q->slots[j];

			if (slot->state != AZIHSM_SLOT_INFLIGHT)
				continue;
			slot->result = err;
			slot->ext_status = ext_status;
			slot->state = AZIHSM_SLOT_DONE;
			atomic64_inc(&hdev->stats.failed);
			complete(&slot->done);
		}
		spin_unlock_irq(&q->ring.lock);
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
	struct azihsm_ring *r = &q->ring;
	struct azihsm_slot *slot;
	int ret = -EBUSY;

	spin_lock_irq(&r->lock);
	if (r->stopped || READ_ONCE(r->dev->state) != AZIHSM_STATE_READY) {
		ret = -EAGAIN;
	} else if (r->nfree &&
		   azihsm_ring_sq_used(r) + q->nreserved + 1 < r->depth) {
		slot = &q->slots[r->free[--r->nfree]];
		slot->state = AZIHSM_SLOT_RESERVED;
		q->nreserved++;
		*slotp = slot;
		ret = 0;
	}
	spin_unlock_irq(&r->lock);
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
	spin_lock_irq(&q->ring.lock);
	if (slot->state == AZIHSM_SLOT_RESERVED)
		q->nreserved--;
	slot->state = AZIHSM_SLOT_FREE;
	q->ring.free[q->ring.nfree++] = cid;
	spin_unlock_irq(&q->ring.lock);
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
	struct azihsm_ring *r = &q->ring;
	u16 cid = slot - q->slots;
	struct azihsm_hsm_sqe *sqe;
	int ret = 0;

	spin_lock_irq(&r->lock);
	if (r->stopped) {
		ret = -EAGAIN;
		goto out;
	}
	/* A reset counts itself before it stops the queues. */
	if (cmd->gen_bound && atomic64_read(&r->dev->stats.resets) != cmd->gen) {
		ret = -ESTALE;
		goto out;
	}
	sqe = azihsm_ring_sqe(r);
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
	cmd->submit_gen = atomic64_read(&r->dev->stats.resets);
	atomic64_inc(&r->dev->stats.submitted);
	azihsm_ring_sq_push(r);
out:
	spin_unlock_irq(&r->lock);
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
	spin_lock_irq(&q->ring.lock);
	any = !q->ring.stopped && azihsm_hsm_process_cq(q);
	if (any)
		azihsm_ring_cq_doorbell(&q->ring);
	if (any && slot->state != AZIHSM_SLOT_INFLIGHT)
		atomic64_inc(&q->ring.dev->stats.missed_irqs);
	if (slot->state == AZIHSM_SLOT_INFLIGHT) {
		slot->state = AZIHSM_SLOT_TIMED_OUT;
		timed_out = true;
	}
	spin_unlock_irq(&q->ring.lock);
	if (any)
		wake_up(&q->slot_wq);
	if (!timed_out)
		return 0;	/* completed just now */
	atomic64_inc(&q->ring.dev->stats.timed_out);
	return -ETIMEDOUT;
}
