"""Misspelt variables (docs/settings.md): a name that looks like one of bakery's settings or the
tree's axes and variables, but is none of them, is an error with a suggestion, never ignored."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from bakery.config.options import SPEC_BY_NAME
from bakery.errors import UsageError

# Only these prefixes are checked for misspellings: a CI environment holds many
# unrelated names, and COMPLEMENT_* variables of Complement's own (COMPLEMENT_CA,
# ...) pass through to the tester.
OUR_PREFIXES = ("BAKERY_", "CI_")


def check_spelling(layer: Mapping[str, str], axis_names: set[str], source: str) -> None:
    """A name that looks like one of ours but is not is an error, with a
    suggestion: the original silently ignored misspelt variables."""
    known = axis_names | set(SPEC_BY_NAME)
    for name in layer:
        if name in known:
            continue
        if name.islower():
            pool = sorted(axis_names)
        elif name.startswith(OUR_PREFIXES):
            pool = sorted(k for k in SPEC_BY_NAME if k.startswith(name.split("_", 1)[0] + "_"))
        else:
            continue
        match = difflib.get_close_matches(name, pool, n=1, cutoff=0.85)
        if match:
            raise UsageError(f"{source}: unknown variable {name}; did you mean {match[0]}?")
