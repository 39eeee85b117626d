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
 * threads, one per created submission queue. With inline execution on
 * (hsm_ctrl_set_inline), a quick command rung onto an idle I/O queue runs
 * in the doorbell write itself, on the caller's thread.
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
	/*
	 * Signal MSI-X vector @vector. Called from worker threads, with the
	 * controller lock held; and from the doorbell write's thread for an
	 * inline command (QEMU: the vCPU, with the BQL, sends it at once).
	 */
	void (*irq)(void *opaque, unsigned int vector);
	/* A guest programming error (QEMU: LOG_GUEST_ERROR). */
	void (*guest_error)(void *opaque, const char *fmt, va_list ap);
};

/* Length of the fuse-root-hash property: hex of a SHA-384 (hsm_boot.h). */
#define HSM_CTRL_ROOT_HASH_HEX	96

struct hsm_ctrl_config {
	const char *serial;	/* <= 32 ASCII chars */
	const char *fw_rev;	/* <= 32 ASCII chars */
	const char *model;	/* <= 32 ASCII chars */
	const char *state_path;	/* sealed partition state file, NULL: volatile */
	const char *root_cert;	/* identity: hsm_fw_config (hsm_fw.h) */
	const char *devcert;
	/*
	 * Secure boot (hsm_boot.h): the signed manifest (NULL: none) and the
	 * fuses: root key hash as 96 lowercase hex digits (NULL: not blown),
	 * minimum SVN. Bad hex: hsm_ctrl_new fails.
	 */
	const char *fw_image;
	const char *fuse_root_hash;	/* HSM_CTRL_ROOT_HASH_HEX digits */
	uint32_t fuse_min_svn;
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
	 * Test only (device property `selftest-fail`): the self-test of this
	 * name fails at every run, so the device starts in its error state.
	 */
	const char *selftest_fail;
	/*
	 * Test only (device.md, "Test-only fault properties"); NULL = off:
	 * one AES mode's output ("aes-ecb", "aes-cbc", "aes-ctr", "aes-xts",
	 * "aes-gcm") comes back with its first byte flipped, so that
	 * `azihsm validate` can be seen to catch a wrong answer. Any other
	 * value: hsm_ctrl_new fails.
	 */
	const char *fault_corrupt;
};

/*
 * Test-only faults (device.md, "Test-only fault properties"), set by the
 * host at run time (QEMU: qom-set on the device; the guest cannot reach
 * them). Thread-safe against the workers: they live under the controller
 * lock. "I/O" means the HSM and AES queues; the admin queue is never hit,
 * so the driver can always reset.
 */
enum hsm_fault {
	HSM_FAULT_FAIL,		/* next N I/O commands: not run, INTERNAL */
	HSM_FAULT_DELAY_MS,	/* next I/O completion held N ms (one shot) */
	HSM_FAULT_DROP_IRQ,	/* next N I/O completion interrupts not sent */
	HSM_FAULT_CFS,		/* != 0 while enabled: CSTS.CFS now; reads 0 */
	HSM_FAULT_AES_STALL,	/* as hsm_ctrl_config.fault_aes_stall; set: count anew */
	HSM_FAULT_NR
};

/* Set fault @f to @val (see enum hsm_fault); out-of-range @f is ignored. */
void hsm_ctrl_set_fault(struct hsm_ctrl *c, enum hsm_fault f, uint32_t val);
/* What is left of fault @f (counts down as faults are injected). */
uint32_t hsm_ctrl_get_fault(struct hsm_ctrl *c, enum hsm_fault f);
/* Faults injected since the controller was made (all kinds). */
uint64_t hsm_ctrl_faults_injected(struct hsm_ctrl *c);

/*
 * Perf trace (QEMU property perf-trace; Documentation/benchmarks.md): the
 * time each I/O command (HSM and AES queues) spends in each stage of its
 * round trip, as a count, mean, maximum and log2 histogram per stage.
 * Stamps are taken only on an idle queue's doorbell (one in flight), so
 * the stages add up to the round trip of one command. Off by default; off
 * costs one flag test per doorbell and completion.
 */
