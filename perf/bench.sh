#!/usr/bin/env bash
# Benchmark harness behind `make bench`, `make bench-callgrind` and the
# installed `tpvm-bench`: runs every workload (compute kernels, mini-OS,
# Linux) on every path (host-native, QEMU TCG, tpvm BT, tpvm PV) in
# interleaved rounds, checks that all paths compute the same results, and
# writes medians, ratios, tpvm's counters and a plot to a results folder.
#
# Shape, so new workloads and paths slot in: a workload function (see
# workload_compute) sets a few variables and registers its paths as (name,
# label, expected exit status, description, expected output, command).
# Everything else is generic: running and timing (run_rounds), RESULT
# lines (parse_results.awk), check agreement (check_agree.awk), tpvm's
# --stats=json (json_flatten.awk), the report (report.awk) and the plot
# (plot.gp). --callgrind swaps timing for host instruction counts
# (callgrind_lines.awk).
# shellcheck disable=SC2317 # workload_* functions are called by name
set -euo pipefail

perf_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$perf_dir/.." && pwd)

usage() {
    cat <<EOF
usage: ${BENCH_NAME:-perf/bench.sh} [options]

Runs the compute kernels, the mini-OS workloads and the Linux guest on
each path (native, qemu, tpvm-bt, tpvm-pv) and reports per-op cost,
ratios and tpvm's counters; results go to a new folder.

  --runs N          runs per path for compute and mini-OS (default 5, or
                    \$BENCH_RUNS)
  --launches K      launches (new processes) per compute and mini-OS run,
                    each RESULT the fewest cycles of any (default 3, or
                    \$BENCH_LAUNCHES; perf/README.md says why)
  --linux-runs N    runs per path for Linux (default 5, or \$BENCH_LINUX_RUNS)
  --only LIST       comma-separated workloads (compute, minios, linux) and/or
                    paths (native, qemu, tpvm-bt, tpvm-pv; tpvm = both) to run
  --skip LIST       the same, to leave out (e.g. --skip linux)
  --out DIR         results folder (default <base>/<timestamp>, where base
                    is \$BENCH_OUT_BASE or build/bench; <base>/latest links it)
  --callgrind       count host instructions with valgrind's callgrind
                    instead of timing (2 runs per path, or --runs N): tpvm
                    (and native) on compute and mini-OS
  --quiet-wait S    before each run, wait up to S seconds for the host to be
                    idle (other processes below 25% of a core; default 30,
                    at most 600 in all; 0 = never wait)
  --speed-wait S    before each run, wait up to S seconds for the host's CPU
                    to run at full speed (the median chunk of a short busy
                    loop within 20% of the best seen; default 20, at most
                    \$BENCH_SPEED_BUDGET [300] in all; 0 = off; or
                    \$BENCH_SPEED_WAIT)
  --no-plot         do not draw the plot
  -h, --help        this help

Environment (\`make bench\` sets the paths; defaults in brackets):
  BENCH_TPVM [build/tpvm]  BENCH_QEMU [QEMU of config.mk, else qemu-system-i386]
  BENCH_COMPUTE_ELF [build/guests/compute.elf]
  BENCH_NATIVE_COMPUTE [build/perf/native-compute]
  BENCH_HOST_SPEED [host-speed next to the native compute binary]
  BENCH_MINIOS_ELF [build/guests/minios.elf]  BENCH_LINUX_DIR [build/linux]
  BENCH_TIMEOUT  seconds before one run is killed [300; 3600 under callgrind]
  BENCH_PROGRESS tty|plain: the live progress line or one line per run [auto]

Exit status: 0 every run that could run completed and all check values
agree; 1 otherwise; 2 usage or setup error. Workloads that are not built
and paths that are not available are reported, not failed.
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

# Microseconds since the epoch, without a fork; EPOCHREALTIME's separator
# follows the locale.
now_us() {
    local t=$EPOCHREALTIME
    echo "${t//[!0-9]/}"
}

join_by() { # SEP WORDS...
    local sep=$1 s="" w
    shift
    for w in "$@"; do s+="${s:+$sep}$w"; done
    echo "$s"
}

# An absolute path (the file need not exist).
absolute() {
    case $1 in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
    esac
}

mmss() { # seconds -> m:ss
    printf '%d:%02d' $(($1 / 60)) $(($1 % 60))
}

seconds_text() { # microseconds -> "1.2 s"
    printf '%d.%d s' $(($1 / 1000000)) $(($1 / 100000 % 10))
}

us_text() { # nanoseconds -> "58.1 µs"
    printf '%d.%d µs' $(($1 / 1000)) $(($1 / 100 % 10))
}

# ---- selection: --only / --skip --------------------------------------------
known_workloads=(compute minios linux)
known_paths=(native qemu tpvm-bt tpvm-pv)
# shellcheck disable=SC2034 # read through namerefs (selected) and eval
only_w=() only_p=() skip_w=() skip_p=()

# Sorts LIST (from option $1) into workloads and paths, into arrays $2, $3.
parse_selection() {
    local opt=$1 list=$2 wvar=$3 pvar=$4 item
    local -a items
    IFS=, read -r -a items <<<"$list"
    for item in "${items[@]}"; do
        [[ -n $item ]] || continue
        if [[ " ${known_workloads[*]} " == *" $item "* ]]; then
            eval "$wvar+=(\"\$item\")"
        elif [[ $item == tpvm ]]; then
            eval "$pvar+=(tpvm-bt tpvm-pv)"
        elif [[ " ${known_paths[*]} " == *" $item "* ]]; then
            eval "$pvar+=(\"\$item\")"
        else
            die "$opt: unknown workload or path '$item' (workloads: ${known_workloads[*]}; paths: ${known_paths[*]}, tpvm)"
        fi
    done
}

selected() { # KIND(w|p) NAME
    local -n only=only_$1 skip=skip_$1
    if ((${#only[@]})) && [[ " ${only[*]} " != *" $2 "* ]]; then return 1; fi
    if ((${#skip[@]})) && [[ " ${skip[*]} " == *" $2 "* ]]; then return 1; fi
    return 0
}

# ---- workloads and their paths ---------------------------------------------
# A workload function sets:
#   workload, title   its name (prefix of its files) and one line about it
#   row_word          what one table row is ("kernel", "workload")
#   unit, metric      "cycles" or "us", and the RESULT key compared
#   ops_key           RESULT key with the operation count ("" = none)
#   result_keys       RESULT keys, in CSV column order; the first names the row
#   numeric_keys      keys whose values must be numbers
#   check_key         the key whose value must agree across paths and runs
#   done_marker       the line a complete run prints last ("" = none)
#   ready_marker      a line whose arrival time is measured ("" = none)
#   rounds            runs per path
# and registers its paths with add_path, or calls not_built.
reset_workload() {
    workload="" title="" row_word=kernel unit=cycles metric="" ops_key=""
    result_keys="" numeric_keys="" check_key=check done_marker="" ready_marker=""
    rounds=$runs skip_reason=""
    path_names=() path_labels=() path_status=() path_descs=() path_expect=()
    path_cmds=() path_avail=() path_notes=() path_done=() path_defaults=()
}

# add_path NAME LABEL EXIT-STATUS DESCRIPTION EXPECT COMMAND...
# EXPECT: an extended regex some output line must match ("" = none).
# In COMMAND, @STATS@ becomes the run's --stats=json file.
add_path() {
    local name=$1 label=$2 status=$3 desc=$4 expect=$5
    shift 5
    selected p "$name" || return 0
    path_names+=("$name")
    path_labels+=("$label")
    path_status+=("$status")
    path_descs+=("$desc")
    path_expect+=("$expect")
    path_cmds+=("$(printf '%q ' "$@")")
    path_done+=("$done_marker")
    path_defaults+=("")
    local note=""
    note=$(program_missing "$1" || true)
    if ((callgrind)) && [[ $name == qemu ]]; then
        note="not measured under callgrind (only tpvm and native are)"
    fi
    if [[ -z $note && $name == tpvm-pv ]]; then
        note=$(tpvm_pv_missing || true)
    fi
    path_avail+=("$([[ -z $note ]] && echo 1 || echo 0)")
    path_notes+=("$note")
}

# The path just added prints another program's lines: its done line
# begins with DONE, and DEFAULTS (see parse_results.awk) fill the keys its
# RESULT lines lack.
adapt_last_path() { # DONE DEFAULTS
    local n=${#path_names[@]}
    ((n)) || return 0
    path_done[n - 1]=$1
    path_defaults[n - 1]=$2
}

# Prints why program $1 cannot run, or nothing.
program_missing() {
    if [[ $1 == */* ]]; then
        [[ -x $1 ]] || { echo "not built: $1"; return 0; }
    else
        command -v "$1" >/dev/null || { echo "not installed: $1"; return 0; }
    fi
    return 1
}

# Prints why tpvm has no PV path, or nothing (main asked tpvm once).
tpvm_pv_missing() {
    [[ -n $pv_probe ]] && echo "tpvm answers: ${pv_probe#tpvm: }"
}

# The workload cannot run: say why (never silently).
not_built() {
    skip_reason=$1
}

# shellcheck disable=SC2054 # the commas belong to QEMU's -device syntax
qemu_args=(-display none -serial stdio -no-reboot
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 256)

# Compute kernels (guest-stubs/compute/) and the same kernels.c built for
# the host (perf/native_compute.c).
workload_compute() {
    workload=compute
    title="compute kernels (guest-stubs/compute): one RESULT per kernel run; native = the same C for x86-64"
    row_word=kernel unit=cycles metric=cycles
    result_keys='name cycles check' numeric_keys=cycles done_marker='compute: done'
    [[ -r $compute_elf ]] || { not_built "not built: $compute_elf (make guests)"; return; }
    add_path native native 0 "kernels.c built for x86-64 (gcc -O2), run on the host" "" \
        "$native_compute"
    # isa-debug-exit turns the guest's exit value v into status (v<<1)|1;
    # the guest writes 0.
    add_path qemu QEMU 1 "$qemu_desc" "" "$qemu" -kernel "$compute_elf" "${qemu_args[@]}"
    add_path tpvm-bt BT 1 "tpvm --mode bt: binary translation" "" \
        "$tpvm" --mode bt -m 256 --stats=json:@STATS@ "$compute_elf"
    add_path tpvm-pv PV 1 "tpvm --mode pv: VMI ROM mapped (this guest does not call it)" "" \
        "$tpvm" --mode pv -m 256 --stats=json:@STATS@ "$compute_elf"
}

# The mini-OS (guest-stubs/minios/): lmbench-style workloads, each with its
# operation count and cycles per operation; it says which path it took.
workload_minios() {
    workload=minios
    title="mini-OS (guest-stubs/minios): lmbench-style kernel workloads, cycles per operation; the same ELF on every path"
    row_word=workload unit=cycles metric=per_op_cycles ops_key=ops
    result_keys='name ops per_op_cycles check' numeric_keys='ops per_op_cycles'
    done_marker='minios: done' 
    [[ -r $minios_elf ]] || { not_built "not built: $minios_elf (guest-stubs/minios)"; return; }
    # Its compute kernels are guest-stubs/compute's: those rows have a
    # native equivalent, the compute workload's host build.
    if selected p native; then
        add_path native native 0 "the compute kernels built for x86-64 (perf/native_compute.c); other workloads have no native equivalent" "" \
            "$native_compute"
        adapt_last_path 'compute: done' 'ops=1 per_op_cycles=@cycles'
    fi
    add_path qemu QEMU 1 "$qemu_desc" '^minios: path=native' \
        "$qemu" -kernel "$minios_elf" "${qemu_args[@]}"
    add_path tpvm-bt BT 1 "tpvm --mode bt: binary translation, no ROM" '^minios: path=native' \
        "$tpvm" --mode bt -m 256 --stats=json:@STATS@ "$minios_elf"
    add_path tpvm-pv PV 1 "tpvm --mode pv: the guest finds the VMI ROM and calls it" '^minios: path=vmi' \
        "$tpvm" --mode pv -m 256 --stats=json:@STATS@ "$minios_elf"
}

# Debian's i386 kernel and a busybox initramfs (make linux-guest): time to
# the ready marker seen from the host, then each workload's own time.
workload_linux() {
    workload=linux
    title="Linux (Debian 12 i386 kernel + busybox initramfs, make linux-guest): boot to the ready marker, then each workload's time"
    row_word=workload unit=us metric=time_us
    result_keys='name time_us check' numeric_keys=time_us
    done_marker=TPVM-LINUX-DONE ready_marker=TPVM-LINUX-READY rounds=$linux_runs
    if [[ ! -r $linux_dir/vmlinuz || ! -r $linux_dir/initrd.img ]]; then
        not_built "no image: $linux_dir/vmlinuz and initrd.img (build it with make linux-guest, or set BENCH_LINUX_DIR)"
        return
    fi
    local append="console=ttyS0 earlyprintk=serial panic=-1 reboot=t nokaslr"
    # /init ends with reboot -f (reboot=t: a triple fault), which QEMU
    # -no-reboot and tpvm --no-reboot turn into exit status 0.
    add_path qemu QEMU 0 "$qemu_desc" "" "$qemu" -m 256 -kernel "$linux_dir/vmlinuz" \
        -initrd "$linux_dir/initrd.img" -append "$append" -display none \
        -serial stdio -no-reboot
    add_path tpvm-bt BT 0 "tpvm --mode bt (Linux has no VMI support, so no PV path)" "" \
        "$tpvm" --mode bt -m 256 --initrd "$linux_dir/initrd.img" --append "$append" \
        --no-reboot --stats=json:@STATS@ "$linux_dir/vmlinuz"
}

# The counters the report shows per tpvm path (flattened --stats=json names).
counter_keys="bt.tlb_fills bt.tlb_flushes bt.tlb_page_flushes bt.dispatch_lookups"
counter_keys+=" bt.exits_to_loop bt.jc_fills bt.chain_links bt.helper_calls bt.hypercalls"
counter_keys+=" bt.interrupts_delivered bt.exceptions_delivered bt.blocks_translated"
counter_keys+=" vmm.run_loop_iterations vmm.idle_time_us host.user_us host.sys_us"

# ---- progress ----------------------------------------------------------------
# One line per run; on a terminal, a live line that ticks while a run goes.
progress_begin() { # PATH ROUND LAUNCH LAUNCHES
    run_index=$((run_index + 1))
    progress_prefix=$(printf '[%*d/%d] %-7s %-7s run %d/%d' "${#total_runs}" "$run_index" \
        "$total_runs" "$workload" "$1" "$2" "$rounds")
    (($4 == 1)) || progress_prefix+=" launch $3/$4"
    if ((progress_tty)); then
        printf '\r\033[K%s ...' "$progress_prefix" >&2
    else
        printf '%s ... ' "$progress_prefix" >&2
    fi
}

progress_wait() { # JOB-PID
    local t0 now
    t0=$(now_us)
    while kill -0 "$1" 2>/dev/null; do
        if ((progress_tty)); then
            now=$(now_us)
            printf '\r\033[K%s  %.1f s  (elapsed %s%s)' "$progress_prefix" \
                "$(((now - t0) / 100000))e-1" "$(mmss $(((now - bench_t0) / 1000000)))" \
                "$(eta_text $((now - t0)))" >&2
        fi
        sleep 0.25
    done
}

progress_end() { # TEXT
    if ((progress_tty)); then
        printf '\r\033[K%s  %s\n' "$progress_prefix" "$1" >&2
    else
        printf '%s\n' "$1" >&2
    fi
}

# Remaining time, given the current run's elapsed microseconds: each
# planned run costs the mean wall time seen so far for its workload and
# path (or for its workload).
eta_text() {
    local j key left=0 known=1 w n est
    for ((j = run_index - 1; j < total_runs; j++)); do
        key=${plan[j]}
        w=${key%%/*}
        if [[ -n ${wall_sum[$key]:-} ]]; then
            est=$((wall_sum[$key] / wall_n[$key]))
        elif [[ -n ${wall_sum[$w]:-} ]]; then
            est=$((wall_sum[$w] / wall_n[$w]))
        else
            known=0 est=0
        fi
        if ((j == run_index - 1)); then
            est=$((est > $1 ? est - $1 : 0))
        fi
        left=$((left + est))
    done
    n=$((left / 1000000))
    ((n > 0 || known)) || return 0
    printf ', ~%s%s left' "$(mmss "$n")" "$( ((known)) || echo '+')"
}

# ---- a quiet host ------------------------------------------------------------
# Other processes on this 2-core shared machine slow a run by up to 2x. So
# before each run, wait (up to quiet_wait seconds, within a budget for the
# whole bench) until the host is idle: less than a quarter of a core busy
# over 0.3 s. The busy share seen last goes into the runs CSV.
cpu_times() { # -> "busy total" jiffies over all CPUs
    local _cpu user nice system idle iowait irq softirq steal rest
    read -r _cpu user nice system idle iowait irq softirq steal rest </proc/stat
    echo "$((user + nice + system + irq + softirq + steal)) $((user + nice + system + idle + iowait + irq + softirq + steal))"
}

# Sets host_busy to the busy cores x 100 over 0.3 s.
sample_busy() {
    local b0 t0 b1 t1
    read -r b0 t0 < <(cpu_times)
    sleep 0.3
    read -r b1 t1 < <(cpu_times)
    host_busy=$(((b1 - b0) * 100 * ncpus / (t1 - t0 > 0 ? t1 - t0 : 1)))
}

wait_quiet() {
    local waited=0
    host_busy=-1 quiet_waited=0
    ((quiet_wait > 0)) || return 0
    sample_busy
    while ((host_busy >= 25 && waited < quiet_wait && quiet_budget > 0)); do
        if ((progress_tty)); then
            printf '\r\033[K%s  waiting for a quiet host (%d%% of a core busy)' "$progress_prefix" "$host_busy" >&2
        fi
        sleep 1
        waited=$((waited + 1)) quiet_budget=$((quiet_budget - 1))
        sample_busy
    done
    ((host_busy < 25)) || busy_runs=$((busy_runs + 1))
    quiet_waited=$waited
}

# ---- the host's full speed ----------------------------------------------------
# The physical core under this VM's vCPU alternates between full speed and
# ~2.2x slower (another tenant on the sibling hyperthread) in phases of
# 0.1-2 ms, and for stretches of 0.5-10 s stays mostly slow. CPU time,
# steal time and /proc/stat do not show it, so wait_quiet cannot. The
# host-speed probe (perf/host_speed.c) can: it times a fixed register-only
# loop in ~60 us chunks for ~30 ms and prints the fastest and the median
# chunk. In a fast stretch the median chunk is within ~7% of the best
# median; in a slow one it is ~2.3x. So before each run (after wait_quiet)
# wait, up to speed_wait seconds and within a budget for the whole bench,
# while the median chunk is over speed_slow_pct% of full speed, and probe
# again after the run. Full speed is the fastest median chunk seen in the
# whole bench (the fastest single chunk is recorded too, but one lucky
# chunk runs ~20% under a quiet host's median, so it is not the yardstick).

# Runs the probe (ARGS: its options); sets speed_median and speed_min (ns)
# and lowers the full-speed marks. Returns 1 if it failed.
probe_speed() {
    local line
    speed_median="" speed_min=""
    line=$("${nice_cmd[@]}" "$host_speed" "$@" 2>/dev/null </dev/null) || return 1
    [[ $line =~ (^|[[:space:]])median_ns=([0-9]+) ]] && speed_median=${BASH_REMATCH[2]}
    [[ $line =~ (^|[[:space:]])min_ns=([0-9]+) ]] && speed_min=${BASH_REMATCH[2]}
    [[ -n $speed_median && -n $speed_min ]] && ((speed_median > 0)) || return 1
    if [[ -z $speed_full_ns ]] || ((speed_median < speed_full_ns)); then speed_full_ns=$speed_median; fi
    if [[ -z $speed_fastest_ns ]] || ((speed_min < speed_fastest_ns)); then speed_fastest_ns=$speed_min; fi
    return 0
}

# The last probe's median chunk as a percentage of full speed's.
speed_pct() {
    echo $(((speed_median * 100 + speed_full_ns / 2) / speed_full_ns))
}

x_slower() { # PCT -> "x1.9"
    printf 'x%d.%d' $((($1 + 5) / 100)) $((($1 + 5) % 100 / 10))
}

# Before a run: probe, and wait while the host is slow. Sets speed_before
# (percent, "" when not probed) and speed_waited_us.
wait_speed() {
    local t0 now waited=0 pct
    speed_before="" speed_waited_us=0
    ((speed_on)) || return 0
    probe_speed || { speed_failures=$((speed_failures + 1)); return 0; }
    pct=$(speed_pct)
    t0=$(now_us)
    while ((pct > speed_slow_pct)); do
        now=$(now_us)
        ((now - t0 < speed_wait * 1000000 && now - t0 < speed_budget_us)) || break
        waited=1
        if ((progress_tty)); then
            printf "\r\033[K%s  waiting for the host's full speed (%s)" "$progress_prefix" "$(x_slower "$pct")" >&2
        fi
        sleep 0.3
        probe_speed || { speed_failures=$((speed_failures + 1)); break; }
        pct=$(speed_pct)
    done
    if ((waited)); then
        now=$(now_us)
        speed_waited_us=$((now - t0))
        speed_budget_us=$((speed_budget_us - speed_waited_us))
        speed_waited_total_us=$((speed_waited_total_us + speed_waited_us))
    fi
    [[ -n $speed_median ]] || return 0
    speed_before=$pct
    if ((pct > speed_slow_pct)); then
        speed_slow_starts=$((speed_slow_starts + 1))
    else
        speed_fast_starts=$((speed_fast_starts + 1))
    fi
}

# After a run: was the host still at full speed? Sets speed_after.
probe_speed_after() {
    speed_after=""
    ((speed_on)) || return 0
    probe_speed || { speed_failures=$((speed_failures + 1)); return 0; }
    speed_after=$(speed_pct)
    ((speed_after <= speed_slow_pct)) || speed_slow_ends=$((speed_slow_ends + 1))
}

# ---- running -----------------------------------------------------------------
# Copies stdin to stdout without CRs; writes to $2 the microseconds from $1
# to the first line holding the ready marker.
stamp_ready() {
    local t0=$1 file=$2 line seen=0 t
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        if ((!seen)) && [[ $line == *"$ready_marker"* ]]; then
            t=$EPOCHREALTIME
            echo $((${t//[!0-9]/} - t0)) >"$file"
            seen=1
        fi
        printf '%s\n' "$line"
    done
}

# Runs COMMAND with output to LOG.out/.err; LOG.meta gets
# "exit-status wall-us ready-us" (ready "-" when there is no marker).
run_timed() { # LOG COMMAND...
    local log=$1 t0 t1 status=0 t
    shift
    set +e +o pipefail
    t=$EPOCHREALTIME
    t0=${t//[!0-9]/}
    if [[ -n $ready_marker ]]; then
        "${nice_cmd[@]}" timeout --kill-after=10 "$timeout_s" "$@" </dev/null 2>"$log.err" |
            stamp_ready "$t0" "$log.ready" >"$log.out"
        status=${PIPESTATUS[0]}
    else
        # stdin from /dev/null: QEMU's -serial stdio would grab the tty.
        "${nice_cmd[@]}" timeout --kill-after=10 "$timeout_s" "$@" </dev/null >"$log.out" 2>"$log.err"
        status=$?
    fi
    t=$EPOCHREALTIME
    t1=${t//[!0-9]/}
    echo "$status $((t1 - t0)) $(cat "$log.ready" 2>/dev/null || echo -)" >"$log.meta"
}

# --stats=json of one run -> counters CSV rows (numbers only; I/O ranges by
# device name instead of array index).
collect_counters() { # JSON PREFIX
    local flat
    if ! flat=$(LC_ALL=C awk -f "$perf_dir/json_flatten.awk" "$1" 2>&1); then
        echo "*** tpvm --stats=json wrote invalid JSON ($1): ${flat##*$'\n'}" >&2
        stats_errors=$((stats_errors + 1))
        return 0
    fi
    awk -F'\t' -v prefix="$2" '
        $1 ~ /^io\.[0-9]+\.name$/ { split($1, p, "."); ioname[p[2]] = $2; next }
        $1 ~ /^io\.[0-9]+\./ { split($1, p, "."); sub(/^io\.[0-9]+/, "io." ioname[p[2]], $1) }
        $2 ~ /^-?[0-9][0-9.eE+-]*$/ { print prefix "," $1 "," $2 }' <<<"$flat" >>"$counters_csv"
}

# Launches per run of the current workload: $launches, but one for Linux
# (timed by the host clock from process start, one boot a run) and under
# callgrind (whose counts repeat exactly).
launches_per_run() {
    if ((callgrind)) || [[ -n $ready_marker ]]; then echo 1; else echo "$launches"; fi
}

# Launch $3 of $4 of path index $2 in round $1: wait for a quiet,
# full-speed host, then time it. What a run needs from its launches is
# kept per path (L_* arrays) for finish_run.
launch_run() {
    local round=$1 i=$2 l=$3 n=$4
    local name=${path_names[i]}
    local log=$out/logs/$workload-$name-$round
    local llog=$log
    ((n == 1)) || llog=$log.launch$l
    local -a cmd
    eval "cmd=(${path_cmds[i]})"
    # Launch 1 writes the --stats file; the counters hardly differ.
    if ((l == 1)); then
        cmd=("${cmd[@]//@STATS@/$log.stats.json}")
        rm -rf "$log".*
        L_walls[$i]="" L_best[$i]="" L_bad[$i]="" L_swait[$i]=0 L_qwait[$i]=0
    else
        cmd=("${cmd[@]//@STATS@/$llog.stats.json}")
    fi
    if ((callgrind)); then
        callgrind_triggers "$name"
        cmd=("${cg_cmd[@]}" --callgrind-out-file="$log.cg/cg" "${cg_trigger_args[@]}" "${cmd[@]}")
        mkdir -p "$log.cg"
    fi
    progress_begin "$name" "$round" "$l" "$n"
    wait_quiet
    wait_speed
    run_timed "$llog" "${cmd[@]}" &
    local job=$!
    progress_wait "$job"
    wait "$job" || true
    probe_speed_after
    local status wall_us ready_us
    read -r status wall_us ready_us <"$llog.meta"
    ((l == 1)) || rm -f "$llog.stats.json"
    ((l > 1)) || L_before[$i]=$speed_before
    L_after[$i]=$speed_after L_busy[$i]=$host_busy
    L_swait[$i]=$((L_swait[$i] + speed_waited_us)) L_qwait[$i]=$((L_qwait[$i] + quiet_waited))
    L_walls[$i]+="${L_walls[$i]:+;}$wall_us"
    if ((status != path_status[i])) && [[ -z ${L_bad[$i]} ]]; then L_bad[$i]=$status; fi
    if [[ -z ${L_best[$i]} ]] || ((wall_us < L_best[$i])); then L_best[$i]=$wall_us; fi
    wall_sum[$workload/$name]=$((${wall_sum[$workload/$name]:-0} + wall_us))
    wall_n[$workload/$name]=$((${wall_n[$workload/$name]:-0} + 1))
    wall_sum[$workload]=$((${wall_sum[$workload]:-0} + wall_us))
    wall_n[$workload]=$((${wall_n[$workload]:-0} + 1))
    # One launch: finish_run ends the progress line with the results.
    ((n == 1)) || progress_end "$(launch_text "$wall_us" "$speed_waited_us" "$quiet_waited")$(slow_text "$speed_before" "$speed_after")"
}

# "1.840 s", with the waits before it.
launch_text() { # WALL_US SPEED_WAITED_US QUIET_WAITED_S
    local secs
    secs=$(printf '%d.%03d s' $(($1 / 1000000)) $(($1 / 1000 % 1000)))
    if (($2 > 0)); then
        secs="(waited $(seconds_text "$2") for full speed) $secs"
    fi
    (($3 == 0)) || secs="(waited $3 s for a quiet host) $secs"
    echo "$secs"
}

# ", started slow (x2.1), ended slow (x1.8)", as far as so.
slow_text() { # BEFORE_PCT AFTER_PCT
    local slow=""
    if [[ -n $1 ]] && (($1 > speed_slow_pct)); then
        slow+=", started slow ($(x_slower "$1"))"
    fi
    if [[ -n $2 ]] && (($2 > speed_slow_pct)); then
        slow+=", ended slow ($(x_slower "$2"))"
    fi
    echo "$slow"
}

# Run $1 of path index $2, after its $3 launches: merge them (best_of.awk:
# each RESULT line's fewest cycles; every launch must print the same lines
# and checks), parse the result, record it.
finish_run() {
    local round=$1 i=$2 n=$3
    local name=${path_names[i]}
    local log=$out/logs/$workload-$name-$round
    local status wall_us ready_us
    if ((n == 1)); then
        read -r status wall_us ready_us <"$log.meta"
    else
        local l outs=()
        for ((l = 1; l <= n; l++)); do outs+=("$log.launch$l.out"); done
        status=${L_bad[$i]:-${path_status[i]}} wall_us=${L_best[$i]} ready_us=-
        if ! awk -v name="${result_keys%% *}" -v check="$check_key" \
            -f "$perf_dir/best_of.awk" "${outs[@]}" >"$log.out" 2>"$log.launches"; then
            status=launches
        fi
        cat "$log".launch*.err >"$log.err" 2>/dev/null || true
    fi
    local speed_before=${L_before[$i]} speed_after=${L_after[$i]} host_busy=${L_busy[$i]}

    local why="" rows parse_status=0
    rows=$(awk -v prefix="$workload,$round,$name" -v keys="$result_keys" \
        -v numeric="$numeric_keys" -v done="${path_done[i]}" -v defaults="${path_defaults[i]}" \
        -f "$perf_dir/parse_results.awk" "$log.out" 2>"$log.parse") ||
        parse_status=$?
    if [[ $status == launches ]]; then
        why="launches disagree: $(head -n 1 "$log.launches")"
    elif ((status == 124 || status == 137)); then
        why="timed out after ${timeout_s}s"
    elif ((status != path_status[i])); then
        why="exit status $status, expected ${path_status[i]}"
    elif ((parse_status != 0)); then
        why=$(head -n 1 "$log.parse")
    elif [[ -n ${path_expect[i]} ]] && ! grep -Eq -- "${path_expect[i]}" "$log.out"; then
        why="no output line matches /${path_expect[i]}/"
    elif [[ -n $ready_marker && $ready_us == - ]]; then
        why="no ready marker ($ready_marker)"
    fi
    [[ -s $log.parse ]] || rm -f "$log.parse"
    if ((callgrind)) && [[ -z $why ]]; then
        rows=$(callgrind_rows "$log" "$round" "$name") || why="callgrind: $(head -n 1 "$log.cgerr")"
    elif [[ -n $ready_marker && $ready_us != - ]]; then
        rows="$workload,$round,$name,boot_to_ready,$ready_us,ready"$'\n'"$rows"
    fi
    [[ -z $rows ]] || echo "$rows" >>"$results_csv"
    if [[ -s $log.stats.json ]]; then
        collect_counters "$log.stats.json" "$workload,$round,$name"
    fi
    local ok=1
    [[ -z $why ]] || ok=0
    echo "$workload,$round,$name,$wall_us,$status,$ok,${why//,/;},$host_busy,$speed_before,$speed_after,${L_walls[$i]}" >>"$runs_csv"

    local secs slow
    secs=$(launch_text "$wall_us" "${L_swait[$i]}" "${L_qwait[$i]}")
    slow=$(slow_text "$speed_before" "$speed_after")
    if ((ok)); then
        ((n > 1)) || progress_end "$secs, $(grep -c . <<<"$rows") results$slow"
    else
        failed_runs=$((failed_runs + 1))
        ((n > 1)) || progress_end "$secs, FAILED$slow"
        printf '*** FAILED: %s %s run %d: %s (output in %s.out, %s.err)\n' \
            "$workload" "$name" "$round" "$why" "$log" "$log" >&2
    fi

    # Say at once when this run disagrees with what came before.
    if [[ -n $check_key ]] && ! awk -F, -v key="$check_key" -v run="$workload,$round,$name" \
        -f "$perf_dir/check_agree.awk" "$results_csv" >"$log.check"; then
        sed 's/^/*** CHECK MISMATCH: /' "$log.check" >&2
    fi
    rm -f "$log.check"
}

# All rounds of the current workload, interleaved: in each round every path
# runs once, so slow drift in the machine's load hits all paths alike.
run_rounds() {
    results_csv=$out/$workload-results.csv   # a row per run, path and RESULT line
    runs_csv=$out/$workload-runs.csv         # a row per run and path
    counters_csv=$out/$workload-counters.csv # a row per tpvm run and counter
    echo "workload,run,path,${csv_keys// /,}" >"$results_csv"
    echo "workload,run,path,wall_us,exit_status,ok,why,host_busy_pct,host_speed_before_pct,host_speed_after_pct,launch_walls_us" >"$runs_csv"
    echo "workload,run,path,counter,value" >"$counters_csv"
    local round i l n
    n=$(launches_per_run)
    declare -A L_walls=() L_best=() L_bad=() L_before=() L_after=() L_busy=() L_swait=() L_qwait=()
    # Launch l of every path before launch l+1 of any: a slow stretch of
    # the host (seconds) then hits one launch of each path, not all of one.
    for ((round = 1; round <= rounds; round++)); do
        for ((l = 1; l <= n; l++)); do
            for i in "${!path_names[@]}"; do
                ((path_avail[i])) || continue
                launch_run "$round" "$i" "$l" "$n"
                # One launch a run: its progress line ends with its results.
                ((n > 1)) || finish_run "$round" "$i" 1
            done
        done
        ((n > 1)) || continue
        for i in "${!path_names[@]}"; do
            if ((path_avail[i])); then finish_run "$round" "$i" "$n"; fi
        done
    done
    return 0
}

# ---- callgrind -----------------------------------------------------------------
# Under --callgrind every path runs under valgrind with a profile dump at
# each output unit, and callgrind_lines.awk turns the dumps into host
# instructions (Ir) per RESULT line.
setup_callgrind() {
    command -v valgrind >/dev/null || die "--callgrind needs valgrind (Debian: apt-get install valgrind)"
    # tpvm writes its code at run time: valgrind must watch for it.
    cg_cmd=(valgrind --tool=callgrind --smc-check=all-non-file --dump-instr=no
        --dump-line=no)
}

# Sets the dump triggers for the path about to run (see callgrind_lines.awk).
callgrind_triggers() { # PATH
    if [[ $1 == native ]]; then
        cg_unit=line cg_trigger=write cg_start=""
    else
        # chardev_putc: once per byte the guest writes to COM1;
        # vm_run: the end of tpvm's start-up.
        cg_unit=byte cg_trigger=chardev_putc cg_start=vm_run
    fi
    cg_trigger_args=(--dump-before="$cg_trigger")
    [[ -z $cg_start ]] || cg_trigger_args+=(--dump-before="$cg_start")
}

# Under --callgrind the table compares host instructions per operation:
# the workload's RESULT keys still check its output, but the CSV holds
# callgrind_lines.awk's rows.
callgrind_columns() {
    csv_keys=$result_keys
    ((callgrind)) || return 0
    csv_keys='name ops ir ir_per_op check'
    metric=ir_per_op ops_key=ops unit=instructions check_key=""
}

# CSV rows "workload,run,path,name,ops,ir,ir_per_op,check" of one run.
callgrind_rows() { # LOG ROUND PATH
    local log=$1 rows
    rows=$(LC_ALL=C awk -v unit="$cg_unit" -v trigger="$cg_trigger" -v start="$cg_start" \
        -v bytes="$(wc -c <"$log.out")" -v prefix="$workload,$2,$3" \
        -f "$perf_dir/callgrind_lines.awk" "$log.out" "$log.cg"/cg* 2>"$log.cgerr") || return 1
    awk -F, -v OFS=, '{ print $0, sprintf("%.1f", $6 / ($5 > 0 ? $5 : 1)), "-" }' <<<"$rows"
    # The parts are big and their sums are in the CSV; keep the last one.
    find "$log.cg" -name 'cg.*' -delete
    rm -f "$log.cgerr"
}

# ---- reporting -----------------------------------------------------------------
# The machine and the programs the numbers came from, as "key<TAB>value".
collect_header() {
    local commit="" modified="" cpu mem tpvm_version qemu_version
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)
        [[ -z $(git -C "$root" status --porcelain 2>/dev/null | head -n 1) ]] || modified=yes
    fi
    cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    tpvm_version=$("$tpvm" --version 2>/dev/null | head -n 1 || true)
    qemu_version=$("$qemu" --version 2>/dev/null | head -n 1 || true)
    {
        printf 'started\t%s\n' "$started"
        printf 'mode\t%s\n' "$( ((callgrind)) && echo "callgrind (host instructions)" || echo "timing")"
        printf 'runs\t%s\n' "$runs"
        printf 'linux_runs\t%s\n' "$linux_runs"
        printf 'launches\t%s\n' "$launches"
        printf 'host_kernel\t%s\n' "$(uname -srm)"
        printf 'cpu\t%s\n' "${cpu:-unknown}"
        printf 'cores\t%s\n' "$(nproc)"
        printf 'memory\t%s\n' "$mem"
        printf 'load_before\t%s\n' "$load_before"
        printf 'tpvm\t%s\n' "$tpvm_source (measured as a copy in bin/)"
        printf 'priority\t%s\n' "${nice_cmd[*]:-normal}"
        printf 'tpvm_version\t%s\n' "${tpvm_version:-unknown}"
        printf 'source_commit\t%s\n' "${commit:-${source_commit:-unknown}}${modified:+ (work tree modified)}"
        printf 'qemu\t%s\n' "$qemu"
        printf 'qemu_version\t%s\n' "${qemu_version:-unknown}"
        if ((callgrind)); then
            printf 'valgrind_version\t%s\n' "$(valgrind --version 2>/dev/null)"
        fi
        printf 'command\t%s\n' "$command_line"
    } >"$header_tsv"
}

header_md() {
    local v
    v() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$header_tsv"; }
    echo "# tpvm bench$( ((callgrind)) && echo ": host instructions (callgrind)")"
    echo
    echo "- started $(v started), finished $(v finished); runs per path: $(v runs), each the fewest cycles of $(v launches) launches (Linux: $(v linux_runs) runs of one launch); launch k of every path runs before launch k+1 of any"
    echo "- host: $(v host_kernel), $(v cpu), $(v cores) cores, $(v memory); load average before $(v load_before), after $(v load_after)"
    if ((quiet_wait > 0)); then
        echo "- quiet host: each run waited up to ${quiet_wait} s for other processes to use under 25% of a core; $(v busy_runs) run(s) started on a busy host (runs CSVs: host_busy_pct)"
    fi
    if ((speed_wait > 0)); then
        if ((speed_on)); then
            local failures=""
            (($(v host_speed_probe_failures) == 0)) || failures="; the probe failed $(v host_speed_probe_failures) time(s)"
            echo "- host speed: each run waited up to ${speed_wait} s (${speed_budget_s} s in all) for the host's full speed (host-speed's median busy-loop chunk within $((speed_slow_pct - 100))% of the fastest median seen, $(us_text "$(v host_speed_full_ns)"); fastest single chunk $(us_text "$(v host_speed_fastest_chunk_ns)")): $(v host_speed_fast_starts) of $(v host_speed_probed_runs) runs started at full speed, the bench waited $(v host_speed_waited_s) s for it in all, $(v host_speed_slow_ends) run(s) ended slow${failures} (runs CSVs: host_speed_before_pct, host_speed_after_pct)"
        else
            echo "- host speed: not checked ($speed_note)"
        fi
    fi
    echo "- tpvm: $(v tpvm_version), $(v tpvm); source tree $(v source_commit); runs at priority: $(v priority)"
    echo "- QEMU: $(v qemu_version)"
    if ((callgrind)); then echo "- valgrind: $(v valgrind_version)"; fi
}

# JSON string of $1.
json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/\\t}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//[$'\001'-$'\037']/?} # other control characters
    printf '"%s"' "$s"
}

header_json() {
    local k v sep=""
    printf '{'
    while IFS=$'\t' read -r k v; do
        printf '%s\n    %s: %s' "$sep" "$(json_str "$k")" "$(json_str "$v")"
        sep=,
    done <"$header_tsv"
    printf '\n  }'
}

# The current workload's section in results.md, and its CSV rows, JSON
# object and plot data.
report_workload() {
    local i
    {
        echo
        echo "## $workload"
        echo
        echo "$title."
        echo
        for i in "${!path_names[@]}"; do
            if ((path_avail[i])); then
                echo "- **${path_labels[i]}** (${path_names[i]}): ${path_descs[i]}"
            else
                echo "- **${path_labels[i]}** (${path_names[i]}): unavailable — ${path_notes[i]}"
            fi
        done
        echo
    } >>"$sections"
    if [[ -n $check_key ]]; then
        local check_report=$out/$workload-check.txt
        if ! awk -F, -v key="$check_key" -f "$perf_dir/check_agree.awk" \
            "$results_csv" >"$check_report"; then
            mismatches=$((mismatches + $(grep -c . "$check_report")))
            {
                echo "**CHECK MISMATCH: the paths computed different results; the speeds below compare different work.**"
                echo
                echo '```'
                cat "$check_report"
                echo '```'
                echo
            } >>"$sections"
        else
            rm -f "$check_report"
        fi
    fi
    local paths_tsv=$out/.$workload-paths.tsv
    : >"$paths_tsv"
    for i in "${!path_names[@]}"; do
        printf '%s\t%s\t%s\t%s\t%s\n' "${path_names[i]}" "${path_labels[i]}" \
            "${path_avail[i]}" "${path_descs[i]}" "${path_notes[i]}" >>"$paths_tsv"
    done
    local spread_paths="tpvm-bt tpvm-pv" limit=15 ratios
    ratios='PV/BT=tpvm-bt/tpvm-pv;BT/QEMU=qemu/tpvm-bt;PV/QEMU=qemu/tpvm-pv;tpvm/native=native/tpvm-bt'
    if ((callgrind)); then
        # The same program twice: the counts must (nearly) agree. CPU work
        # repeats to 0.2%; what waits for host time (timer ticks) varies more.
        limit=3
        ratios='BT÷native=tpvm-bt/native;PV÷BT=tpvm-pv/tpvm-bt'
    fi
    awk -v workload="$workload" -v title="$title" -v all_paths="${known_paths[*]}" \
        -v metric="$metric" -v ops_key="$ops_key" -v unit="$unit" -v row_word="$row_word" \
        -v ratios="$ratios" -v range_paths="qemu tpvm-bt tpvm-pv" \
        -v spread_paths="$spread_paths" -v spread_limit="$limit" \
        -v counter_keys="$counter_keys" -v csv_header="$csv_first" \
        -v csv_out="$out/results.csv.body" -v json_out="$out/.$workload.json" \
        -v plot_out="$out/plot-$workload.dat" \
        -f "$perf_dir/report.awk" "$paths_tsv" "$runs_csv" "$results_csv" \
        "$counters_csv" >>"$sections"
    csv_first=0
    rm -f "$paths_tsv"
    json_parts+=("$out/.$workload.json")
    plot_panels+=("$workload")
}

