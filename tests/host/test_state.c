// SPDX-License-Identifier: MIT
/*
 * hsm_state on the host: every load outcome the design names is produced
 * by damaging real files the way a crash, a careless copy or an attacker
 * would, and the store must name it exactly -- above all it must never
 * take damaged or replayed state for good state. Each case works in a
 * fresh mkdtemp directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "hsm_state.h"
#include "tap.h"

/* Offsets from the layout at the top of hsm_state.c. */
#define HDR_LEN		60
#define TAG_LEN		16
#define OFF_FP		12
#define OFF_GEN		28
#define OFF_EPOCH	36
#define OFF_NONCE	44
#define NV_LEN		64
#define NV_OFF_SECRET	12
#define NV_OFF_GEN	44
#define NV_OFF_EPOCH	52

struct tcase {
	char dir[64];
	char path[96];	/* FILE */
	char nv[96];	/* FILE.nv */
	char tmp[96];	/* FILE.tmp */
	char nv_tmp[96];
};

static void case_new(struct tcase *c)
{
	strcpy(c->dir, "/tmp/azihsm-state-XXXXXX");
	if (!mkdtemp(c->dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(c->path, sizeof(c->path), "%s/state", c->dir);
	snprintf(c->nv, sizeof(c->nv), "%s/state.nv", c->dir);
	snprintf(c->tmp, sizeof(c->tmp), "%s/state.tmp", c->dir);
	snprintf(c->nv_tmp, sizeof(c->nv_tmp), "%s/state.nv.tmp", c->dir);
}

static void case_end(struct tcase *c)
{
	struct dirent *e;
	char p[400];
	DIR *d;

	chmod(c->dir, 0700);
	d = opendir(c->dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", c->dir, e->d_name);
		if (unlink(p))
			rmdir(p);
	}
	closedir(d);
	rmdir(c->dir);
}

/* The whole file, with one spare byte after it for tests that append. */
static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st)) {
		buf = malloc((size_t)st.st_size + 1);
		if (buf && read(fd, buf, (size_t)st.st_size) == st.st_size)
			*len = (size_t)st.st_size;
	}
	close(fd);
	return buf;
}

static int spit(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, buf, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* An image that names its generation: 8 bytes of it, then a pattern of it. */
static size_t make_image(uint8_t *buf, size_t cap, uint64_t gen)
{
	size_t len = 16 + gen % 200;

	if (len > cap)
		len = cap;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(gen >> (8 * i));
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)(gen * 31 + i);
	return len;
}

/* 0 if @img is exactly make_image(@gen). */
static int check_image(const uint8_t *img, size_t len, uint64_t gen)
{
	uint8_t want[256];

	if (len != make_image(want, sizeof(want), gen))
		return -1;
	return memcmp(img, want, len) ? -1 : 0;
}

static enum hsm_state_status status_of(const char *path)
{
	enum hsm_state_status st = HSM_STATE_IO;
	struct hsm_state *s = hsm_state_open(path, &st);

	hsm_state_close(s);
	return st;
}

/* Opens @c and commits make_image(g) for g = current+1 .. @upto. */
static int commit_upto(struct tcase *c, uint64_t upto)
{
	enum hsm_state_status st;
	struct hsm_state *s = hsm_state_open(c->path, &st);
	uint8_t img[256];
	int err = 0;

	if (!s)
		return -ENOMEM;
	if (st != HSM_STATE_OK && st != HSM_STATE_EMPTY)
		err = -EIO;
	while (!err && hsm_state_generation(s) < upto) {
		size_t len = make_image(img, sizeof(img), hsm_state_generation(s) + 1);

		err = hsm_state_commit(s, img, len);
	}
	hsm_state_close(s);
	return err;
}

