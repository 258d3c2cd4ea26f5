#!/usr/bin/env bash
# Tests of the bench harness itself (`make check` runs it): the awk parsers,
# the JSON checker, the report and the callgrind splitter on known inputs,
# and bench.sh end to end with stand-in programs (and a stand-in valgrind)
# in a temporary directory. Needs no guest, QEMU, tpvm or valgrind.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/test_lib.sh"

# expect_line NAME LINE FILE: FILE must hold LINE exactly.
expect_line() {
    if grep -qxF -- "$2" "$3"; then ok "$1"; else not_ok "$1" "no line: $2"$'\n'"$(cat "$3")"; fi
}

# expect_grep NAME ERE FILE: some line of FILE must match.
expect_grep() {
    if grep -qE -- "$2" "$3"; then ok "$1"; else not_ok "$1" "no line matches: $2"$'\n'"$(head -n 40 "$3")"; fi
}

valid_json() { LC_ALL=C awk -v quiet=1 -f "$perf_dir/json_flatten.awk" "$1"; }
json_value() { # FILE PATH
    LC_ALL=C awk -f "$perf_dir/json_flatten.awk" "$1" | awk -F'\t' -v k="$2" '$1 == k { print $2 }'
}

parse() {
    awk -v prefix=w,1,p -v keys='name cycles check' -v numeric=cycles \
        -v done='compute: done' -f "$perf_dir/parse_results.awk" 2>/dev/null
}

# ---- parse_results.awk
out=$(printf 'boot noise\r\nRESULT name=a cycles=10 check=0000abcd extra=1\r\nRESULT  name=b check=ff cycles=7\ncompute: done\r\n' | parse)
expect "parse: CRLF, noise, key order and extra keys" \
    $'w,1,p,a,10,0000abcd\nw,1,p,b,7,ff' "$out"
printf 'RESULT name=a cycles=1 check=1\n' | parse >/dev/null
expect "parse: no done line is exit 3" 3 $?
printf 'RESULT name=a cycles=1 check=1\ncompute: done (3 ticks)\n' | parse >/dev/null
expect "parse: the done line is matched by its beginning" 0 $?
printf 'hello\ncompute: done\n' | parse >/dev/null
expect "parse: no RESULT line is exit 2" 2 $?
printf 'RESULT name=a cycles=12k check=1\ncompute: done\n' | parse >/dev/null
expect "parse: non-numeric cycles is exit 1" 1 $?
printf 'RESULT name=a cycles=1\ncompute: done\n' | parse >/dev/null
expect "parse: missing key is exit 1" 1 $?
printf 'RESULT name=a cycles=1 check=1\nRESULT name=a cycles=2 check=1\ncompute: done\n' | parse >/dev/null
expect "parse: duplicate name is exit 1" 1 $?
out=$(printf 'RESULT name=a cycles=40 check=1\ncompute: done\n' |
    awk -v prefix=w,1,native -v keys='name ops per_op_cycles check' -v numeric='ops per_op_cycles' \
        -v done='compute: done' -v defaults='ops=1 per_op_cycles=@cycles' -f "$perf_dir/parse_results.awk")
expect "parse: defaults fill missing keys (constant, other key)" "w,1,native,a,1,40,1" "$out"

# ---- best_of.awk
best_of() { awk -v name=name -v check=check -f "$perf_dir/best_of.awk" "$@"; }
printf 'boot\nRESULT name=a ops=10 per_op_cycles=500 check=00ab\r\nRESULT name=b cycles=90 check=1\ndone\n' >"$tmp/l1"
printf 'other noise\nRESULT name=b cycles=80 check=1\nRESULT name=a ops=10 per_op_cycles=450 check=00ab\n' >"$tmp/l2"
printf 'RESULT name=a ops=10 per_op_cycles=470 check=00ab\nRESULT name=b cycles=95 check=1\n' >"$tmp/l3"
out=$(best_of "$tmp/l1" "$tmp/l2" "$tmp/l3")
expect "best_of: the fewest of each number, launch 1's lines and order" \
    $'boot\nRESULT name=a ops=10 per_op_cycles=450 check=00ab\nRESULT name=b cycles=80 check=1\ndone' "$out"
printf 'RESULT name=a ops=10 per_op_cycles=400 check=00ac\nRESULT name=b cycles=95 check=1\n' >"$tmp/l4"
out=$(best_of "$tmp/l1" "$tmp/l4" 2>&1)
expect "best_of: a check that differs between launches fails" \
    "1:launch 2: name=a check=00ac, launch 1 check=00ab" "$?:$out"
out=$(best_of "$tmp/l1" "$tmp/l3" <(printf 'RESULT name=a ops=10 per_op_cycles=1 check=00ab\n') 2>&1)
expect "best_of: a RESULT line missing from a launch fails" "1:launch 3: no RESULT line for name=b" "$?:$out"
out=$(best_of "$tmp/l1" <(printf 'RESULT name=a ops=11 per_op_cycles=1 check=00ab\nRESULT name=b cycles=1 check=1\n') 2>&1)
expect "best_of: numbers are minimised, even ops (the guest's own)" "0" "$?"

