// SPDX-License-Identifier: MIT
/*
 * The vault operation services (hsm_svc_ops.c) through hsm_fw_execute with
 * real MBOR requests, every result checked with OpenSSL on its own:
 * RsaSign (PKCS#1 v1.5, PSS) verified with the exported public key,
 * Verify of good and damaged ECDSA / RSA signatures, RsaDecrypt of
 * OpenSSL's OAEP ciphertexts, ECDH + Hmac + HKDF + KBKDF by a known-answer
 * chain (the device's keys used for HMACs that OpenSSL recomputes from its
 * own ECDH result), GetUnwrappingKey and RsaUnwrap of blobs OpenSSL wraps
 * (secret, EC and RSA targets, then used); the refusals: no session,
 * default PIN, wrong role, missing usage, another session's key, bad
 * parameters, malformed and truncated requests, damaged wrap blobs; with
 * a state file: derived and unwrapping keys survive a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "ossl_ref.h"
#include "svc_util.h"
#include "tap.h"

/* ---- requests (fields: svc_build, svc_util.h) ------------------------- */


static uint8_t last_req[8192];
static size_t last_req_len;


static long call(struct hsm_fw *fw, uint32_t op, int sid, const struct fld *f, unsigned int n,
		 struct rsp *r)
{
	static struct rsp local;

	if (!r)
		r = &local;
	last_req_len = svc_build(last_req, sizeof(last_req), op, sid, f, n);
	if (!last_req_len)
		return -1;
	return rsp_exec(fw, last_req, last_req_len, 0, r);
}

/* ---- sessions ---------------------------------------------------------- */

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *USR_ID = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
static const uint8_t *OFF_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
static const uint8_t *USR_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"officer new PIN!";
static const uint8_t *USR_PIN1 = (const uint8_t *)"user's new PIN#1";

/* OpenSession (@new_pin NULL) or ChangePin in @sid; status, *out the session. */
static long sealed(struct hsm_fw *fw, int sid, uint8_t role, const uint8_t *id,
		   const uint8_t *pin, const uint8_t *new_pin, uint16_t *out)
{
	struct hsm_auth_sealed s;
	struct rsp r;
	uint8_t pub[256], nonce[64];
	size_t pub_len, nonce_len;
	long st;

	st = call(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, NULL, 0, &r);
	if (st)
		return st;
	pub_len = rsp_copy(&r, AZIHSM_SESS_DEVICE_PUB, pub, sizeof(pub));
	nonce_len = rsp_copy(&r, AZIHSM_SESS_NONCE, nonce, sizeof(nonce));
	if (nonce_len != HSM_AUTH_NONCE_LEN ||
	    hsm_auth_client_seal(pub, pub_len, nonce,
				 new_pin ? HSM_AUTH_MSG_CHPIN : HSM_AUTH_MSG_OPEN, role, id, pin,
				 new_pin, &s))
		return -2;
	{
		const struct fld f[] = {
			BYTES(AZIHSM_SESS_HOST_PUB, s.host_pub, s.host_pub_len),
			BYTES(AZIHSM_SESS_MSG_NONCE, nonce, nonce_len),
			BYTES(AZIHSM_SESS_CIPHERTEXT, s.ct, s.ct_len),
			BYTES(AZIHSM_SESS_TAG, s.tag, sizeof(s.tag)),
		};

		st = call(fw, new_pin ? AZIHSM_OP_CHANGE_PIN : AZIHSM_OP_OPEN_SESSION,
			  new_pin ? sid : NOSESS, f, NF(f), &r);
	}
	if (!st && out)
		*out = (uint16_t)rsp_u16(&r, AZIHSM_SESS_ID);
	return st;
}

static long login(struct hsm_fw *fw, uint8_t role, const uint8_t *pin, uint16_t *sid)
{
	return sealed(fw, NOSESS, role, role == HSM_ROLE_OFFICER ? OFF_ID : USR_ID, pin, NULL,
		      sid);
}

/* ---- key services ------------------------------------------------------- */

static long keygen(struct hsm_fw *fw, int sid, uint8_t type, uint32_t usage,
		   const char *label, bool persistent, uint16_t *id)
{
	struct rsp r;
	struct fld f[4] = { U8(AZIHSM_KEY_F_TYPE, type), U32(AZIHSM_KEY_F_USAGE, usage) };
	unsigned int n = 2;
	long st;

	if (label)
		f[n++] = (struct fld)BYTES(AZIHSM_KEY_F_LABEL, label, strlen(label));
	f[n++] = (struct fld)BOOL(AZIHSM_KEY_F_PERSISTENT, persistent);
	st = call(fw, AZIHSM_OP_KEY_GENERATE, sid, f, n, &r);
	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
	return st;
}

static EVP_PKEY *key_public(struct hsm_fw *fw, int sid, uint16_t id)
{
	const struct fld f[] = { U16(AZIHSM_KEY_F_ID, id) };
	uint8_t der[1024];
	struct rsp r;

	if (call(fw, AZIHSM_OP_KEY_PUBLIC, sid, f, 1, &r))
		return NULL;
	return ref_d2i_pub(der, rsp_copy(&r, AZIHSM_KEY_F_DER, der, sizeof(der)));
}

static long key_count(struct hsm_fw *fw, int sid)
{
	struct rsp r;

	if (call(fw, AZIHSM_OP_KEY_LIST, sid, NULL, 0, &r))
		return -1;
	return rsp_u16(&r, AZIHSM_KEY_F_COUNT);
}

/* New-key fields 5..8 into @f; returns how many. */
static unsigned int newkey(struct fld *f, uint8_t type, uint32_t usage, const char *label,
			   bool persistent)
{
	unsigned int n = 0;

	f[n++] = (struct fld)U8(AZIHSM_OPS_F_TYPE, type);
	f[n++] = (struct fld)U32(AZIHSM_OPS_F_USAGE, usage);
	if (label)
		f[n++] = (struct fld)BYTES(AZIHSM_OPS_F_LABEL, label, strlen(label));
	f[n++] = (struct fld)BOOL(AZIHSM_OPS_F_PERSISTENT, persistent);
	return n;
}

