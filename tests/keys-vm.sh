#!/usr/bin/env bash
# Issue 4's use case through the whole stack, as a user types it: change
# the default officer PIN, generate a persistent P-384 key, export its
# public key, sign with the HSM and verify with OpenSSL in the guest; then
# boot again on the same state file and find the key still there and
# working, and check that the old PIN no longer opens a session. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-keys.XXXXXX)
trap 'rm -rf "$dir"' EXIT
state=$dir/partition
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

# Every guest: on the state file, with openssl and the files of $dir/in.
mkdir -p "$dir/in"
guest_opts=(--state "$state" --add /usr/bin/openssl)

printf 'CO-default-PIN-1\n' >"$dir/in/pin.default"
printf 'officer-pin-0042\n' >"$dir/in/pin.officer"
printf 'wrong-pin-000000\n' >"$dir/in/pin.wrong"

guest '
set -e
cd /root/in
azihsm login --role officer --pin-file pin.default --new-pin-file pin.officer --change-pin
azihsm key generate --role officer --pin-file pin.officer --type ec-p384 --label sig1 --usage sign --persistent
azihsm key public --role officer --pin-file pin.officer --label sig1 --out /tmp/sig1.pem
echo "a message to sign" >/tmp/msg
azihsm sign --role officer --pin-file pin.officer --label sig1 --alg ecdsa-sha384 --in /tmp/msg --out /tmp/msg.sig
openssl dgst -sha384 -verify /tmp/sig1.pem -signature /tmp/msg.sig /tmp/msg
echo "PEM-BEGIN"; cat /tmp/sig1.pem; echo "PEM-END"
azihsm key list --role officer --pin-file pin.officer --json
'
ok $? "boot 1: change PIN, generate, export, sign, list"
grep -q '^Verified OK$' <<<"$out"
ok $? "boot 1: openssl verifies the HSM's ECDSA-P384 signature with the exported key"
sed -n '/^PEM-BEGIN$/,/^PEM-END$/p' <<<"$out" | sed '1d;$d' >"$dir/in/sig1.pem"
grep -q 'BEGIN PUBLIC KEY' "$dir/in/sig1.pem"
ok $? "boot 1: the public key is PEM"
grep -q '"sig1"' <<<"$out"
ok $? "boot 1: key list names sig1"

guest '
cd /root/in
echo "signed after a reboot" >/tmp/msg2
azihsm key list --role officer --pin-file pin.officer --json
azihsm sign --role officer --pin-file pin.officer --label sig1 --alg ecdsa-sha384 --in /tmp/msg2 --out /tmp/msg2.sig &&
	openssl dgst -sha384 -verify sig1.pem -signature /tmp/msg2.sig /tmp/msg2
azihsm key list --role officer --pin-file pin.default >/dev/null 2>&1 && echo OLD-PIN-WORKS
azihsm key list --role officer --pin-file pin.wrong >/dev/null 2>&1 && echo WRONG-PIN-WORKS
true
'
ok $? "boot 2: the guest ran"
grep -q '"sig1"' <<<"$out"
ok $? "boot 2: sig1 survived the reboot (persistent key in the sealed state)"
grep -q '^Verified OK$' <<<"$out"
ok $? "boot 2: it still signs, verified with the public key exported in boot 1"
! grep -q 'OLD-PIN-WORKS\|WRONG-PIN-WORKS' <<<"$out"
ok $? "boot 2: neither the default nor a wrong PIN opens a session"

tap_done
