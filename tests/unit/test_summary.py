"""The bake summary for people ($GITHUB_STEP_SUMMARY): steps per family from
rawjson progress, the markdown table, and the family picture's colours."""

from __future__ import annotations

import json

from bakery.baking import progress, summary
from bakery.tree.plan import Plan

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"


def vertex(digest: str, name: str, **state: object) -> str:
    return json.dumps({"vertexes": [{"digest": digest, "name": name, "started": T0, **state}]}) + "\n"


# Two instances of `cargo` (one step cached, one ran), one `diner` step that
# failed, one cached `source` step; FROM and [internal] are no steps.
RAWJSON = [
    vertex("sha256:i", "[internal] load local bake definitions", completed=T1),
    vertex("sha256:a", "[source--debian 1/2] FROM docker.io/library/debian:testing-slim", completed=T1),
    vertex("sha256:b", "[source--debian 2/2] COPY src /src", completed=T1, cached=True),
    vertex("sha256:c", "[cargo--release--none build 3/5] RUN cargo build", completed=T1, cached=True),
    vertex("sha256:d", "[cargo--release--all build 3/5] RUN cargo build", completed=T1),
    vertex("sha256:e", "[diner--all run 2/3] RUN cargo test", completed=T1, error="exit code: 101"),
]


def test_steps_per_family_and_the_table() -> None:
    table = summary.by_family(progress.parse(RAWJSON).by_target())
    assert {family: dict(counts) for family, counts in table.items()} == {
        "source": {"cached": 1, "ran": 0, "failed": 0},
        "cargo": {"cached": 1, "ran": 1, "failed": 0},
        "diner": {"cached": 0, "ran": 0, "failed": 1},
    }
    assert {family: summary.state(counts) for family, counts in table.items()} == {
        "source": "cached",
        "cargo": "ran",
        "diner": "failed",
    }
    text = summary.markdown("bake lints [feat_set=all]", table, "20261203T000000Z-ab/tree.svg")
    assert text.splitlines()[:8] == [
        "### bake lints [feat_set=all]",
        "",
        "| family | cached | ran | failed |",
        "|---|---:|---:|---:|",
        "| cargo | 1 | 1 | 0 |",
        "| diner | 0 | 0 | 1 |",
        "| source | 1 | 0 | 0 |",
        "| **total** | 2 | 1 | 1 |",
    ]
    assert "`20261203T000000Z-ab/tree.svg`" in text


def test_the_family_picture_takes_the_colours() -> None:
    plan = Plan(
        users={"source--d": {"v1"}, "cargo--r--n": {"v1"}},
        links={"cargo--r--n": {"source--d"}},
        per_vector={"v1": 2},
    )
    dot = plan.family_dot({"cargo": summary.COLOURS["ran"], "source": summary.COLOURS["cached"]})
    assert '"cargo" [label="cargo\\n1 instance\\nnot shared", fillcolor=gold];' in dot
    assert '"source" [label="source\\n1 instance\\nnot shared", fillcolor=palegreen];' in dot
    assert '"cargo" -> "source";' in dot
    # Without colours, the sharing shade of `invoke plan` as before.
    assert "fillcolor=white" in plan.family_dot()
