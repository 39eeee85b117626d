// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm rings: what an HSM queue (queue.c) and an AES fast-path queue
 * (aes_queue.c) have in common. One SQ and one CQ in coherent memory,
 * their indices and the CQ phase, the stack of free command ids (a ring
 * of depth D has D - 1, so the CQ can never overflow), the MSI-X vector
 * and the stopped flag, all under one lock. The queues add their own
 * command slots and completion handling on top.
 *
 * Entries are opaque here, only their sizes are known; both completion
 * formats end in the phase/status word (static_asserts in the queues).
 */
#include <linux/dma-mapping.h>
#include <linux/cpumask.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "azihsm.h"

/*
 * Allocate the rings and the free-id stack of the ring @qid with @depth
 * entries of @sqe_size and @cqe_size bytes, on MSI-X vector @vector.
 * -ENOMEM leaves what was allocated for azihsm_ring_free().
 */
int azihsm_ring_alloc(struct azihsm_ring *r, struct azihsm_dev *hdev, u16 qid,
		      u16 vector, u16 depth, size_t sqe_size, size_t cqe_size)
{
	unsigned int i;

	r->dev = hdev;
	spin_lock_init(&r->lock);
	r->qid = qid;
	r->vector = vector;
	r->depth = depth;
	r->nslots = depth - 1;
	r->sqe_size = sqe_size;
	r->cqe_size = cqe_size;
	r->cq_phase = 1;

	r->sq = dma_alloc_coherent(hdev->dev, depth * sqe_size, &r->sq_dma,
				   GFP_KERNEL);
	r->cq = dma_alloc_coherent(hdev->dev, depth * cqe_size, &r->cq_dma,
				   GFP_KERNEL);
	r->free = kcalloc(r->nslots, sizeof(*r->free), GFP_KERNEL);
	if (!r->sq || !r->cq || !r->free)
		return -ENOMEM;
	/* Lowest id on top of the stack. */
	for (i = 0; i < r->nslots; i++)
		r->free[r->nslots - 1 - i] = i;
	r->nfree = r->nslots;
	return 0;
}

/*
 * Send the ring's completions to the CPU that submits to it: I/O rings
 * are picked by CPU (raw_smp_processor_id() % the number of rings of the
 * kind), so ring i serves CPU i first. Left to the default, vectors land
 * on any CPU, and a completion then takes a cross-CPU wake-up; under
 * single-threaded TCG it waits until the other vCPU's turn comes
 * (Documentation/benchmarks.md, issue 13). Best effort: on failure (CPU
 * offline) the default affinity stays.
 */
static bool azihsm_irq_affinity = true;
module_param_named(irq_affinity, azihsm_irq_affinity, bool, 0444);
MODULE_PARM_DESC(irq_affinity,
		 "Bind I/O ring i's interrupt to CPU i, the CPU that submits to it (default true)");

static void azihsm_ring_irq_affinity(struct azihsm_ring *r)
{
	unsigned int index, cpu;

	if (!azihsm_irq_affinity)
		return;
	if (r->qid >= AZIHSM_QID_AES_FIRST)
		index = r->qid - AZIHSM_QID_AES_FIRST;
	else if (r->qid >= AZIHSM_QID_HSM_FIRST)
		index = r->qid - AZIHSM_QID_HSM_FIRST;
	else
		return;
	cpu = index % nr_cpu_ids;
	if (!cpu_online(cpu) ||
	    irq_set_affinity(pci_irq_vector(r->dev->pdev, r->vector), cpumask_of(cpu)))
		dev_dbg(r->dev->dev, "queue %u: interrupt left on its default CPUs\n", r->qid);
}

/* Hook the ring's vector to @handler(@data). */
int azihsm_ring_request_irq(struct azihsm_ring *r, irq_handler_t handler,
			    void *data)
{
	int ret;

	ret = request_irq(pci_irq_vector(r->dev->pdev, r->vector), handler, 0,
			  r->irq_name, data);
	if (ret) {
		dev_err(r->dev->dev, "cannot request vector %u: %d\n", r->vector, ret);
		return ret;
	}
	r->irq_data = data;
	r->irq_requested = true;
	azihsm_ring_irq_affinity(r);
	return 0;
}

