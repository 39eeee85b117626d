#!/usr/bin/env bash
# Issue 9, items 1-3 and 7, in one guest booted with the test-only device
# property fault-aes-stall=1 (Documentation/device.md: the first AES
# fast-path command after each controller enable is never completed) and
# the kernel's crypto self-tests off (they would be the first AES commands).
#  1. azihsm_kctest fallback=1: a GCM message longer than one command and an
#     XTS unit over 16 MiB give the software's result, not -EINVAL (no AES
#     command reaches the device).
#  2. With cmd_timeout_ms=1000, azihsm_kctest fault=1 sends requests that
#     stall: the driver's fast-path watchdog must reset the controller, an
#     overtaken request whose output overlaps its input must fail -EIO (not
#     be replayed), an out-of-place one must run again with the right
#     output, and a thread with a signal pending must not get -ERESTARTSYS
#     during the reset.
# TAP. Usage: tests/fault-vm.sh [6.1|6.12]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-fault.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$dir/in"
cat >"$dir/in/fault.sh" <<'EOF'
s=/sys/class/azihsm/azihsm0
# kctest MODE: load azihsm_kctest MODE=1, print its result lines.
kctest() {
	n0=$(dmesg | wc -l)
	modprobe azihsm_kctest "$1=1"
	echo "RC-$1 $?"
	dmesg | tail -n +$((n0 + 1)) | sed -n 's/.*azihsm_kctest: //p' | grep -v '^1\.\.' |
		sed 's/^/KC /'
	rmmod azihsm_kctest 2>/dev/null
}
# Item 7 first (no AES command reaches the device: the software does it).
kctest fallback
echo 1000 >/sys/module/azihsm/parameters/cmd_timeout_ms
r0=$(cat $s/resets) t0=$(cat $s/fast_timed_out)
kctest fault
echo "RESETS $r0 $(cat $s/resets)"
echo "FAST-TIMED-OUT $t0 $(cat $s/fast_timed_out)"
echo "STATE $(cat $s/ctrl_state)"
dmesg | grep -c "AES command timed out: resetting" | sed 's/^/WATCHDOG-LINES /'
EOF

guest 'sh /root/in/fault.sh' --timeout 900 \
	--module xts --module ecb --module ctr --module gcm --module ghash_generic \
	--qemu-arg -global --qemu-arg azihsm.fault-aes-stall=1 \
	--append cryptomgr.notests=1
rc=$?
ok $rc "boot with fault-aes-stall=1, run azihsm_kctest fault=1 (vm-run exit $rc)"

# The module's own results, one TAP line each.
n=0
while IFS= read -r line; do
	n=$((n + 1))
	case $line in
	"ok "*) ok 0 "kctest: ${line#ok [0-9]* - }" ;;
	*) ok 1 "kctest: ${line#not ok [0-9]* - }" ;;
	esac
done < <(sed -n 's/^KC //p' <<<"$out")
[[ $n -ge 9 ]]
ok $? "kctest fallback and fault modes reported all their cases ($n)"
grep -q '^RC-fallback 0$' <<<"$out"
ok $? "azihsm_kctest fallback=1 loaded (every case passed)"
grep -q '^RC-fault 0$' <<<"$out"
ok $? "azihsm_kctest fault=1 loaded (every case passed)"

read -r _ t0 t1 < <(grep '^FAST-TIMED-OUT ' <<<"$out")
[[ -n ${t1:-} && $((t1 - t0)) -ge 7 ]]
ok $? "issue 9: the fast-path watchdog found every stalled command (fast_timed_out ${t0:-?} -> ${t1:-?})"
read -r _ r0 r1 < <(grep '^RESETS ' <<<"$out")
[[ -n ${r1:-} && $((r1 - r0)) -ge 7 ]]
ok $? "issue 9: each stall reset the controller (resets ${r0:-?} -> ${r1:-?})"
grep -q '^STATE ready$' <<<"$out"
ok $? "the controller is ready afterwards"
tap_done
