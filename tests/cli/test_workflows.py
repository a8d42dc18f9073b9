"""The adoptable workflows in ci/workflows (ci/README.md): schema, pins, hygiene,
zizmor, and the nox session ids they build."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import DATA, VENV_BIN

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "ci" / "workflows").glob("*.yml"))
PINS = DATA / "actions-pins.tsv"
SHA = re.compile(r"^[0-9a-f]{40}$")


def parse(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def pins() -> dict[str, dict[str, str]]:
    if not PINS.is_file():
        pytest.fail(f"{PINS} is missing: the pinned action SHAs come from it (tests/data/SOURCES.md)")
    with PINS.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        table.setdefault(row["action"], {})[row["commit"]] = row["tag"]
    return table


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "maintenance.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_schema(path: Path) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_known_release_sha(path: Path) -> None:
    known = pins()
    lines = path.read_text().splitlines()
    uses = [(n, line) for n, line in enumerate(lines, 1) if re.match(r"^\s*-?\s*uses:", line)]
    for number, line in uses:
        match = re.match(r"^\s*-?\s*uses:\s*([^@\s]+)@(\S+)\s*#\s*(v\d+\.\d+\.\d+)\s*$", line)
        assert match, f"{path.name}:{number}: `uses:` must be action@<40-hex sha> # vX.Y.Z: {line.strip()}"
        action, ref, comment = match.groups()
        assert SHA.match(ref), f"{path.name}:{number}: {action} is pinned to {ref!r}, not a full commit SHA"
        assert action in known, f"{path.name}:{number}: {action} has no entry in {PINS}"
        assert ref in known[action], f"{path.name}:{number}: {action}@{ref} is not a release commit in {PINS}"
        assert known[action][ref] == comment, f"{path.name}:{number}: {ref} is {known[action][ref]}, not {comment}"
    # Every uses: the parser sees was checked above (none hides in flow style).
    parsed = [step["uses"] for _, step in steps(parse(path)) if "uses" in step]
    assert len(parsed) == len(uses)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_permissions_and_concurrency(path: Path) -> None:
    workflow = parse(path)
    assert workflow.get("permissions") == {}, "top-level permissions must be empty; grant per job"
    assert "group" in workflow.get("concurrency", {}), "a top-level concurrency group is required"
    for job_id, job in workflow["jobs"].items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{job_id}: job permissions must be explicit"
        allowed = {"contents": "read"} | ({"packages": "write"} if job_id == "publish" else {})
        assert granted.items() <= allowed.items(), f"{job_id}: {granted} is more than {allowed}"
        assert "timeout-minutes" in job, f"{job_id}: set timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts_hold_no_expressions_and_no_secrets(path: Path) -> None:
    text = path.read_text()
    for job_id, step in steps(parse(path)):
        script = step.get("run", "")
        assert "secrets." not in script, f"{job_id}: a secret inside a run: script"
        assert "${{" not in script, f"{job_id}: expressions in run: scripts invite injection; pass them by env"
    # Secrets appear only as action inputs (with:), never in env, where a script could print them.
    for job_id, job in parse(path)["jobs"].items():
        for scope in [job.get("env", {}), *(s.get("env", {}) for s in job.get("steps", []))]:
            assert not any("secrets." in str(v) for v in scope.values()), f"{job_id}: a secret in env"
    assert "toJSON(secrets)" not in text


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_does_not_persist_credentials(path: Path) -> None:
    for job_id, step in steps(parse(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, job_id


def test_shared_cache_and_credentials_only_on_protected_refs() -> None:
    workflow = parse(REPO / "ci" / "workflows" / "ci.yml")
    trusted = (
        "github.event_name == 'push' && (github.ref == format('refs/heads/{0}', "
        "github.event.repository.default_branch) || startsWith(github.ref, 'refs/tags/'))"
    )
    jobs = workflow["jobs"]
    assert trusted in jobs["init"]["env"]["TRUSTED"]
    # Trusted jobs get the shared location to write; untrusted ones the
    # read-only location (a pull-only registry login or a read-only mount),
    # never the writable one; a trusted job never gets the read-only one.
    read_only = (
        "${{ needs.init.outputs.trusted == 'true' && vars.BAKERY_CACHE_DIR"
        " || needs.init.outputs.trusted != 'true' && vars.BAKERY_CACHE_DIR_READ_ONLY || '' }}"
    )
    pull_only = {
        "registry": "${{ vars.BAKERY_CACHE_READ_REGISTRY }}",
        "username": "${{ vars.BAKERY_CACHE_READ_USER }}",
        "password": "${{ secrets.BAKERY_CACHE_READ_TOKEN }}",
    }
    for job_id, job in jobs.items():
        cache_dir = job.get("env", {}).get("BAKERY_CACHE_DIR")
        secret_steps = [step for step in job.get("steps", []) if "secrets." in str(step.get("with", {}))]
        if job_id == "publish":
            assert job["if"] == "${{ needs.init.outputs.trusted == 'true' }}"
            assert job["environment"] == "publish"
        elif job_id != "init":
            assert cache_dir == read_only, job_id
            assert job["env"]["BAKERY_BUILDER_SCOPE"] == "${{ needs.init.outputs.scope }}", job_id
            # The one secret: the pull-only token, for untrusted runs only, before any bake.
            (login,) = secret_steps
            assert login["with"] == pull_only, job_id
            assert login["if"] == (
                "${{ needs.init.outputs.trusted != 'true' && vars.BAKERY_CACHE_READ_REGISTRY != ''"
                " && !github.event.pull_request.head.repo.fork }}"
            ), job_id
            names = [step.get("name") for step in job["steps"]]
            assert names.index(login["name"]) < names.index("scoped builder"), job_id
        else:
            assert secret_steps == [], job_id
    assert "'branch'" in jobs["init"]["env"]["BAKERY_BUILDER_SCOPE"]


def test_matrices_come_from_invoke_matrix() -> None:
    workflow = parse(REPO / "ci" / "workflows" / "ci.yml")
    script = next(s["run"] for _, s in steps(workflow) if s.get("id") == "matrix")
    assert script.count("invoke matrix --format github") == 3
    assert workflow["env"]["BAKERY_MATRIX"] == "${{ vars.BAKERY_MATRIX || 'ci' }}"
    for family in ("lint", "test", "package", "compliance", "publish"):
        job = workflow["jobs"][family]
        assert job["strategy"]["matrix"] == f"${{{{ fromJSON(needs.init.outputs.{family}) }}}}"
        assert f'echo "{family}=' in script


# Every repository variable the workflows read with a default, and that
# default: what the workflows did before they read the variable. A variable
# used as `vars.X || 'default'` anywhere must be here with the same default.
TODAY = {
    "ci.yml": {
        "BAKERY_MATRIX": "ci",
        "BAKERY_DRIVER": "docker-container",
        "BAKERY_PUBLISH_TOOLCHAIN": "stable",
        "BAKERY_LINT_TARGETS": "lints",
        "BAKERY_PACKAGE_TARGETS": "pkg",
        "BAKERY_LOGIN_REGISTRY": "ghcr.io",
        # Not today's: publish attaches provenance and the SBOM by default (docs/attestations.md).
        "BAKERY_ATTEST": "1",
        "BAKERY_PYTHON_VERSION": "3.12",
        "BAKERY_RUNS_ON": '["self-hosted","linux"]',
        # Unset, untrusted jobs import nothing, as before they could read the shared cache.
        "BAKERY_CACHE_DIR_READ_ONLY": "",
    },
    "maintenance.yml": {
        "BAKERY_DRIVER": "docker-container",
        "BAKERY_KEEP_STORAGE": "20GB",
        "BAKERY_PRUNE_UNTIL": "168h",
        "BAKERY_REAP_AGE": "7d",
        "BAKERY_CACHE_MAX_AGE": "14d",
        # New with the check bake that ends the job.
        "BAKERY_CHECK_TARGETS": "install",
        "BAKERY_PYTHON_VERSION": "3.12",
        "BAKERY_RUNS_ON": '["self-hosted","linux"]',
    },
}
_DEFAULTED = re.compile(r"vars\.(\w+) \|\| '([^']*)'")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_variable_defaults_to_todays_value(path: Path) -> None:
    found: dict[str, set[str]] = {}
    for name, default in _DEFAULTED.findall(path.read_text()):
        found.setdefault(name, set()).add(default)
    assert found == {name: {value} for name, value in TODAY[path.name].items()}


def test_steps_read_the_variables() -> None:
    """Where each new variable lands, with today's behaviour when unset."""
    jobs = parse(REPO / "ci" / "workflows" / "ci.yml")["jobs"]
    named = {job_id: {s.get("name"): s for s in job["steps"]} for job_id, job in jobs.items()}
    assert named["lint"]["lints"]["env"]["TARGETS"] == "${{ vars.BAKERY_LINT_TARGETS || 'lints' }}"
    assert named["lint"]["lints"]["run"] == 'nox -s "$SESSION" -- "$TARGETS"'
    assert named["package"]["packages and install checks"]["env"]["TARGETS"] == (
        "${{ vars.BAKERY_PACKAGE_TARGETS || 'pkg' }}"
    )
    # Unset, the tester is built from the tree, as before.
    complement = named["compliance"]["complement"]
    assert complement["env"]["TESTER"] == "${{ vars.BAKERY_COMPLEMENT_TESTER }}"
    assert '${TESTER:+--tester-image "$TESTER"}' in complement["run"]
    assert jobs["publish"]["env"]["LOGIN_REGISTRY"] == "${{ vars.BAKERY_LOGIN_REGISTRY || 'ghcr.io' }}"
    assert named["publish"]["log in to the image registry"]["with"]["registry"] == "${{ env.LOGIN_REGISTRY }}"
    for path in WORKFLOWS:
        for job_id, step in steps(parse(path)):
            if step.get("uses", "").startswith("actions/setup-python@"):
                assert step["with"]["python-version"] == "${{ vars.BAKERY_PYTHON_VERSION || '3.12' }}", job_id


