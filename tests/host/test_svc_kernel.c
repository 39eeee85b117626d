// SPDX-License-Identifier: MIT
/*
 * The kernel session and the crypto-API services through hsm_fw_execute
 * with real MBOR requests: OpenKernelSession, KeyImport, UnmaskKey,
 * KeyExportMasked, AesEncryptDecrypt (ECB, CBC, CTR, XTS, GCM), Hash
 * (SHA-2 and HMAC, resumable), RsaModExp, RsaPublic and EccVerify. Every
 * result is cross-checked with OpenSSL EVP; the negative cases cover
 * strict decoding, lengths, roles, visibility between the kernel session
 * and the partition's sessions, blob tampering and kinds, and what a
 * controller reset drops and keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "hsm_vault.h"
#include "svc_util.h"
#include "tap.h"

#define ABSENT (-1)

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *OFF_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
static const uint8_t *USR_ID = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
static const uint8_t *USR_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"officer new PIN!";
static const uint8_t *USR_PIN1 = (const uint8_t *)"user's new PIN#1";

static struct hsm_fw *start(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	const struct hsm_fw_config cfg = { .serial = "KSVC-1", .fw_rev = "1", .auth = &acfg };

	return hsm_fw_new(&cfg);
}

/* ---- sessions -------------------------------------------------------- */

static long sealed_call(struct hsm_fw *fw, uint32_t op, int sid, enum hsm_auth_msg_kind kind,
			uint8_t role, const uint8_t *id, const uint8_t *pin,
			const uint8_t *new_pin, struct rsp *r)
{
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	struct mbor_enc *e;
	struct rq q;
	long st;

	st = seal(fw, kind, role, id, pin, new_pin, nonce, &s);
	if (st)
		return st;
	e = rq_begin(&q, op, sid);
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_SESS_HOST_PUB);
	mbor_enc_bytes(e, s.host_pub, s.host_pub_len);
	mbor_enc_key(e, AZIHSM_SESS_MSG_NONCE);
	mbor_enc_bytes(e, nonce, sizeof(nonce));
	mbor_enc_key(e, AZIHSM_SESS_CIPHERTEXT);
	mbor_enc_bytes(e, s.ct, s.ct_len);
	mbor_enc_key(e, AZIHSM_SESS_TAG);
	mbor_enc_bytes(e, s.tag, sizeof(s.tag));
	return rq_send(fw, &q, r);
}

/* Open a session of @role with @pin; -1 on failure. */
static long login(struct hsm_fw *fw, uint8_t role, const uint8_t *id, const uint8_t *pin)
{
	static struct rsp r;

	if (sealed_call(fw, AZIHSM_OP_OPEN_SESSION, NOSESS, HSM_AUTH_MSG_OPEN, role, id, pin,
			NULL, &r))
		return -1;
	return rsp_u16(&r, AZIHSM_SESS_ID);
}

/* First login of @role: open with the default PIN and change it. */
static long first_login(struct hsm_fw *fw, uint8_t role, const uint8_t *id,
			const uint8_t *pin0, const uint8_t *pin1)
{
	static struct rsp r;
	long sid = login(fw, role, id, pin0);

	if (sid < 0 || sealed_call(fw, AZIHSM_OP_CHANGE_PIN, (int)sid, HSM_AUTH_MSG_CHPIN, role,
				   id, pin0, pin1, &r))
		return -1;
	return sid;
}

static long open_kernel(struct hsm_fw *fw)
{
	static struct rsp r;
	long st = call0(fw, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &r);

	return st ? -st : rsp_u16(&r, AZIHSM_KSESS_F_ID);
}

/* ---- keys ------------------------------------------------------------- */

static uint8_t last_blob[4096];
static size_t last_blob_len;

static long import(struct hsm_fw *fw, int sid, uint8_t type, uint32_t usage,
		   const uint8_t *mat, size_t len, uint16_t *id)
{
	static struct rsp r;
	const uint8_t *b;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_KEY_IMPORT, sid);
	long st;

	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
	mbor_enc_u8(e, type);
	mbor_enc_key(e, AZIHSM_IMPORT_F_USAGE);
	mbor_enc_u32(e, usage);
	mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
	mbor_enc_bytes(e, mat, len);
	st = rq_send(fw, &q, &r);
	if (id)
		*id = 0;
	last_blob_len = 0;
	if (st)
		return st;
	if (id)
		*id = (uint16_t)rsp_u16(&r, AZIHSM_IMPORT_F_KEY_ID);
	if (rsp_bytes(&r, AZIHSM_IMPORT_F_BLOB, &b, &last_blob_len) ||
	    last_blob_len > sizeof(last_blob))
		return -2;
	memcpy(last_blob, b, last_blob_len);
	return 0;
}

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

static long unmask(struct hsm_fw *fw, int sid, const uint8_t *blob, size_t len, uint16_t *id)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_UNMASK_KEY, sid);
	long st;

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_UNMASK_F_BLOB);
	mbor_enc_bytes(e, blob, len);
	st = rq_send(fw, &q, &r);
	if (id)
		*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_UNMASK_F_KEY_ID);
	return st;
}

static long export_masked(struct hsm_fw *fw, int sid, uint16_t id, uint8_t *blob, size_t *len)
{
	static struct rsp r;
	const uint8_t *b;
	size_t n;
	long st = call_id(fw, AZIHSM_OP_KEY_EXPORT_MASKED, sid, id, &r);

	*len = 0;
	if (st)
		return st;
	if (rsp_bytes(&r, AZIHSM_MASK_F_BLOB, &b, &n) || n > 4096)
		return -2;
	memcpy(blob, b, n);
	*len = n;
	return 0;
}

/* ---- AES ------------------------------------------------------------- */

struct aes_call {
	uint16_t key;
	uint8_t mode;
	bool decrypt;
	const uint8_t *iv;	/* NULL: absent */
	size_t iv_len;
	const uint8_t *data;
	size_t len;
	const uint8_t *aad;	/* NULL: absent */
	size_t aad_len;
	const uint8_t *tag;	/* NULL: absent */
	size_t tag_len;
	int tag_len_field;	/* ABSENT or the value */
	bool has_xts_block;
	uint32_t xts_block;
	/* answer */
	uint8_t out[4096];
	size_t out_len;
	uint8_t iv_out[16];
	size_t iv_out_len;
	uint8_t tag_out[16];
	size_t tag_out_len;
	bool fips;
};

static long aes(struct hsm_fw *fw, int sid, struct aes_call *c)
{
	static struct rsp r;
	const uint8_t *p;
	size_t n;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_AES_ENCRYPT_DECRYPT, sid);
	long st;

	mbor_enc_map(e, 4 + !!c->iv + !!c->aad + !!c->tag + (c->tag_len_field != ABSENT) +
			    c->has_xts_block);
	mbor_enc_key(e, AZIHSM_AES_F_KEY_ID);
	mbor_enc_u16(e, c->key);
	mbor_enc_key(e, AZIHSM_AES_F_MODE);
	mbor_enc_u8(e, c->mode);
	mbor_enc_key(e, AZIHSM_AES_F_DECRYPT);
	mbor_enc_bool(e, c->decrypt);
	if (c->iv) {
		mbor_enc_key(e, AZIHSM_AES_F_IV);
		mbor_enc_bytes(e, c->iv, c->iv_len);
	}
	mbor_enc_key(e, AZIHSM_AES_F_DATA);
	mbor_enc_bytes(e, c->data, c->len);
	if (c->aad) {
		mbor_enc_key(e, AZIHSM_AES_F_AAD);
		mbor_enc_bytes(e, c->aad, c->aad_len);
	}
	if (c->tag) {
		mbor_enc_key(e, AZIHSM_AES_F_TAG);
		mbor_enc_bytes(e, c->tag, c->tag_len);
	}
	if (c->tag_len_field != ABSENT) {
		mbor_enc_key(e, AZIHSM_AES_F_TAG_LEN);
		mbor_enc_u8(e, (uint8_t)c->tag_len_field);
	}
	if (c->has_xts_block) {
		mbor_enc_key(e, AZIHSM_AES_F_XTS_BLOCK);
		mbor_enc_u32(e, c->xts_block);
	}
	st = rq_send(fw, &q, &r);
	c->out_len = c->iv_out_len = c->tag_out_len = 0;
	c->fips = r.h.fips_approved;
	if (st)
		return st;
	if (rsp_bytes(&r, AZIHSM_AES_F_OUT, &p, &n) || n > sizeof(c->out))
		return -2;
	memcpy(c->out, p, n);
	c->out_len = n;
	if (!rsp_bytes(&r, AZIHSM_AES_F_IV_OUT, &p, &n) && n <= 16) {
		memcpy(c->iv_out, p, n);
		c->iv_out_len = n;
	}
	if (!rsp_bytes(&r, AZIHSM_AES_F_TAG_OUT, &p, &n) && n <= 16) {
		memcpy(c->tag_out, p, n);
		c->tag_out_len = n;
	}
	return 0;
}

