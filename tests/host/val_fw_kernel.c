// SPDX-License-Identifier: MIT
/*
 * azihsm validate, path fw (the firmware core on the host, azihsm-fw):
 * what a partition session cannot run (GCM encryption under a given IV,
 * XTS-AES-128, SHA-2, short GCM tags, HMAC keys outside 16..128 bytes)
 * runs here through the kernel session's services instead, as the driver
 * uses them: OpenKernelSession 4030, KeyImport 4013 (raw keys),
 * AesEncryptDecrypt 1072 with the caller's IV, Hash 4021 (resumable).
 * The guest cannot do this (the driver refuses OpenKernelSession from
 * userspace); there, path kcapi reaches the same services.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "svc_util.h"
#include "validate.h"

struct hsm_fw *cli_fw(void);
int val_fw_extend(struct val_backend *b);

#define CHUNK	4096	/* hash data per call: a multiple of both block sizes */

static struct {
	struct val_backend inner;	/* the libazihsm (partition session) backend */
	long ks;			/* the kernel session, or -1 */
	uint8_t key[1024];
	size_t klen;
	uint8_t ktype;
	uint16_t kid;
	bool have_key;
	struct rsp r;
} k = { .ks = -1 };

static int kopen(void)
{
	long st;

	if (k.ks >= 0)
		return 0;
	st = call0(cli_fw(), AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &k.r);
	if (st)
		return -EIO;
	k.ks = rsp_u16(&k.r, AZIHSM_KSESS_F_ID);
	return k.ks < 0 ? -EPROTO : 0;
}

/* The key as a kernel session key (KeyImport), kept for the next vector. */
static int kimport(uint8_t type, uint32_t usage, const uint8_t *key, size_t len)
{
	struct rq q;
	struct mbor_enc *e;
	long id;

	if (k.have_key && k.ktype == type && k.klen == len && !CRYPTO_memcmp(k.key, key, len))
		return 0;
	if (len > sizeof(k.key) || kopen())
		return -EIO;
	if (k.have_key)
		call_id(cli_fw(), AZIHSM_OP_DELETE_KEY, (int)k.ks, k.kid, &k.r);
	k.have_key = false;
	e = rq_begin(&q, AZIHSM_OP_KEY_IMPORT, (int)k.ks);
	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
	mbor_enc_u8(e, type);
	mbor_enc_key(e, AZIHSM_IMPORT_F_USAGE);
	mbor_enc_u32(e, usage);
	mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
	mbor_enc_bytes(e, key, len);
	if (rq_send(cli_fw(), &q, &k.r))
		return -EIO;
	id = rsp_u16(&k.r, AZIHSM_IMPORT_F_KEY_ID);
	if (id < 0)
		return -EPROTO;
	k.kid = (uint16_t)id;
	memcpy(k.key, key, len);
	k.klen = len;
	k.ktype = type;
	k.have_key = true;
	return 0;
}

/* AesEncryptDecrypt in the kernel session; *bad_tag for a GCM BAD_TAG. */
static int kaes(uint8_t mode, bool decrypt, const uint8_t *iv, size_t iv_len,
		const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		const uint8_t *tag, size_t tag_len, uint8_t *out, uint8_t *tag_out,
		bool *bad_tag)
{
	bool gcm = mode == AZIHSM_AES_GCM;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_AES_ENCRYPT_DECRYPT, (int)k.ks);
	long st;

	mbor_enc_map(e, 5 + (gcm ? 2 : 0));
	mbor_enc_key(e, AZIHSM_AES_F_KEY_ID);
	mbor_enc_u16(e, k.kid);
	mbor_enc_key(e, AZIHSM_AES_F_MODE);
	mbor_enc_u8(e, mode);
	mbor_enc_key(e, AZIHSM_AES_F_DECRYPT);
	mbor_enc_bool(e, decrypt);
	mbor_enc_key(e, AZIHSM_AES_F_IV);
	mbor_enc_bytes(e, iv, iv_len);
	mbor_enc_key(e, AZIHSM_AES_F_DATA);
	mbor_enc_bytes(e, in, len);
	if (gcm) {
		mbor_enc_key(e, AZIHSM_AES_F_AAD);
		mbor_enc_bytes(e, aad, aad_len);
		if (decrypt) {
			mbor_enc_key(e, AZIHSM_AES_F_TAG);
			mbor_enc_bytes(e, tag, tag_len);
		} else {
			mbor_enc_key(e, AZIHSM_AES_F_TAG_LEN);
			mbor_enc_u8(e, (uint8_t)tag_len);
		}
	}
	st = rq_send(cli_fw(), &q, &k.r);
	if (bad_tag)
		*bad_tag = st == AZIHSM_STATUS_BAD_TAG;
	if (st)
		return st == AZIHSM_STATUS_BAD_TAG ? 0 : -EIO;
	if (rsp_copy(&k.r, AZIHSM_AES_F_OUT, out, len) != len && len)
		return -EPROTO;
	if (gcm && !decrypt && rsp_copy(&k.r, AZIHSM_AES_F_TAG_OUT, tag_out, 16) != tag_len)
		return -EPROTO;
	return 0;
}

