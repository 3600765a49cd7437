#!/usr/bin/env bash
# Builds qforge's libFuzzer targets with clang (ASan + UBSan) and runs each for SECONDS
# (default 60). Exits non-zero when any target crashes, leaks, hangs or fails to build.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     TARGET: gguf safetensors hf_config hf_tokenizer (default: all)
#
# Environment: QFORGE_FUZZ_BUILD (build directory, default build-fuzz), QFORGE_FUZZ_JOBS (build
# parallelism), QFORGE_SHARED_DIR (where the shared test data lives, default ../shared).
# The corpus each run grows is kept in $QFORGE_FUZZ_BUILD/corpus/<target> and reused; crash
# reproducers land in $QFORGE_FUZZ_BUILD/artifacts/<target>/. Re-run one with
#   build-fuzz/fuzz/<target>_fuzz build-fuzz/artifacts/<target>/crash-...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(gguf safetensors hf_config hf_tokenizer)
build="${QFORGE_FUZZ_BUILD:-$root/build-fuzz}"
shared="${QFORGE_SHARED_DIR:-$root/../shared}"
jobs="${QFORGE_FUZZ_JOBS:-$(nproc)}"

log() { printf 'fuzz: %s\n' "$*" >&2; }

[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { log "SECONDS must be a positive integer"; exit 2; }
for t in "${targets[@]}"; do
  [[ -f "$root/fuzz/${t}_fuzz.cpp" ]] || { log "unknown target '$t'"; exit 2; }
done
command -v clang++ >/dev/null || { log "clang++ not found (libFuzzer needs clang)"; exit 2; }

# -O1 -g without NDEBUG: assertions stay on and stacks are readable.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DQFORGE_FUZZ=ON -DQFORGE_BUILD_TESTS=OFF \
  -DQFORGE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_seeds "${targets[@]/%/_fuzz}"

# Seeds: small valid files of each format, regenerated every run, plus llama.cpp's smallest
# real GGUF file (copied at run time, never committed) when the shared data is present.
seeds="$build/seeds"
rm -rf "$seeds"
"$build/fuzz/fuzz_seeds" "$seeds"
if [[ -f "$shared/testdata/llamacpp/imatrix.gguf" ]]; then
  cp "$shared/testdata/llamacpp/imatrix.gguf" "$seeds/gguf/llamacpp-imatrix.gguf"
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log "running ${t}_fuzz for ${seconds}s (corpus $corpus)"
  status=0
  # -timeout: one input running over 10 s is a hang; -rss_limit_mb: memory blow-ups fail.
  "$build/fuzz/${t}_fuzz" "$corpus" "$seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$root/fuzz/$t.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    >"$build/$t.log" 2>&1 || status=$?
  tail -n 12 "$build/$t.log" >&2
  if [[ $status -ne 0 ]]; then
    log "${t}_fuzz FAILED (exit $status); log $build/$t.log; reproducers in $artifacts/"
    failed+=("$t")
  else
    log "${t}_fuzz: no crash in ${seconds}s"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  log "crashed: ${failed[*]}"
  exit 1
fi
log "all targets ran ${seconds}s without a crash"
