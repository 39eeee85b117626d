// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware: decodes an MBOR request, runs the service, encodes the
 * response. Every request is answered with a response header, so the host
 * always learns why a request failed; only a response buffer too small for
 * even the header yields a completion error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_fw_int.h"
#include "hsm_identity.h"

/* MBOR encoding of the response header's fips_approved value. */
#define FW_MBOR_FALSE	0x14
#define FW_MBOR_TRUE	0x15

uint32_t fw_decode(struct fw_req *r, const struct fw_field *f, unsigned int n)
{
	struct mbor_map m;
	unsigned int i = 0, k;
	uint8_t id;
	int ret;

	for (k = 0; k < n; k++)
		if (f[k].present)
			*f[k].present = false;
	if (r->d) {
		if (mbor_dec_map(r->d, &m))
			return AZIHSM_STATUS_MALFORMED;
		while ((ret = mbor_dec_next(r->d, &m, &id)) == 1) {
			/* Ids ascend in both the map and @f. */
			while (i < n && f[i].id < id) {
				if (!f[i].optional)
					return AZIHSM_STATUS_MALFORMED;
				i++;
			}
			if (i == n || f[i].id != id)
				return AZIHSM_STATUS_MALFORMED;
			switch (f[i].type) {
			case FW_U8:
				ret = mbor_dec_u8(r->d, f[i].val);
				break;
			case FW_U16:
				ret = mbor_dec_u16(r->d, f[i].val);
				break;
			case FW_U32:
				ret = mbor_dec_u32(r->d, f[i].val);
				break;
			case FW_U64:
				ret = mbor_dec_u64(r->d, f[i].val);
				break;
			case FW_BOOL:
				ret = mbor_dec_bool(r->d, f[i].val);
				break;
			case FW_BYTES: {
				struct fw_bytes *b = f[i].val;

				ret = mbor_dec_bytes(r->d, &b->p, &b->len);
				break;
			}
			default:
				ret = -1;
			}
			if (ret)
				return AZIHSM_STATUS_MALFORMED;
			if (f[i].present)
				*f[i].present = true;
			i++;
		}
		/* The data map ends the request: nothing may follow it. */
		if (ret < 0 || mbor_dec_finish(r->d))
			return AZIHSM_STATUS_MALFORMED;
	}
	for (; i < n; i++)
		if (!f[i].optional)
			return AZIHSM_STATUS_MALFORMED;
	return AZIHSM_STATUS_SUCCESS;
}

bool fw_rsp_fits(const struct fw_req *r)
{
	return r->e->err == MBOR_OK;
}

void fw_drop_session(struct hsm_fw *fw, uint16_t sid)
{
	if (hsm_auth_close_session(fw->auth, sid) == HSM_AUTH_OK)
		hsm_vault_delete_owner(fw->vault, sid);
}

/* A request data map with no fields (or none at all). */
static uint32_t fw_expect_empty(struct fw_req *r)
{
	return fw_decode(r, NULL, 0);
}

static uint32_t fw_get_api_rev(struct fw_req *r)
{
	const struct azihsm_api_rev rev = {
		AZIHSM_API_REV_MAJOR, AZIHSM_API_REV_MINOR
	};
	uint32_t st = fw_expect_empty(r);

	if (st)
		return st;
	mbor_enc_map(r->e, 2);
	mbor_enc_key(r->e, AZIHSM_APIREV_MIN);
	azihsm_msg_enc_rev(r->e, &rev);
	mbor_enc_key(r->e, AZIHSM_APIREV_MAX);
	azihsm_msg_enc_rev(r->e, &rev);
	return AZIHSM_STATUS_SUCCESS;
}

static uint32_t fw_get_device_info(struct fw_req *r)
{
	char detail[HSM_FW_ERR_DETAIL];
	uint32_t st = fw_expect_empty(r);
	unsigned int reason;

	if (st)
		return st;
	reason = hsm_fw_error_reason(r->fw, detail, sizeof(detail));
	mbor_enc_map(r->e, 14);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_KIND);
	mbor_enc_u32(r->e, AZIHSM_DEVICE_KIND_VIRTUAL);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_TABLES);
	mbor_enc_u32(r->e, 1);
	/* An emulation is not a validated module: never claim FIPS mode. */
	mbor_enc_key(r->e, AZIHSM_DEVINFO_FIPS);
	mbor_enc_bool(r->e, false);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_SERIAL);
	mbor_enc_bytes(r->e, r->fw->serial, strlen(r->fw->serial));
	mbor_enc_key(r->e, AZIHSM_DEVINFO_FW_REV);
	mbor_enc_bytes(r->e, r->fw->fw_rev, strlen(r->fw->fw_rev));
	mbor_enc_key(r->e, AZIHSM_DEVINFO_PERSIST);
	mbor_enc_u32(r->e, hsm_partition_status(r->fw->part));
	mbor_enc_key(r->e, AZIHSM_DEVINFO_ERROR_STATE);
	mbor_enc_bool(r->e, reason != AZIHSM_ERR_NONE);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_ERROR_REASON);
	mbor_enc_u32(r->e, reason);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_ERROR_DETAIL);
	mbor_enc_bytes(r->e, detail, strlen(detail));
	mbor_enc_key(r->e, AZIHSM_DEVINFO_TAMPER_COUNT);
	mbor_enc_u32(r->e, hsm_fw_tamper_count(r->fw, NULL));
	mbor_enc_key(r->e, AZIHSM_DEVINFO_BOOT);
	mbor_enc_u32(r->e, r->fw->boot.reason);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_FW_VERSION);
	mbor_enc_bytes(r->e, r->fw->boot.version, strlen(r->fw->boot.version));
	mbor_enc_key(r->e, AZIHSM_DEVINFO_SVN);
	mbor_enc_u32(r->e, r->fw->boot.svn);
	mbor_enc_key(r->e, AZIHSM_DEVINFO_MEASUREMENT);
	mbor_enc_bytes(r->e, r->fw->boot.measurement, sizeof(r->fw->boot.measurement));
	return AZIHSM_STATUS_SUCCESS;
}

