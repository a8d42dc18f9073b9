"""Trusted and untrusted cache flows on a real engine (docs/cache.md).

A tiny two-target bake of our own (FROM debian:testing-slim, RUN echo) on the
engine's own builder (docker driver, containerd image store), with the cache
flags bakery computes (bakery.cache.policy) passed as `docker buildx bake --set`:

1. a trusted run (push to main) exports to the shared directory S;
2. an untrusted run (pull request, its own scope, one changed step) imports S
   and exports only to its own scope directory;
3. S is byte-for-byte what it was after step 1 (every file hashed).

Nothing here prunes the builder or removes images: other people use this
engine. Outputs are cacheonly, so no image is created.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest

from bakery.cache import policy as cache
from bakery.engine import docker

pytestmark = pytest.mark.usefixtures("engine")

DOCKERFILE = """\
FROM debian:testing-slim AS base
ARG nonce
RUN echo "base $nonce" > /base.txt

FROM base AS leaf
ARG nonce
ARG leaf
ARG cache_scope
RUN --mount=type=cache,id=bakery-test-${nonce}-${cache_scope},target=/mnt/cache \\
    echo "leaf $leaf $nonce" > /leaf.txt && echo "$leaf" >> /mnt/cache/writers && cp /mnt/cache/writers /writers.txt
"""

BAKE = """\
variable "nonce" { default = "" }
variable "cache_scope" { default = "local" }
variable "leaf_b" { default = "b" }
target "_common" {
  context = "%(context)s"
  target = "leaf"
  args = { nonce = nonce, cache_scope = cache_scope }
  output = ["type=cacheonly"]
}
target "a" {
  inherits = ["_common"]
  args = { leaf = "a" }
}
target "b" {
  inherits = ["_common"]
  args = { leaf = leaf_b }
}
"""


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file and symlink under root: relative path -> sha256 (or link target)."""
    hashes = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                hashes[rel] = "-> " + os.readlink(path)
            else:
                hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def blobs(root: Path) -> set[str]:
    return {p.name for p in root.rglob("blobs/sha256/*") if p.is_file()}


