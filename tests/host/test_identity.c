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

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "azihsm/cbor.h"
#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_boot.h"
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

/* ---- AttestKey ------------------------------------------------------------ */

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"officer new PIN!";

/* A provisioned volatile device: its leaf key in *@leaf. */
static struct hsm_fw *provisioned(const char *name, EVP_PKEY **leaf)
{
	char pki[128], root[160], devcert[128];
	struct hsm_fw *fw;
	X509 *c[3];

	path(pki, sizeof(pki), "pki");
	snprintf(root, sizeof(root), "%s/root.pem", pki);
	path(devcert, sizeof(devcert), name);
	fw = start(NULL, root, devcert);
	if (!fw || factory(devcert, pki) || get_chain(fw, c)) {
		hsm_fw_free(fw);
		return NULL;
	}
	*leaf = X509_get_pubkey(c[2]);
	free_chain(c);
	return fw;
}

static long attest(struct hsm_fw *fw, int sid, uint16_t id, const void *data, size_t dlen,
		   uint8_t *out, size_t *olen)
{
	const struct fld f[] = {
		U16(AZIHSM_ATTEST_F_KEY_ID, id),
		BYTES(AZIHSM_ATTEST_F_REPORT_DATA, data, dlen),
	};
	uint8_t req[1024];
	size_t len = svc_build(req, sizeof(req), AZIHSM_OP_ATTEST_KEY, sid, f, data ? 2 : 1);
	struct rsp r;
	long st = rsp_exec(fw, req, len, 0, &r);

	if (!st && out)
		*olen = rsp_copy(&r, AZIHSM_ATTEST_F_REPORT, out, AZIHSM_REPORT_MAX);
	return st;
}

/*
 * Check a COSE_Sign1 report with OpenSSL: the structure, alg ES384, the
 * signature of the Sig_structure by @leaf. *@pl / *@plen: the payload.
 */
static int check_report(const uint8_t *rep, size_t len, EVP_PKEY *leaf, const uint8_t **pl,
			size_t *plen)
{
	static const uint8_t prot_want[] = { 0xa1, 0x01, 0x38, 0x22 };
	const uint8_t *prot, *sig;
	size_t prot_len, sig_len, tlen;
	uint8_t tbs[4096];
	unsigned char *der = NULL;
	struct cbor_dec d;
	struct cbor_enc e;
	ECDSA_SIG *es;
	EVP_MD_CTX *md;
	uint64_t v;
	int dlen, ok;

	cbor_dec_init(&d, rep, len);
	if (cbor_dec_tag(&d, &v) || v != 18 || cbor_dec_array(&d, &v) || v != 4 ||
	    cbor_dec_bytes(&d, &prot, &prot_len) || cbor_dec_map(&d, &v) || v ||
	    cbor_dec_bytes(&d, pl, plen) || cbor_dec_bytes(&d, &sig, &sig_len) ||
	    cbor_dec_finish(&d) || prot_len != 4 || memcmp(prot, prot_want, 4) || sig_len != 96)
		return -1;
	cbor_enc_init(&e, tbs, sizeof(tbs));
	cbor_enc_array(&e, 4);
	cbor_enc_text(&e, "Signature1");
	cbor_enc_bytes(&e, prot, prot_len);
	cbor_enc_bytes(&e, NULL, 0);
	cbor_enc_bytes(&e, *pl, *plen);
	if (cbor_enc_finish(&e, &tlen))
		return -1;
	es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL));
	dlen = i2d_ECDSA_SIG(es, &der);
	md = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, leaf) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)dlen, tbs, tlen) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok ? 0 : -2;
}

static bool es384_ok(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t *sig)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int dlen;
	bool ok;

	ECDSA_SIG_set0(es, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL));
	dlen = i2d_ECDSA_SIG(es, &der);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

