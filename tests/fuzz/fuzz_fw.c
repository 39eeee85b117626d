// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes as an HSM request to the firmware
 * (the code the device runs for every HSM SQE), with a response buffer
 * whose size is also fuzzed. Checks the firmware's own contract: it never
 * writes past out_cap, and every successful completion carries a
 * response that decodes. Session 1 is open (officer, PIN changed), so
 * requests naming it reach the key services; when an input closes it the
 * firmware is started afresh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"

static struct hsm_fw *fw;
static uint16_t app;	/* session 1's short_app_id: the fuzzer is its holder */

static int seal(struct hsm_auth *a, enum hsm_auth_msg_kind kind, const char *pin,
		const char *new_pin, uint8_t *nonce, struct hsm_auth_sealed *m)
{
	uint8_t pub[HSM_AUTH_PUB_MAX];
	size_t len;

	if (hsm_auth_session_key(a, pub, sizeof(pub), &len, nonce))
		return -1;
	return hsm_auth_client_seal(pub, len, nonce, kind, HSM_ROLE_OFFICER,
				    (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID,
				    (const uint8_t *)pin, (const uint8_t *)new_pin, m);
}

/* A fresh volatile firmware with officer session 1 open and unrestricted. */
static void start(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000, .first_session_id = 1 };
	const struct hsm_fw_config cfg = { .serial = "FUZZ", .fw_rev = "0", .auth = &acfg };
	const char *pin1 = "fuzz officer PIN";
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed m;
	enum hsm_auth_role role;
	struct hsm_auth *a;
	uint16_t sid = 0;

	hsm_fw_free(fw);
	fw = hsm_fw_new(&cfg);
	if (!fw)
		abort();
	a = hsm_fw_auth(fw);
	if (seal(a, HSM_AUTH_MSG_OPEN, HSM_AUTH_DEFAULT_OFFICER_PIN, NULL, nonce, &m) ||
	    hsm_auth_open_session(a, m.host_pub, m.host_pub_len, nonce, m.ct, m.ct_len, m.tag,
				  &sid, &role) || sid != 1 ||
	    seal(a, HSM_AUTH_MSG_CHPIN, HSM_AUTH_DEFAULT_OFFICER_PIN, pin1, nonce, &m) ||
	    hsm_auth_change_pin(a, sid, m.host_pub, m.host_pub_len, nonce, m.ct, m.ct_len,
				m.tag) ||
	    hsm_auth_session_app_id(a, sid, &app))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AZIHSM_HSM_BUF_MAX + 16];
	struct hsm_fw_cmd cmd = { 0 };
	enum hsm_auth_role role;
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	bool has_data;
	size_t cap;
	uint16_t sc;

	if (!fw || hsm_auth_session_role(hsm_fw_auth(fw), 1, &role))
		start();
	if (size < 2)
		return 0;
	cap = 1 + ((data[0] | (size_t)data[1] << 8) % AZIHSM_HSM_BUF_MAX);
	memset(out, 0xcc, sizeof(out));
	cmd.in = data + 2;
	cmd.in_len = size - 2;
	cmd.out = out;
	cmd.out_cap = cap;
	cmd.short_app_id = app;
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
