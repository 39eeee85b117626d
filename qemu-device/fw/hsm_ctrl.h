/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware core: the controller behind the PCI function.
 *
 * Plain C (pthreads + OpenSSL), no QEMU types: the QEMU glue
 * (qemu-device/azihsm-pci.c) and the host unit tests drive the same code
 * through the same entry points. The host side provides DMA, interrupts
 * and a log through struct hsm_host_ops.
 *
 * Threading: register and doorbell writes come from the vCPU thread and
 * only update state and wake a worker; commands run on the core's worker
 * threads, one per created submission queue.
 */
#ifndef HSM_CTRL_H
#define HSM_CTRL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hsm_ctrl;

struct hsm_host_ops {
	/*
	 * Copy guest memory. Must fail (non-zero) for any address range that
	 * is not entirely guest RAM. Called from worker threads.
	 */
	int (*dma_read)(void *opaque, uint64_t addr, void *buf, size_t len);
	int (*dma_write)(void *opaque, uint64_t addr, const void *buf, size_t len);
	/* Signal MSI-X vector @vector. Called from worker threads. */
	void (*irq)(void *opaque, unsigned int vector);
	/* A guest programming error (QEMU: LOG_GUEST_ERROR). */
	void (*guest_error)(void *opaque, const char *fmt, va_list ap);
};

struct hsm_ctrl_config {
	const char *serial;	/* <= 32 ASCII chars */
	const char *fw_rev;	/* <= 32 ASCII chars */
	const char *model;	/* <= 32 ASCII chars */
	const char *state_path;	/* sealed partition state file, NULL: volatile */
	uint16_t ctrl_id;
	unsigned int hsm_queues_max;	/* 1..AZIHSM_HSM_QUEUES_MAX */
	unsigned int aes_queues_max;	/* 0..AZIHSM_AES_QUEUES_MAX */
	/*
	 * Test only (device.md, "Test-only fault properties"); 0 = off: the
	 * device takes the Nth AES fast-path command after each enable off
	 * its ring and never completes it, as a hung device would.
	 */
	unsigned int fault_aes_stall;
	/*
	 * Test only (device.md, "Test-only fault properties"); NULL = off:
	 * one AES mode's output ("aes-ecb", "aes-cbc", "aes-ctr", "aes-xts",
	 * "aes-gcm") comes back with its first byte flipped, so that
	 * `azihsm validate` can be seen to catch a wrong answer. Any other
	 * value: hsm_ctrl_new fails.
	 */
	const char *fault_corrupt;
};

/* NULL on failure (bad config, OpenSSL DRBG or self-test failure). */
struct hsm_ctrl *hsm_ctrl_new(const struct hsm_ctrl_config *cfg,
			      const struct hsm_host_ops *ops, void *opaque);
void hsm_ctrl_free(struct hsm_ctrl *c);

/* BAR0 access; @size is 4 or 8; misaligned/odd sizes read 0 and log. */
uint64_t hsm_ctrl_reg_read(struct hsm_ctrl *c, uint64_t off, unsigned int size);
void hsm_ctrl_reg_write(struct hsm_ctrl *c, uint64_t off, uint64_t val, unsigned int size);
/* BAR2 access (4-byte doorbells). */
void hsm_ctrl_doorbell_write(struct hsm_ctrl *c, uint64_t off, uint32_t val);
/*
 * PCI-level reset (FLR, system reset): as CC.EN=0 plus register defaults;
 * the firmware's sessions and session keys are dropped (hsm_fw_reset_sessions).
 */
void hsm_ctrl_reset(struct hsm_ctrl *c);
/* Wait until every worker is idle (tests, migration-free shutdown). */
void hsm_ctrl_quiesce(struct hsm_ctrl *c);

#endif /* HSM_CTRL_H */
