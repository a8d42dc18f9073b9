"""`invoke complement`: run the Matrix compliance suite for one vector and
judge it against a baseline (docs/commands.md, "invoke complement").

A run: validate everything that can be checked without docker (results
directory, run id, baseline file, run/skip patterns); build the tester and
the testee unless told not to; read the baseline; run the tester container
with the testee image as its argument; then, however it ended, copy /results
and the logs out, stop and remove the tester and sweep every container and
network labelled with the run id; finally judge the results.

Exit codes: 0 no regressions; 1 regressions; 2 usage (bad flag, unwritable
results directory, unreadable or malformed baseline); 3 an image is missing
(--no-build); 5 infrastructure failure (the tester exited outside its 0/1
contract, died, or left no results); 130 or 143 interrupted.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery import ROOT, runs
from bakery.baking import bake
from bakery.complement import containers, results
from bakery.config import project
from bakery.config.matrix import Vector
from bakery.config.options import SPEC_BY_NAME
from bakery.config.settings import Settings
from bakery.engine import docker
from bakery.errors import BakeryError, DockerError, EnvironmentNotReady, InfraError, UsageError
from bakery.tree import bakefile, hclgen

log = logging.getLogger("bakery")

RUN_LABEL = "bakery.run-id"
TESTER_FAMILY = "complement-tester"
TESTEE_FAMILY = "complement-testee"
# Where the tester writes (docker/complement/tester-entrypoint.sh) and where
# complement-config puts the project's baseline inside the testee image.
TESTER_RESULTS = "/results"
IMAGE_BASELINE = "/complement/old_results.jsonl"
# The socket goes to /run, not /var/run: `docker cp` fails on a container
# with a mount below the /var/run symlink ("path escapes from parent",
# moby/moby#52653), and results must come out. DOCKER_HOST points there.
TESTER_SOCKET = "/run/docker.sock"
# Seconds the tester gets to stop its suite and write results on SIGTERM.
STOP_TIMEOUT = 10
# go test settings, passed at run time so changing them needs no rebuild.
RUN_SETTINGS = (
    "COMPLEMENT_RUN",
    "COMPLEMENT_SKIP",
    "COMPLEMENT_COUNT",
    "COMPLEMENT_PARALLEL",
    "COMPLEMENT_TIMEOUT",
    "COMPLEMENT_TAGS",
)
# The files this command writes into the results directory. A previous run's
# copies are removed first, so a run that produced nothing cannot be judged
# on stale results.
RESULTS_FILE = "results.jsonl"
GO_TEST_FILE = "go-test.jsonl"
LOG_FILE = "tester.log"
BASELINE_FILE = "baseline.jsonl"
SUMMARY_FILE = "summary.txt"
OWNED_FILES = (RESULTS_FILE, GO_TEST_FILE, LOG_FILE, BASELINE_FILE, SUMMARY_FILE)

_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@")


@dataclass(frozen=True)
class Options:
    """The command line's choices beyond settings."""

    no_build: bool = False
    tester_image: str | None = None
    testee_image: str | None = None
    run_id: str | None = None
    update_baseline: bool = False


@dataclass(frozen=True)
class Plan:
    """Everything a run will do, decided before anything runs."""

    vector: Vector
    run_id: str
    name: str
    tester_image: str
    testee_image: str
    build: tuple[str, ...]
    results_dir: Path
    baseline: Path | None  # None: the baseline inside the testee image
    update_target: Path | None  # where --update-baseline writes; None: no update

    @property
    def label(self) -> str:
        return f"{RUN_LABEL}={self.run_id}"


# --------------------------------------------------------------------------
# Planning: no docker calls, so every usage error comes before anything runs.
# --------------------------------------------------------------------------


def sanitize_run_id(raw: str | None) -> str:
    """A run id safe in container names and labels: [a-zA-Z0-9_.-]."""
    if not raw:
        return runs.new_id()
    text = _UNSAFE.sub("-", raw).strip("-.")
    if not text:
        raise UsageError(f"--run-id={raw!r} has no usable characters; allowed: [a-zA-Z0-9_.-]")
    return text


def image(vector: Vector, family: str, family_axes: Mapping[str, Sequence[str]], project_name: str = "") -> str:
    """The tag the tree gives this vector's instance of a family: the project,
    then its name over the axes the family varies by (hclgen, from
    matrix.toml and bake.hcl)."""
    return project.image(project_name, vector.instance(family, family_axes[family]))


