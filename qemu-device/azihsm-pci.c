/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * azihsm: emulated Azure Integrated HSM, QEMU PCIe glue.
 *
 * This file only connects the firmware core (fw/hsm_ctrl.h, plain C with
 * its own worker threads) to QEMU: the PCIe function and its BARs, MSI-X,
 * DMA into guest RAM, reset and properties. The controller itself lives in
 * the core. See Documentation/qemu-graft.md for how this file gets into
 * QEMU's tree.
 *
 * PCI function:
 *   BAR0  4 KiB, 64-bit memory: controller registers (4/8-byte accesses)
 *   BAR2  4 KiB, 64-bit memory: doorbells (4-byte writes, reads return 0)
 *   BAR4  4 KiB, 64-bit memory: MSI-X table at 0x000, PBA at 0x800
 *   MSI-X 32 vectors, no INTx, no MSI; PCIe endpoint capability with FLR.
 */

#include "qemu/osdep.h"

#include <pthread.h>

#include "qemu/atomic.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/rcu.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "exec/memory.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qom/object.h"
#include "sysemu/dma.h"

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "fw/hsm_ctrl.h"

#define TYPE_AZIHSM "azihsm"
OBJECT_DECLARE_SIMPLE_TYPE(AzihsmState, AZIHSM)

/* BAR4 holds the MSI-X structures; the published driver never maps it. */
#define AZIHSM_BAR_MSIX             AZIHSM_BAR_RSVD
#define AZIHSM_MSIX_TABLE_OFFSET    0x000
#define AZIHSM_MSIX_PBA_OFFSET      0x800
#define AZIHSM_PCIE_CAP_OFFSET      0x80

#define AZIHSM_STR_MAX              32

#define AZIHSM_BAR_FLAGS \
    (PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64)

struct AzihsmState {
    PCIDevice parent_obj;

    MemoryRegion ctrl_bar;
    MemoryRegion db_bar;
    MemoryRegion msix_bar;

    struct hsm_ctrl *ctrl;

    /*
     * Vectors raised by worker threads, delivered by irq_bh in the main
     * loop: msix_notify() needs the BQL, which workers never take.
     */
    uint32_t irq_pending;
    QEMUBH *irq_bh;
    bool perf_trace;    /* perf-trace: Documentation/benchmarks.md */
    bool perf_inline;   /* perf-inline: Documentation/device.md */

    /* properties */
    char *serial;
    char *fw_rev;
    char *state;        /* sealed partition state file (and state.nv) */
    char *root_cert;    /* manufacturer root certificate (PEM): "fused" */
    char *devcert;      /* device certificate file; its request: .csr */
    char *model;
    char *fw_image;         /* signed firmware manifest (secure boot) */
    char *fuse_root_hash;   /* fused SHA-384 of the vendor key, hex */
    uint32_t fuse_min_svn;  /* fused minimum security version */
    uint32_t hsm_queues;
    uint32_t aes_queues;
    char *selftest_fail;        /* test only: this self-test fails */
    char *fault_corrupt;        /* test only: device.md, fault properties */
    /* test-only faults before realize (-global); then the core's */
    uint32_t fault_init[HSM_FAULT_NR];
    /*
     * Test only: fault-surprise-removal (device.md). The device behaves as
     * pulled from its slot: BAR and config reads all ones, writes, DMA
     * and interrupts dropped. Read by worker threads: qatomic.
     */
    bool pulled;
};

/*
 * Test-only fault properties (Documentation/device.md, "Test-only fault
 * properties"): QOM properties of their own, not qdev ones, so that the
 * monitor may set them on the running device (qom-set). The core keeps
 * the values under its controller lock, so a setter in the main loop is
 * safe against the worker threads.
 */
static const char *const azihsm_fault_names[HSM_FAULT_NR] = {
    [HSM_FAULT_FAIL] = "fault-fail-cmds",
    [HSM_FAULT_DELAY_MS] = "fault-delay-ms",
    [HSM_FAULT_DROP_IRQ] = "fault-drop-irqs",
    [HSM_FAULT_CFS] = "fault-cfs",
    [HSM_FAULT_AES_STALL] = "fault-aes-stall",
};

