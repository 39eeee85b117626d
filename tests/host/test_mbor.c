// SPDX-License-Identifier: MIT
/* MBOR codec: round trips and every class of malformed input. */
#include <stdint.h>
#include <string.h>

#include "azihsm/mbor.h"
#include "azihsm/msg.h"
#include "tap.h"

static void test_round_trip(void)
{
	static const uint8_t blob[5] = { 1, 2, 3, 4, 5 };
	uint8_t buf[128];
	struct mbor_enc e;
	struct mbor_dec d;
	struct mbor_map m;
	const uint8_t *p;
	uint8_t id, u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	size_t len, plen;
	bool b;

	mbor_enc_init(&e, buf, sizeof(buf));
	mbor_enc_map(&e, 6);
	mbor_enc_key(&e, 1);
	mbor_enc_u8(&e, 0xab);
	mbor_enc_key(&e, 2);
	mbor_enc_u16(&e, 0xbeef);
	mbor_enc_key(&e, 3);
	mbor_enc_u32(&e, 0xdeadbeef);
	mbor_enc_key(&e, 4);
	mbor_enc_u64(&e, 0x0102030405060708ull);
	mbor_enc_key(&e, 5);
	mbor_enc_bool(&e, true);
	mbor_enc_key(&e, 9);
	mbor_enc_bytes(&e, blob, sizeof(blob));
	tap_eq(mbor_enc_finish(&e, &len), 0, "encode all types");
	tap_eq(buf[0], 0xa6, "map header is 0xA0|count");
	tap_ok(!memcmp(buf + 1, "\x18\x01\x18\xab\x18\x02\x19\xbe\xef", 9),
	       "keys and u8/u16 encoded big-endian with type bytes");

	mbor_dec_init(&d, buf, len);
	tap_eq(mbor_dec_map(&d, &m), 0, "decode map");
	tap_eq(m.left, 6, "map count");
	tap_ok(mbor_dec_next(&d, &m, &id) == 1 && id == 1 && !mbor_dec_u8(&d, &u8) && u8 == 0xab,
	       "u8 round trip");
	tap_ok(mbor_dec_next(&d, &m, &id) == 1 && id == 2 && !mbor_dec_u16(&d, &u16) &&
	       u16 == 0xbeef, "u16 round trip");
	tap_ok(mbor_dec_next(&d, &m, &id) == 1 && id == 3 && !mbor_dec_u32(&d, &u32) &&
	       u32 == 0xdeadbeef, "u32 round trip");
	tap_ok(mbor_dec_next(&d, &m, &id) == 1 && id == 4 && !mbor_dec_u64(&d, &u64) &&
	       u64 == 0x0102030405060708ull, "u64 round trip");
	tap_ok(mbor_dec_next(&d, &m, &id) == 1 && id == 5 && !mbor_dec_bool(&d, &b) && b,
	       "bool round trip");
	tap_ok(mbor_dec_next(&d, &m, &id) == 1 && id == 9 && !mbor_dec_bytes(&d, &p, &plen) &&
	       plen == sizeof(blob) && !memcmp(p, blob, plen), "bytes round trip");
	tap_ok(((uintptr_t)(p - buf) & 3) == 0, "bytes data 4-byte aligned in the buffer");
	tap_eq(mbor_dec_next(&d, &m, &id), 0, "end of map");
	tap_eq(mbor_dec_finish(&d), 0, "input fully consumed");
}

