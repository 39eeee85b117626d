# SPDX-License-Identifier: MIT
# Sourced by the shell tests: TAP output. `ok STATUS DESCRIPTION` prints
# one result (STATUS 0 is a pass; tap_on_fail, if the caller defines it,
# runs after a failure to show why); `tap_done` prints the plan and
# returns non-zero if anything failed.
tap_n=0 tap_failed=0

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
	echo "1..$tap_n"
	[[ $tap_failed == 0 ]]
}
