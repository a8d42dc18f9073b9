"""One tag for every platform (bakery.baking.index): which pushes make an
image index, the one-line refusals before anything is built, and the
`imagetools create` calls through the docker seam, after every push of a
whole `bake.run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake, index
from bakery.engine import docker
from bakery.errors import BakeFailed, DockerError, UsageError
from tests.conftest import Recorder
from tests.support.docker_fakes import ScriptedDocker
from tests.support.settings import for_bake

REPO = "127.0.0.1:5000/example/mxd"


def _vector(sys_target: str, rust_target: str = "x86_64-unknown-linux-gnu", sys_version: str = "testing-slim"):
    return (
        ("cargo_profile", "release"), ("rust_toolchain", "distro"), ("rust_target", rust_target),
        ("feat_set", "default"), ("sys_name", "debian"), ("sys_version", sys_version), ("sys_target", sys_target),
    )  # fmt: skip


AMD64 = index.Push(f"{REPO}:release-default-x86_64-v1-linux-gnu", "linux/amd64", _vector("x86_64-v1-linux-gnu"))
ARM64 = index.Push(
    f"{REPO}:release-default-aarch64-v8-linux-gnu",
    "linux/arm64",
    _vector("aarch64-v8-linux-gnu", "aarch64-unknown-linux-gnu"),
)
V3 = index.Push(f"{REPO}:release-default-x86_64-v3-linux-gnu", "linux/amd64", _vector("x86_64-v3-linux-gnu"))


def _github(tag: str, platform: str, output: object = None) -> dict:
    """A publish instance as buildx 0.29's `--print` shows it (tests/plan/golden/default.json)."""
    return {
        "context": "docker",
        "dockerfile": "Dockerfile.install",
        "output": [{"type": "registry"}] if output is None else output,
        "platforms": [platform],
        "tags": [tag],
        "target": "publish",
    }


def test_pushes_are_the_instances_with_a_registry_output():
    definition = {
        "target": {
            "github--x": _github(f"{REPO}:t-x86_64-v1-linux-gnu", "linux/amd64"),
            "image--x": _github("mxd/image--x:latest", "linux/amd64", [{"type": "docker"}]),
            # buildx 0.13 prints outputs as strings; an image output pushes with push=true.
            "old--x": _github("r.example/o:t", "linux/amd64", ["type=image,push=true"]),
            "local--x": _github("r.example/l:t", "linux/amd64", ["type=image,push=false"]),
        }
    }
    found = index.pushes(definition, dict(AMD64.vector))
    assert [(p.ref, p.platform, p.sys_target) for p in found] == [
        (f"{REPO}:t-x86_64-v1-linux-gnu", "linux/amd64", "x86_64-v1-linux-gnu"),
        ("r.example/o:t", "linux/amd64", "x86_64-v1-linux-gnu"),
    ]
    assert found[0].repository == REPO and found[0].tag == "t-x86_64-v1-linux-gnu"


def test_two_platforms_of_one_stem_make_one_index_named_without_the_sys_target():
    (made,) = index.plan([ARM64, AMD64])
    assert made.ref == f"{REPO}:release-default"
    assert made.platforms == ("linux/amd64", "linux/arm64")
    assert made.argv("bakery-ci") == [
        "buildx", "imagetools", "create", "--builder", "bakery-ci", "--tag", f"{REPO}:release-default",
        f"{REPO}:release-default-x86_64-v1-linux-gnu", f"{REPO}:release-default-aarch64-v8-linux-gnu",
    ]  # fmt: skip


def test_one_platform_makes_no_index():
    # Two x86-64 levels are one platform: each keeps its own tag, as before.
    assert index.plan([AMD64, V3]) == []
    assert index.plan([AMD64]) == []


def test_other_repositories_and_stems_are_indexes_of_their_own():
    hub = [index.Push(p.ref.replace(REPO, "docker.io/example/mxd"), p.platform, p.vector) for p in (AMD64, ARM64)]
    made = index.plan([AMD64, ARM64, *hub])
    assert [m.ref for m in made] == [f"{REPO}:release-default", "docker.io/example/mxd:release-default"]


