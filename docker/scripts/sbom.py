#!/usr/bin/env python3
"""sbom: the SPDX 2.3 document of what a vector's binary is made of (docs/attestations.md).

A Rust binary is stripped and statically links its crates: scanning it finds
almost nothing. The truth is what cargo compiled for that target and feature
set. The cargo stage of the tree writes it beside the binaries, in
/usr/src/bakery-sbom/ (`cargo tree -e normal` for the vector's target and
features, and Cargo.lock); this program turns it into SPDX, together with the
Debian packages installed in the runtime image.

Two ways to run it, one document:

- as BuildKit's SBOM generator (no arguments; the generator image of
  docker/Dockerfile.sbom): the image to describe is $BUILDKIT_SCAN_SOURCE, the
  cargo stage one of the root filesystems under $BUILDKIT_SCAN_SOURCE_EXTRAS
  (`ARG BUILDKIT_SBOM_SCAN_STAGE=true` in that stage). It writes one in-toto
  statement, $BUILDKIT_SCAN_DESTINATION/<name of the source>.spdx.json
  (https://github.com/moby/buildkit/blob/master/docs/attestations/sbom-protocol.md);
- beside a package: `sbom.py --facts DIR --name NAME --version VERSION --out FILE`
  writes the bare document.

Stdlib only: it runs on the tree's root with python3 alone. Every document is
checked before it is written (`check`); a document that fails exits 1 with one
line, so a build never attaches or ships a malformed SBOM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
import tomllib
from pathlib import Path

FACTS = Path("usr/src/bakery-sbom")
TREE = "cargo-tree.txt"
ARGS = "cargo-tree.args"
LOCK = "Cargo.lock"
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
TOOL = "bakery-sbom-1"
# `cargo tree --prefix depth --format '{p}|{l}|{r}'`: depth, then `name vVERSION`, an
# optional `(path or proc-macro)`, license and repository; ` (*)` marks a repeat.
LINE = re.compile(r"^(\d+)(\S+) v(\S+)(?: \(([^)]*)\))?\|([^|]*)\|([^|]*?)(?: \(\*\))?$")
SPDXID = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PURL_NAME = re.compile(r"[^A-Za-z0-9._-]")


class Invalid(Exception):
    """The facts or the document are not what an SBOM may be made of."""


def crates(facts: Path) -> list[dict]:
    """The crates of `cargo-tree.txt`, each once: name, version, license,
    repository, whether it is a workspace member (depth 0) or a local path."""
    path = facts / TREE
    try:
        text = path.read_text()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read the cargo tree the cargo stage writes ({exc.strerror})") from exc
    found: dict[tuple[str, str], dict] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            raise Invalid(f"{path}:{number}: not a line of `cargo tree --prefix depth --format '{{p}}|{{l}}|{{r}}'`")
        depth, name, version, where, license_, repository = match.groups()
        local = where is not None and where.startswith("/")
        crate = found.setdefault(
            (name, version),
            {"name": name, "version": version, "license": license_, "repository": repository, "member": False},
        )
        crate["member"] = crate["member"] or depth == "0"
        crate["local"] = local
    if not found:
        raise Invalid(f"{path}: lists no crate")
    return list(found.values())


def checksums(facts: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(name, version) -> (source, sha256) from Cargo.lock, where it records them."""
    path = facts / LOCK
    if not path.is_file():
        return {}
    try:
        lock = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Invalid(f"{path}: not a Cargo.lock ({exc})") from exc
    return {(p["name"], p["version"]): (p.get("source", ""), p.get("checksum", "")) for p in lock.get("package", [])}


def dpkg_packages(root: Path) -> list[dict]:
    """The packages dpkg lists as installed in a root filesystem."""
    status = root / "var/lib/dpkg/status"
    if not status.is_file():
        return []
    packages = []
    for block in status.read_text(errors="replace").split("\n\n"):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith((" ", "\t")):
                fields[key] = value.strip()
        if fields.get("Package") and "installed" in fields.get("Status", "").split():
            packages.append(
                {
                    "name": fields["Package"],
                    "version": fields.get("Version", ""),
                    "arch": fields.get("Architecture", ""),
                    "source": fields.get("Source", "").split(" ")[0] or fields["Package"],
                }
            )
    return packages


