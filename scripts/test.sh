#!/usr/bin/env bash
# Builds and runs qforge's tests.
#   scripts/test.sh             Release build in build/, every test (models must be fetched)
#   scripts/test.sh --sanitize  ASan+UBSan Debug build in build-asan/, the unit tests
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=release
for arg in "$@"; do
  case "$arg" in
    --sanitize) mode=sanitize ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

jobs="$(nproc)"
export QFORGE_REQUIRE_MODELS="${QFORGE_REQUIRE_MODELS:-1}"
if [[ "$mode" == release ]]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DQFORGE_WERROR=ON > /dev/null
  cmake --build "$root/build" -j"$jobs"
  cd "$root/build" && ctest --output-on-failure -j"$jobs"
else
  cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DQFORGE_SANITIZE=ON \
    -DQFORGE_WERROR=ON -DQFORGE_BUILD_BENCH=OFF > /dev/null
  cmake --build "$root/build-asan" -j"$jobs" --target qforge_tests qforge
  # Tests that run whole real models are too slow under the sanitizers; their suites end in
  # "Slow" and run in the release build above.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$root/build-asan/tests/qforge_tests" --gtest_filter='-*Slow*.*' --gtest_brief=1
fi
