// SPDX-License-Identifier: MIT
/* The fake guest of fake_guest.h. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_guest.h"

static bool fg_in_ram(uint64_t addr, size_t len)
{
	return addr >= FG_RAM_BASE && len <= FG_RAM_SIZE &&
	       addr - FG_RAM_BASE <= FG_RAM_SIZE - len;
}

static int fg_dma_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct fake_guest *g = opaque;

	if (!fg_in_ram(addr, len))
		return -1;
	fg_read(g, addr, buf, len);
	return 0;
}

static int fg_dma_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct fake_guest *g = opaque;

	if (!fg_in_ram(addr, len))
		return -1;
	fg_write(g, addr, buf, len);
	if (g->dma_write_hook)
		g->dma_write_hook(g, addr, len);
	return 0;
}

static void fg_irq(void *opaque, unsigned int vector)
{
	struct fake_guest *g = opaque;

	pthread_mutex_lock(&g->lock);
	if (vector < AZIHSM_MSIX_VECTORS)
		g->irqs[vector]++;
	pthread_cond_broadcast(&g->irq_cond);
	pthread_mutex_unlock(&g->lock);
}

static void fg_guest_error(void *opaque, const char *fmt, va_list ap)
{
	struct fake_guest *g = opaque;

	pthread_mutex_lock(&g->lock);
	g->guest_errors++;
	pthread_mutex_unlock(&g->lock);
	if (g->quiet)
		return;
	printf("#   guest error: ");
	vprintf(fmt, ap);
	printf("\n");
}

static const struct hsm_host_ops fg_ops = {
	.dma_read = fg_dma_read,
	.dma_write = fg_dma_write,
	.irq = fg_irq,
	.guest_error = fg_guest_error,
};

int fg_init(struct fake_guest *g, const struct hsm_ctrl_config *cfg)
{
	memset(g, 0, sizeof(*g));
	g->ram = calloc(1, FG_RAM_SIZE);
	if (!g->ram)
		return -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->irq_cond, NULL);
	g->ctrl = hsm_ctrl_new(cfg, &fg_ops, g);
	return g->ctrl ? 0 : -1;
}

void fg_fini(struct fake_guest *g)
{
	hsm_ctrl_free(g->ctrl);
	pthread_cond_destroy(&g->irq_cond);
	pthread_mutex_destroy(&g->lock);
	free(g->ram);
}

void fg_read(struct fake_guest *g, uint64_t gpa, void *buf, size_t len)
{
	pthread_mutex_lock(&g->lock);
	memcpy(buf, g->ram + (gpa - FG_RAM_BASE), len);
	pthread_mutex_unlock(&g->lock);
}

void fg_write(struct fake_guest *g, uint64_t gpa, const void *buf, size_t len)
{
	pthread_mutex_lock(&g->lock);
	memcpy(g->ram + (gpa - FG_RAM_BASE), buf, len);
	pthread_mutex_unlock(&g->lock);
}

unsigned int fg_guest_errors(struct fake_guest *g)
{
	unsigned int n;

	pthread_mutex_lock(&g->lock);
	n = g->guest_errors;
	pthread_mutex_unlock(&g->lock);
	return n;
}

void fg_queue_setup(struct fg_queue *q, uint16_t qid, uint64_t sq, uint64_t cq,
		    uint32_t entries, uint32_t cq_entries, unsigned int sqe, unsigned int cqe)
{
	memset(q, 0, sizeof(*q));
	q->qid = qid;
	q->sq_base = sq;
	q->cq_base = cq;
	q->entries = entries;
	q->cq_entries = cq_entries;
	q->phase = true;
	q->sqe_size = sqe;
	q->cqe_size = cqe;
}

uint32_t fg_enable(struct fake_guest *g, uint32_t admin_entries)
{
	uint32_t aqa = (admin_entries - 1) | ((admin_entries - 1) << AZIHSM_AQA_ACQS_SHIFT);

	memset(g->ram, 0, 0x2000);
	fg_queue_setup(&g->admin, 0, FG_ASQ, FG_ACQ, admin_entries, admin_entries, 64, 16);
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_AQA, aqa, 4);
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_ASQ, FG_ASQ, 8);
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_ACQ, FG_ACQ, 8);
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_CC, AZIHSM_CC_EN, 4);
	return (uint32_t)hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4);
}

void fg_disable(struct fake_guest *g)
{
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_CC, 0, 4);
}

void fg_push(struct fake_guest *g, struct fg_queue *q, const void *sqe)
{
	fg_write(g, q->sq_base + (uint64_t)q->sq_tail * q->sqe_size, sqe, q->sqe_size);
	q->sq_tail = (q->sq_tail + 1) % q->entries;
}

void fg_ring(struct fake_guest *g, struct fg_queue *q)
{
	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_SQ_TAIL(q->qid), q->sq_tail);
}

int fg_reap(struct fake_guest *g, struct fg_queue *q, void *cqe, int ms, bool ring)
{
	uint64_t addr = q->cq_base + (uint64_t)q->cq_head * q->cqe_size;
	struct timespec dl;
	uint16_t status;
	int ret = -1;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&g->lock);
	for (;;) {
		memcpy(&status, g->ram + (addr - FG_RAM_BASE) + q->cqe_size - 2, 2);
		if (!!(le16toh(status) & AZIHSM_CQE_PHASE) == q->phase) {
			memcpy(cqe, g->ram + (addr - FG_RAM_BASE), q->cqe_size);
			ret = 0;
			break;
		}
		if (pthread_cond_timedwait(&g->irq_cond, &g->lock, &dl) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&g->lock);
	if (ret)
		return ret;
	q->cq_head = (q->cq_head + 1) % q->cq_entries;
	if (!q->cq_head)
		q->phase = !q->phase;
	if (ring)
		hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_CQ_HEAD(q->qid), q->cq_head);
	return 0;
}

int fg_admin(struct fake_guest *g, uint8_t opc, uint32_t cdw10, uint32_t cdw11,
	     uint64_t prp1, uint64_t prp2, uint32_t *result)
{
	static uint16_t cid;
	struct azihsm_admin_sqe sqe = { 0 };
	struct azihsm_admin_cqe cqe;

	sqe.opc = opc;
	sqe.cid = htole16(++cid);
	sqe.prp1 = htole64(prp1);
	sqe.prp2 = htole64(prp2);
	sqe.cdw10 = htole32(cdw10);
	sqe.cdw11 = htole32(cdw11);
	fg_push(g, &g->admin, &sqe);
	fg_ring(g, &g->admin);
	if (fg_reap(g, &g->admin, &cqe, 5000, true))
		return -1;
	if (le16toh(cqe.cid) != cid)
		return -2;
	if (result)
		*result = le32toh(cqe.result);
	return (le16toh(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT) & AZIHSM_CQE_STATUS_MASK;
}

int fg_hsm(struct fake_guest *g, const void *req, uint32_t req_len, uint32_t src_off,
	   void *rsp, uint32_t dst_len, uint32_t *rsp_len)
{
	struct fg_sess sess = { 0 };

	return fg_hsm_sess(g, req, req_len, src_off, rsp, dst_len, rsp_len, &sess);
}

int fg_hsm_sess(struct fake_guest *g, const void *req, uint32_t req_len, uint32_t src_off,
		void *rsp, uint32_t dst_len, uint32_t *rsp_len, struct fg_sess *sess)
{
	static uint16_t cid;
	struct azihsm_hsm_sqe sqe = { 0 };
	struct azihsm_hsm_cqe cqe;
	uint64_t src = FG_SRC + src_off;

	if (req)	/* NULL: send whatever the buffer holds */
		fg_write(g, src, req, req_len);
	memset(g->ram + (FG_DST - FG_RAM_BASE), 0xa5, 3 * 4096);
	sqe.dw0 = htole32((uint32_t)++cid << AZIHSM_HSQE_CID_SHIFT);
	sqe.src_len = htole32(req_len);
	sqe.src_prp1 = htole64(src);
	sqe.src_prp2 = htole64((src & ~4095ull) + 4096);
	sqe.dst_len = htole32(dst_len);
	sqe.dst_prp1 = htole64(FG_DST);
	sqe.dst_prp2 = htole64(FG_DST + 4096);
	sqe.dw0 |= htole32(sess->opc & AZIHSM_HSQE_OPC_MASK);
	sqe.flags = sess->sqe_flags;
	sqe.session_id = htole16(sess->sqe_sid);
	sqe.short_app_id = htole16(sess->sqe_app);
	fg_push(g, &g->io, &sqe);
	fg_ring(g, &g->io);
	if (fg_reap(g, &g->io, &cqe, 5000, true))
		return -1;
	if (le16toh(cqe.cid) != cid || le16toh(cqe.sq_id) != g->io.qid ||
	    le16toh(cqe.sq_head) != g->io.sq_tail)
		return -2;
	sess->cqe_flags = cqe.flags;
	sess->cqe_sid = le16toh(cqe.session_id);
	sess->cqe_app = le16toh(cqe.short_app_id);
	*rsp_len = le16toh(cqe.byte_count);
	if (*rsp_len && *rsp_len <= dst_len)
		fg_read(g, FG_DST, rsp, *rsp_len);
	return (le16toh(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT) & AZIHSM_CQE_STATUS_MASK;
}
