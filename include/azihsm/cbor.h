/* SPDX-License-Identifier: MIT */
/*
 * A small CBOR (RFC 8949) encoder and decoder, for the attestation report
 * (a COSE_Sign1, RFC 9052). Shared by the firmware core (which writes
 * reports) and libazihsm (which reads and verifies them). MBOR (mbor.h) is
 * another encoding: never mix the two.
 *
 * Subset: unsigned and negative integers, byte and text strings, arrays,
 * maps, tags, false/true; definite lengths only, every head in its
 * shortest form (deterministic encoding, RFC 8949 4.2.1). The decoder
 * refuses anything else (indefinite lengths, floats, non-shortest heads,
 * lengths past the end), so one byte string has one encoding.
 *
 * Errors are sticky (as in mbor.h): check once at the end.
 */
#ifndef AZIHSM_CBOR_H
#define AZIHSM_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CBOR_MAX_DEPTH	8	/* nesting cbor_dec_skip accepts */

struct cbor_enc {
	uint8_t *buf;		/* NULL: only count (pos = the size needed) */
	size_t cap;
	size_t pos;
	bool err;		/* ran out of room */
};

void cbor_enc_init(struct cbor_enc *e, uint8_t *buf, size_t cap);
void cbor_enc_uint(struct cbor_enc *e, uint64_t v);
void cbor_enc_int(struct cbor_enc *e, int64_t v);
void cbor_enc_bytes(struct cbor_enc *e, const void *p, size_t len);
void cbor_enc_text(struct cbor_enc *e, const char *s);
void cbor_enc_array(struct cbor_enc *e, uint64_t n);
void cbor_enc_map(struct cbor_enc *e, uint64_t n);
void cbor_enc_tag(struct cbor_enc *e, uint64_t tag);
void cbor_enc_bool(struct cbor_enc *e, bool v);
/* 0 and *@len = bytes written, or -1 if they did not fit. */
int cbor_enc_finish(const struct cbor_enc *e, size_t *len);

struct cbor_dec {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool err;
};

void cbor_dec_init(struct cbor_dec *d, const uint8_t *p, size_t len);
/* Each reads one item of its kind or fails (0 / -1). */
int cbor_dec_uint(struct cbor_dec *d, uint64_t *v);
/* An unsigned or negative integer that fits int64_t. */
int cbor_dec_int(struct cbor_dec *d, int64_t *v);
/* Pointers into the input. */
int cbor_dec_bytes(struct cbor_dec *d, const uint8_t **p, size_t *len);
int cbor_dec_text(struct cbor_dec *d, const char **s, size_t *len);
int cbor_dec_array(struct cbor_dec *d, uint64_t *n);
int cbor_dec_map(struct cbor_dec *d, uint64_t *n);
int cbor_dec_tag(struct cbor_dec *d, uint64_t *tag);
int cbor_dec_bool(struct cbor_dec *d, bool *v);
/* The major type (0..7) of the next item without reading it, or -1. */
int cbor_dec_peek(const struct cbor_dec *d);
/* Skip one whole item (nesting at most CBOR_MAX_DEPTH). */
int cbor_dec_skip(struct cbor_dec *d);
/* 0 if every input byte was read and nothing failed. */
int cbor_dec_finish(const struct cbor_dec *d);

#endif /* AZIHSM_CBOR_H */
