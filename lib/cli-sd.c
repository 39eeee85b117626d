// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: the security domain (Documentation/library.md, "Security
 * domain"):
 *
 *   azihsm sd activate --owner-key PUB.pem ... --quorum M --out sd.json
 *   azihsm sd restore --share-key PRIV.pem ... --in sd.json [--expect-device SERIAL|FP]
 *   azihsm sd backup-key --label L|--id N --out FILE
 *   azihsm sd restore-key --in FILE
 *   azihsm sd info
 *
 * The security domain file (JSON, written once by activate):
 *   { "format": "azihsm-security-domain-1", "domain_id": HEX(16),
 *     "quorum": M, "shares": [ { "x": 1, "owner_key_sha256": HEX(32),
 *     "ciphertext": HEX }, ... ] }
 * owner_key_sha256 is SHA-256 of the owner's DER SubjectPublicKeyInfo:
 * restore finds each --share-key's share by it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "azihsm/azihsm.h"
#include "cli-sess.h"
#include "cli.h"

#define SD_FORMAT	"azihsm-security-domain-1"
#define SD_FILE_MAX	(64 * 1024)

struct sd_file {
	struct azihsm_sd_domain dom;
	uint8_t owner_hash[AZIHSM_SD_OWNERS_LIMIT][32];
};

/* argv without the repeated --NAME FILE pairs, which go to @files (at most @max). */
static int take_repeated(struct cli *cli, int *argc, char **argv, const char *name,
			 const char **files, unsigned int max, unsigned int *n)
{
	size_t nl = strlen(name);
	int i, j = 1;

	*n = 0;
	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;

		if (!strncmp(a, name, nl) && a[nl] == '=') {
			val = a + nl + 1;
		} else if (!strcmp(a, name)) {
			if (i + 1 >= *argc)
				return usage_err(cli, "needs a file:", name);
			val = argv[++i];
		} else {
			argv[j++] = argv[i];
			continue;
		}
		if (*n == max)
			return usage_err(cli, "too many", name);
		files[(*n)++] = val;
	}
	*argc = j;
	argv[j] = NULL;
	return 0;
}

static EVP_PKEY *read_pem(const struct cli *cli, const char *path, bool priv)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", cli->prog, path, strerror(errno));
		return NULL;
	}
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		fprintf(stderr, "%s: %s: not an RSA %s key (PEM)\n", cli->prog, path,
			priv ? "private" : "public");
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* SHA-256 of @k's DER SPKI; its DER into @der (cap 1024) if non-NULL. */
static int spki_hash(EVP_PKEY *k, uint8_t hash[32], uint8_t *der, size_t *der_len)
{
	unsigned char buf[1024], *p = buf;
	int n = i2d_PUBKEY(k, NULL);
	unsigned int hl = 0;

	if (n <= 0 || n > (int)sizeof(buf) || i2d_PUBKEY(k, &p) != n ||
	    !EVP_Digest(buf, (size_t)n, hash, &hl, EVP_sha256(), NULL))
		return -1;
	if (der) {
		memcpy(der, buf, (size_t)n);
		*der_len = (size_t)n;
	}
	return 0;
}

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static int write_file(const struct cli *cli, const char *path, const struct sd_file *sf)
{
	FILE *f = open_out(cli, path);
	unsigned int i;

	if (!f)
		return 1;
	fprintf(f, "{\n  \"format\": \"" SD_FORMAT "\",\n  \"domain_id\": \"");
	put_hex(f, sf->dom.id, sizeof(sf->dom.id));
	fprintf(f, "\",\n  \"quorum\": %u,\n  \"shares\": [", sf->dom.quorum);
	for (i = 0; i < sf->dom.n; i++) {
		fprintf(f, "%s\n    {\n      \"x\": %u,\n      \"owner_key_sha256\": \"",
			i ? "," : "", i + 1);
		put_hex(f, sf->owner_hash[i], 32);
		fprintf(f, "\",\n      \"ciphertext\": \"");
		put_hex(f, sf->dom.share[i], sf->dom.share_len[i]);
		fprintf(f, "\"\n    }");
	}
	fprintf(f, "\n  ]\n}\n");
	return close_out(cli, f, path);
}

