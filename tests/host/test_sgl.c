// SPDX-License-Identifier: MIT
/*
 * The fast-path SGL walker (qemu-device/fw/ctrl/hsm_sgl.c) against a fake
 * guest: well-formed lists of every shape, then each class of malformed
 * list (bad type, zero or overlong length, bad segment lists, chains that
 * loop or run past the limits, memory that is not RAM).
 */
#include <endian.h>
#include <string.h>

#include "fake_guest.h"
#include "hsm_sgl.h"
#include "tap.h"

#define PG(n)	(FG_RAM_BASE + 0x100000 + (uint64_t)(n) * 4096)	/* list pages */
#define DATA(n)	(FG_RAM_BASE + 0x200000 + (uint64_t)(n))	/* data area */

static const struct hsm_ctrl_config cfg = {
	.serial = "SGL", .fw_rev = "1", .model = "T", .hsm_queues_max = 1,
};

static struct azihsm_sgl_desc desc(uint64_t addr, uint32_t len, unsigned int type)
{
	struct azihsm_sgl_desc d = { 0 };

	d.addr = htole64(addr);
	d.len = htole32(len);
	d.type = (uint8_t)(type << 4);
	return d;
}

static void put_list(struct fake_guest *g, uint64_t at, const struct azihsm_sgl_desc *d,
		     unsigned int n)
{
	fg_write(g, at, d, n * sizeof(*d));
}

static struct hsm_sgl sgl;

static void test_good(struct fake_guest *g)
{
	struct azihsm_sgl_desc root, l[256];
	uint8_t pattern[4096], back[4096];
	unsigned int i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);

	root = desc(DATA(0), 512, AZIHSM_SGL_TYPE_DATA);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 512, &sgl), 0, "single data descriptor");
	tap_ok(sgl.n == 1 && sgl.total == 512 && sgl.ext[0].addr == DATA(0), "one extent");

	/* Three odd-sized, odd-aligned pieces in a last-segment list. */
	l[0] = desc(DATA(1), 100, AZIHSM_SGL_TYPE_DATA);
	l[1] = desc(DATA(5000), 1, AZIHSM_SGL_TYPE_DATA);
	l[2] = desc(DATA(9003), 411, AZIHSM_SGL_TYPE_DATA);
	put_list(g, PG(0), l, 3);
	root = desc(PG(0), 3 * 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 512, &sgl), 0, "last-segment list of 3");
	tap_eq(sgl.n, 3, "three extents");
	tap_eq(hsm_sgl_write(g->ctrl, &sgl, pattern), 0, "scatter 512 bytes");
	fg_read(g, DATA(1), back, 100);
	fg_read(g, DATA(5000), back + 100, 1);
	fg_read(g, DATA(9003), back + 101, 411);
	tap_ok(!memcmp(back, pattern, 512), "scatter put each piece where it belongs");
	memset(back, 0, sizeof(back));
	tap_eq(hsm_sgl_read(g->ctrl, &sgl, back), 0, "gather 512 bytes");
	tap_ok(!memcmp(back, pattern, 512), "gather reads them back in order");

	/* A full page: 255 data descriptors and a chain to a last segment. */
	for (i = 0; i < 255; i++)
		l[i] = desc(DATA(i * 16), 16, AZIHSM_SGL_TYPE_DATA);
	l[255] = desc(PG(2), 2 * 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	put_list(g, PG(1), l, 256);
	l[0] = desc(DATA(8192), 8, AZIHSM_SGL_TYPE_DATA);
	l[1] = desc(DATA(9000), 8, AZIHSM_SGL_TYPE_DATA);
	put_list(g, PG(2), l, 2);
	root = desc(PG(1), 4096, AZIHSM_SGL_TYPE_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 255 * 16 + 16, &sgl), 0,
	       "full page of 255 descriptors chained to a last segment");
	tap_eq(sgl.n, 257, "257 extents");
}

