// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes as an HSM request to the firmware
 * (the code the device runs for every HSM SQE), with a response buffer
 * whose size is also fuzzed. Checks the firmware's own contract: it never
 * writes past out_cap, and every successful completion carries a
 * response that decodes. Session 1 is open (officer, PIN changed), so
 * requests naming it reach the key services; when an input closes it the
 * firmware is started afresh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_auth_client.h"
#include "hsm_fw.h"
#include "hsm_sd.h"
#include "svc_util.h"

static struct hsm_fw *fw;
static uint16_t app;	/* session 1's short_app_id: the fuzzer is its holder */

static int seal_msg(struct hsm_auth *a, enum hsm_auth_msg_kind kind, const char *pin,
		const char *new_pin, uint8_t *nonce, struct hsm_auth_sealed *m)
{
	uint8_t pub[HSM_AUTH_PUB_MAX];
	size_t len;

	if (hsm_auth_session_key(a, pub, sizeof(pub), &len, nonce))
		return -1;
	return hsm_auth_client_seal(pub, len, nonce, kind, HSM_ROLE_OFFICER,
				    (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID,
				    (const uint8_t *)pin, (const uint8_t *)new_pin, m);
}

/* A fresh volatile firmware with officer session 1 open and unrestricted. */
static void start(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000, .first_session_id = 1 };
	const struct hsm_fw_config cfg = { .serial = "FUZZ", .fw_rev = "0", .auth = &acfg };
	const char *pin1 = "fuzz officer PIN";
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed m;
	enum hsm_auth_role role;
	struct hsm_auth *a;
	uint16_t sid = 0;

	hsm_fw_free(fw);
	fw = hsm_fw_new(&cfg);
	if (!fw)
		abort();
	a = hsm_fw_auth(fw);
	if (seal_msg(a, HSM_AUTH_MSG_OPEN, HSM_AUTH_DEFAULT_OFFICER_PIN, NULL, nonce, &m) ||
	    hsm_auth_open_session(a, m.host_pub, m.host_pub_len, nonce, m.ct, m.ct_len, m.tag,
				  &sid, &role) || sid != 1 ||
	    seal_msg(a, HSM_AUTH_MSG_CHPIN, HSM_AUTH_DEFAULT_OFFICER_PIN, pin1, nonce, &m) ||
	    hsm_auth_change_pin(a, sid, m.host_pub, m.host_pub_len, nonce, m.ct, m.ct_len,
				m.tag) ||
	    hsm_auth_session_app_id(a, sid, &app))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AZIHSM_HSM_BUF_MAX + 16];
	struct hsm_fw_cmd cmd = { 0 };
	enum hsm_auth_role role;
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	bool has_data;
	size_t cap;
	uint16_t sc;

	if (!fw || hsm_auth_session_role(hsm_fw_auth(fw), 1, &role))
		start();
	if (size < 2)
		return 0;
	cap = 1 + ((data[0] | (size_t)data[1] << 8) % AZIHSM_HSM_BUF_MAX);
	memset(out, 0xcc, sizeof(out));
	cmd.in = data + 2;
	cmd.in_len = size - 2;
	cmd.out = out;
	cmd.out_cap = cap;
	cmd.short_app_id = app;
	sc = hsm_fw_execute(fw, &cmd);
	for (size_t i = cap; i < sizeof(out); i++)
		if (out[i] != 0xcc)
			abort();	/* wrote past out_cap */
	if (sc == AZIHSM_SC_SUCCESS) {
		if (cmd.out_len > cap)
			abort();
		mbor_dec_init(&d, out, cmd.out_len);
		if (azihsm_msg_parse_response(&d, &h, &has_data))
			abort();	/* answered with something undecodable */
	}
	return 0;
}

/*
 * Seeds for the services seeds.sh's printf lines do not reach, written
 * by AZIHSM_FUZZ_SEEDS=DIR fuzz_fw (then it exits): the security domain
 * (SdActivate with three real RSA-2048 owner keys, SdExchangeKey,
 * SdUpload, SdBackupKey, SdRestoreKey, SdInfo), AttestKey, the certificate
 * chain, the tamper log and the self-tests, all in session 1.
 */
