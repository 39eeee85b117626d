/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: roles, credentials, PIN lockout and sessions of one
 * partition.
 *
 * Two roles, Crypto Officer and Crypto User, each with one credential
 * (id[16] + pin[16]). The officer manages the user's credential
 * (hsm_auth_reset_user, hsm_auth_unlock_user). A fresh partition has the documented default
 * credentials below, flagged must-change: a session opened with them may
 * only change its PIN. Stored PINs are PBKDF2-HMAC-SHA256 hashes with a
 * per-credential random salt. Credentials arrive sealed to the device's
 * ephemeral ECDH P-384 key under a single-use nonce (hsm_auth_client.h).
 * After three consecutive failures of a role, each further attempt must
 * wait 2^(failures-3) seconds after the last failure, at most
 * HSM_AUTH_DELAY_MAX_S; after HSM_AUTH_MAX_FAILURES the Crypto User is
 * locked for good (PIN_LOCKED) until the officer's UnlockUser or
 * ResetUserCredential. The officer is never locked for good (nobody could
 * unlock it; issue 9, RT-5): it keeps waiting, at most one attempt per
 * HSM_AUTH_DELAY_MAX_S. New PINs must pass the PIN policy (hsm_auth_pin_weak).
 * At most HSM_AUTH_MAX_SESSIONS sessions are open at once, the last free one
 * kept for the officer (HSM_AUTH_OFFICER_SLOTS), at most
 * HSM_AUTH_RESTRICTED_MAX of them restricted (must-change) per role (issue
 * 9, RT-4: nobody keeps the officer out by filling the table), plus at most
 * one kernel session (role HSM_ROLE_KERNEL: the driver's own, opened
 * without a credential, not counted among them). Session ids are random
 * and each session has a random short_app_id, which its holder sends with
 * every request naming it (hsm_auth_session_held).
 *
 * The persistent part (credentials, lockout state) goes into the partition
 * image with hsm_auth_serialize(); sessions, nonces and the device key do
 * not persist. Byte layout: the top of hsm_auth.c and the "Sessions and
 * roles" section of Documentation/hsm-design.md.
 *
 * Plain C + OpenSSL 3, no QEMU types; every function is thread-safe (one
 * mutex per partition). hsm_auth never touches the key vault: when a call
 * reports that sessions went away, the caller drops their keys
 * (hsm_vault_delete_owner).
 */
#ifndef HSM_AUTH_H
#define HSM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm_auth_client.h"

#define HSM_AUTH_MAX_SESSIONS	8
/* Free slots only an officer's OpenSession may take (issue 9, RT-4). */
#define HSM_AUTH_OFFICER_SLOTS	1
/* Restricted (must-change) sessions of one role open at once (issue 9, RT-4). */
#define HSM_AUTH_RESTRICTED_MAX	2
/* Sessions a reset can close: the partition's and the kernel session. */
#define HSM_AUTH_MAX_GONE	(HSM_AUTH_MAX_SESSIONS + 1)
#define HSM_AUTH_NONCES		16		/* outstanding nonces per queue */
/*
 * Nonce tables: one per HSM submission queue (ids 0..15; the device's HSM
 * SQs are 1..AZIHSM_HSM_QUEUES_MAX), so GetSessionEncryptionKey on one
 * queue never evicts a nonce handed out on another.
 */
#define HSM_AUTH_NONCE_QUEUES	16
#define HSM_AUTH_NONCE_TTL_MS	60000u		/* a nonce expires after 60 s */
#define HSM_AUTH_PBKDF2_ITER	10000u		/* default PBKDF2 iteration count */
#define HSM_AUTH_PBKDF2_MIN	1000u		/* accepted range in images and config */
#define HSM_AUTH_PBKDF2_MAX	10000000u
#define HSM_AUTH_SALT_LEN	16
#define HSM_AUTH_HASH_LEN	32
#define HSM_AUTH_FREE_TRIES	3		/* failures before delays start */
#define HSM_AUTH_DELAY_MAX_S	3600u		/* longest wait: one hour */
/*
 * Consecutive failures that lock the Crypto User for good (the waits before:
 * 1..64 s). The officer is never locked for good: its wait keeps growing up
 * to HSM_AUTH_DELAY_MAX_S (issue 9, RT-5).
 */
