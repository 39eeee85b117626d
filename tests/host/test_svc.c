// SPDX-License-Identifier: MIT
/*
 * The session and key services through hsm_fw_execute with real MBOR
 * requests: credentials sealed with hsm_auth_client_seal, default officer
 * restricted to ChangePin, PIN change, persistent and session keys, public
 * export and ECDSA signatures verified with OpenSSL, KeyList records,
 * roles, session-key visibility, close and flush, lockout on a fake clock,
 * the session table limit, the CQE session fields (also through a queue of
 * the controller, fake_guest), strict decoding, and with a state file: what survives a restart and what a failed commit
 * answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "fake_guest.h"
#include "hsm_auth.h"
#include "hsm_ctrl_int.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "hsm_state.h"
#include "hsm_vault.h"
#include "svc_util.h"
#include "tap.h"

#define OFF HSM_ROLE_OFFICER
#define USR HSM_ROLE_USER

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *OFF_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
static const uint8_t *USR_ID = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
static const uint8_t *USR_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"officer new PIN!";
static const uint8_t *USR_PIN1 = (const uint8_t *)"user's new PIN#1";
static const uint8_t *BAD_PIN = (const uint8_t *)"not the PIN 0000";

/* ---- fake clock ------------------------------------------------------ */

static struct fake_clock {
	uint64_t mono, real;
} clk = { 1000, 1700000000000ull };

static uint64_t fake_now(void *ctx, enum hsm_auth_clock which)
{
	struct fake_clock *c = ctx;

	return which == HSM_AUTH_CLOCK_REAL ? c->real : c->mono;
}

static struct hsm_fw *start(const char *state)
{
	static const struct hsm_auth_config acfg = {
		.clock = fake_now, .clock_ctx = &clk, .pbkdf2_iter = 1000,
	};
	const struct hsm_fw_config cfg = { .serial = "SVC-1", .fw_rev = "1",
					   .state_path = state, .auth = &acfg };

	return hsm_fw_new(&cfg);
}

/* ---- sessions -------------------------------------------------------- */

static void enc_sealed(struct mbor_enc *e, const uint8_t *nonce,
		       const struct hsm_auth_sealed *s, size_t nonce_len)
{
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_SESS_HOST_PUB);
	mbor_enc_bytes(e, s->host_pub, s->host_pub_len);
	mbor_enc_key(e, AZIHSM_SESS_MSG_NONCE);
	mbor_enc_bytes(e, nonce, nonce_len);
	mbor_enc_key(e, AZIHSM_SESS_CIPHERTEXT);
	mbor_enc_bytes(e, s->ct, s->ct_len);
	mbor_enc_key(e, AZIHSM_SESS_TAG);
	mbor_enc_bytes(e, s->tag, sizeof(s->tag));
}

/* OpenSession; status, *sid (0 if none), *r holds the answer and CQE fields. */
static long open_as(struct hsm_fw *fw, uint8_t role, const uint8_t *id, const uint8_t *pin,
		    uint16_t *sid, struct rsp *r)
{
	static struct rsp local;
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	struct rq q;
	long st;

	if (!r)
		r = &local;
	if (sid)
		*sid = 0;
	st = seal(fw, HSM_AUTH_MSG_OPEN, role, id, pin, NULL, nonce, &s);
	if (st)
		return st;
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	st = rq_send(fw, &q, r);
	if (!st && sid)
		*sid = (uint16_t)rsp_u16(r, AZIHSM_SESS_ID);
	return st;
}

static long chpin_as(struct hsm_fw *fw, uint16_t sid, uint8_t role, const uint8_t *id,
		     const uint8_t *pin, const uint8_t *new_pin)
{
	static struct rsp r;
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	struct rq q;
	long st;

	st = seal(fw, HSM_AUTH_MSG_CHPIN, role, id, pin, new_pin, nonce, &s);
	if (st)
		return st;
	enc_sealed(rq_begin(&q, AZIHSM_OP_CHANGE_PIN, sid), nonce, &s, sizeof(nonce));
	return rq_send(fw, &q, &r);
}

/* ResetUserCredential in @sid (NOSESS: none) giving the user @id / @pin. */
static long reset_user(struct hsm_fw *fw, int sid, uint8_t role, const uint8_t *id,
		       const uint8_t *pin)
{
	static struct rsp r;
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	struct rq q;
	long st;

	st = seal(fw, HSM_AUTH_MSG_RESET, role, id, pin, NULL, nonce, &s);
	if (st)
		return st;
	enc_sealed(rq_begin(&q, AZIHSM_OP_RESET_USER_CREDENTIAL, sid), nonce, &s, sizeof(nonce));
	st = rq_send(fw, &q, &r);
	if (!st && (!r.has_data || r.cmd.out_len == 0))
		return -4;
	return st;
}

/* ---- keys ------------------------------------------------------------- */

static long keygen(struct hsm_fw *fw, int sid, uint8_t type, uint32_t usage,
		   const char *label, bool persistent, uint16_t *id)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, sid);
	long st;

	mbor_enc_map(e, label ? 4 : 3);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(e, type);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, usage);
	if (label) {
		mbor_enc_key(e, AZIHSM_KEY_F_LABEL);
		mbor_enc_bytes(e, label, strlen(label));
	}
	mbor_enc_key(e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(e, persistent);
	st = rq_send(fw, &q, &r);
	if (id)
		*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
	return st;
}

static long open_key(struct hsm_fw *fw, int sid, const char *label, uint16_t *id)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_OPEN_KEY, sid);
	long st;

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_KEY_F_OPEN_LABEL);
	mbor_enc_bytes(e, label, strlen(label));
	st = rq_send(fw, &q, &r);
	if (id)
		*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
	return st;
}

/* KeyList: status; *count and the records copied to @rec. */
static long key_list(struct hsm_fw *fw, int sid, long *count, uint8_t *rec, size_t *rec_len)
{
	static struct rsp r;
	const uint8_t *p;
	size_t len;
	long st = call0(fw, AZIHSM_OP_KEY_LIST, sid, &r);

	*count = -1;
	if (st)
		return st;
	*count = rsp_u16(&r, AZIHSM_KEY_F_COUNT);
	if (rsp_bytes(&r, AZIHSM_KEY_F_RECORDS, &p, &len))
		return -2;
	if (rec) {
		memcpy(rec, p, len);
		*rec_len = len;
	}
	return 0;
}

/* KeyPublic as an EVP_PKEY (NULL on any failure; *st the status). */
static EVP_PKEY *key_public(struct hsm_fw *fw, int sid, uint16_t id, long *st)
{
	static struct rsp r;
	const uint8_t *der;
	size_t len;

	*st = call_id(fw, AZIHSM_OP_KEY_PUBLIC, sid, id, &r);
	if (*st || rsp_bytes(&r, AZIHSM_KEY_F_DER, &der, &len))
		return NULL;
	return d2i_PUBKEY(NULL, &der, (long)len);
}

/* EccSign of @digest; the signature into @sig. */
static long ecc_sign(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash,
		     const uint8_t *digest, size_t dlen, uint8_t *sig, size_t *sig_len,
		     bool *fips)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_ECC_SIGN, sid);
	const uint8_t *p;
	long st;

	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_SIGN_F_KEY);
	mbor_enc_u16(e, id);
	mbor_enc_key(e, AZIHSM_SIGN_F_HASH);
	mbor_enc_u8(e, hash);
	mbor_enc_key(e, AZIHSM_SIGN_F_DIGEST);
	mbor_enc_bytes(e, digest, dlen);
	st = rq_send(fw, &q, &r);
	if (fips)
		*fips = r.h.fips_approved;
	if (!st && sig) {
		if (rsp_bytes(&r, AZIHSM_SIGN_F_SIGNATURE, &p, sig_len))
			return -2;
		memcpy(sig, p, *sig_len);
	}
	return st;
}

/* Sign SHA-384(@msg) on the device and verify with OpenSSL; 1 if verified. */
static int sign_verifies(struct hsm_fw *fw, int sid, uint16_t id, const char *msg, bool *fips)
{
	uint8_t dg[48], sig[256];
	unsigned int dl = 0;
	size_t sl = 0;
	EVP_MD_CTX *mc;
	EVP_PKEY *pk;
	long st;
	int ok = 0;

	EVP_Digest(msg, strlen(msg), dg, &dl, EVP_sha384(), NULL);
	if (ecc_sign(fw, sid, id, AZIHSM_HASH_SHA384, dg, dl, sig, &sl, fips))
		return 0;
	pk = key_public(fw, sid, id, &st);
	mc = EVP_MD_CTX_new();
	if (pk && mc && EVP_DigestVerifyInit(mc, NULL, EVP_sha384(), NULL, pk) == 1 &&
	    EVP_DigestVerify(mc, sig, sl, (const uint8_t *)msg, strlen(msg)) == 1)
		ok = 1;
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pk);
	return ok;
}

