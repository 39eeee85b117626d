// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The tamper log (layout: hsm_tamper.h). Small and rewritten whole at each
 * event: an event is rare and must be on disk before the device answers
 * anything again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf */
#endif
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hsm_bytes.h"
#include "hsm_tamper.h"

#define TL_MAGIC	"AZHSMTL1"
#define TL_VERSION	1
#define TL_HDR		20
#define TL_MAX_FILE	(TL_HDR + AZIHSM_TAMPER_LOG_MAX * AZIHSM_TAMPER_ENTRY_LEN + 32)

static void tl_put_entry(uint8_t *p, const struct hsm_tamper_entry *e)
{
	p[0] = e->sensor;
	put_le32(p + 1, (uint32_t)e->value);
	put_le64(p + 5, e->time);
	put_le32(p + 13, e->seq);
}

void hsm_tamper_log_encode(const struct hsm_tamper_log *l, uint8_t *out)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		tl_put_entry(out + i * AZIHSM_TAMPER_ENTRY_LEN, &l->e[i]);
}

static int tl_digest(const uint8_t *p, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

static void tl_parse(struct hsm_tamper_log *l, const uint8_t *buf, size_t len)
{
	uint8_t dg[32];
	uint32_t n;
	unsigned int i;

	if (len < TL_HDR + 32 || memcmp(buf, TL_MAGIC, 8) ||
	    get_le32(buf + 8) != TL_VERSION)
		goto bad;
	n = get_le32(buf + 16);
	if (n > AZIHSM_TAMPER_LOG_MAX || len != TL_HDR + n * AZIHSM_TAMPER_ENTRY_LEN + 32 ||
	    tl_digest(buf, len - 32, dg) || memcmp(dg, buf + len - 32, 32))
		goto bad;
	l->count = get_le32(buf + 12);
	l->n = n;
	for (i = 0; i < n; i++) {
		const uint8_t *p = buf + TL_HDR + i * AZIHSM_TAMPER_ENTRY_LEN;

		l->e[i].sensor = p[0];
		l->e[i].value = (int32_t)get_le32(p + 1);
		l->e[i].time = get_le64(p + 5);
		l->e[i].seq = get_le32(p + 13);
	}
	return;
bad:
	l->damaged = true;
}

int hsm_tamper_log_open(struct hsm_tamper_log *l, const char *state_path)
{
	uint8_t buf[TL_MAX_FILE + 1];
	ssize_t len;
	int fd;

	memset(l, 0, sizeof(*l));
	if (!state_path)
		return 0;
	if (asprintf(&l->path, "%s.tamper", state_path) < 0) {
		l->path = NULL;
		return -1;
	}
	fd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			l->damaged = true;
		return 0;
	}
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len < 0 || len > TL_MAX_FILE)
		l->damaged = true;
	else
		tl_parse(l, buf, (size_t)len);
	return 0;
}

void hsm_tamper_log_close(struct hsm_tamper_log *l)
{
	free(l->path);
	l->path = NULL;
}

static int tl_store(struct hsm_tamper_log *l)
{
	uint8_t buf[TL_MAX_FILE];
	size_t len = TL_HDR + l->n * AZIHSM_TAMPER_ENTRY_LEN;
	char *tmp = NULL, *dcopy = NULL;
	int fd = -1, ret = -1;

	memcpy(buf, TL_MAGIC, 8);
	put_le32(buf + 8, TL_VERSION);
	put_le32(buf + 12, l->count);
	put_le32(buf + 16, l->n);
	hsm_tamper_log_encode(l, buf + TL_HDR);
	if (tl_digest(buf, len, buf + len))
		return -1;
	len += 32;
	if (asprintf(&tmp, "%s.tmp", l->path) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd))
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, l->path))
		goto out;
	dcopy = strdup(l->path);
	if (dcopy) {
		int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	l->damaged = false;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(tmp);
	free(dcopy);
	free(tmp);
	return ret;
}

int hsm_tamper_log_add(struct hsm_tamper_log *l, uint8_t sensor, int32_t value)
{
	struct hsm_tamper_entry e = {
		.sensor = sensor, .value = value, .time = (uint64_t)time(NULL),
	};

	if (l->count < UINT32_MAX)
		l->count++;
	e.seq = l->count;
	if (l->n == AZIHSM_TAMPER_LOG_MAX) {
		memmove(&l->e[0], &l->e[1], sizeof(l->e[0]) * (AZIHSM_TAMPER_LOG_MAX - 1));
		l->n--;
	}
	l->e[l->n++] = e;
	return l->path ? tl_store(l) : 0;
}