/* Payload field @key (a uint key of the top map) as a decoder positioned at it. */
static int payload_field(const uint8_t *pl, size_t plen, uint64_t key, struct cbor_dec *d)
{
	uint64_t n, i, k;

	cbor_dec_init(d, pl, plen);
	if (cbor_dec_map(d, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (cbor_dec_uint(d, &k))
			return -1;
		if (k == key)
			return 0;
		if (cbor_dec_skip(d))
			return -1;
	}
	return -1;
}

static void test_attest(void)
{
	uint8_t rep[AZIHSM_REPORT_MAX], rep2[AZIHSM_REPORT_MAX], big[AZIHSM_REPORT_DATA_MAX + 1];
	static const uint8_t nonce[] = "fresh nonce 0123456789abcdef";
	EVP_PKEY *leaf = NULL, *leaf2 = NULL;
	struct hsm_fw *fw, *fw2;
	const uint8_t *pl, *b;
	size_t len = 0, len2 = 0, plen, blen;
	struct cbor_dec d;
	uint16_t ec = 0, rsa = 0, aes = 0;
	long sid, sid2;
	struct rsp r;
	bool flag;
	uint64_t v;

	fw = provisioned("a.pem", &leaf);
	fw2 = provisioned("b.pem", &leaf2);
	if (!tap_ok(fw && fw2 && leaf && leaf2, "two provisioned devices"))
		return;
	sid = svc_login(fw, HSM_ROLE_OFFICER, OFF_ID,
			(const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN);
	tap_eq(attest(fw, (int)sid, 1, NULL, 0, NULL, NULL), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "AttestKey in a must-change session: MUST_CHANGE_PIN");
	tap_eq(svc_change_pin(fw, (uint16_t)sid, HSM_ROLE_OFFICER, OFF_ID,
			      (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN, OFF_PIN1), 0,
	       "officer changes the PIN");
	sid = svc_login(fw, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN1);
	tap_ok(sid > 0, "officer session");
	{
		const struct fld g1[] = { U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_EC_P384),
					  U32(AZIHSM_KEY_F_USAGE, AZIHSM_USAGE_SIGN),
					  BYTES(AZIHSM_KEY_F_LABEL, "att-ec", 6),
					  BOOL(AZIHSM_KEY_F_PERSISTENT, true) };
		const struct fld g2[] = { U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_RSA2048),
					  U32(AZIHSM_KEY_F_USAGE, AZIHSM_USAGE_DECRYPT),
					  BOOL(AZIHSM_KEY_F_PERSISTENT, false) };
		const struct fld g3[] = { U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_AES256),
					  U32(AZIHSM_KEY_F_USAGE, AZIHSM_USAGE_ENCRYPT),
					  BOOL(AZIHSM_KEY_F_PERSISTENT, false) };
		uint8_t req[512];
		size_t n;

		n = svc_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, (int)sid, g1, NF(g1));
		if (!rsp_exec(fw, req, n, 0, &r))
			ec = (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
		n = svc_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, (int)sid, g2, NF(g2));
		if (!rsp_exec(fw, req, n, 0, &r))
			rsa = (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
		n = svc_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, (int)sid, g3, NF(g3));
		if (!rsp_exec(fw, req, n, 0, &r))
			aes = (uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);
	}
	tap_ok(ec && rsa && aes, "EC P-384 (persistent), RSA-2048 and AES keys");

	tap_eq(attest(fw, (int)sid, ec, nonce, sizeof(nonce), rep, &len), 0, "AttestKey EC");
	tap_eq(check_report(rep, len, leaf, &pl, &plen), 0,
	       "the report is a COSE_Sign1 ES384 the partition key signed");
	tap_ok(payload_field(pl, plen, AZIHSM_REPORT_K_DATA, &d) == 0 &&
	       !cbor_dec_bytes(&d, &b, &blen) && blen == sizeof(nonce) &&
	       !memcmp(b, nonce, blen), "it carries the nonce");
	tap_ok(payload_field(pl, plen, AZIHSM_REPORT_K_MEASUREMENT, &d) == 0 &&
	       !cbor_dec_bytes(&d, &b, &blen) && blen == 48, "and the measurement");
	{
		uint8_t m[48];
		uint32_t svn;

		memcpy(m, hsm_boot_measurement(fw), sizeof(m));
		svn = hsm_boot_svn(fw);
		tap_ok(blen == 48 && !memcmp(b, m, 48) && svn == hsm_boot_svn(fw),
		       "the one secure boot measured (and the certificate carries)");
	}
	{
		/* COSE_Key x || y = KeyPublic's point. */
		uint8_t der[1024], pt[97];
		const unsigned char *p = der;
		const uint8_t *x = NULL, *y = NULL;
		size_t xl = 0, yl = 0, ptl = 0, n;
		EVP_PKEY *pk;
		uint64_t cnt, i;
		int64_t k, kty = 0, crv = 0;
		const struct fld f[] = { U16(AZIHSM_KEY_F_ID, ec) };
		uint8_t req[64];

		n = svc_build(req, sizeof(req), AZIHSM_OP_KEY_PUBLIC, (int)sid, f, 1);
		n = rsp_exec(fw, req, n, 0, &r) ? 0 : rsp_copy(&r, AZIHSM_KEY_F_DER, der, sizeof(der));
		pk = d2i_PUBKEY(NULL, &p, (long)n);
		if (pk)
			EVP_PKEY_get_octet_string_param(pk, "pub", pt, sizeof(pt), &ptl);
		EVP_PKEY_free(pk);
		if (!payload_field(pl, plen, AZIHSM_REPORT_K_KEY, &d) && !cbor_dec_map(&d, &cnt))
			for (i = 0; i < cnt && !cbor_dec_int(&d, &k); i++) {
				if (k == 1)
					cbor_dec_int(&d, &kty);
				else if (k == -1)
					cbor_dec_int(&d, &crv);
				else if (k == -2)
					cbor_dec_bytes(&d, &x, &xl);
				else if (k == -3)
					cbor_dec_bytes(&d, &y, &yl);
			}
		tap_ok(kty == 2 && crv == 2 && ptl == 97 && xl == 48 && yl == 48 &&
		       !memcmp(pt + 1, x, 48) && !memcmp(pt + 49, y, 48),
		       "COSE_Key: EC2 P-384 with the key's public point");
	}
	tap_ok(payload_field(pl, plen, AZIHSM_REPORT_K_ATTRS, &d) == 0, "attributes present");
	{
		uint64_t cnt, i, k;
		uint64_t type = 0, usage = 0;
		bool pers = false, gen = false, extr = true;

		if (!cbor_dec_map(&d, &cnt))
			for (i = 0; i < cnt && !cbor_dec_uint(&d, &k); i++) {
				if (k == AZIHSM_REPORT_A_TYPE)
					cbor_dec_uint(&d, &type);
				else if (k == AZIHSM_REPORT_A_USAGE)
					cbor_dec_uint(&d, &usage);
				else if (k == AZIHSM_REPORT_A_PERSISTENT)
					cbor_dec_bool(&d, &pers);
				else if (k == AZIHSM_REPORT_A_GENERATED)
					cbor_dec_bool(&d, &gen);
				else if (k == AZIHSM_REPORT_A_EXTRACTABLE)
					cbor_dec_bool(&d, &extr);
				else
					cbor_dec_skip(&d);
			}
		tap_ok(type == AZIHSM_KEY_EC_P384 && usage == AZIHSM_USAGE_SIGN && pers && gen &&
		       !extr, "attributes: EC P-384, sign, persistent, generated, not extractable");
	}
	/* Every byte of the report is covered: flip some, each is refused. */
	{
		size_t off;
		int bad = 0, n = 0;

		for (off = 8; off < len; off += 7) {
			memcpy(rep2, rep, len);
			rep2[off] ^= 0x04;
			n++;
			if (check_report(rep2, len, leaf, &pl, &plen) == 0)
				bad++;
		}
		tap_eq(bad, 0, "%d reports with a flipped byte: none verifies", n);
	}
	/* The session key is signed by the partition key (msg.h). */
	{
		uint8_t msg[512], sig[96];
		const uint8_t *pub, *nn, *sg;
		size_t pl2, nl, sl, c = strlen(AZIHSM_SESS_SIG_CONTEXT);

		tap_eq(call0(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r), 0,
		       "GetSessionEncryptionKey");
		flag = !rsp_bytes(&r, AZIHSM_SESS_DEVICE_PUB, &pub, &pl2) &&
		       !rsp_bytes(&r, AZIHSM_SESS_NONCE, &nn, &nl) &&
		       !rsp_bytes(&r, AZIHSM_SESS_PUB_SIG, &sg, &sl) && sl == 96 &&
		       c + pl2 + nl <= sizeof(msg);
		tap_ok(flag, "it carries a 96-byte signature (field 3)");
		if (flag) {
			memcpy(msg, AZIHSM_SESS_SIG_CONTEXT, c);
			memcpy(msg + c, pub, pl2);
			memcpy(msg + c + pl2, nn, nl);
			memcpy(sig, sg, 96);
			tap_ok(es384_ok(leaf, msg, c + pl2 + nl, sig),
			       "the partition key's ES384 over context || key || nonce");
			msg[c + 30] ^= 1;
			tap_ok(!es384_ok(leaf, msg, c + pl2 + nl, sig),
			       "and not over another key");
			msg[c + 30] ^= 1;
			tap_ok(!es384_ok(leaf2, msg, c + pl2 + nl, sig),
			       "nor by another device's partition key");
		}
		struct hsm_fw *bare = start(NULL, NULL, NULL);

		tap_eq(call0(bare, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r), 0,
		       "an unprovisioned device answers GetSessionEncryptionKey");
		tap_ok(rsp_bytes(&r, AZIHSM_SESS_PUB_SIG, &sg, &sl) != 0, "without a signature");
		hsm_fw_free(bare);
	}
	tap_eq(attest(fw2, NOSESS, ec, nonce, sizeof(nonce), NULL, NULL), AZIHSM_STATUS_NO_SESSION,
	       "AttestKey without a session: NO_SESSION");
	tap_ok(check_report(rep, len, leaf2, &pl, &plen) != 0,
	       "another device's partition key does not verify the report");
	flag = attest(fw, (int)sid, rsa, NULL, 0, rep2, &len2) == 0 &&
	       check_report(rep2, len2, leaf, &pl, &plen) == 0;
	tap_ok(flag, "AttestKey RSA without report data verifies");
	tap_ok(flag && !payload_field(pl, plen, AZIHSM_REPORT_K_DATA, &d) &&
	       !cbor_dec_bytes(&d, &b, &blen) && blen == 0, "its report data is empty");
	tap_ok(flag && !payload_field(pl, plen, AZIHSM_REPORT_K_KEY, &d) && !cbor_dec_map(&d, &v) &&
	       v == 3, "COSE_Key RSA: kty, n, e");
	tap_eq(attest(fw, (int)sid, aes, NULL, 0, NULL, NULL), AZIHSM_STATUS_KEY_TYPE,
	       "AttestKey of an AES key: KEY_TYPE");
	memset(big, 0x5a, sizeof(big));
	tap_eq(attest(fw, (int)sid, ec, big, sizeof(big), NULL, NULL), AZIHSM_STATUS_INVALID_ARG,
	       "129 bytes of report data: INVALID_ARG");
	tap_eq(attest(fw, (int)sid, ec, big, AZIHSM_REPORT_DATA_MAX, rep2, &len2), 0,
	       "128 bytes of report data");
	tap_eq(attest(fw, (int)sid, 0x7777, NULL, 0, NULL, NULL), AZIHSM_STATUS_KEY_NOT_FOUND,
	       "AttestKey of no key: KEY_NOT_FOUND");
	/* Another session's session key is not the officer's to attest. */
	sid2 = svc_login(fw, HSM_ROLE_USER, (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID,
			 (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN);
	tap_ok(sid2 > 0, "a user session (must change PIN)");
	tap_eq(attest(fw, (int)sid2, ec, NULL, 0, NULL, NULL), AZIHSM_STATUS_MUST_CHANGE_PIN,
	       "the user on the default PIN may not attest");
	{
		struct hsm_fw *bare = start(NULL, NULL, NULL);
		long s3 = svc_login(bare, HSM_ROLE_OFFICER, OFF_ID,
				    (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN);

		svc_change_pin(bare, (uint16_t)s3, HSM_ROLE_OFFICER, OFF_ID,
			       (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN, OFF_PIN1);
		s3 = svc_login(bare, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN1);
		{
			const struct fld g[] = { U8(AZIHSM_KEY_F_TYPE, AZIHSM_KEY_EC_P256),
						 U32(AZIHSM_KEY_F_USAGE, AZIHSM_USAGE_SIGN),
						 BOOL(AZIHSM_KEY_F_PERSISTENT, false) };
			uint8_t req[256];
			size_t n = svc_build(req, sizeof(req), AZIHSM_OP_KEY_GENERATE, (int)s3, g,
					     NF(g));
			uint16_t k = rsp_exec(bare, req, n, 0, &r) ? 0 :
				(uint16_t)rsp_u16(&r, AZIHSM_KEY_F_ID);

			tap_eq(attest(bare, (int)s3, k, NULL, 0, NULL, NULL),
			       AZIHSM_STATUS_NOT_PROVISIONED,
			       "a device without a certificate: AttestKey NOT_PROVISIONED");
		}
		hsm_fw_free(bare);
	}
	EVP_PKEY_free(leaf);
	EVP_PKEY_free(leaf2);
	hsm_fw_free(fw);
	hsm_fw_free(fw2);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/azihsm-id.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_chain();
	test_attest();
	sh("rm -rf '%s'%s%s", dir, "", "");
	return tap_done();
}
