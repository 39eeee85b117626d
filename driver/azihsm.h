/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * azihsm driver internals: the per-device structure, the queues, and the
 * functions the driver's files offer each other.
 *
 * Lifetime: struct azihsm_dev is reference counted (kref). The PCI device
 * holds one reference from probe to remove, every open file and crypto
 * transform holds one; hdev holds a reference to the pci_dev.
 * Hardware resources (BARs, DMA memory, IRQs) live only from probe to
 * remove; after remove, state is AZIHSM_STATE_GONE and every ioctl fails
 * with -ENODEV without touching them.
 *
 * Locking, outermost first:
 *   io_rwsem (read)  held by every command from queue choice to result,
 *                    taken for write by a reset or remove to have the
 *                    queues to itself.
 *   admin_mutex      one admin command at a time.
 *   lock             state and removing.
 *   ring.lock        one queue's ring and its slots; taken in the MSI-X
 *                    handler (HSM) or the completion tasklet (AES).
 *   admin.lock       the admin ring; taken in the MSI-X handler.
 */
#ifndef AZIHSM_DRV_H
#define AZIHSM_DRV_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/hw_random.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "azihsm/hw.h"
#include "uapi/linux/azihsm.h"

#define AZIHSM_DRV_VERSION	"0.1.0"

#define AZIHSM_ADMIN_DEPTH	16	/* AQA 15/15: one 4 KiB page each */
#define AZIHSM_MINORS		256
#define AZIHSM_CMD_TIMEOUT_MAX_MS 60000	/* below the hung-task detector */
#define AZIHSM_TIMEOUT_MIN_MS	100	/* floor of the timeout parameters */
#define AZIHSM_CRYPTO_DEPTH_MAX	4096

/*
 * A uint module parameter that refuses values outside [lo, hi], at load
 * and when written (issue 9): -EINVAL, the old value stays.
 */
