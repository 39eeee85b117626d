// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: commands that log in. Each one opens a session, acts and
 * closes it again, so a script runs one command per step:
 *
 *   azihsm login [--change-pin] [--json]
 *   azihsm key generate --type T --usage U[,U...] [--label L] [--persistent] [--json]
 *   azihsm key list [--json]
 *   azihsm key show --label L|--id N [--json]
 *   azihsm key public --label L|--id N [--out FILE]
 *   azihsm key delete --label L|--id N
 *   azihsm sign --label L|--id N --alg ecdsa-sha256|384|512 [--in FILE] [--out FILE]
 *
 * Credentials: --role officer|user (default user), --id STR (default: the
 * role's default id), PIN from --pin-file FILE (first line) or AZIHSM_PIN;
 * a new PIN from --new-pin-file FILE or AZIHSM_NEW_PIN. Never from argv.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"

#define KEYS_MAX	1024	/* key list capacity; more than any vault holds */
#define PIN_BUF		(AZIHSM_PIN_MAX + 1)

/* Options every session command takes (getopt_long values >= 0x100). */
enum {
	OPT_ROLE = 0x100, OPT_ID, OPT_PIN_FILE, OPT_NEW_PIN_FILE, OPT_CHANGE_PIN, OPT_JSON,
	OPT_TYPE, OPT_USAGE, OPT_LABEL, OPT_PERSISTENT, OPT_CRED_ID, OPT_OUT, OPT_IN, OPT_ALG,
};

/*
 * --id: in login the credential id; in key commands and sign the key id,
 * there the credential id is --cred-id (login takes both spellings).
 */
#define CRED_OPTS \
	{ "role", required_argument, NULL, OPT_ROLE }, \
	{ "cred-id", required_argument, NULL, OPT_CRED_ID }, \
	{ "pin-file", required_argument, NULL, OPT_PIN_FILE }

#define CRED_HELP \
	"  --role officer|user  the role to log in as (default user)\n" \
	"  --cred-id STR        credential id, 1..16 bytes (default: the role's default id)\n" \
	"  --pin-file FILE      the PIN is FILE's first line (else env AZIHSM_PIN)\n"

#define KEY_SEL_HELP \
	"  --label L            the key with label L\n" \
	"  --id N               the key with key id N (instead of --label)\n"

struct opts {
	enum azihsm_role role;
	bool has_cred_id;
	uint8_t cred_id[AZIHSM_ID_LEN];
	const char *pin_file;
	const char *new_pin_file;
	bool change_pin, json, persistent;
	const char *type, *usage, *label, *out, *in, *alg;
	bool has_key_id;
	uint16_t key_id;
};

/* The session a command runs in. */
struct ctx {
	struct azihsm_dev *dev;
	struct azihsm_session *sess;
};

static const struct { const char *name; enum azihsm_key_type type; } key_types[] = {
	{ "aes-128", AZIHSM_KEY_TYPE_AES128 },
	{ "aes-192", AZIHSM_KEY_TYPE_AES192 },
	{ "aes-256", AZIHSM_KEY_TYPE_AES256 },
	{ "aes-xts", AZIHSM_KEY_TYPE_AES256_XTS },
	{ "aes-gcm", AZIHSM_KEY_TYPE_AES256_GCM },
	{ "ec-p256", AZIHSM_KEY_TYPE_EC_P256 },
	{ "ec-p384", AZIHSM_KEY_TYPE_EC_P384 },
	{ "ec-p521", AZIHSM_KEY_TYPE_EC_P521 },
	{ "rsa-2048", AZIHSM_KEY_TYPE_RSA2048 },
	{ "rsa-3072", AZIHSM_KEY_TYPE_RSA3072 },
	{ "rsa-4096", AZIHSM_KEY_TYPE_RSA4096 },
	{ "hmac-sha256", AZIHSM_KEY_TYPE_HMAC_SHA256 },
	{ "hmac-sha384", AZIHSM_KEY_TYPE_HMAC_SHA384 },
	{ "hmac-sha512", AZIHSM_KEY_TYPE_HMAC_SHA512 },
};

static const struct { const char *name; uint32_t bit; } usages[] = {
	{ "sign", AZIHSM_KEY_USE_SIGN },	{ "verify", AZIHSM_KEY_USE_VERIFY },
	{ "encrypt", AZIHSM_KEY_USE_ENCRYPT },	{ "decrypt", AZIHSM_KEY_USE_DECRYPT },
	{ "unwrap", AZIHSM_KEY_USE_UNWRAP },	{ "derive", AZIHSM_KEY_USE_DERIVE },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *type_name(uint8_t type)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(key_types); i++)
		if (key_types[i].type == type)
			return key_types[i].name;
	return "unknown";
}

