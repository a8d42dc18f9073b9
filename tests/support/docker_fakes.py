"""Runners that stand behind the docker seam (bakery.engine.docker.use_runner) and answer by
argv: nothing of bakery's own logic is replaced, only the docker CLI's answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bakery.engine import docker

FIXTURES = Path(__file__).resolve().parent.parent / "unit" / "fixtures"
INFO = ("info", "--format", "{{json .ID}} {{json .ServerVersion}} {{json .DockerRootDir}} {{json .DriverStatus}}")
# The probes of a cold probe cache (bakery.engine.probe), run concurrently: in any order.
PROBES = {
    ("docker", *INFO),
    ("docker", "buildx", "version"),
    ("docker", "buildx", "bake", "--help"),
    ("docker", "buildx", "inspect", "default"),
}
# What `bake --print` answers for ScriptedDocker: one target that declares an entitlement.
DEFINITION = {
    "group": {"default": {"targets": ["smoke"]}},
    "target": {
        "smoke": {"context": "docker", "dockerfile": "Dockerfile.install", "entitlements": ["security.insecure"]}
    },
}


def by_argv(**answers: tuple[int, str] | tuple[int, str, str]) -> Callable[[docker.Call], docker.Completed]:
    """Answer each call by its argv after `docker`, joined by spaces: (exit code, stdout) or
    (exit code, stdout, stderr); any other call exits 0 with no output."""

    def answer(call: docker.Call) -> docker.Completed:
        code, out, *err = answers.get(" ".join(call.argv[1:]), (0, ""))
        return docker.Completed(call.argv, code, out, "".join(err))

    return answer


class ScriptedDocker:
    """Answers the calls one bake makes; feeds rawjson progress to the bake."""

    def __init__(self, bake_code: int = 0) -> None:
        self.bake_code = bake_code
        self.events: list[tuple[str, object]] = []

    def __call__(self, call: docker.Call) -> docker.Completed:
        self.events.append(("seam", call.argv))
        args = call.argv[1:]
        answers = {
            INFO: '"daemon-1" "28.5.2" "/" [["driver-type","io.containerd.snapshotter.v1"]]\n',
            ("buildx", "version"): "github.com/docker/buildx 0.29.1\n",
            ("buildx", "bake", "--help"): (FIXTURES / "buildx-0.29.1-bake-help.txt").read_text(),
            ("buildx", "inspect", "default"): "Name: default\nDriver: docker\n",
        }
        if args in answers:
            return docker.Completed(call.argv, 0, answers[args], "")
        if "--print" in args:
            return docker.Completed(call.argv, 0, json.dumps(DEFINITION), "")
        assert call.on_stderr is not None
        for line in (FIXTURES / "progress-smoketest-version.jsonl").read_text().splitlines(keepends=True):
            call.on_stderr(line)
        return docker.Completed(call.argv, self.bake_code, "", "")
