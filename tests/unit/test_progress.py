"""Unit tests for bakery.baking.progress: reading BuildKit's rawjson progress.

fixtures/progress-smoketest-version.jsonl is real output, trimmed: in the
repository root, with the default vector already built,
`smoke_version_args=--version docker buildx bake -f docker/bake.hcl
--progress=rawjson --provenance=false smoketest-version 2>full.jsonl`
(the changed argument makes the last step run; everything below it is
cached). It was then cut to 10 of its 39 vertices, keeping for each the
first update, the first completed update and the last update, and dropping
`statuses` and `inputs`. Counted by hand from the file:

  vertex (digest prefix)  final name (abridged)                               step?  state
  ccb96c09  [internal] load local bake definitions                           no (internal)
  58da511c  [system--… internal] load build definition from Dockerfile.system no (internal stage)
  44fd87f2  [system--… internal] load metadata for docker.io/library/debian… no (internal stage)
  20593a8d  [smoketest-version--… 1/3] FROM docker.io/library/debian:…       no (FROM)
  dc87d53d  [smoketest-version--… source 1/2] LINK COPY --link --from=src …  no (LINK)
  e226d56d  [smoketest-version--… context src] load from client              no (context)
  ca95f1a4  [smoketest-version--… source 1/2] COPY --link --from=src …       yes    cached
  df2818ab  [smoketest-version--… ingredients 2/4] WORKDIR /usr/src/mxd      yes    cached
  9ef177e8  [install--… install 1/3] COPY --link --from=bins …               yes    cached
  8a3fbf29  [smoketest-version--… smoketest 1/2] RUN /usr/local/bin/entrypoint --version  yes  ran

The one log line (base64 in the file) is the binary's version output.
BuildKit renames a shared vertex after each bake target that asks for it;
the last name wins.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bakery.baking.progress import Progress, Tally, Vertex, parse
from tests.conftest import DEFAULT_NAME


def summary(progress: Progress) -> list[str]:
    """The lines a bake of one invocation prints."""
    tally = Tally()
    tally.add(progress)
    return tally.lines()


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "progress-smoketest-version.jsonl"
TAIL = "--" + DEFAULT_NAME
SMOKE = "smoketest-version" + TAIL
INSTALL = "install" + TAIL


# --- the real fixture ---------------------------------------------------------------------


def fixture() -> Progress:
    return parse(FIXTURE.read_text().splitlines(keepends=True))


def test_fixture_counts():
    progress = fixture()
    assert len(progress.vertices) == 10
    assert progress.counts() == Counter({"cached": 3, "ran": 1})
    assert progress.by_target() == {SMOKE: Counter({"cached": 2, "ran": 1}), INSTALL: Counter({"cached": 1})}
    assert progress.errors() == []


def test_fixture_steps_and_their_states():
    steps = {v.digest[7:15]: (v.stage, v.state) for v in fixture().steps()}
    assert steps == {
        "ca95f1a4": ("source", "cached"),
        "df2818ab": ("ingredients", "cached"),
        "9ef177e8": ("install", "cached"),
        "8a3fbf29": ("smoketest", "ran"),
    }


def test_fixture_log_is_decoded_onto_its_vertex():
    progress = fixture()
    ran = next(v for v in progress.vertices.values() if v.digest.startswith("sha256:8a3fbf29"))
    assert ran.text == "RUN /usr/local/bin/entrypoint --version"
    assert ran.logs == ["mxd 0.1.0 (features: federation,media)"]


def test_fixture_summary():
    assert summary(fixture()) == [
        f"   1 cached    0 ran  {INSTALL}",
        f"   2 cached    1 ran  {SMOKE}",
        "   3 cached    1 ran  total (0 failed)",
    ]


def test_fixture_echo_reports_each_step_once_as_it_finishes():
    seen: list[str] = []
    progress = Progress(echo=seen.append)
    for line in FIXTURE.read_text().splitlines(keepends=True):
        progress.feed(line)
    ingredients = "ingredients--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    assert seen == [
        f"CACHED  [{ingredients} source 1/2] COPY --link --from=src . /usr/src/mxd",
        f"CACHED  [{ingredients} ingredients 2/4] WORKDIR /usr/src/mxd",
        f"CACHED  [{SMOKE} install 1/3] COPY --link --from=bins "
        "/usr/src/mxd/target/x86_64-unknown-linux-gnu/release/mxd /usr/bin/mxd",
        f"RAN     [{SMOKE} smoketest 1/2] RUN /usr/local/bin/entrypoint --version",
    ]


# --- hand-made lines -----------------------------------------------------------------------------


def vertex_line(**fields) -> str:
    return json.dumps({"vertexes": [fields]}) + "\n"


ERROR_TEXT = 'process "/bin/sh -c make check" did not complete successfully: exit code: 2'
HAND = [
    vertex_line(
        digest="sha256:i1", name="[internal] load build definition from Dockerfile", started="t0", completed="t1"
    ),
    vertex_line(
        digest="sha256:m1",
        name="[app internal] load metadata for docker.io/library/debian:testing",
        started="t0",
        completed="t1",
    ),
    vertex_line(digest="sha256:d1", name="[app internal] load .dockerignore", started="t0", completed="t1"),
    vertex_line(digest="sha256:x1", name="[app context src] load from client", started="t0", completed="t1"),
    vertex_line(
        digest="sha256:f1", name="[app build 1/4] FROM docker.io/library/debian:testing", started="t0", completed="t1"
    ),
    vertex_line(digest="sha256:c1", name="[app build 2/4] COPY . /src", started="t1", completed="t2", cached=True),
    vertex_line(
        digest="sha256:l1", name="[app build 2/4] LINK COPY --link . /src", started="t1", completed="t2", cached=True
    ),
    vertex_line(digest="sha256:r1", name="[app build 3/4] RUN make", started="t2"),
    vertex_line(digest="sha256:r1", name="[app build 3/4] RUN make", started="t2", completed="t3"),
    # base64 of "make: *** [all] Error 2\n"
    json.dumps({"logs": [{"vertex": "sha256:e1", "stream": 2, "data": "bWFrZTogKioqIFthbGxdIEVycm9yIDIK"}]}) + "\n",
    vertex_line(
        digest="sha256:e1", name="[app build 4/4] RUN make check", started="t3", completed="t4", error=ERROR_TEXT
    ),
    "ERROR: failed to solve: exit code: 2\n",
    vertex_line(
        digest="sha256:o1", name="[lib stage-2 1/2] RUN cargo build", started="t0", completed="t1", cached=True
    ),
    vertex_line(digest="sha256:p1", name="[app] resolving provenance for metadata file", started="t4", completed="t5"),
    vertex_line(digest="sha256:x2", name="exporting to image", started="t4", completed="t5"),
    vertex_line(digest="sha256:n1", name="[app build 1/4] naming to app:latest", started="t4", completed="t5"),
    vertex_line(digest="sha256:s1", name="[lib stage-2 2/2] RUN sleep 100", started="t1"),
    "\n",
    "{not json\n",
]


def hand(echo=None) -> Progress:
    progress = Progress(echo=echo)
    for line in HAND:
        progress.feed(line)
    return progress


def test_hand_made_states():
    states = {d.removeprefix("sha256:"): v.state for d, v in hand().vertices.items()}
    assert states == {
        "i1": "ran",
        "m1": "ran",
        "d1": "ran",
        "x1": "ran",
        "f1": "ran",
        "c1": "cached",
        "l1": "cached",
        "r1": "ran",
        "e1": "error",
        "o1": "cached",
        "p1": "ran",
        "x2": "ran",
        "n1": "ran",
        "s1": "running",
    }


def test_hand_made_steps_exclude_internal_from_link_context_and_export_vertices():
    assert sorted(v.digest for v in hand().steps()) == [
        "sha256:c1",
        "sha256:e1",
        "sha256:o1",
        "sha256:r1",
        "sha256:s1",
    ]


def test_hand_made_counts_and_summary():
    progress = hand()
    assert progress.counts() == Counter({"cached": 2, "ran": 1, "error": 1, "running": 1})
    assert progress.by_target() == {
        "app": Counter({"cached": 1, "ran": 1, "error": 1}),
        "lib": Counter({"cached": 1, "running": 1}),
    }
    assert summary(progress) == [
        "   1 cached    1 ran  app",
        "   1 cached    0 ran  lib",
        "   2 cached    1 ran  total (1 failed)",
    ]


def test_hand_made_errored_vertex_keeps_its_error_and_log():
    (errored,) = hand().errors()
    assert errored.digest == "sha256:e1"
    assert errored.error == ERROR_TEXT
    assert errored.logs == ["make: *** [all] Error 2"]


def test_hand_made_echo():
    seen: list[str] = []
    hand(echo=seen.append)
    assert seen == [
        "CACHED  [app build 2/4] COPY . /src",
        "RAN     [app build 3/4] RUN make",
        "ERROR   [app build 4/4] RUN make check",
        "        | make: *** [all] Error 2",
        f"        error: {ERROR_TEXT}",
        "ERROR: failed to solve: exit code: 2",
        "CACHED  [lib stage-2 1/2] RUN cargo build",
    ]


def test_an_error_outside_the_steps_is_still_reported():
    seen: list[str] = []
    progress = Progress(echo=seen.append)
    progress.feed(
        vertex_line(
            digest="sha256:m2",
            name="[app internal] load metadata for docker.io/library/nope:1",
            started="t0",
            completed="t1",
            error="pull access denied",
        )
    )
    assert seen == [
        "ERROR   [app internal] load metadata for docker.io/library/nope:1",
        "        error: pull access denied",
    ]
    assert progress.steps() == []
    assert [v.digest for v in progress.errors()] == ["sha256:m2"]


def test_later_updates_keep_cached_and_take_the_latest_name():
    progress = parse(
        [
            vertex_line(digest="sha256:a", name="[first build 2/3] RUN x", cached=True, started="t0"),
            vertex_line(digest="sha256:a", name="[second build 2/3] RUN x", started="t0", completed="t1"),
        ]
    )
    (vertex,) = progress.vertices.values()
    assert (vertex.target, vertex.state) == ("second", "cached")


def test_logs_are_split_into_lines_and_only_the_tail_is_kept():
    progress = Progress()
    # base64 of "oops\nline2\n", then of "café\n"
    progress.feed(json.dumps({"logs": [{"vertex": "sha256:z", "data": "b29wcwpsaW5lMgo="}]}))
    progress.feed(json.dumps({"logs": [{"vertex": "sha256:z", "data": "Y2Fmw6kK"}]}))
    assert progress.vertices["sha256:z"].logs == ["oops", "line2", "café"]
    many = "".join(f"l{i}\n" for i in range(250)).encode()
    import base64  # only to build the input; the expectation below is literal

    progress.feed(json.dumps({"logs": [{"vertex": "sha256:y", "data": base64.b64encode(many).decode()}]}))
    logs = progress.vertices["sha256:y"].logs
    assert len(logs) == 200
    assert (logs[0], logs[-1]) == ("l50", "l249")


def test_non_json_lines_go_to_echo_and_blank_or_broken_json_do_not():
    seen: list[str] = []
    progress = Progress(echo=seen.append)
    for line in ["WARNING: no output specified\n", "   \n", "{broken\n", "#1 [internal] plain progress\n"]:
        progress.feed(line)
    assert seen == ["WARNING: no output specified", "#1 [internal] plain progress"]
    assert progress.vertices == {}


def test_without_echo_nothing_is_printed_and_lines_still_count():
    progress = Progress(echo=None)
    progress.feed("WARNING: x\n")
    progress.feed(vertex_line(digest="sha256:c", name="[a b 1/2] RUN y", cached=True, completed="t"))
    assert progress.counts() == Counter({"cached": 1})


# --- name parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "target", "stage", "text"),
    [
        ("[target stage 3/4] text", "target", "stage", "text"),
        ("[app build-env 12/14] RUN make ] check", "app", "build-env", "RUN make ] check"),
        ("[app 1/3] FROM debian:testing", "app", None, "FROM debian:testing"),
        ("[app context src] load from client", "app", "context src", "load from client"),
        ("[internal] load local bake definitions", "internal", None, "load local bake definitions"),
        ("[app] resolving provenance for metadata file", "app", None, "resolving provenance for metadata file"),
        ("exporting to image", None, None, "exporting to image"),
        ("[no space]after", None, None, "[no space]after"),
    ],
)
def test_name_parsing(name: str, target, stage, text: str):
    vertex = Vertex("sha256:q", name)
    assert (vertex.target, vertex.stage, vertex.text) == (target, stage, text)


@pytest.mark.parametrize(
    ("name", "is_step"),
    [
        ("[app build 2/4] RUN make", True),
        ("[app 2/3] COPY a b", True),
        ("[app build 1/4] FROM debian", False),
        ("[app build 2/4] LINK COPY --link a b", False),
        ("[app internal] load .dockerignore", False),
        ("[internal] load build definition from Dockerfile", False),
        ("[app context src] load from client", False),
        ("[app] exporting to image", False),
        ("[app] naming to app:latest", False),
        ("[app] unpacking to app:latest", False),
        ("[app] resolving provenance for metadata file", False),
        ("exporting layers", False),
    ],
)
def test_is_step(name: str, is_step: bool):
    assert Vertex("sha256:q", name).is_step is is_step


def test_registry_auth_vertex_is_not_a_step():
    assert Vertex("sha256:q", "[auth] library/debian:pull token for registry.invalid").is_step is False


def test_a_canceled_vertex_is_no_failure():
    # Seen under act: three jobs bake on one engine, and BuildKit cancels the
    # copies of a shared step that another job evaluates; every bake succeeded.
    progress = Progress()
    progress.feed(
        json.dumps(
            {
                "vertexes": [
                    {
                        "digest": "sha256:w",
                        "name": "[build-bins--r cargo 2/4] WORKDIR /usr/src/mxd",
                        "started": "2026-12-03T08:15:34Z",
                        "completed": "2026-12-03T08:15:34Z",
                        "error": "context canceled: context canceled",
                    }
                ]
            }
        )
        + "\n"
    )
    assert [v.state for v in progress.steps()] == ["canceled"]
    assert summary(progress)[-1] == "   0 cached    0 ran  total (0 failed)"