#define HSM_AUTH_MAX_FAILURES	10u
/* PIN policy: at least this many bytes before the trailing zero padding. */
#define HSM_AUTH_PIN_MIN	8

/* Default credentials of a fresh (or zeroized) partition: must be changed. */
#define HSM_AUTH_DEFAULT_OFFICER_ID	"azihsm-officer\0\0"
#define HSM_AUTH_DEFAULT_OFFICER_PIN	"CO-default-PIN-1"
#define HSM_AUTH_DEFAULT_USER_ID	"azihsm-user\0\0\0\0\0"
#define HSM_AUTH_DEFAULT_USER_PIN	"CU-default-PIN-1"

/* Status codes: 0 is success, every refusal has its own code. */
enum hsm_auth_status {
	HSM_AUTH_OK = 0,
	HSM_AUTH_INVALID_ARG,		/* NULL pointer, bad length, unknown op or role */
	HSM_AUTH_NO_SESSION,		/* no open session with that id */
	HSM_AUTH_WRONG_ROLE,		/* the session's role may not do this */
	HSM_AUTH_MUST_CHANGE_PIN,	/* default credentials: only ChangePin allowed */
	HSM_AUTH_BAD_NONCE,		/* nonce unknown, expired or already used */
	HSM_AUTH_BAD_PEER,		/* host key not a valid P-384 SPKI */
	HSM_AUTH_BAD_MESSAGE,		/* does not decrypt/authenticate, unknown role byte */
	HSM_AUTH_BAD_CREDENTIAL,	/* id or PIN wrong (a counted failure) */
	HSM_AUTH_LOCKED_OUT,		/* role waiting after failures (not checked) */
	HSM_AUTH_SESSIONS_FULL,		/* no slot for this role (see open_session) */
	HSM_AUTH_WEAK_PIN,		/* new PIN fails the PIN policy (hsm_auth_pin_weak) */
	HSM_AUTH_BUFFER_SMALL,		/* output too small, *len = needed */
	HSM_AUTH_BAD_IMAGE,		/* serialized image malformed */
	HSM_AUTH_BUSY,			/* deserialize while sessions are open */
	HSM_AUTH_CRYPTO,		/* OpenSSL failure */
	HSM_AUTH_NOMEM,
	HSM_AUTH_KERNEL_OPEN,		/* OpenKernelSession while one is open */
	HSM_AUTH_PIN_LOCKED,		/* user: HSM_AUTH_MAX_FAILURES reached, locked for good */
};

/*
 * Operation classes for hsm_auth_check(). Matrix (O = officer, U = user):
 *
 *   INFO            O U  read-only: device info, attributes, public keys, certs
 *   USE_KEY         O U  sign, verify, encrypt, decrypt, derive, unwrap with a key
 *   SESSION_KEYS    O U  generate / import / derive / unmask / delete keys owned
 *                        by the session itself (gone when it closes)
 *   MANAGE_KEYS     O    create, import, delete persistent (partition) keys
 *   BACKUP          O    masking key and BK3 (InitBk3, Get/SetSealedBk3), key export
 *   MANAGE_USERS    O    set or reset the Crypto User's credential
 *   ZEROIZE         O    zeroize the partition
 *   CHANGE_OWN_PIN  O U  the only class allowed while the role's credential
 *                        is the default (must-change)
 *   KERNEL_IMPORT       K  import raw key material as a session key (KeyImport)
 *   OWN_SESSION     O U K  act on the session itself (CloseSession); also
 *                        allowed while the credential must change
 *   RAW_KEY             K  unpadded private-key operations (RsaModExp):
 *                        the crypto API's own keys only (issue 9)
 *
 * The kernel role (K) may do INFO, USE_KEY, SESSION_KEYS, KERNEL_IMPORT and
 * OWN_SESSION; the firmware hides the persistent keys from it.
 */
