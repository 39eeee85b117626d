// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services of the kernel session and the masked blobs:
 * OpenKernelSession 4030, KeyImport 4013, UnmaskKey 1107, KeyExportMasked
 * 4014 and AesEncryptDecrypt 1072. Request and response maps:
 * include/azihsm/msg.h; design: "Kernel session" in
 * Documentation/hsm-design.md.
 *
 * The kernel session (role HSM_ROLE_KERNEL) is the driver's: opened
 * without a credential, at most one (only the first open after a reset or
 * zeroize succeeds: KERNEL_SESSION_OPEN), not one of the partition's
 * sessions. It sees its own
 * session keys only (fw_visible). Only it may import raw key material
 * (class KERNEL_IMPORT); its blobs are sealed under the firmware's kernel
 * masking key (random per start, never stored), everyone else's under the
 * partition masking key, so a blob of one kind never opens in the other.
 * Both are bound to the zeroize epoch (hsm_partition_blob_key), and every
 * blob names who it is for (hsm_vault.h, enum hsm_blob_owner).
 *
 * Classes: UnmaskKey SESSION_KEYS (persistent: MANAGE_KEYS), then the
 * vault's owner rules: a session key's blob back to the same role as a
 * session key, a persistent key's blob to the officer only (a session
 * copy while the key lives, never a deleted key); KeyExportMasked INFO to
 * see the key, then SESSION_KEYS for a session key or BACKUP (officer) for
 * a persistent one; AesEncryptDecrypt USE_KEY with the key's encrypt or
 * decrypt usage (CTR: both).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azihsm/hw.h"
#include "hsm_fw_int.h"
#include "hsm_ops.h"

_Static_assert(AZIHSM_HASH_SHA512 == HSM_HASH_SHA512, "hash");

/* Longest HMAC secret KeyImport takes (longer than a block: hashed). */
#define FW_IMPORT_HMAC_MAX	1024
#define FW_GCM_TAG_MIN		4
/*
 * Shortest GCM tag a decryption outside the kernel session takes (issue 9,
 * SP 800-38D 5.2.1.2 / appendix C: a short tag lets a forger try many
 * times; the kernel crypto API's callers keep their 4..16).
 */
#define FW_GCM_DEC_TAG_MIN	12
/* Longest RSAPrivateKey DER taken (RSA-4096 is about 2.4 KiB). */
#define FW_IMPORT_DER_MAX	8192

/* Vault refusals of imported or unmasked material, as statuses. */
static uint32_t fw_status_import(int st)
{
	switch (st) {
	case HSM_VAULT_BAD_MATERIAL:
	case HSM_VAULT_PCT_FAILED:
		return AZIHSM_STATUS_INVALID_ARG;
	case HSM_VAULT_BAD_BLOB:
		return AZIHSM_STATUS_BAD_BLOB;
	case HSM_VAULT_WRONG_OWNER:
		return AZIHSM_STATUS_WRONG_ROLE;
	case HSM_VAULT_KEY_DELETED:
		return AZIHSM_STATUS_KEY_DELETED;
	case HSM_VAULT_KEY_EXISTS:
		return AZIHSM_STATUS_KEY_EXISTS;
	}
	return fw_status_vault(st);
}

int fw_masking_key(const struct fw_req *r, struct hsm_masking_key *out)
{
	struct hsm_masking_key kmk;
	int ret;

	if (!r->kernel)
		return hsm_partition_blob_key(r->fw->part, NULL, out);
	pthread_mutex_lock(&r->fw->kernel_mk_lock);
	kmk = r->fw->kernel_mk;
	pthread_mutex_unlock(&r->fw->kernel_mk_lock);
	ret = hsm_partition_blob_key(r->fw->part, &kmk, out);
	OPENSSL_cleanse(&kmk, sizeof(kmk));
	return ret;
}

int fw_blob_owner(const struct fw_req *r, enum hsm_blob_owner *kind)
{
	enum hsm_auth_role role;

	if (r->kernel) {
		*kind = HSM_BLOB_KERNEL;
		return 0;
	}
	if (hsm_auth_session_role(r->fw->auth, r->session_id, &role))
		return -1;
	*kind = role == HSM_ROLE_OFFICER ? HSM_BLOB_OFFICER : HSM_BLOB_USER;
	return 0;
}

