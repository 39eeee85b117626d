// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: sessions (GetSessionEncryptionKey 1103,
 * OpenSession 1104, CloseSession 1105, ChangePin 1106) and credential
 * management (ResetUserCredential 4040, UnlockUser 4041) on top of hsm_auth.
 * Request and response maps: include/azihsm/msg.h. Whenever the persistent
 * part of hsm_auth changed (a counted PIN failure, a counter reset, a new
 * PIN) the partition is committed before the answer; a failed commit is
 * answered NOT_STORED and the change is undone, except a counted PIN
 * failure, which stays in effect (stricter) until the restart.
 */
#include <string.h>

#include "azihsm/hw.h"
#include "hsm_fw_int.h"
#include "hsm_identity.h"

_Static_assert(HSM_ID_SIG_LEN == AZIHSM_SESS_SIG_LEN, "one ES384 signature size");

/* ES384 by the partition key over context || device_pub || nonce (msg.h). */
static int fw_session_key_sig(struct hsm_fw *fw, const uint8_t *pub, size_t len,
			      const uint8_t nonce[HSM_AUTH_NONCE_LEN], uint8_t *sig)
{
	uint8_t msg[sizeof(AZIHSM_SESS_SIG_CONTEXT) - 1 + HSM_AUTH_PUB_MAX + HSM_AUTH_NONCE_LEN];
	size_t c = sizeof(AZIHSM_SESS_SIG_CONTEXT) - 1;

	if (len > HSM_AUTH_PUB_MAX)
		return -1;
	memcpy(msg, AZIHSM_SESS_SIG_CONTEXT, c);
	memcpy(msg + c, pub, len);
	memcpy(msg + c + len, nonce, HSM_AUTH_NONCE_LEN);
	return hsm_identity_sign(fw->id, msg, c + len + HSM_AUTH_NONCE_LEN, sig) ? -1 : 0;
}

uint32_t fw_status_auth(int st)
{
	switch (st) {
	case HSM_AUTH_OK:
		return AZIHSM_STATUS_SUCCESS;
	case HSM_AUTH_INVALID_ARG:
		return AZIHSM_STATUS_INVALID_ARG;
	case HSM_AUTH_NO_SESSION:
		return AZIHSM_STATUS_NO_SESSION;
	case HSM_AUTH_WRONG_ROLE:
		return AZIHSM_STATUS_WRONG_ROLE;
	case HSM_AUTH_MUST_CHANGE_PIN:
		return AZIHSM_STATUS_MUST_CHANGE_PIN;
	case HSM_AUTH_BAD_NONCE:
		return AZIHSM_STATUS_BAD_NONCE;
	case HSM_AUTH_BAD_PEER:		/* the host key: the message cannot open */
	case HSM_AUTH_BAD_MESSAGE:
		return AZIHSM_STATUS_BAD_MESSAGE;
	case HSM_AUTH_BAD_CREDENTIAL:
		return AZIHSM_STATUS_BAD_CREDENTIAL;
	case HSM_AUTH_LOCKED_OUT:
		return AZIHSM_STATUS_LOCKED_OUT;
	case HSM_AUTH_SESSIONS_FULL:
		return AZIHSM_STATUS_SESSIONS_FULL;
	case HSM_AUTH_WEAK_PIN:
		return AZIHSM_STATUS_WEAK_PIN;
	case HSM_AUTH_KERNEL_OPEN:
		return AZIHSM_STATUS_KERNEL_SESSION_OPEN;
	case HSM_AUTH_PIN_LOCKED:
		return AZIHSM_STATUS_PIN_LOCKED;
	}
	return AZIHSM_STATUS_INTERNAL;
}

/*
 * One credential change: the persist lock held, a snapshot of the
 * persistent part taken, so a change that cannot be stored is undone.
 */
struct fw_auth_txn {
	uint64_t gen0;
	uint8_t *snap;
	size_t snap_len;
};

static uint32_t fw_auth_begin(struct fw_req *r, struct fw_auth_txn *t)
{
	fw_persist_begin(r->fw);
	t->gen0 = hsm_auth_persist_gen(r->fw->auth);
	if (hsm_auth_serialize(r->fw->auth, &t->snap, &t->snap_len)) {
		fw_persist_end(r->fw);
		return AZIHSM_STATUS_INTERNAL;
	}
	return AZIHSM_STATUS_SUCCESS;
}