# ---- check_agree.awk
agree() { awk -v key=check "$@" -f "$perf_dir/check_agree.awk" "$tmp/r.csv"; }
cat >"$tmp/r.csv" <<EOF
workload,run,path,name,cycles,check
w,1,native,a,10,aa
w,1,native,b,10,bb
w,1,tpvm,a,20,aa
w,1,tpvm,b,20,bb
EOF
out=$(agree)
expect "check_agree: agreeing paths pass" "0:" "$?:$out"
echo "w,2,tpvm,a,20,ab" >>"$tmp/r.csv"
out=$(agree)
expect "check_agree: a different check fails and names both sides" \
    "1:w/a: tpvm run 2 has check=ab, native run 1 has aa"$'\n'"w/b: missing from tpvm run 2" "$?:$out"
out=$(agree -v run=w,1,tpvm)
expect "check_agree: run= reports only that run" "0:" "$?:$out"
cat >"$tmp/r.csv" <<EOF
workload,run,path,name,cycles,check
w,1,native,a,10,aa
w,1,guest,a,10,aa
w,1,guest,s,10,ss
w,2,native,a,10,aa
w,2,guest,a,10,aa
w,2,guest,s,10,ss
EOF
out=$(agree)
expect "check_agree: a path may cover only some rows (native)" "0:" "$?:$out"

# ---- json_flatten.awk
printf '{"a": [1, {"b": "x\\"y"}], "c": -1.5e3, "d": true, "e": null, "f": {}}' >"$tmp/j.json"
expect "json: flattens paths and values" $'a.0\t1\na.1.b\tx\\"y\nc\t-1.5e3\nd\ttrue\ne\tnull' \
    "$(LC_ALL=C awk -f "$perf_dir/json_flatten.awk" "$tmp/j.json")"
bad=""
for text in '{"a": 1,}' '{"a": 01}' '[1 2]' '{"a": 1} x' '{"a": "x' '{"a": 1, "a": 2}' ''; do
    printf '%s' "$text" >"$tmp/bad.json"
    valid_json "$tmp/bad.json" 2>/dev/null && bad+=" [$text]"
done
expect "json: rejects broken JSON" "" "$bad"

# ---- report.awk
# Kernel k1: native 100, QEMU 1000, BT 500, PV 250 -> BT/QEMU 2x, PV/BT 2x,
# tpvm/native 0.2x. k2: native 100, QEMU 800, BT 100, PV 100 -> 8x, 1x, 1x.
# k3: all 100. Run 3 of BT failed: its huge numbers must not count.
{
    echo "workload,run,path,wall_us,exit_status,ok,why"
    for r in 1 2 3; do
        echo "w,$r,native,$((1000 * r)),0,1,"
        echo "w,$r,qemu,$((2000000 + 1000 * r)),1,1,"
        echo "w,$r,tpvm-bt,$((1000000 * r)),1,$((r < 3)),$( ((r < 3)) || echo 'exit status 4; expected 1')"
        echo "w,$r,tpvm-pv,500000,1,1,"
    done
} >"$tmp/runs.csv"
{
    echo "workload,run,path,name,cycles,check"
    for r in 1 2 3; do
        echo "w,$r,native,k1,$((r == 2 ? 110 : r == 3 ? 90 : 100)),1"
        echo "w,$r,native,k2,100,2"
        echo "w,$r,native,k3,100,3"
        echo "w,$r,qemu,k1,$((r == 2 ? 1200000 : 1000)),1"
        echo "w,$r,qemu,k2,800,2"
        echo "w,$r,qemu,k3,100,3"
        b=$((r == 3 ? 9999999 : 0))
        echo "w,$r,tpvm-bt,k1,$((b + 500)),1"
        echo "w,$r,tpvm-bt,k2,$((b + 100)),2"
        echo "w,$r,tpvm-bt,k3,$((b + 100)),3"
        echo "w,$r,tpvm-pv,k1,$((r == 1 ? 300 : 250)),1"
        echo "w,$r,tpvm-pv,k2,100,2"
        echo "w,$r,tpvm-pv,k3,100,3"
    done
} >"$tmp/res.csv"
{
    echo "workload,run,path,counter,value"
    for r in 1 2 3; do
        echo "w,$r,tpvm-bt,bt.tlb_flushes,$((5000 + r))"
        echo "w,$r,tpvm-bt,bt.hypercalls,0"
        echo "w,$r,tpvm-bt,bt.exits_to_loop,40"
        echo "w,$r,tpvm-bt,bt.helper_by_kind.fpu,900"
        echo "w,$r,tpvm-bt,bt.helper_by_kind.io,30"
        echo "w,$r,tpvm-pv,bt.tlb_flushes,12"
        echo "w,$r,tpvm-pv,bt.hypercalls,7000"
        echo "w,$r,tpvm-pv,bt.exits_to_loop,40"
    done
} >"$tmp/cnt.csv"
printf 'native\tnative\t1\tnative build\t\nqemu\tQEMU\t1\tqemu\t\ntpvm-bt\tBT\t1\tbt\t\ntpvm-pv\tPV\t1\tpv\t\n' >"$tmp/paths.tsv"
report() {
    awk -v workload=w -v title="a test" -v all_paths="native qemu tpvm-bt tpvm-pv" \
        -v metric=cycles -v unit=cycles -v row_word=kernel \
        -v ratios='PV/BT=tpvm-bt/tpvm-pv;BT/QEMU=qemu/tpvm-bt;PV/QEMU=qemu/tpvm-pv;tpvm/native=native/tpvm-bt' \
        -v range_paths="qemu tpvm-bt tpvm-pv" -v spread_paths="tpvm-bt tpvm-pv" -v spread_limit=15 \
        -v counter_keys="bt.tlb_flushes bt.hypercalls bt.exits_to_loop" "$@" \
        -f "$perf_dir/report.awk" "$tmp/paths.tsv" "$tmp/runs.csv" "$tmp/res.csv" "$tmp/cnt.csv"
}
report -v csv_out="$tmp/t.csv" -v csv_header=1 -v json_out="$tmp/t.json" -v plot_out="$tmp/t.dat" >"$tmp/report.md"
expect "report: exits 0" 0 $?
expect_line "report: ok-run counts" "Ok runs: native 3/3, QEMU 3/3, BT 2/3, PV 3/3." "$tmp/report.md"
expect_grep "report: failed runs are named" '^\*\*BT failed runs\*\* .*run 3: exit status 4' "$tmp/report.md"
expect_line "report: medians, ranges (k/M), ratios" \
    "| k1 | 100 | 1000 (1000–1.20M) | 500 (500–500) | 250 (250–300) | 2.00× | 2.00× | 4.00× | 0.20× |" "$tmp/report.md"
