# SPDX-License-Identifier: MIT
# Sourced by the shell tests: TAP output. `ok STATUS DESCRIPTION` prints
# one result (STATUS 0 is a pass; tap_on_fail, if the caller defines it,
# runs after a failure to show why); `tap_done` prints the plan and
# returns non-zero if anything failed. The guest* functions below boot
# the guests of a tests/*-vm.sh.
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

# Guests. A suite sets $top, $kernel and $dir (its temporary directory),
# may set the array guest_opts (scripts/vm-run options for every boot of
# the suite) and puts what its guests read in $dir/in, which the guest sees
# as /root/in.
#
# guest SCRIPT [VM-RUN-OPTION...]: boot a guest (scripts/vm-run --kernel
# $kernel, the suite's options, these), run the shell script SCRIPT in it as
# root (from /root/in/guest.sh, in /root) and wait. Its output is in $out and
# $dir/out, vm-run's messages in $dir/err. Returns vm-run's status (the
# script's); if that is not 0 the tails of both show as TAP comments. The
# guest's kernel log needs no check of the suite's own: vm-run appends its
# problems to $AZIHSM_VM_PROBLEMS, also for a guest that failed or was
# killed, and tap_done fails on them.
guest_pid=
guest() {
	guest_start "$@"
	guest_wait
}

# guest_start SCRIPT [VM-RUN-OPTION...]: the same in the background; the
# guest runs as $guest_pid and $dir/out fills while it runs.
guest_start() {
	local script=$1
	shift
	mkdir -p "$dir/in"
	printf '%s\n' "$script" >"$dir/in/guest.sh"
	"$top/scripts/vm-run" --kernel "$kernel" ${guest_opts[@]+"${guest_opts[@]}"} "$@" \
		--add "$dir/in:/root/in" -- sh /root/in/guest.sh >"$dir/out" 2>"$dir/err" &
	guest_pid=$!
}

# guest_wait: wait for the guest of guest_start; then as guest.
guest_wait() {
	local rc
	wait "$guest_pid"
	rc=$?
	guest_pid=
	out=$(cat "$dir/out")
	[[ $rc == 0 ]] || {
		tail -n 30 "$dir/err" | sed 's/^/#   /'
		tail -n 60 "$dir/out" | sed 's/^/#   | /'
	}
	return $rc
}

# guest_line PATTERN SECONDS: wait (at most SECONDS) until a line of the
# running guest's output matches the grep PATTERN; fails if the guest ended
# or the time ran out first. $out is the output so far.
guest_line() {
	local end=$((SECONDS + $2)) rc
	while ! grep -q "$1" "$dir/out" 2>/dev/null &&
		kill -0 "$guest_pid" 2>/dev/null && [[ $SECONDS -lt $end ]]; do
		sleep 0.2
	done
	grep -q "$1" "$dir/out" 2>/dev/null
	rc=$?
	out=$(cat "$dir/out" 2>/dev/null)
	return $rc
}

# Reading $out: said LINE (a line is exactly LINE), val WORD (the rest of
# the first line "WORD rest"), between TAG (the lines between TAG-BEGIN and
# TAG-END), json_field KEY (the value of "KEY" in JSON printed one member a
# line).
said() { grep -q "^$1\$" <<<"$out"; }
val() { sed -n "s/^$1 //p" <<<"$out" | head -n 1; }
between() { sed -n "/^$1-BEGIN\$/,/^$1-END\$/p" <<<"$out" | sed '1d;$d'; }
json_field() {
	sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" <<<"$out"
}
