// SPDX-License-Identifier: MIT
/*
 * The benchmark program of scripts/bench-hsm: operations per second of
 * ECDSA P-256 / P-384 sign, RSA-2048 / 4096 sign (PKCS#1 v1.5, SHA-256)
 * and AES-256-GCM encryption of 4 KiB (the control-path AesEncryptDecrypt
 * command, one command per 4 KiB), each in one session with session keys,
 * looping for SECONDS (default 3) per operation.
 *
 *   hsm-bench [SECONDS]
 *   hsm-bench --null SECONDS [N]
 *
 * A first row, null-getapirev, times the null command GetApiRev (no
 * session, no crypto: the round trip alone). --null runs only that row,
 * for SECONDS, or for N commands when N is given (scripts/bench-null).
 *
 * Built two ways from this one source: for the guest (tests/guest/Makefile,
 * libazihsm over the driver's ioctl), and with -DHSM_BENCH_FW on the host,
 * where libazihsm's internal transport hook hands each request straight to
 * the firmware core's entry point hsm_fw_execute() (the same MBOR requests,
 * no driver, no queues, no QEMU). A fresh partition is assumed: the
 * default officer PIN is changed first. Prints "op count seconds ops/s"
 * lines.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azihsm/azihsm.h"

#ifdef HSM_BENCH_FW
#include "hsm_fw.h"
#include "internal.h"
#include "test_pki.h"	/* libazihsm logs in only to a device of a trusted root */
#include "drv_app_id.h"	/* the driver's short_app_id bookkeeping */

static int fw_xfer(void *ctx, struct lib_xfer *x)
{
	struct hsm_fw_cmd cmd = {
		.in = x->req, .in_len = x->req_len, .out = x->rsp, .out_cap = x->rsp_cap,
		.session_flags = x->session_flags, .session_id = x->session_id,
	};
	uint16_t sc;

	drv_app_fill(&cmd);
	sc = hsm_fw_execute(ctx, &cmd);
	drv_app_record(&cmd);
	if (sc) {
		lib_set_status(AZIHSM_STATUS_KIND_COMPLETION, sc);
		return -EIO;
	}
	return (int)cmd.out_len;
}
#endif

#define DEFAULT_PIN "CO-default-PIN-1"
#define BENCH_PIN "bench-officer-01"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, int ret, struct azihsm_dev *dev)
{
	fprintf(stderr, "hsm-bench: %s: %s (%s)\n", what, azihsm_strerror(ret),
		azihsm_status_str(azihsm_last_status(dev)));
	return 1;
}

struct bench {
	const char *name;
	enum azihsm_key_type type;
	uint32_t usage;
	int kind;		/* 0 ECDSA, 1 RSA, 2 AES-GCM */
	enum azihsm_hash_alg hash;
	size_t digest_len;
};

static const struct bench benches[] = {
	{ "ecdsa-p256-sign", AZIHSM_KEY_TYPE_EC_P256, AZIHSM_KEY_USE_SIGN, 0,
	  AZIHSM_HASH_ALG_SHA256, 32 },
	{ "ecdsa-p384-sign", AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_USE_SIGN, 0,
	  AZIHSM_HASH_ALG_SHA384, 48 },
	{ "rsa2048-sign", AZIHSM_KEY_TYPE_RSA2048, AZIHSM_KEY_USE_SIGN, 1,
	  AZIHSM_HASH_ALG_SHA256, 32 },
	{ "rsa4096-sign", AZIHSM_KEY_TYPE_RSA4096, AZIHSM_KEY_USE_SIGN, 1,
	  AZIHSM_HASH_ALG_SHA256, 32 },
	{ "aes256-gcm-4k", AZIHSM_KEY_TYPE_AES256, AZIHSM_KEY_USE_ENCRYPT, 2, 0, 0 },
};