def images(settings: Settings, vector: Vector, options: Options) -> tuple[str, str]:
    """The tester and testee images: given ones as they are; the tree is read
    only for a family that was not given, so another bake file works with both."""
    given = {TESTER_FAMILY: options.tester_image, TESTEE_FAMILY: options.testee_image}
    if all(given.values()):
        return options.tester_image or "", options.testee_image or ""
    tree = hclgen.families(bakefile.bake_file(settings).read_text())
    for family, given_image in given.items():
        if not given_image and family not in {f.name for f in tree}:
            raise UsageError(f"the bake file has no {family} family; give the image: --{family.split('-')[1]}-image")
    family_axes = hclgen.family_axes(settings.definition, tree)
    name = project.name(settings)
    tester, testee = (given[f] or image(vector, f, family_axes, name) for f in (TESTER_FAMILY, TESTEE_FAMILY))
    return tester, testee


def build_targets(options: Options) -> tuple[str, ...]:
    """What to bake: each family whose image is not overridden."""
    if options.no_build:
        return ()
    chosen = ((TESTER_FAMILY, options.tester_image), (TESTEE_FAMILY, options.testee_image))
    return tuple(family for family, override in chosen if not override)


def prepare_results_dir(path: Path) -> Path:
    """Create the results directory and prove it is writable (exit 2 if not),
    then remove a previous run's files."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Writing a file is the only honest check: access() says yes to root.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".bakery-probe-"):
            pass
        for name in OWNED_FILES:
            (path / name).unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(
            f"results directory {path} is not writable ({exc.strerror or exc}); set BAKERY_RESULTS_DIR or --results-dir"
        ) from None
    return path


def project_baseline(settings: Settings) -> Path:
    """The baseline in the project source, which complement-config copies
    into the testee image: <source_location>/<complement_baseline>. Read from
    the layered settings, so a value in .env counts."""
    source = settings.tree_value("source_location")
    relative = settings.tree_value("complement_baseline")
    if _REMOTE.match(source):
        raise UsageError(
            f"source_location={source!r} is remote, so --update-baseline has no file to write; pass --baseline FILE"
        )
    return ROOT / source / relative


def make_plan(settings: Settings, vectors: Sequence[Vector], options: Options) -> Plan:
    if len(vectors) != 1:
        raise UsageError(f"invoke complement runs one vector, not {len(vectors)}: give one value per axis")
    vector = vectors[0]
    run_id = sanitize_run_id(options.run_id)
    results_dir = prepare_results_dir(settings.results_dir)
    baseline = ROOT / settings.baseline if settings.baseline else None
    update_target = (baseline or project_baseline(settings)) if options.update_baseline else None
    tester, testee = images(settings, vector, options)
    return Plan(
        vector=vector,
        run_id=run_id,
        # Vector and run id: parallel runs of different vectors never collide.
        name=_UNSAFE.sub("-", f"{vector.instance('complement', settings.definition.names)}--{run_id}"),
        tester_image=tester,
        testee_image=testee,
        build=build_targets(options),
        results_dir=results_dir,
        baseline=baseline,
        update_target=update_target,
    )


def run_filter(settings: Settings) -> Callable[[str], bool]:
    """Which tests this run's COMPLEMENT_RUN/SKIP leave out (exit 2 if invalid)."""
    try:
        return results.make_filter(settings.complement_run, settings.complement_skip)
    except ValueError as exc:
        raise UsageError(f"COMPLEMENT_RUN/COMPLEMENT_SKIP: {exc}") from None


def load_results(path: Path, what: str) -> results.Results:
    """A results file, or a one-line usage error naming the file and line."""
    try:
        return results.load(path)
    except results.ResultsError as exc:
        raise UsageError(f"{what}: {exc}") from None


# --------------------------------------------------------------------------
# Running the tester.
# --------------------------------------------------------------------------


def host_socket() -> str:
    """The engine's socket on the daemon's host: DOCKER_HOST's when it is a
    unix socket, else the default path."""
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def passthrough(environ: Mapping[str, str] | None = None) -> list[str]:
    """Complement is configured by COMPLEMENT_* variables; any in the
    environment beyond our settings reach the tester too. `-e NAME` takes the
    value from the docker CLI's environment, so it stays out of argv and logs."""
    environ = os.environ if environ is None else environ
    names = sorted(n for n in environ if n.startswith("COMPLEMENT_") and n not in RUN_SETTINGS)
    return [part for name in names for part in ("-e", name)]


