// SPDX-License-Identifier: MIT
/*
 * Security domain (hsm_sd.c, SdActivate..SdInfo in hsm_svc_backup.c)
 * through hsm_fw_execute with state files, three firmware instances:
 *
 *   A activates with three RSA owner keys, quorum 2; every share is
 *   opened here with OpenSSL alone (RSA-OAEP-SHA256) and must name A's
 *   domain, the quorum and its x; A backs up a persistent EC key under the
 *   domain and is zeroized (domain gone, blob NO_SD there);
 *   B (a fresh state file) takes shares 1 and 3, recombined on the owners'
 *   side and sealed to B's exchange key, keeps the domain across a
 *   restart, restores the EC key, and its signature verifies with OpenSSL
 *   against A's old public key;
 *   C with one share: too few; tampered shares, uploads and files refused;
 *   the refusals of SdActivate (owners, quorum, keys, roles, SD_EXISTS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_fw.h"
#include "hsm_sd.h"
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

static char dir[64];

static struct hsm_fw *start(const char *name)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	char path[128];
	struct hsm_fw_config cfg = { .serial = "SD-1", .fw_rev = "1", .auth = &acfg };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cfg.state_path = path;
	return hsm_fw_new(&cfg);
}

/* A session of @role past its first PIN change; 0 on failure. */
static uint16_t session(struct hsm_fw *fw, uint8_t role, bool fresh)
{
	const uint8_t *id = role == OFF ? OFF_ID : USR_ID;
	const uint8_t *pin1 = role == OFF ? OFF_PIN1 : USR_PIN1;
	long sid;

	if (fresh) {
		sid = svc_login(fw, role, id, role == OFF ? OFF_PIN0 : USR_PIN0);
		if (sid <= 0 || svc_change_pin(fw, (uint16_t)sid, role, id,
					       role == OFF ? OFF_PIN0 : USR_PIN0, pin1))
			return 0;
		return (uint16_t)sid;
	}
	sid = svc_login(fw, role, id, pin1);
	return sid > 0 ? (uint16_t)sid : 0;
}

/* ---- the owners ---------------------------------------------------------- */

#define N_OWN 3
static EVP_PKEY *owner[N_OWN];
static uint8_t owner_der[N_OWN][600];
static size_t owner_len[N_OWN];

/* DER SubjectPublicKeyInfo of @k's modulus with exponent 3; its length or 0. */
static size_t same_n_other_e(EVP_PKEY *k, uint8_t *der, size_t cap)
{
	BIGNUM *n = NULL, *e = BN_new();
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *out = NULL;
	unsigned char *p = der;
	int len = 0;

	if (e && b && c && BN_set_word(e, 3) &&
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(c) == 1 &&
	    EVP_PKEY_fromdata(c, &out, EVP_PKEY_PUBLIC_KEY, params) == 1 &&
	    i2d_PUBKEY(out, NULL) <= (int)cap)
		len = i2d_PUBKEY(out, &p);
	EVP_PKEY_free(out);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(n);
	BN_free(e);
	return len > 0 ? (size_t)len : 0;
}

/* SdActivate with @n of @der (lengths @len) and @quorum; shares into @r. */
static long activate(struct hsm_fw *fw, int sid, uint8_t quorum, unsigned int n,
		     uint8_t (*der)[600], const size_t *len, struct rsp *r)
{
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_SD_ACTIVATE, sid);
	unsigned int i;

	mbor_enc_map(e, 1 + n);
	mbor_enc_key(e, AZIHSM_SD_F_QUORUM);
	mbor_enc_u8(e, quorum);
	for (i = 0; i < n; i++) {
		mbor_enc_key(e, (uint8_t)(AZIHSM_SD_F_OWNER_FIRST + i));
		mbor_enc_bytes(e, der[i], len[i]);
	}
	return rq_send(fw, &q, r);
}

/* The security domain "file" as the device gave it. */
struct sd_file {
	uint8_t id[HSM_SD_ID_LEN];
	uint8_t quorum;
	uint8_t share[N_OWN][512];
	size_t share_len[N_OWN];
};

static void keep_file(const struct rsp *r, struct sd_file *f)
{
	unsigned int i;

	rsp_copy(r, AZIHSM_SD_F_ID, f->id, sizeof(f->id));
	f->quorum = (uint8_t)rsp_u8(r, AZIHSM_SD_F_ANS_QUORUM);
	for (i = 0; i < N_OWN; i++)
		f->share_len[i] = rsp_copy(r, (uint8_t)(AZIHSM_SD_F_SHARE_FIRST + i), f->share[i],
					   sizeof(f->share[i]));
}