static uint32_t failures(struct hsm_fw *fw, enum hsm_auth_role role)
{
	uint32_t f = 0xdead;

	hsm_auth_lockout(hsm_fw_auth(fw), role, &f, NULL);
	return f;
}

/* ---- the tests -------------------------------------------------------- */

static uint16_t so, su;		/* officer and user sessions (PINs changed) */
static uint16_t sig1;		/* persistent P-384 "sig1" */

static void test_login(struct hsm_fw *fw)
{
	static struct rsp r;
	const uint8_t *p;
	size_t len;
	uint16_t s0, dummy, app;
	struct rq q;

	tap_eq(call0(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r), 0,
	       "GetSessionEncryptionKey needs no session");
	tap_ok(!rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &p, &len) && len == 120 &&
	       !rsp_bytes(&r, AZIHSM_SESS_NONCE, &p, &len) && len == 32,
	       "answers a 120-byte P-384 SPKI and a 32-byte nonce");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, NOSESS, &r), AZIHSM_STATUS_NO_SESSION,
	       "KeyList without header session id: NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, 77, &r), AZIHSM_STATUS_NO_SESSION,
	       "KeyList in a session never opened: NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_CLOSE_SESSION, 77, &r), AZIHSM_STATUS_NO_SESSION,
	       "CloseSession of a session never opened: NO_SESSION");
	tap_ok(r.cmd.cqe_session_flags == AZIHSM_SESS_OP_CLOSE,
	       "  CQE: OP_CLOSE without SAFE_TO_CLOSE");

	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN0, &s0, &r), 0,
	       "officer opens a session with the default credential");
	tap_ok(s0 && rsp_u8(&r, AZIHSM_SESS_ROLE) == OFF &&
	       rsp_bool(&r, AZIHSM_SESS_MUST_CHANGE) == 1,
	       "  answer: its id, role officer, must_change true");
	tap_ok(r.cmd.cqe_session_flags == (AZIHSM_SESS_OP_OPEN | AZIHSM_SESS_IN_SESSION |
					   AZIHSM_SESS_SHORT_APP_ID_VALID) &&
	       r.cmd.cqe_session_id == s0 && r.cmd.cqe_short_app_id,
	       "  CQE: OP_OPEN | IN_SESSION | SHORT_APP_ID_VALID, the new id, a short_app_id");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, s0, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "  KeyList: MUST_CHANGE_PIN");
	tap_eq(keygen(fw, s0, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, NULL, false, NULL),
	       AZIHSM_STATUS_MUST_CHANGE_PIN, "  KeyGenerate: MUST_CHANGE_PIN");
	tap_eq(open_key(fw, s0, "x", NULL), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "  OpenKey: MUST_CHANGE_PIN");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, s0, 1, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "  DeleteKey: MUST_CHANGE_PIN");
	tap_eq(chpin_as(fw, s0, OFF, OFF_ID, OFF_PIN0, OFF_PIN0), AZIHSM_STATUS_WEAK_PIN,
	       "  ChangePin to the default: WEAK_PIN");
	tap_eq(chpin_as(fw, s0, OFF, OFF_ID, BAD_PIN, OFF_PIN1), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  ChangePin with a wrong current PIN: BAD_CREDENTIAL");
	tap_eq(failures(fw, OFF), 1, "  counted");
	tap_eq(chpin_as(fw, s0, USR, USR_ID, USR_PIN0, USR_PIN1), AZIHSM_STATUS_WRONG_ROLE,
	       "  ChangePin for the other role: WRONG_ROLE");
	tap_eq(chpin_as(fw, s0, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), 0, "  ChangePin: done");
	tap_eq(failures(fw, OFF), 0, "  and the failure counter reset");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, s0, &r), 0, "  KeyList now allowed");
	app = svc_app_id(fw, s0);
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_KEY_LIST, s0), 0);
	tap_eq(rq_send_app(fw, &q, &r, (uint16_t)(app ^ 0x8000)), AZIHSM_STATUS_NO_SESSION,
	       "issue 9: KeyList naming the session with another short_app_id: NO_SESSION");
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_KEY_LIST, s0), 0);
	tap_eq(rq_send_app(fw, &q, &r, 0), AZIHSM_STATUS_NO_SESSION,
	       "issue 9: ... with short_app_id 0: NO_SESSION");
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_CLOSE_SESSION, s0), 0);
	tap_eq(rq_send_app(fw, &q, &r, (uint16_t)(app + 1)), AZIHSM_STATUS_NO_SESSION,
	       "issue 9: CloseSession of it with another short_app_id: NO_SESSION");
	hsm_fw_flush_session(fw, s0, (uint16_t)(app - 1));
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, s0, &r), 0,
	       "issue 9: a flush with another short_app_id leaves it open");
	tap_eq(call0(fw, AZIHSM_OP_CLOSE_SESSION, s0, &r), 0, "  CloseSession");
	tap_ok(r.cmd.cqe_session_flags == (AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_SAFE_TO_CLOSE) &&
	       r.cmd.cqe_session_id == s0, "  CQE: OP_CLOSE | SAFE_TO_CLOSE and its id");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, s0, &r), AZIHSM_STATUS_NO_SESSION,
	       "  closed: NO_SESSION");

	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN0, &dummy, &r), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "the default officer PIN is refused now");
	tap_ok(r.cmd.cqe_session_flags == AZIHSM_SESS_OP_OPEN && r.cmd.cqe_session_id == 0,
	       "  CQE: OP_OPEN without IN_SESSION, session id 0");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN1, &so, &r), 0, "the new officer PIN opens");
	tap_ok(rsp_bool(&r, AZIHSM_SESS_MUST_CHANGE) == 0, "  must_change false");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN0, &s0, NULL), 0, "user opens with the default");
	tap_eq(chpin_as(fw, s0, USR, USR_ID, USR_PIN0, USR_PIN1), 0, "  and changes the PIN");
	call0(fw, AZIHSM_OP_CLOSE_SESSION, s0, &r);
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, &su, NULL), 0, "user opens with the new PIN");
}

