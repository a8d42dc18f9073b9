"""Unit tests for bakery.cli.sessions: nox session ids and tags.

The ids are written out by hand (docs/commands.md, "nox": `bake(` k=v pairs `)`, sys and
feat always, other axes only when they vary, in a fixed order).
"""

from __future__ import annotations

import re

from bakery.cli.sessions import sessions
from bakery.config.matrix import cross, load


def expanded(name: str):
    definition = load()
    return definition.expand(definition.matrix(name))


def test_default_matrix_ids():
    assert [s.name for s in sessions(load(), expanded("default"))] == [
        "bake(sys=debian,feat=none)",
        "bake(sys=debian,feat=default)",
        "bake(sys=debian,feat=all)",
    ]


def test_ci_matrix_ids():
    assert [s.name for s in sessions(load(), expanded("ci"))] == [
        "bake(sys=debian,feat=none,profile=test,toolchain=nightly)",
        "bake(sys=debian,feat=default,profile=test,toolchain=nightly)",
        "bake(sys=debian,feat=default,profile=test,toolchain=stable)",
        "bake(sys=debian,feat=all,profile=test,toolchain=nightly)",
        "bake(sys=debian,feat=all,profile=test,toolchain=stable)",
        "bake(sys=debian,feat=none,profile=release,toolchain=nightly)",
        "bake(sys=debian,feat=none,profile=release,toolchain=stable)",
        "bake(sys=debian,feat=default,profile=release,toolchain=nightly)",
        "bake(sys=debian,feat=default,profile=release,toolchain=stable)",
        "bake(sys=debian,feat=all,profile=release,toolchain=nightly)",
        "bake(sys=debian,feat=all,profile=release,toolchain=stable)",
    ]


def test_a_single_vector_shows_only_sys_and_feat():
    assert [s.name for s in sessions(load(), [load().default_vector()])] == ["bake(sys=debian,feat=default)"]


def test_sys_version_target_and_sys_target_appear_when_they_vary():
    vectors = cross(
        load(),
        {
            "sys_version": ["testing-slim", "bookworm-slim"],
            "rust_target": ["x86_64-unknown-linux-gnu"],
            "sys_target": ["x86_64-v1-linux-gnu", "x86_64-v3-linux-gnu"],
        },
    )
    assert [s.name for s in sessions(load(), vectors)] == [
        "bake(sys=debian,feat=default,sys_version=testing-slim,sys_target=x86_64-v1-linux-gnu)",
        "bake(sys=debian,feat=default,sys_version=testing-slim,sys_target=x86_64-v3-linux-gnu)",
        "bake(sys=debian,feat=default,sys_version=bookworm-slim,sys_target=x86_64-v1-linux-gnu)",
        "bake(sys=debian,feat=default,sys_version=bookworm-slim,sys_target=x86_64-v3-linux-gnu)",
    ]


def test_rust_target_is_shown_as_target():
    vectors = cross(load(), {"rust_target": ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]})
    assert [s.name for s in sessions(load(), vectors)] == [
        "bake(sys=debian,feat=default,target=x86_64-unknown-linux-gnu)",
        "bake(sys=debian,feat=default,target=aarch64-unknown-linux-gnu)",
    ]


def test_no_vectors_no_sessions():
    assert sessions(load(), []) == []


def test_ids_are_unique_and_need_no_quoting_inside_double_quotes():
    ids = [s.name for s in sessions(load(), expanded("ci"))]
    assert len(set(ids)) == 11
    for session_id in ids:
        assert re.fullmatch(r"bake\([a-z_]+=[a-z0-9._-]+(,[a-z_]+=[a-z0-9._-]+)*\)", session_id)


def test_tags_are_every_axis_value():
    first = sessions(load(), expanded("ci"))[0]
    assert first.tags == (
        "test",
        "nightly",
        "x86_64-unknown-linux-gnu",
        "none",
        "debian",
        "testing-slim",
        "x86_64-v1-linux-gnu",
    )
    by_tag = [s.name for s in sessions(load(), expanded("default")) if "all" in s.tags]
    assert by_tag == ["bake(sys=debian,feat=all)"]


def test_id_is_what_nox_param_takes():
    (session,) = sessions(load(), [load().vector({"feat_set": "none"})])
    assert session.id == "sys=debian,feat=none"
    assert session.name == "bake(sys=debian,feat=none)"