uint32_t fw_svc_open_kernel(struct fw_req *r)
{
	uint16_t sid = 0, app = 0;
	uint32_t st = fw_decode(r, NULL, 0);
	int ret;

	if (st)
		return st;
	/* Only the first after a reset: a second changes nothing. */
	ret = hsm_auth_open_kernel(r->fw->auth, &sid, &app);
	if (ret)
		return fw_status_auth(ret);
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_KSESS_F_ID);
	mbor_enc_u16(r->e, sid);
	if (!fw_rsp_fits(r)) {
		/* Never leave open a session the host was not told of. */
		fw_drop_session(r->fw, sid);
		return AZIHSM_STATUS_RSP_TOO_LARGE;
	}
	r->cmd->cqe_session_flags = AZIHSM_SESS_OP_OPEN | AZIHSM_SESS_IN_SESSION |
				    AZIHSM_SESS_SHORT_APP_ID_VALID;
	r->cmd->cqe_session_id = sid;
	r->cmd->cqe_short_app_id = app;
	return AZIHSM_STATUS_SUCCESS;
}

static size_t fw_hmac_block(enum hsm_key_type type)
{
	return type == HSM_KEY_HMAC_SHA256 ? 64 : 128;
}

static const char *fw_hmac_md(enum hsm_key_type type)
{
	return type == HSM_KEY_HMAC_SHA256 ? "SHA256" :
	       type == HSM_KEY_HMAC_SHA384 ? "SHA384" : "SHA512";
}

/* Import @m as a kernel session key of @spec; *id on success. */
static uint32_t fw_import_material(struct fw_req *r, struct hsm_key_spec *spec,
				   const struct fw_bytes *m, uint16_t *id)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	const unsigned char *p;
	EVP_PKEY *pk;
	int ret;

	switch (spec->type) {
	case HSM_KEY_AES128:
	case HSM_KEY_AES192:
	case HSM_KEY_AES256:
	case HSM_KEY_AES256_GCM:
	case HSM_KEY_AES128_XTS:
	case HSM_KEY_AES256_XTS:
		ret = hsm_vault_import_secret(r->fw->vault, spec, m->p, m->len, id);
		return fw_status_import(ret);
	case HSM_KEY_HMAC_SHA256:
	case HSM_KEY_HMAC_SHA384:
	case HSM_KEY_HMAC_SHA512:
		if (!m->len || m->len > FW_IMPORT_HMAC_MAX)
			return AZIHSM_STATUS_INVALID_ARG;
		if (m->len <= fw_hmac_block(spec->type)) {
			ret = hsm_vault_import_secret(r->fw->vault, spec, m->p, m->len, id);
			return fw_status_import(ret);
		}
		/* Longer than the hash's block: HMAC uses its digest (RFC 2104). */
		if (!EVP_Digest(m->p, m->len, digest, &dlen,
				EVP_get_digestbyname(fw_hmac_md(spec->type)), NULL))
			return AZIHSM_STATUS_INTERNAL;
		ret = hsm_vault_import_secret(r->fw->vault, spec, digest, dlen, id);
		OPENSSL_cleanse(digest, sizeof(digest));
		return fw_status_import(ret);
	case HSM_KEY_RSA2048:
	case HSM_KEY_RSA3072:
	case HSM_KEY_RSA4096:
		/* PKCS#1 RSAPrivateKey DER, nothing after it. */
		if (!m->len || m->len > FW_IMPORT_DER_MAX)
			return AZIHSM_STATUS_INVALID_ARG;
		p = m->p;
		pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)m->len);
		if (!pk)
			return AZIHSM_STATUS_INVALID_ARG;
		if (p != m->p + m->len) {
			EVP_PKEY_free(pk);
			return AZIHSM_STATUS_INVALID_ARG;
		}
		ret = hsm_vault_import_pkey(r->fw->vault, spec, pk, id);
		EVP_PKEY_free(pk);
		return fw_status_import(ret);
	default:
		/* EC keys are not imported raw; unknown types neither. */
		return AZIHSM_STATUS_INVALID_ARG;
	}
}

