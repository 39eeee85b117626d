// SPDX-License-Identifier: MIT
/*
 * Secure boot and measurement (hsm_boot.h): manifests made and signed here
 * with OpenSSL, checked by the firmware core; then the firmware started on
 * them (GetDeviceInfo, services refused after a refused boot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm_boot.h"
#include "hsm_fw.h"
#include "svc_util.h"
#include "tap.h"

#define DLEN HSM_BOOT_DIGEST_LEN

static EVP_PKEY *p384_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static size_t spki(EVP_PKEY *k, uint8_t *out)
{
	unsigned char *p = out;
	int n = i2d_PUBKEY(k, &p);

	return n > 0 ? (size_t)n : 0;
}

static void sha384(const void *p, size_t n, uint8_t out[DLEN])
{
	unsigned int len;

	EVP_Digest(p, n, out, &len, EVP_sha384(), NULL);
}

static void root_of(EVP_PKEY *k, uint8_t out[DLEN])
{
	uint8_t der[256];

	sha384(der, spki(k, der), out);
}

/*
 * Manifest for @version/@svn naming @signer as its key, signed by @by;
 * the signed part's SHA-384 goes to @meas (may be NULL). Its length.
 */
static size_t manifest(char *out, size_t cap, const char *version, const char *svn,
		       EVP_PKEY *signer, EVP_PKEY *by, uint8_t *meas)
{
	uint8_t der[256], code[DLEN], sig[160];
	char der_hex[600], code_hex[2 * DLEN + 1], sig_hex[400];
	size_t n, sig_len = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(code, 0xc5, sizeof(code));
	hex(code_hex, code, sizeof(code));
	hex(der_hex, der, spki(signer, der));
	n = (size_t)snprintf(out, cap,
			     "azihsm-manifest 1\nversion %s\nsvn %s\ncode-sha384 %s\nsigner %s\n",
			     version, svn, code_hex, der_hex);
	if (meas)
		sha384(out, n, meas);
	EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, by);
	EVP_DigestSign(ctx, sig, &sig_len, (uint8_t *)out, n);
	EVP_MD_CTX_free(ctx);
	hex(sig_hex, sig, sig_len);
	n += (size_t)snprintf(out + n, cap - n, "signature %s\n", sig_hex);
	return n;
}

static enum azihsm_boot verify(const struct hsm_boot_config *cfg, const char *m, size_t n,
			       struct hsm_boot_state *st)
{
	hsm_boot_verify(cfg, (const uint8_t *)m, n, st);
	return st->reason;
}

/* The signature's hex digit at @off past "signature ", changed. */
static void flip_sig(char *m, size_t off)
{
	char *s = strstr(m, "signature ") + strlen("signature ") + off;

	*s = *s == '0' ? '1' : '0';
}

