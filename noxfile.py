"""nox sessions: one `bake(...)` session per vector of the active matrix
(BAKERY_MATRIX, default `default`), plus lint and tests.

Positional arguments after `--` are targets: `nox -s "bake(sys=debian,feat=all)" -- tests-smoke`.
"""

from __future__ import annotations

from pathlib import Path

import nox

from bakery.cli import sessions

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


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
    session.run("hadolint", *dockerfiles, "tests/standin/Dockerfile")
    scripts = ["ci/provision-docker.sh", "ci/provision-lab.sh", "ci/setup.sh", ".ci/run"]
    scripts += ["docker/scripts/apt-install", "docker/scripts/smoke"]
    scripts += sorted(str(p) for p in (*Path("docker/complement").glob("*.sh"), *Path("tests/standin").glob("*.sh")))
    session.run("shellcheck", *scripts, external=True)


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Run the test tiers: unit, plan and engine (pytest markers)."""
    session.run("pytest", *session.posargs)
