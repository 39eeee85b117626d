/* SPDX-License-Identifier: MIT */
/* libazihsm internals shared by its source files. */
#ifndef AZIHSM_LIB_INTERNAL_H
#define AZIHSM_LIB_INTERNAL_H

#include "azihsm/azihsm.h"
#include "azihsm/mbor.h"

struct azihsm_dev {
	int fd;
	char path[64];
};

void lib_set_status(enum azihsm_status_kind kind, uint32_t code);
/* Send @req, check the response header for @opcode, leave @d at data. */
int lib_transact(struct azihsm_dev *dev, const uint8_t *req, size_t req_len,
		 uint8_t *rsp, size_t rsp_cap, uint32_t opcode, struct mbor_dec *d);
int lib_sysfs_read(struct azihsm_dev *dev, const char *attr, char *buf, size_t cap);

#endif
