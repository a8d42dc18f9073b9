"""The bad-input grid: every entry point against every kind of
bad input, through the real command line in a subprocess.

Each case asserts:
- the documented exit code (2 for bad input; nox exits non-zero);
- exactly one error line on stderr, and it names the problem;
- nothing that builds, runs, creates, removes, imports or prunes reached the
  docker seam (BAKERY_SEAM_LOG records every argv; `bake --print` and
  read-only probes are allowed), and the bad value itself reached no argv.

Every case also points DOCKER_HOST at a dead socket, so a docker call that
slipped through could not touch the engine (`bake --print` needs no daemon).
`invoke complement` is covered elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bakery import ROOT
from tests.conftest import OURS, VENV_BIN, invoke

DEAD_DOCKER = "unix:///nonexistent/bakery-grid-docker.sock"
NON_UTF8 = b"\xff\xfe".decode("utf-8", "surrogateescape")  # bytes that are not UTF-8, as os.environ holds them
LONG = "a" * 300
NOX_SESSION = "bake(sys=debian,feat=none)"

# Subcommands that change something. `bake` is allowed only with --print.
MUTATING = {"build", "run", "create", "rm", "rmi", "import", "prune", "push", "load", "tag", "kill", "stop", "commit"}


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    says: str  # a substring of the one error line
    env: dict[str, str] = field(default_factory=dict)
    dotenv: str | None = None  # contents of a .env file (BAKERY_DOTENV points at it)
    code: int = 2
    marker: str | None = None  # the bad value; it must reach no argv at the seam
    tool: str = "invoke"  # or "nox"
    # The case reaches the docker CLI (`bake --print` or a read-only probe): it
    # needs docker and buildx, and skips without them (fails in CI, as in conftest).
    docker: bool = False


CASES = [
    # --- bake: shell metacharacters, newlines, length, emptiness, bytes -------------------------
    Case(
        "bake-flag-semicolon",
        ("bake", "default", "--print", "--feat-set", "a;rm -rf /"),
        "is not a valid feat_set",
        marker="a;rm -rf /",
    ),
    Case(
        "bake-flag-cmdsubst",
        ("bake", "default", "--print", "--cargo-profile", "$(id)"),
        "'$(id)' is not a valid cargo_profile",
        marker="$(id)",
    ),
    Case(
        "bake-flag-backticks",
        ("bake", "default", "--print", "--sys-name", "`id`"),
        "'`id`' is not a valid sys_name",
        marker="`id`",
    ),
    Case(
        "bake-flag-pipe-in-json",
        ("bake", "default", "--print", "--rust-toolchain", '["stable", "1.97|id"]'),
        "'1.97|id' is not a valid rust_toolchain",
        marker="1.97|id",
    ),
    Case(
        "bake-env-semicolon",
        ("bake", "default", "--print"),
        "feat_set: 'a;rm -rf /' is not a valid feat_set",
        env={"feat_set": "a;rm -rf /"},
    ),
    Case(
        "bake-env-inner-newline",
        ("bake", "default", "--print"),
        "is not a valid feat_set",
        env={"feat_set": "default\nall"},
    ),
    Case(
        "bake-env-trailing-newline",
        ("bake", "default", "--print"),
        "cargo_profile",
        env={"cargo_profile": "release\n"},
        docker=True,
    ),
    Case(
        "bake-flag-300-chars",
        ("bake", "default", "--print", "--sys-version", LONG),
        "sys_version",
        docker=True,
    ),
    Case("bake-flag-empty", ("bake", "default", "--print", "--feat-set="), "--feat-set: '' is not a valid feat_set"),
    Case("bake-flag-empty-sys-name", ("bake", "default", "--print", "--sys-name", ""), "'' is not a valid sys_name"),
    Case("bake-env-non-utf8", ("bake", "default", "--print"), "is not a valid sys_name", env={"sys_name": NON_UTF8}),
    # --- bake: JSON arrays ---------------------------------------------------------------------------
    Case(
        "bake-env-json-malformed",
        ("bake", "default", "--print"),
        "feat_sets='[none' is not valid JSON",
        env={"feat_sets": "[none"},
    ),
    Case(
        "bake-env-json-object",
        ("bake", "default", "--print"),
        "is not a JSON array of strings",
        env={"feat_sets": '{"none": 1}'},
    ),
    Case(
        "bake-env-json-numbers",
        ("bake", "default", "--print"),
        "cargo_profiles='[1, 2]' is not a JSON array of strings",
        env={"cargo_profiles": "[1, 2]"},
    ),
    Case(
        "bake-env-json-empty-list",
        ("bake", "default", "--print"),
        "feat_sets: an empty list selects nothing",
        env={"feat_sets": "[]"},
    ),
    Case(
        "bake-env-json-empty-string",
        ("bake", "default", "--print"),
        "feat_sets: '' is not a valid feat_set",
        env={"feat_sets": '[""]'},
    ),
    # --- bake: misspellings, flags, targets, files, booleans, choices --------------------------------
    Case(
        "bake-env-misspelt-plural",
        ("bake", "default", "--print"),
        "unknown variable feat_sets_; did you mean feat_sets?",
        env={"feat_sets_": '["none"]'},
    ),
    Case(
        "bake-dotenv-misspelt",
        ("bake", "default", "--print"),
        "unknown variable rust_toolchians; did you mean rust_toolchains?",
        dotenv='rust_toolchians=["stable"]\n',
    ),
    Case("bake-bogus-flag", ("bake", "default", "--bogus"), "No idea what '--bogus' is"),
    Case(
        "bake-unknown-target",
        ("bake", "no-such-target", "--print"),
        "failed to find target no-such-target",
        docker=True,
    ),
    Case(
        "bake-target-metachar",
        ("bake", "default;id", "--print"),
        "target 'default;id' is not a valid bake target name",
        marker="default;id",
    ),
    Case(
        "bake-missing-bake-file-env",
        ("bake", "default", "--print"),
        "bake file /nonexistent/bake.hcl not found",
        env={"BAKERY_BAKE_FILE": "/nonexistent/bake.hcl"},
    ),
    Case(
        "bake-missing-bake-file-flag",
        ("bake", "default", "--print", "--file", "/nonexistent/other.hcl"),
        "bake file /nonexistent/other.hcl not found",
    ),
    Case(
        "bake-bad-bool-no-bake",
        ("bake", "default"),
        "NO_BAKE='maybe' is not a boolean; allowed: true, false, 1, 0",
        env={"NO_BAKE": "maybe"},
    ),
    Case("bake-bad-bool-ci", ("bake", "default", "--print"), "CI='yes' is not a boolean", env={"CI": "yes"}),
    Case(
        "bake-both-forms",
        ("bake", "default", "--print"),
        "both feat_set and feat_sets are set",
        env={"feat_set": "none", "feat_sets": '["all"]'},
    ),
    Case("bake-bad-progress", ("bake", "default", "--progress", "fancy"), "--progress='fancy' is not allowed"),
    Case(
        "bake-bad-matrix-name",
        ("bake", "default", "--print", "--matrix", "nosuch"),
        "matrix 'nosuch' is not defined",
    ),
    Case(
        "bake-bad-lock-timeout",
        ("bake", "default", "--print"),
        "BAKERY_LOCK_TIMEOUT='-1' is not a whole number",
        env={"BAKERY_LOCK_TIMEOUT": "-1"},
    ),
    Case(
        "bake-bad-secrets",
        ("bake", "default", "--print"),
        "BAKERY_SECRETS='***' is not valid JSON",
        env={"BAKERY_SECRETS": "id=gh"},
    ),
    # --- matrix ---
    Case(
        "matrix-bad-format",
        ("matrix", "--format", "xml"),
        "--format='xml' is not allowed; allowed: table, json, github",
    ),
    Case("matrix-bad-name", ("matrix", "--matrix", "nosuch"), "matrix 'nosuch' is not defined"),
    Case(
        "matrix-env-misspelt",
        ("matrix",),
        "unknown variable BAKERY_MATRX; did you mean BAKERY_MATRIX?",
        env={"BAKERY_MATRX": "ci"},
    ),
    Case("matrix-double-dash", ("matrix", "--cargo-profile", "a--b"), "'a--b' is not a valid cargo_profile"),
    Case("matrix-uppercase", ("matrix", "--sys-target", "X86_64-v1-linux-gnu"), "is not a valid sys_target"),
    Case("matrix-flag-non-utf8", ("matrix", "--feat-set", NON_UTF8), "is not a valid feat_set"),
    Case(
        "matrix-env-json-nested",
        ("matrix",),
        "rust_toolchains='[[\"stable\"]]' is not a JSON array of strings",
        env={"rust_toolchains": '[["stable"]]'},
    ),
    Case(
        "matrix-dotenv-json-malformed", ("matrix",), "feat_sets='[none' is not valid JSON", dotenv="feat_sets=[none\n"
    ),
    Case(
        "matrix-bad-flag-value",
        ("matrix", "--feat-set", "some"),
        "'some' is not a valid feat_set; allowed: one of none, default, all",
    ),
    # --- plan ---
    Case(
        "plan-flag-cmdsubst",
        ("plan", "default", "--feat-set", "$(id)"),
        "'$(id)' is not a valid feat_set",
        marker="$(id)",
    ),
    Case("plan-unknown-target", ("plan", "no-such-target"), "failed to find target no-such-target", docker=True),
    Case("plan-target-metachar", ("plan", "a;b"), "target 'a;b' is not a valid bake target name", marker="a;b"),
    Case(
        "plan-dotenv-misspelt",
        ("plan", "default"),
        "unknown variable CI_VERBOS; did you mean CI_VERBOSE?",
        dotenv="CI_VERBOS=1\n",
    ),
    Case(
        "plan-missing-bake-file",
        ("plan", "default"),
        "bake file /nonexistent/bake.hcl not found",
        env={"BAKERY_BAKE_FILE": "/nonexistent/bake.hcl"},
    ),
    Case(
        "plan-bad-matrix",
        ("plan", "default", "--matrix", "nosuch"),
        "matrix 'nosuch' is not defined",
    ),
    Case(
        "plan-out-under-a-file",
        ("plan", "default", "--out", "{file}/plan"),
        "{file}/plan",
        docker=True,
    ),
    # --- builder ---
    Case(
        "builder-bad-driver",
        ("builder", "--driver", "bogus"),
        "'bogus' is not allowed; allowed: docker, docker-container, remote, kubernetes",
    ),
    Case(
        "builder-bad-scope", ("builder", "--scope", "bogus"), "'bogus' is not allowed; allowed: actor, branch, runner"
    ),
    Case(
        "builder-bad-name",
        ("builder", "--name", "x;rm"),
        "'x;rm' is not a valid builder name",
        marker="x;rm",
        docker=True,
    ),
    Case(
        "builder-env-driver",
        ("builder", "--status"),
        "BAKERY_DRIVER='podman' is not allowed",
        env={"BAKERY_DRIVER": "podman"},
    ),
    Case(
        "builder-both-forms",
        ("builder",),
        "both rust_toolchain and rust_toolchains are set",
        env={"rust_toolchain": "stable", "rust_toolchains": '["stable"]'},
    ),
    Case(
        "builder-driver-opts-json",
        ("builder", "--driver", "docker-container"),
        "BAKERY_DRIVER_OPTS='[1]' is not a JSON array of strings",
        env={"BAKERY_DRIVER_OPTS": "[1]"},
    ),
    Case(
        "builder-bad-bool",
        ("builder", "--driver", "docker-container"),
        "BAKERY_BOOTSTRAP='yes' is not a boolean",
        env={"BAKERY_BOOTSTRAP": "yes"},
    ),
    Case(
        "builder-image-newline",
        ("builder", "--driver", "docker-container"),
        "BAKERY_BUILDKIT_IMAGE contains a newline",
        env={"BAKERY_BUILDKIT_IMAGE": "moby/buildkit\n--privileged"},
    ),
    Case(
        "builder-mirrors-json",
        ("builder", "--driver", "docker-container"),
        "BAKERY_REGISTRY_MIRRORS='mirror.invalid' is not valid JSON",
        env={"BAKERY_REGISTRY_MIRRORS": "mirror.invalid"},
    ),
    Case("builder-bogus-flag", ("builder", "--bogus"), "No idea what '--bogus' is"),
    Case(
        "builder-rm-and-prune",
        ("builder", "--rm", "--prune"),
        "--rm and --prune cannot be combined: invoke builder does one action at a time",
    ),
    Case(
        "builder-keep-storage-without-prune",
        ("builder", "--keep-storage", "10GB"),
        "--keep-storage applies only to --prune, not to create (no action flag); add --prune",
    ),
    Case("cache-no-action", ("cache",), "say what to do: invoke cache --prune AGE"),
    Case("cache-bad-age", ("cache", "--prune", "forever"), "age 'forever' is not allowed", marker="forever"),
    Case("lab-bogus-flag", ("lab", "--bogus"), "No idea what '--bogus' is"),
    Case(
        "builder-append-metachar-endpoint",
        ("builder", "--append", "tcp://x;rm -rf /"),
        "tcp://x;rm -rf /",
        marker="tcp://x;rm -rf /",
        docker=True,
    ),
    # --- doctor ---
    Case("doctor-bad-bool", ("doctor",), "CI='yes' is not a boolean", env={"CI": "yes"}),
    Case(
        "doctor-bad-int",
        ("doctor",),
        "BAKERY_MIN_FREE_GB='lots' is not a whole number",
        env={"BAKERY_MIN_FREE_GB": "lots"},
    ),
    Case(
        "doctor-env-misspelt",
        ("doctor",),
        "unknown variable BAKERY_MIN_FREEGB; did you mean BAKERY_MIN_FREE_GB?",
        env={"BAKERY_MIN_FREEGB": "1"},
    ),
    Case("doctor-axis-cmdsubst", ("doctor",), "sys_name: '$(id)' is not a valid sys_name", env={"sys_name": "$(id)"}),
    Case("doctor-bogus-flag", ("doctor", "--bogus"), "No idea what '--bogus' is"),
    # --- clean ---
    Case(
        "clean-env-misspelt",
        ("clean",),
        "unknown variable BAKERY_RUNDIR; did you mean BAKERY_RUN_DIR?",
        env={"BAKERY_RUNDIR": "runs"},
    ),
    Case(
        "clean-run-dir-newline",
        ("clean",),
        "BAKERY_RUN_DIR contains a newline or NUL byte",
        env={"BAKERY_RUN_DIR": "runs\n/"},
    ),
    Case("clean-bad-bool", ("clean",), "CI_VERBOSE='2' is not a boolean", env={"CI_VERBOSE": "2"}),
    Case("clean-bogus-flag", ("clean", "--all"), "No idea what '--all' is"),
    # --- system-image ---
    Case(
        "system-image-semicolon", ("system-image", "--sys-name", "x;y"), "'x;y' is not a valid sys_name", marker="x;y"
    ),
    Case(
        "system-image-cmdsubst",
        ("system-image", "--sys-version", "$(id)"),
        "'$(id)' is not a valid sys_version",
        marker="$(id)",
    ),
    Case("system-image-not-debian", ("system-image", "--sys-name", "ubuntu"), "system-image builds Debian roots only"),
    Case(
        "system-image-mirror-newline",
        ("system-image", "--mirror", "http://m.invalid\n--x"),
        "--mirror='http://m.invalid\\n--x' is not allowed",
        marker="--x",
    ),
    Case(
        "system-image-dotenv-misspelt",
        ("system-image",),
        "unknown variable sys_versoin; did you mean sys_version?",
        dotenv="sys_versoin=bookworm-slim\n",
    ),
    Case(
        "system-image-suite-option",
        ("system-image", "--suite=--variant=custom"),
        "--variant=custom",
        docker=True,
    ),
    # --- generate and unknown tasks ---
    Case(
        "generate-missing-bake-file",
        ("generate", "--check"),
        "/nonexistent/bake.hcl",
        env={"BAKERY_BAKE_FILE": "/nonexistent/bake.hcl"},
    ),
    Case(
        "generate-env-misspelt",
        ("generate",),
        "unknown variable BAKERY_MATRX; did you mean BAKERY_MATRIX?",
        env={"BAKERY_MATRX": "ci"},
    ),
    Case("generate-bogus-flag", ("generate", "--bogus"), "No idea what '--bogus' is"),
    Case("unknown-task", ("nosuchtask",), "No idea what 'nosuchtask' is"),
    # --- nox bake sessions ---
    Case(
        "nox-env-json-malformed",
        ("-s", "bake(invalid-settings)"),
        "feat_sets='[none' is not valid JSON",
        env={"feat_sets": "[none"},
        tool="nox",
        code=1,
    ),
    Case(
        "nox-env-bad-bool",
        ("-s", "bake(invalid-settings)"),
        "CI='yes' is not a boolean",
        env={"CI": "yes"},
        tool="nox",
        code=1,
    ),
    Case(
        "nox-env-cmdsubst",
        ("-s", "bake(invalid-settings)"),
        "cargo_profile: '$(id)' is not a valid cargo_profile",
        env={"cargo_profile": "$(id)"},
        tool="nox",
        code=1,
    ),
    Case(
        "nox-dotenv-misspelt",
        ("-s", "bake(invalid-settings)"),
        "did you mean rust_toolchains?",
        dotenv='rust_toolchians=["stable"]\n',
        tool="nox",
        code=1,
    ),
    Case(
        "nox-target-metachar",
        ("-s", NOX_SESSION, "--", "a;b"),
        "target 'a;b' is not a valid bake target name",
        env={"NO_BAKE": "1"},
        tool="nox",
        code=1,
        marker="a;b",
    ),
    Case(
        "nox-target-option",
        ("-s", NOX_SESSION, "--", "--push"),
        "'--push'",
        env={"NO_BAKE": "1"},
        tool="nox",
        code=1,
        marker="--push",
    ),
    Case(
        "nox-session-with-misspelt-env",
        ("-s", NOX_SESSION),
        "did you mean feat_sets?",
        env={"feat_sets_": '["none"]'},
        tool="nox",
        code=3,
    ),
]


def _params() -> list:
    return [pytest.param(case, id=case.id) for case in CASES]


def commands(argv: list[str]) -> list[str]:
    """The subcommand words of a docker argv: those before the first option."""
    words = []
    for word in argv[1:]:
        if word.startswith("-"):
            break
        words.append(word)
    return words


def forbidden(argv: list[str]) -> bool:
    words = commands(argv)
    return bool(MUTATING & set(words)) or ("bake" in words and "--print" not in argv)


def test_forbidden_recognises_what_may_not_reach_the_seam():
    assert forbidden(["docker", "buildx", "bake", "--file", "f", "default"])
    assert forbidden(["docker", "buildx", "create", "--name", "b"])
    assert forbidden(["docker", "buildx", "rm", "b"])
    assert forbidden(["docker", "image", "rm", "x"])
    assert forbidden(["docker", "import", "--change", "x", "root.tar", "debian:testing"])
    assert forbidden(["docker", "buildx", "prune", "--force"])
    assert forbidden(["docker", "run", "--rm", "x"])
    assert not forbidden(["docker", "buildx", "bake", "--file", "f", "--print", "build"])
    assert not forbidden(["docker", "buildx", "inspect", "default"])
    assert not forbidden(["docker", "version", "--format", "{{.Server.Version}}"])
    assert not forbidden(["docker", "image", "ls", "--format", "x"])


def _run(case: Case, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    regular_file = tmp_path / "a-regular-file"
    regular_file.write_text("not a directory\n")
    env = {
        "BAKERY_SEAM_LOG": str(tmp_path / "seam.jsonl"),
        "DOCKER_HOST": DEAD_DOCKER,
        "BAKERY_DOTENV": str(tmp_path / "absent.env"),
        **case.env,
    }
    if case.dotenv is not None:
        dotenv = tmp_path / "test.env"
        dotenv.write_text(case.dotenv)
        env["BAKERY_DOTENV"] = str(dotenv)
    args = [a.replace("{file}", str(regular_file)) for a in case.args]
    if case.tool == "invoke":
        return invoke(*args, env=env, timeout=60)
    return subprocess.run(
        [str(VENV_BIN / "nox"), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    )


def _seam_log(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "seam.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Run the selected cases concurrently, once, and hand out the results.

    Module scope runs before the autouse clean-environment fixture, so this
    cleans the environment the same way itself: our variables removed.
    """
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if item.path == request.path and hasattr(item, "callspec") and "case" in item.callspec.params
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name in OURS or name.startswith(("BAKERY_", "COMPLEMENT_", "CI_", "GITHUB_")):
                patch.delenv(name)
        with ThreadPoolExecutor(max_workers=max(4, os.cpu_count() or 1)) as pool:
            runs = {}
            for case in CASES:
                if case.id in selected:
                    directory = tmp_path_factory.mktemp(case.id)
                    runs[case.id] = (directory, pool.submit(_run, case, directory))
            return {case_id: (directory, future.result()) for case_id, (directory, future) in runs.items()}


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: Case, outcomes, request: pytest.FixtureRequest):
    if case.docker:
        request.getfixturevalue("buildx_cli")
    tmp_path, result = outcomes[case.id]
    says = case.says.replace("{file}", str(tmp_path / "a-regular-file"))
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output

    assert result.returncode == case.code, output

    if case.tool == "invoke":
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("bakery: "), lines[0]
        assert says in lines[0]
        assert result.stdout == ""
    else:
        # nox adds its own "Session ... aborted" line; ours is the one bakery line.
        ours = [line for line in output.splitlines() if line.startswith("bakery:")]
        assert len(ours) == 1, output
        assert says in ours[0]

    reached = _seam_log(tmp_path)
    assert [argv for argv in reached if forbidden(argv)] == []
    if case.marker is not None:
        assert [argv for argv in reached if any(case.marker in word for word in argv)] == []


def test_nox_lists_the_invalid_settings_session_instead_of_hiding_the_error(tmp_path: Path):
    env = {
        "feat_sets": "[none",
        "BAKERY_SEAM_LOG": str(tmp_path / "seam.jsonl"),
        "DOCKER_HOST": DEAD_DOCKER,
    }
    result = subprocess.run(
        [str(VENV_BIN / "nox"), "--list"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "bake(invalid-settings)" in result.stdout
    assert re.search(r"^[*-] bake\(sys=", result.stdout, re.MULTILINE) is None
    assert _seam_log(tmp_path) == []


def test_the_grid_is_big_enough():
    assert len({case.id for case in CASES}) == len(CASES) >= 40
    entries = {case.args[0] if case.tool == "invoke" else "nox" for case in CASES}
    assert {
        "bake", "matrix", "plan", "builder", "doctor", "clean", "system-image", "generate", "cache", "lab", "nox",
    } <= entries  # fmt: skip