static long rsa_sign(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash, uint8_t pad,
		     const uint8_t *dg, size_t dlen, uint8_t *sig, size_t *sl, bool *fips)
{
	const struct fld f[] = {
		U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, hash),
		U8(AZIHSM_RSASIGN_F_PAD, pad), BYTES(AZIHSM_RSASIGN_F_DIGEST, dg, dlen),
	};
	struct rsp r;
	long st = call(fw, AZIHSM_OP_RSA_SIGN, sid, f, NF(f), &r);

	if (fips)
		*fips = r.h.fips_approved;
	if (!st)
		*sl = rsp_copy(&r, AZIHSM_OPS_F_OUT, sig, 1024);
	return st;
}

static long ecc_sign(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash, const uint8_t *dg,
		     size_t dlen, uint8_t *sig, size_t *sl)
{
	const struct fld f[] = {
		U16(AZIHSM_SIGN_F_KEY, id), U8(AZIHSM_SIGN_F_HASH, hash),
		BYTES(AZIHSM_SIGN_F_DIGEST, dg, dlen),
	};
	struct rsp r;
	long st = call(fw, AZIHSM_OP_ECC_SIGN, sid, f, NF(f), &r);

	if (!st)
		*sl = rsp_copy(&r, AZIHSM_SIGN_F_SIGNATURE, sig, 256);
	return st;
}

/* Verify: status; *valid the answer (-1 without one). */
static long verify(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash, int pad,
		   const uint8_t *dg, size_t dlen, const uint8_t *sig, size_t sl, long *valid,
		   bool *fips)
{
	struct fld f[5] = { U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, hash) };
	unsigned int n = 2;
	struct rsp r;
	long st;

	if (pad >= 0)
		f[n++] = (struct fld)U8(AZIHSM_VERIFY_F_PAD, (uint8_t)pad);
	f[n++] = (struct fld)BYTES(AZIHSM_VERIFY_F_DIGEST, dg, dlen);
	f[n++] = (struct fld)BYTES(AZIHSM_VERIFY_F_SIG, sig, sl);
	st = call(fw, AZIHSM_OP_VERIFY, sid, f, n, &r);
	*valid = st ? -1 : rsp_bool(&r, AZIHSM_VERIFY_F_VALID);
	if (fips)
		*fips = r.h.fips_approved;
	return st;
}

static long hmac(struct hsm_fw *fw, int sid, uint16_t id, const void *data, size_t len,
		 uint8_t *mac, size_t *ml, bool *fips)
{
	const struct fld f[] = { U16(AZIHSM_OPS_F_KEY_ID, id), BYTES(AZIHSM_HMAC_F_DATA, data, len) };
	struct rsp r;
	long st = call(fw, AZIHSM_OP_HMAC, sid, f, NF(f), &r);

	if (fips)
		*fips = r.h.fips_approved;
	*ml = st ? 0 : rsp_copy(&r, AZIHSM_OPS_F_OUT, mac, 64);
	return st;
}

/* A request answered { 1: new key id }: status, *id. */
static long call_newkey(struct hsm_fw *fw, uint32_t op, int sid, const struct fld *f,
			unsigned int n, uint16_t *id, bool *fips)
{
	struct rsp r;
	long st = call(fw, op, sid, f, n, &r);

	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_OPS_F_NEW_KEY_ID);
	if (fips)
		*fips = r.h.fips_approved;
	return st;
}

static long ecdh(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *peer, size_t plen,
		 uint8_t type, uint32_t usage, const char *label, bool persistent, uint16_t *out,
		 bool *fips)
{
	struct fld f[8] = { U16(AZIHSM_OPS_F_KEY_ID, id), BYTES(AZIHSM_ECDH_F_PEER, peer, plen) };
	unsigned int n = 2;

	n += newkey(f + n, type, usage, label, persistent);
	return call_newkey(fw, AZIHSM_OP_ECDH_KEY_EXCHANGE, sid, f, n, out, fips);
}

/* HKDF (op 1075) or KBKDF (1076); @length 0: absent. */
static long kdf(struct hsm_fw *fw, uint32_t op, int sid, uint16_t id, uint8_t hash,
		const char *a, const char *b, uint8_t type, uint32_t usage, const char *label,
		bool persistent, uint16_t length, uint16_t *out, bool *fips)
{
	struct fld f[10] = { U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, hash) };
	unsigned int n = 2;

	if (a)
		f[n++] = (struct fld)BYTES(AZIHSM_KDF_F_SALT, a, strlen(a));
	if (b)
		f[n++] = (struct fld)BYTES(AZIHSM_KDF_F_INFO, b, strlen(b));
	n += newkey(f + n, type, usage, label, persistent);
	if (length)
		f[n++] = (struct fld)U16(AZIHSM_KDF_F_LENGTH, length);
	return call_newkey(fw, op, sid, f, n, out, fips);
}

static long unwrap(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash, const uint8_t *blob,
		   size_t blen, const char *oaep_label, uint8_t type, uint32_t usage,
		   const char *label, bool persistent, uint16_t *out, bool *fips)
{
	struct fld f[9] = {
		U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, hash),
		BYTES(AZIHSM_UNWRAP_F_IN, blob, blen),
	};
	unsigned int n = 3;

	if (oaep_label)
		f[n++] = (struct fld)BYTES(AZIHSM_UNWRAP_F_OAEP_LABEL, oaep_label,
					   strlen(oaep_label));
	n += newkey(f + n, type, usage, label, persistent);
	return call_newkey(fw, AZIHSM_OP_RSA_UNWRAP, sid, f, n, out, fips);
}

/* GetUnwrappingKey: status, *id, the public key. */
static long unwrapping_key(struct hsm_fw *fw, int sid, uint16_t *id, EVP_PKEY **pub)
{
	uint8_t der[1024];
	struct rsp r;
	long st = call(fw, AZIHSM_OP_GET_UNWRAPPING_KEY, sid, NULL, 0, &r);

	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_UNWRAPKEY_F_ID);
	if (pub)
		*pub = st ? NULL : ref_d2i_pub(der, rsp_copy(&r, AZIHSM_UNWRAPKEY_F_DER, der,
							 sizeof(der)));
	return st;
}

/* ---- the tests -------------------------------------------------------- */

static uint16_t so, su;		/* officer and user sessions */
static uint16_t rsa1, rsa1d, ec1, e_hmac, e_mac;

