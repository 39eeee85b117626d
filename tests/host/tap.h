/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for the host unit tests. Each check is one TAP
 * line; tap_done() prints the plan and returns the exit status.
 */
#ifndef AZIHSM_TAP_H
#define AZIHSM_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define tap_ok(cond, ...)						\
	({								\
		int tap_c_ = !!(cond);					\
		printf("%s %d - ", tap_c_ ? "ok" : "not ok", ++tap_n);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		if (!tap_c_) {						\
			tap_failed++;					\
			printf("#   failed at %s:%d: %s\n", __FILE__,	\
			       __LINE__, #cond);			\
		}							\
		tap_c_;							\
	})

#define tap_eq(a, b, ...)						\
	({								\
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b); \
		int tap_r_ = tap_ok(tap_a_ == tap_b_, __VA_ARGS__);	\
		if (!tap_r_)						\
			printf("#   got %lld (0x%llx), want %lld (0x%llx)\n", \
			       tap_a_, (unsigned long long)tap_a_, tap_b_, \
			       (unsigned long long)tap_b_);		\
		tap_r_;							\
	})

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
