// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Roles, credentials, PIN lockout and sessions of one partition (see
 * hsm_auth.h for the API, hsm_auth_client.h for the credential message).
 *
 * Stored PIN = PBKDF2-HMAC-SHA256(password = pin[16], salt[16] random per
 * credential, iterations), 32 bytes. PBKDF2 rather than scrypt: it is the
 * SP 800-132 approved password KDF, available in OpenSSL's FIPS provider;
 * the PIN is only a second factor behind the sealed channel and the
 * lockout delays, so memory hardness buys little here.
 *
 * Serialized persistent part, integers little-endian:
 *
 *   0  magic "AZHSMAU1"             8
 *   8  version (1)                u16
 *  10  record count (2)           u16
 *  12  record length (82)         u16
 *  14  2 records, officer then user:
 *        role (1 officer, 2 user)  u8
 *        flags                     u8  bit 0 must-change; other bits 0
 *        id                        16
 *        salt                      16
 *        PBKDF2 iterations        u32  HSM_AUTH_PBKDF2_MIN..MAX
 *        PIN hash                  32
 *        consecutive failures     u32
 *        last failure             u64  ms since the Unix epoch (CLOCK_REALTIME),
 *                                      0 = none
 *
 * Exactly 178 bytes; anything else, another magic, version, count, record
 * length, role order, flag bit or iteration count out of range is refused.
 *
 * Clocks: nonce expiry uses the monotonic clock (immune to clock changes,
 * need not survive a restart); the lockout wait is measured from the
 * persisted last-failure time on the real-time clock, so it survives a
 * restart. If the real-time clock is found before the last failure (set
 * back), the last failure is moved to now: the wait restarts, it is never
 * shortened by a clock change.
 *
 * Locking: one mutex guards everything, including PBKDF2 and ECDH, so the
 * lockout check, the PIN check and the counting are one atomic step.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm_bytes.h"
#include "hsm_auth.h"

#define IMAGE_MAGIC	"AZHSMAU1"
#define MAGIC_LEN	8
#define IMAGE_VERSION	1
#define IMAGE_HDR	14
#define IMAGE_RECS	2
#define REC_LEN		82
#define IMAGE_LEN	(IMAGE_HDR + IMAGE_RECS * REC_LEN)
#define FLAG_MUST_CHANGE 0x01
#define NROLES		2

struct cred {
	uint8_t id[HSM_AUTH_ID_LEN];
	uint8_t salt[HSM_AUTH_SALT_LEN];
	uint8_t hash[HSM_AUTH_HASH_LEN];
	uint32_t iter;
	bool must_change;
	uint32_t failures;
	uint64_t last_fail;	/* ms, real-time clock */
};

struct session {
	uint16_t id;		/* 0: free slot */
	uint16_t app_id;	/* short_app_id: random, non-zero */
	uint8_t role;
	bool restricted;	/* opened with a must-change credential */
};

struct nonce_ent {
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	uint64_t expires;	/* ms, monotonic clock */
	bool live;
};

struct hsm_auth {
	pthread_mutex_t lock;
	struct hsm_auth_config cfg;
	struct cred cred[NROLES];
	struct session sess[HSM_AUTH_MAX_SESSIONS];
	struct session kernel;	/* the kernel session (id 0: none) */
	uint16_t next_sid;	/* cfg.first_session_id: the counter */
	struct nonce_ent nonces[HSM_AUTH_NONCE_QUEUES][HSM_AUTH_NONCES];
	EVP_PKEY *dev;
	uint8_t dev_pub[HSM_AUTH_PUB_MAX];
	size_t dev_pub_len;
	uint64_t persist_gen;
};

static const char *const status_str[] = {
	[HSM_AUTH_OK] = "ok",
	[HSM_AUTH_INVALID_ARG] = "invalid argument",
	[HSM_AUTH_NO_SESSION] = "no such session",
	[HSM_AUTH_WRONG_ROLE] = "wrong role",
	[HSM_AUTH_MUST_CHANGE_PIN] = "must change PIN",
	[HSM_AUTH_BAD_NONCE] = "bad nonce",
	[HSM_AUTH_BAD_PEER] = "bad host key",
	[HSM_AUTH_BAD_MESSAGE] = "bad message",
	[HSM_AUTH_BAD_CREDENTIAL] = "bad credential",
	[HSM_AUTH_LOCKED_OUT] = "locked out",
	[HSM_AUTH_SESSIONS_FULL] = "too many sessions",
	[HSM_AUTH_WEAK_PIN] = "weak PIN",
	[HSM_AUTH_BUFFER_SMALL] = "buffer too small",
	[HSM_AUTH_BAD_IMAGE] = "bad image",
	[HSM_AUTH_BUSY] = "sessions open",
	[HSM_AUTH_CRYPTO] = "crypto failure",
	[HSM_AUTH_NOMEM] = "out of memory",
	[HSM_AUTH_KERNEL_OPEN] = "kernel session open",
	[HSM_AUTH_PIN_LOCKED] = "locked: too many wrong PINs",
};

