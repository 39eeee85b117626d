// SPDX-License-Identifier: MIT
/*
 * The AES fast path (qemu-device/fw/ctrl/hsm_aes.c) end to end through a fake
 * guest: a real controller, an AES queue pair created with admin commands,
 * real 128-byte SQEs and 64-byte CQEs, keys imported into the firmware's
 * vault. Results are compared with OpenSSL run independently here (XTS one
 * data unit at a time, with tweaks computed with 128-bit arithmetic; CBC
 * with EVP and padding off, the output IV taken from the reference).
 * Every SQE names a real session (opened through hsm_auth with sealed
 * credentials) and carries its short_app_id; test_session_attacks is the
 * issue 9 list of SQEs that must not use a key.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fake_guest.h"
#include "azihsm/msg.h"
#include "hsm_auth.h"
#include "hsm_ctrl_int.h"
#include "hsm_sgl.h"
#include "hsm_vault.h"
#include "tap.h"

#define LISTS	(FG_RAM_BASE + 0x40000)		/* 64 pages of segment lists */
#define SRC	(FG_RAM_BASE + 0x100000)	/* flat buffers, 1 MiB each */
#define DST	(FG_RAM_BASE + 0x200000)
#define SCAT	(FG_RAM_BASE + 0x300000)	/* scattered pieces */
#define BIG	(64 * 1024)
#define AES_SQ2	(FG_RAM_BASE + 0x34000)
#define AES_CQ2	(FG_RAM_BASE + 0x36000)

static const struct hsm_ctrl_config cfg = {
	.serial = "AES", .fw_rev = "1", .model = "T",
	.hsm_queues_max = 1, .aes_queues_max = 2,
};

static struct fake_guest g;
static struct fg_queue q, q2;	/* AES queues 256 and 257 */
static struct hsm_vault *vault;
static uint16_t next_cid;

/* Keys and their vault ids. */
static uint8_t xts_key[64], gcm_key[32];
static uint16_t kid_xts, kid_xts_enc_only, kid_xts_su, kid_gcm, kid_aes256;
/*
 * The kernel session and its GCM keys (the same material as kid_gcm and
 * kid_aes256): only its SQEs bring their own GCM encryption IV (issue 9),
 * so the known answers run there.
 */
static uint16_t ksid, kapp, kid_kgcm, kid_kaes256;

/*
 * Sessions: so an officer and su, su2 users (PINs changed), sm a user
 * session opened with the default PIN (restricted to ChangePin). SQEs are
 * built in session so unless a test says otherwise.
 */
static uint16_t so, su, su2, sm;
static uint16_t cur_sid, cur_app;

#define OFF_ID	((const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_ID)
#define OFF_PIN0 ((const uint8_t *)HSM_AUTH_DEFAULT_OFFICER_PIN)
#define OFF_PIN1 ((const uint8_t *)"officer-PIN-0001")
#define USR_ID	((const uint8_t *)HSM_AUTH_DEFAULT_USER_ID)
#define USR_PIN0 ((const uint8_t *)HSM_AUTH_DEFAULT_USER_PIN)
#define USR_PIN1 ((const uint8_t *)"user-PIN-0000001")

/* One sealed credential message for the device's current key. */
static int sealed(enum hsm_auth_msg_kind kind, uint8_t role, const uint8_t *id,
		  const uint8_t *pin, const uint8_t *new_pin, uint8_t nonce[HSM_AUTH_NONCE_LEN],
		  struct hsm_auth_sealed *m)
{
	uint8_t pub[HSM_AUTH_PUB_MAX];
	size_t len = 0;

	if (hsm_auth_session_key(hsm_fw_auth(g.ctrl->fw), pub, sizeof(pub), &len, nonce))
		return -1;
	return hsm_auth_client_seal(pub, len, nonce, kind, role, id, pin, new_pin, m) ? -1 : 0;
}

/* Open a session of @role with @pin, then change it to @new_pin (if set); 0 on failure. */
static uint16_t login(uint8_t role, const uint8_t *id, const uint8_t *pin, const uint8_t *new_pin)
{
	struct hsm_auth *a = hsm_fw_auth(g.ctrl->fw);
	uint8_t nonce[HSM_AUTH_NONCE_LEN];
	struct hsm_auth_sealed m;
	uint16_t sid = 0;

	if (sealed(HSM_AUTH_MSG_OPEN, role, id, pin, NULL, nonce, &m) ||
	    hsm_auth_open_session(a, m.host_pub, m.host_pub_len, nonce, m.ct, m.ct_len, m.tag,
				  &sid, NULL))
		return 0;
	if (new_pin && (sealed(HSM_AUTH_MSG_CHPIN, role, id, pin, new_pin, nonce, &m) ||
			hsm_auth_change_pin(a, sid, m.host_pub, m.host_pub_len, nonce, m.ct,
					    m.ct_len, m.tag)))
		return 0;
	return sid;
}

/* The short_app_id the device gave session @sid (0 if none is open). */
static uint16_t app_of(uint16_t sid)
{
	uint16_t app = 0;

	hsm_auth_session_app_id(hsm_fw_auth(g.ctrl->fw), sid, &app);
	return app;
}

/* Send @s in session @sid, with its holder's short_app_id. */
static void in_session(struct azihsm_aes_sqe *s, uint16_t sid)
{
	s->session_id = htole16(sid);
	s->short_app_id = htole16(app_of(sid));
}

static uint8_t plain[BIG], ref[BIG], got[BIG], back[BIG];

static struct azihsm_sgl_desc desc(uint64_t addr, uint32_t len, unsigned int type)
{
	struct azihsm_sgl_desc d = { 0 };

	d.addr = htole64(addr);
	d.len = htole32(len);
	d.type = (uint8_t)(type << 4);
	return d;
}

static struct azihsm_sgl_desc flat(uint64_t addr, uint32_t len)
{
	return desc(addr, len, AZIHSM_SGL_TYPE_DATA);
}

static uint16_t attr(bool dec, unsigned int cipher, unsigned int dul)
{
	return (uint16_t)((dec ? AZIHSM_AES_ATTR_DECRYPT : 0) | AZIHSM_AES_ATTR_PSDT_SGL |
			  (AZIHSM_AES_ATTR_CMD_TYPE_AES << AZIHSM_AES_ATTR_CMD_TYPE_SHIFT) |
			  (cipher << AZIHSM_AES_ATTR_CIPHER_SHIFT) |
			  (dul << AZIHSM_AES_ATTR_DUL_SHIFT));
}

static void xts_sqe(struct azihsm_aes_sqe *s, bool dec, unsigned int dul, uint32_t key,
		    const uint8_t tweak[16], uint32_t len, struct azihsm_sgl_desc src,
		    struct azihsm_sgl_desc dst)
{
	memset(s, 0, sizeof(*s));
	s->session_id = htole16(cur_sid);
	s->short_app_id = htole16(cur_app);
	s->attr = htole16(attr(dec, AZIHSM_AES_CIPHER_XTS, dul));
	s->src_len = htole32(len);
	s->dst_len = htole32(len);
	s->src = src;
	s->dst = dst;
	s->frame_type = htole32(AZIHSM_AES_FRAME_TYPE);
	s->xts.key_id1 = htole32(key);
	memcpy(s->xts.tweak, tweak, 16);
}

static void cbc_sqe(struct azihsm_aes_sqe *s, bool dec, uint32_t key, const uint8_t iv[16],
		    uint32_t len, struct azihsm_sgl_desc src, struct azihsm_sgl_desc dst)
{
	memset(s, 0, sizeof(*s));
	s->session_id = htole16(cur_sid);
	s->short_app_id = htole16(cur_app);
	s->attr = htole16(attr(dec, AZIHSM_AES_CIPHER_CBC, 0));
	s->src_len = htole32(len);
	s->dst_len = htole32(len);
	s->src = src;
	s->dst = dst;
	s->frame_type = htole32(AZIHSM_AES_FRAME_TYPE);
	s->cbc.key_id = htole32(key);
	memcpy(s->cbc.iv, iv, 16);
}

static void gcm_sqe(struct azihsm_aes_sqe *s, bool dec, uint32_t key, const uint8_t iv[12],
		    uint32_t aad_len, uint32_t src_len, uint32_t dst_len,
		    struct azihsm_sgl_desc src, struct azihsm_sgl_desc dst)
{
	memset(s, 0, sizeof(*s));
	s->session_id = htole16(cur_sid);
	s->short_app_id = htole16(cur_app);
	s->attr = htole16(attr(dec, AZIHSM_AES_CIPHER_GCM, 0));
	s->src_len = htole32(src_len);
	s->dst_len = htole32(dst_len);
	s->src = src;
	s->dst = dst;
	s->frame_type = htole32(AZIHSM_AES_FRAME_TYPE);
	s->gcm.key_id = htole32(key);
	s->gcm.aad_len = htole32(aad_len);
	s->gcm.aad_len_aligned = htole32((aad_len + 15) & ~15u);
	memcpy(s->gcm.iv, iv, 12);
}

