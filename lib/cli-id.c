// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: identity and attestation (Documentation/library.md).
 *
 *   azihsm cert chain --out DIR [--json]
 *   azihsm key attest (--label L | --id N) [--nonce HEX] --out FILE [--json]
 *   azihsm verify-report --chain DIR --report FILE [--nonce HEX] [--root FILE] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli-sess.h"

static const char *const cert_names[AZIHSM_CERT_CHAIN_LEN] = { "root", "device", "partition" };

/* @hex (even length, at most @cap bytes) into @out; -1 if malformed. */
static int parse_hex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex), i;
	unsigned int b;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1 || !strchr("0123456789abcdefABCDEF",
								   hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)b;
	}
	*len = n / 2;
	return 0;
}

static int write_pem(const struct cli *cli, const char *path, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *c = d2i_X509(NULL, &p, (long)len);
	FILE *f;
	int ok;

	if (!c) {
		fprintf(stderr, "%s %s: the device sent a certificate that does not parse\n",
			cli->prog, cli->cmd);
		return 1;
	}
	f = fopen(path, "w");
	ok = f && PEM_write_X509(f, c);
	if (f && fclose(f))
		ok = 0;
	X509_free(c);
	if (!ok) {
		fprintf(stderr, "%s %s: %s: %s\n", cli->prog, cli->cmd, path, strerror(errno));
		return 1;
	}
	return 0;
}

static int cmd_cert_chain(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t der[AZIHSM_CERT_MAX], digest[48], fp[AZIHSM_DEVICE_FP_LEN];
	char path[4096], serial[AZIHSM_DEVICE_SERIAL_MAX + 1];
	const char *dir = NULL;
	struct azihsm_dev *dev;
	uint32_t count = 0, i;
	bool json = false;
	size_t len;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c == 'o')
			dir = optarg;
		else if (c == 'j')
			json = true;
		else
			return 2;
	}
	if (!dir || optind != argc)
		return usage_err(cli, "needs --out DIR and nothing else", NULL);
	if (cli_open_dev(cli, &dev))
		return 1;
	ret = azihsm_cert_chain_info(dev, &count, digest);
	if (ret) {
		azihsm_close(dev);
		return cli_fail(cli, "GetCertChainInfo", ret);
	}
	if (count != AZIHSM_CERT_CHAIN_LEN) {
		azihsm_close(dev);
		fprintf(stderr, "%s %s: the device has %u certificates, expected %u\n", cli->prog,
			cli->cmd, count, AZIHSM_CERT_CHAIN_LEN);
		return 1;
	}
	for (i = 0; i < count && !ret; i++) {
		ret = azihsm_get_certificate(dev, i, der, sizeof(der), &len);
		if (ret) {
			ret = cli_fail(cli, "GetCertificate", ret);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s.pem", dir, cert_names[i]);
		ret = write_pem(cli, path, der, len);
	}
	if (!ret) {
		ret = azihsm_device_identity(dev, serial, fp);
		if (ret)
			ret = cli_fail(cli, "device certificate", ret);
	}
	azihsm_close(dev);
	if (ret)
		return ret;
	if (json) {
		printf("{\n  \"count\": %u,\n  \"digest\": ", count);
		json_hex(stdout, digest, sizeof(digest));
		printf(",\n  \"files\": [");
		for (i = 0; i < count; i++) {
			snprintf(path, sizeof(path), "%s/%s.pem", dir, cert_names[i]);
			printf("%s", i ? ", " : "");
			cli_json_bytes(stdout, (const uint8_t *)path, strlen(path));
		}
		printf("],\n  \"device_serial\": ");
		cli_json_bytes(stdout, (const uint8_t *)serial, strlen(serial));
		printf(",\n  \"device_fingerprint\": ");
		json_hex(stdout, fp, sizeof(fp));
		printf("\n}\n");
	} else {
		for (i = 0; i < count; i++)
			printf("%s/%s.pem\n", dir, cert_names[i]);
		printf("# device %s, certificate SHA-256 ", serial);
		for (i = 0; i < sizeof(fp); i++)
			printf("%02x", fp[i]);
		printf(" (sd restore --expect-device)\n");
	}
	return 0;
}

static int cmd_key_attest(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "nonce", required_argument, NULL, OPT_NONCE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },);
	uint8_t nonce[AZIHSM_REPORT_DATA_MAX_LEN], report[AZIHSM_REPORT_MAX_LEN];
	size_t nlen = 0, rlen = 0;
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (o.nonce && parse_hex(o.nonce, nonce, sizeof(nonce), &nlen))
		return usage_err(cli, "--nonce must be hex, at most 128 bytes", o.nonce);
	if (!o.out)
		return usage_err(cli, "needs --out FILE", NULL);
	if (sess_begin(cli, &o, &x, &id))
		return 1;
	ret = azihsm_key_attest(x.sess, id, nonce, nlen, report, sizeof(report), &rlen);
	ret = sess_end(cli, &x, ret, "AttestKey");
	if (ret || write_all(cli, o.out, report, rlen))
		return ret ? ret : 1;
	if (o.json) {
		printf("{\n  \"key_id\": %u,\n  \"report\": ", id);
		cli_json_bytes(stdout, (const uint8_t *)o.out, strlen(o.out));
		printf(",\n  \"length\": %zu\n}\n", rlen);
	}
	return 0;
}

static const char *verify_why(int err)
{
	switch (err) {
	case -EBADMSG:
		return "not a well-formed attestation report";
	case -ENOKEY:
		return "the certificates do not chain to the trusted root";
	case -EKEYREJECTED:
		return "the signature does not verify (changed report, or another device's)";
	case -ESTALE:
		return "the report data is not the expected nonce";
	}
	return azihsm_strerror(err);
}

