// SPDX-License-Identifier: MIT
/*
 * Self-tests, the error state and tamper response (hsm-design.md
 * "Self-tests and the error state", "Tamper response") on the real
 * firmware core: every CAST against its published answer and, made to
 * fail (selftest-fail), each family's path into the error state; the DRBG's
 * SP 800-90B health tests on a broken noise source; the reasons, the
 * refusals and what a reset does; CSTS and the Async Event Request through
 * the controller as a driver sees them; a tamper event's zeroize, across a
 * restart on the same state file, and its log. TAP.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "fake_guest.h"
#include "hsm_auth.h"
#include "hsm_fw.h"
#include "hsm_selftest.h"
#include "hsm_vault.h"
#include "svc_util.h"
#include "tap.h"

static const char *const names[] = AZIHSM_SELFTEST_NAMES;

static struct hsm_fw *fw_start(const char *fail, const char *state)
{
	const struct hsm_fw_config cfg = { .serial = "ST-1", .fw_rev = "1",
					   .selftest_fail = fail, .state_path = state };

	return hsm_fw_new(&cfg);
}

static long devinfo_u32(struct hsm_fw *fw, uint8_t id)
{
	struct mbor_dec d;
	struct rsp r;
	uint32_t v;

	if (call0(fw, AZIHSM_OP_GET_DEVICE_INFO, NOSESS, &r) || rsp_field(&r, id, &d) ||
	    mbor_dec_u32(&d, &v))
		return -1;
	return v;
}

static void test_casts(void)
{
	struct hsm_selftest_report rep;
	unsigned int i;
	int id, bad;

	tap_eq(hsm_selftest_run(0, NULL, &rep), 0, "every CAST passes its published known answer");
	tap_eq(rep.n, AZIHSM_ST_COUNT - 1, "one result per family (%u)", rep.n);
	for (i = 0, bad = 0; i < rep.n; i++)
		if (rep.result[i] != AZIHSM_ST_PASS)
			bad++;
	tap_eq(bad, 0, "all pass, integrity included (it always runs)");
	for (id = 1; id < AZIHSM_ST_COUNT; id++) {
		int first = hsm_selftest_run(id, NULL, &rep);

		for (i = 0, bad = 0; i < rep.n; i++)
			if ((rep.result[i] == AZIHSM_ST_FAIL) != (rep.id[i] == id))
				bad++;
		tap_ok(first == id && !bad, "selftest-fail=%s: that CAST fails, only it", names[id]);
	}
	tap_eq(hsm_selftest_id("aes-gcm"), AZIHSM_ST_AES_GCM, "names map to ids");
	tap_eq(hsm_selftest_id("md5"), 0, "an unknown name maps to none");
}

/* The result of self-test @id in @rep, -1 if absent. */
static int st_result(const struct hsm_selftest_report *rep, int id)
{
	unsigned int i;

	for (i = 0; i < rep->n; i++)
		if (rep->id[i] == id)
			return rep->result[i];
	return -1;
}

/* A constant in this program's read-only data, which the code half hashes. */
static const uint8_t ro_canary[64] = { 0xa5, 0x5a };

/*
 * The integrity test's code half is real: a byte changed in the loaded
 * read-only data (as a fault or an attacker writing to it would) fails it;
 * put back, it passes. A reset notices it (error, reason integrity) and,
 * as for a refused image, only a new start leaves that.
 */
