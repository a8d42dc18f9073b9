"""The shipped workflows, run under act on this host (docs/ci.md).

ci.yml runs for real: every job on the host (`-P label=-self-hosted`), the
pinned actions replaced by the stand-ins in ci/actions, against the lab's
registries: `shared` (the trusted registry cache), `scopes` (untrusted runs'
cache) and `publish`, which requires a password (htpasswd). The jobs bake on
the machine's engine with the docker driver, so one warm engine serves every
run; nothing here prunes it.

The commit under test is a snapshot of this checkout (tracked and untracked,
not ignored, files) committed into a scratch repository, so the test runs
what is on disk. The expected jobs come from docker/matrix.toml, read here,
never from the `invoke matrix` call the workflow makes.

The package jobs bake the workflow's default, `pkg`: the deb and the rpm,
each built, exported and installed (docs/packages.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.cli import act
from bakery.engine import docker
from lab import runners as lab
from tests.conftest import VENV_BIN, invoke
from tests.support import act_log

pytestmark = pytest.mark.usefixtures("engine")

REPOSITORY = "example/mxd"
ACTOR = "octo"
TOKEN = "lab-token-for-publish"
# The shared cache's pull-only account (lab/front.py), what untrusted jobs log in with.
READER = "cache-reader"
READ_TOKEN = "lab-token-pull-only"
STANDIN = "bakery-standin:test"
LINT_TARGETS = "check,clippy,fmt"
CI = Path("ci/workflows/ci.yml")
MAINTENANCE = Path("ci/workflows/maintenance.yml")
FAMILIES = ("lint", "test", "package", "compliance", "publish")


def expected_vectors() -> list[dict[str, str]]:
    """The default matrix of docker/matrix.toml, read here: its axes' defaults
    crossed with the values the `default` matrix lists (feat_set only)."""
    with (ROOT / "docker" / "matrix.toml").open("rb") as handle:
        toml = tomllib.load(handle)
    defaults = {name: axis["default"] for name, axis in toml["axes"].items()}
    varying = toml["matrices"]["default"]
    assert list(varying) == ["feat_set"], "this test expands one axis; extend it with the matrix"
    return [{**defaults, "feat_set": feat} for feat in varying["feat_set"]]


def job_name(family: str, vector: Mapping[str, str]) -> str:
    # ci.yml's `name:` template for every vector job.
    return f"{family} {vector['cargo_profile']} {vector['rust_toolchain']} {vector['feat_set']} {vector['sys_target']}"


def expected_jobs(families: tuple[str, ...] = FAMILIES) -> set[str]:
    return {"init"} | {job_name(f, v) for f in families for v in expected_vectors()}


def publish_tag(ref_name: str, vector: Mapping[str, str]) -> str:
    return f"{ref_name}-{vector['cargo_profile']}-{vector['feat_set']}-{vector['sys_target']}"


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def snapshot(dest: Path) -> Path:
    """This checkout's files (tracked and untracked, not ignored) as one commit
    on `main` of a new repository whose origin names REPOSITORY."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file() or source.is_symlink():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / name)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    commit(dest, "snapshot of the checkout under test")
    return dest


def commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=bakery", "-c", "user.email=bakery@example.invalid", "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


class Runs:
    """One lab, one source, and act runs of it, each in its own directory."""

    def __init__(self, running: lab.Lab, source: Path, base: Path) -> None:
        self.lab = running
        self.source = source
        self.base = base
        self.docker_config = base / "docker-config"
        self.docker_config.mkdir()
        self.seconds: dict[str, float] = {}

    def variables(self, **extra: str) -> dict[str, str]:
        assert self.lab.publish is not None and self.lab.front is not None
        return {
            "BAKERY_MATRIX": "default",
            "BAKERY_PYTHON_VERSION": "3.11",
            # The engine's own builder: every run shares one warm cache.
            "BAKERY_DRIVER": "docker",
            "BAKERY_LINT_TARGETS": LINT_TARGETS,
            "BAKERY_COMPLEMENT_TESTER": STANDIN,
            "BAKERY_PUBLISH_TOOLCHAIN": "distro",
            "BAKERY_LOGIN_REGISTRY": self.lab.publish.host,
            "REGISTRY_GITHUB": f"{self.lab.publish.host}/{REPOSITORY}",
            "BAKERY_CACHE_DIR": f"{self.lab.shared.host}/bakery/cache",
            "BAKERY_CACHE_SCOPES_REF": f"{self.lab.scopes.host}/bakery/scopes",
            # Untrusted jobs read the shared cache through the pull-only front.
            "BAKERY_CACHE_DIR_READ_ONLY": f"{self.lab.front.host}/bakery/cache",
            "BAKERY_CACHE_READ_REGISTRY": self.lab.front.host,
            "BAKERY_CACHE_READ_USER": READER,
            **extra,
        }

    def run(
        self,
        label: str,
        event: str,
        *,
        workflow: Path = CI,
        branch: str = "main",
        fork: bool = False,
        secrets: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        actor: str = ACTOR,
    ) -> tuple[act.Run, dict[str, act_log.Job]]:
        sha = _git(self.source, "rev-parse", "HEAD")
        run = act.Run(
            workflow=self.source / workflow,
            event=event,
            source=self.source,
            out=self.base / label,
            payload=act.event_payload(event, repository=REPOSITORY, branch=branch, fork=fork, number=7, sha=sha),
            variables=dict(variables if variables is not None else self.variables()),
            secrets=dict(secrets or {}),
            env={"DOCKER_CONFIG": str(self.docker_config), **(env or {})},
            actor=actor,
        )
        started = time.monotonic()
        act.execute(run)
        self.seconds[label] = round(time.monotonic() - started, 1)
        return run, act_log.jobs(run.log.read_text())


