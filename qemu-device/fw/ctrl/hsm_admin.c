// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Admin commands: Identify, Set/Get Features, Create/Delete CQ/SQ, Abort.
 * Every field the guest sets is checked here, once; a bad one completes
 * the command with a status and a guest-error log, never more.
 */
#include <endian.h>
#include <string.h>

#include "hsm_ctrl_int.h"

#define PAGE_LOW_MASK ((uint64_t)AZIHSM_PAGE_SIZE - 1)

struct admin_queue_args {
	uint16_t qid;
	uint32_t entries;
	uint32_t cdw11;
	uint64_t base;
	enum hsm_queue_kind kind;
	int slot;
};

/* Common checks of Create CQ/SQ; lock held. */
static uint16_t admin_queue_args(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe,
				 struct admin_queue_args *a, bool is_sq)
{
	uint32_t cdw10 = le32toh(sqe->cdw10);
	unsigned int want_es, have_es, shift;

	a->qid = (uint16_t)cdw10;
	a->entries = (cdw10 >> 16) + 1;
	a->cdw11 = le32toh(sqe->cdw11);
	a->base = le64toh(sqe->prp1);
	a->slot = hsm_qid_slot(a->qid, &a->kind);

	if (a->slot <= 0 ||
	    (a->kind == HSM_Q_HSM && a->qid - AZIHSM_QID_HSM_FIRST >= (int)c->hsm_granted) ||
	    (a->kind == HSM_Q_AES && a->qid - AZIHSM_QID_AES_FIRST >= (int)c->aes_granted)) {
		hsm_ctrl_guest_error(c, "create %s: qid %u not granted", is_sq ? "SQ" : "CQ",
				     a->qid);
		return AZIHSM_SC_INVALID_QID;
	}
	if (is_sq ? c->sq[a->slot].created : c->cq[a->slot].created) {
		hsm_ctrl_guest_error(c, "create %s: qid %u exists", is_sq ? "SQ" : "CQ", a->qid);
		return AZIHSM_SC_INVALID_QID;
	}
	if (a->entries < 2 || a->entries > AZIHSM_QUEUE_ENTRIES_MAX) {
		hsm_ctrl_guest_error(c, "create queue %u: %u entries", a->qid, a->entries);
		return AZIHSM_SC_INVALID_QSIZE;
	}
	if (!(a->cdw11 & AZIHSM_CREATE_PC) || (a->base & PAGE_LOW_MASK) || !a->base) {
		hsm_ctrl_guest_error(c, "create queue %u: base 0x%llx must be contiguous and page aligned",
				     a->qid, (unsigned long long)a->base);
		return AZIHSM_SC_INVALID_FIELD;
	}
	/* The entry sizes the driver set in CC must be the ones we use. */
	if (a->kind == HSM_Q_HSM) {
		shift = is_sq ? AZIHSM_CC_CP_IOSQES_SHIFT : AZIHSM_CC_CP_IOCQES_SHIFT;
		want_es = is_sq ? AZIHSM_HSM_SQES : AZIHSM_HSM_CQES;
	} else {
		shift = is_sq ? AZIHSM_CC_FP_IOSQES_SHIFT : AZIHSM_CC_FP_IOCQES_SHIFT;
		want_es = is_sq ? AZIHSM_AES_SQES : AZIHSM_AES_CQES;
	}
	have_es = (c->cc >> shift) & AZIHSM_CC_ES_MASK;
	if (have_es != want_es) {
		hsm_ctrl_guest_error(c, "create queue %u: CC entry size %u, need %u",
				     a->qid, have_es, want_es);
		return AZIHSM_SC_INVALID_FIELD;
	}
	return AZIHSM_SC_SUCCESS;
}

