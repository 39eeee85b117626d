// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The partition's persistent state on the host: the image the firmware
 * builds is sealed and kept in two files, so that a crash at any moment
 * leaves either the old or the new state, a file copied back from an older
 * run or from another device is recognised as such, and a damaged file is
 * reported instead of being taken for a fresh partition.
 *
 * FILE.nv plays the chip's fuses and monotonic counter: the device-unique
 * secret and the generation of the last committed image. FILE holds the
 * image, sealed with AES-256-GCM under a key derived from that secret.
 * All integers are little-endian and written field by field.
 *
 * FILE.nv, version 2 (64 bytes exactly; written by every commit):
 *   off  len  field
 *     0    8  magic "AZHSMNV1"
 *     8    4  version u32 = 2
 *    12   32  device-unique secret (RAND_priv_bytes, created on first open)
 *    44    8  generation u64 of the last committed image (0: none yet)
 *    52    8  zeroize epoch u64 (0 on a new device, + 1 by every zeroize)
 *    60    4  CRC-32 (IEEE 802.3, as zlib's crc32) of bytes 0..59
 * Version 1 (56 bytes: no epoch, the CRC at 52 over bytes 0..51) still
 * loads, as epoch 0.
 *
 * FILE, version 2 (60-byte header, ciphertext, tag):
 *   off  len  field
 *     0    8  magic "AZHSMST1"
 *     8    4  version u32 = 2
 *    12   16  device fingerprint = HKDF-SHA256(secret, no salt,
 *             info "azihsm device id"), 16 bytes
 *    28    8  generation u64 (>= 1)
 *    36    8  epoch u64 the image was sealed in
 *    44   12  GCM nonce (RAND_priv_bytes, fresh for every commit)
 *    56    4  ciphertext length u32 = image length (<= 16 MiB)
 *    60    n  ciphertext: AES-256-GCM of the image
 *  60+n   16  GCM tag
 *   key = HKDF-SHA256(secret, no salt, info "azihsm state seal v2" ||
 *   epoch u64), 32 bytes; AAD = the 60-byte header.
 * Version 1 (52-byte header without the epoch, key info "azihsm state
 * seal v1") still loads while the device is at epoch 0; commits write 2.
 *
 * Commit of generation g+1: FILE.tmp is written, fsync'ed and renamed over
 * FILE, the directory fsync'ed; then the same for FILE.nv (via FILE.nv.tmp).
 * A crash between the two renames leaves FILE one generation ahead of
 * FILE.nv (and, for the commit after a new epoch, at a later epoch), which
 * open accepts and repairs. Leftover *.tmp files are removed on open; they
 * never hold the only copy of anything.
 *
 * The epoch: hsm_state_new_epoch() (a zeroize) raises it in memory at once
 * (every key this store derives from then on is the new epoch's) and the
 * next commit makes it durable in both files. Nothing sealed in an earlier
 * epoch is ever decrypted again.
 *
 * Open checks FILE in this order (the first failing check decides):
 * shorter than header + tag -> TRUNCATED; magic or version -> CORRUPT;
 * fingerprint -> FOREIGN; length field disagrees with the file size, or the
 * generation is 0 or more than one ahead of FILE.nv -> CORRUPT; epoch
 * before FILE.nv's -> ROLLED_BACK (not decrypted); epoch after FILE.nv's
 * unless the generation is FILE.nv's + 1 -> CORRUPT; tag -> CORRUPT;
 * generation behind FILE.nv -> ROLLED_BACK. The generation is only
 * trusted once the tag has verified, so a flipped generation bit reads as
 * corrupt, never as rolled back (a flipped epoch bit that lowers the epoch
 * reads as rolled back: an earlier epoch's file is refused unopened).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "hsm_bytes.h"
#include "hsm_state.h"

#define NV_MAGIC	"AZHSMNV1"
#define NV_VERSION	2
#define NV_SECRET_LEN	32
#define NV_OFF_VERSION	8
#define NV_OFF_SECRET	12
#define NV_OFF_GEN	44
#define NV_OFF_EPOCH	52	/* version 2 */
#define NV_OFF_CRC	60
#define NV_LEN		64
#define NV1_OFF_CRC	52	/* version 1: no epoch */
#define NV1_LEN		56

#define ST_MAGIC	"AZHSMST1"
#define ST_VERSION	2
#define ST_FP_LEN	16
#define ST_NONCE_LEN	12
#define ST_TAG_LEN	16
#define ST_KEY_LEN	32
#define ST_OFF_VERSION	8
#define ST_OFF_FP	12
#define ST_OFF_GEN	28
#define ST_OFF_EPOCH	36
#define ST_OFF_NONCE	44
#define ST_OFF_CTLEN	56
#define ST_HDR_LEN	60
/* Version 1: no epoch field, the nonce at 36, the length at 48. */
#define ST1_OFF_NONCE	36
#define ST1_OFF_CTLEN	48
#define ST1_HDR_LEN	52
#define ST_MAX_FILE	(ST_HDR_LEN + (size_t)HSM_STATE_MAX_IMAGE + ST_TAG_LEN)

#define INFO_FINGERPRINT	"azihsm device id"
#define INFO_SEAL_KEY_V1	"azihsm state seal v1"
#define INFO_SEAL_KEY		"azihsm state seal v2"

struct hsm_state {
	pthread_mutex_t lock;
	enum hsm_state_status status;
	int dirfd;
	char *name;		/* FILE, relative to dirfd */
	char *name_tmp;		/* FILE.tmp */
	char *nv_name;		/* FILE.nv */
	char *nv_tmp;		/* FILE.nv.tmp */
	uint8_t secret[NV_SECRET_LEN];
	uint8_t fp[ST_FP_LEN];
	uint64_t gen;		/* read with __atomic: hsm_state_generation takes no lock */
	uint64_t nv_epoch;	/* the epoch FILE.nv holds */
	uint64_t epoch;		/* >= nv_epoch; above it after new_epoch, until a commit */
	uint8_t *image;		/* plaintext of generation gen when gen > 0 and status OK */
	size_t image_len;
};

static const char *const status_names[] = {
	[HSM_STATE_OK]		= "ok",
	[HSM_STATE_EMPTY]	= "empty",
	[HSM_STATE_TRUNCATED]	= "truncated",
	[HSM_STATE_CORRUPT]	= "corrupt",
	[HSM_STATE_ROLLED_BACK]	= "rolled back",
	[HSM_STATE_FOREIGN]	= "foreign",
	[HSM_STATE_NV_CORRUPT]	= "nv corrupt",
	[HSM_STATE_IO]		= "io",
};

const char *hsm_state_status_str(enum hsm_state_status st)
{
	if ((unsigned int)st >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[st];
}

/* CRC-32, reflected polynomial 0xedb88320; bitwise: the NV file is 52 bytes. */
static uint32_t nv_crc32(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

int hsm_epoch_kdf(const uint8_t *secret, size_t secret_len, const char *label,
		  const uint64_t *epoch, uint8_t *out, size_t out_len)
{
	uint8_t info[128];
	size_t ilen = strlen(label);
	OSSL_PARAM params[4];
	EVP_KDF_CTX *ctx;
	EVP_KDF *kdf;
	int ok;

	if (ilen > sizeof(info) - 8)
		return -1;
	memcpy(info, label, ilen);
	if (epoch) {
		put_le64(info + ilen, *epoch);
		ilen += 8;
	}

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf)
		return -1;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
						      secret_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, ilen);
	params[3] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, out, out_len, params) > 0;
	EVP_KDF_CTX_free(ctx);	/* cleanses the key it copied */
	return ok ? 0 : -1;
}

static int hkdf_sha256(const uint8_t *secret, const char *info, uint8_t *out, size_t out_len)
{
	return hsm_epoch_kdf(secret, NV_SECRET_LEN, info, NULL, out, out_len);
}

/* The seal key of a version-2 FILE of @epoch. */
static int seal_key(const uint8_t *secret, uint64_t epoch, uint8_t key[ST_KEY_LEN])
{
	return hsm_epoch_kdf(secret, NV_SECRET_LEN, INFO_SEAL_KEY, &epoch, key, ST_KEY_LEN);
}

/*
 * Reads all of @name. -ENOENT if it does not exist, -EFBIG if it is longer
 * than @max (nothing read), -EINVAL if it is not a regular file, otherwise
 * 0 or a negative errno. *@buf is malloc'd (at least 1 byte).
 */
static int read_whole(int dirfd, const char *name, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t size, got = 0;
	uint8_t *p;
	int fd, err;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		err = -EFBIG;
		goto out_close;
	}
	size = (size_t)st.st_size;
	p = malloc(size ? size : 1);
	if (!p) {
		err = -ENOMEM;
		goto out_close;
	}
	while (got < size) {
		ssize_t n = read(fd, p + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			OPENSSL_cleanse(p, got);
			free(p);
			goto out_close;
		}
		if (n == 0)
			break;	/* shrank under us: what we got is the file */
		got += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = got;
	return 0;
out_close:
	close(fd);
	return err;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces @name by @buf atomically and durably: @tmp written and fsync'ed,
 * renamed over @name, the directory fsync'ed. *@replaced tells whether the
 * rename happened (from then on @name may already be the new content).
 */
static int write_atomic(struct hsm_state *s, const char *name, const char *tmp,
			const uint8_t *buf, size_t len, bool *replaced)
{
	int fd, err;

	*replaced = false;
	/* O_EXCL after unlink: never write through whatever sat at tmp. */
	if (unlinkat(s->dirfd, tmp, 0) && errno != ENOENT)
		return -errno;
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(s->dirfd, tmp, s->dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(s->dirfd, tmp, 0);
		return err;
	}
	*replaced = true;
	if (fsync(s->dirfd))
		return -errno;
	return 0;
}

static int nv_store(struct hsm_state *s, uint64_t gen, uint64_t epoch, bool *replaced)
{
	uint8_t buf[NV_LEN];
	int err;

	memcpy(buf, NV_MAGIC, 8);
	put_le32(buf + NV_OFF_VERSION, NV_VERSION);
	memcpy(buf + NV_OFF_SECRET, s->secret, NV_SECRET_LEN);
	put_le64(buf + NV_OFF_GEN, gen);
	put_le64(buf + NV_OFF_EPOCH, epoch);
	put_le32(buf + NV_OFF_CRC, nv_crc32(buf, NV_OFF_CRC));
	err = write_atomic(s, s->nv_name, s->nv_tmp, buf, sizeof(buf), replaced);
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

/* Version 2, or version 1 (56 bytes, epoch 0). */
static int nv_parse(struct hsm_state *s, const uint8_t *buf, size_t len, uint64_t *gen,
		    uint64_t *epoch)
{
	if (len < NV1_LEN || memcmp(buf, NV_MAGIC, 8))
		return -1;
	switch (get_le32(buf + NV_OFF_VERSION)) {
	case 1:
		if (len != NV1_LEN || get_le32(buf + NV1_OFF_CRC) != nv_crc32(buf, NV1_OFF_CRC))
			return -1;
		*epoch = 0;
		break;
	case NV_VERSION:
		if (len != NV_LEN || get_le32(buf + NV_OFF_CRC) != nv_crc32(buf, NV_OFF_CRC))
			return -1;
		*epoch = get_le64(buf + NV_OFF_EPOCH);
		break;
	default:
		return -1;
	}
	memcpy(s->secret, buf + NV_OFF_SECRET, NV_SECRET_LEN);
	*gen = get_le64(buf + NV_OFF_GEN);
	return 0;
}

/* The sealed file for @image as generation @gen of s->epoch, in a malloc'd *@out. */
static int seal(struct hsm_state *s, uint64_t gen, const uint8_t *image, size_t len,
		uint8_t **out, size_t *out_len)
{
	size_t total = ST_HDR_LEN + len + ST_TAG_LEN;
	uint8_t key[ST_KEY_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf;
	int n, err = -EIO;

	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, ST_MAGIC, 8);
	put_le32(buf + ST_OFF_VERSION, ST_VERSION);
	memcpy(buf + ST_OFF_FP, s->fp, ST_FP_LEN);
	put_le64(buf + ST_OFF_GEN, gen);
	put_le64(buf + ST_OFF_EPOCH, s->epoch);
	put_le32(buf + ST_OFF_CTLEN, (uint32_t)len);
	if (RAND_priv_bytes(buf + ST_OFF_NONCE, ST_NONCE_LEN) != 1)
		goto out;
	if (seal_key(s->secret, s->epoch, key))
		goto out;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx ||
	    !EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ST_NONCE_LEN, NULL) ||
	    !EVP_EncryptInit_ex(ctx, NULL, NULL, key, buf + ST_OFF_NONCE) ||
	    !EVP_EncryptUpdate(ctx, NULL, &n, buf, ST_HDR_LEN))
		goto out;
	if (len && !EVP_EncryptUpdate(ctx, buf + ST_HDR_LEN, &n, image, (int)len))
		goto out;
	if (!EVP_EncryptFinal_ex(ctx, buf + ST_HDR_LEN + len, &n) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ST_TAG_LEN,
				 buf + ST_HDR_LEN + len))
		goto out;
	err = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

/*
 * Checks and opens the sealed file @buf against the NV generation @nv_gen
 * and epoch @nv_epoch. On OK the plaintext is in s->image, its generation
 * in *@gen and its epoch in *@epoch.
 */
static enum hsm_state_status unseal(struct hsm_state *s, const uint8_t *buf, size_t len,
				    uint64_t nv_gen, uint64_t nv_epoch, uint64_t *gen,
				    uint64_t *epoch)
{
	enum hsm_state_status st = HSM_STATE_CORRUPT;
	size_t hdr = ST_HDR_LEN, off_nonce = ST_OFF_NONCE, ct_len;
	uint8_t key[ST_KEY_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *plain = NULL;
	uint64_t g, e = 0;
	uint32_t version;
	int n, kerr;

	if (len < ST1_HDR_LEN + ST_TAG_LEN)
		return HSM_STATE_TRUNCATED;
	version = get_le32(buf + ST_OFF_VERSION);
	if (memcmp(buf, ST_MAGIC, 8) || (version != 1 && version != ST_VERSION))
		return HSM_STATE_CORRUPT;
	if (version == 1) {
		hdr = ST1_HDR_LEN;
		off_nonce = ST1_OFF_NONCE;
	} else if (len < ST_HDR_LEN + ST_TAG_LEN) {
		return HSM_STATE_TRUNCATED;
	}
	if (CRYPTO_memcmp(buf + ST_OFF_FP, s->fp, ST_FP_LEN))
		return HSM_STATE_FOREIGN;
	ct_len = get_le32(buf + (version == 1 ? ST1_OFF_CTLEN : ST_OFF_CTLEN));
	if (ct_len > HSM_STATE_MAX_IMAGE || len != hdr + ct_len + ST_TAG_LEN)
		return HSM_STATE_CORRUPT;
	g = get_le64(buf + ST_OFF_GEN);
	if (g == 0 || (nv_gen != UINT64_MAX && g > nv_gen + 1))
		return HSM_STATE_CORRUPT;
	if (version != 1)
		e = get_le64(buf + ST_OFF_EPOCH);
	/* An earlier epoch's state is never decrypted again. */
	if (e < nv_epoch)
		return HSM_STATE_ROLLED_BACK;
	/* A later one only from the commit FILE.nv did not record yet. */
	if (e > nv_epoch && (nv_gen == UINT64_MAX || g != nv_gen + 1))
		return HSM_STATE_CORRUPT;

	plain = malloc(ct_len ? ct_len : 1);
	if (!plain)
		return HSM_STATE_IO;
	kerr = version == 1 ? hkdf_sha256(s->secret, INFO_SEAL_KEY_V1, key, sizeof(key)) :
			      seal_key(s->secret, e, key);
	if (kerr) {
		st = HSM_STATE_IO;
		goto out;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx ||
	    !EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ST_NONCE_LEN, NULL) ||
	    !EVP_DecryptInit_ex(ctx, NULL, NULL, key, buf + off_nonce) ||
	    !EVP_DecryptUpdate(ctx, NULL, &n, buf, (int)hdr)) {
		st = HSM_STATE_IO;
		goto out;
	}
	if (ct_len && !EVP_DecryptUpdate(ctx, plain, &n, buf + hdr, (int)ct_len))
		goto out;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ST_TAG_LEN,
				 (void *)(buf + hdr + ct_len)))
		goto out;
	if (EVP_DecryptFinal_ex(ctx, plain + ct_len, &n) <= 0)
		goto out;	/* tag mismatch */
	if (g < nv_gen) {
		st = HSM_STATE_ROLLED_BACK;
		goto out;
	}
	s->image = plain;
	s->image_len = ct_len;
	plain = NULL;
	*gen = g;
	*epoch = e;
	st = HSM_STATE_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	if (plain) {
		OPENSSL_cleanse(plain, ct_len);
		free(plain);
	}
	return st;
}

static int set_names(struct hsm_state *s, const char *path, char **dir)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);

	if (!slash)
		*dir = strdup(".");
	else if (slash == path)
		*dir = strdup("/");
	else
		*dir = strndup(path, (size_t)(slash - path));
	s->name = strdup(base);
	s->name_tmp = malloc(blen + sizeof(".tmp"));
	s->nv_name = malloc(blen + sizeof(".nv"));
	s->nv_tmp = malloc(blen + sizeof(".nv.tmp"));
	if (!*dir || !s->name || !s->name_tmp || !s->nv_name || !s->nv_tmp)
		return -ENOMEM;
	memcpy(s->name_tmp, base, blen);
	memcpy(s->name_tmp + blen, ".tmp", sizeof(".tmp"));
	memcpy(s->nv_name, base, blen);
	memcpy(s->nv_name + blen, ".nv", sizeof(".nv"));
	memcpy(s->nv_tmp, base, blen);
	memcpy(s->nv_tmp + blen, ".nv.tmp", sizeof(".nv.tmp"));
	return 0;
}

