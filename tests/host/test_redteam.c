// SPDX-License-Identifier: MIT
/*
 * issue 9 red team: attacks on the firmware core through hsm_fw_execute
 * with real MBOR requests. Every check states the SECURE outcome, so each
 * "not ok" line is a hole that is open in this tree. Findings (numbers as
 * in the red-team report):
 *
 *  RT-1 a user reads a persistent key the officer derived (SP 800-56C
 *       two-step: ECDH -> HMAC KDK -> KBKDF): the user runs the same ECDH
 *       with the officer's persistent EC key and the (public) peer key
 *       into a session HMAC key with the SIGN usage, and its Hmac over
 *       the KBKDF fixed input block is the derived key.
 *  RT-2 the same with a KBKDF chain and no ECDH: KDK0 -> KDK1 -> AES-GCM
 *       key; the user derives KDK1 again as a SIGN key; and a derived
 *       AES256_GCM key is derived again as a plain AES256 key, whose ECB
 *       gives E_K(0), the GHASH key of the officer's GCM key.
 *  RT-3 a user's re-derived copy of a persistent derived key, masked as
 *       a user session-key blob, comes back after the officer deleted
 *       the persistent key (and its parent).
 *  RT-4 the user role (or anyone, while the user's PIN is the public
 *       default) holds all 8 session slots: the officer cannot log in.
 *  RT-5 anyone who can send OpenSession locks the officer for good with
 *       10 wrong PINs; only a zeroize (needing an officer session) ends it.
 *  RT-6 a wrap blob the officer unwrapped as an AES256_GCM key is
 *       unwrapped again by the user typed AES256: its ECB gives E_K(0).
 *
 *  RT-7 (a low finding, closed later) a persistent KeyGenerate that runs
 *       while a zeroize empties the vault inserts and commits its key
 *       afterwards: a key of before the zeroize outlives it.
 *
 * Red team 2 (issue 10's services: identity, attestation, security
 * domain, self-tests, tamper):
 *
 *  RT2-1 the security domain's exchange key outlives a zeroize and a
 *        tamper: an upload sealed to it before (captured by the guest,
 *        which carries every SdUpload) installs the domain after it, for
 *        whoever logs in on the public default PIN.
 *  RT2-2 the officer installs a domain key of its choosing (SdUpload
 *        takes any key sealed to the exchange key; as it may name the
 *        owners at SdActivate, this is the officer's by design) and so
 *        knows the domain's masking key: it forges a backup blob of a key
 *        it made outside the device with origin "generated", and the
 *        device's AttestKey report then says the key was generated in the
 *        device; a forged serial of 2^64-1 wraps the vault's serial
 *        counter, and the state file no longer loads (error state, reason
 *        state, which no reset leaves).
 *  RT2-4 the officer alone reads the private key of a persistent key made
 *        before any domain existed (one a relying party may have been
 *        shown an AttestKey report of): it uploads a domain key of its own,
 *        SdBackupKey masks the key under it, and the blob decrypts to the
 *        PKCS#8 key. Issue 10: keys made before activation are not
 *        covered by backups.
 *  RT2-5 a signature in flight when a tamper event hits is answered
 *        SUCCESS after the device entered the error state and zeroized
 *        the key: a cryptographic result given out in the error state.
 *  RT2-6 (tried, held) malformed SdActivate, SdUpload, SdRestoreKey,
 *        AttestKey and GetCertificate requests (flipped, cut and extended
 *        copies of valid ones, under ASan/UBSan): every one answered.
 *  RT3-1 (tried, held; guard) a session opened by a request whose answer
 *        then fails stays open, unannounced: eight would fill the table,
 *        one blocks the driver's kernel session (KERNEL_OPEN). Trailing
 *        bytes are refused by fw_decode before the open, so this holds;
 *        the path that remained is OpenKernelSession running while a
 *        tamper event's zeroize completes (answered ERROR_STATE, session
 *        kept until the reset). The dispatcher now closes the session of
 *        any failed Open(Kernel)Session answer.
 *  RT2-3 (tried, held) a session KeyGenerate in flight when a tamper
 *        event hits: it must not answer SUCCESS after it nor leave its key
 *        in the vault for the closed session's id (which a later session
 *        may be given again) across the reset. KeyGenerate checks its
 *        session again after the insert, so this holds; kept as a guard.
 *
 * RT-1/2/3/6 closed: a new key made from a persistent key (ECDH, HKDF,
 * KBKDF, RsaUnwrap) needs the MANAGE_KEYS class (hsm_authz_use_key), so
 * the user's re-derive / re-unwrap is WRONG_ROLE; users derive and unwrap
 * from their own session keys (checked here too).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "hsm_sd.h"
#include "hsm_vault.h"
#include "azihsm/cbor.h"
#include "ossl_ref.h"
#include "svc_util.h"
#include "tap.h"
#include "test_pki.h"

/* ---- requests (fields: svc_build, svc_util.h) ------------------------- */



static long call(struct hsm_fw *fw, uint32_t op, int sid, const struct fld *f, unsigned int n,
		 struct rsp *r)
{
	static uint8_t req[8192];
	static struct rsp local;
	size_t len;

	if (!r)
		r = &local;
	len = svc_build(req, sizeof(req), op, sid, f, n);
	if (!len)
		return -1;
	return rsp_exec(fw, req, len, 0, r);
}

static struct rsp tr;	/* answers the tests do not look at */

/* ---- sessions ---------------------------------------------------------- */

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *USR_ID = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
static const uint8_t *OFF_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
static const uint8_t *USR_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"officer new PIN!";
static const uint8_t *USR_PIN1 = (const uint8_t *)"user's new PIN#1";
static const uint8_t *BAD_PIN = (const uint8_t *)"not the PIN 0000";

static long login(struct hsm_fw *fw, uint8_t role, const uint8_t *pin, uint16_t *sid)
{
	long r = svc_login(fw, role, role == HSM_ROLE_OFFICER ? OFF_ID : USR_ID, pin);

	if (r < 0)
		return -r;
	*sid = (uint16_t)r;
	return 0;
}

/* Officer and user sessions past their default PINs. */
static void setup(struct hsm_fw *fw, uint16_t *so, uint16_t *su)
{
	tap_eq(login(fw, HSM_ROLE_OFFICER, OFF_PIN0, so), 0, "officer login (default)");
	tap_eq(svc_change_pin(fw, *so, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1), 0,
	       "officer changes PIN");
	tap_eq(login(fw, HSM_ROLE_USER, USR_PIN0, su), 0, "user login (default)");
	tap_eq(svc_change_pin(fw, *su, HSM_ROLE_USER, USR_ID, USR_PIN0, USR_PIN1), 0,
	       "user changes PIN");
}

/* ---- key services ------------------------------------------------------- */

static long keygen(struct hsm_fw *fw, int sid, uint8_t type, uint32_t usage, bool persistent,
		   uint16_t *id)
{
	const struct fld f[] = {
		U8(AZIHSM_KEY_F_TYPE, type), U32(AZIHSM_KEY_F_USAGE, usage),
		BOOL(AZIHSM_KEY_F_PERSISTENT, persistent),
	};
	struct rsp r;
	long st = call(fw, AZIHSM_OP_KEY_GENERATE, sid, f, NF(f), &r);

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

static long new_key_call(struct hsm_fw *fw, uint32_t op, int sid, struct fld *f, unsigned int n,
			 uint8_t type, uint32_t usage, bool persistent, uint16_t *out)
{
	struct rsp r;
	long st;

	f[n++] = (struct fld)U8(AZIHSM_OPS_F_TYPE, type);
	f[n++] = (struct fld)U32(AZIHSM_OPS_F_USAGE, usage);
	f[n++] = (struct fld)BOOL(AZIHSM_OPS_F_PERSISTENT, persistent);
	st = call(fw, op, sid, f, n, &r);
	*out = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_OPS_F_NEW_KEY_ID);
	return st;
}

