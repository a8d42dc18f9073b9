"""The Python front on a real engine (issue 3): builders and nox sessions."""

from __future__ import annotations

import json
import subprocess
import uuid

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
