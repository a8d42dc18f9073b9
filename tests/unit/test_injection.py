"""Injection: no shell strings anywhere in the code that runs
commands, and every value that reaches bake as a variable or through `--set`
is validated first.

The second half goes through the docker seam: what bake would receive is the
env and argv recorded there, so nothing but validated values may appear in
them, whatever the caller's environment held.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake
from bakery.config import settings
from bakery.engine import docker
from bakery.errors import EXIT_USAGE, UsageError
from tests.conftest import DEFAULT_VECTOR, Recorder
from tests.support.docker_fakes import DEFINITION
from tests.support.settings import load

AXES = ("cargo_profile", "rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version", "sys_target")
PLURALS = tuple(a + "s" for a in AXES)
# Each axis with one allowed value other than its default (docker/matrix.toml).
NON_DEFAULT = {
    "cargo_profile": "test",
    "rust_toolchain": "stable",
    "rust_target": "aarch64-unknown-linux-gnu",
    "feat_set": "all",
    "sys_name": "ubuntu",
    "sys_version": "24.04",
    "sys_target": "aarch64-v8-linux-gnu",
}
DEFAULT = DEFAULT_VECTOR  # tests/conftest.py: written out once
# What an axis value may look like once validated (docs/tree.md, "Names").
SAFE_VALUE = re.compile(r"^[a-z0-9._-]+$")


# --- no shell strings ---------------------------------------------------------------------------------

# Split literals, so that greps for these calls (the before-stop hook's) do not flag this file itself.
SHELL_CALLS = (
    "shell" + "=True",
    "os.system" + "(",
    "os.popen(",
    "subprocess.getoutput(",
    "subprocess.getstatusoutput(",
)


def sources() -> list[Path]:
    packages = ("bakery", "lab", "bench")
    return sorted(p for name in packages for p in (ROOT / name).rglob("*.py")) + [
        ROOT / "tasks.py",
        ROOT / "noxfile.py",
    ]


def offending_lines(text: str) -> list[str]:
    """`line: call` for each shell call in the code (comments may name them)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        found += [f"{number}: {call}" for call in SHELL_CALLS if call in code]
    return found


def test_the_sources_searched_are_the_package_and_the_wiring():
    names = {str(p.relative_to(ROOT)) for p in sources()}
    assert {
        "bakery/engine/docker.py",
        "bakery/baking/bake.py",
        "bakery/complement/run.py",
        "lab/runners.py",
        "tasks.py",
        "noxfile.py",
    } <= names
    assert len(names) >= 20


def test_no_shell_strings_in_the_package_tasks_or_nox_sessions():
    offenders = [
        f"{path.relative_to(ROOT)}:{hit}" for path in sources() for hit in offending_lines(path.read_text("utf-8"))
    ]
    assert offenders == []


def test_the_grep_finds_each_kind_of_offender():
    text = "\n".join(
        [
            "import os, subprocess",
            'subprocess.run("id", shell' + "=True)",
            "os.system" + '("id")  # bad',
            'os.popen("id")',
            'subprocess.getoutput("id")',
            "# os.system" + "( in a comment is fine",
        ]
    )
    assert offending_lines(text) == [
        "2: shell" + "=True",
        "3: os.system" + "(",
        "4: os.popen(",
        "5: subprocess.getoutput(",
    ]


# --- every value reaching bake is validated -------------------------------------------------------------


def print_answer(call: docker.Call) -> docker.Completed:
    return docker.Completed(call.argv, 0, json.dumps({"target": {}}), "")


