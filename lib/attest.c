// SPDX-License-Identifier: MIT
/*
 * libazihsm: the device's certificate chain, key attestation and report
 * verification (azihsm.h "Identity and attestation").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "azihsm/cbor.h"
#include "azihsm/msg.h"
#include "internal.h"
#include "proto.h"

const char *azihsm_trusted_root(void)
{
	const char *p = getenv("AZIHSM_ROOT_CA");

	return p && *p ? p : AZIHSM_ROOT_CA_DEFAULT;
}

static size_t req_plain(uint8_t *buf, size_t cap, uint32_t opcode, bool has_index,
			uint32_t index)
{
	struct azihsm_req_hdr h = { .opcode = opcode };
	struct mbor_enc e;
	size_t len;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_request(&e, &h);
	mbor_enc_map(&e, has_index ? 1 : 0);
	if (has_index) {
		mbor_enc_key(&e, AZIHSM_CERT_F_INDEX);
		mbor_enc_u32(&e, index);
	}
	return mbor_enc_finish(&e, &len) ? 0 : len;
}

/* A data map: bytes field @want copied to @out (<= @cap); others skipped. */
static int parse_bytes(struct mbor_dec *d, uint8_t want, uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *p = NULL;
	struct mbor_map m;
	size_t n = 0;
	uint8_t id;
	int ret;

	ret = mbor_dec_map(d, &m);
	while (!ret && (ret = mbor_dec_next(d, &m, &id)) == 1)
		ret = id == want ? mbor_dec_bytes(d, &p, &n) : mbor_dec_skip(d);
	if (ret < 0 || mbor_dec_finish(d) || !p || n > cap)
		return -EPROTO;
	memcpy(out, p, n);
	*len = n;
	return 0;
}

int azihsm_cert_chain_info(struct azihsm_dev *dev, uint32_t *count, uint8_t digest[48])
{
	uint8_t req[64], rsp[256];
	const uint8_t *p = NULL;
	struct mbor_dec d;
	struct mbor_map m;
	bool have_count = false;
	size_t n = 0, len = req_plain(req, sizeof(req), AZIHSM_OP_GET_CERT_CHAIN_INFO, false, 0);
	uint8_t id;
	int ret;

	if (!dev || !count || !digest)
		return -EINVAL;
	ret = lib_transact(dev, req, len, rsp, sizeof(rsp), AZIHSM_OP_GET_CERT_CHAIN_INFO, &d);
	if (ret)
		return ret;
	ret = mbor_dec_map(&d, &m);
	while (!ret && (ret = mbor_dec_next(&d, &m, &id)) == 1) {
		if (id == AZIHSM_CHAIN_F_COUNT) {
			ret = mbor_dec_u32(&d, count);
			have_count = true;
		} else if (id == AZIHSM_CHAIN_F_DIGEST) {
			ret = mbor_dec_bytes(&d, &p, &n);
		} else {
			ret = mbor_dec_skip(&d);
		}
	}
	if (ret < 0 || mbor_dec_finish(&d) || !have_count || !p || n != 48)
		return -EPROTO;
	memcpy(digest, p, 48);
	return 0;
}

int azihsm_get_certificate(struct azihsm_dev *dev, uint32_t index, uint8_t *der, size_t cap,
			   size_t *len)
{
	uint8_t req[64], rsp[AZIHSM_CERT_MAX + 128];
	struct mbor_dec d;
	size_t rlen = req_plain(req, sizeof(req), AZIHSM_OP_GET_CERTIFICATE, true, index);
	int ret;

	if (!dev || !der || !len)
		return -EINVAL;
	ret = lib_transact(dev, req, rlen, rsp, sizeof(rsp), AZIHSM_OP_GET_CERTIFICATE, &d);
	return ret ? ret : parse_bytes(&d, AZIHSM_CERT_F_DER, der, cap, len);
}

static X509 *read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *c;

	if (!f)
		return NULL;
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return c;
}

/*
 * @leaf chains to @root through @dev (what `openssl verify` checks), and
 * exactly so: the chain built is leaf -> dev -> root, three certificates
 * (the device certificate itself, or a certificate the root signed
 * directly, is no partition certificate), and the leaf is no CA.
 */
