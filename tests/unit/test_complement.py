"""Unit tests for `invoke complement` (bakery.complement.run, bakery.complement.containers).

No docker: every call reaches the seam, where a scripted engine answers the
way the docker CLI would (and writes the files `docker cp` would copy), so the
orchestration runs unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from bakery.cli.common import guard
from bakery.complement import run as complement
from bakery.complement.run import Options
from bakery.config import settings as settings_module
from bakery.engine import docker
from bakery.errors import (
    EXIT_ENVIRONMENT,
    EXIT_FAILURE,
    EXIT_INFRA,
    EXIT_USAGE,
    BakeryError,
    EnvironmentNotReady,
    InfraError,
    Interrupted,
    UsageError,
)
from tests.conftest import DEFAULT_NAME, Recorder

VECTOR = "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
TESTEE = f"complement-testee--{VECTOR}:latest"
TESTER = "complement-tester--default--debian--testing-slim--x86_64-v1-linux-gnu:latest"
NAME_PREFIX = f"complement--{VECTOR}"
STANDIN = "bakery-standin:test"


def lines(*records: tuple[str, str]) -> str:
    return "".join(json.dumps({"Action": action, "Test": test}) + "\n" for action, test in records)


BASELINE = lines(("pass", "TestA"), ("pass", "TestB"), ("fail", "TestC"))
ALL_PASS = lines(("pass", "TestA"), ("pass", "TestB"), ("fail", "TestC"))


class FakeEngine:
    """Answers the docker CLI calls `invoke complement` makes."""

    def __init__(
        self,
        *,
        exit_code: int = 0,
        results: str | None = ALL_PASS,
        baseline: str = BASELINE,
        interrupt: Callable[[tuple[str, ...]], int | None] | None = None,
        images: tuple[str, ...] = (TESTER, TESTEE, STANDIN),
    ) -> None:
        self.exit_code = exit_code
        self.results = results
        self.baseline = baseline
        self.interrupt = interrupt
        self.images = images
        # What the tester "left behind": swept by label.
        self.leftovers = {"containers": ["c0ffee"], "networks": ["n3twork"]}

    def __call__(self, call: docker.Call) -> docker.Completed:
        argv = call.argv[1:]
        if self.interrupt is not None and (signum := self.interrupt(argv)) is not None:
            raise Interrupted(signum)
        return docker.Completed(call.argv, *self.answer(argv))

    def answer(self, argv: tuple[str, ...]) -> tuple[int, str, str]:
        sub = argv[0]
        if sub == "image":
            return (0, "sha256:1\n", "") if argv[-1] in self.images else (1, "", "No such image")
        if sub == "create":
            return 0, "holder-id\n", ""
        if sub == "cp":
            return self.copy(argv[1], Path(argv[2]))
        if sub == "run":
            return (0, "tester-id\n", "") if "-d" in argv else (self.exit_code, "", "")
        if sub == "wait":
            return 0, f"{self.exit_code}\n", ""
        if sub == "logs":
            if "-f" in argv:
                return 0, "", ""
            return 0, "2026-01-01T00:00:00.000000001Z out\n", "2026-01-01T00:00:00.000000002Z err\n"
        if sub == "ps":
            return 0, "".join(f"{c}\n" for c in self.leftovers["containers"]), ""
        if sub == "network" and argv[1] == "ls":
            return 0, "".join(f"{n}\n" for n in self.leftovers["networks"]), ""
        if sub == "network" and argv[1] == "rm":
            self.leftovers["networks"] = []
        if sub == "rm":
            self.leftovers["containers"] = [c for c in self.leftovers["containers"] if c not in argv]
        return 0, "", ""

    def copy(self, source: str, dest: Path) -> tuple[int, str, str]:
        if source.endswith(":/complement/old_results.jsonl"):
            dest.write_text(self.baseline)
        elif source.endswith(":/results/."):
            (dest / "go-test.jsonl").write_text('{"Action":"run","Test":"TestA"}\n')
            if self.results is not None:
                (dest / "results.jsonl").write_text(self.results)
        return 0, "", ""


def load_settings(tmp_path: Path, **environ: str):
    env = {"BAKERY_RESULTS_DIR": str(tmp_path / "results"), **environ}
    return settings_module.load({}, environ=env)


def run(settings, options: Options | None = None, out: list[str] | None = None):
    sink = out if out is not None else []
    return complement.run(settings, settings.vectors(), options or Options(no_build=True, run_id="r1"), out=sink.append)


def discard(_line: str) -> None:
    pass


def subcommands(seam: Recorder) -> list[str]:
    """`docker ps -aq ...` -> "ps", `docker network ls ...` -> "network ls"."""
    names = []
    for argv in seam.argvs:
        sub = argv[1]
        names.append(f"{sub} {argv[2]}" if sub in ("network", "image") else sub)
    return names


def run_argv(seam: Recorder) -> tuple[str, ...]:
    runs = [argv for argv in seam.argvs if argv[1] == "run"]
    assert len(runs) == 1
    return runs[0]


def env_of(argv: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, part in enumerate(argv) if part == "-e"]


# --------------------------------------------------------------------------
# The tester's docker run
# --------------------------------------------------------------------------


def test_tester_runs_with_name_label_socket_host_network_and_run_time_env(
    seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seam.respond = FakeEngine()
    monkeypatch.setenv("COMPLEMENT_STANDIN_MODE", "pass")
    settings = load_settings(
        tmp_path,
        COMPLEMENT_RUN="TestA|TestB",
        COMPLEMENT_SKIP="TestB/slow",
        COMPLEMENT_COUNT="2",
        COMPLEMENT_PARALLEL="8",
        COMPLEMENT_TIMEOUT="30m",
        COMPLEMENT_TAGS="msc3083",
    )
    run(settings, Options(no_build=True, run_id="ci 42/attempt:1"))

    argv = run_argv(seam)
    name = f"{NAME_PREFIX}--ci-42-attempt-1"
    assert argv[:4] == ("docker", "run", "--name", name)
    assert "--rm" not in argv and "-d" not in argv  # attached outside CI
    assert argv[argv.index("--label") + 1] == "bakery.run-id=ci-42-attempt-1"
    assert "--network=host" in argv
    assert argv[argv.index("-v") + 1] == "/var/run/docker.sock:/run/docker.sock"
    assert env_of(argv) == [
        "DOCKER_HOST=unix:///run/docker.sock",
        "BAKERY_RUN_ID=ci-42-attempt-1",
        "BAKERY_RUN_LABEL=bakery.run-id=ci-42-attempt-1",
        "COMPLEMENT_RUN=TestA|TestB",
        "COMPLEMENT_SKIP=TestB/slow",
        "COMPLEMENT_COUNT=2",
        "COMPLEMENT_PARALLEL=8",
        "COMPLEMENT_TIMEOUT=30m",
        "COMPLEMENT_TAGS=msc3083",
        # Complement's own variables pass by name: the value stays out of argv.
        "COMPLEMENT_STANDIN_MODE",
    ]
    # The testee image is the tester's argument.
    assert argv[-2:] == (TESTER, TESTEE)


def test_unset_run_settings_are_not_passed(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine()
    run(load_settings(tmp_path))
    names = [e.split("=", 1)[0] for e in env_of(run_argv(seam))]
    assert "COMPLEMENT_RUN" not in names and "COMPLEMENT_SKIP" not in names and "COMPLEMENT_TAGS" not in names
    assert {"COMPLEMENT_COUNT", "COMPLEMENT_PARALLEL", "COMPLEMENT_TIMEOUT"} <= set(names)


def test_socket_follows_a_unix_docker_host(seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    seam.respond = FakeEngine()
    run(load_settings(tmp_path))
    argv = run_argv(seam)
    assert argv[argv.index("-v") + 1] == "/run/user/1000/docker.sock:/run/docker.sock"


def test_local_run_order_extracts_then_removes_then_sweeps(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = engine = FakeEngine()
    run(load_settings(tmp_path))
    assert subcommands(seam) == [
        "image inspect",  # tester
        "image inspect",  # testee
        "create",  # baseline holder
        "cp",
        "rm",
        "run",
        "wait",
        "cp",  # /results
        "logs",
        "rm",  # the tester
        "ps",
        "network ls",
        "rm",  # what the tester left behind
        "network rm",
        "ps",
        "network ls",
    ]
    assert engine.leftovers == {"containers": [], "networks": []}
    assert ("docker", "ps", "-aq", "--filter", "label=bakery.run-id=r1") in seam.argvs
    assert ("docker", "network", "ls", "-q", "--filter", "label=bakery.run-id=r1") in seam.argvs


def test_ci_runs_detached_and_follows_the_logs(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine()
    run(load_settings(tmp_path, CI="true"))
    argv = run_argv(seam)
    assert argv[2] == "-d"
    name = argv[argv.index("--name") + 1]
    run_at = seam.argvs.index(argv)
    assert seam.argvs[run_at + 1] == ("docker", "logs", "-f", name)
    assert seam.argvs[run_at + 2] == ("docker", "wait", name)
    assert seam.calls[run_at + 1].capture is False  # streamed, not swallowed


def test_results_and_logs_are_extracted(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine()
    out: list[str] = []
    run(load_settings(tmp_path), out=out)
    results_dir = tmp_path / "results"
    assert sorted(p.name for p in results_dir.iterdir()) == [
        "baseline.jsonl",
        "go-test.jsonl",
        "results.jsonl",
        "summary.txt",
        "tester.log",
    ]
    # stdout and stderr merged back in timestamp order.
    assert (results_dir / "tester.log").read_text().splitlines() == [
        "2026-01-01T00:00:00.000000001Z out",
        "2026-01-01T00:00:00.000000002Z err",
    ]
    assert any("Complement results: OK" in line for line in out)


def test_stale_results_from_an_earlier_run_are_not_judged(seam: Recorder, tmp_path: Path) -> None:
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    (results_dir / "results.jsonl").write_text(ALL_PASS)
    # This run's tester writes a go-test.jsonl without any verdict, and no results.jsonl.
    seam.respond = FakeEngine(results=None)
    with pytest.raises(BakeryError) as caught:
        run(load_settings(tmp_path))
    assert caught.value.exit_code == EXIT_FAILURE
    assert "2 regression(s)" in str(caught.value)


# --------------------------------------------------------------------------
# Exit status: 0/1 go to the gate, anything else is infrastructure.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tester_exit", "current", "expected"),
    [
        (0, ALL_PASS, 0),
        # Some tests failed (exit 1), but TestC failed in the baseline too: the gate passes.
        (1, ALL_PASS, 0),
        # TestB passed in the baseline and fails now: a regression.
        (1, lines(("pass", "TestA"), ("fail", "TestB"), ("fail", "TestC")), EXIT_FAILURE),
        (2, ALL_PASS, EXIT_INFRA),
        (137, None, EXIT_INFRA),
    ],
)
def test_exit_mapping(seam: Recorder, tmp_path: Path, tester_exit: int, current: str | None, expected: int) -> None:
    seam.respond = engine = FakeEngine(exit_code=tester_exit, results=current)
    if expected == 0:
        comparison = run(load_settings(tmp_path))
        assert comparison.ok
    else:
        with pytest.raises(BakeryError) as caught:
            run(load_settings(tmp_path))
        assert caught.value.exit_code == expected
        if expected == EXIT_INFRA:
            assert isinstance(caught.value, InfraError)
            assert f"exit code {tester_exit}" in str(caught.value)
    # Extracted and cleaned up on every path.
    assert any(a[1] == "cp" and a[2].endswith(":/results/.") for a in seam.argvs)
    assert (tmp_path / "results" / "tester.log").is_file()
    assert engine.leftovers == {"containers": [], "networks": []}


def test_killed_tester_names_the_signal(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine(exit_code=137, results=None)
    with pytest.raises(InfraError, match=r"exit code 137 \(killed by signal 9\)"):
        run(load_settings(tmp_path))


def test_tester_that_never_ran_is_infrastructure(seam: Recorder, tmp_path: Path) -> None:
    engine = FakeEngine(exit_code=125)

    def respond(call: docker.Call) -> docker.Completed:
        if call.argv[1] == "wait":
            return docker.Completed(call.argv, 1, "", "Error: No such container")
        return engine(call)

    seam.respond = respond
    with pytest.raises(InfraError, match="did not run"):
        run(load_settings(tmp_path))


def test_exit_zero_without_results_is_infrastructure(seam: Recorder, tmp_path: Path) -> None:
    engine = FakeEngine()

    def respond(call: docker.Call) -> docker.Completed:
        if call.argv[1] == "cp" and call.argv[2].endswith(":/results/."):
            return docker.Completed(call.argv, 1, "", "Could not find the file /results")
        return engine(call)

    seam.respond = respond
    with pytest.raises(InfraError, match="left no /results/results.jsonl"):
        run(load_settings(tmp_path))


def test_infra_exit_through_guard_is_5(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine(exit_code=2)
    with pytest.raises(Exit) as caught, guard():
        run(load_settings(tmp_path))
    assert caught.value.code == EXIT_INFRA == 5


# --------------------------------------------------------------------------
# Interrupts: stop, extract, clean up, re-raise.
# --------------------------------------------------------------------------


def test_interrupt_while_attached_stops_extracts_and_sweeps(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = engine = FakeEngine(interrupt=lambda argv: 2 if argv[0] == "run" else None)
    with pytest.raises(Interrupted) as caught:
        run(load_settings(tmp_path))
    assert caught.value.exit_code == 130
    after = subcommands(seam)[subcommands(seam).index("run") + 1 :]
    assert after[:4] == ["stop", "cp", "logs", "rm"]
    assert "ps" in after and "network ls" in after
    stop = next(a for a in seam.argvs if a[1] == "stop")
    assert stop[-1].startswith(NAME_PREFIX)
    assert engine.leftovers == {"containers": [], "networks": []}


def test_sigterm_while_following_logs_in_ci_exits_143(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine(interrupt=lambda argv: 15 if argv[:2] == ("logs", "-f") else None)
    with pytest.raises(Exit) as caught, guard():
        run(load_settings(tmp_path, CI="true"))
    assert caught.value.code == 143
    assert "stop" in subcommands(seam)
    assert (tmp_path / "results" / "tester.log").is_file()


def test_keyboard_interrupt_also_cleans_up(seam: Recorder, tmp_path: Path) -> None:
    engine = FakeEngine()

    def respond(call: docker.Call) -> docker.Completed:
        if call.argv[1] == "wait":
            raise KeyboardInterrupt
        return engine(call)

    seam.respond = respond
    with pytest.raises(Exit) as caught, guard():
        run(load_settings(tmp_path))
    assert caught.value.code == 130
    assert subcommands(seam)[-6:] == ["ps", "network ls", "rm", "network rm", "ps", "network ls"]


# --------------------------------------------------------------------------
# Usage errors come before any docker call.
# --------------------------------------------------------------------------


def test_unwritable_results_dir_is_usage_error_before_any_call(seam: Recorder, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = settings_module.load({}, environ={"BAKERY_RESULTS_DIR": str(blocker / "results")})
    with pytest.raises(UsageError, match="is not writable") as caught:
        run(settings, Options(run_id="r1"))
    assert caught.value.exit_code == EXIT_USAGE
    assert seam.calls == []


def test_malformed_baseline_is_usage_error_before_any_call(seam: Recorder, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text(lines(("pass", "TestA")) + '{"Action": "pass"}\n')
    with pytest.raises(UsageError) as caught:
        run(load_settings(tmp_path, BAKERY_BASELINE=str(baseline)))
    assert caught.value.exit_code == EXIT_USAGE
    assert f"{baseline}:2: missing" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert seam.calls == []


def test_missing_baseline_file_is_usage_error(seam: Recorder, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read results file"):
        run(load_settings(tmp_path, BAKERY_BASELINE=str(tmp_path / "nope.jsonl")))
    assert seam.calls == []


def test_invalid_run_pattern_is_usage_error(seam: Recorder, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="COMPLEMENT_RUN"):
        run(load_settings(tmp_path, COMPLEMENT_RUN="Test(["))
    assert seam.calls == []


def test_one_vector_only(seam: Recorder, tmp_path: Path) -> None:
    settings = settings_module.load({"feat_set": "none,default"}, environ={"BAKERY_RESULTS_DIR": str(tmp_path)})
    with pytest.raises(UsageError, match="one vector"):
        complement.run(settings, settings.vectors(), Options(no_build=True))
    assert seam.calls == []


def test_missing_image_with_no_build_is_environment_error(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine(images=(TESTEE,))
    with pytest.raises(EnvironmentNotReady, match=TESTER) as caught:
        run(load_settings(tmp_path))
    assert caught.value.exit_code == EXIT_ENVIRONMENT
    assert "run" not in subcommands(seam)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("abc", "abc"), ("gh 123/2", "gh-123-2"), ("..x..", "x"), ("a_b.c-D", "a_b.c-D")],
)
def test_run_id_is_sanitised(raw: str, expected: str) -> None:
    assert complement.sanitize_run_id(raw) == expected


def test_run_id_generated_and_rejected() -> None:
    assert complement.sanitize_run_id(None) != complement.sanitize_run_id(None)
    with pytest.raises(UsageError):
        complement.sanitize_run_id("///")


# --------------------------------------------------------------------------
# Building, baselines, filters and reports.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "targets"),
    [
        (Options(), ("complement-tester", "complement-testee")),
        (Options(tester_image=STANDIN), ("complement-testee",)),
        (Options(testee_image="x:1"), ("complement-tester",)),
        (Options(tester_image=STANDIN, testee_image="x:1"), ()),
        (Options(no_build=True), ()),
    ],
)
def test_build_targets(options: Options, targets: tuple[str, ...]) -> None:
    assert complement.build_targets(options) == targets


def test_bake_is_asked_for_the_vector_before_the_tester_runs(seam: Recorder, tmp_path: Path) -> None:
    engine = FakeEngine()

    def respond(call: docker.Call) -> docker.Completed:
        if call.argv[1] == "buildx":
            return docker.Completed(call.argv, 0, '{"target": {}}', "")
        return engine(call)

    seam.respond = respond
    # NO_BAKE: bake prints its definition and builds nothing; the run goes on.
    settings = load_settings(tmp_path, NO_BAKE="true")
    complement.run(settings, settings.vectors(), Options(tester_image=STANDIN, run_id="r1"), out=discard)
    bakes = [a for a in seam.argvs if a[1:3] == ("buildx", "bake")]
    assert len(bakes) == 1 and bakes[0][-1] == "complement-testee" and "complement-tester" not in bakes[0]
    assert seam.argvs.index(bakes[0]) < seam.argvs.index(run_argv(seam))
    env = seam.calls[seam.argvs.index(bakes[0])].env
    assert env is not None and env["feat_sets"] == '["default"]'
    assert run_argv(seam)[-2:] == (STANDIN, TESTEE)


def test_baseline_comes_from_the_testee_image(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine()
    run(load_settings(tmp_path))
    create = next(a for a in seam.argvs if a[1] == "create")
    holder = create[create.index("--name") + 1]
    assert create[-1] == TESTEE and "bakery.run-id=r1" in create
    baseline = str(tmp_path / "results" / "baseline.jsonl")
    assert ("docker", "cp", f"{holder}:/complement/old_results.jsonl", baseline) in seam.argvs
    assert ("docker", "rm", "--force", "--volumes", holder) in seam.argvs


def test_baseline_file_setting_skips_the_image(seam: Recorder, tmp_path: Path) -> None:
    baseline = tmp_path / "b.jsonl"
    baseline.write_text(lines(("pass", "TestA"), ("pass", "TestZ")))
    seam.respond = FakeEngine()
    with pytest.raises(BakeryError, match="1 regression"):
        run(load_settings(tmp_path, BAKERY_BASELINE=str(baseline)))
    assert "create" not in subcommands(seam)


def test_filtered_tests_are_not_regressions(seam: Recorder, tmp_path: Path) -> None:
    seam.respond = FakeEngine(results=lines(("pass", "TestA")))
    out: list[str] = []
    comparison = run(load_settings(tmp_path, COMPLEMENT_RUN="TestA"), out=out)
    assert comparison.ok
    assert comparison.filtered == ("TestB", "TestC")
    assert any("filtered:" in line and "2" in line for line in "\n".join(out).splitlines())


def test_update_baseline_writes_the_results(seam: Recorder, tmp_path: Path) -> None:
    baseline = tmp_path / "b.jsonl"
    baseline.write_text(lines(("fail", "TestA"), ("pass", "TestB")))
    seam.respond = FakeEngine(results=lines(("pass", "TestB"), ("pass", "TestA")))
    settings = load_settings(tmp_path, BAKERY_BASELINE=str(baseline))
    comparison = run(settings, Options(no_build=True, update_baseline=True))
    assert comparison.fixes == ("TestA",)
    assert baseline.read_text() == '{"Action":"pass","Test":"TestA"}\n{"Action":"pass","Test":"TestB"}\n'


def test_update_baseline_from_the_image_targets_the_project_source(monkeypatch: pytest.MonkeyPatch) -> None:
    assert complement.project_baseline(settings_module.load({}, {"BAKERY_DOTENV": os.devnull})) == (
        complement.ROOT / "example/tests/complement/results.jsonl"
    )
    layered = settings_module.load({}, {"source_location": "proj", "complement_baseline": "r.jsonl"})
    assert complement.project_baseline(layered) == complement.ROOT / "proj/r.jsonl"
    with pytest.raises(UsageError, match="remote"):
        complement.project_baseline(settings_module.load({}, {"source_location": "https://example.org/p.git"}))


def test_project_baseline_reads_dotenv(tmp_path: Path) -> None:
    """A tree setting in .env reaches every reader, not only bake."""
    dotenv = tmp_path / "project.env"
    dotenv.write_text("source_location=../proj\ncomplement_baseline=ci/baseline.jsonl\n")
    settings = settings_module.load({}, {"BAKERY_DOTENV": str(dotenv)})
    assert complement.project_baseline(settings) == complement.ROOT / "../proj/ci/baseline.jsonl"


def test_github_step_summary_is_appended(seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    seam.respond = FakeEngine()
    run(load_settings(tmp_path))
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "### Complement: ✅ no regressions" in text


# --------------------------------------------------------------------------
# --compare OLD,NEW: the judgement only, never docker.
# --------------------------------------------------------------------------


def test_compare_makes_no_docker_call(seam: Recorder, tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(BASELINE)
    new.write_text(lines(("pass", "TestA"), ("pass", "TestC")))
    out: list[str] = []
    with pytest.raises(BakeryError) as caught:
        complement.compare_files(load_settings(tmp_path), old, new, out=out.append)
    assert caught.value.exit_code == EXIT_FAILURE
    assert "Regressions (1 of 1 shown):" in out[0] and "TestB (pass -> missing)" in out[0]
    new.write_text(ALL_PASS)
    assert complement.compare_files(load_settings(tmp_path), old, new, out=out.append).ok
    assert seam.calls == []


def test_compare_update_writes_new_over_old(seam: Recorder, tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(lines(("fail", "TestA")))
    new.write_text(lines(("pass", "TestA"), ("pass", "TestA")))
    complement.compare_files(load_settings(tmp_path), old, new, update=True, out=discard)
    assert old.read_text() == '{"Action":"pass","Test":"TestA"}\n'
    assert seam.calls == []


def test_compare_malformed_is_usage_error(seam: Recorder, tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(BASELINE)
    new.write_text("not json\n")
    with pytest.raises(UsageError, match=rf"{new}:1: invalid JSON") as caught:
        complement.compare_files(load_settings(tmp_path), old, new, out=discard)
    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("spec", ["one.jsonl", "a,b,c", ",b", "a,"])
def test_compare_needs_two_files(spec: str) -> None:
    with pytest.raises(UsageError, match="--compare OLD NEW"):
        complement.split_compare(spec)


def test_the_tree_names_both_images_and_given_ones_need_no_tree(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    vector = settings.vectors()[0]
    plan = complement.make_plan(settings, [vector], Options(no_build=True, run_id="r1"))
    assert (plan.tester_image, plan.testee_image) == (TESTER, f"complement-testee--{DEFAULT_NAME}:latest")
    # Another bake file with no complement families: both images given, nothing is read from it.
    other = tmp_path / "other.hcl"
    other.write_text('target "x" {}\n')
    settings = load_settings(tmp_path, BAKERY_BAKE_FILE=str(other))
    given = Options(no_build=True, run_id="r1", tester_image="t:1", testee_image="s:1")
    plan = complement.make_plan(settings, [vector], given)
    assert (plan.tester_image, plan.testee_image) == ("t:1", "s:1")
    with pytest.raises(UsageError, match="no complement-tester family; give the image: --tester-image"):
        complement.make_plan(settings, [vector], Options(no_build=True, run_id="r1", testee_image="s:1"))
