#!/usr/bin/env bash
# Fetches Debian's cloud kernel without installing it: resolves the linux-image-<abi>-cloud-amd64
# package that linux-image-cloud-amd64 depends on, `apt-get download`s it and `dpkg -x`es it into
# the cache (nothing goes to /boot). Prints the path of the vmlinuz (a bzImage); its config and
# System.map sit beside it, its modules under ../lib/modules. Also unpacks the ELF vmlinux from the
# bzImage's payload to boot/vmlinux-<abi>-cloud-amd64 (it carries the PVH entry note, so a VMM can
# boot it without running the decompressor, which costs ~35 s on software-emulated KVM).
# Cache key: the image package's name and version.
set -euo pipefail

cache_root=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
meta=linux-image-cloud-amd64

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script_name=debian-kernel
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

# Prints the candidate version of package $1 (empty when apt knows none).
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }' | grep -v '(none)' || true; }

ensure_packages dpkg gzip xz-utils lz4 zstd

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

# Reads an unsigned little-endian integer of $3 bytes at offset $2 of file $1.
read_le() { od -An -t "u$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '; }

# Unpacks the ELF vmlinux in bzImage $1's payload (Linux x86 boot protocol >= 2.08:
# payload_offset at 0x248 and payload_length at 0x24c, from the protected-mode code) to $2.
extract_vmlinux() {
    local bz=$1 dest=$2 setup_sects pm offset length magic
    setup_sects=$(read_le "$bz" $((0x1f1)) 1)
    [[ $setup_sects -eq 0 ]] && setup_sects=4
    pm=$(( (setup_sects + 1) * 512 ))
    offset=$(read_le "$bz" $((0x248)) 4)
    length=$(read_le "$bz" $((0x24c)) 4)
    magic=$(od -An -t x1 -j $((pm + offset)) -N 6 "$bz" | tr -d ' ')
    local -a decompress
    case $magic in
        1f8b*) decompress=(gzip -dc) ;;
        fd377a585a00) decompress=(xz -dc --single-stream) ;;
        02214c18*) decompress=(lz4 -dc) ;;
        28b52ffd*) decompress=(zstd -dc) ;;
        *) log "unknown bzImage payload compression (magic $magic): no vmlinux extracted"; return 0 ;;
    esac
    # The kernel appends the decompressed size after the stream; decompressors may complain
    # about it, so the exit status is ignored and the result checked as an ELF instead.
    tail -c +$((pm + offset + 1)) "$bz" | head -c "$length" | "${decompress[@]}" > "$dest" 2>/dev/null || true
    if [[ $(od -An -c -N4 "$dest" | tr -d ' ') != '177ELF' ]]; then
        log "payload of $bz did not decompress to an ELF (${decompress[*]}): no vmlinux extracted"
        rm -f "$dest"
    else
        log "extracted $(basename "$dest") ($(du -h "$dest" | cut -f1)) from the bzImage payload"
    fi
}

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
vmlinuz=$(find_vmlinuz "$tmp/root")
[[ -n $vmlinuz ]] || die "$deb has no boot/vmlinuz-*"
extract_vmlinux "$vmlinuz" "$(dirname "$vmlinuz")/$(basename "$vmlinuz" | sed 's/^vmlinuz-/vmlinux-/')"
rm -rf "$out"
mv "$tmp/root" "$out"
touch "$out/.minivmm-ready"

vmlinuz=$(find_vmlinuz "$out")
log "done: $vmlinuz"
echo "$vmlinuz"
