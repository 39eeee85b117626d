// SPDX-License-Identifier: MIT
/*
 * hsm_vault on the host: key generation and import for every type, public
 * export and signatures cross-checked with OpenSSL, usage enforcement,
 * labels, capacity, ids, deletion, masked blobs (round trip, every bit
 * flipped, truncations, wrong masking key, the owner rules and serials of
 * issue 9, the epoch binding) and the persistent-key image.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "hsm_vault.h"
#include "tap.h"

#define SIGN_MSG "message signed with a borrowed key"

static struct hsm_key_spec spec(enum hsm_key_type type, uint32_t usage, uint16_t owner,
				const char *label)
{
	return (struct hsm_key_spec){
		.type = type, .usage = usage, .owner = owner,
		.label = (const uint8_t *)label, .label_len = label ? strlen(label) : 0,
	};
}

static int gen(struct hsm_vault *v, enum hsm_key_type type, uint32_t usage, uint16_t owner,
	       const char *label, uint16_t *id)
{
	struct hsm_key_spec s = spec(type, usage, owner, label);

	return hsm_vault_generate(v, &s, id);
}

static int import_aes(struct hsm_vault *v, uint16_t owner, const char *label, uint8_t fill,
		      uint16_t *id)
{
	struct hsm_key_spec s = spec(HSM_KEY_AES256, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT,
				     owner, label);
	uint8_t key[32];

	memset(key, fill, sizeof(key));
	return hsm_vault_import_secret(v, &s, key, sizeof(key), id);
}

/* ---- callbacks ------------------------------------------------------ */

struct sign_ctx {
	int calls;
	int ok;
	unsigned char sig[1024];
	size_t siglen;
	/* optional: delete the borrowed key first */
	struct hsm_vault *v;
	int del_ret, del2_ret, attr_ret;
};

static void sign_cb(const struct hsm_key_ref *k, void *p)
{
	struct sign_ctx *c = p;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct hsm_key_attr a;

	c->calls++;
	if (c->v) {
		c->del_ret = hsm_vault_delete(c->v, k->id);
		c->del2_ret = hsm_vault_delete(c->v, k->id);
		c->attr_ret = hsm_vault_get_attr(c->v, k->id, &a);
	}
	c->siglen = sizeof(c->sig);
	c->ok = k->pkey && md &&
		EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, k->pkey, NULL) == 1 &&
		EVP_DigestSign(md, c->sig, &c->siglen, (const unsigned char *)SIGN_MSG,
			       strlen(SIGN_MSG)) == 1;
	EVP_MD_CTX_free(md);
}

struct secret_ctx {
	int calls;
	uint8_t secret[HSM_HMAC_KEY_MAX];
	size_t len;
	enum hsm_key_type type;
};

static void secret_cb(const struct hsm_key_ref *k, void *p)
{
	struct secret_ctx *c = p;

	c->calls++;
	c->type = k->type;
	c->len = k->secret ? k->secret_len : 0;
	if (k->secret && k->secret_len <= sizeof(c->secret))
		memcpy(c->secret, k->secret, k->secret_len);
}

static void count_cb(const struct hsm_key_ref *k, void *p)
{
	(void)k;
	(*(int *)p)++;
}

/* ---- OpenSSL cross-checks ------------------------------------------- */

static EVP_PKEY *public_of(struct hsm_vault *v, uint16_t id)
{
	uint8_t der[2048];
	const unsigned char *p = der;
	size_t len = 0;
	EVP_PKEY *pk;

	if (hsm_vault_export_public(v, id, der, sizeof(der), &len))
		return NULL;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (pk && p != der + len) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

static int verify(EVP_PKEY *pub, const unsigned char *sig, size_t siglen, const char *msg)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md &&
		 EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
		 EVP_DigestVerify(md, sig, siglen, (const unsigned char *)msg,
				  strlen(msg)) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

/* Sign through the accessor, verify with the exported public key. */
static int signs_as(struct hsm_vault *v, uint16_t id, EVP_PKEY *pub)
{
	struct sign_ctx c = { 0 };

	if (hsm_vault_with_key(v, id, HSM_USAGE_SIGN, sign_cb, &c) || c.calls != 1 || !c.ok)
		return 0;
	return verify(pub, c.sig, c.siglen, SIGN_MSG);
}

static bool attr_eq(const struct hsm_key_attr *a, const struct hsm_key_attr *b)
{
	return a->id == b->id && a->owner == b->owner && a->type == b->type &&
	       a->usage == b->usage && a->origin == b->origin && a->label_len == b->label_len &&
	       !memcmp(a->label, b->label, a->label_len);
}

/* ---- tests ---------------------------------------------------------- */

static const struct {
	enum hsm_key_type type;
	uint32_t usage;
	const char *group;
	int bits;
	size_t secret_len;
} types[] = {
	{ HSM_KEY_AES128, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, NULL, 0, 16 },
	{ HSM_KEY_AES192, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, NULL, 0, 24 },
	{ HSM_KEY_AES256, HSM_USAGE_UNWRAP, NULL, 0, 32 },
	{ HSM_KEY_AES256_XTS, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, NULL, 0, 64 },
	{ HSM_KEY_AES256_GCM, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, NULL, 0, 32 },
	{ HSM_KEY_EC_P256, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, "prime256v1", 256, 0 },
	{ HSM_KEY_EC_P384, HSM_USAGE_SIGN | HSM_USAGE_DERIVE, "secp384r1", 384, 0 },
	{ HSM_KEY_EC_P521, HSM_USAGE_SIGN, "secp521r1", 521, 0 },
	{ HSM_KEY_RSA2048, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, NULL, 2048, 0 },
	{ HSM_KEY_RSA3072, HSM_USAGE_SIGN, NULL, 3072, 0 },
	{ HSM_KEY_RSA4096, HSM_USAGE_SIGN, NULL, 4096, 0 },
	{ HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, NULL, 0, 32 },
	{ HSM_KEY_HMAC_SHA384, HSM_USAGE_DERIVE, NULL, 0, 48 },
	{ HSM_KEY_HMAC_SHA512, HSM_USAGE_SIGN, NULL, 0, 64 },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void test_generate_all(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	uint16_t ids[NTYPES];
	unsigned int i;

	for (i = 0; i < NTYPES; i++) {
		struct hsm_key_attr a;
		uint8_t der[2048];
		size_t len = 0;
		int st;

		st = gen(v, types[i].type, types[i].usage, 0, NULL, &ids[i]);
		tap_eq(st, HSM_VAULT_OK, "generate type 0x%02x", types[i].type);
		tap_ok(!hsm_vault_get_attr(v, ids[i], &a) && a.type == types[i].type &&
		       a.usage == types[i].usage && a.origin == HSM_ORIGIN_GENERATED &&
		       a.owner == 0 && a.label_len == 0 && a.id == ids[i],
		       "type 0x%02x: attributes", types[i].type);
		st = hsm_vault_export_public(v, ids[i], der, sizeof(der), &len);
		if (types[i].secret_len) {
			struct secret_ctx c = { 0 };

			tap_eq(st, HSM_VAULT_NOT_ASYMMETRIC,
			       "type 0x%02x: public export of a secret key refused", types[i].type);
			tap_ok(!hsm_vault_with_key(v, ids[i], types[i].usage, secret_cb, &c) &&
			       c.calls == 1 && c.len == types[i].secret_len &&
			       c.type == types[i].type,
			       "type 0x%02x: %zu-byte secret", types[i].type, types[i].secret_len);
			if (types[i].type == HSM_KEY_AES256_XTS)
				tap_ok(memcmp(c.secret, c.secret + 32, 32) != 0,
				       "XTS halves differ");
		} else {
			EVP_PKEY *pub = public_of(v, ids[i]);
			char group[32] = "";
			size_t glen;

			tap_ok(!st && pub != NULL, "type 0x%02x: public DER parses (d2i_PUBKEY)",
			       types[i].type);
			if (types[i].group)
				tap_ok(pub && EVP_PKEY_is_a(pub, "EC") &&
				       EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) &&
				       !strcmp(group, types[i].group),
				       "type 0x%02x: curve %s", types[i].type, types[i].group);
			else
				tap_ok(pub && EVP_PKEY_is_a(pub, "RSA") &&
				       EVP_PKEY_get_bits(pub) == types[i].bits,
				       "type 0x%02x: RSA-%d", types[i].type, types[i].bits);
			tap_ok(pub && signs_as(v, ids[i], pub),
			       "type 0x%02x: signature by borrowed key verifies with exported key",
			       types[i].type);
			EVP_PKEY_free(pub);
		}
	}
	for (i = 1; i < NTYPES; i++)
		if (ids[i] == ids[0])
			break;
	tap_ok(hsm_vault_count(v) == NTYPES && i == NTYPES, "all %zu types stored, distinct ids",
	       NTYPES);
	hsm_vault_free(v);
}

static void test_usage(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	struct sign_ctx c = { 0 };
	struct sign_ctx wrong = { 0 };
	EVP_PKEY *pub;
	uint16_t id, x;
	char label[130];
	int n = 0;

	gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, NULL, &id);
	tap_eq(hsm_vault_with_key(v, id, HSM_USAGE_DERIVE, sign_cb, &c), HSM_VAULT_USAGE_DENIED,
	       "sign-only key: derive refused");
	tap_eq(hsm_vault_with_key(v, id, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, sign_cb, &c),
	       HSM_VAULT_USAGE_DENIED, "sign-only key: sign+verify refused");
	tap_eq(c.calls, 0, "callback never ran on refusal");
	tap_eq(hsm_vault_with_key(v, id, 0, sign_cb, &c), HSM_VAULT_INVALID_ARG,
	       "no usage requested: refused");
	tap_eq(hsm_vault_with_key(v, 999, HSM_USAGE_SIGN, sign_cb, &c), HSM_VAULT_NOT_FOUND,
	       "unknown id: not found");
	pub = public_of(v, id);
	tap_ok(signs_as(v, id, pub), "sign-only key: sign allowed, verifies");
	/* negative control: the signature does not verify another message */
	hsm_vault_with_key(v, id, HSM_USAGE_SIGN, sign_cb, &wrong);
	tap_ok(!verify(pub, wrong.sig, wrong.siglen, "another message"),
	       "signature does not verify another message");
	EVP_PKEY_free(pub);

	gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &x);
	tap_eq(hsm_vault_with_key(v, x, HSM_USAGE_DECRYPT, count_cb, &n), HSM_VAULT_USAGE_DENIED,
	       "encrypt-only AES key: decrypt refused");
	tap_ok(!hsm_vault_with_key(v, x, HSM_USAGE_ENCRYPT, count_cb, &n) && n == 1,
	       "encrypt-only AES key: encrypt allowed");

	tap_eq(gen(v, HSM_KEY_AES256, HSM_USAGE_SIGN, 0, NULL, &x), HSM_VAULT_BAD_USAGE,
	       "AES + sign refused");
	tap_eq(gen(v, HSM_KEY_AES256_XTS, HSM_USAGE_UNWRAP, 0, NULL, &x), HSM_VAULT_BAD_USAGE,
	       "XTS + unwrap refused");
	tap_eq(gen(v, HSM_KEY_EC_P256, HSM_USAGE_ENCRYPT, 0, NULL, &x), HSM_VAULT_BAD_USAGE,
	       "EC + encrypt refused");
	tap_eq(gen(v, HSM_KEY_RSA2048, HSM_USAGE_DERIVE, 0, NULL, &x), HSM_VAULT_BAD_USAGE,
	       "RSA + derive refused");
	tap_eq(gen(v, HSM_KEY_HMAC_SHA256, HSM_USAGE_DECRYPT, 0, NULL, &x), HSM_VAULT_BAD_USAGE,
	       "HMAC + decrypt refused");
	tap_eq(gen(v, HSM_KEY_AES128, 0, 0, NULL, &x), HSM_VAULT_BAD_USAGE, "no usage refused");
	tap_eq(gen(v, HSM_KEY_AES128, 0x40 | HSM_USAGE_ENCRYPT, 0, NULL, &x), HSM_VAULT_BAD_USAGE,
	       "unknown usage bit refused");
	tap_eq(gen(v, (enum hsm_key_type)0x99, HSM_USAGE_SIGN, 0, NULL, &x), HSM_VAULT_BAD_TYPE,
	       "unknown type refused");
	memset(label, 'l', sizeof(label));
	label[129] = 0;
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, label, &x), HSM_VAULT_INVALID_ARG,
	       "129-byte label refused");
	tap_eq(hsm_vault_count(v), 2, "refusals stored nothing");
	tap_ok(strstr(hsm_vault_strerror(HSM_VAULT_FULL), "full") &&
	       strstr(hsm_vault_strerror(HSM_VAULT_BAD_USAGE), "usage"),
	       "status strings name the refusal");
	hsm_vault_free(v);
}

