"""nox sessions: one `bake(...)` session per vector of the active matrix
(BAKERY_MATRIX, default `default`), plus lint and the test tiers by speed.

`nox` alone runs lint and unit, the quick loop. `nox -s plan` needs buildx, `nox -s engine` a
running dockerd (about ten minutes here). The bare `pytest` runs every tier, as CI does.

Positional arguments after `--` are targets: `nox -s "bake(sys=debian,feat=all)" -- tests-smoke`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

from bakery.cli import sessions

nox.options.default_venv_backend = "none"
# The sessions run in the environment nox itself runs in (`.venv/bin/nox`), whose tools (ruff,
# mypy, hadolint, pytest) are not on PATH unless the venv is activated: look there first.
_TOOLS = str(Path(sys.executable).parent)
if _TOOLS not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(filter(None, (_TOOLS, os.environ.get("PATH"))))
nox.options.sessions = ["lint", "unit"]


@nox.session(python=False)
@nox.parametrize("vector", sessions.params())
def bake(session: nox.Session, vector: object) -> None:
    """Bake one vector of the active matrix: the default group, or the targets after --."""
    sessions.bake(session, vector)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """Lint Python (ruff, mypy), Dockerfiles (hadolint) and shell (shellcheck)."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "bakery")
    dockerfiles = [*sorted(str(p) for p in Path("docker").glob("Dockerfile.*")), "bench/naive.Dockerfile"]
    dockerfiles += sorted(str(p) for p in Path("tests/unit/fixtures/flat").glob("Dockerfile.*"))
    session.run("hadolint", *dockerfiles, "tests/standin/Dockerfile")
    scripts = ["ci/provision-docker.sh", "ci/provision-lab.sh", "ci/setup.sh", ".ci/run"]
    scripts += ["docker/scripts/apt-install", "docker/scripts/apt-setup", "docker/scripts/smoke"]
    scripts += ["docker/scripts/pkg-build", "docker/scripts/pkg-installed", "tests/support/debian-vendor.sh"]
    scripts += sorted(str(p) for p in (*Path("docker/complement").glob("*.sh"), *Path("tests/standin").glob("*.sh")))
    session.run("shellcheck", *scripts, external=True)


def _tier(session: nox.Session, marker: str) -> None:
    # The markers come from the test directories (tests/conftest.py); arguments after `--`
    # go to pytest, e.g. `nox -s unit -- -k settings`.
    session.run("pytest", "-m", marker, *session.posargs)


@nox.session(python=False)
def unit(session: nox.Session) -> None:
    """Run the quick tiers: in-process tests (tests/unit) and the command lines as subprocesses (tests/cli)."""
    _tier(session, "unit or cli")


@nox.session(python=False)
def plan(session: nox.Session) -> None:
    """Run the plan tier: the real `docker buildx bake --print`, no daemon (tests/plan)."""
    _tier(session, "plan")


@nox.session(python=False)
def engine(session: nox.Session) -> None:
    """Run the engine tier against the real dockerd and buildx (tests/engine)."""
    _tier(session, "engine")
