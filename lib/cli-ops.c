// SPDX-License-Identifier: MIT
/*
 * azihsm CLI: operations with keys in the device. Each command logs in,
 * acts and logs out (cli-sess.c); the key is --label L, --id N or
 * --masked FILE; data from --in FILE or stdin, results to --out FILE or
 * stdout; --json prints the result (binary as hex) with the device's
 * FIPS-approved flag.
 *
 *   azihsm sign     --alg ALG [--in F] [--out F] [--json]
 *   azihsm verify   --alg ALG --sig F [--in F] [--json]
 *   azihsm encrypt  --mode ecb|cbc|ctr|xts|gcm [--iv HEX] [--aad STR] ...
 *                   (gcm: no --iv; the output is the device's IV || ct || tag)
 *   azihsm decrypt  --mode ... | --alg rsa-oaep-sha256|384|512 [--oaep-label STR] ...
 *   azihsm hmac     [--in F] [--out F] [--json]
 *   azihsm ecdh     --peer F --type hmac-* --usage U [--new-label L] [--persistent]
 *   azihsm derive   --kdf hkdf|kbkdf --hash H --type T --usage U [--salt S] [--info I]
 *                   [--length N] [--new-label L] [--persistent]
 *   azihsm key unwrap --in F --type T --usage U [--label L] [--persistent] ...
 *   azihsm key export-masked [--out F]
 *   azihsm key unmask --in F
 *   azihsm unwrapping-key [--der] [--out F] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli-sess.h"

#define DATA_MAX	(16u << 20)	/* encrypt / decrypt input (ECB, CBC, CTR: chunked) */
#define CHUNK		4096		/* bytes per AES command */
#define ONE_CALL_MAX	7168		/* one command: GCM, XTS, HMAC, RSA */

/* Signature algorithms: --alg of sign and verify. */
static const struct sig_alg {
	const char *name;
	bool rsa;
	enum azihsm_rsa_padding pad;
	enum azihsm_hash_alg hash;
	const char *md;
} sig_algs[] = {
	{ "ecdsa-sha256", false, 0, AZIHSM_HASH_ALG_SHA256, "SHA256" },
	{ "ecdsa-sha384", false, 0, AZIHSM_HASH_ALG_SHA384, "SHA384" },
	{ "ecdsa-sha512", false, 0, AZIHSM_HASH_ALG_SHA512, "SHA512" },
	{ "rsa-pkcs1-sha256", true, AZIHSM_RSA_PADDING_PKCS1, AZIHSM_HASH_ALG_SHA256, "SHA256" },
	{ "rsa-pkcs1-sha384", true, AZIHSM_RSA_PADDING_PKCS1, AZIHSM_HASH_ALG_SHA384, "SHA384" },
	{ "rsa-pkcs1-sha512", true, AZIHSM_RSA_PADDING_PKCS1, AZIHSM_HASH_ALG_SHA512, "SHA512" },
	{ "rsa-pss-sha256", true, AZIHSM_RSA_PADDING_PSS, AZIHSM_HASH_ALG_SHA256, "SHA256" },
	{ "rsa-pss-sha384", true, AZIHSM_RSA_PADDING_PSS, AZIHSM_HASH_ALG_SHA384, "SHA384" },
	{ "rsa-pss-sha512", true, AZIHSM_RSA_PADDING_PSS, AZIHSM_HASH_ALG_SHA512, "SHA512" },
};

#define SIG_ALGS "ecdsa-sha256|384|512, rsa-pkcs1-sha256|384|512, rsa-pss-sha256|384|512"

static const struct sig_alg *find_sig_alg(const struct cli *cli, const char *name)
{
	size_t i;

	if (!name) {
		usage_err(cli, "--alg is required: " SIG_ALGS, NULL);
		return NULL;
	}
	for (i = 0; i < ARRAY_LEN(sig_algs); i++)
		if (!strcmp(name, sig_algs[i].name))
			return &sig_algs[i];
	usage_err(cli, "unknown --alg (" SIG_ALGS "):", name);
	return NULL;
}

/* "sha256" -> hash; 0 if unknown. */
static enum azihsm_hash_alg parse_hash(const char *s)
{
	if (!strcmp(s, "sha256"))
		return AZIHSM_HASH_ALG_SHA256;
	if (!strcmp(s, "sha384"))
		return AZIHSM_HASH_ALG_SHA384;
	if (!strcmp(s, "sha512"))
		return AZIHSM_HASH_ALG_SHA512;
	return 0;
}

static const char *yes(bool b)
{
	return b ? "true" : "false";
}

/* --- sign, verify ---------------------------------------------------------- */

