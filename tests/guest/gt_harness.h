/* SPDX-License-Identifier: MIT */
/*
 * kselftest_harness.h with per-test alarms that fit the kernel under test:
 * the harness gives each test 30 s (or its TEST_F_TIMEOUT), which the
 * debug kernel (KASAN, lockdep, kmemleak under TCG) overruns in tests
 * that unbind and bind the driver. main() multiplies every test's alarm
 * by $AZIHSM_TEST_TIMEOUT_SCALE, else by 4 when $AZIHSM_KERNEL_SERIES
 * (set by scripts/vm-run) names a -debug kernel, else 1. Test programs
 * include this instead of kselftest_harness.h.
 */
#ifndef GT_HARNESS_H
#define GT_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

static inline int gt_timeout_scale(void)
{
	const char *s = getenv("AZIHSM_TEST_TIMEOUT_SCALE");
	const char *k = getenv("AZIHSM_KERNEL_SERIES");
	int n;

	if (s) {
		n = atoi(s);
		return n >= 1 && n <= 100 ? n : 1;
	}
	if (k && strlen(k) > 6 && !strcmp(k + strlen(k) - 6, "-debug"))
		return 4;
	return 1;
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) \
	{ \
		int scale = gt_timeout_scale(); \
		for (struct __fixture_metadata *f = __fixture_list; f; f = f->next) \
			for (struct __test_metadata *t = f->tests; t; t = t->next) \
				t->timeout *= scale; \
		return test_harness_run(argc, argv); \
	}

#endif
