// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: the identity chain (GetCertChainInfo 1108,
 * GetCertificate 1109) and key attestation (AttestKey 1016). Request and
 * response maps: include/azihsm/msg.h; the chain: hsm_identity.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azihsm/cbor.h"
#include "hsm_authz.h"
#include "hsm_fw_int.h"
#include "hsm_identity.h"

static uint32_t fw_status_id(int st)
{
	switch (st) {
	case HSM_ID_OK:
		return AZIHSM_STATUS_SUCCESS;
	case HSM_ID_NOT_PROVISIONED:
		return AZIHSM_STATUS_NOT_PROVISIONED;
	case HSM_ID_BAD_INDEX:
		return AZIHSM_STATUS_INVALID_ARG;
	}
	return AZIHSM_STATUS_INTERNAL;
}

_Static_assert(HSM_ID_CHAIN_LEN == AZIHSM_CHAIN_MAX, "one chain length");

uint32_t fw_svc_cert_chain_info(struct fw_req *r)
{
	uint8_t dg[AZIHSM_CHAIN_DIGEST_LEN];
	uint32_t st = fw_decode(r, NULL, 0);

	if (st)
		return st;
	if (!r->fw->id)
		return AZIHSM_STATUS_NOT_PROVISIONED;
	st = fw_status_id(hsm_identity_chain_digest(r->fw->id, dg));
	if (st)
		return st;
	mbor_enc_map(r->e, 2);
	mbor_enc_key(r->e, AZIHSM_CHAIN_F_COUNT);
	mbor_enc_u32(r->e, HSM_ID_CHAIN_LEN);
	mbor_enc_key(r->e, AZIHSM_CHAIN_F_DIGEST);
	mbor_enc_bytes(r->e, dg, sizeof(dg));
	return AZIHSM_STATUS_SUCCESS;
}

uint32_t fw_svc_get_certificate(struct fw_req *r)
{
	uint8_t der[HSM_ID_CERT_MAX];
	uint32_t index = 0;
	const struct fw_field f[] = {
		{ AZIHSM_CERT_F_INDEX, FW_U32, false, &index, NULL },
	};
	size_t len = 0;
	uint32_t st = fw_decode(r, f, 1);

	if (st)
		return st;
	if (!r->fw->id)
		return AZIHSM_STATUS_NOT_PROVISIONED;
	if (index >= HSM_ID_CHAIN_LEN)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_status_id(hsm_identity_cert(r->fw->id, index, der, sizeof(der), &len));
	if (st)
		return st;
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_CERT_F_DER);
	mbor_enc_bytes(r->e, der, len);
	return AZIHSM_STATUS_SUCCESS;
}

/* COSE_Key (RFC 9053) of an EC / RSA public key; KEY_TYPE otherwise. */
static uint32_t fw_cose_key(struct cbor_enc *e, const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	uint8_t pt[1 + 2 * 66], *nb = NULL, eb[8];
	BIGNUM *n = NULL, *ex = NULL;
	char group[32];
	size_t ptlen = 0, coord;
	int64_t crv = 0;
	uint32_t st = AZIHSM_STATUS_INTERNAL;
	int nlen, elen;

	if (!k)
		return AZIHSM_STATUS_INTERNAL;
	if (EVP_PKEY_is_a(k, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL) ||
		    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
						     &ptlen))
			goto out;
		crv = !strcmp(group, "prime256v1") ? 1 : !strcmp(group, "secp384r1") ? 2 :
			!strcmp(group, "secp521r1") ? 3 : 0;
		coord = (ptlen - 1) / 2;
		if (!crv || ptlen < 3 || pt[0] != 4 || ptlen != 1 + 2 * coord)
			goto out;
		cbor_enc_map(e, 4);
		cbor_enc_int(e, 1);	/* kty */
		cbor_enc_int(e, 2);	/* EC2 */
		cbor_enc_int(e, -1);	/* crv */
		cbor_enc_int(e, crv);
		cbor_enc_int(e, -2);	/* x */
		cbor_enc_bytes(e, pt + 1, coord);
		cbor_enc_int(e, -3);	/* y */
		cbor_enc_bytes(e, pt + 1 + coord, coord);
		st = AZIHSM_STATUS_SUCCESS;
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &ex))
			goto out;
		nlen = BN_num_bytes(n);
		elen = BN_num_bytes(ex);
		nb = malloc((size_t)nlen);
		if (!nb || elen > (int)sizeof(eb) || BN_bn2bin(n, nb) != nlen ||
		    BN_bn2bin(ex, eb) != elen)
			goto out;
		cbor_enc_map(e, 3);
		cbor_enc_int(e, 1);	/* kty */
		cbor_enc_int(e, 3);	/* RSA */
		cbor_enc_int(e, -1);	/* n */
		cbor_enc_bytes(e, nb, (size_t)nlen);
		cbor_enc_int(e, -2);	/* e */
		cbor_enc_bytes(e, eb, (size_t)elen);
		st = AZIHSM_STATUS_SUCCESS;
	} else {
		st = AZIHSM_STATUS_KEY_TYPE;
	}