static int cmd_sign(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "alg", required_argument, NULL, OPT_ALG },
		{ "in", required_argument, NULL, OPT_IN },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },);
	uint8_t digest[EVP_MAX_MD_SIZE], sig[512];
	const struct sig_alg *a;
	unsigned int dlen = 0;
	size_t sig_len = 0;
	bool fips = false;
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	a = find_sig_alg(cli, o.alg);
	if (!a)
		return 2;
	/* Hash first: a bad input file costs no login. */
	if (hash_input(cli, o.in, EVP_get_digestbyname(a->md), digest, &dlen))
		return 1;
	if (sess_begin(cli, &o, &x, &id))
		return 1;
	if (a->rsa)
		ret = azihsm_rsa_sign(x.sess, id, a->hash, a->pad, digest, dlen, sig, sizeof(sig),
				      &sig_len, &fips);
	else
		ret = azihsm_ecdsa_sign(x.sess, id, a->hash, digest, dlen, sig, sizeof(sig),
					&sig_len, &fips);
	ret = sess_end(cli, &x, ret, "sign");
	if (ret)
		return ret;
	if (!o.json)
		return write_all(cli, o.out, sig, sig_len);
	if (o.out && write_all(cli, o.out, sig, sig_len))
		return 1;
	printf("{\n  \"key_id\": %u,\n  \"alg\": \"%s\",\n  \"signature\": ", id, a->name);
	json_hex(stdout, sig, sig_len);
	printf(",\n  \"fips_approved\": %s\n}\n", yes(fips));
	return 0;
}

static int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "alg", required_argument, NULL, OPT_ALG },
		{ "sig", required_argument, NULL, OPT_SIG },
		{ "in", required_argument, NULL, OPT_IN },
		{ "json", no_argument, NULL, OPT_JSON },);
	uint8_t digest[EVP_MAX_MD_SIZE], *sig = NULL;
	const struct sig_alg *a;
	unsigned int dlen = 0;
	size_t sig_len = 0;
	bool fips = false, valid = false;
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	a = find_sig_alg(cli, o.alg);
	if (!a)
		return 2;
	if (!o.sig)
		return usage_err(cli, "--sig FILE (the signature) is required", NULL);
	if (read_all(cli, o.sig, 1024, &sig, &sig_len))
		return 1;
	if (hash_input(cli, o.in, EVP_get_digestbyname(a->md), digest, &dlen) ||
	    sess_begin(cli, &o, &x, &id)) {
		free(sig);
		return 1;
	}
	if (!sig_len) {
		ret = 0;	/* an empty signature verifies nothing */
	} else {
		ret = azihsm_verify(x.sess, id, a->hash, a->rsa ? a->pad : 0, digest, dlen, sig,
				    sig_len, &valid, &fips);
		if (ret)
			ret = cli_fail(cli, "verify", ret);
	}
	free(sig);
	ret = ctx_close(cli, &x, ret);
	if (ret)
		return ret;
	if (o.json)
		printf("{\n  \"key_id\": %u,\n  \"alg\": \"%s\",\n  \"valid\": %s,\n"
		       "  \"fips_approved\": %s\n}\n", id, a->name, yes(valid), yes(fips));
	else
		printf("%s\n", valid ? "Verified OK" : "Verification failure");
	return valid ? 0 : 1;
}

/* --- encrypt, decrypt --------------------------------------------------------- */

