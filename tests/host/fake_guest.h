/* SPDX-License-Identifier: MIT */
/*
 * A fake guest for host tests of the firmware core: a block of "RAM" at a
 * guest-physical base, DMA callbacks that refuse anything outside it, MSI-X
 * counters, and a minimal driver (admin + one I/O queue pair) on top.
 */
#ifndef FAKE_GUEST_H
#define FAKE_GUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "azihsm/hw.h"
#include "hsm_ctrl.h"

#define FG_RAM_BASE	0x100000ull
#define FG_RAM_SIZE	(4u << 20)
/* Guest-physical layout used by the tests. */
#define FG_ASQ		(FG_RAM_BASE + 0x0000)
#define FG_ACQ		(FG_RAM_BASE + 0x1000)
#define FG_IDENT	(FG_RAM_BASE + 0x2000)
#define FG_SQ1		(FG_RAM_BASE + 0x4000)	/* 2 pages: up to 128 x 64 B */
#define FG_CQ1		(FG_RAM_BASE + 0x6000)
#define FG_SRC		(FG_RAM_BASE + 0x10000)	/* 3 pages */
#define FG_DST		(FG_RAM_BASE + 0x20000)	/* 3 pages */
#define FG_AES_SQ	(FG_RAM_BASE + 0x30000)
#define FG_AES_CQ	(FG_RAM_BASE + 0x32000)

struct fg_queue {
	uint64_t sq_base, cq_base;
	uint16_t qid;
	uint32_t entries, cq_entries;
	uint32_t sq_tail, cq_head;
	bool phase;
	unsigned int sqe_size, cqe_size;
};

struct fake_guest {
	uint8_t *ram;
	pthread_mutex_t lock;
	pthread_cond_t irq_cond;
	unsigned int irqs[AZIHSM_MSIX_VECTORS];
	unsigned int guest_errors;
	bool quiet;		/* count guest errors without printing them (fuzzers) */
	struct hsm_ctrl *ctrl;
	struct fg_queue admin, io;
	/* Called after each DMA write the device made (worker thread). */
	void (*dma_write_hook)(struct fake_guest *g, uint64_t addr, size_t len);
};

int fg_init(struct fake_guest *g, const struct hsm_ctrl_config *cfg);
void fg_fini(struct fake_guest *g);
void fg_read(struct fake_guest *g, uint64_t gpa, void *buf, size_t len);
void fg_write(struct fake_guest *g, uint64_t gpa, const void *buf, size_t len);
unsigned int fg_guest_errors(struct fake_guest *g);

/* Controller bring-up as a driver does it; returns CSTS after enable. */
uint32_t fg_enable(struct fake_guest *g, uint32_t admin_entries);
void fg_disable(struct fake_guest *g);

void fg_queue_setup(struct fg_queue *q, uint16_t qid, uint64_t sq, uint64_t cq,
		    uint32_t entries, uint32_t cq_entries, unsigned int sqe, unsigned int cqe);
/* Write an SQE at the tail and advance (no doorbell). */
void fg_push(struct fake_guest *g, struct fg_queue *q, const void *sqe);
void fg_ring(struct fake_guest *g, struct fg_queue *q);
/*
 * Wait (up to @ms) for the next CQE with the expected phase; copy it out,
 * advance and ring the CQ head doorbell if @ring. 0 or -1 on timeout.
 */
int fg_reap(struct fake_guest *g, struct fg_queue *q, void *cqe, int ms, bool ring);

/* One admin command; returns the CQE status (11 bits) or -1 on timeout. */
int fg_admin(struct fake_guest *g, uint8_t opc, uint32_t cdw10, uint32_t cdw11,
	     uint64_t prp1, uint64_t prp2, uint32_t *result);
/*
 * One HSM command on g->io: request copied to FG_SRC + @src_off, response
 * from FG_DST. Returns the CQE status or -1; *rsp_len = byte_count.
 */
int fg_hsm(struct fake_guest *g, const void *req, uint32_t req_len, uint32_t src_off,
	   void *rsp, uint32_t dst_len, uint32_t *rsp_len);
/* The same with the SQE's opcode and session fields, and the CQE's. */
struct fg_sess {
	uint16_t opc;		/* AZIHSM_HSQE_OPC_* */
	uint8_t sqe_flags;
	uint16_t sqe_sid;
	uint16_t sqe_app;	/* short_app_id @50 */
	uint8_t cqe_flags;	/* out */
	uint16_t cqe_sid;	/* out */
	uint16_t cqe_app;	/* out: short_app_id @6 */
};
int fg_hsm_sess(struct fake_guest *g, const void *req, uint32_t req_len, uint32_t src_off,
		void *rsp, uint32_t dst_len, uint32_t *rsp_len, struct fg_sess *sess);

#endif
