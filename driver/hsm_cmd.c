// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm HSM commands: run one MBOR request on an HSM queue and wait for
 * the response, across resets; and the commands the driver builds itself
 * (GetRandom), encoded with the shared MBOR codec.
 */
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "azihsm.h"
#include "azihsm/msg.h"

static bool azihsm_settled(struct azihsm_dev *hdev)
{
	enum azihsm_state state = READ_ONCE(hdev->state);

	return state != AZIHSM_STATE_RESETTING && state != AZIHSM_STATE_INITIALIZING;
}

/*
 * Enter the I/O path: io_rwsem held for read and the device ready.
 * While a reset runs, wait for it (interruptibly, unless the command is
 * @uninterruptible) unless @nowait.
 */
static int azihsm_io_enter(struct azihsm_dev *hdev, const struct azihsm_hsm_cmd *cmd,
			   u32 *ext_status)
{
	bool nowait = cmd->nowait;
	enum azihsm_state state;

	for (;;) {
		if (nowait) {
			if (!down_read_trylock(&hdev->io_rwsem))
				return -EBUSY;
		} else if (cmd->uninterruptible) {
			down_read(&hdev->io_rwsem);
		} else if (down_read_interruptible(&hdev->io_rwsem)) {
			return -ERESTARTSYS;
		}
		state = READ_ONCE(hdev->state);
		if (state == AZIHSM_STATE_READY)
			return 0;
		up_read(&hdev->io_rwsem);
		switch (state) {
		case AZIHSM_STATE_GONE:
			return -ENODEV;
		case AZIHSM_STATE_DEAD:
			*ext_status = AZIHSM_EXT_RESET;
			return -EIO;
		default:
			break;
		}
		if (nowait)
			return -EBUSY;
		if (cmd->uninterruptible)
			wait_event(hdev->state_wq, azihsm_settled(hdev));
		else if (wait_event_interruptible(hdev->state_wq, azihsm_settled(hdev)))
			return -ERESTARTSYS;
	}
}

/* The queue of the CPU we run on: commands from one CPU stay in order. */
static struct azihsm_hsm_queue *azihsm_pick_queue(struct azihsm_dev *hdev)
{
	return hdev->hsm[raw_smp_processor_id() % hdev->nr_hsm];
}

static unsigned int azihsm_timeout_ms(const struct azihsm_hsm_cmd *cmd)
{
	unsigned int ms = cmd->timeout_ms ? cmd->timeout_ms : azihsm_cmd_timeout_ms;

	return clamp(ms, 1u, (unsigned int)AZIHSM_CMD_TIMEOUT_MAX_MS);
}

/* Put the request into the slot: a copy, or built in place. */
static int azihsm_slot_fill(struct azihsm_slot *slot, struct azihsm_hsm_cmd *cmd)
{
	int len;

	if (!cmd->build) {
		memcpy(slot->src, cmd->src, cmd->src_len);
		slot->src_used = cmd->src_len;
		return 0;
	}
	/* A build that fails may have written anywhere: wipe it all. */
	slot->src_used = 0;
	len = cmd->build(cmd->ctx, slot->src, cmd->src_len);
	if (len < 0)
		return len;
	if (!len || len > cmd->src_len)
		return -EINVAL;
	cmd->src_len = len;
	slot->src_used = len;
	return 0;
}

/*
 * Run @cmd. Returns 0 when the device completed it (cmd->status holds
 * its completion status, cmd->byte_count the response length, at most
 * dst_len); -ETIMEDOUT (the controller is then reset), -EIO when a reset
 * failed it or the device is dead, -ENODEV after removal, -ERESTARTSYS
 * if a signal came before the command was submitted (never for an
 * @uninterruptible one), -EBUSY for @nowait.
 */
