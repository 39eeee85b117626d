// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * azihsm firmware: the one key-use authorization rule (hsm_authz.h).
 * Rules added later (key-usage separation, quotas) go into
 * hsm_authz_use_key, so the control path and the fast path keep deciding
 * alike.
 */
#include "hsm_authz.h"

bool hsm_authz_visible(uint16_t sid, enum hsm_auth_role role, uint16_t owner)
{
	return (owner && owner == sid) || (!owner && role != HSM_ROLE_KERNEL);
}

enum hsm_authz_status hsm_authz_use_key(struct hsm_auth *a, uint16_t sid,
					const struct hsm_authz_key *key, uint32_t need)
{
	enum hsm_auth_role role;

	switch (hsm_auth_check(a, sid, HSM_OP_USE_KEY)) {
	case HSM_AUTH_OK:
		break;
	case HSM_AUTH_MUST_CHANGE_PIN:
		return HSM_AUTHZ_MUST_CHANGE_PIN;
	case HSM_AUTH_WRONG_ROLE:
		return HSM_AUTHZ_WRONG_ROLE;
	default:
		return HSM_AUTHZ_NO_SESSION;
	}
	/* Closed since the check: as if never open. */
	if (hsm_auth_session_role(a, sid, &role) != HSM_AUTH_OK)
		return HSM_AUTHZ_NO_SESSION;
	if (!hsm_authz_visible(sid, role, key->owner))
		return HSM_AUTHZ_NOT_VISIBLE;
	/*
	 * issue 9 (RT-1/2/3/6): a new key made from a persistent key (ECDH,
	 * HKDF, KBKDF, RsaUnwrap) is the officer's alone. Another session
	 * deriving it again with another type or usage would read the
	 * officer's key, or keep a copy after the officer deleted it.
	 */
	if ((need & HSM_AUTHZ_NEW_KEY_USAGE) && !key->owner &&
	    hsm_auth_check(a, sid, HSM_OP_MANAGE_KEYS) != HSM_AUTH_OK)
		return HSM_AUTHZ_WRONG_ROLE;
	if ((key->usage & need) != need)
		return HSM_AUTHZ_USAGE;
	return HSM_AUTHZ_OK;
}