static int fk_aes(struct val_backend *b, enum azihsm_aes_mode mode, bool decrypt,
		  const uint8_t *key, size_t klen, const uint8_t *iv, const uint8_t *in,
		  size_t len, uint8_t *out, const char **why)
{
	int ret = k.inner.ops->aes(&k.inner, mode, decrypt, key, klen, iv, in, len, out, why);

	(void)b;
	if (ret != VAL_NA || mode != AZIHSM_AES_MODE_XTS || klen != 32)
		return ret;
	/* XTS-AES-128: the kernel session imports AES128_XTS keys. */
	ret = kimport(AZIHSM_KEY_AES128_XTS, AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT,
		      key, klen);
	return ret ? ret : kaes(AZIHSM_AES_XTS, decrypt, iv, 16, NULL, 0, in, len, NULL, 0, out,
				NULL, NULL);
}

static int fk_gcm(struct val_backend *b, bool decrypt, const uint8_t *key, size_t klen,
		  const uint8_t *iv, size_t iv_len, const uint8_t *aad, size_t aad_len,
		  const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len,
		  bool *auth_ok, const char **why)
{
	uint8_t type = klen == 16 ? AZIHSM_KEY_AES128 : klen == 24 ? AZIHSM_KEY_AES192 :
								 AZIHSM_KEY_AES256;
	bool bad = false;
	int ret = k.inner.ops->gcm(&k.inner, decrypt, key, klen, iv, iv_len, aad, aad_len, in,
				   len, out, tag, tag_len, auth_ok, why);

	(void)b;
	/* The device's GCM takes 96-bit IVs in every session. */
	if (ret != VAL_NA || iv_len != 12)
		return ret;
	if (tag_len < 4 || tag_len > 16) {
		*why = "the device's GCM takes tags of 4..16 bytes";
		return VAL_NA;
	}
	ret = kimport(type, AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, key, klen);
	if (!ret)
		ret = kaes(AZIHSM_AES_GCM, decrypt, iv, iv_len, aad, aad_len, in, len, tag, tag_len,
			   out, tag, &bad);
	if (decrypt)
		*auth_ok = !bad;
	return ret;
}

/* Hash 4021 in CHUNK steps; @key_id < 0: a plain hash. */
static int khash(int bits, long key_id, const uint8_t *msg, size_t len, uint8_t *out)
{
	uint8_t state[64], hash = bits == 256 ? AZIHSM_HASH_SHA256 :
				  bits == 384 ? AZIHSM_HASH_SHA384 : AZIHSM_HASH_SHA512;
	size_t done = 0, slen = 0;

	for (;;) {
		bool final = len - done <= CHUNK;
		size_t n = final ? len - done : CHUNK;
		struct rq q;
		struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_HASH, (int)k.ks);

		mbor_enc_map(e, 3 + (key_id >= 0) + (slen ? 2 : 0));
		mbor_enc_key(e, AZIHSM_HASH_F_HASH);
		mbor_enc_u8(e, hash);
		if (key_id >= 0) {
			mbor_enc_key(e, AZIHSM_HASH_F_KEY_ID);
			mbor_enc_u16(e, (uint16_t)key_id);
		}
		if (slen) {
			mbor_enc_key(e, AZIHSM_HASH_F_STATE);
			mbor_enc_bytes(e, state, slen);
		}
		mbor_enc_key(e, AZIHSM_HASH_F_DATA);
		mbor_enc_bytes(e, msg + done, n);
		mbor_enc_key(e, AZIHSM_HASH_F_FINAL);
		mbor_enc_bool(e, final);
		if (slen) {
			mbor_enc_key(e, AZIHSM_HASH_F_DONE);
			mbor_enc_u64(e, done);
		}
		if (rq_send(cli_fw(), &q, &k.r))
			return -EIO;
		if (final)
			return rsp_copy(&k.r, AZIHSM_HASH_F_OUT, out, 64) == (size_t)bits / 8 ?
			       0 : -EPROTO;
		slen = rsp_copy(&k.r, AZIHSM_HASH_F_OUT, state, sizeof(state));
		if (!slen)
			return -EPROTO;
		done += n;
	}
}

