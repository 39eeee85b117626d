// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Resumable SHA-2 and HMAC (see hsm_hash.h). OpenSSL's EVP digests cannot
 * start from a given chaining value, so this file uses the low-level
 * SHA256_CTX / SHA512_CTX, whose h[] and bit counters it sets directly.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "hsm_hash.h"

size_t hsm_hash_block(enum hsm_hash hash)
{
	switch (hash) {
	case HSM_HASH_SHA256:
		return SHA256_CBLOCK;
	case HSM_HASH_SHA384:
	case HSM_HASH_SHA512:
		return SHA512_CBLOCK;
	default:
		return 0;
	}
}

size_t hsm_hash_state_size(enum hsm_hash hash)
{
	switch (hash) {
	case HSM_HASH_SHA256:
		return 32;
	case HSM_HASH_SHA384:
	case HSM_HASH_SHA512:
		return 64;
	default:
		return 0;
	}
}

/* Either context, by hash. */
struct sha_ctx {
	enum hsm_hash hash;
	SHA256_CTX s256;
	SHA512_CTX s512;
};

static void sha_init(struct sha_ctx *c, enum hsm_hash hash)
{
	c->hash = hash;
	if (hash == HSM_HASH_SHA256)
		SHA256_Init(&c->s256);
	else if (hash == HSM_HASH_SHA384)
		SHA384_Init(&c->s512);
	else
		SHA512_Init(&c->s512);
}

static void sha_update(struct sha_ctx *c, const uint8_t *p, size_t n)
{
	if (!n)
		return;
	if (c->hash == HSM_HASH_SHA256)
		SHA256_Update(&c->s256, p, n);
	else
		SHA512_Update(&c->s512, p, n);
}

/* Digest into @md (the hash size). */
static void sha_final(struct sha_ctx *c, uint8_t *md)
{
	if (c->hash == HSM_HASH_SHA256)
		SHA256_Final(md, &c->s256);
	else if (c->hash == HSM_HASH_SHA384)
		SHA384_Final(md, &c->s512);
	else
		SHA512_Final(md, &c->s512);
}

/* Resume at a block boundary: chaining value @st after @bytes bytes. */
static void sha_set(struct sha_ctx *c, const uint8_t *st, uint64_t bytes)
{
	unsigned int i, b;

	if (c->hash == HSM_HASH_SHA256) {
		for (i = 0; i < 8; i++)
			c->s256.h[i] = (SHA_LONG)st[4 * i] << 24 | (SHA_LONG)st[4 * i + 1] << 16 |
				       (SHA_LONG)st[4 * i + 2] << 8 | st[4 * i + 3];
		c->s256.Nl = (SHA_LONG)(bytes << 3);
		c->s256.Nh = (SHA_LONG)(bytes >> 29);
		c->s256.num = 0;
		return;
	}
	for (i = 0; i < 8; i++) {
		SHA_LONG64 w = 0;

		for (b = 0; b < 8; b++)
			w = w << 8 | st[8 * i + b];
		c->s512.h[i] = w;
	}
	c->s512.Nl = (SHA_LONG64)bytes << 3;
	c->s512.Nh = (SHA_LONG64)(bytes >> 61);
	c->s512.num = 0;
}

/* The chaining value into @st (32 or 64 bytes). */
static void sha_get(const struct sha_ctx *c, uint8_t *st)
{
	unsigned int i, b;

	if (c->hash == HSM_HASH_SHA256) {
		for (i = 0; i < 8; i++)
			for (b = 0; b < 4; b++)
				st[4 * i + b] = (uint8_t)(c->s256.h[i] >> (24 - 8 * b));
		return;
	}
	for (i = 0; i < 8; i++)
		for (b = 0; b < 8; b++)
			st[8 * i + b] = (uint8_t)(c->s512.h[i] >> (56 - 8 * b));
}

/* key ^ @pad, zero-padded to the block (a long key hashed first). */
static void hmac_pad(enum hsm_hash hash, const uint8_t *key, size_t key_len, uint8_t pad,
		     uint8_t *blk)
{
	size_t bs = hsm_hash_block(hash), i;
	struct sha_ctx c;

	memset(blk, 0, bs);
	if (key_len > bs) {
		sha_init(&c, hash);
		sha_update(&c, key, key_len);
		sha_final(&c, blk);
		OPENSSL_cleanse(&c, sizeof(c));
	} else if (key_len) {
		memcpy(blk, key, key_len);
	}
	for (i = 0; i < bs; i++)
		blk[i] ^= pad;
}

int hsm_hash_step(enum hsm_hash hash, const uint8_t *key, size_t key_len, const uint8_t *state,
		  size_t state_len, uint64_t done, const uint8_t *data, size_t len, bool final,
		  uint8_t out[HSM_HASH_STATE_MAX], size_t *out_len)
{
	size_t bs = hsm_hash_block(hash), hs = hsm_hash_size(hash);
	uint8_t blk[HSM_HASH_BLOCK_MAX], md[HSM_HASH_STATE_MAX];
	uint64_t pre = key ? bs : 0;	/* the key^ipad block */
	struct sha_ctx c;

	if (!out || !out_len || (len && !data) || (key_len && !key))
		return HSM_OPS_INVALID_ARG;
	if (!bs)
		return HSM_OPS_BAD_HASH;
	if (state ? state_len != hsm_hash_state_size(hash) || done % bs ||
			    done > UINT64_MAX / 8 - pre :
		    done != 0)
		return HSM_OPS_BAD_LENGTH;
	if (!final && len % bs)
		return HSM_OPS_BAD_LENGTH;
	if (len > UINT64_MAX / 8 - pre - done)
		return HSM_OPS_BAD_LENGTH;
	sha_init(&c, hash);
	if (state) {
		sha_set(&c, state, done + pre);
	} else if (key) {
		hmac_pad(hash, key, key_len, 0x36, blk);
		sha_update(&c, blk, bs);
	}
	sha_update(&c, data, len);
	if (!final) {
		sha_get(&c, out);
		*out_len = hsm_hash_state_size(hash);
	} else {
		sha_final(&c, md);
		if (key) {
			/* outer hash: H(key ^ opad || inner) */
			sha_init(&c, hash);
			hmac_pad(hash, key, key_len, 0x5c, blk);
			sha_update(&c, blk, bs);
			sha_update(&c, md, hs);
			sha_final(&c, md);
		}
		memcpy(out, md, hs);
		*out_len = hs;
	}
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(blk, sizeof(blk));
	OPENSSL_cleanse(md, sizeof(md));
	return HSM_OPS_OK;
}
