// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: commands that log in. Each one opens a session, acts and
 * closes it again, so a script runs one command per step:
 *
 *   azihsm login [--change-pin] [--json]
 *   azihsm key generate --type T --usage U[,U...] [--label L] [--persistent] [--json]
 *   azihsm key list [--json]
 *   azihsm key show --label L|--id N|--masked F [--json]
 *   azihsm key public --label L|--id N [--out FILE]
 *   azihsm key delete --label L|--id N
 *   azihsm user reset-pin --new-pin-file F [--user-id STR] [--json]
 *   azihsm user unlock [--json]
 *
 * Credentials and the options they share: cli-sess.c. Operations with keys
 * (sign, verify, encrypt, ...): cli-ops.c.
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

#include "cli-sess.h"

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
			       "or one the officer set (use --change-pin)\n", role_name(o.role));
		else
			printf("PIN change required: no\n");
	}
out:
	explicit_bzero(old_pin, sizeof(old_pin));
	explicit_bzero(new_pin, sizeof(new_pin));
	return ret;
}

/* --- key ... ------------------------------------------------------------- */

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
	for (i = 0; i < cli_nusages; i++) {
		if (!(usage & cli_usages[i].bit))
			continue;
		off += (size_t)snprintf(buf + off, cap - off, "%s%s%s%s", off ? sep : "", q,
					cli_usages[i].name, q);
		usage &= ~cli_usages[i].bit;
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
	size_t label_len = 0;
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
	type = parse_type(o.type);
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
	if (sess_begin(cli, &o, &x, NULL))
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
	if (sess_begin(cli, &o, &x, NULL))
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
	if (sess_begin(cli, &o, &x, &id))
		return 1;
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

static int cmd_key_public(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "out", required_argument, NULL, OPT_OUT },);
	uint8_t der[2048];
	struct opts o;
	struct ctx x;
	size_t len = 0;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (sess_begin(cli, &o, &x, &id))
		return 1;
	ret = azihsm_key_public(x.sess, id, der, sizeof(der), &len);
	ret = sess_end(cli, &x, ret, "key public");
	return ret ? ret : write_pubkey_pem(cli, der, len, o.out);
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
	if (sess_begin(cli, &o, &x, &id))
		return 1;
	ret = azihsm_key_delete(x.sess, id);
	ret = sess_end(cli, &x, ret, "key delete");
	if (!ret)
		printf("key %u deleted\n", id);
	return ret;
}

/* --- user ... (the officer manages the Crypto User) ---------------------- */

/* Parse a user command's options; the role defaults to officer here. */
static int user_cmd_begin(struct cli *cli, int argc, char **argv,
			  const struct option *lopts, struct opts *o)
{
	int ret = parse_opts(cli, argc, argv, lopts, false, o);

	if (ret)
		return ret;
	if (!o->has_role)
		o->role = AZIHSM_ROLE_OFFICER;
	return 0;
}

/* The id's bytes up to its zero padding. */
static size_t id_len(const uint8_t id[AZIHSM_ID_LEN])
{
	size_t n = AZIHSM_ID_LEN;

	while (n && !id[n - 1])
		n--;
	return n;
}

static int cmd_user_reset_pin(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "new-pin-file", required_argument, NULL, OPT_NEW_PIN_FILE },
		{ "user-id", required_argument, NULL, OPT_USER_ID },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	char new_pin[PIN_BUF];
	uint8_t uid[AZIHSM_ID_LEN];
	struct opts o;
	struct ctx x;
	int ret;

	ret = user_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (o.has_user_id) {
		memcpy(uid, o.user_id, sizeof(uid));
	} else {
		memset(uid, 0, sizeof(uid));
		memcpy(uid, AZIHSM_DEFAULT_USER_ID, strlen(AZIHSM_DEFAULT_USER_ID));
	}
	/* The user's new PIN first, then the officer's (sess_begin). */
	if (read_pin(cli, o.new_pin_file, "--new-pin-file", "AZIHSM_NEW_PIN", new_pin))
		return 1;
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		goto out;
	ret = azihsm_user_reset_pin(x.sess, uid, new_pin);
	ret = sess_end(cli, &x, ret, "reset the user's PIN");
	if (ret)
		goto out;
	if (o.json) {
		printf("{\n  \"user_id\": ");
		cli_json_bytes(stdout, uid, id_len(uid));
		printf(",\n  \"pin_reset\": true,\n  \"must_change_pin\": true\n}\n");
	} else {
		printf("user PIN reset: ok\n"
		       "the user must change it at the next login (login --change-pin)\n");
	}
out:
	explicit_bzero(new_pin, sizeof(new_pin));
	return ret;
}

static int cmd_user_unlock(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o;
	struct ctx x;
	int ret;

	ret = user_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		return ret;
	ret = azihsm_user_unlock(x.sess);
	ret = sess_end(cli, &x, ret, "unlock the user");
	return ret ? ret : print_result(&o, "{\n  \"unlocked\": true\n}\n", "user unlocked: ok\n");
}

#define USER_CRED_HELP \
	"The officer logs in (--role defaults to officer here):\n" \
	"  --role officer|user  the role to log in as (default officer)\n" \
	"  --cred-id STR        the officer's credential id (default: the default id)\n" \
	"  --pin-file FILE      the officer's PIN is FILE's first line (else env AZIHSM_PIN)\n"

const struct subcommand cli_key_commands[] = {
	{ "login", "login [--role officer|user] [--change-pin] [--json]",
	  "Log in to check the credentials; with --change-pin replace the PIN.\n"
	  "Prints whether the role must still change its (default) PIN.\n"
	  CRED_HELP
	  "  --id STR             same as --cred-id\n"
	  "  --change-pin         replace the PIN with the one from --new-pin-file\n"
	  "  --new-pin-file FILE  the new PIN is FILE's first line (else env AZIHSM_NEW_PIN)\n"
	  "  --json               machine-readable output\n"
	  "PINs are 1..16 bytes; a new PIN needs 8..16 and may not be trivial\n"
	  "(one character repeated, a run like 12345678 or hgfedcba, a default PIN\n"
	  "or id, the credential's id, the current PIN). 10 wrong PINs in a row\n"
	  "lock the user until 'user unlock'; the officer only waits (up to an hour).\n"
	  "A fresh partition has default credentials (see\n"
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
	{ "key show", "key show --label L|--id N|--masked F [--json]",
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
	{ "user reset-pin", "user reset-pin --new-pin-file FILE [--user-id STR] [--json]",
	  "Give the Crypto User a new PIN (Crypto Officer only). It also clears the\n"
	  "user's wrong-PIN count, and the user must change it at the next login.\n"
	  USER_CRED_HELP
	  "  --new-pin-file FILE  the user's new PIN is FILE's first line (else env\n"
	  "                       AZIHSM_NEW_PIN); 8..16 bytes, not trivial (see login)\n"
	  "  --user-id STR        the user's credential id from now on, 1..16 bytes\n"
	  "                       (default: the default user id)\n"
	  "  --json               machine-readable output\n",
	  cmd_user_reset_pin },
	{ "user unlock", "user unlock [--json]",
	  "Clear the Crypto User's wrong-PIN count and lockout wait, also a lock\n"
	  "after 10 wrong PINs (Crypto Officer only); the user's PIN is kept.\n"
	  USER_CRED_HELP
	  "  --json               machine-readable output\n",
	  cmd_user_unlock },
};

const size_t cli_key_ncommands = ARRAY_LEN(cli_key_commands);
