"""The tree's own bake variables are validated and layered (docs/settings.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake
from bakery.config import settings
from bakery.config.variables import tree_variables
from bakery.engine import docker
from bakery.errors import UsageError

AXES = {"cargo_profile", "rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version", "sys_target"}


def test_every_bake_variable_has_a_pattern_or_is_set_by_bakery() -> None:
    declared = set(re.findall(r'^variable "([a-z_]+)"', (ROOT / "docker" / "bake.hcl").read_text(), re.MULTILINE))
    # vectors: the selection bakery passes; family_cells: computed by the tree itself.
    by_bakery = {"cache_scope", "vectors", "family_cells"} | AXES | {a + "s" for a in AXES}
    assert declared - by_bakery == set(tree_variables())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("labs_frontend", "evil image; rm"),
        ("apt_mirror", "http://mirror.invalid/debian#x"),
        ("apt_mirror", "http://mirror.invalid/debian&x"),
        ("source_location", "../../etc passwd"),
        ("bin_name", "$(id)"),
        ("use_chef", "maybe"),
        ("complement_baseline", "/etc/shadow"),
        ("feat_set_cargo_args", "not json"),
        ("publish_tag", "-x"),
        ("pkg_description", "two\nlines"),
    ],
)
def test_a_bad_tree_variable_is_a_usage_error(name: str, value: str) -> None:
    with pytest.raises(UsageError) as info:
        settings.load({}, {name: value})
    assert str(info.value).startswith(f"{name}=")
    assert info.value.exit_code == 2


def test_a_misspelt_tree_variable_gets_a_suggestion() -> None:
    with pytest.raises(UsageError) as info:
        settings.load({}, {"source_locaton": "example"})
    assert str(info.value) == "environment: unknown variable source_locaton; did you mean source_location?"


def test_tree_variables_reach_bake_only_validated(seam, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / "layer.env"
    dotenv.write_text("source_location=/srv/project\npkg_license=MIT\n")
    # Inherited by the process but not one of ours to pass: it must be dropped.
    monkeypatch.setenv("cache_scope", "99")
    loaded = settings.load({}, {"BAKERY_DOTENV": str(dotenv), "pkg_license": "Apache-2.0", "NO_BAKE": "1"})
    seam.respond = lambda call: docker.Completed(call.argv, 0, json.dumps({"target": {}}), "")
    bake.run(loaded, ["install"], loaded.vectors(), out=lambda _line: None)
    (call,) = seam.calls
    assert call.env is not None
    assert call.env["source_location"] == "/srv/project"  # from .env
    assert call.env["pkg_license"] == "Apache-2.0"  # the environment beats .env
    assert call.env.get("cache_scope") != "99"  # bakery's own value, from the trust rule
    assert "labs_frontend" not in call.env  # unset: bake.hcl's default applies