def tester_argv(settings: Settings, plan: Plan, *, detach: bool) -> list[str]:
    """`docker run` for the tester. No --rm: results are copied out after it exits."""
    values = {name: str(getattr(settings, SPEC_BY_NAME[name].attr)) for name in RUN_SETTINGS}
    run_env = [part for name, value in values.items() if value for part in ("-e", f"{name}={value}")]
    return [
        "run",
        *(["-d"] if detach else []),
        "--name",
        plan.name,
        "--label",
        plan.label,
        # Complement publishes the homeservers' ports on 127.0.0.1 of the host.
        "--network=host",
        "-v",
        f"{host_socket()}:{TESTER_SOCKET}",
        "-e",
        f"DOCKER_HOST=unix://{TESTER_SOCKET}",
        # So a tester that can label what it starts uses our label.
        "-e",
        f"BAKERY_RUN_ID={plan.run_id}",
        "-e",
        f"BAKERY_RUN_LABEL={plan.label}",
        *run_env,
        *passthrough(),
        plan.tester_image,
        plan.testee_image,
    ]


def _start_and_wait(argv: Sequence[str], name: str, detach: bool) -> int:
    """Run the tester with its logs streamed; its exit code."""
    if detach:
        # CI: detached with the logs followed, as the original did; unlike it,
        # the exit code is read back below rather than ignored.
        try:
            docker.run(argv)
        except DockerError as exc:
            raise InfraError(f"the tester did not start: {exc}") from None
        docker.run(["logs", "-f", name], check=False, capture=False)
        started = 0
    else:
        started = docker.run(argv, check=False, capture=False).returncode
    # docker wait is the container's own exit code, whichever way it ran.
    code = containers.wait(name)
    if code is None:
        raise InfraError(f"the tester container {name} did not run (docker run exited {started})")
    return code


def _collect_and_clean(plan: Plan, *, running: bool) -> None:
    """Runs however the tester ended: results and logs out, then nothing left."""
    with containers.deferred_signals():
        if running:
            containers.stop(plan.name, STOP_TIMEOUT)
        containers.copy_out(plan.name, f"{TESTER_RESULTS}/.", plan.results_dir)
        containers.save_logs(plan.name, plan.results_dir / LOG_FILE)
        containers.remove(plan.name)
        containers.sweep(plan.label)


def run_tester(settings: Settings, plan: Plan) -> int:
    """The tester's exit code; results, logs and cleanup on every path."""
    code: int | None = None
    try:
        code = _start_and_wait(tester_argv(settings, plan, detach=settings.ci), plan.name, settings.ci)
        return code
    finally:
        _collect_and_clean(plan, running=code is None)


def describe_exit(code: int) -> str:
    if code > 128:
        return f"exit code {code} (killed by signal {code - 128})"
    if code in (125, 126, 127):
        return f"exit code {code} (docker could not run the tester's command)"
    return f"exit code {code}"


def check_exit(code: int, plan: Plan) -> None:
    """0 and 1 are test outcomes; anything else is not (exit 5)."""
    if code not in (0, 1):
        raise InfraError(
            f"infrastructure failure: the tester ended with {describe_exit(code)}, outside its 0/1 contract; "
            f"results and logs: {plan.results_dir}"
        )


# --------------------------------------------------------------------------
# Baselines and judging.
# --------------------------------------------------------------------------


def explicit_baseline(plan: Plan) -> results.Results | None:
    """The baseline file's results, checked before anything runs; None when
    the baseline comes from the testee image."""
    if plan.baseline is None:
        return None
    if not plan.baseline.exists() and plan.update_target is not None:
        return {}  # --update-baseline creates it
    loaded = load_results(plan.baseline, "baseline")
    shutil.copyfile(plan.baseline, plan.results_dir / BASELINE_FILE)
    return loaded


def image_baseline(plan: Plan) -> results.Results:
    """The baseline the testee image carries (from the built project's source)."""
    dest = plan.results_dir / BASELINE_FILE
    holder = f"{plan.name}--baseline"
    # create + cp + rm: the file is read without running the server. The label
    # lets a sweep find the holder if we are killed in between.
    try:
        docker.run(["create", "--name", holder, "--label", plan.label, plan.testee_image], quiet=True)
    except DockerError as exc:
        raise InfraError(f"cannot read the baseline from {plan.testee_image}: {exc}") from None
    try:
        copied = docker.run(["cp", f"{holder}:{IMAGE_BASELINE}", str(dest)], check=False)
    finally:
        containers.remove(holder)
    if copied.returncode != 0:
        raise UsageError(
            f"the testee image {plan.testee_image} has no {IMAGE_BASELINE} "
            f"({containers.last_line(copied.stderr)}); pass --baseline FILE"
        )
    return load_results(dest, f"baseline from {plan.testee_image}")


