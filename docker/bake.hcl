# The unified tree: every target is a leaf or branch leading to one root,
# `system`. Families vary only over the axes they depend on, so matrix cells
# share every layer below the first one that differs (docs/tree.md).
#
# Run from the repository root: `docker buildx bake -f docker/bake.hcl <target>`.
# Bare, it builds the default vector. Wider selections come in through the
# plural JSON-array variables (cargo_profiles, feat_sets, ...), a full cross
# product, or through `vectors`, any list of vectors.
#
# Each family's matrix is one key, `v`, whose values are vector objects: the
# selection projected to the family's axes, each cell once (BuildKit's own
# pattern). The cells are computed once, in the variable family_cells; targets
# only read their fields. Fixed parts sit in templates. Two sections are
# written by `invoke generate` from docker/matrix.toml and the family blocks.
#
# Minimum buildx: 0.13.1 (Debian trixie). It rejects a variable's
# `description` and `validation`, so descriptions are comments. Name no
# function parameter `v` (the matrix key): bake then evaluated the tree about
# three times slower (docs/decisions/buildx-minimum.md).
#
# Layout: variables (axes, settings, the computed cells), functions,
# templates, families from the root to the leaves, groups.

###############################################################################
# Axes. The singular defaults are the default vector; the plural JSON arrays
# select the matrix and default to the singular value; `vectors` replaces them.
# BEGIN GENERATED AXES (invoke generate; source: docker/matrix.toml)

# Cargo profile (a built-in or custom profile of the project)
variable "cargo_profile" { default = "release" }
# JSON array of cargo_profile values
variable "cargo_profiles" { default = jsonencode([cargo_profile]) }

# Where the Rust toolchain comes from: distro (the distribution's rustc and cargo via apt) or a rustup channel
variable "rust_toolchain" { default = "distro" }
# JSON array of rust_toolchain values
variable "rust_toolchains" { default = jsonencode([rust_toolchain]) }

# Rust target triple passed to cargo --target
variable "rust_target" { default = "x86_64-unknown-linux-gnu" }
# JSON array of rust_target values
variable "rust_targets" { default = jsonencode([rust_target]) }

# Cargo feature set, a key of feat_set_cargo_args
variable "feat_set" { default = "default" }
# JSON array of feat_set values
variable "feat_sets" { default = jsonencode([feat_set]) }

# Root image name (debian, ubuntu, alpine, fedora, ...)
variable "sys_name" { default = "debian" }
# JSON array of sys_name values
variable "sys_names" { default = jsonencode([sys_name]) }

# Root image tag (testing-slim, 24.04, 3.20, 40, ...)
variable "sys_version" { default = "testing-slim" }
# JSON array of sys_version values
variable "sys_versions" { default = jsonencode([sys_version]) }

# System target <arch>[-<level>]-linux[-<abi>]: arch picks the platform, level the CPU baseline
variable "sys_target" { default = "x86_64-v1-linux-gnu" }
# JSON array of sys_target values
variable "sys_targets" { default = jsonencode([sys_target]) }

# END GENERATED AXES

# JSON array of vector objects with every axis as a key and raw values; set, it replaces the plural arrays' cross product
variable "vectors" { default = "" }

###############################################################################
# Settings: the project being built. Defaults point at the embedded example.

# BEGIN GENERATED SETTINGS (invoke generate; source: docker/variables.toml)
# Project name; the source is placed at /usr/src/<project_name>
variable "project_name" { default = "mxd" }
# Name of the server binary the project builds
variable "bin_name" { default = "mxd" }
# Project source: a local directory (relative to the working directory) or a git URL
variable "source_location" { default = "example" }
# Git ref to check out when source_location is a git URL (empty: the default branch)
variable "git_checkout" { default = "" }
# JSON object: feat_set -> cargo feature arguments
variable "feat_set_cargo_args" {
  default = jsonencode({ none = "--no-default-features", default = "", all = "--all-features" })
}
# JSON object: feat_set -> apt packages the runtime needs (diner)
variable "feat_set_runtime_packages" { default = jsonencode({ none = "", default = "", all = "" }) }
# JSON object: feat_set -> apt packages the build needs (kitchen)
variable "feat_set_build_packages" { default = jsonencode({ none = "", default = "", all = "" }) }
# Prebuild dependencies with cargo-chef: auto (when the chef image has it), true or false
variable "use_chef" { default = "auto" }
# apt packages of the build environment without Rust
variable "kitchen_packages" { default = "gcc libc6-dev pkg-config git" }
# apt packages for Rust tooling on the distro toolchain (Debian bookworm has no mdbook: leave it out there)
variable "chef_distro_packages" { default = "rust-clippy rustfmt mdbook" }
# cargo-installed tools on rustup toolchains
variable "chef_cargo_tools" {
  default = "cargo-chef cargo-audit cargo-deb cargo-generate-rpm lychee mdbook typos-cli"
}
# Debian mirror URL for builds (empty: the root image's own sources)
variable "apt_mirror" { default = "" }
# apt.conf lines written into the root, e.g. Acquire::Check-Valid-Until "false";
variable "apt_options" { default = "" }
# Arguments for smoketest-version
variable "smoke_version_args" { default = "-V" }
# Arguments for smoketest-startup and its valgrind and perf variants
variable "smoke_startup_args" { default = "--selftest --port 0 --federation-port 0" }
# Smoke readiness: empty = run to exit (exit 0 passes); tcp:PORT or an http:// URL = serve and probe
variable "smoke_ready" { default = "" }
# Seconds that bound every smoke run (valgrind gets ten times as long)
variable "smoke_timeout" { default = "30" }
# Ports the server images expose, space-separated
variable "expose_ports" { default = "8008 8448" }
# JSON array: the targets of the `default` group
variable "default_targets" {
  default = jsonencode(["check", "clippy", "fmt", "tests-unit", "tests-smoke", "complement-testee"])
}
# Dockerfile frontend image for the one stage that needs labs syntax (smoketest-perf)
variable "labs_frontend" { default = "docker/dockerfile:1-labs" }
# Package and image maintainer
variable "pkg_maintainer" { default = "mxd maintainers" }
# Package and image description
variable "pkg_description" { default = "mxd, the embedded example homeserver" }
# SPDX licence of the built project
variable "pkg_license" { default = "Apache-2.0" }
# Git URL of the Complement source
variable "complement_url" { default = "https://github.com/matrix-org/complement.git" }
# Pinned Complement ref
variable "complement_ref" { default = "main" }
# Complement results baseline, relative to the project source
variable "complement_baseline" { default = "tests/complement/results.jsonl" }
# Image repository for the github publish target
variable "registry_github" { default = "ghcr.io/example/mxd" }
# Image repository for the dockerhub publish target
variable "registry_dockerhub" { default = "docker.io/example/mxd" }
# Tag for publish targets; empty: <profile>-<feat_set>-<sys_target>; a run of several vectors pushes <publish_tag>-<sys_target> and an index under it
variable "publish_tag" { default = "" }
# zstd level of the OCI outputs (oci-image, oci-static)
variable "oci_compress_level" { default = "3" }
# END GENERATED SETTINGS