static int usage_err(const struct cli *cli, const char *msg, const char *arg)
{
	fprintf(stderr, "%s %s: %s%s%s%s\n", cli->prog, cli->cmd, msg, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "");
	fprintf(stderr, "%s %s: see '%s %s --help'\n", cli->prog, cli->cmd, cli->prog, cli->cmd);
	return 2;
}

static int parse_u16(const char *s, uint16_t *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xffff)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int set_cred_id(const struct cli *cli, const char *s, struct opts *o)
{
	size_t n = strlen(s);

	if (!n || n > AZIHSM_ID_LEN)
		return usage_err(cli, "the credential id must be 1..16 bytes:", s);
	memset(o->cred_id, 0, sizeof(o->cred_id));
	memcpy(o->cred_id, s, n);
	o->has_cred_id = true;
	return 0;
}

/*
 * Parse the command's options (@lopts: the ones it takes). @id_is_key:
 * --id names a key, else the credential. Returns 0 or an exit code.
 */
static int parse_opts(struct cli *cli, int argc, char **argv, const struct option *lopts,
		      bool id_is_key, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->role = AZIHSM_ROLE_USER;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			if (!strcmp(optarg, "officer"))
				o->role = AZIHSM_ROLE_OFFICER;
			else if (!strcmp(optarg, "user"))
				o->role = AZIHSM_ROLE_USER;
			else
				return usage_err(cli, "--role must be officer or user, not", optarg);
			break;
		case OPT_ID:
			if (!id_is_key) {
				if (set_cred_id(cli, optarg, o))
					return 2;
				break;
			}
			if (parse_u16(optarg, &o->key_id))
				return usage_err(cli, "--id needs a key id 0..65535, not", optarg);
			o->has_key_id = true;
			break;
		case OPT_CRED_ID:
			if (set_cred_id(cli, optarg, o))
				return 2;
			break;
		case OPT_PIN_FILE: o->pin_file = optarg; break;
		case OPT_NEW_PIN_FILE: o->new_pin_file = optarg; break;
		case OPT_CHANGE_PIN: o->change_pin = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_TYPE: o->type = optarg; break;
		case OPT_USAGE: o->usage = optarg; break;
		case OPT_LABEL: o->label = optarg; break;
		case OPT_PERSISTENT: o->persistent = true; break;
		case OPT_OUT: o->out = optarg; break;
		case OPT_IN: o->in = optarg; break;
		case OPT_ALG: o->alg = optarg; break;
		default:
			fprintf(stderr, "%s %s: see '%s %s --help'\n", cli->prog, cli->cmd,
				cli->prog, cli->cmd);
			return 2;
		}
	}
	if (optind != argc)
		return usage_err(cli, "unexpected argument", argv[optind]);
	return 0;
}

/*
 * A PIN: the first line of @file, else the environment variable @env
 * (wiped and removed once read). 0, or 1 after a message.
 */