def test_a_platform_twice_under_one_index_is_refused():
    with pytest.raises(UsageError) as raised:
        index.plan([AMD64, V3, ARM64])
    assert str(raised.value) == (
        f"{REPO}:release-default would be one image index for 3 vectors, but linux/amd64 comes from sys_target "
        "x86_64-v1-linux-gnu, x86_64-v3-linux-gnu and an index holds one image per platform; select one "
        "sys_target per architecture (e.g. --matrix multiarch, or --sys-target with one level each)"
    )


def test_one_tag_for_several_vectors_is_refused():
    # testing and trixie: the default tag does not name sys_version, so each push would overwrite the last.
    trixie = index.Push(AMD64.ref, AMD64.platform, _vector("x86_64-v1-linux-gnu", sys_version="trixie-slim"))
    with pytest.raises(UsageError) as raised:
        index.plan([AMD64, ARM64, trixie])
    assert str(raised.value) == (
        f"{AMD64.ref} would be pushed by 2 vectors (sys_version testing-slim, trixie-slim), each overwriting the "
        "last, because its tag does not name what differs; publish them in separate runs or to separate "
        "repositories (registry_github, registry_dockerhub)"
    )


def test_a_fixed_publish_tag_names_the_index_and_each_push_gets_its_sys_target():
    assert index.platform_tag("v1.2", "aarch64-v8-linux-gnu") == "v1.2-aarch64-v8-linux-gnu"
    # A registry takes tags of up to 128 characters.
    assert len(index.platform_tag("v" * 108, "x86_64-v1-linux-gnu")) == 128
    with pytest.raises(UsageError) as raised:
        index.platform_tag("v" * 109, "x86_64-v1-linux-gnu")
    assert str(raised.value) == (
        f"publish_tag={'v' * 109!r} with -x86_64-v1-linux-gnu after it is 129 characters, over a tag's 128; "
        "shorten publish_tag to 108 characters or fewer"
    )


def test_assemble_goes_through_the_seam_and_says_what_it_wrote(seam: Recorder):
    lines: list[str] = []
    index.assemble(index.plan([AMD64, ARM64]), "bakery-ci", lines.append)
    assert seam.argvs == [
        ("docker", "buildx", "imagetools", "create", "--builder", "bakery-ci", "--tag", f"{REPO}:release-default",
         AMD64.ref, ARM64.ref),
    ]  # fmt: skip
    assert lines == [f"INDEX {REPO}:release-default [linux/amd64 linux/arm64] (from {AMD64.ref}, {ARM64.ref})"]


# --- a whole bake.run through the seam ----------------------------------------------------------


class PublishingDocker(ScriptedDocker):
    """ScriptedDocker whose `--print` answers each vector with a publish instance, tagged and
    platformed as bake.hcl's `github` family is (`<profile>-<feat_set>-<sys_target>`)."""

    def __init__(self, bake_code: int = 0, create_code: int = 0) -> None:
        super().__init__(bake_code)
        self.create_code = create_code

    def __call__(self, call: docker.Call) -> docker.Completed:
        if call.argv[1:3] == ("buildx", "imagetools"):
            self.events.append(("seam", call.argv))
            stderr = 'ERROR: failed commit on ref "index-sha256:1": unexpected status: 401 Unauthorized\n'
            return docker.Completed(call.argv, self.create_code, "", stderr if self.create_code else "")
        if "--print" not in call.argv:
            return super().__call__(call)
        self.events.append(("seam", call.argv))
        assert call.env is not None
        (vector,) = json.loads(call.env["vectors"])
        platform = {"x86_64-v1-linux-gnu": "linux/amd64", "aarch64-v8-linux-gnu": "linux/arm64"}[vector["sys_target"]]
        tag = call.env.get("publish_tag") or f"release-default-{vector['sys_target']}"  # as bake.hcl's github
        instance = f"github--{vector['sys_version']}--{vector['sys_target']}"  # one per vector, as in the tree
        definition = {
            "group": {"default": {"targets": [instance]}},
            "target": {instance: _github(f"{REPO}:{tag}", platform)},
        }
        return docker.Completed(call.argv, 0, json.dumps(definition), "")

    def calls(self, *head: str) -> list[int]:
        """Positions (in events) of the seam calls whose argv after `docker` starts with `head`."""
        return [n for n, (kind, argv) in enumerate(self.events) if kind == "seam" and argv[1 : 1 + len(head)] == head]


