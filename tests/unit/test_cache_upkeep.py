"""Upkeep of local cache roots (docs/cache.md): entries not published
for the age go, with their versions and the blobs no one links any more;
nothing outside bakery's layout is touched. Real files in tmp, real times."""

from __future__ import annotations

import os
from pathlib import Path

from bakery.cache import store as cache_store
from bakery.cache import upkeep
from bakery.config import settings

DAY = 86400.0
NOW = 1_800_000_000.0


def entry(root: Path, instance: str, run_id: str, blob: bytes, published: float) -> Path:
    """An entry as publish leaves it: a version with a blob pooled by hard link."""
    version = root / ".versions" / instance / run_id
    (version / "blobs" / "sha256").mkdir(parents=True)
    (version / "index.json").write_text("{}")
    digest = f"{abs(hash(blob)):x}"
    (version / "blobs" / "sha256" / digest).write_bytes(blob)
    cache_store.dedupe(root / cache_store.BLOBS, version / "blobs")
    link = root / instance
    link.symlink_to(Path(".versions") / instance / run_id)
    os.utime(link, (published, published), follow_symlinks=False)
    return link


def test_old_entries_go_with_their_blobs_and_nothing_else(tmp_path: Path):
    root = tmp_path / "shared"
    old = entry(root, "diner--a", "r1", b"old layer", NOW - 30 * DAY)
    young = entry(root, "kitchen--a", "r2", b"young layer", NOW - 1 * DAY)
    (root / "notes").mkdir()  # not ours
    (root / "elsewhere").symlink_to("/tmp")  # a symlink, but not into .versions
    lines = cache_store.prune_root(root, 14 * DAY, NOW)
    assert not old.is_symlink() and not (root / ".versions" / "diner--a").exists()
    assert young.is_symlink() and (young / "index.json").is_file()
    assert (root / "notes").is_dir() and (root / "elsewhere").is_symlink()
    pooled = sorted(p.name for p in (root / ".blobs").rglob("*") if p.is_file())
    assert pooled == [f"{abs(hash(b'young layer')):x}"]
    assert lines == [
        f"removed {old} (published 30.0 days ago)",
        f"freed 9 bytes of blobs in {root / '.blobs'}",
    ]


def test_a_scope_with_nothing_left_is_removed_whole(tmp_path: Path):
    scopes = tmp_path / "scopes"
    entry(scopes / "bakery-mallory-fork-7", "diner--a", "r1", b"pr layer", NOW - 20 * DAY)
    entry(scopes / "bakery-alice-main", "diner--a", "r2", b"fresh", NOW - 2 * DAY)
    (scopes / "someone-elses").mkdir()
    (scopes / "someone-elses" / "file").write_text("keep")
    lines = cache_store.prune_scopes(scopes, 14 * DAY, NOW)
    assert sorted(p.name for p in scopes.iterdir()) == ["bakery-alice-main", "someone-elses"]
    assert f"removed scope {scopes / 'bakery-mallory-fork-7'}" in lines


def test_nothing_old_enough_leaves_the_root_unchanged(tmp_path: Path):
    root = tmp_path / "shared"
    link = entry(root, "diner--a", "r1", b"layer", NOW - 1 * DAY)
    assert cache_store.prune_root(root, 14 * DAY, NOW) == []
    assert link.is_symlink()
    assert cache_store.prune_root(tmp_path / "missing", 14 * DAY, NOW) == []


def test_seeding_links_only_intact_blobs(tmp_path: Path):
    """A new version starts with links to the current blobs (a fully cached
    export then writes nothing), but never to a damaged one, which the
    exporter must write afresh."""
    import hashlib

    root = tmp_path / "shared"
    blobs = root / ".versions" / "diner--a" / "r1" / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    good, bad = b"good layer", b"bad layer"
    (blobs / hashlib.sha256(good).hexdigest()).write_bytes(good)
    (blobs / hashlib.sha256(bad).hexdigest()).write_bytes(b"bAd layer")  # same size, other bytes
    (root / "diner--a").symlink_to(Path(".versions") / "diner--a" / "r1")
    assert cache_store.seed_version(root, "diner--a", "r2") == 1
    seeded = root / ".versions" / "diner--a" / "r2" / "blobs" / "sha256"
    assert [p.name for p in seeded.iterdir()] == [hashlib.sha256(good).hexdigest()]
    assert cache_store.seed_version(root, "kitchen--a", "r2") == 0  # no current entry


def test_invoke_cache_prunes_the_local_shared_root_and_every_scope(tmp_path: Path):
    shared = tmp_path / "shared"
    scopes = tmp_path / "scopes"
    old = entry(shared, "diner--a", "r1", b"old layer", NOW - 30 * DAY)
    scoped = entry(scopes / "pr-7", "diner--a", "r2", b"pr layer", NOW - 30 * DAY)
    loaded = settings.load({}, {"BAKERY_CACHE_DIR": str(shared), "BAKERY_CACHE_SCOPES_DIR": str(scopes)})
    lines = upkeep.prune(loaded, "14d", NOW)
    assert f"removed {old} (published 30.0 days ago)" in lines
    assert f"removed {scoped} (published 30.0 days ago)" in lines
    assert f"removed scope {scopes / 'pr-7'}" in lines
    assert upkeep.prune(loaded, "14d", NOW) == ["nothing older than 14d"]


def test_a_registry_shared_cache_is_not_pruned_here(tmp_path: Path):
    loaded = settings.load({}, {"BAKERY_CACHE_DIR": "registry.example/cache", "BAKERY_CACHE_SCOPES_DIR": str(tmp_path)})
    assert upkeep.prune(loaded, "2w", NOW) == ["nothing older than 2w"]
