/* SPDX-License-Identifier: MIT */
/* libazihsm internals shared by its source files. */
#ifndef AZIHSM_LIB_INTERNAL_H
#define AZIHSM_LIB_INTERNAL_H

#include "azihsm/azihsm.h"
#include "azihsm/mbor.h"

#define LIB_HIDDEN __attribute__((visibility("hidden")))

/* One command as the transport sees it (the ioctl's fields). */
struct lib_xfer {
	const void *req;
	size_t req_len;
	void *rsp;
	size_t rsp_cap;
	uint8_t session_flags;	/* AZIHSM_SESSION_OP_* | AZIHSM_SESSION_ID_VALID */
	uint16_t session_id;
};

/*
 * Internal transport hook: runs @x and returns the response length or a
 * negative errno (setting the last status as azihsm_command does). The
 * default is the driver's ioctl; host tests plug in the firmware core.
 * Not part of the public API.
 */
typedef int (*lib_transport_fn)(void *ctx, struct lib_xfer *x);

struct azihsm_dev {
	int fd;			/* -1 with a test transport */
	char path[64];
	lib_transport_fn xfer;
	void *xfer_ctx;
};

/* A handle without a device node whose commands go to @fn (host tests). */
LIB_HIDDEN int lib_dev_open_transport(lib_transport_fn fn, void *ctx, struct azihsm_dev **out);

void lib_set_status(enum azihsm_status_kind kind, uint32_t code);
/* azihsm_command with session flags and id. */
int lib_command(struct azihsm_dev *dev, const void *req, size_t req_len, void *rsp,
		size_t rsp_cap, uint8_t session_flags, uint16_t session_id);
/* Send @req, check the response header for @opcode, leave @d at data. */
int lib_transact(struct azihsm_dev *dev, const uint8_t *req, size_t req_len,
		 uint8_t *rsp, size_t rsp_cap, uint32_t opcode, struct mbor_dec *d);
/* lib_transact with session flags and id. */
int lib_transact_sess(struct azihsm_dev *dev, const uint8_t *req, size_t req_len,
		      uint8_t *rsp, size_t rsp_cap, uint32_t opcode, uint8_t session_flags,
		      uint16_t session_id, struct mbor_dec *d);
/* The fips_approved flag of the calling thread's last lib_transact answer. */
bool lib_last_fips(void);
/* lib_transact in session @sess (its id in the ioctl); -EINVAL for @len 0. */
int lib_sess_transact(struct azihsm_session *sess, const uint8_t *req, size_t len,
		      uint8_t *rsp, size_t cap, uint32_t opcode, struct mbor_dec *d);
/* @opcode with an empty data map in session @sess, answered by an empty one. */
int lib_sess_call_empty(struct azihsm_session *sess, uint32_t opcode);
int lib_sysfs_read(struct azihsm_dev *dev, const char *attr, char *buf, size_t cap);
/* The device @sess is open on. */
LIB_HIDDEN struct azihsm_dev *lib_session_dev(const struct azihsm_session *sess);

/* attest.c */
struct evp_pkey_st;
/*
 * The device's device and partition certificates checked against the root
 * file @root (NULL: azihsm_trusted_root()); *@leaf_key (may be NULL) gets
 * the partition key. -ENOKEY if they do not chain to it.
 */
LIB_HIDDEN int lib_chain_leaf_key(struct azihsm_dev *dev, const char *root,
				  struct evp_pkey_st **leaf_key);
struct x509_st;
/* @leaf chains exactly root -> @dev -> @leaf, and @leaf is no CA. */
LIB_HIDDEN bool lib_chain_ok(struct x509_st *root, struct x509_st *dev, struct x509_st *leaf);
/* ES384: ECDSA P-384 signature @sig (raw r || s, 96 bytes) on SHA-384(@msg). */
LIB_HIDDEN bool lib_es384_verify(struct evp_pkey_st *key, const uint8_t *msg, size_t len,
				 const uint8_t *sig, size_t sig_len);
/*
 * The device vouches for @msg (a domain-separated message: context || what
 * it signed): its chain verifies to @root (NULL: azihsm_trusted_root()) and
 * @sig (may be NULL: absent) is the partition key's ES384 over @msg. 0, or
 * -ENOKEY (no signature, no chain, another root, a bad signature), or a
 * transport error.
 */
LIB_HIDDEN int lib_check_vouched(struct azihsm_dev *dev, const char *root, const uint8_t *msg,
				 size_t len, const uint8_t *sig, size_t sig_len);
/*
 * lib_check_vouched by one device only: @expect (NULL: any) is the serial
 * or the device-certificate fingerprint (azihsm_device_identity) the chain
 * must name, checked on the same certificates; else -EXDEV.
 */
LIB_HIDDEN int lib_check_vouched_by(struct azihsm_dev *dev, const char *root,
				    const char *expect, const uint8_t *msg, size_t len,
				    const uint8_t *sig, size_t sig_len);

#endif