static void test_fresh_and_roundtrip(void)
{
	enum hsm_state_status st;
	struct hsm_state *s;
	uint8_t img[256], *got;
	struct stat sb;
	size_t len, glen;
	struct tcase c;

	case_new(&c);
	s = hsm_state_open(c.path, &st);
	tap_eq(st, HSM_STATE_EMPTY, "fresh directory: empty");
	tap_ok(s && hsm_state_generation(s) == 0, "fresh: generation 0");
	tap_ok(exists(c.nv) && !exists(c.path), "fresh: FILE.nv created, FILE not yet");
	tap_ok(!stat(c.nv, &sb) && (sb.st_mode & 0777) == 0600, "FILE.nv is mode 0600");
	tap_eq(hsm_state_load(s, &got, &glen), -ENOENT, "load before any commit: -ENOENT");
	len = make_image(img, sizeof(img), 1);
	tap_eq(hsm_state_commit(s, img, len), 0, "commit generation 1");
	tap_eq(hsm_state_generation(s), 1, "generation is 1");
	tap_ok(!hsm_state_load(s, &got, &glen) && glen == len && !memcmp(got, img, len),
	       "load after commit returns the image");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);

	s = hsm_state_open(c.path, &st);
	tap_ok(st == HSM_STATE_OK && hsm_state_generation(s) == 1, "reopen: ok, generation 1");
	tap_ok(!hsm_state_load(s, &got, &glen) && glen == len && !memcmp(got, img, len),
	       "reopen: identical image");
	hsm_state_free_image(got, glen);
	for (uint64_t g = 2; g <= 5; g++) {
		len = make_image(img, sizeof(img), g);
		if (hsm_state_commit(s, img, len))
			break;
	}
	tap_eq(hsm_state_generation(s), 5, "four more commits: generation 5");
	hsm_state_close(s);
	s = hsm_state_open(c.path, &st);
	tap_ok(st == HSM_STATE_OK && hsm_state_generation(s) == 5, "reopen: generation 5");
	tap_ok(!hsm_state_load(s, &got, &glen) && !check_image(got, glen, 5),
	       "reopen: image of generation 5");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);
	case_end(&c);
}

static void test_sealing(void)
{
	uint8_t img[64], *f1, *f2, *got;
	enum hsm_state_status st;
	struct hsm_state *s;
	size_t l1, l2, glen;
	struct tcase c;

	case_new(&c);
	memset(img, 0x5a, sizeof(img));
	memcpy(img, "SECRET-PIN-0123456789", 21);
	s = hsm_state_open(c.path, &st);
	hsm_state_commit(s, img, sizeof(img));
	f1 = slurp(c.path, &l1);
	hsm_state_commit(s, img, sizeof(img));
	f2 = slurp(c.path, &l2);
	tap_eq(l1, HDR_LEN + sizeof(img) + TAG_LEN, "FILE is header + image + tag long");
	tap_ok(f1 && !memmem(f1, l1, "SECRET-PIN", 10), "plaintext does not appear in FILE");
	tap_ok(f1 && f2 && l1 == l2 && memcmp(f1 + OFF_NONCE, f2 + OFF_NONCE, 12) &&
	       memcmp(f1 + HDR_LEN, f2 + HDR_LEN, sizeof(img)),
	       "same image committed twice: fresh nonce, different ciphertext");
	tap_ok(f1 && le64(f1 + OFF_GEN) == 1 && f2 && le64(f2 + OFF_GEN) == 2,
	       "generation field in the header");
	free(f1);
	free(f2);
	f1 = slurp(c.nv, &l1);
	tap_ok(f1 && l1 == NV_LEN && le64(f1 + NV_OFF_GEN) == 2, "FILE.nv: 64 bytes (version 2), generation 2");
	free(f1);

	tap_eq(hsm_state_commit(s, NULL, 0), 0, "empty image commits");
	tap_ok(!hsm_state_load(s, &got, &glen) && glen == 0, "empty image loads back empty");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);
	tap_ok(status_of(c.path) == HSM_STATE_OK, "empty image: reopen ok");
	case_end(&c);
}

static void test_limits(void)
{
	const size_t max = HSM_STATE_MAX_IMAGE;
	enum hsm_state_status st;
	struct hsm_state *s;
	uint8_t *big, *got;
	size_t glen;
	struct tcase c;

	case_new(&c);
	big = malloc(max + 1);
	for (size_t i = 0; i < max + 1; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	s = hsm_state_open(c.path, &st);
	tap_eq(hsm_state_commit(s, big, max + 1), -EFBIG, "16 MiB + 1 refused: -EFBIG");
	tap_eq(hsm_state_generation(s), 0, "refused commit leaves generation 0");
	tap_eq(hsm_state_commit(s, big, max), 0, "exactly 16 MiB commits");
	tap_eq(hsm_state_commit(NULL, big, 1), -EINVAL, "commit without store: -EINVAL");
	tap_eq(hsm_state_commit(s, NULL, 1), -EINVAL, "commit of NULL with length: -EINVAL");
	hsm_state_close(s);
	s = hsm_state_open(c.path, &st);
	tap_eq(st, HSM_STATE_OK, "16 MiB image: reopen ok");
	tap_ok(!hsm_state_load(s, &got, &glen) && glen == max && !memcmp(got, big, max),
	       "16 MiB image loads back identical");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);
	free(big);
	tap_ok(hsm_state_open(NULL, &st) == NULL, "open(NULL) returns NULL");
	case_end(&c);
}

