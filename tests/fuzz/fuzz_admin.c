// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the admin queue (hsm_admin.c) and the controller's
 * registers and doorbells (hsm_ctrl.c, hsm_queue.c), driven as a guest
 * would over the host tests' fake guest. One controller lives for the
 * whole run; every input starts from a disabled controller and zeroed RAM,
 * enables it and then plays a sequence of records:
 *
 *   byte 0   admin queue entries - 2 (modulo 63: 2..64 entries; the SQ at
 *            FG_ASQ, the CQ at FG_ACQ)
 *   byte 1   >= 0xf0: CC is the next 4 bytes with EN set; else the CC a
 *            driver writes (AZIHSM_CC_IO_ENABLE). Bit 0 set: "direct",
 *            the SQEs go straight to hsm_admin_execute (the function the
 *            admin queue's worker calls for each), without the queue
 *            round trip, and admin SQ doorbells are dropped (the admin
 *            worker is the only other caller): thousands of inputs a
 *            second instead of tens while the cores are busy.
 *   records, each a tag byte (modulo 5) and its bytes:
 *     0  raw SQE: 64 bytes, pushed on the admin SQ, doorbell rung
 *     1  BAR0 write: offset byte (x4, below 0x40), value u32
 *     2  doorbell write: offset u16 (below the BAR's end + 8), value u32
 *     3  guest RAM write: offset u16 (x16), length byte, that many bytes
 *     4  short SQE: opcode, cdw10 u32, cdw11 u32, page byte (PRP1 = that
 *        page of RAM, PRP2 the next): the commands' shape, for the fuzzer
 * After every SQE or doorbell the controller is quiesced and the admin CQ
 * drained (a hang there is a finding: libFuzzer's -timeout). At the end the
 * controller must disable (CSTS.RDY clear) and every CQE drained must have
 * come with a valid SQ head.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"
#include "hsm_ctrl_int.h"

static struct fake_guest g;
static uint16_t cid;
static bool direct;

static void setup(void)
{
	const struct hsm_ctrl_config cfg = { .serial = "FUZZ-ADMIN", .fw_rev = "0",
					     .hsm_queues_max = 4, .aes_queues_max = 4 };

	if (fg_init(&g, &cfg))
		abort();
	g.quiet = true;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void check_cqe(const struct azihsm_admin_cqe *cqe)
{
	if (le16toh(cqe->sq_id) == AZIHSM_QID_ADMIN && le16toh(cqe->sq_head) >= g.admin.entries)
		abort();	/* the device reported a head beyond its queue */
}

/*
 * Let the workers finish what was rung, then take every admin CQE. The
 * first is waited for up to @ms (its interrupt wakes us; an AER never
 * completes), so most commands cost no sleep in hsm_ctrl_quiesce.
 */
static void settle(int ms)
{
	struct azihsm_admin_cqe cqe;
	unsigned int i;

	if (ms && !fg_reap(&g, &g.admin, &cqe, ms, true))
		check_cqe(&cqe);
	hsm_ctrl_quiesce(g.ctrl);
	for (i = 0; i < 2 * g.admin.cq_entries; i++) {
		if (fg_reap(&g, &g.admin, &cqe, 0, true))
			break;
		check_cqe(&cqe);
	}
}

static void sqe(const struct azihsm_admin_sqe *s)
{
	if (direct) {
		uint32_t result;
		uint16_t status;
		bool deferred;

		hsm_admin_execute(g.ctrl, s, &result, &status, &deferred);
		if (!deferred && status > AZIHSM_CQE_STATUS_MASK)
			abort();	/* a status the CQE cannot carry */
		settle(0);
		return;
	}
	fg_push(&g, &g.admin, s);
	fg_ring(&g, &g.admin);
	settle(s->opc == AZIHSM_ADMIN_ASYNC_EVENT ? 0 : 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	uint32_t entries, aqa, cc = AZIHSM_CC_IO_ENABLE;
	struct azihsm_admin_sqe s;

	if (!g.ctrl)
		setup();
	if (n < 2)
		return 0;
	entries = 2 + d[0] % 63;
	direct = d[1] & 1;
	if (d[1] >= 0xf0 && n >= 6) {
		cc = get32(d + 2) | AZIHSM_CC_EN;
		d += 4;
		n -= 4;
	}
	d += 2;
	n -= 2;

	memset(g.ram, 0, FG_RAM_SIZE);
	fg_queue_setup(&g.admin, 0, FG_ASQ, FG_ACQ, entries, entries, 64, 16);
	aqa = (entries - 1) | ((entries - 1) << AZIHSM_AQA_ACQS_SHIFT);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_AQA, aqa, 4);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_ASQ, FG_ASQ, 8);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_ACQ, FG_ACQ, 8);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, cc, 4);

	while (n) {
		uint8_t tag = d[0] % 5;
		size_t need[5] = { 64, 5, 6, 3, 10 };

		d++;
		n--;
		if (n < need[tag])
			break;
		switch (tag) {
		case 0:
			memcpy(&s, d, sizeof(s));
			sqe(&s);
			break;
		case 1:
			hsm_ctrl_reg_write(g.ctrl, (d[0] * 4u) % 0x40, get32(d + 1), 4);
			break;
		case 2:
			if (direct && (d[0] | d[1] << 8) % (AZIHSM_BAR_SIZE + 8) ==
				      AZIHSM_DB_SQ_TAIL(AZIHSM_QID_ADMIN))
				break;
			hsm_ctrl_doorbell_write(g.ctrl, (d[0] | d[1] << 8) % (AZIHSM_BAR_SIZE + 8),
						get32(d + 2));
			settle(0);
			break;
		case 3: {
			size_t off = (size_t)(d[0] | d[1] << 8) * 16, len = d[2];

			if (len > n - 3)
				len = n - 3;
			fg_write(&g, FG_RAM_BASE + off, d + 3, len);
			need[3] += len;
			break;
		}
		case 4:
			memset(&s, 0, sizeof(s));
			s.opc = d[0];
			s.cid = htole16(++cid);
			s.cdw10 = htole32(get32(d + 1));
			s.cdw11 = htole32(get32(d + 5));
			s.prp1 = htole64(FG_RAM_BASE + (uint64_t)d[9] * AZIHSM_PAGE_SIZE);
			s.prp2 = htole64(FG_RAM_BASE + (uint64_t)(d[9] + 1) * AZIHSM_PAGE_SIZE);
			sqe(&s);
			break;
		}
		d += need[tag];
		n -= need[tag];
	}

	fg_disable(&g);
	if (hsm_ctrl_reg_read(g.ctrl, AZIHSM_REG_CSTS, 4) & AZIHSM_CSTS_RDY)
		abort();	/* CC.EN = 0 did not stop the controller */
	return 0;
}

/*
 * Seeds (AZIHSM_FUZZ_SEEDS=DIR fuzz_admin writes them and exits): the
 * bring-up a driver does, with I/O queues of both kinds, identify, the
 * features, AERs, deletes in and out of order, a controller reset by NSSR
 * and one by CC, and an HSM command rung on an I/O queue.
 */
static void seed_rec(FILE *f, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint8_t page)
{
	uint8_t r[11] = { 4, opc };

	r[2] = cdw10;
	r[3] = cdw10 >> 8;
	r[4] = cdw10 >> 16;
	r[5] = cdw10 >> 24;
	r[6] = cdw11;
	r[7] = cdw11 >> 8;
	r[8] = cdw11 >> 16;
	r[9] = cdw11 >> 24;
	r[10] = page;
	fwrite(r, 1, sizeof(r), f);
}

static void seed_u32(FILE *f, uint8_t tag, uint16_t off, uint32_t v, bool db)
{
	uint8_t r[7] = { tag };
	size_t i = 1;

	r[i++] = off;
	if (db)
		r[i++] = off >> 8;
	r[i++] = v;
	r[i++] = v >> 8;
	r[i++] = v >> 16;
	r[i++] = v >> 24;
	fwrite(r, 1, i, f);
}

static int seed_direct;

static FILE *seed_open(const char *dir, const char *name, uint8_t entries_m2)
{
	char fn[512];
	FILE *f;

	snprintf(fn, sizeof(fn), "%s/admin-%s-%s", dir, name, seed_direct ? "direct" : "queue");
	f = fopen(fn, "wb");
	if (!f) {
		perror(fn);
		exit(1);
	}
	fputc(entries_m2, f);
	fputc(seed_direct, f);
	return f;
}

#define PC_IEN(v)	(AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (uint32_t)(v) << 16)

static void queues(FILE *f)
{
	seed_rec(f, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0x00010001, 0);
	seed_rec(f, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0x00010001, 0);
	seed_rec(f, AZIHSM_ADMIN_CREATE_CQ, 1 | 15u << 16, PC_IEN(1), 8);
	seed_rec(f, AZIHSM_ADMIN_CREATE_SQ, 1 | 15u << 16, AZIHSM_CREATE_PC | 1u << 16, 9);
	seed_rec(f, AZIHSM_ADMIN_CREATE_CQ, AZIHSM_QID_AES_FIRST | 15u << 16, PC_IEN(16), 10);
	seed_rec(f, AZIHSM_ADMIN_CREATE_SQ, AZIHSM_QID_AES_FIRST | 15u << 16,
		 AZIHSM_CREATE_PC | (uint32_t)AZIHSM_QID_AES_FIRST << 16, 11);
}

static int write_seeds_mode(const char *dir)
{
	FILE *f;

	f = seed_open(dir, "bringup", 14);
	seed_rec(f, AZIHSM_ADMIN_IDENTIFY, AZIHSM_IDENTIFY_CNS_CTRL, 0, 2);
	queues(f);
	seed_rec(f, AZIHSM_ADMIN_GET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_GET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_GCM_WORKAROUND, 1, 0);
	seed_rec(f, AZIHSM_ADMIN_DELETE_SQ, 1, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_DELETE_CQ, 1, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_DELETE_SQ, AZIHSM_QID_AES_FIRST, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_DELETE_CQ, AZIHSM_QID_AES_FIRST, 0, 0);
	fclose(f);

	f = seed_open(dir, "aer", 2);
	for (int i = 0; i < 6; i++)
		seed_rec(f, AZIHSM_ADMIN_ASYNC_EVENT, 0, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_ABORT, 0, 0, 0);
	seed_rec(f, AZIHSM_ADMIN_IDENTIFY, AZIHSM_IDENTIFY_CNS_CTRL, 0, 0xff);
	fclose(f);

	f = seed_open(dir, "misorder", 6);
	queues(f);
	seed_rec(f, AZIHSM_ADMIN_DELETE_CQ, 1, 0, 0);	/* SQ still on it */
	seed_rec(f, AZIHSM_ADMIN_CREATE_SQ, 1 | 15u << 16, AZIHSM_CREATE_PC | 1u << 16, 9);
	seed_rec(f, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 3, 0);
	seed_rec(f, AZIHSM_ADMIN_SET_RES_COUNT, 0, 0, 0);
	fclose(f);

	/* Queues up, then an HSM SQE at SQ 1 (zeros: no such request) rung. */
	f = seed_open(dir, "io-doorbell", 6);
	queues(f);
	seed_u32(f, 2, AZIHSM_DB_SQ_TAIL(1), 1, true);
	seed_u32(f, 2, AZIHSM_DB_SQ_TAIL(AZIHSM_QID_AES_FIRST), 1, true);
	seed_u32(f, 2, AZIHSM_DB_CQ_HEAD(1), 1, true);
	seed_u32(f, 2, AZIHSM_DB_SQ_TAIL(0), 63, true);
	fclose(f);

	f = seed_open(dir, "resets", 6);
	queues(f);
	seed_u32(f, 1, AZIHSM_REG_NSSR / 4, AZIHSM_NSSR_MAGIC, false);
	seed_u32(f, 1, AZIHSM_REG_CC / 4, AZIHSM_CC_IO_ENABLE, false);
	seed_rec(f, AZIHSM_ADMIN_ASYNC_EVENT, 0, 0, 0);
	seed_u32(f, 1, AZIHSM_REG_CC / 4, AZIHSM_CC_IO_ENABLE | 1u << AZIHSM_CC_SHN_SHIFT, false);
	seed_u32(f, 1, AZIHSM_REG_CC / 4, 0, false);
	seed_u32(f, 1, AZIHSM_REG_CC / 4, AZIHSM_CC_IO_ENABLE, false);
	fclose(f);
	return 0;
}

static int write_seeds(const char *dir)
{
	for (seed_direct = 0; seed_direct < 2; seed_direct++)
		write_seeds_mode(dir);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("AZIHSM_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	if (dir)
		exit(write_seeds(dir));
	return 0;
}
