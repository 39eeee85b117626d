// SPDX-License-Identifier: MIT
/*
 * Firmware core, driven through its registers, doorbells and queues by a
 * fake guest: controller state machine, admin commands, HSM commands and
 * every class of bad guest input we know of.
 */
#include <endian.h>
#include <string.h>

#include "azihsm/msg.h"
#include "fake_guest.h"
#include "hsm_ctrl_int.h"
#include "tap.h"

#define SERIAL	"TESTSERIAL-0001"
#define FW_REV	"9.8.7-test"

static const struct hsm_ctrl_config cfg = {
	.serial = SERIAL, .fw_rev = FW_REV, .model = "AZIHSM-TEST", .ctrl_id = 3,
	.hsm_queues_max = 4, .aes_queues_max = 2,
};

static uint32_t req_build(uint8_t *buf, size_t cap, uint32_t opcode, int rnd_len)
{
	struct azihsm_req_hdr h = { .opcode = opcode };
	struct mbor_enc e;
	size_t len;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_request(&e, &h);
	if (rnd_len >= 0) {
		mbor_enc_map(&e, 1);
		mbor_enc_key(&e, AZIHSM_RANDOM_LEN);
		mbor_enc_u16(&e, (uint16_t)rnd_len);
	} else {
		mbor_enc_map(&e, 0);
	}
	return mbor_enc_finish(&e, &len) ? 0 : (uint32_t)len;
}

/* Parse a response header; returns its status or -1; *d left at data. */
static long rsp_status(const uint8_t *rsp, uint32_t len, struct mbor_dec *d, bool *fips)
{
	struct azihsm_rsp_hdr h;
	bool has_data;

	mbor_dec_init(d, rsp, len);
	if (azihsm_msg_parse_response(d, &h, &has_data))
		return -1;
	if (fips)
		*fips = h.fips_approved;
	if (h.status == 0 && !has_data)
		return -1;
	return h.status;
}

static void test_registers(struct fake_guest *g)
{
	struct hsm_ctrl *c = g->ctrl;
	uint64_t cap = hsm_ctrl_reg_read(c, AZIHSM_REG_CAP, 8);

	tap_eq(cap & AZIHSM_CAP_MQES_MASK, AZIHSM_QUEUE_ENTRIES_MAX - 1, "CAP.MQES");
	tap_ok(cap & AZIHSM_CAP_CQR, "CAP.CQR: contiguous queues");
	tap_ok(((cap & AZIHSM_CAP_TO_MASK) >> AZIHSM_CAP_TO_SHIFT) > 0, "CAP.TO nonzero");
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_CAP + 4, 4), cap >> 32, "CAP high half by 4-byte read");
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_VS, 4), 0x00010400, "VS 1.4.0");
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_CSTS, 4), 0, "CSTS 0 after reset");
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_NSSR, 4), 0, "NSSR reads 0");
	hsm_ctrl_reg_write(c, AZIHSM_REG_ASQ, 0x12345000, 4);
	hsm_ctrl_reg_write(c, AZIHSM_REG_ASQ + 4, 0x9, 4);
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_ASQ, 8), 0x912345000ull, "ASQ written in halves");

	unsigned int before = fg_guest_errors(g);

	hsm_ctrl_reg_write(c, AZIHSM_REG_VS, 1, 4);
	hsm_ctrl_reg_write(c, 0x15, 1, 4);
	hsm_ctrl_reg_write(c, AZIHSM_REG_CC, 1, 2);
	tap_eq(hsm_ctrl_reg_read(c, 0x3, 4), 0, "misaligned read returns 0");
	tap_ok(fg_guest_errors(g) >= before + 4, "bad register accesses logged as guest errors");
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_CC, 4), 0, "bad CC writes ignored");

	/* Enabling with no admin queue is a fatal status, cleared by disable. */
	hsm_ctrl_reg_write(c, AZIHSM_REG_AQA, 0, 4);
	hsm_ctrl_reg_write(c, AZIHSM_REG_CC, AZIHSM_CC_EN, 4);
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_CSTS, 4) & 3, AZIHSM_CSTS_CFS,
	       "enable with a 1-entry admin queue: CFS, not RDY");
	fg_disable(g);
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_CSTS, 4), 0, "disable clears CFS");

	tap_eq(fg_enable(g, 16) & 3, AZIHSM_CSTS_RDY, "enable: RDY");
	hsm_ctrl_reg_write(c, AZIHSM_REG_AQA, 0x00030003, 4);
	tap_eq(hsm_ctrl_reg_read(c, AZIHSM_REG_AQA, 4), 0x000f000f, "AQA locked while enabled");
}

