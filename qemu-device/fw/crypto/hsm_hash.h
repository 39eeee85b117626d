/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: resumable SHA-256/384/512 and HMAC over them, for the
 * Hash service (4021), where the host keeps the state between calls.
 *
 * The state is the hash's chaining value H0..H7 as big-endian words
 * (SHA-256: 32 bytes; SHA-384 and SHA-512: 64 bytes, all eight words),
 * valid after a whole number of blocks (64 bytes for SHA-256, 128 for
 * SHA-384/512). Message bytes only count: for HMAC the state is the inner
 * hash's after key^ipad and the message blocks; the key^ipad block is the
 * device's and @done never includes it. Plain C + OpenSSL's low-level
 * SHA-2 (hsm_hash.c alone uses that deprecated API).
 */
#ifndef HSM_HASH_H
#define HSM_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm_ops.h"

#define HSM_HASH_STATE_MAX	64
#define HSM_HASH_BLOCK_MAX	128

/* Block size of @hash (64 or 128), 0 for an unknown one. */
size_t hsm_hash_block(enum hsm_hash hash);
/* State size of @hash (32 or 64), 0 for an unknown one. */
size_t hsm_hash_state_size(enum hsm_hash hash);

/*
 * One step. @key / @key_len: the HMAC key (any length: longer than a block
 * it is hashed first), or NULL for a plain hash. @state NULL: start (then
 * @done must be 0); else @state_len bytes of state after @done message
 * bytes (a multiple of the block size). Not @final: @len a multiple of the
 * block size, @out gets the new state. @final: @out gets the digest or MAC
 * (the hash size). *@out_len is set; @out holds HSM_HASH_STATE_MAX bytes.
 * HSM_OPS_OK, BAD_HASH, BAD_LENGTH (lengths, @done), INVALID_ARG.
 */
int hsm_hash_step(enum hsm_hash hash, const uint8_t *key, size_t key_len, const uint8_t *state,
		  size_t state_len, uint64_t done, const uint8_t *data, size_t len, bool final,
		  uint8_t out[HSM_HASH_STATE_MAX], size_t *out_len);

#endif /* HSM_HASH_H */
