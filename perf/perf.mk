# perf/perf.mk: build and install rules of the benchmark harness. `make
# bench` runs perf/bench.sh (timing), `make bench-callgrind` runs it with
# --callgrind (host instructions), `make install-bench` installs it as the
# tpvm-bench command. Builds the host-native compute binary and the
# host-speed probe.

# guest-stubs/guests.mk names the kernels; the default only matters if it
# has not (yet) done so.
COMPUTE_KERNELS_SRC ?= guest-stubs/compute/kernels.c
# the lines it prints, shared with the compute guest
COMPUTE_REPORT_SRC ?= $(dir $(COMPUTE_KERNELS_SRC))report.c
COMPUTE_ELF := $(B)/guests/compute.elf
MINIOS_ELF := $(B)/guests/minios.elf
NATIVE_COMPUTE := $(B)/perf/native-compute

# The same kernels.c as the compute guest, built for x86-64 with the guest's
# code-generation options minus -m32 (and -fno-pic, which a PIE cannot take),
# so native and guest code differ by instruction set only.
NATIVE_COMPUTE_CFLAGS := -std=c17 -O2 -g $(WARN) -ffreestanding \
	-fno-stack-protector -I$(dir $(COMPUTE_KERNELS_SRC))

$(NATIVE_COMPUTE): perf/native_compute.c $(COMPUTE_KERNELS_SRC) \
		$(COMPUTE_REPORT_SRC) $(COMPUTE_KERNELS_SRC:.c=.h) config.mk
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_COMPUTE_CFLAGS) -o $@ perf/native_compute.c \
		$(COMPUTE_KERNELS_SRC) $(COMPUTE_REPORT_SRC)

BENCH_DEPS += $(NATIVE_COMPUTE)

# The host-speed probe bench.sh runs before and after each run (a fixed
# register-only loop timed in ~60 µs chunks); bench.sh looks for it next to
# the native compute binary unless BENCH_HOST_SPEED names it.
HOST_SPEED := $(B)/perf/host-speed

$(HOST_SPEED): perf/host_speed.c config.mk
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -g $(WARN) -o $@ perf/host_speed.c

BENCH_DEPS += $(HOST_SPEED)

# What bench.sh runs; run by hand it falls back to the same paths and reads
# QEMU from config.mk. The mini-OS and the Linux image are optional: the
# bench reports them as not built when they are missing.
.PHONY: bench-callgrind install-bench
bench bench-callgrind: export BENCH_QEMU := $(QEMU)
bench bench-callgrind: export BENCH_TPVM := $(TPVM)
bench bench-callgrind: export BENCH_COMPUTE_ELF := $(COMPUTE_ELF)
bench bench-callgrind: export BENCH_NATIVE_COMPUTE := $(NATIVE_COMPUTE)
bench bench-callgrind: export BENCH_HOST_SPEED := $(HOST_SPEED)
bench bench-callgrind: export BENCH_MINIOS_ELF := $(MINIOS_ELF)
bench bench-callgrind: export BENCH_LINUX_DIR := $(B)/linux

bench-callgrind: all $(BENCH_DEPS)
	perf/bench.sh --callgrind

# tpvm-bench: bench.sh and its scripts under share/tpvm/perf, the native
# kernels and the host-speed probe under libexec/tpvm, and a wrapper that points them at the
# installed tpvm and guests (`install` installs those).
BENCH_SCRIPTS := perf/json_flatten.awk perf/parse_results.awk \
	perf/check_agree.awk perf/best_of.awk perf/report.awk perf/callgrind_lines.awk \
	perf/plot.gp

# The wrapper is written at install time, so it names the PREFIX given then.
install-bench: $(NATIVE_COMPUTE) $(HOST_SPEED)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/tpvm/perf \
		$(DESTDIR)$(PREFIX)/libexec/tpvm
	install -m 755 perf/bench.sh $(DESTDIR)$(PREFIX)/share/tpvm/perf/bench.sh
	install -m 644 $(BENCH_SCRIPTS) $(DESTDIR)$(PREFIX)/share/tpvm/perf/
	install -m 755 $(NATIVE_COMPUTE) $(DESTDIR)$(PREFIX)/libexec/tpvm/native-compute
	install -m 755 $(HOST_SPEED) $(DESTDIR)$(PREFIX)/libexec/tpvm/host-speed
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@QEMU@|$(QEMU)|g' \
		-e 's|@VERSION@|$(VERSION)|g' perf/tpvm-bench.in \
		>$(DESTDIR)$(PREFIX)/bin/tpvm-bench
	chmod 755 $(DESTDIR)$(PREFIX)/bin/tpvm-bench

# The harness's own tests (awk parsers, report, bench.sh with stand-ins),
# and tpvm's --stats=json on a real guest.
CHECK_SCRIPTS += perf/selftest.sh perf/stats-json-test.sh
CHECK_DEPS += $(TPVM) $(B)/guests/hello.elf
