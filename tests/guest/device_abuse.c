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
#include "uctl.h"
#include "gt_harness.h"

#define LAPIC_BASE 0xfee00000ull
#define BEYOND_RAM 0x7f00000000ull	/* far above the guest's 1 GiB */

static int uctl_identify(struct uctl *u, uint64_t prp1)
{
	return uctl_admin(u, AZIHSM_ADMIN_IDENTIFY, 1, 0, prp1, NULL);
}

FIXTURE(abuse) {
	struct uctl u;
};

FIXTURE_SETUP(abuse)
{
	ASSERT_EQ(0, uctl_open(&self->u));
}

FIXTURE_TEARDOWN(abuse)
{
	uctl_close(&self->u);
	if (gt_device_works())
		fprintf(stderr, "# the driver did not come back\n");
}

TEST_F(abuse, userspace_identify_works)
{
	struct uctl *u = &self->u;
	struct azihsm_identify *id = (void *)uctl_page(u, UCTL_SPARE);

	ASSERT_EQ(0, uctl_identify(u, u->phys[UCTL_SPARE]));
	EXPECT_EQ(AZIHSM_PCI_VENDOR_ID, le16toh(id->vid));
	EXPECT_EQ(0x66, id->cp_sqes);
}

TEST_F(abuse, dma_into_mmio_and_beyond_ram_refused)
{
	struct uctl *u = &self->u;

	EXPECT_EQ(AZIHSM_SC_DATA_XFER_ERROR, uctl_identify(u, LAPIC_BASE));
	EXPECT_EQ(AZIHSM_SC_DATA_XFER_ERROR,
		  uctl_identify(u, u->bar0_phys));
	EXPECT_EQ(AZIHSM_SC_DATA_XFER_ERROR, uctl_identify(u, BEYOND_RAM));
	/* The controller registers were not scribbled on by the refused DMA. */
	EXPECT_EQ(AZIHSM_CSTS_RDY, uctl_csts(u) & 3);
	EXPECT_EQ(AZIHSM_CC_EN, u->bar0[AZIHSM_REG_CC / 4]);
	EXPECT_EQ(0, uctl_identify(u, u->phys[UCTL_SPARE]));
}

TEST_F(abuse, admin_queue_in_mmio_is_fatal_not_a_crash)
{
	struct uctl *u = &self->u;

	/* Enable with the admin SQ on the device's own registers. */
	u->bar0[AZIHSM_REG_CC / 4] = 0;
	ASSERT_EQ(0, uctl_wait_csts(u, AZIHSM_CSTS_RDY, 0));
	uctl_reg_write64(u, AZIHSM_REG_ASQ, u->bar0_phys);
	u->bar0[AZIHSM_REG_CC / 4] = AZIHSM_CC_EN;
	u->bar2[AZIHSM_DB_SQ_TAIL(0) / 4] = 1;
	EXPECT_EQ(0, uctl_wait_csts(u, AZIHSM_CSTS_CFS, AZIHSM_CSTS_CFS));
	/* A controller reset clears it and a sane set-up works again. */
	ASSERT_EQ(0, uctl_enable(u, u->phys[UCTL_ASQ]));
	EXPECT_EQ(0, uctl_identify(u, u->phys[UCTL_SPARE]));
}

TEST_F(abuse, no_dma_without_bus_master)
{
	struct uctl *u = &self->u;

	ASSERT_EQ(0, uctl_set_bus_master(u->bdf, false));
	u->mem[0] = 0;
	/* The entry cannot even be fetched: fatal, and nothing written. */
	memset(uctl_page(u, UCTL_ACQ), 0, 4096);
	u->bar2[AZIHSM_DB_SQ_TAIL(0) / 4] = 1;
	EXPECT_EQ(0, uctl_wait_csts(u, AZIHSM_CSTS_CFS, AZIHSM_CSTS_CFS));
	for (int i = 0; i < 4096; i++)
		ASSERT_EQ(0, uctl_page(u, UCTL_ACQ)[i]) TH_LOG("device wrote with bus mastering off");
	ASSERT_EQ(0, uctl_set_bus_master(u->bdf, true));
	ASSERT_EQ(0, uctl_enable(u, u->phys[UCTL_ASQ]));
	EXPECT_EQ(0, uctl_identify(u, u->phys[UCTL_SPARE]));
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
	ASSERT_EQ(0, uctl_enable(u, u->phys[UCTL_ASQ]));
	EXPECT_EQ(0, uctl_identify(u, u->phys[UCTL_SPARE]));
	EXPECT_EQ(AZIHSM_SC_INVALID_OPCODE, uctl_admin(u, 0xee, 0, 0, 0, NULL));
	EXPECT_EQ(AZIHSM_SC_INVALID_QID, uctl_admin(u, AZIHSM_ADMIN_DELETE_SQ, 7, 0, 0, NULL));
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