expect_line "report: second kernel" \
    "| k2 | 100 | 800 (800–800) | 100 (100–100) | 100 (100–100) | 1.00× | 8.00× | 8.00× | 1.00× |" "$tmp/report.md"
# BT/QEMU: 2, 8, 1 -> geomean 16^(1/3) = 2.52, median 2.
expect_line "report: geometric mean and median rows" \
    "| **geometric mean** | | | | | **1.26×** | **2.52×** | **3.17×** | **0.58×** |" "$tmp/report.md"
expect_line "report: median kernel" \
    "| **median kernel** | | | | | **1.00×** | **2.00×** | **4.00×** | **1.00×** |" "$tmp/report.md"
expect_grep "report: PV spread 20% on k1 is flagged" \
    '^Spread of the tpvm runs .*BT worst 0\.0% \(k1\); PV worst 20% \(k1\)\. \*\*Over 15%: PV k1 20%\*\* .* For comparison, .*: worst native 22% \(k1\), QEMU' "$tmp/report.md"
expect_line "report: wall medians" "| BT | 1.500 s | 1.000 s–2.000 s |" "$tmp/report.md"
expect_line "report: counters, PV ÷ BT" "| tlb_flushes | 5002 | 12 | 0.00× |" "$tmp/report.md"
expect_grep "report: why names the busiest helper and what PV changed" \
    '^Why: BT per run: 40 exits .*\(fpu 900, io 30\).* PV vs BT: hypercalls 0 → 7000; tlb_flushes 5002 → 12\.$' "$tmp/report.md"
expect "report: CSV header and one row per kernel" 4 "$(grep -c . "$tmp/t.csv")"
expect_grep "report: CSV row of k1" \
    '^w,k1,cycles,1,100,90,110,3,22\.22,1000,1000,1200000,3,119900\.00,500,500,500,2,0\.00,250,250,300,3,20\.00,2\.0000,2\.0000,4\.0000,0\.2000$' "$tmp/t.csv"
expect_grep "report: CSV header names the ratio columns" ',pv_over_bt,bt_over_qemu,pv_over_qemu,tpvm_over_native$' "$tmp/t.csv"
if valid_json "$tmp/t.json"; then ok "report: the JSON object is valid"; else not_ok "report: the JSON object is valid" "$(cat "$tmp/t.json")"; fi
expect "report: JSON median of BT on k1" 500 "$(json_value "$tmp/t.json" rows.0.per_op.tpvm-bt.median)"
expect "report: JSON ratio PV/BT on k1" 2.0000 "$(json_value "$tmp/t.json" 'rows.0.ratios.PV/BT')"
expect "report: JSON counters (median of 5001, 5002)" 5001.5 "$(json_value "$tmp/t.json" counters.tpvm-bt.bt.tlb_flushes.median)"
expect_line "report: plot data row" "k2 100 100 100 800 800 800 100 100 100 100 100 100" "$tmp/t.dat"
printf 'native\tnative\t1\tnative build\t\nqemu\tQEMU\t1\tqemu\t\ntpvm-bt\tBT\t1\tbt\t\ntpvm-pv\tPV\t0\tpv\tnot available yet\n' >"$tmp/paths.tsv"
grep -v tpvm-pv "$tmp/runs.csv" >"$tmp/runs2.csv" && mv "$tmp/runs2.csv" "$tmp/runs.csv"
report >"$tmp/nopv.md"
expect_line "report: an unavailable path shows n/a and its ratios go" \
    "| k1 | 100 | 1000 (1000–1.20M) | 500 (500–500) | n/a | 2.00× | 0.20× |" "$tmp/nopv.md"

