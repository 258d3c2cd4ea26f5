#!/usr/bin/env bash
# Tests of the bench harness itself (`make check` runs it): the awk parsers
# and report on known inputs, and bench.sh end to end with stand-in
# programs in a temporary directory. Needs no guest, QEMU or tpvm.
set -uo pipefail

perf_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    [[ -z ${2:-} ]] || sed 's/^/#   /' <<<"$2"
}

# expect NAME WANT GOT: GOT must equal WANT.
expect() {
    if [[ $3 == "$2" ]]; then ok "$1"; else not_ok "$1" "want: $2"$'\n'"got:  $3"; fi
}

# expect_line NAME LINE FILE: FILE must hold LINE exactly.
expect_line() {
    if grep -qxF -- "$2" "$3"; then ok "$1"; else not_ok "$1" "no line: $2"$'\n'"$(cat "$3")"; fi
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
printf 'hello\ncompute: done\n' | parse >/dev/null
expect "parse: no RESULT line is exit 2" 2 $?
printf 'RESULT name=a cycles=12k check=1\ncompute: done\n' | parse >/dev/null
expect "parse: non-numeric cycles is exit 1" 1 $?
printf 'RESULT name=a cycles=1\ncompute: done\n' | parse >/dev/null
expect "parse: missing key is exit 1" 1 $?
printf 'RESULT name=a cycles=1 check=1\nRESULT name=a cycles=2 check=1\ncompute: done\n' | parse >/dev/null
expect "parse: duplicate name is exit 1" 1 $?

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

# ---- report_md.awk
# Kernel k1: native 100, QEMU 1000, tpvm 500 -> 2x, 20%. k2: native 100,
# QEMU 800, tpvm 100 -> 8x, 100%. k3: 100, 100, 100 -> 1x, 100%. Run 3 of
# tpvm failed: its huge numbers must not count.
{
    echo "workload,run,path,wall_us,exit_status,ok,why"
    for r in 1 2 3; do
        echo "w,$r,native,$((1000 * r)),0,1,"
        echo "w,$r,qemu,$((2000000 + 1000 * r)),1,1,"
        echo "w,$r,tpvm,$((1000000 * r)),1,$((r < 3)),"
    done
} >"$tmp/runs.csv"
{
    echo "workload,run,path,name,cycles,check"
    for r in 1 2 3; do
        n=$((r == 2 ? 110 : r == 3 ? 90 : 100)) # median 100
        echo "w,$r,native,k1,$n,1"
        echo "w,$r,native,k2,100,2"
        echo "w,$r,native,k3,100,3"
        echo "w,$r,qemu,k1,$((r == 2 ? 1200000 : 1000)),1"
        echo "w,$r,qemu,k2,800,2"
        echo "w,$r,qemu,k3,100,3"
        t=$((r == 3 ? 9999999 : 500))
        echo "w,$r,tpvm,k1,$t,1"
        echo "w,$r,tpvm,k2,$((r == 3 ? 9999999 : 100)),2"
        echo "w,$r,tpvm,k3,$((r == 3 ? 9999999 : 100)),3"
    done
} >"$tmp/res.csv"
awk -F, -v paths=native,qemu,tpvm -v labels=native,QEMU,tpvm -v metric=cycles \
    -v ratios='tpvm/QEMU=qemu/tpvm:x;tpvm % of native=native/tpvm:%' \
    -v wall_ratios='tpvm/QEMU=qemu/tpvm:x' -v range_paths='qemu tpvm' \
    -f "$perf_dir/report_md.awk" "$tmp/runs.csv" "$tmp/res.csv" >"$tmp/report.md"
expect "report: exits 0" 0 $?
expect_line "report: ok-run counts" "Ok runs: native 3/3, QEMU 3/3, tpvm 2/3." "$tmp/report.md"
expect_line "report: medians, ranges (k/M), ratios" \
    "| k1 | 100 | 1000 (1000–1.20M) | 500 (500–500) | 2.00× | 20% |" "$tmp/report.md"
expect_line "report: second kernel" "| k2 | 100 | 800 (800–800) | 100 (100–100) | 8.00× | 100% |" "$tmp/report.md"
# geomean of 2, 8, 1 = 16^(1/3) = 2.52; of 0.2, 1, 1 = 58.5%. Medians 2 and 100%.
expect_line "report: geometric mean" "| **geometric mean** | | | | **2.52×** | **58%** |" "$tmp/report.md"
expect_line "report: median kernel" "| **median kernel** | | | | **2.00×** | **100%** |" "$tmp/report.md"
expect_line "report: wall medians" "| tpvm | 1.500 s | 1.000–2.000 s |" "$tmp/report.md"
expect_line "report: wall ratio" "**tpvm/QEMU (wall)** = QEMU wall ÷ tpvm wall: **1.33×**" "$tmp/report.md"
awk -F, -v paths=native -v labels=native -v metric=cycles \
    -v ratios='tpvm/QEMU=qemu/tpvm:x' -v wall_ratios='tpvm/QEMU=qemu/tpvm:x' \
    -f "$perf_dir/report_md.awk" "$tmp/runs.csv" "$tmp/res.csv" >"$tmp/native.md"
if grep -q 'tpvm/QEMU\|QEMU' "$tmp/native.md"; then
    not_ok "report: paths not run have no columns or ratios" "$(cat "$tmp/native.md")"
else
    ok "report: paths not run have no columns or ratios"
fi

# ---- bench.sh end to end, with stand-ins that print what the guest would.
cat >"$tmp/standin" <<'EOF'
#!/bin/sh
# Prints RESULT lines scaled by $1 with check $2, exits with $3.
printf 'RESULT name=crc32 cycles=%d check=%s\r\n' $((1000 * $1)) "$2"
printf 'RESULT name=sieve cycles=%d check=0000002a\r\n' $((3000 * $1))
printf 'compute: done\r\n'
exit "$3"
EOF
printf '#!/bin/sh\nexec "%s" 1 cafe0001 0\n' "$tmp/standin" >"$tmp/native"
printf '#!/bin/sh\nexec "%s" 6 cafe0001 1\n' "$tmp/standin" >"$tmp/qemu"
printf '#!/bin/sh\nexec "%s" 2 cafe0001 1\n' "$tmp/standin" >"$tmp/tpvm"
printf '#!/bin/sh\nexec "%s" 2 badbad01 1\n' "$tmp/standin" >"$tmp/tpvm-wrong"
touch "$tmp/guest.elf"
chmod +x "$tmp"/standin "$tmp"/native "$tmp"/qemu "$tmp"/tpvm "$tmp"/tpvm-wrong
bench() {
    BENCH_NATIVE_COMPUTE=$tmp/native BENCH_QEMU=$tmp/qemu BENCH_COMPUTE_ELF=$tmp/guest.elf \
        "$perf_dir/bench.sh" "$@" >"$tmp/bench.out" 2>"$tmp/bench.err"
}
BENCH_TPVM=$tmp/tpvm bench --runs 2 --out "$tmp/b1"
expect "bench: all paths agree, exit 0" 0 $?
expect "bench: runs interleave native, qemu, tpvm" "native qemu tpvm native qemu tpvm" \
    "$(awk -F, 'NR > 1 { printf "%s%s", sep, $3; sep = " " }' "$tmp/b1/compute-runs.csv")"
expect "bench: a CSV row per run, path and kernel" 12 \
    "$(($(wc -l <"$tmp/b1/compute-results.csv") - 1))"
expect_line "bench: table in results.md" \
    "| crc32 | 1000 | 6000 (6000–6000) | 2000 (2000–2000) | 3.00× | 50% |" "$tmp/b1/results.md"
expect "bench: progress on stderr" 1 "$(grep -c '^\[run 2/2\] tpvm' "$tmp/bench.err")"
BENCH_TPVM=$tmp/tpvm-wrong bench --runs 1 --only native,tpvm --out "$tmp/b2"
expect "bench: a check mismatch fails the bench" 1 $?
expect "bench: the mismatch is said on stderr" 1 "$(grep -c 'CHECK MISMATCH: compute/crc32: tpvm run 1' "$tmp/bench.err")"
BENCH_TPVM=$tmp/native bench --runs 1 --only tpvm --out "$tmp/b3"
expect "bench: a wrong exit status fails the bench" 1 $?
BENCH_TPVM=$tmp/tpvm bench --only nosuch
expect "bench: unknown --only path is a usage error" 2 $?

echo "$passed passed, $failed failed"
((failed == 0))
