// SPDX-License-Identifier: MIT
/*
 * The azihsm CLI on the firmware core, for tests/host/test_cli: replaces
 * lib/cli-dev.c. Every run starts the firmware on the sealed partition
 * file named by AZIHSM_TEST_STATE (so successive commands see one
 * partition, as successive CLI runs see one device) and sends the
 * library's commands to hsm_fw_execute through the internal transport.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "drv_app_id.h"
#include "hsm_boot.h"
#include "hsm_fw.h"
#include "internal.h"
#include "test_pki.h"

/* azihsm validate: this is path (c), the firmware core on the host. */
const char *const cli_dev_path = "fw";

static struct hsm_fw *fw;

/* The firmware the CLI runs on (val_fw_kernel.c), once a command opened it. */
struct hsm_fw *cli_fw(void);
struct hsm_fw *cli_fw(void)
{
	return fw;
}

static void fw_stop(void)
{
	hsm_fw_free(fw);
	fw = NULL;
}

static int fw_xfer(void *ctx, struct lib_xfer *x)
{
	struct hsm_fw_cmd cmd = {
		.in = x->req, .in_len = x->req_len, .out = x->rsp, .out_cap = x->rsp_cap,
		.session_flags = x->session_flags, .session_id = x->session_id,
	};
	uint16_t sc;

	drv_app_fill(&cmd);
	sc = hsm_fw_execute(ctx, &cmd);
	drv_app_record(&cmd);
	if (sc) {
		lib_set_status(AZIHSM_STATUS_KIND_COMPLETION, sc);
		return -EIO;
	}
	return (int)cmd.out_len;
}

int cli_open_dev(struct cli *cli, struct azihsm_dev **dev)
{
	/*
	 * Secure boot as the QEMU properties give it: AZIHSM_TEST_FW_IMAGE,
	 * AZIHSM_TEST_FUSE_ROOT (hex), AZIHSM_TEST_FUSE_MIN_SVN; none: unsigned.
	 */
	struct hsm_boot_config boot = { .image_path = getenv("AZIHSM_TEST_FW_IMAGE") };
	const char *root = getenv("AZIHSM_TEST_FUSE_ROOT");
	const char *min_svn = getenv("AZIHSM_TEST_FUSE_MIN_SVN");
	struct hsm_fw_config cfg = { .serial = "CLITEST-1", .fw_rev = "2.0.1",
				     .state_path = getenv("AZIHSM_TEST_STATE"), .boot = &boot,
				     .selftest_fail = getenv("AZIHSM_TEST_SELFTEST_FAIL"),
				     .fault_corrupt = getenv("AZIHSM_TEST_FAULT_CORRUPT") };
	char pkidir[256], devcert[300];
	struct test_pki pki;
	/* AZIHSM_TEST_TAMPER=SENSOR:VALUE: a tamper event right after the start. */
	const char *tamper = getenv("AZIHSM_TEST_TAMPER");
	int ret;

	if (root) {
		if (hsm_boot_parse_root(root, boot.root_hash)) {
			fprintf(stderr, "%s: AZIHSM_TEST_FUSE_ROOT: not a SHA-384 in hex\n",
				cli->prog);
			return 1;
		}
		boot.has_root = true;
	}
	if (min_svn)
		boot.min_svn = (uint32_t)strtoul(min_svn, NULL, 10);

	if (!cfg.state_path) {
		fprintf(stderr, "%s: set AZIHSM_TEST_STATE to a partition file\n", cli->prog);
		return 1;
	}
	if (!fw) {
		/*
		 * The factory: a root next to the state file (the same for
		 * every run of the script), the device certificate beside it.
		 */
		snprintf(pkidir, sizeof(pkidir), "%s.pki", cfg.state_path);
		snprintf(devcert, sizeof(devcert), "%s.devcert", cfg.state_path);
		if (test_pki_init(&pki, pkidir, devcert, &cfg)) {
			fprintf(stderr, "%s: scripts/mkpki root failed\n", cli->prog);
			return 1;
		}
		fw = test_pki_fw_new(&pki, &cfg);
		if (!fw) {
			fprintf(stderr, "%s: the firmware did not start\n", cli->prog);
			return 1;
		}
		atexit(fw_stop);
		if (tamper) {
			unsigned int sensor = 0;
			int value = 0;

			if (sscanf(tamper, "%u:%d", &sensor, &value) == 2)
				hsm_fw_tamper(fw, sensor, value);
		}
	}
	ret = lib_dev_open_transport(fw_xfer, fw, dev);
	return ret ? cli_fail(cli, "transport", ret) : 0;
}
