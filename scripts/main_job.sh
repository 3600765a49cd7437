#!/usr/bin/env bash
# The main job on the default model (SmolLM2-135M-Instruct, Q4_1): describe it, answer a
# question, quantize it to Q4_K_M with an importance matrix, and check the result against the
# original with `qforge eval` (a shortened run: 8 text chunks, 8 items per suite; the full
# default run is `qforge eval --baseline ... --candidate ... --report DIR`, see README).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
qforge="$root/build/src/qforge"
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
out="$root/out"
mkdir -p "$out"

echo "== qforge info"
"$qforge" info "$model" --no-tensors | head -n 9
echo
echo "== qforge generate --chat (greedy)"
"$qforge" generate -m "$model" --chat --system "You are a helpful assistant." \
  -p "What is the capital of France?" -n 48
echo
echo "== qforge imatrix (calibration on Frankenstein, 16 chunks of 512)"
"$qforge" imatrix -m "$model" -f "$root/../shared/data/text/frankenstein.txt" -c 512 --chunks 16 \
  -o "$out/imatrix-smollm2.gguf"
echo
echo "== qforge quantize Q4_K_M"
"$qforge" quantize "$model" "$out/smollm2-Q4_K_M.gguf" --type Q4_K_M --imatrix "$out/imatrix-smollm2.gguf"
echo
echo "== qforge eval (shortened)"
status=0
"$qforge" eval --baseline "$model" --candidate "$out/smollm2-Q4_K_M.gguf" --report "$out/eval-Q4_K_M" \
  --chunks 8 --max-items 8 --serving-requests 8 || status=$?
echo "eval exit status: $status (0 = gate passed, 1 = regression found); open $out/eval-Q4_K_M/report.html"
