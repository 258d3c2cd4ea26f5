#!/bin/sh
# /init of the tpvm Linux guest: mount the pseudo file systems, print the
# ready marker, run the workloads (RESULT lines with deterministic check=
# values), then reboot, which ends QEMU -no-reboot / tpvm --no-reboot.
# With tpvm.shell=1 on the kernel command line: an interactive shell instead.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
echo "TPVM-LINUX-READY"

case " $(cat /proc/cmdline) " in
*" tpvm.shell=1 "*)
    echo "tpvm: interactive shell; 'exit' reboots (ends the VM)"
    setsid cttyhack sh
    reboot -f
    ;;
esac

now() { lmbench-mini now; }

# Each workload runs REPS times in a row; its RESULT has the fewest
# microseconds (lmbench reports the best of its repetitions too: a host
# that steals the CPU for a while can only make a run slower) and its check
# value, which must be the same every time.
REPS=3
workload() { # name function
    best="" check=""
    r=0
    while [ $r -lt $REPS ]; do
        t0=$(now)
        "$2"
        t=$(($(now) - t0))
        if [ -n "$check" ] && [ "$out" != "$check" ]; then
            echo "workload $1: check $check, then $out"
            check=MISMATCH
        fi
        [ "$check" = MISMATCH ] || check=$out
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
        r=$((r + 1))
    done
    echo "RESULT name=$1 time_us=$best check=$check"
}

# fork + exec of a static binary, 200 times
w_forkexec() {
    n=0
    while [ $n -lt 200 ]; do /bin/true && n=$((n + 1)); done
    out=$n
}

# a pipe between two processes: 8 MiB through wc
w_pipe() {
    out=$(dd if=/dev/zero bs=4096 count=2048 2>/dev/null | wc -c)
}

# md5sum of a generated 1.9 MB file, 4 times
w_md5sum() {
    for i in 1 2 3 4; do sum=$(md5sum < /tmp/seq.txt); done
    out=${sum%% *}
}

# dd to /dev/null: 64 MiB in 4 KiB blocks (busybox dd reports whole
# records only: check = records out * 4096)
w_dd() {
    records=$(dd if=/dev/zero of=/dev/null bs=4096 count=16384 2>&1 |
              sed -n 's/^\([0-9]*\)+0 records out$/\1/p')
    out=$((${records:-0} * 4096))
}

# sort of 50000 generated lines (an LCG exact in double arithmetic)
w_sort() {
    sum=$(sort < /tmp/lines.txt | md5sum)
    out=${sum%% *}
}

# a shell loop
w_shloop() {
    i=0
    while [ $i -lt 20000 ]; do i=$((i + 1)); done
    out=$i
}

# Kernel messages from here on go to the log, not the console: a printk
# in the middle of a RESULT line would garble it.
dmesg -n 1
seq 1 300000 > /tmp/seq.txt
awk 'BEGIN { x = 1; for (i = 0; i < 50000; i++) {
        x = (x * 75 + 74) % 65537; printf "%05d line %d\n", x, i } }' \
    > /tmp/lines.txt
for w in forkexec pipe md5sum dd sort shloop; do
    workload $w w_$w
done

lmbench-mini all

# which clock the kernel ended up trusting (tsc unless its watchdog objected)
echo "TPVM-CLOCKSOURCE=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "TPVM-LINUX-DONE"
# reboot (with reboot=t a triple fault) ends QEMU -no-reboot and tpvm
# --no-reboot alike with status 0 (poweroff -f would too, through ACPI S5).
reboot -f
