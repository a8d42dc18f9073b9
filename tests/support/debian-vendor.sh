#!/usr/bin/env bash
# Assembles vendor/ of a Rust project from Debian's librust-*-dev packages,
# inside a container of the root image (its own apt sources and mirror):
#   debian-vendor.sh PROJECT UID GID PACKAGE...
# apt downloads the packages and their dependency closure (never installs
# them), each librust .deb's /usr/share/cargo/registry/<crate>-<version>/ is
# extracted into PROJECT/vendor (Debian's own .cargo-checksum.json kept), and
# Debian's cargo writes PROJECT/Cargo.lock offline against vendor/ (source
# replacement in PROJECT/.cargo/config.toml, written by the caller).
# Debian's crate layout: https://wiki.debian.org/Teams/RustPackaging
set -euo pipefail
# PID 1 of the container: without a handler SIGTERM (docker's proxied signal) is ignored.
trap 'exit 143' TERM INT
project=$1 uid=$2 gid=$3
shift 3
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'cat "$log" >&2' ERR
apt-get update >"$log" 2>&1
debs=$(mktemp -d)
mkdir -p "$debs/partial"
apt-get install --yes --no-install-recommends --download-only \
  -o Dir::Cache::Archives="$debs" "$@" >>"$log" 2>&1
extracted=$(mktemp -d)
mkdir -p "$project/vendor"
: >"$project/debian-packages.txt"
for deb in "$debs"/librust-*.deb; do
  dpkg-deb --extract "$deb" "$extracted"
  dpkg-deb --field "$deb" Package Version | tr '\n' ' ' >>"$project/debian-packages.txt"
  echo >>"$project/debian-packages.txt"
done
cp -a "$extracted/usr/share/cargo/registry/." "$project/vendor/"
# Debian's cargo for the lock file: the same cargo the tree's distro toolchain uses.
apt-get install --yes --no-install-recommends cargo >>"$log" 2>&1
cd "$project"
CARGO_HOME=$(mktemp -d) cargo generate-lockfile --offline
cargo --version >>"$project/debian-packages.txt"
chown -R "$uid:$gid" "$project"
