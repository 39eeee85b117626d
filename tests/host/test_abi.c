// SPDX-License-Identifier: MIT
/*
 * The published ioctl ABI (include/uapi/linux/azihsm.h) against what is
 * written down for it, independently of the header:
 *
 * 1. Every field's offset and size, and each structure's size (112 and
 *    176 bytes), as literal numbers taken from Documentation/driver.md's
 *    tables, compared with offsetof and sizeof; at run time here and at
 *    compile time in a 32-bit (-m32) build, whose layout is what the
 *    kernel's compat ioctl path (compat_ptr_ioctl: no translation)
 *    relies on.
 * 2. The ioctl numbers, as the numbers _IOWR('B', 3/4, 112/176 bytes)
 *    give on x86 (0xC0704203, 0xC0B04204), written out.
 * 3. Documentation/driver.md's two ioctl tables hold exactly these rows,
 *    and their headings the same sizes, so the document cannot drift.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/azihsm.h>

#include "tap.h"

#ifndef TOP_DIR
#define TOP_DIR "."
#endif
#define DOC TOP_DIR "/Documentation/driver.md"

struct field {
	const char *name;	/* as driver.md names it */
	size_t off, size;	/* from the documentation */
	size_t hdr_off, hdr_size; /* from the header */
};

#define MSIZE(type, m) sizeof(((type *)0)->m)

/* The documented rows: X(field, offset, size). */
#define CMD_FIELDS(X) \
	X(hdr.size, 0, 4) \
	X(hdr.app_cmd_id, 4, 4) \
	X(hdr.timeout_ms, 8, 4) \
	X(hdr.flags, 12, 4) \
	X(in.ctxt, 16, 8) \
	X(in.opc, 24, 2) \
	X(in.cmdset, 26, 2) \
	X(in.psdt, 28, 1) \
	X(in.rsvd13, 29, 3) \
	X(in.src_len, 32, 4) \
	X(in.rsvd20, 36, 4) \
	X(in.src_buf, 40, 8) \
	X(in.dst_len, 48, 4) \
	X(in.rsvd36, 52, 4) \
	X(in.dst_buf, 56, 8) \
	X(in.session_flags, 64, 1) \
	X(in.rsvd49, 65, 1) \
	X(in.session_id, 66, 2) \
	X(in.rsvd52, 68, 20) \
	X(out.ctxt, 88, 8) \
	X(out.status, 96, 4) \
	X(out.byte_count, 100, 4) \
	X(out.ext_status, 104, 4) \
	X(out.rsvd20, 108, 4)

#define INFO_FIELDS(X) \
	X(argsz, 0, 4) \
	X(id, 4, 2) \
	X(pci_info, 6, 33) \
	X(serial_num, 39, 33) \
	X(model_num, 72, 5) \
	X(firmware_rev, 77, 33) \
	X(driver_rev, 110, 16) \
	X(rsvd, 126, 17) \
	X(device_entropy, 143, 32)

/*
 * The same rows at compile time: the -m32 build (tests/host/Makefile
 * compiles this file with -m32 -fsyntax-only before building test_abi)
 * checks the 32-bit layout here, as the host may not run 32-bit programs.
 */
#define ASSERT_CMD(m, off, size)					\
	_Static_assert(offsetof(struct azihsm_cmd, m) == (off) &&	\
		       MSIZE(struct azihsm_cmd, m) == (size), "azihsm_cmd." #m);
#define ASSERT_INFO(m, off, size)					\
	_Static_assert(offsetof(struct azihsm_dev_info, m) == (off) &&	\
		       MSIZE(struct azihsm_dev_info, m) == (size), "azihsm_dev_info." #m);
CMD_FIELDS(ASSERT_CMD)
INFO_FIELDS(ASSERT_INFO)
_Static_assert(sizeof(struct azihsm_cmd) == 112, "azihsm_cmd: 112 bytes");
_Static_assert(sizeof(struct azihsm_dev_info) == 176, "azihsm_dev_info: 176 bytes");
_Static_assert(AZIHSM_IOCTL_CMD == 0xC0704203u, "AZIHSM_IOCTL_CMD");
_Static_assert(AZIHSM_IOCTL_DEV_INFO == 0xC0B04204u, "AZIHSM_IOCTL_DEV_INFO");

#define ROW_CMD(m, off, size) { #m, off, size, offsetof(struct azihsm_cmd, m), \
				MSIZE(struct azihsm_cmd, m) },
#define ROW_INFO(m, off, size) { #m, off, size, offsetof(struct azihsm_dev_info, m), \
				 MSIZE(struct azihsm_dev_info, m) },