static void test_verify(EVP_PKEY *vendor, EVP_PKEY *rogue)
{
	struct hsm_boot_config cfg = { .has_root = true, .min_svn = 3 };
	struct hsm_boot_state st;
	uint8_t meas[DLEN], code[DLEN];
	char m[2048], t[2048];
	size_t n, i;

	root_of(vendor, cfg.root_hash);
	n = manifest(m, sizeof(m), "2.1.0-azihsm", "3", vendor, vendor, meas);
	memset(code, 0xc5, sizeof(code));
	tap_eq(verify(&cfg, m, n, &st), AZIHSM_BOOT_VERIFIED, "good manifest verifies");
	tap_ok(!strcmp(st.version, "2.1.0-azihsm") && st.svn == 3 &&
	       !memcmp(st.code_digest, code, DLEN), "version, SVN and code digest read");
	tap_ok(!memcmp(st.measurement, meas, DLEN),
	       "measurement = SHA-384 (OpenSSL) of the signed part");
	tap_ok(hsm_boot_ok(st.reason), "verified boot serves");

	/* The same content signed again: another signature, same measurement. */
	n = manifest(t, sizeof(t), "2.1.0-azihsm", "3", vendor, vendor, NULL);
	tap_ok(verify(&cfg, t, n, &st) == AZIHSM_BOOT_VERIFIED && strcmp(t, m) &&
	       !memcmp(st.measurement, meas, DLEN), "re-signed manifest: same measurement");

	/* Flipped bytes of the signature, at its start, middle and end. */
	n = strlen(m);
	for (i = 0; i < 3; i++) {
		/* hex digits of the signature, without the newline */
		size_t digits = strlen(strstr(m, "signature ")) - strlen("signature ") - 1;
		size_t off[] = { 0, digits / 2, digits - 1 };

		memcpy(t, m, n + 1);
		flip_sig(t, off[i]);
		tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_BAD_SIGNATURE,
		       "flipped signature digit %zu: bad signature", i);
		tap_ok(!hsm_boot_ok(st.reason), "... which does not serve");
	}
	/* A signed field changed under the old signature. */
	memcpy(t, m, n + 1);
	strstr(t, "svn 3")[4] = '9';
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_BAD_SIGNATURE, "SVN raised after signing");
	memcpy(t, m, n + 1);
	strstr(t, "code-sha384 ")[12] = 'd';
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_BAD_SIGNATURE,
	       "code digest changed after signing");

	/* Wrong root: another key signs and names itself; or the fuse differs. */
	n = manifest(t, sizeof(t), "2.1.0-azihsm", "3", rogue, rogue, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_WRONG_ROOT, "signed by another key: wrong root");
	n = manifest(t, sizeof(t), "2.1.0-azihsm", "3", vendor, rogue, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_BAD_SIGNATURE,
	       "names the vendor key, signed by another: bad signature");
	{
		struct hsm_boot_config other = cfg;

		root_of(rogue, other.root_hash);
		n = strlen(m);
		tap_eq(verify(&other, m, n, &st), AZIHSM_BOOT_WRONG_ROOT,
		       "good manifest on a device fused for another root: wrong root");
		other.has_root = false;
		tap_eq(verify(&other, m, n, &st), AZIHSM_BOOT_NO_ROOT, "no root fused: no-root");
		other = cfg;
		other.root_hash[DLEN - 1] ^= 1;
		tap_eq(verify(&other, m, n, &st), AZIHSM_BOOT_WRONG_ROOT,
		       "one fuse bit of the root hash flipped: wrong root");
	}

	/* Rollback below the fused SVN; at the SVN is fine. */
	n = manifest(t, sizeof(t), "2.0.9-azihsm", "2", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_ROLLBACK, "SVN 2 below fused 3: rollback");
	tap_ok(st.svn == 2 && !strcmp(st.version, "2.0.9-azihsm"),
	       "rollback still reports what was refused");
	n = manifest(t, sizeof(t), "3.0.0", "4294967295", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_VERIFIED, "SVN 2^32-1 verifies");
	cfg.min_svn = 0;
	n = manifest(t, sizeof(t), "2.0.9-azihsm", "0", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_VERIFIED, "SVN 0 with fused minimum 0");
	cfg.min_svn = 3;

	/* Malformed. */
	n = strlen(m);
	tap_eq(verify(&cfg, m, n - 1, &st), AZIHSM_BOOT_MALFORMED, "missing final newline");
	tap_eq(verify(&cfg, m, n / 2, &st), AZIHSM_BOOT_MALFORMED, "truncated");
	memcpy(t, m, n);
	t[n] = '\n';
	tap_eq(verify(&cfg, t, n + 1, &st), AZIHSM_BOOT_MALFORMED, "trailing byte");
	tap_eq(verify(&cfg, m, 0, &st), AZIHSM_BOOT_MALFORMED, "empty");
	memcpy(t, m, n + 1);
	strstr(t, "signer ")[7] = 'A';
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_MALFORMED, "upper-case hex");
	memcpy(t, m, n + 1);
	t[strlen("azihsm-manifest ")] = '2';
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_MALFORMED, "format 2");
	n = manifest(t, sizeof(t), "2.1.0", "03", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_MALFORMED, "SVN with a leading zero");
	n = manifest(t, sizeof(t), "2.1.0", "4294967296", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_MALFORMED, "SVN over 32 bits");
	n = manifest(t, sizeof(t), "2.1 0", "3", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_MALFORMED, "space in the version");
	n = manifest(t, sizeof(t), "123456789012345678901234567890123", "3", vendor, vendor, NULL);
	tap_eq(verify(&cfg, t, n, &st), AZIHSM_BOOT_MALFORMED, "version of 33 characters");
	{
		static char big[HSM_BOOT_MANIFEST_MAX + 2];

		memset(big, 'a', sizeof(big));
		memcpy(big, m, strlen(m));
		tap_eq(verify(&cfg, big, sizeof(big), &st), AZIHSM_BOOT_MALFORMED,
		       "larger than the limit");
	}
	{
		/* A signer that is not P-384, fused as the root and signing. */
		EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		struct hsm_boot_config c2 = cfg;

		root_of(p256, c2.root_hash);
		n = manifest(t, sizeof(t), "2.1.0", "3", p256, p256, NULL);
		tap_eq(verify(&c2, t, n, &st), AZIHSM_BOOT_MALFORMED,
		       "P-256 signer refused (P-384 only)");
		EVP_PKEY_free(p256);
	}
}