# Set by bakery itself on every bake; not settings.
# Namespace for cache mounts that carry untrusted content (the trust scope)
variable "cache_scope" { default = "local" }

# Computed, not a setting: each family's matrix values (function "cells"),
# once for the whole tree: a variable is evaluated once, a function call in a
# target once per instance.
variable "family_cells" {
  default = {
    for f, parents in family_parents() : f => cells(
      f, family_axes()[f], { for p in parents : p => family_axes()[p] }, lookup(family_args(), f, []), selection()
    )
  }
}

###############################################################################
# Functions.

# BEGIN GENERATED TREE (invoke generate; source: docker/matrix.toml and the family blocks below)

# Every axis, in the fixed order of instance names.
function "axes" {
  params = []
  result = ["cargo_profile", "rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version", "sys_target"]
}

# The selected vectors, one object per vector with every axis as a key:
# `vectors` if set, else the cross product of the plural arrays.
function "selection" {
  params = []
  result = vectors != "" ? [for x in jsondecode(vectors) : { for a in axes() : a => x[a] }] : [
    for p in setproduct(
      jsondecode(cargo_profiles), jsondecode(rust_toolchains), jsondecode(rust_targets), jsondecode(feat_sets),
      jsondecode(sys_names), jsondecode(sys_versions), jsondecode(sys_targets)
    ) : { for i, a in axes() : a => p[i] }
  ]
}

# family -> the axes it varies over: its own (matrix.toml used_by) and those
# of the families it builds on, in the fixed order of instance names.
function "family_axes" {
  params = []
  result = merge(
    { for f in [
      "system", "build-system", "source", "sbom-generator"
    ] : f => ["sys_name", "sys_version", "sys_target"] },
    { for f in [
      "diner", "valgrind", "perf", "kitchen", "packager", "complement-config", "complement-base",
      "complement-tester"
    ] : f => ["feat_set", "sys_name", "sys_version", "sys_target"] },
    { for f in [
      "cookware", "chef", "ingredients", "preparing", "recipe", "fmt", "audit", "typos", "lychee", "book"
    ] : f => ["rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version", "sys_target"] },
    { for f in [
      "deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins", "deps-static",
      "cargo", "check", "clippy", "build", "build-bins", "build-static", "build-tests", "docs", "tests-unit",
      "install", "standalone", "image", "static", "oci-image", "oci-static", "smoketest-version",
      "smoketest-startup", "smoketest-valgrind", "smoketest-perf", "smoketest-static", "smoketest-static-startup",
      "deb", "pkg-deb", "pkg-deb-install", "apt-repo", "apt-repo-install", "rpm", "pkg-rpm", "pkg-rpm-install",
      "complement-testee", "github", "dockerhub"
    ] : f => ["cargo_profile", "rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version", "sys_target"] }
  )
}

# family -> the families its contexts link to (`v.ref.<family>`).
function "family_parents" {
  params = []
  result = {
    system = [], build-system = [], source = ["system"], diner = ["system"], valgrind = ["diner"], perf = ["diner"],
    kitchen = ["build-system"], packager = ["kitchen"], sbom-generator = ["build-system"], cookware = ["kitchen"],
    chef = ["cookware"], ingredients = ["chef", "source"], preparing = ["ingredients", "source"],
    recipe = ["chef", "preparing"], fmt = ["ingredients"], audit = ["ingredients"], typos = ["ingredients"],
    lychee = ["ingredients"], book = ["ingredients"], deps-base = ["recipe"], deps-check = ["deps-base"],
    deps-clippy = ["deps-base"], deps-build = ["deps-base"], deps-build-tests = ["deps-base"],
    deps-build-bins = ["deps-base"], deps-static = ["deps-base"], cargo = ["deps-base", "source"],
    check = ["deps-check", "source"], clippy = ["deps-clippy", "source"], build = ["deps-build", "source"],
    build-bins = ["deps-build-bins", "source"], build-static = ["deps-static", "source"],
    build-tests = ["deps-build-tests", "source"], docs = ["deps-check", "source"],
    tests-unit = ["build-tests", "source"], install = ["diner", "build-bins"], standalone = ["install"],
    image = ["install"], static = ["diner", "build-static"], oci-image = ["image"], oci-static = ["static"],
    smoketest-version = ["install"], smoketest-startup = ["install"],
    smoketest-valgrind = ["valgrind", "build-bins"], smoketest-perf = ["perf", "build-bins"],
    smoketest-static = ["static", "packager"], smoketest-static-startup = ["system", "static"],
    deb = ["packager", "build-bins"], pkg-deb = ["deb"], pkg-deb-install = ["system", "pkg-deb"],
    apt-repo = ["packager", "pkg-deb"], apt-repo-install = ["system", "apt-repo"], rpm = ["packager", "build-bins"],
    pkg-rpm = ["rpm"], pkg-rpm-install = ["system", "pkg-rpm"], complement-config = ["diner", "source"],
    complement-base = ["kitchen"], complement-tester = ["complement-base"],
    complement-testee = ["install", "complement-config"], github = ["image"], dockerhub = ["image"]
  }
}

