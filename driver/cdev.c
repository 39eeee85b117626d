// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm character device /dev/azihsm<N>: class "azihsm", open/release,
 * and the ioctls AZIHSM_IOCTL_CMD and AZIHSM_IOCTL_DEV_INFO.
 *
 * Minor numbers come from an allocating xarray that also maps a minor to
 * its device for open(), which takes a reference: a file outlives the
 * device's removal and then fails every ioctl with -ENODEV.
 */
#include <linux/cdev.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "azihsm.h"
#include "azihsm/msg.h"

static dev_t azihsm_devt;
static DEFINE_XARRAY_ALLOC(azihsm_minors);

/*
 * A static class with class_register() has the same API on 6.1 and 6.12
 * (class_create() changed). No devnode(): devtmpfs then creates the node
 * root-only, mode 0600, which is what an HSM wants.
 */
static struct class azihsm_class = {
	.name = KBUILD_MODNAME,
};

/* The session flag bits of the ABI are the SQE's. */
static_assert(AZIHSM_SESSION_OP_MASK == AZIHSM_SESS_OP_MASK);
static_assert(AZIHSM_SESSION_OP_OPEN == AZIHSM_SESS_OP_OPEN);
static_assert(AZIHSM_SESSION_OP_CLOSE == AZIHSM_SESS_OP_CLOSE);
static_assert(AZIHSM_SESSION_OP_IN == AZIHSM_SESS_OP_IN);
static_assert(AZIHSM_SESSION_ID_VALID == AZIHSM_SESS_IN_SESSION);
#define AZIHSM_SESSION_FLAGS_VALID (AZIHSM_SESSION_OP_MASK | AZIHSM_SESSION_ID_VALID)

/*
 * Per open file: the device sessions opened through it and not closed, so
 * that closing the file (or the process dying) flushes them in the device,
 * the published "flush session on close". A file holds at most as many
 * sessions as a partition has.
 */
#define AZIHSM_FILE_SESSIONS	8

struct azihsm_file {
	struct azihsm_dev *hdev;
	struct mutex lock;	/* sessions */
	u16 sessions[AZIHSM_FILE_SESSIONS];
	/* Each one's short_app_id: every SQE naming it carries it. */
	u16 app_ids[AZIHSM_FILE_SESSIONS];
	/* stats.resets when opened: a reset ends every session. */
	s64 session_gen[AZIHSM_FILE_SESSIONS];
	unsigned int nr_sessions;
};

/* Forget entry @i; f->lock held. */
static void azihsm_file_forget(struct azihsm_file *f, unsigned int i)
{
	f->nr_sessions--;
	f->sessions[i] = f->sessions[f->nr_sessions];
	f->app_ids[i] = f->app_ids[f->nr_sessions];
	f->session_gen[i] = f->session_gen[f->nr_sessions];
}

/*
 * Did this file open session @id in reset generation @gen (the current
 * one)? Only then may its requests name it: a session is its opener's,
 * however its id was learnt (Documentation/driver.md, "Sessions and
 * closing a file"). Its short_app_id into @app_id (may be NULL).
 */
static bool azihsm_file_owns(struct azihsm_file *f, u16 id, s64 gen,
			     u16 *app_id)
{
	unsigned int i;
	bool ret = false;

	mutex_lock(&f->lock);
	for (i = 0; i < f->nr_sessions; i++) {
		if (f->sessions[i] == id && f->session_gen[i] == gen) {
			ret = true;
			if (app_id)
				*app_id = f->app_ids[i];
		}
	}
	mutex_unlock(&f->lock);
	return ret;
}

/*
 * Follow the sessions the device says it opened and closed (issue 9): by
 * the completion's session id, in the generation the command ran in.
 * Entries of an older generation are dropped first: their sessions went
 * with the controller, and they must not keep a new one out of the table.
 */
