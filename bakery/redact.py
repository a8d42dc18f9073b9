"""Keep secrets out of logs and error messages."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping

# Names that look like secrets (case-insensitive), plus registry auth.
SECRET_PATTERNS = ("*TOKEN*", "*SECRET*", "*PASSWORD*", "*KEY*", "*AUTH*", "*CREDENTIAL*")
MASK = "***"
# Values shorter than this are not masked by value alone: "true", "1234" or a
# short path would mask ordinary words everywhere.
MIN_SECRET_VALUE = 6


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of env with every secret-looking value masked, and credentials
    inside other values (https://user:pass@host) masked too."""
    return {k: (MASK if is_secret_name(k) and v else redact_text(v)) for k, v in env.items()}


# A secret-looking name, then `=` or `:` (optionally quoted), then the value
# (optionally quoted). Only secret-looking names are matched, so an ordinary
# `ERROR: GH_TOKEN=x` cannot swallow the assignment that follows it.
_SECRET_NAME = r"[A-Za-z0-9_.-]*(?:TOKEN|SECRET|PASSWORD|PASSWD|KEY|AUTH|CREDENTIAL)[A-Za-z0-9_.-]*"
_ASSIGNMENT = re.compile(rf"""(?i)(?P<name>{_SECRET_NAME})(?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^\s"',}}]+)""")
# HTTP basic/bearer credentials and user:password@host in URLs.
_URL_AUTH = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def _mask(match: re.Match[str]) -> str:
    # Already masked, or the scheme word of a masked Bearer/Basic credential.
    if match["value"] == MASK or match["value"].lower() in ("bearer", "basic"):
        return match[0]
    return f"{match['name']}{match['sep']}{MASK}"


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask secret-looking assignments, URL credentials and known values."""
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, MASK)
    # Bearer/Basic first: `Authorization: Bearer x` must lose x, not "Bearer".
    # URL credentials before assignments: `https://x-token:secret@host` is one URL.
    text = _URL_AUTH.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
    return _ASSIGNMENT.sub(_mask, text)


def environment_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of secret-looking variables in the environment, longest
    first (so a value containing another is masked whole)."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if is_secret_name(k) and len(v) >= MIN_SECRET_VALUE}
    return tuple(sorted(values, key=len, reverse=True))


def redact_message(text: str) -> str:
    """redact_text, plus every secret-looking variable's value from the
    environment wherever it appears (a tool may echo a token without its name)."""
    return redact_text(text, environment_secrets())
