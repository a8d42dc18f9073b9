"""Unit tests for bakery.engine.docker, the one seam that runs docker.

The `seam` fixture swaps the process runner and records each Call; the
scripted responses below stand in for what docker would print. Two tests
run the real subprocess runner on non-docker programs (no docker needed).

Fixtures: buildx-0.29.1-bake-help.txt is the real `docker buildx bake --help`
of buildx 0.29.1; buildx-0.13.1-bake-help.txt is that of 0.13.1 (Debian
trixie), written from its documentation: no --allow, --call or --list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bakery.config.settings import load
from bakery.engine import docker, process
from bakery.errors import EXIT_ENVIRONMENT, DockerError, EnvironmentNotReady, ProcessError
from tests.conftest import Recorder
from tests.support.docker_fakes import by_argv

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fail(code: int, stderr: str):
    return lambda call: docker.Completed(call.argv, code, "", stderr)


# --- run ----------------------------------------------------------------------------


def test_run_prefixes_docker_and_passes_the_call_through(seam: Recorder):
    seam.respond = lambda call: docker.Completed(call.argv, 0, "out\n", "")
    result = docker.run(["image", "ls"], env={"A": "1"})
    assert seam.argvs == [("docker", "image", "ls")]
    call = seam.calls[0]
    assert call.env == {"A": "1"}
    assert call.capture is True
    assert result.stdout == "out\n"
    assert result.returncode == 0


def test_failure_raises_docker_error_with_argv_code_and_stderr(seam: Recorder):
    seam.respond = fail(1, "step 1\n\nERROR: failed to solve: boom\n\n")
    with pytest.raises(DockerError) as info:
        docker.run(["buildx", "bake", "--file", "x.hcl", "all"])
    error = info.value
    assert error.argv == ("docker", "buildx", "bake", "--file", "x.hcl", "all")
    assert error.returncode == 1
    assert error.stderr == "step 1\n\nERROR: failed to solve: boom\n\n"
    assert str(error) == "docker buildx bake failed with exit code 1: ERROR: failed to solve: boom"
    assert error.exit_code == 1


def test_docker_error_without_output_and_exit_code_mapping(seam: Recorder):
    seam.respond = fail(125, "")
    with pytest.raises(DockerError) as info:
        docker.run(["version"])
    assert str(info.value) == "docker version failed with exit code 125: no output"
    # A child's code is kept on the error, never passed on as ours: only bake's is (BakeFailed).
    assert (info.value.returncode, info.value.exit_code) == (125, 1)
    seam.respond = fail(137, "Killed\n")
    with pytest.raises(DockerError) as info:
        docker.run(["run", "x"])
    assert info.value.exit_code == 1  # a signal death is not passed on as our own code


def test_docker_error_message_redacts_secrets(seam: Recorder):
    seam.respond = fail(
        1, "pushing\nERROR: denied for GH_TOKEN=sekrit123 at https://bob:pa55word@registry.invalid/v2\n"
    )
    with pytest.raises(DockerError) as info:
        docker.run(["push", "x"])
    message = str(info.value)
    assert "sekrit123" not in message
    assert "pa55word" not in message
    assert (
        message
        == "docker push x failed with exit code 1: ERROR: denied for GH_TOKEN=*** at https://***@registry.invalid/v2"
    )


def test_check_false_returns_the_failure(seam: Recorder):
    seam.respond = fail(3, "nope\n")
    result = docker.run(["image", "inspect", "x"], check=False)
    assert (result.returncode, result.stderr) == (3, "nope\n")


def test_use_runner_restores_the_previous_runner():
    outer, inner = Recorder(), Recorder()
    with docker.use_runner(outer):
        with docker.use_runner(inner):
            docker.run(["a"])
        docker.run(["b"])
    assert inner.argvs == [("docker", "a")]
    assert outer.argvs == [("docker", "b")]


def test_seam_log_appends_each_argv_as_a_json_line(seam: Recorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    log = tmp_path / "seam.jsonl"
    monkeypatch.setattr(process, "_seam_log", [])
    process.record_to(str(load({}, {"BAKERY_SEAM_LOG": str(log)}).seam_log))
    seam.respond = fail(1, "bad\n")
    docker.run(["buildx", "bake", "--print", "a b"], check=False)
    with pytest.raises(DockerError):
        docker.run(["buildx", "rm", "x"])  # logged before it runs, even when it fails
    lines = log.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        ["docker", "buildx", "bake", "--print", "a b"],
        ["docker", "buildx", "rm", "x"],
    ]


def test_without_seam_log_nothing_is_written(seam: Recorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(process, "_seam_log", [])
    process.record_to(load({}, {}).seam_log)
    monkeypatch.chdir(tmp_path)
    docker.run(["version"])
    assert list(tmp_path.iterdir()) == []


def test_environment_drops_and_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEEP_ME", "1")
    monkeypatch.setenv("feat_set", "all")
    env = docker.environment({"feat_sets": '["none"]'}, drop=["feat_set"])
    assert env["KEEP_ME"] == "1"
    assert "feat_set" not in env
    assert env["feat_sets"] == '["none"]'


# --- probes ----------------------------------------------------------------------------


def test_require_daemon_returns_the_server_version(seam: Recorder):
    seam.respond = by_argv(**{"version --format {{.Server.Version}}": (0, "28.5.2\n", "")})
    assert docker.require_daemon() == "28.5.2"
    assert seam.argvs == [("docker", "version", "--format", "{{.Server.Version}}")]


@pytest.mark.parametrize(
    "answer",
    [(1, "", "Cannot connect to the Docker daemon at unix:///dead.sock.\n"), (0, "\n", "")],
)
def test_require_daemon_failure_is_environment_not_ready(seam, monkeypatch, answer):
    monkeypatch.setenv("DOCKER_HOST", "unix:///dead.sock")
    seam.respond = lambda call: docker.Completed(call.argv, *answer)
    with pytest.raises(EnvironmentNotReady) as info:
        docker.require_daemon()
    assert info.value.exit_code == EXIT_ENVIRONMENT == 3
    assert str(info.value) == (
        "Docker daemon not reachable at unix:///dead.sock; start it: sudo ci/provision-docker.sh"
    )


def test_require_cli_failure(seam: Recorder):
    seam.respond = fail(127, "")
    with pytest.raises(EnvironmentNotReady, match=r"^docker CLI does not run; run: sudo ci/provision-docker.sh$"):
        docker.require_cli()
    assert seam.argvs == [("docker", "--version")]


def test_buildx_missing_is_environment_not_ready(seam: Recorder):
    seam.respond = fail(1, "docker: 'buildx' is not a docker command.\n")
    with pytest.raises(EnvironmentNotReady) as info:
        docker.buildx()
    assert info.value.exit_code == 3
    assert str(info.value) == "docker buildx plugin not found; run: sudo ci/provision-docker.sh"
    assert seam.argvs == [("docker", "buildx", "version")]  # no further probing


def _buildx_with(help_file: str, seam: Recorder) -> docker.Buildx:
    help_text = (FIXTURES / help_file).read_text()
    seam.respond = by_argv(
        **{
            "buildx version": (0, "github.com/docker/buildx v0.0.0 abc\n", ""),
            "buildx bake --help": (0, help_text, ""),
        }
    )
    return docker.buildx()


def test_buildx_features_of_a_new_buildx(seam: Recorder):
    found = _buildx_with("buildx-0.29.1-bake-help.txt", seam)
    assert (found.allow, found.call, found.list) == (True, True, True)
    assert found.version == "github.com/docker/buildx v0.0.0 abc"
    assert {"--print", "--provenance", "--metadata-file", "--set", "--file"} <= found.bake_flags
    assert seam.argvs == [("docker", "buildx", "version"), ("docker", "buildx", "bake", "--help")]


def test_buildx_features_of_an_old_buildx(seam: Recorder):
    found = _buildx_with("buildx-0.13.1-bake-help.txt", seam)
    assert (found.allow, found.call, found.list) == (False, False, False)
    assert "--print" in found.bake_flags


def test_buildx_features_from_a_hand_written_help(seam: Recorder):
    seam.respond = by_argv(
        **{
            "buildx bake --help": (0, "Options:\n      --allow stringArray  Allow\n      --print   Print\n", ""),
        }
    )
    found = docker.buildx()
    assert (found.allow, found.call, found.list) == (True, False, False)
    assert found.bake_flags == frozenset({"--allow", "--print"})


def test_image_exists(seam: Recorder):
    seam.respond = by_argv(**{"image inspect --format {{.Id}} debian:testing-slim": (0, "sha256:1\n", "")})
    assert docker.image_exists("debian:testing-slim") is True
    seam.respond = fail(1, "No such image\n")
    assert docker.image_exists("debian:nope") is False


# --- the real runner, on programs that are not docker ----------------------------------


def test_real_runner_reports_a_missing_program_as_environment_not_ready():
    with pytest.raises(EnvironmentNotReady, match=r"^/nonexistent/docker not found on PATH"):
        process.subprocess_runner(docker.Call(("/nonexistent/docker", "version")))


def test_real_runner_captures_and_streams_stderr_lines():
    seen: list[str] = []
    code = "import sys; print('out'); sys.stderr.write('a\\nb\\n'); sys.exit(4)"
    result = process.subprocess_runner(docker.Call((sys.executable, "-c", code), on_stderr=seen.append))
    assert (result.returncode, result.stdout, result.stderr) == (4, "out\n", "a\nb\n")
    assert seen == ["a\n", "b\n"]


def test_other_programs_use_the_same_seam(seam: Recorder):
    """The process seam runs any program (graphviz, mmdebstrap, the bench's
    timed commands); docker is its `docker` prefix (docs/architecture.md)."""
    seam.respond = lambda call: process.Completed(call.argv, 3, "", "dot: syntax error in line 1\n")
    with pytest.raises(ProcessError) as info:
        process.run(["dot", "-Tsvg", "tree.dot"])
    assert seam.argvs == [("dot", "-Tsvg", "tree.dot")]
    assert not isinstance(info.value, DockerError)
    assert str(info.value) == "dot -Tsvg tree.dot failed with exit code 3: dot: syntax error in line 1"
    # dot's 3 must not read as bakery's "environment not ready" (3).
    assert (info.value.returncode, info.value.exit_code) == (3, 1)


@pytest.mark.parametrize(("returncode", "exit_code"), [(1, 1), (2, 2), (17, 17), (-9, 137), (-15, 143)])
def test_only_bake_passes_its_exit_code_through(returncode: int, exit_code: int):
    from bakery.errors import BakeFailed

    assert BakeFailed("bake failed", returncode).exit_code == exit_code


def test_run_all_keeps_the_order_and_checks_nothing(seam: Recorder):
    seam.respond = lambda call: process.Completed(call.argv, len(call.argv), " ".join(call.argv), "")
    results = process.run_all([("docker", "a"), ("docker", "b", "c"), ("docker",)])
    assert [(r.argv, r.returncode, r.stdout) for r in results] == [
        (("docker", "a"), 2, "docker a"),
        (("docker", "b", "c"), 3, "docker b c"),
        (("docker",), 1, "docker"),
    ]
    assert sorted(seam.argvs) == [("docker",), ("docker", "a"), ("docker", "b", "c")]
