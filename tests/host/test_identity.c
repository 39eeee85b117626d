// SPDX-License-Identifier: MIT
/*
 * Device identity (issue 10, section 1): the firmware core makes its
 * identity, writes a request the factory (scripts/mkpki, the real script,
 * holding the root key outside the device) signs, takes only a device
 * certificate for its own key from its own root, and answers the chain
 * Root -> Device -> Partition, which OpenSSL verifies (and refuses after
 * a flipped byte). With a state file the identity lasts across restarts;
 * another state file is another device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "azihsm/msg.h"
#include "hsm_fw.h"
#include "hsm_identity.h"
#include "svc_util.h"
#include "tap.h"

static char dir[64];

static void path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int sh(const char *fmt, const char *a, const char *b, const char *c)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b, c);
	return system(cmd);
}

/* The factory: sign DEVCERT.csr with the root in @pki into DEVCERT. */
static int factory(const char *devcert, const char *pki)
{
	char csr[256];

	snprintf(csr, sizeof(csr), "%s.csr", devcert);
	return sh(TOP_DIR "/scripts/mkpki sign '%s' '%s' '%s' >/dev/null 2>&1", csr, devcert,
		  pki);
}

static struct hsm_fw *start(const char *state, const char *root, const char *devcert)
{
	const struct hsm_fw_config cfg = { .serial = "ID-1", .fw_rev = "1", .state_path = state,
					   .root_cert = root, .devcert = devcert };

	return hsm_fw_new(&cfg);
}

static long get_cert(struct hsm_fw *fw, uint32_t index, uint8_t *der, size_t *len)
{
	struct rq q;
	struct rsp r;
	struct mbor_enc *e = rq_begin(&q, AZIHSM_OP_GET_CERTIFICATE, NOSESS);
	long st;

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_CERT_F_INDEX);
	mbor_enc_u32(e, index);
	st = rq_send(fw, &q, &r);
	if (!st)
		*len = rsp_copy(&r, AZIHSM_CERT_F_DER, der, HSM_ID_CERT_MAX);
	return st;
}

/* The chain as three X509 (NULL on any failure). */
static int get_chain(struct hsm_fw *fw, X509 *c[3])
{
	uint8_t der[HSM_ID_CERT_MAX];
	const unsigned char *p;
	size_t len = 0;
	int i;

	for (i = 0; i < 3; i++) {
		c[i] = NULL;
		if (get_cert(fw, (uint32_t)i, der, &len) || !len)
			return -1;
		p = der;
		c[i] = d2i_X509(NULL, &p, (long)len);
		if (!c[i])
			return -1;
	}
	return 0;
}

static void free_chain(X509 *c[3])
{
	for (int i = 0; i < 3; i++)
		X509_free(c[i]);
}

static X509 *read_pem(const char *p)
{
	FILE *f = fopen(p, "r");
	X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return c;
}

/* openssl verify -CAfile @root -untrusted device partition, in C. */
static int verify(X509 *root, X509 *dev, X509 *leaf)
{
	X509_STORE *s = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *un = sk_X509_new_null();
	int ok = 0;

	if (s && ctx && un && X509_STORE_add_cert(s, root) && sk_X509_push(un, dev) &&
	    X509_STORE_CTX_init(ctx, s, leaf, un))
		ok = X509_verify_cert(ctx) == 1;
	sk_X509_free(un);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(s);
	return ok;
}

/* A copy of @c with byte @off of its DER flipped (NULL if it no longer parses). */
static X509 *flipped(X509 *c, int off)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len = i2d_X509(c, &der);
	X509 *out = NULL;

	if (len > off) {
		der[off] ^= 0x01;
		p = der;
		out = d2i_X509(NULL, &p, len);
	}
	OPENSSL_free(der);
	return out;
}

