// SPDX-License-Identifier: MIT
/*
 * azihsm: command-line front end of libazihsm.
 *
 *   azihsm [--device PATH] info [--json]
 *   azihsm [--device PATH] random N [--hex|--raw]
 *   azihsm [--device PATH] login | key ... | user ... | sign ...   (cli-key.c)
 *   azihsm zeroize | backup create | backup restore ...  (cli-backup.c)
 *   azihsm crypto list | crypto priority ...              (cli-crypto.c)
 *   azihsm selftest | tamper log                          (cli-trust.c)
 *   azihsm report --out DIR ...                           (cli-report.c)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "cli.h"

#define RANDOM_CLI_MAX (1u << 20)

/* A hint for the HSM statuses a user can act on. */
static const char *status_hint(struct azihsm_last_status st)
{
	if (st.kind != AZIHSM_STATUS_KIND_HSM)
		return NULL;
	switch (st.code) {
	case AZIHSM_STATUS_NO_SESSION:
		return "the session is gone (closed, or the device was reset)";
	case AZIHSM_STATUS_WRONG_ROLE:
		return "this role may not do that; try the other --role";
	case AZIHSM_STATUS_MUST_CHANGE_PIN:
		return "the role still has its default (or an officer-set) PIN: run "
		       "'azihsm login --role ROLE --change-pin' first";
	case AZIHSM_STATUS_BAD_CREDENTIAL:
		return "wrong id or PIN";
	case AZIHSM_STATUS_LOCKED_OUT:
		return "too many wrong PINs: wait before the next try (the wait doubles "
		       "with every failure)";
	case AZIHSM_STATUS_SESSIONS_FULL:
		return "all sessions of the device are in use (the last one is kept for "
		       "the officer; at most 2 with a must-change PIN per role)";
	case AZIHSM_STATUS_WEAK_PIN:
		return "the new PIN is too weak: 8..16 characters, not one repeated, not a run "
		       "like 12345678, not a default PIN or id, not the id, not the current PIN";
	case AZIHSM_STATUS_KEY_NOT_FOUND:
		return "no such key in this session's view";
	case AZIHSM_STATUS_KEY_USAGE:
		return "the key was not generated with that --usage";
	case AZIHSM_STATUS_KEY_TYPE:
		return "the key's type does not fit this operation";
	case AZIHSM_STATUS_VAULT_FULL:
		return "the key vault is full: delete keys first";
	case AZIHSM_STATUS_QUOTA:
		return "this session holds as many keys as a session may: delete some first";
	case AZIHSM_STATUS_PIN_LOCKED:
		return "too many wrong PINs: the user is locked until the officer's "
		       "'azihsm user unlock'";
	case AZIHSM_STATUS_LABEL_EXISTS:
		return "a key with that label exists already";
	case AZIHSM_STATUS_NOT_STORED:
		return "the device could not store the change; it was not made";
	case AZIHSM_STATUS_BAD_BLOB:
		return "the blob does not open here (damaged, another device's, or made "
		       "before a zeroize)";
	case AZIHSM_STATUS_BK3_EXISTS:
		return "the partition has a BK3 already (only a zeroize removes it)";
	case AZIHSM_STATUS_NO_BK3:
		return "the partition has no BK3 yet (azihsm backup create makes one)";
	case AZIHSM_STATUS_NOT_EMPTY:
		return "the partition holds persistent keys (a backup of another masking key "
		       "would orphan them; a security domain covers only keys made after it)";
	case AZIHSM_STATUS_KEY_DELETED:
		return "the blob's key was deleted from the partition; deletion is final";
	case AZIHSM_STATUS_KEY_EXISTS:
		return "the blob's key is still in the partition";
	case AZIHSM_STATUS_NOT_PROVISIONED:
		return "the device has no certificate from its manufacturer root yet "
		       "(Documentation/hsm-design.md, \"Identity and attestation\")";
	case AZIHSM_STATUS_SD_EXISTS:
		return "the partition has another security domain (only a zeroize removes it)";
	case AZIHSM_STATUS_NO_SD:
		return "the partition has no security domain (azihsm sd activate or sd restore)";
	}
	return NULL;
}