/* EVP reference: one-shot cipher @name, no padding; GCM with @tag_len. */
static int ref_cipher(const char *name, const uint8_t *key, const uint8_t *iv, size_t iv_len,
		      bool enc, const uint8_t *aad, size_t aad_len, const uint8_t *in,
		      size_t len, uint8_t *out, uint8_t *tag, size_t tag_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	bool gcm = strstr(name, "GCM") != NULL;
	int n = 0, f = 0, ok;

	ok = ctx && c && EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL) == 1 &&
	     (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1) &&
	     EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     (!aad_len || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
	     (!len || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
	if (ok && gcm && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)tag_len, (void *)tag) == 1;
	if (!len)
		n = 0;
	ok = ok && EVP_CipherFinal_ex(ctx, out + n, &f) == 1;
	if (ok && gcm && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, (int)tag_len, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return ok ? 0 : -1;
}

/*
 * Test-side XTS encryption from AES-ECB (IEEE 1619 with ciphertext
 * stealing), checked against EVP's XTS on distinct halves, then used for
 * the equal-halves keys EVP refuses.
 */
static void ref_mul_alpha(uint8_t t[16])
{
	unsigned int c = 0, n, i;

	for (i = 0; i < 16; i++) {
		n = t[i] >> 7;
		t[i] = (uint8_t)(t[i] << 1 | c);
		c = n;
	}
	if (c)
		t[0] ^= 0x87;
}

/* ... of data starting @start blocks into the unit (tweak doubled @start times) */
static void ref_xts_enc_at(const uint8_t *k, size_t half, const uint8_t tw[16], uint32_t start,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	const char *ecb = half == 16 ? "AES-128-ECB" : "AES-256-ECB";
	uint8_t t[16], x[16], y[16], last[16];
	size_t m = len / 16, r = len % 16, j, i;

	ref_cipher(ecb, k + half, NULL, 0, true, NULL, 0, tw, 16, t, NULL, 0);
	for (j = 0; j < start; j++)
		ref_mul_alpha(t);
	for (j = 0; j < m; j++) {
		for (i = 0; i < 16; i++)
			x[i] = in[j * 16 + i] ^ t[i];
		ref_cipher(ecb, k, NULL, 0, true, NULL, 0, x, 16, y, NULL, 0);
		for (i = 0; i < 16; i++)
			out[j * 16 + i] = y[i] ^ t[i];
		ref_mul_alpha(t);
	}
	if (r) {
		/* steal: last full ciphertext block's head becomes the tail */
		memcpy(last, in + m * 16, r);
		memcpy(last + r, out + (m - 1) * 16 + r, 16 - r);
		memcpy(out + m * 16, out + (m - 1) * 16, r);
		for (i = 0; i < 16; i++)
			x[i] = last[i] ^ t[i];
		ref_cipher(ecb, k, NULL, 0, true, NULL, 0, x, 16, y, NULL, 0);
		for (i = 0; i < 16; i++)
			out[(m - 1) * 16 + i] = y[i] ^ t[i];
	}
}

static void ref_xts_enc(const uint8_t *k, size_t half, const uint8_t tw[16], const uint8_t *in,
			size_t len, uint8_t *out)
{
	ref_xts_enc_at(k, half, tw, 0, in, len, out);
}

static void rnd(uint8_t *p, size_t n)
{
	RAND_bytes(p, (int)n);
}

static uint32_t rnd_u32(void)
{
	uint32_t v = 0;

	rnd((uint8_t *)&v, sizeof(v));
	return v;
}

/* ---- tests ----------------------------------------------------------- */

static struct hsm_fw *fw;
static long so, su, ks;		/* officer, user, kernel sessions */

static void test_kernel_session(void)
{
	struct rsp r;
	long k1, k2;
	uint16_t id, pers;
	long sids[8];
	int i, n_ok = 0;
	struct rq q;

	so = first_login(fw, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1);
	su = first_login(fw, HSM_ROLE_USER, USR_ID, USR_PIN0, USR_PIN1);
	tap_ok(so > 0 && su > 0, "officer and user sessions open");

	k1 = open_kernel(fw);
	tap_ok(k1 > 0 && k1 != so && k1 != su, "OpenKernelSession: a new session id");
	tap_eq(keygen(fw, (int)k1, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, NULL, false, &id), 0,
	       "kernel session generates a session key");
	k2 = open_kernel(fw);
	tap_eq(k2, -AZIHSM_STATUS_KERNEL_SESSION_OPEN,
	       "issue 9: a second OpenKernelSession: KERNEL_SESSION_OPEN");
	tap_eq(call_id(fw, AZIHSM_OP_KEY_PUBLIC, (int)k1, id, &r), AZIHSM_STATUS_KEY_TYPE,
	       "issue 9: the first kernel session is untouched (its key answers)");
	mbor_enc_map(rq_begin(&q, AZIHSM_OP_KEY_LIST, (int)k1), 0);
	tap_eq(rq_send_app(fw, &q, &r, (uint16_t)(svc_app_id(fw, (uint16_t)k1) ^ 0x4000)),
	       AZIHSM_STATUS_NO_SESSION,
	       "issue 9: the kernel session with another short_app_id: NO_SESSION");
	hsm_fw_flush_session(fw, (uint16_t)k1, (uint16_t)(svc_app_id(fw, (uint16_t)k1) + 1));
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, (int)k1, &r), 0,
	       "issue 9: a flush with another short_app_id leaves it open");
	hsm_fw_reset_kernel_session(fw);
	tap_eq(call_id(fw, AZIHSM_OP_KEY_PUBLIC, (int)k1, id, &r), AZIHSM_STATUS_NO_SESSION,
	       "hsm_fw_reset_kernel_session closes the kernel session");
	k2 = open_kernel(fw);
	tap_ok(k2 > 0, "after it a new OpenKernelSession succeeds");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, (int)k2, id, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "and the old session's key is gone");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, (int)so, id, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "  for the officer too");
	ks = k2;

	/* Request with data: MALFORMED; header session ignored. */
	{
		struct rq q;
		struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS);

		mbor_enc_map(e, 1);
		mbor_enc_key(e, 1);
		mbor_enc_u8(e, 1);
		tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
		       "OpenKernelSession with a field: MALFORMED");
	}

	/* Not one of the 8 partition sessions (the last one the officer's, issue 9 RT-4). */
	for (i = 0; i < 6; i++) {
		if (i < 5)
			sids[i] = login(fw, HSM_ROLE_USER, USR_ID, USR_PIN1);
		else
			sids[i] = login(fw, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN1);
		n_ok += sids[i] > 0;
	}
	tap_eq(n_ok, 6, "8 partition sessions open beside the kernel session");
	tap_eq(login(fw, HSM_ROLE_USER, USR_ID, USR_PIN1), -1, "a 9th is refused");
	for (i = 0; i < 6; i++)
		call0(fw, AZIHSM_OP_CLOSE_SESSION, (int)sids[i], &r);

	/* Persistent keys are invisible to the kernel session. */
	tap_eq(keygen(fw, (int)so, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT,
		      "pers-aes", true, &pers), 0, "officer makes persistent key pers-aes");
	tap_eq(keygen(fw, (int)ks, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, "k-pers", true, NULL),
	       AZIHSM_STATUS_WRONG_ROLE, "kernel: KeyGenerate persistent is WRONG_ROLE");
	{
		struct rq q;
		struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_OPEN_KEY, (int)ks);

		mbor_enc_map(e, 1);
		mbor_enc_key(e, AZIHSM_KEY_F_OPEN_LABEL);
		mbor_enc_bytes(e, "pers-aes", 8);
		tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
		       "kernel: OpenKey of a persistent label is KEY_NOT_FOUND");
	}
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, (int)ks, pers, &r), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "kernel: DeleteKey of a persistent key is KEY_NOT_FOUND");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, (int)ks, &r), 0, "kernel: KeyList");
	tap_eq(rsp_u16(&r, AZIHSM_KEY_F_COUNT), 0, "  lists no persistent key");
	{
		uint8_t blob[4096];
		size_t bl;

		tap_eq(export_masked(fw, (int)ks, pers, blob, &bl), AZIHSM_STATUS_KEY_NOT_FOUND,
		       "kernel: KeyExportMasked of a persistent key is KEY_NOT_FOUND");
	}
	{
		struct aes_call c = { .key = pers, .mode = AZIHSM_AES_ECB, .tag_len_field = ABSENT };
		uint8_t d[16] = { 0 };

		c.data = d;
		c.len = 16;
		tap_eq(aes(fw, (int)ks, &c), AZIHSM_STATUS_KEY_NOT_FOUND,
		       "kernel: AES with a persistent key is KEY_NOT_FOUND");
		tap_eq(aes(fw, (int)su, &c), 0, "the user may use it");
	}
}

static uint16_t k_aes[3], k_gcm, k_xts128, k_xts256, k_xts_eq, k_enc_only;
static uint8_t m_aes[3][32], m_gcm[32], m_xts128[32], m_xts256[64], m_xts_eq[64];

static void test_import(void)
{
	static const uint8_t types[3] = { AZIHSM_KEY_AES128, AZIHSM_KEY_AES192, AZIHSM_KEY_AES256 };
	const uint32_t ed = AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT;
	uint8_t big[2048];
	struct rsp r;
	uint16_t id;
	int i;

	for (i = 0; i < 3; i++) {
		rnd(m_aes[i], sizeof(m_aes[i]));
		tap_eq(import(fw, (int)ks, types[i], ed, m_aes[i], 16 + 8 * (size_t)i, &k_aes[i]), 0,
		       "KeyImport AES-%d", 128 + 64 * i);
		tap_ok(last_blob_len > 0, "  a masked blob comes back");
	}
	rnd(m_gcm, 32);
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES256_GCM, ed, m_gcm, 32, &k_gcm), 0,
	       "KeyImport AES256_GCM");
	rnd(m_xts128, 32);
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128_XTS, ed, m_xts128, 32, &k_xts128), 0,
	       "KeyImport AES128_XTS (32 bytes)");
	rnd(m_xts256, 64);
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES256_XTS, ed, m_xts256, 64, &k_xts256), 0,
	       "KeyImport AES256_XTS (64 bytes)");
	memset(m_xts_eq, 0, 64);
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES256_XTS, ed, m_xts_eq, 64, &k_xts_eq), 0,
	       "KeyImport AES256_XTS with equal (all-zero) halves");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, m_aes[0], 16,
		      &k_enc_only), 0, "KeyImport AES-128 encrypt only");

	/* Wrong lengths and values. */
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128, ed, m_aes[0], 15, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "AES-128 of 15 bytes: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES256, ed, m_aes[2], 24, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "AES-256 of 24 bytes: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128_XTS, ed, m_xts256, 64, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "AES128_XTS of 64 bytes: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128, ed, m_aes[0], 0, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "empty material: INVALID_ARG");
	tap_eq(import(fw, (int)ks, 0x77, ed, m_aes[0], 16, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "unknown type: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128, AZIHSM_USAGE_SIGN, m_aes[0], 16, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "AES with sign usage: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES128, 0, m_aes[0], 16, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "no usage: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, m_aes[2], 32, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "EC type: INVALID_ARG");
	memset(big, 0x41, sizeof(big));
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, big, 300, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "RSA material not DER: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, big, 1025, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "HMAC of 1025 bytes: INVALID_ARG");
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, big, 0, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "HMAC of 0 bytes: INVALID_ARG");

	/* Roles: only the kernel session imports. */
	tap_eq(import(fw, (int)su, AZIHSM_KEY_AES128, ed, m_aes[0], 16, NULL),
	       AZIHSM_STATUS_WRONG_ROLE, "user KeyImport: WRONG_ROLE");
	tap_eq(import(fw, (int)so, AZIHSM_KEY_AES128, ed, m_aes[0], 16, NULL),
	       AZIHSM_STATUS_WRONG_ROLE, "officer KeyImport: WRONG_ROLE");
	tap_eq(import(fw, NOSESS, AZIHSM_KEY_AES128, ed, m_aes[0], 16, NULL),
	       AZIHSM_STATUS_NO_SESSION, "KeyImport without a session: NO_SESSION");

	/* Malformed: missing field, extra field, wrong type. */
	{
		struct rq q;
		struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_KEY_IMPORT, (int)ks);

		mbor_enc_map(e, 2);
		mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
		mbor_enc_u8(e, AZIHSM_KEY_AES128);
		mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
		mbor_enc_bytes(e, m_aes[0], 16);
		tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED, "KeyImport without usage");
		e = rq_begin(&q, AZIHSM_OP_KEY_IMPORT, (int)ks);
		mbor_enc_map(e, 4);
		mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
		mbor_enc_u8(e, AZIHSM_KEY_AES128);
		mbor_enc_key(e, AZIHSM_IMPORT_F_USAGE);
		mbor_enc_u32(e, ed);
		mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
		mbor_enc_bytes(e, m_aes[0], 16);
		mbor_enc_key(e, 4);
		mbor_enc_u8(e, 0);
		tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED, "KeyImport with field 4");
		e = rq_begin(&q, AZIHSM_OP_KEY_IMPORT, (int)ks);
		mbor_enc_map(e, 3);
		mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
		mbor_enc_u8(e, AZIHSM_KEY_AES128);
		mbor_enc_key(e, AZIHSM_IMPORT_F_USAGE);
		mbor_enc_u32(e, ed);
		mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
		mbor_enc_u32(e, 5);
		tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED, "KeyImport material as u32");
	}

	/* The user session never sees kernel keys. */
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, (int)su, k_aes[0], &r),
	       AZIHSM_STATUS_KEY_NOT_FOUND, "user: DeleteKey of a kernel key is KEY_NOT_FOUND");
	{
		struct aes_call c = { .key = k_aes[0], .mode = AZIHSM_AES_ECB,
				      .tag_len_field = ABSENT };
		uint8_t d[16] = { 0 };

		c.data = d;
		c.len = 16;
		tap_eq(aes(fw, (int)su, &c), AZIHSM_STATUS_KEY_NOT_FOUND,
		       "user: AES with a kernel key is KEY_NOT_FOUND");
		c.key = k_enc_only;
		c.decrypt = true;
		tap_eq(aes(fw, (int)su, &c), AZIHSM_STATUS_KEY_NOT_FOUND,
		       "user: decrypt with a kernel encrypt-only key is KEY_NOT_FOUND, not KEY_USAGE");
	}
	(void)id;
}