static void test_labels(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	uint16_t a, b, c, found = 0;
	char l128[129];
	struct hsm_key_attr at;

	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "alpha", &a), HSM_VAULT_OK,
	       "key labelled alpha");
	tap_eq(gen(v, HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN, 0, "alpha", &b),
	       HSM_VAULT_LABEL_EXISTS, "second persistent alpha refused");
	tap_eq(import_aes(v, 0, "alpha", 1, &b), HSM_VAULT_LABEL_EXISTS,
	       "import with label alpha refused");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "alph", &b), HSM_VAULT_OK,
	       "prefix label is another label");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &c), HSM_VAULT_OK,
	       "unlabelled key 1");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &c), HSM_VAULT_OK,
	       "unlabelled key 2 (no label is not a label)");
	tap_ok(!hsm_vault_find_label(v, "alpha", 5, 0, &found) && found == a, "find alpha");
	tap_ok(!hsm_vault_find_label(v, "alph", 4, 0, &found) && found == b, "find alph");
	tap_eq(hsm_vault_find_label(v, "beta", 4, 0, &found), HSM_VAULT_NOT_FOUND, "beta not found");
	memset(l128, 0x80, 128);
	l128[128] = 0;
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, l128, &c), HSM_VAULT_OK,
	       "128-byte binary label accepted");
	tap_ok(!hsm_vault_get_attr(v, c, &at) && at.label_len == 128 &&
	       !memcmp(at.label, l128, 128), "label kept in the attributes");
	tap_ok(!hsm_vault_find_label(v, l128, 128, 0, &found) && found == c, "find 128-byte label");

	/* One name space per owner: the persistent keys, each session. */
	tap_eq(gen(v, HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN, 3, "gamma", &b), HSM_VAULT_OK,
	       "session 3: gamma");
	tap_eq(gen(v, HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN, 3, "gamma", &c),
	       HSM_VAULT_LABEL_EXISTS, "session 3: a second gamma refused");
	tap_eq(gen(v, HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN, 4, "gamma", &c), HSM_VAULT_OK,
	       "session 4: its own gamma (session 3's says nothing to it)");
	tap_ok(!hsm_vault_find_label(v, "gamma", 5, 3, &found) && found == b &&
	       !hsm_vault_find_label(v, "gamma", 5, 4, &found) && found == c,
	       "each session finds its own gamma");
	tap_eq(hsm_vault_find_label(v, "gamma", 5, 5, &found), HSM_VAULT_NOT_FOUND,
	       "session 5 finds none");
	tap_eq(hsm_vault_find_label(v, "gamma", 5, 0, &found), HSM_VAULT_NOT_FOUND,
	       "not a persistent label");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 3, "alpha", &c), HSM_VAULT_OK,
	       "session 3 may shadow the persistent alpha");
	tap_ok(!hsm_vault_find_label(v, "alpha", 5, 3, &found) && found == c,
	       "session 3 finds its own alpha first");
	tap_ok(!hsm_vault_find_label(v, "alpha", 5, 4, &found) && found == a,
	       "session 4 finds the persistent alpha");
	tap_ok(!hsm_vault_find_label(v, "alpha", 5, 0, &found) && found == a,
	       "owner 0: the persistent alpha");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "gamma", &c), HSM_VAULT_OK,
	       "a persistent gamma beside the session ones");
	tap_ok(!hsm_vault_find_label(v, "gamma", 5, 3, &found) && found == b,
	       "session 3 still finds its own gamma");
	tap_ok(!hsm_vault_find_label(v, "gamma", 5, 5, &found) && found == c,
	       "session 5 now finds the persistent gamma");
	hsm_vault_delete_owner(v, 3);
	hsm_vault_delete(v, a);
	tap_eq(hsm_vault_find_label(v, "alpha", 5, 0, &found), HSM_VAULT_NOT_FOUND,
	       "deleted key's label gone");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "alpha", &a), HSM_VAULT_OK,
	       "label free again after delete");
	hsm_vault_free(v);
}

static void test_capacity(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	struct hsm_key_attr *list = calloc(300, sizeof(*list));
	struct hsm_masking_key mk;
	uint8_t blob[256];
	size_t blen = 0;
	unsigned int i, ok = 0, sorted = 1, n;
	uint16_t id, first = 0;

	hsm_masking_key_generate(&mk);
	for (i = 0; i < 256; i++) {
		ok += !import_aes(v, (uint16_t)(i % 3), NULL, (uint8_t)i, &id);
		if (!i)
			first = id;
	}
	tap_eq(ok, 256, "256 keys fit in a default vault");
	hsm_vault_mask(v, first, &mk, HSM_BLOB_PERSISTENT, blob, sizeof(blob), &blen);
	tap_eq(import_aes(v, 0, NULL, 1, &id), HSM_VAULT_FULL, "257th import: vault full");
	tap_eq(gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, NULL, &id), HSM_VAULT_FULL,
	       "257th generate: vault full");
	tap_eq(hsm_vault_unmask(v, &mk, blob, blen, HSM_BLOB_OFFICER, 3, &id), HSM_VAULT_FULL,
	       "257th unmask: vault full");
	n = hsm_vault_list(v, list, 300);
	for (i = 1; i < n; i++)
		sorted &= list[i - 1].id < list[i].id;
	tap_ok(n == 256 && sorted && list[0].id == 1 && list[255].id == 256,
	       "list: 256 attributes in id order");
	hsm_vault_delete(v, 100);
	tap_eq(import_aes(v, 0, NULL, 1, &id), HSM_VAULT_OK, "after a delete one fits again");
	tap_ok(id == 257, "and gets a fresh id (257), not the deleted 100");
	free(list);
	hsm_vault_free(v);

	v = hsm_vault_new(3);
	for (i = 0; i < 3; i++)
		import_aes(v, 0, NULL, 1, &id);
	tap_eq(import_aes(v, 0, NULL, 1, &id), HSM_VAULT_FULL, "max 3: 4th refused");
	hsm_vault_free(v);
}

static void test_ids(void)
{
	struct hsm_vault *v = hsm_vault_new(4);
	uint16_t keep, id = 0, prev;
	unsigned int i, clash = 0, wrapped = 0;

	import_aes(v, 0, NULL, 1, &keep);
	tap_eq(keep, 1, "first id is 1");
	/* Run the id cursor twice round 1..0xfffe: the live id 1 is never reissued. */
	prev = keep;
	for (i = 0; i < 2 * 0xfffe; i++) {
		if (import_aes(v, 0, NULL, 2, &id))
			break;
		clash += id == keep || id == 0 || id == 0xffff;
		wrapped += id < prev;
		prev = id;
		hsm_vault_delete(v, id);
	}
	tap_eq(i, 2 * 0xfffe, "%u create/delete cycles", 2 * 0xfffe);
	tap_eq(clash, 0, "the live id, 0 and 0xffff never issued");
	tap_eq(wrapped, 2, "cursor wrapped twice");
	tap_ok(!hsm_vault_get_attr(v, keep, &(struct hsm_key_attr){ 0 }), "key 1 still there");
	hsm_vault_free(v);
}

