// SPDX-License-Identifier: MIT
/*
 * Zeroize and backup (hsm_svc_backup.c, hsm_partition.c) through
 * hsm_fw_execute with real MBOR requests and a state file:
 *
 *   the sealed BK3 blob taken apart here with OpenSSL on its own: the seal
 *   key from the NV file's secret and epoch (HKDF-SHA256), the BK3 by
 *   AES-256-GCM, BK by SP 800-108 counter KBKDF built by hand from
 *   HMAC-SHA384, the masking key by AES-KWP, which must equal the
 *   partition's;
 *   issue 9, the masked blobs bound to their owner: a user never gets a
 *   persistent key's blob back, a deleted key's blob is KEY_DELETED (also
 *   after a restart), a live one's officer copy goes with the key;
 *   ZeroizePartition: every key and session gone (the kernel session's
 *   too), default must-change credentials without failures, a new masking
 *   key, no BK3, the next epoch in FILE.nv, all of it stored before the
 *   answer; issue 9, zeroize is final: the old sealed BK3 is BAD_BLOB even
 *   for the next officer on the public default PIN, the old masked blobs
 *   are BAD_BLOB, the old state file beside the new FILE.nv is refused;
 *   the legitimate restore within one epoch: the host puts back an earlier
 *   copy of both state files, and the backup brings back the key made
 *   since (same id, old public key, old ciphertext) but not a key deleted
 *   since; SetSealedBk3 refusing foreign, damaged and cut blobs (nothing
 *   changes); the roles, failed commits, a volatile partition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "hsm_fw_int.h"
#include "hsm_vault.h"
#include "ossl_ref.h"
#include "svc_util.h"
#include "tap.h"

#define OFF HSM_ROLE_OFFICER
#define USR HSM_ROLE_USER

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *USR_ID = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
static const uint8_t *OFF_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
static const uint8_t *USR_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"officer new PIN!";
static const uint8_t *USR_PIN1 = (const uint8_t *)"user's new PIN#1";
static const uint8_t *BAD_PIN = (const uint8_t *)"not the PIN 0000";

static char dir[64], path[128], path2[128];

static struct hsm_fw *start(const char *state)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	const struct hsm_fw_config cfg = { .serial = "BACKUP-1", .fw_rev = "1",
					   .state_path = state, .auth = &acfg };

	return hsm_fw_new(&cfg);
}

/* ---- requests ------------------------------------------------------------ */

static void enc_sealed(struct mbor_enc *e, const uint8_t *nonce, const struct hsm_auth_sealed *s)
{
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_SESS_HOST_PUB);
	mbor_enc_bytes(e, s->host_pub, s->host_pub_len);
	mbor_enc_key(e, AZIHSM_SESS_MSG_NONCE);
	mbor_enc_bytes(e, nonce, HSM_AUTH_NONCE_LEN);
	mbor_enc_key(e, AZIHSM_SESS_CIPHERTEXT);
	mbor_enc_bytes(e, s->ct, s->ct_len);
	mbor_enc_key(e, AZIHSM_SESS_TAG);
	mbor_enc_bytes(e, s->tag, sizeof(s->tag));
}

/* OpenSession (@new_pin NULL) or ChangePin in @sid. */
static long sealed(struct hsm_fw *fw, uint16_t sid, uint8_t role, const uint8_t *pin,
		   const uint8_t *new_pin, uint16_t *out, bool *must_change)
{
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	static struct rsp r;
	struct rq q;
	long st;

	if (out)
		*out = 0;
	st = seal(fw, new_pin ? HSM_AUTH_MSG_CHPIN : HSM_AUTH_MSG_OPEN, role,
		  role == OFF ? OFF_ID : USR_ID, pin, new_pin, nonce, &s);
	if (st)
		return st;
	enc_sealed(rq_begin(&q, new_pin ? AZIHSM_OP_CHANGE_PIN : AZIHSM_OP_OPEN_SESSION,
			    new_pin ? sid : NOSESS), nonce, &s);
	st = rq_send(fw, &q, &r);
	if (!st && out)
		*out = (uint16_t)rsp_u16(&r, AZIHSM_SESS_ID);
	if (!st && must_change)
		*must_change = rsp_bool(&r, AZIHSM_SESS_MUST_CHANGE) == 1;
	return st;
}

static long login(struct hsm_fw *fw, uint8_t role, const uint8_t *pin, uint16_t *sid)
{
	return sealed(fw, 0, role, pin, NULL, sid, NULL);
}

static long keygen(struct hsm_fw *fw, int sid, uint8_t type, uint32_t usage, const char *label,
		   bool persistent, uint16_t *id)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_KEY_GENERATE, sid);
	long st;

	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(e, type);
	mbor_enc_key(e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(e, usage);
	mbor_enc_key(e, AZIHSM_KEY_F_LABEL);
	mbor_enc_bytes(e, label, strlen(label));
	mbor_enc_key(e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(e, persistent);
	st = rq_send(fw, &q, &r);
	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
	return st;
}

/* A bytes answer field copied out; its length or 0. */
static size_t copy_field(const struct rsp *r, uint8_t id, uint8_t *out, size_t cap)
{
	const uint8_t *p;
	size_t len;

	if (rsp_bytes(r, id, &p, &len) || len > cap)
		return 0;
	memcpy(out, p, len);
	return len;
}

static size_t key_public(struct hsm_fw *fw, int sid, uint16_t id, uint8_t *der)
{
	static struct rsp r;

	if (call_id(fw, AZIHSM_OP_KEY_PUBLIC, sid, id, &r))
		return 0;
	return copy_field(&r, AZIHSM_KEY_F_DER, der, 1024);
}

static size_t ecc_sign(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *dg, uint8_t *sig)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_ECC_SIGN, sid);

	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_SIGN_F_KEY);
	mbor_enc_u16(e, id);
	mbor_enc_key(e, AZIHSM_SIGN_F_HASH);
	mbor_enc_u8(e, AZIHSM_HASH_SHA384);
	mbor_enc_key(e, AZIHSM_SIGN_F_DIGEST);
	mbor_enc_bytes(e, dg, 48);
	if (rq_send(fw, &q, &r))
		return 0;
	return copy_field(&r, AZIHSM_SIGN_F_SIGNATURE, sig, 256);
}

