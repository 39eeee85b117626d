// SPDX-License-Identifier: MIT
/*
 * The driver checks every ioctl argument at the border: each malformed
 * argument is refused with the documented errno before anything reaches
 * the device, malformed MBOR reaches the device and comes back as an
 * error status (never a hang), and the device keeps working after all
 * of it (checked after every test).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gt_harness.h"

#include "azihsm/msg.h"
#include "guest_util.h"

/* An address in kernel space: access_ok() refuses it. */
#define KERNEL_PTR	0xffff888000000000ull

FIXTURE(ioctl) {
	int fd;
	uint8_t req[64];
	size_t req_len;
	uint8_t rsp[AZIHSM_CMD_BUF_MAX];
	struct azihsm_cmd cmd;	/* a valid GetApiRev, tests break one field */
};

FIXTURE_SETUP(ioctl)
{
	int len;

	self->fd = gt_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GT_DEV, strerror(-self->fd));
	len = gt_req_empty(self->req, sizeof(self->req), AZIHSM_OP_GET_API_REV);
	ASSERT_LT(0, len);
	self->req_len = (size_t)len;
	gt_cmd_init(&self->cmd, self->req, self->req_len, self->rsp, sizeof(self->rsp));
}

FIXTURE_TEARDOWN(ioctl)
{
	if (self->fd >= 0)
		close(self->fd);
	/* Whatever the test sent, the device must still answer. */
	EXPECT_EQ(0, gt_device_works());
}

TEST_F(ioctl, baseline_is_valid)
{
	ASSERT_EQ(0, gt_ioctl_cmd(self->fd, &self->cmd));
	EXPECT_EQ(0, self->cmd.out.status);
}

TEST_F(ioctl, hdr_size_wrong)
{
	static const int32_t delta[] = { -1, 1, -(int32_t)sizeof(struct azihsm_cmd) };
	size_t i;

	for (i = 0; i < sizeof(delta) / sizeof(delta[0]); i++) {
		self->cmd.hdr.size = (uint32_t)((int32_t)sizeof(struct azihsm_cmd) + delta[i]);
		EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd))
			TH_LOG("hdr.size %u", self->cmd.hdr.size);
	}
}

TEST_F(ioctl, hdr_flags_nonzero)
{
	self->cmd.hdr.flags = 1;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
	self->cmd.hdr.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, src_len_zero)
{
	self->cmd.in.src_len = 0;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, src_len_too_big)
{
	static uint8_t big[AZIHSM_CMD_BUF_MAX + 1];

	memcpy(big, self->req, self->req_len);
	self->cmd.in.src_buf = (uintptr_t)big;
	self->cmd.in.src_len = AZIHSM_CMD_BUF_MAX + 1;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
	self->cmd.in.src_len = UINT32_MAX;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, dst_len_zero)
{
	self->cmd.in.dst_len = 0;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, dst_len_too_big)
{
	static uint8_t big[AZIHSM_CMD_BUF_MAX + 1];

	self->cmd.in.dst_buf = (uintptr_t)big;
	self->cmd.in.dst_len = AZIHSM_CMD_BUF_MAX + 1;
	EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, must_be_zero_fields)
{
	struct azihsm_cmd good = self->cmd;
	struct azihsm_cmd_in *in = &self->cmd.in;

#define REJECTS(what) do {						\
		what;							\
		EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd))	\
			TH_LOG("accepted: %s", #what);			\
		self->cmd = good;					\
	} while (0)

	REJECTS(in->opc = 1);
	REJECTS(in->cmdset = 1);
	REJECTS(in->psdt = 1);
	REJECTS(in->rsvd13[0] = 1);
	REJECTS(in->rsvd13[2] = 0x80);
	REJECTS(in->rsvd20 = 1);
	REJECTS(in->rsvd36 = 1);
	REJECTS(in->rsvd49 = 1);
	REJECTS(in->rsvd52[0] = 1);
	REJECTS(in->rsvd52[19] = 1);
