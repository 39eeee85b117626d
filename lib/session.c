// SPDX-License-Identifier: MIT
/*
 * libazihsm sessions and keys: login (GetSessionEncryptionKey +
 * OpenSession with a sealed credential), ChangePin, the officer's
 * ResetUserCredential and UnlockUser, logout, and the key
 * services of a session. Wire format: include/azihsm/msg.h; credential
 * sealing: shared/hsm_auth_client.[ch], compiled into the library.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <linux/azihsm.h>

#include "hsm_auth_client.h"
#include "internal.h"
#include "proto.h"

/* The public constants are the wire's. */
_Static_assert((int)AZIHSM_ROLE_OFFICER == (int)HSM_ROLE_OFFICER, "role");
_Static_assert((int)AZIHSM_ROLE_USER == (int)HSM_ROLE_USER, "role");
_Static_assert(AZIHSM_ID_LEN == HSM_AUTH_ID_LEN, "id length");
_Static_assert(AZIHSM_PIN_MAX == HSM_AUTH_PIN_LEN, "pin length");
_Static_assert(PROTO_NONCE_LEN == HSM_AUTH_NONCE_LEN, "nonce length");
_Static_assert(PROTO_TAG_LEN == HSM_AUTH_TAG_LEN, "tag length");
_Static_assert(PROTO_DEV_PUB_MAX == HSM_AUTH_PUB_MAX, "device key length");
_Static_assert(AZIHSM_LABEL_MAX == AZIHSM_KEY_LABEL_MAX, "label");
_Static_assert(AZIHSM_KEY_TYPE_AES128 == AZIHSM_KEY_AES128 &&
	       AZIHSM_KEY_TYPE_AES192 == AZIHSM_KEY_AES192 &&
	       AZIHSM_KEY_TYPE_AES256 == AZIHSM_KEY_AES256 &&
	       AZIHSM_KEY_TYPE_AES256_XTS == AZIHSM_KEY_AES256_XTS &&
	       AZIHSM_KEY_TYPE_AES256_GCM == AZIHSM_KEY_AES256_GCM &&
	       AZIHSM_KEY_TYPE_EC_P256 == AZIHSM_KEY_EC_P256 &&
	       AZIHSM_KEY_TYPE_EC_P384 == AZIHSM_KEY_EC_P384 &&
	       AZIHSM_KEY_TYPE_EC_P521 == AZIHSM_KEY_EC_P521 &&
	       AZIHSM_KEY_TYPE_RSA2048 == AZIHSM_KEY_RSA2048 &&
	       AZIHSM_KEY_TYPE_RSA3072 == AZIHSM_KEY_RSA3072 &&
	       AZIHSM_KEY_TYPE_RSA4096 == AZIHSM_KEY_RSA4096 &&
	       AZIHSM_KEY_TYPE_HMAC_SHA256 == AZIHSM_KEY_HMAC_SHA256 &&
	       AZIHSM_KEY_TYPE_HMAC_SHA384 == AZIHSM_KEY_HMAC_SHA384 &&
	       AZIHSM_KEY_TYPE_HMAC_SHA512 == AZIHSM_KEY_HMAC_SHA512, "key types");
_Static_assert(AZIHSM_KEY_USE_SIGN == AZIHSM_USAGE_SIGN &&
	       AZIHSM_KEY_USE_VERIFY == AZIHSM_USAGE_VERIFY &&
	       AZIHSM_KEY_USE_ENCRYPT == AZIHSM_USAGE_ENCRYPT &&
	       AZIHSM_KEY_USE_DECRYPT == AZIHSM_USAGE_DECRYPT &&
	       AZIHSM_KEY_USE_UNWRAP == AZIHSM_USAGE_UNWRAP &&
	       AZIHSM_KEY_USE_DERIVE == AZIHSM_USAGE_DERIVE, "usages");
_Static_assert(AZIHSM_HASH_ALG_SHA256 == AZIHSM_HASH_SHA256 &&
	       AZIHSM_HASH_ALG_SHA384 == AZIHSM_HASH_SHA384 &&
	       AZIHSM_HASH_ALG_SHA512 == AZIHSM_HASH_SHA512, "hashes");

#define IN_SESSION	(AZIHSM_SESSION_OP_IN | AZIHSM_SESSION_ID_VALID)
#define REQ_MAX		1024	/* largest request: a sealed credential or a label */
#define RSP_MAX		AZIHSM_CMD_BUF_MAX

