// SPDX-License-Identifier: MIT
/*
 * Guest helper of scripts/bench-crypto: how fast one kernel skcipher
 * implementation encrypts through AF_ALG.
 *
 *   afalg-bench -a ALG -d DRIVER -r REFDRIVER -k KEYBYTES -s SIZE
 *               [-t SECONDS] [-j JOBS]
 *
 * ALG is the mode's cra_name ("cbc(aes)", "xts(aes)": it picks the IV size),
 * DRIVER the implementation to measure and REFDRIVER an independent one
 * (e.g. the generic C code, "cbc(aes-generic)"). Before measuring, one
 * buffer is encrypted with both and the outputs must be equal, so a broken
 * implementation is never timed. Then JOBS worker processes, each with a
 * transform and an operation socket of its own, encrypt SIZE bytes per
 * request (sendmsg with ALG_SET_OP/ALG_SET_IV, then read) for SECONDS
 * seconds: JOBS requests are in flight at once (one per process; AF_ALG's
 * read waits for its request). Output, one line:
 *
 *   RESULT driver=D size=S jobs=J ops=N secs=T ops_s=X mb_s=Y lat_us=L
 *          cpu_pct=C cs_op=W irq_op=I
 *
 * mb_s is 10^6 bytes per second of plaintext; lat_us the mean time of one
 * request as a worker sees it (JOBS / ops_s). From /proc/stat over the
 * measurement: cpu_pct how busy the (v)CPUs were (100 = all of them), cs_op
 * context switches and irq_op interrupts per request, system-wide. Exit 0 on success, 2 on an
 * output mismatch, 3 when DRIVER (or REFDRIVER) is not available, 4 when
 * DRIVER refuses the request (e.g. a size it does not support), 1 on any
 * other error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define MAX_KEY 64
#define MAX_IV 16
#define MAX_JOBS 256

enum { EXIT_MISMATCH = 2, EXIT_UNAVAILABLE = 3, EXIT_REFUSED = 4 };

struct tfm {
	int tfd;	/* transform socket (bound, keyed) */
	int ofd;	/* operation socket */
};

static const char *me = "afalg-bench";

static void fail(int status, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", me, what, strerror(errno));
	exit(status);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open and key a transform; 0, or the exit status to fail with. */
static int tfm_open(struct tfm *t, const char *driver, const unsigned char *key,
		    size_t klen)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG };
	const char *what;

	if (strlen(driver) >= sizeof(sa.salg_name)) {
		fprintf(stderr, "%s: driver name too long: %s\n", me, driver);
		return 1;
	}
	strcpy((char *)sa.salg_type, "skcipher");
	strcpy((char *)sa.salg_name, driver);
	t->tfd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (t->tfd < 0) {
		what = "socket(AF_ALG)";
		goto err;
	}
	if (bind(t->tfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: %s: not available: %s\n", me, driver, strerror(errno));
		close(t->tfd);
		return EXIT_UNAVAILABLE;
	}
	what = "ALG_SET_KEY";
	if (setsockopt(t->tfd, SOL_ALG, ALG_SET_KEY, key, (socklen_t)klen) < 0)
		goto err_close;
	what = "accept";
	t->ofd = accept4(t->tfd, NULL, NULL, SOCK_CLOEXEC);
	if (t->ofd < 0)
		goto err_close;
	return 0;
err_close:
	close(t->tfd);
err:
	fprintf(stderr, "%s: %s: %s: %s\n", me, driver, what, strerror(errno));
	return 1;
}