/* ---- a strict reader for exactly the file's schema ---- */

struct jp {
	const char *p, *end;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static bool lit(struct jp *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

/* A string without escapes into @out (cap, NUL-terminated). */
static bool str(struct jp *j, char *out, size_t cap)
{
	size_t n = 0;

	if (!lit(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20) {
		if (n + 1 >= cap)
			return false;
		out[n++] = *j->p++;
	}
	out[n] = '\0';
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	return true;
}

static bool num(struct jp *j, unsigned int *v)
{
	unsigned int x = 0, digits = 0;

	ws(j);
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9' && digits < 4) {
		x = x * 10 + (unsigned int)(*j->p++ - '0');
		digits++;
	}
	*v = x;
	return digits > 0;
}

static bool key(struct jp *j, const char *want)
{
	char k[32];

	return str(j, k, sizeof(k)) && !strcmp(k, want) && lit(j, ':');
}

static bool hexval(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(s), i;

	if (len % 2 || len / 2 > cap || !len)
		return false;
	for (i = 0; i < len / 2; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1 || !strchr("0123456789abcdef", s[2 * i]) ||
		    !strchr("0123456789abcdef", s[2 * i + 1]))
			return false;
		out[i] = (uint8_t)b;
	}
	*n = len / 2;
	return true;
}

static bool parse_file(const char *text, size_t len, struct sd_file *sf)
{
	static char buf[2 * AZIHSM_SD_SHARE_MAX + 8];
	struct jp j = { text, text + len };
	unsigned int q, x, i = 0;
	size_t n;

	memset(sf, 0, sizeof(*sf));
	if (!lit(&j, '{') || !key(&j, "format") || !str(&j, buf, sizeof(buf)) ||
	    strcmp(buf, SD_FORMAT) || !lit(&j, ',') || !key(&j, "domain_id") ||
	    !str(&j, buf, sizeof(buf)) || !hexval(buf, sf->dom.id, sizeof(sf->dom.id), &n) ||
	    n != sizeof(sf->dom.id) || !lit(&j, ',') || !key(&j, "quorum") || !num(&j, &q) ||
	    q > 255 || !lit(&j, ',') || !key(&j, "shares") || !lit(&j, '['))
		return false;
	sf->dom.quorum = (uint8_t)q;
	do {
		if (i == AZIHSM_SD_OWNERS_LIMIT || !lit(&j, '{') || !key(&j, "x") ||
		    !num(&j, &x) || x != i + 1 || !lit(&j, ',') || !key(&j, "owner_key_sha256") ||
		    !str(&j, buf, sizeof(buf)) || !hexval(buf, sf->owner_hash[i], 32, &n) ||
		    n != 32 || !lit(&j, ',') || !key(&j, "ciphertext") ||
		    !str(&j, buf, sizeof(buf)) ||
		    !hexval(buf, sf->dom.share[i], AZIHSM_SD_SHARE_MAX, &sf->dom.share_len[i]) ||
		    !lit(&j, '}'))
			return false;
		i++;
	} while (lit(&j, ','));
	if (!lit(&j, ']') || !lit(&j, '}'))
		return false;
	ws(&j);
	sf->dom.n = i;
	return j.p == j.end;
}

/* ---- commands ---- */

static int sd_begin(struct cli *cli, int argc, char **argv, const struct option *lopts,
		    struct opts *o)
{
	int ret = parse_opts(cli, argc, argv, lopts, false, o);

