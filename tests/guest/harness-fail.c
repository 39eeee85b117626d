// SPDX-License-Identifier: MIT
/*
 * A test that always fails. Not part of run-all: the check runner boots a
 * guest with it to prove that a failing guest test fails the whole run
 * (TAP "not ok", non-zero exit through vm-run).
 */
#include "gt_harness.h"

TEST(deliberate_failure)
{
	TH_LOG("this failure is deliberate: it proves failures propagate");
	ASSERT_EQ(1, 2);
}

TEST_HARNESS_MAIN