static void test_aes_modes(void)
{
	static const char *const ecb[3] = { "AES-128-ECB", "AES-192-ECB", "AES-256-ECB" };
	static const char *const cbc[3] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
	static const char *const ctr[3] = { "AES-128-CTR", "AES-192-CTR", "AES-256-CTR" };
	static const char *const gcm[3] = { "AES-128-GCM", "AES-192-GCM", "AES-256-GCM" };
	static const size_t lens[] = { 16, 32, 48, 160, 4000 };
	static const size_t ctr_lens[] = { 1, 15, 16, 17, 33, 100, 4000 };
	static struct aes_call c, d;
	uint8_t data[4096], ref[4096], iv[16], tag[16];
	size_t li;
	int k, ok;

	rnd(data, sizeof(data));
	rnd(iv, sizeof(iv));
	for (k = 0; k < 3; k++) {
		/* ECB */
		ok = 1;
		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			memset(&c, 0, sizeof(c));
			c.key = k_aes[k];
			c.mode = AZIHSM_AES_ECB;
			c.tag_len_field = ABSENT;
			c.data = data;
			c.len = lens[li];
			ref_cipher(ecb[k], m_aes[k], NULL, 0, true, NULL, 0, data, lens[li], ref, NULL,
				   0);
			ok &= aes(fw, (int)ks, &c) == 0 && c.out_len == lens[li] &&
			      !memcmp(c.out, ref, lens[li]) && c.fips && !c.iv_out_len;
			d = c;
			d.decrypt = true;
			d.data = c.out;
			ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, data, lens[li]);
		}
		tap_ok(ok, "%s encrypt/decrypt match EVP, approved", ecb[k]);

		/* CBC, chained over two calls */
		ok = 1;
		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			size_t n = lens[li], h = n > 16 ? (n / 32) * 16 : n;

			ref_cipher(cbc[k], m_aes[k], iv, 16, true, NULL, 0, data, n, ref, NULL, 0);
			memset(&c, 0, sizeof(c));
			c.key = k_aes[k];
			c.mode = AZIHSM_AES_CBC;
			c.tag_len_field = ABSENT;
			c.iv = iv;
			c.iv_len = 16;
			c.data = data;
			c.len = h;
			ok &= aes(fw, (int)ks, &c) == 0 && !memcmp(c.out, ref, h) &&
			      c.iv_out_len == 16 && !memcmp(c.iv_out, ref + h - 16, 16);
			if (h < n) {
				memcpy(d.iv_out, c.iv_out, 16);
				d = c;
				d.iv = c.iv_out;
				d.data = data + h;
				d.len = n - h;
				ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, ref + h, n - h) &&
				      !memcmp(d.iv_out, ref + n - 16, 16);
			}
			/* decrypt the whole in one call */
			memset(&d, 0, sizeof(d));
			d.key = k_aes[k];
			d.mode = AZIHSM_AES_CBC;
			d.decrypt = true;
			d.tag_len_field = ABSENT;
			d.iv = iv;
			d.iv_len = 16;
			d.data = ref;
			d.len = n;
			ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, data, n) &&
			      !memcmp(d.iv_out, ref + n - 16, 16) && d.fips;
		}
		tap_ok(ok, "%s chained encrypt, decrypt, iv_out = last ciphertext block", cbc[k]);

		/* CTR, any length, iv_out = counter after the last (partial) block */
		ok = 1;
		for (li = 0; li < sizeof(ctr_lens) / sizeof(ctr_lens[0]); li++) {
			size_t n = ctr_lens[li];

			ref_cipher(ctr[k], m_aes[k], iv, 16, true, NULL, 0, data, n, ref, NULL, 0);
			memset(&c, 0, sizeof(c));
			c.key = k_aes[k];
			c.mode = AZIHSM_AES_CTR;
			c.decrypt = li & 1;	/* the same either way */
			c.tag_len_field = ABSENT;
			c.iv = iv;
			c.iv_len = 16;
			c.data = data;
			c.len = n;
			ok &= aes(fw, (int)ks, &c) == 0 && c.out_len == n && !memcmp(c.out, ref, n) &&
			      c.iv_out_len == 16;
			/* the next call from iv_out continues the stream */
			if (n % 16 == 0 && n < 2000) {
				d = c;
				d.iv = c.iv_out;
				d.data = data + n;
				d.len = 16;
				ref_cipher(ctr[k], m_aes[k], iv, 16, true, NULL, 0, data, n + 16, ref,
					   NULL, 0);
				ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, ref + n, 16);
			}
		}
		tap_ok(ok, "%s any length matches EVP; iv_out continues the stream", ctr[k]);

		/* GCM with AAD and tags of 4..16 bytes */
		ok = 1;
		for (li = 4; li <= 16; li++) {
			size_t n = li * 7;

			rnd(tag, 16);
			ref_cipher(gcm[k], m_aes[k], iv, 12, true, data + 3000, li * 3, data, n, ref,
				   tag, li);
			memset(&c, 0, sizeof(c));
			c.key = k_aes[k];
			c.mode = AZIHSM_AES_GCM;
			c.iv = iv;
			c.iv_len = 12;
			c.aad = data + 3000;
			c.aad_len = li * 3;
			c.data = data;
			c.len = n;
			c.tag_len_field = li == 16 && k == 0 ? ABSENT : (int)li;
			ok &= aes(fw, (int)ks, &c) == 0 && !memcmp(c.out, ref, n) &&
			      c.tag_out_len == li && !memcmp(c.tag_out, tag, li) && !c.fips &&
			      c.iv_out_len == 12 && !memcmp(c.iv_out, iv, 12);
			memset(&d, 0, sizeof(d));
			d.key = k_aes[k];
			d.mode = AZIHSM_AES_GCM;
			d.decrypt = true;
			d.tag_len_field = ABSENT;
			d.iv = iv;
			d.iv_len = 12;
			d.aad = data + 3000;
			d.aad_len = li * 3;
			d.data = ref;
			d.len = n;
			d.tag = tag;
			d.tag_len = li;
			ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, data, n) && !d.tag_out_len &&
			      d.fips == (li >= 12);
			tag[0] ^= 1;
			ok &= aes(fw, (int)ks, &d) == AZIHSM_STATUS_BAD_TAG;
		}
		tap_ok(ok, "%s with AAD, tags of 4..16 bytes: EVP's; the kernel's own IV: encrypt "
			   "not approved (issue 9), echoed; flipped tag BAD_TAG", gcm[k]);
	}

	/* GCM with an AES256_GCM key, empty text (GMAC), no AAD */
	memset(&c, 0, sizeof(c));
	c.key = k_gcm;
	c.mode = AZIHSM_AES_GCM;
	c.iv = iv;
	c.iv_len = 12;
	c.tag_len_field = ABSENT;
	c.data = data;
	c.len = 0;
	ref_cipher("AES-256-GCM", m_gcm, iv, 12, true, NULL, 0, data, 0, ref, tag, 16);
	tap_ok(aes(fw, (int)ks, &c) == 0 && c.out_len == 0 && c.tag_out_len == 16 &&
	       !memcmp(c.tag_out, tag, 16) && !c.fips,
	       "GCM AES256_GCM key, empty text: EVP's tag (the kernel's IV: not approved)");

	/*
	 * issue 9 (SP 800-38D 8.2.2): GCM encryption IVs are the device's.
	 * The kernel session may leave the IV out and gets an approved
	 * encryption under a device IV; the partition's sessions must.
	 */
	{
		uint8_t iv1[12], ct[100], tg[16];
		static struct rsp dr;
		uint16_t uk = 0;

		memset(&c, 0, sizeof(c));
		c.key = k_gcm;
		c.mode = AZIHSM_AES_GCM;
		c.tag_len_field = ABSENT;
		c.data = data;
		c.len = 100;
		tap_eq(aes(fw, (int)ks, &c), 0, "kernel session: GCM encrypt without an IV");
		memcpy(iv1, c.iv_out, 12);
		ref_cipher("AES-256-GCM", m_gcm, iv1, 12, true, NULL, 0, data, 100, ref, tag, 16);
		tap_ok(c.iv_out_len == 12 && c.out_len == 100 && !memcmp(c.out, ref, 100) &&
		       !memcmp(c.tag_out, tag, 16) && c.fips,
		       "  EVP's under the device IV it answers, approved");
		tap_eq(aes(fw, (int)ks, &c), 0, "  again");
		tap_ok(c.iv_out_len == 12 && memcmp(c.iv_out, iv1, 12),
		       "  another device IV");

		tap_eq(keygen(fw, (int)su, AZIHSM_KEY_AES256,
			      AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT, NULL, false, &uk), 0,
		       "user: an AES-256 session key");
		c.key = uk;
		c.iv = iv;
		c.iv_len = 12;
		tap_eq(aes(fw, (int)su, &c), AZIHSM_STATUS_INVALID_ARG,
		       "issue 9: user: GCM encrypt with its own IV: INVALID_ARG");
		c.iv = NULL;
		c.iv_len = 0;
		tap_eq(aes(fw, (int)su, &c), 0, "user: GCM encrypt without an IV");
		memcpy(iv1, c.iv_out, 12);
		memcpy(ct, c.out, 100);
		memcpy(tg, c.tag_out, 16);
		tap_ok(c.iv_out_len == 12 && c.tag_out_len == 16 && c.fips,
		       "  a 12-byte device IV answered, approved");
		tap_eq(aes(fw, (int)su, &c), 0, "  the same request again");
		tap_ok(c.iv_out_len == 12 && memcmp(c.iv_out, iv1, 12) && memcmp(c.out, ct, 100),
		       "  another IV, another ciphertext");
		memset(&d, 0, sizeof(d));
		d.key = uk;
		d.mode = AZIHSM_AES_GCM;
		d.decrypt = true;
		d.tag_len_field = ABSENT;
		d.iv = iv1;
		d.iv_len = 12;
		d.data = ct;
		d.len = 100;
		d.tag = tg;
		d.tag_len = 16;
		tap_ok(aes(fw, (int)su, &d) == 0 && !memcmp(d.out, data, 100) && d.fips,
		       "  decrypt with the answered IV (the caller's on decrypt): the plaintext");
		d.tag_len = 11;
		tap_eq(aes(fw, (int)su, &d), AZIHSM_STATUS_INVALID_ARG,
		       "  issue 9: user: GCM decrypt with an 11-byte tag: INVALID_ARG");
		d.tag_len = 4;
		tap_eq(aes(fw, (int)su, &d), AZIHSM_STATUS_INVALID_ARG,
		       "  issue 9: user: GCM decrypt with a 4-byte tag: INVALID_ARG");
		d.tag_len = 12;
		tap_ok(aes(fw, (int)su, &d) == 0 && !memcmp(d.out, data, 100),
		       "  user: GCM decrypt with the tag cut to 12 bytes: the plaintext");
		d.tag_len = 16;
		d.iv = NULL;
		d.iv_len = 0;
		tap_eq(aes(fw, (int)su, &d), AZIHSM_STATUS_INVALID_ARG,
		       "  GCM decrypt without an IV: INVALID_ARG");
		call_id(fw, AZIHSM_OP_DELETE_KEY, (int)su, uk, &dr);
	}

	/* XTS, AES-128 and AES-256, ciphertext stealing */
	{
		static const size_t xl[] = { 16, 17, 31, 512, 1000, 4096 };
		const struct { uint16_t key; const uint8_t *m; const char *name; bool fips; } xk[] = {
			{ k_xts128, m_xts128, "AES-128-XTS", true },
			{ k_xts256, m_xts256, "AES-256-XTS", true },
		};
		int x;

		for (x = 0; x < 2; x++) {
			ok = 1;
			for (li = 0; li < sizeof(xl) / sizeof(xl[0]); li++) {
				size_t n = xl[li];

				ref_cipher(xk[x].name, xk[x].m, iv, 16, true, NULL, 0, data, n, ref,
					   NULL, 0);
				memset(&c, 0, sizeof(c));
				c.key = xk[x].key;
				c.mode = AZIHSM_AES_XTS;
				c.tag_len_field = ABSENT;
				c.iv = iv;
				c.iv_len = 16;
				c.data = data;
				c.len = n;
				ok &= aes(fw, (int)ks, &c) == 0 && !memcmp(c.out, ref, n) && c.fips &&
				      !c.iv_out_len;
				d = c;
				d.decrypt = true;
				d.data = ref;
				ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, data, n);
			}
			tap_ok(ok, "%s lengths 16..4096 match EVP both ways, approved", xk[x].name);
		}
		/* The test's own XTS agrees with EVP on distinct halves... */
		ok = 1;
		for (li = 0; li < sizeof(xl) / sizeof(xl[0]); li++) {
			uint8_t mine[4096];

			ref_cipher("AES-256-XTS", m_xts256, iv, 16, true, NULL, 0, data, xl[li], ref,
				   NULL, 0);
			ref_xts_enc(m_xts256, 32, iv, data, xl[li], mine);
			ok &= !memcmp(mine, ref, xl[li]);
			ref_cipher("AES-128-XTS", m_xts128, iv, 16, true, NULL, 0, data, xl[li], ref,
				   NULL, 0);
			ref_xts_enc(m_xts128, 16, iv, data, xl[li], mine);
			ok &= !memcmp(mine, ref, xl[li]);
		}
		tap_ok(ok, "test reference XTS from ECB matches EVP (128 and 256)");
		/* ...and checks equal halves, which EVP refuses. */
		ok = 1;
		for (li = 0; li < sizeof(xl) / sizeof(xl[0]); li++) {
			memset(&c, 0, sizeof(c));
			c.key = k_xts_eq;
			c.mode = AZIHSM_AES_XTS;
			c.tag_len_field = ABSENT;
			c.iv = iv;
			c.iv_len = 16;
			c.data = data;
			c.len = xl[li];
			ref_xts_enc(m_xts_eq, 32, iv, data, xl[li], ref);
			ok &= aes(fw, (int)ks, &c) == 0 && c.out_len == xl[li] &&
			      !memcmp(c.out, ref, xl[li]) && !c.fips;
			d = c;
			d.decrypt = true;
			d.data = c.out;
			ok &= aes(fw, (int)ks, &d) == 0 && !memcmp(d.out, data, xl[li]) && !d.fips;
		}
		tap_ok(ok, "XTS with equal halves: matches the reference both ways, not approved");
	}

	/* Negative: lengths, fields, usage, key types. */
	{
		struct { uint8_t mode; const uint8_t *iv; size_t iv_len; size_t len; bool dec;
			 const uint8_t *aad; const uint8_t *tag; size_t tag_len; int tlf;
			 uint16_t key; long want; const char *what; } neg[] = {
			{ AZIHSM_AES_ECB, NULL, 0, 15, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "ECB of 15 bytes" },
			{ AZIHSM_AES_ECB, iv, 16, 16, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "ECB with an IV" },
			{ AZIHSM_AES_CBC, NULL, 0, 16, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "CBC without an IV" },
			{ AZIHSM_AES_CBC, iv, 12, 16, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "CBC with a 12-byte IV" },
			{ AZIHSM_AES_CBC, iv, 16, 17, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "CBC of 17 bytes" },
			{ AZIHSM_AES_CBC, iv, 16, 16, 0, data, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "CBC with AAD" },
			{ AZIHSM_AES_CTR, iv, 16, 16, 0, NULL, NULL, 0, 16, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "CTR with tag_len" },
			{ AZIHSM_AES_XTS, iv, 16, 15, 0, NULL, NULL, 0, ABSENT, k_xts256,
			  AZIHSM_STATUS_INVALID_ARG, "XTS of 15 bytes" },
			{ AZIHSM_AES_GCM, iv, 16, 16, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM with a 16-byte IV" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 0, NULL, NULL, 0, 3, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM tag_len 3" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 0, NULL, NULL, 0, 17, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM tag_len 17" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 1, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM decrypt without a tag" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 1, NULL, tag, 3, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM decrypt with a 3-byte tag" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 1, NULL, tag, 16, 16, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM decrypt with tag_len" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 0, NULL, tag, 16, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "GCM encrypt with a tag" },
			{ 0, NULL, 0, 16, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "mode 0" },
			{ 6, iv, 16, 16, 0, NULL, NULL, 0, ABSENT, k_aes[0],
			  AZIHSM_STATUS_INVALID_ARG, "mode 6" },
			{ AZIHSM_AES_ECB, NULL, 0, 16, 1, NULL, NULL, 0, ABSENT, k_enc_only,
			  AZIHSM_STATUS_KEY_USAGE, "decrypt with an encrypt-only key" },
			{ AZIHSM_AES_CTR, iv, 16, 16, 0, NULL, NULL, 0, ABSENT, k_enc_only,
			  AZIHSM_STATUS_KEY_USAGE,
			  "issue 9: CTR encrypt (= decrypt) with an encrypt-only key" },
			{ AZIHSM_AES_CTR, iv, 16, 0, 0, NULL, NULL, 0, ABSENT, k_enc_only,
			  AZIHSM_STATUS_KEY_USAGE,
			  "issue 9: CTR encrypt of nothing with an encrypt-only key" },
			{ AZIHSM_AES_XTS, iv, 16, 16, 0, NULL, NULL, 0, ABSENT, k_aes[2],
			  AZIHSM_STATUS_KEY_TYPE, "XTS with a plain AES key" },
			{ AZIHSM_AES_CBC, iv, 16, 16, 0, NULL, NULL, 0, ABSENT, k_xts256,
			  AZIHSM_STATUS_KEY_TYPE, "CBC with an XTS key" },
			{ AZIHSM_AES_GCM, iv, 12, 16, 0, NULL, NULL, 0, ABSENT, k_xts128,
			  AZIHSM_STATUS_KEY_TYPE, "GCM with an XTS key" },
			{ AZIHSM_AES_ECB, NULL, 0, 16, 0, NULL, NULL, 0, ABSENT, 0,
			  AZIHSM_STATUS_INVALID_ARG, "key id 0" },
			{ AZIHSM_AES_ECB, NULL, 0, 16, 0, NULL, NULL, 0, ABSENT, 0xfff0,
			  AZIHSM_STATUS_KEY_NOT_FOUND, "unknown key id" },
		};
		size_t i;

		for (i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
			memset(&c, 0, sizeof(c));
			c.key = neg[i].key;
			c.mode = neg[i].mode;
			c.decrypt = neg[i].dec;
			c.iv = neg[i].iv;
			c.iv_len = neg[i].iv_len;
			c.data = data;
			c.len = neg[i].len;
			c.aad = neg[i].aad;
			c.aad_len = neg[i].aad ? 5 : 0;
			c.tag = neg[i].tag;
			c.tag_len = neg[i].tag_len;
			c.tag_len_field = neg[i].tlf;
			tap_eq(aes(fw, (int)ks, &c), neg[i].want, "AES refused: %s", neg[i].what);
		}
	}
	/* Zero-length ECB/CBC/CTR: empty answers, the IV unchanged. */
	memset(&c, 0, sizeof(c));
	c.key = k_aes[1];
	c.mode = AZIHSM_AES_CTR;
	c.tag_len_field = ABSENT;
	c.iv = iv;
	c.iv_len = 16;
	c.data = data;
	tap_ok(aes(fw, (int)ks, &c) == 0 && !c.out_len && c.iv_out_len == 16 &&
	       !memcmp(c.iv_out, iv, 16), "CTR of 0 bytes: empty, iv_out = iv");
	c.mode = AZIHSM_AES_XTS;
	c.key = k_xts128;
	tap_eq(aes(fw, (int)ks, &c), AZIHSM_STATUS_INVALID_ARG, "XTS of 0 bytes: INVALID_ARG");
	/* CTR counter wraps at 2^128 */
	{
		uint8_t top[16], ref2[64];

		memset(top, 0xff, 16);
		top[15] = 0xfe;
		memset(&c, 0, sizeof(c));
		c.key = k_aes[0];
		c.mode = AZIHSM_AES_CTR;
		c.tag_len_field = ABSENT;
		c.iv = top;
		c.iv_len = 16;
		c.data = data;
		c.len = 40;
		ref_cipher("AES-128-CTR", m_aes[0], top, 16, true, NULL, 0, data, 40, ref2, NULL, 0);
		tap_ok(aes(fw, (int)ks, &c) == 0 && !memcmp(c.out, ref2, 40) && c.iv_out[15] == 1 &&
		       c.iv_out[0] == 0 && c.iv_out[14] == 0, "CTR wraps at 2^128: iv_out = 1");
	}
}

