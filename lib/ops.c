// SPDX-License-Identifier: MIT
/*
 * libazihsm: operations with vault keys (msg.h "Vault operations"):
 * RSA sign / OAEP decrypt, verify, HMAC, and ECDH / HKDF / KBKDF / unwrap,
 * whose results are new keys that stay in the device; masked blobs and the
 * backup commands (InitBk3, GetSealedBk3, SetSealedBk3).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/azihsm.h>

#include "internal.h"
#include "proto.h"

#define REQ_MAX		AZIHSM_CMD_BUF_MAX
#define RSP_SMALL	1024	/* key ids, signatures, MACs, plaintexts of <= 512 bytes */

#define F_U8(i, v)	{ .id = (i), .type = PROTO_U8, .val = (v) }
#define F_U16(i, v)	{ .id = (i), .type = PROTO_U16, .val = (v) }
#define F_U32(i, v)	{ .id = (i), .type = PROTO_U32, .val = (v) }
#define F_BOOL(i, v)	{ .id = (i), .type = PROTO_BOOL, .val = (v) }
#define F_BYTES(i, b, l) { .id = (i), .type = PROTO_BYTES, .p = (b), .len = (l) }
/* An optional bytes field: absent when @l is 0. */
#define F_OPT(i, b, l)	{ .id = (i), .type = PROTO_BYTES, .p = (b), .len = (l), .skip = !(l) }
#define NF(a)		(sizeof(a) / sizeof((a)[0]))

static size_t hash_len(enum azihsm_hash_alg hash)
{
	switch (hash) {
	case AZIHSM_HASH_ALG_SHA256:
		return 32;
	case AZIHSM_HASH_ALG_SHA384:
		return 48;
	case AZIHSM_HASH_ALG_SHA512:
		return 64;
	}
	return 0;
}

/*
 * Build the request from @f, send it, leave @d at the answer's data map
 * (in @rsp, @cap bytes) and report the FIPS flag.
 */
static int run(struct azihsm_session *sess, uint32_t opcode, const struct proto_field *f,
	       size_t n, uint8_t *rsp, size_t cap, struct mbor_dec *d, bool *fips)
{
	uint8_t *req;
	size_t len;
	int ret;

	if (fips)
		*fips = false;
	req = malloc(REQ_MAX);
	if (!req)
		return -ENOMEM;
	len = proto_req_fields(req, REQ_MAX, opcode, azihsm_session_id(sess), f, n);
	ret = len ? lib_sess_transact(sess, req, len, rsp, cap, opcode, d) : -EINVAL;
	/* Requests may carry secrets' ciphertexts and labels: wipe anyway. */
	memset(req, 0, REQ_MAX);
	free(req);
	if (!ret && fips)
		*fips = lib_last_fips();
	return ret;
}

/* A request answered with one bytes field @field, copied to @out. */
static int run_bytes(struct azihsm_session *sess, uint32_t opcode, const struct proto_field *f,
		     size_t n, uint8_t field, uint8_t *out, size_t cap, size_t *len, bool *fips)
{
	uint8_t rsp[RSP_SMALL];
	struct mbor_dec d;
	int ret;

	ret = run(sess, opcode, f, n, rsp, sizeof(rsp), &d, fips);
	if (!ret)
		ret = proto_parse_bytes(&d, field, out, cap, len);
	memset(rsp, 0, sizeof(rsp));	/* may be a plaintext */
	if (ret && fips)
		*fips = false;
	return ret;
}

/* A request that makes a key: { 1: new key id }. */
static int run_new_key(struct azihsm_session *sess, uint32_t opcode,
		       const struct proto_field *f, size_t n, uint16_t *new_id, bool *fips)
{
	uint8_t rsp[RSP_SMALL];
	struct mbor_dec d;
	int ret;

	ret = run(sess, opcode, f, n, rsp, sizeof(rsp), &d, fips);
	if (!ret)
		ret = proto_parse_key_id(&d, new_id);
	if (ret && fips)
		*fips = false;
	return ret;
}

static bool new_key_ok(const struct azihsm_new_key *nk)
{
	return nk && (unsigned int)nk->type <= 0xff && nk->label_len <= AZIHSM_LABEL_MAX &&
	       (!nk->label_len || nk->label);
}