static int read_pin(const struct cli *cli, const char *file, const char *file_opt,
		    const char *env, char pin[PIN_BUF])
{
	char line[256];
	size_t n;

	memset(pin, 0, PIN_BUF);
	if (file) {
		FILE *f = fopen(file, "r");
		bool got;

		if (!f) {
			fprintf(stderr, "%s: cannot read %s: %s\n", cli->prog, file, strerror(errno));
			return 1;
		}
		got = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		if (!got) {
			fprintf(stderr, "%s: %s is empty: no PIN\n", cli->prog, file);
			return 1;
		}
	} else {
		char *v = getenv(env);

		if (!v) {
			fprintf(stderr, "%s: no PIN given: use %s FILE or set %s\n", cli->prog,
				file_opt, env);
			return 1;
		}
		n = strlen(v);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, v, n);
		line[n] = '\0';
		explicit_bzero(v, strlen(v));
		unsetenv(env);
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (!n || n > AZIHSM_PIN_MAX) {
		explicit_bzero(line, sizeof(line));
		fprintf(stderr, "%s: the PIN from %s must be 1..%d bytes\n", cli->prog,
			file ? file : env, AZIHSM_PIN_MAX);
		return 1;
	}
	memcpy(pin, line, n);
	explicit_bzero(line, sizeof(line));
	return 0;
}

static const char *role_name(enum azihsm_role role)
{
	return role == AZIHSM_ROLE_OFFICER ? "officer" : "user";
}

/*
 * Open the device and log in. @allow_restricted: a must-change session is
 * fine (login itself); otherwise it is refused here with the way out.
 */
static int ctx_open(struct cli *cli, const struct opts *o, bool allow_restricted,
		    struct ctx *x)
{
	char pin[PIN_BUF];
	int ret;

	x->dev = NULL;
	x->sess = NULL;
	if (read_pin(cli, o->pin_file, "--pin-file", "AZIHSM_PIN", pin))
		return 1;
	if (cli_open_dev(cli, &x->dev)) {
		explicit_bzero(pin, sizeof(pin));
		return 1;
	}
	ret = azihsm_login(x->dev, o->role, o->has_cred_id ? o->cred_id : NULL, pin, &x->sess);
	explicit_bzero(pin, sizeof(pin));
	if (ret) {
		char what[64];

		snprintf(what, sizeof(what), "login as %s", role_name(o->role));
		azihsm_close(x->dev);
		x->dev = NULL;
		return cli_fail(cli, what, ret);
	}
	if (!allow_restricted && azihsm_session_must_change_pin(x->sess)) {
		fprintf(stderr, "%s: the %s role still has its default PIN; change it first:\n"
			"  %s login --role %s --change-pin --pin-file OLD --new-pin-file NEW\n",
			cli->prog, role_name(o->role), cli->prog, role_name(o->role));
		azihsm_logout(x->sess);
		azihsm_close(x->dev);
		x->dev = NULL;
		x->sess = NULL;
		return 1;
	}
	return 0;
}

/* Log out and close; @rc is the command's exit code so far. */
static int ctx_close(struct cli *cli, struct ctx *x, int rc)
{
	int ret = azihsm_logout(x->sess);

	x->sess = NULL;
	if (ret && !rc)
		rc = cli_fail(cli, "logout", ret);
	azihsm_close(x->dev);
	x->dev = NULL;
	return rc;
}

/* --- login --------------------------------------------------------------- */

