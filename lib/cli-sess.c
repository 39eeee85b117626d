// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: what the commands that log in share (see cli-sess.h).
 * Credentials: --role officer|user (default user), --cred-id STR (default:
 * the role's default id), PIN from --pin-file FILE (first line) or
 * AZIHSM_PIN; a new PIN from --new-pin-file FILE or AZIHSM_NEW_PIN. Never
 * from argv.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli-sess.h"

const struct cli_key_type cli_key_types[] = {
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

const size_t cli_nkey_types = ARRAY_LEN(cli_key_types);

const struct cli_usage cli_usages[] = {
	{ "sign", AZIHSM_KEY_USE_SIGN },	{ "verify", AZIHSM_KEY_USE_VERIFY },
	{ "encrypt", AZIHSM_KEY_USE_ENCRYPT },	{ "decrypt", AZIHSM_KEY_USE_DECRYPT },
	{ "unwrap", AZIHSM_KEY_USE_UNWRAP },	{ "derive", AZIHSM_KEY_USE_DERIVE },
};

const size_t cli_nusages = ARRAY_LEN(cli_usages);

enum azihsm_key_type parse_type(const char *name)
{
	size_t i;

	for (i = 0; i < cli_nkey_types; i++)
		if (!strcmp(name, cli_key_types[i].name))
			return cli_key_types[i].type;
	return 0;
}

const char *type_name(uint8_t type)
{
	size_t i;

	for (i = 0; i < cli_nkey_types; i++)
		if (cli_key_types[i].type == type)
			return cli_key_types[i].name;
	return "unknown";
}

int usage_err(const struct cli *cli, const char *msg, const char *arg)
{
	fprintf(stderr, "%s %s: %s%s%s%s\n", cli->prog, cli->cmd, msg, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "");
	fprintf(stderr, "%s %s: see '%s %s --help'\n", cli->prog, cli->cmd, cli->prog, cli->cmd);
	return 2;
}

int parse_u16(const char *s, uint16_t *out)
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

int set_cred_id(const struct cli *cli, const char *s, struct opts *o)
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
int parse_opts(struct cli *cli, int argc, char **argv, const struct option *lopts,
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
			o->has_role = true;
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
		case OPT_MODE: o->mode = optarg; break;
		case OPT_IV: o->iv = optarg; break;
		case OPT_AAD: o->aad = optarg; break;
		case OPT_SIG: o->sig = optarg; break;
		case OPT_PEER: o->peer = optarg; break;
		case OPT_KDF: o->kdf = optarg; break;
		case OPT_HASH: o->hash = optarg; break;
		case OPT_SALT: o->salt = optarg; break;
		case OPT_INFO: o->info = optarg; break;
		case OPT_NEW_LABEL: o->new_label = optarg; break;
		case OPT_LENGTH: o->length = optarg; break;
		case OPT_MASKED: o->masked = optarg; break;
		case OPT_OAEP_LABEL: o->oaep_label = optarg; break;
		case OPT_DER: o->der = true; break;
		case OPT_UNWRAP_KEY: o->unwrap_key = optarg; break;
		case OPT_YES: o->yes = true; break;
		case OPT_NONCE: o->nonce = optarg; break;
		case OPT_USER_ID: {
			size_t n = strlen(optarg);

			if (!n || n > AZIHSM_ID_LEN)
				return usage_err(cli, "--user-id must be 1..16 bytes:", optarg);
			memset(o->user_id, 0, sizeof(o->user_id));
			memcpy(o->user_id, optarg, n);
			o->has_user_id = true;
			break;
		}
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
int read_pin(const struct cli *cli, const char *file, const char *file_opt,
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

const char *role_name(enum azihsm_role role)
{
	return role == AZIHSM_ROLE_OFFICER ? "officer" : "user";
}

/*
 * Open the device and log in. @allow_restricted: a must-change session is
 * fine (login itself); otherwise it is refused here with the way out.
 */
int ctx_open(struct cli *cli, const struct opts *o, bool allow_restricted,
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
		fprintf(stderr, "%s: the %s role still has its default PIN (or one the officer "
			"set); change it first:\n"
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
int ctx_close(struct cli *cli, struct ctx *x, int rc)
{
	int ret = azihsm_logout(x->sess);

	x->sess = NULL;
	if (ret && !rc)
		rc = cli_fail(cli, "logout", ret);
	azihsm_close(x->dev);
	x->dev = NULL;
	return rc;
}

int sess_begin(struct cli *cli, const struct opts *o, struct ctx *x, uint16_t *id)
{
	int ret;

	if (ctx_open(cli, o, false, x))
		return 1;
	if (!id)
		return 0;
	ret = resolve_key(cli, x, o, id);
	if (ret)
		ctx_close(cli, x, ret);
	return ret;
}

int sess_end(struct cli *cli, struct ctx *x, int err, const char *what)
{
	return ctx_close(cli, x, err ? cli_fail(cli, what, err) : 0);
}

int print_result(const struct opts *o, const char *json, const char *text)
{
	fputs(o->json ? json : text, stdout);
	return 0;
}

int write_pubkey_pem(const struct cli *cli, const uint8_t *der, size_t len, const char *path)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;
	BIO *bio;
	FILE *f;
	int ret;

	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pk || p != der + len) {
		EVP_PKEY_free(pk);
		fprintf(stderr, "%s: the device's public key does not decode as DER SPKI\n",
			cli->prog);
		return 1;
	}
	f = open_out(cli, path);
	if (!f) {
		EVP_PKEY_free(pk);
		return 1;
	}
	bio = BIO_new_fp(f, BIO_NOCLOSE);
	ret = !bio || PEM_write_bio_PUBKEY(bio, pk) != 1;
	BIO_free(bio);
	EVP_PKEY_free(pk);
	ret |= close_out(cli, f, path);
	return ret ? 1 : 0;
}

int parse_usage(const char *s, uint32_t *out)
{
	char buf[128], *tok, *save = NULL;
	size_t i;

	*out = 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < cli_nusages; i++)
			if (!strcmp(tok, cli_usages[i].name))
				break;
		if (i == cli_nusages)
			return -1;
		*out |= cli_usages[i].bit;
	}
	return *out ? 0 : -1;
}

/* --label, --id or --masked: exactly one. 0, or an exit code. */
int need_key_sel(const struct cli *cli, const struct opts *o)
{
	if (!!o->label + o->has_key_id + !!o->masked != 1)
		return usage_err(cli, "name the key with one of --label L, --id N, --masked FILE",
				 NULL);
	if (o->label && (!*o->label || strlen(o->label) > AZIHSM_LABEL_MAX))
		return usage_err(cli, "--label must be 1..128 bytes", NULL);
	return 0;
}

/*
 * The key id of --label (OpenKey), --id, or --masked (UnmaskKey: a session
 * key until the command logs out). 0, or 1 after a message.
 */
int resolve_key(struct cli *cli, struct ctx *x, const struct opts *o, uint16_t *id)
{
	int ret;

	if (o->masked) {
		uint8_t *blob;
		size_t len;

		if (read_all(cli, o->masked, CLI_BLOB_MAX, &blob, &len))
			return 1;
		ret = azihsm_key_unmask(x->sess, blob, len, id);
		free(blob);
		return ret ? cli_fail(cli, "key unmask", ret) : 0;
	}
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


int key_cmd_begin(struct cli *cli, int argc, char **argv, const struct option *lopts,
		  struct opts *o)
{
	int ret;

	/* Here --id is the key id; the credential id is --cred-id. */
	ret = parse_opts(cli, argc, argv, lopts, true, o);
	return ret ? ret : need_key_sel(cli, o);
}

/* Open @path for writing, or stdout for NULL / "-". */
FILE *open_out(const struct cli *cli, const char *path)
{
	FILE *f;

	if (!path || !strcmp(path, "-"))
		return stdout;
	f = fopen(path, "wb");
	if (!f)
		fprintf(stderr, "%s: cannot write %s: %s\n", cli->prog, path, strerror(errno));
	return f;
}

int close_out(const struct cli *cli, FILE *f, const char *path)
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

int hash_input(const struct cli *cli, const char *path, const EVP_MD *md,
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


int read_all(const struct cli *cli, const char *path, size_t max, uint8_t **buf, size_t *len)
{
	bool in = !path || !strcmp(path, "-");
	FILE *f = in ? stdin : fopen(path, "rb");
	uint8_t *b;
	size_t n = 0, got;

	*buf = NULL;
	*len = 0;
	if (!f) {
		fprintf(stderr, "%s: cannot read %s: %s\n", cli->prog, path, strerror(errno));
		return 1;
	}
	b = malloc(max + 1);
	if (!b) {
		if (!in)
			fclose(f);
		fprintf(stderr, "%s: out of memory\n", cli->prog);
		return 1;
	}
	while (n <= max && (got = fread(b + n, 1, max + 1 - n, f)) > 0)
		n += got;
	if (ferror(f) || n > max) {
		if (ferror(f))
			fprintf(stderr, "%s: read error on %s\n", cli->prog, in ? "stdin" : path);
		else
			fprintf(stderr, "%s: %s is too large for one command (at most %zu bytes)\n",
				cli->prog, in ? "stdin" : path, max);
		OPENSSL_clear_free(b, max + 1);
		if (!in)
			fclose(f);
		return 1;
	}
	if (!in)
		fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

int write_all(const struct cli *cli, const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = open_out(cli, path);
	int bad;

	if (!f)
		return 1;
	bad = len && fwrite(buf, 1, len, f) != len;
	return close_out(cli, f, path) | bad;
}

void json_hex(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}