def test_vector_jobs_take_the_session_from_the_matrix_rows() -> None:
    workflow = parse(REPO / "ci" / "workflows" / "ci.yml")
    for family in ("lint", "test", "package"):
        assert workflow["jobs"][family]["env"]["SESSION"] == "${{ matrix.session }}", family
    nox_runs = [s["run"] for _, s in steps(workflow) if s.get("run", "").startswith("nox ")]
    assert nox_runs == ['nox -s "$SESSION" -- "$TARGETS"', 'nox -s "$SESSION" -- tests-unit tests-smoke',
                        'nox -s "$SESSION" -- "$TARGETS"']  # fmt: skip


@pytest.mark.parametrize(
    ("matrix", "filters", "first"),
    [
        ("default", [], "bake(sys=debian,feat=none)"),
        ("ci", [], "bake(sys=debian,feat=none,profile=test,toolchain=nightly)"),
        # A filtered selection keeps the whole matrix's session ids.
        ("ci", ["--cargo-profile", "release"], "bake(sys=debian,feat=none,profile=release,toolchain=nightly)"),
    ],
)
def test_invoke_matrix_rows_name_sessions_nox_registers(matrix: str, filters: list[str], first: str) -> None:
    env = {**os.environ, "BAKERY_MATRIX": matrix}
    shown = subprocess.run(
        [str(VENV_BIN / "invoke"), "matrix", "--format", "github", *filters],
        cwd=REPO, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = json.loads(shown)["include"]
    assert rows[0]["session"] == first
    # nox's own listing (its --json leaves parametrized sessions out).
    listed = subprocess.run(
        [str(VENV_BIN / "nox"), "--list"], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout
    registered = set(re.findall(r"^[*-] (bake\([^)]*\))", listed, re.M))
    assert {row["session"] for row in rows} <= registered


def test_publish_follows_the_tag_policy() -> None:
    workflow = parse(REPO / "ci" / "workflows" / "ci.yml")
    publish = workflow["jobs"]["publish"]
    scripts = {s.get("name"): s for s in publish["steps"]}
    main = scripts["push <ref>-<profile>-<feat>-<sys_target>"]["run"]
    assert 'publish_tag="$ref-$VECTOR_CARGO_PROFILE-$VECTOR_FEAT_SET-$VECTOR_SYS_TARGET"' in main
    latest = scripts["push latest"]
    assert "export publish_tag=latest" in latest["run"]
    assert latest["if"] == (
        "${{ startsWith(github.ref, 'refs/tags/') && matrix.cargo_profile == 'release' && matrix.feat_set == 'all' }}"
    )
    logins = [s for s in publish["steps"] if s.get("uses", "").startswith("docker/login-action@")]
    assert len(logins) == 2 and all("secrets." in str(s["with"]["password"]) for s in logins)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts_pass_shellcheck(path: Path, tmp_path: Path) -> None:
    for n, (job_id, step) in enumerate(steps(parse(path))):
        if "run" not in step:
            continue
        script = tmp_path / f"{job_id}-{n}.sh"
        script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])
        result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{path.name} {job_id} step {n}:\n{result.stdout}"


