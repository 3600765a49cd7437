#!/usr/bin/env bash
# qforge's quantizer beside llama.cpp's, type by type, measured in one run on this machine.
#
#   bench/compare_quantizers.sh --llama-bin DIR [--model tiny|smollm2] [--chunks N] [--out FILE]
#                               [--configs "TYPE:METHOD ..."]
#
# DIR holds llama.cpp's tools (llama-quantize, llama-perplexity), built outside this repository.
# For each type both tools quantize the same unquantized source with 2 threads (wall time), and
# both files are scored by the same evaluator (qforge perplexity) against one baseline: llama.cpp's
# --kl-divergence-base file of the source. Columns: file size, bits per weight, PPL, mean KLD,
# same-top-token %, quantization seconds, and the importance-weighted squared weight error of
# qforge relative to llama.cpp (geometric mean over same-type tensors; < 1 means qforge is lower).
#   tiny:    ../shared/testdata/llamacpp/tiny-llama-f32.gguf, eval.txt at context 128, imatrix.gguf
#   smollm2: the default model dequantized to F32 by qforge (llama.cpp's baseline is the same
#            file), wikitext-2 test at context 512 (first N chunks, default 20), imatrix from
#            ../shared/testdata/llamacpp-smollm2.
# --configs replaces the model's list of TYPE:METHOD rows (METHOD: pure, pure-imat, imat, default,
# pure-estimated, estimated). Without an imatrix qforge's default lets the model sample its own
# calibration text; the -estimated rows turn that off (--no-self-calibration) and weight by the
# estimate from the weights alone. llama.cpp gets the same arguments as the row minus that flag.
# Prints a Markdown table on stdout (and to --out); progress on stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="$root/../shared"
llama_bin="" model=tiny chunks=20 out="" only_configs=""
while (($#)); do
  case "$1" in
    --llama-bin) llama_bin="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --chunks) chunks="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --configs) only_configs="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "compare_quantizers.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for tool in llama-quantize llama-perplexity; do
  if [[ -z "$llama_bin" || ! -x "$llama_bin/$tool" ]]; then
    echo "compare_quantizers.sh: --llama-bin must name a directory with llama.cpp's $tool" >&2
    exit 2
  fi
done
for config in $only_configs; do  # checked before the slow baseline is computed
  case "${config#*:}" in
    pure|pure-imat|imat|default|pure-estimated|estimated) ;;
    *) echo "compare_quantizers.sh: --configs: '$config' is not TYPE:METHOD (METHOD: pure, pure-imat, imat, default, pure-estimated, estimated)" >&2
       exit 2 ;;
  esac
done
qforge="$root/build/src/qforge"
weight_error="$root/build/bench/weight_error"
for exe in "$qforge" "$weight_error"; do
  [[ -x "$exe" ]] || { echo "compare_quantizers.sh: $exe is missing; build first (scripts/setup.sh)" >&2; exit 2; }
done

work="$(mktemp -d /tmp/qforge-compare.XXXXXX)"
trap 'rm -rf "$work"' EXIT

case "$model" in
  tiny)
    source_model="$shared/testdata/llamacpp/tiny-llama-f32.gguf"
    text="$shared/testdata/llamacpp/eval.txt"
    imatrix="$shared/testdata/llamacpp/imatrix.gguf"
    calibration=(-f "$shared/testdata/llamacpp/calib.txt" -c 128)
    ctx=128 chunk_args=()
    kld_base="$shared/testdata/llamacpp/kld-base-f32.bin"
    configs=(Q4_0:pure Q4_1:pure Q5_0:pure Q5_1:pure Q8_0:pure Q2_K:pure Q3_K_S:pure Q4_K_S:pure
             Q5_K_S:pure Q6_K:pure IQ4_NL:pure IQ4_XS:pure
             Q4_0:pure-imat Q4_1:pure-imat Q5_0:pure-imat Q5_1:pure-imat Q2_K:pure-imat
             Q3_K_S:pure-imat Q4_K_S:pure-imat Q5_K_S:pure-imat Q6_K:pure-imat IQ4_NL:pure-imat
             IQ4_XS:pure-imat Q2_K:imat Q3_K_M:imat Q4_K_M:imat Q5_K_M:imat
             Q4_0:pure-estimated Q4_1:pure-estimated Q5_0:pure-estimated Q5_1:pure-estimated
             Q8_0:pure-estimated Q2_K:pure-estimated Q3_K_S:pure-estimated Q4_K_S:pure-estimated
             Q5_K_S:pure-estimated Q6_K:pure-estimated IQ4_NL:pure-estimated IQ4_XS:pure-estimated)
    ;;
  smollm2)
    source_model="$work/smollm2-f32.gguf"
    echo "== dequantizing the default model to F32" >&2
    "$qforge" quantize "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$source_model" --type F32 >&2
    text="$shared/data/text/wikitext-2-test.txt"
    imatrix="$shared/testdata/llamacpp-smollm2/imatrix-frankenstein.gguf"
    calibration=(-f "$shared/data/text/frankenstein.txt" -c 512 --chunks 100)
    ctx=512 chunk_args=(--chunks "$chunks")
    kld_base="$work/kld-base.bin"
    echo "== llama.cpp's baseline logits ($chunks chunks of $ctx)" >&2
    "$llama_bin/llama-perplexity" -m "$source_model" -f "$text" -c "$ctx" -b "$ctx" --chunks "$chunks" \
      -t 2 --kl-divergence-base "$kld_base" > "$work/base.log" 2>&1
    configs=(Q8_0:default Q6_K:default Q5_K_M:default Q4_K_M:default Q4_1:default Q4_0:default
             IQ4_XS:default Q3_K_M:default Q2_K:default
             Q4_K_M:imat IQ4_XS:imat Q4_0:imat Q3_K_M:imat Q2_K:imat
             Q4_0:estimated IQ4_XS:estimated Q3_K_M:estimated)
    ;;
  *) echo "compare_quantizers.sh: --model must be tiny or smollm2" >&2; exit 2 ;;
