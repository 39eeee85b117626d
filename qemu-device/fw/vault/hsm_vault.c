// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key vault of one partition (see hsm_vault.h for the API).
 *
 * Keys live in an array of slots, at most max_keys of them. A slot holds a
 * live key or a deleted one still borrowed through hsm_vault_with_key():
 * such a key is "dead" (invisible to lookups, its label free) but keeps its
 * slot and id until the last borrower returns, and is then cleansed and
 * freed. Ids come from a cursor running over 1..0xfffe that skips every id
 * held by a slot, so an id is never handed out while a key still uses it.
 *
 * Masked blob (hsm_vault_mask / hsm_vault_unmask), version 2, integers
 * little-endian:
 *
 *   0  magic "AZHSMMK1"            8
 *   8  version (2)                 1
 *   9  key type                    1
 *  10  usage bits                  1
 *  11  origin flags                1
 *  12  owner kind                  1  enum hsm_blob_owner: persistent,
 *                                     or the role of the session that
 *                                     owned it (officer, user, kernel)
 *  13  key id                    u16  the key's id when it was masked
 *  15  key serial                u64  a persistent key's serial (its
 *                                     session copies carry it too), else 0
 *  23  label length L (0..128)     1
 *  24  label                       L
 *      IV (random)                16
 *      ciphertext                  C  AES-256-CBC, PKCS#7 padding, of the
 *                                     material: private keys as PKCS#8 DER
 *                                     (PrivateKeyInfo), secret keys raw.
 *                                     C is a non-zero multiple of 16.
 *      tag                        48  HMAC-SHA384 over every byte before it
 *
 * Encrypt-then-MAC with the two halves of struct hsm_masking_key (the
 * callers pass hsm_masking_key_bind's key for the current epoch). Unmask
 * checks lengths, magic and version (version 1, unbound, is refused), then
 * the tag (CRYPTO_memcmp), then who may take the blob back, and only then
 * decrypts and parses; any failure leaves the vault unchanged.
 *
 * Serialized image of the persistent keys (owner 0), version 2, integers
 * little-endian:
 *
 *   0  magic "AZHSMVK1"            8
 *   8  version (2)               u16
 *  10  next id (1..0xfffe)       u16  the id allocation cursor
 *  12  key count N               u16  <= the vault's max_keys
 *  14  next serial               u64  >= 1, above every key's serial
 *  22  N records, in id order:
 *        id (1..0xfffe, unique)  u16
 *        serial (unique, >= 1)   u64
 *        type                     u8
 *        usage                    u8
 *        origin                   u8
 *        label length L (<=128)   u8
 *        label                     L  unique among labelled keys
 *        material length M       u32  1..HSM_MATERIAL_MAX
 *        material                  M  as in the masked blob (before encryption)
 *
 * Version 1 (no next serial, records without a serial) still loads: its
 * keys get the serials 1..N in id order.
 * The image must be consumed exactly (no trailing bytes). It holds plaintext
 * key material: hsm_state seals it, hsm_vault_image_free() cleanses it.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm_bytes.h"
#include "hsm_vault.h"

#define BLOB_MAGIC	"AZHSMMK1"
#define IMAGE_MAGIC	"AZHSMVK1"
#define MAGIC_LEN	8
#define BLOB_VERSION	2
#define IMAGE_VERSION	2
/* magic, version, type, usage, origin, owner kind, id, serial, label length */
#define BLOB_HDR	24
#define BLOB_OFF_KIND	12
#define BLOB_OFF_ID	13
#define BLOB_OFF_SERIAL	15
#define BLOB_OFF_LABEL	23
#define BLOB_IV		16
#define BLOB_TAG	48
#define IMAGE_HDR	22
#define IMAGE1_HDR	14	/* version 1: no next serial */
#define REC_HDR		14	/* id, serial, type, usage, origin, label length */
#define REC1_HDR	6	/* version 1: no serial */
#define MASK_BIND_INFO	"azihsm masking key v2"
#define HSM_MATERIAL_MAX 8192	/* PKCS#8 of RSA-4096 is about 2.4 KiB */

enum key_kind { KIND_AES, KIND_EC, KIND_RSA, KIND_HMAC };

#define USE_AES		(HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT | HSM_USAGE_UNWRAP)
#define USE_BULK	(HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT)
#define USE_EC		(HSM_USAGE_SIGN | HSM_USAGE_VERIFY | HSM_USAGE_DERIVE)
#define USE_RSA		(HSM_USAGE_SIGN | HSM_USAGE_VERIFY | HSM_USAGE_ENCRYPT | \
			 HSM_USAGE_DECRYPT | HSM_USAGE_UNWRAP)
#define USE_HMAC	(HSM_USAGE_SIGN | HSM_USAGE_VERIFY | HSM_USAGE_DERIVE)

/*
 * One key, one purpose (SP 800-57 Part 1, 5.2; issue 9): a new key's usage
 * must lie within one of its type's purposes. RSA: signatures, data
 * encryption or key transport (the unwrapping side: never decrypt, so
 * RsaDecrypt is no oracle for a wrap blob's ephemeral key). HMAC: MACs or
 * key derivation (an Hmac over a KBKDF input block would return the
 * derived key). A type without purposes (0 entries) takes any allowed mix.
 */
#define PURPOSE_SIG	(HSM_USAGE_SIGN | HSM_USAGE_VERIFY)
#define PURPOSE_DATA	(HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT)
#define PURPOSE_WRAP	(HSM_USAGE_ENCRYPT | HSM_USAGE_UNWRAP)
#define PURPOSE_KDF	HSM_USAGE_DERIVE
#define PURPOSES_MAX	3
static const uint32_t purposes_rsa[PURPOSES_MAX] = { PURPOSE_SIG, PURPOSE_DATA, PURPOSE_WRAP };
static const uint32_t purposes_hmac[PURPOSES_MAX] = { PURPOSE_SIG, PURPOSE_KDF };

static const struct type_info {
	enum hsm_key_type type;
	enum key_kind kind;
	size_t len;		/* AES key / generated HMAC key bytes */
	const char *group;	/* EC */
	unsigned int bits;	/* RSA */
	uint32_t usages;
	const uint32_t *purposes;	/* PURPOSES_MAX masks (0: unused), or NULL */
} type_table[] = {
	{ HSM_KEY_AES128, KIND_AES, 16, NULL, 0, USE_AES, NULL },
	{ HSM_KEY_AES192, KIND_AES, 24, NULL, 0, USE_AES, NULL },
	{ HSM_KEY_AES256, KIND_AES, 32, NULL, 0, USE_AES, NULL },
	{ HSM_KEY_AES256_XTS, KIND_AES, 64, NULL, 0, USE_BULK, NULL },
	{ HSM_KEY_AES256_GCM, KIND_AES, 32, NULL, 0, USE_BULK, NULL },
	{ HSM_KEY_AES128_XTS, KIND_AES, 32, NULL, 0, USE_BULK, NULL },
	{ HSM_KEY_EC_P256, KIND_EC, 0, "prime256v1", 0, USE_EC, NULL },
	{ HSM_KEY_EC_P384, KIND_EC, 0, "secp384r1", 0, USE_EC, NULL },
	{ HSM_KEY_EC_P521, KIND_EC, 0, "secp521r1", 0, USE_EC, NULL },
	{ HSM_KEY_RSA2048, KIND_RSA, 0, NULL, 2048, USE_RSA, purposes_rsa },
	{ HSM_KEY_RSA3072, KIND_RSA, 0, NULL, 3072, USE_RSA, purposes_rsa },
	{ HSM_KEY_RSA4096, KIND_RSA, 0, NULL, 4096, USE_RSA, purposes_rsa },
	{ HSM_KEY_HMAC_SHA256, KIND_HMAC, 32, NULL, 0, USE_HMAC, purposes_hmac },
	{ HSM_KEY_HMAC_SHA384, KIND_HMAC, 48, NULL, 0, USE_HMAC, purposes_hmac },
	{ HSM_KEY_HMAC_SHA512, KIND_HMAC, 64, NULL, 0, USE_HMAC, purposes_hmac },
};

