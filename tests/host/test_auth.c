// SPDX-License-Identifier: MIT
/*
 * hsm_auth on the host: default credentials and must-change, PIN change,
 * lockout timing on a fake clock (and across a serialize/deserialize
 * "restart"), the session table, flush, nonce replay/expiry, tampered
 * messages, role checks, the authorization matrix, the officer's reset and
 * unlock of the user, malformed images, and
 * the credential message format rebuilt with raw OpenSSL calls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm_auth.h"
#include "hsm_auth_client.h"
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

struct fake_clock {
	uint64_t mono, real;
};

static uint64_t fake_now(void *ctx, enum hsm_auth_clock which)
{
	struct fake_clock *c = ctx;

	return which == HSM_AUTH_CLOCK_REAL ? c->real : c->mono;
}

static void advance(struct fake_clock *c, uint64_t ms)
{
	c->mono += ms;
	c->real += ms;
}

static struct hsm_auth *new_auth(struct fake_clock *clk)
{
	struct hsm_auth_config cfg = { .clock = fake_now, .clock_ctx = clk };

	return hsm_auth_new(&cfg);
}

/* ---- message helpers ------------------------------------------------- */

struct msg {
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
};

/* Fetch key + nonce and seal through the host-side helper. */
static int seal(struct hsm_auth *a, enum hsm_auth_msg_kind kind, uint8_t role,
		const uint8_t *id, const uint8_t *pin, const uint8_t *new_pin, struct msg *m)
{
	uint8_t pub[HSM_AUTH_PUB_MAX];
	size_t len = 0;
	int ret;

	ret = hsm_auth_session_key(a, pub, sizeof(pub), &len, m->nonce);
	if (ret)
		return -1000 - ret;
	return hsm_auth_client_seal(pub, len, m->nonce, kind, role, id, pin, new_pin, &m->s);
}

static int send_open(struct hsm_auth *a, const struct msg *m, uint16_t *sid,
		     enum hsm_auth_role *role)
{
	return hsm_auth_open_session(a, m->s.host_pub, m->s.host_pub_len, m->nonce, m->s.ct,
				     m->s.ct_len, m->s.tag, sid, role);
}

static int send_chpin(struct hsm_auth *a, uint16_t sid, const struct msg *m)
{
	return hsm_auth_change_pin(a, sid, m->s.host_pub, m->s.host_pub_len, m->nonce, m->s.ct,
				   m->s.ct_len, m->s.tag);
}

static int open_as(struct hsm_auth *a, uint8_t role, const uint8_t *id, const uint8_t *pin,
		   uint16_t *sid)
{
	enum hsm_auth_role r = 0;
	uint16_t dummy;
	struct msg m;
	int ret;

	if (seal(a, HSM_AUTH_MSG_OPEN, role, id, pin, NULL, &m))
		return -1;
	ret = send_open(a, &m, sid ? sid : &dummy, &r);
	if (!ret && r != role)
		return -2;
	return ret;
}

static int chpin_as(struct hsm_auth *a, uint16_t sid, uint8_t role, const uint8_t *id,
		    const uint8_t *pin, const uint8_t *new_pin)
{
	struct msg m;

	if (seal(a, HSM_AUTH_MSG_CHPIN, role, id, pin, new_pin, &m))
		return -1;
	return send_chpin(a, sid, &m);
}

static uint32_t failures(struct hsm_auth *a, enum hsm_auth_role role)
{
	uint32_t f = 0xdead;

	hsm_auth_lockout(a, role, &f, NULL);
	return f;
}

static uint64_t wait_of(struct hsm_auth *a, enum hsm_auth_role role)
{
	uint64_t w = 0xdead;

	hsm_auth_lockout(a, role, NULL, &w);
	return w;
}

static int send_reset(struct hsm_auth *a, uint16_t sid, const struct msg *m)
{
	return hsm_auth_reset_user(a, sid, m->s.host_pub, m->s.host_pub_len, m->nonce, m->s.ct,
				   m->s.ct_len, m->s.tag);
}

/* ResetUserCredential in @sid giving @role (the target) @id / @pin. */
static int reset_as(struct hsm_auth *a, uint16_t sid, uint8_t role, const uint8_t *id,
		    const uint8_t *pin)
{
	struct msg m;

	if (seal(a, HSM_AUTH_MSG_RESET, role, id, pin, NULL, &m))
		return -1;
	return send_reset(a, sid, &m);
}

/* Change both default PINs (opens and closes one session per role). */
static int change_both(struct hsm_auth *a)
{
	uint16_t so, su;

	if (open_as(a, OFF, OFF_ID, OFF_PIN0, &so) || open_as(a, USR, USR_ID, USR_PIN0, &su))
		return -1;
	if (chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1) ||
	    chpin_as(a, su, USR, USR_ID, USR_PIN0, USR_PIN1))
		return -2;
	hsm_auth_close_session(a, so);
	hsm_auth_close_session(a, su);
	return 0;
}

/* ---- independent construction with raw OpenSSL calls ----------------- */

/*
 * Builds the message as the design document describes it, without the
 * helper: ECDH by EVP_PKEY_derive, HKDF through the EVP_PKEY HKDF
 * interface, AES-256-GCM with AAD = label || nonce as one buffer.
 */
static int raw_seal(const uint8_t *dev_der, size_t dev_len, const uint8_t *nonce,
		    const char *aad_label, const uint8_t *pt, size_t pt_len,
		    struct hsm_auth_sealed *out)
{
	const unsigned char *p = dev_der;
	EVP_PKEY *dev = d2i_PUBKEY(NULL, &p, (long)dev_len);
	EVP_PKEY *host = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY_CTX *d = NULL, *h = NULL;
	EVP_CIPHER_CTX *c = NULL;
	uint8_t z[48], okm[44], aad[64];
	size_t zlen = sizeof(z), okmlen = sizeof(okm), alen = strlen(aad_label);
	unsigned char *der = NULL;
	int n, dl, ok = 0;

	memcpy(aad, aad_label, alen);
	memcpy(aad + alen, nonce, 32);
	if (!dev || !host)
		goto out;
	d = EVP_PKEY_CTX_new(host, NULL);
	if (!d || EVP_PKEY_derive_init(d) != 1 || EVP_PKEY_derive_set_peer(d, dev) != 1 ||
	    EVP_PKEY_derive(d, z, &zlen) != 1 || zlen != 48)
		goto out;
	h = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!h || EVP_PKEY_derive_init(h) != 1 || EVP_PKEY_CTX_set_hkdf_md(h, EVP_sha384()) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_salt(h, nonce, 32) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(h, z, 48) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(h, (const unsigned char *)"azihsm credential v1",
					20) != 1 ||
	    EVP_PKEY_derive(h, okm, &okmlen) != 1 || okmlen != 44)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, okm, okm + 32) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, aad, (int)(alen + 32)) != 1 ||
	    EVP_EncryptUpdate(c, out->ct, &n, pt, (int)pt_len) != 1 ||
	    EVP_EncryptFinal_ex(c, out->ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out->tag) != 1)
		goto out;
	dl = i2d_PUBKEY(host, &der);
	if (dl <= 0 || dl > (int)sizeof(out->host_pub))
		goto out;
	memcpy(out->host_pub, der, (size_t)dl);
	out->host_pub_len = (size_t)dl;
	out->ct_len = pt_len;
	ok = 1;
out:
	OPENSSL_free(der);
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_CTX_free(h);
	EVP_PKEY_CTX_free(d);
	EVP_PKEY_free(host);
	EVP_PKEY_free(dev);
	return ok;
}

static int raw_open(struct hsm_auth *a, const char *label, uint8_t role, const uint8_t *id,
		    const uint8_t *pin, uint16_t *sid)
{
	uint8_t pub[HSM_AUTH_PUB_MAX], pt[33];
	size_t len;
	struct msg m;
	uint16_t dummy;

	if (hsm_auth_session_key(a, pub, sizeof(pub), &len, m.nonce))
		return -1;
	pt[0] = role;
	memcpy(pt + 1, id, 16);
	memcpy(pt + 17, pin, 16);
	if (!raw_seal(pub, len, m.nonce, label, pt, sizeof(pt), &m.s))
		return -2;
	return send_open(a, &m, sid ? sid : &dummy, NULL);
}

/* ---- tests ----------------------------------------------------------- */

static const enum hsm_auth_op all_ops[] = {
	HSM_OP_INFO, HSM_OP_USE_KEY, HSM_OP_SESSION_KEYS, HSM_OP_MANAGE_KEYS,
	HSM_OP_BACKUP, HSM_OP_MANAGE_USERS, HSM_OP_ZEROIZE, HSM_OP_CHANGE_OWN_PIN,
};
#define NOPS (sizeof(all_ops) / sizeof(all_ops[0]))