/*
 * The integrity self-test's boot half (hsm_boot_recheck): what was
 * verified at start is verified again from the kept copy; a changed byte of
 * that copy, of the kept fuses or of the recorded measurement is noticed.
 */
static void test_recheck(EVP_PKEY *vendor)
{
	struct hsm_boot_config cfg = { .has_root = true, .min_svn = 1 };
	struct hsm_boot_state *st = malloc(sizeof(*st));
	char m[2048];
	size_t n;

	if (!st) {
		tap_ok(false, "recheck: memory");
		return;
	}
	root_of(vendor, cfg.root_hash);
	n = manifest(m, sizeof(m), "3.0.0", "2", vendor, vendor, NULL);
	tap_eq(verify(&cfg, m, n, st), AZIHSM_BOOT_VERIFIED, "recheck: a verified boot");
	tap_ok(st->image_len == n && !memcmp(st->image, m, n) && st->fuses.has_root &&
		       !st->fuses.image_path,
	       "recheck: the image and the fuses are kept");
	tap_eq(hsm_boot_recheck(st, false), 0, "recheck: verified again, same measurement");
	tap_eq(hsm_boot_recheck(st, true), -1, "recheck: selftest-fail=integrity's flip is noticed");
	st->image[10] ^= 1;
	tap_eq(hsm_boot_recheck(st, false), -1, "recheck: a byte of the kept image changed: fails");
	st->image[10] ^= 1;
	st->fuses.root_hash[0] ^= 1;
	tap_eq(hsm_boot_recheck(st, false), -1, "recheck: a kept fuse changed: fails");
	st->fuses.root_hash[0] ^= 1;
	st->measurement[DLEN - 1] ^= 1;
	tap_eq(hsm_boot_recheck(st, false), -1, "recheck: the recorded measurement changed: fails");
	st->measurement[DLEN - 1] ^= 1;
	tap_eq(hsm_boot_recheck(st, false), 0, "recheck: all put back: passes");

	tap_eq(hsm_boot_load(NULL, "4.5", st), AZIHSM_BOOT_UNSIGNED, "recheck: unsigned boot");
	tap_eq(hsm_boot_recheck(st, false), 0, "recheck: the configuration measured again");
	st->version[0] = '5';
	tap_eq(hsm_boot_recheck(st, false), -1, "recheck: a changed configuration fails");
	cfg.min_svn = 9;
	tap_eq(verify(&cfg, m, n, st), AZIHSM_BOOT_ROLLBACK, "recheck: a refused boot");
	tap_eq(hsm_boot_recheck(st, false), -1, "recheck: ... never passes");
	free(st);
}

static void test_unsigned(void)
{
	struct hsm_boot_state st;
	uint8_t buf[128], want[DLEN];
	const char *label = HSM_BOOT_UNSIGNED_LABEL;
	size_t n = 0;

	tap_eq(hsm_boot_load(NULL, "1.2.3-x", &st), AZIHSM_BOOT_UNSIGNED, "no image: unsigned");
	memcpy(buf, label, strlen(label) + 1);
	n = strlen(label) + 1;
	memcpy(buf + n, "1.2.3-x", 8);
	n += 8;
	memset(buf + n, 0, 4);
	n += 4;
	sha384(buf, n, want);
	tap_ok(!memcmp(st.measurement, want, DLEN) && st.svn == 0 &&
	       !strcmp(st.version, "1.2.3-x"),
	       "unsigned measurement = SHA-384 of label, fw-rev, SVN 0 (OpenSSL)");
	tap_ok(hsm_boot_ok(st.reason), "unsigned boot serves");
	tap_eq(hsm_boot_load(NULL, "1.2.3-y", &st), AZIHSM_BOOT_UNSIGNED, "other fw-rev");
	tap_ok(memcmp(st.measurement, want, DLEN), "... measures differently");
	{
		struct hsm_boot_config c = { .has_root = true };

		tap_eq(hsm_boot_load(&c, "1", &st), AZIHSM_BOOT_NO_IMAGE, "fused root, no image");
		c.has_root = false;
		c.min_svn = 1;
		tap_eq(hsm_boot_load(&c, "1", &st), AZIHSM_BOOT_NO_IMAGE, "fused SVN, no image");
		c.image_path = "/nonexistent/azihsm-manifest";
		tap_eq(hsm_boot_load(&c, "1", &st), AZIHSM_BOOT_NO_IMAGE, "unreadable image");
		tap_ok(!hsm_boot_ok(st.reason), "... which does not serve");
	}
}

