#!/usr/bin/env bash
# Issue 3 through the kernel's own users: every algorithm of ours passes
# the kernel's self-tests; dm-crypt runs on xts_aes_azihsm (plain and
# LUKS2, 64 MiB of random data each), its on-disk output decrypts with the
# kernel's software XTS; the volume survives a controller reset (the
# driver re-enters its keys) and, for LUKS2, a reboot on the same disk
# file. TAP. Usage: tests/crypto-vm.sh [6.1|6.12|6.1-debug]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-crypto.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

MIB=64
# The debug kernel (KASAN, lockdep, kmemleak) runs several times slower.
tmo=1200
[[ $kernel == *-debug ]] && tmo=3600
truncate -s $((MIB + 32))M "$dir/plain.img"
truncate -s $((MIB + 32))M "$dir/luks.img"
mkdir -p "$dir/in"
head -c 64 /dev/urandom >"$dir/in/xts.key"
head -c 32 /dev/urandom >"$dir/in/luks.pass"

# Every guest: both disks, cryptsetup and the modules dm-crypt needs.
guest_opts=(--timeout "$tmo"
	--module dm_crypt --module virtio_pci --module virtio_blk --module crypto_user
	--module xts --module ecb
	--add /usr/sbin/cryptsetup --add /usr/sbin/dmsetup
	--qemu-arg -drive --qemu-arg "file=$dir/plain.img,if=virtio,format=raw"
	--qemu-arg -drive --qemu-arg "file=$dir/luks.img,if=virtio,format=raw")

# What the guest scripts share: a no-udev dm set-up and helpers.
common='
export DM_DISABLE_UDEV=1
for m in virtio_pci virtio_blk dm_crypt crypto_user; do modprobe $m; done
i=0; while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /run/cryptsetup
cd /root/in
CS="cryptsetup --batch-mode --disable-locks"
say() { echo "STEP $*"; }
selftest() {	# driver -> its selftest line
	awk -v d="$1" "/^name/{n=\$3} /^driver/{dr=\$3} /^selftest/{if (dr==d) print \$3}" /proc/crypto | head -1
}
same() {	# device: do its first MIB MiB equal /tmp/data?
	[ "$(dd if=$1 bs=1M count='"$MIB"' 2>/dev/null | sha256sum | cut -c1-64)" = "$(cat /tmp/data.sum)" ]
}
refcnt() {
	awk -v d="$1" "/^driver/{dr=\$3} /^refcnt/{if (dr==d) print \$3}" /proc/crypto | head -1
}
# NSSR through BAR0: the device resets, the driver notices and recovers.
nssr() {
	bar=$(awk "NR==1{print \$1}" /sys/bus/pci/drivers/azihsm/0000:*/resource)
	devmem $((bar + 0x20)) 32 0x4e564d65
}
'

# Boot 1 checks the self-test results: on the debug kernel it is the one
# boot that runs the crypto manager's extra (fuzz) tests over our
# algorithms (vm-run turns them off on every other debug boot).
AZIHSM_VM_CRYPTO_EXTRA_TESTS=1 guest "$common"'
echo "NOEXTRATESTS $(cat /sys/module/cryptomgr/parameters/noextratests 2>/dev/null || echo none)"
for d in ecb_aes_azihsm cbc_aes_azihsm ctr_aes_azihsm xts_aes_azihsm gcm_aes_azihsm \
	 rfc4106_gcm_aes_azihsm sha256_azihsm sha384_azihsm sha512_azihsm \
	 hmac_sha256_azihsm hmac_sha384_azihsm hmac_sha512_azihsm rsa_azihsm \
	 ecdsa_nist_p256_azihsm ecdsa_nist_p384_azihsm; do
	echo "SELFTEST $d $(selftest $d)"
done
set -e
dd if=/dev/urandom of=/tmp/data bs=1M count='"$MIB"' 2>/dev/null
sha256sum </tmp/data | cut -c1-64 >/tmp/data.sum
echo "DATASUM $(cat /tmp/data.sum)"

say plain-open
$CS open --type plain --cipher capi:xts_aes_azihsm-plain64 --key-size 512 \
	--key-file xts.key /dev/vda hsm
echo "REFCNT $(refcnt xts_aes_azihsm)"
say plain-write
dd if=/tmp/data of=/dev/mapper/hsm bs=1M count='"$MIB"' conv=fsync 2>/dev/null
say plain-readback
echo 3 >/proc/sys/vm/drop_caches
same /dev/mapper/hsm && echo "PLAIN-READBACK-OK"
say plain-reset
before=$(cat /sys/class/azihsm/azihsm0/device/azihsm/resets 2>/dev/null || echo ?)
nssr
sleep 6
echo 3 >/proc/sys/vm/drop_caches
same /dev/mapper/hsm && echo "PLAIN-AFTER-RESET-OK"
dmesg | grep -q "kernel session .* reopened" && echo "KSESSION-REOPENED"
$CS close hsm

say plain-software
base=$(refcnt xts_aes_azihsm)
$CS open --type plain --cipher aes-xts-plain64 --key-size 512 --key-file xts.key \
	--readonly /dev/vda soft
# The software, not ours, must be doing it: our refcnt does not move.
[ "$(refcnt xts_aes_azihsm)" = "$base" ] && echo "SOFT-IS-SOFTWARE"
awk "/^name/{n=\$3} /^driver/{d=\$3} /^refcnt/{if (n==\"xts(aes)\") print \"xts(aes):\", d, \"refcnt\", \$3}" /proc/crypto
dmsetup table soft | sed "s/ [0-9a-f]\{64,\} / KEY /"
same /dev/mapper/soft && echo "PLAIN-SOFTWARE-OK"
$CS close soft

