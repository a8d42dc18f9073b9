"""The lint session passes: ruff, mypy, hadolint and shellcheck (the style rules are enforced, not hoped for)."""

from __future__ import annotations

import os
import subprocess

from bakery import ROOT
from tests.conftest import VENV_BIN


def test_nox_lint_session_passes() -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(VENV_BIN / "nox"), "-s", "lint"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Session lint was successful" in result.stderr
