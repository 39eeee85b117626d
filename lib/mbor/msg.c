// SPDX-License-Identifier: MIT
/*
 * HSM message headers on top of MBOR (format: include/azihsm/msg.h).
 * Freestanding, shared by firmware, driver and library.
 */
#include "azihsm/msg.h"

void azihsm_msg_enc_rev(struct mbor_enc *e, const struct azihsm_api_rev *r)
{
	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_REV_MAJOR);
	mbor_enc_u32(e, r->major);
	mbor_enc_key(e, AZIHSM_REV_MINOR);
	mbor_enc_u32(e, r->minor);
}

int azihsm_msg_dec_rev(struct mbor_dec *d, struct azihsm_api_rev *r)
{
	struct mbor_map m;
	unsigned int seen = 0;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		switch (id) {
		case AZIHSM_REV_MAJOR:
			ret = mbor_dec_u32(d, &r->major);
			break;
		case AZIHSM_REV_MINOR:
			ret = mbor_dec_u32(d, &r->minor);
			break;
		default:
			ret = mbor_dec_skip(d);
			continue;
		}
		seen |= 1u << id;
	}
	if (ret)
		return ret;
	if (seen != ((1u << AZIHSM_REV_MAJOR) | (1u << AZIHSM_REV_MINOR)))
		return -MBOR_ERR_MISSING;
	return 0;
}

static void enc_hdr(struct mbor_enc *e, const struct azihsm_req_hdr *h,
		    const struct azihsm_rsp_hdr *rsp)
{
	unsigned int n = 1 + h->has_rev + h->has_session + (rsp ? 2 : 0);

	mbor_enc_map(e, n);
	if (h->has_rev) {
		mbor_enc_key(e, AZIHSM_HDR_API_REV);
		azihsm_msg_enc_rev(e, &h->rev);
	}
	mbor_enc_key(e, AZIHSM_HDR_OPCODE);
	mbor_enc_u32(e, h->opcode);
	if (h->has_session) {
		mbor_enc_key(e, AZIHSM_HDR_SESSION_ID);
		mbor_enc_u16(e, h->session_id);
	}
	if (rsp) {
		mbor_enc_key(e, AZIHSM_HDR_STATUS);
		mbor_enc_u32(e, rsp->status);
		mbor_enc_key(e, AZIHSM_HDR_FIPS_APPROVED);
		mbor_enc_bool(e, rsp->fips_approved);
	}
}

void azihsm_msg_begin_request(struct mbor_enc *e, const struct azihsm_req_hdr *h)
{
	mbor_enc_map(e, 2);
	mbor_enc_key(e, AZIHSM_MSG_HEADER);
	enc_hdr(e, h, NULL);
	mbor_enc_key(e, AZIHSM_MSG_DATA);
}

void azihsm_msg_begin_response(struct mbor_enc *e, const struct azihsm_rsp_hdr *h)
{
	bool has_data = h->status == AZIHSM_STATUS_SUCCESS;

	mbor_enc_map(e, has_data ? 2 : 1);
	mbor_enc_key(e, AZIHSM_MSG_HEADER);
	enc_hdr(e, &h->req, h);
	if (has_data)
		mbor_enc_key(e, AZIHSM_MSG_DATA);
}

/*
 * Decode a header map. Unknown ids are an error: the header is ours and a
 * field we do not know means the peer speaks another revision.
 */
static int dec_hdr(struct mbor_dec *d, struct azihsm_req_hdr *h,
		   struct azihsm_rsp_hdr *rsp)
{
	unsigned int need = 1u << AZIHSM_HDR_OPCODE;
	unsigned int seen = 0;
	struct mbor_map m;
	uint8_t id;
	int ret;

