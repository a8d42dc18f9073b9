"""Unit tests for the pieces of bench/ that compute figures:
medians, quartiles, paired differences, ratios, and reading a
run record back into the raw command. Expected values are worked by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.errors import UsageError
from bench import report, run, stats


def test_median_and_quartiles_inclusive():
    samples = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert stats.median(samples) == 0.3
    # inclusive quartiles of 0.1..0.5: positions 1 and 3 of 0..4
    assert stats.quartiles(samples) == pytest.approx((0.2, 0.4))
    assert stats.quartiles([1.0, 2.0, 3.0, 4.0]) == pytest.approx((1.75, 3.25))
    assert stats.quartiles([7.0]) == (7.0, 7.0)
    with pytest.raises(ValueError, match="no samples"):
        stats.median([])


def test_summary():
    assert stats.summary([1.0, 2.0, 3.0, 4.0]) == {
        "median": 2.5,
        "q1": 1.75,
        "q3": 3.25,
        "iqr": 1.5,
        "min": 1.0,
        "max": 4.0,
        "n": 4,
    }


def test_paired_differences_subtract_each_round():
    ours = [1.0, 2.0, 3.0]
    raw = [0.5, 0.5, 1.0]
    start = [0.25, 0.5, 0.5]
    assert stats.paired(ours, raw, start) == [0.25, 1.0, 1.5]
    assert run.overhead(ours, raw, start)["median"] == 1.0
    with pytest.raises(ValueError, match="same number of samples"):
        stats.paired([1.0], [1.0, 2.0])


def test_ratio_of_medians():
    assert stats.ratio([2.0, 4.0, 6.0], [1.0, 2.0, 10.0]) == 2.0
    assert stats.ratio([1.0], [3.0]) == 0.33


def test_record_of_reads_the_accept_line():
    out = "CACHED  [x 1/2] RUN a\nACCEPT install [cargo_profile=release] (record: /w/runs/20261129T1-ab)\n"
    assert run.record_of(out) == Path("/w/runs/20261129T1-ab")
    with pytest.raises(ValueError, match="no ACCEPT line"):
        run.record_of("ERROR install [x] exit 1 (record: /w/runs/r)\n")


def test_raw_case_is_the_recorded_argv_and_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BAKERY_MIN_FREE_GB", "3")
    monkeypatch.setenv("HOME_LIKE", "kept")
    variables = {"feat_sets": '["all"]'}
    invocations = [
        {"argv": ["docker", "buildx", "bake", "--file", "0.0.bake.json", "bakery-all"], "variables": variables},
        {"argv": ["docker", "buildx", "bake", "--file", "0.1.bake.json", "install"], "variables": variables},
    ]
    (tmp_path / "command.json").write_text(json.dumps({"invocations": invocations}))
    case = run.raw_case(tmp_path)
    assert case.argv == ("docker", "buildx", "bake", "--file", "0.0.bake.json", "bakery-all")
    assert case.then == (("docker", "buildx", "bake", "--file", "0.1.bake.json", "install"),)
    assert case.env["feat_sets"] == '["all"]'
    assert case.env["HOME_LIKE"] == "kept"
    assert "BAKERY_MIN_FREE_GB" not in case.env


def test_unknown_sections_are_usage_errors():
    with pytest.raises(
        UsageError, match=r"^--only nope: not a section; allowed: front, plan, edit, cold, systems, attest$"
    ):
        run.run(only=["nope"])


def test_markdown_states_each_target_and_verdict():
    s = {"median": 0.2, "q1": 0.1, "q3": 0.3, "n": 15}
    results = {
        "date": "2026-11-29",
        "quick": False,
        "machine": {"cores": 2, "memory_gib": 23.5, "dockerd": "28.5.2", "buildx": "0.29.1", "load_before": 1.5},
        "plan": {
            "ci": {"vectors": 11, "ours": s, "raw": s, "ratio": {"median": 1.05, "q1": 1.0, "q3": 1.1},
                   "target": 1.1, "docker_calls": 1},
            "plan72": {"vectors": 72, "ours": s, "raw": s, "ratio": {"median": 1.25, "q1": 1.2, "q3": 1.3},
                       "target": 1.1, "docker_calls": 1},
        },
    }  # fmt: skip
    text = report.markdown(results)
    assert "| ci | 11 | 0.200 s (IQR 0.100–0.300, n=15) |" in text
    assert "| 1.05 (IQR 1.00–1.10) | ≤ 1.1: meets | 1 |" in text
    assert "| 1.25 (IQR 1.20–1.30) | ≤ 1.1: misses by 0.150 | 1 |" in text


def test_rounds_alternate_their_order():
    assert run.rounds_order(["start", "ours", "raw"], 0) == ["start", "ours", "raw"]
    assert run.rounds_order(["start", "ours", "raw"], 1) == ["raw", "ours", "start"]
    assert run.rounds_order(["start", "ours", "raw"], 2) == ["start", "ours", "raw"]


def test_results_keep_no_absolute_path_of_the_checkout():
    from bench.stats import portable

    found = portable({"argv": ["docker", "-f", "/co/p/docker/bake.hcl"], "n": 3, "m": "/co/p/runs/x"}, "/co/p")
    assert found == {"argv": ["docker", "-f", "docker/bake.hcl"], "n": 3, "m": "runs/x"}


def test_headings_say_what_is_measured_in_users_words():
    results = json.loads((ROOT / "bench" / "results" / "2026-11-29.json").read_text())
    text = report.markdown(results)
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        "## bakery's own cost per command (ours − raw buildx − invoke's start)",
        "## Plan time against raw buildx (`invoke plan --matrix NAME` over one raw `--print` + invoke's start)",
        "## Edit-loop time against cargo (a one-line edit, then an incremental `install`)",
    ]
    assert re.findall(r"\bP[0-9]\b|incremental_over_floor", text) == []


def test_committed_results_tables_are_the_report_of_their_json():
    # Regenerate with `.venv/bin/python -m bench.report bench/results/<date>.json`.
    path = ROOT / "bench" / "results" / "2026-11-29.json"
    assert path.with_suffix(".md").read_text() == report.markdown(json.loads(path.read_text()))
