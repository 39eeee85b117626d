// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Partition persistence: builds and parses the partition image (format in
 * hsm_partition.h) and hands it to hsm_state for sealing. A file that is
 * damaged, old or another device's is reported, never replaced: the
 * partition then refuses to commit, so the user's keys on disk survive
 * until someone deals with the file.
 *
 * Also the partition's backup secrets: the masking key, the BK3 and the
 * sealed backup blob (GetSealedBk3 / SetSealedBk3), all integers
 * little-endian:
 *
 *   off     len  field
 *     0       8  magic "AZHSMBK3"
 *     8       1  version (2)
 *     9       2  W, wrapped masking key length u16 (88)
 *    11       W  AES-256-KWP (RFC 5649) under BK of the masking key
 *                (enc 32 || mac 48)
 *  11+W      12  GCM nonce (random)
 *  23+W      48  BK3, AES-256-GCM under the seal key
 *  71+W      16  GCM tag; AAD = bytes 0 .. 11+W
 *
 *   BK       = SP 800-108 counter KBKDF, HMAC-SHA384, key BK3, label
 *              "azihsm backup key", context "masking key wrap v2" ||
 *              epoch u64, 32 bytes
 *   seal key = HKDF-SHA256(NV secret, info "azihsm bk3 seal v2" || epoch
 *              u64) (hsm_state_derive_key; a volatile partition: the same
 *              over a secret drawn at start and an epoch kept in memory)
 *
 * The epoch is the device's zeroize epoch (hsm_state.h): a blob opens only
 * in the epoch it was made in, so a zeroize is final. Version 1 (no epoch)
 * is refused. Opening checks the length, magic, version and W, then the
 * GCM tag, then the KWP integrity check; any failure is BAD_BLOB and
 * changes nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hsm_bytes.h"
#include "hsm_auth.h"
#include "hsm_ops.h"
#include "hsm_partition.h"
#include "hsm_state.h"

#define PI_MAGIC	"AZHSMPI1"
#define PI_VERSION	4
#define PI_SD_LEN	(HSM_SD_ID_LEN + 1 + HSM_SD_KEY_LEN)
#define PI_VERSION_MIN	2	/* version 2: no backup part */
#define PI_HDR_LEN	(8 + 2 + 32 + 48 + 4)

#define BK_MAGIC	"AZHSMBK3"
#define BK_VERSION	2
#define BK_MK_LEN	80	/* enc || mac */
#define BK_WRAP_LEN	(BK_MK_LEN + 8)
#define BK_NONCE_LEN	12
#define BK_TAG_LEN	16
#define BK_AAD_LEN	(8 + 1 + 2 + BK_WRAP_LEN)
#define BK_BLOB_LEN	(BK_AAD_LEN + BK_NONCE_LEN + HSM_BK3_LEN + BK_TAG_LEN)
#define BK_KDF_LABEL	"azihsm backup key"
#define BK_KDF_CONTEXT	"masking key wrap v2"	/* || epoch u64 */
#define BK_SEAL_INFO	"azihsm bk3 seal v2"	/* || epoch u64 */

_Static_assert(BK_BLOB_LEN == HSM_BK3_SEALED_LEN, "sealed BK3 length");

struct hsm_partition {
	pthread_mutex_t lock;	/* serialises commits; guards mk, bk3 */
	struct hsm_state *store;	/* NULL: volatile */
	struct hsm_vault *vault;
	struct hsm_auth *auth;
	struct hsm_masking_key mk;
	bool has_bk3;
	uint8_t bk3[HSM_BK3_LEN];
	bool has_sd;
	struct hsm_sd sd;
	uint8_t vol_seal[32];	/* volatile partitions' sealing secret */
	uint64_t vol_epoch;	/* volatile partitions' zeroize epoch */
	enum azihsm_persist status;
};

