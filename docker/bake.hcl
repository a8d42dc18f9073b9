# The unified tree: every target is a leaf or branch leading to one root,
# `system`. Families vary only over the axes they depend on, so matrix cells
# share every layer below the first one that differs (DESIGN.md §3, issue 2).
#
# Run from the repository root: `docker buildx bake -f docker/bake.hcl <target>`.
# Bare, it builds the default vector. Wider matrices come in through the
# plural JSON-array variables (cargo_profiles, feat_sets, ...).
#
# Layout: variables (axes, then settings), functions, `_common`, families from
# the root to the leaves, groups.

###############################################################################
# Axes. The singular defaults are the default vector; the plural JSON arrays
# select the matrix and default to the singular value.
# BEGIN GENERATED AXES (invoke generate; source: docker/matrix.toml)

variable "cargo_profile" {
  description = "Cargo profile (a built-in or custom profile of the project)"
  default = "release"
}
variable "cargo_profiles" {
  description = "JSON array of cargo_profile values"
  default = jsonencode([cargo_profile])
}

variable "rust_toolchain" {
  description = "Where the Rust toolchain comes from: distro (the distribution's rustc and cargo via apt) or a rustup channel"
  default = "distro"
}
variable "rust_toolchains" {
  description = "JSON array of rust_toolchain values"
  default = jsonencode([rust_toolchain])
}

variable "rust_target" {
  description = "Rust target triple passed to cargo --target"
  default = "x86_64-unknown-linux-gnu"
}
variable "rust_targets" {
  description = "JSON array of rust_target values"
  default = jsonencode([rust_target])
}

variable "feat_set" {
  description = "Cargo feature set, a key of feat_set_cargo_args"
  default = "default"
}
variable "feat_sets" {
  description = "JSON array of feat_set values"
  default = jsonencode([feat_set])
}

variable "sys_name" {
  description = "Root image name"
  default = "debian"
}
variable "sys_names" {
  description = "JSON array of sys_name values"
  default = jsonencode([sys_name])
}

variable "sys_version" {
  description = "Root image tag"
  default = "testing-slim"
}
variable "sys_versions" {
  description = "JSON array of sys_version values"
  default = jsonencode([sys_version])
}

variable "sys_target" {
  description = "System target: <arch>-<level>-<os>-<abi>; arch picks the platform, level the CPU baseline"
  default = "x86_64-v1-linux-gnu"
}
variable "sys_targets" {
  description = "JSON array of sys_target values"
  default = jsonencode([sys_target])
}

# END GENERATED AXES
###############################################################################
# Settings: the project being built. Defaults point at the embedded example.