static void test_identify(struct fake_guest *g)
{
	struct azihsm_identify id;

	tap_eq(fg_admin(g, AZIHSM_ADMIN_IDENTIFY, 1, 0, FG_IDENT, 0, NULL), 0, "identify CNS 1");
	fg_read(g, FG_IDENT, &id, sizeof(id));
	tap_eq(le16toh(id.vid), 0x1414, "identify vid");
	tap_ok(!memcmp(id.sn, SERIAL, strlen(SERIAL)) && id.sn[strlen(SERIAL)] == ' ' &&
	       id.sn[31] == ' ', "identify sn is the serial property, space padded");
	tap_ok(!memcmp(id.fr, FW_REV, strlen(FW_REV)), "identify fr is the fw-rev property");
	tap_ok(id.cp_sqes == 0x66 && id.cp_cqes == 0x44 && id.fp_sqes == 0x77 &&
	       id.fp_cqes == 0x66, "identify entry-size nibbles 6/4/7/6");
	tap_eq(le32toh(id.ver), 0x00010400, "identify ver");
	tap_eq(id.ctrl_type, 1, "identify ctrl_type");
	tap_eq(id.cp_mdts, 13, "identify mdts");
	tap_eq(le16toh(id.ctrl_id), 3, "identify ctrl_id");
	tap_eq(le16toh(id.hsm_queues_max), 4, "identify: HSM queue limit");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_IDENTIFY, 0, 0, FG_IDENT, 0, NULL),
	       AZIHSM_SC_INVALID_FIELD, "identify CNS 0 refused");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_IDENTIFY, 1, 0, 0x10, 0x1000, NULL),
	       AZIHSM_SC_DATA_XFER_ERROR, "identify into non-RAM: data transfer error");
	tap_eq(fg_admin(g, 0x7f, 0, 0, 0, 0, NULL), AZIHSM_SC_INVALID_OPCODE,
	       "unknown admin opcode");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_SET_RES_COUNT, 0, 0, 0, 0, NULL),
	       AZIHSM_SC_INVALID_OPCODE, "PF-only resource count refused");
}

static void test_queues(struct fake_guest *g)
{
	uint32_t res = 0;
	uint32_t sq_dw10 = 1 | (63u << 16), cq_dw10 = 1 | (63u << 16);
	uint32_t cq_dw11 = AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (1u << 16);

	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, cq_dw11, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_QID, "create CQ before Set Features refused");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 99 | (99u << 16), 0,
			0, &res), 0, "set features: HSM queue count");
	tap_eq(res, 3 | (3u << 16), "granted 4 HSM queues (device limit)");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_GET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, &res), 0,
	       "get features: HSM queue count");
	tap_eq(res, 3 | (3u << 16), "get features returns the grant");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, 0x55, 0, 0, 0, NULL),
	       AZIHSM_SC_INVALID_FIELD, "unknown feature refused");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, cq_dw11, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_FIELD, "create CQ before CC entry sizes refused");
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4) & 1, 1, "CC I/O sizes keep RDY");

	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 9, cq_dw11, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_QID, "create CQ 9 beyond the grant");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 1, cq_dw11, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_QSIZE, "create CQ of 1 entry");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 1 | (4096u << 16), cq_dw11, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_QSIZE, "create CQ over MQES");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, cq_dw11, FG_CQ1 + 8, 0, NULL),
	       AZIHSM_SC_INVALID_FIELD, "create CQ unaligned");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, cq_dw11 & ~1u, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_FIELD, "create CQ not contiguous");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, AZIHSM_CREATE_PC | (40u << 16),
			FG_CQ1, 0, NULL), AZIHSM_SC_INVALID_VECTOR, "create CQ vector 40");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, cq_dw11, FG_CQ1, 0, NULL), 0,
	       "create CQ 1");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, cq_dw10, cq_dw11, FG_CQ1, 0, NULL),
	       AZIHSM_SC_INVALID_QID, "create CQ 1 twice");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, sq_dw10, AZIHSM_CREATE_PC | (2u << 16), FG_SQ1,
			0, NULL), AZIHSM_SC_INVALID_CQ, "create SQ on missing CQ 2");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, sq_dw10, AZIHSM_CREATE_PC | (0u << 16), FG_SQ1,
			0, NULL), AZIHSM_SC_INVALID_CQ, "create SQ on the admin CQ");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, sq_dw10, AZIHSM_CREATE_PC | (1u << 16), FG_SQ1,
			0, NULL), 0, "create SQ 1");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, NULL),
	       AZIHSM_SC_FEATURE_NOT_CHANGEABLE, "queue count locked while queues exist");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_DELETE_CQ, 1, 0, 0, 0, NULL),
	       AZIHSM_SC_INVALID_QUEUE_DELETION, "delete CQ in use refused");
	fg_queue_setup(&g->io, 1, FG_SQ1, FG_CQ1, 64, 64, 64, 16);
}