struct hsm_key {
	uint16_t id;
	uint16_t owner;
	enum hsm_key_type type;
	uint32_t usage;
	uint8_t origin;
	uint8_t label_len;
	uint8_t label[HSM_KEY_LABEL_MAX];
	/*
	 * Persistent keys: a serial never given to another key (the vault's
	 * counter, in the image); a session copy unmasked from a persistent
	 * key's blob carries that key's serial; other session keys 0.
	 */
	uint64_t serial;
	EVP_PKEY *pkey;		/* EC / RSA */
	uint8_t *secret;	/* AES / HMAC */
	size_t secret_len;
	unsigned int refs;	/* active borrowers */
	bool dead;		/* deleted, freed when refs drops to 0 */
	/*
	 * Deletion pending (hsm_vault_delete_begin): invisible to lookups,
	 * lists and images, its label still taken, until delete_end.
	 */
	bool hidden;
};

struct hsm_vault {
	pthread_mutex_t lock;
	unsigned int max;
	unsigned int nslots;
	struct hsm_key **slots;
	uint16_t next_id;
	uint64_t next_serial;	/* > every serial given so far */
	struct hsm_vault_hooks hooks;
};

static const struct type_info *type_info(enum hsm_key_type type)
{
	size_t i;

	for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
		if (type_table[i].type == type)
			return &type_table[i];
	return NULL;
}

bool hsm_key_type_valid(enum hsm_key_type type)
{
	return type_info(type) != NULL;
}

bool hsm_key_type_asymmetric(enum hsm_key_type type)
{
	const struct type_info *ti = type_info(type);

	return ti && (ti->kind == KIND_EC || ti->kind == KIND_RSA);
}

uint32_t hsm_key_type_usages(enum hsm_key_type type)
{
	const struct type_info *ti = type_info(type);

	return ti ? ti->usages : 0;
}

/* Does @usage (already within the type's usages) serve one purpose only? */
static bool usage_one_purpose(const struct type_info *ti, uint32_t usage)
{
	unsigned int i;

	if (!ti->purposes)
		return true;
	for (i = 0; i < PURPOSES_MAX; i++)
		if (ti->purposes[i] && !(usage & ~ti->purposes[i]))
			return true;
	return false;
}

bool hsm_key_usage_ok(enum hsm_key_type type, uint32_t usage)
{
	const struct type_info *ti = type_info(type);

	return ti && usage && !(usage & ~ti->usages) && usage_one_purpose(ti, usage);
}

const char *hsm_vault_strerror(int status)
{
	switch (status) {
	case HSM_VAULT_OK: return "success";
	case HSM_VAULT_INVALID_ARG: return "invalid argument";
	case HSM_VAULT_BAD_TYPE: return "unknown key type";
	case HSM_VAULT_BAD_USAGE: return "key usage not allowed for this key type";
	case HSM_VAULT_FULL: return "vault full";
	case HSM_VAULT_NO_IDS: return "no free key id";
	case HSM_VAULT_NOT_FOUND: return "no such key";
	case HSM_VAULT_LABEL_EXISTS: return "label already in use";
	case HSM_VAULT_USAGE_DENIED: return "key usage does not permit the operation";
	case HSM_VAULT_NOT_ASYMMETRIC: return "not an asymmetric key";
	case HSM_VAULT_BUFFER_SMALL: return "buffer too small";
	case HSM_VAULT_BAD_MATERIAL: return "key material does not match the key type";
	case HSM_VAULT_PCT_FAILED: return "pairwise consistency test failed";
	case HSM_VAULT_BAD_BLOB: return "masked key blob malformed or not authentic";
	case HSM_VAULT_BAD_IMAGE: return "key image malformed";
	case HSM_VAULT_NOT_EMPTY: return "vault not empty";
	case HSM_VAULT_CRYPTO: return "cryptographic library failure";
	case HSM_VAULT_WRONG_OWNER: return "masked blob of another owner kind";
	case HSM_VAULT_KEY_DELETED: return "the blob's persistent key was deleted";
	case HSM_VAULT_KEY_EXISTS: return "the blob's persistent key is in the vault";
	case HSM_VAULT_NOMEM: return "out of memory";
	case HSM_VAULT_QUOTA: return "session key quota reached";
	case HSM_VAULT_RNG: return "random source failed";
	}
	return "unknown status";
}

/* ---- key objects ---------------------------------------------------- */

static void key_free(struct hsm_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	if (k->secret)
		OPENSSL_clear_free(k->secret, k->secret_len);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/*
 * @stored: a key read back from an image, made before the one-purpose rule
 * perhaps: only the type's usages are checked, so a partition keeps its
 * keys. Every new key (generate, import, unmask) gets the full rule.
 */
static int check_spec(const struct hsm_key_spec *s, bool stored)
{
	const struct type_info *ti;

	if (!s || s->label_len > HSM_KEY_LABEL_MAX || (s->label_len && !s->label))
		return HSM_VAULT_INVALID_ARG;
	ti = type_info(s->type);
	if (!ti)
		return HSM_VAULT_BAD_TYPE;
	if (!s->usage || (s->usage & ~ti->usages))
		return HSM_VAULT_BAD_USAGE;
	if (!stored && !usage_one_purpose(ti, s->usage))
		return HSM_VAULT_BAD_USAGE;
	return HSM_VAULT_OK;
}

static struct hsm_key *key_new(const struct hsm_key_spec *s, uint8_t origin)
{
	struct hsm_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->type = s->type;
	k->usage = s->usage;
	k->owner = s->owner;
	k->origin = origin;
	k->label_len = (uint8_t)s->label_len;
	if (s->label_len)
		memcpy(k->label, s->label, s->label_len);
	return k;
}

/* Does @len bytes of secret fit @ti (@kernel: HSM_ORIGIN_KERNEL rules)? */
static bool secret_len_ok(const struct type_info *ti, size_t len, bool kernel)
{
	if (ti->kind == KIND_HMAC)
		return len >= (kernel ? 1 : HSM_HMAC_KEY_MIN) && len <= HSM_HMAC_KEY_MAX;
	return ti->kind == KIND_AES && len == ti->len;
}

static int key_set_secret(struct hsm_key *k, const struct type_info *ti, const uint8_t *s,
			  size_t len)
{
	bool kernel = k->origin & HSM_ORIGIN_KERNEL;

	if (!secret_len_ok(ti, len, kernel))
		return HSM_VAULT_BAD_MATERIAL;
	/*
	 * XTS: two independent keys; equal halves defeat the mode. The kernel
	 * session may hold such a key (the crypto API's self-tests use them):
	 * hsm_ops then never calls its operations approved.
	 */
	if ((ti->type == HSM_KEY_AES256_XTS || ti->type == HSM_KEY_AES128_XTS) && !kernel &&
	    !CRYPTO_memcmp(s, s + len / 2, len / 2))
		return HSM_VAULT_BAD_MATERIAL;
	k->secret = OPENSSL_malloc(len);
	if (!k->secret)
		return HSM_VAULT_NOMEM;
	memcpy(k->secret, s, len);
	k->secret_len = len;
	return HSM_VAULT_OK;
}

static bool pkey_has_param(const EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	bool ok = EVP_PKEY_get_bn_param(pk, name, &bn) == 1;

	BN_clear_free(bn);
	return ok;
}

/*
 * Is @pk a private key of exactly type @ti? @kernel (HSM_ORIGIN_KERNEL):
 * type RSA2048 stands for any modulus of 1024..4096 bits.
 */
static bool pkey_matches(const struct type_info *ti, const EVP_PKEY *pk, bool kernel)
{
	int bits;

	char group[32];
	size_t glen = 0;

	if (ti->kind == KIND_EC) {
		if (!EVP_PKEY_is_a(pk, "EC") ||
		    !EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) ||
		    strcmp(group, ti->group))
			return false;
		return pkey_has_param(pk, OSSL_PKEY_PARAM_PRIV_KEY);
	}
	if (ti->kind == KIND_RSA) {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
			return false;
		bits = EVP_PKEY_get_bits(pk);
		if (kernel && ti->type == HSM_KEY_RSA2048) {
			if (bits < HSM_RSA_KERNEL_MIN_BITS || bits > HSM_RSA_KERNEL_MAX_BITS)
				return false;
		} else if (bits != (int)ti->bits) {
			return false;
		}
		return pkey_has_param(pk, OSSL_PKEY_PARAM_RSA_D);
	}
	return false;
}

/*
 * Pairwise consistency test: sign a fixed message with the private key and
 * verify it with the public key (ECDSA / RSA PKCS#1 v1.5, SHA-256).
 * @corrupt (test only, hooks.pct_fail) changes a byte of the signature
 * first, so the failure is the real verify's.
 */
