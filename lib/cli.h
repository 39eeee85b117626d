/* SPDX-License-Identifier: MIT */
/* azihsm CLI: what its source files share. */
#ifndef AZIHSM_CLI_H
#define AZIHSM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "azihsm/azihsm.h"

struct cli {
	const char *device;
	const char *prog;
	const char *cmd;	/* "info", "key generate", ... for messages */
};

struct subcommand {
	const char *name;	/* one word, or two ("key list") */
	const char *usage;
	const char *help;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* Print "prog: what: error (device status ...)" and return 1. */
int cli_fail(const struct cli *cli, const char *what, int err);
/* Open the device (--device or the default); 0, or 1 after a message. */
int cli_open_dev(struct cli *cli, struct azihsm_dev **dev);
/* A JSON string value with escapes; @len bytes of @val (any bytes). */
void cli_json_bytes(FILE *f, const uint8_t *val, size_t len);

/* cli-key.c: login, key ..., sign */
extern const struct subcommand cli_key_commands[];
extern const size_t cli_key_ncommands;

#endif
