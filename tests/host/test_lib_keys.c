// SPDX-License-Identifier: MIT
/*
 * libazihsm sessions and keys on the host.
 *
 * Part 1: the request builders against hand-checked MBOR bytes, and the
 * response parsers against hand-built answers (strictness of the KeyList
 * records included). Part 2: the public API (azihsm_login ... _ecdsa_sign)
 * through the library's internal transport hook straight into the real
 * firmware core (hsm_fw_execute): default officer login, PIN change, a
 * persistent P-384 key, its public part, a signature verified by OpenSSL,
 * the ioctl session flags of every step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <linux/azihsm.h>

#include "azihsm/azihsm.h"
#include "drv_app_id.h"
#include "hsm_fw.h"
#include "hsm_vault.h"
#include "internal.h"
#include "proto.h"
#include "tap.h"
#include "test_pki.h"

/* --- part 1: bytes -------------------------------------------------------- */

static void check_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
			size_t want_len, const char *what)
{
	if (!tap_ok(got_len == want_len && !memcmp(got, want, want_len), "%s: bytes", what)) {
		size_t i;

		printf("#   got ");
		for (i = 0; i < got_len; i++)
			printf("%02x", got[i]);
		printf("\n");
	}
}

static void test_builders(void)
{
	uint8_t buf[256], digest[48];
	size_t len;

	/* CloseSession, session 5: { 0: { 2: 1105, 3: 5 }, 1: {} } */
	static const uint8_t close5[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x04, 0x51,
		0x18, 0x03, 0x19, 0x00, 0x05, 0x18, 0x01, 0xa0,
	};
	/* KeyGenerate, session 7: { 1: 0x11, 2: 1, 3: "ab", 4: true }; the
	 * bytes item at offset 32 pads one zero so "ab" starts at 36. */
	static const uint8_t gen[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x0f, 0xaa,
		0x18, 0x03, 0x19, 0x00, 0x07, 0x18, 0x01, 0xa4,
		0x18, 0x01, 0x18, 0x11, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x00, 0x01,
		0x18, 0x03, 0x81, 0x00, 0x02, 0x00, 'a', 'b', 0x18, 0x04, 0x15,
	};
	/* KeyGenerate without label, not persistent: 3 fields. */
	static const uint8_t gen_nolabel[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x0f, 0xaa,
		0x18, 0x03, 0x19, 0x00, 0x07, 0x18, 0x01, 0xa3,
		0x18, 0x01, 0x18, 0x03, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x00, 0x0c,
		0x18, 0x04, 0x14,
	};
	/* DeleteKey, session 2, key 0x0102: { 1: 0x0102 } */
	static const uint8_t del[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x03, 0xf6,
		0x18, 0x03, 0x19, 0x00, 0x02, 0x18, 0x01, 0xa1, 0x18, 0x01, 0x19, 0x01, 0x02,
	};
	/* OpenKey, session 1, "k": bytes item at 21, data at 24 (no pad) */
	static const uint8_t open_k[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x03, 0xf7,
		0x18, 0x03, 0x19, 0x00, 0x01, 0x18, 0x01, 0xa1, 0x18, 0x01,
		0x80, 0x00, 0x01, 'k',
	};
	/* EccSign head, session 1, key 2, SHA-384: digest item at 30, pad 3 */
	static const uint8_t sign_head[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x04, 0x26,
		0x18, 0x03, 0x19, 0x00, 0x01, 0x18, 0x01, 0xa3,
		0x18, 0x01, 0x19, 0x00, 0x02, 0x18, 0x02, 0x18, 0x02,
		0x18, 0x03, 0x83, 0x00, 0x30, 0x00, 0x00, 0x00,
	};
	uint8_t host_pub[3] = { 0xaa, 0xbb, 0xcc }, nonce[32], ct[33], tag[16];
	struct proto_sealed ps = { host_pub, sizeof(host_pub), nonce, ct, sizeof(ct), tag };
	struct mbor_dec d;
	struct mbor_map m;
	struct azihsm_req_hdr h;
	const uint8_t *p;
	bool has_data;
	uint8_t id;

	len = proto_req_sess_empty(buf, sizeof(buf), AZIHSM_OP_CLOSE_SESSION, 5);
	check_bytes(buf, len, close5, sizeof(close5), "CloseSession request");
	len = proto_req_key_generate(buf, sizeof(buf), 7, 0x11, 1, "ab", 2, true);
	check_bytes(buf, len, gen, sizeof(gen), "KeyGenerate request");
	len = proto_req_key_generate(buf, sizeof(buf), 7, 0x03, 0x0c, NULL, 0, false);
	check_bytes(buf, len, gen_nolabel, sizeof(gen_nolabel), "KeyGenerate without label");
	len = proto_req_key_id(buf, sizeof(buf), AZIHSM_OP_DELETE_KEY, 2, 0x0102);
	check_bytes(buf, len, del, sizeof(del), "DeleteKey request");
	len = proto_req_key_open(buf, sizeof(buf), 1, "k", 1);
	check_bytes(buf, len, open_k, sizeof(open_k), "OpenKey request");
	memset(digest, 0x11, sizeof(digest));
	len = proto_req_ecc_sign(buf, sizeof(buf), 1, 2, AZIHSM_HASH_SHA384, digest, 48);
	tap_ok(len == sizeof(sign_head) + 48 && !memcmp(buf, sign_head, sizeof(sign_head)) &&
	       !memcmp(buf + sizeof(sign_head), digest, 48), "EccSign request: bytes");

	tap_eq(proto_req_key_generate(buf, sizeof(buf), 1, 0x11, 1, "x", 129, true), 0,
	       "label over 128 bytes refused");
	tap_eq(proto_req_key_open(buf, sizeof(buf), 1, "x", 0), 0, "empty OpenKey label refused");
	tap_eq(proto_req_key_generate(buf, 20, 7, 0x11, 1, "ab", 2, true), 0,
	       "request that does not fit: 0");

	/* OpenSession: no session in the header; ChangePin: session 9. */
	memset(nonce, 0x22, sizeof(nonce));
	memset(ct, 0x33, sizeof(ct));
	memset(tag, 0x44, sizeof(tag));
	len = proto_req_open_session(buf, sizeof(buf), &ps);
	mbor_dec_init(&d, buf, len);
	tap_ok(len && !azihsm_msg_parse_request(&d, &h, &has_data) && has_data &&
	       h.opcode == AZIHSM_OP_OPEN_SESSION && !h.has_session,
	       "OpenSession request: header without session");
	tap_ok(!mbor_dec_map(&d, &m) && m.left == 4 && mbor_dec_next(&d, &m, &id) == 1 &&
	       id == 1 && !mbor_dec_bytes(&d, &p, &len) && len == 3 && p[0] == 0xaa &&
	       mbor_dec_next(&d, &m, &id) == 1 && id == 2 && !mbor_dec_bytes(&d, &p, &len) &&
	       len == 32 && p[0] == 0x22 &&
	       mbor_dec_next(&d, &m, &id) == 1 && id == 3 && !mbor_dec_bytes(&d, &p, &len) &&
	       len == 33 && p[32] == 0x33 &&
	       mbor_dec_next(&d, &m, &id) == 1 && id == 4 && !mbor_dec_bytes(&d, &p, &len) &&
	       len == 16 && p[15] == 0x44 && mbor_dec_next(&d, &m, &id) == 0 &&
	       !mbor_dec_finish(&d), "OpenSession request: host_pub, nonce, ciphertext, tag");
	len = proto_req_change_pin(buf, sizeof(buf), 9, &ps);
	mbor_dec_init(&d, buf, len);
	tap_ok(len && !azihsm_msg_parse_request(&d, &h, &has_data) &&
	       h.opcode == AZIHSM_OP_CHANGE_PIN && h.has_session && h.session_id == 9,
	       "ChangePin request: header names session 9");
}

