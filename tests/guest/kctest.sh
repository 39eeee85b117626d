#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Crypto-API request semantics seen from inside the kernel: reload the
# driver with crypto_depth=2 so that its queue fills, load the test module
# azihsm_kctest (tests/kmod/kctest.c: backlog -EBUSY/-EINPROGRESS, -ENOSPC
# without backlog, 255-entry odd scatterlists in and out of place, zero
# length; every output checked against the software cbc(aes)), and pass
# its results on as TAP. The module refuses to load when a check failed.
# Then the driver is reloaded with its defaults.

fail() { echo "not ok 1 - $*"; echo "1..1"; exit 1; }

rmmod azihsm || fail "rmmod azihsm"
modprobe azihsm crypto_depth=2 || fail "modprobe azihsm crypto_depth=2"
i=0
while [ ! -e /dev/azihsm0 ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
modprobe azihsm_kctest
rc=$?
dmesg | sed -n 's/.*azihsm_kctest: //p'
rmmod azihsm_kctest 2>/dev/null
rmmod azihsm && modprobe azihsm || echo "# reloading azihsm with its defaults failed"
exit $rc
