#!/usr/bin/env bash
# Issue 9's surprise-removal gap and issue 12 section 2's hot-unplug: the
# device sits behind a PCIe root port (vm-run --hotplug) and is unplugged
# from the monitor (device_del hsm) while a dm-crypt volume on
# xts_aes_azihsm is under fio and an AF_ALG loop runs. Then:
#  - requests fail cleanly (fio and AF_ALG see -EIO/-ENODEV, never wrong
#    data), nothing hangs (every load ends in bounded time), no kernel
#    warning or splat (vm-run fails the run on one);
#  - once dm-crypt is closed and AF_ALG is done, every transform is freed
#    and the algorithms are gone from /proc/crypto;
#  - device_add with the same properties and state file brings the device
#    back: the driver binds again, the officer's persistent key is still
#    there, and a new volume and AF_ALG work (checked against the kernel's
#    software XTS).
# MODE surprise (tests/surprise-vm.sh): instead of an orderly device_del
# (whose ACPI/pciehp removal runs the driver's remove() while the device
# still answers), the device is first pulled (fault-surprise-removal:
# every BAR and config read all ones, no DMA, no interrupt, nothing
# completes) and the driver must find out by itself, fail everything
# with -ENODEV/-EIO in bounded time, and answer -ENODEV on the char
# device; then device_del and device_add as above.
# TAP. Usage: tests/hotplug-vm.sh [6.1|6.12|6.1-debug] [unplug|surprise]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
mode=${2:-unplug}
[[ $mode == unplug || $mode == surprise ]] || { echo "Bail out! mode must be unplug or surprise"; exit 1; }
dir=$(mktemp -d /tmp/azihsm-hotplug.XXXXXX)
cleanup() {
	[[ -n ${guest_pid-} ]] && kill "$guest_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

fio=$(command -v fio) || { echo "Bail out! fio not installed (scripts/setup)"; exit 1; }
[[ -x $top/build/tests/guest/afalg-loop ]] ||
	{ echo "Bail out! build/tests/guest/afalg-loop missing (make -C tests/guest)"; exit 1; }

truncate -s 64M "$dir/disk.img"
mkdir -p "$dir/in"
head -c 64 /dev/urandom >"$dir/in/xts.key"
printf 'CO-default-PIN-1\n' >"$dir/in/pin.default"
printf 'officer-pin-0042\n' >"$dir/in/pin.officer"
echo "$mode" >"$dir/in/mode"

cat >"$dir/in/script.sh" <<'EOF'
export DM_DISABLE_UDEV=1
for m in virtio_pci virtio_blk dm_crypt algif_skcipher; do modprobe $m; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /run/cryptsetup
cd /root/in
CS="cryptsetup --batch-mode --disable-locks"
MODE=$(cat mode)
REF='xts(ecb(aes-generic))'
# wait_for SECONDS CMD...: poll CMD every 0.2 s; 0 when it held in time.
wait_for() {
	n=$(($1 * 5)); shift
	while ! "$@"; do
		n=$((n - 1)); [ $n -gt 0 ] || return 1
		usleep 200000
	done
}
present() { ls /sys/class/azihsm/ 2>/dev/null | grep -q azihsm; }
absent() { ! present; }
# The char device says the device is gone (-ENODEV from its ioctls).
enodev() { azihsm info 2>&1 | grep -q "the device is gone"; }
# Our algorithms that passed their self-test (6.12 also lists test larvals).
ours_in_crypto() {
	awk '/^driver/{d=$3} /^selftest/{if (d ~ /_azihsm$/ && $3 == "passed") print d}' \
		/proc/crypto | sort -u | wc -l
}

azihsm login --role officer --pin-file pin.default --new-pin-file pin.officer --change-pin &&
	azihsm key generate --role officer --pin-file pin.officer --type ec-p256 --label hp1 \
		--usage sign --persistent && echo "KEY-MADE"
$CS open --type plain --cipher capi:xts_aes_azihsm-plain64 --key-size 512 \
	--key-file xts.key /dev/vda hsm || exit 1
# A known MiB at the start, outside fio's area, to read back after re-adding.
dd if=/dev/urandom of=/tmp/known bs=1M count=1 2>/dev/null
dd if=/tmp/known of=/dev/mapper/hsm bs=1M count=1 oflag=direct 2>/dev/null && echo "KNOWN-WRITTEN"
before=$(ours_in_crypto)
echo "CRYPTO-BEFORE $before"

/root/afalg-loop -d xts_aes_azihsm -r "$REF" -j 2 -t 300 -s /tmp/stop >/tmp/afalg.out 2>&1 &
apid=$!
(
	n=0
	while [ ! -e /tmp/stop ]; do
		n=$((n + 1))
		fio --name=h$n --filename=/dev/mapper/hsm --offset=1M --size=16M --ioengine=libaio \
			--direct=1 --iodepth=8 --rw=randwrite --bs=4k --verify=crc32c \
			--verify_state_save=0 >/tmp/fio.$n 2>&1
		echo "FIO-RUN $n rc $?"
		[ $n -lt 200 ] || break
	done
) >/tmp/fio.runs &
fpid=$!
echo READY

if [ "$MODE" = surprise ]; then
	# The host pulls the device now; the driver has to notice by itself.
	wait_for 180 enodev && echo "DETECTED"
	echo "STATE $(cat /sys/class/azihsm/azihsm0/ctrl_state)"
	dmesg | grep -q "device gone (surprise removal)" && echo "DMESG-GONE"
else
	# The host unplugs the device now.
	wait_for 180 absent && echo "GONE $(date +%s)"
fi
t0=$(date +%s)
touch /tmp/stop
# Every load must end by itself, and soon.
wait_for 60 sh -c "! kill -0 $apid 2>/dev/null && ! kill -0 $fpid 2>/dev/null" &&
	echo "LOADS-ENDED $(($(date +%s) - t0))"
wait $apid
wait $fpid
cat /tmp/afalg.out
cat /tmp/fio.runs | tail -3
echo "FIO-VERIFY-ERRORS $(cat /tmp/fio.[0-9]* | grep -c -i -E 'verify failed|bad magic|bad header|verify: bad')"
cat /tmp/fio.[0-9]* | sed -n 's/.*io_u error.*: \([A-Za-z /-]*\): \(read\|write\) .*/FIO-ERR \1/p' | sort | uniq -c
dd if=/dev/mapper/hsm of=/dev/null bs=4k count=1 iflag=direct 2>/tmp/dd.err; echo "DD-RC $?"
sed 's/^/DD-ERR /' /tmp/dd.err | head -2
$CS close hsm && echo "CLOSED"
# The transforms are freed, then the algorithms go (a delayed work).
wait_for 20 sh -c '! grep -q "^driver.*_azihsm$" /proc/crypto'
echo "CRYPTO-AFTER $(grep -c "^driver.*_azihsm$" /proc/crypto)"
if [ "$MODE" = surprise ]; then
	# Still pulled, still bound: a new file's ioctl gets -ENODEV too.
	enodev && echo "CHARDEV-ENODEV"
	echo WAIT-DEL
	wait_for 180 absent && echo "GONE"
fi
echo WAIT-ADD

# The host plugs it back.
wait_for 180 present && echo "BACK"
wait_for 60 sh -c '[ "$(cat /sys/class/azihsm/azihsm*/ctrl_state 2>/dev/null)" = ready ]'
# All of them again (each runs its self-test on registration).
i=0; while [ "$(ours_in_crypto)" -lt "$before" ] && [ $i -lt 600 ]; do usleep 200000; i=$((i + 1)); done
echo "CRYPTO-BACK $(ours_in_crypto)"
azihsm key list --role officer --pin-file pin.officer --json
$CS open --type plain --cipher capi:xts_aes_azihsm-plain64 --key-size 512 \
	--key-file xts.key /dev/vda hsm2 &&
	dd if=/dev/mapper/hsm2 of=/tmp/back bs=1M count=1 iflag=direct 2>/dev/null &&
	cmp -s /tmp/known /tmp/back && echo "KNOWN-READ-BACK"
$CS close hsm2
/root/afalg-loop -d xts_aes_azihsm -r "$REF" -j 2 -t 10 | sed 's/^AFALG/AFALG-AFTER/'
echo DONE
EOF

start=$(date +%s)
guest_start 'sh /root/in/script.sh' --timeout 1200 --qmp "$dir/mon" --hotplug \
	--state "$dir/partition" \
	--module dm_crypt --module virtio_pci --module virtio_blk --module xts --module ecb \
	--module algif_skcipher \
	--add /usr/sbin/cryptsetup --add /usr/sbin/dmsetup --add "$fio" \
	--add "$top/build/tests/guest/afalg-loop:/root/afalg-loop" \
	--qemu-arg -drive --qemu-arg "file=$dir/disk.img,if=virtio,format=raw,cache=unsafe"

del_rc=x add_rc=x pull_rc=x detect_s=
if guest_line '^READY$' 600; then
	sleep 10	# the loads are in full swing
	if [[ $mode == surprise ]]; then
		"$top/scripts/qmp" "$dir/mon" qom-set \
			'{"path": "hsm", "property": "fault-surprise-removal", "value": true}' >/dev/null
		pull_rc=$?
		t_pull=$SECONDS
		# Host clock: from the pull to the guest's report (1 s steps).
		guest_line '^DETECTED$' 200 && detect_s=$((SECONDS - t_pull))
		guest_line '^WAIT-DEL$' 300
	fi
	"$top/scripts/qmp" "$dir/mon" device_del '{"id": "hsm"}' >/dev/null
	del_rc=$?
	if guest_line '^WAIT-ADD$' 300; then
		"$top/scripts/qmp" "$dir/mon" device_add "$(cat "$dir/mon.device")" >/dev/null
		add_rc=$?
	fi
fi
guest_wait
rc=$?

ok $rc "guest ran: $mode with dm-crypt and AF_ALG I/O in flight, then plug back (vm-run exit $rc, $(($(date +%s) - start))s)"
grep -q '^KEY-MADE$' <<<"$out" && grep -q '^KNOWN-WRITTEN$' <<<"$out"
ok $? "before: a persistent officer key and a known MiB on the volume"
if [[ $mode == surprise ]]; then
	[[ $pull_rc == 0 ]]
	ok $? "qom-set fault-surprise-removal on accepted by the monitor (the device is pulled)"
	# Bound: the driver's health monitor looks every 2 s; the rest is the
	# guest's polling and its console under TCG.
	[[ -n $detect_s && $detect_s -le 30 ]]
	ok $? "issue 9 (surprise removal): the driver found the device gone by itself, ${detect_s:-never} s after the pull (bound 30 s), the char device answering -ENODEV"
	grep -q '^STATE gone$' <<<"$out" && grep -q '^DMESG-GONE$' <<<"$out"
	ok $? "sysfs ctrl_state 'gone' ($(sed -n 's/^STATE //p' <<<"$out")) and the driver said so in the kernel log"
	read -r _ secs < <(grep '^LOADS-ENDED ' <<<"$out")
	[[ -n ${secs:-} ]] && grep -q '^DETECTED$' <<<"$out"
	ok $? "issue 9 (surprise removal): no request hung: fio and AF_ALG ended ${secs:-never} s after the driver found the device gone"
else
	grep -q '^GONE ' <<<"$out"
	ok $? "issue 9 (unplug): the guest's driver let the device go under load"
	read -r _ secs < <(grep '^LOADS-ENDED ' <<<"$out")
	[[ -n ${secs:-} ]]
	ok $? "issue 9 (unplug): no request hung: fio and AF_ALG ended ${secs:-never} s after the removal"
fi

line=$(grep '^AFALG ' <<<"$out")
echo "# $line"
grep -q ' mismatch=0 ' <<<"$line"
ok $? "AF_ALG: no wrong answer across the removal"
other=$(sed -n 's/.* other=\([0-9]*\) .*/\1/p' <<<"$line")
[[ ${other:-x} == 0 ]]
ok $? "AF_ALG: failures are -ENODEV, -EIO or -ENOENT (no algorithm) only (other: ${other:-?})"
grep '^ *[0-9]* FIO-ERR ' <<<"$out" | sed 's/^/#   fio: /'
read -r _ verr < <(grep '^FIO-VERIFY-ERRORS ' <<<"$out")
[[ ${verr:-x} == 0 ]]
ok $? "fio: no verify error (${verr:-?}): requests failed, none returned wrong data"
! grep 'FIO-ERR' <<<"$out" | grep -v -q -E 'Input/output error|No such device'
ok $? "fio: every failed request is -EIO or -ENODEV"
grep -q '^DD-RC [1-9]' <<<"$out"
ok $? "a read of the volume after the removal fails at once ($(sed -n 's/^DD-ERR //p' <<<"$out" | head -1))"
grep -q '^CLOSED$' <<<"$out"
ok $? "the dm-crypt volume closes with the device gone"
read -r _ before < <(grep '^CRYPTO-BEFORE ' <<<"$out")
read -r _ after < <(grep '^CRYPTO-AFTER ' <<<"$out")
[[ ${before:-0} -gt 0 && ${after:-x} == 0 ]]
ok $? "transforms freed: our algorithms left /proc/crypto (${before:-?} -> ${after:-?})"
if [[ $mode == surprise ]]; then
	grep -q '^CHARDEV-ENODEV$' <<<"$out"
	ok $? "pulled but still bound: a new open of the char device gets -ENODEV"
	[[ $del_rc == 0 ]] && grep -q '^GONE$' <<<"$out"
	ok $? "device_del of the pulled device: the driver's remove() ran, the device left the guest"
else
	[[ $del_rc == 0 ]]
	ok $? "device_del hsm accepted by the monitor"
fi

[[ $add_rc == 0 ]]
ok $? "device_add with the same properties and state file accepted"
grep -q '^BACK$' <<<"$out"
ok $? "the driver bound the re-added device"
read -r _ back < <(grep '^CRYPTO-BACK ' <<<"$out")
[[ ${back:-0} -gt 0 && ${back:-0} == "${before:-x}" ]]
ok $? "our algorithms are all registered again (${back:-?} of ${before:-?})"
grep -q '"hp1"' <<<"$out"
ok $? "the officer's persistent key is still there (same state file)"
grep -q '^KNOWN-READ-BACK$' <<<"$out"
ok $? "a new dm-crypt volume on the re-added device reads the known MiB back"
line=$(grep '^AFALG-AFTER ' <<<"$out")
echo "# $line"
grep -q ' mismatch=0 eio=0 enodev=0 enoent=0 other=0 ' <<<"$line" &&
	[[ $(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$line") -gt 0 ]]
ok $? "AF_ALG on the re-added device: every answer right, no failure"
grep -q '^DONE$' <<<"$out"
ok $? "the guest script finished"
tap_done
