// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: the kernel crypto API side of the driver. No device access:
 * it reads /proc/crypto and talks to the kernel's crypto_user netlink
 * interface.
 *
 *   azihsm crypto list [--json] [--all]
 *   azihsm crypto priority DRIVER N
 *
 * "list" shows the algorithms whose driver name ends in _azihsm (all with
 * --all) and which driver the kernel picks for each algorithm name: the
 * highest priority among the entries of the same name and kind (hash:
 * shash/ahash, skcipher: skcipher/lskcipher, others by their type),
 * internal ones excluded. "priority" sends CRYPTO_MSG_UPDATEALG over
 * NETLINK_CRYPTO (module crypto_user, CAP_NET_ADMIN) and reads
 * /proc/crypto again to confirm.
 *
 * The parser and the netlink call are also used by tests/host/test_crypto.c.
 * AZIHSM_PROC_CRYPTO names another file to read instead of /proc/crypto
 * (for tests).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/cryptouser.h>
#include <linux/netlink.h>

#include "cli.h"

#define AZIHSM_DRIVER_SUFFIX	"_azihsm"

static void copy_field(char *dst, size_t size, const char *val, int *err)
{
	size_t len = strlen(val);

	if (len >= size) {
		*err = -EINVAL;
		len = size - 1;
	}
	memcpy(dst, val, len);
	dst[len] = '\0';
}

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Store one "key : value" line into @a; unknown keys are ignored. */
static int parse_line(struct cli_crypto_alg *a, char *line)
{
	char *colon = strchr(line, ':');
	char *key_end, *val;
	int err = 0;

	if (!colon)
		return -EINVAL;
	key_end = colon;
	while (key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t'))
		key_end--;
	*key_end = '\0';
	val = colon + 1;
	while (*val == ' ' || *val == '\t')
		val++;

	if (!strcmp(line, "name")) {
		copy_field(a->name, sizeof(a->name), val, &err);
	} else if (!strcmp(line, "driver")) {
		copy_field(a->driver, sizeof(a->driver), val, &err);
	} else if (!strcmp(line, "module")) {
		copy_field(a->module, sizeof(a->module), val, &err);
	} else if (!strcmp(line, "type")) {
		copy_field(a->type, sizeof(a->type), val, &err);
	} else if (!strcmp(line, "selftest")) {
		copy_field(a->selftest, sizeof(a->selftest), val, &err);
	} else if (!strcmp(line, "internal")) {
		a->internal = !strcmp(val, "yes");
	} else if (!strcmp(line, "priority")) {
		err = parse_u32(val, &a->priority);
		a->has_priority = !err;
	}
	return err;
}

static int finish_entry(struct cli_crypto_alg *a, unsigned int lineno)
{
	if (!a->name[0] || !a->driver[0] || !a->has_priority || !a->type[0]) {
		fprintf(stderr, "/proc/crypto: entry ending at line %u lacks name, driver, "
			"priority or type\n", lineno);
		return -EINVAL;
	}
	if (!a->selftest[0])
		strcpy(a->selftest, "unknown");
	return 0;
}

int cli_crypto_parse(FILE *f, struct cli_crypto_alg **out, size_t *count)
{
	struct cli_crypto_alg *algs = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	unsigned int lineno = 0;
	char line[512], orig[512];
	int ret = 0;

	*out = NULL;
	*count = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			fprintf(stderr, "/proc/crypto: line %u too long\n", lineno);
			ret = -EINVAL;
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len) {
			if (cur) {
				ret = finish_entry(cur, lineno);
				if (ret)
					break;
				cur = NULL;
			}
			continue;
		}
		if (!cur) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cli_crypto_alg *na = realloc(algs, ncap * sizeof(*na));

				if (!na) {
					ret = -ENOMEM;
					break;
				}
				algs = na;
				cap = ncap;
			}
			cur = &algs[n++];
			memset(cur, 0, sizeof(*cur));
			cur->winner = -1;
		}
		memcpy(orig, line, len + 1);
		ret = parse_line(cur, line);
		if (ret) {
			fprintf(stderr, "/proc/crypto: line %u: cannot parse '%s'\n", lineno, orig);
			break;
		}
	}
	if (!ret && ferror(f))
		ret = -EIO;
	if (!ret && cur)
		ret = finish_entry(cur, lineno);
	if (ret) {
		free(algs);
		return ret;
	}
	cli_crypto_mark_winners(algs, n);
	*out = algs;
	*count = n;
	return 0;
}