static void test_integrity_code(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *page = (uint8_t *)((uintptr_t)ro_canary & ~(uintptr_t)(pg - 1));
	volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)&ro_canary[1];
	struct hsm_selftest_report rep;
	struct hsm_fw *fw = fw_start(NULL, NULL);
	int first;

	tap_ok(fw && !hsm_fw_in_error_state(fw), "integrity: a healthy device starts");
	if (!fw || mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE)) {
		tap_ok(false, "integrity: read-only page made writable (%s)", strerror(errno));
		hsm_fw_free(fw);
		return;
	}
	*b ^= 0x01;
	first = hsm_selftest_run(0, NULL, &rep);
	tap_ok(first == AZIHSM_ST_INTEGRITY && st_result(&rep, AZIHSM_ST_INTEGRITY) ==
						       AZIHSM_ST_FAIL &&
		       st_result(&rep, AZIHSM_ST_AES_ECB) == AZIHSM_ST_PASS,
	       "integrity: one byte of the loaded constants changed -> integrity FAIL, the "
	       "CASTs still pass");
	hsm_fw_restart(fw);
	tap_ok(hsm_fw_in_error_state(fw) &&
		       hsm_fw_error_reason(fw, NULL, 0) == AZIHSM_ERR_INTEGRITY,
	       "integrity: a reset re-runs it: error state, reason integrity");
	*b ^= 0x01;
	mprotect(page, (size_t)pg, PROT_READ);
	tap_eq(hsm_selftest_run(0, NULL, &rep), 0, "integrity: the byte put back -> passes again");
	hsm_fw_restart(fw);
	tap_ok(hsm_fw_in_error_state(fw) &&
		       hsm_fw_error_reason(fw, NULL, 0) == AZIHSM_ERR_INTEGRITY,
	       "integrity: ... but an integrity failure is for good: a reset keeps the error");
	hsm_fw_free(fw);
	fw = fw_start(NULL, NULL);
	tap_ok(fw && !hsm_fw_in_error_state(fw), "integrity: a new start (power cycle) is healthy");
	hsm_fw_free(fw);
}

static long st_call(struct hsm_fw *fw, uint32_t op, int sid, const struct fld *f,
		    unsigned int n, struct rsp *r)
{
	static uint8_t req[4096];
	size_t len = svc_build(req, sizeof(req), op, sid, f, n);

	return len ? rsp_exec(fw, req, len, 0, r) : -1;
}

static long st_keygen(struct hsm_fw *fw, int sid, uint8_t type, bool persistent)
{
	const struct fld f[] = {
		U8(AZIHSM_KEY_F_TYPE, type), U32(AZIHSM_KEY_F_USAGE, AZIHSM_USAGE_SIGN),
		BOOL(AZIHSM_KEY_F_PERSISTENT, persistent),
	};
	struct rsp r;

	return st_call(fw, AZIHSM_OP_KEY_GENERATE, sid, f, NF(f), &r);
}

/*
 * selftest-fail=pct-ec / pct-rsa: the next generated key pair of that kind
 * fails its pairwise consistency test. The key is not stored (not in the
 * vault, not in the state file after a restart), the device enters its
 * error state with reason pct, CSTS shows it, services are refused, and
 * only a reset leaves it; the other kind is not touched.
 */