static void test_delete(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	struct sign_ctx c = { 0 };
	uint16_t ids[6], id, p;
	struct hsm_key_attr a;
	EVP_PKEY *pub;
	unsigned int i;
	int n = 0;

	for (i = 0; i < 3; i++)
		import_aes(v, 7, NULL, (uint8_t)i, &ids[i]);
	import_aes(v, 8, NULL, 9, &ids[3]);
	gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 8, "s8", &ids[4]);
	import_aes(v, 0, NULL, 5, &p);
	tap_eq(hsm_vault_delete_owner(v, 7), 3, "delete owner 7: three keys");
	tap_eq(hsm_vault_get_attr(v, ids[1], &a), HSM_VAULT_NOT_FOUND, "owner 7 key gone");
	tap_ok(!hsm_vault_get_attr(v, ids[3], &a) && a.owner == 8, "owner 8 keys stay");
	tap_eq(hsm_vault_delete_owner(v, 0), 0, "delete owner 0 drops nothing");
	tap_eq(hsm_vault_count(v), 3, "three keys left");
	tap_eq(hsm_vault_delete_owner(v, 8), 2, "delete owner 8: two keys");
	tap_eq(hsm_vault_find_label(v, "s8", 2, 8, &id), HSM_VAULT_NOT_FOUND,
	       "session key label gone with it");
	tap_eq(hsm_vault_delete(v, p), HSM_VAULT_OK, "delete by id");
	tap_eq(hsm_vault_delete(v, p), HSM_VAULT_NOT_FOUND, "second delete: not found");
	tap_eq(hsm_vault_with_key(v, p, HSM_USAGE_ENCRYPT, count_cb, &n), HSM_VAULT_NOT_FOUND,
	       "deleted key cannot be borrowed");
	tap_eq(hsm_vault_count(v), 0, "vault empty");

	/* Deleting a key while it is borrowed: material stays valid until return. */
	gen(v, HSM_KEY_EC_P384, HSM_USAGE_SIGN, 0, "busy", &id);
	pub = public_of(v, id);
	c.v = v;
	tap_eq(hsm_vault_with_key(v, id, HSM_USAGE_SIGN, sign_cb, &c), HSM_VAULT_OK,
	       "borrow a key");
	tap_ok(c.del_ret == HSM_VAULT_OK && c.del2_ret == HSM_VAULT_NOT_FOUND &&
	       c.attr_ret == HSM_VAULT_NOT_FOUND, "deleted inside the callback: gone at once");
	tap_ok(c.ok && verify(pub, c.sig, c.siglen, SIGN_MSG),
	       "the borrowed material still signed correctly after the delete");
	tap_eq(hsm_vault_count(v), 0, "freed after the borrower returned");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "busy", &p), HSM_VAULT_OK,
	       "its label is free");
	EVP_PKEY_free(pub);
	hsm_vault_free(v);
}

/* A deletion that waits for its commit: hidden, then dropped or kept. */
static void test_delete_pending(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	struct hsm_key_attr a[4];
	uint8_t *img;
	size_t len, len1;
	uint16_t id, other, x;
	int n = 0;

	gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, "pend", &id);
	gen(v, HSM_KEY_AES256, HSM_USAGE_ENCRYPT, 0, "stay", &other);
	hsm_vault_serialize(v, &img, &len1);
	hsm_vault_image_free(img, len1);
	tap_eq(hsm_vault_delete_begin(v, id), HSM_VAULT_OK, "pending: delete_begin");
	tap_eq(hsm_vault_get_attr(v, id, &a[0]), HSM_VAULT_NOT_FOUND, "pending: attr not found");
	tap_eq(hsm_vault_find_label(v, "pend", 4, 0, &x), HSM_VAULT_NOT_FOUND,
	       "pending: label lookup not found");
	tap_eq(hsm_vault_with_key(v, id, HSM_USAGE_SIGN, count_cb, &n), HSM_VAULT_NOT_FOUND,
	       "pending: cannot be borrowed");
	tap_ok(hsm_vault_list(v, a, 4) == 1 && a[0].id == other && hsm_vault_count(v) == 1,
	       "pending: not listed, not counted");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "pend", &x), HSM_VAULT_LABEL_EXISTS,
	       "pending: its label is still taken");
	tap_ok(!hsm_vault_serialize(v, &img, &len) && len < len1, "pending: left out of the image");
	hsm_vault_image_free(img, len);
	tap_eq(hsm_vault_delete_begin(v, id), HSM_VAULT_NOT_FOUND, "pending: second begin refused");
	hsm_vault_delete_end(v, id, true);
	tap_ok(!hsm_vault_get_attr(v, id, &a[0]) && !hsm_vault_find_label(v, "pend", 4, 0, &x) &&
	       x == id && hsm_vault_count(v) == 2, "kept: back with its id and label");
	tap_ok(!hsm_vault_serialize(v, &img, &len) && len == len1, "kept: in the image again");
	hsm_vault_image_free(img, len);
	hsm_vault_delete_begin(v, id);
	hsm_vault_delete_end(v, id, false);
	tap_eq(hsm_vault_get_attr(v, id, &a[0]), HSM_VAULT_NOT_FOUND, "dropped: gone");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, "pend", &x), HSM_VAULT_OK,
	       "dropped: its label is free");
	hsm_vault_delete_end(v, other, false);
	tap_eq(hsm_vault_count(v), 2, "delete_end without begin changes nothing");
	hsm_vault_free(v);
}

static void test_import(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	struct hsm_key_spec s = spec(HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 4, NULL);
	uint8_t key[129], xts[64];
	struct secret_ctx c = { 0 };
	struct hsm_key_attr a;
	EVP_PKEY *ext, *other, *pubonly, *mixed = NULL;
	uint8_t der[256];
	unsigned char *dp = der;
	const unsigned char *cdp = der;
	uint16_t id;
	int dlen;

	memset(key, 0x5a, sizeof(key));
	tap_eq(hsm_vault_import_secret(v, &s, key, 15, &id), HSM_VAULT_BAD_MATERIAL,
	       "AES-128 with 15 bytes refused");
	tap_eq(hsm_vault_import_secret(v, &s, key, 16, &id), HSM_VAULT_OK, "AES-128 imported");
	memset(key, 0xa5, 16);	/* the caller's copy changes: the vault's must not */
	tap_ok(!hsm_vault_with_key(v, id, HSM_USAGE_ENCRYPT, secret_cb, &c) && c.len == 16 &&
	       c.secret[0] == 0x5a && c.secret[15] == 0x5a, "vault kept its own copy");
	tap_ok(!hsm_vault_get_attr(v, id, &a) && a.origin == HSM_ORIGIN_IMPORTED && a.owner == 4,
	       "origin imported, owner 4");
	s.origin = HSM_ORIGIN_DERIVED;
	s.type = HSM_KEY_HMAC_SHA384;
	s.usage = HSM_USAGE_SIGN;
	tap_eq(hsm_vault_import_secret(v, &s, key, 15, &id), HSM_VAULT_BAD_MATERIAL,
	       "HMAC with 15 bytes refused");
	tap_eq(hsm_vault_import_secret(v, &s, key, 129, &id), HSM_VAULT_BAD_MATERIAL,
	       "HMAC with 129 bytes refused");
	tap_eq(hsm_vault_import_secret(v, &s, key, 20, &id), HSM_VAULT_OK, "HMAC with 20 bytes");
	tap_ok(!hsm_vault_get_attr(v, id, &a) && a.origin == HSM_ORIGIN_DERIVED,
	       "origin derived");
	s.origin = HSM_ORIGIN_UNMASKED;
	tap_eq(hsm_vault_import_secret(v, &s, key, 20, &id), HSM_VAULT_INVALID_ARG,
	       "import claiming origin unmasked refused");
	s.origin = 0;
	s.type = HSM_KEY_AES256_XTS;
	s.usage = HSM_USAGE_ENCRYPT;
	memset(xts, 7, sizeof(xts));
	tap_eq(hsm_vault_import_secret(v, &s, xts, 64, &id), HSM_VAULT_BAD_MATERIAL,
	       "XTS with equal halves refused");
	xts[63] = 8;
	tap_eq(hsm_vault_import_secret(v, &s, xts, 64, &id), HSM_VAULT_OK, "XTS imported");
	s.type = HSM_KEY_EC_P256;
	s.usage = HSM_USAGE_SIGN;
	tap_eq(hsm_vault_import_secret(v, &s, key, 32, &id), HSM_VAULT_BAD_MATERIAL,
	       "raw secret for an EC type refused");

	ext = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	s.type = HSM_KEY_EC_P384;
	tap_eq(hsm_vault_import_pkey(v, &s, ext, &id), HSM_VAULT_BAD_MATERIAL,
	       "P-256 key imported as P-384 refused");
	s.type = HSM_KEY_RSA2048;
	tap_eq(hsm_vault_import_pkey(v, &s, ext, &id), HSM_VAULT_BAD_MATERIAL,
	       "EC key imported as RSA refused");
	s.type = HSM_KEY_EC_P256;
	tap_eq(hsm_vault_import_pkey(v, &s, ext, &id), HSM_VAULT_OK, "P-256 key imported");
	tap_ok(signs_as(v, id, ext), "imported key signs, verifies with the caller's key");
	tap_ok(!hsm_vault_get_attr(v, id, &a) && a.origin == HSM_ORIGIN_IMPORTED,
	       "origin imported");

	dlen = i2d_PUBKEY(ext, &dp);
	pubonly = d2i_PUBKEY(NULL, &cdp, dlen);
	tap_eq(hsm_vault_import_pkey(v, &s, pubonly, &id), HSM_VAULT_BAD_MATERIAL,
	       "public-only key refused");

	/* private scalar of one key with the public point of another */
	{
		BIGNUM *priv = NULL;
		uint8_t pub[80];
		size_t plen = 0;
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params = NULL;
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		EVP_PKEY_get_bn_param(ext, OSSL_PKEY_PARAM_PRIV_KEY, &priv);
		EVP_PKEY_get_octet_string_param(other, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
						&plen);
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, plen);
		params = OSSL_PARAM_BLD_to_param(bld);
		if (EVP_PKEY_fromdata_init(pc) == 1)
			EVP_PKEY_fromdata(pc, &mixed, EVP_PKEY_KEYPAIR, params);
		tap_ok(mixed != NULL, "mismatched key pair built");
		tap_eq(hsm_vault_import_pkey(v, &s, mixed, &id), HSM_VAULT_PCT_FAILED,
		       "mismatched key pair fails the pairwise consistency test");
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
		EVP_PKEY_CTX_free(pc);
		BN_clear_free(priv);
	}
	tap_eq(hsm_vault_count(v), 4, "only the four good imports stored");
	EVP_PKEY_free(mixed);
	EVP_PKEY_free(pubonly);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ext);
	hsm_vault_free(v);
}