static void test_keys(struct hsm_fw *fw)
{
	static uint8_t rec[2048], want[64];
	static struct rsp r;
	uint16_t id, id2, uid, uid2, hid, vid;
	size_t rec_len = 0;
	EVP_PKEY *pk;
	long count, st;
	bool fips = false;

	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, "sig1", true, &sig1), 0,
	       "officer generates persistent P-384 \"sig1\" (sign)");
	tap_ok(sig1 >= 1, "  with a key id (%u)", sig1);
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "sig1", true, NULL),
	       AZIHSM_STATUS_LABEL_EXISTS, "  the label again: LABEL_EXISTS");
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_ENCRYPT, NULL, true, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "  EC with usage encrypt: INVALID_ARG");
	tap_eq(keygen(fw, so, 0x99, AZIHSM_USAGE_SIGN, NULL, true, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "  unknown type: INVALID_ARG");
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, 0x40, NULL, true, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "  unknown usage bit: INVALID_ARG");
	tap_eq(keygen(fw, so, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_DECRYPT,
		      NULL, false, &id), AZIHSM_STATUS_INVALID_ARG,
	       "  issue 9: an RSA key to sign and decrypt: INVALID_ARG");
	tap_eq(keygen(fw, so, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN, NULL, false, &id), 0,
	       "  an RSA-2048 session key too");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, id, &r), 0, "  DeleteKey of it");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, id, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  and again: KEY_NOT_FOUND");

	pk = key_public(fw, so, sig1, &st);
	tap_ok(pk && EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 384,
	       "KeyPublic: DER SPKI of a P-384 key (d2i_PUBKEY)");
	EVP_PKEY_free(pk);
	tap_ok(sign_verifies(fw, so, sig1, "message one", &fips),
	       "EccSign over SHA-384 verifies with EVP_DigestVerify");
	tap_ok(fips, "  response header fips_approved true (from hsm_ops)");

	tap_eq(key_list(fw, so, &count, rec, &rec_len), 0, "KeyList");
	want[0] = (uint8_t)sig1;
	want[1] = (uint8_t)(sig1 >> 8);
	want[2] = AZIHSM_KEY_EC_P384;
	memcpy(want + 3, "\x01\x00\x00\x00", 4);
	want[7] = 1;
	want[8] = 4;
	memcpy(want + 9, "sig1", 4);
	tap_ok(count == 1 && rec_len == 13 && !memcmp(rec, want, 13),
	       "  one record: id LE, type 0x11, usage 1 LE, persistent 1, \"sig1\"");
	tap_ok(!open_key(fw, so, "sig1", &id) && id == sig1, "OpenKey \"sig1\" gives its id");
	tap_eq(open_key(fw, so, "nope", NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "OpenKey of an unknown label: KEY_NOT_FOUND");

	/* The user. */
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "u0", true, NULL),
	       AZIHSM_STATUS_WRONG_ROLE, "user: persistent KeyGenerate is WRONG_ROLE");
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, "u1", false, &uid), 0,
	       "user: session key \"u1\"");
	tap_ok(sign_verifies(fw, su, sig1, "user signs", NULL),
	       "user signs with the persistent key (verified)");
	tap_ok(sign_verifies(fw, su, uid, "user signs own", NULL),
	       "user signs with the session key (verified)");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, su, sig1, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "user: DeleteKey of a persistent key is WRONG_ROLE");
	tap_eq(key_list(fw, su, &count, rec, &rec_len), 0, "user: KeyList");
	tap_ok(count == 2 && rec_len == 13 + 11 && rec[13] == (uint8_t)uid &&
	       rec[13 + 7] == 0 && rec[13 + 8] == 2 && !memcmp(rec + 13 + 9, "u1", 2),
	       "  sees sig1 and its own u1 (persistent 0)");

	/* Other sessions do not see it. */
	tap_eq(key_list(fw, so, &count, NULL, NULL), 0, "officer: KeyList");
	tap_eq(count, 1, "  does not list the user's session key");
	tap_eq(open_key(fw, so, "u1", NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  OpenKey \"u1\": KEY_NOT_FOUND");
	tap_eq(call_id(fw, AZIHSM_OP_KEY_PUBLIC, so, uid, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  KeyPublic: KEY_NOT_FOUND");
	tap_eq(ecc_sign(fw, so, uid, AZIHSM_HASH_SHA256, want, 32, NULL, NULL, NULL),
	       AZIHSM_STATUS_KEY_NOT_FOUND, "  EccSign: KEY_NOT_FOUND");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, uid, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  DeleteKey: KEY_NOT_FOUND");
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "u1", false, &id), 0,
	       "  a session key \"u1\" of its own: allowed (labels are per session)");
	tap_ok(!open_key(fw, so, "u1", &id2) && id2 == id && id != uid,
	       "  OpenKey \"u1\" in each session finds its own");
	tap_ok(!open_key(fw, su, "u1", &id2) && id2 == uid, "  (the user's too)");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, id, &r), 0, "  deleted again");

	/* EccSign refusals. */
	tap_eq(keygen(fw, su, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, &hid), 0,
	       "user: HMAC session key");
	tap_eq(ecc_sign(fw, su, hid, AZIHSM_HASH_SHA256, want, 32, NULL, NULL, NULL),
	       AZIHSM_STATUS_KEY_TYPE, "  EccSign with it: KEY_TYPE");
	tap_eq(call_id(fw, AZIHSM_OP_KEY_PUBLIC, su, hid, &r), AZIHSM_STATUS_KEY_TYPE,
	       "  KeyPublic of it: KEY_TYPE");
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_VERIFY, NULL, false, &vid), 0,
	       "user: verify-only P-256 session key");
	tap_eq(ecc_sign(fw, su, vid, AZIHSM_HASH_SHA256, want, 32, NULL, NULL, NULL),
	       AZIHSM_STATUS_KEY_USAGE, "  EccSign with it: KEY_USAGE");
	tap_eq(ecc_sign(fw, su, sig1, 4, want, 32, NULL, NULL, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "EccSign hash 4: INVALID_ARG");
	tap_eq(ecc_sign(fw, su, sig1, AZIHSM_HASH_SHA384, want, 32, NULL, NULL, &fips),
	       AZIHSM_STATUS_INVALID_ARG, "EccSign digest length not the hash's: INVALID_ARG");
	tap_ok(!fips, "  fips_approved false on a refusal");
	tap_eq(ecc_sign(fw, su, 0, AZIHSM_HASH_SHA256, want, 32, NULL, NULL, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "EccSign key id 0: INVALID_ARG");
	tap_eq(ecc_sign(fw, su, 0x4000, AZIHSM_HASH_SHA256, want, 32, NULL, NULL, NULL),
	       AZIHSM_STATUS_KEY_NOT_FOUND, "EccSign unknown key: KEY_NOT_FOUND");

	/* CloseSession drops the session's keys. */
	tap_eq(call0(fw, AZIHSM_OP_CLOSE_SESSION, su, &r), 0, "user: CloseSession");
	tap_ok(hsm_vault_get_attr(hsm_fw_vault(fw), uid, &(struct hsm_key_attr){ 0 }) ==
	       HSM_VAULT_NOT_FOUND &&
	       hsm_vault_get_attr(hsm_fw_vault(fw), hid, &(struct hsm_key_attr){ 0 }) ==
	       HSM_VAULT_NOT_FOUND, "  its session keys are gone from the vault");
	tap_ok(!open_key(fw, so, "sig1", &id) && id == sig1, "  the persistent key stays");

	/* So does the flush (SQE opcode 1). */
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, &su, NULL), 0, "user: new session");
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "u2", false, &uid2), 0,
	       "  session key \"u2\"");
	svc_flush(fw, su);
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, su, &r), AZIHSM_STATUS_NO_SESSION,
	       "  after flush: the session is closed");
	tap_ok(hsm_vault_get_attr(hsm_fw_vault(fw), uid2, &(struct hsm_key_attr){ 0 }) ==
	       HSM_VAULT_NOT_FOUND, "  and its key gone");
	tap_eq(open_key(fw, so, "u2", NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  its label is free: OpenKey finds nothing");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, &su, NULL), 0, "user: new session again");
}

static void test_lockout_and_full(struct hsm_fw *fw)
{
	static struct rsp r;
	uint16_t sids[HSM_AUTH_MAX_SESSIONS], s;
	unsigned int n, i;

	for (i = 0; i < 3; i++)
		tap_eq(open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL),
		       AZIHSM_STATUS_BAD_CREDENTIAL, "wrong user PIN %u: BAD_CREDENTIAL", i + 1);
	tap_eq(failures(fw, USR), 3, "  3 failures counted");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, NULL, NULL), AZIHSM_STATUS_LOCKED_OUT,
	       "4th attempt, right PIN, during the wait: LOCKED_OUT");
	tap_eq(failures(fw, USR), 3, "  not counted");
	clk.real += 999;
	clk.mono += 999;
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, NULL, NULL), AZIHSM_STATUS_LOCKED_OUT,
	       "  999 ms later: still LOCKED_OUT");
	clk.real += 1;
	clk.mono += 1;
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, &s, NULL), 0, "  after 1 s: the right PIN opens");
	tap_eq(failures(fw, USR), 0, "  counter reset");
	call0(fw, AZIHSM_OP_CLOSE_SESSION, s, &r);

	/* The user takes all but the last slot, which is the officer's (issue 9, RT-4). */
	n = hsm_auth_session_count(hsm_fw_auth(fw));
	for (i = 0; n < HSM_AUTH_MAX_SESSIONS - HSM_AUTH_OFFICER_SLOTS; i++, n++)
		if (open_as(fw, USR, USR_ID, USR_PIN1, &sids[i], NULL))
			break;
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, &s, NULL), AZIHSM_STATUS_SESSIONS_FULL,
	       "issue 9 (RT-4): the user may not take the last slot: SESSIONS_FULL");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN1, &sids[i], NULL), 0,
	       "issue 9 (RT-4): the officer takes it");
	i++;
	tap_eq(hsm_auth_session_count(hsm_fw_auth(fw)), HSM_AUTH_MAX_SESSIONS,
	       "8 sessions open");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN1, &s, &r), AZIHSM_STATUS_SESSIONS_FULL,
	       "the 9th: SESSIONS_FULL");
	tap_ok(r.cmd.cqe_session_flags == AZIHSM_SESS_OP_OPEN && r.cmd.cqe_session_id == 0,
	       "  CQE: OP_OPEN, no session");
	while (i--)
		call0(fw, AZIHSM_OP_CLOSE_SESSION, sids[i], &r);
	tap_eq(hsm_auth_session_count(hsm_fw_auth(fw)), 2, "closed again (officer, user left)");
}

