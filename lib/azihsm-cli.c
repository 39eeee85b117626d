// SPDX-License-Identifier: MIT
/*
 * azihsm: command-line front end of libazihsm.
 *
 *   azihsm [--device PATH] info [--json]
 *   azihsm [--device PATH] random N [--hex|--raw]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azihsm/azihsm.h"

#define RANDOM_CLI_MAX (1u << 20)

struct cli {
	const char *device;
	const char *prog;
};

struct subcommand {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(struct cli *cli, int argc, char **argv);
};

static int fail(const struct cli *cli, const char *what, int err)
{
	struct azihsm_last_status st = azihsm_last_status(NULL);

	if (err == -EIO && st.kind != AZIHSM_STATUS_KIND_NONE)
		fprintf(stderr, "%s: %s: %s (device status %s, 0x%x)\n", cli->prog, what,
			azihsm_strerror(err), azihsm_status_str(st), st.code);
	else
		fprintf(stderr, "%s: %s: %s\n", cli->prog, what, azihsm_strerror(err));
	return 1;
}

static int open_dev(struct cli *cli, struct azihsm_dev **dev)
{
	const char *path = cli->device ? cli->device : AZIHSM_DEFAULT_DEVICE;
	int ret = azihsm_open(path, dev);

	if (ret) {
		char what[128];

		snprintf(what, sizeof(what), "cannot open %s", path);
		return fail(cli, what, ret);
	}
	return 0;
}

/* JSON string: our values are printable ASCII, but escape anyway. */
static void json_str(const char *key, const char *val, bool last)
{
	printf("  \"%s\": \"", key);
	for (; *val; val++) {
		if (*val == '"' || *val == '\\')
			printf("\\%c", *val);
		else if ((unsigned char)*val < 0x20)
			printf("\\u%04x", (unsigned char)*val);
		else
			putchar(*val);
	}
	printf("\"%s\n", last ? "" : ",");
}

static void json_u32(const char *key, uint32_t val, bool last)
{
	printf("  \"%s\": %u%s\n", key, val, last ? "" : ",");
}

static const char *kind_name(uint32_t kind)
{
	return kind == 1 ? "virtual" : kind == 2 ? "physical" : "unknown";
}

static int cmd_info(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	struct azihsm_info in;
	struct azihsm_dev *dev;
	char rmin[24], rmax[24];
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return 2;
		json = true;
	}
	if (optind != argc) {
		fprintf(stderr, "%s info: unexpected argument '%s'\n", cli->prog, argv[optind]);
		return 2;
	}
	if (open_dev(cli, &dev))
		return 1;
	ret = azihsm_get_info(dev, &in);
	azihsm_close(dev);
	if (ret)
		return fail(cli, "info", ret);
	snprintf(rmin, sizeof(rmin), "%u.%u", in.api_min.major, in.api_min.minor);
	snprintf(rmax, sizeof(rmax), "%u.%u", in.api_max.major, in.api_max.minor);
	if (json) {
		printf("{\n");
		json_str("device", in.path, false);
		json_str("pci", in.pci, false);
		json_u32("ctrl_id", in.ctrl_id, false);
		json_str("serial", in.serial, false);
		json_str("model", in.model, false);
		json_str("firmware_rev", in.fw_rev, false);
		json_str("driver_rev", in.driver_rev, false);
		json_str("api_rev_min", rmin, false);
		json_str("api_rev_max", rmax, false);
		json_str("kind", kind_name(in.kind), false);
		json_u32("tables", in.tables, false);
		printf("  \"fips_mode\": %s,\n", in.fips_mode ? "true" : "false");
		json_str("partition_state", in.partition_state, false);
		printf("  \"error_state\": %s,\n", in.error_state ? "true" : "false");
		json_str("ctrl_state", in.ctrl_state, false);
		json_u32("hsm_queues", in.hsm_queues, false);
		json_u32("aes_queues", in.aes_queues, true);
		printf("}\n");
		return 0;
	}
	printf("device:        %s (PCI %s, controller %u)\n", in.path, in.pci, in.ctrl_id);
	printf("serial:        %s\n", in.serial);
	printf("model:         %s\n", in.model);
	printf("firmware:      %s\n", in.fw_rev);
	printf("driver:        %s\n", in.driver_rev);
	printf("api revisions: %s .. %s\n", rmin, rmax);
	printf("kind:          %s, %u key table(s), FIPS mode %s\n", kind_name(in.kind),
	       in.tables, in.fips_mode ? "on" : "off");
	printf("controller:    %s, %u HSM queue(s), %u AES queue(s)\n", in.ctrl_state,
	       in.hsm_queues, in.aes_queues);
	printf("partition:     %s%s\n", in.partition_state,
	       in.error_state ? " (ERROR STATE: services refused)" : "");
	return 0;
}

