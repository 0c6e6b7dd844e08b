#!/usr/bin/env bash
# Builds minivmm's minimal microVM kernel from Debian's linux-source-6.1: `make tinyconfig` plus
# the fragment minimal.config (merged with merge_config.sh, every fragment line verified after
# olddefconfig), the patches in patches/, then `make bzImage` (niced). Prints the cache directory
# holding bzImage, vmlinux (ELF, bootable through its PVH note), config and System.map.
# Cache key: minimal.config + this script + patches/* + the linux-source-6.1 package version.
# Env: MINIVMM_CACHE (cache root), MINIVMM_JOBS (make -j, default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
jobs=${MINIVMM_JOBS:-2}
fragment=$here/minimal.config
src_pkg=linux-source-6.1

script_name=build-minimal-kernel
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

ensure_packages "$src_pkg" gcc make libc6-dev flex bison bc libelf-dev lz4 xz-utils perl patch

src_ver=$(dpkg-query -W -f='${Version}' "$src_pkg")
tarball=/usr/src/linux-source-6.1.tar.xz
[[ -f $tarball ]] || die "$tarball missing although $src_pkg $src_ver is installed"

patch_hash=$(cat "$here"/patches/*.patch | sha256sum | cut -c1-12)
key=$( { cat "$fragment" "${BASH_SOURCE[0]}"; cat "$here"/patches/*.patch; echo "$src_pkg=$src_ver"; } |
       sha256sum | cut -c1-16)
out=$cache_root/minimal-kernel-$key
if [[ -f $out/bzImage && -f $out/vmlinux ]]; then
    log "cached: $out"
    echo "$out"
    exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.minimal-kernel.lock"
flock 9   # one build at a time; the source tree and object dir below are shared
if [[ -f $out/bzImage && -f $out/vmlinux ]]; then   # built by another caller meanwhile
    echo "$out"
    exit 0
fi

# The patched source tree, keyed by package version and patches; extracted once.
src=$cache_root/linux-src-$src_ver-$patch_hash
if [[ ! -f $src/.minivmm-ready ]]; then
    log "extracting $tarball ($src_pkg $src_ver)"
    rm -rf "$src" "$src.tmp"
    mkdir -p "$src.tmp"
    tar -xf "$tarball" -C "$src.tmp" --strip-components=1
    for p in "$here"/patches/*.patch; do
        log "applying $(basename "$p")"
        patch -d "$src.tmp" -p1 --forward --quiet < "$p" >&2
    done
    touch "$src.tmp/.minivmm-ready"
    mv "$src.tmp" "$src"
fi

# The object directory is reused across config changes (kbuild rebuilds only what changed).
obj=$cache_root/linux-obj-$src_ver-$patch_hash
mkdir -p "$obj"

# Reproducible build metadata.
export KBUILD_BUILD_USER=minivmm KBUILD_BUILD_HOST=minivmm
export KBUILD_BUILD_TIMESTAMP="$src_pkg $src_ver"
export KCONFIG_CONFIG=$obj/.config

log "configuring: tinyconfig + $(basename "$fragment")"
make -C "$src" O="$obj" tinyconfig >&2
(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "$fragment" >&2)
make -C "$src" O="$obj" olddefconfig >&2

# Every line of the fragment must have survived olddefconfig (a dependency may drop one quietly).
bad=0
while IFS= read -r line; do
    if [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        opt=${BASH_REMATCH[1]}
        if grep -q "^$opt=" "$obj/.config"; then
            log "fragment wants '$line' but got '$(grep "^$opt=" "$obj/.config")'"; bad=1
        fi
    elif [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
        opt=${BASH_REMATCH[1]}
        if ! grep -qxF -- "$line" "$obj/.config"; then
            got=$(grep -E "^$opt=|^# $opt is not set" "$obj/.config" || echo "absent")
            log "fragment wants '$line' but got '$got'"; bad=1
        fi
    fi
done < "$fragment"
[[ $bad -eq 0 ]] || die "options of $(basename "$fragment") did not survive olddefconfig (see above)"
log "all options of $(basename "$fragment") verified"

log "building bzImage with make -j$jobs (niced; about 8 minutes on 2 cores from scratch)"
start=$SECONDS
nice -n 19 make -C "$src" O="$obj" -j"$jobs" bzImage >&2
log "build took $((SECONDS - start)) s"

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/vmlinux" "$obj/System.map" "$out.tmp/"
cp "$obj/.config" "$out.tmp/config"
echo "$src_pkg=$src_ver" > "$out.tmp/source-version"
rm -rf "$out"
mv "$out.tmp" "$out"
log "done: $out"
echo "$out"