static int cmd_login(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "id", required_argument, NULL, OPT_ID },
		{ "new-pin-file", required_argument, NULL, OPT_NEW_PIN_FILE },
		{ "change-pin", no_argument, NULL, OPT_CHANGE_PIN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	char old_pin[PIN_BUF], new_pin[PIN_BUF];
	bool must_change, changed = false;
	struct opts o;
	struct ctx x;
	int ret;

	ret = parse_opts(cli, argc, argv, lopts, false, &o);
	if (ret)
		return ret;
	if (o.new_pin_file && !o.change_pin)
		return usage_err(cli, "--new-pin-file only goes with --change-pin", NULL);
	/* Read both PINs before talking to the device. */
	if (read_pin(cli, o.pin_file, "--pin-file", "AZIHSM_PIN", old_pin))
		return 1;
	if (o.change_pin &&
	    read_pin(cli, o.new_pin_file, "--new-pin-file", "AZIHSM_NEW_PIN", new_pin)) {
		explicit_bzero(old_pin, sizeof(old_pin));
		return 1;
	}
	if (cli_open_dev(cli, &x.dev)) {
		ret = 1;
		goto out;
	}
	ret = azihsm_login(x.dev, o.role, o.has_cred_id ? o.cred_id : NULL, old_pin, &x.sess);
	if (ret) {
		azihsm_close(x.dev);
		ret = cli_fail(cli, o.role == AZIHSM_ROLE_OFFICER ? "login as officer" :
								  "login as user", ret);
		goto out;
	}
	must_change = azihsm_session_must_change_pin(x.sess);
	if (o.change_pin) {
		ret = azihsm_change_pin(x.sess, old_pin, new_pin);
		if (ret) {
			ret = ctx_close(cli, &x, cli_fail(cli, "change PIN", ret));
			goto out;
		}
		changed = true;
	}
	ret = ctx_close(cli, &x, 0);
	if (ret)
		goto out;
	if (o.json) {
		printf("{\n  \"role\": \"%s\",\n  \"pin_changed\": %s,\n"
		       "  \"must_change_pin\": %s\n}\n", role_name(o.role),
		       changed ? "true" : "false", must_change && !changed ? "true" : "false");
	} else {
		printf("login as %s: ok\n", role_name(o.role));
		if (changed)
			printf("PIN changed\n");
		else if (must_change)
			printf("PIN change required: the %s role still has its default PIN "
			       "(use --change-pin)\n", role_name(o.role));
		else
			printf("PIN change required: no\n");
	}
out:
	explicit_bzero(old_pin, sizeof(old_pin));
	explicit_bzero(new_pin, sizeof(new_pin));
	return ret;
}

/* --- key ... ------------------------------------------------------------- */

static int parse_usage(const char *s, uint32_t *out)
{
	char buf[128], *tok, *save = NULL;
	size_t i;

	*out = 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < ARRAY_LEN(usages); i++)
			if (!strcmp(tok, usages[i].name))
				break;
		if (i == ARRAY_LEN(usages))
			return -1;
		*out |= usages[i].bit;
	}
	return *out ? 0 : -1;
}

static void print_label_text(const uint8_t *l, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (l[i] >= 0x20 && l[i] < 0x7f && l[i] != '\\')
			putchar(l[i]);
		else
			printf("\\x%02x", l[i]);
	}
}

/* "sign,verify" (text) or "\"sign\", \"verify\"" (JSON); unknown bits as 0x.. */
static void usage_str(uint32_t usage, bool json, char *buf, size_t cap)
{
	const char *sep = json ? ", " : ",";
	const char *q = json ? "\"" : "";
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_LEN(usages); i++) {
		if (!(usage & usages[i].bit))
			continue;
		off += (size_t)snprintf(buf + off, cap - off, "%s%s%s%s", off ? sep : "", q,
					usages[i].name, q);
		usage &= ~usages[i].bit;
	}
	if (usage)
		off += (size_t)snprintf(buf + off, cap - off, "%s%s0x%x%s", off ? sep : "", q,
					usage, q);
	if (!off && !json)
		snprintf(buf, cap, "-");
}

static void print_usage_list(uint32_t usage, bool json)
{
	char buf[128];

	usage_str(usage, json, buf, sizeof(buf));
	fputs(buf, stdout);
}

static void print_key_json(const struct azihsm_key_info *k, const char *indent, bool last)
{
	printf("%s{\n%s  \"id\": %u,\n%s  \"type\": \"%s\",\n%s  \"usage\": [", indent, indent,
	       k->id, indent, type_name(k->type), indent);
	print_usage_list(k->usage, true);
	printf("],\n%s  \"persistent\": %s,\n%s  \"label\": ", indent,
	       k->persistent ? "true" : "false", indent);
	if (k->label_len)
		cli_json_bytes(stdout, k->label, k->label_len);
	else
		printf("null");
	printf("\n%s}%s\n", indent, last ? "" : ",");
}

