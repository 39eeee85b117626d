// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm AES fast-path queues (Documentation/device.md, section 10): an
 * SQ of 128-byte entries and a CQ of 64-byte entries per queue, one
 * MSI-X vector from 16 on. An entry is one AES-XTS, AES-GCM or AES-CBC
 * operation on the caller's memory, described by SGLs built from its
 * dma-mapped scatterlists; keys are named by id in the driver's kernel
 * session.
 *
 * Each slot (cid) owns a preallocated piece of one coherent buffer: a
 * descriptor list for src and one for dst (AZIHSM_AES_SGL_MAX entries
 * each, within one page), so submitting allocates nothing. The end of
 * the buffer holds 16 zero bytes, the GCM AAD padding.
 *
 * Completions run in the queue's tasklet, which the interrupt handler
 * schedules (softirq context, on the CPU that took the interrupt, with no
 * thread to wake): it harvests the CQ, unmaps the scatterlists and calls
 * each command's @done, the context crypto-API callbacks expect.
 *
 * Lifetime: submitters look up a queue under rcu_read_lock() and put an
 * entry on the ring only under its lock with the queue not stopped. A
 * reset or removal stops every queue, disables the controller, fails
 * what is in flight, and destroys the queues after an RCU grace period.
 */
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "azihsm.h"

#define AZIHSM_AES_LIST_BYTES	(AZIHSM_AES_SGL_MAX * sizeof(struct azihsm_sgl_desc))
#define AZIHSM_AES_SLOT_BYTES	(2 * AZIHSM_AES_LIST_BYTES)
#define AZIHSM_AES_DONE_END	U16_MAX		/* ends a completion list */
#define AZIHSM_AES_INFLIGHT	(U16_MAX - 1)	/* next_done of a slot on the ring */

static_assert(AZIHSM_PAGE_SIZE % AZIHSM_AES_SLOT_BYTES == 0);
/* The phase and status word ends the entry (azihsm_ring_next_cqe()). */
static_assert(offsetof(struct azihsm_aes_cqe, status) ==
	      sizeof(struct azihsm_aes_cqe) - sizeof(__le16));

static void azihsm_aes_unmap(struct azihsm_dev *hdev, struct azihsm_aes_cmd *cmd)
{
	if (cmd->src == cmd->dst) {
		if (cmd->src_mapped)
			dma_unmap_sg(hdev->dev, cmd->src, cmd->src_nents,
				     DMA_BIDIRECTIONAL);
	} else {
		if (cmd->src_mapped)
			dma_unmap_sg(hdev->dev, cmd->src, cmd->src_nents,
				     DMA_TO_DEVICE);
		if (cmd->dst_mapped)
			dma_unmap_sg(hdev->dev, cmd->dst, cmd->dst_nents,
				     DMA_FROM_DEVICE);
	}
	cmd->src_mapped = 0;
	cmd->dst_mapped = 0;
}

/*
 * A completion's status as the command's result. INTERNAL (a device-side
 * failure) comes before the device writes any output (device.md, section
 * 10), so even an in-place command is intact: -EAGAIN, and the caller runs
 * it again on the control path, as after a reset.
 */
static int azihsm_aes_errno(u16 sc)
{
	switch (sc) {
	case AZIHSM_SC_SUCCESS:
		return 0;
	case AZIHSM_SC_AES_TAG_MISMATCH:
		return -EBADMSG;
	case AZIHSM_SC_INTERNAL:
		return -EAGAIN;
	}
	return -EIO;
}

/* Give the slot back; with ring.lock held. */
static void azihsm_aes_slot_free(struct azihsm_aes_queue *q,
				 struct azihsm_aes_slot *slot)
{
	slot->cmd = NULL;
	q->ring.free[q->ring.nfree++] = slot - q->slots;
}