say priority
azihsm crypto priority xts_aes_azihsm 1000
azihsm crypto list | grep -i xts || true
before=$(refcnt xts_aes_azihsm)
$CS open --type plain --cipher aes-xts-plain64 --key-size 512 --key-file xts.key \
	--readonly /dev/vda pri
echo "PRIORITY-REFCNT $before $(refcnt xts_aes_azihsm)"
same /dev/mapper/pri && echo "PRIORITY-READ-OK"
$CS close pri
azihsm crypto priority xts_aes_azihsm 50

say luks-format
$CS luksFormat --type luks2 --cipher capi:xts_aes_azihsm-plain64 --key-size 512 \
	--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file luks.pass /dev/vdb
$CS open --key-file luks.pass /dev/vdb vol
dd if=/tmp/data of=/dev/mapper/vol bs=1M count='"$MIB"' conv=fsync 2>/dev/null
echo 3 >/proc/sys/vm/drop_caches
same /dev/mapper/vol && echo "LUKS-READBACK-OK"
$CS close vol
$CS luksDump /dev/vdb | grep -i "cipher:" | head -1
'
ok $? "boot 1: self-tests, dm-crypt plain and LUKS2 on xts_aes_azihsm"
if [[ $kernel == *-debug ]]; then
	grep -q '^NOEXTRATESTS N$' <<<"$out"
	ok $? "boot 1: the crypto manager's extra self-tests ran over our algorithms (noextratests N)"
fi
for d in ecb_aes_azihsm cbc_aes_azihsm ctr_aes_azihsm xts_aes_azihsm gcm_aes_azihsm \
	rfc4106_gcm_aes_azihsm sha256_azihsm sha384_azihsm sha512_azihsm \
	hmac_sha256_azihsm hmac_sha384_azihsm hmac_sha512_azihsm rsa_azihsm \
	ecdsa_nist_p256_azihsm ecdsa_nist_p384_azihsm; do
	grep -q "^SELFTEST $d passed$" <<<"$out"
	ok $? "/proc/crypto: $d selftest passed"
done
grep -q '^PLAIN-READBACK-OK$' <<<"$out"
ok $? "dm-crypt plain capi:xts_aes_azihsm-plain64: $MIB MiB written and read back equal"
grep -q '^PLAIN-AFTER-RESET-OK$' <<<"$out"
ok $? "dm-crypt plain: reads still right after a controller reset (NSSR)"
grep -q '^KSESSION-REOPENED$' <<<"$out"
ok $? "the driver reopened its kernel session and re-entered the key"
grep -q '^PLAIN-SOFTWARE-OK$' <<<"$out" && grep -q '^SOFT-IS-SOFTWARE$' <<<"$out"
ok $? "the raw device decrypts with the kernel's software aes-xts-plain64 (not ours: its refcnt unchanged): same $MIB MiB"
read -r _ before after < <(grep '^PRIORITY-REFCNT ' <<<"$out")
[[ -n ${after:-} && ${after:-0} -gt ${before:-0} ]]
ok $? "after 'azihsm crypto priority xts_aes_azihsm 1000', plain aes-xts-plain64 picks xts_aes_azihsm (refcnt ${before:-?} -> ${after:-?})"
grep -q '^PRIORITY-READ-OK$' <<<"$out"
ok $? "plain aes-xts-plain64 on the raised xts_aes_azihsm reads the $MIB MiB back"
grep -q '^LUKS-READBACK-OK$' <<<"$out"
ok $? "LUKS2 on capi:xts_aes_azihsm-plain64: $MIB MiB written and read back equal"
sum=$(sed -n 's/^DATASUM //p' <<<"$out")

guest "$common"'
set -e
say luks-reopen
$CS open --key-file luks.pass --readonly /dev/vdb vol
echo "REOPEN-SUM $(dd if=/dev/mapper/vol bs=1M count='"$MIB"' 2>/dev/null | sha256sum | cut -c1-64)"
$CS close vol
say luks-software
$CS luksDump --dump-volume-key --volume-key-file /tmp/vk --key-file luks.pass /dev/vdb >/dev/null
off=$($CS luksDump /dev/vdb | awk "/^Data segments:/{s=1} s && /offset:/{print \$2; exit}")
base=$(refcnt xts_aes_azihsm)
$CS open --type plain --cipher aes-xts-plain64 --key-size 512 --key-file /tmp/vk \
	--offset $((off / 512)) --readonly /dev/vdb soft
[ "$(refcnt xts_aes_azihsm)" = "$base" ] && echo "SOFT-IS-SOFTWARE"
echo "SOFT-SUM $(dd if=/dev/mapper/soft bs=1M count='"$MIB"' 2>/dev/null | sha256sum | cut -c1-64)"
$CS close soft
'
ok $? "boot 2: LUKS2 volume reopened on the same disk file"
[[ -n $sum ]] && grep -q "^REOPEN-SUM $sum$" <<<"$out"
ok $? "boot 2: the LUKS2 data read through xts_aes_azihsm after a reboot is the data written"
[[ -n $sum ]] && grep -q "^SOFT-SUM $sum$" <<<"$out" && grep -q '^SOFT-IS-SOFTWARE$' <<<"$out"
ok $? "boot 2: the LUKS2 data decrypts with the kernel's software XTS and its volume key"

tap_done