/* A response { 0: { 2: op, 4: 0, 5: false }, 1: <data> } built by @fill. */
static size_t rsp_with(uint8_t *buf, size_t cap, uint32_t op,
		       void (*fill)(struct mbor_enc *e, const void *arg), const void *arg)
{
	struct azihsm_rsp_hdr h = { .req = { .opcode = op } };
	struct mbor_enc e;
	size_t len;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_response(&e, &h);
	fill(&e, arg);
	return mbor_enc_finish(&e, &len) ? 0 : len;
}

struct list_arg {
	uint16_t count;
	const uint8_t *rec;
	size_t len;
	bool extra_field;
};

static void fill_list(struct mbor_enc *e, const void *arg)
{
	const struct list_arg *a = arg;

	mbor_enc_map(e, a->extra_field ? 3 : 2);
	mbor_enc_key(e, AZIHSM_KEY_F_COUNT);
	mbor_enc_u16(e, a->count);
	mbor_enc_key(e, AZIHSM_KEY_F_RECORDS);
	mbor_enc_bytes(e, a->rec, a->len);
	if (a->extra_field) {
		mbor_enc_key(e, 9);
		mbor_enc_u32(e, 42);
	}
}

static int parse_list(const struct list_arg *a, struct azihsm_key_info *k, size_t cap,
		      size_t *n)
{
	uint8_t buf[1024];
	struct mbor_dec d;
	uint32_t st;
	size_t len = rsp_with(buf, sizeof(buf), AZIHSM_OP_KEY_LIST, fill_list, a);

	if (proto_rsp_begin(&d, buf, len, AZIHSM_OP_KEY_LIST, &st))
		return -1000;
	uint16_t next;

	return proto_parse_key_list(&d, k, cap, n, &next);
}

