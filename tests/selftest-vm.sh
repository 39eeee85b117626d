#!/usr/bin/env bash
# Self-tests and the error state end to end (hsm-design.md "Self-tests and
# the error state"): one boot with the test-only device property
# selftest-fail=aes-gcm (QEMU -global), so the power-on AES-GCM CAST fails.
# The guest sees: sysfs error_state 1 / error_reason self-test, the driver's
# dmesg line (the pending async event delivered when the driver armed its
# request), azihsm info --json with detail "self-test aes-gcm", azihsm
# selftest exit 1 with aes-gcm FAIL and the other families pass, GetRandom
# refused with ERROR_STATE, no crypto-API algorithm registered (crypto API
# users get none, so no stale results), no kernel warning. A second boot
# without the property: every self-test passes (azihsm selftest --json).
# A boot with selftest-fail=pct-ec: the next EC key generation fails its
# pairwise consistency test; the key is not stored, sysfs and CSTS (read
# through BAR0 with devmem) show the error state with reason pct, and a PCI
# reset leaves it.
# Needs scripts/vm-run. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-selftest.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"
tap_on_fail() { sed 's/^/#   | /' "$dir/out" | tail -30; tail -10 "$dir/err" | sed 's/^/#   /'; }

mkdir -p "$dir/in"
cat >"$dir/in/fail.sh" <<'EOF'
S=/sys/class/azihsm/azihsm0
echo "SYSFS $(cat $S/error_state) $(cat $S/error_reason)"
dmesg | grep -q "device entered its error state (self-test)" && echo "DMESG-ERROR-STATE"
dmesg | grep -q "no crypto-API algorithms" && echo "NO-CRYPTO-ALGS"
grep -q _azihsm /proc/crypto || echo "PROC-CRYPTO-CLEAN"
azihsm info --json >/tmp/info.json && grep -q '"error_detail": "self-test aes-gcm"' /tmp/info.json &&
	grep -q '"error_reason": "self-test"' /tmp/info.json && echo "INFO-DETAIL"
azihsm selftest --json >/tmp/st.json
echo "SELFTEST-RC $?"
grep -q '"algorithm": "aes-gcm", "result": "FAIL"' /tmp/st.json &&
	grep -q '"algorithm": "ecdsa", "result": "pass"' /tmp/st.json && echo "SELFTEST-AES-GCM-FAIL"
azihsm random 16 >/dev/null 2>/tmp/e; [ $? != 0 ] && grep -q ERROR_STATE /tmp/e && echo "RANDOM-REFUSED"
EOF
cat >"$dir/in/pass.sh" <<'EOF'
azihsm selftest --json >/tmp/st.json && grep -q '"passed": true' /tmp/st.json &&
	[ "$(grep -c '"result": "pass"' /tmp/st.json)" = 17 ] && echo "SELFTEST-PASS"
echo "SYSFS $(cat /sys/class/azihsm/azihsm0/error_state) $(cat /sys/class/azihsm/azihsm0/error_reason)"
EOF

guest 'sh /root/in/fail.sh' --qemu-arg -global --qemu-arg azihsm.selftest-fail=aes-gcm
ok $? "boot with selftest-fail=aes-gcm"
[[ $(val SYSFS) == "1 self-test" ]]
ok $? "sysfs: error_state 1, error_reason self-test ($(val SYSFS))"
said DMESG-ERROR-STATE
ok $? "dmesg: the driver logged the error state from the device's async event"
said INFO-DETAIL
ok $? "azihsm info --json: error_reason self-test, error_detail 'self-test aes-gcm'"
[[ $(val SELFTEST-RC) == 1 ]] && said SELFTEST-AES-GCM-FAIL
ok $? "azihsm selftest --json: exit 1, aes-gcm FAIL, the others pass"
said RANDOM-REFUSED
ok $? "GetRandom refused with ERROR_STATE"
said NO-CRYPTO-ALGS && said PROC-CRYPTO-CLEAN
ok $? "no crypto-API algorithm registered: crypto API users get no result from it"

