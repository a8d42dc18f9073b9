"""`invoke explain [RUN] [--against RUN] [TARGET ...]`: for each step that
ran, the first reason in the chain (bakery/explain/reasons.py), as text or
JSON (docs/commands.md, docs/why-rebuild.md); and the top reasons a job's
step summary shows under its family table."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery import runs
from bakery.errors import UsageError
from bakery.explain import records
from bakery.explain.reasons import Explained, Explainer, Reason, family

FORMATS = ("text", "json")


@dataclass(frozen=True)
class Report:
    run: str
    against: str
    steps: tuple[Explained, ...]


def split(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """The run id (the first word that is one) and the targets."""
    run = next((w for w in words if runs.RECORD.match(w)), None)
    return run, [w for w in words if w != run]


def build(run_dir: Path, run: str | None = None, against: str | None = None, targets: Sequence[str] = ()) -> Report:
    current = records.load(run_dir, run or records.last(run_dir))
    other = records.load(run_dir, against) if against else None
    history = [] if other is not None else records.earlier(run_dir, current.run)
    steps = Explainer(current, history, against=other).explain(targets)
    families = {family(i) for i in current.instances}
    missing = [t for t in targets if t not in families and t not in current.instances]
    if missing:
        raise UsageError(f"run {current.run} baked no target {missing[0]}; its targets: {', '.join(sorted(families))}")
    return Report(current.run, against or "", tuple(steps))


def text(report: Report) -> list[str]:
    """Per instance that ran: its reasons, each with the steps it explains."""
    how = f"against run {report.against}" if report.against else "each step against the latest earlier run that had it"
    lines = [f"run {report.run}, {how}:"]
    if not report.steps:
        return [*lines, "  no step ran: nothing to explain"]
    groups: dict[str, dict[tuple[str, str], list[Explained]]] = {}
    for item in report.steps:
        groups.setdefault(item.instance, {}).setdefault((item.reason.text, item.reason.against), []).append(item)
    for instance, reasons in groups.items():
        lines.append(f"{instance}:")
        for (reason, _), items in reasons.items():
            lines.append(f"  {reason}{_against(items[0].reason, report)}")
            detail = items[0].reason.details
            if items[0].reason.kind != "parent":
                lines.extend(f"    {row}" for row in detail[1:])
            lines.extend(f"    {item.state:5} {item.step}" for item in items)
    return lines


def _against(reason: Reason, report: Report) -> str:
    if not reason.against or report.against:
        return ""
    if reason.origin:
        return f" (against run {reason.against}, whose manifest {reason.origin} carries)"
    return f" (against run {reason.against})"


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "run": report.run,
            "against": report.against or None,
            "steps": [
                {
                    "instance": item.instance,
                    "step": item.step,
                    "state": item.state,
                    "reason": item.reason.kind,
                    "text": item.reason.text,
                    "against": item.reason.against or None,
                    "origin": item.reason.origin or None,
                    "details": list(item.reason.details),
                }
                for item in report.steps
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def top(report: Report, count: int = 3) -> list[tuple[int, str]]:
    """The most frequent first causes (a parent's root cause counted as
    that), with how many steps each explains."""
    causes: Counter[str] = Counter()
    for item in report.steps:
        reason = item.reason
        causes[
            f"{reason.details[0]}: {reason.details[1]}"
            if reason.kind == "parent"
            else f"{item.instance}: {reason.text}"
        ] += 1
    return [(n, cause) for cause, n in causes.most_common(count)]


def summary_lines(run_dir: Path, run: str, count: int = 3) -> list[str]:
    """Markdown for a job's step summary: the top reasons of this run."""
    try:
        found = top(build(run_dir, run), count)
    except UsageError as exc:
        return ["", f"Why steps ran: not explained ({exc}).", ""]
    if not found:
        return ["", "Why steps ran: every step was CACHED.", ""]
    rows = ["", "Why steps ran (`invoke explain`), top reasons:", ""]
    rows += [f"- {n} step{'s' if n != 1 else ''}: {cause}" for n, cause in found]
    return [*rows, ""]
