// SPDX-License-Identifier: MIT
/*
 * /sys/class/azihsm/azihsm0: the attributes exist, hold what QEMU was
 * given, agree with `azihsm info --json`, and the command counters move
 * when commands run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt_harness.h"

#include "azihsm/azihsm.h"
#include "azihsm/hw.h"
#include "guest_util.h"

static const char *const counters[] = {
	"cmds_submitted", "cmds_completed", "cmds_failed", "cmds_timed_out", "resets",
};

TEST(identity_matches_qemu_properties)
{
	const char *serial = gt_env("AZIHSM_EXPECT_SERIAL");
	const char *fw_rev = gt_env("AZIHSM_EXPECT_FW_REV");
	char buf[128];

	if (!serial || !fw_rev)
		SKIP(return, "AZIHSM_EXPECT_SERIAL/FW_REV not set (not run by vm-run)");
	ASSERT_LE(0, gt_sysfs_str("serial", buf, sizeof(buf)));
	EXPECT_STREQ(serial, buf);
	ASSERT_LE(0, gt_sysfs_str("firmware_rev", buf, sizeof(buf)));
	EXPECT_STREQ(fw_rev, buf);
}

TEST(state_and_queues)
{
	uint64_t hsm_queues, aes_queues;
	char buf[128];

	ASSERT_LE(0, gt_sysfs_str("ctrl_state", buf, sizeof(buf)));
	EXPECT_STREQ("ready", buf);
	ASSERT_LT(0, gt_sysfs_str("model", buf, sizeof(buf)));
	ASSERT_EQ(0, gt_sysfs_u64("hsm_queues", &hsm_queues));
	ASSERT_EQ(0, gt_sysfs_u64("aes_queues", &aes_queues));
	EXPECT_LE(1, hsm_queues);
}

TEST(counters_consistent)
{
	uint64_t v[5];
	size_t i;

	/* Completed first: a command finishing between the reads can then
	 * only make submitted larger, never completed. */
	for (i = 5; i-- > 0;) {
		ASSERT_EQ(0, gt_sysfs_u64(counters[i], &v[i])) TH_LOG("%s", counters[i]);
	}
	EXPECT_LE(v[1], v[0]);
}

TEST(counters_grow)
{
	enum { N = 10 };
	uint64_t sub0, done0, fail0, sub1, done1, fail1;
	struct azihsm_rev min, max;
	struct azihsm_dev *dev;
	int i;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_submitted", &sub0));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_completed", &done0));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_failed", &fail0));
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, azihsm_get_api_rev(dev, &min, &max));
	}
	azihsm_close(dev);
	ASSERT_EQ(0, gt_sysfs_u64("cmds_submitted", &sub1));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_completed", &done1));
	ASSERT_EQ(0, gt_sysfs_u64("cmds_failed", &fail1));
	EXPECT_LE(sub0 + N, sub1);
	EXPECT_LE(done0 + N, done1);
	EXPECT_LE(fail0, fail1);
}

TEST(attributes_read_only)
{
	static const char *const attrs[] = { "serial", "firmware_rev", "ctrl_state",
					     "cmds_completed" };
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", GT_SYSFS, attrs[i]);
		EXPECT_EQ(-EACCES, gt_write_file(path, "1")) TH_LOG("%s", attrs[i]);
	}
}

/*
 * issue 9: the attributes that send a command to the device at each read are
 * root-only (0400); an unprivileged reader gets EACCES, root reads them.
 */
TEST(device_queries_root_only)
{
	static const char *const attrs[] = { "partition_state", "error_state", "error_reason",
					     "tamper_count" };
	char path[256], buf[64];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		pid_t pid;
		int status = -1;

		snprintf(path, sizeof(path), "%s/%s", GT_SYSFS, attrs[i]);
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ(0400, st.st_mode & 07777) TH_LOG("%s", attrs[i]);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int fd;

			if (setgid(65534) || setuid(65534))
				_exit(2);
			fd = open(path, O_RDONLY);
			_exit(fd < 0 && errno == EACCES ? 0 : 1);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("%s: an unprivileged open must be EACCES", attrs[i]);
		EXPECT_LT(0, gt_read_file(path, buf, sizeof(buf))) TH_LOG("root reads %s", attrs[i]);
	}
}

TEST(pci_identity)
{
	char buf[32];
	unsigned long vendor, device;

	ASSERT_LT(0, gt_read_file(GT_SYSFS "/device/vendor", buf, sizeof(buf)));
	vendor = strtoul(buf, NULL, 0);
	ASSERT_LT(0, gt_read_file(GT_SYSFS "/device/device", buf, sizeof(buf)));
	device = strtoul(buf, NULL, 0);
	EXPECT_EQ(AZIHSM_PCI_VENDOR_ID, vendor);
	EXPECT_EQ(AZIHSM_PCI_DEVICE_ID, device);
}

TEST(device_node)
{
	unsigned int major, minor;
	struct stat st;
	char buf[32];

	ASSERT_EQ(0, stat(GT_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	ASSERT_LT(0, gt_sysfs_str("dev", buf, sizeof(buf)));
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &major, &minor));
	EXPECT_EQ(major, major(st.st_rdev));
	EXPECT_EQ(minor, minor(st.st_rdev));
}

/*
 * The value of "key" in flat JSON output: a string without escapes or a
 * number. Good enough for the CLI's one-level objects.
 */
static bool json_value(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	if (!p)
		return false;
	p += strlen(pat);
	p += strspn(p, " \t\n");
	if (*p++ != ':')
		return false;
	p += strspn(p, " \t\n");
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
	} else {
		n = strcspn(p, ",} \t\n");
	}
	if (n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

TEST(matches_cli_json)
{
	static const char *const keys[] = {
		"serial", "firmware_rev", "model", "ctrl_state", "hsm_queues", "aes_queues",
	};
	char json[8192], want[128], got[128];
	size_t len, i;
	FILE *f;
	int status;

	if (access("/usr/bin/azihsm", X_OK))
		SKIP(return, "azihsm CLI not installed in the guest");
	f = popen("azihsm info --json", "r");
	ASSERT_NE(NULL, f);
	len = fread(json, 1, sizeof(json) - 1, f);
	json[len] = '\0';
	status = pclose(f);
	ASSERT_EQ(0, status) TH_LOG("azihsm info --json failed: %s", json);

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ASSERT_TRUE(json_value(json, keys[i], got, sizeof(got)))
			TH_LOG("no \"%s\" in: %s", keys[i], json);
		ASSERT_LE(0, gt_sysfs_str(keys[i], want, sizeof(want)));
		EXPECT_STREQ(want, got) TH_LOG("key %s", keys[i]);
	}
}

TEST_HARNESS_MAIN