static void test_hsm_commands(struct fake_guest *g)
{
	uint8_t req[64], rsp[8192], a[64], b[64];
	struct azihsm_api_rev rmin, rmax;
	const uint8_t *p;
	struct mbor_dec d;
	struct mbor_map m;
	uint32_t len, rlen;
	size_t plen;
	uint8_t id;
	bool fips;
	int i;

	len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	tap_eq(fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen), 0, "GetApiRev completes");
	tap_eq(rsp_status(rsp, rlen, &d, &fips), 0, "GetApiRev status success");
	tap_ok(!mbor_dec_map(&d, &m) && mbor_dec_next(&d, &m, &id) == 1 && id == 1 &&
	       !azihsm_msg_dec_rev(&d, &rmin) && mbor_dec_next(&d, &m, &id) == 1 && id == 2 &&
	       !azihsm_msg_dec_rev(&d, &rmax) && !mbor_dec_finish(&d),
	       "GetApiRev data decodes exactly");
	tap_ok(rmin.major == 1 && rmin.minor == 0 && rmax.major == 1 && rmax.minor == 0,
	       "api revisions 1.0..1.0");
	tap_ok(!fips, "GetApiRev not flagged FIPS-approved");

	len = req_build(req, sizeof(req), AZIHSM_OP_GET_DEVICE_INFO, -1);
	tap_eq(fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen), 0, "GetDeviceInfo completes");
	tap_eq(rsp_status(rsp, rlen, &d, NULL), 0, "GetDeviceInfo success");
	{
		uint32_t kind = 0, tables = 0, persist = 99;
		bool fipsmode = true, serial_ok = false, fw_ok = false, err_state = true;

		mbor_dec_map(&d, &m);
		while (mbor_dec_next(&d, &m, &id) == 1) {
			if (id == AZIHSM_DEVINFO_KIND)
				mbor_dec_u32(&d, &kind);
			else if (id == AZIHSM_DEVINFO_TABLES)
				mbor_dec_u32(&d, &tables);
			else if (id == AZIHSM_DEVINFO_FIPS)
				mbor_dec_bool(&d, &fipsmode);
			else if (id == AZIHSM_DEVINFO_SERIAL && !mbor_dec_bytes(&d, &p, &plen))
				serial_ok = plen == strlen(SERIAL) && !memcmp(p, SERIAL, plen);
			else if (id == AZIHSM_DEVINFO_FW_REV && !mbor_dec_bytes(&d, &p, &plen))
				fw_ok = plen == strlen(FW_REV) && !memcmp(p, FW_REV, plen);
			else if (id == AZIHSM_DEVINFO_PERSIST)
				mbor_dec_u32(&d, &persist);
			else if (id == AZIHSM_DEVINFO_ERROR_STATE)
				mbor_dec_bool(&d, &err_state);
			else
				mbor_dec_skip(&d);
		}
		tap_ok(persist == AZIHSM_PERSIST_VOLATILE && !err_state,
		       "device info: volatile partition (no state file), not in error state");
		tap_ok(kind == AZIHSM_DEVICE_KIND_VIRTUAL && tables == 1 && !fipsmode,
		       "device info: virtual, 1 table, not FIPS mode");
		tap_ok(serial_ok && fw_ok, "device info carries serial and fw-rev");
		tap_eq(mbor_dec_finish(&d), 0, "device info decodes exactly");
	}

	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 48);
	tap_eq(fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen), 0, "GetRandom completes");
	tap_eq(rsp_status(rsp, rlen, &d, &fips), 0, "GetRandom success");
	tap_ok(fips, "GetRandom flagged FIPS-approved (CTR-DRBG)");
	tap_ok(!mbor_dec_map(&d, &m) && mbor_dec_next(&d, &m, &id) == 1 &&
	       !mbor_dec_bytes(&d, &p, &plen) && plen == 48, "GetRandom returns 48 bytes");
	memcpy(a, p, 48);
	fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen);
	rsp_status(rsp, rlen, &d, NULL);
	mbor_dec_map(&d, &m);
	mbor_dec_next(&d, &m, &id);
	mbor_dec_bytes(&d, &p, &plen);
	memcpy(b, p, 48);
	tap_ok(memcmp(a, b, 48) != 0, "two GetRandom answers differ");

	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 4096);
	tap_eq(fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen), 0, "GetRandom 4096 completes");
	tap_ok(rsp_status(rsp, rlen, &d, NULL) == 0 && rlen > 4096,
	       "4096 random bytes span two response pages");
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 4096);
	fg_hsm(g, req, len, 0, rsp, 1000, &rlen);
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_RSP_TOO_LARGE,
	       "response over dst_len: RSP_TOO_LARGE");
	tap_eq(fg_hsm(g, req, len, 0, rsp, 4, &rlen), AZIHSM_SC_HSM_BUFFER_TOO_SMALL,
	       "dst_len too small for any response: completion error");

	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 0);
	fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen);
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_INVALID_ARG, "GetRandom 0 bytes");
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 4097);
	fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen);
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_INVALID_ARG, "GetRandom 4097 bytes");

	len = req_build(req, sizeof(req), 999, -1);
	fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen);
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_UNKNOWN_OPCODE, "unknown opcode");

	memcpy(req, "\xde\xad\xbe\xef\x00\x11", 6);
	tap_eq(fg_hsm(g, req, 6, 0, rsp, sizeof(rsp), &rlen), 0, "garbage request completes");
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_MALFORMED, "garbage: MALFORMED");

	len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	req[len] = 0;
	fg_hsm(g, req, len + 1, 0, rsp, sizeof(rsp), &rlen);
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_MALFORMED, "trailing byte: MALFORMED");
	fg_hsm(g, req, len - 1, 0, rsp, sizeof(rsp), &rlen);
	tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_MALFORMED, "truncated: MALFORMED");

	{
		struct azihsm_req_hdr h = { .has_rev = true, .rev = { 2, 0 },
					    .opcode = AZIHSM_OP_GET_API_REV };
		struct mbor_enc e;
		size_t l;

		mbor_enc_init(&e, req, sizeof(req));
		azihsm_msg_begin_request(&e, &h);
		mbor_enc_map(&e, 0);
		mbor_enc_finish(&e, &l);
		fg_hsm(g, req, (uint32_t)l, 0, rsp, sizeof(rsp), &rlen);
		tap_eq(rsp_status(rsp, rlen, &d, NULL), AZIHSM_STATUS_UNSUPPORTED_REV,
		       "api rev 2.0 refused");
	}

	/* Request straddling a page: PRP1 near the end of a page, PRP2 next. */
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 16);
	tap_eq(fg_hsm(g, req, len, 4096 - 8, rsp, sizeof(rsp), &rlen), 0,
	       "request split over PRP1/PRP2");
	tap_eq(rsp_status(rsp, rlen, &d, NULL), 0, "split request decodes");

	tap_eq(fg_hsm(g, NULL, 0, 0, rsp, sizeof(rsp), &rlen), AZIHSM_SC_INVALID_FIELD,
	       "src_len 0 refused");
	tap_eq(fg_hsm(g, NULL, 8193, 0, rsp, sizeof(rsp), &rlen), AZIHSM_SC_INVALID_FIELD,
	       "src_len 8193 refused");
	tap_eq(fg_hsm(g, NULL, 8192, 16, rsp, sizeof(rsp), &rlen), AZIHSM_SC_INVALID_FIELD,
	       "8192 bytes from an unaligned PRP1 would need a PRP list: refused");
	tap_eq(fg_hsm(g, req, len, 2, rsp, sizeof(rsp), &rlen), AZIHSM_SC_INVALID_FIELD,
	       "PRP1 not dword aligned refused");

	/* A run long enough to wrap the 64-entry queue twice. */
	for (i = 0; i < 150; i++) {
		len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
		if (fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen) ||
		    rsp_status(rsp, rlen, &d, NULL))
			break;
	}
	tap_eq(i, 150, "150 commands through a 64-entry queue: phase and sqhd right");
	tap_ok(g->irqs[1] >= 150, "each completion raised the CQ's vector");
}