static enum azihsm_persist persist_from_state(enum hsm_state_status st)
{
	switch (st) {
	case HSM_STATE_OK:
		return AZIHSM_PERSIST_LOADED;
	case HSM_STATE_EMPTY:
		return AZIHSM_PERSIST_CREATED;
	case HSM_STATE_TRUNCATED:
		return AZIHSM_PERSIST_TRUNCATED;
	case HSM_STATE_CORRUPT:
		return AZIHSM_PERSIST_CORRUPT;
	case HSM_STATE_ROLLED_BACK:
		return AZIHSM_PERSIST_ROLLED_BACK;
	case HSM_STATE_FOREIGN:
		return AZIHSM_PERSIST_FOREIGN;
	case HSM_STATE_NV_CORRUPT:
		return AZIHSM_PERSIST_NV_CORRUPT;
	case HSM_STATE_IO:
		break;
	}
	return AZIHSM_PERSIST_IO;
}

/*
 * Parse @img into the (empty) vault, the credentials and the masking key.
 * The credentials go first: hsm_auth_deserialize changes nothing when it
 * refuses, and a refusal of either part fails the partition anyway.
 */
int hsm_partition_parse_image(struct hsm_partition *p, const uint8_t *img, size_t len)
{
	size_t vlen, alen, rest, blen = 0, slen = 0;
	unsigned int version;

	if (len < PI_HDR_LEN + 4 || memcmp(img, PI_MAGIC, 8))
		return -1;
	version = img[8] | img[9] << 8;
	if (version < PI_VERSION_MIN || version > PI_VERSION)
		return -1;
	vlen = get_le32(img + PI_HDR_LEN - 4);
	if (vlen > len - PI_HDR_LEN - 4)
		return -1;
	alen = get_le32(img + PI_HDR_LEN + vlen);
	rest = len - PI_HDR_LEN - vlen - 4;
	if (version == 2) {
		if (alen != rest)
			return -1;
	} else {
		/* Version 3: then the backup part: length u32 (0 or 48), BK3. */
		if (alen > rest || rest - alen < 4)
			return -1;
		blen = get_le32(img + PI_HDR_LEN + vlen + 4 + alen);
		if (blen && blen != HSM_BK3_LEN)
			return -1;
		if (version == 3 && blen != rest - alen - 4)
			return -1;
		if (version >= 4) {
			/* Version 4: the domain part, length u32 (0 or 49) and it. */
			if (rest - alen - 4 < blen + 4)
				return -1;
			slen = get_le32(img + PI_HDR_LEN + vlen + 4 + alen + 4 + blen);
			if (slen != rest - alen - 4 - blen - 4 || (slen && slen != PI_SD_LEN))
				return -1;
		}
	}
	if (hsm_auth_deserialize(p->auth, img + PI_HDR_LEN + vlen + 4, alen) != HSM_AUTH_OK)
		return -1;
	if (hsm_vault_deserialize(p->vault, img + PI_HDR_LEN, vlen) != HSM_VAULT_OK)
		return -1;
	memcpy(p->mk.enc, img + 10, sizeof(p->mk.enc));
	memcpy(p->mk.mac, img + 42, sizeof(p->mk.mac));
	p->has_bk3 = blen != 0;
	if (blen)
		memcpy(p->bk3, img + PI_HDR_LEN + vlen + 4 + alen + 4, blen);
	p->has_sd = slen != 0;
	if (slen) {
		const uint8_t *sd = img + len - slen;

		memcpy(p->sd.id, sd, HSM_SD_ID_LEN);
		p->sd.quorum = sd[HSM_SD_ID_LEN];
		memcpy(p->sd.key, sd + HSM_SD_ID_LEN + 1, HSM_SD_KEY_LEN);
	}
	return 0;
}

