/* SPDX-License-Identifier: MIT */
/*
 * What the driver does with short_app_ids (driver/cdev.c), for the test
 * transports that hand the library's commands straight to the firmware
 * core (cli_fw_dev.c, test_lib_keys.c, test_lib_ops.c): remember the one
 * an OpenSession / OpenKernelSession CQE gives, put the one of the session
 * a request names (header field 3, else the SQE's) into the SQE.
 */
#ifndef AZIHSM_DRV_APP_ID_H
#define AZIHSM_DRV_APP_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "hsm_fw.h"

#define DRV_APP_IDS 16

static struct {
	uint16_t sid, app;
} drv_app_ids[DRV_APP_IDS];
static unsigned int drv_app_next;

static inline uint16_t drv_app_of(uint16_t sid)
{
	unsigned int i;

	for (i = 0; i < DRV_APP_IDS; i++)
		if (drv_app_ids[i].sid == sid && sid)
			return drv_app_ids[i].app;
	return 0;
}

/* Before hsm_fw_execute: the SQE's short_app_id. */
static inline void drv_app_fill(struct hsm_fw_cmd *cmd)
{
	struct azihsm_req_hdr h;
	struct mbor_dec d;
	bool has_data;

	if (cmd->session_flags & AZIHSM_SESS_IN_SESSION)
		cmd->short_app_id = drv_app_of(cmd->session_id);
	mbor_dec_init(&d, cmd->in, cmd->in_len);
	if (!azihsm_msg_parse_request(&d, &h, &has_data) && h.has_session)
		cmd->short_app_id = drv_app_of(h.session_id);
}

/* After it: remember a short_app_id the CQE gave. */
static inline void drv_app_record(const struct hsm_fw_cmd *cmd)
{
	unsigned int i;

	if (!(cmd->cqe_session_flags & AZIHSM_SESS_SHORT_APP_ID_VALID))
		return;
	for (i = 0; i < DRV_APP_IDS; i++)
		if (drv_app_ids[i].sid == cmd->cqe_session_id)
			break;
	if (i == DRV_APP_IDS)
		i = drv_app_next++ % DRV_APP_IDS;
	drv_app_ids[i].sid = cmd->cqe_session_id;
	drv_app_ids[i].app = cmd->cqe_short_app_id;
}

#endif
