// SPDX-License-Identifier: MIT
/*
 * libazihsm on the host: its requests run through the real firmware
 * (hsm_fw_execute) and its parsers read the real answers; argument and
 * error handling that needs no device.
 */
#include <errno.h>
#include <string.h>

#include "azihsm/azihsm.h"
#include "hsm_fw.h"
#include "proto.h"
#include "tap.h"

static int run(struct hsm_fw *fw, const uint8_t *req, size_t len, uint8_t *rsp, size_t cap,
	       size_t *rlen)
{
	struct hsm_fw_cmd cmd = { .in = req, .in_len = len, .out = rsp, .out_cap = cap };
	int sc = hsm_fw_execute(fw, &cmd);

	*rlen = cmd.out_len;
	return sc;
}

int main(void)
{
	const struct hsm_fw_config cfg = { .serial = "LIBTEST-7", .fw_rev = "2.0.1" };
	struct hsm_fw *fw = hsm_fw_new(&cfg);
	uint8_t req[64], rsp[8192], a[100], b[100];
	struct azihsm_rev min, max;
	struct proto_devinfo di;
	struct azihsm_dev *dev;
	struct mbor_dec d;
	uint32_t st;
	size_t len, rlen;

	if (!fw) {
		printf("Bail out! firmware did not start\n");
		return 1;
	}
	len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	tap_ok(len > 0 && !run(fw, req, len, rsp, sizeof(rsp), &rlen), "api rev request runs");
	tap_eq(proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_API_REV, &st), 0, "api rev header");
	tap_ok(!proto_parse_api_rev(&d, &min, &max) && min.major == 1 && max.major == 1 &&
	       max.minor == 0, "api rev parsed: 1.0");
	tap_eq(proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st), -EPROTO,
	       "answer to another opcode is a protocol error");

	len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_DEVICE_INFO);
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	tap_ok(!proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_DEVICE_INFO, &st) &&
	       !proto_parse_devinfo(&d, &di), "device info parsed");
	tap_ok(!strcmp(di.serial, "LIBTEST-7") && !strcmp(di.fw_rev, "2.0.1") && di.kind == 1,
	       "device info: serial, fw-rev, kind");

	len = proto_req_random(req, sizeof(req), 100);
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	tap_ok(!proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st) &&
	       !proto_parse_random(&d, a, 100), "100 random bytes");
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st);
	tap_eq(proto_parse_random(&d, b, 99), -EPROTO, "length mismatch is a protocol error");
	tap_ok(memcmp(a, b, sizeof(a)) != 0, "random answers differ");

	len = proto_req_random(req, sizeof(req), 0);
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	tap_eq(proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st), -EIO,
	       "device refusal surfaces as -EIO");
	tap_eq(st, AZIHSM_STATUS_INVALID_ARG, "with the HSM status");

	tap_eq(proto_rsp_begin(&d, (const uint8_t *)"\xa1\x18", 2, 1002, &st), -EPROTO,
	       "truncated answer is a protocol error");
	tap_eq(proto_req_empty(req, 4, AZIHSM_OP_GET_API_REV), 0, "request into 4 bytes refused");

	tap_eq(azihsm_open("/nonexistent/azihsm9", &dev), -ENOENT, "open missing node: -ENOENT");
	tap_ok(dev == NULL, "no handle on failure");
	tap_eq(azihsm_open("/dev/null", &dev), -ENOTTY, "open /dev/null: -ENOTTY (not ours)");
	tap_eq(azihsm_command(NULL, req, 1, rsp, 1), -EINVAL, "command without device");
	tap_eq(azihsm_random(NULL, NULL, 4), -EINVAL, "random into NULL");
	tap_ok(strstr(azihsm_strerror(-ETIMEDOUT), "timed out") != NULL, "strerror(-ETIMEDOUT)");
	tap_ok(!strcmp(azihsm_status_str((struct azihsm_last_status){
		AZIHSM_STATUS_KIND_HSM, AZIHSM_STATUS_MALFORMED }), "MALFORMED"),
	       "status_str of an HSM status");
	tap_ok(!strcmp(azihsm_status_str((struct azihsm_last_status){
		AZIHSM_STATUS_KIND_COMPLETION, 0x004 }), "DATA_XFER_ERROR"),
	       "status_str of a completion status");
	hsm_fw_free(fw);
	return tap_done();
}