/* AES-256-CBC of 32 bytes with a zero IV. */
static long aes_cbc(struct hsm_fw *fw, int sid, uint16_t id, bool decrypt, const uint8_t *in,
		    uint8_t *out)
{
	static const uint8_t iv[16];
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_AES_ENCRYPT_DECRYPT, sid);
	long st;

	mbor_enc_map(e, 5);
	mbor_enc_key(e, AZIHSM_AES_F_KEY_ID);
	mbor_enc_u16(e, id);
	mbor_enc_key(e, AZIHSM_AES_F_MODE);
	mbor_enc_u8(e, AZIHSM_AES_CBC);
	mbor_enc_key(e, AZIHSM_AES_F_DECRYPT);
	mbor_enc_bool(e, decrypt);
	mbor_enc_key(e, AZIHSM_AES_F_IV);
	mbor_enc_bytes(e, iv, sizeof(iv));
	mbor_enc_key(e, AZIHSM_AES_F_DATA);
	mbor_enc_bytes(e, in, 32);
	st = rq_send(fw, &q, &r);
	if (!st && copy_field(&r, AZIHSM_AES_F_OUT, out, 32) != 32)
		return -5;
	return st;
}

static size_t export_masked(struct hsm_fw *fw, int sid, uint16_t id, uint8_t *blob)
{
	static struct rsp r;

	if (call_id(fw, AZIHSM_OP_KEY_EXPORT_MASKED, sid, id, &r))
		return 0;
	return copy_field(&r, AZIHSM_MASK_F_BLOB, blob, 4096);
}

/* UnmaskKey, @persistent < 0: the field left out. */
static long unmask(struct hsm_fw *fw, int sid, const uint8_t *blob, size_t len, int persistent,
		   uint16_t *id)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_UNMASK_KEY, sid);
	long st;

	mbor_enc_map(e, persistent < 0 ? 1 : 2);
	mbor_enc_key(e, AZIHSM_UNMASK_F_BLOB);
	mbor_enc_bytes(e, blob, len);
	if (persistent >= 0) {
		mbor_enc_key(e, AZIHSM_UNMASK_F_PERSISTENT);
		mbor_enc_bool(e, persistent);
	}
	st = rq_send(fw, &q, &r);
	if (id)
		*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_UNMASK_F_KEY_ID);
	return st;
}

static long get_sealed(struct hsm_fw *fw, int sid, uint8_t *blob, size_t *len)
{
	static struct rsp r;
	long st = call0(fw, AZIHSM_OP_GET_SEALED_BK3, sid, &r);

	*len = st ? 0 : copy_field(&r, AZIHSM_BK3_F_SEALED, blob, 1024);
	return st;
}

static long set_sealed(struct hsm_fw *fw, int sid, const uint8_t *blob, size_t len)
{
	static struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_SET_SEALED_BK3, sid);
	long st;

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_BK3_F_SEALED);
	mbor_enc_bytes(e, blob, len);
	st = rq_send(fw, &q, &r);
	if (!st && !r.has_data)
		return -4;
	return st;
}

static uint32_t failures(struct hsm_fw *fw, enum hsm_auth_role role)
{
	uint32_t f = 0xdead;

	hsm_auth_lockout(hsm_fw_auth(fw), role, &f, NULL);
	return f;
}

static void masking_key(struct hsm_fw *fw, struct hsm_masking_key *mk)
{
	hsm_partition_masking_key(fw->part, mk);
}

/* ---- the blob taken apart, independently -------------------------------- */