/* Fields 5..8 of a key-making request into @f. */
static void new_key_fields(struct proto_field *f, const struct azihsm_new_key *nk)
{
	f[0] = (struct proto_field)F_U8(AZIHSM_OPS_F_TYPE, (uint8_t)nk->type);
	f[1] = (struct proto_field)F_U32(AZIHSM_OPS_F_USAGE, nk->usage);
	f[2] = (struct proto_field)F_OPT(AZIHSM_OPS_F_LABEL, nk->label, nk->label_len);
	f[3] = (struct proto_field)F_BOOL(AZIHSM_OPS_F_PERSISTENT, nk->persistent);
}

int azihsm_rsa_sign(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		    enum azihsm_rsa_padding pad, const void *digest, size_t digest_len,
		    uint8_t *sig, size_t cap, size_t *sig_len, bool *fips_approved)
{
	const struct proto_field f[] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id), F_U8(AZIHSM_OPS_F_HASH, (uint8_t)hash),
		F_U8(AZIHSM_RSASIGN_F_PAD, (uint8_t)pad),
		F_BYTES(AZIHSM_RSASIGN_F_DIGEST, digest, digest_len),
	};

	if (sig_len)
		*sig_len = 0;
	if (!sess || !digest || !hash_len(hash) || digest_len != hash_len(hash) || !sig ||
	    !sig_len || (pad != AZIHSM_RSA_PADDING_PKCS1 && pad != AZIHSM_RSA_PADDING_PSS))
		return -EINVAL;
	return run_bytes(sess, AZIHSM_OP_RSA_SIGN, f, NF(f), AZIHSM_OPS_F_OUT, sig, cap, sig_len,
			 fips_approved);
}

int azihsm_verify(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		  enum azihsm_rsa_padding pad, const void *digest, size_t digest_len,
		  const void *sig, size_t sig_len, bool *valid, bool *fips_approved)
{
	const struct proto_field f[] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id), F_U8(AZIHSM_OPS_F_HASH, (uint8_t)hash),
		{ .id = AZIHSM_VERIFY_F_PAD, .type = PROTO_U8, .val = (uint8_t)pad, .skip = !pad },
		F_BYTES(AZIHSM_VERIFY_F_DIGEST, digest, digest_len),
		F_BYTES(AZIHSM_VERIFY_F_SIG, sig, sig_len),
	};
	uint8_t rsp[RSP_SMALL];
	struct mbor_dec d;
	int ret;

	if (valid)
		*valid = false;
	if (!sess || !digest || !hash_len(hash) || digest_len != hash_len(hash) || !sig ||
	    !sig_len || !valid || (unsigned int)pad > AZIHSM_RSA_PADDING_PSS)
		return -EINVAL;
	ret = run(sess, AZIHSM_OP_VERIFY, f, NF(f), rsp, sizeof(rsp), &d, fips_approved);
	if (!ret)
		ret = proto_parse_bool(&d, AZIHSM_VERIFY_F_VALID, valid);
	if (ret) {
		*valid = false;
		if (fips_approved)
			*fips_approved = false;
	}
	return ret;
}

int azihsm_rsa_decrypt(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		       const void *label, size_t label_len, const void *ct, size_t ct_len,
		       uint8_t *out, size_t cap, size_t *out_len, bool *fips_approved)
{
	const struct proto_field f[] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id), F_U8(AZIHSM_OPS_F_HASH, (uint8_t)hash),
		F_BYTES(AZIHSM_RSADEC_F_IN, ct, ct_len),
		F_OPT(AZIHSM_RSADEC_F_OAEP_LABEL, label, label_len),
	};

	if (out_len)
		*out_len = 0;
	if (!sess || !hash_len(hash) || !ct || !ct_len || (label_len && !label) ||
	    label_len > AZIHSM_KDF_LABEL_MAX || !out || !out_len)
		return -EINVAL;
	return run_bytes(sess, AZIHSM_OP_RSA_DECRYPT, f, NF(f), AZIHSM_OPS_F_OUT, out, cap,
			 out_len, fips_approved);
}

int azihsm_hmac(struct azihsm_session *sess, uint16_t key_id, const void *data, size_t len,
		uint8_t *mac, size_t cap, size_t *mac_len, bool *fips_approved)
{
	static const uint8_t none;
	const struct proto_field f[] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id),
		F_BYTES(AZIHSM_HMAC_F_DATA, len ? data : &none, len),
	};

	if (mac_len)
		*mac_len = 0;
	if (!sess || (len && !data) || !mac || !mac_len)
		return -EINVAL;
	return run_bytes(sess, AZIHSM_OP_HMAC, f, NF(f), AZIHSM_OPS_F_OUT, mac, cap, mac_len,
			 fips_approved);
}

