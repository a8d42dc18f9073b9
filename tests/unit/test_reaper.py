"""The reaper's selection, scripted through the docker seam."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bakery.engine import docker, reaper
from bakery.errors import BakeryError, EnvironmentNotReady, UsageError

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ls_line(name: str, driver: str = "docker-container", last: str | None = None) -> str:
    entry: dict = {"Name": name, "Driver": driver, "Nodes": [{"Name": name + "0", "Status": "inactive"}]}
    if last is not None:
        entry["LastActivity"] = last
    return json.dumps(entry)


LISTING = "\n".join(
    [
        ls_line("default", "docker", "2026-01-01T00:00:00Z"),  # not ours, ancient
        ls_line("someone-else", last="2026-01-01T00:00:00Z"),  # not ours
        ls_line("bakery-old", last="2026-05-20T12:00:00Z"),  # idle 12 days
        ls_line("bakery-old-nanos", last="2026-05-20T12:00:00.123456789Z"),  # buildx may give nanoseconds
        ls_line("bakery-fresh", last="2026-05-31T12:00:00Z"),  # idle 1 day
        ls_line("bakery-unknown"),  # no LastActivity
        ls_line("bakery-zero", last="0001-01-01T00:00:00Z"),  # zero time
        ls_line("bakery-engine", "docker", "2026-01-01T00:00:00Z"),  # docker driver
        ls_line("bakery-mine", last="2026-01-01T00:00:00Z"),  # asked to keep
    ]
)


def script(seam, listing: str = LISTING, rm_fails: tuple[str, ...] = ()) -> None:
    def respond(call: docker.Call) -> docker.Completed:
        argv = call.argv
        if argv[1:] == ("buildx", "ls", "--format", "json"):
            return docker.Completed(argv, 0, listing + "\n", "")
        if argv[1:3] == ("buildx", "rm"):
            if argv[3] in rm_fails:
                return docker.Completed(argv, 1, "", f"ERROR: failed to remove {argv[3]}: busy\n")
            return docker.Completed(argv, 0, "", f"{argv[3]} removed\n")
        return docker.Completed(argv, 1, "", f"unexpected {argv}")

    seam.respond = respond


def test_reaps_only_idle_scoped_builders(seam) -> None:
    script(seam)
    out: list[str] = []
    removed = reaper.reap(7 * DAY, keep=["bakery-mine"], now=NOW, out=out.append)
    assert removed == ["bakery-old", "bakery-old-nanos"]
    assert seam.argvs == [
        ("docker", "buildx", "ls", "--format", "json"),
        ("docker", "buildx", "rm", "bakery-old"),
        ("docker", "buildx", "rm", "bakery-old-nanos"),
    ]
    assert out == [
        "keep bakery-fresh: idle 1d0h",
        "keep bakery-unknown: buildx reports no last activity",
        "keep bakery-zero: buildx reports no last activity",
        "keep bakery-engine: docker driver (the engine's own builder)",
        "keep bakery-mine: asked to keep",
        "reaped bakery-old: idle 12d0h",
        "reaped bakery-old-nanos: idle 11d23h",
        "reaped 2 of 7 scoped builders (idle longer than 7d0h)",
    ]


def test_nothing_to_reap_still_says_so(seam) -> None:
    script(seam, ls_line("default", "docker", "2026-01-01T00:00:00Z"))
    out: list[str] = []
    assert reaper.reap(DAY, now=NOW, out=out.append) == []
    assert out == ["reaped 0 of 0 scoped builders (idle longer than 1d0h)"]


def test_age_boundary_is_exclusive(seam) -> None:
    script(seam, ls_line("bakery-edge", last="2026-05-25T12:00:00Z"))
    assert reaper.reap(7 * DAY, now=NOW, out=lambda _: None) == []
    assert reaper.reap(7 * DAY - timedelta(seconds=1), now=NOW, out=lambda _: None) == ["bakery-edge"]


def test_dry_run_removes_nothing(seam) -> None:
    script(seam)
    out: list[str] = []
    assert reaper.reap(7 * DAY, now=NOW, dry_run=True, out=out.append) == []
    assert [a for a in seam.argvs if "rm" in a] == []
    assert "would reap bakery-old: idle 12d0h" in out
    assert out[-1] == "would reap 3 of 7 scoped builders (idle longer than 7d0h)"


def test_a_failed_removal_is_reported_after_trying_the_rest(seam) -> None:
    script(seam, rm_fails=("bakery-old",))
    out: list[str] = []
    with pytest.raises(BakeryError, match="could not remove 1 builder"):
        reaper.reap(7 * DAY, now=NOW, out=out.append)
    assert "reaped 2 of 7 scoped builders (idle longer than 7d0h)" in out
    assert ("docker", "buildx", "rm", "bakery-old-nanos") in seam.argvs
    assert "failed to reap bakery-old: ERROR: failed to remove bakery-old: busy" in out


def test_buildx_without_json_listing_is_an_environment_error(seam) -> None:
    seam.respond = lambda call: docker.Completed(call.argv, 1, "", "unknown flag: --format\n")
    with pytest.raises(EnvironmentNotReady, match="LastActivity"):
        reaper.reap(DAY, now=NOW)


def test_select_is_pure() -> None:
    builders = [
        reaper.Builder("bakery-a", "docker-container", NOW - 3 * DAY),
        reaper.Builder("bakery-b", "remote", NOW - 30 * DAY),
        reaper.Builder("x-bakery-c", "docker-container", NOW - 30 * DAY),
    ]
    chosen, notes = reaper.select(builders, 2 * DAY, NOW)
    assert [b.name for b in chosen] == ["bakery-a", "bakery-b"]
    assert notes == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2))],
)  # fmt: skip
def test_parse_age(text: str, expected: timedelta) -> None:
    assert reaper.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "7", "0d", "-1d", "7 days", "1y", "1.5h"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="90s, 30m, 12h, 7d, 2w"):
        reaper.parse_age(text)
