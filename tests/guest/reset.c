// SPDX-License-Identifier: MIT
/*
 * Controller failures under the driver, caused from outside it through the
 * PCI resource file (what a device reset or a firmware crash looks like to
 * the driver; no device back door involved):
 *  - CC.EN cleared behind the driver: the queues vanish, a command in
 *    flight times out, the driver resets the controller and recovers;
 *  - a fatal status (CSTS.CFS): the health monitor notices and resets.
 * Afterwards the device works and the counters tell what happened.
 * Needs the guest booted with iomem=relaxed (tests/run does): otherwise the
 * kernel refuses to map a BAR that a driver has claimed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "guest_util.h"
#include "gt_harness.h"

static volatile uint32_t *map_bar0(int *fd)
{
	char link[256], path[300];
	ssize_t n;
	void *p;

	n = readlink(GT_SYSFS "/device", link, sizeof(link) - 1);
	if (n < 0)
		return NULL;
	link[n] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0",
		 strrchr(link, '/') + 1);
	*fd = open(path, O_RDWR | O_SYNC);
	if (*fd < 0)
		return NULL;
	p = mmap(NULL, AZIHSM_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Poll sysfs until ctrl_state is "ready" and @attr has grown past @old. */
static int wait_recovered(const char *attr, uint64_t old, int seconds)
{
	char state[32];
	uint64_t v;
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (gt_sysfs_str("ctrl_state", state, sizeof(state)) > 0 &&
		    !strcmp(state, "ready") && !gt_sysfs_u64(attr, &v) && v > old)
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

FIXTURE(reset) {
	int fd, bar_fd;
	volatile uint32_t *bar0;
	uint64_t resets, timeouts;
};

FIXTURE_SETUP(reset)
{
	self->fd = gt_open();
	ASSERT_GE(self->fd, 0);
	self->bar0 = map_bar0(&self->bar_fd);
	ASSERT_NE(NULL, self->bar0) TH_LOG("cannot map BAR0: %s", strerror(errno));
	ASSERT_EQ(0, gt_sysfs_u64("resets", &self->resets));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_timed_out", &self->timeouts));
	ASSERT_EQ(0, gt_device_works());
}

FIXTURE_TEARDOWN(reset)
{
	if (self->bar0)
		munmap((void *)self->bar0, AZIHSM_BAR_SIZE);
	close(self->bar_fd);
	close(self->fd);
}

TEST_F(reset, controller_disabled_behind_driver)
{
	uint8_t req[64], rsp[256];
	struct azihsm_cmd c;
	uint64_t v;
	int len, ret;

	len = gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	ASSERT_GT(len, 0);
	/* Pull the controller down: every queue is gone, nothing completes. */
	self->bar0[AZIHSM_REG_CC / 4] = 0;
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	c.hdr.timeout_ms = 1000;
	ret = gt_ioctl_cmd(self->fd, &c);
	/* The device ignores doorbells while disabled: a pure timeout. */
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_EQ(AZIHSM_EXT_TIMEOUT, c.out.ext_status);
	ASSERT_EQ(0, wait_recovered("resets", self->resets, 30))
		TH_LOG("driver did not reset the controller back to ready");
	ASSERT_EQ(0, gt_sysfs_u64("cmds_timed_out", &v));
	EXPECT_GT(v, self->timeouts);
	EXPECT_EQ(AZIHSM_CSTS_RDY, self->bar0[AZIHSM_REG_CSTS / 4] & 3);
	EXPECT_EQ(0, gt_device_works());
}

TEST_F(reset, fatal_status_triggers_health_reset)
{
	/* Enable with no admin queue: the device reports CFS. */
	self->bar0[AZIHSM_REG_CC / 4] = 0;
	usleep(1000);
	self->bar0[AZIHSM_REG_AQA / 4] = 0;
	self->bar0[AZIHSM_REG_CC / 4] = AZIHSM_CC_EN;
	EXPECT_EQ(AZIHSM_CSTS_CFS, self->bar0[AZIHSM_REG_CSTS / 4] & AZIHSM_CSTS_CFS);
	/* No command needed: the health monitor finds CFS within seconds. */
	ASSERT_EQ(0, wait_recovered("resets", self->resets, 30))
		TH_LOG("health monitor did not recover from CFS");
	EXPECT_EQ(0, self->bar0[AZIHSM_REG_CSTS / 4] & AZIHSM_CSTS_CFS);
	EXPECT_EQ(0, gt_device_works());
}

TEST_F(reset, subsystem_reset_behind_driver)
{
	self->bar0[AZIHSM_REG_NSSR / 4] = AZIHSM_NSSR_MAGIC;
	EXPECT_EQ(0, self->bar0[AZIHSM_REG_CSTS / 4] & AZIHSM_CSTS_RDY);
	/* The next command finds no controller; it must fail, not hang. */
	{
		uint8_t req[64], rsp[256];
		struct azihsm_cmd c;
		int len = gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);

		gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
		c.hdr.timeout_ms = 1000;
		gt_ioctl_cmd(self->fd, &c);
	}
	ASSERT_EQ(0, wait_recovered("resets", self->resets, 30));
	EXPECT_EQ(0, gt_device_works());
}

TEST_HARNESS_MAIN
