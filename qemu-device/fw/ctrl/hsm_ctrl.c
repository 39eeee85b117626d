// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm controller: BAR0 registers, doorbells, enable/disable/reset.
 * Register accesses come from the vCPU; they change state under the
 * controller lock and wake workers, and never run a command themselves.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm_boot.h"
#include "hsm_ctrl_int.h"

#define CTRL_CAP_TO	10	/* 5 s: a slow command may delay a disable */
#define CTRL_VS		AZIHSM_VS(1, 4, 0)

void hsm_ctrl_guest_error(struct hsm_ctrl *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->ops->guest_error)
		return;
	va_start(ap, fmt);
	c->ops->guest_error(c->opaque, fmt, ap);
	va_end(ap);
}

void hsm_ctrl_fatal(struct hsm_ctrl *c, const char *why)
{
	hsm_ctrl_guest_error(c, "controller fatal: %s", why);
	c->csts |= AZIHSM_CSTS_CFS;
	c->running = false;
}

int hsm_qid_slot(uint16_t qid, enum hsm_queue_kind *kind)
{
	if (qid == AZIHSM_QID_ADMIN) {
		*kind = HSM_Q_ADMIN;
		return 0;
	}
	if (qid >= AZIHSM_QID_HSM_FIRST && qid < AZIHSM_QID_HSM_FIRST + AZIHSM_HSM_QUEUES_MAX) {
		*kind = HSM_Q_HSM;
		return qid;
	}
	if (qid >= AZIHSM_QID_AES_FIRST && qid < AZIHSM_QID_AES_FIRST + AZIHSM_AES_QUEUES_MAX) {
		*kind = HSM_Q_AES;
		return 1 + AZIHSM_HSM_QUEUES_MAX + (qid - AZIHSM_QID_AES_FIRST);
	}
	return -1;
}

static uint64_t ctrl_cap(void)
{
	return (uint64_t)(AZIHSM_QUEUE_ENTRIES_MAX - 1) | AZIHSM_CAP_CQR |
	       ((uint64_t)CTRL_CAP_TO << AZIHSM_CAP_TO_SHIFT) | AZIHSM_CAP_NSSRS |
	       (1ull << AZIHSM_CAP_CSS_SHIFT);
}

/* CC.EN 0 -> 1 (lock held): check the admin queue set-up, start it. */
static void ctrl_enable(struct hsm_ctrl *c)
{
	uint32_t asqs = (c->aqa & AZIHSM_AQA_ASQS_MASK) + 1;
	uint32_t acqs = ((c->aqa >> AZIHSM_AQA_ACQS_SHIFT) & AZIHSM_AQA_ASQS_MASK) + 1;
	struct hsm_sq *sq = &c->sq[0];
	struct hsm_cq *cq = &c->cq[0];
	uint32_t cc = c->cc;

	if (c->csts & AZIHSM_CSTS_CFS)
		return;
	if (asqs < 2 || acqs < 2 || !c->asq || !c->acq ||
	    (c->asq | c->acq) & (AZIHSM_PAGE_SIZE - 1)) {
		hsm_ctrl_fatal(c, "enable with a bad admin queue (AQA/ASQ/ACQ)");
		return;
	}
	if ((cc >> AZIHSM_CC_MPS_SHIFT) & 0xf || (cc >> AZIHSM_CC_CSS_SHIFT) & 7 ||
	    (cc >> AZIHSM_CC_AMS_SHIFT) & 7) {
		hsm_ctrl_fatal(c, "enable with unsupported CC.MPS/CSS/AMS");
		return;
	}
	memset(cq, 0, sizeof(*cq));
	cq->created = true;
	cq->kind = HSM_Q_ADMIN;
	cq->base = c->acq;
	cq->entries = acqs;
	cq->phase = true;
	cq->ien = true;
	cq->vector = AZIHSM_MSIX_VEC_ADMIN;
	sq->kind = HSM_Q_ADMIN;
	sq->qid = AZIHSM_QID_ADMIN;
	sq->base = c->asq;
	sq->entries = asqs;
	sq->head = 0;
	sq->tail = 0;
	sq->cq = cq;
	c->running = true;
	c->aes_fetched = 0;
	if (hsm_sq_start(c, sq)) {
		sq->cq = NULL;
		hsm_ctrl_fatal(c, "cannot start the admin queue worker");
		return;
	}
	sq->created = true;
	cq->sq_refs = 1;
	c->csts = (c->csts & ~AZIHSM_CSTS_SHST_MASK) | AZIHSM_CSTS_RDY;
}

