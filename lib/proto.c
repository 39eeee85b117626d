// SPDX-License-Identifier: MIT
/* libazihsm request building and response parsing (see proto.h). */
#include <errno.h>
#include <string.h>

#include "proto.h"

static size_t req_finish(struct mbor_enc *e)
{
	size_t len;

	return mbor_enc_finish(e, &len) ? 0 : len;
}

size_t proto_req_empty(uint8_t *buf, size_t cap, uint32_t opcode)
{
	struct azihsm_req_hdr h = { .opcode = opcode };
	struct mbor_enc e;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_request(&e, &h);
	mbor_enc_map(&e, 0);
	return req_finish(&e);
}

size_t proto_req_random(uint8_t *buf, size_t cap, uint16_t len)
{
	struct mbor_enc e;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_random_request(&e, len);
	return req_finish(&e);
}

int proto_rsp_begin_fips(struct mbor_dec *d, const uint8_t *rsp, size_t len, uint32_t opcode,
			 uint32_t *hsm_status, bool *fips_approved)
{
	struct azihsm_rsp_hdr h;
	bool has_data;

	*hsm_status = 0;
	if (fips_approved)
		*fips_approved = false;
	mbor_dec_init(d, rsp, len);
	if (azihsm_msg_parse_response(d, &h, &has_data))
		return -EPROTO;
	if (h.status) {
		*hsm_status = h.status;
		return -EIO;
	}
	if (!has_data || h.req.opcode != opcode)
		return -EPROTO;
	if (fips_approved)
		*fips_approved = h.fips_approved;
	return 0;
}

int proto_rsp_begin(struct mbor_dec *d, const uint8_t *rsp, size_t len, uint32_t opcode,
		    uint32_t *hsm_status)
{
	return proto_rsp_begin_fips(d, rsp, len, opcode, hsm_status, NULL);
}

static int dec_done(struct mbor_dec *d, int ret)
{
	if (ret < 0 || mbor_dec_finish(d))
		return -EPROTO;
	return 0;
}

int proto_parse_api_rev(struct mbor_dec *d, struct azihsm_rev *min, struct azihsm_rev *max)
{
	struct azihsm_api_rev r[2];
	unsigned int seen = 0;
	struct mbor_map m;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id != AZIHSM_APIREV_MIN && id != AZIHSM_APIREV_MAX) {
			ret = mbor_dec_skip(d);
			continue;
		}
		ret = azihsm_msg_dec_rev(d, &r[id - 1]);
		seen |= 1u << id;
	}
	if (dec_done(d, ret) || seen != 6)
		return -EPROTO;
	min->major = r[0].major;
	min->minor = r[0].minor;
	max->major = r[1].major;
	max->minor = r[1].minor;
	return 0;
}

static void copy_str(char *dst, size_t cap, const uint8_t *p, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, p, len);
	dst[len] = '\0';
}