enum hsm_auth_op {
	HSM_OP_INFO = 1,
	HSM_OP_USE_KEY,
	HSM_OP_SESSION_KEYS,
	HSM_OP_MANAGE_KEYS,
	HSM_OP_BACKUP,
	HSM_OP_MANAGE_USERS,
	HSM_OP_ZEROIZE,
	HSM_OP_CHANGE_OWN_PIN,
	HSM_OP_KERNEL_IMPORT,
	HSM_OP_OWN_SESSION,
	HSM_OP_RAW_KEY,
};
#define HSM_OP_FIRST	HSM_OP_INFO
#define HSM_OP_LAST	HSM_OP_RAW_KEY

/* Which clock hsm_auth asks for. */
enum hsm_auth_clock {
	HSM_AUTH_CLOCK_MONO,	/* nonce expiry: CLOCK_MONOTONIC */
	HSM_AUTH_CLOCK_REAL,	/* persisted lockout times: CLOCK_REALTIME */
};

struct hsm_auth_config {
	/*
	 * Milliseconds on @which; NULL = clock_gettime(CLOCK_MONOTONIC /
	 * CLOCK_REALTIME). Called with the partition lock held: it must not
	 * call back into hsm_auth.
	 */
	uint64_t (*clock)(void *ctx, enum hsm_auth_clock which);
	void *clock_ctx;
	/* PBKDF2 iterations for new PINs; 0 = HSM_AUTH_PBKDF2_ITER. */
	unsigned int pbkdf2_iter;
	/*
	 * 0 (the device): session ids are random. Non-zero, for the fuzzer
	 * only: ids count up from this value (skipping 0 and live ids), so
	 * its inputs can name a session. short_app_ids are random either way.
	 */
	uint16_t first_session_id;
};

struct hsm_auth;

/*
 * A partition with the default credentials, no failures, no sessions and a
 * fresh device key. @cfg may be NULL (defaults). NULL on failure (also for
 * a pbkdf2_iter outside HSM_AUTH_PBKDF2_MIN..MAX).
 */
struct hsm_auth *hsm_auth_new(const struct hsm_auth_config *cfg);
/* Cleanses and frees everything. */
void hsm_auth_free(struct hsm_auth *a);
const char *hsm_auth_strerror(int status);

/*
 * Partition reset: closes every session, the kernel session too (their ids
 * in @gone, which holds HSM_AUTH_MAX_GONE entries, count in *@n_gone; both
 * may be NULL),
 * forgets every nonce and makes a new device key. The persistent part is
 * kept.
 */
int hsm_auth_reset(struct hsm_auth *a, uint16_t *gone, unsigned int *n_gone);

/*
 * Zeroize: back to the default (must-change) credentials with fresh salts
 * and no failures, then as hsm_auth_reset().
 */
int hsm_auth_zeroize(struct hsm_auth *a, uint16_t *gone, unsigned int *n_gone);

/*
 * The device key (DER SPKI into @pub, *@pub_len; BUFFER_SMALL with the
 * size needed if @cap is too small, no nonce issued) and a fresh nonce,
 * outstanding for HSM_AUTH_NONCE_TTL_MS, asked on submission queue @queue
 * (< HSM_AUTH_NONCE_QUEUES, else INVALID_ARG). With HSM_AUTH_NONCES
 * outstanding from that queue, its one that expires first is forgotten to
 * make room; other queues' nonces are never touched. A nonce is accepted
 * whichever queue the message then comes on.
 */
int hsm_auth_session_key_q(struct hsm_auth *a, unsigned int queue, uint8_t *pub, size_t cap,
			   size_t *pub_len, uint8_t nonce[HSM_AUTH_NONCE_LEN]);
/* hsm_auth_session_key_q on queue 0. */
int hsm_auth_session_key(struct hsm_auth *a, uint8_t *pub, size_t cap, size_t *pub_len,
			 uint8_t nonce[HSM_AUTH_NONCE_LEN]);

/*
 * The PIN policy (issue 9), for a new PIN of @role whose credential id is
 * @id: true (weak) if it has fewer than HSM_AUTH_PIN_MIN bytes before its
 * trailing zero bytes (padding), is one byte repeated, is an ascending or
 * descending run (each byte the previous one +1 / -1, "12345678",
 * "hgfedcba"), or equals either role's default PIN, the default id of
 * either role or @id (all 16 bytes).
 */
bool hsm_auth_pin_weak(const uint8_t pin[HSM_AUTH_PIN_LEN], const uint8_t id[HSM_AUTH_ID_LEN]);