/* OpenSSL alone: RSA-OAEP-SHA256 (MGF1-SHA256) decryption of a share. */
static size_t ref_oaep_decrypt(EVP_PKEY *k, const uint8_t *ct, size_t len, uint8_t *out)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t n = 512;
	int ok = c && EVP_PKEY_decrypt_init(c) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
		 EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
		 EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 &&
		 EVP_PKEY_decrypt(c, out, &n, ct, len) == 1;

	EVP_PKEY_CTX_free(c);
	return ok ? n : 0;
}

/* SdExchangeKey, the owners' side with shares @use (indexes), SdUpload. */
static long restore(struct hsm_fw *fw, uint16_t sid, const struct sd_file *f,
		    const unsigned int *use, unsigned int k, int tamper, int *combine_st)
{
	struct hsm_sd_share sh[N_OWN];
	uint8_t xchg[200], host[128], nonce[HSM_SD_NONCE_LEN], ct[HSM_SD_UPLOAD_PLAIN];
	uint8_t tag[HSM_SD_TAG_LEN];
	size_t xlen, hlen = 0;
	struct hsm_sd sd;
	struct rsp r;
	struct rq q;
	struct mbor_enc *e;
	unsigned int i;
	long st;

	for (i = 0; i < k; i++)
		if (hsm_sd_decrypt_share(owner[use[i]], f->share[use[i]], f->share_len[use[i]],
					 &sh[i]))
			return -10;
	*combine_st = hsm_sd_combine(f->id, f->quorum, sh, k, &sd);
	OPENSSL_cleanse(sh, sizeof(sh));
	if (*combine_st)
		return -11;
	st = call0(fw, AZIHSM_OP_SD_EXCHANGE_KEY, sid, &r);
	if (st)
		return st;
	xlen = rsp_copy(&r, AZIHSM_SD_F_XCHG_KEY, xchg, sizeof(xchg));
	if (hsm_sd_seal_upload(&sd, xchg, xlen, host, &hlen, nonce, ct, tag))
		return -12;
	OPENSSL_cleanse(&sd, sizeof(sd));
	if (tamper >= 0)
		ct[tamper % sizeof(ct)] ^= 0x01;
	e = rq_begin(&q, AZIHSM_OP_SD_UPLOAD, sid);
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_SD_F_HOST_KEY);
	mbor_enc_bytes(e, host, hlen);
	mbor_enc_key(e, AZIHSM_SD_F_NONCE);
	mbor_enc_bytes(e, nonce, sizeof(nonce));
	mbor_enc_key(e, AZIHSM_SD_F_CT);
	mbor_enc_bytes(e, ct, sizeof(ct));
	mbor_enc_key(e, AZIHSM_SD_F_TAG);
	mbor_enc_bytes(e, tag, sizeof(tag));
	return rq_send(fw, &q, &r);
}

static long sd_info(struct hsm_fw *fw, int sid, uint8_t id[HSM_SD_ID_LEN], bool *active)
{
	struct rsp r;
	long st = call0(fw, AZIHSM_OP_SD_INFO, sid, &r);

	if (!st) {
		*active = rsp_bool(&r, AZIHSM_SD_F_ACTIVE) == 1;
		rsp_copy(&r, AZIHSM_SD_F_INFO_ID, id, HSM_SD_ID_LEN);
	}
	return st;
}

static long blob_call(struct hsm_fw *fw, int sid, uint32_t op, const uint8_t *blob, size_t len,
		      struct rsp *r)
{
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, op, sid);

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_SD_F_BLOB);
	mbor_enc_bytes(e, blob, len);
	return rq_send(fw, &q, r);
}

static long keygen_ec(struct hsm_fw *fw, int sid, uint16_t *id)
{
	uint8_t buf[256];
	const struct fld f[] = {
		U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_EC_P384),
		U32(AZIHSM_KEY_F_USAGE, AZIHSM_USAGE_SIGN),
		BYTES(AZIHSM_KEY_F_LABEL, "sd-ec", 5),
		BOOL(AZIHSM_KEY_F_PERSISTENT, true),
	};
	size_t len = svc_build(buf, sizeof(buf), AZIHSM_OP_KEY_GENERATE, sid, f, NF(f));
	struct rsp r;
	long st = rsp_exec(fw, buf, len, 0, &r);

	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
	return st;
}

