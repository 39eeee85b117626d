/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: the key vault of one partition.
 *
 * Key objects (id, type, usage, label, owner, origin, material) with
 * generate / import / delete / lookup / list, public export of asymmetric
 * keys, masked blobs (the only way key material leaves the vault) and the
 * serialization of persistent keys for the sealed partition image.
 *
 * Plain C + OpenSSL 3, no QEMU types. Every function is thread-safe (one
 * mutex per vault). Material is borrowed by the operations module through
 * hsm_vault_with_key(), which holds a reference: a key deleted while it is
 * borrowed disappears from lookups at once and is freed (and cleansed) when
 * the last borrower returns; its id is not reused before that.
 *
 * Formats: see the comment at the top of hsm_vault.c and the "Keys" section
 * of Documentation/hsm-design.md.
 */
#ifndef HSM_VAULT_H
#define HSM_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define HSM_VAULT_DEFAULT_MAX	256
#define HSM_KEY_ID_MIN		1
#define HSM_KEY_ID_MAX		0xfffe
#define HSM_KEY_LABEL_MAX	128
#define HSM_HMAC_KEY_MIN	16	/* imported HMAC secrets: 16..128 bytes */
#define HSM_HMAC_KEY_MAX	128

/*
 * Session-key limits the firmware sets on its vault (hsm_vault_set_hooks,
 * hsm-design.md "Keys", issue 9): a partition session holds at most
 * HSM_VAULT_SESSION_KEYS keys, the kernel session HSM_VAULT_KERNEL_KEYS, and
 * session keys never take the last HSM_VAULT_RESERVED slots, which are kept
 * for persistent keys. 8 sessions x 16 + 64 + 64 = 256: no session, nor all
 * of them together, can fill the vault and lock the officer out.
 */
#define HSM_VAULT_SESSION_KEYS	16
#define HSM_VAULT_KERNEL_KEYS	64
#define HSM_VAULT_RESERVED	64

/* Values are stored in masked blobs and images: never renumber. */
enum hsm_key_type {
	HSM_KEY_NONE = 0,
	HSM_KEY_AES128 = 0x01,
	HSM_KEY_AES192 = 0x02,
	HSM_KEY_AES256 = 0x03,
	HSM_KEY_AES256_XTS = 0x04,	/* 64 bytes: two AES-256 keys */
	HSM_KEY_AES256_GCM = 0x05,
	HSM_KEY_AES128_XTS = 0x06,	/* 32 bytes: two AES-128 keys */
	HSM_KEY_EC_P256 = 0x10,
	HSM_KEY_EC_P384 = 0x11,
	HSM_KEY_EC_P521 = 0x12,
	HSM_KEY_RSA2048 = 0x20,
	HSM_KEY_RSA3072 = 0x21,
	HSM_KEY_RSA4096 = 0x22,
	HSM_KEY_HMAC_SHA256 = 0x30,
	HSM_KEY_HMAC_SHA384 = 0x31,
	HSM_KEY_HMAC_SHA512 = 0x32,
};

/* Usage bits (stored). */
#define HSM_USAGE_SIGN		0x01
#define HSM_USAGE_VERIFY	0x02
#define HSM_USAGE_ENCRYPT	0x04
#define HSM_USAGE_DECRYPT	0x08
#define HSM_USAGE_UNWRAP	0x10
#define HSM_USAGE_DERIVE	0x20
#define HSM_USAGE_ALL		0x3f

/* Origin flags (stored). */
#define HSM_ORIGIN_GENERATED	0x01
#define HSM_ORIGIN_IMPORTED	0x02
#define HSM_ORIGIN_DERIVED	0x04
#define HSM_ORIGIN_UNMASKED	0x08
/*
 * Imported raw by the kernel session (KeyImport), with the material rules
 * of the Linux crypto API: HMAC secrets of 1..128 bytes, XTS halves that
 * may be equal (every operation with such a key is then not approved),
 * RSA keys of type RSA2048 with any modulus of 1024..4096 bits. Only for
 * session keys (owner != 0): never in an image.
 */
#define HSM_ORIGIN_KERNEL	0x10
#define HSM_ORIGIN_ALL		0x1f
#define HSM_RSA_KERNEL_MIN_BITS	1024
#define HSM_RSA_KERNEL_MAX_BITS	4096

