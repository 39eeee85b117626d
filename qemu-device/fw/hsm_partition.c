// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Partition persistence: builds and parses the partition image (format in
 * hsm_partition.h) and hands it to hsm_state for sealing. A file that is
 * damaged, old or another device's is reported, never replaced: the
 * partition then refuses to commit, so the user's keys on disk survive
 * until someone deals with the file.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm_bytes.h"
#include "hsm_auth.h"
#include "hsm_partition.h"
#include "hsm_state.h"

#define PI_MAGIC	"AZHSMPI1"
#define PI_VERSION	2
#define PI_HDR_LEN	(8 + 2 + 32 + 48 + 4)

struct hsm_partition {
	pthread_mutex_t lock;	/* serialises commits */
	struct hsm_state *store;	/* NULL: volatile */
	struct hsm_vault *vault;
	struct hsm_auth *auth;
	struct hsm_masking_key mk;
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
static int partition_parse(struct hsm_partition *p, const uint8_t *img, size_t len)
{
	size_t vlen, alen;

	if (len < PI_HDR_LEN + 4 || memcmp(img, PI_MAGIC, 8) ||
	    (img[8] | img[9] << 8) != PI_VERSION)
		return -1;
	vlen = get_le32(img + PI_HDR_LEN - 4);
	if (vlen > len - PI_HDR_LEN - 4)
		return -1;
	alen = get_le32(img + PI_HDR_LEN + vlen);
	if (alen != len - PI_HDR_LEN - vlen - 4)
		return -1;
	if (hsm_auth_deserialize(p->auth, img + PI_HDR_LEN + vlen + 4, alen) != HSM_AUTH_OK)
		return -1;
	if (hsm_vault_deserialize(p->vault, img + PI_HDR_LEN, vlen) != HSM_VAULT_OK)
		return -1;
	memcpy(p->mk.enc, img + 10, sizeof(p->mk.enc));
	memcpy(p->mk.mac, img + 42, sizeof(p->mk.mac));
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
	len = PI_HDR_LEN + vlen + 4 + alen;
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
		if (hsm_masking_key_generate(&p->mk) != HSM_VAULT_OK)
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
			if (partition_parse(p, img, len))
				p->status = AZIHSM_PERSIST_BAD_IMAGE;
			hsm_state_free_image(img, len);
		}
	}
	if (hsm_partition_failed(p))
		OPENSSL_cleanse(&p->mk, sizeof(p->mk));
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

const struct hsm_masking_key *hsm_partition_masking_key(const struct hsm_partition *p)
{
	return &p->mk;
}

int hsm_partition_commit(struct hsm_partition *p)
{
	int ret;

	if (hsm_partition_failed(p))
		return -1;
	if (!p->store)
		return 0;
	pthread_mutex_lock(&p->lock);
	ret = partition_commit_locked(p);
	pthread_mutex_unlock(&p->lock);
	return ret;
}
