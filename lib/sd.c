// SPDX-License-Identifier: MIT
/*
 * libazihsm: the security domain (azihsm.h, "Security domain"). The
 * cryptography of the owners' side (share decryption, recombination, the
 * upload sealed to the exchange key) is shared/hsm_sd.c, shared
 * with the firmware: plain OpenSSL, no firmware state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <linux/azihsm.h>

#include "hsm_sd.h"
#include "internal.h"
#include "proto.h"

_Static_assert(AZIHSM_SD_OWNERS_LIMIT == AZIHSM_SD_OWNERS_MAX, "owner count");
_Static_assert(AZIHSM_SD_ID_LEN == HSM_SD_ID_LEN, "domain id length");
_Static_assert(AZIHSM_SD_SHARE_MAX >= HSM_SD_RSA_BITS_MAX / 8, "share length");

#define SD_XCHG_MAX	200	/* DER SPKI of the exchange key (P-384: 120) */
#define SD_RSP_MAX	(AZIHSM_SD_OWNERS_LIMIT * (AZIHSM_SD_SHARE_MAX + 8) + 256)

/* One in-session request with fields @f; its answer decoded from @rsp into @d. */
static int sd_run(struct azihsm_session *sess, uint32_t op, const struct proto_field *f,
		  size_t n, uint8_t *rsp, size_t cap, struct mbor_dec *d)
{
	uint8_t *req = malloc(AZIHSM_CMD_BUF_MAX);
	size_t len;
	int ret;

	if (!req)
		return -ENOMEM;
	len = proto_req_fields(req, AZIHSM_CMD_BUF_MAX, op, azihsm_session_id(sess), f, n);
	ret = len ? lib_sess_transact(sess, req, len, rsp, cap, op, d) : -EINVAL;
	memset(req, 0, AZIHSM_CMD_BUF_MAX);
	free(req);
	return ret;
}

static int copy_bytes(struct mbor_dec *d, uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *p;
	size_t n;

	if (mbor_dec_bytes(d, &p, &n) || n > cap)
		return -EPROTO;
	memcpy(out, p, n);
	*len = n;
	return 0;
}

int azihsm_sd_activate(struct azihsm_session *officer, uint8_t quorum,
		       const uint8_t *const *owner_der, const size_t *owner_len, unsigned int n,
		       struct azihsm_sd_domain *out)
{
	struct proto_field f[1 + AZIHSM_SD_OWNERS_LIMIT];
	uint8_t *rsp;
	struct mbor_dec d;
	struct mbor_map m;
	unsigned int i, seen = 0;
	size_t len;
	uint8_t id;
	int ret;

	if (!officer || !out || !owner_der || !owner_len || n < HSM_SD_OWNERS_MIN ||
	    n > AZIHSM_SD_OWNERS_LIMIT)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	f[0] = (struct proto_field){ .id = AZIHSM_SD_F_QUORUM, .type = PROTO_U8, .val = quorum };
	for (i = 0; i < n; i++)
		f[1 + i] = (struct proto_field){ .id = (uint8_t)(AZIHSM_SD_F_OWNER_FIRST + i),
						 .type = PROTO_BYTES, .p = owner_der[i],
						 .len = owner_len[i] };
	rsp = malloc(SD_RSP_MAX);
	if (!rsp)
		return -ENOMEM;
	ret = sd_run(officer, AZIHSM_OP_SD_ACTIVATE, f, 1 + n, rsp, SD_RSP_MAX, &d);
	if (ret)
		goto out;
	ret = mbor_dec_map(&d, &m) ? -EPROTO : 0;
	while (!ret && (ret = mbor_dec_next(&d, &m, &id)) == 1) {
		if (id == AZIHSM_SD_F_ID) {
			ret = copy_bytes(&d, out->id, sizeof(out->id), &len);
			if (!ret && len != sizeof(out->id))
				ret = -EPROTO;
		} else if (id == AZIHSM_SD_F_ANS_QUORUM) {
			ret = mbor_dec_u8(&d, &out->quorum) ? -EPROTO : 0;
		} else if (id >= AZIHSM_SD_F_SHARE_FIRST && id < AZIHSM_SD_F_SHARE_FIRST + n) {
			i = id - AZIHSM_SD_F_SHARE_FIRST;
			ret = copy_bytes(&d, out->share[i], sizeof(out->share[i]),
					 &out->share_len[i]);
		} else {
			ret = -EPROTO;
		}
		if (!ret)
			seen++;
	}
	if (ret < 0 || mbor_dec_finish(&d) || seen != 2 + n || out->quorum != quorum)
		ret = -EPROTO;
	else
		out->n = n;
out:
	free(rsp);
	return ret;
}