/* Submit one SQE, reap its CQE; returns the status, or -1 on timeout. */
static int submit(struct azihsm_aes_sqe *sqe, struct azihsm_aes_cqe *cqe)
{
	sqe->cmd_id = htole16(++next_cid);
	fg_push(&g, &q, sqe);
	fg_ring(&g, &q);
	memset(cqe, 0, sizeof(*cqe));
	if (fg_reap(&g, &q, cqe, 10000, true))
		return -1;
	if (le16toh(cqe->cmd_id) != next_cid || cqe->attr != sqe->attr ||
	    le16toh(cqe->sq_id) != q.qid)
		return -2;
	return le16toh(cqe->status) >> AZIHSM_CQE_STATUS_SHIFT;
}

static uint16_t last_err;	/* the CQE err of the last refused() */

/* A refused command: the status, nothing written, no length, not approved. */
static void refused(struct azihsm_aes_sqe *sqe, int want, const char *what)
{
	struct azihsm_aes_cqe cqe;
	uint8_t pat[64], now[64];
	uint32_t dst_len = le32toh(sqe->dst_len);
	int sc;

	memset(pat, 0xa5, sizeof(pat));
	if (dst_len && le64toh(sqe->dst.addr) == DST)
		fg_write(&g, DST, pat, sizeof(pat));
	sc = submit(sqe, &cqe);
	tap_eq(sc, want, "refused: %s", what);
	last_err = le16toh(cqe.err);
	if (dst_len && le64toh(sqe->dst.addr) == DST) {
		fg_read(&g, DST, now, sizeof(now));
		tap_ok(!memcmp(now, pat, sizeof(now)) && !cqe.len && !cqe.fips_approved,
		       "  %s: dst untouched, len 0, not approved", what);
	}
}

/* ---- independent references ---------------------------------------- */

static void tweak_add(const uint8_t t0[16], uint64_t k, uint8_t out[16])
{
	unsigned __int128 t = 0;
	int i;

	for (i = 15; i >= 0; i--)
		t = (t << 8) | t0[i];
	t += k;
	for (i = 0; i < 16; i++)
		out[i] = (uint8_t)(t >> (8 * i));
}

static void ref_xts(const uint8_t key[64], const uint8_t t0[16], uint32_t du,
		    const uint8_t *in, uint32_t len, uint8_t *out, int enc)
{
	uint32_t off, n;
	uint64_t k = 0;

	for (off = 0; off < len; off += n, k++) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		uint8_t t[16];
		int outl = 0;

		n = len - off < du ? len - off : du;
		tweak_add(t0, k, t);
		if (!ctx || EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key, t, enc) != 1 ||
		    EVP_CipherUpdate(ctx, out + off, &outl, in + off, (int)n) != 1 ||
		    outl != (int)n) {
			printf("Bail out! reference XTS failed\n");
			exit(1);
		}
		EVP_CIPHER_CTX_free(ctx);
	}
}

/* AES-n-CBC, no padding, key of @klen bytes. */
static void ref_cbc(const uint8_t *key, unsigned int klen, const uint8_t iv[16],
		    const uint8_t *in, uint32_t len, uint8_t *out, int enc)
{
	const EVP_CIPHER *c = klen == 16 ? EVP_aes_128_cbc() :
			      klen == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, fin = 0;

	if (!ctx || EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + outl, &fin) != 1 || outl + fin != (int)len) {
		printf("Bail out! reference CBC failed\n");
		exit(1);
	}
	EVP_CIPHER_CTX_free(ctx);
}

static void ref_gcm_enc(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
			uint32_t aad_len, const uint8_t *in, uint32_t len, uint8_t *out,
			uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, fin = 0;

	if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
	    (aad_len && EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    (len && EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, out + (len ? outl : 0), &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
		printf("Bail out! reference GCM failed\n");
		exit(1);
	}
	EVP_CIPHER_CTX_free(ctx);
}

/* ---- scattered buffers ---------------------------------------------- */

struct pieces {
	uint64_t addr[1024];
	uint32_t len[1024];
	unsigned int n;
};

/*
 * Describe @len bytes as pieces of awkward sizes at odd addresses from
 * @area, listed @per_list to a segment list in consecutive pages from
 * @lists, chained. Copies @data into the pieces when non-NULL.
 */
static struct azihsm_sgl_desc scatter(uint64_t area, uint64_t lists, const uint8_t *data,
				      uint32_t len, unsigned int per_list, struct pieces *p)
{
	static const uint32_t sizes[] = { 1, 17, 300, 4096, 511, 5, 2000, 15, 3333 };
	struct azihsm_sgl_desc l[256];
	uint64_t at = area + 3;
	uint32_t off = 0;
	unsigned int i, nlists, li;

	for (p->n = 0; off < len; p->n++) {
		uint32_t n = sizes[p->n % (sizeof(sizes) / sizeof(sizes[0]))];

		if (n > len - off)
			n = len - off;
		p->addr[p->n] = at;
		p->len[p->n] = n;
		if (data)
			fg_write(&g, at, data + off, n);
		off += n;
		at += n + 5;	/* gaps keep every piece at its own odd offset */
	}
	nlists = (p->n + per_list - 1) / per_list;
	for (li = 0; li < nlists; li++) {
		unsigned int first = li * per_list, cnt = p->n - first, next_cnt;

		if (cnt > per_list)
			cnt = per_list;
		for (i = 0; i < cnt; i++)
			l[i] = flat(p->addr[first + i], p->len[first + i]);
		if (li + 1 < nlists) {
			next_cnt = p->n - first - cnt;
			if (next_cnt > per_list)
				next_cnt = per_list;
			l[cnt++] = desc(lists + (li + 1) * 4096ull, next_cnt * 16 +
					(li + 2 < nlists ? 16 : 0),
					li + 2 < nlists ? AZIHSM_SGL_TYPE_SEGMENT :
							  AZIHSM_SGL_TYPE_LAST_SEGMENT);
		}
		fg_write(&g, lists + li * 4096ull, l, cnt * 16);
	}
	i = p->n < per_list ? p->n : per_list;
	return desc(lists, i * 16 + (nlists > 1 ? 16 : 0),
		    nlists > 1 ? AZIHSM_SGL_TYPE_SEGMENT : AZIHSM_SGL_TYPE_LAST_SEGMENT);
}

static void gather(const struct pieces *p, uint8_t *out)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		fg_read(&g, p->addr[i], out, p->len[i]);
		out += p->len[i];
	}
}

/* ---- tests ---------------------------------------------------------- */

static int setup(void)
{
	struct hsm_key_spec spec = { .type = HSM_KEY_AES256_XTS,
				     .usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT };
	uint8_t same[64];
	uint16_t id;
	uint32_t res;
	unsigned int i;

	if (fg_init(&g, &cfg))
		return -1;
	fg_enable(&g, 8);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	tap_eq(fg_admin(&g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 1 | (1u << 16), 0, 0,
			&res), 0, "set features: 2 AES queues");
	tap_eq(fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 256 | (31u << 16),
			AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (16u << 16), FG_AES_CQ, 0, NULL),
	       0, "create AES CQ 256");
	tap_eq(fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 256 | (31u << 16),
			AZIHSM_CREATE_PC | (256u << 16), FG_AES_SQ, 0, NULL), 0, "create AES SQ 256");
	fg_queue_setup(&q, 256, FG_AES_SQ, FG_AES_CQ, 32, 32, 128, 64);
	tap_eq(fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 257 | (31u << 16),
			AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (17u << 16), AES_CQ2, 0, NULL),
	       0, "create AES CQ 257");
	tap_eq(fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 257 | (31u << 16),
			AZIHSM_CREATE_PC | (257u << 16), AES_SQ2, 0, NULL), 0, "create AES SQ 257");
	fg_queue_setup(&q2, 257, AES_SQ2, AES_CQ2, 32, 32, 128, 64);

	for (i = 0; i < sizeof(xts_key); i++)
		xts_key[i] = (uint8_t)(i * 13 + 1);
	for (i = 0; i < sizeof(gcm_key); i++)
		gcm_key[i] = (uint8_t)(i * 29 + 7);
	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 31 + (i >> 8));

	vault = hsm_fw_vault(g.ctrl->fw);
	tap_ok(vault != NULL, "the firmware has a key vault");
	so = login(HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1);
	sm = login(HSM_ROLE_USER, USR_ID, USR_PIN0, NULL);
	su = login(HSM_ROLE_USER, USR_ID, USR_PIN0, USR_PIN1);
	su2 = login(HSM_ROLE_USER, USR_ID, USR_PIN1, NULL);
	tap_ok(so && sm && su && su2, "sessions: an officer, two users, a user on the default PIN");
	cur_sid = so;
	cur_app = app_of(so);
	tap_eq(hsm_vault_import_secret(vault, &spec, xts_key, 64, &kid_xts), 0,
	       "import XTS key (encrypt + decrypt)");
	spec.usage = HSM_USAGE_ENCRYPT;
	tap_eq(hsm_vault_import_secret(vault, &spec, xts_key, 64, &kid_xts_enc_only), 0,
	       "import XTS key (encrypt only)");
	spec.usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT;
	spec.owner = su;
	tap_eq(hsm_vault_import_secret(vault, &spec, xts_key, 64, &kid_xts_su), 0,
	       "import XTS key of user session su");
	spec.owner = 0;
	memcpy(same, xts_key, 32);
	memcpy(same + 32, xts_key, 32);
	tap_eq(hsm_vault_import_secret(vault, &spec, same, 64, &id), HSM_VAULT_BAD_MATERIAL,
	       "XTS key with equal halves refused at import");
	spec.type = HSM_KEY_AES256_GCM;
	tap_eq(hsm_vault_import_secret(vault, &spec, gcm_key, 32, &kid_gcm), 0,
	       "import GCM key");
	spec.type = HSM_KEY_AES256;
	tap_eq(hsm_vault_import_secret(vault, &spec, gcm_key, 32, &kid_aes256), 0,
	       "import plain AES-256 key");
	tap_eq(hsm_auth_open_kernel(hsm_fw_auth(g.ctrl->fw), &ksid, &kapp), 0,
	       "open the kernel session");
	spec.owner = ksid;
	spec.origin = HSM_ORIGIN_IMPORTED | HSM_ORIGIN_KERNEL;
	tap_eq(hsm_vault_import_secret(vault, &spec, gcm_key, 32, &kid_kaes256), 0,
	       "import plain AES-256 key of the kernel session");
	spec.type = HSM_KEY_AES256_GCM;
	tap_eq(hsm_vault_import_secret(vault, &spec, gcm_key, 32, &kid_kgcm), 0,
	       "import GCM key of the kernel session");
	return 0;
}