/* Status codes: 0 is success, every refusal has its own code. */
enum hsm_vault_status {
	HSM_VAULT_OK = 0,
	HSM_VAULT_INVALID_ARG,		/* NULL pointer, bad owner/flags, label too long */
	HSM_VAULT_BAD_TYPE,		/* unknown key type */
	HSM_VAULT_BAD_USAGE,		/* usage empty, unknown, meaningless for the type or mixing purposes */
	HSM_VAULT_FULL,			/* the vault holds its maximum of keys */
	HSM_VAULT_NO_IDS,		/* every key id is in use */
	HSM_VAULT_NOT_FOUND,		/* no live key with that id / label */
	HSM_VAULT_LABEL_EXISTS,		/* another key of the owner has that label */
	HSM_VAULT_USAGE_DENIED,		/* the key lacks the usage the operation needs */
	HSM_VAULT_NOT_ASYMMETRIC,	/* public export of a secret key */
	HSM_VAULT_BUFFER_SMALL,		/* output buffer too small (*len = needed) */
	HSM_VAULT_BAD_MATERIAL,		/* key material does not fit the type */
	HSM_VAULT_PCT_FAILED,		/* pairwise consistency test failed */
	HSM_VAULT_BAD_BLOB,		/* masked blob malformed or not authentic */
	HSM_VAULT_BAD_IMAGE,		/* serialized image malformed */
	HSM_VAULT_NOT_EMPTY,		/* deserialize into a vault that holds keys */
	HSM_VAULT_CRYPTO,		/* OpenSSL failure (RNG, keygen, cipher) */
	HSM_VAULT_NOMEM,
	HSM_VAULT_WRONG_OWNER,		/* unmask: the blob is another owner kind's */
	HSM_VAULT_KEY_DELETED,		/* unmask: the blob's persistent key was deleted */
	HSM_VAULT_KEY_EXISTS,		/* unmask persistent: its key is in the vault */
	HSM_VAULT_QUOTA,		/* the session holds its quota of keys, or session
					 * keys would take a slot reserved for persistent ones */
	HSM_VAULT_RNG,			/* the random source failed during key generation */
};

struct hsm_vault;

/* What a new key is: type, usage, owner (0 = persistent), label, origin. */
struct hsm_key_spec {
	enum hsm_key_type type;
	uint32_t usage;
	uint16_t owner;
	/*
	 * Imports only: HSM_ORIGIN_IMPORTED (the default when 0) or _DERIVED,
	 * or HSM_ORIGIN_IMPORTED | HSM_ORIGIN_KERNEL for a session key.
	 */
	uint8_t origin;
	const uint8_t *label;	/* may be NULL when label_len is 0 */
	size_t label_len;	/* 0..HSM_KEY_LABEL_MAX */
};

/* Attributes of a key: everything but the material. */
struct hsm_key_attr {
	uint16_t id;
	uint16_t owner;
	enum hsm_key_type type;
	uint32_t usage;
	uint8_t origin;
	uint8_t label_len;
	uint8_t label[HSM_KEY_LABEL_MAX];
	/*
	 * A persistent key's serial (never given to another key of this
	 * vault); its session copies carry it too; other session keys 0.
	 */
	uint64_t serial;
};

/*
 * Material lent to a hsm_vault_with_key() callback. Valid only during the
 * callback; never free, modify or keep a pointer to it.
 */
struct hsm_key_ref {
	uint16_t id;
	uint16_t owner;
	enum hsm_key_type type;
	uint32_t usage;
	uint8_t origin;		/* HSM_ORIGIN_*: KERNEL relaxes the material rules */
	EVP_PKEY *pkey;		/* EC / RSA key pair, else NULL */
	const uint8_t *secret;	/* AES / HMAC secret, else NULL */
	size_t secret_len;
};

typedef void (*hsm_key_fn)(const struct hsm_key_ref *key, void *ctx);

/* Partition masking key: AES-256 key + HMAC-SHA384 key. */
struct hsm_masking_key {
	uint8_t enc[32];
	uint8_t mac[48];
};

/* A masking key from 80 derived bytes: enc first, then mac. */
void hsm_masking_key_load(struct hsm_masking_key *mk,
			  const uint8_t bytes[sizeof(((struct hsm_masking_key *)0)->enc) +
					      sizeof(((struct hsm_masking_key *)0)->mac)]);

/* @max_keys 0 means HSM_VAULT_DEFAULT_MAX. NULL on failure. */
struct hsm_vault *hsm_vault_new(unsigned int max_keys);

/*
 * What the firmware plugs into its vault. Every member may be NULL / 0.
 */
struct hsm_vault_hooks {
	/*
	 * The random source of key generation (AES / HMAC secrets, EC private
	 * scalars, RSA prime candidates): fill @len bytes, 0 or -1 (the
	 * generation then fails with HSM_VAULT_RNG). NULL: RAND_priv_bytes.
	 */
	int (*rng)(void *ctx, void *out, size_t len);
	/*
	 * Most keys session @owner (!= 0) may hold; NULL: no per-session
	 * limit. Called with the vault lock held: it must not call the vault.
	 */
	unsigned int (*owner_max)(void *ctx, uint16_t owner);
	/*
	 * Key generation failed in a way only a broken module explains: the
	 * random source (HSM_VAULT_RNG) or the pairwise consistency test of a
	 * generated key pair (HSM_VAULT_PCT_FAILED). The firmware enters its
	 * error state.
	 */
	void (*fatal)(void *ctx, int status);
	/*
	 * Test only (the device's selftest-fail=pct-ec / pct-rsa): true makes
	 * this generated key pair's pairwise consistency test fail (its
	 * signature is changed before the verify). Asked once per generated
	 * EC (@rsa false) or RSA key pair; NULL: never.
	 */
	bool (*pct_fail)(void *ctx, bool rsa);
	void *ctx;
	/* Slots session keys (owner != 0) may never take; < max_keys. */
	unsigned int reserved;
};

