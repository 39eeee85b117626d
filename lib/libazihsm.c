// SPDX-License-Identifier: MIT
/* libazihsm: device handles, the command ioctl, errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/azihsm.h>

#include "azihsm/hw.h"
#include "internal.h"
#include "proto.h"

/* Per thread, so concurrent users of one handle each see their own. */
static _Thread_local struct azihsm_last_status last_status;
/* The fips_approved flag of this thread's last successful answer. */
static _Thread_local bool last_fips;

bool lib_last_fips(void)
{
	return last_fips;
}

void lib_set_status(enum azihsm_status_kind kind, uint32_t code)
{
	last_status.kind = kind;
	last_status.code = code;
}

struct azihsm_last_status azihsm_last_status(const struct azihsm_dev *dev)
{
	(void)dev;
	return last_status;
}

static int ioctl_xfer(void *ctx, struct lib_xfer *x);

int azihsm_open(const char *path, struct azihsm_dev **out)
{
	struct azihsm_dev_info info = { .argsz = sizeof(info) };
	struct azihsm_dev *dev;
	int err;

	*out = NULL;
	if (!path)
		path = AZIHSM_DEFAULT_DEVICE;
	if (strlen(path) >= sizeof(dev->path))
		return -ENAMETOOLONG;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	snprintf(dev->path, sizeof(dev->path), "%s", path);
	dev->xfer = ioctl_xfer;
	dev->xfer_ctx = dev;
	dev->fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		err = -errno;
		free(dev);
		return err;
	}
	/* Refuse anything that is not an azihsm device before it is used. */
	if (ioctl(dev->fd, AZIHSM_IOCTL_DEV_INFO, &info) < 0) {
		err = -errno;
		close(dev->fd);
		free(dev);
		return err;
	}
	*out = dev;
	return 0;
}

void azihsm_close(struct azihsm_dev *dev)
{
	if (!dev)
		return;
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev);
}

/* The default transport: the driver's command ioctl. */
static int ioctl_xfer(void *ctx, struct lib_xfer *x)
{
	struct azihsm_dev *dev = ctx;
	struct azihsm_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr.size = sizeof(cmd);
	cmd.in.src_len = (uint32_t)x->req_len;
	cmd.in.src_buf = (uintptr_t)x->req;
	cmd.in.dst_len = (uint32_t)x->rsp_cap;
	cmd.in.dst_buf = (uintptr_t)x->rsp;
	cmd.in.session_flags = x->session_flags;
	cmd.in.session_id = x->session_id;
	if (ioctl(dev->fd, AZIHSM_IOCTL_CMD, &cmd) < 0) {
		int err = -errno;

		if (cmd.out.ext_status)
			lib_set_status(AZIHSM_STATUS_KIND_DRIVER, cmd.out.ext_status);
		return err;
	}
	if (cmd.out.status) {
		lib_set_status(AZIHSM_STATUS_KIND_COMPLETION, cmd.out.status);
		return -EIO;
	}
	if (cmd.out.byte_count > x->rsp_cap)
		return -EPROTO;
	return (int)cmd.out.byte_count;
}

int lib_dev_open_transport(lib_transport_fn fn, void *ctx, struct azihsm_dev **out)
{
	struct azihsm_dev *dev;

	*out = NULL;
	if (!fn)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = -1;
	snprintf(dev->path, sizeof(dev->path), "(transport)");
	dev->xfer = fn;
	dev->xfer_ctx = ctx;
	*out = dev;
	return 0;
}

int lib_command(struct azihsm_dev *dev, const void *req, size_t req_len, void *rsp,
		size_t rsp_cap, uint8_t session_flags, uint16_t session_id)
{
	struct lib_xfer x;
	int n;

	lib_set_status(AZIHSM_STATUS_KIND_NONE, 0);
	if (!dev || !req || !rsp || !req_len || req_len > AZIHSM_CMD_BUF_MAX || !rsp_cap)
		return -EINVAL;
	if (rsp_cap > AZIHSM_CMD_BUF_MAX)
		rsp_cap = AZIHSM_CMD_BUF_MAX;
	x = (struct lib_xfer){ .req = req, .req_len = req_len, .rsp = rsp, .rsp_cap = rsp_cap,
			       .session_flags = session_flags, .session_id = session_id };
	n = dev->xfer(dev->xfer_ctx, &x);
	if (n > (int)rsp_cap)
		return -EPROTO;
	return n;
}

int azihsm_command(struct azihsm_dev *dev, const void *req, size_t req_len,
		   void *rsp, size_t rsp_cap)
{
	return lib_command(dev, req, req_len, rsp, rsp_cap, AZIHSM_SESSION_OP_NONE, 0);
}