static long ecdh(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *peer, size_t plen,
		 uint8_t type, uint32_t usage, bool persistent, uint16_t *out)
{
	struct fld f[8] = { U16(AZIHSM_OPS_F_KEY_ID, id), BYTES(AZIHSM_ECDH_F_PEER, peer, plen) };

	return new_key_call(fw, AZIHSM_OP_ECDH_KEY_EXCHANGE, sid, f, 2, type, usage, persistent,
			    out);
}

/* KBKDF: label @a, context @b (both present, may be empty). */
static long kbkdf(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash, const char *a,
		  const char *b, uint8_t type, uint32_t usage, bool persistent, uint16_t *out)
{
	struct fld f[10] = {
		U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, hash),
		BYTES(AZIHSM_KDF_F_SALT, a, strlen(a)), BYTES(AZIHSM_KDF_F_INFO, b, strlen(b)),
	};

	return new_key_call(fw, AZIHSM_OP_KBKDF_DERIVE, sid, f, 4, type, usage, persistent, out);
}

/* HKDF, no salt or info, a session key. */
static long hkdf(struct hsm_fw *fw, int sid, uint16_t id, uint8_t hash, uint8_t type,
		 uint32_t usage, uint16_t *out)
{
	struct fld f[9] = { U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, hash) };

	return new_key_call(fw, AZIHSM_OP_HKDF_DERIVE, sid, f, 2, type, usage, false, out);
}

static long unwrap(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *blob, size_t blen,
		   uint8_t type, uint32_t usage, bool persistent, uint16_t *out)
{
	struct fld f[8] = {
		U16(AZIHSM_OPS_F_KEY_ID, id), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA256),
		BYTES(AZIHSM_UNWRAP_F_IN, blob, blen),
	};

	return new_key_call(fw, AZIHSM_OP_RSA_UNWRAP, sid, f, 3, type, usage, persistent, out);
}

static long unwrapping_key(struct hsm_fw *fw, int sid, uint16_t *id, EVP_PKEY **pub)
{
	uint8_t der[1024];
	struct rsp r;
	long st = call(fw, AZIHSM_OP_GET_UNWRAPPING_KEY, sid, NULL, 0, &r);

	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_UNWRAPKEY_F_ID);
	*pub = st ? NULL : ref_d2i_pub(der, rsp_copy(&r, AZIHSM_UNWRAPKEY_F_DER, der, sizeof(der)));
	return st;
}

static long hmac(struct hsm_fw *fw, int sid, uint16_t id, const void *data, size_t len,
		 uint8_t *mac, size_t *ml)
{
	const struct fld f[] = {
		U16(AZIHSM_OPS_F_KEY_ID, id), BYTES(AZIHSM_HMAC_F_DATA, data, len),
	};
	struct rsp r;
	long st = call(fw, AZIHSM_OP_HMAC, sid, f, NF(f), &r);

	*ml = st ? 0 : rsp_copy(&r, AZIHSM_OPS_F_OUT, mac, 64);
	return st;
}

/* AesEncryptDecrypt ECB encryption of @len bytes. */
static long aes_ecb(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *in, size_t len,
		    uint8_t *out)
{
	const struct fld f[] = {
		U16(AZIHSM_AES_F_KEY_ID, id), U8(AZIHSM_AES_F_MODE, AZIHSM_AES_ECB),
		BOOL(AZIHSM_AES_F_DECRYPT, false), BYTES(AZIHSM_AES_F_DATA, in, len),
	};
	struct rsp r;
	long st = call(fw, AZIHSM_OP_AES_ENCRYPT_DECRYPT, sid, f, NF(f), &r);

	if (!st && rsp_copy(&r, AZIHSM_AES_F_OUT, out, len) != len)
		return -1;
	return st;
}

/* GCM encryption (device IV): ciphertext, IV and 16-byte tag. */
static long aes_gcm_enc(struct hsm_fw *fw, int sid, uint16_t id, const uint8_t *in, size_t len,
			uint8_t *out, uint8_t iv[12], uint8_t tag[16])
{
	const struct fld f[] = {
		U16(AZIHSM_AES_F_KEY_ID, id), U8(AZIHSM_AES_F_MODE, AZIHSM_AES_GCM),
		BOOL(AZIHSM_AES_F_DECRYPT, false), BYTES(AZIHSM_AES_F_DATA, in, len),
	};
	struct rsp r;
	long st = call(fw, AZIHSM_OP_AES_ENCRYPT_DECRYPT, sid, f, NF(f), &r);

	if (!st && (rsp_copy(&r, AZIHSM_AES_F_OUT, out, len) != len ||
		    rsp_copy(&r, AZIHSM_AES_F_IV_OUT, iv, 12) != 12 ||
		    rsp_copy(&r, AZIHSM_AES_F_TAG_OUT, tag, 16) != 16))
		return -1;
	return st;
}

static long export_masked(struct hsm_fw *fw, int sid, uint16_t id, uint8_t *blob, size_t *len)
{
	const struct fld f[] = { U16(AZIHSM_MASK_F_KEY_ID, id) };
	struct rsp r;
	long st = call(fw, AZIHSM_OP_KEY_EXPORT_MASKED, sid, f, NF(f), &r);

	*len = st ? 0 : rsp_copy(&r, AZIHSM_MASK_F_BLOB, blob, 4096);
	return st;
}

static long unmask(struct hsm_fw *fw, int sid, const uint8_t *blob, size_t len, uint16_t *id)
{
	const struct fld f[] = { BYTES(AZIHSM_UNMASK_F_BLOB, blob, len) };
	struct rsp r;
	long st = call(fw, AZIHSM_OP_UNMASK_KEY, sid, f, NF(f), &r);

	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_UNMASK_F_KEY_ID);
	return st;
}

/* SP 800-108 counter-mode fixed input of block 1: [1]_32 || label || 00 || ctx || [L]_32. */
static size_t kbkdf_block1(const char *label, const char *ctx, uint32_t bits, uint8_t *out)
{
	size_t n = 0, ll = strlen(label), cl = strlen(ctx);

	out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = 1;
	memcpy(out + n, label, ll);
	n += ll;
	out[n++] = 0;
	memcpy(out + n, ctx, cl);
	n += cl;
	out[n++] = (uint8_t)(bits >> 24), out[n++] = (uint8_t)(bits >> 16);
	out[n++] = (uint8_t)(bits >> 8), out[n++] = (uint8_t)bits;
	return n;
}

/* OpenSSL AES-256-ECB of one block with @key. */
static void ref_ecb(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, key, NULL);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_EncryptUpdate(c, out, &n, in, 16);
	EVP_CIPHER_CTX_free(c);
}

