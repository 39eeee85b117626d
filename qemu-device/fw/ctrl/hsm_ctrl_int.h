/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware core internals: controller, queues, workers.
 * Only the firmware core sources and the host unit tests include this.
 */
#ifndef HSM_CTRL_INT_H
#define HSM_CTRL_INT_H

#include <pthread.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_ctrl.h"
#include "hsm_fw.h"

enum hsm_queue_kind {
	HSM_Q_ADMIN,
	HSM_Q_HSM,	/* control path: 64-byte SQE, 16-byte CQE */
	HSM_Q_AES,	/* fast path: 128-byte SQE, 64-byte CQE */
};

struct hsm_cq {
	bool created;
	enum hsm_queue_kind kind;
	uint16_t qid;
	uint64_t base;
	uint32_t entries;
	uint32_t tail;		/* next slot the device writes */
	uint32_t head;		/* last value from the head doorbell */
	bool phase;		/* phase the device writes on this pass */
	bool ien;
	uint16_t vector;
	unsigned int sq_refs;
	/* perf trace (hsm_perf_*): CLOCK_MONOTONIC ns, 0 = none */
	uint64_t perf_db_ns;	/* SQ doorbell of the entry just posted */
	uint64_t perf_raise_ns;	/* its interrupt raised */
	uint64_t perf_sent_ns;	/* the host sent it (hsm_ctrl_perf_irq_sent) */
	uint64_t perf_head_ns;	/* the driver's last head doorbell after that */
};

struct hsm_sq {
	bool created;
	enum hsm_queue_kind kind;
	uint16_t qid;
	uint64_t base;
	uint32_t entries;
	uint32_t head;		/* next entry the device reads */
	uint32_t tail;		/* last value from the tail doorbell */
	struct hsm_cq *cq;
	bool stop;		/* worker must exit */
	bool thread_live;
	pthread_t thread;
	pthread_cond_t wake;	/* doorbell written or stop set */
	struct hsm_ctrl *ctrl;
	uint64_t perf_db_ns;	/* perf trace: tail doorbell onto an idle SQ */
	bool busy;		/* the worker holds an entry (fetched, not posted) */
	bool inline_run;	/* the doorbell's thread runs an entry (hsm_sq_inline) */
	unsigned int gen;	/* counts detaches: an inline run outlived its SQ? */
};

/* Slots: 0 = admin, 1..15 = HSM qid 1..15, 16..31 = AES qid 256..271 */
#define HSM_QSLOTS (1 + AZIHSM_HSM_QUEUES_MAX + AZIHSM_AES_QUEUES_MAX)

struct hsm_ctrl {
	struct hsm_ctrl_config cfg;
	char serial[33], fw_rev[33], model[33];
	const struct hsm_host_ops *ops;
	void *opaque;
	struct hsm_fw *fw;

	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t cq_space; /* a CQ head doorbell moved */
	uint32_t cc;
	uint32_t csts;
	uint32_t aqa;
	uint64_t asq;
	uint64_t acq;
	bool running;		/* enabled and not being torn down */
	unsigned int hsm_granted;
	unsigned int aes_granted;
	unsigned int aes_fetched;	/* AES SQEs fetched since enable (fault_aes_stall) */
	uint32_t fault[HSM_FAULT_NR];	/* test-only faults (hsm_ctrl_set_fault) */
	uint64_t faults_injected;
	uint32_t gcm_workaround;
	/*
	 * Async Event Requests the driver left with us (their cids) and the
	 * events not yet delivered (DW0 values, oldest first). A controller
	 * reset drops the requests; a PCI-level reset the events too.
	 */
	uint16_t aer_cid[AZIHSM_AER_MAX];
	unsigned int aer_n;
	uint32_t aer_ev[8];
	unsigned int aer_ev_n;
	int32_t sensor[AZIHSM_TAMPER_SENSORS];
	struct hsm_sq sq[HSM_QSLOTS];
	struct hsm_cq cq[HSM_QSLOTS];
	bool perf_on;		/* perf trace (hsm_ctrl_perf_enable) */
	bool inline_on;		/* inline execution (hsm_ctrl_set_inline) */
	uint64_t inline_count;	/* commands run inline */
	struct hsm_perf_hist perf[HSM_PERF_NR];
};

