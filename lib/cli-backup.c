// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: zeroize and backup (Crypto Officer; --role defaults to
 * officer here). Design: Documentation/hsm-design.md "Zeroize", "Backup".
 *
 *   azihsm zeroize --yes [--json]
 *   azihsm backup create --out DIR [--json]
 *   azihsm backup restore --in DIR [--json]
 *
 * A backup directory holds bk3.sealed (GetSealedBk3: the BK3 sealed to
 * this device, the masking key wrapped under BK), one masked blob per
 * persistent key (LABEL.masked, or id-N.masked for a key without a label
 * fit for a file name) and `index`, a text file:
 *
 *   azihsm-backup 1
 *   bk3 bk3.sealed
 *   key FILE ID TYPE LABEL-HEX|-       one line per key
 *
 * Everything in it is ciphertext that opens only in the device that made
 * it (its NV secret) and only until that device's next zeroize (its epoch:
 * a zeroize is final). Restore installs the masking key (SetSealedBk3)
 * and brings every key the partition lacks back as a persistent key
 * (UnmaskKey); keys still there are reported present, keys deleted since
 * are refused (KEY_DELETED: deletion is final).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "azihsm/msg.h"
#include "cli-sess.h"

#define INDEX_NAME	"index"
#define SEALED_NAME	"bk3.sealed"
#define INDEX_MAGIC	"azihsm-backup 1"
#define FILE_NAME_MAX	128
#define INDEX_MAX	(KEYS_MAX * 512 + 64)

static int officer_begin(struct cli *cli, int argc, char **argv, const struct option *lopts,
			 struct opts *o)
{
	int ret = parse_opts(cli, argc, argv, lopts, false, o);

	if (ret)
		return ret;
	if (!o->has_role)
		o->role = AZIHSM_ROLE_OFFICER;
	return 0;
}

/* Did the last command fail with HSM status @code? */
static bool hsm_status_is(uint32_t code)
{
	struct azihsm_last_status st = azihsm_last_status(NULL);

	return st.kind == AZIHSM_STATUS_KIND_HSM && st.code == code;
}

/* --- zeroize ---------------------------------------------------------------- */

static int cmd_zeroize(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "yes", no_argument, NULL, OPT_YES },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o;
	struct ctx x;
	int ret;

	ret = officer_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.yes)
		return usage_err(cli, "this destroys every key in the partition and resets both "
				 "PINs to their defaults; confirm with --yes", NULL);
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		return ret;
	ret = azihsm_zeroize(x.sess);
	/* The device closed the session: logout only frees it. */
	ret = sess_end(cli, &x, ret, "zeroize");
	if (ret)
		return ret;
	return print_result(&o, "{\n  \"zeroized\": true,\n  \"must_change_pin\": true\n}\n",
			    "partition zeroized: every key, the masking key and the BK3 are gone;\n"
			    "both roles have their default credentials again and must change them\n"
			    "(azihsm login --role ROLE --change-pin)\n");
}

/* --- files in the backup directory ------------------------------------------ */

static bool file_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* A name the index may give: a plain file in the directory. */
static bool file_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= FILE_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!file_char(s[i]))
			return false;
	return true;
}

/* LABEL.masked if the label makes a plain file name, else id-N.masked. */
static void blob_name(const struct azihsm_key_info *k, char *out, size_t cap)
{
	size_t i;
	bool ok = k->label_len && (size_t)k->label_len + 7 < cap && k->label[0] != '.' &&
		  strncmp((const char *)k->label, "id-", 3) && strcmp((const char *)k->label,
								      INDEX_NAME);

	for (i = 0; ok && i < k->label_len; i++)
		ok = file_char((char)k->label[i]);
	if (ok)
		snprintf(out, cap, "%s.masked", (const char *)k->label);
	else
		snprintf(out, cap, "id-%u.masked", k->id);
}

static int dir_path(const struct cli *cli, const char *dir, const char *name, char *out,
		    size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
		fprintf(stderr, "%s: path too long: %s/%s\n", cli->prog, dir, name);
		return 1;
	}
	return 0;
}

/* Create @dir/@name (it must not exist) with @len bytes. 0 or 1. */
static int write_new(const struct cli *cli, const char *dir, const char *name,
		     const void *buf, size_t len)
{
	char path[4096];
	const uint8_t *p = buf;
	int fd, bad = 0;

	if (dir_path(cli, dir, name, path, sizeof(path)))
		return 1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", cli->prog, path, strerror(errno));
		return 1;
	}
	while (len && !bad) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bad = 1;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd))
		bad = 1;
	if (close(fd))
		bad = 1;
	if (bad)
		fprintf(stderr, "%s: cannot write %s: %s\n", cli->prog, path, strerror(errno));
	return bad;
}