static uint16_t admin_create_cq(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe)
{
	struct admin_queue_args a;
	struct hsm_cq *cq;
	uint16_t vector;
	uint16_t sc;

	sc = admin_queue_args(c, sqe, &a, false);
	if (sc)
		return sc;
	vector = (uint16_t)(a.cdw11 >> 16);
	if (vector >= AZIHSM_MSIX_VECTORS) {
		hsm_ctrl_guest_error(c, "create CQ %u: vector %u", a.qid, vector);
		return AZIHSM_SC_INVALID_VECTOR;
	}
	cq = &c->cq[a.slot];
	memset(cq, 0, sizeof(*cq));
	cq->created = true;
	cq->kind = a.kind;
	cq->qid = a.qid;
	cq->base = a.base;
	cq->entries = a.entries;
	cq->phase = true;
	cq->ien = a.cdw11 & AZIHSM_CREATE_CQ_IEN;
	cq->vector = vector;
	return AZIHSM_SC_SUCCESS;
}

static uint16_t admin_create_sq(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe)
{
	struct admin_queue_args a;
	enum hsm_queue_kind cq_kind;
	struct hsm_sq *sq;
	uint16_t cqid;
	int cq_slot;
	uint16_t sc;

	sc = admin_queue_args(c, sqe, &a, true);
	if (sc)
		return sc;
	cqid = (uint16_t)(a.cdw11 >> 16);
	cq_slot = hsm_qid_slot(cqid, &cq_kind);
	if (cq_slot <= 0 || cq_kind != a.kind || !c->cq[cq_slot].created) {
		hsm_ctrl_guest_error(c, "create SQ %u: CQ %u unusable", a.qid, cqid);
		return AZIHSM_SC_INVALID_CQ;
	}
	if (!c->running)
		return AZIHSM_SC_INTERNAL;	/* controller going down */
	sq = &c->sq[a.slot];
	sq->kind = a.kind;
	sq->qid = a.qid;
	sq->base = a.base;
	sq->entries = a.entries;
	sq->head = 0;
	sq->tail = 0;
	sq->cq = &c->cq[cq_slot];
	if (hsm_sq_start(c, sq)) {
		sq->cq = NULL;
		return AZIHSM_SC_INTERNAL;
	}
	sq->created = true;
	sq->cq->sq_refs++;
	return AZIHSM_SC_SUCCESS;
}

static uint16_t admin_delete_sq(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe)
{
	uint16_t qid = (uint16_t)le32toh(sqe->cdw10);
	enum hsm_queue_kind kind;
	int slot = hsm_qid_slot(qid, &kind);
	bool joinable;
	pthread_t t;

	if (slot <= 0 || !c->sq[slot].created) {
		hsm_ctrl_guest_error(c, "delete SQ %u: no such queue", qid);
		return AZIHSM_SC_INVALID_QID;
	}
	t = hsm_sq_detach(c, &c->sq[slot], &joinable);
	if (joinable) {
		pthread_mutex_unlock(&c->lock);
		pthread_join(t, NULL);
		pthread_mutex_lock(&c->lock);
	}
	return AZIHSM_SC_SUCCESS;
}

static uint16_t admin_delete_cq(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe)
{
	uint16_t qid = (uint16_t)le32toh(sqe->cdw10);
	enum hsm_queue_kind kind;
	int slot = hsm_qid_slot(qid, &kind);

	if (slot <= 0 || !c->cq[slot].created) {
		hsm_ctrl_guest_error(c, "delete CQ %u: no such queue", qid);
		return AZIHSM_SC_INVALID_QID;
	}
	if (c->cq[slot].sq_refs) {
		hsm_ctrl_guest_error(c, "delete CQ %u: SQs still use it", qid);
		return AZIHSM_SC_INVALID_QUEUE_DELETION;
	}
	memset(&c->cq[slot], 0, sizeof(c->cq[slot]));
	return AZIHSM_SC_SUCCESS;
}

static void pad_copy(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, len < n ? len : n);
}