static int pairwise_test(EVP_PKEY *pk, bool corrupt)
{
	static const unsigned char msg[] = "azihsm pairwise consistency test";
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ret = HSM_VAULT_PCT_FAILED;

	if (!c)
		return HSM_VAULT_NOMEM;
	if (EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, pk, NULL) != 1 ||
	    EVP_DigestSign(c, sig, &siglen, msg, sizeof(msg)) != 1)
		goto out;
	EVP_MD_CTX_reset(c);
	if (corrupt)
		sig[siglen / 2] ^= 0x01;
	if (EVP_DigestVerifyInit_ex(c, NULL, "SHA256", NULL, NULL, pk, NULL) == 1 &&
	    EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)) == 1)
		ret = HSM_VAULT_OK;
out:
	EVP_MD_CTX_free(c);
	return ret;
}

/* Material as stored in blobs and images; free with OPENSSL_clear_free. */
static int material_encode(const struct hsm_key *k, uint8_t **out, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	int n;

	if (k->secret) {
		*out = OPENSSL_malloc(k->secret_len);
		if (!*out)
			return HSM_VAULT_NOMEM;
		memcpy(*out, k->secret, k->secret_len);
		*len = k->secret_len;
		return HSM_VAULT_OK;
	}
	p8 = EVP_PKEY2PKCS8(k->pkey);
	if (!p8)
		return HSM_VAULT_CRYPTO;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0 || n > HSM_MATERIAL_MAX) {
		if (n > 0)
			OPENSSL_clear_free(der, n);
		return HSM_VAULT_CRYPTO;
	}
	*out = der;
	*len = (size_t)n;
	return HSM_VAULT_OK;
}

/* Parse stored material into @k (type already set). */
static int material_decode(struct hsm_key *k, const uint8_t *m, size_t len)
{
	const struct type_info *ti = type_info(k->type);
	const unsigned char *p = m;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *pk;

	if (!ti || !len || len > HSM_MATERIAL_MAX)
		return HSM_VAULT_BAD_MATERIAL;
	if (ti->kind == KIND_AES || ti->kind == KIND_HMAC)
		return key_set_secret(k, ti, m, len);
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	if (!p8)
		return HSM_VAULT_BAD_MATERIAL;
	if (p != m + len) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		return HSM_VAULT_BAD_MATERIAL;
	}
	pk = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!pk || !pkey_matches(ti, pk, k->origin & HSM_ORIGIN_KERNEL)) {
		EVP_PKEY_free(pk);
		return HSM_VAULT_BAD_MATERIAL;
	}
	k->pkey = pk;
	return HSM_VAULT_OK;
}

/* ---- the slot table (called with the lock held) --------------------- */

static struct hsm_key *find_live(struct hsm_vault *v, uint16_t id)
{
	unsigned int i;

	for (i = 0; i < v->nslots; i++)
		if (v->slots[i]->id == id && !v->slots[i]->dead && !v->slots[i]->hidden)
			return v->slots[i];
	return NULL;
}

/*
 * The live key of @owner labelled @label. Labels are unique per owner: the
 * persistent keys (owner 0) are one name space, each session's keys one
 * more, so a label taken in one session says nothing about it to another.
 */
static struct hsm_key *find_label(struct hsm_vault *v, const uint8_t *label, size_t len,
				  uint16_t owner)
{
	unsigned int i;

	if (!len)
		return NULL;
	for (i = 0; i < v->nslots; i++) {
		struct hsm_key *k = v->slots[i];

		if (!k->dead && k->owner == owner && k->label_len == len &&
		    !memcmp(k->label, label, len))
			return k;
	}
	return NULL;
}

static bool id_held(struct hsm_vault *v, uint16_t id)
{
	unsigned int i;

	for (i = 0; i < v->nslots; i++)
		if (v->slots[i]->id == id)
			return true;
	return false;
}

static void slot_remove(struct hsm_vault *v, unsigned int i)
{
	key_free(v->slots[i]);
	memmove(&v->slots[i], &v->slots[i + 1], (v->nslots - i - 1) * sizeof(v->slots[0]));
	v->nslots--;
}

static void slot_remove_key(struct hsm_vault *v, struct hsm_key *k)
{
	unsigned int i;

	for (i = 0; i < v->nslots; i++) {
		if (v->slots[i] == k) {
			slot_remove(v, i);
			return;
		}
	}
}

/* Delete a live key now, or when its last borrower returns. */
static void key_drop(struct hsm_vault *v, struct hsm_key *k)
{
	if (k->refs)
		k->dead = true;
	else
		slot_remove_key(v, k);
}

/*
 * Is there a slot for one more key of @owner? The vault's maximum, then,
 * for a session key, the slots reserved for persistent keys and the
 * session's own quota. Slots held by deleted keys still borrowed count:
 * they are not free yet.
 */
static int room_locked(struct hsm_vault *v, uint16_t owner)
{
	unsigned int i, mine = 0, sessions = 0;

	if (v->nslots >= v->max)
		return HSM_VAULT_FULL;
	if (!owner)
		return HSM_VAULT_OK;
	for (i = 0; i < v->nslots; i++) {
		if (!v->slots[i]->owner)
			continue;
		sessions++;
		mine += v->slots[i]->owner == owner;
	}
	if (sessions >= v->max - v->hooks.reserved)
		return HSM_VAULT_QUOTA;
	if (v->hooks.owner_max && mine >= v->hooks.owner_max(v->hooks.ctx, owner))
		return HSM_VAULT_QUOTA;
	return HSM_VAULT_OK;
}

static void place(struct hsm_vault *v, struct hsm_key *k, uint16_t id, uint16_t *out)
{
	k->id = id;
	/* A new persistent key gets the next serial; a restored one keeps its own. */
	if (!k->owner && !k->serial)
		k->serial = v->next_serial++;
	else if (!k->owner && k->serial >= v->next_serial)
		v->next_serial = k->serial + 1;
	v->slots[v->nslots++] = k;
	if (out)
		*out = id;
}

/*
 * Store @k with a fresh id (@want if it is free: a restored key keeps its
 * id); on failure the caller still owns @k.
 */
static int insert_locked(struct hsm_vault *v, struct hsm_key *k, uint16_t want, uint16_t *id)
{
	unsigned int n;
	int ret = room_locked(v, k->owner);

	if (ret)
		return ret;
	if (find_label(v, k->label, k->label_len, k->owner))
		return HSM_VAULT_LABEL_EXISTS;
	if (want >= HSM_KEY_ID_MIN && want <= HSM_KEY_ID_MAX && !id_held(v, want)) {
		place(v, k, want, id);
		return HSM_VAULT_OK;
	}
	for (n = 0; n < HSM_KEY_ID_MAX; n++) {
		uint16_t cand = v->next_id;

		v->next_id = cand >= HSM_KEY_ID_MAX ? HSM_KEY_ID_MIN : cand + 1;
		if (!id_held(v, cand)) {
			place(v, k, cand, id);
			return HSM_VAULT_OK;
		}
	}
	return HSM_VAULT_NO_IDS;
}

static int insert(struct hsm_vault *v, struct hsm_key *k, uint16_t *id)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = insert_locked(v, k, 0, id);
	pthread_mutex_unlock(&v->lock);
	if (ret)
		key_free(k);
	return ret;
}

/* Quick refusal before slow work (the insert checks again). */
static int precheck(struct hsm_vault *v, const struct hsm_key_spec *s)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = room_locked(v, s->owner);
	if (!ret && find_label(v, s->label, s->label_len, s->owner))
		ret = HSM_VAULT_LABEL_EXISTS;
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static void key_put(struct hsm_vault *v, struct hsm_key *k)
{
	pthread_mutex_lock(&v->lock);
	if (!--k->refs && k->dead)
		slot_remove_key(v, k);
	pthread_mutex_unlock(&v->lock);
}

static void attr_fill(const struct hsm_key *k, struct hsm_key_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->id = k->id;
	a->owner = k->owner;
	a->type = k->type;
	a->usage = k->usage;
	a->origin = k->origin;
	a->label_len = k->label_len;
	memcpy(a->label, k->label, k->label_len);
	a->serial = k->serial;
}

/* ---- vault ---------------------------------------------------------- */

struct hsm_vault *hsm_vault_new(unsigned int max_keys)
{
	struct hsm_vault *v;