static int devinfo(struct hsm_fw *fw, uint32_t *boot, uint32_t *svn, bool *err,
		   uint8_t meas[DLEN], char *ver)
{
	struct rsp r;
	const uint8_t *p;
	size_t len;
	struct mbor_dec d;
	uint32_t u;

	if (call0(fw, AZIHSM_OP_GET_DEVICE_INFO, NOSESS, &r))
		return -1;
	if (rsp_field(&r, AZIHSM_DEVINFO_BOOT, &d) || mbor_dec_u32(&d, &u))
		return -1;
	*boot = u;
	if (rsp_field(&r, AZIHSM_DEVINFO_SVN, &d) || mbor_dec_u32(&d, svn))
		return -1;
	*err = rsp_bool(&r, AZIHSM_DEVINFO_ERROR_STATE) == 1;
	if (rsp_bytes(&r, AZIHSM_DEVINFO_MEASUREMENT, &p, &len) || len != DLEN)
		return -1;
	memcpy(meas, p, DLEN);
	if (rsp_bytes(&r, AZIHSM_DEVINFO_FW_VERSION, &p, &len) || len > HSM_BOOT_VERSION_MAX)
		return -1;
	memcpy(ver, p, len);
	ver[len] = '\0';
	return 0;
}

static void write_file(const char *path, const char *m, size_t n)
{
	FILE *f = fopen(path, "wb");

	fwrite(m, 1, n, f);
	fclose(f);
}