int cli_fail(const struct cli *cli, const char *what, int err)
{
	struct azihsm_last_status st = azihsm_last_status(NULL);
	const char *hint;

	if (err == -EIO && st.kind != AZIHSM_STATUS_KIND_NONE) {
		fprintf(stderr, "%s: %s: %s (device status %s, 0x%x)\n", cli->prog, what,
			azihsm_strerror(err), azihsm_status_str(st), st.code);
		hint = status_hint(st);
		if (hint)
			fprintf(stderr, "%s: %s\n", cli->prog, hint);
	} else {
		fprintf(stderr, "%s: %s: %s\n", cli->prog, what, azihsm_strerror(err));
	}
	return 1;
}

void cli_json_bytes(FILE *f, const uint8_t *val, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		if (val[i] == '"' || val[i] == '\\')
			fprintf(f, "\\%c", val[i]);
		else if (val[i] < 0x20 || val[i] >= 0x7f)
			fprintf(f, "\\u%04x", val[i]);
		else
			fputc(val[i], f);
	}
	fputc('"', f);
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
	char rmin[24], rmax[24], meas[2 * sizeof(in.measurement) + 1] = "";
	bool json = false;
	int c, ret;
	size_t i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return 2;
		json = true;
	}
	if (optind != argc) {
		fprintf(stderr, "%s info: unexpected argument '%s'\n", cli->prog, argv[optind]);
		return 2;
	}
	if (cli_open_dev(cli, &dev))
		return 1;
	ret = azihsm_get_info(dev, &in);
	azihsm_close(dev);
	if (ret)
		return cli_fail(cli, "info", ret);
	for (i = 0; in.has_measurement && i < sizeof(in.measurement); i++)
		sprintf(meas + 2 * i, "%02x", in.measurement[i]);
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
		json_str("error_reason", in.error_reason, false);
		json_str("error_detail", in.error_detail, false);
		json_u32("tamper_count", in.tamper_count, false);
		json_str("ctrl_state", in.ctrl_state, false);
		json_u32("hsm_queues", in.hsm_queues, false);
		json_u32("aes_queues", in.aes_queues, false);
		json_str("boot_state", in.boot_state, false);
		json_str("fw_version", in.fw_version, false);
		json_u32("svn", in.svn, false);
		json_str("measurement", meas, false);
		json_str("provisioning", in.provisioning, true);
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
	if (in.boot_state[0]) {
		bool ok = !strcmp(in.boot_state, "verified") || !strcmp(in.boot_state, "unsigned");

		printf("boot:          %s%s\n", in.boot_state,
		       ok ? "" : " (firmware image REFUSED: services refused)");
		printf("fw version:    %s, SVN %u\n", in.fw_version, in.svn);
		printf("measurement:   %s\n", meas);
	}
	printf("identity:      %s\n", !strcmp(in.provisioning, "provisioned") ?
	       "provisioned (device certificate present: azihsm cert chain)" :
	       !strcmp(in.provisioning, "not-provisioned") ?
	       "NOT PROVISIONED (no device certificate: no chain, no attestation)" :
	       "unknown (the device did not say)");
	if (in.error_state)
		printf("error state:   %s (%s); only a reset leaves it\n", in.error_reason,
		       in.error_detail);
	printf("tamper events: %u%s\n", in.tamper_count,
	       in.tamper_count ? " (azihsm tamper log)" : "");
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
		return cli_fail(cli, "random", -ENOMEM);
	if (cli_open_dev(cli, &dev)) {
		free(buf);
		return 1;
	}
	ret = azihsm_random(dev, buf, n);
	azihsm_close(dev);
	if (ret) {
		free(buf);
		return cli_fail(cli, "random", ret);
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
	  "Show the device: serial, firmware, api revisions, controller state, queues,\n"
	  "secure boot and measurement, error state, tamper count, provisioning\n"
	  "(whether the device holds its certificate chain).\n"
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
	for (i = 0; i < cli_key_ncommands; i++)
		fprintf(f, "  %s\n", cli_key_commands[i].usage);
	for (i = 0; i < cli_ops_ncommands; i++)
		fprintf(f, "  %s\n", cli_ops_commands[i].usage);
	for (i = 0; i < cli_backup_ncommands; i++)
		fprintf(f, "  %s\n", cli_backup_commands[i].usage);
	for (i = 0; i < cli_crypto_ncommands; i++)
		fprintf(f, "  %s\n", cli_crypto_commands[i].usage);
	for (i = 0; i < cli_id_ncommands; i++)
		fprintf(f, "  %s\n", cli_id_commands[i].usage);
	for (i = 0; i < cli_sd_ncommands; i++)
		fprintf(f, "  %s\n", cli_sd_commands[i].usage);
	for (i = 0; i < cli_trust_ncommands; i++)
		fprintf(f, "  %s\n", cli_trust_commands[i].usage);
	for (i = 0; i < cli_validate_ncommands; i++)
		fprintf(f, "  %s\n", cli_validate_commands[i].usage);
	for (i = 0; i < cli_report_ncommands; i++)
		fprintf(f, "  %s\n", cli_report_commands[i].usage);
	fprintf(f, "\n  --device PATH  device node (default %s)\n"
		"  %s COMMAND --help  help for one command\n"
		"\nCommands that log in read the PIN from --pin-file FILE (its first line) or\n"
		"the environment variable AZIHSM_PIN, never from the command line.\n",
		AZIHSM_DEFAULT_DEVICE, prog);
}

