// SPDX-License-Identifier: MIT
/*
 * Issue 9, item 5: the driver's per-file session table, which decides
 * what a file may name and what is flushed when it is closed.
 *  - A close is matched on the session id the device reports closed (the
 *    completion's), not on the SQE's: a CloseSession sent without session
 *    flags still frees its entry, so closed sessions do not fill the
 *    table and keep a later one from being tracked (and flushed).
 *  - Entries of an older reset generation are dropped: after a function
 *    level reset (the device forgets every session) and the driver's
 *    controller reset, a file that held 8 sessions can open, use and have
 *    flushed a new one.
 * Each test then checks that the partition has all 8 session slots free,
 * so nothing leaked. Uses the default Crypto Officer credential.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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

/*
 * A request naming @s in its header, on @dev's file: the response length,
 * or -EPERM when the driver does not count @s as the file's own.
 */
static int use(struct azihsm_dev *dev, struct azihsm_session *s)
{
	uint8_t req[64], rsp[256];
	int len = gt_req_sess_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV,
				    azihsm_session_id(s));

	if (len < 0)
		return len;
	return azihsm_command(dev, req, (size_t)len, rsp, sizeof(rsp));
}

/* All 8 slots can be taken (nothing leaked), then given back. */
static int slots_free(void)
{
	struct azihsm_session *s[LIMIT];
	struct azihsm_dev *dev;
	int i, n = 0;

	if (azihsm_open(GT_DEV, &dev))
		return -1;
	for (i = 0; i < LIMIT; i++)
		if (!login(dev, &s[n]))
			n++;
	for (i = 0; i < n; i++)
		azihsm_logout(s[i]);
	azihsm_close(dev);
	return n;
}

TEST(close_matched_on_completion_session_id)
{
	struct azihsm_session *s = NULL, *last = NULL;
	struct azihsm_dev *dev;
	uint8_t req[64], rsp[256];
	int i, len;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	for (i = 0; i <= LIMIT; i++) {
		ASSERT_EQ(0, login(dev, &s)) TH_LOG("login %d", i);
		/* CloseSession naming it in the header only: no SQE session flags. */
		len = gt_req_sess_empty(req, sizeof(req), AZIHSM_OP_CLOSE_SESSION,
					azihsm_session_id(s));
		ASSERT_LT(0, len);
		ASSERT_LT(0, azihsm_command(dev, req, (size_t)len, rsp, sizeof(rsp)))
			TH_LOG("raw CloseSession %d", i);
		azihsm_logout(s);	/* frees the handle; the session is gone */
	}
	/* Nine opens and closes later, a new session is still tracked ... */
	ASSERT_EQ(0, login(dev, &last));
	EXPECT_LT(0, use(dev, last)) TH_LOG("the file may not use the session it just opened");
	/* ... and flushed when the file goes. */
	azihsm_close(dev);
	EXPECT_EQ(LIMIT, slots_free()) TH_LOG("a session outlived its file");
}

/* Reset the function behind the driver (FLR), then make the driver notice. */
static int flr_and_recover(void)
{
	char link[256], path[320], state[32];
	uint8_t req[64], rsp[256];
	struct azihsm_cmd c;
	uint64_t r0, r;
	ssize_t k;
	int fd, i, len;

	if (gt_sysfs_u64("resets", &r0))
		return -1;
	k = readlink(GT_SYSFS "/device", link, sizeof(link) - 1);
	if (k < 0)
		return -1;
	link[k] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", strrchr(link, '/') + 1);
	if (gt_write_file(path, "1"))
		return -1;
	/* The device lost its queues: this command times out, the driver resets. */
	fd = gt_open();
	if (fd < 0)
		return -1;
	len = gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	c.hdr.timeout_ms = 1000;
	gt_ioctl_cmd(fd, &c);
	close(fd);
	for (i = 0; i < 300; i++) {
		if (!gt_sysfs_u64("resets", &r) && r > r0 &&
		    gt_sysfs_str("ctrl_state", state, sizeof(state)) > 0 && !strcmp(state, "ready"))
			return 0;
		usleep(100000);
	}
	return -1;
}

TEST(older_generation_entries_dropped)
{
	struct azihsm_session *s[LIMIT], *fresh = NULL;
	struct azihsm_dev *dev;
	int i;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	for (i = 0; i < LIMIT; i++)
		ASSERT_EQ(0, login(dev, &s[i])) TH_LOG("login %d", i);
	ASSERT_EQ(0, flr_and_recover()) TH_LOG("no FLR or no recovery");
	/* The eight are gone with the reset; their entries must not block. */
	ASSERT_EQ(0, login(dev, &fresh));
	EXPECT_LT(0, use(dev, fresh))
		TH_LOG("the file may not use the session it opened after the reset");
	for (i = 0; i < LIMIT; i++)
		azihsm_logout(s[i]);	/* refused: not this generation's */
	azihsm_close(dev);
	EXPECT_EQ(LIMIT, slots_free()) TH_LOG("the new session outlived its file");
	EXPECT_EQ(0, gt_device_works());
}

TEST_HARNESS_MAIN
