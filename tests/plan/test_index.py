"""One tag for every platform, from the real tree's `docker buildx bake --print`:
the `multiarch` matrix's two vectors push `github` and `dockerhub` under tags
that end with their sys_target, and bakery.baking.index puts each repository's
two together under the tag without it (docs/packages.md)."""

from __future__ import annotations

import pytest

from bakery.baking import index
from bakery.tree import bakefile
from tests.support.settings import load

pytestmark = pytest.mark.usefixtures("buildx_cli")


def test_the_multiarch_matrix_makes_one_index_per_repository():
    loaded = load(BAKERY_MATRIX="multiarch", registry_github="127.0.0.1:5000/example/mxd")
    found = []
    for vector in loaded.vectors(use_matrix=True):
        definition = bakefile.print_definition(loaded, ["github", "dockerhub"], bakefile.vector_env(loaded, vector))
        found += index.pushes(definition, vector.as_dict())
    assert sorted((p.ref, p.platform) for p in found) == [
        ("127.0.0.1:5000/example/mxd:release-default-aarch64-v8-linux-gnu", "linux/arm64"),
        ("127.0.0.1:5000/example/mxd:release-default-x86_64-v1-linux-gnu", "linux/amd64"),
        ("docker.io/example/mxd:release-default-aarch64-v8-linux-gnu", "linux/arm64"),
        ("docker.io/example/mxd:release-default-x86_64-v1-linux-gnu", "linux/amd64"),
    ]
    made = index.plan(found)
    assert sorted((m.ref, m.platforms) for m in made) == [
        ("127.0.0.1:5000/example/mxd:release-default", ("linux/amd64", "linux/arm64")),
        ("docker.io/example/mxd:release-default", ("linux/amd64", "linux/arm64")),
    ]