/*
 * Types a lookup treats as one: a hash user (crypto_alloc_ahash, as AF_ALG
 * does) takes shash and ahash implementations, an skcipher user takes
 * lskcipher ones too.
 */
const char *cli_crypto_kind(const char *type)
{
	if (!strcmp(type, "shash") || !strcmp(type, "ahash"))
		return "hash";
	if (!strcmp(type, "lskcipher") || !strcmp(type, "skcipher"))
		return "skcipher";
	return type;
}

void cli_crypto_mark_winners(struct cli_crypto_alg *algs, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		int best = -1;

		for (j = 0; j < n; j++) {
			if (algs[j].internal || strcmp(algs[j].name, algs[i].name) ||
			    strcmp(cli_crypto_kind(algs[j].type), cli_crypto_kind(algs[i].type)))
				continue;
			/*
			 * The lookup walks the list /proc/crypto prints and
			 * takes a strictly higher priority only: on a tie the
			 * entry listed first (registered last) wins.
			 */
			if (best < 0 || algs[j].priority > algs[best].priority)
				best = (int)j;
		}
		algs[i].winner = best;
	}
}

bool cli_crypto_is_ours(const struct cli_crypto_alg *a)
{
	size_t len = strlen(a->driver), sl = strlen(AZIHSM_DRIVER_SUFFIX);

	return len > sl && !strcmp(a->driver + len - sl, AZIHSM_DRIVER_SUFFIX);
}

const char *cli_crypto_proc_path(void)
{
	const char *p = getenv("AZIHSM_PROC_CRYPTO");

	return p && *p ? p : "/proc/crypto";
}

static int read_algs(const struct cli *cli, struct cli_crypto_alg **algs, size_t *n)
{
	const char *path = cli_crypto_proc_path();
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		fprintf(stderr, "%s %s: cannot open %s: %s\n", cli->prog, cli->cmd, path,
			strerror(errno));
		return 1;
	}
	ret = cli_crypto_parse(f, algs, n);
	fclose(f);
	if (ret) {
		fprintf(stderr, "%s %s: cannot read %s: %s\n", cli->prog, cli->cmd, path,
			strerror(-ret));
		return 1;
	}
	return 0;
}

static void json_string(const char *key, const char *val)
{
	printf("\"%s\": ", key);
	cli_json_bytes(stdout, (const uint8_t *)val, strlen(val));
}