uint32_t fw_svc_key_import(struct fw_req *r)
{
	struct hsm_key_spec spec = { 0 };
	struct fw_bytes m = { 0 };
	uint8_t type = 0;
	uint32_t usage = 0;
	const struct fw_field f[] = {
		{ AZIHSM_IMPORT_F_TYPE, FW_U8, false, &type, NULL },
		{ AZIHSM_IMPORT_F_USAGE, FW_U32, false, &usage, NULL },
		{ AZIHSM_IMPORT_F_MATERIAL, FW_BYTES, false, &m, NULL },
	};
	struct hsm_masking_key mk;
	uint8_t *blob;
	size_t len = 0;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	st = fw_check(r, HSM_OP_KERNEL_IMPORT);
	if (st)
		return st;
	spec.type = (enum hsm_key_type)type;
	spec.usage = usage;
	spec.owner = r->session_id;
	spec.origin = HSM_ORIGIN_IMPORTED | HSM_ORIGIN_KERNEL;
	if (!hsm_key_usage_ok(spec.type, usage))
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_import_material(r, &spec, &m, &id);
	if (st)
		return st;
	/* r->kernel: the kernel masking key */
	if (fw_masking_key(r, &mk)) {
		st = AZIHSM_STATUS_INTERNAL;
		goto fail;
	}
	ret = hsm_vault_mask(r->fw->vault, id, &mk, HSM_BLOB_KERNEL, NULL, 0, &len);
	if (ret != HSM_VAULT_BUFFER_SMALL) {
		st = AZIHSM_STATUS_INTERNAL;
		goto fail;
	}
	mbor_enc_map(r->e, 2);
	mbor_enc_key(r->e, AZIHSM_IMPORT_F_KEY_ID);
	mbor_enc_u16(r->e, id);
	mbor_enc_key(r->e, AZIHSM_IMPORT_F_BLOB);
	blob = mbor_enc_bytes_reserve(r->e, len);
	if (!blob || !fw_rsp_fits(r)) {
		st = AZIHSM_STATUS_RSP_TOO_LARGE;
		goto fail;
	}
	ret = hsm_vault_mask(r->fw->vault, id, &mk, HSM_BLOB_KERNEL, blob, len, &len);
	if (ret) {
		st = fw_status_vault(ret);
		goto fail;
	}
	/* The session closed meanwhile: its keys are gone, so is this. */
	if (hsm_auth_check(r->fw->auth, r->session_id, HSM_OP_SESSION_KEYS)) {
		st = AZIHSM_STATUS_NO_SESSION;
		goto fail;
	}
	OPENSSL_cleanse(&mk, sizeof(mk));
	return AZIHSM_STATUS_SUCCESS;
fail:
	OPENSSL_cleanse(&mk, sizeof(mk));
	hsm_vault_delete(r->fw->vault, id);
	return st;
}

uint32_t fw_svc_unmask_key(struct fw_req *r)
{
	struct fw_bytes blob = { 0 };
	bool persistent = false;
	const struct fw_field f[] = {
		{ AZIHSM_UNMASK_F_BLOB, FW_BYTES, false, &blob, NULL },
		{ AZIHSM_UNMASK_F_PERSISTENT, FW_BOOL, true, &persistent, NULL },
	};
	struct hsm_masking_key mk;
	enum hsm_blob_owner kind;
	enum hsm_auth_op op;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, 2);
	if (st)
		return st;
	if (!blob.len)
		return AZIHSM_STATUS_BAD_BLOB;
	op = persistent ? HSM_OP_MANAGE_KEYS : HSM_OP_SESSION_KEYS;
	st = fw_check(r, op);
	if (st)
		return st;
	if (fw_blob_owner(r, &kind))
		return AZIHSM_STATUS_NO_SESSION;
	/*
	 * A persistent key: no other commit may store it before ours does,
	 * and a zeroize since the check above closed our session.
	 */
	if (persistent) {
		st = fw_new_persistent_begin(r);
		if (st)
			return st;
	}
	if (fw_masking_key(r, &mk)) {
		st = AZIHSM_STATUS_INTERNAL;
		goto out;
	}
	ret = hsm_vault_unmask(r->fw->vault, &mk, blob.p, blob.len, kind,
			       persistent ? 0 : r->session_id, &id);
	OPENSSL_cleanse(&mk, sizeof(mk));
	if (ret) {
		st = fw_status_import(ret);
		goto out;
	}
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_UNMASK_F_KEY_ID);
	mbor_enc_u16(r->e, id);
	st = fw_rsp_fits(r) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_RSP_TOO_LARGE;
	if (!st && persistent && fw_persist_commit(r->fw))
		st = AZIHSM_STATUS_NOT_STORED;
	else if (!st && !persistent && hsm_auth_check(r->fw->auth, r->session_id, op))
		st = AZIHSM_STATUS_NO_SESSION;
	if (st)
		hsm_vault_delete(r->fw->vault, id);	/* nothing unstored acknowledged */
