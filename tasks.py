"""invoke tasks: thin wiring from the command line to the bakery package.

Run `invoke --list`; every task takes `--help`. Axis options accept one value,
comma-separated values or a JSON array.
"""

from __future__ import annotations

from invoke import task

from bakery.cli import program
from bakery.cli.common import SELECTION_HELP, axis_task, load, selection
from bakery.errors import EXIT_ENVIRONMENT, BakeryError, UsageError

# Modules behind the tasks are imported in the task bodies: `invoke --list`
# and `--help` pay only for what they show.
program.adopt()


def _targets(targets: str | None) -> list[str]:
    from bakery.baking import bake as bake_module

    return bake_module.split_targets([targets])


@task(
    help={
        "driver": "docker, docker-container, remote or kubernetes",
        "name": "builder name (default: scoped)",
        "scope": "actor, branch or runner",
        "rm": "remove the builder",
        "status": "show driver, nodes, BuildKit, disk",
        "prune": "prune the builder cache",
        "reap": "remove scoped builders (bakery-*) idle longer than AGE: 90s, 30m, 12h, 7d, 2w",
        "keep_storage": "with --prune: cache to keep, e.g. 10GB",
        "prune_all": "with --prune: everything (buildx prune --all), e.g. to clear a damaged cache",
        "filter": "with --prune: a filter (repeatable)",
        "append": "add a node at this endpoint",
        "no_bootstrap": "create without booting (docker-container)",
    },
    iterable=["filter"],
)
def builder(
    c,
    driver=None,
    name=None,
    scope=None,
    rm=False,
    status=False,
    prune=False,
    prune_all=False,
    reap=None,
    keep_storage=None,
    filter=None,
    append=None,
    no_bootstrap=False,
):
    """Create, check or maintain the persistent buildx builder: one action per call (docs/commands.md)."""
    from bakery.cli import builder_command

    flags = builder_command.Flags(
        driver=driver,
        name=name,
        scope=scope,
        rm=rm,
        status=status,
        prune=prune,
        prune_all=prune_all,
        reap=reap,
        keep_storage=keep_storage,
        filters=tuple(filter or ()),
        append=append,
        no_bootstrap=no_bootstrap,
    )
    action = flags.action()
    for line in builder_command.run(flags, action, load(flags.settings())):
        print(line)


@axis_task(
    help={
        **SELECTION_HELP,
        "print": "print the bake definition only",
        "file": "another bake file with the same variables",
        "progress": "auto (one line per step, summarised), plain or rawjson (buildx's own), quiet",
    },
    positional=["targets"],
)
def bake(c, axes, targets=None, matrix=None, print=False, file=None, progress="auto"):
    """Bake targets for the selected vectors (default: the default group, default vector)."""
    from bakery.baking import bake as bake_module

    if progress not in ("auto", "plain", "rawjson", "quiet"):
        raise UsageError(f"--progress={progress!r} is not allowed; allowed: auto, plain, rawjson, quiet")
    flags, use_matrix = selection(axes, matrix)
    settings = load({**flags, "BAKERY_BAKE_FILE": file})
    vectors = settings.vectors(use_matrix=use_matrix)
    bake_module.run(settings, _targets(targets), vectors, print_only=print, progress_mode=progress)


@axis_task(help={"format": "table, json or github", "matrix": "matrix name (default: BAKERY_MATRIX)"})
def matrix(c, axes, format="table", matrix=None):
    """Print the expanded matrix as a table, JSON, or a GitHub Actions strategy.matrix."""
    from bakery.tree import report

    settings = load({**axes, "BAKERY_MATRIX": matrix})
    vectors = settings.vectors(use_matrix=True)
    if format not in ("table", "json", "github"):
        raise UsageError(f"--format={format!r} is not allowed; allowed: table, json, github")
    names = None
    if format == "github":
        from bakery.cli import sessions

        names = sessions.names(matrix)
    print(report.matrix_text(settings, vectors, format, names))


@axis_task(
    help={
        **SELECTION_HELP,
        "out": "directory for tree.dot/svg/png",
        "instances": "draw every instance instead of one box per family",
    },
    positional=["targets"],
)
def plan(c, axes, targets=None, matrix=None, out="runs/plan", instances=False):
    """Show shared instances, the total against a naive build, and a DOT graph of the tree."""
    from bakery.tree import plan as plan_module

    flags, use_matrix = selection(axes, matrix)
    settings = load(flags)
    out_dir = plan_module.prepare_out(settings.run_dir.parent / out)
    result = plan_module.build(settings, _targets(targets), settings.vectors(use_matrix=use_matrix))
    print("\n".join(plan_module.report(result)))
    for path in plan_module.write_graph(result, out_dir, instances=instances):
        print(f"wrote {path}")