#define AZIHSM_PARAM_RANGE(name, var, lo, hi, mode)				\
static int azihsm_param_set_##name(const char *val, const struct kernel_param *kp) \
{										\
	return param_set_uint_minmax(val, kp, lo, hi);				\
}										\
static const struct kernel_param_ops azihsm_param_##name = {			\
	.set = azihsm_param_set_##name,						\
	.get = param_get_uint,							\
};										\
module_param_cb(name, &azihsm_param_##name, &(var), mode)
#define AZIHSM_HEALTH_PERIOD_MS	2000

enum azihsm_state {
	AZIHSM_STATE_INITIALIZING,
	AZIHSM_STATE_READY,
	AZIHSM_STATE_RESETTING,
	AZIHSM_STATE_DEAD,	/* re-init failed: every command fails fast */
	AZIHSM_STATE_GONE,	/* removed: files still open, no hardware */
};

/* Module parameters (main.c). */
extern unsigned int azihsm_hsm_queues;
extern unsigned int azihsm_queue_depth;
extern unsigned int azihsm_admin_timeout_ms;
extern unsigned int azihsm_cmd_timeout_ms;
extern unsigned int azihsm_aes_queues;

struct azihsm_admin_queue {
	spinlock_t lock;		/* ring and command state, vs. the IRQ */
	struct azihsm_admin_sqe *sq;
	struct azihsm_admin_cqe *cq;
	dma_addr_t sq_dma;
	dma_addr_t cq_dma;
	u16 sq_tail;
	u16 cq_head;
	u8 cq_phase;
	u16 next_cid;
	/* The one command in flight. */
	bool waiting;
	u16 wait_cid;
	u16 status;
	u32 result;
	struct completion done;
	/*
	 * The Async Event Request the device holds (admin opcode 0xC8), and
	 * the events it completed that event_work has not handled yet.
	 */
	bool aer_armed;
	bool aer_unsupported;	/* the device refused it: not re-armed */
	bool aer_stop;		/* remove: no more event_work, no re-arm */
	u16 aer_cid;
	u32 ev[8];
	unsigned int ev_n;
};

/*
 * An SQ/CQ ring pair (ring.c), the part an HSM queue and an AES queue
 * share: entries of sqe_size and cqe_size bytes, the free command ids
 * (depth - 1 of them: the CQ can never overflow), the MSI-X vector.
 */
struct azihsm_ring {
	struct azihsm_dev *dev;
	spinlock_t lock;	/* ring, free ids, stopped (and the queue's slots) */
	u16 qid;
	u16 vector;		/* MSI-X vector index */
	u16 depth;		/* SQ and CQ entries */
	u16 nslots;		/* depth - 1 */
	u16 sqe_size;
	u16 cqe_size;
	void *sq;
	void *cq;
	dma_addr_t sq_dma;
	dma_addr_t cq_dma;
	u16 sq_tail;
	u16 sq_head;		/* last head the device reported */
	u16 cq_head;
	u8 cq_phase;
	bool stopped;		/* reset/remove: nothing more goes on the ring */
	bool irq_requested;
	u16 nfree;
	u16 *free;		/* stack of free command ids */
	void *irq_data;		/* the handler's argument */
	char irq_name[32];
};

static inline u16 azihsm_ring_dist(const struct azihsm_ring *r, u16 from, u16 to)
{
	return (to + r->depth - from) % r->depth;
}

/* Entries on the SQ the device has not yet reported consumed. */
static inline u16 azihsm_ring_sq_used(const struct azihsm_ring *r)
{
	return azihsm_ring_dist(r, r->sq_head, r->sq_tail);
}

/* The SQE at the tail, the next one azihsm_ring_sq_push() hands over. */
static inline void *azihsm_ring_sqe(const struct azihsm_ring *r)
{
	return r->sq + (size_t)r->sq_tail * r->sqe_size;
}

enum azihsm_slot_state {
	AZIHSM_SLOT_FREE,
	AZIHSM_SLOT_RESERVED,	/* owned by a submitter, not yet on the ring */
	AZIHSM_SLOT_INFLIGHT,	/* the device owns the buffers */
	AZIHSM_SLOT_DONE,	/* completed (or failed by reset), owner reads */
	AZIHSM_SLOT_TIMED_OUT,	/* owner gave up; held until the next reset */
};

/*
 * One command context. Its index is the command id (cid). The bounce
 * buffers are two physically contiguous 4 KiB pages each, so an SQE
 * describes them with PRP1 and PRP2 and never a PRP list.
 */
struct azihsm_slot {
	enum azihsm_slot_state state;
	void *src;
	void *dst;
	dma_addr_t src_dma;
	dma_addr_t dst_dma;
	u32 src_used;			/* request bytes in src (0: unknown) */
	struct completion done;
	struct azihsm_hsm_cqe cqe;	/* copy of the completion */
	int result;			/* 0: device completed; else -errno */
	u32 ext_status;			/* AZIHSM_EXT_* when result != 0 */
};

struct azihsm_hsm_queue {
	struct azihsm_ring ring;	/* ring.lock also guards the slots */
	u16 nreserved;
	struct azihsm_slot *slots;
	wait_queue_head_t slot_wq;
};

/*
 * One AES fast-path command (aes_queue.c). The caller fills @sqe except
 * cmd_id and the two SGL descriptors, and says which bytes of its
 * scatterlists the device reads and writes: src is the first @aad_len
 * bytes of @src, @pad zero bytes, then @text_len bytes at @text_off; dst
 * is @text_len bytes at @text_off of @dst (@dst may be @src). @done runs
 * once, in softirq context (the queue's completion tasklet) or, when a
 * reset or removal fails it, in process context with bottom halves
 * disabled: err 0 with the completion entry, -EBADMSG
 * (GCM tag), -EIO (the device refused it, or a reset overtook it and its
 * output overlaps its input: the device may have written part of it),
 * -EAGAIN (a reset overtook it, output and input apart: run it again on
 * the control path) or -ENODEV (device removed).
 */
struct azihsm_aes_cmd {
	struct azihsm_aes_sqe sqe;
	struct scatterlist *src;
	struct scatterlist *dst;
	unsigned int aad_len;
	unsigned int pad;
	unsigned int text_off;
	unsigned int text_len;
	void (*done)(struct azihsm_aes_cmd *cmd, int err,
		     const struct azihsm_aes_cqe *cqe);
	/* Private to aes_queue.c. */
	int src_mapped;
	int dst_mapped;
	int src_nents;
	int dst_nents;
};

/* The attr bits every fast-path SQE of ours has: SGLs, an AES command. */
#define AZIHSM_AES_ATTR_SGL_AES						\
	(AZIHSM_AES_ATTR_PSDT_SGL |					\
	 (AZIHSM_AES_ATTR_CMD_TYPE_AES << AZIHSM_AES_ATTR_CMD_TYPE_SHIFT))

/* Scatterlist entries one fast-path command takes per side (and the pad). */
#define AZIHSM_AES_SGL_MAX	32

struct azihsm_aes_slot {
	struct azihsm_aes_cmd *cmd;	/* NULL: free */
	struct azihsm_sgl_desc *src_list;
	struct azihsm_sgl_desc *dst_list;
	dma_addr_t src_list_dma;
	dma_addr_t dst_list_dma;
	struct azihsm_aes_cqe cqe;
	int result;
	u16 next_done;			/* completion list, U16_MAX ends it */
	unsigned long deadline;		/* jiffies: in flight past it, reset */
};

struct azihsm_aes_queue {
	struct azihsm_ring ring;	/* ring.lock also guards the slots */
	void *lists;		/* per slot: src then dst descriptor list; pad */
	dma_addr_t lists_dma;
	size_t lists_size;
	struct azihsm_aes_slot *slots;
	struct tasklet_struct done_tasklet;	/* completions, in softirq */
};

struct azihsm_stats {
	atomic64_t fast_submitted;	/* AES fast-path commands */
	atomic64_t fast_completed;	/* ... the device completed */
	atomic64_t fast_timed_out;	/* ... found past their deadline */
	atomic64_t submitted;
	atomic64_t completed;	/* the device posted a completion */
	atomic64_t failed;	/* failed by a reset or removal instead */
	atomic64_t timed_out;
	atomic64_t resets;
	atomic64_t missed_irqs;	/* completions found by a timeout, not an interrupt */
};

/* The driver's own device session (ksession.c). */
struct azihsm_ksession {
	struct rw_semaphore rwsem;	/* read: using key ids; write: changes */
	/*
	 * For the fast path, which may run in softirq (IPsec) and so takes no
	 * rwsem: @busy is true while a writer holds rwsem, and every change
	 * of @busy bumps @seq. A reader that sees @busy false in one @seq
	 * window has a consistent open/id/app_id/gen and key ids (ksession.c).
	 */
	seqcount_t seq;
	bool busy;
	bool open;
	/*
	 * The device said NO_SESSION to it without a reset (a zeroize closes
	 * every session): reopen before the next use. Set under rwsem read.
	 */
	bool lost;
	u16 id;
	u16 app_id;			/* its short_app_id (OpenKernelSession CQE) */
	s64 gen;			/* stats.resets when opened */
	struct list_head keys;		/* struct azihsm_kkey */
};

/* Identity from Identify, sanitized to printable ASCII, NUL terminated. */
struct azihsm_ident {
	char serial[AZIHSM_DEV_INFO_SN_LEN];
	char fw_rev[AZIHSM_DEV_INFO_FR_LEN];
	char model[33];
	u16 ctrl_id;
	u16 hsm_queues_max;
	u16 aes_queues_max;
	u16 queue_entries_max;
	u32 buf_max;		/* largest src/dst of one HSM command */
};

struct azihsm_dev {
	struct kref kref;
	struct pci_dev *pdev;	/* pinned (pci_dev_get) until hdev is freed */
	struct device *dev;	/* &pdev->dev: DMA until remove, logging always */
	char pci_name[AZIHSM_DEV_INFO_PCI_LEN];

	void __iomem *ctrl;	/* BAR0 */
	void __iomem *db;	/* BAR2 */
	unsigned int nvec;	/* MSI-X vectors granted */
	u64 cap;

	spinlock_t lock;	/* state, removing, ident */
	enum azihsm_state state;
	bool removing;
	wait_queue_head_t state_wq;

	struct rw_semaphore io_rwsem;
	struct mutex admin_mutex;	/* one admin command at a time */
	struct azihsm_admin_queue admin;
	unsigned int nr_hsm;
	struct azihsm_hsm_queue *hsm[AZIHSM_HSM_QUEUES_MAX];
	unsigned int nr_aes;	/* RCU: see aes_queue.c */
	struct azihsm_aes_queue *aes[AZIHSM_AES_QUEUES_MAX];

	struct azihsm_ident ident;
	struct azihsm_stats stats;
	struct work_struct reset_work;
	struct work_struct event_work;	/* async events (admin.c) */
	struct delayed_work health_work;

	struct hwrng hwrng;
	char hwrng_name[40];
	bool hwrng_registered;

	/* Crypto API (kcrypto.c, ksession.c). */
	struct azihsm_ksession ksess;
	spinlock_t kc_lock;		/* kc_inflight, kc_backlog */
	unsigned int kc_inflight;
	struct list_head kc_backlog;
	struct list_head kc_node;	/* in the list of crypto devices */
	bool kc_listed;

	int minor;
	struct cdev *cdev;
	struct device *class_dev;
};

/* One HSM command as the driver's users see it (kernel buffers). */
struct azihsm_hsm_cmd {
	u16 opc;		/* AZIHSM_HSQE_OPC_* (0: a command) */
	const void *src;
	u32 src_len;
	void *dst;
	u32 dst_len;
	u8 session_flags;	/* AZIHSM_SESS_* */
	u16 session_id;
	u16 short_app_id;	/* of the session named (SQE @50) */
	unsigned int timeout_ms; /* 0: cmd_timeout_ms */
	bool nowait;		/* fail with -EBUSY rather than wait for a slot */
	/*
	 * Wait for a slot or a reset without a signal cutting it short: the
	 * crypto API's callers (issue 9) cannot take -ERESTARTSYS.
	 */
	bool uninterruptible;
	/*
	 * Go to the device only while stats.resets is @gen (issue 9: the
	 * sessions a command names belong to one controller; after a reset
	 * their ids may be someone else's): else -EIO, ext_status RESET.
	 */
	bool gen_bound;
	s64 gen;
	/*
	 * In place instead of src/dst (both NULL then): @build writes the
	 * request into the slot's buffer (at most @cap bytes) and returns
	 * its length or -errno; @parse reads the response where the device
	 * wrote it (called only when the device completed the command).
	 * Saves two copies and a buffer on the crypto path.
	 */
	int (*build)(void *ctx, void *buf, u32 cap);
	int (*parse)(void *ctx, const void *rsp, u32 len);
	void *ctx;
	/* Results. */
	u16 status;		/* AZIHSM_SC_* from the completion */
	u32 byte_count;
	u32 ext_status;		/* AZIHSM_EXT_* */
	u8 cqe_flags;		/* AZIHSM_SESS_* the device answered */
	u16 cqe_session_id;
	u16 cqe_short_app_id;	/* valid with AZIHSM_SESS_SHORT_APP_ID_VALID */
	s64 submit_gen;		/* stats.resets when it went on the ring */
};

/* main.c */
void azihsm_dev_put(struct azihsm_dev *hdev);
/* Resets and the health monitor: WQ_MEM_RECLAIM, as dm-crypt may wait on them. */
extern struct workqueue_struct *azihsm_wq;

/* ctrl.c */
int azihsm_ctrl_init(struct azihsm_dev *hdev);
int azihsm_ctrl_disable(struct azihsm_dev *hdev);
void azihsm_ctrl_start_monitor(struct azihsm_dev *hdev);
void azihsm_ctrl_shutdown(struct azihsm_dev *hdev);
void azihsm_ctrl_gone(struct azihsm_dev *hdev);
void azihsm_ctrl_schedule_reset(struct azihsm_dev *hdev, const char *why);
void azihsm_reset_work(struct work_struct *work);
void azihsm_health_work(struct work_struct *work);
const char *azihsm_state_name(enum azihsm_state state);
void azihsm_ident_get(struct azihsm_dev *hdev, struct azihsm_ident *ident);

/* admin.c */
int azihsm_admin_alloc(struct azihsm_dev *hdev);
void azihsm_admin_free(struct azihsm_dev *hdev);
void azihsm_admin_reset(struct azihsm_dev *hdev);
/* Leave an Async Event Request with the device (once per bring-up). */
void azihsm_admin_aer_arm(struct azihsm_dev *hdev);
void azihsm_event_work(struct work_struct *work);
/* Remove: stop handling events (before the class device goes). */
void azihsm_admin_aer_stop(struct azihsm_dev *hdev);
int azihsm_admin_exec(struct azihsm_dev *hdev, struct azihsm_admin_sqe *sqe,
		      u32 *result);
int azihsm_admin_create_cq(struct azihsm_dev *hdev, u16 qid, u16 depth, u16 vector,
			   dma_addr_t dma);
int azihsm_admin_create_sq(struct azihsm_dev *hdev, u16 qid, u16 depth, dma_addr_t dma);

/* ring.c */
int azihsm_ring_alloc(struct azihsm_ring *r, struct azihsm_dev *hdev, u16 qid,
		      u16 vector, u16 depth, size_t sqe_size, size_t cqe_size);
int azihsm_ring_request_irq(struct azihsm_ring *r, irq_handler_t handler,
			    void *data);
void azihsm_ring_free_irq(struct azihsm_ring *r);
void azihsm_ring_sync_irq(struct azihsm_ring *r);
void azihsm_ring_free(struct azihsm_ring *r);
void azihsm_ring_reset(struct azihsm_ring *r);
int azihsm_ring_create(struct azihsm_ring *r);
void azihsm_ring_stop(struct azihsm_ring *r);
void *azihsm_ring_next_cqe(struct azihsm_ring *r);
bool azihsm_ring_cq_pending(const struct azihsm_ring *r);
void azihsm_ring_cq_doorbell(struct azihsm_ring *r);
void azihsm_ring_sq_push(struct azihsm_ring *r);

/* queue.c */
int azihsm_hsm_queue_create(struct azihsm_dev *hdev, unsigned int index,
			    u16 depth);
void azihsm_hsm_queues_stop(struct azihsm_dev *hdev);
void azihsm_hsm_queues_fail(struct azihsm_dev *hdev, int err, u32 ext_status);
void azihsm_hsm_queues_wake(struct azihsm_dev *hdev);
void azihsm_hsm_queues_destroy(struct azihsm_dev *hdev);
void azihsm_hsm_queues_trim(struct azihsm_dev *hdev, unsigned int first);
int azihsm_slot_get(struct azihsm_hsm_queue *q, bool nowait, bool uninterruptible,
		    struct azihsm_slot **slotp);
void azihsm_slot_put(struct azihsm_hsm_queue *q, struct azihsm_slot *slot);
int azihsm_slot_submit(struct azihsm_hsm_queue *q, struct azihsm_slot *slot,
		       struct azihsm_hsm_cmd *cmd);
int azihsm_slot_wait(struct azihsm_hsm_queue *q, struct azihsm_slot *slot,
		     unsigned int timeout_ms);

/* aes_queue.c */
int azihsm_aes_queue_create(struct azihsm_dev *hdev, unsigned int index,
			    u16 depth);
void azihsm_aes_queues_stop(struct azihsm_dev *hdev);
void azihsm_aes_queues_fail(struct azihsm_dev *hdev, int err);
void azihsm_aes_queues_destroy(struct azihsm_dev *hdev);
void azihsm_aes_queues_trim(struct azihsm_dev *hdev, unsigned int first);
int azihsm_aes_submit(struct azihsm_dev *hdev, struct azihsm_aes_cmd *cmd,
		      s64 gen);
bool azihsm_aes_queues_expired(struct azihsm_dev *hdev);

/* hsm_cmd.c */
int azihsm_hsm_exec(struct azihsm_dev *hdev, struct azihsm_hsm_cmd *cmd);
int azihsm_get_random(struct azihsm_dev *hdev, void *buf, size_t len,
		      bool nowait);

/*
 * hsm_cmd.c: tell the device a file that had @session_id (@short_app_id)
 * open in reset generation @gen is gone.
 */
void azihsm_flush_session(struct azihsm_dev *hdev, u16 session_id,
			  u16 short_app_id, s64 gen);

/* cdev.c */
int azihsm_chrdev_init(void);
void azihsm_chrdev_exit(void);
int azihsm_cdev_add(struct azihsm_dev *hdev);
void azihsm_cdev_del(struct azihsm_dev *hdev);

/* hwrng.c */
int azihsm_hwrng_register(struct azihsm_dev *hdev);
void azihsm_hwrng_unregister(struct azihsm_dev *hdev);

/* sysfs.c */
extern const struct attribute_group *azihsm_groups[];
/* What became of the partition's stored state (GetDeviceInfo 6 and 7). */
int azihsm_partition_state(struct azihsm_dev *hdev, u32 *persist, bool *error_state);

#endif /* AZIHSM_DRV_H */
