#!/usr/bin/env bash
# Configures and builds minivmm into build/ (or the directory given), binary at build/minivmm.
# Usage: tools/build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
# Compiler cache (ccache, from tools/install-deps.sh): every build directory of every checkout on
# this machine shares it, so a fresh clone (CI) and the sanitizer builds recompile only what
# changed. Paths below the checkout are hashed relative to it (BASEDIR, NOHASHDIR), so two clones
# share entries. Kept with the guest images under ~/.cache/minivmm unless CCACHE_DIR says otherwise.
launcher=()
if command -v ccache >/dev/null; then
    export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/minivmm/ccache}
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=1
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
ninja -C "$build_dir"