static uint32_t fw_get_random(struct fw_req *r)
{
	struct mbor_map m;
	uint16_t len = 0;
	bool have_len = false;
	uint8_t *dst;
	uint8_t id;
	int ret;

	if (!r->d || mbor_dec_map(r->d, &m))
		return AZIHSM_STATUS_MALFORMED;
	while ((ret = mbor_dec_next(r->d, &m, &id)) == 1) {
		if (id != AZIHSM_RANDOM_LEN || mbor_dec_u16(r->d, &len))
			return AZIHSM_STATUS_MALFORMED;
		have_len = true;
	}
	if (ret < 0 || !have_len)
		return AZIHSM_STATUS_MALFORMED;
	if (len == 0 || len > AZIHSM_RANDOM_MAX)
		return AZIHSM_STATUS_INVALID_ARG;
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_RANDOM_BYTES);
	dst = mbor_enc_bytes_reserve(r->e, len);
	if (!dst)
		return AZIHSM_STATUS_RSP_TOO_LARGE;
	if (hsm_fw_random(r->fw, dst, len))
		return AZIHSM_STATUS_DRBG_FAILURE;
	r->fips_approved = true;
	return AZIHSM_STATUS_SUCCESS;
}

/*
 * The services. fips_approved is the service's static flag for the
 * response header: true where the service's result comes from an approved
 * algorithm; a service whose answer depends on the key or parameters sets
 * r->fips_approved itself. need_session: header field 3 must name an open
 * session (else NO_SESSION). cls: the authorization class (hsm_auth.h)
 * that session must have, checked here for every service before it
 * decodes anything (WRONG_ROLE, MUST_CHANGE_PIN); a service whose request
 * asks for more (a persistent key: MANAGE_KEYS) checks that itself.
 * Documentation/hsm-design.md "Service table" lists this table; test_roles
 * keeps the two equal.
 */