@pytest.fixture(scope="module")
def standin() -> str:
    """The stand-in Complement tester (tests/standin), built on the engine (cached after the first time)."""
    docker.run(["build", "-q", "-t", STANDIN, str(ROOT / "tests" / "standin")])
    return STANDIN


@pytest.fixture(scope="module")
def runs(standin: str) -> Iterator[Runs]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    assert (VENV_BIN / "act").is_file(), "act is a dev dependency: pip install -e '.[dev]'"
    # Kept after the session (runs/ is ignored): the act logs and artifacts of each run.
    base = ROOT / "runs" / "act-tests" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base.mkdir(parents=True)
    (base / "source").mkdir()
    source = snapshot(base / "source")
    with lab.running(publish=(ACTOR, TOKEN), pull_only=(READER, READ_TOKEN)) as running:
        each = Runs(running, source, base)
        yield each
        print(f"\nact run times (s): {json.dumps(each.seconds)}")


def _results(jobs: Mapping[str, act_log.Job]) -> dict[str, str]:
    return {name: job.result for name, job in jobs.items()}


def _failures(run: act.Run) -> str:
    """The last lines of every job that did not succeed, for the assertion message."""
    text = run.log.read_text()
    failed = [name for name, job in act_log.jobs(text).items() if job.result == "failure"]
    return "\n".join(f"--- {name}:\n" + "\n".join(act_log.job_log(text, name)[-30:]) for name in failed)


def test_push_to_the_default_branch_bakes_exports_and_publishes(runs: Runs) -> None:
    assert runs.lab.publish is not None
    before = runs.lab.publish.state()
    run, jobs = runs.run("push-main", "push", secrets={"GITHUB_TOKEN": TOKEN})
    assert _results(jobs) == dict.fromkeys(expected_jobs(), "success"), _failures(run)
    # Trusted jobs export to the shared registry cache.
    assert runs.lab.shared.state().get("bakery/cache"), "no cache exported to the shared registry"
    # publish logged in and pushed one tag per vector.
    after = runs.lab.publish.state()
    tags = {publish_tag("main", v) for v in expected_vectors()}
    assert before.get(REPOSITORY, {}) == {}
    assert set(after[REPOSITORY]) == tags
    _summaries_match_the_run_records(run)
    # A pull of each pushed tag runs its version smoke.
    env = {**os.environ, "DOCKER_CONFIG": str(runs.docker_config)}
    host = runs.lab.publish.host
    login = ["docker", "login", "--username", ACTOR, "--password-stdin", host]
    subprocess.run(login, input=TOKEN, text=True, env=env, capture_output=True, check=True)
    for vector in expected_vectors():
        ref = f"{host}/{REPOSITORY}:{publish_tag('main', vector)}"
        try:
            subprocess.run(["docker", "pull", "-q", ref], env=env, capture_output=True, check=True)
            version = subprocess.run(
                ["docker", "run", "--rm", ref, "-V"], env=env, capture_output=True, text=True, check=True
            ).stdout
        finally:
            subprocess.run(["docker", "image", "rm", ref], env=env, capture_output=True, check=False)
        assert version.startswith("mxd 0.1.0"), version


_SUMMARY_LINE = re.compile(r"^\s*(\d+) cached\s+(\d+) ran  (\S+)$", re.M)
_TOTAL_LINE = re.compile(r"^\s*(\d+) cached\s+(\d+) ran  total \((\d+) failed\)$", re.M)
_TABLE_ROW = re.compile(r"^\| (\S+) \| (\d+) \| (\d+) \| (\d+) \|$", re.M)


