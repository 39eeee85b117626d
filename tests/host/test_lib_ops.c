// SPDX-License-Identifier: MIT
/*
 * libazihsm's vault operations (lib/ops.c) through the library's internal
 * transport into the firmware core: the generic request builder against
 * hand-checked bytes, then RSA sign / verify / OAEP decrypt, ECDH + HMAC +
 * HKDF + KBKDF, the unwrapping key + unwrap, AES modes, masked export and
 * unmask, every result checked with
 * OpenSSL (ossl_ref.c), the FIPS flag reported, and the argument checks
 * that send nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <linux/azihsm.h>

#include "azihsm/azihsm.h"
#include "drv_app_id.h"
#include "hsm_fw.h"
#include "internal.h"
#include "ossl_ref.h"
#include "proto.h"
#include "tap.h"
#include "test_pki.h"

struct fw_link {
	struct hsm_fw *fw;
	unsigned int calls;
};

static int fw_xfer(void *ctx, struct lib_xfer *x)
{
	struct fw_link *l = ctx;
	struct hsm_fw_cmd cmd = {
		.in = x->req, .in_len = x->req_len, .out = x->rsp, .out_cap = x->rsp_cap,
		.session_flags = x->session_flags, .session_id = x->session_id,
	};
	uint16_t sc;

	l->calls++;
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

static void test_builder(void)
{
	/* HkdfDerive, session 2: { 1: 0x0102, 5: 0x30, 6: 1, 8: true }, field 3 skipped */
	static const uint8_t want[] = {
		0xa2, 0x18, 0x00, 0xa2, 0x18, 0x02, 0x1a, 0x00, 0x00, 0x04, 0x33,
		0x18, 0x03, 0x19, 0x00, 0x02, 0x18, 0x01, 0xa4,
		0x18, 0x01, 0x19, 0x01, 0x02, 0x18, 0x05, 0x18, 0x30,
		0x18, 0x06, 0x1a, 0x00, 0x00, 0x00, 0x01, 0x18, 0x08, 0x15,
	};
	const struct proto_field f[] = {
		{ .id = 1, .type = PROTO_U16, .val = 0x0102 },
		{ .id = 3, .type = PROTO_BYTES, .p = "x", .len = 1, .skip = true },
		{ .id = 5, .type = PROTO_U8, .val = 0x30 },
		{ .id = 6, .type = PROTO_U32, .val = 1 },
		{ .id = 8, .type = PROTO_BOOL, .val = 1 },
	};
	const struct proto_field bad[] = {
		{ .id = 2, .type = PROTO_U8, .val = 1 },
		{ .id = 1, .type = PROTO_U8, .val = 1 },
	};
	uint8_t buf[128];
	size_t len;

	len = proto_req_fields(buf, sizeof(buf), AZIHSM_OP_HKDF_DERIVE, 2, f, 5);
	tap_ok(len == sizeof(want) && !memcmp(buf, want, len),
	       "proto_req_fields: the hand-checked bytes, skipped field left out");
	tap_eq(proto_req_fields(buf, sizeof(buf), 1, 2, bad, 2), 0,
	       "proto_req_fields: ids out of order refused");
	tap_eq(proto_req_fields(buf, 20, AZIHSM_OP_HKDF_DERIVE, 2, f, 5), 0,
	       "proto_req_fields: too small a buffer: 0");
}