/* Run the @done of each slot on the list, then free the slots. */
static void azihsm_aes_finish(struct azihsm_aes_queue *q, u16 first)
{
	struct azihsm_dev *hdev = q->ring.dev;
	u16 cid = first;

	while (cid != AZIHSM_AES_DONE_END) {
		struct azihsm_aes_slot *slot = &q->slots[cid];
		struct azihsm_aes_cmd *cmd = slot->cmd;
		u16 next = slot->next_done;

		azihsm_aes_unmap(hdev, cmd);
		/* @cmd lives in the crypto request: done may free it. */
		local_bh_disable();
		cmd->done(cmd, slot->result, &slot->cqe);
		local_bh_enable();
		spin_lock_irq(&q->ring.lock);
		azihsm_aes_slot_free(q, slot);
		spin_unlock_irq(&q->ring.lock);
		cid = next;
	}
}

/* Harvest completions onto a list; with ring.lock held. */
static u16 azihsm_aes_process_cq(struct azihsm_aes_queue *q)
{
	struct azihsm_ring *r = &q->ring;
	struct azihsm_dev *hdev = r->dev;
	u16 first = AZIHSM_AES_DONE_END, *tail = &first;
	struct azihsm_aes_cqe *cqe;
	struct azihsm_aes_slot *slot;
	u16 status, cid, head;

	while ((cqe = azihsm_ring_next_cqe(r))) {
		status = le16_to_cpu(cqe->status);
		head = le16_to_cpu(cqe->sq_head);
		if (head < r->depth)
			r->sq_head = head;
		cid = le16_to_cpu(cqe->cmd_id);
		if (cid >= r->nslots || !q->slots[cid].cmd ||
		    q->slots[cid].next_done != AZIHSM_AES_INFLIGHT) {
			dev_warn_ratelimited(hdev->dev, "AES queue %u: unexpected completion, cid %u\n",
					     r->qid, cid);
			continue;
		}
		slot = &q->slots[cid];
		slot->cqe = *cqe;
		status = (status >> AZIHSM_CQE_STATUS_SHIFT) & AZIHSM_CQE_STATUS_MASK;
		slot->result = azihsm_aes_errno(status);
		if (slot->result && status != AZIHSM_SC_AES_TAG_MISMATCH)
			dev_err_ratelimited(hdev->dev, "AES queue %u: completion status %#x\n",
					    r->qid, status);
		atomic64_inc(&hdev->stats.fast_completed);
		slot->next_done = AZIHSM_AES_DONE_END;
		*tail = cid;
		tail = &slot->next_done;
	}
	return first;
}

/* Softirq: harvest the CQ, ring its head doorbell, complete the commands. */
static void azihsm_aes_tasklet(struct tasklet_struct *t)
{
	struct azihsm_aes_queue *q = from_tasklet(q, t, done_tasklet);
	u16 first;

	spin_lock_irq(&q->ring.lock);
	first = azihsm_aes_process_cq(q);
	if (first != AZIHSM_AES_DONE_END && !q->ring.stopped)
		azihsm_ring_cq_doorbell(&q->ring);
	spin_unlock_irq(&q->ring.lock);
	azihsm_aes_finish(q, first);
}

/* The vector is the queue's own (MSI-X): hand over to the tasklet. */
static irqreturn_t azihsm_aes_irq(int irq, void *data)
{
	struct azihsm_aes_queue *q = data;

	tasklet_schedule(&q->done_tasklet);
	return IRQ_HANDLED;
}

static void azihsm_aes_queue_free(struct azihsm_dev *hdev,
				  struct azihsm_aes_queue *q)
{
	azihsm_ring_free_irq(&q->ring);
	tasklet_kill(&q->done_tasklet);
	if (q->lists)
		dma_free_coherent(hdev->dev, q->lists_size, q->lists, q->lists_dma);
	azihsm_ring_free(&q->ring);
	kfree(q->slots);
	kfree(q);
}