/* Install @h (copied); INVALID_ARG if reserved >= max_keys. */
int hsm_vault_set_hooks(struct hsm_vault *v, const struct hsm_vault_hooks *h);
/* Frees and cleanses every key. No borrower may be active. */
void hsm_vault_free(struct hsm_vault *v);
const char *hsm_vault_strerror(int status);

/* Key type helpers. */
bool hsm_key_type_valid(enum hsm_key_type type);
bool hsm_key_type_asymmetric(enum hsm_key_type type);
/* Usage bits that make sense for @type (0 for an unknown type). */
uint32_t hsm_key_type_usages(enum hsm_key_type type);
/*
 * May a new key of @type have @usage? Not empty, within the type's usages
 * and within one purpose (issue 9, SP 800-57): RSA sign/verify, or
 * encrypt/decrypt, or encrypt/unwrap; HMAC sign/verify, or derive. What
 * generate, import and unmask refuse as HSM_VAULT_BAD_USAGE.
 */
bool hsm_key_usage_ok(enum hsm_key_type type, uint32_t usage);

/*
 * Generate a key from the vault's random source (hooks.rng): AES/HMAC
 * secrets drawn directly, EC private keys by rejection sampling (FIPS 186-5
 * A.2.2) and the public point computed, RSA primes from random candidates
 * (FIPS 186-5 A.1.3); key pairs pass a pairwise consistency test
 * (sign/verify) before they are stored. Origin is HSM_ORIGIN_GENERATED
 * (spec->origin ignored).
 */
int hsm_vault_generate(struct hsm_vault *v, const struct hsm_key_spec *spec, uint16_t *id);
/*
 * Import an AES/HMAC secret. The vault keeps its own copy; the caller's is
 * neither kept nor cleansed. Lengths: the AES size of the type (XTS: 64 or
 * 32, two different halves), HMAC 16..128 bytes (HSM_ORIGIN_KERNEL: halves
 * may be equal, HMAC 1..128).
 */
int hsm_vault_import_secret(struct hsm_vault *v, const struct hsm_key_spec *spec,
			    const void *secret, size_t len, uint16_t *id);
/*
 * Import an EC/RSA private key that must match spec->type (curve / modulus
 * size). The vault stores its own copy (EVP_PKEY_dup) after a pairwise
 * consistency test; the caller still owns and frees @pkey.
 */
int hsm_vault_import_pkey(struct hsm_vault *v, const struct hsm_key_spec *spec,
			  EVP_PKEY *pkey, uint16_t *id);

/*
 * Deleting a persistent key also drops its session copies (keys unmasked
 * from its blob, same serial): a deleted key does not live on.
 */
int hsm_vault_delete(struct hsm_vault *v, uint16_t id);
/*
 * A deletion that must be stored first: delete_begin hides key @id from
 * lookups, lists and hsm_vault_serialize (its label stays taken);
 * delete_end then drops it (and its session copies), or with @keep shows
 * it again unchanged.
 */
int hsm_vault_delete_begin(struct hsm_vault *v, uint16_t id);
void hsm_vault_delete_end(struct hsm_vault *v, uint16_t id, bool keep);
/* Drop every key of session @owner (!= 0). Returns how many were dropped. */
unsigned int hsm_vault_delete_owner(struct hsm_vault *v, uint16_t owner);
/*
 * Zeroize: drop every key, persistent and session (a borrowed one goes
 * when its borrower returns); each is cleansed as it is freed. Returns how
 * many were dropped.
 */
unsigned int hsm_vault_delete_all(struct hsm_vault *v);
/* Live keys of @owner (0: the persistent keys). */
unsigned int hsm_vault_count_owner(struct hsm_vault *v, uint16_t owner);

int hsm_vault_get_attr(struct hsm_vault *v, uint16_t id, struct hsm_key_attr *attr);
/*
 * Labels are unique per owner (the persistent keys, each session). Look
 * @label up for session @owner: its own key first, else the persistent
 * one; @owner 0: the persistent keys only.
 */
int hsm_vault_find_label(struct hsm_vault *v, const void *label, size_t len, uint16_t owner,
			 uint16_t *id);
