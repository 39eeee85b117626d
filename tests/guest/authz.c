// SPDX-License-Identifier: MIT
/*
 * Issue 9, proof: the guest plays the attacker against the real device
 * through the real QEMU glue, and nothing it tries uses, changes or reads
 * a key without the right login.
 *
 * Set-up (driver bound): the officer makes a persistent AES-256 key and
 * encrypts a known block with it; the vault's key list is noted.
 *
 * With the driver unbound, a userspace controller (uctl.c) writes raw SQEs:
 *  - AES fast-path SQEs on the persistent key with session 0, with every
 *    small session id and with random (session, short_app_id) pairs: all
 *    refused (AES_KEY_INVALID), the destination untouched;
 *  - a kernel session of its own (the first OpenKernelSession after the
 *    controller reset it did is allowed), a second OpenKernelSession
 *    refused; the kernel session's own imported key works on the fast
 *    path (output checked with OpenSSL: the positive control), but not
 *    with a wrong short_app_id or session id, and the persistent key not
 *    at all; in-session HSM commands and the flush with a wrong
 *    short_app_id are refused and change nothing; the right flush ends it.
 * Through the ioctl with the driver bound, a root process without a login
 * can name neither the persistent key (NO_SESSION) nor the officer's live
 * session (the driver refuses: EPERM).
 * Afterwards the key list is the same and the key still decrypts.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "azihsm/azihsm.h"
#include "azihsm/hw.h"
#include "azihsm/msg.h"
#include "guest_util.h"
#include "gt_harness.h"
#include "uctl.h"

#define PK_LABEL	"authz-persistent"
#define DATA_LEN	64
#define MAX_KEYS	256
#define GUESSES		256

static const uint8_t plain[DATA_LEN] = "issue 9: no key without a login, on any path, ever.";
static const uint8_t iv[16] = { 0x9a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* What the set-up saw, for the checks at the end. */
struct vault_view {
	uint16_t pk;
	uint8_t ct[DATA_LEN];
	size_t n;
	uint16_t ids[MAX_KEYS];
};

static int view_keys(struct azihsm_session *s, struct vault_view *v)
{
	static struct azihsm_key_info keys[MAX_KEYS];
	int ret = azihsm_key_list(s, keys, MAX_KEYS, &v->n);

	for (size_t i = 0; !ret && i < v->n && i < MAX_KEYS; i++)
		v->ids[i] = keys[i].id;
	return ret;
}

static int cbc(struct azihsm_session *s, uint16_t key, bool decrypt, const uint8_t *in,
	       uint8_t *out)
{
	struct azihsm_aes_params p = {
		.mode = AZIHSM_AES_MODE_CBC, .decrypt = decrypt, .iv = iv, .iv_len = 16,
	};
	size_t n = 0;
	int ret = azihsm_aes_crypt(s, key, &p, in, DATA_LEN, out, DATA_LEN, &n, NULL);

	return ret ? ret : (n == DATA_LEN ? 0 : -EPROTO);
}

/* ---- raw requests ------------------------------------------------------ */

static int req_begin(struct mbor_enc *e, uint8_t *buf, size_t cap, uint32_t op, int sid)
{
	struct azihsm_req_hdr h = { .opcode = op };

	if (sid >= 0) {
		h.has_session = true;
		h.session_id = (uint16_t)sid;
	}
	mbor_enc_init(e, buf, cap);
	azihsm_msg_begin_request(e, &h);
	return 0;
}

static size_t req_end(struct mbor_enc *e)
{
	size_t len = 0;

	return mbor_enc_finish(e, &len) ? 0 : len;
}

/* The HSM status of the answer in the RSP page, or UINT32_MAX. */
static uint32_t rsp_status(struct uctl *u, const struct azihsm_hsm_cqe *cqe)
{
	uint32_t st;

	if (gt_rsp_status(uctl_page(u, UCTL_RSP), le16toh(cqe->byte_count), &st))
		return UINT32_MAX;
	return st;
}

/* An HSM SQE in session @sid with @app, or outside any session (@sid < 0). */
static void hsm_sqe(struct azihsm_hsm_sqe *s, int sid, uint16_t app)
{
	memset(s, 0, sizeof(*s));
	if (sid >= 0) {
		s->flags = AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION;
		s->session_id = htole16((uint16_t)sid);
		s->short_app_id = htole16(app);
	}
}

