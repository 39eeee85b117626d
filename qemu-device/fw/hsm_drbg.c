// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device's random bit generator: an OpenSSL CTR-DRBG (AES-256, derivation
 * function on) of its own, seeded from OpenSSL's primary DRBG and
 * personalised with the device serial, so two devices never share a stream.
 * Every 16-byte output block is compared with the previous one (continuous
 * test): a repeat means a broken generator and fails the request.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hsm_fw.h"

#define DRBG_BLOCK	16
#define DRBG_CHUNK	4096

struct hsm_drbg {
	pthread_mutex_t lock;
	EVP_RAND_CTX *ctx;
	unsigned char last[DRBG_BLOCK];
	bool have_last;
	bool failed;
};

struct hsm_drbg *hsm_drbg_new(const char *personalization)
{
	OSSL_PARAM params[3];
	struct hsm_drbg *d;
	EVP_RAND *rand;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	rand = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
	if (!rand)
		goto fail;
	d->ctx = EVP_RAND_CTX_new(rand, RAND_get0_primary(NULL));
	EVP_RAND_free(rand);
	if (!d->ctx)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER,
						     (char *)"AES-256-CTR", 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &(int){ 1 });
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_RAND_instantiate(d->ctx, 256, 0,
				  (const unsigned char *)personalization,
				  strlen(personalization), params))
		goto fail;
	return d;
fail:
	hsm_drbg_free(d);
	return NULL;
}

void hsm_drbg_free(struct hsm_drbg *d)
{
	if (!d)
		return;
	EVP_RAND_CTX_free(d->ctx);
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
	while (len && !d->failed) {
		size_t n = len < DRBG_CHUNK ? len : DRBG_CHUNK;
		/* Whole blocks, so the continuous test sees every output bit. */
		size_t gen = (n + DRBG_BLOCK - 1) / DRBG_BLOCK * DRBG_BLOCK;
		size_t off;

		if (!EVP_RAND_generate(d->ctx, buf, gen, 256, 0, NULL, 0)) {
			d->failed = true;
			break;
		}
		for (off = 0; off < gen; off += DRBG_BLOCK) {
			if (drbg_block_test(d, buf + off)) {
				d->failed = true;
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
	d->failed = true;
	pthread_mutex_unlock(&d->lock);
}