def _id(kind: str, name: str, version: str) -> str:
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}-{name}-{version}")


def document(name: str, version: str, facts: Path, root: Path | None, created: str) -> dict:
    """The SPDX 2.3 document: `name` (the image or the package) contains the
    crates cargo compiled and the Debian packages of `root`."""
    listed = crates(facts)
    sums = checksums(facts)
    args = (facts / ARGS).read_text().split("\n") if (facts / ARGS).is_file() else []
    target, features = (args + ["", ""])[:2]
    top = _id("image", name, version)
    packages = [
        {
            "name": name,
            "SPDXID": top,
            "versionInfo": version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "CONTAINER" if root is not None else "APPLICATION",
            "comment": f"crates: cargo tree -e normal --target {target or '?'} {features}".rstrip(),
        }
    ]
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": top}]
    for crate in sorted(listed, key=lambda c: (c["name"], c["version"])):
        source, sha256 = sums.get((crate["name"], crate["version"]), ("", ""))
        package = {
            "name": crate["name"],
            "SPDXID": _id("crate", crate["name"], crate["version"]),
            "versionInfo": crate["version"],
            "downloadLocation": crate["repository"] or "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": f"pkg:cargo/{PURL_NAME.sub('-', crate['name'])}@{crate['version']}",
                }
            ],
        }
        # Cargo's license field is an SPDX expression in most crates, but not in
        # all (`MIT/Apache-2.0`): it is kept as the crate declares it, as a comment.
        if crate["license"]:
            package["comment"] = f"Cargo.toml license: {crate['license']}"
        if crate["member"] or crate["local"]:
            package["comment"] = (package.get("comment", "") + "; workspace member").lstrip("; ")
        elif source and source != CRATES_IO:
            package["sourceInfo"] = f"Cargo.lock source: {source}"
        # Debian's cargo writes "Could not get crate checksum" for crates it vendored
        # from its own packages: only a real digest is a checksum.
        if SHA256.match(sha256):
            package["checksums"] = [{"algorithm": "SHA256", "checksumValue": sha256}]
        packages.append(package)
        relationships.append(
            {"spdxElementId": top, "relationshipType": "CONTAINS", "relatedSpdxElement": package["SPDXID"]}
        )
    for deb in dpkg_packages(root) if root is not None else []:
        locator = f"pkg:deb/debian/{PURL_NAME.sub('-', deb['name'])}@{deb['version']}"
        if deb["arch"]:
            locator += f"?arch={deb['arch']}"
        package = {
            "name": deb["name"],
            "SPDXID": _id("deb", deb["name"], deb["version"]),
            "versionInfo": deb["version"],
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "OPERATING-SYSTEM" if deb["name"] == "base-files" else "LIBRARY",
            "sourceInfo": f"Debian source package: {deb['source']}",
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": locator}
            ],
        }
        packages.append(package)
        relationships.append(
            {"spdxElementId": top, "relationshipType": "CONTAINS", "relatedSpdxElement": package["SPDXID"]}
        )
    body = {"packages": packages, "relationships": relationships}
    # The namespace is unique per content, as SPDX asks, and stable for the same content.
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{name}-{version}",
        "documentNamespace": f"https://spdx.org/spdxdocs/{PURL_NAME.sub('-', name)}-{version}-{digest}",
        "creationInfo": {"created": created, "creators": [f"Tool: {TOOL}"]},
        **body,
    }
    check(doc)
    return doc


