// SPDX-License-Identifier: MIT
/*
 * azihsm report: the compliance packet (Documentation/report.md).
 *
 *   azihsm report --out DIR [--validate-sample[=N] | --validate-json FILE]
 *                 [--check-summary FILE] [--revision R] [--repository URL]
 *                 [--docs DIR] [--root FILE] [credentials]
 *
 * Every item comes from an existing command run in this process with its
 * --json output captured into DIR (info, cert chain, verify-report,
 * selftest, tamper log, validate): one implementation of each, and the
 * exact command that reproduces it goes into the packet. The fresh key
 * attestation is the library's KeyGenerate (a session key, gone at logout)
 * and AttestKey, checked by verify-report. The chain is checked here with
 * OpenSSL's X509_verify_cert against the trusted root (not the device's
 * copy). DIR/report.json (schema azihsm-report/1) is built first; DIR/
 * report.html is rendered from it: self-contained, every string escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cli-sess.h"

#define REPORT_SCHEMA		"azihsm-report/1"
#define REPORT_SAMPLE_DEFAULT	3
#define REPORT_NONCE_LEN	32
#define REPORT_DOC_DIR		"/usr/share/doc/azihsm"
#define REPORT_ARGS_MAX		32

static const char *const report_docs[] = { "security-policy.md", "threat-model.md" };
static const char *const chain_names[AZIHSM_CERT_CHAIN_LEN] = { "root", "device", "partition" };

struct rep {
	struct cli *cli;
	const char *dir;
	struct opts cred;	/* --role, --cred-id, --pin-file for the commands that log in */
	const char *root;	/* the trusted root (PEM) */
	json_object *top, *checks;
	bool failed;
};