static void test_setup(struct hsm_fw *fw)
{
	uint16_t s0 = 0;
	long st;

	tap_eq(login(fw, HSM_ROLE_OFFICER, OFF_PIN0, &so), 0, "officer login (default)");
	tap_eq(call(fw, AZIHSM_OP_GET_UNWRAPPING_KEY, so, NULL, 0, NULL),
	       AZIHSM_STATUS_MUST_CHANGE_PIN, "default PIN: GetUnwrappingKey refused");
	tap_eq(keygen(fw, so, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, &s0),
	       AZIHSM_STATUS_MUST_CHANGE_PIN, "default PIN: no key either");
	tap_eq(sealed(fw, so, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1, NULL), 0,
	       "officer changes PIN");
	tap_eq(login(fw, HSM_ROLE_USER, USR_PIN0, &su), 0, "user login (default)");
	st = sealed(fw, su, HSM_ROLE_USER, USR_ID, USR_PIN0, USR_PIN1, NULL);
	tap_eq(st, 0, "user changes PIN");
}

static void test_rsa_sign_verify(struct hsm_fw *fw)
{
	static const uint8_t hashes[] = { AZIHSM_HASH_SHA256, AZIHSM_HASH_SHA384,
					  AZIHSM_HASH_SHA512 };
	uint8_t dg[64], sig[1024];
	size_t dl, sl = 0;
	EVP_PKEY *pk;
	unsigned int i, pad;
	long valid;
	bool fips = false;

	tap_eq(keygen(fw, so, AZIHSM_KEY_RSA2048,
		      AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY | AZIHSM_USAGE_DECRYPT, "rsa1", true,
		      &rsa1), AZIHSM_STATUS_INVALID_ARG,
	       "issue 9: officer: an RSA key to sign and decrypt: INVALID_ARG");
	tap_eq(keygen(fw, su, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_UNWRAP, NULL,
		      false, &rsa1), AZIHSM_STATUS_INVALID_ARG,
	       "issue 9: user: an RSA key to sign and unwrap: INVALID_ARG");
	tap_eq(keygen(fw, so, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY, "rsa1",
		      true, &rsa1), 0, "officer: persistent RSA-2048 rsa1 (sign, verify)");
	pk = key_public(fw, su, rsa1);
	tap_ok(pk != NULL, "its public key");
	for (pad = AZIHSM_RSA_PAD_PKCS1; pad <= AZIHSM_RSA_PAD_PSS; pad++) {
		for (i = 0; i < 3; i++) {
			const char *pn = pad == AZIHSM_RSA_PAD_PSS ? "PSS" : "PKCS#1 v1.5";

			dl = ref_digest(hashes[i], "sign me", dg);
			tap_eq(rsa_sign(fw, su, rsa1, hashes[i], (uint8_t)pad, dg, dl, sig, &sl,
					&fips), 0, "RsaSign %s hash %u (user)", pn, hashes[i]);
			tap_ok(sl == 256 && fips, "  256 bytes, FIPS-approved");
			tap_ok(ref_verify(pk, hashes[i], (int)pad, dg, dl, sig, sl),
			       "  OpenSSL verifies it with the exported key");
			tap_eq(verify(fw, su, rsa1, hashes[i], (int)pad, dg, dl, sig, sl, &valid,
				      &fips), 0, "  Verify in the device");
			tap_ok(valid == 1 && fips, "  valid, FIPS-approved");
			sig[sl / 2] ^= 0x10;
			verify(fw, su, rsa1, hashes[i], (int)pad, dg, dl, sig, sl, &valid, NULL);
			tap_eq(valid, 0, "  a flipped bit: not valid");
		}
	}
	dl = ref_digest(AZIHSM_HASH_SHA256, "sign me", dg);
	tap_eq(rsa_sign(fw, su, rsa1, AZIHSM_HASH_SHA256, 3, dg, dl, sig, &sl, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "RsaSign padding 3: INVALID_ARG");
	tap_eq(rsa_sign(fw, su, rsa1, 4, AZIHSM_RSA_PAD_PSS, dg, dl, sig, &sl, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "RsaSign hash 4: INVALID_ARG");
	tap_eq(rsa_sign(fw, su, rsa1, AZIHSM_HASH_SHA384, AZIHSM_RSA_PAD_PSS, dg, dl, sig, &sl,
			NULL), AZIHSM_STATUS_INVALID_ARG, "RsaSign digest length != hash: INVALID_ARG");
	tap_eq(verify(fw, su, rsa1, AZIHSM_HASH_SHA256, -1, dg, dl, sig, 256, &valid, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "Verify with an RSA key and no padding: INVALID_ARG");
	EVP_PKEY_free(pk);
}

static void test_rsa_decrypt(struct hsm_fw *fw)
{
	uint8_t ct[512], pt[512];
	const char *msg = "a secret for the HSM";
	struct rsp r;
	EVP_PKEY *pk;
	size_t n, m;
	uint16_t nodec;

	tap_eq(keygen(fw, so, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_DECRYPT, "rsa1d", true, &rsa1d), 0,
	       "officer: persistent RSA-2048 rsa1d (decrypt)");
	pk = key_public(fw, su, rsa1d);

	n = ref_oaep_encrypt(pk, AZIHSM_HASH_SHA256, "lbl", (const uint8_t *)msg, strlen(msg), ct);
	{
		const struct fld f[] = {
			U16(AZIHSM_OPS_F_KEY_ID, rsa1d), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA256),
			BYTES(AZIHSM_RSADEC_F_IN, ct, n), BYTES(AZIHSM_RSADEC_F_OAEP_LABEL, "lbl", 3),
		};
		const struct fld g[] = {
			U16(AZIHSM_OPS_F_KEY_ID, rsa1d), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA256),
			BYTES(AZIHSM_RSADEC_F_IN, ct, n), BYTES(AZIHSM_RSADEC_F_OAEP_LABEL, "lbX", 3),
		};
		const struct fld h[] = {
			U16(AZIHSM_OPS_F_KEY_ID, rsa1d), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA384),
			BYTES(AZIHSM_RSADEC_F_IN, ct, n), BYTES(AZIHSM_RSADEC_F_OAEP_LABEL, "lbl", 3),
		};

		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, su, f, NF(f), &r), 0,
		       "RsaDecrypt of OpenSSL's OAEP-SHA256 ciphertext with a label");
		m = rsp_copy(&r, AZIHSM_OPS_F_OUT, pt, sizeof(pt));
		tap_ok(m == strlen(msg) && !memcmp(pt, msg, m) && r.h.fips_approved,
		       "  the plaintext, FIPS-approved");
		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, su, g, NF(g), &r),
		       AZIHSM_STATUS_DECRYPT_FAILED, "  another label: DECRYPT_FAILED");
		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, su, h, NF(h), &r),
		       AZIHSM_STATUS_DECRYPT_FAILED, "  another hash: DECRYPT_FAILED");
	}
	n = ref_oaep_encrypt(pk, AZIHSM_HASH_SHA512, NULL, (const uint8_t *)msg, strlen(msg), ct);
	{
		const struct fld f[] = {
			U16(AZIHSM_OPS_F_KEY_ID, rsa1d), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA512),
			BYTES(AZIHSM_RSADEC_F_IN, ct, n),
		};
		const struct fld t[] = {
			U16(AZIHSM_OPS_F_KEY_ID, rsa1d), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA512),
			BYTES(AZIHSM_RSADEC_F_IN, ct, n - 1),
		};

		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, so, f, NF(f), &r), 0,
		       "RsaDecrypt OAEP-SHA512 without a label (officer)");
		m = rsp_copy(&r, AZIHSM_OPS_F_OUT, pt, sizeof(pt));
		tap_ok(m == strlen(msg) && !memcmp(pt, msg, m), "  the plaintext");
		tap_ok(call(fw, AZIHSM_OP_RSA_DECRYPT, so, t, NF(t), &r) != 0,
		       "  a ciphertext one byte short: refused");
	}
	tap_eq(keygen(fw, su, AZIHSM_KEY_RSA2048, AZIHSM_USAGE_SIGN, NULL, false, &nodec), 0,
	       "user: session RSA key with sign only");
	{
		const struct fld f[] = {
			U16(AZIHSM_OPS_F_KEY_ID, nodec), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA512),
			BYTES(AZIHSM_RSADEC_F_IN, ct, n),
		};

		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, su, f, NF(f), &r), AZIHSM_STATUS_KEY_USAGE,
		       "  RsaDecrypt with it: KEY_USAGE");
		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, so, f, NF(f), &r),
		       AZIHSM_STATUS_KEY_NOT_FOUND, "  the officer's session does not see it");
	}
	EVP_PKEY_free(pk);
}