out:
	free(nb);
	BN_free(n);
	BN_free(ex);
	EVP_PKEY_free(k);
	return st;
}

/* The report payload (msg.h AZIHSM_REPORT_*) into @e. */
static uint32_t fw_report_payload(struct fw_req *r, struct cbor_enc *e,
				  const struct hsm_key_attr *a, const uint8_t *spki, size_t len,
				  const struct fw_bytes *data)
{
	uint8_t m[HSM_ID_MEASUREMENT_LEN];
	uint32_t svn, st;

	hsm_identity_measurement(r->fw->id, m, &svn);
	cbor_enc_map(e, 7);
	cbor_enc_uint(e, AZIHSM_REPORT_K_VERSION);
	cbor_enc_uint(e, AZIHSM_REPORT_VERSION);
	cbor_enc_uint(e, AZIHSM_REPORT_K_KEY);
	st = fw_cose_key(e, spki, len);
	if (st)
		return st;
	cbor_enc_uint(e, AZIHSM_REPORT_K_ATTRS);
	cbor_enc_map(e, 6);
	cbor_enc_uint(e, AZIHSM_REPORT_A_TYPE);
	cbor_enc_uint(e, a->type);
	cbor_enc_uint(e, AZIHSM_REPORT_A_USAGE);
	cbor_enc_uint(e, a->usage);
	cbor_enc_uint(e, AZIHSM_REPORT_A_PERSISTENT);
	cbor_enc_bool(e, a->owner == 0);
	cbor_enc_uint(e, AZIHSM_REPORT_A_GENERATED);
	cbor_enc_bool(e, a->origin & HSM_ORIGIN_GENERATED);
	cbor_enc_uint(e, AZIHSM_REPORT_A_ORIGIN);
	cbor_enc_uint(e, a->origin);
	cbor_enc_uint(e, AZIHSM_REPORT_A_EXTRACTABLE);
	cbor_enc_bool(e, false);	/* no key material ever leaves in clear */
	cbor_enc_uint(e, AZIHSM_REPORT_K_DATA);
	cbor_enc_bytes(e, data->p, data->len);
	cbor_enc_uint(e, AZIHSM_REPORT_K_MEASUREMENT);
	cbor_enc_bytes(e, m, sizeof(m));
	cbor_enc_uint(e, AZIHSM_REPORT_K_SVN);
	cbor_enc_uint(e, svn);
	cbor_enc_uint(e, AZIHSM_REPORT_K_SERIAL);
	cbor_enc_text(e, r->fw->serial);
	return AZIHSM_STATUS_SUCCESS;
}

/* Field by field: the structs' padding is not theirs to compare. */
static bool fw_same_key(const struct hsm_key_attr *a, const struct hsm_key_attr *b)
{
	return a->id == b->id && a->owner == b->owner && a->type == b->type &&
	       a->usage == b->usage && a->origin == b->origin && a->serial == b->serial &&
	       a->label_len == b->label_len && !memcmp(a->label, b->label, a->label_len);
}

#define FW_ATTEST_SPKI_MAX	1024
#define FW_ATTEST_TBS_MAX	(AZIHSM_REPORT_MAX + 64)