# ---- callgrind_lines.awk: 2 output lines, a dump before each byte.
printf 'RESULT name=k ops=4 x=1\ndone\n' >"$tmp/cg.out" # 24 + 5 bytes
mkdir -p "$tmp/cg"
part() { printf 'part: %d\ndesc: Trigger: %s\nsummary: %d\ntotals: %d\n' "$1" "$2" "$3" "$3" >"$tmp/cg/cg.$1"; }
part 1 --dump-before=vm_run 700
for ((b = 1; b <= 29; b++)); do
    part $((b + 1)) --dump-before=chardev_putc $((b == 1 ? 4000 : b == 25 ? 300 : 10))
done
part 31 'Program termination' 55
split() {
    LC_ALL=C awk -v unit=byte -v trigger=chardev_putc -v start=vm_run -v bytes=29 -v prefix=w,1,p \
        -f "$perf_dir/callgrind_lines.awk" "$tmp/cg.out" "$tmp/cg"/cg.* 2>&1
}
# k: 4000 + 23 * 10; other: 300 + 4 * 10; total 700 + 4000 + 300 + 27 * 10 + 55.
expect "callgrind_lines: Ir per RESULT line, start-up, rest, total" \
    $'w,1,p,k,4,4230\nw,1,p,_startup,1,700\nw,1,p,_other,1,340\nw,1,p,_exit,1,55\nw,1,p,_total,1,5325' "$(split)"
rm "$tmp/cg/cg.9"
out=$(split)
expect "callgrind_lines: a missing part is an error" 1 $?
part 9 --dump-before=chardev_putc 10
part 32 --dump-before=chardev_putc 10
out=$(split)
expect "callgrind_lines: more dumps than output bytes is an error" \
    "1:callgrind_lines: 30 dumps at chardev_putc for 29 output bytes: cannot attribute" "$?:$out"

# ---- bench.sh end to end, with stand-ins that print what the guests would.
cat >"$tmp/standin" <<'EOF'
#!/bin/bash
# Stand-in for native, QEMU and tpvm: prints RESULT lines scaled by
# $SCALE with check $CHECK and exits with $STATUS; as tpvm it writes a
# --stats=json file and answers --mode pv --help per $PV.
stats="" mode=bt minios=0 linux=0
for a in "$@"; do
    case $a in
    --version) echo "standin 1.0 (commit test)"; exit 0 ;;
    --stats=json:*) stats=${a#--stats=json:} ;;
    pv) mode=pv ;;
    --help) [[ ${PV:-no} == yes ]] && exit 0; echo "tpvm: --mode pv is not available yet" >&2; exit 2 ;;
    *minios*) minios=1 ;;
    *vmlinuz*|*initrd*) linux=1 ;;
    esac
done
vmi=""
[[ $mode != pv ]] || vmi='"vmi": {"hypercalls": 900, "calls": {"SetCR3": 40, "SetPxE": 90}},'
[[ -z $stats ]] || printf '{"schema": 1, "mode": "%s", "bt": {"tlb_flushes": %d, "hypercalls": %d,\n "exits_to_loop": 5, "helper_by_kind": {"io": 3}}, %s "io": [{"name": "com1", "reads": 1, "writes": 2}]}\n' \
    "$mode" $([[ $mode == pv ]] && echo "2 900" || echo "800 0") "$vmi" >"$stats"
if ((linux)); then
    echo "booting"; sleep 0.3; printf 'TPVM-LINUX-READY\r\n'
    echo "RESULT name=pipe time_us=$((1000 * SCALE)) check=8"
    echo TPVM-LINUX-DONE; exit 0
fi
if ((minios)); then
    echo "minios: path=$([[ $mode == pv ]] && echo vmi || echo native)"
    echo "RESULT name=null_syscall ops=100 per_op_cycles=$((50 * SCALE)) check=0064"
    echo "RESULT name=crc32 ops=1 per_op_cycles=$((1000 * SCALE)) check=$CHECK"
    echo "minios: done (x)"; exit "$STATUS"