static size_t sign(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *dg, uint8_t *sig)
{
	uint8_t buf[256];
	const struct fld f[] = {
		U16(AZIHSM_SIGN_F_KEY, id),
		U8(AZIHSM_SIGN_F_HASH, AZIHSM_HASH_SHA384),
		BYTES(AZIHSM_SIGN_F_DIGEST, dg, 48),
	};
	size_t len = svc_build(buf, sizeof(buf), AZIHSM_OP_ECC_SIGN, sid, f, NF(f));
	struct rsp r;

	if (rsp_exec(fw, buf, len, 0, &r))
		return 0;
	return rsp_copy(&r, AZIHSM_SIGN_F_SIGNATURE, sig, 256);
}

static void test_gf(void)
{
	/* FIPS-197 4.2: {57} x {83} = {c1}, {57} x {13} = {fe}. */
	tap_ok(hsm_sd_gf_mul(0x57, 0x83) == 0xc1 && hsm_sd_gf_mul(0x57, 0x13) == 0xfe,
	       "GF(2^8) products of FIPS-197 section 4.2");
}

int main(void)
{
	uint8_t rogue_der[2][600], dg[48], sig[256], pub[1024], blob[4096], id[HSM_SD_ID_LEN];
	size_t rogue_len[2], pub_len = 0, blob_len = 0, sl;
	struct sd_file f, bad;
	struct hsm_fw *a, *b, *c;
	uint16_t o, u, ec = 0;
	bool active = false;
	struct rsp r;
	unsigned int i;
	int cst = 0;

	printf("TAP version 13\n");
	strcpy(dir, "/tmp/azihsm-sd-XXXXXX");
	tap_ok(mkdtemp(dir) != NULL, "temp dir");
	test_gf();
	for (i = 0; i < N_OWN; i++) {
		owner[i] = ref_keygen("RSA", NULL, 2048);
		owner_len[i] = ref_spki(owner[i], owner_der[i]);
	}
	{
		EVP_PKEY *small = ref_keygen("RSA", NULL, 1024), *ecp = ref_keygen("EC", "P-384", 0);

		rogue_len[0] = ref_spki(small, rogue_der[0]);
		rogue_len[1] = ref_spki(ecp, rogue_der[1]);
		EVP_PKEY_free(small);
		EVP_PKEY_free(ecp);
	}

	/* ---- A: activate, back up, zeroize ---- */
	a = start("A");
	o = session(a, OFF, true);
	u = session(a, USR, true);
	tap_ok(a && o && u, "A: officer and user sessions");
	tap_eq(sd_info(a, o, id, &active), 0, "A: SdInfo");
	tap_ok(!active, "A: no domain yet");
	tap_eq(activate(a, u, 2, N_OWN, owner_der, owner_len, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "A: the user may not activate");
	tap_eq(activate(a, o, 1, N_OWN, owner_der, owner_len, &r), AZIHSM_STATUS_INVALID_ARG,
	       "A: quorum 1 refused");
	tap_eq(activate(a, o, 4, N_OWN, owner_der, owner_len, &r), AZIHSM_STATUS_INVALID_ARG,
	       "A: quorum 4 of 3 refused");
	tap_eq(activate(a, o, 2, 2, owner_der, owner_len, &r), AZIHSM_STATUS_INVALID_ARG,
	       "A: two owners refused (at least 3)");
	{
		uint8_t mix[N_OWN][600];
		size_t ml[N_OWN];

		for (i = 0; i < 2; i++) {
			memcpy(mix, owner_der, sizeof(mix));
			memcpy(ml, owner_len, sizeof(ml));
			memcpy(mix[1], rogue_der[i], rogue_len[i]);
			ml[1] = rogue_len[i];
			tap_eq(activate(a, o, 2, N_OWN, mix, ml, &r), AZIHSM_STATUS_INVALID_ARG,
			       "A: an owner key that is %s refused",
			       i ? "not RSA (EC P-384)" : "RSA-1024");
		}
		memcpy(mix, owner_der, sizeof(mix));
		memcpy(ml, owner_len, sizeof(ml));
		mix[2][ml[2] - 1] ^= 0xff;
		ml[2] -= 1;
		tap_eq(activate(a, o, 2, N_OWN, mix, ml, &r), AZIHSM_STATUS_INVALID_ARG,
		       "A: a cut owner key refused");
		/* Red team 3: one owner key twice, as-is and with another exponent. */
		memcpy(mix, owner_der, sizeof(mix));
		memcpy(ml, owner_len, sizeof(ml));
		memcpy(mix[2], owner_der[0], owner_len[0]);
		ml[2] = owner_len[0];
		tap_eq(activate(a, o, 2, N_OWN, mix, ml, &r), AZIHSM_STATUS_INVALID_ARG,
		       "A: the same owner key twice refused");
		ml[2] = same_n_other_e(owner[0], mix[2], sizeof(mix[2]));
		tap_ok(ml[2] && (ml[2] != owner_len[0] || memcmp(mix[2], owner_der[0], ml[2])),
		       "A: owner 0's modulus with exponent 3 (other DER)");
		tap_eq(activate(a, o, 2, N_OWN, mix, ml, &r), AZIHSM_STATUS_INVALID_ARG,
		       "A: the same modulus with another exponent refused");
	}
	tap_ok(sd_info(a, o, id, &active) == 0 && !active, "A: refusals made no domain");
	tap_eq(activate(a, o, 2, N_OWN, owner_der, owner_len, &r), 0, "A: activate 2 of 3");
	keep_file(&r, &f);
	tap_ok(f.quorum == 2 && f.share_len[0] == 256 && f.share_len[1] == 256 &&
	       f.share_len[2] == 256, "A: 3 shares of 256 bytes (RSA-2048), quorum 2");
	for (i = 0; i < N_OWN; i++) {
		uint8_t pt[512];
		size_t n = ref_oaep_decrypt(owner[i], f.share[i], f.share_len[i], pt);

		tap_ok(n == HSM_SD_SHARE_LEN && !memcmp(pt, f.id, HSM_SD_ID_LEN) &&
		       pt[HSM_SD_ID_LEN] == 2 && pt[HSM_SD_ID_LEN + 1] == i + 1,
		       "A: share %u opens with OpenSSL (OAEP-SHA256): domain id, quorum, x=%u", i,
		       i + 1);
		tap_ok(!ref_oaep_decrypt(owner[(i + 1) % N_OWN], f.share[i], f.share_len[i], pt),
		       "A: share %u does not open with another owner's key", i);
	}
	tap_ok(sd_info(a, o, id, &active) == 0 && active && !memcmp(id, f.id, sizeof(id)),
	       "A: SdInfo names the domain");
	tap_eq(activate(a, o, 2, N_OWN, owner_der, owner_len, &r), AZIHSM_STATUS_SD_EXISTS,
	       "A: a second activation is SD_EXISTS");

	tap_eq(keygen_ec(a, o, &ec), 0, "A: a persistent P-384 key");
	tap_eq(call_id(a, AZIHSM_OP_KEY_PUBLIC, o, ec, &r), 0, "A: its public key");
	pub_len = rsp_copy(&r, AZIHSM_KEY_F_DER, pub, sizeof(pub));
	tap_eq(call_id(a, AZIHSM_OP_SD_BACKUP_KEY, u, ec, &r), AZIHSM_STATUS_WRONG_ROLE,
	       "A: the user may not back up");
	tap_eq(call_id(a, AZIHSM_OP_SD_BACKUP_KEY, o, ec, &r), 0, "A: SdBackupKey");
	blob_len = rsp_copy(&r, AZIHSM_SD_F_BLOB, blob, sizeof(blob));
	tap_ok(blob_len > 0, "A: a masked blob of %zu bytes", blob_len);
	tap_eq(blob_call(a, o, AZIHSM_OP_SD_RESTORE_KEY, blob, blob_len, &r),
	       AZIHSM_STATUS_KEY_EXISTS, "A: restoring a live key is KEY_EXISTS");
	tap_eq(call0(a, AZIHSM_OP_ZEROIZE_PARTITION, o, &r), 0, "A: zeroized");
	hsm_fw_free(a);
	a = start("A");
	o = session(a, OFF, true);
	tap_ok(a && o && sd_info(a, o, id, &active) == 0 && !active,
	       "A after zeroize and restart: no domain");
	tap_eq(blob_call(a, o, AZIHSM_OP_SD_RESTORE_KEY, blob, blob_len, &r), AZIHSM_STATUS_NO_SD,
	       "A after zeroize: the blob is NO_SD");
	hsm_fw_free(a);

	/* ---- C: one share, tampering ---- */
	c = start("C");
	o = session(c, OFF, true);
	tap_ok(c && o, "C: officer");
	{
		const unsigned int one[] = { 1 }, two[] = { 0, 2 }, same[] = { 0, 0 };

		tap_eq(restore(c, o, &f, one, 1, -1, &cst), -11, "C: one share: not recombined");
		tap_eq(cst, HSM_SD_TOO_FEW, "C: ... too few shares");
		tap_eq(restore(c, o, &f, same, 2, -1, &cst), -11,
		       "C: the same share twice: not recombined");
		tap_eq(cst, HSM_SD_TOO_FEW, "C: ... too few distinct shares");
		bad = f;
		bad.share[2][100] ^= 0x01;
		tap_eq(restore(c, o, &bad, two, 2, -1, &cst), -10,
		       "C: a flipped byte in share 3: it does not decrypt");
		bad = f;
		bad.id[0] ^= 0x01;
		tap_eq(restore(c, o, &bad, two, 2, -1, &cst), -11,
		       "C: the file's domain id changed: shares do not count");
		bad = f;
		bad.quorum = 3;
		tap_eq(restore(c, o, &bad, two, 2, -1, &cst), -11,
		       "C: the file's quorum changed: shares do not count");
		tap_eq(restore(c, o, &f, two, 2, 5, &cst), AZIHSM_STATUS_BAD_BLOB,
		       "C: an upload with a flipped byte: BAD_BLOB");
		tap_eq(call0(c, AZIHSM_OP_SD_EXCHANGE_KEY, NOSESS, &r), AZIHSM_STATUS_NO_SESSION,
		       "C: exchange key needs a session");
		tap_ok(sd_info(c, o, id, &active) == 0 && !active, "C: still no domain");
		tap_eq(blob_call(c, o, AZIHSM_OP_SD_RESTORE_KEY, blob, blob_len, &r),
		       AZIHSM_STATUS_NO_SD, "C: the blob is NO_SD");
	}
	hsm_fw_free(c);

	/* ---- B: fresh, restores with shares 1 and 3 ---- */
	b = start("B");
	o = session(b, OFF, true);
	u = session(b, USR, true);
	tap_ok(b && o && u, "B: officer and user");
	{
		const unsigned int two[] = { 0, 2 };

		tap_eq(restore(b, u, &f, two, 2, -1, &cst), AZIHSM_STATUS_WRONG_ROLE,
		       "B: the user may not upload");
		tap_eq(restore(b, o, &f, two, 2, -1, &cst), 0,
		       "B: shares 1 and 3 recombined and uploaded");
	}
	hsm_fw_free(b);
	b = start("B");
	o = session(b, OFF, false);
	u = session(b, USR, false);
	tap_ok(b && o && u && sd_info(b, o, id, &active) == 0 && active &&
	       !memcmp(id, f.id, sizeof(id)), "B after a restart: A's domain is installed");
	tap_eq(blob_call(b, u, AZIHSM_OP_SD_RESTORE_KEY, blob, blob_len, &r),
	       AZIHSM_STATUS_WRONG_ROLE, "B: the user may not restore");
	blob[blob_len / 2] ^= 0x01;
	tap_eq(blob_call(b, o, AZIHSM_OP_SD_RESTORE_KEY, blob, blob_len, &r),
	       AZIHSM_STATUS_BAD_BLOB, "B: a flipped blob byte: BAD_BLOB");
	blob[blob_len / 2] ^= 0x01;
	tap_eq(blob_call(b, o, AZIHSM_OP_SD_RESTORE_KEY, blob, blob_len, &r), 0,
	       "B: SdRestoreKey brings A's key back");
	ec = (uint16_t)rsp_u16(&r, AZIHSM_SD_F_KEY_ID);
	hsm_fw_free(b);
	b = start("B");
	u = session(b, USR, false);
	ref_digest(AZIHSM_HASH_SHA384, "signed on B with A's key", dg);
	sl = sign(b, u, ec, dg, sig);
	{
		EVP_PKEY *pk = ref_d2i_pub(pub, pub_len);

		tap_ok(pk && sl && ref_verify(pk, AZIHSM_HASH_SHA384, -1, dg, 48, sig, sl),
		       "B after a restart: the key signs; OpenSSL verifies with A's old public key");
		EVP_PKEY_free(pk);
	}
	o = session(b, OFF, false);
	{
		const unsigned int two[] = { 1, 2 };

		tap_eq(restore(b, o, &f, two, 2, -1, &cst), 0,
		       "B: the same domain uploaded again (shares 2, 3): fine");
		/* Another domain over it: made on C. */
		c = start("C2");
		i = session(c, OFF, true);
		tap_eq(activate(c, i, 2, N_OWN, owner_der, owner_len, &r), 0, "C2: another domain");
		keep_file(&r, &bad);
		hsm_fw_free(c);
		tap_eq(restore(b, o, &bad, two, 2, -1, &cst), AZIHSM_STATUS_SD_EXISTS,
		       "B: another domain's upload is SD_EXISTS");
	}
	hsm_fw_free(b);

	for (i = 0; i < N_OWN; i++)
		EVP_PKEY_free(owner[i]);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		tap_eq(system(cmd), 0, "cleanup");
	}
	return tap_done();
}
