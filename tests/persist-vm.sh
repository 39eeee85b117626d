#!/usr/bin/env bash
# Sealed partition state through the whole stack: QEMU's `state=` property,
# the firmware, the driver, libazihsm and `azihsm info`. Boots a guest four
# times on one state file (created, loaded, corrupted, restored) and prints
# TAP. The file's damage is done here on the host, between boots, as a
# user's disk or a careless copy would do it.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-persist.XXXXXX)
trap 'rm -rf "$dir"' EXIT
state=$dir/partition
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

# Every guest: on the state file.
guest_opts=(--state "$state")

guest 'azihsm info --json'
ok $? "first boot: azihsm info works"
[[ $(json_field partition_state) == created ]]
ok $? "first boot: a fresh partition is created ($(json_field partition_state))"
[[ -s $state && -s $state.nv ]]
ok $? "state file and NV file exist on the host"

guest 'azihsm info --json'
[[ $(json_field partition_state) == loaded && $(json_field error_state) == false ]]
ok $? "second boot: the partition is loaded ($(json_field partition_state))"

cp "$state" "$dir/good"
size=$(stat -c %s "$state")
printf '\x5a' | dd of="$state" bs=1 seek=$((size / 2)) conv=notrunc status=none
before=$(sha256sum <"$state")
guest 'azihsm info --json; azihsm random 16 && echo RANDOM-WORKED
echo "SYSFS $(cat /sys/class/azihsm/azihsm0/partition_state) $(cat /sys/class/azihsm/azihsm0/error_state)"'
[[ $(json_field partition_state) == corrupt && $(json_field error_state) == true ]]
ok $? "corrupted file: the device says corrupt and is in its error state"
grep -q '^SYSFS corrupt 1$' <<<"$out"
ok $? "corrupted file: sysfs says so too (partition_state corrupt, error_state 1)"
! grep -q RANDOM-WORKED <<<"$out"
ok $? "corrupted file: services are refused"
grep -q ERROR_STATE <<<"$out"
ok $? "corrupted file: the CLI names the reason (ERROR_STATE)"
[[ $(sha256sum <"$state") == "$before" ]]
ok $? "corrupted file: left exactly as it was"

cp "$dir/good" "$state"
guest 'azihsm info --json; azihsm random 16 >/dev/null && echo RANDOM-WORKED
echo "SYSFS $(cat /sys/class/azihsm/azihsm0/partition_state) $(cat /sys/class/azihsm/azihsm0/error_state)"'
[[ $(json_field partition_state) == loaded ]] && grep -q RANDOM-WORKED <<<"$out" &&
	grep -q '^SYSFS loaded 0$' <<<"$out"
ok $? "good file restored: loaded and working again"

tap_done