fi
printf 'RESULT name=crc32 cycles=%d check=%s\r\n' $((1000 * SCALE)) "$CHECK"
printf 'RESULT name=sieve cycles=%d check=0000002a\r\n' $((3000 * SCALE))
printf 'compute: done\r\n'
exit "$STATUS"
EOF
mk() { printf '#!/bin/sh\nSCALE=%s CHECK=%s STATUS=%s exec "%s" "$@"\n' "$2" "$3" "$4" "$tmp/standin" >"$tmp/$1"; chmod +x "$tmp/$1"; }
chmod +x "$tmp/standin"
mk native 1 cafe0001 0
mk qemu 6 cafe0001 1
mk tpvm 2 cafe0001 1
mk tpvm-wrong 2 badbad01 1
touch "$tmp/guest.elf" "$tmp/minios.elf"
mkdir -p "$tmp/linux"
touch "$tmp/linux/vmlinuz" "$tmp/linux/initrd.img"
bench() {
    BENCH_NATIVE_COMPUTE=$tmp/native BENCH_QEMU=$tmp/qemu BENCH_COMPUTE_ELF=$tmp/guest.elf \
        BENCH_MINIOS_ELF=${MINIOS:-$tmp/none.elf} BENCH_LINUX_DIR=${LINUX:-$tmp/nolinux} \
        BENCH_TPVM=${TPVM:-$tmp/tpvm} BENCH_PROGRESS=plain BENCH_QUIET_WAIT=0 \
        BENCH_LAUNCHES=${LAUNCHES:-1} \
        BENCH_SPEED_WAIT=${SPEED_WAIT:-0} BENCH_HOST_SPEED=${HOST_SPEED:-$tmp/host-speed} \
        "$perf_dir/bench.sh" --no-plot "$@" >"$tmp/bench.out" 2>"$tmp/bench.err"
}
bench --runs 2 --out "$tmp/b1"
expect "bench: all paths agree, exit 0" 0 $?
expect "bench: runs interleave native, qemu, tpvm-bt" "native qemu tpvm-bt native qemu tpvm-bt" \
    "$(awk -F, 'NR > 1 { printf "%s%s", sep, $3; sep = " " }' "$tmp/b1/compute-runs.csv")"
expect "bench: a CSV row per run, path and kernel" 12 \
    "$(($(wc -l <"$tmp/b1/compute-results.csv") - 1))"
expect_line "bench: table in results.md" \
    "| crc32 | 1000 | 6000 (6000–6000) | 2000 (2000–2000) | n/a | 3.00× | 0.50× |" "$tmp/b1/results.md"
expect_grep "bench: an unavailable PV path is said, with tpvm's words" \
    'PV\*\* \(tpvm-pv\): unavailable — tpvm answers: --mode pv is not available yet' "$tmp/b1/results.md"
expect_grep "bench: a workload that is not built is said" '^\*\*Not run: not built: .*none\.elf' "$tmp/b1/results.md"
expect_grep "bench: a missing Linux image is said" '^\*\*Not run: no image: .*nolinux/vmlinuz' "$tmp/b1/results.md"
expect_grep "bench: the header records CPU, cores and QEMU" '^- host: .*[0-9]+ cores' "$tmp/b1/results.md"
expect_grep "bench: progress lines on stderr" '^\[6/6\] compute tpvm-bt run 2/2 \.\.\. [0-9.]+ s, 2 results$' "$tmp/bench.err"
expect_grep "bench: counters from --stats=json" '^compute,1,tpvm-bt,io\.com1\.writes,2$' "$tmp/b1/compute-counters.csv"
if valid_json "$tmp/b1/results.json"; then ok "bench: results.json is valid JSON"; else not_ok "bench: results.json is valid JSON" "$(head -c 2000 "$tmp/b1/results.json")"; fi
expect "bench: results.json says minios was not run" "not run" "$(json_value "$tmp/b1/results.json" workloads.1.status)"
expect "bench: results.json has the QEMU version line" 1 \
    "$(LC_ALL=C awk -f "$perf_dir/json_flatten.awk" "$tmp/b1/results.json" | grep -c '^header\.qemu_version')"
expect_grep "bench: results.csv starts with the machine" '^# cpu: ' "$tmp/b1/results.csv"
expect_grep "bench: results.csv has the table" '^compute,crc32,cycles,1,1000,1000,1000,2,0\.00,6000,' "$tmp/b1/results.csv"

PV=yes MINIOS=$tmp/minios.elf LINUX=$tmp/linux bench --runs 1 --linux-runs 2 --out "$tmp/b2"
expect "bench: every workload with PV, exit 0" 0 $?
expect_line "bench: PV/BT from the PV path" \
    "| crc32 | 1000 | 6000 (6000–6000) | 2000 (2000–2000) | 2000 (2000–2000) | 1.00× | 3.00× | 3.00× | 0.50× |" "$tmp/b2/results.md"
expect_line "bench: mini-OS rows, native only where it has the kernel" \
    "| null_syscall | 100 | – | 300 (300–300) | 100 (100–100) | 100 (100–100) | 1.00× | 3.00× | 3.00× | – |" "$tmp/b2/results.md"
expect_grep "bench: why says what PV changed" '^Why: .*PV vs BT: hypercalls 0 → 900; tlb_flushes 800 → 2\.$' "$tmp/b2/results.md"
expect_grep "bench: why names PV's most frequent VMI calls" "PV's most frequent VMI calls per run: SetPxE 90, SetCR3 40\\." "$tmp/b2/results.md"
ready=$(awk -F, '$4 == "boot_to_ready" { print $5; exit }' "$tmp/b2/linux-results.csv")
if [[ -n $ready && $ready -ge 300000 && $ready -lt 5000000 ]]; then
    ok "bench: Linux boot-to-ready timed on the host ($ready µs)"
