#!/usr/bin/env bash
# Set up a fresh Debian machine (as root) for bakery: the Docker engine and
# buildx, the host tools, the Python environment, and the root image.
# Idempotent: each step skips what is already there. Used by .ci/run and the
# README's two fresh-machine commands.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

need=()
for tool in mmdebstrap shellcheck dot; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing host tools: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # graphviz provides `dot` (invoke plan renders the tree to SVG with it).
  pkgs=("${need[@]/dot/graphviz}")
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" python3-venv >/dev/null
fi

bash ci/provision-docker.sh

if [ ! -x .venv/bin/invoke ] || [ pyproject.toml -nt .venv/.installed ]; then
  say "creating .venv and installing bakery with its dev tools"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch .venv/.installed
fi

say "root image"
.venv/bin/invoke system-image