# family -> the axes matrix.toml passes to it as build args (`v.args`).
function "family_args" {
  params = []
  result = {}
}

# sys_target <arch>[-<level>]-linux[-<abi>] -> its platform, by arch
# (matrix.toml [axes.sys_target.arch]); no fallback to linux/amd64.
function "sys_platform" {
  params = [sys_target]
  result = {
    "x86_64" = "linux/amd64", "aarch64" = "linux/arm64", "riscv64" = "linux/riscv64", "armv7" = "linux/arm/v7",
    "i686" = "linux/386", "ppc64le" = "linux/ppc64le", "s390x" = "linux/s390x"
  }[split("-", sys_target)[0]]
}

# sys_target -> its architecture's names: Debian's, the cross compiler's
# triplet and the Docker Official Images namespace, by arch.
function "sys_arch" {
  params = [sys_target]
  result = {
    "x86_64" = { debian = "amd64", gnu = "x86_64-linux-gnu", namespace = "amd64" },
    "aarch64" = { debian = "arm64", gnu = "aarch64-linux-gnu", namespace = "arm64v8" },
    "riscv64" = { debian = "riscv64", gnu = "riscv64-linux-gnu", namespace = "riscv64" },
    "armv7" = { debian = "armhf", gnu = "arm-linux-gnueabihf", namespace = "arm32v7" },
    "i686" = { debian = "i386", gnu = "i686-linux-gnu", namespace = "i386" },
    "ppc64le" = { debian = "ppc64el", gnu = "powerpc64le-linux-gnu", namespace = "ppc64le" },
    "s390x" = { debian = "s390x", gnu = "s390x-linux-gnu", namespace = "s390x" }
  }[split("-", sys_target)[0]]
}

# sys_target -> its CPU baseline as rustc's -C target-cpu: by arch and level,
# or by arch alone when the value names no level.
function "sys_cpu" {
  params = [sys_target]
  result = {
    "x86_64" = "x86-64", "x86_64-v1" = "x86-64", "x86_64-v2" = "x86-64-v2", "x86_64-v3" = "x86-64-v3",
    "x86_64-v4" = "x86-64-v4", "aarch64" = "generic", "aarch64-v8" = "generic", "riscv64" = "generic-rv64",
    "armv7" = "generic", "i686" = "pentium4", "ppc64le" = "ppc64le", "s390x" = "z10"
  }[
    length(regexall("^v[0-9]+$", split("-", sys_target)[1])) > 0
    ? join("-", slice(split("-", sys_target), 0, 2)) : split("-", sys_target)[0]
  ]
}

# END GENERATED TREE

# A family's cells: the selection projected to the family's axes, each cell
# once (grouped by name: cheaper in bake than distinct). A cell holds its axis
# values and `id` (its instance name), `ref` (a target: link to the cell of
# each family it builds on), `platform`, `cpu` and `args`.
function "cells" {
  params = [family, axes, links, arg_axes, selected]
  result = [
    for key, same in { for x in selected : join("--", [for a in axes : replace(x[a], ".", "_")]) => x... } :
    merge({ for a in axes : a => same[0][a] }, {
      id = "${family}--${key}"
      ref = { for f, up in links : f => join("--", concat(["target:${f}"], [for a in up : replace(same[0][a], ".", "_")])) }
      platform = sys_platform(same[0].sys_target)
      cpu = sys_cpu(same[0].sys_target)
      args = { for a in arg_axes : a => same[0][a] }
    })
  ]
}

# Cargo's output directory for a profile: dev and test build into debug,
# bench into release, custom profiles into their own name.
function "profile_dir" {
  params = [cargo_profile]
  result = lookup({ dev = "debug", test = "debug", bench = "release" }, cargo_profile, cargo_profile)
}

# Arguments every stage of a vector may use. Stages declare only the ARGs
# they need, so unused ones do not enter the cache key.
function "vector_args" {
  params = [family, cell]
  result = merge(cell.args, {
    cargo_profile = cell.cargo_profile
    rust_toolchain = cell.rust_toolchain
    rust_target = cell.rust_target
    feat_set = cell.feat_set
    sys_name = cell.sys_name
    sys_version = cell.sys_version
    sys_target = cell.sys_target
    feat_cargo_args = lookup(jsondecode(feat_set_cargo_args), cell.feat_set, "")
    rustflags = "-C target-cpu=${cell.cpu}"
    bin_path = "/usr/src/${project_name}/target/${cell.rust_target}/${profile_dir(cell.cargo_profile)}/${bin_name}"
    profile_dir = profile_dir(cell.cargo_profile)
    vector_id = trimprefix(cell.id, "${family}--")
  })
}

