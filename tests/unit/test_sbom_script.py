"""docker/scripts/sbom.py, the SBOM generator of pushed images and packages
(docs/attestations.md), run as the generator image runs it and as pkg-build
runs it, on hitcount's facts in the form the cargo stage writes them. Every
document it writes passes spdx-tools' SPDX 2.3 validator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from bakery import ROOT

SCRIPT = ROOT / "docker" / "scripts" / "sbom.py"
FIXTURES = Path(__file__).parent / "fixtures" / "sbom"


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1765000000"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env={**base, **(env or {})}, check=False
    )


def _valid(path: Path) -> list[str]:
    return [m.validation_message for m in validate_full_spdx_document(parse_file(str(path)))]


def test_a_package_sbom_lists_the_vendored_crate_with_its_version_and_checksum(tmp_path: Path) -> None:
    out = tmp_path / "hitcount_0.1.0-1_amd64.deb.spdx.json"
    result = _run(
        ["--facts", str(FIXTURES / "hitcount"), "--name", "hitcount", "--version", "0.1.0-1", "--out", str(out)]
    )
    assert result.returncode == 0, result.stderr
    assert _valid(out) == []
    doc = json.loads(out.read_text())
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert doc["creationInfo"]["created"] == "2025-12-06T05:46:40Z"
    crates = {(p["name"], p["versionInfo"]): p for p in doc["packages"][1:]}
    assert sorted(crates) == [("hitcount", "0.1.0"), ("itoa", "1.0.1")]
    itoa = crates[("itoa", "1.0.1")]
    assert itoa["externalRefs"][0]["referenceLocator"] == "pkg:cargo/itoa@1.0.1"
    assert itoa["checksums"] == [
        {"algorithm": "SHA256", "checksumValue": "1aab8fc367588b89dcee83ab0fd66b72b50b72fa1904d7095045ace2b0c81c35"}
    ]
    assert itoa["comment"] == "Cargo.toml license: MIT OR Apache-2.0"
    assert crates[("hitcount", "0.1.0")]["comment"] == "Cargo.toml license: MIT; workspace member"
    assert doc["packages"][0] | {"comment": ""} == {
        "name": "hitcount",
        "SPDXID": "SPDXRef-image-hitcount-0.1.0-1",
        "versionInfo": "0.1.0-1",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "APPLICATION",
        "comment": "",
    }
    described = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert described == [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-image-hitcount-0.1.0-1",
        }
    ]


def test_as_buildkits_generator_it_writes_one_statement_for_the_image_with_its_debian_packages(tmp_path: Path) -> None:
    """The protocol: the image at BUILDKIT_SCAN_SOURCE (named by its last
    component), the scanned stages under BUILDKIT_SCAN_SOURCE_EXTRAS."""
    source = tmp_path / "src" / "core" / "sbom"
    (source / "var" / "lib" / "dpkg").mkdir(parents=True)
    shutil.copy(FIXTURES / "dpkg-status", source / "var" / "lib" / "dpkg" / "status")
    stage = tmp_path / "src" / "extras" / "sbom-build-bins"
    shutil.copytree(FIXTURES / "hitcount", stage / "usr" / "src" / "bakery-sbom")
    out = tmp_path / "out"
    out.mkdir()
    env = {
        "BUILDKIT_SCAN_SOURCE": str(source),
        "BUILDKIT_SCAN_SOURCE_EXTRAS": str(tmp_path / "src" / "extras"),
        "BUILDKIT_SCAN_DESTINATION": str(out),
    }
    result = _run([], env)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["sbom.spdx.json"]
    statement = json.loads((out / "sbom.spdx.json").read_text())
    assert statement["_type"] == "https://in-toto.io/Statement/v0.1"
    assert statement["predicateType"] == "https://spdx.dev/Document"
    (tmp_path / "doc.spdx.json").write_text(json.dumps(statement["predicate"]))
    assert _valid(tmp_path / "doc.spdx.json") == []
    packages = statement["predicate"]["packages"]
    assert packages[0]["name"] == "hitcount" and packages[0]["primaryPackagePurpose"] == "CONTAINER"
    # Installed packages only: ca-certificates left only its config files.
    debs = [p["externalRefs"][0]["referenceLocator"] for p in packages if p["SPDXID"].startswith("SPDXRef-deb-")]
    assert debs == ["pkg:deb/debian/base-files@14?arch=amd64", "pkg:deb/debian/libc6@2.41-12?arch=amd64"]


def test_no_scanned_stage_fails_with_one_line_naming_the_fix(tmp_path: Path) -> None:
    source = tmp_path / "core" / "sbom"
    source.mkdir(parents=True)
    env = {"BUILDKIT_SCAN_SOURCE": str(source), "BUILDKIT_SCAN_DESTINATION": str(tmp_path)}
    result = _run([], env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("bakery-sbom: FAILED: no scanned stage holds usr/src/bakery-sbom/cargo-tree.txt")
    assert "ARG BUILDKIT_SBOM_SCAN_STAGE=true" in result.stderr


def test_a_cargo_tree_it_cannot_read_fails_and_writes_nothing(tmp_path: Path) -> None:
    facts = tmp_path / "facts"
    shutil.copytree(FIXTURES / "hitcount", facts)
    (facts / "cargo-tree.txt").write_text("0hitcount v0.1.0 (/usr/src/hitcount)|MIT|\nitoa 1.0.1\n")
    out = tmp_path / "x.spdx.json"
    result = _run(["--facts", str(facts), "--name", "hitcount", "--version", "0.1.0-1", "--out", str(out)])
    assert result.returncode == 1
    assert result.stderr == (
        f"bakery-sbom: FAILED: {facts}/cargo-tree.txt:2: not a line of "
        "`cargo tree --prefix depth --format '{p}|{l}|{r}'`\n"
    )
    assert not out.exists()


def test_debians_placeholder_checksum_is_left_out(tmp_path: Path) -> None:
    """Debian's cargo locks crates it vendored from librust-*-dev packages with
    `checksum = "Could not get crate checksum"` (lookout's Cargo.lock): no checksum then."""
    facts = tmp_path / "facts"
    shutil.copytree(FIXTURES / "hitcount", facts)
    lock = facts / "Cargo.lock"
    lock.write_text(lock.read_text().replace(
        "1aab8fc367588b89dcee83ab0fd66b72b50b72fa1904d7095045ace2b0c81c35", "Could not get crate checksum"
    ))  # fmt: skip
    out = tmp_path / "x.spdx.json"
    result = _run(["--facts", str(facts), "--name", "hitcount", "--version", "0.1.0-1", "--out", str(out)])
    assert result.returncode == 0, result.stderr
    assert _valid(out) == []
    (itoa,) = [p for p in json.loads(out.read_text())["packages"] if p["name"] == "itoa"]
    assert "checksums" not in itoa