/* OpenSSL AES-256-GCM decryption; 0 if the tag verifies. */
static int ref_gcm_dec(const uint8_t key[32], const uint8_t iv[12], const uint8_t *ct, size_t len,
		       const uint8_t tag[16], uint8_t *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
	     EVP_DecryptUpdate(c, pt, &n, ct, (int)len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1 &&
	     EVP_DecryptFinal_ex(c, pt + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static struct hsm_fw *start(const struct hsm_auth_config *acfg)
{
	const struct hsm_fw_config cfg = { .serial = "RT-1", .fw_rev = "1", .auth = acfg };

	return hsm_fw_new(&cfg);
}

static const struct hsm_auth_config acfg_fast = { .pbkdf2_iter = 1000 };

/* ---- RT-1: ECDH two-step, the derived persistent key read by the user -- */

static void test_rt1_ecdh_kbkdf_read(void)
{
	struct hsm_fw *fw = start(&acfg_fast);
	static const uint8_t zero[16];
	uint8_t peer_der[256], z[132], want[32], fi[64], mac[64], ct[16], mine[16];
	EVP_PKEY *peer = ref_keygen("EC", "P-384", 0), *pub;
	uint16_t so, su, ec, kdk, aes, zu;
	size_t plen, zl, fl, ml;

	setup(fw, &so, &su);
	/* The officer: persistent P-384 key, ECDH with a partner's public key. */
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_DERIVE, true, &ec), 0,
	       "RT-1 officer: persistent P-384 key (derive)");
	pub = key_public(fw, so, ec);
	plen = ref_spki(peer, peer_der);
	zl = ref_ecdh(peer, pub, z);
	tap_eq(ecdh(fw, so, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_DERIVE, true,
		    &kdk), 0, "RT-1 officer: ECDH -> persistent HMAC-SHA384 KDK (derive only)");
	tap_eq(kbkdf(fw, so, kdk, AZIHSM_HASH_SHA384, "enc", "ctx", AZIHSM_KEY_AES256,
		     AZIHSM_USAGE_ENCRYPT, true, &aes), 0,
	       "RT-1 officer: KBKDF -> persistent AES-256 key (encrypt only)");
	ref_kdf(true, AZIHSM_HASH_SHA384, z, zl, "enc", "ctx", want, 32);

	/* The user: the same ECDH, as a key that MACs: refused. */
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_SIGN, false,
		    &zu), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-1: the user may NOT ECDH with the officer's persistent key");
	tap_eq(kbkdf(fw, su, kdk, AZIHSM_HASH_SHA384, "enc", "ctx", AZIHSM_KEY_HMAC_SHA384,
		     AZIHSM_USAGE_SIGN, false, &zu), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-1: nor KBKDF from the officer's persistent KDK");
	tap_eq(hkdf(fw, su, kdk, AZIHSM_HASH_SHA384, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_SIGN,
		    &zu), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-1: nor HKDF from the officer's persistent KDK");
	/* The officer still may, also into a session key; the derived key is right. */
	tap_eq(ecdh(fw, so, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_SIGN, false,
		    &zu), 0, "RT-1 officer: ECDH -> a session HMAC key (its own)");
	fl = kbkdf_block1("enc", "ctx", 256, fi);
	tap_eq(hmac(fw, so, zu, fi, fl, mac, &ml), 0,
	       "RT-1 officer: Hmac over the KBKDF fixed input block");
	tap_ok(ml >= 32 && !memcmp(mac, want, 32), "RT-1 officer: that is the derived AES key");
	tap_eq(aes_ecb(fw, so, aes, zero, 16, ct), 0, "RT-1 officer: ECB of 0 with the AES key");
	ref_ecb(want, zero, mine);
	tap_ok(!memcmp(ct, mine, 16), "RT-1 officer: OpenSSL's AES with those bytes matches");
	/* A session key the officer does not see: not found, before the role. */
	tap_eq(keygen(fw, su, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_DERIVE, false, &ec), 0,
	       "RT-1 user: a session P-384 key (derive)");
	tap_eq(ecdh(fw, so, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_SIGN, false,
		    &zu), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "RT-1 officer: the user's session key is not found");
	/* The user derives from its own session key. */
	tap_eq(ecdh(fw, su, ec, peer_der, plen, AZIHSM_KEY_HMAC_SHA384, AZIHSM_USAGE_DERIVE, false,
		    &kdk), 0, "RT-1 user: ECDH with its own session key (allowed)");
	tap_eq(kbkdf(fw, su, kdk, AZIHSM_HASH_SHA384, "enc", "ctx", AZIHSM_KEY_AES256,
		     AZIHSM_USAGE_ENCRYPT, false, &aes), 0,
	       "RT-1 user: KBKDF from its own session KDK (allowed)");
	tap_eq(hkdf(fw, su, kdk, AZIHSM_HASH_SHA384, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT,
		    &aes), 0, "RT-1 user: HKDF from its own session KDK (allowed)");
	EVP_PKEY_free(pub);
	EVP_PKEY_free(peer);
	hsm_fw_free(fw);
}

/* ---- RT-2 / RT-3: a KBKDF chain; a type change; resurrection ------------ */

static void test_rt2_kbkdf_chain_read(void)
{
	struct hsm_fw *fw = start(&acfg_fast);
	static const uint8_t zero[16];
	static const uint8_t msg[32] = "officer's secret data, GCM'd!!";
	uint8_t fi[64], mac[64], ct[32], iv[12], tag[16], pt[32], h_dev[16], h_ref[16];
	uint8_t blob[4096];
	uint16_t so, su, k0, k1, gcm, k1u, as_aes, copy, back;
	size_t fl, ml, bl;

	setup(fw, &so, &su);
	tap_eq(keygen(fw, so, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_DERIVE, true, &k0), 0,
	       "RT-2 officer: persistent HMAC-SHA256 KDK0 (derive only, generated)");
	tap_eq(kbkdf(fw, so, k0, AZIHSM_HASH_SHA256, "kdk", "", AZIHSM_KEY_HMAC_SHA256,
		     AZIHSM_USAGE_DERIVE, true, &k1), 0,
	       "RT-2 officer: KBKDF -> persistent KDK1 (derive only)");
	tap_eq(kbkdf(fw, so, k1, AZIHSM_HASH_SHA256, "data", "", AZIHSM_KEY_AES256_GCM,
		     AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT, true, &gcm), 0,
	       "RT-2 officer: KBKDF -> persistent AES256_GCM key");
	tap_eq(aes_gcm_enc(fw, so, gcm, msg, sizeof(msg), ct, iv, tag), 0,
	       "RT-2 officer: GCM-encrypts its data");

	/* The user: KDK1 again, as a key that MACs: refused. */
	tap_eq(kbkdf(fw, su, k0, AZIHSM_HASH_SHA256, "kdk", "", AZIHSM_KEY_HMAC_SHA256,
		     AZIHSM_USAGE_SIGN, false, &k1u), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-2: the user may NOT KBKDF KDK1's bytes from KDK0");

	/* A type change: the GCM key derived again as a plain AES key (ECB). */
	tap_eq(kbkdf(fw, su, k1, AZIHSM_HASH_SHA256, "data", "", AZIHSM_KEY_AES256,
		     AZIHSM_USAGE_ENCRYPT, false, &as_aes), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-2: the user may NOT KBKDF the GCM key's bytes typed AES256");

	/* The officer's own re-derive (its choice) shows what the user would have got. */
	tap_eq(kbkdf(fw, so, k0, AZIHSM_HASH_SHA256, "kdk", "", AZIHSM_KEY_HMAC_SHA256,
		     AZIHSM_USAGE_SIGN, false, &k1u), 0,
	       "RT-2 officer: KBKDF from KDK0 -> a session HMAC SIGN key");
	fl = kbkdf_block1("data", "", 256, fi);
	tap_eq(hmac(fw, so, k1u, fi, fl, mac, &ml), 0,
	       "RT-2 officer: Hmac over the KBKDF input of the GCM key");
	tap_ok(ml == 32 && !ref_gcm_dec(mac, iv, ct, sizeof(ct), tag, pt) &&
	       !memcmp(pt, msg, sizeof(msg)), "RT-2 officer: those bytes are the GCM key");
	tap_eq(kbkdf(fw, so, k1, AZIHSM_HASH_SHA256, "data", "", AZIHSM_KEY_AES256,
		     AZIHSM_USAGE_ENCRYPT, false, &as_aes), 0,
	       "RT-2 officer: KBKDF from KDK1 -> the GCM key's bytes typed AES256");
	tap_eq(aes_ecb(fw, so, as_aes, zero, 16, h_dev), 0, "RT-2 officer: ECB of the zero block");
	ref_ecb(mac, zero, h_ref);
	tap_ok(!memcmp(h_dev, h_ref, 16), "RT-2 officer: that is E_K(0)");

	/* RT-3: the user's copy would outlive the officer's delete. */
	tap_eq(kbkdf(fw, su, k1, AZIHSM_HASH_SHA256, "data", "", AZIHSM_KEY_AES256_GCM,
		     AZIHSM_USAGE_DECRYPT, false, &copy), AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-3: the user may NOT KBKDF a session copy of the officer's GCM key");
	/* Its own session key masks and comes back (the blob path itself works). */
	tap_eq(keygen(fw, su, AZIHSM_KEY_HMAC_SHA256, AZIHSM_USAGE_DERIVE, false, &k1u), 0,
	       "RT-3 user: a session HMAC KDK");
	tap_eq(kbkdf(fw, su, k1u, AZIHSM_HASH_SHA256, "data", "", AZIHSM_KEY_AES256_GCM,
		     AZIHSM_USAGE_DECRYPT, false, &copy), 0,
	       "RT-3 user: KBKDF from its own session KDK (allowed)");
	tap_eq(export_masked(fw, su, copy, blob, &bl), 0, "RT-3 user: masks its own key");
	tap_eq(unmask(fw, su, blob, bl, &back), 0, "RT-3 user: and unmasks it again");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, gcm, &tr), 0,
	       "RT-3 officer: deletes the GCM key");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, k1, &tr), 0, "RT-3 officer: deletes KDK1");
	tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, k0, &tr), 0, "RT-3 officer: deletes KDK0");
	tap_eq(call0(fw, AZIHSM_OP_CLOSE_SESSION, su, &tr), 0, "RT-3 user: closes its session");
	tap_eq(login(fw, HSM_ROLE_USER, USR_PIN1, &su), 0, "RT-3 user: a new session");
	tap_eq(unmask(fw, su, blob, bl, &back), 0,
	       "RT-3 user: its own key's blob still comes back in a new session");
	hsm_fw_free(fw);
}

