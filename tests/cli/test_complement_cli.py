"""`invoke complement --compare` as CI runs it, on the two real results
files (tests/data/complement); the seam's audit log proves nothing reached
docker. Both spellings: two paths as typed, and OLD,NEW."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bakery.errors import EXIT_FAILURE
from tests.conftest import DATA, invoke

OLD = DATA / "complement" / "tuwunel-2025-06-04.jsonl"
NEW = DATA / "complement" / "tuwunel-2026-08-18.jsonl"


@pytest.mark.parametrize("args", [(str(OLD), str(NEW)), (f"{OLD},{NEW}",)], ids=["OLD NEW", "OLD,NEW"])
def test_compare_on_the_real_files_makes_no_docker_call(tmp_path: Path, args: tuple[str, ...]) -> None:
    audit = tmp_path / "seam.jsonl"
    result = invoke("complement", "--compare", *args, env={**os.environ, "BAKERY_SEAM_LOG": str(audit)})
    assert result.returncode == EXIT_FAILURE, result.stderr
    assert "FAILED: 20 regression(s)" in result.stdout
    assert "fixes:          127" in result.stdout
    assert result.stderr.strip().splitlines() == [f"bakery: error: 20 regression(s) against the baseline {OLD}"]
    assert not audit.exists()


def test_a_second_path_without_compare_is_a_usage_error() -> None:
    result = invoke("complement", str(NEW))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"bakery: error: unexpected argument {str(NEW)!r}; to compare two results files: --compare OLD NEW"
    ]
