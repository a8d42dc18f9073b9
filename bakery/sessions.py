"""nox session ids for matrix vectors (issue 3 §5).

Format: `bake(` then `key=value` pairs joined by commas, then `)`.
- `sys` (the sys_name) and `feat` (the feat_set) always appear, in that order;
- then, only when the active matrix has more than one value for them, in
  this fixed order: profile, toolchain, target, sys_version, sys_target.
Values are axis values, which never need quoting inside the outer pair
(`nox -s "bake(sys=debian,feat=all)"`). Every axis value is also a tag, so
`nox -t all` selects the sessions with feature set `all`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakery.matrix import Vector

ALWAYS = (("sys", "sys_name"), ("feat", "feat_set"))
WHEN_VARYING = (
    ("profile", "cargo_profile"),
    ("toolchain", "rust_toolchain"),
    ("target", "rust_target"),
    ("sys_version", "sys_version"),
    ("sys_target", "sys_target"),
)


@dataclass(frozen=True)
class Session:
    id: str
    vector: Vector
    tags: tuple[str, ...]

    @property
    def description(self) -> str:
        return f"Bake the default group (or the given targets) for {self.vector.label()}."


def session_id(vector: Vector, varying: set[str]) -> str:
    keys = [*ALWAYS, *((k, axis) for k, axis in WHEN_VARYING if axis in varying)]
    return "bake(" + ",".join(f"{key}={vector[axis]}" for key, axis in keys) + ")"


def sessions(vectors: Sequence[Vector]) -> list[Session]:
    varying = {axis for axis, _ in vectors[0].items if len({v[axis] for v in vectors}) > 1} if vectors else set()
    return [Session(session_id(v, varying), v, tuple(dict.fromkeys(v.values()))) for v in vectors]