static void test_pct_fail(const char *dir)
{
	static const struct {
		const char *fail;
		uint8_t type, other;
	} c[] = {
		{ "pct-ec", AZIHSM_KEY_EC_P256, AZIHSM_KEY_RSA2048 },
		{ "pct-rsa", AZIHSM_KEY_RSA2048, AZIHSM_KEY_EC_P256 },
	};
	const uint8_t *oid = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
	const uint8_t *opin = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
	const uint8_t *npin = (const uint8_t *)"officer new PIN!";
	char state[160], detail[64];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		const struct hsm_fw_config cfg = { .serial = "ST-P", .fw_rev = "1",
						   .selftest_fail = c[i].fail,
						   .state_path = state };
		struct hsm_fw *fw;
		unsigned int before;
		struct rsp r;
		long so, st;

		snprintf(state, sizeof(state), "%s/pct-%u", dir, i);
		fw = hsm_fw_new(&cfg);
		tap_ok(fw && !hsm_fw_in_error_state(fw), "%s: the device starts healthy", c[i].fail);
		if (!fw)
			continue;
		so = svc_login(fw, HSM_ROLE_OFFICER, oid, opin);
		if (so > 0 && !svc_change_pin(fw, (uint16_t)so, HSM_ROLE_OFFICER, oid, opin, npin))
			so = svc_login(fw, HSM_ROLE_OFFICER, oid, npin);
		tap_ok(so > 0, "%s: officer session", c[i].fail);
		tap_eq(st_keygen(fw, (int)so, c[i].other, true), 0,
		       "%s: a key pair of the other kind is generated and stored", c[i].fail);
		before = hsm_vault_count(hsm_fw_vault(fw));
		st = st_keygen(fw, (int)so, c[i].type, true);
		tap_ok(st == AZIHSM_STATUS_ERROR_STATE &&
			       hsm_vault_count(hsm_fw_vault(fw)) == before,
		       "%s: the next key pair's PCT fails: KeyGenerate answers ERROR_STATE (0x%lx), "
		       "the vault holds no new key", c[i].fail, (unsigned long)st);
		tap_ok(hsm_fw_in_error_state(fw) &&
			       hsm_fw_error_reason(fw, detail, sizeof(detail)) == AZIHSM_ERR_PCT &&
			       devinfo_u32(fw, AZIHSM_DEVINFO_ERROR_REASON) == AZIHSM_ERR_PCT,
		       "%s: error state, reason pct (%s), in GetDeviceInfo", c[i].fail, detail);
		tap_eq(call0(fw, AZIHSM_OP_GET_RANDOM, NOSESS, &r), AZIHSM_STATUS_ERROR_STATE,
		       "%s: services refused with ERROR_STATE", c[i].fail);
		tap_eq(st_keygen(fw, (int)so, c[i].type, false), AZIHSM_STATUS_ERROR_STATE,
		       "%s: ... KeyGenerate too", c[i].fail);
		hsm_fw_restart(fw);
		tap_ok(!hsm_fw_in_error_state(fw), "%s: a reset (self-tests pass) leaves it",
		       c[i].fail);
		hsm_fw_free(fw);
		/* The same state file: only the other kind's key was stored. */
		fw = hsm_fw_new(&cfg);
		tap_ok(fw && hsm_vault_count(hsm_fw_vault(fw)) == before,
		       "%s: restarted on the same state file: %u key(s), the refused one absent",
		       c[i].fail, fw ? hsm_vault_count(hsm_fw_vault(fw)) : 0);
		hsm_fw_free(fw);
	}
}

/* Each family's failure at power-on: error state, reason, refusals, a reset keeps it. */
static void test_fail_paths(void)
{
	char detail[64], want[64];
	int id;

	tap_ok(!fw_start("md5", NULL), "selftest-fail with an unknown name: the device does not start");
	for (id = 1; id < AZIHSM_ST_COUNT; id++) {
		struct hsm_fw *fw = fw_start(names[id], NULL);
		unsigned int reason, want_reason;
		struct rsp r;
		long st, rnd, info;

		if (!fw) {
			tap_ok(false, "%s: firmware started", names[id]);
			continue;
		}
		want_reason = id == AZIHSM_ST_INTEGRITY ? AZIHSM_ERR_INTEGRITY : AZIHSM_ERR_SELFTEST;
		reason = hsm_fw_error_reason(fw, detail, sizeof(detail));
		snprintf(want, sizeof(want), "self-test %s", names[id]);
		rnd = call0(fw, AZIHSM_OP_GET_RANDOM, NOSESS, &r);
		info = devinfo_u32(fw, AZIHSM_DEVINFO_ERROR_REASON);
		st = call0(fw, AZIHSM_OP_SELF_TEST, NOSESS, &r);
		tap_ok(hsm_fw_in_error_state(fw) && reason == want_reason && !strcmp(detail, want) &&
			       rnd == AZIHSM_STATUS_ERROR_STATE && info == (long)want_reason &&
			       st == 0 && rsp_bool(&r, AZIHSM_SELFTEST_F_PASSED) == 0,
		       "%s fails at power-on: error state (%s), services refused, GetDeviceInfo "
		       "and SelfTest answer", names[id], detail);
		hsm_fw_restart(fw);
		tap_ok(hsm_fw_in_error_state(fw),
		       "%s: a reset re-runs the self-tests, which fail again: still in error",
		       names[id]);
		hsm_fw_free(fw);
	}
}