#define CLI_TABLES \
	const struct subcommand *tabs[] = { subcommands, cli_key_commands, cli_ops_commands, \
					    cli_backup_commands, cli_crypto_commands, \
					    cli_id_commands, cli_sd_commands, cli_trust_commands, \
					    cli_validate_commands, cli_report_commands }; \
	const size_t counts[] = { sizeof(subcommands) / sizeof(subcommands[0]), \
				  cli_key_ncommands, cli_ops_ncommands, cli_backup_ncommands, \
				  cli_crypto_ncommands, cli_id_ncommands, cli_sd_ncommands, \
				  cli_trust_ncommands, cli_validate_ncommands, cli_report_ncommands }

const struct subcommand *cli_find_command(const char *name)
{
	CLI_TABLES;

	for (size_t t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++)
		for (size_t k = 0; k < counts[t]; k++)
			if (!strcmp(tabs[t][k].name, name))
				return &tabs[t][k];
	return NULL;
}

/* The command at argv[*i] (two words for "key ..."); advances *i to its last word. */
static const struct subcommand *find_sub(int argc, char **argv, int *i)
{
	CLI_TABLES;
	size_t t, k, n;

	for (t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++) {
		for (k = 0; k < counts[t]; k++) {
			const char *name = tabs[t][k].name;
			const char *sp = strchr(name, ' ');

			if (!sp) {
				if (!strcmp(argv[*i], name))
					return &tabs[t][k];
				continue;
			}
			n = (size_t)(sp - name);
			if (strlen(argv[*i]) == n && !strncmp(argv[*i], name, n) &&
			    *i + 1 < argc && !strcmp(argv[*i + 1], sp + 1)) {
				(*i)++;
				return &tabs[t][k];
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct cli cli = { .prog = "azihsm" };
	const struct subcommand *sub = NULL;
	int i, first;

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
	sub = find_sub(argc, argv, &i);
	if (!sub) {
		if (!strcmp(argv[i], "key"))
			fprintf(stderr, "%s: 'key' needs one of: generate list show public delete\n",
				cli.prog);
		else if (!strcmp(argv[i], "user"))
			fprintf(stderr, "%s: 'user' needs one of: reset-pin unlock\n", cli.prog);
		else if (!strcmp(argv[i], "backup"))
			fprintf(stderr, "%s: 'backup' needs one of: create restore\n", cli.prog);
		else if (!strcmp(argv[i], "crypto"))
			fprintf(stderr, "%s: 'crypto' needs one of: list priority\n", cli.prog);
		else if (!strcmp(argv[i], "sd"))
			fprintf(stderr, "%s: 'sd' needs one of: activate restore backup-key "
				"restore-key info\n", cli.prog);
		else
			fprintf(stderr, "%s: unknown command '%s'\n", cli.prog, argv[i]);
		usage(stderr, cli.prog);
		return 2;
	}
	cli.cmd = sub->name;
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