enum hsm_perf_stage {
	HSM_PERF_WAKE,		/* SQ tail doorbell -> worker has the entry */
	HSM_PERF_EXEC,		/* worker: SQE fetch + command + response DMA */
	HSM_PERF_POST,		/* command done -> CQE written, interrupt raised */
	HSM_PERF_IRQ,		/* interrupt raised -> host sent the MSI-X message */
	HSM_PERF_GUEST_IRQ,	/* MSI-X sent -> driver's CQ head doorbell */
	HSM_PERF_GUEST_NEXT,	/* CQ head doorbell -> next SQ tail doorbell */
	HSM_PERF_DEVICE,	/* SQ tail doorbell -> MSI-X sent (device total) */
	HSM_PERF_NR
};

#define HSM_PERF_BUCKETS	16	/* [0,1) [1,2) [2,4) ... [8192,inf) us */

struct hsm_perf_hist {
	uint64_t n, sum_ns, max_ns;
	uint64_t bucket[HSM_PERF_BUCKETS];
};

/*
 * Inline execution (QEMU property perf-inline, on by default there; off in
 * a new controller): an SQ tail doorbell that adds one quick command to an
 * idle HSM or AES queue runs it in the doorbell write and posts its
 * completion before returning (hsm_sq_inline), instead of waking the
 * queue's worker thread. Never while a test-only fault is set.
 */
void hsm_ctrl_set_inline(struct hsm_ctrl *c, bool on);
/* Commands run inline since the controller was made. */
uint64_t hsm_ctrl_inline_count(struct hsm_ctrl *c);

/* Turn the perf trace on (the counts start again from zero) or off. */
void hsm_ctrl_perf_enable(struct hsm_ctrl *c, bool on);
bool hsm_ctrl_perf_enabled(struct hsm_ctrl *c);
/* The host sent the MSI-X message of @vector (host ops .irq was called). */
void hsm_ctrl_perf_irq_sent(struct hsm_ctrl *c, unsigned int vector);
/* The counts so far as a text table (malloc'd; NULL without memory). */
char *hsm_ctrl_perf_report(struct hsm_ctrl *c);

/*
 * Tamper sensors (device properties tamper-enclosure, sensor-voltage-mv,
 * sensor-temperature-c, sensor-clock-khz; set at run time with qom-set): a
 * reading outside its range is a tamper event (hsm_fw_tamper). The
 * enclosure reads 0 while closed; anything else is open.
 */
#define HSM_SENSOR_VOLTAGE_NOMINAL	3300	/* mV */
#define HSM_SENSOR_VOLTAGE_MIN		2970
#define HSM_SENSOR_VOLTAGE_MAX		3630
#define HSM_SENSOR_TEMP_NOMINAL		40	/* degrees C */
#define HSM_SENSOR_TEMP_MIN		(-20)
#define HSM_SENSOR_TEMP_MAX		85
#define HSM_SENSOR_CLOCK_NOMINAL	100000	/* kHz */
#define HSM_SENSOR_CLOCK_MIN		90000
#define HSM_SENSOR_CLOCK_MAX		110000

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
/*
 * A new reading of sensor @sensor (enum azihsm_tamper_sensor); out of its
 * range it is a tamper event. Returns 1 if it was one, 0, or -1 for an
 * unknown sensor. Any thread.
 */
int hsm_ctrl_sensor_set(struct hsm_ctrl *c, unsigned int sensor, int32_t value);
int32_t hsm_ctrl_sensor_get(struct hsm_ctrl *c, unsigned int sensor);
/* The firmware behind @c (tests). */
struct hsm_fw *hsm_ctrl_fw(struct hsm_ctrl *c);
/* Wait until every worker is idle (tests, migration-free shutdown). */
void hsm_ctrl_quiesce(struct hsm_ctrl *c);

#endif /* HSM_CTRL_H */
