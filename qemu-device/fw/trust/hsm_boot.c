// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware: secure boot and measurement (hsm_boot.h).
 *
 * The manifest is text, one field a line, in this order and nothing else
 * (Documentation/hsm-design.md, "Secure boot and measurement"):
 *
 *   azihsm-manifest 1
 *   version <1..32 of [A-Za-z0-9._+-]>
 *   svn <decimal u32, no leading zero>
 *   code-sha384 <96 lowercase hex>
 *   signer <lowercase hex of the vendor key's DER SubjectPublicKeyInfo, P-384>
 *   signature <lowercase hex of a DER ECDSA-SHA384 signature>
 *
 * The signature covers every byte before the "signature" line (the signed
 * part); the measurement is SHA-384 of the signed part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm_boot.h"
#include "hsm_ctrl.h"
#include "hsm_fw_int.h"

#define BOOT_SIGNER_MAX		256	/* DER SPKI of a P-384 key: 120 bytes */
#define BOOT_SIG_MAX		128	/* DER ECDSA-SHA384: <= 104 bytes */

bool hsm_boot_ok(enum azihsm_boot reason)
{
	return reason == AZIHSM_BOOT_VERIFIED || reason == AZIHSM_BOOT_UNSIGNED;
}

const char *hsm_boot_reason_name(enum azihsm_boot reason)
{
	return azihsm_boot_name(reason);
}

static int sha384(const void *p, size_t len, uint8_t out[HSM_BOOT_DIGEST_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(p, len, out, &n, EVP_sha384(), NULL) || n != HSM_BOOT_DIGEST_LEN)
		return -1;
	return 0;
}

/* A line of the manifest: "<key> <value>\n", value without the newline. */
struct boot_cursor {
	const char *p, *end;
};

static bool boot_line(struct boot_cursor *c, const char *key, const char **val, size_t *len)
{
	size_t klen = strlen(key);
	const char *nl;

	if ((size_t)(c->end - c->p) < klen + 2 || memcmp(c->p, key, klen) || c->p[klen] != ' ')
		return false;
	*val = c->p + klen + 1;
	nl = memchr(*val, '\n', c->end - *val);
	if (!nl || nl == *val)
		return false;
	*len = nl - *val;
	c->p = nl + 1;
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;	/* upper case too: one spelling only */
}

