// SPDX-License-Identifier: MIT
/*
 * azihsm validate: NIST CAVP (.rsp, Debian's python3-cryptography-vectors)
 * and ACVP (JSON, tests/data/acvp) vectors through the paths of
 * validate.h; per algorithm and mode run / passed / failed / not
 * applicable, the first failures, --json and --junit reports
 * (Documentation/validation.md, library.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "cli-sess.h"
#include "validate.h"
#include "vectors.h"

#define CAVP_DIR	"/usr/lib/python3/dist-packages/cryptography_vectors"
#define ACVP_DIR	"/usr/share/azihsm/acvp"
#define FIRST_FAILS	3
/* Where RSA SigGen takes its keys from (rsa_siggen_key). */
#define RSA_KEY_FILE	"asymmetric/RSA/FIPS_186-2/SigVer15_186-3.rsp"

/* One line of the report: an algorithm and mode on one path. */
struct val_stat {
	const char *path, *alg, *mode;
	unsigned int run, passed, failed, na;
	char na_reason[3][200];	/* the distinct reasons, first three */
	unsigned int nfails;
	char fails[FIRST_FAILS][256];
};

struct val_run {
	struct val_backend *b;
	const char *cavp, *acvp;
	unsigned int sample;	/* 0: every vector; else at most this many per file */
	bool progress;
	struct val_stat *stats;
	size_t nstats;
	struct val_stat *cur;
	const char *file;	/* the current file, for failure lines */
	unsigned int idx, stride, total;
	bool want;		/* sampling: run the next applicable vector */
	time_t last_draw;
	int param;
	EVP_PKEY *rsa_keys[3];	/* RSA SigGen keys: 2048, 3072, 4096 */
};

struct suite {
	const char *alg, *mode;
	bool acvp;		/* else CAVP */
	const char *file;	/* relative to the vector directory */
	const char *trigger;	/* CAVP: the field that makes a block a test */
	void (*run)(struct val_run *v, const struct vec_rec *r);
	int param;
};

/* --- outcomes ---------------------------------------------------------------- */

static void v_pass(struct val_run *v)
{
	v->cur->run++;
	v->cur->passed++;
}

