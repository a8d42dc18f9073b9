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


def test_fraction_of_cold_from_medians_and_cached_steps_against_cold_ran():
    colds = [
        {"wall_s": 80.0, "cached": 7, "ran": 20},
        {"wall_s": 90.0, "cached": 7, "ran": 20},
        {"wall_s": 70.0, "cached": 7, "ran": 20},
    ]
    fresh = [
        {"wall_s": 20.0, "cached": 26, "ran": 1},
        {"wall_s": 16.0, "cached": 27, "ran": 0},
        {"wall_s": 30.0, "cached": 18, "ran": 9},
    ]
    # Medians 80 s and 20 s; the worst fresh run cached 18 of the 20 steps a cold run ran.
    assert _bench().figures(colds, fresh) == {"fraction_of_cold": 0.25, "cached_of_cold_ran": 0.9, "most_ran_fresh": 9}


def test_an_even_count_takes_the_mean_of_the_middle_two():
    colds = [{"wall_s": 10.0, "cached": 0, "ran": 4}, {"wall_s": 30.0, "cached": 0, "ran": 4}]
    fresh = [{"wall_s": 4.0, "cached": 4, "ran": 0}, {"wall_s": 6.0, "cached": 4, "ran": 0}]
    assert _bench().figures(colds, fresh) == {"fraction_of_cold": 0.25, "cached_of_cold_ran": 1.0, "most_ran_fresh": 0}


def test_no_steps_gives_no_cached_fraction():
    figures = _bench().figures([{"wall_s": 10.0, "cached": 0, "ran": 0}], [{"wall_s": 5.0, "cached": 0, "ran": 0}])
    assert figures == {"fraction_of_cold": 0.5, "cached_of_cold_ran": 0.0, "most_ran_fresh": 0}
