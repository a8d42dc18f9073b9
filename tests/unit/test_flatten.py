"""The generator of the one way to bake (bakery/baking/flatten.py) on a tiny real tree.

tests/unit/fixtures/flat holds a bake file, its Dockerfiles and its real
`docker buildx bake --print all` (print.json; tests/plan/test_flatten.py
checks it is still what buildx prints). The expected Dockerfile is written
out here by hand. Every stage is `<instance>.<its stage>`, so BuildKit's step
names say both (`[leaf-run.leaf-run 1/1] RUN cat /words.txt`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery.baking import flatten

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "flat"

EXPECTED = r"""# root: Dockerfile.root stage root
FROM debian:testing-slim AS root.root
RUN echo root > /root.txt

# branch: Dockerfile.branch stage words
FROM root.root AS branch.words
ARG greeting="say \"hi\" for \$5 \\ 1"
RUN --mount=type=bind,from=notes,target=/notes <<EOF
set -eux
cat /notes/note.txt > /words.txt
printf '%s\n' "$greeting" >> /words.txt
EOF

# branch: Dockerfile.branch stage branch
FROM root.root AS branch.branch
ARG greeting="say \"hi\" for \$5 \\ 1"
COPY --from=branch.words /words.txt /words.txt

# leaf-run: Dockerfile.leaf stage leaf-run
FROM branch.branch AS leaf-run.leaf-run
RUN cat /words.txt

# leaf-files: Dockerfile.leaf stage leaf-files
FROM scratch AS leaf-files.leaf-files
COPY --from=branch.branch /words.txt /

# The aggregate: every requested target in one solve.
FROM root.root AS bakery-all
RUN --mount=type=bind,from=leaf-run.leaf-run,target=/mnt/0 \
    --mount=type=bind,from=leaf-files.leaf-files,target=/mnt/1 \
    true