static void test_bad_dma(struct fake_guest *g)
{
	struct azihsm_hsm_sqe sqe = { 0 };
	struct azihsm_hsm_cqe cqe;
	uint8_t req[64];
	uint32_t len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);

	sqe.src_len = htole32(len);
	sqe.src_prp1 = htole64(0xfee00000ull);	/* the APIC, not RAM */
	sqe.dst_len = htole32(256);
	sqe.dst_prp1 = htole64(FG_DST);
	fg_push(g, &g->io, &sqe);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 5000, true) &&
	       (le16toh(cqe.status) >> 1) == AZIHSM_SC_DATA_XFER_ERROR,
	       "request buffer outside RAM: data transfer error");
	fg_write(g, FG_SRC, req, len);
	sqe.src_prp1 = htole64(FG_SRC);
	sqe.dst_prp1 = htole64(FG_RAM_BASE + FG_RAM_SIZE - 16);	/* runs off RAM's end */
	sqe.dst_prp2 = htole64(FG_RAM_BASE + FG_RAM_SIZE);
	sqe.dst_len = htole32(512);
	fg_push(g, &g->io, &sqe);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 5000, true) &&
	       (le16toh(cqe.status) >> 1) == AZIHSM_SC_DATA_XFER_ERROR,
	       "response buffer past the end of RAM: data transfer error");
	sqe.dw0 = htole32(1u << AZIHSM_HSQE_PSDT_SHIFT);
	sqe.dst_prp1 = htole64(FG_DST);
	fg_push(g, &g->io, &sqe);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 5000, true) &&
	       (le16toh(cqe.status) >> 1) == AZIHSM_SC_INVALID_FIELD, "SGL psdt on HSM SQ refused");
}

