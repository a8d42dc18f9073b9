"""Benchmarks (bench/README.md), outside the runtime package: every figure
measured side by side in one run on this machine, runs alternated in pairs,
medians with their interquartile range. Nothing here asserts a time.

`invoke bench` calls `run()`; `python -m bench.run [--quick] [--only
front,plan,edit,cold,systems,attest]` runs it directly. Every program runs through bakery's
process seam (bakery.engine.process.run). Results go to bench/results/<date>.json,
.md and .png; bench/README.md says how to read them.

The shared engine's default builder is never pruned: the cold figure is a
`--no-cache` build of the argv bakery recorded (see bench/README.md).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery import ROOT
from bakery.engine import process
from bench import stats

BIN = Path(sys.executable).parent
INVOKE = str(BIN / "invoke")
RESULTS = ROOT / "bench" / "results"
SECTIONS = ("front", "plan", "edit", "cold", "systems", "attest")
# Plan time against raw buildx: matrix name -> vectors (docker/matrix.toml).
PLAN_MATRICES = {"ci": 11, "plan72": 72, "plan288": 288}
TOOLCHAIN_IMAGE = "bakery-bench-toolchain:latest"


@dataclass(frozen=True)
class Case:
    """One command of a paired figure: argv and the environment to run it in."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    # More commands run after argv, in the same environment: the rest of a bake's invocations.
    then: tuple[tuple[str, ...], ...] = ()


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without bakery's own settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAKERY_", "CI_"))}
    env.update(extra)
    return env


def timed(case: Case) -> float:
    start = time.perf_counter()
    for argv in (case.argv, *case.then):
        process.run(argv, env=case.env, cwd=ROOT, quiet=True)
    return time.perf_counter() - start


