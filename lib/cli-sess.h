/* SPDX-License-Identifier: MIT */
/*
 * azihsm CLI: what the commands that log in share (cli-sess.c): their
 * options, parsed once for all (parse_opts), the session they run in,
 * key selection, key types and usages, input and output files.
 */
#ifndef AZIHSM_CLI_SESS_H
#define AZIHSM_CLI_SESS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "cli.h"

#define KEYS_MAX	1024	/* key list capacity; more than any vault holds */
#define PIN_BUF		(AZIHSM_PIN_MAX + 1)

/* Options every session command takes (getopt_long values >= 0x100). */
enum {
	OPT_ROLE = 0x100, OPT_ID, OPT_PIN_FILE, OPT_NEW_PIN_FILE, OPT_CHANGE_PIN, OPT_JSON,
	OPT_TYPE, OPT_USAGE, OPT_LABEL, OPT_PERSISTENT, OPT_CRED_ID, OPT_OUT, OPT_IN, OPT_ALG,
	OPT_MODE, OPT_IV, OPT_AAD, OPT_SIG, OPT_PEER, OPT_KDF, OPT_HASH, OPT_SALT, OPT_INFO,
	OPT_NEW_LABEL, OPT_LENGTH, OPT_MASKED, OPT_OAEP_LABEL, OPT_DER, OPT_UNWRAP_KEY,
	OPT_USER_ID, OPT_YES, OPT_NONCE,
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
	"  --id N               the key with key id N (instead of --label)\n" \
	"  --masked FILE        the key from a masked blob (key export-masked), unmasked\n" \
	"                       for this command only\n"

struct opts {
	enum azihsm_role role;
	bool has_role;		/* --role given */
	bool has_cred_id;
	uint8_t cred_id[AZIHSM_ID_LEN];
	const char *pin_file;
	const char *new_pin_file;
	bool change_pin, json, persistent;
	const char *type, *usage, *label, *out, *in, *alg;
	bool has_key_id;
	uint16_t key_id;
	/* operations (cli-ops.c) */
	const char *mode, *iv, *aad, *sig, *peer, *kdf, *hash, *salt, *info, *new_label;
	const char *length, *masked, *oaep_label, *unwrap_key;
	bool der;
	bool yes;		/* zeroize: --yes */
	const char *nonce;	/* key attest: --nonce HEX */
	/* user reset-pin: the user's credential id (--user-id) */
	bool has_user_id;
	uint8_t user_id[AZIHSM_ID_LEN];
};

/* The session a command runs in. */
struct ctx {
	struct azihsm_dev *dev;
	struct azihsm_session *sess;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Largest masked blob or wrapped key read (RSA-4096: about 2.5 KiB). */
#define CLI_BLOB_MAX	8192

#define KEY_CMD_OPTS(...) \
	{ CRED_OPTS, { "label", required_argument, NULL, OPT_LABEL }, \
	  { "id", required_argument, NULL, OPT_ID }, \
	  { "masked", required_argument, NULL, OPT_MASKED }, __VA_ARGS__ \
	  { NULL, 0, NULL, 0 } }

struct cli_key_type {
	const char *name;
	enum azihsm_key_type type;
};

struct cli_usage {
	const char *name;
	uint32_t bit;
};

extern const struct cli_key_type cli_key_types[];
extern const size_t cli_nkey_types;
extern const struct cli_usage cli_usages[];
extern const size_t cli_nusages;

const char *type_name(uint8_t type);
int usage_err(const struct cli *cli, const char *msg, const char *arg);
int parse_u16(const char *s, uint16_t *out);
int set_cred_id(const struct cli *cli, const char *s, struct opts *o);
int parse_opts(struct cli *cli, int argc, char **argv, const struct option *lopts,
	       bool id_is_key, struct opts *o);
int read_pin(const struct cli *cli, const char *file, const char *file_opt,
	     const char *env, char pin[PIN_BUF]);
const char *role_name(enum azihsm_role role);
int ctx_open(struct cli *cli, const struct opts *o, bool allow_restricted,
	     struct ctx *x);
int ctx_close(struct cli *cli, struct ctx *x, int rc);
/*
 * The shape most session commands share: parse (parse_opts, key_cmd_begin),
 * sess_begin, the one device call, sess_end, print_result.
 * sess_begin: open the session of @o (ctx_open) and, when @id is not NULL,
 * find the key @o names (resolve_key). 0, or 1 after a message (the session
 * closed again).
 */
int sess_begin(struct cli *cli, const struct opts *o, struct ctx *x, uint16_t *id);
/*
 * Log out and close; @err is the device call's result, reported as "@what:
 * ..." when it failed. The command's exit code so far.
 */
int sess_end(struct cli *cli, struct ctx *x, int err, const char *what);
/* Print @json with --json, else @text; 0. */
int print_result(const struct opts *o, const char *json, const char *text);
/* The DER SPKI @der as a PEM public key into @path (NULL or "-": stdout). */
int write_pubkey_pem(const struct cli *cli, const uint8_t *der, size_t len, const char *path);
int parse_usage(const char *s, uint32_t *out);
int need_key_sel(const struct cli *cli, const struct opts *o);
int resolve_key(struct cli *cli, struct ctx *x, const struct opts *o, uint16_t *id);
int key_cmd_begin(struct cli *cli, int argc, char **argv, const struct option *lopts,
		  struct opts *o);
FILE *open_out(const struct cli *cli, const char *path);
int close_out(const struct cli *cli, FILE *f, const char *path);
int hash_input(const struct cli *cli, const char *path, const EVP_MD *md,
	       uint8_t *digest, unsigned int *dlen);
/* The key type named @name, or 0. */
enum azihsm_key_type parse_type(const char *name);
/*
 * All of @path (NULL or "-": stdin), at most @max bytes, into a buffer the
 * caller frees (and wipes where it matters). 0, or 1 after a message.
 */
int read_all(const struct cli *cli, const char *path, size_t max, uint8_t **buf,
	     size_t *len);
/* Write @len bytes to @path (NULL or "-": stdout). 0, or 1 after a message. */
int write_all(const struct cli *cli, const char *path, const uint8_t *buf, size_t len);
/* A JSON string of @len bytes in lower-case hex. */
void json_hex(FILE *f, const uint8_t *p, size_t len);

#endif
