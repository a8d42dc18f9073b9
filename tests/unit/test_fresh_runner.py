"""The fresh-runner benchmark's figures (bench/fresh_runner.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from bakery import ROOT


def _bench() -> ModuleType:
    path = Path(ROOT) / "bench" / "fresh_runner.py"
    spec = importlib.util.spec_from_file_location("fresh_runner", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fraction_of_cold_and_cached_fraction():
    figures = _bench().figures({"wall_s": 80.0, "cached": 0, "ran": 19}, {"wall_s": 20.0, "cached": 18, "ran": 2})
    assert figures == {"fraction_of_cold": 0.25, "cached_fraction": 0.9}


def test_no_steps_gives_no_cached_fraction():
    figures = _bench().figures({"wall_s": 10.0, "cached": 0, "ran": 0}, {"wall_s": 5.0, "cached": 0, "ran": 0})
    assert figures == {"fraction_of_cold": 0.5, "cached_fraction": 0.0}
