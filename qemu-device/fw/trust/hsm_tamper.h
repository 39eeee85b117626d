/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tamper log: every tamper event (sensor, reading, time, sequence
 * number) and the total count, kept in FILE.tamper beside the state file
 * (the device's `state` property; in memory only without one), so it
 * survives restarts and the zeroize the event itself causes.
 *
 * FILE.tamper (little-endian): magic "AZHSMTL1" (8), version u32 (1), total
 * count u32, entries n u32 (<= AZIHSM_TAMPER_LOG_MAX, the last ones),
 * n entries of AZIHSM_TAMPER_ENTRY_LEN bytes (msg.h TamperLog layout),
 * SHA-256 of everything before it (32: catches a damaged file, not a
 * forged one: the host is trusted with the files as with FILE.nv).
 * Written to FILE.tamper.tmp, fsync'ed and renamed over FILE.tamper.
 */
#ifndef HSM_TAMPER_H
#define HSM_TAMPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azihsm/msg.h"

struct hsm_tamper_entry {
	uint8_t sensor;		/* enum azihsm_tamper_sensor */
	int32_t value;		/* the reading that tripped it */
	uint64_t time;		/* unix seconds */
	uint32_t seq;		/* 1 for the first event ever */
};

struct hsm_tamper_log {
	char *path;		/* NULL: in memory only */
	uint32_t count;		/* events ever */
	unsigned int n;
	struct hsm_tamper_entry e[AZIHSM_TAMPER_LOG_MAX];
	bool damaged;		/* the file existed but did not read back */
};

/*
 * Load the log of state file @state_path (NULL: in memory). A missing file
 * is an empty log; a damaged one is reported (damaged) and kept until the
 * next event rewrites it. 0, or -1 without memory.
 */
int hsm_tamper_log_open(struct hsm_tamper_log *l, const char *state_path);
void hsm_tamper_log_close(struct hsm_tamper_log *l);
/* Append one event and store the log durably: 0, or -1 (kept in memory). */
int hsm_tamper_log_add(struct hsm_tamper_log *l, uint8_t sensor, int32_t value);
/* The entries in the TamperLog wire layout (n * AZIHSM_TAMPER_ENTRY_LEN bytes). */
void hsm_tamper_log_encode(const struct hsm_tamper_log *l, uint8_t *out);

#endif /* HSM_TAMPER_H */