static void __attribute__((format(printf, 3, 4)))
v_fail(struct val_run *v, const struct vec_rec *r, const char *fmt, ...)
{
	struct val_stat *s = v->cur;
	const char *base = strrchr(v->file, '/');
	va_list ap;
	int n;

	s->run++;
	s->failed++;
	if (s->nfails >= FIRST_FAILS)
		return;
	n = snprintf(s->fails[s->nfails], sizeof(s->fails[0]), "%s:%u: ",
		     base ? base + 1 : v->file, r->line);
	va_start(ap, fmt);
	vsnprintf(s->fails[s->nfails] + n, sizeof(s->fails[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	s->nfails++;
}

static void v_na(struct val_run *v, const char *why)
{
	v->cur->na++;
	for (size_t i = 0; i < ARRAY_LEN(v->cur->na_reason); i++) {
		if (!v->cur->na_reason[i][0]) {
			snprintf(v->cur->na_reason[i], sizeof(v->cur->na_reason[i]), "%s", why);
			return;
		}
		if (!strncmp(v->cur->na_reason[i], why, sizeof(v->cur->na_reason[i]) - 1))
			return;
	}
}

/* A backend's answer: 0 go on, else the outcome is recorded. */
static int v_result(struct val_run *v, const struct vec_rec *r, int ret, const char *why)
{
	if (ret == VAL_NA) {
		v_na(v, why);
		return 1;
	}
	if (ret) {
		v_fail(v, r, "error: %s", why ? why : azihsm_strerror(ret));
		return 1;
	}
	return 0;
}

/* --- helpers ----------------------------------------------------------------- */

/* A hex field into *out (free it); false (a failure recorded) if bad. */
static bool field_hex(struct val_run *v, const struct vec_rec *r, const char *name,
		      uint8_t **out, size_t *len)
{
	const char *s = vec_get_ci(r, name);

	*out = NULL;
	if (!s || vec_hex(s, out, len)) {
		v_fail(v, r, "vector field %s missing or not hex", name);
		return false;
	}
	return true;
}

static bool same(const uint8_t *a, const uint8_t *b, size_t len)
{
	return !len || !memcmp(a, b, len);
}

/* The SHA-2 size a hash name gives ("SHA256", "SHA-384", "SHA2-512"), else 0. */
static int hash_bits(const char *name)
{
	size_t n;

	if (!name || strchr(name, '/') || strstr(name, "SHA3") || strstr(name, "SHAKE"))
		return 0;
	n = strlen(name);
	if (n >= 3 && !strcmp(name + n - 3, "256"))
		return 256;
	if (n >= 3 && !strcmp(name + n - 3, "384"))
		return 384;
	if (n >= 3 && !strcmp(name + n - 3, "512"))
		return 512;
	return 0;
}

static const EVP_MD *md_of(int bits)
{
	return bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : EVP_sha512();
}

static int curve_nid(const char *name)
{
	if (!name)
		return 0;
	if (!strncmp(name, "P-256", 5))
		return NID_X9_62_prime256v1;
	if (!strncmp(name, "P-384", 5))
		return NID_secp384r1;
	if (!strncmp(name, "P-521", 5))
		return NID_secp521r1;
	return 0;
}

static enum azihsm_key_type ec_type(int nid)
{
	return nid == NID_X9_62_prime256v1 ? AZIHSM_KEY_TYPE_EC_P256 :
	       nid == NID_secp384r1 ? AZIHSM_KEY_TYPE_EC_P384 : AZIHSM_KEY_TYPE_EC_P521;
}

/* --- AES --------------------------------------------------------------------- */

/* Decrypt or encrypt: the CAVP section, or the ACVP direction. */
static bool is_decrypt(const struct vec_rec *r)
{
	const char *d = vec_get(r, "direction");

	return d ? !strcmp(d, "decrypt") : vec_get(r, "DECRYPT") != NULL;
}

static void run_aes(struct val_run *v, const struct vec_rec *r, enum azihsm_aes_mode mode,
		    const char *kname, const char *ivname, const char *ptname,
		    const char *ctname, size_t bits)
{
	uint8_t *key = NULL, *iv = NULL, *pt = NULL, *ct = NULL, *out = NULL;
	size_t klen, ivlen = 0, ptlen, ctlen, cmp;
	bool dec = is_decrypt(r);
	const char *why = NULL;
	int ret;

	if (!field_hex(v, r, kname, &key, &klen) ||
	    (ivname && !field_hex(v, r, ivname, &iv, &ivlen)) ||
	    !field_hex(v, r, ptname, &pt, &ptlen) || !field_hex(v, r, ctname, &ct, &ctlen))
		goto out;
	if (ptlen != ctlen || (iv && ivlen != 16) || bits > ptlen * 8 ||
	    (bits && bits <= (ptlen - 1) * 8)) {
		v_fail(v, r, "vector lengths do not match");
		goto out;
	}
	out = malloc(ptlen + 1);
	if (!out)
		goto out;
	ret = v->b->ops->aes(v->b, mode, dec, key, klen, iv, dec ? ct : pt, ptlen, out, &why);
	if (v_result(v, r, ret, why))
		goto out;
	/* A bit length (ACVP CTR): compare that many bits. */
	cmp = bits ? bits / 8 : ptlen;
	if (same(out, dec ? pt : ct, cmp) &&
	    (!bits || !(bits % 8) ||
	     !((out[cmp] ^ (dec ? pt : ct)[cmp]) & (0xff00 >> (bits % 8)))))
		v_pass(v);
	else
		v_fail(v, r, "%s: output differs from the expected value",
		       dec ? "decrypt" : "encrypt");
out:
	free(key);
	free(iv);
	free(pt);
	free(ct);
	free(out);
}

static void run_ecb(struct val_run *v, const struct vec_rec *r)
{
	run_aes(v, r, AZIHSM_AES_MODE_ECB, "KEY", NULL, "PLAINTEXT", "CIPHERTEXT", 0);
}

static void run_cbc(struct val_run *v, const struct vec_rec *r)
{
	run_aes(v, r, AZIHSM_AES_MODE_CBC, "KEY", "IV", "PLAINTEXT", "CIPHERTEXT", 0);
}

static void run_ctr_acvp(struct val_run *v, const struct vec_rec *r)
{
	const char *pl = vec_get(r, "payloadLen");

	run_aes(v, r, AZIHSM_AES_MODE_CTR, "key", "iv", "pt", "ct", pl ? strtoul(pl, NULL, 10) : 0);
}

static void run_xts(struct val_run *v, const struct vec_rec *r)
{
	const char *dul = vec_get_ci(r, "DataUnitLen");

	if (dul && strtoul(dul, NULL, 10) % 8) {
		v_na(v, "data units of a bit length (not whole bytes)");
		return;
	}
	run_aes(v, r, AZIHSM_AES_MODE_XTS, "Key", "i", "PT", "CT", 0);
}

/* GCM: CAVP (param 0 encrypt, 1 decrypt with FAIL cases) or ACVP. */
static void run_gcm(struct val_run *v, const struct vec_rec *r)
{
	uint8_t *key = NULL, *iv = NULL, *pt = NULL, *ct = NULL, *aad = NULL, *tag = NULL;
	uint8_t *out = NULL, tagout[16];
	size_t klen, ivlen, ptlen = 0, ctlen, aadlen, taglen;
	bool acvp = vec_get(r, "direction") != NULL;
	bool dec = acvp ? is_decrypt(r) : v->param == 1;
	bool expect_ok = acvp ? !vec_get(r, "testPassed") ||
				strcmp(vec_get(r, "testPassed"), "false") :
				!vec_get(r, "FAIL");
	bool auth_ok = true;
	const char *why = NULL;
	int ret;

	if (!field_hex(v, r, "key", &key, &klen) || !field_hex(v, r, "iv", &iv, &ivlen) ||
	    !field_hex(v, r, "ct", &ct, &ctlen) || !field_hex(v, r, "aad", &aad, &aadlen) ||
	    !field_hex(v, r, "tag", &tag, &taglen))
		goto out;
	if (expect_ok && !field_hex(v, r, "pt", &pt, &ptlen))
		goto out;
	if (taglen > 16 || (expect_ok && ptlen != ctlen)) {
		v_fail(v, r, "vector lengths do not match");
		goto out;
	}
	out = malloc(ctlen + 1);
	if (!out)
		goto out;
	memcpy(tagout, tag, taglen);
	ret = v->b->ops->gcm(v->b, dec, key, klen, iv, ivlen, aad, aadlen, dec ? ct : pt, ctlen,
			     out, tagout, taglen, &auth_ok, &why);
	if (v_result(v, r, ret, why))
		goto out;
	if (dec && auth_ok != expect_ok)
		v_fail(v, r, "decrypt: the tag was %s, the vector says %s",
		       auth_ok ? "accepted" : "refused", expect_ok ? "valid" : "FAIL");
	else if (dec && auth_ok && !same(out, pt, ptlen))
		v_fail(v, r, "decrypt: plaintext differs from the expected value");
	else if (!dec && (!same(out, ct, ctlen) || memcmp(tagout, tag, taglen)))
		v_fail(v, r, "encrypt: %s differs from the expected value",
		       same(out, ct, ctlen) ? "tag" : "ciphertext");
	else
		v_pass(v);
out:
	free(key);
	free(iv);
	free(pt);
	free(ct);
	free(aad);
	free(tag);
	free(out);
}

/* --- hashes and MACs --------------------------------------------------------- */

static void run_sha(struct val_run *v, const struct vec_rec *r)
{
	uint8_t *msg = NULL, *md = NULL, out[64];
	size_t mlen, mdlen;
	const char *len = vec_get_ci(r, "Len"), *why = NULL;
	unsigned long bits = len ? strtoul(len, NULL, 10) : 0;
	int ret;

	if (!field_hex(v, r, "Msg", &msg, &mlen) || !field_hex(v, r, "MD", &md, &mdlen))
		goto out;
	if (bits % 8) {
		v_na(v, "messages of a bit length (not whole bytes)");
		goto out;
	}
	if (bits / 8 > mlen) {
		v_fail(v, r, "vector Len exceeds its Msg");
		goto out;
	}
	ret = v->b->ops->hash(v->b, v->param, msg, bits / 8, out, &why);
	if (v_result(v, r, ret, why))
		goto out;
	if (mdlen == (size_t)v->param / 8 && !memcmp(out, md, mdlen))
		v_pass(v);
	else
		v_fail(v, r, "digest differs from the expected value");
out:
	free(msg);
	free(md);
}

static void run_hmac_acvp(struct val_run *v, const struct vec_rec *r)
{
	uint8_t *key = NULL, *msg = NULL, *mac = NULL, out[64];
	size_t klen, mlen, maclen;
	const char *why = NULL, *ml = vec_get(r, "macLen");
	int bits = hash_bits(vec_get(r, "algorithm")), ret;

	if (!field_hex(v, r, "key", &key, &klen) || !field_hex(v, r, "msg", &msg, &mlen) ||
	    !field_hex(v, r, "mac", &mac, &maclen))
		goto out;
	if (!bits || (ml && strtoul(ml, NULL, 10) != maclen * 8) || maclen > (size_t)bits / 8) {
		v_fail(v, r, "vector fields do not fit HMAC-SHA2");
		goto out;
	}
	ret = v->b->ops->hmac(v->b, bits, key, klen, msg, mlen, out, &why);
	if (v_result(v, r, ret, why))
		goto out;
	if (!memcmp(out, mac, maclen))
		v_pass(v);
	else
		v_fail(v, r, "MAC differs from the expected value");
out:
	OPENSSL_clear_free(key, klen);
	free(msg);
	free(mac);
}

/* --- signatures -------------------------------------------------------------- */

static EVP_PKEY *pkey_from(OSSL_PARAM_BLD *bld, const char *alg, bool priv)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pk = NULL;

	if (!params || !c || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) != 1)
		pk = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(c);
	return pk;
}

/* An EC key from hex coordinates (and @d, may be NULL). */
static EVP_PKEY *ec_key(int nid, const char *qx, const char *qy, const char *d)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *x = NULL, *y = NULL, *k = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t pub[1 + 2 * 66];
	int fl = nid == NID_X9_62_prime256v1 ? 32 : nid == NID_secp384r1 ? 48 : 66;

	if (!bld || !BN_hex2bn(&x, qx) || !BN_hex2bn(&y, qy) || (d && !BN_hex2bn(&k, d)))
		goto out;
	pub[0] = 4;
	if (BN_bn2binpad(x, pub + 1, fl) != fl || BN_bn2binpad(y, pub + 1 + fl, fl) != fl)
		goto out;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    OBJ_nid2sn(nid), 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					     1 + 2 * (size_t)fl) != 1 ||
	    (k && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, k) != 1))
		goto out;
	pk = pkey_from(bld, "EC", k != NULL);