	if (!max_keys)
		max_keys = HSM_VAULT_DEFAULT_MAX;
	if (max_keys > HSM_KEY_ID_MAX)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->slots = calloc(max_keys, sizeof(v->slots[0]));
	if (!v->slots) {
		free(v);
		return NULL;
	}
	v->max = max_keys;
	v->next_id = HSM_KEY_ID_MIN;
	v->next_serial = 1;
	pthread_mutex_init(&v->lock, NULL);
	return v;
}

int hsm_vault_set_hooks(struct hsm_vault *v, const struct hsm_vault_hooks *h)
{
	if (!v || !h || h->reserved >= v->max)
		return HSM_VAULT_INVALID_ARG;
	pthread_mutex_lock(&v->lock);
	v->hooks = *h;
	pthread_mutex_unlock(&v->lock);
	return HSM_VAULT_OK;
}

void hsm_vault_free(struct hsm_vault *v)
{
	unsigned int i;

	if (!v)
		return;
	for (i = 0; i < v->nslots; i++)
		key_free(v->slots[i]);
	free(v->slots);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* ---- key generation from the vault's random source ------------------ */

/* @len random bytes from the vault's source: OK or HSM_VAULT_RNG. */
static int vault_rng(struct hsm_vault *v, void *out, size_t len)
{
	int ok;

	if (v->hooks.rng)
		ok = !v->hooks.rng(v->hooks.ctx, out, len);
	else
		ok = len <= INT_MAX && RAND_priv_bytes(out, (int)len) == 1;
	return ok ? HSM_VAULT_OK : HSM_VAULT_RNG;
}

/* A uniformly random BIGNUM of @bits bits (top bits masked) into @bn. */
static int rng_bn(struct hsm_vault *v, int bits, BIGNUM *bn)
{
	uint8_t buf[HSM_RSA_KERNEL_MAX_BITS / 8];
	size_t n = ((size_t)bits + 7) / 8;
	int ret;

	if (n > sizeof(buf))
		return HSM_VAULT_CRYPTO;
	ret = vault_rng(v, buf, n);
	if (!ret) {
		if (bits % 8)
			buf[0] &= (uint8_t)(0xff >> (8 - bits % 8));
		if (!BN_bin2bn(buf, (int)n, bn))
			ret = HSM_VAULT_CRYPTO;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

/* The key pair @bld describes, as an EVP_PKEY of @alg ("EC", "RSA"): OK or CRYPTO. */
static int pkey_from_bld(OSSL_PARAM_BLD *bld, const char *alg, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	int ret = HSM_VAULT_CRYPTO;

	if (params && pc && EVP_PKEY_fromdata_init(pc) == 1 &&
	    EVP_PKEY_fromdata(pc, out, EVP_PKEY_KEYPAIR, params) == 1)
		ret = HSM_VAULT_OK;
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);	/* the secret BIGNUMs: in its cleared secure part */
	return ret;
}

/* Candidates a generation draws before giving up (a broken source). */
#define GEN_TRIES	64

/*
 * EC key pair, FIPS 186-5 A.2.2 (rejection sampling): c = N random bits
 * (N = bit length of the order n), drawn again while c > n - 2; d = c + 1,
 * Q = d * G.
 */
static int generate_ec(struct hsm_vault *v, const struct type_info *ti, EVP_PKEY **out)
{
	int nid = OBJ_sn2nid(ti->group), ret = HSM_VAULT_CRYPTO, tries;
	uint8_t pub[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	EC_POINT *q = NULL;
	EC_GROUP *g = NULL;
	BIGNUM *d = NULL, *nm2 = NULL;
	BN_CTX *bc = NULL;
	size_t plen;

	g = EC_GROUP_new_by_curve_name(nid);
	bc = BN_CTX_secure_new();
	d = BN_secure_new();
	nm2 = BN_new();
	if (!g || !bc || !d || !nm2 || !BN_copy(nm2, EC_GROUP_get0_order(g)) ||
	    !BN_sub_word(nm2, 2))
		goto out;
	for (tries = 0;; tries++) {
		if (tries == GEN_TRIES) {
			ret = HSM_VAULT_RNG;
			goto out;
		}
		ret = rng_bn(v, EC_GROUP_order_bits(g), d);
		if (ret)
			goto out;
		ret = HSM_VAULT_CRYPTO;
		if (BN_cmp(d, nm2) <= 0)
			break;
	}
	q = EC_POINT_new(g);
	if (!BN_add_word(d, 1) || !q || !EC_POINT_mul(g, q, d, NULL, NULL, bc))
		goto out;
	plen = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), bc);
	bld = OSSL_PARAM_BLD_new();
	if (!plen || !bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ti->group, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, plen))
		goto out;
	ret = pkey_from_bld(bld, "EC", out);
out:
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(q);
	BN_clear_free(d);
	BN_free(nm2);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return ret;
}

/*
 * One RSA prime of @bits bits, FIPS 186-5 A.1.3 (random probable primes):
 * odd candidates from the random source with the two top bits set (so
 * p >= sqrt(2) * 2^(bits - 1) and n has exactly 2 * bits bits), gcd(p - 1,
 * e) = 1, |p - @other| > 2^(bits - 100) when @other is given, then
 * Miller-Rabin (BN_check_prime). At most 5 * bits candidates.
 */
static int rsa_prime(struct hsm_vault *v, int bits, const BIGNUM *e, const BIGNUM *other,
		     BIGNUM *p, BN_CTX *bc)
{
	BIGNUM *t;
	int i, ret = HSM_VAULT_CRYPTO;

	BN_CTX_start(bc);
	t = BN_CTX_get(bc);
	if (!t)
		goto out;
	for (i = 0; i < 5 * bits; i++) {
		ret = rng_bn(v, bits, p);
		if (ret)
			goto out;
		ret = HSM_VAULT_CRYPTO;
		if (!BN_set_bit(p, bits - 1) || !BN_set_bit(p, bits - 2) || !BN_set_bit(p, 0))
			goto out;
		if (other) {
			if (!BN_sub(t, p, other))
				goto out;
			BN_set_negative(t, 0);
			if (BN_num_bits(t) <= bits - 100)
				continue;
		}
		if (!BN_sub(t, p, BN_value_one()) || !BN_gcd(t, t, e, bc))
			goto out;
		if (!BN_is_one(t))
			continue;
		switch (BN_check_prime(p, bc, NULL)) {
		case 1:
			ret = HSM_VAULT_OK;
			goto out;
		case 0:
			continue;
		default:
			goto out;
		}
	}
	ret = HSM_VAULT_RNG;	/* no prime in 5 * bits draws: not a random source */
out:
	BN_CTX_end(bc);
	return ret;
}

/*
 * RSA key pair with e = 65537: p and q from rsa_prime, d = e^-1 mod
 * lcm(p - 1, q - 1) (> 2^(nlen / 2), else new primes), CRT values.
 */
static int generate_rsa(struct hsm_vault *v, const struct type_info *ti, EVP_PKEY **out)
{
	BIGNUM *e, *p, *q, *n, *d, *dp, *dq, *qinv, *p1, *q1, *l;
	int half = (int)ti->bits / 2, ret = HSM_VAULT_CRYPTO, tries;
	OSSL_PARAM_BLD *bld = NULL;
	BN_CTX *bc = BN_CTX_secure_new();

	if (!bc)
		return HSM_VAULT_NOMEM;
	BN_CTX_start(bc);
	e = BN_CTX_get(bc);
	p = BN_CTX_get(bc);
	q = BN_CTX_get(bc);
	n = BN_CTX_get(bc);
	d = BN_CTX_get(bc);
	dp = BN_CTX_get(bc);
	dq = BN_CTX_get(bc);
	qinv = BN_CTX_get(bc);
	p1 = BN_CTX_get(bc);
	q1 = BN_CTX_get(bc);
	l = BN_CTX_get(bc);
	if (!l || !BN_set_word(e, RSA_F4))
		goto out;
	for (tries = 0; tries < 4; tries++) {
		ret = rsa_prime(v, half, e, NULL, p, bc);
		if (!ret)
			ret = rsa_prime(v, half, e, p, q, bc);
		if (ret)
			goto out;
		ret = HSM_VAULT_CRYPTO;
		if (!BN_mul(n, p, q, bc) || !BN_sub(p1, p, BN_value_one()) ||
		    !BN_sub(q1, q, BN_value_one()) || !BN_gcd(l, p1, q1, bc) ||
		    !BN_div(l, NULL, p1, l, bc) || !BN_mul(l, l, q1, bc) ||
		    !BN_mod_inverse(d, e, l, bc))
			goto out;
		if (BN_num_bits(d) > half)
			break;
	}
	if (tries == 4 || BN_num_bits(n) != (int)ti->bits) {
		ret = HSM_VAULT_RNG;
		goto out;
	}
	if (!BN_mod(dp, d, p1, bc) || !BN_mod(dq, d, q1, bc) ||
	    !BN_mod_inverse(qinv, q, p, bc))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv))
		goto out;
	ret = pkey_from_bld(bld, "RSA", out);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_end(bc);	/* BN_CTX_free clears every BIGNUM it handed out */
	BN_CTX_free(bc);
	return ret;
}

