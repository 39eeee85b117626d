/* SPDX-License-Identifier: MIT */
/*
 * HSM command messages on top of MBOR: request and response headers,
 * opcodes and HSM status codes. Shared by firmware, driver and library.
 *
 *   request  = { 0: header, 1: data }
 *   header   = { 1: api_rev { 1: major u32, 2: minor u32 }  (optional),
 *                2: opcode u32,
 *                3: session_id u16                          (optional) }
 *   response = { 0: header', 1: data }      data omitted when status != 0
 *   header'  = header + { 4: status u32, 5: fips_approved bool }
 */
#ifndef AZIHSM_MSG_H
#define AZIHSM_MSG_H

#include "mbor.h"

/* Published opcodes (decimal, as published). */
enum azihsm_op {
	AZIHSM_OP_GET_API_REV		= 1002,
	AZIHSM_OP_GET_DEVICE_INFO	= 1003,
	AZIHSM_OP_DELETE_KEY		= 1014,
	AZIHSM_OP_OPEN_KEY		= 1015,
	AZIHSM_OP_ATTEST_KEY		= 1016,
	AZIHSM_OP_RSA_MOD_EXP		= 1031,
	AZIHSM_OP_RSA_UNWRAP		= 1035,
	AZIHSM_OP_GET_UNWRAPPING_KEY	= 1051,
	AZIHSM_OP_ECC_GENERATE_KEY_PAIR	= 1061,
	AZIHSM_OP_ECC_SIGN		= 1062,
	AZIHSM_OP_AES_GENERATE_KEY	= 1071,
	AZIHSM_OP_AES_ENCRYPT_DECRYPT	= 1072,
	AZIHSM_OP_ECDH_KEY_EXCHANGE	= 1074,
	AZIHSM_OP_HKDF_DERIVE		= 1075,
	AZIHSM_OP_KBKDF_DERIVE		= 1076,
	AZIHSM_OP_HMAC			= 1077,
	AZIHSM_OP_GET_ESTABLISH_CRED_KEY = 1101,
	AZIHSM_OP_ESTABLISH_CREDENTIAL	= 1102,
	AZIHSM_OP_GET_SESSION_ENC_KEY	= 1103,
	AZIHSM_OP_OPEN_SESSION		= 1104,
	AZIHSM_OP_CLOSE_SESSION		= 1105,
	AZIHSM_OP_CHANGE_PIN		= 1106,
	AZIHSM_OP_UNMASK_KEY		= 1107,
	AZIHSM_OP_GET_CERT_CHAIN_INFO	= 1108,
	AZIHSM_OP_GET_CERTIFICATE	= 1109,
	AZIHSM_OP_REOPEN_SESSION	= 1110,
	AZIHSM_OP_INIT_BK3		= 1111,
	AZIHSM_OP_GET_SEALED_BK3	= 1112,
	AZIHSM_OP_SET_SEALED_BK3	= 1113,

	/* azihsm extensions: 4000..4999 */
	AZIHSM_OP_GET_RANDOM		= 4001,
};

/* HSM status in the response header (0 = success). */
enum azihsm_status {
	AZIHSM_STATUS_SUCCESS		= 0,
	AZIHSM_STATUS_MALFORMED		= 0x1001, /* MBOR does not decode */
	AZIHSM_STATUS_UNKNOWN_OPCODE	= 0x1002,
	AZIHSM_STATUS_INVALID_ARG	= 0x1003, /* decodes, value not allowed */
	AZIHSM_STATUS_UNSUPPORTED_REV	= 0x1004,
	AZIHSM_STATUS_RSP_TOO_LARGE	= 0x1005, /* answer exceeds dst_len */
	AZIHSM_STATUS_INTERNAL		= 0x1006,
	AZIHSM_STATUS_DRBG_FAILURE	= 0x1007,
	AZIHSM_STATUS_ERROR_STATE	= 0x1008, /* module in error state */
};

#define AZIHSM_API_REV_MAJOR		1
#define AZIHSM_API_REV_MINOR		0

/* GetDeviceInfo: kind values */
#define AZIHSM_DEVICE_KIND_VIRTUAL	1
#define AZIHSM_DEVICE_KIND_PHYSICAL	2

/*
 * GetDeviceInfo field 6: what became of the partition's stored state at
 * start (the device's `state` property). From TRUNCATED on the module is
 * in its error state: it answers GetApiRev and GetDeviceInfo only, and
 * never writes the file.
 */
