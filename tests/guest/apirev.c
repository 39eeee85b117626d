// SPDX-License-Identifier: MIT
/*
 * GetApiRev: the device supports a range min..max that ends at the
 * revision this tree implements (include/azihsm/msg.h), through the
 * library and through a hand-built request on the raw ioctl.
 */
#include <string.h>
#include <unistd.h>

#include "gt_harness.h"

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"

static bool rev_le(struct azihsm_rev a, struct azihsm_rev b)
{
	return a.major < b.major || (a.major == b.major && a.minor <= b.minor);
}

TEST(library)
{
	struct azihsm_rev min = { 0 }, max = { 0 };
	struct azihsm_dev *dev;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, azihsm_get_api_rev(dev, &min, &max));
	azihsm_close(dev);

	EXPECT_TRUE(rev_le(min, max)) TH_LOG("min %u.%u > max %u.%u",
					     min.major, min.minor, max.major, max.minor);
	EXPECT_LE(1, min.major);
	EXPECT_EQ(AZIHSM_API_REV_MAJOR, max.major);
	EXPECT_EQ(AZIHSM_API_REV_MINOR, max.minor);
}

/* Decode the response by hand with the shared codec. */
TEST(raw_ioctl)
{
	uint8_t req[64], rsp[256];
	struct azihsm_api_rev min = { 0 }, max = { 0 };
	struct azihsm_rsp_hdr h;
	struct azihsm_cmd c;
	struct mbor_dec d;
	struct mbor_map m;
	bool has_data;
	uint8_t id;
	int fd, len;

	len = gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	ASSERT_LT(0, len);
	fd = gt_open();
	ASSERT_LE(0, fd);
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	c.in.ctxt = 0x1122334455667788ull;
	c.hdr.app_cmd_id = 77;
	ASSERT_EQ(0, gt_ioctl_cmd(fd, &c));
	close(fd);

	ASSERT_EQ(0, c.out.status);
	ASSERT_EQ(AZIHSM_EXT_OK, c.out.ext_status);
	EXPECT_EQ(0x1122334455667788ull, c.out.ctxt);
	ASSERT_LT(0, c.out.byte_count);
	ASSERT_GE(sizeof(rsp), c.out.byte_count);

	mbor_dec_init(&d, rsp, c.out.byte_count);
	ASSERT_EQ(0, azihsm_msg_parse_response(&d, &h, &has_data));
	ASSERT_EQ(AZIHSM_STATUS_SUCCESS, h.status);
	EXPECT_EQ(AZIHSM_OP_GET_API_REV, h.req.opcode);
	ASSERT_TRUE(has_data);
	ASSERT_EQ(0, mbor_dec_map(&d, &m));
	/* ASSERT_* expand to statements: no dangling else around them. */
	while (mbor_dec_next(&d, &m, &id) == 1) {
		int ret;

		if (id == AZIHSM_APIREV_MIN)
			ret = azihsm_msg_dec_rev(&d, &min);
		else if (id == AZIHSM_APIREV_MAX)
			ret = azihsm_msg_dec_rev(&d, &max);
		else
			ret = mbor_dec_skip(&d);
		ASSERT_EQ(0, ret) TH_LOG("field %u", id);
	}
	ASSERT_EQ(0, mbor_dec_finish(&d));
	EXPECT_EQ(AZIHSM_API_REV_MAJOR, max.major);
	EXPECT_EQ(AZIHSM_API_REV_MINOR, max.minor);
	EXPECT_TRUE(min.major < max.major ||
		    (min.major == max.major && min.minor <= max.minor));
}

TEST_HARNESS_MAIN