static void test_doorbells(struct fake_guest *g)
{
	unsigned int before = fg_guest_errors(g);
	uint8_t req[64], rsp[256];
	struct mbor_dec d;
	uint32_t len, rlen;

	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_SQ_TAIL(1), 64);
	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_CQ_HEAD(1), 1000);
	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_SQ_TAIL(3), 1);
	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_SQ_TAIL(400), 1);
	hsm_ctrl_doorbell_write(g->ctrl, 4095, 1);
	hsm_ctrl_doorbell_write(g->ctrl, 5000, 1);
	tap_eq(fg_guest_errors(g), before + 6, "6 bad doorbells: 6 guest errors");
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	tap_ok(!fg_hsm(g, req, len, 0, rsp, sizeof(rsp), &rlen) &&
	       !rsp_status(rsp, rlen, &d, NULL), "queue still works after bad doorbells");
}

/* A 4-entry CQ behind a 16-entry SQ: the device must wait for CQ room. */
static void test_cq_backpressure(struct fake_guest *g)
{
	struct azihsm_hsm_sqe sqe = { 0 };
	struct azihsm_hsm_cqe cqe;
	struct fg_queue *q = &g->io;
	uint8_t req[64];
	uint32_t len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	int i, got = 0;

	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 2 | (3u << 16),
			AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (2u << 16), FG_CQ1 + 0x1000, 0,
			NULL), 0, "create 4-entry CQ 2");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, 2 | (15u << 16), AZIHSM_CREATE_PC | (2u << 16),
			FG_SQ1 + 0x1000, 0, NULL), 0, "create 16-entry SQ 2 on CQ 2");
	fg_queue_setup(q, 2, FG_SQ1 + 0x1000, FG_CQ1 + 0x1000, 16, 4, 64, 16);
	fg_write(g, FG_SRC, req, len);
	sqe.src_len = htole32(len);
	sqe.src_prp1 = htole64(FG_SRC);
	sqe.dst_len = htole32(256);
	sqe.dst_prp1 = htole64(FG_DST);
	for (i = 0; i < 10; i++) {
		sqe.dw0 = htole32((uint32_t)i << 16);
		fg_push(g, q, &sqe);
	}
	fg_ring(g, q);
	/* Reap without ringing the CQ head: only 3 fit (one slot stays empty). */
	while (!fg_reap(g, q, &cqe, 300, false))
		got++;
	tap_eq(got, 3, "a full CQ holds entries-1 completions, the device waits");
	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_CQ_HEAD(2), q->cq_head);
	while (!fg_reap(g, q, &cqe, 1000, true)) {
		got++;
		if (le16toh(cqe.status) >> 1)
			break;
	}
	tap_eq(got, 10, "after the head doorbell the other 7 arrive");
	tap_eq(le16toh(cqe.cid), 9, "completions in order");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_DELETE_SQ, 2, 0, 0, 0, NULL), 0, "delete SQ 2");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_DELETE_CQ, 2, 0, 0, 0, NULL), 0, "delete CQ 2");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_DELETE_SQ, 2, 0, 0, 0, NULL), AZIHSM_SC_INVALID_QID,
	       "delete SQ 2 again refused");
	fg_queue_setup(q, 1, FG_SQ1, FG_CQ1, 64, 64, 64, 16);
}

