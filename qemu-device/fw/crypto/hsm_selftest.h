/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: the cryptographic algorithm self-tests (CASTs) run at
 * power-on, at every PCI-level reset and on demand (SelfTest 4060), one per
 * algorithm family (enum azihsm_selftest_id), each against known answers
 * from published vectors (hsm_selftest_kat.h). Design:
 * Documentation/hsm-design.md "Self-tests and the error state".
 */
#ifndef HSM_SELFTEST_H
#define HSM_SELFTEST_H

#include <stdint.h>

#include "azihsm/msg.h"

struct hsm_selftest_report {
	unsigned int n;				/* tests run (in id order) */
	uint8_t id[AZIHSM_ST_COUNT];		/* enum azihsm_selftest_id */
	uint8_t result[AZIHSM_ST_COUNT];	/* enum azihsm_selftest_outcome */
};

/* enum azihsm_selftest_id of @name (AZIHSM_SELFTEST_NAMES), 0 if none. */
int hsm_selftest_id(const char *name);
/* The name of self-test @id, "?" if none. */
const char *hsm_selftest_name(int id);

struct hsm_boot_state;

/*
 * Run every self-test into @rep. @fail_id (test only, the device's
 * `selftest-fail` property; 0: none) makes that test's result differ from
 * its known answer, so the failure path is the real comparison. @boot: the
 * device's boot record, re-checked by the integrity test (NULL: its code
 * half only). Returns 0 when every test passed (NOT_RUN counts as passed),
 * else the id of the first that failed.
 */
int hsm_selftest_run(int fail_id, const struct hsm_boot_state *boot,
		     struct hsm_selftest_report *rep);

#endif /* HSM_SELFTEST_H */