static int cmd_crypto_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_crypto_alg *algs;
	bool json = false, all = false, first = true;
	size_t n, i, shown = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'a')
			all = true;
		else
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "%s %s: unexpected argument '%s'\n", cli->prog, cli->cmd,
			argv[optind]);
		return 2;
	}
	if (read_algs(cli, &algs, &n))
		return 1;

	if (json)
		printf("[");
	else
		printf("%-28s %-28s %-10s %8s %-9s %s\n", "DRIVER", "NAME", "TYPE", "PRIORITY",
		       "SELFTEST", "SELECTED");
	for (i = 0; i < n; i++) {
		const struct cli_crypto_alg *a = &algs[i];
		const char *win = a->winner >= 0 ? algs[a->winner].driver : "";
		bool selected = a->winner == (int)i;

		if (!all && !cli_crypto_is_ours(a))
			continue;
		shown++;
		if (json) {
			printf("%s\n  {", first ? "" : ",");
			first = false;
			json_string("driver", a->driver);
			printf(", ");
			json_string("name", a->name);
			printf(", ");
			json_string("type", a->type);
			printf(", ");
			json_string("module", a->module);
			printf(", \"priority\": %u, ", a->priority);
			json_string("selftest", a->selftest);
			printf(", \"internal\": %s, \"selected\": %s, ",
			       a->internal ? "true" : "false", selected ? "true" : "false");
			if (a->winner >= 0)
				json_string("selected_driver", win);
			else
				printf("\"selected_driver\": null");
			printf("}");
			continue;
		}
		printf("%-28s %-28s %-10s %8u %-9s ", a->driver, a->name, a->type, a->priority,
		       a->selftest);
		if (a->internal)
			printf("no (internal)\n");
		else if (selected)
			printf("yes\n");
		else if (a->winner >= 0)
			printf("no: %s (%u)\n", win, algs[a->winner].priority);
		else
			printf("no\n");
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	else if (!shown && !all)
		fprintf(stderr, "%s %s: no *%s algorithm in %s: is the azihsm driver loaded "
			"and bound to a device?\n", cli->prog, cli->cmd, AZIHSM_DRIVER_SUFFIX,
			cli_crypto_proc_path());
	free(algs);
	return 0;
}

/* CRYPTO_MSG_UPDATEALG: a crypto_user_alg naming the driver, one u32 attribute. */
struct updatealg_req {
	struct nlmsghdr nh;
	struct crypto_user_alg alg;
	struct nlattr prio_attr;
	uint32_t prio;
};

int cli_crypto_set_priority(const char *driver, uint32_t priority)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct updatealg_req req;
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} resp;
	struct timeval tv = { .tv_sec = 5 };
	ssize_t len;
	int fd, ret;

	if (strlen(driver) >= sizeof(req.alg.cru_driver_name))
		return -ENAMETOOLONG;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = CRYPTO_MSG_UPDATEALG;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	strcpy(req.alg.cru_driver_name, driver);
	req.prio_attr.nla_len = NLA_HDRLEN + sizeof(uint32_t);
	req.prio_attr.nla_type = CRYPTOCFGA_PRIORITY_VAL;
	req.prio = priority;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_CRYPTO);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		len = recv(fd, &resp, sizeof(resp), 0);
		if (len < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		if ((size_t)len < sizeof(struct nlmsghdr) || resp.nh.nlmsg_len > (size_t)len) {
			ret = -EPROTO;
			goto out;
		}
		if (resp.nh.nlmsg_seq != req.nh.nlmsg_seq)
			continue;
		if (resp.nh.nlmsg_type != NLMSG_ERROR ||
		    resp.nh.nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			ret = -EPROTO;
			goto out;
		}
		ret = ((struct nlmsgerr *)NLMSG_DATA(&resp.nh))->error;
		if (ret > 0)
			ret = -EPROTO;
		break;
	}
out:
	close(fd);
	return ret;
}

