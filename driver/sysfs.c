// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm sysfs attributes of /sys/class/azihsm/azihsm<N>: identity,
 * state, queue counts, command counters, and what became of the
 * partition's stored state (asked of the device when read). All read-only; the
 * ones that send a command to the device at every read (partition_state,
 * error_state, error_reason, tamper_count) are root-only (0400), so an
 * unprivileged reader cannot keep the device's queues busy (issue 9); the
 * others are cached values. The group is
 * passed to device_create_with_groups() so the attributes exist before
 * udev is told about the device.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "azihsm.h"
#include "kcrypto.h"

static struct azihsm_dev *to_azihsm(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct azihsm_ident ident;

	azihsm_ident_get(to_azihsm(dev), &ident);
	return sysfs_emit(buf, "%s\n", ident.serial);
}
static DEVICE_ATTR_RO(serial);

static ssize_t firmware_rev_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct azihsm_ident ident;

	azihsm_ident_get(to_azihsm(dev), &ident);
	return sysfs_emit(buf, "%s\n", ident.fw_rev);
}
static DEVICE_ATTR_RO(firmware_rev);

static ssize_t model_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct azihsm_ident ident;

	azihsm_ident_get(to_azihsm(dev), &ident);
	return sysfs_emit(buf, "%s\n", ident.model);
}
static DEVICE_ATTR_RO(model);

static ssize_t ctrl_state_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  azihsm_state_name(READ_ONCE(to_azihsm(dev)->state)));
}
static DEVICE_ATTR_RO(ctrl_state);

static ssize_t hsm_queues_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_azihsm(dev)->nr_hsm));
}
static DEVICE_ATTR_RO(hsm_queues);

static ssize_t aes_queues_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_azihsm(dev)->nr_aes));
}
static DEVICE_ATTR_RO(aes_queues);

struct azihsm_devinfo {
	u32 kind, tables, persist, reason, tamper_count, boot, svn;
	bool fips, error_state;
	struct azihsm_kbytes serial, fw_rev, detail, fw_version, measurement;
};

static int azihsm_devinfo_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_devinfo *di = kc->ctx;
	const struct azihsm_kfield f[] = {
		{ AZIHSM_DEVINFO_KIND, AZIHSM_KF_U32, false, &di->kind },
		{ AZIHSM_DEVINFO_TABLES, AZIHSM_KF_U32, false, &di->tables },
		{ AZIHSM_DEVINFO_FIPS, AZIHSM_KF_BOOL, false, &di->fips },
		{ AZIHSM_DEVINFO_SERIAL, AZIHSM_KF_BYTES, true, &di->serial },
		{ AZIHSM_DEVINFO_FW_REV, AZIHSM_KF_BYTES, true, &di->fw_rev },
		{ AZIHSM_DEVINFO_PERSIST, AZIHSM_KF_U32, false, &di->persist },
		{ AZIHSM_DEVINFO_ERROR_STATE, AZIHSM_KF_BOOL, false, &di->error_state },
		{ AZIHSM_DEVINFO_ERROR_REASON, AZIHSM_KF_U32, true, &di->reason },
		{ AZIHSM_DEVINFO_ERROR_DETAIL, AZIHSM_KF_BYTES, true, &di->detail },
		{ AZIHSM_DEVINFO_TAMPER_COUNT, AZIHSM_KF_U32, true, &di->tamper_count },
		/* Secure boot (firmware that has it): libazihsm reads them. */
		{ AZIHSM_DEVINFO_BOOT, AZIHSM_KF_U32, true, &di->boot },
		{ AZIHSM_DEVINFO_FW_VERSION, AZIHSM_KF_BYTES, true, &di->fw_version },
		{ AZIHSM_DEVINFO_SVN, AZIHSM_KF_U32, true, &di->svn },
		{ AZIHSM_DEVINFO_MEASUREMENT, AZIHSM_KF_BYTES, true, &di->measurement },
	};

	return azihsm_kdec(d, f, ARRAY_SIZE(f));
}