QEMU_BUILD_BUG_ON(AZIHSM_MSIX_VECTORS > 32);    /* irq_pending is a u32 */
QEMU_BUILD_BUG_ON(AZIHSM_MSIX_TABLE_OFFSET +
                  AZIHSM_MSIX_VECTORS * PCI_MSIX_ENTRY_SIZE >
                  AZIHSM_MSIX_PBA_OFFSET);
QEMU_BUILD_BUG_ON(AZIHSM_MSIX_PBA_OFFSET + AZIHSM_MSIX_VECTORS / 8 >
                  AZIHSM_BAR_SIZE);

/*
 * RCU for the firmware core's threads.
 *
 * The host callbacks below run on worker threads that QEMU did not create.
 * Walking the memory map and writing the log both take an RCU read lock,
 * and synchronize_rcu() only waits for threads that registered: a worker
 * that did not would read a freed FlatView. So a worker registers on its
 * first callback, and a thread-specific key unregisters it when it exits.
 * QEMU's own threads (vCPU, main loop) are registered already.
 */
static pthread_key_t azihsm_rcu_key;
static pthread_once_t azihsm_rcu_once = PTHREAD_ONCE_INIT;
static int azihsm_rcu_key_err;

static void azihsm_rcu_thread_exit(void *unused)
{
    rcu_unregister_thread();
}

static void azihsm_rcu_key_create(void)
{
    azihsm_rcu_key_err = pthread_key_create(&azihsm_rcu_key,
                                            azihsm_rcu_thread_exit);
}

static void azihsm_rcu_enter_worker(void)
{
    static __thread bool checked;

    if (likely(checked)) {
        return;
    }
    checked = true;
    /* Registered threads are linked into RCU's registry. */
    if (get_ptr_rcu_reader()->node.le_prev) {
        return;
    }
    rcu_register_thread();
    /* Any non-NULL value makes the destructor run at thread exit. */
    pthread_setspecific(azihsm_rcu_key, &checked);
}

/* ---- host operations for the firmware core ------------------------------ */

/*
 * True when [addr, addr + len) is guest RAM, as the device sees it, in
 * every piece. Bus mastering off disables the device's address space, so
 * nothing is RAM then. Caller holds the RCU read lock.
 */
static bool azihsm_dma_is_ram(AzihsmState *s, dma_addr_t addr,
                              dma_addr_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));

    while (len) {
        hwaddr xlat;
        hwaddr plen = len;
        MemoryRegion *mr;

        mr = address_space_translate(as, addr, &xlat, &plen, is_write,
                                     MEMTXATTRS_UNSPECIFIED);
        if (!plen || !memory_region_is_ram(mr) ||
            !memory_access_is_direct(mr, is_write)) {
            return false;
        }
        addr += plen;
        len -= plen;
    }
    return true;
}

/*
 * Copy between guest RAM and @buf. Anything but RAM is refused before a
 * byte moves: the device never writes MMIO, and a worker thread never
 * dispatches an MMIO access, which would need the BQL (that the vCPU
 * thread may hold while it waits for this worker in hsm_ctrl_reset()).
 */
static int azihsm_dma(AzihsmState *s, uint64_t addr, void *buf, size_t len,
                      DMADirection dir)
{
    bool is_write = dir == DMA_DIRECTION_FROM_DEVICE;
    const char *what = is_write ? "write" : "read";
    MemTxResult res = MEMTX_ERROR;

    if (!len) {
        return 0;
    }
    /* Pulled: nothing reaches guest memory, nothing comes from it. */
    if (qatomic_read(&s->pulled)) {
        return -1;
    }
    azihsm_rcu_enter_worker();

    if (len - 1 > UINT64_MAX - addr) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "azihsm: DMA %s of %zu bytes at 0x%" PRIx64
                      " wraps the address space\n", what, len, addr);
        return -1;
    }

    WITH_RCU_READ_LOCK_GUARD() {
        if (!azihsm_dma_is_ram(s, addr, len, is_write)) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "azihsm: DMA %s of %zu bytes at 0x%" PRIx64
                          " refused: not guest RAM or bus mastering off\n",
                          what, len, addr);
            return -1;
        }
        res = pci_dma_rw(PCI_DEVICE(s), addr, buf, len, dir,
                         MEMTXATTRS_UNSPECIFIED);
    }
    if (res != MEMTX_OK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "azihsm: DMA %s of %zu bytes at 0x%" PRIx64
                      " failed (MemTxResult 0x%x)\n", what, len, addr, res);
        return -1;
    }
    return 0;
}