static struct azihsm_aes_queue *azihsm_aes_queue_alloc(struct azihsm_dev *hdev,
						       unsigned int index,
						       u16 depth)
{
	struct azihsm_aes_queue *q;
	unsigned int i;

	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return NULL;
	tasklet_setup(&q->done_tasklet, azihsm_aes_tasklet);
	snprintf(q->ring.irq_name, sizeof(q->ring.irq_name), KBUILD_MODNAME "-aes%u",
		 index);
	if (azihsm_ring_alloc(&q->ring, hdev, AZIHSM_QID_AES_FIRST + index,
			      AZIHSM_MSIX_VEC_AES_FIRST + index, depth,
			      sizeof(struct azihsm_aes_sqe),
			      sizeof(struct azihsm_aes_cqe))) {
		azihsm_aes_queue_free(hdev, q);
		return NULL;
	}
	/* Slot lists, then the 16-byte pad (zeroed by the allocator). */
	q->lists_size = q->ring.nslots * AZIHSM_AES_SLOT_BYTES + AZIHSM_AES_GCM_TAG_LEN;
	q->lists = dma_alloc_coherent(hdev->dev, q->lists_size, &q->lists_dma,
				      GFP_KERNEL);
	q->slots = kcalloc(q->ring.nslots, sizeof(*q->slots), GFP_KERNEL);
	if (!q->lists || !q->slots) {
		azihsm_aes_queue_free(hdev, q);
		return NULL;
	}
	for (i = 0; i < q->ring.nslots; i++) {
		struct azihsm_aes_slot *slot = &q->slots[i];
		size_t off = i * AZIHSM_AES_SLOT_BYTES;

		slot->src_list = q->lists + off;
		slot->src_list_dma = q->lists_dma + off;
		slot->dst_list = q->lists + off + AZIHSM_AES_LIST_BYTES;
		slot->dst_list_dma = q->lists_dma + off + AZIHSM_AES_LIST_BYTES;
	}
	return q;
}

static dma_addr_t azihsm_aes_pad_dma(const struct azihsm_aes_queue *q)
{
	return q->lists_dma + q->ring.nslots * AZIHSM_AES_SLOT_BYTES;
}

/*
 * A queue kept across a reset (issue 9: no allocation in a reset): empty
 * rings, every slot free. The reset failed every command first, so no
 * slot holds one; a submitter that still finds the queue is turned away
 * by the reset generation it read its key ids in.
 */
static void azihsm_aes_queue_recycle(struct azihsm_aes_queue *q)
{
	unsigned int i;

	spin_lock_irq(&q->ring.lock);
	for (i = 0; i < q->ring.nslots; i++) {
		WARN_ON_ONCE(q->slots[i].cmd);
		q->slots[i].cmd = NULL;
	}
	azihsm_ring_reset(&q->ring);
	spin_unlock_irq(&q->ring.lock);
}

/*
 * AES queue @index: reuse the one of the same depth a reset left, or
 * allocate it and hook its vector; then create its CQ then SQ.
 */
int azihsm_aes_queue_create(struct azihsm_dev *hdev, unsigned int index,
			    u16 depth)
{
	struct azihsm_aes_queue *q = hdev->aes[index];
	int ret;

	if (q && q->ring.depth == depth) {
		azihsm_aes_queue_recycle(q);
		goto create;
	}
	if (q)
		azihsm_aes_queues_trim(hdev, index);
	q = azihsm_aes_queue_alloc(hdev, index, depth);
	if (!q) {
		dev_err(hdev->dev, "no memory for AES queue %u\n", index);
		return -ENOMEM;
	}
	ret = azihsm_ring_request_irq(&q->ring, azihsm_aes_irq, q);
	if (ret)
		goto out;
create:
	ret = azihsm_ring_create(&q->ring);
out:
	/* On failure too: the caller's teardown frees it, controller disabled. */
	WRITE_ONCE(hdev->aes[index], q);
	return ret;
}

void azihsm_aes_queues_stop(struct azihsm_dev *hdev)
{
	unsigned int i;

	for (i = 0; i < AZIHSM_AES_QUEUES_MAX; i++) {
		struct azihsm_aes_queue *q = hdev->aes[i];

		if (q)
			azihsm_ring_stop(&q->ring);
	}
}

/*
 * Could the device have written over the command's own input? True when
 * the output overlaps the input in memory: the same scatterlist (in place)
 * or two scatterlists naming the same pages, as dm-crypt's reads do. Only
 * the physical ranges count, so the answer does not depend on how the
 * caller built its lists.
 */
