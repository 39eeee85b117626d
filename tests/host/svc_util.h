/* SPDX-License-Identifier: MIT */
/*
 * MBOR requests through hsm_fw_execute and their answers, for the service
 * tests (test_svc, test_svc_ops, test_svc_kernel): svc_util.c.
 */
#ifndef AZIHSM_SVC_UTIL_H
#define AZIHSM_SVC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azihsm/msg.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"

#define NOSESS (-1)	/* a request outside any session */

struct rq {
	uint8_t buf[8192];
	struct mbor_enc e;
	uint16_t sq_id;		/* hsm_fw_cmd.sq_id (rq_begin: 0) */
};

struct rsp {
	uint8_t buf[8192];
	struct hsm_fw_cmd cmd;
	struct azihsm_rsp_hdr h;
	bool has_data;
};

/* Header for @op in session @sid (NOSESS: none); the caller writes data. */
struct mbor_enc *rq_begin(struct rq *q, uint32_t op, int sid);

/*
 * Execute @len bytes of @in with @out_cap bytes for the answer (0: all of
 * r->buf) and decode the answer's header; HSM status, or -1 if the firmware
 * fails or the header does not decode. The data is not looked at.
 */
long rsp_exec(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap, struct rsp *r);
/*
 * As rsp_exec with the SQE's short_app_id @app (0..0xffff); rsp_exec (and
 * @app -1) sends the holder's: the one the device gave the session named
 * in the header, as recorded from the OpenSession / OpenKernelSession CQE.
 */
long rsp_exec_app(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap, int app,
		  struct rsp *r);
/* The short_app_id recorded for session @sid of @fw (0: none). */
uint16_t svc_app_id(const struct hsm_fw *fw, uint16_t sid);
/* The flush SQE for @sid, sent by its holder (its short_app_id). */
void svc_flush(struct hsm_fw *fw, uint16_t sid);
/* rsp_exec as if it came on HSM submission queue @sq_id. */
long rsp_exec_sq(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap,
		 uint16_t sq_id, struct rsp *r);

/*
 * Finish @q, append @extra zero bytes, execute (@out_cap as for rsp_exec);
 * HSM status, or -1 unless the answer is a header and at most one data item
 * with nothing after it, and a failure carries no data.
 */
long rq_send_ext(struct hsm_fw *fw, struct rq *q, struct rsp *r, size_t extra, size_t out_cap);
long rq_send(struct hsm_fw *fw, struct rq *q, struct rsp *r);
/* rq_send with the SQE's short_app_id @app instead of the holder's. */
long rq_send_app(struct hsm_fw *fw, struct rq *q, struct rsp *r, uint16_t app);

/* Position a decoder on field @want of the response data; 0 or -1. */
int rsp_field(const struct rsp *r, uint8_t want, struct mbor_dec *d);
/* Field @id as a number, or -1 if absent or of another type. */
long rsp_u8(const struct rsp *r, uint8_t id);
long rsp_u16(const struct rsp *r, uint8_t id);
long rsp_bool(const struct rsp *r, uint8_t id);
/* Field @id as a byte string pointing into r->buf; 0 or -1. */
int rsp_bytes(const struct rsp *r, uint8_t id, const uint8_t **p, size_t *len);
/* Field @id copied to @out; its length, 0 if absent or longer than @cap. */
size_t rsp_copy(const struct rsp *r, uint8_t id, uint8_t *out, size_t cap);

/* An empty-data request. */
long call0(struct hsm_fw *fw, uint32_t op, int sid, struct rsp *r);
/* A { 1: key_id } request (DeleteKey, KeyPublic, ...). */
long call_id(struct hsm_fw *fw, uint32_t op, int sid, uint16_t id, struct rsp *r);

/*
 * Seal a credential message of @kind for the device's current key and a new
 * nonce (GetSessionEncKey): 0, the HSM status of GetSessionEncKey, -2 if its
 * answer lacks the key or nonce, -3 if sealing fails.
 */
long seal(struct hsm_fw *fw, enum hsm_auth_msg_kind kind, uint8_t role, const uint8_t *id,
	  const uint8_t *pin, const uint8_t *new_pin, uint8_t nonce[HSM_AUTH_NONCE_LEN],
	  struct hsm_auth_sealed *s);

/*
 * Send a sealed credential message of @kind as request @op (OpenSession,
 * ChangePin, ResetUserCredential) in session @sid: the HSM status, or as
 * seal() for its own failures.
 */
long svc_send_sealed(struct hsm_fw *fw, uint32_t op, int sid, enum hsm_auth_msg_kind kind,
		     uint8_t role, const uint8_t *id, const uint8_t *pin, const uint8_t *new_pin,
		     struct rsp *r);
/* The same; @trailing: one more CBOR item after the data map (MALFORMED). */
long svc_send_sealed_x(struct hsm_fw *fw, uint32_t op, int sid, enum hsm_auth_msg_kind kind,
		       uint8_t role, const uint8_t *id, const uint8_t *pin, const uint8_t *new_pin,
		       bool trailing, struct rsp *r);
/* OpenSession as @role: the new session id, or minus the HSM status. */
long svc_login(struct hsm_fw *fw, uint8_t role, const uint8_t *id, const uint8_t *pin);
/* ChangePin in @sid from @pin to @new_pin: the HSM status. */
long svc_change_pin(struct hsm_fw *fw, uint16_t sid, uint8_t role, const uint8_t *id,
		    const uint8_t *pin, const uint8_t *new_pin);

/*
 * A request as a list of fields (test_svc_ops, test_redteam): each field
 * one id and one value of one type, encoded in the order given.
 */
enum ft { F_U8, F_U16, F_U32, F_BOOL, F_BYTES };

struct fld {
	uint8_t id;
	enum ft t;
	uint32_t v;
	const void *p;
	size_t len;
};

#define U8(i, x)	{ (i), F_U8, (x), NULL, 0 }
#define U16(i, x)	{ (i), F_U16, (x), NULL, 0 }
#define U32(i, x)	{ (i), F_U32, (x), NULL, 0 }
#define BOOL(i, x)	{ (i), F_BOOL, (x), NULL, 0 }
#define BYTES(i, b, l)	{ (i), F_BYTES, 0, (b), (l) }
#define NF(a)		(sizeof(a) / sizeof((a)[0]))

/* Encode request @op in session @sid (NOSESS: none): its length, 0 if it does not fit. */
size_t svc_build(uint8_t *buf, size_t cap, uint32_t op, int sid, const struct fld *f,
		 unsigned int n);

#endif
