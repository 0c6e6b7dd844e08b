#!/usr/bin/env bash
# Builds minivmm's test initramfs: an UNCOMPRESSED newc cpio holding only Debian's static busybox,
# the exit-port helper (exit-port.c, built here without libc) and /init (the shell script beside
# this file). Reproducible: fixed mtimes (0), owners (root) and file order. Prints the path of
# initramfs.cpio. Cache key: init, exit-port.c, this script, and the versions of busybox-static,
# gcc and cpio.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${MINIVMM_CACHE:-$HOME/.cache/minivmm}

script_name=build-initramfs
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

ensure_packages busybox-static gcc libc6-dev cpio

versions=$(dpkg-query -W -f='${Package}=${Version}\n' busybox-static cpio "$(readlink -f "$(command -v gcc)" | xargs basename | sed 's/^x86_64-linux-gnu-//')" 2>/dev/null || true)
key=$( { cat "$here/init" "$here/exit-port.c" "${BASH_SOURCE[0]}"; echo "$versions"; gcc --version | head -n1; } |
       sha256sum | cut -c1-16)
out=$cache_root/initramfs-$key
if [[ -f $out/initramfs.cpio ]]; then
    log "cached: $out/initramfs.cpio"
    echo "$out/initramfs.cpio"
    exit 0
fi

busybox=/bin/busybox
[[ -x $busybox ]] || die "$busybox missing although busybox-static is installed"
file_type=$(od -An -c -N4 "$busybox" | tr -d ' ')
[[ $file_type == '177ELF' ]] || die "$busybox is not an ELF binary"

mkdir -p "$cache_root"
tmp=$(mktemp -d "$cache_root/.initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root}
chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/init" "$root/init"
# The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
mknod -m 0600 "$root/dev/console" c 5 1

log "compiling exit-port.c"
gcc -static -Os -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables -fno-pie -no-pie \
    -Wall -Wextra -Werror -Wl,--build-id=none -s -o "$root/bin/exit-port" "$here/exit-port.c" >&2

# Reproducible archive: sorted names, mtime 0, owner root, no device/inode numbers from the host.
find "$root" -exec touch -h -d @0 {} +
mkdir -p "$tmp/out"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc --owner=0:0 --reproducible) > "$tmp/out/initramfs.cpio"
size=$(stat -c %s "$tmp/out/initramfs.cpio")
log "initramfs.cpio: $size bytes ($(cd "$root" && find . -mindepth 1 | wc -l) entries)"

rm -rf "$out"
mv "$tmp/out" "$out"
echo "$out/initramfs.cpio"
