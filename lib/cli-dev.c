// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: how it reaches the device. Its own file so the host test
 * (tests/host/cli_fw_dev.c) can link the CLI on the firmware core instead.
 */
#include <stdio.h>

#include "cli.h"

const char *const cli_dev_path = "device";

int cli_open_dev(struct cli *cli, struct azihsm_dev **dev)
{
	const char *path = cli->device ? cli->device : AZIHSM_DEFAULT_DEVICE;
	int ret = azihsm_open(path, dev);

	if (ret) {
		char what[128];

		snprintf(what, sizeof(what), "cannot open %s", path);
		return cli_fail(cli, what, ret);
	}
	return 0;
}
