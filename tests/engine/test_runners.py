"""Many runners, one cache: a real registry and a second engine (docs/fleet.md).

The lab (lab/runners.py) gives two docker-registry 2.8 processes on 127.0.0.1
(`shared`, which trusted runs write, and `scopes`, for untrusted runs) and
runner B, a second dockerd with its own containerd, state and bridge, that
made its own root image. Runner A, which bakes the trusted runs, is runner T
of the lab, a third such engine that only trusted runs use (`_a`). The
machine's own dockerd publishes; nothing here prunes it or removes its images.

Every bake is `invoke bake install` on the default vector of the real tree,
with the registry as BAKERY_CACHE_DIR, as a CI runner would run it. The
cached/ran counts of each run are written to runs/lab/counts.json for the
report.

Every bake goes through one Dockerfile generated from the tree, one solve per
vector, and keys its cache entry by the job (targets and vector): see
docs/fleet.md, docs/decisions/fresh-runner-cache.md and bakery/baking/schedule.py.
Per-instance entries did not chain across bake `target:` links on buildx 0.29 /
BuildKit in dockerd 28.5 (each linked target is its own solve, and a solve's
import attaches too late for steps another solve reached first): b) failed that
way and is why bakery no longer bakes linked targets. b) takes the cold run's
ran steps as the denominator, so merging steps cannot raise the ratio.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tarfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.engine import docker
from bakery.errors import BakeryError
from lab import runners as lab
from tests.conftest import DEFAULT_NAME, DEFAULT_VECTOR, VENV_BIN, invoke
from tests.support import attestations, events, lookout, steps, trees

pytestmark = pytest.mark.usefixtures("engine")

SHARED_REPO = "bakery/cache"
SCOPES_REPO = "bakery/scopes"
TRUSTED = events.TRUSTED
UNTRUSTED = events.pull_request(7, "fork/mxd")
COUNTS = ROOT / "runs" / "lab" / "counts.json"
VERSION_RS = Path("crates/mxd/src/version.rs")
SCOPE_REPO = f"{SCOPES_REPO}/bakery-mallory-fork-mxd-7-merge"
INSTALL = "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
# A second vector of the default matrix and its entry for `invoke bake install`.
FEAT_ALL = {"feat_set": "all"}
INSTALL_ALL = INSTALL.replace("--default--", "--all--")
# Cache entries and engine tags carry the project's name (docs/packages.md).
ENTRY, ENTRY_ALL = f"mxd.{INSTALL}", f"mxd.{INSTALL_ALL}"
IMAGE = f"mxd/{INSTALL}:latest"
# What b) asks of a fresh runner with the shared cache: steps CACHED, against the steps a cold bake ran.
CACHED_OF_COLD_RAN = 0.9
# What an attacker appends to the installed binary in a scope entry (an ELF runs with trailing bytes).
POISON = b"\nbakery-poisoned-marker\n"
INSTALLED = "usr/bin/mxd"

# The shared registry's pull-only account, as ci.yml gives pull requests (docs/cache.md).
READER = "puller"
READ_PASSWORD = secrets.token_hex(16)  # this module's lab only; never printed
# lookout (tests/fixtures/lookout): a server on 47 Debian crates, built from settings alone.
LOOKOUT = lookout.SETTINGS
LOOKOUT_ENTRY = f"lookout.install--{DEFAULT_NAME}"
LOOKOUT_PR = events.pull_request(7, "fork/lookout")
LOOKOUT_PR_SCOPE = "bakery-mallory-fork-lookout-7-merge"
# Its own scopes repository: c) asserts that the example's pull request wrote the only scope there.
LOOKOUT_SCOPES_REPO = "lookout/scopes"

_TOTAL = re.compile(r"^\s*(\d+) cached\s+(\d+) ran\s+total", re.M)


def _counts(stdout: str) -> tuple[int, int]:
    match = _TOTAL.search(stdout)
    assert match, f"no cached/ran summary in:\n{stdout[-2000:]}"
    return int(match[1]), int(match[2])


def _record(name: str, cached: int, ran: int, **extra: object) -> None:
    COUNTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(COUNTS.read_text()) if COUNTS.exists() else {}
    data[name] = {"cached": cached, "ran": ran, **extra}
    COUNTS.write_text(json.dumps(data, indent=2) + "\n")


class BakeFailed(Exception):
    """A lab bake that exited non-zero. Not an AssertionError, so that the
    strict xfail of b), which expects only its cached fraction to fall
    short, still fails when the bake itself breaks."""


@dataclass(frozen=True)
class Baked:
    cached: int
    ran: int
    wall: float
    stdout: str


def _bake(env: dict[str, str], *extra_env: dict[str, str], target: str = "install") -> tuple[int, int, str]:
    baked = _timed(target, env, *extra_env)
    return baked.cached, baked.ran, baked.stdout


def _timed(target: str, env: dict[str, str], *extra_env: dict[str, str]) -> Baked:
    merged = dict(env)
    for more in extra_env:
        merged.update(more)
    start = time.monotonic()
    result = invoke("bake", target, env=merged, timeout=1200)
    wall = time.monotonic() - start
    if result.returncode != 0:
        raise BakeFailed(result.stdout[-3000:] + result.stderr[-3000:])
    cached, ran = _counts(result.stdout)
    return Baked(cached, ran, wall, result.stdout)


def _fresh(runner: lab.Runner) -> None:
    """Runner B as a new machine: only the root image, empty build cache, no claims."""
    lab.make_fresh(runner)
    assert "Total:\t\t0B" in runner.docker(["buildx", "du"]).stdout


@pytest.fixture(scope="module")
def the_lab() -> Iterator[lab.Lab]:
    with lab.running(trusted_runner=True, pull_only=(READER, READ_PASSWORD)) as running:
        yield running


def _a(the_lab: lab.Lab) -> dict[str, str]:
    """Runner A: the lab's engine for trusted runs only (runner T), as a fleet
    with one engine per trust level has. Not the machine's own dockerd, whose
    cache keys depend on which scopes other tests baked there first
    (docs/decisions/one-key-per-step.md)."""
    assert the_lab.runner_t is not None
    return the_lab.runner_t.env


@pytest.fixture(scope="module")
def cold(the_lab: lab.Lab) -> Callable[..., Baked]:
    """A cold bake on a pruned B, no cache configured (the tree's linked
    targets, as bakery bakes without a shared cache), once per job."""
    done: dict[str, Baked] = {}

    def measure(target: str, vector: dict[str, str] | None = None) -> Baked:
        key = json.dumps([target, vector or {}])
        if key not in done:
            assert the_lab.runner is not None
            _fresh(the_lab.runner)
            done[key] = _timed(target, the_lab.runner.env, TRUSTED, vector or {})
            _record(
                f"cold {target} {vector or 'default'}", done[key].cached, done[key].ran, wall=round(done[key].wall, 1)
            )
        return done[key]

    return measure


def _check_fresh(name: str, fresh: Baked, cold: Baked) -> None:
    """b)'s figures: the fresh run CACHED at least 90 % of the steps the cold
    run ran (asserted). Its fraction of the cold run's time is recorded, not
    asserted: one wall time on a shared machine proves nothing, and
    bench/fresh_runner.py measures it side by side."""
    fraction = fresh.wall / cold.wall
    _record(
        name, fresh.cached, fresh.ran, cold_ran=cold.ran, wall=round(fresh.wall, 1), fraction_of_cold=round(fraction, 3)
    )
    assert fresh.cached >= CACHED_OF_COLD_RAN * cold.ran, (fresh, cold.ran)


@pytest.fixture
def b_env(the_lab: lab.Lab) -> dict[str, str]:
    assert the_lab.runner is not None
    return {**the_lab.runner.env, "BAKERY_CACHE_DIR": f"{the_lab.shared.host}/{SHARED_REPO}"}


def test_lab_teardown_leaves_nothing_behind() -> None:
    before = lab.snapshot()
    with lab.running() as running:
        assert running.runner is not None
        images = running.runner.docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
        # The root under both its names: the build platform's and the target platform's.
        assert sorted(images) == ["amd64/debian:testing-slim", "debian:testing-slim"]
        assert "Total:\t\t0B" in running.runner.docker(["buildx", "du"]).stdout
        assert running.shared.alive() and running.scopes.alive() and running.shared.port != running.scopes.port
        during = lab.snapshot()
        assert lab.leftovers(before, during)  # the lab is visible while it runs
    assert lab.leftovers(before, lab.snapshot()) == {}


def test_invoke_lab_runs_until_ctrl_c_and_removes_everything() -> None:
    """`invoke lab` as a user starts it for local experiments: it prints the
    settings to paste, serves until Ctrl-C (exit 130), and leaves nothing."""
    before = lab.snapshot()
    proc = subprocess.Popen(
        [str(VENV_BIN / "invoke"), "lab", "--no-runner"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("# lab in ")
        shared = re.fullmatch(r"export BAKERY_CACHE_DIR=(127\.0\.0\.1:\d+)/bakery/cache\n", lines[1])
        assert shared, lines
        assert re.fullmatch(r"export BAKERY_CACHE_SCOPES_REF=127\.0\.0\.1:\d+/bakery/scopes\n", lines[2]), lines
        with urllib.request.urlopen(f"http://{shared[1]}/v2/", timeout=10) as answer:  # the registry serves
            assert answer.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "bakery: interrupted by SIGINT; cleaned up"
    assert lab.leftovers(before, lab.snapshot()) == {}


def test_a_trusted_run_on_runner_a_fills_the_shared_ref(the_lab: lab.Lab) -> None:
    env = {**_a(the_lab), "BAKERY_CACHE_DIR": f"{the_lab.shared.host}/{SHARED_REPO}", **TRUSTED}
    cached, ran, _ = _bake(env)
    tags = the_lab.shared.tags(SHARED_REPO)
    # One entry for the job (install, default vector): one solve exported it.
    assert tags == [ENTRY]
    # A fully cached trusted run: what re-exporting costs when nothing changed.
    again_cached, again_ran, out = _bake(env)
    record = Path(re.findall(r"record: (\S+)\)", out)[-1])
    export_s = _export_seconds(ROOT / record / "progress.jsonl")
    size = sum(f.stat().st_size for f in (the_lab.shared.root / "storage").rglob("*") if f.is_file())
    _record("a", cached, ran, tags=len(tags))
    _record("a_again", again_cached, again_ran, export_seconds=round(export_s, 1), registry_bytes=size)
    assert again_ran == 0


def _export_seconds(progress: Path) -> float:
    """Wall time from the first cache export start to the last one's end."""
    from datetime import datetime

    spans = [v for v in _vertices(progress) if "exporting cache" in str(v.get("name", ""))]

    def when(stamp: str) -> float:
        return datetime.fromisoformat(stamp[:26].rstrip("Z")).timestamp()

    done = [s for s in spans if "started" in s and "completed" in s]
    assert done, "no cache export in the progress"
    return max(when(str(s["completed"])) for s in done) - min(when(str(s["started"])) for s in done)


