// SPDX-License-Identifier: MIT
/*
 * MBOR requests through hsm_fw_execute and their answers, shared by the
 * service tests (svc_util.h).
 */
#include <string.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "svc_util.h"

struct mbor_enc *rq_begin(struct rq *q, uint32_t op, int sid)
{
	struct azihsm_req_hdr h = { .opcode = op };

	if (sid >= 0) {
		h.has_session = true;
		h.session_id = (uint16_t)sid;
	}
	q->sq_id = 0;
	mbor_enc_init(&q->e, q->buf, sizeof(q->buf));
	azihsm_msg_begin_request(&q->e, &h);
	return &q->e;
}

/*
 * The short_app_ids the device handed out (OpenSession / OpenKernelSession
 * CQE), per firmware and session id, as a driver records them.
 */
#define APP_IDS 64
static struct {
	const struct hsm_fw *fw;
	uint16_t sid, app;
} app_ids[APP_IDS];
static unsigned int app_next;

static void app_id_record(const struct hsm_fw *fw, uint16_t sid, uint16_t app)
{
	unsigned int i;

	for (i = 0; i < APP_IDS; i++)
		if (app_ids[i].fw == fw && app_ids[i].sid == sid)
			break;
	if (i == APP_IDS)
		i = app_next++ % APP_IDS;
	app_ids[i].fw = fw;
	app_ids[i].sid = sid;
	app_ids[i].app = app;
}

uint16_t svc_app_id(const struct hsm_fw *fw, uint16_t sid)
{
	unsigned int i;

	for (i = 0; i < APP_IDS; i++)
		if (app_ids[i].fw == fw && app_ids[i].sid == sid)
			return app_ids[i].app;
	return 0;
}

/* One command with short_app_id @app (-1: the holder's) on queue @sq_id. */
static long rsp_exec_full(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap,
			  int app, uint16_t sq_id, struct rsp *r)
{
	struct azihsm_req_hdr h;
	struct mbor_dec d;
	bool has_data;

	memset(&r->cmd, 0, sizeof(r->cmd));
	r->cmd.sq_id = sq_id;
	r->cmd.in = in;
	r->cmd.in_len = len;
	r->cmd.out = r->buf;
	r->cmd.out_cap = out_cap ? out_cap : sizeof(r->buf);
	if (app >= 0) {
		r->cmd.short_app_id = (uint16_t)app;
	} else {
		/* The holder's: the short_app_id of the header's session. */
		mbor_dec_init(&d, in, len);
		if (!azihsm_msg_parse_request(&d, &h, &has_data) && h.has_session)
			r->cmd.short_app_id = svc_app_id(fw, h.session_id);
	}
	if (hsm_fw_execute(fw, &r->cmd))
		return -1;
	if (r->cmd.cqe_session_flags & AZIHSM_SESS_SHORT_APP_ID_VALID)
		app_id_record(fw, r->cmd.cqe_session_id, r->cmd.cqe_short_app_id);
	mbor_dec_init(&d, r->buf, r->cmd.out_len);
	if (azihsm_msg_parse_response(&d, &r->h, &r->has_data))
		return -1;
	return r->h.status;
}

long rsp_exec_app(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap, int app,
		  struct rsp *r)
{
	return rsp_exec_full(fw, in, len, out_cap, app, 0, r);
}

long rsp_exec_sq(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap,
		 uint16_t sq_id, struct rsp *r)
{
	return rsp_exec_full(fw, in, len, out_cap, -1, sq_id, r);
}

long rsp_exec(struct hsm_fw *fw, const uint8_t *in, size_t len, size_t out_cap, struct rsp *r)
{
	return rsp_exec_full(fw, in, len, out_cap, -1, 0, r);
}

void svc_flush(struct hsm_fw *fw, uint16_t sid)
{
	hsm_fw_flush_session(fw, sid, svc_app_id(fw, sid));
}