static void test_defaults(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	enum hsm_auth_role role = 0;
	uint16_t so = 0, su = 0;
	unsigned int i, refused = 0;

	tap_ok(a != NULL, "defaults: partition created");
	tap_ok(hsm_auth_must_change(a, OFF) && hsm_auth_must_change(a, USR),
	       "defaults: both roles must change their PIN");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &so), HSM_AUTH_OK,
	       "defaults: officer opens with the default credential");
	tap_ok(so != 0, "defaults: session id non-zero (%u)", so);
	tap_eq(hsm_auth_session_role(a, so, &role), HSM_AUTH_OK, "defaults: session known");
	tap_eq(role, OFF, "defaults: session role officer");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &su), HSM_AUTH_OK,
	       "defaults: user opens with the default credential");
	for (i = 0; i < NOPS; i++) {
		if (all_ops[i] == HSM_OP_CHANGE_OWN_PIN)
			continue;
		refused += hsm_auth_check(a, so, all_ops[i]) == HSM_AUTH_MUST_CHANGE_PIN;
		refused += hsm_auth_check(a, su, all_ops[i]) == HSM_AUTH_MUST_CHANGE_PIN;
	}
	tap_eq(refused, 2 * (NOPS - 1), "defaults: every op but ChangePin is MUST_CHANGE_PIN");
	tap_eq(hsm_auth_check(a, so, HSM_OP_CHANGE_OWN_PIN), HSM_AUTH_OK,
	       "defaults: officer may change its PIN");
	tap_eq(hsm_auth_check(a, su, HSM_OP_CHANGE_OWN_PIN), HSM_AUTH_OK,
	       "defaults: user may change its PIN");
	tap_eq(hsm_auth_check(a, so, HSM_OP_USE_KEY), HSM_AUTH_MUST_CHANGE_PIN,
	       "defaults: officer USE_KEY refused");
	hsm_auth_free(a);
}

static void test_change_pin(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint16_t so = 0, s2 = 0, su = 0;
	uint64_t g;

	open_as(a, OFF, OFF_ID, OFF_PIN0, &so);
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN0), HSM_AUTH_WEAK_PIN,
	       "chpin: new PIN = current PIN refused");
	tap_eq(chpin_as(a, so, OFF, OFF_ID, BAD_PIN, OFF_PIN1), HSM_AUTH_BAD_CREDENTIAL,
	       "chpin: wrong current PIN refused");
	tap_eq(failures(a, OFF), 1, "chpin: wrong current PIN counted");
	tap_eq(chpin_as(a, so, USR, USR_ID, USR_PIN0, USR_PIN1), HSM_AUTH_WRONG_ROLE,
	       "chpin: user credential in an officer session refused");
	tap_ok(hsm_auth_must_change(a, USR), "chpin: the user's PIN is unchanged");
	g = hsm_auth_persist_gen(a);
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), HSM_AUTH_OK,
	       "chpin: officer changes its PIN");
	tap_ok(hsm_auth_persist_gen(a) > g, "chpin: persistent part changed");
	tap_eq(failures(a, OFF), 0, "chpin: success resets the counter");
	tap_ok(!hsm_auth_must_change(a, OFF), "chpin: must-change cleared");
	tap_eq(hsm_auth_check(a, so, HSM_OP_USE_KEY), HSM_AUTH_OK,
	       "chpin: the same session may now use keys");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &s2), HSM_AUTH_BAD_CREDENTIAL,
	       "chpin: old PIN refused");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &s2), HSM_AUTH_OK, "chpin: new PIN accepted");
	tap_eq(hsm_auth_check(a, s2, HSM_OP_ZEROIZE), HSM_AUTH_OK,
	       "chpin: new session fully authorized");
	tap_eq(chpin_as(a, s2, OFF, OFF_ID, OFF_PIN1, OFF_PIN0), HSM_AUTH_WEAK_PIN,
	       "chpin: back to the default PIN refused");
	tap_eq(chpin_as(a, 0x7777, OFF, OFF_ID, OFF_PIN1, OFF_PIN0), HSM_AUTH_NO_SESSION,
	       "chpin: unknown session");
	open_as(a, USR, USR_ID, USR_PIN0, &su);
	tap_eq(hsm_auth_check(a, su, HSM_OP_USE_KEY), HSM_AUTH_MUST_CHANGE_PIN,
	       "chpin: the user still must change");
	hsm_auth_free(a);

	/* A second session opened with the default is not promoted by the change. */
	a = new_auth(&clk);
	open_as(a, OFF, OFF_ID, OFF_PIN0, &so);
	open_as(a, OFF, OFF_ID, OFF_PIN0, &s2);
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), HSM_AUTH_OK,
	       "chpin: officer changes its PIN in the first of two default sessions");
	tap_eq(hsm_auth_check(a, so, HSM_OP_ZEROIZE), HSM_AUTH_OK,
	       "chpin: the changing session is promoted");
	tap_eq(hsm_auth_check(a, s2, HSM_OP_ZEROIZE), HSM_AUTH_MUST_CHANGE_PIN,
	       "chpin: the other default session stays restricted");
	tap_eq(chpin_as(a, s2, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), HSM_AUTH_BAD_CREDENTIAL,
	       "chpin: it cannot change with the old default");
	tap_eq(chpin_as(a, s2, OFF, OFF_ID, OFF_PIN1, BAD_PIN), HSM_AUTH_OK,
	       "chpin: with the current PIN it can");
	tap_eq(hsm_auth_check(a, s2, HSM_OP_ZEROIZE), HSM_AUTH_OK,
	       "chpin: and is then promoted");
	hsm_auth_free(a);
}

static void test_lockout(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint16_t s;
	int i, ok;

	for (i = 1; i <= 3; i++) {
		tap_eq(open_as(a, USR, USR_ID, BAD_PIN, &s), HSM_AUTH_BAD_CREDENTIAL,
		       "lockout: wrong PIN %d refused", i);
		tap_eq(failures(a, USR), i, "lockout: %d failures counted", i);
	}
	tap_eq(failures(a, OFF), 0, "lockout: the officer's counter untouched");
	tap_eq(wait_of(a, USR), 1000, "lockout: after 3 failures wait 1 s");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_LOCKED_OUT,
	       "lockout: correct PIN during the wait refused");
	tap_eq(failures(a, USR), 3, "lockout: refused attempt not counted");
	advance(&clk, 999);
	tap_eq(open_as(a, USR, USR_ID, BAD_PIN, &s), HSM_AUTH_LOCKED_OUT,
	       "lockout: wrong PIN 1 ms before the end refused unchecked");
	tap_eq(failures(a, USR), 3, "lockout: still 3 failures");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &s), HSM_AUTH_OK,
	       "lockout: the other role is not locked");
	hsm_auth_close_session(a, s);
	advance(&clk, 1);
	tap_eq(open_as(a, USR, USR_ID, BAD_PIN, &s), HSM_AUTH_BAD_CREDENTIAL,
	       "lockout: wrong PIN after the wait checked");
	tap_eq(failures(a, USR), 4, "lockout: 4 failures");
	tap_eq(wait_of(a, USR), 2000, "lockout: after 4 failures wait 2 s");
	advance(&clk, 1999);
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_LOCKED_OUT,
	       "lockout: 1 ms early refused");
	advance(&clk, 1);
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_OK,
	       "lockout: correct PIN after the wait accepted");
	tap_eq(failures(a, USR), 0, "lockout: success resets the counter");
	tap_eq(wait_of(a, USR), 0, "lockout: no wait after success");
	hsm_auth_close_session(a, s);

	/* Growth: 2^(f-3) s up to the user's permanent lock (issue 9). */
	ok = 1;
	for (i = 1; i < (int)HSM_AUTH_MAX_FAILURES; i++) {
		uint64_t want = i < 3 ? 0 : (1ull << (i - 3)) * 1000;

		advance(&clk, wait_of(a, USR));
		if (open_as(a, USR, USR_ID, BAD_PIN, &s) != HSM_AUTH_BAD_CREDENTIAL ||
		    wait_of(a, USR) != want) {
			ok = 0;
			printf("# failure %d: wait %llu want %llu\n", i,
			       (unsigned long long)wait_of(a, USR), (unsigned long long)want);
		}
	}
	tap_ok(ok, "lockout: waits 0,0,1,2,4,..,64 s for 9 failures");

	/* The real-time clock set back restarts the wait, never shortens it. */
	clk.real -= 10 * 3600000ull;
	tap_eq(wait_of(a, USR), 64000, "lockout: clock set back: full wait again");
	advance(&clk, 64000);
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_OK,
	       "lockout: after the restarted wait the PIN works");
	hsm_auth_close_session(a, s);
	hsm_auth_free(a);
}

/* Make @n wrong-PIN attempts for @role, waiting out each delay. */
static int fail_n(struct hsm_auth *a, struct fake_clock *clk, uint8_t role, const uint8_t *id,
		  unsigned int n)
{
	unsigned int i, bad = 0;
	uint16_t s;

	for (i = 0; i < n; i++) {
		advance(clk, wait_of(a, role));
		bad += open_as(a, role, id, BAD_PIN, &s) == HSM_AUTH_BAD_CREDENTIAL;
	}
	return (int)bad;
}

