#!/usr/bin/env bash
# Boots the system test kernel (guest-stubs/systest) under QEMU, the
# reference, and under tpvm, and compares the TAP verdict of every
# numbered check. A check passes when both say "ok" under the same number
# and name; a difference, a failure on both sides, or a check missing from
# either output (a crash or a hang cuts the output short) fails it. The
# guest's exit status (debug-exit port) is compared as one more item.
# Exits nonzero when anything failed or fewer than MIN_CHECKS checks ran.
#
# Environment (defaults in brackets): QEMU [qemu-system-i386], TPVM
# [build/tpvm], SYSTEST_ELF [build/guests/systest.elf], SYSTEST_TIMEOUT
# seconds per run [60], MIN_CHECKS [60].
set -u

cd "$(dirname "$0")/.." || exit 1

QEMU=${QEMU:-qemu-system-i386}
TPVM=${TPVM:-build/tpvm}
SYSTEST_ELF=${SYSTEST_ELF:-build/guests/systest.elf}
SYSTEST_TIMEOUT=${SYSTEST_TIMEOUT:-60}
MIN_CHECKS=${MIN_CHECKS:-60}
# guest_exit(0) through isa-debug-exit: the VMM exits with (0 << 1) | 1.
EXIT_STATUS_ALL_PASSED=1

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT

# run OUT CMD...: stdout in OUT.raw, stderr in OUT.err, status in OUT.rc.
run() {
    local out=$1
    shift
    # In a subshell whose stderr is dropped, so a crash is reported here
    # and not by bash as "Segmentation fault ...".
    (
        timeout -k 5 "$SYSTEST_TIMEOUT" "$@" </dev/null >"$out.raw" 2>"$out.err"
        echo $? >"$out.rc"
    ) 2>/dev/null
}

describe_status() {
    case $1 in
    124 | 137) echo "$1 (killed after ${SYSTEST_TIMEOUT}s)" ;;
    none) echo "none (not run)" ;;
    *) if [ "$1" -gt 128 ]; then echo "$1 (signal $(($1 - 128)))"; else echo "$1"; fi ;;
    esac
}

# The number of the last verdict line in output order, or 0.
last_verdict() {
    tr -d '\r' <"$1" | sed -n 's/^\(not \)\{0,1\}ok \([0-9][0-9]*\) - .*/\2/p' | tail -n 1 |
        awk '{ n = $1 } END { print n + 0 }'
}

# TAP verdict lines -> "number<TAB>ok|not ok<TAB>name<TAB>detail", sorted by
# number; the first line for a number wins. Anything else is ignored.
verdicts() {
    tr -d '\r' <"$1" | awk '
        /^(not )?ok [0-9]+ - / {
            verdict = ($1 == "not") ? "not ok" : "ok"
            line = $0
            sub(/^(not )?ok [0-9]+ - /, "", line)
            n = ($1 == "not") ? $3 : $2
            detail = ""
            i = index(line, " # ")
            if (i) { detail = substr(line, i + 3); line = substr(line, 1, i - 1) }
            if (!(n in seen)) { seen[n] = 1; printf "%d\t%s\t%s\t%s\n", n, verdict, line, detail }
        }' | sort -n -k1,1
}

# The N of the first "1..N" plan line, or nothing.
plan() {
    tr -d '\r' <"$1" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | head -n 1
}

show_tail() {
    local what=$1 file=$2
    if [ -s "$file" ]; then
        echo "    $what (last 15 lines):"
        tail -n 15 "$file" | tr -d '\r' | awk '{ print "      " $0 }'
    fi
}

if [ ! -f "$SYSTEST_ELF" ]; then
    echo "not ok - $SYSTEST_ELF is not built (make $SYSTEST_ELF)"
    echo "0 passed, 1 failed"
    exit 1
fi

qemu=$work/qemu
tpvm=$work/tpvm
run "$qemu" "$QEMU" -kernel "$SYSTEST_ELF" -display none -serial stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot -m 128
if [ -x "$TPVM" ]; then
    run "$tpvm" "$TPVM" --serial stdio "$SYSTEST_ELF"
    tpvm_missing_why=
else
    : >"$tpvm.raw"
    : >"$tpvm.err"
    echo none >"$tpvm.rc"
    tpvm_missing_why="$TPVM is not built"
fi

verdicts "$qemu.raw" >"$qemu.tap"
verdicts "$tpvm.raw" >"$tpvm.tap"
qemu_plan=$(plan "$qemu.raw")
tpvm_plan=$(plan "$tpvm.raw")
qemu_rc=$(cat "$qemu.rc")
tpvm_rc=$(cat "$tpvm.rc")