@axis_task(help={})
def doctor(c, axes):
    """Check docker, the daemon, buildx, the builder, the root images, emulation and free disk."""
    from bakery.engine import doctor as doctor_module

    checks = doctor_module.run(load(axes))
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not all(check.ok for check in checks):
        raise BakeryError("doctor found problems; see the FAIL lines", exit_code=EXIT_ENVIRONMENT)


@task
def clean(c):
    """Remove the per-vector :latest images and the run directories bakery created."""
    from bakery.baking import clean as clean_module

    settings = load({})
    for line in clean_module.run(settings, settings.run_dir):
        print(line)


@axis_task(
    name="system-image",
    help={
        "refresh": "rebuild even if the image exists",
        "mirror": "Debian mirror URL",
        "suite": "Debian suite (default: from sys_version)",
        "matrix": SELECTION_HELP["matrix"],
    },
)
def system_image(c, axes, refresh=False, mirror=None, suite=None, matrix=None):
    """Build the root images the selected vectors need with mmdebstrap and load them into the engine."""
    from bakery.engine import docker
    from bakery.engine import system_image as system_image_module

    flags, use_matrix = selection(axes, matrix)
    settings = load({**flags, "BAKERY_MIRROR": mirror, "BAKERY_SUITE": suite})
    vectors = settings.vectors(use_matrix=use_matrix, runnable=False)
    for vector in vectors:
        if vector["sys_name"] != "debian":
            raise UsageError(f"system-image builds Debian roots only; sys_name={vector['sys_name']!r} needs a registry")
    docker.require_daemon()
    roots = system_image_module.roots(settings, vectors)
    for line in system_image_module.ensure_roots(settings, roots, refresh=refresh):
        print(line)


@task(help={"check": "only check for drift; exit 1 if bake.hcl is out of date"})
def generate(c, check=False):
    """Regenerate bake.hcl's generated sections and the settings table of docs/settings.md."""
    from bakery.config import reference
    from bakery.tree import bakefile, hclgen

    settings = load({})
    path = bakefile.bake_file(settings)
    if check:
        if hclgen.drifted(path, settings.definition):
            raise BakeryError(f"{path} has drifted from docker/matrix.toml; run: invoke generate")
        if reference.drifted():
            raise BakeryError(f"{reference.DOCS} has drifted from the settings; run: invoke generate")
        print(f"{path}, {reference.DOCS}: up to date")
    else:
        print(f"{path}: {'rewritten' if hclgen.write(path, settings.definition) else 'up to date'}")
        print(f"{reference.DOCS}: {'rewritten' if reference.write() else 'up to date'}")


@axis_task(
    help={
        "no_build": "run the images as they are; build nothing",
        "tester_image": "tester image to run instead of the vector's complement-tester (not built)",
        "testee_image": "testee image to test instead of the vector's complement-testee (not built)",
        "compare": "OLD NEW (or OLD,NEW): only compare two results files and exit (no docker)",
        "update_baseline": "write this run's results over the baseline (with --compare: NEW over OLD)",
        "run_id": "id for the container name and the bakery.run-id label (default: generated)",
        "results_dir": "where results and logs are extracted (BAKERY_RESULTS_DIR, default: results)",
        "baseline": "baseline results file (BAKERY_BASELINE; default: the one in the testee image)",
    },
    positional=["new"],
)
def complement(
    c,
    axes,
    new=None,
    no_build=False,
    tester_image=None,
    testee_image=None,
    compare=None,
    update_baseline=False,
    run_id=None,
    results_dir=None,
    baseline=None,
):
    """Run the Complement suite for one vector and fail on regressions against the baseline."""
    from pathlib import Path

    from bakery.complement import run as complement_module

    settings = load({**axes, "BAKERY_RESULTS_DIR": results_dir, "BAKERY_BASELINE": baseline})
    if new and compare is None:
        raise UsageError(f"unexpected argument {new!r}; to compare two results files: --compare OLD NEW")
    if compare is not None:
        # `--compare OLD NEW` as people type it; `--compare OLD,NEW` as before.
        old, new_path = (Path(compare), Path(new)) if new else complement_module.split_compare(compare)
        complement_module.compare_files(settings, old, new_path, update=update_baseline)
        return
    options = complement_module.Options(
        no_build=no_build,
        tester_image=tester_image,
        testee_image=testee_image,
        run_id=run_id,
        update_baseline=update_baseline,
    )
    complement_module.run(settings, settings.vectors(), options)