static int hex_decode(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static const struct { const char *name; enum azihsm_aes_mode mode; size_t iv; } aes_modes[] = {
	{ "ecb", AZIHSM_AES_MODE_ECB, 0 },	{ "cbc", AZIHSM_AES_MODE_CBC, 16 },
	{ "ctr", AZIHSM_AES_MODE_CTR, 16 },	{ "xts", AZIHSM_AES_MODE_XTS, 16 },
	{ "gcm", AZIHSM_AES_MODE_GCM, 12 },
};

#define GCM_TAG	16
#define GCM_IV	12

/* AES over all of @in: chunked for ECB / CBC / CTR, one call for XTS / GCM. */
static int aes_run(struct cli *cli, struct ctx *x, uint16_t id, struct azihsm_aes_params *p,
		   const uint8_t *in, size_t len, uint8_t *out, bool *fips)
{
	uint8_t iv[16], *gcm_iv = p->iv_out;	/* GCM encrypt: the device's IV */
	size_t off = 0, n, got;
	bool one = p->mode == AZIHSM_AES_MODE_GCM || p->mode == AZIHSM_AES_MODE_XTS;
	bool f = true;
	int ret;

	if (one && len > ONE_CALL_MAX) {
		fprintf(stderr, "%s: %s: at most %u bytes in one %s operation\n", cli->prog,
			cli->cmd, ONE_CALL_MAX, p->mode == AZIHSM_AES_MODE_GCM ? "GCM" : "XTS");
		return 1;
	}
	if (p->iv_len)
		memcpy(iv, p->iv, p->iv_len);
	do {
		n = one || len - off <= CHUNK ? len - off : CHUNK;
		p->iv = p->iv_len ? iv : NULL;
		p->iv_out = p->mode == AZIHSM_AES_MODE_GCM ? gcm_iv : iv;
		ret = azihsm_aes_crypt(x->sess, id, p, in + off, n, out + off, n, &got, fips);
		if (ret)
			return cli_fail(cli, cli->cmd, ret);
		f &= *fips;
		off += n;
	} while (off < len);
	*fips = f;
	return 0;
}

static int cmd_crypt(struct cli *cli, int argc, char **argv, bool decrypt)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "alg", required_argument, NULL, OPT_ALG },
		{ "iv", required_argument, NULL, OPT_IV },
		{ "aad", required_argument, NULL, OPT_AAD },
		{ "oaep-label", required_argument, NULL, OPT_OAEP_LABEL },
		{ "in", required_argument, NULL, OPT_IN },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },);
	struct azihsm_aes_params p = { .decrypt = decrypt };
	enum azihsm_hash_alg oaep = 0;
	uint8_t iv[16], tag[GCM_TAG], *in = NULL, *out = NULL;
	const uint8_t *text;
	size_t i, iv_len = 0, len = 0, out_len = 0, skip = 0, pre = 0;
	bool fips = false, gcm_enc = false, gcm_iv_in = false;
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (!!o.mode == !!o.alg)
		return usage_err(cli, decrypt ? "give --mode ecb|cbc|ctr|xts|gcm or --alg "
					       "rsa-oaep-sha256|384|512" :
					       "--mode ecb|cbc|ctr|xts|gcm is required", NULL);
	if (o.alg) {
		if (!decrypt || strncmp(o.alg, "rsa-oaep-", 9) || !(oaep = parse_hash(o.alg + 9)))
			return usage_err(cli, "unknown --alg", o.alg);
		if (o.iv || o.aad)
			return usage_err(cli, "--iv and --aad are for --mode", NULL);
	} else {
		for (i = 0; i < ARRAY_LEN(aes_modes) && strcmp(o.mode, aes_modes[i].name); i++)
			;
		if (i == ARRAY_LEN(aes_modes))
			return usage_err(cli, "unknown --mode", o.mode);
		p.mode = aes_modes[i].mode;
		/*
		 * GCM encryption IVs are drawn in the device (issue 9): the
		 * output is IV || ciphertext || tag, and decryption takes the
		 * IV from the input unless --iv gives it.
		 */
		gcm_enc = p.mode == AZIHSM_AES_MODE_GCM && !decrypt;
		gcm_iv_in = p.mode == AZIHSM_AES_MODE_GCM && decrypt && !o.iv;
		if (gcm_enc && o.iv)
			return usage_err(cli, "--mode gcm encryption takes no --iv: the device "
					 "draws the IV (written before the ciphertext)", NULL);
		if (aes_modes[i].iv && !gcm_enc && !gcm_iv_in &&
		    (!o.iv || hex_decode(o.iv, iv, sizeof(iv), &iv_len) ||
		     iv_len != aes_modes[i].iv)) {
			fprintf(stderr, "%s %s: --mode %s needs --iv of %zu bytes in hex\n",
				cli->prog, cli->cmd, o.mode, aes_modes[i].iv);
			return 2;
		}
		if (!aes_modes[i].iv && o.iv)
			return usage_err(cli, "--mode ecb takes no --iv", NULL);
		if (o.aad && p.mode != AZIHSM_AES_MODE_GCM)
			return usage_err(cli, "--aad is for --mode gcm", NULL);
		if (o.oaep_label)
			return usage_err(cli, "--oaep-label is for --alg rsa-oaep-*", NULL);
		p.iv = gcm_enc ? NULL : iv;
		p.iv_len = iv_len;
		p.iv_out = gcm_enc ? iv : NULL;
		pre = gcm_enc ? GCM_IV : 0;
	}
	if (read_all(cli, o.in, o.alg ? 512 : DATA_MAX, &in, &len))
		return 1;
	out = malloc(len + GCM_IV + GCM_TAG + 1);
	if (!out) {
		OPENSSL_clear_free(in, len);
		return cli_fail(cli, cli->cmd, -ENOMEM);
	}
	text = in;
	if (p.mode == AZIHSM_AES_MODE_GCM) {
		p.aad = (const uint8_t *)o.aad;
		p.aad_len = o.aad ? strlen(o.aad) : 0;
		p.tag = tag;
		p.tag_len = GCM_TAG;
		if (decrypt) {	/* input: [IV ||] ciphertext || tag */
			skip = gcm_iv_in ? GCM_IV : 0;
			if (len < skip + GCM_TAG) {
				fprintf(stderr, "%s: %s: GCM input shorter than its %s%d-byte tag\n",
					cli->prog, cli->cmd, skip ? "12-byte IV and " : "", GCM_TAG);
				ret = 1;
				goto free;
			}
			if (skip) {
				memcpy(iv, in, GCM_IV);
				p.iv = iv;
				p.iv_len = GCM_IV;
			}
			text = in + skip;
			len -= skip + GCM_TAG;
			memcpy(tag, text + len, GCM_TAG);
		}
	}
	if (sess_begin(cli, &o, &x, &id)) {
		ret = 1;
		goto free;
	}
	if (o.alg) {
		ret = azihsm_rsa_decrypt(x.sess, id, oaep, o.oaep_label,
					 o.oaep_label ? strlen(o.oaep_label) : 0, in, len, out,
					 len + 1, &out_len, &fips);
		if (ret)
			ret = cli_fail(cli, cli->cmd, ret);
	} else {
		ret = aes_run(cli, &x, id, &p, text, len, out + pre, &fips);
		out_len = len;
		if (!ret && gcm_enc) {
			/* output: IV || ciphertext || tag */
			memcpy(out, iv, GCM_IV);
			memcpy(out + pre + len, tag, GCM_TAG);
			out_len += pre + GCM_TAG;
		}
	}
	ret = ctx_close(cli, &x, ret);
	if (ret)
		goto free;
	if (o.json) {
		if (o.out && write_all(cli, o.out, out, out_len)) {
			ret = 1;
			goto free;
		}
		printf("{\n  \"key_id\": %u,\n  \"%s\": \"%s\",\n  \"bytes\": %zu,\n"
		       "  \"fips_approved\": %s", id, o.alg ? "alg" : "mode",
		       o.alg ? o.alg : o.mode, out_len, yes(fips));
		if (!o.out) {
			printf(",\n  \"data\": ");
			json_hex(stdout, out, out_len);
		}
		printf("\n}\n");
	} else {
		ret = write_all(cli, o.out, out, out_len);
	}