int azihsm_hsm_exec(struct azihsm_dev *hdev, struct azihsm_hsm_cmd *cmd)
{
	struct azihsm_hsm_queue *q;
	struct azihsm_slot *slot;
	int ret;

	cmd->status = 0;
	cmd->byte_count = 0;
	cmd->ext_status = AZIHSM_EXT_OK;
	if (cmd->build) {
		if (!cmd->parse)
			return -EINVAL;
		cmd->src_len = AZIHSM_HSM_BUF_MAX;
		cmd->dst_len = AZIHSM_HSM_BUF_MAX;
	} else if (!cmd->src_len || !cmd->dst_len) {
		return -EINVAL;
	}

	for (;;) {
		ret = azihsm_io_enter(hdev, cmd, &cmd->ext_status);
		if (ret)
			return ret;
		/* Identify runs only with io_rwsem held for write. */
		if (cmd->build) {
			cmd->src_len = hdev->ident.buf_max;
			cmd->dst_len = hdev->ident.buf_max;
		}
		if (cmd->src_len > hdev->ident.buf_max ||
		    cmd->dst_len > hdev->ident.buf_max) {
			up_read(&hdev->io_rwsem);
			return -E2BIG;
		}
		q = azihsm_pick_queue(hdev);
		ret = azihsm_slot_get(q, cmd->nowait, cmd->uninterruptible, &slot);
		if (ret == 0) {
			ret = azihsm_slot_fill(slot, cmd);
			if (ret == 0)
				ret = azihsm_slot_submit(q, slot, cmd);
			if (ret == 0)
				break;
			azihsm_slot_put(q, slot);
		}
		up_read(&hdev->io_rwsem);
		if (ret == -ESTALE) {
			/* Its sessions died with the controller they were on. */
			cmd->ext_status = AZIHSM_EXT_RESET;
			return -EIO;
		}
		if (ret != -EAGAIN)
			return ret;
		/* Stopped for a reset or removal before we submitted: retry. */
	}

	ret = azihsm_slot_wait(q, slot, azihsm_timeout_ms(cmd));
	if (ret == -ETIMEDOUT) {
		/* The slot stays with the device until the reset. */
		cmd->ext_status = AZIHSM_EXT_TIMEOUT;
		azihsm_ctrl_schedule_reset(hdev, "HSM command timed out");
		up_read(&hdev->io_rwsem);
		return ret;
	}

	ret = slot->result;
	if (ret) {
		cmd->ext_status = slot->ext_status;
	} else {
		cmd->status = (le16_to_cpu(slot->cqe.status) >> AZIHSM_CQE_STATUS_SHIFT) &
			      AZIHSM_CQE_STATUS_MASK;
		cmd->byte_count = le16_to_cpu(slot->cqe.byte_count);
		cmd->cqe_flags = slot->cqe.flags;
		cmd->cqe_session_id = le16_to_cpu(slot->cqe.session_id);
		cmd->cqe_short_app_id = le16_to_cpu(slot->cqe.short_app_id);
		if (cmd->byte_count > cmd->dst_len) {
			dev_err_ratelimited(hdev->dev,
					    "device wrote %u bytes into a %u byte buffer\n",
					    cmd->byte_count, cmd->dst_len);
			cmd->byte_count = 0;
			ret = -EIO;
		} else if (cmd->parse && cmd->status == AZIHSM_SC_SUCCESS) {
			/* A failed completion carries no response to parse. */
			ret = cmd->parse(cmd->ctx, slot->dst, cmd->byte_count);
		} else {
			memcpy(cmd->dst, slot->dst, cmd->byte_count);
		}
	}
	azihsm_slot_put(q, slot);
	up_read(&hdev->io_rwsem);
	return ret;
}

/*
 * The SQE flush-session opcode: the device closes @session_id and drops
 * its keys if @short_app_id is the one it gave the session. Carries no
 * request; the PRP buffers are the slot's own, one byte long, never read.
 * Best effort: a device that is gone or resetting has lost its sessions
 * anyway; after a reset the id is not sent at all.
 */
void azihsm_flush_session(struct azihsm_dev *hdev, u16 session_id,
			  u16 short_app_id, s64 gen)
{
	u8 dummy = 0;
	struct azihsm_hsm_cmd cmd = {
		.opc = AZIHSM_HSQE_OPC_FLUSH_SESSION,
		.src = &dummy,
		.src_len = 1,
		.dst = &dummy,
		.dst_len = 1,
		.session_flags = AZIHSM_SESS_OP_CLOSE | AZIHSM_SESS_IN_SESSION,
		.session_id = session_id,
		.short_app_id = short_app_id,
		/* Never a session of a later controller that got the same id. */
		.gen_bound = true,
		.gen = gen,
	};
	int ret = azihsm_hsm_exec(hdev, &cmd);

	if (ret || cmd.status)
		dev_dbg(hdev->dev, "flush of session %u: %d, status %#x\n",
			session_id, ret, cmd.status);
}

/* Response room for GetRandom beyond the bytes themselves. */
#define AZIHSM_RANDOM_RSP_OVERHEAD	64

static int azihsm_parse_random(const u8 *rsp, size_t rsp_len, void *buf,
			       size_t len)
{
	struct azihsm_rsp_hdr hdr;
	struct mbor_dec d;
	const u8 *data;
	size_t data_len;
	bool has_data;

	mbor_dec_init(&d, rsp, rsp_len);
	if (azihsm_msg_parse_response(&d, &hdr, &has_data))
		return -EBADMSG;
	if (hdr.status != AZIHSM_STATUS_SUCCESS)
		return -EIO;
	if (!has_data || azihsm_msg_random_data(&d, &data, &data_len) ||
	    data_len != len)
		return -EBADMSG;
	memcpy(buf, data, len);
	return 0;
}

/*
 * Fill @buf with @len (1..AZIHSM_RANDOM_MAX) bytes from the device DRBG.
 * With @nowait, -EBUSY rather than wait for a queue slot or a reset.
 */
int azihsm_get_random(struct azihsm_dev *hdev, void *buf, size_t len,
		      bool nowait)
{
	struct azihsm_hsm_cmd cmd = { .nowait = nowait };
	u8 src[32];
	struct mbor_enc e;
	size_t src_len;
	u8 *rsp;
	int ret;

	if (!len || len > AZIHSM_RANDOM_MAX)
		return -EINVAL;
	mbor_enc_init(&e, src, sizeof(src));
	azihsm_msg_random_request(&e, len);
	if (mbor_enc_finish(&e, &src_len))
		return -EINVAL;

	cmd.dst_len = len + AZIHSM_RANDOM_RSP_OVERHEAD;
	rsp = kmalloc(cmd.dst_len, GFP_KERNEL);
	if (!rsp)
		return -ENOMEM;
	cmd.src = src;
	cmd.src_len = src_len;
	cmd.dst = rsp;
	ret = azihsm_hsm_exec(hdev, &cmd);
	if (!ret && cmd.status) {
		dev_err_ratelimited(hdev->dev, "GetRandom failed: status %#x\n",
				    cmd.status);
		ret = -EIO;
	}
	if (!ret)
		ret = azihsm_parse_random(rsp, cmd.byte_count, buf, len);
	kfree_sensitive(rsp);
	return ret;
}