/* A GCM SQE of the kernel session. */
static void kgcm_sqe(struct azihsm_aes_sqe *s, bool dec, uint32_t key, const uint8_t iv[12],
		     uint32_t aad_len, uint32_t src_len, uint32_t dst_len,
		     struct azihsm_sgl_desc src, struct azihsm_sgl_desc dst)
{
	gcm_sqe(s, dec, key, iv, aad_len, src_len, dst_len, src, dst);
	s->session_id = htole16(ksid);
	s->short_app_id = htole16(kapp);
}

static void test_xts_sizes(void)
{
	/* Low 64 bits near overflow: the unit tweaks carry into byte 8. */
	static const uint8_t tweak[16] = { 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0x12, 0x34 };
	static const uint32_t lens[] = { 512, 4096, 8192, BIG };
	static const uint32_t dus[] = { 512, 4096, 8192 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	unsigned int d, i;

	fg_write(&g, SRC, plain, BIG);
	for (d = 0; d < 3; d++) {
		for (i = 0; i < 4; i++) {
			uint32_t len = lens[i];
			int sc;

			xts_sqe(&sqe, false, d, kid_xts, tweak, len, flat(SRC, len), flat(DST, len));
			sc = submit(&sqe, &cqe);
			ref_xts(xts_key, tweak, dus[d], plain, len, ref, 1);
			fg_read(&g, DST, got, len);
			tap_ok(sc == 0 && le32toh(cqe.len) == len && le32toh(cqe.fips_approved) == 1 &&
			       !memcmp(got, ref, len),
			       "XTS encrypt %u bytes, data unit %u: matches OpenSSL per unit",
			       len, dus[d]);

			xts_sqe(&sqe, true, d, kid_xts, tweak, len, flat(DST, len),
				flat(SRC + 0x80000, len));
			sc = submit(&sqe, &cqe);
			fg_read(&g, SRC + 0x80000, back, len);
			tap_ok(sc == 0 && le32toh(cqe.len) == len && !memcmp(back, plain, len),
			       "XTS decrypt %u bytes, data unit %u: round trip", len, dus[d]);
		}
	}
}

static void test_xts_cts(void)
{
	static const uint8_t tweak[16] = { 7 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	int sc;

	fg_write(&g, SRC, plain, BIG);
	/* 520 bytes in a 4096-byte unit: one unit, ciphertext stealing. */
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid_xts, tweak, 520, flat(SRC, 520),
		flat(DST, 520));
	sc = submit(&sqe, &cqe);
	ref_xts(xts_key, tweak, 4096, plain, 520, ref, 1);
	fg_read(&g, DST, got, 520);
	tap_ok(sc == 0 && le32toh(cqe.len) == 520 && !memcmp(got, ref, 520),
	       "XTS 520 bytes (CTS) matches OpenSSL");
	xts_sqe(&sqe, true, AZIHSM_AES_DUL_4096, kid_xts, tweak, 520, flat(DST, 520),
		flat(DST + 4096, 520));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST + 4096, back, 520);
	tap_ok(sc == 0 && !memcmp(back, plain, 520), "XTS 520 bytes (CTS) round trip");

	/* 1000 bytes in 512-byte units: a full unit and a short one of 488. */
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_512, kid_xts, tweak, 1000, flat(SRC, 1000),
		flat(DST, 1000));
	sc = submit(&sqe, &cqe);
	ref_xts(xts_key, tweak, 512, plain, 1000, ref, 1);
	fg_read(&g, DST, got, 1000);
	tap_ok(sc == 0 && !memcmp(got, ref, 1000),
	       "XTS 1000 bytes in 512-byte units (final unit 488, CTS) matches OpenSSL");

	/* A final unit under 16 bytes cannot be stolen from. */
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_512, kid_xts, tweak, 520, flat(SRC, 520),
		flat(DST, 520));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "XTS 520 bytes in 512-byte units (final unit 8)");
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_512, kid_xts, tweak, 15, flat(SRC, 15),
		flat(DST, 15));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "XTS 15 bytes");
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_512, kid_xts, tweak, 16, flat(SRC, 16),
		flat(DST, 16));
	sc = submit(&sqe, &cqe);
	ref_xts(xts_key, tweak, 512, plain, 16, ref, 1);
	fg_read(&g, DST, got, 16);
	tap_ok(sc == 0 && !memcmp(got, ref, 16), "XTS 16 bytes (one block)");
}

static void test_xts_scattered(void)
{
	static const uint8_t tweak[16] = { 0x55, 0xaa, 1, 2, 3 };
	static struct pieces ps, pd;
	struct azihsm_sgl_desc s, d;
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	int sc;

	ref_xts(xts_key, tweak, 4096, plain, BIG, ref, 1);

	s = scatter(SCAT, LISTS, plain, BIG, 12, &ps);
	d = scatter(SCAT + 0x40000, LISTS + 16 * 4096, NULL, BIG, 7, &pd);
	tap_ok(ps.n > 40 && pd.n == ps.n, "64 KiB in %u pieces, %u and %u per list", ps.n, 12, 7);
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid_xts, tweak, BIG, s, d);
	sc = submit(&sqe, &cqe);
	gather(&pd, got);
	tap_ok(sc == 0 && le32toh(cqe.len) == BIG && !memcmp(got, ref, BIG),
	       "scattered src and dst (segment chains, odd offsets) = flat result");

	/* Scattered ciphertext back to a flat buffer. */
	xts_sqe(&sqe, true, AZIHSM_AES_DUL_4096, kid_xts, tweak, BIG, d, flat(DST, BIG));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, back, BIG);
	tap_ok(sc == 0 && !memcmp(back, plain, BIG), "scattered ciphertext decrypts to flat");

	/* In place: the same SGL for src and dst. */
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid_xts, tweak, BIG, s, s);
	sc = submit(&sqe, &cqe);
	gather(&ps, got);
	tap_ok(sc == 0 && !memcmp(got, ref, BIG), "in place (src SGL == dst SGL), scattered");
	fg_write(&g, SRC, plain, BIG);
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid_xts, tweak, BIG, flat(SRC, BIG),
		flat(SRC, BIG));
	sc = submit(&sqe, &cqe);
	fg_read(&g, SRC, got, BIG);
	tap_ok(sc == 0 && !memcmp(got, ref, BIG), "in place, flat");
	fg_write(&g, SRC, plain, BIG);
}

static void test_xts_keys(void)
{
	static const uint8_t tweak[16] = { 1 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	int sc;

	fg_write(&g, SRC, plain, 4096);
	ref_xts(xts_key, tweak, 512, plain, 4096, ref, 1);

	xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.xts.key_id2 = htole32(kid_xts);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096), "key_id2 == key_id1 accepted");
	sqe.xts.key_id2 = htole32(kid_xts_enc_only);
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "key_id2 naming another key");

	xts_sqe(&sqe, false, 0, 0xbeef, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "unknown key id");
	xts_sqe(&sqe, false, 0, 0, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "key id 0");
	xts_sqe(&sqe, false, 0, 0x10000 | kid_xts, tweak, 4096, flat(SRC, 4096),
		flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "key id over 16 bits");

	xts_sqe(&sqe, false, 0, kid_xts_enc_only, tweak, 4096, flat(SRC, 4096),
		flat(DST, 4096));
	sc = submit(&sqe, &cqe);
	tap_eq(sc, 0, "encrypt-only key encrypts");
	xts_sqe(&sqe, true, 0, kid_xts_enc_only, tweak, 4096, flat(SRC, 4096),
		flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "decrypt with an encrypt-only key");

	xts_sqe(&sqe, false, 0, kid_xts_su, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "su's key from the officer's session");
	in_session(&sqe, su2);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "su's key from another user session");
	tap_eq(last_err, AZIHSM_STATUS_KEY_NOT_FOUND, "  err: KEY_NOT_FOUND, as if absent");
	in_session(&sqe, su);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096), "su's key from su");
	xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	in_session(&sqe, su2);
	tap_eq(submit(&sqe, &cqe), 0, "a persistent key from a user session");

	xts_sqe(&sqe, false, 0, kid_gcm, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "XTS with a GCM key");
	xts_sqe(&sqe, false, 0, kid_aes256, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "XTS with a plain AES-256 key");
}