out:
	BN_free(x);
	BN_free(y);
	BN_clear_free(k);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

#define ECDSA_DER_MAX	160	/* a P-521 signature is at most 139 bytes */

/* DER Ecdsa-Sig-Value of hex r, s into @der (ECDSA_DER_MAX); its length or 0. */
static size_t ecdsa_der(const char *rh, const char *sh, uint8_t *der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	uint8_t *p = der;
	int n = 0;

	if (sig && rh && sh && BN_hex2bn(&r, rh) && BN_hex2bn(&s, sh) &&
	    ECDSA_SIG_set0(sig, r, s) == 1) {
		r = s = NULL;
		n = i2d_ECDSA_SIG(sig, NULL);
		n = n > 0 && n <= ECDSA_DER_MAX ? i2d_ECDSA_SIG(sig, &p) : 0;
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return n > 0 ? (size_t)n : 0;
}

static bool ossl_verify(EVP_PKEY *pub, int bits, enum azihsm_rsa_padding pad,
			const uint8_t *dg, size_t dlen, const uint8_t *sig, size_t slen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	bool ok = c && EVP_PKEY_verify_init(c) == 1 &&
		  EVP_PKEY_CTX_set_signature_md(c, md_of(bits)) == 1;

	if (ok && EVP_PKEY_is_a(pub, "RSA"))
		ok = EVP_PKEY_CTX_set_rsa_padding(c, pad == AZIHSM_RSA_PADDING_PSS ?
						  RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1 &&
		     (pad != AZIHSM_RSA_PADDING_PSS ||
		      EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_AUTO) == 1);
	ok = ok && EVP_PKEY_verify(c, sig, slen, dg, dlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

static bool digest(struct val_run *v, const struct vec_rec *r, int bits, uint8_t *dg,
		   size_t *dlen)
{
	uint8_t *msg;
	size_t mlen;
	unsigned int n = 0;
	bool ok;

	if (!field_hex(v, r, "Msg", &msg, &mlen))
		return false;
	ok = EVP_Digest(msg, mlen, dg, &n, md_of(bits), NULL) == 1;
	*dlen = n;
	free(msg);
	if (!ok)
		v_fail(v, r, "host digest failed");
	return ok;
}

/* Sign with a key the path generates, verify with OpenSSL. */
static void gen_sign_check(struct val_run *v, const struct vec_rec *r,
			   enum azihsm_key_type type, EVP_PKEY *key, int bits,
			   enum azihsm_rsa_padding pad)
{
	uint8_t dg[64], sig[1024];
	size_t dlen, slen = sizeof(sig);
	EVP_PKEY *pub = NULL;
	const char *why = NULL;
	int ret;

	if (!digest(v, r, bits, dg, &dlen))
		return;
	ret = v->b->ops->gen_sign(v->b, type, key, bits, pad, dg, dlen, sig, &slen, &pub, &why);
	if (v_result(v, r, ret, why))
		return;
	if (ossl_verify(pub, bits, pad, dg, dlen, sig, slen))
		v_pass(v);
	else
		v_fail(v, r, "OpenSSL does not verify the signature");
	EVP_PKEY_free(pub);
}

static void run_ecdsa_siggen(struct val_run *v, const struct vec_rec *r)
{
	const char *sec = vec_get(r, "_section");
	int nid = curve_nid(sec), bits = sec && strchr(sec, ',') ? hash_bits(strchr(sec, ',') + 1) : 0;

	if (!nid || !bits) {
		v_na(v, "the device signs on P-256/384/521 with SHA-256/384/512");
		return;
	}
	gen_sign_check(v, r, ec_type(nid), NULL, bits, 0);
}

static void verify_check(struct val_run *v, const struct vec_rec *r, EVP_PKEY *key, int bits,
			 enum azihsm_rsa_padding pad, const uint8_t *dg, size_t dlen,
			 const uint8_t *sig, size_t slen, bool expect)
{
	const char *why = NULL;
	bool valid = false;
	int ret = v->b->ops->verify(v->b, key, bits, pad, dg, dlen, sig, slen, &valid, &why);

	/* A key the device refuses (e.g. "e changed"): nothing verifies with it. */
	if (ret == VAL_KEY_REFUSED) {
		if (expect)
			v_fail(v, r, "the device refused the vector's key");
		else
			v_pass(v);
		return;
	}
	if (v_result(v, r, ret, why))
		return;
	if (valid == expect)
		v_pass(v);
	else
		v_fail(v, r, "verify says %s, the vector says %s", valid ? "valid" : "invalid",
		       expect ? "valid" : "invalid");
}

/* CAVP ECDSA SigVer: Qx, Qy, R, S, Result. */
static void run_ecdsa_sigver(struct val_run *v, const struct vec_rec *r)
{
	const char *sec = vec_get(r, "_section"), *res = vec_get(r, "Result");
	int nid = curve_nid(sec), bits = sec && strchr(sec, ',') ? hash_bits(strchr(sec, ',') + 1) : 0;
	uint8_t dg[64], sig[ECDSA_DER_MAX];
	size_t dlen, slen;
	EVP_PKEY *k;

	if (!nid || !bits) {
		v_na(v, "the device verifies on P-256/384/521 with SHA-256/384/512");
		return;
	}
	k = ec_key(nid, vec_get(r, "Qx"), vec_get(r, "Qy"), NULL);
	slen = ecdsa_der(vec_get(r, "R"), vec_get(r, "S"), sig);
	if (!res || !slen) {
		v_fail(v, r, "vector fields missing");
	} else if (!k) {
		/* A point off the curve: nothing can verify with it. */
		if (res[0] == 'F')
			v_pass(v);
		else
			v_fail(v, r, "the vector's public key does not load");
	} else if (digest(v, r, bits, dg, &dlen)) {
		verify_check(v, r, k, bits, 0, dg, dlen, sig, slen, res[0] == 'P');
	}
	EVP_PKEY_free(k);
}

/* ACVP ECDSA SigVer (FIPS 186-5): d, qx, qy, message (the digest in component tests). */
static void run_ecdsa_sigver_acvp(struct val_run *v, const struct vec_rec *r)
{
	const char *comp = vec_get(r, "componentTest"), *tp = vec_get(r, "testPassed");
	int nid = curve_nid(vec_get(r, "curve")), bits = hash_bits(vec_get(r, "hashAlg"));
	uint8_t *msg = NULL, dg[64], sig[ECDSA_DER_MAX];
	size_t mlen = 0, dlen, slen;
	EVP_PKEY *k = NULL;

	if (!nid || !bits) {
		v_na(v, "the device verifies on P-256/384/521 with SHA-256/384/512");
		return;
	}
	if (!field_hex(v, r, "message", &msg, &mlen))
		return;
	if (comp && !strcmp(comp, "true")) {
		if (mlen != (size_t)bits / 8) {
			v_na(v, "component test with a digest of another length than the hash's");
			goto out;
		}
		memcpy(dg, msg, mlen);
		dlen = mlen;
	} else {
		unsigned int n = 0;

		EVP_Digest(msg, mlen, dg, &n, md_of(bits), NULL);
		dlen = n;
	}
	k = ec_key(nid, vec_get(r, "qx"), vec_get(r, "qy"), vec_get(r, "d"));
	slen = ecdsa_der(vec_get(r, "r"), vec_get(r, "s"), sig);
	if (!k || !slen || !tp)
		v_fail(v, r, "vector key or signature does not load");
	else
		verify_check(v, r, k, bits, 0, dg, dlen, sig, slen, !strcmp(tp, "true"));
out:
	free(msg);
	EVP_PKEY_free(k);
}

/* The RSA private key of a vector: n, e, d and p, q (CRT values computed). */
static EVP_PKEY *rsa_key(const struct vec_rec *r)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *p = NULL, *q = NULL;
	BIGNUM *dp = BN_new(), *dq = BN_new(), *qi = NULL, *t = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	EVP_PKEY *pk = NULL;

	if (!bld || !dp || !dq || !t || !ctx || !BN_hex2bn(&n, vec_get(r, "n")) ||
	    !BN_hex2bn(&e, vec_get(r, "e")) || !BN_hex2bn(&d, vec_get(r, "d")) ||
	    !BN_hex2bn(&p, vec_get(r, "p")) || !BN_hex2bn(&q, vec_get(r, "q")))
		goto out;
	if (!BN_sub(t, p, BN_value_one()) || !BN_mod(dp, d, t, ctx) ||
	    !BN_sub(t, q, BN_value_one()) || !BN_mod(dq, d, t, ctx) ||
	    !(qi = BN_mod_inverse(NULL, q, p, ctx)))
		goto out;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi) == 1)
		pk = pkey_from(bld, "RSA", true);
out:
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(qi);
	BN_clear_free(t);
	BN_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

static bool rsa_size_ok(struct val_run *v, const struct vec_rec *r, unsigned long *mod,
			int *bits)
{
	const char *m = vec_get(r, "mod");

	*mod = m ? strtoul(m, NULL, 10) : 0;
	*bits = hash_bits(vec_get(r, "SHAAlg"));
	if (*mod != 2048 && *mod != 3072 && *mod != 4096) {
		v_na(v, "the device has RSA-2048, -3072 and -4096");
		return false;
	}
	if (!*bits) {
		v_na(v, "the device signs with SHA-256/384/512");
		return false;
	}
	return true;
}

struct rsa_pick {
	unsigned long mod;
	EVP_PKEY *key;
};

static int rsa_pick_cb(const struct vec_rec *r, void *arg)
{
	struct rsa_pick *p = arg;
	const char *m = vec_get(r, "mod"), *res = vec_get(r, "Result");

	if (!m || strtoul(m, NULL, 10) != p->mod || !res || res[0] != 'P')
		return 0;
	p->key = rsa_key(r);
	return p->key ? 1 : 0;
}

/*
 * The RSA key SigGen signs with: NIST's key of that size from the SigVer
 * file (n, e, d, p, q of a passing vector), imported. The CAVP SigGen
 * files do not give their d, and generating RSA-4096 in the device can
 * take longer than the driver's command timeout on a loaded host.
 */
static EVP_PKEY *rsa_siggen_key(struct val_run *v, unsigned long mod)
{
	size_t i = mod == 2048 ? 0 : mod == 3072 ? 1 : 2;
	struct rsa_pick p = { .mod = mod };
	char path[512];

	if (!v->rsa_keys[i]) {
		snprintf(path, sizeof(path), "%s/%s", v->cavp, RSA_KEY_FILE);
		vec_parse_file(path, "Result", rsa_pick_cb, &p);
		v->rsa_keys[i] = p.key;
	}
	return v->rsa_keys[i];
}

/* CAVP RSA SigGen (param: padding): NIST's key imported, OpenSSL verifies. */
static void run_rsa_siggen(struct val_run *v, const struct vec_rec *r)
{
	unsigned long mod;
	EVP_PKEY *key;
	int bits;

	if (!rsa_size_ok(v, r, &mod, &bits))
		return;
	key = rsa_siggen_key(v, mod);
	if (!key) {
		v_fail(v, r, "no RSA-%lu key in %s", mod, RSA_KEY_FILE);
		return;
	}
	gen_sign_check(v, r, mod == 2048 ? AZIHSM_KEY_TYPE_RSA2048 :
			     mod == 3072 ? AZIHSM_KEY_TYPE_RSA3072 : AZIHSM_KEY_TYPE_RSA4096,
		       key, bits, (enum azihsm_rsa_padding)v->param);
}

/* CAVP RSA SigVer (param: padding): the vector's key (n, e, d, p, q). */
static void run_rsa_sigver(struct val_run *v, const struct vec_rec *r)
{
	const char *res = vec_get(r, "Result");
	uint8_t dg[64], *sig = NULL;
	size_t dlen, slen;
	unsigned long mod;
	EVP_PKEY *k;
	int bits;

	if (!rsa_size_ok(v, r, &mod, &bits))
		return;
	k = rsa_key(r);
	if (!k || !res) {
		v_fail(v, r, "vector key does not load");
	} else if (digest(v, r, bits, dg, &dlen) && field_hex(v, r, "S", &sig, &slen)) {
		verify_check(v, r, k, bits, (enum azihsm_rsa_padding)v->param, dg, dlen, sig,
			     slen, res[0] == 'P');
	}
	free(sig);
	EVP_PKEY_free(k);
}

/*
 * HKDF (RFC 5869 vectors): the OKM stays in the device as an HMAC key, so
 * an HMAC under it is compared with one under the expected OKM.
 */
static void run_hkdf(struct val_run *v, const struct vec_rec *r)
{
	static const uint8_t msg[] = "azihsm validate: HMAC under the derived key";
	uint8_t *ikm = NULL, *salt = NULL, *info = NULL, *okm = NULL, mac[64], want[64];
	size_t ikm_len, salt_len, info_len, okm_len;
	const char *why = NULL, *l = vec_get_ci(r, "L");
	int bits = hash_bits(vec_get_ci(r, "Hash")), ret;
	unsigned int wlen = 0;

	if (!bits) {
		v_na(v, "the device's HKDF uses SHA-256/384/512");
		return;
	}
	if (!field_hex(v, r, "IKM", &ikm, &ikm_len) || !field_hex(v, r, "salt", &salt, &salt_len) ||
	    !field_hex(v, r, "info", &info, &info_len) || !field_hex(v, r, "OKM", &okm, &okm_len))
		goto out;
	if (!l || strtoul(l, NULL, 10) != okm_len) {
		v_fail(v, r, "vector L does not match its OKM");
		goto out;
	}
	ret = v->b->ops->hkdf_mac(v->b, bits, ikm, ikm_len, salt, salt_len, info, info_len,
				  okm_len, msg, sizeof(msg) - 1, mac, &why);
	if (v_result(v, r, ret, why))
		goto out;
	if (!HMAC(md_of(bits), okm, (int)okm_len, msg, sizeof(msg) - 1, want, &wlen) ||
	    memcmp(mac, want, wlen))
		v_fail(v, r, "the derived key is not the expected OKM (HMAC under it differs)");
	else
		v_pass(v);
out:
	OPENSSL_clear_free(ikm, ikm ? ikm_len : 0);
	free(salt);
	free(info);
	OPENSSL_clear_free(okm, okm ? okm_len : 0);
}

static void run_na(struct val_run *v, const struct vec_rec *r)
{
	(void)r;
	v_na(v, v->param == 1 ?
		"the device's ECDH is ephemeral-unified on P-256/384/521 and keeps Z inside; "
		"this set holds K-curve fullMqv/staticUnified cases" :
		"the device imports no public keys: a public-key validation has nothing to "
		"run on");
}

/* --- suites ------------------------------------------------------------------ */

#define AES_KAT(M, RUN)                                                          \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "GFSbox128.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "GFSbox192.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "GFSbox256.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "KeySbox128.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "KeySbox192.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "KeySbox256.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "VarKey128.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "VarKey192.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "VarKey256.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "VarTxt128.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "VarTxt192.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "KAT", false, "ciphers/AES/" #M "/" #M "VarTxt256.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "MMT", false, "ciphers/AES/" #M "/" #M "MMT128.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "MMT", false, "ciphers/AES/" #M "/" #M "MMT192.rsp", "COUNT", RUN, 0 }, \
	{ "AES-" #M, "MMT", false, "ciphers/AES/" #M "/" #M "MMT256.rsp", "COUNT", RUN, 0 }

static const struct suite suites[] = {
	AES_KAT(ECB, run_ecb),
	AES_KAT(CBC, run_cbc),
	{ "AES-CTR", "ACVP", true, "ACVP-AES-CTR-1.0/internalProjection.json", NULL, run_ctr_acvp, 0 },
	{ "AES-GCM", "encrypt", false, "ciphers/AES/GCM/gcmEncryptExtIV128.rsp", "Count", run_gcm, 0 },
	{ "AES-GCM", "encrypt", false, "ciphers/AES/GCM/gcmEncryptExtIV192.rsp", "Count", run_gcm, 0 },
	{ "AES-GCM", "encrypt", false, "ciphers/AES/GCM/gcmEncryptExtIV256.rsp", "Count", run_gcm, 0 },
	{ "AES-GCM", "decrypt", false, "ciphers/AES/GCM/gcmDecrypt128.rsp", "Count", run_gcm, 1 },
	{ "AES-GCM", "decrypt", false, "ciphers/AES/GCM/gcmDecrypt192.rsp", "Count", run_gcm, 1 },
	{ "AES-GCM", "decrypt", false, "ciphers/AES/GCM/gcmDecrypt256.rsp", "Count", run_gcm, 1 },
	{ "AES-GCM", "ACVP", true, "ACVP-AES-GCM-1.0/internalProjection.json", NULL, run_gcm, 0 },
	{ "AES-XTS", "128", false, "ciphers/AES/XTS/tweak-128hexstr/XTSGenAES128.rsp", "COUNT", run_xts, 0 },
	{ "AES-XTS", "256", false, "ciphers/AES/XTS/tweak-128hexstr/XTSGenAES256.rsp", "COUNT", run_xts, 0 },
	{ "SHA-256", "short", false, "hashes/SHA2/SHA256ShortMsg.rsp", "MD", run_sha, 256 },
	{ "SHA-256", "long", false, "hashes/SHA2/SHA256LongMsg.rsp", "MD", run_sha, 256 },
	{ "SHA-384", "short", false, "hashes/SHA2/SHA384ShortMsg.rsp", "MD", run_sha, 384 },
	{ "SHA-384", "long", false, "hashes/SHA2/SHA384LongMsg.rsp", "MD", run_sha, 384 },
	{ "SHA-512", "short", false, "hashes/SHA2/SHA512ShortMsg.rsp", "MD", run_sha, 512 },
	{ "SHA-512", "long", false, "hashes/SHA2/SHA512LongMsg.rsp", "MD", run_sha, 512 },
	{ "HMAC-SHA-256", "ACVP", true, "HMAC-SHA2-256-2.0/internalProjection.json", NULL, run_hmac_acvp, 0 },
	{ "HMAC-SHA-384", "ACVP", true, "HMAC-SHA2-384-2.0/internalProjection.json", NULL, run_hmac_acvp, 0 },
	{ "HMAC-SHA-512", "ACVP", true, "HMAC-SHA2-512-2.0/internalProjection.json", NULL, run_hmac_acvp, 0 },
	{ "ECDSA", "SigGen", false, "asymmetric/ECDSA/FIPS_186-3/SigGen.rsp", "Msg", run_ecdsa_siggen, 0 },
	{ "ECDSA", "SigVer", false, "asymmetric/ECDSA/FIPS_186-3/SigVer.rsp", "Result", run_ecdsa_sigver, 0 },
	{ "ECDSA", "SigVer-ACVP", true, "ECDSA-SigVer-FIPS186-5/internalProjection.json", NULL, run_ecdsa_sigver_acvp, 0 },
	{ "ECDSA", "KeyVer-ACVP", true, "ECDSA-KeyVer-FIPS186-5/internalProjection.json", NULL, run_na, 0 },
	{ "RSA-PKCS1", "SigGen", false, "asymmetric/RSA/FIPS_186-2/SigGen15_186-3.rsp", "S", run_rsa_siggen, AZIHSM_RSA_PADDING_PKCS1 },
	{ "RSA-PKCS1", "SigVer", false, "asymmetric/RSA/FIPS_186-2/SigVer15_186-3.rsp", "Result", run_rsa_sigver, AZIHSM_RSA_PADDING_PKCS1 },
	{ "RSA-PSS", "SigGen", false, "asymmetric/RSA/FIPS_186-2/SigGenPSS_186-3.rsp", "S", run_rsa_siggen, AZIHSM_RSA_PADDING_PSS },
	{ "RSA-PSS", "SigVer", false, "asymmetric/RSA/FIPS_186-2/SigVerPSS_186-3.rsp", "Result", run_rsa_sigver, AZIHSM_RSA_PADDING_PSS },
	{ "HKDF", "RFC5869", false, "KDF/rfc-5869-HKDF-SHA256.txt", "OKM", run_hkdf, 0 },
	{ "HKDF", "generated", false, "KDF/hkdf-generated.txt", "OKM", run_hkdf, 0 },
	{ "KAS-ECC-SSC", "ACVP", true, "KAS-ECC-SSC-Sp800-56Ar3/internalProjection.json", NULL, run_na, 1 },
};

/* --- the run ----------------------------------------------------------------- */

static struct val_stat *stat_for(struct val_run *v, const struct suite *s)
{
	struct val_stat *n;

	for (size_t i = 0; i < v->nstats; i++)
		if (!strcmp(v->stats[i].path, v->b->name) && !strcmp(v->stats[i].alg, s->alg) &&
		    !strcmp(v->stats[i].mode, s->mode))
			return &v->stats[i];
	n = realloc(v->stats, (v->nstats + 1) * sizeof(*n));
	if (!n)
		return NULL;
	v->stats = n;
	n = &v->stats[v->nstats++];
	memset(n, 0, sizeof(*n));
	n->path = v->b->name;
	n->alg = s->alg;
	n->mode = s->mode;
	return n;
}

static int count_cb(const struct vec_rec *r, void *arg)
{
	(void)r;
	(*(unsigned int *)arg)++;
	return 0;
}

static void draw(struct val_run *v, bool force)
{
	time_t now = time(NULL);

	if (!v->progress || (!force && now == v->last_draw))
		return;
	v->last_draw = now;
	fprintf(stderr, "\r\033[K%-6s %-12s %-11s %5u/%-5u", v->b->name, v->cur->alg,
		v->cur->mode, v->idx, v->total);
	fflush(stderr);
}

struct run_arg {
	struct val_run *v;
	const struct suite *s;
};

static int run_cb(const struct vec_rec *r, void *arg)
{
	struct run_arg *a = arg;
	struct val_run *v = a->v;

	/*
	 * Sampling: one vector per stride; a vector that is not applicable
	 * here does not use up the stride's turn (the next one runs).
	 */
	if (v->idx++ % v->stride == 0)
		v->want = true;
	if (v->want) {
		unsigned int na = v->cur->na;

		a->s->run(v, r);
		v->want = v->cur->na != na;
		draw(v, false);
	}
	return 0;
}

static void run_suite(struct val_run *v, const struct suite *s, const char *only)
{
	struct run_arg a = { v, s };
	char path[512];
	struct stat st;

	if (only && strcasecmp(only, s->alg))
		return;
	v->cur = stat_for(v, s);
	if (!v->cur)
		return;
	snprintf(path, sizeof(path), "%s/%s", s->acvp ? v->acvp : v->cavp, s->file);
	v->file = s->file;
	v->param = s->param;
	if (stat(path, &st)) {
		v->cur->failed++;
		v->cur->run++;
		if (v->cur->nfails < FIRST_FAILS)
			snprintf(v->cur->fails[v->cur->nfails++], sizeof(v->cur->fails[0]),
				 "%.180s: vector file missing (%s)", path, strerror(errno));
		return;
	}
	v->total = 0;
	v->idx = 0;
	v->want = false;
	if (vec_parse_file(path, s->trigger, count_cb, &v->total)) {
		v->cur->failed++;
		v->cur->run++;
		return;
	}
	v->stride = v->sample && v->total > v->sample ? (v->total + v->sample - 1) / v->sample : 1;
	draw(v, true);
	vec_parse_file(path, s->trigger, run_cb, &a);
}

/* --- reports ----------------------------------------------------------------- */

static void print_table(FILE *f, const struct val_run *v)
{
	fprintf(f, "%-6s %-13s %-12s %6s %6s %6s %6s\n", "path", "algorithm", "mode", "run",
		"passed", "failed", "n/a");
	for (size_t i = 0; i < v->nstats; i++) {
		const struct val_stat *s = &v->stats[i];

		fprintf(f, "%-6s %-13s %-12s %6u %6u %6u %6u%s\n", s->path, s->alg, s->mode, s->run,
			s->passed, s->failed, s->na, s->failed ? "  FAILED" : "");
		for (unsigned int j = 0; j < s->nfails; j++)
			fprintf(f, "         %s\n", s->fails[j]);
		for (size_t j = 0; j < ARRAY_LEN(s->na_reason) && s->na_reason[j][0]; j++)
			fprintf(f, "         n/a: %s\n", s->na_reason[j]);
	}
}

static void json_str(FILE *f, const char *s)
{
	cli_json_bytes(f, (const uint8_t *)s, strlen(s));
}

static int write_json(const char *file, const struct val_run *v, const char *const *paths,
		      size_t npaths)
{
	FILE *f = fopen(file, "w");
	unsigned int t[4] = { 0 };

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"schema\": \"azihsm-validate/1\",\n  \"generated\": %lld,\n",
		(long long)time(NULL));
	fprintf(f, "  \"cavp_dir\": ");
	json_str(f, v->cavp);
	fprintf(f, ",\n  \"acvp_dir\": ");
	json_str(f, v->acvp);
	fprintf(f, ",\n  \"sample\": %u,\n  \"paths\": [", v->sample);
	for (size_t i = 0; i < npaths; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, paths[i]);
	}
	fprintf(f, "],\n  \"results\": [\n");
	for (size_t i = 0; i < v->nstats; i++) {
		const struct val_stat *s = &v->stats[i];

		fprintf(f, "    {\"path\": ");
		json_str(f, s->path);
		fprintf(f, ", \"algorithm\": ");
		json_str(f, s->alg);
		fprintf(f, ", \"mode\": ");
		json_str(f, s->mode);
		fprintf(f, ", \"run\": %u, \"passed\": %u, \"failed\": %u, \"not_applicable\": %u",
			s->run, s->passed, s->failed, s->na);
		fprintf(f, ", \"not_applicable_reasons\": [");
		for (size_t j = 0; j < ARRAY_LEN(s->na_reason) && s->na_reason[j][0]; j++) {
			fprintf(f, "%s", j ? ", " : "");
			json_str(f, s->na_reason[j]);
		}
		fprintf(f, "]");
		fprintf(f, ", \"first_failures\": [");
		for (unsigned int j = 0; j < s->nfails; j++) {
			fprintf(f, "%s", j ? ", " : "");
			json_str(f, s->fails[j]);
		}
		fprintf(f, "]}%s\n", i + 1 < v->nstats ? "," : "");
		t[0] += s->run;
		t[1] += s->passed;
		t[2] += s->failed;
		t[3] += s->na;
	}
	fprintf(f, "  ],\n  \"totals\": {\"run\": %u, \"passed\": %u, \"failed\": %u, "
		"\"not_applicable\": %u}\n}\n", t[0], t[1], t[2], t[3]);
	return fclose(f) ? -errno : 0;
}

