"""Keep secrets out of logs and error messages (issue 7)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

# Names that look like secrets (case-insensitive), plus registry auth.
SECRET_PATTERNS = ("*TOKEN*", "*SECRET*", "*PASSWORD*", "*KEY*", "*AUTH*", "*CREDENTIAL*")
MASK = "***"


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of env with every secret-looking value masked."""
    return {k: (MASK if is_secret_name(k) and v else v) for k, v in env.items()}


# NAME=value and "name": "value" forms, for free text such as stderr.
_ASSIGNMENT = re.compile(r"""(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<sep>=|"?\s*:\s*"?)(?P<value>[^\s"',]+)""")
# HTTP basic/bearer credentials and user:password@host in URLs.
_URL_AUTH = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask secret-looking assignments, URL credentials and known values."""
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, MASK)

    def _mask(match: re.Match[str]) -> str:
        if is_secret_name(match["name"]):
            return f"{match['name']}{match['sep']}{MASK}"
        return match[0]

    text = _ASSIGNMENT.sub(_mask, text)
    text = _URL_AUTH.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