static void test_malformed(struct hsm_fw *fw)
{
	static struct rsp r;
	uint8_t nonce[HSM_AUTH_NONCE_LEN], lbl[130];
	struct hsm_auth_sealed s;
	unsigned int keys = hsm_vault_count(hsm_fw_vault(fw)), n;
	struct mbor_enc *e;
	struct rq q;

	e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, so);
	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(e, AZIHSM_KEY_EC_P256);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, AZIHSM_USAGE_SIGN);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "KeyGenerate without persistent: MALFORMED");

	e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, so);
	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u16(e, AZIHSM_KEY_EC_P256);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, AZIHSM_USAGE_SIGN);
	mbor_enc_key(e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(e, false);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "KeyGenerate type as u16: MALFORMED");

	e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, so);
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(e, AZIHSM_KEY_EC_P256);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, AZIHSM_USAGE_SIGN);
	mbor_enc_key(e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(e, false);
	mbor_enc_key(e, 5);
	mbor_enc_u8(e, 0);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "KeyGenerate with an unknown field 5: MALFORMED");

	e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, so);
	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(e, AZIHSM_KEY_EC_P256);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, AZIHSM_USAGE_SIGN);
	mbor_enc_key(e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(e, false);
	tap_eq(rq_send_ext(fw, &q, &r, 1, 0), AZIHSM_STATUS_MALFORMED,
	       "KeyGenerate with a trailing byte: MALFORMED");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), keys, "  and no key was made by any of them");

	memset(lbl, 'a', sizeof(lbl));
	lbl[129] = 0;
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, (char *)lbl, false, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "KeyGenerate label of 129 bytes: INVALID_ARG");
	lbl[128] = 0;
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, (char *)lbl, false, NULL),
	       0, "  128 bytes: accepted");
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "", false, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "  an empty label: INVALID_ARG");
	tap_eq(open_key(fw, so, "", NULL), AZIHSM_STATUS_INVALID_ARG,
	       "OpenKey with an empty label: INVALID_ARG");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, 0xffff, &r), AZIHSM_STATUS_INVALID_ARG,
	       "DeleteKey id 0xffff: INVALID_ARG");

	e = rq_begin(&q, AZIHSM_OP_KEY_PUBLIC, so);
	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_KEY_F_ID);
	mbor_enc_u32(e, sig1);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED, "KeyPublic id as u32: MALFORMED");

	e = rq_begin(&q, AZIHSM_OP_KEY_LIST, so);
	mbor_enc_map(e, 1);
	mbor_enc_key(e, 1);
	mbor_enc_u8(e, 0);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED, "KeyList with a field: MALFORMED");

	e = rq_begin(&q, AZIHSM_OP_ECC_SIGN, so);
	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_SIGN_F_KEY);
	mbor_enc_u16(e, sig1);
	mbor_enc_key(e, AZIHSM_SIGN_F_HASH);
	mbor_enc_u8(e, AZIHSM_HASH_SHA256);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "EccSign without digest: MALFORMED");

	n = hsm_auth_session_count(hsm_fw_auth(fw));
	tap_eq(seal(fw, HSM_AUTH_MSG_OPEN, USR, USR_ID, USR_PIN1, NULL, nonce, &s), 0,
	       "(sealed an open message)");
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, 31);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_INVALID_ARG,
	       "OpenSession with a 31-byte nonce: INVALID_ARG");
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	tap_eq(rq_send_ext(fw, &q, &r, 0, 30), AZIHSM_STATUS_RSP_TOO_LARGE,
	       "OpenSession whose answer does not fit: RSP_TOO_LARGE");
	tap_eq(hsm_auth_session_count(hsm_fw_auth(fw)), n, "  and no session left open");
	tap_ok(r.cmd.cqe_session_flags == AZIHSM_SESS_OP_OPEN && r.cmd.cqe_session_id == 0,
	       "  CQE: OP_OPEN, no session");
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_BAD_NONCE,
	       "  the same message again: BAD_NONCE (one nonce, one try)");

	e = rq_begin(&q, AZIHSM_OP_CLOSE_SESSION, so);
	mbor_enc_map(e, 1);
	mbor_enc_key(e, 1);
	mbor_enc_u16(e, so);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "CloseSession with a field: MALFORMED");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, so, &r), 0, "  and the session is still open");
}