	if (!ret && !o->has_role)
		o->role = AZIHSM_ROLE_OFFICER;
	return ret;
}

static int cmd_sd_activate(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "quorum", required_argument, NULL, OPT_LENGTH },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	const char *files[AZIHSM_SD_OWNERS_LIMIT + 1];
	static uint8_t der[AZIHSM_SD_OWNERS_LIMIT][1024];
	const uint8_t *derp[AZIHSM_SD_OWNERS_LIMIT];
	size_t der_len[AZIHSM_SD_OWNERS_LIMIT];
	static struct sd_file sf;
	unsigned int n = 0, i;
	struct opts o;
	struct ctx x;
	uint16_t q = 0;
	int ret;

	ret = take_repeated(cli, &argc, argv, "--owner-key", files, AZIHSM_SD_OWNERS_LIMIT, &n);
	if (!ret)
		ret = sd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.out)
		return usage_err(cli, "--out FILE is required (the security domain file)", NULL);
	if (!o.length || parse_u16(o.length, &q) || q < 2 || q > n)
		return usage_err(cli, "--quorum M is required, 2 <= M <= the number of owners",
				 o.length);
	if (n < 3)
		return usage_err(cli, "at least 3 --owner-key PUB.pem are needed", NULL);
	for (i = 0; i < n; i++) {
		EVP_PKEY *k = read_pem(cli, files[i], false);

		if (!k)
			return 1;
		ret = spki_hash(k, sf.owner_hash[i], der[i], &der_len[i]);
		EVP_PKEY_free(k);
		if (ret)
			return cli_fail(cli, files[i], -EINVAL);
		derp[i] = der[i];
	}
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		return ret;
	ret = azihsm_sd_activate(x.sess, (uint8_t)q, derp, der_len, n, &sf.dom);
	ret = sess_end(cli, &x, ret, "SdActivate");
	if (ret)
		return ret;
	ret = write_file(cli, o.out, &sf);
	if (ret) {
		fprintf(stderr, "%s: the security domain was made but its file could not be "
			"written: its shares are lost\n", cli->prog);
		return ret;
	}
	if (o.json) {
		printf("{\n  \"domain_id\": \"");
		put_hex(stdout, sf.dom.id, sizeof(sf.dom.id));
		printf("\",\n  \"quorum\": %u,\n  \"owners\": %u,\n  \"file\": ", q, n);
		cli_json_bytes(stdout, (const uint8_t *)o.out, strlen(o.out));
		printf("\n}\n");
	} else {
		printf("security domain ");
		put_hex(stdout, sf.dom.id, sizeof(sf.dom.id));
		printf(" activated: %u of %u owners restore it; file %s\n", q, n, o.out);
	}
	return 0;
}

