/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: THE rule "may session S use key K for operation O".
 * Every path that uses a key asks it: the control-path services (before
 * the work, and again on the borrowed key inside hsm_vault_with_key) and
 * the AES fast path (hsm_aes.c). Documentation/hsm-design.md, "Sessions
 * and roles" -> "Using a key".
 *
 * Plain C, no QEMU types; thread-safe (it reads hsm_auth under its lock).
 */
#ifndef HSM_AUTHZ_H
#define HSM_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "hsm_auth.h"
#include "hsm_vault.h"

/* Why a use is refused, in the order the checks run. */
enum hsm_authz_status {
	HSM_AUTHZ_OK = 0,
	HSM_AUTHZ_NO_SESSION,		/* session not open */
	HSM_AUTHZ_MUST_CHANGE_PIN,	/* opened with a default credential */
	HSM_AUTHZ_WRONG_ROLE,		/* its role may not USE_KEY, or not make
					 * a new key from a persistent one */
	HSM_AUTHZ_NOT_VISIBLE,		/* not its key: as if it did not exist */
	HSM_AUTHZ_USAGE,		/* the key lacks a usage bit of @need */
};

/* What the rule looks at of a key (from hsm_key_attr or hsm_key_ref). */
struct hsm_authz_key {
	uint16_t owner;			/* 0: persistent, else its session */
	enum hsm_key_type type;
	uint32_t usage;			/* HSM_USAGE_* */
	uint8_t origin;			/* HSM_ORIGIN_* */
};

static inline struct hsm_authz_key hsm_authz_of_attr(const struct hsm_key_attr *a)
{
	return (struct hsm_authz_key){ a->owner, a->type, a->usage, a->origin };
}

static inline struct hsm_authz_key hsm_authz_of_ref(const struct hsm_key_ref *r)
{
	return (struct hsm_authz_key){ r->owner, r->type, r->usage, r->origin };
}

/*
 * Does session @sid (of role @role) see keys of @owner? Its own session
 * keys, and the persistent keys unless it is the kernel session.
 */
bool hsm_authz_visible(uint16_t sid, enum hsm_auth_role role, uint16_t owner);

/*
 * AttestKey asks the rule with no usage bit: a report tells the public
 * part and attributes of any key the session may use, whatever its usage.
 */
#define HSM_AUTHZ_ATTEST_USAGE	0u

/* Usage bits of the operations whose result is a new key (derive, unwrap). */
#define HSM_AUTHZ_NEW_KEY_USAGE	(HSM_USAGE_DERIVE | HSM_USAGE_UNWRAP)

/*
 * May session @sid use @key for an operation that needs the usage bits
 * @need (HSM_USAGE_*: ENCRYPT, DECRYPT, SIGN, ...)? In this order: the
 * session is open (NO_SESSION), not restricted to ChangePin
 * (MUST_CHANGE_PIN), its role may USE_KEY (WRONG_ROLE), the key is visible
 * to it (NOT_VISIBLE), a persistent key used to make a new key (@need has
 * a bit of HSM_AUTHZ_NEW_KEY_USAGE) needs a role of the MANAGE_KEYS class
 * (WRONG_ROLE), the key has every bit of @need (USAGE).
 */
enum hsm_authz_status hsm_authz_use_key(struct hsm_auth *a, uint16_t sid,
					const struct hsm_authz_key *key, uint32_t need);

#endif /* HSM_AUTHZ_H */