/* issue 9: after HSM_AUTH_MAX_FAILURES the user is locked for good (not the officer). */
static void test_permanent_lock(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	struct hsm_auth *b;
	uint16_t so = 0, su = 0, s;
	uint8_t *img;
	size_t len;
	uint64_t g;

	/* The attack: guess the user's PIN until locked. */
	open_as(a, USR, USR_ID, USR_PIN0, &su);
	tap_eq(fail_n(a, &clk, USR, USR_ID, HSM_AUTH_MAX_FAILURES), HSM_AUTH_MAX_FAILURES,
	       "issue 9: %u wrong PINs checked and counted", HSM_AUTH_MAX_FAILURES);
	tap_ok(wait_of(a, USR) == UINT64_MAX, "issue 9: the user is locked for good");
	advance(&clk, 24 * 3600000ull);
	g = hsm_auth_persist_gen(a);
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_PIN_LOCKED,
	       "issue 9: the right PIN a day later: PIN_LOCKED");
	tap_eq(open_as(a, USR, USR_ID, BAD_PIN, &s), HSM_AUTH_PIN_LOCKED,
	       "issue 9: a wrong PIN: PIN_LOCKED, not checked");
	tap_eq(chpin_as(a, su, USR, USR_ID, USR_PIN0, USR_PIN1), HSM_AUTH_PIN_LOCKED,
	       "issue 9: ChangePin in a session opened before: PIN_LOCKED");
	tap_eq(failures(a, USR), HSM_AUTH_MAX_FAILURES, "issue 9: nothing more counted");
	tap_eq(hsm_auth_persist_gen(a), g, "issue 9: persistent part untouched by refusals");
	tap_eq(hsm_auth_check(a, su, HSM_OP_CHANGE_OWN_PIN), HSM_AUTH_OK,
	       "the session opened before the lock stays open");

	/* A restart keeps the lock (the counter is in the image). */
	hsm_auth_close_session(a, su);
	hsm_auth_serialize(a, &img, &len);
	b = new_auth(&clk);
	tap_eq(hsm_auth_deserialize(b, img, len), HSM_AUTH_OK, "issue 9: image reloaded");
	tap_eq(open_as(b, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_PIN_LOCKED,
	       "issue 9: still PIN_LOCKED after a restart");
	hsm_auth_image_free(img, len);

	/* The legitimate way back: the officer's UnlockUser. */
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN0, &so), HSM_AUTH_OK, "officer opens");
	tap_eq(chpin_as(b, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), HSM_AUTH_OK,
	       "officer leaves its default");
	tap_eq(hsm_auth_unlock_user(b, so), HSM_AUTH_OK, "issue 9: UnlockUser");
	tap_eq(open_as(b, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_OK,
	       "issue 9: the user opens again after UnlockUser");
	hsm_auth_close_session(b, s);
	/* ResetUserCredential unlocks too. */
	fail_n(b, &clk, USR, USR_ID, HSM_AUTH_MAX_FAILURES);
	tap_eq(open_as(b, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_PIN_LOCKED, "user locked again");
	tap_eq(reset_as(b, so, USR, USR_ID, USR_PIN1), HSM_AUTH_OK,
	       "issue 9: ResetUserCredential of a locked user");
	tap_eq(open_as(b, USR, USR_ID, USR_PIN1, &s), HSM_AUTH_OK,
	       "issue 9: the reset credential opens");
	hsm_auth_close_session(b, s);

	/*
	 * The officer: never locked for good (issue 9, RT-5: nobody could
	 * unlock it); the wait grows, capped at HSM_AUTH_DELAY_MAX_S.
	 */
	tap_eq(fail_n(b, &clk, OFF, OFF_ID, HSM_AUTH_MAX_FAILURES), HSM_AUTH_MAX_FAILURES,
	       "issue 9: %u wrong officer PINs", HSM_AUTH_MAX_FAILURES);
	tap_ok(wait_of(b, OFF) != UINT64_MAX && wait_of(b, OFF) > 0,
	       "issue 9 (RT-5): the officer waits, not locked for good");
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_LOCKED_OUT,
	       "issue 9 (RT-5): the right officer PIN during the wait: LOCKED_OUT");
	tap_eq(fail_n(b, &clk, OFF, OFF_ID, 20), 20, "issue 9 (RT-5): 20 more wrong officer PINs");
	tap_eq(wait_of(b, OFF), (uint64_t)HSM_AUTH_DELAY_MAX_S * 1000,
	       "issue 9 (RT-5): the officer's wait is capped at one hour");
	advance(&clk, (uint64_t)HSM_AUTH_DELAY_MAX_S * 1000 - 1);
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_LOCKED_OUT,
	       "issue 9 (RT-5): 1 ms before the hour: LOCKED_OUT");
	advance(&clk, 1);
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_OK,
	       "issue 9 (RT-5): after the hour the officer's right PIN opens");
	tap_eq(failures(b, OFF), 0, "issue 9 (RT-5): and resets the officer's counter");
	hsm_auth_close_session(b, s);
	tap_eq(hsm_auth_zeroize(b, NULL, NULL), HSM_AUTH_OK, "zeroize");
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN0, &s), HSM_AUTH_OK,
	       "issue 9: after a zeroize the officer opens with the default");
	tap_ok(strstr(hsm_auth_strerror(HSM_AUTH_PIN_LOCKED), "locked") != NULL,
	       "strerror of PIN_LOCKED");
	hsm_auth_free(b);
	hsm_auth_free(a);
}

/*
 * issue 9 (red team RT-4): nobody fills the session table to keep the
 * officer out; RT-5: nobody locks the officer for good with wrong PINs.
 * The attack first, then the officer still logs in.
 */
static void test_rt4_rt5(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint16_t s[HSM_AUTH_MAX_SESSIONS + 1], x, so;
	unsigned int i, n;
	uint64_t g;

	/* Fresh partition: anyone knows the user's default PIN. */
	for (i = 0, n = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		n += open_as(a, USR, USR_ID, USR_PIN0, &s[i]) == HSM_AUTH_OK;
	tap_eq(n, HSM_AUTH_RESTRICTED_MAX,
	       "issue 9 (red team RT-4): only 2 restricted sessions with the user's default PIN");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &x), HSM_AUTH_SESSIONS_FULL,
	       "issue 9 (red team RT-4): a third restricted user login: SESSIONS_FULL");
	g = hsm_auth_persist_gen(a);
	tap_eq(open_as(a, USR, USR_ID, BAD_PIN, &x), HSM_AUTH_SESSIONS_FULL,
	       "issue 9 (red team RT-4): ... refused before the PIN check");
	tap_ok(failures(a, USR) == 0 && hsm_auth_persist_gen(a) == g,
	       "issue 9 (red team RT-4): ... and not counted");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &so), HSM_AUTH_OK,
	       "issue 9 (red team RT-4): the officer still logs in (default PIN)");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &x), HSM_AUTH_OK,
	       "issue 9 (red team RT-4): a second restricted officer session is allowed");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &x), HSM_AUTH_SESSIONS_FULL,
	       "issue 9 (red team RT-4): a third restricted officer session: SESSIONS_FULL");
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), HSM_AUTH_OK,
	       "issue 9 (red team RT-4): the officer changes its PIN");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &x), HSM_AUTH_OK,
	       "issue 9 (red team RT-4): then opens unrestricted sessions");
	tap_eq(hsm_auth_zeroize(a, NULL, NULL), HSM_AUTH_OK, "RT-4: zeroize");

	/* The user (changed PIN) takes every slot it can. */
	tap_eq(change_both(a), 0, "RT-4: both PINs changed");
	for (i = 0, n = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		n += open_as(a, USR, USR_ID, USR_PIN1, &s[i]) == HSM_AUTH_OK;
	tap_eq(n, HSM_AUTH_MAX_SESSIONS - HSM_AUTH_OFFICER_SLOTS,
	       "issue 9 (red team RT-4): the user gets 7 sessions, not 8");
	tap_eq(open_as(a, USR, USR_ID, BAD_PIN, &x), HSM_AUTH_SESSIONS_FULL,
	       "issue 9 (red team RT-4): the last slot refused to the user, before the PIN check");
	tap_eq(failures(a, USR), 0, "issue 9 (red team RT-4): ... not counted");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &so), HSM_AUTH_OK,
	       "issue 9 (red team RT-4): the officer still logs in while the user holds 7");
	tap_eq(hsm_auth_check(a, so, HSM_OP_ZEROIZE), HSM_AUTH_OK,
	       "issue 9 (red team RT-4): ... and may zeroize");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &x), HSM_AUTH_SESSIONS_FULL,
	       "RT-4: with all 8 taken even the officer: SESSIONS_FULL");
	hsm_auth_reset(a, NULL, NULL);

	/* RT-5: wrong officer PINs, no session needed. */
	tap_eq(fail_n(a, &clk, OFF, OFF_ID, 3 * HSM_AUTH_MAX_FAILURES),
	       3 * HSM_AUTH_MAX_FAILURES,
	       "issue 9 (red team RT-5): 30 wrong officer PINs, each checked and counted");
	tap_eq(wait_of(a, OFF), (uint64_t)HSM_AUTH_DELAY_MAX_S * 1000,
	       "issue 9 (red team RT-5): the officer waits at most an hour, not for good");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &x), HSM_AUTH_LOCKED_OUT,
	       "issue 9 (red team RT-5): the right PIN during the wait: LOCKED_OUT");
	advance(&clk, (uint64_t)HSM_AUTH_DELAY_MAX_S * 1000);
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &so), HSM_AUTH_OK,
	       "issue 9 (red team RT-5): an hour later the officer logs in");
	tap_eq(failures(a, OFF), 0, "issue 9 (red team RT-5): ... and its counter is reset");
	/* The user is still locked for good, until the officer unlocks it. */
	fail_n(a, &clk, USR, USR_ID, HSM_AUTH_MAX_FAILURES);
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, &x), HSM_AUTH_PIN_LOCKED,
	       "issue 9 (red team RT-5): the user's lock stays permanent");
	tap_eq(hsm_auth_unlock_user(a, so), HSM_AUTH_OK, "RT-5: the officer unlocks the user");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, &x), HSM_AUTH_OK, "RT-5: the user opens again");
	hsm_auth_free(a);
}