static int read_file(const struct cli *cli, const char *dir, const char *name, size_t max,
		     uint8_t **buf, size_t *len)
{
	char path[4096];

	if (dir_path(cli, dir, name, path, sizeof(path)))
		return 1;
	return read_all(cli, path, max, buf, len);
}

/* --- backup create ---------------------------------------------------------- */

struct backup_key {
	struct azihsm_key_info info;
	char file[FILE_NAME_MAX + 8];
};

static int export_keys(struct cli *cli, struct ctx *x, const char *dir, struct backup_key *bk,
		       size_t *nbk, char *index, size_t cap)
{
	struct azihsm_key_info *all = calloc(KEYS_MAX, sizeof(*all));
	uint8_t blob[CLI_BLOB_MAX];
	size_t n = 0, i, j, pos, blen;
	int ret;

	*nbk = 0;
	if (!all)
		return cli_fail(cli, "key list", -ENOMEM);
	ret = azihsm_key_list(x->sess, all, KEYS_MAX, &n);
	if (ret) {
		free(all);
		return cli_fail(cli, "key list", ret);
	}
	pos = (size_t)snprintf(index, cap, INDEX_MAGIC "\nbk3 " SEALED_NAME "\n");
	for (i = 0; i < n; i++) {
		struct backup_key *k = &bk[*nbk];

		if (!all[i].persistent)
			continue;
		k->info = all[i];
		blob_name(&all[i], k->file, sizeof(k->file));
		ret = azihsm_key_export_masked(x->sess, all[i].id, blob, sizeof(blob), &blen);
		if (ret) {
			char what[64];

			snprintf(what, sizeof(what), "export key %u", all[i].id);
			ret = cli_fail(cli, what, ret);
			break;
		}
		ret = write_new(cli, dir, k->file, blob, blen);
		OPENSSL_cleanse(blob, sizeof(blob));
		if (ret)
			break;
		pos += (size_t)snprintf(index + pos, cap - pos, "key %s %u %s ", k->file,
					all[i].id, type_name(all[i].type));
		if (!all[i].label_len)
			pos += (size_t)snprintf(index + pos, cap - pos, "-");
		for (j = 0; j < all[i].label_len; j++)
			pos += (size_t)snprintf(index + pos, cap - pos, "%02x", all[i].label[j]);
		pos += (size_t)snprintf(index + pos, cap - pos, "\n");
		(*nbk)++;
	}
	free(all);
	return ret;
}

/* Restore: what became of each key. */
enum restored { KEY_FAILED, KEY_RESTORED, KEY_PRESENT };

static void print_keys(const struct backup_key *bk, size_t n, const uint16_t *new_ids,
		       const uint8_t *state)
{
	size_t i;

	printf(",\n  \"keys\": [");
	for (i = 0; i < n; i++) {
		printf("%s\n    { \"id\": %u, ", i ? "," : "",
		       new_ids && state[i] == KEY_RESTORED ? new_ids[i] : bk[i].info.id);
		if (new_ids)
			printf("\"old_id\": %u, \"restored\": %s, ", bk[i].info.id,
			       state[i] == KEY_RESTORED ? "true" : "false");
		printf("\"type\": \"%s\", \"label\": ", type_name(bk[i].info.type));
		cli_json_bytes(stdout, bk[i].info.label, bk[i].info.label_len);
		printf(", \"file\": \"%s\" }", bk[i].file);
	}
	printf("%s]\n}\n", n ? "\n  " : "");
}

static int cmd_backup_create(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t sealed[AZIHSM_BK3_SEALED_MAX];
	struct backup_key *bk = NULL;
	size_t slen = 0, nbk = 0;
	char *index = NULL;
	struct opts o;
	struct ctx x;
	int ret;

	ret = officer_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.out)
		return usage_err(cli, "--out DIR is required", NULL);
	if (mkdir(o.out, 0700) && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create %s: %s\n", cli->prog, o.out, strerror(errno));
		return 1;
	}
	bk = calloc(KEYS_MAX, sizeof(*bk));
	index = malloc(INDEX_MAX);
	if (!bk || !index) {
		free(bk);
		free(index);
		return cli_fail(cli, "backup", -ENOMEM);
	}
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		goto out;
	ret = azihsm_bk3_init(x.sess);
	if (ret == -EIO && hsm_status_is(AZIHSM_STATUS_BK3_EXISTS))
		ret = 0;	/* made by an earlier backup: the same one again */
	if (ret)
		ret = cli_fail(cli, "InitBk3", ret);
	if (!ret) {
		ret = azihsm_bk3_get_sealed(x.sess, sealed, sizeof(sealed), &slen);
		if (ret)
			ret = cli_fail(cli, "GetSealedBk3", ret);
	}
	if (!ret)
		ret = write_new(cli, o.out, SEALED_NAME, sealed, slen);
	if (!ret)
		ret = export_keys(cli, &x, o.out, bk, &nbk, index, INDEX_MAX);
	ret = ctx_close(cli, &x, ret);
	if (!ret)
		ret = write_new(cli, o.out, INDEX_NAME, index, strlen(index));
	if (ret) {
		fprintf(stderr, "%s: the backup in %s is incomplete\n", cli->prog, o.out);
		goto out;
	}
	if (o.json) {
		printf("{\n  \"dir\": ");
		cli_json_bytes(stdout, (const uint8_t *)o.out, strlen(o.out));
		printf(",\n  \"sealed_bk3\": \"" SEALED_NAME "\"");
		print_keys(bk, nbk, NULL, NULL);
	} else {
		printf("backup of %zu persistent key%s in %s (sealed BK3: %s/" SEALED_NAME ")\n",
		       nbk, nbk == 1 ? "" : "s", o.out, o.out);
		printf("it restores on this device only (azihsm backup restore --in %s)\n",
		       o.out);
	}
