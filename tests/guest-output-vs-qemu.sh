#!/usr/bin/env bash
# Boots each guest under QEMU (the native reference) and under tpvm and
# requires the same serial output (cycle counts aside) and exit status.
# Also checks what QEMU alone must show, and that the compute checksums
# equal those of perf/'s native x86-64 build of the same kernels.
#
# Environment (defaults in brackets): QEMU [qemu-system-i386], TPVM
# [build/tpvm], GUEST_DIR [build/guests], NATIVE_COMPUTE
# [build/perf/native-compute], GUEST_TIMEOUT seconds per run [120],
# GUESTS_UNDER_TEST [hello compute].
set -u

cd "$(dirname "$0")/.." || exit 1

QEMU=${QEMU:-qemu-system-i386}
TPVM=${TPVM:-build/tpvm}
GUEST_DIR=${GUEST_DIR:-build/guests}
NATIVE_COMPUTE=${NATIVE_COMPUTE:-build/perf/native-compute}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-120}
GUESTS_UNDER_TEST=${GUESTS_UNDER_TEST:-hello compute}

COMPUTE_KERNELS=(crc32 sieve quicksort matmul string interp bignum)
# guest_exit(0) through isa-debug-exit: the VMM exits with (0 << 1) | 1.
EXIT_STATUS_OF_CODE_0=1

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT

passed=0
failed=0

ok() {
    echo "ok - $1"
    passed=$((passed + 1))
}

not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
}

# Indented, so details do not read as result lines.
show() {
    sed 's/^/    /' "$@"
}

# run_guest OUT CMD...: CMD's stdout normalised in OUT.out, raw in OUT.raw,
# stderr in OUT.err, exit status in OUT.rc.
run_guest() {
    local out=$1
    shift
    timeout "$GUEST_TIMEOUT" "$@" </dev/null >"$out.raw" 2>"$out.err"
    echo $? >"$out.rc"
    sed -E 's/cycles=[0-9]+/cycles=N/g' "$out.raw" >"$out.out"
}

describe_status() {
    local rc
    rc=$(cat "$1.rc")
    if [ "$rc" = 124 ]; then
        echo "$rc (killed after ${GUEST_TIMEOUT}s)"
    else
        echo "$rc"
    fi
}

# What each guest must print under QEMU; a guest without a function here
# only has to exit with code 0.
expect_qemu_hello() {
    grep -qx 'Hello from a tpvm guest!' "$1.out" &&
        grep -qx 'multiboot magic: 0x2badb002' "$1.out" &&
        grep -qE '^memory: lower [0-9]+ KiB, upper [0-9]+ KiB$' "$1.out" &&
        grep -qE '^cmdline: ".*"$' "$1.out"
}

expect_qemu_compute() {
    local k
    for k in "${COMPUTE_KERNELS[@]}"; do
        grep -qE "^RESULT name=$k cycles=N check=[0-9a-f]{8}$" "$1.out" ||
            return 1
    done
    [ "$(grep -c '^RESULT ' "$1.out")" = "${#COMPUTE_KERNELS[@]}" ] &&
        [ "$(tail -n 1 "$1.out")" = 'compute: done' ]
}

check_qemu_alone() {
    local name=$1 out=$2
    if [ "$(cat "$out.rc")" != "$EXIT_STATUS_OF_CODE_0" ]; then
        not_ok "$name: QEMU exit status $(describe_status "$out"), expected $EXIT_STATUS_OF_CODE_0"
        show "$out.raw" "$out.err"
    elif declare -F "expect_qemu_$name" >/dev/null && ! "expect_qemu_$name" "$out"; then
        not_ok "$name: QEMU output lacks the expected lines"
        show "$out.raw" "$out.err"
    else
        ok "$name: boots under QEMU and prints what it should"
    fi
}

check_tpvm_matches_qemu() {
    local name=$1 qemu=$2 tpvm=$3
    if [ ! -x "$TPVM" ]; then
        not_ok "$name: tpvm output equals QEMU's ($TPVM is not built)"
        return
    fi
    if [ "$(cat "$qemu.rc")" = 124 ]; then
        not_ok "$name: tpvm output equals QEMU's (no reference: QEMU timed out)"
        return
    fi
    { cat "$qemu.out"; echo "[exit status $(describe_status "$qemu")]"; } >"$qemu.cmp"
    { cat "$tpvm.out"; echo "[exit status $(describe_status "$tpvm")]"; } >"$tpvm.cmp"
    if cmp -s "$qemu.cmp" "$tpvm.cmp"; then
        ok "$name: tpvm output and exit status equal QEMU's"
    else
        not_ok "$name: tpvm output or exit status differs from QEMU's"
        diff -u --label "qemu $name" --label "tpvm $name" "$qemu.cmp" \
            "$tpvm.cmp" | show
        if [ -s "$tpvm.err" ]; then
            echo "    tpvm stderr (last 20 lines):"
            tail -n 20 "$tpvm.err" | show
        fi
    fi
}

# The i386 guest and the x86-64 build must compute the same checksums.
check_compute_vs_native() {
    local qemu=$1
    if [ ! -x "$NATIVE_COMPUTE" ]; then
        echo "skip - compute: checksums vs native ($NATIVE_COMPUTE not built; not counted)"
        return
    fi
    run_guest "$work/native" "$NATIVE_COMPUTE"
    grep '^RESULT ' "$qemu.out" | sed 's/ cycles=N//' >"$qemu.checks"
    grep '^RESULT ' "$work/native.out" | sed 's/ cycles=N//' >"$work/native.checks"
    if [ "$(cat "$work/native.rc")" = 0 ] && [ -s "$qemu.checks" ] &&
        cmp -s "$qemu.checks" "$work/native.checks"; then
        ok "compute: checksums under QEMU equal the native x86-64 build's"
    else
        not_ok "compute: checksums under QEMU differ from the native x86-64 build's"
        diff -u --label "qemu (i386 guest)" --label "native (x86-64)" \
            "$qemu.checks" "$work/native.checks" | show
    fi
}

for name in $GUESTS_UNDER_TEST; do
    elf=$GUEST_DIR/$name.elf
    if [ ! -f "$elf" ]; then
        not_ok "$name: $elf is not built"
        continue
    fi
    qemu=$work/$name.qemu
    tpvm=$work/$name.tpvm
    run_guest "$qemu" "$QEMU" -kernel "$elf" -display none -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot -m 128
    check_qemu_alone "$name" "$qemu"
    if [ -x "$TPVM" ]; then
        run_guest "$tpvm" "$TPVM" --serial stdio "$elf"
    fi
    check_tpvm_matches_qemu "$name" "$qemu" "$tpvm"
    if [ "$name" = compute ]; then
        check_compute_vs_native "$qemu"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
