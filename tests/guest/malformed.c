// SPDX-License-Identifier: MIT
/*
 * Malformed and truncated requests to every key-vault service, through the
 * real driver and device, inside an authenticated officer session.
 *
 * The valid requests are the library's own: this program replaces ioctl()
 * (the static libazihsm calls it) with a wrapper that records each command
 * it sends, then runs every operation once through the library. Each
 * recorded request is then replayed on the same file descriptor cut short
 * at every length, and with a byte appended: every one must be refused
 * (an errno from the driver, a completion error or an HSM status), no key
 * may appear or vanish, and afterwards the valid requests of the read-only
 * operations still succeed. Read-only requests are also replayed with
 * each byte flipped in turn (any answer is fine; the device must answer).
 *
 * It changes the officer's PIN on a fresh partition (the guest suite runs
 * it last); with the PIN already changed it logs in with the new one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azihsm/azihsm.h"
#include "azihsm/msg.h"
#include "guest_util.h"
#include "gt_harness.h"

#define MAX_REQ		4096
#define MAX_CAPS	40

/* One recorded command: the ioctl's input and a copy of the request. */
struct cap {
	const char *what;
	bool read_only;
	struct azihsm_cmd_in in;
	size_t len;
	uint8_t req[MAX_REQ];
};

static struct cap caps[MAX_CAPS];
static unsigned int ncaps;
static struct cap last;		/* the last command sent, whatever it was */
static bool have_last;
static int last_fd = -1;	/* the library's file descriptor */
static struct azihsm_dev *gdev;	/* for azihsm_last_status() in messages */

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

/* Replaces libc's ioctl() for this program (libazihsm is linked statically). */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == AZIHSM_IOCTL_CMD && arg) {
		const struct azihsm_cmd *c = arg;

		last_fd = fd;
		have_last = c->in.src_len <= MAX_REQ;
		if (have_last) {
			last.in = c->in;
			last.len = c->in.src_len;
			memcpy(last.req, (const void *)(uintptr_t)c->in.src_buf, last.len);
		}
	}
	return real_ioctl(fd, req, arg);
}

/* Keep the last command as a case (after a library call that succeeded). */
static void keep(struct __test_metadata *_metadata, const char *what, bool read_only)
{
	ASSERT_TRUE(have_last) TH_LOG("%s: nothing recorded", what);
	ASSERT_LT(ncaps, MAX_CAPS);
	caps[ncaps] = last;
	caps[ncaps].what = what;
	caps[ncaps].read_only = read_only;
	ncaps++;
	have_last = false;
}

/*
 * Send @len bytes of @req as recorded in @c. 1 when refused (errno,
 * completion error or HSM status), 0 when accepted, -1 when the device did
 * not answer at all (timeout errno).
 */
static int replay(int fd, const struct cap *c, const uint8_t *req, size_t len,
		  uint32_t *why)
{
	uint8_t rsp[AZIHSM_CMD_BUF_MAX];
	struct azihsm_cmd cmd;
	uint32_t st;

	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr.size = sizeof(cmd);
	cmd.in = c->in;
	cmd.in.src_buf = (uintptr_t)req;
	cmd.in.src_len = (uint32_t)len;
	cmd.in.dst_buf = (uintptr_t)rsp;
	cmd.in.dst_len = sizeof(rsp);
	if (real_ioctl(fd, AZIHSM_IOCTL_CMD, &cmd) < 0) {
		*why = (uint32_t)errno;
		return errno == ETIMEDOUT || errno == EIO ? -1 : 1;
	}
	if (cmd.out.status) {
		*why = cmd.out.status;
		return 1;
	}
	if (gt_rsp_status(rsp, cmd.out.byte_count, &st)) {
		*why = UINT32_MAX;
		return 1;
	}
	*why = st;
	return st != AZIHSM_STATUS_SUCCESS;
}

static struct azihsm_key_info keys[300];

static size_t key_count(struct azihsm_session *s)
{
	size_t n = 0;

	if (azihsm_key_list(s, keys, sizeof(keys) / sizeof(keys[0]), &n))
		return (size_t)-1;
	return n;
}

/* A P-256 public key of a fresh OpenSSL key, DER SPKI. */
static int peer_key(uint8_t *der, size_t cap, size_t *len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char *p = der;
	int n;

	if (!k)
		return -1;
	n = i2d_PUBKEY(k, NULL);
	if (n > 0 && (size_t)n <= cap)
		n = i2d_PUBKEY(k, &p);
	EVP_PKEY_free(k);
	if (n <= 0 || (size_t)n > cap)
		return -1;
	*len = (size_t)n;
	return 0;
}