static const struct field cmd_fields[] = { CMD_FIELDS(ROW_CMD) };
static const struct field info_fields[] = { INFO_FIELDS(ROW_INFO) };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_layout(const char *what, const struct field *f, size_t n,
			 size_t doc_end, size_t doc_size, size_t hdr_size)
{
	size_t i, end = 0;
	int bad = 0;

	for (i = 0; i < n; i++) {
		if (f[i].off != f[i].hdr_off || f[i].size != f[i].hdr_size) {
			bad++;
			printf("#   %s.%s: documented @%zu size %zu, header @%zu size %zu\n",
			       what, f[i].name, f[i].off, f[i].size, f[i].hdr_off,
			       f[i].hdr_size);
		}
		/* The documented fields tile the structure, no hole, no overlap. */
		if (f[i].off != end) {
			bad++;
			printf("#   %s.%s: documented @%zu, the previous field ends at %zu\n",
			       what, f[i].name, f[i].off, end);
		}
		end = f[i].off + f[i].size;
	}
	tap_ok(!bad, "%s: %zu fields at their documented offsets and sizes (%zu-bit build)",
	       what, n, sizeof(void *) * 8);
	tap_eq(end, doc_end, "%s: the documented fields end at %zu bytes", what, doc_end);
	tap_eq(hdr_size, doc_size, "%s: sizeof is %zu bytes (%zu-bit build)", what, doc_size,
	       sizeof(void *) * 8);
}

/*
 * Read the table under the heading that contains @heading; each row
 * "| off | size | `name` | ..." must be one of @f, all of @f once.
 */
static void check_doc(const char *heading, size_t doc_size, const struct field *f,
		      size_t n)
{
	char line[512], want_heading[64];
	unsigned int seen[64] = { 0 };
	size_t rows = 0, i;
	int in = 0, bad = 0, found = 0;
	FILE *fp = fopen(DOC, "r");

	if (!tap_ok(fp != NULL, "%s: open %s", heading, DOC))
		return;
	snprintf(want_heading, sizeof(want_heading), "(%zu bytes)", doc_size);
	while (fgets(line, sizeof(line), fp)) {
		unsigned long off, size;
		char name[64];

		if (!strncmp(line, "#", 1)) {
			in = strstr(line, heading) != NULL;
			if (in) {
				found = 1;
				if (!strstr(line, want_heading)) {
					bad++;
					printf("#   heading lacks %s: %s", want_heading, line);
				}
			}
			continue;
		}
		if (!in || sscanf(line, "| %lu | %lu | `%63[^`]` |", &off, &size, name) != 3)
			continue;
		rows++;
		for (i = 0; i < n && strcmp(f[i].name, name); i++)
			;
		if (i == n) {
			bad++;
			printf("#   %s: row for unknown field %s\n", heading, name);
			continue;
		}
		seen[i]++;
		if (off != f[i].off || size != f[i].size) {
			bad++;
			printf("#   %s: %s documented @%lu size %lu, expected @%zu size %zu\n",
			       heading, name, off, size, f[i].off, f[i].size);
		}
	}
	fclose(fp);
	for (i = 0; i < n; i++) {
		if (seen[i] != 1) {
			bad++;
			printf("#   %s: field %s has %u rows\n", heading, f[i].name, seen[i]);
		}
	}
	tap_ok(found && !bad && rows == n, "driver.md's %s table: the same %zu rows", heading,
	       n);
}

int main(void)
{
	check_layout("struct azihsm_cmd", cmd_fields, N(cmd_fields), 112, 112,
		     sizeof(struct azihsm_cmd));
	/* One byte of tail padding (argsz's alignment), zeroed by the driver. */
	check_layout("struct azihsm_dev_info", info_fields, N(info_fields), 175, 176,
		     sizeof(struct azihsm_dev_info));
	tap_eq(sizeof(struct azihsm_ioctl_hdr), 16, "struct azihsm_ioctl_hdr: 16 bytes");
	tap_eq(sizeof(struct azihsm_cmd_in), 72, "struct azihsm_cmd_in: 72 bytes");
	tap_eq(sizeof(struct azihsm_cmd_out), 24, "struct azihsm_cmd_out: 24 bytes");

	/* dir (read|write) << 30 | size << 16 | 'B' << 8 | nr */
	tap_eq(AZIHSM_IOCTL_CMD, 0xC0704203u, "AZIHSM_IOCTL_CMD is 0xC0704203");
	tap_eq(AZIHSM_IOCTL_DEV_INFO, 0xC0B04204u, "AZIHSM_IOCTL_DEV_INFO is 0xC0B04204");

	check_doc("`AZIHSM_IOCTL_CMD`", 112, cmd_fields, N(cmd_fields));
	check_doc("`AZIHSM_IOCTL_DEV_INFO`", 176, info_fields, N(info_fields));
	return tap_done();
}
