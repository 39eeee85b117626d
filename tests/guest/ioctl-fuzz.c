// SPDX-License-Identifier: MIT
/*
 * In-guest ioctl fuzzer (issue 12, section 2): random and mutated requests
 * from several processes through the real driver and device.
 *
 *   ioctl-fuzz [-t SECONDS] [-j JOBS] [-s SEED]
 *
 * Seeds are valid requests, recorded as malformed.c records them: this
 * program replaces ioctl() (the static libazihsm calls it), logs in as the
 * officer and runs a few services through the library. Then JOBS processes
 * (default 4) send mutated requests for SECONDS (default 20; 0 = until
 * killed): bits flipped, bytes set, requests cut short or extended, bytes
 * spliced from another seed, random bytes, and the ioctl's own fields
 * (session flags and id, opcode, command set, PSDT, reserved bytes, buffer
 * lengths, header size and timeout, buffer pointers that are NULL,
 * inaccessible or the kernel's). Half of the processes use the library's file
 * (its session is theirs), half a file of their own. Any answer is fine;
 * the device and driver must keep answering: afterwards a new file and
 * session work (gt_device_works) and no request timed out.
 *
 * TAP. The guest kernel's log is vm-run's to check (a warning fails it).
 * tests/run runs it for 20 s per kernel; a long run:
 *   scripts/vm-run --timeout 90000 --add build/tests/guest:/usr/libexec/azihsm/tests \
 *     -- /usr/libexec/azihsm/tests/ioctl-fuzz -t 86400 -j 8
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "azihsm/azihsm.h"
#include "guest_util.h"

#define MAX_REQ		AZIHSM_CMD_BUF_MAX
#define MAX_SEEDS	16

struct seed {
	struct azihsm_cmd_in in;
	size_t len;
	uint8_t req[1024];
};

static struct seed seeds[MAX_SEEDS];
static unsigned int nseeds;
static int lib_fd = -1;

struct totals {
	unsigned long sent, accepted, refused_errno, refused_status, timeouts;
};

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

/* Replaces libc's ioctl() for this program: records each command as a seed. */
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == AZIHSM_IOCTL_CMD && arg) {
		const struct azihsm_cmd *c = arg;

		lib_fd = fd;
		if (nseeds < MAX_SEEDS && c->in.src_len <= sizeof(seeds[0].req)) {
			seeds[nseeds].in = c->in;
			seeds[nseeds].len = c->in.src_len;
			memcpy(seeds[nseeds].req, (const void *)(uintptr_t)c->in.src_buf,
			       c->in.src_len);
			nseeds++;
		}
	}
	return real_ioctl(fd, req, arg);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from -s SEED */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* A buffer pointer: mostly ours, sometimes NULL, inaccessible or the kernel's. */
static uint64_t some_ptr(void *ours, void *unmapped)
{
	switch (below(16)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)unmapped;
	case 2:
		return 0xffff888000000000ull + (below(1 << 20) << 12);
	default:
		return (uintptr_t)ours;
	}
}

