// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm: module init/exit, module parameters, the PCI driver, and the
 * probe ladder that remove undoes in exact reverse.
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "azihsm.h"
#include "kcrypto.h"

/* Each is range-checked: a value outside is refused with -EINVAL. */
unsigned int azihsm_hsm_queues;
AZIHSM_PARAM_RANGE(hsm_queues, azihsm_hsm_queues, 0, AZIHSM_HSM_QUEUES_MAX, 0444);
MODULE_PARM_DESC(hsm_queues,
		 "HSM queues to request, 0..15, 0 = one per online CPU");

unsigned int azihsm_aes_queues;
AZIHSM_PARAM_RANGE(aes_queues, azihsm_aes_queues, 0, AZIHSM_AES_QUEUES_MAX, 0444);
MODULE_PARM_DESC(aes_queues,
		 "AES fast-path queues to request, 0..16, 0 = one per online CPU");

unsigned int azihsm_queue_depth = 64;
AZIHSM_PARAM_RANGE(queue_depth, azihsm_queue_depth, 2, AZIHSM_QUEUE_ENTRIES_MAX, 0444);
MODULE_PARM_DESC(queue_depth,
		 "Entries per HSM and AES queue, 2..1024, at most CAP.MQES+1 used (default 64)");

unsigned int azihsm_admin_timeout_ms = 30000;
AZIHSM_PARAM_RANGE(admin_timeout_ms, azihsm_admin_timeout_ms, AZIHSM_TIMEOUT_MIN_MS,
		   AZIHSM_CMD_TIMEOUT_MAX_MS, 0644);
MODULE_PARM_DESC(admin_timeout_ms, "Admin command timeout in ms, 100..60000 (default 30000)");

unsigned int azihsm_cmd_timeout_ms = 6000;
AZIHSM_PARAM_RANGE(cmd_timeout_ms, azihsm_cmd_timeout_ms, AZIHSM_TIMEOUT_MIN_MS,
		   AZIHSM_CMD_TIMEOUT_MAX_MS, 0644);
MODULE_PARM_DESC(cmd_timeout_ms,
		 "HSM and AES command timeout in ms, 100..60000 (default 6000)");

struct workqueue_struct *azihsm_wq;

static void azihsm_dev_release(struct kref *kref)
{
	struct azihsm_dev *hdev = container_of(kref, struct azihsm_dev, kref);

	pci_dev_put(hdev->pdev);
	kfree(hdev);
}

void azihsm_dev_put(struct azihsm_dev *hdev)
{
	kref_put(&hdev->kref, azihsm_dev_release);
}

static struct azihsm_dev *azihsm_dev_alloc(struct pci_dev *pdev)
{
	struct azihsm_dev *hdev;

	hdev = kzalloc(sizeof(*hdev), GFP_KERNEL);
	if (!hdev)
		return NULL;
	kref_init(&hdev->kref);
	/* Pinned as long as hdev lives (issue 9): hdev->dev logs after remove. */
	hdev->pdev = pci_dev_get(pdev);
	hdev->dev = &pdev->dev;
	strscpy(hdev->pci_name, pci_name(pdev), sizeof(hdev->pci_name));
	spin_lock_init(&hdev->lock);
	hdev->state = AZIHSM_STATE_INITIALIZING;
	init_waitqueue_head(&hdev->state_wq);
	init_rwsem(&hdev->io_rwsem);
	mutex_init(&hdev->admin_mutex);
	spin_lock_init(&hdev->admin.lock);
	init_completion(&hdev->admin.done);
	INIT_WORK(&hdev->reset_work, azihsm_reset_work);
	INIT_WORK(&hdev->event_work, azihsm_event_work);
	INIT_DELAYED_WORK(&hdev->health_work, azihsm_health_work);
	atomic64_set(&hdev->stats.submitted, 0);
	atomic64_set(&hdev->stats.completed, 0);
	atomic64_set(&hdev->stats.failed, 0);
	atomic64_set(&hdev->stats.timed_out, 0);
	atomic64_set(&hdev->stats.resets, 0);
	hdev->minor = -1;
	azihsm_ksess_init(hdev);
	return hdev;
}

/* BAR 0 and 2 must each be exactly one 4 KiB page of memory space. */
static int azihsm_map_bar(struct azihsm_dev *hdev, int bar, void __iomem **out)
{
	struct pci_dev *pdev = hdev->pdev;
	int ret;

	if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, bar) != AZIHSM_BAR_SIZE) {
		dev_err(hdev->dev,
			"BAR%d is not a %u byte memory BAR (flags %#lx, size %llu): not an azihsm device\n",
			bar, AZIHSM_BAR_SIZE, pci_resource_flags(pdev, bar),
			(unsigned long long)pci_resource_len(pdev, bar));
		return -ENODEV;
	}
	/* Requested and mapped until devres releases them after remove. */
	ret = pcim_iomap_regions(pdev, BIT(bar), KBUILD_MODNAME);
	if (ret) {
		dev_err(hdev->dev, "cannot map BAR%d: %d\n", bar, ret);
		return ret;
	}
	*out = pcim_iomap_table(pdev)[bar];
	return 0;
}

/*
 * Vector 0 serves the admin queue, vector 1 + i HSM queue i. Two vectors
 * are enough to run; each further vector allows one more HSM queue. The
 * AES fast path uses vectors 16..31, so all 32 are requested.
 */