/* Neither file: a fresh partition gets its device secret. */
static enum hsm_state_status open_fresh(struct hsm_state *s)
{
	bool replaced;
	int err;

	err = faccessat(s->dirfd, s->name, F_OK, 0) ? -errno : 0;
	if (!err)
		return HSM_STATE_NV_CORRUPT;	/* sealed state whose secret is gone */
	if (err != -ENOENT)
		return HSM_STATE_IO;
	if (RAND_priv_bytes(s->secret, NV_SECRET_LEN) != 1 ||
	    hkdf_sha256(s->secret, INFO_FINGERPRINT, s->fp, ST_FP_LEN))
		return HSM_STATE_IO;
	if (nv_store(s, 0, 0, &replaced))
		return HSM_STATE_IO;
	return HSM_STATE_EMPTY;
}

static enum hsm_state_status open_existing(struct hsm_state *s)
{
	enum hsm_state_status st;
	uint64_t nv_gen, gen = 0, nv_epoch, epoch = 0;
	uint8_t *buf;
	size_t len;
	bool replaced;
	int err;

	err = read_whole(s->dirfd, s->nv_name, NV_LEN, &buf, &len);
	if (err == -EFBIG)
		return HSM_STATE_NV_CORRUPT;
	if (err)
		return HSM_STATE_IO;
	err = nv_parse(s, buf, len, &nv_gen, &nv_epoch);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (err)
		return HSM_STATE_NV_CORRUPT;
	__atomic_store_n(&s->gen, nv_gen, __ATOMIC_RELAXED);
	s->nv_epoch = s->epoch = nv_epoch;
	if (hkdf_sha256(s->secret, INFO_FINGERPRINT, s->fp, ST_FP_LEN))
		return HSM_STATE_IO;

