/* SPDX-License-Identifier: MIT */
/*
 * azihsm hardware interface: PCI identity, BAR0 registers, doorbells,
 * admin / HSM / AES queue entry layouts, admin opcodes, features and
 * completion status codes.
 *
 * This header is the single place these facts live. It is included by the
 * QEMU device model, the firmware core, its host tests and the Linux
 * driver. Documentation/device.md describes the same facts in prose.
 *
 * All multi-byte fields are little-endian.
 */
#ifndef AZIHSM_HW_H
#define AZIHSM_HW_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/types.h>
#define AZIHSM_STATIC_ASSERT(e) static_assert(e, #e)
#else
#include <linux/types.h>
#define AZIHSM_STATIC_ASSERT(e) _Static_assert(e, #e)
#endif

#define AZIHSM_PACKED __attribute__((packed))

/* ---- PCI function --------------------------------------------------- */
#define AZIHSM_PCI_VENDOR_ID		0x1414
#define AZIHSM_PCI_DEVICE_ID		0xc003
#define AZIHSM_PCI_REVISION		0x01
#define AZIHSM_BAR_CTRL			0	/* controller registers */
#define AZIHSM_BAR_DB			2	/* doorbells */
#define AZIHSM_BAR_RSVD			4	/* MSI-X table (0x000) and PBA (0x800) */
#define AZIHSM_BAR_SIZE			4096
#define AZIHSM_MSIX_VECTORS		32
#define AZIHSM_MSIX_VEC_ADMIN		0
#define AZIHSM_MSIX_VEC_HSM_FIRST	1
#define AZIHSM_MSIX_VEC_AES_FIRST	16
#define AZIHSM_PAGE_SIZE		4096

/* ---- BAR0: controller registers --------------------------------------- */
#define AZIHSM_REG_CAP		0x00	/* 64-bit, RO */
#define AZIHSM_REG_VS		0x08	/* RO */
#define AZIHSM_REG_CC		0x14	/* RW */
#define AZIHSM_REG_CSTS		0x1c	/* RO */
#define AZIHSM_REG_NSSR		0x20	/* WO, reads 0 */
#define AZIHSM_REG_AQA		0x24	/* RW */
#define AZIHSM_REG_ASQ		0x28	/* 64-bit, RW */
#define AZIHSM_REG_ACQ		0x30	/* 64-bit, RW */

/* CAP */
#define AZIHSM_CAP_MQES_MASK	0xffffull	/* max queue entries, 0-based */
#define AZIHSM_CAP_CQR		(1ull << 16)	/* contiguous queues required */
#define AZIHSM_CAP_TO_SHIFT	24		/* ready timeout, 500 ms units */
#define AZIHSM_CAP_TO_MASK	(0xffull << 24)
#define AZIHSM_CAP_NSSRS	(1ull << 36)	/* subsystem reset supported */
#define AZIHSM_CAP_CSS_SHIFT	37

/* VS */
#define AZIHSM_VS(mjr, mnr, ter) (((mjr) << 16) | ((mnr) << 8) | (ter))

/* CC */
#define AZIHSM_CC_EN		(1u << 0)
#define AZIHSM_CC_CSS_SHIFT	4
#define AZIHSM_CC_MPS_SHIFT	7
#define AZIHSM_CC_AMS_SHIFT	11
#define AZIHSM_CC_SHN_SHIFT	14
#define AZIHSM_CC_SHN_MASK	(3u << 14)
#define AZIHSM_CC_CP_IOSQES_SHIFT 16
#define AZIHSM_CC_CP_IOCQES_SHIFT 20
#define AZIHSM_CC_FP_IOSQES_SHIFT 24
#define AZIHSM_CC_FP_IOCQES_SHIFT 28
#define AZIHSM_CC_ES_MASK	0xfu

