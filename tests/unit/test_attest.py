"""bakery.baking.attest: what a push attaches, on inputs written here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bakery.baking import attest
from bakery.errors import UsageError

DOCKERFILE = """\
FROM debian:testing-slim AS system--a.system
ARG sys_name="debian"
ARG apt_options=""
FROM system--a.system AS deps--a.deps
ARG deps_cmd="cargo build"
ARG cargo_profile="release"
ARG TARGETARCH
FROM system--a.system AS deps--b.deps
ARG deps_cmd="cargo check"
ARG cargo_profile="release"
ARG TARGETARCH
FROM deps--a.deps AS cargo--a.cargo
RUN true
ARG BUILDKIT_SBOM_SCAN_STAGE=true
"""


def test_uniform_args_are_the_ones_every_declaration_agrees_on() -> None:
    # deps_cmd has two values and TARGETARCH is bare: passing either would change a stage.
    assert attest.uniform_args(DOCKERFILE, {"bin_name": "mxd", "deps_cmd": "cargo build"}) == {
        "apt_options": "",
        "bin_name": "mxd",
        "cargo_profile": "release",
        "sys_name": "debian",
    }


def test_a_push_attests_provenance_at_max_and_the_sbom_with_the_revision_label() -> None:
    fields = attest.Attestation("0123abc", "registry.test/p@sha256:00").fields({"cargo_profile": "release"})
    assert fields == {
        "attest": ["type=provenance,mode=max", "type=sbom,generator=registry.test/p@sha256:00"],
        "labels": {"org.opencontainers.image.revision": "0123abc"},
        "args": {"cargo_profile": "release"},
    }


def test_the_generator_is_pushed_beside_the_image_except_on_the_docker_driver() -> None:
    instance = "sbom-generator--debian--testing-slim--x86_64-v1-linux-gnu"
    assert attest.generator_output("docker", (), instance) == {"platforms": None}
    assert attest.generator_output("docker-container", ("127.0.0.1:5000/example/mxd:lab",), instance) == {
        "platforms": None,
        "tags": ["127.0.0.1:5000/example/mxd:sbom-generator-debian--testing-slim--x86_64-v1-linux-gnu"],
        "output": ["type=registry"],
    }


def test_revision_prefers_the_setting_then_github_sha_then_git(tmp_path: Path) -> None:
    assert attest.revision("v1", {"GITHUB_SHA": "f" * 40}, None) == "v1"
    assert attest.revision("", {"GITHUB_SHA": "f" * 40}, None) == "f" * 40
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert attest.revision("", {}, tmp_path) == head


def test_no_revision_is_a_usage_error_naming_the_settings(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        attest.revision("", {}, tmp_path)
    assert str(caught.value) == (
        f"cannot tell the source revision of {tmp_path} (not a git checkout) for the pushed image's "
        "org.opencontainers.image.revision; set BAKERY_REVISION, or BAKERY_ATTEST=0 to push without attestations"
    )


def test_a_failed_push_names_the_sbom_check_or_the_missing_generator() -> None:
    stderr = "#12 0.2 bakery-sbom: FAILED: /run/src/x: lists no crate\nERROR: failed to solve\n"
    assert attest.failure(stderr, "g:1") == (
        "the SBOM failed its check, so nothing was pushed: bakery-sbom: FAILED: /run/src/x: lists no crate"
    )
    gone = "ERROR: failed to solve: 127.0.0.1:5000/none/gen:latest: not found\n"
    assert attest.failure(gone, "127.0.0.1:5000/none/gen:latest").startswith(
        "the SBOM generator image 127.0.0.1:5000/none/gen:latest cannot be resolved by the builder"
    )
    assert attest.failure("ERROR: failed to solve: exit code 1\n", "g:1") is None
