// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: zeroize and backup (ZeroizePartition 4042,
 * InitBk3 1111, GetSealedBk3 1112, SetSealedBk3 1113). Request and
 * response maps: include/azihsm/msg.h; design: "Zeroize" and "Backup" in
 * Documentation/hsm-design.md; the sealed blob: hsm_partition.c.
 *
 * All four are the officer's (classes ZEROIZE and BACKUP). Every change
 * is committed before the answer (NOT_STORED when that fails).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azihsm/hw.h"
#include "hsm_fw_int.h"
#include "hsm_identity.h"
#include "hsm_sd.h"

/* A P-384 SubjectPublicKeyInfo is 120 bytes; room to spare. */
#define SD_XCHG_DER_MAX		160

_Static_assert(AZIHSM_BK3_LEN == HSM_BK3_LEN, "BK3 length");
_Static_assert(AZIHSM_BK3_SEALED_MAX >= HSM_BK3_SEALED_LEN, "sealed BK3 length");

static uint32_t fw_status_part(int st)
{
	switch (st) {
	case HSM_PART_OK:
		return AZIHSM_STATUS_SUCCESS;
	case HSM_PART_NOT_STORED:
		return AZIHSM_STATUS_NOT_STORED;
	case HSM_PART_BK3_EXISTS:
		return AZIHSM_STATUS_BK3_EXISTS;
	case HSM_PART_NO_BK3:
		return AZIHSM_STATUS_NO_BK3;
	case HSM_PART_BAD_BLOB:
		return AZIHSM_STATUS_BAD_BLOB;
	case HSM_PART_NOT_EMPTY:
		return AZIHSM_STATUS_NOT_EMPTY;
	case HSM_PART_SD_EXISTS:
		return AZIHSM_STATUS_SD_EXISTS;
	}
	return AZIHSM_STATUS_INTERNAL;
}

/*
 * Zeroize: the new masking keys are made first, so that a failing RNG
 * refuses the command before anything is destroyed. Then the credentials
 * go back to the defaults (closing every session), every key goes, the
 * masking keys are replaced, the device moves to its next zeroize epoch
 * (nothing sealed before opens again: sealed BK3 blobs, masked blobs, the
 * state file), the BK3 is dropped, and the partition is committed.
 */