int azihsm_ecdh(struct azihsm_session *sess, uint16_t key_id, const void *peer,
		size_t peer_len, const struct azihsm_new_key *nk, uint16_t *new_id,
		bool *fips_approved)
{
	struct proto_field f[6] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id), F_BYTES(AZIHSM_ECDH_F_PEER, peer, peer_len),
	};

	if (!sess || !peer || !peer_len || !new_key_ok(nk) || !new_id)
		return -EINVAL;
	new_key_fields(f + 2, nk);
	return run_new_key(sess, AZIHSM_OP_ECDH_KEY_EXCHANGE, f, NF(f), new_id, fips_approved);
}

static int kdf(struct azihsm_session *sess, uint32_t opcode, uint16_t key_id,
	       enum azihsm_hash_alg hash, const void *a, size_t a_len, const void *b,
	       size_t b_len, const struct azihsm_new_key *nk, size_t length, uint16_t *new_id,
	       bool *fips_approved)
{
	struct proto_field f[9] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id), F_U8(AZIHSM_OPS_F_HASH, (uint8_t)hash),
		F_OPT(AZIHSM_KDF_F_SALT, a, a_len), F_OPT(AZIHSM_KDF_F_INFO, b, b_len),
	};

	if (!sess || !hash_len(hash) || (a_len && !a) || (b_len && !b) ||
	    a_len > AZIHSM_KDF_LABEL_MAX || b_len > AZIHSM_KDF_LABEL_MAX || !new_key_ok(nk) ||
	    length > 0xffff || !new_id)
		return -EINVAL;
	new_key_fields(f + 4, nk);
	f[8] = (struct proto_field){ .id = AZIHSM_KDF_F_LENGTH, .type = PROTO_U16,
				     .val = (uint16_t)length, .skip = !length };
	return run_new_key(sess, opcode, f, NF(f), new_id, fips_approved);
}

int azihsm_hkdf(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		const void *salt, size_t salt_len, const void *info, size_t info_len,
		const struct azihsm_new_key *nk, size_t length, uint16_t *new_id,
		bool *fips_approved)
{
	return kdf(sess, AZIHSM_OP_HKDF_DERIVE, key_id, hash, salt, salt_len, info, info_len, nk,
		   length, new_id, fips_approved);
}

int azihsm_kbkdf(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		 const void *label, size_t label_len, const void *context, size_t context_len,
		 const struct azihsm_new_key *nk, size_t length, uint16_t *new_id,
		 bool *fips_approved)
{
	return kdf(sess, AZIHSM_OP_KBKDF_DERIVE, key_id, hash, label, label_len, context,
		   context_len, nk, length, new_id, fips_approved);
}

int azihsm_unwrapping_key(struct azihsm_session *sess, uint16_t *key_id, uint8_t *der,
			  size_t cap, size_t *len)
{
	uint8_t rsp[2048];
	struct mbor_dec d;
	int ret;

	if (len)
		*len = 0;
	if (!sess || !key_id || !der || !len)
		return -EINVAL;
	ret = run(sess, AZIHSM_OP_GET_UNWRAPPING_KEY, NULL, 0, rsp, sizeof(rsp), &d, NULL);
	return ret ? ret : proto_parse_unwrapping_key(&d, key_id, der, cap, len);
}

int azihsm_rsa_unwrap(struct azihsm_session *sess, uint16_t key_id, enum azihsm_hash_alg hash,
		      const void *oaep_label, size_t oaep_label_len, const void *wrapped,
		      size_t wrapped_len, const struct azihsm_new_key *nk, uint16_t *new_id,
		      bool *fips_approved)
{
	struct proto_field f[8] = {
		F_U16(AZIHSM_OPS_F_KEY_ID, key_id), F_U8(AZIHSM_OPS_F_HASH, (uint8_t)hash),
		F_BYTES(AZIHSM_UNWRAP_F_IN, wrapped, wrapped_len),
		F_OPT(AZIHSM_UNWRAP_F_OAEP_LABEL, oaep_label, oaep_label_len),
	};

	if (!sess || !hash_len(hash) || !wrapped || !wrapped_len ||
	    (oaep_label_len && !oaep_label) || oaep_label_len > AZIHSM_KDF_LABEL_MAX ||
	    !new_key_ok(nk) || !new_id)
		return -EINVAL;
	new_key_fields(f + 4, nk);
	return run_new_key(sess, AZIHSM_OP_RSA_UNWRAP, f, NF(f), new_id, fips_approved);
}