/* issue 9: the PIN policy for new PINs. */
static void test_pin_policy(void)
{
	static const struct {
		const char *pin;	/* padded with zero bytes to 16 */
		bool weak;
		const char *why;
	} cases[] = {
		{ "", true, "empty" },
		{ "Tr0ub4d", true, "7 bytes" },
		{ "aaaaaaaa", true, "one byte repeated" },
		{ "0000000000000000", true, "16 zeros (ASCII)" },
		{ "12345678", true, "ascending run" },
		{ "abcdefghijklmnop", true, "ascending run of 16" },
		{ "87654321", true, "descending run" },
		{ HSM_AUTH_DEFAULT_OFFICER_PIN, true, "the officer's default PIN" },
		{ HSM_AUTH_DEFAULT_USER_PIN, true, "the user's default PIN" },
		{ "azihsm-officer", true, "the officer's default id" },
		{ "azihsm-user", true, "the user's default id" },
		{ "my-own-id-name", true, "the credential's id" },
		{ "Tr0ub4d&", false, "8 mixed bytes" },
		{ "12345679", false, "a run broken at the end" },
		{ "officer new PIN!", false, "a 16-byte passphrase" },
		{ "aaaaaaab", false, "not all one byte" },
	};
	static const uint8_t inner_zero[16] = { 'a', 'b', 0, 'x', 'y', 'z', '9', '8', '!' };
	uint8_t pin[16], id[16] = "my-own-id-name";
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a;
	unsigned int i, ok = 0;
	uint16_t so = 0, su = 0, s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(pin, 0, sizeof(pin));
		memcpy(pin, cases[i].pin, strlen(cases[i].pin));
		if (!tap_eq(hsm_auth_pin_weak(pin, id), cases[i].weak, "issue 9: PIN policy: %s %s",
			    cases[i].why, cases[i].weak ? "weak" : "accepted"))
			continue;
		ok++;
	}
	tap_ok(!hsm_auth_pin_weak(inner_zero, id),
	       "issue 9: PIN policy: a zero byte inside the PIN is not padding");

	a = new_auth(&clk);
	open_as(a, OFF, OFF_ID, OFF_PIN0, &so);
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, (const uint8_t *)"11111111\0\0\0\0\0\0\0"),
	       HSM_AUTH_WEAK_PIN, "issue 9: ChangePin to a trivial PIN: WEAK_PIN");
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, (const uint8_t *)"short\0\0\0\0\0\0\0\0\0\0"),
	       HSM_AUTH_WEAK_PIN, "issue 9: ChangePin to a 5-byte PIN: WEAK_PIN");
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_ID), HSM_AUTH_WEAK_PIN,
	       "issue 9: ChangePin to the role's id: WEAK_PIN");
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, USR_PIN0), HSM_AUTH_WEAK_PIN,
	       "issue 9: ChangePin to the other role's default: WEAK_PIN");
	tap_eq(failures(a, OFF), 0, "issue 9: a weak new PIN is not a PIN failure");
	tap_ok(hsm_auth_must_change(a, OFF), "issue 9: nothing changed by the refusals");
	tap_eq(chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1), HSM_AUTH_OK,
	       "ChangePin to a PIN that passes");
	tap_eq(reset_as(a, so, USR, id, (const uint8_t *)"zyxwvuts\0\0\0\0\0\0\0\0"),
	       HSM_AUTH_WEAK_PIN, "issue 9: ResetUserCredential to a descending run: WEAK_PIN");
	tap_eq(reset_as(a, so, USR, id, id), HSM_AUTH_WEAK_PIN,
	       "issue 9: ResetUserCredential to the new id as PIN: WEAK_PIN");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN0, &su), HSM_AUTH_OK,
	       "issue 9: the refused resets changed nothing");
	hsm_auth_close_session(a, su);
	tap_eq(reset_as(a, so, USR, id, USR_PIN1), HSM_AUTH_OK,
	       "ResetUserCredential to a PIN that passes");
	tap_eq(open_as(a, USR, id, USR_PIN1, &s), HSM_AUTH_OK, "the new credential opens");
	hsm_auth_free(a);
}

/* ChangePin is a PIN attempt too: same lockout, same counting. */
static void test_chpin_lockout(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint16_t su = 0, s;
	uint64_t g;
	int i;

	open_as(a, USR, USR_ID, USR_PIN0, &su);
	for (i = 0; i < 3; i++) {
		g = hsm_auth_persist_gen(a);
		open_as(a, USR, USR_ID, BAD_PIN, &s);
		tap_ok(hsm_auth_persist_gen(a) > g, "chpin lockout: failure %d bumps persist gen",
		       i + 1);
	}
	g = hsm_auth_persist_gen(a);
	tap_eq(chpin_as(a, su, USR, USR_ID, USR_PIN0, USR_PIN1), HSM_AUTH_LOCKED_OUT,
	       "chpin lockout: ChangePin during the wait refused");
	tap_eq(failures(a, USR), 3, "chpin lockout: not counted");
	tap_eq(hsm_auth_persist_gen(a), g, "chpin lockout: persistent part untouched");
	advance(&clk, 1000);
	tap_eq(chpin_as(a, su, USR, USR_ID, BAD_PIN, USR_PIN1), HSM_AUTH_BAD_CREDENTIAL,
	       "chpin lockout: wrong current PIN after the wait counted");
	tap_eq(failures(a, USR), 4, "chpin lockout: 4 failures");
	advance(&clk, 2000);
	tap_eq(chpin_as(a, su, USR, USR_ID, USR_PIN0, USR_PIN1), HSM_AUTH_OK,
	       "chpin lockout: right PIN after the wait changes it");
	tap_eq(failures(a, USR), 0, "chpin lockout: counter reset");
	tap_ok(hsm_auth_persist_gen(a) > g, "chpin lockout: persist gen bumped");
	hsm_auth_free(a);
}

static void test_restart(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk), *b;
	uint8_t *img = NULL;
	size_t len = 0;
	uint16_t s, so;
	int i;

	tap_eq(change_both(a), 0, "restart: both PINs changed");
	for (i = 0; i < 4; i++) {
		advance(&clk, wait_of(a, OFF));
		open_as(a, OFF, OFF_ID, BAD_PIN, &s);
	}
	tap_eq(failures(a, OFF), 4, "restart: officer has 4 failures");
	advance(&clk, 500);
	tap_eq(hsm_auth_serialize(a, &img, &len), HSM_AUTH_OK, "restart: serialize");
	tap_eq(len, 178, "restart: image is 178 bytes");
	hsm_auth_free(a);

	clk.mono = 5;	/* a new boot: the monotonic clock starts over */
	b = new_auth(&clk);
	tap_eq(hsm_auth_deserialize(b, img, len), HSM_AUTH_OK, "restart: deserialize");
	tap_eq(failures(b, OFF), 4, "restart: 4 failures survive");
	tap_eq(wait_of(b, OFF), 1500, "restart: the wait goes on from the last failure");
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_LOCKED_OUT,
	       "restart: still locked out");
	tap_ok(!hsm_auth_must_change(b, OFF) && !hsm_auth_must_change(b, USR),
	       "restart: must-change flags survive");
	tap_eq(open_as(b, USR, USR_ID, USR_PIN0, &s), HSM_AUTH_BAD_CREDENTIAL,
	       "restart: old user PIN refused");
	tap_eq(open_as(b, USR, USR_ID, USR_PIN1, &s), HSM_AUTH_OK,
	       "restart: changed user PIN survives");
	tap_eq(hsm_auth_deserialize(b, img, len), HSM_AUTH_BUSY,
	       "restart: deserialize with a session open refused");
	advance(&clk, 1500);
	tap_eq(open_as(b, OFF, OFF_ID, OFF_PIN1, &so), HSM_AUTH_OK,
	       "restart: after the wait the officer opens");
	tap_eq(failures(b, OFF), 0, "restart: counter reset");
	hsm_auth_image_free(img, len);
	hsm_auth_free(b);
}

