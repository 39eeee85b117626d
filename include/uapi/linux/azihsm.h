/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * azihsm character device ABI (/dev/azihsmN).
 *
 * The ioctl numbers and the byte layouts follow the published Azure
 * Integrated HSM driver, so software written for it can talk to ours:
 * magic 'B', 0x3 = generic HSM command (session aware), 0x4 = device info.
 * Buffer pointers are carried as __u64 (same offsets as the published
 * pointer fields on 64-bit). Documentation/driver.md describes the ABI.
 */
#ifndef _UAPI_LINUX_AZIHSM_H
#define _UAPI_LINUX_AZIHSM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define AZIHSM_IOCTL_MAGIC	'B'

/* Every ioctl argument starts with this header. */
struct azihsm_ioctl_hdr {
	__u32	size;		/* sizeof the whole argument */
	__u32	app_cmd_id;	/* opaque, echoed */
	__u32	timeout_ms;	/* 0 = driver default */
	__u32	flags;		/* must be 0 */
};

/* Session flags of azihsm_cmd_in.session_flags (the SQE's flags byte). */
#define AZIHSM_SESSION_OP_MASK		0x03
#define AZIHSM_SESSION_OP_NONE		0x00
#define AZIHSM_SESSION_OP_OPEN		0x01
#define AZIHSM_SESSION_OP_CLOSE		0x02
#define AZIHSM_SESSION_OP_IN		0x03
#define AZIHSM_SESSION_ID_VALID		0x04

#define AZIHSM_CMD_BUF_MAX	8192	/* src_len and dst_len limit */

struct azihsm_cmd_in {
	__u64	ctxt;		/* 0: opaque, echoed in out.ctxt */
	__u16	opc;		/* 8: SQE opcode, must be 0 */
	__u16	cmdset;		/* 10: must be 0 (generic) */
	__u8	psdt;		/* 12: must be 0 (PRP) */
	__u8	rsvd13[3];
	__u32	src_len;	/* 16: request bytes, 1..AZIHSM_CMD_BUF_MAX */
	__u32	rsvd20;
	__u64	src_buf;	/* 24: user pointer */
	__u32	dst_len;	/* 32: response buffer, 1..AZIHSM_CMD_BUF_MAX */
	__u32	rsvd36;
	__u64	dst_buf;	/* 40: user pointer */
	__u8	session_flags;	/* 48: AZIHSM_SESSION_* */
	__u8	rsvd49;
	__u16	session_id;	/* 50 */
	__u8	rsvd52[20];	/* 52: zero */
};

struct azihsm_cmd_out {
	__u64	ctxt;		/* 0 */
	__u32	status;		/* 8: device completion status, 0 = success */
	__u32	byte_count;	/* 12: bytes written to dst_buf */
	__u32	ext_status;	/* 16: AZIHSM_EXT_* from the driver */
	__u32	rsvd20;
};

/* Driver-side outcome codes in azihsm_cmd_out.ext_status. */
#define AZIHSM_EXT_OK		0
#define AZIHSM_EXT_TIMEOUT	1	/* command timed out, controller reset */
#define AZIHSM_EXT_RESET	2	/* failed by a controller reset */

struct azihsm_cmd {
	struct azihsm_ioctl_hdr	hdr;
	struct azihsm_cmd_in	in;
	struct azihsm_cmd_out	out;
};

#define AZIHSM_DEV_INFO_PCI_LEN		33
#define AZIHSM_DEV_INFO_SN_LEN		33
#define AZIHSM_DEV_INFO_MN_LEN		5
#define AZIHSM_DEV_INFO_FR_LEN		33
#define AZIHSM_DEV_INFO_DR_LEN		16
#define AZIHSM_DEV_INFO_ENTROPY_LEN	32

struct azihsm_dev_info {
	__u32	argsz;		/* 0: caller sets sizeof(struct azihsm_dev_info) */
	__u16	id;		/* 4: controller id */
	char	pci_info[AZIHSM_DEV_INFO_PCI_LEN];	/* 6: "0000:00:03.0" */
	char	serial_num[AZIHSM_DEV_INFO_SN_LEN];	/* 39 */
	char	model_num[AZIHSM_DEV_INFO_MN_LEN];	/* 72 */
	char	firmware_rev[AZIHSM_DEV_INFO_FR_LEN];	/* 77 */
	char	driver_rev[AZIHSM_DEV_INFO_DR_LEN];	/* 110 */
	char	rsvd[17];				/* 126 */
	__u8	device_entropy[AZIHSM_DEV_INFO_ENTROPY_LEN]; /* 143: fresh DRBG bytes */
};

#define AZIHSM_IOCTL_CMD	_IOWR(AZIHSM_IOCTL_MAGIC, 0x3, struct azihsm_cmd)
#define AZIHSM_IOCTL_DEV_INFO	_IOWR(AZIHSM_IOCTL_MAGIC, 0x4, struct azihsm_dev_info)

#endif /* _UAPI_LINUX_AZIHSM_H */