/* ---- RT-4: the user takes every session slot --------------------------- */

static void test_rt4_session_slots(void)
{
	struct hsm_fw *fw = start(&acfg_fast);
	uint16_t so, su, s[HSM_AUTH_MAX_SESSIONS], x;
	unsigned int i, n = 0;

	setup(fw, &so, &su);
	tap_eq(call0(fw, AZIHSM_OP_CLOSE_SESSION, so, &tr), 0, "RT-4 officer: logs out");
	for (i = 1; i < HSM_AUTH_MAX_SESSIONS; i++)
		n += login(fw, HSM_ROLE_USER, USR_PIN1, &s[i]) == 0;
	tap_ok(n < HSM_AUTH_MAX_SESSIONS - 1,
	       "RT-4 user: tries 7 more sessions (8 in all), gets %u more: the last slot is kept", n);
	tap_ok(login(fw, HSM_ROLE_OFFICER, OFF_PIN1, &x) == 0,
	       "issue 9 RT-4: the officer can still log in while the user holds all it can");
	hsm_fw_free(fw);

	/* Before the user ever logged in: anyone, with the public default PIN. */
	fw = start(&acfg_fast);
	tap_eq(login(fw, HSM_ROLE_OFFICER, OFF_PIN0, &so), 0, "RT-4 officer login (default)");
	tap_eq(svc_change_pin(fw, so, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1), 0,
	       "RT-4 officer changes PIN, then logs out");
	call0(fw, AZIHSM_OP_CLOSE_SESSION, so, &tr);
	for (i = 0, n = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		n += login(fw, HSM_ROLE_USER, USR_PIN0, &s[i]) == 0;
	tap_ok(n < HSM_AUTH_MAX_SESSIONS,
	       "RT-4 anyone: tries 8 restricted sessions with the user's public default PIN, "
	       "gets %u", n);
	tap_ok(login(fw, HSM_ROLE_OFFICER, OFF_PIN1, &x) == 0,
	       "issue 9 RT-4: the officer can still log in (no credential was needed to block)");
	hsm_fw_free(fw);
}

/* ---- RT-5: the officer locked for good by anyone ------------------------ */

static struct {
	uint64_t mono, real;
} clk = { 1000, 1700000000000ull };

static uint64_t fake_now(void *ctx, enum hsm_auth_clock which)
{
	(void)ctx;
	return which == HSM_AUTH_CLOCK_REAL ? clk.real : clk.mono;
}

static void test_rt5_officer_pin_lock(void)
{
	static const struct hsm_auth_config acfg = {
		.clock = fake_now, .pbkdf2_iter = 1000,
	};
	struct hsm_fw *fw = start(&acfg);
	uint16_t so, su, x;
	unsigned int i;
	long st;

	setup(fw, &so, &su);
	call0(fw, AZIHSM_OP_CLOSE_SESSION, so, &tr);
	/* Nobody logged in as anything: wrong officer PINs, waiting out each delay. */
	for (i = 0; i < HSM_AUTH_MAX_FAILURES; i++) {
		clk.real += 3600 * 1000;
		clk.mono += 1000;
		login(fw, HSM_ROLE_OFFICER, BAD_PIN, &x);
	}
	clk.real += 7 * 24 * 3600 * 1000ull;
	clk.mono += 1000;
	st = login(fw, HSM_ROLE_OFFICER, OFF_PIN1, &x);
	tap_ok(st == 0, "issue 9 RT-5: the officer's right PIN still opens after 10 wrong ones "
		       "sent without any session (got 0x%lx)", st);
	tap_eq(call0(fw, AZIHSM_OP_UNLOCK_USER, su, &tr), AZIHSM_STATUS_WRONG_ROLE,
	       "RT-5: and nothing the user may do ends it");
	hsm_fw_free(fw);
}

/* ---- RT-6: a wrap blob unwrapped again with other attributes ------------ */

static void test_rt6_unwrap_again(void)
{
	struct hsm_fw *fw = start(&acfg_fast);
	static const uint8_t zero[16];
	uint8_t secret[32], blob[1024], h_dev[16], h_ref[16];
	uint16_t so, su, uk, gcm, mine;
	EVP_PKEY *pub = NULL;
	size_t bl;

	setup(fw, &so, &su);
	tap_eq(unwrapping_key(fw, so, &uk, &pub), 0, "RT-6 officer: the unwrapping key");
	memset(secret, 0x5a, sizeof(secret));
	secret[0] = 1;
	bl = ref_wrap(pub, AZIHSM_HASH_SHA256, NULL, secret, sizeof(secret), blob);
	tap_eq(unwrap(fw, so, uk, blob, bl, AZIHSM_KEY_AES256_GCM,
		      AZIHSM_USAGE_ENCRYPT | AZIHSM_USAGE_DECRYPT, true, &gcm), 0,
	       "RT-6 officer: unwraps a partner's blob as a persistent AES256_GCM key");
	tap_eq(unwrap(fw, su, uk, blob, bl, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, false, &mine),
	       AZIHSM_STATUS_WRONG_ROLE,
	       "issue 9 RT-6: the user may NOT unwrap with the persistent unwrapping key");
	/* The officer's own session unwrap (its choice) is what the user would have got. */
	tap_eq(unwrap(fw, so, uk, blob, bl, AZIHSM_KEY_AES256, AZIHSM_USAGE_ENCRYPT, false, &mine),
	       0, "RT-6 officer: unwraps the same blob as a session AES256 key");
	tap_eq(aes_ecb(fw, so, mine, zero, 16, h_dev), 0, "RT-6 officer: ECB of the zero block");
	ref_ecb(secret, zero, h_ref);
	tap_ok(!memcmp(h_dev, h_ref, 16), "RT-6 officer: that is E_K(0)");
	EVP_PKEY_free(pub);
	hsm_fw_free(fw);
}

/* ---- RT-7: a persistent key made while a zeroize runs ------------------ */

struct rt7_gen {
	struct hsm_fw *fw;
	uint16_t sid;
	long st;
	double t_end;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An RSA-4096 keygen: slow enough for a zeroize to start while it runs. */
static void *rt7_keygen(void *p)
{
	struct rt7_gen *g = p;
	const struct fld f[] = {
		U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_RSA4096),
		U32(AZIHSM_KEY_F_USAGE, HSM_USAGE_SIGN | HSM_USAGE_VERIFY),
		BOOL(AZIHSM_KEY_F_PERSISTENT, true),
	};
	uint8_t req[512];
	struct rsp r;
	size_t len = svc_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, g->sid, f, NF(f));

	g->st = len ? rsp_exec(g->fw, req, len, 0, &r) : -1;
	g->t_end = now_s();
	return NULL;
}