FIXTURE(mf) {
	struct azihsm_dev *dev;
	struct azihsm_session *s;
	int fd;
};

FIXTURE_SETUP(mf)
{
	ASSERT_EQ(0, azihsm_open(GT_DEV, &self->dev));
	gdev = self->dev;
	ASSERT_EQ(0, gt_officer_login(self->dev, &self->s))
		TH_LOG("officer login: %s", azihsm_status_str(azihsm_last_status(self->dev)));
	self->fd = -1;
}

FIXTURE_TEARDOWN(mf)
{
	azihsm_logout(self->s);
	azihsm_close(self->dev);
	ASSERT_EQ(0, gt_device_works());
}

/* Run every service once through the library, recording its request. */
static void record_all(struct __test_metadata *_metadata, struct azihsm_session *s)
{
	static const uint8_t iv[16] = { 1, 2, 3 }, data[64] = { 7 };
	uint8_t digest[32] = { 9 }, out[1024], sig[256], der[1200], blob[1024], mac[64];
	struct azihsm_new_key nk = {
		.type = AZIHSM_KEY_TYPE_HMAC_SHA256,
		.usage = AZIHSM_KEY_USE_DERIVE,	/* one purpose (issue 9) */
	};
	struct azihsm_aes_params p = {
		.mode = AZIHSM_AES_MODE_CBC, .iv = iv, .iv_len = sizeof(iv),
	};
	uint16_t ec, aes, hm, hd, rsa, id, sk, uk;
	size_t n, blob_len;
	bool fips, valid;

	ASSERT_EQ(0, azihsm_key_generate(s, AZIHSM_KEY_TYPE_EC_P256,
					 AZIHSM_KEY_USE_SIGN | AZIHSM_KEY_USE_VERIFY |
					 AZIHSM_KEY_USE_DERIVE, "mf-ec", 5, true, &ec));
	keep(_metadata, "KeyGenerate (persistent EC)", false);
	ASSERT_EQ(0, azihsm_key_generate(s, AZIHSM_KEY_TYPE_AES256, AZIHSM_KEY_USE_ENCRYPT |
					 AZIHSM_KEY_USE_DECRYPT, NULL, 0, false, &aes));
	keep(_metadata, "KeyGenerate (session AES)", false);
	ASSERT_EQ(0, azihsm_key_generate(s, AZIHSM_KEY_TYPE_HMAC_SHA256, AZIHSM_KEY_USE_SIGN,
					 NULL, 0, false, &hm));
	ASSERT_EQ(0, azihsm_key_generate(s, AZIHSM_KEY_TYPE_HMAC_SHA256, AZIHSM_KEY_USE_DERIVE,
					 NULL, 0, false, &hd));
	ASSERT_EQ(0, azihsm_key_generate(s, AZIHSM_KEY_TYPE_RSA2048, AZIHSM_KEY_USE_SIGN |
					 AZIHSM_KEY_USE_VERIFY, NULL, 0, false, &rsa));
	ASSERT_EQ(0, azihsm_key_open(s, "mf-ec", 5, &id));
	keep(_metadata, "OpenKey", true);
	ASSERT_NE((size_t)-1, key_count(s));
	keep(_metadata, "KeyList", true);
	ASSERT_EQ(0, azihsm_key_public(s, ec, der, sizeof(der), &n));
	keep(_metadata, "KeyPublic", true);
	ASSERT_EQ(0, azihsm_ecdsa_sign(s, ec, AZIHSM_HASH_ALG_SHA256, digest, 32, sig,
				       sizeof(sig), &n, &fips));
	keep(_metadata, "EccSign", true);
	ASSERT_EQ(0, azihsm_verify(s, ec, AZIHSM_HASH_ALG_SHA256, 0, digest, 32, sig, n,
				   &valid, &fips));
	ASSERT_TRUE(valid);
	keep(_metadata, "Verify (EC)", true);
	ASSERT_EQ(0, azihsm_rsa_sign(s, rsa, AZIHSM_HASH_ALG_SHA256, AZIHSM_RSA_PADDING_PSS,
				     digest, 32, sig, sizeof(sig), &n, &fips));
	keep(_metadata, "RsaSign", true);
	ASSERT_EQ(0, azihsm_aes_crypt(s, aes, &p, data, sizeof(data), out, sizeof(out), &n,
				      &fips));
	keep(_metadata, "AesEncryptDecrypt (CBC)", true);
	ASSERT_EQ(0, azihsm_hmac(s, hm, data, sizeof(data), mac, sizeof(mac), &n, &fips));
	keep(_metadata, "Hmac", true);
	ASSERT_EQ(0, peer_key(der, sizeof(der), &n));
	ASSERT_EQ(0, azihsm_ecdh(s, ec, der, n, &nk, &id, &fips));
	keep(_metadata, "EcdhKeyExchange", false);
	nk.usage = AZIHSM_KEY_USE_SIGN;
	ASSERT_EQ(0, azihsm_hkdf(s, hd, AZIHSM_HASH_ALG_SHA256, "salt", 4, "info", 4, &nk, 32,
				 &id, &fips))
		TH_LOG("HKDF: %s", azihsm_status_str(azihsm_last_status(gdev)));
	keep(_metadata, "HkdfDerive", false);
	ASSERT_EQ(0, azihsm_kbkdf(s, hd, AZIHSM_HASH_ALG_SHA256, "label", 5, "ctx", 3, &nk, 32,
				  &id, &fips));
	keep(_metadata, "KbkdfDerive", false);
	ASSERT_EQ(0, azihsm_key_export_masked(s, aes, blob, sizeof(blob), &blob_len));
	keep(_metadata, "KeyExportMasked", true);
	ASSERT_EQ(0, azihsm_key_unmask(s, blob, blob_len, &sk));
	keep(_metadata, "UnmaskKey", false);
	ASSERT_EQ(0, azihsm_unwrapping_key(s, &uk, der, sizeof(der), &n));
	keep(_metadata, "GetUnwrappingKey", true);
	ASSERT_EQ(0, azihsm_key_delete(s, sk));
	keep(_metadata, "DeleteKey", false);
}