static int azihsm_dma_read(void *opaque, uint64_t addr, void *buf,
                           size_t len)
{
    return azihsm_dma(opaque, addr, buf, len, DMA_DIRECTION_TO_DEVICE);
}

static int azihsm_dma_write(void *opaque, uint64_t addr, const void *buf,
                            size_t len)
{
    return azihsm_dma(opaque, addr, (void *)buf, len,
                      DMA_DIRECTION_FROM_DEVICE);
}

/*
 * Worker thread, no BQL: note the vector, let the main loop send it. A
 * thread that holds the BQL (the vCPU in a doorbell write that ran a
 * command inline, perf-inline) sends it at once.
 */
static void azihsm_irq(void *opaque, unsigned int vector)
{
    AzihsmState *s = opaque;

    if (vector >= AZIHSM_MSIX_VECTORS) {
        azihsm_rcu_enter_worker();
        qemu_log_mask(LOG_GUEST_ERROR, "azihsm: interrupt on vector %u,"
                      " the device has %d\n", vector, AZIHSM_MSIX_VECTORS);
        return;
    }
    if (qatomic_read(&s->pulled)) {
        return;
    }
    if (qemu_mutex_iothread_locked()) {
        /* Masked or disabled: msix_notify() sets the PBA bit instead. */
        msix_notify(PCI_DEVICE(s), vector);
        return;
    }
    qatomic_or(&s->irq_pending, 1u << vector);
    qemu_bh_schedule(s->irq_bh);
}

/* Main loop, with the BQL. */
static void azihsm_irq_bh(void *opaque)
{
    AzihsmState *s = opaque;
    uint32_t pending = qatomic_xchg(&s->irq_pending, 0);

    while (pending) {
        unsigned int vector = ctz32(pending);

        pending &= pending - 1;
        if (qatomic_read(&s->pulled)) {
            continue;
        }
        /* Masked or disabled: msix_notify() sets the PBA bit instead. */
        msix_notify(PCI_DEVICE(s), vector);
        if (qatomic_read(&s->perf_trace)) {
            hsm_ctrl_perf_irq_sent(s->ctrl, vector);
        }
    }
}

static void G_GNUC_PRINTF(2, 0) azihsm_guest_error(void *opaque,
                                                   const char *fmt,
                                                   va_list ap)
{
    g_autofree char *msg = NULL;

    if (!qemu_loglevel_mask(LOG_GUEST_ERROR)) {
        return;
    }
    azihsm_rcu_enter_worker();
    msg = g_strdup_vprintf(fmt, ap);
    qemu_log("azihsm: %s\n", msg);
}

static const struct hsm_host_ops azihsm_host_ops = {
    .dma_read = azihsm_dma_read,
    .dma_write = azihsm_dma_write,
    .irq = azihsm_irq,
    .guest_error = azihsm_guest_error,
};

/* ---- BARs --------------------------------------------------------------- */

/* What a read of @size bytes from a pulled device gives: all ones. */
static uint64_t azihsm_all_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static uint64_t azihsm_ctrl_read(void *opaque, hwaddr addr, unsigned size)
{
    AzihsmState *s = opaque;

    if (qatomic_read(&s->pulled)) {
        return azihsm_all_ones(size);
    }
    return hsm_ctrl_reg_read(s->ctrl, addr, size);
}

static void azihsm_ctrl_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    AzihsmState *s = opaque;

    if (qatomic_read(&s->pulled)) {
        return;
    }
    hsm_ctrl_reg_write(s->ctrl, addr, val, size);
}

