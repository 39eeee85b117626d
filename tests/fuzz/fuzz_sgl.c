// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the AES fast path's SGL walker (hsm_sgl.c) and the PRP
 * transfers (hsm_dma.c) over the host tests' fake guest (a controller with
 * 4 MiB of "RAM" at FG_RAM_BASE whose DMA callbacks refuse anything else).
 *
 * Input: byte 0 = flags, then
 *   flags bit 0 clear (SGL): total u32, root descriptor (16 bytes), the
 *     rest copied to guest RAM at FG_RAM_BASE (segment lists, chains,
 *     loops: whatever the bytes say). The walk must end; on success the
 *     extents add up to total, and reading the SGL gives exactly the guest
 *     bytes at its extents (or fails iff an extent is not RAM), and
 *     writing it succeeds iff every extent is RAM. Unless flags bit 1 is
 *     set, total is taken modulo HSM_SGL_BYTES_MAX + 1.
 *   flags bit 0 set (PRP): prp1 u64, prp2 u64, length u32 (modulo
 *     AZIHSM_HSM_BUF_MAX + 2 unless flags bit 1), the rest to guest RAM.
 *     hsm_prp_read/write must succeed exactly when the interface allows the
 *     transfer (device.md: dword-aligned PRP1, page-aligned PRP2 only when
 *     needed, at most two pages, all RAM), and read the right bytes.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_guest.h"
#include "hsm_ctrl_int.h"
#include "hsm_sgl.h"

static struct fake_guest g;
static struct hsm_sgl sgl;
static uint8_t buf[HSM_SGL_BYTES_MAX], ref[HSM_SGL_BYTES_MAX];
static size_t dirty;	/* bytes of RAM the last input wrote */

static bool in_ram(uint64_t addr, uint64_t len)
{
	return addr >= FG_RAM_BASE && len <= FG_RAM_SIZE && addr - FG_RAM_BASE <= FG_RAM_SIZE - len;
}