/* Field @want (u16) of the answer's data map, or -1. */
static long rsp_u16(struct uctl *u, const struct azihsm_hsm_cqe *cqe, uint8_t want)
{
	struct azihsm_rsp_hdr h;
	struct mbor_dec d;
	struct mbor_map m;
	bool has_data;
	uint16_t v;
	uint8_t id;

	mbor_dec_init(&d, uctl_page(u, UCTL_RSP), le16toh(cqe->byte_count));
	if (azihsm_msg_parse_response(&d, &h, &has_data) || !has_data || mbor_dec_map(&d, &m))
		return -1;
	while (mbor_dec_next(&d, &m, &id) == 1) {
		if (id == want)
			return mbor_dec_u16(&d, &v) ? -1 : v;
		mbor_dec_skip(&d);
	}
	return -1;
}

/* OpenKernelSession on the raw queue: the HSM status; the id and app id. */
static uint32_t open_kernel(struct uctl *u, uint16_t *sid, uint16_t *app)
{
	struct azihsm_hsm_cqe cqe;
	struct azihsm_hsm_sqe s;
	struct mbor_enc e;
	uint8_t req[64];
	size_t len;
	uint32_t st;

	req_begin(&e, req, sizeof(req), AZIHSM_OP_OPEN_KERNEL_SESSION, -1);
	mbor_enc_map(&e, 0);
	len = req_end(&e);
	hsm_sqe(&s, -1, 0);
	if (uctl_hsm(u, &s, req, len, 4096, &cqe))
		return UINT32_MAX;
	st = rsp_status(u, &cqe);
	if (!st) {
		*sid = le16toh(cqe.session_id);
		*app = le16toh(cqe.short_app_id);
		if (!(cqe.flags & AZIHSM_SESS_SHORT_APP_ID_VALID) ||
		    rsp_u16(u, &cqe, AZIHSM_KSESS_F_ID) != *sid)
			return UINT32_MAX - 1;
	}
	return st;
}

/* KeyImport of an AES-256 key in session @sid / @app: status, key id. */
static uint32_t import_aes(struct uctl *u, uint16_t sid, uint16_t app, const uint8_t key[32],
			   uint16_t *kid)
{
	struct azihsm_hsm_cqe cqe;
	struct azihsm_hsm_sqe s;
	struct mbor_enc e;
	uint8_t req[128];
	size_t len;
	uint32_t st;

	req_begin(&e, req, sizeof(req), AZIHSM_OP_KEY_IMPORT, sid);
	mbor_enc_map(&e, 3);
	mbor_enc_key(&e, AZIHSM_IMPORT_F_TYPE);
	mbor_enc_u8(&e, AZIHSM_KEY_TYPE_AES256);
	mbor_enc_key(&e, AZIHSM_IMPORT_F_USAGE);
	mbor_enc_u32(&e, AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT);
	mbor_enc_key(&e, AZIHSM_IMPORT_F_MATERIAL);
	mbor_enc_bytes(&e, key, 32);
	len = req_end(&e);
	hsm_sqe(&s, sid, app);
	if (uctl_hsm(u, &s, req, len, 4096, &cqe))
		return UINT32_MAX;
	st = rsp_status(u, &cqe);
	if (!st) {
		long id = rsp_u16(u, &cqe, AZIHSM_IMPORT_F_KEY_ID);

		if (id <= 0)
			return UINT32_MAX - 1;
		*kid = (uint16_t)id;
	}
	return st;
}

/* An empty-data in-session request (@op) with @app: the HSM status. */
static uint32_t in_session(struct uctl *u, uint32_t op, uint16_t sid, uint16_t app)
{
	struct azihsm_hsm_cqe cqe;
	struct azihsm_hsm_sqe s;
	struct mbor_enc e;
	uint8_t req[64];
	size_t len;

	req_begin(&e, req, sizeof(req), op, sid);
	mbor_enc_map(&e, 0);
	len = req_end(&e);
	hsm_sqe(&s, sid, app);
	if (uctl_hsm(u, &s, req, len, 4096, &cqe))
		return UINT32_MAX;
	return rsp_status(u, &cqe);
}

