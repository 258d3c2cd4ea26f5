#!/bin/sh
# Boots the Linux guest of build/linux under tpvm or QEMU with the console
# on this terminal. --shell: /init starts a shell instead of the workloads
# (tpvm.shell=1); leaving the shell reboots, which ends the VM.
# usage: guest-stubs/linux/run.sh [tpvm|qemu] [--shell] [extra kernel args]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LINUX_DIR=${LINUX_DIR:-$ROOT/build/linux}
MEM=${LINUX_MEM:-256}
APPEND="console=ttyS0 earlyprintk=serial panic=-1 reboot=t nokaslr"
VMM=tpvm
case ${1:-} in tpvm|qemu) VMM=$1; shift ;; esac
if [ "${1:-}" = --shell ]; then
    APPEND="$APPEND tpvm.shell=1"
    shift
fi
[ $# -eq 0 ] || APPEND="$APPEND $*"
for f in vmlinuz initrd.img; do
    [ -f "$LINUX_DIR/$f" ] || { echo "run.sh: no $LINUX_DIR/$f (make linux-guest)" >&2; exit 2; }
done
if [ "$VMM" = qemu ]; then
    exec "${QEMU:-qemu-system-i386}" -m "$MEM" -kernel "$LINUX_DIR/vmlinuz" \
        -initrd "$LINUX_DIR/initrd.img" -append "$APPEND" -display none \
        -serial stdio -no-reboot
fi
exec "${TPVM:-$ROOT/build/tpvm}" -m "$MEM" --initrd "$LINUX_DIR/initrd.img" \
    --append "$APPEND" --no-reboot "$LINUX_DIR/vmlinuz"