static void test_parsers(void)
{
	/* OpenSession answer: session 3, officer, must change. */
	static const uint8_t open_rsp[] = {
		0xa2, 0x18, 0x00, 0xa3, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x04, 0x50,
		0x18, 0x04, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x18, 0x05, 0x14,
		0x18, 0x01, 0xa3, 0x18, 0x01, 0x19, 0x00, 0x03, 0x18, 0x02, 0x18, 0x01,
		0x18, 0x03, 0x15,
	};
	/* The same without must_change (field 3). */
	static const uint8_t open_rsp_short[] = {
		0xa2, 0x18, 0x00, 0xa3, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x04, 0x50,
		0x18, 0x04, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x18, 0x05, 0x14,
		0x18, 0x01, 0xa2, 0x18, 0x01, 0x19, 0x00, 0x03, 0x18, 0x02, 0x18, 0x01,
	};
	/* A refusal: header only, status BAD_CREDENTIAL. */
	static const uint8_t refused[] = {
		0xa1, 0x18, 0x00, 0xa3, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x04, 0x50,
		0x18, 0x04, 0x1a, 0x00, 0x00, 0x10, 0x13, 0x18, 0x05, 0x14,
	};
	/* id 3, EC P-384, sign, persistent, "sig1"; id 0x102, AES-256, enc|dec, session, "" */
	static const uint8_t recs[] = {
		0x03, 0x00, 0x11, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 's', 'i', 'g', '1',
		0x02, 0x01, 0x03, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	uint8_t bad[sizeof(recs) + 1];
	struct azihsm_key_info k[2];
	struct list_arg a = { 2, recs, sizeof(recs), false };
	struct mbor_dec d;
	bool must = false;
	uint16_t sid = 0;
	uint8_t role = 0;
	uint32_t st;
	size_t n;

	tap_ok(!proto_rsp_begin(&d, open_rsp, sizeof(open_rsp), AZIHSM_OP_OPEN_SESSION, &st) &&
	       !proto_parse_open_session(&d, &sid, &role, &must) && sid == 3 && role == 1 && must,
	       "OpenSession answer parsed: session 3, officer, must change");
	tap_ok(!proto_rsp_begin(&d, open_rsp_short, sizeof(open_rsp_short),
				AZIHSM_OP_OPEN_SESSION, &st) &&
	       proto_parse_open_session(&d, &sid, &role, &must) == -EPROTO,
	       "OpenSession answer without must_change: -EPROTO");
	tap_eq(proto_rsp_begin(&d, refused, sizeof(refused), AZIHSM_OP_OPEN_SESSION, &st), -EIO,
	       "refused OpenSession: -EIO");
	tap_eq(st, AZIHSM_STATUS_BAD_CREDENTIAL, "with BAD_CREDENTIAL");

	tap_eq(parse_list(&a, k, 2, &n), 0, "KeyList: two records parsed");
	tap_ok(n == 2 && k[0].id == 3 && k[0].type == 0x11 && k[0].usage == 1 &&
	       k[0].persistent && k[0].label_len == 4 && !strcmp((char *)k[0].label, "sig1"),
	       "KeyList record 1: id 3, P-384, sign, persistent, sig1");
	tap_ok(k[1].id == 0x102 && k[1].type == 0x03 && k[1].usage == 0x0c &&
	       !k[1].persistent && k[1].label_len == 0 && !k[1].label[0],
	       "KeyList record 2: id 0x102, AES-256, encrypt|decrypt, session, no label");
	a.extra_field = true;
	tap_eq(parse_list(&a, k, 2, &n), 0, "KeyList: unknown field skipped");
	a.extra_field = false;
	tap_eq(parse_list(&a, k, 1, &n), -ENOSPC, "KeyList into one entry: -ENOSPC");
	tap_ok(n == 2 && k[0].id == 3, "with count 2 and the first entry filled");
	a.count = 3;
	tap_eq(parse_list(&a, k, 2, &n), -EPROTO, "count 3 over two records: -EPROTO");
	a.count = 1;
	tap_eq(parse_list(&a, k, 2, &n), -EPROTO, "count 1 with a record left over: -EPROTO");
	a.count = 2;
	memcpy(bad, recs, sizeof(recs));
	bad[sizeof(recs)] = 0;
	a.rec = bad;
	a.len = sizeof(bad);
	tap_eq(parse_list(&a, k, 2, &n), -EPROTO, "trailing byte after the records: -EPROTO");
	a.len = sizeof(recs) - 1;
	tap_eq(parse_list(&a, k, 2, &n), -EPROTO, "record cut short: -EPROTO");
	a.len = sizeof(recs);
	bad[7] = 2;
	tap_eq(parse_list(&a, k, 2, &n), -EPROTO, "persistent byte 2: -EPROTO");
	bad[7] = 1;
	bad[8] = 200;
	tap_eq(parse_list(&a, k, 2, &n), -EPROTO, "label length 200: -EPROTO");
	a.count = 0;
	a.len = 0;
	tap_eq(parse_list(&a, k, 2, &n), 0, "empty list");
	tap_eq(n, 0, "count 0");
}

/*
 * Every parser over mutated and truncated answers: no crash, no read past
 * the buffer (ASan), and anything accepted is within its limits.
 */
static uint32_t rng_state = 0x2545f491;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void fill_sesskey(struct mbor_enc *e, const void *arg)
{
	static const uint8_t pub[120] = { 0x30, 0x76 }, nonce[32] = { 1 };

	(void)arg;
	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_SESS_DEVICE_PUB);
	mbor_enc_bytes(e, pub, sizeof(pub));
	mbor_enc_key(e, AZIHSM_SESS_NONCE);
	mbor_enc_bytes(e, nonce, sizeof(nonce));
}

