/* SPDX-License-Identifier: MIT */
/*
 * Test-vector files for `azihsm validate`: NIST CAVP response files (.rsp,
 * "NAME = value" lines in blank-line separated blocks under "[...]"
 * sections) and ACVP JSON vector sets (internalProjection.json: testGroups
 * of tests). Both come out as the same flat records of (name, value)
 * strings, so one runner serves either format.
 */
#ifndef AZIHSM_VECTORS_H
#define AZIHSM_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vec_field {
	char *name;
	char *val;
};

/*
 * One test case. CAVP: the section's "[A = B]" values (and "[ENCRYPT]"-like
 * words as a field with an empty value, "[P-256,SHA-256]" as "_section"),
 * the fields of earlier blocks in the section that did not hold a test
 * (e.g. RSA "n", "e", "d"), then the test's own fields; a bare word line
 * ("FAIL") is a field with an empty value. ACVP: the file's "algorithm",
 * "mode", "revision", the group's scalar fields, then the test's; booleans
 * "true"/"false", numbers in decimal. A later field of the same name wins.
 */
struct vec_rec {
	struct vec_field *f;
	size_t n, cap;
	unsigned int line;	/* CAVP: line of the block; ACVP: tcId */
};

/* The value of @name, or NULL. */
const char *vec_get(const struct vec_rec *r, const char *name);
/* CAVP names are matched case-insensitively too (Key / KEY). */
const char *vec_get_ci(const struct vec_rec *r, const char *name);

/*
 * Decode hex @hex (upper or lower case, even length, may be empty) into a
 * malloc'ed buffer *out (at least 1 byte) of *len bytes; -EINVAL / -ENOMEM.
 */
int vec_hex(const char *hex, uint8_t **out, size_t *len);

/*
 * Call @cb for each test case of @path (.json: ACVP, else CAVP). CAVP: a
 * block is a test when it has the field @trigger (case-insensitive). @cb
 * returns 0 to go on, non-zero to stop (returned). -errno on a file that
 * does not open or parse (a message on stderr).
 */
typedef int (*vec_cb)(const struct vec_rec *r, void *arg);
int vec_parse_file(const char *path, const char *trigger, vec_cb cb, void *arg);

#endif