int lib_transact_sess(struct azihsm_dev *dev, const uint8_t *req, size_t req_len,
		      uint8_t *rsp, size_t rsp_cap, uint32_t opcode, uint8_t session_flags,
		      uint16_t session_id, struct mbor_dec *d)
{
	uint32_t hsm_status;
	int n, ret;

	if (!req_len)
		return -EINVAL;
	last_fips = false;
	n = lib_command(dev, req, req_len, rsp, rsp_cap, session_flags, session_id);
	if (n < 0)
		return n;
	ret = proto_rsp_begin_fips(d, rsp, (size_t)n, opcode, &hsm_status, &last_fips);
	if (ret == -EIO)
		lib_set_status(AZIHSM_STATUS_KIND_HSM, hsm_status);
	return ret;
}

int lib_transact(struct azihsm_dev *dev, const uint8_t *req, size_t req_len,
		 uint8_t *rsp, size_t rsp_cap, uint32_t opcode, struct mbor_dec *d)
{
	return lib_transact_sess(dev, req, req_len, rsp, rsp_cap, opcode,
				 AZIHSM_SESSION_OP_NONE, 0, d);
}

int azihsm_get_api_rev(struct azihsm_dev *dev, struct azihsm_rev *min, struct azihsm_rev *max)
{
	uint8_t req[64], rsp[256];
	struct mbor_dec d;
	size_t len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	int ret = lib_transact(dev, req, len, rsp, sizeof(rsp), AZIHSM_OP_GET_API_REV, &d);

	return ret ? ret : proto_parse_api_rev(&d, min, max);
}

int azihsm_random(struct azihsm_dev *dev, void *buf, size_t len)
{
	uint8_t req[64], rsp[AZIHSM_RANDOM_MAX + 64];
	uint8_t *dst = buf;
	struct mbor_dec d;
	int ret = 0;

	if (!buf && len)
		return -EINVAL;
	while (len) {
		uint16_t n = len > AZIHSM_RANDOM_MAX ? AZIHSM_RANDOM_MAX : (uint16_t)len;
		size_t rlen = proto_req_random(req, sizeof(req), n);

		ret = lib_transact(dev, req, rlen, rsp, sizeof(rsp), AZIHSM_OP_GET_RANDOM, &d);
		if (!ret)
			ret = proto_parse_random(&d, dst, n);
		if (ret)
			break;
		dst += n;
		len -= n;
	}
	explicit_bzero(rsp, sizeof(rsp));
	return ret;
}

const char *azihsm_version(void)
{
	return AZIHSM_LIB_VERSION;
}

const char *azihsm_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EIO:
		return "the device refused the command (see its status)";
	case -EPROTO:
		return "the device's answer did not decode";
	case -ENOKEY:
		return "the device's identity does not chain to the trusted root "
		       "($AZIHSM_ROOT_CA, else " AZIHSM_ROOT_CA_DEFAULT "): nothing was sent to it";
	case -ETIMEDOUT:
		return "the command timed out; the controller was reset";
	case -ENOTTY:
		return "not an azihsm device";
	case -ENODEV:
		return "the device is gone";
	case -ENOSPC:
		return "the output buffer is too small";
	case -ENOTRECOVERABLE:
		return "local cryptography (OpenSSL) failed";
	}
	return strerror(err < 0 ? -err : err);
}

static const char *sc_name(uint32_t sc)
{
	switch (sc) {
	case AZIHSM_SC_SUCCESS: return "SUCCESS";
	case AZIHSM_SC_INVALID_OPCODE: return "INVALID_OPCODE";
	case AZIHSM_SC_INVALID_FIELD: return "INVALID_FIELD";
	case AZIHSM_SC_DATA_XFER_ERROR: return "DATA_XFER_ERROR";
	case AZIHSM_SC_INTERNAL: return "INTERNAL";
	case AZIHSM_SC_ABORTED_SQ_DELETION: return "ABORTED_SQ_DELETION";
	case AZIHSM_SC_HSM_BAD_REQUEST: return "HSM_BAD_REQUEST";
	case AZIHSM_SC_HSM_BUFFER_TOO_SMALL: return "HSM_BUFFER_TOO_SMALL";
	case AZIHSM_SC_HSM_DEVICE_ERROR: return "HSM_DEVICE_ERROR";
	}
	return "UNKNOWN_COMPLETION_STATUS";
}

const char *azihsm_status_str(struct azihsm_last_status st)
{
	switch (st.kind) {
	case AZIHSM_STATUS_KIND_NONE:
		return "NONE";
	case AZIHSM_STATUS_KIND_COMPLETION:
		return sc_name(st.code);
	case AZIHSM_STATUS_KIND_HSM:
		return azihsm_status_name(st.code);
	case AZIHSM_STATUS_KIND_DRIVER:
		return st.code == AZIHSM_EXT_TIMEOUT ? "DRIVER_TIMEOUT" :
		       st.code == AZIHSM_EXT_RESET ? "DRIVER_RESET" : "DRIVER_ERROR";
	}
	return "UNKNOWN";
}

/* sysfs of the char device behind @dev: /sys/dev/char/MAJ:MIN/@attr */
int lib_sysfs_read(struct azihsm_dev *dev, const char *attr, char *buf, size_t cap)
{
	char path[128];
	struct stat st;
	ssize_t n;
	int fd;

	if (fstat(dev->fd, &st) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/%s", major(st.st_rdev),
		 minor(st.st_rdev), attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}