static void seed_put(const char *dir, const char *name, uint32_t op, const struct fld *f,
		     unsigned int n)
{
	static uint8_t buf[AZIHSM_HSM_BUF_MAX + 2];
	size_t len = svc_build(buf + 2, sizeof(buf) - 2, op, 1, f, n);
	char fn[512];
	FILE *fp;

	if (!len)
		abort();
	buf[0] = 0x00;	/* response capacity 0x1000 */
	buf[1] = 0x10;
	snprintf(fn, sizeof(fn), "%s/svc-%s", dir, name);
	fp = fopen(fn, "wb");
	if (!fp || fwrite(buf, 1, len + 2, fp) != len + 2 || fclose(fp)) {
		perror(fn);
		exit(1);
	}
}

static size_t rsa_spki(uint8_t *out, size_t cap)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	unsigned char *p = out;
	int len;

	if (!k || i2d_PUBKEY(k, NULL) > (int)cap)
		abort();
	len = i2d_PUBKEY(k, &p);
	EVP_PKEY_free(k);
	if (len <= 0)
		abort();
	return (size_t)len;
}

static int write_seeds(const char *dir)
{
	static uint8_t own[3][600], blob[512], zero[256];
	size_t ol[3];
	unsigned int i;

	for (i = 0; i < 3; i++)
		ol[i] = rsa_spki(own[i], sizeof(own[i]));
	{
		const struct fld f[] = { U8(AZIHSM_SD_F_QUORUM, 2),
			BYTES(AZIHSM_SD_F_OWNER_FIRST, own[0], ol[0]),
			BYTES(AZIHSM_SD_F_OWNER_FIRST + 1, own[1], ol[1]),
			BYTES(AZIHSM_SD_F_OWNER_FIRST + 2, own[2], ol[2]) };

		seed_put(dir, "sd-activate", AZIHSM_OP_SD_ACTIVATE, f, NF(f));
	}
	seed_put(dir, "sd-exchange-key", AZIHSM_OP_SD_EXCHANGE_KEY, NULL, 0);
	{
		const struct fld f[] = { BYTES(AZIHSM_SD_F_HOST_KEY, own[0], ol[0]),
			BYTES(AZIHSM_SD_F_NONCE, zero, HSM_SD_NONCE_LEN),
			BYTES(AZIHSM_SD_F_CT, zero, HSM_SD_UPLOAD_PLAIN),
			BYTES(AZIHSM_SD_F_TAG, zero, HSM_SD_TAG_LEN) };

		seed_put(dir, "sd-upload", AZIHSM_OP_SD_UPLOAD, f, NF(f));
	}
	{
		const struct fld f[] = { U16(AZIHSM_SD_F_KEY_ID, 1) };

		seed_put(dir, "sd-backup-key", AZIHSM_OP_SD_BACKUP_KEY, f, NF(f));
	}
	{
		const struct fld f[] = { BYTES(AZIHSM_SD_F_BLOB, blob, sizeof(blob)) };

		seed_put(dir, "sd-restore-key", AZIHSM_OP_SD_RESTORE_KEY, f, NF(f));
	}
	seed_put(dir, "sd-info", AZIHSM_OP_SD_INFO, NULL, 0);
	{
		const struct fld f[] = { U16(AZIHSM_ATTEST_F_KEY_ID, 1),
			BYTES(AZIHSM_ATTEST_F_REPORT_DATA, zero, 64) };

		seed_put(dir, "attest-key", AZIHSM_OP_ATTEST_KEY, f, NF(f));
	}
	seed_put(dir, "cert-chain-info", AZIHSM_OP_GET_CERT_CHAIN_INFO, NULL, 0);
	{
		const struct fld f[] = { U32(AZIHSM_CERT_F_INDEX, 2) };

		seed_put(dir, "get-certificate", AZIHSM_OP_GET_CERTIFICATE, f, NF(f));
	}
	seed_put(dir, "tamper-log", AZIHSM_OP_TAMPER_LOG, NULL, 0);
	seed_put(dir, "self-test", AZIHSM_OP_SELF_TEST, NULL, 0);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("AZIHSM_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	if (dir)
		exit(write_seeds(dir));
	return 0;
}