/* Unhook the vector: no handler runs for this ring after it. */
void azihsm_ring_free_irq(struct azihsm_ring *r)
{
	if (!r->irq_requested)
		return;
	free_irq(pci_irq_vector(r->dev->pdev, r->vector), r->irq_data);
	r->irq_requested = false;
}

/* Wait for a running handler of the ring's vector. */
void azihsm_ring_sync_irq(struct azihsm_ring *r)
{
	if (r->irq_requested)
		synchronize_irq(pci_irq_vector(r->dev->pdev, r->vector));
}

/* Free what azihsm_ring_alloc() allocated (controller disabled, irq freed). */
void azihsm_ring_free(struct azihsm_ring *r)
{
	struct azihsm_dev *hdev = r->dev;

	if (r->cq)
		dma_free_coherent(hdev->dev, r->depth * r->cqe_size, r->cq, r->cq_dma);
	if (r->sq)
		dma_free_coherent(hdev->dev, r->depth * r->sqe_size, r->sq, r->sq_dma);
	kfree(r->free);
	r->cq = NULL;
	r->sq = NULL;
	r->free = NULL;
}

/*
 * Empty rings, every id free, not stopped: a ring kept across a reset
 * (issue 9: a reset allocates nothing). With r->lock held and the
 * controller disabled.
 */
void azihsm_ring_reset(struct azihsm_ring *r)
{
	unsigned int i;

	memset(r->sq, 0, r->depth * r->sqe_size);
	memset(r->cq, 0, r->depth * r->cqe_size);
	r->sq_tail = 0;
	r->sq_head = 0;
	r->cq_head = 0;
	r->cq_phase = 1;
	for (i = 0; i < r->nslots; i++)
		r->free[r->nslots - 1 - i] = i;
	r->nfree = r->nslots;
	r->stopped = false;
}

/* Tell the device about the ring: its CQ, then its SQ. */
int azihsm_ring_create(struct azihsm_ring *r)
{
	int ret;

	ret = azihsm_admin_create_cq(r->dev, r->qid, r->depth, r->vector, r->cq_dma);
	if (ret)
		return ret;
	return azihsm_admin_create_sq(r->dev, r->qid, r->depth, r->sq_dma);
}

/* Nothing more goes on the ring. */
void azihsm_ring_stop(struct azihsm_ring *r)
{
	spin_lock_irq(&r->lock);
	r->stopped = true;
	spin_unlock_irq(&r->lock);
}

/*
 * The next completion the device posted, or NULL; the CQ head moves past
 * it. With r->lock held. The entry is read only after its phase bit.
 */
void *azihsm_ring_next_cqe(struct azihsm_ring *r)
{
	void *cqe = r->cq + (size_t)r->cq_head * r->cqe_size;
	__le16 *status = cqe + r->cqe_size - sizeof(__le16);

	if ((le16_to_cpu(READ_ONCE(*status)) & AZIHSM_CQE_PHASE) != r->cq_phase)
		return NULL;
	dma_rmb();
	if (++r->cq_head == r->depth) {
		r->cq_head = 0;
		r->cq_phase ^= 1;
	}
	return cqe;
}

/*
 * Whether the device posted a completion not yet read (a lost interrupt
 * when nobody is processing the CQ); with r->lock held. Moves nothing.
 */
bool azihsm_ring_cq_pending(const struct azihsm_ring *r)
{
	const void *cqe = r->cq + (size_t)r->cq_head * r->cqe_size;
	const __le16 *status = cqe + r->cqe_size - sizeof(__le16);

	return (le16_to_cpu(READ_ONCE(*status)) & AZIHSM_CQE_PHASE) == r->cq_phase;
}

/* Tell the device how far the CQ was read; with r->lock held. */
void azihsm_ring_cq_doorbell(struct azihsm_ring *r)
{
	writel(r->cq_head, r->dev->db + AZIHSM_DB_CQ_HEAD(r->qid));
}

/*
 * Hand the SQE at the tail (filled by the caller) to the device; with
 * r->lock held. writel orders the entry and what it points to before the
 * doorbell.
 */
void azihsm_ring_sq_push(struct azihsm_ring *r)
{
	r->sq_tail = (r->sq_tail + 1) % r->depth;
	writel(r->sq_tail, r->dev->db + AZIHSM_DB_SQ_TAIL(r->qid));
}