/* The flush-session SQE for @sid / @app (what a driver sends on close). */
static int flush(struct uctl *u, uint16_t sid, uint16_t app)
{
	struct azihsm_hsm_cqe cqe;
	struct azihsm_hsm_sqe s;
	uint8_t none = 0;

	hsm_sqe(&s, sid, app);
	s.dw0 = htole32(AZIHSM_HSQE_OPC_FLUSH_SESSION);
	return uctl_hsm(u, &s, &none, 0, 0, &cqe);
}

/*
 * AES-256-CBC of DATA_LEN bytes from the SRC page into the DST page on the
 * fast path, with the SQE naming @sid / @app and @key. The DST page is set
 * to a pattern first. Returns the completion status; *@touched says
 * whether any byte of the destination changed.
 */
static int fast_cbc(struct uctl *u, uint16_t sid, uint16_t app, uint32_t key, bool decrypt,
		    struct azihsm_aes_cqe *cqe, bool *touched)
{
	struct azihsm_aes_sqe s;
	uint8_t *dst = uctl_page(u, UCTL_DST);
	int sc;

	memset(dst, 0xa5, DATA_LEN);
	memset(&s, 0, sizeof(s));
	s.attr = htole16((decrypt ? AZIHSM_AES_ATTR_DECRYPT : 0) | AZIHSM_AES_ATTR_PSDT_SGL |
			 (AZIHSM_AES_ATTR_CMD_TYPE_AES << AZIHSM_AES_ATTR_CMD_TYPE_SHIFT) |
			 (AZIHSM_AES_CIPHER_CBC << AZIHSM_AES_ATTR_CIPHER_SHIFT));
	s.session_id = htole16(sid);
	s.short_app_id = htole16(app);
	s.src_len = htole32(DATA_LEN);
	s.src.addr = htole64(u->phys[UCTL_SRC]);
	s.src.len = htole32(DATA_LEN);
	s.src.type = AZIHSM_SGL_TYPE_DATA << 4;
	s.dst_len = htole32(DATA_LEN);
	s.dst.addr = htole64(u->phys[UCTL_DST]);
	s.dst.len = htole32(DATA_LEN);
	s.dst.type = AZIHSM_SGL_TYPE_DATA << 4;
	s.frame_type = htole32(AZIHSM_AES_FRAME_TYPE);
	s.cbc.key_id = htole32(key);
	memcpy(s.cbc.iv, iv, 16);
	sc = uctl_aes(u, &s, cqe);
	*touched = false;
	for (int i = 0; i < DATA_LEN; i++)
		*touched |= dst[i] != 0xa5;
	return sc;
}

static int ossl_cbc(const uint8_t key[32], const uint8_t *in, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) && EVP_EncryptUpdate(c, out, &n, in, DATA_LEN);
	EVP_CIPHER_CTX_free(c);
	return ok && n == DATA_LEN ? 0 : -1;
}

/* ---- the fixture ------------------------------------------------------- */

FIXTURE(authz) {
	struct vault_view before;
	struct uctl u;
	bool raw;
};

/* The officer's persistent key, its ciphertext and the key list. */
static void officer_setup(struct __test_metadata *_metadata, struct vault_view *v)
{
	struct azihsm_session *s = NULL;
	struct azihsm_dev *dev = NULL;
	int ret;

	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, gt_officer_login(dev, &s))
		TH_LOG("officer login: %s", azihsm_status_str(azihsm_last_status(dev)));
	ret = azihsm_key_open(s, PK_LABEL, strlen(PK_LABEL), &v->pk);
	if (ret)
		ret = azihsm_key_generate(s, AZIHSM_KEY_TYPE_AES256,
					  AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT,
					  PK_LABEL, strlen(PK_LABEL), true, &v->pk);
	ASSERT_EQ(0, ret) TH_LOG("persistent key: %s", azihsm_status_str(azihsm_last_status(dev)));
	ASSERT_EQ(0, cbc(s, v->pk, false, plain, v->ct));
	ASSERT_EQ(0, view_keys(s, v));
	azihsm_logout(s);
	azihsm_close(dev);
}

FIXTURE_SETUP(authz)
{
	memset(self, 0, sizeof(*self));
	officer_setup(_metadata, &self->before);
}