/* One encryption of len bytes of in into out; 0, or -errno. */
static int encrypt1(struct tfm *t, const unsigned char *iv, size_t ivlen,
		    const unsigned char *in, unsigned char *out, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t)) +
		  CMSG_SPACE(sizeof(struct af_alg_iv) + MAX_IV)] = { 0 };
	struct iovec iov = { .iov_base = (void *)in, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = CMSG_SPACE(sizeof(uint32_t)) +
				  CMSG_SPACE(sizeof(struct af_alg_iv) + ivlen),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	struct af_alg_iv *aiv;
	uint32_t op = ALG_OP_ENCRYPT;
	size_t got = 0;
	ssize_t n;

	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(sizeof(op));
	memcpy(CMSG_DATA(c), &op, sizeof(op));
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(*aiv) + ivlen);
	aiv = (struct af_alg_iv *)(void *)CMSG_DATA(c);
	aiv->ivlen = (uint32_t)ivlen;
	memcpy(aiv->iv, iv, ivlen);

	n = sendmsg(t->ofd, &msg, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;
	while (got < len) {
		n = read(t->ofd, out + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

static void randomize(void *p, size_t len)
{
	unsigned char *b = p;

	while (len) {
		ssize_t n = getrandom(b, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(1, "getrandom");
		b += n;
		len -= (size_t)n;
	}
}

/* System-wide counters from /proc/stat. */
struct stat_sample {
	unsigned long long busy, total, ctxt, intr;
};

static void stat_sample(struct stat_sample *st)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	memset(st, 0, sizeof(*st));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };

		if (sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 4) {
			for (int i = 0; i < 8; i++)
				st->total += v[i];
			st->busy = st->total - v[3] - v[4];	/* idle, iowait */
		}
		sscanf(line, "ctxt %llu", &st->ctxt);
		sscanf(line, "intr %llu", &st->intr);
	}
	fclose(f);
}

static unsigned long parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0) {
		fprintf(stderr, "%s: bad %s '%s'\n", me, what, s);
		exit(1);
	}
	return v;
}

/*
 * Worker: set up, say so on ready ('r', or 'x' on failure), wait for the
 * go byte, encrypt until the deadline, report "OPS SECONDS".
 */
