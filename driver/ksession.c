// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel session: the driver's own device session, which holds the
 * keys of crypto-API transforms (OpenKernelSession 4030, include/azihsm/
 * msg.h). Opened on first use. A controller reset makes the device forget
 * every session; the driver notices (stats.resets moved), opens a new one
 * and re-enters each key from the masked blob KeyImport returned, so
 * transforms keep working. The driver never keeps a raw key. A zeroize
 * closes the session without a reset: the first command that hears
 * NO_SESSION marks it lost, and it is reopened the same way (the keys'
 * blobs no longer open then: those transforms fail until a new setkey).
 *
 * Locking: ksess.rwsem is held for read by every command that uses a key
 * id, for write while the session is (re)opened or the key list changes
 * (azihsm_ksess_lock()/_unlock(), which also raise and lower ksess.busy
 * under ksess.seq). The AES fast path reads the ids without the rwsem
 * (issue 9: its callers may be in softirq, where an rwsem, even a trylock,
 * is not allowed): one ksess.seq window with busy clear, or it takes the
 * control path.
 */
#include <linux/slab.h>
#include <linux/string.h>

#include "kcrypto.h"

void azihsm_ksess_init(struct azihsm_dev *hdev)
{
	init_rwsem(&hdev->ksess.rwsem);
	seqcount_init(&hdev->ksess.seq);
	INIT_LIST_HEAD(&hdev->ksess.keys);
}

int azihsm_kstatus_errno(u32 status)
{
	switch (status) {
	case AZIHSM_STATUS_SUCCESS:
		return 0;
	case AZIHSM_STATUS_NO_SESSION:
	case AZIHSM_STATUS_KEY_NOT_FOUND:
		return -ENOKEY;
	case AZIHSM_STATUS_BAD_TAG:
		return -EBADMSG;
	case AZIHSM_STATUS_MALFORMED:
	case AZIHSM_STATUS_INVALID_ARG:
	case AZIHSM_STATUS_KEY_TYPE:
		return -EINVAL;
	case AZIHSM_STATUS_UNKNOWN_OPCODE:
	case AZIHSM_STATUS_UNSUPPORTED_REV:
		return -EOPNOTSUPP;
	case AZIHSM_STATUS_KEY_USAGE:
	case AZIHSM_STATUS_WRONG_ROLE:
		return -EPERM;
	case AZIHSM_STATUS_VAULT_FULL:
	case AZIHSM_STATUS_QUOTA:	/* the kernel session's key quota */
	case AZIHSM_STATUS_SESSIONS_FULL:
		return -ENOSPC;
	case AZIHSM_STATUS_BAD_BLOB:
		return -EKEYREJECTED;
	case AZIHSM_STATUS_KERNEL_SESSION_OPEN:
		return -EBUSY;
	}
	return -EIO;
}

/* Decode a data map strictly: the fields of @f (ascending ids), no other. */
int azihsm_kdec(struct mbor_dec *d, const struct azihsm_kfield *f, unsigned int n)
{
	struct azihsm_kbytes *b;
	struct mbor_map m;
	unsigned int i = 0;
	u8 id;
	int ret;

	if (mbor_dec_map(d, &m))
		return -EBADMSG;
	while ((ret = mbor_dec_next(d, &m, &id)) == 1) {
		while (i < n && f[i].id < id) {
			if (!f[i].optional)
				return -EBADMSG;
			i++;
		}
		if (i == n || f[i].id != id)
			return -EBADMSG;
		switch (f[i].type) {
		case AZIHSM_KF_U16:
			ret = mbor_dec_u16(d, f[i].val);
			break;
		case AZIHSM_KF_U32:
			ret = mbor_dec_u32(d, f[i].val);
			break;
		case AZIHSM_KF_BOOL:
			ret = mbor_dec_bool(d, f[i].val);
			break;
		case AZIHSM_KF_BYTES:
			b = f[i].val;
			ret = mbor_dec_bytes(d, &b->p, &b->len);
			break;
		}
		if (ret)
			return -EBADMSG;
		i++;
	}
	if (ret < 0)
		return -EBADMSG;
	for (; i < n; i++)
		if (!f[i].optional)
			return -EBADMSG;
	return 0;
}

struct azihsm_kcall {
	struct azihsm_kcmd *kc;
	struct azihsm_req_hdr hdr;
	int err;		/* from @rsp */
};

static int azihsm_kcall_build(void *ctx, void *buf, u32 cap)
{
	struct azihsm_kcall *c = ctx;
	struct mbor_enc e;
	size_t len;
	int ret;

	mbor_enc_init(&e, buf, cap);
	azihsm_msg_begin_request(&e, &c->hdr);
	if (c->kc->req) {
		ret = c->kc->req(&e, c->kc);
		if (ret)
			return ret;
	} else {
		mbor_enc_map(&e, 0);
	}
	if (mbor_enc_finish(&e, &len))
		return -EMSGSIZE;
	return len;
}

