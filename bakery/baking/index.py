"""One tag for every platform of a published image (docs/packages.md, "One tag for
every platform").

A vector is one platform (docs/decisions/cross-builds.md), so a publish target
(an instance whose output pushes to a registry: `github`, `dockerhub`) pushes
one image, under a tag that ends with its sys_target (bake.hcl:
`<cargo_profile>-<feat_set>-<sys_target>`). When one run pushes a repository
for several platforms, the tags that differ only in that ending are put
together after the pushes into one image index under the tag without it:
`docker buildx imagetools create --tag <index> <push>...` (docs.docker.com,
"docker buildx imagetools create"), which copies no layer, only writes the
index that names each pushed manifest with its platform. A pull of the index
tag then takes the image of the puller's platform (or `--platform`'s).

A fixed `publish_tag` names the index: in a run of several vectors each
vector pushes `<publish_tag>-<sys_target>` (`platform_tag`), so a release tag
(`v1.2`) is one index over the platforms rather than one image that each
push overwrote.

The plan is made before any bake runs, so a selection whose pushes cannot
make one index per tag stops before buildx (exit 2, one line): two vectors
pushing one tag (they differ only in axes the tag does not name, e.g.
sys_version), or two vectors of one platform under one index (an index
holds one image per platform).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bakery.errors import UsageError


@dataclass(frozen=True)
class Push:
    """One image a vector pushes: the reference, its platform and the vector
    (whose sys_target ends a default tag)."""

    ref: str
    platform: str
    # The vector's axes and values, in axis order.
    vector: tuple[tuple[str, str], ...]

    @property
    def sys_target(self) -> str:
        return dict(self.vector)["sys_target"]

    @property
    def repository(self) -> str:
        return _split(self.ref)[0]

    @property
    def tag(self) -> str:
        return _split(self.ref)[1]


@dataclass(frozen=True)
class Index:
    """One image index: its reference and the pushes it names, one per platform."""

    ref: str
    pushes: tuple[Push, ...]

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(p.platform for p in self.pushes)

    def argv(self, builder: str) -> list[str]:
        """The docker arguments that write it (the docker seam adds `docker`),
        with the run's builder, whose registry settings the bakes used."""
        refs = (p.ref for p in self.pushes)
        return ["buildx", "imagetools", "create", "--builder", builder, "--tag", self.ref, *refs]


def _split(ref: str) -> tuple[str, str]:
    """(repository, tag) of `host[:port]/path:tag`; the tag is after the last
    `:` that follows the last `/` (a port's `:` comes before a `/`)."""
    head, slash, last = ref.rpartition("/")
    name, colon, tag = last.partition(":")
    return f"{head}{slash}{name}", (tag if colon else "latest")


def pushes_to_registry(outputs: Iterable[object]) -> bool:
    """Whether a target's `output` pushes: `type=registry`, or an image output
    with `push=true`; buildx 0.29 prints outputs as objects, older ones
    (0.13) as `type=...,key=value` strings."""
    for output in outputs:
        if isinstance(output, str):
            fields = dict(part.partition("=")[::2] for part in output.split(","))
        elif isinstance(output, Mapping):
            fields = {str(k): str(v) for k, v in output.items()}
        else:
            continue
        if fields.get("type") == "registry" or (fields.get("type") == "image" and fields.get("push") == "true"):
            return True
    return False


# The longest tag a registry takes (the OCI distribution spec's tag grammar,
# `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
TAG_MAX = 128


def platform_tag(publish_tag: str, sys_target: str) -> str:
    """What a fixed `publish_tag` becomes for one vector of a run of several:
    the index takes `publish_tag`, each platform's push the tag with its
    sys_target after it."""
    tag = f"{publish_tag}-{sys_target}"
    if len(tag) > TAG_MAX:
        raise UsageError(
            f"publish_tag={publish_tag!r} with -{sys_target} after it is {len(tag)} characters, over a tag's "
            f"{TAG_MAX}; shorten publish_tag to {TAG_MAX - len(sys_target) - 1} characters or fewer"
        )
    return tag


def pushes(definition: Mapping, vector: Mapping[str, str]) -> list[Push]:
    """The images one vector's `--print` definition pushes to a registry."""
    found = []
    for _, target in sorted((definition.get("target") or {}).items()):
        if not pushes_to_registry(target.get("output") or ()):
            continue
        platforms = target.get("platforms") or ()
        for tag in target.get("tags") or ():
            found.append(Push(tag, ",".join(platforms), tuple(vector.items())))
    return found


def _differing(same: Sequence[Push]) -> str:
    """The axes whose values differ between pushes, as `axis a, b`."""
    axes = [name for name, _ in same[0].vector]
    values = {name: list(dict.fromkeys(dict(p.vector)[name] for p in same)) for name in axes}
    return "; ".join(f"{name} {', '.join(vals)}" for name, vals in values.items() if len(vals) > 1)


def plan(found: Sequence[Push]) -> list[Index]:
    """The indexes a run's pushes make: per repository, the pushes whose tags
    are one stem plus `-<sys_target>`, when they cover more than one
    platform. A UsageError (before anything is built) when two vectors push
    one reference, or one index would hold a platform twice."""
    by_ref: dict[str, list[Push]] = {}
    for push in found:
        by_ref.setdefault(push.ref, []).append(push)
    for ref, same in by_ref.items():
        if len({p.vector for p in same}) > 1:
            raise UsageError(
                f"{ref} would be pushed by {len(same)} vectors ({_differing(same)}), each overwriting the last, "
                "because its tag does not name what differs; publish them in separate runs or to separate "
                "repositories (registry_github, registry_dockerhub)"
            )
    stems: dict[str, list[Push]] = {}
    for push in found:
        suffix = f"-{push.sys_target}"
        if push.tag.endswith(suffix) and len(push.tag) > len(suffix):
            stems.setdefault(f"{push.repository}:{push.tag[: -len(suffix)]}", []).append(push)
    indexes = []
    for ref, members in stems.items():
        platforms = [p.platform for p in members]
        if len(set(platforms)) < 2:
            continue  # one platform (e.g. two x86-64 levels): each tag stands alone
        twice = sorted({p for p in platforms if platforms.count(p) > 1})
        if twice:
            targets = ", ".join(p.sys_target for p in members if p.platform == twice[0])
            raise UsageError(
                f"{ref} would be one image index for {len(members)} vectors, but {twice[0]} comes from "
                f"sys_target {targets} and an index holds one image per platform; select one sys_target "
                "per architecture (e.g. --matrix multiarch, or --sys-target with one level each)"
            )
        indexes.append(Index(ref, tuple(sorted(members, key=lambda p: p.platform))))
    return indexes


def assemble(
    indexes: Sequence[Index], builder: str, out: Callable[[str], None], *, env: Mapping[str, str] | None = None
) -> None:
    """Write each index to its registry, after every push of the run."""
    from bakery.engine import docker

    for index in indexes:
        docker.run(index.argv(builder), env=env)
        sources = ", ".join(p.ref for p in index.pushes)
        out(f"INDEX {index.ref} [{' '.join(index.platforms)}] (from {sources})")
