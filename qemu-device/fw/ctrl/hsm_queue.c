// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Submission queue workers. Each created SQ has one thread: it sleeps until
 * the tail doorbell moves, fetches the entry, runs it with the controller
 * lock dropped (so a slow command never blocks the vCPU or other queues),
 * then posts the completion to the SQ's CQ, waiting while that CQ is full.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hsm_ctrl_int.h"

union hsm_any_sqe {
	struct azihsm_admin_sqe admin;
	struct azihsm_hsm_sqe hsm;
	struct azihsm_aes_sqe aes;
};

union hsm_any_cqe {
	struct azihsm_admin_cqe admin;
	struct azihsm_hsm_cqe hsm;
	struct azihsm_aes_cqe aes;
};

static size_t sqe_size(enum hsm_queue_kind k)
{
	return k == HSM_Q_AES ? sizeof(struct azihsm_aes_sqe) : 64;
}

static size_t cqe_size(enum hsm_queue_kind k)
{
	return k == HSM_Q_AES ? sizeof(struct azihsm_aes_cqe) : 16;
}

/* Run one entry; lock NOT held. */
static void sq_execute(struct hsm_ctrl *c, enum hsm_queue_kind kind, uint16_t qid,
		       const union hsm_any_sqe *sqe, union hsm_any_cqe *cqe, bool *deferred)
{
	uint16_t status = 0;
	uint32_t result = 0;

	memset(cqe, 0, sizeof(*cqe));
	switch (kind) {
	case HSM_Q_ADMIN:
		hsm_admin_execute(c, &sqe->admin, &result, &status, deferred);
		cqe->admin.result = htole32(result);
		cqe->admin.cid = sqe->admin.cid;
		cqe->admin.status = htole16((uint16_t)(status << AZIHSM_CQE_STATUS_SHIFT));
		break;
	case HSM_Q_HSM:
		hsm_io_execute_hsm(c, qid, &sqe->hsm, &cqe->hsm);
		cqe->hsm.cid = htole16((uint16_t)(le32toh(sqe->hsm.dw0) >> AZIHSM_HSQE_CID_SHIFT));
		break;
	case HSM_Q_AES:
		hsm_io_execute_aes(c, &sqe->aes, &cqe->aes);
		break;
	}
}

/*
 * Post @cqe for @sq (lock held). The entry goes out in two writes, status
 * word last, so a driver polling the phase bit never sees a half-written
 * entry. Returns false if the SQ was stopped while waiting for CQ space.
 */