static uint16_t admin_identify(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe)
{
	uint8_t page[AZIHSM_PAGE_SIZE] = { 0 };
	struct azihsm_identify *id = (struct azihsm_identify *)page;
	uint32_t cns = le32toh(sqe->cdw10) & 0xff;

	if (cns != AZIHSM_IDENTIFY_CNS_CTRL) {
		hsm_ctrl_guest_error(c, "identify: CNS %u unsupported", cns);
		return AZIHSM_SC_INVALID_FIELD;
	}
	id->vid = htole16(AZIHSM_PCI_VENDOR_ID);
	id->ssvid = htole16(AZIHSM_PCI_VENDOR_ID);
	pad_copy(id->sn, sizeof(id->sn), c->serial);
	pad_copy(id->fr, sizeof(id->fr), c->fw_rev);
	id->cp_mdts = AZIHSM_IDENTIFY_MDTS;
	id->ctrl_id = htole16(c->cfg.ctrl_id);
	id->acl = 3;
	id->cp_sqes = (AZIHSM_HSM_SQES << 4) | AZIHSM_HSM_SQES;
	id->cp_cqes = (AZIHSM_HSM_CQES << 4) | AZIHSM_HSM_CQES;
	id->cp_maxcmd = htole16(AZIHSM_QUEUE_ENTRIES_MAX);
	id->fp_mdts = AZIHSM_IDENTIFY_MDTS;
	id->fp_sqes = (AZIHSM_AES_SQES << 4) | AZIHSM_AES_SQES;
	id->fp_cqes = (AZIHSM_AES_CQES << 4) | AZIHSM_AES_CQES;
	id->fp_maxcmd = htole16(AZIHSM_QUEUE_ENTRIES_MAX);
	id->sgls = htole32(1);
	id->ver = htole32(AZIHSM_IDENTIFY_VER);
	id->ctrl_type = AZIHSM_IDENTIFY_CTRL_TYPE_HSM;
	id->hsm_queues_max = htole16((uint16_t)c->cfg.hsm_queues_max);
	id->aes_queues_max = htole16((uint16_t)c->cfg.aes_queues_max);
	id->queue_entries_max = htole16(AZIHSM_QUEUE_ENTRIES_MAX);
	id->hsm_buf_max = htole16(AZIHSM_HSM_BUF_MAX);
	pad_copy(id->mn, sizeof(id->mn), c->model);
	return hsm_prp_write(c, le64toh(sqe->prp1), le64toh(sqe->prp2), page, sizeof(page));
}

/* Queue-count features: DW11 = (nsq-1) | (ncq-1) << 16, granted likewise. */
static uint16_t admin_queue_count(struct hsm_ctrl *c, uint32_t cdw11, enum hsm_queue_kind kind,
				  uint32_t *result)
{
	unsigned int max = kind == HSM_Q_HSM ? c->cfg.hsm_queues_max : c->cfg.aes_queues_max;
	unsigned int *granted = kind == HSM_Q_HSM ? &c->hsm_granted : &c->aes_granted;
	unsigned int nsq = (cdw11 & 0xffff) + 1, ncq = (cdw11 >> 16) + 1;
	unsigned int want = nsq < ncq ? nsq : ncq;
	int first = kind == HSM_Q_HSM ? 1 : 1 + AZIHSM_HSM_QUEUES_MAX;
	int i;

	/* Changing the count under live queues would orphan them. */
	for (i = first; i < first + (int)max; i++) {
		if (c->sq[i].created || c->cq[i].created) {
			hsm_ctrl_guest_error(c, "set queue count with queues created");
			return AZIHSM_SC_FEATURE_NOT_CHANGEABLE;
		}
	}
	if (!max) {
		*granted = 0;
		return AZIHSM_SC_INVALID_FIELD;
	}
	*granted = want < max ? want : max;
	*result = (*granted - 1) | ((*granted - 1) << 16);
	return AZIHSM_SC_SUCCESS;
}