const char *hsm_auth_strerror(int status)
{
	if (status < 0 || (size_t)status >= sizeof(status_str) / sizeof(status_str[0]) ||
	    !status_str[status])
		return "unknown";
	return status_str[status];
}

/* ---- helpers --------------------------------------------------------- */

static uint64_t default_clock(void *ctx, enum hsm_auth_clock which)
{
	struct timespec ts;

	(void)ctx;
	if (clock_gettime(which == HSM_AUTH_CLOCK_REAL ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ms(struct hsm_auth *a, enum hsm_auth_clock which)
{
	return a->cfg.clock(a->cfg.clock_ctx, which);
}

static bool role_valid(unsigned int role)
{
	return role == HSM_ROLE_OFFICER || role == HSM_ROLE_USER;
}

static struct cred *cred_of(struct hsm_auth *a, unsigned int role)
{
	return &a->cred[role - 1];
}

static const uint8_t *default_id(unsigned int role)
{
	return (const uint8_t *)(role == HSM_ROLE_OFFICER ? HSM_AUTH_DEFAULT_OFFICER_ID :
							    HSM_AUTH_DEFAULT_USER_ID);
}

static const uint8_t *default_pin(unsigned int role)
{
	return (const uint8_t *)(role == HSM_ROLE_OFFICER ? HSM_AUTH_DEFAULT_OFFICER_PIN :
							    HSM_AUTH_DEFAULT_USER_PIN);
}

static int pin_hash(const uint8_t pin[HSM_AUTH_PIN_LEN], const uint8_t salt[HSM_AUTH_SALT_LEN],
		    uint32_t iter, uint8_t out[HSM_AUTH_HASH_LEN])
{
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ok;

	kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return HSM_AUTH_CRYPTO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin,
						      HSM_AUTH_PIN_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
						      HSM_AUTH_SALT_LEN);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_ITER, &iter);
	params[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, HSM_AUTH_HASH_LEN, params) == 1;
	EVP_KDF_CTX_free(kctx);
	if (!ok)
		OPENSSL_cleanse(out, HSM_AUTH_HASH_LEN);
	return ok ? HSM_AUTH_OK : HSM_AUTH_CRYPTO;
}

/* A new credential record (fresh salt) for @id / @pin into @c. */
static int cred_set(struct cred *c, const uint8_t *id, const uint8_t *pin, uint32_t iter)
{
	struct cred n = { .iter = iter };
	int ret;

	memcpy(n.id, id, HSM_AUTH_ID_LEN);
	if (RAND_bytes(n.salt, sizeof(n.salt)) != 1)
		return HSM_AUTH_CRYPTO;
	ret = pin_hash(pin, n.salt, iter, n.hash);
	if (ret)
		return ret;
	/* Keep lockout state and flags; the caller sets them. */
	n.must_change = c->must_change;
	n.failures = c->failures;
	n.last_fail = c->last_fail;
	*c = n;
	OPENSSL_cleanse(&n, sizeof(n));
	return HSM_AUTH_OK;
}

/* Default credentials for both roles into @creds. */
static int defaults(struct cred creds[NROLES], uint32_t iter)
{
	unsigned int r;
	int ret;

	memset(creds, 0, NROLES * sizeof(*creds));
	for (r = HSM_ROLE_OFFICER; r <= HSM_ROLE_USER; r++) {
		ret = cred_set(&creds[r - 1], default_id(r), default_pin(r), iter);
		if (ret)
			return ret;
		creds[r - 1].must_change = true;
	}
	return HSM_AUTH_OK;
}

static int new_device_key(struct hsm_auth *a)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", HSM_AUTH_CURVE);
	unsigned char *der = NULL;
	int len;

	if (!k)
		return HSM_AUTH_CRYPTO;
	len = i2d_PUBKEY(k, &der);
	if (len <= 0 || (size_t)len > sizeof(a->dev_pub)) {
		OPENSSL_free(der);
		EVP_PKEY_free(k);
		return HSM_AUTH_CRYPTO;
	}
	EVP_PKEY_free(a->dev);
	a->dev = k;
	memcpy(a->dev_pub, der, (size_t)len);
	a->dev_pub_len = (size_t)len;
	OPENSSL_free(der);
	return HSM_AUTH_OK;
}

static void forget_nonces(struct hsm_auth *a)
{
	OPENSSL_cleanse(a->nonces, sizeof(a->nonces));
}

static void drop_sessions(struct hsm_auth *a, uint16_t *gone, unsigned int *n_gone)
{
	unsigned int i, n = 0;

	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++) {
		if (!a->sess[i].id)
			continue;
		if (gone)
			gone[n] = a->sess[i].id;
		n++;
		a->sess[i].id = 0;
	}
	if (a->kernel.id) {
		if (gone)
			gone[n] = a->kernel.id;
		n++;
		a->kernel.id = 0;
	}
	if (n_gone)
		*n_gone = n;
}

static struct session *find_session(struct hsm_auth *a, uint16_t id)
{
	unsigned int i;