static bool azihsm_aes_overlaps(const struct azihsm_aes_cmd *cmd)
{
	struct scatterlist *s, *d;
	int i, j;

	if (!cmd->text_len)
		return false;
	if (cmd->src == cmd->dst)
		return true;
	for_each_sg(cmd->src, s, cmd->src_nents, i) {
		phys_addr_t s0 = sg_phys(s), s1 = s0 + s->length;

		for_each_sg(cmd->dst, d, cmd->dst_nents, j) {
			phys_addr_t d0 = sg_phys(d), d1 = d0 + d->length;

			if (s0 < d1 && d0 < s1)
				return true;
		}
	}
	return false;
}

/*
 * What a command a reset or removal overtook gets: @err, except that a
 * command whose output overlaps its input is never run again (issue 9:
 * the device may have written part of the output already, so a replay
 * would encrypt or decrypt data that is no longer the input): -EIO.
 */
static int azihsm_aes_fail_err(const struct azihsm_aes_cmd *cmd, int err)
{
	if (err == -EAGAIN && azihsm_aes_overlaps(cmd))
		return -EIO;
	return err;
}

/*
 * With the controller disabled: take the completions it posted before it
 * stopped, then fail every command still in flight with @err (see
 * azihsm_aes_fail_err()).
 */
void azihsm_aes_queues_fail(struct azihsm_dev *hdev, int err)
{
	unsigned int i, j;

	for (i = 0; i < AZIHSM_AES_QUEUES_MAX; i++) {
		struct azihsm_aes_queue *q = hdev->aes[i];
		u16 first, *tail;

		if (!q)
			continue;
		azihsm_ring_sync_irq(&q->ring);
		/* Waits for a running tasklet; a scheduled one runs after. */
		tasklet_disable(&q->done_tasklet);
		spin_lock_irq(&q->ring.lock);
		first = azihsm_aes_process_cq(q);
		for (tail = &first; *tail != AZIHSM_AES_DONE_END;
		     tail = &q->slots[*tail].next_done)
			;
		for (j = 0; j < q->ring.nslots; j++) {
			struct azihsm_aes_slot *slot = &q->slots[j];

			if (!slot->cmd || slot->next_done != AZIHSM_AES_INFLIGHT)
				continue;
			slot->result = azihsm_aes_fail_err(slot->cmd, err);
			slot->next_done = AZIHSM_AES_DONE_END;
			*tail = j;
			tail = &slot->next_done;
		}
		spin_unlock_irq(&q->ring.lock);
		azihsm_aes_finish(q, first);
		tasklet_enable(&q->done_tasklet);
	}
}

/*
 * Free the AES queues from @first on (all of them: no fast path until
 * the bring-up sets nr_aes again): controller disabled, in-flight
 * commands failed.
 */
void azihsm_aes_queues_trim(struct azihsm_dev *hdev, unsigned int first)
{
	struct azihsm_aes_queue *gone[AZIHSM_AES_QUEUES_MAX] = { };
	unsigned int i;

	WRITE_ONCE(hdev->nr_aes, 0);
	for (i = first; i < AZIHSM_AES_QUEUES_MAX; i++) {
		gone[i] = hdev->aes[i];
		WRITE_ONCE(hdev->aes[i], NULL);
	}
	/* Submitters that saw a queue are done with it after this. */
	synchronize_rcu();
	for (i = first; i < AZIHSM_AES_QUEUES_MAX; i++)
		if (gone[i])
			azihsm_aes_queue_free(hdev, gone[i]);
}

void azihsm_aes_queues_destroy(struct azihsm_dev *hdev)
{
	azihsm_aes_queues_trim(hdev, 0);
}

/*
 * Append the descriptors of @len bytes at @off of a mapped scatterlist.
 * Returns the new count, or -E2BIG past @max.
 */
static int azihsm_aes_descs(struct scatterlist *sgl, int mapped, unsigned int off,
			    unsigned int len, struct azihsm_sgl_desc *d, int n,
			    int max)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, mapped, i) {
		unsigned int seg = sg_dma_len(sg), take;

		if (!len)
			break;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		take = min(seg - off, len);
		if (n == max)
			return -E2BIG;
		d[n].addr = cpu_to_le64(sg_dma_address(sg) + off);
		d[n].len = cpu_to_le32(take);
		memset(d[n].rsvd12, 0, sizeof(d[n].rsvd12));
		d[n].type = AZIHSM_SGL_TYPE_DATA << 4;
		n++;
		len -= take;
		off = 0;
	}
	return len ? -EINVAL : n;
}

