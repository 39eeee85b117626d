# SPDX-License-Identifier: MIT
# Sourced by the shell tests: TAP output. `ok STATUS DESCRIPTION` prints
# one result (STATUS 0 is a pass; tap_on_fail, if the caller defines it,
# runs after a failure to show why); `tap_done` prints the plan and
# returns non-zero if anything failed.
tap_n=0 tap_failed=0

# Every scripts/vm-run under this script (and its children) appends the
# kernel-log problems of its guest here, also for a guest killed from
# outside (durability-vm) or one whose command failed anyway; tap_done
# turns any of them into a failure (issue 12: a WARN in any guest fails
# the run).
tap_vm_problems=$(mktemp "${TMPDIR:-/tmp}/azihsm-vmlog.XXXXXX")
export AZIHSM_VM_PROBLEMS=$tap_vm_problems

ok() {
	tap_n=$((tap_n + 1))
	if [[ $1 == 0 ]]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
		declare -F tap_on_fail >/dev/null && tap_on_fail
	fi
	return 0
}

tap_done() {
	if [[ -s $tap_vm_problems ]]; then
		ok 1 "every guest's kernel log is clean"
		head -n 40 "$tap_vm_problems" | sed 's/^/#   /'
	else
		ok 0 "every guest's kernel log is clean"
	fi
	rm -f "$tap_vm_problems"
	echo "1..$tap_n"
	[[ $tap_failed == 0 ]]
}