/*
 * One XTS data unit through AesEncryptDecrypt in random slices (each but
 * the last a multiple of 16, <= 4096 bytes, the last >= 16), xts_block set
 * per slice; the slices' outputs concatenated into @out. 0 or a status.
 */
static long xts_sliced(uint16_t key, bool decrypt, const uint8_t iv[16], const uint8_t *in,
		       size_t n, uint8_t *out, bool *all_fips, size_t *calls)
{
	static struct aes_call c;
	size_t off = 0, rem, cl, maxc;
	long st;

	*all_fips = true;
	*calls = 0;
	while (off < n) {
		rem = n - off;
		if (rem <= 4096 && (rem < 32 || rnd_u32() % 3 == 0)) {
			cl = rem;
		} else {
			maxc = rem - 16 < 4096 ? (rem - 16) / 16 * 16 : 4096;
			cl = 16 * (1 + rnd_u32() % (maxc / 16));
		}
		memset(&c, 0, sizeof(c));
		c.key = key;
		c.mode = AZIHSM_AES_XTS;
		c.decrypt = decrypt;
		c.tag_len_field = ABSENT;
		c.iv = iv;
		c.iv_len = 16;
		c.data = in + off;
		c.len = cl;
		/* block 0 sometimes as an explicit 0, sometimes absent */
		c.has_xts_block = off || (rnd_u32() & 1);
		c.xts_block = (uint32_t)(off / 16);
		st = aes(fw, (int)ks, &c);
		if (st)
			return st;
		if (c.out_len != cl)
			return -3;
		memcpy(out + off, c.out, cl);
		*all_fips &= c.fips;
		off += cl;
		++*calls;
	}
	return 0;
}