free:
	OPENSSL_clear_free(in, len + (p.mode == AZIHSM_AES_MODE_GCM && decrypt ? skip + GCM_TAG : 0));
	OPENSSL_clear_free(out, len + GCM_IV + GCM_TAG + 1);
	return ret;
}

static int cmd_encrypt(struct cli *cli, int argc, char **argv)
{
	return cmd_crypt(cli, argc, argv, false);
}

static int cmd_decrypt(struct cli *cli, int argc, char **argv)
{
	return cmd_crypt(cli, argc, argv, true);
}

/* --- hmac ------------------------------------------------------------------ */

static int cmd_hmac(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "in", required_argument, NULL, OPT_IN },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },);
	uint8_t *in = NULL, mac[64];
	size_t len = 0, mac_len = 0;
	bool fips = false;
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (read_all(cli, o.in, ONE_CALL_MAX, &in, &len))
		return 1;
	if (sess_begin(cli, &o, &x, &id)) {
		free(in);
		return 1;
	}
	ret = azihsm_hmac(x.sess, id, in, len, mac, sizeof(mac), &mac_len, &fips);
	free(in);
	ret = sess_end(cli, &x, ret, "hmac");
	if (ret)
		return ret;
	if (!o.json)
		return write_all(cli, o.out, mac, mac_len);
	if (o.out && write_all(cli, o.out, mac, mac_len))
		return 1;
	printf("{\n  \"key_id\": %u,\n  \"mac\": ", id);
	json_hex(stdout, mac, mac_len);
	printf(",\n  \"fips_approved\": %s\n}\n", yes(fips));
	return 0;
}

/* --- new keys: ecdh, derive, key unwrap ------------------------------------ */

/* --type, --usage, the label (@label), --persistent into @nk: 0 or an exit code. */
static int new_key_opts(const struct cli *cli, const struct opts *o, const char *label,
			struct azihsm_new_key *nk)
{
	memset(nk, 0, sizeof(*nk));
	if (!o->type || !(nk->type = parse_type(o->type)))
		return usage_err(cli, "--type of the new key is required, not", o->type);
	if (!o->usage || parse_usage(o->usage, &nk->usage))
		return usage_err(cli, "--usage of the new key (sign,verify,encrypt,decrypt,unwrap,"
				 "derive) is required, not", o->usage);
	if (label) {
		nk->label = label;
		nk->label_len = strlen(label);
		if (!nk->label_len || nk->label_len > AZIHSM_LABEL_MAX)
			return usage_err(cli, "the new key's label must be 1..128 bytes", NULL);
	}
	nk->persistent = o->persistent;
	return 0;
}

