"""nox sessions: one `bake(...)` session per vector of the active matrix
(BAKERY_MATRIX, default `default`), plus lint and tests.

Positional arguments after `--` are targets: `nox -s "bake(sys=debian,feat=all)" -- tests-smoke`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

from bakery import bake as bake_module
from bakery import cli, sessions
from bakery.errors import BakeryError

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


def _bake_session(entry: sessions.Session):
    # nox exits 1 for any failed session; `invoke bake` gives bakery's own codes.
    def bake(session: nox.Session) -> None:
        try:
            with cli.signals():
                settings = cli.load({})
                targets = bake_module.split_targets(session.posargs)
                bake_module.run(settings, targets, [entry.vector], out=session.log)
        except BakeryError as exc:
            print(cli.error_line(exc), file=sys.stderr)
            session.error(cli.error_line(exc))

    bake.__doc__ = entry.description
    return bake


def _register() -> None:
    try:
        vectors = cli.load({}).vectors(use_matrix=True)
    except BakeryError as exc:
        # A bad setting must not hide every session: say it now (a named
        # session would otherwise just be "not found") and when one runs.
        message = cli.error_line(exc)
        print(message, file=sys.stderr)

        @nox.session(python=False, name="bake(invalid-settings)")
        def invalid(session: nox.Session) -> None:
            """Report the settings error that prevented listing the bake sessions."""
            session.error(message)

        return
    for entry in sessions.sessions(vectors):
        nox.session(python=False, name=entry.id, tags=list(entry.tags))(_bake_session(entry))


_register()


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """Lint Python (ruff, mypy), Dockerfiles (hadolint) and shell (shellcheck)."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "bakery")
    dockerfiles = [*sorted(str(p) for p in Path("docker").glob("Dockerfile.*")), "bench/naive.Dockerfile"]
    session.run("hadolint", *dockerfiles, "tests/standin/Dockerfile")
    scripts = ["ci/provision-docker.sh", "ci/setup.sh", ".ci/run", "docker/scripts/apt-install", "docker/scripts/smoke"]
    scripts += sorted(str(p) for p in (*Path("docker/complement").glob("*.sh"), *Path("tests/standin").glob("*.sh")))
    session.run("shellcheck", *scripts, external=True)


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Run the test tiers: unit, plan and engine (pytest markers)."""
    session.run("pytest", *session.posargs)
