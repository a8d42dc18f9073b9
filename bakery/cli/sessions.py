"""nox session ids for matrix vectors (docs/commands.md, "nox"), derived from
docker/matrix.toml.

Format: `bake(` then `key=value` pairs joined by commas, then `)`. The keys are
the axes' `nox` keys. The axes of `[nox] always` (sys and feat) always appear,
in that order; the others only when the active matrix has more than one value
for them, in axis order. Values are axis values, which never need quoting
inside the outer pair (`nox -s "bake(sys=debian,feat=all)"`). Every axis value
is also a tag, so `nox -t all` selects the sessions with feature set `all`.

The noxfile registers them with nox.parametrize. Nothing
here configures logging: nox's own handler (the `nox >` prefix) stays in
charge of the output.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import nox
from invoke.exceptions import Exit

from bakery.cli.common import exit_for, guard, load
from bakery.config import settings
from bakery.config.matrix import Definition, Vector
from bakery.errors import BakeryError

INVALID = "invalid-settings"


@dataclass(frozen=True)
class Session:
    id: str  # what goes between `bake(` and `)`: nox.param's id
    vector: Vector
    tags: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"bake({self.id})"


def session_id(definition: Definition, vector: Vector, varying: set[str]) -> str:
    shown = [*definition.nox_always, *(a.name for a in definition.axes if a.name in varying)]
    keys = {a.name: a.nox for a in definition.axes}
    return ",".join(f"{keys[axis]}={vector[axis]}" for axis in dict.fromkeys(shown))


def sessions(definition: Definition, vectors: Sequence[Vector]) -> list[Session]:
    varying = {axis for axis, _ in vectors[0].items if len({v[axis] for v in vectors}) > 1} if vectors else set()
    return [Session(session_id(definition, v, varying), v, tuple(dict.fromkeys(v.values()))) for v in vectors]


def names(matrix_name: str | None = None) -> dict[Vector, str]:
    """Each vector's session name, as the noxfile registers them: over the
    whole active matrix (`matrix_name` or BAKERY_MATRIX), so that a filtered
    selection (`invoke matrix --cargo-profile release`) keeps the full ids."""
    loaded = settings.load({"BAKERY_MATRIX": matrix_name})
    return {entry.vector: entry.name for entry in sessions(loaded.definition, loaded.vectors(use_matrix=True))}


def params() -> list[object]:
    """One param per vector; a bad setting gives one `bake(invalid-settings)`
    session that reports it, and says it now, so that a named session is not
    just "not found"."""
    try:
        loaded = settings.load({})
        vectors = loaded.vectors(use_matrix=True)
    except BakeryError as exc:
        line = str(exit_for(exc).message)
        print(line, file=sys.stderr)
        return [nox.param(line, id=INVALID)]
    return [
        nox.param(entry.vector, id=entry.id, tags=list(entry.tags)) for entry in sessions(loaded.definition, vectors)
    ]


def bake(session: nox.Session, vector: object) -> None:
    """Bake one vector; nox exits 1 for any failed session (`invoke bake`
    gives bakery's own exit codes)."""
    from bakery.baking import bake as bake_module

    if not isinstance(vector, Vector):
        session.error(str(vector))
    try:
        with guard():
            loaded = load({})
            bake_module.run(loaded, bake_module.split_targets(session.posargs), [vector], out=session.log)
    except Exit as ending:
        # nox exits 1 for any failed session; the line is bakery's own.
        print(ending.message, file=sys.stderr)
        session.error(str(ending.message))
