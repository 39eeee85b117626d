// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PRP transfers. A buffer is at most two pages: PRP1 (any dword-aligned
 * address) covers up to the end of its page, PRP2 (page aligned) the rest.
 * PRP lists are not part of the interface: a transfer that would need one
 * is refused, as is any range the host says is not guest RAM.
 */
#include "hsm_ctrl_int.h"

#define PAGE_MASK_LOW ((uint64_t)AZIHSM_PAGE_SIZE - 1)

struct prp_seg {
	uint64_t addr;
	size_t len;
};

static uint16_t prp_split(struct hsm_ctrl *c, uint64_t prp1, uint64_t prp2,
			  size_t len, struct prp_seg seg[2])
{
	size_t first = AZIHSM_PAGE_SIZE - (prp1 & PAGE_MASK_LOW);

	if (!len || len > AZIHSM_HSM_BUF_MAX) {
		hsm_ctrl_guest_error(c, "PRP transfer length %zu out of range", len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (prp1 & 3) {
		hsm_ctrl_guest_error(c, "PRP1 0x%llx not dword aligned",
				     (unsigned long long)prp1);
		return AZIHSM_SC_INVALID_FIELD;
	}
	seg[0].addr = prp1;
	seg[0].len = len < first ? len : first;
	seg[1].addr = prp2;
	seg[1].len = len - seg[0].len;
	if (seg[1].len && (prp2 & PAGE_MASK_LOW)) {
		hsm_ctrl_guest_error(c, "PRP2 0x%llx not page aligned",
				     (unsigned long long)prp2);
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (seg[1].len > AZIHSM_PAGE_SIZE) {
		hsm_ctrl_guest_error(c, "transfer of %zu bytes needs a PRP list", len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	return AZIHSM_SC_SUCCESS;
}

uint16_t hsm_prp_read(struct hsm_ctrl *c, uint64_t prp1, uint64_t prp2,
		      void *buf, size_t len)
{
	struct prp_seg seg[2];
	uint8_t *p = buf;
	uint16_t sc;
	int i;

	sc = prp_split(c, prp1, prp2, len, seg);
	for (i = 0; !sc && i < 2 && seg[i].len; i++) {
		if (c->ops->dma_read(c->opaque, seg[i].addr, p, seg[i].len)) {
			hsm_ctrl_guest_error(c, "DMA read of 0x%llx+%zu is not guest RAM",
					     (unsigned long long)seg[i].addr, seg[i].len);
			sc = AZIHSM_SC_DATA_XFER_ERROR;
		}
		p += seg[i].len;
	}
	return sc;
}

uint16_t hsm_prp_write(struct hsm_ctrl *c, uint64_t prp1, uint64_t prp2,
		       const void *buf, size_t len)
{
	struct prp_seg seg[2];
	const uint8_t *p = buf;
	uint16_t sc;
	int i;

	sc = prp_split(c, prp1, prp2, len, seg);
	for (i = 0; !sc && i < 2 && seg[i].len; i++) {
		if (c->ops->dma_write(c->opaque, seg[i].addr, p, seg[i].len)) {
			hsm_ctrl_guest_error(c, "DMA write of 0x%llx+%zu is not guest RAM",
					     (unsigned long long)seg[i].addr, seg[i].len);
			sc = AZIHSM_SC_DATA_XFER_ERROR;
		}
		p += seg[i].len;
	}
	return sc;
}