# A workload that could not run, in every output.
report_not_built() { # REASON
    printf '\n## %s\n\n**Not run: %s.**\n' "$workload" "$1" >>"$sections"
    printf '{\n  "name": %s,\n  "title": %s,\n  "status": "not run",\n  "note": %s\n}\n' \
        "$(json_str "$workload")" "$(json_str "$title")" "$(json_str "$1")" >"$out/.$workload.json"
    json_parts+=("$out/.$workload.json")
}

# bench.png and bench.svg: one panel per workload, per-op cost per path, log scale.
draw_plot() {
    ((${#plot_panels[@]})) || return 0
    if ! command -v gnuplot >/dev/null; then
        echo "bench: no plot: gnuplot is not installed (Debian: gnuplot-nox)" >&2
        return 0
    fi
    local -a args=(-e "out='$out/bench'" -e "n=${#plot_panels[@]}")
    local i=0 w ylabel
    for w in "${plot_panels[@]}"; do
        i=$((i + 1))
        case $w in
        compute) ylabel="cycles per kernel run" ;;
        linux) ylabel="microseconds" ;;
        *) ylabel="cycles per operation" ;;
        esac
        ((callgrind)) && ylabel="host instructions per ${ylabel##* }"
        args+=(-e "data_$i='$out/plot-$w.dat'" -e "title_$i='$w'" -e "ylabel_$i='$ylabel'")
    done
    if gnuplot "${args[@]}" "$perf_dir/plot.gp" 2>"$out/logs/gnuplot.err"; then
        plot_made=1
        grep -v 'Skipping data file with no valid points' "$out/logs/gnuplot.err" >&2 || true
    else
        echo "bench: gnuplot failed (see $out/logs/gnuplot.err)" >&2
    fi
}