#define NONE	0	/* no session, no class */
static const struct fw_op {
	uint32_t opcode;
	const char *name;
	fw_service run;
	bool fips_approved;
	bool allowed_in_error;	/* answers in the error state, to say why */
	bool need_session;
	int cls;		/* enum hsm_auth_op, or NONE */
} fw_ops[] = {
	{ AZIHSM_OP_GET_API_REV, "GetApiRev", fw_get_api_rev, false, true, false, NONE },
	{ AZIHSM_OP_GET_DEVICE_INFO, "GetDeviceInfo", fw_get_device_info, false, true, false,
	  NONE },
	{ AZIHSM_OP_DELETE_KEY, "DeleteKey", fw_svc_delete_key, false, false, true,
	  HSM_OP_SESSION_KEYS },
	{ AZIHSM_OP_OPEN_KEY, "OpenKey", fw_svc_open_key, false, false, true, HSM_OP_INFO },
	{ AZIHSM_OP_ATTEST_KEY, "AttestKey", fw_svc_attest_key, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_authz_use_key, HSM_AUTHZ_ATTEST_USAGE */
	{ AZIHSM_OP_RSA_UNWRAP, "RsaUnwrap", fw_svc_rsa_unwrap, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_GET_UNWRAPPING_KEY, "GetUnwrappingKey", fw_svc_unwrapping_key, false, false,
	  true, HSM_OP_INFO },
	{ AZIHSM_OP_ECC_SIGN, "EccSign", fw_svc_ecc_sign, false, false, true,
	  HSM_OP_USE_KEY },	/* set by hsm_ops */
	{ AZIHSM_OP_ECDH_KEY_EXCHANGE, "EcdhKeyExchange", fw_svc_ecdh, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_HKDF_DERIVE, "HkdfDerive", fw_svc_hkdf, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_KBKDF_DERIVE, "KbkdfDerive", fw_svc_kbkdf, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_HMAC, "Hmac", fw_svc_hmac, false, false, true, HSM_OP_USE_KEY },
	{ AZIHSM_OP_GET_SESSION_ENC_KEY, "GetSessionEncryptionKey", fw_svc_session_key, false,
	  false, false, NONE },
	{ AZIHSM_OP_OPEN_SESSION, "OpenSession", fw_svc_open_session, false, false, false,
	  NONE },
	{ AZIHSM_OP_CLOSE_SESSION, "CloseSession", fw_svc_close_session, false, false, true,
	  HSM_OP_OWN_SESSION },
	{ AZIHSM_OP_CHANGE_PIN, "ChangePin", fw_svc_change_pin, false, false, true,
	  HSM_OP_CHANGE_OWN_PIN },
	{ AZIHSM_OP_RESET_USER_CREDENTIAL, "ResetUserCredential", fw_svc_reset_user, false,
	  false, true, HSM_OP_MANAGE_USERS },
	{ AZIHSM_OP_UNLOCK_USER, "UnlockUser", fw_svc_unlock_user, false, false, true,
	  HSM_OP_MANAGE_USERS },
	{ AZIHSM_OP_ZEROIZE_PARTITION, "ZeroizePartition", fw_svc_zeroize, false, false, true,
	  HSM_OP_ZEROIZE },
	{ AZIHSM_OP_INIT_BK3, "InitBk3", fw_svc_init_bk3, false, false, true, HSM_OP_BACKUP },
	{ AZIHSM_OP_GET_SEALED_BK3, "GetSealedBk3", fw_svc_get_sealed_bk3, false, false, true,
	  HSM_OP_BACKUP },
	{ AZIHSM_OP_SET_SEALED_BK3, "SetSealedBk3", fw_svc_set_sealed_bk3, false, false, true,
	  HSM_OP_BACKUP },
	{ AZIHSM_OP_SD_ACTIVATE, "SdActivate", fw_svc_sd_activate, false, false, true,
	  HSM_OP_BACKUP },
	{ AZIHSM_OP_SD_EXCHANGE_KEY, "SdExchangeKey", fw_svc_sd_exchange_key, false, false, true,
	  HSM_OP_BACKUP },
	{ AZIHSM_OP_SD_UPLOAD, "SdUpload", fw_svc_sd_upload, false, false, true, HSM_OP_BACKUP },
	{ AZIHSM_OP_SD_BACKUP_KEY, "SdBackupKey", fw_svc_sd_backup_key, false, false, true,
	  HSM_OP_BACKUP },
	{ AZIHSM_OP_SD_RESTORE_KEY, "SdRestoreKey", fw_svc_sd_restore_key, false, false, true,
	  HSM_OP_MANAGE_KEYS },
	{ AZIHSM_OP_SD_INFO, "SdInfo", fw_svc_sd_info, false, false, true, HSM_OP_INFO },
	{ AZIHSM_OP_GET_RANDOM, "GetRandom", fw_get_random, true, false, false,
	  NONE },	/* SP 800-90A CTR-DRBG */
	{ AZIHSM_OP_KEY_GENERATE, "KeyGenerate", fw_svc_key_generate, false, false, true,
	  HSM_OP_SESSION_KEYS },
	{ AZIHSM_OP_KEY_LIST, "KeyList", fw_svc_key_list, false, false, true, HSM_OP_INFO },
	{ AZIHSM_OP_KEY_PUBLIC, "KeyPublic", fw_svc_key_public, false, false, true,
	  HSM_OP_INFO },
	{ AZIHSM_OP_RSA_SIGN, "RsaSign", fw_svc_rsa_sign, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_RSA_DECRYPT, "RsaDecrypt", fw_svc_rsa_decrypt, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_VERIFY, "Verify", fw_svc_verify, false, false, true,
	  HSM_OP_USE_KEY },	/* hsm_ops */
	{ AZIHSM_OP_OPEN_KERNEL_SESSION, "OpenKernelSession", fw_svc_open_kernel, false, false,
	  false, NONE },
	{ AZIHSM_OP_KEY_IMPORT, "KeyImport", fw_svc_key_import, false, false, true,
	  HSM_OP_KERNEL_IMPORT },
	{ AZIHSM_OP_UNMASK_KEY, "UnmaskKey", fw_svc_unmask_key, false, false, true,
	  HSM_OP_SESSION_KEYS },
	{ AZIHSM_OP_KEY_EXPORT_MASKED, "KeyExportMasked", fw_svc_export_masked, false, false,
	  true, HSM_OP_INFO },
	{ AZIHSM_OP_AES_ENCRYPT_DECRYPT, "AesEncryptDecrypt", fw_svc_aes, false, false, true,
	  HSM_OP_USE_KEY },	/* set by hsm_ops */
	{ AZIHSM_OP_HASH, "Hash", fw_svc_hash, false, false, true,
	  HSM_OP_INFO },	/* set by the service */
	{ AZIHSM_OP_RSA_MOD_EXP, "RsaModExp", fw_svc_rsa_mod_exp, false, false, true,
	  HSM_OP_RAW_KEY },	/* raw RSA: the kernel session's keys only */
	{ AZIHSM_OP_RSA_PUBLIC, "RsaPublic", fw_svc_rsa_public, false, false, true,
	  HSM_OP_USE_KEY },	/* raw RSA */
	{ AZIHSM_OP_ECC_VERIFY, "EccVerify", fw_svc_ecc_verify, false, false, true,
	  HSM_OP_USE_KEY },	/* set by the service */
	{ AZIHSM_OP_GET_CERT_CHAIN_INFO, "GetCertChainInfo", fw_svc_cert_chain_info, false,
	  false, false, NONE },	/* public: the identity chain */
	{ AZIHSM_OP_GET_CERTIFICATE, "GetCertificate", fw_svc_get_certificate, false, false,
	  false, NONE },
	/* Known vectors only, nothing secret: anyone, also in the error state. */
	{ AZIHSM_OP_SELF_TEST, "SelfTest", fw_svc_self_test, false, true, false, NONE },
	{ AZIHSM_OP_TAMPER_LOG, "TamperLog", fw_svc_tamper_log, false, true, false, NONE },
};

bool hsm_fw_service_at(unsigned int i, struct hsm_fw_service *s)
{
	if (i >= sizeof(fw_ops) / sizeof(fw_ops[0]))
		return false;
	s->opcode = fw_ops[i].opcode;
	s->name = fw_ops[i].name;
	s->need_session = fw_ops[i].need_session;
	s->cls = fw_ops[i].cls;
	s->fips_approved = fw_ops[i].fips_approved;
	s->allowed_in_error = fw_ops[i].allowed_in_error;
	return true;
}

static const struct fw_op *fw_lookup(uint32_t opcode)
{
	size_t i;

	for (i = 0; i < sizeof(fw_ops) / sizeof(fw_ops[0]); i++)
		if (fw_ops[i].opcode == opcode)
			return &fw_ops[i];
	return NULL;
}

static bool fw_rev_supported(const struct azihsm_req_hdr *h)
{
	return !h->has_rev || (h->rev.major == AZIHSM_API_REV_MAJOR &&
			       h->rev.minor <= AZIHSM_API_REV_MINOR);
}

/* Encode a header-only response; false if even that does not fit. */
static bool fw_error_response(struct hsm_fw_cmd *cmd, const struct azihsm_req_hdr *req,
			      uint32_t status)
{
	struct azihsm_rsp_hdr rsp = { .status = status };
	struct mbor_enc e;

	if (req) {
		rsp.req = *req;
		rsp.req.has_rev = false;
	}
	mbor_enc_init(&e, cmd->out, cmd->out_cap);
	azihsm_msg_begin_response(&e, &rsp);
	return mbor_enc_finish(&e, &cmd->out_len) == MBOR_OK;
}

/*
 * Header field 3 names an open session and the SQE's short_app_id is the
 * one the device gave it (a wrong one looks exactly like a closed
 * session); *@kernel: the kernel session.
 */
static bool fw_session_open(struct hsm_fw *fw, const struct hsm_fw_cmd *cmd,
			    const struct azihsm_req_hdr *req, bool *kernel)
{
	enum hsm_auth_role role;

	*kernel = false;
	if (!req->has_session ||
	    hsm_auth_session_held(fw->auth, req->session_id, cmd->short_app_id, &role) !=
		    HSM_AUTH_OK)
		return false;
	*kernel = role == HSM_ROLE_KERNEL;
	return true;
}

/* CQE session fields: echo the SQE's, or say what Open/CloseSession did. */
static void fw_cqe_session(struct hsm_fw_cmd *cmd, const struct azihsm_req_hdr *req)
{
	cmd->cqe_session_flags = cmd->session_flags &
				 (AZIHSM_SESS_OP_MASK | AZIHSM_SESS_IN_SESSION);
	cmd->cqe_session_id = cmd->session_id;
	cmd->cqe_short_app_id = 0;
	if (!req)
		return;
	if (req->opcode == AZIHSM_OP_OPEN_SESSION ||
	    req->opcode == AZIHSM_OP_OPEN_KERNEL_SESSION) {
		/* Until the service says otherwise: failed. */
		cmd->cqe_session_flags = AZIHSM_SESS_OP_OPEN;
		cmd->cqe_session_id = 0;
	} else if (req->opcode == AZIHSM_OP_CLOSE_SESSION) {
		cmd->cqe_session_flags = AZIHSM_SESS_OP_CLOSE;
		cmd->cqe_session_id = req->has_session ? req->session_id : cmd->session_id;
	}
}

uint16_t hsm_fw_execute(struct hsm_fw *fw, struct hsm_fw_cmd *cmd)
{
	struct azihsm_rsp_hdr rsp = { 0 };
	struct azihsm_req_hdr req;
	const struct fw_op *op = NULL;
	struct mbor_dec d;
	struct mbor_enc e;
	struct fw_req r = { .fw = fw, .e = &e, .cmd = cmd };
	size_t fips_pos = 0;
	bool has_data, kernel = false;
	uint32_t st;

	cmd->out_len = 0;
	fw_cqe_session(cmd, NULL);
	mbor_dec_init(&d, cmd->in, cmd->in_len);
	if (azihsm_msg_parse_request(&d, &req, &has_data))
		return fw_error_response(cmd, NULL, AZIHSM_STATUS_MALFORMED) ?
			AZIHSM_SC_SUCCESS : AZIHSM_SC_HSM_BUFFER_TOO_SMALL;
	fw_cqe_session(cmd, &req);

	op = fw_lookup(req.opcode);
	if (hsm_fw_in_error_state(fw) && !(op && op->allowed_in_error))
		st = AZIHSM_STATUS_ERROR_STATE;
	else if (!fw_rev_supported(&req))
		st = AZIHSM_STATUS_UNSUPPORTED_REV;
	else if (!op)
		st = AZIHSM_STATUS_UNKNOWN_OPCODE;
	else if (op->need_session && !fw_session_open(fw, cmd, &req, &kernel))
		st = AZIHSM_STATUS_NO_SESSION;
	else if (op->cls != NONE)
		st = fw_status_auth(hsm_auth_check(fw->auth, req.session_id,
						   (enum hsm_auth_op)op->cls));
	else
		st = AZIHSM_STATUS_SUCCESS;

	if (st == AZIHSM_STATUS_SUCCESS) {
		rsp.req = req;
		rsp.req.has_rev = false;
		rsp.fips_approved = op->fips_approved;
		mbor_enc_init(&e, cmd->out, cmd->out_cap);
		azihsm_msg_begin_response(&e, &rsp);
		/* The header ends with fips_approved, then the data key (2 bytes). */
		if (e.err == MBOR_OK && e.pos >= 3)
			fips_pos = e.pos - 3;
		r.d = has_data ? &d : NULL;
		r.fips_approved = op->fips_approved;
		r.has_session = req.has_session;
		r.session_id = req.session_id;
		r.kernel = kernel;
		st = op->run(&r);
		/*
		 * The error state entered while the service ran (a tamper
		 * event zeroizing the key it used, a failed self-test): its
		 * result is not given out; nothing but the services allowed
		 * in the error state answers from here (FIPS 140-3 10.3.c).
		 */
		if (st == AZIHSM_STATUS_SUCCESS && !op->allowed_in_error &&
		    hsm_fw_in_error_state(fw))
			st = AZIHSM_STATUS_ERROR_STATE;
		/* The request must have been consumed exactly. */
		if (st == AZIHSM_STATUS_SUCCESS && mbor_dec_finish(&d))
			st = AZIHSM_STATUS_MALFORMED;
		if (st == AZIHSM_STATUS_SUCCESS && mbor_enc_finish(&e, &cmd->out_len))
			st = AZIHSM_STATUS_RSP_TOO_LARGE;
		if (st == AZIHSM_STATUS_SUCCESS && r.fips_approved != op->fips_approved) {
			if (!fips_pos || (cmd->out[fips_pos] != FW_MBOR_FALSE &&
					  cmd->out[fips_pos] != FW_MBOR_TRUE))
				st = AZIHSM_STATUS_INTERNAL;
			else
				cmd->out[fips_pos] = r.fips_approved ? FW_MBOR_TRUE :
								       FW_MBOR_FALSE;
		}
	}
	if (st != AZIHSM_STATUS_SUCCESS) {
		/*
		 * A session the service opened but the answer does not give
		 * (the error state entered meanwhile: a tamper event's
		 * zeroize may already have closed the others; trailing bytes;
		 * no room): closed here, so none outlives what the host was
		 * told. A tamper after this check closes it itself.
		 */
		if (op && (op->opcode == AZIHSM_OP_OPEN_SESSION ||
			   op->opcode == AZIHSM_OP_OPEN_KERNEL_SESSION) &&
		    cmd->cqe_session_id) {
			fw_drop_session(fw, cmd->cqe_session_id);
			fw_cqe_session(cmd, &req);
		}
		/* Nothing a failed service wrote may reach the host. */
		OPENSSL_cleanse(cmd->out, cmd->out_cap);
		return fw_error_response(cmd, &req, st) ?
			AZIHSM_SC_SUCCESS : AZIHSM_SC_HSM_BUFFER_TOO_SMALL;
	}
	return AZIHSM_SC_SUCCESS;
}

void hsm_fw_flush_session(struct hsm_fw *fw, uint16_t session_id, uint16_t short_app_id)
{
	if (hsm_auth_flush(fw->auth, session_id, short_app_id) == HSM_AUTH_OK)
		hsm_vault_delete_owner(fw->vault, session_id);
}

void hsm_fw_reset_kernel_session(struct hsm_fw *fw)
{
	uint16_t id = hsm_auth_close_kernel(fw->auth);

	if (id)
		hsm_vault_delete_owner(fw->vault, id);
}

void hsm_fw_reset_sessions(struct hsm_fw *fw)
{
	uint16_t gone[HSM_AUTH_MAX_GONE];
	unsigned int n = 0, i;

	if (hsm_auth_reset(fw->auth, gone, &n) != HSM_AUTH_OK)
		return;
	for (i = 0; i < n; i++)
		hsm_vault_delete_owner(fw->vault, gone[i]);
}

/* Generated keys draw from the device's DRBG (issue 9: not the process RNG). */
static int fw_key_rng(void *ctx, void *out, size_t len)
{
	struct hsm_fw *fw = ctx;

	return hsm_drbg_generate(fw->drbg, out, len);
}

_Static_assert(HSM_AUTH_MAX_SESSIONS * HSM_VAULT_SESSION_KEYS + HSM_VAULT_KERNEL_KEYS +
	       HSM_VAULT_RESERVED <= HSM_VAULT_DEFAULT_MAX,
	       "session key quotas must leave the reserved slots free");

/* Key quota of session @owner: the kernel session's or a partition session's. */
static unsigned int fw_key_quota(void *ctx, uint16_t owner)
{
	struct hsm_fw *fw = ctx;
	enum hsm_auth_role role;

	if (hsm_auth_session_role(fw->auth, owner, &role) == HSM_AUTH_OK &&
	    role == HSM_ROLE_KERNEL)
		return HSM_VAULT_KERNEL_KEYS;
	return HSM_VAULT_SESSION_KEYS;
}

/* selftest-fail=pct-ec / pct-rsa: this key pair's PCT fails, the first one only. */
static bool fw_key_pct_fail(void *ctx, bool rsa)
{
	struct hsm_fw *fw = ctx;
	unsigned int bit = rsa ? 2 : 1;

	return __atomic_fetch_and(&fw->pct_fail, ~bit, __ATOMIC_RELAXED) & bit;
}

/* The DRBG or a generated key's pairwise test failed: stop serving. */
static void fw_key_fatal(void *ctx, int status)
{
	struct hsm_fw *fw = ctx;
	const char *why;

	if (status == HSM_VAULT_PCT_FAILED) {
		hsm_fw_enter_error(fw, AZIHSM_ERR_PCT, "pairwise consistency test");
		return;
	}
	why = hsm_drbg_failure(fw->drbg);
	hsm_fw_enter_error(fw, AZIHSM_ERR_DRBG, why ? why : "key generation RNG");
}

static void fw_event(struct hsm_fw *fw, unsigned int type, unsigned int reason)
{
	uint32_t count = hsm_fw_tamper_count(fw, NULL);

	if (fw->event)
		fw->event(fw->event_ctx, type | (reason & AZIHSM_AER_REASON_MASK)
						<< AZIHSM_AER_REASON_SHIFT |
					 (count > 0xffff ? 0xffff : count) << AZIHSM_AER_COUNT_SHIFT);
}

void hsm_fw_enter_error(struct hsm_fw *fw, unsigned int reason, const char *detail)
{
	bool first;

	if (reason == AZIHSM_ERR_NONE)
		return;
	pthread_mutex_lock(&fw->err_lock);
	first = fw->err_reason == AZIHSM_ERR_NONE;
	if (first || reason == AZIHSM_ERR_TAMPER) {
		fw->err_reason = reason;
		snprintf(fw->err_detail, sizeof(fw->err_detail), "%s", detail ? detail : "");
	}
	__atomic_store_n(&fw->error_state, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fw->err_lock);
	if (first && reason != AZIHSM_ERR_TAMPER)
		fw_event(fw, AZIHSM_AER_ERROR_STATE, reason);
}

unsigned int hsm_fw_error_reason(struct hsm_fw *fw, char *detail, size_t cap)
{
	unsigned int reason;

	pthread_mutex_lock(&fw->err_lock);
	reason = fw->err_reason;
	if (detail && cap)
		snprintf(detail, cap, "%s", reason ? fw->err_detail : "");
	pthread_mutex_unlock(&fw->err_lock);
	return reason;
}

uint32_t hsm_fw_tamper_count(struct hsm_fw *fw, bool *since_start)
{
	uint32_t n;

	pthread_mutex_lock(&fw->err_lock);
	n = fw->tamper.count;
	if (since_start)
		*since_start = fw->tampered;
	pthread_mutex_unlock(&fw->err_lock);
	return n;
}

void hsm_fw_restart(struct hsm_fw *fw)
{
	struct hsm_selftest_report rep;
	unsigned int reason = hsm_fw_error_reason(fw, NULL, 0);

	/*
	 * Causes a reset does not remove: the stored state, the image, and a
	 * tamper whose zeroize is not on disk (the old state would come back).
	 */
	if (reason == AZIHSM_ERR_STATE || reason == AZIHSM_ERR_INTEGRITY ||
	    __atomic_load_n(&fw->tamper_unstored, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&fw->err_lock);
	fw->err_reason = AZIHSM_ERR_NONE;
	fw->err_detail[0] = 0;
	fw->tampered = false;
	__atomic_store_n(&fw->error_state, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fw->err_lock);
	if (hsm_drbg_reinit(fw->drbg)) {
		const char *why = hsm_drbg_failure(fw->drbg);

		hsm_fw_enter_error(fw, AZIHSM_ERR_DRBG, why ? why : "DRBG instantiate");
		return;
	}
	fw_run_selftests(fw, &rep);
}

static const char *const fw_sensor_names[] = AZIHSM_TAMPER_NAMES;

/*
 * The zeroize could not be stored: remove the state file and FILE.nv (the
 * device secret that seals it), so no restart brings the keys back; the
 * next start makes a fresh device secret and an empty partition.
 */
static void fw_tamper_destroy_files(struct hsm_fw *fw)
{
	char path[4096];
	size_t n;

	if (!fw->tamper.path)
		return;
	n = strlen(fw->tamper.path) - strlen(".tamper");
	if (n >= sizeof(path) - 4)
		return;
	memcpy(path, fw->tamper.path, n);
	path[n] = 0;
	unlink(path);
	memcpy(path + n, ".nv", 4);
	unlink(path);
}

void hsm_fw_tamper(struct hsm_fw *fw, unsigned int sensor, int32_t value)
{
	struct hsm_masking_key mk, kmk;
	char detail[HSM_FW_ERR_DETAIL];
	bool mk_ok, kmk_ok;

	if (sensor == 0 || sensor >= AZIHSM_TAMPER_SENSORS)
		return;
	snprintf(detail, sizeof(detail), "tamper %s", fw_sensor_names[sensor]);
	/* First refuse everything, then destroy. */
	hsm_fw_enter_error(fw, AZIHSM_ERR_TAMPER, detail);
	mk_ok = hsm_masking_key_generate(&mk) == HSM_VAULT_OK;
	kmk_ok = hsm_masking_key_generate(&kmk) == HSM_VAULT_OK;
	fw_persist_begin(fw);
	pthread_mutex_lock(&fw->kernel_mk_lock);
	if (kmk_ok)
		fw->kernel_mk = kmk;
	else
		OPENSSL_cleanse(&fw->kernel_mk, sizeof(fw->kernel_mk));
	pthread_mutex_unlock(&fw->kernel_mk_lock);
	hsm_auth_zeroize(fw->auth, NULL, NULL);
	hsm_vault_delete_all(fw->vault);
	fw_sd_drop_xchg(fw);
	/*
	 * The next epoch and an empty partition, stored: the state file's old
	 * content never decrypts again (an older copy is rolled back).
	 */
	if (!mk_ok || hsm_partition_zeroize(fw->part, &mk) != HSM_PART_OK) {
		__atomic_store_n(&fw->tamper_unstored, true, __ATOMIC_RELAXED);
		hsm_fw_enter_error(fw, AZIHSM_ERR_TAMPER, "tamper: zeroize not stored");
		fw_tamper_destroy_files(fw);
	}
	fw_persist_end(fw);
	OPENSSL_cleanse(&mk, sizeof(mk));
	OPENSSL_cleanse(&kmk, sizeof(kmk));
	pthread_mutex_lock(&fw->err_lock);
	hsm_tamper_log_add(&fw->tamper, (uint8_t)sensor, value);
	fw->tampered = true;
	pthread_mutex_unlock(&fw->err_lock);
	fw_event(fw, AZIHSM_AER_TAMPER, AZIHSM_ERR_TAMPER);
}

/*
 * Secure boot (hsm_boot.h): false if the image was refused; the firmware
 * then stays in its error state and its reason is in fw->boot.
 */
static bool fw_boot(struct hsm_fw *fw, const struct hsm_boot_config *cfg)
{
	enum azihsm_boot reason = hsm_boot_load(cfg, fw->fw_rev, &fw->boot);

	if (hsm_boot_ok(reason))
		return true;
	/* The image is refused: the firmware integrity failed, for good. */
	hsm_fw_enter_error(fw, AZIHSM_ERR_INTEGRITY, hsm_boot_reason_name(reason));
	return false;
}

static void fw_copy_id(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

struct hsm_fw *hsm_fw_new(const struct hsm_fw_config *cfg)
{
	char pers[96];
	struct hsm_fw *fw;
	bool booted;

	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return NULL;
	if (cfg->fault_corrupt) {
		static const char *const modes[] = { [AZIHSM_AES_ECB] = "aes-ecb",
						     [AZIHSM_AES_CBC] = "aes-cbc",
						     [AZIHSM_AES_CTR] = "aes-ctr",
						     [AZIHSM_AES_XTS] = "aes-xts",
						     [AZIHSM_AES_GCM] = "aes-gcm" };

		for (uint8_t m = AZIHSM_AES_ECB; m <= AZIHSM_AES_GCM; m++)
			if (!strcmp(cfg->fault_corrupt, modes[m]))
				fw->fault_corrupt_mode = m;
		if (!fw->fault_corrupt_mode) {
			free(fw);
			return NULL;
		}
	}
	pthread_mutex_init(&fw->persist_lock, NULL);
	fw_copy_id(fw->serial, sizeof(fw->serial), cfg->serial);
	fw_copy_id(fw->fw_rev, sizeof(fw->fw_rev), cfg->fw_rev);
	pthread_mutex_init(&fw->err_lock, NULL);
	fw->event = cfg->event;
	fw->event_ctx = cfg->event_ctx;
	booted = fw_boot(fw, cfg->boot);
	pthread_mutex_init(&fw->kernel_mk_lock, NULL);
	pthread_mutex_init(&fw->sd_lock, NULL);
	if (cfg->selftest_fail && !strcmp(cfg->selftest_fail, HSM_FW_FAIL_PCT_EC))
		fw->pct_fail = 1;
	else if (cfg->selftest_fail && !strcmp(cfg->selftest_fail, HSM_FW_FAIL_PCT_RSA))
		fw->pct_fail = 2;
	else if (cfg->selftest_fail) {
		fw->selftest_fail = hsm_selftest_id(cfg->selftest_fail);
		if (!fw->selftest_fail) {
			free(fw);
			return NULL;
		}
	}
	if (hsm_tamper_log_open(&fw->tamper, cfg->state_path)) {
		free(fw);
		return NULL;
	}
	snprintf(pers, sizeof(pers), "azihsm drbg %s", fw->serial);
	fw->drbg = hsm_drbg_new(pers);
	fw->vault = hsm_vault_new(HSM_VAULT_DEFAULT_MAX);
	fw->auth = hsm_auth_new(cfg->auth);
	if (hsm_masking_key_generate(&fw->kernel_mk) != HSM_VAULT_OK) {
		hsm_fw_free(fw);
		return NULL;
	}
	if (fw->vault) {
		const struct hsm_vault_hooks hooks = {
			.rng = fw_key_rng,
			.owner_max = fw_key_quota,
			.fatal = fw_key_fatal,
			.pct_fail = fw_key_pct_fail,
			.ctx = fw,
			.reserved = HSM_VAULT_RESERVED,
		};

		if (hsm_vault_set_hooks(fw->vault, &hooks)) {
			hsm_fw_free(fw);
			return NULL;
		}
	}
	if (fw->vault && fw->auth)
		/* Refused firmware never reads nor writes the stored state. */
		fw->part = hsm_partition_open(booted ? cfg->state_path : NULL, fw->vault,
					      fw->auth);
	if (!fw->drbg || !fw->vault || !fw->auth || !fw->part) {
		hsm_fw_free(fw);
		return NULL;
	}
	if (hsm_partition_failed(fw->part))
		hsm_fw_enter_error(fw, AZIHSM_ERR_STATE, "stored state unusable");
	else {
		struct hsm_identity_config idc = {
			.serial = fw->serial,
			.root_cert = cfg->root_cert,
			.devcert = cfg->devcert,
			.svn = hsm_boot_svn(fw),
		};

		memcpy(idc.measurement, hsm_boot_measurement(fw), sizeof(idc.measurement));
		/* No identity: the chain services answer NOT_PROVISIONED. */
		fw->id = hsm_identity_new(&idc, fw->part, fw->drbg);
	}
	if (hsm_drbg_failure(fw->drbg))
		hsm_fw_enter_error(fw, AZIHSM_ERR_DRBG, hsm_drbg_failure(fw->drbg));
	/* Power-on self-tests, before the first service. */
	fw_run_selftests(fw, NULL);
	return fw;
}

void hsm_fw_free(struct hsm_fw *fw)
{
	if (!fw)
		return;
	hsm_identity_free(fw->id);
	hsm_drbg_free(fw->drbg);
	hsm_partition_close(fw->part);
	hsm_auth_free(fw->auth);
	hsm_vault_free(fw->vault);
	pthread_mutex_destroy(&fw->persist_lock);
	pthread_mutex_destroy(&fw->kernel_mk_lock);
	EVP_PKEY_free(fw->sd_xchg);
	pthread_mutex_destroy(&fw->sd_lock);
	pthread_mutex_destroy(&fw->err_lock);
	hsm_tamper_log_close(&fw->tamper);
	OPENSSL_cleanse(fw, sizeof(*fw));
	free(fw);
}

int hsm_fw_commit(struct hsm_fw *fw)
{
	int ret;

	pthread_mutex_lock(&fw->persist_lock);
	ret = hsm_partition_commit(fw->part);
	pthread_mutex_unlock(&fw->persist_lock);
	return ret;
}

void fw_persist_begin(struct hsm_fw *fw)
{
	pthread_mutex_lock(&fw->persist_lock);
}

int fw_persist_commit(struct hsm_fw *fw)
{
	return hsm_partition_commit(fw->part);
}

void fw_persist_end(struct hsm_fw *fw)
{
	pthread_mutex_unlock(&fw->persist_lock);
}

uint32_t fw_new_persistent_begin(struct fw_req *r)
{
	uint32_t st;

	fw_persist_begin(r->fw);
	st = fw_check(r, HSM_OP_MANAGE_KEYS);
	if (st)
		fw_persist_end(r->fw);
	return st;
}

uint32_t fw_new_persistent_end(struct fw_req *r, uint16_t id, uint32_t st)
{
	if (!st && fw_persist_commit(r->fw))
		st = AZIHSM_STATUS_NOT_STORED;
	if (st && id)
		hsm_vault_delete(r->fw->vault, id);	/* nothing unstored acknowledged */
	fw_persist_end(r->fw);
	return st;
}

struct hsm_vault *hsm_fw_vault(struct hsm_fw *fw)
{
	return fw->vault;
}

int hsm_fw_random(struct hsm_fw *fw, void *out, size_t len)
{
	const char *why;

	if (hsm_drbg_generate(fw->drbg, out, len)) {
		OPENSSL_cleanse(out, len);
		why = hsm_drbg_failure(fw->drbg);
		hsm_fw_enter_error(fw, AZIHSM_ERR_DRBG, why ? why : "DRBG failure");
		return -1;
	}
	return 0;
}

struct hsm_auth *hsm_fw_auth(struct hsm_fw *fw)
{
	return fw->auth;
}

struct hsm_drbg *hsm_fw_drbg(struct hsm_fw *fw)
{
	return fw->drbg;
}

bool hsm_fw_in_error_state(struct hsm_fw *fw)
{
	return __atomic_load_n(&fw->error_state, __ATOMIC_RELAXED);
}