/* Nothing in the vault changed and the persistent key still decrypts. */
FIXTURE_TEARDOWN(authz)
{
	struct azihsm_session *s = NULL;
	struct azihsm_dev *dev = NULL;
	struct vault_view after;
	uint8_t out[DATA_LEN];

	if (self->raw)
		uctl_close(&self->u);
	ASSERT_EQ(0, gt_device_works()) TH_LOG("the driver did not come back");
	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, gt_officer_login(dev, &s));
	ASSERT_EQ(0, view_keys(s, &after));
	EXPECT_EQ(self->before.n, after.n);
	EXPECT_EQ(0, memcmp(self->before.ids, after.ids, after.n * sizeof(after.ids[0])))
		TH_LOG("the vault's key ids changed");
	ASSERT_EQ(0, cbc(s, self->before.pk, true, self->before.ct, out));
	EXPECT_EQ(0, memcmp(out, plain, DATA_LEN)) TH_LOG("the persistent key changed");
	azihsm_logout(s);
	azihsm_close(dev);
}

static void go_raw(struct __test_metadata *_metadata, FIXTURE_DATA(authz) *self)
{
	self->raw = true;
	ASSERT_EQ(0, uctl_open(&self->u));
	ASSERT_EQ(0, uctl_io_queues(&self->u));
	memcpy(uctl_page(&self->u, UCTL_SRC), self->before.ct, DATA_LEN);
}

/* Issue 9, item "AES fast path with no session": no guess gets in. */
TEST_F(authz, fast_path_without_a_session)
{
	struct uctl *u = &self->u;
	struct azihsm_aes_cqe cqe;
	unsigned int seed = 0x1509, used = 0, touched_n = 0, other = 0;
	bool touched;
	int sc;

	go_raw(_metadata, self);
	for (unsigned int i = 0; i < 2 * GUESSES + 1; i++) {
		/* Session 0, then every id below GUESSES, then random pairs. */
		uint16_t sid = i <= GUESSES ? (uint16_t)i : (uint16_t)rand_r(&seed);
		uint16_t app = i <= GUESSES ? 0 : (uint16_t)rand_r(&seed);

		sc = fast_cbc(u, sid, app, self->before.pk, true, &cqe, &touched);
		used += sc == 0;
		touched_n += touched;
		other += sc != AZIHSM_SC_AES_KEY_INVALID;
	}
	EXPECT_EQ(0, used) TH_LOG("%u SQEs used the persistent key without a login", used);
	EXPECT_EQ(0, touched_n) TH_LOG("%u refused SQEs wrote to the destination", touched_n);
	EXPECT_EQ(0, other) TH_LOG("%u SQEs not refused as AES_KEY_INVALID", other);
}

/* Issue 9, items "session identity" and "one rule for every path". */
TEST_F(authz, kernel_session_of_an_attacker)
{
	static const uint8_t key[32] = "an attacker's own AES-256 key...";
	struct uctl *u = &self->u;
	struct azihsm_aes_cqe cqe;
	uint8_t want[DATA_LEN];
	uint16_t ks = 0, ka = 0, s2, a2, kk = 0;
	bool touched;

	go_raw(_metadata, self);
	memcpy(uctl_page(u, UCTL_SRC), plain, DATA_LEN);
	ASSERT_EQ(0, ossl_cbc(key, plain, want));

	/* Our controller reset ended the driver's kernel session: ours now. */
	ASSERT_EQ(0, open_kernel(u, &ks, &ka));
	EXPECT_EQ(AZIHSM_STATUS_KERNEL_SESSION_OPEN, open_kernel(u, &s2, &a2))
		TH_LOG("a second OpenKernelSession must not replace the first");
	ASSERT_EQ(0, import_aes(u, ks, ka, key, &kk));

	/* The positive control: our own key, our session, our app id. */
	ASSERT_EQ(0, fast_cbc(u, ks, ka, kk, false, &cqe, &touched));
	EXPECT_EQ(0, memcmp(uctl_page(u, UCTL_DST), want, DATA_LEN));

	/* Not with a wrong short_app_id, another session id or session 0. */
	EXPECT_EQ(AZIHSM_SC_AES_KEY_INVALID, fast_cbc(u, ks, ka ^ 1, kk, false, &cqe, &touched));
	EXPECT_FALSE(touched);
	EXPECT_EQ(AZIHSM_SC_AES_KEY_INVALID, fast_cbc(u, ks ^ 1, ka, kk, false, &cqe, &touched));
	EXPECT_FALSE(touched);
	EXPECT_EQ(AZIHSM_SC_AES_KEY_INVALID, fast_cbc(u, 0, 0, kk, false, &cqe, &touched));
	EXPECT_FALSE(touched);

	/* The kernel session never sees a persistent key. */
	memcpy(uctl_page(u, UCTL_SRC), self->before.ct, DATA_LEN);
	EXPECT_EQ(AZIHSM_SC_AES_KEY_INVALID,
		  fast_cbc(u, ks, ka, self->before.pk, true, &cqe, &touched));
	EXPECT_FALSE(touched);
	EXPECT_EQ(AZIHSM_STATUS_KEY_NOT_FOUND, le16toh(cqe.err));

	/* Control path: a wrong short_app_id is no session at all. */
	EXPECT_EQ(AZIHSM_STATUS_NO_SESSION, in_session(u, AZIHSM_OP_KEY_LIST, ks, ka ^ 0x100));
	EXPECT_EQ(AZIHSM_STATUS_NO_SESSION, in_session(u, AZIHSM_OP_KEY_LIST, ks, 0));
	EXPECT_EQ(0, in_session(u, AZIHSM_OP_KEY_LIST, ks, ka));

	/* A flush with the wrong short_app_id ends nothing... */
	EXPECT_EQ(0, flush(u, ks, ka ^ 0x8000));
	memcpy(uctl_page(u, UCTL_SRC), plain, DATA_LEN);
	EXPECT_EQ(0, fast_cbc(u, ks, ka, kk, false, &cqe, &touched))
		TH_LOG("a flush without the short_app_id closed the session");
	/* ...the right one does, and the key goes with the session. */
	EXPECT_EQ(0, flush(u, ks, ka));
	EXPECT_EQ(AZIHSM_SC_AES_KEY_INVALID, fast_cbc(u, ks, ka, kk, false, &cqe, &touched));
	EXPECT_FALSE(touched);
}

