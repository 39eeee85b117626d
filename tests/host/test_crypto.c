// SPDX-License-Identifier: MIT
/*
 * The CLI's kernel crypto API side (lib/cli-crypto.c): the /proc/crypto
 * parser and its choice of the selected driver against a sample file
 * (tests/host/data/proc-crypto.txt), malformed input, this host's own
 * /proc/crypto, and, where the host kernel allows it (crypto_user loaded,
 * CAP_NET_ADMIN in the initial namespace), a real CRYPTO_MSG_UPDATEALG on
 * a software algorithm's priority, confirmed in /proc/crypto and
 * restored. Where it does not, those checks are TAP skips with the reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tap.h"

#ifndef SAMPLE
#error "build with -DSAMPLE=\"path/to/proc-crypto.txt\""
#endif

/* cli-crypto.c's JSON output uses the CLI's string writer; not tested here. */
void cli_json_bytes(FILE *f, const uint8_t *val, size_t len)
{
	fwrite(val, 1, len, f);
}

static const struct cli_crypto_alg *find(const struct cli_crypto_alg *a, size_t n,
					 const char *driver)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(a[i].driver, driver))
			return &a[i];
	return NULL;
}

/* The driver selected for @driver's name, or "" */
static const char *winner_of(const struct cli_crypto_alg *a, size_t n, const char *driver)
{
	const struct cli_crypto_alg *e = find(a, n, driver);

	return e && e->winner >= 0 ? a[e->winner].driver : "";
}

static int parse_text(const char *text, struct cli_crypto_alg **a, size_t *n)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		return -errno;
	ret = cli_crypto_parse(f, a, n);
	fclose(f);
	return ret;
}

static void test_sample(void)
{
	struct cli_crypto_alg *a = NULL;
	const struct cli_crypto_alg *e;
	size_t n = 0, ours = 0, i;
	FILE *f = fopen(SAMPLE, "r");
	int ret;

	if (!tap_ok(f != NULL, "open the sample %s", SAMPLE))
		return;
	ret = cli_crypto_parse(f, &a, &n);
	fclose(f);
	tap_eq(ret, 0, "the sample parses");
	tap_eq(n, 15, "15 entries (the last one without a closing blank line)");
	if (ret)
		return;

	e = find(a, n, "sha256_azihsm");
	tap_ok(e && !strcmp(e->name, "sha256") && !strcmp(e->type, "ahash") &&
	       !strcmp(e->module, "azihsm") && e->priority == 50 &&
	       !strcmp(e->selftest, "passed") && !e->internal,
	       "sha256_azihsm: name, type, module, priority, selftest, internal");
	tap_ok(!strcmp(winner_of(a, n, "sha256_azihsm"), "sha256-avx2"),
	       "sha256: the shash sha256-avx2 (170) beats the ahash sha256_azihsm (50)");
	tap_ok(!strcmp(winner_of(a, n, "xts_aes_azihsm"), "xts-aes-aesni"),
	       "xts(aes): xts-aes-aesni (401) wins; the internal entry at 900 does not");
	e = find(a, n, "__xts-aes-aesni");
	tap_ok(e && e->internal, "__xts-aes-aesni is internal");
	tap_ok(!strcmp(winner_of(a, n, "gcm_aes_azihsm"), "generic-gcm-aesni"),
	       "gcm(aes): generic-gcm-aesni wins");
	e = find(a, n, "gcm_aes_azihsm");
	tap_ok(e && !strcmp(e->selftest, "unknown"), "gcm_aes_azihsm: selftest unknown");
	tap_ok(!strcmp(winner_of(a, n, "ctr_aes_azihsm"), "ctr_aes_azihsm"),
	       "ctr(aes): a tie (300, skcipher and lskcipher) goes to the entry listed first");
	tap_ok(!strcmp(winner_of(a, n, "ecdsa_nist_p256_azihsm"), "ecdsa_nist_p256_azihsm"),
	       "ecdsa-nist-p256: ours is the only one, selected");
	tap_ok(!strcmp(winner_of(a, n, "aes-generic"), "aes-generic"),
	       "aes (cipher) is not mixed with the aes modes");
	e = find(a, n, "old_kernel_entry-generic");
	tap_ok(e && !strcmp(e->selftest, "unknown") && !e->internal && e->priority == 0,
	       "an entry without selftest/internal lines: unknown, not internal");

	for (i = 0; i < n; i++)
		ours += cli_crypto_is_ours(&a[i]);
	tap_eq(ours, 5, "five *_azihsm drivers");
	tap_ok(!strcmp(cli_crypto_kind("shash"), "hash") &&
	       !strcmp(cli_crypto_kind("ahash"), "hash") &&
	       !strcmp(cli_crypto_kind("lskcipher"), "skcipher") &&
	       !strcmp(cli_crypto_kind("akcipher"), "akcipher"),
	       "kinds: shash/ahash hash, lskcipher/skcipher skcipher, others themselves");

	/* What "crypto priority sha256_azihsm 300" would do to the choice. */
	for (i = 0; i < n; i++)
		if (!strcmp(a[i].driver, "sha256_azihsm"))
			a[i].priority = 300;
	cli_crypto_mark_winners(a, n);
	tap_ok(!strcmp(winner_of(a, n, "sha256-generic"), "sha256_azihsm"),
	       "sha256_azihsm at 300 is selected for sha256");
	free(a);
}