static void test_truncation(void)
{
	size_t len, bad = 0, first_bad = 0;
	enum hsm_state_status st;
	struct tcase c;
	uint8_t *f;

	case_new(&c);
	{
		enum hsm_state_status ost;
		struct hsm_state *s = hsm_state_open(c.path, &ost);
		uint8_t img[200];

		memset(img, 0xa5, sizeof(img));
		hsm_state_commit(s, img, sizeof(img));
		hsm_state_close(s);
	}
	f = slurp(c.path, &len);
	tap_eq(len, HDR_LEN + 200 + TAG_LEN, "a 200-byte image sealed");
	for (size_t l = 0; l < HDR_LEN + TAG_LEN; l++) {
		spit(c.path, f, l);
		st = status_of(c.path);
		if (st != HSM_STATE_TRUNCATED && !bad++)
			first_bad = l;
	}
	if (!tap_eq(bad, 0, "FILE cut to each length 0..%d: truncated", HDR_LEN + TAG_LEN - 1))
		printf("#   first wrong at length %zu\n", first_bad);
	spit(c.path, f, HDR_LEN + (len - HDR_LEN - TAG_LEN) / 2);
	tap_eq(status_of(c.path), HSM_STATE_CORRUPT, "FILE cut mid-ciphertext: corrupt");
	spit(c.path, f, len - 1);
	tap_eq(status_of(c.path), HSM_STATE_CORRUPT, "FILE one byte short: corrupt");
	f[len] = 0;
	spit(c.path, f, len + 1);
	tap_eq(status_of(c.path), HSM_STATE_CORRUPT, "FILE with a trailing byte: corrupt");
	tap_ok(!truncate(c.path, HDR_LEN + HSM_STATE_MAX_IMAGE + TAG_LEN + 1) &&
	       status_of(c.path) == HSM_STATE_CORRUPT, "FILE longer than the largest image: corrupt");
	spit(c.path, f, len);
	tap_eq(status_of(c.path), HSM_STATE_OK, "original bytes back: ok");
	free(f);
	case_end(&c);
}

static void test_bit_flips(void)
{
	size_t len, wrong = 0, fp_bits = 0;
	enum hsm_state_status st, want;
	struct tcase c;
	uint8_t *f;

	case_new(&c);
	commit_upto(&c, 2);	/* flips of bit 0 of the generation then give nv + 1 */
	f = slurp(c.path, &len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		size_t byte = bit / 8;

		f[byte] ^= (uint8_t)(1u << (bit % 8));
		spit(c.path, f, len);
		st = status_of(c.path);
		f[byte] ^= (uint8_t)(1u << (bit % 8));
		want = byte >= OFF_FP && byte < OFF_FP + 16 ? HSM_STATE_FOREIGN : HSM_STATE_CORRUPT;
		fp_bits += want == HSM_STATE_FOREIGN;
		if (st != want && wrong++ < 5)
			printf("#   bit %zu (byte %zu): %s\n", bit, byte, hsm_state_status_str(st));
	}
	tap_eq(wrong, 0, "each of the %zu bits of FILE flipped: corrupt (foreign in the fingerprint)",
	       len * 8);
	tap_eq(fp_bits, 128, "128 of them in the fingerprint");
	spit(c.path, f, len);
	tap_eq(status_of(c.path), HSM_STATE_OK, "unflipped FILE: still ok");
	free(f);
	f = slurp(c.nv, &len);
	tap_ok(f && le64(f + NV_OFF_GEN) == 2, "no flipped FILE moved FILE.nv forward");
	free(f);
	case_end(&c);
}

static void test_rollback(void)
{
	enum hsm_state_status st;
	uint8_t *old, *cur, *now;
	size_t lold, lcur, lnow, glen;
	struct hsm_state *s;
	struct tcase c;
	uint8_t *got;

	case_new(&c);
	commit_upto(&c, 3);
	old = slurp(c.path, &lold);
	commit_upto(&c, 4);
	cur = slurp(c.path, &lcur);
	spit(c.path, old, lold);
	s = hsm_state_open(c.path, &st);
	tap_eq(st, HSM_STATE_ROLLED_BACK, "FILE of generation 3 over generation 4: rolled back");
	tap_eq(hsm_state_generation(s), 4, "rolled back store reports the NV generation 4");
	tap_eq(hsm_state_load(s, &got, &glen), -EIO, "rolled back: load refused");
	tap_eq(hsm_state_commit(s, old, 1), -EPERM, "rolled back: commit refused (-EPERM)");
	hsm_state_close(s);
	now = slurp(c.path, &lnow);
	tap_ok(now && lnow == lold && !memcmp(now, old, lold), "refused commit left FILE alone");
	free(now);

	unlink(c.path);
	tap_eq(status_of(c.path), HSM_STATE_ROLLED_BACK,
	       "FILE deleted after commits: rolled back, not empty");
	spit(c.path, cur, lcur);
	tap_eq(status_of(c.path), HSM_STATE_OK, "generation 4 restored: ok");
	free(old);
	free(cur);
	case_end(&c);
}