/* Print the new key; warn that a session key is gone already. */
static int new_key_done(const struct cli *cli, const struct opts *o,
			const struct azihsm_new_key *nk, uint16_t id, bool fips)
{
	if (o->json) {
		printf("{\n  \"id\": %u,\n  \"type\": \"%s\",\n  \"persistent\": %s,\n"
		       "  \"label\": ", id, type_name((uint8_t)nk->type), yes(nk->persistent));
		if (nk->label_len)
			cli_json_bytes(stdout, nk->label, nk->label_len);
		else
			printf("null");
		printf(",\n  \"fips_approved\": %s\n}\n", yes(fips));
	} else {
		printf("key %u created: %s%s\n", id, type_name((uint8_t)nk->type),
		       nk->persistent ? ", persistent" : ", session key");
	}
	if (!nk->persistent)
		fprintf(stderr, "%s: note: without --persistent the key is a session key and "
			"was deleted when this command logged out\n", cli->prog);
	return 0;
}

/* A peer public key: PEM or DER SubjectPublicKeyInfo, as DER. */
static int read_peer(const struct cli *cli, const char *path, uint8_t **der, size_t *len)
{
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	uint8_t *buf, *q = NULL;
	size_t n;
	BIO *bio;
	int dl;

	if (read_all(cli, path, 16384, &buf, &n))
		return 1;
	p = buf;
	pk = d2i_PUBKEY(NULL, &p, (long)n);
	if (!pk && (bio = BIO_new_mem_buf(buf, (int)n))) {
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	free(buf);
	dl = pk ? i2d_PUBKEY(pk, &q) : -1;
	EVP_PKEY_free(pk);
	if (dl <= 0) {
		fprintf(stderr, "%s: %s is not a public key (PEM or DER SubjectPublicKeyInfo)\n",
			cli->prog, path);
		return 1;
	}
	*der = q;
	*len = (size_t)dl;
	return 0;
}

static int cmd_ecdh(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "usage", required_argument, NULL, OPT_USAGE },
		{ "new-label", required_argument, NULL, OPT_NEW_LABEL },
		{ "persistent", no_argument, NULL, OPT_PERSISTENT },
		{ "json", no_argument, NULL, OPT_JSON },);
	struct azihsm_new_key nk;
	uint8_t *peer = NULL;
	size_t peer_len = 0;
	uint16_t id, new_id = 0;
	bool fips = false;
	struct opts o;
	struct ctx x;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (!ret)
		ret = new_key_opts(cli, &o, o.new_label, &nk);
	if (!ret && !o.peer)
		ret = usage_err(cli, "--peer FILE (the other side's public key) is required", NULL);
	if (ret)
		return ret;
	if (read_peer(cli, o.peer, &peer, &peer_len))
		return 1;
	if (sess_begin(cli, &o, &x, &id)) {
		OPENSSL_free(peer);
		return 1;
	}
	ret = azihsm_ecdh(x.sess, id, peer, peer_len, &nk, &new_id, &fips);
	OPENSSL_free(peer);
	ret = sess_end(cli, &x, ret, "ecdh");
	return ret ? ret : new_key_done(cli, &o, &nk, new_id, fips);
}

static int cmd_derive(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "kdf", required_argument, NULL, OPT_KDF },
		{ "hash", required_argument, NULL, OPT_HASH },
		{ "salt", required_argument, NULL, OPT_SALT },
		{ "info", required_argument, NULL, OPT_INFO },
		{ "length", required_argument, NULL, OPT_LENGTH },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "usage", required_argument, NULL, OPT_USAGE },
		{ "new-label", required_argument, NULL, OPT_NEW_LABEL },
		{ "persistent", no_argument, NULL, OPT_PERSISTENT },
		{ "json", no_argument, NULL, OPT_JSON },);
	struct azihsm_new_key nk;
	enum azihsm_hash_alg hash;
	uint16_t id, new_id = 0, length = 0;
	size_t sl, il;
	bool fips = false, kb;
	struct opts o;
	struct ctx x;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (!ret)
		ret = new_key_opts(cli, &o, o.new_label, &nk);
	if (ret)
		return ret;
	if (!o.kdf || (strcmp(o.kdf, "hkdf") && strcmp(o.kdf, "kbkdf")))
		return usage_err(cli, "--kdf hkdf or --kdf kbkdf is required, not", o.kdf);
	kb = !strcmp(o.kdf, "kbkdf");
	if (!o.hash || !(hash = parse_hash(o.hash)))
		return usage_err(cli, "--hash sha256|sha384|sha512 is required, not", o.hash);
	if (o.length && (parse_u16(o.length, &length) || !length))
		return usage_err(cli, "--length takes a byte count, not", o.length);
	sl = o.salt ? strlen(o.salt) : 0;
	il = o.info ? strlen(o.info) : 0;
	if (sess_begin(cli, &o, &x, &id))
		return 1;
	if (kb)
		ret = azihsm_kbkdf(x.sess, id, hash, o.salt, sl, o.info, il, &nk, length, &new_id,
				   &fips);
	else
		ret = azihsm_hkdf(x.sess, id, hash, o.salt, sl, o.info, il, &nk, length, &new_id,
				  &fips);
	ret = sess_end(cli, &x, ret, "derive");
	return ret ? ret : new_key_done(cli, &o, &nk, new_id, fips);
}

