"""The buildx minimum that `invoke doctor` checks (docs/decisions/buildx-minimum.md):
version lines as `docker buildx version` prints them."""

from __future__ import annotations

import pytest

from bakery.engine.doctor import buildx_too_old


@pytest.mark.parametrize(
    "line",
    [
        "github.com/docker/buildx 0.29.1+ds1 0.29.1+ds1-4",
        "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-2",
        "github.com/docker/buildx v0.30.0 4a2b0b6",
    ],
)
def test_supported_versions_pass(line: str):
    assert buildx_too_old(line) is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("github.com/docker/buildx 0.12.1 1c1c5b8", "buildx 0.12.1 is older than 0.13.1"),
        ("github.com/docker/buildx v0.13.0 0de5f1c", "buildx 0.13.0 is older than 0.13.1"),
        ("buildx dev", "cannot read a version from 'buildx dev'"),
    ],
)
def test_older_or_unreadable_versions_are_named(line: str, why: str):
    assert buildx_too_old(line) == why
