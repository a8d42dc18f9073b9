"""`invoke matrix`'s three formats (a positive test for
report). Expected text written by hand for the `default` matrix."""

from __future__ import annotations

import json

from bakery.config import settings
from bakery.tree import report
from tests.conftest import DEFAULT_VECTOR


def default_matrix() -> tuple[settings.Settings, list]:
    loaded = settings.load({}, environ={"BAKERY_MATRIX": "default"})
    return loaded, loaded.vectors(use_matrix=True)


def test_table_lines_up_every_axis_and_counts_the_vectors():
    loaded, vectors = default_matrix()
    lines = report.matrix_text(loaded, vectors, "table").splitlines()
    assert lines[0].split() == list(DEFAULT_VECTOR)
    assert [line.split()[3] for line in lines[1:4]] == ["none", "default", "all"]
    assert lines[1].split() == [*(v if k != "feat_set" else "none" for k, v in DEFAULT_VECTOR.items())]
    assert len({line.index("debian") for line in lines[1:4]}) == 1  # one column
    assert lines[-1] == "3 vectors (matrix default)"


def test_json_and_github_carry_every_key_of_every_vector():
    loaded, vectors = default_matrix()
    rows = json.loads(report.matrix_text(loaded, vectors, "json"))
    assert rows == [{**DEFAULT_VECTOR, "feat_set": f} for f in ("none", "default", "all")]
    github = report.matrix_text(loaded, vectors, "github")
    assert "\n" not in github  # one line for $GITHUB_OUTPUT
    assert json.loads(github) == {"include": rows}


def test_the_ci_matrix_lists_eleven_vectors_with_its_exclude_applied():
    loaded = settings.load({}, environ={"BAKERY_MATRIX": "ci"})
    rows = json.loads(report.matrix_text(loaded, loaded.vectors(use_matrix=True), "github"))["include"]
    assert len(rows) == 11
    excluded = {"cargo_profile": "test", "rust_toolchain": "stable", "feat_set": "none"}
    assert [r for r in rows if excluded.items() <= r.items()] == []
