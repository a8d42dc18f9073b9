"""A Dockerfile read as the Dockerfile frontend reads it, as far as bakery
needs: the meta ARG defaults before the first FROM, and each stage's FROM
(base, flags, name) and instructions, heredoc bodies kept verbatim
(docs.docker.com/reference/dockerfile/). bakery.baking.flatten renders stages
from it; bakery.tree.sharing reads which platform a stage runs on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bakery.errors import UsageError

_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=")
_ARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*))?")


class NotFlat(UsageError):
    """The tree uses a construct the generator does not read: the message
    names the file, the line and the construct (exit 2). Never a silent
    fallback: a bake that went another way would get other cache keys."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.construct = message


@dataclass(frozen=True)
class Instruction:
    keyword: str
    # The line the instruction starts on (1-based), for errors.
    line: int
    # The instruction's own lines (flags included), continuation lines joined by "\n".
    head: str
    # Heredoc bodies with their terminators, copied verbatim.
    bodies: tuple[str, ...] = ()

    def render(self, head: str | None = None) -> str:
        return "\n".join([self.head if head is None else head, *self.bodies])


@dataclass
class Stage:
    name: str | None
    index: int
    base: str
    from_flags: tuple[str, ...]
    line: int
    body: list[Instruction] = field(default_factory=list)


@dataclass(frozen=True)
class Parsed:
    meta: Mapping[str, str]
    stages: tuple[Stage, ...]
    path: str = "Dockerfile"

    def find(self, name: str) -> Stage | None:
        for stage in self.stages:
            if stage.name == name.lower():
                return stage
        return None


def parse(text: str, path: str = "Dockerfile") -> Parsed:
    """A Dockerfile's meta ARG defaults and stages. Comments go; heredoc
    bodies are kept as they are. `path` names the file in errors."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.startswith("#"):
            break
        if _DIRECTIVE.match(line):
            raise NotFlat(
                f"parser directive {line.strip()!r} (another frontend or escape character)", f"{path}:{number}"
            )
    instructions: list[Instruction] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        start = i
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [line]
        while parts[-1].rstrip().endswith("\\") and i < len(lines):
            nxt = lines[i]
            i += 1
            # The Dockerfile frontend skips comment and empty lines inside a continuation.
            if not nxt.strip() or nxt.lstrip().startswith("#"):
                continue
            parts.append(nxt)
        head = "\n".join(parts)
        keyword = line.split(None, 1)[0].upper()
        bodies = []
        if keyword in ("RUN", "COPY", "ADD"):
            for match in _HEREDOC.finditer(head):
                body = []
                while i < len(lines):
                    body.append(lines[i])
                    i += 1
                    end = body[-1].lstrip("\t") if match[1] else body[-1]
                    if end == match[3]:
                        break
                else:
                    raise NotFlat(f"heredoc {match[3]} is not terminated", f"{path}:{start}")
                bodies.append("\n".join(body))
        instructions.append(Instruction(keyword, start, head, tuple(bodies)))
    meta: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.head.split()[1:]
            flags = tuple(w for w in words if w.startswith("--"))
            rest = [w for w in words if not w.startswith("--")]
            name = rest[2].lower() if len(rest) == 3 and rest[1].lower() == "as" else None
            if len(rest) not in (1, 3):
                raise NotFlat(f"cannot read {ins.head!r}", f"{path}:{ins.line}")
            stages.append(Stage(name, len(stages), rest[0], flags, ins.line))
        elif not stages:
            if ins.keyword != "ARG":
                raise NotFlat(f"{ins.keyword} before the first FROM", f"{path}:{ins.line}")
            for name, value in declared_args(ins.head):
                meta[name] = unquote(value) if value is not None else ""
        else:
            stages[-1].body.append(ins)
    return Parsed(meta, tuple(stages), path)


def declared_args(head: str) -> list[tuple[str, str | None]]:
    text = " ".join(part.rstrip().removesuffix("\\") for part in head.split("\n"))
    found = []
    for word in _ARG.finditer(text.split(None, 1)[1] if " " in text.strip() else ""):
        found.append((word[1], word[2]))
    return found


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if value[0] == '"' else inner
    return value
