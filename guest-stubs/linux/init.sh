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
result() { # name t0 check
    echo "RESULT name=$1 time_us=$(($(now) - $2)) check=$3"
}

# fork + exec of a static binary, 200 times
t0=$(now); n=0
while [ $n -lt 200 ]; do /bin/true && n=$((n + 1)); done
result forkexec "$t0" "$n"

# a pipe between two processes: 8 MiB through wc
t0=$(now)
bytes=$(dd if=/dev/zero bs=4096 count=2048 2>/dev/null | wc -c)
result pipe "$t0" "$bytes"

# md5sum of a generated 1.9 MB file, 4 times
seq 1 300000 > /tmp/seq.txt
t0=$(now)
for i in 1 2 3 4; do sum=$(md5sum < /tmp/seq.txt); done
result md5sum "$t0" "${sum%% *}"

# dd to /dev/null: 64 MiB in 4 KiB blocks (busybox dd reports whole
# records only: check = records out * 4096)
t0=$(now)
records=$(dd if=/dev/zero of=/dev/null bs=4096 count=16384 2>&1 |
          sed -n 's/^\([0-9]*\)+0 records out$/\1/p')
bytes=$((${records:-0} * 4096))
result dd "$t0" "$bytes"

# sort of 50000 generated lines (an LCG exact in double arithmetic)
awk 'BEGIN { x = 1; for (i = 0; i < 50000; i++) {
        x = (x * 75 + 74) % 65537; printf "%05d line %d\n", x, i } }' \
    > /tmp/lines.txt
t0=$(now)
sum=$(sort < /tmp/lines.txt | md5sum)
result sort "$t0" "${sum%% *}"

# a shell loop
t0=$(now); i=0
while [ $i -lt 20000 ]; do i=$((i + 1)); done
result shloop "$t0" "$i"

lmbench-mini all

echo "TPVM-LINUX-DONE"
# No ACPI under tpvm: reboot (with reboot=t a triple fault) is the one way
# out that QEMU -no-reboot and tpvm --no-reboot both turn into an exit.
reboot -f