else
    not_ok "bench: Linux boot-to-ready timed on the host" "got '$ready'"
fi
expect "bench: Linux runs --linux-runs times per path" 4 "$(($(wc -l <"$tmp/b2/linux-runs.csv") - 1))"

TPVM=$tmp/tpvm-wrong bench --runs 1 --only compute,native,tpvm --out "$tmp/b3"
expect "bench: a check mismatch fails the bench" 1 $?
expect "bench: the mismatch is said on stderr" 1 "$(grep -c 'CHECK MISMATCH: compute/crc32: tpvm-bt run 1' "$tmp/bench.err")"
PV=yes MINIOS=$tmp/minios.elf TPVM=$tmp/native bench --runs 1 --only minios --skip native,qemu --out "$tmp/b4"
expect "bench: a wrong exit status fails the bench" 1 $?
expect_grep "bench: ... and says so" 'FAILED: minios tpvm-bt run 1: exit status 0, expected 1' "$tmp/bench.err"
# Launches: a tpvm whose every third process runs 1.5x slower (SCALE 3
# instead of 2); each run keeps the fewest cycles of its launches.
printf '#!/bin/bash\n[[ "$*" == *.elf* ]] || exec "%s" "$@"\nn=$(($(cat "%s/count" 2>/dev/null || echo 0) + 1)); echo $n >"%s/count"\nif ((n %% 3 == 1)); then s=3; else s=2; fi\nc=cafe0001; [[ -z ${VARY_MOD:-} ]] || c=$c$((n %% VARY_MOD))\nSCALE=$s CHECK=$c STATUS=1 exec "%s" "$@"\n' \
    "$tmp/tpvm" \
    "$tmp" "$tmp" "$tmp/standin" >"$tmp/tpvm-vary"
chmod +x "$tmp/tpvm-vary"
rm -f "$tmp/count"
LAUNCHES=3 TPVM=$tmp/tpvm-vary bench --runs 2 --only compute,native,tpvm --out "$tmp/l"
expect "bench --launches 3: exit 0" 0 $?
expect_line "bench --launches 3: each run is its launches' fewest" \
    "| crc32 | 1000 | 2000 (2000–2000) | n/a | 0.50× |" "$tmp/l/results.md"
expect "bench --launches 3: every path launched 3 times a run" 6 "$(cat "$tmp/count")"
expect_grep "bench --launches 3: the runs CSV keeps each launch's wall time" \
    '^compute,1,tpvm-bt,[0-9]+,1,1,,.*,[0-9]+;[0-9]+;[0-9]+$' "$tmp/l/compute-runs.csv"
expect_grep "bench --launches 3: progress says so" 'compute tpvm-bt run 1/2 launch 3/3 \.\.\. [0-9.]+ s$' "$tmp/bench.err"
rm -f "$tmp/count"
VARY_MOD=2 LAUNCHES=2 TPVM=$tmp/tpvm-vary bench --runs 1 --only compute,native,tpvm --out "$tmp/lv2"
expect "bench --launches: launches that disagree fail the run" 1 $?
expect_grep "bench --launches: ... and say how" 'FAILED: compute tpvm-bt run 1: launches disagree: launch 2: name=crc32 check=cafe00010, launch 1 check=cafe00011' "$tmp/bench.err"
bench --only nosuch
expect "bench: unknown --only item is a usage error" 2 $?
bench --skip compute,minios,linux
expect "bench: nothing selected is a usage error" 2 $?
LINUX=$tmp/linux bench --only linux --linux-runs 1 --out "$tmp/b5"
expect "bench: --only linux runs Linux only" "linux" \
    "$(ls "$tmp/b5" | sed -n 's/-runs\.csv$//p' | tr '\n' ' ' | sed 's/ $//')"

# ---- the host-speed gate, with a stand-in probe: its k-th call prints
# line k of $SPEED_SEQ ("min_ns median_ns"; the last line once they run
# out) and logs its arguments to $SPEED_LOG.
cat >"$tmp/host-speed" <<'EOF'
#!/bin/bash
n=$(($(wc -l <"$SPEED_LOG" 2>/dev/null || echo 0) + 1))
echo "call $n: $*" >>"$SPEED_LOG"
line=$(sed -n "${n}p" "$SPEED_SEQ")
[[ -n $line ]] || line=$(tail -n 1 "$SPEED_SEQ")
read -r min med <<<"$line"
echo "min_ns=$min p10_ns=$min median_ns=$med max_ns=$((med * 3)) chunks=480 iters=25000"
EOF
chmod +x "$tmp/host-speed"
export SPEED_SEQ=$tmp/speed.seq SPEED_LOG=$tmp/speed.log
speed_cols() { # RUNS-CSV -> "before/after" of each run
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { printf "%s%s/%s", sep, $c["host_speed_before_pct"], $c["host_speed_after_pct"]; sep = " " }' "$1"
}
header() { awk -F'\t' -v k="$2" '$1 == k { print $2 }' "$1/header.tsv"; }
# between NAME LO HI VALUE: LO <= VALUE <= HI (decimals).
between() {
    if awk -v lo="$2" -v hi="$3" -v x="$4" 'BEGIN { exit !(x != "" && x + 0 >= lo && x + 0 <= hi) }'; then
        ok "$1 ($4)"
    else
        not_ok "$1" "want $2..$3, got '$4'"
    fi
}

