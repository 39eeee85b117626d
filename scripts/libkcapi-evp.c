// SPDX-License-Identifier: MIT
/*
 * Host helper of scripts/libkcapi-suite: one OpenSSL EVP cipher call, for
 * the modes the openssl command line does not do (XTS, GCM).
 *
 *   libkcapi-evp CIPHER e|d KEYHEX IVHEX [AADHEX TAGLEN|TAGHEX] <in >out
 *
 * CIPHER is an OpenSSL name (aes-256-xts, aes-128-gcm, ...). For GCM, AAD
 * is authenticated; encryption appends a TAGLEN-byte tag to the output,
 * decryption checks TAGHEX and fails (exit 1, no output) on a mismatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MAX_IN (1 << 20)

static unsigned char *unhex(const char *s, int *len)
{
	long n = 0;
	unsigned char *b = OPENSSL_hexstr2buf(*s ? s : "00", &n);

	*len = *s ? (int)n : 0;
	return b;
}

int main(int argc, char **argv)
{
	static unsigned char in[MAX_IN], out[MAX_IN + 64];
	const EVP_CIPHER *c;
	EVP_CIPHER_CTX *ctx;
	unsigned char *key, *iv, *aad = NULL, *tag = NULL;
	int klen, ivlen, aadlen = 0, taglen = 0, enc, gcm, n, outl, fin;
	size_t inl;

	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: %s CIPHER e|d KEYHEX IVHEX [AADHEX TAGLEN|TAGHEX]\n",
			argv[0]);
		return 2;
	}
	c = EVP_get_cipherbyname(argv[1]);
	if (!c) {
		fprintf(stderr, "%s: unknown cipher %s\n", argv[0], argv[1]);
		return 2;
	}
	enc = !strcmp(argv[2], "e");
	gcm = EVP_CIPHER_get_mode(c) == EVP_CIPH_GCM_MODE;
	key = unhex(argv[3], &klen);
	iv = unhex(argv[4], &ivlen);
	if (!key || !iv || klen != EVP_CIPHER_get_key_length(c)) {
		fprintf(stderr, "%s: bad key or IV\n", argv[0]);
		return 2;
	}
	if (argc == 7) {
		aad = unhex(argv[5], &aadlen);
		if (enc)
			taglen = atoi(argv[6]);
		else
			tag = unhex(argv[6], &taglen);
		if (!aad || taglen < 1 || taglen > 16) {
			fprintf(stderr, "%s: bad AAD or tag\n", argv[0]);
			return 2;
		}
	}
	inl = fread(in, 1, sizeof(in), stdin);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc))
		return 1;
	if (gcm && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ivlen, NULL))
		return 1;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc))
		return 1;
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	if (aadlen && !EVP_CipherUpdate(ctx, NULL, &n, aad, aadlen))
		return 1;
	if (!EVP_CipherUpdate(ctx, out, &outl, in, (int)inl))
		return 1;
	if (tag && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, taglen, tag))
		return 1;
	if (!EVP_CipherFinal_ex(ctx, out + outl, &fin)) {
		fprintf(stderr, "%s: %s failed\n", argv[0], tag ? "tag check" : "final");
		return 1;
	}
	outl += fin;
	if (gcm && enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, taglen, out + outl))
		return 1;
	if (gcm && enc)
		outl += taglen;
	fwrite(out, 1, (size_t)outl, stdout);
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_free(key);
	OPENSSL_free(iv);
	OPENSSL_free(aad);
	OPENSSL_free(tag);
	return 0;
}