static int parse_count(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > RANDOM_CLI_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int cmd_random(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' }, { "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct azihsm_dev *dev;
	bool raw = false;
	unsigned char *buf;
	size_t n, i;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'x')
			raw = false;
		else if (c == 'r')
			raw = true;
		else
			return 2;
	}
	if (argc - optind != 1 || parse_count(argv[optind], &n)) {
		fprintf(stderr, "%s random: need one byte count, 1..%u\n", cli->prog,
			RANDOM_CLI_MAX);
		return 2;
	}
	buf = malloc(n);
	if (!buf)
		return fail(cli, "random", -ENOMEM);
	if (open_dev(cli, &dev)) {
		free(buf);
		return 1;
	}
	ret = azihsm_random(dev, buf, n);
	azihsm_close(dev);
	if (ret) {
		free(buf);
		return fail(cli, "random", ret);
	}
	if (raw) {
		ret = fwrite(buf, 1, n, stdout) == n ? 0 : 1;
	} else {
		for (i = 0; i < n; i++)
			printf("%02x%s", buf[i], (i % 32 == 31 || i == n - 1) ? "\n" : "");
		ret = 0;
	}
	free(buf);
	if (fflush(stdout) || ret) {
		fprintf(stderr, "%s random: write error: %s\n", cli->prog, strerror(errno));
		return 1;
	}
	return 0;
}

static const struct subcommand subcommands[] = {
	{ "info", "info [--json]",
	  "Show the device: serial, firmware, api revisions, controller state, queues.\n"
	  "  --json   machine-readable output (snake_case keys)\n",
	  cmd_info },
	{ "random", "random N [--hex|--raw]",
	  "Print N (1..1048576) bytes from the device's DRBG.\n"
	  "  --hex    hexadecimal, 32 bytes a line (default)\n"
	  "  --raw    the bytes themselves\n",
	  cmd_random },
};

static void usage(FILE *f, const char *prog)
{
	size_t i;

	fprintf(f, "usage: %s [--device PATH] COMMAND [ARGS]\n\ncommands:\n", prog);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %s\n", subcommands[i].usage);
	fprintf(f, "\n  --device PATH  device node (default %s)\n"
		"  %s COMMAND --help  help for one command\n", AZIHSM_DEFAULT_DEVICE, prog);
}

int main(int argc, char **argv)
{
	struct cli cli = { .prog = "azihsm" };
	const struct subcommand *sub = NULL;
	int i, first;
	size_t k;

	/* Global options come before the command; --device also after it. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout, cli.prog);
			return 0;
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			cli.device = argv[++i];
		} else if (!strncmp(argv[i], "--device=", 9)) {
			cli.device = argv[i] + 9;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", cli.prog, argv[i]);
			usage(stderr, cli.prog);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr, cli.prog);
		return 2;
	}
	for (k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++)
		if (!strcmp(argv[i], subcommands[k].name))
			sub = &subcommands[k];
	if (!sub) {
		fprintf(stderr, "%s: unknown command '%s'\n", cli.prog, argv[i]);
		usage(stderr, cli.prog);
		return 2;
	}
	first = i;
	/* Pull --device and --help out of the command's arguments. */
	for (i = first + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: %s [--device PATH] %s\n\n%s", cli.prog, sub->usage, sub->help);
			return 0;
		}
		if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			cli.device = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			i--;
		}
	}
	optind = 1;
	opterr = 1;
	return sub->run(&cli, argc - first, argv + first);
}