static int azihsm_kcall_parse(void *ctx, const void *rsp, u32 len)
{
	struct azihsm_kcall *c = ctx;
	struct azihsm_rsp_hdr hdr;
	struct mbor_dec d;
	bool has_data;

	mbor_dec_init(&d, rsp, len);
	if (azihsm_msg_parse_response(&d, &hdr, &has_data) ||
	    hdr.req.opcode != c->hdr.opcode)
		return -EBADMSG;
	c->kc->status = hdr.status;
	c->kc->fips = hdr.fips_approved;
	if (hdr.status != AZIHSM_STATUS_SUCCESS)
		return 0;
	if (!has_data)
		return -EBADMSG;
	if (c->kc->rsp)
		c->err = c->kc->rsp(&d, c->kc);
	else
		c->err = azihsm_kdec(&d, NULL, 0);
	if (!c->err && mbor_dec_finish(&d))
		c->err = -EBADMSG;
	return 0;
}

/* Run @kc; in the kernel session when @in_session (caller holds rwsem). */
int azihsm_kcmd_run(struct azihsm_dev *hdev, struct azihsm_kcmd *kc, bool in_session)
{
	struct azihsm_kcall c = { .kc = kc };
	struct azihsm_hsm_cmd cmd = {
		.build = azihsm_kcall_build,
		.parse = azihsm_kcall_parse,
		.ctx = &c,
		/* Crypto-API callers cannot take -ERESTARTSYS (issue 9). */
		.uninterruptible = true,
	};
	int ret;

	c.hdr.opcode = kc->opcode;
	if (in_session) {
		c.hdr.has_session = true;
		c.hdr.session_id = hdev->ksess.id;
		cmd.session_flags = AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION;
		cmd.session_id = hdev->ksess.id;
		cmd.short_app_id = hdev->ksess.app_id;
	}
	kc->status = AZIHSM_STATUS_INTERNAL;
	kc->cqe_short_app_id = 0;
	kc->cqe_status = AZIHSM_SC_SUCCESS;
	ret = azihsm_hsm_exec(hdev, &cmd);
	if (ret)
		return ret;
	kc->cqe_status = cmd.status;
	if (cmd.cqe_flags & AZIHSM_SESS_SHORT_APP_ID_VALID)
		kc->cqe_short_app_id = cmd.cqe_short_app_id;
	if (cmd.status) {
		dev_err_ratelimited(hdev->dev, "kernel command %u: completion status %#x\n",
				    kc->opcode, cmd.status);
		return -EIO;
	}
	if (c.err)
		return c.err;
	if (in_session && kc->status == AZIHSM_STATUS_NO_SESSION)
		WRITE_ONCE(hdev->ksess.lost, true);
	return azihsm_kstatus_errno(kc->status);
}

static bool azihsm_ksess_current(struct azihsm_dev *hdev)
{
	return hdev->ksess.open && !READ_ONCE(hdev->ksess.lost) &&
	       hdev->ksess.gen == atomic64_read(&hdev->stats.resets);
}

static int azihsm_ksess_open_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	const struct azihsm_kfield f[] = {
		{ AZIHSM_KSESS_F_ID, AZIHSM_KF_U16, false, kc->ctx },
	};

	return azihsm_kdec(d, f, ARRAY_SIZE(f));
}

struct azihsm_unmask_ctx {
	const struct azihsm_kkey *key;
	u16 id;
};

static int azihsm_unmask_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_unmask_ctx *u = kc->ctx;

	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_UNMASK_F_BLOB);
	mbor_enc_bytes(e, u->key->blob, u->key->blob_len);
	return 0;
}

static int azihsm_unmask_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_unmask_ctx *u = kc->ctx;
	const struct azihsm_kfield f[] = {
		{ AZIHSM_UNMASK_F_KEY_ID, AZIHSM_KF_U16, false, &u->id },
	};

	return azihsm_kdec(d, f, ARRAY_SIZE(f));
}

/*
 * (Re)open the kernel session and re-enter every key. rwsem held for
 * write. A key that does not come back keeps id 0: its requests fail.
 */