out:
	free(bk);
	free(index);
	return ret;
}

/* --- backup restore --------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One "key FILE ID TYPE LABEL" line (NUL-terminated, no newline). 0 or -1. */
static int parse_key_line(char *line, struct backup_key *k)
{
	char *save = NULL, *f[5];
	unsigned long id;
	size_t i, n;
	char *end;

	for (i = 0; i < 5; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return -1;
	}
	if (strtok_r(NULL, " ", &save) || strcmp(f[0], "key") || !file_name_ok(f[1]))
		return -1;
	id = strtoul(f[2], &end, 10);
	if (*end || id == 0 || id > 0xffff)
		return -1;
	memset(k, 0, sizeof(*k));
	snprintf(k->file, sizeof(k->file), "%s", f[1]);
	k->info.id = (uint16_t)id;
	k->info.type = (uint8_t)parse_type(f[3]);
	if (strcmp(f[4], "-")) {
		n = strlen(f[4]);
		if (n % 2 || n / 2 > AZIHSM_LABEL_MAX)
			return -1;
		for (i = 0; i < n / 2; i++) {
			int hi = hexval(f[4][2 * i]), lo = hexval(f[4][2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -1;
			k->info.label[i] = (uint8_t)(hi << 4 | lo);
		}
		k->info.label_len = (uint8_t)(n / 2);
	}
	return 0;
}

/* The index: its key lines into @bk. 0, or 1 after a message. */
static int read_index(const struct cli *cli, const char *dir, struct backup_key *bk,
		      size_t *nbk)
{
	char *text, *line, *save = NULL;
	uint8_t *buf;
	size_t len, lineno = 0;
	int ret = 0;

	*nbk = 0;
	if (read_file(cli, dir, INDEX_NAME, INDEX_MAX, &buf, &len))
		return 1;
	text = (char *)buf;
	text[len] = '\0';	/* read_all leaves room for one more byte */
	for (line = strtok_r(text, "\n", &save); line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (lineno == 1) {
			ret = strcmp(line, INDEX_MAGIC) != 0;
		} else if (!strncmp(line, "bk3 ", 4)) {
			ret = strcmp(line + 4, SEALED_NAME) != 0;
		} else if (*nbk >= KEYS_MAX) {
			ret = 1;
		} else {
			ret = parse_key_line(line, &bk[*nbk]) != 0;
			if (!ret)
				(*nbk)++;
		}
	}
	if (!ret && lineno == 0)
		ret = 1;
	if (ret)
		fprintf(stderr, "%s: %s/" INDEX_NAME " line %zu: not an azihsm backup index\n",
			cli->prog, dir, lineno);
	free(buf);
	return ret;
}

static int cmd_backup_restore(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "in", required_argument, NULL, OPT_IN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	struct backup_key *bk = NULL;
	uint16_t *new_ids = NULL;
	uint8_t *sealed = NULL, *blob, *state = NULL;
	size_t slen = 0, nbk = 0, blen, i, failed = 0, present = 0;
	struct opts o;
	struct ctx x;
	int ret;

	ret = officer_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.in)
		return usage_err(cli, "--in DIR is required", NULL);
	bk = calloc(KEYS_MAX, sizeof(*bk));
	new_ids = calloc(KEYS_MAX, sizeof(*new_ids));
	state = calloc(KEYS_MAX, 1);
	if (!bk || !new_ids || !state) {
		ret = cli_fail(cli, "backup restore", -ENOMEM);
		goto out;
	}
	/* Read everything first: a bad directory costs no login. */
	ret = read_index(cli, o.in, bk, &nbk);
	if (!ret)
		ret = read_file(cli, o.in, SEALED_NAME, AZIHSM_BK3_SEALED_MAX, &sealed, &slen);
	if (ret)
		goto out;
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		goto out;
	ret = azihsm_bk3_set_sealed(x.sess, sealed, slen);
	if (ret) {
		ret = cli_fail(cli, "SetSealedBk3", ret);
		if (hsm_status_is(AZIHSM_STATUS_BAD_BLOB))
			fprintf(stderr, "%s: %s/" SEALED_NAME " does not open on this device "
				"(another device's, damaged, or made before a zeroize: a zeroize "
				"is final)\n", cli->prog, o.in);
	}
	for (i = 0; !ret && i < nbk; i++) {
		int r = read_file(cli, o.in, bk[i].file, CLI_BLOB_MAX, &blob, &blen);

		if (!r) {
			r = azihsm_key_unmask_persistent(x.sess, blob, blen, &new_ids[i]);
			OPENSSL_clear_free(blob, CLI_BLOB_MAX + 1);
			if (!r) {
				state[i] = KEY_RESTORED;
			} else if (r == -EIO && hsm_status_is(AZIHSM_STATUS_KEY_EXISTS)) {
				/* Still in the partition: nothing to restore. */
				state[i] = KEY_PRESENT;
				present++;
				r = 0;
			} else {
				char what[FILE_NAME_MAX + 32];

				snprintf(what, sizeof(what), "restore %s", bk[i].file);
				r = cli_fail(cli, what, r);
			}
		}
		if (r)
			failed++;
	}
	ret = ctx_close(cli, &x, ret ? ret : failed ? 1 : 0);
	if (ret) {
		if (failed)
			fprintf(stderr, "%s: %zu of %zu keys not restored\n", cli->prog, failed,
				nbk);
		goto out;
	}
	if (o.json) {
		printf("{\n  \"restored\": %zu,\n  \"present\": %zu", nbk - present, present);
		print_keys(bk, nbk, new_ids, state);
	} else {
		printf("masking key restored; %zu persistent key%s restored from %s, %zu "
		       "still present\n", nbk - present, nbk - present == 1 ? "" : "s", o.in,
		       present);
		for (i = 0; i < nbk; i++) {
			if (state[i] == KEY_RESTORED)
				printf("  key %u (was %u): %s %s\n", new_ids[i], bk[i].info.id,
				       type_name(bk[i].info.type), bk[i].file);
			else
				printf("  key %u: %s %s (present)\n", bk[i].info.id,
				       type_name(bk[i].info.type), bk[i].file);
		}
	}
out:
	free(sealed);
	free(bk);
	free(new_ids);
	free(state);
	return ret;
}

#define OFFICER_HELP \
	"The officer logs in (--role defaults to officer here):\n" \
	"  --role officer|user  the role to log in as (default officer)\n" \
	"  --cred-id STR        the officer's credential id (default: the default id)\n" \
	"  --pin-file FILE      the officer's PIN is FILE's first line (else env AZIHSM_PIN)\n"

const struct subcommand cli_backup_commands[] = {
	{ "zeroize", "zeroize --yes [--json]",
	  "Zeroize the partition (Crypto Officer): destroy every key (persistent and\n"
	  "session keys), the masking key and the BK3, and move the device to its next\n"
	  "epoch: nothing made before (masked blobs, backups) opens again; a zeroize\n"
	  "is final. Both roles get their default credentials back and must change\n"
	  "them; every session is closed. Stored before it is answered.\n"
	  OFFICER_HELP
	  "  --yes                required: confirms the destruction\n"
	  "  --json               machine-readable output\n",
	  cmd_zeroize },
	{ "backup create", "backup create --out DIR [--json]",
	  "Back up the partition into DIR (created if missing; its files must not\n"
	  "exist): the sealed BK3 (InitBk3 first if the partition has none), each\n"
	  "persistent key as a masked blob (LABEL.masked or id-N.masked) and an\n"
	  "index. It restores on this device only, and only until its next zeroize.\n"
	  OFFICER_HELP
	  "  --out DIR            the backup directory\n"
	  "  --json               {dir, sealed_bk3, keys: [{id, type, label, file}]}\n",
	  cmd_backup_create },
	{ "backup restore", "backup restore --in DIR [--json]",
	  "Restore a backup made on this device since its last zeroize (a zeroize is\n"
	  "final: an older backup is BAD_BLOB): the masking key from the sealed BK3\n"
	  "(SetSealedBk3), then every key of the index the partition lacks as a\n"
	  "persistent key again (e.g. after the host put back an earlier copy of the\n"
	  "state files). Keys still there are reported present; a key deleted since\n"
	  "the backup does not come back (KEY_DELETED: deletion is final).\n"
	  OFFICER_HELP
	  "  --in DIR             the backup directory\n"
	  "  --json               {restored, present, keys: [{id, old_id, restored, type,\n"
	  "                       label, file}]}\n",
	  cmd_backup_restore },
};

const size_t cli_backup_ncommands = ARRAY_LEN(cli_backup_commands);