static void test_gcm(void)
{
	static const uint8_t iv[12] = { 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint32_t aad = 20, aligned = 32, len = 1000;
	uint8_t tag[16], srcbuf[aligned + len];
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	uint8_t pat[1024];
	int sc;

	/* src = AAD (20 bytes), 12 bytes of padding, 1000 bytes of text. */
	memcpy(srcbuf, plain + 5000, aad);
	memset(srcbuf + aad, 0xee, aligned - aad);
	memcpy(srcbuf + aligned, plain, len);
	fg_write(&g, SRC, srcbuf, sizeof(srcbuf));
	ref_gcm_enc(gcm_key, iv, srcbuf, aad, plain, len, ref, tag);

	kgcm_sqe(&sqe, false, kid_kgcm, iv, aad, aligned + len, len, flat(SRC, aligned + len),
		flat(DST, len));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, len);
	tap_ok(sc == 0 && le32toh(cqe.len) == len && le32toh(cqe.fips_approved) == 0,
	       "kernel session: GCM encrypt 20 B AAD + 1000 B with its own IV: success, len, "
	       "not approved (issue 9: IV from outside the module)");
	tap_ok(!memcmp(got, ref, len), "GCM ciphertext matches OpenSSL");
	tap_ok(!memcmp(cqe.tag, tag, 16), "GCM tag in the CQE matches OpenSSL");
	tap_ok(!memcmp(cqe.iv, iv, 12), "GCM IV (the kernel session's) echoed in the CQE");

	/* Padding bytes are not authenticated. */
	memset(srcbuf + aad, 0, aligned - aad);
	fg_write(&g, SRC, srcbuf, aligned);
	sc = submit(&sqe, &cqe);
	tap_ok(sc == 0 && !memcmp(cqe.tag, tag, 16), "AAD padding bytes are not authenticated");

	/* GCM takes plain AES keys too (the same material: the same answer). */
	kgcm_sqe(&sqe, false, kid_kaes256, iv, aad, aligned + len, len, flat(SRC, aligned + len),
		flat(DST, len));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, len);
	tap_ok(sc == 0 && !memcmp(got, ref, len) && !memcmp(cqe.tag, tag, 16),
	       "GCM with a plain AES-256 key of the same material: same ciphertext and tag");

	/* Decrypt: AAD + ciphertext in src, tag in the SQE. */
	memcpy(srcbuf + aligned, ref, len);
	fg_write(&g, SRC, srcbuf, sizeof(srcbuf));
	kgcm_sqe(&sqe, true, kid_kgcm, iv, aad, aligned + len, len, flat(SRC, aligned + len),
		flat(DST, len));
	memcpy(sqe.gcm.tag, tag, 16);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, len);
	tap_ok(sc == 0 && le32toh(cqe.len) == len && !memcmp(got, plain, len) &&
	       le32toh(cqe.fips_approved) == 1,
	       "GCM decrypt with the right tag: plaintext, approved");

	memset(pat, 0xa5, sizeof(pat));
	fg_write(&g, DST, pat, sizeof(pat));
	sqe.gcm.tag[7] ^= 0x10;
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, sizeof(pat));
	tap_eq(sc, AZIHSM_SC_AES_TAG_MISMATCH, "GCM decrypt with a flipped tag bit: TAG_MISMATCH");
	tap_ok(!memcmp(got, pat, sizeof(pat)) && !cqe.len && !cqe.fips_approved,
	       "  nothing written, len 0, not approved");
	sqe.gcm.tag[7] ^= 0x10;
	srcbuf[3] ^= 1;
	fg_write(&g, SRC, srcbuf, sizeof(srcbuf));
	sc = submit(&sqe, &cqe);
	tap_eq(sc, AZIHSM_SC_AES_TAG_MISMATCH, "GCM decrypt with altered AAD: TAG_MISMATCH");
	srcbuf[3] ^= 1;

	/* No AAD at all. */
	fg_write(&g, SRC, plain, len);
	ref_gcm_enc(gcm_key, iv, NULL, 0, plain, len, ref, tag);
	kgcm_sqe(&sqe, false, kid_kgcm, iv, 0, len, len, flat(SRC, len), flat(DST, len));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, len);
	tap_ok(sc == 0 && !memcmp(got, ref, len) && !memcmp(cqe.tag, tag, 16),
	       "GCM without AAD matches OpenSSL");

	/* AAD only (GMAC): dst_len 0, the dst descriptor is not used. */
	fg_write(&g, SRC, plain, 48);
	ref_gcm_enc(gcm_key, iv, plain, 48, NULL, 0, ref, tag);
	kgcm_sqe(&sqe, false, kid_kgcm, iv, 48, 48, 0, flat(SRC, 48), desc(0, 0, 0xf));
	sc = submit(&sqe, &cqe);
	tap_ok(sc == 0 && !cqe.len && !memcmp(cqe.tag, tag, 16), "GCM AAD only (GMAC)");

	/*
	 * issue 9 (SP 800-38D 8.2.2): a partition session's (here: no
	 * session, persistent keys) encryption IV is drawn by the device:
	 * the SQE's is ignored, the CQE carries the one used.
	 */
	{
		uint8_t iv1[12];

		fg_write(&g, SRC, plain, len);
		gcm_sqe(&sqe, false, kid_gcm, iv, 0, len, len, flat(SRC, len), flat(DST, len));
		sc = submit(&sqe, &cqe);
		fg_read(&g, DST, got, len);
		memcpy(iv1, cqe.iv, 12);
		ref_gcm_enc(gcm_key, iv1, NULL, 0, plain, len, ref, tag);
		tap_ok(sc == 0 && memcmp(iv1, iv, 12) && !memcmp(got, ref, len) &&
		       !memcmp(cqe.tag, tag, 16) && le32toh(cqe.fips_approved) == 1,
		       "issue 9: partition GCM encrypt: the SQE's IV ignored, the CQE's IV is the "
		       "device's, OpenSSL's ciphertext and tag under it, approved");
		sc = submit(&sqe, &cqe);
		tap_ok(sc == 0 && memcmp(cqe.iv, iv1, 12) && memcmp(cqe.iv, iv, 12),
		       "issue 9: the same SQE again: another device IV");
		fg_write(&g, SRC, ref, len);
		gcm_sqe(&sqe, true, kid_gcm, iv1, 0, len, len, flat(SRC, len), flat(DST, len));
		memcpy(sqe.gcm.tag, tag, 16);
		sc = submit(&sqe, &cqe);
		fg_read(&g, DST, got, len);
		tap_ok(sc == 0 && !memcmp(got, plain, len),
		       "  decrypt with the CQE's IV (the caller's on decrypt): the plaintext");
	}

	/* Refusals particular to GCM. */
	gcm_sqe(&sqe, false, kid_gcm, iv, aad, aligned + len, len, flat(SRC, aligned + len),
		flat(DST, len));
	sqe.gcm.aad_len_aligned = htole32(aad);
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "GCM aligned AAD length not rounded up to 16");
	gcm_sqe(&sqe, false, kid_gcm, iv, aad, aligned + len, len + 1, flat(SRC, aligned + len),
		flat(DST, len + 1));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "GCM dst_len != src_len - aligned AAD");
	gcm_sqe(&sqe, false, kid_gcm, iv, 40, 32, 0, flat(SRC, 32), flat(DST, 0));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "GCM AAD longer than src");
	gcm_sqe(&sqe, false, kid_gcm, iv, aad, aligned + len, len, flat(SRC, aligned + len),
		flat(DST, len));
	sqe.attr = htole16(le16toh(sqe.attr) | (1u << AZIHSM_AES_ATTR_DUL_SHIFT));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "GCM with a data-unit code");
	gcm_sqe(&sqe, false, kid_xts, iv, aad, aligned + len, len, flat(SRC, aligned + len),
		flat(DST, len));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "GCM with an XTS key");
}

