"""Fixtures for the unit tier."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def daemon_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A listening unix socket as DOCKER_HOST: the probe cache checks that the
    endpoint still accepts connections (nothing answers; the seam does)."""
    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    yield server
    server.close()
