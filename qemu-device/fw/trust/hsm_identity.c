// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware: device identity, certificate chain and the partition
 * key's signatures (hsm_identity.h).
 *
 * Key derivation: 64 bytes of seed (HKDF from the NV secret, or the DRBG)
 * reduced mod (n - 1), plus 1, is the private scalar (FIPS 186-5 A.2.1,
 * "extra random bits").
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsm_fw.h"
#include "hsm_identity.h"
#include "hsm_partition.h"
#include "hsm_state.h"

#define ID_SEED_LEN	64
#define ID_INFO_DEVICE	HSM_STATE_DEVICE_KEY_PREFIX "device p384 v1"
#define ID_INFO_PART	HSM_STATE_DEVICE_KEY_PREFIX "partition p384 v1"

struct hsm_identity {
	pthread_mutex_t lock;
	char serial[64];
	char *devcert_path;
	EVP_PKEY *dev_key;
	EVP_PKEY *part_key;
	X509 *root;
	X509 *dev_cert;		/* NULL until provisioned */
	X509 *part_cert;	/* issued with dev_cert */
	struct hsm_drbg *drbg;
	uint8_t measurement[HSM_ID_MEASUREMENT_LEN];
	uint32_t svn;
};

/* A P-384 key pair from @seed (ID_SEED_LEN bytes). */
static EVP_PKEY *id_key_from_seed(const uint8_t *seed)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_secp384r1);
	BIGNUM *d = BN_secure_new(), *nm1 = BN_new();
	BN_CTX *bn = BN_CTX_new();
	EC_POINT *pub = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t pt[97];
	size_t ptlen;

	if (!g || !d || !nm1 || !bn)
		goto out;
	if (!BN_bin2bn(seed, ID_SEED_LEN, d) || !BN_copy(nm1, EC_GROUP_get0_order(g)) ||
	    !BN_sub_word(nm1, 1) || !BN_nnmod(d, d, nm1, bn) || !BN_add_word(d, 1))
		goto out;
	pub = EC_POINT_new(g);
	if (!pub || !EC_POINT_mul(g, pub, d, NULL, NULL, bn))
		goto out;
	ptlen = EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), bn);
	if (ptlen != sizeof(pt))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-384", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pub);
	BN_CTX_free(bn);
	BN_free(nm1);
	BN_clear_free(d);
	EC_GROUP_free(g);
	return pkey;
}

static EVP_PKEY *id_make_key(struct hsm_partition *part, struct hsm_drbg *drbg,
			     const char *info)
{
	uint8_t seed[ID_SEED_LEN];
	EVP_PKEY *k = NULL;
	int ret = part ? hsm_partition_device_key(part, info, seed, sizeof(seed)) : -ENOENT;

	/* A volatile partition: a new identity every start, from the DRBG. */
	if (ret == -ENOENT)
		ret = hsm_drbg_generate(drbg, seed, sizeof(seed));
	if (!ret)
		k = id_key_from_seed(seed);
	OPENSSL_cleanse(seed, sizeof(seed));
	return k;
}

void hsm_identity_measurement(const struct hsm_identity *id,
			      uint8_t out[HSM_ID_MEASUREMENT_LEN], uint32_t *svn)
{
	memcpy(out, id->measurement, HSM_ID_MEASUREMENT_LEN);
	*svn = id->svn;
}

static X509 *id_read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *c;

	if (!f)
		return NULL;
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return c;
}

/* Write the PKCS#10 request for the device key to DEVCERT.csr (atomically). */
static void id_write_csr(struct hsm_identity *id)
{
	char *tmp = NULL, *path = NULL;
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n;
	char cn[96];
	FILE *f;

	size_t plen = strlen(id->devcert_path) + sizeof(".csr.tmp");

	path = malloc(plen);
	tmp = malloc(plen);
	if (!req || !path || !tmp)
		goto out;
	snprintf(path, plen, "%s.csr", id->devcert_path);
	snprintf(tmp, plen, "%s.csr.tmp", id->devcert_path);
	snprintf(cn, sizeof(cn), "azihsm device %s", id->serial);
	n = X509_REQ_get_subject_name(req);
	if (!X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"azihsm",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    !X509_REQ_set_pubkey(req, id->dev_key) ||
	    !X509_REQ_sign(req, id->dev_key, EVP_sha384()))
		goto out;
	f = fopen(tmp, "w");
	if (!f)
		goto out;
	if (!PEM_write_X509_REQ(f, req) || fclose(f)) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path))
		unlink(tmp);
out:
	free(tmp);
	free(path);
	X509_REQ_free(req);
}

