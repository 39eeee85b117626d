/* SPDX-License-Identifier: MIT */
/*
 * libazihsm's requests and response parsing, separate from the ioctl
 * plumbing so host tests can run them against the firmware core directly.
 * Return values: 0 or negative errno; -EIO means the HSM refused the
 * request and *hsm_status says why; -EPROTO means the response did not
 * decode.
 */
#ifndef AZIHSM_LIB_PROTO_H
#define AZIHSM_LIB_PROTO_H

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"

struct proto_devinfo {
	uint32_t kind;
	uint32_t tables;
	bool fips;
	char serial[33];
	char fw_rev[33];
	uint32_t persist;	/* enum azihsm_persist */
	bool error_state;
};

/* Build a request; returns its length, or 0 if @cap is too small. */
size_t proto_req_empty(uint8_t *buf, size_t cap, uint32_t opcode);
size_t proto_req_random(uint8_t *buf, size_t cap, uint16_t len);

/* Check the response header for @opcode; leaves @d at the data map. */
int proto_rsp_begin(struct mbor_dec *d, const uint8_t *rsp, size_t len, uint32_t opcode,
		    uint32_t *hsm_status);
int proto_parse_api_rev(struct mbor_dec *d, struct azihsm_rev *min, struct azihsm_rev *max);
int proto_parse_devinfo(struct mbor_dec *d, struct proto_devinfo *info);
/* Exactly @want bytes or -EPROTO. */
int proto_parse_random(struct mbor_dec *d, void *out, size_t want);

#endif
