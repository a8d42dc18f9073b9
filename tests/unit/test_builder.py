"""Unit tests for bakery.engine.builder: names, the rendered buildkitd.toml, and the
exact argv `invoke builder` sends through the docker seam."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakery.engine import builder
from bakery.errors import EnvironmentNotReady, UsageError
from tests.conftest import Recorder
from tests.support.docker_fakes import by_argv
from tests.support.settings import load

ENTITLEMENTS = ("security.insecure", "network.host", "security.insecure")
NO_BUILDER = "ERROR: no builder\n"


# --- sanitize ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Some.User",), "bakery-some-user"),
        (("",), "bakery-local"),
        ((), "bakery-local"),
        (("--",), "bakery-local"),
        (("alice", "", "main"), "bakery-alice-main"),
        (("Org/Repo", "feature/X_y"), "bakery-org-repo-feature-x_y"),
        (("a  b;c$(d)",), "bakery-a-b-c-d"),
        (("Zoë",), "bakery-zo"),
        (("-edge-",), "bakery-edge"),
    ],
)
def test_sanitize(parts: tuple[str, ...], expected: str):
    assert builder.sanitize(*parts) == expected


def test_sanitize_long_names_are_cut_to_63_with_a_hash():
    first = builder.sanitize("x" * 100)
    second = builder.sanitize("x" * 101)
    assert re.fullmatch(r"bakery-x{47}-[0-9a-f]{8}", first)
    assert re.fullmatch(r"bakery-x{47}-[0-9a-f]{8}", second)
    assert len(first) == 63
    assert first != second  # the hash keeps truncated names apart
    assert builder.sanitize("x" * 100) == first  # and it is stable


def test_sanitize_does_not_leave_a_dash_before_the_hash():
    name = builder.sanitize("a" * 46 + "-" * 20 + "b")
    assert re.fullmatch(r"bakery-a{46}-[0-9a-f]{8}", name)


# --- name --------------------------------------------------------------------------------------


def test_name_by_actor(seam: Recorder):
    assert builder.name(load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="Some.User")) == "bakery-some-user"
    assert seam.argvs == []


def test_name_by_actor_falls_back_to_the_login_name(monkeypatch: pytest.MonkeyPatch, seam: Recorder):
    monkeypatch.setenv("LOGNAME", "Ci Bot")
    assert builder.name(load(BAKERY_DRIVER="docker-container")) == "bakery-ci-bot"


def test_name_by_branch(seam: Recorder):
    loaded = load(
        BAKERY_DRIVER="docker-container",
        BAKERY_BUILDER_SCOPE="branch",
        GITHUB_ACTOR="alice",
        GITHUB_REPOSITORY="Org/Repo",
        GITHUB_REF_NAME="feature/x",
    )
    assert builder.name(loaded) == "bakery-alice-org-repo-feature-x"


def test_name_by_runner(seam: Recorder):
    loaded = load(BAKERY_DRIVER="remote", BAKERY_BUILDER_SCOPE="runner", RUNNER_NAME="runner.3", GITHUB_ACTOR="x")
    assert builder.name(loaded) == "bakery-runner-3"


def test_explicit_name_wins_and_is_checked(seam: Recorder):
    assert builder.name(load(BAKERY_BUILDER="my-builder", BAKERY_DRIVER="docker")) == "my-builder"
    assert seam.argvs == []
    for bad in ("Bad Name", "x;rm", "-x", "a" * 64):
        with pytest.raises(UsageError, match=r"is not a valid builder name"):
            builder.name(load(BAKERY_BUILDER=bad))


def test_docker_driver_uses_the_current_context(seam: Recorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # Resolved as the docker CLI resolves it, without running docker.
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONTEXT", "rootless")
    loaded = load(BAKERY_DRIVER="docker", GITHUB_ACTOR="alice", BAKERY_BUILDER_SCOPE="branch")
    assert builder.name(loaded) == "rootless"
    monkeypatch.delenv("DOCKER_CONTEXT")
    assert builder.name(loaded) == "default"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    monkeypatch.setenv("DOCKER_CONTEXT", "rootless")
    assert builder.name(loaded) == "default"  # DOCKER_HOST wins, as in the CLI
    assert seam.argvs == []


# --- render_config ------------------------------------------------------------------------------

CONFIG = """insecure-entitlements = ["network.host", "security.insecure"]