struct azihsm_session {
	struct azihsm_dev *dev;
	uint16_t id;
	uint8_t role;
	bool must_change;
	bool closed;		/* the device closed it (zeroize): no CloseSession */
	uint8_t cred_id[AZIHSM_ID_LEN];
};

/* A 1..16 byte PIN string, zero-padded into @out. */
static int pin_pad(const char *pin, uint8_t out[AZIHSM_PIN_MAX])
{
	size_t n;

	if (!pin)
		return -EINVAL;
	n = strnlen(pin, AZIHSM_PIN_MAX + 1);
	if (!n || n > AZIHSM_PIN_MAX)
		return -EINVAL;
	memset(out, 0, AZIHSM_PIN_MAX);
	memcpy(out, pin, n);
	return 0;
}

static void default_id(enum azihsm_role role, uint8_t out[AZIHSM_ID_LEN])
{
	const char *s = role == AZIHSM_ROLE_OFFICER ? AZIHSM_DEFAULT_OFFICER_ID :
						      AZIHSM_DEFAULT_USER_ID;

	memset(out, 0, AZIHSM_ID_LEN);
	memcpy(out, s, strlen(s));
}

/*
 * The device's session key and nonce carry the partition key's signature
 * (msg.h, GetSessionEncryptionKey) and the partition certificate chains to
 * the trusted root (azihsm_trusted_root()): 0, else -ENOKEY.
 */
static int check_session_key(struct azihsm_dev *dev, const uint8_t *pub, size_t pub_len,
			     const uint8_t *nonce, const uint8_t *sig)
{
	uint8_t msg[sizeof(AZIHSM_SESS_SIG_CONTEXT) - 1 + PROTO_DEV_PUB_MAX + PROTO_NONCE_LEN];
	size_t c = sizeof(AZIHSM_SESS_SIG_CONTEXT) - 1;

	memcpy(msg, AZIHSM_SESS_SIG_CONTEXT, c);
	memcpy(msg + c, pub, pub_len);
	memcpy(msg + c + pub_len, nonce, PROTO_NONCE_LEN);
	return lib_check_vouched(dev, NULL, msg, c + pub_len + PROTO_NONCE_LEN, sig,
				 AZIHSM_SESS_SIG_LEN);
}

/*
 * GetSessionEncryptionKey, then seal the credential to the key it returned
 * and build the request (OpenSession or, with @sess, ChangePin or
 * ResetUserCredential, by @kind) into @req.
 * Returns the request length or a negative errno.
 */
static int seal_request(struct azihsm_dev *dev, const struct azihsm_session *sess,
			enum hsm_auth_msg_kind kind, uint8_t role, const uint8_t id[AZIHSM_ID_LEN],
			const uint8_t pin[AZIHSM_PIN_MAX], const uint8_t *new_pin,
			uint8_t *req, size_t req_cap)
{
	uint8_t rsp[512], nonce[PROTO_NONCE_LEN];
	const uint8_t *pub, *np, *sig = NULL;
	struct hsm_auth_sealed sealed;
	struct proto_sealed ps;
	struct mbor_dec d;
	size_t pub_len, len;
	int ret;

	len = proto_req_empty(req, req_cap, AZIHSM_OP_GET_SESSION_ENC_KEY);
	ret = lib_transact(dev, req, len, rsp, sizeof(rsp), AZIHSM_OP_GET_SESSION_ENC_KEY, &d);
	if (!ret)
		ret = proto_parse_session_key(&d, &pub, &pub_len, &np, &sig);
	if (ret)
		return ret;
	/* No PIN goes to a key the trusted root does not vouch for. */
	ret = check_session_key(dev, pub, pub_len, np, sig);
	if (ret)
		return ret;
	memcpy(nonce, np, sizeof(nonce));
	ret = hsm_auth_client_seal(pub, pub_len, nonce, kind, role, id, pin, new_pin, &sealed);
	if (ret == -EBADMSG)
		return -EPROTO;			/* the device's key is unusable */
	if (ret == -EIO)
		return -ENOTRECOVERABLE;	/* OpenSSL failed here, not the device */
	if (ret)
		return ret;
	ps = (struct proto_sealed){ .host_pub = sealed.host_pub,
				    .host_pub_len = sealed.host_pub_len, .nonce = nonce,
				    .ct = sealed.ct, .ct_len = sealed.ct_len, .tag = sealed.tag };
	if (!sess)
		len = proto_req_open_session(req, req_cap, &ps);
	else if (kind == HSM_AUTH_MSG_RESET)
		len = proto_req_reset_user(req, req_cap, sess->id, &ps);
	else
		len = proto_req_change_pin(req, req_cap, sess->id, &ps);
	OPENSSL_cleanse(&sealed, sizeof(sealed));
	return len ? (int)len : -EINVAL;
}

