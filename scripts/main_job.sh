#!/usr/bin/env bash
# The main job on the default model (SmolLM2-135M-Instruct): describe it, answer a question.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
qforge="$root/build/src/qforge"
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"

echo "== qforge info"
"$qforge" info "$model" --no-tensors | head -n 9
echo
echo "== qforge generate --chat (greedy)"
"$qforge" generate -m "$model" --chat -p "What is the capital of France?" -n 48
