"""Benchmarks (issue 6): the figures behind "each matrix cell pays only for
its last layers", measured side by side in one run on this machine.

Run with `invoke bench [--quick] [--budget SECONDS]`. Results go to
bench/results/<date>.json and .md (and .png with matplotlib). Nothing here
asserts a time; bench/README.md says how to read each figure.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bakery import ROOT, docker, progress
from bakery.lock import builder_lock

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
TARGETS = "install,tests-smoke"
DEFAULT = "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
# N vectors over feature sets and profiles (the `bench` matrix of docker/matrix.toml).
SHARING = {
    2: (("release",), ("none", "default")),
    4: (("release", "test"), ("none", "default")),
    6: (("release", "test"), ("none", "default", "all")),
}


@dataclass
class Figure:
    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(round(seconds, 3))

    def stats(self) -> dict[str, float]:
        return {
            "median": round(statistics.median(self.samples), 3),
            "min": min(self.samples),
            "max": max(self.samples),
            "n": len(self.samples),
        }


@dataclass
class Run:
    seconds: float
    cached: int = 0
    ran: int = 0


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAKERY_", "CI_"))}
    env.update(extra)
    return env


def _timed(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env or _env(), check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def _bake(targets: str, *extra: str, env: dict[str, str] | None = None) -> Run:
    """`invoke bake` once; steps counted from its run record."""
    start = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "invoke"), "bake", targets, *extra], cwd=ROOT, env=env or _env(), check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    seconds = time.perf_counter() - start
    return Run(seconds, *_count_records(out))


def _count_records(stdout: str) -> tuple[int, int]:
    cached = ran = 0
    for line in stdout.splitlines():
        if line.startswith("ACCEPT") and "(record: " in line:
            record = Path(line.split("(record: ", 1)[1].rstrip(")"))
            counts = progress.parse((record / "progress.jsonl").read_text().splitlines()).counts()
            cached, ran = cached + counts["cached"], ran + counts["ran"]
    return cached, ran


def prune() -> None:
    """Cold start: the builder's cache goes; images (the root) stay. The
    builder lock keeps it from overlapping another create/remove/prune."""
    with builder_lock("default", 300):
        docker.run(["buildx", "prune", "--builder", "default", "--all", "--force"], quiet=True)


def _bare_env(**axes: str) -> dict[str, str]:
    return _env(**{f"{k}s": json.dumps([v]) for k, v in axes.items()})


def front_overhead(repeat: int) -> dict:
    """invoke bake against docker buildx bake, alternately, same vector."""
    ours_print, bare_print, ours_build, bare_build = Figure(), Figure(), Figure(), Figure()
    bare = ["docker", "buildx", "bake", "-f", "docker/bake.hcl"]
    _bake("install")  # make sure the cached build is cached
    for _ in range(repeat):
        ours_print.add(_timed([str(BIN / "invoke"), "bake", "--print", "install"]))
        bare_print.add(_timed([*bare, "--print", "install"], _bare_env()))
        ours_build.add(_timed([str(BIN / "invoke"), "bake", "install"]))
        bare_build.add(_timed([*bare, "--provenance=false", "install"], _bare_env()))
    return {"print": _pair(ours_print, bare_print), "cached_install": _pair(ours_build, bare_build)}


def _pair(ours: Figure, bare: Figure) -> dict:
    ratio = statistics.median(ours.samples) / statistics.median(bare.samples)
    return {"ours": ours.stats(), "bare": bare.stats(), "ratio": round(ratio, 2)}


def _edited_copy(directory: Path) -> Path:
    source = directory / "example"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    _edit(source)
    return source


def _edit(source: Path) -> None:
    """One line of the binary crate changes (a fresh version string)."""
    version = source / "crates" / "mxd" / "src" / "version.rs"
    version.write_text(f'pub const VERSION: &str = "0.1.0-bench{uuid.uuid4().hex[:8]}";\n')


def cold_warm_incremental(cold_runs: int, repeat: int) -> dict:
    cold, warm, incremental, floor = Figure(), Figure(), Figure(), Figure()
    steps: dict[str, dict[str, int]] = {}
    for _ in range(cold_runs):
        prune()
        run = _bake(TARGETS)
        cold.add(run.seconds)
        steps["cold"] = {"cached": run.cached, "ran": run.ran}
    for _ in range(repeat):
        run = _bake(TARGETS)
        warm.add(run.seconds)
        steps["warm"] = {"cached": run.cached, "ran": run.ran}
    with tempfile.TemporaryDirectory(prefix="bakery-bench-") as tmp:
        source = _edited_copy(Path(tmp))
        for _ in range(repeat):
            _edit(source)
            run = _bake(TARGETS, env=_env(source_location=str(source)))
            incremental.add(run.seconds)
            steps["incremental"] = {"cached": run.cached, "ran": run.ran}
        for seconds in _floor(source, repeat):
            floor.add(seconds)
    _bake(TARGETS)  # leave the default vector's images on the committed source
    medians = {name: statistics.median(f.samples) for name, f in
               (("cold", cold), ("warm", warm), ("incremental", incremental), ("floor", floor))}  # fmt: skip
    return {
        "cold": cold.stats(), "warm": warm.stats(), "incremental": incremental.stats(), "floor": floor.stats(),
        "steps": steps,
        "incremental_over_floor": round(medians["incremental"] / medians["floor"], 2),
        "incremental_over_cold": round(medians["incremental"] / medians["cold"], 3),
    }  # fmt: skip


def _floor(source: Path, repeat: int) -> list[float]:
    """The same incremental `cargo build`, run directly in the toolchain image
    with a warm target directory: what no build system can beat."""
    image = "bakery-bench-toolchain:latest"
    subprocess.run([str(BIN / "invoke"), "bake", "chef"], cwd=ROOT, env=_env(), check=True, capture_output=True)
    subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker/bake.hcl", "--provenance=false",
         "--set", "chef--*.output=type=docker", "--set", f"chef--*.tags={image}", "chef"],
        cwd=ROOT, env=_bare_env(), check=True, capture_output=True,
    )  # fmt: skip
    cargo = ["docker", "run", "--rm", "-v", f"{source}:/src", "-w", "/src", image,
             "cargo", "build", "--locked", "--release", "--target", "x86_64-unknown-linux-gnu"]  # fmt: skip
    subprocess.run(cargo, check=True, capture_output=True)  # warm the target directory
    samples = []
    for _ in range(repeat):
        _edit(source)
        start = time.perf_counter()
        subprocess.run(cargo, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    shutil.rmtree(source / "target", ignore_errors=True)
    return samples


def _naive(profiles: Sequence[str], feats: Sequence[str]) -> Run:
    """One self-contained Dockerfile per vector, the cache pruned between."""
    cargo_args = {"none": "--no-default-features", "default": "", "all": "--all-features"}
    total = Run(0.0)
    for profile in profiles:
        for feat in feats:
            prune()
            start = time.perf_counter()
            result = subprocess.run(
                ["docker", "buildx", "build", "--progress=rawjson", "--provenance=false",
                 "-f", "bench/naive.Dockerfile", "--build-arg", f"cargo_profile={profile}",
                 "--build-arg", f"feat_cargo_args={cargo_args[feat]}", "example"],
                cwd=ROOT, check=True, capture_output=True, text=True,
            )  # fmt: skip
            total.seconds += time.perf_counter() - start
            counts = progress.parse(_rename(result.stderr.splitlines())).counts()
            total.cached += counts["cached"]
            total.ran += counts["ran"]
    return total


def _rename(lines: list[str]) -> list[str]:
    """Plain `docker buildx build` names steps `[stage i/n]`; give them a
    target so the step filter treats them like bake's."""
    return [line.replace('"name":"[', '"name":"[naive ') for line in lines]