static int azihsm_alloc_vectors(struct azihsm_dev *hdev)
{
	int nvec;

	nvec = pci_alloc_irq_vectors(hdev->pdev, AZIHSM_MSIX_VEC_HSM_FIRST + 1,
				     AZIHSM_MSIX_VECTORS, PCI_IRQ_MSIX);
	if (nvec < 0) {
		dev_err(hdev->dev, "MSI-X with at least 2 vectors needed: %d\n",
			nvec);
		return nvec;
	}
	hdev->nvec = nvec;
	return 0;
}

static int azihsm_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct azihsm_dev *hdev;
	int ret;

	hdev = azihsm_dev_alloc(pdev);
	if (!hdev)
		return -ENOMEM;
	pci_set_drvdata(pdev, hdev);

	ret = pcim_enable_device(pdev);
	if (ret) {
		dev_err(&pdev->dev, "cannot enable PCI device: %d\n", ret);
		goto err_put;
	}
	ret = azihsm_map_bar(hdev, AZIHSM_BAR_CTRL, &hdev->ctrl);
	if (ret)
		goto err_put;
	ret = azihsm_map_bar(hdev, AZIHSM_BAR_DB, &hdev->db);
	if (ret)
		goto err_put;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err(&pdev->dev, "no 64-bit DMA: %d\n", ret);
		goto err_put;
	}
	pci_set_master(pdev);
	ret = azihsm_alloc_vectors(hdev);
	if (ret)
		goto err_clear_master;
	ret = azihsm_admin_alloc(hdev);
	if (ret)
		goto err_free_vectors;
	ret = azihsm_ctrl_init(hdev);
	if (ret)
		goto err_admin_free;

	spin_lock_irq(&hdev->lock);
	hdev->state = AZIHSM_STATE_READY;
	spin_unlock_irq(&hdev->lock);
	azihsm_ctrl_start_monitor(hdev);

	ret = azihsm_hwrng_register(hdev);
	if (ret)
		goto err_shutdown;
	ret = azihsm_cdev_add(hdev);
	if (ret)
		goto err_hwrng;

	dev_info(&pdev->dev, "azihsm%d: serial %s, firmware %s, %u HSM queues of %u entries, %u AES queues\n",
		 hdev->minor, hdev->ident.serial, hdev->ident.fw_rev,
		 hdev->nr_hsm, hdev->nr_hsm ? hdev->hsm[0]->ring.depth : 0, hdev->nr_aes);
	azihsm_kc_add_device(hdev);
	return 0;

err_hwrng:
	azihsm_hwrng_unregister(hdev);
err_shutdown:
	azihsm_ctrl_shutdown(hdev);
err_admin_free:
	azihsm_admin_free(hdev);
err_free_vectors:
	pci_free_irq_vectors(pdev);
err_clear_master:
	pci_clear_master(pdev);
err_put:
	/* BARs and the enable are released by devres after we return. */
	pci_set_drvdata(pdev, NULL);
	azihsm_dev_put(hdev);
	return ret;
}

static void azihsm_remove(struct pci_dev *pdev)
{
	struct azihsm_dev *hdev = pci_get_drvdata(pdev);

	/* event_work uses the class device, which goes next. */
	azihsm_admin_aer_stop(hdev);
	azihsm_kc_del_device(hdev);
	azihsm_cdev_del(hdev);
	azihsm_hwrng_unregister(hdev);
	azihsm_ctrl_shutdown(hdev);
	azihsm_admin_free(hdev);
	pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	pci_set_drvdata(pdev, NULL);
	azihsm_dev_put(hdev);
}

/*
 * Power-off, reboot and kexec: take the device down as remove does, so the
 * controller is disabled and no DMA is in flight when firmware or the next
 * kernel takes over. Every guest of the test harness powers off through
 * here.
 */
static void azihsm_shutdown(struct pci_dev *pdev)
{
	if (pci_get_drvdata(pdev))
		azihsm_remove(pdev);
}

static const struct pci_device_id azihsm_pci_ids[] = {
	{ PCI_DEVICE(AZIHSM_PCI_VENDOR_ID, AZIHSM_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, azihsm_pci_ids);

static struct pci_driver azihsm_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = azihsm_pci_ids,
	.probe = azihsm_probe,
	.remove = azihsm_remove,
	.shutdown = azihsm_shutdown,
};

static int __init azihsm_init(void)
{
	int ret;

	azihsm_wq = alloc_workqueue(KBUILD_MODNAME, WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!azihsm_wq)
		return -ENOMEM;
	ret = azihsm_kc_init();
	if (ret)
		goto err_wq;
	ret = azihsm_chrdev_init();
	if (ret)
		goto err_kc;
	ret = pci_register_driver(&azihsm_pci_driver);
	if (ret)
		goto err_chrdev;
	return 0;

err_chrdev:
	azihsm_chrdev_exit();
err_kc:
	azihsm_kc_exit();
err_wq:
	destroy_workqueue(azihsm_wq);
	return ret;
}

static void __exit azihsm_exit(void)
{
	pci_unregister_driver(&azihsm_pci_driver);
	azihsm_chrdev_exit();
	azihsm_kc_exit();
	destroy_workqueue(azihsm_wq);
}

module_init(azihsm_init);
module_exit(azihsm_exit);

MODULE_DESCRIPTION("Driver for the azihsm (emulated Azure Integrated HSM) PCI function");
MODULE_LICENSE("GPL");
MODULE_VERSION(AZIHSM_DRV_VERSION);
