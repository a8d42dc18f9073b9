# The naive peer for the sharing benchmark (bench/README.md): one self-contained
# build per vector, FROM the root, sharing nothing with the tree.

# naive: toolchain, source, build and smoke test in one image per vector.
ARG sys_name=debian
ARG sys_version=testing-slim
FROM ${sys_name}:${sys_version} AS naive
ARG cargo_profile=release
ARG feat_cargo_args=""
RUN <<EOF
set -eux
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates gcc libc6-dev pkg-config git rustc cargo valgrind
rm -rf /var/lib/apt/lists/*
EOF

COPY . /usr/src/mxd
WORKDIR /usr/src/mxd
RUN cargo build --locked --profile "${cargo_profile}" ${feat_cargo_args}
RUN <<EOF
set -eux
bin=$(find target -maxdepth 2 -type f -name mxd -perm -u+x -print -quit)
"$bin" -V
"$bin" --selftest --port 0 --federation-port 0
valgrind --error-exitcode=1 "$bin" --selftest --port 0 --federation-port 0
EOF
