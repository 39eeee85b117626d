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
#include <openssl/crypto.h>

#include "azihsm/hw.h"
#include "hsm_fw_int.h"

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