static void test_xts_slices(void)
{
	enum { NMAX = 40000 };
	static uint8_t pt[NMAX], ct[NMAX], ref[NMAX], back[NMAX];
	static const size_t fixed[] = { 16, 17, 31, 32, 33, 4095, 4096, 4097, 4111, 8192,
					39999, 40000 };
	const uint32_t ed = AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT;
	static struct aes_call c;
	uint8_t iv[16], km[64], one[32], t1[32];
	size_t calls, total_calls, units, li, n;
	bool fips;
	int x, ki, ok, multi;

	for (x = 0; x < 2; x++) {
		size_t klen = x ? 64 : 32;
		uint8_t type = x ? AZIHSM_KEY_AES256_XTS : AZIHSM_KEY_AES128_XTS;
		const char *name = x ? "AES-256-XTS" : "AES-128-XTS";

		ok = 1;
		multi = 0;
		units = total_calls = 0;
		for (ki = 0; ki < 3; ki++) {
			uint16_t id = 0;

			rnd(km, klen);
			if (import(fw, (int)ks, type, ed, km, klen, &id)) {
				ok = 0;
				break;
			}
			for (li = 0; li < sizeof(fixed) / sizeof(fixed[0]) + 12; li++) {
				long e1, e2;
				bool f2;

				n = li < sizeof(fixed) / sizeof(fixed[0]) ? fixed[li] :
									    16 + rnd_u32() % (NMAX - 15);
				rnd(iv, 16);
				rnd(pt, n);
				if (ref_cipher(name, km, iv, 16, true, NULL, 0, pt, n, ref, NULL, 0)) {
					ok = 0;
					continue;
				}
				e1 = xts_sliced(id, false, iv, pt, n, ct, &fips, &calls);
				multi += calls > 1;
				total_calls += calls;
				e2 = xts_sliced(id, true, iv, ref, n, back, &f2, &calls);
				total_calls += calls;
				units++;
				if (e1 || e2 || memcmp(ct, ref, n) || memcmp(back, pt, n) || !fips ||
				    !f2) {
					printf("# %s unit of %zu bytes: enc %ld dec %ld\n", name, n, e1,
						 e2);
					ok = 0;
				}
			}
			call_id(fw, AZIHSM_OP_DELETE_KEY, (int)ks, id, &(struct rsp){ 0 });
		}
		tap_ok(ok && multi > 0,
		       "%s: %zu random units of 16..40000 bytes, sliced (%zu commands) with xts_block, "
		       "match EVP's whole-unit XTS both ways, approved", name, units, total_calls);
	}

	/* Equal halves (ECB construction for every slice): reference, not approved */
	ok = 1;
	for (li = 0; li < 6; li++) {
		bool f2;
		long e1, e2;

		n = li ? 16 + rnd_u32() % (NMAX - 15) : 4097;
		rnd(iv, 16);
		rnd(pt, n);
		ref_xts_enc(m_xts_eq, 32, iv, pt, n, ref);
		e1 = xts_sliced(k_xts_eq, false, iv, pt, n, ct, &fips, &calls);
		e2 = xts_sliced(k_xts_eq, true, iv, ref, n, back, &f2, &calls);
		ok &= !e1 && !e2 && !memcmp(ct, ref, n) && !memcmp(back, pt, n) && !fips && !f2;
	}
	tap_ok(ok, "XTS equal halves sliced with xts_block: match the reference, not approved");

	/* Far into a unit: the tweak's alpha power against 2^20 doublings. */
	rnd(iv, 16);
	rnd(one, sizeof(one));
	{
		const struct { uint16_t key; const uint8_t *m; size_t half; } fk[] = {
			{ k_xts128, m_xts128, 16 }, { k_xts256, m_xts256, 32 },
		};
		const struct { uint32_t blk; size_t len; } at[] = {
			{ (1u << 20) - 1, 16 }, { (1u << 20) - 2, 32 }, { (1u << 20) - 2, 31 },
			{ 0x5a5a5, 17 }, { 1, 16 }, { 255, 32 },
		};
		size_t i;

		ok = 1;
		for (x = 0; x < 2; x++) {
			for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
				memset(&c, 0, sizeof(c));
				c.key = fk[x].key;
				c.mode = AZIHSM_AES_XTS;
				c.tag_len_field = ABSENT;
				c.iv = iv;
				c.iv_len = 16;
				c.data = one;
				c.len = at[i].len;
				c.has_xts_block = true;
				c.xts_block = at[i].blk;
				ref_xts_enc_at(fk[x].m, fk[x].half, iv, at[i].blk, one, at[i].len, t1);
				if (aes(fw, (int)ks, &c) || c.out_len != at[i].len ||
				    memcmp(c.out, t1, at[i].len) || !c.fips) {
					printf("# xts_block %u len %zu key %d\n", at[i].blk, at[i].len,
						 x);
					ok = 0;
					continue;
				}
				c.decrypt = true;
				memcpy(t1, c.out, at[i].len);
				c.data = t1;
				ok &= aes(fw, (int)ks, &c) == 0 && !memcmp(c.out, one, at[i].len);
			}
		}
		tap_ok(ok, "xts_block up to 2^20-1 (unit end at 16 MiB): matches the reference "
		       "(tweak doubled xts_block times), both ways");
	}

	/* Negatives */
	{
		const struct { uint8_t mode; uint16_t key; size_t iv_len; uint32_t blk; size_t len;
			       const char *what; } neg[] = {
			{ AZIHSM_AES_ECB, 0, 0, 1, 16, "xts_block with ECB" },
			{ AZIHSM_AES_CBC, 0, 16, 0, 16, "xts_block 0 with CBC" },
			{ AZIHSM_AES_CTR, 0, 16, 2, 16, "xts_block with CTR" },
			{ AZIHSM_AES_GCM, 0, 12, 1, 16, "xts_block with GCM" },
			{ AZIHSM_AES_XTS, 1, 16, 1u << 20, 16, "xts_block 2^20 (past 16 MiB)" },
			{ AZIHSM_AES_XTS, 1, 16, (1u << 20) - 1, 17,
			  "xts_block 2^20-1 with 17 bytes (one past 16 MiB)" },
			{ AZIHSM_AES_XTS, 1, 16, (1u << 20) - 1, 32, "xts_block 2^20-1 with 32 bytes" },
			{ AZIHSM_AES_XTS, 1, 16, 0xffffffffu, 16, "xts_block 0xffffffff" },
			{ AZIHSM_AES_XTS, 1, 16, 0x10000000u, 16, "xts_block 2^28 (wraps * 16)" },
			{ AZIHSM_AES_XTS, 1, 16, 5, 15, "xts_block 5 with 15 bytes" },
		};
		size_t i;

		for (i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
			memset(&c, 0, sizeof(c));
			c.key = neg[i].key ? k_xts256 : k_aes[0];
			c.mode = neg[i].mode;
			c.tag_len_field = ABSENT;
			c.iv = neg[i].iv_len ? iv : NULL;
			c.iv_len = neg[i].iv_len;
			c.data = one;
			c.len = neg[i].len;
			c.has_xts_block = true;
			c.xts_block = neg[i].blk;
			tap_eq(aes(fw, (int)ks, &c), AZIHSM_STATUS_INVALID_ARG, "AES refused: %s",
			       neg[i].what);
		}
		/* xts_block of the wrong MBOR type */
		{
			struct rq q;
			struct rsp r;
			struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_AES_ENCRYPT_DECRYPT, (int)ks);

			mbor_enc_map(e, 6);
			mbor_enc_key(e, AZIHSM_AES_F_KEY_ID);
			mbor_enc_u16(e, k_xts256);
			mbor_enc_key(e, AZIHSM_AES_F_MODE);
			mbor_enc_u8(e, AZIHSM_AES_XTS);
			mbor_enc_key(e, AZIHSM_AES_F_DECRYPT);
			mbor_enc_bool(e, false);
			mbor_enc_key(e, AZIHSM_AES_F_IV);
			mbor_enc_bytes(e, iv, 16);
			mbor_enc_key(e, AZIHSM_AES_F_DATA);
			mbor_enc_bytes(e, one, 16);
			mbor_enc_key(e, AZIHSM_AES_F_XTS_BLOCK);
			mbor_enc_bytes(e, iv, 4);
			tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
			       "xts_block as bytes: MALFORMED");
		}
	}
}