# Slow (200%) for three probes, then full speed: the run waits ~0.9 s.
# Full speed is the fastest median seen: 1000 at first, 900 after the run.
rm -f "$SPEED_LOG"
printf '%s\n' "950 1000" "900 2000" "900 2000" "900 2000" "850 1050" "800 900" >"$SPEED_SEQ"
SPEED_WAIT=5 bench --runs 1 --only compute,native --out "$tmp/s1"
expect "speed gate: exit 0" 0 $?
expect "speed gate: a long first probe, then before and after the run" \
    "call 1: -n 3200|call 2: |call 3: |call 4: |call 5: |call 6: " "$(paste -sd'|' "$SPEED_LOG")"
expect_grep "speed gate: the run waited for full speed" \
    '^\[1/1\] compute native  run 1/1 \.\.\. \(waited (0\.9|1\.[0-9]) s for full speed\) [0-9.]+ s, 2 results$' "$tmp/bench.err"
expect "speed gate: runs CSV ends with the before/after columns" \
    "workload,run,path,wall_us,exit_status,ok,why,host_busy_pct,host_speed_before_pct,host_speed_after_pct,launch_walls_us" \
    "$(head -n 1 "$tmp/s1/compute-runs.csv")"
expect "speed gate: before 1050/1000, after 900/900 (percent)" "105/100" "$(speed_cols "$tmp/s1/compute-runs.csv")"
between "speed gate: header records the wait" 0.9 2.0 "$(header "$tmp/s1" host_speed_waited_s)"
expect "speed gate: full speed = fastest median, fastest chunk" "900 800" \
    "$(header "$tmp/s1" host_speed_full_ns) $(header "$tmp/s1" host_speed_fastest_chunk_ns)"
expect "speed gate: results.json header has full speed" 900 "$(json_value "$tmp/s1/results.json" header.host_speed_full_ns)"
expect_grep "speed gate: results.md says it" \
    '^- host speed: each run waited up to 5 s .*within 20% .*0\.9 µs.*: 1 of 1 runs started at full speed, the bench waited (0\.9|1\.[0-9]) s for it in all, 0 run\(s\) ended slow \(runs CSVs' "$tmp/s1/results.md"

# Always slow (210%): each run waits its limit (1 s), starts and ends slow.
rm -f "$SPEED_LOG"
printf '%s\n' "950 1000" "900 2100" >"$SPEED_SEQ"
t0=$(date +%s%N)
SPEED_WAIT=1 bench --runs 2 --only compute,native --out "$tmp/s2"
expect "speed gate: slow host, exit 0 all the same" 0 $?
between "speed gate: the wait is bounded by --speed-wait (s, 2 runs)" 2.0 3.5 "$(header "$tmp/s2" host_speed_waited_s)"
between "speed gate: ... and so is the whole bench (s; not the 300-s budget)" 2.0 10 "$((($(date +%s%N) - t0) / 1000000))e-3"
expect "speed gate: slow runs recorded" "210/210 210/210" "$(speed_cols "$tmp/s2/compute-runs.csv")"
expect "speed gate: slow starts and ends counted" "0 2 2" \
    "$(header "$tmp/s2" host_speed_fast_starts) $(header "$tmp/s2" host_speed_slow_starts) $(header "$tmp/s2" host_speed_slow_ends)"
expect_grep "speed gate: progress says started and ended slow" \
    '^\[2/2\] .*\(waited 1\.[0-9] s for full speed\) [0-9.]+ s, 2 results, started slow \(x2\.1\), ended slow \(x2\.1\)$' "$tmp/bench.err"
expect_grep "speed gate: results.md counts them" ': 0 of 2 runs started at full speed, .* 2 run\(s\) ended slow ' "$tmp/s2/results.md"

# The whole-bench budget (BENCH_SPEED_BUDGET=1): only the first run waits.
rm -f "$SPEED_LOG"
BENCH_SPEED_BUDGET=1 SPEED_WAIT=5 bench --runs 3 --only compute,native --out "$tmp/s3"
between "speed gate: the whole bench waits within its budget (s)" 1.0 2.2 "$(header "$tmp/s3" host_speed_waited_s)"
expect "speed gate: once the budget is spent, runs do not wait" 1 "$(grep -c 'for full speed' "$tmp/bench.err")"

