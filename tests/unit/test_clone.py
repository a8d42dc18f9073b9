"""A clone on another machine must work: no committed symlink that leaves the
repository, and no tracked file that holds this checkout's absolute path (or
its parent's). Computed when the test runs, so it holds wherever the clone is."""

from __future__ import annotations

import os
from pathlib import Path

from bakery import ROOT
from tests.support.repository import tracked


def test_no_committed_symlink_leaves_the_repository():
    root = ROOT.resolve()
    leaving = []
    for name in tracked():
        path = ROOT / name
        if not path.is_symlink():
            continue
        target = os.readlink(path)
        resolved = (path.parent / target).resolve()
        if os.path.isabs(target) or not resolved.is_relative_to(root):
            leaving.append(f"{name} -> {target}")
    assert leaving == []


def test_no_tracked_file_holds_an_absolute_path_of_this_machine():
    checkout = str(ROOT.resolve())
    above = str(ROOT.resolve().parent)
    # A clone made straight in a shared temporary directory has it as its parent, and
    # the tree names /tmp/ for its own scratch files (docker/Dockerfile.cargo).
    needles = {checkout + "/", above + "/"} - {"//", "/tmp/", "/var/tmp/"}
    holders = []
    for name in tracked():
        path = ROOT / name
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        holders += [f"{name}: {needle}" for needle in sorted(needles) if needle.encode() in data]
    assert holders == []


def test_the_check_reads_the_real_file_list():
    names = tracked()
    assert "README.md" in names and "tasks.py" in names
    assert not Path(ROOT / ".venv-main").is_symlink()
