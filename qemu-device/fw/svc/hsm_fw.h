/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: executes one MBOR HSM request and writes the response.
 * Knows nothing of queues or DMA; hsm_io.c feeds it buffers.
 */
#ifndef HSM_FW_H
#define HSM_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hsm_fw;
struct hsm_auth;
struct hsm_auth_config;
struct hsm_boot_config;

#define HSM_FW_FAIL_PCT_EC	"pct-ec"
#define HSM_FW_FAIL_PCT_RSA	"pct-rsa"

struct hsm_fw_config {
	const char *serial;
	const char *fw_rev;
	const char *state_path;	/* sealed partition state; NULL: volatile */
	/*
	 * Identity (hsm_identity.h): the manufacturer root certificate (PEM
	 * file, "fused") and the device certificate's file (its request goes
	 * to DEVCERT.csr). NULL: no chain (NOT_PROVISIONED).
	 */
	const char *root_cert;
	const char *devcert;
	/* Clock and PBKDF2 count of hsm_auth (tests); NULL: the defaults. */
	const struct hsm_auth_config *auth;
	/*
	 * Secure boot (hsm_boot.h): image and fuses; NULL: unsigned boot. A
	 * refused image leaves the firmware in its error state, its stored
	 * state not opened.
	 */
	const struct hsm_boot_config *boot;
	/*
	 * Test only (device property `selftest-fail`): the self-test of this
	 * name (AZIHSM_SELFTEST_NAMES) fails at every run; or, for
	 * HSM_FW_FAIL_PCT_EC / _RSA, the pairwise consistency test of the next
	 * EC / RSA key pair generated after start (once). NULL: none.
	 */
	const char *selftest_fail;
	/*
	 * Asynchronous events, AER DW0 (hw.h: enum azihsm_aer_type | reason
	 * << 8 | tamper count << 16): the module entered its error state, or
	 * a tamper event. Called from any thread, no firmware lock held.
	 */
	void (*event)(void *ctx, uint32_t dw0);
	void *event_ctx;
	/* Test only: hsm_ctrl_config.fault_corrupt; NULL off, unknown: no firmware. */
	const char *fault_corrupt;
};

struct hsm_fw_cmd {
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_cap;
	size_t out_len;		/* set by hsm_fw_execute */
	uint8_t session_flags;	/* AZIHSM_SESS_* from the SQE */
	uint16_t session_id;
	/*
	 * The SQE's short_app_id (@50): must be the one the device gave the
	 * session the request names in header field 3, else NO_SESSION.
	 */
	uint16_t short_app_id;
	/*
	 * The HSM submission queue the command came on (1..AZIHSM_HSM_QUEUES_MAX;
	 * 0 for callers without queues): GetSessionEncryptionKey keeps one nonce
	 * table per queue.
	 */
	uint16_t sq_id;
	/*
	 * Set by hsm_fw_execute for the CQE: the SQE's op and in_session bits
	 * and session id echoed, except for OpenSession and OpenKernelSession
	 * (OP_OPEN, plus IN_SESSION | SHORT_APP_ID_VALID, the new id and its
	 * short_app_id on success, id 0 on failure) and CloseSession
	 * (OP_CLOSE, plus SAFE_TO_CLOSE on success). cqe_short_app_id is 0
	 * unless SHORT_APP_ID_VALID.
	 */
	uint8_t cqe_session_flags;
	uint16_t cqe_session_id;
	uint16_t cqe_short_app_id;
};

/* One service of the firmware's table (hsm_fw.c fw_ops). */
struct hsm_fw_service {
	uint32_t opcode;
	const char *name;	/* as the published interface names it */
	bool need_session;	/* header field 3 must name an open session */
	int cls;		/* enum hsm_auth_op the session needs; 0: none */
	bool fips_approved;	/* static response flag */
	bool allowed_in_error;
};

/*
 * Entry @i of the service table (for the role/service table test and the
 * documents): false past the end.
 */
bool hsm_fw_service_at(unsigned int i, struct hsm_fw_service *s);

struct hsm_fw *hsm_fw_new(const struct hsm_fw_config *cfg);
void hsm_fw_free(struct hsm_fw *fw);
/* Returns an AZIHSM_SC_* completion status; HSM status is in the response. */
uint16_t hsm_fw_execute(struct hsm_fw *fw, struct hsm_fw_cmd *cmd);
/*
 * Session file closed (SQE opc FLUSH_SESSION): closes the session and
 * drops its keys, if @short_app_id is the session's; otherwise nothing
 * happens (as for an id that is not open).
 */
void hsm_fw_flush_session(struct hsm_fw *fw, uint16_t session_id, uint16_t short_app_id);
/*
 * The kernel session alone is closed and its keys dropped (tests; every
 * reset closes all sessions with hsm_fw_reset_sessions).
 */
