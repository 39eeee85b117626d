// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Submission queue workers. Each created SQ has one thread: it sleeps until
 * the tail doorbell moves, fetches the entry, runs it with the controller
 * lock dropped (so a slow command never blocks the vCPU or other queues),
 * then posts the completion to the SQ's CQ, waiting while that CQ is full.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

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

/* ---- perf trace (hsm_ctrl.h, enum hsm_perf_stage) ------------------------ */

uint64_t hsm_perf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hsm_perf_record(struct hsm_ctrl *c, enum hsm_perf_stage stage, uint64_t since,
		     uint64_t now)
{
	struct hsm_perf_hist *h = &c->perf[stage];
	uint64_t ns, us;
	unsigned int b = 0;

	if (!c->perf_on || !since || now < since)
		return;
	ns = now - since;
	for (us = ns / 1000; us && b < HSM_PERF_BUCKETS - 1; us >>= 1)
		b++;
	h->n++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->bucket[b]++;
}

void hsm_ctrl_perf_enable(struct hsm_ctrl *c, bool on)
{
	unsigned int i;

	pthread_mutex_lock(&c->lock);
	memset(c->perf, 0, sizeof(c->perf));
	for (i = 0; i < HSM_QSLOTS; i++) {
		c->sq[i].perf_db_ns = 0;
		c->cq[i].perf_db_ns = 0;
		c->cq[i].perf_raise_ns = 0;
		c->cq[i].perf_sent_ns = 0;
		c->cq[i].perf_head_ns = 0;
	}
	c->perf_on = on;
	pthread_mutex_unlock(&c->lock);
}

bool hsm_ctrl_perf_enabled(struct hsm_ctrl *c)
{
	bool on;

	pthread_mutex_lock(&c->lock);
	on = c->perf_on;
	pthread_mutex_unlock(&c->lock);
	return on;
}

/* @cq's interrupt went out at @now (lock held). */
static void perf_cq_sent(struct hsm_ctrl *c, struct hsm_cq *cq, uint64_t now)
{
	if (!cq->perf_raise_ns)
		return;
	hsm_perf_record(c, HSM_PERF_IRQ, cq->perf_raise_ns, now);
	hsm_perf_record(c, HSM_PERF_DEVICE, cq->perf_db_ns, now);
	cq->perf_raise_ns = 0;
	cq->perf_db_ns = 0;
	cq->perf_sent_ns = now;
}

void hsm_ctrl_perf_irq_sent(struct hsm_ctrl *c, unsigned int vector)
{
	uint64_t now;
	unsigned int i;

	pthread_mutex_lock(&c->lock);
	if (!c->perf_on) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	now = hsm_perf_now();
	/* Slot 0 is the admin queue: not traced. */
	for (i = 1; i < HSM_QSLOTS; i++)
		if (c->cq[i].created && c->cq[i].vector == vector)
			perf_cq_sent(c, &c->cq[i], now);
	pthread_mutex_unlock(&c->lock);
}