/* --- small helpers --------------------------------------------------------- */

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static void jset(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *jgets(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static int64_t jgeti(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static bool jgetb(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static void hexstr(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* DIR/@rel into @buf; @rel as it goes into the packet is relative. */
static const char *path_in(const struct rep *r, const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", r->dir, rel);
	return buf;
}

static int mkdir_in(const struct rep *r, const char *rel)
{
	char p[4096];

	if (mkdir(path_in(r, rel, p, sizeof(p)), 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int sha256_file(const char *path, char out[65])
{
	uint8_t buf[8192], md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;
	int ok = f && c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(c, buf, n);
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(c, md, &mdlen);
	if (f)
		fclose(f);
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	hexstr(md, sizeof(md), out);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;
	int ok;

	if (!in)
		return -errno;
	out = fopen(to, "wb");
	if (!out) {
		ok = -errno;
		fclose(in);
		return ok;
	}
	ok = 0;
	while (!ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ok = -EIO;
	if (ferror(in))
		ok = -EIO;
	fclose(in);
	if (fclose(out) && !ok)
		ok = -EIO;
	return ok;
}

/* The first line of a command's output (trailing newline cut), or "". */
static void first_line_of(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return;
	if (!fgets(out, (int)cap, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\r\n")] = '\0';
}

/* A file's first line (e.g. /sys/module/azihsm/version), or "". */
static void read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)cap, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
}

/* The text of @path (at most 4 KiB, for error messages), or "". */
static json_object *file_text(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return json_object_new_string(buf);
}

/* One check of the summary: status pass, fail, warn or skipped. */
static json_object *add_check(struct rep *r, const char *id, const char *title,
			      const char *status, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static json_object *add_check(struct rep *r, const char *id, const char *title,
			      const char *status, const char *fmt, ...)
{
	json_object *c = json_object_new_object();
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	jset(c, "id", jstr(id));
	jset(c, "title", jstr(title));
	jset(c, "status", jstr(status));
	jset(c, "detail", jstr(detail));
	jset(c, "commands", json_object_new_array());
	jset(c, "files", json_object_new_array());
	json_object_array_add(r->checks, c);
	if (!strcmp(status, "fail"))
		r->failed = true;
	return c;
}

static void check_cmd(json_object *c, const char *cmd)
{
	json_object_array_add(jget(c, "commands"), jstr(cmd));
}

static void check_file(json_object *c, const char *rel)
{
	json_object_array_add(jget(c, "files"), jstr(rel));
}

/* --- running the existing commands ------------------------------------------ */

struct capture {
	int out, err;
};

/* Send stdout to DIR/@out_rel and stderr to DIR/@err_rel until uncapture. */
static int capture(const struct rep *r, const char *out_rel, const char *err_rel,
		   struct capture *c)
{
	char p[4096];
	int fo, fe;

	fflush(stdout);
	fflush(stderr);
	fo = open(path_in(r, out_rel, p, sizeof(p)), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fo < 0)
		return -errno;
	fe = open(path_in(r, err_rel, p, sizeof(p)), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fe < 0) {
		close(fo);
		return -errno;
	}
	c->out = dup(1);
	c->err = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	close(fo);
	close(fe);
	return 0;
}

static void uncapture(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	dup2(c->out, 1);
	dup2(c->err, 2);
	close(c->out);
	close(c->err);
}

/* Shell-quote @s onto @cmd (for the reproduce lines). */
static void cmd_append(char *cmd, size_t cap, const char *s)
{
	size_t n = strlen(cmd);
	bool plain = *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_./=:,@+") == strlen(s);

	if (n && n + 1 < cap)
		cmd[n++] = ' ';
	if (plain) {
		snprintf(cmd + n, cap - n, "%s", s);
		return;
	}
	if (n + 1 < cap)
		cmd[n++] = '\'';
	for (; *s && n + 5 < cap; s++) {
		if (*s == '\'') {
			memcpy(cmd + n, "'\\''", 4);
			n += 4;
		} else {
			cmd[n++] = *s;
		}
	}
	if (n + 1 < cap)
		cmd[n++] = '\'';
	cmd[n < cap ? n : cap - 1] = '\0';
}

/*
 * Run the CLI command @name with @args (NULL-terminated), its stdout into
 * DIR/@out_rel and stderr into DIR/@err_rel; its exit status, or -1 if it
 * could not run. @cmd gets the command line that reproduces it.
 */
static int run_command(struct rep *r, const char *name, const char *const *args,
		       const char *out_rel, const char *err_rel, char *cmd, size_t cap)
{
	const struct subcommand *sub = cli_find_command(name);
	char *argv[REPORT_ARGS_MAX + 2];
	struct cli c = *r->cli;
	struct capture cp;
	int argc = 0, rc;

	snprintf(cmd, cap, "%s", r->cli->prog);
	if (r->cli->device) {
		cmd_append(cmd, cap, "--device");
		cmd_append(cmd, cap, r->cli->device);
	}
	snprintf(cmd + strlen(cmd), cap - strlen(cmd), " %s", name);	/* plain words */
	if (!sub)
		return -1;
	argv[argc++] = (char *)(strrchr(sub->name, ' ') ? strrchr(sub->name, ' ') + 1 :
				 sub->name);
	for (; *args && argc < REPORT_ARGS_MAX; args++) {
		argv[argc++] = (char *)*args;
		cmd_append(cmd, cap, *args);
	}
	argv[argc] = NULL;
	c.cmd = sub->name;
	if (capture(r, out_rel, err_rel, &cp))
		return -1;
	optind = 0;	/* glibc: start getopt afresh */
	opterr = 1;
	rc = sub->run(&c, argc, argv);
	uncapture(&cp);
	return rc;
}

/* The credential options, as the commands that log in take them. */
static size_t cred_args(const struct rep *r, const char **a, char *idbuf, size_t idcap)
{
	size_t n = 0;

	if (r->cred.has_role && r->cred.role == AZIHSM_ROLE_OFFICER) {
		a[n++] = "--role";
		a[n++] = "officer";
	}
	if (r->cred.has_cred_id) {
		size_t len = strnlen((const char *)r->cred.cred_id, AZIHSM_ID_LEN);

		snprintf(idbuf, idcap, "%.*s", (int)len, (const char *)r->cred.cred_id);
		a[n++] = "--cred-id";
		a[n++] = idbuf;
	}
	if (r->cred.pin_file) {
		a[n++] = "--pin-file";
		a[n++] = r->cred.pin_file;
	}
	return n;
}

/* The JSON a command wrote to DIR/@rel, or NULL. */
static json_object *load_json(const struct rep *r, const char *rel)
{
	char p[4096];

	return json_object_from_file(path_in(r, rel, p, sizeof(p)));
}

/* --- the items ------------------------------------------------------------- */

static void item_device(struct rep *r, json_object **info)
{
	const char *args[] = { "--json", NULL };
	char cmd[512];
	json_object *c;
	int rc = run_command(r, "info", args, "raw/info.json", "logs/info.err", cmd, sizeof(cmd));

	*info = rc == 0 ? load_json(r, "raw/info.json") : NULL;
	if (!*info) {
		char p[4096];
		json_object *e = file_text(path_in(r, "logs/info.err", p, sizeof(p)));

		c = add_check(r, "device", "Device identity and state", "fail",
			      "azihsm info failed (exit %d): %s", rc, json_object_get_string(e));
		json_object_put(e);
		*info = json_object_new_object();
	} else if (jgetb(*info, "error_state")) {
		c = add_check(r, "device", "Device identity and state", "fail",
			      "the device is in its ERROR STATE: %s (%s)",
			      jgets(*info, "error_reason"), jgets(*info, "error_detail"));
	} else if (strcmp(jgets(*info, "provisioning"), "provisioned")) {
		c = add_check(r, "device", "Device identity and state", "fail",
			      "serial %s: the device is not provisioned (%s): no identity",
			      jgets(*info, "serial"), jgets(*info, "provisioning"));
	} else {
		c = add_check(r, "device", "Device identity and state", "pass",
			      "serial %s, model %s, firmware %s (SVN %lld, boot %s), provisioned; "
			      "FIPS approved mode %s",
			      jgets(*info, "serial"), jgets(*info, "model"),
			      jgets(*info, "fw_version"), (long long)jgeti(*info, "svn"),
			      jgets(*info, "boot_state"),
			      jgetb(*info, "fips_mode") ? "on" : "off (an emulator is not a "
			      "validated module)");
	}
	check_cmd(c, cmd);
	check_file(c, "raw/info.json");
	jset(r->top, "device", json_object_get(*info));
}

/* What a BIO holds, as a string in @buf; frees @b. */
static const char *bio_text(BIO *b, char *buf, size_t cap)
{
	int n = b ? BIO_read(b, buf, (int)cap - 1) : 0;

	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	return buf;
}

static json_object *cert_json(const char *path, X509 **out)
{
	json_object *o = json_object_new_object();
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t md[32];
	unsigned int mdlen = 0;
	char buf[512], hex[65];
	BIO *b;

	if (f)
		fclose(f);
	*out = x;
	if (!x) {
		jset(o, "error", jstr("not a PEM certificate"));
		return o;
	}
	b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	jset(o, "subject", jstr(bio_text(b, buf, sizeof(buf))));
	b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253);
	jset(o, "issuer", jstr(bio_text(b, buf, sizeof(buf))));
	b = BIO_new(BIO_s_mem());
	ASN1_TIME_print(b, X509_get0_notBefore(x));
	jset(o, "not_before", jstr(bio_text(b, buf, sizeof(buf))));
	b = BIO_new(BIO_s_mem());
	ASN1_TIME_print(b, X509_get0_notAfter(x));
	jset(o, "not_after", jstr(bio_text(b, buf, sizeof(buf))));
	if (X509_digest(x, EVP_sha256(), md, &mdlen) && mdlen == sizeof(md)) {
		hexstr(md, sizeof(md), hex);
		jset(o, "sha256", jstr(hex));
	}
	return o;
}

/*
 * X509_verify_cert: the partition certificate, through the device
 * certificate, to the trusted root only. 1 verified, 0 not (@why set).
 */
static int chain_verify(const char *root, X509 *dev, X509 *part, char *why, size_t cap)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok = 0;

	snprintf(why, cap, "internal error");
	if (!st || !ctx || !untrusted)
		goto out;
	if (!dev || !part) {
		snprintf(why, cap, "a certificate is missing or does not parse");
		goto out;
	}
	if (X509_STORE_load_file(st, root) != 1) {
		snprintf(why, cap, "cannot load the trusted root %s", root);
		goto out;
	}
	if (!sk_X509_push(untrusted, dev) || X509_STORE_CTX_init(ctx, st, part, untrusted) != 1)
		goto out;
	ok = X509_verify_cert(ctx) == 1;
	if (ok)
		snprintf(why, cap, "ok");
	else
		snprintf(why, cap, "%s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

static bool item_chain(struct rep *r)
{
	char cmd[512], p[4096], why[256], rhash[65] = "", dhash[65] = "", outdir[4096];
	const char *args[] = { "--out", outdir, "--json", NULL };
	json_object *o = json_object_new_object(), *certs = json_object_new_object(), *c;
	X509 *x[AZIHSM_CERT_CHAIN_LEN] = { 0 };
	bool verified = false;
	int rc;

	path_in(r, "chain", outdir, sizeof(outdir));
	rc = run_command(r, "cert chain", args, "raw/cert-chain.json", "logs/cert-chain.err",
			 cmd, sizeof(cmd));
	/* The packet names DIR-relative paths: the command as run from DIR. */
	snprintf(cmd, sizeof(cmd), "%s cert chain --out chain --json", r->cli->prog);
	jset(o, "trusted_root", jstr(r->root));
	if (!sha256_file(r->root, rhash))
		jset(o, "trusted_root_sha256", jstr(rhash));
	if (rc == 0) {
		for (unsigned int i = 0; i < AZIHSM_CERT_CHAIN_LEN; i++) {
			char rel[64];

			snprintf(rel, sizeof(rel), "chain/%s.pem", chain_names[i]);
			jset(certs, chain_names[i], cert_json(path_in(r, rel, p, sizeof(p)), &x[i]));
			jset(jget(certs, chain_names[i]), "file", jstr(rel));
		}
		verified = chain_verify(r->root, x[1], x[2], why, sizeof(why));
		if (!sha256_file(path_in(r, "chain/root.pem", p, sizeof(p)), dhash))
			jset(o, "device_root_matches_trusted",
			     json_object_new_boolean(x[0] && rhash[0] && !strcmp(dhash, rhash)));
	} else {
		json_object *e = file_text(path_in(r, "logs/cert-chain.err", p, sizeof(p)));

		snprintf(why, sizeof(why), "azihsm cert chain failed (exit %d): %s", rc,
			 json_object_get_string(e));
		json_object_put(e);
	}
	jset(o, "certificates", certs);
	jset(o, "verified", json_object_new_boolean(verified));
	jset(o, "verify_result", jstr(why));
	jset(o, "verified_with", jstr("OpenSSL X509_verify_cert: chain/partition.pem through "
				      "chain/device.pem to the trusted root"));
	jset(r->top, "chain", o);
	for (unsigned int i = 0; i < AZIHSM_CERT_CHAIN_LEN; i++)
		X509_free(x[i]);
	if (verified)
		c = add_check(r, "chain", "Certificate chain", "pass",
			      "partition <- device <- trusted root %s: verified", r->root);
	else
		c = add_check(r, "chain", "Certificate chain", "fail",
			      "NOT verified against the trusted root %s: %s", r->root, why);
	check_cmd(c, cmd);
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s -untrusted chain/device.pem "
		 "chain/partition.pem", r->root);
	check_cmd(c, cmd);
	check_file(c, "chain/root.pem");
	check_file(c, "chain/device.pem");
	check_file(c, "chain/partition.pem");
	return verified;
}

static int write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

/*
 * A session key made for this report (EC P-384, sign), attested with a
 * fresh nonce of ours, then verified with verify-report against the
 * trusted root. The key is gone at logout.
 */
static void item_attestation(struct rep *r)
{
	uint8_t nonce[REPORT_NONCE_LEN], rep[AZIHSM_REPORT_MAX_LEN];
	char nhex[2 * REPORT_NONCE_LEN + 1], p[4096], chain[4096], repf[4096], cmd[1024];
	const char *args[] = { "--chain", chain, "--report", repf, "--nonce", nhex, "--root",
			       r->root, "--json", NULL };
	json_object *o = json_object_new_object(), *claims = NULL, *c;
	struct capture cp;
	struct ctx x = { 0 };
	size_t len = 0;
	uint16_t id = 0;
	int ret = -1, rc = -1;
	char why[1200] = "";

	jset(r->top, "attestation", o);
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		snprintf(why, sizeof(why), "no random nonce");
		goto done;
	}
	hexstr(nonce, sizeof(nonce), nhex);
	jset(o, "nonce", jstr(nhex));
	jset(o, "key", jstr("a session key generated for this report: EC P-384, usage sign"));
	if (capture(r, "logs/attest.out", "logs/attest.err", &cp)) {
		snprintf(why, sizeof(why), "cannot write %s/logs", r->dir);
		goto done;
	}
	ret = ctx_open(r->cli, &r->cred, false, &x);
	if (!ret) {
		ret = azihsm_key_generate(x.sess, AZIHSM_KEY_TYPE_EC_P384, AZIHSM_KEY_USE_SIGN,
					  NULL, 0, false, &id);
		if (ret)
			ret = cli_fail(r->cli, "key generate", ret);
		else if ((ret = azihsm_key_attest(x.sess, id, nonce, sizeof(nonce), rep,
						  sizeof(rep), &len)))
			ret = cli_fail(r->cli, "AttestKey", ret);
		ret = ctx_close(r->cli, &x, ret);
	}
	uncapture(&cp);
	if (ret) {
		json_object *e = file_text(path_in(r, "logs/attest.err", p, sizeof(p)));

		snprintf(why, sizeof(why), "no attestation report: %s", json_object_get_string(e));
		json_object_put(e);
		goto done;
	}
	if (write_bytes(path_in(r, "attestation/report.cbor", repf, sizeof(repf)), rep, len) ||
	    write_bytes(path_in(r, "attestation/nonce.hex", p, sizeof(p)), nhex, strlen(nhex))) {
		snprintf(why, sizeof(why), "cannot write %s/attestation", r->dir);
		goto done;
	}
	jset(o, "report_file", jstr("attestation/report.cbor"));
	jset(o, "report_length", json_object_new_int64((int64_t)len));
	path_in(r, "chain", chain, sizeof(chain));
	rc = run_command(r, "verify-report", args, "attestation/verify.json",
			 "logs/verify-report.err", cmd, sizeof(cmd));
	claims = rc == 0 ? load_json(r, "attestation/verify.json") : NULL;
	if (!claims || !jgetb(claims, "verified")) {
		json_object *e = file_text(path_in(r, "logs/verify-report.err", p, sizeof(p)));

		snprintf(why, sizeof(why), "verify-report (exit %d): %s", rc,
			 json_object_get_string(e));
		json_object_put(e);
	}
done:
	jset(o, "verified", json_object_new_boolean(claims && jgetb(claims, "verified")));
	if (claims)
		jset(o, "claims", claims);
	if (why[0])
		jset(o, "error", jstr(why));
	if (claims && jgetb(claims, "verified"))
		c = add_check(r, "attestation", "Key attestation", "pass",
			      "a fresh %s key's report (nonce %.16s...) verified: generated %s, "
			      "extractable %s, measurement %.16s...",
			      jgets(claims, "key_type"), nhex,
			      jgetb(claims, "generated") ? "in the device" : "NO",
			      jgetb(claims, "extractable") ? "YES" : "no",
			      jgets(claims, "measurement"));
	else
		c = add_check(r, "attestation", "Key attestation", "fail", "%s", why);
	check_cmd(c, "azihsm key generate --type ec-p384 --usage sign --label L --persistent");
	check_cmd(c, "azihsm key attest --label L --nonce HEX --out report.cbor");
	snprintf(cmd, sizeof(cmd), "%s verify-report --chain chain --report "
		 "attestation/report.cbor --nonce $(cat attestation/nonce.hex) --root %s --json",
		 r->cli->prog, r->root);
	check_cmd(c, cmd);
	check_file(c, "attestation/report.cbor");
	check_file(c, "attestation/nonce.hex");
	check_file(c, "attestation/verify.json");
}

/* selftest or tamper log: their --json output as it is. */
static void item_simple(struct rep *r, const char *name, const char *key, const char *rel,
			const char *err_rel)
{
	const char *args[] = { "--json", NULL };
	char cmd[512], p[4096];
	json_object *o, *c;
	int rc = run_command(r, name, args, rel, err_rel, cmd, sizeof(cmd));

	o = load_json(r, rel);
	if (!strcmp(key, "selftest")) {
		unsigned int n = 0, bad = 0;
		json_object *res = jget(o, "results");
		char failed[512] = "";

		for (size_t i = 0; res && i < json_object_array_length(res); i++) {
			json_object *t = json_object_array_get_idx(res, i);
			const char *v = jgets(t, "result");

			n++;
			if (strcmp(v, "pass") && strcmp(v, "not-run")) {
				bad++;
				snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed),
					 "%s%s=%s", bad > 1 ? ", " : "", jgets(t, "algorithm"), v);
			}
		}
		if (o && rc == 0 && jgetb(o, "passed") && !bad && n)
			c = add_check(r, "selftest", "Self-tests", "pass",
				      "%u algorithm families: every known-answer test passed", n);
		else if (o)
			c = add_check(r, "selftest", "Self-tests", "fail",
				      "self-tests FAILED (exit %d): %s", rc,
				      failed[0] ? failed : "see raw/selftest.json");
		else
			c = NULL;
	} else {
		int64_t count = jgeti(o, "count");

		if (o && rc == 0 && count == 0)
			c = add_check(r, "tamper", "Tamper log", "pass", "no tamper event recorded");
		else if (o && rc == 0)
			c = add_check(r, "tamper", "Tamper log", "warn",
				      "%lld tamper event(s) recorded: review the log",
				      (long long)count);
		else
			c = NULL;
	}
	if (!c) {
		json_object *e = file_text(path_in(r, err_rel, p, sizeof(p)));

		c = add_check(r, key, !strcmp(key, "selftest") ? "Self-tests" : "Tamper log",
			      "fail", "%s failed (exit %d): %s", cmd, rc, json_object_get_string(e));
		json_object_put(e);
		json_object_put(o);
		o = json_object_new_object();
	}
	check_cmd(c, cmd);
	check_file(c, rel);
	jset(r->top, key, o);
}

struct val_opts {
	bool run;
	unsigned int sample;
	const char *json_file, *path, *vectors, *acvp;
};

/* Per path and algorithm (every mode): what the chart shows. */
static json_object *by_algorithm(json_object *results)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; results && i < json_object_array_length(results); i++) {
		json_object *s = json_object_array_get_idx(results, i), *a = NULL;

		for (size_t j = 0; j < json_object_array_length(arr); j++) {
			json_object *t = json_object_array_get_idx(arr, j);

			if (!strcmp(jgets(t, "path"), jgets(s, "path")) &&
			    !strcmp(jgets(t, "algorithm"), jgets(s, "algorithm")))
				a = t;
		}
		if (!a) {
			a = json_object_new_object();
			jset(a, "path", jstr(jgets(s, "path")));
			jset(a, "algorithm", jstr(jgets(s, "algorithm")));
			jset(a, "run", json_object_new_int64(0));
			jset(a, "passed", json_object_new_int64(0));
			jset(a, "failed", json_object_new_int64(0));
			jset(a, "not_applicable", json_object_new_int64(0));
			json_object_array_add(arr, a);
		}
		for (const char *const *k = (const char *const[]){ "run", "passed", "failed",
								    "not_applicable", NULL };
		     *k; k++)
			jset(a, *k, json_object_new_int64(jgeti(a, *k) + jgeti(s, *k)));
	}
	return arr;
}

static void item_validation(struct rep *r, const struct val_opts *vo)
{
	char cmd[1024] = "", p[4096], sample[16], idbuf[AZIHSM_ID_LEN + 1];
	char jf[4096], xf[4096];
	json_object *o = json_object_new_object(), *v = NULL, *c, *t;
	int rc = 0;

	jset(r->top, "validation", o);
	if (!vo->run && !vo->json_file) {
		jset(o, "source", jstr("none"));
		c = add_check(r, "validation", "NIST vector validation", "skipped",
			      "not run: give --validate-sample[=N] or --validate-json FILE");
		check_cmd(c, "azihsm validate --path all --json validate.json");
		return;
	}
	if (vo->json_file) {
		jset(o, "source", jstr("file"));
		jset(o, "given_file", jstr(vo->json_file));
		rc = copy_file(vo->json_file, path_in(r, "validation/validate.json", p, sizeof(p)));
		snprintf(cmd, sizeof(cmd), "(given) %s", vo->json_file);
	} else {
		const char *args[REPORT_ARGS_MAX];
		size_t n = 0;

		snprintf(sample, sizeof(sample), "%u", vo->sample);
		n = cred_args(r, args, idbuf, sizeof(idbuf));
		args[n++] = "--path";
		args[n++] = vo->path;
		args[n++] = "--sample";
		args[n++] = sample;
		args[n++] = "--no-progress";
		args[n++] = "--json";
		args[n++] = path_in(r, "validation/validate.json", jf, sizeof(jf));
		args[n++] = "--junit";
		args[n++] = path_in(r, "validation/validate.xml", xf, sizeof(xf));
		if (vo->vectors) {
			args[n++] = "--vectors";
			args[n++] = vo->vectors;
		}
		if (vo->acvp) {
			args[n++] = "--acvp";
			args[n++] = vo->acvp;
		}
		args[n] = NULL;
		jset(o, "source", jstr("run"));
		jset(o, "sample", json_object_new_int64(vo->sample));
		rc = run_command(r, "validate", args, "validation/validate.txt",
				 "logs/validate.err", cmd, sizeof(cmd));
		jset(o, "exit_status", json_object_new_int(rc));
	}
	v = load_json(r, "validation/validate.json");
	if (!v || strcmp(jgets(v, "schema"), "azihsm-validate/1") ||
	    !json_object_is_type(jget(v, "results"), json_type_array)) {
		json_object *e = file_text(path_in(r, "logs/validate.err", p, sizeof(p)));

		c = add_check(r, "validation", "NIST vector validation", "fail",
			      "no validation results (%s): %s", vo->json_file ? "the given file "
			      "is not azihsm-validate/1 JSON" : "validate did not write them",
			      vo->json_file ? vo->json_file : json_object_get_string(e));
		json_object_put(e);
		json_object_put(v);
		check_cmd(c, cmd);
		return;
	}
	jset(o, "paths", json_object_get(jget(v, "paths")));
	jset(o, "totals", json_object_get(jget(v, "totals")));
	jset(o, "by_algorithm", by_algorithm(jget(v, "results")));
	jset(o, "results", json_object_get(jget(v, "results")));
	t = jget(v, "totals");
	if (jgeti(t, "failed") > 0 || (vo->run && rc != 0) || jgeti(t, "run") <= 0) {
		long long nf = 0;

		for (size_t i = 0; i < json_object_array_length(jget(v, "results")); i++)
			nf += jgeti(json_object_array_get_idx(jget(v, "results"), i), "failed") > 0;
		c = add_check(r, "validation", "NIST vector validation", "fail",
			      "FAILED: %lld of %lld vectors failed, in %lld algorithm/mode line(s)%s",
			      (long long)jgeti(t, "failed"), (long long)jgeti(t, "run"), nf,
			      jgeti(t, "run") <= 0 ? " (no vector ran)" : "");
	} else {
		c = add_check(r, "validation", "NIST vector validation", "pass",
			      "%lld vectors run, %lld passed, 0 failed, %lld not applicable",
			      (long long)jgeti(t, "run"), (long long)jgeti(t, "passed"),
			      (long long)jgeti(t, "not_applicable"));
	}
	json_object_put(v);
	if (vo->run)
		snprintf(cmd, sizeof(cmd), "azihsm validate --path %s --sample %u --json "
			 "validation/validate.json --junit validation/validate.xml", vo->path,
			 vo->sample);
	check_cmd(c, cmd);
	check_file(c, "validation/validate.json");
	if (vo->run) {
		check_file(c, "validation/validate.xml");
		check_file(c, "validation/validate.txt");
	}
}

static void item_versions(struct rep *r, json_object *info)
{
	json_object *o = json_object_new_object(), *k = json_object_new_object();
	json_object *d = json_object_new_object(), *c;
	struct utsname u = { 0 };
	char ver[128], src[128];

	if (!uname(&u)) {
		jset(k, "sysname", jstr(u.sysname));
		jset(k, "release", jstr(u.release));
		jset(k, "version", jstr(u.version));
		jset(k, "machine", jstr(u.machine));
	}
	read_line("/sys/module/azihsm/version", ver, sizeof(ver));
	read_line("/sys/module/azihsm/srcversion", src, sizeof(src));
	jset(d, "version", jstr(ver));
	jset(d, "srcversion", jstr(src));
	jset(d, "driver_rev", jstr(jgets(info, "driver_rev")));
	jset(o, "kernel", k);
	jset(o, "driver", d);
	jset(o, "library", jstr(azihsm_version()));
	jset(o, "openssl", jstr(OpenSSL_version(OPENSSL_VERSION)));
	jset(o, "firmware_rev", jstr(jgets(info, "firmware_rev")));
	jset(r->top, "versions", o);
	if (ver[0] || src[0])
		c = add_check(r, "versions", "Driver, kernel and library versions", "pass",
			      "kernel %s, driver %s%s, libazihsm %s", u.release,
			      ver[0] ? ver : "srcversion ", ver[0] ? "" : src, azihsm_version());
	else
		c = add_check(r, "versions", "Driver, kernel and library versions", "warn",
			      "kernel %s, driver unknown (no /sys/module/azihsm), libazihsm %s",
			      u.release, azihsm_version());
	check_cmd(c, "uname -a; cat /sys/module/azihsm/version /sys/module/azihsm/srcversion");
}

struct seed_opts {
	const char *revision, *repository, *docs, *check_summary;
};

static void item_seed(struct rep *r, const struct seed_opts *so)
{
	json_object *o = json_object_new_object(), *docs = json_object_new_array(), *c;
	char rev[256] = "", commit[128] = "", repo[1024] = "", docdir[1024] = "", p[4096];
	const char *rev_src = "none";
	unsigned int missing = 0;

	jset(r->top, "seed_of_trust", o);
	/* The revision: from the host side, else git where we run. */
	if (so->revision) {
		snprintf(rev, sizeof(rev), "%s", so->revision);
		rev_src = "given";
	} else {
		first_line_of("git describe --always --dirty --tags 2>/dev/null", rev, sizeof(rev));
		first_line_of("git rev-parse HEAD 2>/dev/null", commit, sizeof(commit));
		if (rev[0])
			rev_src = "git";
	}
	if (so->repository)
		snprintf(repo, sizeof(repo), "%s", so->repository);
	else
		first_line_of("git remote get-url origin 2>/dev/null || "
			      "git rev-parse --show-toplevel 2>/dev/null", repo, sizeof(repo));
	jset(o, "repository", jstr(repo));
	jset(o, "revision", jstr(rev));
	jset(o, "commit", jstr(commit));
	jset(o, "revision_source", jstr(rev_src));
	if (rev[0])
		c = add_check(r, "revision", "Repository and revision", "pass", "%s at %s (%s)",
			      repo[0] ? repo : "(repository not given)", rev, rev_src);
	else
		c = add_check(r, "revision", "Repository and revision", "fail",
			      "revision unknown: give --revision (or run in the source tree)");
	check_cmd(c, "git describe --always --dirty --tags; git rev-parse HEAD");

	/* The documents: from --docs, else the tree's Documentation/, else installed. */
	if (so->docs) {
		snprintf(docdir, sizeof(docdir), "%s", so->docs);
	} else {
		first_line_of("git rev-parse --show-toplevel 2>/dev/null", docdir, sizeof(docdir));
		if (docdir[0])
			strncat(docdir, "/Documentation", sizeof(docdir) - strlen(docdir) - 1);
		else
			snprintf(docdir, sizeof(docdir), "%s", REPORT_DOC_DIR);
	}
	jset(o, "documents_from", jstr(docdir));
	for (size_t i = 0; i < ARRAY_LEN(report_docs); i++) {
		json_object *d = json_object_new_object();
		char from[4096], rel[128], hash[65];

		snprintf(from, sizeof(from), "%s/%s", docdir, report_docs[i]);
		snprintf(rel, sizeof(rel), "docs/%s", report_docs[i]);
		jset(d, "name", jstr(report_docs[i]));
		if (copy_file(from, path_in(r, rel, p, sizeof(p))) || sha256_file(p, hash)) {
			jset(d, "present", json_object_new_boolean(false));
			missing++;
		} else {
			jset(d, "present", json_object_new_boolean(true));
			jset(d, "file", jstr(rel));
			jset(d, "sha256", jstr(hash));
		}
		json_object_array_add(docs, d);
	}
	jset(o, "documents", docs);
	if (missing)
		c = add_check(r, "documents", "Security policy and threat model", "fail",
			      "%u of %zu documents not found in %s: give --docs DIR", missing,
			      ARRAY_LEN(report_docs), docdir);
	else
		c = add_check(r, "documents", "Security policy and threat model", "pass",
			      "copied from %s into docs/", docdir);
	snprintf(p, sizeof(p), "sha256sum %s/%s %s/%s", docdir, report_docs[0], docdir,
		 report_docs[1]);
	check_cmd(c, p);
	for (size_t i = 0; i < ARRAY_LEN(report_docs); i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "docs/%s", report_docs[i]);
		check_file(c, rel);
	}

	/* The make check summary, when given. */
	if (!so->check_summary) {
		jset(o, "check_summary", NULL);
		c = add_check(r, "check", "Test suite summary (make check)", "skipped",
			      "not given (--check-summary FILE: the output of make check)");
	} else {
		json_object *cs = json_object_new_object();
		char line[512], last[512] = "";
		unsigned long np = 0, nf = 0, ns = 0;
		bool found = false;
		FILE *f = fopen(so->check_summary, "r");

		while (f && fgets(line, sizeof(line), f)) {
			unsigned long a, b, s = 0;
			int k = sscanf(line, "%lu passed, %lu failed, %lu skipped", &a, &b, &s);

			if (k >= 2) {
				np = a;
				nf = b;
				ns = s;
				found = true;
				snprintf(last, sizeof(last), "%s", line);
				last[strcspn(last, "\r\n")] = '\0';
			}
		}
		if (f)
			fclose(f);
		copy_file(so->check_summary, path_in(r, "check/summary.txt", p, sizeof(p)));
		jset(cs, "given_file", jstr(so->check_summary));
		jset(cs, "file", jstr("check/summary.txt"));
		jset(cs, "found", json_object_new_boolean(found));
		jset(cs, "line", jstr(last));
		jset(cs, "passed", json_object_new_int64((int64_t)np));
		jset(cs, "failed", json_object_new_int64((int64_t)nf));
		jset(cs, "skipped", json_object_new_int64((int64_t)ns));
		jset(o, "check_summary", cs);
		if (!f)
			c = add_check(r, "check", "Test suite summary (make check)", "fail",
				      "cannot read %s", so->check_summary);
		else if (!found)
			c = add_check(r, "check", "Test suite summary (make check)", "fail",
				      "no closing \"N passed, N failed\" line in %s",
				      so->check_summary);
		else
			c = add_check(r, "check", "Test suite summary (make check)",
				      nf ? "fail" : "pass", "%s%s", nf ? "FAILED: " : "", last);
		check_file(c, "check/summary.txt");
	}
	check_cmd(c, "make check 2>&1 | tee check.log");
}

/* --- report.html --------------------------------------------------------------- */

/* Text (or an attribute value) with every HTML-special character escaped. */
static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

static void badge(FILE *f, const char *status)
{
	const char *word = !strcmp(status, "pass") ? "PASS" : !strcmp(status, "fail") ? "FAIL" :
			   !strcmp(status, "warn") ? "WARN" : "SKIPPED";
	const char *cls = !strcmp(status, "pass") ? "pass" : !strcmp(status, "fail") ? "fail" :
			  !strcmp(status, "warn") ? "warn" : "skip";

	fprintf(f, "<span class=\"st %s\">%s</span>", cls, word);
}

/* A JSON value as text: strings as they are, the rest as JSON. */
static void h_value(FILE *f, json_object *v)
{
	if (!v)
		fputs("<i>none</i>", f);
	else if (json_object_is_type(v, json_type_string))
		h(f, json_object_get_string(v));
	else
		h(f, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* Every member of @o as a two-column table. */
static void h_kv(FILE *f, json_object *o)
{
	fputs("<table class=\"kv\">\n", f);
	if (o && json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			fputs("<tr><th>", f);
			h(f, k);
			fputs("</th><td>", f);
			h_value(f, v);
			fputs("</td></tr>\n", f);
		}
	}
	fputs("</table>\n", f);
}

static json_object *check_of(const struct rep *r, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(r->checks); i++) {
		json_object *c = json_object_array_get_idx(r->checks, i);

		if (!strcmp(jgets(c, "id"), id))
			return c;
	}
	return NULL;
}

static void h_section(FILE *f, const struct rep *r, const char *id, const char *title)
{
	json_object *c = check_of(r, id);

	fprintf(f, "<h2 id=\"%s\">", id);
	h(f, title);
	fputs(" ", f);
	if (c) {
		badge(f, jgets(c, "status"));
		fputs("</h2>\n<p>", f);
		h(f, jgets(c, "detail"));
		fputs("</p>\n", f);
	} else {
		fputs("</h2>\n", f);
	}
}

/* Horizontal bars per path and algorithm: passed green, failed red. */
static void h_chart(FILE *f, json_object *rows)
{
	size_t n = rows ? json_object_array_length(rows) : 0;
	const int lw = 230, bw = 440, rh = 22, w = lw + bw + 150;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\" "
		"height=\"%zu\" viewBox=\"0 0 %d %zu\" role=\"img\">\n<title>NIST vectors per "
		"algorithm: passed (green) and failed (red)</title>\n", w, n * rh + 10, w,
		n * rh + 10);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(rows, i);
		int64_t run = jgeti(a, "run"), pass = jgeti(a, "passed"), fail = jgeti(a, "failed");
		int y = (int)i * rh + 5, gw = run > 0 ? (int)(bw * pass / run) : 0;
		int fw = run > 0 ? (int)(bw * fail / run) : 0;

		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 15);
		h(f, jgets(a, "path"));
		fputc(' ', f);
		h(f, jgets(a, "algorithm"));
		fputs("</text>\n", f);
		if (run <= 0) {
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
				"fill=\"#bbbbbb\"/>\n<text x=\"%d\" y=\"%d\">n/a (%lld)</text>\n",
				lw, y + 2, bw, rh - 6, lw + bw + 8, y + 15,
				(long long)jgeti(a, "not_applicable"));
			continue;
		}
		if (fail && fw < 3)
			fw = 3;	/* a single failure stays visible */
		if (gw + fw > bw)
			gw = bw - fw;
		fprintf(f, "<rect class=\"ok\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"#2e7d32\"/>\n", lw, y + 2, gw, rh - 6);
		if (fail)
			fprintf(f, "<rect class=\"bad\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
				"fill=\"#c62828\"/>\n", lw + gw, y + 2, fw, rh - 6);
		fprintf(f, "<text x=\"%d\" y=\"%d\"%s>%s%lld/%lld</text>\n", lw + bw + 8, y + 15,
			fail ? " fill=\"#c62828\" font-weight=\"bold\"" : "", fail ? "FAIL " : "",
			(long long)(fail ? fail : pass), (long long)run);
	}
	fputs("</svg>\n", f);
}

