// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: SelfTest 4060 and TamperLog 4061 (maps:
 * include/azihsm/msg.h; design: Documentation/hsm-design.md "Self-tests and
 * the error state", "Tamper response"), and the power-on self-tests.
 *
 * Both are open to anyone, without a session and in the error state: the
 * self-tests run on published vectors only (nothing secret in or out, about
 * as costly as a GetRandom of a few KiB), and the tamper log holds what an
 * auditor must be able to read, above all after a tamper event.
 */
#include <stdio.h>
#include <string.h>

#include "hsm_fw_int.h"

int fw_run_selftests(struct hsm_fw *fw, struct hsm_selftest_report *rep)
{
	struct hsm_selftest_report local;
	char detail[HSM_FW_ERR_DETAIL];
	int failed;

	failed = hsm_selftest_run(fw->selftest_fail, &fw->boot, rep ? rep : &local);
	if (failed) {
		snprintf(detail, sizeof(detail), "self-test %s", hsm_selftest_name(failed));
		hsm_fw_enter_error(fw, failed == AZIHSM_ST_INTEGRITY ? AZIHSM_ERR_INTEGRITY :
								       AZIHSM_ERR_SELFTEST, detail);
	}
	return failed;
}

uint32_t fw_svc_self_test(struct fw_req *r)
{
	struct hsm_selftest_report rep;
	uint8_t pairs[2 * AZIHSM_ST_COUNT];
	uint32_t st = fw_decode(r, NULL, 0);
	unsigned int i;
	int failed;

	if (st)
		return st;
	failed = fw_run_selftests(r->fw, &rep);
	for (i = 0; i < rep.n; i++) {
		pairs[2 * i] = rep.id[i];
		pairs[2 * i + 1] = rep.result[i];
	}
	mbor_enc_map(r->e, 3);
	mbor_enc_key(r->e, AZIHSM_SELFTEST_F_PASSED);
	mbor_enc_bool(r->e, !failed);
	mbor_enc_key(r->e, AZIHSM_SELFTEST_F_COUNT);
	mbor_enc_u32(r->e, rep.n);
	mbor_enc_key(r->e, AZIHSM_SELFTEST_F_RESULTS);
	mbor_enc_bytes(r->e, pairs, 2 * rep.n);
	return fw_rsp_fits(r) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_RSP_TOO_LARGE;
}

uint32_t fw_svc_tamper_log(struct fw_req *r)
{
	uint8_t entries[AZIHSM_TAMPER_LOG_MAX * AZIHSM_TAMPER_ENTRY_LEN];
	uint32_t st = fw_decode(r, NULL, 0);
	uint32_t count;
	unsigned int n;

	if (st)
		return st;
	pthread_mutex_lock(&r->fw->err_lock);
	count = r->fw->tamper.count;
	n = r->fw->tamper.n;
	hsm_tamper_log_encode(&r->fw->tamper, entries);
	pthread_mutex_unlock(&r->fw->err_lock);
	mbor_enc_map(r->e, 2);
	mbor_enc_key(r->e, AZIHSM_TAMPER_F_COUNT);
	mbor_enc_u32(r->e, count);
	mbor_enc_key(r->e, AZIHSM_TAMPER_F_ENTRIES);
	mbor_enc_bytes(r->e, entries, n * AZIHSM_TAMPER_ENTRY_LEN);
	return fw_rsp_fits(r) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_RSP_TOO_LARGE;
}