/* With a state file: what survives a restart, what a failed commit says. */
static void test_persist(void)
{
	static struct rsp r;
	char dir[64], path[128], cmd[160];
	struct hsm_fw *fw;
	uint16_t o, u, pid, sid, id;
	long count;

	snprintf(dir, sizeof(dir), "/tmp/azihsm-svc-XXXXXX");
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/partition", dir);
	fw = start(path);
	if (!tap_ok(fw != NULL, "state file: fresh partition"))
		return;
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN0, &o, NULL), 0,
	       "  the fresh partition has the default officer credential");
	tap_eq(chpin_as(fw, o, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), 0, "  ChangePin");
	tap_eq(keygen(fw, o, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "p1", true, &pid), 0,
	       "  persistent key \"p1\"");
	tap_eq(keygen(fw, o, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "s1", false, &sid), 0,
	       "  session key \"s1\"");
	tap_eq(open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  wrong user PIN 1");
	tap_eq(open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  wrong user PIN 2");
	hsm_fw_free(fw);	/* no close: a crash */

	fw = start(path);
	if (!tap_ok(fw != NULL, "restart"))
		return;
	tap_eq(failures(fw, USR), 2, "  the user's 2 failures survived");
	tap_ok(hsm_auth_must_change(hsm_fw_auth(fw), USR) &&
	       !hsm_auth_must_change(hsm_fw_auth(fw), OFF),
	       "  the officer's PIN is changed, the user's still the default");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN0, NULL, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  the default officer PIN is refused");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN1, &o, NULL), 0, "  the changed one opens");
	tap_ok(!open_key(fw, o, "p1", &id) && id == pid, "  \"p1\" is back with its id");
	tap_ok(sign_verifies(fw, o, pid, "after restart", NULL), "  and signs (verified)");
	tap_eq(open_key(fw, o, "s1", NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  the session key \"s1\" is not");
	tap_ok(!key_list(fw, o, &count, NULL, NULL) && count == 1, "  KeyList: one key");
	tap_eq(open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  wrong user PIN 3");
	hsm_fw_free(fw);

	fw = start(path);
	tap_eq(failures(fw, USR), 3, "restart: 3 failures");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN0, NULL, NULL), AZIHSM_STATUS_LOCKED_OUT,
	       "  the lockout wait survived the restart: LOCKED_OUT");
	clk.real += 1000;
	clk.mono += 1000;
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN0, &u, &r), 0, "  1 s later the default opens");
	tap_eq(rsp_bool(&r, AZIHSM_SESS_MUST_CHANGE), 1, "  restricted (must change)");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN1, &o, NULL), 0, "  officer session");

	/* The directory gone: every commit fails. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
	tap_eq(keygen(fw, o, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "p2", true, NULL),
	       AZIHSM_STATUS_NOT_STORED, "commit fails: persistent KeyGenerate NOT_STORED");
	tap_eq(open_key(fw, o, "p2", NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  and the key was not kept");
	tap_ok(!keygen(fw, o, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "s2", false, NULL),
	       "  a session key needs no commit");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, o, pid, &r), AZIHSM_STATUS_NOT_STORED,
	       "  DeleteKey of a persistent key: NOT_STORED");
	tap_ok(!open_key(fw, o, "p1", &id) && id == pid, "  and the key is kept (OpenKey)");
	tap_ok(sign_verifies(fw, o, pid, "not deleted", NULL), "  and still signs (verified)");
	tap_ok(!key_list(fw, o, &count, NULL, NULL) && count == 2,
	       "  KeyList: it and the session key");
	tap_eq(chpin_as(fw, u, USR, USR_ID, USR_PIN0, USR_PIN1), AZIHSM_STATUS_NOT_STORED,
	       "  ChangePin: NOT_STORED");
	tap_ok(hsm_auth_must_change(hsm_fw_auth(fw), USR),
	       "  and undone: the user's PIN is still the default");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN0, NULL, NULL), 0,
	       "  the unchanged PIN still opens");
	tap_eq(open_as(fw, OFF, OFF_ID, BAD_PIN, NULL, NULL), AZIHSM_STATUS_NOT_STORED,
	       "  a counted wrong PIN: NOT_STORED");
	hsm_fw_free(fw);
}

/* Credential management (4040, 4041) through the service table, stored. */
static void test_users(void)
{
	static const uint8_t *USR_PIN2 = (const uint8_t *)"officer-set PIN2";
	static const uint8_t *USR_PIN3 = (const uint8_t *)"user picks PIN 3";
	static struct rsp r;
	char dir[64], path[128], cmd[160];
	struct hsm_fw *fw;
	uint16_t o = 0, u = 0;
	struct rq q;
	int i;

	snprintf(dir, sizeof(dir), "/tmp/azihsm-users-XXXXXX");
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/partition", dir);
	fw = start(path);
	if (!tap_ok(fw != NULL, "users: fresh partition with a state file"))
		return;
	tap_eq(reset_user(fw, NOSESS, USR, USR_ID, USR_PIN2), AZIHSM_STATUS_NO_SESSION,
	       "users: ResetUserCredential without a session: NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, NOSESS, &r), AZIHSM_STATUS_NO_SESSION,
	       "users: UnlockUser without a session: NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, 0x4242, &r), AZIHSM_STATUS_NO_SESSION,
	       "users: UnlockUser naming a session not open: NO_SESSION");
	open_as(fw, OFF, OFF_ID, OFF_PIN0, &o, NULL);
	tap_eq(reset_user(fw, o, USR, USR_ID, USR_PIN2), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "users: default officer: MUST_CHANGE_PIN");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, o, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "users: default officer unlock: MUST_CHANGE_PIN");
	tap_eq(chpin_as(fw, o, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), 0, "users: officer ChangePin");
	open_as(fw, USR, USR_ID, USR_PIN0, &u, NULL);
	tap_eq(chpin_as(fw, u, USR, USR_ID, USR_PIN0, USR_PIN1), 0, "users: user ChangePin");
	tap_eq(reset_user(fw, u, USR, USR_ID, USR_PIN2), AZIHSM_STATUS_WRONG_ROLE,
	       "users: user session reset: WRONG_ROLE");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, u, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "users: user session unlock: WRONG_ROLE");
	tap_eq(reset_user(fw, o, OFF, OFF_ID, USR_PIN2), AZIHSM_STATUS_WRONG_ROLE,
	       "users: a reset aimed at the officer: WRONG_ROLE");
	tap_eq(reset_user(fw, o, USR, USR_ID, USR_PIN0), AZIHSM_STATUS_WEAK_PIN,
	       "users: a reset to the user's default PIN: WEAK_PIN");
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_RESET_USER_CREDENTIAL, o), 0);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "users: ResetUserCredential without the sealed fields: MALFORMED");
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_UNLOCK_USER, o), 1);
	mbor_enc_key(&q.e, 1);
	mbor_enc_u8(&q.e, 2);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "users: UnlockUser with an unknown field: MALFORMED");

	/* Lock the user out, unlock, restart. */
	for (i = 0; i < 3; i++)
		open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL);
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, NULL, NULL), AZIHSM_STATUS_LOCKED_OUT,
	       "users: three wrong PINs: the user is LOCKED_OUT");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, o, &r), 0, "users: the officer unlocks");
	tap_ok(r.has_data, "users: UnlockUser answers an (empty) data map");
	hsm_fw_free(fw);	/* a crash right after the answer */
	fw = start(path);
	if (!tap_ok(fw != NULL, "users: restart"))
		return;
	tap_eq(failures(fw, USR), 0, "users: the unlock was stored before the answer");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, &u, NULL), 0,
	       "users: the user's unchanged PIN opens at once");

	/* Reset with failures pending, restart. */
	open_as(fw, OFF, OFF_ID, OFF_PIN1, &o, NULL);
	open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL);
	open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL);
	tap_eq(failures(fw, USR), 2, "users: two new failures");
	tap_eq(reset_user(fw, o, USR, USR_ID, USR_PIN2), 0, "users: the officer resets the PIN");
	hsm_fw_free(fw);
	fw = start(path);
	if (!tap_ok(fw != NULL, "users: restart after the reset"))
		return;
	tap_eq(failures(fw, USR), 0, "users: the reset cleared the failures (stored)");
	tap_ok(hsm_auth_must_change(hsm_fw_auth(fw), USR), "users: must-change stored");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN1, NULL, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "users: the user's old PIN is refused");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN2, &u, &r), 0, "users: the officer-set PIN opens");
	tap_eq(rsp_bool(&r, AZIHSM_SESS_MUST_CHANGE), 1, "users: the answer says must change");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, u, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "users: KeyList refused before the change");
	tap_eq(chpin_as(fw, u, USR, USR_ID, USR_PIN2, USR_PIN3), 0,
	       "users: the user changes the officer-set PIN");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, u, &r), 0, "users: then KeyList works");

	/* The directory gone: nothing is acknowledged unstored. */
	open_as(fw, OFF, OFF_ID, OFF_PIN1, &o, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
	tap_eq(reset_user(fw, o, USR, USR_ID, USR_PIN1), AZIHSM_STATUS_NOT_STORED,
	       "users: commit fails: ResetUserCredential NOT_STORED");
	tap_ok(!hsm_auth_must_change(hsm_fw_auth(fw), USR),
	       "users: and undone: no must-change");
	tap_eq(open_as(fw, USR, USR_ID, USR_PIN3, NULL, NULL), 0,
	       "users: the user's own PIN still opens");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, o, &r), 0,
	       "users: UnlockUser with nothing to clear needs no commit");
	tap_eq(open_as(fw, USR, USR_ID, BAD_PIN, NULL, NULL), AZIHSM_STATUS_NOT_STORED,
	       "users: a counted wrong PIN: NOT_STORED");
	tap_eq(failures(fw, USR), 1, "users: and it stays counted (stricter)");
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, o, &r), AZIHSM_STATUS_NOT_STORED,
	       "users: commit fails: UnlockUser with a failure to clear NOT_STORED");
	tap_eq(failures(fw, USR), 1, "users: and undone: the failure still counted");
	hsm_fw_free(fw);
}

static long rsp_u32(const struct rsp *r, uint8_t id)
{
	struct mbor_dec d;
	uint32_t v;

	return rsp_field(r, id, &d) || mbor_dec_u32(&d, &v) ? -1 : (long)v;
}

/*
 * Seal a hand-built partition image of @version (vault and credentials
 * parts of fresh objects, @extra zero bytes after the credentials) into
 * @path, start the firmware on it; GetDeviceInfo's persist value.
 */
static long start_on_image(const char *path, unsigned int version, size_t extra,
			   struct hsm_fw **out)
{
	static struct rsp r;
	struct hsm_vault *v = hsm_vault_new(0);
	struct hsm_auth *a = hsm_auth_new(NULL);
	uint8_t *vimg = NULL, *aimg = NULL, img[1024] = { 0 };
	size_t vlen = 0, alen = 0, len;
	enum hsm_state_status st;
	struct hsm_state *s;
	long persist = -1;

	*out = NULL;
	if (!v || !a || hsm_vault_serialize(v, &vimg, &vlen) ||
	    hsm_auth_serialize(a, &aimg, &alen) || 102 + vlen + alen + extra > sizeof(img))
		goto out;
	memcpy(img, "AZHSMPI1", 8);
	img[8] = (uint8_t)version;
	/* 10..89: masking key, left zero. */
	img[90] = (uint8_t)vlen;
	memcpy(img + 94, vimg, vlen);
	len = 94 + vlen;
	if (version >= 2) {
		img[len] = (uint8_t)alen;
		memcpy(img + len + 4, aimg, alen);
		len += 4 + alen;
		/* Version 3: an empty backup part (length 0: no BK3). */
		if (version == 3)
			len += 4;
		len += extra;
	}
	s = hsm_state_open(path, &st);
	if (!s)
		goto out;
	if (hsm_state_commit(s, img, len)) {
		hsm_state_close(s);
		goto out;
	}
	hsm_state_close(s);
	*out = start(path);
	if (*out && !call0(*out, AZIHSM_OP_GET_DEVICE_INFO, NOSESS, &r))
		persist = rsp_u32(&r, AZIHSM_DEVINFO_PERSIST);
out:
	hsm_vault_image_free(vimg, vlen);
	hsm_auth_image_free(aimg, alen);
	hsm_vault_free(v);
	hsm_auth_free(a);
	return persist;
}

