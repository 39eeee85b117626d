// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the MBOR decoder on arbitrary input, and a re-encode
 * of whatever decoded, which must decode again to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azihsm/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct azihsm_req_hdr h, h2;
	uint8_t buf[128];
	struct mbor_enc e;
	struct mbor_dec d;
	bool has_data;
	size_t len;

	mbor_dec_init(&d, data, size);
	mbor_dec_skip(&d);
	mbor_dec_finish(&d);

	mbor_dec_init(&d, data, size);
	if (azihsm_msg_parse_request(&d, &h, &has_data))
		return 0;
	mbor_enc_init(&e, buf, sizeof(buf));
	azihsm_msg_begin_request(&e, &h);
	mbor_enc_map(&e, 0);
	if (mbor_enc_finish(&e, &len))
		abort();
	mbor_dec_init(&d, buf, len);
	if (azihsm_msg_parse_request(&d, &h2, &has_data) || h2.opcode != h.opcode ||
	    h2.has_session != h.has_session || h2.has_rev != h.has_rev ||
	    (h.has_session && h2.session_id != h.session_id) ||
	    (h.has_rev && (h2.rev.major != h.rev.major || h2.rev.minor != h.rev.minor)))
		abort();
	return 0;
}