int azihsm_sd_combine_shares(const struct azihsm_sd_domain *dom, void *const *keys,
			     const unsigned int *idx, unsigned int k, uint8_t key[32])
{
	struct hsm_sd_share sh[AZIHSM_SD_OWNERS_LIMIT];
	struct hsm_sd sd;
	unsigned int i;
	int ret = 0;

	if (!dom || !keys || !idx || !key || k > AZIHSM_SD_OWNERS_LIMIT)
		return -EINVAL;
	for (i = 0; i < k && !ret; i++) {
		if (idx[i] >= dom->n)
			ret = -EINVAL;
		else if (hsm_sd_decrypt_share(keys[i], dom->share[idx[i]], dom->share_len[idx[i]],
					      &sh[i]))
			ret = -EBADMSG;
	}
	if (!ret) {
		switch (hsm_sd_combine(dom->id, dom->quorum, sh, k, &sd)) {
		case HSM_SD_OK:
			memcpy(key, sd.key, sizeof(sd.key));
			break;
		case HSM_SD_TOO_FEW:
			ret = -ENOENT;
			break;
		default:
			ret = -EKEYREJECTED;
		}
	}
	OPENSSL_cleanse(sh, sizeof(sh));
	OPENSSL_cleanse(&sd, sizeof(sd));
	return ret;
}

/*
 * SdExchangeKey's answer: the exchange key (DER SPKI) into @xchg and its
 * signature (NULL if absent) into @sig.
 */
static int parse_xchg(struct mbor_dec *d, uint8_t *xchg, size_t cap, size_t *xlen,
		      uint8_t sig[AZIHSM_SESS_SIG_LEN], bool *have_sig)
{
	struct mbor_map m;
	size_t slen = 0;
	bool have_key = false;
	uint8_t id;
	int ret;

	*have_sig = false;
	ret = mbor_dec_map(d, &m) ? -EPROTO : 0;
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id == AZIHSM_SD_F_XCHG_KEY && !have_key) {
			ret = copy_bytes(d, xchg, cap, xlen);
			have_key = !ret;
		} else if (id == AZIHSM_SD_F_XCHG_SIG && !*have_sig) {
			ret = copy_bytes(d, sig, AZIHSM_SESS_SIG_LEN, &slen);
			*have_sig = !ret && slen == AZIHSM_SESS_SIG_LEN;
			if (!ret && !*have_sig)
				ret = -EPROTO;
		} else {
			ret = -EPROTO;
		}
	}
	if (ret < 0 || mbor_dec_finish(d) || !have_key)
		return -EPROTO;
	return 0;
}

/*
 * The exchange key is the device's: the partition key signed it
 * (AZIHSM_SD_XCHG_SIG_CONTEXT || its DER, msg.h) and the chain verifies to
 * @root. Else -ENOKEY: the domain key is not sealed to it.
 */
static int check_xchg(struct azihsm_session *officer, const char *root, const char *expect,
		      const uint8_t *xchg, size_t xlen, const uint8_t *sig)
{
	uint8_t msg[sizeof(AZIHSM_SD_XCHG_SIG_CONTEXT) - 1 + SD_XCHG_MAX];
	size_t c = sizeof(AZIHSM_SD_XCHG_SIG_CONTEXT) - 1;

	if (xlen > SD_XCHG_MAX)
		return -EPROTO;
	memcpy(msg, AZIHSM_SD_XCHG_SIG_CONTEXT, c);
	memcpy(msg + c, xchg, xlen);
	return lib_check_vouched_by(lib_session_dev(officer), root, expect, msg, c + xlen, sig,
				    AZIHSM_SESS_SIG_LEN);
}

int azihsm_sd_upload(struct azihsm_session *officer, const struct azihsm_sd_domain *dom,
		     const uint8_t key[32], const char *root)
{
	return azihsm_sd_upload_to(officer, dom, key, root, NULL);
}