	err = read_whole(s->dirfd, s->name, ST_MAX_FILE, &buf, &len);
	if (err == -ENOENT)	/* no image after a commit: the fresh state replayed */
		return nv_gen ? HSM_STATE_ROLLED_BACK : HSM_STATE_EMPTY;
	if (err == -EFBIG)
		return HSM_STATE_CORRUPT;
	if (err)
		return HSM_STATE_IO;
	st = unseal(s, buf, len, nv_gen, nv_epoch, &gen, &epoch);
	free(buf);
	if (st != HSM_STATE_OK)
		return st;
	if (gen == nv_gen + 1) {
		/* Crash between the two renames of a commit: finish it. */
		if (nv_store(s, gen, epoch, &replaced))
			return HSM_STATE_IO;
		__atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
		s->nv_epoch = s->epoch = epoch;
	}
	return HSM_STATE_OK;
}

struct hsm_state *hsm_state_open(const char *path, enum hsm_state_status *status)
{
	struct hsm_state *s;
	char *dir = NULL;
	int err;

	if (status)
		*status = HSM_STATE_IO;
	if (!path || !status)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->dirfd = -1;
	s->status = HSM_STATE_IO;
	if (set_names(s, path, &dir)) {
		free(dir);
		hsm_state_close(s);
		return NULL;
	}
	if (!s->name[0])
		goto out;	/* a directory is not a state file */
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		goto out;
	/* Left by a crash mid-commit; the renamed files are the truth. */
	unlinkat(s->dirfd, s->name_tmp, 0);
	unlinkat(s->dirfd, s->nv_tmp, 0);