out:
	if (persistent)
		fw_persist_end(r->fw);
	return st;
}

uint32_t fw_mask_to_rsp(struct fw_req *r, uint16_t id, const struct hsm_masking_key *mk,
			enum hsm_blob_owner kind, uint8_t field)
{
	uint8_t *out;
	size_t len = 0;
	int ret;

	ret = hsm_vault_mask(r->fw->vault, id, mk, kind, NULL, 0, &len);
	if (ret != HSM_VAULT_BUFFER_SMALL)
		return fw_status_vault(ret);
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, field);
	out = mbor_enc_bytes_reserve(r->e, len);
	if (!out)
		return AZIHSM_STATUS_RSP_TOO_LARGE;
	return fw_status_vault(hsm_vault_mask(r->fw->vault, id, mk, kind, out, len, &len));
}

uint32_t fw_svc_export_masked(struct fw_req *r)
{
	uint16_t id = 0;
	const struct fw_field f[] = {
		{ AZIHSM_MASK_F_KEY_ID, FW_U16, false, &id, NULL },
	};
	struct hsm_masking_key mk;
	struct hsm_key_attr attr;
	enum hsm_blob_owner kind;
	uint32_t st;

	st = fw_decode(r, f, 1);
	if (st)
		return st;
	if (!fw_key_id_valid(id))
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_check(r, HSM_OP_INFO);
	if (st)
		return st;
	st = fw_visible_key(r, id, &attr);
	if (st)
		return st;
	st = fw_check(r, attr.owner ? HSM_OP_SESSION_KEYS : HSM_OP_BACKUP);
	if (st)
		return st;
	if (!attr.owner)
		kind = HSM_BLOB_PERSISTENT;
	else if (fw_blob_owner(r, &kind))
		return AZIHSM_STATUS_NO_SESSION;
	if (fw_masking_key(r, &mk))
		return AZIHSM_STATUS_INTERNAL;
	st = fw_mask_to_rsp(r, id, &mk, kind, AZIHSM_MASK_F_BLOB);
	OPENSSL_cleanse(&mk, sizeof(mk));
	return st;
}

/* ---- AesEncryptDecrypt ----------------------------------------------- */

struct fw_aes_ctx {
	const struct fw_req *r;
	uint8_t mode;
	bool decrypt;
	struct fw_bytes iv, data, aad, tag;
	uint8_t tag_len;
	uint32_t xts_block;	/* XTS: 16-byte blocks into the data unit */
	uint8_t *out;		/* data.len bytes in the response */
	uint8_t gcm_iv[HSM_GCM_IV_LEN];	/* GCM encrypt: the IV drawn by the device */
	uint8_t iv_out[HSM_AES_BLOCK];
	uint8_t tag_out[HSM_GCM_TAG_LEN];
	bool fips;
	uint32_t st;
};

static int fw_aes_run(const struct hsm_key_ref *key, struct fw_aes_ctx *c, const uint8_t *in,
		      size_t len, uint8_t *out)
{
	bool enc = !c->decrypt;

	switch (c->mode) {
	case AZIHSM_AES_ECB:
		return hsm_ops_aes_ecb(key, enc, in, len, out, len, &c->fips);
	case AZIHSM_AES_CBC:
		return hsm_ops_aes_cbc(key, enc, c->iv.p, in, len, out, len, c->iv_out,
				       &c->fips);
	case AZIHSM_AES_CTR:
		return hsm_ops_aes_ctr(key, c->iv.p, in, len, out, len, c->iv_out, &c->fips);
	case AZIHSM_AES_XTS:
		return hsm_ops_aes_xts_at(key, enc, c->iv.p, c->xts_block, in, len, out, len,
					  &c->fips);
	default:
		if (c->decrypt)
			return hsm_ops_aes_gcm_decrypt_tag(key, c->iv.p, c->iv.len, c->aad.p,
							   c->aad.len, in, len, c->tag.p,
							   c->tag.len, out, len, &c->fips);
		return hsm_ops_aes_gcm_encrypt_tag(key, c->iv.p, c->iv.len, c->aad.p,
						   c->aad.len, in, len, out, len, c->tag_out,
						   c->tag_len, &c->fips);
	}
}

