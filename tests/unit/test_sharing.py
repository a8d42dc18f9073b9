"""Unit tests for bakery.tree.sharing: which instances are one build, from
their resolved definitions and their stages' text."""

from __future__ import annotations

from pathlib import Path

from bakery.tree import sharing

DOCKERFILE = """\
# root: the system, on the target's platform.
FROM debian AS root

# build: the build side, on the builder's platform.
FROM --platform=$BUILDPLATFORM debian AS build

# tools: on whatever its input is.
FROM input AS tools
RUN true

# arch: reads the target's architecture, so the platform counts.
FROM input AS arch
ARG TARGETARCH
RUN echo "$TARGETARCH"
"""


def _target(stage: str, platform: str, contexts: dict[str, str] | None = None, **args: str) -> dict:
    found = {"context": "ctx", "dockerfile": "Dockerfile", "target": stage, "platforms": [platform], "args": args}
    if contexts:
        found["contexts"] = contexts
    return found


def _read(context: str, dockerfile: str) -> str | None:
    return DOCKERFILE if (context, dockerfile) == ("ctx", "Dockerfile") else None


DEFINITION = {
    "target": {
        "root--amd64-v1": _target("root", "linux/amd64"),
        "root--amd64-v3": _target("root", "linux/amd64"),
        "root--arm64": _target("root", "linux/arm64"),
        "build--amd64-v1": _target("build", "linux/amd64"),
        "build--arm64": _target("build", "linux/arm64"),
        "tools--amd64-v1": _target("tools", "linux/amd64", {"input": "target:build--amd64-v1"}),
        "tools--arm64": _target("tools", "linux/arm64", {"input": "target:build--arm64"}),
        "arch--amd64-v1": _target("arch", "linux/amd64", {"input": "target:build--amd64-v1"}),
        "arch--arm64": _target("arch", "linux/arm64", {"input": "target:build--arm64"}),
        "cargo--v1": _target("tools", "linux/amd64", {"input": "target:root--amd64-v1"}, cpu="x86-64"),
        "cargo--v3": _target("tools", "linux/amd64", {"input": "target:root--amd64-v3"}, cpu="x86-64-v3"),
    }
}


def _groups(keys: dict[str, str]) -> list[list[str]]:
    by_key: dict[str, list[str]] = {}
    for name, key in keys.items():
        by_key.setdefault(key, []).append(name)
    return sorted(sorted(names) for names in by_key.values())


def test_one_root_under_two_names_is_one_build_and_the_build_side_ignores_the_platform() -> None:
    keys = sharing.builds(DEFINITION, set(DEFINITION["target"]), _read)
    assert _groups(keys) == [
        ["arch--amd64-v1"],
        ["arch--arm64"],
        ["build--amd64-v1", "build--arm64"],
        ["cargo--v1"],
        ["cargo--v3"],
        ["root--amd64-v1", "root--amd64-v3"],
        ["root--arm64"],
        ["tools--amd64-v1", "tools--arm64"],
    ]


def test_an_unreadable_dockerfile_counts_the_platform() -> None:
    definition = {
        "target": {
            "build--amd64": {**_target("build", "linux/amd64"), "context": "elsewhere"},
            "build--arm64": {**_target("build", "linux/arm64"), "context": "elsewhere"},
        }
    }
    keys = sharing.builds(definition, set(definition["target"]), _read)
    assert keys["build--amd64"] != keys["build--arm64"]


def test_the_reader_reads_dockerfiles_relative_to_the_bake_directory(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM debian AS root\n")
    read = sharing.reader(tmp_path)
    assert read("ctx", "Dockerfile") == "FROM debian AS root\n"
    assert read("ctx", "Missing.Dockerfile") is None