	err = faccessat(s->dirfd, s->nv_name, F_OK, 0) ? -errno : 0;
	if (err == -ENOENT)
		s->status = open_fresh(s);
	else if (err)
		s->status = HSM_STATE_IO;
	else
		s->status = open_existing(s);
out:
	free(dir);
	if (s->status != HSM_STATE_OK && s->status != HSM_STATE_EMPTY) {
		/* Never commits: no need to keep the secret or an image. */
		OPENSSL_cleanse(s->secret, sizeof(s->secret));
		if (s->image) {
			OPENSSL_cleanse(s->image, s->image_len);
			free(s->image);
			s->image = NULL;
			s->image_len = 0;
		}
	}
	*status = s->status;
	return s;
}

void hsm_state_close(struct hsm_state *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	hsm_state_free_image(s->image, s->image_len);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->name);
	free(s->name_tmp);
	free(s->nv_name);
	free(s->nv_tmp);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void hsm_state_free_image(uint8_t *image, size_t len)
{
	if (!image)
		return;
	OPENSSL_cleanse(image, len);
	free(image);
}

int hsm_state_load(struct hsm_state *s, uint8_t **image, size_t *len)
{
	uint8_t *copy;
	int ret = 0;

	if (!s || !image || !len)
		return -EINVAL;
	*image = NULL;
	*len = 0;
	pthread_mutex_lock(&s->lock);
	if (s->status != HSM_STATE_OK && s->status != HSM_STATE_EMPTY) {
		ret = -EIO;
		goto out;
	}
	if (!s->image) {
		ret = -ENOENT;
		goto out;
	}
	copy = malloc(s->image_len ? s->image_len : 1);
	if (!copy) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(copy, s->image, s->image_len);
	*image = copy;
	*len = s->image_len;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int hsm_state_commit(struct hsm_state *s, const uint8_t *image, size_t len)
{
	uint8_t *copy = NULL, *sealed = NULL;
	size_t sealed_len = 0;
	bool replaced;
	uint64_t gen;
	int err;

	if (!s || (!image && len))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->status != HSM_STATE_OK && s->status != HSM_STATE_EMPTY) {
		err = -EPERM;
		goto out;
	}
	if (len > HSM_STATE_MAX_IMAGE) {
		err = -EFBIG;
		goto out;
	}
	if (s->gen == UINT64_MAX) {
		err = -EOVERFLOW;
		goto out;
	}
	gen = s->gen + 1;
	copy = malloc(len ? len : 1);
	if (!copy) {
		err = -ENOMEM;
		goto out;
	}
	if (len)
		memcpy(copy, image, len);
	err = seal(s, gen, image, len, &sealed, &sealed_len);
	if (err)
		goto out;
	err = write_atomic(s, s->name, s->name_tmp, sealed, sealed_len, &replaced);
	if (!err)
		err = nv_store(s, gen, s->epoch, &replaced);
	else if (!replaced)
		goto out;	/* FILE untouched: still at the old generation */
	if (err) {
		/* FILE may be ahead of FILE.nv: only a reopen sorts that out. */
		s->status = HSM_STATE_IO;
		OPENSSL_cleanse(s->secret, sizeof(s->secret));
		hsm_state_free_image(s->image, s->image_len);
		s->image = NULL;
		s->image_len = 0;
		goto out;
	}
	hsm_state_free_image(s->image, s->image_len);
	s->image = copy;
	s->image_len = len;
	copy = NULL;
	__atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
	s->nv_epoch = s->epoch;
	s->status = HSM_STATE_OK;
out:
	pthread_mutex_unlock(&s->lock);
	hsm_state_free_image(copy, len);
	free(sealed);
	return err;
}