static int azihsm_ksess_restore(struct azihsm_dev *hdev)
{
	struct azihsm_ksession *ks = &hdev->ksess;
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_OPEN_KERNEL_SESSION,
		.rsp = azihsm_ksess_open_rsp,
	};
	struct azihsm_unmask_ctx u;
	struct azihsm_kkey *key;
	bool reopen = ks->open;
	s64 gen;
	u16 id = 0;
	int ret;

	gen = atomic64_read(&hdev->stats.resets);
	ks->open = false;
	kc.ctx = &id;
	ret = azihsm_kcmd_run(hdev, &kc, false);
	if (ret) {
		dev_err_ratelimited(hdev->dev, "cannot open the kernel session: %d (status %#x)\n",
				    ret, kc.status);
		return ret;
	}
	ks->id = id;
	/* Every SQE in the session carries it (device.md, section 6). */
	ks->app_id = kc.cqe_short_app_id;
	ks->gen = gen;
	ks->open = true;
	WRITE_ONCE(ks->lost, false);

	list_for_each_entry(key, &ks->keys, node) {
		struct azihsm_kcmd um = {
			.opcode = AZIHSM_OP_UNMASK_KEY,
			.req = azihsm_unmask_req,
			.rsp = azihsm_unmask_rsp,
			.ctx = &u,
		};

		u.key = key;
		u.id = 0;
		key->id = 0;
		ret = azihsm_kcmd_run(hdev, &um, true);
		if (ret)
			dev_err_ratelimited(hdev->dev, "key not re-entered: %d (status %#x)\n",
					    ret, um.status);
		else
			key->id = u.id;
	}
	if (reopen)
		dev_info(hdev->dev, "kernel session %u reopened (reset or zeroize)\n", id);
	return 0;
}

struct azihsm_import_ctx {
	u8 type;
	u32 usage;
	const void *material;
	unsigned int len;
	u16 id;
	u8 *blob;
	u32 blob_len;
};

static int azihsm_import_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	struct azihsm_import_ctx *im = kc->ctx;

	mbor_enc_map(e, 3);
	mbor_enc_key(e, AZIHSM_IMPORT_F_TYPE);
	mbor_enc_u8(e, im->type);
	mbor_enc_key(e, AZIHSM_IMPORT_F_USAGE);
	mbor_enc_u32(e, im->usage);
	mbor_enc_key(e, AZIHSM_IMPORT_F_MATERIAL);
	mbor_enc_bytes(e, im->material, im->len);
	return 0;
}

static int azihsm_import_rsp(struct mbor_dec *d, struct azihsm_kcmd *kc)
{
	struct azihsm_import_ctx *im = kc->ctx;
	struct azihsm_kbytes blob;
	const struct azihsm_kfield f[] = {
		{ AZIHSM_IMPORT_F_KEY_ID, AZIHSM_KF_U16, false, &im->id },
		{ AZIHSM_IMPORT_F_BLOB, AZIHSM_KF_BYTES, false, &blob },
	};
	int ret = azihsm_kdec(d, f, ARRAY_SIZE(f));

	if (ret)
		return ret;
	if (!blob.len)
		return -EBADMSG;
	im->blob = kmemdup(blob.p, blob.len, GFP_KERNEL);
	if (!im->blob)
		return -ENOMEM;
	im->blob_len = blob.len;
	return 0;
}

static int azihsm_delete_req(struct mbor_enc *e, struct azihsm_kcmd *kc)
{
	mbor_enc_map(e, 1);
	mbor_enc_key(e, AZIHSM_KEY_F_ID);
	mbor_enc_u16(e, *(u16 *)kc->ctx);
	return 0;
}

static struct azihsm_kcmd azihsm_delete_cmd(u16 *id)
{
	return (struct azihsm_kcmd){
		.opcode = AZIHSM_OP_DELETE_KEY,
		.req = azihsm_delete_req,
		.ctx = id,
	};
}

static void azihsm_ksess_set_busy(struct azihsm_ksession *ks, bool busy)
{
	preempt_disable();
	write_seqcount_begin(&ks->seq);
	WRITE_ONCE(ks->busy, busy);
	write_seqcount_end(&ks->seq);
	preempt_enable();
}

/* rwsem for write; the fast path stays off until azihsm_ksess_unlock(). */
static void azihsm_ksess_lock(struct azihsm_ksession *ks)
{
	down_write(&ks->rwsem);
	azihsm_ksess_set_busy(ks, true);
}

static void azihsm_ksess_unlock(struct azihsm_ksession *ks)
{
	azihsm_ksess_set_busy(ks, false);
	up_write(&ks->rwsem);
}

/* Drop @key from the device and the list. rwsem held for write. */
static void azihsm_kkey_drop(struct azihsm_dev *hdev, struct azihsm_kkey *key)
{
	if (!key->blob)
		return;
	if (key->id && azihsm_ksess_current(hdev)) {
		struct azihsm_kcmd kc = azihsm_delete_cmd(&key->id);

		azihsm_kcmd_run(hdev, &kc, true);
	}
	list_del(&key->node);
	kfree_sensitive(key->blob);
	key->blob = NULL;
	key->blob_len = 0;
	key->id = 0;
}

/*
 * Import @material as a session key of the kernel session; a key @key
 * held before is deleted. The caller cleanses @material.
 */
