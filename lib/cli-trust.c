// SPDX-License-Identifier: MIT
/*
 * azihsm selftest [--json]      run the device's self-tests now
 * azihsm tamper log [--json]    the device's tamper log
 * (hsm-design.md "Self-tests and the error state", "Tamper response")
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "azihsm/azihsm.h"
#include "cli.h"

/* --json only; -1 on a bad option or argument (usage printed by the caller). */
static int json_opt(struct cli *cli, int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return -1;
		*json = true;
	}
	if (optind != argc) {
		fprintf(stderr, "%s %s: unexpected argument '%s'\n", cli->prog, cli->cmd,
			argv[optind]);
		return -1;
	}
	return 0;
}

/*
 * What these commands share, as sess_begin/sess_end for the session ones:
 * --json, open the device (dev_begin: 0, or the exit status after a
 * message), the one call, close (dev_end: @err reported as "@what").
 */
static int dev_begin(struct cli *cli, int argc, char **argv, bool *json,
		     struct azihsm_dev **dev)
{
	if (json_opt(cli, argc, argv, json))
		return 2;
	return cli_open_dev(cli, dev) ? 1 : 0;
}

static int dev_end(struct cli *cli, struct azihsm_dev *dev, int err, const char *what)
{
	azihsm_close(dev);
	return err ? cli_fail(cli, what, err) : 0;
}

static int cmd_selftest(struct cli *cli, int argc, char **argv)
{
	struct azihsm_selftest_result r;
	struct azihsm_dev *dev;
	unsigned int i;
	bool json;
	int ret;

	ret = dev_begin(cli, argc, argv, &json, &dev);
	if (ret)
		return ret;
	ret = dev_end(cli, dev, azihsm_selftest(dev, &r), "selftest");
	if (ret)
		return ret;
	if (json) {
		printf("{\n  \"passed\": %s,\n  \"results\": [\n", r.passed ? "true" : "false");
		for (i = 0; i < r.n; i++)
			printf("    { \"algorithm\": \"%s\", \"result\": \"%s\" }%s\n", r.t[i].name,
			       azihsm_selftest_result_str(r.t[i].result), i + 1 < r.n ? "," : "");
		printf("  ]\n}\n");
	} else {
		for (i = 0; i < r.n; i++)
			printf("%-10s %s\n", r.t[i].name, azihsm_selftest_result_str(r.t[i].result));
		printf("self-tests %s\n", r.passed ? "passed" :
		       "FAILED: the device is in its error state until a reset");
	}
	return r.passed ? 0 : 1;
}

static void fmt_time(uint64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%llu", (unsigned long long)t);
}

static int cmd_tamper_log(struct cli *cli, int argc, char **argv)
{
	struct azihsm_tamper_log log;
	struct azihsm_dev *dev;
	char when[32];
	unsigned int i;
	bool json;
	int ret;

	ret = dev_begin(cli, argc, argv, &json, &dev);
	if (ret)
		return ret;
	ret = dev_end(cli, dev, azihsm_tamper_log(dev, &log), "tamper log");
	if (ret)
		return ret;
	if (json) {
		printf("{\n  \"count\": %u,\n  \"events\": [\n", log.count);
		for (i = 0; i < log.n; i++) {
			fmt_time(log.e[i].time, when, sizeof(when));
			printf("    { \"seq\": %u, \"sensor\": \"%s\", \"value\": %d, \"time\": \"%s\" }%s\n",
			       log.e[i].seq, log.e[i].sensor_name, log.e[i].value, when,
			       i + 1 < log.n ? "," : "");
		}
		printf("  ]\n}\n");
		return 0;
	}
	printf("tamper events: %u%s\n", log.count,
	       log.count > log.n ? " (the oldest no longer in the log)" : "");
	for (i = 0; i < log.n; i++) {
		fmt_time(log.e[i].time, when, sizeof(when));
		printf("#%u  %s  %s (reading %d)\n", log.e[i].seq, when, log.e[i].sensor_name,
		       log.e[i].value);
	}
	return 0;
}

const struct subcommand cli_trust_commands[] = {
	{ "selftest", "selftest [--json]",
	  "Run the device's known-answer self-tests now; one result per algorithm.\n"
	  "A failure puts the device in its error state (exit status 1).\n"
	  "  --json   machine-readable output\n",
	  cmd_selftest },
	{ "tamper log", "tamper log [--json]",
	  "Show the device's tamper log: the count of events ever and the last ones\n"
	  "(sensor, reading, time). It survives restarts and zeroization.\n"
	  "  --json   machine-readable output\n",
	  cmd_tamper_log },
};
const size_t cli_trust_ncommands = sizeof(cli_trust_commands) / sizeof(cli_trust_commands[0]);