static void fw_aes_fn(const struct hsm_key_ref *key, void *ctx)
{
	struct fw_aes_ctx *c = ctx;
	uint8_t blk[HSM_AES_BLOCK] = { 0 }, scratch[HSM_AES_BLOCK];
	int st;

	c->st = fw_use_key_ref(c->r, key, c->decrypt ? HSM_USAGE_DECRYPT : HSM_USAGE_ENCRYPT);
	if (c->st)
		return;
	if (!c->data.len && c->mode != AZIHSM_AES_GCM) {
		/*
		 * Nothing to transform: one block into scratch checks the
		 * key and gives the flag; the chaining value stays the IV.
		 */
		st = fw_aes_run(key, c, blk, sizeof(blk), scratch);
		OPENSSL_cleanse(scratch, sizeof(scratch));
		if (c->iv.len == HSM_AES_BLOCK)
			memcpy(c->iv_out, c->iv.p, HSM_AES_BLOCK);
	} else {
		st = fw_aes_run(key, c, c->data.p, c->data.len, c->out);
	}
	/* Test only: the planted wrong answer of fault-corrupt (device.md). */
	if (!st && c->mode == c->r->fw->fault_corrupt_mode) {
		if (c->data.len)
			c->out[0] ^= 1;
		else if (!c->decrypt)
			c->tag_out[0] ^= 1;
	}
	c->st = fw_status_ops(st);
}

/*
 * Field presence and lengths of one AES request, by mode. @kernel: the
 * request is the kernel session's (the only one that may give a GCM
 * encryption IV).
 */
static uint32_t fw_aes_check(const struct fw_aes_ctx *c, bool kernel, bool has_iv,
			     bool has_aad, bool has_tag, bool has_tag_len, bool has_xts_block)
{
	size_t n = c->data.len;

	/* xts_block: XTS only; the slice must end within one data unit. */
	if (has_xts_block && c->mode != AZIHSM_AES_XTS)
		return AZIHSM_STATUS_INVALID_ARG;
	if (c->mode == AZIHSM_AES_XTS &&
	    (uint64_t)c->xts_block * HSM_AES_BLOCK + n > HSM_XTS_UNIT_MAX)
		return AZIHSM_STATUS_INVALID_ARG;

	switch (c->mode) {
	case AZIHSM_AES_ECB:
		if (has_iv || n % HSM_AES_BLOCK)
			return AZIHSM_STATUS_INVALID_ARG;
		break;
	case AZIHSM_AES_CBC:
	case AZIHSM_AES_CTR:
	case AZIHSM_AES_XTS:
		if (!has_iv || c->iv.len != HSM_AES_BLOCK)
			return AZIHSM_STATUS_INVALID_ARG;
		if (c->mode == AZIHSM_AES_CBC && n % HSM_AES_BLOCK)
			return AZIHSM_STATUS_INVALID_ARG;
		if (c->mode == AZIHSM_AES_XTS && n < HSM_AES_BLOCK)
			return AZIHSM_STATUS_INVALID_ARG;
		break;
	case AZIHSM_AES_GCM:
		/*
		 * issue 9, SP 800-38D 8.2.2: encryption IVs are drawn in the
		 * device; only the kernel session (the crypto API's callers
		 * choose their IVs) may give one, and then nothing is approved.
		 */
		if (has_iv ? c->iv.len != HSM_GCM_IV_LEN || (!c->decrypt && !kernel) :
			     c->decrypt)
			return AZIHSM_STATUS_INVALID_ARG;
		if (c->decrypt) {
			if (!has_tag || has_tag_len || c->tag.len < FW_GCM_TAG_MIN ||
			    c->tag.len > HSM_GCM_TAG_LEN)
				return AZIHSM_STATUS_INVALID_ARG;
			if (!kernel && c->tag.len < FW_GCM_DEC_TAG_MIN)
				return AZIHSM_STATUS_INVALID_ARG;
		} else if (has_tag || c->tag_len < FW_GCM_TAG_MIN ||
			   c->tag_len > HSM_GCM_TAG_LEN) {
			return AZIHSM_STATUS_INVALID_ARG;
		}
		return AZIHSM_STATUS_SUCCESS;
	default:
		return AZIHSM_STATUS_INVALID_ARG;
	}
	/* AAD and tags are GCM's. */
	return has_aad || has_tag || has_tag_len ? AZIHSM_STATUS_INVALID_ARG :
						   AZIHSM_STATUS_SUCCESS;
}