static const MemoryRegionOps azihsm_ctrl_ops = {
    .read = azihsm_ctrl_read,
    .write = azihsm_ctrl_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

static uint64_t azihsm_db_read(void *opaque, hwaddr addr, unsigned size)
{
    AzihsmState *s = opaque;

    if (qatomic_read(&s->pulled)) {
        return azihsm_all_ones(size);
    }
    return 0;   /* doorbells are write-only */
}

static void azihsm_db_write(void *opaque, hwaddr addr, uint64_t val,
                            unsigned size)
{
    AzihsmState *s = opaque;

    if (qatomic_read(&s->pulled)) {
        return;
    }
    hsm_ctrl_doorbell_write(s->ctrl, addr, val);
}

static const MemoryRegionOps azihsm_db_ops = {
    .read = azihsm_db_read,
    .write = azihsm_db_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ---- device life cycle -------------------------------------------------- */

/* Identity strings end up space-padded in Identify: 1..32 printable ASCII. */
static bool azihsm_check_string(const char *prop, const char *val,
                                Error **errp)
{
    size_t i, len = val ? strlen(val) : 0;

    if (!len || len > AZIHSM_STR_MAX) {
        error_setg(errp, "azihsm: %s must be 1 to %d characters long",
                   prop, AZIHSM_STR_MAX);
        return false;
    }
    for (i = 0; i < len; i++) {
        if (val[i] < 0x20 || val[i] > 0x7e) {
            error_setg(errp, "azihsm: %s must be printable ASCII", prop);
            return false;
        }
    }
    return true;
}

static bool azihsm_check_props(AzihsmState *s, Error **errp)
{
    if (!azihsm_check_string("serial", s->serial, errp) ||
        !azihsm_check_string("fw-rev", s->fw_rev, errp) ||
        !azihsm_check_string("model", s->model, errp)) {
        return false;
    }
    if (s->fuse_root_hash) {
        size_t i, len = strlen(s->fuse_root_hash);

        for (i = 0; i < len; i++) {
            if (!strchr("0123456789abcdef", s->fuse_root_hash[i])) {
                break;
            }
        }
        if (len != HSM_CTRL_ROOT_HASH_HEX || i != len) {
            error_setg(errp, "azihsm: fuse-root-hash must be 96 lowercase"
                       " hex digits (SHA-384)");
            return false;
        }
    }
    if (s->hsm_queues < 1 || s->hsm_queues > AZIHSM_HSM_QUEUES_MAX) {
        error_setg(errp, "azihsm: hsm-queues must be 1 to %d",
                   AZIHSM_HSM_QUEUES_MAX);
        return false;
    }
    if (s->aes_queues > AZIHSM_AES_QUEUES_MAX) {
        error_setg(errp, "azihsm: aes-queues must be 0 to %d",
                   AZIHSM_AES_QUEUES_MAX);
        return false;
    }
    return true;
}

static void azihsm_realize(PCIDevice *pdev, Error **errp)
{
    AzihsmState *s = AZIHSM(pdev);
    struct hsm_ctrl_config cfg;
    int i;

    if (!azihsm_check_props(s, errp)) {
        return;
    }
    pthread_once(&azihsm_rcu_once, azihsm_rcu_key_create);
    if (azihsm_rcu_key_err) {
        error_setg_errno(errp, azihsm_rcu_key_err,
                         "azihsm: cannot create a thread key");
        return;
    }

    memory_region_init_io(&s->ctrl_bar, OBJECT(s), &azihsm_ctrl_ops, s,
                          "azihsm-ctrl", AZIHSM_BAR_SIZE);
    memory_region_init_io(&s->db_bar, OBJECT(s), &azihsm_db_ops, s,
                          "azihsm-doorbell", AZIHSM_BAR_SIZE);
    memory_region_init(&s->msix_bar, OBJECT(s), "azihsm-msix",
                       AZIHSM_BAR_SIZE);
    pci_register_bar(pdev, AZIHSM_BAR_CTRL, AZIHSM_BAR_FLAGS, &s->ctrl_bar);
    pci_register_bar(pdev, AZIHSM_BAR_DB, AZIHSM_BAR_FLAGS, &s->db_bar);
    pci_register_bar(pdev, AZIHSM_BAR_MSIX, AZIHSM_BAR_FLAGS, &s->msix_bar);

    if (pcie_endpoint_cap_init(pdev, AZIHSM_PCIE_CAP_OFFSET) < 0) {
        error_setg(errp, "azihsm: cannot add the PCIe capability");
        return;
    }
    pcie_cap_flr_init(pdev);

    if (msix_init(pdev, AZIHSM_MSIX_VECTORS,
                  &s->msix_bar, AZIHSM_BAR_MSIX, AZIHSM_MSIX_TABLE_OFFSET,
                  &s->msix_bar, AZIHSM_BAR_MSIX, AZIHSM_MSIX_PBA_OFFSET,
                  0, errp)) {
        goto err_pcie;
    }
    /* Every vector may be named by a completion queue. */
    for (i = 0; i < AZIHSM_MSIX_VECTORS; i++) {
        msix_vector_use(pdev, i);
    }

    qatomic_set(&s->irq_pending, 0);
    s->irq_bh = qemu_bh_new_guarded(azihsm_irq_bh, s,
                                    &DEVICE(s)->mem_reentrancy_guard);

    cfg = (struct hsm_ctrl_config) {
        .serial = s->serial,
        .fw_rev = s->fw_rev,
        .model = s->model,
        .ctrl_id = pdev->devfn,
        .hsm_queues_max = s->hsm_queues,
        .aes_queues_max = s->aes_queues,
        .fault_aes_stall = s->fault_init[HSM_FAULT_AES_STALL],
        .fault_corrupt = s->fault_corrupt,
        .state_path = s->state,
        .root_cert = s->root_cert,
        .devcert = s->devcert,
        .fw_image = s->fw_image,
        .fuse_root_hash = s->fuse_root_hash,
        .fuse_min_svn = s->fuse_min_svn,
        .selftest_fail = s->selftest_fail,
    };
    s->ctrl = hsm_ctrl_new(&cfg, &azihsm_host_ops, s);
    if (!s->ctrl) {
        error_setg(errp, "azihsm: the firmware core did not start"
                   " (configuration, e.g. an unknown selftest-fail name,"
                   " or no DRBG)");
        goto err_bh;
    }
    for (i = 0; i < HSM_FAULT_NR; i++) {
        if (i != HSM_FAULT_AES_STALL && s->fault_init[i]) {
            hsm_ctrl_set_fault(s->ctrl, i, s->fault_init[i]);
        }
    }
    if (s->perf_trace) {
        hsm_ctrl_perf_enable(s->ctrl, true);
    }
    hsm_ctrl_set_inline(s->ctrl, s->perf_inline);
    return;

err_bh:
    qemu_bh_delete(s->irq_bh);
    s->irq_bh = NULL;
    msix_uninit(pdev, &s->msix_bar, &s->msix_bar);
err_pcie:
    pcie_cap_exit(pdev);
}

static void azihsm_exit(PCIDevice *pdev)
{
    AzihsmState *s = AZIHSM(pdev);

    /* Joins the workers: nothing calls the host ops after this. */
    hsm_ctrl_free(s->ctrl);
    s->ctrl = NULL;
    qemu_bh_delete(s->irq_bh);
    s->irq_bh = NULL;
    msix_uninit(pdev, &s->msix_bar, &s->msix_bar);
    pcie_cap_exit(pdev);
}

/*
 * Config space reads: the PCI core's, or all ones once pulled (a Vendor ID
 * of 0xffff is how the guest's pci_device_is_present() sees a device gone).
 */
static uint32_t azihsm_config_read(PCIDevice *pdev, uint32_t addr, int len)
{
    AzihsmState *s = AZIHSM(pdev);

    if (qatomic_read(&s->pulled)) {
        return (uint32_t)azihsm_all_ones(len);
    }
    return pci_default_read_config(pdev, addr, len);
}

/* Config space writes: the PCI core's, plus Function Level Reset. */
static void azihsm_config_write(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                int len)
{
    AzihsmState *s = AZIHSM(pdev);

    if (qatomic_read(&s->pulled)) {
        return;
    }
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

/* System reset and FLR; the PCI core resets config space and MSI-X. */
static void azihsm_reset(DeviceState *dev)
{
    AzihsmState *s = AZIHSM(dev);

    if (s->ctrl) {
        hsm_ctrl_reset(s->ctrl);
    }
    qatomic_set(&s->irq_pending, 0);
}

static void azihsm_fault_get(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);
    enum hsm_fault f = (uintptr_t)opaque;
    uint32_t val = s->ctrl ? hsm_ctrl_get_fault(s->ctrl, f) : s->fault_init[f];

    visit_type_uint32(v, name, &val, errp);
}

static void azihsm_fault_set(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);
    enum hsm_fault f = (uintptr_t)opaque;
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (s->ctrl) {
        hsm_ctrl_set_fault(s->ctrl, f, val);
    } else {
        s->fault_init[f] = val;
    }
}

/*
 * fault-surprise-removal (test only, device.md): on, the device is gone
 * from the guest's point of view until device_del; the firmware core keeps
 * running behind it (a command it had taken finishes, its completion and
 * interrupt are lost). Off again lets the guest see the device as it is
 * then; re-seating is device_del + device_add, as with real hardware.
 */
static bool azihsm_pulled_get(Object *obj, Error **errp)
{
    return qatomic_read(&AZIHSM(obj)->pulled);
}

static void azihsm_pulled_set(Object *obj, bool val, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);

    qatomic_set(&s->pulled, val);
    if (val) {
        /* Vectors noted before the pull are not sent either. */
        qatomic_set(&s->irq_pending, 0);
    }
}

