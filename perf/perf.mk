# perf/perf.mk: build rules of the benchmark harness (`make bench` runs
# perf/bench.sh). Builds the host-native compute binary and tells the
# harness where make put everything.

# guest-stubs/guests.mk names the kernels; the default only matters if it
# has not (yet) done so.
COMPUTE_KERNELS_SRC ?= guest-stubs/compute/kernels.c
COMPUTE_ELF := $(B)/guests/compute.elf
NATIVE_COMPUTE := $(B)/perf/native-compute

# The same kernels.c as the compute guest, built for x86-64 with the guest's
# code-generation options minus -m32 (and -fno-pic, which a PIE cannot take),
# so native and guest code differ by instruction set only.
NATIVE_COMPUTE_CFLAGS := -std=c17 -O2 -g $(WARN) -ffreestanding \
	-fno-stack-protector -I$(dir $(COMPUTE_KERNELS_SRC))

$(NATIVE_COMPUTE): perf/native_compute.c $(COMPUTE_KERNELS_SRC) \
		$(COMPUTE_KERNELS_SRC:.c=.h) config.mk
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_COMPUTE_CFLAGS) -o $@ perf/native_compute.c \
		$(COMPUTE_KERNELS_SRC)

BENCH_DEPS += $(NATIVE_COMPUTE)

# What bench.sh runs; run by hand it falls back to the same paths and reads
# QEMU from config.mk.
bench: export BENCH_QEMU := $(QEMU)
bench: export BENCH_TPVM := $(TPVM)
bench: export BENCH_COMPUTE_ELF := $(COMPUTE_ELF)
bench: export BENCH_NATIVE_COMPUTE := $(NATIVE_COMPUTE)

# The harness's own tests (awk parsers, report, bench.sh with stand-ins).
CHECK_SCRIPTS += perf/selftest.sh