/* CSTS */
#define AZIHSM_CSTS_RDY		(1u << 0)
#define AZIHSM_CSTS_CFS		(1u << 1)	/* controller fatal status */
#define AZIHSM_CSTS_SHST_SHIFT	2
#define AZIHSM_CSTS_SHST_MASK	(3u << 2)
#define AZIHSM_CSTS_SHST_DONE	(2u << 2)
#define AZIHSM_CSTS_NSSRO	(1u << 4)	/* subsystem reset occurred */
#define AZIHSM_CSTS_PP		(1u << 5)
/*
 * Vendor bits (azihsm): the module is in its error state (self-test, DRBG
 * health, pairwise test, tamper, unusable stored state; GetDeviceInfo says
 * why), and a tamper event has happened since the device last started.
 * Both hold until a PCI-level reset or restart (hsm-design.md "Self-tests
 * and the error state", "Tamper response").
 */
#define AZIHSM_CSTS_ERR		(1u << 8)
#define AZIHSM_CSTS_TAMPER	(1u << 9)

#define AZIHSM_NSSR_MAGIC	0x4e564d65u	/* "NVMe" */

/* AQA: zero-based admin queue sizes */
#define AZIHSM_AQA_ASQS_MASK	0xfffu
#define AZIHSM_AQA_ACQS_SHIFT	16

/* ---- BAR2: doorbells --------------------------------------------------- */
#define AZIHSM_DB_SQ_TAIL(qid)	((qid) * 8)
#define AZIHSM_DB_CQ_HEAD(qid)	((qid) * 8 + 4)

/* ---- queue ids and entry sizes ----------------------------------------- */
#define AZIHSM_QID_ADMIN	0
#define AZIHSM_QID_HSM_FIRST	1
#define AZIHSM_HSM_QUEUES_MAX	15	/* vectors 1..15 */
#define AZIHSM_QID_AES_FIRST	256
#define AZIHSM_AES_QUEUES_MAX	16	/* vectors 16..31 */
#define AZIHSM_QUEUE_ENTRIES_MAX 1024	/* CAP.MQES + 1 */
#define AZIHSM_ADMIN_ENTRIES_MAX 4096

#define AZIHSM_ADMIN_SQES	6	/* log2(64) */
#define AZIHSM_ADMIN_CQES	4	/* log2(16) */
#define AZIHSM_HSM_SQES		6	/* log2(64) */
#define AZIHSM_HSM_CQES		4	/* log2(16) */
#define AZIHSM_AES_SQES		7	/* log2(128) */
#define AZIHSM_AES_CQES		6	/* log2(64) */

/* The CC value a driver writes once Identify has been checked. */
#define AZIHSM_CC_IO_ENABLE						\
	(AZIHSM_CC_EN |							\
	 (AZIHSM_HSM_SQES << AZIHSM_CC_CP_IOSQES_SHIFT) |		\
	 (AZIHSM_HSM_CQES << AZIHSM_CC_CP_IOCQES_SHIFT) |		\
	 (AZIHSM_AES_SQES << AZIHSM_CC_FP_IOSQES_SHIFT) |		\
	 (AZIHSM_AES_CQES << AZIHSM_CC_FP_IOCQES_SHIFT))

/* ---- completion status (CQE bits 1..11 of the last u16) ---------------- */
#define AZIHSM_CQE_PHASE		0x0001u
#define AZIHSM_CQE_STATUS_SHIFT		1
#define AZIHSM_CQE_STATUS_MASK		0x07ffu

