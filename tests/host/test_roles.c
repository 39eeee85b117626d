// SPDX-License-Identifier: MIT
/*
 * The role/service table (issue 9: "the role/service table in the docs must
 * match the code"). Two checks:
 *
 * 1. The "Service table" of Documentation/hsm-design.md and of
 *    Documentation/security-policy.md (section 4) each hold exactly the rows
 *    this test builds from the firmware's own table (hsm_fw_service_at) and
 *    hsm_auth's class matrix: every service, its session need, its class and
 *    which roles may call it.
 * 2. The firmware answers as the table says: every service that needs a
 *    session is called with no session, in an officer, a user and a kernel
 *    session and in sessions still on their default (must-change) PIN. The
 *    request carries an unknown field, so a service that lets the caller
 *    in refuses it as MALFORMED before it does anything; one that does not
 *    answers NO_SESSION, WRONG_ROLE or MUST_CHANGE_PIN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_fw.h"
#include "svc_util.h"
#include "tap.h"

#ifndef TOP_DIR
#define TOP_DIR "."
#endif
/* Each document that holds the service table (the firmware's list, one copy each). */
static const char *const docs[] = { "hsm-design.md", "security-policy.md" };
#define BEGIN_MARK "<!-- service-table begin"
#define END_MARK "<!-- service-table end"

#define MAX_ROWS 128

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* The table row for service @s, as the document writes it. */
static void row_of(const struct hsm_fw_service *s, char *out, size_t cap)
{
	unsigned int roles = s->cls ? hsm_auth_op_roles((enum hsm_auth_op)s->cls) : ~0u;
	bool mc = !s->cls || hsm_auth_op_while_must_change((enum hsm_auth_op)s->cls);

	snprintf(out, cap, "| %u | %s | %s | %s | %s | %s | %s | %s |", s->opcode, s->name,
		 s->need_session ? "needed" : "not needed",
		 s->cls ? hsm_auth_op_name((enum hsm_auth_op)s->cls) : "-",
		 yes_no(roles & (1u << HSM_ROLE_OFFICER)), yes_no(roles & (1u << HSM_ROLE_USER)),
		 yes_no(roles & (1u << HSM_ROLE_KERNEL)), yes_no(mc));
}

static int by_opcode(const void *a, const void *b)
{
	const struct hsm_fw_service *x = a, *y = b;

	return x->opcode < y->opcode ? -1 : x->opcode > y->opcode;
}

static unsigned int services(struct hsm_fw_service *s)
{
	unsigned int n = 0;

	while (n < MAX_ROWS && hsm_fw_service_at(n, &s[n]))
		n++;
	qsort(s, n, sizeof(*s), by_opcode);
	return n;
}

/* The document's rows between the markers, without the trailing newline. */
static unsigned int doc_rows(const char *doc, char rows[][512], bool *marked)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/Documentation/%s", TOP_DIR, doc);
	f = fopen(path, "r");
	char line[512];
	bool in = false;
	unsigned int n = 0;

	*marked = false;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, BEGIN_MARK, strlen(BEGIN_MARK))) {
			in = true;
			continue;
		}
		if (!strncmp(line, END_MARK, strlen(END_MARK))) {
			*marked = in;
			break;
		}
		/* Data rows start with "| <digit>"; the header rows do not. */
		if (in && line[0] == '|' && line[1] == ' ' && line[2] >= '0' && line[2] <= '9' &&
		    n < MAX_ROWS)
			memcpy(rows[n++], line, sizeof(line));
	}
	fclose(f);
	return n;
}

static void test_document(const char *name)
{
	static char doc[MAX_ROWS][512];
	struct hsm_fw_service s[MAX_ROWS];
	unsigned int n = services(s), nd, i, j;
	char want[256];
	bool marked;

	nd = doc_rows(name, doc, &marked);
	tap_ok(marked, "%s has the service table between its markers", name);
	tap_ok(n >= 30, "the firmware lists its services (%u)", n);
	tap_eq(nd, n, "%s lists as many services as the firmware", name);
	for (i = 0; i < n; i++) {
		row_of(&s[i], want, sizeof(want));
		for (j = 0; j < nd && strcmp(doc[j], want); j++)
			;
		if (!tap_ok(j < nd, "%s: row for %s (%u)", name, s[i].name, s[i].opcode))
			printf("#   want: %s\n", want);
		else if (!tap_eq(j, i, "%s: %s is in opcode order", name, s[i].name))
			printf("#   doc row %u: %s\n", j, doc[j]);
	}
}

/* ---- the firmware answers as the table says --------------------------- */

