// SPDX-License-Identifier: MIT
/*
 * Device identity: AZIHSM_IOCTL_DEV_INFO and azihsm_get_info() report the
 * properties QEMU was started with (vm-run passes them on as
 * AZIHSM_EXPECT_SERIAL / AZIHSM_EXPECT_FW_REV), and the entropy field
 * is fresh on every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gt_harness.h"

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"

/* A fixed-size text field must be NUL-terminated inside its array. */
#define FIELD_TERMINATED(f) (memchr((f), '\0', sizeof(f)) != NULL)

static int dev_info(int fd, struct azihsm_dev_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(fd, AZIHSM_IOCTL_DEV_INFO, info) < 0 ? -errno : 0;
}

FIXTURE(devinfo) {
	int fd;
	struct azihsm_dev_info info;
};

FIXTURE_SETUP(devinfo)
{
	self->fd = gt_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GT_DEV, strerror(-self->fd));
	ASSERT_EQ(0, dev_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(devinfo)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(devinfo, strings_terminated_and_present)
{
	const struct azihsm_dev_info *i = &self->info;

	ASSERT_TRUE(FIELD_TERMINATED(i->pci_info));
	ASSERT_TRUE(FIELD_TERMINATED(i->serial_num));
	ASSERT_TRUE(FIELD_TERMINATED(i->model_num));
	ASSERT_TRUE(FIELD_TERMINATED(i->firmware_rev));
	ASSERT_TRUE(FIELD_TERMINATED(i->driver_rev));
	EXPECT_NE(0, strlen(i->pci_info));
	EXPECT_NE(0, strlen(i->serial_num));
	EXPECT_NE(0, strlen(i->firmware_rev));
	EXPECT_NE(0, strlen(i->driver_rev));
	EXPECT_EQ(sizeof(struct azihsm_dev_info), i->argsz);
}

TEST_F(devinfo, matches_qemu_properties)
{
	const char *serial = gt_env("AZIHSM_EXPECT_SERIAL");
	const char *fw_rev = gt_env("AZIHSM_EXPECT_FW_REV");

	if (!serial || !fw_rev)
		SKIP(return, "AZIHSM_EXPECT_SERIAL/FW_REV not set (not run by vm-run)");
	EXPECT_STREQ(serial, self->info.serial_num);
	EXPECT_STREQ(fw_rev, self->info.firmware_rev);
}

/* pci_info names the PCI function the char device hangs off. */
TEST_F(devinfo, pci_info_is_the_sysfs_parent)
{
	char path[PATH_MAX];

	ASSERT_NE(NULL, realpath(GT_SYSFS "/device", path));
	EXPECT_STREQ(basename(path), self->info.pci_info);
}

TEST_F(devinfo, entropy_fresh_each_call)
{
	static const uint8_t zero[AZIHSM_DEV_INFO_ENTROPY_LEN];
	struct azihsm_dev_info again;

	ASSERT_EQ(0, dev_info(self->fd, &again));
	EXPECT_NE(0, memcmp(zero, self->info.device_entropy, sizeof(zero)));
	EXPECT_NE(0, memcmp(zero, again.device_entropy, sizeof(zero)));
	EXPECT_NE(0, memcmp(self->info.device_entropy, again.device_entropy,
			    sizeof(zero)));
	/* Everything else is identity and must not change. */
	EXPECT_STREQ(self->info.serial_num, again.serial_num);
	EXPECT_STREQ(self->info.firmware_rev, again.firmware_rev);
	EXPECT_EQ(self->info.id, again.id);
}

TEST_F(devinfo, library_agrees_with_ioctl)
{
	struct azihsm_info li;
	struct azihsm_dev *dev;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	memset(&li, 0, sizeof(li));
	ASSERT_EQ(0, azihsm_get_info(dev, &li));
	azihsm_close(dev);

	EXPECT_STREQ(self->info.serial_num, li.serial);
	EXPECT_STREQ(self->info.firmware_rev, li.fw_rev);
	EXPECT_STREQ(self->info.pci_info, li.pci);
	EXPECT_STREQ(self->info.driver_rev, li.driver_rev);
	EXPECT_EQ(self->info.id, li.ctrl_id);
	EXPECT_STREQ("ready", li.ctrl_state);
	EXPECT_LE(1, li.hsm_queues);
	EXPECT_EQ(AZIHSM_DEVICE_KIND_VIRTUAL, li.kind);
	EXPECT_EQ(AZIHSM_API_REV_MAJOR, li.api_max.major);
	EXPECT_EQ(AZIHSM_API_REV_MINOR, li.api_max.minor);
}

TEST_F(devinfo, library_matches_qemu_properties)
{
	const char *serial = gt_env("AZIHSM_EXPECT_SERIAL");
	const char *fw_rev = gt_env("AZIHSM_EXPECT_FW_REV");
	struct azihsm_info li;
	struct azihsm_dev *dev;

	if (!serial || !fw_rev)
		SKIP(return, "AZIHSM_EXPECT_SERIAL/FW_REV not set (not run by vm-run)");
	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, azihsm_get_info(dev, &li));
	azihsm_close(dev);
	EXPECT_STREQ(serial, li.serial);
	EXPECT_STREQ(fw_rev, li.fw_rev);
}

TEST_HARNESS_MAIN
