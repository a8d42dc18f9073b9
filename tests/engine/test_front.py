"""The Python front on a real engine: builders, nox sessions, and the probe
cache (docs/commands.md, "The probe cache")."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from bakery import ROOT
from tests.conftest import VENV_BIN, invoke

pytestmark = pytest.mark.usefixtures("engine")


def test_builder_with_the_docker_driver_is_the_engines_own() -> None:
    result = invoke("builder")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "builder default: driver docker, exists (the engine's own)"
    # Idempotent: the second call finds the same thing and changes nothing.
    assert invoke("builder").stdout == result.stdout


def test_docker_container_builder_create_inspect_config_remove(tmp_path) -> None:
    name = f"bakery-test-{uuid.uuid4().hex[:8]}"
    env = {"BAKERY_DRIVER": "docker-container", "BAKERY_BUILDER": name, "BAKERY_RUN_DIR": str(tmp_path)}
    try:
        created = invoke("builder", "--no-bootstrap", env=env)
        assert created.returncode == 0, created.stderr
        assert f"builder {name}: created with driver docker-container" in created.stdout
        inspect = subprocess.run(["docker", "buildx", "inspect", name], capture_output=True, text=True, check=True)
        assert "docker-container" in inspect.stdout
        config = (tmp_path / "builders" / f"{name}.buildkitd.toml").read_text()
        assert 'insecure-entitlements = ["network.host", "security.insecure"]' in config
        assert "[[worker.oci.gcpolicy]]" in config
        again = invoke("builder", "--no-bootstrap", env=env)
        assert f"builder {name}: exists, driver docker-container; unchanged" in again.stdout
    finally:
        removed = invoke("builder", "--rm", env=env)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f"builder {name}: removed"
    gone = subprocess.run(["docker", "buildx", "inspect", name], capture_output=True, text=True, check=False)
    assert gone.returncode != 0


def test_nox_default_session_bakes_tests_smoke() -> None:
    listed = subprocess.run(
        [str(VENV_BIN / "nox"), "-l", "--json", "-k", "bake"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    session = json.loads(listed.stdout)[1]["session"]
    assert session == "bake(sys=debian,feat=default)"
    result = subprocess.run(
        [str(VENV_BIN / "nox"), "-s", session, "--", "tests-smoke"], cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "ACCEPT tests-smoke [" in result.stderr + result.stdout


class SocketProxy:
    """A unix socket that forwards every connection to the real daemon's:
    a daemon endpoint this test can stop (the machine's dockerd keeps running)."""

    def __init__(self, path: Path, upstream: str = "/var/run/docker.sock") -> None:
        self.path, self.upstream = path, upstream
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def stop(self) -> None:
        """The daemon stops; its socket file stays behind, as after a crash.
        shutdown first: a bare close leaves the thread blocked in accept listening."""
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()


INFO = [
    "docker",
    "info",
    "--format",
    "{{json .ID}} {{json .ServerVersion}} {{json .DockerRootDir}} {{json .DriverStatus}}",
]


def _seam(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_warm_probe_cache_leaves_only_the_bake_and_still_sees_faults(tmp_path: Path) -> None:
    """On the real engine: with a warm probe cache the docker calls are the
    check of the roots and the bake; the disk gate still exits 4 and a stopped
    daemon still exits 3, neither reaching a bake."""
    proxy = SocketProxy(tmp_path / "docker.sock")
    env = {"DOCKER_HOST": f"unix://{tmp_path / 'docker.sock'}", "BAKERY_RUN_DIR": str(tmp_path / "runs")}
    try:
        first = invoke("bake", "install", env={**env, "BAKERY_SEAM_LOG": str(tmp_path / "cold.jsonl")})
        assert first.returncode == 0, first.stderr[-2000:]
        cold = _seam(tmp_path / "cold.jsonl")
        assert ["docker", "buildx", "inspect", "default"] in cold and len(cold) == 7
        warm = invoke("bake", "install", env={**env, "BAKERY_SEAM_LOG": str(tmp_path / "warm.jsonl")})
        assert warm.returncode == 0, warm.stderr[-2000:]
        roots, bake = _seam(tmp_path / "warm.jsonl")
        assert roots[:3] == ["docker", "image", "inspect"]
        assert bake[:3] == ["docker", "buildx", "bake"] and "--print" not in bake
        gated = invoke("bake", "install", env={**env, "BAKERY_MIN_FREE_GB": "1000000",
                                               "BAKERY_SEAM_LOG": str(tmp_path / "gated.jsonl")})  # fmt: skip
        assert gated.returncode == 4, gated.stderr
        assert "below BAKERY_MIN_FREE_GB=1000000" in gated.stderr
        assert _seam(tmp_path / "gated.jsonl") == []
    finally:
        proxy.stop()
    down = invoke("bake", "install", env={**env, "BAKERY_SEAM_LOG": str(tmp_path / "down.jsonl")})
    assert down.returncode == 3, down.stderr
    assert down.stderr.strip().splitlines()[-1] == (
        f"bakery: error: Docker daemon not reachable at unix://{tmp_path / 'docker.sock'}; "
        "start it: sudo ci/provision-docker.sh"
    )
    # The stopped endpoint no longer accepts connections: probed afresh, never baked.
    argvs = _seam(tmp_path / "down.jsonl")
    assert INFO in argvs
    assert [a for a in argvs if a[:3] == ["docker", "buildx", "bake"] and a[3] not in ("--print", "--help")] == []
