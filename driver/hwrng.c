// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm hw_random source: the device's CTR-DRBG through GetRandom.
 *
 * Quality (entropy per 1024 bits) defaults to 1000, as virtio-rng: the
 * device is an emulation whose DRBG is seeded by the host, so it is
 * exactly as trustworthy as the hypervisor that provides it.
 */
#include <linux/hw_random.h>
#include <linux/module.h>

#include "azihsm.h"
#include "azihsm/msg.h"

static unsigned short azihsm_rng_quality = 1000;
module_param_named(rng_quality, azihsm_rng_quality, ushort, 0444);
MODULE_PARM_DESC(rng_quality,
		 "hw_random quality, entropy bits per 1024 bits, 1..1024 (default 1000)");

static int azihsm_hwrng_read(struct hwrng *rng, void *data, size_t max, bool wait)
{
	struct azihsm_dev *hdev = container_of(rng, struct azihsm_dev, hwrng);
	size_t len = min_t(size_t, max, AZIHSM_RANDOM_MAX);
	int ret;

	if (!len)
		return 0;
	ret = azihsm_get_random(hdev, data, len, !wait);
	if (ret == -EBUSY && !wait)
		return 0;	/* busy or resetting: nothing right now */
	if (ret)
		return ret;
	return len;
}

int azihsm_hwrng_register(struct azihsm_dev *hdev)
{
	int ret;

	snprintf(hdev->hwrng_name, sizeof(hdev->hwrng_name), KBUILD_MODNAME "-%s",
		 hdev->pci_name);
	hdev->hwrng.name = hdev->hwrng_name;
	hdev->hwrng.read = azihsm_hwrng_read;
	hdev->hwrng.quality = min_t(unsigned short, azihsm_rng_quality, 1024);
	ret = hwrng_register(&hdev->hwrng);
	if (ret) {
		dev_err(hdev->dev, "cannot register hw_random source: %d\n", ret);
		return ret;
	}
	hdev->hwrng_registered = true;
	return 0;
}

/* Waits for a read in progress; before the queues go away. */
void azihsm_hwrng_unregister(struct azihsm_dev *hdev)
{
	if (!hdev->hwrng_registered)
		return;
	hwrng_unregister(&hdev->hwrng);
	hdev->hwrng_registered = false;
}