static const char css[] =
	"body{font-family:sans-serif;margin:2em auto;max-width:70em;color:#111;line-height:1.4}"
	"h1{border-bottom:3px solid #333}h2{margin-top:1.6em;border-bottom:1px solid #999}"
	"table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;"
	"padding:.2em .5em;text-align:left;vertical-align:top}th{background:#eee}"
	"table.kv th{width:14em}td{word-break:break-word}"
	".st{display:inline-block;white-space:nowrap;padding:0 .5em;border-radius:3px;font-weight:bold;"
	"color:#fff;font-size:.9em}.pass{background:#2e7d32}.fail{background:#c62828}"
	".warn{background:#b26a00}.skip{background:#757575}"
	"tr.failrow td{background:#fde0e0}code,pre{font-family:monospace;font-size:.9em}"
	"pre{background:#f4f4f4;padding:.4em;white-space:pre-wrap}"
	".chart text{font-family:sans-serif;font-size:12px}";

static int write_html(const struct rep *r, const char *path)
{
	json_object *top = r->top, *dev = jget(top, "device"), *v = jget(top, "validation");
	json_object *chain = jget(top, "chain"), *att = jget(top, "attestation");
	json_object *st = jget(top, "selftest"), *tl = jget(top, "tamper");
	json_object *seed = jget(top, "seed_of_trust");
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
	fputs("<title>azihsm compliance report: ", f);
	h(f, jgets(dev, "serial"));
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
	fputs("<h1>azihsm compliance report</h1>\n<p>Device <b>", f);
	h(f, jgets(dev, "serial"));
	fputs("</b> (", f);
	h(f, jgets(dev, "model"));
	fputs("), generated ", f);
	h(f, jgets(top, "generated"));
	fputs(" by <code>azihsm report</code> (libazihsm ", f);
	h(f, azihsm_version());
	fputs("). Overall: ", f);
	badge(f, jgets(top, "result"));
	fputs("</p>\n<p>An emulated HSM: this packet lets an auditor check its mechanisms; it is "
	      "not a FIPS 140-3 certificate. Every item names the command that reproduces it "
	      "(section <a href=\"#reproduce\">Reproduce</a>); the files it names are in this "
	      "directory.</p>\n", f);

	fputs("<h2 id=\"summary\">Summary</h2>\n<table>\n<tr><th>check</th><th>result</th>"
	      "<th>detail</th></tr>\n", f);
	for (size_t i = 0; i < json_object_array_length(r->checks); i++) {
		json_object *c = json_object_array_get_idx(r->checks, i);

		fprintf(f, "<tr%s><td><a href=\"#%s\">", !strcmp(jgets(c, "status"), "fail") ?
			" class=\"failrow\"" : "", !strcmp(jgets(c, "id"), "revision") ||
			!strcmp(jgets(c, "id"), "documents") || !strcmp(jgets(c, "id"), "check") ?
			"seed" : jgets(c, "id"));
		h(f, jgets(c, "title"));
		fputs("</a></td><td>", f);
		badge(f, jgets(c, "status"));
		fputs("</td><td>", f);
		h(f, jgets(c, "detail"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);

	h_section(f, r, "device", "Device identity and state");
	h_kv(f, dev);

	h_section(f, r, "chain", "Certificate chain");
	fputs("<p>Trusted root: <code>", f);
	h(f, jgets(chain, "trusted_root"));
	fputs("</code> (SHA-256 <code>", f);
	h(f, jgets(chain, "trusted_root_sha256"));
	fputs("</code>); verification: <b>", f);
	h(f, jgets(chain, "verify_result"));
	fputs("</b>.</p>\n<table>\n<tr><th>certificate</th><th>subject</th><th>issuer</th>"
	      "<th>valid</th><th>SHA-256</th></tr>\n", f);
	for (unsigned int i = 0; i < AZIHSM_CERT_CHAIN_LEN; i++) {
		json_object *c = jget(jget(chain, "certificates"), chain_names[i]);

		if (!c)
			continue;
		fputs("<tr><td>", f);
		h(f, jgets(c, "file"));
		fputs("</td><td>", f);
		h(f, jgets(c, "subject"));
		fputs("</td><td>", f);
		h(f, jgets(c, "issuer"));
		fputs("</td><td>", f);
		h(f, jgets(c, "not_before"));
		fputs(" to ", f);
		h(f, jgets(c, "not_after"));
		fputs("</td><td><code>", f);
		h(f, jgets(c, "sha256"));
		fputs("</code></td></tr>\n", f);
	}
	fputs("</table>\n", f);

	h_section(f, r, "attestation", "Key attestation");
	fputs("<p>Nonce <code>", f);
	h(f, jgets(att, "nonce"));
	fputs("</code>; ", f);
	h(f, jgets(att, "key"));
	fputs(".</p>\n", f);
	if (jget(att, "claims"))
		h_kv(f, jget(att, "claims"));

	h_section(f, r, "selftest", "Self-tests");
	fputs("<table>\n<tr><th>algorithm</th><th>result</th></tr>\n", f);
	for (size_t i = 0; jget(st, "results") && i < json_object_array_length(jget(st, "results"));
	     i++) {
		json_object *t = json_object_array_get_idx(jget(st, "results"), i);
		const char *res = jgets(t, "result");
		bool bad = strcmp(res, "pass") && strcmp(res, "not-run");

		fprintf(f, "<tr%s><td>", bad ? " class=\"failrow\"" : "");
		h(f, jgets(t, "algorithm"));
		fputs("</td><td>", f);
		if (bad)
			fputs("<span class=\"st fail\">FAIL</span> ", f);
		h(f, res);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);

	h_section(f, r, "tamper", "Tamper log");
	fprintf(f, "<p>Events ever: %lld.</p>\n<table>\n<tr><th>#</th><th>sensor</th>"
		"<th>reading</th><th>time</th></tr>\n", (long long)jgeti(tl, "count"));
	for (size_t i = 0; jget(tl, "events") && i < json_object_array_length(jget(tl, "events"));
	     i++) {
		json_object *e = json_object_array_get_idx(jget(tl, "events"), i);

		fprintf(f, "<tr><td>%lld</td><td>", (long long)jgeti(e, "seq"));
		h(f, jgets(e, "sensor"));
		fprintf(f, "</td><td>%lld</td><td>", (long long)jgeti(e, "value"));
		h(f, jgets(e, "time"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);

	h_section(f, r, "validation", "Validation against NIST vectors");
	if (jget(v, "totals")) {
		json_object *t = jget(v, "totals"), *res = jget(v, "results");

		fprintf(f, "<p>Vectors run %lld, passed %lld, <b>failed %lld</b>, not applicable "
			"%lld (source: ", (long long)jgeti(t, "run"), (long long)jgeti(t, "passed"),
			(long long)jgeti(t, "failed"), (long long)jgeti(t, "not_applicable"));
		h(f, jgets(v, "source"));
		fputs(").</p>\n", f);
		h_chart(f, jget(v, "by_algorithm"));
		fputs("<table>\n<tr><th>path</th><th>algorithm</th><th>mode</th><th>run</th>"
		      "<th>passed</th><th>failed</th><th>n/a</th><th>first failures / n/a "
		      "reasons</th></tr>\n", f);
		for (size_t i = 0; res && i < json_object_array_length(res); i++) {
			json_object *s = json_object_array_get_idx(res, i), *l;
			int64_t fl = jgeti(s, "failed");

			fprintf(f, "<tr%s><td>", fl ? " class=\"failrow\"" : "");
			h(f, jgets(s, "path"));
			fputs("</td><td>", f);
			h(f, jgets(s, "algorithm"));
			fputs("</td><td>", f);
			h(f, jgets(s, "mode"));
			fprintf(f, "</td><td>%lld</td><td>%lld</td><td>%s%lld</td><td>%lld</td><td>",
				(long long)jgeti(s, "run"), (long long)jgeti(s, "passed"),
				fl ? "<span class=\"st fail\">FAIL</span> " : "", (long long)fl,
				(long long)jgeti(s, "not_applicable"));
			l = fl ? jget(s, "first_failures") : jget(s, "not_applicable_reasons");
			for (size_t j = 0; l && json_object_is_type(l, json_type_array) &&
			     j < json_object_array_length(l); j++) {
				fputs(j ? "<br>" : "", f);
				h_value(f, json_object_array_get_idx(l, j));
			}
			fputs("</td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}

	h_section(f, r, "versions", "Driver, kernel and library versions");
	h_kv(f, jget(jget(top, "versions"), "kernel"));
	h_kv(f, jget(jget(top, "versions"), "driver"));
	fputs("<p>libazihsm ", f);
	h(f, jgets(jget(top, "versions"), "library"));
	fputs(", ", f);
	h(f, jgets(jget(top, "versions"), "openssl"));
	fputs(".</p>\n", f);

	fputs("<h2 id=\"seed\">Seed of trust</h2>\n<table class=\"kv\">\n<tr><th>repository"
	      "</th><td>", f);
	h(f, jgets(seed, "repository"));
	fputs("</td></tr>\n<tr><th>revision</th><td>", f);
	badge(f, jgets(check_of(r, "revision"), "status"));
	fputs(" ", f);
	h(f, jgets(seed, "revision"));
	fputs(" (", f);
	h(f, jgets(seed, "revision_source"));
	fputs(")</td></tr>\n", f);
	for (size_t i = 0; jget(seed, "documents") &&
	     i < json_object_array_length(jget(seed, "documents")); i++) {
		json_object *d = json_object_array_get_idx(jget(seed, "documents"), i);

		fputs("<tr><th>", f);
		h(f, jgets(d, "name"));
		fputs("</th><td>", f);
		if (jgetb(d, "present")) {
			fputs("<a href=\"", f);
			h(f, jgets(d, "file"));
			fputs("\">", f);
			h(f, jgets(d, "file"));
			fputs("</a> (SHA-256 <code>", f);
			h(f, jgets(d, "sha256"));
			fputs("</code>)", f);
		} else {
			badge(f, "fail");
			fputs(" missing", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("<tr><th>make check</th><td>", f);
	badge(f, jgets(check_of(r, "check"), "status"));
	fputs(" ", f);
	h(f, jgets(check_of(r, "check"), "detail"));
	fputs("</td></tr>\n</table>\n", f);

	fputs("<h2 id=\"reproduce\">Reproduce</h2>\n<p>In a guest with the device (files "
	      "relative to this directory):</p>\n<table>\n<tr><th>check</th><th>commands</th>"
	      "<th>files</th></tr>\n", f);
	for (size_t i = 0; i < json_object_array_length(r->checks); i++) {
		json_object *c = json_object_array_get_idx(r->checks, i);
		json_object *cmds = jget(c, "commands"), *files = jget(c, "files");

		fputs("<tr><td>", f);
		h(f, jgets(c, "title"));
		fputs("</td><td><pre>", f);
		for (size_t j = 0; j < json_object_array_length(cmds); j++) {
			h(f, json_object_get_string(json_object_array_get_idx(cmds, j)));
			fputc('\n', f);
		}
		fputs("</pre></td><td>", f);
		for (size_t j = 0; j < json_object_array_length(files); j++) {
			const char *fn = json_object_get_string(json_object_array_get_idx(files, j));

			fputs(j ? "<br>" : "", f);
			fputs("<a href=\"", f);
			h(f, fn);
			fputs("\">", f);
			h(f, fn);
			fputs("</a>", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n</body>\n</html>\n", f);
	return fclose(f) ? -errno : 0;
}

/* --- the command ----------------------------------------------------------------- */

enum { OPT_R_OUT = 0x300, OPT_R_SAMPLE, OPT_R_VJSON, OPT_R_VPATH, OPT_R_VECTORS, OPT_R_ACVP,
       OPT_R_CHECK, OPT_R_REV, OPT_R_REPO, OPT_R_DOCS, OPT_R_ROOT };

static int cmd_report(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "out", required_argument, NULL, OPT_R_OUT },
		{ "validate-sample", optional_argument, NULL, OPT_R_SAMPLE },
		{ "validate-json", required_argument, NULL, OPT_R_VJSON },
		{ "validate-path", required_argument, NULL, OPT_R_VPATH },
		{ "vectors", required_argument, NULL, OPT_R_VECTORS },
		{ "acvp", required_argument, NULL, OPT_R_ACVP },
		{ "check-summary", required_argument, NULL, OPT_R_CHECK },
		{ "revision", required_argument, NULL, OPT_R_REV },
		{ "repository", required_argument, NULL, OPT_R_REPO },
		{ "docs", required_argument, NULL, OPT_R_DOCS },
		{ "root", required_argument, NULL, OPT_R_ROOT },
		{ NULL, 0, NULL, 0 }
	};
	struct rep r = { .cli = cli, .cred = { .role = AZIHSM_ROLE_USER } };
	struct val_opts vo = { .sample = REPORT_SAMPLE_DEFAULT, .path = "device" };
	struct seed_opts so = { .revision = getenv("AZIHSM_REPORT_REVISION"),
				.repository = getenv("AZIHSM_REPORT_REPOSITORY"),
				.docs = getenv("AZIHSM_REPORT_DOCS") };
	static const char *const subdirs[] = { "raw", "logs", "chain", "attestation",
					       "validation", "docs", "check" };
	char p[4096], when[32];
	json_object *info = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			if (!strcmp(optarg, "officer"))
				r.cred.role = AZIHSM_ROLE_OFFICER;
			else if (strcmp(optarg, "user"))
				return usage_err(cli, "--role must be officer or user, not", optarg);
			r.cred.has_role = true;
			break;
		case OPT_CRED_ID:
			if (set_cred_id(cli, optarg, &r.cred))
				return 2;
			break;
		case OPT_PIN_FILE: r.cred.pin_file = optarg; break;
		case OPT_R_OUT: r.dir = optarg; break;
		case OPT_R_SAMPLE:
			vo.run = true;
			if (optarg) {
				char *end;
				unsigned long n = strtoul(optarg, &end, 10);

				if (*end || !*optarg || n == 0 || n > 1000000)
					return usage_err(cli, "--validate-sample takes a count "
							 "(1..1000000), not", optarg);
				vo.sample = (unsigned int)n;
			}
			break;
		case OPT_R_VJSON: vo.json_file = optarg; break;
		case OPT_R_VPATH:
			if (strcmp(optarg, "device") && strcmp(optarg, "kcapi") &&
			    strcmp(optarg, "all") && strcmp(optarg, cli_dev_path))
				return usage_err(cli, "--validate-path takes device, kcapi or all, "
						 "not", optarg);
			vo.path = optarg;
			break;
		case OPT_R_VECTORS: vo.vectors = optarg; break;
		case OPT_R_ACVP: vo.acvp = optarg; break;
		case OPT_R_CHECK: so.check_summary = optarg; break;
		case OPT_R_REV: so.revision = optarg; break;
		case OPT_R_REPO: so.repository = optarg; break;
		case OPT_R_DOCS: so.docs = optarg; break;
		case OPT_R_ROOT: r.root = optarg; break;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_err(cli, "unexpected argument", argv[optind]);
	if (!r.dir)
		return usage_err(cli, "needs --out DIR", NULL);
	if (vo.run && vo.json_file)
		return usage_err(cli, "--validate-sample and --validate-json exclude each other",
				 NULL);
	/* The fw path (host tests) names itself; elsewhere "device" is the libazihsm path. */
	if (!strcmp(vo.path, "device"))
		vo.path = cli_dev_path;
	if (!r.root)
		r.root = azihsm_trusted_root();
	if (mkdir(r.dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s %s: %s: %s\n", cli->prog, cli->cmd, r.dir, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
		ret = mkdir_in(&r, subdirs[i]);
		if (ret) {
			fprintf(stderr, "%s %s: %s/%s: %s\n", cli->prog, cli->cmd, r.dir,
				subdirs[i], strerror(-ret));
			return 1;
		}
	}
	r.top = json_object_new_object();
	r.checks = json_object_new_array();
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jset(r.top, "schema", jstr(REPORT_SCHEMA));
	jset(r.top, "generated", jstr(when));
	jset(r.top, "generated_unix", json_object_new_int64((int64_t)now));
	jset(r.top, "result", jstr("pass"));	/* set below */
	jset(r.top, "checks", json_object_get(r.checks));

	item_device(&r, &info);
	item_chain(&r);
	item_attestation(&r);
	item_simple(&r, "selftest", "selftest", "raw/selftest.json", "logs/selftest.err");
	item_simple(&r, "tamper log", "tamper", "raw/tamper-log.json", "logs/tamper-log.err");
	item_validation(&r, &vo);
	item_versions(&r, info);
	item_seed(&r, &so);
	json_object_put(info);
	json_object_put(r.checks);	/* r.top holds it */

	jset(r.top, "result", jstr(r.failed ? "fail" : "pass"));
	ret = 0;
	if (json_object_to_file_ext(path_in(&r, "report.json", p, sizeof(p)), r.top,
				    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) {
		fprintf(stderr, "%s %s: %s: %s\n", cli->prog, cli->cmd, p, json_util_get_last_err());
		ret = 1;
	}
	if (write_html(&r, path_in(&r, "report.html", p, sizeof(p)))) {
		fprintf(stderr, "%s %s: %s: %s\n", cli->prog, cli->cmd, p, strerror(errno));
		ret = 1;
	}
	for (size_t i = 0; i < json_object_array_length(r.checks); i++) {
		json_object *k = json_object_array_get_idx(r.checks, i);
		const char *s = jgets(k, "status");

		printf("%-8s %-36s %s\n", !strcmp(s, "pass") ? "PASS" : !strcmp(s, "fail") ?
		       "FAIL" : !strcmp(s, "warn") ? "WARN" : "SKIPPED", jgets(k, "title"),
		       jgets(k, "detail"));
	}
	printf("report %s: %s/report.json, %s/report.html\n", r.failed ? "FAILED" : "passed",
	       r.dir, r.dir);
	json_object_put(r.top);
	return ret ? ret : r.failed ? 1 : 0;
}

const struct subcommand cli_report_commands[] = {
	{ "report", "report --out DIR [--validate-sample[=N] | --validate-json FILE] "
	  "[--check-summary FILE] [--revision R] [--repository URL] [--docs DIR] [--root FILE]",
	  "Write the compliance packet into DIR: report.json (schema azihsm-report/1,\n"
	  "Documentation/report.md) and report.html (self-contained), with the device's\n"
	  "identity and state (info), the certificate chain verified with OpenSSL against\n"
	  "the trusted root, a fresh key attestation verified (a session key; needs a\n"
	  "login), the self-tests, the tamper log, NIST vector results, the versions,\n"
	  "the repository revision, security-policy.md and threat-model.md, and the\n"
	  "command that reproduces each item. Exit 1 if any check failed (the packet\n"
	  "is written anyway).\n" CRED_HELP
	  "  --out DIR              the packet's directory (made if missing)\n"
	  "  --validate-sample[=N]  run azihsm validate --sample N (default 3) now\n"
	  "  --validate-json FILE   take validate --json results from FILE instead\n"
	  "  --validate-path P      device (default), kcapi or all (for the run)\n"
	  "  --vectors DIR, --acvp DIR  vector directories for the run (as validate)\n"
	  "  --check-summary FILE   the output of make check (its closing line counts)\n"
	  "  --revision R, --repository URL  the source revision (env\n"
	  "                         AZIHSM_REPORT_REVISION, AZIHSM_REPORT_REPOSITORY; else\n"
	  "                         git, when run in the tree)\n"
	  "  --docs DIR             where security-policy.md and threat-model.md are (env\n"
	  "                         AZIHSM_REPORT_DOCS; else the tree's Documentation/,\n"
	  "                         else " REPORT_DOC_DIR ")\n"
	  "  --root FILE            the trusted root (else $AZIHSM_ROOT_CA, else\n"
	  "                         " AZIHSM_ROOT_CA_DEFAULT ")\n",
	  cmd_report },
};
const size_t cli_report_ncommands = ARRAY_LEN(cli_report_commands);