static void test_image_versions(void)
{
	static struct rsp r;
	char dir[64], path[128], cmd[160];
	struct hsm_fw *fw;
	uint16_t sid;

	snprintf(dir, sizeof(dir), "/tmp/azihsm-svc-XXXXXX");
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/p1", dir);
	tap_eq(start_on_image(path, 1, 0, &fw), AZIHSM_PERSIST_BAD_IMAGE,
	       "image version 1 (no credentials part): bad-image");
	tap_eq(call0(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r), AZIHSM_STATUS_ERROR_STATE,
	       "  error state");
	hsm_fw_free(fw);
	snprintf(path, sizeof(path), "%s/p2", dir);
	tap_eq(start_on_image(path, 2, 1, &fw), AZIHSM_PERSIST_BAD_IMAGE,
	       "version 2 with a byte after the credentials part: bad-image");
	hsm_fw_free(fw);
	snprintf(path, sizeof(path), "%s/p3", dir);
	tap_eq(start_on_image(path, 4, 0, &fw), AZIHSM_PERSIST_BAD_IMAGE, "version 4: bad-image");
	hsm_fw_free(fw);
	snprintf(path, sizeof(path), "%s/p5", dir);
	tap_eq(start_on_image(path, 3, 1, &fw), AZIHSM_PERSIST_BAD_IMAGE,
	       "version 3 with a byte after the backup part: bad-image");
	hsm_fw_free(fw);
	snprintf(path, sizeof(path), "%s/p6", dir);
	tap_eq(start_on_image(path, 3, 0, &fw), AZIHSM_PERSIST_LOADED,
	       "a hand-built version 3 image (no BK3) loads");
	hsm_fw_free(fw);
	snprintf(path, sizeof(path), "%s/p4", dir);
	tap_eq(start_on_image(path, 2, 0, &fw), AZIHSM_PERSIST_LOADED,
	       "a hand-built version 2 image loads");
	tap_eq(open_as(fw, OFF, OFF_ID, OFF_PIN0, &sid, &r), 0,
	       "  its default officer credential opens");
	tap_eq(rsp_bool(&r, AZIHSM_SESS_MUST_CHANGE), 1, "  restricted");
	hsm_fw_free(fw);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
}

/* Through the controller: the CQE's session fields as the driver sees them. */
static long fg_send(struct fake_guest *g, struct rq *q, struct rsp *r, struct fg_sess *ss)
{
	struct mbor_dec d;
	uint32_t rlen = 0;
	size_t len;

	memset(&r->cmd, 0, sizeof(r->cmd));
	if (mbor_enc_finish(&q->e, &len) ||
	    fg_hsm_sess(g, q->buf, (uint32_t)len, 0, r->buf, sizeof(r->buf), &rlen, ss))
		return -1;
	r->cmd.out_len = rlen;
	mbor_dec_init(&d, r->buf, rlen);
	if (azihsm_msg_parse_response(&d, &r->h, &r->has_data))
		return -1;
	return r->h.status;
}

static void test_queue(void)
{
	static const struct hsm_ctrl_config cfg = {
		.serial = "SVC-Q", .fw_rev = "1", .model = "AZIHSM-TEST",
		.hsm_queues_max = 1, .aes_queues_max = 0,
	};
	static struct rsp r;
	static struct fake_guest g;
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	const uint8_t *pub, *n;
	size_t pub_len, n_len, len;
	struct fg_sess ss;
	uint32_t rlen;
	uint16_t sid, app;
	struct rq q;

	if (!tap_ok(!fg_init(&g, &cfg), "controller with one HSM queue"))
		return;
	fg_enable(&g, 16);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	fg_admin(&g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, NULL);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 1 | (63u << 16),
		 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (1u << 16), FG_CQ1, 0, NULL);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 1 | (63u << 16), AZIHSM_CREATE_PC | (1u << 16),
		 FG_SQ1, 0, NULL);
	fg_queue_setup(&g.io, 1, FG_SQ1, FG_CQ1, 64, 64, 64, 16);

	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION,
			       .sqe_sid = 0x1234 };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_API_REV, NOSESS), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: GetApiRev");
	tap_ok(ss.cqe_flags == (AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION) &&
	       ss.cqe_sid == 0x1234, "  CQE echoes the SQE's session fields");

	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_OPEN, .sqe_sid = 0x1234 };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: GetSessionEncryptionKey");
	if (rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &pub, &pub_len) ||
	    rsp_bytes(&r, AZIHSM_SESS_NONCE, &n, &n_len) || n_len != sizeof(nonce))
		pub_len = 0;
	else
		memcpy(nonce, n, sizeof(nonce));
	tap_ok(pub_len && !hsm_auth_client_seal(pub, pub_len, nonce, HSM_AUTH_MSG_OPEN, OFF,
						OFF_ID, OFF_PIN0, NULL, &s), "  sealed");
	s.tag[0] ^= 1;
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	tap_eq(fg_send(&g, &q, &r, &ss), AZIHSM_STATUS_BAD_MESSAGE,
	       "queue: OpenSession with a tampered tag: BAD_MESSAGE");
	tap_ok(ss.cqe_flags == AZIHSM_SESS_OP_OPEN && ss.cqe_sid == 0,
	       "  CQE: OP_OPEN, session_id 0 (not the SQE's)");

	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS), 0);
	fg_send(&g, &q, &r, &ss);
	if (!rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &pub, &pub_len) &&
	    !rsp_bytes(&r, AZIHSM_SESS_NONCE, &n, &n_len) && n_len == sizeof(nonce))
		memcpy(nonce, n, sizeof(nonce));
	hsm_auth_client_seal(pub, pub_len, nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0,
			     NULL, &s);
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: OpenSession");
	sid = (uint16_t)rsp_u16(&r, AZIHSM_SESS_ID);
	app = ss.cqe_app;
	tap_ok(sid && ss.cqe_flags == (AZIHSM_SESS_OP_OPEN | AZIHSM_SESS_IN_SESSION |
				       AZIHSM_SESS_SHORT_APP_ID_VALID) &&
	       ss.cqe_sid == sid && app,
	       "  CQE: OP_OPEN | IN_SESSION | SHORT_APP_ID_VALID, the new id (%u), a "
	       "short_app_id", sid);

	/* issue 9: an in-session SQE without the holder's short_app_id. */
	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_IN_SESSION,
			       .sqe_sid = sid, .sqe_app = (uint16_t)(app ^ 1) };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_CLOSE_SESSION, sid), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), AZIHSM_STATUS_NO_SESSION,
	       "issue 9: CloseSession with another short_app_id: NO_SESSION");
	ss.sqe_app = 0;
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_CLOSE_SESSION, sid), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), AZIHSM_STATUS_NO_SESSION,
	       "issue 9: CloseSession with short_app_id 0: NO_SESSION");
	tap_eq(hsm_auth_session_count(hsm_fw_auth(g.ctrl->fw)), 1, "  the session stays open");
	ss = (struct fg_sess){ .opc = AZIHSM_HSQE_OPC_FLUSH_SESSION, .sqe_sid = sid,
			       .sqe_app = (uint16_t)(app + 1) };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_API_REV, NOSESS), 0);
	mbor_enc_finish(&q.e, &len);
	tap_ok(!fg_hsm_sess(&g, q.buf, (uint32_t)len, 0, r.buf, sizeof(r.buf), &rlen, &ss),
	       "issue 9: a flush SQE with another short_app_id completes ...");
	tap_eq(hsm_auth_session_count(hsm_fw_auth(g.ctrl->fw)), 1,
	       "  ... and does nothing: the session stays open");

	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_IN_SESSION,
			       .sqe_sid = sid, .sqe_app = app };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_CLOSE_SESSION, sid), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: CloseSession with its short_app_id");
	tap_ok(ss.cqe_flags == (AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_SAFE_TO_CLOSE) &&
	       ss.cqe_sid == sid, "  CQE: OP_CLOSE | SAFE_TO_CLOSE, its id");
	tap_eq(fg_send(&g, &q, &r, &ss), AZIHSM_STATUS_NO_SESSION, "  again: NO_SESSION");
	tap_ok(ss.cqe_flags == AZIHSM_SESS_OP_CLOSE, "  CQE: OP_CLOSE only");

	/* The flush SQE (opcode 1) closes a session the host left open. */
	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_OPEN };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS), 0);
	fg_send(&g, &q, &r, &ss);
	if (!rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &pub, &pub_len) &&
	    !rsp_bytes(&r, AZIHSM_SESS_NONCE, &n, &n_len) && n_len == sizeof(nonce))
		memcpy(nonce, n, sizeof(nonce));
	hsm_auth_client_seal(pub, pub_len, nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0,
			     NULL, &s);
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: another OpenSession");
	sid = ss.cqe_sid;
	app = ss.cqe_app;
	ss = (struct fg_sess){ .opc = AZIHSM_HSQE_OPC_FLUSH_SESSION, .sqe_sid = sid,
			       .sqe_app = app };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_API_REV, NOSESS), 0);
	mbor_enc_finish(&q.e, &len);
	rlen = 99;
	tap_ok(!fg_hsm_sess(&g, q.buf, (uint32_t)len, 0, r.buf, sizeof(r.buf), &rlen, &ss) &&
	       rlen == 0, "queue: flush SQE completes with success, no response");
	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION,
			       .sqe_sid = sid, .sqe_app = app };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_CHANGE_PIN, sid), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), AZIHSM_STATUS_NO_SESSION,
	       "  the flushed session is gone: NO_SESSION");
	tap_eq(fg_guest_errors(&g), 0, "no guest errors");

	/* issue 9: the kernel session, once per reset; a controller reset ends it. */
	ss = (struct fg_sess){ 0 };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: OpenKernelSession");
	sid = (uint16_t)rsp_u16(&r, AZIHSM_KSESS_F_ID);
	app = ss.cqe_app;
	tap_ok(sid && ss.cqe_sid == sid && app &&
	       ss.cqe_flags == (AZIHSM_SESS_OP_OPEN | AZIHSM_SESS_IN_SESSION |
				AZIHSM_SESS_SHORT_APP_ID_VALID),
	       "  CQE: OP_OPEN | IN_SESSION | SHORT_APP_ID_VALID, its id and short_app_id");
	ss = (struct fg_sess){ 0 };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), AZIHSM_STATUS_KERNEL_SESSION_OPEN,
	       "issue 9: a second OpenKernelSession: KERNEL_SESSION_OPEN");
	tap_ok(ss.cqe_flags == AZIHSM_SESS_OP_OPEN && !ss.cqe_sid && !ss.cqe_app,
	       "  CQE: OP_OPEN, no id, no short_app_id");
	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION,
			       .sqe_sid = sid, .sqe_app = app };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_KEY_LIST, sid), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "  the first one is untouched (KeyList in it)");
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, 0, 4);
	tap_eq(hsm_auth_session_role(hsm_fw_auth(g.ctrl->fw), sid, &(enum hsm_auth_role){ 0 }),
	       HSM_AUTH_NO_SESSION, "a controller reset (CC.EN = 0) closes the kernel session");
	memset(g.ram + (FG_CQ1 - FG_RAM_BASE), 0, 64 * 16);	/* old phase bits */
	fg_enable(&g, 16);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	fg_admin(&g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, NULL);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 1 | (63u << 16),
		 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (1u << 16), FG_CQ1, 0, NULL);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 1 | (63u << 16), AZIHSM_CREATE_PC | (1u << 16),
		 FG_SQ1, 0, NULL);
	fg_queue_setup(&g.io, 1, FG_SQ1, FG_CQ1, 64, 64, 64, 16);
	ss = (struct fg_sess){ 0 };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS), 0);
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "  after it the next OpenKernelSession succeeds");

	/* A PCI reset (VM reboot, FLR) leaves no session behind. */
	ss = (struct fg_sess){ .sqe_flags = AZIHSM_SESS_OP_OPEN };
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS), 0);
	fg_send(&g, &q, &r, &ss);
	if (!rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &pub, &pub_len) &&
	    !rsp_bytes(&r, AZIHSM_SESS_NONCE, &n, &n_len) && n_len == sizeof(nonce))
		memcpy(nonce, n, sizeof(nonce));
	hsm_auth_client_seal(pub, pub_len, nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0,
			     NULL, &s);
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &s, sizeof(nonce));
	tap_eq(fg_send(&g, &q, &r, &ss), 0, "queue: OpenSession before a reset");
	tap_eq(hsm_auth_session_count(hsm_fw_auth(g.ctrl->fw)), 1, "  one session open");
	hsm_ctrl_reset(g.ctrl);
	tap_eq(hsm_auth_session_count(hsm_fw_auth(g.ctrl->fw)), 0,
	       "hsm_ctrl_reset (PCI reset): no session left");
	fg_fini(&g);
}