/*
 * Stop everything (lock held on entry and exit; dropped inside). A
 * controller reset ends every session, the kernel session and the
 * partition's: the driver forgets all session ids at a reset, so a session
 * left open would only pin one of the few slots (and its keys) until the
 * next PCI reset, which a hostile or crashed guest could arrange never to
 * come (issue 9). The driver opens the next kernel session (only the
 * first open after a reset succeeds).
 */
static void ctrl_quiesce_locked(struct hsm_ctrl *c)
{
	/* Outstanding Async Event Requests go with the queues. */
	c->aer_n = 0;
	pthread_mutex_unlock(&c->lock);
	hsm_queues_teardown(c);
	hsm_fw_reset_sessions(c->fw);
	pthread_mutex_lock(&c->lock);
}

static void ctrl_write_cc(struct hsm_ctrl *c, uint32_t val)
{
	uint32_t old = c->cc;

	c->cc = val;
	if (!(old & AZIHSM_CC_EN) && (val & AZIHSM_CC_EN)) {
		ctrl_enable(c);
	} else if ((old & AZIHSM_CC_EN) && !(val & AZIHSM_CC_EN)) {
		ctrl_quiesce_locked(c);
		/* A controller reset clears a fatal status, too. */
		c->csts &= ~(AZIHSM_CSTS_RDY | AZIHSM_CSTS_CFS);
	}
	if (!(old & AZIHSM_CC_SHN_MASK) && (val & AZIHSM_CC_SHN_MASK)) {
		ctrl_quiesce_locked(c);
		c->csts = (c->csts & ~AZIHSM_CSTS_SHST_MASK) | AZIHSM_CSTS_SHST_DONE;
	}
}

static void ctrl_write_u64_half(struct hsm_ctrl *c, uint64_t *reg, uint64_t off_in_reg,
				uint64_t val, unsigned int size)
{
	if (c->cc & AZIHSM_CC_EN) {
		hsm_ctrl_guest_error(c, "admin queue base written while enabled");
		return;
	}
	if (size == 8)
		*reg = val;
	else if (off_in_reg)
		*reg = (*reg & 0xffffffffull) | (val << 32);
	else
		*reg = (*reg & ~0xffffffffull) | (uint32_t)val;
}

/* CSTS vendor bits: the firmware's error state and a tamper since start. */
static uint32_t ctrl_vendor_csts(struct hsm_ctrl *c)
{
	uint32_t v = 0;
	bool tampered = false;

	if (hsm_fw_in_error_state(c->fw))
		v |= AZIHSM_CSTS_ERR;
	hsm_fw_tamper_count(c->fw, &tampered);
	if (tampered)
		v |= AZIHSM_CSTS_TAMPER;
	return v;
}

