# azihsm top-level Makefile. `make help` lists the targets.
#
#   make run            boot a guest with the emulated HSM and show it working
#   make shell          same guest, interactive shell
#   make check          host unit tests + guest tests on one kernel (KERNEL=6.1|6.12)
#   make check-debug    guest suite, dm-crypt and the harness's deliberate
#                       bugs on the KASAN/lockdep/kmemleak kernel (6.1-debug)
#   make check-all      every test, guest suite on both kernels (what CI
#                       runs; check-debug is not in it: its cold build
#                       and KASAN boots do not fit CI's 60 minutes, README)
#
# Outputs go to build/; the QEMU tree and guest kernels are cached in
# $(AZIHSM_CACHE) (default /var/cache/azihsm), keyed by their inputs.

KERNEL ?= 6.1
export AZIHSM_CACHE ?= /var/cache/azihsm
BUILD := $(CURDIR)/build
CC ?= gcc

.PHONY: all help setup qemu kernel module lib host-tests guest-tests \
	run shell check check-all check-debug check-host debug-kernel style sparse clean

all: lib host-tests

help:
	@sed -n 's/^#   //p' Makefile

setup:
	@scripts/setup

qemu: setup
	@scripts/build-qemu

kernel: setup
	@scripts/guest-kernel $(KERNEL)

module: setup
	@scripts/build-module $(KERNEL)

lib: setup
	@$(MAKE) --no-print-directory -C lib BUILD=$(BUILD)

host-tests: lib
	@$(MAKE) --no-print-directory -C tests/host BUILD=$(BUILD)

guest-tests: lib
	@$(MAKE) --no-print-directory -C tests/guest BUILD=$(BUILD)

run: qemu kernel module lib
	@scripts/demo $(KERNEL)

shell: qemu kernel module lib guest-tests
	@scripts/vm-run --kernel $(KERNEL) --interactive

check:
	@tests/run --kernel $(KERNEL)

check-all:
	@tests/run --kernel 6.1 --kernel 6.12

check-debug:
	@tests/run --kernel 6.1-debug --guest-only

debug-kernel: setup
	@scripts/debug-kernel

check-host:
	@tests/run --host-only

style:
	@scripts/check-style

sparse: setup
	@scripts/build-module $(KERNEL) C=1

clean:
	rm -rf $(BUILD)
