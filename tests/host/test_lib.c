// SPDX-License-Identifier: MIT
/*
 * libazihsm on the host: its requests run through the real firmware
 * (hsm_fw_execute) and its parsers read the real answers; argument and
 * error handling that needs no device.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "azihsm/azihsm.h"
#include "hsm_fw.h"
#include "internal.h"
#include "proto.h"
#include "tap.h"

static int run(struct hsm_fw *fw, const uint8_t *req, size_t len, uint8_t *rsp, size_t cap,
	       size_t *rlen)
{
	struct hsm_fw_cmd cmd = { .in = req, .in_len = len, .out = rsp, .out_cap = cap };
	int sc = hsm_fw_execute(fw, &cmd);

	*rlen = cmd.out_len;
	return sc;
}

/* A P-384 certificate for @cn with @key, signed by @issuer/@ikey (NULL: itself). */
static X509 *mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, bool ca)
{
	X509 *c = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	static long serial;

	if (!c)
		return NULL;
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), ++serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(issuer ? issuer : c));
	X509_set_pubkey(c, key);
	X509V3_set_ctx(&v3, issuer ? issuer : c, c, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(c, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
				  ca ? "critical,keyCertSign,digitalSignature" :
				       "critical,digitalSignature");
	X509_add_ext(c, ext, -1);
	X509_EXTENSION_free(ext);
	if (!X509_sign(c, ikey ? ikey : key, EVP_sha384())) {
		X509_free(c);
		return NULL;
	}
	return c;
}

/*
 * Red team 3 (rt2's leftover): the chain check accepted the device
 * certificate as the partition certificate (and any certificate the root
 * signed directly, or a CA under the device): exactly root -> device ->
 * partition, a non-CA leaf.
 */
static void test_chain_exact(void)
{
	EVP_PKEY *k[5];
	X509 *root, *dev, *part, *part_ca, *direct;
	int i;

	for (i = 0; i < 5; i++)
		k[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	root = mk_cert("test root", k[0], NULL, NULL, true);
	dev = mk_cert("azihsm device T1", k[1], root, k[0], true);
	part = mk_cert("partition", k[2], dev, k[1], false);
	part_ca = mk_cert("partition CA", k[3], dev, k[1], true);
	direct = mk_cert("partition from the root", k[4], root, k[0], false);
	tap_ok(root && dev && part && part_ca && direct, "chain: test certificates made");
	tap_ok(lib_chain_ok(root, dev, part), "chain: root -> device -> partition accepted");
	tap_ok(!lib_chain_ok(root, dev, dev), "chain: the device certificate as the leaf refused");
	tap_ok(!lib_chain_ok(root, dev, direct), "chain: a leaf the root signed directly refused");
	tap_ok(!lib_chain_ok(root, dev, part_ca), "chain: a CA leaf under the device refused");
	tap_ok(!lib_chain_ok(root, dev, root), "chain: the root as the leaf refused");
	X509_free(root);
	X509_free(dev);
	X509_free(part);
	X509_free(part_ca);
	X509_free(direct);
	for (i = 0; i < 5; i++)
		EVP_PKEY_free(k[i]);
}

int main(void)
{
	const struct hsm_fw_config cfg = { .serial = "LIBTEST-7", .fw_rev = "2.0.1" };
	struct hsm_fw *fw = hsm_fw_new(&cfg);
	uint8_t req[64], rsp[8192], a[100], b[100];
	struct azihsm_rev min, max;
	struct proto_devinfo di;
	struct azihsm_dev *dev;
	struct mbor_dec d;
	uint32_t st;
	size_t len, rlen;

	if (!fw) {
		printf("Bail out! firmware did not start\n");
		return 1;
	}
	len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_API_REV);
	tap_ok(len > 0 && !run(fw, req, len, rsp, sizeof(rsp), &rlen), "api rev request runs");
	tap_eq(proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_API_REV, &st), 0, "api rev header");
	tap_ok(!proto_parse_api_rev(&d, &min, &max) && min.major == 1 && max.major == 1 &&
	       max.minor == 0, "api rev parsed: 1.0");
	tap_eq(proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st), -EPROTO,
	       "answer to another opcode is a protocol error");

	len = proto_req_empty(req, sizeof(req), AZIHSM_OP_GET_DEVICE_INFO);
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	tap_ok(!proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_DEVICE_INFO, &st) &&
	       !proto_parse_devinfo(&d, &di), "device info parsed");
	tap_ok(!strcmp(di.serial, "LIBTEST-7") && !strcmp(di.fw_rev, "2.0.1") && di.kind == 1,
	       "device info: serial, fw-rev, kind");

	len = proto_req_random(req, sizeof(req), 100);
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	tap_ok(!proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st) &&
	       !proto_parse_random(&d, a, 100), "100 random bytes");
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st);
	tap_eq(proto_parse_random(&d, b, 99), -EPROTO, "length mismatch is a protocol error");
	tap_ok(memcmp(a, b, sizeof(a)) != 0, "random answers differ");

	len = proto_req_random(req, sizeof(req), 0);
	run(fw, req, len, rsp, sizeof(rsp), &rlen);
	tap_eq(proto_rsp_begin(&d, rsp, rlen, AZIHSM_OP_GET_RANDOM, &st), -EIO,
	       "device refusal surfaces as -EIO");
	tap_eq(st, AZIHSM_STATUS_INVALID_ARG, "with the HSM status");

	tap_eq(proto_rsp_begin(&d, (const uint8_t *)"\xa1\x18", 2, 1002, &st), -EPROTO,
	       "truncated answer is a protocol error");
	tap_eq(proto_req_empty(req, 4, AZIHSM_OP_GET_API_REV), 0, "request into 4 bytes refused");

	tap_eq(azihsm_open("/nonexistent/azihsm9", &dev), -ENOENT, "open missing node: -ENOENT");
	tap_ok(dev == NULL, "no handle on failure");
	tap_eq(azihsm_open("/dev/null", &dev), -ENOTTY, "open /dev/null: -ENOTTY (not ours)");
	tap_eq(azihsm_command(NULL, req, 1, rsp, 1), -EINVAL, "command without device");
	tap_eq(azihsm_random(NULL, NULL, 4), -EINVAL, "random into NULL");
	tap_ok(strstr(azihsm_strerror(-ETIMEDOUT), "timed out") != NULL, "strerror(-ETIMEDOUT)");
	tap_ok(!strcmp(azihsm_status_str((struct azihsm_last_status){
		AZIHSM_STATUS_KIND_HSM, AZIHSM_STATUS_MALFORMED }), "MALFORMED"),
	       "status_str of an HSM status");
	tap_ok(!strcmp(azihsm_status_str((struct azihsm_last_status){
		AZIHSM_STATUS_KIND_COMPLETION, 0x004 }), "DATA_XFER_ERROR"),
	       "status_str of a completion status");
	test_chain_exact();
	hsm_fw_free(fw);
	return tap_done();
}
