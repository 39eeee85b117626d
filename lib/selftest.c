// SPDX-License-Identifier: MIT
/* azihsm_selftest, azihsm_tamper_log: SelfTest 4060 and TamperLog 4061. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "proto.h"

static const char *const st_names[] = AZIHSM_SELFTEST_NAMES;
static const char *const tamper_names[] = AZIHSM_TAMPER_NAMES;

const char *azihsm_selftest_result_str(uint8_t result)
{
	switch (result) {
	case AZIHSM_ST_PASS:
		return "pass";
	case AZIHSM_ST_FAIL:
		return "FAIL";
	case AZIHSM_ST_NOT_RUN:
		return "not-run";
	}
	return "?";
}

static uint32_t get_le(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/*
 * Send the session-less request @op with no fields and open its response's
 * map (in @rsp, @cap bytes) for decoding. 0, or a negative errno / device
 * status from lib_transact.
 */
static int empty_request(struct azihsm_dev *dev, uint32_t op, uint8_t *rsp, size_t cap,
			 struct mbor_dec *d, struct mbor_map *m)
{
	uint8_t req[64];
	size_t len = proto_req_empty(req, sizeof(req), op);
	int ret = lib_transact(dev, req, len, rsp, cap, op, d);

	if (ret)
		return ret;
	return mbor_dec_map(d, m) ? -EPROTO : 0;
}

int azihsm_selftest(struct azihsm_dev *dev, struct azihsm_selftest_result *res)
{
	uint8_t rsp[512];
	const uint8_t *p = NULL;
	struct mbor_dec d;
	struct mbor_map m;
	uint32_t count = 0;
	size_t len = 0, i;
	bool have[4] = { false };
	uint8_t id;
	int ret;

	if (!dev || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	ret = empty_request(dev, AZIHSM_OP_SELF_TEST, rsp, sizeof(rsp), &d, &m);
	if (ret)
		return ret;
	while ((ret = mbor_dec_next(&d, &m, &id)) == 1) {
		if (id == AZIHSM_SELFTEST_F_PASSED)
			ret = mbor_dec_bool(&d, &res->passed);
		else if (id == AZIHSM_SELFTEST_F_COUNT)
			ret = mbor_dec_u32(&d, &count);
		else if (id == AZIHSM_SELFTEST_F_RESULTS)
			ret = mbor_dec_bytes(&d, &p, &len);
		else
			ret = mbor_dec_skip(&d);
		if (ret)
			return -EPROTO;
		if (id < 4)
			have[id] = true;
	}
	if (ret < 0 || !have[1] || !have[2] || !have[3] || len != 2 * (size_t)count ||
	    count > sizeof(res->t) / sizeof(res->t[0]))
		return -EPROTO;
	res->n = count;
	for (i = 0; i < count; i++) {
		res->t[i].id = p[2 * i];
		res->t[i].result = p[2 * i + 1];
		snprintf(res->t[i].name, sizeof(res->t[i].name), "%s",
			 res->t[i].id && res->t[i].id < AZIHSM_ST_COUNT ?
			 st_names[res->t[i].id] : "?");
	}
	return 0;
}

int azihsm_tamper_log(struct azihsm_dev *dev, struct azihsm_tamper_log *log)
{
	uint8_t rsp[1024];
	const uint8_t *p = NULL;
	struct mbor_dec d;
	struct mbor_map m;
	size_t len = 0, i;
	bool have_count = false, have_entries = false;
	uint8_t id;
	int ret;

	if (!dev || !log)
		return -EINVAL;
	memset(log, 0, sizeof(*log));
	ret = empty_request(dev, AZIHSM_OP_TAMPER_LOG, rsp, sizeof(rsp), &d, &m);
	if (ret)
		return ret;
	while ((ret = mbor_dec_next(&d, &m, &id)) == 1) {
		if (id == AZIHSM_TAMPER_F_COUNT) {
			ret = mbor_dec_u32(&d, &log->count);
			have_count = true;
		} else if (id == AZIHSM_TAMPER_F_ENTRIES) {
			ret = mbor_dec_bytes(&d, &p, &len);
			have_entries = true;
		} else {
			ret = mbor_dec_skip(&d);
		}
		if (ret)
			return -EPROTO;
	}
	if (ret < 0 || !have_count || !have_entries || len % AZIHSM_TAMPER_ENTRY_LEN ||
	    len / AZIHSM_TAMPER_ENTRY_LEN > sizeof(log->e) / sizeof(log->e[0]))
		return -EPROTO;
	log->n = (unsigned int)(len / AZIHSM_TAMPER_ENTRY_LEN);
	for (i = 0; i < log->n; i++, p += AZIHSM_TAMPER_ENTRY_LEN) {
		log->e[i].sensor = p[0];
		log->e[i].value = (int32_t)get_le(p + 1, 4);
		log->e[i].time = get_le(p + 5, 4) | (uint64_t)get_le(p + 9, 4) << 32;
		log->e[i].seq = get_le(p + 13, 4);
		snprintf(log->e[i].sensor_name, sizeof(log->e[i].sensor_name), "%s",
			 p[0] && p[0] < AZIHSM_TAMPER_SENSORS ? tamper_names[p[0]] : "?");
	}
	return 0;
}
