#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/) for MINUTES each (default 5) and reports per target
# the executions and whether it crashed; exits non-zero when any target crashed, hung or ran out
# of memory. Usage: tools/fuzz.sh [MINUTES] [TARGET...]
#
# Builds with clang, ASan+UBSan and -DMINIVMM_FUZZ=ON into build-fuzz/ (configured once, then
# incremental). Under $MINIVMM_FUZZ_DIR (default ~/.cache/minivmm): each target's working corpus
# persists in fuzz-corpus/<target>, seeded from the committed tests/fuzz/corpus/<target>; failing
# inputs land in fuzz-crashes/<target>/, libFuzzer's logs in fuzz-runs/. Jobs per target: $MINIVMM_FUZZ_JOBS
# (default: the number of cores), all run under `nice -n 19` so other work keeps the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-5}
shift || true
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')
jobs=${MINIVMM_FUZZ_JOBS:-$(nproc)}
work=${MINIVMM_FUZZ_DIR:-$HOME/.cache/minivmm}
build_dir=build-fuzz

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    # Every target tests/fuzz/CMakeLists.txt declares.
    read -r -a targets < <(sed -n 's/^set(minivmm_fuzz_targets \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
fi

./tools/install-deps.sh --fuzz
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    launcher=()
    if command -v ccache >/dev/null; then
        launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    fi
    cmake -S . -B "$build_dir" -G Ninja -DMINIVMM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" >/dev/null
fi
nice -n 10 ninja -C "$build_dir" "${targets[@]}"

failed=0
summary=()
for target in "${targets[@]}"; do
    corpus=$work/fuzz-corpus/$target
    crashes=$work/fuzz-crashes/$target
    run_dir=$work/fuzz-runs/$target-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$corpus" "$crashes" "$run_dir"
    touch "$run_dir/.start"
    echo "== $target: $jobs job(s) for ${seconds}s, corpus $corpus" >&2
    start=$(date +%s)
    # libFuzzer: with -jobs each job logs to fuzz-<n>.log in the working directory; new inputs go
    # to the first corpus directory, the committed seeds (second) are only read.
    (cd "$run_dir" && nice -n 19 "$OLDPWD/$build_dir/tests/fuzz/$target" \
        -jobs="$jobs" -workers="$jobs" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$corpus" "$OLDPWD/tests/fuzz/corpus/$target" >/dev/null 2>&1) || true
    elapsed=$(($(date +%s) - start))
    executions=$(cat "$run_dir"/fuzz-*.log 2>/dev/null \
        | awk '/^stat::number_of_executed_units:/ { total += $2 } END { print total + 0 }')
    found=$(find "$crashes" -type f -newer "$run_dir/.start" -printf '%f\n' | sort)
    if [[ -n $found ]]; then
        failed=1
        summary+=("$(printf '%-20s %12s executions in %5ss  FAILED: %s' "$target" "$executions" "$elapsed" \
            "$(echo "$found" | tr '\n' ' ')")")
        echo "   $target failed; inputs in $crashes/, logs in $run_dir/" >&2
    else
        summary+=("$(printf '%-20s %12s executions in %5ss  crash-free' "$target" "$executions" "$elapsed")")
    fi
done

echo
echo "== fuzz summary (${seconds}s per target, $jobs job(s) each)"
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
    cat <<EOF

A failing input reproduces with:  $build_dir/tests/fuzz/<target> $work/fuzz-crashes/<target>/<file>
Once the bug is fixed, keep the input as a regression case that every normal test run replays:
    cp $work/fuzz-crashes/<target>/<file> tests/fuzz/corpus/<target>/
    ctest --test-dir build -R 'fuzz-replay: <target>'
EOF
    exit 1
fi