static int cmd_verify_report(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "chain", required_argument, NULL, 'c' },
		{ "report", required_argument, NULL, 'r' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *chain = NULL, *file = NULL, *nonce_hex = NULL, *root = NULL;
	uint8_t nonce[AZIHSM_REPORT_DATA_MAX_LEN], *rep = NULL;
	char dev_pem[4096], part_pem[4096];
	struct azihsm_report r;
	size_t nlen = 0, rlen = 0;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': chain = optarg; break;
		case 'r': file = optarg; break;
		case 'n': nonce_hex = optarg; break;
		case 't': root = optarg; break;
		case 'j': json = true; break;
		default: return 2;
		}
	}
	if (!chain || !file || optind != argc)
		return usage_err(cli, "needs --chain DIR and --report FILE", NULL);
	if (nonce_hex && parse_hex(nonce_hex, nonce, sizeof(nonce), &nlen))
		return usage_err(cli, "--nonce must be hex, at most 128 bytes", nonce_hex);
	if (read_all(cli, file, AZIHSM_REPORT_MAX_LEN, &rep, &rlen))
		return 1;
	snprintf(dev_pem, sizeof(dev_pem), "%s/device.pem", chain);
	snprintf(part_pem, sizeof(part_pem), "%s/partition.pem", chain);
	ret = azihsm_report_verify(rep, rlen, root, dev_pem, part_pem,
				   nonce_hex ? nonce : NULL, nlen, &r);
	free(rep);
	if (ret) {
		fprintf(stderr, "%s %s: REFUSED: %s\n", cli->prog, cli->cmd, verify_why(ret));
		return 1;
	}
	if (json) {
		printf("{\n  \"verified\": true,\n  \"root\": ");
		root = root ? root : azihsm_trusted_root();
		cli_json_bytes(stdout, (const uint8_t *)root, strlen(root));
		printf(",\n  \"serial\": ");
		cli_json_bytes(stdout, (const uint8_t *)r.serial, strlen(r.serial));
		printf(",\n  \"key_type\": \"%s\",\n  \"usage\": %u,\n  \"persistent\": %s,\n"
		       "  \"generated\": %s,\n  \"origin\": %u,\n  \"extractable\": %s,\n"
		       "  \"public_key\": ", type_name(r.key_type), r.usage,
		       r.persistent ? "true" : "false", r.generated ? "true" : "false", r.origin,
		       r.extractable ? "true" : "false");
		json_hex(stdout, r.public_der, r.public_der_len);
		printf(",\n  \"report_data\": ");
		json_hex(stdout, r.data, r.data_len);
		printf(",\n  \"nonce_checked\": %s,\n  \"measurement\": ",
		       nonce_hex ? "true" : "false");
		json_hex(stdout, r.measurement, sizeof(r.measurement));
		printf(",\n  \"svn\": %u\n}\n", r.svn);
		return 0;
	}
	printf("report verified (chain to %s)\n", root ? root : azihsm_trusted_root());
	printf("  device serial: %s\n  key type:      %s\n  usage:         0x%x\n"
	       "  persistent:    %s\n  generated:     %s\n  origin:        0x%x\n"
	       "  extractable:   %s\n  nonce:         %s\n  svn:           %u\n",
	       r.serial, type_name(r.key_type), r.usage, r.persistent ? "yes" : "no",
	       r.generated ? "yes" : "no", r.origin, r.extractable ? "yes" : "no",
	       nonce_hex ? "checked" : "not checked", r.svn);
	printf("  measurement:   ");
	for (size_t i = 0; i < sizeof(r.measurement); i++)
		printf("%02x", r.measurement[i]);
	printf("\n");
	return 0;
}

const struct subcommand cli_id_commands[] = {
	{ "cert chain", "cert chain --out DIR [--json]",
	  "Write the device's certificate chain as PEM files DIR/root.pem, device.pem and\n"
	  "partition.pem (the manufacturer root, the device, the partition: the key that\n"
	  "signs attestation reports). Check it with\n"
	  "  openssl verify -CAfile ROOT -untrusted DIR/device.pem DIR/partition.pem\n"
	  "where ROOT is the root you trust (not the device's copy).\n",
	  cmd_cert_chain },
	{ "key attest", "key attest (--label L | --id N) [--nonce HEX] --out FILE [--json]",
	  "Write an attestation report (COSE_Sign1, ES384, signed by the partition key) on\n"
	  "the key: its public part, attributes, the nonce (report data, <= 128 bytes) and\n"
	  "the firmware measurement. EC and RSA keys.\n" CRED_HELP
	  "  --label L / --id N   the key\n"
	  "  --nonce HEX          report data (a verifier's fresh nonce)\n"
	  "  --out FILE           the report\n",
	  cmd_key_attest },
	{ "verify-report", "verify-report --chain DIR --report FILE [--nonce HEX] [--root FILE] [--json]",
	  "Verify a report offline with OpenSSL: DIR/device.pem and DIR/partition.pem\n"
	  "chain to the trusted root (--root FILE, else $AZIHSM_ROOT_CA, else\n"
	  AZIHSM_ROOT_CA_DEFAULT "), the partition key's signature checks and, with\n"
	  "--nonce, the report data is that nonce. Prints the claims; exit 1 if refused.\n",
	  cmd_verify_report },
};

const size_t cli_id_ncommands = ARRAY_LEN(cli_id_commands);