static void test_aes_queue(struct fake_guest *g)
{
	struct azihsm_aes_sqe sqe = { 0 };
	struct azihsm_aes_cqe cqe;
	struct fg_queue q;
	uint32_t res;

	tap_eq(fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0, 0, 0, &res), 0,
	       "set features: 1 AES queue");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 256 | (15u << 16),
			AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (16u << 16), FG_AES_CQ, 0, NULL),
	       0, "create AES CQ 256");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, 256 | (15u << 16),
			AZIHSM_CREATE_PC | (1u << 16), FG_AES_SQ, 0, NULL), AZIHSM_SC_INVALID_CQ,
	       "AES SQ on an HSM CQ refused");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, 256 | (15u << 16),
			AZIHSM_CREATE_PC | (256u << 16), FG_AES_SQ, 0, NULL), 0, "create AES SQ 256");
	fg_queue_setup(&q, 256, FG_AES_SQ, FG_AES_CQ, 16, 16, 128, 64);
	sqe.cmd_id = htole16(77);
	fg_push(g, &q, &sqe);
	fg_ring(g, &q);
	tap_ok(!fg_reap(g, &q, &cqe, 5000, true) && le16toh(cqe.cmd_id) == 77 &&
	       le16toh(cqe.sq_id) == 256 && le16toh(cqe.sq_head) == 1 &&
	       (le16toh(cqe.status) >> 1) == AZIHSM_SC_INVALID_OPCODE,
	       "AES SQE with cmd_type 0 completes (64-byte CQE) with INVALID_OPCODE");

	/* Inline: a short AES command completes within the doorbell write. */
	hsm_ctrl_set_inline(g->ctrl, true);
	sqe.cmd_id = htole16(78);
	fg_push(g, &q, &sqe);
	fg_ring(g, &q);
	tap_ok(!fg_reap(g, &q, &cqe, 0, true) && le16toh(cqe.cmd_id) == 78 &&
	       le16toh(cqe.sq_head) == 2 &&
	       (le16toh(cqe.status) >> 1) == AZIHSM_SC_INVALID_OPCODE,
	       "inline: a short AES SQE completes before the doorbell write returns");
	/* Above HSM_INLINE_AES_MAX: declined, the worker answers. */
	sqe.cmd_id = htole16(79);
	sqe.src_len = htole32(HSM_INLINE_AES_MAX + 1);
	fg_push(g, &q, &sqe);
	fg_ring(g, &q);
	tap_ok(!fg_reap(g, &q, &cqe, 5000, true) && le16toh(cqe.cmd_id) == 79 &&
	       le16toh(cqe.sq_head) == 3 && (le16toh(cqe.status) >> 1) != 0,
	       "inline: an AES SQE above 64 KiB is left to the worker, which refuses it");
	hsm_ctrl_set_inline(g->ctrl, false);
}

/* One HSM SQE on g->io for the request at FG_SRC; pushed, not rung. */
static void inline_push(struct fake_guest *g, uint32_t len, uint16_t cid)
{
	struct azihsm_hsm_sqe sqe = { 0 };

	sqe.dw0 = htole32((uint32_t)cid << AZIHSM_HSQE_CID_SHIFT);
	sqe.src_len = htole32(len);
	sqe.src_prp1 = htole64(FG_SRC);
	sqe.dst_len = htole32(256);
	sqe.dst_prp1 = htole64(FG_DST);
	fg_push(g, &g->io, &sqe);
}

static uint16_t cqe_sc(const struct azihsm_hsm_cqe *cqe)
{
	return (le16toh(cqe->status) >> AZIHSM_CQE_STATUS_SHIFT) & AZIHSM_CQE_STATUS_MASK;
}

/*
 * Inline execution (hsm_sq_inline): a quick command rung alone onto an
 * idle queue completes within the doorbell write; anything else, a burst
 * or a set test-only fault goes to the worker.
 */
