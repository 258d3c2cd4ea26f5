# guest-stubs/linux.mk: the Debian 12 i386 Linux guest (Debian's own
# linux-image-686 kernel + a busybox initramfs with workloads), built from
# Debian packages into $(B)/linux/ by guest-stubs/linux/build-image.sh.
#   make linux-guest   download and build vmlinuz + initrd.img (needs root
#                      once: dpkg --add-architecture i386, apt-get)
#   make run-linux     boot it with a shell on the console (LINUX_VMM=qemu
#                      for the reference machine)
#   make soak-linux    boot it SOAK_N (50) times under tpvm against one QEMU run
# The comparison with QEMU is part of `make check` (LINUX_IN_CHECK=0 to
# leave it out, e.g. without network access to Debian's archive).

LINUX_DIR := $(B)/linux
LINUX_IN_CHECK ?= 1
LINUX_VMM ?= tpvm
SOAK_N ?= 50
LINUX_SRC := $(addprefix guest-stubs/linux/,build-image.sh init.sh lmbench-mini.c)

.PHONY: linux-guest run-linux soak-linux

linux-guest: $(LINUX_DIR)/.built

# One stamp for both outputs, so the script runs once per change.
$(LINUX_DIR)/.built: $(LINUX_SRC)
	GUEST_CC=$(GUEST_CC) guest-stubs/linux/build-image.sh $(LINUX_DIR)
	@touch $@

run-linux: $(TPVM) linux-guest
	QEMU=$(QEMU) TPVM=$(TPVM) guest-stubs/linux/run.sh $(LINUX_VMM) --shell

soak-linux: $(TPVM) linux-guest
	QEMU=$(QEMU) TPVM=$(TPVM) tests/linux-vs-qemu.sh --repeat $(SOAK_N)

ifeq ($(LINUX_IN_CHECK),1)
CHECK_DEPS += linux-guest
CHECK_SCRIPTS += tests/linux-vs-qemu.sh
endif