def test_b_fresh_runner_b_with_the_shared_cache(
    the_lab: lab.Lab, b_env: dict[str, str], cold: Callable[..., Baked]
) -> None:
    """The registry entry test a) exported from runner A, on a pruned B."""
    assert the_lab.runner is not None
    before = cold("install")
    _fresh(the_lab.runner)
    _check_fresh("b", _timed("install", b_env, TRUSTED), before)


def test_b_directory_backend(the_lab: lab.Lab, cold: Callable[..., Baked], tmp_path: Path) -> None:
    """The same with a directory. Every step is CACHED, and the entry exists:
    the trusted run does not export it again (a fresh builder reads every blob
    it exports, about 30 s for 391 MB here, which was the floor of this run),
    so its progress holds no cache export and the entry still points at
    runner A's version (docs/fleet.md, "One solve per bake")."""
    assert the_lab.runner is not None
    shared = {"BAKERY_CACHE_DIR": str(tmp_path / "shared")}
    _bake(_a(the_lab), shared, TRUSTED)
    entry = tmp_path / "shared" / ENTRY
    assert (entry / "index.json").is_file()
    version = entry.resolve()
    before = cold("install")
    _fresh(the_lab.runner)
    fresh = _timed("install", the_lab.runner.env, shared, TRUSTED)
    record = Path(re.findall(r"record: (\S+)\)", fresh.stdout)[-1])
    exports = [v for v in _vertices(ROOT / record / "progress.jsonl") if "exporting cache" in str(v.get("name", ""))]
    assert exports == []
    assert entry.resolve() == version
    assert sorted(p.name for p in (tmp_path / "shared" / ".versions" / ENTRY).iterdir()) == [version.name]
    _check_fresh("b_dir", fresh, before)