static int cmd_sd_restore(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "in", required_argument, NULL, OPT_IN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	const char *files[AZIHSM_SD_OWNERS_LIMIT + 1], *roots[2], *root, *expects[2], *expect;
	EVP_PKEY *keys[AZIHSM_SD_OWNERS_LIMIT] = { NULL };
	unsigned int idx[AZIHSM_SD_OWNERS_LIMIT];
	static struct sd_file sf;
	unsigned int n = 0, nroot = 0, nexpect = 0, i, s;
	uint8_t key[32], h[32];
	uint8_t *text = NULL;
	size_t len = 0;
	struct opts o;
	struct ctx x;
	int ret;

	ret = take_repeated(cli, &argc, argv, "--share-key", files, AZIHSM_SD_OWNERS_LIMIT, &n);
	if (!ret)
		ret = take_repeated(cli, &argc, argv, "--root", roots, 1, &nroot);
	if (!ret)
		ret = take_repeated(cli, &argc, argv, "--expect-device", expects, 1, &nexpect);
	if (!ret)
		ret = sd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	root = nroot ? roots[0] : NULL;
	expect = nexpect ? expects[0] : NULL;
	if (expect && !*expect)
		return usage_err(cli, "--expect-device needs a serial or a fingerprint", NULL);
	if (!o.in)
		return usage_err(cli, "--in sd.json is required", NULL);
	if (!n)
		return usage_err(cli, "give the owners' keys: --share-key PRIV.pem ...", NULL);
	if (read_all(cli, o.in, SD_FILE_MAX, &text, &len))
		return 1;
	if (!parse_file((const char *)text, len, &sf)) {
		free(text);
		fprintf(stderr, "%s: %s is not an azihsm security domain file (" SD_FORMAT ")\n",
			cli->prog, o.in);
		return 1;
	}
	free(text);
	ret = 0;
	for (i = 0; i < n && !ret; i++) {
		keys[i] = read_pem(cli, files[i], true);
		if (!keys[i] || spki_hash(keys[i], h, NULL, NULL)) {
			ret = 1;
			break;
		}
		for (s = 0; s < sf.dom.n && memcmp(sf.owner_hash[s], h, 32); s++)
			;
		if (s == sf.dom.n) {
			fprintf(stderr, "%s: %s is not the key of any share in %s\n", cli->prog,
				files[i], o.in);
			ret = 1;
		}
		idx[i] = s;
	}
	if (!ret) {
		ret = azihsm_sd_combine_shares(&sf.dom, (void *const *)keys, idx, n, key);
		if (ret == -ENOENT)
			fprintf(stderr, "%s: %u share%s of a quorum of %u: not enough to restore\n",
				cli->prog, n, n == 1 ? "" : "s", sf.dom.quorum);
		else if (ret == -EBADMSG)
			fprintf(stderr, "%s: a share of %s does not decrypt with its owner's key "
				"(a damaged file)\n", cli->prog, o.in);
		else if (ret)
			fprintf(stderr, "%s: the shares do not recombine to domain id of %s "
				"(a tampered file)\n", cli->prog, o.in);
		ret = ret ? 1 : 0;
	}
	for (i = 0; i < n; i++)
		EVP_PKEY_free(keys[i]);
	if (ret)
		return ret;
	ret = sess_begin(cli, &o, &x, NULL);
	if (!ret) {
		ret = azihsm_sd_upload_to(x.sess, &sf.dom, key, root, expect);
		if (ret == -EXDEV) {
			/* Genuine, but not the device the owners named. */
			char serial[AZIHSM_DEVICE_SERIAL_MAX + 1] = "?";
			uint8_t fp[AZIHSM_DEVICE_FP_LEN];

			azihsm_device_identity(x.dev, serial, fp);
			fprintf(stderr, "%s: the device's exchange key is vouched for by device %s, "
				"not by the expected device %s: the domain key was not sent\n",
				cli->prog, serial, expect);
			ret = 1;
		} else if (ret == -ENOKEY) {
			/* The owners' key never goes to a key the device does not vouch for. */
			fprintf(stderr, "%s: the device's exchange key is not signed by a partition "
				"key that chains to the trusted root (%s): the domain key was not "
				"sent\n", cli->prog, root ? root : azihsm_trusted_root());
			ret = 1;
		} else if (ret) {
			ret = cli_fail(cli, "SdUpload", ret);
		}
		ret = ctx_close(cli, &x, ret);
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (ret)
		return ret;
	if (o.json) {
		printf("{\n  \"domain_id\": \"");
		put_hex(stdout, sf.dom.id, sizeof(sf.dom.id));
		printf("\",\n  \"restored\": true\n}\n");
	} else {
		printf("security domain ");
		put_hex(stdout, sf.dom.id, sizeof(sf.dom.id));
		printf(" installed: its backups restore here (azihsm sd restore-key)\n");
	}
	return 0;
}

static int cmd_sd_backup_key(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	static uint8_t blob[CLI_BLOB_MAX];
	size_t len = 0;
	struct opts o;
	struct ctx x;
	uint16_t id = 0;
	int ret;

	ret = sd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.out)
		return usage_err(cli, "--out FILE is required", NULL);
	if (!o.label)
		return usage_err(cli, "--label L is required", NULL);
	ret = sess_begin(cli, &o, &x, &id);
	if (ret)
		return ret;
	ret = azihsm_sd_backup_key(x.sess, id, blob, sizeof(blob), &len);
	ret = sess_end(cli, &x, ret, "SdBackupKey");
	if (!ret)
		ret = write_all(cli, o.out, blob, len);
	if (ret)
		return ret;
	if (o.json)
		printf("{\n  \"key_id\": %u,\n  \"bytes\": %zu\n}\n", id, len);
	else
		printf("key %u backed up under the security domain: %s (%zu bytes)\n", id, o.out,
		       len);
	return 0;
}

