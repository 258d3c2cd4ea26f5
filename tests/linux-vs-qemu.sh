#!/bin/sh
# tests/linux-vs-qemu.sh: boots the Debian 12 i386 guest (make linux-guest:
# build/linux/vmlinuz + initrd.img) under qemu-system-i386 and under tpvm
# with the same kernel, initrd and command line, and compares what /init
# prints: the ready and done markers, every RESULT line's check= value,
# and the exit status. Ends with "N passed, N failed"; exits 1 on a failure.
#
# usage: tests/linux-vs-qemu.sh [--qemu-only] [--repeat N]
#   --qemu-only  only the QEMU reference run (checks it on its own)
#   --repeat N   boot tpvm N times against one QEMU run (make soak-linux)
# environment: QEMU, TPVM, LINUX_DIR, LINUX_MEM (256), LINUX_APPEND,
#   QEMU_TIMEOUT (300 s), TPVM_TIMEOUT (300 s)
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINUX_DIR=${LINUX_DIR:-$ROOT/build/linux}
QEMU=${QEMU:-qemu-system-i386}
TPVM=${TPVM:-$ROOT/build/tpvm}
MEM=${LINUX_MEM:-256}
# reboot=t: /init ends with reboot -f, a triple fault, which QEMU
# -no-reboot and tpvm --no-reboot both turn into exit status 0.
APPEND=${LINUX_APPEND:-console=ttyS0 earlyprintk=serial panic=-1 reboot=t nokaslr}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-300}
TPVM_TIMEOUT=${TPVM_TIMEOUT:-300}
READY=TPVM-LINUX-READY
CR=$(printf '\r')
DONE=TPVM-LINUX-DONE

qemu_only=0
repeat=1
while [ $# -gt 0 ]; do
    case $1 in
    --qemu-only) qemu_only=1 ;;
    --repeat) repeat=${2:?--repeat needs a count}; shift ;;
    *) echo "usage: $0 [--qemu-only] [--repeat N]" >&2; exit 2 ;;
    esac
    shift
done

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

LOGS=$LINUX_DIR/logs
if [ ! -f "$LINUX_DIR/vmlinuz" ] || [ ! -f "$LINUX_DIR/initrd.img" ]; then
    fail "no guest image in $LINUX_DIR (build it with: make linux-guest)"
    finish
fi
mkdir -p "$LOGS"

# run_guest NAME LIMIT CMD...: serial output (CRs stripped) to NAME.log,
# stderr to NAME.err, exit status to NAME.rc, milliseconds from start to
# the ready marker to NAME.ready_ms, and to the end to NAME.total_ms.
run_guest() {
    name=$1 limit=$2
    shift 2
    rm -f "$LOGS/$name".*
    start=$(now_ms)
    # CRs are stripped here, not by tr, which would buffer the output and
    # so delay the ready marker.
    { timeout -k 5 "$limit" "$@" < /dev/null 2> "$LOGS/$name.err"
      echo $? > "$LOGS/$name.rc"; } |
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line%"$CR"}
            case $line in
            *"$READY"*) echo $(($(now_ms) - start)) > "$LOGS/$name.ready_ms" ;;
            esac
            printf '%s\n' "$line"
        done > "$LOGS/$name.log"
    echo $(($(now_ms) - start)) > "$LOGS/$name.total_ms"
}

seconds() { # file with milliseconds -> "12.3 s" or "-"
    if [ -f "$1" ]; then
        ms=$(cat "$1")
        echo "$((ms / 1000)).$((ms % 1000 / 100)) s"
    else
        echo "-"
    fi
}

# "name check" per RESULT line, in guest order.
results() {
    sed -n 's/^RESULT name=\([^ ]*\) time_us=[^ ]* check=\([^ ]*\).*/\1 \2/p' "$1"
}
result_field() { # log name field
    sed -n "s/^RESULT name=$2 .*$3=\([^ ]*\).*/\1/p" "$1" | head -n1
}

# A run on its own: markers present, status as expected. Says why not.
check_run() { # name expected-status
    name=$1 want=$2 log=$LOGS/$1.log
    rc=$(cat "$LOGS/$name.rc" 2>/dev/null || echo "?")
    if grep -q "^$READY" "$log"; then
        pass "$name: ready marker after $(seconds "$LOGS/$name.ready_ms")"
    else
        fail "$name: no ready marker ($READY)"
    fi
    if grep -q "^$DONE" "$log"; then
        pass "$name: all workloads ran (done marker)"
    else
        fail "$name: no done marker ($DONE)"
    fi
    if [ "$rc" = "$want" ]; then
        pass "$name: exit status $rc"
    else
        case $rc in
        124|137) why="timed out" ;;
        *) why="exit status $rc, expected $want" ;;
        esac
        fail "$name: $why (after $(seconds "$LOGS/$name.total_ms"))"
    fi
    if [ "$rc" != "$want" ] || ! grep -q "^$DONE" "$log"; then
        echo "  --- last lines of $log:"
        tail -n 12 "$log" | sed 's/^/  | /'
        if [ -s "$LOGS/$name.err" ]; then
            echo "  --- $LOGS/$name.err:"
            tail -n 20 "$LOGS/$name.err" | sed 's/^/  | /'
        fi
    fi
}