/*
 * The usage a request needs: decrypt or encrypt; CTR both, as its
 * encryption is its decryption (issue 9: an encrypt-only key must not
 * decrypt what it encrypted).
 */
static uint32_t fw_aes_need(const struct fw_aes_ctx *c)
{
	if (c->mode == AZIHSM_AES_CTR)
		return HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT;
	return c->decrypt ? HSM_USAGE_DECRYPT : HSM_USAGE_ENCRYPT;
}

uint32_t fw_svc_aes(struct fw_req *r)
{
	struct fw_aes_ctx c = { .r = r, .tag_len = HSM_GCM_TAG_LEN,
				.st = AZIHSM_STATUS_INTERNAL };
	bool has_iv = false, has_aad = false, has_tag = false, has_tag_len = false;
	bool has_xts_block = false;
	uint16_t id = 0;
	const struct fw_field f[] = {
		{ AZIHSM_AES_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_AES_F_MODE, FW_U8, false, &c.mode, NULL },
		{ AZIHSM_AES_F_DECRYPT, FW_BOOL, false, &c.decrypt, NULL },
		{ AZIHSM_AES_F_IV, FW_BYTES, true, &c.iv, &has_iv },
		{ AZIHSM_AES_F_DATA, FW_BYTES, false, &c.data, NULL },
		{ AZIHSM_AES_F_AAD, FW_BYTES, true, &c.aad, &has_aad },
		{ AZIHSM_AES_F_TAG, FW_BYTES, true, &c.tag, &has_tag },
		{ AZIHSM_AES_F_TAG_LEN, FW_U8, true, &c.tag_len, &has_tag_len },
		{ AZIHSM_AES_F_XTS_BLOCK, FW_U32, true, &c.xts_block, &has_xts_block },
	};
	bool gcm_enc, chain;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));
	if (st)
		return st;
	if (!fw_key_id_valid(id))
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_aes_check(&c, r->kernel, has_iv, has_aad, has_tag, has_tag_len, has_xts_block);
	if (st)
		return st;
	/* A key of another session is not found, whatever its usage. */
	st = fw_use_key_check(r, id, fw_aes_need(&c), NULL);
	if (st)
		return st;
	gcm_enc = c.mode == AZIHSM_AES_GCM && !c.decrypt;
	chain = c.mode == AZIHSM_AES_CBC || c.mode == AZIHSM_AES_CTR;
	if (gcm_enc && !has_iv) {
		if (hsm_fw_random(r->fw, c.gcm_iv, sizeof(c.gcm_iv)))
			return AZIHSM_STATUS_DRBG_FAILURE;
		c.iv.p = c.gcm_iv;
		c.iv.len = sizeof(c.gcm_iv);
	}
	mbor_enc_map(r->e, gcm_enc ? 3 : chain ? 2 : 1);
	mbor_enc_key(r->e, AZIHSM_AES_F_OUT);
	c.out = mbor_enc_bytes_reserve(r->e, c.data.len);
	if (!c.out || !fw_rsp_fits(r))
		return AZIHSM_STATUS_RSP_TOO_LARGE;
	ret = hsm_vault_with_key(r->fw->vault, id, fw_aes_need(&c), fw_aes_fn, &c);
	st = ret ? fw_status_vault(ret) : c.st;
	if (!st) {
		if (chain) {
			mbor_enc_key(r->e, AZIHSM_AES_F_IV_OUT);
			mbor_enc_bytes(r->e, c.iv_out, sizeof(c.iv_out));
		} else if (gcm_enc) {
			mbor_enc_key(r->e, AZIHSM_AES_F_IV_OUT);
			mbor_enc_bytes(r->e, c.iv.p, HSM_GCM_IV_LEN);
			mbor_enc_key(r->e, AZIHSM_AES_F_TAG_OUT);
			mbor_enc_bytes(r->e, c.tag_out, c.tag_len);
		}
		/* An IV from outside the module: never approved (IG C.H). */
		r->fips_approved = c.fips && !(gcm_enc && has_iv);
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return st;
}
