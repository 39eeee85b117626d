// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes as an HSM request to the firmware
 * (the code the device runs for every HSM SQE), with a response buffer
 * whose size is also fuzzed. Checks the firmware's own contract: it never
 * writes past out_cap, and every successful completion carries a
 * response that decodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_fw.h"

static struct hsm_fw *fw;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AZIHSM_HSM_BUF_MAX + 16];
	struct hsm_fw_cmd cmd = { 0 };
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	bool has_data;
	size_t cap;
	uint16_t sc;

	if (!fw) {
		const struct hsm_fw_config cfg = { .serial = "FUZZ", .fw_rev = "0" };

		fw = hsm_fw_new(&cfg);
		if (!fw)
			abort();
	}
	if (size < 2)
		return 0;
	cap = 1 + ((data[0] | (size_t)data[1] << 8) % AZIHSM_HSM_BUF_MAX);
	memset(out, 0xcc, sizeof(out));
	cmd.in = data + 2;
	cmd.in_len = size - 2;
	cmd.out = out;
	cmd.out_cap = cap;
	sc = hsm_fw_execute(fw, &cmd);
	for (size_t i = cap; i < sizeof(out); i++)
		if (out[i] != 0xcc)
			abort();	/* wrote past out_cap */
	if (sc == AZIHSM_SC_SUCCESS) {
		if (cmd.out_len > cap)
			abort();
		mbor_dec_init(&d, out, cmd.out_len);
		if (azihsm_msg_parse_response(&d, &h, &has_data))
			abort();	/* answered with something undecodable */
	}
	return 0;
}
