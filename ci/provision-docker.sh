#!/usr/bin/env bash
# Provision a Docker engine and the buildx plugin on a Debian host, then start
# dockerd. Idempotent; run as root. Handles three states:
#   running            -> print versions, change nothing
#   installed, stopped -> start dockerd
#   absent             -> install from Debian packages, then start dockerd
# containerd/runc/tini/iptables come from the host's own suite;
# dockerd and buildx come from Debian testing (then unstable), unpacked with
# `dpkg -x` into /usr/local so no host package is replaced and libc is never
# upgraded. If neither unpacks, fall back to Debian stable's versions.
set -euo pipefail

STATE_DIR=${BAKERY_PROVISION_DIR:-/var/lib/bakery-provision}
LOG=${DOCKERD_LOG:-/var/log/bakery-dockerd.log}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-60}
PREFIX=/usr/local
PLUGIN_DIR=$PREFIX/lib/docker/cli-plugins
SUITES=${BAKERY_DOCKER_SUITES:-"testing unstable stable"}

say() { printf 'provision: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (try: sudo $0)"

have_buildx() { docker buildx version >/dev/null 2>&1; }
engine_up() { docker info >/dev/null 2>&1; }

print_versions() {
  say "docker CLI: $(docker --version)"
  say "dockerd:    $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
  say "buildx:     $(docker buildx version)"
  say "storage:    $(docker info --format '{{.Driver}}' 2>/dev/null || echo '?')"
}

# The Debian mirror the host already uses (no host names written in the repo).
host_mirror() {
  local uri
  uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -vE 'security|updates' \
    | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*$//' \
    | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt sources; set one up and retry"
  printf '%s\n' "${uri%/}"
}

# Fetch .debs for PKGS from SUITE through a private apt state, leaving the
# host's sources and package lists untouched.
fetch_debs() {
  local suite=$1; shift
  local dir=$STATE_DIR/apt-$suite
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$(host_mirror)" "$suite" >"$dir/sources.list"
  local opts=(
    -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root
  )
  say "fetching $* from Debian $suite"
  apt-get "${opts[@]}" -qq update
  (cd "$dir/debs" && rm -f ./*.deb && apt-get "${opts[@]}" -qq download "$@")
  printf '%s\n' "$dir/debs"
}

# Unpack dockerd, docker-proxy and buildx into /usr/local; check they run.
install_from_suite() {
  local suite=$1 debs root
  debs=$(fetch_debs "$suite" docker.io docker-buildx) || return 1
  root=$(mktemp -d)
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
  install -m 0755 "$root/usr/sbin/dockerd" "$root/usr/sbin/docker-proxy" "$PREFIX/sbin/"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$root/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGIN_DIR/"
  rm -rf "$root"
  if ! "$PREFIX/sbin/dockerd" --version >/dev/null 2>&1 || ! have_buildx; then
    say "binaries from $suite do not run on this host"
    rm -f "$PREFIX/sbin/dockerd" "$PREFIX/sbin/docker-proxy" "$PLUGIN_DIR/docker-buildx"
    return 1
  fi
  say "installed from Debian $suite: $("$PREFIX/sbin/dockerd" --version); $(docker buildx version)"
  {
    echo "suite=$suite"
    echo "dockerd=$("$PREFIX/sbin/dockerd" --version)"
    echo "buildx=$(docker buildx version)"
  } >"$STATE_DIR/installed.txt"
}

install_engine() {
  export DEBIAN_FRONTEND=noninteractive
  say "installing runtime dependencies from the host's suite"
  apt-get -qq update
  # The host's own containerd/runc/tini/iptables; docker CLI only when missing.
  local pkgs=(containerd runc tini iptables ca-certificates)
  command -v docker >/dev/null || pkgs+=(docker-cli)
  mkdir -p "$STATE_DIR"
  # dpkg prints per-package progress even under -qq: keep it in a log, shown on failure.
  apt-get -qq install -y --no-install-recommends "${pkgs[@]}" >"$STATE_DIR/apt-install.log" 2>&1 ||
    { cat "$STATE_DIR/apt-install.log" >&2; die "apt-get install ${pkgs[*]} failed (log above)"; }
  for suite in $SUITES; do
    install_from_suite "$suite" && return 0
  done
  die "could not install dockerd and buildx from any of: $SUITES"
}

# Turn on the containerd image store so the docker driver can export cache
# (docs/decisions/engine-from-debian.md). Merge into an existing daemon.json rather than replace it.
configure_daemon() {
  mkdir -p /etc/docker
  python3 - <<'PY'
import json, pathlib
p = pathlib.Path("/etc/docker/daemon.json")
cfg = json.loads(p.read_text()) if p.exists() and p.read_text().strip() else {}
feats = cfg.setdefault("features", {})
if feats.get("containerd-snapshotter") is not True:
    feats["containerd-snapshotter"] = True
    p.write_text(json.dumps(cfg, indent=2) + "\n")
    print("provision: enabled the containerd image store in", p)
PY
}

start_dockerd() {
  local dockerd
  dockerd=$(command -v dockerd || true)
  [ -n "$dockerd" ] || die "dockerd not found after install"
  configure_daemon
  say "starting $dockerd (log: $LOG)"
  # setsid: the daemon must outlive this script and its process group.
  setsid "$dockerd" >>"$LOG" 2>&1 </dev/null &
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    engine_up && { say "dockerd is up after ${i}s"; return 0; }
    sleep 1
  done
  say "dockerd did not answer within ${WAIT_SECONDS}s; last lines of $LOG:"
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

export PATH=$PREFIX/sbin:$PREFIX/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

if command -v docker >/dev/null && engine_up && have_buildx; then
  say "engine already running; changing nothing"
elif command -v dockerd >/dev/null && command -v docker >/dev/null && have_buildx; then
  say "engine installed but not running"
  start_dockerd
else
  say "engine or buildx absent"
  install_engine
  engine_up || start_dockerd
fi
print_versions