static size_t slurp(const char *p, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(p, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* SP 800-108 counter mode, one HMAC-SHA384 block: the first 32 bytes. */
static void ref_bk(const uint8_t bk3[48], const uint8_t epoch[8], uint8_t bk[32])
{
	static const char label[] = "azihsm backup key", context[] = "masking key wrap v2";
	uint8_t in[128], mac[48];
	unsigned int n = 0;
	size_t pos = 0;

	in[pos++] = 0, in[pos++] = 0, in[pos++] = 0, in[pos++] = 1;	/* i = 1 */
	memcpy(in + pos, label, strlen(label));
	pos += strlen(label);
	in[pos++] = 0;
	memcpy(in + pos, context, strlen(context));
	pos += strlen(context);
	memcpy(in + pos, epoch, 8);	/* the context ends with the epoch */
	pos += 8;
	in[pos++] = 0, in[pos++] = 0, in[pos++] = 1, in[pos++] = 0;	/* L = 256 bits */
	HMAC(EVP_sha384(), bk3, 48, in, pos, mac, &n);
	memcpy(bk, mac, 32);
}

/*
 * Open a sealed BK3 blob of the device whose NV file is @nv_path, at the
 * epoch that file holds: the BK3 and the wrapped masking key; 0 or a
 * negative step number.
 */
static int ref_open(const char *nv_path, const uint8_t *blob, size_t len, uint8_t bk3[48],
		    struct hsm_masking_key *mk)
{
	uint8_t nv[80], key[32], bk[32], mkbuf[96], info[64];
	const char *label = "azihsm bk3 seal v2";
	EVP_CIPHER_CTX *c;
	OSSL_PARAM p[4];
	EVP_KDF_CTX *kc;
	EVP_KDF *kdf;
	int n = 0, ok;

	if (len != 175 || memcmp(blob, "AZHSMBK3", 8) || blob[8] != 2 || blob[9] != 88 ||
	    blob[10] != 0)
		return -1;
	/* FILE.nv version 2: the epoch u64 at 52. */
	if (slurp(nv_path, nv, sizeof(nv)) != 64 || nv[8] != 2)
		return -2;
	memcpy(info, label, strlen(label));
	memcpy(info + strlen(label), nv + 52, 8);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, nv + 12, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, strlen(label) + 8);
	p[3] = OSSL_PARAM_construct_end();
	ok = kc && EVP_KDF_derive(kc, key, sizeof(key), p) == 1;
	EVP_KDF_CTX_free(kc);
	if (!ok)
		return -3;
	/* AAD 0..98, nonce 99..110, ciphertext 111..158, tag 159..174 */
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_DecryptInit_ex(c, NULL, NULL, key, blob + 99) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, blob, 99) == 1 &&
	     EVP_DecryptUpdate(c, bk3, &n, blob + 111, 48) == 1 && n == 48 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(blob + 159)) == 1 &&
	     EVP_DecryptFinal_ex(c, mkbuf, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return -4;
	ref_bk(bk3, nv + 52, bk);
	c = EVP_CIPHER_CTX_new();
	if (c)
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, bk, NULL) == 1 &&
	     EVP_DecryptUpdate(c, mkbuf, &n, blob + 11, 88) == 1 && n == 80;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return -5;
	memcpy(mk->enc, mkbuf, 32);
	memcpy(mk->mac, mkbuf + 32, 48);
	return 0;
}

/* ---- the test -------------------------------------------------------------- */

struct saved {
	uint8_t ec_blob[4096], aes_blob[4096], gone_blob[4096], sealed[1024], ec_pub[1024];
	uint8_t pt[32], ct[32];
	size_t ec_len, aes_len, gone_len, sealed_len, ec_pub_len;
	uint8_t bk3[48];
	struct hsm_masking_key mk;
	uint8_t state[65536], nv[128];	/* the state files just before the zeroize */
	size_t state_len, nv_len;
};

static struct saved sv;

static int spit(const char *p, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(p, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) || !ok ? -1 : 0;
}

/* FILE.nv's epoch (version 2: u64 at 52), or -1. */
static long nv_epoch(void)
{
	uint8_t nv[128];
	long e = 0;

	if (slurp(path2, nv, sizeof(nv)) != 64 || nv[8] != 2)
		return -1;
	for (int i = 7; i >= 0; i--)
		e = e << 8 | nv[52 + i];
	return e;
}