def check(doc: dict) -> None:
    """What SPDX 2.3 requires of the fields this program writes: a malformed
    document fails here, before BuildKit attaches it or a package ships it."""
    for field in ("spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo"):
        if not doc.get(field):
            raise Invalid(f"the SBOM has no {field}")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["creationInfo"].get("created", "")):
        raise Invalid("the SBOM's creationInfo.created is not YYYY-MM-DDThh:mm:ssZ")
    ids = {"SPDXRef-DOCUMENT"}
    for package in doc["packages"]:
        if not SPDXID.match(package["SPDXID"]) or package["SPDXID"] in ids:
            raise Invalid(f"the SBOM's package {package['name']!r} has a malformed or repeated SPDXID")
        if not package.get("name") or not package.get("downloadLocation"):
            raise Invalid(f"the SBOM's package {package['SPDXID']} has no name or downloadLocation")
        if any(not SHA256.match(c["checksumValue"]) for c in package.get("checksums", ())):
            raise Invalid(f"the SBOM's package {package['SPDXID']} has a checksum that is not a SHA-256 digest")
        ids.add(package["SPDXID"])
    for relationship in doc["relationships"]:
        for end in ("spdxElementId", "relatedSpdxElement"):
            if relationship[end] not in ids:
                raise Invalid(f"the SBOM's relationship names {relationship[end]}, which it does not hold")


def created_now() -> str:
    # SOURCE_DATE_EPOCH makes the document reproducible (https://reproducible-builds.org/specs/source-date-epoch/).
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch) if epoch else None))


def find_facts(extras: Path | None) -> Path:
    """The cargo stage's facts among the scanned stages (BUILDKIT_SBOM_SCAN_STAGE)."""
    found = sorted(p / FACTS for p in extras.iterdir() if (p / FACTS / TREE).is_file()) if extras else []
    if not found:
        raise Invalid(
            "no scanned stage holds usr/src/bakery-sbom/cargo-tree.txt: the cargo stage that builds the "
            "binary must declare ARG BUILDKIT_SBOM_SCAN_STAGE=true (docs/attestations.md)"
        )
    if len(found) > 1:
        raise Invalid(
            f"{len(found)} scanned stages hold a cargo tree; one binary has one: {', '.join(map(str, found))}"
        )
    return found[0]


def generate() -> None:
    """BuildKit's SBOM generator protocol: one statement for the scanned image."""
    source = Path(os.environ["BUILDKIT_SCAN_SOURCE"])
    destination = Path(os.environ["BUILDKIT_SCAN_DESTINATION"])
    extras = os.environ.get("BUILDKIT_SCAN_SOURCE_EXTRAS")
    facts = find_facts(Path(extras) if extras and Path(extras).is_dir() else None)
    args = (facts / ARGS).read_text().split("\n") if (facts / ARGS).is_file() else []
    name = (args + ["", "", ""])[2] or "image"
    # The image's version is its project's: the member named as the project, or the only one.
    members = [c for c in crates(facts) if c["member"]]
    named = [c for c in members if c["name"] == name] or (members if len(members) == 1 else [])
    version = named[0]["version"] if named else "NOASSERTION"
    doc = document(name, version, facts, source, created_now())
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [],
        "predicate": doc,
    }
    (destination / f"{source.name}.spdx.json").write_text(json.dumps(statement, indent=1) + "\n")


def main(argv: list[str]) -> int:
    try:
        if not argv and "BUILDKIT_SCAN_SOURCE" in os.environ:
            generate()
            return 0
        parser = argparse.ArgumentParser(prog="sbom.py", description=__doc__.splitlines()[0])
        parser.add_argument("--facts", type=Path, required=True, help="the directory the cargo stage writes")
        parser.add_argument("--name", required=True)
        parser.add_argument("--version", required=True)
        parser.add_argument("--out", type=Path, required=True)
        options = parser.parse_args(argv)
        doc = document(options.name, options.version, options.facts, None, created_now())
        options.out.write_text(json.dumps(doc, indent=1) + "\n")
        return 0
    except Invalid as exc:
        print(f"bakery-sbom: FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