static int cmd_key_unwrap(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "in", required_argument, NULL, OPT_IN },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "usage", required_argument, NULL, OPT_USAGE },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "persistent", no_argument, NULL, OPT_PERSISTENT },
		{ "hash", required_argument, NULL, OPT_HASH },
		{ "oaep-label", required_argument, NULL, OPT_OAEP_LABEL },
		{ "unwrap-key", required_argument, NULL, OPT_UNWRAP_KEY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	enum azihsm_hash_alg hash = AZIHSM_HASH_ALG_SHA256;
	struct azihsm_new_key nk;
	uint8_t *blob = NULL, der[1024];
	size_t len = 0, der_len;
	uint16_t uk = 0, new_id = 0;
	bool fips = false;
	struct opts o;
	struct ctx x;
	int ret;

	ret = parse_opts(cli, argc, argv, lopts, false, &o);
	if (!ret)
		ret = new_key_opts(cli, &o, o.label, &nk);
	if (ret)
		return ret;
	if (o.hash && !(hash = parse_hash(o.hash)))
		return usage_err(cli, "--hash takes sha256, sha384 or sha512, not", o.hash);
	if (o.unwrap_key && (parse_u16(o.unwrap_key, &uk) || !uk))
		return usage_err(cli, "--unwrap-key takes a key id, not", o.unwrap_key);
	if (read_all(cli, o.in, CLI_BLOB_MAX, &blob, &len))
		return 1;
	if (sess_begin(cli, &o, &x, NULL)) {
		free(blob);
		return 1;
	}
	ret = uk ? 0 : azihsm_unwrapping_key(x.sess, &uk, der, sizeof(der), &der_len);
	if (ret)
		ret = cli_fail(cli, "unwrapping key", ret);
	if (!ret) {
		ret = azihsm_rsa_unwrap(x.sess, uk, hash, o.oaep_label,
					o.oaep_label ? strlen(o.oaep_label) : 0, blob, len, &nk,
					&new_id, &fips);
		if (ret)
			ret = cli_fail(cli, "key unwrap", ret);
	}
	free(blob);
	ret = ctx_close(cli, &x, ret);
	return ret ? ret : new_key_done(cli, &o, &nk, new_id, fips);
}

/* --- masked blobs, the unwrapping key ---------------------------------------- */

static int cmd_key_export_masked(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = KEY_CMD_OPTS(
		{ "out", required_argument, NULL, OPT_OUT },);
	uint8_t blob[CLI_BLOB_MAX];
	size_t len = 0;
	struct opts o;
	struct ctx x;
	uint16_t id;
	int ret;

	ret = key_cmd_begin(cli, argc, argv, lopts, &o);
	if (ret)
		return ret;
	if (sess_begin(cli, &o, &x, &id))
		return 1;
	ret = azihsm_key_export_masked(x.sess, id, blob, sizeof(blob), &len);
	ret = sess_end(cli, &x, ret, "key export-masked");
	return ret ? ret : write_all(cli, o.out, blob, len);
}