# selftest-fail=pct-ec: the next generated EC key pair's pairwise test fails.
printf 'CO-default-PIN-1\n' >"$dir/in/pin.default"
printf 'officer-pin-0042\n' >"$dir/in/pin.officer"
cat >"$dir/in/pct.sh" <<'EOF'
S=/sys/class/azihsm/azihsm0
cd /root/in
dev=$(basename "$(readlink $S/device)")
[ -e /dev/mem ] || mknod /dev/mem c 1 1
bar=$(head -1 /sys/bus/pci/devices/$dev/resource | cut -d' ' -f1)
csts() { devmem $((bar + 0x1c)) 32; }
O="--role officer --pin-file pin.officer"
azihsm login --role officer --pin-file pin.default --change-pin --new-pin-file pin.officer \
	>/dev/null && echo "LOGIN"
azihsm key generate $O --type rsa-2048 --usage sign,verify --label keep --persistent >/dev/null &&
	echo "OTHER-KIND-OK"
echo "SYSFS0 $(cat $S/error_state) $(cat $S/error_reason)"
azihsm key generate $O --type ec-p256 --usage sign,verify --label bad --persistent 2>/tmp/e
echo "GEN-RC $?"
echo "GEN-ERR $(head -1 /tmp/e)"
echo "SYSFS1 $(cat $S/error_state) $(cat $S/error_reason)"
echo "CSTS1 $(csts)"
dmesg | grep -q "device entered its error state (pct)" && echo "DMESG-PCT"
azihsm random 16 >/dev/null 2>/tmp/e; [ $? != 0 ] && grep -q ERROR_STATE /tmp/e && echo "RANDOM-REFUSED"
echo 1 >/sys/bus/pci/devices/$dev/reset && echo "PCI-RESET"
sleep 1
echo "SYSFS2 $(cat $S/error_state) $(cat $S/error_reason)"
echo "CSTS2 $(csts)"
azihsm key list $O --json >/tmp/l.json && grep -q '"keep"' /tmp/l.json && echo "KEEP-LISTED"
grep -q '"bad"' /tmp/l.json || echo "BAD-ABSENT"
azihsm key generate $O --type ec-p256 --usage sign,verify --label later >/dev/null && echo "GEN-AFTER"
exit 0
EOF
guest 'sh /root/in/pct.sh' --qemu-arg -global --qemu-arg azihsm.selftest-fail=pct-ec
ok $? "boot with selftest-fail=pct-ec"
said LOGIN && said OTHER-KIND-OK && [[ $(val SYSFS0) == "0 none" ]]
ok $? "pct-ec: an RSA key pair is generated and stored; no error yet"
[[ $(val GEN-RC) != 0 && $(val SYSFS1) == "1 pct" ]] && said DMESG-PCT &&
	grep -q ERROR_STATE <<<"$(val GEN-ERR)"
ok $? "pct-ec: the EC key generation fails ($(val GEN-ERR)); sysfs error_state 1, reason pct; dmesg"
c1=$(val CSTS1)
[[ $c1 == 0x* ]] && (( (c1 & 0x100) != 0 ))
ok $? "pct-ec: CSTS.ERR set (CSTS ${c1:-?}, read through BAR0)"
said RANDOM-REFUSED
ok $? "pct-ec: GetRandom refused with ERROR_STATE"
c2=$(val CSTS2)
said PCI-RESET && [[ $(val SYSFS2) == "0 none" && $c2 == 0x* ]] && (( (c2 & 0x100) == 0 ))
ok $? "pct-ec: a PCI reset (self-tests again) leaves it: error_state 0, CSTS ${c2:-?}"
said KEEP-LISTED && said BAD-ABSENT
ok $? "pct-ec: the refused key was never stored; the RSA key is"
said GEN-AFTER
ok $? "pct-ec: the next EC key pair is generated (the fault was one-shot)"

guest 'sh /root/in/pass.sh'
ok $? "boot without the property"
said SELFTEST-PASS && [[ $(val SYSFS) == "0 none" ]]
ok $? "every self-test passes on demand (17 pass, integrity included); error_reason none"
tap_done
