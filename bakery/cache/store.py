"""The on-disk cache store (docs/cache.md, "Locations"), apart from the
policy in bakery/cache/policy.py.

Layout. A multi-target bake that exports every target to one local directory
fails (measured, buildx 0.29: the exports race on the directory's `ingest/`).
So every target instance has its own entry: `<root>/<instance>` is a symlink
to `<root>/.versions/<instance>/<run id>`. A run exports into fresh version
directories, and `publish` swaps the symlinks atomically after the bake
succeeded, so concurrent jobs on one host never write the same directory and
readers never see half an export. Identical blobs are hard-linked to
`<root>/.blobs` (one pool per root, never across roots).

Importing a local cache takes a lock file (`index.json.lock`) inside the
source directory and deletes it again: file contents stay unchanged but the
directory's mtime moves. A read-only mount of the root works for importing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from bakery.cache.location import VERSIONS
from bakery.errors import UsageError

BLOBS = ".blobs"
KEEP_VERSIONS = 3  # per instance, besides the current one
MIN_VERSION_AGE = 3600.0  # seconds before a superseded version may be removed


def publish(root: Path, instances: Iterable[str], run_id: str) -> list[str]:
    """After a successful bake: point each local entry at this run's export."""
    lines = []
    for instance in sorted(set(instances)):
        version = root / VERSIONS / instance / run_id
        if not (version / "index.json").is_file():
            continue
        dedupe(root / BLOBS, version / "blobs")
        link = root / instance
        if link.exists() and not link.is_symlink():
            raise UsageError(f"{link} is a directory, not a bakery cache entry; move it away")
        tmp = root / f".{instance}.{run_id}.tmp"
        tmp.symlink_to(Path(VERSIONS) / instance / run_id)
        os.replace(tmp, link)
        prune_versions(root / VERSIONS / instance, run_id)
        lines.append(f"cache {instance}: published to {link}")
    return lines


def discard(root: Path, instance: str, run_id: str) -> None:
    """Remove this run's version of an entry unless the entry points at it."""
    version = root / VERSIONS / instance / run_id
    link = root / instance
    if link.is_symlink() and link.resolve() == version.resolve():
        return
    shutil.rmtree(version, ignore_errors=True)


def seed_version(root: Path, instance: str, run_id: str) -> int:
    """Start this run's version of an entry with hard links to the current
    version's blobs. BuildKit's local exporter skips a blob that already
    exists (content-addressed), so only changed blobs are written. Unused
    links cost nothing and leave with the version. Returns the links made."""
    current = root / instance / "blobs"
    if not current.is_dir():
        return 0
    made = 0
    for blob in sorted(current.rglob("*")):
        if not blob.is_file() or not _intact(blob):
            continue  # a damaged blob is not carried forward: the exporter writes it afresh
        target = root / VERSIONS / instance / run_id / "blobs" / blob.relative_to(current)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(blob, target)
            made += 1
        except OSError:
            continue  # another filesystem or already there: the exporter writes it
    return made


def _intact(blob: Path) -> bool:
    """A content-addressed blob (`blobs/sha256/<hex>`) whose bytes still hash
    to its name. Checked before seeding, because BuildKit skips a blob that
    exists, and a damaged one would otherwise live on in every later version."""
    if blob.parent.name != "sha256":
        return False
    with blob.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest() == blob.name


def dedupe(pool: Path, blobs: Path) -> None:
    """Hard-link identical blobs (content-addressed names) to one copy."""
    for blob in sorted(blobs.rglob("*")):
        if not blob.is_file() or blob.is_symlink():
            continue
        pooled = pool / blob.relative_to(blobs)
        pooled.parent.mkdir(parents=True, exist_ok=True)
        try:
            if pooled.exists():
                if pooled.stat().st_size == blob.stat().st_size and not os.path.samefile(pooled, blob):
                    tmp = blob.with_name(blob.name + ".link")
                    os.link(pooled, tmp)
                    os.replace(tmp, blob)
            else:
                os.link(blob, pooled)
        except OSError:
            continue  # another filesystem or a race: keeping the copy is fine


def prune_versions(versions: Path, current: str, now: float | None = None) -> None:
    """Keep the current version and the newest few; older ones go once they
    are old enough that no reader can still be importing them."""
    now = time.time() if now is None else now
    older = sorted((p for p in versions.iterdir() if p.name != current), key=lambda p: p.name, reverse=True)
    for path in older[KEEP_VERSIONS:]:
        if now - path.stat().st_mtime > MIN_VERSION_AGE:
            shutil.rmtree(path, ignore_errors=True)


def prune_root(root: Path, max_age: float, now: float | None = None) -> list[str]:
    """Upkeep of one cache root (docs/cache.md, "Upkeep"): remove the entries not published
    for max_age seconds, version directories no entry points at that are as
    old (an interrupted run), and pooled blobs no version links any more.
    Only bakery's own layout is touched: an entry is a symlink
    `<instance> -> .versions/<instance>/<run id>`; anything else stays."""
    now = time.time() if now is None else now
    versions = root / VERSIONS
    if not versions.is_dir():
        return []
    lines = []
    for link in sorted(p for p in root.iterdir() if p.is_symlink()):
        parts = Path(os.readlink(link)).parts
        if len(parts) != 3 or parts[:2] != (VERSIONS, link.name):
            continue  # not an entry of ours
        age = now - link.lstat().st_mtime
        if age > max_age:
            link.unlink()
            shutil.rmtree(versions / link.name, ignore_errors=True)
            lines.append(f"removed {link} (published {age / 86400:.1f} days ago)")
    for orphan in sorted(p for p in versions.iterdir() if p.is_dir() and not (root / p.name).is_symlink()):
        if now - orphan.stat().st_mtime > max_age:
            shutil.rmtree(orphan, ignore_errors=True)
            lines.append(f"removed {orphan} (no entry uses it)")
    pool = root / BLOBS
    freed = 0
    for blob in sorted(pool.rglob("*")) if pool.is_dir() else []:
        # Versions hard-link their blobs to the pool: a link count of 1 means none is left.
        if blob.is_file() and not blob.is_symlink() and blob.stat().st_nlink == 1:
            freed += blob.stat().st_size
            blob.unlink()
    if freed:
        lines.append(f"freed {freed:,} bytes of blobs in {pool}")
    return lines


def prune_scopes(scopes: Path, max_age: float, now: float | None = None) -> list[str]:
    """prune_root for every untrusted scope under `scopes`; a scope left with
    no entry and nothing but bakery's layout is removed whole."""
    if not scopes.is_dir():
        return []
    lines = []
    for scope in sorted(p for p in scopes.iterdir() if p.is_dir() and not p.is_symlink()):
        lines += prune_root(scope, max_age, now)
        ours_only = {p.name for p in scope.iterdir()} <= {VERSIONS, BLOBS}
        no_version = not (scope / VERSIONS).is_dir() or not any((scope / VERSIONS).iterdir())
        if ours_only and no_version:
            shutil.rmtree(scope, ignore_errors=True)
            lines.append(f"removed scope {scope}")
    return lines