static void print_key_text(const struct azihsm_key_info *k)
{
	char usage[128];

	usage_str(k->usage, false, usage, sizeof(usage));
	printf("%-6u %-12s %-10s %-20s ", k->id, type_name(k->type),
	       k->persistent ? "persistent" : "session", usage);
	if (k->label_len)
		print_label_text(k->label, k->label_len);
	else
		printf("-");
	printf("\n");
}

static int cmd_key_generate(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "usage", required_argument, NULL, OPT_USAGE },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "persistent", no_argument, NULL, OPT_PERSISTENT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	enum azihsm_key_type type = 0;
	size_t i, label_len = 0;
	uint16_t key_id;
	uint32_t usage;
	struct opts o;
	struct ctx x;
	int ret;

	ret = parse_opts(cli, argc, argv, lopts, false, &o);
	if (ret)
		return ret;
	if (!o.type)
		return usage_err(cli, "--type is required", NULL);
	for (i = 0; i < ARRAY_LEN(key_types); i++)
		if (!strcmp(o.type, key_types[i].name))
			type = key_types[i].type;
	if (!type)
		return usage_err(cli, "unknown --type", o.type);
	if (!o.usage)
		return usage_err(cli, "--usage is required (e.g. sign or encrypt,decrypt)", NULL);
	if (parse_usage(o.usage, &usage))
		return usage_err(cli, "--usage takes sign,verify,encrypt,decrypt,unwrap,derive:",
				 o.usage);
	if (o.label) {
		label_len = strlen(o.label);
		if (!label_len || label_len > AZIHSM_LABEL_MAX)
			return usage_err(cli, "--label must be 1..128 bytes", NULL);
	}
	if (ctx_open(cli, &o, false, &x))
		return 1;
	ret = azihsm_key_generate(x.sess, type, usage, o.label, label_len, o.persistent, &key_id);
	if (ret)
		return ctx_close(cli, &x, cli_fail(cli, "key generate", ret));
	ret = ctx_close(cli, &x, 0);
	if (ret)
		return ret;
	if (o.json) {
		printf("{\n  \"id\": %u,\n  \"type\": \"%s\",\n  \"persistent\": %s,\n"
		       "  \"label\": ", key_id, o.type, o.persistent ? "true" : "false");
		if (o.label)
			cli_json_bytes(stdout, (const uint8_t *)o.label, label_len);
		else
			printf("null");
		printf("\n}\n");
	} else {
		printf("key %u generated: %s%s%s%s\n", key_id, o.type,
		       o.persistent ? ", persistent" : ", session key", o.label ? ", label " : "",
		       o.label ? o.label : "");
	}
	if (!o.persistent)
		fprintf(stderr, "%s: note: without --persistent the key is a session key and "
			"was deleted when this command logged out\n", cli->prog);
	return 0;
}

static int list_keys(struct cli *cli, struct ctx *x, struct azihsm_key_info **keys, size_t *n)
{
	int ret;

	*keys = calloc(KEYS_MAX, sizeof(**keys));
	if (!*keys)
		return cli_fail(cli, "key list", -ENOMEM);
	ret = azihsm_key_list(x->sess, *keys, KEYS_MAX, n);
	if (ret) {
		free(*keys);
		*keys = NULL;
		return cli_fail(cli, "key list", ret);
	}
	return 0;
}

static int cmd_key_list(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	struct azihsm_key_info *keys;
	struct opts o;
	struct ctx x;
	size_t n, i;
	int ret;

	ret = parse_opts(cli, argc, argv, lopts, false, &o);
	if (ret)
		return ret;
	if (ctx_open(cli, &o, false, &x))
		return 1;
	ret = ctx_close(cli, &x, list_keys(cli, &x, &keys, &n));
	if (ret) {
		free(keys);
		return ret;
	}
	if (o.json) {
		printf("[\n");
		for (i = 0; i < n; i++)
			print_key_json(&keys[i], "  ", i + 1 == n);
		printf("]\n");
	} else if (!n) {
		printf("no keys\n");
	} else {
		printf("%-6s %-12s %-10s %-20s %s\n", "ID", "TYPE", "KIND", "USAGE", "LABEL");
		for (i = 0; i < n; i++)
			print_key_text(&keys[i]);
	}
	free(keys);
	return 0;
}