@pytest.fixture
def two_platforms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket):
    """The multiarch matrix's two vectors, on a host whose kernel runs arm64 (a binfmt_misc
    handler with the F flag, as ci/setup.sh registers it)."""
    monkeypatch.chdir(ROOT)
    binfmt = tmp_path / "binfmt"
    binfmt.mkdir()
    (binfmt / "qemu-aarch64").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\n")
    monkeypatch.setattr("bakery.engine.emulation.BINFMT", binfmt)
    # Attestations are tested below and on the engine; here, the index alone.
    loaded = for_bake(tmp_path, BAKERY_MATRIX="multiarch", BAKERY_ATTEST="0")
    return loaded, loaded.vectors(use_matrix=True)


def test_an_attested_push_names_its_generator_revision_and_args_and_drops_provenance_false(
    two_platforms, tmp_path: Path
):
    """With BAKERY_SBOM_GENERATOR set no generator is built: each push's bake
    file asks for provenance at max and the SBOM from that image, labels the
    revision, and its argv leaves --provenance out (it would override attest)."""
    _, vectors = two_platforms
    loaded = for_bake(
        tmp_path,
        BAKERY_MATRIX="multiarch",
        BAKERY_SBOM_GENERATOR="registry.test/gen@sha256:" + "0" * 64,
        BAKERY_REVISION="c0ffee",
    )
    script = PublishingDocker()
    with docker.use_runner(script):
        bake.run(loaded, [], vectors, out=script.out)
    pushes = [script.events[n][1] for n in script.calls("buildx", "bake") if "--metadata-file" in script.events[n][1]]
    assert len(pushes) == 2
    for argv in pushes:
        assert not any(a.startswith("--provenance") for a in argv), argv
        file = Path(argv[argv.index("--file") + 1])
        (body,) = json.loads(file.read_text())["target"].values()
        assert body["attest"] == [
            "type=provenance,mode=max",
            "type=sbom,generator=registry.test/gen@sha256:" + "0" * 64,
        ]
        assert body["labels"]["org.opencontainers.image.revision"] == "c0ffee"


def test_a_publish_run_of_two_platforms_writes_the_index_after_both_pushes(two_platforms):
    loaded, vectors = two_platforms
    script = PublishingDocker()
    with docker.use_runner(script):
        bake.run(loaded, [], vectors, out=script.out)
    pushes = [n for n in script.calls("buildx", "bake") if "--metadata-file" in script.events[n][1]]
    (create,) = script.calls("buildx", "imagetools", "create")
    assert len(pushes) == 2 and create > max(pushes)
    assert script.events[create][1][-3:] == (f"{REPO}:release-default", AMD64.ref, ARM64.ref)
    assert script.lines[-1] == f"INDEX {REPO}:release-default [linux/amd64 linux/arm64] (from {AMD64.ref}, {ARM64.ref})"
    assert [line.split(" [")[0] for line in script.lines[-3:-1]] == ["ACCEPT default", "ACCEPT default"]


def test_a_failed_push_writes_no_index(two_platforms):
    loaded, vectors = two_platforms
    script = PublishingDocker(bake_code=1)
    with docker.use_runner(script), pytest.raises(BakeFailed):
        bake.run(loaded, [], vectors, out=script.out)
    assert script.calls("buildx", "imagetools") == []