static void test_refusals(void)
{
	static const uint8_t tweak[16];
	struct azihsm_aes_sqe sqe;
	uint16_t a;

#define BASE() xts_sqe(&sqe, false, 0, kid_xts, tweak, 512, flat(SRC, 512), flat(DST, 512))
	BASE();
	a = le16toh(sqe.attr);
	sqe.attr = htole16((uint16_t)((a & ~AZIHSM_AES_ATTR_CMD_TYPE_MASK) |
				      (4u << AZIHSM_AES_ATTR_CMD_TYPE_SHIFT)));
	refused(&sqe, AZIHSM_SC_INVALID_OPCODE, "cmd_type 4");
	BASE();
	sqe.attr = htole16(a & ~AZIHSM_AES_ATTR_PSDT_SGL);
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "psdt PRP");
	BASE();
	sqe.attr = htole16((uint16_t)(a | AZIHSM_AES_ATTR_CIPHER_MASK));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "cipher 3");
	BASE();
	sqe.attr = htole16((uint16_t)(a | AZIHSM_AES_ATTR_DUL_MASK));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "data-unit code 3");
	BASE();
	sqe.attr = htole16((uint16_t)(a | (1u << 1)));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "reserved attr bit 1");
	BASE();
	sqe.attr = htole16((uint16_t)(a | (1u << 12)));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "reserved attr bit 12");
	BASE();
	sqe.frame_type = 0;
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "frame_type 0");
	BASE();
	sqe.dst_len = htole32(496);
	sqe.dst = flat(DST, 496);
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "XTS src_len != dst_len");
	xts_sqe(&sqe, false, 0, kid_xts, tweak, HSM_SGL_BYTES_MAX + 512,
		flat(SRC, HSM_SGL_BYTES_MAX + 512), flat(DST, HSM_SGL_BYTES_MAX + 512));
	refused(&sqe, AZIHSM_SC_INVALID_FIELD, "length over 1 MiB");
	BASE();
	sqe.dst.type = 1 << 4;
	refused(&sqe, AZIHSM_SC_SGL_TYPE_INVALID, "dst SGL descriptor of type 1");
	BASE();
	sqe.src = flat(SRC, 256);
	refused(&sqe, AZIHSM_SC_SGL_LENGTH_INVALID, "src SGL shorter than src_len");
	BASE();
	sqe.dst = flat(0xfee00000ull, 512);
	refused(&sqe, AZIHSM_SC_DATA_XFER_ERROR, "dst outside guest RAM");
#undef BASE
}

/* A refused CBC command: also no output IV in the CQE. */
static void cbc_refused(struct azihsm_aes_sqe *sqe, int want, const char *what)
{
	static const uint8_t zero[16];
	struct azihsm_aes_cqe cqe;
	uint8_t pat[64], now[64];
	int sc;

	memset(pat, 0x5a, sizeof(pat));
	fg_write(&g, DST, pat, sizeof(pat));
	sc = submit(sqe, &cqe);
	fg_read(&g, DST, now, sizeof(now));
	tap_eq(sc, want, "CBC refused: %s", what);
	tap_ok(!memcmp(now, pat, sizeof(now)) && !cqe.len && !cqe.fips_approved &&
	       !memcmp(cqe.cbc_iv, zero, 16),
	       "  %s: dst untouched, len 0, not approved, no output IV", what);
}

/* AES-CBC (cipher 2, the azihsm extension). */
static void test_cbc(void)
{
	static const uint8_t iv[16] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
					1, 2, 3, 4, 5, 6, 7, 0x80 };
	static const uint32_t lens[] = { 16, 512, 4096, BIG };
	static struct pieces ps, pd;
	struct hsm_key_spec spec = { .type = HSM_KEY_AES128,
				     .usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT };
	uint8_t key[32], ivo[16];
	uint16_t kid[3], kid_enc_only, kid_s5;
	struct azihsm_sgl_desc sd, dd;
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	unsigned int k, i;
	int sc;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 71 + 3);
	for (k = 0; k < 3; k++) {
		spec.type = (enum hsm_key_type)(HSM_KEY_AES128 + k);
		tap_eq(hsm_vault_import_secret(vault, &spec, key, 16 + 8 * k, &kid[k]), 0,
		       "import AES-%u key for CBC", 128 + 64 * k);
	}
	spec.usage = HSM_USAGE_ENCRYPT;
	tap_eq(hsm_vault_import_secret(vault, &spec, key, 32, &kid_enc_only), 0,
	       "import AES-256 key, encrypt only");
	spec.usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT;
	spec.owner = su;
	tap_eq(hsm_vault_import_secret(vault, &spec, key, 32, &kid_s5), 0,
	       "import AES-256 key of user session su");

	fg_write(&g, SRC, plain, BIG);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			uint32_t len = lens[i];

			ref_cbc(key, 16 + 8 * k, iv, plain, len, ref, 1);
			cbc_sqe(&sqe, false, kid[k], iv, len, flat(SRC, len), flat(DST, len));
			sc = submit(&sqe, &cqe);
			fg_read(&g, DST, got, len);
			tap_ok(sc == 0 && le32toh(cqe.len) == len &&
			       le32toh(cqe.fips_approved) == 1 && !memcmp(got, ref, len),
			       "CBC AES-%u encrypt %u bytes: matches OpenSSL, approved",
			       128 + 64 * k, len);
			tap_ok(!memcmp(cqe.cbc_iv, ref + len - 16, 16),
			       "  output IV = last ciphertext block");

			cbc_sqe(&sqe, true, kid[k], iv, len, flat(DST, len),
				flat(SRC + 0x80000, len));
			sc = submit(&sqe, &cqe);
			fg_read(&g, SRC + 0x80000, back, len);
			tap_ok(sc == 0 && le32toh(cqe.len) == len && !memcmp(back, plain, len) &&
			       !memcmp(cqe.cbc_iv, ref + len - 16, 16),
			       "CBC AES-%u decrypt %u bytes: plaintext, output IV = last "
			       "ciphertext block", 128 + 64 * k, len);
		}
	}

	/* Chaining: two requests joined by the CQE's IV = one request. */
	ref_cbc(key, 32, iv, plain, 8192, ref, 1);
	cbc_sqe(&sqe, false, kid[2], iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	sc = submit(&sqe, &cqe);
	memcpy(ivo, cqe.cbc_iv, 16);
	cbc_sqe(&sqe, false, kid[2], ivo, 4096, flat(SRC + 4096, 4096), flat(DST + 4096, 4096));
	sc |= submit(&sqe, &cqe);
	fg_read(&g, DST, got, 8192);
	tap_ok(sc == 0 && !memcmp(got, ref, 8192) && !memcmp(cqe.cbc_iv, ref + 8192 - 16, 16),
	       "CBC encrypt chained through the CQE IV = one 8 KiB request");
	cbc_sqe(&sqe, true, kid[2], iv, 4096, flat(DST, 4096), flat(SRC + 0x80000, 4096));
	sc = submit(&sqe, &cqe);
	memcpy(ivo, cqe.cbc_iv, 16);
	cbc_sqe(&sqe, true, kid[2], ivo, 4096, flat(DST + 4096, 4096),
		flat(SRC + 0x81000, 4096));
	sc |= submit(&sqe, &cqe);
	fg_read(&g, SRC + 0x80000, back, 8192);
	tap_ok(sc == 0 && !memcmp(back, plain, 8192), "CBC decrypt chained through the CQE IV");

	/* In place (the decrypt IV out must be the input's last block). */
	fg_write(&g, DST, ref, 4096);
	cbc_sqe(&sqe, true, kid[2], iv, 4096, flat(DST, 4096), flat(DST, 4096));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, back, 4096);
	tap_ok(sc == 0 && !memcmp(back, plain, 4096) && !memcmp(cqe.cbc_iv, ref + 4080, 16),
	       "CBC decrypt in place: plaintext and the ciphertext's last block as IV");

	/* Scattered SGLs both ways. */
	ref_cbc(key, 32, iv, plain, BIG, ref, 1);
	sd = scatter(SCAT, LISTS, plain, BIG, 12, &ps);
	dd = scatter(SCAT + 0x40000, LISTS + 16 * 4096, NULL, BIG, 7, &pd);
	cbc_sqe(&sqe, false, kid[2], iv, BIG, sd, dd);
	sc = submit(&sqe, &cqe);
	gather(&pd, got);
	tap_ok(sc == 0 && !memcmp(got, ref, BIG), "CBC scattered src and dst = OpenSSL");
	cbc_sqe(&sqe, true, kid[2], iv, BIG, dd, flat(DST, BIG));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, back, BIG);
	tap_ok(sc == 0 && !memcmp(back, plain, BIG), "CBC scattered ciphertext decrypts to flat");

	/* Refusals: lengths and fields. */
	fg_write(&g, SRC, plain, 8192);
	cbc_sqe(&sqe, false, kid[2], iv, 4095, flat(SRC, 4095), flat(DST, 4095));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "4095 bytes");
	cbc_sqe(&sqe, false, kid[2], iv, 4104, flat(SRC, 4104), flat(DST, 4104));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "4104 bytes");
	cbc_sqe(&sqe, true, kid[2], iv, 8, flat(SRC, 8), flat(DST, 8));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "decrypt 8 bytes");
	cbc_sqe(&sqe, false, kid[2], iv, 0, flat(SRC, 0), flat(DST, 0));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "0 bytes");
	cbc_sqe(&sqe, false, kid[2], iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.dst_len = htole32(4112);
	sqe.dst = flat(DST, 4112);
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "dst_len != src_len");
	cbc_sqe(&sqe, false, kid[2], iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.cbc.rsvd72 = htole32(kid[2]);
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "bytes 72..75 not 0");
	cbc_sqe(&sqe, false, kid[2], iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.attr = htole16(le16toh(sqe.attr) | (1u << AZIHSM_AES_ATTR_DUL_SHIFT));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "a data-unit code");
	cbc_sqe(&sqe, false, kid[2], iv, HSM_SGL_BYTES_MAX + 16, flat(SRC, HSM_SGL_BYTES_MAX + 16),
		flat(DST, HSM_SGL_BYTES_MAX + 16));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "over 1 MiB");
	cbc_sqe(&sqe, false, kid[2], iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.attr = htole16((uint16_t)(le16toh(sqe.attr) | AZIHSM_AES_ATTR_CIPHER_MASK));
	cbc_refused(&sqe, AZIHSM_SC_INVALID_FIELD, "cipher 3 (still refused)");

	/* Refusals: keys. */
	cbc_sqe(&sqe, false, kid_xts, iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	cbc_refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "an XTS key");
	cbc_sqe(&sqe, false, kid_gcm, iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	cbc_refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "an AES256_GCM key");
	cbc_sqe(&sqe, false, 0xbeef, iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	cbc_refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "an unknown key id");
	cbc_sqe(&sqe, false, kid_enc_only, iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	ref_cbc(key, 32, iv, plain, 4096, ref, 1);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096), "encrypt-only key encrypts");
	cbc_sqe(&sqe, true, kid_enc_only, iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	cbc_refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "decrypt with an encrypt-only key");
	cbc_sqe(&sqe, false, kid_s5, iv, 4096, flat(SRC, 4096), flat(DST, 4096));
	cbc_refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "su's key from the officer's session");
	in_session(&sqe, su2);
	cbc_refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "su's key from another user session");
	in_session(&sqe, su);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096), "su's key from su");
}