/* --label or --id: exactly one. 0, or an exit code. */
static int need_key_sel(const struct cli *cli, const struct opts *o)
{
	if (!!o->label == o->has_key_id)
		return usage_err(cli, "name the key with either --label L or --id N", NULL);
	if (o->label && (!*o->label || strlen(o->label) > AZIHSM_LABEL_MAX))
		return usage_err(cli, "--label must be 1..128 bytes", NULL);
	return 0;
}

/* The key id of --label (OpenKey) or --id. 0, or 1 after a message. */
static int resolve_key(struct cli *cli, struct ctx *x, const struct opts *o, uint16_t *id)
{
	int ret;

	if (!o->label) {
		*id = o->key_id;
		return 0;
	}
	ret = azihsm_key_open(x->sess, o->label, strlen(o->label), id);
	if (ret) {
		char what[160];

		snprintf(what, sizeof(what), "key '%s'", o->label);
		return cli_fail(cli, what, ret);
	}
	return 0;
}

#define KEY_CMD_OPTS(...) \
	{ CRED_OPTS, { "label", required_argument, NULL, OPT_LABEL }, \
	  { "id", required_argument, NULL, OPT_ID }, __VA_ARGS__ \
	  { NULL, 0, NULL, 0 } }

static int key_cmd_begin(struct cli *cli, int argc, char **argv, const struct option *lopts,
			 struct opts *o)
{
	int ret;

	/* Here --id is the key id; the credential id is --cred-id. */
	ret = parse_opts(cli, argc, argv, lopts, true, o);
	return ret ? ret : need_key_sel(cli, o);
}

static int cmd_key_show(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "json", no_argument, NULL, OPT_JSON },);
	struct azihsm_key_info *keys = NULL;
	struct opts o;
	struct ctx x;
	size_t n = 0, i;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (ctx_open(cli, &o, false, &x))
		return 1;
	ret = resolve_key(cli, &x, &o, &id);
	if (!ret)
		ret = list_keys(cli, &x, &keys, &n);
	ret = ctx_close(cli, &x, ret);
	if (ret) {
		free(keys);
		return ret;
	}
	for (i = 0; i < n && keys[i].id != id; i++)
		;
	if (i == n) {
		free(keys);
		fprintf(stderr, "%s: key %u: not found\n", cli->prog, id);
		return 1;
	}
	if (o.json) {
		print_key_json(&keys[i], "", true);
	} else {
		printf("id:         %u\n", keys[i].id);
		printf("type:       %s\n", type_name(keys[i].type));
		printf("usage:      ");
		print_usage_list(keys[i].usage, false);
		printf("\npersistent: %s\nlabel:      ", keys[i].persistent ? "yes" : "no");
		print_label_text(keys[i].label, keys[i].label_len);
		printf("\n");
	}
	free(keys);
	return 0;
}

/* Open @path for writing, or stdout for NULL / "-". */
static FILE *open_out(const struct cli *cli, const char *path)
{
	FILE *f;

	if (!path || !strcmp(path, "-"))
		return stdout;
	f = fopen(path, "wb");
	if (!f)
		fprintf(stderr, "%s: cannot write %s: %s\n", cli->prog, path, strerror(errno));
	return f;
}

static int close_out(const struct cli *cli, FILE *f, const char *path)
{
	int bad = ferror(f);

	if (f == stdout)
		bad |= fflush(f);
	else
		bad |= fclose(f);
	if (bad) {
		fprintf(stderr, "%s: write error on %s\n", cli->prog,
			path && strcmp(path, "-") ? path : "stdout");
		return 1;
	}
	return 0;
}

