// SPDX-License-Identifier: MIT
/* azihsm_get_info: driver ioctl + HSM commands + sysfs, in one struct. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/azihsm.h>

#include "internal.h"
#include "proto.h"

static void copy_field(char *dst, size_t cap, const char *src, size_t src_cap)
{
	size_t n = strnlen(src, src_cap);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t sysfs_u32(struct azihsm_dev *dev, const char *attr)
{
	char buf[32];

	if (lib_sysfs_read(dev, attr, buf, sizeof(buf)))
		return 0;
	return (uint32_t)strtoul(buf, NULL, 0);
}

/*
 * Whether the device holds its certificate chain: GetCertChainInfo, whose
 * NOT_PROVISIONED answer says no. Not asked in the error state (refused
 * there). The last status is the device info's, not this probe's.
 */
static void set_provisioning(struct azihsm_dev *dev, struct azihsm_info *info)
{
	struct azihsm_last_status st;
	uint8_t digest[48];
	uint32_t count = 0;
	const char *what = "unknown";
	int ret;

	if (!info->error_state) {
		ret = azihsm_cert_chain_info(dev, &count, digest);
		st = azihsm_last_status(NULL);
		if (!ret && count == AZIHSM_CERT_CHAIN_LEN)
			what = "provisioned";
		else if (ret == -EIO && st.kind == AZIHSM_STATUS_KIND_HSM &&
			 st.code == AZIHSM_STATUS_NOT_PROVISIONED)
			what = "not-provisioned";
		lib_set_status(AZIHSM_STATUS_KIND_NONE, 0);
	}
	snprintf(info->provisioning, sizeof(info->provisioning), "%s", what);
}

int azihsm_get_info(struct azihsm_dev *dev, struct azihsm_info *info)
{
	struct azihsm_dev_info di = { .argsz = sizeof(di) };
	uint8_t req[64], rsp[512];
	struct proto_devinfo pd;
	struct mbor_dec d;
	size_t len;
	int ret;

	if (!dev || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	snprintf(info->path, sizeof(info->path), "%s", dev->path);
	if (ioctl(dev->fd, AZIHSM_IOCTL_DEV_INFO, &di) < 0)
		return -errno;
	info->ctrl_id = di.id;
	copy_field(info->pci, sizeof(info->pci), di.pci_info, sizeof(di.pci_info));
	copy_field(info->serial, sizeof(info->serial), di.serial_num, sizeof(di.serial_num));
	copy_field(info->fw_rev, sizeof(info->fw_rev), di.firmware_rev, sizeof(di.firmware_rev));
	copy_field(info->driver_rev, sizeof(info->driver_rev), di.driver_rev,
		   sizeof(di.driver_rev));
	/* The ioctl's model field is 4 characters; sysfs has all of it. */
	if (lib_sysfs_read(dev, "model", info->model, sizeof(info->model)))
		copy_field(info->model, sizeof(info->model), di.model_num, sizeof(di.model_num));

	ret = azihsm_get_api_rev(dev, &info->api_min, &info->api_max);
	if (ret)
		return ret;
	len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_DEVICE_INFO);
	ret = lib_transact(dev, req, len, rsp, sizeof(rsp), AZIHSM_OP_GET_DEVICE_INFO, &d);
	if (!ret)
		ret = proto_parse_devinfo(&d, &pd);
	if (ret)
		return ret;
	info->kind = pd.kind;
	info->tables = pd.tables;
	info->fips_mode = pd.fips;
	snprintf(info->partition_state, sizeof(info->partition_state), "%s",
		 azihsm_persist_name(pd.persist));
	info->error_state = pd.error_state;
	if (pd.has_boot)
		snprintf(info->boot_state, sizeof(info->boot_state), "%s",
			 azihsm_boot_name(pd.boot));
	snprintf(info->fw_version, sizeof(info->fw_version), "%s", pd.fw_version);
	info->svn = pd.svn;
	info->has_measurement = pd.has_measurement;
	memcpy(info->measurement, pd.measurement, sizeof(info->measurement));
	{
		static const char *const reasons[] = AZIHSM_ERROR_REASON_NAMES;

		snprintf(info->error_reason, sizeof(info->error_reason), "%s",
			 pd.error_reason < sizeof(reasons) / sizeof(reasons[0]) ?
			 reasons[pd.error_reason] : "unknown");
	}
	snprintf(info->error_detail, sizeof(info->error_detail), "%s", pd.error_detail);
	info->tamper_count = pd.tamper_count;
	set_provisioning(dev, info);

	if (lib_sysfs_read(dev, "ctrl_state", info->ctrl_state, sizeof(info->ctrl_state)))
		snprintf(info->ctrl_state, sizeof(info->ctrl_state), "unknown");
	info->hsm_queues = sysfs_u32(dev, "hsm_queues");
	info->aes_queues = sysfs_u32(dev, "aes_queues");
	return 0;
}