enum azihsm_sc {
	AZIHSM_SC_SUCCESS		= 0x000,
	AZIHSM_SC_INVALID_OPCODE	= 0x001,
	AZIHSM_SC_INVALID_FIELD		= 0x002,
	AZIHSM_SC_DATA_XFER_ERROR	= 0x004,	/* DMA outside RAM, bad PRP/SGL */
	AZIHSM_SC_INTERNAL		= 0x006,
	AZIHSM_SC_ABORTED_SQ_DELETION	= 0x008,
	AZIHSM_SC_SGL_SEGMENT_INVALID	= 0x00d,	/* segment list bad: size, alignment, chain */
	AZIHSM_SC_SGL_TOO_MANY		= 0x00e,	/* more segments/extents than allowed */
	AZIHSM_SC_SGL_LENGTH_INVALID	= 0x00f,	/* zero data length, or sum != command length */
	AZIHSM_SC_SGL_TYPE_INVALID	= 0x011,	/* descriptor type not data/segment/last */
	AZIHSM_SC_INVALID_CQ		= 0x101,
	AZIHSM_SC_INVALID_QID		= 0x102,
	AZIHSM_SC_INVALID_QSIZE		= 0x103,
	AZIHSM_SC_AER_LIMIT		= 0x105,	/* too many outstanding async event requests */
	AZIHSM_SC_INVALID_VECTOR	= 0x108,
	AZIHSM_SC_INVALID_QUEUE_DELETION = 0x10c,
	AZIHSM_SC_FEATURE_NOT_CHANGEABLE = 0x10e,
	AZIHSM_SC_HSM_BAD_REQUEST	= 0x1c0,	/* MBOR header unreadable */
	AZIHSM_SC_HSM_BUFFER_TOO_SMALL	= 0x1c1,	/* dst_len too small */
	AZIHSM_SC_HSM_DEVICE_ERROR	= 0x1c2,	/* firmware in error state */
	AZIHSM_SC_AES_TAG_MISMATCH	= 0x1c3,	/* GCM decrypt: tag not authentic */
	AZIHSM_SC_AES_KEY_INVALID	= 0x1c4,	/* AES key unknown, unusable or not ours */
};

/* ---- admin queue -------------------------------------------------------- */
enum azihsm_admin_opc {
	AZIHSM_ADMIN_DELETE_SQ		= 0x00,
	AZIHSM_ADMIN_CREATE_SQ		= 0x01,
	AZIHSM_ADMIN_DELETE_CQ		= 0x04,
	AZIHSM_ADMIN_CREATE_CQ		= 0x05,
	AZIHSM_ADMIN_IDENTIFY		= 0x06,
	AZIHSM_ADMIN_ABORT		= 0x08,
	AZIHSM_ADMIN_SET_FEATURES	= 0x09,
	AZIHSM_ADMIN_GET_FEATURES	= 0x0a,
	/*
	 * azihsm vendor: Asynchronous Event Request. The device keeps the
	 * command (at most AZIHSM_AER_MAX outstanding; more complete with
	 * AZIHSM_SC_AER_LIMIT) and completes it when an event happens: DW0 =
	 * type (bits 7:0) | reason (bits 15:8, enum azihsm_error_reason) |
	 * tamper count (bits 31:16). A controller reset drops outstanding ones.
	 */
	AZIHSM_ADMIN_ASYNC_EVENT	= 0xc8,
	AZIHSM_ADMIN_SET_RES_COUNT	= 0xc3,	/* PF only: refused here */
	AZIHSM_ADMIN_GET_RES_COUNT	= 0xc4,	/* PF only: refused here */
};

/* Async Event Request: at most this many outstanding; DW0 of a completion. */
#define AZIHSM_AER_MAX			4
#define AZIHSM_AER_TYPE_MASK		0xffu
#define AZIHSM_AER_REASON_SHIFT		8
#define AZIHSM_AER_REASON_MASK		0xffu
#define AZIHSM_AER_COUNT_SHIFT		16
enum azihsm_aer_type {
	AZIHSM_AER_ERROR_STATE	= 1,	/* the module entered its error state */
	AZIHSM_AER_TAMPER	= 2,	/* a tamper event: keys zeroized (error state too) */
};

#define AZIHSM_IDENTIFY_CNS_CTRL	0x01

enum azihsm_feature {
	AZIHSM_FEAT_HSM_QUEUES		= 0x07,
	AZIHSM_FEAT_AES_QUEUES		= 0xc1,
	AZIHSM_FEAT_AES_GCM_WORKAROUND	= 0xc2,
};

