"""Where a cache lives: a directory or a registry repository (docs/cache.md),
apart from the policy in bakery/cache/policy.py and the on-disk store in
bakery/cache/store.py.

A location is an absolute local directory or a registry repository. Each
target instance has its own entry in it: `<root>/<instance>` (a symlink into
`.versions`, see bakery/cache/store.py) or the tag `<repo>:<instance>`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bakery.errors import UsageError

VERSIONS = ".versions"
# host/path with an explicit registry host (Docker's rule: a dot, a port or
# localhost), so that a relative directory is never mistaken for a registry.
_REGISTRY = re.compile(
    r"^(localhost(:[0-9]+)?|[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?|[a-z0-9-]+:[0-9]+)(/[a-z0-9]+([._-][a-z0-9]+)*)+$"
)


@dataclass(frozen=True)
class Location:
    """A cache root: an absolute local directory or a registry repository."""

    kind: str  # "local" or "registry"
    base: str

    @classmethod
    def parse(cls, value: str, source: str = "BAKERY_CACHE_DIR") -> Location:
        if value.startswith("/"):
            return cls("local", os.path.normpath(value))
        if _REGISTRY.match(value):
            return cls("registry", value)
        raise UsageError(
            f"{source}={value!r} is neither an absolute directory nor a registry repository "
            "(registry host/path, no tag); give e.g. /srv/bakery-cache or ghcr.io/owner/cache"
        )

    def entry(self, instance: str) -> str:
        if self.kind == "local":
            return str(Path(self.base) / instance)
        return f"{self.base}:{registry_tag(instance)}"

    def source(self, instance: str) -> str | None:
        """A cache-from value, or None when a local entry does not exist yet
        (buildx would only warn)."""
        if self.kind == "registry":
            return f"type=registry,ref={self.entry(instance)}"
        path = Path(self.entry(instance))
        return f"type=local,src={path}" if (path / "index.json").is_file() else None

    def destination(self, instance: str, run_id: str) -> str:
        # Registry: BuildKit's own cache manifest, pushed as it is; registry
        # 2.8 accepts it (checked in the runners lab), so no image-manifest
        # option is needed. A push replaces the tag atomically.
        if self.kind == "registry":
            return f"type=registry,ref={self.entry(instance)},mode=max"
        return f"type=local,dest={Path(self.base) / VERSIONS / instance / run_id},mode=max"

    def contains(self, other: Location) -> bool:
        """Whether `other` is this location or sits under it."""
        if self.kind != other.kind:
            return False
        if self.kind == "registry":
            return other.base == self.base or other.base.startswith(self.base + "/")
        a, b = Path(self.base).resolve(), Path(other.base).resolve()
        return a == b or b.is_relative_to(a)


def registry_tag(instance: str) -> str:
    """A tag is at most 128 characters; longer names keep a hash suffix."""
    if len(instance) <= 128:
        return instance
    return instance[:119] + "-" + hashlib.sha256(instance.encode()).hexdigest()[:8]
