// SPDX-License-Identifier: MIT
/*
 * hsm-smoke [DEVICE]: one GetApiRev and one GetRandom through libazihsm.
 * Exit 0 when both succeed. A helper for the shell tests, not a test.
 */
#include <stdio.h>

#include "azihsm/azihsm.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : AZIHSM_DEFAULT_DEVICE;
	struct azihsm_rev min, max;
	struct azihsm_dev *dev;
	unsigned char buf[16];
	int ret;

	ret = azihsm_open(path, &dev);
	if (ret) {
		fprintf(stderr, "hsm-smoke: open %s: %s\n", path, azihsm_strerror(ret));
		return 1;
	}
	ret = azihsm_get_api_rev(dev, &min, &max);
	if (!ret)
		ret = azihsm_random(dev, buf, sizeof(buf));
	if (ret)
		fprintf(stderr, "hsm-smoke: %s: %s\n", path, azihsm_strerror(ret));
	azihsm_close(dev);
	return ret ? 1 : 0;
}
