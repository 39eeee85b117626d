#!/usr/bin/env bash
# Issue 9's last gap, issue 12 section 2: a true surprise removal. With a
# dm-crypt volume on xts_aes_azihsm under fio --verify and an AF_ALG loop
# running, the host pulls the device (QOM fault-surprise-removal: every
# BAR and config read all ones, writes, DMA and interrupts dropped,
# nothing in flight ever completes; device.md). The driver must find out
# by itself, fail every pending and new request with -ENODEV/-EIO within
# a bounded time, answer -ENODEV on the char device, let its algorithms go
# once their users are done, and log no warning; then device_del and
# device_add (vm-run --hotplug) bring a working device back. The same
# guest and checks as tests/hotplug-vm.sh, in its surprise mode.
# TAP. Usage: tests/surprise-vm.sh [6.1|6.12|6.1-debug]
exec "$(dirname "$0")/hotplug-vm.sh" "${1:-6.1}" surprise