static int cmd_crypto_priority(struct cli *cli, int argc, char **argv)
{
	struct cli_crypto_alg *algs;
	const char *driver;
	uint32_t prio, old = 0;
	bool found_old = false;
	size_t n, i;
	int ret;

	/* No options: a negative priority is a bad number, not an option. */
	if (argc != 3) {
		fprintf(stderr, "%s %s: need a driver name and a priority\n", cli->prog, cli->cmd);
		return 2;
	}
	driver = argv[1];
	if (parse_u32(argv[2], &prio) || prio > INT_MAX) {
		fprintf(stderr, "%s %s: priority must be a number 0..%d, not '%s'\n", cli->prog,
			cli->cmd, INT_MAX, argv[2]);
		return 2;
	}
	if (!read_algs(cli, &algs, &n)) {
		for (i = 0; i < n; i++) {
			if (!strcmp(algs[i].driver, driver)) {
				old = algs[i].priority;
				found_old = true;
				break;
			}
		}
		free(algs);
	}

	ret = cli_crypto_set_priority(driver, prio);
	switch (ret) {
	case 0:
		break;
	case -EPROTONOSUPPORT:
		fprintf(stderr, "%s %s: the kernel has no crypto netlink interface "
			"(NETLINK_CRYPTO): load the crypto_user module (modprobe crypto_user; "
			"CONFIG_CRYPTO_USER)\n", cli->prog, cli->cmd);
		return 1;
	case -ENOENT:
		fprintf(stderr, "%s %s: the kernel has no algorithm with driver name '%s' "
			"(see 'azihsm crypto list --all')\n", cli->prog, cli->cmd, driver);
		return 1;
	case -EPERM:
	case -EACCES:
		fprintf(stderr, "%s %s: not permitted: changing a priority needs CAP_NET_ADMIN "
			"in the initial user namespace (run as root, outside a container)\n",
			cli->prog, cli->cmd);
		return 1;
	case -ENAMETOOLONG:
		fprintf(stderr, "%s %s: driver name '%s' is too long (at most %zu bytes)\n",
			cli->prog, cli->cmd, driver,
			sizeof(((struct crypto_user_alg *)0)->cru_driver_name) - 1);
		return 2;
	default:
		fprintf(stderr, "%s %s: CRYPTO_MSG_UPDATEALG for '%s' failed: %s\n", cli->prog,
			cli->cmd, driver, strerror(-ret));
		return 1;
	}

	/* Confirm from /proc/crypto. */
	if (read_algs(cli, &algs, &n))
		return 1;
	ret = 1;
	for (i = 0; i < n; i++) {
		const struct cli_crypto_alg *a = &algs[i];

		if (strcmp(a->driver, driver))
			continue;
		if (a->priority != prio) {
			fprintf(stderr, "%s %s: the kernel accepted the change but %s still shows "
				"priority %u for %s\n", cli->prog, cli->cmd, cli_crypto_proc_path(),
				a->priority, driver);
			break;
		}
		if (found_old)
			printf("%s (%s): priority %u -> %u\n", driver, a->name, old, prio);
		else
			printf("%s (%s): priority %u\n", driver, a->name, prio);
		if (a->winner == (int)i)
			printf("%s is now selected for %s\n", driver, a->name);
		else if (a->winner >= 0)
			printf("%s is selected for %s (priority %u)\n", algs[a->winner].driver,
			       a->name, algs[a->winner].priority);
		ret = 0;
		break;
	}
	if (i == n)
		fprintf(stderr, "%s %s: %s lists no driver '%s' after the change\n", cli->prog,
			cli->cmd, cli_crypto_proc_path(), driver);
	free(algs);
	return ret;
}

const struct subcommand cli_crypto_commands[] = {
	{ "crypto list", "crypto list [--json] [--all]",
	  "Show the kernel crypto API algorithms of the azihsm driver (driver names\n"
	  "ending in _azihsm) from /proc/crypto: driver, name, type, priority, self-test\n"
	  "state, and whether the kernel selects it for its name (the highest priority\n"
	  "among the non-internal entries of the same name and kind; else the winner).\n"
	  "  --all    every algorithm, not only ours\n"
	  "  --json   an array of {driver, name, type, module, priority, selftest,\n"
	  "           internal, selected, selected_driver}\n",
	  cmd_crypto_list },
	{ "crypto priority", "crypto priority DRIVER N",
	  "Set the priority of the algorithm with driver name DRIVER to N at run time\n"
	  "(CRYPTO_MSG_UPDATEALG over NETLINK_CRYPTO; needs the crypto_user module and\n"
	  "root), then read /proc/crypto to confirm and say which driver is selected.\n"
	  "The driver's default comes from its crypto_priority module parameter.\n",
	  cmd_crypto_priority },
};

const size_t cli_crypto_ncommands = sizeof(cli_crypto_commands) / sizeof(cli_crypto_commands[0]);