uint32_t fw_svc_zeroize(struct fw_req *r)
{
	struct hsm_masking_key mk, kmk;
	uint32_t st = fw_decode(r, NULL, 0);
	int ret;

	if (st)
		return st;
	st = fw_check(r, HSM_OP_ZEROIZE);
	if (st)
		return st;
	if (hsm_masking_key_generate(&mk) != HSM_VAULT_OK)
		return AZIHSM_STATUS_INTERNAL;
	if (hsm_masking_key_generate(&kmk) != HSM_VAULT_OK) {
		OPENSSL_cleanse(&mk, sizeof(mk));
		return AZIHSM_STATUS_INTERNAL;
	}
	fw_persist_begin(r->fw);
	/*
	 * The kernel masking key first: the kernel session needs no PIN, so
	 * one opened while the sessions are being closed must not open an
	 * old kernel blob. (A partition blob needs a session past ChangePin,
	 * whose commit waits for the persist lock we hold.)
	 */
	pthread_mutex_lock(&r->fw->kernel_mk_lock);
	r->fw->kernel_mk = kmk;
	pthread_mutex_unlock(&r->fw->kernel_mk_lock);
	OPENSSL_cleanse(&kmk, sizeof(kmk));
	ret = hsm_auth_zeroize(r->fw->auth, NULL, NULL);
	/* Even if the device key could not be renewed: the keys go. */
	hsm_vault_delete_all(r->fw->vault);
	fw_sd_drop_xchg(r->fw);
	st = fw_status_part(hsm_partition_zeroize(r->fw->part, &mk));
	fw_persist_end(r->fw);
	OPENSSL_cleanse(&mk, sizeof(mk));
	if (!st && ret)
		st = fw_status_auth(ret);
	/* The caller's session is closed whatever the outcome. */
	r->cmd->cqe_session_flags = AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_SAFE_TO_CLOSE;
	r->cmd->cqe_session_id = r->session_id;
	if (st)
		return st;
	mbor_enc_map(r->e, 0);
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_init_bk3(struct fw_req *r)
{
	uint32_t st = fw_decode(r, NULL, 0);

	if (!st)
		st = fw_check(r, HSM_OP_BACKUP);
	if (st)
		return st;
	fw_persist_begin(r->fw);
	st = fw_status_part(hsm_partition_init_bk3(r->fw->part));
	fw_persist_end(r->fw);
	if (st)
		return st;
	mbor_enc_map(r->e, 0);
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_get_sealed_bk3(struct fw_req *r)
{
	uint32_t st = fw_decode(r, NULL, 0);
	size_t len = 0;
	uint8_t *out;

	if (!st)
		st = fw_check(r, HSM_OP_BACKUP);
	if (st)
		return st;
	if (!hsm_partition_has_bk3(r->fw->part))
		return AZIHSM_STATUS_NO_BK3;
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_BK3_F_SEALED);
	out = mbor_enc_bytes_reserve(r->e, HSM_BK3_SEALED_LEN);
	if (!out)
		return AZIHSM_STATUS_RSP_TOO_LARGE;
	return fw_status_part(hsm_partition_sealed_bk3(r->fw->part, out, HSM_BK3_SEALED_LEN,
						       &len));
}

uint32_t fw_svc_set_sealed_bk3(struct fw_req *r)
{
	struct fw_bytes blob = { 0 };
	const struct fw_field f[] = {
		{ AZIHSM_BK3_F_SEALED, FW_BYTES, false, &blob, NULL },
	};
	uint32_t st = fw_decode(r, f, 1);

	if (!st)
		st = fw_check(r, HSM_OP_BACKUP);
	if (st)
		return st;
	/*
	 * Keys masked under the current masking key must not be orphaned
	 * (the partition checks, NOT_EMPTY); under the persist lock no
	 * persistent key appears meanwhile (those are made and committed
	 * under it, or committed before answered).
	 */
	fw_persist_begin(r->fw);
	st = fw_status_part(hsm_partition_set_sealed_bk3(r->fw->part, blob.p, blob.len));
	fw_persist_end(r->fw);
	if (st)
		return st;
	mbor_enc_map(r->e, 0);
	return AZIHSM_STATUS_SUCCESS;
}

/* ---- Security domain (Documentation/hsm-design.md "Security domain") ---- */

_Static_assert(AZIHSM_SD_OWNERS_MAX == HSM_SD_OWNERS_MAX, "owner count");
_Static_assert(AZIHSM_SD_F_OWNER_FIRST + HSM_SD_OWNERS_MAX - 1 < 256, "field ids");

#define SD_SHARE_MAX	(HSM_SD_RSA_BITS_MAX / 8)

static int sd_rng(void *ctx, void *out, size_t len)
{
	return hsm_fw_random(ctx, out, len);
}

/*
 * Install @sd (SdActivate, SdUpload), committed. Issue 10: keys made before
 * activation are not covered by backups. Whoever installs a domain may know
 * its key (the officer names the owners, or uploads a key of its own), so a
 * new domain only goes onto a partition without persistent keys
 * (NOT_EMPTY): every key SdBackupKey can mask was made or restored under
 * the domain, visibly (SdInfo). Under the persist lock, as every new
 * persistent key is made and committed. The domain already installed may be
 * uploaded again.
 */
static uint32_t sd_install(struct fw_req *r, const struct hsm_sd *sd)
{
	struct hsm_sd have;
	uint32_t st;

	fw_persist_begin(r->fw);
	if (!hsm_partition_sd(r->fw->part, &have) && hsm_vault_count_owner(r->fw->vault, 0))
		st = AZIHSM_STATUS_NOT_EMPTY;
	else
		st = fw_status_part(hsm_partition_set_sd(r->fw->part, sd));
	fw_persist_end(r->fw);
	OPENSSL_cleanse(&have, sizeof(have));
	return st;
}

/*
 * SdActivate: a new domain key from the device DRBG, split M of N, each
 * share encrypted to its owner; the domain is committed before the answer,
 * which is the only time the shares leave the device.
 */
uint32_t fw_svc_sd_activate(struct fw_req *r)
{
	struct fw_bytes own[HSM_SD_OWNERS_MAX] = { 0 };
	bool present[HSM_SD_OWNERS_MAX] = { false };
	struct fw_field f[1 + HSM_SD_OWNERS_MAX];
	const uint8_t *der[HSM_SD_OWNERS_MAX];
	size_t der_len[HSM_SD_OWNERS_MAX], ct_len[HSM_SD_OWNERS_MAX];
	uint8_t *ct[HSM_SD_OWNERS_MAX] = { NULL }, *buf = NULL;
	struct hsm_sd sd, have;
	uint8_t quorum = 0;
	unsigned int n = 0, i;
	uint32_t st;
	int ret;

	f[0] = (struct fw_field){ AZIHSM_SD_F_QUORUM, FW_U8, false, &quorum, NULL };
	for (i = 0; i < HSM_SD_OWNERS_MAX; i++)
		f[1 + i] = (struct fw_field){ (uint8_t)(AZIHSM_SD_F_OWNER_FIRST + i), FW_BYTES,
					      true, &own[i], &present[i] };
	st = fw_decode(r, f, 1 + HSM_SD_OWNERS_MAX);
	if (st)
		return st;
	while (n < HSM_SD_OWNERS_MAX && present[n])
		n++;
	for (i = n; i < HSM_SD_OWNERS_MAX; i++)
		if (present[i])
			return AZIHSM_STATUS_INVALID_ARG;	/* a gap */
	if (n < HSM_SD_OWNERS_MIN || quorum < 2 || quorum > n)
		return AZIHSM_STATUS_INVALID_ARG;
	if (hsm_partition_sd(r->fw->part, &have)) {
		OPENSSL_cleanse(&have, sizeof(have));
		return AZIHSM_STATUS_SD_EXISTS;
	}
	buf = calloc(n, SD_SHARE_MAX);
	if (!buf)
		return AZIHSM_STATUS_INTERNAL;
	for (i = 0; i < n; i++) {
		der[i] = own[i].p;
		der_len[i] = own[i].len;
		ct[i] = buf + i * SD_SHARE_MAX;
	}
	sd.quorum = quorum;
	if (hsm_fw_random(r->fw, sd.key, sizeof(sd.key)) || hsm_sd_make_id(&sd)) {
		st = AZIHSM_STATUS_INTERNAL;
		goto out;
	}
	ret = hsm_sd_split(&sd, n, der, der_len, sd_rng, r->fw, ct, SD_SHARE_MAX, ct_len);
	if (ret) {
		st = ret == HSM_SD_INVALID ? AZIHSM_STATUS_INVALID_ARG : AZIHSM_STATUS_INTERNAL;
		goto out;
	}
	mbor_enc_map(r->e, 2 + n);
	mbor_enc_key(r->e, AZIHSM_SD_F_ID);
	mbor_enc_bytes(r->e, sd.id, sizeof(sd.id));
	mbor_enc_key(r->e, AZIHSM_SD_F_ANS_QUORUM);
	mbor_enc_u8(r->e, quorum);
	for (i = 0; i < n; i++) {
		mbor_enc_key(r->e, (uint8_t)(AZIHSM_SD_F_SHARE_FIRST + i));
		mbor_enc_bytes(r->e, ct[i], ct_len[i]);
	}
	if (!fw_rsp_fits(r)) {
		st = AZIHSM_STATUS_RSP_TOO_LARGE;
		goto out;
	}
	/* Stored before the shares are handed out (never shares of no domain). */
	st = sd_install(r, &sd);
out:
	OPENSSL_cleanse(&sd, sizeof(sd));
	free(buf);
	return st;
}

/* The exchange key, made on first use; @der gets its public key. */
static uint32_t sd_xchg_public(struct hsm_fw *fw, uint8_t *der, size_t cap, size_t *len)
{
	unsigned char *p = der;
	int n;

	if (!fw->sd_xchg)
		fw->sd_xchg = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!fw->sd_xchg)
		return AZIHSM_STATUS_INTERNAL;
	n = i2d_PUBKEY(fw->sd_xchg, NULL);
	if (n <= 0 || (size_t)n > cap || i2d_PUBKEY(fw->sd_xchg, &p) != n)
		return AZIHSM_STATUS_INTERNAL;
	*len = (size_t)n;
	return AZIHSM_STATUS_SUCCESS;
}

