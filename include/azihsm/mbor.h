/* SPDX-License-Identifier: MIT */
/*
 * MBOR: the CBOR-like encoding of HSM command payloads.
 *
 * Freestanding: no libc or kernel calls, so the same codec is compiled into
 * the firmware core (QEMU device and host tests), libazihsm and the driver.
 *
 * Encoding (Documentation/device.md, "MBOR"):
 *   map       0xA0 | count            (count <= 23), fields follow in id order
 *   key       0x18 id                 (u8 id)
 *   u8        0x18 v
 *   u16       0x19 v (big-endian)
 *   u32       0x1A v (big-endian)
 *   u64       0x1B v (big-endian)
 *   bool      0x14 false, 0x15 true
 *   bytes     0x80 | pad, u16 length (big-endian), pad zero bytes, data;
 *             the encoder pads so the data starts 4-byte aligned in the
 *             buffer; the decoder accepts pad 0..3 and requires zeros.
 * Each field has one type: a u32 field is always encoded 0x1A.
 *
 * Return values: every decoder call and both *_finish calls return 0 (or 1
 * where said) on success and -MBOR_ERR_* on failure. Errors are sticky:
 * after the first one every later call fails the same way, so a caller may
 * check once at the end.
 */
#ifndef AZIHSM_MBOR_H
#define AZIHSM_MBOR_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#define MBOR_MAP_MAX		23
#define MBOR_BYTES_MAX		0xffff

enum mbor_error {
	MBOR_OK = 0,
	MBOR_ERR_TRUNCATED = 1,	/* input ends inside an item */
	MBOR_ERR_TYPE = 2,	/* item is not of the expected type */
	MBOR_ERR_ORDER = 3,	/* map key not above the previous one */
	MBOR_ERR_LENGTH = 4,	/* length over a limit, bad pad */
	MBOR_ERR_NOSPACE = 5,	/* encoder buffer full */
	MBOR_ERR_COUNT = 6,	/* map has fewer/more items than used */
	MBOR_ERR_MISSING = 7,	/* required field absent */
	MBOR_ERR_TRAILING = 8,	/* bytes after the top-level item */
	MBOR_ERR_VALUE = 9,	/* value out of range for the field */
};

struct mbor_enc {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	int err;		/* first error, sticky */
};

void mbor_enc_init(struct mbor_enc *e, void *buf, size_t cap);
void mbor_enc_map(struct mbor_enc *e, unsigned int count);
void mbor_enc_key(struct mbor_enc *e, uint8_t id);
void mbor_enc_u8(struct mbor_enc *e, uint8_t v);
void mbor_enc_u16(struct mbor_enc *e, uint16_t v);
void mbor_enc_u32(struct mbor_enc *e, uint32_t v);
void mbor_enc_u64(struct mbor_enc *e, uint64_t v);
void mbor_enc_bool(struct mbor_enc *e, bool v);
void mbor_enc_bytes(struct mbor_enc *e, const void *data, size_t len);
/*
 * Reserve a bytes item of @len and return where its data goes, so a
 * producer can write in place (NULL on error).
 */
uint8_t *mbor_enc_bytes_reserve(struct mbor_enc *e, size_t len);
/* Returns MBOR_OK and the encoded length, or the first error. */
int mbor_enc_finish(const struct mbor_enc *e, size_t *len);

struct mbor_dec {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int err;		/* first error, sticky */
};

/* Iterates one map's fields, enforcing increasing ids. */
struct mbor_map {
	unsigned int left;
	int last_id;
};

void mbor_dec_init(struct mbor_dec *d, const void *buf, size_t len);
int mbor_dec_map(struct mbor_dec *d, struct mbor_map *m);
/* 1 and *id when a field follows, 0 at the end of the map, <0 on error. */
int mbor_dec_next(struct mbor_dec *d, struct mbor_map *m, uint8_t *id);
int mbor_dec_u8(struct mbor_dec *d, uint8_t *v);
int mbor_dec_u16(struct mbor_dec *d, uint16_t *v);
int mbor_dec_u32(struct mbor_dec *d, uint32_t *v);
int mbor_dec_u64(struct mbor_dec *d, uint64_t *v);
int mbor_dec_bool(struct mbor_dec *d, bool *v);
/* Points *data into the input buffer; no copy. */
int mbor_dec_bytes(struct mbor_dec *d, const uint8_t **data, size_t *len);
/* Skips one item of any type (maps recursively, bounded depth). */
int mbor_dec_skip(struct mbor_dec *d);
/* MBOR_OK if the whole input was consumed without error. */
int mbor_dec_finish(const struct mbor_dec *d);

const char *mbor_strerror(int err);

#endif /* AZIHSM_MBOR_H */