/* Lowercase hex @s (@len chars) into @out (at most @cap bytes); -1 if not. */
static int unhex(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	size_t i;

	if (len % 2 || len / 2 > cap || len == 0)
		return -1;
	for (i = 0; i < len / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

_Static_assert(HSM_CTRL_ROOT_HASH_HEX == 2 * HSM_BOOT_DIGEST_LEN, "fuse property length");

int hsm_boot_parse_root(const char *hex, uint8_t out[HSM_BOOT_DIGEST_LEN])
{
	size_t n;

	if (!hex || strlen(hex) != 2 * HSM_BOOT_DIGEST_LEN ||
	    unhex(hex, strlen(hex), out, HSM_BOOT_DIGEST_LEN, &n))
		return -1;
	return 0;
}

static bool version_ok(const char *v, size_t len)
{
	size_t i;

	if (len == 0 || len > HSM_BOOT_VERSION_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '+' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static bool svn_parse(const char *s, size_t len, uint32_t *svn)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*svn = (uint32_t)v;
	return true;
}

/* The signer's key: an EC P-384 public key, nothing else. */
static EVP_PKEY *signer_key(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	char group[32];
	size_t glen = 0;

	if (!pk)
		return NULL;
	if (p != der + len || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &glen) ||
	    strcmp(group, "secp384r1")) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

static bool sig_verifies(EVP_PKEY *pk, const uint8_t *msg, size_t len, const uint8_t *sig,
			 size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, pk) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void hsm_boot_verify(const struct hsm_boot_config *cfg, const uint8_t *m, size_t len,
		     struct hsm_boot_state *out)
{
	struct boot_cursor c = { (const char *)m, (const char *)m + len };
	uint8_t signer[BOOT_SIGNER_MAX], sig[BOOT_SIG_MAX], hash[HSM_BOOT_DIGEST_LEN];
	size_t vlen, signer_len, sig_len, n, signed_len;
	const char *v;
	EVP_PKEY *pk;
	uint32_t svn;

	memset(out, 0, sizeof(*out));
	out->reason = AZIHSM_BOOT_MALFORMED;
	if (!m || len > HSM_BOOT_MANIFEST_MAX || memchr(m, '\0', len))
		return;
	out->fuses.has_root = cfg->has_root;
	memcpy(out->fuses.root_hash, cfg->root_hash, sizeof(out->fuses.root_hash));
	out->fuses.min_svn = cfg->min_svn;
	memcpy(out->image, m, len);
	out->image_len = len;
	if (!boot_line(&c, "azihsm-manifest", &v, &vlen) || vlen != 1 || v[0] != '1')
		return;
	if (!boot_line(&c, "version", &v, &vlen) || !version_ok(v, vlen))
		return;
	memcpy(out->version, v, vlen);
	if (!boot_line(&c, "svn", &v, &vlen) || !svn_parse(v, vlen, &svn))
		return;
	if (!boot_line(&c, "code-sha384", &v, &vlen) ||
	    unhex(v, vlen, out->code_digest, sizeof(out->code_digest), &n) ||
	    n != HSM_BOOT_DIGEST_LEN)
		return;
	if (!boot_line(&c, "signer", &v, &vlen) ||
	    unhex(v, vlen, signer, sizeof(signer), &signer_len))
		return;
	signed_len = (size_t)(c.p - (const char *)m);
	if (!boot_line(&c, "signature", &v, &vlen) ||
	    unhex(v, vlen, sig, sizeof(sig), &sig_len) || c.p != c.end)
		return;
	/* It parses: from here on it is measured, whatever the verdict. */
	if (sha384(m, signed_len, out->measurement))
		return;
	out->svn = svn;

	if (!cfg->has_root) {
		out->reason = AZIHSM_BOOT_NO_ROOT;
		return;
	}
	if (sha384(signer, signer_len, hash) ||
	    CRYPTO_memcmp(hash, cfg->root_hash, sizeof(hash))) {
		out->reason = AZIHSM_BOOT_WRONG_ROOT;
		return;
	}
	pk = signer_key(signer, signer_len);
	if (!pk)
		return;		/* the fused root is not a P-384 key: MALFORMED */
	if (!sig_verifies(pk, m, signed_len, sig, sig_len)) {
		EVP_PKEY_free(pk);
		out->reason = AZIHSM_BOOT_BAD_SIGNATURE;
		return;
	}
	EVP_PKEY_free(pk);
	/* Only a signed SVN counts: checked after the signature. */
	out->reason = svn < cfg->min_svn ? AZIHSM_BOOT_ROLLBACK : AZIHSM_BOOT_VERIFIED;
}

/*
 * No image: measure the configuration the firmware starts with, in a
 * fixed encoding (label NUL, version NUL, SVN as 4 bytes big-endian).
 */
static void boot_unsigned(const char *fw_rev, struct hsm_boot_state *out)
{
	uint8_t buf[sizeof(HSM_BOOT_UNSIGNED_LABEL) + HSM_BOOT_VERSION_MAX + 1 + 4];
	size_t n = 0, vlen;

	memset(out, 0, sizeof(*out));
	out->reason = AZIHSM_BOOT_UNSIGNED;
	snprintf(out->version, sizeof(out->version), "%s", fw_rev ? fw_rev : "");
	vlen = strlen(out->version);
	memcpy(buf, HSM_BOOT_UNSIGNED_LABEL, sizeof(HSM_BOOT_UNSIGNED_LABEL));
	n += sizeof(HSM_BOOT_UNSIGNED_LABEL);
	memcpy(buf + n, out->version, vlen + 1);
	n += vlen + 1;
	memset(buf + n, 0, 4);	/* SVN 0 */
	n += 4;
	if (sha384(buf, n, out->measurement))
		memset(out->measurement, 0, sizeof(out->measurement));
}

enum azihsm_boot hsm_boot_load(const struct hsm_boot_config *cfg, const char *fw_rev,
			       struct hsm_boot_state *out)
{
	uint8_t buf[HSM_BOOT_MANIFEST_MAX + 1];
	size_t len;
	FILE *f;

	if (!cfg || (!cfg->image_path && !cfg->has_root && !cfg->min_svn)) {
		boot_unsigned(fw_rev, out);
		return out->reason;
	}
	memset(out, 0, sizeof(*out));
	out->reason = AZIHSM_BOOT_NO_IMAGE;
	if (!cfg->image_path)
		return out->reason;
	f = fopen(cfg->image_path, "rb");
	if (!f)
		return out->reason;
	len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		fclose(f);
		return out->reason;
	}
	fclose(f);
	/* One byte more than the limit was read: too large, MALFORMED. */
	hsm_boot_verify(cfg, buf, len, out);
	return out->reason;
}

int hsm_boot_recheck(const struct hsm_boot_state *st, bool corrupt)
{
	struct hsm_boot_state *now = malloc(sizeof(*now));
	int ret = -1;

	if (!now)
		return -1;
	if (st->reason == AZIHSM_BOOT_UNSIGNED)
		boot_unsigned(st->version, now);
	else if (st->reason == AZIHSM_BOOT_VERIFIED)
		hsm_boot_verify(&st->fuses, st->image, st->image_len, now);
	else
		goto out;
	if (corrupt)
		now->measurement[0] ^= 1;
	if (now->reason == st->reason &&
	    !CRYPTO_memcmp(now->measurement, st->measurement, sizeof(now->measurement)))
		ret = 0;
out:
	free(now);
	return ret;
}

const uint8_t *hsm_boot_measurement(const struct hsm_fw *fw)
{
	return fw->boot.measurement;
}

uint32_t hsm_boot_svn(const struct hsm_fw *fw)
{
	return fw->boot.svn;
}

const char *hsm_boot_version(const struct hsm_fw *fw)
{
	return fw->boot.version;
}

enum azihsm_boot hsm_boot_reason(const struct hsm_fw *fw)
{
	return fw->boot.reason;
}
