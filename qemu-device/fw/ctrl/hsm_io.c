// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * I/O commands: an HSM (control-path) SQE carries an MBOR request in a PRP
 * buffer and names a PRP buffer for the response; the firmware runs it.
 * AES (fast-path) commands are served by hsm_aes.c (hsm_io_execute_aes).
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm_ctrl_int.h"

/*
 * The services quick enough to run inline in the doorbell write (the
 * vCPU's thread in QEMU; hsm_sq_inline): bounded work of at most about a
 * millisecond on the host whatever the key (no key generation, no RSA
 * private-key operation, nothing that writes the partition state).
 */
static bool io_hsm_quick_op(uint32_t opcode)
{
	switch (opcode) {
	case AZIHSM_OP_GET_API_REV:
	case AZIHSM_OP_GET_DEVICE_INFO:
	case AZIHSM_OP_ECC_SIGN:
	case AZIHSM_OP_ECC_VERIFY:
	case AZIHSM_OP_AES_ENCRYPT_DECRYPT:
	case AZIHSM_OP_HMAC:
	case AZIHSM_OP_HASH:
	case AZIHSM_OP_GET_RANDOM:
		return true;
	default:
		return false;
	}
}

/* Whether the request in @in is one of the quick services. */
static bool io_hsm_quick(const uint8_t *in, size_t len)
{
	struct azihsm_req_hdr req;
	struct mbor_dec d;
	bool has_data;

	mbor_dec_init(&d, in, len);
	return !azihsm_msg_parse_request(&d, &req, &has_data) && io_hsm_quick_op(req.opcode);
}

/*
 * Runs one HSM SQE. *byte_count, *cqe_flags, *cqe_sid and *cqe_app are
 * for the CQE: the session fields are the SQE's echoed (short_app_id 0)
 * unless the firmware says what an Open/CloseSession did. With @declined,
 * only a quick service runs (from the one copy of the request read here);
 * anything else sets *@declined and is left, unrun, for the queue worker.
 */
static uint16_t io_hsm_run(struct hsm_ctrl *c, uint16_t sq_id, const struct azihsm_hsm_sqe *sqe,
			   uint32_t *byte_count, uint8_t *cqe_flags, uint16_t *cqe_sid,
			   uint16_t *cqe_app, bool *declined)
{
	uint32_t dw0 = le32toh(sqe->dw0);
	uint32_t src_len = le32toh(sqe->src_len);
	uint32_t dst_len = le32toh(sqe->dst_len);
	struct hsm_fw_cmd cmd = { 0 };
	uint8_t *in = NULL, *out = NULL;
	uint16_t sc;

	if ((dw0 >> AZIHSM_HSQE_PSDT_SHIFT) & 3) {
		hsm_ctrl_guest_error(c, "HSM SQE psdt %u: only PRP is supported",
				     (dw0 >> AZIHSM_HSQE_PSDT_SHIFT) & 3);
		return AZIHSM_SC_INVALID_FIELD;
	}
	if (declined && (dw0 & AZIHSM_HSQE_OPC_MASK) != AZIHSM_HSQE_OPC_NORMAL) {
		*declined = true;
		return AZIHSM_SC_SUCCESS;
	}
	if ((dw0 & AZIHSM_HSQE_OPC_MASK) == AZIHSM_HSQE_OPC_FLUSH_SESSION) {
		/* Only the holder (its short_app_id) flushes a session. */
		hsm_fw_flush_session(c->fw, le16toh(sqe->session_id),
				     le16toh(sqe->short_app_id));
		return AZIHSM_SC_SUCCESS;
	}
	if ((dw0 & AZIHSM_HSQE_OPC_MASK) != AZIHSM_HSQE_OPC_NORMAL) {
		hsm_ctrl_guest_error(c, "HSM SQE opcode %u unknown",
				     dw0 & AZIHSM_HSQE_OPC_MASK);
		return AZIHSM_SC_INVALID_OPCODE;
	}
	if (!src_len || src_len > AZIHSM_HSM_BUF_MAX ||
	    !dst_len || dst_len > AZIHSM_HSM_BUF_MAX) {
		hsm_ctrl_guest_error(c, "HSM SQE lengths src %u dst %u out of range",
				     src_len, dst_len);
		return AZIHSM_SC_INVALID_FIELD;
	}
	in = malloc(src_len);
	out = calloc(1, dst_len);
	if (!in || !out) {
		sc = AZIHSM_SC_INTERNAL;
		goto out;
	}
	sc = hsm_prp_read(c, le64toh(sqe->src_prp1), le64toh(sqe->src_prp2), in, src_len);
	if (sc)
		goto out;
	if (declined && !io_hsm_quick(in, src_len)) {
		*declined = true;
		goto out;
	}
	cmd.in = in;
	cmd.in_len = src_len;
	cmd.out = out;
	cmd.out_cap = dst_len;
	cmd.session_flags = sqe->flags;
	cmd.session_id = le16toh(sqe->session_id);
	cmd.short_app_id = le16toh(sqe->short_app_id);
	cmd.sq_id = sq_id;
	sc = hsm_fw_execute(c->fw, &cmd);
	*cqe_flags = cmd.cqe_session_flags;
	*cqe_sid = cmd.cqe_session_id;
	*cqe_app = cmd.cqe_short_app_id;
	if (sc)
		goto out;
	sc = hsm_prp_write(c, le64toh(sqe->dst_prp1), le64toh(sqe->dst_prp2),
			   out, cmd.out_len);
	if (!sc)
		*byte_count = cmd.out_len;
out:
	/* Requests and responses will carry key material: wipe both. */
	if (in)
		OPENSSL_cleanse(in, src_len);
	if (out)
		OPENSSL_cleanse(out, dst_len);
	free(in);
	free(out);
	return sc;
}

void hsm_io_execute_hsm(struct hsm_ctrl *c, uint16_t sq_id, const struct azihsm_hsm_sqe *sqe,
			struct azihsm_hsm_cqe *cqe, bool *declined)
{
	uint8_t flags = sqe->flags & (AZIHSM_SESS_OP_MASK | AZIHSM_SESS_IN_SESSION);
	uint16_t sid = le16toh(sqe->session_id);
	uint32_t byte_count = 0;
	uint16_t app = 0;
	uint16_t sc = io_hsm_run(c, sq_id, sqe, &byte_count, &flags, &sid, &app, declined);

	if (declined && *declined)
		return;
	cqe->byte_count = htole16((uint16_t)byte_count);
	cqe->flags = flags;
	cqe->session_id = htole16(sid);
	cqe->short_app_id = htole16(app);
	cqe->status = htole16((uint16_t)(sc << AZIHSM_CQE_STATUS_SHIFT));
}
