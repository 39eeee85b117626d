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
vmpid=
cleanup() {
	[[ -n $vmpid ]] && kill -9 "$vmpid" 2>/dev/null
	pkill -9 -f "state=$state" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$dir/in"
printf 'CO-default-PIN-1\n' >"$dir/in/pin.default"
printf 'durable-pin-0001\n' >"$dir/in/pin"
run() {	# guest shell script -> $out
	printf '%s\n' "$1" >"$dir/in/script.sh"
	out=$("$top/scripts/vm-run" --kernel "$kernel" --state "$state" \
		--add "$dir/in:/root/in" -- sh /root/in/script.sh 2>"$dir/err")
}

run 'cd /root/in && azihsm login --role officer --pin-file pin.default --new-pin-file pin --change-pin'
ok $? "set-up boot: officer PIN changed"

# The loop runs until QEMU dies under it.
printf '%s\n' 'cd /root/in
i=0
while i=$((i + 1)); do
	azihsm key generate --role officer --pin-file pin --type ec-p256 --label "k$i" \
		--usage sign --persistent >/dev/null && echo "ACK k$i"
done' >"$dir/in/script.sh"
"$top/scripts/vm-run" --kernel "$kernel" --state "$state" --add "$dir/in:/root/in" \
	-- sh /root/in/script.sh >"$dir/loop.out" 2>"$dir/loop.err" &
vmpid=$!
# Kill once a few keys are acknowledged (the boot itself takes a while).
for _ in $(seq 1 600); do
	[[ $(grep -c '^ACK ' "$dir/loop.out" 2>/dev/null) -ge 5 ]] && break
	sleep 0.2
done
sleep 0.$((RANDOM % 9 + 1))
pkill -9 -f "state=$state"
wait "$vmpid" 2>/dev/null
vmpid=
acked=$(grep -c '^ACK ' "$dir/loop.out")
[[ $acked -ge 5 ]]
ok $? "QEMU killed with SIGKILL after $acked acknowledged key creations"

run 'cd /root/in && azihsm info --json && azihsm key list --role officer --pin-file pin --json'
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