/* DER SEQUENCE { OCTET STRING measurement, INTEGER svn }. */
static size_t id_measurement_der(const struct hsm_identity *id, uint8_t *out)
{
	uint8_t m[HSM_ID_MEASUREMENT_LEN], ib[5];
	uint32_t svn;
	size_t n = 0, il = 0;
	int i;

	hsm_identity_measurement(id, m, &svn);
	/* Minimal two's complement: a leading 0 when the top bit is set. */
	for (i = 3; i > 0 && !((svn >> (8 * i)) & 0xff); i--)
		;
	if ((svn >> (8 * i)) & 0x80)
		ib[il++] = 0;
	for (; i >= 0; i--)
		ib[il++] = (uint8_t)(svn >> (8 * i));
	out[n++] = 0x30;
	out[n++] = (uint8_t)(2 + sizeof(m) + 2 + il);
	out[n++] = 0x04;
	out[n++] = sizeof(m);
	memcpy(out + n, m, sizeof(m));
	n += sizeof(m);
	out[n++] = 0x02;
	out[n++] = (uint8_t)il;
	memcpy(out + n, ib, il);
	return n + il;
}

static int id_add_ext(X509 *c, X509V3_CTX *ctx, int nid, const char *val)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, val);
	int ok = e && X509_add_ext(c, e, -1);

	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

/* The partition certificate, issued by the device key under dev_cert. */
static X509 *id_issue_partition(struct hsm_identity *id)
{
	X509 *c = X509_new();
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	X509_NAME *n = NULL;
	BIGNUM *sn = NULL;
	X509V3_CTX ctx;
	uint8_t serial[16], mder[64];
	size_t mlen;
	char cn[96];
	bool ok = false;

	if (!c || hsm_drbg_generate(id->drbg, serial, sizeof(serial)))
		goto out;
	serial[0] &= 0x7f;	/* positive */
	serial[0] |= 0x40;	/* and 16 bytes long */
	sn = BN_bin2bn(serial, sizeof(serial), NULL);
	n = X509_NAME_new();
	snprintf(cn, sizeof(cn), "azihsm partition %s", id->serial);
	if (!sn || !n || !X509_set_version(c, 2) ||
	    !BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(c)) ||
	    !X509_set_issuer_name(c, X509_get_subject_name(id->dev_cert)) ||
	    !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"azihsm",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    !X509_set_subject_name(c, n) ||
	    !X509_set1_notBefore(c, X509_get0_notBefore(id->dev_cert)) ||
	    !X509_set1_notAfter(c, X509_get0_notAfter(id->dev_cert)) ||
	    !X509_set_pubkey(c, id->part_key))
		goto out;
	X509V3_set_ctx(&ctx, id->dev_cert, c, NULL, NULL, 0);
	if (id_add_ext(c, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    id_add_ext(c, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    id_add_ext(c, &ctx, NID_subject_key_identifier, "hash") ||
	    id_add_ext(c, &ctx, NID_authority_key_identifier, "keyid:always"))
		goto out;
	mlen = id_measurement_der(id, mder);
	obj = OBJ_txt2obj(HSM_ID_OID_MEASUREMENT, 1);
	os = ASN1_OCTET_STRING_new();
	if (!obj || !os || !ASN1_OCTET_STRING_set(os, mder, (int)mlen))
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (!ext || !X509_add_ext(c, ext, -1))
		goto out;
	ok = X509_sign(c, id->dev_key, EVP_sha384()) > 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	X509_NAME_free(n);
	BN_free(sn);
	if (!ok) {
		X509_free(c);
		c = NULL;
	}
	return c;
}

/*
 * Take DEVCERT if it is a certificate for the device key that the root
 * signed, then issue the partition certificate. Lock held.
 */
static void id_try_provision(struct hsm_identity *id)
{
	EVP_PKEY *rpub;
	X509 *c;

	if (id->dev_cert || !id->root || !id->devcert_path)
		return;
	c = id_read_pem(id->devcert_path);
	if (!c)
		return;
	rpub = X509_get0_pubkey(id->root);
	if (!rpub || X509_verify(c, rpub) != 1 ||
	    EVP_PKEY_eq(X509_get0_pubkey(c), id->dev_key) != 1 ||
	    X509_check_ca(c) < 1 ||
	    X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(id->root))) {
		X509_free(c);
		return;
	}
	id->dev_cert = c;
	id->part_cert = id_issue_partition(id);
	if (!id->part_cert) {
		X509_free(c);
		id->dev_cert = NULL;
	}
}

struct hsm_identity *hsm_identity_new(const struct hsm_identity_config *cfg,
				      struct hsm_partition *part, struct hsm_drbg *drbg)
{
	struct hsm_identity *id = calloc(1, sizeof(*id));