/* ---- issue 9 ---------------------------------------------------------- */

/* A fresh volatile firmware whose officer left its default PIN: *so. */
static struct hsm_fw *start_officer(uint16_t *o)
{
	struct hsm_fw *f = start(NULL);

	*o = 0;
	if (f && (open_as(f, OFF, OFF_ID, OFF_PIN0, o, NULL) ||
		  chpin_as(f, *o, OFF, OFF_ID, OFF_PIN0, OFF_PIN1)))
		*o = 0;
	return f;
}

/* GetSessionEncryptionKey on HSM queue @sq; HSM status. */
static long session_key_on(struct hsm_fw *f, uint16_t sq)
{
	static struct rsp r;
	struct rq q;

	mbor_enc_map(rq_begin(&q, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS), 0);
	q.sq_id = sq;
	return rq_send(f, &q, &r);
}

/* issue 9: a session (or all of them) cannot fill the vault. */
static void test_issue9_quota(void)
{
	uint16_t o, u = 0, id;
	struct hsm_fw *f = start_officer(&o);
	unsigned int i, ok = 0;

	for (i = 0; i < HSM_VAULT_SESSION_KEYS; i++)
		ok += !keygen(f, o, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, NULL, false, &id);
	tap_eq(ok, HSM_VAULT_SESSION_KEYS, "issue 9: %u session keys made",
	       HSM_VAULT_SESSION_KEYS);
	tap_eq(keygen(f, o, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, NULL, false, &id),
	       AZIHSM_STATUS_QUOTA, "issue 9: one more session key: QUOTA");
	tap_eq(keygen(f, o, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, "p1", true, &id), 0,
	       "issue 9: the officer's persistent key still fits");
	tap_eq(open_as(f, USR, USR_ID, USR_PIN0, &u, NULL), 0, "user opens");
	tap_eq(chpin_as(f, u, USR, USR_ID, USR_PIN0, USR_PIN1), 0, "user leaves its default");
	tap_eq(keygen(f, u, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, NULL, false, &id), 0,
	       "issue 9: another session has its own quota");
	hsm_fw_free(f);
}

/* issue 9: GetSessionEncryptionKey floods evict only their own queue's nonces. */
static void test_issue9_nonces(void)
{
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed sl;
	struct hsm_fw *f = start(NULL);
	static struct rsp r;
	struct rq q;
	unsigned int i;
	long st;

	/* The victim's nonce comes from queue 0 (seal()). */
	st = seal(f, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, nonce, &sl);
	for (i = 0; i < 4 * HSM_AUTH_NONCES; i++)
		st |= session_key_on(f, 1);
	tap_eq(st, 0, "issue 9: %u GetSessionEncryptionKey on queue 1", 4 * HSM_AUTH_NONCES);
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &sl, sizeof(nonce));
	q.sq_id = 1;
	tap_eq(rq_send(f, &q, &r), 0,
	       "issue 9: the victim's nonce from queue 0 still opens (sent on queue 1)");
	/* Same queue: the flood still evicts (documented limit). */
	seal(f, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, nonce, &sl);
	for (i = 0; i < HSM_AUTH_NONCES; i++)
		session_key_on(f, 0);
	enc_sealed(rq_begin(&q, AZIHSM_OP_OPEN_SESSION, NOSESS), nonce, &sl, sizeof(nonce));
	tap_eq(rq_send(f, &q, &r), AZIHSM_STATUS_BAD_NONCE,
	       "a flood on the same queue evicts its oldest nonce");
	tap_eq(session_key_on(f, HSM_AUTH_NONCE_QUEUES), AZIHSM_STATUS_INVALID_ARG,
	       "issue 9: a queue id past the nonce tables: INVALID_ARG");
	hsm_fw_free(f);
}