static void test_blobs(void)
{
	static const char *const cbc = "AES-256-CBC";
	uint8_t blob[4096], blob_u[4096], data[64], iv[16], ref[64];
	size_t bl, blu;
	uint16_t id, id2, ukey;
	struct aes_call c;
	struct rsp r;

	rnd(data, sizeof(data));
	rnd(iv, sizeof(iv));
	tap_eq(export_masked(fw, (int)ks, k_aes[2], blob, &bl), 0, "kernel: KeyExportMasked");
	tap_eq(unmask(fw, (int)ks, blob, bl, &id), 0, "kernel: UnmaskKey of its blob");
	ref_cipher(cbc, m_aes[2], iv, 16, true, NULL, 0, data, 64, ref, NULL, 0);
	memset(&c, 0, sizeof(c));
	c.key = id;
	c.mode = AZIHSM_AES_CBC;
	c.tag_len_field = ABSENT;
	c.iv = iv;
	c.iv_len = 16;
	c.data = data;
	c.len = 64;
	tap_ok(aes(fw, (int)ks, &c) == 0 && !memcmp(c.out, ref, 64),
	       "  the unmasked key encrypts like the original");
	tap_eq(unmask(fw, (int)su, blob, bl, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "a kernel blob on a user session: BAD_BLOB");
	blob[bl / 2] ^= 0x10;
	tap_eq(unmask(fw, (int)ks, blob, bl, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "a flipped bit: BAD_BLOB");
	blob[bl / 2] ^= 0x10;
	blob[bl - 1] ^= 0x80;
	tap_eq(unmask(fw, (int)ks, blob, bl, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "a flipped tag bit: BAD_BLOB");
	blob[bl - 1] ^= 0x80;
	tap_eq(unmask(fw, (int)ks, blob, bl - 1, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "a truncated blob: BAD_BLOB");
	tap_eq(unmask(fw, (int)ks, blob, 0, NULL), AZIHSM_STATUS_BAD_BLOB, "an empty blob: BAD_BLOB");

	/* User session: partition blobs. */
	tap_eq(keygen(fw, (int)su, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, NULL, false, &ukey), 0,
	       "user generates a session key");
	tap_eq(export_masked(fw, (int)su, ukey, blob_u, &blu), 0, "user: KeyExportMasked");
	tap_eq(unmask(fw, (int)su, blob_u, blu, &id2), 0, "user: UnmaskKey of the partition blob");
	tap_ok(id2 != ukey, "  a new key id");
	tap_eq(unmask(fw, (int)ks, blob_u, blu, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "a partition blob on the kernel session: BAD_BLOB");
	tap_eq(export_masked(fw, (int)su, k_aes[0], blob, &bl), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "user: KeyExportMasked of a kernel key is KEY_NOT_FOUND");
	tap_eq(export_masked(fw, (int)ks, ukey, blob, &bl), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "kernel: KeyExportMasked of a user key is KEY_NOT_FOUND");
	tap_eq(export_masked(fw, (int)so, ukey, blob, &bl), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "officer: KeyExportMasked of the user's session key is KEY_NOT_FOUND");
	tap_eq(call_id(fw, AZIHSM_OP_KEY_EXPORT_MASKED, (int)ks, 0, &r), AZIHSM_STATUS_INVALID_ARG,
	       "KeyExportMasked of key id 0: INVALID_ARG");
	tap_eq(call0(fw, AZIHSM_OP_KEY_EXPORT_MASKED, (int)ks, &r), AZIHSM_STATUS_MALFORMED,
	       "KeyExportMasked without a key id: MALFORMED");
	tap_eq(call0(fw, AZIHSM_OP_UNMASK_KEY, (int)ks, &r), AZIHSM_STATUS_MALFORMED,
	       "UnmaskKey without a blob: MALFORMED");
	{
		uint16_t pid;

		tap_eq(keygen(fw, (int)so, AZIHSM_KEY_AES192, AZIHSM_USAGE_ENCRYPT, NULL, true, &pid),
		       0, "officer: a persistent key without a label");
		tap_eq(export_masked(fw, (int)su, pid, blob, &bl), AZIHSM_STATUS_WRONG_ROLE,
		       "user: KeyExportMasked of a persistent key is WRONG_ROLE");
		tap_eq(export_masked(fw, (int)so, pid, blob, &bl), 0,
		       "officer: KeyExportMasked of a persistent key");
		tap_eq(unmask(fw, (int)su, blob, bl, &id2), AZIHSM_STATUS_WRONG_ROLE,
		       "issue 9: user: UnmaskKey of a persistent key's blob: WRONG_ROLE");
		tap_eq(unmask(fw, (int)so, blob, bl, &id2), 0,
		       "officer: UnmaskKey of it gives a session copy");
		tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, (int)so, id2, &r), 0,
		       "  which the officer may delete");
		tap_eq(unmask(fw, (int)ks, blob, bl, &id2), AZIHSM_STATUS_BAD_BLOB,
		       "  the kernel session: BAD_BLOB (another masking key)");
	}
}

/* ---- Hash ------------------------------------------------------------ */

struct hash_call {
	uint8_t hash;
	int key;		/* ABSENT or the key id */
	const uint8_t *state;	/* NULL: absent */
	size_t state_len;
	const uint8_t *data;
	size_t len;
	bool final;
	long long done;		/* ABSENT or the value */
	uint8_t out[64];
	size_t out_len;
	bool fips;
};

static long hash_call(struct hsm_fw *fw, int sid, struct hash_call *c)
{
	static struct rsp r;
	const uint8_t *p;
	size_t n;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_HASH, sid);
	long st;

	mbor_enc_map(e, 3 + (c->key != ABSENT) + !!c->state + (c->done != ABSENT));
	mbor_enc_key(e, AZIHSM_HASH_F_HASH);
	mbor_enc_u8(e, c->hash);
	if (c->key != ABSENT) {
		mbor_enc_key(e, AZIHSM_HASH_F_KEY_ID);
		mbor_enc_u16(e, (uint16_t)c->key);
	}
	if (c->state) {
		mbor_enc_key(e, AZIHSM_HASH_F_STATE);
		mbor_enc_bytes(e, c->state, c->state_len);
	}
	mbor_enc_key(e, AZIHSM_HASH_F_DATA);
	mbor_enc_bytes(e, c->data, c->len);
	mbor_enc_key(e, AZIHSM_HASH_F_FINAL);
	mbor_enc_bool(e, c->final);
	if (c->done != ABSENT) {
		mbor_enc_key(e, AZIHSM_HASH_F_DONE);
		mbor_enc_u64(e, (uint64_t)c->done);
	}
	st = rq_send(fw, &q, &r);
	c->out_len = 0;
	c->fips = r.h.fips_approved;
	if (st)
		return st;
	if (rsp_bytes(&r, AZIHSM_HASH_F_OUT, &p, &n) || n > sizeof(c->out))
		return -2;
	memcpy(c->out, p, n);
	c->out_len = n;
	return 0;
}

/*
 * Hash @len bytes of @data on the device in calls of @step bytes (a block
 * multiple; 0: one call), the state carried by the test; the result in
 * @out. 0 or the failing status.
 */
static long hash_split(int sid, uint8_t hash, int key, const uint8_t *data, size_t len,
		       size_t step, uint8_t *out, size_t *out_len, bool *fips)
{
	struct hash_call c = { .hash = hash, .key = key, .done = ABSENT };
	uint8_t st[64];
	size_t off = 0, st_len = 0;
	long ret;

	while (step && len - off > step) {
		c.data = data + off;
		c.len = step;
		c.final = false;
		c.state = off ? st : NULL;
		c.state_len = st_len;
		c.done = off ? (long long)off : ABSENT;
		ret = hash_call(fw, sid, &c);
		if (ret)
			return ret;
		memcpy(st, c.out, c.out_len);
		st_len = c.out_len;
		off += step;
	}
	c.data = data + off;
	c.len = len - off;
	c.final = true;
	c.state = off ? st : NULL;
	c.state_len = st_len;
	c.done = off ? (long long)off : ABSENT;
	ret = hash_call(fw, sid, &c);
	if (ret)
		return ret;
	memcpy(out, c.out, c.out_len);
	*out_len = c.out_len;
	*fips = c.fips;
	return 0;
}

static const char *const md_names[] = { NULL, "SHA256", "SHA384", "SHA512" };

static void test_hash(void)
{
	static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 65, 111, 112, 119, 127, 128, 129,
				       191, 192, 255, 256, 257, 383, 384, 1000, 2048 };
	static const size_t keylens[] = { 1, 13, 14, 16, 32, 48, 64, 65, 100, 128, 129, 200,
					  1024 };
	static const uint8_t htypes[] = { 0, AZIHSM_KEY_HMAC_SHA256, AZIHSM_KEY_HMAC_SHA384,
					  AZIHSM_KEY_HMAC_SHA512 };
	uint8_t data[2048], key[1024], out[64], ref[64];
	size_t li, ki, ol, step, bs;
	uint16_t kid;
	bool fips;
	int h, ok, n;

	rnd(data, sizeof(data));
	rnd(key, sizeof(key));
	for (h = 1; h <= 3; h++) {
		bs = h == 1 ? 64 : 128;
		ok = 1;
		n = 0;
		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			unsigned int mdl = 0;

			EVP_Digest(data, lens[li], ref, &mdl, EVP_get_digestbyname(md_names[h]),
				   NULL);
			for (step = 0; step <= lens[li] + bs; step += bs) {
				fips = false;
				ok &= hash_split((int)ks, (uint8_t)h, ABSENT, data, lens[li], step, out,
						 &ol, &fips) == 0 &&
				      ol == mdl && !memcmp(out, ref, mdl) && fips;
				n++;
				if (step >= 3 * bs)
					step += 2 * bs;	/* sparser for long data */
			}
		}
		tap_ok(ok, "%s: %d length/split combinations match EVP, approved", md_names[h], n);

		/* the state after whole blocks is the bare chaining value */
		{
			struct hash_call c = { .hash = (uint8_t)h, .key = ABSENT, .done = ABSENT,
					       .data = data, .len = 0 };

			c.final = false;
			tap_ok(hash_call(fw, (int)ks, &c) == 0 &&
			       c.out_len == (h == 1 ? 32u : 64u),
			       "%s: a start with no data gives the IV's %zu-byte state", md_names[h],
			       c.out_len);
		}

		/* HMAC, kernel-imported keys of 1..1024 bytes */
		ok = 1;
		n = 0;
		for (ki = 0; ki < sizeof(keylens) / sizeof(keylens[0]); ki++) {
			if (import(fw, (int)ks, htypes[h], AZIHSM_USAGE_SIGN, key, keylens[ki], &kid)) {
				ok = 0;
				continue;
			}
			for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li += 3) {
				size_t mlen = 0;

				EVP_Q_mac(NULL, "HMAC", NULL, md_names[h], NULL, key, keylens[ki],
					  data, lens[li], ref, sizeof(ref), &mlen);
				for (step = 0; step <= lens[li] + bs; step += 2 * bs) {
					bool want = keylens[ki] >= 14;

					ok &= hash_split((int)ks, (uint8_t)h, kid, data, lens[li], step,
							 out, &ol, &fips) == 0 &&
					      ol == mlen && !memcmp(out, ref, mlen) && fips == want;
					n++;
				}
			}
		}
		tap_ok(ok, "HMAC-%s: keys of 1..1024 bytes, %d length/split combinations match "
		       "EVP; approved from 112-bit keys", md_names[h], n);
	}

	/* negatives */
	{
		uint8_t st[64] = { 0 };
		uint16_t hk, hk_nosign, aes_k;
		struct hash_call c;
		struct rsp r;
		const struct { uint8_t hash; int key; int state_len; long long done; size_t len;
			       bool final; long want; const char *what; } neg[] = {
			{ 0, ABSENT, -1, ABSENT, 0, true, AZIHSM_STATUS_INVALID_ARG, "hash 0" },
			{ 4, ABSENT, -1, ABSENT, 0, true, AZIHSM_STATUS_INVALID_ARG, "hash 4" },
			{ 1, ABSENT, -1, ABSENT, 63, false, AZIHSM_STATUS_INVALID_ARG,
			  "not final, 63 bytes" },
			{ 2, ABSENT, -1, ABSENT, 64, false, AZIHSM_STATUS_INVALID_ARG,
			  "SHA-384 not final, 64 bytes" },
			{ 1, ABSENT, 32, ABSENT, 0, true, AZIHSM_STATUS_INVALID_ARG,
			  "state without done" },
			{ 1, ABSENT, -1, 64, 0, true, AZIHSM_STATUS_INVALID_ARG, "done without state" },
			{ 1, ABSENT, 32, 63, 0, true, AZIHSM_STATUS_INVALID_ARG,
			  "done not a block multiple" },
			{ 1, ABSENT, 31, 64, 0, true, AZIHSM_STATUS_INVALID_ARG, "31-byte state" },
			{ 2, ABSENT, 48, 128, 0, true, AZIHSM_STATUS_INVALID_ARG,
			  "48-byte SHA-384 state (the state is 64)" },
			{ 1, 0, -1, ABSENT, 0, true, AZIHSM_STATUS_INVALID_ARG, "key id 0" },
			{ 1, 0xfff0, -1, ABSENT, 0, true, AZIHSM_STATUS_KEY_NOT_FOUND,
			  "unknown key" },
		};
		size_t i;

		for (i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
			memset(&c, 0, sizeof(c));
			c.hash = neg[i].hash;
			c.key = neg[i].key;
			c.state = neg[i].state_len >= 0 ? st : NULL;
			c.state_len = neg[i].state_len >= 0 ? (size_t)neg[i].state_len : 0;
			c.done = neg[i].done;
			c.data = data;
			c.len = neg[i].len;
			c.final = neg[i].final;
			tap_eq(hash_call(fw, (int)ks, &c), neg[i].want, "Hash refused: %s",
			       neg[i].what);
		}
		import(fw, (int)ks, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, key, 32, &hk);
		import(fw, (int)ks, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_VERIFY, key, 32,
		       &hk_nosign);
		import(fw, (int)ks, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, key, 32, &aes_k);
		memset(&c, 0, sizeof(c));
		c.data = data;
		c.final = true;
		c.done = ABSENT;
		c.hash = AZIHSM_HASH_SHA384;
		c.key = hk;
		tap_eq(hash_call(fw, (int)ks, &c), AZIHSM_STATUS_KEY_TYPE,
		       "HMAC-SHA256 key with hash SHA-384: KEY_TYPE");
		c.hash = AZIHSM_HASH_SHA256;
		c.key = aes_k;
		tap_eq(hash_call(fw, (int)ks, &c), AZIHSM_STATUS_KEY_USAGE,
		       "an AES key (no sign usage): KEY_USAGE");
		c.key = hk_nosign;
		tap_eq(hash_call(fw, (int)ks, &c), AZIHSM_STATUS_KEY_USAGE,
		       "an HMAC key without sign usage: KEY_USAGE");
		c.key = hk;
		tap_eq(hash_call(fw, (int)su, &c), AZIHSM_STATUS_WRONG_ROLE,
		       "user: HMAC with a kernel key is WRONG_ROLE (keyed Hash: kernel only)");
		c.key = hk_nosign;
		tap_eq(hash_call(fw, (int)su, &c), AZIHSM_STATUS_WRONG_ROLE,
		       "user: a kernel key without the usage is WRONG_ROLE too");
		{
			/*
			 * issue 9: a keyed Hash step answers the inner chaining
			 * value H(key ^ ipad || data): the partition's sessions
			 * never get it for their own HMAC keys.
			 */
			uint16_t uk = 0, ok_k = 0;

			tap_eq(keygen(fw, (int)su, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL,
				      false, &uk), 0, "user: an HMAC-SHA256 session key (sign)");
			tap_eq(keygen(fw, (int)so, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL,
				      false, &ok_k), 0, "officer: an HMAC-SHA256 session key (sign)");
			c.final = false;
			c.len = 0;
			c.key = uk;
			tap_eq(hash_call(fw, (int)su, &c), AZIHSM_STATUS_WRONG_ROLE,
			       "issue 9: user: keyed Hash (inner HMAC state) of its own key: "
			       "WRONG_ROLE");
			tap_eq(c.out_len, 0, "  no state answered");
			c.key = ok_k;
			tap_eq(hash_call(fw, (int)so, &c), AZIHSM_STATUS_WRONG_ROLE,
			       "issue 9: officer: keyed Hash of its own key: WRONG_ROLE");
			c.final = true;
			tap_eq(hash_call(fw, (int)so, &c), AZIHSM_STATUS_WRONG_ROLE,
			       "  a final keyed Hash too");
			c.key = hk;
			tap_eq(hash_call(fw, (int)ks, &c), 0,
			       "the kernel session's keyed Hash still works");
			c.len = 3;
		}
		c.key = ABSENT;
		tap_eq(hash_call(fw, (int)su, &c), 0, "user: a plain hash");
		tap_eq(hash_call(fw, NOSESS, &c), AZIHSM_STATUS_NO_SESSION,
		       "Hash without a session: NO_SESSION");
		{
			struct rq q;
			struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_HASH, (int)ks);

			mbor_enc_map(e, 2);
			mbor_enc_key(e, AZIHSM_HASH_F_HASH);
			mbor_enc_u8(e, 1);
			mbor_enc_key(e, AZIHSM_HASH_F_DATA);
			mbor_enc_bytes(e, data, 3);
			tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
			       "Hash without final: MALFORMED");
		}
	}
}

