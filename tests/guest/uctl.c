// SPDX-License-Identifier: MIT
/*
 * The userspace controller of uctl.h: the driver unbound, the device
 * driven from a test program through its BARs and DMA into locked pages.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_util.h"
#include "uctl.h"

#define POLL_TRIES	500	/* x 10 ms */

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
int uctl_set_bus_master(const char *bdf, bool on)
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

uint32_t uctl_csts(struct uctl *u)
{
	return u->bar0[AZIHSM_REG_CSTS / 4];
}

int uctl_wait_csts(struct uctl *u, uint32_t mask, uint32_t want)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		if ((uctl_csts(u) & mask) == want)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

void uctl_reg_write64(struct uctl *u, unsigned int off, uint64_t v)
{
	u->bar0[off / 4] = (uint32_t)v;
	u->bar0[off / 4 + 1] = (uint32_t)(v >> 32);
}

static void ring_init(struct uctl_ring *r, uint16_t qid)
{
	memset(r, 0, sizeof(*r));
	r->qid = qid;
	r->phase = true;
}

int uctl_enable(struct uctl *u, uint64_t asq)
{
	u->bar0[AZIHSM_REG_CC / 4] = 0;
	if (uctl_wait_csts(u, AZIHSM_CSTS_RDY, 0))
		return -1;
	memset(u->mem, 0, (size_t)UCTL_NPAGES * 4096);
	ring_init(&u->admin, AZIHSM_QID_ADMIN);
	u->bar0[AZIHSM_REG_AQA / 4] = (UCTL_ENTRIES - 1) | ((UCTL_ENTRIES - 1) << 16);
	uctl_reg_write64(u, AZIHSM_REG_ASQ, asq);
	uctl_reg_write64(u, AZIHSM_REG_ACQ, u->phys[UCTL_ACQ]);
	u->bar0[AZIHSM_REG_CC / 4] = AZIHSM_CC_EN;
	return uctl_wait_csts(u, AZIHSM_CSTS_RDY | AZIHSM_CSTS_CFS, AZIHSM_CSTS_RDY);
}

/*
 * Ring @r's SQ doorbell after the entry at its tail was written, then poll
 * its CQ (entries of @cqe_size bytes in @cq) for the entry whose phase
 * matches; the caller checks the command id. Returns the CQE or NULL.
 */
static volatile uint8_t *submit_poll(struct uctl *u, struct uctl_ring *r, uint8_t *cq,
				     size_t cqe_size)
{
	volatile uint8_t *cqe;
	uint16_t st;

	r->tail = (r->tail + 1) % UCTL_ENTRIES;
	__sync_synchronize();
	u->bar2[AZIHSM_DB_SQ_TAIL(r->qid) / 4] = r->tail;
	cqe = cq + (size_t)r->head * cqe_size;
	for (int i = 0; i < POLL_TRIES; i++) {
		/* Every CQE kind ends with the phase + status u16. */
		st = le16toh(*(volatile uint16_t *)(cqe + cqe_size - 2));
		if (!!(st & AZIHSM_CQE_PHASE) == r->phase) {
			__sync_synchronize();
			r->head = (r->head + 1) % UCTL_ENTRIES;
			if (!r->head)
				r->phase = !r->phase;
			u->bar2[AZIHSM_DB_CQ_HEAD(r->qid) / 4] = r->head;
			return cqe;
		}
		usleep(10000);
	}
	return NULL;
}

static int cqe_status(volatile const uint8_t *cqe, size_t cqe_size)
{
	return (le16toh(*(volatile const uint16_t *)(cqe + cqe_size - 2)) >> 1) &
	       AZIHSM_CQE_STATUS_MASK;
}

int uctl_admin(struct uctl *u, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint64_t prp1,
	       uint32_t *dw0)
{
	struct azihsm_admin_sqe *sqe = (void *)(uctl_page(u, UCTL_ASQ) + u->admin.tail * 64);
	struct azihsm_admin_cqe c;
	volatile uint8_t *cqe;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opc = opc;
	sqe->cid = htole16(++u->admin.cid);
	sqe->prp1 = htole64(prp1);
	sqe->cdw10 = htole32(cdw10);
	sqe->cdw11 = htole32(cdw11);
	cqe = submit_poll(u, &u->admin, uctl_page(u, UCTL_ACQ), sizeof(c));
	if (!cqe)
		return -ETIMEDOUT;
	memcpy(&c, (const void *)cqe, sizeof(c));
	if (le16toh(c.cid) != u->admin.cid)
		return -EBADMSG;
	if (dw0)
		*dw0 = le32toh(c.result);
	return cqe_status(cqe, sizeof(c));
}

int uctl_io_queues(struct uctl *u)
{
	uint32_t size = (UCTL_ENTRIES - 1) << 16;
	int st;

	u->bar0[AZIHSM_REG_CC / 4] = AZIHSM_CC_IO_ENABLE;
	ring_init(&u->hsm, AZIHSM_QID_HSM_FIRST);
	ring_init(&u->aes, AZIHSM_QID_AES_FIRST);
	st = uctl_admin(u, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_HSM_QUEUES, 0, 0, NULL);
	if (!st)
		st = uctl_admin(u, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0, 0, NULL);
	/* Polled CQs: PC, no IEN. SQ DW11: PC | cqid << 16. */
	if (!st)
		st = uctl_admin(u, AZIHSM_ADMIN_CREATE_CQ, u->hsm.qid | size, AZIHSM_CREATE_PC,
				u->phys[UCTL_HCQ], NULL);
	if (!st)
		st = uctl_admin(u, AZIHSM_ADMIN_CREATE_SQ, u->hsm.qid | size,
				AZIHSM_CREATE_PC | ((uint32_t)u->hsm.qid << 16), u->phys[UCTL_HSQ],
				NULL);
	if (!st)
		st = uctl_admin(u, AZIHSM_ADMIN_CREATE_CQ, u->aes.qid | size, AZIHSM_CREATE_PC,
				u->phys[UCTL_FCQ], NULL);
	if (!st)
		st = uctl_admin(u, AZIHSM_ADMIN_CREATE_SQ, u->aes.qid | size,
				AZIHSM_CREATE_PC | ((uint32_t)u->aes.qid << 16), u->phys[UCTL_FSQ],
				NULL);
	return st;
}

