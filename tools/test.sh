#!/usr/bin/env bash
# Builds everything and runs every test: unit, integration (real guests on /dev/kvm) and the
# fuzz-corpus replay, first in a normal build, then again under AddressSanitizer + UBSan.
# Set MINIVMM_SLOW_TESTS=1 to include the Linux boot-to-init tests (many minutes here).
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh

# Guest images from Debian's archive, cached under ~/.cache/minivmm keyed by their inputs.
if [[ -x guest-images/build-all.sh ]]; then
    while IFS='=' read -r name path; do
        [[ -n "$name" ]] || continue
        export "MINIVMM_IMAGE_${name^^}=$path"
    done < <(guest-images/build-all.sh ${MINIVMM_SLOW_TESTS:+--minimal-kernel})
fi

jobs=$(nproc)
run_suite() {
    local build_dir=$1
    shift
    echo "== building $build_dir" >&2
    ./tools/build.sh "$build_dir" "$@"
    echo "== testing $build_dir" >&2
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600 ${ctest_exclude:+-E "$ctest_exclude"}
}

run_suite build
# The Linux boot tests run once, in the normal build: under ASan they only test the same VMM code
# paths again, minutes more per boot on software KVM.
ctest_exclude=linux run_suite build-asan -DMINIVMM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
