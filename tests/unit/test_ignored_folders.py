"""No tracked folder is one that GitHub's standard Python .gitignore ignores.

A fork that starts from GitHub's template (github/gitignore, Python.gitignore) would silently
drop such a folder from its commits: `build/` matches at any depth, so `bakery/build/` was one
(docs/architecture.md, the rooms). The patterns below are the template's that can match a
folder: those ending in `/`, and the bare names that match a file or a folder alike. Matching
follows gitignore(5): a pattern with no `/` but a trailing one matches a name at any depth, one
with a leading or middle `/` is relative to the repository's root."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from tests.support.repository import tracked

PYTHON_GITIGNORE = (
    # Byte-compiled files; distribution / packaging
    "__pycache__/",
    "build/",
    "develop-eggs/",
    "dist/",
    "downloads/",
    "eggs/",
    ".eggs/",
    "lib/",
    "lib64/",
    "parts/",
    "sdist/",
    "var/",
    "wheels/",
    "share/python-wheels/",
    "*.egg-info/",
    # Unit test / coverage reports
    "htmlcov/",
    ".tox/",
    ".nox/",
    ".cache",
    ".hypothesis/",
    ".pytest_cache/",
    "cover/",
    # Flask, Scrapy, Sphinx, PyBuilder, Jupyter, IPython
    "instance/",
    ".webassets-cache",
    ".scrapy",
    "docs/_build/",
    ".pybuilder/",
    "target/",
    ".ipynb_checkpoints",
    "profile_default/",
    # pdm, PEP 582
    ".pdm-build/",
    "__pypackages__/",
    # Environments
    ".env",
    ".venv",
    "env/",
    "venv/",
    "ENV/",
    "env.bak/",
    "venv.bak/",
    # Spyder, Rope, mkdocs, mypy, Pyre, pytype, Cython, Ruff
    ".spyproject",
    ".ropeproject",
    "/site",
    ".mypy_cache/",
    ".pyre/",
    ".pytype/",
    "cython_debug/",
    ".ruff_cache/",
)


def folders(paths: Iterable[str]) -> set[PurePosixPath]:
    """Every folder that holds one of the files, at any depth."""
    return {parent for path in paths for parent in PurePosixPath(path).parents if parent != PurePosixPath(".")}


def matches(pattern: str, folder: PurePosixPath) -> bool:
    body = pattern.strip("/")
    if "/" in pattern.rstrip("/"):
        # Anchored: the folder's whole path, one component per pattern component.
        want = body.split("/")
        return len(want) == len(folder.parts) and all(map(fnmatchcase, folder.parts, want))
    return fnmatchcase(folder.name, body)


def ignored_folders(paths: Iterable[str], patterns: Iterable[str] = PYTHON_GITIGNORE) -> list[str]:
    chosen = tuple(patterns)
    return sorted(f"{folder}/ ({p})" for folder in folders(paths) for p in chosen if matches(p, folder))


def test_no_tracked_folder_is_ignored_by_the_python_template():
    assert ignored_folders(tracked()) == []


def test_a_build_folder_at_any_depth_is_caught():
    assert ignored_folders(["bakery/build/x.py"]) == ["bakery/build/ (build/)"]
    assert ignored_folders(["bakery/baking/x.py", "build.py", "README.md"]) == []


def test_anchored_patterns_only_match_at_the_root():
    assert ignored_folders(["docs/_build/index.html"]) == ["docs/_build/ (docs/_build/)"]
    assert ignored_folders(["example/docs/_build/index.html", "docs/site/x.md"]) == []
    assert ignored_folders(["site/index.html"]) == ["site/ (/site)"]


def test_bare_names_and_globs_match_folders():
    assert ignored_folders(["tests/.venv/bin/python"]) == ["tests/.venv/ (.venv)"]
    assert ignored_folders(["bakery.egg-info/PKG-INFO"]) == ["bakery.egg-info/ (*.egg-info/)"]