bool lib_chain_ok(X509 *root, X509 *dev, X509 *leaf)
{
	X509_STORE *s = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *un = sk_X509_new_null();
	STACK_OF(X509) *chain;
	bool ok = false;

	if (s && ctx && un && X509_STORE_add_cert(s, root) && sk_X509_push(un, dev) &&
	    X509_STORE_CTX_init(ctx, s, leaf, un))
		ok = X509_verify_cert(ctx) == 1;
	if (ok) {
		chain = X509_STORE_CTX_get0_chain(ctx);
		ok = chain && sk_X509_num(chain) == 3 && X509_cmp(leaf, dev) &&
		     !X509_cmp(sk_X509_value(chain, 1), dev) &&
		     !X509_cmp(sk_X509_value(chain, 2), root) && X509_check_ca(leaf) == 0;
	}
	sk_X509_free(un);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(s);
	return ok;
}

#define DEVICE_CN_PREFIX "azihsm device "

/* The serial @c's subject CN names ("azihsm device SERIAL"); -EPROTO if none. */
static int cert_serial(X509 *c, char serial[AZIHSM_DEVICE_SERIAL_MAX + 1])
{
	char cn[sizeof(DEVICE_CN_PREFIX) + AZIHSM_DEVICE_SERIAL_MAX + 1];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, cn,
					  sizeof(cn));

	if (n <= (int)strlen(DEVICE_CN_PREFIX) || (size_t)n >= sizeof(cn) - 1 ||
	    strncmp(cn, DEVICE_CN_PREFIX, strlen(DEVICE_CN_PREFIX)) ||
	    memchr(cn, '\0', (size_t)n))
		return -EPROTO;
	memcpy(serial, cn + strlen(DEVICE_CN_PREFIX), (size_t)n - strlen(DEVICE_CN_PREFIX) + 1);
	return 0;
}

static int cert_fp(X509 *c, uint8_t fp[AZIHSM_DEVICE_FP_LEN])
{
	unsigned int n = 0;

	return X509_digest(c, EVP_sha256(), fp, &n) == 1 && n == AZIHSM_DEVICE_FP_LEN ? 0 :
										     -ENOMEM;
}