static uint16_t admin_features(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe,
			       bool set, uint32_t *result)
{
	uint32_t fid = le32toh(sqe->cdw10) & 0xff;
	uint32_t cdw11 = le32toh(sqe->cdw11);
	unsigned int g;

	switch (fid) {
	case AZIHSM_FEAT_HSM_QUEUES:
	case AZIHSM_FEAT_AES_QUEUES:
		if (set)
			return admin_queue_count(c, cdw11, fid == AZIHSM_FEAT_HSM_QUEUES ?
						 HSM_Q_HSM : HSM_Q_AES, result);
		g = fid == AZIHSM_FEAT_HSM_QUEUES ? c->hsm_granted : c->aes_granted;
		*result = g ? (g - 1) | ((g - 1) << 16) : 0;
		return AZIHSM_SC_SUCCESS;
	case AZIHSM_FEAT_AES_GCM_WORKAROUND:
		if (set)
			c->gcm_workaround = cdw11 & 1;
		*result = c->gcm_workaround;
		return AZIHSM_SC_SUCCESS;
	}
	hsm_ctrl_guest_error(c, "%s features: FID 0x%x unsupported", set ? "set" : "get", fid);
	return AZIHSM_SC_INVALID_FIELD;
}

void hsm_aer_deliver(struct hsm_ctrl *c)
{
	while (c->aer_n && c->aer_ev_n) {
		if (!hsm_admin_post(c, c->aer_cid[0], c->aer_ev[0]))
			return;	/* CQ full: the next doorbell or event retries */
		c->aer_n--;
		memmove(&c->aer_cid[0], &c->aer_cid[1], c->aer_n * sizeof(c->aer_cid[0]));
		c->aer_ev_n--;
		memmove(&c->aer_ev[0], &c->aer_ev[1], c->aer_ev_n * sizeof(c->aer_ev[0]));
	}
}

/* Async Event Request: kept until an event; lock held. */
static uint16_t admin_async_event(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe,
				  bool *deferred)
{
	if (c->aer_n >= AZIHSM_AER_MAX)
		return AZIHSM_SC_AER_LIMIT;
	c->aer_cid[c->aer_n++] = le16toh(sqe->cid);
	*deferred = true;
	hsm_aer_deliver(c);
	return AZIHSM_SC_SUCCESS;
}

void hsm_admin_execute(struct hsm_ctrl *c, const struct azihsm_admin_sqe *sqe,
		       uint32_t *result, uint16_t *status, bool *deferred)
{
	*result = 0;
	*deferred = false;
	if (sqe->flags >> 6) {
		hsm_ctrl_guest_error(c, "admin opcode 0x%x: PSDT must be PRP", sqe->opc);
		*status = AZIHSM_SC_INVALID_FIELD;
		return;
	}
	/* Identify writes guest memory: no lock needed or wanted. */
	if (sqe->opc == AZIHSM_ADMIN_IDENTIFY) {
		*status = admin_identify(c, sqe);
		return;
	}
	pthread_mutex_lock(&c->lock);
	switch (sqe->opc) {
	case AZIHSM_ADMIN_CREATE_CQ:
		*status = admin_create_cq(c, sqe);
		break;
	case AZIHSM_ADMIN_CREATE_SQ:
		*status = admin_create_sq(c, sqe);
		break;
	case AZIHSM_ADMIN_DELETE_SQ:
		*status = admin_delete_sq(c, sqe);
		break;
	case AZIHSM_ADMIN_DELETE_CQ:
		*status = admin_delete_cq(c, sqe);
		break;
	case AZIHSM_ADMIN_SET_FEATURES:
		*status = admin_features(c, sqe, true, result);
		break;
	case AZIHSM_ADMIN_GET_FEATURES:
		*status = admin_features(c, sqe, false, result);
		break;
	case AZIHSM_ADMIN_ASYNC_EVENT:
		*status = admin_async_event(c, sqe, deferred);
		break;
	case AZIHSM_ADMIN_ABORT:
		/* Commands run to completion; DW0 bit 0 = not aborted. */
		*result = 1;
		*status = AZIHSM_SC_SUCCESS;
		break;
	default:
		hsm_ctrl_guest_error(c, "admin opcode 0x%x unsupported", sqe->opc);
		*status = AZIHSM_SC_INVALID_OPCODE;
		break;
	}
	pthread_mutex_unlock(&c->lock);
}