static void fill_sig(struct mbor_enc *e, const void *arg)
{
	static const uint8_t sig[72] = { 0x30, 0x46 };

	(void)arg;
	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_SIGN_F_SIGNATURE);
	mbor_enc_bytes(e, sig, sizeof(sig));
}

static void test_mutations(void)
{
	static const uint8_t recs[] = {
		0x03, 0x00, 0x11, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 's', 'i', 'g', '1',
		0x02, 0x01, 0x03, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	const struct list_arg la = { 2, recs, sizeof(recs), false };
	uint8_t base[3][512], *buf, out[256];
	size_t base_len[3], i, len, n, plen;
	const uint32_t ops[3] = { AZIHSM_OP_KEY_LIST, AZIHSM_OP_GET_SESSION_ENC_KEY,
				  AZIHSM_OP_ECC_SIGN };
	struct azihsm_key_info k[4];
	unsigned int accepted = 0, bad = 0;

	base_len[0] = rsp_with(base[0], sizeof(base[0]), ops[0], fill_list, &la);
	base_len[1] = rsp_with(base[1], sizeof(base[1]), ops[1], fill_sesskey, NULL);
	base_len[2] = rsp_with(base[2], sizeof(base[2]), ops[2], fill_sig, NULL);
	for (i = 0; i < 30000; i++) {
		unsigned int b = rng() % 3, flips = 1 + rng() % 3, f;
		struct mbor_dec d;
		const uint8_t *p1, *p2, *p3;
		uint16_t u16;
		uint8_t u8;
		bool flag;
		uint32_t st;

		len = base_len[b];
		if (rng() % 4 == 0)
			len = rng() % (len + 1);
		buf = malloc(len ? len : 1);	/* exact size: ASan sees overreads */
		memcpy(buf, base[b], len);
		for (f = 0; f < flips && len; f++)
			buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
		if (proto_rsp_begin(&d, buf, len, ops[b], &st) == 0) {
			struct mbor_dec d0 = d;

			uint16_t next;

			if (b == 0 && proto_parse_key_list(&d, k, 4, &n, &next) == 0) {
				accepted++;
				bad += n > 4 || k[0].label_len > AZIHSM_KEY_LABEL_MAX;
			}
			d = d0;
			if (b == 1 && proto_parse_session_key(&d, &p1, &plen, &p2, &p3) == 0)
				bad += plen == 0 || plen > PROTO_DEV_PUB_MAX;
			d = d0;
			if (b == 2 && proto_parse_bytes(&d, 1, out, sizeof(out), &plen) == 0)
				bad += plen > sizeof(out);
			d = d0;
			proto_parse_open_session(&d, &u16, &u8, &flag);
			d = d0;
			proto_parse_key_id(&d, &u16);
			d = d0;
			proto_parse_empty(&d);
		}
		free(buf);
	}
	tap_ok(bad == 0, "30000 mutated answers: parsers stay in bounds (%u key lists accepted)",
	       accepted);
}

/* --- part 2: the API through the firmware -------------------------------- */

struct fw_link {
	struct hsm_fw *fw;
	uint8_t last_flags;
	uint16_t last_sid;
	unsigned int calls;
	unsigned int opened;	/* OpenSession requests seen */
};

/* The test transport: what the driver's ioctl does, straight into the core. */
static int fw_xfer(void *ctx, struct lib_xfer *x)
{
	struct fw_link *l = ctx;
	struct hsm_fw_cmd cmd = {
		.in = x->req, .in_len = x->req_len, .out = x->rsp, .out_cap = x->rsp_cap,
		.session_flags = x->session_flags, .session_id = x->session_id,
	};
	uint16_t sc;

	l->last_flags = x->session_flags;
	l->last_sid = x->session_id;
	l->calls++;
	{
		struct azihsm_req_hdr h;
		struct mbor_dec d;
		bool has_data;

		mbor_dec_init(&d, x->req, x->req_len);
		if (!azihsm_msg_parse_request(&d, &h, &has_data) &&
		    h.opcode == AZIHSM_OP_OPEN_SESSION)
			l->opened++;
	}
	drv_app_fill(&cmd);
	sc = hsm_fw_execute(l->fw, &cmd);
	drv_app_record(&cmd);
	if (sc) {
		lib_set_status(AZIHSM_STATUS_KIND_COMPLETION, sc);
		return -EIO;
	}
	return (int)cmd.out_len;
}

static uint32_t hsm_status(void)
{
	struct azihsm_last_status st = azihsm_last_status(NULL);

	return st.kind == AZIHSM_STATUS_KIND_HSM ? st.code : 0xffffffffu;
}

#define IN_SESS (AZIHSM_SESSION_OP_IN | AZIHSM_SESSION_ID_VALID)

/*
 * A full partition: 256 keys with 128-byte labels do not fit one KeyList
 * answer (8 KiB), so the library must page through them, in id order,
 * and get every one exactly once. The session makes its quota of session
 * keys (issue 9: one more is QUOTA), the officer's persistent keys the rest.
 */
static void test_full_vault_listing(struct azihsm_session *s)
{
	static struct azihsm_key_info keys[300];
	char label[AZIHSM_LABEL_MAX];
	unsigned int made = 0, i, seen_ok = 1;
	size_t n = 0;
	uint16_t id;

	for (i = 0; i < 256; i++) {
		memset(label, 'a' + i % 26, sizeof(label));
		snprintf(label, 8, "k%05u", i);	/* unique, rest is filler */
		label[7] = '-';
		if (azihsm_key_generate(s, AZIHSM_KEY_TYPE_AES256, AZIHSM_KEY_USE_ENCRYPT, label,
					sizeof(label), made >= HSM_VAULT_SESSION_KEYS, &id))
			break;
		made++;
		if (made == HSM_VAULT_SESSION_KEYS) {
			tap_eq(azihsm_key_generate(s, AZIHSM_KEY_TYPE_AES256,
						   AZIHSM_KEY_USE_ENCRYPT, "one more", 8, false,
						   &id), -EIO,
			       "issue 9: one session key past the quota refused");
			tap_eq(hsm_status(), AZIHSM_STATUS_QUOTA, "  with QUOTA");
		}
	}
	tap_eq(made, 256, "16 session keys and 240 persistent ones with 128-byte labels "
	       "fill the vault");
	tap_eq(azihsm_key_list(s, keys, 300, &n), 0, "listing a full vault pages through it");
	tap_eq(n, 256, "all 256 keys listed");
	for (i = 0; i < n && i < 300; i++) {
		if (keys[i].label_len != AZIHSM_LABEL_MAX || (i && keys[i].id <= keys[i - 1].id))
			seen_ok = 0;
	}
	tap_ok(seen_ok, "in id order, each once, labels whole");
	tap_eq(azihsm_key_list(s, keys, 100, &n), -ENOSPC, "a short array: -ENOSPC");
	tap_eq(n, 256, "with the full count");
}

static void test_flow(struct fw_link *l, struct azihsm_dev *dev)
{
	static const char msg[] = "azihsm signs this";
	static const uint8_t officer_id[16] = "azihsm-officer";
	struct azihsm_session *s = NULL, *s2 = NULL;
	struct azihsm_key_info keys[16];
	uint8_t der[1024], sig[256], digest[48];
	const unsigned char *p;
	unsigned int dlen = 0;
	size_t der_len = 0, sig_len = 0, n = 0, i;
	uint16_t kid = 0xffff, kid2 = 0;
	EVP_PKEY_CTX *vctx = NULL;
	EVP_PKEY *pk = NULL;
	char group[32] = "";
	bool fips = false;
	int ret;

	ret = azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "CO-default-PIN-1", &s);
	if (!tap_eq(ret, 0, "login: default officer")) {
		printf("#   status %s\n", azihsm_status_str(azihsm_last_status(NULL)));
		return;
	}
	tap_ok(l->last_flags == AZIHSM_SESSION_OP_OPEN, "OpenSession went with OP_OPEN");
	tap_ok(azihsm_session_must_change_pin(s), "default credentials: must change PIN");
	tap_eq(azihsm_session_role(s), AZIHSM_ROLE_OFFICER, "session role: officer");
	tap_eq(azihsm_key_generate(s, AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_USE_SIGN, "x", 1, false,
				   &kid), -EIO, "key generate before the PIN change: refused");
	tap_eq(hsm_status(), AZIHSM_STATUS_MUST_CHANGE_PIN, "with MUST_CHANGE_PIN");
	tap_ok(l->last_flags == IN_SESS && l->last_sid == azihsm_session_id(s),
	       "in-session request: OP_IN | ID_VALID with the session id");
	tap_eq(azihsm_change_pin(s, "CO-default-PIN-1", "CO-default-PIN-1"), -EIO,
	       "change to the same PIN: refused");
	tap_eq(hsm_status(), AZIHSM_STATUS_WEAK_PIN, "with WEAK_PIN");
	tap_eq(azihsm_change_pin(s, "CO-default-PIN-1", "officer-pin-0001"), 0, "change PIN");
	tap_ok(!azihsm_session_must_change_pin(s), "session no longer restricted");
	tap_eq(azihsm_change_pin(s, "x", "01234567890123456"), -EINVAL,
	       "a 17-byte PIN: -EINVAL");

	tap_eq(azihsm_login(dev, AZIHSM_ROLE_OFFICER, officer_id, "CO-default-PIN-1", &s2), -EIO,
	       "login with the old PIN: refused");
	tap_eq(hsm_status(), AZIHSM_STATUS_BAD_CREDENTIAL, "with BAD_CREDENTIAL");
	tap_ok(s2 == NULL, "no session handle on failure");

	ret = azihsm_key_generate(s, AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_USE_SIGN, "sig1", 4, true,
				  &kid);
	if (!tap_eq(ret, 0, "generate P-384, persistent, label sig1"))
		printf("#   status %s\n", azihsm_status_str(azihsm_last_status(NULL)));
	tap_eq(azihsm_key_generate(s, AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_USE_SIGN, "sig1", 4,
				   true, &kid2), -EIO, "same label again: refused");
	tap_eq(hsm_status(), AZIHSM_STATUS_LABEL_EXISTS, "with LABEL_EXISTS");
	tap_ok(!azihsm_key_open(s, "sig1", 4, &kid2) && kid2 == kid, "open by label: same id");
	tap_eq(azihsm_key_open(s, "nope", 4, &kid2), -EIO, "open an unknown label: refused");
	tap_eq(hsm_status(), AZIHSM_STATUS_KEY_NOT_FOUND, "with KEY_NOT_FOUND");

	ret = azihsm_key_list(s, keys, 16, &n);
	tap_eq(ret, 0, "key list");
	for (i = 0; i < n && keys[i].id != kid; i++)
		;
	tap_ok(i < n && keys[i].type == AZIHSM_KEY_TYPE_EC_P384 &&
	       keys[i].usage == AZIHSM_KEY_USE_SIGN && keys[i].persistent &&
	       keys[i].label_len == 4 && !memcmp(keys[i].label, "sig1", 4),
	       "key list shows sig1: P-384, sign, persistent");

	tap_eq(azihsm_key_public(s, kid, der, 10, &der_len), -ENOSPC,
	       "public key into 10 bytes: -ENOSPC");
	tap_eq(azihsm_key_public(s, kid, der, sizeof(der), &der_len), 0, "public key");
	p = der;
	pk = d2i_PUBKEY(NULL, &p, (long)der_len);
	tap_ok(pk && p == der + der_len &&
	       EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) &&
	       !strcmp(group, "secp384r1"), "public key: whole-buffer DER SPKI on P-384");

	EVP_Digest(msg, strlen(msg), digest, &dlen, EVP_sha384(), NULL);
	tap_eq(azihsm_ecdsa_sign(s, kid, AZIHSM_HASH_ALG_SHA384, digest, 32, sig, sizeof(sig),
				 &sig_len, NULL), -EINVAL, "a 32-byte digest for SHA-384: -EINVAL");
	ret = azihsm_ecdsa_sign(s, kid, AZIHSM_HASH_ALG_SHA384, digest, dlen, sig, sizeof(sig),
				&sig_len, &fips);
	if (!tap_eq(ret, 0, "ECDSA-SHA384 sign"))
		printf("#   status %s\n", azihsm_status_str(azihsm_last_status(NULL)));
	tap_ok(fips, "the answer is FIPS-approved");
	vctx = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
	tap_ok(vctx && EVP_PKEY_verify_init(vctx) == 1 &&
	       EVP_PKEY_verify(vctx, sig, sig_len, digest, dlen) == 1,
	       "OpenSSL verifies the signature with the exported key");
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(pk);

	tap_eq(azihsm_logout(s), 0, "logout");
	tap_ok(l->last_flags == (AZIHSM_SESSION_OP_CLOSE | AZIHSM_SESSION_ID_VALID),
	       "CloseSession went with OP_CLOSE | ID_VALID");

	ret = azihsm_login(dev, AZIHSM_ROLE_OFFICER, officer_id, "officer-pin-0001", &s);
	tap_eq(ret, 0, "login with the new PIN");
	if (ret)
		return;
	tap_ok(!azihsm_session_must_change_pin(s), "not restricted");
	tap_ok(!azihsm_key_open(s, "sig1", 4, &kid2) && kid2 == kid,
	       "the persistent key outlived its session");
	tap_eq(azihsm_key_delete(s, kid), 0, "delete it");
	tap_eq(azihsm_key_open(s, "sig1", 4, &kid2), -EIO, "gone after delete");
	test_full_vault_listing(s);
	tap_eq(azihsm_logout(s), 0, "logout");
}