# results.md, results.csv and results.json from the parts.
write_results() {
    {
        printf 'finished\t%s\n' "$(date '+%Y-%m-%d %H:%M:%S %z')"
        printf 'load_after\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
        printf 'busy_runs\t%s\n' "$busy_runs"
        if ((speed_on)); then
            printf 'host_speed_full_ns\t%s\n' "$speed_full_ns"
            printf 'host_speed_fastest_chunk_ns\t%s\n' "$speed_fastest_ns"
            printf 'host_speed_probed_runs\t%s\n' $((speed_fast_starts + speed_slow_starts))
            printf 'host_speed_fast_starts\t%s\n' "$speed_fast_starts"
            printf 'host_speed_slow_starts\t%s\n' "$speed_slow_starts"
            printf 'host_speed_slow_ends\t%s\n' "$speed_slow_ends"
            printf 'host_speed_waited_s\t%d.%d\n' $((speed_waited_total_us / 1000000)) $((speed_waited_total_us / 100000 % 10))
            printf 'host_speed_probe_failures\t%s\n' "$speed_failures"
        fi
    } >>"$header_tsv"
    {
        header_md
        cat "$sections"
        if ((plot_made)); then
            printf '\nPlot: bench.png, bench.svg (per-op cost per workload and path, log scale; bars are medians, whiskers min–max).\n'
        fi
    } >"$out/results.md"
    {
        awk -F'\t' '{ print "# " $1 ": " $2 }' "$header_tsv"
        if [[ -s $out/results.csv.body ]]; then cat "$out/results.csv.body"; fi
    } >"$out/results.csv"
    rm -f "$out/results.csv.body" "$sections"
    {
        printf '{\n  "schema": 1,\n  "header": '
        header_json
        printf ',\n  "workloads": ['
        local f sep=""
        for f in "${json_parts[@]}"; do
            printf '%s\n' "$sep"
            sed 's/^/    /' "$f"
            sep=,
        done
        printf '  ],\n  "failed_runs": %d,\n  "check_mismatches": %d\n}\n' "$failed_runs" "$mismatches"
    } >"$out/results.json"
    rm -f "${json_parts[@]}"
    LC_ALL=C awk -v quiet=1 -f "$perf_dir/json_flatten.awk" "$out/results.json" ||
        echo "*** bench: results.json is not valid JSON (a bug in perf/)" >&2
}