	if (!id)
		return NULL;
	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		if (a->sess[i].id == id)
			return &a->sess[i];
	if (a->kernel.id == id)
		return &a->kernel;
	return NULL;
}

/* A random non-zero u16 (RAND_priv_bytes); 0 if the generator fails. */
static uint16_t rand_u16(void)
{
	uint8_t b[2];
	uint16_t v;

	do {
		if (RAND_priv_bytes(b, sizeof(b)) != 1)
			return 0;
		v = (uint16_t)(b[0] | b[1] << 8);
	} while (!v);
	return v;
}

/*
 * Give @s a fresh identity (lock held): a random session id that is not
 * live (ids are unguessable, never 0, never two sessions' at once) and a
 * random non-zero short_app_id. CRYPTO if the generator fails.
 */
static int new_identity(struct hsm_auth *a, struct session *s)
{
	uint16_t id, app;

	do {
		id = a->cfg.first_session_id ? a->next_sid++ : rand_u16();
		if (!id && !a->cfg.first_session_id)
			return HSM_AUTH_CRYPTO;
	} while (!id || find_session(a, id));
	app = rand_u16();
	if (!app)
		return HSM_AUTH_CRYPTO;
	s->id = id;
	s->app_id = app;
	return HSM_AUTH_OK;
}

/* ---- lifetime -------------------------------------------------------- */

struct hsm_auth *hsm_auth_new(const struct hsm_auth_config *cfg)
{
	struct hsm_auth *a;

	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	if (cfg)
		a->cfg = *cfg;
	if (!a->cfg.clock)
		a->cfg.clock = default_clock;
	if (!a->cfg.pbkdf2_iter)
		a->cfg.pbkdf2_iter = HSM_AUTH_PBKDF2_ITER;
	a->next_sid = a->cfg.first_session_id;
	if (a->cfg.pbkdf2_iter < HSM_AUTH_PBKDF2_MIN || a->cfg.pbkdf2_iter > HSM_AUTH_PBKDF2_MAX ||
	    defaults(a->cred, a->cfg.pbkdf2_iter) || new_device_key(a)) {
		hsm_auth_free(a);
		return NULL;
	}
	return a;
}

void hsm_auth_free(struct hsm_auth *a)
{
	if (!a)
		return;
	EVP_PKEY_free(a->dev);
	pthread_mutex_destroy(&a->lock);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

int hsm_auth_reset(struct hsm_auth *a, uint16_t *gone, unsigned int *n_gone)
{
	int ret;

	if (n_gone)
		*n_gone = 0;
	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	drop_sessions(a, gone, n_gone);
	forget_nonces(a);
	ret = new_device_key(a);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_zeroize(struct hsm_auth *a, uint16_t *gone, unsigned int *n_gone)
{
	struct cred fresh[NROLES];
	int ret;

	if (n_gone)
		*n_gone = 0;
	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	ret = defaults(fresh, a->cfg.pbkdf2_iter);
	if (!ret) {
		memcpy(a->cred, fresh, sizeof(fresh));
		a->persist_gen++;
		drop_sessions(a, gone, n_gone);
		forget_nonces(a);
		ret = new_device_key(a);
	}
	OPENSSL_cleanse(fresh, sizeof(fresh));
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/* ---- key and nonce --------------------------------------------------- */

int hsm_auth_session_key(struct hsm_auth *a, uint8_t *pub, size_t cap, size_t *pub_len,
			 uint8_t nonce[HSM_AUTH_NONCE_LEN])
{
	return hsm_auth_session_key_q(a, 0, pub, cap, pub_len, nonce);
}

int hsm_auth_session_key_q(struct hsm_auth *a, unsigned int queue, uint8_t *pub, size_t cap,
			   size_t *pub_len, uint8_t nonce[HSM_AUTH_NONCE_LEN])
{
	struct nonce_ent *slot = NULL;
	uint64_t now;
	unsigned int i;
	int ret = HSM_AUTH_OK;

	if (!a || !pub_len || !nonce || queue >= HSM_AUTH_NONCE_QUEUES)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	*pub_len = a->dev_pub_len;
	if (!pub || cap < a->dev_pub_len) {
		ret = HSM_AUTH_BUFFER_SMALL;
		goto out;
	}
	now = now_ms(a, HSM_AUTH_CLOCK_MONO);
	/* Only this queue's table: a flood on one queue evicts only its own. */
	for (i = 0; i < HSM_AUTH_NONCES; i++) {
		struct nonce_ent *e = &a->nonces[queue][i];

		if (!e->live || e->expires <= now) {
			slot = e;
			break;
		}
		if (!slot || e->expires < slot->expires)
			slot = e;
	}
	if (RAND_bytes(slot->nonce, HSM_AUTH_NONCE_LEN) != 1) {
		slot->live = false;
		ret = HSM_AUTH_CRYPTO;
		goto out;
	}
	slot->expires = now + HSM_AUTH_NONCE_TTL_MS;
	slot->live = true;
	memcpy(nonce, slot->nonce, HSM_AUTH_NONCE_LEN);
	memcpy(pub, a->dev_pub, a->dev_pub_len);
out:
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/* Find and consume an outstanding nonce, issued on any queue. */
static bool take_nonce(struct hsm_auth *a, const uint8_t *nonce)
{
	uint64_t now = now_ms(a, HSM_AUTH_CLOCK_MONO);
	unsigned int i;

	for (i = 0; i < HSM_AUTH_NONCE_QUEUES * HSM_AUTH_NONCES; i++) {
		struct nonce_ent *e = &a->nonces[i / HSM_AUTH_NONCES][i % HSM_AUTH_NONCES];

		if (!e->live || CRYPTO_memcmp(e->nonce, nonce, HSM_AUTH_NONCE_LEN))
			continue;
		e->live = false;
		return e->expires > now;
	}
	return false;
}

/*
 * Nonce, host key, decryption and role byte of a sealed message (lock
 * held). The plaintext goes to @pt (cleansed by the caller).
 */
static int unseal(struct hsm_auth *a, enum hsm_auth_msg_kind kind, const uint8_t *host_pub,
		  size_t host_pub_len, const uint8_t *nonce, const uint8_t *ct, size_t ct_len,
		  const uint8_t *tag, uint8_t *pt)
{
	uint8_t key[HSM_AUTH_KEY_LEN], iv[HSM_AUTH_IV_LEN];
	const char *label = hsm_auth_aad_label(kind);
	EVP_CIPHER_CTX *c = NULL;
	EVP_PKEY *peer;
	int n, ret = HSM_AUTH_CRYPTO;

	if (!take_nonce(a, nonce))
		return HSM_AUTH_BAD_NONCE;
	peer = hsm_auth_p384_pub(host_pub, host_pub_len);
	if (!peer)
		return HSM_AUTH_BAD_PEER;
	if (hsm_auth_channel_keys(a->dev, peer, nonce, key, iv))
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), key, iv, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, HSM_AUTH_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)label,
			      (int)strlen(label)) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, nonce, HSM_AUTH_NONCE_LEN) != 1 ||
	    EVP_DecryptUpdate(c, pt, &n, ct, (int)ct_len) != 1 || (size_t)n != ct_len)
		goto out;
	if (EVP_DecryptFinal_ex(c, pt + n, &n) != 1) {
		OPENSSL_cleanse(pt, ct_len);
		ret = HSM_AUTH_BAD_MESSAGE;
		goto out;
	}
	ret = role_valid(pt[0]) ? HSM_AUTH_OK : HSM_AUTH_BAD_MESSAGE;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_free(peer);
	return ret;
}