/* ---- RSA ------------------------------------------------------------- */

static EVP_PKEY *rsa_gen(unsigned int bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

static size_t der_priv(EVP_PKEY *pk, uint8_t *buf)
{
	unsigned char *p = buf;

	return (size_t)i2d_PrivateKey(pk, &p);	/* RSA: PKCS#1 RSAPrivateKey */
}

static size_t der_pub(EVP_PKEY *pk, uint8_t *buf)
{
	unsigned char *p = buf;

	return (size_t)i2d_PublicKey(pk, &p);	/* RSA: PKCS#1 RSAPublicKey */
}

static int ref_rsa_raw(EVP_PKEY *pk, bool priv, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	size_t ol = 512;
	int ok;

	ok = c && (priv ? EVP_PKEY_decrypt_init(c) : EVP_PKEY_encrypt_init(c)) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
	     (priv ? EVP_PKEY_decrypt(c, out, &ol, in, len) :
		     EVP_PKEY_encrypt(c, out, &ol, in, len)) == 1;
	EVP_PKEY_CTX_free(c);
	return ok ? (int)ol : -1;
}

static long modexp(int sid, uint16_t id, const uint8_t *in, size_t len, uint8_t *out,
		   size_t *olen, bool *fips)
{
	static struct rsp r;
	const uint8_t *p;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_RSA_MOD_EXP, sid);
	long st;

	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_MODEXP_F_KEY_ID);
	mbor_enc_u16(e, id);
	mbor_enc_key(e, AZIHSM_MODEXP_F_IN);
	mbor_enc_bytes(e, in, len);
	st = rq_send(fw, &q, &r);
	*olen = 0;
	*fips = r.h.fips_approved;
	if (st)
		return st;
	if (rsp_bytes(&r, AZIHSM_MODEXP_F_OUT, &p, olen) || *olen > 512)
		return -2;
	memcpy(out, p, *olen);
	return 0;
}

static long rsapub(int sid, const uint8_t *der, size_t dlen, const uint8_t *in, size_t len,
		   uint8_t *out, size_t *olen, bool *fips)
{
	static struct rsp r;
	const uint8_t *p;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_RSA_PUBLIC, sid);
	long st;

	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_RSAPUB_F_KEY);
	mbor_enc_bytes(e, der, dlen);
	mbor_enc_key(e, AZIHSM_RSAPUB_F_IN);
	mbor_enc_bytes(e, in, len);
	st = rq_send(fw, &q, &r);
	*olen = 0;
	*fips = r.h.fips_approved;
	if (st)
		return st;
	if (rsp_bytes(&r, AZIHSM_RSAPUB_F_OUT, &p, olen) || *olen > 512)
		return -2;
	memcpy(out, p, *olen);
	return 0;
}

static void test_rsa(void)
{
	static const unsigned int sizes[] = { 1024, 1536, 2048, 4096 };
	uint8_t der[4096], pub[1024], x[512], y[512], ref[512], back[512];
	size_t i, dl, pl, ol, bl, m;
	uint16_t id;
	bool fips;
	int ok;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		EVP_PKEY *pk = rsa_gen(sizes[i]);

		m = sizes[i] / 8;
		dl = der_priv(pk, der);
		pl = der_pub(pk, pub);
		tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048,
			      AZIHSM_USAGE_DECRYPT | AZIHSM_USAGE_SIGN, der, dl, &id),
		       AZIHSM_STATUS_INVALID_ARG,
		       "issue 9: KeyImport RSA-%u with decrypt + sign: INVALID_ARG", sizes[i]);
		tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, der, dl, &id),
		       0, "KeyImport RSA-%u PKCS#1 DER as type RSA2048 (decrypt)", sizes[i]);
		rnd(x, m);
		x[0] &= 0x7f;	/* below n */
		ok = ref_rsa_raw(pk, true, x, m, ref) == (int)m &&
		     modexp((int)ks, id, x, m, y, &ol, &fips) == 0 && ol == m &&
		     !memcmp(y, ref, m) && !fips;
		tap_ok(ok, "RsaModExp RSA-%u: x^d mod n is EVP's, not approved", sizes[i]);
		ok = rsapub((int)ks, pub, pl, y, m, back, &bl, &fips) == 0 && bl == m &&
		     !memcmp(back, x, m) && !fips;
		tap_ok(ok, "RsaPublic RSA-%u: (x^d)^e mod n = x, not approved", sizes[i]);
		/* short input: left-padded */
		ok = ref_rsa_raw(pk, false, (uint8_t[512]){ 0 }, m, ref) == (int)m;
		memset(back, 0, m);
		back[m - 1] = 2;
		ok &= ref_rsa_raw(pk, false, back, m, ref) == (int)m &&
		      rsapub((int)ks, pub, pl, (const uint8_t *)"\x02", 1, y, &ol, &fips) == 0 &&
		      ol == m && !memcmp(y, ref, m);
		tap_ok(ok, "RsaPublic RSA-%u: a 1-byte input is left-padded", sizes[i]);
		if (i == 2) {
			uint8_t n[512];
			BIGNUM *bn = NULL;

			EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn);
			BN_bn2binpad(bn, n, (int)m);
			BN_free(bn);
			tap_eq(modexp((int)ks, id, n, m, y, &ol, &fips), AZIHSM_STATUS_INVALID_ARG,
			       "RsaModExp input = n: INVALID_ARG");
			tap_eq(modexp((int)ks, id, x, m - 1, y, &ol, &fips),
			       AZIHSM_STATUS_INVALID_ARG, "RsaModExp input one byte short: INVALID_ARG");
			tap_eq(rsapub((int)ks, pub, pl, n, m, y, &ol, &fips),
			       AZIHSM_STATUS_INVALID_ARG, "RsaPublic input = n: INVALID_ARG");
			memset(back, 1, m + 1);
			tap_eq(rsapub((int)ks, pub, pl, back, m + 1, y, &ol, &fips),
			       AZIHSM_STATUS_INVALID_ARG, "RsaPublic input longer than n: INVALID_ARG");
			tap_eq(rsapub((int)ks, pub, pl - 1, x, 4, y, &ol, &fips),
			       AZIHSM_STATUS_INVALID_ARG, "RsaPublic truncated DER: INVALID_ARG");
			pub[pl] = 0;
			tap_eq(rsapub((int)ks, pub, pl + 1, x, 4, y, &ol, &fips),
			       AZIHSM_STATUS_INVALID_ARG, "RsaPublic DER + a byte: INVALID_ARG");
			tap_eq(rsapub((int)ks, der, dl, x, 4, y, &ol, &fips),
			       AZIHSM_STATUS_INVALID_ARG, "RsaPublic with a private key DER: INVALID_ARG");
			tap_eq(modexp((int)su, id, x, m, y, &ol, &fips), AZIHSM_STATUS_WRONG_ROLE,
			       "user: RsaModExp with a kernel key is WRONG_ROLE");
			tap_eq(rsapub((int)su, pub, pl, x, m, y, &ol, &fips), 0,
			       "user: RsaPublic");
			der[dl] = 0;
			tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, der,
				      dl + 1, NULL), AZIHSM_STATUS_INVALID_ARG,
			       "KeyImport RSA DER + a byte: INVALID_ARG");
			tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA3072, AZIHSM_USAGE_DECRYPT, der, dl,
				      NULL), AZIHSM_STATUS_INVALID_ARG,
			       "KeyImport a 2048-bit key as RSA3072: INVALID_ARG");
			tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_VERIFY, der, dl,
				      &id), 0, "KeyImport RSA with verify usage only");
			tap_eq(modexp((int)ks, id, x, m, y, &ol, &fips), AZIHSM_STATUS_KEY_USAGE,
			       "RsaModExp without sign or decrypt usage: KEY_USAGE");
			tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN, der, dl,
				      &id), 0, "KeyImport RSA with sign usage only");
			tap_eq(modexp((int)ks, id, x, m, y, &ol, &fips), 0,
			       "RsaModExp with sign usage");
			tap_eq(modexp((int)ks, k_aes[0], x, m, y, &ol, &fips), AZIHSM_STATUS_KEY_TYPE,
			       "RsaModExp with an AES key: KEY_TYPE");
		}
		if (i == 2) {
			/*
			 * issue 9: raw x^d mod n is a decryption and a signing
			 * oracle without padding: not for the partition's keys.
			 */
			uint16_t us = 0, ud = 0, op = 0;

			tap_eq(keygen(fw, (int)su, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN, NULL, false,
				      &us), 0, "user: an RSA-2048 session key (sign)");
			tap_eq(keygen(fw, (int)su, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, NULL,
				      false, &ud), 0, "user: an RSA-2048 session key (decrypt)");
			tap_eq(keygen(fw, (int)so, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, "modexp",
				      true, &op), 0, "officer: a persistent RSA-2048 key (decrypt)");
			tap_eq(modexp((int)su, us, x, m, y, &ol, &fips), AZIHSM_STATUS_WRONG_ROLE,
			       "issue 9: user: RsaModExp with its own sign key: WRONG_ROLE");
			tap_eq(modexp((int)su, ud, x, m, y, &ol, &fips), AZIHSM_STATUS_WRONG_ROLE,
			       "issue 9: user: RsaModExp with its own decrypt key: WRONG_ROLE");
			tap_eq(modexp((int)so, op, x, m, y, &ol, &fips), AZIHSM_STATUS_WRONG_ROLE,
			       "issue 9: officer: RsaModExp with a persistent key: WRONG_ROLE");
			tap_eq(ol, 0, "  nothing answered");
			tap_eq(modexp((int)ks, id, x, m, y, &ol, &fips), 0,
			       "the kernel session's RsaModExp still works");
		}
		EVP_PKEY_free(pk);
	}
	{
		EVP_PKEY *pk = rsa_gen(512);

		dl = der_priv(pk, der);
		tap_eq(import(fw, (int)ks, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, der, dl, NULL),
		       AZIHSM_STATUS_INVALID_ARG, "KeyImport RSA-512: INVALID_ARG");
		EVP_PKEY_free(pk);
	}
}

