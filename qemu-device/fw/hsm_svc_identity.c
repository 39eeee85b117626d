// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware services: the identity chain (GetCertChainInfo 1108,
 * GetCertificate 1109) and key attestation (AttestKey 1016). Request and
 * response maps: include/azihsm/msg.h; the chain: hsm_identity.h.
 */
#include <string.h>

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
