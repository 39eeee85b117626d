// SPDX-License-Identifier: MIT
/*
 * MBOR codec. Freestanding: the same file is compiled into the firmware
 * core, libazihsm and the Linux driver, so it uses no library calls.
 * Format: include/azihsm/mbor.h.
 */
#include "azihsm/mbor.h"

#define MBOR_T_U8	0x18
#define MBOR_T_U16	0x19
#define MBOR_T_U32	0x1a
#define MBOR_T_U64	0x1b
#define MBOR_T_FALSE	0x14
#define MBOR_T_TRUE	0x15
#define MBOR_T_MAP	0xa0
#define MBOR_T_BYTES	0x80
#define MBOR_T_MASK	0xe0
#define MBOR_BYTES_PAD_MASK 0x1f
#define MBOR_BYTES_PAD_MAX 3
#define MBOR_SKIP_DEPTH	8

/* ---- encoder ------------------------------------------------------------- */

void mbor_enc_init(struct mbor_enc *e, void *buf, size_t cap)
{
	e->buf = buf;
	e->cap = cap;
	e->pos = 0;
	e->err = MBOR_OK;
}

static uint8_t *enc_room(struct mbor_enc *e, size_t n)
{
	uint8_t *p;

	if (e->err)
		return NULL;
	if (n > e->cap - e->pos) {
		e->err = MBOR_ERR_NOSPACE;
		return NULL;
	}
	p = e->buf + e->pos;
	e->pos += n;
	return p;
}

