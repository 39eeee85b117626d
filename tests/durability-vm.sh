#!/usr/bin/env bash
# Durability of the sealed state: a guest creates persistent keys in a
# loop, printing each label once the CLI has its acknowledgement; QEMU is
# killed with SIGKILL in the middle. On the next boot every acknowledged
# key must be there and the state must load (never "corrupt"). TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-durable.XXXXXX)
state=$dir/partition
cleanup() {
	[[ -n ${guest_pid-} ]] && kill -9 "$guest_pid" 2>/dev/null
	pkill -9 -f "state=$state" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$dir/in"
printf 'CO-default-PIN-1\n' >"$dir/in/pin.default"
printf 'durable-pin-0001\n' >"$dir/in/pin"
guest_opts=(--state "$state")

guest 'cd /root/in && azihsm login --role officer --pin-file pin.default --new-pin-file pin --change-pin'
ok $? "set-up boot: officer PIN changed"

# The loop runs until QEMU dies under it.
guest_start 'cd /root/in
i=0
while i=$((i + 1)); do
	azihsm key generate --role officer --pin-file pin --type ec-p256 --label "k$i" \
		--usage sign --persistent >/dev/null && echo "ACK k$i"
done'
# Kill once a few keys are acknowledged (the boot itself takes a while).
guest_line '^ACK k5$' 120
sleep 0.$((RANDOM % 9 + 1))
pkill -9 -f "state=$state"
guest_wait >/dev/null
cp "$dir/out" "$dir/loop.out"
acked=$(grep -c '^ACK ' "$dir/loop.out")
[[ $acked -ge 5 ]]
ok $? "QEMU killed with SIGKILL after $acked acknowledged key creations"

guest 'cd /root/in && azihsm info --json && azihsm key list --role officer --pin-file pin --json'
ok $? "next boot: the partition opens"
grep -q '"partition_state": "loaded"' <<<"$out"
ok $? "next boot: state loaded, not corrupt"
missing=0
while read -r _ label; do
	grep -q "\"$label\"" <<<"$out" || { echo "#   missing: $label"; missing=$((missing + 1)); }
done < <(grep '^ACK ' "$dir/loop.out")
[[ $missing == 0 ]]
ok $? "every acknowledged key is there ($acked acknowledged, $missing missing)"

tap_done