static void test_reset_and_state(void)
{
	struct hsm_fw *fw = fw_start(NULL, NULL);
	char path[] = "/tmp/azihsm-st-XXXXXX";
	uint8_t b[16];
	const uint8_t *p;
	size_t len;
	struct rsp r;
	int fd;

	tap_ok(fw && !hsm_fw_in_error_state(fw), "a healthy device starts out of the error state");
	tap_eq(call0(fw, AZIHSM_OP_SELF_TEST, NOSESS, &r), 0, "SelfTest without a session");
	tap_ok(rsp_bool(&r, AZIHSM_SELFTEST_F_PASSED) == 1 &&
		       !rsp_bytes(&r, AZIHSM_SELFTEST_F_RESULTS, &p, &len) &&
		       len == 2 * (AZIHSM_ST_COUNT - 1),
	       "SelfTest: passed, a result pair per family");
	tap_eq(devinfo_u32(fw, AZIHSM_DEVINFO_ERROR_REASON), AZIHSM_ERR_NONE,
	       "GetDeviceInfo reason none");
	hsm_drbg_set_failed(hsm_fw_drbg(fw));
	tap_eq(hsm_fw_random(fw, b, sizeof(b)), -1, "a failed DRBG: no random bytes");
	tap_ok(hsm_fw_in_error_state(fw) &&
		       hsm_fw_error_reason(fw, NULL, 0) == AZIHSM_ERR_DRBG,
	       "... and the error state with reason drbg");
	tap_eq(call0(fw, AZIHSM_OP_GET_RANDOM, NOSESS, &r), AZIHSM_STATUS_ERROR_STATE,
	       "then every service is refused with ERROR_STATE");
	hsm_fw_enter_error(fw, AZIHSM_ERR_PCT, "later");
	tap_eq(hsm_fw_error_reason(fw, NULL, 0), AZIHSM_ERR_DRBG, "the first reason is kept");
	hsm_fw_restart(fw);
	tap_ok(!hsm_fw_in_error_state(fw) && hsm_fw_random(fw, b, sizeof(b)) == 0,
	       "a reset (DRBG instantiated anew, self-tests pass) leaves the error state");
	hsm_fw_free(fw);

	/* Stored state that cannot be used: a reset does not make it usable. */
	fd = mkstemp(path);
	if (fd >= 0) {
		if (write(fd, "not a state file, not at all", 28) != 28)
			tap_ok(false, "write");
		close(fd);
	}
	fw = fw_start(NULL, path);
	tap_ok(fw && hsm_fw_error_reason(fw, NULL, 0) == AZIHSM_ERR_STATE,
	       "an unusable state file: error state, reason state");
	if (fw)
		hsm_fw_restart(fw);
	tap_ok(fw && hsm_fw_in_error_state(fw), "... which a reset does not leave");
	hsm_fw_free(fw);
	unlink(path);
}

struct noise {
	unsigned int n;
	int mode;	/* 0: stuck, 1: one value in two of three samples */
};

static int bad_noise(void *ctx, uint8_t *buf, size_t len)
{
	struct noise *z = ctx;
	size_t i;

	for (i = 0; i < len; i++, z->n++)
		buf[i] = z->mode == 0 ? 0x41 : (z->n % 3 == 2 ? (uint8_t)(1 + z->n % 250) : 0);
	return 0;
}