def _summaries_match_the_run_records(run: act.Run) -> None:
    """Each bake job's summary table against its run record (summary.txt,
    one line per target instance), read from the uploaded artifact; and the
    record holds the tree picture the summary names and links."""
    text = run.log.read_text()
    for family in ("lint", "test", "package"):
        for vector in expected_vectors():
            summary = act_log.summaries(text, job_name(family, vector))
            values = "-".join(vector[a] for a in ("cargo_profile", "rust_toolchain", "feat_set", "sys_name"))
            artifact = run.artifacts / f"{family}-{values}-{vector['sys_version']}-{vector['sys_target']}"
            (record,) = [p for p in artifact.iterdir() if (p / "summary.txt").is_file()]
            record_text = (record / "summary.txt").read_text()
            expected: dict[str, tuple[int, int]] = {}
            for cached, ran, target in _SUMMARY_LINE.findall(record_text):
                if target != "total":
                    c, r = expected.get(target.split("--")[0], (0, 0))
                    expected[target.split("--")[0]] = (c + int(cached), r + int(ran))
            table = {row[0]: tuple(map(int, row[1:])) for row in _TABLE_ROW.findall(summary)}
            total = table.pop("**total**")
            # Cached and ran per family; failed only as a total, the record's
            # one line for it (a step that another bake cancelled counts too).
            assert {family: row[:2] for family, row in table.items()} == expected, (family, vector, summary)
            match = _TOTAL_LINE.search(record_text)
            assert match, record_text
            assert total == tuple(map(int, match.groups())), (total, record_text)
            assert (record / "tree.svg").is_file()
            assert f"`{record.name}/tree.svg`" in summary
            assert f"[download](file://{artifact})" in summary


def test_a_wrong_secret_fails_the_publish_job(runs: Runs) -> None:
    assert runs.lab.publish is not None
    before = runs.lab.publish.state()
    # No cache export this time: the push test showed it, and it is most of a cached run's time.
    variables = runs.variables(BAKERY_CACHE_DIR="")
    run, jobs = runs.run("push-wrong-secret", "push", secrets={"GITHUB_TOKEN": "not-the-token"}, variables=variables)
    results = _results(jobs)
    publish = {job_name("publish", v) for v in expected_vectors()}
    assert {name: results.get(name) for name in publish} == dict.fromkeys(publish, "failure"), _failures(run)
    assert {k: v for k, v in results.items() if k not in publish} == dict.fromkeys(expected_jobs() - publish, "success")
    assert runs.lab.publish.state() == before


def _untrusted(runs: Runs, label: str, event: str, branch: str, fork: bool) -> None:
    shared = runs.lab.shared.state()
    assert shared.get("bakery/cache"), "the shared registry is empty: the push test must run first"
    scopes_before = runs.lab.scopes.state()
    assert runs.lab.publish is not None and runs.lab.front is not None
    published = runs.lab.publish.state()
    # A fork gets no secrets: its login fails (the step may) and it reads anonymously, which the front refuses.
    secrets = {} if fork else {"BAKERY_CACHE_READ_TOKEN": READ_TOKEN}
    forwarded = runs.lab.front.forwarded
    run, jobs = runs.run(label, event, branch=branch, fork=fork, actor="mallory", secrets=secrets)
    expected = expected_jobs(tuple(f for f in FAMILIES if f != "publish"))
    results = _results(jobs)
    assert {k: v for k, v in results.items() if not k.startswith("publish")} == dict.fromkeys(expected, "success"), (
        _failures(run)
    )
    # act reports a skipped job as skipped or not at all: publish never ran.
    assert all(results.get(job_name("publish", v)) in (None, "skipped") for v in expected_vectors()), results
    # The shared registry's tags and digests, and the published images, are unchanged.
    assert runs.lab.shared.state() == shared
    assert runs.lab.publish.state() == published
    # ci.yml gives an untrusted job the shared cache read-only: nothing was
    # written through the pull-only front, and it exported to its own scope only.
    assert runs.lab.front.refused == []
    assert (runs.lab.front.forwarded > forwarded) == (not fork)
    added = {repo for repo in runs.lab.scopes.state() if repo not in scopes_before}
    assert added and all(repo.startswith("bakery/scopes/bakery-mallory-") for repo in added), added


def test_pull_request_from_a_fork_reads_no_cache_and_gets_no_publish(runs: Runs) -> None:
    _untrusted(runs, "pull-request-fork", "pull_request", "feature", fork=True)


