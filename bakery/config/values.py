"""How a setting's value is written on the command line and in the environment: a JSON array of
strings, or comma-separated values; and how an error message quotes a value (short, one line)."""

from __future__ import annotations

import json

from bakery.errors import UsageError


def quote(raw: str) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def json_list(raw: str, source: str) -> list[str]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f'{source}={quote(raw)} is not valid JSON ({exc.msg}); give a JSON array such as \'["a", "b"]\''
        ) from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{source}={quote(raw)} is not a JSON array of strings")
    return value


def split_values(raw: str, source: str) -> list[str]:
    """A flag value: a JSON array, or comma-separated values."""
    if raw.lstrip().startswith("["):
        return json_list(raw, source)
    return [part.strip() for part in raw.split(",")]