int uctl_hsm(struct uctl *u, const struct azihsm_hsm_sqe *sqe, const void *req,
	     size_t req_len, size_t rsp_cap, struct azihsm_hsm_cqe *cqe)
{
	struct azihsm_hsm_sqe *e = (void *)(uctl_page(u, UCTL_HSQ) + u->hsm.tail * 64);
	volatile uint8_t *c;
	uint32_t dw0;

	if (req_len > 4096 || rsp_cap > 4096)
		return -EINVAL;
	memcpy(uctl_page(u, UCTL_REQ), req, req_len);
	memset(uctl_page(u, UCTL_RSP), 0, 4096);
	*e = *sqe;
	dw0 = le32toh(sqe->dw0) & 0xffffu;
	e->dw0 = htole32(dw0 | ((uint32_t)++u->hsm.cid << AZIHSM_HSQE_CID_SHIFT));
	e->src_len = htole32((uint32_t)req_len);
	e->src_prp1 = htole64(u->phys[UCTL_REQ]);
	e->dst_len = htole32((uint32_t)rsp_cap);
	e->dst_prp1 = htole64(u->phys[UCTL_RSP]);
	c = submit_poll(u, &u->hsm, uctl_page(u, UCTL_HCQ), sizeof(*cqe));
	if (!c)
		return -ETIMEDOUT;
	memcpy(cqe, (const void *)c, sizeof(*cqe));
	if (le16toh(cqe->cid) != u->hsm.cid)
		return -EBADMSG;
	return cqe_status(c, sizeof(*cqe));
}

int uctl_aes(struct uctl *u, const struct azihsm_aes_sqe *sqe, struct azihsm_aes_cqe *cqe)
{
	struct azihsm_aes_sqe *e = (void *)(uctl_page(u, UCTL_FSQ) + u->aes.tail * 128);
	volatile uint8_t *c;

	*e = *sqe;
	e->cmd_id = htole16(++u->aes.cid);
	c = submit_poll(u, &u->aes, uctl_page(u, UCTL_FCQ), sizeof(*cqe));
	if (!c)
		return -ETIMEDOUT;
	memcpy(cqe, (const void *)c, sizeof(*cqe));
	if (le16toh(cqe->cmd_id) != u->aes.cid)
		return -EBADMSG;
	return cqe_status(c, sizeof(*cqe));
}

int uctl_open(struct uctl *u)
{
	char path[128];

	memset(u, 0, sizeof(*u));
	u->bar0_fd = u->bar2_fd = -1;
	if (bdf_of_device(u->bdf, sizeof(u->bdf)) ||
	    gt_write_file(UCTL_DRV "/unbind", u->bdf))
		return -ENODEV;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", u->bdf);
	if (!access(path, F_OK) || uctl_set_bus_master(u->bdf, true))
		return -EBUSY;
	u->bar0 = map_bar(u->bdf, AZIHSM_BAR_CTRL, &u->bar0_fd);
	u->bar2 = map_bar(u->bdf, AZIHSM_BAR_DB, &u->bar2_fd);
	if (!u->bar0 || !u->bar2 || bar_phys(u->bdf, AZIHSM_BAR_CTRL, &u->bar0_phys))
		return -EIO;
	u->mem = mmap(NULL, (size_t)UCTL_NPAGES * 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	if (u->mem == MAP_FAILED) {
		u->mem = NULL;
		return -ENOMEM;
	}
	for (int i = 0; i < UCTL_NPAGES; i++) {
		u->phys[i] = virt_to_phys(u->mem + (size_t)i * 4096);
		if (!u->phys[i])
			return -EFAULT;
	}
	return uctl_enable(u, u->phys[UCTL_ASQ]) ? -EIO : 0;
}

void uctl_close(struct uctl *u)
{
	if (u->bar0) {
		u->bar0[AZIHSM_REG_CC / 4] = 0;
		uctl_wait_csts(u, AZIHSM_CSTS_RDY, 0);
		munmap((void *)u->bar0, AZIHSM_BAR_SIZE);
	}
	if (u->bar2)
		munmap((void *)u->bar2, AZIHSM_BAR_SIZE);
	if (u->bar0_fd >= 0)
		close(u->bar0_fd);
	if (u->bar2_fd >= 0)
		close(u->bar2_fd);
	if (u->mem)
		munmap(u->mem, (size_t)UCTL_NPAGES * 4096);
	/* Give the device back to the driver; it must come up clean. */
	gt_write_file(UCTL_DRV "/bind", u->bdf);
	for (int i = 0; i < 300 && access(GT_DEV, F_OK); i++)
		usleep(100000);
	memset(u, 0, sizeof(*u));
}
