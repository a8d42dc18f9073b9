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
# Emulation for roots and runtime stages of other architectures (docs/decisions/cross-builds.md).
[ -f /usr/lib/binfmt.d/qemu-aarch64.conf ] || need+=(qemu-user-static)
command -v arch-test >/dev/null || need+=(arch-test)
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

# binfmt_misc: the kernel runs arm64 binaries through qemu-aarch64. Debian's
# package ships the registration line but registers it only through systemd
# (systemd-binfmt), which containers and CI machines often lack, so it is
# written here. The F flag (in the line) makes the kernel open the interpreter
# at registration, so it also works inside containers and build steps, whose
# root has no qemu (binfmt_misc.rst in the kernel's admin guide).
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
  say "mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc "$binfmt"
fi
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  say "registering qemu-aarch64 with binfmt_misc"
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf >"$binfmt/register"
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

# BAKERY_SETUP_ROOT=0 leaves the root image out: .ci/run's first call, whose
# engine reset would remove it before the tests' own call makes it again.
if [ "${BAKERY_SETUP_ROOT:-1}" != 0 ]; then
  say "root image"
  .venv/bin/invoke system-image
fi