/* @s: 64 hex digits, colons between bytes allowed, into @fp; false if not that. */
static bool parse_fp(const char *s, uint8_t fp[AZIHSM_DEVICE_FP_LEN])
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s; s++) {
		if (*s == ':' && hi < 0)
			continue;
		v = OPENSSL_hexchar2int((unsigned char)*s);
		if (v < 0 || n == AZIHSM_DEVICE_FP_LEN)
			return false;
		if (hi < 0) {
			hi = v;
		} else {
			fp[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == AZIHSM_DEVICE_FP_LEN && hi < 0;
}

/* @dev_cert is the device @expect names (its serial or its fingerprint). */
static bool names_device(X509 *dev_cert, const char *expect)
{
	char serial[AZIHSM_DEVICE_SERIAL_MAX + 1];
	uint8_t want[AZIHSM_DEVICE_FP_LEN], fp[AZIHSM_DEVICE_FP_LEN];

	if (parse_fp(expect, want))
		return !cert_fp(dev_cert, fp) && !CRYPTO_memcmp(fp, want, sizeof(fp));
	return !cert_serial(dev_cert, serial) && !strcmp(serial, expect);
}

/*
 * Fetch the device's device and partition certificates and check them
 * against the trusted root; *@leaf_key (may be NULL) = the partition key;
 * @expect (may be NULL): the device they must name, else -EXDEV.
 */
static int chain_leaf_key(struct azihsm_dev *dev, const char *root, const char *expect,
			  EVP_PKEY **leaf_key)
{
	uint8_t der[AZIHSM_CERT_MAX];
	const unsigned char *p;
	X509 *c[2] = { NULL, NULL }, *r = NULL;
	size_t len;
	int ret = 0, i;

	for (i = 0; i < 2 && !ret; i++) {
		ret = azihsm_get_certificate(dev, (uint32_t)i + 1, der, sizeof(der), &len);
		if (ret)
			break;
		p = der;
		c[i] = d2i_X509(NULL, &p, (long)len);
		if (!c[i])
			ret = -EPROTO;
	}
	if (!ret) {
		r = read_pem(root ? root : azihsm_trusted_root());
		if (!r || !lib_chain_ok(r, c[0], c[1]))
			ret = -ENOKEY;
	}
	if (!ret && expect && !names_device(c[0], expect))
		ret = -EXDEV;
	if (!ret && leaf_key) {
		*leaf_key = X509_get_pubkey(c[1]);
		if (!*leaf_key)
			ret = -ENOMEM;
	}
	X509_free(r);
	X509_free(c[0]);
	X509_free(c[1]);
	return ret;
}

int lib_chain_leaf_key(struct azihsm_dev *dev, const char *root, EVP_PKEY **leaf_key)
{
	return chain_leaf_key(dev, root, NULL, leaf_key);
}

int azihsm_device_identity(struct azihsm_dev *dev, char serial[AZIHSM_DEVICE_SERIAL_MAX + 1],
			   uint8_t fp[AZIHSM_DEVICE_FP_LEN])
{
	uint8_t der[AZIHSM_CERT_MAX];
	const unsigned char *p = der;
	X509 *c;
	size_t len;
	int ret;

	if (!dev || !serial || !fp)
		return -EINVAL;
	ret = azihsm_get_certificate(dev, 1, der, sizeof(der), &len);
	if (ret)
		return ret;
	c = d2i_X509(NULL, &p, (long)len);
	if (!c)
		return -EPROTO;
	ret = cert_serial(c, serial);
	if (!ret)
		ret = cert_fp(c, fp);
	X509_free(c);
	return ret;
}

int azihsm_check_chain(struct azihsm_dev *dev, const char *root)
{
	if (!dev)
		return -EINVAL;
	return lib_chain_leaf_key(dev, root, NULL);
}

int azihsm_key_attest(struct azihsm_session *sess, uint16_t key_id, const void *data,
		      size_t data_len, uint8_t *report, size_t cap, size_t *len)
{
	uint8_t req[512], rsp[AZIHSM_REPORT_MAX + 256];
	const struct proto_field f[] = {
		{ AZIHSM_ATTEST_F_KEY_ID, PROTO_U16, false, key_id, NULL, 0 },
		{ AZIHSM_ATTEST_F_REPORT_DATA, PROTO_BYTES, false, 0, data, data_len },
	};
	struct mbor_dec d;
	size_t rlen;
	int ret;

	if (!sess || !report || !len || data_len > AZIHSM_REPORT_DATA_MAX ||
	    (data_len && !data))
		return -EINVAL;
	rlen = proto_req_fields(req, sizeof(req), AZIHSM_OP_ATTEST_KEY, azihsm_session_id(sess),
				f, 2);
	ret = lib_sess_transact(sess, req, rlen, rsp, sizeof(rsp), AZIHSM_OP_ATTEST_KEY, &d);
	return ret ? ret : parse_bytes(&d, AZIHSM_ATTEST_F_REPORT, report, cap, len);
}

bool lib_es384_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t *sig,
		      size_t sig_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	EVP_MD_CTX *md = NULL;
	int dlen;
	bool ok = false;

	if (sig_len != 96)
		return false;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 48, NULL);
	s = BN_bin2bn(sig + 48, 48, NULL);
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	dlen = i2d_ECDSA_SIG(es, &der);
	md = EVP_MD_CTX_new();
	if (dlen <= 0 || !md || EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) <= 0)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return ok;
}

int lib_check_vouched(struct azihsm_dev *dev, const char *root, const uint8_t *msg,
		      size_t len, const uint8_t *sig, size_t sig_len)
{
	return lib_check_vouched_by(dev, root, NULL, msg, len, sig, sig_len);
}

int lib_check_vouched_by(struct azihsm_dev *dev, const char *root, const char *expect,
			 const uint8_t *msg, size_t len, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *leaf = NULL;
	int ret;

	if (!sig)
		return -ENOKEY;
	ret = chain_leaf_key(dev, root, expect, &leaf);
	if (ret == -EIO)
		ret = -ENOKEY;	/* e.g. NOT_PROVISIONED: no chain at all */
	if (!ret && !lib_es384_verify(leaf, msg, len, sig, sig_len))
		ret = -ENOKEY;
	EVP_PKEY_free(leaf);
	return ret;
}