static void worker(const char *driver, const unsigned char *key, size_t klen,
		   size_t ivlen, size_t size, double secs, int ready, int go,
		   int report)
{
	unsigned char *in = malloc(size), *out = malloc(size), iv[MAX_IV];
	struct tfm t;
	double t0, t1;
	unsigned long long ops = 0;
	char c;
	int rc;

	if (!in || !out)
		fail(1, "malloc");
	randomize(in, size);
	randomize(iv, sizeof(iv));
	rc = tfm_open(&t, driver, key, klen);
	if (write(ready, rc ? "x" : "r", 1) != 1 || rc)
		exit(rc ? rc : 1);
	close(ready);
	if (read(go, &c, 1) != 1)
		exit(1);
	t0 = now();
	do {
		rc = encrypt1(&t, iv, ivlen, in, out, size);
		if (rc) {
			errno = -rc;
			fail(EXIT_REFUSED, "encrypt");
		}
		ops++;
		t1 = now();
	} while (t1 - t0 < secs);
	{
		char line[64];
		int n = snprintf(line, sizeof(line), "%llu %.6f\n", ops, t1 - t0);

		if (write(report, line, (size_t)n) != n)
			exit(1);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	const char *alg = NULL, *driver = NULL, *ref = NULL;
	unsigned long klen = 0, size = 0, jobs = 1;
	double secs = 2.0;
	unsigned char key[MAX_KEY], iv[MAX_IV], *in, *out, *refout;
	size_t ivlen;
	struct tfm t, r;
	int opt, rc, ready[2], go[2], rep[2], status, bad = 0;
	unsigned long i;
	double rate = 0, span = 0;
	unsigned long long total = 0;
	struct stat_sample st0, st1;

	while ((opt = getopt(argc, argv, "a:d:r:k:s:t:j:")) != -1) {
		switch (opt) {
		case 'a': alg = optarg; break;
		case 'd': driver = optarg; break;
		case 'r': ref = optarg; break;
		case 'k': klen = parse_num(optarg, "key size"); break;
		case 's': size = parse_num(optarg, "size"); break;
		case 't': secs = (double)parse_num(optarg, "seconds"); break;
		case 'j': jobs = parse_num(optarg, "jobs"); break;
		default: goto usage;
		}
	}
	if (!alg || !driver || !ref || !klen || !size || optind != argc)
		goto usage;
	if (klen > MAX_KEY || jobs > MAX_JOBS) {
		fprintf(stderr, "%s: key size at most %d, jobs at most %d\n", me, MAX_KEY,
			MAX_JOBS);
		return 1;
	}
	ivlen = strncmp(alg, "ecb(", 4) ? 16 : 0;

	/* Check against the reference once; never time a wrong answer. */
	in = malloc(size);
	out = malloc(size);
	refout = malloc(size);
	if (!in || !out || !refout)
		fail(1, "malloc");
	randomize(key, klen);
	randomize(iv, sizeof(iv));
	randomize(in, size);
	rc = tfm_open(&r, ref, key, klen);
	if (rc)
		return rc;
	rc = tfm_open(&t, driver, key, klen);
	if (rc)
		return rc;
	rc = encrypt1(&r, iv, ivlen, in, refout, size);
	if (rc) {
		errno = -rc;
		fail(1, "reference encrypt");
	}
	rc = encrypt1(&t, iv, ivlen, in, out, size);
	if (rc) {
		errno = -rc;
		fprintf(stderr, "%s: %s refuses %lu bytes: %s\n", me, driver, size,
			strerror(errno));
		return EXIT_REFUSED;
	}
	if (memcmp(out, refout, size)) {
		fprintf(stderr, "%s: %s and %s disagree on %lu bytes\n", me, driver, ref, size);
		return EXIT_MISMATCH;
	}
	close(t.ofd);
	close(t.tfd);
	close(r.ofd);
	close(r.tfd);

	/* The workers: set up, wait for the go, run, report. */
	if (pipe(ready) || pipe(go) || pipe(rep))
		fail(1, "pipe");
	for (i = 0; i < jobs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			fail(1, "fork");
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			close(rep[0]);
			worker(driver, key, klen, ivlen, size, secs, ready[1], go[0], rep[1]);
		}
	}
	close(ready[1]);
	close(go[0]);
	close(rep[1]);
	/* Start them together once every one has its transform. */
	for (i = 0; i < jobs; i++) {
		char c;

		if (read(ready[0], &c, 1) != 1 || c != 'r')
			break;
	}
	close(ready[0]);
	stat_sample(&st0);
	if (i == jobs) {
		for (i = 0; i < jobs; i++) {
			if (write(go[1], "g", 1) != 1)
				fail(1, "write");
		}
	}
	close(go[1]);	/* a worker still waiting sees EOF and exits */
	{
		FILE *f = fdopen(rep[0], "r");
		unsigned long long ops;
		double t1;

		if (!f)
			fail(1, "fdopen");
		while (fscanf(f, "%llu %lf", &ops, &t1) == 2) {
			total += ops;
			rate += (double)ops / t1;
			if (t1 > span)
				span = t1;
		}
		fclose(f);
	}
	stat_sample(&st1);
	while (wait(&status) > 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (!bad || (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_REFUSED))
				bad = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
	}
	if (bad) {
		fprintf(stderr, "%s: a worker failed (status %d)\n", me, bad);
		return bad;
	}
	printf("RESULT driver=%s size=%lu jobs=%lu ops=%llu secs=%.3f ops_s=%.1f mb_s=%.3f lat_us=%.1f",
	       driver, size, jobs, total, span, rate, rate * (double)size / 1e6,
	       rate > 0 ? (double)jobs / rate * 1e6 : 0.0);
	printf(" cpu_pct=%.0f cs_op=%.1f irq_op=%.1f\n",
	       st1.total > st0.total ?
	       100.0 * (double)(st1.busy - st0.busy) / (double)(st1.total - st0.total) : 0.0,
	       total ? (double)(st1.ctxt - st0.ctxt) / (double)total : 0.0,
	       total ? (double)(st1.intr - st0.intr) / (double)total : 0.0);
	return 0;

usage:
	fprintf(stderr,
		"usage: %s -a ALG -d DRIVER -r REFDRIVER -k KEYBYTES -s SIZE [-t SECONDS] [-j JOBS]\n",
		me);
	return 1;
}