int azihsm_login(struct azihsm_dev *dev, enum azihsm_role role,
		 const uint8_t id[AZIHSM_ID_LEN], const char *pin,
		 struct azihsm_session **out)
{
	uint8_t req[REQ_MAX], rsp[512], pinb[AZIHSM_PIN_MAX];
	struct azihsm_session *s;
	struct mbor_dec d;
	uint8_t got_role = 0;
	bool must_change = false;
	uint16_t sid = 0;
	int ret, len;

	if (out)
		*out = NULL;
	if (!dev || !out || (role != AZIHSM_ROLE_OFFICER && role != AZIHSM_ROLE_USER))
		return -EINVAL;
	ret = pin_pad(pin, pinb);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	if (id)
		memcpy(s->cred_id, id, AZIHSM_ID_LEN);
	else
		default_id(role, s->cred_id);
	len = seal_request(dev, NULL, HSM_AUTH_MSG_OPEN, (uint8_t)role, s->cred_id, pinb, NULL,
			   req, sizeof(req));
	if (len < 0) {
		ret = len;
		goto out;
	}
	ret = lib_transact_sess(dev, req, (size_t)len, rsp, sizeof(rsp), AZIHSM_OP_OPEN_SESSION,
				AZIHSM_SESSION_OP_OPEN, 0, &d);
	if (!ret)
		ret = proto_parse_open_session(&d, &sid, &got_role, &must_change);
	if (ret)
		goto out;
	s->dev = dev;
	s->id = sid;
	s->role = got_role;
	s->must_change = must_change;
	if (got_role != (uint8_t)role) {
		/* Not the session asked for: close it and say so. */
		azihsm_logout(s);
		s = NULL;
		ret = -EPROTO;
		goto out;
	}
	*out = s;
	s = NULL;
out:
	free(s);
	OPENSSL_cleanse(pinb, sizeof(pinb));
	OPENSSL_cleanse(req, sizeof(req));
	return ret;
}

int azihsm_change_pin(struct azihsm_session *sess, const char *old_pin, const char *new_pin)
{
	uint8_t req[REQ_MAX], rsp[256], oldb[AZIHSM_PIN_MAX], newb[AZIHSM_PIN_MAX];
	struct mbor_dec d;
	int ret, len;

	if (!sess)
		return -EINVAL;
	ret = pin_pad(old_pin, oldb);
	if (!ret)
		ret = pin_pad(new_pin, newb);
	if (ret)
		goto out;
	len = seal_request(sess->dev, sess, HSM_AUTH_MSG_CHPIN, sess->role, sess->cred_id, oldb,
			   newb, req, sizeof(req));
	if (len < 0) {
		ret = len;
		goto out;
	}
	ret = lib_transact_sess(sess->dev, req, (size_t)len, rsp, sizeof(rsp),
				AZIHSM_OP_CHANGE_PIN, IN_SESSION, sess->id, &d);
	if (!ret)
		ret = proto_parse_empty(&d);
	if (!ret)
		sess->must_change = false;
out:
	OPENSSL_cleanse(oldb, sizeof(oldb));
	OPENSSL_cleanse(newb, sizeof(newb));
	OPENSSL_cleanse(req, sizeof(req));
	return ret;
}

int azihsm_user_reset_pin(struct azihsm_session *officer, const uint8_t id[AZIHSM_ID_LEN],
			  const char *new_pin)
{
	uint8_t req[REQ_MAX], rsp[256], idb[AZIHSM_ID_LEN], newb[AZIHSM_PIN_MAX];
	struct mbor_dec d;
	int ret, len;

	if (!officer)
		return -EINVAL;
	ret = pin_pad(new_pin, newb);
	if (ret)
		goto out;
	if (id)
		memcpy(idb, id, sizeof(idb));
	else
		default_id(AZIHSM_ROLE_USER, idb);
	len = seal_request(officer->dev, officer, HSM_AUTH_MSG_RESET, HSM_ROLE_USER, idb, newb,
			   NULL, req, sizeof(req));
	if (len < 0) {
		ret = len;
		goto out;
	}
	ret = lib_transact_sess(officer->dev, req, (size_t)len, rsp, sizeof(rsp),
				AZIHSM_OP_RESET_USER_CREDENTIAL, IN_SESSION, officer->id, &d);
	if (!ret)
		ret = proto_parse_empty(&d);
out:
	OPENSSL_cleanse(newb, sizeof(newb));
	OPENSSL_cleanse(req, sizeof(req));
	return ret;
}

