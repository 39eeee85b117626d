// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the partition's stored state, through the code the
 * device runs when it starts (hsm_partition_open -> hsm_state_open ->
 * unseal -> hsm_partition_parse_image) and the tamper log it reads
 * beside it. The first input byte picks a mode (modulo 4):
 *
 *   0  files: byte 1 = length N of FILE.nv (255: no FILE.nv), N bytes of
 *      FILE.nv, the rest is FILE. Both are written to a private tmpfs
 *      directory and the partition opened on them, as a device start.
 *      Whatever loads must commit and load again (LOADED).
 *   1  image: the rest is a decrypted partition image, parsed by
 *      hsm_partition_parse_image into an empty vault (random bytes never
 *      pass the GCM tag of mode 0, so the parser behind it is fed here).
 *   2  seal round trip: the rest is an image, committed by hsm_state to a
 *      fresh store, which must load back as exactly those bytes; the
 *      partition then opens on it, and whatever parses must commit and
 *      load again.
 *   3  tamper log: the rest is FILE.tamper, read by hsm_tamper_log_open.
 *
 * Seeds: mkseeds_state.c (a firmware core that logged in, generated keys,
 * made a BK3 and was tampered with), run by seeds.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm_auth.h"
#include "hsm_partition.h"
#include "hsm_state.h"
#include "hsm_tamper.h"
#include "hsm_vault.h"

static char dir[64], path[128], nv_path[160], tl_path[160];
static struct hsm_auth *auth;

static void setup(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };

	/* tmpfs: each run writes and fsyncs its files. */
	snprintf(dir, sizeof(dir), "/dev/shm/azihsm-fuzz-state.%d", (int)getpid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		abort();
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(nv_path, sizeof(nv_path), "%s.nv", path);
	snprintf(tl_path, sizeof(tl_path), "%s.tamper", path);
	auth = hsm_auth_new(&acfg);
	if (!auth)
		abort();
}

static void cleanup(void)
{
	unlink(path);
	unlink(nv_path);
	unlink(tl_path);
	rmdir(dir);
}

static void put_file(const char *name, const uint8_t *p, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			abort();
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

/*
 * Open the partition at @p (path: the stored state; NULL: volatile) into a
 * fresh vault and the shared credentials.
 */
static struct hsm_partition *part_open(const char *p, struct hsm_vault **v)
{
	struct hsm_partition *part;

	*v = hsm_vault_new(HSM_VAULT_DEFAULT_MAX);
	if (!*v)
		abort();
	part = hsm_partition_open(p, *v, auth);
	if (!part)
		abort();
	return part;
}

static void part_close(struct hsm_partition *part, struct hsm_vault *v)
{
	hsm_partition_close(part);
	hsm_vault_free(v);
}

/* A partition that loaded commits, and what it committed loads again. */
static void recommit(struct hsm_partition *part)
{
	struct hsm_partition *again;
	struct hsm_vault *v;

	if (hsm_partition_commit(part))
		abort();	/* a loaded partition could not store itself */
	again = part_open(path, &v);
	if (hsm_partition_status(again) != AZIHSM_PERSIST_LOADED)
		abort();	/* what it stored did not load */
	part_close(again, v);
}

static void fuzz_files(const uint8_t *d, size_t n)
{
	struct hsm_partition *part;
	struct hsm_vault *v;
	size_t nv_len;

	if (!n)
		return;
	nv_len = d[0];
	d++;
	n--;
	unlink(path);
	unlink(nv_path);
	if (nv_len != 255) {
		if (nv_len > n)
			return;
		put_file(nv_path, d, nv_len);
		d += nv_len;
		n -= nv_len;
	}
	put_file(path, d, n);
	part = part_open(path, &v);
	if (hsm_partition_status(part) == AZIHSM_PERSIST_LOADED)
		recommit(part);
	part_close(part, v);
}

static void fuzz_image(const uint8_t *d, size_t n)
{
	struct hsm_partition *part;
	struct hsm_vault *v;

	part = part_open(NULL, &v);
	hsm_partition_parse_image(part, d, n);
	part_close(part, v);
}

static void fuzz_seal(const uint8_t *d, size_t n)
{
	enum hsm_state_status st;
	struct hsm_partition *part;
	struct hsm_state *s;
	struct hsm_vault *v;
	uint8_t *img;
	size_t len;

	unlink(path);
	unlink(nv_path);
	s = hsm_state_open(path, &st);
	if (st != HSM_STATE_EMPTY || hsm_state_commit(s, d, n))
		abort();
	hsm_state_close(s);
	s = hsm_state_open(path, &st);
	if (st != HSM_STATE_OK || hsm_state_generation(s) != 1 ||
	    hsm_state_load(s, &img, &len))
		abort();	/* the seal did not round-trip */
	if (len != n || (n && memcmp(img, d, n)))
		abort();	/* ... or not to the same bytes */
	hsm_state_free_image(img, len);
	hsm_state_close(s);
	part = part_open(path, &v);
	if (hsm_partition_status(part) == AZIHSM_PERSIST_LOADED)
		recommit(part);
	else if (hsm_partition_status(part) != AZIHSM_PERSIST_BAD_IMAGE)
		abort();	/* sealed fine: only the image may be refused */
	part_close(part, v);
}

static void fuzz_tamper(const uint8_t *d, size_t n)
{
	struct hsm_tamper_log l;

	unlink(tl_path);
	put_file(tl_path, d, n);
	if (hsm_tamper_log_open(&l, path))
		abort();
	if (!l.damaged && l.n > AZIHSM_TAMPER_LOG_MAX)
		abort();
	hsm_tamper_log_close(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!auth) {
		setup();
		atexit(cleanup);
	}
	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_files(data + 1, size - 1);
		break;
	case 1:
		fuzz_image(data + 1, size - 1);
		break;
	case 2:
		fuzz_seal(data + 1, size - 1);
		break;
	case 3:
		fuzz_tamper(data + 1, size - 1);
		break;
	}
	return 0;
}