int proto_parse_devinfo(struct mbor_dec *d, struct proto_devinfo *info)
{
	struct mbor_map m;
	const uint8_t *p;
	size_t len;
	uint8_t id;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		switch (id) {
		case AZIHSM_DEVINFO_KIND:
			ret = mbor_dec_u32(d, &info->kind);
			break;
		case AZIHSM_DEVINFO_TABLES:
			ret = mbor_dec_u32(d, &info->tables);
			break;
		case AZIHSM_DEVINFO_FIPS:
			ret = mbor_dec_bool(d, &info->fips);
			break;
		case AZIHSM_DEVINFO_SERIAL:
			ret = mbor_dec_bytes(d, &p, &len);
			if (!ret)
				copy_str(info->serial, sizeof(info->serial), p, len);
			break;
		case AZIHSM_DEVINFO_FW_REV:
			ret = mbor_dec_bytes(d, &p, &len);
			if (!ret)
				copy_str(info->fw_rev, sizeof(info->fw_rev), p, len);
			break;
		case AZIHSM_DEVINFO_PERSIST:
			ret = mbor_dec_u32(d, &info->persist);
			break;
		case AZIHSM_DEVINFO_ERROR_STATE:
			ret = mbor_dec_bool(d, &info->error_state);
			break;
		case AZIHSM_DEVINFO_BOOT:
			ret = mbor_dec_u32(d, &info->boot);
			info->has_boot = !ret;
			break;
		case AZIHSM_DEVINFO_FW_VERSION:
			ret = mbor_dec_bytes(d, &p, &len);
			if (!ret)
				copy_str(info->fw_version, sizeof(info->fw_version), p, len);
			break;
		case AZIHSM_DEVINFO_SVN:
			ret = mbor_dec_u32(d, &info->svn);
			break;
		case AZIHSM_DEVINFO_MEASUREMENT:
			ret = mbor_dec_bytes(d, &p, &len);
			if (!ret && len != sizeof(info->measurement))
				ret = -1;
			if (!ret) {
				memcpy(info->measurement, p, len);
				info->has_measurement = true;
			}
			break;
		case AZIHSM_DEVINFO_ERROR_REASON:
			ret = mbor_dec_u32(d, &info->error_reason);
			break;
		case AZIHSM_DEVINFO_ERROR_DETAIL:
			ret = mbor_dec_bytes(d, &p, &len);
			if (!ret)
				copy_str(info->error_detail, sizeof(info->error_detail), p, len);
			break;
		case AZIHSM_DEVINFO_TAMPER_COUNT:
			ret = mbor_dec_u32(d, &info->tamper_count);
			break;
		default:
			ret = mbor_dec_skip(d);	/* newer firmware: ignore */
			break;
		}
	}
	return dec_done(d, ret);
}

int proto_parse_random(struct mbor_dec *d, void *out, size_t want)
{
	const uint8_t *p;
	size_t len;

	if (azihsm_msg_random_data(d, &p, &len) || len != want)
		return -EPROTO;
	memcpy(out, p, len);
	return 0;
}

/* Session and key requests (format: msg.h, "Sessions" and "Keys"). */

static void begin_sess(struct mbor_enc *e, uint8_t *buf, size_t cap, uint32_t opcode,
		       bool has_session, uint16_t sid)
{
	struct azihsm_req_hdr h = { .opcode = opcode, .has_session = has_session,
				    .session_id = sid };

	mbor_enc_init(e, buf, cap);
	azihsm_msg_begin_request(e, &h);
}

static void enc_sealed(struct mbor_enc *e, const struct proto_sealed *s)
{
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_SESS_HOST_PUB);
	mbor_enc_bytes(e, s->host_pub, s->host_pub_len);
	mbor_enc_key(e, AZIHSM_SESS_MSG_NONCE);
	mbor_enc_bytes(e, s->nonce, PROTO_NONCE_LEN);
	mbor_enc_key(e, AZIHSM_SESS_CIPHERTEXT);
	mbor_enc_bytes(e, s->ct, s->ct_len);
	mbor_enc_key(e, AZIHSM_SESS_TAG);
	mbor_enc_bytes(e, s->tag, PROTO_TAG_LEN);
}

size_t proto_req_open_session(uint8_t *buf, size_t cap, const struct proto_sealed *s)
{
	struct mbor_enc e;

	begin_sess(&e, buf, cap, AZIHSM_OP_OPEN_SESSION, false, 0);
	enc_sealed(&e, s);
	return req_finish(&e);
}

size_t proto_req_change_pin(uint8_t *buf, size_t cap, uint16_t sid,
			    const struct proto_sealed *s)
{
	struct mbor_enc e;

	begin_sess(&e, buf, cap, AZIHSM_OP_CHANGE_PIN, true, sid);
	enc_sealed(&e, s);
	return req_finish(&e);
}

size_t proto_req_reset_user(uint8_t *buf, size_t cap, uint16_t sid,
			    const struct proto_sealed *s)
{
	struct mbor_enc e;

	begin_sess(&e, buf, cap, AZIHSM_OP_RESET_USER_CREDENTIAL, true, sid);
	enc_sealed(&e, s);
	return req_finish(&e);
}

size_t proto_req_sess_empty(uint8_t *buf, size_t cap, uint32_t opcode, uint16_t sid)
{
	struct mbor_enc e;

	begin_sess(&e, buf, cap, opcode, true, sid);
	mbor_enc_map(&e, 0);
	return req_finish(&e);
}