static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n')
				fputc(*s, f);
		}
	}
}

/* One testsuite per path, one testcase per algorithm and mode. */
static int write_junit(const char *file, const struct val_run *v, const char *const *paths,
		       size_t npaths)
{
	FILE *f = fopen(file, "w");

	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"azihsm validate\">\n");
	for (size_t p = 0; p < npaths; p++) {
		unsigned int n = 0, fl = 0, sk = 0;

		for (size_t i = 0; i < v->nstats; i++)
			if (!strcmp(v->stats[i].path, paths[p])) {
				n++;
				fl += v->stats[i].failed > 0;
				sk += !v->stats[i].run;
			}
		fprintf(f, "  <testsuite name=\"validate.%s\" tests=\"%u\" failures=\"%u\" "
			"errors=\"0\" skipped=\"%u\">\n", paths[p], n, fl, sk);
		for (size_t i = 0; i < v->nstats; i++) {
			const struct val_stat *s = &v->stats[i];

			if (strcmp(s->path, paths[p]))
				continue;
			fprintf(f, "    <testcase classname=\"validate.%s\" name=\"", s->path);
			xml_str(f, s->alg);
			fputc(' ', f);
			xml_str(f, s->mode);
			fprintf(f, "\">\n      <system-out>run %u passed %u failed %u "
				"not-applicable %u</system-out>\n", s->run, s->passed, s->failed,
				s->na);
			if (s->failed) {
				fprintf(f, "      <failure message=\"%u of %u vectors failed\">",
					s->failed, s->run);
				for (unsigned int j = 0; j < s->nfails; j++) {
					xml_str(f, s->fails[j]);
					fputc('\n', f);
				}
				fprintf(f, "</failure>\n");
			} else if (!s->run) {
				fprintf(f, "      <skipped message=\"");
				xml_str(f, s->na_reason[0][0] ? s->na_reason[0] : "no vectors");
				fprintf(f, "\"/>\n");
			}
			fprintf(f, "    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return fclose(f) ? -errno : 0;
}

/* --- the command ------------------------------------------------------------- */

enum { OPT_PATH = 0x200, OPT_VECTORS, OPT_ACVP, OPT_SAMPLE, OPT_ONLY, OPT_JUNIT,
       OPT_JSON_FILE, OPT_PROGRESS, OPT_LIST };

/*
 * Path fw only (tests/host/val_fw_kernel.c, linked into azihsm-fw): runs
 * what a partition session cannot through the kernel session's services.
 */
int val_fw_extend(struct val_backend *b) __attribute__((weak));

static int cmd_validate(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "path", required_argument, NULL, OPT_PATH },
		{ "vectors", required_argument, NULL, OPT_VECTORS },
		{ "acvp", required_argument, NULL, OPT_ACVP },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "json", required_argument, NULL, OPT_JSON_FILE },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "no-progress", no_argument, NULL, OPT_PROGRESS },
		{ "list", no_argument, NULL, OPT_LIST },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .role = AZIHSM_ROLE_USER };
	struct val_run v = { .cavp = getenv("AZIHSM_CAVP_DIR"), .acvp = getenv("AZIHSM_ACVP_DIR"),
			     .progress = isatty(2) };
	const char *path_arg = NULL, *only = NULL, *json = NULL, *junit = NULL;
	const char *paths[2];
	size_t npaths = 0;
	struct ctx x = { 0 };
	bool failed = false, list = false;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			if (!strcmp(optarg, "officer"))
				o.role = AZIHSM_ROLE_OFFICER;
			else if (strcmp(optarg, "user"))
				return usage_err(cli, "--role must be officer or user, not", optarg);
			break;
		case OPT_CRED_ID:
			if (set_cred_id(cli, optarg, &o))
				return 2;
			break;
		case OPT_PIN_FILE: o.pin_file = optarg; break;
		case OPT_PATH: path_arg = optarg; break;
		case OPT_VECTORS: v.cavp = optarg; break;
		case OPT_ACVP: v.acvp = optarg; break;
		case OPT_SAMPLE: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !*optarg || n > 1000000)
				return usage_err(cli, "--sample takes a count, not", optarg);
			v.sample = (unsigned int)n;
			break;
		}
		case OPT_ONLY: only = optarg; break;
		case OPT_JSON_FILE: json = optarg; break;
		case OPT_JUNIT: junit = optarg; break;
		case OPT_PROGRESS: v.progress = false; break;
		case OPT_LIST: list = true; break;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_err(cli, "unexpected argument", argv[optind]);
	if (list) {
		for (size_t i = 0; i < ARRAY_LEN(suites); i++)
			printf("%-13s %-12s %s %s\n", suites[i].alg, suites[i].mode,
			       suites[i].acvp ? "acvp" : "cavp", suites[i].file);
		return 0;
	}
	if (only) {
		size_t i;

		for (i = 0; i < ARRAY_LEN(suites) && strcasecmp(only, suites[i].alg); i++)
			;
		if (i == ARRAY_LEN(suites))
			return usage_err(cli, "--only takes an algorithm of --list, not", only);
	}
	if (!v.cavp)
		v.cavp = CAVP_DIR;
	if (!v.acvp)
		v.acvp = ACVP_DIR;
	if (!path_arg || !strcmp(path_arg, cli_dev_path)) {
		paths[npaths++] = cli_dev_path;
	} else if (!strcmp(path_arg, "kcapi")) {
		paths[npaths++] = "kcapi";
	} else if (!strcmp(path_arg, "all")) {
		paths[npaths++] = cli_dev_path;
		paths[npaths++] = "kcapi";
	} else {
		return usage_err(cli, "--path takes device, kcapi or all, not", path_arg);
	}
	for (size_t p = 0; p < npaths && !ret; p++) {
		struct val_backend b = { 0 };

		if (!strcmp(paths[p], "kcapi")) {
			ret = val_kcapi_init(&b);
		} else {
			ret = ctx_open(cli, &o, false, &x);
			if (ret)
				break;
			ret = val_lib_init(&b, cli_dev_path, x.dev, x.sess);
			if (!ret && val_fw_extend)
				ret = val_fw_extend(&b);
			if (ret) {
				ret = cli_fail(cli, "the session unwrap key", ret);
				ret = ctx_close(cli, &x, ret);
				x.sess = NULL;
			}
		}
		if (ret)
			break;
		v.b = &b;
		for (size_t i = 0; i < ARRAY_LEN(suites); i++)
			run_suite(&v, &suites[i], only);
		if (v.progress)
			fprintf(stderr, "\r\033[K");
		b.ops->fini(&b);
		/* A failed logout (e.g. a reset closed the session) is reported too. */
		if (x.sess && ctx_close(cli, &x, 0))
			failed = true;
		x.sess = NULL;
	}
	if (!ret) {
		print_table(stdout, &v);
		for (size_t i = 0; i < v.nstats; i++)
			failed |= v.stats[i].failed > 0;
		if (json && write_json(json, &v, paths, npaths))
			ret = cli_fail(cli, json, -errno);
		if (!ret && junit && write_junit(junit, &v, paths, npaths))
			ret = cli_fail(cli, junit, -errno);
		if (!ret && failed)
			ret = 1;
	}
	for (size_t i = 0; i < ARRAY_LEN(v.rsa_keys); i++)
		EVP_PKEY_free(v.rsa_keys[i]);
	free(v.stats);
	return ret;
}

