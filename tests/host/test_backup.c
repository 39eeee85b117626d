// SPDX-License-Identifier: MIT
/*
 * Zeroize and backup (hsm_svc_backup.c, hsm_partition.c) through
 * hsm_fw_execute with real MBOR requests and a state file:
 *
 *   the sealed BK3 blob taken apart here with OpenSSL on its own: the seal
 *   key from the NV file's secret (HKDF-SHA256), the BK3 by AES-256-GCM,
 *   BK by SP 800-108 counter KBKDF built by hand from HMAC-SHA384, the
 *   masking key by AES-KWP, which must equal the partition's;
 *   ZeroizePartition: every key and session gone (the kernel session's
 *   too), default must-change credentials without failures, a new masking
 *   key (old blobs BAD_BLOB), no BK3, all of it stored before the answer;
 *   SetSealedBk3 refusing foreign, damaged and cut blobs (nothing changes)
 *   and a partition with persistent keys; then restoring the masking key,
 *   after which the old blobs come back as persistent keys that sign (the
 *   signature checked with the old public key) and decrypt (the old
 *   ciphertext), across a restart; the roles, and failed commits.
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
static void ref_bk(const uint8_t bk3[48], uint8_t bk[32])
{
	static const char label[] = "azihsm backup key", context[] = "masking key wrap v1";
	uint8_t in[128], mac[48];
	unsigned int n = 0;
	size_t pos = 0;

	in[pos++] = 0, in[pos++] = 0, in[pos++] = 0, in[pos++] = 1;	/* i = 1 */
	memcpy(in + pos, label, strlen(label));
	pos += strlen(label);
	in[pos++] = 0;
	memcpy(in + pos, context, strlen(context));
	pos += strlen(context);
	in[pos++] = 0, in[pos++] = 0, in[pos++] = 1, in[pos++] = 0;	/* L = 256 bits */
	HMAC(EVP_sha384(), bk3, 48, in, pos, mac, &n);
	memcpy(bk, mac, 32);
}

/*
 * Open a sealed BK3 blob of the device whose NV file is @nv_path: the BK3
 * and the wrapped masking key; 0 or a negative step number.
 */
static int ref_open(const char *nv_path, const uint8_t *blob, size_t len, uint8_t bk3[48],
		    struct hsm_masking_key *mk)
{
	uint8_t nv[64], key[32], bk[32], mkbuf[96];
	const char *info = "azihsm bk3 seal v1";
	EVP_CIPHER_CTX *c;
	OSSL_PARAM p[4];
	EVP_KDF_CTX *kc;
	EVP_KDF *kdf;
	int n = 0, ok;

	if (len != 175 || memcmp(blob, "AZHSMBK3", 8) || blob[8] != 1 || blob[9] != 88 ||
	    blob[10] != 0)
		return -1;
	if (slurp(nv_path, nv, sizeof(nv)) != 56)
		return -2;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, nv + 12, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
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
	ref_bk(bk3, bk);
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
	uint8_t ec_blob[4096], aes_blob[4096], sealed[1024], ec_pub[1024], pt[32], ct[32];
	size_t ec_len, aes_len, sealed_len, ec_pub_len;
	uint8_t bk3[48];
	struct hsm_masking_key mk;
};

static struct saved sv;

