// SPDX-License-Identifier: MIT
/*
 * Guest helper of tests/fault-io-vm.sh and tests/hotplug-vm.sh: an AF_ALG
 * load on one skcipher implementation that checks every answer while the
 * device underneath is faulted, reset or unplugged.
 *
 *   afalg-loop -d DRIVER -r REFDRIVER [-t SECONDS] [-j JOBS] [-s STOPFILE]
 *
 * JOBS processes (default 2) each loop until SECONDS pass (default 60) or
 * STOPFILE exists: a transform of DRIVER (e.g. "xts_aes_azihsm") and one
 * of REFDRIVER (an independent implementation, e.g. "xts(ecb(aes-generic))")
 * get the same random 64-byte XTS key, renewed every 64 requests (setkey
 * under load); a random message of 16..8192 bytes with a random IV is
 * encrypted by both, and DRIVER's ciphertext decrypted by DRIVER again.
 * Any difference is a MISMATCH, the one result that is never allowed. A
 * request that fails is counted by its errno; after a failure the
 * process makes new transforms (a device that went away and came back
 * is found again, or creating them fails with ENOENT while none is
 * there). One line at the end, totals over every process:
 *
 *   AFALG ok=N mismatch=M eio=A enodev=B enoent=C other=D last_other=E
 *
 * Exit status 0 when there was no mismatch and at least one request went
 * through, 2 on a mismatch, 1 otherwise.
 */
#include <errno.h>
#include <linux/if_alg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXLEN	8192
#define KEYLEN	64
#define IVLEN	16

struct totals {
	unsigned long ok, mismatch, eio, enodev, enoent, other;
	int last_other;
};

struct tfm {
	int alg;	/* bound transform socket */
	int op;		/* operation socket */
};

static void tfm_close(struct tfm *t)
{
	if (t->op >= 0)
		close(t->op);
	if (t->alg >= 0)
		close(t->alg);
	t->op = t->alg = -1;
}

/* 0, or -errno. */
static int tfm_open(struct tfm *t, const char *name, const uint8_t *key)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "skcipher" };
	int err;

	t->alg = t->op = -1;
	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", name);
	t->alg = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (t->alg < 0)
		return -errno;
	if (bind(t->alg, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(t->alg, SOL_ALG, ALG_SET_KEY, key, KEYLEN))
		goto err;
	t->op = accept(t->alg, NULL, 0);
	if (t->op < 0)
		goto err;
	return 0;
err:
	err = -errno;
	tfm_close(t);
	return err;
}

/* One request on @t: 0, or -errno. */
static int do_crypt(struct tfm *t, int op, const uint8_t *iv, const uint8_t *in, uint8_t *out,
		 size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + IVLEN)];
	struct iovec iov = { .iov_base = (void *)in, .iov_len = len };
	struct msghdr msg = { .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
			      .msg_iov = &iov, .msg_iovlen = 1 };
	struct af_alg_iv *aiv;
	struct cmsghdr *c;
	ssize_t n;
	size_t got = 0;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	*(uint32_t *)CMSG_DATA(c) = (uint32_t)op;
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(*aiv) + IVLEN);
	aiv = (struct af_alg_iv *)CMSG_DATA(c);
	aiv->ivlen = IVLEN;
	memcpy(aiv->iv, iv, IVLEN);
	if (sendmsg(t->op, &msg, 0) != (ssize_t)len)
		return -errno ? -errno : -EIO;
	while (got < len) {
		n = read(t->op, out + got, len - got);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

static void count(struct totals *s, int err)
{
	switch (err) {
	case -EIO:
		s->eio++;
		break;
	case -ENODEV:
		s->enodev++;
		break;
	case -ENOENT:
		s->enoent++;
		break;
	default:
		s->other++;
		s->last_other = -err;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void job(const char *drv, const char *ref, double end, const char *stop,
		struct totals *s)
{
	static uint8_t pt[MAXLEN], ct[MAXLEN], rct[MAXLEN], back[MAXLEN];
	uint8_t key[KEYLEN], iv[IVLEN];
	struct tfm d = { -1, -1 }, r = { -1, -1 };
	unsigned int n = 0;
	struct stat st;
	size_t len;
	int err;

	while (now() < end && (!stop || stat(stop, &st))) {
		if (d.op < 0 || !(n++ % 64)) {
			tfm_close(&d);
			tfm_close(&r);
			if (getrandom(key, KEYLEN, 0) != KEYLEN)
				return;
			/* The two halves of an XTS key must differ. */
			key[0] = (uint8_t)~key[32];
			err = tfm_open(&d, drv, key);
			if (!err)
				err = tfm_open(&r, ref, key);
			if (err) {
				count(s, err);
				tfm_close(&d);
				usleep(100000);
				continue;
			}
		}
		if (getrandom(&len, sizeof(len), 0) != sizeof(len) ||
		    getrandom(iv, IVLEN, 0) != IVLEN || getrandom(pt, MAXLEN, 0) != MAXLEN)
			return;
		len = 16 + len % (MAXLEN - 15);
		err = do_crypt(&d, ALG_OP_ENCRYPT, iv, pt, ct, len);
		if (!err)
			err = do_crypt(&r, ALG_OP_ENCRYPT, iv, pt, rct, len);
		if (!err)
			err = do_crypt(&d, ALG_OP_DECRYPT, iv, ct, back, len);
		if (err) {
			count(s, err);
			tfm_close(&d);	/* new transforms next time */
			continue;
		}
		if (memcmp(ct, rct, len) || memcmp(back, pt, len))
			s->mismatch++;
		else
			s->ok++;
	}
	tfm_close(&d);
	tfm_close(&r);
}

int main(int argc, char **argv)
{
	const char *drv = NULL, *ref = NULL, *stop = NULL;
	unsigned int secs = 60, jobs = 2, i;
	struct totals *all, sum = { 0 };
	double end;
	int c;

	while ((c = getopt(argc, argv, "d:r:t:j:s:")) != -1) {
		switch (c) {
		case 'd': drv = optarg; break;
		case 'r': ref = optarg; break;
		case 't': secs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'j': jobs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': stop = optarg; break;
		default: goto usage;
		}
	}
	if (!drv || !ref || !jobs || jobs > 64)
		goto usage;
	all = mmap(NULL, jobs * sizeof(*all), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (all == MAP_FAILED)
		return 1;
	memset(all, 0, jobs * sizeof(*all));
	end = now() + secs;
	for (i = 0; i < jobs; i++) {
		pid_t p = fork();

		if (p < 0)
			return 1;
		if (!p) {
			job(drv, ref, end, stop, &all[i]);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	for (i = 0; i < jobs; i++) {
		sum.ok += all[i].ok;
		sum.mismatch += all[i].mismatch;
		sum.eio += all[i].eio;
		sum.enodev += all[i].enodev;
		sum.enoent += all[i].enoent;
		sum.other += all[i].other;
		if (all[i].last_other)
			sum.last_other = all[i].last_other;
	}
	printf("AFALG ok=%lu mismatch=%lu eio=%lu enodev=%lu enoent=%lu other=%lu last_other=%d\n",
	       sum.ok, sum.mismatch, sum.eio, sum.enodev, sum.enoent, sum.other, sum.last_other);
	return sum.mismatch ? 2 : sum.ok ? 0 : 1;
usage:
	fprintf(stderr, "usage: afalg-loop -d DRIVER -r REFDRIVER [-t SECONDS] [-j JOBS] [-s STOPFILE]\n");
	return 1;
}