# The build args of a deps-* family: its vector's args and the `cargo chef cook` arguments of
# the cargo command it prebuilds for, plus the RUSTFLAGS the static chain adds. One table, so
# the deps-* blocks are one template (`_deps` and this function) and differ only in name,
# description and parent. Without chef, deps_cmd and deps_cmd_args are the consuming cargo
# command run on the skeleton (its args before `--`; deps-base, under `cargo tree`, builds
# nothing); tests/plan/test_tree.py checks they match the consumers' (docs/tree.md).
function "deps_args" {
  params = [family, cell]
  result = merge(vector_args(family, cell), {
    cook_args = {
      deps-base = ""
      deps-check = "--check --all-targets"
      deps-clippy = "--clippy --all-targets"
      deps-build = "--workspace"
      deps-build-tests = "--tests"
      deps-build-bins = "--bins"
      deps-static = "--bins"
    }[family]
    deps_cmd = {
      deps-base = ""
      deps-check = "check"
      deps-clippy = "clippy"
      deps-build = "build"
      deps-build-tests = "test"
      deps-build-bins = "build"
      deps-static = "build"
    }[family]
    deps_cmd_args = {
      deps-base = ""
      deps-check = "--workspace --all-targets"
      deps-clippy = "--workspace --all-targets"
      deps-build = "--workspace"
      deps-build-tests = "--workspace --no-run"
      deps-build-bins = "--workspace --bins"
      deps-static = "--workspace --bins"
    }[family]
    rustflags = "-C target-cpu=${cell.cpu}${lookup({ deps-static = " ${crt_static()}" }, family, "")}"
  })
}

# RUSTFLAGS of the static chain: glibc linked statically on gnu targets (musl's default).
function "crt_static" {
  params = []
  result = "-C target-feature=+crt-static"
}

###############################################################################
# Templates. `_common` is in every family; the others hold the fixed parts
# that several families share.

target "_common" {
  context = "docker"
  args = { project_name = project_name, bin_name = bin_name, cache_scope = cache_scope }
  labels = {
    "org.opencontainers.image.title" = project_name
    "org.opencontainers.image.description" = pkg_description
    "org.opencontainers.image.licenses" = pkg_license
    "org.opencontainers.image.authors" = pkg_maintainer
  }
  output = ["type=cacheonly"]
}

target "_workspace" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "workspace"
}

target "_deps" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
}

target "_cargo" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
}

target "_image" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  output = ["type=docker"]
}

# The smoke settings, for every target that runs the installed binary.
target "_smoke" {
  args = {
    smoke_version_args = smoke_version_args
    smoke_startup_args = smoke_startup_args
    smoke_ready = smoke_ready
    smoke_timeout = smoke_timeout
  }
}

target "_smoketest" {
  inherits = ["_common", "_smoke"]
  dockerfile = "Dockerfile.install"
}

target "_package" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
}

# The package metadata settings, for the targets that write a package.
target "_pkg_meta" {
  args = { pkg_maintainer = pkg_maintainer, pkg_description = pkg_description, pkg_license = pkg_license }
}

# An OCI image layout (a directory) of an image, zstd-compressed, under out/<project_name>/.
target "_oci" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "publish"
}

target "_complement" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.complement"
}

target "_publish" {
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "publish"
  output = ["type=registry"]
}

###############################################################################
# Families, root to leaves.

