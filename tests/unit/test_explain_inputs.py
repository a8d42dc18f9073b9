"""What a run records for `invoke explain`: `.dockerignore` as BuildKit reads
it, the context files an instance's stages read, and the inputs manifest
built from a real generated file (tests/unit/fixtures/flat) and rawjson steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery.baking import flatten, progress
from bakery.cache import policy
from bakery.engine.probe import Probe
from bakery.explain import context, ignore, manifest

FLAT = Path(__file__).parent / "fixtures" / "flat"
RUN = "20260101T000000-00000001"
NOTE = "sha256:037279912cb60d7be67228853b057cc642443b4ce29b8a5a5bfbb68234b0b962"
BASE = "sha256:4da38e0c94c8ca29b8c003bcf7a525d9409500a27a6d8b3ba77f27d4464b9b15"
ENGINE = Probe(
    daemon_id="daemon-a",
    server_version="28.5.2",
    root_dir="/var/lib/docker",
    containerd_store=True,
    buildx_version="0.29.1",
    bake_flags=("--allow",),
    builder="default",
    driver="docker",
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("target", True),
        ("target/release/mxd", True),
        ("book/book/index.html", True),
        ("book/src/intro.md", False),
        ("src/main.rs", False),
        ("notes.md", True),
        ("README.md", False),
        ("deep/a/b/trace.log", True),
        ("trace.log", True),
    ],
)
def test_dockerignore_patterns(path: str, expected: bool) -> None:
    patterns = ignore.parse("# comment\n/target/\nbook/book\n*.md\n!README.md\n**/*.log\n")
    assert ignore.ignored(patterns, path) is expected


def test_a_directory_is_skipped_whole_only_without_exceptions() -> None:
    assert ignore.prunes(ignore.parse("target\n"), "target")
    assert not ignore.prunes(ignore.parse("target\n!target/keep\n"), "target")


def test_the_files_and_mounts_a_stage_reads() -> None:
    text = "\n".join(
        [
            "# system: a stage",
            "FROM debian AS system",
            "COPY --chmod=0755 scripts/apt-install /usr/local/bin/apt-install",
            "RUN --mount=type=bind,source=scripts/apt-setup,target=/x \\",
            "    --mount=type=cache,id=apt-cache-${sys_name},target=/var/cache/apt sh /x",
            "COPY --link --from=src . /usr/src/mxd",
            "RUN <<EOF",
            "COPY heredoc/is/not/an/instruction /x",
            "EOF",
        ]
    )
    assert context.references(text) == [("", "scripts/apt-install"), ("", "scripts/apt-setup"), ("src", ".")]
    assert context.mount_ids(text) == ["apt-cache-${sys_name}"]


def test_context_files_are_digested_after_dockerignore(tmp_path: Path) -> None:
    (tmp_path / "src" / "target").mkdir(parents=True)
    (tmp_path / "src" / ".dockerignore").write_text("target\n")
    (tmp_path / "src" / "main.rs").write_text("a\n")
    (tmp_path / "src" / "target" / "big").write_text("ignored\n")
    found = context.Contexts(tmp_path, ".", {"src": "src"}).of("FROM x AS y\nCOPY --from=src . /usr/src\n")
    assert found == {
        "src/.dockerignore": "sha256:c97ecfda4d205190b973232dcfdb0c29748521c2534dd866bcc782f30b086738",
        "src/main.rs": "sha256:87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7",
    }


def _steps(*vertices: dict) -> progress.Progress:
    return progress.parse(json.dumps({"vertexes": [v]}) for v in vertices)


def _recorder(plan: policy.CachePlan) -> tuple[manifest.Recorder, flatten.Flat]:
    definition = json.loads((FLAT / "print.json").read_text())
    flat = flatten.flatten(definition, ["leaf-files"], lambda c, d: (FLAT / c / d).read_text())
    recorder = manifest.Recorder(FLAT, plan, ENGINE, "default")
    recorder.vector(0, {"v": "1"}, "leaf-files--1", definition, flat)
    done = {"started": "2026-01-01T00:00:00Z", "completed": "2026-01-01T00:00:01Z"}
    owners = {flatten.stage_name(i): i for i in flat.instances}
    recorder.steps(
        _steps(
            {
                "digest": "sha256:01",
                "name": f"[root.root 1/2] FROM docker.io/library/debian:testing-slim@{BASE}",
                **done,
            },
            {"digest": "sha256:02", "name": "[root.root 2/2] RUN echo root > /root.txt", "cached": True, **done},
            {"digest": "sha256:03", "name": "[branch.words 2/2] RUN --mount=type=bind <<EOF (set -eux...)", **done},
            {
                "digest": "sha256:04",
                "name": "[branch.branch 1/1] COPY --from=branch.words /words.txt /words.txt",
                **done,
            },
        ).vertices.values(),
        owners,
        flatten.AGGREGATE,
    )
    return recorder, flat


def test_the_manifest_holds_each_instance_s_inputs_and_steps(tmp_path: Path) -> None:
    plan = policy.cache_plan(event="", ref="", run_id=RUN, project="demo")
    recorder, flat = _recorder(plan)
    recorder.write(tmp_path)
    data = json.loads((tmp_path / "inputs.json").read_text())
    assert (data["schema"], data["run"], data["engine"], data["daemon"], data["cache_scope"]) == (
        1,
        RUN,
        "28.5.2",
        "daemon-a",
        "local",
    )
    assert sorted(data["instances"]) == ["branch", "leaf-files", "root"]
    root, branch, leaf = (data["instances"][i] for i in ("root", "branch", "leaf-files"))
    assert root["args"] == {"image": "debian:testing-slim"}
    assert root["bases"] == {"docker.io/library/debian:testing-slim": BASE}
    assert [(s["name"][:22], s["state"]) for s in root["steps"]] == [("[root.root 2/2] RUN ec", "cached")]
    assert (root["ran"], branch["ran"], leaf["ran"]) == (False, True, False)
    assert branch["parents"] == ["root"]
    assert branch["files"] == {"notes/note.txt": NOTE}
    assert branch["dockerfile"] == manifest.digest(flat.texts["branch"])
    assert data["vectors"] == [{"vector": {"v": "1"}, "entry": "demo.leaf-files--1", "imports": [], "exports": []}]
    assert (tmp_path / "inputs.json").stat().st_size < 4000


def test_a_local_export_leaves_the_manifest_beside_its_version_and_an_import_finds_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    entry = "demo.leaf-files--1"
    # The entry a trusted run exported earlier, as bakery/cache/store.py lays it out.
    earlier = shared / ".versions" / entry / "20250101T000000-0000000a"
    earlier.mkdir(parents=True)
    (earlier / "index.json").write_text("{}")
    (earlier / manifest.BESIDE).write_text("{}")
    (shared / entry).symlink_to(Path(".versions") / entry / earlier.name)
    plan = policy.cache_plan(event="push", ref="refs/heads/main", shared=str(shared), run_id=RUN, project="demo")
    recorder, _ = _recorder(plan)
    (row,) = recorder.data["vectors"][0]["imports"]
    assert (row["found"], row["exporter"], row["manifest"]) == (True, earlier.name, str(earlier / manifest.BESIDE))
    mine = shared / ".versions" / entry / RUN
    mine.mkdir()
    (mine / "index.json").write_text("{}")
    recorder.beside(["leaf-files--1"])
    assert json.loads((mine / manifest.BESIDE).read_text())["run"] == RUN


def test_recording_and_explaining_make_no_docker_call() -> None:
    """The explain room reads definitions, files and records only: it imports
    neither the process seam nor the engine room (docs/architecture.md)."""
    import ast

    room = Path(manifest.__file__).parent
    imported = set()
    for path in room.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert sorted(m for m in imported if m.startswith(("bakery.engine", "subprocess"))) == []
    assert "bakery.explain.manifest" in {f"bakery.explain.{p.stem}" for p in room.glob("*.py")}
