// SPDX-License-Identifier: MIT
/*
 * The firmware with a state file: a fresh partition is created and
 * stored, its persistent keys come back after a restart, and a state file
 * that is damaged, cut short, rolled back or another device's puts the
 * module in its error state, reported by GetDeviceInfo, with the file left
 * exactly as it was.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_fw.h"
#include "hsm_vault.h"
#include "tap.h"

static char dir[64], path[128];

static struct hsm_fw *start(const char *state)
{
	const struct hsm_fw_config cfg = { .serial = "PERSIST-1", .fw_rev = "1",
					   .state_path = state };

	return hsm_fw_new(&cfg);
}

/* Run @opcode with an empty data map; returns the HSM status, *d at data. */
static long call(struct hsm_fw *fw, uint32_t opcode, uint8_t *rsp, size_t cap,
		 struct mbor_dec *d)
{
	struct azihsm_req_hdr h = { .opcode = opcode };
	struct azihsm_rsp_hdr rh;
	struct hsm_fw_cmd cmd = { 0 };
	uint8_t req[64];
	struct mbor_enc e;
	bool has_data;
	size_t len;

	mbor_enc_init(&e, req, sizeof(req));
	if (opcode == AZIHSM_OP_GET_RANDOM) {
		azihsm_msg_random_request(&e, 16);
	} else {
		azihsm_msg_begin_request(&e, &h);
		mbor_enc_map(&e, 0);
	}
	mbor_enc_finish(&e, &len);
	cmd.in = req;
	cmd.in_len = len;
	cmd.out = rsp;
	cmd.out_cap = cap;
	if (hsm_fw_execute(fw, &cmd))
		return -1;
	mbor_dec_init(d, rsp, cmd.out_len);
	if (azihsm_msg_parse_response(d, &rh, &has_data))
		return -1;
	return rh.status;
}

/* GetDeviceInfo's persist field and error flag. */
static int devinfo(struct hsm_fw *fw, uint32_t *persist, bool *err)
{
	uint8_t rsp[512];
	struct mbor_dec d;
	struct mbor_map m;
	uint8_t id;

	*persist = 99;
	*err = false;
	if (call(fw, AZIHSM_OP_GET_DEVICE_INFO, rsp, sizeof(rsp), &d))
		return -1;
	mbor_dec_map(&d, &m);
	while (mbor_dec_next(&d, &m, &id) == 1) {
		if (id == AZIHSM_DEVINFO_PERSIST)
			mbor_dec_u32(&d, persist);
		else if (id == AZIHSM_DEVINFO_ERROR_STATE)
			mbor_dec_bool(&d, err);
		else
			mbor_dec_skip(&d);
	}
	return mbor_dec_finish(&d) ? -1 : 0;
}