/* Several commands in flight on one queue complete in order. */
static void test_batch(void)
{
	static const uint8_t tweak[16] = { 9 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	unsigned int i, ok = 0;

	fg_write(&g, SRC, plain, BIG);
	for (i = 0; i < 16; i++) {
		xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC + i * 4096ull, 4096),
			flat(DST + i * 4096ull, 4096));
		sqe.cmd_id = htole16((uint16_t)(1000 + i));
		fg_push(&g, &q, &sqe);
	}
	fg_ring(&g, &q);
	for (i = 0; i < 16; i++)
		ok += !fg_reap(&g, &q, &cqe, 10000, true) &&
		      le16toh(cqe.cmd_id) == 1000 + i &&
		      !(le16toh(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT);
	tap_eq(ok, 16, "16 commands in one doorbell: 16 successful completions in order");
	for (i = 0, ok = 0; i < 16; i++) {
		ref_xts(xts_key, tweak, 512, plain + i * 4096, 4096, ref, 1);
		fg_read(&g, DST + i * 4096ull, got, 4096);
		ok += !memcmp(got, ref, 4096);
	}
	tap_eq(ok, 16, "  each one's output correct");
}

/* Both queues busy at once, XTS on one and GCM on the other. */
static void test_two_queues(void)
{
	static const uint8_t tweak[16] = { 3 }, iv[12] = { 4 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	uint8_t tag[16];
	unsigned int i, ok1 = 0, ok2 = 0;

	fg_write(&g, SRC, plain, BIG);
	for (i = 0; i < 24; i++) {
		xts_sqe(&sqe, false, 0, kid_xts, tweak, 1024, flat(SRC + i * 1024ull, 1024),
			flat(DST + i * 1024ull, 1024));
		sqe.cmd_id = htole16((uint16_t)(2000 + i));
		fg_push(&g, &q, &sqe);
		kgcm_sqe(&sqe, false, kid_kgcm, iv, 0, 1024, 1024, flat(SRC + i * 1024ull, 1024),
			 flat(DST + 0x80000 + i * 1024ull, 1024));
		sqe.cmd_id = htole16((uint16_t)(3000 + i));
		fg_push(&g, &q2, &sqe);
	}
	fg_ring(&g, &q);
	fg_ring(&g, &q2);
	for (i = 0; i < 24; i++) {
		ok1 += !fg_reap(&g, &q, &cqe, 10000, true) && le16toh(cqe.cmd_id) == 2000 + i &&
		       !(le16toh(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT);
		ok2 += !fg_reap(&g, &q2, &cqe, 10000, true) && le16toh(cqe.cmd_id) == 3000 + i &&
		       !(le16toh(cqe.status) >> AZIHSM_CQE_STATUS_SHIFT);
	}
	tap_ok(ok1 == 24 && ok2 == 24, "two AES queues busy at once: 24 + 24 completions");
	for (i = 0, ok1 = 0, ok2 = 0; i < 24; i++) {
		ref_xts(xts_key, tweak, 512, plain + i * 1024, 1024, ref, 1);
		fg_read(&g, DST + i * 1024ull, got, 1024);
		ok1 += !memcmp(got, ref, 1024);
		ref_gcm_enc(gcm_key, iv, NULL, 0, plain + i * 1024, 1024, ref, tag);
		fg_read(&g, DST + 0x80000 + i * 1024ull, got, 1024);
		ok2 += !memcmp(got, ref, 1024);
	}
	tap_ok(ok1 == 24 && ok2 == 24, "  every output correct");
}

/* A deleted key is gone for the fast path at once. */
static void test_deleted_key(void)
{
	static const uint8_t tweak[16];
	struct hsm_key_spec spec = { .type = HSM_KEY_AES256_XTS, .usage = HSM_USAGE_ENCRYPT };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	uint16_t id;

	tap_eq(hsm_vault_import_secret(vault, &spec, xts_key, 64, &id), 0, "import a spare key");
	xts_sqe(&sqe, false, 0, id, tweak, 512, flat(SRC, 512), flat(DST, 512));
	tap_eq(submit(&sqe, &cqe), 0, "the spare key works");
	tap_eq(hsm_vault_delete(vault, id), 0, "delete it");
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "a deleted key");
}

/*
 * Key types the kernel session brought: AES128_XTS for XTS, plain
 * AES-128/192 keys for GCM; and the kernel session's SQEs never reach a
 * persistent key.
 */
static void test_more_key_types(void)
{
	static const uint8_t iv[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xaa, 0xbb };
	const struct hsm_key_spec spec = { .type = HSM_KEY_AES128_XTS,
					   .usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT };
	struct hsm_key_spec s2 = spec;
	uint8_t tweak[16] = { 3 }, t[16], tag[16];
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	uint16_t k128x, k128, k192, kk;
	uint32_t off, len = 2048;
	int sc, outl, fin, ok = 1;
	uint64_t unit;

	tap_eq(hsm_vault_import_secret(vault, &spec, xts_key, 32, &k128x), 0,
	       "import AES128_XTS key (32 bytes)");
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_512, k128x, tweak, len, flat(SRC, len),
		flat(DST, len));
	fg_write(&g, SRC, plain, len);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, len);
	for (off = 0, unit = 0; off < len; off += 512, unit++) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

		tweak_add(tweak, unit, t);
		ok &= ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_xts(), NULL, xts_key, t) == 1 &&
		      EVP_EncryptUpdate(ctx, ref + off, &outl, plain + off, 512) == 1;
		EVP_CIPHER_CTX_free(ctx);
	}
	tap_ok(sc == 0 && ok && !memcmp(got, ref, len) && le32toh(cqe.fips_approved) == 1,
	       "AES-128-XTS fast path, 4 data units: OpenSSL's, approved");

	s2.type = HSM_KEY_AES128;
	s2.owner = ksid;	/* GCM with its own IV: the kernel session */
	s2.origin = HSM_ORIGIN_IMPORTED | HSM_ORIGIN_KERNEL;
	tap_eq(hsm_vault_import_secret(vault, &s2, gcm_key, 16, &k128), 0, "import AES-128 key");
	s2.type = HSM_KEY_AES192;
	tap_eq(hsm_vault_import_secret(vault, &s2, gcm_key, 24, &k192), 0, "import AES-192 key");
	{
		const EVP_CIPHER *ciphers[2] = { EVP_aes_128_gcm(), EVP_aes_192_gcm() };
		const uint16_t keys[2] = { k128, k192 };
		int i;

		for (i = 0; i < 2; i++) {
			EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

			outl = fin = 0;
			ok = ctx && EVP_EncryptInit_ex(ctx, ciphers[i], NULL, gcm_key, iv) == 1 &&
			     EVP_EncryptUpdate(ctx, ref, &outl, plain, 500) == 1 &&
			     EVP_EncryptFinal_ex(ctx, ref + outl, &fin) == 1 &&
			     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
			EVP_CIPHER_CTX_free(ctx);
			kgcm_sqe(&sqe, false, keys[i], iv, 0, 500, 500, flat(SRC, 500),
				 flat(DST, 500));
			sc = submit(&sqe, &cqe);
			fg_read(&g, DST, got, 500);
			tap_ok(ok && sc == 0 && !memcmp(got, ref, 500) && !memcmp(cqe.tag, tag, 16),
			       "GCM fast path with a plain AES-%d key: OpenSSL's", 128 + 64 * i);
		}
	}

	xts_sqe(&sqe, false, 0, kid_xts, tweak, 512, flat(SRC, 512), flat(DST, 512));
	in_session(&sqe, ksid);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID,
		"issue 9: a persistent key from the kernel session");
	tap_eq(last_err, AZIHSM_STATUS_KEY_NOT_FOUND, "  err: KEY_NOT_FOUND");
	s2.type = HSM_KEY_AES256_XTS;
	s2.owner = ksid;
	tap_eq(hsm_vault_import_secret(vault, &s2, xts_key, 64, &kk), 0,
	       "import an XTS key of the kernel session");
	xts_sqe(&sqe, false, 0, kk, tweak, 512, flat(SRC, 512), flat(DST, 512));
	in_session(&sqe, ksid);
	tap_eq(submit(&sqe, &cqe), 0, "the kernel session uses its own key");
	in_session(&sqe, su);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "the kernel session's key from a user session");
	in_session(&sqe, so);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "the kernel session's key from the officer");
	hsm_fw_flush_session(g.ctrl->fw, ksid, kapp);
	sqe.session_id = htole16(ksid);
	sqe.short_app_id = htole16(kapp);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "the kernel session's key after its flush");
	tap_eq(last_err, AZIHSM_STATUS_NO_SESSION, "  err: NO_SESSION");
}