static void test_malformed(void)
{
	static const uint8_t trunc_u32[] = { 0xa1, 0x18, 0x01, 0x1a, 0x00, 0x01 };
	static const uint8_t wrong_type[] = { 0xa1, 0x18, 0x01, 0x19, 0x00, 0x01 };
	static const uint8_t order[] = { 0xa2, 0x18, 0x02, 0x18, 0x00, 0x18, 0x01, 0x18, 0x00 };
	static const uint8_t dup[] = { 0xa2, 0x18, 0x01, 0x18, 0x00, 0x18, 0x01, 0x18, 0x00 };
	static const uint8_t long_bytes[] = { 0xa1, 0x18, 0x01, 0x80, 0xff, 0xff, 1, 2 };
	static const uint8_t bad_pad[] = { 0xa1, 0x18, 0x01, 0x9f, 0x00, 0x01, 7 };
	static const uint8_t dirty_pad[] = { 0xa1, 0x18, 0x01, 0x81, 0x00, 0x01, 0xee, 7 };
	static const uint8_t trunc_map[] = { 0xa3, 0x18, 0x01, 0x18, 0x00 };
	static const uint8_t not_map[] = { 0x18, 0x01 };
	static const uint8_t trailing[] = { 0xa0, 0x00 };
	static const uint8_t deep[] = { 0xa1, 0x18, 0x00, 0xa1, 0x18, 0x00, 0xa1, 0x18, 0x00,
					0xa1, 0x18, 0x00, 0xa1, 0x18, 0x00, 0xa1, 0x18, 0x00,
					0xa1, 0x18, 0x00, 0xa1, 0x18, 0x00, 0xa1, 0x18, 0x00,
					0xa0 };
	struct mbor_dec d;
	struct mbor_map m;
	const uint8_t *p;
	uint32_t u32;
	uint16_t u16;
	uint8_t id, u8;
	size_t len;

	mbor_dec_init(&d, trunc_u32, sizeof(trunc_u32));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	tap_eq(mbor_dec_u32(&d, &u32), -MBOR_ERR_TRUNCATED, "truncated u32");

	mbor_dec_init(&d, wrong_type, sizeof(wrong_type));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	tap_eq(mbor_dec_u32(&d, &u32), -MBOR_ERR_TYPE, "u16 where u32 expected");

	mbor_dec_init(&d, order, sizeof(order));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	mbor_dec_u8(&d, &u8);
	tap_eq(mbor_dec_next(&d, &m, &id), -MBOR_ERR_ORDER, "keys out of order");

	mbor_dec_init(&d, dup, sizeof(dup));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	mbor_dec_u8(&d, &u8);
	tap_eq(mbor_dec_next(&d, &m, &id), -MBOR_ERR_ORDER, "duplicate key");

	mbor_dec_init(&d, long_bytes, sizeof(long_bytes));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	tap_eq(mbor_dec_bytes(&d, &p, &len), -MBOR_ERR_TRUNCATED,
	       "bytes length beyond the input");

	mbor_dec_init(&d, bad_pad, sizeof(bad_pad));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	tap_eq(mbor_dec_bytes(&d, &p, &len), -MBOR_ERR_LENGTH, "bytes pad over 3");

	mbor_dec_init(&d, dirty_pad, sizeof(dirty_pad));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	tap_eq(mbor_dec_bytes(&d, &p, &len), -MBOR_ERR_LENGTH, "nonzero pad byte");

	mbor_dec_init(&d, trunc_map, sizeof(trunc_map));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	mbor_dec_u8(&d, &u8);
	tap_eq(mbor_dec_next(&d, &m, &id), -MBOR_ERR_TRUNCATED, "map shorter than its count");

	mbor_dec_init(&d, not_map, sizeof(not_map));
	tap_eq(mbor_dec_map(&d, &m), -MBOR_ERR_TYPE, "integer where a map is expected");

	mbor_dec_init(&d, trailing, sizeof(trailing));
	mbor_dec_map(&d, &m);
	tap_eq(mbor_dec_finish(&d), -MBOR_ERR_TRAILING, "trailing bytes");

	mbor_dec_init(&d, deep, sizeof(deep));
	tap_eq(mbor_dec_skip(&d), -MBOR_ERR_LENGTH, "nesting deeper than the skip limit");

	mbor_dec_init(&d, trunc_u32, 0);
	tap_eq(mbor_dec_map(&d, &m), -MBOR_ERR_TRUNCATED, "empty input");

	/* Errors are sticky: a later call reports the first error. */
	mbor_dec_init(&d, wrong_type, sizeof(wrong_type));
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	mbor_dec_u32(&d, &u32);
	tap_eq(mbor_dec_u16(&d, &u16), -MBOR_ERR_TYPE, "errors are sticky");
}

