"""The lint session covers the tree: every Dockerfile goes to hadolint and every shell script to
shellcheck, and the Python linters run over the package. The session itself runs as `nox -s
lint` (CI runs it before the tests, .ci/run); here its function is called with a stand-in
session that records the commands, so no linter and no nox runs inside pytest."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from dataclasses import dataclass, field
from types import ModuleType

import pytest

from bakery import ROOT
from tests.support.repository import tracked

SHELL_SHEBANG = re.compile(rb"^#!\s*/\S*?(?:/env\s+)?(?:ba|da)?sh\b")


@dataclass
class RecordingSession:
    """Stands in for nox.Session: records each `run` as (argv, keyword options)."""

    runs: list[tuple[tuple[str, ...], dict[str, object]]] = field(default_factory=list)
    posargs: list[str] = field(default_factory=list)

    def run(self, *args: str, **kwargs: object) -> None:
        self.runs.append((args, kwargs))


@functools.cache
def noxfile() -> ModuleType:
    # Loaded once: nox registers each session at import. The noxfile puts its venv on PATH;
    # that change is undone here so it cannot reach the other tests.
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", os.environ.get("PATH", ""))
        spec.loader.exec_module(module)
    return module


def lint_commands() -> dict[str, tuple[str, ...]]:
    session = RecordingSession()
    noxfile().lint(session)
    commands: dict[str, tuple[str, ...]] = {}
    for argv, _ in session.runs:
        key = " ".join(argv[:2]) if argv[0] == "ruff" else argv[0]
        assert key not in commands, f"the lint session runs {key} twice"
        commands[key] = argv
    return commands


def dockerfiles() -> set[str]:
    return {n for n in tracked() if re.search(r"(^|/)Dockerfile[^/]*$|\.Dockerfile$", n)}


def shell_scripts() -> set[str]:
    found = set()
    for name in tracked():
        path = ROOT / name
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as f:
            first = f.readline()
        if name.endswith(".sh") or SHELL_SHEBANG.match(first):
            found.add(name)
    return found


def test_the_python_linters_run_over_the_whole_tree_and_the_package():
    commands = lint_commands()
    assert commands["ruff check"] == ("ruff", "check", ".")
    assert commands["ruff format"] == ("ruff", "format", "--check", ".")
    assert commands["mypy"] == ("mypy", "bakery")


def test_hadolint_names_every_dockerfile_in_the_tree():
    named = set(lint_commands()["hadolint"][1:])
    assert named == dockerfiles()


def test_shellcheck_names_every_shell_script_in_the_tree():
    named = set(lint_commands()["shellcheck"][1:])
    assert named == shell_scripts()


def test_the_tree_scan_finds_the_files_we_know():
    # The scans above are only as good as their patterns: these are known members of each kind,
    # among them the ones without a telling name (no .sh, a Dockerfile outside docker/).
    assert {"docker/Dockerfile.system", "bench/naive.Dockerfile", "tests/standin/Dockerfile"} <= dockerfiles()
    assert {".ci/run", "ci/setup.sh", "docker/scripts/apt-install", "docker/scripts/smoke"} <= shell_scripts()
    assert "tasks.py" not in shell_scripts() and "docker/bake.hcl" not in dockerfiles()


def test_the_default_sessions_are_lint_and_the_quick_tier():
    module = noxfile()
    assert module.nox.options.sessions == ["lint", "unit"]
    recorded = {}
    for name in ("unit", "plan", "engine"):
        session = RecordingSession(posargs=["-k", "x"])
        getattr(module, name)(session)
        (recorded[name],) = [argv for argv, _ in session.runs]
    assert recorded == {
        "unit": ("pytest", "-m", "unit or cli", "-k", "x"),
        "plan": ("pytest", "-m", "plan", "-k", "x"),
        "engine": ("pytest", "-m", "engine", "-k", "x"),
    }
