#!/bin/sh
# Where does tpvm's host time go, by guest code? Runs tpvm under
# `perf record` with --perf-map (each translated block is named
# guest_EIP), then prints the hottest host symbols and guest blocks; with
# --symbols FILE (a System.map or a copy of the guest's /proc/kallsyms),
# guest blocks are summed per guest function.
#
# usage: perf/guest-profile.sh [--symbols FILE] [--top N] -- TPVM-ARGS...
#   e.g. perf/guest-profile.sh --symbols kallsyms.txt -- -m 256 \
#          --initrd build/linux/initrd.img --append "console=ttyS0" \
#          --no-reboot build/linux/vmlinuz
# Needs perf (linux-perf) and python3. Guest output goes to
# guest-profile.out, the raw profile stays in guest-profile.data.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TPVM=${TPVM:-$ROOT/build/tpvm}
SYMS="" TOP=30
while [ $# -gt 0 ]; do
    case $1 in
    --symbols) SYMS=$2; shift 2 ;;
    --top) TOP=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "guest-profile.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "guest-profile.sh: no tpvm arguments (see --help)" >&2; exit 2; }
command -v perf >/dev/null || { echo "guest-profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
[ -z "$SYMS" ] || [ -r "$SYMS" ] || { echo "guest-profile.sh: cannot read $SYMS" >&2; exit 2; }

DATA=guest-profile.data
echo "guest-profile: recording $TPVM $* (output in guest-profile.out)" >&2
perf record -q -F 2000 -o "$DATA" "$TPVM" --perf-map "$@" \
    > guest-profile.out 2>&1 || true
perf report -i "$DATA" --no-children --sort sym 2>/dev/null |
    python3 -c '
import bisect, collections, re, sys
top = int(sys.argv[1])
syms = []
if len(sys.argv) > 2:
    for line in open(sys.argv[2], errors="replace"):
        p = line.split()
        if len(p) >= 3 and p[1] in "tTwW" and re.fullmatch("[0-9a-fA-F]+", p[0]):
            syms.append((int(p[0], 16), p[2]))
    syms.sort()
keys = [s[0] for s in syms]
by = collections.Counter()
for line in sys.stdin:
    m = re.match(r"\s*([0-9.]+)%\s+\[(.)\]\s+(\S+)", line)
    if not m:
        continue
    pct, name = float(m.group(1)), m.group(3)
    g = re.match(r"guest_([0-9a-f]{8})$", name)
    if g and syms:
        v = int(g.group(1), 16)
        i = bisect.bisect_right(keys, v) - 1
        name = "guest " + (syms[i][1] if i >= 0 and v - keys[i] < 1 << 20
                           else g.group(0))
    elif g:
        name = "guest block " + g.group(1)
    elif name.startswith("0x"):
        name = "translated code (no map entry)"
    else:
        name = "tpvm/host " + name
    by[name] += pct
for name, pct in by.most_common(top):
    print("%6.2f%%  %s" % (pct, name))
' "$TOP" ${SYMS:+"$SYMS"}