/* ---- lockout --------------------------------------------------------- */

static uint64_t delay_ms(uint32_t failures)
{
	uint32_t k;

	if (failures < HSM_AUTH_FREE_TRIES)
		return 0;
	k = failures - HSM_AUTH_FREE_TRIES;
	if (k >= 12 || (1u << k) > HSM_AUTH_DELAY_MAX_S)
		return (uint64_t)HSM_AUTH_DELAY_MAX_S * 1000;
	return (uint64_t)(1u << k) * 1000;
}

/*
 * The user reached HSM_AUTH_MAX_FAILURES: no attempt is checked any more
 * (until the officer's UnlockUser / ResetUserCredential). Never the officer
 * (issue 9, RT-5): nobody could unlock it, so it only waits, at most
 * HSM_AUTH_DELAY_MAX_S between attempts.
 */
static bool locked_for_good(struct hsm_auth *a, const struct cred *c)
{
	return c != cred_of(a, HSM_ROLE_OFFICER) && c->failures >= HSM_AUTH_MAX_FAILURES;
}

/* Milliseconds @c must still wait (lock held); UINT64_MAX: locked for good. */
static uint64_t wait_left(struct hsm_auth *a, struct cred *c)
{
	uint64_t d = delay_ms(c->failures), now;

	if (locked_for_good(a, c))
		return UINT64_MAX;
	if (!d)
		return 0;
	now = now_ms(a, HSM_AUTH_CLOCK_REAL);
	if (now < c->last_fail) {
		/* Clock set back: restart the wait from now. */
		c->last_fail = now;
		a->persist_gen++;
	}
	return now - c->last_fail >= d ? 0 : d - (now - c->last_fail);
}

/* May @c be tried now? OK, PIN_LOCKED or LOCKED_OUT (lock held). */
static int attempt_allowed(struct hsm_auth *a, struct cred *c)
{
	uint64_t w = wait_left(a, c);

	if (w == UINT64_MAX)
		return HSM_AUTH_PIN_LOCKED;
	return w ? HSM_AUTH_LOCKED_OUT : HSM_AUTH_OK;
}

/* ---- PIN policy ------------------------------------------------------ */