/*
 * OpenSession with a sealed HSM_AUTH_MSG_OPEN message. Checks, in order:
 * arguments and lengths (INVALID_ARG); the nonce is outstanding
 * (BAD_NONCE), and from here on it is consumed whatever the outcome; the
 * host key (BAD_PEER); decryption and tag (BAD_MESSAGE: not a PIN attempt,
 * not counted); the role byte (BAD_MESSAGE); a free session slot
 * (SESSIONS_FULL: none free, or the role is not the officer and only
 * HSM_AUTH_OFFICER_SLOTS are free, or the role's credential must change and
 * HSM_AUTH_RESTRICTED_MAX of its sessions are restricted; not counted);
 * the user locked for good (PIN_LOCKED) or the role's lockout
 * wait (LOCKED_OUT), both not checked, not counted; id and PIN
 * (BAD_CREDENTIAL, counted). Success resets the
 * role's failure counter and gives the new session's id and role.
 */
int hsm_auth_open_session(struct hsm_auth *a, const uint8_t *host_pub, size_t host_pub_len,
			  const uint8_t nonce[HSM_AUTH_NONCE_LEN], const uint8_t *ct,
			  size_t ct_len, const uint8_t tag[HSM_AUTH_TAG_LEN],
			  uint16_t *session_id, enum hsm_auth_role *role);

/*
 * ChangePin in session @session_id with a sealed HSM_AUTH_MSG_CHPIN
 * message carrying the current credential and the new PIN. Order:
 * arguments; the session exists (NO_SESSION, nonce not touched); nonce,
 * peer, decryption, role byte as for open; the message's role is the
 * session's (WRONG_ROLE, not counted); PIN_LOCKED / lockout; id and current
 * PIN (BAD_CREDENTIAL, counted); the new PIN differs from the current one
 * and passes hsm_auth_pin_weak (WEAK_PIN; the credential was right, so the
 * counter is reset). Success stores the new PIN with a fresh salt and
 * clears the must-change flag.
 */
int hsm_auth_change_pin(struct hsm_auth *a, uint16_t session_id, const uint8_t *host_pub,
			size_t host_pub_len, const uint8_t nonce[HSM_AUTH_NONCE_LEN],
			const uint8_t *ct, size_t ct_len, const uint8_t tag[HSM_AUTH_TAG_LEN]);

/*
 * ResetUserCredential in officer session @session_id with a sealed
 * HSM_AUTH_MSG_RESET message carrying the user's new credential (role byte
 * HSM_ROLE_USER, id, PIN). Order: arguments; the session exists
 * (NO_SESSION), is not restricted (MUST_CHANGE_PIN) and is an officer's
 * (WRONG_ROLE), the nonce not touched so far; nonce, peer, decryption and
 * role byte as for open; the target role is the user (WRONG_ROLE); the new
 * PIN passes hsm_auth_pin_weak with the new id (WEAK_PIN). Success stores the new id and
 * PIN with a fresh salt, flags them must-change and clears the user's
 * failure counter. The user's open sessions stay open.
 */
int hsm_auth_reset_user(struct hsm_auth *a, uint16_t session_id, const uint8_t *host_pub,
			size_t host_pub_len, const uint8_t nonce[HSM_AUTH_NONCE_LEN],
			const uint8_t *ct, size_t ct_len, const uint8_t tag[HSM_AUTH_TAG_LEN]);

/*
 * UnlockUser in officer session @session_id: the session checks as for
 * hsm_auth_reset_user, then the user's failure counter and last failure are
 * cleared (the PIN and must-change flag are kept). The persistent
 * generation moves only if there was something to clear.
 */
int hsm_auth_unlock_user(struct hsm_auth *a, uint16_t session_id);

/*
 * Open the kernel session: no credential, no nonce, does not take one of
 * the HSM_AUTH_MAX_SESSIONS slots. There is at most one: while it is open
 * another open is KERNEL_OPEN and changes nothing; it ends only by
 * hsm_auth_close_kernel (a controller reset), hsm_auth_reset, zeroize,
 * CloseSession or the flush. Gives its id and short_app_id.
 */