static void test_rt7_keygen_races_zeroize(void)
{
	unsigned int round, overlapped = 0, survived = 0;

	for (round = 0; round < 4 && overlapped < 2; round++) {
		struct hsm_fw *fw = start(&acfg_fast);
		struct rt7_gen g = { .fw = fw };
		uint16_t so, su, so2;
		pthread_t t;
		double t_zero;
		long zst;

		setup(fw, &so, &su);
		if (login(fw, HSM_ROLE_OFFICER, OFF_PIN1, &so2)) {
			tap_ok(0, "RT-7: a second officer session");
			hsm_fw_free(fw);
			return;
		}
		g.sid = so;
		pthread_create(&t, NULL, rt7_keygen, &g);
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
		t_zero = now_s();
		zst = call(fw, AZIHSM_OP_ZEROIZE_PARTITION, so2, NULL, 0, &tr);
		pthread_join(t, NULL);
		if (zst) {
			tap_ok(0, "RT-7: the zeroize answered %ld", zst);
			hsm_fw_free(fw);
			return;
		}
		/* The zeroize was asked for while the keygen still ran. */
		if (t_zero < g.t_end)
			overlapped++;
		if (hsm_vault_count_owner(hsm_fw_vault(fw), 0))
			survived++;
		hsm_fw_free(fw);
	}
	tap_ok(overlapped > 0, "RT-7: a zeroize was asked for during a persistent RSA-4096 "
	       "keygen (%u of %u rounds)", overlapped, round);
	tap_eq(survived, 0, "RT-7: no persistent key made by a session of before the zeroize "
	       "is in the vault after it");
}

/* ---- Red team 2: issue 10's services ------------------------------------ */

/* An SdUpload as the owners' side seals it (kept, to send again). */
struct sd_upload {
	uint8_t host[128], nonce[HSM_SD_NONCE_LEN], ct[HSM_SD_UPLOAD_PLAIN], tag[HSM_SD_TAG_LEN];
	size_t hlen;
};

/* A domain key of the caller's choosing (quorum 2). */
static void sd_choose(struct hsm_sd *sd, uint8_t seed)
{
	memset(sd, 0, sizeof(*sd));
	memset(sd->key, seed, sizeof(sd->key));
	sd->quorum = 2;
	hsm_sd_make_id(sd);
}

/* SdExchangeKey, then @sd sealed to it into @u. */
static long sd_seal(struct hsm_fw *fw, int sid, const struct hsm_sd *sd, struct sd_upload *u)
{
	uint8_t xchg[200];
	struct rsp r;
	size_t xlen;
	long st = call(fw, AZIHSM_OP_SD_EXCHANGE_KEY, sid, NULL, 0, &r);

	if (st)
		return st;
	xlen = rsp_copy(&r, AZIHSM_SD_F_XCHG_KEY, xchg, sizeof(xchg));
	return hsm_sd_seal_upload(sd, xchg, xlen, u->host, &u->hlen, u->nonce, u->ct, u->tag) ?
		-1 : 0;
}

static long sd_send(struct hsm_fw *fw, int sid, const struct sd_upload *u)
{
	const struct fld f[] = {
		BYTES(AZIHSM_SD_F_HOST_KEY, u->host, u->hlen),
		BYTES(AZIHSM_SD_F_NONCE, u->nonce, sizeof(u->nonce)),
		BYTES(AZIHSM_SD_F_CT, u->ct, sizeof(u->ct)),
		BYTES(AZIHSM_SD_F_TAG, u->tag, sizeof(u->tag)),
	};

	return call(fw, AZIHSM_OP_SD_UPLOAD, sid, f, NF(f), &tr);
}

static bool sd_active(struct hsm_fw *fw, int sid)
{
	struct rsp r;

	return !call(fw, AZIHSM_OP_SD_INFO, sid, NULL, 0, &r) && rsp_bool(&r, AZIHSM_SD_F_ACTIVE) == 1;
}

/* The officer past the default PIN again (after a zeroize or tamper). */
static uint16_t officer_again(struct hsm_fw *fw)
{
	uint16_t so = 0;

	if (login(fw, HSM_ROLE_OFFICER, OFF_PIN0, &so) ||
	    svc_change_pin(fw, so, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1))
		return 0;
	return so;
}

/* RT2-1: an upload sealed before a zeroize / tamper, sent after it. */
static void test_rt2_1_upload_across_zeroize(void)
{
	static const char *const how[] = { "zeroize", "tamper" };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct hsm_fw *fw = start(&acfg_fast);
		struct sd_upload u, fresh;
		struct hsm_sd sd;
		uint16_t so, su, so2;

		setup(fw, &so, &su);
		sd_choose(&sd, 0x5a);
		tap_eq(sd_seal(fw, so, &sd, &u), 0, "RT2-1 (%s): an upload sealed to the exchange key",
		       how[i]);
		if (i == 0) {
			tap_eq(call(fw, AZIHSM_OP_ZEROIZE_PARTITION, so, NULL, 0, &tr), 0,
			       "RT2-1: zeroize");
		} else {
			hsm_fw_tamper(fw, 1, 1);
			hsm_fw_restart(fw);
			tap_ok(!hsm_fw_in_error_state(fw), "RT2-1: the reset leaves the tamper's error state");
		}
		so2 = officer_again(fw);
		tap_ok(so2 != 0, "RT2-1 (%s): officer on the default PIN again", how[i]);
		tap_eq(sd_send(fw, so2, &u), AZIHSM_STATUS_BAD_BLOB,
		       "RT2-1 (%s): the upload sealed before it is refused after it", how[i]);
		tap_ok(!sd_active(fw, so2), "RT2-1 (%s): no domain installed", how[i]);
		/* The legitimate use: a new exchange key takes a new upload. */
		tap_eq(sd_seal(fw, so2, &sd, &fresh), 0, "RT2-1 (%s): a new exchange key", how[i]);
		tap_eq(sd_send(fw, so2, &fresh), 0, "RT2-1 (%s): an upload sealed after it is taken",
		       how[i]);
		tap_ok(sd_active(fw, so2), "RT2-1 (%s): the domain is installed", how[i]);
		OPENSSL_cleanse(&sd, sizeof(sd));
		hsm_fw_free(fw);
	}
}

/* A blob made outside the device under @mk: @pk as a persistent key, then
 * its origin byte and serial set and the tag made again. Its length. */
static size_t rt2_forge(const struct hsm_masking_key *mk, EVP_PKEY *pk, uint8_t origin,
			uint64_t serial, uint8_t *blob, size_t cap)
{
	const struct hsm_key_spec spec = {
		.type = HSM_KEY_EC_P384, .usage = HSM_USAGE_SIGN | HSM_USAGE_VERIFY,
	};
	struct hsm_vault *v = hsm_vault_new(8);
	size_t len = 0, tlen = 0;
	uint16_t id = 0;
	unsigned int i;

	if (!v || hsm_vault_import_pkey(v, &spec, pk, &id) ||
	    hsm_vault_mask(v, id, mk, HSM_BLOB_PERSISTENT, blob, cap, &len) || len < 48 + 24) {
		hsm_vault_free(v);
		return 0;
	}
	hsm_vault_free(v);
	blob[11] = origin;		/* hsm_vault.c: the blob layout */
	if (serial)
		for (i = 0; i < 8; i++)
			blob[15 + i] = (uint8_t)(serial >> (8 * i));
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA384", NULL, mk->mac, sizeof(mk->mac), blob,
		       len - 48, blob + len - 48, 48, &tlen) || tlen != 48)
		return 0;
	return len;
}