def sharing(sizes: Sequence[int]) -> dict:
    table = {}
    for n in sizes:
        profiles, feats = SHARING[n]
        prune()
        one = _bake(TARGETS, "--cargo-profile", ",".join(profiles), "--feat-set", ",".join(feats))
        prune()
        seq = _sequential(profiles, feats)
        naive = _naive(profiles, feats)
        table[n] = {
            "one_run": vars(one), "nox_sessions": vars(seq), "naive": vars(naive),
            "time_ratio_one_run": round(one.seconds / naive.seconds, 2),
            "time_ratio_sessions": round(seq.seconds / naive.seconds, 2),
            "steps_ratio_one_run": round(one.ran / naive.ran, 2) if naive.ran else None,
        }  # fmt: skip
        _bake(TARGETS)
    return table


def _sequential(profiles: Sequence[str], feats: Sequence[str]) -> Run:
    total = Run(0.0)
    for profile in profiles:
        for feat in feats:
            session = f"bake(sys=debian,feat={feat},profile={profile})"
            start = time.perf_counter()
            out = subprocess.run(
                [str(BIN / "nox"), "-s", session, "--", TARGETS], cwd=ROOT, env=_env(BAKERY_MATRIX="bench"),
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            total.seconds += time.perf_counter() - start
            cached, ran = _count_records(out.stdout + out.stderr)
            total.cached += cached
            total.ran += ran
    return total


def second_vector(cold_seconds: float) -> dict:
    """After the default vector is built, one that differs in one axis."""
    rows = {}
    for axis, value in (("feat-set", "all"), ("cargo-profile", "test")):
        _bake(TARGETS)
        run = _bake(TARGETS, f"--{axis}", value)
        rows[f"{axis}={value}"] = {**vars(run), "fraction_of_cold": round(run.seconds / cold_seconds, 3)}
    return rows


def machine() -> dict:
    def out(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()

    mem = next(
        (ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "0"
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 2**20, 1),
        "kernel": platform.release(),
        "dockerd": out(["docker", "version", "--format", "{{.Server.Version}}"]),
        "buildx": out(["docker", "buildx", "version"]),
    }


def run(quick: bool, budget: float, log: Callable[[str], None] = print) -> Path:
    started = time.monotonic()
    repeat = 3 if quick else 7
    results: dict = {"date": time.strftime("%Y-%m-%d"), "quick": quick, "machine": machine()}
    log("front overhead ...")
    results["front"] = front_overhead(repeat)
    log("cold, warm, incremental, floor ...")
    results["builds"] = cold_warm_incremental(1 if quick else 2, repeat)
    sizes = [2] if quick else [2, 4, 6]
    results["sharing"] = {}
    for n in sizes:
        if time.monotonic() - started > budget:
            log(f"budget of {budget:.0f}s spent; sharing stops before N={n}")
            break
        log(f"sharing N={n} ...")
        results["sharing"].update(sharing([n]))
    log("second-vector cost ...")
    results["second_vector"] = second_vector(results["builds"]["cold"]["median"])
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{results['date']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{results['date']}.md").write_text(markdown(results))
    chart(results, RESULTS / f"{results['date']}.png")
    return path


def _fig(stats: dict) -> str:
    return f"{stats['median']:.2f} s ({stats['min']:.2f}–{stats['max']:.2f}, n={stats['n']})"


def _row(name: str, pair: dict) -> str:
    return f"| {name} | {_fig(pair['ours'])} | {_fig(pair['bare'])} | {pair['ratio']} |"


def markdown(r: dict) -> str:
    m, f, b = r["machine"], r["front"], r["builds"]
    lines = [
        f"Measured {r['date']} on {m['cores']} cores, {m['memory_gib']} GiB, dockerd {m['dockerd']}, {m['buildx']}"
        f"{' (quick mode)' if r['quick'] else ''}. Figures: median (min–max, n).",
        "",
        "| figure | ours | reference | ratio |",
        "|---|---|---|---|",
        _row("`--print`, invoke vs bare bake", f["print"]),
        _row("cached `install`, invoke vs bare bake", f["cached_install"]),
        f"| incremental vs floor (cargo in the toolchain image) | {_fig(b['incremental'])} | {_fig(b['floor'])} | "
        f"{b['incremental_over_floor']} |",
        f"| incremental vs cold | {_fig(b['incremental'])} | {_fig(b['cold'])} | {b['incremental_over_cold']} |",
        f"| warm (nothing changed) | {_fig(b['warm'])} | | |",
        "",
        "Steps (cached / ran): " + "; ".join(f"{k} {v['cached']}/{v['ran']}" for k, v in b["steps"].items()),
        "",
        "| N vectors | one bake run | N nox sessions | naive | one run / naive (time) | sessions / naive "
        "| ran steps one run / naive |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, row in r["sharing"].items():
        lines.append(
            f"| {n} | {row['one_run']['seconds']:.1f} s, {row['one_run']['ran']} ran | "
            f"{row['nox_sessions']['seconds']:.1f} s, {row['nox_sessions']['ran']} ran | "
            f"{row['naive']['seconds']:.1f} s, {row['naive']['ran']} ran | {row['time_ratio_one_run']} | "
            f"{row['time_ratio_sessions']} | {row['steps_ratio_one_run']} |"
        )
    lines += ["", "| second vector (after the default) | time | ran steps | fraction of cold |", "|---|---|---|---|"]
    for name, row in r["second_vector"].items():
        lines.append(f"| {name} | {row['seconds']:.1f} s | {row['ran']} | {row['fraction_of_cold']} |")
    return "\n".join(lines) + "\n"


def chart(r: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = list(r["sharing"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    builds = r["builds"]
    names = ["cold", "warm", "incremental", "floor"]
    left.bar(names, [builds[n]["median"] for n in names], color=["#888", "#4a4", "#48c", "#c84"])
    left.set_ylabel("seconds (median)")
    left.set_title("install + tests-smoke, default vector")
    width = 0.25
    for i, (key, label) in enumerate(
        (("one_run", "one bake run"), ("nox_sessions", "N nox sessions"), ("naive", "naive"))
    ):
        right.bar(
            [j + i * width for j in range(len(sizes))],
            [r["sharing"][n][key]["seconds"] for n in sizes],
            width,
            label=label,
        )
    right.set_xticks([j + width for j in range(len(sizes))], [f"N={n}" for n in sizes])
    right.set_ylabel("seconds from cold")
    right.set_title("matrix sharing")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True