int azihsm_user_unlock(struct azihsm_session *officer)
{
	return lib_sess_call_empty(officer, AZIHSM_OP_UNLOCK_USER);
}

int azihsm_zeroize(struct azihsm_session *officer)
{
	struct azihsm_last_status st;
	int ret;

	if (!officer || officer->closed)
		return -EINVAL;
	ret = lib_sess_call_empty(officer, AZIHSM_OP_ZEROIZE_PARTITION);
	st = azihsm_last_status(NULL);
	/* Past the role checks the device closes every session, this one too. */
	if (!ret || (ret == -EIO && st.kind == AZIHSM_STATUS_KIND_HSM &&
		     st.code == AZIHSM_STATUS_NOT_STORED))
		officer->closed = true;
	return ret;
}

int azihsm_logout(struct azihsm_session *sess)
{
	uint8_t req[64], rsp[256];
	struct mbor_dec d;
	size_t len;
	int ret;

	if (!sess)
		return 0;
	if (sess->closed) {
		OPENSSL_cleanse(sess, sizeof(*sess));
		free(sess);
		return 0;
	}
	len = proto_req_sess_empty(req, sizeof(req), AZIHSM_OP_CLOSE_SESSION, sess->id);
	ret = lib_transact_sess(sess->dev, req, len, rsp, sizeof(rsp), AZIHSM_OP_CLOSE_SESSION,
				AZIHSM_SESSION_OP_CLOSE | AZIHSM_SESSION_ID_VALID, sess->id, &d);
	if (!ret)
		ret = proto_parse_empty(&d);
	OPENSSL_cleanse(sess, sizeof(*sess));
	free(sess);
	return ret;
}

bool azihsm_session_must_change_pin(const struct azihsm_session *sess)
{
	return sess && sess->must_change;
}

enum azihsm_role azihsm_session_role(const struct azihsm_session *sess)
{
	return sess ? (enum azihsm_role)sess->role : 0;
}

uint16_t azihsm_session_id(const struct azihsm_session *sess)
{
	return sess ? sess->id : 0;
}

struct azihsm_dev *lib_session_dev(const struct azihsm_session *sess)
{
	return sess->dev;
}

/* Send an in-session request built into @req (length @len; 0 = did not fit). */
int lib_sess_transact(struct azihsm_session *sess, const uint8_t *req, size_t len,
		      uint8_t *rsp, size_t cap, uint32_t opcode, struct mbor_dec *d)
{
	if (!len)
		return -EINVAL;
	return lib_transact_sess(sess->dev, req, len, rsp, cap, opcode, IN_SESSION, sess->id, d);
}

int lib_sess_call_empty(struct azihsm_session *sess, uint32_t opcode)
{
	uint8_t req[64], rsp[256];
	struct mbor_dec d;
	size_t len;
	int ret;

	if (!sess)
		return -EINVAL;
	len = proto_req_sess_empty(req, sizeof(req), opcode, sess->id);
	ret = lib_sess_transact(sess, req, len, rsp, sizeof(rsp), opcode, &d);
	return ret ? ret : proto_parse_empty(&d);
}

int azihsm_key_generate(struct azihsm_session *sess, enum azihsm_key_type type,
			uint32_t usage, const void *label, size_t label_len, bool persistent,
			uint16_t *key_id)
{
	uint8_t req[REQ_MAX], rsp[256];
	struct mbor_dec d;
	size_t len;
	int ret;

	if (!sess || !key_id || (unsigned int)type > 0xff || label_len > AZIHSM_LABEL_MAX ||
	    (label_len && !label))
		return -EINVAL;
	len = proto_req_key_generate(req, sizeof(req), sess->id, (uint8_t)type, usage, label,
				     label_len, persistent);
	ret = lib_sess_transact(sess, req, len, rsp, sizeof(rsp), AZIHSM_OP_KEY_GENERATE, &d);
	return ret ? ret : proto_parse_key_id(&d, key_id);
}

int azihsm_key_open(struct azihsm_session *sess, const void *label, size_t label_len,
		    uint16_t *key_id)
{
	uint8_t req[REQ_MAX], rsp[256];
	struct mbor_dec d;
	size_t len;
	int ret;

	if (!sess || !key_id || !label || !label_len || label_len > AZIHSM_LABEL_MAX)
		return -EINVAL;
	len = proto_req_key_open(req, sizeof(req), sess->id, label, label_len);
	ret = lib_sess_transact(sess, req, len, rsp, sizeof(rsp), AZIHSM_OP_OPEN_KEY, &d);
	return ret ? ret : proto_parse_key_id(&d, key_id);
}