static void enc_be(struct mbor_enc *e, uint8_t type, uint64_t v, unsigned int width)
{
	uint8_t *p = enc_room(e, 1 + width);
	unsigned int i;

	if (!p)
		return;
	p[0] = type;
	for (i = 0; i < width; i++)
		p[1 + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

void mbor_enc_map(struct mbor_enc *e, unsigned int count)
{
	uint8_t *p;

	if (count > MBOR_MAP_MAX) {
		if (!e->err)
			e->err = MBOR_ERR_COUNT;
		return;
	}
	p = enc_room(e, 1);
	if (p)
		*p = (uint8_t)(MBOR_T_MAP | count);
}

void mbor_enc_key(struct mbor_enc *e, uint8_t id)
{
	enc_be(e, MBOR_T_U8, id, 1);
}

void mbor_enc_u8(struct mbor_enc *e, uint8_t v)
{
	enc_be(e, MBOR_T_U8, v, 1);
}

void mbor_enc_u16(struct mbor_enc *e, uint16_t v)
{
	enc_be(e, MBOR_T_U16, v, 2);
}

void mbor_enc_u32(struct mbor_enc *e, uint32_t v)
{
	enc_be(e, MBOR_T_U32, v, 4);
}

void mbor_enc_u64(struct mbor_enc *e, uint64_t v)
{
	enc_be(e, MBOR_T_U64, v, 8);
}

void mbor_enc_bool(struct mbor_enc *e, bool v)
{
	uint8_t *p = enc_room(e, 1);

	if (p)
		*p = v ? MBOR_T_TRUE : MBOR_T_FALSE;
}

uint8_t *mbor_enc_bytes_reserve(struct mbor_enc *e, size_t len)
{
	unsigned int pad, i;
	uint8_t *p;

	if (len > MBOR_BYTES_MAX) {
		if (!e->err)
			e->err = MBOR_ERR_LENGTH;
		return NULL;
	}
	/* Data starts 4-byte aligned relative to the buffer start. */
	pad = (4 - ((e->pos + 3) & 3)) & 3;
	p = enc_room(e, 3 + pad + len);
	if (!p)
		return NULL;
	p[0] = (uint8_t)(MBOR_T_BYTES | pad);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	for (i = 0; i < pad; i++)
		p[3 + i] = 0;
	return p + 3 + pad;
}

void mbor_enc_bytes(struct mbor_enc *e, const void *data, size_t len)
{
	const uint8_t *src = data;
	uint8_t *dst = mbor_enc_bytes_reserve(e, len);
	size_t i;

	if (!dst)
		return;
	for (i = 0; i < len; i++)
		dst[i] = src[i];
}

int mbor_enc_finish(const struct mbor_enc *e, size_t *len)
{
	if (e->err)
		return -e->err;
	*len = e->pos;
	return MBOR_OK;
}

/* ---- decoder ------------------------------------------------------------- */

void mbor_dec_init(struct mbor_dec *d, const void *buf, size_t len)
{
	d->buf = buf;
	d->len = len;
	d->pos = 0;
	d->err = MBOR_OK;
}

static int dec_fail(struct mbor_dec *d, int err)
{
	if (!d->err)
		d->err = err;
	return -d->err;
}

static const uint8_t *dec_take(struct mbor_dec *d, size_t n)
{
	const uint8_t *p;

	if (d->err)
		return NULL;
	if (n > d->len - d->pos) {
		dec_fail(d, MBOR_ERR_TRUNCATED);
		return NULL;
	}
	p = d->buf + d->pos;
	d->pos += n;
	return p;
}

static int dec_peek(struct mbor_dec *d, uint8_t *b)
{
	if (d->err)
		return -d->err;
	if (d->pos >= d->len)
		return dec_fail(d, MBOR_ERR_TRUNCATED);
	*b = d->buf[d->pos];
	return 0;
}

static int dec_be(struct mbor_dec *d, uint8_t type, unsigned int width, uint64_t *v)
{
	const uint8_t *p;
	uint8_t b;
	unsigned int i;
	int ret;

	ret = dec_peek(d, &b);
	if (ret)
		return ret;
	if (b != type)
		return dec_fail(d, MBOR_ERR_TYPE);
	p = dec_take(d, 1 + width);
	if (!p)
		return -d->err;
	*v = 0;
	for (i = 0; i < width; i++)
		*v = (*v << 8) | p[1 + i];
	return 0;
}

int mbor_dec_map(struct mbor_dec *d, struct mbor_map *m)
{
	uint8_t b;
	int ret;

	ret = dec_peek(d, &b);
	if (ret)
		return ret;
	if ((b & MBOR_T_MASK) != MBOR_T_MAP || (b & 0x1f) > MBOR_MAP_MAX)
		return dec_fail(d, MBOR_ERR_TYPE);
	d->pos++;
	m->left = b & 0x1f;
	m->last_id = -1;
	return 0;
}

int mbor_dec_next(struct mbor_dec *d, struct mbor_map *m, uint8_t *id)
{
	uint64_t v;
	int ret;

	if (d->err)
		return -d->err;
	if (!m->left)
		return 0;
	ret = dec_be(d, MBOR_T_U8, 1, &v);
	if (ret)
		return ret;
	if ((int)v <= m->last_id)
		return dec_fail(d, MBOR_ERR_ORDER);
	m->last_id = (int)v;
	m->left--;
	*id = (uint8_t)v;
	return 1;
}

int mbor_dec_u8(struct mbor_dec *d, uint8_t *v)
{
	uint64_t t;
	int ret = dec_be(d, MBOR_T_U8, 1, &t);

	if (!ret)
		*v = (uint8_t)t;
	return ret;
}

int mbor_dec_u16(struct mbor_dec *d, uint16_t *v)
{
	uint64_t t;
	int ret = dec_be(d, MBOR_T_U16, 2, &t);

	if (!ret)
		*v = (uint16_t)t;
	return ret;
}

int mbor_dec_u32(struct mbor_dec *d, uint32_t *v)
{
	uint64_t t;
	int ret = dec_be(d, MBOR_T_U32, 4, &t);

	if (!ret)
		*v = (uint32_t)t;
	return ret;
}

int mbor_dec_u64(struct mbor_dec *d, uint64_t *v)
{
	return dec_be(d, MBOR_T_U64, 8, v);
}

int mbor_dec_bool(struct mbor_dec *d, bool *v)
{
	uint8_t b;
	int ret;

	ret = dec_peek(d, &b);
	if (ret)
		return ret;
	if (b != MBOR_T_TRUE && b != MBOR_T_FALSE)
		return dec_fail(d, MBOR_ERR_TYPE);
	d->pos++;
	*v = b == MBOR_T_TRUE;
	return 0;
}

int mbor_dec_bytes(struct mbor_dec *d, const uint8_t **data, size_t *len)
{
	const uint8_t *p;
	unsigned int pad, i;
	size_t n;
	uint8_t b;
	int ret;

	ret = dec_peek(d, &b);
	if (ret)
		return ret;
	if ((b & MBOR_T_MASK) != MBOR_T_BYTES)
		return dec_fail(d, MBOR_ERR_TYPE);
	pad = b & MBOR_BYTES_PAD_MASK;
	if (pad > MBOR_BYTES_PAD_MAX)
		return dec_fail(d, MBOR_ERR_LENGTH);
	p = dec_take(d, 3);
	if (!p)
		return -d->err;
	n = ((size_t)p[1] << 8) | p[2];
	p = dec_take(d, pad);
	if (!p)
		return -d->err;
	for (i = 0; i < pad; i++)
		if (p[i])
			return dec_fail(d, MBOR_ERR_LENGTH);
	p = dec_take(d, n);
	if (!p)
		return -d->err;
	*data = p;
	*len = n;
	return 0;
}

static int dec_skip_depth(struct mbor_dec *d, unsigned int depth)
{
	struct mbor_map m;
	const uint8_t *data;
	uint64_t v;
	size_t len;
	uint8_t b, id;
	bool flag;
	int ret;

	ret = dec_peek(d, &b);
	if (ret)
		return ret;
	switch (b) {
	case MBOR_T_U8:
		return dec_be(d, b, 1, &v);
	case MBOR_T_U16:
		return dec_be(d, b, 2, &v);
	case MBOR_T_U32:
		return dec_be(d, b, 4, &v);
	case MBOR_T_U64:
		return dec_be(d, b, 8, &v);
	case MBOR_T_TRUE:
	case MBOR_T_FALSE:
		return mbor_dec_bool(d, &flag);
	}
	if ((b & MBOR_T_MASK) == MBOR_T_BYTES)
		return mbor_dec_bytes(d, &data, &len);
	if ((b & MBOR_T_MASK) != MBOR_T_MAP)
		return dec_fail(d, MBOR_ERR_TYPE);
	if (depth >= MBOR_SKIP_DEPTH)
		return dec_fail(d, MBOR_ERR_LENGTH);
	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1)
		ret = dec_skip_depth(d, depth + 1);
	return ret;
}

int mbor_dec_skip(struct mbor_dec *d)
{
	return dec_skip_depth(d, 0);
}

int mbor_dec_finish(const struct mbor_dec *d)
{
	if (d->err)
		return -d->err;
	if (d->pos != d->len)
		return -MBOR_ERR_TRAILING;
	return MBOR_OK;
}

const char *mbor_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case MBOR_OK:
		return "ok";
	case MBOR_ERR_TRUNCATED:
		return "truncated input";
	case MBOR_ERR_TYPE:
		return "unexpected item type";
	case MBOR_ERR_ORDER:
		return "map keys out of order";
	case MBOR_ERR_LENGTH:
		return "length or padding out of range";
	case MBOR_ERR_NOSPACE:
		return "output buffer too small";
	case MBOR_ERR_COUNT:
		return "map item count out of range";
	case MBOR_ERR_MISSING:
		return "required field missing";
	case MBOR_ERR_TRAILING:
		return "trailing bytes";
	case MBOR_ERR_VALUE:
		return "value out of range";
	}
	return "unknown MBOR error";
}