@task(
    help={
        "quick": "fewer rounds (5 instead of 15)",
        "only": "comma-separated sections (default: all): front (bakery's own cost per command), "
        "plan (plan time against raw buildx), edit (edit-loop time against cargo), cold (a --no-cache build), "
        "systems (the systems matrix cold: one bake against each cell alone; not in the default)",
    }
)
def bench(c, quick=False, only="front,plan,edit,cold"):
    """Run the benchmarks (front, plan, edit, cold) into bench/results/ (bench/README.md)."""
    # bench/ is beside the package, not in it (docs/architecture.md).
    from bench import run as bench_run

    load({})
    print(f"wrote {bench_run.run(quick, [s for s in only.split(',') if s])}")


@task(help={"no_runner": "the two registries only, without runner B"})
def lab(c, no_runner=False):
    """Start the lab (two registries, runner B) for local experiments; Ctrl-C removes all of it."""
    import signal

    from lab import runners as lab_module

    with lab_module.running(runner=not no_runner) as running:
        print("\n".join(running.describe()), flush=True)
        signal.pause()


@task(help={"prune": "remove local cache entries (shared and untrusted scopes) not published for AGE: 7d, 2w"})
def cache(c, prune=None):
    """Upkeep of the local shared cache and the untrusted scopes (the maintenance workflow runs it)."""
    from bakery.cache import upkeep

    if prune is None:
        raise UsageError("say what to do: invoke cache --prune AGE (e.g. 14d)")
    print("\n".join(upkeep.prune(load({}), prune)))


@task(
    help={
        "what": "a run id (default: the last run) and targets, e.g. install",
        "against": "compare every step with this run instead of each step's latest earlier run",
        "format": "text or json",
    },
    positional=["what"],
)
def explain(c, what=None, against=None, format="text"):
    """Say why each step of a run ran: the first reason, against an earlier run (docs/why-rebuild.md)."""
    from bakery.explain import report

    if format not in report.FORMATS:
        raise UsageError(f"--format={format!r} is not allowed; allowed: {', '.join(report.FORMATS)}")
    run, targets = report.split([w for w in (what or "").split(",") if w])
    result = report.build(load({}).run_dir, run, against, targets)
    print(report.as_json(result) if format == "json" else "\n".join(report.text(result)))


@task(
    help={
        "event": "push (default), pull_request, schedule or workflow_dispatch",
        "workflow": "workflow file (default: ci/workflows/ci.yml; maintenance.yml for schedule)",
        "branch": "the branch the event is for (default: main, the default branch)",
        "fork": "with pull_request: the head repository is a fork",
        "var": "repository variable NAME=VALUE (repeatable)",
        "secret": "secret NAME (repeatable); the value comes from the environment variable NAME",
        "job": "run only this job id (act runs what it needs first)",
        "out": "run directory (default: runs/act/<UTC stamp>)",
        "repository": "OWNER/NAME in the event payload (default: example/mxd)",
    },
    iterable=["var", "secret"],
)
def act(
    c,
    event="push",
    workflow=None,
    branch="main",
    fork=False,
    var=None,
    secret=None,
    job=None,
    out=None,
    repository="example/mxd",
):
    """Run a workflow of ci/workflows under act on this host, offline, with the stand-in actions (docs/ci.md)."""
    import time
    from pathlib import Path

    from bakery import ROOT
    from bakery.cli import act as act_module

    load({})
    run = act_module.command(
        event=event,
        workflow=workflow,
        branch=branch,
        fork=fork,
        variables=var or [],
        secrets=secret or [],
        job=job,
        out=Path(out) if out else ROOT / "runs" / "act" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        repository=repository,
    )
    result = act_module.execute(run, capture=False)
    if result.returncode != 0:
        raise BakeryError(f"act: a job failed (act exit {result.returncode}); artifacts in {run.artifacts}")
    print(f"act: every job passed; artifacts in {run.artifacts}")