size_t proto_req_key_generate(uint8_t *buf, size_t cap, uint16_t sid, uint8_t type,
			      uint32_t usage, const void *label, size_t label_len,
			      bool persistent)
{
	struct mbor_enc e;

	if (label_len > AZIHSM_KEY_LABEL_MAX || (label_len && !label))
		return 0;
	begin_sess(&e, buf, cap, AZIHSM_OP_KEY_GENERATE, true, sid);
	mbor_enc_map(&e, label_len ? 4 : 3);
	mbor_enc_key(&e, AZIHSM_KEY_F_TYPE);
	mbor_enc_u8(&e, type);
	mbor_enc_key(&e, AZIHSM_KEY_F_USAGE);
	mbor_enc_u32(&e, usage);
	if (label_len) {
		mbor_enc_key(&e, AZIHSM_KEY_F_LABEL);
		mbor_enc_bytes(&e, label, label_len);
	}
	mbor_enc_key(&e, AZIHSM_KEY_F_PERSISTENT);
	mbor_enc_bool(&e, persistent);
	return req_finish(&e);
}

size_t proto_req_key_open(uint8_t *buf, size_t cap, uint16_t sid, const void *label,
			  size_t label_len)
{
	struct mbor_enc e;

	if (!label || !label_len || label_len > AZIHSM_KEY_LABEL_MAX)
		return 0;
	begin_sess(&e, buf, cap, AZIHSM_OP_OPEN_KEY, true, sid);
	mbor_enc_map(&e, 1);
	mbor_enc_key(&e, AZIHSM_KEY_F_OPEN_LABEL);
	mbor_enc_bytes(&e, label, label_len);
	return req_finish(&e);
}

size_t proto_req_key_list(uint8_t *buf, size_t cap, uint16_t sid, uint16_t after)
{
	struct mbor_enc e;

	begin_sess(&e, buf, cap, AZIHSM_OP_KEY_LIST, true, sid);
	mbor_enc_map(&e, after ? 1 : 0);
	if (after) {
		mbor_enc_key(&e, AZIHSM_KEY_F_AFTER);
		mbor_enc_u16(&e, after);
	}
	return req_finish(&e);
}

size_t proto_req_key_id(uint8_t *buf, size_t cap, uint32_t opcode, uint16_t sid,
			uint16_t key_id)
{
	struct mbor_enc e;

	begin_sess(&e, buf, cap, opcode, true, sid);
	mbor_enc_map(&e, 1);
	mbor_enc_key(&e, AZIHSM_KEY_F_ID);
	mbor_enc_u16(&e, key_id);
	return req_finish(&e);
}

size_t proto_req_ecc_sign(uint8_t *buf, size_t cap, uint16_t sid, uint16_t key_id,
			  uint8_t hash, const void *digest, size_t digest_len)
{
	struct mbor_enc e;

	if (!digest || !digest_len)
		return 0;
	begin_sess(&e, buf, cap, AZIHSM_OP_ECC_SIGN, true, sid);
	mbor_enc_map(&e, 3);
	mbor_enc_key(&e, AZIHSM_SIGN_F_KEY);
	mbor_enc_u16(&e, key_id);
	mbor_enc_key(&e, AZIHSM_SIGN_F_HASH);
	mbor_enc_u8(&e, hash);
	mbor_enc_key(&e, AZIHSM_SIGN_F_DIGEST);
	mbor_enc_bytes(&e, digest, digest_len);
	return req_finish(&e);
}