char *hsm_ctrl_perf_report(struct hsm_ctrl *c)
{
	static const char *const names[HSM_PERF_NR] = {
		[HSM_PERF_WAKE] = "sq-doorbell->worker",
		[HSM_PERF_EXEC] = "worker-execute",
		[HSM_PERF_POST] = "done->cqe+irq-raised",
		[HSM_PERF_IRQ] = "irq-raised->msix-sent",
		[HSM_PERF_GUEST_IRQ] = "msix-sent->cq-doorbell",
		[HSM_PERF_GUEST_NEXT] = "cq-doorbell->next-sq-db",
		[HSM_PERF_DEVICE] = "sq-doorbell->msix-sent",
	};
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	unsigned int i, b;

	if (!buf)
		return NULL;
#define PERF_OUT(...) \
	do { \
		int k_ = snprintf(buf + len, cap - len, __VA_ARGS__); \
		if (k_ > 0) \
			len = len + (size_t)k_ < cap ? len + (size_t)k_ : cap - 1; \
	} while (0)
	pthread_mutex_lock(&c->lock);
	PERF_OUT("%-24s %8s %9s %9s  histogram: count per [2^(k-1),2^k) us, k=0..%d\n",
		 "stage", "n", "mean_us", "max_us", HSM_PERF_BUCKETS - 1);
	for (i = 0; i < HSM_PERF_NR; i++) {
		const struct hsm_perf_hist *h = &c->perf[i];

		PERF_OUT("%-24s %8" PRIu64 " %9.1f %9.1f ", names[i], h->n,
			 h->n ? (double)h->sum_ns / (double)h->n / 1000.0 : 0.0,
			 (double)h->max_ns / 1000.0);
		for (b = 0; b < HSM_PERF_BUCKETS; b++)
			PERF_OUT(" %" PRIu64, h->bucket[b]);
		PERF_OUT("\n");
	}
	pthread_mutex_unlock(&c->lock);
#undef PERF_OUT
	return buf;
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
		hsm_io_execute_hsm(c, qid, &sqe->hsm, &cqe->hsm, NULL);
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
static bool sq_post(struct hsm_ctrl *c, struct hsm_sq *sq, union hsm_any_cqe *cqe,
		    uint64_t perf_db)
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
		if (c->perf_on && sq->kind != HSM_Q_ADMIN) {
			cq->perf_raise_ns = hsm_perf_now();
			cq->perf_db_ns = perf_db;
		}
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
	return sq_post(c, sq, &cqe, 0);
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
	uint64_t perf_db, perf_t;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!sq->stop && (!c->running || sq->head == sq->tail || sq->inline_run))
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
		sq->busy = true;
		/* Perf trace: only an entry rung onto an idle queue is timed. */
		perf_db = sq->perf_db_ns;
		sq->perf_db_ns = 0;
		perf_t = 0;
		if (c->perf_on && perf_db) {
			perf_t = hsm_perf_now();
			hsm_perf_record(c, HSM_PERF_WAKE, perf_db, perf_t);
		}
		pthread_mutex_unlock(&c->lock);

		memset(&sqe, 0, sizeof(sqe));
		if (c->ops->dma_read(c->opaque, addr, &sqe, sqe_size(kind))) {
			pthread_mutex_lock(&c->lock);
			sq->busy = false;
			hsm_ctrl_fatal(c, "submission queue is not guest RAM");
			continue;
		}
		deferred = false;
		if (fail)
			sq_fault_cqe(kind, &sqe, &cqe);
		else
			sq_execute(c, kind, qid, &sqe, &cqe, &deferred);

		if (perf_t) {
			uint64_t now = hsm_perf_now();

			pthread_mutex_lock(&c->lock);
			hsm_perf_record(c, HSM_PERF_EXEC, perf_t, now);
			perf_t = now;
		} else {
			pthread_mutex_lock(&c->lock);
		}
		if (sq->stop || !sq_fault_delay(c, sq)) {
			sq->busy = false;
			break;	/* deleted meanwhile: the completion is dropped */
		}
		sq->head = (sq->head + 1) % sq->entries;
		if (!deferred) {
			sq_post(c, sq, &cqe, perf_t ? perf_db : 0);
			if (perf_t)
				hsm_perf_record(c, HSM_PERF_POST, perf_t, hsm_perf_now());
		}
		sq->busy = false;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void hsm_ctrl_set_inline(struct hsm_ctrl *c, bool on)
{
	pthread_mutex_lock(&c->lock);
	c->inline_on = on;
	pthread_mutex_unlock(&c->lock);
}

