"""Unit tests for bakery.redact and the places it guards:
verbose environment output, error messages, the command log."""

from __future__ import annotations

import json
import logging

import pytest
from invoke.exceptions import Exit

from bakery.baking import bake
from bakery.cli import common as cli
from bakery.config import settings
from bakery.engine import docker
from bakery.errors import BakeryError, DockerError
from bakery.redact import redact_env, redact_text
from tests.conftest import Recorder

# --- redact_env -----------------------------------------------------------------------------------


def test_redact_env_masks_secret_looking_names():
    env = {
        "GH_TOKEN": "ghp_planted1",
        "ACTIONS_RUNTIME_TOKEN": "planted2",
        "AWS_SECRET_ACCESS_KEY": "planted3",
        "DOCKER_PASSWORD": "planted4",
        "SSH_PRIVATE_KEY": "planted5",
        "api_key": "planted6",
        "client_secret": "planted7",
        "DOCKER_AUTH_CONFIG": "planted8",
        "PATH": "/usr/bin:/bin",
        "HOME": "/root",
        "feat_set": "all",
        "GITHUB_ACTOR": "alice",
        "EMPTY_TOKEN": "",
    }
    assert redact_env(env) == {
        "GH_TOKEN": "***",
        "ACTIONS_RUNTIME_TOKEN": "***",
        "AWS_SECRET_ACCESS_KEY": "***",
        "DOCKER_PASSWORD": "***",
        "SSH_PRIVATE_KEY": "***",
        "api_key": "***",
        "client_secret": "***",
        "DOCKER_AUTH_CONFIG": "***",
        "PATH": "/usr/bin:/bin",
        "HOME": "/root",
        "feat_set": "all",
        "GITHUB_ACTOR": "alice",
        "EMPTY_TOKEN": "",
    }
    assert env["GH_TOKEN"] == "ghp_planted1"  # a copy; the input is untouched


# --- redact_text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GH_TOKEN=sekrit123 other=1", "GH_TOKEN=*** other=1"),
        ("export REGISTRY_PASSWORD=hunter2 && x", "export REGISTRY_PASSWORD=*** && x"),
        ("api_key=abc123 and SIGNING_KEY=k3y", "api_key=*** and SIGNING_KEY=***"),
        ('{"password": "hunter2", "user": "bob"}', '{"password": "***", "user": "bob"}'),
        ('{"auth":"dXNlcjpwYXNz"}', '{"auth":"***"}'),
        ("token: sekrit", "token: ***"),
        ("pull https://bob:pa55word@registry.invalid/v2/x", "pull https://***@registry.invalid/v2/x"),
        ("git clone https://x-access-token:ghs_abc@github.com/o/r", "git clone https://***@github.com/o/r"),
        ("Bearer abc.def-ghi", "Bearer ***"),
        ("using basic dXNlcjpwYXNz now", "using basic *** now"),
    ],
)
def test_redact_text_masks(text: str, expected: str):
    assert redact_text(text) == expected


def test_redact_text_masks_known_secret_values_anywhere():
    assert redact_text("the value planted-XYZ leaked", secrets=("planted-XYZ",)) == "the value *** leaked"
    # Values shorter than four characters would mask too much; they are left.
    assert redact_text("a b c", secrets=("b",)) == "a b c"


@pytest.mark.parametrize(
    "text",
    [
        "docker buildx bake --file docker/bake.hcl --print default",
        "feat_set=none sys_version=testing-slim cargo_profile=release",
        "https://github.com/example/project.git#main",
        '{"target": {"system": {"context": "docker"}}}',
        "--secret id=gh,env=GH_TOKEN",
        "ERROR: failed to solve: process did not complete successfully: exit code: 2",
    ],
)
def test_redact_text_leaves_other_text_alone(text: str):
    assert redact_text(text) == text


@pytest.mark.parametrize("header", ["Authorization: Bearer abc.def-ghi", "authorization: basic dXNlcjpwYXNz"])
def test_redact_text_masks_the_token_of_an_authorization_header(header: str):
    redacted = redact_text(header)
    assert "abc.def-ghi" not in redacted
    assert "dXNlcjpwYXNz" not in redacted


@pytest.mark.parametrize("text", ['GH_TOKEN="sekrit123"', "GH_TOKEN='sekrit123'", "{'GH_TOKEN': 'sekrit123'}"])
def test_redact_text_masks_quoted_values(text: str):
    assert "sekrit123" not in redact_text(text)


@pytest.mark.parametrize("text", ["ERROR: GH_TOKEN=sekrit123", "failed: GH_TOKEN=sekrit123", "x=GH_TOKEN=sekrit123"])
def test_redact_text_masks_an_assignment_right_after_another_name(text: str):
    assert "sekrit123" not in redact_text(text)


def test_docker_error_message_with_a_secret_right_after_error():
    error = DockerError(("docker", "login"), 1, "Error: GH_TOKEN=sekrit123\n")
    assert "sekrit123" not in str(error)


# --- where redaction applies -------------------------------------------------------------------------------


def test_verbose_env_output_is_redacted(seam: Recorder, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GH_TOKEN", "ghp_planted_token_value")
    monkeypatch.setenv("REGISTRY_PASSWORD", "planted-password")
    monkeypatch.setenv("PLAIN_VALUE", "visible")
    seam.respond = lambda call: docker.Completed(call.argv, 0, json.dumps({"target": {}}), "")
    loaded = settings.load({}, {"BAKERY_DOTENV": "/nonexistent.env", "CI_VERBOSE_ENV": "1", "NO_BAKE": "1"})
    out: list[str] = []
    bake.run(loaded, [], [loaded.definition.default_vector()], out=out.append)
    text = "\n".join(out)
    assert "ghp_planted_token_value" not in text
    assert "planted-password" not in text
    assert "env GH_TOKEN=***" in out
    assert "env REGISTRY_PASSWORD=***" in out
    assert "env PLAIN_VALUE=visible" in out


def test_error_messages_are_redacted_by_the_guard():
    with pytest.raises(Exit) as info, cli.guard():
        raise BakeryError("push failed for GH_TOKEN=ghp_planted at https://u:planted-pw@registry.invalid")
    assert info.value.code == 1
    assert info.value.message == "bakery: error: push failed for GH_TOKEN=*** at https://***@registry.invalid"


def test_the_command_log_is_redacted(seam: Recorder, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="bakery"):
        docker.run(["login", "-u", "bob", "--password", "x", "https://bob:planted-pw@registry.invalid"])
        docker.run(["build", "--build-arg", "NPM_TOKEN=planted-npm", "."])
    text = caplog.text
    assert "planted-pw" not in text
    assert "planted-npm" not in text
    assert "+ docker build --build-arg NPM_TOKEN=*** ." in text
