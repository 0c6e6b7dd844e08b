#!/usr/bin/env bash
# Installs the Debian 12 packages minivmm needs to build and test (as root, or through sudo).
# Usage: tools/install-deps.sh [--bench] [--fuzz]   (--bench adds what the benchmarks compare
# against; --fuzz adds clang and its libFuzzer runtime for tools/fuzz.sh)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config g++ gcc libfmt-dev libcli11-dev catch2
          linux-libc-dev liburing-dev libmnl-dev libseccomp-dev busybox-static cpio iproute2 e2fsprogs util-linux
          libmicrohttpd-dev nlohmann-json3-dev curl ccache
          gdb)  # gdb: the gdb stub's integration tests (tests/integration/gdb_test.cpp)
for option in "$@"; do
    case $option in
    --bench) packages+=(qemu-system-x86 fio hyperfine time strace linux-perf) ;;  # strace, perf: tools/bench/io_breakdown
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    esac
done

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