static void test_health(void)
{
	struct hsm_drbg *d = hsm_drbg_new("health test");
	struct noise z = { 0, 0 };
	const char *why;
	int i, ret = 0;
	uint8_t b[32];

	tap_ok(d && !hsm_drbg_failure(d) && !hsm_drbg_reseed(d) && !hsm_drbg_generate(d, b, 32),
	       "the DRBG seeds from the host noise source through the health tests");
	hsm_drbg_set_noise(d, bad_noise, &z);
	tap_eq(hsm_drbg_reseed(d), -1, "a stuck noise source: the reseed fails");
	why = hsm_drbg_failure(d);
	tap_ok(why && strstr(why, "repetition count"), "... on the repetition count test (%s)",
	       why ? why : "none");
	tap_eq(hsm_drbg_generate(d, b, 32), -1, "and the DRBG stays failed");
	hsm_drbg_set_noise(d, NULL, NULL);
	tap_eq(hsm_drbg_reinit(d), 0, "reinit (a reset) with a good source: working again");
	z.mode = 1;
	hsm_drbg_set_noise(d, bad_noise, &z);
	for (i = 0; i < 40 && !ret; i++)
		ret = hsm_drbg_reseed(d);
	why = hsm_drbg_failure(d);
	tap_ok(ret == -1 && why && strstr(why, "adaptive proportion"),
	       "a source biased to one value, never 6 in a row: the adaptive proportion test "
	       "fails (%s)", why ? why : "none");
	hsm_drbg_free(d);
}

static uint32_t csts(struct fake_guest *g)
{
	return (uint32_t)hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4);
}

static void aer_push(struct fake_guest *g, uint16_t cid)
{
	struct azihsm_admin_sqe sqe = { 0 };

	sqe.opc = AZIHSM_ADMIN_ASYNC_EVENT;
	sqe.cid = htole16(cid);
	fg_push(g, &g->admin, &sqe);
	fg_ring(g, &g->admin);
}