/*
 * The partition key vouches for the exchange key (msg.h): ES384 over
 * AZIHSM_SD_XCHG_SIG_CONTEXT || its DER, so the owners upload the domain
 * key only to a key this device holds, never to one the channel swapped in.
 */
static bool sd_xchg_sig(struct hsm_fw *fw, const uint8_t *der, size_t len,
			uint8_t sig[HSM_ID_SIG_LEN])
{
	uint8_t msg[sizeof(AZIHSM_SD_XCHG_SIG_CONTEXT) - 1 + SD_XCHG_DER_MAX];
	size_t c = sizeof(AZIHSM_SD_XCHG_SIG_CONTEXT) - 1;

	if (!fw->id || len > SD_XCHG_DER_MAX)
		return false;
	memcpy(msg, AZIHSM_SD_XCHG_SIG_CONTEXT, c);
	memcpy(msg + c, der, len);
	return hsm_identity_sign(fw->id, msg, c + len, sig) == HSM_ID_OK;
}

uint32_t fw_svc_sd_exchange_key(struct fw_req *r)
{
	uint8_t der[SD_XCHG_DER_MAX], sig[HSM_ID_SIG_LEN];
	size_t len = 0;
	uint32_t st = fw_decode(r, NULL, 0);
	bool signed_ok;

	if (st)
		return st;
	pthread_mutex_lock(&r->fw->sd_lock);
	st = sd_xchg_public(r->fw, der, sizeof(der), &len);
	pthread_mutex_unlock(&r->fw->sd_lock);
	if (st)
		return st;
	signed_ok = sd_xchg_sig(r->fw, der, len, sig);
	mbor_enc_map(r->e, signed_ok ? 2 : 1);
	mbor_enc_key(r->e, AZIHSM_SD_F_XCHG_KEY);
	mbor_enc_bytes(r->e, der, len);
	if (signed_ok) {
		mbor_enc_key(r->e, AZIHSM_SD_F_XCHG_SIG);
		mbor_enc_bytes(r->e, sig, sizeof(sig));
	}
	return fw_rsp_fits(r) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_RSP_TOO_LARGE;
}