/* The firmware started on a manifest: what it says and what it serves. */
static void test_fw(EVP_PKEY *vendor, EVP_PKEY *rogue)
{
	char dir[] = "/tmp/azihsm-boot-XXXXXX", img[64], state[64], m[2048], ver[40];
	struct hsm_boot_config bc = { .has_root = true, .min_svn = 5 };
	struct hsm_fw_config cfg = { .serial = "BOOT-1", .fw_rev = "9.9", .boot = &bc };
	uint8_t meas[DLEN], got[DLEN];
	uint32_t boot = 99, svn = 0;
	struct hsm_fw *fw;
	struct rsp r;
	bool err = false;
	size_t n;

	tap_ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(img, sizeof(img), "%s/manifest", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	cfg.state_path = state;
	bc.image_path = img;
	root_of(vendor, bc.root_hash);

	n = manifest(m, sizeof(m), "5.0.1", "5", vendor, vendor, meas);
	write_file(img, m, n);
	fw = hsm_fw_new(&cfg);
	tap_ok(fw != NULL, "firmware starts on a good manifest");
	tap_ok(!devinfo(fw, &boot, &svn, &err, got, ver) && boot == AZIHSM_BOOT_VERIFIED &&
	       svn == 5 && !err && !memcmp(got, meas, DLEN) && !strcmp(ver, "5.0.1"),
	       "GetDeviceInfo: verified, SVN 5, version, measurement");
	tap_ok(!memcmp(hsm_boot_measurement(fw), meas, DLEN) && hsm_boot_svn(fw) == 5 &&
	       !strcmp(hsm_boot_version(fw), "5.0.1") &&
	       hsm_boot_reason(fw) == AZIHSM_BOOT_VERIFIED, "hsm_boot_* accessors agree");
	tap_eq(call0(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r), 0, "services answer");
	hsm_fw_free(fw);
	tap_eq(access(state, F_OK), 0, "verified firmware stored its state");
	unlink(state);

	/* Rolled back, badly signed, wrong root: error state, reason, no state. */
	{
		struct {
			const char *svn;
			EVP_PKEY *by;
			bool flip;
			enum azihsm_boot want;
			const char *what;
		} bad[] = {
			{ "4", vendor, false, AZIHSM_BOOT_ROLLBACK, "rollback" },
			{ "5", vendor, true, AZIHSM_BOOT_BAD_SIGNATURE, "flipped signature" },
			{ "5", rogue, false, AZIHSM_BOOT_WRONG_ROOT, "another vendor's key" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			n = manifest(m, sizeof(m), "5.0.0", bad[i].svn, bad[i].by, bad[i].by, meas);
			if (bad[i].flip)
				flip_sig(m, 20);
			write_file(img, m, n);
			fw = hsm_fw_new(&cfg);
			tap_ok(fw != NULL, "%s: firmware object exists (to say why)", bad[i].what);
			if (!fw)
				continue;
			tap_ok(!devinfo(fw, &boot, &svn, &err, got, ver) && boot == bad[i].want &&
			       err, "%s: GetDeviceInfo says %s, error state", bad[i].what,
			       hsm_boot_reason_name(bad[i].want));
			tap_eq(call0(fw, AZIHSM_OP_GET_SESSION_ENC_KEY, NOSESS, &r),
			       AZIHSM_STATUS_ERROR_STATE, "%s: sessions refused", bad[i].what);
			tap_eq(call0(fw, AZIHSM_OP_GET_API_REV, NOSESS, &r), 0,
			       "%s: GetApiRev still answers", bad[i].what);
			hsm_fw_free(fw);
			tap_ok(access(state, F_OK) != 0, "%s: state file not touched", bad[i].what);
		}
	}
	unlink(img);
	fw = hsm_fw_new(&cfg);
	tap_ok(fw && !devinfo(fw, &boot, &svn, &err, got, ver) && boot == AZIHSM_BOOT_NO_IMAGE &&
	       err, "fuses, image missing: no-image, error state");
	hsm_fw_free(fw);

	/* No boot config: unsigned, serving, measured. */
	cfg.boot = NULL;
	cfg.state_path = NULL;
	fw = hsm_fw_new(&cfg);
	tap_ok(fw && !devinfo(fw, &boot, &svn, &err, got, ver) && boot == AZIHSM_BOOT_UNSIGNED &&
	       !err && svn == 0 && !strcmp(ver, "9.9") &&
	       !memcmp(got, hsm_boot_measurement(fw), DLEN), "no config: unsigned, serving");
	hsm_fw_free(fw);
	rmdir(dir);
}

/* scripts/fw-manifest (what the build and vm-run use) and the firmware agree. */
static void test_script(void)
{
	char dir[] = "/tmp/azihsm-fwm-XXXXXX", cmd[512], line[128], key[64], img[64];
	struct hsm_boot_config bc = { .has_root = true, .min_svn = 7 };
	struct hsm_boot_state st;
	uint8_t code[DLEN];
	size_t n;
	FILE *f;
	EVP_PKEY *k = NULL;

	tap_ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(key, sizeof(key), "%s/vendor.pem", dir);
	snprintf(img, sizeof(img), "%s/manifest", dir);
	snprintf(cmd, sizeof(cmd), "%s/scripts/fw-manifest --key %s --out %s --svn 7 --version 7.0.0-t",
		 TOP_DIR, key, img);
	tap_eq(system(cmd), 0, "scripts/fw-manifest makes a key and a manifest");
	f = fopen(key, "r");
	if (f) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	tap_ok(k != NULL, "its key is a PEM private key");
	if (!k)
		return;
	root_of(k, bc.root_hash);
	bc.image_path = img;
	tap_eq(hsm_boot_load(&bc, "x", &st), AZIHSM_BOOT_VERIFIED,
	       "the firmware verifies the script's manifest");
	tap_ok(st.svn == 7 && !strcmp(st.version, "7.0.0-t"), "with its version and SVN");
	snprintf(cmd, sizeof(cmd), "%s/scripts/fw-manifest --code-digest", TOP_DIR);
	f = popen(cmd, "r");
	tap_ok(f && fgets(line, sizeof(line), f) && strlen(line) == 2 * DLEN + 1,
	       "--code-digest prints a SHA-384");
	if (f)
		pclose(f);
	for (n = 0; n < DLEN; n++)
		sscanf(line + 2 * n, "%2hhx", &code[n]);
	tap_ok(!memcmp(code, st.code_digest, DLEN), "the manifest carries that code digest");
	bc.min_svn = 8;
	tap_eq(hsm_boot_load(&bc, "x", &st), AZIHSM_BOOT_ROLLBACK, "fused SVN 8: rollback");
	EVP_PKEY_free(k);
	unlink(key);
	unlink(img);
	rmdir(dir);
}

int main(void)
{
	EVP_PKEY *vendor = p384_key(), *rogue = p384_key();

	printf("TAP version 13\n");
	tap_ok(vendor && rogue, "P-384 keys");
	test_verify(vendor, rogue);
	test_recheck(vendor);
	test_unsigned();
	test_fw(vendor, rogue);
	test_script();
	EVP_PKEY_free(vendor);
	EVP_PKEY_free(rogue);
	return tap_done();
}