uint64_t hsm_ctrl_inline_count(struct hsm_ctrl *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->inline_count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Whether inline execution may take the next entry of @sq (lock held). */
static bool sq_inline_ok(struct hsm_ctrl *c, struct hsm_sq *sq, uint32_t val)
{
	struct hsm_cq *cq = sq->cq;
	unsigned int i;

	if (!c->inline_on || !c->running || sq->kind == HSM_Q_ADMIN || sq->stop ||
	    sq->busy || sq->inline_run || !sq->thread_live || sq->head != sq->tail ||
	    val != (sq->tail + 1) % sq->entries || !cq || !cq->created ||
	    (cq->tail + 1) % cq->entries == cq->head)
		return false;
	/* Test-only faults act on the worker's path alone. */
	for (i = 0; i < HSM_FAULT_NR; i++)
		if (c->fault[i])
			return false;
	return true;
}

bool hsm_sq_inline(struct hsm_ctrl *c, struct hsm_sq *sq, uint32_t val)
{
	enum hsm_queue_kind kind = sq->kind;
	uint64_t addr = sq->base + (uint64_t)sq->head * sqe_size(kind);
	uint32_t old_tail = sq->tail;
	unsigned int gen = sq->gen;
	uint64_t perf_db = 0, perf_t = 0, now;
	union hsm_any_sqe sqe;
	union hsm_any_cqe cqe;
	bool declined = false;

	if (!sq_inline_ok(c, sq, val))
		return false;
	if (c->perf_on) {
		perf_db = sq->perf_db_ns;
		perf_t = hsm_perf_now();
	}
	sq->inline_run = true;
	pthread_mutex_unlock(&c->lock);

	memset(&sqe, 0, sizeof(sqe));
	memset(&cqe, 0, sizeof(cqe));
	if (c->ops->dma_read(c->opaque, addr, &sqe, sqe_size(kind))) {
		declined = true;	/* the worker finds it and fails the controller */
	} else if (kind == HSM_Q_AES) {
		if (le32toh(sqe.aes.src_len) > HSM_INLINE_AES_MAX)
			declined = true;
		else
			hsm_io_execute_aes(c, &sqe.aes, &cqe.aes);
	} else {
		hsm_io_execute_hsm(c, sq->qid, &sqe.hsm, &cqe.hsm, &declined);
		cqe.hsm.cid = htole16((uint16_t)(le32toh(sqe.hsm.dw0) >> AZIHSM_HSQE_CID_SHIFT));
	}
	OPENSSL_cleanse(&sqe, sizeof(sqe));

	pthread_mutex_lock(&c->lock);
	sq->inline_run = false;
	if (sq->gen != gen) {
		/* Deleted (and maybe created anew) meanwhile: drop it. */
		OPENSSL_cleanse(&cqe, sizeof(cqe));
		pthread_cond_signal(&sq->wake);
		return true;
	}
	/* Another doorbell may have moved the tail meanwhile (not in QEMU). */
	if (sq->tail == old_tail)
		sq->tail = val;
	if (declined) {
		pthread_cond_signal(&sq->wake);	/* the worker runs it */
		return true;
	}
	if (sq->stop || !c->running) {
		OPENSSL_cleanse(&cqe, sizeof(cqe));
		return true;
	}
	sq->perf_db_ns = 0;
	sq->head = (sq->head + 1) % sq->entries;
	c->inline_count++;
	if (perf_t) {
		hsm_perf_record(c, HSM_PERF_WAKE, perf_db, perf_t);
		now = hsm_perf_now();
		hsm_perf_record(c, HSM_PERF_EXEC, perf_t, now);
		perf_t = now;
	}
	if (sq_post(c, sq, &cqe, perf_db) && perf_t) {
		now = hsm_perf_now();
		hsm_perf_record(c, HSM_PERF_POST, perf_t, now);
		/* The host sent the interrupt from this thread, at once. */
		perf_cq_sent(c, sq->cq, now);
	}
	OPENSSL_cleanse(&cqe, sizeof(cqe));
	if (sq->head != sq->tail)
		pthread_cond_signal(&sq->wake);
	return true;
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
	sq->gen++;
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