static void mutate(struct azihsm_cmd *cmd, uint8_t *req, size_t *len, void *rsp, void *unmapped)
{
	const struct seed *s = &seeds[below(nseeds)];
	unsigned int n = 1 + below(4), i;
	size_t l = s->len;

	memset(cmd, 0, sizeof(*cmd));
	cmd->hdr.size = sizeof(*cmd);
	cmd->in = s->in;
	memcpy(req, s->req, l);
	for (i = 0; i < n; i++) {
		switch (below(12)) {
		case 0:		/* flip a bit */
			req[below((uint32_t)l)] ^= (uint8_t)(1u << below(8));
			break;
		case 1:		/* set a byte */
			req[below((uint32_t)l)] = (uint8_t)rnd();
			break;
		case 2:		/* cut short */
			l = 1 + below((uint32_t)l);
			break;
		case 3:		/* extend */
			while (l < MAX_REQ && below(8))
				req[l++] = (uint8_t)rnd();
			break;
		case 4: {	/* splice from another seed */
			const struct seed *o = &seeds[below(nseeds)];
			size_t at = below((uint32_t)l), from = below((uint32_t)o->len);
			size_t k = 1 + below(32);

			if (from + k > o->len)
				k = o->len - from;
			if (at + k > MAX_REQ)
				k = MAX_REQ - at;
			memcpy(req + at, o->req + from, k);
			if (at + k > l)
				l = at + k;
			break;
		}
		case 5:		/* random bytes */
			l = 1 + below(256);
			for (size_t j = 0; j < l; j++)
				req[j] = (uint8_t)rnd();
			break;
		case 6:
			cmd->in.session_flags = (uint8_t)rnd();
			break;
		case 7:
			cmd->in.session_id = below(4) ? (uint16_t)rnd() : (uint16_t)(s->in.session_id ^ 1);
			break;
		case 8:
			switch (below(4)) {
			case 0: cmd->in.opc = (uint16_t)below(4); break;
			case 1: cmd->in.cmdset = (uint16_t)rnd(); break;
			case 2: cmd->in.psdt = (uint8_t)rnd(); break;
			default: ((uint8_t *)cmd->in.rsvd52)[below(20)] = (uint8_t)rnd(); break;
			}
			break;
		case 9:
			cmd->hdr.size = below(4) ? (uint32_t)below(2 * sizeof(*cmd)) : (uint32_t)rnd();
			break;
		case 10:
			cmd->hdr.timeout_ms = below(2) ? 1 + below(50) : (uint32_t)rnd();
			break;
		default:
			cmd->in.dst_len = below(3) ? 1 + below(MAX_REQ) : (uint32_t)rnd();
			break;
		}
	}
	*len = l;
	cmd->in.src_buf = some_ptr(req, unmapped);
	cmd->in.src_len = below(16) ? (uint32_t)l : (uint32_t)rnd();
	if (cmd->in.src_len > MAX_REQ && below(2))
		cmd->in.src_len = MAX_REQ;
	cmd->in.dst_buf = some_ptr(rsp, unmapped);
	if (!cmd->in.dst_len || cmd->in.dst_len > MAX_REQ)
		cmd->in.dst_len = below(8) ? MAX_REQ : cmd->in.dst_len;
}

static void job(int fd, double end, struct totals *t, uint64_t seed, void *unmapped)
{
	static uint8_t req[MAX_REQ], rsp[MAX_REQ];
	struct azihsm_cmd cmd;
	struct timespec ts;
	size_t len;

	rng_state = seed | 1;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (end && ts.tv_sec + ts.tv_nsec / 1e9 >= end)
			break;
		mutate(&cmd, req, &len, rsp, unmapped);
		t->sent++;
		if (real_ioctl(fd, below(64) ? AZIHSM_IOCTL_CMD : (unsigned long)rnd(), &cmd) < 0) {
			/* A timeout the request itself asked for is not the device's fault. */
			if (errno == ETIMEDOUT && (!cmd.hdr.timeout_ms || cmd.hdr.timeout_ms >= 5000))
				t->timeouts++;
			t->refused_errno++;
		} else if (cmd.out.status) {
			t->refused_status++;
		} else {
			t->accepted++;
		}
	}
}

