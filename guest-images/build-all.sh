#!/usr/bin/env bash
# Builds (or finds in the cache) the guest images the tests need and prints one `name=path` line
# each: always the Debian cloud kernel and the test initramfs; the minimal microVM kernel only
# with --minimal-kernel (a from-scratch build takes 4-8 minutes on 2 cores).
#   debian_kernel=<vmlinuz>  debian_vmlinux=<ELF vmlinux with PVH note>  initramfs=<initramfs.cpio>
#   minimal_kernel_dir=<dir>  minimal_bzimage=<dir>/bzImage  minimal_vmlinux=<dir>/vmlinux
# Usage: guest-images/build-all.sh [--minimal-kernel]; eval-able: eval "$(guest-images/build-all.sh)"
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

minimal=0
for arg in "$@"; do
    case "$arg" in
        --minimal-kernel) minimal=1 ;;
        -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-all: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

debian_kernel=$("$here/linux/debian-kernel.sh")
initramfs=$("$here/initramfs/build-initramfs.sh")
echo "debian_kernel=$debian_kernel"
debian_vmlinux=$(dirname "$debian_kernel")/$(basename "$debian_kernel" | sed 's/^vmlinuz-/vmlinux-/')
[[ -f $debian_vmlinux ]] && echo "debian_vmlinux=$debian_vmlinux"
echo "initramfs=$initramfs"

if [[ $minimal -eq 1 ]]; then
    dir=$("$here/linux/build-minimal-kernel.sh")
    echo "minimal_kernel_dir=$dir"
    echo "minimal_bzimage=$dir/bzImage"
    echo "minimal_vmlinux=$dir/vmlinux"
fi