static void test_sessions(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint16_t ids[HSM_AUTH_MAX_SESSIONS], s = 0, gone[HSM_AUTH_MAX_GONE], app;
	unsigned int i, j, n = 99;
	int ok = 1, distinct = 1;

	/*
	 * Changed PINs (at most HSM_AUTH_RESTRICTED_MAX restricted sessions
	 * per role), the last slot the officer's (issue 9, RT-4).
	 */
	tap_eq(change_both(a), 0, "sessions: both PINs changed");
	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++) {
		bool u = (i & 1) && i < HSM_AUTH_MAX_SESSIONS - 1;

		ok &= open_as(a, u ? USR : OFF, u ? USR_ID : OFF_ID, u ? USR_PIN1 : OFF_PIN1,
			      &ids[i]) == HSM_AUTH_OK;
		for (j = 0; j < i; j++)
			distinct &= ids[i] != ids[j] && ids[i];
	}
	tap_ok(ok, "sessions: 8 sessions open");
	tap_ok(distinct, "sessions: 8 distinct non-zero ids");
	tap_eq(hsm_auth_session_count(a), 8, "sessions: count 8");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_SESSIONS_FULL,
	       "sessions: 9th refused");
	tap_eq(open_as(a, OFF, OFF_ID, BAD_PIN, &s), HSM_AUTH_SESSIONS_FULL,
	       "sessions: 9th with a wrong PIN refused before the PIN check");
	tap_eq(failures(a, OFF), 0, "sessions: ... and not counted");
	tap_eq(hsm_auth_close_session(a, ids[3]), HSM_AUTH_OK, "sessions: close one");
	tap_eq(hsm_auth_close_session(a, ids[3]), HSM_AUTH_NO_SESSION,
	       "sessions: closing it again: no session");
	tap_eq(hsm_auth_check(a, ids[3], HSM_OP_CHANGE_OWN_PIN), HSM_AUTH_NO_SESSION,
	       "sessions: closed id no longer authorized");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_OK,
	       "sessions: a slot is free again");
	ok = s != 0;
	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		ok &= i == 3 || s != ids[i];
	tap_ok(ok, "sessions: the new id is none of the live ones (%u)", s);
	app = 0;
	tap_eq(hsm_auth_session_app_id(a, ids[5], &app), HSM_AUTH_OK, "sessions: its short_app_id");
	tap_eq(hsm_auth_flush(a, ids[5], (uint16_t)(app ^ 1)), HSM_AUTH_NO_SESSION,
	       "issue 9: sessions: a flush with another short_app_id is refused");
	tap_eq(hsm_auth_flush(a, ids[5], 0), HSM_AUTH_NO_SESSION,
	       "issue 9: sessions: ... also with short_app_id 0");
	tap_eq(hsm_auth_check(a, ids[5], HSM_OP_CHANGE_OWN_PIN), HSM_AUTH_OK,
	       "issue 9: sessions: and the session stays open");
	tap_eq(hsm_auth_session_held(a, ids[5], app, NULL), HSM_AUTH_OK,
	       "sessions: held with its short_app_id");
	tap_eq(hsm_auth_session_held(a, ids[5], (uint16_t)(app + 1), NULL), HSM_AUTH_NO_SESSION,
	       "issue 9: sessions: not held with another: NO_SESSION");
	tap_eq(hsm_auth_flush(a, ids[5], app), HSM_AUTH_OK, "sessions: flush by its holder");
	tap_eq(hsm_auth_check(a, ids[5], HSM_OP_CHANGE_OWN_PIN), HSM_AUTH_NO_SESSION,
	       "sessions: flushed session gone");
	tap_eq(hsm_auth_session_count(a), 7, "sessions: count 7 after flush");
	tap_eq(hsm_auth_flush(a, ids[5], app), HSM_AUTH_NO_SESSION, "sessions: flush again");
	tap_eq(hsm_auth_flush(a, 0, 0), HSM_AUTH_NO_SESSION, "sessions: id 0 is never a session");
	tap_eq(hsm_auth_reset(a, gone, &n), HSM_AUTH_OK, "sessions: reset");
	tap_eq(n, 7, "sessions: reset reports 7 sessions gone");
	ok = 1;
	for (i = 0; i < n; i++)
		ok &= gone[i] != 0 && gone[i] != ids[3] && gone[i] != ids[5];
	tap_ok(ok, "sessions: reported ids are the live ones");
	tap_eq(hsm_auth_session_count(a), 0, "sessions: none after reset");
	hsm_auth_free(a);
}

/* issue 9: session ids and short_app_ids are random, not a counter. */
static void test_session_ids(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	enum { N = 200 };
	uint16_t sid[N], app[N], k1 = 0, k2 = 0, ka = 0, kb = 0;
	unsigned int i, j, next = 0, same_app = 0, dup = 0;
	int ok = 1;
	enum hsm_auth_role role;

	for (i = 0; i < N; i++) {
		sid[i] = app[i] = 0;
		ok &= open_as(a, OFF, OFF_ID, OFF_PIN0, &sid[i]) == HSM_AUTH_OK &&
		      hsm_auth_session_app_id(a, sid[i], &app[i]) == HSM_AUTH_OK &&
		      sid[i] && app[i];
		hsm_auth_close_session(a, sid[i]);
	}
	tap_ok(ok, "issue 9: ids: %d sessions, each with a non-zero id and short_app_id", N);
	for (i = 1; i < N; i++) {
		next += sid[i] == (uint16_t)(sid[i - 1] + 1);
		same_app += app[i] == app[i - 1];
		for (j = 0; j < i; j++)
			dup += sid[i] == sid[j];
	}
	/* A counter gives N - 1 successors; random ids about N / 65536. */
	tap_ok(next <= 2, "issue 9: ids are not sequential (%u successors in %d)", next, N);
	tap_ok(same_app <= 2, "issue 9: short_app_ids differ between sessions (%u)", same_app);
	/* Birthday bound: about N^2 / 2^17 = 0.3 repeats expected. */
	tap_ok(dup <= 5, "issue 9: ids spread over the 16-bit space (%u repeats)", dup);

	/* The kernel session: once, until something closes it. */
	tap_eq(hsm_auth_open_kernel(a, &k1, &ka), HSM_AUTH_OK, "kernel: open");
	tap_ok(k1 && ka, "kernel: a non-zero id and short_app_id");
	tap_eq(hsm_auth_open_kernel(a, &k2, &kb), HSM_AUTH_KERNEL_OPEN,
	       "issue 9: kernel: a second open is KERNEL_OPEN");
	tap_ok(!k2 && !kb && hsm_auth_session_held(a, k1, ka, &role) == HSM_AUTH_OK &&
	       role == HSM_ROLE_KERNEL, "issue 9: kernel: ... and the first is untouched");
	tap_eq(hsm_auth_close_kernel(a), k1, "kernel: a controller reset closes it");
	tap_eq(hsm_auth_close_kernel(a), 0, "kernel: closing none: 0");
	tap_eq(hsm_auth_open_kernel(a, &k2, &kb), HSM_AUTH_OK, "kernel: then an open succeeds");
	tap_eq(hsm_auth_flush(a, k2, (uint16_t)(kb ^ 0x100)), HSM_AUTH_NO_SESSION,
	       "issue 9: kernel: a flush with another short_app_id is refused");
	tap_eq(hsm_auth_flush(a, k2, kb), HSM_AUTH_OK, "kernel: its holder's flush closes it");
	tap_eq(hsm_auth_open_kernel(a, &k1, &ka), HSM_AUTH_OK, "kernel: and the next open works");
	tap_eq(hsm_auth_zeroize(a, NULL, NULL), HSM_AUTH_OK, "kernel: zeroize");
	tap_eq(hsm_auth_open_kernel(a, &k2, &kb), HSM_AUTH_OK,
	       "kernel: after a zeroize an open succeeds");
	hsm_auth_free(a);
}