static void test_mask(void)
{
	struct hsm_vault *v = hsm_vault_new(0), *v2 = hsm_vault_new(0);
	struct hsm_masking_key mk, mk2, b0, b1;
	uint8_t blob[4096], bad[4096], aes[32], sblob[512];
	size_t len = 0, alen = 0, need = 0, slen = 0;
	struct secret_ctx c = { 0 }, c2 = { 0 };
	struct hsm_key_attr a, b;
	uint16_t ec, rsa, ak, id, id2, sk, cp;
	EVP_PKEY *pub;
	unsigned int bit, refused = 0, n;
	int st;

	tap_eq(hsm_masking_key_generate(&mk), HSM_VAULT_OK, "masking key generated");
	hsm_masking_key_generate(&mk2);
	tap_ok(memcmp(&mk, &mk2, sizeof(mk)) != 0, "two masking keys differ");

	gen(v, HSM_KEY_EC_P384, HSM_USAGE_SIGN | HSM_USAGE_DERIVE, 0, "ec-key", &ec);
	hsm_vault_get_attr(v, ec, &a);
	tap_ok(a.serial != 0, "a persistent key has a serial");
	tap_eq(hsm_vault_mask(v, ec, &mk, HSM_BLOB_PERSISTENT, NULL, 0, &need),
	       HSM_VAULT_BUFFER_SMALL, "mask size query");
	tap_eq(hsm_vault_mask(v, ec, &mk, HSM_BLOB_PERSISTENT, blob, need - 1, &len),
	       HSM_VAULT_BUFFER_SMALL, "mask into a short buffer refused");
	tap_eq(hsm_vault_mask(v, ec, &mk, HSM_BLOB_OFFICER, blob, sizeof(blob), &len),
	       HSM_VAULT_INVALID_ARG, "a persistent key masked as a session key's: refused");
	tap_eq(hsm_vault_mask(v, ec, &mk, HSM_BLOB_PERSISTENT, blob, sizeof(blob), &len),
	       HSM_VAULT_OK, "mask EC P-384");
	tap_ok(len == need && !memcmp(blob, "AZHSMMK1", 8) && blob[8] == 2 &&
	       blob[9] == HSM_KEY_EC_P384 && blob[12] == HSM_BLOB_PERSISTENT &&
	       (blob[13] | blob[14] << 8) == ec && blob[15] == (uint8_t)a.serial &&
	       blob[23] == 6 && !memcmp(blob + 24, "ec-key", 6),
	       "blob header: magic, version 2, type, owner kind, id, serial, label");
	tap_ok((len - 24 - 6 - 16 - 48) % 16 == 0, "ciphertext is whole AES blocks");
	tap_eq(hsm_vault_unmask(v, &mk, blob, len, HSM_BLOB_OFFICER, 0, &id), HSM_VAULT_KEY_EXISTS,
	       "unmask into the same vault as persistent: its key is there (KEY_EXISTS)");
	tap_eq(hsm_vault_unmask(v, &mk, blob, len, HSM_BLOB_USER, 9, &id), HSM_VAULT_WRONG_OWNER,
	       "issue 9: a persistent key's blob for a user session: WRONG_OWNER");
	tap_eq(hsm_vault_unmask(v, &mk, blob, len, HSM_BLOB_KERNEL, 9, &id),
	       HSM_VAULT_WRONG_OWNER, "  for the kernel session: WRONG_OWNER");
	tap_eq(hsm_vault_unmask(v, &mk, blob, len, HSM_BLOB_OFFICER, 9, &cp), HSM_VAULT_OK,
	       "an officer's session copy beside the live key: allowed (labels are per owner)");
	hsm_vault_get_attr(v, cp, &b);
	tap_ok(b.owner == 9 && b.serial == a.serial, "  the copy carries the key's serial");
	pub = public_of(v, ec);
	tap_ok(signs_as(v, cp, pub), "  and signs as the key");
	EVP_PKEY_free(pub);

	/* Restore into a vault that never had the key: id and serial kept. */
	tap_eq(hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_OFFICER, 9, &id), HSM_VAULT_NOT_FOUND,
	       "a session copy where the key is not: NOT_FOUND");
	tap_eq(hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_OFFICER, 0, &id), HSM_VAULT_OK,
	       "restored as persistent where its serial was never given");
	hsm_vault_get_attr(v2, id, &b);
	tap_ok(id == ec && b.type == a.type && b.usage == a.usage && b.label_len == 6 &&
	       !memcmp(b.label, "ec-key", 6) && b.owner == 0 && b.serial == a.serial &&
	       b.origin == (HSM_ORIGIN_GENERATED | HSM_ORIGIN_UNMASKED),
	       "  same id, type, usage, label, serial; origin generated+unmasked");
	pub = public_of(v, ec);
	tap_ok(signs_as(v2, id, pub), "  it signs, verifies with the original public key");
	EVP_PKEY_free(pub);

	/* issue 9: a deleted persistent key does not come back. */
	tap_eq(hsm_vault_delete(v, ec), HSM_VAULT_OK, "delete the EC key");
	tap_eq(hsm_vault_get_attr(v, cp, &b), HSM_VAULT_NOT_FOUND,
	       "issue 9: its session copy went with it");
	tap_eq(hsm_vault_unmask(v, &mk, blob, len, HSM_BLOB_OFFICER, 9, &id),
	       HSM_VAULT_KEY_DELETED, "issue 9: its blob as a session key: KEY_DELETED");
	tap_eq(hsm_vault_unmask(v, &mk, blob, len, HSM_BLOB_OFFICER, 0, &id),
	       HSM_VAULT_KEY_DELETED, "issue 9: as a persistent key: KEY_DELETED");

	gen(v, HSM_KEY_RSA2048, HSM_USAGE_SIGN, 0, NULL, &rsa);
	st = hsm_vault_mask(v, rsa, &mk, HSM_BLOB_PERSISTENT, blob, sizeof(blob), &len);
	tap_ok(!st && !hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_OFFICER, 0, &id),
	       "RSA-2048 mask/unmask");
	pub = public_of(v, rsa);
	tap_ok(signs_as(v2, id, pub), "unmasked RSA key signs, verifies with the original key");
	EVP_PKEY_free(pub);

	/* Session keys: back to the same role only, as session keys. */
	gen(v, HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN, 5, "mine", &sk);
	tap_eq(hsm_vault_mask(v, sk, &mk, HSM_BLOB_PERSISTENT, sblob, sizeof(sblob), &slen),
	       HSM_VAULT_INVALID_ARG, "a session key masked as persistent: refused");
	tap_eq(hsm_vault_mask(v, sk, &mk, HSM_BLOB_USER, sblob, sizeof(sblob), &slen), HSM_VAULT_OK,
	       "a user session key masked");
	tap_ok(sblob[12] == HSM_BLOB_USER && sblob[15] == 0, "  owner kind user, serial 0");
	tap_eq(hsm_vault_unmask(v2, &mk, sblob, slen, HSM_BLOB_OFFICER, 7, &id),
	       HSM_VAULT_WRONG_OWNER, "issue 9: a user's blob in an officer session: WRONG_OWNER");
	tap_eq(hsm_vault_unmask(v2, &mk, sblob, slen, HSM_BLOB_KERNEL, 7, &id),
	       HSM_VAULT_WRONG_OWNER, "  in the kernel session: WRONG_OWNER");
	tap_eq(hsm_vault_unmask(v2, &mk, sblob, slen, HSM_BLOB_USER, 0, &id),
	       HSM_VAULT_WRONG_OWNER, "  as a persistent key: WRONG_OWNER");
	tap_eq(hsm_vault_unmask(v2, &mk, sblob, slen, HSM_BLOB_USER, 7, &id), HSM_VAULT_OK,
	       "  in another user session: back as its session key");
	tap_ok(!hsm_vault_get_attr(v2, id, &b) && b.owner == 7 && b.serial == 0, "  owner 7");
	tap_eq(hsm_vault_unmask(v2, &mk, sblob, slen, HSM_BLOB_PERSISTENT, 7, &id),
	       HSM_VAULT_INVALID_ARG, "no caller is of kind persistent");

	/* Version 1 (unbound) and the epoch binding. */
	memcpy(bad, sblob, slen);
	bad[8] = 1;
	tap_eq(hsm_vault_unmask(v2, &mk, bad, slen, HSM_BLOB_USER, 7, &id), HSM_VAULT_BAD_BLOB,
	       "issue 9: a version-1 blob: BAD_BLOB");
	tap_ok(!hsm_masking_key_bind(&mk, 0, &b0) && !hsm_masking_key_bind(&mk, 1, &b1) &&
	       memcmp(&b0, &b1, sizeof(b0)) && memcmp(&b0, &mk, sizeof(b0)),
	       "bound keys of epochs 0 and 1 differ (and from the masking key)");
	hsm_vault_mask(v, sk, &b0, HSM_BLOB_USER, sblob, sizeof(sblob), &slen);
	tap_eq(hsm_vault_unmask(v2, &b1, sblob, slen, HSM_BLOB_USER, 7, &id), HSM_VAULT_BAD_BLOB,
	       "issue 9: a blob of epoch 0 under the epoch-1 key: BAD_BLOB");
	tap_eq(hsm_vault_unmask(v2, &b0, sblob, slen, HSM_BLOB_USER, 8, &id), HSM_VAULT_OK,
	       "  under the epoch-0 key: opens");

	/* AES key blob: round trip, then every bit flipped. */
	gen(v, HSM_KEY_AES256, HSM_USAGE_ENCRYPT, 0, "aes1", &ak);
	tap_eq(hsm_vault_mask(v, ak, &mk, HSM_BLOB_PERSISTENT, aes, sizeof(aes), &alen),
	       HSM_VAULT_BUFFER_SMALL, "AES blob does not fit 32 bytes");
	tap_eq(hsm_vault_mask(v, ak, &mk, HSM_BLOB_PERSISTENT, blob, sizeof(blob), &len),
	       HSM_VAULT_OK, "mask AES-256");
	tap_eq(len, 24 + 4 + 16 + 48 + 48, "AES-256 blob: 140 bytes");
	n = hsm_vault_count(v2);
	for (bit = 0; bit < len * 8; bit++) {
		memcpy(bad, blob, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		refused += hsm_vault_unmask(v2, &mk, bad, len, HSM_BLOB_OFFICER, 0, &id2) !=
			   HSM_VAULT_OK;
	}
	tap_eq(refused, len * 8, "all %zu single-bit flips refused", len * 8);
	for (refused = 0, alen = 0; alen < len; alen++)
		refused += hsm_vault_unmask(v2, &mk, blob, alen, HSM_BLOB_OFFICER, 0, &id2) !=
			   HSM_VAULT_OK;
	tap_eq(refused, len, "all %zu truncations refused", len);
	memcpy(bad, blob, len);
	bad[len] = 0;
	tap_eq(hsm_vault_unmask(v2, &mk, bad, len + 1, HSM_BLOB_OFFICER, 0, &id2),
	       HSM_VAULT_BAD_BLOB, "one extra byte refused");
	tap_eq(hsm_vault_unmask(v2, &mk2, blob, len, HSM_BLOB_OFFICER, 0, &id2),
	       HSM_VAULT_BAD_BLOB, "another masking key refused");
	tap_eq(hsm_vault_count(v2), n, "refused blobs left the vault unchanged");
	tap_eq(hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_OFFICER, 0, &id2), HSM_VAULT_OK,
	       "the intact AES blob unmasks");
	hsm_vault_with_key(v, ak, HSM_USAGE_ENCRYPT, secret_cb, &c);
	hsm_vault_with_key(v2, id2, HSM_USAGE_ENCRYPT, secret_cb, &c2);
	tap_ok(c.len == 32 && c2.len == 32 && !memcmp(c.secret, c2.secret, 32),
	       "unmasked AES secret equals the original");
	hsm_vault_get_attr(v, ak, &a);
	tap_ok(!gen(v2, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &id2) &&
	       !hsm_vault_get_attr(v2, id2, &b) && b.serial > a.serial,
	       "a new key's serial is above every restored one");
	OPENSSL_cleanse(&b0, sizeof(b0));
	OPENSSL_cleanse(&b1, sizeof(b1));
	hsm_vault_free(v);
	hsm_vault_free(v2);
}

