"""Complement results files: load, write, and judge them against a baseline.

A results file is JSON Lines, one ``{"Action":"pass","Test":"TestACLs"}``
object per line, with subtests named ``Parent/child``.  ``invoke complement``
reduces ``go test -json`` output to this form (:func:`parse_go_test_json`),
compares it with the committed baseline (:func:`compare`) and, when asked,
writes it over the baseline (:func:`write`).
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeAlias

PASS = "pass"
FAIL = "fail"
SKIP = "skip"
ACTIONS: frozenset[str] = frozenset({PASS, FAIL, SKIP})

# Test name -> action ("pass", "fail" or "skip"), duplicates already folded.
Results: TypeAlias = dict[str, str]

# When a name occurs more than once (the same test name in two Complement
# packages, or a test re-run), the worst outcome wins: a single failure must
# not be hidden by a pass, and a pass says more than a skip.
_PRECEDENCE = {FAIL: 2, PASS: 1, SKIP: 0}

_ACTION_LIST = ", ".join(sorted(ACTIONS))


class ResultsError(ValueError):
    """A results file is missing, unreadable or malformed.

    The message is always a single line that starts with the file name (and
    the 1-based line number when one line is at fault), so that CI logs point
    straight at the culprit.
    """


class Record(NamedTuple):
    """One line of a results file, before duplicates are folded."""

    action: str
    test: str


# --------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------


def fold(records: Iterable[Record]) -> Results:
    """Collapse records into one action per test name (fail > pass > skip)."""
    folded: Results = {}
    for action, test in records:
        previous = folded.get(test)
        if previous is None or _PRECEDENCE[action] > _PRECEDENCE[previous]:
            folded[test] = action
    return folded


def _show(value: object, limit: int = 60) -> str:
    """Render an offending value as JSON, shortened, for a one-line message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_record(text: str, where: str) -> Record:
    """Validate one non-blank line; ``where`` is the "file:line" prefix."""

    def bad(problem: str) -> ResultsError:
        return ResultsError(f"{where}: {problem}")

    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg excludes the "line 1 column N" part, which would be
        # misleading next to our own file line number.
        raise bad(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise bad(f"expected a JSON object, got {_show(obj)}")
    if "Test" not in obj:
        raise bad('missing "Test"')
    test = obj["Test"]
    if not isinstance(test, str) or not test:
        raise bad(f'"Test" must be a non-empty string, got {_show(test)}')
    if "Action" not in obj:
        raise bad('missing "Action"')
    action = obj["Action"]
    # isinstance first: a list or object would be unhashable in the set test.
    if not isinstance(action, str) or action not in ACTIONS:
        raise bad(f'"Action" must be one of {_ACTION_LIST}, got {_show(action)}')
    # Extra keys (Time, Package, Elapsed...) are tolerated: they do not make
    # the pass/fail verdict ambiguous.
    return Record(action, test)


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Read and validate every line of a results file, duplicates kept.

    Unlike :func:`parse_go_test_json` this is strict: a results file is a
    curated artefact (the baseline is committed), so a line we cannot
    understand is a corrupted file, and silently dropping it could hide a
    regression.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read results file: {exc.strerror}") from None
    records: list[Record] = []
    # Split on b"\n" only, so line numbers agree with editors and `grep -n`.
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ResultsError(f"{path}:{number}: not valid UTF-8: {exc.reason}") from None
        if not text.strip():
            continue
        records.append(_parse_record(text, f"{path}:{number}"))
    return records


def load(path: str | os.PathLike[str]) -> Results:
    """Load a results file as ``{test name: action}``, duplicates folded."""
    return fold(read_records(path))


def parse_go_test_json(lines: Iterable[str]) -> Results:
    """Reduce ``go test -json`` event lines to ``{test name: action}``.

    Only final test events are kept: Action pass/fail/skip *with* a "Test"
    key.  run/pause/cont/output/bench events carry no verdict, and
    pass/fail/skip without "Test" are package-level summaries.

    Unlike :func:`load`, lines that are not JSON objects are ignored rather
    than rejected: ``go test -json`` interleaves plain build output (compiler
    errors, "go: downloading ..." lines) with its events, so such lines are
    expected here and say nothing about test outcomes.  A broken build shows
    up instead as tests missing from the result, which :func:`compare`
    reports as regressions.
    """
    records: list[Record] = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        action = event.get("Action")
        test = event.get("Test")
        if isinstance(action, str) and action in ACTIONS and isinstance(test, str) and test:
            records.append(Record(action, test))
    return fold(records)


def format_results(results: Mapping[str, str]) -> str:
    """Serialise results in the canonical form of the committed files.

    One compact object per line, keys Action then Test, sorted by test name
    so that baseline updates produce minimal, reviewable diffs.
    """
    lines = []
    for test in sorted(results):
        action = results[test]
        if not isinstance(action, str) or action not in ACTIONS:
            raise ValueError(f"test {test!r}: action must be one of {_ACTION_LIST}, got {action!r}")
        record = {"Action": action, "Test": test}
        lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
    return "".join(lines)


def write(path: str | os.PathLike[str], results: Mapping[str, str]) -> None:
    """Write results to ``path`` in canonical form, replacing it atomically.

    The caller uses this to overwrite the baseline; writing a sibling file
    and renaming it means an interrupted run never leaves a truncated
    baseline behind.
    """
    target = Path(path)
    text = format_results(results)  # validate before touching the disk
    tmp = target.with_name(target.name + ".tmp")
    try:
        # newline="\n": the committed files use LF on every platform.
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------
# go test -run / -skip emulation
# --------------------------------------------------------------------------


def _split_pattern(pattern: str) -> list[list[str]]:
    """Split a -run/-skip pattern the way Go's testing.splitRegexp does.

    The result is a list of alternatives (top-level "|"), each a list of
    per-level regexes (top-level "/").  Separators inside [...] or (...) or
    escaped with a backslash belong to the regex, not to the split.
    """
    alternatives: list[list[str]] = []
    levels: list[str] = []
    start = 0
    brackets = 0  # depth inside [...]; nothing nests inside a class in Go
    parens = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            brackets += 1
        elif char == "]":
            brackets = max(brackets - 1, 0)  # an unmatched "]" is literal
        elif char == "(" and brackets == 0:
            parens += 1
        elif char == ")" and brackets == 0:
            parens -= 1
        elif char == "\\":
            i += 1  # the escaped character never splits
        elif char in "/|" and brackets == 0 and parens == 0:
            levels.append(pattern[start:i])
            start = i + 1
            if char == "|":
                alternatives.append(levels)
                levels = []
        i += 1
    levels.append(pattern[start:])
    alternatives.append(levels)
    return alternatives


def _compile(flag: str, pattern: str) -> list[list[re.Pattern[str]]]:
    compiled = []
    for alternative in _split_pattern(pattern):
        levels = []
        for index, element in enumerate(alternative):
            try:
                levels.append(re.compile(element))
            except re.error as exc:
                raise ValueError(f"invalid regexp for element {index} of -{flag} {pattern!r}: {exc}") from None
        compiled.append(levels)
    return compiled


def _match(alternatives: list[list[re.Pattern[str]]], elements: list[str]) -> tuple[bool, bool]:
    """Go's filterMatch.matches: (matched, matched-only-partially).

    Each level is an unanchored search.  A name with fewer levels than the
    pattern matches on the levels it has, flagged partial; extra levels in
    the name beyond the pattern match anything.
    """
    for levels in alternatives:
        if all(regex.search(element) for regex, element in zip(levels, elements, strict=False)):
            return True, len(elements) < len(levels)
    return False, False


def make_filter(run: str | None, skip: str | None) -> Callable[[str], bool]:
    """Return ``is_filtered(test_name)``: True if ``go test -run RUN -skip SKIP``
    would not run that test.

    Mirrors Go's testing matcher (split on "/" and top-level "|", per-level
    unanchored regex search).  Regexes are compiled with Python's ``re``,
    which agrees with Go's RE2 for the plain patterns used with Complement
    but not for every exotic construct.

    -run keeps a partial match (a parent of a matching subtest must run for
    the subtest to run), while -skip ignores partial matches: skipping
    "TestA/sub" must not skip TestA itself.  Empty or None means "no flag".
    """
    run_match = _compile("run", run) if run else None
    skip_match = _compile("skip", skip) if skip else None

    def is_filtered(test_name: str) -> bool:
        elements = test_name.split("/")
        if run_match is not None and not _match(run_match, elements)[0]:
            return True
        if skip_match is not None:
            skipped, partial = _match(skip_match, elements)
            if skipped and not partial:
                return True
        return False

    return is_filtered


def _nothing_filtered(test_name: str) -> bool:
    return False


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------


class Change(enum.Enum):
    """How one test moved from the baseline to the current run.

    ``None`` in a transition means "absent from that file".
    """

    REGRESSION_FAIL = "pass -> fail"
    REGRESSION_MISSING = "pass -> missing"
    FIX = "fail -> pass"
    NEW_FAIL = "new fail"
    NEW_PASS = "new pass"
    NEW_SKIP = "new skip"
    REMOVED = "removed"
    FILTERED = "filtered"
    SKIP_TO_FAIL = "skip -> fail"
    SKIP_TO_PASS = "skip -> pass"
    FAIL_TO_SKIP = "fail -> skip"
    PASS_TO_SKIP = "pass -> skip"
    UNCHANGED_PASS = "unchanged pass"
    UNCHANGED_FAIL = "unchanged fail"
    UNCHANGED_SKIP = "unchanged skip"


# (baseline action, current action) -> change, for every combination except
# (None, None).  Missing-now tests are further split by the run filter in
# _classify, because a test we chose not to run says nothing about the server.
_TRANSITIONS: dict[tuple[str | None, str | None], Change] = {
    (PASS, PASS): Change.UNCHANGED_PASS,
    (PASS, FAIL): Change.REGRESSION_FAIL,
    (PASS, SKIP): Change.PASS_TO_SKIP,
    (PASS, None): Change.REGRESSION_MISSING,
    (FAIL, PASS): Change.FIX,
    (FAIL, FAIL): Change.UNCHANGED_FAIL,
    (FAIL, SKIP): Change.FAIL_TO_SKIP,
    (FAIL, None): Change.REMOVED,
    (SKIP, PASS): Change.SKIP_TO_PASS,
    (SKIP, FAIL): Change.SKIP_TO_FAIL,
    (SKIP, SKIP): Change.UNCHANGED_SKIP,
    (SKIP, None): Change.REMOVED,
    (None, PASS): Change.NEW_PASS,
    (None, FAIL): Change.NEW_FAIL,
    (None, SKIP): Change.NEW_SKIP,
}

_REGRESSIONS = (Change.REGRESSION_FAIL, Change.REGRESSION_MISSING)
_NEW = {FAIL: Change.NEW_FAIL, PASS: Change.NEW_PASS, SKIP: Change.NEW_SKIP}
_UNCHANGED = {
    PASS: Change.UNCHANGED_PASS,
    FAIL: Change.UNCHANGED_FAIL,
    SKIP: Change.UNCHANGED_SKIP,
}
_SKIP_CHANGES = (
    Change.SKIP_TO_FAIL,
    Change.SKIP_TO_PASS,
    Change.FAIL_TO_SKIP,
    Change.PASS_TO_SKIP,
)


def _classify(before: str | None, after: str | None, filtered: bool) -> Change:
    if after is None and before is not None and filtered:
        # Any baseline test this run did not select (pass or not) goes here,
        # so that neither "regression" nor "removed" claims something about
        # a test that simply was not asked for.
        return Change.FILTERED
    try:
        return _TRANSITIONS[(before, after)]
    except KeyError:
        raise ValueError(f"unknown actions {before!r} -> {after!r}") from None


@dataclass(frozen=True)
class Comparison:
    """The verdict of a run against a baseline.

    ``changes`` maps every :class:`Change` to the sorted test names in it;
    each test name of either file appears under exactly one change.
    """

    changes: Mapping[Change, tuple[str, ...]]

    def names(self, change: Change) -> tuple[str, ...]:
        return self.changes.get(change, ())

    def count(self, change: Change) -> int:
        return len(self.names(change))

    @property
    def regressions(self) -> tuple[str, ...]:
        """Passed in the baseline; failed or (unfiltered) missing now."""
        return tuple(sorted(name for change in _REGRESSIONS for name in self.names(change)))

    @property
    def ok(self) -> bool:
        return not self.regressions

    @property
    def fixes(self) -> tuple[str, ...]:
        return self.names(Change.FIX)

    @property
    def new(self) -> dict[str, tuple[str, ...]]:
        """Tests absent from the baseline, by current action."""
        return {action: self.names(change) for action, change in _NEW.items()}

    @property
    def removed(self) -> tuple[str, ...]:
        return self.names(Change.REMOVED)

    @property
    def filtered(self) -> tuple[str, ...]:
        return self.names(Change.FILTERED)

    @property
    def unchanged(self) -> dict[str, tuple[str, ...]]:
        """Tests with the same action in both files, by action."""
        return {action: self.names(change) for action, change in _UNCHANGED.items()}

    def _count_rows(self) -> list[tuple[str, int, str]]:
        """(class, total, breakdown) rows shared by both renderers."""

        def row(label: str, group: Iterable[Change], by_action: bool = False) -> tuple[str, int, str]:
            changes = tuple(group)
            # "new pass" -> "pass" where the row label already says "new".
            names = [c.value.split()[-1] if by_action else c.value for c in changes]
            breakdown = ", ".join(f"{self.count(c)} {n}" for c, n in zip(changes, names, strict=True))
            return (
                label,
                sum(map(self.count, changes)),
                breakdown if len(changes) > 1 else "",
            )

        return [
            row("regressions", _REGRESSIONS),
            row("fixes", [Change.FIX]),
            row("new", _NEW.values(), by_action=True),
            row("removed", [Change.REMOVED]),
            row("filtered", [Change.FILTERED]),
            row("skip changes", _SKIP_CHANGES),
            row("unchanged", _UNCHANGED.values(), by_action=True),
        ]

    def _regression_lines(self) -> list[tuple[str, str]]:
        """(test name, how it regressed): failures first, then missing tests.

        A test that ran and failed is the more direct signal, so it must not
        be cut off the list by a block of alphabetically earlier missing ones.
        """
        return [(name, change.value) for change in _REGRESSIONS for name in self.names(change)]

    def summary_text(self, max_listed: int = 20) -> str:
        """A few plain-text lines for the console."""
        verdict = "OK" if self.ok else f"FAILED: {len(self.regressions)} regression(s)"
        lines = [f"Complement results: {verdict}"]
        for label, total, breakdown in self._count_rows():
            detail = f" ({breakdown})" if breakdown else ""
            lines.append(f"  {label + ':':<14}{total:>5}{detail}")
        regressions = self._regression_lines()
        if regressions:
            shown = regressions[:max_listed]
            lines.append(f"Regressions ({len(shown)} of {len(regressions)} shown):")
            lines.extend(f"  {name} ({how})" for name, how in shown)
            if len(regressions) > len(shown):
                lines.append(f"  ... and {len(regressions) - len(shown)} more")
        return "\n".join(lines) + "\n"

    def summary_markdown(self, max_listed: int = 100) -> str:
        """Markdown for $GITHUB_STEP_SUMMARY: a count table, then regressions."""
        verdict = "✅ no regressions" if self.ok else f"❌ {len(self.regressions)} regression(s)"
        lines = [
            f"### Complement: {verdict}",
            "",
            "| Class | Count | Breakdown |",
            "|---|---:|---|",
        ]
        for label, total, breakdown in self._count_rows():
            lines.append(f"| {label} | {total} | {breakdown} |")
        regressions = self._regression_lines()
        if regressions:
            shown = regressions[:max_listed]
            lines += ["", "#### Regressions", ""]
            lines.extend(f"- {_md_code(name)} ({how})" for name, how in shown)
            if len(regressions) > len(shown):
                lines.append(f"- … and {len(regressions) - len(shown)} more")
        return "\n".join(lines) + "\n"


def _md_code(text: str) -> str:
    """Inline code span that survives backticks inside test names."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space on each side when both are present, which
    # lets a name start or end with a backtick without merging into the fence.
    pad = " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def compare(
    baseline: Mapping[str, str],
    current: Mapping[str, str],
    is_filtered: Callable[[str], bool] | None = None,
) -> Comparison:
    """Classify every test of either mapping; see :class:`Change`.

    ``is_filtered`` says whether this run's -run/-skip settings excluded a
    test (see :func:`make_filter`); it only matters for baseline tests that
    are missing now.  Default: nothing is filtered.
    """
    filtered = is_filtered or _nothing_filtered
    buckets: dict[Change, list[str]] = {change: [] for change in Change}
    union = set(baseline) | set(current)
    for name in sorted(union):
        before = baseline.get(name)
        after = current.get(name)
        # Only consult the filter when it can matter: it may be costly.
        dropped = after is None and before is not None and filtered(name)
        buckets[_classify(before, after, dropped)].append(name)

    changes = {change: tuple(names) for change, names in buckets.items()}
    # Disjoint and exhaustive: every name in exactly one class.  Checked with
    # an explicit raise rather than `assert` so it also holds under -O.
    placed = [name for names in changes.values() for name in names]
    if len(placed) != len(union) or set(placed) != union:
        raise AssertionError("comparison classes are not a partition of the test names")
    return Comparison(changes)
