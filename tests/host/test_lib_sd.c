// SPDX-License-Identifier: MIT
/*
 * The security domain's exchange key is attested (issue 10 sections 1 and
 * 5): libazihsm (azihsm_sd_upload) over the real firmware core, with the
 * channel in between played by this test as the guest kernel could:
 *
 *   device A activates a domain (three owner RSA keys, quorum 2); the
 *   owners recombine it from two shares; device B (a fresh state file,
 *   the same manufacturer root) answers SdExchangeKey with the exchange
 *   key and the partition key's signature, which OpenSSL alone verifies
 *   against B's partition certificate (and refuses with a flipped byte);
 *   the library refuses (-ENOKEY, no SdUpload sent, no domain installed)
 *   an exchange key swapped for the channel's own P-384 key, a flipped
 *   signature byte, a missing signature, and a device that does not chain
 *   to the root the owners trust; untouched, the upload installs A's
 *   domain on B.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <linux/azihsm.h>

#include "azihsm/azihsm.h"
#include "drv_app_id.h"
#include "hsm_fw.h"
#include "internal.h"
#include "tap.h"
#include "test_pki.h"

enum chan_mode { CHAN_PASS, CHAN_SWAP_KEY, CHAN_FLIP_SIG, CHAN_DROP_SIG };

struct chan {
	struct hsm_fw *fw;
	enum chan_mode mode;
	EVP_PKEY *theirs;		/* the channel's own P-384 key */
	unsigned int uploads;		/* SdUpload requests that went through */
	uint8_t xchg[200], sig[96];	/* the last SdExchangeKey answer, as the device gave it */
	size_t xchg_len, sig_len;
};

static uint32_t req_opcode(const struct lib_xfer *x)
{
	struct azihsm_req_hdr h;
	struct mbor_dec d;
	bool has_data;

	mbor_dec_init(&d, x->req, x->req_len);
	return azihsm_msg_parse_request(&d, &h, &has_data) ? 0 : h.opcode;
}

/* The channel's work on an SdExchangeKey answer of @len bytes in @rsp. */
static size_t tamper_xchg(struct chan *c, uint8_t *rsp, size_t len, size_t cap)
{
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	struct mbor_map m;
	const uint8_t *key = NULL, *sig = NULL, *p;
	size_t klen = 0, slen = 0, n;
	bool has_data;
	uint8_t id;

	mbor_dec_init(&d, rsp, len);
	if (azihsm_msg_parse_response(&d, &h, &has_data) || !has_data || h.status ||
	    mbor_dec_map(&d, &m))
		return len;
	while (mbor_dec_next(&d, &m, &id) == 1 && !mbor_dec_bytes(&d, &p, &n)) {
		if (id == AZIHSM_SD_F_XCHG_KEY) {
			key = p;
			klen = n;
		} else if (id == AZIHSM_SD_F_XCHG_SIG) {
			sig = p;
			slen = n;
		}
	}
	c->xchg_len = key && klen <= sizeof(c->xchg) ? klen : 0;
	c->sig_len = sig && slen == sizeof(c->sig) ? slen : 0;
	memcpy(c->xchg, key, c->xchg_len);
	memcpy(c->sig, sig, c->sig_len);
	if (c->mode == CHAN_SWAP_KEY && key) {
		/* Its own key in the same place (a P-384 SPKI is 120 bytes either way). */
		unsigned char der[200], *q = der;
		int dn = i2d_PUBKEY(c->theirs, &q);

		if (dn == (int)klen)
			memcpy((uint8_t *)key, der, klen);
	} else if (c->mode == CHAN_FLIP_SIG && sig) {
		((uint8_t *)sig)[slen / 2] ^= 0x01;
	} else if (c->mode == CHAN_DROP_SIG && key) {
		uint8_t out[512];
		struct mbor_enc e;

		memcpy(out, key, klen);	/* @key points into @rsp: copy first */
		mbor_enc_init(&e, rsp, cap);
		azihsm_msg_begin_response(&e, &h);
		mbor_enc_map(&e, 1);
		mbor_enc_key(&e, AZIHSM_SD_F_XCHG_KEY);
		mbor_enc_bytes(&e, out, klen);
		if (mbor_enc_finish(&e, &len))
			return 0;
	}
	return len;
}