static void test_ecdsa_verify(struct hsm_fw *fw)
{
	uint8_t dg[64], sig[256];
	size_t dl, sl = 0;
	uint16_t signonly;
	long valid;
	bool fips = false;

	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_VERIFY, NULL,
		      false, &ec1), 0, "user: session P-256 key (sign, verify)");
	dl = ref_digest(AZIHSM_HASH_SHA256, "ecdsa", dg);
	tap_eq(ecc_sign(fw, su, ec1, AZIHSM_HASH_SHA256, dg, dl, sig, &sl), 0, "EccSign");
	tap_eq(verify(fw, su, ec1, AZIHSM_HASH_SHA256, -1, dg, dl, sig, sl, &valid, &fips), 0,
	       "Verify ECDSA");
	tap_ok(valid == 1 && fips, "  valid, FIPS-approved");
	dg[0] ^= 1;
	verify(fw, su, ec1, AZIHSM_HASH_SHA256, -1, dg, dl, sig, sl, &valid, NULL);
	tap_eq(valid, 0, "  another digest: not valid");
	verify(fw, su, ec1, AZIHSM_HASH_SHA256, -1, dg, dl, (const uint8_t *)"junk", 4, &valid,
	       NULL);
	tap_eq(valid, 0, "  a signature that does not parse: not valid");
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, NULL, false, &signonly), 0,
	       "user: P-256 key with sign only");
	tap_eq(verify(fw, su, signonly, AZIHSM_HASH_SHA256, -1, dg, dl, sig, sl, &valid, NULL),
	       AZIHSM_STATUS_KEY_USAGE, "  Verify with it: KEY_USAGE");
}

