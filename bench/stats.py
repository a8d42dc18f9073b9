"""The arithmetic behind every bench figure (bench/README.md): medians, quartiles,
paired differences and ratios. Pure functions; tests/unit/test_bench.py
checks them against values written out by hand."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(samples: Sequence[float]) -> float:
    if not samples:
        raise ValueError("no samples")
    return statistics.median(samples)


def quartiles(samples: Sequence[float]) -> tuple[float, float]:
    """First and third quartile, inclusive method (the sample's own range:
    a figure's IQR never reaches past its min or max)."""
    if len(samples) < 2:
        return (samples[0], samples[0]) if samples else (0.0, 0.0)
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return q1, q3


def summary(samples: Sequence[float], digits: int = 3) -> dict[str, float]:
    """median, q1, q3, iqr, min, max and n of one figure."""
    q1, q3 = quartiles(samples)
    return {
        "median": round(median(samples), digits),
        "q1": round(q1, digits),
        "q3": round(q3, digits),
        "iqr": round(q3 - q1, digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "n": len(samples),
    }


def paired(ours: Sequence[float], *others: Sequence[float]) -> list[float]:
    """Per pair i: ours[i] minus each other figure's sample i (runs alternate
    in pairs, so a slow minute of the machine hits both sides)."""
    if any(len(other) != len(ours) for other in others):
        raise ValueError("paired figures need the same number of samples")
    return [o - sum(other[i] for other in others) for i, o in enumerate(ours)]


def ratio(numerator: Sequence[float], denominator: Sequence[float], digits: int = 2) -> float:
    """Ratio of medians."""
    return round(median(numerator) / median(denominator), digits)


def portable(value: object, root: str) -> object:
    """`value` with every path under `root` made relative to it, so results
    hold no absolute path of the machine they were measured on."""
    prefix = root.rstrip("/") + "/"
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, list):
        return [portable(v, root) for v in value]
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    return value