/*
 * Store the change if the persistent part moved; if that fails, put the
 * snapshot back when @undo. Releases the lock. SUCCESS or NOT_STORED.
 */
static uint32_t fw_auth_end(struct fw_req *r, struct fw_auth_txn *t, bool undo)
{
	struct hsm_auth *a = r->fw->auth;
	uint32_t st = AZIHSM_STATUS_SUCCESS;

	if (hsm_auth_persist_gen(a) != t->gen0 && fw_persist_commit(r->fw)) {
		st = AZIHSM_STATUS_NOT_STORED;
		if (undo && hsm_auth_restore(a, t->snap, t->snap_len))
			st = AZIHSM_STATUS_INTERNAL;
	}
	fw_persist_end(r->fw);
	hsm_auth_image_free(t->snap, t->snap_len);
	return st;
}

/* A sealed credential message: { 1: host_pub, 2: nonce, 3: ct, 4: tag }. */
struct fw_sealed {
	struct fw_bytes pub, nonce, ct, tag;
};

static uint32_t fw_decode_sealed(struct fw_req *r, struct fw_sealed *m)
{
	const struct fw_field f[] = {
		{ AZIHSM_SESS_HOST_PUB, FW_BYTES, false, &m->pub, NULL },
		{ AZIHSM_SESS_MSG_NONCE, FW_BYTES, false, &m->nonce, NULL },
		{ AZIHSM_SESS_CIPHERTEXT, FW_BYTES, false, &m->ct, NULL },
		{ AZIHSM_SESS_TAG, FW_BYTES, false, &m->tag, NULL },
	};
	uint32_t st = fw_decode(r, f, sizeof(f) / sizeof(f[0]));

	if (st)
		return st;
	if (!m->pub.len || m->pub.len > HSM_AUTH_PUB_MAX ||
	    m->nonce.len != HSM_AUTH_NONCE_LEN || !m->ct.len ||
	    m->ct.len > HSM_AUTH_PT_MAX || m->tag.len != HSM_AUTH_TAG_LEN)
		return AZIHSM_STATUS_INVALID_ARG;
	return AZIHSM_STATUS_SUCCESS;
}

_Static_assert(AZIHSM_QID_HSM_FIRST + AZIHSM_HSM_QUEUES_MAX <= HSM_AUTH_NONCE_QUEUES,
	       "one nonce table per HSM submission queue");