/* ---- EccVerify ------------------------------------------------------- */

static long eccverify(int sid, uint8_t curve, const uint8_t *pt, size_t pl, const uint8_t *dg,
		      size_t dl, const uint8_t *sig, size_t sl, long *valid, bool *fips)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_ECC_VERIFY, sid);
	long st;

	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_ECCVER_F_CURVE);
	mbor_enc_u8(e, curve);
	mbor_enc_key(e, AZIHSM_ECCVER_F_POINT);
	mbor_enc_bytes(e, pt, pl);
	mbor_enc_key(e, AZIHSM_ECCVER_F_DIGEST);
	mbor_enc_bytes(e, dg, dl);
	mbor_enc_key(e, AZIHSM_ECCVER_F_SIG);
	mbor_enc_bytes(e, sig, sl);
	st = rq_send(fw, &q, &r);
	*valid = st ? -1 : rsp_bool(&r, AZIHSM_ECCVER_F_VALID);
	*fips = r.h.fips_approved;
	return st;
}

static void test_ecc(void)
{
	static const struct { uint8_t curve; const char *name; size_t dlen; } cv[] = {
		{ AZIHSM_KEY_EC_P256, "P-256", 32 },
		{ AZIHSM_KEY_EC_P384, "P-384", 48 },
		{ AZIHSM_KEY_EC_P521, "P-521", 64 },
	};
	uint8_t pt[200], dg[64], sig[200];
	size_t i, pl, sl;
	long valid;
	bool fips;

	for (i = 0; i < 3; i++) {
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cv[i].name);
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		size_t dls[] = { cv[i].dlen, 20, 1, 64 };
		size_t d;

		EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
						sizeof(pt), &pl);
		EVP_PKEY_sign_init(c);
		for (d = 0; d < 4; d++) {
			rnd(dg, sizeof(dg));
			sl = sizeof(sig);
			EVP_PKEY_sign(c, sig, &sl, dg, dls[d]);
			tap_ok(eccverify((int)ks, cv[i].curve, pt, pl, dg, dls[d], sig, sl, &valid,
					 &fips) == 0 && valid == 1 &&
			       fips == (dls[d] == 32 || dls[d] == 48 || dls[d] == 64),
			       "EccVerify %s, %zu-byte digest: valid (EVP's signature)", cv[i].name,
			       dls[d]);
		}
		dg[0] ^= 1;
		tap_ok(eccverify((int)ks, cv[i].curve, pt, pl, dg, 64, sig, sl, &valid, &fips) == 0 &&
		       valid == 0, "EccVerify %s, another digest: not valid", cv[i].name);
		dg[0] ^= 1;
		sig[sl / 2] ^= 0x40;
		tap_ok(eccverify((int)ks, cv[i].curve, pt, pl, dg, 64, sig, sl, &valid, &fips) == 0 &&
		       valid == 0, "EccVerify %s, a flipped signature bit: not valid", cv[i].name);
		tap_ok(eccverify((int)ks, cv[i].curve, pt, pl, dg, 64, (const uint8_t *)"\x30\x02",
				 2, &valid, &fips) == 0 && valid == 0,
		       "EccVerify %s, a malformed signature: not valid", cv[i].name);
		tap_ok(eccverify((int)ks, cv[i].curve, pt, pl, dg, 64, sig, 0, &valid, &fips) == 0 &&
		       valid == 0, "EccVerify %s, an empty signature: not valid", cv[i].name);
		pt[pl - 1] ^= 1;
		tap_eq(eccverify((int)ks, cv[i].curve, pt, pl, dg, 64, sig, sl, &valid, &fips),
		       AZIHSM_STATUS_INVALID_ARG, "EccVerify %s, a point off the curve: INVALID_ARG",
		       cv[i].name);
		pt[pl - 1] ^= 1;
		tap_eq(eccverify((int)ks, cv[(i + 1) % 3].curve, pt, pl, dg, 64, sig, sl, &valid,
				 &fips), AZIHSM_STATUS_INVALID_ARG,
		       "EccVerify %s point named another curve: INVALID_ARG", cv[i].name);
		pt[0] = 0x02;
		tap_eq(eccverify((int)ks, cv[i].curve, pt, pl, dg, 64, sig, sl, &valid, &fips),
		       AZIHSM_STATUS_INVALID_ARG, "EccVerify %s, prefix 02: INVALID_ARG", cv[i].name);
		pt[0] = 0x04;
		tap_eq(eccverify((int)ks, cv[i].curve, pt, pl - 1, dg, 64, sig, sl, &valid, &fips),
		       AZIHSM_STATUS_INVALID_ARG, "EccVerify %s, short point: INVALID_ARG", cv[i].name);
		tap_eq(eccverify((int)ks, cv[i].curve, pt, pl, dg, 0, sig, sl, &valid, &fips),
		       AZIHSM_STATUS_INVALID_ARG, "EccVerify %s, empty digest: INVALID_ARG", cv[i].name);
		tap_eq(eccverify((int)ks, cv[i].curve, pt, pl, (uint8_t[65]){ 0 }, 65, sig, sl, &valid,
				 &fips), AZIHSM_STATUS_INVALID_ARG,
		       "EccVerify %s, 65-byte digest: INVALID_ARG", cv[i].name);
		EVP_PKEY_CTX_free(c);
		EVP_PKEY_free(pk);
	}
	tap_eq(eccverify((int)su, 0x13, pt, 65, dg, 32, sig, 8, &valid, &fips),
	       AZIHSM_STATUS_INVALID_ARG, "EccVerify curve 0x13: INVALID_ARG");
	tap_eq(eccverify(NOSESS, AZIHSM_KEY_EC_P256, pt, 65, dg, 32, sig, 8, &valid, &fips),
	       AZIHSM_STATUS_NO_SESSION, "EccVerify without a session: NO_SESSION");
}

static void test_reset(void)
{
	uint8_t blob[4096], data[32], iv[16];
	size_t bl;
	uint16_t id, id2;
	struct aes_call c, c2;
	struct rsp r;
	long k;

	rnd(data, sizeof(data));
	rnd(iv, sizeof(iv));
	tap_eq(import(fw, (int)ks, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, m_aes[2], 32, &id), 0,
	       "import before the reset");
	memcpy(blob, last_blob, last_blob_len);
	bl = last_blob_len;
	memset(&c, 0, sizeof(c));
	c.key = id;
	c.mode = AZIHSM_AES_CBC;
	c.tag_len_field = ABSENT;
	c.iv = iv;
	c.iv_len = 16;
	c.data = data;
	c.len = 32;
	tap_eq(aes(fw, (int)ks, &c), 0, "encrypt before the reset");
	hsm_fw_reset_sessions(fw);
	tap_eq(aes(fw, (int)ks, &c), AZIHSM_STATUS_NO_SESSION, "after a reset the kernel session is gone");
	k = open_kernel(fw);
	tap_ok(k > 0, "a new kernel session");
	c2 = c;
	tap_eq(aes(fw, (int)k, &c2), AZIHSM_STATUS_KEY_NOT_FOUND, "the old key is gone");
	tap_eq(unmask(fw, (int)k, blob, bl, &id2), 0, "the blob re-enters");
	c2.key = id2;
	tap_ok(aes(fw, (int)k, &c2) == 0 && c2.out_len == 32 && !memcmp(c2.out, c.out, 32),
	       "  and the key gives the same ciphertext");
	svc_flush(fw, (uint16_t)k);
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, (int)k, &r), AZIHSM_STATUS_NO_SESSION,
	       "flush closes the kernel session");
	ks = open_kernel(fw);
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, (int)ks, &r), 0, "a fresh kernel session");
	tap_eq(rsp_u16(&r, AZIHSM_KEY_F_COUNT), 0, "  with no keys");
}


/*
 * issue 9: the kernel session (one key per AF_ALG / crypto-API transform)
 * holds at most HSM_VAULT_KERNEL_KEYS keys; a dropped key frees its place.
 */
static void test_kernel_quota(void)
{
	struct hsm_fw *f = start();
	static struct rsp r;
	static uint8_t blob[sizeof(last_blob)];
	size_t blen = 0;
	uint8_t mat[16];
	unsigned int i, ok = 0;
	uint16_t id = 0, last = 0;
	long k = open_kernel(f);

	for (i = 0; i < HSM_VAULT_KERNEL_KEYS; i++) {
		memset(mat, (int)i, sizeof(mat));
		if (!import(f, (int)k, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, mat, 16, &id)) {
			ok++;
			last = id;
			memcpy(blob, last_blob, last_blob_len);
			blen = last_blob_len;
		}
	}
	tap_eq(ok, HSM_VAULT_KERNEL_KEYS, "issue 9: the kernel session imports %u keys",
	       HSM_VAULT_KERNEL_KEYS);
	tap_eq(import(f, (int)k, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, mat, 16, &id),
	       AZIHSM_STATUS_QUOTA, "issue 9: one more KeyImport: QUOTA (the driver: -ENOSPC)");
	tap_eq(unmask(f, (int)k, blob, blen, &id), AZIHSM_STATUS_QUOTA,
	       "issue 9: one more UnmaskKey: QUOTA");
	tap_eq(call_id(f, AZIHSM_OP_DELETE_KEY, (int)k, last, &r), 0, "a transform's key dropped");
	tap_eq(import(f, (int)k, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, mat, 16, &id), 0,
	       "issue 9: the next setkey fits again");
	hsm_fw_free(f);
}

int main(void)
{
	fw = start();
	if (!fw) {
		printf("Bail out! firmware did not start\n");
		return 1;
	}
	test_kernel_session();
	test_import();
	test_aes_modes();
	test_xts_slices();
	test_blobs();
	test_hash();
	test_rsa();
	test_ecc();
	test_reset();
	hsm_fw_free(fw);
	test_kernel_quota();
	return tap_done();
}