int azihsm_sd_upload_to(struct azihsm_session *officer, const struct azihsm_sd_domain *dom,
			const uint8_t key[32], const char *root, const char *expect_device)
{
	uint8_t rsp[1024], xchg[SD_XCHG_MAX], host[128], nonce[HSM_SD_NONCE_LEN];
	uint8_t ct[HSM_SD_UPLOAD_PLAIN], tag[HSM_SD_TAG_LEN], sig[AZIHSM_SESS_SIG_LEN];
	size_t xlen = 0, hlen = 0;
	struct hsm_sd sd = { 0 };
	struct mbor_dec d;
	bool have_sig = false;
	int ret;

	if (!officer || !dom || !key || (expect_device && !*expect_device))
		return -EINVAL;
	ret = sd_run(officer, AZIHSM_OP_SD_EXCHANGE_KEY, NULL, 0, rsp, sizeof(rsp), &d);
	if (!ret)
		ret = parse_xchg(&d, xchg, sizeof(xchg), &xlen, sig, &have_sig);
	if (!ret)
		ret = check_xchg(officer, root, expect_device, xchg, xlen, have_sig ? sig : NULL);
	if (ret)
		return ret;
	memcpy(sd.id, dom->id, sizeof(sd.id));
	sd.quorum = dom->quorum;
	memcpy(sd.key, key, sizeof(sd.key));
	ret = hsm_sd_seal_upload(&sd, xchg, xlen, host, &hlen, nonce, ct, tag) ? -EPROTO : 0;
	OPENSSL_cleanse(&sd, sizeof(sd));
	if (!ret) {
		const struct proto_field f[] = {
			{ .id = AZIHSM_SD_F_HOST_KEY, .type = PROTO_BYTES, .p = host, .len = hlen },
			{ .id = AZIHSM_SD_F_NONCE, .type = PROTO_BYTES, .p = nonce,
			  .len = sizeof(nonce) },
			{ .id = AZIHSM_SD_F_CT, .type = PROTO_BYTES, .p = ct, .len = sizeof(ct) },
			{ .id = AZIHSM_SD_F_TAG, .type = PROTO_BYTES, .p = tag, .len = sizeof(tag) },
		};
		uint8_t id[AZIHSM_SD_ID_LEN];
		size_t len = 0;

		ret = sd_run(officer, AZIHSM_OP_SD_UPLOAD, f, 4, rsp, sizeof(rsp), &d);
		if (!ret)
			ret = proto_parse_bytes(&d, AZIHSM_SD_F_ID, id, sizeof(id), &len);
		if (!ret && (len != sizeof(id) || memcmp(id, dom->id, sizeof(id))))
			ret = -EPROTO;
	}
	OPENSSL_cleanse(ct, sizeof(ct));
	return ret;
}

int azihsm_sd_backup_key(struct azihsm_session *officer, uint16_t key_id, uint8_t *blob,
			 size_t cap, size_t *len)
{
	const struct proto_field f[] = {
		{ .id = AZIHSM_SD_F_KEY_ID, .type = PROTO_U16, .val = key_id },
	};
	uint8_t *rsp;
	struct mbor_dec d;
	int ret;

	if (!officer || !blob || !len)
		return -EINVAL;
	rsp = malloc(AZIHSM_CMD_BUF_MAX);
	if (!rsp)
		return -ENOMEM;
	ret = sd_run(officer, AZIHSM_OP_SD_BACKUP_KEY, f, 1, rsp, AZIHSM_CMD_BUF_MAX, &d);
	if (!ret)
		ret = proto_parse_bytes(&d, AZIHSM_SD_F_BLOB, blob, cap, len);
	free(rsp);
	return ret;
}

int azihsm_sd_restore_key(struct azihsm_session *officer, const void *blob, size_t len,
			  uint16_t *key_id)
{
	const struct proto_field f[] = {
		{ .id = AZIHSM_SD_F_BLOB, .type = PROTO_BYTES, .p = blob, .len = len },
	};
	uint8_t rsp[256];
	struct mbor_dec d;
	int ret;

	if (!officer || !blob || !len || !key_id)
		return -EINVAL;
	ret = sd_run(officer, AZIHSM_OP_SD_RESTORE_KEY, f, 1, rsp, sizeof(rsp), &d);
	return ret ? ret : proto_parse_key_id(&d, key_id);
}

int azihsm_sd_info(struct azihsm_session *sess, bool *active, uint8_t id[AZIHSM_SD_ID_LEN],
		   uint8_t *quorum)
{
	uint8_t rsp[256];
	struct mbor_dec d;
	struct mbor_map m;
	unsigned int seen = 0;
	size_t len = 0;
	uint8_t fid;
	int ret;

	if (!sess || !active || !id || !quorum)
		return -EINVAL;
	ret = sd_run(sess, AZIHSM_OP_SD_INFO, NULL, 0, rsp, sizeof(rsp), &d);
	if (ret)
		return ret;
	ret = mbor_dec_map(&d, &m) ? -EPROTO : 0;
	while (!ret && (ret = mbor_dec_next(&d, &m, &fid)) == 1) {
		if (fid == AZIHSM_SD_F_ACTIVE)
			ret = mbor_dec_bool(&d, active) ? -EPROTO : 0;
		else if (fid == AZIHSM_SD_F_INFO_ID)
			ret = copy_bytes(&d, id, AZIHSM_SD_ID_LEN, &len);
		else if (fid == AZIHSM_SD_F_INFO_QUORUM)
			ret = mbor_dec_u8(&d, quorum) ? -EPROTO : 0;
		else
			ret = -EPROTO;
		seen += !ret;
	}
	if (ret < 0 || mbor_dec_finish(&d) || seen != 3 || len != AZIHSM_SD_ID_LEN)
		return -EPROTO;
	return 0;
}
