"""Unit tests for bakery.engine.system_image through the process seam: mmdebstrap
and docker are both programs on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.config import settings
from bakery.engine import process, system_image
from bakery.errors import BakeryError, EnvironmentNotReady, UsageError
from tests.conftest import Recorder


def load(**environ: str) -> settings.Settings:
    return settings.load({}, {"BAKERY_DOTENV": "/nonexistent/bakery-test.env", **environ})


@pytest.fixture
def mmdebstrap_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shutil.which` must find it; the seam answers for it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mmdebstrap").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "mmdebstrap").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def engine(image_present: bool, mmdebstrap_code: int = 0):
    def answer(call: process.Call) -> process.Completed:
        if call.argv[:2] == ("docker", "version"):
            return process.Completed(call.argv, 0, "28.5.2\n", "")
        if call.argv[:3] == ("docker", "image", "inspect"):
            return process.Completed(call.argv, 0 if image_present else 1, "", "")
        if call.argv[0] == "mmdebstrap":
            err = "E: cannot download packages\n" if mmdebstrap_code else ""
            return process.Completed(call.argv, mmdebstrap_code, "", err)
        return process.Completed(call.argv, 0, "", "")

    return answer


def test_a_present_root_is_skipped(seam: Recorder):
    seam.respond = engine(image_present=True)
    loaded = load()
    assert system_image.ensure(loaded, loaded.definition.default_vector()) == (
        "debian:testing-slim: present; skipped (--refresh rebuilds it)"
    )
    assert [a[:3] for a in seam.argvs] == [("docker", "version", "--format"), ("docker", "image", "inspect")]


def test_a_missing_root_is_built_and_imported(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False)
    loaded = load()
    line = system_image.ensure(loaded, loaded.definition.default_vector())
    assert line == "debian:testing-slim: built from Debian testing with mmdebstrap and imported"
    (strap,) = [a for a in seam.argvs if a[0] == "mmdebstrap"]
    assert strap[:4] == ("mmdebstrap", "--variant=minbase", "--quiet", '--aptopt=Acquire::Check-Valid-Until "false"')
    assert strap[4] == "testing" and strap[5].endswith("/root.tar")
    (imported,) = [a for a in seam.argvs if a[:2] == ("docker", "import")]
    assert imported == ("docker", "import", "--change", 'CMD ["bash"]', strap[5], "debian:testing-slim")


def test_an_mmdebstrap_failure_is_one_line(seam: Recorder, mmdebstrap_on_path: None):
    seam.respond = engine(image_present=False, mmdebstrap_code=2)
    loaded = load()
    with pytest.raises(BakeryError) as info:
        system_image.ensure(loaded, loaded.definition.default_vector())
    assert str(info.value) == "mmdebstrap testing failed with exit code 2: E: cannot download packages"
    assert not [a for a in seam.argvs if a[:2] == ("docker", "import")]


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