static long sd_restore(struct hsm_fw *fw, int sid, const uint8_t *blob, size_t len,
		       uint16_t *id)
{
	const struct fld f[] = { BYTES(AZIHSM_SD_F_BLOB, blob, len) };
	struct rsp r;
	long st = call(fw, AZIHSM_OP_SD_RESTORE_KEY, sid, f, NF(f), &r);

	*id = st ? 0 : (uint16_t)rsp_u16(&r, AZIHSM_SD_F_KEY_ID);
	return st;
}

/* AttestKey of @id: the report's "generated" claim (1, 0; -1 if none). */
static int rt2_attested_generated(struct hsm_fw *fw, int sid, uint16_t id)
{
	const struct fld f[] = { U16(AZIHSM_ATTEST_F_KEY_ID, id) };
	const uint8_t *rep, *prot, *pl;
	size_t rlen, plen, i;
	struct cbor_dec d;
	struct rsp r;
	uint64_t v;

	if (call(fw, AZIHSM_OP_ATTEST_KEY, sid, f, NF(f), &r) ||
	    rsp_bytes(&r, AZIHSM_ATTEST_F_REPORT, &rep, &rlen))
		return -1;
	cbor_dec_init(&d, rep, rlen);
	if (cbor_dec_tag(&d, &v) || cbor_dec_array(&d, &v) || cbor_dec_bytes(&d, &prot, &plen) ||
	    cbor_dec_map(&d, &v) || cbor_dec_bytes(&d, &pl, &plen))
		return -1;
	/* attributes: ... 3 (persistent): true, 4 (generated): bool ... */
	for (i = 0; i + 3 < plen; i++)
		if (pl[i] == AZIHSM_REPORT_A_PERSISTENT && pl[i + 1] == 0xf5 &&
		    pl[i + 2] == AZIHSM_REPORT_A_GENERATED)
			return pl[i + 3] == 0xf5 ? 1 : pl[i + 3] == 0xf4 ? 0 : -1;
	return -1;
}

/* The domain's masking key as the backup service takes it (hsm_svc_backup.c sd_mk). */
static int rt_sd_mk(const struct hsm_sd *sd, struct hsm_masking_key *mk)
{
	uint8_t buf[HSM_SD_MASK_LEN];
	int ret = hsm_sd_masking_key(sd, buf);

	hsm_masking_key_load(mk, buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static void test_rt2_2_forged_domain_blob(void)
{
	struct hsm_fw_config cfg = { .serial = "RT2-2", .fw_rev = "1", .auth = &acfg_fast };
	uint8_t blob[1024], pub[256], want[256];
	char state[300];
	struct hsm_masking_key mk;
	struct test_pki pki;
	struct sd_upload u;
	struct hsm_sd sd;
	EVP_PKEY *mine = ref_keygen("EC", "P-384", 0), *got;
	uint16_t so, su, id, gen;
	struct hsm_fw *fw;
	size_t len, plen;

	if (test_pki_init(&pki, NULL, NULL, &cfg)) {
		tap_ok(0, "RT2-2: a root for the device");
		return;
	}
	snprintf(state, sizeof(state), "%s/state", pki.dir);
	cfg.state_path = state;
	fw = test_pki_fw_new(&pki, &cfg);
	if (!fw) {
		tap_ok(0, "RT2-2: a provisioned device");
		return;
	}
	setup(fw, &so, &su);
	/* The officer's own domain key, uploaded without any owner. */
	sd_choose(&sd, 0xa5);
	tap_eq(sd_seal(fw, so, &sd, &u), 0, "RT2-2: the officer seals a domain key it chose");
	tap_eq(sd_send(fw, so, &u), 0, "RT2-2: SdUpload takes it");
	rt_sd_mk(&sd, &mk);

	/* A key made and known outside the device, claimed "generated". */
	len = rt2_forge(&mk, mine, HSM_ORIGIN_GENERATED, 0, blob, sizeof(blob));
	tap_ok(len > 0, "RT2-2: a blob forged under the domain's masking key");
	tap_eq(sd_restore(fw, so, blob, len, &id), 0,
	       "RT2-2: SdRestoreKey takes the forged blob (it is authentic under the domain)");
	got = key_public(fw, so, id);
	plen = got ? ref_spki(got, pub) : 0;
	tap_ok(plen && plen == ref_spki(mine, want) && !memcmp(pub, want, plen),
	       "RT2-2: the restored key is the one made outside the device");
	EVP_PKEY_free(got);
	tap_eq(rt2_attested_generated(fw, so, id), 0,
	       "RT2-2: its attestation report does not claim it was generated in the device");
	/* A key the device did generate still says so. */
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, true, &gen), 0,
	       "RT2-2: a persistent key generated in the device");
	tap_eq(rt2_attested_generated(fw, so, gen), 1, "RT2-2: its report says generated");

	/* The last serial: the counter would wrap and the state not load. */
	EVP_PKEY_free(mine);
	mine = ref_keygen("EC", "P-384", 0);
	len = rt2_forge(&mk, mine, HSM_ORIGIN_IMPORTED, UINT64_MAX, blob, sizeof(blob));
	tap_eq(sd_restore(fw, so, blob, len, &id), AZIHSM_STATUS_BAD_BLOB,
	       "RT2-2: a blob with serial 2^64-1 is refused");
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, true, &gen), 0,
	       "RT2-2: another persistent key");
	hsm_fw_free(fw);
	fw = hsm_fw_new(&cfg);
	tap_ok(fw && !hsm_fw_in_error_state(fw), "RT2-2: the state file still loads after a restart");
	hsm_fw_free(fw);
	OPENSSL_cleanse(&sd, sizeof(sd));
	OPENSSL_cleanse(&mk, sizeof(mk));
	EVP_PKEY_free(mine);
	test_pki_done(&pki);	/* the directory, the state files with it */
}

/* RT2-3: a tamper event while a session RSA-4096 keygen runs. */
static void *rt2_3_keygen(void *p)
{
	struct rt7_gen *g = p;
	const struct fld f[] = {
		U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_RSA4096),
		U32(AZIHSM_KEY_F_USAGE, HSM_USAGE_SIGN | HSM_USAGE_VERIFY),
		BOOL(AZIHSM_KEY_F_PERSISTENT, false),
	};
	uint8_t req[512];
	struct rsp r;
	size_t len = svc_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, g->sid, f, NF(f));

	g->st = len ? rsp_exec(g->fw, req, len, 0, &r) : -1;
	g->t_end = now_s();
	return NULL;
}

static void test_rt2_3_tamper_in_flight(void)
{
	unsigned int round, overlapped = 0, answered = 0, survived = 0;

	for (round = 0; round < 4 && overlapped < 2; round++) {
		struct hsm_fw *fw = start(&acfg_fast);
		struct rt7_gen g = { .fw = fw };
		uint16_t so, su;
		pthread_t t;
		double t_tamper;

		setup(fw, &so, &su);
		g.sid = su;
		pthread_create(&t, NULL, rt2_3_keygen, &g);
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
		t_tamper = now_s();
		hsm_fw_tamper(fw, 1, 1);
		pthread_join(t, NULL);
		if (t_tamper < g.t_end) {
			overlapped++;
			answered += g.st == 0;
		}
		hsm_fw_restart(fw);
		if (hsm_vault_count_owner(hsm_fw_vault(fw), su))
			survived++;
		hsm_fw_free(fw);
	}
	tap_ok(overlapped > 0, "RT2-3: a tamper event during a session RSA-4096 keygen "
	       "(%u of %u rounds)", overlapped, round);
	tap_eq(answered, 0, "RT2-3: no keygen in flight at the tamper answers SUCCESS after it");
	tap_eq(survived, 0, "RT2-3: no key of a session of before the tamper is in the vault "
	       "after it (and the reset)");
}