void hsm_fw_reset_kernel_session(struct hsm_fw *fw);
/*
 * Controller reset (CC.EN 1 -> 0, shutdown, NSSR) and PCI-level reset
 * (FLR, system reset): every session is closed and its
 * keys dropped, outstanding nonces are forgotten and the session
 * encryption key is replaced. Stored state is untouched.
 */
void hsm_fw_reset_sessions(struct hsm_fw *fw);
/*
 * Store the partition's persistent state now (masking key, persistent
 * keys, credentials and lockout state); returns once it is durable. Services that change persistent
 * state call it before they answer. 0, or -1 (the change is not stored).
 */
int hsm_fw_commit(struct hsm_fw *fw);
/* The partition's key vault (hsm_vault.h); lives as long as @fw. */
struct hsm_vault *hsm_fw_vault(struct hsm_fw *fw);
/*
 * @len bytes from the device's DRBG (the one GetRandom answers from), e.g.
 * a GCM IV drawn inside the module. 0, or -1: the DRBG failed, the output
 * is zeroed and the module is in its error state.
 */
int hsm_fw_random(struct hsm_fw *fw, void *out, size_t len);
/* The partition's credentials and sessions (hsm_auth.h); as long as @fw. */
struct hsm_auth *hsm_fw_auth(struct hsm_fw *fw);
/* The device's DRBG (GetRandom and key generation); as long as @fw. */
struct hsm_drbg *hsm_fw_drbg(struct hsm_fw *fw);
/*
 * The module is in its error state (failed self-test, or stored state that
 * could not be used): it answers GetApiRev and GetDeviceInfo only.
 */
bool hsm_fw_in_error_state(struct hsm_fw *fw);

/*
 * Enter the error state for @reason (enum azihsm_error_reason) with a short
 * @detail (e.g. "self-test aes-gcm"; NULL: none): from now on only the
 * services marked allowed_in_error answer, the AES fast path refuses, CSTS
 * shows AZIHSM_CSTS_ERR and the driver gets an async event. The first
 * reason is kept (a tamper event replaces any). Any thread.
 */
void hsm_fw_enter_error(struct hsm_fw *fw, unsigned int reason, const char *detail);
/* The reason (AZIHSM_ERR_NONE when not in error) and its detail into @detail. */
unsigned int hsm_fw_error_reason(struct hsm_fw *fw, char *detail, size_t cap);
/*
 * PCI-level reset / power cycle: the DRBG is instantiated anew and the
 * self-tests run again; if they pass, the error state is left, unless its
 * cause is still there (STATE: the stored state; INTEGRITY). Call with no
 * command running.
 */
void hsm_fw_restart(struct hsm_fw *fw);
/*
 * A tamper event from @sensor (enum azihsm_tamper_sensor; @value the
 * reading): at once the error state, then every key and both masking keys
 * zeroized, the credentials back to the defaults (every session closed),
 * the next zeroize epoch stored (nothing sealed before opens again: the
 * state file, masked blobs, sealed BK3), the event in the tamper log, and
 * an AZIHSM_AER_TAMPER event. Any thread.
 */
void hsm_fw_tamper(struct hsm_fw *fw, unsigned int sensor, int32_t value);
/* Tamper events ever (the log), and whether one happened since the last start/reset. */
uint32_t hsm_fw_tamper_count(struct hsm_fw *fw, bool *since_start);

/* hsm_drbg.c: CTR-DRBG (AES-256) with a continuous output test. */
struct hsm_drbg;
struct hsm_drbg *hsm_drbg_new(const char *personalization);
void hsm_drbg_free(struct hsm_drbg *d);
/* 0 on success; -1 on failure (the module then enters its error state). */
int hsm_drbg_generate(struct hsm_drbg *d, void *out, size_t len);
/*
 * Tests: make @d fail from now on, exactly as a failed continuous test or
 * a failed EVP_RAND_generate does (the failure is sticky).
 */
void hsm_drbg_set_failed(struct hsm_drbg *d);
/* Why @d failed (a constant string), or NULL while it works. */
const char *hsm_drbg_failure(struct hsm_drbg *d);
/* Start over after a reset: new CTR-DRBG, health tests restarted. 0 or -1. */
int hsm_drbg_reinit(struct hsm_drbg *d);
/* Reseed now from the noise source (health-tested). 0 or -1 (failed). */
int hsm_drbg_reseed(struct hsm_drbg *d);
/* Tests: the noise source (NULL: the host's getrandom). 0 or -1. */
typedef int (*hsm_drbg_noise_fn)(void *ctx, uint8_t *buf, size_t len);
void hsm_drbg_set_noise(struct hsm_drbg *d, hsm_drbg_noise_fn fn, void *ctx);

#endif /* HSM_FW_H */
