"""Benchmark: a fresh runner with the shared registry cache, against cold (docs/fleet.md).

Run as root from the repository root: `.venv/bin/python bench/fresh_runner.py`.
It starts the lab (lab/runners.py: registries and runner B) and, on runner B,
bakes `install` for the default vector through bakery itself (bakery.build.bake.run,
so every docker call goes through the seam):

1. cold: B holds only the root image, no cache configured (trusted, so the
   cache scope is the same as in the next runs);
2. export: a trusted run (everything already cached on B) exporting to the
   shared registry: what a fully cached trusted run costs to export;
3. fresh: B pruned back to only the root image, a trusted run importing the
   shared registry cache.

It writes bench/results/<date>-runners.json with key `fresh_runner`
(`fraction_of_cold` = fresh wall / cold wall) and a PNG chart beside it.
Figures are wall seconds on this machine while others may be building: read
the ratio, not the absolute times.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bakery import ROOT
from bakery.build import bake
from bakery.config import settings
from lab import runners as lab

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = "install"
SHARED_REPO = "bakery/cache"
TRUSTED = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}


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


def timed_bake(env: Mapping[str, str]) -> dict[str, float | int]:
    """One `invoke bake install` equivalent; wall seconds and step counts."""
    with environment(env):
        loaded = settings.load({})
        start = time.monotonic()
        runs = bake.run(loaded, [TARGET], loaded.vectors(use_matrix=False), out=lambda line: None)
        wall = time.monotonic() - start
    cached = sum(r.counts()["cached"] for r in runs)
    ran = sum(r.counts()["ran"] for r in runs)
    return {"wall_s": round(wall, 1), "cached": cached, "ran": ran}


def fresh(runner: lab.Runner) -> None:
    images = runner.docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
    doomed = [i for i in images if not i.startswith("debian:")]
    if doomed:
        runner.docker(["image", "rm", *doomed])
    runner.docker(["buildx", "prune", "--all", "--force"])


def figures(cold: Mapping[str, float | int], cached: Mapping[str, float | int]) -> dict[str, float]:
    """The ratios the issue asks for, from two measured runs."""
    steps = float(cached["cached"]) + float(cached["ran"])
    return {
        "fraction_of_cold": round(float(cached["wall_s"]) / float(cold["wall_s"]), 3),
        "cached_fraction": round(float(cached["cached"]) / steps, 3) if steps else 0.0,
    }


def measure() -> dict[str, object]:
    with lab.running() as running:
        assert running.runner is not None
        b = running.runner.env
        shared = {"BAKERY_CACHE_DIR": f"{running.shared.host}/{SHARED_REPO}", **TRUSTED}
        # Trusted throughout: the cache scope (cargo mount ids) is then the
        # same in all three runs, so the export run is fully cached.
        cold = timed_bake({**b, **TRUSTED})
        export = timed_bake({**b, **shared})
        registry_bytes = sum(f.stat().st_size for f in (running.shared.root / "storage").rglob("*") if f.is_file())
        fresh(running.runner)
        cached = timed_bake({**b, **shared})
    return {
        "target": TARGET,
        "vector": "default",
        "runner": "lab runner B (own dockerd 28.5 + containerd, containerd image store, docker driver)",
        "cold": cold,
        "trusted_export_fully_cached": {**export, "registry_bytes": registry_bytes},
        "fresh_with_shared_cache": cached,
        **figures(cold, cached),
    }


def chart(result: Mapping[str, object], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = ["cold", "fresh + shared cache", "trusted export\n(all cached)"]
    keys = ["cold", "fresh_with_shared_cache", "trusted_export_fully_cached"]
    walls = [float(result[k]["wall_s"]) for k in keys]  # type: ignore[index]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bars = ax.bar(labels, walls, color=["#888888", "#3b7dd8", "#d88b3b"])
    ax.set_ylim(0, max(walls) * 1.15)
    ax.bar_label(bars, [f"{w:.0f} s" for w in walls])
    ax.set_ylabel("wall seconds")
    ax.set_title(f"install on a fresh runner: {result['fraction_of_cold']:.2f} of cold")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main() -> int:
    if sys.argv[1:2] == ["--chart"]:  # redraw a results file: --chart PATH.json
        path = Path(sys.argv[2])
        return 0 if chart(json.loads(path.read_text())["fresh_runner"], path.with_suffix(".png")) else 1
    result = measure()
    date = time.strftime("%Y-%m-%d")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{date}-runners.json"
    from bench import stats

    out.write_text(json.dumps(stats.portable({"date": date, "fresh_runner": result}, str(ROOT)), indent=2) + "\n")
    drawn = chart(result, RESULTS / f"{date}-runners.png")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}" + (" and the chart" if drawn else " (no matplotlib: no chart)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
