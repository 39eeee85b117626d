// SPDX-License-Identifier: MIT
/*
 * The device model against a hostile guest, through the real QEMU glue.
 * The driver is unbound and this test drives the controller itself from
 * userspace: BAR0/BAR2 mapped from sysfs, queues in locked user pages whose
 * physical addresses come from /proc/self/pagemap, completions polled.
 * It checks that DMA aimed at MMIO (the LAPIC, the device's own BAR),
 * beyond RAM, or with bus mastering off is refused with a status or CFS,
 * and that garbage in registers and doorbells changes nothing for good;
 * QEMU must stay up through all of it. Finally the driver is rebound and
 * must work.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "azihsm/hw.h"
#include "guest_util.h"
#include "kselftest_harness.h"

#define DRV "/sys/bus/pci/drivers/azihsm"
#define LAPIC_BASE 0xfee00000ull
#define BEYOND_RAM 0x7f00000000ull	/* far above the guest's 1 GiB */
#define NPAGES 4			/* ASQ, ACQ, identify, spare */

struct uctl {
	char bdf[32];
	int bar0_fd, bar2_fd;
	volatile uint32_t *bar0, *bar2;
	uint64_t bar0_phys;
	uint8_t *mem;			/* NPAGES locked pages */
	uint64_t phys[NPAGES];
	uint16_t sq_tail, cq_head, cid;
	bool phase;
};

static int bdf_of_device(char *bdf, size_t cap)
{
	char link[256];
	ssize_t n = readlink(GT_SYSFS "/device", link, sizeof(link) - 1);

	if (n < 0)
		return -errno;
	link[n] = '\0';
	snprintf(bdf, cap, "%s", strrchr(link, '/') + 1);
	return 0;
}

static uint64_t virt_to_phys(void *p)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = (off_t)((uintptr_t)p / 4096) * 8;

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, 8, off) != 8)
		entry = 0;
	close(fd);
	if (!(entry & (1ull << 63)))
		return 0;
	return (entry & ((1ull << 55) - 1)) * 4096 + ((uintptr_t)p & 4095);
}

