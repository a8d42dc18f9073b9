"""The real `docker buildx bake --print` of docker/bake.hcl for a selection (the plan tier):
the axes given as plural JSON lists, none inherited from the caller's environment."""

from __future__ import annotations

import json
import os
import subprocess

from bakery import ROOT
from tests.conftest import DEFAULT_VECTOR

AXIS_ORDER = tuple(DEFAULT_VECTOR)


def bake_print(lists: dict[str, list[str]], targets: list[str], **variables: str) -> dict:
    """bake's printed definition of `targets`, with per-axis `lists` and other bake `variables`."""
    env = {k: v for k, v in os.environ.items() if k not in AXIS_ORDER and k.removesuffix("s") not in AXIS_ORDER}
    env.update({f"{axis}s": json.dumps(values) for axis, values in lists.items()})
    env.update(variables)
    result = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker/bake.hcl", "--print", *targets],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def vector_lists(**overrides: str) -> dict[str, list[str]]:
    """The default vector as one-value lists, with `overrides`."""
    return {axis: [overrides.get(axis, value)] for axis, value in DEFAULT_VECTOR.items()}
