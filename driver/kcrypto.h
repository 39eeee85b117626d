/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * azihsm crypto-API glue: the kernel session and its keys (ksession.c),
 * the request machinery (kcrypto.c) and the algorithm files (kc_*.c).
 * Documentation/driver.md, "Crypto API", is the overview.
 */
#ifndef AZIHSM_KCRYPTO_H
#define AZIHSM_KCRYPTO_H

#include <linux/crypto.h>
#include <linux/list.h>
#include <linux/workqueue.h>

#include "azihsm.h"
#include "azihsm/mbor.h"
#include "azihsm/msg.h"

/*
 * Data bytes one control-path command carries: the 8 KiB buffer less room
 * for the header and the other fields; a multiple of 128 (every block size).
 */
#define AZIHSM_KC_CHUNK		7936

/*
 * A session key of the kernel session. No raw key is kept: the masked
 * blob the device returned at import re-enters the key after a reset.
 */
struct azihsm_kkey {
	struct list_head node;	/* in ksess.keys while imported */
	u16 id;			/* current key id; 0 = none */
	u8 type;		/* AZIHSM_KEY_* */
	u8 *blob;
	u32 blob_len;
};

/*
 * One command in the kernel session. @req writes the request's data map,
 * @rsp reads the answer's (or is NULL when the answer is {}). Results:
 * @status (HSM status) and @fips.
 */
struct azihsm_kcmd {
	u32 opcode;
	int (*req)(struct mbor_enc *e, struct azihsm_kcmd *kc);
	int (*rsp)(struct mbor_dec *d, struct azihsm_kcmd *kc);
	void *ctx;
	u16 key_id;		/* filled in by azihsm_kkey_run() */
	u32 status;
	bool fips;
	u16 cqe_short_app_id;	/* the CQE's, when SHORT_APP_ID_VALID (else 0) */
	u16 cqe_status;		/* the CQE's completion status (AZIHSM_SC_*) */
};

/* One field of an answer's data map, for azihsm_kdec(). */
enum azihsm_kfield_type { AZIHSM_KF_U16, AZIHSM_KF_U32, AZIHSM_KF_BOOL, AZIHSM_KF_BYTES };

struct azihsm_kfield {
	u8 id;
	enum azihsm_kfield_type type;
	bool optional;
	void *val;		/* u16 / u32 / bool / struct azihsm_kbytes */
};

struct azihsm_kbytes {
	const u8 *p;
	size_t len;
};

/* ksession.c */
void azihsm_ksess_init(struct azihsm_dev *hdev);
int azihsm_kdec(struct mbor_dec *d, const struct azihsm_kfield *f, unsigned int n);
int azihsm_kstatus_errno(u32 status);
int azihsm_kkey_import(struct azihsm_dev *hdev, struct azihsm_kkey *key, u8 type,
		       u32 usage, const void *material, unsigned int len);
void azihsm_kkey_release(struct azihsm_dev *hdev, struct azihsm_kkey *key);
int azihsm_kkey_run(struct azihsm_dev *hdev, struct azihsm_kkey *key,
		    struct azihsm_kcmd *kc);
int azihsm_kcmd_run(struct azihsm_dev *hdev, struct azihsm_kcmd *kc, bool in_session);
bool azihsm_kkey_fast_ids(struct azihsm_dev *hdev, struct azihsm_kkey *key,
			  u16 *session_id, u16 *app_id, u16 *key_id, s64 *gen);

/* kcrypto.c: every request goes through a worker that may sleep. */
struct azihsm_kc_req {
	struct work_struct work;
	struct list_head backlog;
	struct crypto_async_request *areq;
	struct azihsm_dev *hdev;
	int (*run)(struct azihsm_kc_req *r);
};

/* What a transform holds: its device and its key. */
struct azihsm_kc_tfm {
	struct azihsm_dev *hdev;
	struct azihsm_kkey key;
};

extern unsigned int azihsm_crypto_priority;
int azihsm_kc_enqueue(struct azihsm_dev *hdev, struct azihsm_kc_req *r,
		      struct crypto_async_request *areq,
		      int (*run)(struct azihsm_kc_req *r));
void azihsm_kc_retry(struct azihsm_dev *hdev, struct azihsm_kc_req *r,
		     struct crypto_async_request *areq,
		     int (*run)(struct azihsm_kc_req *r));
void azihsm_kc_fast_done(struct crypto_async_request *areq, int err);
int azihsm_kc_tfm_init(struct azihsm_kc_tfm *t);
void azihsm_kc_tfm_exit(struct azihsm_kc_tfm *t);
/* Set the transform's key: any earlier one is deleted first. */
int azihsm_kc_setkey(struct azihsm_kc_tfm *t, u8 type, u32 usage, const u8 *key,
		     unsigned int len);
/* Names, priority, module, flags and context size of one of our algorithms. */
void azihsm_kc_base(struct crypto_alg *base, const char *name, const char *driver,
		    unsigned int blocksize, unsigned int ctxsize);
void azihsm_kc_add_device(struct azihsm_dev *hdev);
void azihsm_kc_del_device(struct azihsm_dev *hdev);
int azihsm_kc_init(void);
void azihsm_kc_exit(void);

/* kc_skcipher.c, kc_aead.c, kc_hash.c, kc_akcipher.c */
int azihsm_skcipher_register(void);
void azihsm_skcipher_unregister(void);
int azihsm_aead_register(void);
void azihsm_aead_unregister(void);
int azihsm_hash_register(void);
void azihsm_hash_unregister(void);
int azihsm_akcipher_register(void);
void azihsm_akcipher_unregister(void);

#endif /* AZIHSM_KCRYPTO_H */