int azihsm_key_delete(struct azihsm_session *sess, uint16_t key_id)
{
	uint8_t req[64], rsp[256];
	struct mbor_dec d;
	size_t len;
	int ret;

	if (!sess)
		return -EINVAL;
	len = proto_req_key_id(req, sizeof(req), AZIHSM_OP_DELETE_KEY, sess->id, key_id);
	ret = lib_sess_transact(sess, req, len, rsp, sizeof(rsp), AZIHSM_OP_DELETE_KEY, &d);
	return ret ? ret : proto_parse_empty(&d);
}

int azihsm_key_list(struct azihsm_session *sess, struct azihsm_key_info *out, size_t cap,
		    size_t *count)
{
	uint16_t after = 0, next;
	size_t total = 0, got;
	uint8_t req[64];
	uint8_t *rsp;
	struct mbor_dec d;
	size_t len;
	int ret;

	if (count)
		*count = 0;
	if (!sess || !count || (cap && !out))
		return -EINVAL;
	rsp = malloc(RSP_MAX);
	if (!rsp)
		return -ENOMEM;
	/* The device answers a page at a time, in id order. */
	do {
		size_t room = total < cap ? cap - total : 0;

		len = proto_req_key_list(req, sizeof(req), sess->id, after);
		ret = lib_sess_transact(sess, req, len, rsp, RSP_MAX, AZIHSM_OP_KEY_LIST, &d);
		if (!ret)
			ret = proto_parse_key_list(&d, room ? out + total : NULL, room, &got,
						   &next);
		if (ret && ret != -ENOSPC)
			break;
		if (next && next <= after) {
			ret = -EPROTO;	/* a device going backwards would loop */
			break;
		}
		total += got;
		after = next;
	} while (next);
	free(rsp);
	if (ret && ret != -ENOSPC)
		return ret;
	*count = total;
	return total > cap ? -ENOSPC : 0;
}

int azihsm_key_public(struct azihsm_session *sess, uint16_t key_id, uint8_t *der,
		      size_t cap, size_t *len)
{
	uint8_t req[64];
	uint8_t *rsp;
	struct mbor_dec d;
	size_t rlen;
	int ret;

	if (len)
		*len = 0;
	if (!sess || !der || !len)
		return -EINVAL;
	rsp = malloc(RSP_MAX);
	if (!rsp)
		return -ENOMEM;
	rlen = proto_req_key_id(req, sizeof(req), AZIHSM_OP_KEY_PUBLIC, sess->id, key_id);
	ret = lib_sess_transact(sess, req, rlen, rsp, RSP_MAX, AZIHSM_OP_KEY_PUBLIC, &d);
	if (!ret)
		ret = proto_parse_bytes(&d, AZIHSM_KEY_F_DER, der, cap, len);
	free(rsp);
	return ret;
}

int azihsm_ecdsa_sign(struct azihsm_session *sess, uint16_t key_id,
		      enum azihsm_hash_alg hash, const void *digest, size_t digest_len,
		      uint8_t *sig, size_t cap, size_t *sig_len, bool *fips_approved)
{
	uint8_t req[256], rsp[512];
	struct mbor_dec d;
	size_t want, len;
	int ret;

	if (sig_len)
		*sig_len = 0;
	if (fips_approved)
		*fips_approved = false;
	switch (hash) {
	case AZIHSM_HASH_ALG_SHA256:
		want = 32;
		break;
	case AZIHSM_HASH_ALG_SHA384:
		want = 48;
		break;
	case AZIHSM_HASH_ALG_SHA512:
		want = 64;
		break;
	default:
		return -EINVAL;
	}
	if (!sess || !digest || digest_len != want || !sig || !sig_len)
		return -EINVAL;
	len = proto_req_ecc_sign(req, sizeof(req), sess->id, key_id, (uint8_t)hash, digest,
				 digest_len);
	ret = lib_sess_transact(sess, req, len, rsp, sizeof(rsp), AZIHSM_OP_ECC_SIGN, &d);
	if (!ret)
		ret = proto_parse_bytes(&d, AZIHSM_SIGN_F_SIGNATURE, sig, cap, sig_len);
	if (!ret && fips_approved)
		*fips_approved = lib_last_fips();
	return ret;
}