static bool sq_post(struct hsm_ctrl *c, struct hsm_sq *sq, union hsm_any_cqe *cqe)
{
	struct hsm_cq *cq = sq->cq;
	size_t size = cqe_size(sq->kind);
	uint8_t *raw = (uint8_t *)cqe;
	uint16_t status;	/* last two bytes of every CQE kind */
	uint64_t addr;

	while (!sq->stop && c->running && (cq->tail + 1) % cq->entries == cq->head)
		pthread_cond_wait(&c->cq_space, &c->lock);
	if (sq->stop || !c->running)
		return false;

	if (sq->kind == HSM_Q_AES) {
		cqe->aes.sq_head = htole16((uint16_t)sq->head);
		cqe->aes.sq_id = htole16(sq->qid);
	} else {
		/* Admin and HSM CQEs share the tail layout. */
		cqe->admin.sq_head = htole16((uint16_t)sq->head);
		cqe->admin.sq_id = htole16(sq->qid);
	}
	memcpy(&status, raw + size - 2, 2);
	status |= htole16(cq->phase ? AZIHSM_CQE_PHASE : 0);
	memcpy(raw + size - 2, &status, 2);

	addr = cq->base + (uint64_t)cq->tail * size;
	if (c->ops->dma_write(c->opaque, addr, cqe, size - 2)) {
		hsm_ctrl_fatal(c, "completion queue is not guest RAM");
		return false;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (c->ops->dma_write(c->opaque, addr + size - 2, raw + size - 2, 2)) {
		hsm_ctrl_fatal(c, "completion queue is not guest RAM");
		return false;
	}
	cq->tail = (cq->tail + 1) % cq->entries;
	if (!cq->tail)
		cq->phase = !cq->phase;
	if (sq->kind != HSM_Q_ADMIN && c->fault[HSM_FAULT_DROP_IRQ]) {
		/* Test-only fault: the entry is there, the interrupt is not. */
		c->fault[HSM_FAULT_DROP_IRQ]--;
		c->faults_injected++;
	} else if (cq->ien) {
		c->ops->irq(c->opaque, cq->vector);
	}
	return true;
}

/* Test-only faults on an I/O command (lock held): fail it unrun? */
static bool sq_fault_fail(struct hsm_ctrl *c, enum hsm_queue_kind kind)
{
	if (kind == HSM_Q_ADMIN || !c->fault[HSM_FAULT_FAIL])
		return false;
	c->fault[HSM_FAULT_FAIL]--;
	c->faults_injected++;
	return true;
}

/* The answer of an I/O command failed by the test-only fault: INTERNAL, nothing run. */
static void sq_fault_cqe(enum hsm_queue_kind kind, const union hsm_any_sqe *sqe,
			 union hsm_any_cqe *cqe)
{
	uint16_t st = htole16((uint16_t)(AZIHSM_SC_INTERNAL << AZIHSM_CQE_STATUS_SHIFT));

	memset(cqe, 0, sizeof(*cqe));
	if (kind == HSM_Q_AES) {
		cqe->aes.attr = sqe->aes.attr;
		cqe->aes.cmd_id = sqe->aes.cmd_id;
		cqe->aes.status = st;
	} else {
		cqe->hsm.cid = htole16((uint16_t)(le32toh(sqe->hsm.dw0) >> AZIHSM_HSQE_CID_SHIFT));
		cqe->hsm.status = st;
	}
}

/*
 * Test-only fault (lock held, dropped while waiting): hold this I/O
 * completion back DELAY_MS once. False if the SQ was stopped meanwhile.
 */
static bool sq_fault_delay(struct hsm_ctrl *c, struct hsm_sq *sq)
{
	struct timespec until;
	uint32_t ms = c->fault[HSM_FAULT_DELAY_MS];

	if (sq->kind == HSM_Q_ADMIN || !ms)
		return true;
	c->fault[HSM_FAULT_DELAY_MS] = 0;
	c->faults_injected++;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (!sq->stop && c->running &&
	       pthread_cond_timedwait(&sq->wake, &c->lock, &until) != ETIMEDOUT)
		;
	return !sq->stop;
}

bool hsm_admin_post(struct hsm_ctrl *c, uint16_t cid, uint32_t dw0)
{
	struct hsm_sq *sq = &c->sq[0];
	union hsm_any_cqe cqe;

	if (!c->running || !sq->created || !sq->cq ||
	    (sq->cq->tail + 1) % sq->cq->entries == sq->cq->head)
		return false;
	memset(&cqe, 0, sizeof(cqe));
	cqe.admin.result = htole32(dw0);
	cqe.admin.cid = htole16(cid);
	return sq_post(c, sq, &cqe);
}

static void *sq_worker(void *arg)
{
	struct hsm_sq *sq = arg;
	struct hsm_ctrl *c = sq->ctrl;
	union hsm_any_sqe sqe;
	union hsm_any_cqe cqe;
	enum hsm_queue_kind kind;
	bool deferred;
	uint64_t addr;
	uint16_t qid;
	bool fail;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!sq->stop && (!c->running || sq->head == sq->tail))
			pthread_cond_wait(&sq->wake, &c->lock);
		if (sq->stop)
			break;
		kind = sq->kind;
		qid = sq->qid;
		addr = sq->base + (uint64_t)sq->head * sqe_size(kind);
		if (kind == HSM_Q_AES && c->fault[HSM_FAULT_AES_STALL] &&
		    ++c->aes_fetched == c->fault[HSM_FAULT_AES_STALL]) {
			/* Test-only fault: consumed, never completed. */
			sq->head = (sq->head + 1) % sq->entries;
			c->faults_injected++;
			continue;
		}
		fail = sq_fault_fail(c, kind);
		pthread_mutex_unlock(&c->lock);

		memset(&sqe, 0, sizeof(sqe));
		if (c->ops->dma_read(c->opaque, addr, &sqe, sqe_size(kind))) {
			pthread_mutex_lock(&c->lock);
			hsm_ctrl_fatal(c, "submission queue is not guest RAM");
			continue;
		}
		deferred = false;
		if (fail)
			sq_fault_cqe(kind, &sqe, &cqe);
		else
			sq_execute(c, kind, qid, &sqe, &cqe, &deferred);

		pthread_mutex_lock(&c->lock);
		if (sq->stop || !sq_fault_delay(c, sq))
			break;	/* deleted meanwhile: the completion is dropped */
		sq->head = (sq->head + 1) % sq->entries;
		if (!deferred)
			sq_post(c, sq, &cqe);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int hsm_sq_start(struct hsm_ctrl *c, struct hsm_sq *sq)
{
	sq->ctrl = c;
	sq->stop = false;
	if (pthread_create(&sq->thread, NULL, sq_worker, sq))
		return -1;
	sq->thread_live = true;
	return 0;
}

pthread_t hsm_sq_detach(struct hsm_ctrl *c, struct hsm_sq *sq, bool *joinable)
{
	sq->stop = true;
	pthread_cond_broadcast(&sq->wake);
	pthread_cond_broadcast(&c->cq_space);
	*joinable = sq->thread_live;
	sq->thread_live = false;
	sq->created = false;
	if (sq->cq) {
		sq->cq->sq_refs--;
		sq->cq = NULL;
	}
	return sq->thread;
}

void hsm_queues_teardown(struct hsm_ctrl *c)
{
	pthread_t threads[HSM_QSLOTS];
	unsigned int n = 0, i;
	bool joinable;

	pthread_mutex_lock(&c->lock);
	c->running = false;
	for (i = 0; i < HSM_QSLOTS; i++) {
		pthread_t t = hsm_sq_detach(c, &c->sq[i], &joinable);

		if (joinable)
			threads[n++] = t;
	}
	pthread_mutex_unlock(&c->lock);

	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < HSM_QSLOTS; i++) {
		struct hsm_sq *sq = &c->sq[i];

		sq->base = 0;
		sq->entries = 0;
		sq->head = 0;
		sq->tail = 0;
		sq->stop = false;
		memset(&c->cq[i], 0, sizeof(c->cq[i]));
	}
	c->hsm_granted = 0;
	c->aes_granted = 0;
	pthread_mutex_unlock(&c->lock);
}