static const uint8_t *OFF_ID = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID;
static const uint8_t *OFF_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN;
static const uint8_t *USR_ID = (const uint8_t *)HSM_AUTH_DEFAULT_USER_ID;
static const uint8_t *USR_PIN0 = (const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN;
static const uint8_t *OFF_PIN1 = (const uint8_t *)"Tr4de-Ofc!9zQ#2w";
static const uint8_t *USR_PIN1 = (const uint8_t *)"Usr-7Kx!pQ2#mZ4v";

enum caller { C_NONE, C_OFFICER, C_USER, C_KERNEL, C_OFFICER_MC, C_USER_MC, C_N };
static const char *const caller_name[C_N] = {
	"no session", "officer", "user", "kernel session", "officer (must change PIN)",
	"user (must change PIN)",
};

/* A request for @op in @sid whose data map has one unknown field. */
static long call_unknown_field(struct hsm_fw *fw, uint32_t op, int sid)
{
	struct rsp r;
	struct rq q;
	struct mbor_enc *e = rq_begin(&q, op, sid);

	mbor_enc_map(e, 1);
	mbor_enc_key(e, 0xee);
	mbor_enc_u8(e, 0);
	return rq_send(fw, &q, &r);
}

static uint32_t expected(const struct hsm_fw_service *s, enum caller c)
{
	unsigned int roles = hsm_auth_op_roles((enum hsm_auth_op)s->cls);
	static const uint8_t role_of[C_N] = {
		[C_OFFICER] = HSM_ROLE_OFFICER, [C_USER] = HSM_ROLE_USER,
		[C_KERNEL] = HSM_ROLE_KERNEL, [C_OFFICER_MC] = HSM_ROLE_OFFICER,
		[C_USER_MC] = HSM_ROLE_USER,
	};

	if (c == C_NONE)
		return AZIHSM_STATUS_NO_SESSION;
	if ((c == C_OFFICER_MC || c == C_USER_MC) &&
	    !hsm_auth_op_while_must_change((enum hsm_auth_op)s->cls))
		return AZIHSM_STATUS_MUST_CHANGE_PIN;
	if (!(roles & (1u << role_of[c])))
		return AZIHSM_STATUS_WRONG_ROLE;
	return AZIHSM_STATUS_MALFORMED;
}

static void test_behaviour(void)
{
	static const struct hsm_auth_config acfg = { .pbkdf2_iter = 1000 };
	const struct hsm_fw_config cfg = { .serial = "ROLES-1", .fw_rev = "1", .auth = &acfg };
	struct hsm_fw *fw = hsm_fw_new(&cfg);
	struct hsm_fw_service s[MAX_ROWS];
	unsigned int n = services(s), i, c, bad = 0, calls = 0;
	int sid[C_N] = { NOSESS };
	struct rsp r;
	long st;

	if (!tap_ok(fw != NULL, "firmware starts"))
		return;
	/* Must-change sessions first: they stay restricted after the change. */
	sid[C_OFFICER_MC] = (int)svc_login(fw, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0);
	sid[C_USER_MC] = (int)svc_login(fw, HSM_ROLE_USER, USR_ID, USR_PIN0);
	sid[C_OFFICER] = (int)svc_login(fw, HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0);
	sid[C_USER] = (int)svc_login(fw, HSM_ROLE_USER, USR_ID, USR_PIN0);
	tap_eq(svc_change_pin(fw, (uint16_t)sid[C_OFFICER], HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0,
			      OFF_PIN1), 0, "officer changes its PIN");
	tap_eq(svc_change_pin(fw, (uint16_t)sid[C_USER], HSM_ROLE_USER, USR_ID, USR_PIN0,
			      USR_PIN1), 0, "user changes its PIN");
	st = call0(fw, AZIHSM_OP_OPEN_KERNEL_SESSION, NOSESS, &r);
	sid[C_KERNEL] = st ? -1 : (int)rsp_u16(&r, AZIHSM_KSESS_F_ID);
	for (c = C_OFFICER; c < C_N; c++)
		tap_ok(sid[c] > 0, "%s open", caller_name[c]);

	for (i = 0; i < n; i++) {
		if (!s[i].need_session)
			continue;
		for (c = C_NONE; c < C_N; c++) {
			uint32_t want = expected(&s[i], c);

			st = call_unknown_field(fw, s[i].opcode, sid[c]);
			calls++;
			if (st != (long)want) {
				bad++;
				printf("# %s by %s: got 0x%lx, want 0x%x\n", s[i].name,
				       caller_name[c], st, want);
			}
		}
	}
	tap_ok(calls > 100, "every session service called by every kind of caller (%u calls)",
	       calls);
	tap_eq(bad, 0, "every answer is the one the table gives");
	/* The calls changed nothing: every session is still open. */
	for (c = C_OFFICER; c < C_N; c++)
		tap_eq(call_unknown_field(fw, AZIHSM_OP_CLOSE_SESSION, sid[c]),
		       AZIHSM_STATUS_MALFORMED, "%s still open after the calls", caller_name[c]);
	hsm_fw_free(fw);
}

int main(void)
{
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++)
		test_document(docs[d]);
	test_behaviour();
	return tap_done();
}