static int cmd_key_unmask(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "in", required_argument, NULL, OPT_IN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	struct azihsm_key_info keys[1] = { 0 };
	struct opts o = { 0 };
	struct ctx x;
	uint16_t id = 0;
	int ret;

	ret = parse_opts(cli, argc, argv, lopts, false, &o);
	if (ret)
		return ret;
	o.masked = o.in ? o.in : "-";
	if (sess_begin(cli, &o, &x, NULL))
		return 1;
	ret = resolve_key(cli, &x, &o, &id);
	if (!ret) {
		struct azihsm_key_info *all = calloc(KEYS_MAX, sizeof(*all));
		size_t n = 0, i;

		ret = all ? azihsm_key_list(x.sess, all, KEYS_MAX, &n) : -ENOMEM;
		for (i = 0; !ret && i < n && all[i].id != id; i++)
			;
		if (!ret && i < n)
			keys[0] = all[i];
		else if (!ret)
			ret = -ENOENT;
		free(all);
		if (ret)
			ret = cli_fail(cli, "key list", ret);
	}
	ret = ctx_close(cli, &x, ret);
	if (ret)
		return ret;
	if (o.json) {
		printf("{\n  \"id\": %u,\n  \"type\": \"%s\",\n  \"persistent\": false\n}\n", id,
		       type_name(keys[0].type));
	} else {
		printf("key %u unmasked: %s (a session key)\n", id, type_name(keys[0].type));
	}
	fprintf(stderr, "%s: note: the unmasked key was a session key and was deleted when this "
		"command logged out; use --masked FILE with an operation instead\n", cli->prog);
	return 0;
}