static void setup(void)
{
	const struct hsm_ctrl_config cfg = { .serial = "FUZZ-SGL", .fw_rev = "0",
					     .hsm_queues_max = 1, .aes_queues_max = 1 };

	if (fg_init(&g, &cfg))
		abort();
	g.quiet = true;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void load_ram(const uint8_t *d, size_t n)
{
	if (n > FG_RAM_SIZE)
		n = FG_RAM_SIZE;
	memset(g.ram, 0, dirty);
	memcpy(g.ram, d, n);
	dirty = n;
}

static void fuzz_sgl(uint8_t flags, const uint8_t *d, size_t n)
{
	struct azihsm_sgl_desc root;
	uint32_t total, sum = 0;
	bool all_ram = true;
	unsigned int i;
	uint8_t *p;
	uint16_t sc;

	if (n < 4 + sizeof(root))
		return;
	total = get32(d);
	if (!(flags & 2))
		total %= HSM_SGL_BYTES_MAX + 1;
	memcpy(&root, d + 4, sizeof(root));
	load_ram(d + 4 + sizeof(root), n - 4 - sizeof(root));

	sc = hsm_sgl_walk(g.ctrl, &root, total, &sgl);
	if (sc != AZIHSM_SC_SUCCESS)
		return;
	if (sgl.n == 0 || sgl.n > HSM_SGL_EXTENTS_MAX || sgl.total != total)
		abort();
	for (i = 0; i < sgl.n; i++) {
		if (!sgl.ext[i].len)
			abort();
		sum += sgl.ext[i].len;
		if (sum > total)
			abort();
		all_ram &= in_ram(sgl.ext[i].addr, sgl.ext[i].len);
	}
	if (sum != total)
		abort();

	sc = hsm_sgl_read(g.ctrl, &sgl, buf);
	if ((sc == AZIHSM_SC_SUCCESS) != all_ram)
		abort();	/* read refused RAM, or read outside it */
	if (sc == AZIHSM_SC_SUCCESS) {
		for (i = 0, p = ref; i < sgl.n; p += sgl.ext[i].len, i++)
			memcpy(p, g.ram + (sgl.ext[i].addr - FG_RAM_BASE), sgl.ext[i].len);
		if (memcmp(buf, ref, total))
			abort();	/* read the wrong bytes */
	}
	memset(buf, 0x5a, total);
	sc = hsm_sgl_write(g.ctrl, &sgl, buf);
	if ((sc == AZIHSM_SC_SUCCESS) != all_ram)
		abort();
	for (i = 0; i < sgl.n; i++) {
		uint64_t end = sgl.ext[i].addr - FG_RAM_BASE + sgl.ext[i].len;

		if (!in_ram(sgl.ext[i].addr, sgl.ext[i].len))
			continue;
		if (end > dirty)
			dirty = end;	/* cleared before the next input */
		if (sc == AZIHSM_SC_SUCCESS && g.ram[sgl.ext[i].addr - FG_RAM_BASE] != 0x5a)
			abort();	/* the write went elsewhere */
	}
}

/* What device.md allows of a PRP transfer (independent of hsm_dma.c). */
static bool prp_ok(uint64_t prp1, uint64_t prp2, size_t len)
{
	size_t first = AZIHSM_PAGE_SIZE - (prp1 % AZIHSM_PAGE_SIZE);
	size_t second = len > first ? len - first : 0;

	if (!len || len > AZIHSM_HSM_BUF_MAX || prp1 % 4)
		return false;
	if (second && (prp2 % AZIHSM_PAGE_SIZE || second > AZIHSM_PAGE_SIZE))
		return false;
	return in_ram(prp1, len - second) && (!second || in_ram(prp2, second));
}

static void fuzz_prp(uint8_t flags, const uint8_t *d, size_t n)
{
	uint64_t prp1, prp2;
	size_t len, first = 0;
	bool ok;
	uint16_t sc;

	if (n < 20)
		return;
	prp1 = get64(d);
	prp2 = get64(d + 8);
	len = get32(d + 16);
	if (!(flags & 2))
		len %= AZIHSM_HSM_BUF_MAX + 2;
	if (len > sizeof(buf))
		len = sizeof(buf);	/* the device refuses it long before */
	load_ram(d + 20, n - 20);
	ok = prp_ok(prp1, prp2, len);

	sc = hsm_prp_read(g.ctrl, prp1, prp2, buf, len);
	if ((sc == AZIHSM_SC_SUCCESS) != ok)
		abort();
	if (ok) {
		first = AZIHSM_PAGE_SIZE - (prp1 % AZIHSM_PAGE_SIZE);
		if (first > len)
			first = len;
		if (memcmp(buf, g.ram + (prp1 - FG_RAM_BASE), first) ||
		    (len > first && memcmp(buf + first, g.ram + (prp2 - FG_RAM_BASE), len - first)))
			abort();
	}
	memset(buf, 0xa5, len);
	sc = hsm_prp_write(g.ctrl, prp1, prp2, buf, len);
	if ((sc == AZIHSM_SC_SUCCESS) != ok)
		abort();
	if (ok) {
		size_t end = prp1 - FG_RAM_BASE + first;

		if (end > dirty)
			dirty = end;
		end = len > first ? prp2 - FG_RAM_BASE + (len - first) : 0;
		if (end > dirty)
			dirty = end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g.ctrl)
		setup();
	if (!size)
		return 0;
	if (data[0] & 1)
		fuzz_prp(data[0], data + 1, size - 1);
	else
		fuzz_sgl(data[0], data + 1, size - 1);
	return 0;
}

/*
 * Seeds (AZIHSM_FUZZ_SEEDS=DIR fuzz_sgl writes them and exits): a single
 * data descriptor, a last-segment list, a chain of three lists, a list
 * chaining to itself, lists that are not RAM, and PRP transfers of one and
 * two pages.
 */
static uint8_t seed[3 * 4096 + 64];

static void put_desc(uint8_t *p, uint64_t addr, uint32_t len, unsigned int type)
{
	struct azihsm_sgl_desc x = { .addr = htole64(addr), .len = htole32(len) };

	x.type = (uint8_t)(type << 4);
	memcpy(p, &x, sizeof(x));
}

static void seed_write(const char *dir, const char *name, size_t len)
{
	char fn[512];
	FILE *f;

	snprintf(fn, sizeof(fn), "%s/sgl-%s", dir, name);
	f = fopen(fn, "wb");
	if (!f || fwrite(seed, 1, len, f) != len || fclose(f)) {
		perror(fn);
		exit(1);
	}
}

/* SGL header: flags 0, total, root; RAM follows at seed + 21. */
static uint8_t *sgl_seed(uint32_t total, uint64_t addr, uint32_t len, unsigned int type)
{
	memset(seed, 0, sizeof(seed));
	seed[0] = 0;
	memcpy(seed + 1, &(uint32_t){ htole32(total) }, 4);
	put_desc(seed + 5, addr, len, type);
	return seed + 21;
}

static void prp_seed(const char *dir, const char *name, uint64_t prp1, uint64_t prp2,
		     uint32_t len)
{
	memset(seed, 0, sizeof(seed));
	seed[0] = 1;
	memcpy(seed + 1, &(uint64_t){ htole64(prp1) }, 8);
	memcpy(seed + 9, &(uint64_t){ htole64(prp2) }, 8);
	memcpy(seed + 17, &(uint32_t){ htole32(len) }, 4);
	seed_write(dir, name, 21 + 64);
}

static int write_seeds(const char *dir)
{
	const uint64_t b = FG_RAM_BASE;
	uint8_t *ram;

	sgl_seed(4096, b + 0x10000, 4096, AZIHSM_SGL_TYPE_DATA);
	seed_write(dir, "data", 21);

	ram = sgl_seed(700, b, 48, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	put_desc(ram, b + 0x10000, 100, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 16, b + 0x20010, 500, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 32, b + 0x30ff0, 100, AZIHSM_SGL_TYPE_DATA);
	seed_write(dir, "last-segment", 21 + 48);

	ram = sgl_seed(3000, b, 48, AZIHSM_SGL_TYPE_SEGMENT);
	put_desc(ram, b + 0x10000, 1000, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 16, b + 0x11000, 1000, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 32, b + 0x1000, 32, AZIHSM_SGL_TYPE_SEGMENT);
	put_desc(ram + 0x1000, b + 0x12000, 500, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 0x1010, b + 0x2ff0, 16, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	put_desc(ram + 0x2ff0, b + 0x13000, 500, AZIHSM_SGL_TYPE_DATA);
	seed_write(dir, "chain", 21 + 0x3000);

	ram = sgl_seed(100000, b, 32, AZIHSM_SGL_TYPE_SEGMENT);
	put_desc(ram, b + 0x10000, 8, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 16, b, 32, AZIHSM_SGL_TYPE_SEGMENT);
	seed_write(dir, "loop", 21 + 32);

	ram = sgl_seed(8192, b, 32, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	put_desc(ram, b - 4096, 4096, AZIHSM_SGL_TYPE_DATA);
	put_desc(ram + 16, b + FG_RAM_SIZE - 4096, 4096, AZIHSM_SGL_TYPE_DATA);
	seed_write(dir, "edges", 21 + 32);

	sgl_seed(64, b + FG_RAM_SIZE, 64, AZIHSM_SGL_TYPE_LAST_SEGMENT);
	seed_write(dir, "list-not-ram", 21);

	prp_seed(dir, "prp-one", b + 0x100, 0, 512);
	prp_seed(dir, "prp-two", b + 0x800, b + 0x5000, 4096);
	prp_seed(dir, "prp-max", b + 0x0, b + 0x1000, AZIHSM_HSM_BUF_MAX);
	prp_seed(dir, "prp-edge", b + FG_RAM_SIZE - 8, b, 8);
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
