"""lab/mounts.py: the read-only view's exact mount calls, through the process seam."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.engine import process
from bakery.errors import BakeryError
from lab import mounts


def test_a_read_only_view_is_a_bind_mount_remounted_read_only_and_unmounted_after(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []

    def record(call: process.Call) -> process.Completed:
        calls.append(call.argv)
        return process.Completed(call.argv, 0, "", "")

    with process.use_runner(record), mounts.read_only(tmp_path / "shared", tmp_path / "ro") as view:
        assert view == tmp_path / "ro" and view.is_dir()
        assert calls == [
            ("mount", "--bind", f"{tmp_path}/shared", f"{tmp_path}/ro"),
            ("mount", "-o", "remount,bind,ro", f"{tmp_path}/ro"),
        ]
    assert calls[-1] == ("umount", f"{tmp_path}/ro")


def test_a_failed_remount_still_unmounts_and_says_which_call(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []

    def refuse_remount(call: process.Call) -> process.Completed:
        calls.append(call.argv)
        code = 32 if "remount,bind,ro" in call.argv else 0
        return process.Completed(call.argv, code, "", "mount: permission denied" if code else "")

    with (
        process.use_runner(refuse_remount),
        pytest.raises(BakeryError) as info,
        mounts.read_only(tmp_path / "shared", tmp_path / "ro"),
    ):
        raise AssertionError("never reached")
    assert str(info.value) == f"lab: mount -o remount,bind,ro {tmp_path}/ro failed (32): mount: permission denied"
    assert calls[-1] == ("umount", f"{tmp_path}/ro")
