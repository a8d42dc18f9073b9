"""Attestations on every image a bake pushes (docs/attestations.md).

A push carries SLSA provenance (`mode=max`) and an SPDX SBOM, both attached by
BuildKit to the pushed index and read back with `docker buildx imagetools
inspect --format '{{json .Provenance}}'` / `'{{json .SBOM}}'`:

- the SBOM comes from the tree's own generator (`sbom-generator`, built from
  the build side's root) running docker/scripts/sbom.py, which reads what the
  cargo stage of the binary recorded (`cargo tree` for the vector's target and
  features) and the Debian packages of the image; never a scan of the stripped
  binary;
- the image is labelled `org.opencontainers.image.revision` with the project's
  source revision, which the provenance records with the build's other
  frontend arguments;
- the vector's build args are passed as build args, so the provenance names
  them. Only the args whose value is the same in every stage that declares
  them are passed: the generated Dockerfile sets them as ARG defaults, so
  passing the same value again changes no step's key (docs/tree.md).

The generator runs on the builder. With the docker driver it is the engine's
local image; a docker-container builder pulls it, so the run pushes it first,
beside the image it attests (`<repository>:sbom-generator-<...>`), and names it
by digest. `BAKERY_SBOM_GENERATOR` names another generator instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery.errors import UsageError

GENERATOR = "sbom-generator"
REVISION_LABEL = "org.opencontainers.image.revision"
_ARG = re.compile(r"^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
# How a build says the generator image cannot be had, and how sbom.py says it failed.
_GENERATOR_GONE = re.compile(r"(not found|failed to resolve|pull access denied|manifest unknown|no such host)", re.I)
_SBOM_FAILED = re.compile(r"bakery-sbom: FAILED: .*")


@dataclass(frozen=True)
class Attestation:
    """What every push of one run attaches."""

    revision: str
    # The SBOM generator image as the builder resolves it (None until built).
    generator: str | None = None

    def fields(self, uniform_args: Mapping[str, str]) -> dict:
        """The bake target fields of a push (merged into its generated target)."""
        if self.generator is None:
            raise RuntimeError("the SBOM generator is named before any push")
        return {
            "attest": ["type=provenance,mode=max", f"type=sbom,generator={self.generator}"],
            "labels": {REVISION_LABEL: self.revision},
            "args": dict(uniform_args),
        }


def revision(settings_revision: str, environ: Mapping[str, str], source: Path | None) -> str:
    """The project's source revision: BAKERY_REVISION, else GITHUB_SHA (what a
    workflow checked out), else `git rev-parse HEAD` of a local source. A
    UsageError (nothing pushed) when none says it: an image must not be
    published with a revision nobody can trace."""
    for value in (settings_revision, environ.get("GITHUB_SHA", "")):
        if value:
            return value
    if source is not None and source.is_dir():
        from bakery.engine import process

        found = process.run(["git", "-C", str(source), "rev-parse", "HEAD"], check=False, capture=True, quiet=True)
        text = found.stdout.strip()
        if found.returncode == 0 and _SHA.match(text):
            return text
    where = str(source) if source is not None else "a remote source"
    raise UsageError(
        f"cannot tell the source revision of {where} (not a git checkout) for the pushed image's "
        f"{REVISION_LABEL}; set BAKERY_REVISION, or BAKERY_ATTEST=0 to push without attestations"
    )


def uniform_args(dockerfile: str, args: Mapping[str, str]) -> dict[str, str]:
    """The vector's build args as the generated file holds them: every ARG
    that each of its declarations sets to one same value (the instances'
    args, which flatten writes as ARG defaults), and the pushed instance's
    own `args` under the same rule. Passing them as build args changes no
    stage, so no key; a name declared bare or with two values somewhere is
    left out, as are BuildKit's own (BUILDKIT_*)."""
    from bakery.tree.dockerfile import unquote

    declared: dict[str, set[str | None]] = {}
    for line in dockerfile.splitlines():
        match = _ARG.match(line.strip())
        if match:
            name, value = match.groups()
            declared.setdefault(name, set()).add(None if value is None else unquote(value))
    found = {name: next(iter(values)) for name, values in declared.items() if len(values) == 1}
    found.update({name: value for name, value in args.items() if declared.get(name, {value}) == {value}})
    return {n: v for n, v in sorted(found.items()) if v is not None and not n.startswith("BUILDKIT_")}


def generator_output(driver: str, pushed: Sequence[str], instance: str) -> dict:
    """The fields of the generator's own invocation: built for the builder's
    default platform (no `platforms`: it runs there, whatever the vector's),
    and on docker-container pushed beside the first image the vector pushes,
    where the builder can pull it."""
    fields: dict = {"platforms": None}
    if driver != "docker":
        if not pushed:
            raise RuntimeError("a generator is pushed only beside a pushed image")
        repository = pushed[0].rsplit(":", 1)[0] if ":" in pushed[0].rsplit("/", 1)[-1] else pushed[0]
        tag = instance.replace(f"{GENERATOR}--", "")[: 128 - len(GENERATOR) - 1]
        fields["tags"] = [f"{repository}:{GENERATOR}-{tag}"]
        fields["output"] = ["type=registry"]
    return fields


def failure(stderr: str, generator: str | None) -> str | None:
    """A failed push's cause when attestation made it: sbom.py's own line, or
    a generator image the builder could not resolve."""
    found = _SBOM_FAILED.search(stderr)
    if found:
        return f"the SBOM failed its check, so nothing was pushed: {found.group(0)}"
    if generator:
        for line in stderr.splitlines():
            if generator.split("@")[0] in line and _GENERATOR_GONE.search(line):
                return (
                    f"the SBOM generator image {generator} cannot be resolved by the builder, so nothing was "
                    "pushed; unset BAKERY_SBOM_GENERATOR to build the tree's own, or push it where the builder pulls"
                )
    return None