static int cmd_sd_restore_key(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "in", required_argument, NULL, OPT_IN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t *blob = NULL;
	size_t len = 0;
	struct opts o;
	struct ctx x;
	uint16_t id = 0;
	int ret;

	ret = sd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!o.in)
		return usage_err(cli, "--in FILE is required", NULL);
	if (read_all(cli, o.in, CLI_BLOB_MAX, &blob, &len))
		return 1;
	ret = sess_begin(cli, &o, &x, NULL);
	if (!ret) {
		ret = azihsm_sd_restore_key(x.sess, blob, len, &id);
		ret = sess_end(cli, &x, ret, "SdRestoreKey");
	}
	free(blob);
	if (ret)
		return ret;
	if (o.json)
		printf("{\n  \"key_id\": %u,\n  \"persistent\": true\n}\n", id);
	else
		printf("restored as persistent key %u\n", id);
	return 0;
}

static int cmd_sd_info(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t id[AZIHSM_SD_ID_LEN], q = 0;
	bool active = false;
	struct opts o;
	struct ctx x;
	int ret;

	ret = sd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	ret = sess_begin(cli, &o, &x, NULL);
	if (ret)
		return ret;
	ret = azihsm_sd_info(x.sess, &active, id, &q);
	ret = sess_end(cli, &x, ret, "SdInfo");
	if (ret)
		return ret;
	if (o.json) {
		printf("{\n  \"active\": %s,\n  \"domain_id\": \"", active ? "true" : "false");
		if (active)
			put_hex(stdout, id, sizeof(id));
		printf("\",\n  \"quorum\": %u\n}\n", q);
	} else if (active) {
		printf("security domain ");
		put_hex(stdout, id, sizeof(id));
		printf(", quorum %u\n", q);
	} else {
		printf("no security domain (azihsm sd activate or azihsm sd restore)\n");
	}
	return 0;
}

const struct subcommand cli_sd_commands[] = {
	{ "sd activate", "sd activate --owner-key PUB.pem (3..10) --quorum M --out sd.json [--json]",
	  "Make the partition's security domain (officer): its key split M of N, one share\n"
	  "encrypted to each owner's RSA key, written to the security domain file once.\n",
	  cmd_sd_activate },
	{ "sd restore", "sd restore --share-key PRIV.pem ... --in sd.json [--root FILE] "
	  "[--expect-device SERIAL|FINGERPRINT] [--json]",
	  "Recombine the domain key from M owners' shares (decrypted here with their private\n"
	  "keys) and install it on this device through its exchange key (officer). The\n"
	  "exchange key must be signed by the device's partition key, whose chain verifies\n"
	  "to the root --root FILE (else $AZIHSM_ROOT_CA, else " AZIHSM_ROOT_CA_DEFAULT "):\n"
	  "otherwise nothing is sent. --expect-device pins the target: that chain must\n"
	  "name this serial or device-certificate fingerprint (azihsm cert chain, azihsm\n"
	  "info), else nothing is sent either.\n",
	  cmd_sd_restore },
	{ "sd backup-key", "sd backup-key --label L --out FILE [--json]",
	  "A persistent key masked under the security domain (officer).\n", cmd_sd_backup_key },
	{ "sd restore-key", "sd restore-key --in FILE [--json]",
	  "Bring a security-domain backup back as a persistent key (officer).\n",
	  cmd_sd_restore_key },
	{ "sd info", "sd info [--json]", "The installed security domain, if any.\n", cmd_sd_info },
};
const size_t cli_sd_ncommands = ARRAY_LEN(cli_sd_commands);
