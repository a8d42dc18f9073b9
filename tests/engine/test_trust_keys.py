"""One key per step across trust levels, in the lab (docs/decisions/one-key-per-step.md).

Runner T (the lab's second engine, trusted runs only) and runner B (a fresh
engine, pull requests), one registry cache: T bakes `install` of the default
vector as a trusted run and exports it; B bakes the same commit as a pull
request that reads the shared cache through the pull-only front
(lab/front.py) with a read-only account. Both engines have served one scope
each, so both pass cache_scope empty and the fetch and cargo steps' keys are
equal: B finds them in the shared cache.

Runner T stands in for runner A, the machine's dockerd: that engine serves
every scope the other engine tests bring (local bakes, act's pull requests),
so its keys depend on the tests that ran before; a fleet gives each trust
level its own engine, as T is.

The control, on one engine (B, after the pull request): a trusted run there
keeps the scoped value `trusted`, prints the one line, and runs the cargo
steps again instead of taking the pull request's.

A laptop, last: a developer's `invoke bake install` (no GitHub event at all,
scope `local`) on B pruned again, reading the trusted export with read access
only, from the registry through the pull-only front and from a read-only
directory. It claims B like any scope, so it gets shared keys and CACHED
steps, and exports to its own scope directory only (docs/cache.md, "A laptop
that reads CI's cache").
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.engine import claims
from lab import mounts
from lab import runners as lab
from tests.conftest import invoke
from tests.support import events, trees

pytestmark = pytest.mark.usefixtures("engine")

SHARED_REPO = "bakery/cache"
SCOPES_REPO = "bakery/scopes"
TRUSTED = events.TRUSTED
UNTRUSTED = events.pull_request(9, "fork/mxd")
PR_SCOPE = "bakery-mallory-fork-mxd-9-merge"
INSTALL = "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
ENTRY = f"mxd.{INSTALL}"
READER = "puller"
READ_PASSWORD = secrets.token_hex(16)  # this module's lab only; never printed
# What the pull request must take from the shared cache, against the cold run's steps.
CACHED_OF_COLD_RAN = 0.9
NOTE = "NOTE cache keys: scoped"
# The steps whose keys carried the scope: every RUN that mounts the cargo registry.
CARGO_MOUNT = "id=cargo-registry-"
COUNTS = ROOT / "runs" / "lab" / "trust-keys.json"
# What a laptop must take from CI's cache: steps CACHED, of all its steps.
LAPTOP_CACHED = 0.9
# A cargo step's registry mount with shared keys: cache_scope empty.
SHARED_KEY_MOUNT = "id=cargo-registry-,"
_TOTAL = re.compile(r"^\s*(\d+) cached\s+(\d+) ran\s+total", re.M)


def _record(name: str, **values: object) -> None:
    COUNTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(COUNTS.read_text()) if COUNTS.exists() else {}
    data[name] = values
    COUNTS.write_text(json.dumps(data, indent=2) + "\n")


class Baked:
    def __init__(self, stdout: str, wall: float) -> None:
        match = _TOTAL.search(stdout)
        assert match, f"no cached/ran summary in:\n{stdout[-2000:]}"
        self.cached, self.ran = int(match[1]), int(match[2])
        self.stdout = stdout
        self.wall = wall
        self.notes = [line for line in stdout.splitlines() if line.startswith(NOTE)]
        records = re.findall(r"record: (\S+)\)", stdout)
        assert records, stdout[-2000:]
        self.record = ROOT / records[-1]

    def cargo_steps(self) -> dict[str, bool]:
        """Each RUN that mounts the cargo registry (by name): whether it was CACHED."""
        merged: dict[str, dict[str, object]] = {}
        for progress in self.record.rglob("progress.jsonl"):
            for line in progress.read_text().splitlines():
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                for vertex in data.get("vertexes") or []:
                    merged.setdefault(vertex["digest"], {}).update(vertex)
        steps: dict[str, bool] = {}
        for vertex in merged.values():
            name = str(vertex.get("name", ""))
            if CARGO_MOUNT in name:
                steps[name] = steps.get(name, True) and bool(vertex.get("cached"))
        return steps


def _bake(env: dict[str, str]) -> Baked:
    start = time.monotonic()
    result = invoke("bake", "install", env=env, timeout=1800)
    wall = time.monotonic() - start
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Baked(result.stdout, wall)


def _claims(runner: lab.Runner) -> set[str]:
    listing = runner.docker(
        ["volume", "ls", "--filter", f"label={claims.LABEL}={claims.ENGINE}", "--format",
         f'{{{{.Label "{claims.SCOPE_LABEL}"}}}}'],
    )  # fmt: skip
    return set(listing.stdout.split())


@pytest.fixture(scope="module")
def the_lab() -> Iterator[lab.Lab]:
    with lab.running(pull_only=(READER, READ_PASSWORD), trusted_runner=True) as running:
        yield running


@pytest.fixture(scope="module")
def trusted_export(the_lab: lab.Lab) -> Baked:
    """The cold run: runner T, fresh, an empty shared registry; it exports."""
    assert the_lab.runner_t is not None
    assert the_lab.shared.state() == {}
    env = {**the_lab.runner_t.env, **TRUSTED, "BAKERY_CACHE_DIR": f"{the_lab.shared.host}/{SHARED_REPO}"}
    baked = _bake(env)
    _record("t_trusted_cold", cached=baked.cached, ran=baked.ran, wall=round(baked.wall, 1))
    return baked


@pytest.fixture(scope="module")
def pull_request(the_lab: lab.Lab, trusted_export: Baked) -> tuple[Baked, dict[str, dict[str, str]]]:
    """Runner B, fresh, bakes the same commit as a pull request that reads the
    shared cache through the pull-only front with the read-only account."""
    runner, front = the_lab.runner, the_lab.front
    assert runner is not None and front is not None
    assert runner.docker(["buildx", "du"]).stdout.splitlines()[-1].split() == ["Total:", "0B"]
    assert _claims(runner) == set()
    shared_before = the_lab.shared.state()
    assert list(shared_before[SHARED_REPO]) == [ENTRY]
    lab.login(runner, front.host, READER, READ_PASSWORD)
    env = {
        **runner.env,
        **UNTRUSTED,
        "BAKERY_CACHE_DIR": f"{front.host}/{SHARED_REPO}",
        "BAKERY_CACHE_SCOPES_REF": f"{the_lab.scopes.host}/{SCOPES_REPO}",
    }
    baked = _bake(env)
    _record(
        "b_pull_request",
        cached=baked.cached,
        ran=baked.ran,
        cold_ran=trusted_export.ran,
        wall=round(baked.wall, 1),
        fraction_of_cold=round(baked.wall / trusted_export.wall, 3),
        cargo_steps_cached=sum(baked.cargo_steps().values()),
        cargo_steps=len(baked.cargo_steps()),
        forwarded=front.forwarded,
    )
    return baked, shared_before


def test_trusted_runner_exports_with_shared_keys(the_lab: lab.Lab, trusted_export: Baked) -> None:
    assert the_lab.runner_t is not None
    assert trusted_export.notes == []
    assert the_lab.shared.tags(SHARED_REPO) == [ENTRY]
    assert _claims(the_lab.runner_t) == {"trusted"}
    # Cold: nothing to import, every step ran.
    assert trusted_export.ran > 0 and trusted_export.cached <= 2, (trusted_export.cached, trusted_export.ran)
    steps = trusted_export.cargo_steps()
    assert steps and not any(steps.values()), steps


def test_a_pull_request_on_a_fresh_runner_reuses_the_trusted_export_read_only(
    the_lab: lab.Lab, trusted_export: Baked, pull_request: tuple[Baked, dict[str, dict[str, str]]]
) -> None:
    baked, shared_before = pull_request
    assert the_lab.runner is not None and the_lab.front is not None
    assert baked.notes == []
    assert _claims(the_lab.runner) == {PR_SCOPE}
    assert baked.cached >= CACHED_OF_COLD_RAN * trusted_export.ran, (baked.cached, baked.ran, trusted_export.ran)
    # The fetch and cargo steps, scoped before, came from the trusted export.
    steps = baked.cargo_steps()
    assert steps and all(steps.values()), steps
    # Read only: the shared registry's tags and digests are unchanged, and
    # nothing tried to write through the front; the run exported to its scope.
    assert the_lab.shared.state() == shared_before
    assert the_lab.front.refused == []
    assert the_lab.front.forwarded > 0
    assert the_lab.scopes.tags(f"{SCOPES_REPO}/{PR_SCOPE}") == [ENTRY]


def test_a_push_with_the_read_only_account_is_refused(
    the_lab: lab.Lab, pull_request: tuple[Baked, dict[str, dict[str, str]]]
) -> None:
    _, shared_before = pull_request
    runner, front = the_lab.runner, the_lab.front
    assert runner is not None and front is not None
    ref = f"{front.host}/{SHARED_REPO}:pushed-by-the-reader"
    runner.docker(["image", "tag", "debian:testing-slim", ref])
    try:
        pushed = runner.docker(["image", "push", ref], check=False)
    finally:
        runner.docker(["image", "rm", ref])
    assert pushed.returncode != 0
    # The front's 403 DENIED, as the docker CLI shows it.
    assert "error from registry: this account may pull only" in pushed.stderr, pushed.stderr[-2000:]
    assert front.refused and all(method in ("POST", "PUT", "PATCH") for method, _ in front.refused), front.refused
    assert the_lab.shared.state() == shared_before
    _record("push_with_reader", exit_code=pushed.returncode, refused=len(front.refused))


def test_on_one_engine_a_trusted_run_after_a_pull_request_keeps_scoped_keys(
    the_lab: lab.Lab, pull_request: tuple[Baked, dict[str, dict[str, str]]]
) -> None:
    """The control: runner B has served the pull request with shared keys; a
    trusted run there (no shared cache: only the engine's own state counts)
    keeps `trusted`, says so in one line, and runs the cargo steps again."""
    runner = the_lab.runner
    assert runner is not None
    baked = _bake({**runner.env, **TRUSTED})
    steps = baked.cargo_steps()
    _record(
        "b_trusted_after_pull_request",
        cached=baked.cached,
        ran=baked.ran,
        cargo_steps_ran=sum(not cached for cached in steps.values()),
        cargo_steps=len(steps),
        notes=len(baked.notes),
    )
    assert len(baked.notes) == 1, baked.stdout[-3000:]
    assert PR_SCOPE in baked.notes[0] and "cache_scope=trusted" in baked.notes[0]
    assert steps and not any(steps.values()), steps
    assert all("id=cargo-registry-trusted" in name for name in steps), list(steps)
    # It claimed nothing: the pull request still owns B's shared keys.
    assert _claims(runner) == {PR_SCOPE}


# --- a laptop ---------------------------------------------------------------------------------


def _laptop(runner: lab.Runner, shared: str) -> Baked:
    """A developer's `invoke bake install` of the same commit on `runner`, pruned as a new
    laptop's engine, with `shared` as BAKERY_CACHE_DIR: no GitHub variable in its environment,
    no scopes directory or repository set (so the default, under XDG_CACHE_HOME)."""
    lab.make_fresh(runner)
    assert runner.docker(["buildx", "du"]).stdout.splitlines()[-1].split() == ["Total:", "0B"]
    env = {**runner.env, "BAKERY_CACHE_DIR": shared}
    assert [name for name in {**os.environ, **env} if name.startswith(("GITHUB_", "BAKERY_CACHE_SCOPES"))] == []
    return _bake(env)


def _check_laptop(name: str, baked: Baked, runner: lab.Runner, trusted_export: Baked) -> Path:
    """What every laptop run must show; returns its scope directory."""
    cargo = baked.cargo_steps()
    _record(
        name,
        cached=baked.cached,
        ran=baked.ran,
        cold_ran=trusted_export.ran,
        wall=round(baked.wall, 1),
        cold_wall=round(trusted_export.wall, 1),
        cargo_steps_cached=sum(cargo.values()),
        cargo_steps=len(cargo),
    )
    assert baked.cached >= LAPTOP_CACHED * (baked.cached + baked.ran), (baked.cached, baked.ran)
    assert baked.cached >= LAPTOP_CACHED * trusted_export.ran, (baked.cached, trusted_export.ran)
    # Shared keys: the fetch and cargo steps, which a scoped value would miss, came from CI.
    assert cargo and all(cargo.values()), cargo
    assert all(SHARED_KEY_MOUNT in step for step in cargo), list(cargo)
    assert baked.notes == []
    assert _claims(runner) == {"local"}
    # Its own scope, the default scopes directory (the tests' XDG_CACHE_HOME), holds its export.
    scope = Path(os.environ["XDG_CACHE_HOME"]) / "bakery" / "scopes" / "local"
    assert sorted(p.name for p in scope.iterdir() if p.is_symlink()) == [ENTRY]
    assert (scope / ENTRY / "index.json").is_file()
    return scope


def test_a_laptop_reads_the_shared_registry_through_the_pull_only_front(
    the_lab: lab.Lab, trusted_export: Baked
) -> None:
    """The developer logs in with the read-only account, as with a pull-scoped token."""
    runner, front = the_lab.runner, the_lab.front
    assert runner is not None and front is not None
    shared_before, scopes_before, refused_before = the_lab.shared.state(), the_lab.scopes.state(), list(front.refused)
    assert list(shared_before[SHARED_REPO]) == [ENTRY]
    lab.login(runner, front.host, READER, READ_PASSWORD)
    baked = _laptop(runner, f"{front.host}/{SHARED_REPO}")
    _check_laptop("laptop_registry", baked, runner, trusted_export)
    # It wrote nothing to either registry and tried nothing through the front.
    assert the_lab.shared.state() == shared_before
    assert the_lab.scopes.state() == scopes_before
    assert front.refused == refused_before


def test_a_laptop_reads_a_read_only_shared_directory(the_lab: lab.Lab, trusted_export: Baked, tmp_path: Path) -> None:
    """Runner T exports the same commit to a directory (every step CACHED there: only the
    export's cost); the laptop sees it through a read-only bind mount."""
    runner, runner_t = the_lab.runner, the_lab.runner_t
    assert runner is not None and runner_t is not None
    shared = tmp_path / "shared"
    exported = _bake({**runner_t.env, **TRUSTED, "BAKERY_CACHE_DIR": str(shared)})
    _record("laptop_directory_trusted_export", cached=exported.cached, ran=exported.ran, wall=round(exported.wall, 1))
    assert (shared / ENTRY / "index.json").is_file()
    before = trees.hashes(shared)
    with mounts.read_only(shared, tmp_path / "shared-ro") as view:
        baked = _laptop(runner, str(view))
    _check_laptop("laptop_directory", baked, runner, trusted_export)
    assert trees.hashes(shared) == before
