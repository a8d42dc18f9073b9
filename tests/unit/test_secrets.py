"""Secrets with planted values: the verbose environment output
(CI_VERBOSE_ENV), the command log and every error message must show the
names of secret-looking variables with *** and never their values.

The real command line's run is in tests/cli/test_secrets_cli.py.
"""

from __future__ import annotations

import pytest
from invoke.exceptions import Exit

from bakery.cli import common as cli
from bakery.errors import DockerError
from tests.support.planted_secrets import AUTH_CONFIG, FORBIDDEN, PLANTED


@pytest.mark.parametrize(
    "stderr",
    [
        # Assignments and JSON, as tools print them.
        "ERROR: GH_TOKEN=planted-token-123 MY_SECRET=planted-secret-456 DB_PASSWORD=planted-pw-789",
        f"error: SSH_KEY=planted-key-000 DOCKER_AUTH_CONFIG={AUTH_CONFIG}",
        f"cannot parse {AUTH_CONFIG}",
        # Bare values, without their names: a tool echoing what it was given.
        "denied: requested access with planted-token-123 (planted-secret-456, planted-pw-789)",
        "Load key planted-key-000: invalid format",
    ],
)
def test_a_docker_error_with_planted_values_names_none_of_them(stderr: str, monkeypatch: pytest.MonkeyPatch):
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    error = DockerError(("docker", "login", "registry.invalid"), 1, f"some context\n{stderr}\n")
    message = str(error)
    assert message.startswith("docker login registry.invalid failed with exit code 1: ")
    assert "\n" not in message
    for value in FORBIDDEN:
        assert value not in message, f"{value!r} leaked into {message!r}"
    assert "***" in message


def test_the_guard_prints_a_docker_error_with_no_planted_value(monkeypatch: pytest.MonkeyPatch):
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exit) as info, cli.guard():
        raise DockerError(("docker", "push", "x"), 1, "denied: token planted-token-123 rejected\n")
    assert info.value.code == 1
    assert info.value.message == "bakery: error: docker push x failed with exit code 1: denied: token *** rejected"


def test_registry_auth_config_is_masked_in_an_error_without_its_variable_set():
    # Not in the environment here: the pattern alone must catch "auth":"...".
    error = DockerError(("docker", "pull", "r/x"), 1, f"bad config {AUTH_CONFIG}\n")
    assert "cGxhbnRlZA==" not in str(error)
    assert '"auth":"***"' in str(error)


def test_short_values_of_secret_looking_names_are_not_masked_everywhere(monkeypatch: pytest.MonkeyPatch):
    # A flag such as CACHE_KEY_ENABLED=true must not mask every "true".
    monkeypatch.setenv("CACHE_KEY_ENABLED", "true")
    monkeypatch.setenv("GH_TOKEN", "planted-token-123")
    error = DockerError(("docker", "buildx", "bake"), 1, "provenance=true, token planted-token-123\n")
    assert str(error) == "docker buildx bake failed with exit code 1: provenance=true, token ***"