static int cmd_key_public(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "out", required_argument, NULL, OPT_OUT },);
	uint8_t der[2048];
	const unsigned char *p = der;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	struct opts o;
	struct ctx x;
	size_t len = 0;
	uint16_t id;
	FILE *f;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (ctx_open(cli, &o, false, &x))
		return 1;
	ret = resolve_key(cli, &x, &o, &id);
	if (!ret) {
		ret = azihsm_key_public(x.sess, id, der, sizeof(der), &len);
		if (ret)
			ret = cli_fail(cli, "key public", ret);
	}
	ret = ctx_close(cli, &x, ret);
	if (ret)
		return ret;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pk || p != der + len) {
		EVP_PKEY_free(pk);
		fprintf(stderr, "%s: the device's public key does not decode as DER SPKI\n",
			cli->prog);
		return 1;
	}
	f = open_out(cli, o.out);
	if (!f) {
		EVP_PKEY_free(pk);
		return 1;
	}
	bio = BIO_new_fp(f, BIO_NOCLOSE);
	ret = !bio || PEM_write_bio_PUBKEY(bio, pk) != 1;
	BIO_free(bio);
	EVP_PKEY_free(pk);
	ret |= close_out(cli, f, o.out);
	return ret ? 1 : 0;
}

static int cmd_key_delete(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS();
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (ctx_open(cli, &o, false, &x))
		return 1;
	ret = resolve_key(cli, &x, &o, &id);
	if (!ret) {
		ret = azihsm_key_delete(x.sess, id);
		if (ret)
			ret = cli_fail(cli, "key delete", ret);
	}
	ret = ctx_close(cli, &x, ret);
	if (!ret)
		printf("key %u deleted\n", id);
	return ret;
}

/* --- sign ---------------------------------------------------------------- */

static int hash_input(const struct cli *cli, const char *path, const EVP_MD *md,
		      uint8_t *digest, unsigned int *dlen)
{
	uint8_t buf[65536];
	EVP_MD_CTX *c;
	FILE *f = stdin;
	size_t n;
	int ret = 1;

	if (path && strcmp(path, "-")) {
		f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "%s: cannot read %s: %s\n", cli->prog, path, strerror(errno));
			return 1;
		}
	}
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, md, NULL) != 1)
		goto out;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(c, buf, n) != 1)
			goto out;
	if (ferror(f)) {
		fprintf(stderr, "%s: read error on %s\n", cli->prog, f == stdin ? "stdin" : path);
		goto out;
	}
	if (EVP_DigestFinal_ex(c, digest, dlen) != 1)
		goto out;
	ret = 0;
out:
	if (ret && c)
		fprintf(stderr, "%s: hashing the input failed\n", cli->prog);
	EVP_MD_CTX_free(c);
	if (f != stdin)
		fclose(f);
	return ret;
}

static int cmd_sign(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "alg", required_argument, NULL, OPT_ALG },
		{ "in", required_argument, NULL, OPT_IN },
		{ "out", required_argument, NULL, OPT_OUT },);
	static const struct { const char *name; enum azihsm_hash_alg hash; const char *md; }
	algs[] = {
		{ "ecdsa-sha256", AZIHSM_HASH_ALG_SHA256, "SHA256" },
		{ "ecdsa-sha384", AZIHSM_HASH_ALG_SHA384, "SHA384" },
		{ "ecdsa-sha512", AZIHSM_HASH_ALG_SHA512, "SHA512" },
	};
	uint8_t digest[EVP_MAX_MD_SIZE], sig[512];
	unsigned int dlen = 0;
	size_t i, sig_len = 0;
	struct opts o;
	struct ctx x;
	uint16_t id;
	FILE *f;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.alg)
		return usage_err(cli, "--alg is required: ecdsa-sha256, ecdsa-sha384 or "
				 "ecdsa-sha512", NULL);
	for (i = 0; i < ARRAY_LEN(algs) && strcmp(o.alg, algs[i].name); i++)
		;
	if (i == ARRAY_LEN(algs))
		return usage_err(cli, "unknown --alg", o.alg);
	/* Hash first: a bad input file costs no login. */
	if (hash_input(cli, o.in, EVP_get_digestbyname(algs[i].md), digest, &dlen))
		return 1;
	if (ctx_open(cli, &o, false, &x))
		return 1;
	ret = resolve_key(cli, &x, &o, &id);
	if (!ret) {
		ret = azihsm_ecdsa_sign(x.sess, id, algs[i].hash, digest, dlen, sig, sizeof(sig),
					&sig_len);
		if (ret)
			ret = cli_fail(cli, "sign", ret);
	}
	ret = ctx_close(cli, &x, ret);
	if (ret)
		return ret;
	f = open_out(cli, o.out);
	if (!f)
		return 1;
	if (fwrite(sig, 1, sig_len, f) != sig_len)
		ret = 1;
	return close_out(cli, f, o.out) | ret;
}