int azihsm_kkey_import(struct azihsm_dev *hdev, struct azihsm_kkey *key, u8 type,
		       u32 usage, const void *material, unsigned int len)
{
	struct azihsm_import_ctx im = {
		.type = type, .usage = usage, .material = material, .len = len,
	};
	struct azihsm_kcmd kc = {
		.opcode = AZIHSM_OP_KEY_IMPORT,
		.req = azihsm_import_req,
		.rsp = azihsm_import_rsp,
		.ctx = &im,
	};
	int ret = 0;

	azihsm_ksess_lock(&hdev->ksess);
	azihsm_kkey_drop(hdev, key);
	if (!azihsm_ksess_current(hdev))
		ret = azihsm_ksess_restore(hdev);
	if (!ret)
		ret = azihsm_kcmd_run(hdev, &kc, true);
	if (ret == -ENOKEY && READ_ONCE(hdev->ksess.lost)) {
		ret = azihsm_ksess_restore(hdev);
		if (!ret)
			ret = azihsm_kcmd_run(hdev, &kc, true);
	}
	if (!ret) {
		key->id = im.id;
		key->type = type;
		key->blob = im.blob;
		key->blob_len = im.blob_len;
		list_add(&key->node, &hdev->ksess.keys);
	} else {
		kfree_sensitive(im.blob);
	}
	azihsm_ksess_unlock(&hdev->ksess);
	return ret;
}

void azihsm_kkey_release(struct azihsm_dev *hdev, struct azihsm_kkey *key)
{
	azihsm_ksess_lock(&hdev->ksess);
	azihsm_kkey_drop(hdev, key);
	azihsm_ksess_unlock(&hdev->ksess);
}

/* Hold the session for read, reopened and restored first if a reset lost it. */
static int azihsm_ksess_enter(struct azihsm_dev *hdev)
{
	int ret = 0;

	down_read(&hdev->ksess.rwsem);
	if (azihsm_ksess_current(hdev))
		return 0;
	up_read(&hdev->ksess.rwsem);
	azihsm_ksess_lock(&hdev->ksess);
	if (!azihsm_ksess_current(hdev))
		ret = azihsm_ksess_restore(hdev);
	azihsm_ksess_set_busy(&hdev->ksess, false);
	downgrade_write(&hdev->ksess.rwsem);
	if (ret)
		up_read(&hdev->ksess.rwsem);
	return ret;
}

/*
 * Run @kc in the kernel session with @key's current id (@key may be NULL
 * for a command that uses no key). A command that a reset overtook (the
 * session or key is gone, or the reset failed it) is run once more after
 * the session is restored, and so is one the device completed INTERNAL
 * (a device-side failure before the service ran: nothing changed) or one
 * that timed out (its answer would only have reached our own buffer; the
 * reset the timeout started closed the session and its keys, so the next
 * try waits for it and restores them).
 */
int azihsm_kkey_run(struct azihsm_dev *hdev, struct azihsm_kkey *key,
		    struct azihsm_kcmd *kc)
{
	int tries = 3, ret;
	s64 gen;

	do {
		ret = azihsm_ksess_enter(hdev);
		if (ret)
			return ret;
		gen = hdev->ksess.gen;
		kc->key_id = key ? key->id : 0;
		ret = (!key || kc->key_id) ? azihsm_kcmd_run(hdev, kc, true) : -ENOKEY;
		up_read(&hdev->ksess.rwsem);
		if (ret == -ETIMEDOUT ||
		    (ret == -EIO && kc->cqe_status == AZIHSM_SC_INTERNAL))
			continue;
		/* Otherwise only worth a retry if a reset or a zeroize lost the session. */
		if ((ret != -ENOKEY && ret != -EIO) ||
		    (atomic64_read(&hdev->stats.resets) == gen &&
		     !READ_ONCE(hdev->ksess.lost)))
			return ret;
	} while (--tries);
	return ret;
}

/*
 * For the AES fast path, which never sleeps: the kernel session's id,
 * @key's current id and the reset generation they belong to. False when
 * they are stale (a reset since: the control path restores them), being
 * changed, or @key has none; the caller then uses the control path.
 */
bool azihsm_kkey_fast_ids(struct azihsm_dev *hdev, struct azihsm_kkey *key,
			  u16 *session_id, u16 *app_id, u16 *key_id, s64 *gen)
{
	struct azihsm_ksession *ks = &hdev->ksess;
	unsigned int seq = raw_read_seqcount(&ks->seq);
	bool ok;

	if (seq & 1)
		return false;
	ok = !READ_ONCE(ks->busy) && azihsm_ksess_current(hdev) && key->id;
	if (ok) {
		*session_id = ks->id;
		*app_id = ks->app_id;
		*key_id = key->id;
		*gen = ks->gen;
	}
	/* A writer came in between: the values may not belong together. */
	if (read_seqcount_retry(&ks->seq, seq))
		return false;
	return ok;
}
