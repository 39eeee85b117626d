// SPDX-License-Identifier: GPL-2.0-only
/*
 * azihsm_dbgfail: a throw-away module that commits one deliberate kernel
 * bug when it loads, so that the test harness can prove it notices (the
 * kernel-side twin of tests/guest/harness-fail.c). tests/run loads it in
 * a guest with the "bug" parameter and expects scripts/vm-run to fail the
 * run with the matching report; scripts/guest-init loads it with bug=warn
 * when vm-run is asked to (AZIHSM_VM_INJECT_WARN=1) to prove that every
 * tests/NAME-vm.sh fails on a WARN in its guest.
 *
 *   bug=warn     WARN_ON(1)                        (any kernel)
 *   bug=uaf      read of a freed kmalloc object    (KASAN)
 *   bug=lockinv  two mutexes taken in both orders  (lockdep)
 *   bug=sleep    might_sleep() under a spinlock    (DEBUG_ATOMIC_SLEEP)
 *   bug=leak     kmalloc'd objects dropped         (kmemleak)
 *
 * Init returns 0 after the bug, so the command that loads it succeeds
 * and only the kernel log can fail the run. Never loaded by anything
 * else; never installed.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "The bug to commit: warn, uaf, lockinv, sleep or leak");

static DEFINE_MUTEX(dbgfail_a);
static DEFINE_MUTEX(dbgfail_b);
static DEFINE_SPINLOCK(dbgfail_spin);

static noinline void dbgfail_uaf(void)
{
	u8 *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return;
	memset(p, 0x5a, 64);
	kfree(p);
	/* Hide the freed pointer from the compiler's own use-after-free check. */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("azihsm_dbgfail: read 0x%02x after free\n", READ_ONCE(p[8]));
}

static noinline void dbgfail_lockinv(void)
{
	mutex_lock(&dbgfail_a);
	mutex_lock(&dbgfail_b);
	mutex_unlock(&dbgfail_b);
	mutex_unlock(&dbgfail_a);
	/* The other order: no deadlock here, but lockdep sees the cycle. */
	mutex_lock(&dbgfail_b);
	mutex_lock(&dbgfail_a);
	mutex_unlock(&dbgfail_a);
	mutex_unlock(&dbgfail_b);
}

static noinline void dbgfail_sleep(void)
{
	spin_lock(&dbgfail_spin);
	might_sleep();
	spin_unlock(&dbgfail_spin);
}

static noinline void dbgfail_leak(void)
{
	int i;

	for (i = 0; i < 8; i++) {
		void *p = kmalloc(256, GFP_KERNEL);

		if (p)
			memset(p, 0xa5, 256);
		/* Dropped on purpose: nothing refers to p any more. */
		OPTIMIZER_HIDE_VAR(p);
	}
}

static int __init dbgfail_init(void)
{
	pr_info("azihsm_dbgfail: committing bug '%s'\n", bug);
	if (!strcmp(bug, "warn"))
		WARN_ON(1);
	else if (!strcmp(bug, "uaf"))
		dbgfail_uaf();
	else if (!strcmp(bug, "lockinv"))
		dbgfail_lockinv();
	else if (!strcmp(bug, "sleep"))
		dbgfail_sleep();
	else if (!strcmp(bug, "leak"))
		dbgfail_leak();
	else
		return -EINVAL;
	return 0;
}

static void __exit dbgfail_exit(void)
{
}

module_init(dbgfail_init);
module_exit(dbgfail_exit);
MODULE_DESCRIPTION("azihsm harness self-test: deliberate kernel bugs");
MODULE_LICENSE("GPL");