/* issue 9: the PIN policy and the user's permanent lock through the services. */
static void test_issue9_pins(void)
{
	static struct rsp r;
	uint16_t o, u = 0;
	struct hsm_fw *f = start_officer(&o);
	unsigned int i, bad = 0;

	tap_eq(open_as(f, USR, USR_ID, USR_PIN0, &u, NULL), 0, "user opens with the default");
	tap_eq(chpin_as(f, u, USR, USR_ID, USR_PIN0, (const uint8_t *)"12345678\0\0\0\0\0\0\0\0"),
	       AZIHSM_STATUS_WEAK_PIN, "issue 9: ChangePin to 12345678: WEAK_PIN");
	tap_eq(chpin_as(f, u, USR, USR_ID, USR_PIN0, (const uint8_t *)"pin4\0\0\0\0\0\0\0\0\0\0\0\0"),
	       AZIHSM_STATUS_WEAK_PIN, "issue 9: ChangePin to a 4-byte PIN: WEAK_PIN");
	tap_eq(reset_user(f, o, USR, USR_ID, (const uint8_t *)"xxxxxxxxxxxxxxxx"),
	       AZIHSM_STATUS_WEAK_PIN, "issue 9: ResetUserCredential to one byte x16: WEAK_PIN");
	tap_eq(chpin_as(f, u, USR, USR_ID, USR_PIN0, USR_PIN1), 0, "a good PIN is taken");
	call0(f, AZIHSM_OP_CLOSE_SESSION, u, &r);

	/* The attack: guess until locked; waits are waited out. */
	for (i = 0; i < HSM_AUTH_MAX_FAILURES; i++) {
		uint64_t w = 0;

		hsm_auth_lockout(hsm_fw_auth(f), USR, NULL, &w);
		clk.real += w;
		clk.mono += w;
		bad += open_as(f, USR, USR_ID, BAD_PIN, NULL, NULL) == AZIHSM_STATUS_BAD_CREDENTIAL;
	}
	tap_eq(bad, HSM_AUTH_MAX_FAILURES, "issue 9: %u wrong PINs counted", HSM_AUTH_MAX_FAILURES);
	clk.real += 7 * 24 * 3600000ull;
	clk.mono += 7 * 24 * 3600000ull;
	tap_eq(open_as(f, USR, USR_ID, USR_PIN1, NULL, NULL), AZIHSM_STATUS_PIN_LOCKED,
	       "issue 9: a week later the right PIN: PIN_LOCKED");
	tap_eq(call0(f, AZIHSM_OP_UNLOCK_USER, o, &r), 0, "issue 9: the officer's UnlockUser");
	tap_eq(open_as(f, USR, USR_ID, USR_PIN1, NULL, NULL), 0, "issue 9: the user opens again");
	hsm_fw_free(f);
}

/* issue 9: keys come from the DRBG; its failure stops the module. */
static void test_issue9_drbg(void)
{
	static const struct {
		uint8_t type;
		uint32_t usage;
		const char *name;
	} kinds[] = {
		{ AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, "AES-256" },
		{ AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, "P-384" },
		{ AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN, "RSA-2048" },
	};
	static struct rsp r;
	unsigned int i;
	uint16_t o, id;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct hsm_fw *f = start_officer(&o);

		tap_eq(keygen(f, o, kinds[i].type, kinds[i].usage, NULL, false, &id), 0,
		       "issue 9: %s generated from the DRBG", kinds[i].name);
		hsm_drbg_set_failed(hsm_fw_drbg(f));
		tap_eq(keygen(f, o, kinds[i].type, kinds[i].usage, NULL, false, &id),
		       AZIHSM_STATUS_DRBG_FAILURE, "issue 9: %s with a failed DRBG: DRBG_FAILURE",
		       kinds[i].name);
		tap_ok(hsm_fw_in_error_state(f), "issue 9: the module is in its error state");
		tap_eq(call0(f, AZIHSM_OP_KEY_LIST, o, &r), AZIHSM_STATUS_ERROR_STATE,
		       "issue 9: then services answer ERROR_STATE");
		hsm_fw_free(f);
	}
}

/*
 * issue 9: every controller reset (CC.EN 1 -> 0, shutdown, NSSR) closes
 * every session, so a guest that fills the session slots and resets cannot
 * keep them (the driver forgets all ids at a reset). The attack first:
 * fill all slots and hold a session key; then each reset kind frees them.
 */
static void test_issue9_reset_sessions(void)
{
	static const struct hsm_ctrl_config cfg = {
		.serial = "SVC-R", .fw_rev = "1", .model = "AZIHSM-TEST",
		.hsm_queues_max = 1, .aes_queues_max = 0,
	};
	static const char *const kind[] = { "CC.EN 1 -> 0", "shutdown (CC.SHN)", "NSSR" };
	static struct fake_guest g;
	uint16_t sid[HSM_AUTH_MAX_SESSIONS], extra, kid;
	unsigned int k, i, opened;
	struct hsm_fw *f;

	if (!tap_ok(!fg_init(&g, &cfg), "issue 9: controller for the reset-session test"))
		return;
	f = g.ctrl->fw;
	fg_enable(&g, 16);
	tap_ok(!open_as(f, OFF, OFF_ID, OFF_PIN0, &extra, NULL) &&
	       !chpin_as(f, extra, OFF, OFF_ID, OFF_PIN0, OFF_PIN1) &&
	       !open_as(f, USR, USR_ID, USR_PIN0, &extra, NULL) &&
	       !chpin_as(f, extra, USR, USR_ID, USR_PIN0, USR_PIN1),
	       "issue 9: officer and user leave their default PINs");
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, 0, 4);
	for (k = 0; k < 3; k++) {
		fg_enable(&g, 16);
		/* The users take all but the officer's slot, the officer that one. */
		opened = 0;
		for (i = 0; i + 1 < HSM_AUTH_MAX_SESSIONS; i++)
			opened += !open_as(f, USR, USR_ID, USR_PIN1, &sid[i], NULL);
		opened += !open_as(f, OFF, OFF_ID, OFF_PIN1, &sid[HSM_AUTH_MAX_SESSIONS - 1],
				   NULL);
		tap_eq(opened, HSM_AUTH_MAX_SESSIONS, "issue 9: %s: every session slot taken",
		       kind[k]);
		tap_eq(open_as(f, OFF, OFF_ID, OFF_PIN1, &extra, NULL),
		       AZIHSM_STATUS_SESSIONS_FULL, "  one more: SESSIONS_FULL");
		tap_eq(keygen(f, sid[HSM_AUTH_MAX_SESSIONS - 1], AZIHSM_KEY_AES256,
			      AZIHSM_USAGE_ENCRYPT, NULL, false, &kid), 0,
		       "  the officer's session holds a session key");
		switch (k) {
		case 0:
			hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, 0, 4);
			break;
		case 1:
			hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC,
					   AZIHSM_CC_EN | (1u << AZIHSM_CC_SHN_SHIFT), 4);
			hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, 0, 4);
			break;
		default:
			hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_NSSR, AZIHSM_NSSR_MAGIC, 4);
			break;
		}
		tap_eq(hsm_auth_session_count(hsm_fw_auth(f)), 0,
		       "issue 9: %s closes every session", kind[k]);
		tap_eq(hsm_vault_count_owner(hsm_fw_vault(f), sid[HSM_AUTH_MAX_SESSIONS - 1]), 0,
		       "  and drops their session keys");
		tap_eq(keygen(f, sid[HSM_AUTH_MAX_SESSIONS - 1], AZIHSM_KEY_AES256,
			      AZIHSM_USAGE_ENCRYPT, NULL, false, NULL), AZIHSM_STATUS_NO_SESSION,
		       "  an old session id: NO_SESSION");
		fg_enable(&g, 16);
		tap_eq(open_as(f, OFF, OFF_ID, OFF_PIN1, &extra, NULL), 0,
		       "  after it a new session opens");
		hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, 0, 4);
	}
	tap_eq(fg_guest_errors(&g), 0, "no guest errors");
	fg_fini(&g);
}

int main(void)
{
	struct hsm_fw *fw = start(NULL);

	if (!fw) {
		printf("Bail out! hsm_fw_new\n");
		return 1;
	}
	test_login(fw);
	test_keys(fw);
	test_lockout_and_full(fw);
	test_malformed(fw);
	hsm_fw_free(fw);
	test_persist();
	test_users();
	test_image_versions();
	test_queue();
	test_issue9_quota();
	test_issue9_nonces();
	test_issue9_pins();
	test_issue9_drbg();
	test_issue9_reset_sessions();
	return tap_done();
}
