"""Secrets with planted values through the real command line:
`invoke bake --print` with CI_VERBOSE_ENV prints the definition only; it needs
the docker CLI and buildx, not the daemon."""

from __future__ import annotations

import json

import pytest

from tests.conftest import invoke
from tests.support.planted_secrets import FORBIDDEN, PLANTED

DEAD_DOCKER = "unix:///nonexistent/bakery-secrets-docker.sock"


@pytest.mark.usefixtures("buildx_cli")
def test_verbose_env_of_a_real_print_run_masks_every_planted_value(tmp_path):
    seam_log = tmp_path / "seam.jsonl"
    env = {
        **PLANTED,
        "CI_VERBOSE_ENV": "1",
        "CI_VERBOSE": "1",  # the command log too
        "NO_BAKE": "1",
        "DOCKER_HOST": DEAD_DOCKER,
        "BAKERY_SEAM_LOG": str(seam_log),
    }
    result = invoke("bake", "--print", env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout + result.stderr
    for value in FORBIDDEN:
        assert value not in text, f"{value!r} leaked"
    lines = result.stdout.splitlines()
    for name in PLANTED:
        assert f"env {name}=***" in lines, f"{name} not shown masked"
    # The run did what --print does: the definition, and bake --print only at the seam.
    assert '"target": {' in result.stdout
    assert [argv[:3] + argv[-2:] for argv in map(json.loads, seam_log.read_text().splitlines())] == [
        ["docker", "buildx", "bake", "--print", "default"]
    ]