/*
 * A zeroize or tamper forgets the exchange key too: an upload sealed to it
 * before (which the guest, carrying every SdUpload, may have kept) must
 * not install a domain after it.
 */
void fw_sd_drop_xchg(struct hsm_fw *fw)
{
	pthread_mutex_lock(&fw->sd_lock);
	EVP_PKEY_free(fw->sd_xchg);
	fw->sd_xchg = NULL;
	pthread_mutex_unlock(&fw->sd_lock);
}

uint32_t fw_svc_sd_upload(struct fw_req *r)
{
	struct fw_bytes host = { 0 }, nonce = { 0 }, ct = { 0 }, tag = { 0 };
	const struct fw_field f[] = {
		{ AZIHSM_SD_F_HOST_KEY, FW_BYTES, false, &host, NULL },
		{ AZIHSM_SD_F_NONCE, FW_BYTES, false, &nonce, NULL },
		{ AZIHSM_SD_F_CT, FW_BYTES, false, &ct, NULL },
		{ AZIHSM_SD_F_TAG, FW_BYTES, false, &tag, NULL },
	};
	struct hsm_sd sd;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, 4);
	if (st)
		return st;
	if (nonce.len != HSM_SD_NONCE_LEN || tag.len != HSM_SD_TAG_LEN ||
	    ct.len != HSM_SD_UPLOAD_PLAIN)
		return AZIHSM_STATUS_BAD_BLOB;
	pthread_mutex_lock(&r->fw->sd_lock);
	if (!r->fw->sd_xchg) {
		pthread_mutex_unlock(&r->fw->sd_lock);
		return AZIHSM_STATUS_BAD_BLOB;	/* no exchange key given out */
	}
	ret = hsm_sd_open_upload(r->fw->sd_xchg, host.p, host.len, nonce.p, ct.p, ct.len, tag.p,
				 &sd);
	/* One try per exchange key. */
	EVP_PKEY_free(r->fw->sd_xchg);
	r->fw->sd_xchg = NULL;
	pthread_mutex_unlock(&r->fw->sd_lock);
	if (ret)
		return ret == HSM_SD_BAD_UPLOAD ? AZIHSM_STATUS_BAD_BLOB : AZIHSM_STATUS_INTERNAL;
	st = sd_install(r, &sd);
	if (!st) {
		mbor_enc_map(r->e, 1);
		mbor_enc_key(r->e, AZIHSM_SD_F_ID);
		mbor_enc_bytes(r->e, sd.id, sizeof(sd.id));
		if (!fw_rsp_fits(r))
			st = AZIHSM_STATUS_RSP_TOO_LARGE;
	}
	OPENSSL_cleanse(&sd, sizeof(sd));
	return st;
}

