// SPDX-License-Identifier: MIT
/*
 * Sessions through the real driver and device: the partition's limit of 8
 * open sessions, and the driver's flush-on-close: sessions a process
 * leaves open die with its file descriptor, so they do not exhaust the
 * device. Uses the default Crypto Officer credential (logging in with it
 * is allowed; it only restricts what the session may do).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"
#include "gt_harness.h"

#define LIMIT 8

static int login(struct azihsm_dev *dev, struct azihsm_session **s)
{
	return gt_officer_login(dev, s);
}

FIXTURE(sessions) {
	struct azihsm_dev *dev;
};

FIXTURE_SETUP(sessions)
{
	ASSERT_EQ(0, azihsm_open(GT_DEV, &self->dev));
}

FIXTURE_TEARDOWN(sessions)
{
	azihsm_close(self->dev);
}

TEST_F(sessions, at_most_eight)
{
	struct azihsm_session *s[LIMIT], *extra = NULL;
	int i, ret;

	for (i = 0; i < LIMIT; i++)
		ASSERT_EQ(0, login(self->dev, &s[i])) TH_LOG("login %d", i);
	ret = login(self->dev, &extra);
	EXPECT_EQ(-EIO, ret);
	EXPECT_EQ(AZIHSM_STATUS_SESSIONS_FULL, azihsm_last_status(self->dev).code);
	EXPECT_EQ(0, azihsm_logout(s[0]));
	ASSERT_EQ(0, login(self->dev, &s[0])) TH_LOG("a logout frees a slot");
	for (i = 0; i < LIMIT; i++)
		EXPECT_EQ(0, azihsm_logout(s[i]));
}

TEST_F(sessions, left_open_by_dead_processes_are_flushed)
{
	struct azihsm_session *s[LIMIT];
	int i, status, pipefd[2];
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	for (i = 0; i < LIMIT; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct azihsm_dev *dev;
			struct azihsm_session *sess;

			/* Log in, report, and die without logging out. */
			if (azihsm_open(GT_DEV, &dev) || login(dev, &sess))
				_exit(1);
			if (write(pipefd[1], "x", 1) != 1)
				_exit(1);
			_exit(0);
		}
		ASSERT_EQ(1, read(pipefd[0], &c, 1)) TH_LOG("child %d could not log in", i);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_EQ(0, status);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	/* All eight died holding a session: their closes flushed them. */
	for (i = 0; i < LIMIT; i++)
		ASSERT_EQ(0, login(self->dev, &s[i])) TH_LOG("slot %d still taken", i);
	for (i = 0; i < LIMIT; i++)
		EXPECT_EQ(0, azihsm_logout(s[i]));
}

/*
 * A session is its opener's: another open file (another process that
 * learnt or guessed the id) cannot use it, in the header or in the SQE.
 */
TEST_F(sessions, another_files_session_is_refused)
{
	struct azihsm_session *s = NULL;
	struct azihsm_cmd c;
	uint32_t cq = 1, hsm = 0;
	uint8_t req[64], rsp[256];
	int fd, len;

	ASSERT_EQ(0, login(self->dev, &s));
	fd = gt_open();
	ASSERT_LE(0, fd);
	len = gt_req_sess_empty(req, sizeof(req), AZIHSM_OP_KEY_LIST, azihsm_session_id(s));
	ASSERT_LT(0, len);
	EXPECT_EQ(-EPERM, gt_roundtrip(fd, req, (size_t)len, &cq, &hsm));
	/* The same id in the SQE's session fields. */
	len = gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	ASSERT_LT(0, len);
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	c.in.session_flags = AZIHSM_SESSION_ID_VALID;
	c.in.session_id = azihsm_session_id(s);
	EXPECT_EQ(-EPERM, gt_ioctl_cmd(fd, &c));
	close(fd);
	/* Its opener still uses it. */
	EXPECT_EQ(0, azihsm_logout(s));
}

TEST_HARNESS_MAIN