/*
 * issue 9: one key, one purpose. An RSA key signs or decrypts or unwraps,
 * an HMAC key MACs or derives; a mix is refused at every door a new key
 * comes in by (generate, import, unmask), and the single-purpose keys
 * still work.
 */
static void test_one_purpose(void)
{
	static const struct {
		enum hsm_key_type type;
		uint32_t usage;
		bool ok;
	} cases[] = {
		{ HSM_KEY_RSA2048, HSM_USAGE_SIGN | HSM_USAGE_DECRYPT, false },
		{ HSM_KEY_RSA2048, HSM_USAGE_VERIFY | HSM_USAGE_DECRYPT, false },
		{ HSM_KEY_RSA3072, HSM_USAGE_SIGN | HSM_USAGE_UNWRAP, false },
		{ HSM_KEY_RSA2048, HSM_USAGE_VERIFY | HSM_USAGE_UNWRAP, false },
		{ HSM_KEY_RSA2048, HSM_USAGE_SIGN | HSM_USAGE_ENCRYPT, false },
		{ HSM_KEY_RSA2048, HSM_USAGE_DECRYPT | HSM_USAGE_UNWRAP, false },
		{ HSM_KEY_RSA2048, HSM_USAGE_ALL & ~HSM_USAGE_DERIVE, false },
		{ HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN | HSM_USAGE_DERIVE, false },
		{ HSM_KEY_HMAC_SHA384, HSM_USAGE_VERIFY | HSM_USAGE_DERIVE, false },
		{ HSM_KEY_HMAC_SHA512, HSM_USAGE_SIGN | HSM_USAGE_VERIFY | HSM_USAGE_DERIVE, false },
		{ HSM_KEY_RSA2048, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, true },
		{ HSM_KEY_RSA2048, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, true },
		{ HSM_KEY_RSA2048, HSM_USAGE_ENCRYPT | HSM_USAGE_UNWRAP, true },
		{ HSM_KEY_RSA2048, HSM_USAGE_UNWRAP, true },
		{ HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN | HSM_USAGE_VERIFY, true },
		{ HSM_KEY_HMAC_SHA256, HSM_USAGE_DERIVE, true },
		/* EC and AES keep their mixes */
		{ HSM_KEY_EC_P256, HSM_USAGE_SIGN | HSM_USAGE_DERIVE, true },
		{ HSM_KEY_AES256, HSM_USAGE_ENCRYPT | HSM_USAGE_UNWRAP, true },
	};
	struct hsm_vault *v = hsm_vault_new(0), *v2 = hsm_vault_new(0);
	struct hsm_masking_key mk;
	uint8_t secret[32], blob[4096], *img = NULL, *tag;
	unsigned int i, bad_gen = 0, bad_imp = 0, good = 0, n;
	unsigned int tag_len = 0;
	struct hsm_key_spec s;
	struct hsm_key_attr a;
	struct sign_ctx c = { 0 };
	EVP_PKEY *pk = NULL, *pub;
	size_t len = 0;
	uint16_t id, rsa, hm;

	memset(secret, 0x3c, sizeof(secret));
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool asym = hsm_key_type_asymmetric(cases[i].type);
		int g, im;

		tap_eq(hsm_key_usage_ok(cases[i].type, cases[i].usage), cases[i].ok,
		       "hsm_key_usage_ok(0x%02x, 0x%02x)", cases[i].type, cases[i].usage);
		if (cases[i].type == HSM_KEY_RSA3072 || cases[i].type == HSM_KEY_EC_P256)
			continue;	/* no slow key generation for the rest */
		s = spec(cases[i].type, cases[i].usage, 0, NULL);
		g = hsm_vault_generate(v, &s, &id);
		s.owner = 7;
		im = asym ? hsm_vault_import_pkey(v, &s, pk, &id) :
			    hsm_vault_import_secret(v, &s, secret, sizeof(secret), &id);
		if (cases[i].ok) {
			good += g == HSM_VAULT_OK && im == HSM_VAULT_OK;
		} else {
			bad_gen += g == HSM_VAULT_BAD_USAGE;
			bad_imp += im == HSM_VAULT_BAD_USAGE;
		}
	}
	tap_eq(bad_gen, 9, "issue 9: every RSA / HMAC usage mix refused at generate (BAD_USAGE)");
	tap_eq(bad_imp, 9, "issue 9: and at import (BAD_USAGE)");
	tap_eq(good, 7, "single-purpose RSA / HMAC keys (and AES) generated and imported");
	tap_eq(hsm_vault_count(v), 14, "the refusals stored nothing");

	/* An authentic blob of a mixed key (made before the rule): refused. */
	hsm_masking_key_generate(&mk);
	s = spec(HSM_KEY_RSA2048, HSM_USAGE_SIGN, 7, "old-rsa");
	hsm_vault_import_pkey(v, &s, pk, &rsa);
	tap_eq(hsm_vault_mask(v, rsa, &mk, HSM_BLOB_USER, blob, sizeof(blob), &len), HSM_VAULT_OK,
	       "mask a sign-only RSA session key of a user session");
	blob[10] = HSM_USAGE_SIGN | HSM_USAGE_DECRYPT;
	tag = HMAC(EVP_sha384(), mk.mac, sizeof(mk.mac), blob, len - 48, NULL, &tag_len);
	memcpy(blob + len - 48, tag, 48);
	n = hsm_vault_count(v2);
	tap_eq(hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_USER, 3, &id), HSM_VAULT_BAD_USAGE,
	       "issue 9: an authentic blob of a sign+decrypt RSA key: unmask refused");
	s = spec(HSM_KEY_HMAC_SHA256, HSM_USAGE_SIGN, 7, "old-mac");
	hsm_vault_import_secret(v, &s, secret, sizeof(secret), &hm);
	hsm_vault_mask(v, hm, &mk, HSM_BLOB_USER, blob, sizeof(blob), &len);
	blob[10] = HSM_USAGE_SIGN | HSM_USAGE_DERIVE;
	tag = HMAC(EVP_sha384(), mk.mac, sizeof(mk.mac), blob, len - 48, NULL, &tag_len);
	memcpy(blob + len - 48, tag, 48);
	tap_eq(hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_USER, 3, &id), HSM_VAULT_BAD_USAGE,
	       "issue 9: an authentic blob of a sign+derive HMAC key: unmask refused");
	tap_eq(hsm_vault_count(v2), n, "  nothing unmasked");
	blob[10] = HSM_USAGE_DERIVE;
	tag = HMAC(EVP_sha384(), mk.mac, sizeof(mk.mac), blob, len - 48, NULL, &tag_len);
	memcpy(blob + len - 48, tag, 48);
	tap_eq(hsm_vault_unmask(v2, &mk, blob, len, HSM_BLOB_USER, 3, &id), HSM_VAULT_OK,
	       "  the same blob with one purpose unmasks");

	/*
	 * A stored image keeps what it holds: a partition whose keys were
	 * made before the rule still loads (documented), mixed usage and all.
	 */
	hsm_vault_free(v2);
	v2 = hsm_vault_new(0);
	hsm_vault_delete_owner(v, 7);
	hsm_vault_free(v);
	v = hsm_vault_new(0);
	s = spec(HSM_KEY_RSA2048, HSM_USAGE_SIGN, 0, NULL);
	hsm_vault_import_pkey(v, &s, pk, &rsa);
	hsm_vault_serialize(v, &img, &len);
	tap_ok(img && len > 33 && img[12] == 1 && img[33] == HSM_USAGE_SIGN,
	       "an image of one sign-only RSA key");
	if (img && len > 33)
		img[33] = HSM_USAGE_SIGN | HSM_USAGE_DECRYPT;
	tap_eq(hsm_vault_deserialize(v2, img, len), HSM_VAULT_OK,
	       "an image holding a sign+decrypt RSA key (made before the rule) still loads");
	tap_ok(!hsm_vault_get_attr(v2, rsa, &a) &&
	       a.usage == (HSM_USAGE_SIGN | HSM_USAGE_DECRYPT), "  with its usage");
	pub = public_of(v, rsa);
	tap_ok(signs_as(v2, rsa, pub), "  and signs");
	tap_eq(hsm_vault_with_key(v2, rsa, HSM_USAGE_SIGN, sign_cb, &c), HSM_VAULT_OK,
	       "  (borrowed for sign)");
	EVP_PKEY_free(pub);
	hsm_vault_image_free(img, len);
	EVP_PKEY_free(pk);
	hsm_vault_free(v);
	hsm_vault_free(v2);
}

