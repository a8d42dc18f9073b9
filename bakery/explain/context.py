"""The context files behind an instance's steps, as content digests.

An instance's stages (bakery.baking.flatten's generated text) read files in
three ways: `COPY`/`ADD` sources from the build context, `RUN
--mount=type=bind,source=...` from it, and either of those `--from` a named
context that is a local directory. Only those files are digested, after the
context's `.dockerignore` (bakery/explain/ignore.py); a named context that
is not a local directory (a git URL, an image) is recorded by its value.
Paths are shown relative to the project, as `example/src/main.rs`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from bakery.explain import ignore

_MOUNT = re.compile(r"--mount=(\S+)")
_HEREDOC = re.compile(r"<<-?([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
MAIN = ""


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(keyword, head) of each instruction, continuation lines joined and
    heredoc bodies skipped."""
    lines = iter(text.splitlines())
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head = line
        while head.rstrip().endswith("\\"):
            nxt = next(lines, None)
            if nxt is None:
                break
            if nxt.strip() and not nxt.lstrip().startswith("#"):
                head = head.rstrip()[:-1] + " " + nxt.strip()
        for match in _HEREDOC.finditer(head):
            for body in lines:
                if body.lstrip("\t") == match[2]:
                    break
        yield head.split(None, 1)[0].upper(), head


def references(text: str) -> list[tuple[str, str]]:
    """(context, source path) pairs that the stages read: context MAIN for the
    build context, else the `--from` name (a stage or a named context)."""
    found: list[tuple[str, str]] = []
    for keyword, head in instructions(text):
        words = head.split()[1:]
        if keyword in ("COPY", "ADD"):
            flags = [w for w in words if w.startswith("--")]
            rest = [w for w in words if not w.startswith("--")]
            if rest and rest[0].startswith("["):
                try:
                    rest = [str(x) for x in json.loads(" ".join(rest))]
                except ValueError:
                    continue
            origin = next((f.removeprefix("--from=") for f in flags if f.startswith("--from=")), MAIN)
            found.extend((origin, src) for src in rest[:-1] if not src.startswith("<<") and "://" not in src)
        elif keyword == "RUN":
            for spec in _MOUNT.findall(head):
                parts = _options(spec)
                if parts.get("type") == "bind":
                    found.append((parts.get("from", MAIN), parts.get("source", parts.get("src", "."))))
    return found


def mount_ids(text: str) -> list[str]:
    """The ids of the stages' cache mounts (their target when no id is set)."""
    ids = []
    for keyword, head in instructions(text):
        if keyword != "RUN":
            continue
        for spec in _MOUNT.findall(head):
            parts = _options(spec)
            if parts.get("type") == "cache":
                ids.append(parts.get("id") or parts.get("target", parts.get("dst", "")))
    return sorted(set(ids))


def _options(spec: str) -> dict[str, str]:
    """A `--mount` value's `key=value` options."""
    return {key: value for key, _, value in (p.partition("=") for p in spec.split(",")) if value}


class Contexts:
    """The run's local contexts, each walked once and each file digested once."""

    def __init__(self, root: Path, main: str, named: Mapping[str, str]) -> None:
        self.root = root
        # name -> directory relative to the project (None: not a local directory).
        self.dirs: dict[str, str | None] = {MAIN: main}
        for name, value in named.items():
            local = "://" not in value and not value.startswith(("docker-image:", "oci-layout:", "target:"))
            self.dirs[name] = os.path.normpath(value) if local and (root / value).is_dir() else None
        self.values = dict(named)
        self._files: dict[str, list[str]] = {}
        self._digests: dict[str, str] = {}

    def files(self, name: str) -> list[str]:
        if name not in self._files:
            self._files[name] = _walk(self.root / (self.dirs[name] or ""))
        return self._files[name]

    def digest(self, name: str, relative: str) -> str:
        shown = _shown(self.dirs[name] or "", relative)
        if shown not in self._digests:
            try:
                with (self.root / shown).open("rb") as handle:
                    self._digests[shown] = "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError:
                self._digests[shown] = "unreadable"
        return self._digests[shown]

    def of(self, text: str) -> dict[str, str]:
        """path (relative to the project) -> digest, for what `text` reads."""
        out: dict[str, str] = {}
        for origin, source in references(text):
            if origin not in self.dirs:
                continue  # another stage: its own instance's record holds its inputs
            if self.dirs[origin] is None:
                out[f"{origin} (context)"] = self.values.get(origin, "")
                continue
            for relative in _select(self.files(origin), source):
                out[_shown(self.dirs[origin] or "", relative)] = self.digest(origin, relative)
        return dict(sorted(out.items()))


def _shown(directory: str, relative: str) -> str:
    return relative if directory in ("", ".") else f"{directory.rstrip('/')}/{relative}"


def _walk(top: Path) -> list[str]:
    patterns = ignore.load(top)
    found: list[str] = []
    for here, dirs, files in os.walk(top):
        base = os.path.relpath(here, top)
        base = "" if base == "." else base + "/"
        dirs[:] = sorted(d for d in dirs if not ignore.prunes(patterns, base + d))
        found.extend(base + f for f in sorted(files) if not ignore.ignored(patterns, base + f))
    return found


def _select(files: list[str], source: str) -> list[str]:
    source = os.path.normpath(source.lstrip("/")) if source.strip("/") else "."
    if source == ".":
        return files
    if any(c in source for c in "*?["):
        import fnmatch  # only for a glob: a bake pays for it only then

        return [f for f in files if fnmatch.fnmatchcase(f, source) or fnmatch.fnmatchcase(f, source + "/*")]
    return [f for f in files if f == source or f.startswith(source + "/")]
