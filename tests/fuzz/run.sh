#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan, clang, their own build folder) and runs each one for
# SECONDS seconds from its seed corpus. Exits non-zero when a target crashes, leaks, times out or
# cannot be built; the input that did it is left in build/fuzz/artifacts/. Usage:
#   tests/fuzz/run.sh SECONDS [target…]        (targets: the names of tests/fuzz/*.cpp; default: all)
# Environment: KFC_FUZZ_BUILD_DIR (default build/fuzz), KFC_FUZZ_JOBS (parallel targets, default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:?usage: tests/fuzz/run.sh SECONDS [target...]}
shift
build_dir=${KFC_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${KFC_FUZZ_JOBS:-1}

# clang 16 (Debian 12): clang 14 cannot compile libstdc++ 12's std::expected, which the code uses.
./deploy/install-deps.sh
./deploy/install-deps.sh clang-16 libclang-rt-16-dev llvm-16

targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in tests/fuzz/*.cpp; do
    name=$(basename "$source" .cpp)
    [ "$name" = replay_main ] || targets+=("$name")
  done
fi

CC=clang-16 CXX=clang++-16 cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKFC_FUZZ=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build_dir/artifacts" "$build_dir/logs"
symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
run_target() {
  local name=$1 corpus="$build_dir/corpus/$1"
  mkdir -p "$corpus"
  # The working corpus grows in the build folder; the committed seeds are only read.
  ASAN_SYMBOLIZER_PATH=$symbolizer ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    "$build_dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$name-" \
    "$corpus" "tests/fuzz/corpus/$name" >"$build_dir/logs/$name.log" 2>&1
}

status=0
pids=()
names=()
for name in "${targets[@]}"; do
  run_target "$name" &
  pids+=($!)
  names+=("$name")
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}" || { status=1; echo "FAILED: ${names[0]} — see $build_dir/logs/${names[0]}.log"; }
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { status=1; echo "FAILED: ${names[$i]} — see $build_dir/logs/${names[$i]}.log"; }
done

printf '%-22s %12s %8s %8s %10s\n' target runs cov ft corpus
for name in "${targets[@]}"; do
  log="$build_dir/logs/$name.log"
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  corpus=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' <<<"$last" | cut -d' ' -f2 || true)
  printf '%-22s %12s %8s %8s %10s\n' "$name" "${runs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}"
done
exit $status
