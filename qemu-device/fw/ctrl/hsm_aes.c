// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * AES fast path: one 128-byte AES SQE is one AES-XTS, AES-GCM or AES-CBC
 * operation on data described by two SGLs, with a key the guest names by
 * id (raw keys never travel on this path). Documentation/device.md,
 * section 10, is the contract; in short:
 *
 *  - attr: cmd_type 5, PSDT SGL, cipher 0 (GCM), 1 (XTS) or 2 (CBC, an
 *    azihsm extension), reserved bits
 *    zero; frame_type 1; src_len and dst_len at most 1 MiB.
 *  - XTS: key_id1 names an AES256_XTS or AES128_XTS key (key_id2 is 0 or
 *    key_id1); the
 *    data is split into data units of 512/4096/8192 bytes (attr bits
 *    14-15), the SQE tweak is the first unit's and each next unit's is the
 *    previous + 1 (128-bit little endian); a final short unit of >= 16
 *    bytes uses ciphertext stealing. dst_len == src_len.
 *  - GCM: key_id names an AES256_GCM or AES-128/192/256 key; src holds the AAD
 *    (aad_len bytes, padded to aad_len_aligned = round_up(aad_len, 16))
 *    followed by the text; dst receives the text only. Encrypt returns the
 *    tag in the CQE, decrypt checks the SQE tag (AES_TAG_MISMATCH, nothing
 *    written, on a mismatch). Encryption IVs: the device draws them (the
 *    CQE's iv) except for the kernel session, whose SQE IV is used and
 *    whose encryption is then not approved.
 *  - CBC: key_id names an AES-128/192/256 key, the IV is at @76 (the XTS
 *    tweak bytes), @72 must be 0, the data-unit code 0; src_len == dst_len,
 *    a multiple of 16, no padding. The CQE's cbc_iv returns the output IV
 *    (the last ciphertext block) so that a guest can chain requests.
 *  - session_id must name an open session and short_app_id be the one
 *    the device gave it; the key use is hsm_authz_use_key's decision (the
 *    control path's rule: role, must-change, visibility, usage). Every
 *    refusal is AES_KEY_INVALID with the reason in the CQE's err.
 *
 * Data is gathered into a private buffer, transformed into a second one
 * and scattered, so an in-place request (dst SGL == src SGL) just works
 * and the guest cannot change the input under the cipher. Both buffers
 * are cleansed before they are freed.
 *
 * This file is the queue side only (SQE checks, SGLs, key lookup, owner
 * and usage, data units and tweaks, the CQE). The ciphers, the key type
 * rules (which key fits which mode, XTS halves different) and the FIPS
 * flag are hsm_ops': hsm_ops_aes_xts once per data unit,
 * hsm_ops_aes_gcm_encrypt / _decrypt and hsm_ops_aes_cbc, with statuses mapped by aes_status().
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_authz.h"
#include "hsm_ctrl_int.h"
#include "hsm_ops.h"
#include "hsm_sgl.h"
#include "hsm_vault.h"

_Static_assert(AZIHSM_AES_XTS_TWEAK_LEN == HSM_XTS_TWEAK_LEN, "XTS tweak size");
_Static_assert(AZIHSM_AES_GCM_IV_LEN == HSM_GCM_IV_LEN, "GCM IV size");
_Static_assert(AZIHSM_AES_GCM_TAG_LEN == HSM_GCM_TAG_LEN, "GCM tag size");
_Static_assert(AZIHSM_AES_CBC_IV_LEN == HSM_AES_BLOCK, "CBC IV size");

/* One command after validation, and what the key callback produces. */
struct aes_job {
	struct hsm_ctrl *c;
	unsigned int cipher;		/* AZIHSM_AES_CIPHER_* */
	bool decrypt;
	uint16_t session_id;
	uint16_t app_id;		/* the SQE's short_app_id */
	uint32_t key_id;
	uint32_t du;			/* XTS data unit bytes */
	uint32_t src_len, dst_len;
	uint32_t aad_len, aad_skip;	/* GCM: AAD bytes, bytes before the text */
	uint8_t iv[AZIHSM_AES_XTS_TWEAK_LEN];	/* XTS tweak, CBC IV or GCM IV (12) */
	uint8_t iv_out[AZIHSM_AES_CBC_IV_LEN];	/* CBC: the chaining value out */
	uint8_t tag[AZIHSM_AES_GCM_TAG_LEN];	/* GCM: in (decrypt) / out (encrypt) */
	const uint8_t *in;		/* text: src_len - aad_skip bytes */
	const uint8_t *aad;
	uint8_t *out;			/* dst_len bytes */
	bool fips;			/* set by the key callback: hsm_ops' flag */
	uint16_t sc;			/* set by the key callback */
	uint16_t err;			/* AES_KEY_INVALID: why (an AZIHSM_STATUS_*) */
};

static const uint32_t aes_du_bytes[] = { 512, 4096, 8192 };

static uint16_t aes_parse_xts(struct hsm_ctrl *c, const struct azihsm_aes_sqe *sqe,
			      uint16_t attr, struct aes_job *j)
{
	unsigned int dul = (attr & AZIHSM_AES_ATTR_DUL_MASK) >> AZIHSM_AES_ATTR_DUL_SHIFT;
	uint32_t key2 = le32toh(sqe->xts.key_id2), tail;

	if (dul >= sizeof(aes_du_bytes) / sizeof(aes_du_bytes[0])) {
		hsm_ctrl_guest_error(c, "AES XTS data-unit length code %u invalid", dul);
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->du = aes_du_bytes[dul];
	if (j->dst_len != j->src_len) {
		hsm_ctrl_guest_error(c, "AES XTS src_len %u != dst_len %u",
				     j->src_len, j->dst_len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	tail = j->src_len % j->du;
	if (tail && tail < HSM_AES_BLOCK) {
		hsm_ctrl_guest_error(c, "AES XTS: a data unit of %u bytes (under 16)", tail);
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->key_id = le32toh(sqe->xts.key_id1);
	/* One vault key holds both halves: key_id2 may only repeat key_id1. */
	if (key2 && key2 != j->key_id) {
		hsm_ctrl_guest_error(c, "AES XTS key_id2 %u: must be 0 or key_id1 (%u)",
				     key2, j->key_id);
		return AZIHSM_SC_INVALID_FIELD;
	}
	memcpy(j->iv, sqe->xts.tweak, AZIHSM_AES_XTS_TWEAK_LEN);
	return AZIHSM_SC_SUCCESS;
}

static uint16_t aes_parse_gcm(struct hsm_ctrl *c, const struct azihsm_aes_sqe *sqe,
			      uint16_t attr, struct aes_job *j)
{
	uint32_t aligned = le32toh(sqe->gcm.aad_len_aligned);

	if (attr & AZIHSM_AES_ATTR_DUL_MASK) {
		hsm_ctrl_guest_error(c, "AES GCM with a data-unit length code");
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->aad_len = le32toh(sqe->gcm.aad_len);
	if (j->aad_len > j->src_len || aligned > j->src_len ||
	    aligned != ((j->aad_len + HSM_AES_BLOCK - 1) & ~(uint32_t)(HSM_AES_BLOCK - 1))) {
		hsm_ctrl_guest_error(c, "AES GCM aad_len %u aligned %u src_len %u: the AAD "
				     "must be padded to 16 bytes and fit in src",
				     j->aad_len, aligned, j->src_len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->aad_skip = aligned;
	if (j->dst_len != j->src_len - aligned) {
		hsm_ctrl_guest_error(c, "AES GCM dst_len %u: must be src_len - aligned AAD (%u)",
				     j->dst_len, j->src_len - aligned);
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->key_id = le32toh(sqe->gcm.key_id);
	memcpy(j->iv, sqe->gcm.iv, AZIHSM_AES_GCM_IV_LEN);
	memcpy(j->tag, sqe->gcm.tag, AZIHSM_AES_GCM_TAG_LEN);
	return AZIHSM_SC_SUCCESS;
}

static uint16_t aes_parse_cbc(struct hsm_ctrl *c, const struct azihsm_aes_sqe *sqe,
			      uint16_t attr, struct aes_job *j)
{
	if (attr & AZIHSM_AES_ATTR_DUL_MASK) {
		hsm_ctrl_guest_error(c, "AES CBC with a data-unit length code");
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (sqe->cbc.rsvd72) {
		hsm_ctrl_guest_error(c, "AES CBC: bytes 72..75 must be 0");
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (j->dst_len != j->src_len || j->src_len % HSM_AES_BLOCK) {
		hsm_ctrl_guest_error(c, "AES CBC src_len %u dst_len %u: must be equal "
				     "multiples of 16", j->src_len, j->dst_len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->key_id = le32toh(sqe->cbc.key_id);
	memcpy(j->iv, sqe->cbc.iv, AZIHSM_AES_CBC_IV_LEN);
	return AZIHSM_SC_SUCCESS;
}

/* Check everything the SQE says before touching guest memory or keys. */
static uint16_t aes_parse(struct hsm_ctrl *c, const struct azihsm_aes_sqe *sqe,
			  struct aes_job *j)
{
	uint16_t attr = le16toh(sqe->attr);
	unsigned int type = (attr & AZIHSM_AES_ATTR_CMD_TYPE_MASK) >>
			    AZIHSM_AES_ATTR_CMD_TYPE_SHIFT;

	if (type != AZIHSM_AES_ATTR_CMD_TYPE_AES) {
		hsm_ctrl_guest_error(c, "AES SQE cmd_type %u: only 5 (AES) is served", type);
		return AZIHSM_SC_INVALID_OPCODE;
	}
	if (!(attr & AZIHSM_AES_ATTR_PSDT_SGL)) {
		hsm_ctrl_guest_error(c, "AES SQE psdt PRP: only SGL is supported");
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (attr & ~AZIHSM_AES_ATTR_KNOWN) {
		hsm_ctrl_guest_error(c, "AES SQE attr 0x%x: reserved bits set", attr);
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->cipher = (attr & AZIHSM_AES_ATTR_CIPHER_MASK) >> AZIHSM_AES_ATTR_CIPHER_SHIFT;
	if (j->cipher != AZIHSM_AES_CIPHER_GCM && j->cipher != AZIHSM_AES_CIPHER_XTS &&
	    j->cipher != AZIHSM_AES_CIPHER_CBC) {
		hsm_ctrl_guest_error(c, "AES SQE cipher %u unknown", j->cipher);
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (le32toh(sqe->frame_type) != AZIHSM_AES_FRAME_TYPE) {
		hsm_ctrl_guest_error(c, "AES SQE frame_type %u: must be 1",
				     le32toh(sqe->frame_type));
		return AZIHSM_SC_INVALID_FIELD;
	}
	j->decrypt = attr & AZIHSM_AES_ATTR_DECRYPT;
	j->session_id = le16toh(sqe->session_id);
	j->app_id = le16toh(sqe->short_app_id);
	j->src_len = le32toh(sqe->src_len);
	j->dst_len = le32toh(sqe->dst_len);
	if (!j->src_len || j->src_len > HSM_SGL_BYTES_MAX || j->dst_len > HSM_SGL_BYTES_MAX) {
		hsm_ctrl_guest_error(c, "AES SQE lengths src %u dst %u out of range",
				     j->src_len, j->dst_len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (j->cipher == AZIHSM_AES_CIPHER_XTS)
		return aes_parse_xts(c, sqe, attr, j);
	if (j->cipher == AZIHSM_AES_CIPHER_CBC)
		return aes_parse_cbc(c, sqe, attr, j);
	return aes_parse_gcm(c, sqe, attr, j);
}

/* The next data unit's tweak: + 1 as a 128-bit little-endian integer. */
static void aes_tweak_inc(uint8_t t[AZIHSM_AES_XTS_TWEAK_LEN])
{
	unsigned int i;

	for (i = 0; i < AZIHSM_AES_XTS_TWEAK_LEN; i++)
		if (++t[i])
			break;
}

/*
 * Test only: the planted wrong answer of fault-corrupt (device.md, the
 * same flip as AesEncryptDecrypt's in hsm_svc_kernel.c).
 */
static void aes_fault(struct aes_job *j, const char *mode, int st)
{
	const char *f = j->c->cfg.fault_corrupt;

	if (st != HSM_OPS_OK || !f || strcmp(f, mode))
		return;
	if (j->dst_len)
		j->out[0] ^= 1;
	else if (j->cipher == AZIHSM_AES_CIPHER_GCM && !j->decrypt)
		j->tag[0] ^= 1;
}

/* One hsm_ops_aes_xts call per data unit, each with its own tweak. */
static int aes_xts(struct aes_job *j, const struct hsm_key_ref *key)
{
	uint8_t tweak[AZIHSM_AES_XTS_TWEAK_LEN];
	uint32_t off, unit;
	bool fips;
	int st = HSM_OPS_OK;

	memcpy(tweak, j->iv, sizeof(tweak));
	for (off = 0; off < j->src_len && st == HSM_OPS_OK; off += unit) {
		unit = j->src_len - off < j->du ? j->src_len - off : j->du;
		st = hsm_ops_aes_xts(key, !j->decrypt, tweak, j->in + off, unit, j->out + off,
				     unit, &fips);
		j->fips = j->fips && fips;
		aes_tweak_inc(tweak);
	}
	OPENSSL_cleanse(tweak, sizeof(tweak));
	aes_fault(j, "aes-xts", st);
	return st;
}

static int aes_gcm(struct aes_job *j, const struct hsm_key_ref *key)
{
	bool fips;
	int st;

	if (j->decrypt)
		st = hsm_ops_aes_gcm_decrypt(key, j->iv, AZIHSM_AES_GCM_IV_LEN, j->aad,
					     j->aad_len, j->in, j->dst_len, j->tag, j->out,
					     j->dst_len, &fips);
	else
		st = hsm_ops_aes_gcm_encrypt(key, j->iv, AZIHSM_AES_GCM_IV_LEN, j->aad,
					     j->aad_len, j->in, j->dst_len, j->out, j->dst_len,
					     j->tag, &fips);
	j->fips = j->fips && fips;
	aes_fault(j, "aes-gcm", st);
	return st;
}

static int aes_cbc(struct aes_job *j, const struct hsm_key_ref *key)
{
	bool fips;
	int st;

	st = hsm_ops_aes_cbc(key, !j->decrypt, j->iv, j->in, j->src_len, j->out, j->dst_len,
			     j->iv_out, &fips);
	j->fips = j->fips && fips;
	aes_fault(j, "aes-cbc", st);
	return st;
}

/* hsm_ops status -> completion status (hsm_ops has checked the key type). */
static uint16_t aes_status(struct aes_job *j, int st)
{
	static const char *const modes[] = { "GCM", "XTS", "CBC" };
	const char *mode = modes[j->cipher];

	switch (st) {
	case HSM_OPS_OK:
		return AZIHSM_SC_SUCCESS;
	case HSM_OPS_WRONG_KEY_TYPE:
		hsm_ctrl_guest_error(j->c, "AES key %u cannot be used for AES-%s",
				     j->key_id, mode);
		j->err = AZIHSM_STATUS_KEY_TYPE;
		return AZIHSM_SC_AES_KEY_INVALID;
	case HSM_OPS_BAD_TAG:
		hsm_ctrl_guest_error(j->c, "AES GCM decrypt: tag mismatch");
		return AZIHSM_SC_AES_TAG_MISMATCH;
	default:
		/* every length and parameter was validated: a firmware failure */
		hsm_ctrl_guest_error(j->c, "AES %s: %s", mode, hsm_ops_strerror(st));
		return AZIHSM_SC_INTERNAL;
	}
}

/* An authorization refusal: AES_KEY_INVALID, the reason in err. */
static uint16_t aes_refuse(struct aes_job *j, uint16_t err, const char *why)
{
	hsm_ctrl_guest_error(j->c, "AES key %u, session %u: %s", j->key_id, j->session_id, why);
	j->err = err;
	return AZIHSM_SC_AES_KEY_INVALID;
}

/* hsm_authz_use_key's answer as a completion (err: the HSM status). */
static uint16_t aes_authz(struct aes_job *j, enum hsm_authz_status st)
{
	switch (st) {
	case HSM_AUTHZ_OK:
		return AZIHSM_SC_SUCCESS;
	case HSM_AUTHZ_NO_SESSION:
		return aes_refuse(j, AZIHSM_STATUS_NO_SESSION, "no such session");
	case HSM_AUTHZ_MUST_CHANGE_PIN:
		return aes_refuse(j, AZIHSM_STATUS_MUST_CHANGE_PIN, "session must change its PIN");
	case HSM_AUTHZ_WRONG_ROLE:
		return aes_refuse(j, AZIHSM_STATUS_WRONG_ROLE, "role may not use keys");
	case HSM_AUTHZ_NOT_VISIBLE:
		return aes_refuse(j, AZIHSM_STATUS_KEY_NOT_FOUND, "no such key");
	case HSM_AUTHZ_USAGE:
		return aes_refuse(j, AZIHSM_STATUS_KEY_USAGE, "key lacks the usage");
	}
	return AZIHSM_SC_INTERNAL;
}

static uint32_t aes_need(const struct aes_job *j)
{
	return j->decrypt ? HSM_USAGE_DECRYPT : HSM_USAGE_ENCRYPT;
}

/* Runs with the key borrowed from the vault; material is valid only here. */
static void aes_with_key(const struct hsm_key_ref *key, void *ctx)
{
	struct aes_job *j = ctx;
	struct hsm_authz_key k = hsm_authz_of_ref(key);
	enum hsm_auth_role role = HSM_ROLE_OFFICER;

	/*
	 * The one rule, on the borrowed key itself: no window for the key or
	 * the session (closed, its id drawn again) to change hands.
	 */
	if (hsm_auth_session_held(hsm_fw_auth(j->c->fw), j->session_id, j->app_id, &role)) {
		j->sc = aes_refuse(j, AZIHSM_STATUS_NO_SESSION, "session closed meanwhile");
		return;
	}
	j->sc = aes_authz(j, hsm_authz_use_key(hsm_fw_auth(j->c->fw), j->session_id, &k,
					       aes_need(j)));
	if (j->sc)
		return;
	j->fips = true;
	if (j->cipher == AZIHSM_AES_CIPHER_XTS) {
		j->sc = aes_status(j, aes_xts(j, key));
	} else if (j->cipher == AZIHSM_AES_CIPHER_CBC) {
		j->sc = aes_status(j, aes_cbc(j, key));
	} else {
		/*
		 * issue 9, SP 800-38D 8.2.2: an encryption IV is the device's
		 * own (the SQE's is ignored, the CQE returns the one used),
		 * except for the kernel session, whose crypto-API callers
		 * choose theirs: then nothing is approved.
		 */
		if (!j->decrypt && role != HSM_ROLE_KERNEL &&
		    hsm_fw_random(j->c->fw, j->iv, AZIHSM_AES_GCM_IV_LEN)) {
			j->sc = AZIHSM_SC_HSM_DEVICE_ERROR;
			return;
		}
		j->sc = aes_status(j, aes_gcm(j, key));
		if (!j->decrypt && role == HSM_ROLE_KERNEL)
			j->fips = false;
	}
}

/*
 * May the SQE use its key? Before any guest memory is touched: the
 * session is held (open, its short_app_id), then hsm_authz_use_key on the
 * key's attributes. The same rule runs again on the borrowed key.
 */
static uint16_t aes_authorize(struct hsm_ctrl *c, struct aes_job *j)
{
	struct hsm_authz_key k;
	struct hsm_key_attr a;
	uint16_t sc;

	if (hsm_auth_session_held(hsm_fw_auth(c->fw), j->session_id, j->app_id, NULL) !=
	    HSM_AUTH_OK)
		return aes_refuse(j, AZIHSM_STATUS_NO_SESSION,
				  "no such session (or not its short_app_id)");
	if (j->key_id < HSM_KEY_ID_MIN || j->key_id > HSM_KEY_ID_MAX ||
	    hsm_vault_get_attr(hsm_fw_vault(c->fw), (uint16_t)j->key_id, &a) != HSM_VAULT_OK) {
		/* The session's checks first: a restricted one learns nothing. */
		k = (struct hsm_authz_key){ .owner = j->session_id };
		sc = aes_authz(j, hsm_authz_use_key(hsm_fw_auth(c->fw), j->session_id, &k, 0));
		return sc ? sc : aes_refuse(j, AZIHSM_STATUS_KEY_NOT_FOUND, "no such key");
	}
	k = hsm_authz_of_attr(&a);
	return aes_authz(j, hsm_authz_use_key(hsm_fw_auth(c->fw), j->session_id, &k, aes_need(j)));
}

static uint16_t aes_run_key(struct hsm_ctrl *c, struct aes_job *j)
{
	int ret;

	j->sc = AZIHSM_SC_INTERNAL;
	ret = hsm_vault_with_key(hsm_fw_vault(c->fw), (uint16_t)j->key_id, aes_need(j),
				 aes_with_key, j);
	switch (ret) {
	case HSM_VAULT_OK:
		return j->sc;
	case HSM_VAULT_NOT_FOUND:
	case HSM_VAULT_USAGE_DENIED:
		/* Changed since aes_authorize (deleted, id taken again). */
		return aes_refuse(j, AZIHSM_STATUS_KEY_NOT_FOUND, "no such key");
	default:
		hsm_ctrl_guest_error(c, "AES key %u: %s", j->key_id, hsm_vault_strerror(ret));
		return AZIHSM_SC_INTERNAL;
	}
}

/* Returns the status; *written = bytes scattered to dst on success. */
static uint16_t aes_run(struct hsm_ctrl *c, struct aes_job *j, const struct azihsm_aes_sqe *sqe,
			uint32_t *written)
{
	struct hsm_sgl *src = NULL, *dst = NULL;
	uint8_t *in = NULL, *out = NULL;
	uint16_t sc;

	sc = aes_parse(c, sqe, j);
	if (!sc)
		sc = aes_authorize(c, j);
	if (sc)
		return sc;
	src = malloc(sizeof(*src));
	dst = malloc(sizeof(*dst));
	in = malloc(j->src_len);
	out = malloc(j->dst_len ? j->dst_len : 1);
	if (!src || !dst || !in || !out) {
		sc = AZIHSM_SC_INTERNAL;
		goto out;
	}
	sc = hsm_sgl_walk(c, &sqe->src, j->src_len, src);
	/* GCM with AAD only (GMAC): dst_len 0, the dst descriptor is unused. */
	if (!sc && j->dst_len)
		sc = hsm_sgl_walk(c, &sqe->dst, j->dst_len, dst);
	if (!sc)
		sc = hsm_sgl_read(c, src, in);
	if (sc)
		goto out;
	j->aad = in;
	j->in = in + j->aad_skip;
	j->out = out;
	sc = aes_run_key(c, j);
	if (!sc && j->dst_len)
		sc = hsm_sgl_write(c, dst, out);
	if (!sc)
		*written = j->dst_len;
out:
	if (in)
		OPENSSL_cleanse(in, j->src_len);
	if (out)
		OPENSSL_cleanse(out, j->dst_len ? j->dst_len : 1);
	free(in);
	free(out);
	free(src);
	free(dst);
	return sc;
}

void hsm_io_execute_aes(struct hsm_ctrl *c, const struct azihsm_aes_sqe *sqe,
			struct azihsm_aes_cqe *cqe)
{
	struct aes_job j = { .c = c };
	uint32_t written = 0;
	uint16_t sc;

	if (hsm_fw_in_error_state(c->fw))
		sc = AZIHSM_SC_HSM_DEVICE_ERROR;
	else
		sc = aes_run(c, &j, sqe, &written);

	cqe->attr = sqe->attr;
	cqe->cmd_id = sqe->cmd_id;
	if (sc == AZIHSM_SC_AES_KEY_INVALID)
		cqe->err = htole16(j.err);
	if (!sc) {
		cqe->fips_approved = htole32(j.fips ? 1 : 0);
		cqe->len = htole32(written);
		if (j.cipher == AZIHSM_AES_CIPHER_GCM) {
			memcpy(cqe->iv, j.iv, AZIHSM_AES_GCM_IV_LEN);
			if (!j.decrypt)
				memcpy(cqe->tag, j.tag, AZIHSM_AES_GCM_TAG_LEN);
		} else if (j.cipher == AZIHSM_AES_CIPHER_CBC) {
			memcpy(cqe->cbc_iv, j.iv_out, AZIHSM_AES_CBC_IV_LEN);
		}
	}
	OPENSSL_cleanse(&j, sizeof(j));
	cqe->status = htole16((uint16_t)(sc << AZIHSM_CQE_STATUS_SHIFT));
}
