/* SPDX-License-Identifier: MIT */
/*
 * A userspace controller for the guest tests that play a hostile guest
 * with the driver unbound (device_abuse, authz): BAR0/BAR2 mapped from
 * sysfs, queues and buffers in locked user pages whose physical addresses
 * come from /proc/self/pagemap, completions polled (no interrupts).
 *
 * Functions return 0 (or a completion status) and a negative errno on
 * failure.
 */
#ifndef AZIHSM_UCTL_H
#define AZIHSM_UCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azihsm/hw.h"

#define UCTL_DRV	"/sys/bus/pci/drivers/azihsm"
#define UCTL_ENTRIES	16	/* every queue: 16 entries */

/* The pages of struct uctl, by job. */
enum uctl_page {
	UCTL_ASQ, UCTL_ACQ, UCTL_SPARE,		/* admin queue, identify or free use */
	UCTL_HSQ, UCTL_HCQ, UCTL_REQ, UCTL_RSP,	/* HSM queue 1 and its buffers */
	UCTL_FSQ, UCTL_FCQ, UCTL_SRC, UCTL_DST,	/* AES queue 256 and its data */
	UCTL_NPAGES
};

struct uctl_ring {
	uint16_t qid, tail, head, cid;
	bool phase;
};

struct uctl {
	char bdf[32];
	int bar0_fd, bar2_fd;
	volatile uint32_t *bar0, *bar2;
	uint64_t bar0_phys;
	uint8_t *mem;			/* UCTL_NPAGES locked pages */
	uint64_t phys[UCTL_NPAGES];
	struct uctl_ring admin, hsm, aes;
};

static inline uint8_t *uctl_page(struct uctl *u, enum uctl_page p)
{
	return u->mem + (size_t)p * 4096;
}

/* Unbind the driver, map the BARs, lock the pages, enable the controller. */
int uctl_open(struct uctl *u);
/* Disable the controller, unmap, rebind the driver and wait for its device. */
void uctl_close(struct uctl *u);

int uctl_set_bus_master(const char *bdf, bool on);
uint32_t uctl_csts(struct uctl *u);
int uctl_wait_csts(struct uctl *u, uint32_t mask, uint32_t want);
void uctl_reg_write64(struct uctl *u, unsigned int off, uint64_t v);

/* Disable, set up the admin queue at @asq (our page or not), enable. */
int uctl_enable(struct uctl *u, uint64_t asq);
/* One admin command: its completion status (DW0 in *@dw0 if not NULL). */
int uctl_admin(struct uctl *u, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint64_t prp1,
	       uint32_t *dw0);
/* CC with the I/O entry sizes, then HSM queue 1 and AES queue 256 (polled). */
int uctl_io_queues(struct uctl *u);

/*
 * One HSM command on queue 1: @sqe's session fields as given, its buffers
 * the REQ page (@req_len bytes of @req copied there) and the RSP page
 * (@rsp_cap bytes). The CQE is copied to *@cqe; returns its status.
 */
int uctl_hsm(struct uctl *u, const struct azihsm_hsm_sqe *sqe, const void *req,
	     size_t req_len, size_t rsp_cap, struct azihsm_hsm_cqe *cqe);
/*
 * One AES command on queue 256: @sqe as given but for cmd_id; the CQE is
 * copied to *@cqe; returns its status.
 */
int uctl_aes(struct uctl *u, const struct azihsm_aes_sqe *sqe, struct azihsm_aes_cqe *cqe);

#endif /* AZIHSM_UCTL_H */