size_t proto_req_fields(uint8_t *buf, size_t cap, uint32_t opcode, uint16_t sid,
			const struct proto_field *f, size_t n)
{
	struct mbor_enc e;
	size_t i, count = 0;
	int last = -1;

	for (i = 0; i < n; i++) {
		if (f[i].skip)
			continue;
		if ((int)f[i].id <= last || (f[i].type == PROTO_BYTES && f[i].len && !f[i].p))
			return 0;
		last = f[i].id;
		count++;
	}
	begin_sess(&e, buf, cap, opcode, true, sid);
	mbor_enc_map(&e, count);
	for (i = 0; i < n; i++) {
		if (f[i].skip)
			continue;
		mbor_enc_key(&e, f[i].id);
		switch (f[i].type) {
		case PROTO_U8:
			mbor_enc_u8(&e, (uint8_t)f[i].val);
			break;
		case PROTO_U16:
			mbor_enc_u16(&e, (uint16_t)f[i].val);
			break;
		case PROTO_U32:
			mbor_enc_u32(&e, f[i].val);
			break;
		case PROTO_BOOL:
			mbor_enc_bool(&e, f[i].val != 0);
			break;
		case PROTO_BYTES:
			mbor_enc_bytes(&e, f[i].p, f[i].len);
			break;
		default:
			return 0;
		}
	}
	return req_finish(&e);
}

/*
 * Response data maps: known fields by type, unknown ones skipped (newer
 * firmware), required ones checked, nothing after the map.
 */
int proto_parse_session_key(struct mbor_dec *d, const uint8_t **dev_pub, size_t *dev_pub_len,
			    const uint8_t **nonce, const uint8_t **sig)
{
	unsigned int seen = 0;
	size_t slen = 0;
	struct mbor_map m;
	size_t nlen = 0;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		switch (id) {
		case AZIHSM_SESS_DEVICE_PUB:
			ret = mbor_dec_bytes(d, dev_pub, dev_pub_len);
			break;
		case AZIHSM_SESS_NONCE:
			ret = mbor_dec_bytes(d, nonce, &nlen);
			break;
		case AZIHSM_SESS_PUB_SIG:
			ret = mbor_dec_bytes(d, sig, &slen);
			break;
		default:
			ret = mbor_dec_skip(d);
			continue;
		}
		seen |= 1u << id;
	}
	seen &= ~(1u << AZIHSM_SESS_PUB_SIG);
	if (dec_done(d, ret) || seen != ((1u << AZIHSM_SESS_DEVICE_PUB) | (1u << AZIHSM_SESS_NONCE)))
		return -EPROTO;
	if (nlen != PROTO_NONCE_LEN || !*dev_pub_len || *dev_pub_len > PROTO_DEV_PUB_MAX)
		return -EPROTO;
	if (!slen)
		*sig = NULL;	/* not signed: the caller refuses it */
	else if (slen != AZIHSM_SESS_SIG_LEN)
		return -EPROTO;
	return 0;
}

int proto_parse_open_session(struct mbor_dec *d, uint16_t *sid, uint8_t *role,
			     bool *must_change)
{
	unsigned int seen = 0;
	struct mbor_map m;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		switch (id) {
		case AZIHSM_SESS_ID:
			ret = mbor_dec_u16(d, sid);
			break;
		case AZIHSM_SESS_ROLE:
			ret = mbor_dec_u8(d, role);
			break;
		case AZIHSM_SESS_MUST_CHANGE:
			ret = mbor_dec_bool(d, must_change);
			break;
		default:
			ret = mbor_dec_skip(d);
			continue;
		}
		seen |= 1u << id;
	}
	if (dec_done(d, ret) || seen != 0xe)
		return -EPROTO;
	return 0;
}

int proto_parse_empty(struct mbor_dec *d)
{
	struct mbor_map m;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1)
		ret = mbor_dec_skip(d);
	return dec_done(d, ret);
}

int proto_parse_key_id(struct mbor_dec *d, uint16_t *key_id)
{
	struct mbor_map m;
	bool seen = false;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id == AZIHSM_KEY_F_ID) {
			ret = mbor_dec_u16(d, key_id);
			seen = true;
		} else {
			ret = mbor_dec_skip(d);
		}
	}
	if (dec_done(d, ret) || !seen)
		return -EPROTO;
	return 0;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Record: id u16 LE, type u8, usage u32 LE, persistent u8, label_len u8, label. */
#define KEY_REC_FIXED	9

