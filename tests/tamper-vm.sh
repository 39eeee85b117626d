#!/usr/bin/env bash
# Tamper response through the whole stack (hsm-design.md "Tamper
# response"), the event raised from outside the guest through the QEMU
# monitor, as a sensor would:
#   boot 1: officer PIN set, a persistent EC key that signs, dm-crypt plain
#   on capi:xts_aes_azihsm-plain64 over a virtio disk; then a 192 MiB
#   dm-crypt write and a signing loop run while the host sets the device's
#   tamper-enclosure property (qom-set). Afterwards: the write ended in I/O
#   errors, the loop in ERROR_STATE, reading the mapping fails, no key, no
#   session, no random bytes; dmesg has the tamper message and no kernel
#   warning; sysfs error_state 1, error_reason tamper, tamper_count 1; the
#   driver's KOBJ_CHANGE uevent carried AZIHSM_EVENT=tamper (seen by a
#   netlink listener, busybox uevent); azihsm info and azihsm tamper log --json say so.
#   host: qom-get reads the sensor back; CSTS is not visible from here.
#   boot 2, the same state file: out of the error state, the old officer
#   PIN refused (credentials zeroized), no key (the state file brings none
#   back), the tamper log still holds the event.
# Needs scripts/vm-run (--qmp) and scripts/qmp. TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-tamper.XXXXXX)
cleanup() {
	[[ -n ${guest_pid-} ]] && kill "$guest_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
state=$dir/partition
in=$dir/in
mib=192
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$in"
printf 'CO-default-PIN-1\n' >"$in/pin.default"
printf 'officer-pin-0042\n' >"$in/pin.officer"
printf 'a message to sign\n' >"$in/msg"
head -c 64 /dev/urandom >"$in/xts.key"
truncate -s $((mib + 16))M "$dir/disk.img"
tap_on_fail() { sed 's/^/#   | /' "$dir/out" | tail -40; tail -20 "$dir/err" | sed 's/^/#   /'; }

cat >"$in/hotplug.sh" <<'EOF'
#!/bin/sh
[ -n "$AZIHSM_EVENT" ] && echo "UEVENT $ACTION $AZIHSM_EVENT $AZIHSM_REASON $AZIHSM_TAMPER_COUNT" >>/tmp/uevents
exit 0
EOF
chmod +x "$in/hotplug.sh"

cat >"$in/boot1.sh" <<'EOF'
export DM_DISABLE_UDEV=1
for m in virtio_pci virtio_blk dm_crypt crypto_user xts ecb; do modprobe $m 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /run/cryptsetup
cd /root/in
# A netlink uevent listener (busybox uevent runs the script for each event).
busybox uevent /root/in/hotplug.sh >/dev/null 2>&1 &
usleep 300000
kill -0 $! 2>/dev/null && echo "HELPER-ON"
O="--role officer --pin-file pin.officer"
azihsm login --role officer --pin-file pin.default --change-pin --new-pin-file pin.officer >/dev/null &&
	azihsm key generate $O --type ec-p256 --usage sign,verify --label tk --persistent >/dev/null &&
	azihsm sign $O --label tk --alg ecdsa-sha256 --in msg --out /tmp/sig0 && echo "SIGNED-BEFORE"
cryptsetup --batch-mode --disable-locks open --type plain \
	--cipher capi:xts_aes_azihsm-plain64 --key-size 512 --key-file xts.key /dev/vda hsm &&
	echo "DM-OPEN"
dd if=/dev/zero of=/dev/mapper/hsm bs=1M count=4 oflag=direct 2>/dev/null && echo "DM-WRITE-BEFORE"
# The write and the key loop run while the host raises the tamper event.
( dd if=/dev/urandom of=/dev/mapper/hsm bs=1M count=MIB oflag=direct 2>/tmp/dd.err
  echo "DD-RC $?" >/tmp/dd.rc ) &
ddpid=$!
( i=0; while [ $i -lt 100000 ]; do
	azihsm sign $O --label tk --alg ecdsa-sha256 --in msg --out /tmp/sig 2>/tmp/loop.err ||
		{ echo "LOOP-STOPPED $i" >/tmp/loop.rc; exit; }
	i=$((i + 1))
  done ) &
looppid=$!
sleep 2
echo "LOOPS-RUNNING"
i=0
while [ "$(cat /sys/class/azihsm/azihsm0/tamper_count 2>/dev/null)" != 1 ] && [ $i -lt 600 ]; do
	usleep 100000; i=$((i + 1))
done
echo "SEEN-TAMPER $(cat /sys/class/azihsm/azihsm0/tamper_count)"
wait $ddpid $looppid
cat /tmp/dd.rc /tmp/loop.rc
grep -q ERROR_STATE /tmp/loop.err && echo "LOOP-ERROR-STATE"
dd if=/dev/mapper/hsm of=/dev/null bs=1M count=1 iflag=direct 2>/dev/null || echo "DM-READ-FAILS"
cryptsetup --batch-mode --disable-locks close hsm 2>/dev/null
refused() {	# TAG CMD...: CMD fails with ERROR_STATE -> TAG
	tag=$1; shift
	if "$@" >/dev/null 2>/tmp/refused.err; then return; fi
	grep -q ERROR_STATE /tmp/refused.err && echo "$tag"
}
refused KEYLIST-REFUSED azihsm key list $O
refused RANDOM-REFUSED azihsm random 16
refused SESSION-REFUSED azihsm login --role officer --pin-file pin.officer
echo "SYSFS $(cat /sys/class/azihsm/azihsm0/error_state) $(cat /sys/class/azihsm/azihsm0/error_reason) $(cat /sys/class/azihsm/azihsm0/tamper_count)"
dmesg | grep -q "tamper event (1 so far): keys zeroized" && echo "DMESG-TAMPER"
dmesg | grep azihsm | tail -5
sleep 1
cat /tmp/uevents 2>/dev/null
azihsm info --json >/tmp/info.json && grep -q '"error_reason": "tamper"' /tmp/info.json &&
	grep -q '"tamper_count": 1' /tmp/info.json && echo "INFO-TAMPER"
azihsm tamper log --json >/tmp/log.json && cat /tmp/log.json && echo "LOG-READ"
grep -E '"(error_detail|partition_state)"' /tmp/info.json
EOF
sed -i "s/count=MIB/count=$mib/" "$in/boot1.sh"

guest_start 'sh /root/in/boot1.sh' --state "$state" --qmp "$dir/qmp" --timeout 900 \
	--module dm_crypt --module virtio_pci --module virtio_blk --module crypto_user \
	--module xts --module ecb --add /usr/sbin/cryptsetup --add /usr/sbin/dmsetup \
	--qemu-arg -drive --qemu-arg "file=$dir/disk.img,if=virtio,format=raw"
guest_line '^LOOPS-RUNNING$' 600
ok $? "boot 1: key signing, dm-crypt open, a write and a key loop running"
said SIGNED-BEFORE && said DM-OPEN && said DM-WRITE-BEFORE
ok $? "before the event: the key signs, dm-crypt on xts_aes_azihsm writes"
"$top/scripts/qmp" "$dir/qmp" qom-get '{"path": "hsm", "property": "sensor-voltage-mv"}' \
	qom-get '{"path": "hsm", "property": "tamper-enclosure"}' \
	qom-set '{"path": "hsm", "property": "tamper-enclosure", "value": 1}' \
	qom-get '{"path": "hsm", "property": "tamper-enclosure"}' >"$dir/qmp.out" 2>&1
ok $? "host: qom-set tamper-enclosure 1 through the QEMU monitor"
[[ $(tr '\n' ' ' <"$dir/qmp.out") == "3300 0 {} 1 " ]]
ok $? "host: qom-get reads the sensors: voltage 3300 mV, enclosure 0, then 1 ($(tr '\n' ' ' <"$dir/qmp.out"))"
guest_wait
rc=$?
ok $rc "boot 1 ran to the end"
[[ $(val SEEN-TAMPER) == 1 ]]
ok $? "the guest saw the event at once (sysfs tamper_count 1)"
rcdd=$(val DD-RC)
[[ -n $rcdd && $rcdd != 0 ]]
ok $? "the dm-crypt write ended in an I/O error (dd exit $rcdd)"
said LOOP-ERROR-STATE && [[ -n $(val LOOP-STOPPED) ]]
ok $? "the key loop stopped with ERROR_STATE after $(val LOOP-STOPPED) signatures"
said DM-READ-FAILS
ok $? "reading the dm-crypt mapping fails: no stale plaintext"
said KEYLIST-REFUSED && said RANDOM-REFUSED && said SESSION-REFUSED
ok $? "no key, no session, no random bytes: all refused with ERROR_STATE"
[[ $(val SYSFS) == "1 tamper 1" ]]
ok $? "sysfs: error_state 1, error_reason tamper, tamper_count 1 ($(val SYSFS))"
said DMESG-TAMPER
ok $? "dmesg: the driver logged the tamper event"
if said HELPER-ON; then
	grep -q '^UEVENT change tamper tamper 1$' "$dir/out"
	ok $? "uevent: KOBJ_CHANGE with AZIHSM_EVENT=tamper AZIHSM_REASON=tamper AZIHSM_TAMPER_COUNT=1"
else
	ok 1 "uevent: the listener (busybox uevent) did not start"
fi
said INFO-TAMPER
ok $? "azihsm info --json: error_reason tamper, tamper_count 1"
said LOG-READ && grep -q '"sensor": "enclosure", "value": 1' "$dir/out"
ok $? "azihsm tamper log --json: the enclosure event"
epoch=$(od -An -tu8 -j52 -N8 "$state.nv" | tr -d ' ')
[[ $epoch == 1 && -s $state.tamper ]]
ok $? "host: FILE.nv moved to zeroize epoch 1 ($epoch), FILE.tamper written"

cat >"$in/boot2.sh" <<'EOF'
cd /root/in
O="--role officer --pin-file pin.officer"
azihsm info --json >/tmp/info.json; grep -E '"(error_|partition_state|tamper)' /tmp/info.json
grep -q '"error_state": false' /tmp/info.json &&
	grep -q '"tamper_count": 1' /tmp/info.json && echo "INFO-CLEAN"
azihsm key list $O >/dev/null 2>/tmp/e1
[ $? != 0 ] && grep -q BAD_CREDENTIAL /tmp/e1 && echo "OLD-PIN-REFUSED"
cat /tmp/e1
azihsm login --role officer --pin-file pin.default --change-pin --new-pin-file pin.officer >/dev/null &&
	azihsm key list $O --json >/tmp/keys.json && ! grep -q '"tk"' /tmp/keys.json && echo "NO-KEY"
azihsm tamper log --json >/tmp/log.json && grep -q '"count": 1' /tmp/log.json &&
	grep -q '"sensor": "enclosure"' /tmp/log.json && echo "LOG-KEPT"
EOF
guest 'sh /root/in/boot2.sh' --state "$state"
ok $? "boot 2 on the same state file"
said INFO-CLEAN
ok $? "boot 2: out of the error state (a restart re-ran the self-tests), tamper_count 1"
said OLD-PIN-REFUSED
ok $? "boot 2: the old officer PIN is refused (credentials zeroized)"
said NO-KEY
ok $? "boot 2: the state file brought no key back"
said LOG-KEPT
ok $? "boot 2: the tamper log kept the event"
tap_done