static void test_nonces(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	struct msg m, m2, first;
	uint8_t pub[HSM_AUTH_PUB_MAX], pub2[HSM_AUTH_PUB_MAX], nonce[32];
	size_t len, len2;
	uint16_t s;
	int i;

	tap_eq(seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m), 0, "nonce: sealed");
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_OK, "nonce: open");
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_NONCE, "nonce: replayed message refused");
	tap_eq(hsm_auth_session_count(a), 1, "nonce: replay opened nothing");

	/* Sealed to a nonce never issued. */
	hsm_auth_session_key(a, pub, sizeof(pub), &len, nonce);
	RAND_bytes(nonce, sizeof(nonce));
	hsm_auth_client_seal(pub, len, nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL,
			     &m.s);
	memcpy(m.nonce, nonce, sizeof(nonce));
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_NONCE, "nonce: unknown nonce refused");

	/* Expired. */
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m2);
	advance(&clk, HSM_AUTH_NONCE_TTL_MS - 1);
	tap_eq(send_open(a, &m2, &s, NULL), HSM_AUTH_OK, "nonce: 1 ms before expiry accepted");
	hsm_auth_close_session(a, s);	/* restricted: at most 2 (RT-4) */
	advance(&clk, 1);
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_NONCE, "nonce: expired nonce refused");

	/* Table overflow: the oldest is forgotten. */
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &first);
	advance(&clk, 1);
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m2);
	for (i = 0; i < HSM_AUTH_NONCES - 1; i++) {
		advance(&clk, 1);
		hsm_auth_session_key(a, pub2, sizeof(pub2), &len2, nonce);
	}
	tap_eq(send_open(a, &first, &s, NULL), HSM_AUTH_BAD_NONCE,
	       "nonce: 17th nonce evicted the oldest");
	tap_eq(send_open(a, &m2, &s, NULL), HSM_AUTH_OK, "nonce: the second oldest still works");
	hsm_auth_close_session(a, s);	/* restricted: at most 2 (RT-4) */

	/*
	 * issue 9: one nonce table per queue. The victim takes a nonce on
	 * queue 2; a flood on queue 1 evicts only queue 1's nonces.
	 */
	hsm_auth_session_key_q(a, 2, pub2, sizeof(pub2), &len2, m2.nonce);
	hsm_auth_client_seal(pub2, len2, m2.nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL,
			     &m2.s);
	hsm_auth_session_key_q(a, 1, pub2, sizeof(pub2), &len2, first.nonce);
	hsm_auth_client_seal(pub2, len2, first.nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0,
			     NULL, &first.s);
	for (i = 0; i < 10 * HSM_AUTH_NONCES; i++) {
		advance(&clk, 1);
		hsm_auth_session_key_q(a, 1, pub2, sizeof(pub2), &len2, nonce);
	}
	tap_eq(send_open(a, &first, &s, NULL), HSM_AUTH_BAD_NONCE,
	       "issue 9: a flood on queue 1 evicts queue 1's nonces");
	tap_eq(send_open(a, &m2, &s, NULL), HSM_AUTH_OK,
	       "issue 9: ... and not queue 2's: its nonce still opens");
	hsm_auth_close_session(a, s);	/* restricted: at most 2 (RT-4) */
	hsm_auth_session_key_q(a, 15, pub2, sizeof(pub2), &len2, m2.nonce);
	hsm_auth_client_seal(pub2, len2, m2.nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL,
			     &m2.s);
	tap_eq(send_open(a, &m2, &s, NULL), HSM_AUTH_OK,
	       "a nonce from queue 15 is taken whatever queue the message comes on");
	hsm_auth_close_session(a, s);	/* restricted: at most 2 (RT-4) */
	tap_eq(hsm_auth_session_key_q(a, HSM_AUTH_NONCE_QUEUES, pub2, sizeof(pub2), &len2, nonce),
	       HSM_AUTH_INVALID_ARG, "issue 9: a queue past the tables: INVALID_ARG");
	hsm_auth_reset(a, NULL, NULL);	/* close the sessions opened here */

	/* A reset makes a new device key and forgets the nonces. */
	hsm_auth_session_key(a, pub, sizeof(pub), &len, nonce);
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	hsm_auth_reset(a, NULL, NULL);
	hsm_auth_session_key(a, pub2, sizeof(pub2), &len2, nonce);
	tap_ok(len2 != len || memcmp(pub, pub2, len), "nonce: reset regenerated the device key");
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_NONCE,
	       "nonce: message from before the reset refused");
	tap_eq(hsm_auth_session_key(a, pub2, 10, &len2, nonce), HSM_AUTH_BUFFER_SMALL,
	       "nonce: small key buffer");
	tap_eq(len2, 120, "nonce: P-384 SPKI is 120 bytes");
	hsm_auth_free(a);
}

static void test_tamper(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	struct msg m, other;
	EVP_PKEY *p256;
	unsigned char *der = NULL;
	uint16_t s;
	int dl;

	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	m.s.ct[20] ^= 0x04;
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_MESSAGE, "tamper: ciphertext bit");
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	m.s.tag[15] ^= 0x80;
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_MESSAGE, "tamper: tag bit");
	tap_eq(raw_open(a, "azihsm-chpin", OFF, OFF_ID, OFF_PIN0, NULL), HSM_AUTH_BAD_MESSAGE,
	       "tamper: AAD label of ChangePin in an open message");
	tap_eq(raw_open(a, "azihsm-opem", OFF, OFF_ID, OFF_PIN0, NULL), HSM_AUTH_BAD_MESSAGE,
	       "tamper: AAD label altered");
	/* Nonce in the AAD: seal under one nonce, send with another outstanding one. */
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &other);
	memcpy(m.nonce, other.nonce, sizeof(m.nonce));
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_MESSAGE,
	       "tamper: message moved to another outstanding nonce");
	/* Another valid host key: ECDH gives another key. */
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &other);
	memcpy(m.s.host_pub, other.s.host_pub, other.s.host_pub_len);
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_MESSAGE, "tamper: host key swapped");
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	m.s.host_pub[m.s.host_pub_len - 1] ^= 0x01;
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_PEER, "tamper: host point off the curve");
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	m.s.host_pub_len--;
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_PEER, "tamper: host key truncated");
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	dl = i2d_PUBKEY(p256, &der);
	memcpy(m.s.host_pub, der, (size_t)dl);
	m.s.host_pub_len = (size_t)dl;
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_PEER, "tamper: P-256 host key");
	OPENSSL_free(der);
	EVP_PKEY_free(p256);
	seal(a, HSM_AUTH_MSG_OPEN, OFF, OFF_ID, OFF_PIN0, NULL, &m);
	tap_eq(hsm_auth_open_session(a, m.s.host_pub, m.s.host_pub_len, m.nonce, m.s.ct, 32,
				     m.s.tag, &s, NULL),
	       HSM_AUTH_INVALID_ARG, "tamper: short ciphertext");
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_OK,
	       "tamper: a wrong length does not consume the nonce");
	tap_eq(failures(a, OFF), 0, "tamper: no refused message counted as a PIN attempt");
	tap_eq(hsm_auth_session_count(a), 1, "tamper: only the intact message opened");
	hsm_auth_free(a);
}

static void test_roles(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	static const int want_user[] = {
		[HSM_OP_INFO] = HSM_AUTH_OK,
		[HSM_OP_USE_KEY] = HSM_AUTH_OK,
		[HSM_OP_SESSION_KEYS] = HSM_AUTH_OK,
		[HSM_OP_MANAGE_KEYS] = HSM_AUTH_WRONG_ROLE,
		[HSM_OP_BACKUP] = HSM_AUTH_WRONG_ROLE,
		[HSM_OP_MANAGE_USERS] = HSM_AUTH_WRONG_ROLE,
		[HSM_OP_ZEROIZE] = HSM_AUTH_WRONG_ROLE,
		[HSM_OP_CHANGE_OWN_PIN] = HSM_AUTH_OK,
	};
	uint16_t so, su;
	unsigned int i;

	tap_eq(open_as(a, USR, OFF_ID, OFF_PIN0, &su), HSM_AUTH_BAD_CREDENTIAL,
	       "roles: officer credential under the user role refused");
	tap_eq(failures(a, USR), 1, "roles: counted against the user role");
	tap_eq(failures(a, OFF), 0, "roles: not against the officer");
	tap_eq(open_as(a, OFF, USR_ID, USR_PIN0, &so), HSM_AUTH_BAD_CREDENTIAL,
	       "roles: user credential under the officer role refused");
	tap_eq(open_as(a, OFF, USR_ID, OFF_PIN0, &so), HSM_AUTH_BAD_CREDENTIAL,
	       "roles: officer PIN with the user id refused");
	tap_eq(raw_open(a, HSM_AUTH_AAD_OPEN, 3, OFF_ID, OFF_PIN0, NULL), HSM_AUTH_BAD_MESSAGE,
	       "roles: role byte 3 refused");
	tap_eq(raw_open(a, HSM_AUTH_AAD_OPEN, 0, OFF_ID, OFF_PIN0, NULL), HSM_AUTH_BAD_MESSAGE,
	       "roles: role byte 0 refused");
	tap_eq(change_both(a), 0, "roles: both PINs changed");
	open_as(a, OFF, OFF_ID, OFF_PIN1, &so);
	open_as(a, USR, USR_ID, USR_PIN1, &su);
	for (i = 0; i < NOPS; i++) {
		enum hsm_auth_op op = all_ops[i];

		tap_eq(hsm_auth_check(a, so, op), HSM_AUTH_OK, "roles: officer may do op %d", op);
		tap_eq(hsm_auth_check(a, su, op), want_user[op], "roles: user op %d -> %s", op,
		       hsm_auth_strerror(want_user[op]));
	}
	tap_eq(hsm_auth_check(a, so, 0), HSM_AUTH_INVALID_ARG, "roles: op 0 unknown");
	tap_eq(hsm_auth_check(a, so, 99), HSM_AUTH_INVALID_ARG, "roles: op 99 unknown");
	tap_eq(hsm_auth_check(a, 0x4242, HSM_OP_INFO), HSM_AUTH_NO_SESSION, "roles: no session");
	hsm_auth_free(a);
}