int azihsm_aes_crypt(struct azihsm_session *sess, uint16_t key_id,
		     const struct azihsm_aes_params *p, const void *in, size_t len, uint8_t *out,
		     size_t cap, size_t *out_len, bool *fips_approved)
{
	static const uint8_t none;
	bool gcm = p && p->mode == AZIHSM_AES_MODE_GCM;
	const struct proto_field f[] = {
		F_U16(AZIHSM_AES_F_KEY_ID, key_id),
		F_U8(AZIHSM_AES_F_MODE, p ? (uint8_t)p->mode : 0),
		F_BOOL(AZIHSM_AES_F_DECRYPT, p && p->decrypt),
		F_OPT(AZIHSM_AES_F_IV, p ? p->iv : NULL, p ? p->iv_len : 0),
		F_BYTES(AZIHSM_AES_F_DATA, len ? in : &none, len),
		F_OPT(AZIHSM_AES_F_AAD, gcm ? p->aad : NULL, gcm ? p->aad_len : 0),
		F_OPT(AZIHSM_AES_F_TAG, gcm && p->decrypt ? p->tag : NULL,
		      gcm && p->decrypt ? p->tag_len : 0),
		{ .id = AZIHSM_AES_F_TAG_LEN, .type = PROTO_U8,
		  .val = p ? (uint8_t)p->tag_len : 0,
		  .skip = !gcm || p->decrypt || !p->tag_len },
	};
	/* GCM encryption: the device draws the IV and answers it (issue 9). */
	bool gcm_enc = gcm && !p->decrypt;
	const uint8_t *q;
	struct mbor_map m;
	struct mbor_dec d;
	uint8_t *rsp, id;
	size_t n = 0, tl = 0;
	bool seen = false, seen_iv = false;
	int ret;

	if (out_len)
		*out_len = 0;
	if (!sess || !p || p->mode < AZIHSM_AES_MODE_ECB || p->mode > AZIHSM_AES_MODE_GCM ||
	    (len && !in) || !out || !out_len || cap < len || len > AZIHSM_CMD_BUF_MAX - 256 ||
	    (p->iv_len && !p->iv) || (p->aad_len && !p->aad) ||
	    (gcm && (!p->tag || (p->decrypt ? p->tag_len < 4 : p->tag_len && p->tag_len < 4) ||
		     p->tag_len > 16)) ||
	    (gcm_enc && (p->iv || p->iv_len || !p->iv_out)))
		return -EINVAL;
	rsp = malloc(AZIHSM_CMD_BUF_MAX);
	if (!rsp)
		return -ENOMEM;
	ret = run(sess, AZIHSM_OP_AES_ENCRYPT_DECRYPT, f, NF(f), rsp, AZIHSM_CMD_BUF_MAX, &d,
		  fips_approved);
	if (!ret)
		ret = mbor_dec_map(&d, &m) ? -EPROTO : 0;
	while (!ret && (ret = mbor_dec_next(&d, &m, &id)) == 1) {
		ret = 0;
		if (id == AZIHSM_AES_F_OUT) {
			ret = mbor_dec_bytes(&d, &q, &n);
			if (!ret && n != len)
				ret = -EPROTO;
			if (!ret)
				memcpy(out, q, n);
			seen = !ret;
		} else if (id == AZIHSM_AES_F_IV_OUT) {
			ret = mbor_dec_bytes(&d, &q, &tl);
			if (!ret && (gcm_enc ? tl != 12 :
				     tl != 16 || (p->mode != AZIHSM_AES_MODE_CBC &&
						  p->mode != AZIHSM_AES_MODE_CTR)))
				ret = -EPROTO;
			if (!ret && p->iv_out)
				memcpy(p->iv_out, q, tl);
			seen_iv = !ret;
		} else if (id == AZIHSM_AES_F_TAG_OUT) {
			ret = mbor_dec_bytes(&d, &q, &tl);
			if (!ret && (!gcm || p->decrypt || tl != (p->tag_len ? p->tag_len : 16)))
				ret = -EPROTO;
			if (!ret)
				memcpy(p->tag, q, tl);
		} else {
			ret = mbor_dec_skip(&d);
		}
		if (ret)
			ret = ret < 0 ? ret : -EPROTO;
	}
	if (ret < 0 || mbor_dec_finish(&d) || !seen || (gcm_enc && !seen_iv)) {
		if (ret >= 0)
			ret = -EPROTO;
	} else {
		ret = 0;
		*out_len = n;
	}
	memset(rsp, 0, AZIHSM_CMD_BUF_MAX);	/* plaintext */
	free(rsp);
	if (ret) {
		memset(out, 0, cap < len ? cap : len);
		if (fips_approved)
			*fips_approved = false;
	}
	return ret;
}

