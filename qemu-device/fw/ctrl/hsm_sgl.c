// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SGL walker for the AES fast path.
 *
 * A root descriptor (in the SQE) is either a data descriptor covering the
 * whole transfer, or a (last) segment descriptor pointing at a list of
 * descriptors in guest memory. A segment list holds data descriptors; in a
 * "segment" list the final entry may chain to the next list, in a "last
 * segment" list it may not. Lists are 16-byte aligned, 16..4096 bytes and
 * do not cross a page (a page holds 255 data descriptors and one chain).
 * The walk is bounded by HSM_SGL_SEGMENTS_MAX lists, so a chain that loops
 * ends with an error rather than spinning.
 */
#include <endian.h>
#include <string.h>

#include "hsm_ctrl_int.h"
#include "hsm_sgl.h"

#define SGL_DESC_SIZE	sizeof(struct azihsm_sgl_desc)
#define SGL_LIST_MAX	AZIHSM_PAGE_SIZE

static unsigned int sgl_type(const struct azihsm_sgl_desc *d)
{
	return d->type >> 4;
}

/* Add one data descriptor; the caller checks the type. */
static uint16_t sgl_add_data(struct hsm_ctrl *c, const struct azihsm_sgl_desc *d,
			     uint32_t total, struct hsm_sgl *out)
{
	uint32_t len = le32toh(d->len);

	if (!len) {
		hsm_ctrl_guest_error(c, "SGL data descriptor of length 0");
		return AZIHSM_SC_SGL_LENGTH_INVALID;
	}
	if (len > total - out->total) {
		hsm_ctrl_guest_error(c, "SGL describes more than the command's %u bytes", total);
		return AZIHSM_SC_SGL_LENGTH_INVALID;
	}
	if (out->n == HSM_SGL_EXTENTS_MAX) {
		hsm_ctrl_guest_error(c, "SGL has more than %u data descriptors",
				     HSM_SGL_EXTENTS_MAX);
		return AZIHSM_SC_SGL_TOO_MANY;
	}
	out->ext[out->n].addr = le64toh(d->addr);
	out->ext[out->n].len = len;
	out->n++;
	out->total += len;
	return AZIHSM_SC_SUCCESS;
}

/* A descriptor that points at a segment list: check where and how big. */
static uint16_t sgl_check_list(struct hsm_ctrl *c, const struct azihsm_sgl_desc *d)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);

	if (!len || len % SGL_DESC_SIZE || len > SGL_LIST_MAX || addr % SGL_DESC_SIZE ||
	    (addr % AZIHSM_PAGE_SIZE) + len > AZIHSM_PAGE_SIZE) {
		hsm_ctrl_guest_error(c, "SGL segment 0x%llx+%u: must be 16-byte aligned, "
				     "16..4096 bytes, within a page", (unsigned long long)addr, len);
		return AZIHSM_SC_SGL_SEGMENT_INVALID;
	}
	return AZIHSM_SC_SUCCESS;
}