static void test_before(struct hsm_fw *fw, uint16_t *o, uint16_t *u)
{
	uint8_t bk3b[48], sealed2[1024], dg[48], sig[256], blob[4096];
	struct hsm_masking_key mk, mkb;
	static struct rsp r;
	uint16_t ec, aes, o0, k, gone, cp, u2;
	size_t len2, sl, bl;
	struct hsm_key_attr a;
	EVP_PKEY *pub;

	/* The officer on the default PIN, the user, no session. */
	login(fw, OFF, OFF_PIN0, &o0);
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, o0, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "default officer: InitBk3 MUST_CHANGE_PIN");
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, o0, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "default officer: ZeroizePartition MUST_CHANGE_PIN");
	tap_eq(sealed(fw, o0, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL), 0, "officer changes the PIN");
	*o = o0;
	login(fw, USR, USR_PIN0, u);
	tap_eq(sealed(fw, *u, USR, USR_PIN0, USR_PIN1, NULL, NULL), 0, "user changes the PIN");
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, *u, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "user: ZeroizePartition WRONG_ROLE");
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, *u, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "user: InitBk3 WRONG_ROLE");
	tap_eq(call0(fw, AZIHSM_OP_GET_SEALED_BK3, *u, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "user: GetSealedBk3 WRONG_ROLE");
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, NOSESS, &r), AZIHSM_STATUS_NO_SESSION,
	       "no session: ZeroizePartition NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_GET_SEALED_BK3, *o, &r), AZIHSM_STATUS_NO_BK3,
	       "GetSealedBk3 before InitBk3: NO_BK3");
	tap_eq(nv_epoch(), 0, "FILE.nv version 2 at epoch 0");

	/* Keys, a signature and a ciphertext to come back to. */
	tap_eq(keygen(fw, *o, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY, "ec1",
		      true, &ec), 0, "persistent EC P-384 ec1");
	tap_eq(keygen(fw, *o, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT,
		      "aes1", true, &aes), 0, "persistent AES-256 aes1");
	tap_eq(keygen(fw, *u, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "sess1", false, &k), 0,
	       "a session key of the user");
	sv.ec_pub_len = key_public(fw, *u, ec, sv.ec_pub);
	memset(sv.pt, 0x5a, sizeof(sv.pt));
	tap_eq(aes_cbc(fw, *u, aes, false, sv.pt, sv.ct), 0, "aes1 encrypts");
	ref_digest(AZIHSM_HASH_SHA384, "before the backup", dg);
	sl = ecc_sign(fw, *u, ec, dg, sig);
	pub = ref_d2i_pub(sv.ec_pub, sv.ec_pub_len);
	tap_ok(pub && sl && ref_verify(pub, AZIHSM_HASH_SHA384, -1, dg, 48, sig, sl),
	       "ec1 signs; OpenSSL verifies with its public key");
	EVP_PKEY_free(pub);

	/* The BK3 and its sealed blob. */
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, *o, &r), 0, "officer: InitBk3");
	tap_ok(r.has_data, "  answered with an (empty) data map");
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, *o, &r), AZIHSM_STATUS_BK3_EXISTS,
	       "InitBk3 again: BK3_EXISTS");
	tap_eq(get_sealed(fw, *o, sv.sealed, &sv.sealed_len), 0, "officer: GetSealedBk3");
	tap_eq(sv.sealed_len, 175, "  the blob is 175 bytes");
	tap_eq(sv.sealed[8], 2, "  version 2");
	masking_key(fw, &mk);
	sv.mk = mk;
	tap_eq(ref_open(path2, sv.sealed, sv.sealed_len, sv.bk3, &mkb), 0,
	       "OpenSSL opens the blob: NV secret, epoch -> HKDF -> GCM -> BK3 -> KBKDF -> KWP");
	tap_ok(!memcmp(&mkb, &mk, sizeof(mk)), "  the wrapped key is the partition's masking key");
	tap_eq(get_sealed(fw, *o, sealed2, &len2), 0, "GetSealedBk3 again");
	tap_ok(len2 == sv.sealed_len && memcmp(sealed2, sv.sealed, len2) &&
	       !ref_open(path2, sealed2, len2, bk3b, &mkb) && !memcmp(bk3b, sv.bk3, 48),
	       "  a fresh nonce, the same BK3 inside");
	memcpy(sealed2, sv.sealed, sv.sealed_len);
	sealed2[8] = 1;
	tap_eq(set_sealed(fw, *o, sealed2, sv.sealed_len), AZIHSM_STATUS_BAD_BLOB,
	       "issue 9: a version-1 (epoch-less) sealed BK3: BAD_BLOB");
	tap_eq(set_sealed(fw, *o, sv.sealed, sv.sealed_len), 0,
	       "SetSealedBk3 in the same epoch over persistent keys: the same masking key, OK");

	/* Masked blobs of the persistent keys. */
	tap_eq(call_id(fw, AZIHSM_OP_KEY_EXPORT_MASKED, *u, ec, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "user: KeyExportMasked of a persistent key WRONG_ROLE");
	sv.ec_len = export_masked(fw, *o, ec, sv.ec_blob);
	sv.aes_len = export_masked(fw, *o, aes, sv.aes_blob);
	tap_ok(sv.ec_len && sv.aes_len, "officer: KeyExportMasked of ec1 and aes1");
	tap_eq(unmask(fw, *o, sv.ec_blob, sv.ec_len, 1, NULL), AZIHSM_STATUS_KEY_EXISTS,
	       "UnmaskKey persistent while ec1 lives: KEY_EXISTS");

	/* issue 9: who gets a blob back. */
	tap_eq(unmask(fw, *u, sv.ec_blob, sv.ec_len, 0, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9: user: UnmaskKey of a persistent key's blob (session key): WRONG_ROLE");
	tap_eq(unmask(fw, *o, sv.ec_blob, sv.ec_len, 0, &cp), 0,
	       "officer: a session copy of ec1 while it lives");
	tap_eq(keygen(fw, *o, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "gone", true, &gone), 0,
	       "persistent key 'gone'");
	sv.gone_len = export_masked(fw, *o, gone, sv.gone_blob);
	tap_ok(sv.gone_len > 0, "  its masked blob");
	tap_eq(unmask(fw, *o, sv.gone_blob, sv.gone_len, 0, &k), 0, "  an officer copy of it");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, *o, gone, &r), 0, "officer deletes 'gone'");
	tap_eq(hsm_vault_get_attr(hsm_fw_vault(fw), k, &a), HSM_VAULT_NOT_FOUND,
	       "issue 9: the officer's copy went with it");
	tap_eq(unmask(fw, *u, sv.gone_blob, sv.gone_len, 0, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9: user: its blob as a session key: WRONG_ROLE");
	tap_eq(unmask(fw, *o, sv.gone_blob, sv.gone_len, 0, NULL), AZIHSM_STATUS_KEY_DELETED,
	       "issue 9: officer: its blob as a session key: KEY_DELETED");
	tap_eq(unmask(fw, *o, sv.gone_blob, sv.gone_len, 1, NULL), AZIHSM_STATUS_KEY_DELETED,
	       "issue 9: officer: as a persistent key: KEY_DELETED");
	tap_eq(hsm_vault_count_owner(hsm_fw_vault(fw), 0), 2, "  nothing came back");

	/* A session key's blob: back to the same role only. */
	bl = export_masked(fw, *u, k = 0, blob);
	tap_eq(bl, 0, "KeyExportMasked of id 0: refused");
	tap_eq(keygen(fw, *u, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "usk", false, &k), 0,
	       "a user session key usk");
	bl = export_masked(fw, *u, k, blob);
	tap_ok(bl > 0 && blob[12] == 2, "  its masked blob names the user role");
	tap_eq(unmask(fw, *o, blob, bl, 0, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9: a user's session-key blob in an officer session: WRONG_ROLE");
	tap_eq(login(fw, USR, USR_PIN1, &u2), 0, "a second user session");
	tap_eq(unmask(fw, u2, blob, bl, 0, &k), 0, "  the user's blob comes back there");
	call0(fw, AZIHSM_OP_CLOSE_SESSION, u2, &r);
	(void)cp;
}

static void test_zeroize(struct hsm_fw **pfw, uint16_t o, uint16_t u)
{
	struct hsm_fw *fw = *pfw;
	struct hsm_masking_key mk;
	static uint8_t cur[65536];
	static struct rsp r;
	uint16_t o2, ks = 0, kid;
	uint8_t raw[32], kblob[512];
	size_t kblen = 0, cur_len;
	bool must;
	struct rq q;
	struct mbor_enc *e;

	/* A kernel session with a key, a counted user failure. */
	tap_eq(call0(fw, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &r), 0, "kernel session");
	ks = (uint16_t)rsp_u16(&r, AZIHSM_KSESS_F_ID);
	memset(raw, 7, sizeof(raw));
	e = rq_begin(&q, AZIHSM_OP_KEY_IMPORT, ks);
	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
	mbor_enc_u8(e, AZIHSM_KEY_AES256);
	mbor_enc_key(e, AZIHSM_IMPORT_F_USAGE);
	mbor_enc_u32(e, AZIHSM_USAGE_ENCRYPT);
	mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
	mbor_enc_bytes(e, raw, sizeof(raw));
	tap_eq(rq_send(fw, &q, &r), 0, "kernel: KeyImport");
	kblen = copy_field(&r, AZIHSM_IMPORT_F_BLOB, kblob, sizeof(kblob));
	tap_eq(unmask(fw, ks, sv.ec_blob, sv.ec_len, 1, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "kernel: UnmaskKey persistent WRONG_ROLE");
	tap_eq(unmask(fw, u, sv.ec_blob, sv.ec_len, 1, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "user: UnmaskKey persistent WRONG_ROLE");
	login(fw, USR, BAD_PIN, NULL);
	tap_eq(failures(fw, USR), 1, "a wrong user PIN counted");

	mbor_enc_map(rq_begin(&q, AZIHSM_OP_ZEROIZE_PARTITION, o), 1);
	mbor_enc_key(&q.e, 1);
	mbor_enc_u8(&q.e, 1);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED, "ZeroizePartition with a field: MALFORMED");
	/* ec1, aes1; sess1, usk (user); the copy of ec1 (officer); the kernel key */
	tap_ok(hsm_vault_count(hsm_fw_vault(fw)) == 6, "  nothing happened");

	/* The state files as they are before the zeroize. */
	sv.state_len = slurp(path, sv.state, sizeof(sv.state));
	sv.nv_len = slurp(path2, sv.nv, sizeof(sv.nv));
	tap_ok(sv.state_len > 0 && sv.nv_len == 64, "a copy of FILE and FILE.nv before the zeroize");

	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, o, &r), 0, "officer: ZeroizePartition");
	tap_ok(r.has_data, "  answered with an (empty) data map");
	tap_ok((r.cmd.cqe_session_flags & AZIHSM_SESS_OP_MASK) == AZIHSM_SESS_OP_CLOSE &&
	       (r.cmd.cqe_session_flags & AZIHSM_SESS_SAFE_TO_CLOSE) && r.cmd.cqe_session_id == o,
	       "  the CQE says the caller's session closed");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "every key is gone (persistent, session, kernel)");
	tap_eq(hsm_auth_session_count(hsm_fw_auth(fw)), 0, "every session is closed");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, o, &r), AZIHSM_STATUS_NO_SESSION,
	       "  the officer's own: NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, u, &r), AZIHSM_STATUS_NO_SESSION,
	       "  the user's: NO_SESSION");
	tap_eq(call0(fw, AZIHSM_OP_KEY_LIST, ks, &r), AZIHSM_STATUS_NO_SESSION,
	       "  the kernel session: NO_SESSION");
	tap_eq(failures(fw, USR), 0, "the user's failure counter is zero");
	masking_key(fw, &mk);
	tap_ok(memcmp(&mk, &sv.mk, sizeof(mk)), "a new masking key");
	tap_eq(nv_epoch(), 1, "issue 9: FILE.nv holds the next epoch (1) before the answer");

	/* Durable before the answer: a restart right after. */
	hsm_fw_free(fw);
	*pfw = fw = start(path);
	if (!tap_ok(fw != NULL, "restart after the zeroize"))
		return;
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "  no key came back");
	tap_eq(hsm_partition_epoch(fw->part), 1, "  epoch 1");
	{
		struct hsm_masking_key mk2;

		masking_key(fw, &mk2);
		tap_ok(!memcmp(&mk2, &mk, sizeof(mk)), "  the new masking key was stored");
	}
	tap_eq(login(fw, OFF, OFF_PIN1, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  the officer's PIN is refused");
	tap_eq(login(fw, USR, USR_PIN1, NULL), AZIHSM_STATUS_BAD_CREDENTIAL,
	       "  the user's PIN is refused");
	tap_eq(sealed(fw, 0, OFF, OFF_PIN0, NULL, &o2, &must), 0, "  the default officer PIN opens");
	tap_ok(must, "  flagged must-change");
	tap_eq(call0(fw, AZIHSM_OP_SET_SEALED_BK3, o2, &r), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "  SetSealedBk3 without the blob: the class is checked first");
	tap_eq(set_sealed(fw, o2, sv.sealed, sv.sealed_len), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "  SetSealedBk3 before the change: MUST_CHANGE_PIN");
	tap_eq(sealed(fw, o2, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL), 0,
	       "  whoever logs in first on the public default PIN changes it");
	tap_eq(call0(fw, AZIHSM_OP_GET_SEALED_BK3, o2, &r), AZIHSM_STATUS_NO_BK3,
	       "  no BK3 any more: NO_BK3");
	tap_eq(set_sealed(fw, o2, sv.sealed, sv.sealed_len), AZIHSM_STATUS_BAD_BLOB,
	       "issue 9: the sealed BK3 of before the zeroize: BAD_BLOB (zeroize is final)");
	masking_key(fw, &mk);
	tap_ok(memcmp(&mk, &sv.mk, sizeof(mk)) && !hsm_partition_has_bk3(fw->part),
	       "  the old masking key did not come back, nor the BK3");
	tap_eq(unmask(fw, o2, sv.ec_blob, sv.ec_len, 1, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "issue 9: the old EC blob as a persistent key: BAD_BLOB");
	tap_eq(unmask(fw, o2, sv.aes_blob, sv.aes_len, -1, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "issue 9: the old AES blob as a session key: BAD_BLOB");
	tap_eq(hsm_partition_set_sealed_bk3(fw->part, sv.sealed, sv.sealed_len), HSM_PART_BAD_BLOB,
	       "  (the partition itself refuses the old sealed BK3)");
	{
		/* Even the old masking key itself opens nothing in this epoch. */
		struct hsm_masking_key bound;
		uint16_t id;

		hsm_partition_blob_key(fw->part, &sv.mk, &bound);
		tap_eq(hsm_vault_unmask(hsm_fw_vault(fw), &bound, sv.ec_blob, sv.ec_len,
					HSM_BLOB_OFFICER, 0, &id), HSM_VAULT_BAD_BLOB,
		       "issue 9: the old masking key bound to epoch 1 opens no blob of epoch 0");
		OPENSSL_cleanse(&bound, sizeof(bound));
	}
	tap_eq(call0(fw, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &r), 0, "  a new kernel session");
	ks = (uint16_t)rsp_u16(&r, AZIHSM_KSESS_F_ID);
	tap_eq(unmask(fw, ks, kblob, kblen, -1, &kid), AZIHSM_STATUS_BAD_BLOB,
	       "  the old kernel blob: BAD_BLOB (new kernel masking key)");
	call0(fw, AZIHSM_OP_CLOSE_SESSION, ks, &r);
	call0(fw, AZIHSM_OP_CLOSE_SESSION, o2, &r);

	/* issue 9: the old state file beside the new FILE.nv. */
	hsm_fw_free(fw);
	cur_len = slurp(path, cur, sizeof(cur));
	spit(path, sv.state, sv.state_len);
	*pfw = fw = start(path);
	tap_ok(fw && hsm_partition_status(fw->part) == AZIHSM_PERSIST_ROLLED_BACK,
	       "issue 9: the state file of before the zeroize copied back: refused (rolled back)");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "  none of its keys loaded");
	hsm_fw_free(fw);
	spit(path, cur, cur_len);
	*pfw = fw = start(path);
	tap_ok(fw && hsm_partition_status(fw->part) == AZIHSM_PERSIST_LOADED,
	       "  the current state file back: loaded");
}

/*
 * The legitimate restore: within one epoch. The host puts back an earlier
 * copy of both state files (its own backup of the partition); the keys
 * made since come back from their blobs, a key deleted before stays gone.
 */
static void test_restore(struct hsm_fw **pfw)
{
	static uint8_t bad[1024], foreign[1024], snap[65536], snap_nv[128];
	static uint8_t ec2_blob[4096], aes2_blob[4096], k3_blob[4096], keep_blob[4096];
	static uint8_t gone2_blob[4096], sbk[1024];
	struct hsm_fw *fw = *pfw, *fw2;
	struct hsm_masking_key mk0, mk;
	uint8_t dg[48], sig[256], pub[1024], ec2_pub[1024], pt[32], ct[32], bk3[48];
	static struct rsp r;
	uint16_t o, u, keep, gone2, ec2, aes2, k3, id, o3;
	size_t flen = 0, sl, pl, i, len, snap_len, snap_nv_len, ec2_len, aes2_len, k3_len;
	size_t keep_len, gone2_len, slen, ec2_pub_len;
	unsigned int refused = 0;
	static const size_t flips[] = { 0, 8, 9, 11, 60, 98, 99, 110, 111, 158, 159, 174 };
	EVP_PKEY *pk;

	tap_eq(login(fw, OFF, OFF_PIN1, &o), 0, "officer session");
	login(fw, USR, USR_PIN0, &u);
	sealed(fw, u, USR, USR_PIN0, USR_PIN1, NULL, NULL);
	masking_key(fw, &mk0);

	/* Another device's blob, damaged blobs. */
	{
		char other[160];

		snprintf(other, sizeof(other), "%s/other", dir);
		fw2 = start(other);
		login(fw2, OFF, OFF_PIN0, &o3);
		sealed(fw2, o3, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL);
		call0(fw2, AZIHSM_OP_INIT_BK3, o3, &r);
		tap_eq(get_sealed(fw2, o3, foreign, &flen), 0, "another device's sealed BK3");
		hsm_fw_free(fw2);
	}
	tap_eq(set_sealed(fw, u, sv.sealed, sv.sealed_len), AZIHSM_STATUS_WRONG_ROLE,
	       "user: SetSealedBk3 WRONG_ROLE");
	tap_eq(set_sealed(fw, o, foreign, flen), AZIHSM_STATUS_BAD_BLOB,
	       "another device's blob: BAD_BLOB");

	/* Keys of this epoch; a BK3; a key deleted; the host's copy of the files. */
	tap_eq(keygen(fw, o, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "keep", true, &keep), 0,
	       "persistent key 'keep'");
	tap_eq(keygen(fw, o, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "gone2", true, &gone2), 0,
	       "persistent key 'gone2'");
	keep_len = export_masked(fw, o, keep, keep_blob);
	gone2_len = export_masked(fw, o, gone2, gone2_blob);
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, o, gone2, &r), 0, "  'gone2' exported, then deleted");
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, o, &r), 0, "InitBk3 (epoch 1)");
	tap_eq(get_sealed(fw, o, sbk, &slen), 0, "GetSealedBk3");
	tap_ok(!ref_open(path2, sbk, slen, bk3, &mk) && !memcmp(&mk, &mk0, sizeof(mk)),
	       "  OpenSSL opens it with the epoch-1 keys: the current masking key");
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, sbk, slen);
		bad[flips[i]] ^= 0x10;
		refused += set_sealed(fw, o, bad, slen) == AZIHSM_STATUS_BAD_BLOB;
	}
	tap_eq(refused, sizeof(flips) / sizeof(flips[0]),
	       "a bit flipped in magic, version, length, wrapped key, nonce, BK3, tag: BAD_BLOB");
	tap_eq(set_sealed(fw, o, sbk, slen - 1), AZIHSM_STATUS_BAD_BLOB,
	       "one byte short: BAD_BLOB");
	memcpy(bad, sbk, slen);
	tap_eq(set_sealed(fw, o, bad, slen + 1), AZIHSM_STATUS_BAD_BLOB, "one byte more: BAD_BLOB");
	tap_eq(set_sealed(fw, o, bad, 0), AZIHSM_STATUS_BAD_BLOB, "empty: BAD_BLOB");
	masking_key(fw, &mk);
	tap_ok(!memcmp(&mk, &mk0, sizeof(mk)), "after the refusals: the masking key unchanged");
	snap_len = slurp(path, snap, sizeof(snap));
	snap_nv_len = slurp(path2, snap_nv, sizeof(snap_nv));
	tap_ok(snap_len && snap_nv_len == 64, "the host copies both state files");

	/* Made after the host's copy: ec2, aes2, k3. */
	tap_eq(keygen(fw, o, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY, "ec2",
		      true, &ec2), 0, "then persistent EC P-384 ec2");
	tap_eq(keygen(fw, o, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT,
		      "aes2", true, &aes2), 0, "  AES-256 aes2");
	tap_eq(keygen(fw, o, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, "k3", true, &k3), 0,
	       "  HMAC k3");
	ec2_pub_len = key_public(fw, u, ec2, ec2_pub);
	memset(pt, 0x3c, sizeof(pt));
	tap_eq(aes_cbc(fw, u, aes2, false, pt, ct), 0, "  aes2 encrypts");
	ec2_len = export_masked(fw, o, ec2, ec2_blob);
	aes2_len = export_masked(fw, o, aes2, aes2_blob);
	k3_len = export_masked(fw, o, k3, k3_blob);
	tap_ok(ec2_len && aes2_len && k3_len && keep_len && gone2_len, "  their masked blobs");

	/* The host puts its copy back: ec2, aes2 and k3 are lost. */
	hsm_fw_free(fw);
	spit(path, snap, snap_len);
	spit(path2, snap_nv, snap_nv_len);
	*pfw = fw = start(path);
	if (!tap_ok(fw && hsm_partition_status(fw->part) == AZIHSM_PERSIST_LOADED,
		    "the host's copy of the state files loads (same epoch)"))
		return;
	tap_eq(hsm_vault_count_owner(hsm_fw_vault(fw), 0), 1, "  with 'keep' only");
	tap_eq(login(fw, OFF, OFF_PIN1, &o), 0, "officer session");
	tap_eq(login(fw, USR, USR_PIN1, &u), 0, "user session");
	tap_eq(set_sealed(fw, o, sbk, slen), 0,
	       "SetSealedBk3 of this epoch over a persistent key: OK (the same masking key)");
	tap_eq(unmask(fw, u, ec2_blob, ec2_len, 0, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9: user: ec2's blob: WRONG_ROLE");
	tap_eq(unmask(fw, o, ec2_blob, ec2_len, 0, NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "officer: ec2 as a session copy: KEY_NOT_FOUND (restore it first)");
	tap_eq(unmask(fw, o, ec2_blob, ec2_len, 1, &id), 0, "officer: UnmaskKey ec2 persistent");
	tap_eq(id, ec2, "  with its old id");
	tap_eq(unmask(fw, o, aes2_blob, aes2_len, 1, &id), 0, "officer: UnmaskKey aes2 persistent");
	tap_eq(unmask(fw, o, keep_blob, keep_len, 1, NULL), AZIHSM_STATUS_KEY_EXISTS,
	       "'keep' persistent: KEY_EXISTS (it is there)");
	tap_eq(unmask(fw, o, gone2_blob, gone2_len, 1, NULL), AZIHSM_STATUS_KEY_DELETED,
	       "issue 9: 'gone2', deleted before the copy: KEY_DELETED");
	tap_eq(unmask(fw, o, ec2_blob, ec2_len, 1, NULL), AZIHSM_STATUS_KEY_EXISTS,
	       "ec2 a second time: KEY_EXISTS");

	/* A restart: they are persistent keys. */
	hsm_fw_free(fw);
	*pfw = fw = start(path);
	if (!tap_ok(fw != NULL, "restart after the restore"))
		return;
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 3, "  keep, ec2 and aes2 came back from the state file");
	tap_eq(login(fw, USR, USR_PIN1, &u), 0, "user session");
	{
		struct hsm_key_attr a;

		tap_ok(!hsm_vault_get_attr(hsm_fw_vault(fw), ec2, &a) && a.owner == 0 &&
		       a.type == HSM_KEY_EC_P384 && a.usage == (HSM_USAGE_SIGN | HSM_USAGE_VERIFY) &&
		       a.label_len == 3 && !memcmp(a.label, "ec2", 3),
		       "  ec2: persistent, P-384, sign|verify, label ec2");
	}
	pl = key_public(fw, u, ec2, pub);
	tap_ok(pl == ec2_pub_len && !memcmp(pub, ec2_pub, pl),
	       "the restored ec2's public key is the old one");
	ref_digest(AZIHSM_HASH_SHA384, "after the restore", dg);
	sl = ecc_sign(fw, u, ec2, dg, sig);
	pk = ref_d2i_pub(ec2_pub, ec2_pub_len);
	tap_ok(pk && sl && ref_verify(pk, AZIHSM_HASH_SHA384, -1, dg, 48, sig, sl),
	       "its new signature verifies (OpenSSL) with the old public key");
	EVP_PKEY_free(pk);
	tap_eq(aes_cbc(fw, u, id, true, ct, pt), 0, "the restored aes2 decrypts");
	{
		uint8_t want[32];

		memset(want, 0x3c, sizeof(want));
		tap_ok(!memcmp(pt, want, sizeof(pt)), "  the old ciphertext to the old plaintext");
	}

	/* Failed commits: nothing is acknowledged unstored. */
	tap_eq(login(fw, OFF, OFF_PIN1, &o), 0, "officer session");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, o, id, &r), 0, "officer deletes aes2");
	tap_eq(unmask(fw, o, aes2_blob, aes2_len, 1, NULL), AZIHSM_STATUS_KEY_DELETED,
	       "issue 9: its blob now: KEY_DELETED");
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			printf("# could not remove %s\n", dir);
	}
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, o, ec2, &r), AZIHSM_STATUS_NOT_STORED,
	       "directory gone: DeleteKey NOT_STORED");
	tap_eq(unmask(fw, o, k3_blob, k3_len, 1, NULL), AZIHSM_STATUS_NOT_STORED,
	       "  UnmaskKey k3 persistent: NOT_STORED");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 2, "  and the unstored key is not kept");
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, o, &r), AZIHSM_STATUS_BK3_EXISTS,
	       "  InitBk3: BK3_EXISTS");
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, o, &r), AZIHSM_STATUS_NOT_STORED,
	       "  ZeroizePartition: NOT_STORED");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "  the keys are gone from the device anyway");
	tap_eq(hsm_partition_epoch(fw->part), 2, "  and its next epoch holds in memory");
	tap_eq(hsm_partition_set_sealed_bk3(fw->part, sbk, slen), HSM_PART_BAD_BLOB,
	       "issue 9: so the epoch-1 sealed BK3 is BAD_BLOB even then");
	(void)len;
}