enum azihsm_persist {
	AZIHSM_PERSIST_VOLATILE = 0,	/* no state file configured */
	AZIHSM_PERSIST_LOADED = 1,	/* sealed image loaded */
	AZIHSM_PERSIST_CREATED = 2,	/* no file yet: a fresh partition was stored */
	AZIHSM_PERSIST_TRUNCATED = 3,	/* file shorter than a header and a tag */
	AZIHSM_PERSIST_CORRUPT = 4,	/* not authentic, or damaged */
	AZIHSM_PERSIST_ROLLED_BACK = 5,	/* older than the device's counter */
	AZIHSM_PERSIST_FOREIGN = 6,	/* sealed by another device */
	AZIHSM_PERSIST_NV_CORRUPT = 7,	/* the device's NV file is damaged */
	AZIHSM_PERSIST_IO = 8,		/* cannot read or write the files */
	AZIHSM_PERSIST_BAD_IMAGE = 9,	/* authentic, but its content unreadable */
};

/* GetRandom: at most this many bytes per command (fits one response). */
#define AZIHSM_RANDOM_MAX		4096

/* Field ids */
#define AZIHSM_MSG_HEADER		0
#define AZIHSM_MSG_DATA			1
#define AZIHSM_HDR_API_REV		1
#define AZIHSM_HDR_OPCODE		2
#define AZIHSM_HDR_SESSION_ID		3
#define AZIHSM_HDR_STATUS		4
#define AZIHSM_HDR_FIPS_APPROVED	5
#define AZIHSM_REV_MAJOR		1
#define AZIHSM_REV_MINOR		2

/* GetApiRev response data: { 1: min rev, 2: max rev } */
#define AZIHSM_APIREV_MIN		1
#define AZIHSM_APIREV_MAX		2
/* GetDeviceInfo response data: published 1..3, azihsm 4..5 */
#define AZIHSM_DEVINFO_KIND		1	/* u32 */
#define AZIHSM_DEVINFO_TABLES		2	/* u32 */
#define AZIHSM_DEVINFO_FIPS		3	/* bool */
#define AZIHSM_DEVINFO_SERIAL		4	/* bytes */
#define AZIHSM_DEVINFO_FW_REV		5	/* bytes */
#define AZIHSM_DEVINFO_PERSIST		6	/* u32, enum azihsm_persist */
#define AZIHSM_DEVINFO_ERROR_STATE	7	/* bool: module refuses services */
/* GetRandom request data: { 1: length u16 }; response: { 1: bytes } */
#define AZIHSM_RANDOM_LEN		1
#define AZIHSM_RANDOM_BYTES		1

struct azihsm_api_rev {
	uint32_t major;
	uint32_t minor;
};

struct azihsm_req_hdr {
	bool has_rev;
	struct azihsm_api_rev rev;
	uint32_t opcode;
	bool has_session;
	uint16_t session_id;
};

struct azihsm_rsp_hdr {
	struct azihsm_req_hdr req;
	uint32_t status;
	bool fips_approved;
};

/*
 * Writers open the outer map and write the header; the caller then writes
 * exactly one data map (for a response with status != 0, none).
 */
void azihsm_msg_begin_request(struct mbor_enc *e, const struct azihsm_req_hdr *h);
void azihsm_msg_begin_response(struct mbor_enc *e, const struct azihsm_rsp_hdr *h);

/*
 * Readers decode the outer map and the header and leave @d at the data map.
 * *has_data tells whether a data map follows.
 */
int azihsm_msg_parse_request(struct mbor_dec *d, struct azihsm_req_hdr *h, bool *has_data);
int azihsm_msg_parse_response(struct mbor_dec *d, struct azihsm_rsp_hdr *h, bool *has_data);

/* Encode / decode a { 1: major, 2: minor } revision map. */
void azihsm_msg_enc_rev(struct mbor_enc *e, const struct azihsm_api_rev *r);
int azihsm_msg_dec_rev(struct mbor_dec *d, struct azihsm_api_rev *r);

/*
 * GetRandom (azihsm): write the whole request for @len bytes; decode the
 * response's data map, pointing *data into the decoder's buffer. Every
 * host-side caller (driver hwrng, library) uses these two.
 */
void azihsm_msg_random_request(struct mbor_enc *e, uint16_t len);
int azihsm_msg_random_data(struct mbor_dec *d, const uint8_t **data, size_t *len);

const char *azihsm_status_name(uint32_t status);
/* "volatile", "loaded", "created", "truncated", "corrupt", "rolled-back", ... */
const char *azihsm_persist_name(uint32_t persist);

#endif /* AZIHSM_MSG_H */