/* The transport: what the driver's ioctl does, with the channel in the middle. */
static int chan_xfer(void *ctx, struct lib_xfer *x)
{
	struct chan *c = ctx;
	struct hsm_fw_cmd cmd = {
		.in = x->req, .in_len = x->req_len, .out = x->rsp, .out_cap = x->rsp_cap,
		.session_flags = x->session_flags, .session_id = x->session_id,
	};
	uint32_t op = req_opcode(x);
	uint16_t sc;

	if (op == AZIHSM_OP_SD_UPLOAD)
		c->uploads++;
	drv_app_fill(&cmd);
	sc = hsm_fw_execute(c->fw, &cmd);
	drv_app_record(&cmd);
	if (sc) {
		lib_set_status(AZIHSM_STATUS_KIND_COMPLETION, sc);
		return -EIO;
	}
	if (op == AZIHSM_OP_SD_EXCHANGE_KEY)
		cmd.out_len = tamper_xchg(c, x->rsp, cmd.out_len, x->rsp_cap);
	return (int)cmd.out_len;
}

static char dir[64];

/* A provisioned device under @pki's root (made on first use), state file dir/@name. */
static struct hsm_fw *device(struct test_pki *pki, const char *name, const char *serial)
{
	char path[128], cert[160], pkidir[sizeof(pki->dir)];
	struct hsm_fw_config cfg = { .serial = serial, .fw_rev = "2.0.1" };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(cert, sizeof(cert), "%s/%s.devcert", dir, name);
	snprintf(pkidir, sizeof(pkidir), "%s", pki->dir);	/* test_pki_init clears @pki */
	cfg.state_path = path;
	if (test_pki_init(pki, pkidir[0] ? pkidir : NULL, cert, &cfg))
		return NULL;
	return test_pki_fw_new(pki, &cfg);
}

/* An officer session past its first PIN change, or NULL. */
static struct azihsm_session *officer(struct azihsm_dev *dev)
{
	struct azihsm_session *s = NULL;
	int ret = azihsm_login(dev, AZIHSM_ROLE_OFFICER, NULL, "CO-default-PIN-1", &s);

	if (!ret)
		ret = azihsm_change_pin(s, "CO-default-PIN-1", "officer-pin-0042");
	if (ret) {
		printf("#   officer login: %s (status %s)\n", azihsm_strerror(ret),
		       azihsm_status_str(azihsm_last_status(NULL)));
		if (s)
			azihsm_logout(s);
		return NULL;
	}
	return s;
}

/* OpenSSL alone: @sig (raw r || s) by the key of partition certificate @cert over @msg. */
static bool ossl_es384(const uint8_t *cert, size_t cert_len, const uint8_t *msg, size_t len,
		       const uint8_t *sig)
{
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 48, NULL), *s = BN_bin2bn(sig + 48, 48, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int dl = -1;
	bool ok = false;

	if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
		r = s = NULL;
		dl = i2d_ECDSA_SIG(es, &der);
	}
	if (k && md && dl > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, k) == 1)
		ok = EVP_DigestVerify(md, der, (size_t)dl, msg, len) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_PKEY_free(k);
	X509_free(x);
	return ok;
}

static bool domain_active(struct azihsm_session *s, const uint8_t *want)
{
	uint8_t id[AZIHSM_SD_ID_LEN];
	uint8_t q = 0;
	bool active = false;

	if (azihsm_sd_info(s, &active, id, &q))
		return true;	/* unknown: counts as "changed" */
	return active && (!want || !memcmp(id, want, sizeof(id)));
}