/* Issue 9: through the ioctl, root without a login gets nothing. */
TEST_F(authz, ioctl_without_a_login)
{
	struct azihsm_session *s = NULL;
	struct azihsm_dev *dev = NULL;
	uint8_t req[256], rsp[4096];
	struct azihsm_cmd c;
	struct mbor_enc e;
	uint32_t cq = 1, hsm = 0;
	int fd, len;

	/* The officer holds a session in another file meanwhile. */
	ASSERT_EQ(0, azihsm_open(GT_DEV, &dev));
	ASSERT_EQ(0, gt_officer_login(dev, &s));
	fd = gt_open();
	ASSERT_LE(0, fd);

	/* The persistent key with no session: NO_SESSION. */
	req_begin(&e, req, sizeof(req), AZIHSM_OP_KEY_EXPORT_MASKED, -1);
	mbor_enc_map(&e, 1);
	mbor_enc_key(&e, AZIHSM_MASK_F_KEY_ID);
	mbor_enc_u16(&e, self->before.pk);
	len = (int)req_end(&e);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, gt_roundtrip(fd, req, (size_t)len, &cq, &hsm));
	EXPECT_EQ(AZIHSM_STATUS_NO_SESSION, hsm);

	/* Naming the officer's live session: the driver refuses it. */
	req_begin(&e, req, sizeof(req), AZIHSM_OP_KEY_EXPORT_MASKED, azihsm_session_id(s));
	mbor_enc_map(&e, 1);
	mbor_enc_key(&e, AZIHSM_MASK_F_KEY_ID);
	mbor_enc_u16(&e, self->before.pk);
	len = (int)req_end(&e);
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	EXPECT_EQ(-EPERM, gt_ioctl_cmd(fd, &c));
	c.in.session_flags = AZIHSM_SESS_OP_IN | AZIHSM_SESS_IN_SESSION;
	c.in.session_id = azihsm_session_id(s);
	EXPECT_EQ(-EPERM, gt_ioctl_cmd(fd, &c));

	/* Nor may userspace open or replace the driver's kernel session. */
	len = gt_req_empty(req, sizeof(req), AZIHSM_OP_OPEN_KERNEL_SESSION);
	ASSERT_LT(0, len);
	gt_cmd_init(&c, req, (size_t)len, rsp, sizeof(rsp));
	EXPECT_NE(0, gt_ioctl_cmd(fd, &c));
	close(fd);
	azihsm_logout(s);
	azihsm_close(dev);
}

TEST_HARNESS_MAIN
