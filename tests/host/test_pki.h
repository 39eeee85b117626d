/* SPDX-License-Identifier: MIT */
/*
 * The manufacturer's side for host tests that talk to a firmware core
 * through libazihsm (which sends no PIN to a device whose identity does
 * not chain to the root it trusts): scripts/mkpki makes a root, the test
 * trusts it (AZIHSM_ROOT_CA) and signs the device's request as the factory
 * does. test_pki.c; needs TOP_DIR.
 */
#ifndef AZIHSM_TEST_PKI_H
#define AZIHSM_TEST_PKI_H

#include <stddef.h>

#include "hsm_fw.h"

struct test_pki {
	char dir[256];		/* the PKI directory (root.key, root.pem) */
	char root[300];		/* dir/root.pem */
	char devcert[300];	/* the device certificate's file */
};

/*
 * Make (if missing) a root in @dir (NULL: a new temporary directory,
 * removed by test_pki_done), trust it, and name the device certificate
 * @devcert (NULL: dir/devcert.pem); fill @cfg's root_cert and devcert.
 * 0 or -1.
 */
int test_pki_init(struct test_pki *p, const char *dir, const char *devcert,
		  struct hsm_fw_config *cfg);
/* The factory: sign the request the device wrote (if any) and remove it. 0 or -1. */
int test_pki_sign(struct test_pki *p);
/* hsm_fw_new with @cfg, then the factory: a provisioned device (NULL on failure). */
struct hsm_fw *test_pki_fw_new(struct test_pki *p, const struct hsm_fw_config *cfg);
void test_pki_done(struct test_pki *p);

#endif