uint64_t hsm_state_generation(const struct hsm_state *s)
{
	if (!s)
		return 0;
	return __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
}

uint64_t hsm_state_epoch(struct hsm_state *s)
{
	uint64_t e;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	e = s->epoch;
	pthread_mutex_unlock(&s->lock);
	return e;
}

int hsm_state_new_epoch(struct hsm_state *s)
{
	int err = 0;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->status != HSM_STATE_OK && s->status != HSM_STATE_EMPTY)
		err = -EPERM;
	else if (s->epoch == UINT64_MAX)
		err = -EOVERFLOW;
	else
		s->epoch++;
	pthread_mutex_unlock(&s->lock);
	return err;
}

int hsm_state_derive_key(struct hsm_state *s, const char *info, uint8_t *out, size_t len)
{
	int err = 0;

	if (!s || !info || !out || !len || !strcmp(info, INFO_SEAL_KEY) ||
	    !strcmp(info, INFO_SEAL_KEY_V1) || !strcmp(info, INFO_FINGERPRINT))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->status != HSM_STATE_OK && s->status != HSM_STATE_EMPTY)
		err = -EPERM;	/* the secret was cleansed */
	else if (hsm_epoch_kdf(s->secret, NV_SECRET_LEN, info, &s->epoch, out, len))
		err = -EIO;
	pthread_mutex_unlock(&s->lock);
	if (err)
		OPENSSL_cleanse(out, len);
	return err;
}

int hsm_state_device_key(struct hsm_state *s, const char *info, uint8_t *out, size_t len)
{
	int err = 0;

	/* Only labels of their own: never the fingerprint's or a seal key's. */
	if (!s || !info || !out || !len || strncmp(info, HSM_STATE_DEVICE_KEY_PREFIX,
						   strlen(HSM_STATE_DEVICE_KEY_PREFIX)))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->status != HSM_STATE_OK && s->status != HSM_STATE_EMPTY)
		err = -EPERM;	/* the secret was cleansed */
	else if (hsm_epoch_kdf(s->secret, NV_SECRET_LEN, info, NULL, out, len))
		err = -EIO;
	pthread_mutex_unlock(&s->lock);
	if (err)
		OPENSSL_cleanse(out, len);
	return err;
}