def test_b_second_vector_after_a_trusted_run_of_both(
    the_lab: lab.Lab, b_env: dict[str, str], cold: Callable[..., Baked]
) -> None:
    """A trusted run over two vectors exports one entry per vector; a CI
    job of the second vector alone finds its own."""
    assert the_lab.runner is not None
    both = {"feat_sets": json.dumps([DEFAULT_VECTOR["feat_set"], FEAT_ALL["feat_set"]])}
    _bake(_a(the_lab), {"BAKERY_CACHE_DIR": b_env["BAKERY_CACHE_DIR"]}, TRUSTED, both)
    assert {ENTRY, ENTRY_ALL} <= set(the_lab.shared.tags(SHARED_REPO))
    before = cold("install", FEAT_ALL)
    _fresh(the_lab.runner)
    _check_fresh("b_feat_all", _timed("install", b_env, TRUSTED, FEAT_ALL), before)


def test_b_default_group(the_lab: lab.Lab, b_env: dict[str, str], cold: Callable[..., Baked]) -> None:
    """Several leaves sharing ancestors: the shape that missed most with
    linked targets (docs/decisions/fresh-runner-cache.md)."""
    assert the_lab.runner is not None
    _bake(_a(the_lab), {"BAKERY_CACHE_DIR": b_env["BAKERY_CACHE_DIR"]}, TRUSTED, target="default")
    before = cold("default")
    _fresh(the_lab.runner)
    _check_fresh("b_default", _timed("default", b_env, TRUSTED), before)


# --- a changed commit on a fresh runner, on a real dependency tree ----------------------
#
# Commit A is lookout as assembled; commit B changes one line of its workspace crate. Runner
# A (T) bakes A as a trusted push and exports it to the shared registry; each case then starts
# from a pruned runner B. The pull requests read the shared registry through the pull-only
# front with the read-only account, and export only to their scope. Times are recorded for
# the report (runs/lab/counts.json); bench/fresh_runner.py measures them against cold runs.


@pytest.fixture(scope="module")
def lookout_commits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return lookout.commits(tmp_path_factory.mktemp("commit-b"))


@pytest.fixture(scope="module")
def lookout_push_a(the_lab: lab.Lab, lookout_commits: tuple[Path, Path]) -> Baked:
    """Runner A's trusted push of commit A, exporting to the shared registry."""
    env = {**_a(the_lab), **TRUSTED, **LOOKOUT, "BAKERY_CACHE_DIR": f"{the_lab.shared.host}/{SHARED_REPO}"}
    baked = _timed("install", env, {"source_location": str(lookout_commits[0])})
    assert LOOKOUT_ENTRY in the_lab.shared.tags(SHARED_REPO)
    _record("lookout_push_a", baked.cached, baked.ran, wall=round(baked.wall, 1))
    return baked