/*
 * The credential channel is authenticated (issue 10): the library sends no
 * PIN to a device whose session key the trusted root does not vouch for:
 * one without a certificate, one made under another root.
 */
static void test_untrusted(void)
{
	struct hsm_fw_config cfg = { .serial = "LIBKEYS-2", .fw_rev = "2.0.1" };
	struct test_pki ours, theirs;
	struct fw_link link = { 0 };
	struct azihsm_session *s = NULL;
	struct azihsm_dev *dev = NULL;
	char trusted[300];

	if (!tap_ok(!test_pki_init(&theirs, NULL, NULL, &cfg), "another manufacturer's root"))
		return;
	link.fw = test_pki_fw_new(&theirs, &cfg);
	/* ...and ours, which the library trusts. */
	if (!tap_ok(link.fw && !test_pki_init(&ours, NULL, NULL, &cfg), "our root"))
		return;
	snprintf(trusted, sizeof(trusted), "%s", ours.root);
	tap_eq(lib_dev_open_transport(fw_xfer, &link, &dev), 0, "handle on their device");
	link.calls = 0;
	tap_eq(azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "CO-default-PIN-1", &s),
	       -ENOKEY, "login to a device of another root: -ENOKEY");
	tap_ok(s == NULL, "no session");
	tap_ok(link.opened == 0, "no OpenSession was sent (the PIN never left)");
	tap_ok(strstr(azihsm_strerror(-ENOKEY), "trusted root") != NULL,
	       "the error says why: %s", azihsm_strerror(-ENOKEY));
	tap_eq(azihsm_check_chain(dev, trusted), -ENOKEY, "azihsm_check_chain: -ENOKEY");
	tap_eq(azihsm_check_chain(dev, theirs.root), 0, "but it chains to their root");
	azihsm_close(dev);
	hsm_fw_free(link.fw);

	/* A device without a certificate at all. */
	cfg.root_cert = NULL;
	cfg.devcert = NULL;
	link = (struct fw_link){ 0 };
	link.fw = hsm_fw_new(&cfg);
	tap_eq(lib_dev_open_transport(fw_xfer, &link, &dev), 0, "handle on a device without identity");
	tap_eq(azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "CO-default-PIN-1", &s),
	       -ENOKEY, "login to it: -ENOKEY");
	tap_ok(link.opened == 0, "no OpenSession was sent");
	azihsm_close(dev);
	hsm_fw_free(link.fw);
	test_pki_done(&theirs);
	test_pki_done(&ours);
}