static void azihsm_file_track(struct azihsm_file *f, const struct azihsm_hsm_cmd *hc)
{
	s64 now = atomic64_read(&f->hdev->stats.resets);
	unsigned int i;
	u16 app_id;

	if (hc->status)
		return;
	mutex_lock(&f->lock);
	for (i = f->nr_sessions; i--;)
		if (f->session_gen[i] != now)
			azihsm_file_forget(f, i);
	/* A reset since the command ran: what it opened or closed is gone. */
	if (hc->submit_gen != now)
		goto out;
	switch (hc->cqe_flags & AZIHSM_SESS_OP_MASK) {
	case AZIHSM_SESS_OP_OPEN:
		/* The device marks a session it really opened as in-session. */
		if (!(hc->cqe_flags & AZIHSM_SESS_IN_SESSION))
			break;
		app_id = (hc->cqe_flags & AZIHSM_SESS_SHORT_APP_ID_VALID) ?
			 hc->cqe_short_app_id : 0;
		for (i = 0; i < f->nr_sessions; i++) {
			if (f->sessions[i] == hc->cqe_session_id) {
				/* Reopened under the same id: the new one's. */
				f->app_ids[i] = app_id;
				goto out;
			}
		}
		if (f->nr_sessions < AZIHSM_FILE_SESSIONS) {
			f->session_gen[f->nr_sessions] = now;
			f->app_ids[f->nr_sessions] = app_id;
			f->sessions[f->nr_sessions++] = hc->cqe_session_id;
		}
		break;
	case AZIHSM_SESS_OP_CLOSE:
		if (!(hc->cqe_flags & AZIHSM_SESS_SAFE_TO_CLOSE))
			break;
		for (i = 0; i < f->nr_sessions; i++) {
			if (f->sessions[i] == hc->cqe_session_id) {
				azihsm_file_forget(f, i);
				break;
			}
		}
		break;
	}
out:
	mutex_unlock(&f->lock);
}

static bool azihsm_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static int azihsm_cmd_check(const struct azihsm_cmd *c)
{
	const struct azihsm_cmd_in *in = &c->in;

	if (c->hdr.size != sizeof(*c) || c->hdr.flags)
		return -EINVAL;
	if (in->opc || in->cmdset || in->psdt || in->rsvd20 || in->rsvd36 ||
	    in->rsvd49 || !azihsm_zero(in->rsvd13, sizeof(in->rsvd13)) ||
	    !azihsm_zero(in->rsvd52, sizeof(in->rsvd52)))
		return -EINVAL;
	if (!in->src_len || in->src_len > AZIHSM_CMD_BUF_MAX ||
	    !in->dst_len || in->dst_len > AZIHSM_CMD_BUF_MAX)
		return -EINVAL;
	if (in->session_flags & ~AZIHSM_SESSION_FLAGS_VALID)
		return -EINVAL;
	return 0;
}

/*
 * A file may name only the sessions it opened, in the request header or
 * in the SQE; the kernel session belongs to the driver: userspace may
 * neither open one nor name it (Documentation/driver.md). -EPERM
 * otherwise, -EINVAL for a request whose header does not decode; 1 when
 * it names a session of its own, 0 when it names none. *@app_id: the
 * short_app_id for the SQE, the one of the session the header names (the
 * device checks that one), else of the SQE's session, else 0.
 */
static int azihsm_cmd_allowed(struct azihsm_file *f, const struct azihsm_cmd *c,
			      const void *src, s64 gen, u16 *app_id)
{
	struct azihsm_req_hdr hdr;
	struct mbor_dec d;
	bool has_data;

	bool names = c->in.session_flags & AZIHSM_SESS_IN_SESSION;

	*app_id = 0;
	if (names && !azihsm_file_owns(f, c->in.session_id, gen, app_id))
		return -EPERM;
	/*
	 * Issue 9: what the driver cannot read it does not forward: its
	 * checks above would be blind to it (the firmware parses the header
	 * with the same code and would answer MALFORMED).
	 */
	mbor_dec_init(&d, src, c->in.src_len);
	if (azihsm_msg_parse_request(&d, &hdr, &has_data))
		return -EINVAL;
	if (hdr.opcode == AZIHSM_OP_OPEN_KERNEL_SESSION ||
	    (hdr.has_session &&
	     !azihsm_file_owns(f, hdr.session_id, gen, app_id)))
		return -EPERM;
	return names || hdr.has_session;
}

/*
 * The request and response go through kernel staging buffers, so no
 * user page fault (or userfaultfd stall) can happen while a queue slot
 * or io_rwsem is held.
 */