def bake(
    bake_file: Path, plan: cache.CachePlan, instances: list[str], env: dict[str, str], allow: tuple[str, ...] = ()
) -> str:
    """One bake as bakery runs it: flags and entitlements from the plan,
    cache_scope from the plan, through the docker seam."""
    plan.prepare()
    argv = [
        "buildx", "bake", "--builder", "default", "--file", str(bake_file), "--progress", "plain",
        "--allow", f"fs.read={bake_file.parent}", *(part for a in allow for part in ("--allow", a)),
        *(part for allow in plan.entitlements() for part in ("--allow", allow)),
        *plan.argv(instances), *instances,
    ]  # fmt: skip
    result = docker.run(argv, env=docker.environment({**env, "cache_scope": plan.scope}), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def _cached(log: str, step: str) -> bool:
    """Whether the vertex named `step` reported CACHED in plain progress."""
    lines = log.splitlines()
    vertices = {line.split()[0] for line in lines if step in line and line.startswith("#")}
    assert vertices, f"no step {step!r} in the log"
    return all(f"{vertex} CACHED" in lines for vertex in vertices)


def test_untrusted_run_imports_shared_cache_and_leaves_it_unchanged(tmp_path: Path) -> None:
    if not docker.image_exists("debian:testing-slim"):
        pytest.fail("debian:testing-slim is not in the engine; make it: invoke system-image")
    token = uuid.uuid4().hex[:12]
    context = tmp_path / "tree"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    bake_file = context / "docker-bake.hcl"
    bake_file.write_text(BAKE % {"context": context})
    shared, scopes = tmp_path / "shared", tmp_path / "scopes"
    env = {"nonce": token}

    printed = docker.run(["buildx", "bake", "--file", str(bake_file), "--print", "a", "b"], env=docker.environment(env))
    instances = sorted(json.loads(printed.stdout)["target"])
    assert instances == ["a", "b"]

    # 1. Trusted: push to the default branch exports to S.
    trusted = cache.cache_plan(
        event="push", ref="refs/heads/main", shared=str(shared), scopes_dir=scopes,
        actor="alice", repository="o/r", ref_name="main",
    )  # fmt: skip
    assert trusted.trusted and trusted.scope == "trusted"
    assert [v for v in trusted.set_values(instances) if "cache-from" in v] == []  # S is empty so far
    bake(bake_file, trusted, instances, env)
    assert trusted.publish(instances) == [f"cache a: published to {shared}/a", f"cache b: published to {shared}/b"]
    before = tree_hashes(shared)
    assert (shared / "a" / "index.json").is_file() and (shared / "b" / "index.json").is_file()
    shared_blobs = blobs(shared)
    assert shared_blobs

    # 2. Untrusted: a pull request in its own scope, with one step changed
    # (what a poisoning attempt looks like), imports S, exports to its scope.
    untrusted = cache.cache_plan(
        event="pull_request", ref="refs/pull/7/merge", shared=str(shared), scopes_dir=scopes,
        actor="mallory", repository="o/r", ref_name="7/merge",
    )  # fmt: skip
    own = scopes / "bakery-mallory-o-r-7-merge"
    assert not untrusted.trusted and untrusted.scope == own.name
    flags = untrusted.set_values(instances)
    assert f"a.cache-from=type=local,src={shared}/a" in flags
    assert all(str(shared) not in v for v in flags if ".cache-to=" in v)
    assert f"fs.write={shared}" not in untrusted.entitlements()
    log = bake(bake_file, untrusted, instances, {**env, "leaf_b": "poisoned"})
    # Both shared entries were imported, with no warning about them.
    assert log.count("importing cache manifest from local:") >= 2, log[-3000:]
    assert f"local cache import at {shared}" not in log
    # The trade-off, measured: a step that mounts a scope-namespaced cache has
    # another cache key in another scope, so it runs again; steps without one
    # are shared.
    # (bake merges a's and b's identical base step under either name.)
    assert _cached(log, " base 2/2]") and not _cached(log, "[a leaf 1/1]")
    untrusted.publish(instances)

    after = tree_hashes(shared)
    assert after == before, "the untrusted run changed the shared cache"
    own_blobs = blobs(own)
    assert (own / "a" / "index.json").is_file() and (own / "b" / "index.json").is_file()
    assert own_blobs - shared_blobs, "the changed step's layer should exist only in the untrusted scope"
    print(
        f"\nshared: {len(before)} files, {len(shared_blobs)} blobs, "
        f"tree sha256 {hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]} before and after; "
        f"scope {own.name}: {len(tree_hashes(own))} files, {len(own_blobs - shared_blobs)} blobs not in shared"
    )


def test_cache_mounts_are_namespaced_by_scope(tmp_path: Path) -> None:
    """An untrusted run writes into its cache mount; a trusted run after it
    sees only what trusted runs wrote (the mount ids differ by scope)."""
    token = uuid.uuid4().hex[:12]
    context = tmp_path / "tree"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.replace("type=cacheonly", ""))
    bake_file = context / "docker-bake.hcl"
    bake_file.write_text(
        BAKE.replace('output = ["type=cacheonly"]', f'output = ["type=local,dest={tmp_path}/out"]')
        % {"context": context}
    )

    (tmp_path / "out").mkdir()

    def run(plan: cache.CachePlan, leaf_b: str) -> str:
        bake(bake_file, plan, ["b"], {"nonce": token, "leaf_b": leaf_b}, allow=(f"fs.write={tmp_path}/out",))
        return (tmp_path / "out" / "writers.txt").read_text()

    no_cache = {"shared": ""}  # mounts only; no cache import or export here
    untrusted = cache.cache_plan(event="pull_request", ref="refs/pull/8/merge", actor="mallory", **no_cache)
    trusted = cache.cache_plan(event="push", ref="refs/heads/main", **no_cache)
    assert run(untrusted, "poison") == "poison\n"
    assert run(trusted, "clean") == "clean\n"  # the untrusted write is not visible
    assert run(untrusted, "poison-again") == "poison\npoison-again\n"


def test_concurrent_trusted_exports_do_not_collide(tmp_path: Path) -> None:
    """Two trusted jobs on one host export the same targets at once (one
    shared directory for all targets fails: measured on buildx 0.29). Per
    run version directories and an atomic publish keep both intact."""
    from concurrent.futures import ThreadPoolExecutor

    token = uuid.uuid4().hex[:12]
    context = tmp_path / "tree"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    bake_file = context / "docker-bake.hcl"
    bake_file.write_text(BAKE % {"context": context})
    shared = tmp_path / "shared"
    plans = [cache.cache_plan(event="push", ref="refs/tags/v1", shared=str(shared)) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda p: bake(bake_file, p, ["a", "b"], {"nonce": token}), plans))
    for plan in plans:
        assert len(plan.publish(["a", "b"])) == 2
    last = plans[-1].run_id
    assert os.readlink(shared / "a") == f".versions/a/{last}"
    for plan in plans:
        index = json.loads((shared / ".versions" / "a" / plan.run_id / "index.json").read_text())
        assert index["manifests"], plan.run_id