int main(void)
{
	struct hsm_fw_config cfg = { .serial = "LIBKEYS-1", .fw_rev = "2.0.1" };
	struct test_pki pki;
	struct fw_link link = { 0 };
	struct azihsm_session *s = NULL;
	struct azihsm_dev *dev;
	uint8_t req[64], rsp[512];
	struct mbor_dec d;
	bool have_services;
	uint32_t st = 0;
	size_t len;
	int n;

	test_builders();
	test_parsers();
	test_mutations();
	test_untrusted();

	link.fw = test_pki_init(&pki, NULL, NULL, &cfg) ? NULL : test_pki_fw_new(&pki, &cfg);
	if (!link.fw) {
		printf("Bail out! firmware did not start\n");
		return 1;
	}
	tap_eq(lib_dev_open_transport(fw_xfer, &link, &dev), 0, "handle on the firmware core");
	tap_eq(azihsm_login(dev, 3, NULL, "x", &s), -EINVAL, "login with role 3: -EINVAL");
	tap_eq(azihsm_login(dev, AZIHSM_ROLE_USER, NULL, "", &s), -EINVAL, "empty PIN: -EINVAL");
	tap_eq(azihsm_login(dev, AZIHSM_ROLE_USER, NULL, "0123456789abcdefg", &s), -EINVAL,
	       "17-byte PIN: -EINVAL");
	tap_ok(link.calls == 0, "nothing sent for bad arguments");

	/* The session services the API flow needs: a failure, never a skip. */
	len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_SESSION_ENC_KEY);
	n = azihsm_command(dev, req, len, rsp, sizeof(rsp));
	have_services = n > 0 && proto_rsp_begin(&d, rsp, (size_t)n,
						 AZIHSM_OP_GET_SESSION_ENC_KEY, &st) == 0;
	if (tap_ok(have_services, "the firmware answers GetSessionEncryptionKey (status 0x%x)",
		   st))
		test_flow(&link, dev);
	azihsm_close(dev);
	hsm_fw_free(link.fw);
	test_pki_done(&pki);
	return tap_done();
}