/*
 * perf-trace (bool, -device or qom-set; setting it starts the counts
 * again) and perf-report (string, qom-get): the firmware core's per-stage
 * round-trip histograms, Documentation/benchmarks.md.
 */
static bool azihsm_perf_trace_get(Object *obj, Error **errp)
{
    return qatomic_read(&AZIHSM(obj)->perf_trace);
}

static void azihsm_perf_trace_set(Object *obj, bool on, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);

    if (s->ctrl) {
        hsm_ctrl_perf_enable(s->ctrl, on);
    }
    qatomic_set(&s->perf_trace, on);
}

static char *azihsm_perf_report_get(Object *obj, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);
    char *txt, *ret;

    if (!s->ctrl) {
        return g_strdup("");
    }
    txt = hsm_ctrl_perf_report(s->ctrl);
    ret = g_strdup(txt ? txt : "");
    free(txt);
    return ret;
}

static void azihsm_instance_init(Object *obj)
{
    AzihsmState *s = AZIHSM(obj);

    /* String properties have no static default; -device may replace these. */
    s->serial = g_strdup("AZIHSM0000000001");
    s->fw_rev = g_strdup("1.0.0-azihsm");
    s->model = g_strdup("AZIHSM-EMU");
}

/* Queues, workers and keys live in the firmware core: not migratable. */
static const VMStateDescription vmstate_azihsm = {
    .name = TYPE_AZIHSM,
    .unmigratable = 1,
};

