// SPDX-License-Identifier: MIT
/*
 * The driver registers the device DRBG with the kernel's hw_random core:
 * it is listed, can be selected, and /dev/hwrng then delivers bytes that
 * are neither constant nor repeated.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "gt_harness.h"

#include "guest_util.h"

#define RNG_SYSFS	"/sys/class/misc/hw_random"
#define READ_LEN	4096

/* Finds the first name in @list starting with "azihsm". */
static bool find_azihsm(const char *list, char *name, size_t cap)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " \n");

		if (n >= 6 && !strncmp(p, "azihsm", 6) && n < cap) {
			memcpy(name, p, n);
			name[n] = '\0';
			return true;
		}
		p += n;
		p += strspn(p, " \n");
	}
	return false;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

FIXTURE(hwrng) {
	char name[64];
	char previous[64];
};

FIXTURE_SETUP(hwrng)
{
	char list[512];

	ASSERT_LE(0, gt_read_file(RNG_SYSFS "/rng_available", list, sizeof(list)));
	ASSERT_TRUE(find_azihsm(list, self->name, sizeof(self->name)))
		TH_LOG("no azihsm entry in rng_available: '%s'", list);
	ASSERT_LE(0, gt_read_file(RNG_SYSFS "/rng_current", self->previous,
				  sizeof(self->previous)));
	self->previous[strcspn(self->previous, "\n")] = '\0';
}

FIXTURE_TEARDOWN(hwrng)
{
	if (self->previous[0] && strcmp(self->previous, "none"))
		gt_write_file(RNG_SYSFS "/rng_current", self->previous);
}

TEST_F(hwrng, select_and_read)
{
	static uint8_t a[READ_LEN], b[READ_LEN];
	char current[64];
	size_t i, same = 0;
	int fd;

	ASSERT_EQ(0, gt_write_file(RNG_SYSFS "/rng_current", self->name));
	ASSERT_LE(0, gt_read_file(RNG_SYSFS "/rng_current", current, sizeof(current)));
	current[strcspn(current, "\n")] = '\0';
	ASSERT_STREQ(self->name, current);

	fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open /dev/hwrng: %s", strerror(errno));
	ASSERT_EQ(0, read_full(fd, a, sizeof(a)));
	ASSERT_EQ(0, read_full(fd, b, sizeof(b)));
	close(fd);

	for (i = 1; i < sizeof(a); i++)
		same += a[i] == a[0];
	EXPECT_GT(sizeof(a) - 1, same) TH_LOG("all %d bytes equal", READ_LEN);
	EXPECT_NE(0, memcmp(a, b, sizeof(a)));
}

TEST_HARNESS_MAIN