const struct subcommand cli_validate_commands[] = {
	{ "validate", "validate [--path device|kcapi|all] [--sample N] [--only ALG] "
	  "[--json FILE] [--junit FILE] [--vectors DIR] [--acvp DIR] [--list]",
	  "Run NIST CAVP and ACVP test vectors through the device and report per\n"
	  "algorithm and mode: run, passed, failed, not applicable (with the reason).\n"
	  "Exit status 1 if any vector failed. Documentation/validation.md.\n" CRED_HELP
	  "  --path P             device: libazihsm and the ioctl (session keys; default);\n"
	  "                       kcapi: the kernel crypto API through AF_ALG, by our\n"
	  "                       driver's algorithm names; all: both\n"
	  "  --sample N           at most N vectors per file, spread over it (0: all)\n"
	  "  --only ALG           one algorithm, e.g. AES-CBC, SHA-256, RSA-PSS\n"
	  "  --json FILE          the results as JSON (schema azihsm-validate/1)\n"
	  "  --junit FILE         the results as JUnit XML\n"
	  "  --vectors DIR        CAVP files (default " CAVP_DIR ",\n"
	  "                       Debian's python3-cryptography-vectors; env AZIHSM_CAVP_DIR)\n"
	  "  --acvp DIR           ACVP files (default " ACVP_DIR "; env AZIHSM_ACVP_DIR)\n"
	  "  --no-progress        no progress line (it is drawn on a terminal only)\n"
	  "  --list               the vector files and what they test\n",
	  cmd_validate },
};
const size_t cli_validate_ncommands = ARRAY_LEN(cli_validate_commands);