/* hsm_queue.c: perf trace. Lock held. */
uint64_t hsm_perf_now(void);
/* Record @ns - @since in @stage if perf trace is on and @since is set. */
void hsm_perf_record(struct hsm_ctrl *c, enum hsm_perf_stage stage, uint64_t since,
		     uint64_t now);

/* hsm_ctrl.c */
void hsm_ctrl_guest_error(struct hsm_ctrl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Marks the controller fatal (CSTS.CFS) and stops command processing. */
void hsm_ctrl_fatal(struct hsm_ctrl *c, const char *why);
/* qid -> slot index, or -1. Does not check that the queue exists. */
int hsm_qid_slot(uint16_t qid, enum hsm_queue_kind *kind);

/* hsm_queue.c: queue lifecycle and the worker loop. Lock held unless noted. */
int hsm_sq_start(struct hsm_ctrl *c, struct hsm_sq *sq);
/* Stops and joins every worker; drops all queues. Lock NOT held. */
void hsm_queues_teardown(struct hsm_ctrl *c);
/* Detach one SQ (lock held), then join it (lock NOT held). */
pthread_t hsm_sq_detach(struct hsm_ctrl *c, struct hsm_sq *sq, bool *joinable);
/*
 * SQ tail doorbell @val on @sq (lock held; dropped and taken again while
 * the command runs): if inline execution is on, the queue idle and @val
 * adds exactly one entry that is quick (io_hsm_quick_op, or an AES command
 * of at most HSM_INLINE_AES_MAX bytes), run it here and post its
 * completion. True when the doorbell is fully handled (run here, or
 * declined after all and handed to the worker); false: the caller moves
 * the tail and wakes the worker as usual.
 */
bool hsm_sq_inline(struct hsm_ctrl *c, struct hsm_sq *sq, uint32_t val);

/* hsm_dma.c: PRP transfers. 0 or an AZIHSM_SC_* status. */
uint16_t hsm_prp_read(struct hsm_ctrl *c, uint64_t prp1, uint64_t prp2,
		      void *buf, size_t len);
uint16_t hsm_prp_write(struct hsm_ctrl *c, uint64_t prp1, uint64_t prp2,
		       const void *buf, size_t len);

/*
 * hsm_admin.c: one admin command; fills cqe result/status. Lock NOT held.
 * *@deferred: an Async Event Request kept for later: post nothing now.
 */
void hsm_admin_execute(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe,
		       uint32_t *result, uint16_t *status, bool *deferred);
/* Deliver pending events to outstanding Async Event Requests (lock held). */
void hsm_aer_deliver(struct hsm_ctrl *c);
/*
 * hsm_queue.c: post an admin completion for @cid with @dw0 outside the
 * worker (lock held). False if the admin CQ is full or gone.
 */
bool hsm_admin_post(struct hsm_ctrl *c, uint16_t cid, uint32_t dw0);

/*
 * hsm_io.c: one HSM command from HSM SQ @sq_id. Lock NOT held. With
 * @declined (inline execution), only a quick service runs; anything else
 * sets *@declined, leaves @cqe unset and runs nothing.
 */
void hsm_io_execute_hsm(struct hsm_ctrl *c, uint16_t sq_id, const struct azihsm_hsm_sqe *sqe,
			struct azihsm_hsm_cqe *cqe, bool *declined);
/* Largest AES fast-path command (src_len) run inline (hsm_sq_inline). */
#define HSM_INLINE_AES_MAX	(64u * 1024)
/*
 * hsm_aes.c: one AES fast-path command (XTS / GCM with a vault key); fills
 * the CQE but sq_head, sq_id and phase. Lock NOT held.
 */
void hsm_io_execute_aes(struct hsm_ctrl *c, const struct azihsm_aes_sqe *sqe,
			struct azihsm_aes_cqe *cqe);

#endif /* HSM_CTRL_INT_H */