static size_t slurp(const char *p, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(p, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void spit(const char *p, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(p, "wb");

	if (f) {
		fwrite(buf, 1, len, f);
		fclose(f);
	}
}

/* Start on a damaged file: error state, reason reported, file untouched. */
static void expect_refused(const char *what, uint32_t want)
{
	static uint8_t before[65536], after[65536];
	size_t nb = slurp(path, before, sizeof(before)), na;
	struct hsm_fw *fw = start(path);
	uint8_t rsp[512];
	struct mbor_dec d;
	uint32_t persist;
	bool err;

	if (!tap_ok(fw != NULL, "%s: the device still starts", what))
		return;
	tap_ok(!devinfo(fw, &persist, &err) && persist == want && err,
	       "%s: GetDeviceInfo reports %s and the error state", what,
	       azihsm_persist_name(want));
	tap_eq(call(fw, AZIHSM_OP_GET_RANDOM, rsp, sizeof(rsp), &d), AZIHSM_STATUS_ERROR_STATE,
	       "%s: services refused", what);
	tap_eq(call(fw, AZIHSM_OP_GET_API_REV, rsp, sizeof(rsp), &d), 0,
	       "%s: GetApiRev still answers", what);
	tap_eq(hsm_fw_commit(fw), -1, "%s: nothing is written over the file", what);
	hsm_fw_free(fw);
	na = slurp(path, after, sizeof(after));
	tap_ok(na == nb && !memcmp(before, after, nb), "%s: the file is unchanged", what);
}

int main(void)
{
	static uint8_t good[65536], gen1[65536], pub1[1024], pub2[1024];
	const struct hsm_key_spec spec = { .type = HSM_KEY_EC_P256, .usage = HSM_USAGE_SIGN,
					   .label = (const uint8_t *)"sig1", .label_len = 4 };
	struct hsm_key_attr attr;
	size_t good_len, gen1_len, pub1_len = 0, pub2_len = 0;
	struct hsm_fw *fw;
	uint32_t persist;
	uint16_t id = 0, id2;
	char other[128];
	bool err;

	snprintf(dir, sizeof(dir), "/tmp/azihsm-persist-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/partition", dir);

	fw = start(NULL);
	tap_ok(fw && !devinfo(fw, &persist, &err) && persist == AZIHSM_PERSIST_VOLATILE && !err,
	       "no state file: volatile partition");
	hsm_fw_free(fw);

	fw = start(path);
	tap_ok(fw && !devinfo(fw, &persist, &err) && persist == AZIHSM_PERSIST_CREATED && !err,
	       "first start: a fresh partition is created");
	tap_ok(access(path, F_OK) == 0, "and stored at once");
	gen1_len = slurp(path, gen1, sizeof(gen1));
	tap_eq(hsm_vault_generate(hsm_fw_vault(fw), &spec, &id), HSM_VAULT_OK,
	       "generate a persistent P-256 key");
	hsm_vault_export_public(hsm_fw_vault(fw), id, pub1, sizeof(pub1), &pub1_len);
	tap_eq(hsm_fw_commit(fw), 0, "commit");
	hsm_fw_free(fw);

	fw = start(path);
	tap_ok(fw && !devinfo(fw, &persist, &err) && persist == AZIHSM_PERSIST_LOADED && !err,
	       "restart: partition loaded");
	tap_ok(!hsm_vault_find_label(hsm_fw_vault(fw), "sig1", 4, 0, &id2) && id2 == id,
	       "the key is back under its label and id");
	tap_ok(!hsm_vault_get_attr(hsm_fw_vault(fw), id, &attr) &&
	       attr.type == HSM_KEY_EC_P256 && attr.usage == HSM_USAGE_SIGN,
	       "with its type and usage");
	hsm_vault_export_public(hsm_fw_vault(fw), id, pub2, sizeof(pub2), &pub2_len);
	tap_ok(pub1_len && pub1_len == pub2_len && !memcmp(pub1, pub2, pub1_len),
	       "and the same key pair");
	hsm_fw_free(fw);
	good_len = slurp(path, good, sizeof(good));

	good[good_len / 2] ^= 0x10;
	spit(path, good, good_len);
	expect_refused("one flipped bit", AZIHSM_PERSIST_CORRUPT);
	good[good_len / 2] ^= 0x10;

	spit(path, good, 40);
	expect_refused("cut to 40 bytes", AZIHSM_PERSIST_TRUNCATED);

	spit(path, gen1, gen1_len);
	expect_refused("an older generation put back", AZIHSM_PERSIST_ROLLED_BACK);

	/* Another device: its own NV secret, our file. */
	snprintf(other, sizeof(other), "%s/other", dir);
	fw = start(other);
	hsm_fw_free(fw);
	spit(other, good, good_len);
	snprintf(path, sizeof(path), "%s", other);
	expect_refused("another device's file", AZIHSM_PERSIST_FOREIGN);

	snprintf(path, sizeof(path), "%s/partition", dir);
	spit(path, good, good_len);
	fw = start(path);
	tap_ok(fw && !devinfo(fw, &persist, &err) && persist == AZIHSM_PERSIST_LOADED && !err,
	       "the good file put back loads again");
	hsm_fw_free(fw);

	snprintf(other, sizeof(other), "%s/partition.nv", dir);
	unlink(other);
	expect_refused("NV file gone", AZIHSM_PERSIST_NV_CORRUPT);

	snprintf(other, sizeof(other), "rm -rf '%s'", dir);
	if (system(other))
		printf("# could not remove %s\n", dir);
	return tap_done();
}