/* RT2-4: a key of before the domain, read through a domain the officer chose. */
static void test_rt2_4_key_before_domain(void)
{
	struct hsm_fw *fw = start(&acfg_fast);
	uint8_t blob[2048], pt[2048], der[256], want[256];
	EVP_PKEY *pub, *got = NULL, *own[3];
	uint8_t own_der[3][600];
	struct hsm_masking_key mk;
	struct sd_upload u;
	struct hsm_sd sd;
	uint16_t so, su, pre, post;
	size_t len = 0, dlen = 0, wlen, hdr;
	struct rsp r;
	unsigned int i;
	long st;
	int n1 = 0, n2 = 0;

	setup(fw, &so, &su);
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, true, &pre), 0,
	       "RT2-4: a persistent P-384 key, no domain yet");
	pub = key_public(fw, so, pre);
	wlen = pub ? ref_spki(pub, want) : 0;

	sd_choose(&sd, 0x3c);
	tap_eq(sd_seal(fw, so, &sd, &u), 0, "RT2-4: the officer seals a domain key of its own");
	st = sd_send(fw, so, &u);
	tap_eq(st, AZIHSM_STATUS_NOT_EMPTY,
	       "RT2-4: no domain is installed on a partition that holds persistent keys");
	if (!st) {
		const struct fld f[] = { U16(AZIHSM_SD_F_KEY_ID, pre) };

		/* The attack as it went: back up, decrypt with the chosen key. */
		if (!call(fw, AZIHSM_OP_SD_BACKUP_KEY, so, f, NF(f), &r))
			len = rsp_copy(&r, AZIHSM_SD_F_BLOB, blob, sizeof(blob));
		rt_sd_mk(&sd, &mk);
		hdr = len > 24 ? 24u + blob[23] : 0;
		if (len > hdr + 16 + 48) {
			EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

			if (EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, mk.enc, blob + hdr) == 1 &&
			    EVP_DecryptUpdate(c, pt, &n1, blob + hdr + 16,
					      (int)(len - hdr - 16 - 48)) == 1 &&
			    EVP_DecryptFinal_ex(c, pt + n1, &n2) == 1) {
				const unsigned char *p = pt;

				got = d2i_AutoPrivateKey(NULL, &p, n1 + n2);
			}
			EVP_CIPHER_CTX_free(c);
		}
		dlen = got ? ref_spki(got, der) : 0;
		OPENSSL_cleanse(&mk, sizeof(mk));
		OPENSSL_cleanse(pt, sizeof(pt));
	}
	tap_ok(!(dlen && dlen == wlen && !memcmp(der, want, dlen)),
	       "RT2-4: the officer does not hold the private key of a key made before the domain");
	EVP_PKEY_free(got);
	EVP_PKEY_free(pub);

	/* SdActivate likewise; after the key is deleted both work. */
	for (i = 0; i < 3; i++) {
		own[i] = ref_keygen("RSA", NULL, 2048);
		ref_spki(own[i], own_der[i]);
	}
	{
		const struct fld f[] = {
			U8(AZIHSM_SD_F_QUORUM, 2),
			BYTES(AZIHSM_SD_F_OWNER_FIRST, own_der[0], ref_spki(own[0], own_der[0])),
			BYTES(AZIHSM_SD_F_OWNER_FIRST + 1, own_der[1], ref_spki(own[1], own_der[1])),
			BYTES(AZIHSM_SD_F_OWNER_FIRST + 2, own_der[2], ref_spki(own[2], own_der[2])),
		};

		tap_eq(call(fw, AZIHSM_OP_SD_ACTIVATE, so, f, NF(f), &tr), AZIHSM_STATUS_NOT_EMPTY,
		       "RT2-4: SdActivate on a partition with persistent keys is NOT_EMPTY");
		tap_eq(call_id(fw, AZIHSM_OP_DELETE_KEY, so, pre, &tr), 0,
		       "RT2-4: the officer deletes the key");
		tap_eq(call(fw, AZIHSM_OP_SD_ACTIVATE, so, f, NF(f), &tr), 0,
		       "RT2-4: then SdActivate makes the domain");
	}
	tap_eq(keygen(fw, so, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, true, &post), 0,
	       "RT2-4: a persistent key made under the domain");
	{
		const struct fld f[] = { U16(AZIHSM_SD_F_KEY_ID, post) };

		tap_eq(call(fw, AZIHSM_OP_SD_BACKUP_KEY, so, f, NF(f), &tr), 0,
		       "RT2-4: is backed up under it");
	}
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(own[i]);
	OPENSSL_cleanse(&sd, sizeof(sd));
	hsm_fw_free(fw);
}

/* RT2-5: RsaSign (RSA-4096) in a loop while a tamper event hits. */
struct rt2_5_signer {
	struct hsm_fw *fw;
	uint16_t sid, key;
	volatile int stop;
	unsigned int n;
	double t0[4096], t1[4096];
	long st[4096];
};

static void *rt2_5_sign(void *p)
{
	struct rt2_5_signer *g = p;
	static const uint8_t dg[32] = { 1, 2, 3 };
	const struct fld f[] = {
		U16(AZIHSM_OPS_F_KEY_ID, g->key), U8(AZIHSM_OPS_F_HASH, AZIHSM_HASH_SHA256),
		U8(AZIHSM_RSASIGN_F_PAD, AZIHSM_RSA_PAD_PKCS1),
		BYTES(AZIHSM_RSASIGN_F_DIGEST, dg, sizeof(dg)),
	};
	uint8_t req[512];
	struct rsp r;
	size_t len = svc_build(req, sizeof(req), AZIHSM_OP_RSA_SIGN, g->sid, f, NF(f));

	while (!g->stop && g->n < 4096) {
		g->t0[g->n] = now_s();
		g->st[g->n] = rsp_exec(g->fw, req, len, 0, &r);
		g->t1[g->n] = now_s();
		g->n++;
	}
	return NULL;
}

static void test_rt2_5_result_after_tamper(void)
{
	static struct rt2_5_signer g;
	unsigned int round, i, inflight = 0, answered = 0, before = 0;

	for (round = 0; round < 10 && inflight < 2; round++) {
		struct hsm_fw *fw = start(&acfg_fast);
		uint16_t so, su;
		pthread_t t;
		double ta;

		setup(fw, &so, &su);
		memset(&g, 0, sizeof(g));
		g.fw = fw;
		g.sid = su;
		if (keygen(fw, su, AZIHSM_KEY_RSA4096, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, false,
			   &g.key)) {
			tap_ok(0, "RT2-5: an RSA-4096 session key");
			hsm_fw_free(fw);
			return;
		}
		pthread_create(&t, NULL, rt2_5_sign, &g);
		nanosleep(&(struct timespec){ .tv_nsec = 60 * 1000 * 1000 }, NULL);
		ta = now_s();
		hsm_fw_tamper(fw, 1, 1);
		g.stop = 1;
		pthread_join(t, NULL);
		for (i = 0; i < g.n; i++) {
			before += g.t1[i] < ta && g.st[i] == 0;
			/*
			 * Begun before the tamper, answered well after it began
			 * (2 ms: far more than a command takes from its last
			 * check to its answer, far less than a signature).
			 */
			if (g.t0[i] < ta && g.t1[i] > ta + 0.002) {
				inflight++;
				answered += g.st[i] == 0;
			}
		}
		hsm_fw_free(fw);
	}
	tap_ok(before > 0, "RT2-5: signatures before the tamper succeed (%u)", before);
	tap_ok(inflight > 0, "RT2-5: a signature was in flight across the tamper (%u of %u rounds)",
	       inflight, round);
	tap_eq(answered, 0, "RT2-5: none in flight answers a signature after the tamper");
}

/* RT2-6: mutated copies of valid requests; each must get an answer. */
static uint32_t rt2_rng = 0x2545f491;

static uint32_t rt2_next(void)
{
	rt2_rng ^= rt2_rng << 13;
	rt2_rng ^= rt2_rng >> 17;
	rt2_rng ^= rt2_rng << 5;
	return rt2_rng;
}

