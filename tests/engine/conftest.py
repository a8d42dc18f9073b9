"""Fixtures for the engine tier: the Complement runs' images and run ids (tests/support/complement.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import complement


@pytest.fixture(scope="session")
def standin() -> str:
    return complement.build_standin()


@pytest.fixture(scope="session")
def testee() -> str:
    return complement.bake_testee()


@pytest.fixture
def run_id() -> Iterator[str]:
    """A fresh run id; afterwards anything still labelled with it is removed (the tests assert first)."""
    value = complement.new_run_id()
    yield value
    complement.sweep(value)
