#!/usr/bin/env bash
# Builds everything and runs every test: unit, integration (real guests on /dev/kvm) and the
# fuzz-corpus replay, first in a normal build, then again under AddressSanitizer + UBSan, then the
# threaded parts (event loop, vCPU stop and kick, limiter timers, console, VMs on /dev/kvm) under
# ThreadSanitizer (MINIVMM_TSAN_SUITE=0 skips that last part).
# Set MINIVMM_SLOW_TESTS=1 to include the Linux boot-to-init tests (many minutes here).
# The minimal kernel is always built (once: cached by its inputs; 4-8 minutes from scratch): the
# gdb test debugs its vmlinux, which takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh

# Guest images from Debian's archive, cached under ~/.cache/minivmm keyed by their inputs.
if [[ -x guest-images/build-all.sh ]]; then
    while IFS='=' read -r name path; do
        [[ -n "$name" ]] || continue
        export "MINIVMM_IMAGE_${name^^}=$path"
    done < <(guest-images/build-all.sh --minimal-kernel)
fi

jobs=$(nproc)
run_suite() {
    local build_dir=$1
    shift
    echo "== building $build_dir" >&2
    ./tools/build.sh "$build_dir" "$@"
    echo "== testing $build_dir" >&2
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600 ${ctest_exclude:+-E "$ctest_exclude"} \
        ${ctest_include:+-R "$ctest_include"}
}

run_suite build
# The Linux boot tests run once, in the normal build: under ASan they only test the same VMM code
# paths again, minutes more per boot on software KVM.
# The sequential leak test starts 1,000 VMs in the normal build; under ASan each costs a few times
# more, and 300 still leave 280 after the warm-up batch to show a per-VM leak.
ctest_exclude=linux MINIVMM_LOAD_SEQUENTIAL_VMS=300 run_suite build-asan -DMINIVMM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
# ThreadSanitizer: about 10 s of tests; the build is the cost (about 15 min from nothing on 2
# cores, a minute or two with the compiler cache tools/build.sh keeps). TSan sees races
# only between threads of one process, so it runs what has threads: the unit tests of the event
# loop, the stopper, the limiter's timers, the console and the online backup (copier against
# copy-before-write), and the integration tests whose minivmm (built with TSan too) runs vCPU
# threads, io_uring, taps, the stop/kick path, the control API's and backup's threads, and the
# gdb stub's thread holding and releasing vCPUs.
# halt_on_error: the first race ends the VMM with TSan's status (66), which no test expects.
if [[ "${MINIVMM_TSAN_SUITE:-1}" == 1 ]]; then
    TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" \
    ctest_include='^(unit:(event_loop_test|stop_reason_test|thread_cpu_timer_test|vcpu_throttle_test|rate_limiter_test|console_test|backup_worker_test|online_backup_test|block_claims_test|saved_blocks_test|debug_barrier_test)|integration:(testguest_test|blk_test|net_test|api_test|api_disk_test|gdb_test))$' \
        run_suite build-tsan -DMINIVMM_SANITIZE=thread
fi