static void test_ctrl_events(const char *state)
{
	static const struct hsm_ctrl_config base = {
		.serial = "ST-CTRL", .fw_rev = "1", .model = "AZIHSM-TEST", .ctrl_id = 1,
		.hsm_queues_max = 2, .aes_queues_max = 1,
	};
	struct hsm_ctrl_config cfg = base;
	struct azihsm_admin_cqe cqe;
	struct fake_guest g;
	unsigned int irqs;
	uint32_t dw0;
	int i, st = 0;

	cfg.state_path = state;
	if (fg_init(&g, &cfg)) {
		tap_ok(false, "fake guest");
		return;
	}
	fg_enable(&g, 16);
	tap_ok(!(csts(&g) & (AZIHSM_CSTS_ERR | AZIHSM_CSTS_TAMPER)), "CSTS: no ERR, no TAMPER");
	{
		const struct hsm_key_spec spec = { .type = HSM_KEY_AES256,
						   .usage = HSM_USAGE_ENCRYPT,
						   .label = (const uint8_t *)"k", .label_len = 1 };
		struct hsm_fw *fw = hsm_ctrl_fw(g.ctrl);
		uint16_t id;

		tap_ok(!hsm_vault_generate(hsm_fw_vault(fw), &spec, &id) && !hsm_fw_commit(fw) &&
			       hsm_vault_count(hsm_fw_vault(fw)) == 1,
		       "a persistent key, stored in the state file");
	}
	aer_push(&g, 0x7001);
	tap_eq(fg_reap(&g, &g.admin, &cqe, 200, true), -1,
	       "an Async Event Request stays with the device while nothing happens");
	tap_eq(hsm_ctrl_sensor_set(g.ctrl, AZIHSM_TAMPER_TEMPERATURE, 60), 0,
	       "a reading in range is no event");
	tap_eq(hsm_ctrl_sensor_set(g.ctrl, 9, 0), -1, "an unknown sensor is refused");
	pthread_mutex_lock(&g.lock);
	irqs = g.irqs[AZIHSM_MSIX_VEC_ADMIN];
	pthread_mutex_unlock(&g.lock);
	tap_eq(hsm_ctrl_sensor_set(g.ctrl, AZIHSM_TAMPER_ENCLOSURE, 1), 1,
	       "the enclosure opened: a tamper event");
	tap_eq(fg_reap(&g, &g.admin, &cqe, 2000, true), 0, "the request completes at once");
	dw0 = le32toh(cqe.result);
	tap_ok(le16toh(cqe.cid) == 0x7001 && (dw0 & AZIHSM_AER_TYPE_MASK) == AZIHSM_AER_TAMPER &&
		       ((dw0 >> AZIHSM_AER_REASON_SHIFT) & 0xff) == AZIHSM_ERR_TAMPER &&
		       dw0 >> AZIHSM_AER_COUNT_SHIFT == 1,
	       "its DW0: type tamper, reason tamper, count 1 (0x%x)", dw0);
	pthread_mutex_lock(&g.lock);
	tap_ok(g.irqs[AZIHSM_MSIX_VEC_ADMIN] > irqs, "on MSI-X vector 0");
	pthread_mutex_unlock(&g.lock);
	tap_eq(csts(&g) & (AZIHSM_CSTS_ERR | AZIHSM_CSTS_TAMPER),
	       AZIHSM_CSTS_ERR | AZIHSM_CSTS_TAMPER, "CSTS shows ERR and TAMPER");
	tap_eq(hsm_vault_count(hsm_fw_vault(hsm_ctrl_fw(g.ctrl))), 0, "no key left in the vault");
	for (i = 0; i <= AZIHSM_AER_MAX; i++)
		aer_push(&g, (uint16_t)(0x7100 + i));
	if (fg_reap(&g, &g.admin, &cqe, 2000, true) == 0)
		st = (le16toh(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT) & AZIHSM_CQE_STATUS_MASK;
	tap_ok(st == AZIHSM_SC_AER_LIMIT && le16toh(cqe.cid) == 0x7100 + AZIHSM_AER_MAX,
	       "a request past the %u outstanding: AER_LIMIT", AZIHSM_AER_MAX);
	hsm_ctrl_reset(g.ctrl);
	tap_ok(!(csts(&g) & (AZIHSM_CSTS_ERR | AZIHSM_CSTS_TAMPER)) &&
		       !hsm_fw_in_error_state(hsm_ctrl_fw(g.ctrl)),
	       "a PCI-level reset (self-tests again) clears ERR and TAMPER");
	tap_eq(hsm_fw_tamper_count(hsm_ctrl_fw(g.ctrl), NULL), 1, "the tamper count stays 1");
	fg_fini(&g);
}

/* A power-on self-test failure is an event too, delivered once asked for. */
static void test_ctrl_selftest_event(void)
{
	struct hsm_ctrl_config cfg = {
		.serial = "ST-CTRL2", .fw_rev = "1", .model = "AZIHSM-TEST", .ctrl_id = 1,
		.hsm_queues_max = 2, .aes_queues_max = 1, .selftest_fail = "kbkdf",
	};
	struct azihsm_admin_cqe cqe;
	struct fake_guest g;
	uint32_t dw0;

	if (fg_init(&g, &cfg)) {
		tap_ok(false, "fake guest");
		return;
	}
	fg_enable(&g, 16);
	tap_ok(csts(&g) & AZIHSM_CSTS_ERR, "selftest-fail=kbkdf: CSTS.ERR from the start");
	aer_push(&g, 0x7200);
	tap_eq(fg_reap(&g, &g.admin, &cqe, 2000, true), 0,
	       "the first Async Event Request gets the pending event");
	dw0 = le32toh(cqe.result);
	tap_ok((dw0 & AZIHSM_AER_TYPE_MASK) == AZIHSM_AER_ERROR_STATE &&
		       ((dw0 >> AZIHSM_AER_REASON_SHIFT) & 0xff) == AZIHSM_ERR_SELFTEST,
	       "type error state, reason self-test (0x%x)", dw0);
	fg_fini(&g);
}

static void test_tamper_restart(const char *state)
{
	struct hsm_fw *fw = fw_start(NULL, state);
	const uint8_t *p;
	size_t len;
	struct rsp r;

	tap_ok(fw && !hsm_fw_in_error_state(fw),
	       "restart on the tampered device's state file: it starts (an empty partition)");
	if (!fw)
		return;
	tap_eq(devinfo_u32(fw, AZIHSM_DEVINFO_TAMPER_COUNT), 1, "GetDeviceInfo tamper count 1");
	tap_eq(devinfo_u32(fw, AZIHSM_DEVINFO_PERSIST), AZIHSM_PERSIST_LOADED,
	       "the state file loads (next epoch, nothing in it)");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "no key came back");
	tap_eq(call0(fw, AZIHSM_OP_TAMPER_LOG, NOSESS, &r), 0, "TamperLog without a session");
	tap_ok(!rsp_bytes(&r, AZIHSM_TAMPER_F_ENTRIES, &p, &len) &&
		       len == AZIHSM_TAMPER_ENTRY_LEN && p[0] == AZIHSM_TAMPER_ENCLOSURE &&
		       p[13] == 1,
	       "the log survived: one enclosure event, sequence 1");
	hsm_fw_tamper(fw, AZIHSM_TAMPER_CLOCK, 1000);
	tap_ok(call0(fw, AZIHSM_OP_TAMPER_LOG, NOSESS, &r) == 0 &&
		       !rsp_bytes(&r, AZIHSM_TAMPER_F_ENTRIES, &p, &len) &&
		       len == 2 * AZIHSM_TAMPER_ENTRY_LEN &&
		       p[AZIHSM_TAMPER_ENTRY_LEN] == AZIHSM_TAMPER_CLOCK,
	       "a second event (clock) is appended; TamperLog answers in the error state");
	hsm_fw_free(fw);
}