/*
 * issue 9: an AES SQE uses a key only for a session its sender holds
 * (open, its short_app_id) whose role may use the key, not restricted to
 * ChangePin; every refusal leaves dst untouched. Then the legitimate uses.
 */
static void test_session_attacks(void)
{
	static const uint8_t tweak[16] = { 7 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	uint16_t closed, app;
	int sc;

	fg_write(&g, SRC, plain, 4096);
	ref_xts(xts_key, tweak, 512, plain, 4096, ref, 1);

	xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.session_id = 0;
	sqe.short_app_id = 0;
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "issue 9: session 0 using a persistent key");
	tap_eq(last_err, AZIHSM_STATUS_NO_SESSION, "  err: NO_SESSION");

	closed = login(HSM_ROLE_OFFICER, OFF_ID, OFF_PIN1, NULL);
	app = app_of(closed);
	tap_ok(closed && app, "an officer session to close");
	hsm_auth_close_session(hsm_fw_auth(g.ctrl->fw), closed);
	xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.session_id = htole16(closed);
	sqe.short_app_id = htole16(app);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID,
		"issue 9: a closed session (with its old short_app_id)");
	tap_eq(last_err, AZIHSM_STATUS_NO_SESSION, "  err: NO_SESSION");

	xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	sqe.short_app_id = htole16((uint16_t)(cur_app ^ 0x0400));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "issue 9: an open session, wrong short_app_id");
	tap_eq(last_err, AZIHSM_STATUS_NO_SESSION, "  err: NO_SESSION (as if not open)");
	sqe.short_app_id = 0;
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "issue 9: an open session, short_app_id 0");
	in_session(&sqe, su);
	sqe.short_app_id = htole16(app_of(so));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID,
		"issue 9: a user session with the officer's short_app_id");

	in_session(&sqe, sm);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID,
		"issue 9: a session that must change its PIN, persistent key");
	tap_eq(last_err, AZIHSM_STATUS_MUST_CHANGE_PIN, "  err: MUST_CHANGE_PIN");

	xts_sqe(&sqe, false, 0, kid_xts_su, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	in_session(&sqe, su2);
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "issue 9: a user session, another's key");
	tap_eq(last_err, AZIHSM_STATUS_KEY_NOT_FOUND, "  err: KEY_NOT_FOUND");
	xts_sqe(&sqe, true, 0, kid_xts_enc_only, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "decrypt with an encrypt-only key");
	tap_eq(last_err, AZIHSM_STATUS_KEY_USAGE, "  err: KEY_USAGE");
	xts_sqe(&sqe, false, 0, kid_gcm, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	refused(&sqe, AZIHSM_SC_AES_KEY_INVALID, "XTS with a GCM key");
	tap_eq(last_err, AZIHSM_STATUS_KEY_TYPE, "  err: KEY_TYPE");

	/* The legitimate uses still work. */
	xts_sqe(&sqe, false, 0, kid_xts, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096) && !cqe.err,
	       "the officer's session uses a persistent key");
	in_session(&sqe, su);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096), "a user session uses a persistent key");
	xts_sqe(&sqe, false, 0, kid_xts_su, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
	in_session(&sqe, su);
	sc = submit(&sqe, &cqe);
	fg_read(&g, DST, got, 4096);
	tap_ok(sc == 0 && !memcmp(got, ref, 4096), "a user session uses its own key");
}

/*
 * The test-only property fault_aes_stall (device.md): off by default (every
 * command above completed); with N = 2 the second AES command after each
 * enable is taken off the ring and never completed, the others complete
 * (the next one reports the SQ head past both), and a new enable counts
 * again from 1. The driver's watchdog test (tests/fault-vm.sh) relies on it.
 */
static void test_fault_stall(void)
{
	struct hsm_ctrl_config fcfg = cfg;
	struct hsm_key_spec spec = { .type = HSM_KEY_AES256_XTS,
				     .usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT };
	static const uint8_t tweak[16] = { 3 };
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	unsigned int round;
	uint16_t kid;
	uint32_t res;

	fcfg.fault_aes_stall = 2;
	if (fg_init(&g, &fcfg)) {
		tap_ok(false, "fault_aes_stall: controller");
		return;
	}
	vault = hsm_fw_vault(g.ctrl->fw);
	/* A new controller: every AES SQE names a session of its own. */
	cur_sid = login(HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1);
	cur_app = app_of(cur_sid);
	tap_ok(cur_sid != 0, "fault_aes_stall=2: an officer session");
	tap_eq(hsm_vault_import_secret(vault, &spec, xts_key, 64, &kid), 0,
	       "fault_aes_stall=2: import an XTS key");
	fg_write(&g, SRC, plain, 4096);
	for (round = 0; round < 2; round++) {
		static const uint8_t zero_cq[32 * 64];

		/* A fresh CQ for the new enable: the device starts at phase 1 again. */
		fg_write(&g, FG_AES_CQ, zero_cq, sizeof(zero_cq));
		/* A controller reset closed the last round's session (issue 9). */
		if (round) {
			cur_sid = login(HSM_ROLE_OFFICER, OFF_ID, OFF_PIN1, NULL);
			cur_app = app_of(cur_sid);
		}
		fg_enable(&g, 8);
		hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
		fg_admin(&g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0, 0, 0, &res);
		fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 256 | (31u << 16),
			 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (16u << 16), FG_AES_CQ, 0, NULL);
		fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 256 | (31u << 16),
			 AZIHSM_CREATE_PC | (256u << 16), FG_AES_SQ, 0, NULL);
		fg_queue_setup(&q, 256, FG_AES_SQ, FG_AES_CQ, 32, 32, 128, 64);
		xts_sqe(&sqe, false, 0, kid, tweak, 4096, flat(SRC, 4096), flat(DST, 4096));
		tap_eq(submit(&sqe, &cqe), 0, "enable %u: the first AES command completes",
		       round + 1);
		sqe.cmd_id = htole16(++next_cid);
		fg_push(&g, &q, &sqe);
		fg_ring(&g, &q);
		tap_eq(fg_reap(&g, &q, &cqe, 500, true), -1,
		       "  the second is never completed (fault_aes_stall=2)");
		tap_eq(submit(&sqe, &cqe), 0, "  the third completes");
		tap_eq(le16toh(cqe.sq_head), 3, "  and reports the SQ head past all three");
		fg_disable(&g);
	}
	fg_fini(&g);
}

/* ms since an arbitrary start. */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * issue 12: the test-only faults the host sets at run time
 * (hsm_ctrl_set_fault; QEMU: qom-set). Each one is armed on a working
 * queue and must do exactly what device.md says, then the queue works on.
 */