target "system" {
  description = "Root: the system image <namespace>/<sys_name>:<sys_version> of the target platform, configured for cached apt"
  matrix = { v = family_cells["system"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.system"
  target = "system"
  platforms = [v.platform]
  args = merge(v.args, {
    sys_image = "${sys_arch(v.sys_target).namespace}/${v.sys_name}:${v.sys_version}"
    apt_mirror = apt_mirror
    apt_options = apt_options
  })
}

# The build side's root: the same distribution on the platform the build runs
# on ($BUILDPLATFORM, the builder's own), so compilers and cargo run natively
# and a cross vector's chain is one solve for its target platform
# (docs/decisions/cross-builds.md).
target "build-system" {
  description = "Root of the build side: the system image <sys_name>:<sys_version> of the build platform, configured alike"
  matrix = { v = family_cells["build-system"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.system"
  target = "build-system"
  platforms = [v.platform]
  args = merge(v.args, {
    sys_name = v.sys_name
    sys_version = v.sys_version
    apt_mirror = apt_mirror
    apt_options = apt_options
  })
}

target "source" {
  description = "The project source at /usr/src/<project_name>, on the root"
  matrix = { v = family_cells["source"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "source"
  platforms = [v.platform]
  contexts = {
    input = v.ref.system
    src = git_checkout == "" ? source_location : "${source_location}#${git_checkout}"
  }
  args = v.args
}

target "diner" {
  description = "Runtime base: ca-certificates and the feature set's runtime packages"
  matrix = { v = family_cells["diner"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.diner"
  target = "diner"
  platforms = [v.platform]
  contexts = { input = v.ref.system }
  args = merge(v.args, {
    sys_name = v.sys_name
    sys_version = v.sys_version
    runtime_packages = lookup(jsondecode(feat_set_runtime_packages), v.feat_set, "")
  })
}

target "valgrind" {
  description = "Runtime base plus valgrind"
  matrix = { v = family_cells["valgrind"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.diner"
  target = "valgrind"
  platforms = [v.platform]
  contexts = { input = v.ref.diner }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "perf" {
  description = "Runtime base plus linux-perf"
  matrix = { v = family_cells["perf"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.diner"
  target = "perf"
  platforms = [v.platform]
  contexts = { input = v.ref.diner }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "kitchen" {
  description = "Build environment without Rust on the build platform: compilers, git, pkg-config, the feature set's packages"
  matrix = { v = family_cells["kitchen"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.kitchen"
  target = "kitchen"
  platforms = [v.platform]
  contexts = { input = v.ref["build-system"] }
  args = merge(v.args, {
    sys_name = v.sys_name
    sys_version = v.sys_version
    runtime_packages = lookup(jsondecode(feat_set_runtime_packages), v.feat_set, "")
    kitchen_packages = kitchen_packages
    build_packages = lookup(jsondecode(feat_set_build_packages), v.feat_set, "")
  })
}

# packager: on the build side, like Debian's own cross builds: its tools run
# natively, and for a target of another architecture it adds that
# architecture's C library and runtime packages, whose shlibs and symbols
# files dpkg-shlibdeps reads (docs/packages.md, "Packages for another architecture").
target "packager" {
  description = "Debian's packaging tools on the build platform: dpkg-dev, lintian, apt-utils, rpm; the target's libraries"
  matrix = { v = family_cells["packager"] }
  name = v.id
  inherits = ["_package"]
  target = "packager"
  platforms = [v.platform]
  contexts = { input = v.ref.kitchen }
  args = merge(v.args, {
    sys_name = v.sys_name
    sys_version = v.sys_version
    runtime_packages = lookup(jsondecode(feat_set_runtime_packages), v.feat_set, "")
    target_arch = sys_arch(v.sys_target).debian
    target_gnu = sys_arch(v.sys_target).gnu
  })
}

# sbom-generator: BuildKit's SBOM generator for attested images, built from
# the build side's root; bakery names it in a publish's attestations
# (docs/attestations.md). The image runs on the builder, so bakery builds it
# for the builder's own platform whatever the vector's.
target "sbom-generator" {
  description = "The SBOM generator of attested images: python3 and docker/scripts/sbom.py on the build side's root"
  matrix = { v = family_cells["sbom-generator"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.sbom"
  target = "sbom-generator"
  platforms = [v.platform]
  contexts = { input = v.ref["build-system"] }
  tags = ["${project_name}/${v.id}:latest"]
  output = ["type=docker"]
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "cookware" {
  description = "The Rust toolchain: the distribution's rustc and cargo, or a rustup channel"
  matrix = { v = family_cells["cookware"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.cookware"
  target = "cookware"
  platforms = [v.platform]
  contexts = { input = v.ref.kitchen }
  args = merge(v.args, {
    sys_name = v.sys_name
    sys_version = v.sys_version
    rust_toolchain = v.rust_toolchain
    rust_target = v.rust_target
    target_arch = sys_arch(v.sys_target).debian
    target_gnu = sys_arch(v.sys_target).gnu
  })
}

target "chef" {
  description = "The toolchain plus clippy, rustfmt and the cargo tools"
  matrix = { v = family_cells["chef"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.cookware"
  target = "chef"
  platforms = [v.platform]
  contexts = { input = v.ref.cookware }
  args = merge(v.args, {
    sys_name = v.sys_name
    sys_version = v.sys_version
    rust_toolchain = v.rust_toolchain
    chef_distro_packages = chef_distro_packages
    chef_cargo_tools = chef_cargo_tools
  })
}

target "ingredients" {
  description = "The source on the toolchain, dependencies fetched (cargo fetch --locked)"
  matrix = { v = family_cells["ingredients"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "ingredients"
  platforms = [v.platform]
  contexts = { input = v.ref.chef, checkout = v.ref.source }
  args = v.args
}

target "preparing" {
  description = "The dependency recipe: cargo chef prepare, or the workspace skeleton with stub targets"
  matrix = { v = family_cells["preparing"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "preparing"
  platforms = [v.platform]
  contexts = { input = v.ref.ingredients, checkout = v.ref.source }
  args = merge(v.args, { use_chef = use_chef })
}

target "recipe" {
  description = "The recipe or skeleton alone on the toolchain; changes only with the dependencies"
  matrix = { v = family_cells["recipe"] }
  name = v.id
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "recipe"
  platforms = [v.platform]
  contexts = { input = v.ref.chef, prepared = v.ref.preparing }
  args = v.args
}

# Workspace checks that need no build: fmt, audit, typos, lychee; and the book.
target "fmt" {
  description = "cargo fmt --all --check over the workspace"
  matrix = { v = family_cells["fmt"] }
  name = v.id
  inherits = ["_workspace"]
  platforms = [v.platform]
  contexts = { input = v.ref.ingredients }
  args = merge(v.args, { workspace_cmd = "cargo fmt --all --check" })
}

target "audit" {
  description = "cargo audit of the lock file (needs the advisory database online)"
  matrix = { v = family_cells["audit"] }
  name = v.id
  inherits = ["_workspace"]
  platforms = [v.platform]
  contexts = { input = v.ref.ingredients }
  args = merge(v.args, { workspace_cmd = "cargo audit --deny warnings" })
}

target "typos" {
  description = "typos spell check of the source"
  matrix = { v = family_cells["typos"] }
  name = v.id
  inherits = ["_workspace"]
  platforms = [v.platform]
  contexts = { input = v.ref.ingredients }
  args = merge(v.args, { workspace_cmd = "typos" })
}

target "lychee" {
  description = "lychee link check of the source, offline"
  matrix = { v = family_cells["lychee"] }
  name = v.id
  inherits = ["_workspace"]
  platforms = [v.platform]
  contexts = { input = v.ref.ingredients }
  args = merge(v.args, { workspace_cmd = "lychee --offline --no-progress ." })
}

target "book" {
  description = "The project's book, built with mdbook"
  matrix = { v = family_cells["book"] }
  name = v.id
  inherits = ["_workspace"]
  platforms = [v.platform]
  contexts = { input = v.ref.ingredients }
  args = merge(v.args, { workspace_cmd = "mdbook build book" })
}

# deps-*: dependencies prebuilt from the recipe, per cargo command; one template, `_deps` with
# deps_args (functions above).
target "deps-base" {
  description = "The base of every cargo command: dependencies cooked from the chef recipe, or the skeleton"
  matrix = { v = family_cells["deps-base"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref.recipe }
  args = deps_args("deps-base", v)
}

target "deps-check" {
  description = "Dependencies prebuilt for cargo check"
  matrix = { v = family_cells["deps-check"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"] }
  args = deps_args("deps-check", v)
}

target "deps-clippy" {
  description = "Dependencies prebuilt for cargo clippy"
  matrix = { v = family_cells["deps-clippy"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"] }
  args = deps_args("deps-clippy", v)
}

target "deps-build" {
  description = "Dependencies prebuilt for cargo build of the workspace"
  matrix = { v = family_cells["deps-build"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"] }
  args = deps_args("deps-build", v)
}

target "deps-build-tests" {
  description = "Dependencies prebuilt for the test binaries"
  matrix = { v = family_cells["deps-build-tests"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"] }
  args = deps_args("deps-build-tests", v)
}

target "deps-build-bins" {
  description = "Dependencies prebuilt for the binaries"
  matrix = { v = family_cells["deps-build-bins"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"] }
  args = deps_args("deps-build-bins", v)
}

# The static chain: its own dependencies and binaries, linked with
# +crt-static (gnu targets: glibc's static libc, no musl toolchain). It cooks
# on deps-base's layer, which carries the cargo profile and the recipe.
target "deps-static" {
  description = "Dependencies prebuilt for the statically linked binaries (+crt-static)"
  matrix = { v = family_cells["deps-static"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"] }
  args = deps_args("deps-static", v)
}

# Cargo commands over the workspace, each on top of its deps layer.
target "cargo" {
  description = "cargo tree over the workspace, on the prebuilt dependencies"
  matrix = { v = family_cells["cargo"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-base"], checkout = v.ref.source }
  args = merge(vector_args("cargo", v), { cargo_cmd = "tree", cargo_cmd_args = "" })
}

target "check" {
  description = "cargo check of every workspace target"
  matrix = { v = family_cells["check"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-check"], checkout = v.ref.source }
  args = merge(vector_args("check", v), { cargo_cmd = "check", cargo_cmd_args = "--workspace --all-targets" })
}

target "clippy" {
  description = "cargo clippy of every workspace target, warnings denied"
  matrix = { v = family_cells["clippy"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-clippy"], checkout = v.ref.source }
  args = merge(vector_args("clippy", v), {
    cargo_cmd = "clippy"
    cargo_cmd_args = "--workspace --all-targets -- -D warnings"
  })
}

target "build" {
  description = "cargo build of the workspace"
  matrix = { v = family_cells["build"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-build"], checkout = v.ref.source }
  args = merge(vector_args("build", v), { cargo_cmd = "build", cargo_cmd_args = "--workspace" })
}

target "build-bins" {
  description = "cargo build of the workspace's binaries"
  matrix = { v = family_cells["build-bins"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-build-bins"], checkout = v.ref.source }
  args = merge(vector_args("build-bins", v), { cargo_cmd = "build", cargo_cmd_args = "--workspace --bins" })
}

# Its own vector_id keeps its cargo target cache apart from build-bins' (other RUSTFLAGS).
target "build-static" {
  description = "cargo build of the workspace's binaries, statically linked (+crt-static)"
  matrix = { v = family_cells["build-static"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-static"], checkout = v.ref.source }
  args = merge(vector_args("build-static", v), {
    cargo_cmd = "build"
    cargo_cmd_args = "--workspace --bins"
    rustflags = "-C target-cpu=${v.cpu} ${crt_static()}"
    vector_id = "${trimprefix(v.id, "build-static--")}-crt-static"
  })
}

target "build-tests" {
  description = "The workspace's test binaries, built and not run"
  matrix = { v = family_cells["build-tests"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-build-tests"], checkout = v.ref.source }
  args = merge(vector_args("build-tests", v), { cargo_cmd = "test", cargo_cmd_args = "--workspace --no-run" })
}

target "docs" {
  description = "cargo doc of the workspace, without dependencies"
  matrix = { v = family_cells["docs"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["deps-check"], checkout = v.ref.source }
  args = merge(vector_args("docs", v), { cargo_cmd = "doc", cargo_cmd_args = "--workspace --no-deps" })
}

target "tests-unit" {
  description = "The workspace's unit tests run (cargo bench for the bench profile)"
  matrix = { v = family_cells["tests-unit"] }
  name = v.id
  inherits = ["_cargo"]
  platforms = [v.platform]
  contexts = { input = v.ref["build-tests"], checkout = v.ref.source }
  args = merge(vector_args("tests-unit", v), {
    cargo_cmd = v.cargo_profile == "bench" ? "bench" : "test"
    cargo_cmd_args = "--workspace"
  })
}

target "install" {
  description = "The server binary installed in the runtime base; an image in the engine"
  matrix = { v = family_cells["install"] }
  name = v.id
  inherits = ["_image"]
  target = "install"
  platforms = [v.platform]
  contexts = { input = v.ref.diner, bins = v.ref["build-bins"] }
  args = vector_args("install", v)
  tags = ["${project_name}/${v.id}:latest"]
}

target "standalone" {
  description = "FROM scratch with the server binary alone"
  matrix = { v = family_cells["standalone"] }
  name = v.id
  inherits = ["_image"]
  target = "standalone"
  platforms = [v.platform]
  contexts = { input = v.ref.install }
  tags = ["${project_name}/${v.id}:latest"]
  args = v.args
}

target "image" {
  description = "The runnable server image, exposing its ports"
  matrix = { v = family_cells["image"] }
  name = v.id
  inherits = ["_image"]
  target = "image"
  platforms = [v.platform]
  contexts = { input = v.ref.install }
  tags = ["${project_name}/${v.id}:latest"]
  args = merge(v.args, { expose_ports = expose_ports })
}

target "static" {
  description = "FROM scratch: the statically linked server binary and the CA bundle"
  matrix = { v = family_cells["static"] }
  name = v.id
  inherits = ["_image"]
  target = "static"
  platforms = [v.platform]
  contexts = { input = v.ref.diner, bins = v.ref["build-static"] }
  tags = ["${project_name}/${v.id}:latest"]
  args = merge(vector_args("static", v), { expose_ports = expose_ports })
}

target "oci-image" {
  description = "The runnable image as a zstd OCI image layout (a directory) in out/<project_name>/oci-image/"
  matrix = { v = family_cells["oci-image"] }
  name = v.id
  inherits = ["_oci"]
  platforms = [v.platform]
  contexts = { input = v.ref.image }
  output = [
    "type=oci,dest=out/${project_name}/oci-image/${v.id},tar=false,name=${project_name}/${v.id}:latest,compression=zstd,compression-level=${oci_compress_level},force-compression=true"
  ]
  args = v.args
}

target "oci-static" {
  description = "The static image as a zstd OCI image layout (a directory) in out/<project_name>/oci-static/"
  matrix = { v = family_cells["oci-static"] }
  name = v.id
  inherits = ["_oci"]
  platforms = [v.platform]
  contexts = { input = v.ref.static }
  output = [
    "type=oci,dest=out/${project_name}/oci-static/${v.id},tar=false,name=${project_name}/${v.id}:latest,compression=zstd,compression-level=${oci_compress_level},force-compression=true"
  ]
  args = v.args
}

# smoketest-*: run the installed binary; a failing run fails the build.
target "smoketest-version" {
  description = "Smoke test: the installed binary run with smoke_version_args"
  matrix = { v = family_cells["smoketest-version"] }
  name = v.id
  inherits = ["_smoketest"]
  target = "smoketest-version"
  platforms = [v.platform]
  contexts = { input = v.ref.install }
  args = v.args
}

target "smoketest-startup" {
  description = "Smoke test: the installed binary started with smoke_startup_args"
  matrix = { v = family_cells["smoketest-startup"] }
  name = v.id
  inherits = ["_smoketest"]
  target = "smoketest-startup"
  platforms = [v.platform]
  contexts = { input = v.ref.install }
  args = v.args
}

target "smoketest-valgrind" {
  description = "Smoke test: the startup run under valgrind"
  matrix = { v = family_cells["smoketest-valgrind"] }
  name = v.id
  inherits = ["_common", "_smoke"]
  dockerfile = "Dockerfile.install"
  target = "smoketest-valgrind"
  platforms = [v.platform]
  contexts = { input = v.ref.valgrind, bins = v.ref["build-bins"] }
  args = vector_args("smoketest-valgrind", v)
}

# perf_event_open needs a privileged step: the entitlement is declared here.
target "smoketest-perf" {
  description = "Smoke test: the startup run under perf (privileged step)"
  matrix = { v = family_cells["smoketest-perf"] }
  name = v.id
  inherits = ["_common", "_smoke"]
  dockerfile = "Dockerfile.perf"
  target = "smoketest-perf"
  platforms = [v.platform]
  contexts = { input = v.ref.perf, bins = v.ref["build-bins"] }
  args = merge(vector_args("smoketest-perf", v), { BUILDKIT_SYNTAX = labs_frontend })
  entitlements = ["security.insecure"]
}

# scratch has no shell: the version run is an exec-form RUN inside the static
# image, its shell a static busybox mounted from the packager (not a layer).
target "smoketest-static" {
  description = "Smoke test: the static image's binary run with smoke_version_args inside it"
  matrix = { v = family_cells["smoketest-static"] }
  name = v.id
  inherits = ["_smoketest"]
  target = "smoketest-static"
  platforms = [v.platform]
  contexts = { input = v.ref.static, tools = v.ref.packager }
  args = v.args
}

target "smoketest-static-startup" {
  description = "Smoke test: the static binary proven static (file) and started on a system instance"
  matrix = { v = family_cells["smoketest-static-startup"] }
  name = v.id
  inherits = ["_smoketest"]
  target = "smoketest-static-startup"
  platforms = [v.platform]
  contexts = { input = v.ref.system, subject = v.ref.static }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

# deb, rpm: distribution packages built with Debian's own tools from the
# build-bins binary (docs/packages.md), and their install checks.
target "deb" {
  description = "Debian package of the binary: dpkg-deb, dpkg-shlibdeps, lintian"
  matrix = { v = family_cells["deb"] }
  name = v.id
  inherits = ["_package", "_pkg_meta"]
  target = "deb"
  platforms = [v.platform]
  contexts = { input = v.ref.packager, bins = v.ref["build-bins"] }
  args = merge(vector_args("deb", v), {
    target_arch = sys_arch(v.sys_target).debian
    target_gnu = sys_arch(v.sys_target).gnu
  })
}

target "pkg-deb" {
  description = "The Debian package exported to out/<project_name>/pkg-deb/<instance>"
  matrix = { v = family_cells["pkg-deb"] }
  name = v.id
  inherits = ["_package"]
  target = "pkg"
  platforms = [v.platform]
  contexts = { input = v.ref.deb }
  output = ["type=local,dest=out/${project_name}/pkg-deb/${v.id}"]
  args = v.args
}

target "pkg-deb-install" {
  description = "The Debian package installed with apt on a fresh system, run, purged without a trace"
  matrix = { v = family_cells["pkg-deb-install"] }
  name = v.id
  inherits = ["_package", "_smoke"]
  target = "pkg-deb-install"
  platforms = [v.platform]
  contexts = { input = v.ref.system, pkg = v.ref["pkg-deb"] }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "apt-repo" {
  description = "A flat apt repository (apt-ftparchive) holding the Debian package"
  matrix = { v = family_cells["apt-repo"] }
  name = v.id
  inherits = ["_package"]
  target = "apt-repo"
  platforms = [v.platform]
  contexts = { input = v.ref.packager, pkg = v.ref["pkg-deb"] }
  args = v.args
}

target "apt-repo-install" {
  description = "The package installed by name from the apt repository as a file: source, run, purged"
  matrix = { v = family_cells["apt-repo-install"] }
  name = v.id
  inherits = ["_package", "_smoke"]
  target = "apt-repo-install"
  platforms = [v.platform]
  contexts = { input = v.ref.system, repo = v.ref["apt-repo"] }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "rpm" {
  description = "RPM package of the binary, built with rpmbuild from a generated spec"
  matrix = { v = family_cells["rpm"] }
  name = v.id
  inherits = ["_package", "_pkg_meta"]
  target = "rpm"
  platforms = [v.platform]
  contexts = { input = v.ref.packager, bins = v.ref["build-bins"] }
  args = merge(vector_args("rpm", v), {
    target_arch = sys_arch(v.sys_target).debian
    target_gnu = sys_arch(v.sys_target).gnu
  })
}

target "pkg-rpm" {
  description = "The RPM package exported to out/<project_name>/pkg-rpm/<instance>"
  matrix = { v = family_cells["pkg-rpm"] }
  name = v.id
  inherits = ["_package"]
  target = "pkg"
  platforms = [v.platform]
  contexts = { input = v.ref.rpm }
  output = ["type=local,dest=out/${project_name}/pkg-rpm/${v.id}"]
  args = v.args
}

target "pkg-rpm-install" {
  description = "The RPM package checked with rpm on Debian: -qip, -qlp, a scratch --root install, run"
  matrix = { v = family_cells["pkg-rpm-install"] }
  name = v.id
  inherits = ["_package", "_smoke"]
  target = "pkg-rpm-install"
  platforms = [v.platform]
  contexts = { input = v.ref.system, pkg = v.ref["pkg-rpm"] }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "complement-config" {
  description = "Complement: TLS key and certificate, server config and the results baseline"
  matrix = { v = family_cells["complement-config"] }
  name = v.id
  inherits = ["_complement"]
  target = "complement-config"
  platforms = [v.platform]
  contexts = { input = v.ref.diner, checkout = v.ref.source }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version, complement_baseline = complement_baseline })
}

target "complement-base" {
  description = "Complement's source at the pinned ref, Go modules prebuilt (needs the network)"
  matrix = { v = family_cells["complement-base"] }
  name = v.id
  inherits = ["_complement"]
  target = "complement-base"
  platforms = [v.platform]
  contexts = { input = v.ref.kitchen, complement = "${complement_url}#${complement_ref}" }
  args = merge(v.args, { sys_name = v.sys_name, sys_version = v.sys_version })
}

target "complement-tester" {
  description = "The Complement tester image: go test -json against the testee it is given"
  matrix = { v = family_cells["complement-tester"] }
  name = v.id
  inherits = ["_complement"]
  target = "complement-tester"
  platforms = [v.platform]
  contexts = { input = v.ref["complement-base"] }
  tags = ["${project_name}/${v.id}:latest"]
  output = ["type=docker"]
  args = v.args
}

target "complement-testee" {
  description = "The Complement testee image: the installed server plus its Complement config"
  matrix = { v = family_cells["complement-testee"] }
  name = v.id
  inherits = ["_complement"]
  target = "complement-testee"
  platforms = [v.platform]
  contexts = { input = v.ref.install, config = v.ref["complement-config"] }
  tags = ["${project_name}/${v.id}:latest"]
  output = ["type=docker"]
  args = merge(v.args, { expose_ports = expose_ports })
}

# github, dockerhub: the runnable image pushed to a registry.
target "github" {
  description = "The runnable image pushed to registry_github"
  matrix = { v = family_cells["github"] }
  name = v.id
  inherits = ["_publish"]
  platforms = [v.platform]
  contexts = { input = v.ref.image }
  tags = ["${registry_github}:${publish_tag != "" ? publish_tag : join("-", [v.cargo_profile, v.feat_set, v.sys_target])}"]
  args = v.args
}

target "dockerhub" {
  description = "The runnable image pushed to registry_dockerhub"
  matrix = { v = family_cells["dockerhub"] }
  name = v.id
  inherits = ["_publish"]
  platforms = [v.platform]
  contexts = { input = v.ref.image }
  tags = ["${registry_dockerhub}:${publish_tag != "" ? publish_tag : join("-", [v.cargo_profile, v.feat_set, v.sys_target])}"]
  args = v.args
}

###############################################################################
# Groups. `default` departs from the original: it builds offline (docs/tree.md, "Groups").

group "default" { targets = jsondecode(default_targets) }
group "lints" { targets = ["audit", "check", "clippy", "fmt", "lychee"] }
group "tests" { targets = ["tests-unit", "tests-smoke", "complement"] }
group "tests-smoke" { targets = ["smoketest-version", "smoketest-startup", "smoketest-valgrind"] }
group "tests-static" { targets = ["smoketest-static", "smoketest-static-startup"] }
group "complement" { targets = ["complement-tester", "complement-testee"] }
group "installs" { targets = ["install", "standalone", "image", "static"] }
group "pkg" { targets = ["pkg-deb", "pkg-deb-install", "apt-repo-install", "pkg-rpm", "pkg-rpm-install"] }
group "oci" { targets = ["oci-image", "oci-static"] }
group "deps" { targets = ["deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins"] }
group "sources" { targets = ["source", "ingredients", "preparing", "recipe"] }
group "buildsys" { targets = ["kitchen", "cookware", "chef"] }
group "systems" { targets = ["system", "diner", "valgrind", "perf"] }
group "publish" { targets = ["github", "dockerhub"] }