static long rq_send_any(struct hsm_fw *fw, struct rq *q, struct rsp *r, size_t extra,
			size_t out_cap, int app)
{
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	bool has_data;
	size_t len;

	if (mbor_enc_finish(&q->e, &len) || len + extra > sizeof(q->buf))
		return -1;
	memset(q->buf + len, 0, extra);
	if (rsp_exec_full(fw, q->buf, len + extra, out_cap, app, q->sq_id, r) < 0)
		return -1;
	mbor_dec_init(&d, r->buf, r->cmd.out_len);
	if (azihsm_msg_parse_response(&d, &h, &has_data))
		return -1;
	if (r->has_data && (mbor_dec_skip(&d) || mbor_dec_finish(&d)))
		return -1;
	if (r->h.status && r->has_data)
		return -1;	/* a failure never carries data */
	return r->h.status;
}

long rq_send_ext(struct hsm_fw *fw, struct rq *q, struct rsp *r, size_t extra, size_t out_cap)
{
	return rq_send_any(fw, q, r, extra, out_cap, -1);
}

long rq_send_app(struct hsm_fw *fw, struct rq *q, struct rsp *r, uint16_t app)
{
	return rq_send_any(fw, q, r, 0, 0, app);
}

long rq_send(struct hsm_fw *fw, struct rq *q, struct rsp *r)
{
	return rq_send_ext(fw, q, r, 0, 0);
}

int rsp_field(const struct rsp *r, uint8_t want, struct mbor_dec *d)
{
	struct azihsm_rsp_hdr h;
	struct mbor_map m;
	bool has_data;
	uint8_t id;

	mbor_dec_init(d, r->buf, r->cmd.out_len);
	if (azihsm_msg_parse_response(d, &h, &has_data) || !has_data || mbor_dec_map(d, &m))
		return -1;
	while (mbor_dec_next(d, &m, &id) == 1) {
		if (id == want)
			return 0;
		mbor_dec_skip(d);
	}
	return -1;
}

long rsp_u8(const struct rsp *r, uint8_t id)
{
	struct mbor_dec d;
	uint8_t v;

	return rsp_field(r, id, &d) || mbor_dec_u8(&d, &v) ? -1 : v;
}

long rsp_u16(const struct rsp *r, uint8_t id)
{
	struct mbor_dec d;
	uint16_t v;

	return rsp_field(r, id, &d) || mbor_dec_u16(&d, &v) ? -1 : v;
}

long rsp_bool(const struct rsp *r, uint8_t id)
{
	struct mbor_dec d;
	bool v;

	return rsp_field(r, id, &d) || mbor_dec_bool(&d, &v) ? -1 : v;
}

int rsp_bytes(const struct rsp *r, uint8_t id, const uint8_t **p, size_t *len)
{
	struct mbor_dec d;

	return rsp_field(r, id, &d) || mbor_dec_bytes(&d, p, len) ? -1 : 0;
}

size_t rsp_copy(const struct rsp *r, uint8_t id, uint8_t *out, size_t cap)
{
	const uint8_t *p;
	size_t len;

	if (rsp_bytes(r, id, &p, &len) || len > cap)
		return 0;
	memcpy(out, p, len);
	return len;
}

long call0(struct hsm_fw *fw, uint32_t op, int sid, struct rsp *r)
{
	struct rq q;

	mbor_enc_map(rq_begin(&q, op, sid), 0);
	return rq_send(fw, &q, r);
}

long call_id(struct hsm_fw *fw, uint32_t op, int sid, uint16_t id, struct rsp *r)
{
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, op, sid);

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_KEY_F_ID);
	mbor_enc_u16(e, id);
	return rq_send(fw, &q, r);
}

long seal(struct hsm_fw *fw, enum hsm_auth_msg_kind kind, uint8_t role, const uint8_t *id,
	  const uint8_t *pin, const uint8_t *new_pin, uint8_t nonce[HSM_AUTH_NONCE_LEN],
	  struct hsm_auth_sealed *s)
{
	static struct rsp r;
	const uint8_t *pub, *n;
	size_t pub_len, n_len;
	long st = call0(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r);

