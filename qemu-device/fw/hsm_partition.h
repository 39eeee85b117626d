/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The partition's persistent state: its masking key, its persistent keys
 * and its credentials (with their lockout state), kept as one image sealed by hsm_state in the host file named by
 * the device's `state` property. Without that property the partition is
 * volatile (new masking key every start, nothing stored).
 *
 * Image (little-endian): magic "AZHSMPI1" (8), version u16 (2),
 * masking key enc (32) + mac (48), vault image length u32, vault image
 * (hsm_vault_serialize), credentials image length u32, credentials image
 * (hsm_auth_serialize). Only version 2 is accepted (version 1, without
 * credentials, never left the tests).
 */
#ifndef HSM_PARTITION_H
#define HSM_PARTITION_H

#include <stdbool.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_vault.h"

struct hsm_partition;

/*
 * Open the partition stored at @state_path (NULL: volatile) into @vault,
 * which must be empty, and @auth, which must have no sessions (a fresh
 * partition stores @auth's credentials as they are: the defaults). Never fails for a bad file: the partition then
 * reports an error status and refuses commits. NULL only without memory.
 */
struct hsm_partition *hsm_partition_open(const char *state_path, struct hsm_vault *vault,
					 struct hsm_auth *auth);
void hsm_partition_close(struct hsm_partition *p);
/* enum azihsm_persist (include/azihsm/msg.h): the wire value. */
enum azihsm_persist hsm_partition_status(const struct hsm_partition *p);
bool hsm_partition_failed(const struct hsm_partition *p);
/* The masking key for masked blobs. */
const struct hsm_masking_key *hsm_partition_masking_key(const struct hsm_partition *p);
/*
 * Store the current persistent keys and credentials; returns only once durable (0), or
 * -1 (volatile partitions succeed without storing anything).
 */
int hsm_partition_commit(struct hsm_partition *p);

#endif /* HSM_PARTITION_H */