variable "project_name" {
  description = "Project name; the source is placed at /usr/src/<project_name>"
  default = "mxd"
}
variable "bin_name" {
  description = "Name of the server binary the project builds"
  default = "mxd"
}
variable "source_location" {
  description = "Project source: a local directory (relative to the working directory) or a git URL"
  default = "example"
}
variable "git_checkout" {
  description = "Git ref to check out when source_location is a git URL (empty: the default branch)"
  default = ""
}
variable "feat_set_cargo_args" {
  description = "JSON object: feat_set -> cargo feature arguments"
  default = jsonencode({
    none = "--no-default-features"
    default = ""
    all = "--all-features"
  })
}
variable "feat_set_runtime_packages" {
  description = "JSON object: feat_set -> apt packages the runtime needs (diner)"
  default = jsonencode({ none = "", default = "", all = "" })
}
variable "feat_set_build_packages" {
  description = "JSON object: feat_set -> apt packages the build needs (kitchen)"
  default = jsonencode({ none = "", default = "", all = "" })
}
variable "use_chef" {
  description = "Prebuild dependencies with cargo-chef: auto (when the chef image has it), true or false"
  default = "auto"
}
variable "kitchen_packages" {
  description = "apt packages of the build environment without Rust"
  default = "gcc libc6-dev pkg-config git"
}
variable "chef_distro_packages" {
  description = "apt packages for Rust tooling on the distro toolchain"
  default = "rust-clippy rustfmt mdbook"
}
variable "chef_cargo_tools" {
  description = "cargo-installed tools on rustup toolchains"
  default = "cargo-chef cargo-audit cargo-deb cargo-generate-rpm lychee mdbook typos-cli"
}
variable "apt_mirror" {
  description = "Debian mirror URL for builds (empty: the root image's own sources)"
  default = ""
}
variable "apt_options" {
  description = "apt.conf lines written into the root, e.g. Acquire::Check-Valid-Until \"false\";"
  default = ""
}
variable "cache_scope" {
  description = "Namespace for cache mounts that carry untrusted content (issue 5)"
  default = "local"
}
variable "nprocs" {
  description = "Parallel jobs for cargo (empty: cargo's default)"
  default = ""
}
variable "smoke_version_args" {
  description = "Arguments for smoketest-version"
  default = "-V"
}
variable "smoke_startup_args" {
  description = "Arguments for smoketest-startup and its valgrind and perf variants"
  default = "--selftest --port 0 --federation-port 0"
}
variable "smoke_ready" {
  description = "Smoke readiness: empty (run to exit), tcp:PORT or an http:// URL (serve and probe)"
  default = ""
}
variable "smoke_timeout" {
  description = "Seconds that bound every smoke run (1-3600; valgrind runs get 10x)"
  default = "30"
}
variable "expose_ports" {
  description = "Ports the image exposes, space-separated"
  default = "8008 8448"
}
variable "default_targets" {
  description = "JSON array: the targets of the default group"
  default = jsonencode(["check", "clippy", "fmt", "tests-unit", "tests-smoke", "complement-testee"])
}
variable "labs_frontend" {
  description = "Dockerfile frontend image for the one stage that needs labs syntax (smoketest-perf)"
  default = "docker/dockerfile:1-labs"
}
variable "pkg_maintainer" {
  description = "Package and image maintainer"
  default = "mxd maintainers"
}
variable "pkg_description" {
  description = "Package and image description"
  default = "mxd, the embedded example homeserver"
}
variable "pkg_license" {
  description = "SPDX licence of the built project"
  default = "Apache-2.0"
}
variable "complement_url" {
  description = "Git URL of the Complement source"
  default = "https://github.com/matrix-org/complement.git"
}
variable "complement_ref" {
  description = "Pinned Complement ref"
  default = "main"
}
variable "complement_baseline" {
  description = "Complement results baseline, relative to the project source"
  default = "tests/complement/results.jsonl"
}
variable "registry_github" {
  description = "Image repository for the github publish target"
  default = "ghcr.io/example/mxd"
}
variable "registry_dockerhub" {
  description = "Image repository for the dockerhub publish target"
  default = "docker.io/example/mxd"
}
variable "publish_tag" {
  description = "Tag for publish targets; empty: <profile>-<feat_set>-<sys_target>"
  default = ""
}

###############################################################################
# Functions.

# Bake target names allow only [a-zA-Z0-9_-]: the name rule maps "." to "_"
# (1.97 -> 1_97). Axis patterns admit nothing else that needs mapping.
function "safe" {
  params = [value]
  result = replace(value, ".", "_")
}

# family--v1--v2--... in the fixed axis order.
function "elem" {
  params = [family, values]
  result = join("--", concat([family], [for v in values : safe(v)]))
}

function "tag" {
  params = [family, values]
  result = "${elem(family, values)}:latest"
}

function "target_ref" {
  params = [family, values]
  result = "target:${elem(family, values)}"
}

# Axis tuples, root to leaves.
function "sys" {
  params = [sys_name, sys_version, sys_target]
  result = [sys_name, sys_version, sys_target]
}

function "feat_sys" {
  params = [feat_set, sys_name, sys_version, sys_target]
  result = [feat_set, sys_name, sys_version, sys_target]
}

function "rust_feat_sys" {
  params = [rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target]
  result = [rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target]
}

function "all" {
  params = [cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target]
  result = [cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target]
}

# Matrix blocks for each axis tuple.
function "m_sys" {
  params = []
  result = {
    sys_name = jsondecode(sys_names)
    sys_version = jsondecode(sys_versions)
    sys_target = jsondecode(sys_targets)
  }
}

function "m_feat_sys" {
  params = []
  result = merge(m_sys(), { feat_set = jsondecode(feat_sets) })
}

