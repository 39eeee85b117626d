#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Crypto-API request semantics seen from inside the kernel: reload the
# driver with crypto_depth=2 so that its queue fills, load the test module
# azihsm_kctest (tests/kmod/kctest.c: backlog -EBUSY/-EINPROGRESS, -ENOSPC
# without backlog, 255-entry odd scatterlists in and out of place, zero
# length, the AES fast path with chained IVs; every output checked
# against the software cbc(aes)), and pass its results on as TAP. The
# module refuses to load when a check failed. The driver's fast_submitted
# counter must have moved (cbc(aes) really went on the fast path). Then
# the driver is reloaded with its defaults.

fail() { echo "not ok 1 - $*"; echo "1..1"; exit 1; }

rmmod azihsm || fail "rmmod azihsm"
modprobe azihsm crypto_depth=2 || fail "modprobe azihsm crypto_depth=2"
i=0
while [ ! -e /dev/azihsm0 ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
fast=/sys/class/azihsm/azihsm0/fast_submitted
f0=$(cat $fast)
modprobe azihsm_kctest
rc=$?
f1=$(cat $fast)
dmesg | sed -n 's/.*azihsm_kctest: //p' | grep -v '^1\.\.'
n=$(dmesg | sed -n 's/.*azihsm_kctest: 1\.\.//p' | tail -1)
n=${n:-0}
n=$((n + 1))
if [ "$f1" -gt "$f0" ]; then
	echo "ok $n - cbc(aes) used the AES fast path (fast_submitted $f0 -> $f1)"
else
	echo "not ok $n - cbc(aes) did not use the AES fast path (fast_submitted $f0 -> $f1)"
	rc=1
fi
echo "1..$n"
rmmod azihsm_kctest 2>/dev/null
rmmod azihsm && modprobe azihsm || echo "# reloading azihsm with its defaults failed"
exit $rc