/* A volatile partition: the epoch in memory. */
static void test_volatile(void)
{
	struct hsm_fw *fw = start(NULL);
	uint8_t blob[1024], mblob[4096];
	struct hsm_masking_key mk0, mk;
	static struct rsp r;
	uint16_t o, k;
	size_t len, ml;

	if (!tap_ok(fw != NULL, "volatile: start"))
		return;
	login(fw, OFF, OFF_PIN0, &o);
	sealed(fw, o, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL);
	keygen(fw, o, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, "h", true, &k);
	ml = export_masked(fw, o, k, mblob);
	call0(fw, AZIHSM_OP_INIT_BK3, o, &r);
	tap_eq(get_sealed(fw, o, blob, &len), 0, "volatile: GetSealedBk3");
	tap_eq(set_sealed(fw, o, blob, len), 0, "volatile: SetSealedBk3 in the same epoch: OK");
	tap_eq(unmask(fw, o, mblob, ml, 0, NULL), 0, "volatile: an officer copy of the key");
	masking_key(fw, &mk0);
	tap_eq(hsm_partition_epoch(fw->part), 0, "volatile: epoch 0");
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, o, &r), 0, "volatile: ZeroizePartition");
	tap_eq(hsm_partition_epoch(fw->part), 1, "volatile: epoch 1 (in memory)");
	login(fw, OFF, OFF_PIN0, &o);
	sealed(fw, o, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL);
	tap_eq(unmask(fw, o, mblob, ml, 1, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "issue 9: volatile: the old masked blob: BAD_BLOB");
	tap_eq(set_sealed(fw, o, blob, len), AZIHSM_STATUS_BAD_BLOB,
	       "issue 9: volatile: the old sealed BK3 after the zeroize: BAD_BLOB");
	masking_key(fw, &mk);
	tap_ok(memcmp(&mk, &mk0, sizeof(mk)), "volatile: the old masking key stays gone");
	hsm_fw_free(fw);
}

int main(void)
{
	struct hsm_fw *fw;
	uint16_t o = 0, u = 0;

	snprintf(dir, sizeof(dir), "/tmp/azihsm-backup-XXXXXX");
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(path2, sizeof(path2), "%s/state.nv", dir);
	fw = start(path);
	if (!tap_ok(fw != NULL, "start with a state file"))
		return tap_done();
	test_before(fw, &o, &u);
	test_zeroize(&fw, o, u);
	if (fw)
		test_restore(&fw);
	hsm_fw_free(fw);
	test_volatile();
	OPENSSL_cleanse(&sv, sizeof(sv));
	return tap_done();
}