def current_results(plan: Plan) -> results.Results:
    """This run's results: the tester's results.jsonl, else its raw go test
    -json reduced here; neither is an infrastructure failure."""
    path = plan.results_dir / RESULTS_FILE
    if path.is_file():
        try:
            return results.load(path)
        except results.ResultsError as exc:
            raise InfraError(f"the tester wrote malformed results: {exc}") from None
    raw = plan.results_dir / GO_TEST_FILE
    if raw.is_file():
        current = results.parse_go_test_json(raw.read_text(encoding="utf-8", errors="replace").splitlines())
        results.write(path, current)
        return current
    raise InfraError(f"the tester left no {TESTER_RESULTS}/{RESULTS_FILE}; see {plan.results_dir / LOG_FILE}")


def report(comparison: results.Comparison, out: Callable[[str], None], results_dir: Path | None = None) -> None:
    """The summary on the console, in the results directory and, on GitHub,
    in the step summary."""
    text = comparison.summary_text()
    out(text.rstrip("\n"))
    if results_dir is not None:
        (results_dir / SUMMARY_FILE).write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(comparison.summary_markdown())
        except OSError as exc:
            log.warning("could not write GITHUB_STEP_SUMMARY %s: %s", step_summary, exc.strerror or exc)


def update_baseline(target: Path, current: results.Results, out: Callable[[str], None]) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        results.write(target, current)
    except OSError as exc:
        raise UsageError(f"cannot write the baseline {target}: {exc.strerror or exc}") from None
    out(f"updated baseline {target} ({len(current)} tests); review and commit it")


def gate(comparison: results.Comparison, baseline: str, results_dir: Path | None = None) -> None:
    """Regressions fail the run (exit 1); nothing else does."""
    if comparison.ok:
        return
    where = f"; results and logs: {results_dir}" if results_dir else ""
    raise BakeryError(f"{len(comparison.regressions)} regression(s) against the baseline {baseline}{where}")


# --------------------------------------------------------------------------
# The two entry points.
# --------------------------------------------------------------------------


def run(
    settings: Settings,
    vectors: Sequence[Vector],
    options: Options | None = None,
    *,
    out: Callable[[str], None] = print,
) -> results.Comparison:
    """`invoke complement`: build, run, collect, clean up, judge."""
    options = options or Options()
    plan = make_plan(settings, vectors, options)
    is_filtered = run_filter(settings)
    baseline = explicit_baseline(plan)
    out(f"complement run {plan.run_id}: tester {plan.tester_image}, testee {plan.testee_image}")
    out(f"results and logs: {plan.results_dir}")
    if plan.build:
        bake.run(settings, plan.build, [plan.vector], out=out)
    for image in (plan.tester_image, plan.testee_image):
        if not docker.image_exists(image):
            raise EnvironmentNotReady(
                f"image {image} is not in the engine; build it (drop --no-build) or pass --tester-image/--testee-image"
            )
    if baseline is None:
        baseline = image_baseline(plan)
    code = run_tester(settings, plan)
    check_exit(code, plan)
    current = current_results(plan)
    comparison = results.compare(baseline, current, is_filtered)
    report(comparison, out, plan.results_dir)
    if plan.update_target is not None:
        update_baseline(plan.update_target, current, out)
    gate(comparison, str(plan.baseline or f"in {plan.testee_image}"), plan.results_dir)
    return comparison


def split_compare(spec: str) -> tuple[Path, Path]:
    """--compare OLD,NEW."""
    parts = [part.strip() for part in spec.split(",")]
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"--compare={spec!r}: give two results files: --compare OLD NEW")
    return Path(parts[0]), Path(parts[1])


def compare_files(
    settings: Settings,
    old: Path,
    new: Path,
    *,
    update: bool = False,
    out: Callable[[str], None] = print,
) -> results.Comparison:
    """`invoke complement --compare OLD,NEW`: only the judgement, no docker."""
    is_filtered = run_filter(settings)
    baseline = load_results(old, "baseline")
    current = load_results(new, "results")
    comparison = results.compare(baseline, current, is_filtered)
    report(comparison, out)
    if update:
        update_baseline(old, current, out)
    gate(comparison, str(old))
    return comparison