/* Create SQ: DW10 = qid | (entries-1) << 16; DW11 = PC | prio << 1 | cqid << 16 */
/* Create CQ: DW10 = qid | (entries-1) << 16; DW11 = PC | IEN << 1 | vector << 16 */
#define AZIHSM_CREATE_PC		(1u << 0)
#define AZIHSM_CREATE_CQ_IEN		(1u << 1)

struct azihsm_admin_sqe {
	__u8	opc;		/* 0 */
	__u8	flags;		/* 1: PSDT bits 7:6, must be 0 (PRP) */
	__le16	cid;		/* 2 */
	__le32	nsid;		/* 4: unused */
	__le64	rsvd8;		/* 8 */
	__le64	mptr;		/* 16: unused */
	__le64	prp1;		/* 24 */
	__le64	prp2;		/* 32 */
	__le32	cdw10;		/* 40 */
	__le32	cdw11;		/* 44 */
	__le32	cdw12;		/* 48 */
	__le32	cdw13;		/* 52 */
	__le32	cdw14;		/* 56 */
	__le32	cdw15;		/* 60 */
} AZIHSM_PACKED;

struct azihsm_admin_cqe {
	__le32	result;		/* 0: DW0 */
	__le32	rsvd4;		/* 4 */
	__le16	sq_head;	/* 8 */
	__le16	sq_id;		/* 10 */
	__le16	cid;		/* 12 */
	__le16	status;		/* 14: bit 0 phase, bits 1..11 status */
} AZIHSM_PACKED;

/* Identify controller data, CNS 1 (one 4 KiB page, rest reserved). */
struct azihsm_identify {
	__le16	vid;		/* 0 */
	__le16	ssvid;		/* 2 */
	char	sn[32];		/* 4: ASCII, space padded */
	char	fr[32];		/* 36: ASCII firmware revision, space padded */
	__u8	rsvd68[4];	/* 68 */
	__u8	cp_mdts;	/* 72: log2 of max transfer, in pages */
	__u8	rsvd73;
	__le16	ctrl_id;	/* 74 */
	__u8	acl;		/* 76: abort command limit, 0-based */
	__u8	cp_sqes;	/* 77: low nibble required, high nibble max */
	__u8	cp_cqes;	/* 78 */
	__u8	rsvd79;
	__le16	cp_maxcmd;	/* 80 */
	__u8	fp_mdts;	/* 82 */
	__u8	fp_sqes;	/* 83 */
	__u8	fp_cqes;	/* 84 */
	__u8	rsvd85;
	__le16	fp_maxcmd;	/* 86 */
	__le16	oacs;		/* 88 */
	__u8	rsvd90[2];
	__le32	sgls;		/* 92 */
	__le32	ver;		/* 96 */
	__u8	ctrl_type;	/* 100: 1 = HSM controller */
	__u8	frmw;		/* 101 */
	__u8	rsvd102[26];
	/* azihsm extension (offset 128): limits the driver may read */
	__le16	hsm_queues_max;	/* 128 */
	__le16	aes_queues_max;	/* 130 */
	__le16	queue_entries_max; /* 132 */
	__le16	hsm_buf_max;	/* 134: max src/dst bytes of one HSM command */
	char	mn[32];		/* 136: model, ASCII, space padded */
} AZIHSM_PACKED;

#define AZIHSM_IDENTIFY_VER		0x00010400u
#define AZIHSM_IDENTIFY_CTRL_TYPE_HSM	1
#define AZIHSM_IDENTIFY_MDTS		13

/* ---- HSM (control-path) queues ------------------------------------------ */
#define AZIHSM_HSM_BUF_MAX		8192	/* PRP1 + PRP2, never a list */