@pytest.mark.parametrize("axis", AXES)
def test_each_axis_reaches_bake_only_as_a_validated_plural_array(
    axis: str, seam: Recorder, monkeypatch: pytest.MonkeyPatch
):
    # The process environment holds every singular and plural axis variable,
    # as a caller's shell might: bake reads declared variables from its
    # environment, so none of them may reach it as they were.
    for name in AXES + PLURALS:
        monkeypatch.setenv(name, "inherited-should-not-reach")
    seam.respond = print_answer
    # The settings: a flag for this axis over a valid environment value, and
    # valid environment values for the others.
    environ = {name: NON_DEFAULT[name] for name in AXES if name != axis}
    environ[axis] = DEFAULT[axis]
    loaded = load({axis: NON_DEFAULT[axis]}, NO_BAKE="1", **environ)
    bake.run(loaded, ["default"], loaded.vectors(), out=lambda line: None)
    (call,) = seam.calls
    assert call.argv == ("docker", "buildx", "bake", "--file", str(ROOT / "docker" / "bake.hcl"), "--print", "default")
    assert call.env is not None
    for name in AXES:
        assert name not in call.env, f"the singular {name} reached bake"
    arrays = {name: json.loads(call.env[name]) for name in PLURALS}
    assert arrays == {name + "s": [NON_DEFAULT[name]] for name in AXES}
    assert all(SAFE_VALUE.fullmatch(v) for values in arrays.values() for v in values)
    assert "inherited-should-not-reach" not in json.dumps(dict(call.env))


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"feat_set": "$(id)"}, "feat_set: '$(id)' is not a valid feat_set"),
        ({"feat_sets": '["all", "$(id)"]'}, "feat_sets: '$(id)' is not a valid feat_set"),
        ({"feat_sets": '["all"'}, "feat_sets='[\"all\"' is not valid JSON"),
        ({"feat_set": "all;id"}, "feat_set: 'all;id' is not a valid feat_set"),
    ],
)
def test_a_bad_inherited_value_fails_even_when_a_flag_overrides_it(
    environ: dict[str, str], says: str, seam: Recorder, monkeypatch: pytest.MonkeyPatch
):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)  # in os.environ too, where buildx would read it
    with pytest.raises(UsageError) as info:
        loaded = load({"feat_set": "none"}, NO_BAKE="1", **environ)
        bake.run(loaded, ["default"], loaded.vectors(), out=lambda line: None)
    assert info.value.exit_code == EXIT_USAGE
    assert says in str(info.value)
    assert seam.calls == []


def test_a_bad_dotenv_value_shadowed_by_the_environment_fails(seam: Recorder, tmp_path: Path):
    dotenv = tmp_path / "bad.env"
    dotenv.write_text("sys_name=`id`\n")
    with pytest.raises(UsageError, match=r"^sys_name: '`id`' is not a valid sys_name"):
        settings.load({}, {"BAKERY_DOTENV": str(dotenv), "sys_name": "debian"})
    assert seam.calls == []


# --- --set values ----------------------------------------------------------------------------------------


def bake_responder(call: docker.Call) -> docker.Completed:
    args = call.argv[1:]
    answers = {
        ("info", "--format", "{{json .ID}} {{json .ServerVersion}} {{json .DockerRootDir}} {{json .DriverStatus}}"): (
            '"daemon-1" "28.5.2" "/" []\n'
        ),
        ("buildx", "version"): "github.com/docker/buildx 0.29.1\n",
        ("buildx", "inspect", "default"): "Name: default\nDriver: docker\n",
    }
    if args in answers:
        return docker.Completed(call.argv, 0, answers[args], "")
    if "--print" in args:
        return docker.Completed(call.argv, 0, json.dumps(DEFINITION), "")
    return docker.Completed(call.argv, 0, "", "")


def set_values(argv: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == "--set"]


def test_no_set_values_without_a_cache(seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    seam.respond = bake_responder
    loaded = load({}, BAKERY_RUN_DIR=str(tmp_path / "runs"), BAKERY_MIN_FREE_GB="0")
    bake.run(loaded, ["default"], loaded.vectors(), out=lambda line: None)
    bake_call = seam.argvs[-1]
    assert "--print" not in bake_call and bake_call[:3] == ("docker", "buildx", "bake")
    assert set_values(bake_call) == []


@pytest.mark.parametrize("free", ["3;id", "$(nproc)", "3 --set x.args.y=z", "-1"])
def test_a_bad_number_setting_stops_before_docker(free: str, seam: Recorder):
    with pytest.raises(UsageError, match=r"^BAKERY_MIN_FREE_GB=.* is not a whole number$") as info:
        load({}, BAKERY_MIN_FREE_GB=free)
    assert info.value.exit_code == EXIT_USAGE
    assert seam.calls == []