static long azihsm_ioctl_cmd(struct azihsm_file *f, struct azihsm_cmd __user *uarg)
{
	struct azihsm_dev *hdev = f->hdev;
	struct azihsm_hsm_cmd hc = { };
	struct azihsm_cmd c;
	void *src = NULL, *dst = NULL;
	long ret;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	ret = azihsm_cmd_check(&c);
	if (ret)
		return ret;

	src = kmalloc(c.in.src_len, GFP_KERNEL);
	dst = kmalloc(c.in.dst_len, GFP_KERNEL);
	if (!src || !dst) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(src, u64_to_user_ptr(c.in.src_buf), c.in.src_len)) {
		ret = -EFAULT;
		goto out;
	}
	/*
	 * The sessions it names are checked in this reset generation and the
	 * command goes to the device only in this one (issue 9).
	 */
	hc.gen = atomic64_read(&hdev->stats.resets);
	ret = azihsm_cmd_allowed(f, &c, src, hc.gen, &hc.short_app_id);
	if (ret < 0)
		goto out;
	hc.gen_bound = ret;
	hc.src = src;
	hc.src_len = c.in.src_len;
	hc.dst = dst;
	hc.dst_len = c.in.dst_len;
	hc.session_flags = c.in.session_flags;
	hc.session_id = c.in.session_id;
	hc.timeout_ms = c.hdr.timeout_ms;
	ret = azihsm_hsm_exec(hdev, &hc);
	if (ret == -ERESTARTSYS || ret == -EBUSY)
		goto out;
	if (!ret)
		azihsm_file_track(f, &hc);

	if (!ret && hc.byte_count &&
	    copy_to_user(u64_to_user_ptr(c.in.dst_buf), dst, hc.byte_count)) {
		ret = -EFAULT;
		goto out;
	}
	memset(&c.out, 0, sizeof(c.out));
	c.out.ctxt = c.in.ctxt;
	c.out.status = hc.status;
	c.out.byte_count = hc.byte_count;
	c.out.ext_status = hc.ext_status;
	if (copy_to_user(&uarg->out, &c.out, sizeof(c.out)))
		ret = -EFAULT;
out:
	kfree_sensitive(src);
	kfree_sensitive(dst);
	return ret;
}

static long azihsm_ioctl_dev_info(struct azihsm_dev *hdev,
				  struct azihsm_dev_info __user *uarg)
{
	struct azihsm_dev_info *info;
	struct azihsm_ident ident;
	u32 argsz;
	long ret;

	if (get_user(argsz, &uarg->argsz))
		return -EFAULT;
	if (argsz < sizeof(*info))
		return -EINVAL;
	if (READ_ONCE(hdev->state) == AZIHSM_STATE_GONE)
		return -ENODEV;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	azihsm_ident_get(hdev, &ident);
	info->argsz = sizeof(*info);
	info->id = ident.ctrl_id;
	strscpy(info->pci_info, hdev->pci_name, sizeof(info->pci_info));
	strscpy(info->serial_num, ident.serial, sizeof(info->serial_num));
	/* The published ABI has room for 4 characters of model only. */
	strscpy(info->model_num, ident.model, sizeof(info->model_num));
	strscpy(info->firmware_rev, ident.fw_rev, sizeof(info->firmware_rev));
	strscpy(info->driver_rev, AZIHSM_DRV_VERSION, sizeof(info->driver_rev));
	ret = azihsm_get_random(hdev, info->device_entropy,
				sizeof(info->device_entropy), false);
	/*
	 * A device in its error state refuses GetRandom (-EIO) but must still
	 * be identifiable, to say why: the entropy is then all zero.
	 */
	if (ret == -EIO) {
		memset(info->device_entropy, 0, sizeof(info->device_entropy));
		ret = 0;
	}
	if (!ret && copy_to_user(uarg, info, sizeof(*info)))
		ret = -EFAULT;
	kfree_sensitive(info);
	return ret;
}

static long azihsm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct azihsm_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case AZIHSM_IOCTL_CMD:
		return azihsm_ioctl_cmd(f, uarg);
	case AZIHSM_IOCTL_DEV_INFO:
		return azihsm_ioctl_dev_info(f->hdev, uarg);
	default:
		return -ENOTTY;
	}
}