/* ECDH, then Hmac, HKDF and KBKDF against OpenSSL's own ECDH result. */
static void test_ecdh_kdf(struct hsm_fw *fw)
{
	const char *msg = "known answer";
	uint8_t peer_der[256], bad_der[256], z[132], k[128], mac[64], want[64];
	size_t plen, blen, zl, ml, wl;
	uint16_t ec, h, kb, aes, signonly, tmp;
	EVP_PKEY *peer = ref_keygen("EC", "P-384", 0), *other = ref_keygen("EC", "P-256", 0);
	EVP_PKEY *pub;
	long n0;
	bool fips = false;

	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_DERIVE, NULL, false, &ec), 0,
	       "user: session P-384 key (derive)");
	pub = key_public(fw, su, ec);
	plen = ref_spki(peer, peer_der);
	blen = ref_spki(other, bad_der);
	zl = ref_ecdh(peer, pub, z);
	tap_ok(zl == 48, "OpenSSL's ECDH with the device's public key: 48 bytes");
	/*
	 * issue 9: a key that MACs and derives would give away what it
	 * derives (an Hmac over the KBKDF input block is the KBKDF output).
	 */
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384,
		    AZIHSM_USAGE_SIGN | AZIHSM_USAGE_DERIVE, "ecdh1", false, &e_hmac, &fips),
	       AZIHSM_STATUS_INVALID_ARG,
	       "issue 9: EcdhKeyExchange -> HMAC key to sign and derive: INVALID_ARG");
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_DERIVE,
		    "ecdh1", false, &e_hmac, &fips), 0,
	       "EcdhKeyExchange -> session HMAC-SHA384 key (derive)");
	tap_ok(e_hmac && fips, "  a new key id, FIPS-approved");
	tap_eq(hmac(fw, su, e_hmac, msg, strlen(msg), mac, &ml, &fips), AZIHSM_STATUS_KEY_USAGE,
	       "issue 9: Hmac with the derive key: KEY_USAGE");
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_SIGN,
		    "ecdh1-mac", false, &e_mac, &fips), 0,
	       "EcdhKeyExchange again -> session HMAC-SHA384 key (sign)");
	tap_eq(hmac(fw, su, e_mac, msg, strlen(msg), mac, &ml, &fips), 0, "Hmac with it");
	wl = ref_hmac(AZIHSM_HASH_SHA384, z, zl, msg, want);
	tap_ok(ml == 48 && ml == wl && !memcmp(mac, want, ml) && fips,
	       "  = HMAC-SHA384 keyed with OpenSSL's ECDH secret (FIPS-approved)");

	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, "salt", "info",
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, 0, &h, &fips), 0,
	       "HkdfDerive SHA-256 -> HMAC-SHA256 key");
	tap_ok(fips, "  FIPS-approved");
	hmac(fw, su, h, msg, strlen(msg), mac, &ml, NULL);
	ref_kdf(false, AZIHSM_HASH_SHA256, z, zl, "salt", "info", k, 32);
	wl = ref_hmac(AZIHSM_HASH_SHA256, k, 32, msg, want);
	tap_ok(ml == 32 && ml == wl && !memcmp(mac, want, ml),
	       "  its HMAC = OpenSSL's with OpenSSL's HKDF of the ECDH secret");

	tap_eq(kdf(fw, AZIHSM_OP_KBKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA384, "label", "context",
		   AZIHSM_KEY_HMAC_SHA512, AZIHSM_USAGE_SIGN, "kb1", false, 40, &kb, &fips), 0,
	       "KbkdfDerive SHA-384 -> 40-byte HMAC-SHA512 key");
	hmac(fw, su, kb, msg, strlen(msg), mac, &ml, NULL);
	ref_kdf(true, AZIHSM_HASH_SHA384, z, zl, "label", "context", k, 40);
	wl = ref_hmac(AZIHSM_HASH_SHA512, k, 40, msg, want);
	tap_ok(ml == 64 && ml == wl && !memcmp(mac, want, ml) && fips,
	       "  its HMAC = OpenSSL's with OpenSSL's KBKDF of the ECDH secret");
	tap_eq(kdf(fw, AZIHSM_OP_KBKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA512, NULL, NULL,
		   AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT, NULL, false, 0,
		   &aes, NULL), 0, "KbkdfDerive -> AES-256 key (no label, no context)");
	tap_eq(kdf(fw, AZIHSM_OP_KBKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, "l", "c",
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN | AZIHSM_USAGE_DERIVE, NULL, false, 0,
		   &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "issue 9: KbkdfDerive -> HMAC key to sign and derive: INVALID_ARG");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, "s", "i",
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_VERIFY | AZIHSM_USAGE_DERIVE, NULL, false,
		   0, &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "issue 9: HkdfDerive -> HMAC key to verify and derive: INVALID_ARG");

	/* refusals */
	n0 = key_count(fw, su);
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, NULL,
		    false, &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "ECDH into an AES key: INVALID_ARG");
	tap_eq(ecdh(fw, su, ec, bad_der, blen, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL,
		    false, &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "ECDH with a P-256 peer on a P-384 key: INVALID_ARG");
	peer_der[plen - 3] ^= 0x40;
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL,
		    false, &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "ECDH with a peer point off the curve: INVALID_ARG");
	peer_der[plen - 3] ^= 0x40;
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL,
		    true, &tmp, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "user: ECDH into a persistent key: WRONG_ROLE");
	tap_eq(ecdh(fw, su, e_hmac, peer_der, plen, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN,
		    NULL, false, &tmp, NULL), AZIHSM_STATUS_KEY_TYPE,
	       "ECDH with an HMAC key: KEY_TYPE");
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, NULL, false, &signonly), 0,
	       "user: P-384 key with sign only");
	tap_eq(ecdh(fw, su, signonly, peer_der, plen, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN,
		    NULL, false, &tmp, NULL), AZIHSM_STATUS_KEY_USAGE, "  ECDH with it: KEY_USAGE");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, h, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, 0, &tmp, NULL),
	       AZIHSM_STATUS_KEY_USAGE, "HKDF from a key without derive: KEY_USAGE");
	tap_eq(hmac(fw, su, ec, msg, 3, mac, &ml, NULL), AZIHSM_STATUS_KEY_USAGE,
	       "Hmac with a derive-only EC key: KEY_USAGE");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, NULL, false, 0, &tmp, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "HKDF into an EC key: INVALID_ARG");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, NULL, false, 16, &tmp, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "HKDF: a length for an AES key: INVALID_ARG");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, 15, &tmp, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "HKDF: an HMAC key of 15 bytes: INVALID_ARG");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_AES128, AZIHSM_USAGE_SIGN, NULL, false, 0, &tmp, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "HKDF: an AES key with sign usage: INVALID_ARG");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, "kb1", false, 0, &tmp, NULL),
	       AZIHSM_STATUS_LABEL_EXISTS, "HKDF: a label in use: LABEL_EXISTS");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, su, e_hmac, 9, NULL, NULL, AZIHSM_KEY_HMAC_SHA256,
		   AZIHSM_USAGE_SIGN, NULL, false, 0, &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "HKDF: hash 9: INVALID_ARG");
	tap_eq(kdf(fw, AZIHSM_OP_HKDF_DERIVE, so, e_hmac, AZIHSM_HASH_SHA256, NULL, NULL,
		   AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, 0, &tmp, NULL),
	       AZIHSM_STATUS_KEY_NOT_FOUND, "HKDF from another session's key: KEY_NOT_FOUND");
	tap_eq(hmac(fw, so, h, msg, 3, mac, &ml, NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "Hmac with another session's key: KEY_NOT_FOUND");
	tap_eq(key_count(fw, su), n0 + 1, "no refusal left a key behind (one key made)");
	EVP_PKEY_free(pub);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(other);
}