static Property azihsm_properties[] = {
    DEFINE_PROP_STRING("serial", AzihsmState, serial),
    DEFINE_PROP_STRING("fw-rev", AzihsmState, fw_rev),
    DEFINE_PROP_STRING("model", AzihsmState, model),
    DEFINE_PROP_STRING("state", AzihsmState, state),
    DEFINE_PROP_STRING("root-cert", AzihsmState, root_cert),
    DEFINE_PROP_STRING("devcert", AzihsmState, devcert),
    /* Secure boot: Documentation/hsm-design.md, device.md. */
    DEFINE_PROP_STRING("fw-image", AzihsmState, fw_image),
    DEFINE_PROP_STRING("fuse-root-hash", AzihsmState, fuse_root_hash),
    DEFINE_PROP_UINT32("fuse-min-svn", AzihsmState, fuse_min_svn, 0),
    DEFINE_PROP_UINT32("hsm-queues", AzihsmState, hsm_queues,
                       AZIHSM_HSM_QUEUES_MAX),
    DEFINE_PROP_UINT32("aes-queues", AzihsmState, aes_queues,
                       AZIHSM_AES_QUEUES_MAX),
    /* Quick commands on an idle queue run in the doorbell write: device.md. */
    DEFINE_PROP_BOOL("perf-inline", AzihsmState, perf_inline, false),
    /* Test only, default off: Documentation/device.md. */
    DEFINE_PROP_STRING("selftest-fail", AzihsmState, selftest_fail),
    DEFINE_PROP_STRING("fault-corrupt", AzihsmState, fault_corrupt),
    DEFINE_PROP_END_OF_LIST(),
};

/*
 * Tamper sensors: run-time properties (QMP qom-set / qom-get on the
 * device). A reading out of its range (hsm_ctrl.h) is a tamper event: the
 * firmware zeroizes, logs it and interrupts the driver.
 */