function "m_rust_feat_sys" {
  params = []
  result = merge(m_feat_sys(), {
    rust_toolchain = jsondecode(rust_toolchains)
    rust_target = jsondecode(rust_targets)
  })
}

function "m_all" {
  params = []
  result = merge(m_rust_feat_sys(), { cargo_profile = jsondecode(cargo_profiles) })
}

# x86_64-v3-linux-gnu -> linux/amd64; aarch64-v8-linux-gnu -> linux/arm64.
function "sys_platform" {
  params = [sys_target]
  result = split("-", sys_target)[0] == "aarch64" ? "linux/arm64" : "linux/amd64"
}

# The CPU baseline of sys_target, as rustc's -C target-cpu.
function "sys_cpu" {
  params = [sys_target]
  result = lookup({
    "x86_64-v1" = "x86-64"
    "x86_64-v2" = "x86-64-v2"
    "x86_64-v3" = "x86-64-v3"
    "x86_64-v4" = "x86-64-v4"
    "aarch64-v8" = "generic"
  }, join("-", slice(split("-", sys_target), 0, 2)), "generic")
}

# Cargo's output directory for a profile: dev and test build into debug,
# bench into release, custom profiles into their own name.
function "profile_dir" {
  params = [cargo_profile]
  result = lookup({ dev = "debug", test = "debug", bench = "release" }, cargo_profile, cargo_profile)
}

function "feat_args" {
  params = [feat_set]
  result = lookup(jsondecode(feat_set_cargo_args), feat_set, "")
}

function "source_context" {
  params = []
  result = git_checkout == "" ? source_location : "${source_location}#${git_checkout}"
}

function "bin_path" {
  params = [cargo_profile, rust_target]
  result = "/usr/src/${project_name}/target/${rust_target}/${profile_dir(cargo_profile)}/${bin_name}"
}

# Arguments every stage of a vector may use. Stages declare only the ARGs
# they need, so unused ones do not enter the cache key.
function "vector_args" {
  params = [cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target]
  result = {
    cargo_profile = cargo_profile
    rust_toolchain = rust_toolchain
    rust_target = rust_target
    feat_set = feat_set
    sys_name = sys_name
    sys_version = sys_version
    sys_target = sys_target
    feat_cargo_args = feat_args(feat_set)
    rustflags = "-C target-cpu=${sys_cpu(sys_target)}"
    bin_path = bin_path(cargo_profile, rust_target)
    profile_dir = profile_dir(cargo_profile)
    vector_id = join("--", [for v in all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target) : safe(v)])
  }
}

###############################################################################
# Common to every family.

target "_common" {
  context = "docker"
  args = {
    project_name = project_name
    bin_name = bin_name
    cache_scope = cache_scope
    nprocs = nprocs
  }
  labels = {
    "org.opencontainers.image.title" = project_name
    "org.opencontainers.image.description" = pkg_description
    "org.opencontainers.image.licenses" = pkg_license
    "org.opencontainers.image.authors" = pkg_maintainer
  }
  output = ["type=cacheonly"]
}

###############################################################################
# Families, root to leaves.

# system: the root. FROM <sys_name>:<sys_version>, configured for cached apt.
target "system" {
  name = elem("system", sys(sys_name, sys_version, sys_target))
  matrix = m_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.system"
  target = "system"
  platforms = [sys_platform(sys_target)]
  args = {
    sys_name = sys_name
    sys_version = sys_version
    apt_mirror = apt_mirror
    apt_options = apt_options
  }
}

# source: the project checkout, on top of the root.
target "source" {
  name = elem("source", sys(sys_name, sys_version, sys_target))
  matrix = m_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "source"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("system", sys(sys_name, sys_version, sys_target))
    src = source_context()
  }
}

# diner: the runtime base.
target "diner" {
  name = elem("diner", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.diner"
  target = "diner"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("system", sys(sys_name, sys_version, sys_target)) }
  args = {
    sys_name = sys_name
    sys_version = sys_version
    runtime_packages = lookup(jsondecode(feat_set_runtime_packages), feat_set, "")
  }
}

# valgrind: the runtime base plus valgrind.
target "valgrind" {
  name = elem("valgrind", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.diner"
  target = "valgrind"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("diner", feat_sys(feat_set, sys_name, sys_version, sys_target)) }
  args = { sys_name = sys_name, sys_version = sys_version }
}

