"""Unit tests for bakery.baking.bake: argv, environment, entitlements, targets, and
whole `bake.run` calls through the docker seam with scripted responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake, invocation
from bakery.config import settings
from bakery.engine import docker
from bakery.errors import BakeryError, DockerError, UsageError
from bakery.tree import bakefile
from tests.conftest import Recorder
from tests.support.docker_fakes import DEFINITION, PROBES, ScriptedDocker
from tests.support.settings import for_bake, load

BAKE_FILE = str(ROOT / "docker" / "bake.hcl")
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEFAULT_BLOCK = {
    "cargo_profile": ("release",),
    "rust_toolchain": ("distro",),
    "rust_target": ("x86_64-unknown-linux-gnu",),
    "feat_set": ("default",),
    "sys_name": ("debian",),
    "sys_version": ("testing-slim",),
    "sys_target": ("x86_64-v1-linux-gnu",),
}
DEFAULT_LABEL = (
    "cargo_profile=release rust_toolchain=distro rust_target=x86_64-unknown-linux-gnu feat_set=default "
    "sys_name=debian sys_version=testing-slim sys_target=x86_64-v1-linux-gnu"
)


def argv(loaded: settings.Settings, **overrides) -> list[str]:
    targets = overrides.pop("targets", ["default"])
    kwargs = {
        "builder_name": "bakery-ci",
        "allow": ("network.host", "security.insecure"),
        "allow_supported": True,
        "metadata_file": Path("/runs/r1/metadata.json"),
        "progress_mode": "rawjson",
        **overrides,
    }
    return invocation.bake_argv(loaded, targets, **kwargs)


# --- bake_argv -------------------------------------------------------------------------


def test_default_argv():
    assert argv(load()) == [
        "buildx",
        "bake",
        "--builder",
        "bakery-ci",
        "--file",
        BAKE_FILE,
        "--progress",
        "rawjson",
        "--metadata-file",
        "/runs/r1/metadata.json",
        "--provenance",
        "false",
        "--allow",
        "network.host",
        "--allow",
        "security.insecure",
        "default",
    ]


def test_no_core_count_reaches_bake():
    # The runner's core count would enter the cargo steps' cache keys, and runners of
    # different sizes would never share them (docs/cache.md).
    assert argv(load(RUNNER_NAME="runner.3"), allow_supported=False, metadata_file=None) == [
        "buildx",
        "bake",
        "--builder",
        "bakery-ci",
        "--file",
        BAKE_FILE,
        "--progress",
        "rawjson",
        "--provenance",
        "false",
        "default",
    ]


def test_allow_only_when_buildx_supports_it():
    found = argv(load(), allow_supported=False)
    assert "--allow" not in found
    assert found[-3:] == ["--provenance", "false", "default"]


def test_secrets_ssh_provenance_and_several_targets():
    loaded = load(
        RUNNER_NAME="runner.1",
        BAKERY_SECRETS='["id=gh,env=GH_TOKEN", "id=npm,src=/run/npmrc"]',
        BAKERY_SSH='["default"]',
        BAKERY_PROVENANCE="true",
    )
    assert argv(loaded, allow=(), progress_mode="plain", targets=["lints", "tests"]) == [
        "buildx",
        "bake",
        "--builder",
        "bakery-ci",
        "--file",
        BAKE_FILE,
        "--progress",
        "plain",
        "--metadata-file",
        "/runs/r1/metadata.json",
        "--provenance",
        "true",
        "--secret",
        "id=gh,env=GH_TOKEN",
        "--secret",
        "id=npm,src=/run/npmrc",
        "--ssh",
        "default",
        "lints",
        "tests",
    ]


def test_provenance_is_false_by_default():
    found = argv(load())
    assert found[found.index("--provenance") + 1] == "false"


def test_another_bake_file(tmp_path: Path):
    other = tmp_path / "other.hcl"
    other.write_text("")
    found = argv(load(BAKERY_BAKE_FILE=str(other)))
    assert found[found.index("--file") + 1] == str(other)


def test_missing_bake_file_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^bake file /nonexistent/bake.hcl not found; set BAKERY_BAKE_FILE"):
        argv(load(BAKERY_BAKE_FILE="/nonexistent/bake.hcl"))


# --- bake_env ---------------------------------------------------------------------------


def test_bake_env_replaces_inherited_axis_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("feat_set", "all")
    monkeypatch.setenv("cargo_profiles", '["test"]')
    monkeypatch.setenv("sys_name", "evil;rm")
    monkeypatch.setenv("KEEP_ME", "yes")
    block = {**DEFAULT_BLOCK, "feat_set": ("none", "all")}
    env = bakefile.bake_env(load(), block)
    for singular in ("cargo_profile", "rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version"):
        assert singular not in env
    assert "sys_target" not in env
    assert {k: env[k] for k in env if k.endswith("s") and k.rstrip("s") in DEFAULT_BLOCK} == {
        "cargo_profiles": '["release"]',
        "rust_toolchains": '["distro"]',
        "rust_targets": '["x86_64-unknown-linux-gnu"]',
        "feat_sets": '["none", "all"]',
        "sys_names": '["debian"]',
        "sys_versions": '["testing-slim"]',
        "sys_targets": '["x86_64-v1-linux-gnu"]',
    }
    assert env["BUILDX_METADATA_PROVENANCE"] == "disabled"
    assert env["KEEP_ME"] == "yes"


# --- entitlements -------------------------------------------------------------------------


def test_declared_entitlements_are_collected_sorted_and_once(tmp_path: Path):
    definition = {
        "target": {
            "a": {"context": "docker", "entitlements": ["security.insecure"]},
            "b": {"context": "docker", "entitlements": ["network.host", "security.insecure"]},
            "c": {"context": "docker"},
        }
    }
    assert bakefile.entitlements(definition, tmp_path / "docker" / "bake.hcl", tmp_path) == (
        "network.host",
        "security.insecure",
    )


def test_local_context_outside_the_working_directory_needs_fs_read(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    definition = {"target": {"a": {"context": "docker", "contexts": {"src": "../elsewhere/src"}}}}
    assert bakefile.entitlements(definition, project / "docker" / "bake.hcl", project) == (
        f"fs.read={tmp_path.resolve() / 'elsewhere' / 'src'}",
    )


def test_bake_file_outside_the_working_directory_needs_fs_read(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    definition = {"target": {"a": {"context": "docker"}}}
    assert bakefile.entitlements(definition, tmp_path / "other" / "bake.hcl", project) == (
        f"fs.read={tmp_path.resolve() / 'other'}",
    )


def test_remote_and_target_contexts_need_nothing(tmp_path: Path):
    definition = {
        "target": {
            "a": {
                "context": "https://github.com/example/project.git#main",
                "contexts": {
                    "input": "target:system--debian",
                    "git": "git@github.com:example/project.git",
                    "img": "docker-image://debian:testing-slim",
                    "oci": "oci-layout:///tmp/layout",
                    "tar": "https://example.invalid/src.tar.gz",
                    "local": "example",
                },
            }
        }
    }
    assert bakefile.entitlements(definition, tmp_path / "docker" / "bake.hcl", tmp_path) == ()


def test_absolute_context_inside_the_working_directory_needs_nothing(tmp_path: Path):
    definition = {"target": {"a": {"context": str(tmp_path / "docker")}}}
    assert bakefile.entitlements(definition, tmp_path / "bake.hcl", tmp_path) == ()


# --- check_targets ----------------------------------------------------------------------------


def test_no_targets_is_the_default_group():
    assert bakefile.check_targets([]) == ("default",)
    assert bakefile.check_targets(["lints", "smoketest-version", "deps_x"]) == ("lints", "smoketest-version", "deps_x")
    assert bakefile.check_targets(["a" * 128]) == ("a" * 128,)


@pytest.mark.parametrize(
    "target", ["a;b", "$(id)", "`id`", "a b", "", "a/b", "a.b", "x\ny", "--push", "-f", "a" * 129, "ü"]
)
def test_bad_targets_are_usage_errors(target: str):
    with pytest.raises(UsageError) as info:
        bakefile.check_targets(["default", target])
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_a_target_with_a_trailing_newline_is_refused():
    with pytest.raises(UsageError):
        bakefile.check_targets(["default\n"])


# --- print_definition ---------------------------------------------------------------------------


def test_unknown_target_from_bake_is_a_usage_error(seam: Recorder):
    seam.respond = lambda call: docker.Completed(call.argv, 1, "", "ERROR: failed to find target nope\n")
    with pytest.raises(UsageError) as info:
        bakefile.print_definition(load(), ["nope"], {})
    assert str(info.value) == "bake: failed to find target nope; see `invoke plan` for targets"
    assert seam.argvs == [("docker", "buildx", "bake", "--file", BAKE_FILE, "--print", "nope")]


def test_other_print_failures_are_docker_errors(seam: Recorder):
    seam.respond = lambda call: docker.Completed(call.argv, 1, "", "ERROR: bake.hcl:3,1-2: Invalid block\n")
    with pytest.raises(DockerError, match=r"^docker buildx bake failed with exit code 1: ERROR: bake.hcl:3,1-2"):
        bakefile.print_definition(load(), ["default"], {})


# --- bake.run through the seam ----------------------------------------------------------------------


def test_no_bake_prints_only(seam: Recorder):
    seam.respond = lambda call: docker.Completed(call.argv, 0, json.dumps(DEFINITION), "")
    loaded = load(NO_BAKE="1")
    out: list[str] = []
    assert bake.run(loaded, [], [loaded.definition.default_vector()], out=out.append) == []
    assert seam.argvs == [("docker", "buildx", "bake", "--file", BAKE_FILE, "--print", "default")]
    assert seam.calls[0].env is not None
    assert seam.calls[0].env["feat_sets"] == '["default"]'
    assert out == [json.dumps(DEFINITION, indent=2)]


def test_no_bake_with_the_ci_matrix_prints_once(seam: Recorder):
    # docker/bake.hcl declares `vectors`: one --print covers the 11 vectors.
    seam.respond = lambda call: docker.Completed(call.argv, 0, "{}", "")
    loaded = load(NO_BAKE="true", BAKERY_MATRIX="ci")
    bake.run(loaded, ["lints"], loaded.vectors(use_matrix=True), out=lambda line: None)
    assert seam.argvs == [("docker", "buildx", "bake", "--file", BAKE_FILE, "--print", "lints")]
    assert seam.calls[0].env is not None
    assert len(json.loads(seam.calls[0].env["vectors"])) == 11


def test_bad_targets_and_empty_selections_stop_before_the_seam(seam: Recorder):
    loaded = load(NO_BAKE="1")
    with pytest.raises(UsageError):
        bake.run(loaded, ["a;b"], [loaded.definition.default_vector()])
    with pytest.raises(UsageError, match=r"the selection matches no vector"):
        bake.run(loaded, [], [])
    assert seam.argvs == []


SMOKE = (
    "smoketest-version--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
)
INSTALL = "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
SUMMARY = [
    f"   1 cached    0 ran  {INSTALL}",
    f"   2 cached    1 ran  {SMOKE}",
    "   3 cached    1 ran  total (0 failed)",
]


def test_a_whole_bake_through_the_seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    loaded = for_bake(tmp_path, CI_PRINT_BAKE="1")
    with docker.use_runner(script):
        bake.run(loaded, [], [loaded.definition.default_vector()], out=script.out)
    (record,) = (tmp_path / "runs").iterdir()
    bake_json = record / "0.0.bake.json"
    bake_call = (
        "docker",
        "buildx",
        "bake",
        "--builder",
        "default",
        "--file",
        str(bake_json),
        "--progress",
        "rawjson",
        "--metadata-file",
        str(record / "metadata.0.0.json"),
        "--provenance",
        "false",
        "--allow",
        # The generated bake file lies in the run record, outside the project here.
        f"fs.read={record}",
        "--allow",
        "security.insecure",
        "smoketest-version",
    )
    seen = [argv for kind, argv in script.events if kind == "seam"]
    # The checks once (the probes, in any order; the roots), then the definition, then the one invocation.
    assert set(seen[:4]) == PROBES and len(seen) == 7
    assert seen[4][:3] == ("docker", "image", "inspect")
    assert seen[5] == ("docker", "buildx", "bake", "--file", BAKE_FILE, "--print", "default")
    assert seen[-1] == bake_call
    # One requested instance: its own stage of the generated file, with its output.
    generated = json.loads(bake_json.read_text())["target"]["smoketest-version"]
    assert generated["dockerfile"] == str(record / "0.Dockerfile")
    # Dockerfile.install's last stage, `publish`: the stage names carry it.
    assert generated["target"] == "smoketest-version.publish" and generated["context"] == "docker"
    assert (record / "0.Dockerfile").read_text().startswith("# smoketest-version: Dockerfile.install stage ")
    # CI_PRINT_BAKE: the definition is printed before the bake reaches the seam.
    printed = script.events.index(("out", json.dumps(DEFINITION, indent=2)))
    assert printed < script.events.index(("seam", bake_call))
    lines = [line for kind, line in script.events if kind == "out"]
    steps = [line for line in lines[1:-4] if isinstance(line, str)]
    assert len(steps) == 4  # four steps in the fixture, each reported once
    assert all(line.startswith(("CACHED  [", "RAN     [")) for line in steps)
    assert lines[-4:] == [*SUMMARY, f"ACCEPT default [{DEFAULT_LABEL}] (record: {record})"]
    command = json.loads((record / "command.json").read_text())
    (only,) = command["invocations"]
    assert only["argv"] == list(bake_call)
    assert only["targets"] == ["smoketest-version"] and only["stage"] == "smoketest-version.publish"
    assert command["vectors"] == [{k: v[0] for k, v in DEFAULT_BLOCK.items()}]
    assert command["builder"] == "default" and command["driver"] == "docker"
    assert only["variables"]["feat_sets"] == '["default"]'
    assert json.loads(only["variables"]["vectors"]) == [{k: v[0] for k, v in DEFAULT_BLOCK.items()}]
    assert (record / "summary.txt").read_text() == "\n".join(SUMMARY) + "\n"
    assert (record / "progress.jsonl").read_text() == (FIXTURES / "progress-smoketest-version.jsonl").read_text()


def test_a_failed_bake_prints_error_and_passes_the_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker(bake_code=17)
    loaded = for_bake(tmp_path, CI_SILENT_BAKE="1")
    out: list[str] = []
    with docker.use_runner(script), pytest.raises(BakeryError) as info:
        bake.run(loaded, ["smoketest-version"], [loaded.definition.default_vector()], out=out.append)
    (record,) = (tmp_path / "runs").iterdir()
    assert info.value.exit_code == 17
    assert str(info.value) == f"bake failed with exit code 17; see {record}"
    # CI_SILENT_BAKE: no step lines, only the summary and the banner.
    # CI_SILENT_BAKE: no step lines, only the summary and, last, the failure.
    assert out == [*SUMMARY, f"ERROR smoketest-version [{DEFAULT_LABEL}] exit 17 (record: {record})"]


def test_plain_progress_is_passed_through_and_not_summarised(monkeypatch, tmp_path: Path, capsys, daemon_socket):
    monkeypatch.chdir(ROOT)
    script = ScriptedDocker()
    loaded = for_bake(tmp_path)
    out: list[str] = []
    with docker.use_runner(script):
        bake.run(loaded, [], [loaded.definition.default_vector()], progress_mode="plain", out=out.append)
    bake_argv = [argv for kind, argv in script.events if kind == "seam"][-1]
    assert bake_argv[bake_argv.index("--progress") + 1] == "plain"
    assert len(out) == 1 and out[0].startswith("ACCEPT default [")
    assert capsys.readouterr().err == (FIXTURES / "progress-smoketest-version.jsonl").read_text()


def test_a_tree_that_takes_vectors_gets_the_whole_selection_in_one_run(seam: Recorder, tmp_path: Path):
    """The tree contract (docs/tree.md): with `variable "vectors"` in the
    bake file, one run covers the ci matrix's 11 vectors, the exclude kept out
    by the list; the arrays carry their cross product."""
    tree = tmp_path / "bake.hcl"
    tree.write_text('variable "vectors" {\n  default = ""\n}\ntarget "lints" {}\n')
    seam.respond = lambda call: docker.Completed(call.argv, 0, "{}", "")
    loaded = load(NO_BAKE="1", BAKERY_MATRIX="ci", BAKERY_BAKE_FILE=str(tree))
    bake.run(loaded, ["lints"], loaded.vectors(use_matrix=True), out=lambda line: None)
    (call,) = seam.calls
    assert call.argv == ("docker", "buildx", "bake", "--file", str(tree), "--print", "lints")
    assert call.env is not None
    selected = json.loads(call.env["vectors"])
    assert len(selected) == 11
    excluded = {"cargo_profile": "test", "rust_toolchain": "stable", "feat_set": "none"}
    assert [v for v in selected if excluded.items() <= v.items()] == []
    assert selected[0] == {
        "cargo_profile": "test",
        "rust_toolchain": "nightly",
        "rust_target": "x86_64-unknown-linux-gnu",
        "feat_set": "none",
        "sys_name": "debian",
        "sys_version": "testing-slim",
        "sys_target": "x86_64-v1-linux-gnu",
    }
    assert call.env["cargo_profiles"] == '["test", "release"]'
    assert call.env["rust_toolchains"] == '["nightly", "stable"]'
    assert call.env["feat_sets"] == '["none", "default", "all"]'


def test_without_the_vectors_variable_each_block_gets_its_own_vectors(seam: Recorder, tmp_path: Path):
    tree = tmp_path / "bake.hcl"
    tree.write_text('target "lints" {}\n')
    seam.respond = lambda call: docker.Completed(call.argv, 0, "{}", "")
    loaded = load(NO_BAKE="1", BAKERY_MATRIX="ci", BAKERY_BAKE_FILE=str(tree))
    bake.run(loaded, ["lints"], loaded.vectors(use_matrix=True), out=lambda line: None)
    sizes = sorted(len(json.loads(c.env["vectors"])) for c in seam.calls if c.env is not None)
    assert sizes == [2, 3, 6]  # the three cross-product blocks of the ci matrix