	if (st)
		return st;
	if (rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &pub, &pub_len) ||
	    rsp_bytes(&r, AZIHSM_SESS_NONCE, &n, &n_len) || n_len != HSM_AUTH_NONCE_LEN)
		return -2;
	memcpy(nonce, n, n_len);
	return hsm_auth_client_seal(pub, pub_len, nonce, kind, role, id, pin, new_pin, s) ?
		-3 : 0;
}

long svc_send_sealed(struct hsm_fw *fw, uint32_t op, int sid, enum hsm_auth_msg_kind kind,
		     uint8_t role, const uint8_t *id, const uint8_t *pin, const uint8_t *new_pin,
		     struct rsp *r)
{
	return svc_send_sealed_x(fw, op, sid, kind, role, id, pin, new_pin, false, r);
}

long svc_send_sealed_x(struct hsm_fw *fw, uint32_t op, int sid, enum hsm_auth_msg_kind kind,
		       uint8_t role, const uint8_t *id, const uint8_t *pin, const uint8_t *new_pin,
		       bool trailing, struct rsp *r)
{
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed s;
	struct mbor_enc *e;
	struct rq q;
	long st = seal(fw, kind, role, id, pin, new_pin, nonce, &s);

	if (st)
		return st;
	e = rq_begin(&q, op, sid);
	mbor_enc_map(e, 4);
	mbor_enc_key(e, AZIHSM_SESS_HOST_PUB);
	mbor_enc_bytes(e, s.host_pub, s.host_pub_len);
	mbor_enc_key(e, AZIHSM_SESS_MSG_NONCE);
	mbor_enc_bytes(e, nonce, sizeof(nonce));
	mbor_enc_key(e, AZIHSM_SESS_CIPHERTEXT);
	mbor_enc_bytes(e, s.ct, s.ct_len);
	mbor_enc_key(e, AZIHSM_SESS_TAG);
	mbor_enc_bytes(e, s.tag, sizeof(s.tag));
	if (trailing)
		mbor_enc_u8(e, 0);	/* a byte after the data map */
	return rq_send(fw, &q, r);
}

long svc_login(struct hsm_fw *fw, uint8_t role, const uint8_t *id, const uint8_t *pin)
{
	struct rsp r;
	long st = svc_send_sealed(fw, AZIHSM_OP_OPEN_SESSION, NOSESS, HSM_AUTH_MSG_OPEN, role,
				  id, pin, NULL, &r);

	return st ? -st : rsp_u16(&r, AZIHSM_SESS_ID);
}

long svc_change_pin(struct hsm_fw *fw, uint16_t sid, uint8_t role, const uint8_t *id,
		    const uint8_t *pin, const uint8_t *new_pin)
{
	struct rsp r;

	return svc_send_sealed(fw, AZIHSM_OP_CHANGE_PIN, sid, HSM_AUTH_MSG_CHPIN, role, id, pin,
			       new_pin, &r);
}

size_t svc_build(uint8_t *buf, size_t cap, uint32_t op, int sid, const struct fld *f,
		 unsigned int n)
{
	struct azihsm_req_hdr h = { .opcode = op };
	struct mbor_enc e;
	unsigned int i;
	size_t len;

	if (sid >= 0) {
		h.has_session = true;
		h.session_id = (uint16_t)sid;
	}
	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_request(&e, &h);
	mbor_enc_map(&e, n);
	for (i = 0; i < n; i++) {
		mbor_enc_key(&e, f[i].id);
		switch (f[i].t) {
		case F_U8:
			mbor_enc_u8(&e, (uint8_t)f[i].v);
			break;
		case F_U16:
			mbor_enc_u16(&e, (uint16_t)f[i].v);
			break;
		case F_U32:
			mbor_enc_u32(&e, f[i].v);
			break;
		case F_BOOL:
			mbor_enc_bool(&e, f[i].v);
			break;
		case F_BYTES:
			mbor_enc_bytes(&e, f[i].p, f[i].len);
			break;
		}
	}
	return mbor_enc_finish(&e, &len) ? 0 : len;
}