/* @n mutations of @req (@len); how many got no parsable answer. */
static unsigned int rt2_mutate(struct hsm_fw *fw, const uint8_t *req, size_t len, unsigned int n)
{
	static uint8_t m[4096];
	unsigned int i, bad = 0, k;
	struct rsp r;

	for (i = 0; i < n; i++) {
		size_t ml = len;

		memcpy(m, req, len);
		switch (rt2_next() % 4) {
		case 0:	/* flip 1..4 bytes */
			for (k = 0; k <= rt2_next() % 4; k++)
				m[rt2_next() % len] ^= (uint8_t)(1u << (rt2_next() % 8));
			break;
		case 1:	/* a random byte */
			m[rt2_next() % len] = (uint8_t)rt2_next();
			break;
		case 2:	/* cut */
			ml = rt2_next() % len;
			break;
		default:	/* extend with garbage */
			ml = len + 1 + rt2_next() % 64;
			for (k = (unsigned int)len; k < ml; k++)
				m[k] = (uint8_t)rt2_next();
		}
		if (rsp_exec(fw, m, ml, 0, &r) < 0)
			bad++;
	}
	return bad;
}

static void test_rt2_6_malformed(void)
{
	struct hsm_fw_config cfg = { .serial = "RT2-6", .fw_rev = "1", .auth = &acfg_fast };
	static uint8_t req[4096], blob[1024], own_der[3][600];
	static const uint8_t nonce[32] = { 9 };
	struct hsm_masking_key mk;
	struct test_pki pki;
	struct sd_upload u;
	struct hsm_sd sd;
	EVP_PKEY *own[3], *k = ref_keygen("EC", "P-384", 0);
	unsigned int bad = 0, i;
	uint16_t so, su, ec;
	struct hsm_fw *fw;
	size_t len, blen, ol[3];

	if (test_pki_init(&pki, NULL, NULL, &cfg) || !(fw = test_pki_fw_new(&pki, &cfg))) {
		tap_ok(0, "RT2-6: a provisioned device");
		return;
	}
	setup(fw, &so, &su);
	sd_choose(&sd, 0x77);
	rt_sd_mk(&sd, &mk);
	for (i = 0; i < 3; i++) {
		own[i] = ref_keygen("RSA", NULL, 2048);
		ol[i] = ref_spki(own[i], own_der[i]);
	}
	{
		const struct fld f[] = {
			U8(AZIHSM_SD_F_QUORUM, 2), BYTES(AZIHSM_SD_F_OWNER_FIRST, own_der[0], ol[0]),
			BYTES(AZIHSM_SD_F_OWNER_FIRST + 1, own_der[1], ol[1]),
			BYTES(AZIHSM_SD_F_OWNER_FIRST + 2, own_der[2], ol[2]),
		};

		len = svc_build(req, sizeof(req), AZIHSM_OP_SD_ACTIVATE, so, f, NF(f));
		bad += rt2_mutate(fw, req, len, 200);
	}
	for (i = 0; i < 100; i++) {
		if (sd_seal(fw, so, &sd, &u))
			break;
		{
			const struct fld f[] = {
				BYTES(AZIHSM_SD_F_HOST_KEY, u.host, u.hlen),
				BYTES(AZIHSM_SD_F_NONCE, u.nonce, sizeof(u.nonce)),
				BYTES(AZIHSM_SD_F_CT, u.ct, sizeof(u.ct)),
				BYTES(AZIHSM_SD_F_TAG, u.tag, sizeof(u.tag)),
			};

			len = svc_build(req, sizeof(req), AZIHSM_OP_SD_UPLOAD, so, f, NF(f));
			bad += rt2_mutate(fw, req, len, 2);
		}
	}
	blen = rt2_forge(&mk, k, HSM_ORIGIN_IMPORTED, 0, blob, sizeof(blob));
	{
		const struct fld f[] = { BYTES(AZIHSM_SD_F_BLOB, blob, blen) };

		len = svc_build(req, sizeof(req), AZIHSM_OP_SD_RESTORE_KEY, so, f, NF(f));
		bad += rt2_mutate(fw, req, len, 300);
	}
	if (keygen(fw, su, AZIHSM_KEY_EC_P384, AZIHSM_USAGE_SIGN, false, &ec) == 0) {
		const struct fld f[] = {
			U16(AZIHSM_ATTEST_F_KEY_ID, ec),
			BYTES(AZIHSM_ATTEST_F_REPORT_DATA, nonce, sizeof(nonce)),
		};

		len = svc_build(req, sizeof(req), AZIHSM_OP_ATTEST_KEY, su, f, NF(f));
		bad += rt2_mutate(fw, req, len, 300);
	} else {
		bad++;
	}
	{
		const struct fld f[] = { U32(AZIHSM_CERT_F_INDEX, 2) };

		len = svc_build(req, sizeof(req), AZIHSM_OP_GET_CERTIFICATE, NOSESS, f, NF(f));
		bad += rt2_mutate(fw, req, len, 300);
	}
	tap_eq(bad, 0, "RT2-6: every malformed SD / attest / certificate request is answered");
	tap_eq(call(fw, AZIHSM_OP_GET_DEVICE_INFO, NOSESS, NULL, 0, &tr), 0,
	       "RT2-6: the device still answers");
	tap_ok(!hsm_fw_in_error_state(fw), "RT2-6: and is not in the error state");
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(own[i]);
	EVP_PKEY_free(k);
	OPENSSL_cleanse(&sd, sizeof(sd));
	OPENSSL_cleanse(&mk, sizeof(mk));
	hsm_fw_free(fw);
	test_pki_done(&pki);
}

/* RT3-1: a session opened by a request answered with a failure stays open. */
static void test_rt3_1_unannounced_session(void)
{
	struct hsm_fw *fw = start(&acfg_fast);
	unsigned int i, malformed = 0;
	uint16_t so, su, sid;
	struct rsp r;
	struct rq q;
	long st;

	setup(fw, &so, &su);
	rq_begin(&q, AZIHSM_OP_CLOSE_SESSION, su);
	mbor_enc_map(&q.e, 0);
	tap_eq(rq_send(fw, &q, &r), 0, "RT3-1: the user's session closed");
	for (i = 0; i < HSM_AUTH_MAX_SESSIONS; i++)
		malformed += svc_send_sealed_x(fw, AZIHSM_OP_OPEN_SESSION, NOSESS,
					       HSM_AUTH_MSG_OPEN, HSM_ROLE_USER, USR_ID, USR_PIN1,
					       NULL, true, &r) == AZIHSM_STATUS_MALFORMED;
	tap_eq(malformed, HSM_AUTH_MAX_SESSIONS,
	       "RT3-1: %u user logins with a trailing byte: MALFORMED", HSM_AUTH_MAX_SESSIONS);
	st = login(fw, HSM_ROLE_USER, USR_PIN1, &sid);
	tap_eq(st, 0, "RT3-1: the user still logs in (no session left open by them)");
	rq_begin(&q, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS);
	mbor_enc_map(&q.e, 0);
	mbor_enc_u8(&q.e, 0);
	tap_eq(rq_send(fw, &q, &r), AZIHSM_STATUS_MALFORMED,
	       "RT3-1: OpenKernelSession with a trailing byte: MALFORMED");
	rq_begin(&q, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS);
	mbor_enc_map(&q.e, 0);
	tap_eq(rq_send(fw, &q, &r), 0, "RT3-1: the kernel session still opens");
	hsm_fw_free(fw);
}

int main(void)
{
	test_rt1_ecdh_kbkdf_read();
	test_rt2_kbkdf_chain_read();
	test_rt4_session_slots();
	test_rt5_officer_pin_lock();
	test_rt6_unwrap_again();
	test_rt7_keygen_races_zeroize();
	test_rt2_1_upload_across_zeroize();
	test_rt2_2_forged_domain_blob();
	test_rt2_3_tamper_in_flight();
	test_rt2_4_key_before_domain();
	test_rt2_5_result_after_tamper();
	test_rt2_6_malformed();
	test_rt3_1_unannounced_session();
	return tap_done();
}