# perf: the runtime base plus linux-perf.
target "perf" {
  name = elem("perf", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.diner"
  target = "perf"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("diner", feat_sys(feat_set, sys_name, sys_version, sys_target)) }
  args = { sys_name = sys_name, sys_version = sys_version }
}

# kitchen: the build environment without Rust.
target "kitchen" {
  name = elem("kitchen", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.kitchen"
  target = "kitchen"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("diner", feat_sys(feat_set, sys_name, sys_version, sys_target)) }
  args = {
    sys_name = sys_name
    sys_version = sys_version
    kitchen_packages = kitchen_packages
    build_packages = lookup(jsondecode(feat_set_build_packages), feat_set, "")
  }
}

# cookware: the Rust toolchain (distro apt or rustup channel).
target "cookware" {
  name = elem("cookware", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cookware"
  target = "cookware"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("kitchen", feat_sys(feat_set, sys_name, sys_version, sys_target)) }
  args = {
    sys_name = sys_name
    sys_version = sys_version
    rust_toolchain = rust_toolchain
    rust_target = rust_target
  }
}

# chef: clippy, rustfmt and the cargo tools.
target "chef" {
  name = elem("chef", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cookware"
  target = "chef"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("cookware", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = {
    sys_name = sys_name
    sys_version = sys_version
    rust_toolchain = rust_toolchain
    chef_distro_packages = chef_distro_packages
    chef_cargo_tools = chef_cargo_tools
  }
}

# ingredients: the source on the toolchain, with dependencies fetched.
target "ingredients" {
  name = elem("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "ingredients"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("chef", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
}

# preparing: the dependency recipe (cargo chef prepare, or the lock file).
target "preparing" {
  name = elem("preparing", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "preparing"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { use_chef = use_chef }
}

# recipe: the recipe alone on the toolchain; changes only with dependencies.
target "recipe" {
  name = elem("recipe", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "recipe"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("chef", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    prepared = target_ref("preparing", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  }
}

# Workspace checks that need no build: fmt, audit, typos, lychee; and the book.
target "fmt" {
  name = elem("fmt", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "workspace"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { workspace_cmd = "cargo fmt --all --check" }
}

target "audit" {
  name = elem("audit", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "workspace"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { workspace_cmd = "cargo audit --deny warnings" }
}

target "typos" {
  name = elem("typos", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "workspace"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { workspace_cmd = "typos" }
}

target "lychee" {
  name = elem("lychee", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "workspace"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { workspace_cmd = "lychee --offline --no-progress ." }
}

target "book" {
  name = elem("book", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_rust_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.source"
  target = "workspace"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("ingredients", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { workspace_cmd = "mdbook build book" }
}

# deps-*: dependencies prebuilt from the recipe, per cargo command.
target "deps-base" {
  name = elem("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("recipe", rust_feat_sys(rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { cook_args = "" })
}

target "deps-check" {
  name = elem("deps-check", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { cook_args = "--check --all-targets" })
}

target "deps-clippy" {
  name = elem("deps-clippy", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { cook_args = "--clippy --all-targets" })
}

target "deps-build" {
  name = elem("deps-build", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { cook_args = "--workspace" })
}

target "deps-build-tests" {
  name = elem("deps-build-tests", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { cook_args = "--tests" })
}

target "deps-build-bins" {
  name = elem("deps-build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "deps"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { cook_args = "--bins" })
}

# Cargo commands over the workspace, each on top of its deps layer.
target "cargo" {
  name = elem("cargo", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-base", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "tree"
    cargo_cmd_args = ""
  })
}

target "check" {
  name = elem("check", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-check", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "check"
    cargo_cmd_args = "--workspace --all-targets"
  })
}

target "clippy" {
  name = elem("clippy", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-clippy", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "clippy"
    cargo_cmd_args = "--workspace --all-targets -- -D warnings"
  })
}

target "build" {
  name = elem("build", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-build", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "build"
    cargo_cmd_args = "--workspace"
  })
}

target "build-bins" {
  name = elem("build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "build"
    cargo_cmd_args = "--workspace --bins"
  })
}

target "build-tests" {
  name = elem("build-tests", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-build-tests", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "test"
    cargo_cmd_args = "--workspace --no-run"
  })
}

target "docs" {
  name = elem("docs", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("deps-check", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = "doc"
    cargo_cmd_args = "--workspace --no-deps"
  })
}

# tests-unit: the unit tests run on the built test binaries (bench for the bench profile).
target "tests-unit" {
  name = elem("tests-unit", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.cargo"
  target = "cargo"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("build-tests", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    cargo_cmd = cargo_profile == "bench" ? "bench" : "test"
    cargo_cmd_args = "--workspace"
  })
}

# install: the binary in the runtime base; an image in the engine.
target "install" {
  name = elem("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "install"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("diner", feat_sys(feat_set, sys_name, sys_version, sys_target))
    bins = target_ref("build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  }
  args = vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)
  tags = [tag("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))]
  output = ["type=docker"]
}

# standalone: FROM scratch with the binary alone.
target "standalone" {
  name = elem("standalone", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "standalone"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  tags = [tag("standalone", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))]
  output = ["type=docker"]
}

# image: the runnable server image, exposing the ports.
target "image" {
  name = elem("image", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "image"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { expose_ports = expose_ports }
  tags = [tag("image", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))]
  output = ["type=docker"]
}

# smoketest-*: run the installed binary; a failing run fails the build.
target "smoketest-version" {
  name = elem("smoketest-version", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "smoketest-version"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { smoke_args = smoke_version_args, smoke_version_args = smoke_version_args, smoke_startup_args = smoke_startup_args, smoke_ready = smoke_ready, smoke_timeout = smoke_timeout }
}

target "smoketest-startup" {
  name = elem("smoketest-startup", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "smoketest-startup"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = { smoke_args = smoke_startup_args, smoke_version_args = smoke_version_args, smoke_startup_args = smoke_startup_args, smoke_ready = smoke_ready, smoke_timeout = smoke_timeout }
}

target "smoketest-valgrind" {
  name = elem("smoketest-valgrind", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "smoketest-valgrind"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("valgrind", feat_sys(feat_set, sys_name, sys_version, sys_target))
    bins = target_ref("build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), { smoke_args = smoke_startup_args, smoke_version_args = smoke_version_args, smoke_startup_args = smoke_startup_args, smoke_ready = smoke_ready, smoke_timeout = smoke_timeout })
}

# perf_event_open needs a privileged step: the entitlement is declared here.
target "smoketest-perf" {
  name = elem("smoketest-perf", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.perf"
  target = "smoketest-perf"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("perf", feat_sys(feat_set, sys_name, sys_version, sys_target))
    bins = target_ref("build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  }
  args = merge(vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target), {
    smoke_args = smoke_startup_args
    smoke_version_args = smoke_version_args
    smoke_startup_args = smoke_startup_args
    smoke_ready = smoke_ready
    smoke_timeout = smoke_timeout
    BUILDKIT_SYNTAX = labs_frontend
  })
  entitlements = ["security.insecure"]
}

# deb, rpm: distribution packages built with cargo-deb and cargo-generate-rpm.
target "deb" {
  name = elem("deb", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
  target = "deb"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)
}

target "pkg-deb" {
  name = elem("pkg-deb", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
  target = "pkg"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("deb", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  output = ["type=local,dest=out/pkg-deb/${elem("pkg-deb", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))}"]
}

target "pkg-deb-install" {
  name = elem("pkg-deb-install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
  target = "pkg-deb-install"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("system", sys(sys_name, sys_version, sys_target))
    pkg = target_ref("pkg-deb", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  }
  args = { sys_name = sys_name, sys_version = sys_version, smoke_args = smoke_version_args, smoke_version_args = smoke_version_args, smoke_startup_args = smoke_startup_args, smoke_ready = smoke_ready, smoke_timeout = smoke_timeout }
}

target "rpm" {
  name = elem("rpm", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
  target = "rpm"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("build-bins", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  args = vector_args(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)
}

target "pkg-rpm" {
  name = elem("pkg-rpm", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
  target = "pkg"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("rpm", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  output = ["type=local,dest=out/pkg-rpm/${elem("pkg-rpm", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))}"]
}

target "pkg-rpm-install" {
  name = elem("pkg-rpm-install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.package"
  target = "pkg-rpm-install"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("system", sys(sys_name, sys_version, sys_target))
    pkg = target_ref("pkg-rpm", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  }
  args = { sys_name = sys_name, sys_version = sys_version, smoke_args = smoke_version_args, smoke_version_args = smoke_version_args, smoke_startup_args = smoke_startup_args, smoke_ready = smoke_ready, smoke_timeout = smoke_timeout }
}

# complement-config: TLS key and certificate, server config, old results.
target "complement-config" {
  name = elem("complement-config", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.complement"
  target = "complement-config"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("diner", feat_sys(feat_set, sys_name, sys_version, sys_target))
    checkout = target_ref("source", sys(sys_name, sys_version, sys_target))
  }
  args = {
    sys_name = sys_name
    sys_version = sys_version
    complement_baseline = complement_baseline
  }
}

# complement-base: Complement's source at the pinned ref, Go modules prebuilt.
target "complement-base" {
  name = elem("complement-base", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.complement"
  target = "complement-base"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("kitchen", feat_sys(feat_set, sys_name, sys_version, sys_target))
    complement = "${complement_url}#${complement_ref}"
  }
  args = { sys_name = sys_name, sys_version = sys_version }
}

# complement-tester: runs `go test -json` against the testee image it is given.
target "complement-tester" {
  name = elem("complement-tester", feat_sys(feat_set, sys_name, sys_version, sys_target))
  matrix = m_feat_sys()
  inherits = ["_common"]
  dockerfile = "Dockerfile.complement"
  target = "complement-tester"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("complement-base", feat_sys(feat_set, sys_name, sys_version, sys_target)) }
  tags = [tag("complement-tester", feat_sys(feat_set, sys_name, sys_version, sys_target))]
  output = ["type=docker"]
}

# complement-testee: the installed server plus its Complement config.
target "complement-testee" {
  name = elem("complement-testee", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.complement"
  target = "complement-testee"
  platforms = [sys_platform(sys_target)]
  contexts = {
    input = target_ref("install", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
    config = target_ref("complement-config", feat_sys(feat_set, sys_name, sys_version, sys_target))
  }
  tags = [tag("complement-testee", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))]
  output = ["type=docker"]
}

# github, dockerhub: the runnable image pushed to a registry.
target "github" {
  name = elem("github", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "publish"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("image", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  tags = ["${registry_github}:${publish_tag != "" ? publish_tag : join("-", [cargo_profile, feat_set, sys_target])}"]
  output = ["type=registry"]
}

target "dockerhub" {
  name = elem("dockerhub", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target))
  matrix = m_all()
  inherits = ["_common"]
  dockerfile = "Dockerfile.install"
  target = "publish"
  platforms = [sys_platform(sys_target)]
  contexts = { input = target_ref("image", all(cargo_profile, rust_toolchain, rust_target, feat_set, sys_name, sys_version, sys_target)) }
  tags = ["${registry_dockerhub}:${publish_tag != "" ? publish_tag : join("-", [cargo_profile, feat_set, sys_target])}"]
  output = ["type=registry"]
}

###############################################################################
# Groups. `default` departs from the original: it builds offline (README).

group "default" {
  targets = jsondecode(default_targets)
}
group "lints" {
  targets = ["audit", "check", "clippy", "fmt", "lychee"]
}
group "tests" {
  targets = ["tests-unit", "tests-smoke", "complement"]
}
group "tests-smoke" {
  targets = ["smoketest-version", "smoketest-startup", "smoketest-valgrind"]
}
group "complement" {
  targets = ["complement-tester", "complement-testee"]
}
group "installs" {
  targets = ["install", "standalone", "image"]
}
group "pkg" {
  targets = ["pkg-deb", "pkg-deb-install", "pkg-rpm", "pkg-rpm-install"]
}
group "deps" {
  targets = ["deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins"]
}
group "sources" {
  targets = ["source", "ingredients", "preparing", "recipe"]
}
group "buildsys" {
  targets = ["kitchen", "cookware", "chef"]
}
group "systems" {
  targets = ["system", "diner", "valgrind", "perf"]
}
group "publish" {
  targets = ["github", "dockerhub"]
}