static void test_fault_runtime(void)
{
	struct hsm_key_spec spec = { .type = HSM_KEY_AES256_XTS,
				     .usage = HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT };
	static const uint8_t tweak[16] = { 5 };
	static uint8_t ref[4096], got[4096], junk[4096];
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	unsigned int irqs;
	uint16_t kid;
	uint32_t res;
	long t0;

	if (fg_init(&g, &cfg)) {
		tap_ok(false, "runtime faults: controller");
		return;
	}
	vault = hsm_fw_vault(g.ctrl->fw);
	cur_sid = login(HSM_ROLE_OFFICER, OFF_ID, OFF_PIN0, OFF_PIN1);
	cur_app = app_of(cur_sid);
	tap_ok(cur_sid && !hsm_vault_import_secret(vault, &spec, xts_key, 64, &kid),
	       "runtime faults: a session and an XTS key");
	ref_xts(xts_key, tweak, 4096, plain, 4096, ref, true);
	memset(junk, 0xee, sizeof(junk));
	fg_write(&g, SRC, plain, 4096);
	fg_enable(&g, 8);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	fg_admin(&g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0, 0, 0, &res);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 256 | (31u << 16),
		 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (16u << 16), FG_AES_CQ, 0, NULL);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 256 | (31u << 16),
		 AZIHSM_CREATE_PC | (256u << 16), FG_AES_SQ, 0, NULL);
	fg_queue_setup(&q, 256, FG_AES_SQ, FG_AES_CQ, 32, 32, 128, 64);
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid, tweak, 4096, flat(SRC, 4096),
		flat(DST, 4096));

	/* Fail the next 2: INTERNAL, dst untouched; the third runs. */
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_FAIL, 2);
	fg_write(&g, DST, junk, 4096);
	tap_eq(submit(&sqe, &cqe), AZIHSM_SC_INTERNAL, "fault FAIL=2: first command INTERNAL");
	tap_eq(submit(&sqe, &cqe), AZIHSM_SC_INTERNAL, "  second INTERNAL");
	fg_read(&g, DST, got, 4096);
	tap_ok(!memcmp(got, junk, 4096), "  dst untouched (the commands did not run)");
	tap_eq(hsm_ctrl_get_fault(g.ctrl, HSM_FAULT_FAIL), 0, "  the count is used up");
	tap_eq(submit(&sqe, &cqe), 0, "  the third completes");
	fg_read(&g, DST, got, 4096);
	tap_ok(!memcmp(got, ref, 4096), "  with the right ciphertext");

	/* Drop one interrupt: the CQE is written, the vector not raised. */
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_DROP_IRQ, 1);
	irqs = g.irqs[16];
	sqe.cmd_id = htole16(++next_cid);
	fg_push(&g, &q, &sqe);
	fg_ring(&g, &q);
	hsm_ctrl_quiesce(g.ctrl);
	tap_eq(g.irqs[16], irqs, "fault DROP_IRQ=1: no interrupt for the completion");
	tap_eq(fg_reap(&g, &q, &cqe, 0, true), 0, "  but the CQE is there");
	tap_eq(submit(&sqe, &cqe), 0, "  the next command interrupts again");
	tap_eq(g.irqs[16], irqs + 1, "  (one interrupt)");

	/* Delay the next completion 400 ms. */
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_DELAY_MS, 400);
	t0 = now_ms();
	sqe.cmd_id = htole16(++next_cid);
	fg_push(&g, &q, &sqe);
	fg_ring(&g, &q);
	tap_eq(fg_reap(&g, &q, &cqe, 150, true), -1, "fault DELAY_MS=400: nothing after 150 ms");
	tap_eq(fg_reap(&g, &q, &cqe, 2000, true), 0, "  the completion comes later");
	tap_ok(now_ms() - t0 >= 400, "  after at least 400 ms (%ld)", now_ms() - t0);
	tap_eq(hsm_ctrl_get_fault(g.ctrl, HSM_FAULT_DELAY_MS), 0, "  one shot: disarmed");
	tap_eq(submit(&sqe, &cqe), 0, "  the next completes at once");

	/* A stall armed at run time counts from then: the next AES command. */
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_AES_STALL, 1);
	sqe.cmd_id = htole16(++next_cid);
	fg_push(&g, &q, &sqe);
	fg_ring(&g, &q);
	tap_eq(fg_reap(&g, &q, &cqe, 300, true), -1, "fault AES_STALL=1 at run time: never completed");
	tap_eq(submit(&sqe, &cqe), 0, "  the one after completes");
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_AES_STALL, 0);

	/* CFS: the controller is fatal, commands stop; a reset recovers. */
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_CFS, 1);
	tap_eq(hsm_ctrl_reg_read(g.ctrl, AZIHSM_REG_CSTS, 4) & (AZIHSM_CSTS_CFS | AZIHSM_CSTS_RDY),
	       AZIHSM_CSTS_CFS | AZIHSM_CSTS_RDY, "fault CFS: CSTS.CFS set");
	sqe.cmd_id = htole16(++next_cid);
	fg_push(&g, &q, &sqe);
	fg_ring(&g, &q);
	tap_eq(fg_reap(&g, &q, &cqe, 300, true), -1, "  commands are no longer run");
	tap_eq(hsm_ctrl_get_fault(g.ctrl, HSM_FAULT_CFS), 0, "  the knob reads 0");
	fg_disable(&g);
	tap_eq(hsm_ctrl_reg_read(g.ctrl, AZIHSM_REG_CSTS, 4) & AZIHSM_CSTS_CFS, 0,
	       "  CC.EN = 0 clears it");
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_CFS, 1);
	tap_eq(hsm_ctrl_reg_read(g.ctrl, AZIHSM_REG_CSTS, 4) & AZIHSM_CSTS_CFS, 0,
	       "  not set while disabled (it would block the next enable)");

	/* A held completion does not hold up a reset: it is dropped. */
	cur_sid = login(HSM_ROLE_OFFICER, OFF_ID, OFF_PIN1, NULL);
	cur_app = app_of(cur_sid);
	memset(junk, 0, sizeof(junk));
	fg_write(&g, FG_AES_CQ, junk, 32 * 64);	/* the device starts at phase 1 again */
	fg_enable(&g, 8);
	hsm_ctrl_reg_write(g.ctrl, AZIHSM_REG_CC, AZIHSM_CC_IO_ENABLE, 4);
	fg_admin(&g, AZIHSM_ADMIN_SET_FEATURES, AZIHSM_FEAT_AES_QUEUES, 0, 0, 0, &res);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_CQ, 256 | (31u << 16),
		 AZIHSM_CREATE_PC | AZIHSM_CREATE_CQ_IEN | (16u << 16), FG_AES_CQ, 0, NULL);
	fg_admin(&g, AZIHSM_ADMIN_CREATE_SQ, 256 | (31u << 16),
		 AZIHSM_CREATE_PC | (256u << 16), FG_AES_SQ, 0, NULL);
	fg_queue_setup(&q, 256, FG_AES_SQ, FG_AES_CQ, 32, 32, 128, 64);
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid, tweak, 4096, flat(SRC, 4096),
		flat(DST, 4096));
	hsm_ctrl_set_fault(g.ctrl, HSM_FAULT_DELAY_MS, 20000);
	sqe.cmd_id = htole16(++next_cid);
	fg_push(&g, &q, &sqe);
	fg_ring(&g, &q);
	tap_eq(fg_reap(&g, &q, &cqe, 200, true), -1, "fault DELAY_MS=20000: held");
	t0 = now_ms();
	fg_disable(&g);
	tap_ok(now_ms() - t0 < 5000, "  CC.EN = 0 does not wait for it (%ld ms)", now_ms() - t0);
	tap_eq(hsm_ctrl_faults_injected(g.ctrl), 7, "7 faults injected in all");
	fg_fini(&g);
}

/*
 * Red team 3 (rt2's leftover): a tamper event that hits while an AES job
 * runs. aes_run checked the error state only at the start, so the job's
 * output still reached guest memory after the keys were zeroized. Now
 * each extent's write checks it: the tamper comes during the first
 * extent's DMA (the hook), the rest stays untouched, the status is
 * HSM_DEVICE_ERROR. Last: the controller is in its error state after it.
 */
static bool rt3_tampered;

static void rt3_tamper_hook(struct fake_guest *fg, uint64_t addr, size_t len)
{
	(void)addr;
	(void)len;
	if (!rt3_tampered) {
		rt3_tampered = true;
		hsm_fw_tamper(hsm_ctrl_fw(fg->ctrl), 1, 1);
	}
}

static void test_tamper_mid_job(void)
{
	static const uint8_t tweak[16] = { 0x33 };
	static struct pieces ps, pd;
	struct azihsm_sgl_desc s, d;
	struct azihsm_aes_sqe sqe;
	struct azihsm_aes_cqe cqe;
	uint8_t pat[4096];
	unsigned int i;
	size_t off;
	bool rest = true;
	int sc;

	memset(pat, 0x5a, sizeof(pat));
	s = scatter(SCAT, LISTS, plain, BIG, 12, &ps);
	d = scatter(SCAT + 0x40000, LISTS + 16 * 4096, NULL, BIG, 7, &pd);
	for (i = 0; i < pd.n; i++)
		fg_write(&g, pd.addr[i], pat, pd.len[i] < sizeof(pat) ? pd.len[i] : sizeof(pat));
	xts_sqe(&sqe, false, AZIHSM_AES_DUL_4096, kid_xts, tweak, BIG, s, d);
	g.dma_write_hook = rt3_tamper_hook;
	sc = submit(&sqe, &cqe);
	g.dma_write_hook = NULL;
	tap_ok(rt3_tampered, "RT3: the tamper came during the job's first output extent");
	tap_eq(sc, AZIHSM_SC_HSM_DEVICE_ERROR, "RT3: the job's status is HSM_DEVICE_ERROR");
	tap_ok(!cqe.len && !cqe.fips_approved, "RT3: no length, not approved");
	gather(&pd, got);
	for (off = pd.len[0]; off < BIG; off++)
		if (got[off] != 0x5a)
			rest = false;
	tap_ok(pd.n > 1 && rest, "RT3: nothing after the tamper reached guest memory (%u extents)",
	       pd.n);
}

int main(void)
{
	if (setup()) {
		printf("Bail out! cannot create the controller\n");
		return 1;
	}
	test_xts_sizes();
	test_xts_cts();
	test_xts_scattered();
	test_xts_keys();
	test_gcm();
	test_refusals();
	test_cbc();
	test_batch();
	test_two_queues();
	test_deleted_key();
	test_more_key_types();
	test_session_attacks();
	test_tamper_mid_job();
	fg_fini(&g);
	test_fault_stall();
	test_fault_runtime();
	return tap_done();
}