echo "== QEMU reference: $QEMU -m $MEM, append \"$APPEND\""
run_guest qemu "$QEMU_TIMEOUT" "$QEMU" -m "$MEM" \
    -kernel "$LINUX_DIR/vmlinuz" -initrd "$LINUX_DIR/initrd.img" \
    -append "$APPEND" -display none -serial stdio -no-reboot
check_run qemu 0
nref=$(results "$LOGS/qemu.log" | wc -l)
if [ "$nref" -gt 0 ] && ! results "$LOGS/qemu.log" | grep -q ' $'; then
    pass "qemu: $nref RESULT lines, each with a check value"
else
    fail "qemu: RESULT lines missing or without check values"
fi
if [ "$qemu_only" -eq 1 ]; then
    results "$LOGS/qemu.log" | while read -r n c; do
        printf '  %-14s time_us=%-9s check=%s\n' "$n" \
            "$(result_field "$LOGS/qemu.log" "$n" time_us)" "$c"
    done
    finish
fi

i=1
while [ "$i" -le "$repeat" ]; do
    name=tpvm
    [ "$repeat" -gt 1 ] && name=tpvm-$i
    echo "== tpvm run $i/$repeat: $TPVM -m $MEM --initrd --append --no-reboot"
    run_guest "$name" "$TPVM_TIMEOUT" "$TPVM" -m "$MEM" \
        --initrd "$LINUX_DIR/initrd.img" --append "$APPEND" --no-reboot \
        "$LINUX_DIR/vmlinuz"
    check_run "$name" "$(cat "$LOGS/qemu.rc" 2>/dev/null || echo 0)"
    # The kernel calibrates its TSC: against PIT channel 2 (quick
    # calibration, port 0x61 gate), or, when the host preempted tpvm in the
    # few microseconds that calibration cannot tolerate, against the ACPI PM
    # timer; and the clocksource watchdog never finds the TSC unstable.
    tr -d '\r' < "$LOGS/$name.log" > "$LOGS/$name.clean"
    mhz=$(sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' \
          "$LOGS/$name.clean" | head -n1)
    how=none
    if grep -q 'tsc: Fast TSC calibration using PIT' "$LOGS/$name.clean"; then
        how="PIT channel 2"
    elif grep -q 'tsc: using PMTIMER reference calibration' "$LOGS/$name.clean"; then
        how="the ACPI PM timer (quick PIT calibration disturbed)"
    fi
    if [ -n "$mhz" ] && [ "$how" != none ] &&
        ! grep -qi "tsc.*unstable" "$LOGS/$name.clean" &&
        grep -q '^TPVM-CLOCKSOURCE=tsc' "$LOGS/$name.clean"; then
        pass "$name: TSC calibrated against $how: $mhz MHz, stable"
    else
        fail "$name: TSC calibration failed or TSC marked unstable"
    fi
    # Every workload QEMU ran, with the same check value, and no others.
    results "$LOGS/qemu.log" | while read -r n c; do
        got=$(result_field "$LOGS/$name.log" "$n" check)
        tq=$(result_field "$LOGS/qemu.log" "$n" time_us)
        tt=$(result_field "$LOGS/$name.log" "$n" time_us)
        if [ -z "$got" ] && ! grep -q "^RESULT name=$n " "$LOGS/$name.log"; then
            echo "FAIL $name: $n: no RESULT line (qemu check=$c)"
        elif [ "$got" = "$c" ]; then
            echo "PASS $name: $n check=$c (time_us qemu $tq, tpvm $tt)"
        else
            echo "FAIL $name: $n: check=$got, qemu check=$c"
        fi
    done > "$LOGS/$name.compare"
    results "$LOGS/$name.log" | while read -r n c; do
        grep -q "^RESULT name=$n " "$LOGS/qemu.log" ||
            echo "FAIL $name: $n: RESULT line that QEMU did not print"
    done >> "$LOGS/$name.compare"
    cat "$LOGS/$name.compare"
    passed=$((passed + $(grep -c '^PASS' "$LOGS/$name.compare")))
    failed=$((failed + $(grep -c '^FAIL' "$LOGS/$name.compare")))
    i=$((i + 1))
done
finish