	if (rsp)
		need |= (1u << AZIHSM_HDR_STATUS) | (1u << AZIHSM_HDR_FIPS_APPROVED);
	h->has_rev = false;
	h->has_session = false;
	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		switch (id) {
		case AZIHSM_HDR_API_REV:
			ret = azihsm_msg_dec_rev(d, &h->rev);
			h->has_rev = true;
			break;
		case AZIHSM_HDR_OPCODE:
			ret = mbor_dec_u32(d, &h->opcode);
			break;
		case AZIHSM_HDR_SESSION_ID:
			ret = mbor_dec_u16(d, &h->session_id);
			h->has_session = true;
			break;
		case AZIHSM_HDR_STATUS:
			if (!rsp)
				return -MBOR_ERR_VALUE;
			ret = mbor_dec_u32(d, &rsp->status);
			break;
		case AZIHSM_HDR_FIPS_APPROVED:
			if (!rsp)
				return -MBOR_ERR_VALUE;
			ret = mbor_dec_bool(d, &rsp->fips_approved);
			break;
		default:
			return -MBOR_ERR_VALUE;
		}
		seen |= 1u << id;
	}
	if (ret)
		return ret;
	if ((seen & need) != need)
		return -MBOR_ERR_MISSING;
	return 0;
}

static int dec_msg(struct mbor_dec *d, struct azihsm_req_hdr *h,
		   struct azihsm_rsp_hdr *rsp, bool *has_data)
{
	struct mbor_map m;
	uint8_t id;
	int ret;

	*has_data = false;
	ret = mbor_dec_map(d, &m);
	if (ret)
		return ret;
	if (m.left < 1 || m.left > 2)
		return -MBOR_ERR_COUNT;
	ret = mbor_dec_next(d, &m, &id);
	if (ret < 0)
		return ret;
	if (id != AZIHSM_MSG_HEADER)
		return -MBOR_ERR_MISSING;
	ret = dec_hdr(d, h, rsp);
	if (ret)
		return ret;
	ret = mbor_dec_next(d, &m, &id);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		if (id != AZIHSM_MSG_DATA)
			return -MBOR_ERR_VALUE;
		*has_data = true;
	}
	return 0;
}

int azihsm_msg_parse_request(struct mbor_dec *d, struct azihsm_req_hdr *h, bool *has_data)
{
	return dec_msg(d, h, NULL, has_data);
}

int azihsm_msg_parse_response(struct mbor_dec *d, struct azihsm_rsp_hdr *h, bool *has_data)
{
	return dec_msg(d, &h->req, h, has_data);
}

void azihsm_msg_random_request(struct mbor_enc *e, uint16_t len)
{
	const struct azihsm_req_hdr h = { .opcode = AZIHSM_OP_GET_RANDOM };

	azihsm_msg_begin_request(e, &h);
	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_RANDOM_LEN);
	mbor_enc_u16(e, len);
}

int azihsm_msg_random_data(struct mbor_dec *d, const uint8_t **data, size_t *len)
{
	struct mbor_map m;
	bool seen = false;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1) {
		if (id == AZIHSM_RANDOM_BYTES) {
			ret = mbor_dec_bytes(d, data, len);
			seen = true;
		} else {
			ret = mbor_dec_skip(d);	/* newer firmware: ignore */
		}
	}
	if (!ret)
		ret = mbor_dec_finish(d);
	if (!ret && !seen)
		ret = -MBOR_ERR_MISSING;
	return ret;
}

