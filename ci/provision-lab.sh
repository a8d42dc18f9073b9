#!/usr/bin/env bash
# Provision the test lab's registry (lab/runners.py): Debian bookworm's
# docker-registry (the OCI distribution registry 2.8), unpacked with `dpkg -x`
# into $LAB_PREFIX. Not `apt-get install`: the package's config listens on
# :5000 and its maintainer scripts may start it. Idempotent; run as root.
# The lab's second dockerd uses the binaries ci/provision-docker.sh installed.
set -euo pipefail

LAB_PREFIX=${BAKERY_LAB_PREFIX:-/opt/bakery-lab}
STATE_DIR=${BAKERY_PROVISION_DIR:-/var/lib/bakery-provision}
SUITE=${BAKERY_LAB_SUITE:-bookworm}

say() { printf 'provision-lab: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (try: sudo $0)"

if [ -x "$LAB_PREFIX/usr/bin/docker-registry" ]; then
  say "registry already unpacked: $("$LAB_PREFIX/usr/bin/docker-registry" --version)"
  exit 0
fi

# The Debian mirror the host already uses (no host names written in the repo).
uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | grep -vE 'security|updates' \
  | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*$//' \
  | grep -E '/debian/?$' | head -n1 || true)
[ -n "$uri" ] || die "no Debian mirror found in /etc/apt sources; set one up and retry"

# A private apt state: the host's sources and lists stay untouched.
dir=$STATE_DIR/apt-lab-$SUITE
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "${uri%/}" "$SUITE" \
  >"$dir/sources.list"
opts=(
  -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
  -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root
)
say "fetching docker-registry from Debian $SUITE"
apt-get "${opts[@]}" -qq update
(cd "$dir/debs" && rm -f ./*.deb && apt-get "${opts[@]}" -qq download docker-registry)
mkdir -p "$LAB_PREFIX"
dpkg -x "$dir"/debs/docker-registry_*.deb "$LAB_PREFIX"
"$LAB_PREFIX/usr/bin/docker-registry" --version >/dev/null || die "the unpacked registry does not run"
say "unpacked $("$LAB_PREFIX/usr/bin/docker-registry" --version) into $LAB_PREFIX"