# Copies the file that variable $1 names into $out/bin and points the
# variable at the copy (if the file exists).
snapshot() {
    local -n file=$1
    if [[ -f $file ]]; then
        cp -p "$file" "$out/bin/" && file=$out/bin/$(basename "$file")
    fi
}

# ---- main --------------------------------------------------------------------
# All of it in one function: bash reads a script as it runs it, so an
# edit of this file during a bench must not change what the bench does.
main() {
    runs=${BENCH_RUNS:-5}
    linux_runs=${BENCH_LINUX_RUNS:-5}
    launches=${BENCH_LAUNCHES:-3}
    out=""
    callgrind=0
    plot=1
    quiet_wait=${BENCH_QUIET_WAIT:-30}
    speed_wait=${BENCH_SPEED_WAIT:-20}
    runs_given=0
    command_line="$0 $*"
    while (($#)); do
        case $1 in
        --runs) runs=${2:?--runs needs a number}; runs_given=1; shift 2 ;;
        --runs=*) runs=${1#*=}; runs_given=1; shift ;;
        --launches) launches=${2:?--launches needs a number}; shift 2 ;;
        --launches=*) launches=${1#*=}; shift ;;
        --linux-runs) linux_runs=${2:?--linux-runs needs a number}; shift 2 ;;
        --linux-runs=*) linux_runs=${1#*=}; shift ;;
        --only) parse_selection --only "${2:?--only needs a list}" only_w only_p; shift 2 ;;
        --only=*) parse_selection --only "${1#*=}" only_w only_p; shift ;;
        --skip) parse_selection --skip "${2:?--skip needs a list}" skip_w skip_p; shift 2 ;;
        --skip=*) parse_selection --skip "${1#*=}" skip_w skip_p; shift ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --out=*) out=${1#*=}; shift ;;
        --callgrind) callgrind=1; shift ;;
        --quiet-wait) quiet_wait=${2:?--quiet-wait needs seconds}; shift 2 ;;
        --quiet-wait=*) quiet_wait=${1#*=}; shift ;;
        --speed-wait) speed_wait=${2:?--speed-wait needs seconds}; shift 2 ;;
        --speed-wait=*) speed_wait=${1#*=}; shift ;;
        --no-plot) plot=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
        esac
    done
    if ((callgrind && !runs_given)); then runs=2; fi
    [[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer, not '$runs'"
    [[ $launches =~ ^[1-9][0-9]*$ ]] || die "--launches wants a positive integer, not '$launches'"
    [[ $linux_runs =~ ^[1-9][0-9]*$ ]] || die "--linux-runs wants a positive integer, not '$linux_runs'"
    [[ $quiet_wait =~ ^[0-9]+$ ]] || die "--quiet-wait wants seconds, not '$quiet_wait'"
    [[ $speed_wait =~ ^[0-9]+$ ]] || die "--speed-wait wants seconds, not '$speed_wait'"
    # Instruction counts do not depend on the neighbours.
    if ((callgrind)); then quiet_wait=0 speed_wait=0; fi
    quiet_budget=600
    speed_budget_s=${BENCH_SPEED_BUDGET:-300}
    speed_slow_pct=${BENCH_SPEED_SLOW_PCT:-120}
    [[ $speed_budget_s =~ ^[0-9]+$ ]] || die "BENCH_SPEED_BUDGET wants seconds, not '$speed_budget_s'"
    [[ $speed_slow_pct =~ ^[1-9][0-9]*$ ]] || die "BENCH_SPEED_SLOW_PCT wants a percentage, not '$speed_slow_pct'"
    speed_budget_us=$((speed_budget_s * 1000000))
    ncpus=$(nproc)
    timeout_s=${BENCH_TIMEOUT:-$( ((callgrind)) && echo 3600 || echo 300)}

    qemu=${BENCH_QEMU:-$(config_value QEMU)}
    qemu=${qemu:-$(command -v qemu-system-i386 || echo qemu-system-i386)}
    qemu_desc="$qemu, TCG (software translation)"
    tpvm=$(absolute "${BENCH_TPVM:-$root/build/tpvm}")
    compute_elf=$(absolute "${BENCH_COMPUTE_ELF:-$root/build/guests/compute.elf}")
    native_compute=$(absolute "${BENCH_NATIVE_COMPUTE:-$root/build/perf/native-compute}")
    host_speed=$(absolute "${BENCH_HOST_SPEED:-$(dirname "$native_compute")/host-speed}")
    minios_elf=$(absolute "${BENCH_MINIOS_ELF:-$root/build/guests/minios.elf}")
    linux_dir=$(absolute "${BENCH_LINUX_DIR:-$root/build/linux}")
    source_commit=$(config_value GIT_COMMIT)
    [[ -x $tpvm ]] || die "tpvm is not built: $tpvm (try make)"

    case ${BENCH_PROGRESS:-auto} in
    tty) progress_tty=1 ;;
    plain) progress_tty=0 ;;
    *) progress_tty=$([[ -t 2 ]] && echo 1 || echo 0) ;;
    esac

    if ((callgrind)); then
        setup_callgrind
        # Linux takes minutes natively: hours under valgrind.
        skip_w+=(linux)
    fi

    workloads=()
    for w in "${known_workloads[@]}"; do
        if selected w "$w"; then workloads+=("$w"); fi
    done
    ((${#workloads[@]})) || die "nothing selected (--only/--skip leave no workload)"

    out_base=${BENCH_OUT_BASE:-$root/build/bench}
    default_out=0
    if [[ -z $out ]]; then
        out=$out_base/$( ((callgrind)) && echo callgrind- )$(date +%Y%m%d-%H%M%S)
        default_out=1
    fi
    out=$(absolute "$out")
    mkdir -p "$out/logs" "$out/bin"
    started=$(date '+%Y-%m-%d %H:%M:%S %z')
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)

    # Measure copies: others may rebuild tpvm or a guest while the bench runs,
    # and the results folder then holds exactly what was measured.
    tpvm_source=$tpvm
    snapshot tpvm
    snapshot compute_elf
    snapshot native_compute
    snapshot minios_elf
    snapshot host_speed

    # Once, in this shell: does this tpvm have a PV path?
    pv_probe=$("$tpvm" --mode pv --help 2>&1 >/dev/null) && pv_probe=""
    pv_probe=${pv_probe%%$'\n'*}

    # Run the measured programs ahead of other processes when we may (root):
    # it keeps a neighbour's build from taking the CPU mid-run.
    nice_cmd=()
    if [[ ${BENCH_NICE:-yes} != no && $(id -u) == 0 ]]; then nice_cmd=(nice -n -10); fi

    # The host-speed gate: on when --speed-wait > 0 and the probe works; a
    # longer first probe (~0.2 s) sets full speed.
    speed_on=0 speed_note="" speed_full_ns="" speed_fastest_ns="" speed_failures=0
    speed_fast_starts=0 speed_slow_starts=0 speed_slow_ends=0 speed_waited_total_us=0
    speed_before="" speed_after="" speed_waited_us=0
    if ((speed_wait > 0)); then
        if speed_note=$(program_missing "$host_speed"); then
            speed_note="$speed_note (make bench builds it; or set BENCH_HOST_SPEED)"
        elif ! probe_speed -n 3200; then
            speed_note="the probe failed: $host_speed -n 3200"
        else
            speed_on=1 speed_note=""
        fi
        ((speed_on)) || echo "bench: host-speed gate off: $speed_note" >&2
    fi

    # Plan every workload before running any, so the progress line knows the
    # total and a missing build is said at once.
    declare -a plan=()
    declare -A wall_sum=() wall_n=()
    for w in "${workloads[@]}"; do
        reset_workload
        "workload_$w"
        [[ -z $skip_reason ]] || { echo "bench: $w: not run: $skip_reason" >&2; continue; }
        local n_launches
        n_launches=$(launches_per_run)
        for ((r = 1; r <= rounds * n_launches; r++)); do
            for i in "${!path_names[@]}"; do
                if ((path_avail[i])); then plan+=("$w/${path_names[i]}"); fi
            done
        done
        for i in "${!path_names[@]}"; do
            ((path_avail[i])) ||
                echo "bench: $w: path ${path_names[i]} unavailable: ${path_notes[i]}" >&2
        done
    done
    total_runs=${#plan[@]}

    header_tsv=$out/header.tsv
    collect_header
    failed_runs=0 mismatches=0 stats_errors=0 run_index=0 csv_first=1 plot_made=0 busy_runs=0
    sections=$out/.sections.md
    : >"$sections"
    json_parts=() plot_panels=()
    bench_t0=$(now_us)
    echo "bench: $total_runs launches; results in $out" >&2

    for w in "${workloads[@]}"; do
        reset_workload
        "workload_$w"
        if [[ -n $skip_reason ]]; then
            report_not_built "$skip_reason"
            continue
        fi
        callgrind_columns
        run_rounds
        report_workload
    done

    ((plot)) && draw_plot
    write_results
    if ((default_out)); then
        ln -sfn "$(basename "$out")" "$(dirname "$out")/latest"
    fi

    echo >&2
    cat "$out/results.md"
    echo
    echo "bench: results in $out/ (results.md, results.csv, results.json$( ((plot_made)) && echo ", bench.png, bench.svg"), per-run CSVs, logs/)"

    status=0
    if ((mismatches > 0)); then
        echo "*** bench FAILED: $mismatches check value(s) disagree across paths; see $out/results.md" >&2
        status=1
    fi
    if ((failed_runs > 0)); then
        echo "*** bench FAILED: $failed_runs run(s) did not complete; see $out/results.md and $out/logs/" >&2
        status=1
    fi
    if ((stats_errors > 0)); then
        echo "*** bench FAILED: tpvm --stats=json wrote invalid JSON $stats_errors time(s)" >&2
        status=1
    fi
    exit "$status"
}

main "$@"
exit