static void test_flow(struct fw_link *l, struct azihsm_dev *dev)
{
	const char *msg = "library ops";
	struct azihsm_session *o = NULL, *u = NULL;
	uint8_t der[1024], sig[512], dg[64], pt[512], ct[512], z[132], k[64], mac[64], want[64];
	uint8_t blob[1024], secret[32];
	size_t der_len = 0, sl = 0, n, zl, ml = 0, wl, bl;
	uint16_t rsa = 0, rsad = 0, ec = 0, e = 0, ed = 0, h = 0, kb = 0, uk = 0, w = 0, tmp;
	EVP_PKEY *pk = NULL, *peer = ref_keygen("EC", "P-256", 0), *upub = NULL;
	struct azihsm_new_key nk = { 0 };
	unsigned int calls;
	bool fips = false, valid = false;

	if (!tap_eq(azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "CO-default-PIN-1", &o), 0,
		    "officer login") ||
	    !tap_eq(azihsm_change_pin(o, "CO-default-PIN-1", "officer-pin-01"), 0,
		    "officer PIN changed") ||
	    !tap_eq(azihsm_login(dev, AZIHSM_ROLE_USER, NULL, "CU-default-PIN-1", &u), 0,
		    "user login") ||
	    !tap_eq(azihsm_change_pin(u, "CU-default-PIN-1", "user-pin-00001"), 0,
		    "user PIN changed"))
		goto out;

	/* RSA */
	tap_eq(azihsm_key_generate(o, AZIHSM_KEY_TYPE_RSA2048,
				   AZIHSM_KEY_USE_SIGN | AZIHSM_KEY_USE_VERIFY, "rsa", 3, true, &rsa),
	       0, "officer: persistent RSA-2048 (sign, verify)");
	tap_eq(azihsm_key_generate(o, AZIHSM_KEY_TYPE_RSA2048, AZIHSM_KEY_USE_DECRYPT, "rsad", 4,
				   true, &rsad), 0, "officer: persistent RSA-2048 (decrypt)");
	tap_eq(azihsm_key_public(u, rsa, der, sizeof(der), &der_len), 0, "its public key");
	pk = ref_d2i_pub(der, der_len);
	n = ref_digest(AZIHSM_HASH_SHA384, msg, dg);
	tap_eq(azihsm_rsa_sign(u, rsa, AZIHSM_HASH_ALG_SHA384, AZIHSM_RSA_PADDING_PSS, dg, n, sig,
			       sizeof(sig), &sl, &fips), 0, "azihsm_rsa_sign PSS SHA-384 (user)");
	tap_ok(sl == 256 && fips, "  256 bytes, FIPS-approved");
	tap_ok(pk && ref_verify(pk, AZIHSM_HASH_SHA384, AZIHSM_RSA_PAD_PSS, dg, n, sig, sl),
	       "  OpenSSL verifies it");
	tap_eq(azihsm_verify(u, rsa, AZIHSM_HASH_ALG_SHA384, AZIHSM_RSA_PADDING_PSS, dg, n, sig, sl,
			     &valid, &fips), 0, "azihsm_verify");
	tap_ok(valid && fips, "  valid, FIPS-approved");
	sig[0] ^= 1;
	tap_eq(azihsm_verify(u, rsa, AZIHSM_HASH_ALG_SHA384, AZIHSM_RSA_PADDING_PSS, dg, n, sig, sl,
			     &valid, NULL), 0, "azihsm_verify of a damaged signature");
	tap_ok(!valid, "  not valid");
	tap_eq(azihsm_rsa_sign(u, rsa, AZIHSM_HASH_ALG_SHA256, AZIHSM_RSA_PADDING_PKCS1, dg, 32,
			       sig, 100, &sl, NULL), -ENOSPC, "azihsm_rsa_sign into 100 bytes: -ENOSPC");
	EVP_PKEY_free(pk);
	azihsm_key_public(u, rsad, der, sizeof(der), &der_len);
	pk = ref_d2i_pub(der, der_len);
	n = ref_oaep_encrypt(pk, AZIHSM_HASH_SHA256, "L", (const uint8_t *)msg, strlen(msg), ct);
	tap_eq(azihsm_rsa_decrypt(u, rsad, AZIHSM_HASH_ALG_SHA256, "L", 1, ct, n, pt, sizeof(pt),
				  &sl, &fips), 0, "azihsm_rsa_decrypt of OpenSSL's OAEP");
	tap_ok(sl == strlen(msg) && !memcmp(pt, msg, sl) && fips, "  the plaintext, FIPS-approved");
	tap_eq(azihsm_rsa_decrypt(u, rsad, AZIHSM_HASH_ALG_SHA256, NULL, 0, ct, n, pt, sizeof(pt),
				  &sl, &fips), -EIO, "  without the label: -EIO");
	tap_ok(hsm_status() == AZIHSM_STATUS_DECRYPT_FAILED && !fips, "  DECRYPT_FAILED, no FIPS flag");

	/* ECDH, HMAC, HKDF, KBKDF */
	tap_eq(azihsm_key_generate(u, AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_USE_DERIVE, NULL, 0, false,
				   &ec), 0, "user: session P-384 key (derive)");
	tap_eq(azihsm_key_public(u, ec, der, sizeof(der), &der_len), 0, "  its public key");
	EVP_PKEY_free(pk);
	pk = ref_d2i_pub(der, der_len);
	EVP_PKEY_free(peer);
	peer = ref_keygen("EC", "P-384", 0);
	zl = ref_ecdh(peer, pk, z);
	n = ref_spki(peer, der);
	nk = (struct azihsm_new_key){ AZIHSM_KEY_TYPE_HMAC_SHA384, AZIHSM_KEY_USE_DERIVE, "zd", 2,
				      false };
	tap_eq(azihsm_ecdh(u, ec, der, n, &nk, &ed, &fips), 0,
	       "azihsm_ecdh -> HMAC-SHA384 key (derive)");
	nk = (struct azihsm_new_key){ AZIHSM_KEY_TYPE_HMAC_SHA384, AZIHSM_KEY_USE_SIGN, "z", 1,
				      false };
	tap_eq(azihsm_ecdh(u, ec, der, n, &nk, &e, &fips), 0,
	       "azihsm_ecdh -> HMAC-SHA384 key (sign)");
	tap_ok(e && fips, "  a key id, FIPS-approved");
	tap_eq(azihsm_hmac(u, e, msg, strlen(msg), mac, sizeof(mac), &ml, &fips), 0, "azihsm_hmac");
	wl = ref_hmac(AZIHSM_HASH_SHA384, z, zl, msg, want);
	tap_ok(zl == 48 && ml == wl && !memcmp(mac, want, ml) && fips,
	       "  = OpenSSL's HMAC keyed with OpenSSL's ECDH secret");
	nk = (struct azihsm_new_key){ AZIHSM_KEY_TYPE_HMAC_SHA256, AZIHSM_KEY_USE_SIGN, NULL, 0,
				      false };
	tap_eq(azihsm_hkdf(u, ed, AZIHSM_HASH_ALG_SHA512, "s", 1, "i", 1, &nk, 0, &h, &fips), 0,
	       "azihsm_hkdf SHA-512 -> HMAC-SHA256 key");
	azihsm_hmac(u, h, msg, strlen(msg), mac, sizeof(mac), &ml, NULL);
	ref_kdf(false, AZIHSM_HASH_SHA512, z, zl, "s", "i", k, 32);
	wl = ref_hmac(AZIHSM_HASH_SHA256, k, 32, msg, want);
	tap_ok(ml == wl && !memcmp(mac, want, ml) && fips, "  its HMAC matches OpenSSL's HKDF");
	tap_eq(azihsm_kbkdf(u, ed, AZIHSM_HASH_ALG_SHA256, "lab", 3, NULL, 0, &nk, 24, &kb, NULL), 0,
	       "azihsm_kbkdf SHA-256 -> 24-byte HMAC-SHA256 key");
	azihsm_hmac(u, kb, msg, strlen(msg), mac, sizeof(mac), &ml, NULL);
	ref_kdf(true, AZIHSM_HASH_SHA256, z, zl, "lab", NULL, k, 24);
	wl = ref_hmac(AZIHSM_HASH_SHA256, k, 24, msg, want);
	tap_ok(ml == wl && !memcmp(mac, want, ml), "  its HMAC matches OpenSSL's KBKDF");
	nk.persistent = true;
	tap_eq(azihsm_hkdf(u, ed, AZIHSM_HASH_ALG_SHA256, NULL, 0, NULL, 0, &nk, 0, &tmp, NULL), -EIO,
	       "user: a persistent derived key: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_WRONG_ROLE, "  WRONG_ROLE");

	/* the unwrapping key and unwrap */
	tap_eq(azihsm_unwrapping_key(u, &uk, der, sizeof(der), &der_len), -EIO,
	       "azihsm_unwrapping_key (user) before the officer's: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_KEY_NOT_FOUND, "  KEY_NOT_FOUND (issue 9: INFO makes no key)");
	tap_eq(azihsm_unwrapping_key(o, &uk, der, sizeof(der), &der_len), 0,
	       "azihsm_unwrapping_key (officer: made)");
	tap_eq(azihsm_unwrapping_key(u, &uk, der, sizeof(der), &der_len), 0,
	       "azihsm_unwrapping_key (user)");
	upub = ref_d2i_pub(der, der_len);
	tap_ok(uk && upub && EVP_PKEY_get_bits(upub) == 2048, "  an RSA-2048 key id and SPKI");
	RAND_bytes(secret, sizeof(secret));
	bl = ref_wrap(upub, AZIHSM_HASH_SHA256, NULL, secret, sizeof(secret), blob);
	nk = (struct azihsm_new_key){ AZIHSM_KEY_TYPE_HMAC_SHA256, AZIHSM_KEY_USE_SIGN, "w", 1,
				      true };
	tap_eq(azihsm_rsa_unwrap(o, uk, AZIHSM_HASH_ALG_SHA256, NULL, 0, blob, bl, &nk, &w, &fips),
	       0, "officer: azihsm_rsa_unwrap into a persistent HMAC key");
	tap_ok(fips, "  FIPS-approved");
	azihsm_hmac(u, w, msg, strlen(msg), mac, sizeof(mac), &ml, NULL);
	wl = ref_hmac(AZIHSM_HASH_SHA256, secret, sizeof(secret), msg, want);
	tap_ok(ml == wl && !memcmp(mac, want, ml), "  the user's HMAC with it = OpenSSL's");
	blob[bl - 1] ^= 1;
	nk.label = "w2";
	nk.label_len = 2;
	tap_eq(azihsm_rsa_unwrap(o, uk, AZIHSM_HASH_ALG_SHA256, NULL, 0, blob, bl, &nk, &w, NULL),
	       -EIO, "a damaged blob: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_DECRYPT_FAILED, "  DECRYPT_FAILED");

	/* AES (1072), masked export (4014) and unmask (1107) */
	{
		uint8_t akey[32], iv[16] = { 1, 2, 3 }, data[48], c1[48], c2[48], ref[64], tag[16];
		uint8_t mblob[512], iv_next[16], gcm_iv[12], gref[64];
		struct azihsm_aes_params ap = { .mode = AZIHSM_AES_MODE_CBC, .iv = iv, .iv_len = 16,
						.iv_out = iv_next };
		EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
		uint16_t ak = 0, ak2 = 0;
		size_t got = 0, mlen = 0;
		int a = 0, b = 0;

		RAND_bytes(akey, sizeof(akey));
		RAND_bytes(data, sizeof(data));
		bl = ref_wrap(upub, AZIHSM_HASH_SHA256, NULL, akey, sizeof(akey), blob);
		nk = (struct azihsm_new_key){ AZIHSM_KEY_TYPE_AES256,
					      AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, NULL,
					      0, false };
		tap_eq(azihsm_rsa_unwrap(u, uk, AZIHSM_HASH_ALG_SHA256, NULL, 0, blob, bl, &nk, &ak,
					 NULL), -EIO,
		       "issue 9 RT-6: the user may not unwrap with the persistent unwrapping key");
		tap_eq(hsm_status(), AZIHSM_STATUS_WRONG_ROLE, "  WRONG_ROLE");
		tap_eq(azihsm_rsa_unwrap(o, uk, AZIHSM_HASH_ALG_SHA256, NULL, 0, blob, bl, &nk, &ak,
					 NULL), 0, "officer: unwrap a known AES-256 key (session, no label)");
		tap_eq(azihsm_aes_crypt(o, ak, &ap, data, 32, c1, sizeof(c1), &got, &fips), 0,
		       "azihsm_aes_crypt CBC, 32 bytes");
		ap.iv = iv_next;
		tap_eq(azihsm_aes_crypt(o, ak, &ap, data + 32, 16, c1 + 32, 16, &got, NULL), 0,
		       "  chained with iv_out, 16 more");
		EVP_EncryptInit_ex(cc, EVP_aes_256_cbc(), NULL, akey, iv);
		EVP_CIPHER_CTX_set_padding(cc, 0);
		EVP_EncryptUpdate(cc, ref, &a, data, 48);
		EVP_EncryptFinal_ex(cc, ref + a, &b);
		tap_ok(a + b == 48 && !memcmp(c1, ref, 48) && fips,
		       "  = OpenSSL's AES-256-CBC of the 48 bytes, FIPS-approved");
		ap = (struct azihsm_aes_params){ .mode = AZIHSM_AES_MODE_GCM, .iv = iv, .iv_len = 12,
						 .aad = (const uint8_t *)"aad", .aad_len = 3,
						 .tag = tag, .tag_len = 16, .iv_out = gcm_iv };
		tap_eq(azihsm_aes_crypt(o, ak, &ap, data, 48, c2, sizeof(c2), &got, NULL), -EINVAL,
		       "issue 9: azihsm_aes_crypt GCM encrypt with the caller's IV: -EINVAL");
		ap.iv = NULL;
		ap.iv_len = 0;
		tap_eq(azihsm_aes_crypt(o, ak, &ap, data, 48, c2, sizeof(c2), &got, &fips), 0,
		       "azihsm_aes_crypt GCM encrypt");
		EVP_EncryptInit_ex(cc, EVP_aes_256_gcm(), NULL, akey, gcm_iv);
		EVP_EncryptUpdate(cc, NULL, &a, (const uint8_t *)"aad", 3);
		EVP_EncryptUpdate(cc, gref, &a, data, 48);
		EVP_EncryptFinal_ex(cc, gref + a, &b);
		EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, 16, gref + 48);
		tap_ok(fips && !memcmp(c2, gref, 48) && !memcmp(tag, gref + 48, 16),
		       "  = OpenSSL's AES-256-GCM under the device's IV (iv_out), FIPS-approved");
		ap.iv = gcm_iv;
		ap.iv_len = 12;
		ap.iv_out = NULL;
		ap.decrypt = true;
		tap_ok(!azihsm_aes_crypt(o, ak, &ap, c2, 48, c1, sizeof(c1), &got, NULL) &&
		       !memcmp(c1, data, 48), "  GCM decrypt: the plaintext");
		tag[0] ^= 1;
		tap_eq(azihsm_aes_crypt(o, ak, &ap, c2, 48, c1, sizeof(c1), &got, NULL), -EIO,
		       "  a damaged tag: -EIO");
		tap_eq(hsm_status(), AZIHSM_STATUS_BAD_TAG, "  BAD_TAG");
		tap_eq(azihsm_key_export_masked(o, ak, mblob, sizeof(mblob), &mlen), 0,
		       "azihsm_key_export_masked of the session key");
		tap_eq(azihsm_key_unmask(o, mblob, mlen, &ak2), 0, "azihsm_key_unmask");
		ap = (struct azihsm_aes_params){ .mode = AZIHSM_AES_MODE_CBC, .iv = iv, .iv_len = 16 };
		tap_ok(ak2 && ak2 != ak &&
		       !azihsm_aes_crypt(o, ak2, &ap, data, 48, c1, sizeof(c1), &got, NULL) &&
		       !memcmp(c1, ref, 48), "  the unmasked key encrypts as the original");
		mblob[mlen / 2] ^= 0x10;
		tap_eq(azihsm_key_unmask(o, mblob, mlen, &ak2), -EIO, "a damaged blob: -EIO");
		tap_eq(hsm_status(), AZIHSM_STATUS_BAD_BLOB, "  BAD_BLOB");
		EVP_CIPHER_CTX_free(cc);
	}

	/* arguments refused before anything is sent */
	calls = l->calls;
	tap_eq(azihsm_rsa_sign(u, rsa, AZIHSM_HASH_ALG_SHA256, AZIHSM_RSA_PADDING_PSS, dg, 31, sig,
			       sizeof(sig), &sl, NULL), -EINVAL, "rsa_sign: 31-byte SHA-256 digest");
	tap_eq(azihsm_rsa_sign(u, rsa, AZIHSM_HASH_ALG_SHA256, 3, dg, 32, sig, sizeof(sig), &sl,
			       NULL), -EINVAL, "rsa_sign: padding 3");
	tap_eq(azihsm_verify(u, rsa, 4, 0, dg, 32, sig, 1, &valid, NULL), -EINVAL, "verify: hash 4");
	tap_eq(azihsm_hmac(u, e, NULL, 3, mac, sizeof(mac), &ml, NULL), -EINVAL, "hmac: NULL data");
	nk.label_len = AZIHSM_LABEL_MAX + 1;
	tap_eq(azihsm_ecdh(u, ec, der, n, &nk, &tmp, NULL), -EINVAL, "ecdh: a 129-byte label");
	tap_eq(azihsm_hkdf(u, e, AZIHSM_HASH_ALG_SHA256, NULL, 0, NULL, 0, NULL, 0, &tmp, NULL),
	       -EINVAL, "hkdf: no new key");
	tap_eq(azihsm_rsa_unwrap(o, uk, AZIHSM_HASH_ALG_SHA256, NULL, 0, blob, 0, &nk, &tmp, NULL),
	       -EINVAL, "rsa_unwrap: empty blob");
	tap_eq(l->calls, calls, "none of them sent anything");
out:
	azihsm_logout(u);
	azihsm_logout(o);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(upub);
}


/*
 * Zeroize and backup through the library (volatile firmware): the session
 * handle after azihsm_zeroize, the BK3 calls, the unmask rules of issue 9
 * (KEY_EXISTS, KEY_DELETED, WRONG_ROLE; nothing of before a zeroize opens),
 * and that no command is sent for a session the device closed.
 */
static void test_backup(struct fw_link *l, struct azihsm_dev *dev)
{
	struct azihsm_session *o = NULL, *u = NULL;
	uint8_t sealed[512], blob[1024], small[16], ct[16], pt[16], out[16];
	static const uint8_t iv[16];
	struct azihsm_aes_params p = { .mode = AZIHSM_AES_MODE_CBC, .iv = iv, .iv_len = 16 };
	struct azihsm_key_info keys[4];
	size_t sl = 0, bl = 0, n = 0, len = 0;
	uint16_t k = 0, k2 = 0;
	unsigned int calls;

	memset(pt, 0x42, sizeof(pt));
	if (!tap_eq(azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "officer-pin-01", &o), 0,
		    "backup: officer login") ||
	    !tap_eq(azihsm_login(dev, AZIHSM_ROLE_USER, NULL, "user-pin-00001", &u), 0,
		    "backup: user login"))
		goto out;
	tap_eq(azihsm_bk3_init(u), -EIO, "backup: azihsm_bk3_init as the user: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_WRONG_ROLE, "  WRONG_ROLE");
	tap_eq(azihsm_zeroize(u), -EIO, "backup: azihsm_zeroize as the user: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_WRONG_ROLE, "  WRONG_ROLE");
	tap_eq(azihsm_bk3_get_sealed(o, sealed, sizeof(sealed), &sl), -EIO,
	       "backup: azihsm_bk3_get_sealed before init: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_NO_BK3, "  NO_BK3");
	tap_eq(azihsm_bk3_init(o), 0, "backup: azihsm_bk3_init");
	tap_eq(azihsm_bk3_init(o), -EIO, "backup: again: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_BK3_EXISTS, "  BK3_EXISTS");
	tap_eq(azihsm_bk3_get_sealed(o, small, sizeof(small), &sl), -ENOSPC,
	       "backup: azihsm_bk3_get_sealed into 16 bytes: -ENOSPC");
	tap_eq(azihsm_bk3_get_sealed(o, sealed, sizeof(sealed), &sl), 0,
	       "backup: azihsm_bk3_get_sealed");
	tap_eq(sl, 175, "  175 bytes");
	tap_eq(azihsm_key_generate(o, AZIHSM_KEY_TYPE_AES256,
				   AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, "bk", 2, true, &k),
	       0, "backup: a persistent AES key");
	tap_eq(azihsm_aes_crypt(u, k, &p, pt, sizeof(pt), ct, sizeof(ct), &len, NULL), 0,
	       "  it encrypts");
	tap_eq(azihsm_key_export_masked(o, k, blob, sizeof(blob), &bl), 0, "  masked export");
	tap_eq(azihsm_bk3_set_sealed(o, sealed, sl), 0,
	       "backup: azihsm_bk3_set_sealed in the same epoch over a persistent key: 0");
	tap_eq(azihsm_bk3_set_sealed(o, sealed, 0), -EINVAL, "backup: an empty blob: -EINVAL");
	tap_eq(azihsm_key_unmask_persistent(o, blob, bl, &k2), -EIO,
	       "backup: azihsm_key_unmask_persistent of the live key: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_KEY_EXISTS, "  KEY_EXISTS");
	tap_eq(azihsm_key_unmask(u, blob, bl, &k2), -EIO,
	       "issue 9: azihsm_key_unmask of a persistent key's blob as the user: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_WRONG_ROLE, "  WRONG_ROLE");
	tap_eq(azihsm_key_unmask(o, blob, bl, &k2), 0, "backup: the officer's session copy");
	p.decrypt = true;
	tap_ok(!azihsm_aes_crypt(o, k2, &p, ct, sizeof(ct), out, sizeof(out), &len, NULL) &&
	       !memcmp(out, pt, sizeof(pt)), "  it decrypts the ciphertext");
	tap_eq(azihsm_key_delete(o, k), 0, "backup: the officer deletes the key");
	tap_eq(azihsm_aes_crypt(o, k2, &p, ct, sizeof(ct), out, sizeof(out), &len, NULL), -EIO,
	       "issue 9: the copy went with it");
	tap_eq(azihsm_key_unmask_persistent(o, blob, bl, &k2), -EIO,
	       "issue 9: azihsm_key_unmask_persistent of the deleted key: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_KEY_DELETED, "  KEY_DELETED");
	tap_eq(azihsm_key_generate(o, AZIHSM_KEY_TYPE_AES256,
				   AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, "bk2", 3, true, &k),
	       0, "backup: another persistent AES key");
	tap_eq(azihsm_key_export_masked(o, k, blob, sizeof(blob), &bl), 0, "  masked export");

	tap_eq(azihsm_zeroize(o), 0, "backup: azihsm_zeroize");
	calls = l->calls;
	tap_eq(azihsm_logout(o), 0, "  then azihsm_logout of the dead handle: 0");
	o = NULL;
	tap_eq(l->calls, calls, "  without sending anything");
	tap_eq(azihsm_key_list(u, keys, 4, &n), -EIO, "backup: the user's session is gone too");
	tap_eq(hsm_status(), AZIHSM_STATUS_NO_SESSION, "  NO_SESSION");
	azihsm_logout(u);
	u = NULL;
	if (!tap_eq(azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "CO-default-PIN-1", &o), 0,
		    "backup: the default officer PIN again") ||
	    !tap_ok(azihsm_session_must_change_pin(o), "  must change") ||
	    !tap_eq(azihsm_change_pin(o, "CO-default-PIN-1", "officer-pin-02"), 0,
		    "  changed"))
		goto out;
	tap_eq(azihsm_key_unmask_persistent(o, blob, bl, &k2), -EIO,
	       "issue 9: the blob of before the zeroize: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_BAD_BLOB, "  BAD_BLOB");
	sealed[100] ^= 4;
	tap_eq(azihsm_bk3_set_sealed(o, sealed, sl), -EIO, "backup: a flipped sealed BK3: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_BAD_BLOB, "  BAD_BLOB");
	sealed[100] ^= 4;
	tap_eq(azihsm_bk3_set_sealed(o, sealed, sl), -EIO,
	       "issue 9: the sealed BK3 of before the zeroize: -EIO");
	tap_eq(hsm_status(), AZIHSM_STATUS_BAD_BLOB, "  BAD_BLOB (zeroize is final)");
	tap_ok(!azihsm_key_list(o, keys, 4, &n) && n == 0, "  and no key came back");
out:
	azihsm_logout(o);
	azihsm_logout(u);
}

int main(void)
{
	struct hsm_fw_config cfg = { .serial = "LIBOPS-1", .fw_rev = "2.0.1" };
	struct test_pki pki;
	struct fw_link link = { 0 };
	struct azihsm_dev *dev;

	test_builder();
	link.fw = test_pki_init(&pki, NULL, NULL, &cfg) ? NULL : test_pki_fw_new(&pki, &cfg);
	if (!link.fw) {
		printf("Bail out! firmware did not start\n");
		return 1;
	}
	tap_eq(lib_dev_open_transport(fw_xfer, &link, &dev), 0, "handle on the firmware core");
	test_flow(&link, dev);
	test_backup(&link, dev);
	azihsm_close(dev);
	hsm_fw_free(link.fw);
	test_pki_done(&pki);
	return tap_done();
}