static void test_unwrap(struct hsm_fw *fw)
{
	static uint8_t blob[4096], target[3000];
	uint8_t secret[32], dg[64], sig[1024], mac[64], want[64];
	const char *msg = "unwrapped";
	EVP_PKEY *upub = NULL, *upub2 = NULL, *ec = ref_keygen("EC", "P-256", 0);
	EVP_PKEY *rsa = ref_keygen("RSA", NULL, 2048);
	uint16_t uk = 0, uk2 = 0, k, tmp;
	size_t bl, tl, dl, sl, ml, wl;
	struct rsp r;
	long n0;
	bool fips = false;

	/*
	 * issue 9: GetUnwrappingKey is INFO, and INFO creates nothing: the
	 * user and the kernel session do not make (and commit) the
	 * persistent key; the officer does.
	 */
	n0 = key_count(fw, so);
	tap_eq(unwrapping_key(fw, su, &uk, &upub), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "issue 9: GetUnwrappingKey (user) before the officer's: KEY_NOT_FOUND");
	{
		struct rsp kr;
		long ks = call0(fw, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &kr) ? -1 :
			  rsp_u16(&kr, AZIHSM_KSESS_F_ID);

		tap_ok(ks > 0 && unwrapping_key(fw, (int)ks, &uk, NULL) ==
					 AZIHSM_STATUS_KEY_NOT_FOUND,
		       "issue 9: GetUnwrappingKey (kernel session): KEY_NOT_FOUND");
		tap_eq(key_count(fw, so), n0, "  neither made a key");
		tap_eq(unwrapping_key(fw, so, &uk, &upub), 0, "GetUnwrappingKey (officer): made");
		tap_ok(uk && upub && EVP_PKEY_is_a(upub, "RSA") && EVP_PKEY_get_bits(upub) == 2048,
		       "  an RSA-2048 public key");
		tap_eq(unwrapping_key(fw, (int)ks, &uk2, NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
		       "issue 9: the kernel session still does not see it: KEY_NOT_FOUND");
		call0(fw, AZIHSM_OP_CLOSE_SESSION, (int)ks, &kr);
	}
	tap_eq(unwrapping_key(fw, su, &uk2, &upub2), 0, "GetUnwrappingKey again (user)");
	tap_ok(uk2 == uk && upub2 && EVP_PKEY_eq(upub, upub2) == 1, "  the same key");

	/* a secret */
	RAND_bytes(secret, sizeof(secret));
	bl = ref_wrap(upub, AZIHSM_HASH_SHA256, NULL, secret, sizeof(secret), blob);
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA256, blob, bl, NULL, AZIHSM_KEY_HMAC_SHA256,
		      AZIHSM_USAGE_SIGN, "uw-hmac", false, &k, &fips), 0,
	       "RsaUnwrap (officer) of OpenSSL's wrap of a 32-byte secret -> session HMAC key");
	tap_ok(fips, "  FIPS-approved");
	hmac(fw, so, k, msg, strlen(msg), mac, &ml, NULL);
	wl = ref_hmac(AZIHSM_HASH_SHA256, secret, sizeof(secret), msg, want);
	tap_ok(ml == wl && !memcmp(mac, want, ml), "  its HMAC is OpenSSL's with the secret");

	/* an EC key, OAEP label and SHA-384 */
	tl = ref_pkcs8(ec, target);
	bl = ref_wrap(upub, AZIHSM_HASH_SHA384, "wrap label", target, tl, blob);
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label", AZIHSM_KEY_EC_P256,
		      AZIHSM_USAGE_SIGN, NULL, false, &k, NULL), 0,
	       "RsaUnwrap of a P-256 PKCS#8 (OAEP SHA-384, label)");
	dl = ref_digest(AZIHSM_HASH_SHA256, msg, dg);
	tap_ok(!ecc_sign(fw, so, k, AZIHSM_HASH_SHA256, dg, dl, sig, &sl) &&
	       ref_verify(ec, AZIHSM_HASH_SHA256, -1, dg, dl, sig, sl),
	       "  it signs; OpenSSL verifies with the original public key");
	n0 = key_count(fw, so);
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl, "other", AZIHSM_KEY_EC_P256,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_DECRYPT_FAILED,
	       "  with another OAEP label: DECRYPT_FAILED");
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label", AZIHSM_KEY_EC_P384,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "  declared P-384: INVALID_ARG");
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label",
		      AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "  declared a 128-byte-max HMAC key: INVALID_ARG");
	blob[bl - 5] ^= 0x01;
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label", AZIHSM_KEY_EC_P256,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_DECRYPT_FAILED,
	       "  a bit flipped in the KWP part: DECRYPT_FAILED");
	blob[bl - 5] ^= 0x01;
	blob[10] ^= 0x80;
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label", AZIHSM_KEY_EC_P256,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_DECRYPT_FAILED,
	       "  a bit flipped in the OAEP part: DECRYPT_FAILED");
	blob[10] ^= 0x80;
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, bl - 8, "wrap label",
		      AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL),
	       AZIHSM_STATUS_DECRYPT_FAILED, "  8 bytes short: DECRYPT_FAILED");
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA384, blob, 200, "wrap label",
		      AZIHSM_KEY_EC_P256, AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL),
	       AZIHSM_STATUS_INVALID_ARG, "  shorter than the modulus: INVALID_ARG");
	tap_eq(unwrap(fw, su, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label", AZIHSM_KEY_EC_P256,
		      AZIHSM_USAGE_SIGN, NULL, true, &tmp, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "  user, persistent: WRONG_ROLE");
	tap_eq(unwrap(fw, su, uk, AZIHSM_HASH_SHA384, blob, bl, "wrap label", AZIHSM_KEY_EC_P256,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_WRONG_ROLE,
	       "  issue 9 RT-6: user, session key from the persistent unwrapping key: WRONG_ROLE");
	tap_eq(key_count(fw, so), n0, "  none of these left a key behind");

	/* an RSA key, persistent (officer) */
	tl = ref_pkcs8(rsa, target);
	bl = ref_wrap(upub, AZIHSM_HASH_SHA256, NULL, target, tl, blob);
	tap_eq(unwrap(fw, so, uk, AZIHSM_HASH_SHA256, blob, bl, NULL, AZIHSM_KEY_RSA2048,
		      AZIHSM_USAGE_SIGN, "uw-rsa", true, &k, NULL), 0,
	       "officer: RsaUnwrap of an RSA-2048 PKCS#8 into a persistent key");
	dl = ref_digest(AZIHSM_HASH_SHA384, msg, dg);
	tap_ok(!rsa_sign(fw, su, k, AZIHSM_HASH_SHA384, AZIHSM_RSA_PAD_PSS, dg, dl, sig, &sl,
			 NULL) && ref_verify(rsa, AZIHSM_HASH_SHA384, AZIHSM_RSA_PAD_PSS, dg, dl,
					      sig, sl),
	       "  the user signs with it (PSS); OpenSSL verifies with the original key");

	/* the unwrapping key is for unwrapping only */
	{
		const struct fld f[] = {
			U16(AZIHSM_OPS_F_KEY_ID, uk), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA256),
			BYTES(AZIHSM_RSADEC_F_IN, blob, 256),
		};

		tap_eq(call(fw, AZIHSM_OP_RSA_DECRYPT, su, f, NF(f), &r),
		       AZIHSM_STATUS_KEY_USAGE,
		       "RsaDecrypt with the unwrapping key: KEY_USAGE (no OAEP oracle)");
	}
	tap_eq(unwrap(fw, so, rsa1, AZIHSM_HASH_SHA256, blob, bl, NULL, AZIHSM_KEY_RSA2048,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_KEY_USAGE,
	       "RsaUnwrap (officer) with a key without unwrap usage: KEY_USAGE");
	tap_eq(unwrap(fw, su, e_hmac, AZIHSM_HASH_SHA256, blob, bl, NULL, AZIHSM_KEY_RSA2048,
		      AZIHSM_USAGE_SIGN, NULL, false, &tmp, NULL), AZIHSM_STATUS_KEY_USAGE,
	       "RsaUnwrap with an HMAC key: KEY_USAGE");
	EVP_PKEY_free(upub);
	EVP_PKEY_free(upub2);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

/* One valid request per service, for the generic refusals. */
static unsigned int sample_requests(uint16_t sid, uint8_t bufs[][1024], size_t *lens,
				    uint32_t *ops)
{
	static const uint8_t dg[32];
	static uint8_t blob[300];
	struct fld nk[4];
	unsigned int n = 0, m;

	{
		const struct fld f[] = {
			U16(1, rsa1), U8(2, AZIHSM_HASH_SHA256), U8(3, AZIHSM_RSA_PAD_PSS),
			BYTES(4, dg, 32),
		};
		ops[n] = AZIHSM_OP_RSA_SIGN;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, NF(f));
		n++;
	}
	{
		const struct fld f[] = {
			U16(1, rsa1), U8(2, AZIHSM_HASH_SHA256), BYTES(3, blob, 256),
		};
		ops[n] = AZIHSM_OP_RSA_DECRYPT;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, NF(f));
		n++;
	}
	{
		const struct fld f[] = {
			U16(1, ec1), U8(2, AZIHSM_HASH_SHA256), BYTES(4, dg, 32), BYTES(5, blob, 70),
		};
		ops[n] = AZIHSM_OP_VERIFY;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, NF(f));
		n++;
	}
	{
		const struct fld f[] = { U16(1, e_mac), BYTES(2, "data", 4) };
		ops[n] = AZIHSM_OP_HMAC;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, NF(f));
		n++;
	}
	{
		struct fld f[6] = { U16(1, ec1), BYTES(2, blob, 91) };

		m = newkey(nk, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, "x", false);
		memcpy(f + 2, nk, m * sizeof(*nk));
		ops[n] = AZIHSM_OP_ECDH_KEY_EXCHANGE;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, 2 + m);
		n++;
	}
	{
		struct fld f[9] = { U16(1, e_hmac), U8(2, AZIHSM_HASH_SHA256), BYTES(3, "s", 1),
				    BYTES(4, "i", 1) };

		m = newkey(nk, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, "y", false);
		memcpy(f + 4, nk, m * sizeof(*nk));
		f[4 + m] = (struct fld)U16(9, 32);
		ops[n] = AZIHSM_OP_HKDF_DERIVE;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, 5 + m);
		ops[n + 1] = AZIHSM_OP_KBKDF_DERIVE;
		lens[n + 1] = svc_build(bufs[n + 1], 1024, ops[n + 1], sid, f, 5 + m);
		n += 2;
	}
	{
		struct fld f[8] = { U16(1, rsa1), U8(2, AZIHSM_HASH_SHA256), BYTES(3, blob, 296),
				    BYTES(4, "l", 1) };

		m = newkey(nk, AZIHSM_KEY_AES128, AZIHSM_USAGE_ENCRYPT, "z", false);
		memcpy(f + 4, nk, m * sizeof(*nk));
		ops[n] = AZIHSM_OP_RSA_UNWRAP;
		lens[n] = svc_build(bufs[n], 1024, ops[n], sid, f, 4 + m);
		n++;
	}
	ops[n] = AZIHSM_OP_GET_UNWRAPPING_KEY;
	lens[n] = svc_build(bufs[n], 1024, ops[n], sid, NULL, 0);
	n++;
	return n;
}