/* SQE DW0 */
#define AZIHSM_HSQE_OPC_MASK		0x3ffu
#define AZIHSM_HSQE_OPC_NORMAL		0
#define AZIHSM_HSQE_OPC_FLUSH_SESSION	1	/* file closed: drop the session */
#define AZIHSM_HSQE_SET_SHIFT		10
#define AZIHSM_HSQE_PSDT_SHIFT		14
#define AZIHSM_HSQE_CID_SHIFT		16

/* SQE/CQE session flags */
#define AZIHSM_SESS_OP_MASK		0x3u
#define AZIHSM_SESS_OP_NONE		0
#define AZIHSM_SESS_OP_OPEN		1
#define AZIHSM_SESS_OP_CLOSE		2
#define AZIHSM_SESS_OP_IN		3
#define AZIHSM_SESS_IN_SESSION		(1u << 2)
#define AZIHSM_SESS_SHORT_APP_ID_VALID	(1u << 3)	/* CQE only */
#define AZIHSM_SESS_SAFE_TO_CLOSE	(1u << 4)	/* CQE only */

struct azihsm_hsm_sqe {
	__le32	dw0;		/* 0: opc 0-9, set 10-13, psdt 14-15, cid 16-31 */
	__le32	src_len;	/* 4 */
	__le64	src_prp1;	/* 8 */
	__le64	src_prp2;	/* 16 */
	__le32	dst_len;	/* 24 */
	__le64	dst_prp1;	/* 28: unaligned */
	__le64	dst_prp2;	/* 36: unaligned */
	__u8	flags;		/* 44: AZIHSM_SESS_* */
	__u8	rsvd45[3];
	__le16	session_id;	/* 48 */
	/*
	 * 50: azihsm extension (published: reserved): the short_app_id the
	 * device gave the session named in-session (header field 3) or
	 * flushed; Documentation/device.md, section 6.
	 */
	__le16	short_app_id;
	__u8	rsvd52[12];
} AZIHSM_PACKED;

struct azihsm_hsm_cqe {
	__le16	byte_count;	/* 0: bytes written to dst */
	__u8	flags;		/* 2: AZIHSM_SESS_* */
	__u8	rsvd3;
	__le16	session_id;	/* 4 */
	/*
	 * 6: short_app_id, valid with AZIHSM_SESS_SHORT_APP_ID_VALID. azihsm
	 * extension: a little-endian u16 over the published u8 @6 and rsvd7.
	 */
	__le16	short_app_id;
	__le16	sq_head;	/* 8 */
	__le16	sq_id;		/* 10 */
	__le16	cid;		/* 12 */
	__le16	status;		/* 14: bit 0 phase, bits 1..11 status */
} AZIHSM_PACKED;

/* ---- AES (fast-path) queues --------------------------------------------- */
#define AZIHSM_AES_ATTR_DECRYPT		(1u << 0)
#define AZIHSM_AES_ATTR_PSDT_SGL	(1u << 2)
#define AZIHSM_AES_ATTR_CMD_TYPE_SHIFT	3
#define AZIHSM_AES_ATTR_CMD_TYPE_MASK	(7u << 3)
#define AZIHSM_AES_ATTR_CMD_TYPE_AES	5
#define AZIHSM_AES_ATTR_CIPHER_SHIFT	8
#define AZIHSM_AES_ATTR_CIPHER_MASK	(3u << 8)	/* 3 is refused */
#define AZIHSM_AES_CIPHER_GCM		0
#define AZIHSM_AES_CIPHER_XTS		1
#define AZIHSM_AES_CIPHER_CBC		2	/* azihsm extension */
#define AZIHSM_AES_ATTR_DUL_SHIFT	14	/* XTS data unit: 0 512, 1 4096, 2 8192 */
#define AZIHSM_AES_ATTR_DUL_MASK	(3u << 14)
#define AZIHSM_AES_DUL_512		0
#define AZIHSM_AES_DUL_4096		1
#define AZIHSM_AES_DUL_8192		2
/* Bits 1, 6, 7 and 10..13 are reserved: must be zero. */
#define AZIHSM_AES_ATTR_KNOWN						\
	(AZIHSM_AES_ATTR_DECRYPT | AZIHSM_AES_ATTR_PSDT_SGL |		\
	 AZIHSM_AES_ATTR_CMD_TYPE_MASK | AZIHSM_AES_ATTR_CIPHER_MASK |	\
	 AZIHSM_AES_ATTR_DUL_MASK)
