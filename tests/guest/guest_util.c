// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the guest tests; see guest_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"

int gt_open(void)
{
	int fd = open(GT_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void gt_cmd_init(struct azihsm_cmd *c, const void *req, size_t req_len,
		 void *rsp, size_t rsp_cap)
{
	memset(c, 0, sizeof(*c));
	c->hdr.size = sizeof(*c);
	c->in.src_len = (uint32_t)req_len;
	c->in.src_buf = (uintptr_t)req;
	c->in.dst_len = (uint32_t)rsp_cap;
	c->in.dst_buf = (uintptr_t)rsp;
}

int gt_ioctl_cmd(int fd, struct azihsm_cmd *c)
{
	return ioctl(fd, AZIHSM_IOCTL_CMD, c) < 0 ? -errno : 0;
}

static void begin(struct mbor_enc *e, void *buf, size_t cap, uint32_t opcode)
{
	struct azihsm_req_hdr h = {
		.has_rev = true,
		.rev = { AZIHSM_API_REV_MAJOR, AZIHSM_API_REV_MINOR },
		.opcode = opcode,
	};

	mbor_enc_init(e, buf, cap);
	azihsm_msg_begin_request(e, &h);
}

static int finish(struct mbor_enc *e)
{
	size_t len;

	if (mbor_enc_finish(e, &len))
		return -ENOSPC;
	return (int)len;
}

int gt_req_empty(void *buf, size_t cap, uint32_t opcode)
{
	struct mbor_enc e;

	begin(&e, buf, cap, opcode);
	mbor_enc_map(&e, 0);
	return finish(&e);
}

int gt_req_sess_empty(void *buf, size_t cap, uint32_t opcode, uint16_t sid)
{
	struct azihsm_req_hdr h = {
		.has_rev = true,
		.rev = { AZIHSM_API_REV_MAJOR, AZIHSM_API_REV_MINOR },
		.opcode = opcode,
		.has_session = true,
		.session_id = sid,
	};
	struct mbor_enc e;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_request(&e, &h);
	mbor_enc_map(&e, 0);
	return finish(&e);
}

int gt_req_random(void *buf, size_t cap, uint32_t len)
{
	struct mbor_enc e;

	begin(&e, buf, cap, AZIHSM_OP_GET_RANDOM);
	mbor_enc_map(&e, 1);
	mbor_enc_key(&e, AZIHSM_RANDOM_LEN);
	mbor_enc_u16(&e, (uint16_t)len);
	return finish(&e);
}

int gt_rsp_status(const void *rsp, size_t len, uint32_t *status)
{
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	bool has_data;

	mbor_dec_init(&d, rsp, len);
	if (azihsm_msg_parse_response(&d, &h, &has_data))
		return -EBADMSG;
	*status = h.status;
	return 0;
}

int gt_roundtrip(int fd, const void *req, size_t req_len,
		 uint32_t *cq_status, uint32_t *hsm_status)
{
	uint8_t rsp[AZIHSM_CMD_BUF_MAX];
	struct azihsm_cmd c;
	int ret;

	gt_cmd_init(&c, req, req_len, rsp, sizeof(rsp));
	ret = gt_ioctl_cmd(fd, &c);
	if (ret)
		return ret;
	*cq_status = c.out.status;
	if (c.out.status || c.out.byte_count > sizeof(rsp) ||
	    gt_rsp_status(rsp, c.out.byte_count, hsm_status))
		*hsm_status = UINT32_MAX;
	return 0;
}

int gt_device_works(void)
{
	uint32_t cq, hsm;
	uint8_t req[64];
	int fd, len, ret;

	len = gt_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	if (len < 0)
		return len;
	fd = gt_open();
	if (fd < 0)
		return fd;
	ret = gt_roundtrip(fd, req, (size_t)len, &cq, &hsm);
	close(fd);
	if (ret)
		return ret;
	return cq == 0 && hsm == AZIHSM_STATUS_SUCCESS ? 0 : -EIO;
}

const char *gt_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int gt_read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return (int)n;
}

int gt_write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

int gt_sysfs_str(const char *attr, char *buf, size_t cap)
{
	char path[256];
	int n;

	snprintf(path, sizeof(path), "%s/%s", GT_SYSFS, attr);
	n = gt_read_file(path, buf, cap);
	if (n < 0)
		return n;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

int gt_sysfs_u64(const char *attr, uint64_t *val)
{
	char buf[64], *end;
	int ret;

	ret = gt_sysfs_str(attr, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (ret == 0)
		return -EINVAL;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int gt_officer_login(struct azihsm_dev *dev, struct azihsm_session **s)
{
	struct azihsm_session *d = NULL;
	int ret;

	if (!azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, GT_DEFAULT_OFFICER_PIN, &d)) {
		ret = azihsm_change_pin(d, GT_DEFAULT_OFFICER_PIN, GT_OFFICER_PIN);
		azihsm_logout(d);
		if (ret)
			return ret;
	}
	return azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, GT_OFFICER_PIN, s);
}
