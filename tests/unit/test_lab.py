"""The lab's pure parts (lab/runners.py): what it tells users, and how teardown
leftovers are found. Starting the lab is covered by tests/engine/test_runners.py."""

from __future__ import annotations

from pathlib import Path

from lab import runners as lab


def test_describe_gives_the_settings_to_use_the_lab():
    root = Path("/tmp/bakery-lab-x")
    runner = lab.Runner(root / "b", "bklabc", "10.213.40.0/24")
    described = lab.Lab(root, lab.Registry("shared", root, 5001), lab.Registry("scopes", root, 5002), runner)
    assert described.describe() == [
        "# lab in /tmp/bakery-lab-x",
        "export BAKERY_CACHE_DIR=127.0.0.1:5001/bakery/cache",
        "export BAKERY_CACHE_SCOPES_REF=127.0.0.1:5002/bakery/scopes",
        "# runner B:",
        "export BUILDX_CONFIG=/tmp/bakery-lab-x/b/buildx",
        "export DOCKER_CONFIG=/tmp/bakery-lab-x/b/docker-config",
        "export DOCKER_HOST=unix:///tmp/bakery-lab-x/b/d.sock",
    ]


def test_leftovers_lists_only_what_appeared():
    def snap(**extra: frozenset[str]) -> lab.Snapshot:
        empty: frozenset[str] = frozenset()
        base = {"processes": empty, "mounts": empty, "links": frozenset({"eth0"}), "iptables": empty, "builders": empty}
        return lab.Snapshot(**{**base, **extra})

    before = snap()
    assert lab.leftovers(before, snap()) == {}
    after = snap(links=frozenset({"eth0", "bkl1"}), iptables=frozenset({"-A FORWARD -i bkl1 -j ACCEPT"}))
    assert lab.leftovers(before, after) == {"links": ["bkl1"], "iptables": ["-A FORWARD -i bkl1 -j ACCEPT"]}
    assert lab.leftovers(after, before) == {}  # something gone is not a leftover