static volatile uint32_t *map_bar(const char *bdf, int bar, int *fd)
{
	char path[128];
	void *p;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d", bdf, bar);
	*fd = open(path, O_RDWR | O_SYNC);
	if (*fd < 0)
		return NULL;
	p = mmap(NULL, AZIHSM_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int bar_phys(const char *bdf, int bar, uint64_t *phys)
{
	char path[128], buf[1024], *line;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	if (gt_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	line = buf;
	for (i = 0; i < bar && line; i++) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return line && sscanf(line, "%lx", (unsigned long *)phys) == 1 ? 0 : -1;
}

/* PCI command register bit 2: bus master. */
static int set_bus_master(const char *bdf, bool on)
{
	char path[128];
	uint16_t cmd;
	int fd, ret = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	if (pread(fd, &cmd, 2, 4) == 2) {
		cmd = on ? (cmd | 0x6) : (cmd & ~0x4);	/* memory + master */
		ret = pwrite(fd, &cmd, 2, 4) == 2 ? 0 : -1;
	}
	close(fd);
	return ret;
}

static uint32_t csts(struct uctl *u)
{
	return u->bar0[AZIHSM_REG_CSTS / 4];
}

static int wait_csts(struct uctl *u, uint32_t mask, uint32_t want)
{
	for (int i = 0; i < 500; i++) {
		if ((csts(u) & mask) == want)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void reg_write64(struct uctl *u, unsigned int off, uint64_t v)
{
	u->bar0[off / 4] = (uint32_t)v;
	u->bar0[off / 4 + 1] = (uint32_t)(v >> 32);
}

/* Disable, set up the admin queue in our pages (or @asq), enable. */
static int uctl_enable(struct uctl *u, uint64_t asq)
{
	u->bar0[AZIHSM_REG_CC / 4] = 0;
	if (wait_csts(u, AZIHSM_CSTS_RDY, 0))
		return -1;
	memset(u->mem, 0, 2 * 4096);
	u->sq_tail = u->cq_head = 0;
	u->phase = true;
	u->bar0[AZIHSM_REG_AQA / 4] = 15 | (15u << 16);
	reg_write64(u, AZIHSM_REG_ASQ, asq);
	reg_write64(u, AZIHSM_REG_ACQ, u->phys[1]);
	u->bar0[AZIHSM_REG_CC / 4] = AZIHSM_CC_EN;
	return wait_csts(u, AZIHSM_CSTS_RDY | AZIHSM_CSTS_CFS, AZIHSM_CSTS_RDY);
}

/* One admin command; returns the status or -ETIMEDOUT. */
static int uctl_admin(struct uctl *u, uint8_t opc, uint32_t cdw10, uint64_t prp1)
{
	struct azihsm_admin_sqe *sqe = (void *)(u->mem + (size_t)u->sq_tail * 64);
	volatile struct azihsm_admin_cqe *cqe;
	uint16_t st;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opc = opc;
	sqe->cid = htole16(++u->cid);
	sqe->prp1 = htole64(prp1);
	sqe->cdw10 = htole32(cdw10);
	u->sq_tail = (u->sq_tail + 1) % 16;
	__sync_synchronize();
	u->bar2[AZIHSM_DB_SQ_TAIL(0) / 4] = u->sq_tail;
	cqe = (void *)(u->mem + 4096 + (size_t)u->cq_head * 16);
	for (int i = 0; i < 500; i++) {
		st = le16toh(cqe->status);
		if (!!(st & AZIHSM_CQE_PHASE) == u->phase) {
			u->cq_head = (u->cq_head + 1) % 16;
			if (!u->cq_head)
				u->phase = !u->phase;
			u->bar2[AZIHSM_DB_CQ_HEAD(0) / 4] = u->cq_head;
			if (le16toh(cqe->cid) != u->cid)
				return -EBADMSG;
			return (st >> 1) & AZIHSM_CQE_STATUS_MASK;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

FIXTURE(abuse) {
	struct uctl u;
};

FIXTURE_SETUP(abuse)
{
	struct uctl *u = &self->u;
	char path[128];

	memset(u, 0, sizeof(*u));
	ASSERT_EQ(0, bdf_of_device(u->bdf, sizeof(u->bdf)));
	ASSERT_EQ(0, gt_write_file(DRV "/unbind", u->bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", u->bdf);
	ASSERT_NE(0, access(path, F_OK)) TH_LOG("driver still bound");
	ASSERT_EQ(0, set_bus_master(u->bdf, true));
	u->bar0 = map_bar(u->bdf, AZIHSM_BAR_CTRL, &u->bar0_fd);
	u->bar2 = map_bar(u->bdf, AZIHSM_BAR_DB, &u->bar2_fd);
	ASSERT_NE(NULL, u->bar0);
	ASSERT_NE(NULL, u->bar2);
	ASSERT_EQ(0, bar_phys(u->bdf, AZIHSM_BAR_CTRL, &u->bar0_phys));
	u->mem = mmap(NULL, NPAGES * 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, u->mem);
	for (int i = 0; i < NPAGES; i++) {
		u->phys[i] = virt_to_phys(u->mem + i * 4096);
		ASSERT_NE(0, u->phys[i]) TH_LOG("no physical address for page %d", i);
	}
	ASSERT_EQ(0, uctl_enable(u, u->phys[0]));
}

FIXTURE_TEARDOWN(abuse)
{
	struct uctl *u = &self->u;

	if (u->bar0) {
		u->bar0[AZIHSM_REG_CC / 4] = 0;
		wait_csts(u, AZIHSM_CSTS_RDY, 0);
		munmap((void *)u->bar0, AZIHSM_BAR_SIZE);
	}
	if (u->bar2)
		munmap((void *)u->bar2, AZIHSM_BAR_SIZE);
	close(u->bar0_fd);
	close(u->bar2_fd);
	if (u->mem && u->mem != MAP_FAILED)
		munmap(u->mem, NPAGES * 4096);
	/* Give the device back to the driver; it must come up clean. */
	gt_write_file(DRV "/bind", u->bdf);
	for (int i = 0; i < 300 && access(GT_DEV, F_OK); i++)
		usleep(100000);
	if (gt_device_works())
		fprintf(stderr, "# driver did not come back after %s\n", u->bdf);
}

TEST_F(abuse, userspace_identify_works)
{
	struct uctl *u = &self->u;
	struct azihsm_identify *id = (void *)(u->mem + 2 * 4096);

	ASSERT_EQ(0, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, u->phys[2]));
	EXPECT_EQ(AZIHSM_PCI_VENDOR_ID, le16toh(id->vid));
	EXPECT_EQ(0x66, id->cp_sqes);
}

TEST_F(abuse, dma_into_mmio_and_beyond_ram_refused)
{
	struct uctl *u = &self->u;

	EXPECT_EQ(AZIHSM_SC_DATA_XFER_ERROR, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, LAPIC_BASE));
	EXPECT_EQ(AZIHSM_SC_DATA_XFER_ERROR,
		  uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, u->bar0_phys));
	EXPECT_EQ(AZIHSM_SC_DATA_XFER_ERROR, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, BEYOND_RAM));
	/* The controller registers were not scribbled on by the refused DMA. */
	EXPECT_EQ(AZIHSM_CSTS_RDY, csts(u) & 3);
	EXPECT_EQ(AZIHSM_CC_EN, u->bar0[AZIHSM_REG_CC / 4]);
	EXPECT_EQ(0, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, u->phys[2]));
}

TEST_F(abuse, admin_queue_in_mmio_is_fatal_not_a_crash)
{
	struct uctl *u = &self->u;

	/* Enable with the admin SQ on the device's own registers. */
	u->bar0[AZIHSM_REG_CC / 4] = 0;
	ASSERT_EQ(0, wait_csts(u, AZIHSM_CSTS_RDY, 0));
	reg_write64(u, AZIHSM_REG_ASQ, u->bar0_phys);
	u->bar0[AZIHSM_REG_CC / 4] = AZIHSM_CC_EN;
	u->bar2[AZIHSM_DB_SQ_TAIL(0) / 4] = 1;
	EXPECT_EQ(0, wait_csts(u, AZIHSM_CSTS_CFS, AZIHSM_CSTS_CFS));
	/* A controller reset clears it and a sane set-up works again. */
	ASSERT_EQ(0, uctl_enable(u, u->phys[0]));
	EXPECT_EQ(0, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, u->phys[2]));
}

TEST_F(abuse, no_dma_without_bus_master)
{
	struct uctl *u = &self->u;

	ASSERT_EQ(0, set_bus_master(u->bdf, false));
	u->mem[0] = 0;
	/* The entry cannot even be fetched: fatal, and nothing written. */
	memset(u->mem + 4096, 0, 4096);
	u->bar2[AZIHSM_DB_SQ_TAIL(0) / 4] = 1;
	EXPECT_EQ(0, wait_csts(u, AZIHSM_CSTS_CFS, AZIHSM_CSTS_CFS));
	for (int i = 0; i < 4096; i++)
		ASSERT_EQ(0, u->mem[4096 + i]) TH_LOG("device wrote with bus mastering off");
	ASSERT_EQ(0, set_bus_master(u->bdf, true));
	ASSERT_EQ(0, uctl_enable(u, u->phys[0]));
	EXPECT_EQ(0, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, u->phys[2]));
}

TEST_F(abuse, garbage_registers_and_doorbells)
{
	struct uctl *u = &self->u;
	unsigned int seed = 12345;

	/* Every doorbell, every register offset, random values. */
	for (int i = 0; i < 2000; i++) {
		unsigned int off = (rand_r(&seed) % (AZIHSM_BAR_SIZE / 4)) * 4;

		u->bar2[off / 4] = (uint32_t)rand_r(&seed);
	}
	for (unsigned int off = 0; off < 0x100; off += 4)
		if (off != AZIHSM_REG_NSSR)
			u->bar0[off / 4] = (uint32_t)rand_r(&seed);
	for (unsigned int off = 0; off < 0x100; off += 4)
		(void)u->bar0[off / 4];
	/* Whatever state that left, a reset and a clean set-up recover. */
	ASSERT_EQ(0, uctl_enable(u, u->phys[0]));
	EXPECT_EQ(0, uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, u->phys[2]));
	EXPECT_EQ(AZIHSM_SC_INVALID_OPCODE, uctl_admin(u, 0xee, 0, 0));
	EXPECT_EQ(AZIHSM_SC_INVALID_QID, uctl_admin(u, AZIHSM_ADMIN_DELETE_SQ, 7, 0));
}

/* A fixture of its own so it runs after the abuse tests (fixture order). */
FIXTURE(after) {
	int unused;
};

FIXTURE_SETUP(after)
{
}

FIXTURE_TEARDOWN(after)
{
}

/* After all of the above the driver is bound again and works. */
TEST_F(after, driver_back_and_working)
{
	for (int i = 0; i < 300 && access(GT_DEV, F_OK); i++)
		usleep(100000);
	ASSERT_EQ(0, gt_device_works());
}

TEST_HARNESS_MAIN