#undef REJECTS
	/* And the untouched argument still goes through. */
	EXPECT_EQ(0, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, session_flags_undefined_bits)
{
	unsigned int bit;

	for (bit = 3; bit < 8; bit++) {
		self->cmd.in.session_flags = (uint8_t)(1u << bit);
		EXPECT_EQ(-EINVAL, gt_ioctl_cmd(self->fd, &self->cmd))
			TH_LOG("session_flags 0x%02x", 1u << bit);
	}
}

TEST_F(ioctl, bad_argument_pointer)
{
	EXPECT_EQ(-1, ioctl(self->fd, AZIHSM_IOCTL_CMD, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, AZIHSM_IOCTL_CMD, (void *)(uintptr_t)KERNEL_PTR));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, AZIHSM_IOCTL_DEV_INFO, (void *)16));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(ioctl, bad_src_pointer)
{
	self->cmd.in.src_buf = 16;
	EXPECT_EQ(-EFAULT, gt_ioctl_cmd(self->fd, &self->cmd));
	self->cmd.in.src_buf = KERNEL_PTR;
	EXPECT_EQ(-EFAULT, gt_ioctl_cmd(self->fd, &self->cmd));
}

TEST_F(ioctl, bad_dst_pointer)
{
	self->cmd.in.dst_buf = 16;
	EXPECT_EQ(-EFAULT, gt_ioctl_cmd(self->fd, &self->cmd));
	self->cmd.in.dst_buf = KERNEL_PTR;
	EXPECT_EQ(-EFAULT, gt_ioctl_cmd(self->fd, &self->cmd));
}

/* A request that runs off the end of its mapping, into an unmapped page. */
TEST_F(ioctl, src_crosses_into_unmapped_page)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	memcpy(map + page - 8, self->req, 8);
	self->cmd.in.src_buf = (uintptr_t)(map + page - 8);
	self->cmd.in.src_len = (uint32_t)self->req_len;
	EXPECT_EQ(-EFAULT, gt_ioctl_cmd(self->fd, &self->cmd));
	munmap(map, page);
}

TEST_F(ioctl, unknown_ioctl_numbers)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(AZIHSM_IOCTL_MAGIC, 0x7f, struct azihsm_cmd),
			    &self->cmd));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('Z', 0x3, struct azihsm_cmd), &self->cmd));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(AZIHSM_IOCTL_MAGIC, 0x3), NULL));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(ioctl, dev_info_small_argsz)
{
	struct azihsm_dev_info info;
	static const uint32_t sizes[] = {
		0, 4, sizeof(struct azihsm_dev_info) - 1,
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&info, 0, sizeof(info));
		info.argsz = sizes[i];
		EXPECT_EQ(-1, ioctl(self->fd, AZIHSM_IOCTL_DEV_INFO, &info))
			TH_LOG("argsz %u accepted", sizes[i]);
		EXPECT_EQ(EINVAL, errno);
	}
}

/*
 * Bytes that are not a valid request: refused, by the driver (-EINVAL: its
 * parser cannot read the header) or by the device (an error as completion
 * status or as the HSM status of a response).
 */
static void expect_refused(struct __test_metadata *_metadata, int fd,
			   const void *req, size_t len, const char *what)
{
	uint32_t cq = 0, hsm = 0;
	int ret = gt_roundtrip(fd, req, len, &cq, &hsm);

	if (ret == -EINVAL)
		return;
	ASSERT_EQ(0, ret) TH_LOG("%s", what);
	EXPECT_TRUE(cq != 0 || hsm != AZIHSM_STATUS_SUCCESS)
		TH_LOG("%s: accepted (cq %u hsm 0x%x)", what, cq, hsm);
}

/*
 * Issue 9: a request whose header the driver's own parser rejects is
 * refused with -EINVAL and never reaches the device (its session checks
 * could not have read it); a good one still goes.
 */