uint32_t fw_svc_attest_key(struct fw_req *r)
{
	/* protected header: { 1 (alg): -35 (ES384) } */
	static const uint8_t prot[] = { 0xa1, 0x01, 0x38, 0x22 };
	struct fw_bytes data = { (const uint8_t *)"", 0 };
	uint8_t spki[FW_ATTEST_SPKI_MAX], payload[AZIHSM_REPORT_MAX];
	uint8_t tbs[FW_ATTEST_TBS_MAX], sig[HSM_ID_SIG_LEN], out[AZIHSM_REPORT_MAX + 128];
	struct hsm_key_attr a, again;
	uint16_t id = 0;
	bool has_data = false;
	const struct fw_field f[] = {
		{ AZIHSM_ATTEST_F_KEY_ID, FW_U16, false, &id, NULL },
		{ AZIHSM_ATTEST_F_REPORT_DATA, FW_BYTES, true, &data, &has_data },
	};
	struct cbor_enc e;
	size_t slen = 0, plen, tlen, olen;
	uint32_t st = fw_decode(r, f, 2);
	int ret;

	if (st)
		return st;
	if (!has_data)
		data = (struct fw_bytes){ (const uint8_t *)"", 0 };
	if (!fw_key_id_valid(id) || data.len > AZIHSM_REPORT_DATA_MAX)
		return AZIHSM_STATUS_INVALID_ARG;
	st = fw_use_key_check(r, id, HSM_AUTHZ_ATTEST_USAGE, &a);
	if (st)
		return st;
	if (!r->fw->id)
		return AZIHSM_STATUS_NOT_PROVISIONED;
	ret = hsm_vault_export_public(r->fw->vault, id, spki, sizeof(spki), &slen);
	if (ret == HSM_VAULT_NOT_ASYMMETRIC)
		return AZIHSM_STATUS_KEY_TYPE;	/* a secret key: no public part */
	if (ret)
		return fw_status_vault(ret);
	/* The public part and the attributes are of one key. */
	if (hsm_vault_get_attr(r->fw->vault, id, &again) != HSM_VAULT_OK ||
	    !fw_same_key(&a, &again))
		return AZIHSM_STATUS_KEY_NOT_FOUND;
	cbor_enc_init(&e, payload, sizeof(payload));
	st = fw_report_payload(r, &e, &a, spki, slen, &data);
	if (st)
		return st;
	if (cbor_enc_finish(&e, &plen))
		return AZIHSM_STATUS_INTERNAL;
	/* Sig_structure = [ "Signature1", protected, external_aad h'', payload ] */
	cbor_enc_init(&e, tbs, sizeof(tbs));
	cbor_enc_array(&e, 4);
	cbor_enc_text(&e, "Signature1");
	cbor_enc_bytes(&e, prot, sizeof(prot));
	cbor_enc_bytes(&e, NULL, 0);
	cbor_enc_bytes(&e, payload, plen);
	if (cbor_enc_finish(&e, &tlen))
		return AZIHSM_STATUS_INTERNAL;
	st = fw_status_id(hsm_identity_sign(r->fw->id, tbs, tlen, sig));
	if (st)
		return st;
	/* COSE_Sign1 = 18([ protected, unprotected {}, payload, signature ]) */
	cbor_enc_init(&e, out, sizeof(out));
	cbor_enc_tag(&e, AZIHSM_COSE_TAG_SIGN1);
	cbor_enc_array(&e, 4);
	cbor_enc_bytes(&e, prot, sizeof(prot));
	cbor_enc_map(&e, 0);
	cbor_enc_bytes(&e, payload, plen);
	cbor_enc_bytes(&e, sig, sizeof(sig));
	if (cbor_enc_finish(&e, &olen))
		return AZIHSM_STATUS_INTERNAL;
	mbor_enc_map(r->e, 1);
	mbor_enc_key(r->e, AZIHSM_ATTEST_F_REPORT);
	mbor_enc_bytes(r->e, out, olen);
	return AZIHSM_STATUS_SUCCESS;
}