int proto_parse_key_list(struct mbor_dec *d, struct azihsm_key_info *out, size_t cap,
			 size_t *count, uint16_t *next)
{
	const uint8_t *rec = NULL;
	size_t rec_len = 0, off = 0, i;
	unsigned int seen = 0;
	struct mbor_map m;
	uint16_t n = 0;
	uint8_t id;
	int ret;

	*count = 0;
	*next = 0;
	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		switch (id) {
		case AZIHSM_KEY_F_COUNT:
			ret = mbor_dec_u16(d, &n);
			break;
		case AZIHSM_KEY_F_RECORDS:
			ret = mbor_dec_bytes(d, &rec, &rec_len);
			break;
		case AZIHSM_KEY_F_NEXT:
			ret = mbor_dec_u16(d, next);
			if (!ret && !*next)
				ret = -MBOR_ERR_VALUE;	/* 0 would restart the listing */
			continue;
		default:
			ret = mbor_dec_skip(d);
			continue;
		}
		seen |= 1u << id;
	}
	if (dec_done(d, ret) || seen != 6)
		return -EPROTO;
	/* Walk all records first: the answer is used only if all are sound. */
	for (i = 0; i < n; i++) {
		size_t llen;

		if (rec_len - off < KEY_REC_FIXED)
			return -EPROTO;
		llen = rec[off + 8];
		if (rec[off + 7] > 1 || llen > AZIHSM_KEY_LABEL_MAX ||
		    rec_len - off - KEY_REC_FIXED < llen)
			return -EPROTO;
		off += KEY_REC_FIXED + llen;
	}
	if (off != rec_len)
		return -EPROTO;
	for (i = 0, off = 0; i < n && i < cap; i++) {
		struct azihsm_key_info *k = &out[i];

		memset(k, 0, sizeof(*k));
		k->id = le16(rec + off);
		k->type = rec[off + 2];
		k->usage = le32(rec + off + 3);
		k->persistent = rec[off + 7];
		k->label_len = rec[off + 8];
		memcpy(k->label, rec + off + KEY_REC_FIXED, k->label_len);
		k->label[k->label_len] = '\0';
		off += KEY_REC_FIXED + k->label_len;
	}
	*count = n;
	return n > cap ? -ENOSPC : 0;
}

int proto_parse_bytes(struct mbor_dec *d, uint8_t field, uint8_t *out, size_t cap,
		      size_t *len)
{
	const uint8_t *p = NULL;
	struct mbor_map m;
	size_t n = 0;
	bool seen = false;
	uint8_t id;
	int ret;

	*len = 0;
	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id == field) {
			ret = mbor_dec_bytes(d, &p, &n);
			seen = true;
		} else {
			ret = mbor_dec_skip(d);
		}
	}
	if (dec_done(d, ret) || !seen || !n)
		return -EPROTO;
	*len = n;
	if (n > cap)
		return -ENOSPC;
	memcpy(out, p, n);
	return 0;
}

int proto_parse_bool(struct mbor_dec *d, uint8_t field, bool *val)
{
	struct mbor_map m;
	bool seen = false;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id == field) {
			ret = mbor_dec_bool(d, val);
			seen = true;
		} else {
			ret = mbor_dec_skip(d);
		}
	}
	if (dec_done(d, ret) || !seen)
		return -EPROTO;
	return 0;
}

int proto_parse_unwrapping_key(struct mbor_dec *d, uint16_t *key_id, uint8_t *der, size_t cap,
			       size_t *len)
{
	const uint8_t *p = NULL;
	struct mbor_map m;
	size_t n = 0;
	bool seen_id = false, seen_der = false;
	uint8_t id;
	int ret;

	*len = 0;
	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id == AZIHSM_UNWRAPKEY_F_ID) {
			ret = mbor_dec_u16(d, key_id);
			seen_id = true;
		} else if (id == AZIHSM_UNWRAPKEY_F_DER) {
			ret = mbor_dec_bytes(d, &p, &n);
			seen_der = true;
		} else {
			ret = mbor_dec_skip(d);
		}
	}
	if (dec_done(d, ret) || !seen_id || !seen_der || !n)
		return -EPROTO;
	*len = n;
	if (n > cap)
		return -ENOSPC;
	memcpy(der, p, n);
	return 0;
}