static int one(struct azihsm_session *s, const struct bench *b, uint16_t key, uint64_t n)
{
	static uint8_t in[4096], out[4096 + 64], digest[64];
	uint8_t iv[12] = { 0 }, tag[16];
	/* GCM encryption: the device draws the IV (issue 9). */
	struct azihsm_aes_params p = { .mode = AZIHSM_AES_MODE_GCM, .iv_out = iv,
				       .tag = tag, .tag_len = 16 };
	size_t len;

	memcpy(digest, &n, sizeof(n));
	switch (b->kind) {
	case 0:
		return azihsm_ecdsa_sign(s, key, b->hash, digest, b->digest_len, out, sizeof(out),
					 &len, NULL);
	case 1:
		return azihsm_rsa_sign(s, key, b->hash, AZIHSM_RSA_PADDING_PKCS1, digest,
				       b->digest_len, out, sizeof(out), &len, NULL);
	default:
		return azihsm_aes_crypt(s, key, &p, in, sizeof(in), out, sizeof(out), &len, NULL);
	}
}

/* The null command: GetApiRev in a loop, @secs long or @count times. */
static int null_bench(struct azihsm_dev *dev, double secs, uint64_t count)
{
	struct azihsm_rev min, max;
	uint64_t n = 0;
	double t0, t;
	int ret;

	ret = azihsm_get_api_rev(dev, &min, &max);	/* warm-up */
	if (ret)
		return fail("null-getapirev", ret, dev);
	t0 = now();
	do {
		ret = azihsm_get_api_rev(dev, &min, &max);
		if (ret)
			return fail("null-getapirev", ret, dev);
		n++;
		t = now() - t0;
	} while (count ? n < count : t < secs);
	printf("null-getapirev %llu %.2f %.1f %.1f\n", (unsigned long long)n, t, n / t,
	       t * 1e6 / n);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	bool null_only = argc > 1 && !strcmp(argv[1], "--null");
	double secs;
	uint64_t count = 0;
	struct azihsm_session *s;
	struct azihsm_dev *dev;
	size_t i;
	int ret;

	if (null_only) {
		argv++;
		argc--;
		if (argc > 2)
			count = strtoull(argv[2], NULL, 10);
		argc = argc > 2 ? 2 : argc;
	}
	secs = argc > 1 ? atof(argv[1]) : 3.0;
	if (secs <= 0 || secs > 600) {
		fprintf(stderr, "usage: hsm-bench [SECONDS] | hsm-bench --null SECONDS [N]\n");
		return 2;
	}
#ifdef HSM_BENCH_FW
	struct hsm_fw_config cfg = { .serial = "BENCH-1", .fw_rev = "1.0.0" };
	struct test_pki pki;
	struct hsm_fw *fw = NULL;

	if (!test_pki_init(&pki, NULL, NULL, &cfg))
		fw = test_pki_fw_new(&pki, &cfg);
	if (!fw) {
		fprintf(stderr, "hsm-bench: the firmware core did not start\n");
		return 1;
	}
	ret = lib_dev_open_transport(fw_xfer, fw, &dev);
#else
	ret = azihsm_open(argc > 2 ? argv[2] : "/dev/azihsm0", &dev);
#endif
	if (ret)
		return fail("open", ret, NULL);
	ret = null_bench(dev, secs, count);
	if (ret || null_only)
		return ret;
	ret = azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, DEFAULT_PIN, &s);
	if (ret)
		return fail("login", ret, dev);
	if (azihsm_session_must_change_pin(s)) {
		ret = azihsm_change_pin(s, DEFAULT_PIN, BENCH_PIN);
		if (ret)
			return fail("change PIN", ret, dev);
	}
	for (i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		const struct bench *b = &benches[i];
		double t0, t;
		uint64_t n = 0;
		uint16_t key;

		ret = azihsm_key_generate(s, b->type, b->usage, NULL, 0, false, &key);
		if (ret)
			return fail(b->name, ret, dev);
		ret = one(s, b, key, n);	/* warm-up, and a check that it works */
		if (ret)
			return fail(b->name, ret, dev);
		t0 = now();
		do {
			ret = one(s, b, key, ++n);
			if (ret)
				return fail(b->name, ret, dev);
			t = now() - t0;
		} while (t < secs);
		printf("%s %llu %.2f %.1f\n", b->name, (unsigned long long)n, t, n / t);
		fflush(stdout);
		azihsm_key_delete(s, key);
	}
	azihsm_logout(s);
	azihsm_close(dev);
#ifdef HSM_BENCH_FW
	hsm_fw_free(fw);
	test_pki_done(&pki);
#endif
	return 0;
}