/* GetDeviceInfo (its byte fields point into a response gone after the call). */
static int azihsm_devinfo_get(struct azihsm_dev *hdev, struct azihsm_devinfo *di)
{
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_GET_DEVICE_INFO,
		.rsp = azihsm_devinfo_rsp,
		.ctx = di,
	};
	memset(di, 0, sizeof(*di));
	return azihsm_kcmd_run(hdev, &kc, false);
}

int azihsm_partition_state(struct azihsm_dev *hdev, u32 *persist, bool *error_state)
{
	struct azihsm_devinfo di;
	int ret = azihsm_devinfo_get(hdev, &di);

	if (ret)
		return ret;
	*persist = di.persist;
	*error_state = di.error_state;
	return 0;
}

/* "loaded", "corrupt", ... (enum azihsm_persist, include/azihsm/msg.h). */
static ssize_t partition_state_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	u32 persist;
	bool err;
	int ret = azihsm_partition_state(to_azihsm(dev), &persist, &err);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%s\n", azihsm_persist_name(persist));
}
static DEVICE_ATTR_ADMIN_RO(partition_state);

/* 1 when the module refuses services (failed self-test or unusable state). */
static ssize_t error_state_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	u32 persist;
	bool err;
	int ret = azihsm_partition_state(to_azihsm(dev), &persist, &err);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%d\n", err);
}
static DEVICE_ATTR_ADMIN_RO(error_state);

static const char *const azihsm_reason_names[] = AZIHSM_ERROR_REASON_NAMES;

/* Why the module is in its error state: "none", "self-test", "tamper", ... */
static ssize_t error_reason_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct azihsm_devinfo di;
	int ret = azihsm_devinfo_get(to_azihsm(dev), &di);

	if (ret)
		return ret;
	if (di.reason >= ARRAY_SIZE(azihsm_reason_names))
		return sysfs_emit(buf, "unknown\n");
	return sysfs_emit(buf, "%s\n", azihsm_reason_names[di.reason]);
}
static DEVICE_ATTR_ADMIN_RO(error_reason);

/* Tamper events in the device's tamper log (ever, across restarts). */
static ssize_t tamper_count_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct azihsm_devinfo di;
	int ret = azihsm_devinfo_get(to_azihsm(dev), &di);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%u\n", di.tamper_count);
}
static DEVICE_ATTR_ADMIN_RO(tamper_count);

#define AZIHSM_COUNTER_ATTR(name, field)				\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n",				\
			  atomic64_read(&to_azihsm(dev)->stats.field));	\
}									\
static DEVICE_ATTR_RO(name)

AZIHSM_COUNTER_ATTR(cmds_submitted, submitted);
AZIHSM_COUNTER_ATTR(cmds_completed, completed);
AZIHSM_COUNTER_ATTR(cmds_failed, failed);
AZIHSM_COUNTER_ATTR(cmds_timed_out, timed_out);
AZIHSM_COUNTER_ATTR(resets, resets);
AZIHSM_COUNTER_ATTR(fast_submitted, fast_submitted);
AZIHSM_COUNTER_ATTR(fast_completed, fast_completed);
AZIHSM_COUNTER_ATTR(fast_timed_out, fast_timed_out);
AZIHSM_COUNTER_ATTR(missed_irqs, missed_irqs);

static struct attribute *azihsm_attrs[] = {
	&dev_attr_partition_state.attr,
	&dev_attr_error_state.attr,
	&dev_attr_error_reason.attr,
	&dev_attr_tamper_count.attr,
	&dev_attr_serial.attr,
	&dev_attr_firmware_rev.attr,
	&dev_attr_model.attr,
	&dev_attr_ctrl_state.attr,
	&dev_attr_hsm_queues.attr,
	&dev_attr_aes_queues.attr,
	&dev_attr_cmds_submitted.attr,
	&dev_attr_cmds_completed.attr,
	&dev_attr_cmds_failed.attr,
	&dev_attr_cmds_timed_out.attr,
	&dev_attr_resets.attr,
	&dev_attr_fast_submitted.attr,
	&dev_attr_fast_completed.attr,
	&dev_attr_fast_timed_out.attr,
	&dev_attr_missed_irqs.attr,
	NULL
};

static const struct attribute_group azihsm_group = {
	.attrs = azihsm_attrs,
};

const struct attribute_group *azihsm_groups[] = {
	&azihsm_group,
	NULL
};
