"""Unit tests for bakery.complement.results (Complement results files and their verdict).

Expected numbers for the real Complement files were worked out independently
of bakery.complement.results and are hard-coded on purpose: computing them with the code
under test would only prove the code agrees with itself.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from bakery.complement import results
from bakery.complement.results import (
    Change,
    Comparison,
    Record,
    ResultsError,
    compare,
    load,
    make_filter,
    parse_go_test_json,
    read_records,
    write,
)
from tests.conftest import DATA

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "results"

# The original project's two real results files, copied into tests/data (SOURCES.md there).
COMPLEMENT_DATA = DATA / "complement"
OLD_NAME = "tuwunel-2025-06-04.jsonl"
NEW_NAME = "tuwunel-2026-08-18.jsonl"


def _data(name: str) -> Path:
    path = COMPLEMENT_DATA / name
    if not path.is_file():
        # Fail, never skip: silently skipping would let the only test against
        # real data disappear from CI unnoticed.
        pytest.fail(f"Complement data not found: {path} (it is part of the repository: tests/data/SOURCES.md)")
    return path


@pytest.fixture(scope="module")
def old_path() -> Path:
    return _data(OLD_NAME)


@pytest.fixture(scope="module")
def new_path() -> Path:
    return _data(NEW_NAME)


@pytest.fixture(scope="module")
def real_comparison(old_path: Path, new_path: Path) -> Comparison:
    return compare(load(old_path), load(new_path))


# --------------------------------------------------------------------------
# 1. The real files, old -> new
# --------------------------------------------------------------------------


_SKIP = (Change.SKIP_TO_FAIL, Change.SKIP_TO_PASS, Change.FAIL_TO_SKIP, Change.PASS_TO_SKIP)


def test_real_files_counts_per_class(real_comparison: Comparison) -> None:
    c = real_comparison
    assert len(c.regressions) == 20
    assert c.count(Change.REGRESSION_FAIL) == 2
    assert c.count(Change.REGRESSION_MISSING) == 18
    assert len(c.fixes) == 127
    assert {action: len(names) for action, names in c.new.items()} == {
        "fail": 94,
        "pass": 85,
        "skip": 6,
    }
    assert len(c.removed) == 15
    assert len(c.filtered) == 0
    assert {change: c.count(change) for change in _SKIP} == {
        Change.SKIP_TO_FAIL: 1,
        Change.SKIP_TO_PASS: 6,
        Change.FAIL_TO_SKIP: 0,
        Change.PASS_TO_SKIP: 0,
    }
    assert {action: len(names) for action, names in c.unchanged.items()} == {
        "pass": 424,
        "fail": 54,
        "skip": 2,
    }
    assert c.ok is False


def test_real_files_every_name_in_exactly_one_class(
    real_comparison: Comparison,
) -> None:
    placed = [name for names in real_comparison.changes.values() for name in names]
    # 649 names in the old file, 801 distinct names in the new one, 834 in
    # their union (counted independently).
    assert len(placed) == 834
    assert len(set(placed)) == 834


def test_real_files_named_transitions(real_comparison: Comparison) -> None:
    c = real_comparison
    assert c.names(Change.REGRESSION_FAIL) == (
        "TestRoomDeleteAlias",
        "TestRoomDeleteAlias/Parallel",
    )
    assert c.names(Change.SKIP_TO_FAIL) == ("TestServerNotices",)
    assert "TestCannotSendNonJoinViaSendJoinV1" in c.names(Change.REGRESSION_MISSING)
    assert "TestRestrictedRoomsRemoteJoinFailOver" in c.removed


def test_real_files_with_skip_filter(old_path: Path, new_path: Path) -> None:
    # The 14 V1 send_join/send_leave tests (parents and subtests) are missing
    # from the new run; had the run skipped them, they are not regressions.
    # The "|" sits inside parentheses, so it must not split the pattern.
    is_filtered = make_filter(None, "^TestCannotSendNon(Join|Leave)ViaSend(Join|Leave)V1$")
    c = compare(load(old_path), load(new_path), is_filtered)
    assert len(c.filtered) == 14
    assert all(name.startswith("TestCannotSendNon") for name in c.filtered)
    assert c.count(Change.REGRESSION_FAIL) == 2
    assert c.names(Change.REGRESSION_MISSING) == (
        "TestDelayedEvents/cannot_update_a_delayed_event_without_a_delay_ID",
        "TestJumpToDateEndpoint/parallel/should_find_nothing_after_the_latest_timestmap",
        "TestJumpToDateEndpoint/parallel/should_find_nothing_before_the_earliest_timestmap",
        "TestToDeviceMessagesOverFederation/interrupted_connectivity",
    )
    assert len(c.removed) == 15  # filtered only took baseline passes here


def test_real_new_file_duplicates_fold_to_fail(new_path: Path) -> None:
    # Found by inspecting the file: lines 722-725 hold TestSync and
    # TestSync/parallel twice each, first "pass" then "fail".
    records = read_records(new_path)
    assert len(records) == 803
    duplicated = {name: [r.action for r in records if r.test == name] for name in ("TestSync", "TestSync/parallel")}
    assert duplicated == {
        "TestSync": ["pass", "fail"],
        "TestSync/parallel": ["pass", "fail"],
    }

    loaded = load(new_path)
    assert len(loaded) == 801
    assert loaded["TestSync"] == "fail"
    assert loaded["TestSync/parallel"] == "fail"


def test_real_old_file_has_no_duplicates(old_path: Path) -> None:
    assert len(read_records(old_path)) == 649
    assert len(load(old_path)) == 649


def test_real_summaries(real_comparison: Comparison) -> None:
    text = real_comparison.summary_text(max_listed=5)
    assert text.startswith("Complement results: FAILED: 20 regression(s)\n")
    assert "regressions:     20 (2 pass -> fail, 18 pass -> missing)" in text
    assert "fixes:          127\n" in text
    assert "new:            185 (94 fail, 85 pass, 6 skip)" in text
    assert "removed:         15\n" in text
    assert "unchanged:      480 (424 pass, 54 fail, 2 skip)" in text
    assert "Regressions (5 of 20 shown):" in text
    # Failures are listed before missing tests, whatever their names.
    listed = text.split("Regressions (5 of 20 shown):\n")[1].splitlines()
    assert listed[:3] == [
        "  TestRoomDeleteAlias (pass -> fail)",
        "  TestRoomDeleteAlias/Parallel (pass -> fail)",
        "  TestCannotSendNonJoinViaSendJoinV1 (pass -> missing)",
    ]
    assert "  ... and 15 more\n" in text

    markdown = real_comparison.summary_markdown()
    assert "| regressions | 20 | 2 pass -> fail, 18 pass -> missing |" in markdown
    assert "| fixes | 127 |  |" in markdown
    assert "| new | 185 | 94 fail, 85 pass, 6 skip |" in markdown
    assert "| skip changes | 7 | 1 skip -> fail, 6 skip -> pass, 0 fail -> skip, 0 pass -> skip |" in markdown
    assert "- `TestRoomDeleteAlias` (pass -> fail)" in markdown
    assert "- `TestCannotSendNonJoinViaSendJoinV1` (pass -> missing)" in markdown


def test_real_files_write_round_trip(tmp_path: Path, old_path: Path, new_path: Path) -> None:
    # The old file has no duplicates, so the canonical form is the file.
    out = tmp_path / "old.jsonl"
    write(out, load(old_path))
    assert out.read_bytes() == old_path.read_bytes()

    # The new file loses exactly the two folded-away "pass" duplicates
    # (lines 722 and 724); everything else is byte-identical.
    out = tmp_path / "new.jsonl"
    write(out, load(new_path))
    expected = [
        line for number, line in enumerate(new_path.read_bytes().splitlines(True), 1) if number not in (722, 724)
    ]
    assert out.read_bytes() == b"".join(expected)


# --------------------------------------------------------------------------
# 2. Hand-made fixture: every class, folding, filter rule
# --------------------------------------------------------------------------


@pytest.fixture()
def fixture_comparison() -> Comparison:
    return compare(load(FIXTURES / "baseline.jsonl"), load(FIXTURES / "current.jsonl"))


def test_fixture_every_class(fixture_comparison: Comparison) -> None:
    assert fixture_comparison.changes == {
        Change.REGRESSION_FAIL: ("TestRegressedFail",),
        # Without a filter, missing baseline passes are regressions...
        Change.REGRESSION_MISSING: (
            "TestFiltered",
            "TestFiltered/passing_sub",
            "TestRegressedMissing",
        ),
        Change.FIX: ("TestFixed",),
        Change.NEW_FAIL: ("TestNewFail",),
        Change.NEW_PASS: ("TestNewPass",),
        Change.NEW_SKIP: ("TestNewSkip",),
        # ...and missing baseline fails/skips are removed.
        Change.REMOVED: (
            "TestFiltered/failing_sub",
            "TestRemovedFail",
            "TestRemovedSkip",
        ),
        Change.FILTERED: (),
        Change.SKIP_TO_FAIL: ("TestSkipToFail",),
        Change.SKIP_TO_PASS: ("TestSkipToPass",),
        Change.FAIL_TO_SKIP: ("TestFailToSkip",),
        Change.PASS_TO_SKIP: ("TestPassToSkip",),
        Change.UNCHANGED_PASS: ("TestUnchangedPass",),
        Change.UNCHANGED_FAIL: ("TestUnchangedFail",),
        Change.UNCHANGED_SKIP: ("TestUnchangedSkip",),
    }
    assert fixture_comparison.regressions == (
        "TestFiltered",
        "TestFiltered/passing_sub",
        "TestRegressedFail",
        "TestRegressedMissing",
    )
    assert not fixture_comparison.ok


def test_fixture_filter_moves_missing_tests_to_filtered() -> None:
    is_filtered = make_filter(None, "TestFiltered")
    c = compare(load(FIXTURES / "baseline.jsonl"), load(FIXTURES / "current.jsonl"), is_filtered)
    assert c.filtered == (
        "TestFiltered",
        "TestFiltered/failing_sub",
        "TestFiltered/passing_sub",
    )
    assert c.regressions == ("TestRegressedFail", "TestRegressedMissing")
    assert c.removed == ("TestRemovedFail", "TestRemovedSkip")


def test_filter_rule_missing_and_filtered_is_not_a_regression() -> None:
    baseline = {"TestKept": "pass", "TestSkipped": "pass"}
    current = {"TestKept": "pass"}
    assert compare(baseline, current).regressions == ("TestSkipped",)

    c = compare(baseline, current, lambda name: name == "TestSkipped")
    assert c.ok
    assert c.filtered == ("TestSkipped",)
    assert c.regressions == ()


def test_filter_only_applies_to_tests_missing_now() -> None:
    # A filter that claims everything is filtered must not hide a test that
    # did run and fail, nor swallow new tests.
    consulted: list[str] = []

    def everything(name: str) -> bool:
        consulted.append(name)
        return True

    c = compare(
        {"TestA": "pass", "TestGone": "pass"},
        {"TestA": "fail", "TestNew": "pass"},
        everything,
    )
    assert c.names(Change.REGRESSION_FAIL) == ("TestA",)
    assert c.new["pass"] == ("TestNew",)
    assert c.filtered == ("TestGone",)
    assert consulted == ["TestGone"]


def test_fixture_duplicates_decide_the_class() -> None:
    current = load(FIXTURES / "current.jsonl")
    assert current["TestRegressedFail"] == "fail"  # pass, fail, skip
    assert current["TestFixed"] == "pass"  # pass, skip


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (("pass", "fail"), "fail"),
        (("fail", "skip"), "fail"),
        (("skip", "pass"), "pass"),
        (("pass", "fail", "skip"), "fail"),
        (("skip", "skip"), "skip"),
        (("pass", "pass"), "pass"),
    ],
)
def test_duplicate_folding_ignores_line_order(tmp_path: Path, actions: tuple[str, ...], expected: str) -> None:
    for order in set(itertools.permutations(actions)):
        path = tmp_path / "dup.jsonl"
        path.write_text(
            "".join(f'{{"Action":"{a}","Test":"TestDup"}}\n' for a in order) + '{"Action":"pass","Test":"TestOther"}\n'
        )
        assert load(path) == {"TestDup": expected, "TestOther": "pass"}, order


def test_compare_empty_inputs() -> None:
    c = compare({}, {})
    assert c.ok
    assert all(names == () for names in c.changes.values())


def test_compare_rejects_unknown_action() -> None:
    with pytest.raises(ValueError, match="unknown actions"):
        compare({"TestA": "pass"}, {"TestA": "bogus"})


def test_ok_summaries() -> None:
    c = compare({"TestA": "fail"}, {"TestA": "pass"})
    assert c.ok
    text = c.summary_text()
    assert text.splitlines()[0] == "Complement results: OK"
    assert "Regressions" not in text
    markdown = c.summary_markdown()
    assert markdown.startswith("### Complement: ✅ no regressions\n")
    assert "| Class | Count | Breakdown |" in markdown
    assert "| fixes | 1 |  |" in markdown


def test_markdown_code_span_survives_backticks() -> None:
    name = "TestSync/`state_after`_includes_members"
    c = compare({name: "pass"}, {name: "fail"})
    assert f"- `` {name} `` (pass -> fail)" in c.summary_markdown()


def test_markdown_truncates_regression_list() -> None:
    baseline = {f"Test{i:02}": "pass" for i in range(5)}
    markdown = compare(baseline, {}).summary_markdown(max_listed=2)
    assert "- `Test00` (pass -> missing)" in markdown
    assert "- `Test02`" not in markdown
    assert "- … and 3 more" in markdown


# --------------------------------------------------------------------------
# 3. Malformed files
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ('{"Action":"pass","Test":', "invalid JSON: Expecting value (column 25)"),
        ('["pass", "TestA"]', 'expected a JSON object, got ["pass", "TestA"]'),
        ('{"Action":"pass"}', 'missing "Test"'),
        ('{"Action":"pass","Test":42}', '"Test" must be a non-empty string, got 42'),
        ('{"Action":"pass","Test":""}', '"Test" must be a non-empty string, got ""'),
        ('{"Test":"TestA"}', 'missing "Action"'),
        (
            '{"Action":"bogus","Test":"TestA"}',
            '"Action" must be one of fail, pass, skip, got "bogus"',
        ),
        (
            '{"Action":"run","Test":"TestA"}',
            '"Action" must be one of fail, pass, skip, got "run"',
        ),
        (
            '{"Action":["pass"],"Test":"TestA"}',
            '"Action" must be one of fail, pass, skip, got ["pass"]',
        ),
        (
            '{"Action":"pa\\nss","Test":"TestA"}',
            '"Action" must be one of fail, pass, skip, got "pa\\nss"',
        ),
    ],
)
def test_malformed_line(tmp_path: Path, bad_line: str, problem: str) -> None:
    path = tmp_path / "results.jsonl"
    # The bad line is line 3: the blank line 2 still counts.
    path.write_text('{"Action":"pass","Test":"TestOK"}\n\n' + bad_line + "\n")
    with pytest.raises(ResultsError) as caught:
        load(path)
    message = str(caught.value)
    assert message == f"{path}:3: {problem}"
    assert "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_malformed_long_value_is_shortened(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"Action": "x" * 500, "Test": "TestA"}) + "\n")
    with pytest.raises(ResultsError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:1: ")
    assert message.endswith("...")
    assert len(message) < len(str(path)) + 120


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"Action":"pass","Test":"TestA"}\n{"Action":"pass","Test":"\xff"}\n')
    with pytest.raises(ResultsError, match=r":2: not valid UTF-8"):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(ResultsError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: cannot read results file: No such file or directory"


def test_blank_lines_and_crlf_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(
        b'\n   \n{"Action":"pass","Test":"TestA"}\r\n\t\n'
        b'{"Action":"skip","Test":"TestB","Elapsed":0}'  # no final newline
    )
    assert load(path) == {"TestA": "pass", "TestB": "skip"}


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text("")
    assert load(path) == {}


# --------------------------------------------------------------------------
# 4. go test -json
# --------------------------------------------------------------------------


def test_parse_go_test_json_fixture() -> None:
    with open(FIXTURES / "go-test.json", encoding="utf-8") as lines:
        parsed = parse_go_test_json(lines)
    # run/pause/cont/output/start/bench events, package-level pass/fail
    # (no "Test"), build output and the stray JSON array are all dropped;
    # TestSync passed in one package and failed in another: fail wins.
    assert parsed == {
        "TestACLs": "pass",
        "TestACLs/Servers_are_denied": "pass",
        "TestServerNotices": "skip",
        "TestSync": "fail",
    }


def test_parse_go_test_json_then_write(tmp_path: Path) -> None:
    with open(FIXTURES / "go-test.json", encoding="utf-8") as lines:
        parsed = parse_go_test_json(lines)
    out = tmp_path / "results.jsonl"
    write(out, parsed)
    assert out.read_text() == (
        '{"Action":"pass","Test":"TestACLs"}\n'
        '{"Action":"pass","Test":"TestACLs/Servers_are_denied"}\n'
        '{"Action":"skip","Test":"TestServerNotices"}\n'
        '{"Action":"fail","Test":"TestSync"}\n'
    )


def test_parse_go_test_json_ignores_odd_events() -> None:
    lines = [
        "",
        "not json at all",
        '"a string"',
        '{"Action":"pass","Test":""}',
        '{"Action":"pass","Test":7}',
        '{"Action":["pass"],"Test":"TestList"}',
        '{"Action":"PASS","Test":"TestUpper"}',
        '{"Action":"fail","Test":"TestReal"}',
    ]
    assert parse_go_test_json(lines) == {"TestReal": "fail"}


# --------------------------------------------------------------------------
# 5. make_filter: go test -run / -skip semantics
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "skip", "name", "filtered"),
    [
        # No flags: everything runs.
        (None, None, "TestA", False),
        ("", "", "TestA/b", False),
        # Unanchored search per level.
        ("TestACL", None, "TestACLs", False),
        ("ACL", None, "TestACLs", False),
        ("^TestACL$", None, "TestACLs", True),
        ("^TestACLs$", None, "TestACLs/sub", False),  # subtests of a match run
        # Per-level matching.
        ("TestSync/parallel", None, "TestSync", False),  # fewer levels: partial
        ("TestSync/parallel", None, "TestSync/parallel", False),
        ("TestSync/parallel", None, "TestSync/parallel/Can_sync", False),
        ("TestSync/parallel", None, "TestSync/serial", True),
        ("TestSync/parallel", None, "TestOther", True),
        ("TestSync/parallel", None, "TestOther/parallel", True),
        ("/parallel", None, "TestAnything/parallel", False),  # empty = any
        ("/parallel", None, "TestAnything/serial", True),
        # Top-level alternation, each alternative split on "/".
        ("TestA|TestB", None, "TestB", False),
        ("TestA/x|TestB", None, "TestB/y", False),
        ("TestA/x|TestB", None, "TestA/y", True),
        ("TestA/x|TestB", None, "TestA", False),
        # "|" and "/" inside parentheses belong to the regex.
        ("Test(B|C)/x", None, "TestC/x", False),
        ("Test(B|C)/x", None, "TestC/y", True),
        # -skip drops full matches and their subtests...
        (None, "TestB", "TestB", True),
        (None, "TestB", "TestB/sub", True),
        (None, "TestB", "TestA", False),
        # ...but not parents of a skipped subtest (partial match ignored).
        (None, "TestB/sub", "TestB", False),
        (None, "TestB/sub", "TestB/sub", True),
        (None, "TestB/sub", "TestB/sub/deeper", True),
        (None, "TestB/sub", "TestB/other", False),
        # Both together.
        ("TestSync", "TestSync/parallel", "TestSync", False),
        ("TestSync", "TestSync/parallel", "TestSync/parallel", True),
        ("TestSync", "TestSync/parallel", "TestSync/serial", False),
        ("TestSync", "TestSync/parallel", "TestRooms", True),
    ],
)
def test_make_filter(run: str | None, skip: str | None, name: str, filtered: bool) -> None:
    assert make_filter(run, skip)(name) is filtered


@pytest.mark.parametrize(
    ("pattern", "split"),
    [
        ("a", [["a"]]),
        ("a/b/c", [["a", "b", "c"]]),
        ("a|b/c", [["a"], ["b", "c"]]),
        ("(a/b)", [["(a/b)"]]),
        ("(a|b)/c", [["(a|b)", "c"]]),
        ("[/|]x/y", [["[/|]x", "y"]]),
        ("a]/b", [["a]", "b"]]),  # an unmatched "]" is literal
        (r"a\/b/c", [[r"a\/b", "c"]]),
        ("/x", [["", "x"]]),
    ],
)
def test_split_pattern_like_go(pattern: str, split: list[list[str]]) -> None:
    assert results._split_pattern(pattern) == split


@pytest.mark.parametrize(("run", "skip", "flag"), [("Test(", None, "-run"), (None, "[", "-skip")])
def test_make_filter_invalid_regex(run: str | None, skip: str | None, flag: str) -> None:
    with pytest.raises(ValueError, match=f"invalid regexp for element 0 of {flag}"):
        make_filter(run, skip)


# --------------------------------------------------------------------------
# 6. write
# --------------------------------------------------------------------------


def test_write_exact_bytes(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    write(out, {"TestB/sub": "fail", "TestA": "pass", "TestC": "skip", "Test_>é": "pass"})
    assert out.read_bytes() == (
        b'{"Action":"pass","Test":"TestA"}\n'
        b'{"Action":"fail","Test":"TestB/sub"}\n'
        b'{"Action":"skip","Test":"TestC"}\n'
        b'{"Action":"pass","Test":"Test_>\xc3\xa9"}\n'
    )
    assert not (tmp_path / "results.jsonl.tmp").exists()


def test_write_round_trip(tmp_path: Path) -> None:
    data = load(FIXTURES / "current.jsonl")
    out = tmp_path / "results.jsonl"
    write(out, data)
    assert load(out) == data
    assert read_records(out) == sorted((Record(action, test) for test, action in data.items()), key=lambda r: r.test)


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "baseline.jsonl"
    out.write_text("stale\n" * 100)
    write(out, {"TestA": "pass"})
    assert out.read_text() == '{"Action":"pass","Test":"TestA"}\n'


def test_write_empty(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    write(out, {})
    assert out.read_bytes() == b""


def test_write_rejects_bad_action_without_touching_file(tmp_path: Path) -> None:
    out = tmp_path / "baseline.jsonl"
    out.write_text('{"Action":"pass","Test":"TestA"}\n')
    with pytest.raises(ValueError, match="action must be one of fail, pass, skip"):
        write(out, {"TestA": "bogus"})
    assert out.read_text() == '{"Action":"pass","Test":"TestA"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.jsonl"]