int hsm_auth_open_kernel(struct hsm_auth *a, uint16_t *session_id, uint16_t *app_id);
/* Close the kernel session; its id (0: there was none), for its keys. */
uint16_t hsm_auth_close_kernel(struct hsm_auth *a);

/* CloseSession: OK or NO_SESSION. The caller drops the session's keys. */
int hsm_auth_close_session(struct hsm_auth *a, uint16_t session_id);
/*
 * The SQE flush-session path (file closed): as close, but only by the
 * holder: @app_id must be the session's short_app_id, else NO_SESSION and
 * nothing changes.
 */
int hsm_auth_flush(struct hsm_auth *a, uint16_t session_id, uint16_t app_id);

/*
 * May session @session_id do @op? OK, NO_SESSION, INVALID_ARG (unknown
 * op), MUST_CHANGE_PIN (the session was opened with a must-change default
 * credential and has not changed the PIN itself, and @op is not
 * CHANGE_OWN_PIN), WRONG_ROLE. A PIN change in another session does not
 * lift the restriction: the session only ever proved the public default.
 */
int hsm_auth_check(struct hsm_auth *a, uint16_t session_id, enum hsm_auth_op op);
/*
 * The matrix itself, for the service table and its test: the roles that
 * may do @op as a mask of (1 << HSM_ROLE_*) (0 for an unknown op), and
 * whether a must-change session may. hsm_auth_check() decides with these.
 */
unsigned int hsm_auth_op_roles(enum hsm_auth_op op);
bool hsm_auth_op_while_must_change(enum hsm_auth_op op);
/* The class's name as the design document writes it ("USE_KEY"), or NULL. */
const char *hsm_auth_op_name(enum hsm_auth_op op);

/* Role of an open session (OK) or NO_SESSION. */
int hsm_auth_session_role(struct hsm_auth *a, uint16_t session_id, enum hsm_auth_role *role);
/*
 * Does the sender hold session @session_id, i.e. name it with its
 * short_app_id @app_id? OK (and its role in @role, which may be NULL) or
 * NO_SESSION: a wrong @app_id is answered exactly like a closed session.
 */
int hsm_auth_session_held(struct hsm_auth *a, uint16_t session_id, uint16_t app_id,
			  enum hsm_auth_role *role);
/* The short_app_id of an open session (OK) or NO_SESSION. */
int hsm_auth_session_app_id(struct hsm_auth *a, uint16_t session_id, uint16_t *app_id);
/* Open partition sessions (the kernel session is not counted). */
unsigned int hsm_auth_session_count(struct hsm_auth *a);

/*
 * Lockout state of @role: consecutive failures and the milliseconds still
 * to wait before the next attempt is checked (0: may try now; UINT64_MAX:
 * the user locked for good, HSM_AUTH_MAX_FAILURES reached; never for the
 * officer).
 */
int hsm_auth_lockout(struct hsm_auth *a, enum hsm_auth_role role, uint32_t *failures,
		     uint64_t *wait_ms);
/* Must @role still change its (default) PIN? */
bool hsm_auth_must_change(struct hsm_auth *a, enum hsm_auth_role role);

/*
 * Bumped every time the persistent part changes (a failure counted, a
 * counter reset, a PIN changed or reset, an unlock, zeroize, a lockout
 * time moved because the real-time clock went back). The firmware commits the partition image
 * when it changed, before answering the command, so a failure counted is
 * never lost to a restart.
 */
uint64_t hsm_auth_persist_gen(struct hsm_auth *a);

/*
 * The persistent part as a byte image allocated here (free it with
 * hsm_auth_image_free, which cleanses it).
 */
int hsm_auth_serialize(struct hsm_auth *a, uint8_t **image, size_t *len);
void hsm_auth_image_free(uint8_t *image, size_t len);
/*
 * Replace the persistent part with @image. BUSY while sessions are open;
 * a malformed image is BAD_IMAGE and changes nothing.
 */
int hsm_auth_deserialize(struct hsm_auth *a, const uint8_t *image, size_t len);
/*
 * Put back a persistent part taken with hsm_auth_serialize while sessions
 * stay open: the undo of a change that could not be stored.
 */
int hsm_auth_restore(struct hsm_auth *a, const uint8_t *image, size_t len);

#endif /* HSM_AUTH_H */
