#!/usr/bin/env bash
# Sets qforge up on a fresh Debian 12 machine, then runs the main job on the default model:
#   1. installs the Debian packages the build and tests need (skipped when present),
#   2. fetches and verifies the models (scripts/fetch_models.sh),
#   3. builds in build/ (Release),
#   4. runs the main job (scripts/main_job.sh) unless --no-run is given.
# Every step is a no-op when its result is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run_main_job=1
for arg in "$@"; do
  case "$arg" in
    --no-run) run_main_job=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake git pkg-config python3 python3-pip
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libicu-dev libtoml11-dev zlib1g-dev
  clang libclang-rt-14-dev
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [[ "$(id -u)" != 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$root/scripts/fetch_models.sh"

# The configuration scripts/test.sh uses (warnings are errors), so running the tests after
# setup reuses this build instead of recompiling everything with other flags.
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DQFORGE_WERROR=ON > /dev/null
cmake --build "$root/build" -j"$(nproc)"

if ((run_main_job)); then
  "$root/scripts/main_job.sh"
fi