static int partition_build(struct hsm_partition *p, uint8_t **out, size_t *out_len)
{
	uint8_t *vimg = NULL, *aimg = NULL, *img = NULL;
	size_t vlen = 0, alen = 0, len;

	if (hsm_vault_serialize(p->vault, &vimg, &vlen) != HSM_VAULT_OK)
		return -1;
	if (hsm_auth_serialize(p->auth, &aimg, &alen) != HSM_AUTH_OK)
		goto out;
	len = PI_HDR_LEN + vlen + 4 + alen + 4 + (p->has_bk3 ? HSM_BK3_LEN : 0) + 4 +
	      (p->has_sd ? PI_SD_LEN : 0);
	img = malloc(len);
	if (!img)
		goto out;
	memcpy(img, PI_MAGIC, 8);
	put_le16(img + 8, PI_VERSION);
	memcpy(img + 10, p->mk.enc, sizeof(p->mk.enc));
	memcpy(img + 42, p->mk.mac, sizeof(p->mk.mac));
	put_le32(img + PI_HDR_LEN - 4, (uint32_t)vlen);
	memcpy(img + PI_HDR_LEN, vimg, vlen);
	put_le32(img + PI_HDR_LEN + vlen, (uint32_t)alen);
	memcpy(img + PI_HDR_LEN + vlen + 4, aimg, alen);
	put_le32(img + PI_HDR_LEN + vlen + 4 + alen, p->has_bk3 ? HSM_BK3_LEN : 0);
	if (p->has_bk3)
		memcpy(img + PI_HDR_LEN + vlen + 4 + alen + 4, p->bk3, HSM_BK3_LEN);
	put_le32(img + len - 4 - (p->has_sd ? PI_SD_LEN : 0), p->has_sd ? PI_SD_LEN : 0);
	if (p->has_sd) {
		uint8_t *sd = img + len - PI_SD_LEN;

		memcpy(sd, p->sd.id, HSM_SD_ID_LEN);
		sd[HSM_SD_ID_LEN] = p->sd.quorum;
		memcpy(sd + HSM_SD_ID_LEN + 1, p->sd.key, HSM_SD_KEY_LEN);
	}
	*out = img;
	*out_len = len;
out:
	hsm_vault_image_free(vimg, vlen);
	hsm_auth_image_free(aimg, alen);
	return img ? 0 : -1;
}

static int partition_commit_locked(struct hsm_partition *p)
{
	uint8_t *img;
	size_t len;
	int ret;

	if (partition_build(p, &img, &len))
		return -1;
	ret = hsm_state_commit(p->store, img, len) ? -1 : 0;
	OPENSSL_cleanse(img, len);
	free(img);
	return ret;
}

struct hsm_partition *hsm_partition_open(const char *state_path, struct hsm_vault *vault,
					 struct hsm_auth *auth)
{
	enum hsm_state_status st;
	struct hsm_partition *p;
	uint8_t *img;
	size_t len;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->vault = vault;
	p->auth = auth;
	if (!state_path) {
		p->status = AZIHSM_PERSIST_VOLATILE;
		if (hsm_masking_key_generate(&p->mk) != HSM_VAULT_OK ||
		    RAND_priv_bytes(p->vol_seal, sizeof(p->vol_seal)) != 1)
			goto fail;
		return p;
	}
	p->store = hsm_state_open(state_path, &st);
	if (!p->store)
		goto fail;
	p->status = persist_from_state(st);
	if (st == HSM_STATE_EMPTY) {
		/* A fresh partition: its masking key must outlive this run. */
		if (hsm_masking_key_generate(&p->mk) != HSM_VAULT_OK ||
		    partition_commit_locked(p))
			p->status = AZIHSM_PERSIST_IO;
	} else if (st == HSM_STATE_OK) {
		if (hsm_state_load(p->store, &img, &len)) {
			p->status = AZIHSM_PERSIST_IO;
		} else {
			if (hsm_partition_parse_image(p, img, len))
				p->status = AZIHSM_PERSIST_BAD_IMAGE;
			hsm_state_free_image(img, len);
		}
	}
	if (hsm_partition_failed(p)) {
		OPENSSL_cleanse(&p->mk, sizeof(p->mk));
		OPENSSL_cleanse(p->bk3, sizeof(p->bk3));
		p->has_bk3 = false;
		OPENSSL_cleanse(&p->sd, sizeof(p->sd));
		p->has_sd = false;
	}
	return p;
fail:
	hsm_partition_close(p);
	return NULL;
}

void hsm_partition_close(struct hsm_partition *p)
{
	if (!p)
		return;
	if (p->store)
		hsm_state_close(p->store);
	OPENSSL_cleanse(&p->mk, sizeof(p->mk));
	OPENSSL_cleanse(p->bk3, sizeof(p->bk3));
	OPENSSL_cleanse(&p->sd, sizeof(p->sd));
	OPENSSL_cleanse(p->vol_seal, sizeof(p->vol_seal));
	pthread_mutex_destroy(&p->lock);
	free(p);
}