/* The domain's masking key: NO_SD without a domain. */
static uint32_t sd_mk(struct fw_req *r, struct hsm_masking_key *mk)
{
	uint8_t buf[HSM_SD_MASK_LEN];
	struct hsm_sd sd;
	int ret;

	_Static_assert(sizeof(buf) == sizeof(mk->enc) + sizeof(mk->mac), "masking key layout");
	if (!hsm_partition_sd(r->fw->part, &sd))
		return AZIHSM_STATUS_NO_SD;
	ret = hsm_sd_masking_key(&sd, buf);
	OPENSSL_cleanse(&sd, sizeof(sd));
	if (!ret)
		hsm_masking_key_load(mk, buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret ? AZIHSM_STATUS_INTERNAL : AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_sd_backup_key(struct fw_req *r)
{
	uint16_t id = 0;
	const struct fw_field f[] = {
		{ AZIHSM_SD_F_KEY_ID, FW_U16, false, &id, NULL },
	};
	struct hsm_masking_key mk;
	struct hsm_key_attr attr;
	uint32_t st;

	st = fw_decode(r, f, 1);
	if (st)
		return st;
	if (!fw_key_id_valid(id))
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_visible_key(r, id, &attr);
	if (st)
		return st;
	if (attr.owner)
		return AZIHSM_STATUS_INVALID_ARG;	/* session keys are not backed up */
	st = sd_mk(r, &mk);
	if (st)
		return st;
	st = fw_mask_to_rsp(r, id, &mk, HSM_BLOB_PERSISTENT, AZIHSM_SD_F_BLOB);
	OPENSSL_cleanse(&mk, sizeof(mk));
	return st;
}

uint32_t fw_svc_sd_restore_key(struct fw_req *r)
{
	struct fw_bytes blob = { 0 };
	const struct fw_field f[] = {
		{ AZIHSM_SD_F_BLOB, FW_BYTES, false, &blob, NULL },
	};
	struct hsm_masking_key mk;
	uint16_t id = 0;
	uint32_t st;
	int ret;

	st = fw_decode(r, f, 1);
	if (st)
		return st;
	if (!blob.len)
		return AZIHSM_STATUS_BAD_BLOB;
	fw_persist_begin(r->fw);
	st = sd_mk(r, &mk);
	if (st)
		goto out;
	/* The domain key is known to its owners: they can make blobs too. */
	ret = hsm_vault_unmask_foreign(r->fw->vault, &mk, blob.p, blob.len, HSM_BLOB_OFFICER, 0,
				       &id);
	OPENSSL_cleanse(&mk, sizeof(mk));
	if (ret) {
		switch (ret) {
		case HSM_VAULT_BAD_BLOB:
		case HSM_VAULT_BAD_MATERIAL:
			st = AZIHSM_STATUS_BAD_BLOB;
			break;
		case HSM_VAULT_KEY_EXISTS:
			st = AZIHSM_STATUS_KEY_EXISTS;
			break;
		case HSM_VAULT_KEY_DELETED:
			st = AZIHSM_STATUS_KEY_DELETED;
			break;
		case HSM_VAULT_WRONG_OWNER:
			st = AZIHSM_STATUS_WRONG_ROLE;
			break;
		default:
			st = fw_status_vault(ret);
		}
		goto out;
	}
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_SD_F_KEY_ID);
	mbor_enc_u16(r->e, id);
	st = fw_rsp_fits(r) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_RSP_TOO_LARGE;
	if (!st && fw_persist_commit(r->fw))
		st = AZIHSM_STATUS_NOT_STORED;
	if (st)
		hsm_vault_delete(r->fw->vault, id);	/* nothing unstored acknowledged */
out:
	fw_persist_end(r->fw);
	return st;
}

uint32_t fw_svc_sd_info(struct fw_req *r)
{
	struct hsm_sd sd = { 0 };
	uint32_t st = fw_decode(r, NULL, 0);
	bool active;

	if (st)
		return st;
	active = hsm_partition_sd(r->fw->part, &sd);
	mbor_enc_map(r->e, 3);
	mbor_enc_key(r->e, AZIHSM_SD_F_ACTIVE);
	mbor_enc_bool(r->e, active);
	mbor_enc_key(r->e, AZIHSM_SD_F_INFO_ID);
	mbor_enc_bytes(r->e, sd.id, sizeof(sd.id));
	mbor_enc_key(r->e, AZIHSM_SD_F_INFO_QUORUM);
	mbor_enc_u8(r->e, sd.quorum);
	OPENSSL_cleanse(&sd, sizeof(sd));
	return fw_rsp_fits(r) ? AZIHSM_STATUS_SUCCESS : AZIHSM_STATUS_RSP_TOO_LARGE;
}