TEST_F(ioctl, unparsable_header_refused_by_driver)
{
	static const uint8_t ff[] = { 0xff };
	static const uint8_t zeros[64];
	uint32_t cq = 1, hsm = 1;
	size_t len;

	/* The device would have answered these (ret 0, MALFORMED). */
	EXPECT_EQ(-EINVAL, gt_roundtrip(self->fd, ff, sizeof(ff), &cq, &hsm));
	EXPECT_EQ(-EINVAL, gt_roundtrip(self->fd, zeros, sizeof(zeros), &cq, &hsm));
	/* Cut inside the header. */
	for (len = 1; len < 4; len++)
		EXPECT_EQ(-EINVAL, gt_roundtrip(self->fd, self->req, len, &cq, &hsm))
			TH_LOG("cut to %zu bytes", len);
	ASSERT_EQ(0, gt_roundtrip(self->fd, self->req, self->req_len, &cq, &hsm));
	EXPECT_EQ(0u, cq);
	EXPECT_EQ((uint32_t)AZIHSM_STATUS_SUCCESS, hsm);
}

TEST_F(ioctl, malformed_mbor_truncated)
{
	size_t len;

	for (len = 1; len < self->req_len; len++)
		expect_refused(_metadata, self->fd, self->req, len, "truncated request");
}

TEST_F(ioctl, malformed_mbor_garbage)
{
	static const uint8_t ff[] = { 0xff };
	static const uint8_t zeros[64];
	uint8_t junk[256];
	unsigned int seed = 1, i, round;

	expect_refused(_metadata, self->fd, ff, sizeof(ff), "0xff");
	expect_refused(_metadata, self->fd, zeros, sizeof(zeros), "zeros");
	for (round = 0; round < 16; round++) {
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rand_r(&seed);
		expect_refused(_metadata, self->fd, junk, 1 + round * 15, "random bytes");
	}
}

TEST_F(ioctl, trailing_bytes_after_request)
{
	uint8_t req[80];

	memcpy(req, self->req, self->req_len);
	memset(req + self->req_len, 0, 4);
	expect_refused(_metadata, self->fd, req, self->req_len + 4, "trailing bytes");
}

TEST_F(ioctl, unknown_opcode)
{
	uint32_t cq, hsm;
	int len;

	len = gt_req_empty(self->req, sizeof(self->req), 3999);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, gt_roundtrip(self->fd, self->req, (size_t)len, &cq, &hsm));
	EXPECT_EQ(0, cq);
	EXPECT_EQ(AZIHSM_STATUS_UNKNOWN_OPCODE, hsm);
}

TEST_F(ioctl, random_over_limit)
{
	uint32_t cq, hsm;
	int len;

	len = gt_req_random(self->req, sizeof(self->req), AZIHSM_RANDOM_MAX + 1);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, gt_roundtrip(self->fd, self->req, (size_t)len, &cq, &hsm));
	EXPECT_EQ(0, cq);
	EXPECT_EQ(AZIHSM_STATUS_INVALID_ARG, hsm);
}

/* The answer would not fit the caller's buffer: an error, no overrun. */
TEST_F(ioctl, response_larger_than_dst)
{
	uint8_t rsp[128 + 64];
	size_t i;
	int len;

	len = gt_req_random(self->req, sizeof(self->req), AZIHSM_RANDOM_MAX);
	ASSERT_LT(0, len);
	memset(rsp, 0x5a, sizeof(rsp));
	gt_cmd_init(&self->cmd, self->req, (size_t)len, rsp, 128);
	ASSERT_EQ(0, gt_ioctl_cmd(self->fd, &self->cmd));
	EXPECT_GE(128, self->cmd.out.byte_count);
	for (i = 128; i < sizeof(rsp); i++) {
		ASSERT_EQ(0x5a, rsp[i]) TH_LOG("byte %zu past dst_len written", i);
	}
	if (self->cmd.out.status == 0) {
		uint32_t hsm;

		ASSERT_EQ(0, gt_rsp_status(rsp, self->cmd.out.byte_count, &hsm));
		EXPECT_EQ(AZIHSM_STATUS_RSP_TOO_LARGE, hsm);
	}
}

TEST_HARNESS_MAIN