static void test_inline(struct fake_guest *g)
{
	struct azihsm_hsm_cqe cqe;
	uint8_t req[64], rsp[256];
	struct mbor_dec d;
	uint64_t n0;
	uint32_t len;
	int got;

	/* After test_reset_paths: queue 1 anew. */
	tap_ok(fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, NULL) == 0 &&
	       (hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_CC,
				   hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CC, 4) |
				   AZIHSM_CC_IO_ENABLE, 4), 1) &&
	       fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 1 | (63u << 16),
			AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (1u << 16), FG_CQ1, 0,
			NULL) == 0 &&
	       fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, 1 | (63u << 16), AZIHSM_CREATE_PC | (1u << 16),
			FG_SQ1, 0, NULL) == 0, "inline: HSM queue 1 created");
	memset(g->ram + (FG_CQ1 - FG_RAM_BASE), 0, 64 * 16);
	fg_queue_setup(&g->io, 1, FG_SQ1, FG_CQ1, 64, 64, 64, 16);
	n0 = hsm_ctrl_inline_count(g->ctrl);
	hsm_ctrl_set_inline(g->ctrl, true);
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	fg_write(g, FG_SRC, req, len);
	memset(g->ram + (FG_DST - FG_RAM_BASE), 0, 256);
	inline_push(g, len, 41);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 0, true), "inline: GetApiRev's completion is posted "
	       "before the doorbell write returns");
	tap_ok(le16toh(cqe.cid) == 41 && cqe_sc(&cqe) == 0 &&
	       le16toh(cqe.sq_head) == g->io.sq_tail && le16toh(cqe.sq_id) == g->io.qid,
	       "inline: its CQE has the cid, success, the SQ head and id");
	fg_read(g, FG_DST, rsp, le16toh(cqe.byte_count) <= sizeof(rsp) ?
		le16toh(cqe.byte_count) : sizeof(rsp));
	tap_eq(rsp_status(rsp, le16toh(cqe.byte_count), &d, NULL), 0,
	       "inline: the response is GetApiRev's, status success");
	tap_eq(hsm_ctrl_inline_count(g->ctrl), n0 + 1, "inline: counted once");

	/* Not a quick service (KeyGenerate may take seconds): the worker runs it. */
	len = req_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, -1);
	fg_write(g, FG_SRC, req, len);
	inline_push(g, len, 42);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 5000, true) && le16toh(cqe.cid) == 42 &&
	       cqe_sc(&cqe) == 0 && hsm_ctrl_inline_count(g->ctrl) == n0 + 1,
	       "inline: KeyGenerate is declined and completed by the worker");

	/* A burst of two: the worker, in order. */
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	fg_write(g, FG_SRC, req, len);
	inline_push(g, len, 43);
	inline_push(g, len, 44);
	fg_ring(g, &g->io);
	got = !fg_reap(g, &g->io, &cqe, 5000, true) && le16toh(cqe.cid) == 43;
	got += !fg_reap(g, &g->io, &cqe, 5000, true) && le16toh(cqe.cid) == 44;
	tap_ok(got == 2 && hsm_ctrl_inline_count(g->ctrl) == n0 + 1,
	       "inline: two entries in one doorbell go to the worker, in order");

	/* A test-only fault acts on the worker's path: not inline. */
	hsm_ctrl_set_fault(g->ctrl, HSM_FAULT_FAIL, 1);
	inline_push(g, len, 45);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 5000, true) && cqe_sc(&cqe) == AZIHSM_SC_INTERNAL &&
	       hsm_ctrl_inline_count(g->ctrl) == n0 + 1,
	       "inline: with fault-fail-cmds set the worker fails the command");

	/* A bad SQE (PSDT SGL) is refused inline, nothing else happens. */
	{
		struct azihsm_hsm_sqe sqe = { 0 };

		sqe.dw0 = htole32((46u << AZIHSM_HSQE_CID_SHIFT) |
				  (1u << AZIHSM_HSQE_PSDT_SHIFT));
		sqe.src_len = htole32(len);
		sqe.src_prp1 = htole64(FG_SRC);
		sqe.dst_len = htole32(256);
		sqe.dst_prp1 = htole64(FG_DST);
		fg_push(g, &g->io, &sqe);
		fg_ring(g, &g->io);
		tap_ok(!fg_reap(g, &g->io, &cqe, 0, true) && le16toh(cqe.cid) == 46 &&
		       cqe_sc(&cqe) == AZIHSM_SC_INVALID_FIELD,
		       "inline: an SGL-typed HSM SQE completes at once with INVALID_FIELD");
	}

	/* Off again: the worker runs even a quick command. */
	hsm_ctrl_set_inline(g->ctrl, false);
	n0 = hsm_ctrl_inline_count(g->ctrl);
	inline_push(g, len, 47);
	fg_ring(g, &g->io);
	tap_ok(!fg_reap(g, &g->io, &cqe, 5000, true) && le16toh(cqe.cid) == 47 &&
	       cqe_sc(&cqe) == 0 && hsm_ctrl_inline_count(g->ctrl) == n0,
	       "inline off: GetApiRev completes through the worker");
}

