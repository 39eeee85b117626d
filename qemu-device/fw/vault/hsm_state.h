/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * azihsm firmware: the partition's persistent state on the host.
 *
 * The firmware hands over one opaque plaintext image; this module seals it
 * (AES-256-GCM under a key only this device's NV secret yields), stores it
 * atomically and durably, and on start tells exactly what it found, so the
 * device can refuse to run over a damaged, replayed or foreign image rather
 * than silently starting empty. Byte layouts: the comment at the top of
 * hsm_state.c and Documentation/hsm-design.md.
 *
 * Threading: load and commit may be called from any thread; the store
 * serializes them itself.
 */
#ifndef HSM_STATE_H
#define HSM_STATE_H

#include <stddef.h>
#include <stdint.h>

/* Largest image hsm_state_commit accepts. */
#define HSM_STATE_MAX_IMAGE	(16u * 1024 * 1024)

enum hsm_state_status {
	HSM_STATE_OK,		/* the last committed image loaded */
	HSM_STATE_EMPTY,	/* nothing committed yet: a fresh partition */
	HSM_STATE_TRUNCATED,	/* FILE shorter than a header and a tag */
	HSM_STATE_CORRUPT,	/* bad magic/version/length/generation, or the tag fails */
	HSM_STATE_ROLLED_BACK,	/* FILE older than the NV generation (or gone) */
	HSM_STATE_FOREIGN,	/* FILE was sealed by another device */
	HSM_STATE_NV_CORRUPT,	/* FILE.nv damaged or missing */
	HSM_STATE_IO,		/* the files could not be read or written */
};

struct hsm_state;

/*
 * Opens the store named @path (files @path and @path.nv in @path's
 * directory), creating @path.nv with a fresh device secret if neither file
 * exists. *@status says what was found. On anything but OK/EMPTY the store
 * is still returned, so the device can report why, but it refuses commits
 * and has no image. NULL only when out of memory or @path/@status is NULL
 * (*@status then says io).
 */
struct hsm_state *hsm_state_open(const char *path, enum hsm_state_status *status);
void hsm_state_close(struct hsm_state *s);

/*
 * The last committed plaintext image: a malloc'd copy in *@image (free it
 * with hsm_state_free_image, which cleanses it). 0 on success; -ENOENT if
 * nothing was committed yet; -EIO if the store opened in an error state;
 * -ENOMEM; -EINVAL for NULL arguments.
 */
int hsm_state_load(struct hsm_state *s, uint8_t **image, size_t *len);
void hsm_state_free_image(uint8_t *image, size_t len);

/*
 * Seals @image as generation+1 and stores it; returns only once both files
 * are durable. 0 on success; -EPERM if the store is in an error state;
 * -EFBIG if @len > HSM_STATE_MAX_IMAGE; -EINVAL; -EOVERFLOW when the
 * generation counter is exhausted; otherwise a negative errno from the
 * file system or -EIO from the crypto. A failure before FILE was replaced
 * leaves the store usable at the old generation; a later one leaves it in
 * the IO error state (the files are then what a crash would have left).
 */
int hsm_state_commit(struct hsm_state *s, const uint8_t *image, size_t len);

/* Generation of the last committed image (0: none), as the NV file says. */
uint64_t hsm_state_generation(const struct hsm_state *s);

/*
 * The zeroize epoch: 0 on a new device, one more after every zeroize. It
 * is kept in FILE.nv (version 2) and in FILE's header, and folded into
 * every key this store derives, so nothing sealed in an earlier epoch
 * opens again. hsm_state_epoch() is the current one (in memory: it may be
 * ahead of the files until the next commit stores it).
 */
uint64_t hsm_state_epoch(struct hsm_state *s);
/*
 * Start the next epoch (a zeroize, before its commit): at once in memory,
 * durably with the next hsm_state_commit (which seals FILE under the new
 * epoch and writes it to FILE.nv). 0; -EPERM in an error state;
 * -EOVERFLOW at the last epoch.
 */
int hsm_state_new_epoch(struct hsm_state *s);

/*
 * A key of @len bytes for another purpose bound to this device and its
 * current epoch: HKDF-SHA256(device secret, no salt, info @info || epoch
 * u64 little-endian), @info a label of its own (not the state file's seal
 * key or fingerprint: -EINVAL). Only this device's NV file yields it, and
 * only until the next zeroize. -EPERM if the store is in an error state
 * (its secret is gone); -EIO if the KDF fails.
 */
int hsm_state_derive_key(struct hsm_state *s, const char *info, uint8_t *out, size_t len);

/*
 * A key of @len bytes bound to this device for its whole life (no epoch:
 * it survives zeroizes): HKDF-SHA256(device secret, no salt, info @info),
 * @info starting with HSM_STATE_DEVICE_KEY_PREFIX (else -EINVAL), so it
 * is never the fingerprint or a seal key. The device identity
 * (hsm_identity.c) is derived this way: the NV file keeps it. -EPERM in
 * an error state; -EIO if the KDF fails.
 */
#define HSM_STATE_DEVICE_KEY_PREFIX	"azihsm identity "
int hsm_state_device_key(struct hsm_state *s, const char *info, uint8_t *out, size_t len);

/*
 * HKDF-SHA256(@secret, no salt, info = @label || *@epoch as u64
 * little-endian (no epoch when NULL)) into @out; 0 or -1. @label at most
 * 120 bytes.
 */
int hsm_epoch_kdf(const uint8_t *secret, size_t secret_len, const char *label,
		  const uint64_t *epoch, uint8_t *out, size_t out_len);

/* "ok", "empty", "truncated", "corrupt", "rolled back", "foreign", "nv corrupt", "io". */
const char *hsm_state_status_str(enum hsm_state_status st);

#endif /* HSM_STATE_H */