static void test_foreign(void)
{
	struct tcase a, b;
	uint8_t *f;
	size_t len;

	case_new(&a);
	case_new(&b);
	commit_upto(&a, 1);
	commit_upto(&b, 1);
	f = slurp(a.path, &len);
	spit(b.path, f, len);
	tap_eq(status_of(b.path), HSM_STATE_FOREIGN, "FILE of another device: foreign");
	free(f);
	f = slurp(a.nv, &len);
	spit(b.nv, f, len);
	tap_eq(status_of(b.path), HSM_STATE_OK, "with that device's NV file too: ok");
	free(f);
	case_end(&a);
	case_end(&b);
}

static void test_nv_damage(void)
{
	enum hsm_state_status st;
	struct hsm_state *s;
	struct tcase c;
	uint8_t *nv;
	size_t len;

	case_new(&c);
	commit_upto(&c, 1);
	nv = slurp(c.nv, &len);
	nv[NV_OFF_SECRET + 3] ^= 0x10;
	spit(c.nv, nv, len);
	s = hsm_state_open(c.path, &st);
	tap_eq(st, HSM_STATE_NV_CORRUPT, "secret bit flipped in FILE.nv: nv corrupt");
	tap_eq(hsm_state_commit(s, nv, 4), -EPERM, "nv corrupt: commit refused");
	hsm_state_close(s);
	nv[NV_OFF_SECRET + 3] ^= 0x10;
	nv[NV_OFF_GEN] ^= 0x01;
	spit(c.nv, nv, len);
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "generation bit flipped in FILE.nv: nv corrupt");
	nv[NV_OFF_GEN] ^= 0x01;
	nv[0] ^= 0x20;
	spit(c.nv, nv, len);
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "FILE.nv magic damaged: nv corrupt");
	nv[0] ^= 0x20;
	spit(c.nv, nv, len - 1);
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "FILE.nv one byte short: nv corrupt");
	spit(c.nv, nv, 0);
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "FILE.nv empty: nv corrupt");
	nv[len] = 0;
	spit(c.nv, nv, len + 1);
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "FILE.nv one byte long: nv corrupt");
	unlink(c.nv);
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "FILE.nv deleted, FILE present: nv corrupt");
	tap_ok(!exists(c.nv), "and no new secret was made over the sealed state");
	spit(c.nv, nv, len);
	tap_eq(status_of(c.path), HSM_STATE_OK, "FILE.nv restored: ok");
	free(nv);
	case_end(&c);
}

static void test_nv_behind(void)
{
	enum hsm_state_status st;
	uint8_t *nv1, *nv, *got;
	size_t len, l, glen;
	struct hsm_state *s;
	struct tcase c;

	case_new(&c);
	commit_upto(&c, 1);
	nv1 = slurp(c.nv, &len);
	commit_upto(&c, 2);
	spit(c.nv, nv1, len);	/* crash after FILE's rename, before FILE.nv's */
	s = hsm_state_open(c.path, &st);
	tap_eq(st, HSM_STATE_OK, "FILE one generation ahead of FILE.nv: ok");
	tap_eq(hsm_state_generation(s), 2, "at FILE's generation 2");
	tap_ok(!hsm_state_load(s, &got, &glen) && !check_image(got, glen, 2), "image of generation 2");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);
	nv = slurp(c.nv, &l);
	tap_ok(nv && l == NV_LEN && le64(nv + NV_OFF_GEN) == 2, "FILE.nv brought forward to 2");
	free(nv);
	tap_ok(!commit_upto(&c, 3) && status_of(c.path) == HSM_STATE_OK, "commits go on: generation 3");

	spit(c.nv, nv1, len);	/* FILE 3, NV 1 */
	tap_eq(status_of(c.path), HSM_STATE_CORRUPT, "FILE two generations ahead: corrupt");
	nv = slurp(c.nv, &l);
	tap_ok(nv && le64(nv + NV_OFF_GEN) == 1, "and FILE.nv left at 1");
	free(nv);
	free(nv1);
	case_end(&c);
}