int azihsm_key_export_masked(struct azihsm_session *sess, uint16_t key_id, uint8_t *blob,
			     size_t cap, size_t *len)
{
	const struct proto_field f[] = { F_U16(AZIHSM_MASK_F_KEY_ID, key_id) };
	struct mbor_dec d;
	uint8_t *rsp;
	int ret;

	if (len)
		*len = 0;
	if (!sess || !blob || !len)
		return -EINVAL;
	rsp = malloc(AZIHSM_CMD_BUF_MAX);
	if (!rsp)
		return -ENOMEM;
	ret = run(sess, AZIHSM_OP_KEY_EXPORT_MASKED, f, NF(f), rsp, AZIHSM_CMD_BUF_MAX, &d, NULL);
	if (!ret)
		ret = proto_parse_bytes(&d, AZIHSM_MASK_F_BLOB, blob, cap, len);
	free(rsp);
	return ret;
}

int azihsm_key_unmask(struct azihsm_session *sess, const void *blob, size_t len,
		      uint16_t *key_id)
{
	const struct proto_field f[] = { F_BYTES(AZIHSM_UNMASK_F_BLOB, blob, len) };

	if (!sess || !blob || !len || !key_id)
		return -EINVAL;
	return run_new_key(sess, AZIHSM_OP_UNMASK_KEY, f, NF(f), key_id, NULL);
}

int azihsm_key_unmask_persistent(struct azihsm_session *officer, const void *blob, size_t len,
				 uint16_t *key_id)
{
	const struct proto_field f[] = {
		F_BYTES(AZIHSM_UNMASK_F_BLOB, blob, len),
		F_BOOL(AZIHSM_UNMASK_F_PERSISTENT, 1),
	};

	if (!officer || !blob || !len || !key_id)
		return -EINVAL;
	return run_new_key(officer, AZIHSM_OP_UNMASK_KEY, f, NF(f), key_id, NULL);
}

/* ---- backup -------------------------------------------------------------- */

int azihsm_bk3_init(struct azihsm_session *officer)
{
	return lib_sess_call_empty(officer, AZIHSM_OP_INIT_BK3);
}

int azihsm_bk3_get_sealed(struct azihsm_session *officer, uint8_t *blob, size_t cap,
			  size_t *len)
{
	uint8_t rsp[RSP_SMALL];
	struct mbor_dec d;
	int ret;

	if (len)
		*len = 0;
	if (!officer || !blob || !len)
		return -EINVAL;
	ret = run(officer, AZIHSM_OP_GET_SEALED_BK3, NULL, 0, rsp, sizeof(rsp), &d, NULL);
	if (!ret)
		ret = proto_parse_bytes(&d, AZIHSM_BK3_F_SEALED, blob, cap, len);
	return ret;
}

int azihsm_bk3_set_sealed(struct azihsm_session *officer, const void *blob, size_t len)
{
	const struct proto_field f[] = { F_BYTES(AZIHSM_BK3_F_SEALED, blob, len) };
	uint8_t rsp[RSP_SMALL];
	struct mbor_dec d;
	int ret;

	if (!officer || !blob || !len || len > AZIHSM_BK3_SEALED_MAX)
		return -EINVAL;
	ret = run(officer, AZIHSM_OP_SET_SEALED_BK3, f, NF(f), rsp, sizeof(rsp), &d, NULL);
	return ret ? ret : proto_parse_empty(&d);
}
