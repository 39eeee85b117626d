// SPDX-License-Identifier: MIT
/* Host tests as the manufacturer (test_pki.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_pki.h"

static bool pki_tmp;

int test_pki_init(struct test_pki *p, const char *dir, const char *devcert,
		  struct hsm_fw_config *cfg)
{
	char cmd[1024];

	memset(p, 0, sizeof(*p));
	if (dir) {
		snprintf(p->dir, sizeof(p->dir), "%s", dir);
	} else {
		snprintf(p->dir, sizeof(p->dir), "/tmp/azihsm-pki.XXXXXX");
		if (!mkdtemp(p->dir))
			return -1;
		pki_tmp = true;
	}
	snprintf(p->root, sizeof(p->root), "%s/root.pem", p->dir);
	snprintf(p->devcert, sizeof(p->devcert), "%s", devcert ? devcert : p->dir);
	if (!devcert)
		strncat(p->devcert, "/devcert.pem", sizeof(p->devcert) - strlen(p->devcert) - 1);
	snprintf(cmd, sizeof(cmd), "%s/root.key", p->dir);
	/* One root per directory: made once (a CLI test runs many processes). */
	if (access(cmd, R_OK) || access(p->root, R_OK)) {
		snprintf(cmd, sizeof(cmd), "'%s/scripts/mkpki' root '%s' >/dev/null 2>&1",
			 TOP_DIR, p->dir);
		if (system(cmd))
			return -1;
	}
	setenv("AZIHSM_ROOT_CA", p->root, 1);
	cfg->root_cert = p->root;
	cfg->devcert = p->devcert;
	return 0;
}

int test_pki_sign(struct test_pki *p)
{
	char cmd[2048], csr[320];

	snprintf(csr, sizeof(csr), "%s.csr", p->devcert);
	if (access(csr, F_OK))
		return 0;	/* the device holds a valid certificate */
	snprintf(cmd, sizeof(cmd), "'%s/scripts/mkpki' sign '%s' '%s' '%s' >/dev/null 2>&1",
		 TOP_DIR, csr, p->devcert, p->dir);
	if (system(cmd))
		return -1;
	return unlink(csr) ? -1 : 0;
}

struct hsm_fw *test_pki_fw_new(struct test_pki *p, const struct hsm_fw_config *cfg)
{
	struct hsm_fw *fw = hsm_fw_new(cfg);

	if (fw && test_pki_sign(p)) {
		hsm_fw_free(fw);
		return NULL;
	}
	return fw;
}

void test_pki_done(struct test_pki *p)
{
	char cmd[512];

	if (!pki_tmp)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", p->dir);
}