static void test_malformed(void)
{
	static const struct {
		const char *text, *what;
	} bad[] = {
		{ "name : x\npriority : 1\ntype : shash\n\n", "an entry without a driver" },
		{ "name : x\ndriver : y\ntype : shash\n", "an entry without a priority" },
		{ "name : x\ndriver : y\npriority : 1\n\n", "an entry without a type" },
		{ "name : x\ndriver : y\npriority : high\ntype : shash\n", "a priority not a number" },
		{ "name : x\ndriver : y\npriority : 99999999999\ntype : shash\n",
		  "a priority over 32 bits" },
		{ "name : x\ndriver : y\npriority : -5\ntype : shash\n", "a negative priority" },
		{ "name : x\ndriver y\npriority : 1\ntype : shash\n", "a line without a colon" },
	};
	struct cli_crypto_alg *a;
	char *longname;
	size_t n, i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = (void *)1;
		ret = parse_text(bad[i].text, &a, &n);
		tap_ok(ret == -EINVAL && !a && n == 0, "refused: %s", bad[i].what);
	}

	/* A 200-byte name: longer than the kernel's 128. */
	longname = malloc(512);
	if (!longname)
		return;
	strcpy(longname, "name : ");
	memset(longname + 7, 'n', 200);
	strcpy(longname + 207, "\ndriver : d\npriority : 1\ntype : shash\n");
	ret = parse_text(longname, &a, &n);
	tap_eq(ret, -EINVAL, "refused: a name longer than 127 bytes");
	/* A line longer than the parser's buffer. */
	longname = realloc(longname, 4096);
	if (!longname)
		return;
	strcpy(longname, "name : ");
	memset(longname + 7, 'n', 3000);
	strcpy(longname + 3007, "\n");
	ret = parse_text(longname, &a, &n);
	tap_eq(ret, -EINVAL, "refused: a 3000-byte line");
	free(longname);

	ret = parse_text("", &a, &n);
	tap_ok(ret == 0 && n == 0, "empty input: no entries");
	free(a);
	ret = parse_text("\n\nname : x\ndriver : y\npriority : 7\ntype : rng\n\n\n", &a, &n);
	tap_ok(ret == 0 && n == 1 && a[0].priority == 7 && a[0].winner == 0,
	       "extra blank lines are fine");
	free(a);
}

static int read_proc(struct cli_crypto_alg **a, size_t *n)
{
	FILE *f = fopen("/proc/crypto", "r");
	int ret;

	if (!f)
		return -errno;
	ret = cli_crypto_parse(f, a, n);
	fclose(f);
	return ret;
}

static void test_host_kernel(void)
{
	struct cli_crypto_alg *a = NULL;
	const struct cli_crypto_alg *e;
	char driver[128], reason[256];
	uint32_t old = 0, want;
	size_t n = 0, i;
	int ret;

	ret = read_proc(&a, &n);
	if (ret == -ENOENT) {
		printf("ok %d - this host's /proc/crypto parses # SKIP no /proc/crypto\n", ++tap_n);
		printf("ok %d - UPDATEALG # SKIP no /proc/crypto\n", ++tap_n);
		return;
	}
	tap_ok(ret == 0 && n > 0, "this host's /proc/crypto parses (%zu entries)", n);
	if (ret || !n) {
		free(a);
		return;
	}

	/* A software algorithm nobody depends on for its choice: the first non-internal. */
	driver[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!a[i].internal && !cli_crypto_is_ours(&a[i])) {
			snprintf(driver, sizeof(driver), "%s", a[i].driver);
			old = a[i].priority;
			break;
		}
	}
	free(a);
	a = NULL;
	if (!driver[0]) {
		printf("ok %d - UPDATEALG # SKIP no software algorithm listed\n", ++tap_n);
		return;
	}

	ret = cli_crypto_set_priority("no_such_driver_azihsm_test", 1);
	if (ret == -EPROTONOSUPPORT || ret == -EPERM || ret == -EACCES) {
		snprintf(reason, sizeof(reason), "%s",
			 ret == -EPROTONOSUPPORT ?
			 "host kernel has no NETLINK_CRYPTO (crypto_user not loaded/built)" :
			 "no CAP_NET_ADMIN in the initial namespace (container)");
		printf("ok %d - UPDATEALG of an unknown driver: ENOENT # SKIP %s\n", ++tap_n,
		       reason);
		printf("ok %d - UPDATEALG %s: priority changed and restored # SKIP %s\n", ++tap_n,
		       driver, reason);
		return;
	}
	tap_eq(ret, -ENOENT, "UPDATEALG of an unknown driver: ENOENT");

	want = old + 1;
	ret = cli_crypto_set_priority(driver, want);
	tap_eq(ret, 0, "UPDATEALG %s: %u -> %u", driver, old, want);
	if (!read_proc(&a, &n)) {
		e = find(a, n, driver);
		tap_ok(e && e->priority == want, "/proc/crypto shows %s at %u", driver, want);
		free(a);
	}
	ret = cli_crypto_set_priority(driver, old);
	tap_eq(ret, 0, "UPDATEALG %s: restored to %u", driver, old);
	if (!read_proc(&a, &n)) {
		e = find(a, n, driver);
		tap_ok(e && e->priority == old, "/proc/crypto shows %s back at %u", driver, old);
		free(a);
	}
}

int main(void)
{
	test_sample();
	test_malformed();
	test_host_kernel();
	return tap_done();
}