static void test_before(struct hsm_fw *fw, uint16_t *o, uint16_t *u)
{
	uint8_t bk3b[48], sealed2[1024], dg[48], sig[256];
	struct hsm_masking_key mk, mkb;
	static struct rsp r;
	uint16_t ec, aes, o0, k;
	size_t len2, sl;
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
	masking_key(fw, &mk);
	sv.mk = mk;
	tap_eq(ref_open(path2, sv.sealed, sv.sealed_len, sv.bk3, &mkb), 0,
	       "OpenSSL opens the blob: NV secret -> HKDF -> GCM -> BK3 -> KBKDF -> KWP");
	tap_ok(!memcmp(&mkb, &mk, sizeof(mk)), "  the wrapped key is the partition's masking key");
	tap_eq(get_sealed(fw, *o, sealed2, &len2), 0, "GetSealedBk3 again");
	tap_ok(len2 == sv.sealed_len && memcmp(sealed2, sv.sealed, len2) &&
	       !ref_open(path2, sealed2, len2, bk3b, &mkb) && !memcmp(bk3b, sv.bk3, 48),
	       "  a fresh nonce, the same BK3 inside");

	/* Masked blobs of the persistent keys. */
	tap_eq(call_id(fw, AZIHSM_OP_KEY_EXPORT_MASKED, *u, ec, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "user: KeyExportMasked of a persistent key WRONG_ROLE");
	sv.ec_len = export_masked(fw, *o, ec, sv.ec_blob);
	sv.aes_len = export_masked(fw, *o, aes, sv.aes_blob);
	tap_ok(sv.ec_len && sv.aes_len, "officer: KeyExportMasked of ec1 and aes1");
	tap_eq(unmask(fw, *o, sv.ec_blob, sv.ec_len, 1, NULL), AZIHSM_STATUS_LABEL_EXISTS,
	       "UnmaskKey persistent while ec1 lives: LABEL_EXISTS");
}

static void test_zeroize(struct hsm_fw **pfw, uint16_t o, uint16_t u)
{
	struct hsm_fw *fw = *pfw;
	struct hsm_masking_key mk;
	static struct rsp r;
	uint16_t o2, ks = 0, kid;
	uint8_t raw[32], kblob[512];
	size_t kblen = 0;
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
	tap_ok(hsm_vault_count(hsm_fw_vault(fw)) == 3 + 1, "  nothing happened");

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

	/* Durable before the answer: a restart right after. */
	hsm_fw_free(fw);
	*pfw = fw = start(path);
	if (!tap_ok(fw != NULL, "restart after the zeroize"))
		return;
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "  no key came back");
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
	tap_eq(sealed(fw, o2, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL), 0, "  the officer changes it");
	tap_eq(call0(fw, AZIHSM_OP_GET_SEALED_BK3, o2, &r), AZIHSM_STATUS_NO_BK3,
	       "  no BK3 any more: NO_BK3");
	tap_eq(unmask(fw, o2, sv.ec_blob, sv.ec_len, 1, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "  the old EC blob: BAD_BLOB");
	tap_eq(unmask(fw, o2, sv.aes_blob, sv.aes_len, -1, NULL), AZIHSM_STATUS_BAD_BLOB,
	       "  the old AES blob as a session key: BAD_BLOB");
	tap_eq(call0(fw, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &r), 0, "  a new kernel session");
	ks = (uint16_t)rsp_u16(&r, AZIHSM_KSESS_F_ID);
	tap_eq(unmask(fw, ks, kblob, kblen, -1, &kid), AZIHSM_STATUS_BAD_BLOB,
	       "  the old kernel blob: BAD_BLOB (new kernel masking key)");
	call0(fw, AZIHSM_OP_CLOSE_SESSION, ks, &r);
	call0(fw, AZIHSM_OP_CLOSE_SESSION, o2, &r);
}

static void test_restore(struct hsm_fw **pfw)
{
	static uint8_t bad[1024], foreign[1024];
	struct hsm_fw *fw = *pfw, *fw2;
	struct hsm_masking_key mk0, mk;
	uint8_t dg[48], sig[256], pub[1024], pt[32], bk3[48];
	static struct rsp r;
	uint16_t o, u, ec, aes, k, o3;
	size_t flen = 0, sl, pl, i, len;
	unsigned int refused = 0;
	static const size_t flips[] = { 0, 8, 9, 11, 60, 98, 99, 110, 111, 158, 159, 174 };
	EVP_PKEY *pk;

	tap_eq(login(fw, OFF, OFF_PIN1, &o), 0, "officer session");
	login(fw, USR, USR_PIN0, &u);
	sealed(fw, u, USR, USR_PIN0, USR_PIN1, NULL, NULL);
	masking_key(fw, &mk0);

	/* Another device's blob. */
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
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, sv.sealed, sv.sealed_len);
		bad[flips[i]] ^= 0x10;
		refused += set_sealed(fw, o, bad, sv.sealed_len) == AZIHSM_STATUS_BAD_BLOB;
	}
	tap_eq(refused, sizeof(flips) / sizeof(flips[0]),
	       "a bit flipped in magic, version, length, wrapped key, nonce, BK3, tag: BAD_BLOB");
	tap_eq(set_sealed(fw, o, sv.sealed, sv.sealed_len - 1), AZIHSM_STATUS_BAD_BLOB,
	       "one byte short: BAD_BLOB");
	memcpy(bad, sv.sealed, sv.sealed_len);
	tap_eq(set_sealed(fw, o, bad, sv.sealed_len + 1), AZIHSM_STATUS_BAD_BLOB,
	       "one byte more: BAD_BLOB");
	tap_eq(set_sealed(fw, o, bad, 0), AZIHSM_STATUS_BAD_BLOB, "empty: BAD_BLOB");
	masking_key(fw, &mk);
	tap_ok(!memcmp(&mk, &mk0, sizeof(mk)), "after the refusals: the masking key unchanged");
	tap_eq(call0(fw, AZIHSM_OP_GET_SEALED_BK3, o, &r), AZIHSM_STATUS_NO_BK3, "  still no BK3");

	/* Not on a partition with persistent keys. */
	tap_eq(keygen(fw, o, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "new", true, &k), 0,
	       "a new persistent key");
	tap_eq(set_sealed(fw, o, sv.sealed, sv.sealed_len), AZIHSM_STATUS_NOT_EMPTY,
	       "SetSealedBk3 with a persistent key present: NOT_EMPTY");
	call_id(fw, AZIHSM_OP_DELETE_KEY, o, k, &r);
	tap_eq(keygen(fw, u, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "s", false, &k), 0,
	       "a session key is no obstacle");

	tap_eq(set_sealed(fw, o, sv.sealed, sv.sealed_len), 0, "officer: SetSealedBk3");
	masking_key(fw, &mk);
	tap_ok(!memcmp(&mk, &sv.mk, sizeof(mk)), "  the old masking key is back");
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, o, &r), AZIHSM_STATUS_BK3_EXISTS,
	       "  InitBk3: BK3_EXISTS (the BK3 is back)");
	tap_eq(get_sealed(fw, o, bad, &len), 0, "  GetSealedBk3");
	tap_ok(!ref_open(path2, bad, len, bk3, &mk) && !memcmp(bk3, sv.bk3, 48) &&
	       !memcmp(&mk, &sv.mk, sizeof(mk)), "  it holds the old BK3 and masking key");

	tap_eq(unmask(fw, o, sv.ec_blob, sv.ec_len, 1, &ec), 0, "officer: UnmaskKey ec1 persistent");
	tap_eq(unmask(fw, o, sv.aes_blob, sv.aes_len, 1, &aes), 0,
	       "officer: UnmaskKey aes1 persistent");

	/* A restart: they are persistent keys. */
	hsm_fw_free(fw);
	*pfw = fw = start(path);
	if (!tap_ok(fw != NULL, "restart after the restore"))
		return;
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 2, "  both keys came back from the state file");
	masking_key(fw, &mk);
	tap_ok(!memcmp(&mk, &sv.mk, sizeof(mk)), "  and the restored masking key");
	tap_eq(login(fw, USR, USR_PIN1, &u), 0, "user session");
	{
		struct hsm_key_attr a;

		tap_ok(!hsm_vault_get_attr(hsm_fw_vault(fw), ec, &a) && a.owner == 0 &&
		       a.type == HSM_KEY_EC_P384 && a.usage == (HSM_USAGE_SIGN | HSM_USAGE_VERIFY) &&
		       a.label_len == 3 && !memcmp(a.label, "ec1", 3),
		       "  ec1: persistent, P-384, sign|verify, label ec1");
		tap_ok(!hsm_vault_get_attr(hsm_fw_vault(fw), aes, &a) && a.owner == 0 &&
		       a.type == HSM_KEY_AES256 && a.label_len == 4,
		       "  aes1: persistent, AES-256, label aes1");
	}
	pl = key_public(fw, u, ec, pub);
	tap_ok(pl == sv.ec_pub_len && !memcmp(pub, sv.ec_pub, pl),
	       "the restored ec1's public key is the old one");
	ref_digest(AZIHSM_HASH_SHA384, "after the restore", dg);
	sl = ecc_sign(fw, u, ec, dg, sig);
	pk = ref_d2i_pub(sv.ec_pub, sv.ec_pub_len);
	tap_ok(pk && sl && ref_verify(pk, AZIHSM_HASH_SHA384, -1, dg, 48, sig, sl),
	       "its new signature verifies (OpenSSL) with the old public key");
	EVP_PKEY_free(pk);
	tap_eq(aes_cbc(fw, u, aes, true, sv.ct, pt), 0, "the restored aes1 decrypts");
	tap_ok(!memcmp(pt, sv.pt, sizeof(pt)), "  the old ciphertext to the old plaintext");

	/* Failed commits: nothing is acknowledged unstored. */
	tap_eq(login(fw, OFF, OFF_PIN1, &o), 0, "officer session");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, o, aes, &r), 0, "officer deletes aes1");
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			printf("# could not remove %s\n", dir);
	}
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, o, ec, &r), AZIHSM_STATUS_NOT_STORED,
	       "directory gone: DeleteKey NOT_STORED");
	tap_eq(unmask(fw, o, sv.aes_blob, sv.aes_len, 1, NULL), AZIHSM_STATUS_NOT_STORED,
	       "  UnmaskKey persistent: NOT_STORED");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 1, "  and the unstored key is not kept");
	tap_eq(call0(fw, AZIHSM_OP_INIT_BK3, o, &r), AZIHSM_STATUS_BK3_EXISTS,
	       "  InitBk3: BK3_EXISTS");
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, o, &r), AZIHSM_STATUS_NOT_STORED,
	       "  ZeroizePartition: NOT_STORED");
	tap_eq(hsm_vault_count(hsm_fw_vault(fw)), 0, "  the keys are gone from the device anyway");
}

/* A volatile partition: zeroize and restore within one run. */
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
	masking_key(fw, &mk0);
	tap_eq(call0(fw, AZIHSM_OP_ZEROIZE_PARTITION, o, &r), 0, "volatile: ZeroizePartition");
	login(fw, OFF, OFF_PIN0, &o);
	sealed(fw, o, OFF, OFF_PIN0, OFF_PIN1, NULL, NULL);
	tap_eq(unmask(fw, o, mblob, ml, 1, NULL), AZIHSM_STATUS_BAD_BLOB, "volatile: BAD_BLOB");
	tap_eq(set_sealed(fw, o, blob, len), 0, "volatile: SetSealedBk3 in the same run");
	masking_key(fw, &mk);
	tap_ok(!memcmp(&mk, &mk0, sizeof(mk)), "volatile: the masking key is back");
	tap_eq(unmask(fw, o, mblob, ml, 1, &k), 0, "volatile: the blob opens again");
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