static void test_encoder_limits(void)
{
	uint8_t buf[8], big[70000];
	struct mbor_enc e;
	size_t len;

	mbor_enc_init(&e, buf, sizeof(buf));
	mbor_enc_map(&e, 1);
	mbor_enc_key(&e, 1);
	mbor_enc_u64(&e, 1);
	tap_eq(mbor_enc_finish(&e, &len), -MBOR_ERR_NOSPACE, "encoder refuses to overflow");

	mbor_enc_init(&e, buf, sizeof(buf));
	mbor_enc_map(&e, 24);
	tap_eq(mbor_enc_finish(&e, &len), -MBOR_ERR_COUNT, "map count over 23 refused");

	mbor_enc_init(&e, big, sizeof(big));
	mbor_enc_bytes(&e, big, 65536);
	tap_eq(mbor_enc_finish(&e, &len), -MBOR_ERR_LENGTH, "bytes over 65535 refused");
}

static void test_msg(void)
{
	struct azihsm_req_hdr rq = { .has_rev = true, .rev = { 1, 0 }, .opcode = 1002,
				     .has_session = true, .session_id = 7 }, rq2;
	struct azihsm_rsp_hdr rs = { .req = { .opcode = 4001 }, .status = 0,
				     .fips_approved = true }, rs2;
	static const uint8_t no_hdr[] = { 0xa1, 0x18, 0x01, 0xa0 };
	static const uint8_t no_opcode[] = { 0xa1, 0x18, 0x00, 0xa0 };
	uint8_t buf[64];
	struct mbor_enc e;
	struct mbor_dec d;
	struct mbor_map m;
	bool has_data;
	size_t len;

	mbor_enc_init(&e, buf, sizeof(buf));
	azihsm_msg_begin_request(&e, &rq);
	mbor_enc_map(&e, 0);
	tap_eq(mbor_enc_finish(&e, &len), 0, "request encodes");
	mbor_dec_init(&d, buf, len);
	tap_eq(azihsm_msg_parse_request(&d, &rq2, &has_data), 0, "request parses");
	tap_ok(has_data && rq2.has_rev && rq2.rev.major == 1 && rq2.opcode == 1002 &&
	       rq2.has_session && rq2.session_id == 7, "request header round trip");
	tap_ok(!mbor_dec_map(&d, &m) && !m.left && !mbor_dec_finish(&d), "empty data map follows");

	mbor_enc_init(&e, buf, sizeof(buf));
	azihsm_msg_begin_response(&e, &rs);
	mbor_enc_map(&e, 0);
	mbor_enc_finish(&e, &len);
	mbor_dec_init(&d, buf, len);
	tap_ok(!azihsm_msg_parse_response(&d, &rs2, &has_data) && has_data &&
	       rs2.req.opcode == 4001 && rs2.status == 0 && rs2.fips_approved,
	       "response header round trip");

	rs.status = AZIHSM_STATUS_UNKNOWN_OPCODE;
	mbor_enc_init(&e, buf, sizeof(buf));
	azihsm_msg_begin_response(&e, &rs);
	mbor_enc_finish(&e, &len);
	mbor_dec_init(&d, buf, len);
	tap_ok(!azihsm_msg_parse_response(&d, &rs2, &has_data) && !has_data &&
	       rs2.status == AZIHSM_STATUS_UNKNOWN_OPCODE && !mbor_dec_finish(&d),
	       "error response has no data map");

	mbor_dec_init(&d, no_hdr, sizeof(no_hdr));
	tap_eq(azihsm_msg_parse_request(&d, &rq2, &has_data), -MBOR_ERR_MISSING,
	       "request without header refused");
	mbor_dec_init(&d, no_opcode, sizeof(no_opcode));
	tap_eq(azihsm_msg_parse_request(&d, &rq2, &has_data), -MBOR_ERR_MISSING,
	       "header without opcode refused");
	/* A request-side parser must not accept response-only fields. */
	mbor_enc_init(&e, buf, sizeof(buf));
	azihsm_msg_begin_response(&e, &rs);
	mbor_enc_finish(&e, &len);
	mbor_dec_init(&d, buf, len);
	tap_eq(azihsm_msg_parse_request(&d, &rq2, &has_data), -MBOR_ERR_VALUE,
	       "status field refused in a request");
}

int main(void)
{
	test_round_trip();
	test_malformed();
	test_encoder_limits();
	test_msg();
	return tap_done();
}