# --speed-wait 0: no probe, empty columns, no header line.
rm -f "$SPEED_LOG"
SPEED_WAIT=5 bench --speed-wait 0 --runs 1 --only compute,native --out "$tmp/s4"
expect "speed gate: --speed-wait 0 never runs the probe" "0 no" \
    "$? $([[ -e $SPEED_LOG ]] && echo yes || echo no)"
expect "speed gate: --speed-wait 0 leaves the columns empty" "/" "$(speed_cols "$tmp/s4/compute-runs.csv")"
expect "speed gate: --speed-wait 0: no host-speed line" 0 "$(grep -c 'host speed' "$tmp/s4/results.md")"
HOST_SPEED=$tmp/no-probe SPEED_WAIT=5 bench --runs 1 --only compute,native --out "$tmp/s5"
expect "speed gate: a missing probe is not a failure" 0 $?
expect_grep "speed gate: ... but is said" '^- host speed: not checked \(not built: .*/no-probe' "$tmp/s5/results.md"
bench --speed-wait x
expect "speed gate: --speed-wait wants seconds" 2 $?

# The real probe, if a C compiler is here: its line, and a usage error.
if command -v "${CC:-gcc}" >/dev/null && "${CC:-gcc}" -std=c17 -O2 -o "$tmp/hs" "$perf_dir/host_speed.c" 2>"$tmp/hs.err"; then
    line=$("$tmp/hs" -n 20 -i 1000)
    re='^min_ns=([0-9]+) p10_ns=([0-9]+) median_ns=([0-9]+) max_ns=([0-9]+) chunks=20 iters=1000$'
    if [[ $line =~ $re ]] && ((BASH_REMATCH[1] > 0 && BASH_REMATCH[1] <= BASH_REMATCH[2] &&
        BASH_REMATCH[2] <= BASH_REMATCH[3] && BASH_REMATCH[3] <= BASH_REMATCH[4])); then
        ok "host_speed.c: min <= p10 <= median <= max, the work asked for"
    else
        not_ok "host_speed.c: min <= p10 <= median <= max, the work asked for" "$line"
    fi
    "$tmp/hs" -n 0 2>/dev/null
    expect "host_speed.c: -n 0 is a usage error" 2 $?
else
    ok "host_speed.c: # SKIP no C compiler"
fi

# --callgrind with a stand-in valgrind: dumps every 10 "instructions" per
# output byte (tpvm) or line (native), after 500 of start-up.
cat >"$tmp/valgrind" <<'EOF'
#!/bin/bash
base="${0%/*}/no-out-file" triggers=() # a probe without --callgrind-out-file
while [[ $1 == --* ]]; do
    case $1 in
    --callgrind-out-file=*) base=${1#*=} ;;
    --dump-before=*) triggers+=("${1#*=}") ;;
    esac
    shift
done
"$@" >"$base.stdout"
status=$?
cat "$base.stdout"
n=0
part() { n=$((n + 1)); printf 'part: %d\ndesc: Trigger: %s\nsummary: %d\n' "$n" "$1" "$2" >"$base.$n"; }
[[ " ${triggers[*]} " != *" vm_run "* ]] || part --dump-before=vm_run 500
if [[ " ${triggers[*]} " == *" chardev_putc "* ]]; then
    for ((b = 0; b < $(wc -c <"$base.stdout"); b++)); do part --dump-before=chardev_putc 10; done
else
    for ((l = 0; l < $(wc -l <"$base.stdout"); l++)); do part --dump-before=write 10; done
fi
printf 'part: %d\ndesc: Trigger: Program termination\nsummary: 1\n' $((n + 1)) >"$base"
exit $status
EOF
chmod +x "$tmp/valgrind"
PATH=$tmp:$PATH bench --callgrind --only compute --out "$tmp/cg"
expect "bench --callgrind: exit 0" 0 $?
# crc32's line: 'RESULT name=crc32 cycles=2000 check=cafe0001\r\n' = 46 bytes.
expect_grep "bench --callgrind: Ir per kernel line, native by line" \
    '^\| crc32 \| 1 \| 10 \| n/a \| 460 \(460–460\) \| n/a \| 46\.0× \|$' "$tmp/cg/results.md"
expect_grep "bench --callgrind: two runs agree" '^Run-to-run difference of the tpvm counts .*All under 3%\.' "$tmp/cg/results.md"
expect_grep "bench --callgrind: QEMU is not measured" 'QEMU\*\* \(qemu\): unavailable — not measured under callgrind' "$tmp/cg/results.md"


# ---- install-bench ships every script bench.sh runs
missing=""
for f in $(grep -o '\$perf_dir/[a-z_]*\.\(awk\|gp\)' "$perf_dir/bench.sh" | sort -u); do
    f=${f#\$perf_dir/}
    sed -n '/^BENCH_SCRIPTS :=/,/^$/p' "$perf_dir/perf.mk" | grep -q "perf/$f" || missing+=" $f"
done
expect "perf.mk: BENCH_SCRIPTS (install-bench) has every script bench.sh runs" "" "$missing"

finish
