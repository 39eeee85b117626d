// SPDX-License-Identifier: MIT
/*
 * GetRandom through the library: every length comes back exactly (the
 * library splits requests above AZIHSM_RANDOM_MAX), and the output is
 * not obviously stuck. These are sanity checks that catch a broken
 * DRBG plumbing (zeros, repeats, short copies), not statistical tests.
 */
#include <stdlib.h>
#include <string.h>

#include "gt_harness.h"

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"

#define GUARD	64
#define FILL	0xa5

FIXTURE(random) {
	struct azihsm_dev *dev;
};

FIXTURE_VARIANT(random) {
	size_t len;
};

FIXTURE_VARIANT_ADD(random, len_1) { .len = 1 };
FIXTURE_VARIANT_ADD(random, len_16) { .len = 16 };
FIXTURE_VARIANT_ADD(random, len_4096) { .len = 4096 };
FIXTURE_VARIANT_ADD(random, len_4097) { .len = 4097 };
FIXTURE_VARIANT_ADD(random, len_65536) { .len = 65536 };

FIXTURE_SETUP(random)
{
	ASSERT_EQ(0, azihsm_open(GT_DEV, &self->dev));
}

FIXTURE_TEARDOWN(random)
{
	azihsm_close(self->dev);
}

/* How many of the first @len bytes still hold FILL. */
static size_t count_fill(const uint8_t *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += p[i] == FILL;
	return n;
}

/*
 * Exactly @len bytes are written: the guard after them is untouched, and
 * over two reads no byte position keeps the fill value both times unless
 * chance allows (for len 1 a 1/65536 event, so only judged from 16 on).
 */
TEST_F(random, exact_length)
{
	size_t len = variant->len;
	uint8_t *a, *b;
	size_t i, stuck = 0;

	a = malloc(len + GUARD);
	b = malloc(len + GUARD);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	memset(a, FILL, len + GUARD);
	memset(b, FILL, len + GUARD);

	ASSERT_EQ(0, azihsm_random(self->dev, a, len));
	ASSERT_EQ(0, azihsm_random(self->dev, b, len));

	EXPECT_EQ(GUARD, count_fill(a + len, GUARD));
	EXPECT_EQ(GUARD, count_fill(b + len, GUARD));
	for (i = 0; i < len; i++)
		stuck += a[i] == FILL && b[i] == FILL;
	/* Expected len/65536; allow plenty of slack. */
	if (len >= 16)
		EXPECT_GE(1 + len / 4096, stuck);
	if (len >= 16)
		EXPECT_NE(0, memcmp(a, b, len));
	free(a);
	free(b);
}

static int cmp_block(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

/*
 * 64 KiB: no 16-byte block occurs twice (a repeat means a stuck or
 * rewound generator), and every byte value turns up a plausible number
 * of times (mean 256, sd 16: bounds are many sigma wide).
 */
TEST(not_stuck)
{
	enum { LEN = 65536, BLOCKS = LEN / 16 };
	struct azihsm_dev *dev;
	unsigned int hist[256] = { 0 };
	uint8_t *buf;
	size_t i;

	buf = malloc(LEN);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, azihsm_random(dev, buf, LEN));
	azihsm_close(dev);

	for (i = 0; i < LEN; i++)
		hist[buf[i]]++;
	for (i = 0; i < 256; i++) {
		EXPECT_LE(128, hist[i]) TH_LOG("byte 0x%02zx seen %u times", i, hist[i]);
		EXPECT_GE(400, hist[i]) TH_LOG("byte 0x%02zx seen %u times", i, hist[i]);
	}

	qsort(buf, BLOCKS, 16, cmp_block);
	for (i = 1; i < BLOCKS; i++) {
		ASSERT_NE(0, memcmp(buf + 16 * (i - 1), buf + 16 * i, 16))
			TH_LOG("16-byte block repeats");
	}
	free(buf);
}

/* Zero length is a no-op that succeeds and touches nothing. */
TEST(zero_length)
{
	struct azihsm_dev *dev;
	uint8_t b = FILL;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	EXPECT_EQ(0, azihsm_random(dev, &b, 0));
	azihsm_close(dev);
	EXPECT_EQ(FILL, b);
}

/* One command's worth through the raw ioctl: the payload is exact. */
TEST(raw_max_length)
{
	uint8_t req[64], rsp[AZIHSM_CMD_BUF_MAX];
	struct azihsm_rsp_hdr h;
	struct azihsm_cmd c;
	struct mbor_dec d;
	struct mbor_map m;
	const uint8_t *data = NULL;
	size_t data_len = 0;
	bool has_data;
	uint8_t id;
	int fd, len;

	len = gt_req_random(req, sizeof(req), AZIHSM_RANDOM_MAX);
	ASSERT_LT(0, len);
	fd = gt_open();
	ASSERT_LE(0, fd);
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	ASSERT_EQ(0, gt_ioctl_cmd(fd, &c));
	close(fd);
	ASSERT_EQ(0, c.out.status);

	mbor_dec_init(&d, rsp, c.out.byte_count);
	ASSERT_EQ(0, azihsm_msg_parse_response(&d, &h, &has_data));
	ASSERT_EQ(AZIHSM_STATUS_SUCCESS, h.status);
	ASSERT_TRUE(has_data);
	ASSERT_EQ(0, mbor_dec_map(&d, &m));
	while (mbor_dec_next(&d, &m, &id) == 1) {
		int ret;

		if (id == AZIHSM_RANDOM_BYTES)
			ret = mbor_dec_bytes(&d, &data, &data_len);
		else
			ret = mbor_dec_skip(&d);
		ASSERT_EQ(0, ret) TH_LOG("field %u", id);
	}
	ASSERT_EQ(0, mbor_dec_finish(&d));
	EXPECT_EQ(AZIHSM_RANDOM_MAX, data_len);
}

TEST_HARNESS_MAIN
