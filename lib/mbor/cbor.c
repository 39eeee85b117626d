// SPDX-License-Identifier: MIT
/* CBOR subset codec (include/azihsm/cbor.h). */
#include <string.h>

#include "azihsm/cbor.h"

enum {
	CBOR_UINT = 0,
	CBOR_NINT = 1,
	CBOR_BSTR = 2,
	CBOR_TSTR = 3,
	CBOR_ARRAY = 4,
	CBOR_MAP = 5,
	CBOR_TAG = 6,
	CBOR_SIMPLE = 7,
};

#define CBOR_FALSE	20
#define CBOR_TRUE	21

void cbor_enc_init(struct cbor_enc *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->cap = buf ? cap : 0;
	e->pos = 0;
	e->err = false;
}

static void enc_put(struct cbor_enc *e, const void *p, size_t len)
{
	if (!len)
		return;
	if (e->buf && !e->err) {
		if (len > e->cap - e->pos) {
			e->err = true;
			return;
		}
		memcpy(e->buf + e->pos, p, len);
	}
	e->pos += len;
}

static void enc_head(struct cbor_enc *e, unsigned int major, uint64_t v)
{
	uint8_t h[9];
	size_t n, i;

	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		n = 0;
	} else if (v <= 0xff) {
		h[0] = (uint8_t)(major << 5 | 24);
		n = 1;
	} else if (v <= 0xffff) {
		h[0] = (uint8_t)(major << 5 | 25);
		n = 2;
	} else if (v <= 0xffffffffu) {
		h[0] = (uint8_t)(major << 5 | 26);
		n = 4;
	} else {
		h[0] = (uint8_t)(major << 5 | 27);
		n = 8;
	}
	for (i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	enc_put(e, h, 1 + n);
}

void cbor_enc_uint(struct cbor_enc *e, uint64_t v)
{
	enc_head(e, CBOR_UINT, v);
}

void cbor_enc_int(struct cbor_enc *e, int64_t v)
{
	if (v >= 0)
		enc_head(e, CBOR_UINT, (uint64_t)v);
	else
		enc_head(e, CBOR_NINT, (uint64_t)(-(v + 1)));
}

void cbor_enc_bytes(struct cbor_enc *e, const void *p, size_t len)
{
	enc_head(e, CBOR_BSTR, len);
	enc_put(e, p, len);
}

void cbor_enc_text(struct cbor_enc *e, const char *s)
{
	size_t len = strlen(s);

	enc_head(e, CBOR_TSTR, len);
	enc_put(e, s, len);
}

void cbor_enc_array(struct cbor_enc *e, uint64_t n)
{
	enc_head(e, CBOR_ARRAY, n);
}

void cbor_enc_map(struct cbor_enc *e, uint64_t n)
{
	enc_head(e, CBOR_MAP, n);
}

void cbor_enc_tag(struct cbor_enc *e, uint64_t tag)
{
	enc_head(e, CBOR_TAG, tag);
}

void cbor_enc_bool(struct cbor_enc *e, bool v)
{
	uint8_t b = (uint8_t)(CBOR_SIMPLE << 5 | (v ? CBOR_TRUE : CBOR_FALSE));

	enc_put(e, &b, 1);
}

int cbor_enc_finish(const struct cbor_enc *e, size_t *len)
{
	if (e->err || !e->buf)
		return -1;
	*len = e->pos;
	return 0;
}

void cbor_dec_init(struct cbor_dec *d, const uint8_t *p, size_t len)
{
	d->p = p;
	d->len = p ? len : 0;
	d->pos = 0;
	d->err = !p;
}

/* One head: major type and argument, shortest form only. */
static int dec_head(struct cbor_dec *d, unsigned int *major, uint64_t *v)
{
	unsigned int ai, n, i;
	uint64_t x = 0;

	if (d->err || d->pos >= d->len)
		goto fail;
	*major = d->p[d->pos] >> 5;
	ai = d->p[d->pos] & 0x1f;
	d->pos++;
	if (ai < 24) {
		*v = ai;
		return 0;
	}
	if (ai > 27)
		goto fail;	/* reserved, or indefinite length */
	n = 1u << (ai - 24);
	if (n > d->len - d->pos)
		goto fail;
	for (i = 0; i < n; i++)
		x = x << 8 | d->p[d->pos + i];
	d->pos += n;
	/* Shortest form: the value would not fit the next smaller head. */
	if ((n == 1 && x < 24) || (n == 2 && x <= 0xff) || (n == 4 && x <= 0xffff) ||
	    (n == 8 && x <= 0xffffffffu))
		goto fail;
	*v = x;
	return 0;
fail:
	d->err = true;
	return -1;
}