enum azihsm_persist hsm_partition_status(const struct hsm_partition *p)
{
	return p->status;
}

bool hsm_partition_failed(const struct hsm_partition *p)
{
	return p->status >= AZIHSM_PERSIST_TRUNCATED;
}

void hsm_partition_masking_key(struct hsm_partition *p, struct hsm_masking_key *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->mk;
	pthread_mutex_unlock(&p->lock);
}

static uint64_t epoch_locked(struct hsm_partition *p)
{
	return p->store ? hsm_state_epoch(p->store) : p->vol_epoch;
}

uint64_t hsm_partition_epoch(struct hsm_partition *p)
{
	uint64_t e;

	pthread_mutex_lock(&p->lock);
	e = epoch_locked(p);
	pthread_mutex_unlock(&p->lock);
	return e;
}

int hsm_partition_blob_key(struct hsm_partition *p, const struct hsm_masking_key *mk,
			   struct hsm_masking_key *out)
{
	struct hsm_masking_key raw;
	uint64_t e;
	int ret;

	pthread_mutex_lock(&p->lock);
	raw = mk ? *mk : p->mk;
	e = epoch_locked(p);
	pthread_mutex_unlock(&p->lock);
	ret = hsm_masking_key_bind(&raw, e, out) ? -1 : 0;
	OPENSSL_cleanse(&raw, sizeof(raw));
	return ret;
}

/* Volatile partitions "commit" without storing anything. */
static int commit_locked(struct hsm_partition *p)
{
	if (hsm_partition_failed(p))
		return -1;
	return p->store ? partition_commit_locked(p) : 0;
}