def test_zizmor_offline_reports_nothing_high() -> None:
    zizmor = VENV_BIN / "zizmor"
    assert zizmor.is_file(), "zizmor is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run(
        [str(zizmor), "--offline", "--min-severity", "high", "--format", "plain", *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # The default persona too: no finding of any severity.
    everything = subprocess.run(
        [str(zizmor), "--offline", *map(str, WORKFLOWS)], capture_output=True, text=True, check=False
    )
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert "No findings to report" in everything.stdout + everything.stderr


STAND_INS = sorted((REPO / "ci" / "actions").glob("*/*/action.yml"))


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("path", STAND_INS, ids=lambda p: "/".join(p.parts[-3:-1]))
def test_stand_in_scripts_pass_shellcheck_and_take_inputs_by_env(path: Path, tmp_path: Path) -> None:
    action = parse(path)
    scripts = [step["run"] for step in action["runs"]["steps"] if "run" in step]
    assert scripts, f"{path}: no run step"
    for n, script in enumerate(scripts):
        assert "${{" not in script, f"{path}: pass inputs by env, not expressions in the script"
        file = tmp_path / f"{n}.sh"
        file.write_text("#!/usr/bin/env bash\n" + script)
        result = subprocess.run(["shellcheck", str(file)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{path} step {n}:\n{result.stdout}"
