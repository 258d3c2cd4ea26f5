#!/usr/bin/env bash
# Benchmark harness behind `make bench`: runs each workload on each path
# (host-native, QEMU TCG, tpvm) in interleaved rounds, checks that every
# path computes the same results, and reports medians and speed ratios.
#
# Shape, so new workloads and paths slot in: a workload function (see
# workload_compute) registers its paths as (name, label, expected exit
# status, description, command) and names the RESULT keys it prints.
# Everything else is generic: running and timing (run_rounds), parsing
# RESULT lines (parse_results.awk), check agreement (check_agree.awk) and
# the report (report_md.awk), all driven by those few settings.
# shellcheck disable=SC2317 # workload_* functions are called by name
set -euo pipefail

perf_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$perf_dir/.." && pwd)

usage() {
    cat <<EOF
usage: perf/bench.sh [--runs N] [--only PATH,...] [--out DIR]

  --runs N      runs per path (default 5, or \$BENCH_RUNS)
  --only LIST   comma-separated paths to run: native,qemu,tpvm (default all)
  --out DIR     where to write results.md, the CSVs and the logs
                (default build/bench/<timestamp>; build/bench/latest points there)

Environment (\`make bench\` sets the first four; defaults in brackets):
  BENCH_QEMU            [QEMU from config.mk, else qemu-system-i386]
  BENCH_TPVM            [build/tpvm]
  BENCH_COMPUTE_ELF     [build/guests/compute.elf]
  BENCH_NATIVE_COMPUTE  [build/perf/native-compute]
  BENCH_TIMEOUT         seconds before one run is killed [300]

Exit status: 0 all runs complete and all check values agree; 1 otherwise;
2 usage or setup error.
EOF
}

die() {
    echo "bench: $*" >&2
    exit 2
}

# Value of VAR in config.mk ("VAR = x", "VAR := x"), or nothing.
config_value() {
    [[ -r $root/config.mk ]] || return 0
    sed -n "s/^$1[[:space:]]*[:?]*=[[:space:]]*//p" "$root/config.mk" | tail -n 1
}

# Microseconds since the epoch; EPOCHREALTIME's separator follows the locale.
now_us() {
    local t=$EPOCHREALTIME
    echo "${t//[!0-9]/}"
}

# "a,b,c" from the arguments.
join_commas() {
    local IFS=,
    echo "$*"
}

# ---- paths -----------------------------------------------------------------
# Parallel arrays, one entry per path of the current workload, in run order.
reset_paths() {
    path_names=()
    path_labels=()
    path_status=() # exit status of a complete run
    path_descs=()  # one line for the report: what this path is
    path_cmds=()   # the command, %q-quoted so arguments may hold spaces
}

add_path() {
    local name=$1 label=$2 status=$3 desc=$4
    shift 4
    path_names+=("$name")
    path_labels+=("$label")
    path_status+=("$status")
    path_descs+=("$desc")
    path_cmds+=("$(printf '%q ' "$@")")
}

# Keep only the paths in the comma-separated list $1 (all if empty).
select_paths() {
    local only=$1 w i
    [[ -n $only ]] || return 0
    local -a wanted keep=()
    IFS=, read -r -a wanted <<<"$only"
    for w in "${wanted[@]}"; do
        [[ " ${path_names[*]} " == *" $w "* ]] ||
            die "--only: $workload has no path '$w' (it has: ${path_names[*]})"
    done
    for i in "${!path_names[@]}"; do
        [[ ",$only," == *",${path_names[i]},"* ]] && keep+=("$i")
    done
    local -a n=() l=() s=() d=() c=()
    for i in "${keep[@]}"; do
        n+=("${path_names[i]}") l+=("${path_labels[i]}") s+=("${path_status[i]}")
        d+=("${path_descs[i]}") c+=("${path_cmds[i]}")
    done
    path_names=("${n[@]}") path_labels=("${l[@]}") path_status=("${s[@]}")
    path_descs=("${d[@]}") path_cmds=("${c[@]}")
}

# Every program and guest image must exist before we spend minutes on runs.
check_programs() {
    local i arg
    local -a cmd
    for i in "${!path_names[@]}"; do
        eval "cmd=(${path_cmds[i]})"
        if [[ ${cmd[0]} == */* ]]; then
            [[ -x ${cmd[0]} ]] || die "${path_names[i]}: ${cmd[0]} is not built (try make bench)"
        else
            command -v "${cmd[0]}" >/dev/null || die "${path_names[i]}: ${cmd[0]} not found"
        fi
        for arg in "${cmd[@]:1}"; do
            if [[ $arg == *.elf && ! -r $arg ]]; then
                die "${path_names[i]}: $arg is not built (try make bench)"
            fi
        done
    done
}

# ---- workloads -------------------------------------------------------------
# A workload function sets:
#   workload      its name (prefix of its CSV files)
#   done_marker   the line a complete run prints last
#   result_keys   RESULT keys, in CSV column order; the first names the row
#   numeric_keys  keys whose values must be numbers
#   metric        the key the table compares (smaller is faster)
#   check_key     the key whose value must agree across paths and runs
#   ratios, wall_ratios, range_paths   what the table shows (report_md.awk)
# and registers its paths with add_path, in the order each round runs them.

# Compute kernels (guest-stubs/compute/) under QEMU and tpvm, and the same
# kernels.c built for the host (perf/native_compute.c).
workload_compute() {
    workload=compute
    done_marker='compute: done'
    result_keys='name cycles check'
    numeric_keys='cycles'
    metric=cycles
    check_key=check
    ratios='tpvm/QEMU=qemu/tpvm:x;tpvm % of native=native/tpvm:%'
    wall_ratios='tpvm/QEMU=qemu/tpvm:x'
    range_paths='qemu tpvm'
    add_path native native 0 "kernels.c built for x86-64 (gcc -O2), run on the host" \
        "$native_compute"
    # isa-debug-exit turns the guest's exit value v into status (v<<1)|1;
    # the compute guest writes 0.
    add_path qemu QEMU 1 "$qemu, TCG (software translation)" "$qemu" \
        -kernel "$compute_elf" -display none -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot -m 256
    add_path tpvm tpvm 1 "$tpvm, binary translation" "$tpvm" -m 256 "$compute_elf"
}

# ---- running ---------------------------------------------------------------
# One run of path index $2 in round $1: time it, parse it, record it.
run_one() {
    local round=$1 i=$2
    local name=${path_names[i]}
    local log=$out/logs/$workload-$name-$round
    local -a cmd
    eval "cmd=(${path_cmds[i]})"
    printf '[run %d/%d] %-6s ... ' "$round" "$runs" "$name" >&2

    # stdin from /dev/null: QEMU's -serial stdio would otherwise grab the tty.
    local t0 t1 status=0
    t0=$(now_us)
    timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null \
        >"$log.out" 2>"$log.err" || status=$?
    t1=$(now_us)
    local wall_us=$((t1 - t0))

    local why="" rows parse_status=0
    rows=$(awk -v prefix="$workload,$round,$name" -v keys="$result_keys" \
        -v numeric="$numeric_keys" -v done="$done_marker" \
        -f "$perf_dir/parse_results.awk" "$log.out" 2>"$log.parse") ||
        parse_status=$?
    if ((status == 124 || status == 137)); then
        why="timed out after ${timeout_s}s"
    elif ((status != path_status[i])); then
        why="exit status $status, expected ${path_status[i]}"
    elif ((parse_status != 0)); then
        why=$(head -n 1 "$log.parse")
    fi
    if [[ ! -s $log.parse ]]; then
        rm -f "$log.parse"
    fi
    if [[ -n $rows ]]; then
        echo "$rows" >>"$results_csv"
    fi
    local ok=1
    if [[ -n $why ]]; then
        ok=0
    fi
    echo "$workload,$round,$name,$wall_us,$status,$ok,${why//,/;}" >>"$runs_csv"

    printf '%d.%03d s' $((wall_us / 1000000)) $((wall_us / 1000 % 1000)) >&2
    if ((ok)); then
        printf ', %d results\n' "$(grep -c . <<<"$rows")" >&2
    else
        failed_runs=$((failed_runs + 1))
        printf '\n*** FAILED: %s run %d: %s (output in %s.out, %s.err)\n' \
            "$name" "$round" "$why" "$log" "$log" >&2
    fi

    # Say at once when this run disagrees with what came before.
    if ! awk -F, -v key="$check_key" -v run="$workload,$round,$name" \
        -f "$perf_dir/check_agree.awk" "$results_csv" >"$log.check"; then
        sed 's/^/*** CHECK MISMATCH: /' "$log.check" >&2
    fi
    rm -f "$log.check"
}

# All rounds of the current workload, interleaved: in each round every path
# runs once, so slow drift in the machine's load hits all paths alike.
run_rounds() {
    results_csv=$out/$workload-results.csv # a row per run, path and RESULT line
    runs_csv=$out/$workload-runs.csv       # a row per run and path
    echo "workload,run,path,${result_keys// /,}" >"$results_csv"
    echo "workload,run,path,wall_us,exit_status,ok,why" >"$runs_csv"
    local round i
    for ((round = 1; round <= runs; round++)); do
        for i in "${!path_names[@]}"; do
            run_one "$round" "$i"
        done
    done
}

# ---- reporting -------------------------------------------------------------
# The machine and sources the numbers came from.
report_header() {
    local commit cpu qemu_version
    commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)
    commit=${commit:-$(config_value GIT_COMMIT)}
    if [[ -n $(git -C "$root" status --porcelain 2>/dev/null | head -n 1) ]]; then
        commit="${commit:-no commit} (work tree modified)"
    fi
    cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
    qemu_version=$("$qemu" --version 2>/dev/null | head -n 1 || true)
    echo "# tpvm bench"
    echo
    echo "- started $started; runs per path: $runs, interleaved"
    echo "- host: $(uname -srm), ${cpu:-unknown CPU}, $(nproc) cores; load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- tpvm commit: ${commit:-unknown}; ${qemu_version:-QEMU version unknown}"
}

# The current workload's section: failures first, then the tables.
report_workload() {
    local i check_report=$out/$workload-check.txt
    echo
    echo "## $workload"
    echo
    for i in "${!path_names[@]}"; do
        echo "- **${path_labels[i]}**: ${path_descs[i]}"
    done
    echo
    if ! awk -F, -v key="$check_key" -f "$perf_dir/check_agree.awk" \
        "$results_csv" >"$check_report"; then
        mismatches=$((mismatches + $(grep -c . "$check_report")))
        echo "**CHECK MISMATCH: the paths computed different results; the speeds below compare different work.**"
        echo
        echo '```'
        cat "$check_report"
        echo '```'
        echo
    else
        rm -f "$check_report"
    fi
    if awk -F, 'NR > 1 && $6 != 1 { bad = 1 } END { exit !bad }' "$runs_csv"; then
        echo "**FAILED RUNS: these did not complete and are left out of the numbers below.**"
        echo
        awk -F, 'NR > 1 && $6 != 1 { print "- " $3 " run " $2 ": " $7 }' "$runs_csv"
        echo
    fi
    awk -F, -v paths="$(join_commas "${path_names[@]}")" \
        -v labels="$(join_commas "${path_labels[@]}")" \
        -v metric="$metric" -v ratios="$ratios" -v wall_ratios="$wall_ratios" \
        -v range_paths="$range_paths" -f "$perf_dir/report_md.awk" \
        "$runs_csv" "$results_csv"
}

# ---- main ------------------------------------------------------------------
runs=${BENCH_RUNS:-5}
only=""
out=""
while (($#)); do
    case $1 in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --only) only=${2:?--only needs a list}; shift 2 ;;
    --only=*) only=${1#*=}; shift ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer, not '$runs'"
timeout_s=${BENCH_TIMEOUT:-300}

cd "$root"
qemu=${BENCH_QEMU:-$(config_value QEMU)}
qemu=${qemu:-$(command -v qemu-system-i386 || echo qemu-system-i386)}
tpvm=${BENCH_TPVM:-build/tpvm}
compute_elf=${BENCH_COMPUTE_ELF:-build/guests/compute.elf}
native_compute=${BENCH_NATIVE_COMPUTE:-build/perf/native-compute}

workloads=(compute)

# Set every workload up before running any, so a missing build fails fast.
for w in "${workloads[@]}"; do
    reset_paths
    "workload_$w"
    select_paths "$only"
    check_programs
done

default_out=0
if [[ -z $out ]]; then
    out=build/bench/$(date +%Y%m%d-%H%M%S)
    default_out=1
fi
mkdir -p "$out/logs"
started=$(date '+%Y-%m-%d %H:%M:%S %z')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
failed_runs=0
mismatches=0
sections=$out/.sections.md
: >"$sections"

for w in "${workloads[@]}"; do
    reset_paths
    "workload_$w"
    select_paths "$only"
    run_rounds
    report_workload >>"$sections"
done

results_md=$out/results.md
{
    report_header
    cat "$sections"
} >"$results_md"
rm -f "$sections"
if ((default_out)); then
    ln -sfn "$(basename "$out")" "$(dirname "$out")/latest"
fi

echo >&2
cat "$results_md"
echo
echo "bench: results in $out/ (results.md, *-results.csv, *-runs.csv, logs/)"

status=0
if ((mismatches > 0)); then
    echo "*** bench FAILED: $mismatches check value(s) disagree across paths; see $out/results.md" >&2
    status=1
fi
if ((failed_runs > 0)); then
    echo "*** bench FAILED: $failed_runs run(s) did not complete; see $out/results.md and $out/logs/" >&2
    status=1
fi
exit "$status"