int hsm_partition_commit(struct hsm_partition *p)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	ret = commit_locked(p);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int hsm_partition_zeroize(struct hsm_partition *p, const struct hsm_masking_key *mk)
{
	int ret;

	pthread_mutex_lock(&p->lock);
	/*
	 * The next epoch first: from here on nothing sealed before (BK3
	 * blobs, masked blobs, the state file) opens, even if the commit
	 * below fails (then the epoch holds in memory until a commit).
	 */
	if (!p->store)
		p->vol_epoch++;
	else if (hsm_state_new_epoch(p->store))
		p->status = AZIHSM_PERSIST_IO;	/* an error state or the last epoch */
	p->mk = *mk;
	OPENSSL_cleanse(p->bk3, sizeof(p->bk3));
	p->has_bk3 = false;
	OPENSSL_cleanse(&p->sd, sizeof(p->sd));
	p->has_sd = false;
	ret = commit_locked(p) ? HSM_PART_NOT_STORED : HSM_PART_OK;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

bool hsm_partition_sd(struct hsm_partition *p, struct hsm_sd *out)
{
	bool has;

	pthread_mutex_lock(&p->lock);
	has = p->has_sd;
	if (has)
		*out = p->sd;
	pthread_mutex_unlock(&p->lock);
	return has;
}

int hsm_partition_set_sd(struct hsm_partition *p, const struct hsm_sd *sd)
{
	int ret = HSM_PART_OK;

	pthread_mutex_lock(&p->lock);
	if (p->has_sd) {
		if (CRYPTO_memcmp(&p->sd, sd, sizeof(*sd)))
			ret = HSM_PART_SD_EXISTS;
	} else {
		p->sd = *sd;
		p->has_sd = true;
		if (commit_locked(p)) {
			/* Never keep a domain the file does not hold. */
			OPENSSL_cleanse(&p->sd, sizeof(p->sd));
			p->has_sd = false;
			ret = HSM_PART_NOT_STORED;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

bool hsm_partition_has_bk3(struct hsm_partition *p)
{
	bool has;

	pthread_mutex_lock(&p->lock);
	has = p->has_bk3;
	pthread_mutex_unlock(&p->lock);
	return has;
}

int hsm_partition_init_bk3(struct hsm_partition *p)
{
	int ret = HSM_PART_OK;

	pthread_mutex_lock(&p->lock);
	if (p->has_bk3) {
		ret = HSM_PART_BK3_EXISTS;
	} else if (RAND_priv_bytes(p->bk3, sizeof(p->bk3)) != 1) {
		ret = HSM_PART_CRYPTO;
	} else {
		p->has_bk3 = true;
		if (commit_locked(p))
			ret = HSM_PART_NOT_STORED;
	}
	if (ret && ret != HSM_PART_BK3_EXISTS) {
		/* Never answer with a BK3 the file does not hold. */
		OPENSSL_cleanse(p->bk3, sizeof(p->bk3));
		p->has_bk3 = false;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* The key that seals BK3 to this device and its epoch. */
static int seal_key(struct hsm_partition *p, uint8_t key[32])
{
	if (!p->store)
		return hsm_epoch_kdf(p->vol_seal, sizeof(p->vol_seal), BK_SEAL_INFO,
				     &p->vol_epoch, key, 32);
	return hsm_state_derive_key(p->store, BK_SEAL_INFO, key, 32) ? -1 : 0;
}

/* BK = KBKDF-HMAC-SHA384(BK3, label, context || epoch), 32 bytes. */
static int derive_bk(struct hsm_partition *p, const uint8_t bk3[HSM_BK3_LEN], uint8_t bk[32])
{
	const struct hsm_key_ref kdk = {
		.type = HSM_KEY_HMAC_SHA384, .secret = bk3, .secret_len = HSM_BK3_LEN,
	};
	uint8_t ctx[sizeof(BK_KDF_CONTEXT) - 1 + 8];
	bool fips;

	memcpy(ctx, BK_KDF_CONTEXT, sizeof(BK_KDF_CONTEXT) - 1);
	put_le64(ctx + sizeof(BK_KDF_CONTEXT) - 1, epoch_locked(p));
	return hsm_ops_kbkdf(&kdk, HSM_HASH_SHA384, (const uint8_t *)BK_KDF_LABEL,
			     strlen(BK_KDF_LABEL), ctx, sizeof(ctx), bk, 32, &fips) ? -1 : 0;
}

/* AES-256-GCM of one HSM_BK3_LEN buffer; false: failed (or tag mismatch). */
static bool bk3_gcm(const uint8_t key[32], bool enc, const uint8_t *nonce, const uint8_t *aad,
		    const uint8_t *in, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	if (!c)
		return false;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, BK_NONCE_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, aad, BK_AAD_LEN) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, HSM_BK3_LEN) == 1 && n == HSM_BK3_LEN &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BK_TAG_LEN, tag) == 1) &&
	     EVP_CipherFinal_ex(c, out + n, &n) == 1 && n == 0 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BK_TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, HSM_BK3_LEN);
	return ok;
}

int hsm_partition_sealed_bk3(struct hsm_partition *p, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t key[32], bk[32], mk[BK_MK_LEN];
	const struct hsm_key_ref kek = {
		.type = HSM_KEY_AES256, .secret = bk, .secret_len = sizeof(bk),
	};
	size_t wlen = 0;
	bool fips;
	int ret = HSM_PART_CRYPTO;

	*len = BK_BLOB_LEN;
	if (!out || cap < BK_BLOB_LEN)
		return HSM_PART_BUFFER_SMALL;
	pthread_mutex_lock(&p->lock);
	if (!p->has_bk3) {
		ret = HSM_PART_NO_BK3;
		goto out;
	}
	if (seal_key(p, key) || derive_bk(p, p->bk3, bk))
		goto out;
	memcpy(mk, p->mk.enc, 32);
	memcpy(mk + 32, p->mk.mac, 48);
	memcpy(out, BK_MAGIC, 8);
	out[8] = BK_VERSION;
	put_le16(out + 9, BK_WRAP_LEN);
	if (hsm_ops_aes_kwp_wrap(&kek, mk, sizeof(mk), out + 11, BK_WRAP_LEN, &wlen, &fips) ||
	    wlen != BK_WRAP_LEN)
		goto out;
	if (RAND_bytes(out + BK_AAD_LEN, BK_NONCE_LEN) != 1)
		goto out;
	if (!bk3_gcm(key, true, out + BK_AAD_LEN, out, p->bk3,
		     out + BK_AAD_LEN + BK_NONCE_LEN,
		     out + BK_AAD_LEN + BK_NONCE_LEN + HSM_BK3_LEN))
		goto out;
	ret = HSM_PART_OK;
out:
	pthread_mutex_unlock(&p->lock);
	if (ret) {
		OPENSSL_cleanse(out, BK_BLOB_LEN);
		*len = 0;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(bk, sizeof(bk));
	OPENSSL_cleanse(mk, sizeof(mk));
	return ret;
}

int hsm_partition_set_sealed_bk3(struct hsm_partition *p, const uint8_t *blob, size_t len)
{
	uint8_t key[32], bk[32], bk3[HSM_BK3_LEN], mk[BK_MK_LEN + 16], tag[BK_TAG_LEN];
	const struct hsm_key_ref kek = {
		.type = HSM_KEY_AES256, .secret = bk, .secret_len = sizeof(bk),
	};
	struct hsm_masking_key old_mk;
	uint8_t old_bk3[HSM_BK3_LEN];
	bool old_has, fips;
	size_t mlen = 0;
	int ret = HSM_PART_BAD_BLOB;

	if (!blob || len != BK_BLOB_LEN || memcmp(blob, BK_MAGIC, 8) || blob[8] != BK_VERSION ||
	    get_le16(blob + 9) != BK_WRAP_LEN)
		return HSM_PART_BAD_BLOB;
	pthread_mutex_lock(&p->lock);
	if (seal_key(p, key)) {
		ret = HSM_PART_CRYPTO;
		goto out;
	}
	memcpy(tag, blob + BK_AAD_LEN + BK_NONCE_LEN + HSM_BK3_LEN, BK_TAG_LEN);
	if (!bk3_gcm(key, false, blob + BK_AAD_LEN, blob, blob + BK_AAD_LEN + BK_NONCE_LEN, bk3,
		     tag))
		goto out;	/* another device's, or damaged */
	if (derive_bk(p, bk3, bk)) {
		ret = HSM_PART_CRYPTO;
		goto out;
	}
	if (hsm_ops_aes_kwp_unwrap(&kek, blob + 11, BK_WRAP_LEN, mk, sizeof(mk), &mlen, &fips) ||
	    mlen != BK_MK_LEN)
		goto out;
	/* Persistent keys masked under another masking key must not be orphaned. */
	if ((CRYPTO_memcmp(mk, p->mk.enc, 32) || CRYPTO_memcmp(mk + 32, p->mk.mac, 48)) &&
	    hsm_vault_count_owner(p->vault, 0)) {
		ret = HSM_PART_NOT_EMPTY;
		goto out;
	}
	old_mk = p->mk;
	old_has = p->has_bk3;
	memcpy(old_bk3, p->bk3, sizeof(old_bk3));
	memcpy(p->mk.enc, mk, 32);
	memcpy(p->mk.mac, mk + 32, 48);
	memcpy(p->bk3, bk3, sizeof(bk3));
	p->has_bk3 = true;
	ret = HSM_PART_OK;
	if (commit_locked(p)) {
		/* What is not stored is not installed. */
		p->mk = old_mk;
		memcpy(p->bk3, old_bk3, sizeof(old_bk3));
		p->has_bk3 = old_has;
		ret = HSM_PART_NOT_STORED;
	}
	OPENSSL_cleanse(&old_mk, sizeof(old_mk));
	OPENSSL_cleanse(old_bk3, sizeof(old_bk3));
out:
	pthread_mutex_unlock(&p->lock);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(bk, sizeof(bk));
	OPENSSL_cleanse(bk3, sizeof(bk3));
	OPENSSL_cleanse(mk, sizeof(mk));
	return ret;
}

int hsm_partition_device_key(struct hsm_partition *p, const char *info, uint8_t *out,
			     size_t len)
{
	if (!p->store)
		return -ENOENT;
	return hsm_state_device_key(p->store, info, out, len) ? -EIO : 0;
}