/* The SQE's descriptor: the one data descriptor, or the list. */
static void azihsm_aes_sqe_desc(struct azihsm_sgl_desc *out,
				const struct azihsm_sgl_desc *list,
				dma_addr_t list_dma, int n)
{
	if (n == 1) {
		*out = list[0];
		return;
	}
	memset(out, 0, sizeof(*out));
	out->addr = cpu_to_le64(list_dma);
	out->len = cpu_to_le32(n * sizeof(*list));
	out->type = AZIHSM_SGL_TYPE_LAST_SEGMENT << 4;
}

static int azihsm_aes_map(struct azihsm_dev *hdev, struct azihsm_aes_cmd *cmd)
{
	unsigned int src_end = max(cmd->aad_len, cmd->text_off + cmd->text_len);
	unsigned int dst_end = cmd->text_off + cmd->text_len;
	bool inplace = cmd->src == cmd->dst;

	cmd->src_mapped = 0;
	cmd->dst_mapped = 0;
	cmd->src_nents = sg_nents_for_len(cmd->src, src_end);
	if (cmd->src_nents <= 0 || cmd->src_nents > AZIHSM_AES_SGL_MAX)
		return -E2BIG;
	if (cmd->text_len && !inplace) {
		cmd->dst_nents = sg_nents_for_len(cmd->dst, dst_end);
		if (cmd->dst_nents <= 0 || cmd->dst_nents > AZIHSM_AES_SGL_MAX)
			return -E2BIG;
	}
	cmd->src_mapped = dma_map_sg(hdev->dev, cmd->src, cmd->src_nents,
				     inplace ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE);
	if (!cmd->src_mapped)
		return -ENOMEM;
	if (cmd->text_len && !inplace) {
		cmd->dst_mapped = dma_map_sg(hdev->dev, cmd->dst, cmd->dst_nents,
					     DMA_FROM_DEVICE);
		if (!cmd->dst_mapped) {
			azihsm_aes_unmap(hdev, cmd);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Build the slot's lists and the SQE's descriptors; with ring.lock held. */
static int azihsm_aes_build(struct azihsm_aes_queue *q, struct azihsm_aes_slot *slot,
			    struct azihsm_aes_cmd *cmd, struct azihsm_aes_sqe *sqe)
{
	struct scatterlist *dst = cmd->src == cmd->dst ? cmd->src : cmd->dst;
	int dst_mapped = cmd->src == cmd->dst ? cmd->src_mapped : cmd->dst_mapped;
	struct azihsm_sgl_desc *d = slot->src_list;
	int n = 0;

	if (cmd->aad_len)
		n = azihsm_aes_descs(cmd->src, cmd->src_mapped, 0, cmd->aad_len, d, n,
				     AZIHSM_AES_SGL_MAX);
	if (n >= 0 && cmd->pad) {
		if (n == AZIHSM_AES_SGL_MAX)
			return -E2BIG;
		memset(&d[n], 0, sizeof(d[n]));
		d[n].addr = cpu_to_le64(azihsm_aes_pad_dma(q));
		d[n].len = cpu_to_le32(cmd->pad);
		d[n].type = AZIHSM_SGL_TYPE_DATA << 4;
		n++;
	}
	if (n >= 0 && cmd->text_len)
		n = azihsm_aes_descs(cmd->src, cmd->src_mapped, cmd->text_off,
				     cmd->text_len, d, n, AZIHSM_AES_SGL_MAX);
	if (n <= 0)
		return n ? n : -EINVAL;
	azihsm_aes_sqe_desc(&sqe->src, d, slot->src_list_dma, n);

	memset(&sqe->dst, 0, sizeof(sqe->dst));
	if (!cmd->text_len)
		return 0;
	d = slot->dst_list;
	n = azihsm_aes_descs(dst, dst_mapped, cmd->text_off, cmd->text_len, d, 0,
			     AZIHSM_AES_SGL_MAX);
	if (n <= 0)
		return n ? n : -EINVAL;
	azihsm_aes_sqe_desc(&sqe->dst, d, slot->dst_list_dma, n);
	return 0;
}

/*
 * Put @cmd on the calling CPU's AES queue. 0: @done will run. Otherwise
 * nothing happened and the caller uses the control path: no AES queue, a
 * reset since @gen (the session's key ids are stale), no free slot, or a
 * request the SGLs cannot describe.
 */
int azihsm_aes_submit(struct azihsm_dev *hdev, struct azihsm_aes_cmd *cmd, s64 gen)
{
	struct azihsm_aes_queue *q;
	struct azihsm_aes_slot *slot;
	struct azihsm_aes_sqe *sqe;
	unsigned int n;
	unsigned long flags;
	int ret;

	if (!READ_ONCE(hdev->nr_aes))
		return -EOPNOTSUPP;
	ret = azihsm_aes_map(hdev, cmd);
	if (ret)
		return ret;
	rcu_read_lock();
	n = READ_ONCE(hdev->nr_aes);
	q = n ? READ_ONCE(hdev->aes[raw_smp_processor_id() % n]) : NULL;
	ret = -EAGAIN;
	if (!q)
		goto out;
	spin_lock_irqsave(&q->ring.lock, flags);
	if (q->ring.stopped || READ_ONCE(hdev->state) != AZIHSM_STATE_READY ||
	    atomic64_read(&hdev->stats.resets) != gen || !q->ring.nfree)
		goto out_unlock;
	slot = &q->slots[q->ring.free[q->ring.nfree - 1]];
	sqe = azihsm_ring_sqe(&q->ring);
	*sqe = cmd->sqe;
	ret = azihsm_aes_build(q, slot, cmd, sqe);
	if (ret)
		goto out_unlock;
	q->ring.nfree--;
	sqe->cmd_id = cpu_to_le16(slot - q->slots);
	slot->cmd = cmd;
	slot->next_done = AZIHSM_AES_INFLIGHT;	/* in flight */
	slot->deadline = jiffies +
		msecs_to_jiffies(clamp(READ_ONCE(azihsm_cmd_timeout_ms), 1u,
				       (unsigned int)AZIHSM_CMD_TIMEOUT_MAX_MS));
	atomic64_inc(&hdev->stats.fast_submitted);
	/* Orders the lists and the SQE before the doorbell. */
	azihsm_ring_sq_push(&q->ring);
out_unlock:
	spin_unlock_irqrestore(&q->ring.lock, flags);
out:
	rcu_read_unlock();
	if (ret)
		azihsm_aes_unmap(hdev, cmd);
	return ret;
}

/*
 * The fast path's watchdog (issue 9: a command the device never completes
 * must not hang its caller): true when a command has been in flight longer
 * than cmd_timeout_ms. The health monitor asks every period and resets the
 * controller then, which fails what is in flight. A queue whose CQ holds a
 * completion nobody harvested (its interrupt was lost) is harvested
 * instead (missed_irqs) and its commands are not late this period.
 */
bool azihsm_aes_queues_expired(struct azihsm_dev *hdev)
{
	unsigned long flags, now = jiffies;
	unsigned int i, j, m, n = 0;
	bool pending;

	rcu_read_lock();
	for (i = 0; i < AZIHSM_AES_QUEUES_MAX; i++) {
		struct azihsm_aes_queue *q = READ_ONCE(hdev->aes[i]);

		if (!q)
			continue;
		spin_lock_irqsave(&q->ring.lock, flags);
		for (m = 0, j = 0; j < q->ring.nslots; j++) {
			struct azihsm_aes_slot *slot = &q->slots[j];

			if (slot->cmd && slot->next_done == AZIHSM_AES_INFLIGHT &&
			    time_after(now, slot->deadline))
				m++;
		}
		pending = m && !q->ring.stopped && azihsm_ring_cq_pending(&q->ring);
		spin_unlock_irqrestore(&q->ring.lock, flags);
		if (pending) {
			atomic64_inc(&hdev->stats.missed_irqs);
			tasklet_schedule(&q->done_tasklet);
			continue;
		}
		n += m;
	}
	rcu_read_unlock();
	if (n)
		atomic64_add(n, &hdev->stats.fast_timed_out);
	return n;
}