/* Seeds: a few services through the library, in the officer's session. */
static int record(struct azihsm_session *s)
{
	static const uint8_t iv[16] = { 1 }, data[64] = { 2 };
	struct azihsm_aes_params p = { .mode = AZIHSM_AES_MODE_CBC, .iv = iv, .iv_len = 16 };
	uint8_t digest[32] = { 3 }, out[1024], sig[256], mac[64];
	struct azihsm_key_info keys[64];
	uint16_t ec, aes, hm;
	size_t n;
	bool fips;

	if (azihsm_key_generate(s, AZIHSM_KEY_TYPE_EC_P256, AZIHSM_KEY_USE_SIGN, NULL, 0, false,
				&ec) ||
	    azihsm_key_generate(s, AZIHSM_KEY_TYPE_AES256,
				AZIHSM_KEY_USE_ENCRYPT | AZIHSM_KEY_USE_DECRYPT, NULL, 0, false,
				&aes) ||
	    azihsm_key_generate(s, AZIHSM_KEY_TYPE_HMAC_SHA256, AZIHSM_KEY_USE_SIGN, NULL, 0,
				false, &hm) ||
	    azihsm_key_list(s, keys, 64, &n) ||
	    azihsm_key_public(s, ec, out, sizeof(out), &n) ||
	    azihsm_ecdsa_sign(s, ec, AZIHSM_HASH_ALG_SHA256, digest, 32, sig, sizeof(sig), &n,
			      &fips) ||
	    azihsm_aes_crypt(s, aes, &p, data, sizeof(data), out, sizeof(out), &n, &fips) ||
	    azihsm_hmac(s, hm, data, sizeof(data), mac, sizeof(mac), &n, &fips))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int secs = 20, jobs = 4, i;
	struct totals *all, sum = { 0 };
	struct azihsm_session *s = NULL;
	struct azihsm_dev *dev = NULL;
	uint64_t seed = (uint64_t)time(NULL);
	struct timespec ts;
	void *unmapped;
	double end = 0;
	int c, fails = 0;

	while ((c = getopt(argc, argv, "t:j:s:")) != -1) {
		switch (c) {
		case 't': secs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'j': jobs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: ioctl-fuzz [-t SECONDS] [-j JOBS] [-s SEED]\n");
			return 2;
		}
	}
	if (!jobs || jobs > 64)
		return 2;
	printf("TAP version 13\n# seed %llu, %u processes, %u s\n", (unsigned long long)seed,
	       jobs, secs);
	if (azihsm_open(GT_DEV, &dev) || gt_officer_login(dev, &s) || record(s) || !nseeds) {
		printf("Bail out! could not record the seed requests\n");
		return 1;
	}
	printf("ok 1 - %u seed requests recorded through the library\n", nseeds);
	fflush(stdout);
	/*
	 * A page the process may not touch: kept reserved (PROT_NONE), so that
	 * nothing else is ever mapped there while the fuzzer points at it.
	 */
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (unmapped == MAP_FAILED)
		return 1;
	all = mmap(NULL, jobs * sizeof(*all), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (all == MAP_FAILED)
		return 1;
	memset(all, 0, jobs * sizeof(*all));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (secs)
		end = ts.tv_sec + ts.tv_nsec / 1e9 + secs;
	for (i = 0; i < jobs; i++) {
		pid_t p = fork();

		if (p < 0)
			return 1;
		if (!p) {
			int fd = i % 2 ? open(GT_DEV, O_RDWR) : lib_fd;

			job(fd < 0 ? lib_fd : fd, end, &all[i], seed + i * 0x9e3779b97f4a7c15ull,
			    unmapped);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	for (i = 0; i < jobs; i++) {
		sum.sent += all[i].sent;
		sum.accepted += all[i].accepted;
		sum.refused_errno += all[i].refused_errno;
		sum.refused_status += all[i].refused_status;
		sum.timeouts += all[i].timeouts;
	}
	printf("# sent %lu: accepted %lu, refused by the driver %lu, completion errors %lu, "
	       "timeouts %lu\n", sum.sent, sum.accepted, sum.refused_errno, sum.refused_status,
	       sum.timeouts);
	fails += !sum.sent;
	printf("%sok 2 - %lu mutated requests sent from %u processes\n", sum.sent ? "" : "not ",
	       sum.sent, jobs);
	fails += !!sum.timeouts;
	printf("%sok 3 - no request timed out that did not ask for a short timeout (%lu)\n", sum.timeouts ? "not " : "", sum.timeouts);
	azihsm_logout(s);
	azihsm_close(dev);
	c = gt_device_works();
	fails += !!c;
	printf("%sok 4 - afterwards a new file and session work\n", c ? "not " : "");
	printf("1..4\n");
	return fails ? 1 : 0;
}