[worker.oci]
  gc = true
  reservedSpace = "10GB"
  maxUsedSpace = "60GB"
  minFreeSpace = "10GB"

[[worker.oci.gcpolicy]]
  reservedSpace = "10GB"
  maxUsedSpace = "60GB"
  minFreeSpace = "10GB"
  keepDuration = "336h"
  filters = ["label!=cache==pin"]
  all = true

[[worker.oci.gcpolicy]]
  minFreeSpace = "10GB"
  all = true
"""


def test_render_config_defaults():
    assert builder.render_config(load(), ENTITLEMENTS) == CONFIG


def test_render_config_with_gc_settings_and_mirrors():
    loaded = load(
        BAKERY_GC_RESERVED="1GB",
        BAKERY_GC_MAX_USED="2GB",
        BAKERY_GC_MIN_FREE="3GB",
        BAKERY_GC_KEEP="48h",
        BAKERY_GC_FILTERS='["type==source.local", "type==exec.cachemount"]',
        BAKERY_REGISTRY_MIRRORS='["mirror.invalid:5000"]',
    )
    assert builder.render_config(loaded, ("network.host",)) == (
        'insecure-entitlements = ["network.host"]\n'
        "\n"
        "[worker.oci]\n"
        "  gc = true\n"
        '  reservedSpace = "1GB"\n'
        '  maxUsedSpace = "2GB"\n'
        '  minFreeSpace = "3GB"\n'
        "\n"
        "[[worker.oci.gcpolicy]]\n"
        '  reservedSpace = "1GB"\n'
        '  maxUsedSpace = "2GB"\n'
        '  minFreeSpace = "3GB"\n'
        '  keepDuration = "48h"\n'
        '  filters = ["type==source.local", "type==exec.cachemount"]\n'
        "  all = true\n"
        "\n"
        "[[worker.oci.gcpolicy]]\n"
        '  minFreeSpace = "3GB"\n'
        "  all = true\n"
        "\n"
        '[registry."docker.io"]\n'
        '  mirrors = ["mirror.invalid:5000"]\n'
    )


def test_render_config_without_mirrors_has_no_registry_section():
    assert "[registry." not in builder.render_config(load(), ())


# --- ensure ---------------------------------------------------------------------------------------


def _ensure(seam: Recorder, tmp_path: Path, **environ: str) -> list[str]:
    seam.respond = by_argv(**{"buildx inspect bakery-alice": (1, "", NO_BUILDER)})
    loaded = load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice", **environ)
    return builder.ensure(loaded, ENTITLEMENTS, tmp_path / "builders")


def test_ensure_creates_a_missing_docker_container_builder(seam: Recorder, tmp_path: Path):
    report = _ensure(seam, tmp_path)
    config = tmp_path / "builders" / "bakery-alice.buildkitd.toml"
    assert seam.argvs == [
        ("docker", "buildx", "inspect", "bakery-alice"),
        (
            "docker",
            "buildx",
            "create",
            "--name",
            "bakery-alice",
            "--driver",
            "docker-container",
            "--buildkitd-config",
            str(config),
            "--bootstrap",
        ),
    ]
    assert config.read_text() == CONFIG
    assert report == [f"rendered {config}", "builder bakery-alice: created with driver docker-container"]


def test_ensure_without_bootstrap(seam: Recorder, tmp_path: Path):
    _ensure(seam, tmp_path, BAKERY_BOOTSTRAP="false")
    assert seam.argvs[-1][-2:] == ("--buildkitd-config", str(tmp_path / "builders" / "bakery-alice.buildkitd.toml"))
    assert "--bootstrap" not in seam.argvs[-1]


def test_ensure_with_a_buildkit_image_and_driver_opts(seam: Recorder, tmp_path: Path):
    _ensure(
        seam,
        tmp_path,
        BAKERY_BUILDKIT_IMAGE="mirror.invalid/moby/buildkit:v0.23.2",
        BAKERY_DRIVER_OPTS='["network=host"]',
    )
    assert seam.argvs[-1] == (
        "docker",
        "buildx",
        "create",
        "--name",
        "bakery-alice",
        "--driver",
        "docker-container",
        "--buildkitd-config",
        str(tmp_path / "builders" / "bakery-alice.buildkitd.toml"),
        "--driver-opt",
        "network=host",
        "--driver-opt",
        "image=mirror.invalid/moby/buildkit:v0.23.2",
        "--bootstrap",
    )


def test_ensure_remote_builder_passes_the_endpoint(seam: Recorder, tmp_path: Path):
    seam.respond = by_argv(**{"buildx inspect bakery-alice": (1, "", NO_BUILDER)})
    loaded = load(BAKERY_DRIVER="remote", GITHUB_ACTOR="alice", BAKERY_ENDPOINT="tcp://buildkitd.invalid:1234")
    report = builder.ensure(loaded, ENTITLEMENTS, tmp_path / "builders")
    assert seam.argvs[-1] == (
        "docker",
        "buildx",
        "create",
        "--name",
        "bakery-alice",
        "--driver",
        "remote",
        "tcp://buildkitd.invalid:1234",
    )
    assert report == ["builder bakery-alice: created with driver remote"]
    assert not (tmp_path / "builders").exists()


def test_ensure_leaves_an_existing_builder_alone(seam: Recorder, tmp_path: Path):
    seam.respond = by_argv(**{"buildx inspect bakery-alice": (0, "Name: bakery-alice\nDriver: docker-container\n")})
    loaded = load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice")
    report = builder.ensure(loaded, ENTITLEMENTS, tmp_path / "builders")
    assert seam.argvs == [("docker", "buildx", "inspect", "bakery-alice")]
    assert report == ["builder bakery-alice: exists, driver docker-container; unchanged"]
    assert not (tmp_path / "builders").exists()


def test_ensure_docker_driver_checks_and_notes(seam: Recorder, tmp_path: Path):
    seam.respond = by_argv(
        **{
            "version --format {{.Server.Version}}": (0, "28.5.2\n"),
            "buildx inspect default": (0, "Name: default\nDriver: docker\n"),
            "info --format {{json .DriverStatus}}": (0, '[["Backing Filesystem","extfs"]]\n'),
        }
    )
    report = builder.ensure(load(BAKERY_DRIVER="docker", GITHUB_ACTOR="alice"), ENTITLEMENTS, tmp_path)
    assert seam.argvs == [
        ("docker", "version", "--format", "{{.Server.Version}}"),
        ("docker", "buildx", "inspect", "default"),
        ("docker", "info", "--format", "{{json .DriverStatus}}"),
    ]
    assert report == [
        "note: the docker driver uses the engine's own builder; the builder scope does not apply",
        "builder default: driver docker, exists (the engine's own)",
        "note: cache export needs the containerd image store: set "
        '{"features": {"containerd-snapshotter": true}} in /etc/docker/daemon.json and restart dockerd',
    ]


def test_ensure_docker_driver_with_the_containerd_store_has_no_store_note(seam: Recorder, tmp_path: Path):
    seam.respond = by_argv(
        **{
            "version --format {{.Server.Version}}": (0, "28.5.2\n"),
            "info --format {{json .DriverStatus}}": (0, '[["driver-type","io.containerd.snapshotter.v1"]]\n'),
        }
    )
    report = builder.ensure(load(BAKERY_DRIVER="docker"), ENTITLEMENTS, tmp_path)
    assert report == ["builder default: driver docker, exists (the engine's own)"]


def test_require_a_missing_builder_is_environment_not_ready(seam: Recorder):
    seam.respond = by_argv(**{"buildx inspect gone": (1, "", NO_BUILDER)})
    with pytest.raises(EnvironmentNotReady, match=r"^buildx builder 'gone' not found; create it: invoke builder$"):
        builder.require("gone")


def test_inspect_parses_driver_nodes_and_buildkit(seam: Recorder):
    seam.respond = by_argv(
        **{
            "buildx inspect b": (
                0,
                "Name:          b\nDriver:        docker-container\n\nNodes:\nName:      b0\n"
                "Endpoint:  unix:///var/run/docker.sock\nBuildKit version: v0.23.2\n",
            )
        }
    )
    assert builder.inspect("b") == builder.Status("b", True, "docker-container", ("b0",), "v0.23.2")


# --- remove, prune, append ---------------------------------------------------------------------------


def test_remove_on_the_docker_driver_is_a_usage_error(seam: Recorder):
    with pytest.raises(UsageError, match=r"cannot be removed; use --prune"):
        builder.remove(load(BAKERY_DRIVER="docker"))
    assert seam.argvs == []


def test_remove_an_existing_builder(seam: Recorder):
    seam.respond = by_argv(**{"buildx inspect bakery-alice": (0, "Name: bakery-alice\n")})
    assert (
        builder.remove(load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice")) == "builder bakery-alice: removed"
    )
    assert seam.argvs == [("docker", "buildx", "inspect", "bakery-alice"), ("docker", "buildx", "rm", "bakery-alice")]


def test_remove_a_missing_builder_does_nothing(seam: Recorder):
    seam.respond = by_argv(**{"buildx inspect bakery-alice": (1, "", NO_BUILDER)})
    message = builder.remove(load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice"))
    assert message == "builder bakery-alice: not present; nothing to remove"
    assert seam.argvs == [("docker", "buildx", "inspect", "bakery-alice")]


@pytest.mark.parametrize(
    ("help_text", "flag"),
    [
        ("      --keep-storage bytes   Amount of disk space to keep for cache\n", "--keep-storage"),
        ("      --reserved-space bytes   Amount of disk space always allowed to keep\n", "--reserved-space"),
    ],
)
def test_prune_probes_for_its_keep_flag(seam: Recorder, help_text: str, flag: str):
    seam.respond = by_argv(**{"buildx prune --help": (0, help_text)})
    loaded = load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice")
    assert builder.prune(loaded, "10GB", ("until=24h", "type=regular")) == "builder bakery-alice: pruned"
    assert seam.argvs == [
        ("docker", "buildx", "inspect", "bakery-alice"),
        ("docker", "buildx", "prune", "--help"),
        (
            "docker",
            "buildx",
            "prune",
            "--builder",
            "bakery-alice",
            "--force",
            "--filter",
            "until=24h",
            "--filter",
            "type=regular",
            flag,
            "10GB",
        ),
    ]


def test_prune_without_keep_storage(seam: Recorder):
    seam.respond = by_argv(**{"buildx prune --help": (0, "--reserved-space\n")})
    builder.prune(load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice"), None, ())
    assert seam.argvs[-1] == ("docker", "buildx", "prune", "--builder", "bakery-alice", "--force")


def test_prune_everything(seam: Recorder):
    seam.respond = by_argv(**{"buildx prune --help": (0, "--keep-storage\n")})
    builder.prune(load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice"), None, (), everything=True)
    assert seam.argvs[-1] == ("docker", "buildx", "prune", "--builder", "bakery-alice", "--all", "--force")


def test_append_a_node(seam: Recorder):
    loaded = load(BAKERY_DRIVER="remote", GITHUB_ACTOR="alice", BAKERY_DRIVER_OPTS='["cacert=/ca.pem"]')
    assert (
        builder.append(loaded, "tcp://node2.invalid:1234")
        == "builder bakery-alice: appended node tcp://node2.invalid:1234"
    )
    assert seam.argvs == [
        ("docker", "buildx", "inspect", "bakery-alice"),
        (
            "docker",
            "buildx",
            "create",
            "--append",
            "--name",
            "bakery-alice",
            "--driver-opt",
            "cacert=/ca.pem",
            "tcp://node2.invalid:1234",
        ),
    ]


def test_append_refuses_the_docker_driver_and_a_bad_endpoint(seam: Recorder):
    with pytest.raises(UsageError):
        builder.append(load(BAKERY_DRIVER="docker"), "tcp://x;rm -rf /")
    assert not any("create" in argv for argv in seam.argvs)


def test_status_lines(seam: Recorder):
    seam.respond = by_argv(
        **{
            "buildx inspect bakery-alice": (
                0,
                "Name: bakery-alice\nDriver: docker-container\nName: bakery-alice0\nBuildKit version: v0.23.2\n",
            ),
            "buildx du --builder bakery-alice": (0, "ID  RECLAIMABLE  SIZE\nShared:\t1GB\nTotal:\t2.5GB\n"),
        }
    )
    assert builder.status_lines(load(BAKERY_DRIVER="docker-container", GITHUB_ACTOR="alice")) == [
        "builder:  bakery-alice",
        "driver:   docker-container",
        "nodes:    bakery-alice0",
        "buildkit: v0.23.2",
        "disk:     Total:\t2.5GB",
    ]
