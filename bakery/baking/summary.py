"""A bake's summary for people: GitHub's job summary ($GITHUB_STEP_SUMMARY).

When the variable is set (GitHub Actions, and act), each bake appends a
markdown table of its steps per family (cached, ran, failed), the top
reasons why steps ran (bakery/explain/report.py), and draws the
family picture of `invoke plan` (bakery/tree/plan.py) for the run's selection,
each family box coloured by what its steps did. The picture goes into the run
record (runs/<stamp>-<id>/tree.svg), which the workflow uploads as an
artifact and links from the summary.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from bakery.config.matrix import Vector
from bakery.config.settings import Settings
from bakery.errors import BakeryError
from bakery.tree import plan as plan_module

log = logging.getLogger("bakery")

STATES = ("cached", "ran", "failed")
# A family's colour is its worst state: one failed step makes it failed.
COLOURS = {"failed": "salmon", "ran": "gold", "cached": "palegreen"}


def by_family(by_target: Mapping[str, Mapping[str, int]]) -> dict[str, Counter[str]]:
    """family -> steps cached, ran and failed, from a bake's steps per
    instance (states as bakery.baking.progress names them)."""
    table: dict[str, Counter[str]] = {}
    for target, counts in by_target.items():
        row = table.setdefault(plan_module.family(target), Counter())
        row["cached"] += counts.get("cached", 0)
        row["ran"] += counts.get("ran", 0)
        row["failed"] += counts.get("error", 0)
    return table


def state(counts: Mapping[str, int]) -> str:
    if counts.get("failed", 0):
        return "failed"
    return "ran" if counts.get("ran", 0) else "cached"


def markdown(title: str, table: Mapping[str, Counter[str]], picture: str) -> str:
    lines = [f"### {title}", "", "| family | cached | ran | failed |", "|---|---:|---:|---:|"]
    for family, counts in sorted(table.items()):
        lines.append(f"| {family} | {counts['cached']} | {counts['ran']} | {counts['failed']} |")
    total = Counter[str]()
    for counts in table.values():
        total.update(counts)
    lines.append(f"| **total** | {total['cached']} | {total['ran']} | {total['failed']} |")
    legend = ", ".join(f"{colour} {name}" for name, colour in COLOURS.items())
    lines += ["", f"Tree of this run: `{picture}` in the run record ({legend}).", ""]
    return "\n".join(lines) + "\n"


def write(
    settings: Settings,
    targets: tuple[str, ...],
    vectors: tuple[Mapping[str, str], ...],
    label: str,
    by_target: Mapping[str, Mapping[str, int]],
    record: Path,
    summary_file: Path,
) -> None:
    """Append this bake's table to `summary_file` and draw its picture into `record`."""
    table = by_family(by_target)
    selection = [Vector(tuple(v.items())) for v in vectors]
    fill = {family: COLOURS[state(counts)] for family, counts in table.items()}
    try:
        written = plan_module.write_graph(plan_module.build(settings, targets, selection), record, fill=fill)
        picture = next((p for p in written if p.suffix == ".svg"), written[0]).name
    except BakeryError as exc:
        # The bake's own result stands; the summary says why it has no picture.
        picture = f"(not drawn: {exc})"
    title = f"bake {' '.join(targets)} [{label}]"
    # Under the table, why steps ran (docs/why-rebuild.md); imported here, so
    # a bake outside GitHub Actions does not pay for it.
    from bakery.explain import report as explain_report

    reasons = "\n".join(explain_report.summary_lines(record.parent, record.name))
    try:
        with summary_file.open("a") as handle:
            handle.write(markdown(title, table, f"{record.name}/{picture}") + reasons + "\n")
    except OSError as exc:
        # As complement's summary: a summary that cannot be written is no failed bake.
        log.warning("could not write GITHUB_STEP_SUMMARY %s: %s", summary_file, exc.strerror or exc)


def for_job(
    settings: Settings,
    targets: tuple[str, ...],
    vectors: tuple[Mapping[str, str], ...],
    label: str,
    by_target: Mapping[str, Mapping[str, int]],
    record: Path,
) -> None:
    """`write` when GitHub Actions (or act) gives the job a summary file."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        write(settings, targets, vectors, label, by_target, record, Path(summary_file))