esac
if [[ -n "$only_configs" ]]; then
  read -r -a configs <<< "$only_configs"
fi
[[ -f "$kld_base" ]] || { echo "compare_quantizers.sh: no baseline logits at $kld_base (see $work/base.log)" >&2; exit 1; }

now() { date +%s.%N; }

# The weight error of every row is weighted by measured importance, whatever the quantizers
# were given: the mean square of each column's activation on the calibration text, the output
# head included (llama.cpp's imatrix files leave it out), so that errors count as much as the
# output error they cause.
echo "== importance for judging weight error (qforge imatrix --process-output)" >&2
"$qforge" imatrix -m "$source_model" "${calibration[@]}" --process-output -t 2 -o "$work/judge-imatrix.gguf" >&2

# Prints "size bpw ppl kld same_top" for a file, scored against the baseline.
score() {
  local log="$work/score.log"
  "$qforge" perplexity -m "$1" --kld-base "$kld_base" -c "$ctx" -t 2 > "$log" 2>/dev/null
  local size bpw ppl kld top
  size=$(stat -c %s "$1")
  bpw=$("$qforge" info "$1" --no-tensors | awk '/^bits\/weight/ {print $2}')
  ppl=$(awk '/^PPL =/ {print $3}' "$log")
  kld=$(awk '/^KLD mean/ {print $3}' "$log")
  top=$(awk '/^same top token/ {print $4}' "$log")
  echo "$size ${bpw:-?} $ppl $kld $top"
}

header="| type | method | qforge size | bpw | qforge PPL | llama.cpp PPL | qforge KLD | llama.cpp KLD | qforge same-top % | llama.cpp same-top % | qforge s | llama.cpp s | weight error qforge/llama.cpp (tensors lower) |"
rule="|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
rows=()
for config in "${configs[@]}"; do
  type="${config%%:*}" method="${config#*:}"
  q_args=(--type "$type") l_args=()
  case "$method" in
    pure) q_args+=(--pure); l_args+=(--pure) ;;
    pure-imat) q_args+=(--pure --imatrix "$imatrix"); l_args+=(--pure --imatrix "$imatrix") ;;
    imat) q_args+=(--imatrix "$imatrix"); l_args+=(--imatrix "$imatrix") ;;
    pure-estimated) q_args+=(--pure --no-self-calibration); l_args+=(--pure) ;;
    estimated) q_args+=(--no-self-calibration) ;;
  esac
  echo "== $type ($method)" >&2
  t0=$(now)
  "$qforge" quantize "$source_model" "$work/q.gguf" "${q_args[@]}" -t 2 > /dev/null 2>&1
  t1=$(now)
  "$llama_bin/llama-quantize" "${l_args[@]}" "$source_model" "$work/l.gguf" "$type" 2 > "$work/lq.log" 2>&1
  t2=$(now)
  ratio=$("$weight_error" --source "$source_model" --imatrix "$work/judge-imatrix.gguf" "$work/q.gguf" "$work/l.gguf" |
          awk '/geometric mean error ratio/ {n = $3; sub(";", "", n); printf "%s (%s/%s)", $NF, $9, n}')
  read -r q_size q_bpw q_ppl q_kld q_top < <(score "$work/q.gguf")
  read -r _ _ l_ppl l_kld l_top < <(score "$work/l.gguf")
  row=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s |' \
        "$type" "$method" "$q_size" "$q_bpw" "$q_ppl" "$l_ppl" "$q_kld" "$l_kld" "$q_top" "$l_top" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')" \
        "${ratio:-n/a}")
  echo "$row" >&2
  rows+=("$row")
done

{
  echo "$header"
  echo "$rule"
  printf '%s\n' "${rows[@]}"
} | tee ${out:+"$out"}
