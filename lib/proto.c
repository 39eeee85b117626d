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

int proto_rsp_begin(struct mbor_dec *d, const uint8_t *rsp, size_t len, uint32_t opcode,
		    uint32_t *hsm_status)
{
	struct azihsm_rsp_hdr h;
	bool has_data;

	*hsm_status = 0;
	mbor_dec_init(d, rsp, len);
	if (azihsm_msg_parse_response(d, &h, &has_data))
		return -EPROTO;
	if (h.status) {
		*hsm_status = h.status;
		return -EIO;
	}
	if (!has_data || h.req.opcode != opcode)
		return -EPROTO;
	return 0;
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