static void test_reset_paths(struct fake_guest *g)
{
	uint8_t req[64], rsp[256];
	struct azihsm_hsm_sqe sqe = { 0 };
	struct mbor_dec d;
	uint32_t len, rlen;

	fg_disable(g);
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4) & 1, 0, "disable with live queues: RDY 0");
	tap_eq(fg_enable(g, 8) & 3, 1, "re-enable");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_IDENTIFY, 1, 0, FG_IDENT, 0, NULL), 0,
	       "identify after re-enable");
	tap_eq(fg_admin(g, AZIHSM_ADMIN_GET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, &rlen), 0,
	       "get features after reset");
	tap_eq(rlen, 0, "queue grants cleared by reset");

	/* An SQ whose memory is not RAM makes the controller fatal, not QEMU. */
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, NULL);
	fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 1 | (15u << 16),
		 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (1u << 16), FG_CQ1, 0, NULL);
	tap_eq(fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, 1 | (15u << 16), AZIHSM_CREATE_PC | (1u << 16),
			0x40000000ull, 0, NULL), 0, "create SQ at a non-RAM address");
	hsm_ctrl_doorbell_write(g->ctrl, AZIHSM_DB_SQ_TAIL(1), 1);
	hsm_ctrl_quiesce(g->ctrl);
	for (int i = 0; i < 100 && !(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4) & 2); i++) {
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);
	}
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4) & 2, AZIHSM_CSTS_CFS,
	       "fetch from non-RAM SQ: CFS");
	fg_disable(g);
	tap_eq(fg_enable(g, 8) & 3, 1, "controller reset recovers from CFS");

	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_NSSR, 0x1234, 4);
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4) & 1, 1, "NSSR with a wrong value ignored");
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_NSSR, AZIHSM_NSSR_MAGIC, 4);
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4), AZIHSM_CSTS_NSSRO,
	       "NSSR: subsystem reset, NSSRO set");
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CC, 4), 0, "NSSR clears CC");

	/* Full bring-up again, then a PCI reset in the middle of traffic. */
	fg_enable(g, 16);
	hsm_ctrl_reg_write(g->ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	fg_admin(g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, 0, NULL);
	fg_admin(g, AZIHSM_ADMIN_CREATE_CQ, 1 | (63u << 16),
		 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (1u << 16), FG_CQ1, 0, NULL);
	fg_admin(g, AZIHSM_ADMIN_CREATE_SQ, 1 | (63u << 16), AZIHSM_CREATE_PC | (1u << 16), FG_SQ1,
		 0, NULL);
	memset(g->ram + (FG_CQ1 - FG_RAM_BASE), 0, 4096);
	fg_queue_setup(&g->io, 1, FG_SQ1, FG_CQ1, 64, 64, 64, 16);
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_RANDOM, 4096);
	fg_write(g, FG_SRC, req, len);
	sqe.src_len = htole32(len);
	sqe.src_prp1 = htole64(FG_SRC);
	sqe.dst_len = htole32(8192);
	sqe.dst_prp1 = htole64(FG_DST);
	sqe.dst_prp2 = htole64(FG_DST + 4096);
	for (int i = 0; i < 40; i++)
		fg_push(g, &g->io, &sqe);
	fg_ring(g, &g->io);
	hsm_ctrl_reset(g->ctrl);
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_CSTS, 4), 0, "PCI reset mid-traffic: idle");
	tap_eq(hsm_ctrl_reg_read(g->ctrl, AZIHSM_REG_ASQ, 8), 0, "PCI reset clears ASQ");
	tap_eq(fg_enable(g, 16) & 3, 1, "enable after PCI reset");
	len = req_build(req, sizeof(req), AZIHSM_OP_GET_API_REV, -1);
	(void)d;
	(void)rsp;
	(void)rlen;
}

static void test_config(void)
{
	static const struct hsm_host_ops none;
	struct hsm_ctrl_config bad = cfg;

	bad.serial = "0123456789012345678901234567890123";
	tap_ok(!hsm_ctrl_new(&bad, &none, NULL), "33-char serial refused");
	bad = cfg;
	bad.hsm_queues_max = 16;
	tap_ok(!hsm_ctrl_new(&bad, &none, NULL), "16 HSM queues refused");
}

int main(void)
{
	struct fake_guest g;

	if (fg_init(&g, &cfg)) {
		printf("Bail out! cannot create the controller\n");
		return 1;
	}
	test_registers(&g);
	test_identify(&g);
	test_queues(&g);
	test_hsm_commands(&g);
	test_bad_dma(&g);
	test_doorbells(&g);
	test_cq_backpressure(&g);
	test_aes_queue(&g);
	test_reset_paths(&g);
	test_inline(&g);
	test_config();
	fg_fini(&g);
	return tap_done();
}