def test_a_fixed_publish_tag_is_the_index_tag(two_platforms, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    loaded = for_bake(tmp_path, BAKERY_MATRIX="multiarch", BAKERY_ATTEST="0", publish_tag="v1.2")
    script = PublishingDocker()
    with docker.use_runner(script):
        bake.run(loaded, [], two_platforms[1], out=script.out)
    prints = [script.events[n][1] for n in script.calls("buildx", "bake") if "--print" in script.events[n][1]]
    assert len(prints) == 2
    amd64, arm64 = f"{REPO}:v1.2-x86_64-v1-linux-gnu", f"{REPO}:v1.2-aarch64-v8-linux-gnu"
    assert script.lines[-1] == f"INDEX {REPO}:v1.2 [linux/amd64 linux/arm64] (from {amd64}, {arm64})"
    command = json.loads(next((tmp_path / "runs").iterdir()).joinpath("command.json").read_text())
    assert [i["variables"]["publish_tag"] for i in command["invocations"]] == [
        "v1.2-x86_64-v1-linux-gnu", "v1.2-aarch64-v8-linux-gnu",
    ]  # fmt: skip


def test_a_run_whose_pushes_would_overwrite_one_another_stops_before_any_bake(two_platforms, tmp_path: Path):
    # testing and trixie of one sys_target push one tag: the default tag does not name sys_version.
    loaded = for_bake(tmp_path, sys_versions='["testing-slim","trixie-slim"]')
    vectors = loaded.vectors()
    assert [v["sys_version"] for v in vectors] == ["testing-slim", "trixie-slim"]
    script = PublishingDocker()
    with docker.use_runner(script), pytest.raises(UsageError, match=r"would be pushed by 2 vectors \(sys_version "):
        bake.run(loaded, [], vectors, out=script.out)
    assert [n for n in script.calls("buildx", "bake") if "--metadata-file" in script.events[n][1]] == []


def test_a_failed_index_is_the_runs_failure_after_its_accepted_pushes(two_platforms):
    loaded, vectors = two_platforms
    script = PublishingDocker(create_code=1)
    with docker.use_runner(script), pytest.raises(DockerError) as raised:
        bake.run(loaded, [], vectors, out=script.out)
    assert raised.value.exit_code == 1
    assert [line.split(" [")[0] for line in script.lines[-3:-1]] == ["ACCEPT default", "ACCEPT default"]
    assert script.lines[-1].startswith("ERROR default image index: docker buildx imagetools failed with exit code 1: ")
    assert "401 Unauthorized" in script.lines[-1]


class ContainerPublishing(PublishingDocker):
    """A docker-container builder (as `buildx inspect` says): `--print` of a selection with the
    SBOM generator answers its instance too, and its push writes the digest BuildKit reports."""

    DIGEST = "sha256:" + "ab" * 32

    def __call__(self, call: docker.Call) -> docker.Completed:
        args = call.argv[1:]
        if args == ("buildx", "inspect", "default"):
            self.events.append(("seam", call.argv))
            return docker.Completed(call.argv, 0, "Name: default\nDriver: docker-container\n", "")
        result = super().__call__(call)
        if "--print" in args and "sbom-generator" in args:
            definition = json.loads(result.stdout)
            generator = "sbom-generator--x"
            definition["target"][generator] = {
                "context": "docker",
                "dockerfile": "Dockerfile.sbom",
                "output": [{"type": "docker"}],
                "platforms": next(iter(definition["target"].values()))["platforms"],
                "tags": ["mxd/sbom-generator--x:latest"],
                "target": "sbom-generator",
            }
            definition["group"]["sbom-generator"] = {"targets": [generator]}
            return docker.Completed(call.argv, 0, json.dumps(definition), "")
        if "--metadata-file" in args and args[-1] == "sbom-generator--x":
            metadata = Path(args[args.index("--metadata-file") + 1])
            metadata.write_text(json.dumps({"sbom-generator--x": {"containerimage.digest": self.DIGEST}}))
        return result


def test_on_docker_container_the_generator_is_pushed_beside_the_image_first_and_named_by_digest(
    two_platforms, tmp_path
):
    """A docker-container builder cannot see the engine's images: the run pushes the tree's
    generator (built for the builder's platform) to the repository of the vector's first push,
    then each push names it by the digest the generator's push reported."""
    _, vectors = two_platforms
    loaded = for_bake(tmp_path, BAKERY_MATRIX="multiarch", BAKERY_REVISION="c0ffee")
    script = ContainerPublishing()
    with docker.use_runner(script):
        bake.run(loaded, [], vectors[:1], out=script.out)
    bakes = [script.events[n][1] for n in script.calls("buildx", "bake") if "--metadata-file" in script.events[n][1]]
    outputs = [argv for argv in bakes if argv[-1] != "bakery-all"]
    assert [argv[-1] for argv in outputs] == ["sbom-generator--x", "github--testing-slim--x86_64-v1-linux-gnu"]
    generator, push = (json.loads(Path(a[a.index("--file") + 1]).read_text())["target"] for a in outputs)
    assert generator["sbom-generator--x"]["tags"] == [f"{REPO}:sbom-generator-x"]
    assert generator["sbom-generator--x"]["output"] == ["type=registry"]
    assert "platforms" not in generator["sbom-generator--x"]
    (body,) = push.values()
    assert body["attest"] == ["type=provenance,mode=max", f"type=sbom,generator={REPO}@{ContainerPublishing.DIGEST}"]
