"""Run records as `invoke explain` reads them: a run's inputs manifest
(bakery/explain/manifest.py), the earlier runs of the same run directory, and
the manifest an imported cache entry carries. Bad input is one line, exit 2:
an unknown run id, a run with no step stream, a record of an older schema."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bakery import runs
from bakery.errors import UsageError
from bakery.explain import manifest


@dataclass(frozen=True)
class Record:
    """One run's manifest; `origin` says where it was read (a run record, or
    the manifest beside a cache entry)."""

    run: str
    data: dict = field(repr=False)
    origin: str = "record"

    @property
    def instances(self) -> dict[str, dict]:
        return self.data.get("instances") or {}

    def vector_of(self, instance: str) -> dict:
        vectors = self.data.get("vectors") or []
        n = self.instances[instance].get("vector", 0)
        return vectors[n] if 0 <= n < len(vectors) else {}


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == manifest.SCHEMA else None


def load(run_dir: Path, run: str) -> Record:
    """The record of `run` (an id under `run_dir`), or one line saying why not."""
    if not runs.RECORD.match(run):
        raise UsageError(f"{run!r} is not a run id (like 20250101T120000-1a2b3c4d); see the ids under {run_dir}")
    path = runs.record_dir(run_dir, run)
    if not path.is_dir():
        raise UsageError(f"no run record {run} under {run_dir}; the records there: ls {run_dir}")
    progress = path / "progress.jsonl"
    if not progress.is_file() or progress.stat().st_size == 0:
        raise UsageError(f"run {run} has no step stream ({progress.name}): it baked nothing to explain")
    data = _read(path / manifest.FILE)
    if data is None:
        raise UsageError(
            f"run {run} was recorded without an inputs manifest of schema {manifest.SCHEMA} "
            f"({manifest.FILE}): an older bakery made it; explain a run baked since"
        )
    return Record(run, data)


def last(run_dir: Path) -> str:
    """The newest run id under `run_dir`."""
    found = runs.records(run_dir)
    if not found:
        raise UsageError(f"no run records under {run_dir}: bake first (invoke bake)")
    return found[-1].name


def earlier(run_dir: Path, run: str) -> list[Record]:
    """The readable records older than `run`, newest first; records of
    another schema are skipped, never guessed at."""
    found = []
    for path in reversed(runs.records(run_dir)):
        if path.name >= run:
            continue
        data = _read(path / manifest.FILE)
        if data is not None:
            found.append(Record(path.name, data))
    return found


def exporter(vector: dict) -> Record | None:
    """The manifest of the run that exported the entry this vector imported."""
    for row in vector.get("imports") or []:
        path = row.get("manifest") or ""
        data = _read(Path(path)) if path and row.get("found") else None
        if data is not None:
            return Record(str(data.get("run", row.get("exporter", ""))), data, origin=f"the cache entry {row['entry']}")
    return None