"""


def _definition() -> dict:
    return json.loads((FIXTURE / "print.json").read_text())


def _read(context: str, dockerfile: str) -> str:
    return (FIXTURE / context / dockerfile).read_text()


def test_the_group_becomes_one_dockerfile_with_an_aggregate() -> None:
    flat = flatten.flatten(_definition(), ["all"], _read)
    assert flat.dockerfile == EXPECTED
    assert flat.requested == ("leaf-run", "leaf-files")
    assert flat.aggregate == "bakery-all"
    assert flat.outputs == ("leaf-files",)
    assert flat.instances == ("root", "branch", "leaf-run", "leaf-files")
    assert flat.contexts == {"notes": "notes"}
    assert flat.context == "."


def test_a_leaf_on_another_frontend_is_left_out_for_the_usual_bake() -> None:
    flat = flatten.flatten(_definition(), ["all"], _read)
    assert flat.left_out == ("leaf-labs",)
    assert "BUILDKIT_SYNTAX" not in flat.dockerfile


def test_one_requested_target_is_its_own_aggregate() -> None:
    flat = flatten.flatten(_definition(), ["leaf-files"], _read)
    assert flat.aggregate is None
    assert flat.requested == ("leaf-files",)
    assert flat.dockerfile.count("\nFROM ") + flat.dockerfile.startswith("FROM ") == 4
    assert "bakery-all" not in flat.dockerfile


def test_a_parent_on_another_frontend_takes_the_linked_route() -> None:
    definition = _definition()
    definition["target"]["branch"]["args"]["BUILDKIT_SYNTAX"] = "docker/dockerfile:1-labs"
    with pytest.raises(flatten.Route, match="branch needs another Dockerfile frontend"):
        flatten.flatten(definition, ["leaves"], _read)


def test_a_target_setting_the_generator_does_not_carry_is_refused() -> None:
    definition = _definition()
    definition["target"]["leaf-run"]["network"] = "none"
    tree = 'target "leaf-run" {\n  dockerfile = "Dockerfile.leaf"\n  network = "none"\n}\n'
    with pytest.raises(flatten.NotFlat) as info:
        flatten.flatten(definition, ["leaf-run"], _read, "tree/bake.hcl", tree)
    assert str(info.value) == (
        "tree/bake.hcl:3: attribute 'network' of target leaf-run, which the generated Dockerfile does not carry"
    )
    assert info.value.exit_code == 2


def test_two_values_of_one_named_context_get_two_names() -> None:
    definition = _definition()
    definition["target"]["leaf-run"]["contexts"]["notes"] = "other-notes"
    definition["target"]["leaf-run"]["dockerfile"] = "Dockerfile.branch"
    definition["target"]["leaf-run"]["target"] = "words"
    flat = flatten.flatten(definition, ["leaves"], _read)
    assert flat.contexts == {"notes-1": "notes", "notes-2": "other-notes"}
    assert (
        "FROM branch.branch AS leaf-run.words\nARG greeting\nRUN --mount=type=bind,from=notes-2,target=/notes <<EOF"
        in (flat.dockerfile)
    )


def test_a_named_context_replaces_the_stage_of_the_same_name() -> None:
    # As BuildKit does: the branch's `words` comes from the leaf-files target,
    # and the Dockerfile's own `words` stage is not built.
    definition = _definition()
    definition["target"]["branch"]["contexts"]["words"] = "target:leaf-files"
    definition["target"]["leaf-files"]["contexts"] = {"input": "target:root"}
    flat = flatten.flatten(definition, ["branch"], _read)
    assert "AS branch.words" not in flat.dockerfile
    branch = flat.dockerfile.split("AS branch.branch\n", 1)[1]
    assert branch.startswith(
        'ARG greeting="say \\"hi\\" for \\$5 \\\\ 1"\nCOPY --from=leaf-files.leaf-files /words.txt'
    )
    assert flat.instances == ("root", "leaf-files", "branch")


def test_a_from_line_with_a_substitution_form_it_cannot_read_is_refused() -> None:
    with pytest.raises(
        flatten.NotFlat, match=r"^Dockerfile.root:4: FROM debian:\$\{tag:-testing\}: a form of substitution"
    ):
        flatten._substitute("debian:${tag:-testing}", {"tag": "sid"}, {}, "root", "Dockerfile.root:4")
    assert flatten._substitute("debian:${tag}", {"tag": "sid"}, {}, "root", "Dockerfile.root:4") == "debian:sid"


def test_arg_values_are_quoted_for_the_dockerfile_frontend() -> None:
    assert flatten.quote("-C target-cpu=x86-64") == '"-C target-cpu=x86-64"'
    assert flatten.quote('a "b" $c \\d') == '"a \\"b\\" \\$c \\\\d"'
    assert flatten.quote("") == '""'
    with pytest.raises(flatten.NotFlat, match="line break"):
        flatten.quote("one\ntwo")


def test_groups_expand_to_instances_in_order() -> None:
    assert flatten.requested_instances(_definition(), ["all"]) == ["leaf-run", "leaf-files", "leaf-labs"]
    assert flatten.requested_instances(_definition(), ["leaf-files", "leaves"]) == ["leaf-files", "leaf-run"]
    with pytest.raises(flatten.NotFlat, match="'nope' is neither"):
        flatten.requested_instances(_definition(), ["nope"])


def test_parse_keeps_heredocs_and_drops_comments() -> None:
    parsed = flatten.parse((FIXTURE / "Dockerfile.branch").read_text())
    assert [s.name for s in parsed.stages] == ["words", "unused", "branch"]
    run = parsed.stages[0].body[1]
    assert run.keyword == "RUN"
    assert run.bodies == (
        "set -eux\ncat /notes/note.txt > /words.txt\nprintf '%s\\n' \"$greeting\" >> /words.txt\nEOF",
    )
    assert flatten.parse((FIXTURE / "Dockerfile.root").read_text()).meta == {"image": "busybox"}


def test_an_empty_line_inside_a_continuation_is_skipped_as_the_frontend_does() -> None:
    parsed = flatten.parse("FROM debian AS a\nRUN apt-get update && \\\n\n    apt-get install -y jq\n")
    (stage,) = parsed.stages
    assert [i.head for i in stage.body] == ["RUN apt-get update && \\\n    apt-get install -y jq"]


def test_a_parser_directive_is_refused() -> None:
    with pytest.raises(flatten.NotFlat, match="parser directive"):
        flatten.parse("# syntax=docker/dockerfile:1-labs\nFROM scratch\n")