#define AZIHSM_AES_GCM_IV_LEN		12
#define AZIHSM_AES_GCM_TAG_LEN		16
#define AZIHSM_AES_XTS_TWEAK_LEN	16
#define AZIHSM_AES_CBC_IV_LEN		16
#define AZIHSM_AES_FRAME_TYPE		1

#define AZIHSM_SGL_TYPE_DATA		0
#define AZIHSM_SGL_TYPE_SEGMENT		2
#define AZIHSM_SGL_TYPE_LAST_SEGMENT	3
#define AZIHSM_SGL_DESCS_PER_PAGE	256	/* 255 data + 1 chain */

struct azihsm_sgl_desc {
	__le64	addr;		/* 0 */
	__le32	len;		/* 8 */
	__u8	rsvd12[3];
	__u8	type;		/* 15: type in the high nibble */
} AZIHSM_PACKED;

struct azihsm_aes_sqe {
	__le32	rsvd0;		/* 0 */
	__le16	attr;		/* 4 */
	__le16	cmd_id;		/* 6 */
	__le16	session_id;	/* 8 */
	__le16	short_app_id;	/* 10 */
	__u8	rsvd12[12];
	__le32	src_len;	/* 24 */
	struct azihsm_sgl_desc src; /* 28 */
	__le32	dst_len;	/* 44 */
	struct azihsm_sgl_desc dst; /* 48 */
	__le32	frame_type;	/* 64 */
	union {
		struct {
			__le32	key_id;		/* 68 */
			__le32	aad_len;	/* 72 */
			__u8	tag[16];	/* 76 */
			__u8	iv[12];		/* 92 */
			__le32	aad_len_aligned; /* 104 */
		} AZIHSM_PACKED gcm;
		struct {
			__le32	key_id1;	/* 68 */
			__le32	key_id2;	/* 72 */
			__u8	tweak[16];	/* 76 */
		} AZIHSM_PACKED xts;
		/* azihsm extension: cipher 2 */
		struct {
			__le32	key_id;		/* 68 */
			__le32	rsvd72;		/* 72: must be 0 */
			__u8	iv[16];		/* 76 */
		} AZIHSM_PACKED cbc;
	};
	__u8	rsvd108[20];
} AZIHSM_PACKED;

struct azihsm_aes_cqe {
	__le16	attr;		/* 0 */
	__le16	cmd_id;		/* 2 */
	__u8	tag[16];	/* 4 */
	__u8	iv[12];		/* 20 */
	__u8	cbc_iv[16];	/* 32: CBC output IV (azihsm extension) */
	__le32	fips_approved;	/* 48 */
	__le32	len;		/* 52 */
	__le16	sq_head;	/* 56 */
	__le16	sq_id;		/* 58 */
	/*
	 * 60: with AES_KEY_INVALID, why (azihsm extension): the HSM status
	 * (msg.h) NO_SESSION, MUST_CHANGE_PIN, WRONG_ROLE, KEY_NOT_FOUND,
	 * KEY_USAGE or KEY_TYPE; otherwise 0.
	 */
	__le16	err;
	__le16	status;		/* 62: bit 0 phase, bits 1..11 status */
} AZIHSM_PACKED;

AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_admin_sqe) == 64);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_admin_cqe) == 16);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_hsm_sqe) == 64);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_hsm_cqe) == 16);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_aes_sqe) == 128);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_aes_cqe) == 64);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_sgl_desc) == 16);
AZIHSM_STATIC_ASSERT(sizeof(struct azihsm_identify) == 168);

#endif /* AZIHSM_HW_H */