/* A tamper whose zeroize cannot be stored: the state files go instead. */
static void test_tamper_unstored(const char *dir)
{
	const struct hsm_key_spec spec = { .type = HSM_KEY_AES256, .usage = HSM_USAGE_ENCRYPT,
					   .label = (const uint8_t *)"u", .label_len = 1 };
	char state[160], tmp[170], nv[170];
	char detail[64];
	struct hsm_fw *fw;
	uint16_t id;

	snprintf(state, sizeof(state), "%s/unstored", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state);
	snprintf(nv, sizeof(nv), "%s.nv", state);
	fw = fw_start(NULL, state);
	tap_ok(fw && !hsm_vault_generate(hsm_fw_vault(fw), &spec, &id) && !hsm_fw_commit(fw),
	       "unstored: a persistent key stored");
	if (!fw)
		return;
	/* FILE.tmp a directory: the next commit cannot write. */
	tap_ok(!mkdir(tmp, 0700), "unstored: FILE.tmp made a directory");
	hsm_fw_tamper(fw, AZIHSM_TAMPER_TEMPERATURE, 120);
	hsm_fw_error_reason(fw, detail, sizeof(detail));
	tap_ok(!strcmp(detail, "tamper: zeroize not stored") && access(state, F_OK) &&
		       access(nv, F_OK),
	       "the zeroize could not be stored: FILE and FILE.nv removed (%s)", detail);
	hsm_fw_restart(fw);
	tap_ok(hsm_fw_in_error_state(fw), "... and a PCI reset does not leave the error state");
	hsm_fw_free(fw);
	rmdir(tmp);
	fw = fw_start(NULL, state);
	tap_ok(fw && devinfo_u32(fw, AZIHSM_DEVINFO_PERSIST) == AZIHSM_PERSIST_CREATED &&
		       hsm_vault_count(hsm_fw_vault(fw)) == 0 &&
		       devinfo_u32(fw, AZIHSM_DEVINFO_TAMPER_COUNT) == 1,
	       "a restart: a fresh partition, no key, the tamper log kept");
	hsm_fw_free(fw);
}

int main(void)
{
	char dir[] = "/tmp/azihsm-st-dir-XXXXXX";
	char state[128], cmd[160];

	test_casts();
	test_integrity_code();
	test_fail_paths();
	test_reset_and_state();
	test_health();
	if (!mkdtemp(dir))
		return 1;
	snprintf(state, sizeof(state), "%s/partition", dir);
	test_ctrl_events(state);
	test_pct_fail(dir);
	test_tamper_restart(state);
	test_ctrl_selftest_event();
	test_tamper_unstored(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	return tap_done();
}
