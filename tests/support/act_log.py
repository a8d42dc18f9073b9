"""act's --json log read back: each job's result, its log lines and its step summary. Only the
tests read these (tests/unit/test_act.py, tests/engine/test_workflows_act.py); `invoke act`
itself leaves act's output to the terminal and judges act's exit code (bakery/cli/act.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """One job (one matrix entry) as act reported it."""

    name: str  # the job's rendered name, e.g. "lint release distro default x86_64-v1-linux-gnu"
    job_id: str
    result: str  # success, failure, skipped


def _entries(log_text: str) -> list[dict[str, object]]:
    found = []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def job_name(entry: Mapping[str, object]) -> str:
    """The job's rendered `name:` from act's label for it: act writes
    `<workflow>/<name>`, padded, with `-<n>` after a matrix job's name."""
    label = str(entry.get("job", "")).partition("/")[2].rstrip()
    return re.sub(r"-\d+$", "", label) if entry.get("matrix") else label


def jobs(log_text: str) -> dict[str, Job]:
    """Each job's result from act's --json log, by rendered name.

    act keeps one result per job id: once one entry of a matrix has failed,
    every entry that ends after it reports "Job failed" too (act 0.2.89). So
    a matrix entry's result is read from its own steps: failure when one of
    them failed, else what act says (skipped), else success."""
    found: dict[str, Job] = {}
    failed_steps = {job_name(e) for e in _entries(log_text) if e.get("stepResult") == "failure"}
    for entry in _entries(log_text):
        if not entry.get("jobResult"):
            continue
        name = job_name(entry)
        result = str(entry["jobResult"])
        if name in failed_steps:
            result = "failure"
        elif result == "failure" and entry.get("matrix"):
            result = "success"
        found[name] = Job(name, str(entry.get("jobID", "")), result)
    return found


def job_log(log_text: str, name: str) -> list[str]:
    """The log lines of one job (by rendered name), as act printed them."""
    return [str(e.get("msg", "")).rstrip() for e in _entries(log_text) if job_name(e) == name]


def summaries(log_text: str, name: str) -> str:
    """What one job wrote to $GITHUB_STEP_SUMMARY (act logs each step's part)."""
    parts = [e for e in _entries(log_text) if e.get("command") == "summary" and job_name(e) == name]
    return "".join(str(e.get("content", "")) for e in parts)
