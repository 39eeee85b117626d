// SPDX-License-Identifier: MIT
/*
 * Every session service refused without a session, through the real
 * driver and device: each such opcode sent with no session in the header
 * answers NO_SESSION, and naming a session id this file did not open is
 * refused by the driver (EPERM) before the device sees it (the
 * firmware checks the session before it decodes the request's data, so an
 * empty data map is enough). The session-less services still answer.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "azihsm/msg.h"
#include "guest_util.h"
#include "gt_harness.h"

static const uint32_t session_ops[] = {
	AZIHSM_OP_DELETE_KEY, AZIHSM_OP_OPEN_KEY, AZIHSM_OP_RSA_MOD_EXP,
	AZIHSM_OP_RSA_UNWRAP, AZIHSM_OP_GET_UNWRAPPING_KEY, AZIHSM_OP_ECC_SIGN,
	AZIHSM_OP_AES_ENCRYPT_DECRYPT, AZIHSM_OP_ECDH_KEY_EXCHANGE,
	AZIHSM_OP_HKDF_DERIVE, AZIHSM_OP_KBKDF_DERIVE, AZIHSM_OP_HMAC,
	AZIHSM_OP_CLOSE_SESSION, AZIHSM_OP_CHANGE_PIN, AZIHSM_OP_UNMASK_KEY,
	AZIHSM_OP_KEY_GENERATE, AZIHSM_OP_KEY_LIST, AZIHSM_OP_KEY_PUBLIC,
	AZIHSM_OP_KEY_IMPORT, AZIHSM_OP_KEY_EXPORT_MASKED, AZIHSM_OP_HASH,
	AZIHSM_OP_RSA_PUBLIC, AZIHSM_OP_ECC_VERIFY, AZIHSM_OP_RSA_SIGN,
	AZIHSM_OP_RSA_DECRYPT, AZIHSM_OP_VERIFY, AZIHSM_OP_RESET_USER_CREDENTIAL,
	AZIHSM_OP_UNLOCK_USER,
};

#define NOT_OPEN 0xbeef

FIXTURE(noauth) {
	int fd;
};

FIXTURE_SETUP(noauth)
{
	self->fd = gt_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(noauth)
{
	close(self->fd);
}

static void expect(struct __test_metadata *_metadata, int fd, const uint8_t *req, int len,
		   uint32_t opcode, uint32_t want)
{
	uint32_t cq = 1, hsm = 0;

	ASSERT_LT(0, len);
	ASSERT_EQ(0, gt_roundtrip(fd, req, (size_t)len, &cq, &hsm));
	EXPECT_EQ(0, cq);
	EXPECT_EQ(want, hsm) TH_LOG("opcode %u: status %#x, want %#x", opcode, hsm, want);
}

TEST_F(noauth, no_session_in_header)
{
	uint8_t req[64];
	size_t i;

	for (i = 0; i < sizeof(session_ops) / sizeof(session_ops[0]); i++)
		expect(_metadata, self->fd, req, gt_req_empty(req, sizeof(req), session_ops[i]),
		       session_ops[i], AZIHSM_STATUS_NO_SESSION);
}

/*
 * Naming a session this file did not open never reaches the device: the
 * driver refuses it with EPERM (a session is its opener's).
 */
TEST_F(noauth, session_not_open)
{
	uint32_t cq = 1, hsm = 0;
	uint8_t req[64];
	size_t i;
	int len;

	for (i = 0; i < sizeof(session_ops) / sizeof(session_ops[0]); i++) {
		len = gt_req_sess_empty(req, sizeof(req), session_ops[i], NOT_OPEN);
		ASSERT_LT(0, len);
		EXPECT_EQ(-EPERM, gt_roundtrip(self->fd, req, (size_t)len, &cq, &hsm))
			TH_LOG("opcode %u", session_ops[i]);
	}
}

/* The control: the same path answers the services that need no session. */
TEST_F(noauth, sessionless_services_answer)
{
	uint8_t req[64];

	expect(_metadata, self->fd, req, gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV),
	       AZIHSM_OP_GET_API_REV, AZIHSM_STATUS_SUCCESS);
	expect(_metadata, self->fd, req,
	       gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_SESSION_ENC_KEY),
	       AZIHSM_OP_GET_SESSION_ENC_KEY, AZIHSM_STATUS_SUCCESS);
}

TEST_HARNESS_MAIN