TEST_F(mf, truncated_extended_and_flipped_requests_are_refused)
{
	unsigned int i, refused = 0, flips = 0, answered = 0;
	uint8_t req[MAX_REQ + 1];
	size_t before, len;
	uint32_t why;
	int r;

	record_all(_metadata, self->s);
	before = key_count(self->s);
	ASSERT_NE((size_t)-1, before);
	self->fd = last_fd;
	ASSERT_LE(0, self->fd);
	for (i = 0; i < ncaps; i++) {
		const struct cap *c = &caps[i];

		for (len = 1; len < c->len; len++) {
			r = replay(self->fd, c, c->req, len, &why);
			ASSERT_NE(-1, r) TH_LOG("%s cut to %zu: no answer", c->what, len);
			EXPECT_EQ(1, r) TH_LOG("%s cut to %zu of %zu bytes: accepted",
					       c->what, len, c->len);
			refused += r == 1;
		}
		memcpy(req, c->req, c->len);
		req[c->len] = 0;
		r = replay(self->fd, c, req, c->len + 1, &why);
		EXPECT_EQ(1, r) TH_LOG("%s with a trailing byte: accepted", c->what);
		refused += r == 1;
		if (!c->read_only)
			continue;
		for (len = 0; len < c->len; len++) {
			memcpy(req, c->req, c->len);
			req[len] ^= 0xff;
			r = replay(self->fd, c, req, c->len, &why);
			ASSERT_NE(-1, r) TH_LOG("%s flipped at %zu: no answer", c->what, len);
			flips++;
			answered += r == 0;
		}
	}
	TH_LOG("%u cases, %u refused truncated/extended requests, %u flips (%u accepted)",
	       ncaps, refused, flips, answered);
	EXPECT_EQ(before, key_count(self->s)) TH_LOG("a malformed request added or removed a key");
	for (i = 0; i < ncaps; i++) {
		if (!caps[i].read_only)
			continue;
		r = replay(self->fd, &caps[i], caps[i].req, caps[i].len, &why);
		EXPECT_EQ(0, r) TH_LOG("%s: the valid request afterwards: 0x%x", caps[i].what, why);
	}
	/* The persistent key goes, so the test can run again on this partition. */
	{
		uint16_t id;

		EXPECT_EQ(0, azihsm_key_open(self->s, "mf-ec", 5, &id));
		EXPECT_EQ(0, azihsm_key_delete(self->s, id));
	}
}

TEST_HARNESS_MAIN