static void test_refusals(struct hsm_fw *fw)
{
	static uint8_t bufs[16][1024], mut[1100];
	uint32_t ops[16];
	size_t lens[16], cut;
	unsigned int n, i;
	struct rsp r;
	long n0 = key_count(fw, su);
	bool all;

	n = sample_requests(0, bufs, lens, ops);
	for (i = 0, all = true; i < n; i++)
		all &= lens[i] &&
		       rsp_exec(fw, bufs[i], lens[i], 0, &r) == AZIHSM_STATUS_NO_SESSION;
	tap_ok(all, "every service without a session (id 0): NO_SESSION");
	n = sample_requests(0x7777, bufs, lens, ops);
	for (i = 0, all = true; i < n; i++)
		all &= rsp_exec(fw, bufs[i], lens[i], 0, &r) == AZIHSM_STATUS_NO_SESSION;
	tap_ok(all, "every service in a session that is not open: NO_SESSION");
	n = sample_requests(su, bufs, lens, ops);
	/* Truncated: never an answer but a refusal, never a crash. */
	for (i = 0, all = true; i < n; i++)
		for (cut = 1; cut < lens[i]; cut++) {
			long st = rsp_exec(fw, bufs[i], lens[i] - cut, 0, &r);

			if (st == 0 || st == -1) {
				printf("# op %u cut %zu: %ld\n", ops[i], cut, st);
				all = false;
			}
		}
	tap_ok(all, "every service, every truncation of its request: refused");
	for (i = 0, all = true; i < n; i++) {
		memcpy(mut, bufs[i], lens[i]);
		mut[lens[i]] = 0x00;	/* one byte after the message */
		all &= rsp_exec(fw, mut, lens[i] + 1, 0, &r) == AZIHSM_STATUS_MALFORMED;
	}
	tap_ok(all, "every service with a byte after the request: MALFORMED");
	tap_eq(key_count(fw, su), n0, "the refusals made no key");
	/* Flip every byte of the data map in turn: any answer, never a crash. */
	for (i = 0, all = true; i < n; i++)
		for (cut = 8; cut < lens[i] && cut < 80; cut++) {
			memcpy(mut, bufs[i], lens[i]);
			mut[cut] ^= 0xff;
			all &= rsp_exec(fw, mut, lens[i], 0, &r) >= 0;
		}
	tap_ok(all, "byte-flipped requests: always an answer");
	{
		const struct fld f[] = { U16(1, e_hmac), BYTES(2, "d", 1), U8(3, 1) };
		const struct fld g[] = { U16(1, e_hmac) };
		const struct fld h[] = { BYTES(1, "ab", 2), BYTES(2, "d", 1) };
		const struct fld z[] = { U16(1, 0), BYTES(2, "d", 1) };
		const struct fld u[] = { U8(1, 1) };

		tap_eq(call(fw, AZIHSM_OP_HMAC, su, f, NF(f), &r), AZIHSM_STATUS_MALFORMED,
		       "Hmac with an unknown field: MALFORMED");
		tap_eq(call(fw, AZIHSM_OP_HMAC, su, g, NF(g), &r), AZIHSM_STATUS_MALFORMED,
		       "Hmac without data: MALFORMED");
		tap_eq(call(fw, AZIHSM_OP_HMAC, su, h, NF(h), &r), AZIHSM_STATUS_MALFORMED,
		       "Hmac with a key id of bytes: MALFORMED");
		tap_eq(call(fw, AZIHSM_OP_HMAC, su, z, NF(z), &r), AZIHSM_STATUS_INVALID_ARG,
		       "Hmac with key id 0: INVALID_ARG");
		tap_eq(call(fw, AZIHSM_OP_GET_UNWRAPPING_KEY, su, u, NF(u), &r),
		       AZIHSM_STATUS_MALFORMED, "GetUnwrappingKey with a field: MALFORMED");
	}
}

