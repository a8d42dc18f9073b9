"""Unit tests for bakery.engine.system_image through the process seam: mmdebstrap
and docker are both programs on it."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from bakery.engine import process, system_image
from bakery.errors import BakeryError, EnvironmentNotReady, UsageError
from tests.conftest import Recorder
from tests.support.settings import load


@pytest.fixture
def mmdebstrap_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shutil.which` must find it; the seam answers for it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mmdebstrap").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "mmdebstrap").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    # The argv and the config name the architecture; these tests expect amd64 on any host.
    monkeypatch.setattr(system_image.platform, "machine", lambda: "x86_64")


# What the fake mmdebstrap writes as the root filesystem tarball.
ROOTFS = b"not really a tarball\n"
LOADED = "sha256:" + "ab" * 32


def engine(image_present: bool, mmdebstrap_code: int = 0, loads: list[bytes] | None = None):
    """An engine that holds every image (image_present) or, at first, none:
    a tag then adds the name."""
    tagged: set[str] = set()

    def answer(call: process.Call) -> process.Completed:
        if call.argv[:2] == ("docker", "version"):
            return process.Completed(call.argv, 0, "28.5.2\n", "")
        if call.argv[:3] == ("docker", "image", "inspect"):
            present = image_present or set(call.argv[5:]) <= tagged
            return process.Completed(call.argv, 0 if present else 1, "", "")
        if call.argv[:3] == ("docker", "image", "tag"):
            tagged.add(call.argv[-1])
            return process.Completed(call.argv, 0, "", "")
        if call.argv[0] == "mmdebstrap":
            if mmdebstrap_code:
                return process.Completed(call.argv, mmdebstrap_code, "", "E: cannot download packages\n")
            (out,) = [a for a in call.argv if a.endswith("/root.tar")]
            Path(out).write_bytes(ROOTFS)
            return process.Completed(call.argv, 0, "", "")
        if call.argv[:3] == ("docker", "image", "load"):
            if loads is not None:
                loads.append(Path(call.argv[-1]).read_bytes())
            return process.Completed(call.argv, 0, f"Loaded image: {LOADED}\n", "")
        return process.Completed(call.argv, 0, "", "")

    return answer


def test_a_present_root_is_skipped(seam: Recorder):
    seam.respond = engine(image_present=True)
    loaded = load()
    assert system_image.ensure(loaded, loaded.definition.default_vector()) == (
        "debian:testing-slim: present; skipped (--refresh rebuilds it)\n"
        "amd64/debian:testing-slim: present; skipped (--refresh rebuilds it)"
    )
    assert [a[:3] for a in seam.argvs] == [("docker", "version", "--format"), *[("docker", "image", "inspect")] * 2]


def test_a_missing_root_is_built_and_loaded(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False)
    loaded = load()
    built, tagged = system_image.ensure(loaded, loaded.definition.default_vector()).splitlines()
    assert built.startswith("debian:testing-slim: built from Debian testing (amd64) with mmdebstrap and loaded (sha256")
    # The target platform's name of this machine's root: the same image, tagged.
    assert tagged == "amd64/debian:testing-slim: tagged from debian:testing-slim (the same root)"
    (strap,) = [c for c in seam.calls if c.argv[0] == "mmdebstrap"]
    assert strap.argv[:-1] == (
        "mmdebstrap",
        "--variant=minbase",
        "--quiet",
        "--architectures=amd64",
        '--aptopt=Acquire::Check-Valid-Until "false"',
        '--customize-hook=rm "$1"/etc/resolv.conf',
        '--customize-hook=rm "$1"/etc/hostname',
        "testing",
    )
    assert strap.argv[-1].endswith("/root.tar")
    # The same epoch on every runner: 2024-01-01T00:00:00Z.
    assert strap.env is not None and strap.env["SOURCE_DATE_EPOCH"] == "1704067200"
    docker_calls = [c.argv for c in seam.calls if c.argv[0] == "docker"]
    # Neither name is there: the other name is looked for before mmdebstrap runs.
    assert docker_calls[2] == ("docker", "image", "inspect", "--format", "{{.Id}}", "amd64/debian:testing-slim")
    assert docker_calls[3][:6] == ("docker", "image", "load", "--platform", "linux/amd64", "--input")
    assert docker_calls[3][6].endswith("/root.oci.tar")
    assert docker_calls[4:] == [
        ("docker", "image", "tag", LOADED, "debian:testing-slim"),
        ("docker", "image", "inspect", "--format", "{{.Id}}", "amd64/debian:testing-slim"),
        ("docker", "image", "inspect", "--format", "{{.Id}}", "debian:testing-slim"),
        ("docker", "image", "tag", "debian:testing-slim", "amd64/debian:testing-slim"),
    ]
    assert not [a for a in seam.argvs if a[:2] == ("docker", "import")]


def test_a_mirror_is_the_last_argument(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False)
    loaded = load(BAKERY_MIRROR="http://mirror.invalid/debian")
    system_image.ensure(loaded, loaded.definition.default_vector())
    (strap,) = [a for a in seam.argvs if a[0] == "mmdebstrap"]
    assert strap[-3] == "testing" and strap[-2].endswith("/root.tar") and strap[-1] == "http://mirror.invalid/debian"


def test_another_engine_gets_every_docker_call(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False)
    loaded = load()
    b = {"DOCKER_HOST": "unix:///tmp/b.sock"}
    system_image.ensure(loaded, loaded.definition.default_vector(), env=b)
    docker_calls = [c for c in seam.calls if c.argv[0] == "docker"]
    assert len(docker_calls) == 8 and all(c.env == b for c in docker_calls)


def _members(archive: bytes, tmp_path: Path) -> dict[str, bytes]:
    path = tmp_path / "layout.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as layout:
        return {m.name: layout.extractfile(m).read() for m in layout.getmembers()}  # type: ignore[union-attr]


def test_the_layout_has_no_run_time_data(seam: Recorder, mmdebstrap_on_path: None, tmp_path: Path):
    """Two roots made from the same mmdebstrap output are the same bytes, and
    the manifest digest is the one written here: any change to the config or
    manifest gives every runner a new root and a cold cache."""
    loads: list[bytes] = []
    seam.respond = engine(image_present=False, loads=loads)
    loaded = load()
    first = system_image.ensure(loaded, loaded.definition.default_vector())
    second = system_image.ensure(loaded, loaded.definition.default_vector(), refresh=True)
    assert first == second
    # --refresh makes this machine's root once and tags its other name.
    assert len(loads) == 2 and loads[0] == loads[1]
    files = _members(loads[0], tmp_path)
    layer = "sha256:" + hashlib.sha256(ROOTFS).hexdigest()
    assert files[f"blobs/sha256/{layer.removeprefix('sha256:')}"] == ROOTFS
    index = json.loads(files["index.json"])
    (target,) = index["manifests"]
    manifest_bytes = files[f"blobs/sha256/{target['digest'].removeprefix('sha256:')}"]
    assert target["digest"] == "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    manifest = json.loads(manifest_bytes)
    assert manifest["layers"] == [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": len(ROOTFS)}
    ]
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].removeprefix('sha256:')}"])
    assert config == {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["bash"]},
        "rootfs": {"type": "layers", "diff_ids": [layer]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "mmdebstrap --variant=minbase testing"}],
    }
    assert target["platform"] == {"architecture": "amd64", "os": "linux"}
    assert first.splitlines()[0].endswith(f"({target['digest']})")
    assert target["digest"] == MANIFEST_OF_FAKE_ROOTFS


MANIFEST_OF_FAKE_ROOTFS = "sha256:33d91d99325bd7694878c95fd6ab4dae442111cd3c67b0ff508811419682e710"


def test_docker_load_output_names_the_image():
    assert system_image._loaded_id(f"Loaded image ID: {LOADED}\n") == LOADED
    assert system_image._loaded_id(f"Loaded image: {LOADED}\n") == LOADED
    with pytest.raises(BakeryError, match=r"^docker load named no image: Loaded image: debian:x$"):
        system_image._loaded_id("Loaded image: debian:x\n")


def test_an_unknown_machine_is_refused():
    assert system_image.architectures("aarch64") == ("arm64", "arm64")
    with pytest.raises(UsageError, match=r"^system-image knows the machines aarch64, x86_64; this one is 'riscv64'$"):
        system_image.architectures("riscv64")


def test_an_mmdebstrap_failure_is_one_line(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False, mmdebstrap_code=2)
    loaded = load()
    with pytest.raises(BakeryError) as info:
        system_image.ensure(loaded, loaded.definition.default_vector())
    assert str(info.value) == "mmdebstrap testing (amd64) failed with exit code 2: E: cannot download packages"
    assert not [a for a in seam.argvs if a[:3] == ("docker", "image", "load")]


def test_without_mmdebstrap_the_fix_is_named(seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    seam.respond = engine(image_present=False)
    loaded = load()
    with pytest.raises(EnvironmentNotReady, match=r"^mmdebstrap not found; install it: apt-get install mmdebstrap$"):
        system_image.ensure(loaded, loaded.definition.default_vector())


def test_only_debian_roots(seam: Recorder):
    loaded = load(sys_name="alpine")
    with pytest.raises(
        UsageError, match=r"^system-image builds Debian roots only; sys_name='alpine' needs a registry$"
    ):
        system_image.ensure(loaded, loaded.vectors()[0])
    assert seam.argvs == []


def test_an_arm64_vector_needs_its_root_and_this_machines(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False)
    loaded = load(rust_target="aarch64-unknown-linux-gnu", sys_target="aarch64-v8-linux-gnu")
    roots = system_image.roots(loaded, loaded.vectors())
    assert [(r.ref, r.platform, r.debian) for r in roots] == [
        ("debian:testing-slim", "linux/amd64", "amd64"),
        ("arm64v8/debian:testing-slim", "linux/arm64", "arm64"),
    ]
    lines = list(system_image.ensure_roots(loaded, roots[1:]))
    assert lines[0].startswith("arm64v8/debian:testing-slim: built from Debian testing (arm64) with mmdebstrap")
    (strap,) = [a for a in seam.argvs if a[0] == "mmdebstrap"]
    assert "--architectures=arm64" in strap
    (load_argv,) = [a for a in seam.argvs if a[:3] == ("docker", "image", "load")]
    assert load_argv[3:5] == ("--platform", "linux/arm64")
    assert seam.argvs[-1] == ("docker", "image", "tag", LOADED, "arm64v8/debian:testing-slim")


def test_a_missing_root_stops_a_bake_with_the_command_that_makes_it(seam: Recorder, tmp_path: Path):
    seam.respond = engine(image_present=False)
    loaded = load(rust_target="aarch64-unknown-linux-gnu", sys_target="aarch64-v8-linux-gnu", sys_version="trixie-slim")
    with pytest.raises(EnvironmentNotReady) as info:
        system_image.require(loaded, loaded.vectors())
    assert str(info.value) == (
        "root image debian:trixie-slim (linux/amd64) is not in the engine; "
        "make it: invoke system-image --sys-version trixie-slim --sys-target x86_64-linux-gnu"
    )
    # One inspect of every root first; then one per root to name the missing one.
    assert seam.argvs[0][:6] == ("docker", "image", "inspect", "--format", "{{.Id}}", "debian:trixie-slim")
    assert seam.argvs[0][6:] == ("arm64v8/debian:trixie-slim",)


def test_present_roots_and_emulation_let_a_bake_start(seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    seam.respond = engine(image_present=True)
    monkeypatch.setattr(system_image.emulation, "BINFMT", tmp_path)
    monkeypatch.setattr(system_image.emulation.platform, "machine", lambda: "x86_64")
    loaded = load(rust_target="aarch64-unknown-linux-gnu", sys_target="aarch64-v8-linux-gnu")
    with pytest.raises(EnvironmentNotReady, match=r"^aarch64 binaries need emulation, but binfmt_misc is not mounted"):
        system_image.require(loaded, loaded.vectors())
    (tmp_path / "register").write_text("")
    handler = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\n"
    (tmp_path / "qemu-aarch64").write_text(handler)
    system_image.require(loaded, loaded.vectors())
    assert len(seam.argvs) == 2  # one inspect of both roots, per attempt
