/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The partition's persistent state: its masking key, its persistent keys
 * and its credentials (with their lockout state), kept as one image sealed by hsm_state in the host file named by
 * the device's `state` property. Without that property the partition is
 * volatile (new masking key every start, nothing stored).
 *
 * Image (little-endian): magic "AZHSMPI1" (8), version u16 (3),
 * masking key enc (32) + mac (48), vault image length u32, vault image
 * (hsm_vault_serialize), credentials image length u32, credentials image
 * (hsm_auth_serialize), backup part length u32 (0: no BK3, or 48), BK3,
 * and from version 4 the security domain part: length u32 (0: none, or 49),
 * domain id (16), quorum (1), domain key (32).
 * Versions 2 (no backup part), 3 (no domain part) and 4 load; commits write
 * version 4
 * (version 1, without credentials, never left the tests).
 *
 * Backup (design: Documentation/hsm-design.md "Backup"): the partition may
 * hold a BK3 (48 random bytes); the sealed BK3 blob carries it, sealed to
 * this device, and the masking key wrapped under a key derived from it.
 * The blob's layout: the top of hsm_partition.c.
 */
#ifndef HSM_PARTITION_H
#define HSM_PARTITION_H

#include <stdbool.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_sd.h"
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
/*
 * The parser hsm_partition_open runs on the image it unsealed: @img into
 * @p's vault (which must be empty) and credentials, its masking key, BK3
 * and security domain. 0, or -1 for a malformed image. Exported for the
 * fuzzer (tests/fuzz/fuzz_state.c), which feeds it the authenticated
 * plaintext the seal keeps random bytes from reaching.
 */
int hsm_partition_parse_image(struct hsm_partition *p, const uint8_t *img, size_t len);
/* enum azihsm_persist (include/azihsm/msg.h): the wire value. */
enum azihsm_persist hsm_partition_status(const struct hsm_partition *p);
bool hsm_partition_failed(const struct hsm_partition *p);
/* A copy of the masking key (cleanse it after use). */
void hsm_partition_masking_key(struct hsm_partition *p, struct hsm_masking_key *out);
/*
 * The device's zeroize epoch (hsm_state_epoch; a volatile partition counts
 * its zeroizes in memory).
 */
uint64_t hsm_partition_epoch(struct hsm_partition *p);
/*
 * The key masked blobs are sealed with: hsm_masking_key_bind of @mk (NULL:
 * the partition's masking key) and the current epoch. 0 or -1; cleanse it.
 */
int hsm_partition_blob_key(struct hsm_partition *p, const struct hsm_masking_key *mk,
			   struct hsm_masking_key *out);
/* The security domain (struct hsm_sd, hsm_sd.h); a zeroize drops it. */
/* A copy of the installed domain into @out (cleanse it): true, or false if none. */
bool hsm_partition_sd(struct hsm_partition *p, struct hsm_sd *out);
/*
 * Install @sd and commit: OK (also when the same domain is there already),
 * SD_EXISTS (another domain is installed: nothing changes), NOT_STORED
 * (then none is installed).
 */
int hsm_partition_set_sd(struct hsm_partition *p, const struct hsm_sd *sd);

/*
 * Store the current persistent keys and credentials; returns only once durable (0), or
 * -1 (volatile partitions succeed without storing anything).
 */
int hsm_partition_commit(struct hsm_partition *p);

/*
 * A device-lifetime key from the NV file's secret (hsm_state_device_key:
 * @info starts with HSM_STATE_DEVICE_KEY_PREFIX): 0; -ENOENT for a
 * volatile partition (no NV file); -EIO if the store cannot give it.
 */
int hsm_partition_device_key(struct hsm_partition *p, const char *info, uint8_t *out,
			     size_t len);

#define HSM_BK3_LEN		48
#define HSM_BK3_SEALED_LEN	175	/* the sealed BK3 blob */

enum hsm_part_status {
	HSM_PART_OK = 0,
	HSM_PART_NOT_STORED,	/* the commit failed */
	HSM_PART_BK3_EXISTS,	/* InitBk3 on a partition with a BK3 */
	HSM_PART_NO_BK3,	/* no BK3 to seal */
	HSM_PART_BAD_BLOB,	/* the sealed blob does not open here */
	HSM_PART_BUFFER_SMALL,	/* *len = the size needed */
	HSM_PART_CRYPTO,	/* RNG, KDF or cipher failure */
	HSM_PART_NOT_EMPTY,	/* another masking key over persistent keys */
	HSM_PART_SD_EXISTS,	/* another security domain is installed */
};

/*
 * Zeroize the partition's own secrets: the next zeroize epoch (at once in
 * memory), masking key @mk (a new one the caller made), no BK3, then
 * commit (the caller has emptied the vault and reset the credentials
 * first), which stores the epoch. OK, or NOT_STORED (the new state holds
 * in memory only).
 */
int hsm_partition_zeroize(struct hsm_partition *p, const struct hsm_masking_key *mk);
bool hsm_partition_has_bk3(struct hsm_partition *p);
/*
 * Make a BK3 (48 random bytes) and commit: OK, BK3_EXISTS, CRYPTO,
 * NOT_STORED (then there is no BK3).
 */
int hsm_partition_init_bk3(struct hsm_partition *p);
/*
 * The sealed BK3 blob (HSM_BK3_SEALED_LEN bytes) into @out: OK, NO_BK3,
 * BUFFER_SMALL, CRYPTO (then nothing is written).
 */
int hsm_partition_sealed_bk3(struct hsm_partition *p, uint8_t *out, size_t cap, size_t *len);
/*
 * Open a sealed BK3 blob made on this device in its current epoch, install
 * its BK3 and masking key and commit: OK, BAD_BLOB (not this device's or
 * epoch's, damaged, wrong length), NOT_EMPTY (its masking key is not the
 * current one and the partition holds persistent keys: the caller holds
 * the persist lock so none appear meanwhile), NOT_STORED (the old BK3 and
 * masking key stay), CRYPTO.
 */
int hsm_partition_set_sealed_bk3(struct hsm_partition *p, const uint8_t *blob, size_t len);

#endif /* HSM_PARTITION_H */
