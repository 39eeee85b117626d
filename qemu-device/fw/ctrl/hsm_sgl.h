/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scatter-gather lists of the AES fast path (Documentation/device.md,
 * "SGL"). The walker turns the guest's descriptor chain into a flat list
 * of extents after checking every descriptor, so the cipher code never
 * sees guest-controlled structure.
 */
#ifndef HSM_SGL_H
#define HSM_SGL_H

#include <stddef.h>
#include <stdint.h>

#include "azihsm/hw.h"

struct hsm_ctrl;

/* Bounds that make every walk finite and every buffer small. */
#define HSM_SGL_SEGMENTS_MAX	64		/* segment lists followed per SGL */
#define HSM_SGL_EXTENTS_MAX	1024		/* data descriptors per SGL */
#define HSM_SGL_BYTES_MAX	(1u << 20)	/* bytes one SGL may describe */

struct hsm_extent {
	uint64_t addr;
	uint32_t len;
};

struct hsm_sgl {
	struct hsm_extent ext[HSM_SGL_EXTENTS_MAX];
	unsigned int n;
	uint32_t total;
};

/*
 * Walk the SGL whose root descriptor is @root and which must describe
 * exactly @total bytes. Returns AZIHSM_SC_SUCCESS or the status to
 * complete the command with; logs the reason as a guest error.
 */
uint16_t hsm_sgl_walk(struct hsm_ctrl *c, const struct azihsm_sgl_desc *root,
		      uint32_t total, struct hsm_sgl *out);
/* Copy between a walked SGL and a flat buffer of sgl->total bytes. */
uint16_t hsm_sgl_read(struct hsm_ctrl *c, const struct hsm_sgl *sgl, void *buf);
uint16_t hsm_sgl_write(struct hsm_ctrl *c, const struct hsm_sgl *sgl, const void *buf);

#endif /* HSM_SGL_H */
