#!/usr/bin/env bash
# Set up a fresh Debian machine (as root) for bakery: the Docker engine and
# buildx, the host tools, the Python environment, and the root image.
# Idempotent: each step skips what is already there. Used by .ci/run and the
# README's two fresh-machine commands.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# Debian package for each missing tool; graphviz provides `dot` (invoke plan's SVG).
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v dot >/dev/null || need+=(graphviz)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
  say "installing host tools: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # dpkg's progress and debconf's notes go to a log, shown only on failure.
  log=$(mktemp)
  apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  rm -f "$log"
fi

bash ci/provision-docker.sh
# The runners lab's registry (lab/runners.py): docker-registry 2.8 unpacked, never installed.
bash ci/provision-lab.sh

if [ ! -x .venv/bin/invoke ] || [ pyproject.toml -nt .venv/.installed ]; then
  say "creating .venv and installing bakery with its dev tools"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch .venv/.installed
fi

say "root image"
.venv/bin/invoke system-image