uint64_t hsm_ctrl_reg_read(struct hsm_ctrl *c, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	if ((size != 4 && size != 8) || (off & (size - 1))) {
		hsm_ctrl_guest_error(c, "BAR0 read of %u bytes at 0x%llx", size,
				     (unsigned long long)off);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	switch (off & ~7ull) {
	case AZIHSM_REG_CAP:
		v = ctrl_cap();
		break;
	case AZIHSM_REG_VS:
		v = CTRL_VS;	/* 0x0c (INTMS) reads 0 */
		break;
	case 0x10:
		v = (uint64_t)c->cc << 32;	/* 0x10 INTMC reads 0 */
		break;
	case 0x18:
		v = (uint64_t)(c->csts | ctrl_vendor_csts(c)) << 32;	/* 0x18 reserved */
		break;
	case AZIHSM_REG_NSSR:
		v = (uint64_t)c->aqa << 32;	/* NSSR reads 0 */
		break;
	case AZIHSM_REG_ASQ:
		v = c->asq;
		break;
	case AZIHSM_REG_ACQ:
		v = c->acq;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (size == 4)
		v = (off & 4) ? v >> 32 : (uint32_t)v;
	return v;
}

void hsm_ctrl_reg_write(struct hsm_ctrl *c, uint64_t off, uint64_t val, unsigned int size)
{
	if ((size != 4 && size != 8) || (off & (size - 1)) ||
	    (size == 8 && off != AZIHSM_REG_ASQ && off != AZIHSM_REG_ACQ)) {
		hsm_ctrl_guest_error(c, "BAR0 write of %u bytes at 0x%llx", size,
				     (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&c->lock);
	switch (off) {
	case AZIHSM_REG_CC:
		ctrl_write_cc(c, (uint32_t)val);
		break;
	case AZIHSM_REG_NSSR:
		if ((uint32_t)val != AZIHSM_NSSR_MAGIC) {
			hsm_ctrl_guest_error(c, "NSSR write 0x%x is not the reset magic",
					     (uint32_t)val);
			break;
		}
		ctrl_quiesce_locked(c);
		c->cc = 0;
		c->csts = AZIHSM_CSTS_NSSRO;
		break;
	case AZIHSM_REG_AQA:
		if (c->cc & AZIHSM_CC_EN)
			hsm_ctrl_guest_error(c, "AQA written while enabled");
		else
			c->aqa = (uint32_t)val;
		break;
	case AZIHSM_REG_ASQ:
	case AZIHSM_REG_ASQ + 4:
		ctrl_write_u64_half(c, &c->asq, off - AZIHSM_REG_ASQ, val, size);
		break;
	case AZIHSM_REG_ACQ:
	case AZIHSM_REG_ACQ + 4:
		ctrl_write_u64_half(c, &c->acq, off - AZIHSM_REG_ACQ, val, size);
		break;
	default:
		hsm_ctrl_guest_error(c, "BAR0 write to read-only/reserved 0x%llx",
				     (unsigned long long)off);
		break;
	}
	pthread_mutex_unlock(&c->lock);
}

void hsm_ctrl_doorbell_write(struct hsm_ctrl *c, uint64_t off, uint32_t val)
{
	uint16_t qid = (uint16_t)(off / 8);
	bool is_cq = off & 4;
	enum hsm_queue_kind kind;
	int slot;

	if (off & 3 || off >= AZIHSM_BAR_SIZE) {
		hsm_ctrl_guest_error(c, "doorbell write at 0x%llx", (unsigned long long)off);
		return;
	}
	slot = hsm_qid_slot(qid, &kind);
	pthread_mutex_lock(&c->lock);
	if (slot < 0 || !c->running ||
	    (is_cq ? !c->cq[slot].created : !c->sq[slot].created)) {
		hsm_ctrl_guest_error(c, "%s doorbell of queue %u, which does not exist",
				     is_cq ? "CQ head" : "SQ tail", qid);
	} else if (is_cq) {
		struct hsm_cq *cq = &c->cq[slot];

		if (val >= cq->entries) {
			hsm_ctrl_guest_error(c, "CQ %u head %u beyond %u entries", qid, val,
					     cq->entries);
		} else {
			cq->head = val;
			if (c->perf_on && cq->perf_sent_ns) {
				cq->perf_head_ns = hsm_perf_now();
				hsm_perf_record(c, HSM_PERF_GUEST_IRQ, cq->perf_sent_ns,
						cq->perf_head_ns);
				cq->perf_sent_ns = 0;
			}
			pthread_cond_broadcast(&c->cq_space);
			if (slot == 0)
				hsm_aer_deliver(c);
		}
	} else {
		struct hsm_sq *sq = &c->sq[slot];

		if (val >= sq->entries) {
			hsm_ctrl_guest_error(c, "SQ %u tail %u beyond %u entries", qid, val,
					     sq->entries);
		} else {
			if (c->perf_on && sq->head == sq->tail && val != sq->tail) {
				/* Perf trace: an entry rung onto an idle queue. */
				sq->perf_db_ns = hsm_perf_now();
				if (sq->cq) {
					hsm_perf_record(c, HSM_PERF_GUEST_NEXT,
							sq->cq->perf_head_ns, sq->perf_db_ns);
					sq->cq->perf_head_ns = 0;
				}
			}
			if (!hsm_sq_inline(c, sq, val)) {
				sq->tail = val;
				pthread_cond_signal(&sq->wake);
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void hsm_ctrl_reset(struct hsm_ctrl *c)
{
	hsm_queues_teardown(c);
	/* The guest starts over: nobody is left to close its sessions. */
	hsm_fw_reset_sessions(c->fw);
	pthread_mutex_lock(&c->lock);
	c->cc = 0;
	c->csts = 0;
	c->aqa = 0;
	c->asq = 0;
	c->acq = 0;
	c->gcm_workaround = 0;
	c->aer_n = 0;
	c->aer_ev_n = 0;
	pthread_mutex_unlock(&c->lock);
	/* As at power-on: the self-tests again, the error state left if they pass. */
	hsm_fw_restart(c->fw);
}

/* Firmware event (any thread, no firmware lock held): queue and deliver. */
static void ctrl_event(void *ctx, uint32_t dw0)
{
	struct hsm_ctrl *c = ctx;

	pthread_mutex_lock(&c->lock);
	if (c->aer_ev_n == sizeof(c->aer_ev) / sizeof(c->aer_ev[0])) {
		/* Full: the oldest goes (the state registers say the rest). */
		memmove(&c->aer_ev[0], &c->aer_ev[1], sizeof(c->aer_ev) - sizeof(c->aer_ev[0]));
		c->aer_ev_n--;
	}
	c->aer_ev[c->aer_ev_n++] = dw0;
	hsm_aer_deliver(c);
	pthread_mutex_unlock(&c->lock);
}

static bool ctrl_sensor_ok(unsigned int sensor, int32_t v)
{
	switch (sensor) {
	case AZIHSM_TAMPER_ENCLOSURE:
		return v == 0;
	case AZIHSM_TAMPER_VOLTAGE:
		return v >= HSM_SENSOR_VOLTAGE_MIN && v <= HSM_SENSOR_VOLTAGE_MAX;
	case AZIHSM_TAMPER_TEMPERATURE:
		return v >= HSM_SENSOR_TEMP_MIN && v <= HSM_SENSOR_TEMP_MAX;
	case AZIHSM_TAMPER_CLOCK:
		return v >= HSM_SENSOR_CLOCK_MIN && v <= HSM_SENSOR_CLOCK_MAX;
	}
	return false;
}

int hsm_ctrl_sensor_set(struct hsm_ctrl *c, unsigned int sensor, int32_t value)
{
	if (sensor == 0 || sensor >= AZIHSM_TAMPER_SENSORS)
		return -1;
	pthread_mutex_lock(&c->lock);
	c->sensor[sensor] = value;
	pthread_mutex_unlock(&c->lock);
	if (ctrl_sensor_ok(sensor, value))
		return 0;
	hsm_fw_tamper(c->fw, sensor, value);
	return 1;
}

int32_t hsm_ctrl_sensor_get(struct hsm_ctrl *c, unsigned int sensor)
{
	int32_t v;

	if (sensor == 0 || sensor >= AZIHSM_TAMPER_SENSORS)
		return 0;
	pthread_mutex_lock(&c->lock);
	v = c->sensor[sensor];
	pthread_mutex_unlock(&c->lock);
	return v;
}

struct hsm_fw *hsm_ctrl_fw(struct hsm_ctrl *c)
{
	return c->fw;
}

void hsm_ctrl_set_fault(struct hsm_ctrl *c, enum hsm_fault f, uint32_t val)
{
	if ((unsigned int)f >= HSM_FAULT_NR)
		return;
	pthread_mutex_lock(&c->lock);
	switch (f) {
	case HSM_FAULT_CFS:
		/* Disabled, CFS would block the next enable for good. */
		if (val && (c->cc & AZIHSM_CC_EN) && !(c->csts & AZIHSM_CSTS_CFS)) {
			hsm_ctrl_fatal(c, "injected fault (test only)");
			c->faults_injected++;
			pthread_cond_broadcast(&c->cq_space);
		}
		break;
	case HSM_FAULT_AES_STALL:
		c->aes_fetched = 0;
		c->fault[f] = val;
		break;
	default:
		c->fault[f] = val;
		break;
	}
	pthread_mutex_unlock(&c->lock);
}

uint32_t hsm_ctrl_get_fault(struct hsm_ctrl *c, enum hsm_fault f)
{
	uint32_t v;

	if ((unsigned int)f >= HSM_FAULT_NR)
		return 0;
	pthread_mutex_lock(&c->lock);
	v = c->fault[f];
	pthread_mutex_unlock(&c->lock);
	return v;
}

uint64_t hsm_ctrl_faults_injected(struct hsm_ctrl *c)
{
	uint64_t v;

	pthread_mutex_lock(&c->lock);
	v = c->faults_injected;
	pthread_mutex_unlock(&c->lock);
	return v;
}

void hsm_ctrl_quiesce(struct hsm_ctrl *c)
{
	bool busy = true;
	unsigned int i;

	/* Idle = every live SQ consumed up to its tail with CQ room left. */
	while (busy) {
		busy = false;
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < HSM_QSLOTS && c->running; i++) {
			struct hsm_sq *sq = &c->sq[i];

			if (sq->created && sq->head != sq->tail &&
			    (sq->cq->tail + 1) % sq->cq->entries != sq->cq->head)
				busy = true;
		}
		pthread_mutex_unlock(&c->lock);
		if (busy) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
}

static bool ctrl_id_ok(const char *s)
{
	size_t n;

	if (!s)
		return true;
	n = strlen(s);
	if (n > 32)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

struct hsm_ctrl *hsm_ctrl_new(const struct hsm_ctrl_config *cfg,
			      const struct hsm_host_ops *ops, void *opaque)
{
	struct hsm_fw_config fwc = { 0 };
	struct hsm_boot_config boot = { 0 };
	struct hsm_ctrl *c;
	unsigned int i;

	if (!ops || !ops->dma_read || !ops->dma_write || !ops->irq ||
	    !ctrl_id_ok(cfg->serial) || !ctrl_id_ok(cfg->fw_rev) || !ctrl_id_ok(cfg->model) ||
	    cfg->hsm_queues_max < 1 || cfg->hsm_queues_max > AZIHSM_HSM_QUEUES_MAX ||
	    cfg->aes_queues_max > AZIHSM_AES_QUEUES_MAX)
		return NULL;
	boot.image_path = cfg->fw_image;
	boot.min_svn = cfg->fuse_min_svn;
	if (cfg->fuse_root_hash) {
		if (hsm_boot_parse_root(cfg->fuse_root_hash, boot.root_hash))
			return NULL;
		boot.has_root = true;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	snprintf(c->serial, sizeof(c->serial), "%s", cfg->serial ? cfg->serial : "");
	snprintf(c->fw_rev, sizeof(c->fw_rev), "%s", cfg->fw_rev ? cfg->fw_rev : "");
	snprintf(c->model, sizeof(c->model), "%s", cfg->model ? cfg->model : "");
	c->ops = ops;
	c->opaque = opaque;
	c->fault[HSM_FAULT_AES_STALL] = cfg->fault_aes_stall;
	fwc.serial = c->serial;
	fwc.fw_rev = c->fw_rev;
	fwc.state_path = cfg->state_path;
	fwc.root_cert = cfg->root_cert;
	fwc.devcert = cfg->devcert;
	fwc.boot = &boot;
	fwc.selftest_fail = cfg->selftest_fail;
	fwc.event = ctrl_event;
	fwc.event_ctx = c;
	c->sensor[AZIHSM_TAMPER_ENCLOSURE] = 0;
	c->sensor[AZIHSM_TAMPER_VOLTAGE] = HSM_SENSOR_VOLTAGE_NOMINAL;
	c->sensor[AZIHSM_TAMPER_TEMPERATURE] = HSM_SENSOR_TEMP_NOMINAL;
	c->sensor[AZIHSM_TAMPER_CLOCK] = HSM_SENSOR_CLOCK_NOMINAL;
	/* The firmware's events (a power-on self-test failure) take the lock. */
	pthread_mutex_init(&c->lock, NULL);
	fwc.fault_corrupt = cfg->fault_corrupt;
	c->fw = hsm_fw_new(&fwc);
	if (!c->fw) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	pthread_cond_init(&c->cq_space, NULL);
	for (i = 0; i < HSM_QSLOTS; i++)
		pthread_cond_init(&c->sq[i].wake, NULL);
	return c;
}

void hsm_ctrl_free(struct hsm_ctrl *c)
{
	unsigned int i;

	if (!c)
		return;
	hsm_queues_teardown(c);
	for (i = 0; i < HSM_QSLOTS; i++)
		pthread_cond_destroy(&c->sq[i].wake);
	pthread_cond_destroy(&c->cq_space);
	pthread_mutex_destroy(&c->lock);
	hsm_fw_free(c->fw);
	free(c);
}
