// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device's random bit generator: an OpenSSL CTR-DRBG (AES-256, derivation
 * function on) of its own, seeded from OpenSSL's primary DRBG and
 * personalised with the device serial, so two devices never share a stream.
 * Every 16-byte output block is compared with the previous one (continuous
 * test): a repeat means a broken generator and fails the request.
 *
 * Entropy input: the device's noise source (the host's getrandom(), a
 * stand-in for a physical one) is read in 8-bit samples, each run through
 * the SP 800-90B section 4.4 continuous health tests, claiming H = 4 bits of
 * min-entropy per sample and a false-alarm rate alpha = 2^-20:
 *   repetition count: a run of DRBG_RCT_CUTOFF = 1 + ceil(20 / H) = 6
 *     identical samples fails;
 *   adaptive proportion: in each window of DRBG_APT_WINDOW = 512 samples,
 *     the first sample appearing DRBG_APT_CUTOFF = 62 times fails
 *     (1 + CRITBINOM(512, 2^-4, 1 - 2^-20)).
 * At instantiate 1024 samples are tested first (section 4.3 start-up test)
 * and discarded; then every (re)seed draws DRBG_SEED_SAMPLES tested samples
 * (384 bits at H = 4: 256 of entropy plus a 128-bit nonce's worth) and feeds
 * them to EVP_RAND_reseed; the DRBG reseeds so every DRBG_RESEED_REQUESTS
 * generate calls. A health-test failure fails the DRBG for good (until
 * hsm_drbg_reinit, a reset) and the module enters its error state.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hsm_fw.h"

#define DRBG_BLOCK	16
#define DRBG_CHUNK	4096

#define DRBG_RCT_CUTOFF		6
#define DRBG_APT_WINDOW		512
#define DRBG_APT_CUTOFF		62
#define DRBG_STARTUP_SAMPLES	1024
#define DRBG_SEED_SAMPLES	96
#define DRBG_RESEED_REQUESTS	1024

struct hsm_drbg {
	pthread_mutex_t lock;
	EVP_RAND_CTX *ctx;
	char *pers;
	unsigned char last[DRBG_BLOCK];
	bool have_last;
	bool failed;
	const char *why;	/* the first failure */
	hsm_drbg_noise_fn noise;
	void *noise_ctx;
	unsigned int requests;	/* generate calls since the last reseed */
	/* Health test state: repetition count, adaptive proportion. */
	uint8_t rct_last;
	unsigned int rct_run;
	bool rct_any;
	uint8_t apt_first;
	unsigned int apt_pos, apt_count;
};

static int drbg_os_noise(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void drbg_fail(struct hsm_drbg *d, const char *why)
{
	if (!d->failed)
		d->why = why;
	d->failed = true;
}

/* SP 800-90B 4.4.1 and 4.4.2 on one sample; -1 (and failed) on an alarm. */
static int drbg_health_sample(struct hsm_drbg *d, uint8_t x)
{
	if (d->rct_any && x == d->rct_last) {
		if (++d->rct_run >= DRBG_RCT_CUTOFF) {
			drbg_fail(d, "entropy repetition count test");
			return -1;
		}
	} else {
		d->rct_last = x;
		d->rct_run = 1;
		d->rct_any = true;
	}
	if (d->apt_pos == 0) {
		d->apt_first = x;
		d->apt_count = 1;
	} else if (x == d->apt_first && ++d->apt_count >= DRBG_APT_CUTOFF) {
		drbg_fail(d, "entropy adaptive proportion test");
		return -1;
	}
	d->apt_pos = (d->apt_pos + 1) % DRBG_APT_WINDOW;
	return 0;
}

/* @len health-tested samples from the noise source (lock held). */
static int drbg_noise(struct hsm_drbg *d, uint8_t *buf, size_t len)
{
	size_t i;

	if (d->noise(d->noise_ctx, buf, len)) {
		drbg_fail(d, "noise source read failed");
		return -1;
	}
	for (i = 0; i < len; i++)
		if (drbg_health_sample(d, buf[i]))
			return -1;
	return 0;
}

/* Reseed from DRBG_SEED_SAMPLES tested samples (lock held). */
static int drbg_reseed_locked(struct hsm_drbg *d)
{
	uint8_t seed[DRBG_SEED_SAMPLES];
	int ret = -1;

	if (d->failed)
		return -1;
	if (!drbg_noise(d, seed, sizeof(seed))) {
		if (EVP_RAND_reseed(d->ctx, 0, seed, sizeof(seed), NULL, 0) == 1)
			ret = 0;
		else
			drbg_fail(d, "DRBG reseed failed");
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	d->requests = 0;
	return ret;
}

/* (Re)create the CTR-DRBG, start-up test the noise source, seed (lock held). */
static int drbg_instantiate(struct hsm_drbg *d)
{
	uint8_t startup[DRBG_STARTUP_SAMPLES];
	OSSL_PARAM params[3];
	EVP_RAND *rand;
	int bad;

	EVP_RAND_CTX_free(d->ctx);
	d->ctx = NULL;
	rand = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
	if (!rand)
		return -1;
	d->ctx = EVP_RAND_CTX_new(rand, RAND_get0_primary(NULL));
	EVP_RAND_free(rand);
	if (!d->ctx)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER,
						     (char *)"AES-256-CTR", 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &(int){ 1 });
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_RAND_instantiate(d->ctx, 256, 0, (const unsigned char *)d->pers,
				  strlen(d->pers), params))
		return -1;
	bad = drbg_noise(d, startup, sizeof(startup));
	OPENSSL_cleanse(startup, sizeof(startup));
	if (bad)
		return -1;
	return drbg_reseed_locked(d);
}

struct hsm_drbg *hsm_drbg_new(const char *personalization)
{
	struct hsm_drbg *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->noise = drbg_os_noise;
	d->pers = strdup(personalization);
	/*
	 * A health-test failure at start does not lose the object: the
	 * module reports it (error state) instead of not starting.
	 */
	if (!d->pers || (drbg_instantiate(d) && !d->failed)) {
		hsm_drbg_free(d);
		return NULL;
	}
	return d;
}

int hsm_drbg_reinit(struct hsm_drbg *d)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	d->failed = false;
	d->why = NULL;
	d->have_last = false;
	d->rct_any = false;
	d->rct_run = 0;
	d->apt_pos = 0;
	ret = drbg_instantiate(d);
	if (ret)
		drbg_fail(d, "DRBG instantiate failed");
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void hsm_drbg_set_noise(struct hsm_drbg *d, hsm_drbg_noise_fn fn, void *ctx)
{
	pthread_mutex_lock(&d->lock);
	d->noise = fn ? fn : drbg_os_noise;
	d->noise_ctx = ctx;
	pthread_mutex_unlock(&d->lock);
}

int hsm_drbg_reseed(struct hsm_drbg *d)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = drbg_reseed_locked(d);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

const char *hsm_drbg_failure(struct hsm_drbg *d)
{
	const char *why;

	pthread_mutex_lock(&d->lock);
	why = d->failed ? (d->why ? d->why : "DRBG failure") : NULL;
	pthread_mutex_unlock(&d->lock);
	return why;
}

void hsm_drbg_free(struct hsm_drbg *d)
{
	if (!d)
		return;
	EVP_RAND_CTX_free(d->ctx);
	free(d->pers);
	OPENSSL_cleanse(d->last, sizeof(d->last));
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int drbg_block_test(struct hsm_drbg *d, const unsigned char *blk)
{
	if (d->have_last && !CRYPTO_memcmp(d->last, blk, DRBG_BLOCK))
		return -1;
	memcpy(d->last, blk, DRBG_BLOCK);
	d->have_last = true;
	return 0;
}

int hsm_drbg_generate(struct hsm_drbg *d, void *out, size_t len)
{
	unsigned char buf[DRBG_CHUNK];
	unsigned char *dst = out;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (!d->failed && ++d->requests >= DRBG_RESEED_REQUESTS)
		drbg_reseed_locked(d);
	while (len && !d->failed) {
		size_t n = len < DRBG_CHUNK ? len : DRBG_CHUNK;
		/* Whole blocks, so the continuous test sees every output bit. */
		size_t gen = (n + DRBG_BLOCK - 1) / DRBG_BLOCK * DRBG_BLOCK;
		size_t off;

		if (!EVP_RAND_generate(d->ctx, buf, gen, 256, 0, NULL, 0)) {
			drbg_fail(d, "DRBG generate failed");
			break;
		}
		for (off = 0; off < gen; off += DRBG_BLOCK) {
			if (drbg_block_test(d, buf + off)) {
				drbg_fail(d, "DRBG continuous output test");
				break;
			}
		}
		if (d->failed)
			break;
		memcpy(dst, buf, n);
		dst += n;
		len -= n;
	}
	if (d->failed)
		ret = -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void hsm_drbg_set_failed(struct hsm_drbg *d)
{
	pthread_mutex_lock(&d->lock);
	drbg_fail(d, "DRBG failure (test)");
	pthread_mutex_unlock(&d->lock);
}