const struct subcommand cli_key_commands[] = {
	{ "login", "login [--role officer|user] [--change-pin] [--json]",
	  "Log in to check the credentials; with --change-pin replace the PIN.\n"
	  "Prints whether the role must still change its (default) PIN.\n"
	  CRED_HELP
	  "  --id STR             same as --cred-id\n"
	  "  --change-pin         replace the PIN with the one from --new-pin-file\n"
	  "  --new-pin-file FILE  the new PIN is FILE's first line (else env AZIHSM_NEW_PIN)\n"
	  "  --json               machine-readable output\n"
	  "PINs are 1..16 bytes. A fresh partition has default credentials (see\n"
	  "Documentation/hsm-design.md) that must be changed before any other use.\n",
	  cmd_login },
	{ "key generate",
	  "key generate --type TYPE --usage U[,U...] [--label L] [--persistent] [--json]",
	  "Generate a key inside the device and print its key id.\n"
	  CRED_HELP
	  "  --type TYPE          ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096\n"
	  "                       aes-128 aes-192 aes-256 aes-xts aes-gcm\n"
	  "                       hmac-sha256 hmac-sha384 hmac-sha512\n"
	  "  --usage U,...        sign verify encrypt decrypt unwrap derive\n"
	  "  --label L            unique label, 1..128 bytes\n"
	  "  --persistent         keep the key (sealed state); without it the key is a\n"
	  "                       session key and is gone when this command logs out\n"
	  "  --json               machine-readable output\n",
	  cmd_key_generate },
	{ "key list", "key list [--json]",
	  "List the keys the role sees.\n" CRED_HELP
	  "  --json               a JSON array of {id, type, usage, persistent, label}\n",
	  cmd_key_list },
	{ "key show", "key show --label L|--id N [--json]",
	  "Show one key's attributes.\n" KEY_SEL_HELP CRED_HELP
	  "  --json               machine-readable output\n",
	  cmd_key_show },
	{ "key public", "key public --label L|--id N [--out FILE]",
	  "Write the public part of an EC or RSA key as PEM (SubjectPublicKeyInfo).\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --out FILE           write to FILE (default stdout)\n",
	  cmd_key_public },
	{ "key delete", "key delete --label L|--id N",
	  "Delete a key.\n" KEY_SEL_HELP CRED_HELP,
	  cmd_key_delete },
	{ "sign", "sign --label L|--id N --alg ecdsa-sha256|ecdsa-sha384|ecdsa-sha512 "
	  "[--in FILE] [--out FILE]",
	  "Hash the input and sign the digest with an EC key; writes the DER\n"
	  "signature (verifies with 'openssl dgst -sha384 -verify key.pem -signature').\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --alg ALG            ecdsa-sha256, ecdsa-sha384 or ecdsa-sha512\n"
	  "  --in FILE            data to sign (default stdin)\n"
	  "  --out FILE           signature output (default stdout)\n",
	  cmd_sign },
};

const size_t cli_key_ncommands = ARRAY_LEN(cli_key_commands);
