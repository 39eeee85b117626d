// SPDX-License-Identifier: MIT
/*
 * Seeds for fuzz_state, made by the firmware core itself: a device with a
 * state file starts, its officer logs in and changes the PIN, generates
 * persistent keys, makes a BK3, the user logs in and changes the PIN, a
 * tamper event zeroizes it (epoch 1, a tamper log); after
 * each step the files the core wrote (FILE, FILE.nv, FILE.tamper) and the
 * authenticated plaintext image inside FILE become seeds in fuzz_state's
 * input format (fuzz_state.c). Nothing here is committed: seeds.sh runs it.
 *
 *   mkseeds_state CORPUS_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_fw.h"
#include "hsm_state.h"
#include "svc_util.h"

static const char *corpus;
static char path[256];

/* Every step's FILE.nv and FILE, for the crossed seeds. */
#define STEPS_MAX 8
static struct {
	uint8_t *nv, *st;
	size_t nvl, stl;
} steps[STEPS_MAX];
static unsigned int nsteps;

static int slurp(const char *name, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(name, "rb");
	long n;

	*buf = NULL;
	*len = 0;
	if (!f)
		return errno == ENOENT ? 1 : -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto bad;
	*buf = malloc((size_t)n + 1);
	if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n)
		goto bad;
	*len = (size_t)n;
	fclose(f);
	return 0;
bad:
	fclose(f);
	free(*buf);
	return -1;
}

static void put(const char *name, uint8_t mode, const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen, int nv_len)
{
	char fn[512];
	FILE *f;

	snprintf(fn, sizeof(fn), "%s/state-%s-%u", corpus, name, mode);
	f = fopen(fn, "wb");
	if (!f) {
		perror(fn);
		exit(1);
	}
	fputc(mode, f);
	if (nv_len >= 0)
		fputc(nv_len, f);
	if (alen)
		fwrite(a, 1, alen, f);
	if (blen)
		fwrite(b, 1, blen, f);
	if (fclose(f)) {
		perror(fn);
		exit(1);
	}
}

/* The files now on disk as seeds of every mode. */
static void emit(const char *name)
{
	uint8_t *nv, *st, *tl, *img;
	enum hsm_state_status s;
	struct hsm_state *store;
	char fn[300];
	size_t nvl, stl, tll, imgl;

	snprintf(fn, sizeof(fn), "%s.nv", path);
	if (slurp(fn, &nv, &nvl) || nvl > 254 || slurp(path, &st, &stl)) {
		fprintf(stderr, "mkseeds_state: %s: no state files\n", name);
		exit(1);
	}
	put(name, 0, nv, nvl, st, stl, (int)nvl);
	if (nsteps == STEPS_MAX)
		exit(1);
	steps[nsteps].nv = nv;
	steps[nsteps].nvl = nvl;
	steps[nsteps].st = st;
	steps[nsteps].stl = stl;
	nsteps++;
	snprintf(fn, sizeof(fn), "%s.tamper", path);
	if (!slurp(fn, &tl, &tll)) {
		put(name, 3, tl, tll, NULL, 0, -1);
		free(tl);
	}
	store = hsm_state_open(path, &s);
	if (s != HSM_STATE_OK || hsm_state_load(store, &img, &imgl)) {
		fprintf(stderr, "mkseeds_state: %s: state %s\n", name, hsm_state_status_str(s));
		exit(1);
	}
	put(name, 1, img, imgl, NULL, 0, -1);
	put(name, 2, img, imgl, NULL, 0, -1);
	hsm_state_free_image(img, imgl);
	hsm_state_close(store);
}

/*
 * One step's FILE.nv with another's FILE: FILE one commit ahead is the
 * crash between a commit's two renames (repaired on open, across a new
 * epoch too), behind it a replay (rolled back), and so on.
 */
static void emit_crossed(void)
{
	char name[32];

	for (unsigned int i = 0; i < nsteps; i++) {
		for (unsigned int j = 0; j < nsteps; j++) {
			if (i == j)
				continue;
			snprintf(name, sizeof(name), "nv%u-file%u", i, j);
			put(name, 0, steps[i].nv, steps[i].nvl, steps[j].st, steps[j].stl,
			    (int)steps[i].nvl);
		}
	}
}

static long keygen(struct hsm_fw *fw, int sid, uint8_t type, uint32_t usage, const char *label)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, sid);

	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(e, type);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, usage);
	mbor_enc_key(e, AZIHSM_KEY_F_LABEL);
	mbor_enc_bytes(e, label, strlen(label));
	mbor_enc_key(e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(e, true);
	return rq_send(fw, &q, &r);
}

#define CHECK(x)                                                                  \
	do {                                                                      \
		if (x) {                                                          \
			fprintf(stderr, "mkseeds_state: %s failed\n", #x);        \
			exit(1);                                                  \
		}                                                                 \
	} while (0)

int main(int argc, char **argv)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	const uint8_t *oid = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
	const uint8_t *uid = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
	const uint8_t *opin = (const uint8_t *)"seed officer PIN";
	const uint8_t *upin = (const uint8_t *)"seed user's PIN!";
	char dir[] = "/tmp/azihsm-seeds.XXXXXX";
	struct hsm_fw_config cfg = { .serial = "SEEDS", .fw_rev = "1", .auth = &acfg };
	struct rsp r;
	struct hsm_fw *fw;
	long o, u;

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds_state CORPUS_DIR\n");
		return 2;
	}
	corpus = argv[1];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	cfg.state_path = path;
	fw = hsm_fw_new(&cfg);
	CHECK(!fw);
	emit("fresh");
	o = svc_login(fw, HSM_ROLE_OFFICER, oid, (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN);
	CHECK(o <= 0);
	CHECK(svc_change_pin(fw, (uint16_t)o, HSM_ROLE_OFFICER, oid,
			     (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN, opin));
	emit("officer");
	CHECK(keygen(fw, (int)o, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT,
		     "aes"));
	CHECK(keygen(fw, (int)o, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY,
		     "ec"));
	emit("keys");
	CHECK(call0(fw, AZIHSM_OP_INIT_BK3, (int)o, &r));
	emit("bk3");
	u = svc_login(fw, HSM_ROLE_USER, uid, (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN);
	CHECK(u <= 0);
	CHECK(svc_change_pin(fw, (uint16_t)u, HSM_ROLE_USER, uid,
			     (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN, upin));
	/* A failed login: the lockout counter is part of the image. */
	svc_login(fw, HSM_ROLE_USER, uid, (const uint8_t *)"not the PIN 0000");
	emit("user");
	/* A tamper event: zeroized (epoch 1) and a tamper log. */
	hsm_fw_tamper(fw, AZIHSM_TAMPER_VOLTAGE, 5000);
	emit("tampered");
	hsm_fw_free(fw);
	emit_crossed();
	/* Both files are the core's; leave nothing behind. */
	{
		char fn[300];
		const char *sfx[] = { "", ".nv", ".tamper" };

		for (unsigned int i = 0; i < 3; i++) {
			snprintf(fn, sizeof(fn), "%s%s", path, sfx[i]);
			unlink(fn);
		}
		rmdir(dir);
	}
	return 0;
}