uint16_t hsm_sgl_walk(struct hsm_ctrl *c, const struct azihsm_sgl_desc *root,
		      uint32_t total, struct hsm_sgl *out)
{
	struct azihsm_sgl_desc list[SGL_LIST_MAX / SGL_DESC_SIZE];
	struct azihsm_sgl_desc next = *root;
	unsigned int segments = 0, count, i;
	uint16_t sc;

	out->n = 0;
	out->total = 0;
	if (!total || total > HSM_SGL_BYTES_MAX) {
		hsm_ctrl_guest_error(c, "SGL transfer of %u bytes out of range", total);
		return AZIHSM_SC_SGL_LENGTH_INVALID;
	}
	for (;;) {
		unsigned int type = sgl_type(&next);

		if (type == AZIHSM_SGL_TYPE_DATA && segments == 0) {
			sc = sgl_add_data(c, &next, total, out);
			break;
		}
		if (type != AZIHSM_SGL_TYPE_SEGMENT && type != AZIHSM_SGL_TYPE_LAST_SEGMENT) {
			hsm_ctrl_guest_error(c, "SGL descriptor type %u invalid here", type);
			return AZIHSM_SC_SGL_TYPE_INVALID;
		}
		if (++segments > HSM_SGL_SEGMENTS_MAX) {
			hsm_ctrl_guest_error(c, "SGL chains more than %u segments",
					     HSM_SGL_SEGMENTS_MAX);
			return AZIHSM_SC_SGL_TOO_MANY;
		}
		sc = sgl_check_list(c, &next);
		if (sc)
			return sc;
		count = le32toh(next.len) / SGL_DESC_SIZE;
		if (c->ops->dma_read(c->opaque, le64toh(next.addr), list,
				     count * SGL_DESC_SIZE)) {
			hsm_ctrl_guest_error(c, "SGL segment at 0x%llx is not guest RAM",
					     (unsigned long long)le64toh(next.addr));
			return AZIHSM_SC_DATA_XFER_ERROR;
		}
		for (i = 0; i < count; i++) {
			unsigned int t = sgl_type(&list[i]);

			if (t == AZIHSM_SGL_TYPE_DATA) {
				sc = sgl_add_data(c, &list[i], total, out);
				if (sc)
					return sc;
			} else if ((t == AZIHSM_SGL_TYPE_SEGMENT ||
				    t == AZIHSM_SGL_TYPE_LAST_SEGMENT) &&
				   i == count - 1 && sgl_type(&next) == AZIHSM_SGL_TYPE_SEGMENT) {
				break;	/* chain: followed below */
			} else {
				hsm_ctrl_guest_error(c, "SGL descriptor %u of type %u invalid in "
						     "a %s list", i, t,
						     sgl_type(&next) == AZIHSM_SGL_TYPE_SEGMENT ?
						     "segment" : "last-segment");
				return (t == AZIHSM_SGL_TYPE_SEGMENT ||
					t == AZIHSM_SGL_TYPE_LAST_SEGMENT) ?
					AZIHSM_SC_SGL_SEGMENT_INVALID :
					AZIHSM_SC_SGL_TYPE_INVALID;
			}
		}
		if (i == count) {
			/* No chain: a "segment" list must chain, a last one ends. */
			if (sgl_type(&next) == AZIHSM_SGL_TYPE_SEGMENT) {
				hsm_ctrl_guest_error(c, "SGL segment list ends without a chain");
				return AZIHSM_SC_SGL_SEGMENT_INVALID;
			}
			sc = AZIHSM_SC_SUCCESS;
			break;
		}
		next = list[count - 1];
	}
	if (sc)
		return sc;
	if (out->total != total) {
		hsm_ctrl_guest_error(c, "SGL describes %u bytes, the command %u",
				     out->total, total);
		return AZIHSM_SC_SGL_LENGTH_INVALID;
	}
	return AZIHSM_SC_SUCCESS;
}

uint16_t hsm_sgl_read(struct hsm_ctrl *c, const struct hsm_sgl *sgl, void *buf)
{
	uint8_t *p = buf;
	unsigned int i;

	for (i = 0; i < sgl->n; i++) {
		if (c->ops->dma_read(c->opaque, sgl->ext[i].addr, p, sgl->ext[i].len)) {
			hsm_ctrl_guest_error(c, "SGL data at 0x%llx+%u is not guest RAM",
					     (unsigned long long)sgl->ext[i].addr, sgl->ext[i].len);
			return AZIHSM_SC_DATA_XFER_ERROR;
		}
		p += sgl->ext[i].len;
	}
	return AZIHSM_SC_SUCCESS;
}

uint16_t hsm_sgl_write(struct hsm_ctrl *c, const struct hsm_sgl *sgl, const void *buf)
{
	const uint8_t *p = buf;
	unsigned int i;

	for (i = 0; i < sgl->n; i++) {
		/*
		 * A tamper event (or any error state) that came while the job
		 * ran: nothing more of its output reaches the guest.
		 */
		if (hsm_fw_in_error_state(c->fw))
			return AZIHSM_SC_HSM_DEVICE_ERROR;
		if (c->ops->dma_write(c->opaque, sgl->ext[i].addr, p, sgl->ext[i].len)) {
			hsm_ctrl_guest_error(c, "SGL data at 0x%llx+%u is not guest RAM",
					     (unsigned long long)sgl->ext[i].addr, sgl->ext[i].len);
			return AZIHSM_SC_DATA_XFER_ERROR;
		}
		p += sgl->ext[i].len;
	}
	return AZIHSM_SC_SUCCESS;
}