def alternate(cases: Mapping[str, Case], pairs: int, log: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Run every case once per round, `pairs` rounds: a slow minute of the
    shared machine hits every figure of that round. Odd rounds run the cases
    in reverse order, so no figure always runs right after another (a bake
    right after an identical one finds its context already synced)."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(pairs):
        for name in rounds_order(list(cases), round_):
            samples[name].append(timed(cases[name]))
        log(f"  round {round_ + 1}/{pairs}: " + ", ".join(f"{n} {s[-1]:.2f}" for n, s in samples.items()))
    return samples


def rounds_order(names: list[str], round_: int) -> list[str]:
    """ABBA: forward on even rounds, reversed on odd ones."""
    return names if round_ % 2 == 0 else names[::-1]


def record_of(stdout: str) -> Path:
    """The run record an `invoke bake` names on its ACCEPT line."""
    for line in stdout.splitlines():
        if line.startswith("ACCEPT") and "(record: " in line:
            return Path(line.split("(record: ", 1)[1].rstrip(")"))
    raise ValueError("no ACCEPT line with a run record in the output")


def raw_case(record: Path) -> Case:
    """The exact bake bakery ran (command.json), run by hand: each
    invocation's argv, in order, with the variables bakery set (one vector's
    bake: the same for every invocation)."""
    invocations = json.loads((record / "command.json").read_text())["invocations"]
    variables = invocations[0]["variables"]
    if any(i["variables"] != variables for i in invocations):
        raise ValueError(f"{record}: the invocations differ in their variables (several vectors)")
    argvs = [tuple(i["argv"]) for i in invocations]
    return Case(argvs[0], clean_env(**variables), tuple(argvs[1:]))


def step_counts(record: Path) -> dict[str, int]:
    from bakery.baking import progress

    return dict(progress.parse((record / "progress.jsonl").read_text().splitlines()).counts())


def invoke_bake(targets: str, env: Mapping[str, str]) -> Path:
    result = process.run([INVOKE, "bake", targets], env=env, cwd=ROOT, quiet=True)
    return record_of(result.stdout)


def seam_calls(argv: Sequence[str], env: Mapping[str, str]) -> list[list[str]]:
    """The docker calls one command makes (BAKERY_SEAM_LOG records every
    program on the process seam; graphviz is left out)."""
    with tempfile.TemporaryDirectory(prefix="bakery-bench-seam-") as tmp:
        path = Path(tmp) / "seam.jsonl"
        process.run(argv, env={**env, "BAKERY_SEAM_LOG": str(path)}, cwd=ROOT, quiet=True)
        calls = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [call for call in calls if call[0] == "docker"]


def overhead(ours: Sequence[float], raw: Sequence[float], start: Sequence[float]) -> dict[str, float]:
    """bakery's own cost per pair: ours - raw - invoke's start."""
    return stats.summary(stats.paired(ours, raw, start))


def front(pairs: int, log: Callable[[str], None] = print) -> dict:
    """bakery's own cost per command: `--print` and a fully cached build of install, ours against raw."""
    env = clean_env()
    invoke_bake("install", env)  # built and the probe cache warm
    record = invoke_bake("install", env)
    build_raw = raw_case(record)
    variables = json.loads((record / "command.json").read_text())["invocations"][0]["variables"]
    print_raw = Case(("docker", "buildx", "bake", "--file", str(ROOT / "docker" / "bake.hcl"), "--print", "install"),
                     clean_env(**variables))  # fmt: skip
    cases = {
        "start": Case((INVOKE, "--version"), env),
        "print_ours": Case((INVOKE, "bake", "--print", "install"), env),
        "print_raw": print_raw,
        "build_ours": Case((INVOKE, "bake", "install"), env),
        "build_raw": build_raw,
    }
    log(f"front: {pairs} rounds")
    s = alternate(cases, pairs, log)
    with tempfile.TemporaryDirectory(prefix="bakery-bench-cold-probe-") as cold:
        calls = {
            "print": len(seam_calls(cases["print_ours"].argv, env)),
            "cached_build_warm_probe_cache": len(seam_calls(cases["build_ours"].argv, env)),
            "cached_build_cold_probe_cache": len(seam_calls(cases["build_ours"].argv, {**env, "XDG_CACHE_HOME": cold})),
        }
    return {
        "samples": s,
        "start": stats.summary(s["start"]),
        "print": {"ours": stats.summary(s["print_ours"]), "raw": stats.summary(s["print_raw"]),
                  "overhead": overhead(s["print_ours"], s["print_raw"], s["start"]), "target": 0.05},
        "cached_build": {"ours": stats.summary(s["build_ours"]), "raw": stats.summary(s["build_raw"]),
                         "overhead": overhead(s["build_ours"], s["build_raw"], s["start"]), "target": 0.10},
        "docker_calls": calls,
        "raw_argv": {"print": list(print_raw.argv), "cached_build": list(build_raw.argv)},
    }  # fmt: skip


def plan_scaling(pairs: Mapping[str, int], log: Callable[[str], None] = print) -> dict:
    """Plan time against raw buildx: `invoke plan --matrix NAME` against one raw `--print` of the same
    vectors (the selection's arrays) plus invoke's start."""
    from bakery.config import settings
    from bakery.tree import bakefile

    table = {}
    for name, rounds in pairs.items():
        loaded = settings.load({"BAKERY_MATRIX": name}, clean_env(BAKERY_MATRIX=name))
        vectors = loaded.vectors(use_matrix=True)
        env = bakefile.bake_env(loaded, bakefile.block_of(vectors), vectors=[v.as_dict() for v in vectors])
        with tempfile.TemporaryDirectory(prefix="bakery-bench-plan-") as out:
            cases = {
                "start": Case((INVOKE, "--version"), clean_env()),
                "ours": Case((INVOKE, "plan", "--matrix", name, "--out", out), clean_env()),
                "raw": Case(("docker", *bakefile.print_argv(loaded, ["default"])), env),
            }
            log(f"plan {name} ({len(vectors)} vectors): {rounds} rounds")
            s = alternate(cases, rounds, log)
            calls = len(seam_calls(cases["ours"].argv, cases["ours"].env))
        per_pair = [o / (r + v) for o, r, v in zip(s["ours"], s["raw"], s["start"], strict=True)]
        table[name] = {
            "vectors": len(vectors), "samples": s, "ours": stats.summary(s["ours"]), "raw": stats.summary(s["raw"]),
            "start": stats.summary(s["start"]), "ratio": stats.summary(per_pair, digits=2), "target": 1.1,
            "docker_calls": calls,
        }  # fmt: skip
    return table


def edit(source: Path) -> None:
    """One line of the binary crate changes (a fresh version string)."""
    version = source / "crates" / "mxd" / "src" / "version.rs"
    version.write_text(f'pub const VERSION: &str = "0.1.0-bench{uuid.uuid4().hex[:8]}";\n')


def edit_loop(pairs: int, log: Callable[[str], None] = print) -> dict:
    """Edit-loop time against cargo: incremental install through bakery after a one-line edit, minus the
    raw fully cached bake and invoke's start, against cargo's own incremental
    build in a running toolchain container (`docker exec`, warm target dir)."""
    with tempfile.TemporaryDirectory(prefix="bakery-bench-edit-") as tmp:
        source = Path(tmp) / "example"
        shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
        env = clean_env(source_location=str(source))
        invoke_bake("install", env)
        raw = raw_case(invoke_bake("install", env))
        start = Case((INVOKE, "--version"), clean_env())
        incremental: list[float] = []
        cached: list[float] = []
        starts: list[float] = []
        steps: dict[str, int] = {}
        log(f"edit loop: {pairs} rounds")
        for round_ in range(pairs):
            edit(source)
            begin = time.perf_counter()
            record = invoke_bake("install", env)
            incremental.append(time.perf_counter() - begin)
            steps = step_counts(record)
            cached.append(timed(raw))
            starts.append(timed(start))
            log(f"  round {round_ + 1}/{pairs}: incremental {incremental[-1]:.2f}, raw cached {cached[-1]:.2f}")
        smoke: list[float] = []
        for _ in range(max(3, pairs // 3)):
            edit(source)
            begin = time.perf_counter()
            invoke_bake("install,tests-smoke", env)
            smoke.append(time.perf_counter() - begin)
        floor = cargo_floor(source, pairs, log)
    beyond = stats.paired(incremental, cached, starts)
    return {
        "samples": {"incremental": incremental, "raw_cached": cached, "start": starts, "floor": floor,
                    "install_smoke": smoke},
        "incremental": stats.summary(incremental),
        "raw_cached": stats.summary(cached),
        "beyond_cached": stats.summary(beyond),
        "floor": stats.summary(floor),
        "incremental_over_floor": round(stats.median(beyond) / stats.median(floor), 2),
        "target": 1.5,
        "install_smoke": stats.summary(smoke),
        "install_smoke_over_floor": stats.ratio(smoke, floor),
        "incremental_steps": steps,
    }  # fmt: skip


def cargo_floor(source: Path, repeat: int, log: Callable[[str], None] = print) -> list[float]:
    """The same incremental `cargo build` in the toolchain image, in a running
    container with a warm target directory: what no build system can beat."""
    from bakery.engine import docker

    project = source.parent / "floor"
    shutil.copytree(source, project)
    docker.run(["buildx", "bake", "--file", str(ROOT / "docker" / "bake.hcl"), "--provenance=false",
                "--set", "chef--*.output=type=docker", "--set", f"chef--*.tags={TOOLCHAIN_IMAGE}", "chef"],
               env=clean_env(), cwd=ROOT, quiet=True)  # fmt: skip
    name = f"bakery-bench-floor-{uuid.uuid4().hex[:8]}"
    docker.run(["run", "-d", "--rm", "--name", name, "-v", f"{project}:/src", "-w", "/src", TOOLCHAIN_IMAGE,
                "sleep", "infinity"], quiet=True)  # fmt: skip
    cargo = ["exec", name, "cargo", "build", "--locked", "--release", "--target", "x86_64-unknown-linux-gnu"]
    samples = []
    try:
        docker.run(cargo, quiet=True)  # warm the target directory
        for _ in range(repeat):
            edit(project)
            begin = time.perf_counter()
            docker.run(cargo, quiet=True)
            samples.append(time.perf_counter() - begin)
        log(f"  floor: {', '.join(f'{s:.2f}' for s in samples)}")
    finally:
        docker.run(["rm", "-f", name], check=False, quiet=True)
        docker.run(["image", "rm", TOOLCHAIN_IMAGE], check=False, quiet=True)
    return samples


def cold(log: Callable[[str], None] = print) -> dict:
    """install + tests-smoke of the default vector with `--no-cache`: the
    invocations bakery recorded, the first (the aggregate, which builds
    everything) with --no-cache (the shared builder is not pruned)."""
    record = invoke_bake("install,tests-smoke", clean_env())
    case = raw_case(record)
    argv = (*case.argv[:3], "--no-cache", *case.argv[3:])
    log("cold: one --no-cache build")
    seconds = timed(Case(argv, case.env, case.then))
    return {"no_cache_seconds": round(seconds, 2), "argv": list(argv), "then": [list(a) for a in case.then]}


# The system cells (docker/matrix.toml [matrices.systems]): what each cell bakes.
SYSTEMS_TARGETS = "smoketest-version,smoketest-startup,image"


def systems(log: Callable[[str], None] = print) -> dict:
    """The systems matrix cold: all its cells in one bake against the sum of
    each cell baked alone in its own bake, one sample each.

    Cold without pruning the shared builder: each bake sets `apt_options` to
    an apt.conf comment of its own, an arg of both roots' first step, so every
    step below the root images misses the cache while the cells of one bake
    still share theirs (--no-cache would stop that sharing too). The apt
    cache mounts stay warm for both sides alike."""
    env = clean_env()
    log("systems: the roots of the matrix (invoke system-image)")
    process.run([INVOKE, "system-image", "--matrix", "systems"], env=env, cwd=ROOT, quiet=True)
    listed = process.run([INVOKE, "matrix", "--matrix", "systems", "--format", "json"], env=env, cwd=ROOT, quiet=True)
    cells = [(row["sys_version"], row["sys_target"]) for row in json.loads(listed.stdout)]

    def cold_bake(*selection: str) -> tuple[float, Path]:
        fresh = clean_env(apt_options=f"// bakery bench {uuid.uuid4().hex}")
        start = time.perf_counter()
        result = process.run([INVOKE, "bake", SYSTEMS_TARGETS, "--matrix", "systems", *selection], env=fresh,
                             cwd=ROOT, quiet=True)  # fmt: skip
        return time.perf_counter() - start, record_of(result.stdout)

    alone: dict[str, float] = {}
    for version, target in cells:
        log(f"systems: {version} {target} cold, alone")
        seconds, _ = cold_bake("--sys-version", version, "--sys-target", target)
        alone[f"{version} {target}"] = round(seconds, 1)
    log(f"systems: all {len(cells)} cells cold, in one bake")
    together, record = cold_bake()
    versions = {}
    for version, target in cells:
        arch = "linux/arm64" if target.startswith("aarch64") else "linux/amd64"
        rust = "aarch64-unknown-linux-gnu" if target.startswith("aarch64") else "x86_64-unknown-linux-gnu"
        image = f"mxd/image--release--distro--{rust}--default--debian--{version}--{target}:latest"
        ran = process.run(["docker", "run", "--rm", "--platform", arch, image, "-V"], check=False, quiet=True)
        versions[f"{version} {target}"] = ran.stdout.strip() or f"exit {ran.returncode}"
    total = sum(alone.values())
    return {
        "cells": len(cells),
        "together_seconds": round(together, 1),
        "alone_seconds": alone,
        "alone_sum_seconds": round(total, 1),
        "ratio": round(together / total, 3),
        "steps": step_counts(record),
        "versions": versions,
    }


def attest(pairs: int, log: Callable[[str], None] = print) -> dict:
    """What attestation costs a push (docs/attestations.md): the example's
    `github` pushed to a local registry (the lab's, no second engine) with
    BAKERY_ATTEST=1 and =0, alternated, the chain warm. Attested pushes also
    build (once, then CACHED) and name the tree's SBOM generator, and BuildKit
    runs it and writes the provenance on every push."""
    from lab import runners as lab

    with lab.running(runner=False) as running:
        repository = f"{running.shared.host}/bench/mxd"
        base = {"registry_github": repository, "BAKERY_REVISION": "bench"}
        cases = {
            "attested": Case((INVOKE, "bake", "github"), clean_env(**base, publish_tag="attested", BAKERY_ATTEST="1")),
            "plain": Case((INVOKE, "bake", "github"), clean_env(**base, publish_tag="plain", BAKERY_ATTEST="0")),
        }
        log("attest: warming both pushes")
        for case in cases.values():
            timed(case)
        samples = alternate(cases, pairs, log)
    diffs = stats.paired(samples["attested"], samples["plain"])
    return {
        "attested": stats.summary(samples["attested"]),
        "plain": stats.summary(samples["plain"]),
        "difference": stats.summary(diffs),
        "ratio": round(stats.median(samples["attested"]) / stats.median(samples["plain"]), 3),
    }


def machine() -> dict:
    import platform

    def out(argv: list[str]) -> str:
        return process.run(argv, check=False, quiet=True).stdout.strip()

    mem = next(
        (ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "0"
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 2**20, 1),
        "kernel": platform.release(),
        "dockerd": out(["docker", "version", "--format", "{{.Server.Version}}"]),
        "buildx": out(["docker", "buildx", "version"]),
        "load_before": os.getloadavg()[0],
    }


def run(
    quick: bool = False,
    only: Sequence[str] = SECTIONS,
    log: Callable[[str], None] = print,
    matrices: Sequence[str] = tuple(PLAN_MATRICES),
) -> Path:
    """Measure the chosen sections and write bench/results/<date>.{json,md,png}."""
    from bakery.errors import UsageError

    unknown = sorted(set(only) - set(SECTIONS))
    if unknown or not only:
        raise UsageError(f"--only {','.join(unknown) or '(empty)'}: not a section; allowed: {', '.join(SECTIONS)}")
    strange = sorted(set(matrices) - set(PLAN_MATRICES))
    if strange:
        raise UsageError(f"--matrices {','.join(strange)}: not measured; allowed: {', '.join(PLAN_MATRICES)}")
    started = time.monotonic()
    pairs = 5 if quick else 15
    results: dict = {"date": time.strftime("%Y-%m-%d"), "quick": quick, "machine": machine()}
    if "front" in only:
        results["front"] = front(pairs, log)
    if "plan" in only:
        rounds = {"ci": pairs, "plan72": 3 if quick else 5, "plan288": 1 if quick else 3}
        results["plan"] = plan_scaling({m: rounds[m] for m in matrices}, log)
    if "edit" in only:
        results["builds"] = edit_loop(pairs, log)
    if "cold" in only:
        results["cold"] = cold(log)
    if "systems" in only:
        results["systems"] = systems(log)
    if "attest" in only:
        results["attest"] = attest(pairs, log)
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{results['date']}.json"
    # Sections run on the same day accumulate: `--only edit` keeps the front figures.
    if path.exists():
        earlier = json.loads(path.read_text())
        if "plan" in results and "plan" in earlier:
            results["plan"] = {**earlier["plan"], **results["plan"]}
        results = {**earlier, **results}
    from bench import report, stats

    results = stats.portable(results, str(ROOT))  # type: ignore[assignment]
    path.write_text(json.dumps(results, indent=2) + "\n")

    (RESULTS / f"{results['date']}.md").write_text(report.markdown(results))
    report.chart(results, RESULTS / f"{results['date']}.png")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--matrices", default=",".join(PLAN_MATRICES), help="plan section: which matrices")
    args = parser.parse_args(argv)
    from bakery.errors import BakeryError

    try:
        only = [s for s in args.only.split(",") if s]
        print(f"wrote {run(args.quick, only, matrices=[m for m in args.matrices.split(',') if m])}")
    except BakeryError as exc:
        print(f"bakery: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