/* CRC-32 (zlib's), for NV files built here. */
static uint32_t crc32_ref(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int hkdf_ref(const uint8_t *secret, const char *info, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[4];
	int ok;

	EVP_KDF_free(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	p[3] = OSSL_PARAM_construct_end();
	ok = kc && EVP_KDF_derive(kc, out, len, p) == 1;
	EVP_KDF_CTX_free(kc);
	return ok ? 0 : -1;
}

/*
 * The files a device made before the epoch existed, built here with
 * OpenSSL alone from @secret: FILE.nv version 1 (56 bytes) at generation
 * 1 and FILE version 1 (52-byte header, key "azihsm state seal v1")
 * holding make_image(1).
 */
static int write_v1(struct tcase *c, const uint8_t secret[32])
{
	uint8_t nv[56], f[52 + 256 + 16], img[256], key[32];
	size_t ilen = make_image(img, sizeof(img), 1);
	EVP_CIPHER_CTX *x;
	int n = 0, ok;

	memcpy(nv, "AZHSMNV1", 8);
	put32(nv + 8, 1);
	memcpy(nv + 12, secret, 32);
	put64(nv + 44, 1);
	put32(nv + 52, crc32_ref(nv, 52));
	memcpy(f, "AZHSMST1", 8);
	put32(f + 8, 1);
	if (hkdf_ref(secret, "azihsm device id", f + 12, 16) ||
	    hkdf_ref(secret, "azihsm state seal v1", key, 32))
		return -1;
	put64(f + 28, 1);
	memset(f + 36, 0x42, 12);
	put32(f + 48, (uint32_t)ilen);
	x = EVP_CIPHER_CTX_new();
	ok = x && EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_EncryptInit_ex(x, NULL, NULL, key, f + 36) == 1 &&
	     EVP_EncryptUpdate(x, NULL, &n, f, 52) == 1 &&
	     EVP_EncryptUpdate(x, f + 52, &n, img, (int)ilen) == 1 &&
	     EVP_EncryptFinal_ex(x, f + 52 + ilen, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, f + 52 + ilen) == 1;
	EVP_CIPHER_CTX_free(x);
	if (!ok)
		return -1;
	return spit(c->nv, nv, sizeof(nv)) || spit(c->path, f, 52 + ilen + 16) ? -1 : 0;
}

/* Open @c, start a new epoch, commit make_image(next generation). */
static int zeroize_commit(struct tcase *c, uint64_t *epoch)
{
	enum hsm_state_status st;
	struct hsm_state *s = hsm_state_open(c->path, &st);
	uint8_t img[256];
	int err;

	if (!s)
		return -ENOMEM;
	err = hsm_state_new_epoch(s);
	if (!err)
		err = hsm_state_commit(s, img, make_image(img, sizeof(img),
							 hsm_state_generation(s) + 1));
	*epoch = hsm_state_epoch(s);
	hsm_state_close(s);
	return err;
}

/* issue 9: zeroize is final -- the epoch in FILE.nv and FILE. */
static void test_epoch(void)
{
	uint8_t k0[32], k1[32], k2[32], secret[32], *old, *oldnv, *f, *got;
	size_t lold, loldnv, l, glen;
	enum hsm_state_status st;
	struct hsm_state *s;
	struct tcase c;
	uint64_t e = 0;

	case_new(&c);
	s = hsm_state_open(c.path, &st);
	tap_eq(hsm_state_epoch(s), 0, "issue 9: a new device is at epoch 0");
	f = slurp(c.nv, &l);
	tap_ok(f && l == NV_LEN && le64(f + NV_OFF_EPOCH) == 0 && f[8] == 2,
	       "  FILE.nv version 2, 64 bytes, epoch 0");
	free(f);
	tap_eq(hsm_state_derive_key(s, "test label", k0, sizeof(k0)), 0, "a derived key");
	tap_eq(hsm_state_new_epoch(s), 0, "new epoch (in memory)");
	tap_eq(hsm_state_epoch(s), 1, "  epoch 1");
	hsm_state_derive_key(s, "test label", k1, sizeof(k1));
	tap_ok(memcmp(k0, k1, 32), "  the derived key of epoch 1 is another one");
	hsm_state_close(s);
	tap_eq(status_of(c.path), HSM_STATE_EMPTY, "not committed: reopens empty ...");
	s = hsm_state_open(c.path, &st);
	tap_eq(hsm_state_epoch(s), 0, "  ... at epoch 0 (the epoch is durable by a commit)");
	hsm_state_derive_key(s, "test label", k2, sizeof(k2));
	tap_ok(!memcmp(k0, k2, 32), "  and the same key as before for epoch 0");
	hsm_state_close(s);

	commit_upto(&c, 2);
	old = slurp(c.path, &lold);
	oldnv = slurp(c.nv, &loldnv);
	tap_eq(zeroize_commit(&c, &e), 0, "epoch 1 committed (a zeroize)");
	tap_eq(e, 1, "  at epoch 1");
	f = slurp(c.nv, &l);
	tap_ok(f && l == NV_LEN && le64(f + NV_OFF_EPOCH) == 1 && le64(f + NV_OFF_GEN) == 3,
	       "  FILE.nv: generation 3, epoch 1");
	free(f);
	f = slurp(c.path, &l);
	tap_ok(f && le64(f + OFF_EPOCH) == 1 && le64(f + OFF_GEN) == 3, "  FILE: generation 3, epoch 1");
	s = hsm_state_open(c.path, &st);
	tap_ok(st == HSM_STATE_OK && hsm_state_epoch(s) == 1, "reopened: ok at epoch 1");
	tap_ok(!hsm_state_load(s, &got, &glen) && !check_image(got, glen, 3), "  image 3");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);

	spit(c.path, old, lold);
	tap_eq(status_of(c.path), HSM_STATE_ROLLED_BACK,
	       "issue 9: the epoch-0 FILE copied back beside the epoch-1 FILE.nv: rolled back");
	f[OFF_GEN] = 4;	/* the epoch-1 file, generation patched: tag fails */
	spit(c.path, f, l);
	tap_eq(status_of(c.path), HSM_STATE_CORRUPT, "  (a patched epoch-1 FILE: corrupt)");
	f[OFF_GEN] = 3;
	f[OFF_EPOCH] = 0;
	spit(c.path, f, l);
	tap_eq(status_of(c.path), HSM_STATE_ROLLED_BACK,
	       "  its epoch field lowered to 0: rolled back, never decrypted");
	f[OFF_EPOCH] = 1;
	spit(c.path, f, l);
	tap_eq(status_of(c.path), HSM_STATE_OK, "  the epoch-1 FILE back: ok");

	/* Crash between FILE's and FILE.nv's rename of the epoch commit. */
	spit(c.nv, oldnv, loldnv);	/* FILE: gen 3 epoch 1; NV: gen 2 epoch 0 */
	s = hsm_state_open(c.path, &st);
	tap_ok(st == HSM_STATE_OK && hsm_state_epoch(s) == 1 && hsm_state_generation(s) == 3,
	       "FILE at the next generation and epoch, FILE.nv behind: ok, epoch 1");
	hsm_state_close(s);
	free(f);
	f = slurp(c.nv, &l);
	tap_ok(f && le64(f + NV_OFF_EPOCH) == 1 && le64(f + NV_OFF_GEN) == 3,
	       "  FILE.nv brought forward to generation 3, epoch 1");
	free(f);
	f = slurp(c.path, &l);
	commit_upto(&c, 4);
	spit(c.path, f, l);	/* gen 3 epoch 1 under NV gen 4 */
	tap_eq(status_of(c.path), HSM_STATE_ROLLED_BACK, "an epoch-1 FILE of an older generation: rolled back");
	free(f);
	free(old);
	free(oldnv);
	case_end(&c);

	/* The pre-epoch files still load, as epoch 0. */
	case_new(&c);
	memset(secret, 0x37, sizeof(secret));
	tap_eq(write_v1(&c, secret), 0, "version-1 FILE.nv and FILE built with OpenSSL");
	s = hsm_state_open(c.path, &st);
	tap_ok(st == HSM_STATE_OK && hsm_state_epoch(s) == 0 && hsm_state_generation(s) == 1,
	       "they load: ok, generation 1, epoch 0");
	tap_ok(!hsm_state_load(s, &got, &glen) && !check_image(got, glen, 1), "  the image");
	hsm_state_free_image(got, glen);
	hsm_state_close(s);
	old = slurp(c.path, &lold);
	commit_upto(&c, 2);
	f = slurp(c.nv, &l);
	tap_ok(f && l == NV_LEN && f[8] == 2 && le64(f + NV_OFF_EPOCH) == 0,
	       "  a commit writes FILE.nv version 2");
	free(f);
	f = slurp(c.path, &l);
	tap_ok(f && f[8] == 2 && le64(f + OFF_EPOCH) == 0, "  and FILE version 2");
	free(f);
	tap_eq(zeroize_commit(&c, &e), 0, "then a zeroize: epoch 1");
	spit(c.path, old, lold);
	tap_eq(status_of(c.path), HSM_STATE_ROLLED_BACK,
	       "issue 9: the version-1 FILE (epoch 0) copied back after it: rolled back");
	free(old);
	case_end(&c);
}

static void test_tmp_leftovers(void)
{
	const uint8_t junk[] = "half-written junk";
	enum hsm_state_status st;
	struct hsm_state *s;
	uint8_t *got;
	size_t glen;
	struct tcase c;

	case_new(&c);
	spit(c.tmp, junk, sizeof(junk));
	tap_eq(status_of(c.path), HSM_STATE_EMPTY, "only FILE.tmp: empty");
	tap_ok(!exists(c.tmp), "FILE.tmp removed");
	commit_upto(&c, 2);
	spit(c.tmp, junk, sizeof(junk));
	spit(c.nv_tmp, junk, sizeof(junk));
	s = hsm_state_open(c.path, &st);
	tap_ok(st == HSM_STATE_OK && hsm_state_generation(s) == 2,
	       "FILE.tmp and FILE.nv.tmp left over: ok at generation 2");
	tap_ok(!exists(c.tmp) && !exists(c.nv_tmp), "both leftovers removed");
	tap_ok(!hsm_state_load(s, &got, &glen) && !check_image(got, glen, 2), "image of generation 2");
	hsm_state_free_image(got, glen);
	tap_eq(hsm_state_commit(s, junk, sizeof(junk)), 0, "commit after cleanup");
	hsm_state_close(s);
	tap_ok(!exists(c.tmp) && !exists(c.nv_tmp), "commit leaves no tmp files");
	case_end(&c);
}

/*
 * As root, permission bits do not stop reads, so the unreadable cases run
 * in a child that first drops to the unprivileged uid/gid 65534.
 */
static void test_io(void)
{
	enum hsm_state_status res[2] = { HSM_STATE_OK, HSM_STATE_OK };
	int pfd[2], wst, skip_errno = 0;
	struct tcase c, d;
	pid_t pid;

	case_new(&c);
	case_new(&d);
	commit_upto(&c, 1);
	commit_upto(&d, 1);
	chmod(c.dir, 0);	/* c: directory unreadable */
	chmod(d.dir, 0755);	/* d: directory open, FILE.nv unreadable */
	chmod(d.nv, 0);
	if (pipe(pfd)) {
		tap_ok(0, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		int data[3] = { 0 };

		close(pfd[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			data[0] = errno ? errno : EPERM;
		if (!data[0]) {
			data[1] = status_of(c.path);
			data[2] = status_of(d.path);
		}
		if (write(pfd[1], data, sizeof(data)) != sizeof(data))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	{
		int data[3];

		if (pid > 0 && read(pfd[0], data, sizeof(data)) == sizeof(data)) {
			skip_errno = data[0];
			res[0] = data[1];
			res[1] = data[2];
		} else {
			skip_errno = EIO;
		}
	}
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &wst, 0);
	if (skip_errno) {
		tap_ok(1, "unreadable directory # SKIP running as root and cannot drop to uid 65534: %s",
		       strerror(skip_errno));
		tap_ok(1, "unreadable files # SKIP same reason");
	} else {
		tap_eq(res[0], HSM_STATE_IO, "unreadable directory (mode 000, unprivileged): io");
		tap_eq(res[1], HSM_STATE_IO, "unreadable FILE.nv (mode 000, unprivileged): io");
	}
	chmod(c.dir, 0700);
	tap_eq(status_of(c.path), HSM_STATE_OK, "directory readable again: ok");
	case_end(&c);
	case_end(&d);

	case_new(&c);
	mkdir(c.path, 0700);	/* FILE is a directory */
	tap_eq(status_of(c.path), HSM_STATE_NV_CORRUPT, "no FILE.nv but something at FILE: nv corrupt");
	case_end(&c);
	case_new(&c);
	tap_eq(commit_upto(&c, 1), 0, "fresh store, one commit");
	unlink(c.path);
	mkdir(c.path, 0700);
	tap_eq(status_of(c.path), HSM_STATE_IO, "FILE is a directory: io");
	tap_eq(status_of("/nonexistent-azihsm-dir/state"), HSM_STATE_IO, "missing directory: io");
	tap_eq(status_of("/tmp/"), HSM_STATE_IO, "path naming a directory: io");
	case_end(&c);
}

/*
 * A child commits in a loop and is SIGKILLed at a random moment after its
 * first commit; the parent then opens the store. Every kill must leave a
 * whole generation the child committed. (SIGKILL tests the ordering of
 * the renames, not the fsyncs: the page cache survives a killed process.)
 */
static void test_crash(void)
{
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	int bad_status = 0, bad_image = 0, went_back = 0, not_killed = 0;
	int between = 0, tmp_left = 0;
	uint64_t start, last;
	struct tcase c;

	case_new(&c);
	srand(seed);
	printf("# crash test seed %u\n", seed);
	commit_upto(&c, 1);
	start = last = 1;
	for (int i = 0; i < 50; i++) {
		enum hsm_state_status st;
		struct hsm_state *s;
		int wst, pfd[2];
		uint8_t *got;
		size_t glen;
		pid_t pid;
		char b;

		if (pipe(pfd))
			break;
		pid = fork();
		if (pid == 0) {
			struct hsm_state *cs = hsm_state_open(c.path, &st);
			uint8_t img[256];

			close(pfd[0]);
			if (st != HSM_STATE_OK)
				_exit(2);
			for (;;) {
				size_t len = make_image(img, sizeof(img),
							hsm_state_generation(cs) + 1);

				if (hsm_state_commit(cs, img, len))
					_exit(3);
				if (pfd[1] >= 0) {
					if (write(pfd[1], "c", 1) != 1)
						_exit(4);
					close(pfd[1]);
					pfd[1] = -1;
				}
			}
		}
		close(pfd[1]);
		if (read(pfd[0], &b, 1) == 1)	/* first commit done */
			usleep((useconds_t)(rand() % 8000));
		close(pfd[0]);
		kill(pid, SIGKILL);
		waitpid(pid, &wst, 0);
		if ((!WIFSIGNALED(wst) || WTERMSIG(wst) != SIGKILL) && not_killed++ < 3)
			printf("#   iteration %d: child exited with %d\n", i, WEXITSTATUS(wst));

		{
			size_t fl, nl;
			uint8_t *f = slurp(c.path, &fl), *nv = slurp(c.nv, &nl);

			if (f && nv && fl >= HDR_LEN && nl == NV_LEN &&
			    le64(f + OFF_GEN) == le64(nv + NV_OFF_GEN) + 1)
				between++;
			tmp_left += exists(c.tmp) || exists(c.nv_tmp);
			free(f);
			free(nv);
		}
		s = hsm_state_open(c.path, &st);
		if (st != HSM_STATE_OK) {
			if (bad_status++ < 3)
				printf("#   iteration %d: %s\n", i, hsm_state_status_str(st));
			hsm_state_close(s);
			break;
		}
		if (hsm_state_load(s, &got, &glen) ||
		    check_image(got, glen, hsm_state_generation(s)))
			bad_image++;
		hsm_state_free_image(got, glen);
		if (hsm_state_generation(s) <= last)
			went_back++;
		last = hsm_state_generation(s);
		hsm_state_close(s);
	}
	printf("# kills that left FILE ahead of FILE.nv: %d, that left a tmp file: %d\n",
	       between, tmp_left);
	tap_eq(not_killed, 0, "crash test: every child was still committing when killed");
	tap_eq(bad_status, 0, "after each of 50 SIGKILLs mid-commit loop: ok");
	tap_eq(bad_image, 0, "the loaded image is the one committed as that generation");
	tap_eq(went_back, 0, "each kill kept at least the child's first commit, none went back");
	tap_ok(last >= start + 50, "the children committed (generation %llu)",
	       (unsigned long long)last);
	tap_ok(!exists(c.tmp) && !exists(c.nv_tmp), "no tmp files left after the last open");
	case_end(&c);
}

static void test_status_str(void)
{
	static const char *const want[] = {
		"ok", "empty", "truncated", "corrupt", "rolled back", "foreign", "nv corrupt", "io",
	};
	int ok = 1;

	for (int i = 0; i <= HSM_STATE_IO; i++)
		ok &= !strcmp(hsm_state_status_str(i), want[i]);
	tap_ok(ok, "status strings");
	tap_ok(!strcmp(hsm_state_status_str(99), "unknown"), "unknown status string");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_fresh_and_roundtrip();
	test_sealing();
	test_limits();
	test_truncation();
	test_bit_flips();
	test_rollback();
	test_foreign();
	test_nv_damage();
	test_nv_behind();
	test_epoch();
	test_tmp_leftovers();
	test_io();
	test_crash();
	test_status_str();
	return tap_done();
}