/* COSE_Key -> DER SPKI (EC2 P-256/384/521, RSA). */
static int cose_key(struct cbor_dec *d, struct azihsm_report *out)
{
	const uint8_t *x = NULL, *y = NULL, *n = NULL, *e = NULL;
	size_t xl = 0, yl = 0, nl = 0, el = 0;
	int64_t kty = 0, crv = 0, k;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	uint8_t pt[1 + 2 * 66];
	unsigned char *p;
	uint64_t cnt, i;
	int ret = -EBADMSG, len;

	if (!bld || cbor_dec_map(d, &cnt))
		goto out;
	for (i = 0; i < cnt; i++) {
		if (cbor_dec_int(d, &k))
			goto out;
		if (k == 1) {
			if (cbor_dec_int(d, &kty))
				goto out;
		} else if (k == -1 && kty == 2) {
			if (cbor_dec_int(d, &crv))
				goto out;
		} else if (k == -2 && kty == 2) {
			if (cbor_dec_bytes(d, &x, &xl))
				goto out;
		} else if (k == -3 && kty == 2) {
			if (cbor_dec_bytes(d, &y, &yl))
				goto out;
		} else if (k == -1 && kty == 3) {
			if (cbor_dec_bytes(d, &n, &nl))
				goto out;
		} else if (k == -2 && kty == 3) {
			if (cbor_dec_bytes(d, &e, &el))
				goto out;
		} else {
			goto out;
		}
	}
	if (kty == 2) {
		static const char *const names[] = { NULL, "P-256", "P-384", "P-521" };
		static const size_t sizes[] = { 0, 32, 48, 66 };

		if (crv < 1 || crv > 3 || !x || !y || xl != sizes[crv] || yl != xl)
			goto out;
		pt[0] = 4;
		memcpy(pt + 1, x, xl);
		memcpy(pt + 1 + xl, y, yl);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, names[crv],
						     0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
						      1 + 2 * xl))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (kty == 3) {
		bn = n ? BN_bin2bn(n, (int)nl, NULL) : NULL;
		be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
		if (!bn || !be || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	len = i2d_PUBKEY(pkey, NULL);
	if (len <= 0 || (size_t)len > sizeof(out->public_der))
		goto out;
	p = out->public_der;
	out->public_der_len = (size_t)i2d_PUBKEY(pkey, &p);
	ret = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return ret;
}

static int report_attrs(struct cbor_dec *d, struct azihsm_report *out)
{
	uint64_t cnt, i, k, v;
	unsigned int seen = 0;

	if (cbor_dec_map(d, &cnt))
		return -EBADMSG;
	for (i = 0; i < cnt; i++) {
		if (cbor_dec_uint(d, &k) || k < 1 || k > 6 || (seen & (1u << k)))
			return -EBADMSG;
		seen |= 1u << k;
		switch (k) {
		case AZIHSM_REPORT_A_TYPE:
			if (cbor_dec_uint(d, &v) || v > 0xff)
				return -EBADMSG;
			out->key_type = (uint8_t)v;
			break;
		case AZIHSM_REPORT_A_USAGE:
			if (cbor_dec_uint(d, &v) || v > 0xffffffffu)
				return -EBADMSG;
			out->usage = (uint32_t)v;
			break;
		case AZIHSM_REPORT_A_PERSISTENT:
			if (cbor_dec_bool(d, &out->persistent))
				return -EBADMSG;
			break;
		case AZIHSM_REPORT_A_GENERATED:
			if (cbor_dec_bool(d, &out->generated))
				return -EBADMSG;
			break;
		case AZIHSM_REPORT_A_ORIGIN:
			if (cbor_dec_uint(d, &v) || v > 0xffffffffu)
				return -EBADMSG;
			out->origin = (uint32_t)v;
			break;
		case AZIHSM_REPORT_A_EXTRACTABLE:
			if (cbor_dec_bool(d, &out->extractable))
				return -EBADMSG;
			break;
		}
	}
	return seen == 0x7e ? 0 : -EBADMSG;
}

static int report_payload(const uint8_t *p, size_t len, struct azihsm_report *out)
{
	struct cbor_dec d;
	const uint8_t *b;
	const char *t;
	uint64_t cnt, i, k, v;
	unsigned int seen = 0;
	size_t n;
	int ret;

	cbor_dec_init(&d, p, len);
	if (cbor_dec_map(&d, &cnt))
		return -EBADMSG;
	for (i = 0; i < cnt; i++) {
		if (cbor_dec_uint(&d, &k) || k < 1 || k > 7 || (seen & (1u << k)))
			return -EBADMSG;
		seen |= 1u << k;
		ret = 0;
		switch (k) {
		case AZIHSM_REPORT_K_VERSION:
			if (cbor_dec_uint(&d, &v) || v != AZIHSM_REPORT_VERSION)
				return -EBADMSG;
			out->version = (uint32_t)v;
			break;
		case AZIHSM_REPORT_K_KEY:
			ret = cose_key(&d, out);
			break;
		case AZIHSM_REPORT_K_ATTRS:
			ret = report_attrs(&d, out);
			break;
		case AZIHSM_REPORT_K_DATA:
			if (cbor_dec_bytes(&d, &b, &n) || n > sizeof(out->data))
				return -EBADMSG;
			memcpy(out->data, b, n);
			out->data_len = n;
			break;
		case AZIHSM_REPORT_K_MEASUREMENT:
			if (cbor_dec_bytes(&d, &b, &n) || n != sizeof(out->measurement))
				return -EBADMSG;
			memcpy(out->measurement, b, n);
			break;
		case AZIHSM_REPORT_K_SVN:
			if (cbor_dec_uint(&d, &v) || v > 0xffffffffu)
				return -EBADMSG;
			out->svn = (uint32_t)v;
			break;
		case AZIHSM_REPORT_K_SERIAL:
			if (cbor_dec_text(&d, &t, &n) || n >= sizeof(out->serial) ||
			    memchr(t, 0, n))
				return -EBADMSG;
			memcpy(out->serial, t, n);
			out->serial[n] = '\0';
			break;
		}
		if (ret)
			return ret;
	}
	return seen == 0xfe && !cbor_dec_finish(&d) ? 0 : -EBADMSG;
}

int azihsm_report_verify(const uint8_t *report, size_t len, const char *root,
			 const char *device_pem, const char *partition_pem, const uint8_t *nonce,
			 size_t nonce_len, struct azihsm_report *out)
{
	/* The only protected header a report has: { 1 (alg): -35 (ES384) } */
	static const uint8_t prot_es384[] = { 0xa1, 0x01, 0x38, 0x22 };
	const uint8_t *prot, *payload, *sig;
	size_t plen, paylen, siglen, tlen;
	uint8_t *tbs = NULL;
	X509 *r = NULL, *dc = NULL, *pc = NULL;
	EVP_PKEY *key = NULL;
	struct cbor_dec d;
	struct cbor_enc e;
	uint64_t v;
	int ret = -EBADMSG;

	if (!report || !device_pem || !partition_pem || !out || (nonce_len && !nonce))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* 18([ protected bstr, unprotected {}, payload bstr, signature bstr ]) */
	cbor_dec_init(&d, report, len);
	if (cbor_dec_tag(&d, &v) || v != AZIHSM_COSE_TAG_SIGN1 || cbor_dec_array(&d, &v) ||
	    v != 4 || cbor_dec_bytes(&d, &prot, &plen) || cbor_dec_map(&d, &v) || v != 0 ||
	    cbor_dec_bytes(&d, &payload, &paylen) || cbor_dec_bytes(&d, &sig, &siglen) ||
	    cbor_dec_finish(&d))
		goto out;
	if (plen != sizeof(prot_es384) || memcmp(prot, prot_es384, plen))
		goto out;
	ret = report_payload(payload, paylen, out);
	if (ret)
		goto out;
	/* The chain first: a signature counts only from a key the root vouches for. */
	r = read_pem(root ? root : azihsm_trusted_root());
	dc = read_pem(device_pem);
	pc = read_pem(partition_pem);
	ret = -ENOKEY;
	if (!r || !dc || !pc || !lib_chain_ok(r, dc, pc))
		goto out;
	key = X509_get_pubkey(pc);
	if (!key)
		goto out;
	/* Sig_structure = [ "Signature1", protected, h'', payload ] */
	cbor_enc_init(&e, NULL, 0);
	cbor_enc_array(&e, 4);
	cbor_enc_text(&e, "Signature1");
	cbor_enc_bytes(&e, prot, plen);
	cbor_enc_bytes(&e, NULL, 0);
	cbor_enc_bytes(&e, payload, paylen);
	tlen = e.pos;
	tbs = malloc(tlen);
	ret = -ENOMEM;
	if (!tbs)
		goto out;
	cbor_enc_init(&e, tbs, tlen);
	cbor_enc_array(&e, 4);
	cbor_enc_text(&e, "Signature1");
	cbor_enc_bytes(&e, prot, plen);
	cbor_enc_bytes(&e, NULL, 0);
	cbor_enc_bytes(&e, payload, paylen);
	ret = -EKEYREJECTED;
	if (cbor_enc_finish(&e, &tlen) || !lib_es384_verify(key, tbs, tlen, sig, siglen))
		goto out;
	ret = 0;
	if (nonce && (nonce_len != out->data_len || CRYPTO_memcmp(nonce, out->data, nonce_len)))
		ret = -ESTALE;
out:
	free(tbs);
	EVP_PKEY_free(key);
	X509_free(r);
	X509_free(dc);
	X509_free(pc);
	return ret;
}