bool hsm_auth_pin_weak(const uint8_t pin[HSM_AUTH_PIN_LEN], const uint8_t id[HSM_AUTH_ID_LEN])
{
	const uint8_t *const known[] = {
		(const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN,
		(const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN,
		(const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID,
		(const uint8_t *)HSM_AUTH_DEFAULT_USER_ID,
		id,
	};
	bool same = true, up = true, down = true;
	size_t len = HSM_AUTH_PIN_LEN, i;

	/* Trailing zero bytes are padding (a short text PIN). */
	while (len && !pin[len - 1])
		len--;
	if (len < HSM_AUTH_PIN_MIN)
		return true;
	for (i = 1; i < len; i++) {
		same &= pin[i] == pin[0];
		up &= pin[i] == (uint8_t)(pin[i - 1] + 1);
		down &= pin[i] == (uint8_t)(pin[i - 1] - 1);
	}
	if (same || up || down)
		return true;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i] && !CRYPTO_memcmp(pin, known[i], HSM_AUTH_PIN_LEN))
			return true;
	return false;
}

/* Check id and PIN of @role, counting a failure (lock held, not locked out). */
static int verify(struct hsm_auth *a, unsigned int role, const uint8_t *id, const uint8_t *pin)
{
	struct cred *c = cred_of(a, role);
	uint8_t h[HSM_AUTH_HASH_LEN];
	int ret, bad;

	ret = pin_hash(pin, c->salt, c->iter, h);
	if (ret)
		return ret;
	bad = CRYPTO_memcmp(id, c->id, HSM_AUTH_ID_LEN) | CRYPTO_memcmp(h, c->hash, sizeof(h));
	OPENSSL_cleanse(h, sizeof(h));
	if (bad) {
		if (c->failures < UINT32_MAX)
			c->failures++;
		c->last_fail = now_ms(a, HSM_AUTH_CLOCK_REAL);
		a->persist_gen++;
		return HSM_AUTH_BAD_CREDENTIAL;
	}
	if (c->failures || c->last_fail) {
		c->failures = 0;
		c->last_fail = 0;
		a->persist_gen++;
	}
	return HSM_AUTH_OK;
}

/* ---- sessions -------------------------------------------------------- */

int hsm_auth_open_session(struct hsm_auth *a, const uint8_t *host_pub, size_t host_pub_len,
			  const uint8_t nonce[HSM_AUTH_NONCE_LEN], const uint8_t *ct,
			  size_t ct_len, const uint8_t tag[HSM_AUTH_TAG_LEN],
			  uint16_t *session_id, enum hsm_auth_role *role)
{
	uint8_t pt[HSM_AUTH_PT_MAX];
	struct session *s = NULL;
	unsigned int i, r, n_free = 0, n_restricted = 0;
	int ret;

	if (!a || !host_pub || !nonce || !ct || !tag || !session_id ||
	    ct_len != HSM_AUTH_OPEN_PT_LEN)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	ret = unseal(a, HSM_AUTH_MSG_OPEN, host_pub, host_pub_len, nonce, ct, ct_len, tag, pt);
	if (ret)
		goto out;
	r = pt[0];
	/*
	 * issue 9 (RT-4): the last free slot is the officer's, and a role
	 * whose credential must change (anyone knows the default) holds at
	 * most HSM_AUTH_RESTRICTED_MAX sessions: no one can fill the table
	 * and keep the officer out. Refused before the PIN check, not counted.
	 */
	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++) {
		if (!a->sess[i].id) {
			if (!s)
				s = &a->sess[i];
			n_free++;
		} else if (a->sess[i].role == r && a->sess[i].restricted) {
			n_restricted++;
		}
	}
	if (!s || (r != HSM_ROLE_OFFICER && n_free <= HSM_AUTH_OFFICER_SLOTS) ||
	    (cred_of(a, r)->must_change && n_restricted >= HSM_AUTH_RESTRICTED_MAX)) {
		ret = HSM_AUTH_SESSIONS_FULL;
		goto out;
	}
	ret = attempt_allowed(a, cred_of(a, r));
	if (ret)
		goto out;
	ret = verify(a, r, pt + 1, pt + 1 + HSM_AUTH_ID_LEN);
	if (ret)
		goto out;
	ret = new_identity(a, s);
	if (ret)
		goto out;
	s->role = (uint8_t)r;
	s->restricted = cred_of(a, r)->must_change;
	*session_id = s->id;
	if (role)
		*role = (enum hsm_auth_role)r;
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_change_pin(struct hsm_auth *a, uint16_t session_id, const uint8_t *host_pub,
			size_t host_pub_len, const uint8_t nonce[HSM_AUTH_NONCE_LEN],
			const uint8_t *ct, size_t ct_len, const uint8_t tag[HSM_AUTH_TAG_LEN])
{
	const uint8_t *id, *pin, *new_pin;
	uint8_t pt[HSM_AUTH_PT_MAX];
	struct session *s;
	struct cred *c;
	unsigned int r;
	int ret;

	if (!a || !host_pub || !nonce || !ct || !tag || ct_len != HSM_AUTH_CHPIN_PT_LEN)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	if (!s) {
		ret = HSM_AUTH_NO_SESSION;
		goto out;
	}
	ret = unseal(a, HSM_AUTH_MSG_CHPIN, host_pub, host_pub_len, nonce, ct, ct_len, tag, pt);
	if (ret)
		goto out;
	r = pt[0];
	id = pt + 1;
	pin = id + HSM_AUTH_ID_LEN;
	new_pin = pin + HSM_AUTH_PIN_LEN;
	if (r != s->role) {
		ret = HSM_AUTH_WRONG_ROLE;
		goto out;
	}
	c = cred_of(a, r);
	ret = attempt_allowed(a, c);
	if (ret)
		goto out;
	ret = verify(a, r, id, pin);
	if (ret)
		goto out;
	if (!CRYPTO_memcmp(new_pin, pin, HSM_AUTH_PIN_LEN) ||
	    hsm_auth_pin_weak(new_pin, c->id)) {
		ret = HSM_AUTH_WEAK_PIN;
		goto out;
	}
	ret = cred_set(c, c->id, new_pin, a->cfg.pbkdf2_iter);
	if (ret)
		goto out;
	c->must_change = false;
	s->restricted = false;
	a->persist_gen++;
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/* An officer session not restricted to ChangePin (lock held). */
static int officer_session(struct hsm_auth *a, uint16_t session_id)
{
	struct session *s = find_session(a, session_id);

	if (!s)
		return HSM_AUTH_NO_SESSION;
	if (s->restricted)
		return HSM_AUTH_MUST_CHANGE_PIN;
	if (s->role != HSM_ROLE_OFFICER)
		return HSM_AUTH_WRONG_ROLE;
	return HSM_AUTH_OK;
}

/* Clear @c's lockout state, bumping the generation if it changes. */
static void clear_lockout(struct hsm_auth *a, struct cred *c)
{
	if (c->failures || c->last_fail) {
		c->failures = 0;
		c->last_fail = 0;
		a->persist_gen++;
	}
}

int hsm_auth_reset_user(struct hsm_auth *a, uint16_t session_id, const uint8_t *host_pub,
			size_t host_pub_len, const uint8_t nonce[HSM_AUTH_NONCE_LEN],
			const uint8_t *ct, size_t ct_len, const uint8_t tag[HSM_AUTH_TAG_LEN])
{
	const uint8_t *id, *pin;
	uint8_t pt[HSM_AUTH_PT_MAX];
	struct cred *c;
	int ret;

	if (!a || !host_pub || !nonce || !ct || !tag || ct_len != HSM_AUTH_OPEN_PT_LEN)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	ret = officer_session(a, session_id);
	if (ret)
		goto out;
	ret = unseal(a, HSM_AUTH_MSG_RESET, host_pub, host_pub_len, nonce, ct, ct_len, tag, pt);
	if (ret)
		goto out;
	id = pt + 1;
	pin = id + HSM_AUTH_ID_LEN;
	if (pt[0] != HSM_ROLE_USER) {
		ret = HSM_AUTH_WRONG_ROLE;
		goto out;
	}
	if (hsm_auth_pin_weak(pin, id)) {
		ret = HSM_AUTH_WEAK_PIN;
		goto out;
	}
	c = cred_of(a, HSM_ROLE_USER);
	ret = cred_set(c, id, pin, a->cfg.pbkdf2_iter);
	if (ret)
		goto out;
	c->must_change = true;
	c->failures = 0;
	c->last_fail = 0;
	a->persist_gen++;
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_unlock_user(struct hsm_auth *a, uint16_t session_id)
{
	int ret;

	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	ret = officer_session(a, session_id);
	if (!ret)
		clear_lockout(a, cred_of(a, HSM_ROLE_USER));
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_open_kernel(struct hsm_auth *a, uint16_t *session_id, uint16_t *app_id)
{
	int ret;

	if (!a || !session_id || !app_id)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	if (a->kernel.id) {
		ret = HSM_AUTH_KERNEL_OPEN;
	} else {
		ret = new_identity(a, &a->kernel);
		if (!ret) {
			a->kernel.role = HSM_ROLE_KERNEL;
			a->kernel.restricted = false;
			*session_id = a->kernel.id;
			*app_id = a->kernel.app_id;
		} else {
			memset(&a->kernel, 0, sizeof(a->kernel));
		}
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

uint16_t hsm_auth_close_kernel(struct hsm_auth *a)
{
	uint16_t id;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	id = a->kernel.id;
	memset(&a->kernel, 0, sizeof(a->kernel));
	pthread_mutex_unlock(&a->lock);
	return id;
}

int hsm_auth_close_session(struct hsm_auth *a, uint16_t session_id)
{
	struct session *s;
	int ret = HSM_AUTH_NO_SESSION;

	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	if (s) {
		memset(s, 0, sizeof(*s));
		ret = HSM_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_flush(struct hsm_auth *a, uint16_t session_id, uint16_t app_id)
{
	struct session *s;
	int ret = HSM_AUTH_NO_SESSION;

	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	if (s && s->app_id == app_id) {
		memset(s, 0, sizeof(*s));
		ret = HSM_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/* Roles allowed for each op class: bit (1 << role). */
#define O_ (1u << HSM_ROLE_OFFICER)
#define U_ (1u << HSM_ROLE_USER)
#define K_ (1u << HSM_ROLE_KERNEL)
static const unsigned int op_roles[] = {
	[HSM_OP_INFO] = O_ | U_ | K_,
	[HSM_OP_USE_KEY] = O_ | U_ | K_,
	[HSM_OP_SESSION_KEYS] = O_ | U_ | K_,
	[HSM_OP_MANAGE_KEYS] = O_,
	[HSM_OP_BACKUP] = O_,
	[HSM_OP_MANAGE_USERS] = O_,
	[HSM_OP_ZEROIZE] = O_,
	[HSM_OP_CHANGE_OWN_PIN] = O_ | U_,
	[HSM_OP_KERNEL_IMPORT] = K_,
	[HSM_OP_OWN_SESSION] = O_ | U_ | K_,
	[HSM_OP_RAW_KEY] = K_,
};

static const char *const op_names[] = {
	[HSM_OP_INFO] = "INFO",
	[HSM_OP_USE_KEY] = "USE_KEY",
	[HSM_OP_SESSION_KEYS] = "SESSION_KEYS",
	[HSM_OP_MANAGE_KEYS] = "MANAGE_KEYS",
	[HSM_OP_BACKUP] = "BACKUP",
	[HSM_OP_MANAGE_USERS] = "MANAGE_USERS",
	[HSM_OP_ZEROIZE] = "ZEROIZE",
	[HSM_OP_CHANGE_OWN_PIN] = "CHANGE_OWN_PIN",
	[HSM_OP_KERNEL_IMPORT] = "KERNEL_IMPORT",
	[HSM_OP_OWN_SESSION] = "OWN_SESSION",
	[HSM_OP_RAW_KEY] = "RAW_KEY",
};

unsigned int hsm_auth_op_roles(enum hsm_auth_op op)
{
	if ((unsigned int)op >= sizeof(op_roles) / sizeof(op_roles[0]))
		return 0;
	return op_roles[op];
}

bool hsm_auth_op_while_must_change(enum hsm_auth_op op)
{
	return op == HSM_OP_CHANGE_OWN_PIN || op == HSM_OP_OWN_SESSION;
}

const char *hsm_auth_op_name(enum hsm_auth_op op)
{
	if ((unsigned int)op >= sizeof(op_names) / sizeof(op_names[0]))
		return NULL;
	return op_names[op];
}

int hsm_auth_check(struct hsm_auth *a, uint16_t session_id, enum hsm_auth_op op)
{
	struct session *s;
	int ret;

	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	if (!s)
		ret = HSM_AUTH_NO_SESSION;
	else if (!hsm_auth_op_roles(op))
		ret = HSM_AUTH_INVALID_ARG;
	else if (!hsm_auth_op_while_must_change(op) && s->restricted)
		ret = HSM_AUTH_MUST_CHANGE_PIN;
	else if (!(hsm_auth_op_roles(op) & (1u << s->role)))
		ret = HSM_AUTH_WRONG_ROLE;
	else
		ret = HSM_AUTH_OK;
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_session_role(struct hsm_auth *a, uint16_t session_id, enum hsm_auth_role *role)
{
	struct session *s;
	int ret = HSM_AUTH_NO_SESSION;

	if (!a || !role)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	if (s) {
		*role = (enum hsm_auth_role)s->role;
		ret = HSM_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_session_held(struct hsm_auth *a, uint16_t session_id, uint16_t app_id,
			  enum hsm_auth_role *role)
{
	struct session *s;
	int ret = HSM_AUTH_NO_SESSION;

	if (!a)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	/* A wrong short_app_id looks exactly like a session that is not open. */
	if (s && s->app_id == app_id) {
		if (role)
			*role = (enum hsm_auth_role)s->role;
		ret = HSM_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int hsm_auth_session_app_id(struct hsm_auth *a, uint16_t session_id, uint16_t *app_id)
{
	struct session *s;
	int ret = HSM_AUTH_NO_SESSION;

	if (!a || !app_id)
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	s = find_session(a, session_id);
	if (s) {
		*app_id = s->app_id;
		ret = HSM_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

unsigned int hsm_auth_session_count(struct hsm_auth *a)
{
	unsigned int i, n = 0;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		n += a->sess[i].id != 0;
	pthread_mutex_unlock(&a->lock);
	return n;
}

int hsm_auth_lockout(struct hsm_auth *a, enum hsm_auth_role role, uint32_t *failures,
		     uint64_t *wait_ms)
{
	struct cred *c;

	if (!a || !role_valid(role))
		return HSM_AUTH_INVALID_ARG;
	pthread_mutex_lock(&a->lock);
	c = cred_of(a, role);
	if (failures)
		*failures = c->failures;
	if (wait_ms)
		*wait_ms = wait_left(a, c);
	pthread_mutex_unlock(&a->lock);
	return HSM_AUTH_OK;
}

bool hsm_auth_must_change(struct hsm_auth *a, enum hsm_auth_role role)
{
	bool r;

	if (!a || !role_valid(role))
		return false;
	pthread_mutex_lock(&a->lock);
	r = cred_of(a, role)->must_change;
	pthread_mutex_unlock(&a->lock);
	return r;
}

uint64_t hsm_auth_persist_gen(struct hsm_auth *a)
{
	uint64_t g;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	g = a->persist_gen;
	pthread_mutex_unlock(&a->lock);
	return g;
}

/* ---- serialization --------------------------------------------------- */

void hsm_auth_image_free(uint8_t *image, size_t len)
{
	if (image)
		OPENSSL_clear_free(image, len);
}

int hsm_auth_serialize(struct hsm_auth *a, uint8_t **image, size_t *len)
{
	unsigned int r;
	uint8_t *img, *p;

	if (!a || !image || !len)
		return HSM_AUTH_INVALID_ARG;
	img = OPENSSL_zalloc(IMAGE_LEN);
	if (!img)
		return HSM_AUTH_NOMEM;
	memcpy(img, IMAGE_MAGIC, MAGIC_LEN);
	put_le16(img + 8, IMAGE_VERSION);
	put_le16(img + 10, IMAGE_RECS);
	put_le16(img + 12, REC_LEN);
	pthread_mutex_lock(&a->lock);
	for (r = HSM_ROLE_OFFICER, p = img + IMAGE_HDR; r <= HSM_ROLE_USER; r++, p += REC_LEN) {
		const struct cred *c = cred_of(a, r);

		p[0] = (uint8_t)r;
		p[1] = c->must_change ? FLAG_MUST_CHANGE : 0;
		memcpy(p + 2, c->id, HSM_AUTH_ID_LEN);
		memcpy(p + 18, c->salt, HSM_AUTH_SALT_LEN);
		put_le32(p + 34, c->iter);
		memcpy(p + 38, c->hash, HSM_AUTH_HASH_LEN);
		put_le32(p + 70, c->failures);
		put_le64(p + 74, c->last_fail);
	}
	pthread_mutex_unlock(&a->lock);
	*image = img;
	*len = IMAGE_LEN;
	return HSM_AUTH_OK;
}

/* Credentials of @img into @a; with @sessions_ok also while sessions are open. */
static int auth_load(struct hsm_auth *a, const uint8_t *img, size_t len, bool sessions_ok)
{
	struct cred creds[NROLES];
	const uint8_t *p;
	unsigned int r, i;
	int ret = HSM_AUTH_BAD_IMAGE;

	if (!a || !img)
		return HSM_AUTH_INVALID_ARG;
	memset(creds, 0, sizeof(creds));
	if (len != IMAGE_LEN || memcmp(img, IMAGE_MAGIC, MAGIC_LEN) ||
	    get_le16(img + 8) != IMAGE_VERSION || get_le16(img + 10) != IMAGE_RECS ||
	    get_le16(img + 12) != REC_LEN)
		return HSM_AUTH_BAD_IMAGE;
	for (r = HSM_ROLE_OFFICER, p = img + IMAGE_HDR; r <= HSM_ROLE_USER; r++, p += REC_LEN) {
		struct cred *c = &creds[r - 1];

		if (p[0] != r || (p[1] & ~FLAG_MUST_CHANGE))
			goto out;
		c->must_change = p[1] & FLAG_MUST_CHANGE;
		memcpy(c->id, p + 2, HSM_AUTH_ID_LEN);
		memcpy(c->salt, p + 18, HSM_AUTH_SALT_LEN);
		c->iter = get_le32(p + 34);
		if (c->iter < HSM_AUTH_PBKDF2_MIN || c->iter > HSM_AUTH_PBKDF2_MAX)
			goto out;
		memcpy(c->hash, p + 38, HSM_AUTH_HASH_LEN);
		c->failures = get_le32(p + 70);
		c->last_fail = get_le64(p + 74);
	}
	pthread_mutex_lock(&a->lock);
	for (i = 0; !sessions_ok && i < HSM_AUTH_MAX_SESSIONS; i++)
		if (a->sess[i].id)
			break;
	if (!sessions_ok && i < HSM_AUTH_MAX_SESSIONS) {
		ret = HSM_AUTH_BUSY;
	} else {
		memcpy(a->cred, creds, sizeof(creds));
		ret = HSM_AUTH_OK;
	}
	pthread_mutex_unlock(&a->lock);
out:
	OPENSSL_cleanse(creds, sizeof(creds));
	return ret;
}

int hsm_auth_deserialize(struct hsm_auth *a, const uint8_t *img, size_t len)
{
	return auth_load(a, img, len, false);
}

int hsm_auth_restore(struct hsm_auth *a, const uint8_t *img, size_t len)
{
	return auth_load(a, img, len, true);
}
