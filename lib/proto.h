/* SPDX-License-Identifier: MIT */
/*
 * libazihsm's requests and response parsing, separate from the ioctl
 * plumbing so host tests can run them against the firmware core directly.
 * Return values: 0 or negative errno; -EIO means the HSM refused the
 * request and *hsm_status says why; -EPROTO means the response did not
 * decode.
 */
#ifndef AZIHSM_LIB_PROTO_H
#define AZIHSM_LIB_PROTO_H

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"

struct proto_devinfo {
	uint32_t kind;
	uint32_t tables;
	bool fips;
	char serial[33];
	char fw_rev[33];
	uint32_t persist;	/* enum azihsm_persist */
	bool error_state;
	/* Secure boot (absent from older firmware: has_boot false). */
	bool has_boot;
	uint32_t boot;		/* enum azihsm_boot */
	char fw_version[33];
	uint32_t svn;
	bool has_measurement;
	uint8_t measurement[48];
	uint32_t error_reason;	/* enum azihsm_error_reason */
	char error_detail[48];
	uint32_t tamper_count;
};

/* Build a request; returns its length, or 0 if @cap is too small. */
size_t proto_req_empty(uint8_t *buf, size_t cap, uint32_t opcode);
size_t proto_req_random(uint8_t *buf, size_t cap, uint16_t len);

/*
 * Session and key requests (format: msg.h). @sid is the session id for
 * header field 3. The sealed credential (@pub, @ct, @tag) comes from
 * hsm_auth_client_seal; @nonce is the device's, 32 bytes.
 */
struct proto_sealed {
	const uint8_t *host_pub;
	size_t host_pub_len;
	const uint8_t *nonce;	/* PROTO_NONCE_LEN bytes */
	const uint8_t *ct;
	size_t ct_len;
	const uint8_t *tag;	/* PROTO_TAG_LEN bytes */
};

#define PROTO_NONCE_LEN		32
#define PROTO_TAG_LEN		16
#define PROTO_DEV_PUB_MAX	160

size_t proto_req_open_session(uint8_t *buf, size_t cap, const struct proto_sealed *s);
size_t proto_req_change_pin(uint8_t *buf, size_t cap, uint16_t sid,
			    const struct proto_sealed *s);
size_t proto_req_reset_user(uint8_t *buf, size_t cap, uint16_t sid,
			    const struct proto_sealed *s);
/* An in-session request with an empty data map (CloseSession, KeyList). */
size_t proto_req_sess_empty(uint8_t *buf, size_t cap, uint32_t opcode, uint16_t sid);
size_t proto_req_key_generate(uint8_t *buf, size_t cap, uint16_t sid, uint8_t type,
			      uint32_t usage, const void *label, size_t label_len,
			      bool persistent);
size_t proto_req_key_open(uint8_t *buf, size_t cap, uint16_t sid, const void *label,
			  size_t label_len);
/* { 1: key_id }: DeleteKey, KeyPublic. */
/* KeyList from the key after @after (0: the first). */
size_t proto_req_key_list(uint8_t *buf, size_t cap, uint16_t sid, uint16_t after);
size_t proto_req_key_id(uint8_t *buf, size_t cap, uint32_t opcode, uint16_t sid,
			uint16_t key_id);
size_t proto_req_ecc_sign(uint8_t *buf, size_t cap, uint16_t sid, uint16_t key_id,
			  uint8_t hash, const void *digest, size_t digest_len);

/* Check the response header for @opcode; leaves @d at the data map. */
int proto_rsp_begin(struct mbor_dec *d, const uint8_t *rsp, size_t len, uint32_t opcode,
		    uint32_t *hsm_status);
/* The same, and *fips_approved (may be NULL) = the header's flag. */
int proto_rsp_begin_fips(struct mbor_dec *d, const uint8_t *rsp, size_t len, uint32_t opcode,
			 uint32_t *hsm_status, bool *fips_approved);

/*
 * A request as a list of fields (the vault operations, msg.h "Vault
 * operations"): in ascending id order; fields with @skip set are left
 * out (absent optional fields).
 */
enum proto_ftype { PROTO_U8, PROTO_U16, PROTO_U32, PROTO_BOOL, PROTO_BYTES };

struct proto_field {
	uint8_t id;
	enum proto_ftype type;
	bool skip;
	uint32_t val;		/* U8, U16, U32, BOOL */
	const void *p;		/* BYTES */
	size_t len;
};

/* An in-session request of @opcode with the fields @f; 0 if it does not fit. */
size_t proto_req_fields(uint8_t *buf, size_t cap, uint32_t opcode, uint16_t sid,
			const struct proto_field *f, size_t n);
/* One required bool field @field (Verify's valid). */
int proto_parse_bool(struct mbor_dec *d, uint8_t field, bool *val);
/* GetUnwrappingKey: the key id and the DER SPKI copied to @der. */
int proto_parse_unwrapping_key(struct mbor_dec *d, uint16_t *key_id, uint8_t *der, size_t cap,
			       size_t *len);
int proto_parse_api_rev(struct mbor_dec *d, struct azihsm_rev *min, struct azihsm_rev *max);
int proto_parse_devinfo(struct mbor_dec *d, struct proto_devinfo *info);
/* Exactly @want bytes or -EPROTO. */
int proto_parse_random(struct mbor_dec *d, void *out, size_t want);

/*
 * GetSessionEncryptionKey: pointers into the response buffer; *@sig the
 * partition key's signature (AZIHSM_SESS_SIG_LEN bytes), NULL if absent.
 */
int proto_parse_session_key(struct mbor_dec *d, const uint8_t **dev_pub, size_t *dev_pub_len,
			    const uint8_t **nonce, const uint8_t **sig);
int proto_parse_open_session(struct mbor_dec *d, uint16_t *sid, uint8_t *role,
			     bool *must_change);
/* A data map without required fields (CloseSession, ChangePin, DeleteKey). */
int proto_parse_empty(struct mbor_dec *d);
/* { 1: key_id } (KeyGenerate, OpenKey). */
int proto_parse_key_id(struct mbor_dec *d, uint16_t *key_id);
/*
 * KeyList: count and exactly count packed records, nothing left over;
 * labels at most AZIHSM_KEY_LABEL_MAX. Fills up to @cap entries, *count =
 * all; -ENOSPC when more than @cap.
 */
/*
 * One KeyList page: fills out[0..cap) in order, sets *count to the
 * records in this page and *next to the id to continue after (0: last
 * page). -EPROTO unless every record is sound; -ENOSPC if the page holds
 * more than @cap (out filled up to @cap).
 */
int proto_parse_key_list(struct mbor_dec *d, struct azihsm_key_info *out, size_t cap,
			 size_t *count, uint16_t *next);
/* One required bytes field @field copied to @out: KeyPublic, EccSign. */
int proto_parse_bytes(struct mbor_dec *d, uint8_t field, uint8_t *out, size_t cap,
		      size_t *len);

#endif