static int cmd_unwrapping_key(struct cli *cli, int argc, char **argv)
{
	static const struct option lopts[] = {
		CRED_OPTS,
		{ "der", no_argument, NULL, OPT_DER },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t der[1024];
	size_t len = 0;
	uint16_t id = 0;
	struct opts o;
	struct ctx x;
	int ret;

	ret = parse_opts(cli, argc, argv, lopts, false, &o);
	if (ret)
		return ret;
	if (sess_begin(cli, &o, &x, NULL))
		return 1;
	ret = azihsm_unwrapping_key(x.sess, &id, der, sizeof(der), &len);
	ret = sess_end(cli, &x, ret, "unwrapping key");
	if (ret)
		return ret;
	if (o.json) {
		if (o.out && write_all(cli, o.out, der, len))
			return 1;
		printf("{\n  \"id\": %u,\n  \"spki_der\": ", id);
		json_hex(stdout, der, len);
		printf("\n}\n");
		return 0;
	}
	if (o.der)
		return write_all(cli, o.out, der, len);
	return write_pubkey_pem(cli, der, len, o.out);
}

#define IO_HELP \
	"  --in FILE            input (default stdin)\n" \
	"  --out FILE           output (default stdout)\n" \
	"  --json               JSON: the result (hex) and fips_approved\n"

#define NEW_KEY_HELP \
	"  --type TYPE          the new key's type (see key generate)\n" \
	"  --usage U,...        the new key's usages\n" \
	"  --persistent         keep the new key (else a session key, gone at logout)\n" \
	"  --json               machine-readable output (with fips_approved)\n"

const struct subcommand cli_ops_commands[] = {
	{ "sign", "sign --label L|--id N|--masked F --alg ALG [--in F] [--out F] [--json]",
	  "Hash the input and sign the digest; writes the signature (ECDSA: DER).\n"
	  "Checks with 'openssl dgst -sha384 -verify key.pem -signature sig msg'\n"
	  "(RSA-PSS: add -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest).\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --alg ALG            " SIG_ALGS "\n" IO_HELP,
	  cmd_sign },
	{ "verify", "verify --label L|--id N|--masked F --alg ALG --sig F [--in F] [--json]",
	  "Check a signature over the input with the key's public part in the device.\n"
	  "Prints 'Verified OK' (exit 0) or 'Verification failure' (exit 1).\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --alg ALG            " SIG_ALGS "\n"
	  "  --sig FILE           the signature\n"
	  "  --in FILE            the signed data (default stdin)\n"
	  "  --json               {key_id, alg, valid, fips_approved}\n",
	  cmd_verify },
	{ "encrypt", "encrypt --label L|--id N|--masked F --mode MODE [--iv HEX] [--aad STR] "
	  "[--in F] [--out F] [--json]",
	  "AES encryption in the device. GCM writes the 12-byte IV the device drew,\n"
	  "the ciphertext and the 16-byte tag. ECB/CBC take whole 16-byte blocks (no\n"
	  "padding).\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --mode MODE          ecb, cbc, ctr, xts (one data unit) or gcm\n"
	  "  --iv HEX             IV / tweak: 16 bytes (cbc, ctr, xts); none for gcm\n"
	  "  --aad STR            GCM additional authenticated data\n" IO_HELP,
	  cmd_encrypt },
	{ "decrypt", "decrypt --label L|--id N|--masked F --mode MODE|--alg rsa-oaep-H "
	  "[--iv HEX] [--aad STR] [--oaep-label STR] [--in F] [--out F] [--json]",
	  "AES decryption (GCM input: 12-byte IV || ciphertext || 16-byte tag, as\n"
	  "encrypt writes it, or ciphertext || tag with --iv) or RSA-OAEP decryption\n"
	  "in the device.\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --mode MODE          ecb, cbc, ctr, xts or gcm (as for encrypt)\n"
	  "  --alg ALG            rsa-oaep-sha256, rsa-oaep-sha384 or rsa-oaep-sha512\n"
	  "  --iv HEX             as for encrypt; gcm: 12 bytes, then not in the input\n"
	  "  --aad STR            as for encrypt\n"
	  "  --oaep-label STR     the OAEP label (default none)\n" IO_HELP,
	  cmd_decrypt },
	{ "hmac", "hmac --label L|--id N|--masked F [--in F] [--out F] [--json]",
	  "HMAC of the input with an HMAC key (its type's hash); at most 7168 bytes.\n"
	  KEY_SEL_HELP CRED_HELP IO_HELP,
	  cmd_hmac },
	{ "ecdh", "ecdh --label L|--id N --peer F --type hmac-sha256|384|512 --usage U "
	  "[--new-label L] [--persistent] [--json]",
	  "ECDH of an EC key (usage derive) with a peer public key; the shared secret\n"
	  "stays in the device as a new HMAC-type key (derive it further with\n"
	  "'derive', or use it with 'hmac').\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --peer FILE          the peer's public key, PEM or DER SubjectPublicKeyInfo\n"
	  "  --new-label L        the new key's label\n" NEW_KEY_HELP,
	  cmd_ecdh },
	{ "derive", "derive --label L|--id N --kdf hkdf|kbkdf --hash H --type T --usage U "
	  "[--salt S] [--info I] [--length N] [--new-label L] [--persistent] [--json]",
	  "Derive a new key in the device from an HMAC key (usage derive): HKDF\n"
	  "(RFC 5869) or SP 800-108 counter-mode KBKDF with HMAC.\n"
	  KEY_SEL_HELP CRED_HELP
	  "  --kdf hkdf|kbkdf     the KDF\n"
	  "  --hash H             sha256, sha384 or sha512\n"
	  "  --salt S             HKDF salt / KBKDF label (text)\n"
	  "  --info I             HKDF info / KBKDF context (text)\n"
	  "  --length N           HMAC-type keys: key bytes, 16..128 (default the hash size)\n"
	  "  --new-label L        the new key's label\n" NEW_KEY_HELP,
	  cmd_derive },
	{ "key unwrap", "key unwrap --in F --type T --usage U [--label L] [--persistent] "
	  "[--hash H] [--oaep-label STR] [--unwrap-key N] [--json]",
	  "Import a key wrapped with CKM_RSA_AES_KEY_WRAP (RSA-OAEP of an AES key,\n"
	  "then AES-KWP of the key: AES/HMAC raw, EC/RSA PKCS#8 DER) to the\n"
	  "partition's unwrapping key ('azihsm unwrapping-key').\n" CRED_HELP
	  "  --in FILE            the wrapped key (default stdin)\n"
	  "  --label L            the new key's label\n"
	  "  --hash H             OAEP hash: sha256 (default), sha384, sha512\n"
	  "  --oaep-label STR     the OAEP label (default none)\n"
	  "  --unwrap-key N       another RSA key with the unwrap usage\n" NEW_KEY_HELP,
	  cmd_key_unwrap },
	{ "key export-masked", "key export-masked --label L|--id N [--out F]",
	  "Export a key as a masked blob (encrypted and authenticated under the\n"
	  "partition's masking key; opens only in this partition). Persistent keys:\n"
	  "officer only.\n" KEY_SEL_HELP CRED_HELP
	  "  --out FILE           the blob (default stdout)\n",
	  cmd_key_export_masked },
	{ "key unmask", "key unmask [--in F] [--json]",
	  "Check a masked blob by unmasking it (as a session key, deleted again at\n"
	  "logout; operations take --masked FILE to use one).\n" CRED_HELP
	  "  --in FILE            the blob (default stdin)\n"
	  "  --json               {id, type, persistent}\n",
	  cmd_key_unmask },
	{ "unwrapping-key", "unwrapping-key [--der] [--out F] [--json]",
	  "The public part of the partition's RSA unwrapping key (made on first use),\n"
	  "to wrap keys for 'key unwrap'. PEM unless --der.\n" CRED_HELP
	  "  --der                DER SubjectPublicKeyInfo instead of PEM\n"
	  "  --out FILE           write to FILE (default stdout)\n"
	  "  --json               {id, spki_der (hex)}\n",
	  cmd_unwrapping_key },
};

const size_t cli_ops_ncommands = ARRAY_LEN(cli_ops_commands);
