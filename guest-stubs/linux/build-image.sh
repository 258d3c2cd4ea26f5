#!/bin/sh
# Builds the Debian 12 i386 Linux guest in OUT (default build/linux):
# vmlinuz (Debian's own linux-image-686 kernel) and initrd.img (busybox,
# /init and lmbench-mini, a reproducible cpio newc archive). Packages are
# fetched with apt-get download and unpacked with dpkg-deb -x: nothing is
# installed on the host except the tools this script needs (cpio).
set -eu

SRC_DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-build/linux}
GUEST_CC=${GUEST_CC:-gcc}
# Every file in the initramfs gets this mtime; change it only on purpose.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export SOURCE_DATE_EPOCH

say() { echo "build-image: $*"; }
die() { echo "build-image: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "'$*' needs root (run this script as root once)"; fi
}

mkdir -p "$OUT/debs"
OUT=$(cd "$OUT" && pwd)

# ---- tools ---------------------------------------------------------------
if ! command -v cpio >/dev/null 2>&1; then
    say "installing cpio"
    as_root apt-get install -y --no-install-recommends cpio >/dev/null
fi

# ---- packages --------------------------------------------------------------
if ! dpkg --print-foreign-architectures | grep -qx i386; then
    say "adding the i386 architecture to dpkg"
    as_root dpkg --add-architecture i386
fi
# The lists may predate the i386 architecture or a kernel ABI bump. A
# mirror in the middle of a sync fails one index; what was fetched is used.
if ! apt-cache show linux-image-686:i386 >/dev/null 2>&1; then
    as_root apt-get update -qq || say "apt-get update reported errors; going on"
fi
KPKG=$(apt-cache depends linux-image-686:i386 |
       sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-686\)\(:i386\)\{0,1\}$/\1/p' |
       head -n1)
[ -n "$KPKG" ] || die "cannot resolve the kernel package of linux-image-686:i386"

fetch() { # package -> path of its .deb in $OUT/debs (downloaded once)
    ver=$(apt-cache policy "$1:i386" | sed -n 's/^ *Candidate: //p')
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no candidate for $1:i386"
    deb=$(ls "$OUT/debs/$1_"*"_i386.deb" 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ] || [ "$(dpkg-deb -f "$deb" Version)" != "$ver" ]; then
        rm -f "$OUT/debs/$1_"*"_i386.deb"
        (cd "$OUT/debs" && apt-get download -q "$1:i386=$ver" >&2) ||
            die "apt-get download $1:i386 failed"
        deb=$(ls "$OUT/debs/$1_"*"_i386.deb" | head -n1)
    fi
    echo "$deb"
}
say "kernel package: $KPKG"
KDEB=$(fetch "$KPKG")
BDEB=$(fetch busybox-static)

rm -rf "$OUT/pkg"
mkdir -p "$OUT/pkg/kernel" "$OUT/pkg/busybox"
dpkg-deb -x "$KDEB" "$OUT/pkg/kernel"
dpkg-deb -x "$BDEB" "$OUT/pkg/busybox"
cp "$OUT/pkg/kernel/boot/vmlinuz-"* "$OUT/vmlinuz"
{
    echo "kernel $(dpkg-deb -f "$KDEB" Package) $(dpkg-deb -f "$KDEB" Version)"
    echo "busybox $(dpkg-deb -f "$BDEB" Package) $(dpkg-deb -f "$BDEB" Version)"
} > "$OUT/versions.txt"

# ---- lmbench-mini ----------------------------------------------------------
say "building lmbench-mini"
"$GUEST_CC" -m32 -static -O2 -Wall -Wextra -Werror -o "$OUT/lmbench-mini" \
    "$SRC_DIR/lmbench-mini.c"

# ---- initramfs tree ----------------------------------------------------------
ROOT="$OUT/initramfs"
rm -rf "$ROOT"
mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" \
    "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" "$ROOT/tmp" "$ROOT/root"
cp "$OUT/pkg/busybox/bin/busybox" "$ROOT/bin/busybox"
cp "$OUT/lmbench-mini" "$ROOT/bin/lmbench-mini"
cp "$SRC_DIR/init.sh" "$ROOT/init"
chmod 755 "$ROOT/init" "$ROOT/bin/busybox" "$ROOT/bin/lmbench-mini"

# The host cannot run the i386 busybox to ask for its applets (--list), so
# read its applet name table: NUL-separated, sorted, starting "[", "[[".
tr '\0' '\n' < "$ROOT/bin/busybox" | awk '
    state == 0 && $0 == "[" { state = 1; next }
    state == 1 { if ($0 == "[[") { state = 2; prev = $0; print "["; print "[["; next }
                 state = ($0 == "[") ? 1 : 0; next }
    state == 2 { if ($0 > prev && $0 ~ /^[a-z0-9_.-]+$/) { print; prev = $0 }
                 else exit }' > "$OUT/applets.txt"
n=$(wc -l < "$OUT/applets.txt")
[ "$n" -gt 100 ] || die "found only $n busybox applets (applet table not recognised)"
for need in sh mount mkdir md5sum dd sort seq awk true reboot poweroff cat tr \
            wc setsid cttyhack; do
    grep -qx "$need" "$OUT/applets.txt" || die "busybox lacks the applet '$need'"
done
# Where Debian's busybox installs each applet does not matter to /init (it
# sets PATH); everything goes to /bin, as busybox --install would with -s.
while read -r a; do
    [ "$a" = busybox ] || ln -sf busybox "$ROOT/bin/$a"
done < "$OUT/applets.txt"
ln -sf ../bin/busybox "$ROOT/sbin/init"

# ---- reproducible archive ---------------------------------------------------
say "packing initrd.img ($n busybox applets)"
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
CPIO_FLAGS="-o -H newc -R 0:0 --quiet"
if cpio --help 2>&1 | grep -q -- --reproducible; then
    CPIO_FLAGS="$CPIO_FLAGS --reproducible"
fi
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio $CPIO_FLAGS) |
    gzip -n -9 > "$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"

say "done: $OUT/vmlinuz ($(wc -c < "$OUT/vmlinuz") bytes), $OUT/initrd.img" \
    "($(wc -c < "$OUT/initrd.img") bytes)"
cat "$OUT/versions.txt"