static int azihsm_open(struct inode *inode, struct file *file)
{
	struct azihsm_dev *hdev;
	struct azihsm_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	xa_lock(&azihsm_minors);
	hdev = xa_load(&azihsm_minors, iminor(inode));
	if (hdev)
		kref_get(&hdev->kref);
	xa_unlock(&azihsm_minors);
	if (!hdev) {
		kfree(f);
		return -ENODEV;
	}
	f->hdev = hdev;
	mutex_init(&f->lock);
	file->private_data = f;
	return stream_open(inode, file);
}

static int azihsm_release(struct inode *inode, struct file *file)
{
	struct azihsm_file *f = file->private_data;
	unsigned int i;

	/*
	 * Sessions this file left open die with it, and their keys too; only
	 * those of the current controller (issue 9: an older id may be
	 * another file's now).
	 */
	for (i = 0; i < f->nr_sessions; i++)
		if (f->session_gen[i] == atomic64_read(&f->hdev->stats.resets))
			azihsm_flush_session(f->hdev, f->sessions[i],
					     f->app_ids[i], f->session_gen[i]);
	azihsm_dev_put(f->hdev);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static const struct file_operations azihsm_fops = {
	.owner = THIS_MODULE,
	.open = azihsm_open,
	.release = azihsm_release,
	.unlocked_ioctl = azihsm_ioctl,
	/* The ABI has the same layout for 32-bit callers. */
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * Publish the device: minor, cdev, then the class device with its
 * attributes (created together, before udev hears of it).
 */
int azihsm_cdev_add(struct azihsm_dev *hdev)
{
	u32 minor;
	dev_t devt;
	int ret;

	ret = xa_alloc(&azihsm_minors, &minor, NULL,
		       XA_LIMIT(0, AZIHSM_MINORS - 1), GFP_KERNEL);
	if (ret) {
		dev_err(hdev->dev, "no free minor: %d\n", ret);
		return ret;
	}
	hdev->minor = minor;
	devt = MKDEV(MAJOR(azihsm_devt), minor);

	hdev->cdev = cdev_alloc();
	if (!hdev->cdev) {
		ret = -ENOMEM;
		goto err_minor;
	}
	hdev->cdev->owner = THIS_MODULE;
	hdev->cdev->ops = &azihsm_fops;
	/* Reachable from open() from now on; the device is fully up. */
	ret = xa_err(xa_store(&azihsm_minors, minor, hdev, GFP_KERNEL));
	if (!ret)
		ret = cdev_add(hdev->cdev, devt, 1);
	if (ret) {
		kobject_put(&hdev->cdev->kobj);
		goto err_minor;
	}
	hdev->class_dev = device_create_with_groups(&azihsm_class, hdev->dev,
						    devt, hdev, azihsm_groups,
						    KBUILD_MODNAME "%u", minor);
	if (IS_ERR(hdev->class_dev)) {
		ret = PTR_ERR(hdev->class_dev);
		goto err_cdev;
	}
	return 0;

err_cdev:
	cdev_del(hdev->cdev);
err_minor:
	xa_erase(&azihsm_minors, minor);
	hdev->cdev = NULL;
	hdev->class_dev = NULL;
	hdev->minor = -1;
	return ret;
}

void azihsm_cdev_del(struct azihsm_dev *hdev)
{
	/* New opens fail from here; open files keep their reference. */
	xa_erase(&azihsm_minors, hdev->minor);
	device_destroy(&azihsm_class, hdev->class_dev->devt);
	cdev_del(hdev->cdev);
	hdev->cdev = NULL;
	hdev->class_dev = NULL;
}

int azihsm_chrdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&azihsm_devt, 0, AZIHSM_MINORS, KBUILD_MODNAME);
	if (ret)
		return ret;
	ret = class_register(&azihsm_class);
	if (ret)
		unregister_chrdev_region(azihsm_devt, AZIHSM_MINORS);
	return ret;
}

void azihsm_chrdev_exit(void)
{
	class_unregister(&azihsm_class);
	unregister_chrdev_region(azihsm_devt, AZIHSM_MINORS);
}