/* With a state file: derived and unwrapping keys survive a restart. */
static void test_persist(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	char dir[] = "/tmp/azihsm-svcops.XXXXXX", path[64], cmd[96];
	const struct hsm_fw_config cfg = { .serial = "OPS-1", .fw_rev = "1", .state_path = path,
					   .auth = &acfg };
	const char *msg = "persist";
	EVP_PKEY *peer = ref_keygen("EC", "P-256", 0), *pub, *up1 = NULL, *up2 = NULL;
	uint8_t der[256], mac1[64], mac2[64];
	uint16_t s = 0, ec, h, uk1, uk2, h2;
	size_t dl, m1 = 0, m2 = 0;
	struct hsm_fw *fw;

	if (!tap_ok(mkdtemp(dir) != NULL, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/partition", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	fw = hsm_fw_new(&cfg);
	login(fw, HSM_ROLE_OFFICER, OFF_PIN0, &s);
	sealed(fw, s, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1, NULL);
	tap_eq(keygen(fw, s, AZIHSM_KEY_EC_P256, AZIHSM_USAGE_DERIVE, NULL, false, &ec), 0,
	       "state file: officer session P-256 key");
	pub = key_public(fw, s, ec);
	dl = ref_spki(peer, der);
	tap_eq(ecdh(fw, s, ec, der, dl, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_SIGN, "kept", true, &h,
		    NULL), 0, "ECDH into a persistent HMAC key");
	hmac(fw, s, h, msg, strlen(msg), mac1, &m1, NULL);
	tap_eq(unwrapping_key(fw, s, &uk1, &up1), 0, "GetUnwrappingKey");
	hsm_fw_free(fw);
	fw = hsm_fw_new(&cfg);
	tap_ok(fw != NULL, "restart on the state file");
	login(fw, HSM_ROLE_OFFICER, OFF_PIN1, &s);
	tap_eq(call(fw, AZIHSM_OP_OPEN_KEY, s,
		    (const struct fld[]){ BYTES(AZIHSM_KEY_F_OPEN_LABEL, "kept", 4) }, 1, NULL),
	       0, "the derived key is there");
	tap_eq(hmac(fw, s, h, msg, strlen(msg), mac2, &m2, NULL), 0, "  Hmac with it");
	tap_ok(m1 == 32 && m1 == m2 && !memcmp(mac1, mac2, m1), "  the same HMAC as before");
	tap_eq(unwrapping_key(fw, s, &uk2, &up2), 0, "GetUnwrappingKey after the restart");
	tap_ok(uk1 == uk2 && up1 && up2 && EVP_PKEY_eq(up1, up2) == 1, "  the same key, stored");
	tap_eq(call(fw, AZIHSM_OP_DELETE_KEY, s,
		    (const struct fld[]){ U16(AZIHSM_KEY_F_ID, uk2) }, 1, NULL), 0,
	       "the officer deletes it");
	EVP_PKEY_free(up2);
	up2 = NULL;
	tap_eq(unwrapping_key(fw, s, &h2, &up2), 0, "GetUnwrappingKey makes a new one");
	tap_ok(up2 && EVP_PKEY_eq(up1, up2) != 1, "  a different key");
	hsm_fw_free(fw);
	if (system(cmd))
		printf("# %s failed\n", cmd);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(up1);
	EVP_PKEY_free(up2);
}

int main(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	const struct hsm_fw_config cfg = { .serial = "OPS-1", .fw_rev = "1", .auth = &acfg };
	struct hsm_fw *fw = hsm_fw_new(&cfg);

	if (!fw) {
		printf("Bail out! hsm_fw_new\n");
		return 1;
	}
	test_setup(fw);
	test_rsa_sign_verify(fw);
	test_rsa_decrypt(fw);
	test_ecdsa_verify(fw);
	test_ecdh_kdf(fw);
	test_unwrap(fw);
	test_refusals(fw);
	hsm_fw_free(fw);
	test_persist();
	return tap_done();
}