qemu_last=$(last_verdict "$qemu.raw")
tpvm_last=$(last_verdict "$tpvm.raw")
[ -z "$tpvm_missing_why" ] && tpvm_missing_why="tpvm stopped after check $tpvm_last"

echo "# QEMU: plan 1..${qemu_plan:-?}, $(wc -l <"$qemu.tap") verdicts, exit status $(describe_status "$qemu_rc")"
echo "# tpvm: plan 1..${tpvm_plan:-?}, $(wc -l <"$tpvm.tap") verdicts, exit status $(describe_status "$tpvm_rc")"

# The checks: 1..N of the larger plan; without any plan, up to the
# highest number QEMU printed. Verdicts past that are reported below.
total=${qemu_plan:-0}
[ "${tpvm_plan:-0}" -gt "$total" ] && total=$tpvm_plan
if [ "$total" = 0 ]; then
    total=$(tail -n 1 "$qemu.tap" | cut -f1)
    total=${total:-0}
fi
unplanned=$(awk -F'\t' -v total="$total" '$1 > total' "$qemu.tap" "$tpvm.tap" | wc -l)

# One record per number: n, then verdict, name, detail from QEMU and from
# tpvm (empty when missing), separated by US so empty fields survive read.
merge() {
    awk -F'\t' -v total="$total" -v OFS=$'\x1f' '
        FNR == NR { q[$1] = $2 OFS $3 OFS $4; next }
        { t[$1] = $2 OFS $3 OFS $4 }
        END {
            for (n = 1; n <= total; n++) {
                qs = (n in q) ? "1" OFS q[n] : "0" OFS OFS OFS
                ts = (n in t) ? "1" OFS t[n] : "0" OFS OFS OFS
                print n, qs, ts
            }
        }' "$qemu.tap" "$tpvm.tap"
}

passed=0
failed=0
ran=0
while IFS=$'\x1f' read -r n q_has q_verdict q_name q_detail t_has t_verdict t_name t_detail; do
    name=${q_name:-$t_name}
    [ "$q_has" = 1 ] && [ "$t_has" = 1 ] && ran=$((ran + 1))
    if [ "$q_verdict" = ok ] && [ "$t_verdict" = ok ] && [ "$q_name" = "$t_name" ]; then
        echo "ok $n - $name"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    if [ "$q_has" = 0 ]; then
        q_says="missing (QEMU stopped after check $qemu_last)"
    else
        q_says="$q_verdict${q_detail:+ ($q_detail)}"
    fi
    if [ "$t_has" = 0 ]; then
        t_says="missing ($tpvm_missing_why)"
    else
        t_says="$t_verdict${t_detail:+ ($t_detail)}"
    fi
    if [ "$q_has" = 1 ] && [ "$t_has" = 1 ] && [ "$q_name" != "$t_name" ]; then
        t_says="$t_says, named \"$t_name\""
    fi
    echo "not ok $n - $name # qemu: $q_says; tpvm: $t_says"
done < <(merge)

# The guest's own verdict through the debug-exit port.
if [ "$qemu_rc" = "$tpvm_rc" ] && [ "$qemu_rc" = "$EXIT_STATUS_ALL_PASSED" ]; then
    echo "ok - exit status $EXIT_STATUS_ALL_PASSED (all checks passed) under both"
    passed=$((passed + 1))
else
    echo "not ok - exit status: qemu $(describe_status "$qemu_rc"), tpvm $(describe_status "$tpvm_rc"), want $EXIT_STATUS_ALL_PASSED under both"
    failed=$((failed + 1))
    if [ "$qemu_rc" != "$EXIT_STATUS_ALL_PASSED" ]; then
        show_tail "QEMU stdout" "$qemu.raw"
        show_tail "QEMU stderr" "$qemu.err"
    fi
    if [ "$tpvm_rc" != "$EXIT_STATUS_ALL_PASSED" ] && [ "$tpvm_rc" != none ]; then
        show_tail "tpvm stdout" "$tpvm.raw"
        show_tail "tpvm stderr" "$tpvm.err"
    fi
fi

if [ "$unplanned" -gt 0 ]; then
    echo "not ok - $unplanned verdicts numbered past the plan 1..$total"
    failed=$((failed + 1))
fi

if [ "$ran" -lt "$MIN_CHECKS" ]; then
    echo "not ok - only $ran checks ran under both, want at least $MIN_CHECKS"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
