// SPDX-License-Identifier: MIT
/*
 * Host helper of tests/isolation-vm.sh: find byte strings in a memory dump.
 *
 *   memscan DUMP NEEDLES
 *
 * NEEDLES has one "NAME HEX" line per string (at least 8 bytes; NAME
 * without spaces, several lines may share one). Every offset of DUMP is
 * looked at (no alignment assumed); each string found prints
 * "FOUND NAME OFFSET" once, at its first place. Exit 0 when the scan ran
 * (whatever it found), 2 on a usage or I/O error. A 2^24-bit filter on the
 * first 8 bytes keeps the scan near memory speed for thousands of strings.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILTER_BITS 24

struct needle {
	char name[64];
	unsigned char *b;
	size_t len;
	uint64_t head;
	int found;
};

static uint64_t head8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t slot(uint64_t v)
{
	return (uint32_t)((v * 0x9e3779b97f4a7c15ull) >> (64 - FILTER_BITS));
}

static int cmp_head(const void *a, const void *b)
{
	const struct needle *x = a, *y = b;

	return x->head < y->head ? -1 : x->head > y->head;
}

static int unhex(const char *s, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = strlen(s), i;
	unsigned int v;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

int main(int argc, char **argv)
{
	static char line[65536];
	static unsigned char buf[32768];
	struct needle *nd = NULL;
	size_t nn = 0, i, lo, hi;
	unsigned char *filter, *mem;
	struct stat st;
	FILE *f;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: memscan DUMP NEEDLES\n");
		return 2;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[64], *hex = line;
		size_t len;

		if (sscanf(line, "%63s", name) != 1)
			continue;
		hex = strchr(line, ' ');
		if (!hex)
			goto bad;
		hex[strcspn(hex, "\r\n")] = 0;
		if (unhex(hex + 1, buf, sizeof(buf), &len) || len < 8)
			goto bad;
		nd = realloc(nd, (nn + 1) * sizeof(*nd));
		if (!nd)
			return 2;
		snprintf(nd[nn].name, sizeof(nd[nn].name), "%s", name);
		nd[nn].b = malloc(len);
		if (!nd[nn].b)
			return 2;
		memcpy(nd[nn].b, buf, len);
		nd[nn].len = len;
		nd[nn].head = head8(buf);
		nd[nn].found = 0;
		nn++;
		continue;
bad:
		fprintf(stderr, "memscan: bad needle line: %.60s\n", line);
		return 2;
	}
	fclose(f);
	if (!nn) {
		fprintf(stderr, "memscan: no needles\n");
		return 2;
	}
	qsort(nd, nn, sizeof(*nd), cmp_head);
	filter = calloc(1u << (FILTER_BITS - 3), 1);
	if (!filter)
		return 2;
	for (i = 0; i < nn; i++) {
		uint32_t s = slot(nd[i].head);

		filter[s >> 3] |= (unsigned char)(1u << (s & 7));
	}

	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 2;
	}
	if (st.st_size < 8) {
		fprintf(stderr, "memscan: %s too small\n", argv[1]);
		return 2;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	madvise(mem, (size_t)st.st_size, MADV_SEQUENTIAL);
	for (size_t off = 0; off + 8 <= (size_t)st.st_size; off++) {
		uint64_t h = head8(mem + off);
		uint32_t s = slot(h);

		if (!(filter[s >> 3] & (1u << (s & 7))))
			continue;
		lo = 0;
		hi = nn;
		while (lo < hi) {	/* first needle with head >= h */
			size_t mid = (lo + hi) / 2;

			if (nd[mid].head < h)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < nn && nd[i].head == h; i++) {
			if (nd[i].found || off + nd[i].len > (size_t)st.st_size ||
			    memcmp(mem + off, nd[i].b, nd[i].len))
				continue;
			nd[i].found = 1;
			printf("FOUND %s %zu\n", nd[i].name, off);
		}
	}
	printf("SCANNED %lld bytes, %zu strings\n", (long long)st.st_size, nn);
	return 0;
}
