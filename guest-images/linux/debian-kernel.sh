#!/usr/bin/env bash
# Fetches Debian's cloud kernel without installing it: resolves the linux-image-<abi>-cloud-amd64
# package that linux-image-cloud-amd64 depends on, `apt-get download`s it and `dpkg -x`es it into
# the cache (nothing goes to /boot). Prints the path of the vmlinuz (a bzImage); its config and
# System.map sit beside it, its modules under ../lib/modules.
# Cache key: the image package's name and version.
set -euo pipefail

cache_root=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
meta=linux-image-cloud-amd64

log() { echo "debian-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the candidate version of package $1 (empty when apt knows none).
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }' | grep -v '(none)' || true; }

meta_ver=$(candidate "$meta")
if [[ -z $meta_ver ]]; then
    log "apt knows no $meta: running apt-get update"
    apt-get update >&2
    meta_ver=$(candidate "$meta")
fi
[[ -n $meta_ver ]] || die "no candidate for $meta in the configured Debian archive"

# The real image package, e.g. linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2).
pkg=$(apt-cache show "$meta=$meta_ver" | awk -F': ' '/^Depends:/ { print $2; exit }' |
      tr ',' '\n' | sed -E 's/^ +//; s/ .*//' | grep -E '^linux-image-[0-9].*-cloud-amd64$' | head -n1)
[[ -n $pkg ]] || die "could not find the linux-image-<abi>-cloud-amd64 dependency of $meta $meta_ver"
ver=$(candidate "$pkg")
[[ -n $ver ]] || die "no candidate version for $pkg"

out=$cache_root/debian-kernel-$pkg-$ver
find_vmlinuz() { [[ -d $1/boot ]] && find "$1/boot" -maxdepth 1 -name 'vmlinuz-*' -type f | head -n1 || true; }

vmlinuz=$(find_vmlinuz "$out")
if [[ -f $out/.minivmm-ready && -n $vmlinuz ]]; then
    log "cached: $pkg $ver"
    echo "$vmlinuz"
    exit 0
fi

mkdir -p "$cache_root"
tmp=$(mktemp -d "$cache_root/.debian-kernel.XXXXXX")
dl=$(mktemp -d)   # apt-get download drops privileges to _apt, who cannot write under /root
trap 'rm -rf "$tmp" "$dl"' EXIT

log "downloading $pkg $ver"
start=$SECONDS
chmod 0777 "$dl"
(cd "$dl" && apt-get download "$pkg=$ver" >&2)
deb=$(find "$dl" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
[[ -n $deb ]] || die "apt-get download produced no .deb for $pkg"
log "downloaded $(basename "$deb") ($(du -h "$deb" | cut -f1)) in $((SECONDS - start)) s"

mkdir "$tmp/root"
dpkg -x "$deb" "$tmp/root"
rm -rf "$out"
mv "$tmp/root" "$out"
touch "$out/.minivmm-ready"

vmlinuz=$(find_vmlinuz "$out")
[[ -n $vmlinuz ]] || die "$deb has no boot/vmlinuz-*"
log "done: $vmlinuz"
echo "$vmlinuz"
