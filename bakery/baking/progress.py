"""Read BuildKit's rawjson progress: what ran, what was CACHED, what failed.

Each rawjson line is a SolveStatus: {"vertexes": [...], "logs": [...], ...}.
A vertex is one step; its name looks like
`[<bake target> <stage> 3/4] RUN ...`, where the target is a bake target
that asked for it. BuildKit runs a shared step once and renames it for each
requester, so per-target counts credit shared steps to one of them. Bench
and the engine tests count steps with this module.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bakery.redact import redact_message

_STEP = re.compile(r"^\d+/\d+$")


@dataclass
class Vertex:
    digest: str
    name: str = ""
    cached: bool = False
    started: str | None = None
    completed: str | None = None
    error: str = ""
    logs: list[str] = field(default_factory=list)
    # The last log chunk ended mid-line: the next chunk continues logs[-1].
    open_line: bool = False

    def add_log(self, data: str) -> None:
        """BuildKit cuts step output into chunks anywhere, even mid-line."""
        lines = data.splitlines()
        if lines and self.open_line and self.logs:
            self.logs[-1] += lines.pop(0)
        self.logs.extend(lines)
        self.open_line = bool(data) and not data.endswith(("\n", "\r"))
        del self.logs[:-200]  # keep the tail for error reports

    @property
    def target(self) -> str | None:
        return _parse(self.name)[0]

    @property
    def stage(self) -> str | None:
        return _parse(self.name)[1]

    @property
    def text(self) -> str:
        return _parse(self.name)[2]

    @property
    def is_step(self) -> bool:
        """A Dockerfile instruction that does work: not loading definitions,
        contexts or metadata, not FROM, not the LINK half of COPY --link."""
        target, stage, text = _parse(self.name)
        # Dockerfile instructions carry an i/n counter; [auth], [internal] don't.
        if target is None or stage == "internal" or not _has_counter(self.name):
            return False
        if stage is not None and stage.startswith("context"):
            return False
        return not text.startswith(("FROM ", "LINK ", "load ", "exporting", "naming", "unpacking", "resolving"))

    @property
    def state(self) -> str:
        if self.error:
            # BuildKit cancels a solve's copy of a vertex that another solve
            # on the engine is evaluating, or that a failure elsewhere made
            # moot: nothing of this step failed.
            return "canceled" if self.error.startswith("context canceled") else "error"
        if self.cached:
            return "cached"
        return "ran" if self.completed else "running"


def _has_counter(name: str) -> bool:
    inside = name[1:].split("] ", 1)[0] if name.startswith("[") else ""
    return bool(inside) and bool(_STEP.match(inside.rsplit(" ", 1)[-1]))


def _parse(name: str) -> tuple[str | None, str | None, str]:
    """`[target stage i/n] text` -> (target, stage, text). A stage of the
    generated Dockerfile (bakery.baking.flatten) reads `[target.stage i/n]`."""
    if not name.startswith("[") or "] " not in name:
        return None, None, name
    inside, text = name[1:].split("] ", 1)
    parts = inside.split(" ")
    if len(parts) > 1 and _STEP.match(parts[-1]):
        parts = parts[:-1]
    if len(parts) == 1 and "." in parts[0]:
        parts = parts[0].split(".", 1)
    stage = " ".join(parts[1:]) or None
    return parts[0], stage, text


class Progress:
    """Accumulates rawjson lines; `on_line` fits docker.run's on_stderr."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.vertices: dict[str, Vertex] = {}
        # Step logs can carry secrets (a failing step's environment, a URL).
        self._echo = (lambda line: echo(redact_message(line))) if echo else None
        self._reported: set[str] = set()

    def feed(self, line: str) -> None:
        line = line.strip()
        if not line.startswith("{"):
            if line and self._echo:
                self._echo(line)  # buildx's own messages (errors, warnings)
            return
        try:
            status = json.loads(line)
        except json.JSONDecodeError:
            return
        for raw in status.get("vertexes") or []:
            vertex = self.vertices.setdefault(raw["digest"], Vertex(raw["digest"]))
            vertex.name = raw.get("name", vertex.name)
            vertex.cached = vertex.cached or bool(raw.get("cached"))
            vertex.started = raw.get("started", vertex.started)
            vertex.completed = raw.get("completed", vertex.completed)
            vertex.error = raw.get("error", vertex.error) or ""
            self._report(vertex)
        for log in status.get("logs") or []:
            vertex = self.vertices.setdefault(log["vertex"], Vertex(log["vertex"]))
            vertex.add_log(base64.b64decode(log.get("data", "")).decode("utf-8", "replace"))

    def _report(self, vertex: Vertex) -> None:
        if not self._echo or vertex.digest in self._reported or vertex.state == "running":
            return
        if not vertex.is_step and vertex.state != "error":
            return
        self._reported.add(vertex.digest)
        self._echo(f"{vertex.state.upper():7} {vertex.name}")
        if vertex.error:
            for text in vertex.logs[-40:]:
                self._echo(f"        | {text}")
            self._echo(f"        error: {vertex.error}")

    def steps(self) -> list[Vertex]:
        return [v for v in self.vertices.values() if v.is_step]

    def counts(self) -> Counter[str]:
        return Counter(v.state for v in self.steps())

    def by_target(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for vertex in self.steps():
            table.setdefault(vertex.target or "?", Counter())[vertex.state] += 1
        return table

    def errors(self) -> list[Vertex]:
        return [v for v in self.vertices.values() if v.error]


def parse(lines: Iterable[str]) -> Progress:
    progress = Progress()
    for line in lines:
        progress.feed(line)
    return progress


# docker/scripts/smoke says this when a run's arguments are empty.
_SKIPPED = re.compile(r"^bakery-smoke: ([A-Za-z0-9_-]+): skipped \((.*)\)$")


def skipped(progress: Progress) -> list[str]:
    """Smoke runs that were skipped in this bake, as `target: label (why)`.
    A CACHED step prints no log, so only runs that ran this time are seen."""
    rows = []
    for vertex in progress.steps():
        for line in vertex.logs:
            match = _SKIPPED.match(line.strip())
            if match:
                rows.append(f"{vertex.target}: {match.group(1)} ({match.group(2)})")
    return sorted(set(rows))


_RANK = {"error": 3, "ran": 2, "running": 1, "cached": 0, "canceled": -1}


class Tally:
    """A bake's steps over all its invocations, each step counted once: the
    one summary of a bake (the lines it prints, summary.txt, the job
    summary). The invocations of one generated Dockerfile name a step alike
    (`[<stage> i/n] <instruction>`) but give it another digest (each has its
    own local-context session), so their steps are matched by name; linked
    targets' by digest. A step that ran in any invocation ran; it is CACHED
    only if CACHED in all."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.owner: dict[str, str] = {}
        self.skipped: list[str] = []

    def add(self, progress: Progress, owners: Mapping[str, str] | None = None, aggregate: str = "") -> None:
        """`owners`: generated stage name -> instance (a helper stage
        `<instance>.<stage>` counts for its instance), for invocations of the
        generated file; the `aggregate` stage's own step only joins the
        leaves, no family's work."""
        for vertex in progress.steps():
            owner = vertex.target or "?"
            key = vertex.digest
            if owners is not None:
                names = [n.split(".", 1)[0] for n in (vertex.target, vertex.stage) if n]
                if aggregate in names:
                    continue
                owner = next((owners[n] for n in names if n in owners), owner)
                key = "name:" + vertex.name
            old = self.states.get(key)
            if old is None or _RANK[vertex.state] > _RANK[old]:
                self.states[key] = vertex.state
            self.owner.setdefault(key, owner)
        self.skipped.extend(line for line in skipped(progress) if line not in self.skipped)

    def by_target(self) -> dict[str, Counter[str]]:
        """instance -> its steps' states, each step counted once."""
        table: dict[str, Counter[str]] = {}
        for key, state in self.states.items():
            table.setdefault(self.owner[key], Counter())[state] += 1
        return table

    def counts(self) -> Counter[str]:
        return Counter(self.states.values())

    def lines(self) -> list[str]:
        """Per instance, how many steps were cached and how many ran; which
        smoke runs were skipped; the total."""
        rows = [f"{c['cached']:4} cached {c['ran']:4} ran  {t}" for t, c in sorted(self.by_target().items())]
        rows.extend(f"skipped      {line}" for line in sorted(self.skipped))
        total = self.counts()
        rows.append(f"{total['cached']:4} cached {total['ran']:4} ran  total ({total['error']} failed)")
        return rows