int main(void)
{
	static struct azihsm_sd_domain dom;
	struct test_pki ours = { 0 }, theirs = { 0 };
	struct chan a = { 0 }, b = { 0 };
	struct azihsm_dev *dev_a = NULL, *dev_b = NULL;
	struct azihsm_session *sa, *sb;
	EVP_PKEY *owner[3] = { NULL };
	uint8_t own_der[3][600], cert[AZIHSM_CERT_MAX], key[32], msg[256];
	const uint8_t *derp[3];
	size_t own_len[3], cert_len = 0, c = sizeof(AZIHSM_SD_XCHG_SIG_CONTEXT) - 1;
	const unsigned int idx[2] = { 0, 2 };
	void *keys[2];
	unsigned int i;
	int ret;

	snprintf(dir, sizeof(dir), "/tmp/azihsm-lib-sd.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	/* Another manufacturer's root first: test_pki_init trusts the last one made. */
	if (test_pki_init(&theirs, NULL, NULL, &(struct hsm_fw_config){ 0 })) {
		printf("Bail out! scripts/mkpki\n");
		return 1;
	}
	a.fw = device(&ours, "A", "LIBSD-A");
	b.fw = a.fw ? device(&ours, "B", "LIBSD-B") : NULL;
	b.theirs = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!b.fw || !b.theirs || lib_dev_open_transport(chan_xfer, &a, &dev_a) ||
	    lib_dev_open_transport(chan_xfer, &b, &dev_b)) {
		printf("Bail out! devices did not start\n");
		return 1;
	}
	for (i = 0; i < 3; i++) {
		unsigned char *p = own_der[i];

		owner[i] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		own_len[i] = owner[i] ? (size_t)i2d_PUBKEY(owner[i], &p) : 0;
		derp[i] = own_der[i];
	}

	sa = officer(dev_a);
	tap_ok(sa != NULL, "A: officer session past its PIN change");
	ret = sa ? azihsm_sd_activate(sa, 2, derp, own_len, 3, &dom) : -1;
	tap_eq(ret, 0, "A: SdActivate, 3 owners, quorum 2");
	keys[0] = owner[0];
	keys[1] = owner[2];
	tap_eq(azihsm_sd_combine_shares(&dom, keys, idx, 2, key), 0,
	       "owners: shares 1 and 3 recombine the domain key");

	sb = officer(dev_b);
	if (!tap_ok(sb != NULL, "B: officer session past its PIN change"))
		return tap_done();

	/* The device's side, checked with OpenSSL alone. */
	b.mode = CHAN_FLIP_SIG;	/* the channel records the answer before it flips */
	azihsm_sd_upload(sb, &dom, key, NULL);
	tap_ok(b.xchg_len == 120 && b.sig_len == 96,
	       "B: SdExchangeKey answers a P-384 key (120 bytes) and a 96-byte signature");
	tap_eq(azihsm_get_certificate(dev_b, 2, cert, sizeof(cert), &cert_len), 0,
	       "B: its partition certificate");
	memcpy(msg, AZIHSM_SD_XCHG_SIG_CONTEXT, c);
	memcpy(msg + c, b.xchg, b.xchg_len);
	tap_ok(ossl_es384(cert, cert_len, msg, c + b.xchg_len, b.sig),
	       "OpenSSL: the partition key signed \"%s\" || the exchange key",
	       AZIHSM_SD_XCHG_SIG_CONTEXT);
	msg[c + 60] ^= 0x40;
	tap_ok(!ossl_es384(cert, cert_len, msg, c + b.xchg_len, b.sig),
	       "OpenSSL: not over an exchange key with a flipped byte");
	msg[c + 60] ^= 0x40;
	tap_ok(!ossl_es384(cert, cert_len, msg, c - 1, b.sig) &&
	       !ossl_es384(cert, cert_len, msg + c, b.xchg_len, b.sig),
	       "OpenSSL: the context is part of the message (domain separation)");

	/* The owners' side: the library refuses what the device does not vouch for. */
	b.uploads = 0;
	b.mode = CHAN_SWAP_KEY;
	tap_eq(azihsm_sd_upload(sb, &dom, key, NULL), -ENOKEY,
	       "the exchange key swapped for the channel's own P-384 key: -ENOKEY");
	b.mode = CHAN_FLIP_SIG;
	tap_eq(azihsm_sd_upload(sb, &dom, key, NULL), -ENOKEY,
	       "a flipped signature byte: -ENOKEY");
	b.mode = CHAN_DROP_SIG;
	tap_eq(azihsm_sd_upload(sb, &dom, key, NULL), -ENOKEY, "no signature: -ENOKEY");
	b.mode = CHAN_PASS;
	tap_eq(azihsm_sd_upload(sb, &dom, key, theirs.root), -ENOKEY,
	       "a device that does not chain to the root the owners trust: -ENOKEY");
	tap_eq(b.uploads, 0, "no SdUpload was sent in any of them (the domain key never left)");
	tap_ok(!domain_active(sb, NULL), "B: no domain installed");

	/* Which device: the owners pin B by serial or device-certificate fingerprint. */
	{
		char serial[AZIHSM_DEVICE_SERIAL_MAX + 1], hexfp[3 * AZIHSM_DEVICE_FP_LEN + 1];
		char afp[2 * AZIHSM_DEVICE_FP_LEN + 1];
		uint8_t fp[AZIHSM_DEVICE_FP_LEN], want[32], fpa[AZIHSM_DEVICE_FP_LEN];
		size_t dlen = 0;

		tap_ok(!azihsm_device_identity(dev_b, serial, fp) && !strcmp(serial, "LIBSD-B") &&
			       !azihsm_get_certificate(dev_b, 1, cert, sizeof(cert), &dlen) &&
			       EVP_Q_digest(NULL, "SHA256", NULL, cert, dlen, want, NULL) &&
			       !memcmp(fp, want, sizeof(fp)),
		       "B: azihsm_device_identity: serial LIBSD-B, fingerprint = SHA-256 (OpenSSL) "
		       "of its device certificate");
		for (i = 0; i < AZIHSM_DEVICE_FP_LEN; i++)
			snprintf(hexfp + 3 * i, 4, "%02X%s", fp[i],
				 i + 1 < AZIHSM_DEVICE_FP_LEN ? ":" : "");
		azihsm_device_identity(dev_a, serial, fpa);
		for (i = 0; i < AZIHSM_DEVICE_FP_LEN; i++)
			snprintf(afp + 2 * i, 3, "%02x", fpa[i]);
		b.uploads = 0;
		a.uploads = 0;
		tap_eq(azihsm_sd_upload_to(sb, &dom, key, ours.root, "LIBSD-A"), -EXDEV,
		       "B's genuine exchange key, but the owners named LIBSD-A: -EXDEV");
		tap_eq(azihsm_sd_upload_to(sb, &dom, key, ours.root, afp), -EXDEV,
		       "... or A's fingerprint: -EXDEV");
		hexfp[strlen(hexfp) - 1] = 0;
		tap_eq(azihsm_sd_upload_to(sb, &dom, key, ours.root, hexfp), -EXDEV,
		       "a fingerprint one digit short is no match: -EXDEV");
		tap_eq(azihsm_sd_upload_to(sa, &dom, key, ours.root, "LIBSD-B"), -EXDEV,
		       "the channel leads to A (same root) while the owners named B: -EXDEV");
		tap_ok(b.uploads == 0 && a.uploads == 0 && !domain_active(sb, NULL),
		       "no SdUpload sent to either device; B has no domain");
		tap_eq(azihsm_sd_upload_to(sb, &dom, key, ours.root, ""), -EINVAL,
		       "an empty expected device: -EINVAL");
		snprintf(hexfp + 3 * (AZIHSM_DEVICE_FP_LEN - 1), 4, "%02X", fp[AZIHSM_DEVICE_FP_LEN - 1]);
		tap_eq(azihsm_sd_upload_to(sb, &dom, key, ours.root, hexfp), 0,
		       "B's own fingerprint (upper case, colons): the upload installs the domain");
	}
	tap_eq(b.uploads, 1, "one SdUpload");
	tap_ok(domain_active(sb, dom.id), "B: A's domain is installed");

	OPENSSL_cleanse(key, sizeof(key));
	azihsm_logout(sb);
	if (sa)
		azihsm_logout(sa);
	azihsm_close(dev_a);
	azihsm_close(dev_b);
	hsm_fw_free(a.fw);
	hsm_fw_free(b.fw);
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(owner[i]);
	EVP_PKEY_free(b.theirs);
	test_pki_done(&theirs);
	test_pki_done(&ours);
	snprintf((char *)msg, sizeof(msg), "rm -rf '%s'", dir);
	if (system((char *)msg))
		printf("# could not remove %s\n", dir);
	return tap_done();
}
