"""Reading back what a push attached (docs/attestations.md), as a user does:
`docker buildx imagetools inspect` for provenance and SBOM, the registry's
manifests for the index, spdx-tools for SPDX 2.3."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

ATTESTATION = "attestation-manifest"


def inspect(ref: str, template: str, env: Mapping[str, str] | None = None) -> dict:
    """`imagetools inspect --format '{{json .<template>}}'` of a reference, parsed."""
    argv = ["docker", "buildx", "imagetools", "inspect", ref, "--format", f"{{{{json .{template}}}}}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert result.returncode == 0, (argv, result.stderr)
    return json.loads(result.stdout)


def platforms(index: Mapping) -> dict[str, str]:
    """platform -> image manifest digest of an index, attestation manifests left out."""
    return {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in index["manifests"]
        if m.get("platform", {}).get("os") != "unknown"
    }


def attested(index: Mapping) -> dict[str, str]:
    """image manifest digest -> the digest of the attestation manifest that names it."""
    return {
        m["annotations"]["vnd.docker.reference.digest"]: m["digest"]
        for m in index["manifests"]
        if (m.get("annotations") or {}).get("vnd.docker.reference.type") == ATTESTATION
    }


def spdx_problems(document: Mapping) -> list[str]:
    """spdx-tools' validation messages for an SPDX 2.3 JSON document (none: valid)."""
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "document.spdx.json"
        path.write_text(json.dumps(document))
        return [m.validation_message for m in validate_full_spdx_document(parse_file(str(path)))]


def crates(document: Mapping) -> set[tuple[str, str]]:
    """(name, version) of every crate an SPDX document lists (purl pkg:cargo/)."""
    return {
        (p["name"], p["versionInfo"])
        for p in document["packages"]
        if any(r["referenceLocator"].startswith("pkg:cargo/") for r in p.get("externalRefs") or ())
    }