static void test_image(void)
{
	struct hsm_vault *v = hsm_vault_new(0), *v2 = hsm_vault_new(0), *v3;
	struct hsm_key_attr la[16], lb[16];
	struct secret_ctx c = { 0 }, c2 = { 0 };
	uint8_t *img = NULL, *bad;
	size_t len = 0, pos, recs[16], lpos[16], mpos[16];
	uint16_t ec, rsa, aes, sess[2], id;
	unsigned int n, n2, i, bit, refused, flips, nrec;
	EVP_PKEY *pub;
	bool same = true;

	gen(v, HSM_KEY_AES256, HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT, 0, "disk", &aes);
	gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, "signer", &ec);
	gen(v, HSM_KEY_HMAC_SHA384, HSM_USAGE_SIGN, 5, "session-mac", &sess[0]);
	gen(v, HSM_KEY_RSA2048, HSM_USAGE_SIGN, 0, NULL, &rsa);
	gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 6, NULL, &sess[1]);
	gen(v, HSM_KEY_AES256_XTS, HSM_USAGE_ENCRYPT, 0, NULL, &id);
	gen(v, HSM_KEY_HMAC_SHA512, HSM_USAGE_DERIVE, 0, "kdf", &id);
	tap_eq(hsm_vault_delete(v, 0), HSM_VAULT_NOT_FOUND, "id 0 never exists");

	tap_eq(hsm_vault_serialize(v, &img, &len), HSM_VAULT_OK, "serialize");
	tap_ok(img && len > 22 && !memcmp(img, "AZHSMVK1", 8) && img[8] == 2 && img[12] == 5 &&
	       img[13] == 0, "image header: magic, version 2, 5 persistent keys");
	tap_eq(hsm_vault_deserialize(v2, img, len), HSM_VAULT_OK, "deserialize into a fresh vault");
	n = hsm_vault_list(v, la, 16);
	n2 = hsm_vault_list(v2, lb, 16);
	for (i = 0, pos = 0; i < n; i++) {
		if (la[i].owner)
			continue;
		same &= pos < n2 && attr_eq(&la[i], &lb[pos]);
		pos++;
	}
	tap_ok(n == 7 && n2 == 5 && pos == 5 && same,
	       "same ids and attributes for the 5 persistent keys");
	tap_ok(hsm_vault_get_attr(v2, sess[0], la) == HSM_VAULT_NOT_FOUND &&
	       hsm_vault_get_attr(v2, sess[1], la) == HSM_VAULT_NOT_FOUND &&
	       hsm_vault_find_label(v2, "session-mac", 11, 5, &id) == HSM_VAULT_NOT_FOUND,
	       "session keys not serialized");
	pub = public_of(v, ec);
	tap_ok(signs_as(v2, ec, pub), "restored EC key signs, verifies with the original key");
	EVP_PKEY_free(pub);
	pub = public_of(v, rsa);
	tap_ok(signs_as(v2, rsa, pub), "restored RSA key signs, verifies with the original key");
	EVP_PKEY_free(pub);
	hsm_vault_with_key(v, aes, HSM_USAGE_DECRYPT, secret_cb, &c);
	hsm_vault_with_key(v2, aes, HSM_USAGE_DECRYPT, secret_cb, &c2);
	tap_ok(c.len == 32 && c2.len == 32 && !memcmp(c.secret, c2.secret, 32),
	       "restored AES secret equals the original");
	tap_eq(hsm_vault_deserialize(v2, img, len), HSM_VAULT_NOT_EMPTY,
	       "deserialize into a vault with keys refused");
	tap_ok(!import_aes(v2, 0, NULL, 1, &id) && id > sess[1],
	       "id cursor restored: new id %u after the session keys' ids", id);

	/* Walk the records ourselves to find the length fields. */
	for (pos = 22, nrec = 0; pos < len && nrec < 16; nrec++) {
		uint32_t m;

		recs[nrec] = pos;
		lpos[nrec] = pos + 13;
		mpos[nrec] = pos + 14 + img[pos + 13];
		m = img[mpos[nrec]] | img[mpos[nrec] + 1] << 8 | img[mpos[nrec] + 2] << 16 |
		    (uint32_t)img[mpos[nrec] + 3] << 24;
		pos = mpos[nrec] + 4 + m;
	}
	tap_ok(nrec == 5 && pos == len, "image walks as 5 records");

	v3 = hsm_vault_new(0);
	bad = malloc(len + 1);
	for (refused = 0, i = 0; i < len; i++)
		refused += hsm_vault_deserialize(v3, img, i) != HSM_VAULT_OK;
	tap_eq(refused, len, "all %zu truncations refused", len);
	memcpy(bad, img, len);
	bad[len] = 0;
	tap_eq(hsm_vault_deserialize(v3, bad, len + 1), HSM_VAULT_BAD_IMAGE,
	       "trailing byte refused");
	for (refused = 0, flips = 0, bit = 0; bit < 16; bit++, flips++) {
		memcpy(bad, img, len);
		bad[12 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		refused += hsm_vault_deserialize(v3, bad, len) != HSM_VAULT_OK;
	}
	for (i = 0; i < nrec; i++) {
		for (bit = 0; bit < 8; bit++, flips++) {
			memcpy(bad, img, len);
			bad[lpos[i]] ^= (uint8_t)(1u << bit);
			refused += hsm_vault_deserialize(v3, bad, len) != HSM_VAULT_OK;
		}
		for (bit = 0; bit < 32; bit++, flips++) {
			memcpy(bad, img, len);
			bad[mpos[i] + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			refused += hsm_vault_deserialize(v3, bad, len) != HSM_VAULT_OK;
		}
	}
	tap_eq(refused, flips, "all %u bit flips in count/label/material lengths refused", flips);
	memcpy(bad, img, len);
	bad[0] ^= 1;
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_IMAGE, "bad magic refused");
	memcpy(bad, img, len);
	bad[recs[1]] = img[recs[0]];
	bad[recs[1] + 1] = img[recs[0] + 1];
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_IMAGE, "duplicate id refused");
	memcpy(bad, img, len);
	bad[recs[0] + 10] = 0x99;
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_TYPE, "unknown type refused");
	memcpy(bad, img, len);
	bad[recs[0] + 11] = HSM_USAGE_SIGN;	/* record 0 is the AES key */
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_USAGE,
	       "usage invalid for the type refused");
	memcpy(bad, img, len);
	memset(bad + recs[0] + 2, 0, 8);
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_IMAGE, "serial 0 refused");
	memcpy(bad, img, len);
	memcpy(bad + recs[1] + 2, img + recs[0] + 2, 8);
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_IMAGE, "duplicate serial refused");
	memcpy(bad, img, len);
	memcpy(bad + 14, img + recs[nrec - 1] + 2, 8);
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_IMAGE,
	       "next serial not above every serial: refused");
	memcpy(bad, img, len);
	bad[recs[1] + 10] = HSM_KEY_EC_P384;	/* record 1 is the P-256 key */
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_MATERIAL,
	       "P-256 material under a P-384 type refused");
	memcpy(bad, img, len);
	bad[recs[0]] = 0;
	bad[recs[0] + 1] = 0;
	tap_eq(hsm_vault_deserialize(v3, bad, len), HSM_VAULT_BAD_IMAGE, "id 0 refused");
	tap_eq(hsm_vault_count(v3), 0, "refused images left the vault empty");
	tap_eq(hsm_vault_deserialize(v3, img, len), HSM_VAULT_OK, "the intact image still loads");
	tap_eq(hsm_vault_count(v3), 5, "with its 5 keys");
	free(bad);
	hsm_vault_image_free(img, len);

	tap_ok(!hsm_vault_serialize(v3, &img, &len) && len > 22 && img[12] == 5,
	       "the reloaded vault serializes its 5 keys again");

	/* A version-1 image (no serials) still loads: serials 1..5. */
	{
		uint8_t *v1 = malloc(len);
		size_t o = 14, p2 = 22;
		struct hsm_vault *v4 = hsm_vault_new(0);
		unsigned int k, good = 0;

		memcpy(v1, img, 14);
		v1[8] = 1;
		for (k = 0; k < 5; k++) {
			size_t rl = 14 + img[p2 + 13], ml;

			ml = img[p2 + rl] | img[p2 + rl + 1] << 8 | img[p2 + rl + 2] << 16 |
			     (size_t)img[p2 + rl + 3] << 24;
			memcpy(v1 + o, img + p2, 2);
			memcpy(v1 + o + 2, img + p2 + 10, rl - 10 + 4 + ml);
			o += 2 + rl - 10 + 4 + ml;
			p2 += rl + 4 + ml;
		}
		tap_eq(hsm_vault_deserialize(v4, v1, o), HSM_VAULT_OK,
		       "a version-1 image (no serials) loads");
		n = hsm_vault_list(v4, la, 16);
		for (k = 0; k < n; k++)
			good += la[k].serial == k + 1;
		tap_ok(n == 5 && good == 5, "  its keys get the serials 1..5 in id order");
		tap_ok(!gen(v4, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &id) &&
		       !hsm_vault_get_attr(v4, id, la) && la[0].serial == 6,
		       "  and the next persistent key serial 6");
		hsm_vault_free(v4);
		free(v1);
	}
	hsm_vault_image_free(img, len);
	hsm_vault_free(v3);
	hsm_vault_free(v);
	hsm_vault_free(v2);
}