const char *azihsm_status_name(uint32_t status)
{
	switch (status) {
	case AZIHSM_STATUS_SUCCESS:
		return "SUCCESS";
	case AZIHSM_STATUS_MALFORMED:
		return "MALFORMED";
	case AZIHSM_STATUS_UNKNOWN_OPCODE:
		return "UNKNOWN_OPCODE";
	case AZIHSM_STATUS_INVALID_ARG:
		return "INVALID_ARG";
	case AZIHSM_STATUS_UNSUPPORTED_REV:
		return "UNSUPPORTED_REV";
	case AZIHSM_STATUS_RSP_TOO_LARGE:
		return "RSP_TOO_LARGE";
	case AZIHSM_STATUS_INTERNAL:
		return "INTERNAL";
	case AZIHSM_STATUS_DRBG_FAILURE:
		return "DRBG_FAILURE";
	case AZIHSM_STATUS_ERROR_STATE:
		return "ERROR_STATE";
	case AZIHSM_STATUS_NO_SESSION:
		return "NO_SESSION";
	case AZIHSM_STATUS_WRONG_ROLE:
		return "WRONG_ROLE";
	case AZIHSM_STATUS_MUST_CHANGE_PIN:
		return "MUST_CHANGE_PIN";
	case AZIHSM_STATUS_BAD_CREDENTIAL:
		return "BAD_CREDENTIAL";
	case AZIHSM_STATUS_LOCKED_OUT:
		return "LOCKED_OUT";
	case AZIHSM_STATUS_SESSIONS_FULL:
		return "SESSIONS_FULL";
	case AZIHSM_STATUS_BAD_MESSAGE:
		return "BAD_MESSAGE";
	case AZIHSM_STATUS_BAD_NONCE:
		return "BAD_NONCE";
	case AZIHSM_STATUS_WEAK_PIN:
		return "WEAK_PIN";
	case AZIHSM_STATUS_KERNEL_SESSION_OPEN:
		return "KERNEL_SESSION_OPEN";
	case AZIHSM_STATUS_KEY_NOT_FOUND:
		return "KEY_NOT_FOUND";
	case AZIHSM_STATUS_KEY_USAGE:
		return "KEY_USAGE";
	case AZIHSM_STATUS_KEY_TYPE:
		return "KEY_TYPE";
	case AZIHSM_STATUS_VAULT_FULL:
		return "VAULT_FULL";
	case AZIHSM_STATUS_LABEL_EXISTS:
		return "LABEL_EXISTS";
	case AZIHSM_STATUS_NOT_STORED:
		return "NOT_STORED";
	case AZIHSM_STATUS_BAD_TAG:
		return "BAD_TAG";
	case AZIHSM_STATUS_DECRYPT_FAILED:
		return "DECRYPT_FAILED";
	case AZIHSM_STATUS_BAD_BLOB:
		return "BAD_BLOB";
	case AZIHSM_STATUS_BK3_EXISTS:
		return "BK3_EXISTS";
	case AZIHSM_STATUS_NO_BK3:
		return "NO_BK3";
	case AZIHSM_STATUS_KEY_DELETED:
		return "KEY_DELETED";
	case AZIHSM_STATUS_KEY_EXISTS:
		return "KEY_EXISTS";
	case AZIHSM_STATUS_NOT_EMPTY:
		return "NOT_EMPTY";
	case AZIHSM_STATUS_QUOTA:
		return "QUOTA";
	case AZIHSM_STATUS_PIN_LOCKED:
		return "PIN_LOCKED";
	case AZIHSM_STATUS_NOT_PROVISIONED:
		return "NOT_PROVISIONED";
	case AZIHSM_STATUS_SD_EXISTS:
		return "SD_EXISTS";
	case AZIHSM_STATUS_NO_SD:
		return "NO_SD";
	}
	return "UNKNOWN_STATUS";
}

const char *azihsm_persist_name(uint32_t persist)
{
	switch (persist) {
	case AZIHSM_PERSIST_VOLATILE:
		return "volatile";
	case AZIHSM_PERSIST_LOADED:
		return "loaded";
	case AZIHSM_PERSIST_CREATED:
		return "created";
	case AZIHSM_PERSIST_TRUNCATED:
		return "truncated";
	case AZIHSM_PERSIST_CORRUPT:
		return "corrupt";
	case AZIHSM_PERSIST_ROLLED_BACK:
		return "rolled-back";
	case AZIHSM_PERSIST_FOREIGN:
		return "foreign";
	case AZIHSM_PERSIST_NV_CORRUPT:
		return "nv-corrupt";
	case AZIHSM_PERSIST_IO:
		return "io-error";
	case AZIHSM_PERSIST_BAD_IMAGE:
		return "bad-image";
	}
	return "unknown";
}

const char *azihsm_boot_name(uint32_t boot)
{
	switch (boot) {
	case AZIHSM_BOOT_UNSIGNED:
		return "unsigned";
	case AZIHSM_BOOT_VERIFIED:
		return "verified";
	case AZIHSM_BOOT_NO_IMAGE:
		return "no-image";
	case AZIHSM_BOOT_MALFORMED:
		return "malformed";
	case AZIHSM_BOOT_NO_ROOT:
		return "no-root";
	case AZIHSM_BOOT_WRONG_ROOT:
		return "wrong-root";
	case AZIHSM_BOOT_BAD_SIGNATURE:
		return "bad-signature";
	case AZIHSM_BOOT_ROLLBACK:
		return "rollback";
	}
	return "unknown";
}