/* The message format, built without the helper, opens a session. */
static void test_raw_format(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint8_t pub[HSM_AUTH_PUB_MAX], pt[49];
	struct msg m;
	size_t len;
	uint16_t s = 0, su = 0;

	tap_eq(raw_open(a, "azihsm-open", OFF, OFF_ID, OFF_PIN0, &s), HSM_AUTH_OK,
	       "raw: independently built open message accepted");
	tap_ok(s != 0, "raw: session %u", s);
	tap_eq(raw_open(a, "azihsm-open", USR, USR_ID, USR_PIN0, &su), HSM_AUTH_OK,
	       "raw: user open accepted");
	hsm_auth_session_key(a, pub, sizeof(pub), &len, m.nonce);
	pt[0] = USR;
	memcpy(pt + 1, USR_ID, 16);
	memcpy(pt + 17, USR_PIN0, 16);
	memcpy(pt + 33, USR_PIN1, 16);
	tap_ok(raw_seal(pub, len, m.nonce, "azihsm-chpin", pt, sizeof(pt), &m.s),
	       "raw: change-PIN message built");
	tap_eq(send_chpin(a, su, &m), HSM_AUTH_OK, "raw: independently built ChangePin accepted");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, NULL), HSM_AUTH_OK,
	       "raw: the new PIN from the raw message works");
	tap_eq(hsm_auth_client_seal(pub, len - 1, m.nonce, HSM_AUTH_MSG_OPEN, OFF, OFF_ID,
				    OFF_PIN0, NULL, &m.s),
	       -EBADMSG, "raw: helper refuses a truncated device key");
	tap_eq(hsm_auth_client_seal(pub, len, m.nonce, HSM_AUTH_MSG_CHPIN, OFF, OFF_ID,
				    OFF_PIN0, NULL, &m.s),
	       -EINVAL, "raw: helper needs a new PIN for ChangePin");
	hsm_auth_free(a);
}

/* The officer manages the user: ResetUserCredential and UnlockUser. */
static void test_manage_users(void)
{
	static const uint8_t *USR_PIN2 = (const uint8_t *)"officer-set PIN2";
	static const uint8_t *USR_PIN3 = (const uint8_t *)"user picks PIN 3";
	static const uint8_t *NEW_ID = (const uint8_t *)"alice\0\0\0\0\0\0\0\0\0\0\0";
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk), *b;
	uint8_t pub[HSM_AUTH_PUB_MAX], pt[33], *img = NULL;
	uint16_t so = 0, su = 0, sk = 0, s = 0;
	size_t len = 0, ilen = 0;
	struct msg m;
	uint64_t g;
	int i;

	/* Who may: only a full officer session. */
	open_as(a, OFF, OFF_ID, OFF_PIN0, &so);
	open_as(a, USR, USR_ID, USR_PIN0, &su);
	tap_eq(reset_as(a, so, USR, USR_ID, USR_PIN2), HSM_AUTH_MUST_CHANGE_PIN,
	       "users: default officer may not reset the user");
	tap_eq(hsm_auth_unlock_user(a, so), HSM_AUTH_MUST_CHANGE_PIN,
	       "users: default officer may not unlock the user");
	chpin_as(a, so, OFF, OFF_ID, OFF_PIN0, OFF_PIN1);
	chpin_as(a, su, USR, USR_ID, USR_PIN0, USR_PIN1);
	tap_eq(reset_as(a, su, USR, USR_ID, USR_PIN2), HSM_AUTH_WRONG_ROLE,
	       "users: the user may not reset its own credential");
	tap_eq(hsm_auth_unlock_user(a, su), HSM_AUTH_WRONG_ROLE, "users: the user may not unlock");
	hsm_auth_open_kernel(a, &sk, &(uint16_t){ 0 });
	tap_eq(reset_as(a, sk, USR, USR_ID, USR_PIN2), HSM_AUTH_WRONG_ROLE,
	       "users: the kernel session may not reset");
	tap_eq(hsm_auth_unlock_user(a, sk), HSM_AUTH_WRONG_ROLE,
	       "users: the kernel session may not unlock");
	tap_eq(reset_as(a, 0x7777, USR, USR_ID, USR_PIN2), HSM_AUTH_NO_SESSION,
	       "users: reset without a session");
	tap_eq(hsm_auth_unlock_user(a, 0x7777), HSM_AUTH_NO_SESSION,
	       "users: unlock without a session");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, &s), HSM_AUTH_OK,
	       "users: refused requests changed nothing");
	hsm_auth_close_session(a, s);

	/* UnlockUser: counter and wait gone, PIN kept. */
	for (i = 0; i < 5; i++) {
		advance(&clk, wait_of(a, USR));
		open_as(a, USR, USR_ID, BAD_PIN, NULL);
	}
	tap_eq(failures(a, USR), 5, "users: the user has 5 failures");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, &s), HSM_AUTH_LOCKED_OUT,
	       "users: and is locked out");
	g = hsm_auth_persist_gen(a);
	tap_eq(hsm_auth_unlock_user(a, so), HSM_AUTH_OK, "users: officer unlocks the user");
	tap_ok(hsm_auth_persist_gen(a) > g, "users: unlock changes the persistent part");
	tap_eq(failures(a, USR), 0, "users: unlock clears the counter");
	tap_eq(wait_of(a, USR), 0, "users: unlock clears the wait");
	g = hsm_auth_persist_gen(a);
	tap_eq(hsm_auth_unlock_user(a, so), HSM_AUTH_OK, "users: unlock again");
	tap_eq(hsm_auth_persist_gen(a), g, "users: nothing to clear, nothing to store");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, &s), HSM_AUTH_OK,
	       "users: after unlock the unchanged PIN works at once");
	tap_eq(hsm_auth_check(a, s, HSM_OP_USE_KEY), HSM_AUTH_OK,
	       "users: unlock does not flag must-change");
	hsm_auth_close_session(a, s);

	/* Bad reset messages. */
	tap_eq(reset_as(a, so, OFF, OFF_ID, USR_PIN2), HSM_AUTH_WRONG_ROLE,
	       "users: reset of the officer credential refused");
	tap_eq(reset_as(a, so, USR, USR_ID, USR_PIN0), HSM_AUTH_WEAK_PIN,
	       "users: reset to the user's default PIN refused");
	seal(a, HSM_AUTH_MSG_CHPIN, USR, USR_ID, USR_PIN1, USR_PIN2, &m);
	tap_eq(send_reset(a, so, &m), HSM_AUTH_INVALID_ARG,
	       "users: a ChangePin message (49 bytes) is no reset");
	seal(a, HSM_AUTH_MSG_OPEN, USR, USR_ID, USR_PIN2, NULL, &m);
	tap_eq(send_reset(a, so, &m), HSM_AUTH_BAD_MESSAGE,
	       "users: an open message (other AAD label) is no reset");
	seal(a, HSM_AUTH_MSG_RESET, USR, USR_ID, USR_PIN2, NULL, &m);
	tap_eq(send_open(a, &m, &s, NULL), HSM_AUTH_BAD_MESSAGE,
	       "users: a reset message does not open a session");
	seal(a, HSM_AUTH_MSG_RESET, USR, USR_ID, USR_PIN2, NULL, &m);
	tap_eq(send_reset(a, so, &m), HSM_AUTH_OK, "users: reset accepted once");
	tap_eq(send_reset(a, so, &m), HSM_AUTH_BAD_NONCE, "users: replayed reset refused");
	tap_eq(failures(a, USR), 0, "users: no failures charged by bad messages");

	/* The reset itself: a failing user, then the officer resets. */
	for (i = 0; i < 4; i++) {
		advance(&clk, wait_of(a, USR));
		open_as(a, USR, USR_ID, BAD_PIN, NULL);
	}
	tap_eq(failures(a, USR), 4, "users: the user has 4 failures again");
	g = hsm_auth_persist_gen(a);
	hsm_auth_session_key(a, pub, sizeof(pub), &len, m.nonce);
	pt[0] = USR;
	memcpy(pt + 1, USR_ID, 16);
	memcpy(pt + 17, USR_PIN3, 16);
	tap_ok(raw_seal(pub, len, m.nonce, "azihsm-reset", pt, sizeof(pt), &m.s),
	       "users: reset message built with raw OpenSSL");
	tap_eq(send_reset(a, so, &m), HSM_AUTH_OK,
	       "users: independently built reset accepted");
	tap_ok(hsm_auth_persist_gen(a) > g, "users: reset changes the persistent part");
	tap_eq(failures(a, USR), 0, "users: reset clears the counter");
	tap_eq(wait_of(a, USR), 0, "users: reset clears the wait");
	tap_ok(hsm_auth_must_change(a, USR), "users: reset flags must-change");
	tap_ok(!hsm_auth_must_change(a, OFF), "users: the officer's flag untouched");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN1, &s), HSM_AUTH_BAD_CREDENTIAL,
	       "users: the old user PIN is refused");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN3, &s), HSM_AUTH_OK, "users: the new PIN opens");
	tap_eq(hsm_auth_check(a, s, HSM_OP_USE_KEY), HSM_AUTH_MUST_CHANGE_PIN,
	       "users: the new session may only change its PIN");
	tap_eq(hsm_auth_check(a, su, HSM_OP_USE_KEY), HSM_AUTH_OK,
	       "users: a user session open before the reset stays as it was");
	tap_eq(chpin_as(a, s, USR, USR_ID, USR_PIN3, USR_PIN3), HSM_AUTH_WEAK_PIN,
	       "users: keeping the officer-set PIN refused");
	tap_eq(chpin_as(a, s, USR, USR_ID, USR_PIN3, USR_PIN1), HSM_AUTH_OK,
	       "users: the user changes the officer-set PIN");
	tap_eq(hsm_auth_check(a, s, HSM_OP_USE_KEY), HSM_AUTH_OK,
	       "users: then the session is fully authorized");
	tap_ok(!hsm_auth_must_change(a, USR), "users: must-change cleared");
	hsm_auth_close_session(a, s);

	/* A new id with the reset, kept across a restart. */
	tap_eq(reset_as(a, so, USR, NEW_ID, USR_PIN2), HSM_AUTH_OK,
	       "users: reset to a new id");
	tap_eq(open_as(a, USR, USR_ID, USR_PIN2, &s), HSM_AUTH_BAD_CREDENTIAL,
	       "users: the old id is refused");
	tap_eq(hsm_auth_serialize(a, &img, &ilen), HSM_AUTH_OK, "users: serialize");
	hsm_auth_free(a);
	b = new_auth(&clk);
	tap_eq(hsm_auth_deserialize(b, img, ilen), HSM_AUTH_OK, "users: deserialize");
	hsm_auth_image_free(img, ilen);
	tap_ok(hsm_auth_must_change(b, USR), "users: must-change survives a restart");
	tap_eq(failures(b, USR), 1, "users: the one failure since the reset survives");
	tap_eq(open_as(b, USR, USR_ID, USR_PIN2, &s), HSM_AUTH_BAD_CREDENTIAL,
	       "users: after the restart the old id is refused");
	tap_eq(open_as(b, USR, NEW_ID, USR_PIN2, &s), HSM_AUTH_OK,
	       "users: after the restart the new id and PIN open");
	tap_eq(hsm_auth_check(b, s, HSM_OP_INFO), HSM_AUTH_MUST_CHANGE_PIN,
	       "users: restricted after the restart too");
	tap_eq(chpin_as(b, s, USR, NEW_ID, USR_PIN2, USR_PIN3), HSM_AUTH_OK,
	       "users: the user changes it under the new id");
	hsm_auth_free(b);
}

