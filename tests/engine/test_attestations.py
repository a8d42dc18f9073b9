"""What a push attaches, read back from a registry as a user reads it
(docs/attestations.md): SLSA provenance at mode=max naming the vector's build
args, the root image and the revision; an SPDX 2.3 SBOM of the crates cargo
compiled and the image's Debian packages, valid for spdx-tools; and the one
line that stops a push whose attestation cannot be made.

The registry is the lab's (Debian's docker-registry, no second engine); the
engine is this machine's, docker driver, so the generator is its local image.
The example's chain is warm when the tier runs in order; the push invocation
then runs no step (the build args it passes are the values the generated
Dockerfile already holds).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import flatten
from lab import runners as lab
from tests.conftest import invoke
from tests.support import attestations, steps

pytestmark = pytest.mark.usefixtures("engine")

REVISION = "5d41402abc4b2a76b9719d911017c592aaf0e1c3"
REPOSITORY = "attest/mxd"


@pytest.fixture(scope="module")
def registry() -> Iterator[lab.Registry]:
    with lab.running(runner=False) as the_lab:
        yield the_lab.shared


def _push(registry: lab.Registry, tag: str, **env: str):
    env = {"registry_github": f"{registry.host}/{REPOSITORY}", "publish_tag": tag, **env}
    return invoke("bake", "github", env=env, timeout=1800)


def test_a_push_carries_provenance_and_a_rust_aware_sbom(registry: lab.Registry) -> None:
    warm = invoke("bake", "image", timeout=1800)
    assert warm.returncode == 0, warm.stdout[-3000:] + warm.stderr[-3000:]
    result = _push(registry, "v1", BAKERY_REVISION=REVISION)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ref = f"{registry.host}/{REPOSITORY}:v1"
    # After `image`, the push ran no step but the generator's and the aggregate's (bakery's
    # own no-op over a new set of leaves): the build args it passes are the values the
    # generated Dockerfile holds, so they change no key.
    ran = {v.name for v in steps.of(result.stdout) if v.state == "ran"}
    assert {v for v in ran if not v.startswith(("[sbom-generator--", f"[{flatten.AGGREGATE} "))} == set(), ran

    provenance = attestations.inspect(ref, "Provenance")["SLSA"]
    args = provenance["invocation"]["parameters"]["args"]
    assert {
        k: args.get(k) for k in ("build-arg:cargo_profile", "build-arg:rust_toolchain", "build-arg:rust_target")
    } == {
        "build-arg:cargo_profile": "release",
        "build-arg:rust_toolchain": "distro",
        "build-arg:rust_target": "x86_64-unknown-linux-gnu",
    }
    assert args["build-arg:sys_name"] == "debian" and args["build-arg:sys_version"] == "testing-slim"
    assert args["build-arg:vector_id"] == (
        "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    )
    assert args["label:org.opencontainers.image.revision"] == REVISION
    roots = [m for m in provenance["materials"] if m["uri"].startswith("pkg:docker/amd64/debian@testing-slim")]
    assert len(roots) == 1 and len(roots[0]["digest"]["sha256"]) == 64, provenance["materials"]
    # The revision is the image's label too.
    labels = attestations.inspect(ref, "Image")["config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == REVISION

    sbom = attestations.inspect(ref, "SBOM")["SPDX"]
    assert attestations.spdx_problems(sbom) == []
    assert sbom["spdxVersion"] == "SPDX-2.3"
    assert attestations.crates(sbom) == {("mxd", "0.1.0"), ("mxd-core", "0.1.0")}
    image = sbom["packages"][0]
    assert (image["name"], image["versionInfo"], image["primaryPackagePurpose"]) == ("mxd", "0.1.0", "CONTAINER")
    debs = {p["name"] for p in sbom["packages"] if p["SPDXID"].startswith("SPDXRef-deb-")}
    assert {"libc6", "ca-certificates", "base-files"} <= debs
    # Only the image was pushed: the docker driver's generator is the engine's own image.
    assert registry.tags(REPOSITORY) == ["v1"]


def test_a_generator_the_builder_cannot_resolve_fails_the_push_with_one_line(registry: lab.Registry) -> None:
    generator = f"{registry.host}/attest/no-such-generator:1"
    result = _push(registry, "v2", BAKERY_REVISION=REVISION, BAKERY_SBOM_GENERATOR=generator)
    assert result.returncode == 1, result.stdout[-3000:]
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("ERROR github ")]
    assert f"the SBOM generator image {generator} cannot be resolved by the builder, so nothing was pushed" in line
    assert "v2" not in registry.tags(REPOSITORY)


def test_a_push_whose_revision_nobody_can_tell_stops_before_the_bake(registry: lab.Registry, tmp_path: Path) -> None:
    source = tmp_path / "mxd"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    result = _push(registry, "v3", source_location=str(source), GITHUB_SHA="", BAKERY_REVISION="")
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"bakery: error: cannot tell the source revision of {source} (not a git checkout) for the pushed image's "
        "org.opencontainers.image.revision; set BAKERY_REVISION, or BAKERY_ATTEST=0 to push without attestations"
    )
    assert "v3" not in registry.tags(REPOSITORY)
