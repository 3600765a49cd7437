#!/usr/bin/env bash
# Generation and prompt-processing speed of qforge beside llama.cpp on the same GGUF files,
# measured in one run, with the machine's memory-bandwidth ceiling from bench_kernels.
#
#   bench/compare_inference.sh --llama-bin DIR [--types "Q4_0 Q4_K_M Q8_0 F16"] [--reps N]
#                              [--files DIR]
#
# The files are made by qforge from the default model (SmolLM2-135M-Instruct) dequantized to
# F32, so both engines read identical bytes. For each file and thread count (1, 2) the two
# engines alternate: qforge's bench_inference (pp512, tg128, median of N) then llama-bench
# (-p 512 -n 128 -r N). --files DIR keeps the quantized files there and reuses those already
# present (DIR/TYPE.gguf). Prints a Markdown table; progress on stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
llama_bin="" types="Q4_0 Q4_K_M Q8_0 F16" reps=3 files=""
while (($#)); do
  case "$1" in
    --llama-bin) llama_bin="$2"; shift 2 ;;
    --types) types="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --files) files="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "compare_inference.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$llama_bin" && -x "$llama_bin/llama-bench" ]] || {
  echo "compare_inference.sh: --llama-bin must name a directory with llama.cpp's llama-bench" >&2; exit 2; }
qforge="$root/build/src/qforge" bench="$root/build/bench/bench_inference" kernels="$root/build/bench/bench_kernels"
for exe in "$qforge" "$bench" "$kernels"; do
  [[ -x "$exe" ]] || { echo "compare_inference.sh: $exe is missing; build first" >&2; exit 2; }
done
work="$(mktemp -d /tmp/qforge-infer.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== memory-bandwidth ceiling" >&2
ceiling=$("$kernels" --format q8_0 | grep '^- memory-bandwidth ceiling' || true)

if [[ -n "$files" ]]; then
  mkdir -p "$files"
  rm -rf "$work"
  work="$files"
  trap - EXIT
fi
[[ -f "$work/f32.gguf" ]] ||
  "$qforge" quantize "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$work/f32.gguf" --type F32 > /dev/null 2>&1
echo "| type | threads | qforge pp512 t/s | llama.cpp pp512 t/s | pp ratio | qforge tg128 t/s | llama.cpp tg128 t/s | tg ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for type in $types; do
  echo "== $type" >&2
  [[ -f "$work/$type.gguf" ]] ||
    "$qforge" quantize "$work/f32.gguf" "$work/$type.gguf" --type "$type" > /dev/null 2>&1
  for threads in 1 2; do
    q=$("$bench" -m "$work/$type.gguf" -p 512 -n 128 -r "$reps" -t "$threads")
    q_pp=$(echo "$q" | awk -F'|' '$3 ~ /pp512/ {gsub(/ /, "", $4); print $4}')
    q_tg=$(echo "$q" | awk -F'|' '$3 ~ /tg128/ {gsub(/ /, "", $4); print $4}')
    l=$("$llama_bin/llama-bench" -m "$work/$type.gguf" -p 512 -n 128 -r "$reps" -t "$threads" 2>/dev/null)
    l_pp=$(echo "$l" | awk -F'|' '$7 ~ /pp512/ {split($8, a, "±"); gsub(/ /, "", a[1]); print a[1]}')
    l_tg=$(echo "$l" | awk -F'|' '$7 ~ /tg128/ {split($8, a, "±"); gsub(/ /, "", a[1]); print a[1]}')
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
    echo "| $type | $threads | $q_pp | ${l_pp:-?} | $(ratio "$q_pp" "$l_pp") | $q_tg | ${l_tg:-?} | $(ratio "$q_tg" "$l_tg") |"
  done
done
echo
echo "memory-bandwidth ceiling (bench_kernels --format q8_0, 512 MiB stream):"
echo "$ceiling"