def _pull_request_env(the_lab: lab.Lab) -> dict[str, str]:
    assert the_lab.runner is not None and the_lab.front is not None
    lab.login(the_lab.runner, the_lab.front.host, READER, READ_PASSWORD)
    return {
        **the_lab.runner.env,
        **LOOKOUT_PR,
        **LOOKOUT,
        "BAKERY_CACHE_DIR": f"{the_lab.front.host}/{SHARED_REPO}",
        "BAKERY_CACHE_SCOPES_REF": f"{the_lab.scopes.host}/{LOOKOUT_SCOPES_REPO}",
    }


def _only_the_workspace_compiled(baked: Baked) -> None:
    """Every dependency step CACHED, and the cargo step compiled lookout alone."""
    done = steps.of(baked.stdout)
    deps = [v for v in done if steps.family(v).startswith("deps")]
    assert deps, sorted({steps.family(v) for v in done})
    assert [v.name for v in deps if v.state != "cached"] == []
    assert list(steps.compiled(done).values()) == [["lookout"]], steps.compiled(done)


def test_p_pull_request_of_commit_a_reuses_the_trusted_push(
    the_lab: lab.Lab, lookout_commits: tuple[Path, Path], lookout_push_a: Baked
) -> None:
    assert the_lab.runner is not None and the_lab.front is not None
    shared_before = the_lab.shared.state()
    _fresh(the_lab.runner)
    baked = _timed("install", _pull_request_env(the_lab), {"source_location": str(lookout_commits[0])})
    total = lookout_push_a.cached + lookout_push_a.ran
    _record("lookout_pr_a", baked.cached, baked.ran, push_steps=total, wall=round(baked.wall, 1))
    assert baked.cached >= CACHED_OF_COLD_RAN * total, (baked.cached, baked.ran, total)
    assert steps.compiled(steps.of(baked.stdout)) == {}
    assert the_lab.shared.state() == shared_before
    assert the_lab.front.refused == []


def test_p_pull_request_of_commit_b_compiles_only_the_workspace_and_writes_nothing_shared(
    the_lab: lab.Lab, lookout_commits: tuple[Path, Path], lookout_push_a: Baked
) -> None:
    assert the_lab.runner is not None and the_lab.front is not None
    shared_before = the_lab.shared.state()
    _fresh(the_lab.runner)
    baked = _timed("install", _pull_request_env(the_lab), {"source_location": str(lookout_commits[1])})
    _record("lookout_pr_b", baked.cached, baked.ran, wall=round(baked.wall, 1))
    _only_the_workspace_compiled(baked)
    assert the_lab.shared.state() == shared_before
    assert the_lab.front.refused == []
    assert LOOKOUT_ENTRY in the_lab.scopes.tags(f"{LOOKOUT_SCOPES_REPO}/{LOOKOUT_PR_SCOPE}")
    image = f"lookout/install--{DEFAULT_NAME}:latest"
    version = the_lab.runner.docker(["run", "--rm", "--entrypoint", "lookoutd", image, "-V"])
    assert version.stdout.strip() == "lookoutd 0.1.0"


def test_p_trusted_push_of_commit_b_compiles_only_the_workspace(
    the_lab: lab.Lab, lookout_commits: tuple[Path, Path], lookout_push_a: Baked
) -> None:
    assert the_lab.runner is not None
    _fresh(the_lab.runner)
    env = {**the_lab.runner.env, **TRUSTED, **LOOKOUT, "BAKERY_CACHE_DIR": f"{the_lab.shared.host}/{SHARED_REPO}"}
    baked = _timed("install", env, {"source_location": str(lookout_commits[1])})
    _record("lookout_push_b", baked.cached, baked.ran, wall=round(baked.wall, 1))
    _only_the_workspace_compiled(baked)


