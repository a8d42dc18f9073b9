"""Unit tests for bakery.engine.probe: on a warm probe cache a bake
runs no docker call but the bake itself; the cache is per endpoint; and a
stopped daemon (exit 3) and the disk gate (exit 4) still stop a bake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake
from bakery.config import settings
from bakery.engine import docker, probe
from bakery.errors import EXIT_DISK, EXIT_ENVIRONMENT, BakeryError, DiskSpaceError, EnvironmentNotReady
from tests.support.docker_fakes import PROBES, ScriptedDocker
from tests.support.settings import for_bake

BAKE_FILE = str(ROOT / "docker" / "bake.hcl")


def _bake(script: ScriptedDocker, loaded: settings.Settings) -> list[tuple[str, ...]]:
    start = len(script.events)
    with docker.use_runner(script):
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    return [argv for kind, argv in script.events[start:] if kind == "seam"]  # type: ignore[misc]


def _is_bake(argv: tuple[str, ...]) -> bool:
    return argv[1:3] == ("buildx", "bake") and "--print" not in argv and "--help" not in argv


# The roots the default vector needs, checked before every bake (bakery.engine.system_image).
ROOTS = ("docker", "image", "inspect", "--format", "{{.Id}}", "debian:testing-slim", "amd64/debian:testing-slim")


def test_a_warm_cache_leaves_the_root_check_and_the_bake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    first = _bake(script, for_bake(tmp_path))
    assert set(first[:4]) == PROBES
    assert first[4:6] == [ROOTS, ("docker", "buildx", "bake", "--file", BAKE_FILE, "--print", "default")]
    assert len(first) == 7 and _is_bake(first[6])
    # The probes and the definition are cached by their inputs: the roots and the bake are left.
    second = _bake(script, for_bake(tmp_path))
    assert second[0] == ROOTS and len(second) == 2 and _is_bake(second[1])


def test_the_cache_is_keyed_on_the_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    _bake(script, for_bake(tmp_path))
    # Same versions, same builder name, another daemon: probed again.
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    again = _bake(script, for_bake(tmp_path))
    assert set(again[:-1]) == PROBES | {ROOTS}
    assert probe.endpoint() == probe.Endpoint("default", "tcp://127.0.0.1:2375")
    assert probe.key(probe.Endpoint("default", "tcp://127.0.0.1:2375"), "default") != probe.key(
        probe.Endpoint("default", "tcp://127.0.0.2:2375"), "default"
    )


def test_a_stopped_daemon_exits_3_on_a_warm_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    _bake(script, for_bake(tmp_path))
    daemon_socket.close()  # the daemon stops; its socket file stays behind
    down = ScriptedDocker()
    failing = down.__call__

    def answer(call: docker.Call) -> docker.Completed:
        if call.argv[1] == "info":
            return docker.Completed(call.argv, 1, '""\n', "Cannot connect to the Docker daemon at unix:///x.sock.\n")
        return failing(call)

    host = f"unix://{tmp_path / 'docker.sock'}"
    with docker.use_runner(answer), pytest.raises(EnvironmentNotReady) as info:
        loaded = for_bake(tmp_path)
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    assert str(info.value) == f"Docker daemon not reachable at {host}; start it: sudo ci/provision-docker.sh"
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert not [argv for kind, argv in down.events if kind == "seam" and _is_bake(argv)]  # type: ignore[arg-type]


def test_a_daemon_gone_during_the_bake_exits_3_and_forgets_the_probe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
):
    monkeypatch.chdir(ROOT)
    _bake(ScriptedDocker(), for_bake(tmp_path))
    assert probe.cached("default") is not None

    def gone(call: docker.Call) -> docker.Completed:
        return docker.Completed(call.argv, 1, "", "ERROR: Cannot connect to the Docker daemon at unix:///x.sock\n")

    with docker.use_runner(gone), pytest.raises(EnvironmentNotReady, match=r"^Docker daemon not reachable at unix://"):
        loaded = for_bake(tmp_path)
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    assert probe.cached("default") is None


def test_a_step_log_that_names_the_daemon_is_still_a_build_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
):
    """Plain progress puts step logs on stderr: a project's test that prints
    the daemon's error text must not turn a failed build into exit 3."""
    monkeypatch.chdir(ROOT)
    _bake(ScriptedDocker(), for_bake(tmp_path))
    stderr = (
        "#12 0.512 Cannot connect to the Docker daemon at unix:///in/a/test.sock\n#12 ERROR: process did not complete\n"
    )

    engine = ScriptedDocker()

    def failed(call: docker.Call) -> docker.Completed:
        if call.argv[1:3] != ("buildx", "bake"):
            return engine(call)  # the roots are there; only the build fails
        return docker.Completed(call.argv, 1, "", stderr)

    with docker.use_runner(failed), pytest.raises(BakeryError) as info:
        loaded = for_bake(tmp_path)
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    assert not isinstance(info.value, EnvironmentNotReady)
    assert info.value.exit_code == 1
    assert probe.cached("default") is not None


def test_the_disk_gate_exits_4_on_a_warm_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    _bake(script, for_bake(tmp_path))
    start = len(script.events)
    with docker.use_runner(script), pytest.raises(DiskSpaceError) as info:
        loaded = for_bake(tmp_path, BAKERY_MIN_FREE_GB="1000000")
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    assert info.value.exit_code == EXIT_DISK
    assert str(info.value).startswith("only ") and "below BAKERY_MIN_FREE_GB=1000000" in str(info.value)
    assert script.events[start:] == []  # nothing reached docker


def test_a_removed_builder_exits_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    original = script.__call__

    def answer(call: docker.Call) -> docker.Completed:
        if call.argv[1:3] == ("buildx", "inspect"):
            return docker.Completed(call.argv, 1, "", 'ERROR: no builder "bakery-x" found\n')
        return original(call)

    with docker.use_runner(answer), pytest.raises(EnvironmentNotReady) as info:
        loaded = for_bake(tmp_path, BAKERY_BUILDER="bakery-x")
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    assert str(info.value) == "buildx builder 'bakery-x' not found; create it: invoke builder"


def test_the_endpoint_follows_the_docker_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import hashlib

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert probe.endpoint() == probe.Endpoint("default", "unix:///var/run/docker.sock")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"remote").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "remote", "Endpoints": {"docker": {"Host": "ssh://h"}}}))
    assert probe.endpoint() == probe.Endpoint("remote", "ssh://h")
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert probe.endpoint().context == "default"
    monkeypatch.setenv("DOCKER_HOST", "tcp://h:2376")
    assert probe.endpoint() == probe.Endpoint("default", "tcp://h:2376")


def test_entitlements_are_printed_once_per_bake_file_and_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    _bake(script, for_bake(tmp_path))
    other = _bake(script, for_bake(tmp_path, source_location="elsewhere"))
    # Another variable value: printed again; the probes stay warm.
    assert other[:-1] == [ROOTS, ("docker", "buildx", "bake", "--file", BAKE_FILE, "--print", "default")]


def test_a_failed_bake_is_not_an_environment_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    monkeypatch.chdir(ROOT)
    with docker.use_runner(ScriptedDocker(bake_code=1)), pytest.raises(BakeryError) as info:
        loaded = for_bake(tmp_path)
        bake.run(loaded, ["default"], [loaded.definition.default_vector()], out=lambda line: None)
    assert info.value.exit_code == 1 and str(info.value).startswith("bake failed with exit code 1;")
