"""Benchmark: a fresh runner with the shared cache, against cold (docs/fleet.md).

Run as root from the repository root: `.venv/bin/python -m bench.fresh_runner`
for a changed commit on a real dependency tree (below), or with `--same-commit`
for the example's same-commit figures. Every bake goes through bakery itself
(bakery.baking.bake.run, so every docker call goes through the seam).

A changed commit (the default): lookout (tests/fixtures/lookout, 47 Debian
crates, vendor/ assembled by tests/support/debian_vendor.py) as commit A, and
commit B with one line of its workspace crate changed. Runner T of the lab, an
engine for trusted runs only, bakes commit A as a trusted push and exports it:
to the shared registry, to one registry repository per round for the trusted
push of commit B (which exports, and must not change what the other cases
read), and to a directory. Then PAIRS rounds on runner B, pruned before every
bake (lab.make_fresh): a cold bake of commit B with no cache, then each case:

- push_b: a trusted push of commit B, importing commit A's export;
- pull_request_b: a pull request of commit B (fork, no secrets) reading the
  shared registry through the pull-only front with the read-only account;
- pull_request_a: a pull request of commit A, the same way;
- push_a_registry and push_a_directory: a trusted push of commit A, importing
  the registry and the directory export.

Each case's `fraction_of_cold` is its median wall over the median cold wall;
`cached_of_cold_steps` is its fewest CACHED steps over the cold run's steps.
The cold run bakes commit B; commit A differs from it by one line of the
workspace crate. Results: bench/results/<date>-changed-commit.json.

The same commit (`--same-commit`), on the example, for each of TARGETS:

1. cold: B holds only the root image, no cache configured;
2. export: B pruned again, a trusted run exporting to the shared registry;
3. then PAIRS alternated pairs: B pruned, a trusted run importing the shared
   cache (fresh), and B pruned, a cold run again.

Every run bakes the one way (docs/tree.md, "One way to bake"); only the
imports and exports differ.

Trusted throughout, so the cache scope (cargo mount ids) is the same in
every run. It writes bench/results/<date>-runners.json with key
`fresh_runner` (per target: `fraction_of_cold` = median fresh wall / median
cold wall) and a PNG chart beside it. Figures are wall seconds on this
machine while others may be building: read the ratio, not the absolute times.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bakery import ROOT
from bakery.baking import bake
from bakery.config import settings
from lab import runners as lab
from tests.support import events, lookout

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = ("install", "tests-smoke")
PAIRS = 3
SHARED_REPO = "bakery/cache"
TRUSTED = events.TRUSTED


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def timed_bake(target: str, env: Mapping[str, str]) -> dict[str, float | int]:
    """One `invoke bake TARGET` equivalent; wall seconds and step counts."""
    with environment(env):
        loaded = settings.load({})
        start = time.monotonic()
        runs = bake.run(loaded, [target], loaded.vectors(use_matrix=False), out=lambda line: None)
        wall = time.monotonic() - start
    # Steps shared by several invocations of one bake are counted once: they
    # have the same name there, not the same digest (bakery.baking.progress.Tally).
    # One invocation counts by digest, as its progress does.
    states: dict[str, str] = {}
    for run in runs:
        for step in run.steps():
            key = step.name if len(runs) > 1 else step.digest
            if states.get(key) != "ran":
                states[key] = step.state
    cached = sum(1 for s in states.values() if s == "cached")
    ran = sum(1 for s in states.values() if s == "ran")
    return {"wall_s": round(wall, 1), "cached": cached, "ran": ran}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def figures(colds: list[Mapping[str, float | int]], fresh_runs: list[Mapping[str, float | int]]) -> dict[str, float]:
    """The ratios the fleet page reports (docs/fleet.md): median walls, and the fresh runs'
    cached steps against the steps a cold run ran."""
    cold_wall = _median([float(c["wall_s"]) for c in colds])
    fresh_wall = _median([float(f["wall_s"]) for f in fresh_runs])
    cold_ran = _median([float(c["ran"]) for c in colds])
    return {
        "fraction_of_cold": round(fresh_wall / cold_wall, 3),
        "cached_of_cold_ran": round(min(float(f["cached"]) for f in fresh_runs) / cold_ran, 3) if cold_ran else 0.0,
        "most_ran_fresh": max(int(f["ran"]) for f in fresh_runs),
    }


def measure_target(running: lab.Lab, target: str) -> dict[str, object]:
    assert running.runner is not None
    b = running.runner.env
    shared = {"BAKERY_CACHE_DIR": f"{running.shared.host}/{SHARED_REPO}", **TRUSTED}
    lab.make_fresh(running.runner)
    colds = [timed_bake(target, {**b, **TRUSTED})]
    # The export run starts from a pruned B too: a cold one-solve bake that exports.
    lab.make_fresh(running.runner)
    export = timed_bake(target, {**b, **shared})
    registry_bytes = sum(f.stat().st_size for f in (running.shared.root / "storage").rglob("*") if f.is_file())
    fresh_runs = []
    for n in range(PAIRS):
        lab.make_fresh(running.runner)
        fresh_runs.append(timed_bake(target, {**b, **shared}))
        if n < PAIRS - 1 or len(colds) < PAIRS:
            lab.make_fresh(running.runner)
            colds.append(timed_bake(target, {**b, **TRUSTED}))
        print(target, "pair", n + 1, fresh_runs[-1], colds[-1], file=sys.stderr)
    return {
        "target": target,
        "cold": colds,
        "cold_exporting": {**export, "registry_bytes": registry_bytes},
        "fresh_with_shared_cache": fresh_runs,
        **figures(colds, fresh_runs),
    }


LOOKOUT = lookout.SETTINGS
# Pull requests of commit B number 100 + round, of commit A 200 + round: each is a new
# scope, whose own export it never reads back. One scope for both commits left 3 of 26 steps
# of commit A to run after commit B's entry was exported there under the same name.
READER = "puller"
CASES = ("push_b", "pull_request_b", "pull_request_a", "push_a_registry", "push_a_directory")


def measure_changed_commit(work: Path) -> dict[str, object]:
    password = secrets.token_hex(16)  # the lab's read-only account; never printed
    commit_a, commit_b = lookout.commits(work)
    directory = work / "shared-directory"
    with lab.running(trusted_runner=True, pull_only=(READER, password)) as running:
        assert running.runner is not None and running.runner_t is not None and running.front is not None
        b, t = running.runner.env, running.runner_t.env
        lab.login(running.runner, running.front.host, READER, password)
        shared = f"{running.shared.host}/{SHARED_REPO}"
        source = {**LOOKOUT, "source_location": str(commit_a)}
        exports = {"shared_registry": timed_bake("install", {**t, **TRUSTED, **source, "BAKERY_CACHE_DIR": shared})}
        for n in range(PAIRS):
            repo = f"{running.shared.host}/bench/push-{n}"
            exports[f"round_{n}"] = timed_bake("install", {**t, **TRUSTED, **source, "BAKERY_CACHE_DIR": repo})
        exports["directory"] = timed_bake("install", {**t, **TRUSTED, **source, "BAKERY_CACHE_DIR": str(directory)})
        reader = {
            "BAKERY_CACHE_DIR": f"{running.front.host}/{SHARED_REPO}",
            "BAKERY_CACHE_SCOPES_REF": f"{running.scopes.host}/bench/scopes",
        }
        colds: list[Mapping[str, float | int]] = []
        runs: dict[str, list[Mapping[str, float | int]]] = {case: [] for case in CASES}
        for n in range(PAIRS):
            envs = {
                "push_b": {**TRUSTED, "BAKERY_CACHE_DIR": f"{running.shared.host}/bench/push-{n}"},
                "pull_request_b": {**events.pull_request(100 + n, "fork/lookout"), **reader},
                "pull_request_a": {**events.pull_request(200 + n, "fork/lookout"), **reader},
                "push_a_registry": {**TRUSTED, "BAKERY_CACHE_DIR": shared},
                "push_a_directory": {**TRUSTED, "BAKERY_CACHE_DIR": str(directory)},
            }
            lab.make_fresh(running.runner)
            colds.append(timed_bake("install", {**b, **TRUSTED, **LOOKOUT, "source_location": str(commit_b)}))
            print("cold", n + 1, colds[-1], file=sys.stderr)
            for case in CASES:
                commit = commit_b if case.endswith("_b") else commit_a
                lab.make_fresh(running.runner)
                runs[case].append(timed_bake("install", {**b, **LOOKOUT, **envs[case], "source_location": str(commit)}))
                print(case, n + 1, runs[case][-1], file=sys.stderr)
    cold_wall = _median([float(c["wall_s"]) for c in colds])
    cold_steps = _median([float(c["cached"]) + float(c["ran"]) for c in colds])
    return {
        "project": "lookout (tests/fixtures/lookout), install, default vector",
        "runner": "lab runner B, pruned before every bake; commit A exported by lab runner T",
        "pairs": PAIRS,
        "exports": exports,
        "cold": colds,
        "cases": {
            case: {
                "runs": found,
                "fraction_of_cold": round(_median([float(f["wall_s"]) for f in found]) / cold_wall, 3),
                "cached_of_cold_steps": round(min(float(f["cached"]) for f in found) / cold_steps, 3),
                "most_ran": max(int(f["ran"]) for f in found),
            }
            for case, found in runs.items()
        },
    }


def measure() -> dict[str, object]:
    with lab.running() as running:
        per_target = {target: measure_target(running, target) for target in TARGETS}
    return {
        "vector": "default",
        "runner": "lab runner B (own dockerd 28.5 + containerd, containerd image store, docker driver)",
        "pairs": PAIRS,
        "targets": per_target,
    }


def chart(result: Mapping[str, object], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    targets: Mapping[str, Mapping] = result["targets"]  # type: ignore[assignment]
    fig, axes = plt.subplots(1, len(targets), figsize=(4 * len(targets), 3.2), squeeze=False)
    for ax, (target, data) in zip(axes[0], targets.items(), strict=True):
        walls = [
            _median([float(c["wall_s"]) for c in data["cold"]]),
            _median([float(f["wall_s"]) for f in data["fresh_with_shared_cache"]]),
        ]
        bars = ax.bar(["cold", "fresh + shared cache"], walls, color=["#888888", "#3b7dd8"])
        ax.set_ylim(0, max(walls) * 1.15)
        ax.bar_label(bars, [f"{w:.0f} s" for w in walls])
        ax.set_ylabel("median wall seconds")
        ax.set_title(f"{target}: {data['fraction_of_cold']:.2f} of cold")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main() -> int:
    if sys.argv[1:2] == ["--chart"]:  # redraw a results file: --chart PATH.json
        path = Path(sys.argv[2])
        return 0 if chart(json.loads(path.read_text())["fresh_runner"], path.with_suffix(".png")) else 1
    from bench import stats

    date = time.strftime("%Y-%m-%d")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:2] != ["--same-commit"]:
        with tempfile.TemporaryDirectory(prefix="bakery-bench-") as work:
            changed = measure_changed_commit(Path(work))
        out = RESULTS / f"{date}-changed-commit.json"
        result = stats.portable({"date": date, "changed_commit": changed}, str(ROOT))
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(changed["cases"], indent=2))
        print(f"wrote {out}")
        return 0
    result = measure()
    out = RESULTS / f"{date}-runners.json"
    out.write_text(json.dumps(stats.portable({"date": date, "fresh_runner": result}, str(ROOT)), indent=2) + "\n")
    drawn = chart(result, RESULTS / f"{date}-runners.png")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}" + (" and the chart" if drawn else " (no matplotlib: no chart)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