@pytest.fixture(scope="module")
def edited_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with a one-line edit, as a pull request would bring it."""
    source = tmp_path_factory.mktemp("pr") / "example"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    edited = source / VERSION_RS
    edited.write_text(edited.read_text() + "// a one-line edit from a pull request\n")
    return source


def test_c_untrusted_run_on_b_writes_only_its_scope_ref(
    the_lab: lab.Lab, b_env: dict[str, str], edited_source: Path
) -> None:
    assert the_lab.runner is not None
    source = edited_source
    shared_before = the_lab.shared.state()
    assert shared_before, "the shared registry is empty: test a) must run first"
    env = {**b_env, **UNTRUSTED, "BAKERY_CACHE_SCOPES_REF": f"{the_lab.scopes.host}/{SCOPES_REPO}"}
    env["source_location"] = str(source)
    _fresh(the_lab.runner)
    cached, ran, _ = _bake(env)
    scope_repos = [r for r in the_lab.scopes.catalog() if r.startswith(SCOPES_REPO + "/")]
    assert scope_repos == [SCOPE_REPO]
    assert any(t.startswith("mxd.install--") for t in the_lab.scopes.tags(scope_repos[0]))
    # Read through the registry's HTTP API: every tag and manifest digest.
    assert the_lab.shared.state() == shared_before
    _record("c_first", cached, ran)
    # Second untrusted run on a pruned B: the edited source's COPY exists only
    # in the scope ref, so its CACHED step proves a hit from there.
    _fresh(the_lab.runner)
    again_cached, again_ran, out = _bake(env)
    _record("c_second", again_cached, again_ran)
    assert the_lab.shared.state() == shared_before
    assert again_cached > 0
    assert re.search(r"^CACHED\s.*source 1/2\] COPY --link --from=src", out, re.M) or _source_copy_cached(out), out[
        -3000:
    ]


def _source_copy_cached(out: str) -> bool:
    record = Path(re.findall(r"record: (\S+)\)", out)[-1])
    for line in (ROOT / record / "progress.jsonl").read_text().splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        for vertex in data.get("vertexes") or []:
            if "COPY --link --from=src" in vertex.get("name", "") and vertex.get("cached"):
                return True
    return False


def test_publish_pushes_to_the_lab_registry_and_runner_b_runs_it(the_lab: lab.Lab) -> None:
    """Deliver 3: github and dockerhub push for real when their repository
    settings point at a registry (the lab's speaks ghcr's and Docker Hub's
    protocol); runner B pulls the image and runs the version smoke in it."""
    assert the_lab.runner is not None
    github = f"{the_lab.shared.host}/example/mxd"
    dockerhub = f"{the_lab.shared.host}/library/mxd"
    env = {"registry_github": github, "registry_dockerhub": dockerhub, "publish_tag": "lab"}
    result = invoke("bake", "github,dockerhub", env=env, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert the_lab.shared.tags("example/mxd") == ["lab"]
    assert the_lab.shared.tags("library/mxd") == ["lab"]
    # One image in both repositories; each push carries its own attestations (they name their target).
    github_index = json.loads(the_lab.shared.manifest("example/mxd", "lab"))
    dockerhub_index = json.loads(the_lab.shared.manifest("library/mxd", "lab"))
    assert attestations.platforms(github_index) == attestations.platforms(dockerhub_index)
    assert list(attestations.platforms(github_index)) == ["linux/amd64"]
    the_lab.runner.docker(["image", "pull", f"{github}:lab"])
    ran = the_lab.runner.docker(["run", "--rm", f"{github}:lab", "-V"])
    assert "0.1.0" in ran.stdout, ran.stdout
    the_lab.runner.docker(["image", "rm", f"{github}:lab"])


MULTIARCH_REPO = "example/multiarch"
# The two platforms' tags and the index's, as docs/packages.md ("One tag for every platform") names them.
MULTIARCH_TAGS = ["release-default", "release-default-aarch64-v8-linux-gnu", "release-default-x86_64-v1-linux-gnu"]
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def test_publish_of_two_platforms_is_one_index_that_runner_b_runs_on_each(the_lab: lab.Lab) -> None:
    """One multi-arch image: the `multiarch` matrix (the default vector and its
    arm64 twin, cross-compiled) pushes `github` for linux/amd64 and
    linux/arm64, and bakery puts the two together under the tag without the
    sys_target. Runner B pulls that one tag for each platform and runs `-V`,
    arm64 under the kernel's emulation. Both chains are warm when the engine
    tier runs in order (the default vector's from the tree tests, the arm64
    one from test_cross.py); the root is made here if it is missing. Cost,
    2-core machine, 2026-12-06: 20 to 27 s with both chains warm, 150 s when the
    arm64 chain's compile and runtime steps were cold; then the same selection
    with a release's publish_tag."""
    assert the_lab.runner is not None
    roots = invoke("system-image", "--matrix", "multiarch")
    assert roots.returncode == 0, roots.stdout[-2000:] + roots.stderr[-2000:]
    repository = f"{the_lab.shared.host}/{MULTIARCH_REPO}"
    result = invoke("bake", "github", "--matrix", "multiarch", env={"registry_github": repository}, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ref = f"{repository}:release-default"
    pushed = [f"{repository}:{tag}" for tag in MULTIARCH_TAGS[2:0:-1]]
    assert result.stdout.splitlines()[-1] == f"INDEX {ref} [linux/amd64 linux/arm64] (from {', '.join(pushed)})"
    assert the_lab.shared.tags(MULTIARCH_REPO) == MULTIARCH_TAGS
    manifest = json.loads(the_lab.shared.manifest(MULTIARCH_REPO, "release-default"))
    assert manifest["mediaType"] in INDEX_TYPES, manifest
    by_platform = attestations.platforms(manifest)
    assert sorted(by_platform) == ["linux/amd64", "linux/arm64"], manifest
    # Each entry is the very manifest its platform's push wrote (the index copies nothing),
    # and each keeps the attestation manifest its push attached (docs/attestations.md).
    for platform, tag in (("linux/amd64", MULTIARCH_TAGS[2]), ("linux/arm64", MULTIARCH_TAGS[1])):
        pushed = json.loads(the_lab.shared.manifest(MULTIARCH_REPO, tag))
        assert attestations.platforms(pushed) == {platform: by_platform[platform]}
        assert (
            attestations.attested(manifest)[by_platform[platform]]
            == attestations.attested(pushed)[by_platform[platform]]
        )
    for platform in ("linux/amd64", "linux/arm64"):
        sbom = attestations.inspect(ref, "SBOM")[platform]["SPDX"]
        assert attestations.spdx_problems(sbom) == []
        assert {("mxd", "0.1.0"), ("mxd-core", "0.1.0")} <= attestations.crates(sbom)
        args = attestations.inspect(ref, "Provenance")[platform]["SLSA"]["invocation"]["parameters"]["args"]
        target = {"linux/amd64": "x86_64-unknown-linux-gnu", "linux/arm64": "aarch64-unknown-linux-gnu"}[platform]
        assert args["build-arg:rust_target"] == target
    try:
        for platform, machine in (("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")):
            the_lab.runner.docker(["image", "pull", "--platform", platform, ref])
            ran = the_lab.runner.docker(["run", "--rm", "--platform", platform, ref, "-V"])
            assert ran.stdout.startswith("mxd 0.1.0 "), (platform, ran.stdout)
            uname = ["run", "--rm", "--platform", platform, "--entrypoint", "uname", ref, "-m"]
            assert the_lab.runner.docker(uname).stdout.strip() == machine
    finally:
        the_lab.runner.docker(["image", "rm", "--force", ref], check=False)
    # A release names its index: a fixed publish_tag is the index's tag, each platform's
    # push the tag with its sys_target after it; the same two images, every step CACHED.
    env = {"registry_github": repository, "publish_tag": "v0.1.0"}
    release = invoke("bake", "github", "--matrix", "multiarch", env=env, timeout=1200)
    assert release.returncode == 0, release.stdout[-3000:] + release.stderr[-3000:]
    assert release.stdout.splitlines()[-1].startswith(f"INDEX {repository}:v0.1.0 [linux/amd64 linux/arm64] ")
    tags = the_lab.shared.tags(MULTIARCH_REPO)
    assert {"v0.1.0", "v0.1.0-x86_64-v1-linux-gnu", "v0.1.0-aarch64-v8-linux-gnu"} <= set(tags), tags
    named = json.loads(the_lab.shared.manifest(MULTIARCH_REPO, "v0.1.0"))
    assert attestations.platforms(named) == by_platform


def test_directory_backend_trust_rules_on_both_runners(the_lab: lab.Lab, edited_source: Path, tmp_path: Path) -> None:
    """a) and c) with today's backend, a directory: a trusted run on A fills
    it; an untrusted run on a fresh B with the edit imports it, writes only
    its scope directory, and leaves the shared directory byte-for-byte as it
    was."""
    assert the_lab.runner is not None
    shared, scopes = tmp_path / "shared", tmp_path / "scopes"
    cached, ran, _ = _bake(_a(the_lab), {"BAKERY_CACHE_DIR": str(shared)}, TRUSTED)
    _record("dir_a", cached, ran, entries=len([p for p in shared.iterdir() if p.is_symlink()]))
    assert (shared / ENTRY / "index.json").is_file()
    before = trees.hashes(shared)
    _fresh(the_lab.runner)
    env = {**the_lab.runner.env, **UNTRUSTED, "BAKERY_CACHE_DIR": str(shared), "BAKERY_CACHE_SCOPES_DIR": str(scopes)}
    env["source_location"] = str(edited_source)
    cached, ran, _ = _bake(env)
    _record("dir_c", cached, ran)
    assert (scopes / "bakery-mallory-fork-mxd-7-merge" / ENTRY / "index.json").is_file()
    assert trees.hashes(shared) == before


def _poison(registry: lab.Registry, repository: str, tag: str) -> tuple[str, str, str]:
    """Rewrite the layer of `tag` that holds the installed binary so that it
    carries the marker, as an attacker with write access to the scope
    repository could, and push the tampered blob. Returns (old digest, new
    digest, new uncompressed digest)."""
    manifest = json.loads(registry.manifest(repository, tag))
    for layer in manifest["layers"]:
        blob = registry.blob(repository, layer["digest"])
        # Most layers are gzip; the root's, loaded from mmdebstrap's OCI layout, is a plain tar.
        # The entry lists them in no fixed order, so each is read as what it is.
        packed = blob[:2] == b"\x1f\x8b"
        plain = _tampered(gzip.decompress(blob) if packed else blob)
        if plain is not None:
            new = registry.push_blob(repository, gzip.compress(plain, mtime=0) if packed else plain)
            return layer["digest"], new, "sha256:" + hashlib.sha256(plain).hexdigest()
    raise AssertionError(f"no layer of {repository}:{tag} holds {INSTALLED}")


def _swap(registry: lab.Registry, repository: str, tag: str, old: str, new: str, diff_id: str) -> bool:
    """Point every use of blob `old` in the entry `tag` at `new` and push the
    entry back under the same tag. False when the entry does not use `old`."""
    manifest = json.loads(registry.manifest(repository, tag))
    if not any(layer["digest"] == old for layer in manifest["layers"]):
        return False
    headers = registry.api(f"{repository}/blobs/{new}", method="HEAD")[1]
    size = int({k.lower(): v for k, v in headers.items()}["content-length"])
    for layer in manifest["layers"]:
        if layer["digest"] == old:
            layer.update(digest=new, size=size)
            layer.setdefault("annotations", {})["containerd.io/uncompressed"] = diff_id
    config = json.loads(registry.blob(repository, manifest["config"]["digest"]))
    for entry in config["layers"]:
        if entry["blob"] == old:
            entry["blob"] = new
    body = json.dumps(config).encode()
    manifest["config"].update(digest=registry.push_blob(repository, body), size=len(body))
    registry.push_manifest(repository, tag, json.dumps(manifest).encode(), manifest["mediaType"])
    return True


def _tampered(raw: bytes) -> bytes | None:
    """The layer tar with the marker appended to the installed binary, or None."""
    with tarfile.open(fileobj=io.BytesIO(raw)) as members:
        if not any(m.name.lstrip("./") == INSTALLED for m in members.getmembers()):
            return None
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tampered:
            for member in members.getmembers():
                extracted = members.extractfile(member) if member.isfile() else None
                data = extracted.read() if extracted else None
                if member.name.lstrip("./") == INSTALLED and data is not None:
                    data += POISON
                    member.size = len(data)
                tampered.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _version(runner: lab.Runner) -> str:
    return runner.docker(["run", "--rm", "--entrypoint", "/usr/bin/mxd", IMAGE, "-V"]).stdout.strip()


def _marked(runner: lab.Runner) -> bool:
    """Whether the installed binary ends with the attacker's marker."""
    tail = ["run", "--rm", "--entrypoint", "tail", IMAGE, "-c", str(len(POISON)), f"/{INSTALLED}"]
    return runner.docker(tail).stdout == POISON.decode()


def test_d_a_poisoned_scope_ref_reaches_untrusted_runs_only(
    the_lab: lab.Lab, b_env: dict[str, str], edited_source: Path
) -> None:
    assert the_lab.runner is not None
    assert the_lab.scopes.tags(SCOPE_REPO), "the scope ref is empty: test c) must run first"
    # Every entry of the scope that holds the installed binary (one: the job's).
    # The binary, not the source: a fully cached run never compiles, so a
    # poisoned source layer would not reach the image.
    old, new, diff_id = _poison(the_lab.scopes, SCOPE_REPO, ENTRY)
    swapped = [t for t in the_lab.scopes.tags(SCOPE_REPO) if _swap(the_lab.scopes, SCOPE_REPO, t, old, new, diff_id)]
    assert swapped == [ENTRY]
    env = {**b_env, **UNTRUSTED, "BAKERY_CACHE_SCOPES_REF": f"{the_lab.scopes.host}/{SCOPES_REPO}"}
    env["source_location"] = str(edited_source)
    # Positive control: an untrusted run imports its own (poisoned) scope.
    _fresh(the_lab.runner)
    cached, ran, _ = _bake(env)
    untrusted = _version(the_lab.runner)
    poisoned = _marked(the_lab.runner)
    _record("d_untrusted", cached, ran, version=untrusted, marked=poisoned)
    assert poisoned
    # A trusted run never imports a scope ref: same source, clean result.
    _fresh(the_lab.runner)
    cached, ran, _ = _bake({**b_env, **TRUSTED, "source_location": str(edited_source)})
    trusted = _version(the_lab.runner)
    clean = not _marked(the_lab.runner)
    _record("d_trusted", cached, ran, version=trusted, marked=not clean)
    assert clean and trusted == untrusted


def test_fault_corrupted_layer_in_the_shared_cache_is_never_used_silently(
    the_lab: lab.Lab, b_env: dict[str, str]
) -> None:
    """Deliver 4: after B is pruned, a layer blob that B must fetch (the
    root's RUN layer, CACHED on every fresh import) is corrupted in the
    shared registry's storage. The build fails or runs that step again; it
    never uses the blob silently."""
    assert the_lab.runner is not None
    digest = _layer_holding(the_lab.shared, SHARED_REPO, ENTRY, "etc/apt/apt.conf.d/90bakery-keep")
    hex_digest = digest.split(":")[1]
    data = the_lab.shared.root / "storage/docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"
    original = data.read_bytes()
    _fresh(the_lab.runner)
    try:
        data.write_bytes(bytes(len(original)))  # same size, wrong content
        result = invoke("bake", "install", "--progress", "rawjson", env={**b_env, **TRUSTED}, timeout=1200)
    finally:
        data.write_bytes(original)
    record = re.findall(r"record: (\S+)\)", result.stdout + result.stderr)
    root_run = (
        [
            v
            for v in _vertices(ROOT / record[-1] / "progress.jsonl")
            # The root's RUN: Dockerfile.system has one stage, so no stage name.
            if re.match(r"^\[[^ \]]+ 3/3\] RUN <<EOF", str(v.get("name", "")))
        ]
        if record
        else []
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("bakery: error:")]
    outcome = "failed" if result.returncode else ("reran" if root_run and not root_run[0].get("cached") else "cached")
    _record(
        "fault_corrupt_blob", 0, 0, exit_code=result.returncode, outcome=outcome, error=errors[-1] if errors else ""
    )
    assert outcome in ("failed", "reran"), result.stdout[-2000:] + result.stderr[-2000:]
    if outcome == "failed":
        assert len(errors) == 1


def _layer_holding(registry: lab.Registry, repository: str, tag: str, path: str) -> str:
    """The digest of the layer of an entry that writes `path`."""
    manifest = json.loads(registry.manifest(repository, tag))
    for layer in manifest["layers"]:
        # A cache export reuses the blob a layer already has: gzip, or an uncompressed tar
        # (the root's, loaded from an OCI layout), whichever the engine held; "r:*" reads both.
        blob = registry.blob(repository, layer["digest"])
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as members:
            if any(m.name.lstrip("./") == path for m in members.getmembers()):
                return str(layer["digest"])
    raise AssertionError(f"no layer of {repository}:{tag} holds {path}")


def _vertices(progress: Path) -> list[dict[str, object]]:
    merged: dict[str, dict[str, object]] = {}
    for line in progress.read_text().splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        for vertex in data.get("vertexes") or []:
            merged.setdefault(vertex["digest"], {}).update(vertex)
    return list(merged.values())


def _bake_until(env: dict[str, str], marker: str, act: Callable[[], None]) -> tuple[int, str, str]:
    """`invoke bake install --progress rawjson`, calling `act` once when a
    progress line contains `marker` (never after a sleep)."""
    proc = subprocess.Popen(
        [str(VENV_BIN / "invoke"), "bake", "install", "--progress", "rawjson"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acted = False
    err_lines = []
    assert proc.stderr is not None and proc.stdout is not None
    # stdout is small (the summary); read it on a thread so that neither pipe can fill and block.
    out_parts: list[str] = []
    reader = threading.Thread(target=lambda: out_parts.append(proc.stdout.read() if proc.stdout else ""))
    reader.start()
    try:
        for line in proc.stderr:
            err_lines.append(line)
            if not acted and marker in line:
                act()
                acted = True
        code = proc.wait(timeout=1200)
    finally:
        if proc.poll() is None:  # a failed act() or a hang: never leave a bake running
            proc.kill()
            proc.wait(timeout=60)
        reader.join(timeout=60)
    out = "".join(out_parts)
    assert acted, f"never saw {marker!r} in the progress"
    return code, out, "".join(err_lines)


def _complete(registry: lab.Registry, repository: str) -> list[str]:
    """Tags whose manifest or blobs are missing (a half-written ref)."""
    broken = []
    for tag in registry.tags(repository):
        try:
            manifest = json.loads(registry.manifest(repository, tag))
        except BakeryError:
            broken.append(tag)
            continue
        for blob in [manifest["config"], *manifest["layers"]]:
            if registry.api(f"{repository}/blobs/{blob['digest']}", method="HEAD")[0] != 200:
                broken.append(tag)
                break
    return broken


def test_fault_registry_stopped_during_cache_export(the_lab: lab.Lab) -> None:
    """Deliver 4: the shared registry dies when the rawjson progress shows the
    export has started; the run fails with one clear line, no tag is left
    half-written, and the next run recovers."""
    env = {**_a(the_lab), "BAKERY_CACHE_DIR": f"{the_lab.shared.host}/{SHARED_REPO}", **TRUSTED}
    code, out, err = _bake_until(env, "exporting cache to registry", lambda: the_lab.shared.stop(kill=True))
    the_lab.shared.start()
    errors = [line for line in err.splitlines() if line.startswith("bakery: error:")]
    _record("fault_registry", 0, 0, exit_code=code, error=errors[-1] if errors else "")
    assert code != 0
    assert len(errors) == 1 and "bake failed with exit code" in errors[0], err[-2000:]
    assert _complete(the_lab.shared, SHARED_REPO) == []
    cached, ran, _ = _bake(env)
    assert ran == 0 and _complete(the_lab.shared, SHARED_REPO) == []


def test_fault_runner_b_killed_mid_build(the_lab: lab.Lab, b_env: dict[str, str]) -> None:
    """Deliver 4: B's dockerd is killed while a step runs; the error is one
    clear line with bake's own exit code, and runner A is untouched. Last in
    the module: B stays down and the fixture's teardown removes it."""
    runner = the_lab.runner
    assert runner is not None and runner.dockerd is not None
    a_before = docker.run(["info", "--format", "{{.ID}}"]).stdout
    _fresh(runner)
    dockerd = runner.dockerd
    code, out, err = _bake_until({**b_env, **TRUSTED}, "apt-install ca-certificates", dockerd.kill)
    errors = [line for line in err.splitlines() if line.startswith("bakery: error:")]
    _record("fault_runner_b_killed", 0, 0, exit_code=code, error=errors[-1] if errors else "")
    assert code not in (0, 2)
    assert len(errors) == 1, err[-2000:]
    assert docker.run(["info", "--format", "{{.ID}}"]).stdout == a_before