static void *thread_fn(void *p)
{
	struct hsm_vault *v = p;
	uintptr_t ok = 0;
	uint16_t id;
	int i;

	for (i = 0; i < 100; i++)
		ok += !import_aes(v, 1, NULL, (uint8_t)i, &id);
	return (void *)ok;
}

static void test_threads(void)
{
	struct hsm_vault *v = hsm_vault_new(0);
	struct hsm_key_attr list[256];
	pthread_t t[2];
	void *r[2];
	unsigned int i, n, distinct = 1;

	pthread_create(&t[0], NULL, thread_fn, v);
	pthread_create(&t[1], NULL, thread_fn, v);
	pthread_join(t[0], &r[0]);
	pthread_join(t[1], &r[1]);
	n = hsm_vault_list(v, list, 256);
	for (i = 1; i < n; i++)
		distinct &= list[i].id != list[i - 1].id;
	tap_ok((uintptr_t)r[0] + (uintptr_t)r[1] == 200 && n == 200 && distinct,
	       "two threads import 100 keys each: 200 distinct ids");
	tap_eq(hsm_vault_delete_owner(v, 1), 200, "all dropped by owner");
	hsm_vault_free(v);
}

/* One thread creates and deletes keys, the other borrows them meanwhile. */
struct race {
	struct hsm_vault *v;
	uint16_t id;		/* __atomic: the key the borrower should try */
	int started, done;	/* __atomic */
	unsigned int borrowed, gone, torn;
};

static void race_cb(const struct hsm_key_ref *k, void *p)
{
	struct race *r = p;
	size_t i;

	r->borrowed++;
	for (i = 0; i < k->secret_len; i++)
		r->torn += k->secret[i] != k->secret[0] || !k->secret[i];
}

static void *race_borrower(void *p)
{
	struct race *r = p;

	__atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		uint16_t id = __atomic_load_n(&r->id, __ATOMIC_ACQUIRE);

		if (hsm_vault_with_key(r->v, id, HSM_USAGE_ENCRYPT, race_cb, r))
			r->gone++;
	}
	return NULL;
}

static void test_race(void)
{
	struct race r = { .v = hsm_vault_new(0) };
	unsigned int i, created = 0;
	pthread_t t;
	uint16_t id;

	pthread_create(&t, NULL, race_borrower, &r);
	/* On a loaded machine the thread may start late: the race needs it. */
	while (!__atomic_load_n(&r.started, __ATOMIC_ACQUIRE))
		sched_yield();
	for (i = 0; i < 20000; i++) {
		if (import_aes(r.v, 0, NULL, (uint8_t)(i % 255 + 1), &id))
			continue;
		created++;
		__atomic_store_n(&r.id, id, __ATOMIC_RELEASE);
		sched_yield();	/* give the borrower a chance at this key */
		hsm_vault_delete(r.v, id);
	}
	__atomic_store_n(&r.done, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	tap_eq(created, 20000, "20000 keys created and deleted under a concurrent borrower");
	tap_ok(r.borrowed + r.gone > 0 && r.torn == 0,
	       "borrower saw intact material every time (%u borrowed, %u already gone)",
	       r.borrowed, r.gone);
	tap_eq(hsm_vault_count(r.v), 0, "vault empty afterwards");
	hsm_vault_free(r.v);
}


/* ---- issue 9: session key quotas ----------------------------------- */

#define KERNEL_OWNER 100

static unsigned int quota_of(void *ctx, uint16_t owner)
{
	(void)ctx;
	return owner == KERNEL_OWNER ? HSM_VAULT_KERNEL_KEYS : HSM_VAULT_SESSION_KEYS;
}

static void test_quota(void)
{
	const struct hsm_vault_hooks hooks = {
		.owner_max = quota_of, .reserved = HSM_VAULT_RESERVED,
	};
	struct hsm_vault *v = hsm_vault_new(0);
	struct hsm_masking_key mk;
	uint8_t blob[256];
	size_t blen = 0;
	unsigned int i, ok;
	uint16_t id, first = 0, owner;

	tap_eq(hsm_vault_set_hooks(v, &(struct hsm_vault_hooks){ .reserved = 256 }),
	       HSM_VAULT_INVALID_ARG, "issue 9: a reserve of every slot is refused");
	tap_eq(hsm_vault_set_hooks(v, &hooks), HSM_VAULT_OK, "issue 9: quota hooks installed");
	hsm_masking_key_generate(&mk);
	/* The attack: one session tries to fill the vault. */
	for (i = 0, ok = 0; i < 256; i++) {
		if (import_aes(v, 1, NULL, (uint8_t)i, &id))
			break;
		if (!ok++)
			first = id;
	}
	tap_eq(ok, HSM_VAULT_SESSION_KEYS, "issue 9: a session holds at most %u keys",
	       HSM_VAULT_SESSION_KEYS);
	tap_eq(import_aes(v, 1, NULL, 1, &id), HSM_VAULT_QUOTA,
	       "issue 9: one more import is QUOTA");
	tap_eq(gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 1, NULL, &id), HSM_VAULT_QUOTA,
	       "issue 9: one more generate is QUOTA");
	hsm_vault_mask(v, first, &mk, HSM_BLOB_USER, blob, sizeof(blob), &blen);
	tap_eq(hsm_vault_unmask(v, &mk, blob, blen, HSM_BLOB_USER, 1, &id), HSM_VAULT_QUOTA,
	       "issue 9: one more unmask is QUOTA");
	tap_eq(hsm_vault_count_owner(v, 1), HSM_VAULT_SESSION_KEYS,
	       "issue 9: nothing was added by the refusals");
	/* Every session and the kernel session at their quotas. */
	for (owner = 2, ok = 0; owner <= 8; owner++)
		for (i = 0; i < HSM_VAULT_SESSION_KEYS; i++)
			ok += !import_aes(v, owner, NULL, (uint8_t)i, &id);
	for (i = 0; i < HSM_VAULT_KERNEL_KEYS + 1; i++)
		ok += !import_aes(v, KERNEL_OWNER, NULL, (uint8_t)i, &id);
	tap_eq(ok, 7 * HSM_VAULT_SESSION_KEYS + HSM_VAULT_KERNEL_KEYS,
	       "issue 9: the kernel session stops at %u keys", HSM_VAULT_KERNEL_KEYS);
	tap_eq(import_aes(v, 9, NULL, 1, &id), HSM_VAULT_QUOTA,
	       "issue 9: a session with no key may not take a reserved slot");
	tap_eq(hsm_vault_count(v), 256 - HSM_VAULT_RESERVED, "issue 9: %u slots still free",
	       HSM_VAULT_RESERVED);
	/* The legitimate use: the officer's persistent keys still fit. */
	for (i = 0, ok = 0; i < HSM_VAULT_RESERVED; i++)
		ok += !import_aes(v, 0, NULL, (uint8_t)i, &id);
	tap_eq(ok, HSM_VAULT_RESERVED, "issue 9: persistent keys take the reserved slots");
	tap_eq(import_aes(v, 0, NULL, 1, &id), HSM_VAULT_FULL, "then the vault is full");
	hsm_vault_delete(v, id);
	hsm_vault_delete_owner(v, 2);
	tap_eq(import_aes(v, 1, NULL, 1, &id), HSM_VAULT_QUOTA,
	       "issue 9: a session at its quota stays there when others free slots");
	tap_eq(import_aes(v, 3, NULL, 1, &id), HSM_VAULT_QUOTA,
	       "issue 9: a full session stays full");
	tap_eq(import_aes(v, 2, NULL, 1, &id), HSM_VAULT_OK,
	       "a session whose keys were dropped makes keys again");
	hsm_vault_free(v);
}