def test_push_to_another_branch_is_untrusted(runs: Runs) -> None:
    _untrusted(runs, "push-branch", "push", "feature", fork=False)


@pytest.fixture(scope="module")
def failing_vector(runs: Runs) -> dict[str, str]:
    """One push of a source with a compile error under feature set `all` only."""
    main_rs = runs.source / "example" / "crates" / "mxd" / "src" / "main.rs"
    original = main_rs.read_text()
    main_rs.write_text(original + '\n#[cfg(feature = "metrics")]\ncompile_error!("broken with metrics");\n')
    commit(runs.source, "a compile error with the metrics feature (feature set all)")
    try:
        variables = runs.variables(BAKERY_CACHE_DIR="")
        _, jobs = runs.run("failing-vector", "push", secrets={"GITHUB_TOKEN": TOKEN}, variables=variables)
    finally:
        main_rs.write_text(original)
        commit(runs.source, "the compile error reverted")
    return _results(jobs)


BROKEN = "all"


def test_a_compile_error_in_one_feature_set_fails_that_vector_only(failing_vector: dict[str, str]) -> None:
    results = failing_vector
    assert results[job_name("lint", {**expected_vectors()[0], "feat_set": BROKEN})] == "failure", results
    # The others finish, and publish does not run.
    for family in ("lint", "test", "package"):
        for vector in expected_vectors():
            if vector["feat_set"] != BROKEN:
                assert results[job_name(family, vector)] == "success", (family, vector, results)
    assert all(results.get(job_name("publish", v)) in (None, "skipped") for v in expected_vectors()), results


def test_the_broken_vector_fails_in_test_and_package_too(failing_vector: dict[str, str]) -> None:
    broken = {**expected_vectors()[0], "feat_set": BROKEN}
    assert {f: failing_vector[job_name(f, broken)] for f in ("test", "package")} == dict.fromkeys(
        ("test", "package"), "failure"
    )


def _bake_on_b(runs: Runs, targets: str, cache_dir: Path) -> str:
    """A trusted bake on runner B (the engine the maintenance run keeps)."""
    assert runs.lab.runner is not None
    env = {
        **runs.lab.runner.env,
        "BAKERY_DRIVER": "docker",
        "BAKERY_CACHE_DIR": str(cache_dir),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "BAKERY_DEFAULT_BRANCH": "main",
    }
    result = invoke("bake", "--targets", targets, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_schedule_keeps_runner_b_healthy(runs: Runs) -> None:
    """maintenance.yml on a schedule against runner B, after trusted bakes
    there: prune (partial: only what was not used for PRUNE_UNTIL), reap and
    cache upkeep exit 0, an old cache entry is gone, and then a bake on that
    engine succeeds."""
    runner = runs.lab.runner
    assert runner is not None
    cache_dir = runs.base / "b-cache"
    _bake_on_b(runs, "install", cache_dir)
    entries = sorted(p for p in cache_dir.iterdir() if p.is_symlink())
    assert entries, f"no cache entries in {cache_dir}"
    old = entries[0]
    version = os.readlink(old)
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago), follow_symlinks=False)
    # A partial prune: what `install` alone used is older than PRUNE_UNTIL,
    # what `source` has just used again is younger.
    time.sleep(20)
    _bake_on_b(runs, "source", cache_dir)
    variables = {
        "BAKERY_PYTHON_VERSION": "3.11",
        "BAKERY_DRIVER": "docker",
        "BAKERY_CACHE_DIR": str(cache_dir),
        "BAKERY_KEEP_STORAGE": "1MB",
        "BAKERY_PRUNE_UNTIL": "15s",
        "BAKERY_CACHE_MAX_AGE": "7d",
    }
    run, jobs = runs.run("schedule", "schedule", workflow=MAINTENANCE, variables=variables, env=runner.env)
    assert _results(jobs) == {"prune and reap": "success"}, _failures(run)
    text = "\n".join(act_log.job_log(run.log.read_text(), "prune and reap"))
    assert f"removed {old}" in text, text[-3000:]
    assert not (cache_dir / version).exists()
    # The job's own check bake succeeded after the prune and exported the
    # entry again, as a new version; the others stayed.
    assert os.readlink(old) != version
    assert all(p.is_symlink() for p in entries[1:])
    # Then a bake on that engine succeeds, from outside the workflow too.
    try:
        _bake_on_b(runs, "install", cache_dir)
    finally:
        # The logs stay in runs/act-tests; the cache (hundreds of MB) does not.
        shutil.rmtree(cache_dir, ignore_errors=True)