static const struct {
    const char *name;
    unsigned int sensor;
    const char *desc;
} azihsm_sensors[] = {
    { "tamper-enclosure", AZIHSM_TAMPER_ENCLOSURE,
      "enclosure/mesh: 0 closed, anything else opened (tamper)" },
    { "sensor-voltage-mv", AZIHSM_TAMPER_VOLTAGE,
      "supply voltage in mV (tamper outside 2970..3630)" },
    { "sensor-temperature-c", AZIHSM_TAMPER_TEMPERATURE,
      "temperature in degrees C (tamper outside -20..85)" },
    { "sensor-clock-khz", AZIHSM_TAMPER_CLOCK,
      "clock in kHz (tamper outside 90000..110000)" },
};

static void azihsm_sensor_get(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);
    int32_t val = 0;

    if (s->ctrl) {
        val = hsm_ctrl_sensor_get(s->ctrl, (unsigned int)(uintptr_t)opaque);
    }
    visit_type_int32(v, name, &val, errp);
}

static void azihsm_sensor_set(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    AzihsmState *s = AZIHSM(obj);
    int32_t val;

    if (!visit_type_int32(v, name, &val, errp)) {
        return;
    }
    if (!s->ctrl) {
        error_setg(errp, "azihsm: %s: the device is not running", name);
        return;
    }
    hsm_ctrl_sensor_set(s->ctrl, (unsigned int)(uintptr_t)opaque, val);
}

static void azihsm_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    int i;

    k->realize = azihsm_realize;
    k->exit = azihsm_exit;
    k->config_read = azihsm_config_read;
    k->config_write = azihsm_config_write;
    k->vendor_id = AZIHSM_PCI_VENDOR_ID;
    k->device_id = AZIHSM_PCI_DEVICE_ID;
    k->revision = AZIHSM_PCI_REVISION;
    k->class_id = PCI_CLASS_CRYPT_OTHER;
    k->subsystem_vendor_id = AZIHSM_PCI_VENDOR_ID;
    k->subsystem_id = AZIHSM_PCI_DEVICE_ID;

    dc->desc = "Azure Integrated HSM (emulated)";
    dc->reset = azihsm_reset;
    dc->vmsd = &vmstate_azihsm;
    device_class_set_props(dc, azihsm_properties);
    /* Test only, default off, settable at run time: Documentation/device.md. */
    for (i = 0; i < HSM_FAULT_NR; i++) {
        ObjectProperty *op;

        op = object_class_property_add(klass, azihsm_fault_names[i], "uint32",
                                       azihsm_fault_get, azihsm_fault_set,
                                       NULL, (void *)(uintptr_t)i);
        object_property_set_default_uint(op, 0);
        object_class_property_set_description(klass, azihsm_fault_names[i],
                                              "test only: see device.md");
    }
    object_class_property_add_bool(klass, "fault-surprise-removal",
                                   azihsm_pulled_get, azihsm_pulled_set);
    object_class_property_set_description(klass, "fault-surprise-removal",
                                          "test only: the device behaves as"
                                          " pulled (see device.md)");
    for (size_t i = 0; i < ARRAY_SIZE(azihsm_sensors); i++) {
        object_class_property_add(klass, azihsm_sensors[i].name, "int32",
                                  azihsm_sensor_get, azihsm_sensor_set, NULL,
                                  (void *)(uintptr_t)azihsm_sensors[i].sensor);
        object_class_property_set_description(klass, azihsm_sensors[i].name,
                                              azihsm_sensors[i].desc);
    }
    object_class_property_add_bool(klass, "perf-trace", azihsm_perf_trace_get,
                                   azihsm_perf_trace_set);
    object_class_property_set_description(klass, "perf-trace",
                                          "record per-stage command latencies");
    object_class_property_add_str(klass, "perf-report", azihsm_perf_report_get,
                                  NULL);
    object_class_property_set_description(klass, "perf-report",
                                          "perf-trace histograms (text)");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo azihsm_info = {
    .name = TYPE_AZIHSM,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(AzihsmState),
    .instance_init = azihsm_instance_init,
    .class_init = azihsm_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void azihsm_register_types(void)
{
    type_register_static(&azihsm_info);
}

type_init(azihsm_register_types)