	if (!id)
		return NULL;
	pthread_mutex_init(&id->lock, NULL);
	id->drbg = drbg;
	snprintf(id->serial, sizeof(id->serial), "%s", cfg->serial ? cfg->serial : "");
	memcpy(id->measurement, cfg->measurement, sizeof(id->measurement));
	id->svn = cfg->svn;
	id->dev_key = id_make_key(part, drbg, ID_INFO_DEVICE);
	id->part_key = id_make_key(part, drbg, ID_INFO_PART);
	if (!id->dev_key || !id->part_key) {
		hsm_identity_free(id);
		return NULL;
	}
	if (cfg->root_cert) {
		id->root = id_read_pem(cfg->root_cert);
		/* The fused root must be a self-signed CA. */
		if (id->root && (X509_verify(id->root, X509_get0_pubkey(id->root)) != 1 ||
				 X509_check_ca(id->root) < 1)) {
			X509_free(id->root);
			id->root = NULL;
		}
	}
	if (cfg->devcert) {
		id->devcert_path = strdup(cfg->devcert);
		if (!id->devcert_path) {
			hsm_identity_free(id);
			return NULL;
		}
	}
	id_try_provision(id);
	if (id->root && id->devcert_path && !id->dev_cert)
		id_write_csr(id);
	return id;
}

void hsm_identity_free(struct hsm_identity *id)
{
	if (!id)
		return;
	EVP_PKEY_free(id->dev_key);
	EVP_PKEY_free(id->part_key);
	X509_free(id->root);
	X509_free(id->dev_cert);
	X509_free(id->part_cert);
	free(id->devcert_path);
	pthread_mutex_destroy(&id->lock);
	free(id);
}

/* The chain's certificates once provisioned; lock held. */
static X509 *id_cert_locked(struct hsm_identity *id, unsigned int index)
{
	id_try_provision(id);
	if (!id->dev_cert)
		return NULL;
	switch (index) {
	case 0:
		return id->root;
	case 1:
		return id->dev_cert;
	case 2:
		return id->part_cert;
	}
	return NULL;
}

int hsm_identity_cert(struct hsm_identity *id, unsigned int index, uint8_t *out, size_t cap,
		      size_t *len)
{
	unsigned char *p = out;
	int ret = HSM_ID_OK, n;
	X509 *c;

	pthread_mutex_lock(&id->lock);
	c = id_cert_locked(id, 0);
	if (!c) {
		ret = HSM_ID_NOT_PROVISIONED;
		goto out;
	}
	c = id_cert_locked(id, index);
	n = c ? i2d_X509(c, NULL) : -1;
	if (!c || n <= 0 || (size_t)n > cap) {
		ret = HSM_ID_BAD_INDEX;
		goto out;
	}
	*len = (size_t)i2d_X509(c, &p);
out:
	pthread_mutex_unlock(&id->lock);
	return ret;
}

int hsm_identity_chain_digest(struct hsm_identity *id, uint8_t out[48])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[HSM_ID_CERT_MAX];
	unsigned int i, olen = 48;
	size_t len;
	int ret = HSM_ID_CRYPTO;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha384(), NULL))
		goto out;
	for (i = 0; i < HSM_ID_CHAIN_LEN; i++) {
		ret = hsm_identity_cert(id, i, der, sizeof(der), &len);
		if (ret)
			goto out;
		if (!EVP_DigestUpdate(md, der, len)) {
			ret = HSM_ID_CRYPTO;
			goto out;
		}
	}
	ret = EVP_DigestFinal_ex(md, out, &olen) ? HSM_ID_OK : HSM_ID_CRYPTO;
out:
	EVP_MD_CTX_free(md);
	return ret;
}

int hsm_identity_sign(struct hsm_identity *id, const uint8_t *msg, size_t len,
		      uint8_t sig[HSM_ID_SIG_LEN])
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t dlen = 0;
	int ret = HSM_ID_CRYPTO;

	pthread_mutex_lock(&id->lock);
	if (!id_cert_locked(id, 2)) {
		pthread_mutex_unlock(&id->lock);
		return HSM_ID_NOT_PROVISIONED;
	}
	pthread_mutex_unlock(&id->lock);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, id->part_key) <= 0 ||
	    EVP_DigestSign(md, NULL, &dlen, msg, len) <= 0)
		goto out;
	der = OPENSSL_malloc(dlen);
	if (!der || EVP_DigestSign(md, der, &dlen, msg, len) <= 0)
		goto out;
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	if (!es)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 48) == 48 && BN_bn2binpad(s, sig + 48, 48) == 48)
		ret = HSM_ID_OK;
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ret;
}