uint32_t fw_svc_session_key(struct fw_req *r)
{
	uint8_t pub[HSM_AUTH_PUB_MAX], nonce[HSM_AUTH_NONCE_LEN], sig[HSM_ID_SIG_LEN];
	bool signed_ok;
	size_t len = 0;
	uint32_t st = fw_decode(r, NULL, 0);
	int ret;

	if (st)
		return st;
	/* One nonce table per HSM queue (issue 9: no cross-queue eviction). */
	ret = hsm_auth_session_key_q(r->fw->auth, r->cmd->sq_id, pub, sizeof(pub), &len, nonce);
	if (ret)
		return fw_status_auth(ret);
	/* The partition key vouches for the key and nonce (msg.h). */
	signed_ok = r->fw->id && fw_session_key_sig(r->fw, pub, len, nonce, sig) == 0;
	mbor_enc_map(r->e, signed_ok ? 3 : 2);
	mbor_enc_key(r->e, AZIHSM_SESS_DEVICE_PUB);
	mbor_enc_bytes(r->e, pub, len);
	mbor_enc_key(r->e, AZIHSM_SESS_NONCE);
	mbor_enc_bytes(r->e, nonce, sizeof(nonce));
	if (signed_ok) {
		mbor_enc_key(r->e, AZIHSM_SESS_PUB_SIG);
		mbor_enc_bytes(r->e, sig, sizeof(sig));
	}
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_open_session(struct fw_req *r)
{
	struct hsm_auth *a = r->fw->auth;
	enum hsm_auth_role role = 0;
	struct fw_auth_txn t;
	struct fw_sealed m;
	uint16_t sid = 0, app = 0;
	bool must_change;
	uint32_t st;
	int ret;

	st = fw_decode_sealed(r, &m);
	if (!st)
		st = fw_auth_begin(r, &t);
	if (st)
		return st;
	ret = hsm_auth_open_session(a, m.pub.p, m.pub.len, m.nonce.p, m.ct.p, m.ct.len,
				    m.tag.p, &sid, &role);
	/*
	 * A counted failure must be stored before it is reported; a reset
	 * counter that cannot be stored is undone (the session is dropped).
	 */
	st = fw_auth_end(r, &t, !ret);
	if (ret)
		return st ? st : fw_status_auth(ret);
	/* The session is restricted iff its role still had the default. */
	must_change = hsm_auth_check(a, sid, HSM_OP_INFO) == HSM_AUTH_MUST_CHANGE_PIN;
	mbor_enc_map(r->e, 3);
	mbor_enc_key(r->e, AZIHSM_SESS_ID);
	mbor_enc_u16(r->e, sid);
	mbor_enc_key(r->e, AZIHSM_SESS_ROLE);
	mbor_enc_u8(r->e, (uint8_t)role);
	mbor_enc_key(r->e, AZIHSM_SESS_MUST_CHANGE);
	mbor_enc_bool(r->e, must_change);
	if (!st && !fw_rsp_fits(r))
		st = AZIHSM_STATUS_RSP_TOO_LARGE;
	/* The short_app_id travels in the CQE only (device.md, section 6). */
	if (!st && hsm_auth_session_app_id(a, sid, &app))
		st = AZIHSM_STATUS_NO_SESSION;	/* flushed meanwhile */
	if (st) {
		/* Never leave open a session the host was not told of. */
		fw_drop_session(r->fw, sid);
		return st;
	}
	r->cmd->cqe_session_flags = AZIHSM_SESS_OP_OPEN | AZIHSM_SESS_IN_SESSION |
				    AZIHSM_SESS_SHORT_APP_ID_VALID;
	r->cmd->cqe_session_id = sid;
	r->cmd->cqe_short_app_id = app;
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_close_session(struct fw_req *r)
{
	uint32_t st = fw_decode(r, NULL, 0);
	int ret;

	if (st)
		return st;
	ret = hsm_auth_close_session(r->fw->auth, r->session_id);
	if (ret)
		return fw_status_auth(ret);
	hsm_vault_delete_owner(r->fw->vault, r->session_id);
	mbor_enc_map(r->e, 0);
	r->cmd->cqe_session_flags = AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_SAFE_TO_CLOSE;
	r->cmd->cqe_session_id = r->session_id;
	return AZIHSM_STATUS_SUCCESS;
}

/* The credential changes: one transaction each (fw_auth_begin / _end). */
enum fw_cred_change {
	FW_CHANGE_PIN,		/* ChangePin: the session's own role */
	FW_RESET_USER,		/* ResetUserCredential: the officer sets the user's */
	FW_UNLOCK_USER,		/* UnlockUser: the officer clears the user's failures */
};

static uint32_t fw_cred_change(struct fw_req *r, enum fw_cred_change what)
{
	struct hsm_auth *a = r->fw->auth;
	struct fw_sealed m = { 0 };
	struct fw_auth_txn t;
	uint32_t st;
	int ret;

	st = what == FW_UNLOCK_USER ? fw_decode(r, NULL, 0) : fw_decode_sealed(r, &m);
	if (!st && what == FW_RESET_USER)
		st = fw_check(r, HSM_OP_MANAGE_USERS);
	if (!st)
		st = fw_auth_begin(r, &t);
	if (st)
		return st;
	if (what == FW_CHANGE_PIN)
		ret = hsm_auth_change_pin(a, r->session_id, m.pub.p, m.pub.len, m.nonce.p,
					  m.ct.p, m.ct.len, m.tag.p);
	else if (what == FW_RESET_USER)
		ret = hsm_auth_reset_user(a, r->session_id, m.pub.p, m.pub.len, m.nonce.p,
					  m.ct.p, m.ct.len, m.tag.p);
	else
		ret = hsm_auth_unlock_user(a, r->session_id);
	st = fw_auth_end(r, &t, !ret);
	if (!st && ret)
		st = fw_status_auth(ret);
	if (!st)
		mbor_enc_map(r->e, 0);
	return st;
}

uint32_t fw_svc_change_pin(struct fw_req *r)
{
	return fw_cred_change(r, FW_CHANGE_PIN);
}

uint32_t fw_svc_reset_user(struct fw_req *r)
{
	return fw_cred_change(r, FW_RESET_USER);
}

uint32_t fw_svc_unlock_user(struct fw_req *r)
{
	return fw_cred_change(r, FW_UNLOCK_USER);
}