static int fk_hash(struct val_backend *b, int bits, const uint8_t *msg, size_t len,
		   uint8_t *out, const char **why)
{
	(void)b, (void)why;
	return kopen() ?: khash(bits, -1, msg, len, out);
}

static int fk_hmac(struct val_backend *b, int bits, const uint8_t *key, size_t klen,
		   const uint8_t *msg, size_t len, uint8_t *out, const char **why)
{
	uint8_t type = bits == 256 ? AZIHSM_KEY_HMAC_SHA256 :
		       bits == 384 ? AZIHSM_KEY_HMAC_SHA384 : AZIHSM_KEY_HMAC_SHA512;
	int ret = k.inner.ops->hmac(&k.inner, bits, key, klen, msg, len, out, why);

	(void)b;
	if (ret != VAL_NA)
		return ret;
	ret = kimport(type, AZIHSM_KEY_USE_SIGN, key, klen);
	return ret ? ret : khash(bits, k.kid, msg, len, out);
}

static int fk_gen_sign(struct val_backend *b, enum azihsm_key_type type, EVP_PKEY *key,
		       int bits, enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
		       uint8_t *sig, size_t *sig_len, EVP_PKEY **pub, const char **why)
{
	(void)b;
	return k.inner.ops->gen_sign(&k.inner, type, key, bits, pad, digest, dlen, sig, sig_len,
				     pub, why);
}

static int fk_verify(struct val_backend *b, EVP_PKEY *key, int bits,
		     enum azihsm_rsa_padding pad, const uint8_t *digest, size_t dlen,
		     const uint8_t *sig, size_t sig_len, bool *valid, const char **why)
{
	(void)b;
	return k.inner.ops->verify(&k.inner, key, bits, pad, digest, dlen, sig, sig_len, valid,
				   why);
}

static int fk_hkdf_mac(struct val_backend *b, int bits, const uint8_t *ikm, size_t ikm_len,
		       const uint8_t *salt, size_t salt_len, const uint8_t *info,
		       size_t info_len, size_t okm_len, const uint8_t *msg, size_t msg_len,
		       uint8_t *mac, const char **why)
{
	(void)b;
	return k.inner.ops->hkdf_mac(&k.inner, bits, ikm, ikm_len, salt, salt_len, info,
				     info_len, okm_len, msg, msg_len, mac, why);
}

static void fk_fini(struct val_backend *b)
{
	if (k.have_key)
		call_id(cli_fw(), AZIHSM_OP_DELETE_KEY, (int)k.ks, k.kid, &k.r);
	k.have_key = false;
	OPENSSL_cleanse(k.key, sizeof(k.key));
	k.inner.ops->fini(&k.inner);
	b->priv = NULL;
}

static const struct val_ops fk_ops = {
	.aes = fk_aes, .gcm = fk_gcm, .hash = fk_hash, .hmac = fk_hmac,
	.gen_sign = fk_gen_sign, .verify = fk_verify, .hkdf_mac = fk_hkdf_mac,
	.fini = fk_fini,
};

/* Called by cli-validate.c for path fw: wrap the libazihsm backend @b. */
int val_fw_extend(struct val_backend *b)
{
	k.inner = *b;
	b->ops = &fk_ops;
	return 0;
}