static void test_image(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint8_t *img = NULL, *ref = NULL, *after = NULL, *buf;
	size_t len = 0, rlen, alen, cut, bit;
	int all, same = 1;
	uint16_t s;

	change_both(a);
	open_as(a, USR, USR_ID, BAD_PIN, &s);
	hsm_auth_serialize(a, &ref, &rlen);
	hsm_auth_free(a);

	/* A target partition in another state: refused images leave it alone. */
	a = new_auth(&clk);
	hsm_auth_serialize(a, &img, &len);
	buf = malloc(rlen + 1);

	all = 1;
	for (cut = 0; cut < rlen; cut++) {
		memcpy(buf, ref, cut);
		all &= hsm_auth_deserialize(a, buf, cut) == HSM_AUTH_BAD_IMAGE;
	}
	tap_ok(all, "image: every truncation (0..%zu) refused", rlen - 1);
	memcpy(buf, ref, rlen);
	buf[rlen] = 0;
	tap_eq(hsm_auth_deserialize(a, buf, rlen + 1), HSM_AUTH_BAD_IMAGE,
	       "image: trailing byte refused");

	/* Every bit of the header (magic, version, count, record length). */
	all = 1;
	for (bit = 0; bit < 14 * 8; bit++) {
		memcpy(buf, ref, rlen);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		all &= hsm_auth_deserialize(a, buf, rlen) == HSM_AUTH_BAD_IMAGE;
	}
	tap_ok(all, "image: every header bit flip refused");
	/* Role and flags bytes of both records. */
	all = 1;
	for (bit = 0; bit < 16; bit++) {
		size_t rec;

		if (bit == 8)	/* the must-change flag itself */
			continue;
		for (rec = 0; rec < 2; rec++) {
			memcpy(buf, ref, rlen);
			buf[14 + rec * 82 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			all &= hsm_auth_deserialize(a, buf, rlen) == HSM_AUTH_BAD_IMAGE;
		}
	}
	tap_ok(all, "image: every role/flags bit flip refused (must-change bit aside)");
	memcpy(buf, ref, rlen);
	memcpy(buf + 14 + 34, "\xe7\x03\x00\x00", 4);	/* 999 */
	tap_eq(hsm_auth_deserialize(a, buf, rlen), HSM_AUTH_BAD_IMAGE,
	       "image: 999 iterations refused");
	memcpy(buf, ref, rlen);
	buf[14 + 82 + 37] = 0x80;
	tap_eq(hsm_auth_deserialize(a, buf, rlen), HSM_AUTH_BAD_IMAGE,
	       "image: huge iteration count refused");
	memcpy(buf, ref, rlen);
	memcpy(buf + 14, ref + 14 + 82, 82);
	memcpy(buf + 14 + 82, ref + 14, 82);
	tap_eq(hsm_auth_deserialize(a, buf, rlen), HSM_AUTH_BAD_IMAGE,
	       "image: records swapped refused");
	tap_eq(hsm_auth_deserialize(a, NULL, rlen), HSM_AUTH_INVALID_ARG, "image: NULL");

	hsm_auth_serialize(a, &after, &alen);
	same = alen == len && !memcmp(after, img, len);
	tap_ok(same, "image: refused images changed nothing");
	tap_ok(hsm_auth_must_change(a, OFF) && failures(a, USR) == 0,
	       "image: still the fresh partition");
	tap_eq(hsm_auth_deserialize(a, ref, rlen), HSM_AUTH_OK, "image: the intact image loads");
	tap_eq(failures(a, USR), 1, "image: its failure count came along");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_OK,
	       "image: its officer PIN works");
	hsm_auth_image_free(img, len);
	hsm_auth_image_free(after, alen);
	hsm_auth_image_free(ref, rlen);
	free(buf);
	hsm_auth_free(a);
}

static void test_zeroize(void)
{
	struct fake_clock clk = { 1000, 1700000000000ull };
	struct hsm_auth *a = new_auth(&clk);
	uint16_t s, gone[HSM_AUTH_MAX_GONE];
	unsigned int n = 0;

	change_both(a);
	open_as(a, USR, USR_ID, BAD_PIN, &s);
	open_as(a, OFF, OFF_ID, OFF_PIN1, &s);
	tap_eq(hsm_auth_zeroize(a, gone, &n), HSM_AUTH_OK, "zeroize");
	tap_ok(n == 1 && gone[0] == s, "zeroize: the open session reported gone");
	tap_ok(hsm_auth_must_change(a, OFF) && hsm_auth_must_change(a, USR),
	       "zeroize: default credentials back");
	tap_eq(failures(a, USR), 0, "zeroize: counters cleared");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN1, &s), HSM_AUTH_BAD_CREDENTIAL,
	       "zeroize: the changed PIN is gone");
	tap_eq(open_as(a, OFF, OFF_ID, OFF_PIN0, &s), HSM_AUTH_OK, "zeroize: default PIN opens");
	hsm_auth_free(a);
}

/* Threads opening and closing sessions at once: never more than 8, no loss. */
struct thr {
	struct hsm_auth *a;
	int opened, full, other;
};

static void *thr_fn(void *p)
{
	struct thr *t = p;
	uint16_t s;
	int i, r;

	for (i = 0; i < 6; i++) {
		r = open_as(t->a, USR, USR_ID, USR_PIN1, &s);
		if (r == HSM_AUTH_OK) {
			t->opened++;
			if (hsm_auth_session_count(t->a) > HSM_AUTH_MAX_SESSIONS ||
			    hsm_auth_close_session(t->a, s) != HSM_AUTH_OK)
				t->other++;
		} else if (r == HSM_AUTH_SESSIONS_FULL) {
			t->full++;
		} else {
			t->other++;
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct hsm_auth *a = hsm_auth_new(NULL);	/* real clocks */
	struct thr t[4];
	pthread_t th[4];
	int i, opened = 0, other = 0;

	/* Unrestricted sessions: restricted ones are limited per role (RT-4). */
	tap_eq(change_both(a), 0, "threads: both PINs changed");

	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){ .a = a };
		pthread_create(&th[i], NULL, thr_fn, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		opened += t[i].opened;
		other += t[i].other;
	}
	tap_eq(opened, 24, "threads: 4 x 6 open/close all succeeded");
	tap_eq(other, 0, "threads: no unexpected status");
	tap_eq(hsm_auth_session_count(a), 0, "threads: no session left");
	hsm_auth_free(a);
}

int main(void)
{
	test_defaults();
	test_change_pin();
	test_lockout();
	test_chpin_lockout();
	test_restart();
	test_sessions();
	test_session_ids();
	test_nonces();
	test_permanent_lock();
	test_rt4_rt5();
	test_pin_policy();
	test_tamper();
	test_roles();
	test_raw_format();
	test_manage_users();
	test_image();
	test_zeroize();
	test_threads();
	return tap_done();
}