static void test_chain(void)
{
	char pki[128], pki2[128], root[160], root2[160], devcert[128], state[128], csr[160];
	struct hsm_fw *fw;
	struct rsp r;
	X509 *c[3], *trust, *bad;
	struct stat sb;
	int i;

	path(pki, sizeof(pki), "pki");
	path(pki2, sizeof(pki2), "pki2");
	snprintf(root, sizeof(root), "%s/root.pem", pki);
	snprintf(root2, sizeof(root2), "%s/root.pem", pki2);
	path(devcert, sizeof(devcert), "dev.pem");
	path(state, sizeof(state), "state");
	snprintf(csr, sizeof(csr), "%s.csr", devcert);
	tap_eq(sh(TOP_DIR "/scripts/mkpki root '%s' >/dev/null%s%s", pki, "", ""), 0,
	       "mkpki root makes the manufacturer root");
	tap_eq(sh(TOP_DIR "/scripts/mkpki root '%s' >/dev/null%s%s", pki2, "", ""), 0,
	       "and another build's root");

	/* Without a root: no chain. */
	fw = start(NULL, NULL, NULL);
	tap_eq(call0(fw, AZIHSM_OP_GET_CERT_CHAIN_INFO, NOSESS, &r), AZIHSM_STATUS_NOT_PROVISIONED,
	       "no root certificate: GetCertChainInfo NOT_PROVISIONED");
	hsm_fw_free(fw);

	fw = start(state, root, devcert);
	tap_ok(fw, "device with a state file, root and devcert starts");
	tap_ok(stat(csr, &sb) == 0 && sb.st_size > 0, "it wrote its certificate request");
	tap_eq(call0(fw, AZIHSM_OP_GET_CERT_CHAIN_INFO, NOSESS, &r), AZIHSM_STATUS_NOT_PROVISIONED,
	       "before the factory signed: NOT_PROVISIONED");

	/* A certificate from another root is not taken. */
	tap_eq(factory(devcert, pki2), 0, "another root signs the request");
	tap_eq(call0(fw, AZIHSM_OP_GET_CERT_CHAIN_INFO, NOSESS, &r), AZIHSM_STATUS_NOT_PROVISIONED,
	       "a device certificate from another root is refused");
	tap_eq(factory(devcert, pki), 0, "the factory signs the request");
	tap_eq(call0(fw, AZIHSM_OP_GET_CERT_CHAIN_INFO, NOSESS, &r), 0, "GetCertChainInfo");
	tap_ok(get_chain(fw, c) == 0, "GetCertificate 0, 1, 2");
	{
		uint8_t der[HSM_ID_CERT_MAX];
		size_t len;

		tap_eq(get_cert(fw, 3, der, &len), AZIHSM_STATUS_INVALID_ARG,
		       "GetCertificate 3: INVALID_ARG");
	}
	trust = read_pem(root);
	tap_ok(trust && c[0] && !X509_cmp(trust, c[0]), "certificate 0 is the build's root");
	tap_ok(verify(trust, c[1], c[2]), "OpenSSL verifies root -> device -> partition");
	tap_eq(X509_check_ca(c[1]) > 0, 1, "the device certificate is a CA");
	tap_eq(X509_check_ca(c[2]), 0, "the partition certificate is not");
	tap_ok(X509_get_key_usage(c[2]) & KU_DIGITAL_SIGNATURE, "partition: digitalSignature");
	{
		ASN1_OBJECT *o = OBJ_txt2obj(HSM_ID_OID_MEASUREMENT, 1);

		tap_ok(X509_get_ext_by_OBJ(c[2], o, -1) >= 0,
		       "the partition certificate carries the measurement extension");
		ASN1_OBJECT_free(o);
	}
	/* A flipped byte anywhere in the signed part of any certificate. */
	for (i = 1; i < 3; i++) {
		int off = 40 + 97 * i;

		bad = flipped(c[i], off);
		tap_ok(!bad || !verify(trust, i == 1 ? bad : c[1], i == 2 ? bad : c[2]),
		       "certificate %d with byte %d flipped: refused", i, off);
		X509_free(bad);
	}
	bad = read_pem(root2);
	tap_ok(bad && !verify(bad, c[1], c[2]), "another root does not verify the chain");
	X509_free(bad);
	{
		X509 *again[3];

		hsm_fw_free(fw);
		fw = start(state, root, devcert);
		tap_ok(fw && get_chain(fw, again) == 0,
		       "restart with the same state: the device certificate is still valid");
		tap_ok(again[1] && !X509_cmp(again[1], c[1]), "same device certificate");
		tap_ok(again[2] && EVP_PKEY_eq(X509_get0_pubkey(again[2]),
					       X509_get0_pubkey(c[2])) == 1,
		       "same partition key");
		free_chain(again);
		hsm_fw_free(fw);
	}
	{
		char state2[128];

		path(state2, sizeof(state2), "state2");
		fw = start(state2, root, devcert);
		tap_eq(call0(fw, AZIHSM_OP_GET_CERT_CHAIN_INFO, NOSESS, &r),
		       AZIHSM_STATUS_NOT_PROVISIONED,
		       "another device (state file) does not take this device's certificate");
		hsm_fw_free(fw);
	}
	X509_free(trust);
	free_chain(c);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/azihsm-id.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_chain();
	sh("rm -rf '%s'%s%s", dir, "", "");
	return tap_done();
}