/* ---- issue 9: key generation from the vault's random source -------- */

struct fake_rng {
	uint8_t seed;		/* output: SHA-256(seed || counter) blocks */
	uint32_t counter;
	unsigned int calls;
	unsigned int fail_after;	/* fail from this call on (0: never) */
	const uint8_t *first;		/* optional: the first call's bytes */
	size_t first_len;
	bool stuck;			/* every byte 0xff */
	int fatal_calls, fatal_status;
};

static int fake_rng_fn(void *ctx, void *out, size_t len)
{
	struct fake_rng *r = ctx;
	uint8_t in[5], md[32];
	uint8_t *o = out;

	if (r->fail_after && r->calls >= r->fail_after)
		return -1;
	if (r->stuck) {
		r->calls++;
		memset(out, 0xff, len);
		return 0;
	}
	if (!r->calls++ && r->first && r->first_len == len) {
		memcpy(out, r->first, len);
		return 0;
	}
	while (len) {
		size_t n = len < sizeof(md) ? len : sizeof(md);

		in[0] = r->seed;
		memcpy(in + 1, &r->counter, 4);
		r->counter++;
		EVP_Digest(in, sizeof(in), md, NULL, EVP_sha256(), NULL);
		memcpy(o, md, n);
		o += n;
		len -= n;
	}
	return 0;
}

static void fake_fatal(void *ctx, int status)
{
	struct fake_rng *r = ctx;

	r->fatal_calls++;
	r->fatal_status = status;
}

static struct hsm_vault *rng_vault(struct fake_rng *r)
{
	const struct hsm_vault_hooks h = { .rng = fake_rng_fn, .fatal = fake_fatal, .ctx = r };
	struct hsm_vault *v = hsm_vault_new(0);

	hsm_vault_set_hooks(v, &h);
	return v;
}

/* DER public key of @id, malloc'd. */
static uint8_t *pub_der(struct hsm_vault *v, uint16_t id, size_t *len)
{
	uint8_t *p = malloc(1024);

	*len = 0;
	if (p && hsm_vault_export_public(v, id, p, 1024, len)) {
		free(p);
		return NULL;
	}
	return p;
}

struct priv_ctx {
	BIGNUM *d;
};

static void priv_cb(const struct hsm_key_ref *k, void *p)
{
	struct priv_ctx *c = p;

	EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &c->d);
}

/* Same rng stream, same key: the key comes from the source and nothing else. */
static bool same_pub(enum hsm_key_type type, uint32_t usage)
{
	struct fake_rng r1 = { .seed = 7 }, r2 = { .seed = 7 }, r3 = { .seed = 8 };
	struct hsm_vault *v1 = rng_vault(&r1), *v2 = rng_vault(&r2), *v3 = rng_vault(&r3);
	uint8_t *p1, *p2, *p3;
	size_t l1, l2, l3;
	uint16_t i1 = 0, i2 = 0, i3 = 0;
	EVP_PKEY *pub2;
	bool ok;

	gen(v1, type, usage, 0, NULL, &i1);
	gen(v2, type, usage, 0, NULL, &i2);
	gen(v3, type, usage, 0, NULL, &i3);
	p1 = pub_der(v1, i1, &l1);
	p2 = pub_der(v2, i2, &l2);
	p3 = pub_der(v3, i3, &l3);
	pub2 = public_of(v2, i2);
	ok = p1 && p2 && p3 && l1 == l2 && !memcmp(p1, p2, l1) &&
	     (l1 != l3 || memcmp(p1, p3, l1)) && r1.calls && pub2 && signs_as(v1, i1, pub2);
	EVP_PKEY_free(pub2);
	free(p1);
	free(p2);
	free(p3);
	hsm_vault_free(v1);
	hsm_vault_free(v2);
	hsm_vault_free(v3);
	return ok;
}

static void test_rng(void)
{
	static const uint8_t n_p256[32] = {	/* the order of P-256 */
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	struct fake_rng r = { .seed = 1 }, ref = { .seed = 1 };
	struct secret_ctx sc = { 0 };
	struct priv_ctx pc = { 0 };
	uint8_t want[64], first[32];
	struct hsm_vault *v = rng_vault(&r);
	BIGNUM *expect;
	uint16_t id = 0;

	/* AES / HMAC: the secret is the source's output. */
	fake_rng_fn(&ref, want, 32);
	tap_eq(gen(v, HSM_KEY_AES256, HSM_USAGE_ENCRYPT, 0, NULL, &id), HSM_VAULT_OK,
	       "issue 9: AES-256 generated from the vault's source");
	hsm_vault_with_key(v, id, HSM_USAGE_ENCRYPT, secret_cb, &sc);
	tap_ok(sc.len == 32 && !memcmp(sc.secret, want, 32),
	       "issue 9: the AES key is the random source's output");
	fake_rng_fn(&ref, want, 64);
	gen(v, HSM_KEY_HMAC_SHA512, HSM_USAGE_SIGN, 0, NULL, &id);
	memset(&sc, 0, sizeof(sc));
	hsm_vault_with_key(v, id, HSM_USAGE_SIGN, secret_cb, &sc);
	tap_ok(sc.len == 64 && !memcmp(sc.secret, want, 64),
	       "issue 9: the HMAC key is the random source's output");
	hsm_vault_free(v);

	/* EC, FIPS 186-5 A.2.2: c > n - 2 is drawn again, then d = c + 1. */
	memcpy(first, n_p256, 32);
	first[31] -= 1;		/* n - 1 > n - 2: rejected */
	r = (struct fake_rng){ .seed = 2, .first = first, .first_len = 32 };
	ref = (struct fake_rng){ .seed = 2 };	/* the stream after the rejected draw */
	v = rng_vault(&r);
	tap_eq(gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, NULL, &id), HSM_VAULT_OK,
	       "issue 9: P-256 generated from the vault's source");
	tap_eq(r.calls, 2, "issue 9: a candidate above n - 2 is drawn again");
	hsm_vault_with_key(v, id, HSM_USAGE_SIGN, priv_cb, &pc);
	fake_rng_fn(&ref, want, 32);
	expect = BN_bin2bn(want, 32, NULL);
	BN_add_word(expect, 1);
	tap_ok(pc.d && !BN_cmp(pc.d, expect), "issue 9: the private scalar is c + 1");
	BN_free(expect);
	BN_clear_free(pc.d);
	hsm_vault_free(v);

	tap_ok(same_pub(HSM_KEY_EC_P384, HSM_USAGE_SIGN),
	       "issue 9: P-384: same source, same key pair; another source, another one");
	tap_ok(same_pub(HSM_KEY_EC_P521, HSM_USAGE_SIGN),
	       "issue 9: P-521: same source, same key pair; another source, another one");
	tap_ok(same_pub(HSM_KEY_RSA2048, HSM_USAGE_SIGN),
	       "issue 9: RSA-2048: same source, same key pair; another source, another one");

	/* A failing source: RNG, the fatal hook told, nothing stored. */
	r = (struct fake_rng){ .seed = 3, .fail_after = 1 };
	v = rng_vault(&r);
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &id), HSM_VAULT_OK,
	       "first AES key made");
	tap_eq(gen(v, HSM_KEY_AES128, HSM_USAGE_ENCRYPT, 0, NULL, &id), HSM_VAULT_RNG,
	       "issue 9: AES with a failing source: RNG");
	tap_eq(gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, NULL, &id), HSM_VAULT_RNG,
	       "issue 9: EC with a failing source: RNG");
	tap_eq(gen(v, HSM_KEY_RSA2048, HSM_USAGE_SIGN, 0, NULL, &id), HSM_VAULT_RNG,
	       "issue 9: RSA with a failing source: RNG");
	tap_ok(r.fatal_calls == 3 && r.fatal_status == HSM_VAULT_RNG,
	       "issue 9: each failure reported to the fatal hook");
	tap_eq(hsm_vault_count(v), 1, "issue 9: no key stored by a failed generation");
	tap_ok(strstr(hsm_vault_strerror(HSM_VAULT_RNG), "random") &&
	       strstr(hsm_vault_strerror(HSM_VAULT_QUOTA), "quota"), "strerror of QUOTA, RNG");
	hsm_vault_free(v);

	/* A source stuck on all-ones never yields a P-256 scalar: RNG, not a hang. */
	r = (struct fake_rng){ .stuck = true };
	v = rng_vault(&r);
	tap_eq(gen(v, HSM_KEY_EC_P256, HSM_USAGE_SIGN, 0, NULL, &id), HSM_VAULT_RNG,
	       "issue 9: a stuck source: EC generation gives up with RNG");
	tap_ok(r.fatal_calls == 1 && r.calls == 64, "issue 9: after 64 draws, reported as fatal");
	hsm_vault_free(v);
}

int main(void)
{
	test_generate_all();
	test_usage();
	test_labels();
	test_capacity();
	test_ids();
	test_delete();
	test_delete_pending();
	test_import();
	test_mask();
	test_one_purpose();
	test_image();
	test_threads();
	test_race();
	test_quota();
	test_rng();
	return tap_done();
}
