#!/usr/bin/env bash
# Harness self-test (issue 12 section 3): every tests/*-vm.sh must fail
# when its guest's kernel WARNs. Runs each script with
# AZIHSM_VM_INJECT_WARN=1 (scripts/vm-run: every guest loads
# tests/kmod/dbgfail.c with bug=warn before its command, without
# panic_on_warn, so the command itself runs as usual) and expects the
# script to exit non-zero with its "every guest's kernel log is clean"
# check failed on that WARN. durability-vm is the case of a guest killed
# from outside: its log is read up to the kill.
#
#   tests/warn-vm.sh [6.1|6.12|6.1-debug] [NAME...]   (NAME: durability, keys, ...)
#
# Without NAMEs every script runs (about as long as all of them); tests/run
# runs a sample. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
shift || true
names=("$@")
if [[ ${#names[@]} == 0 ]]; then
	for f in "$top"/tests/*-vm.sh; do
		n=${f##*/}
		n=${n%-vm.sh}
		[[ $n == warn ]] || names+=("$n")
	done
fi
dir=$(mktemp -d /tmp/azihsm-warn.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

for n in "${names[@]}"; do
	script=$top/tests/$n-vm.sh
	[[ -x $script ]] || { ok 1 "$n-vm.sh: no such script"; continue; }
	t0=$SECONDS
	AZIHSM_VM_INJECT_WARN=1 "$script" "$kernel" >"$dir/$n.tap" 2>&1
	rc=$?
	# Only the script's own verdict counts: its kernel-log check must
	# have failed on the injected WARN from dbgfail.
	[[ $rc != 0 ]] &&
		grep -q "^not ok [0-9]* - every guest's kernel log is clean" "$dir/$n.tap" &&
		grep -q 'WARNING:.*dbgfail' "$dir/$n.tap"
	ok $? "$n-vm.sh fails on a WARN in its guest (exit $rc, $((SECONDS - t0)) s)"
	[[ $rc != 0 ]] || sed 's/^/#   | /' "$dir/$n.tap" | tail -n 20
done
# The injected runs' own problems went to their scripts' files, not ours.
tap_done
