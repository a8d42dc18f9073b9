""".dockerignore, read as BuildKit reads it, for the files a run records
(docs.docker.com/build/concepts/context/#dockerignore-files).

A line is a pattern in Go's `filepath.Match` syntax (`*`, `?`, `[...]`) plus
`**`, any number of directories; `#` starts a comment; leading and trailing
slashes are dropped and the path cleaned; `!` makes an exception; the last
line that matches a path decides. A pattern that matches a directory excludes
everything under it (moby/patternmatcher, `MatchesOrParentMatches`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exclusion: bool


def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def parse(text: str) -> tuple[Pattern, ...]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        line = line.removeprefix("!").strip()
        cleaned = posixpath.normpath(line.strip("/")) if line.strip("/") else ""
        if cleaned in ("", "."):
            continue
        patterns.append(Pattern(_regex(cleaned), exclusion))
    return tuple(patterns)


def load(context: Path) -> tuple[Pattern, ...]:
    """The patterns of a context directory's `.dockerignore` (none without one)."""
    try:
        return parse((context / ".dockerignore").read_text())
    except OSError:
        return ()


def ignored(patterns: tuple[Pattern, ...], path: str) -> bool:
    """Whether `path` (relative, `/`-separated) is left out of the context."""
    parents = path.split("/")
    candidates = ["/".join(parents[: n + 1]) for n in range(len(parents))]
    verdict = False
    for pattern in patterns:
        if any(pattern.regex.match(c) for c in candidates):
            verdict = not pattern.exclusion
    return verdict


def prunes(patterns: tuple[Pattern, ...], directory: str) -> bool:
    """Whether a walk may skip `directory` whole: it is ignored and no
    exception could bring a file under it back."""
    return ignored(patterns, directory) and not any(p.exclusion for p in patterns)