static void test_bad(struct fake_guest *g)
{
	struct azihsm_sgl_desc root, l[256];
	unsigned int i;

	root = desc(DATA(0), 512, AZIHSM_SGL_TYPE_DATA);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 511, &sgl), AZIHSM_SC_SGL_LENGTH_INVALID,
	       "data descriptor longer than the command");
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 513, &sgl), AZIHSM_SC_SGL_LENGTH_INVALID,
	       "data descriptor shorter than the command");
	root = desc(DATA(0), 0, AZIHSM_SGL_TYPE_DATA);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 1, &sgl), AZIHSM_SC_SGL_LENGTH_INVALID,
	       "zero-length data descriptor");
	root = desc(DATA(0), 0xffffffffu, AZIHSM_SGL_TYPE_DATA);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 4096, &sgl), AZIHSM_SC_SGL_LENGTH_INVALID,
	       "4 GiB data descriptor");
	root = desc(DATA(0), 16, AZIHSM_SGL_TYPE_DATA);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 0, &sgl), AZIHSM_SC_SGL_LENGTH_INVALID,
	       "command length 0");
	tap_eq(hsm_sgl_walk(g->ctrl, &root, HSM_SGL_BYTES_MAX + 1, &sgl),
	       AZIHSM_SC_SGL_LENGTH_INVALID, "command over 1 MiB");

	{
		unsigned int refused = 0;

		for (unsigned int t = 0; t < 16; t++) {
			if (t == AZIHSM_SGL_TYPE_DATA || t == AZIHSM_SGL_TYPE_SEGMENT ||
			    t == AZIHSM_SGL_TYPE_LAST_SEGMENT)
				continue;
			root = desc(DATA(0), 16, t);
			refused += hsm_sgl_walk(g->ctrl, &root, 16, &sgl) ==
				   AZIHSM_SC_SGL_TYPE_INVALID;
			l[0] = desc(DATA(0), 16, t);
			put_list(g, PG(3), l, 1);
			root = desc(PG(3), 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
			refused += hsm_sgl_walk(g->ctrl, &root, 16, &sgl) ==
				   AZIHSM_SC_SGL_TYPE_INVALID;
		}
		tap_eq(refused, 2 * 13, "types 1 and 4..15 refused at the root and in a list");
	}

	/* Segment lists: where they are and how big. */
	root = desc(PG(3) + 8, 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "list not 16-byte aligned");
	root = desc(PG(3) + 4080, 32, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "list crossing a page");
	root = desc(PG(3), 24, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "list length not a multiple of 16");
	root = desc(PG(3), 0, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "empty list");
	root = desc(PG(3), 4112, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "list over 4096 bytes");
	root = desc(0xfee00000ull, 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_DATA_XFER_ERROR,
	       "list in MMIO (LAPIC)");

	/* Chains. */
	l[0] = desc(DATA(0), 16, AZIHSM_SGL_TYPE_DATA);
	l[1] = desc(PG(5), 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	put_list(g, PG(4), l, 2);
	root = desc(PG(4), 32, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 32, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "chain inside a last-segment list");
	l[0] = desc(PG(5), 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	l[1] = desc(DATA(0), 16, AZIHSM_SGL_TYPE_DATA);
	put_list(g, PG(4), l, 2);
	root = desc(PG(4), 32, AZIHSM_SGL_TYPE_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 32, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "chain descriptor not last in its list");
	l[0] = desc(DATA(0), 16, AZIHSM_SGL_TYPE_DATA);
	put_list(g, PG(4), l, 1);
	root = desc(PG(4), 16, AZIHSM_SGL_TYPE_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_SEGMENT_INVALID,
	       "segment list that does not chain");
	l[0] = desc(DATA(0), 16, AZIHSM_SGL_TYPE_DATA);
	l[1] = desc(PG(6), 32, AZIHSM_SGL_TYPE_SEGMENT);	/* points at itself */
	put_list(g, PG(6), l, 2);
	root = desc(PG(6), 32, AZIHSM_SGL_TYPE_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, HSM_SGL_BYTES_MAX, &sgl), AZIHSM_SC_SGL_TOO_MANY,
	       "chain that loops ends at the segment limit");
	l[0] = desc(PG(7), 16, AZIHSM_SGL_TYPE_SEGMENT);	/* pure chain loop */
	put_list(g, PG(7), l, 1);
	root = desc(PG(7), 16, AZIHSM_SGL_TYPE_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 16, &sgl), AZIHSM_SC_SGL_TOO_MANY,
	       "descriptor-free chain loop ends too");

	/* Too many data descriptors: 5 full pages of 1-byte pieces. */
	for (unsigned int p = 0; p < 5; p++) {
		for (i = 0; i < 255; i++)
			l[i] = desc(DATA(p * 255 + i), 1, AZIHSM_SGL_TYPE_DATA);
		l[255] = desc(PG(10 + p + 1), 4096,
			      p == 3 ? AZIHSM_SGL_TYPE_LAST_SEGMENT : AZIHSM_SGL_TYPE_SEGMENT);
		put_list(g, PG(10 + p), l, p == 4 ? 255 : 256);
	}
	root = desc(PG(10), 4096, AZIHSM_SGL_TYPE_SEGMENT);
	tap_eq(hsm_sgl_walk(g->ctrl, &root, 5 * 255, &sgl), AZIHSM_SC_SGL_TOO_MANY,
	       "more than 1024 data descriptors");

	/* Data outside RAM: the walk is fine, the transfer is refused. */
	{
		uint8_t buf[64];

		root = desc(0xfee00000ull, 64, AZIHSM_SGL_TYPE_DATA);
		tap_eq(hsm_sgl_walk(g->ctrl, &root, 64, &sgl), 0, "walk of an MMIO extent");
		tap_eq(hsm_sgl_read(g->ctrl, &sgl, buf), AZIHSM_SC_DATA_XFER_ERROR,
		       "gather from MMIO refused");
		tap_eq(hsm_sgl_write(g->ctrl, &sgl, buf), AZIHSM_SC_DATA_XFER_ERROR,
		       "scatter to MMIO refused");
		root = desc(FG_RAM_BASE + FG_RAM_SIZE - 32, 64, AZIHSM_SGL_TYPE_DATA);
		hsm_sgl_walk(g->ctrl, &root, 64, &sgl);
		tap_eq(hsm_sgl_read(g->ctrl, &sgl, buf), AZIHSM_SC_DATA_XFER_ERROR,
		       "extent running off the end of RAM refused");
	}
}

int main(void)
{
	struct fake_guest g;

	if (fg_init(&g, &cfg)) {
		printf("Bail out! cannot create the controller\n");
		return 1;
	}
	test_good(&g);
	test_bad(&g);
	fg_fini(&g);
	return tap_done();
}