static int generate_pkey(struct hsm_vault *v, const struct type_info *ti, EVP_PKEY **out)
{
	EVP_PKEY *pk = NULL;
	int ret;

	if (ti->kind == KIND_EC)
		ret = generate_ec(v, ti, &pk);
	else
		ret = generate_rsa(v, ti, &pk);
	if (ret)
		return ret;
	ret = pairwise_test(pk, v->hooks.pct_fail &&
				v->hooks.pct_fail(v->hooks.ctx, ti->kind == KIND_RSA));
	if (ret) {
		EVP_PKEY_free(pk);
		return ret;
	}
	*out = pk;
	return HSM_VAULT_OK;
}

static int generate_secret(struct hsm_vault *v, const struct type_info *ti, struct hsm_key *k)
{
	uint8_t buf[64];
	int ret, tries = 0;

	do {
		if (tries++ == GEN_TRIES) {
			ret = HSM_VAULT_RNG;
			break;
		}
		ret = vault_rng(v, buf, ti->len);
		if (ret)
			break;
		ret = key_set_secret(k, ti, buf, ti->len);
	} while (ret == HSM_VAULT_BAD_MATERIAL);	/* XTS halves equal: redraw */
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

int hsm_vault_generate(struct hsm_vault *v, const struct hsm_key_spec *spec, uint16_t *id)
{
	const struct type_info *ti;
	struct hsm_key *k;
	int ret;

	if (!v)
		return HSM_VAULT_INVALID_ARG;
	ret = check_spec(spec, false);
	if (ret)
		return ret;
	ret = precheck(v, spec);
	if (ret)
		return ret;
	ti = type_info(spec->type);
	k = key_new(spec, HSM_ORIGIN_GENERATED);
	if (!k)
		return HSM_VAULT_NOMEM;
	if (ti->kind == KIND_EC || ti->kind == KIND_RSA)
		ret = generate_pkey(v, ti, &k->pkey);
	else
		ret = generate_secret(v, ti, k);
	if (ret) {
		key_free(k);
		if ((ret == HSM_VAULT_RNG || ret == HSM_VAULT_PCT_FAILED) && v->hooks.fatal)
			v->hooks.fatal(v->hooks.ctx, ret);
		return ret;
	}
	return insert(v, k, id);
}

static uint8_t import_origin(const struct hsm_key_spec *s)
{
	return s->origin ? s->origin : HSM_ORIGIN_IMPORTED;
}

static bool import_origin_ok(const struct hsm_key_spec *s)
{
	if (s->origin == (HSM_ORIGIN_IMPORTED | HSM_ORIGIN_KERNEL))
		return s->owner != 0;
	return !s->origin || s->origin == HSM_ORIGIN_IMPORTED || s->origin == HSM_ORIGIN_DERIVED;
}

int hsm_vault_import_secret(struct hsm_vault *v, const struct hsm_key_spec *spec,
			    const void *secret, size_t len, uint16_t *id)
{
	const struct type_info *ti;
	struct hsm_key *k;
	int ret;

	if (!v || !secret)
		return HSM_VAULT_INVALID_ARG;
	ret = check_spec(spec, false);
	if (ret)
		return ret;
	if (!import_origin_ok(spec))
		return HSM_VAULT_INVALID_ARG;
	ti = type_info(spec->type);
	if (ti->kind != KIND_AES && ti->kind != KIND_HMAC)
		return HSM_VAULT_BAD_MATERIAL;
	k = key_new(spec, import_origin(spec));
	if (!k)
		return HSM_VAULT_NOMEM;
	ret = key_set_secret(k, ti, secret, len);
	if (ret) {
		key_free(k);
		return ret;
	}
	return insert(v, k, id);
}

int hsm_vault_import_pkey(struct hsm_vault *v, const struct hsm_key_spec *spec,
			  EVP_PKEY *pkey, uint16_t *id)
{
	const struct type_info *ti;
	struct hsm_key *k;
	int ret;

	if (!v || !pkey)
		return HSM_VAULT_INVALID_ARG;
	ret = check_spec(spec, false);
	if (ret)
		return ret;
	if (!import_origin_ok(spec))
		return HSM_VAULT_INVALID_ARG;
	ti = type_info(spec->type);
	if (!pkey_matches(ti, pkey, spec->origin & HSM_ORIGIN_KERNEL))
		return HSM_VAULT_BAD_MATERIAL;
	ret = pairwise_test(pkey, false);
	if (ret)
		return ret;
	k = key_new(spec, import_origin(spec));
	if (!k)
		return HSM_VAULT_NOMEM;
	k->pkey = EVP_PKEY_dup(pkey);
	if (!k->pkey) {
		key_free(k);
		return HSM_VAULT_CRYPTO;
	}
	return insert(v, k, id);
}

int hsm_vault_delete(struct hsm_vault *v, uint16_t id)
{
	int ret = hsm_vault_delete_begin(v, id);

	if (!ret)
		hsm_vault_delete_end(v, id, false);
	return ret;
}

int hsm_vault_delete_begin(struct hsm_vault *v, uint16_t id)
{
	struct hsm_key *k;
	int ret = HSM_VAULT_NOT_FOUND;

	if (!v)
		return HSM_VAULT_INVALID_ARG;
	pthread_mutex_lock(&v->lock);
	k = find_live(v, id);
	if (k) {
		k->hidden = true;
		ret = HSM_VAULT_OK;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/*
 * A persistent key is gone for good: its session copies (unmasked from its
 * blob while it lived, same serial) go with it.
 */
static void drop_copies_locked(struct hsm_vault *v, uint64_t serial)
{
	unsigned int i = 0;

	while (i < v->nslots) {
		struct hsm_key *k = v->slots[i];

		if (k->dead || !k->owner || k->serial != serial) {
			i++;
			continue;
		}
		if (k->refs) {
			k->dead = true;
			i++;
		} else {
			slot_remove(v, i);
		}
	}
}

void hsm_vault_delete_end(struct hsm_vault *v, uint16_t id, bool keep)
{
	unsigned int i;

	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->nslots; i++) {
		struct hsm_key *k = v->slots[i];
		uint64_t serial = k->serial;
		bool persistent = !k->owner;

		if (k->id != id || !k->hidden)
			continue;
		k->hidden = false;
		if (!keep) {
			key_drop(v, k);
			if (persistent && serial)
				drop_copies_locked(v, serial);
		}
		break;
	}
	pthread_mutex_unlock(&v->lock);
}

/* Drop every live key (@all) or every live key of @owner; how many. */
static unsigned int delete_keys(struct hsm_vault *v, bool all, uint16_t owner)
{
	unsigned int i = 0, n = 0;

	pthread_mutex_lock(&v->lock);
	while (i < v->nslots) {
		struct hsm_key *k = v->slots[i];

		if (k->dead || (!all && k->owner != owner)) {
			i++;
			continue;
		}
		n++;
		if (k->refs) {
			k->dead = true;
			i++;
		} else {
			slot_remove(v, i);
		}
	}
	pthread_mutex_unlock(&v->lock);
	return n;
}

unsigned int hsm_vault_delete_owner(struct hsm_vault *v, uint16_t owner)
{
	return v && owner ? delete_keys(v, false, owner) : 0;
}

unsigned int hsm_vault_delete_all(struct hsm_vault *v)
{
	return v ? delete_keys(v, true, 0) : 0;
}

unsigned int hsm_vault_count_owner(struct hsm_vault *v, uint16_t owner)
{
	unsigned int i, n = 0;

	if (!v)
		return 0;
	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->nslots; i++)
		if (!v->slots[i]->dead && v->slots[i]->owner == owner)
			n++;
	pthread_mutex_unlock(&v->lock);
	return n;
}

int hsm_vault_get_attr(struct hsm_vault *v, uint16_t id, struct hsm_key_attr *attr)
{
	struct hsm_key *k;
	int ret = HSM_VAULT_NOT_FOUND;

	if (!v || !attr)
		return HSM_VAULT_INVALID_ARG;
	pthread_mutex_lock(&v->lock);
	k = find_live(v, id);
	if (k) {
		attr_fill(k, attr);
		ret = HSM_VAULT_OK;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int hsm_vault_find_label(struct hsm_vault *v, const void *label, size_t len, uint16_t owner,
			 uint16_t *id)
{
	struct hsm_key *k;
	int ret = HSM_VAULT_NOT_FOUND;

	if (!v || !label || !id || !len || len > HSM_KEY_LABEL_MAX)
		return HSM_VAULT_INVALID_ARG;
	pthread_mutex_lock(&v->lock);
	k = owner ? find_label(v, label, len, owner) : NULL;
	if (!k || k->hidden)
		k = find_label(v, label, len, 0);
	if (k && !k->hidden) {
		*id = k->id;
		ret = HSM_VAULT_OK;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int key_cmp_id(const void *a, const void *b)
{
	const struct hsm_key *x = *(struct hsm_key *const *)a;
	const struct hsm_key *y = *(struct hsm_key *const *)b;

	return (int)x->id - (int)y->id;
}

/* Live keys (of @owner only when @only_persistent) sorted by id; lock held. */
static unsigned int collect_locked(struct hsm_vault *v, struct hsm_key **out,
				   bool only_persistent)
{
	unsigned int i, n = 0;

	for (i = 0; i < v->nslots; i++) {
		struct hsm_key *k = v->slots[i];

		if (k->dead || k->hidden || (only_persistent && k->owner))
			continue;
		out[n++] = k;
	}
	qsort(out, n, sizeof(out[0]), key_cmp_id);
	return n;
}

unsigned int hsm_vault_list(struct hsm_vault *v, struct hsm_key_attr *out, unsigned int cap)
{
	struct hsm_key **keys;
	unsigned int i, n;

	if (!v)
		return 0;
	keys = calloc(v->max, sizeof(keys[0]));
	if (!keys)
		return 0;
	pthread_mutex_lock(&v->lock);
	n = collect_locked(v, keys, false);
	for (i = 0; out && i < n && i < cap; i++)
		attr_fill(keys[i], &out[i]);
	pthread_mutex_unlock(&v->lock);
	free(keys);
	return n;
}

unsigned int hsm_vault_count(struct hsm_vault *v)
{
	unsigned int i, n = 0;

	if (!v)
		return 0;
	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->nslots; i++)
		n += !v->slots[i]->dead && !v->slots[i]->hidden;
	pthread_mutex_unlock(&v->lock);
	return n;
}

int hsm_vault_export_public(struct hsm_vault *v, uint16_t id, uint8_t *out, size_t cap,
			    size_t *len)
{
	struct hsm_key *k;
	unsigned char *p = out;
	int n, ret;

	if (!v || !len)
		return HSM_VAULT_INVALID_ARG;
	pthread_mutex_lock(&v->lock);
	k = find_live(v, id);
	if (!k) {
		ret = HSM_VAULT_NOT_FOUND;
		goto out;
	}
	if (!k->pkey) {
		ret = HSM_VAULT_NOT_ASYMMETRIC;
		goto out;
	}
	n = i2d_PUBKEY(k->pkey, NULL);
	if (n <= 0) {
		ret = HSM_VAULT_CRYPTO;
		goto out;
	}
	*len = (size_t)n;
	if (!out || cap < (size_t)n) {
		ret = HSM_VAULT_BUFFER_SMALL;
		goto out;
	}
	ret = i2d_PUBKEY(k->pkey, &p) == n ? HSM_VAULT_OK : HSM_VAULT_CRYPTO;
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Take a reference on live key @id, checking @need; NULL + *ret on refusal. */
static struct hsm_key *key_get(struct hsm_vault *v, uint16_t id, uint32_t need, int *ret)
{
	struct hsm_key *k;

	pthread_mutex_lock(&v->lock);
	k = find_live(v, id);
	if (!k) {
		*ret = HSM_VAULT_NOT_FOUND;
	} else if ((k->usage & need) != need) {
		*ret = HSM_VAULT_USAGE_DENIED;
		k = NULL;
	} else {
		k->refs++;
		*ret = HSM_VAULT_OK;
	}
	pthread_mutex_unlock(&v->lock);
	return k;
}

int hsm_vault_with_key(struct hsm_vault *v, uint16_t id, uint32_t need, hsm_key_fn fn,
		       void *ctx)
{
	struct hsm_key_ref ref;
	struct hsm_key *k;
	int ret;

	if (!v || !fn || !need || (need & ~HSM_USAGE_ALL))
		return HSM_VAULT_INVALID_ARG;
	k = key_get(v, id, need, &ret);
	if (!k)
		return ret;
	/* Material is immutable once stored: no lock needed to read it. */
	ref = (struct hsm_key_ref){
		.id = k->id, .owner = k->owner, .type = k->type, .usage = k->usage,
		.origin = k->origin, .pkey = k->pkey, .secret = k->secret, .secret_len = k->secret_len,
	};
	fn(&ref, ctx);
	key_put(v, k);
	return HSM_VAULT_OK;
}

/* ---- masked blobs --------------------------------------------------- */

int hsm_masking_key_generate(struct hsm_masking_key *mk)
{
	if (!mk)
		return HSM_VAULT_INVALID_ARG;
	if (RAND_priv_bytes(mk->enc, sizeof(mk->enc)) != 1 ||
	    RAND_priv_bytes(mk->mac, sizeof(mk->mac)) != 1) {
		OPENSSL_cleanse(mk, sizeof(*mk));
		return HSM_VAULT_CRYPTO;
	}
	return HSM_VAULT_OK;
}

int hsm_masking_key_bind(const struct hsm_masking_key *mk, uint64_t epoch,
			 struct hsm_masking_key *out)
{
	uint8_t ikm[sizeof(mk->enc) + sizeof(mk->mac)], info[sizeof(MASK_BIND_INFO) - 1 + 8];
	uint8_t okm[sizeof(ikm)];
	OSSL_PARAM p[4];
	EVP_KDF_CTX *kc;
	EVP_KDF *kdf;
	int ok;

	if (!mk || !out)
		return HSM_VAULT_INVALID_ARG;
	memcpy(ikm, mk->enc, sizeof(mk->enc));
	memcpy(ikm + sizeof(mk->enc), mk->mac, sizeof(mk->mac));
	memcpy(info, MASK_BIND_INFO, sizeof(MASK_BIND_INFO) - 1);
	put_le64(info + sizeof(MASK_BIND_INFO) - 1, epoch);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA384", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, sizeof(ikm));
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	p[3] = OSSL_PARAM_construct_end();
	ok = kc && EVP_KDF_derive(kc, okm, sizeof(okm), p) == 1;
	EVP_KDF_CTX_free(kc);
	if (ok) {
		memcpy(out->enc, okm, sizeof(out->enc));
		memcpy(out->mac, okm + sizeof(out->enc), sizeof(out->mac));
	}
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(okm, sizeof(okm));
	return ok ? HSM_VAULT_OK : HSM_VAULT_CRYPTO;
}

static int blob_tag(const struct hsm_masking_key *mk, const uint8_t *data, size_t len,
		    uint8_t tag[BLOB_TAG])
{
	size_t tlen = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA384", NULL, mk->mac, sizeof(mk->mac), data, len,
		       tag, BLOB_TAG, &tlen) || tlen != BLOB_TAG)
		return HSM_VAULT_CRYPTO;
	return HSM_VAULT_OK;
}

/* AES-256-CBC with PKCS#7; @out has room for len + 16 bytes. */
static int blob_cipher(const struct hsm_masking_key *mk, const uint8_t *iv, bool enc,
		       const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0, ok;

	if (!c)
		return HSM_VAULT_NOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, mk->enc, iv, enc) == 1 &&
	     EVP_CipherUpdate(c, out, &n1, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(c, out + n1, &n2) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return enc ? HSM_VAULT_CRYPTO : HSM_VAULT_BAD_BLOB;
	*out_len = (size_t)n1 + (size_t)n2;
	return HSM_VAULT_OK;
}

int hsm_vault_mask(struct hsm_vault *v, uint16_t id, const struct hsm_masking_key *mk,
		   enum hsm_blob_owner kind, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t *mat = NULL;
	size_t mlen = 0, clen, need, pos, ctlen = 0;
	struct hsm_key *k;
	int ret;

	if (!v || !mk || !len || kind > HSM_BLOB_KERNEL)
		return HSM_VAULT_INVALID_ARG;
	/* Any usage: masking is how every key leaves the vault. */
	k = key_get(v, id, 0, &ret);
	if (!k)
		return ret;
	/* A persistent key's blob says so, a session key's names its role. */
	if ((kind == HSM_BLOB_PERSISTENT) != (k->owner == 0)) {
		ret = HSM_VAULT_INVALID_ARG;
		goto done;
	}
	ret = material_encode(k, &mat, &mlen);
	if (ret)
		goto done;
	clen = (mlen / 16 + 1) * 16;
	need = BLOB_HDR + k->label_len + BLOB_IV + clen + BLOB_TAG;
	*len = need;
	if (!out || cap < need) {
		ret = HSM_VAULT_BUFFER_SMALL;
		goto done;
	}
	memcpy(out, BLOB_MAGIC, MAGIC_LEN);
	out[8] = BLOB_VERSION;
	out[9] = (uint8_t)k->type;
	out[10] = (uint8_t)k->usage;
	out[11] = k->origin;
	out[BLOB_OFF_KIND] = (uint8_t)kind;
	put_le16(out + BLOB_OFF_ID, k->id);
	put_le64(out + BLOB_OFF_SERIAL, k->serial);
	out[BLOB_OFF_LABEL] = k->label_len;
	memcpy(out + BLOB_HDR, k->label, k->label_len);
	pos = BLOB_HDR + k->label_len;
	if (RAND_bytes(out + pos, BLOB_IV) != 1) {
		ret = HSM_VAULT_CRYPTO;
		goto fail;
	}
	ret = blob_cipher(mk, out + pos, true, mat, mlen, out + pos + BLOB_IV, &ctlen);
	if (ret)
		goto fail;
	if (ctlen != clen) {
		ret = HSM_VAULT_CRYPTO;
		goto fail;
	}
	pos += BLOB_IV + clen;
	ret = blob_tag(mk, out, pos, out + pos);
	if (!ret)
		goto done;
fail:
	OPENSSL_cleanse(out, need);
	*len = 0;
done:
	if (mat)
		OPENSSL_clear_free(mat, mlen);
	key_put(v, k);
	return ret;
}

/* The live persistent key with @serial, or NULL. */
static struct hsm_key *find_serial(struct hsm_vault *v, uint64_t serial)
{
	unsigned int i;

	for (i = 0; i < v->nslots; i++) {
		struct hsm_key *k = v->slots[i];

		if (!k->owner && k->serial == serial && !k->dead && !k->hidden)
			return k;
	}
	return NULL;
}

/*
 * May the blob's persistent key (@id, @serial) come back for @owner? A
 * session copy while the key lives; a persistent key only if this vault
 * never had it (its serial was never given here), for a deleted key's
 * serial was: deletion is final.
 */
static int serial_check_locked(struct hsm_vault *v, uint16_t id, uint64_t serial,
			       uint16_t owner)
{
	struct hsm_key *live = find_serial(v, serial);

	if (live && live->id == id)
		return owner ? HSM_VAULT_OK : HSM_VAULT_KEY_EXISTS;
	if (live || serial < v->next_serial)
		return HSM_VAULT_KEY_DELETED;
	return owner ? HSM_VAULT_NOT_FOUND : HSM_VAULT_OK;
}

static int unmask(struct hsm_vault *v, const struct hsm_masking_key *mk, const uint8_t *blob,
		  size_t len, enum hsm_blob_owner caller, uint16_t owner, bool foreign,
		  uint16_t *new_id)
{
	struct hsm_key_spec spec = { 0 };
	uint8_t tag[BLOB_TAG], *pt = NULL, kind, lablen, origin;
	size_t hdr, clen, ptlen = 0;
	const uint8_t *iv, *ct;
	struct hsm_key *k;
	uint64_t serial;
	uint16_t id;
	int ret;

	if (!v || !mk || !blob || caller == HSM_BLOB_PERSISTENT || caller > HSM_BLOB_KERNEL)
		return HSM_VAULT_INVALID_ARG;
	/* Lengths, magic and version, then the tag, and only then the rest. */
	if (len < BLOB_HDR + BLOB_IV + 16 + BLOB_TAG ||
	    memcmp(blob, BLOB_MAGIC, MAGIC_LEN) || blob[8] != BLOB_VERSION ||
	    blob[BLOB_OFF_LABEL] > HSM_KEY_LABEL_MAX)
		return HSM_VAULT_BAD_BLOB;
	lablen = blob[BLOB_OFF_LABEL];
	hdr = BLOB_HDR + lablen;
	if (len < hdr + BLOB_IV + 16 + BLOB_TAG)
		return HSM_VAULT_BAD_BLOB;
	clen = len - hdr - BLOB_IV - BLOB_TAG;
	if (clen % 16 || clen > HSM_MATERIAL_MAX + 16)
		return HSM_VAULT_BAD_BLOB;
	ret = blob_tag(mk, blob, len - BLOB_TAG, tag);
	if (ret)
		return ret;
	if (CRYPTO_memcmp(tag, blob + len - BLOB_TAG, BLOB_TAG))
		return HSM_VAULT_BAD_BLOB;

	/* Authentic: whose is it? */
	kind = blob[BLOB_OFF_KIND];
	id = get_le16(blob + BLOB_OFF_ID);
	serial = get_le64(blob + BLOB_OFF_SERIAL);
	/*
	 * A persistent key's serial: 1 .. 2^64-2 (the vault's next serial is
	 * one more, and 0 is no serial: a wrap would break both).
	 */
	if (kind > HSM_BLOB_KERNEL || id < HSM_KEY_ID_MIN || id > HSM_KEY_ID_MAX ||
	    (kind == HSM_BLOB_PERSISTENT && (!serial || serial == UINT64_MAX)))
		return HSM_VAULT_BAD_BLOB;
	/*
	 * A persistent key's blob is the officer's (who alone exports it); a
	 * session key's blob comes back only to its role, as a session key.
	 */
	if (kind == HSM_BLOB_PERSISTENT ? caller != HSM_BLOB_OFFICER : (kind != caller || !owner))
		return HSM_VAULT_WRONG_OWNER;

	spec.type = blob[9];
	spec.usage = blob[10];
	spec.owner = owner;
	spec.label = blob + BLOB_HDR;
	spec.label_len = lablen;
	ret = check_spec(&spec, false);
	if (ret)
		return ret == HSM_VAULT_INVALID_ARG ? HSM_VAULT_BAD_BLOB : ret;
	if ((blob[11] & ~HSM_ORIGIN_ALL) || ((blob[11] & HSM_ORIGIN_KERNEL) && !owner))
		return HSM_VAULT_BAD_BLOB;
	origin = blob[11] | HSM_ORIGIN_UNMASKED;
	if (foreign && (origin & HSM_ORIGIN_GENERATED))
		origin = (uint8_t)((origin & ~HSM_ORIGIN_GENERATED) | HSM_ORIGIN_IMPORTED);
	k = key_new(&spec, origin);
	if (!k)
		return HSM_VAULT_NOMEM;
	k->serial = serial;
	iv = blob + hdr;
	ct = iv + BLOB_IV;
	pt = OPENSSL_malloc(clen + 16);
	if (!pt) {
		ret = HSM_VAULT_NOMEM;
		goto fail;
	}
	ret = blob_cipher(mk, iv, false, ct, clen, pt, &ptlen);
	if (!ret && material_decode(k, pt, ptlen))
		ret = HSM_VAULT_BAD_BLOB;
	OPENSSL_clear_free(pt, clen + 16);
	if (ret)
		goto fail;
	/* The serial check and the insert under one lock: no delete between. */
	pthread_mutex_lock(&v->lock);
	ret = serial ? serial_check_locked(v, id, serial, owner) : HSM_VAULT_OK;
	if (!ret)
		ret = insert_locked(v, k, owner ? 0 : id, new_id);
	pthread_mutex_unlock(&v->lock);
	if (!ret)
		return HSM_VAULT_OK;
fail:
	key_free(k);
	return ret;
}

int hsm_vault_unmask(struct hsm_vault *v, const struct hsm_masking_key *mk,
		     const uint8_t *blob, size_t len, enum hsm_blob_owner caller, uint16_t owner,
		     uint16_t *new_id)
{
	return unmask(v, mk, blob, len, caller, owner, false, new_id);
}

int hsm_vault_unmask_foreign(struct hsm_vault *v, const struct hsm_masking_key *mk,
			     const uint8_t *blob, size_t len, enum hsm_blob_owner caller,
			     uint16_t owner, uint16_t *new_id)
{
	return unmask(v, mk, blob, len, caller, owner, true, new_id);
}

/* ---- serialization of persistent keys ------------------------------- */

void hsm_vault_image_free(uint8_t *image, size_t len)
{
	if (image)
		OPENSSL_clear_free(image, len);
}

int hsm_vault_serialize(struct hsm_vault *v, uint8_t **image, size_t *len)
{
	struct hsm_key **keys = NULL;
	uint8_t **mat = NULL, *img = NULL, *p;
	size_t *mlen = NULL, total = IMAGE_HDR;
	unsigned int i, n = 0;
	int ret = HSM_VAULT_NOMEM;

	if (!v || !image || !len)
		return HSM_VAULT_INVALID_ARG;
	*image = NULL;
	*len = 0;
	keys = calloc(v->max, sizeof(keys[0]));
	mat = calloc(v->max, sizeof(mat[0]));
	mlen = calloc(v->max, sizeof(mlen[0]));
	if (!keys || !mat || !mlen)
		goto out;
	pthread_mutex_lock(&v->lock);
	n = collect_locked(v, keys, true);
	for (i = 0; i < n; i++) {
		ret = material_encode(keys[i], &mat[i], &mlen[i]);
		if (ret)
			break;
		total += REC_HDR + keys[i]->label_len + 4 + mlen[i];
	}
	if (i < n)
		goto unlock;
	img = OPENSSL_malloc(total);
	if (!img) {
		ret = HSM_VAULT_NOMEM;
		goto unlock;
	}
	memcpy(img, IMAGE_MAGIC, MAGIC_LEN);
	put_le16(img + 8, IMAGE_VERSION);
	put_le16(img + 10, v->next_id);
	put_le16(img + 12, (uint16_t)n);
	put_le64(img + 14, v->next_serial);
	p = img + IMAGE_HDR;
	for (i = 0; i < n; i++) {
		const struct hsm_key *k = keys[i];

		put_le16(p, k->id);
		put_le64(p + 2, k->serial);
		p[10] = (uint8_t)k->type;
		p[11] = (uint8_t)k->usage;
		p[12] = k->origin;
		p[13] = k->label_len;
		memcpy(p + REC_HDR, k->label, k->label_len);
		p += REC_HDR + k->label_len;
		put_le32(p, (uint32_t)mlen[i]);
		memcpy(p + 4, mat[i], mlen[i]);
		p += 4 + mlen[i];
	}
	*image = img;
	*len = total;
	ret = HSM_VAULT_OK;
unlock:
	pthread_mutex_unlock(&v->lock);
out:
	for (i = 0; mat && i < n; i++)
		if (mat[i])
			OPENSSL_clear_free(mat[i], mlen[i]);
	free(keys);
	free(mat);
	free(mlen);
	return ret;
}

/*
 * Parse one record at *pos into a new key; advances *pos. Version 1
 * records have no serial (0 here: the caller numbers them).
 */
static int parse_record(const uint8_t *img, size_t len, size_t *pos, unsigned int version,
			struct hsm_key **out)
{
	struct hsm_key_spec spec = { 0 };
	const uint8_t *r = img + *pos;
	size_t left = len - *pos, mlen, rh = version == 1 ? REC1_HDR : REC_HDR;
	const uint8_t *f = r + rh - 4;	/* type, usage, origin, label length */
	struct hsm_key *k;
	uint64_t serial = 0;
	uint16_t id;
	int ret;

	if (left < rh)
		return HSM_VAULT_BAD_IMAGE;
	id = get_le16(r);
	if (version != 1) {
		serial = get_le64(r + 2);
		if (!serial)
			return HSM_VAULT_BAD_IMAGE;
	}
	if (id < HSM_KEY_ID_MIN || id > HSM_KEY_ID_MAX || f[3] > HSM_KEY_LABEL_MAX ||
	    (f[2] & ~HSM_ORIGIN_ALL) || (f[2] & HSM_ORIGIN_KERNEL) || left - rh < (size_t)f[3] + 4)
		return HSM_VAULT_BAD_IMAGE;
	spec.type = f[0];
	spec.usage = f[1];
	spec.label = r + rh;
	spec.label_len = f[3];
	ret = check_spec(&spec, true);
	if (ret)
		return ret;
	mlen = get_le32(r + rh + f[3]);
	left -= rh + f[3] + 4;
	if (!mlen || mlen > HSM_MATERIAL_MAX || mlen > left)
		return HSM_VAULT_BAD_IMAGE;
	k = key_new(&spec, f[2]);
	if (!k)
		return HSM_VAULT_NOMEM;
	k->id = id;
	k->serial = serial;
	ret = material_decode(k, r + rh + f[3] + 4, mlen);
	if (ret) {
		key_free(k);
		return ret;
	}
	*pos += rh + f[3] + 4 + mlen;
	*out = k;
	return HSM_VAULT_OK;
}

int hsm_vault_deserialize(struct hsm_vault *v, const uint8_t *img, size_t len)
{
	struct hsm_key **keys;
	unsigned int i, j, n, version;
	size_t pos;
	uint16_t next_id;
	uint64_t next_serial;
	int ret = HSM_VAULT_OK;

	if (!v || !img)
		return HSM_VAULT_INVALID_ARG;
	if (hsm_vault_count(v))
		return HSM_VAULT_NOT_EMPTY;
	if (len < IMAGE1_HDR || memcmp(img, IMAGE_MAGIC, MAGIC_LEN))
		return HSM_VAULT_BAD_IMAGE;
	version = get_le16(img + 8);
	if ((version != 1 && version != IMAGE_VERSION) ||
	    (version != 1 && len < IMAGE_HDR))
		return HSM_VAULT_BAD_IMAGE;
	next_id = get_le16(img + 10);
	n = get_le16(img + 12);
	/* Version 1: serials 1..n in id order (records come in id order). */
	next_serial = version == 1 ? (uint64_t)n + 1 : get_le64(img + 14);
	pos = version == 1 ? IMAGE1_HDR : IMAGE_HDR;
	if (next_id < HSM_KEY_ID_MIN || next_id > HSM_KEY_ID_MAX || n > v->max || !next_serial)
		return HSM_VAULT_BAD_IMAGE;
	keys = calloc(n ? n : 1, sizeof(keys[0]));
	if (!keys)
		return HSM_VAULT_NOMEM;
	for (i = 0; i < n && !ret; i++) {
		ret = parse_record(img, len, &pos, version, &keys[i]);
		if (!ret && version == 1)
			keys[i]->serial = i + 1;
		if (!ret && keys[i]->serial >= next_serial)
			ret = HSM_VAULT_BAD_IMAGE;
		for (j = 0; !ret && j < i; j++) {
			if (keys[j]->id == keys[i]->id || keys[j]->serial == keys[i]->serial ||
			    (keys[i]->label_len && keys[j]->label_len == keys[i]->label_len &&
			     !memcmp(keys[j]->label, keys[i]->label, keys[i]->label_len)))
				ret = HSM_VAULT_BAD_IMAGE;
		}
	}
	if (!ret && pos != len)
		ret = HSM_VAULT_BAD_IMAGE;
	if (!ret) {
		pthread_mutex_lock(&v->lock);
		if (v->nslots) {
			ret = HSM_VAULT_NOT_EMPTY;
		} else {
			for (i = 0; i < n; i++)
				v->slots[i] = keys[i];
			v->nslots = n;
			v->next_id = next_id;
			v->next_serial = next_serial;
		}
		pthread_mutex_unlock(&v->lock);
	}
	if (ret)
		for (i = 0; i < n; i++)
			key_free(keys[i]);
	free(keys);
	return ret;
}

void hsm_masking_key_load(struct hsm_masking_key *mk,
			  const uint8_t bytes[sizeof(((struct hsm_masking_key *)0)->enc) +
					      sizeof(((struct hsm_masking_key *)0)->mac)])
{
	memcpy(mk->enc, bytes, sizeof(mk->enc));
	memcpy(mk->mac, bytes + sizeof(mk->enc), sizeof(mk->mac));
}