/* Attributes of up to @cap live keys in id order; returns the live key count. */
unsigned int hsm_vault_list(struct hsm_vault *v, struct hsm_key_attr *out, unsigned int cap);
unsigned int hsm_vault_count(struct hsm_vault *v);

/*
 * DER SubjectPublicKeyInfo of an EC/RSA key; secret keys are refused
 * (HSM_VAULT_NOT_ASYMMETRIC). With a too small @cap (or NULL @out):
 * HSM_VAULT_BUFFER_SMALL and *len = the size needed.
 */
int hsm_vault_export_public(struct hsm_vault *v, uint16_t id, uint8_t *out, size_t cap,
			    size_t *len);

/*
 * Borrow key @id for an operation that needs every bit of @need (non-zero):
 * runs @fn(key, @ctx) once and returns HSM_VAULT_OK, or returns a refusal
 * (NOT_FOUND, USAGE_DENIED, INVALID_ARG) without running it. The vault lock
 * is not held during @fn (it may call other vault functions, even delete
 * this key); a reference keeps the material alive until @fn returns.
 */
int hsm_vault_with_key(struct hsm_vault *v, uint16_t id, uint32_t need, hsm_key_fn fn,
		       void *ctx);

/*
 * Masked blobs. A blob names who it is for (stored: never renumber): a
 * persistent key, or the role of the session that owned the session key.
 */
enum hsm_blob_owner {
	HSM_BLOB_PERSISTENT = 0,
	HSM_BLOB_OFFICER = 1,
	HSM_BLOB_USER = 2,
	HSM_BLOB_KERNEL = 3,
};

int hsm_masking_key_generate(struct hsm_masking_key *mk);
/*
 * The key blobs are actually sealed with: HKDF-SHA384(enc || mac, no
 * salt, info "azihsm masking key v2" || @epoch u64 little-endian), 80
 * bytes split as enc, mac. With the zeroize epoch folded in, no masking
 * key of an earlier epoch (say, one a replayed backup brought back) opens
 * a blob of this one.
 */
int hsm_masking_key_bind(const struct hsm_masking_key *mk, uint64_t epoch,
			 struct hsm_masking_key *out);
/*
 * Mask key @id for @kind: HSM_BLOB_PERSISTENT for a persistent key, the
 * owning session's role for a session key (else INVALID_ARG). Same
 * BUFFER_SMALL convention as hsm_vault_export_public.
 */
int hsm_vault_mask(struct hsm_vault *v, uint16_t id, const struct hsm_masking_key *mk,
		   enum hsm_blob_owner kind, uint8_t *out, size_t cap, size_t *len);
/*
 * Authenticate and decrypt a blob for a session of role @caller (officer,
 * user or kernel) and store the key for @owner (0 = persistent) with
 * origin | HSM_ORIGIN_UNMASKED. Who gets a blob back (else WRONG_OWNER):
 * a session key's blob only a session of the same role, as a session key;
 * a persistent key's blob only the officer: as a session copy while that
 * key lives (same id and serial; the copy goes when the key is deleted),
 * else KEY_DELETED; as a persistent key only if this vault never gave the
 * key's serial (KEY_EXISTS while it lives, KEY_DELETED once deleted), with
 * its id when free and its serial. A refused blob leaves the vault unchanged.
 */
int hsm_vault_unmask(struct hsm_vault *v, const struct hsm_masking_key *mk,
		     const uint8_t *blob, size_t len, enum hsm_blob_owner caller, uint16_t owner,
		     uint16_t *new_id);
/*
 * The same for a blob under a masking key that is known outside the device
 * (the security domain's: its owners, or an officer who uploaded a domain
 * key of its own, can make such blobs): the device cannot vouch that the
 * key was generated in a device, so the new key's origin has
 * HSM_ORIGIN_GENERATED replaced by HSM_ORIGIN_IMPORTED.
 */
int hsm_vault_unmask_foreign(struct hsm_vault *v, const struct hsm_masking_key *mk,
			     const uint8_t *blob, size_t len, enum hsm_blob_owner caller,
			     uint16_t owner, uint16_t *new_id);

/*
 * Persistent keys (owner 0) as one byte image, allocated here: it holds
 * plaintext key material, release it with hsm_vault_image_free().
 */
int hsm_vault_serialize(struct hsm_vault *v, uint8_t **image, size_t *len);
void hsm_vault_image_free(uint8_t *image, size_t len);
/*
 * Load an image into an empty vault (HSM_VAULT_NOT_EMPTY otherwise). The
 * whole image is checked first: a malformed one is refused (BAD_IMAGE,
 * BAD_TYPE, ...) and the vault stays empty.
 */
int hsm_vault_deserialize(struct hsm_vault *v, const uint8_t *image, size_t len);

#endif /* HSM_VAULT_H */
