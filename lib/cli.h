/* SPDX-License-Identifier: MIT */
/* azihsm CLI: what its source files share. */
#ifndef AZIHSM_CLI_H
#define AZIHSM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "azihsm/azihsm.h"

struct cli {
	const char *device;
	const char *prog;
	const char *cmd;	/* "info", "key generate", ... for messages */
};

struct subcommand {
	const char *name;	/* one word, or two ("key list") */
	const char *usage;
	const char *help;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* Print "prog: what: error (device status ...)" and return 1. */
int cli_fail(const struct cli *cli, const char *what, int err);
/* Open the device (--device or the default); 0, or 1 after a message. */
int cli_open_dev(struct cli *cli, struct azihsm_dev **dev);
/* A JSON string value with escapes; @len bytes of @val (any bytes). */
void cli_json_bytes(FILE *f, const uint8_t *val, size_t len);

/* cli-key.c: login, key generate|list|show|public|delete */
extern const struct subcommand cli_key_commands[];
extern const size_t cli_key_ncommands;
/* cli-ops.c: sign, verify, encrypt, decrypt, hmac, ecdh, derive, key unwrap, ... */
extern const struct subcommand cli_ops_commands[];
extern const size_t cli_ops_ncommands;

/* cli-backup.c: zeroize, backup create, backup restore */
extern const struct subcommand cli_backup_commands[];
extern const size_t cli_backup_ncommands;

/* cli-id.c: cert chain, key attest, verify-report */
extern const struct subcommand cli_id_commands[];
extern const size_t cli_id_ncommands;
/* cli-sd.c: sd activate|restore|backup-key|restore-key|info */
extern const struct subcommand cli_sd_commands[];
extern const size_t cli_sd_ncommands;
/* cli-trust.c: selftest, tamper log */
extern const struct subcommand cli_trust_commands[];
extern const size_t cli_trust_ncommands;

/* cli-crypto.c: crypto list, crypto priority (/proc/crypto, NETLINK_CRYPTO) */
extern const struct subcommand cli_crypto_commands[];
extern const size_t cli_crypto_ncommands;

/* cli-validate.c: validate (NIST vectors, Documentation/validation.md) */
extern const struct subcommand cli_validate_commands[];
extern const size_t cli_validate_ncommands;
/* cli-report.c: report (the compliance packet, Documentation/report.md) */
extern const struct subcommand cli_report_commands[];
extern const size_t cli_report_ncommands;
/* The command named @name ("info", "cert chain", ...), or NULL (azihsm-cli.c). */
const struct subcommand *cli_find_command(const char *name);
/* The name validate gives the libazihsm path: "device" (cli-dev.c), "fw" on the host. */
extern const char *const cli_dev_path;

/* One /proc/crypto entry. */
struct cli_crypto_alg {
	char name[128];		/* CRYPTO_MAX_ALG_NAME */
	char driver[128];
	char module[64];
	char type[32];
	char selftest[16];	/* "unknown" when the entry has no selftest line */
	uint32_t priority;
	bool has_priority;
	bool internal;
	int winner;		/* index of the entry the kernel selects for this name, or -1 */
};

/*
 * Parse /proc/crypto text: 0 with a malloc'ed array (free it), or -EINVAL
 * (with a message on stderr), -ENOMEM, -EIO. Marks the winners.
 */
int cli_crypto_parse(FILE *f, struct cli_crypto_alg **algs, size_t *n);
/* Set each entry's winner: highest priority of its name and kind, not internal. */
void cli_crypto_mark_winners(struct cli_crypto_alg *algs, size_t n);
/* "hash" for shash/ahash, "skcipher" for skcipher/lskcipher, else @type. */
const char *cli_crypto_kind(const char *type);
/* The driver name ends in _azihsm. */
bool cli_crypto_is_ours(const struct cli_crypto_alg *a);
/* /proc/crypto, or $AZIHSM_PROC_CRYPTO. */
const char *cli_crypto_proc_path(void);
/* CRYPTO_MSG_UPDATEALG: 0 or -errno (-EPROTONOSUPPORT: no crypto_user). */
int cli_crypto_set_priority(const char *driver, uint32_t priority);

#endif