static int dec_expect(struct cbor_dec *d, unsigned int want, uint64_t *v)
{
	unsigned int major;

	if (dec_head(d, &major, v))
		return -1;
	if (major != want) {
		d->err = true;
		return -1;
	}
	return 0;
}

int cbor_dec_uint(struct cbor_dec *d, uint64_t *v)
{
	return dec_expect(d, CBOR_UINT, v);
}

int cbor_dec_int(struct cbor_dec *d, int64_t *v)
{
	unsigned int major;
	uint64_t x;

	if (dec_head(d, &major, &x))
		return -1;
	if ((major != CBOR_UINT && major != CBOR_NINT) || x > INT64_MAX) {
		d->err = true;
		return -1;
	}
	*v = major == CBOR_UINT ? (int64_t)x : -1 - (int64_t)x;
	return 0;
}

static int dec_string(struct cbor_dec *d, unsigned int major, const uint8_t **p, size_t *len)
{
	uint64_t n;

	if (dec_expect(d, major, &n))
		return -1;
	if (n > d->len - d->pos) {
		d->err = true;
		return -1;
	}
	*p = d->p + d->pos;
	*len = (size_t)n;
	d->pos += (size_t)n;
	return 0;
}

int cbor_dec_bytes(struct cbor_dec *d, const uint8_t **p, size_t *len)
{
	return dec_string(d, CBOR_BSTR, p, len);
}

int cbor_dec_text(struct cbor_dec *d, const char **s, size_t *len)
{
	return dec_string(d, CBOR_TSTR, (const uint8_t **)s, len);
}

int cbor_dec_array(struct cbor_dec *d, uint64_t *n)
{
	if (dec_expect(d, CBOR_ARRAY, n))
		return -1;
	/* Every element takes a byte at least. */
	if (*n > d->len - d->pos) {
		d->err = true;
		return -1;
	}
	return 0;
}

int cbor_dec_map(struct cbor_dec *d, uint64_t *n)
{
	if (dec_expect(d, CBOR_MAP, n))
		return -1;
	if (*n > (d->len - d->pos) / 2) {
		d->err = true;
		return -1;
	}
	return 0;
}

int cbor_dec_tag(struct cbor_dec *d, uint64_t *tag)
{
	return dec_expect(d, CBOR_TAG, tag);
}

int cbor_dec_bool(struct cbor_dec *d, bool *v)
{
	uint64_t x;

	if (dec_expect(d, CBOR_SIMPLE, &x))
		return -1;
	if (x != CBOR_FALSE && x != CBOR_TRUE) {
		d->err = true;
		return -1;
	}
	*v = x == CBOR_TRUE;
	return 0;
}

int cbor_dec_peek(const struct cbor_dec *d)
{
	if (d->err || d->pos >= d->len)
		return -1;
	return d->p[d->pos] >> 5;
}

static int dec_skip(struct cbor_dec *d, unsigned int depth)
{
	const uint8_t *p;
	unsigned int major;
	uint64_t v, i;
	size_t len;

	switch (cbor_dec_peek(d)) {
	case CBOR_UINT:
	case CBOR_NINT:
		return dec_head(d, &major, &v);
	case CBOR_BSTR:
		return cbor_dec_bytes(d, &p, &len);
	case CBOR_TSTR:
		return dec_string(d, CBOR_TSTR, &p, &len);
	case CBOR_SIMPLE: {
		bool b;

		return cbor_dec_bool(d, &b);
	}
	case CBOR_ARRAY:
	case CBOR_MAP:
	case CBOR_TAG:
		break;
	default:
		d->err = true;
		return -1;
	}
	if (depth >= CBOR_MAX_DEPTH || dec_head(d, &major, &v)) {
		d->err = true;
		return -1;
	}
	if (major == CBOR_TAG)
		return dec_skip(d, depth + 1);
	if (major == CBOR_MAP) {
		if (v > (d->len - d->pos) / 2) {
			d->err = true;
			return -1;
		}
		v *= 2;
	}
	if (v > d->len - d->pos) {
		d->err = true;
		return -1;
	}
	for (i = 0; i < v; i++)
		if (dec_skip(d, depth + 1))
			return -1;
	return 0;
}

int cbor_dec_skip(struct cbor_dec *d)
{
	return dec_skip(d, 0);
}

int cbor_dec_finish(const struct cbor_dec *d)
{
	return d->err || d->pos != d->len ? -1 : 0;
}
