"""Runners that stand behind the docker seam (bakery.engine.docker.use_runner) and answer by
argv: nothing of bakery's own logic is replaced, only the docker CLI's answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
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
# What `bake --print` answers for ScriptedDocker: one target that declares an entitlement, built
# from a real Dockerfile of the tree (bake generates its one form from it).
DEFINITION = {
    "group": {"default": {"targets": ["smoketest-version"]}},
    "target": {
        "smoketest-version": {
            "context": "docker",
            "dockerfile": "Dockerfile.install",
            "entitlements": ["security.insecure"],
        }
    },
}


def by_argv(**answers: tuple[int, str] | tuple[int, str, str]) -> Callable[[docker.Call], docker.Completed]:
    """Answer each call by its argv after `docker`, joined by spaces: (exit code, stdout) or
    (exit code, stdout, stderr); any other call exits 0 with no output."""

    def answer(call: docker.Call) -> docker.Completed:
        code, out, *err = answers.get(" ".join(call.argv[1:]), (0, ""))
        return docker.Completed(call.argv, code, out, "".join(err))

    return answer


SNAPSHOTTER = '[["driver-type","io.containerd.snapshotter.v1"]]'


class ScriptedDocker:
    """Answers the calls one bake makes (the roots, the probes, `--print` with `definition`) and feeds
    `progress` (rawjson lines; default: a real smoke test's) to the bake; records each call and,
    through `out`, each line bake prints, in order."""

    def __init__(
        self,
        bake_code: int = 0,
        *,
        definition: Mapping[str, object] = DEFINITION,
        progress: Sequence[str] | None = None,
        driver_status: str = SNAPSHOTTER,
        bake_help: str | None = None,
    ) -> None:
        self.bake_code = bake_code
        self.definition = definition
        self.progress = progress
        self.driver_status = driver_status
        self.bake_help = bake_help
        self.events: list[tuple[str, object]] = []

    def out(self, line: str) -> None:
        self.events.append(("out", line))

    def __call__(self, call: docker.Call) -> docker.Completed:
        self.events.append(("seam", call.argv))
        args = call.argv[1:]
        answers = {
            INFO: f'"daemon-1" "28.5.2" "/" {self.driver_status}\n',
            ("buildx", "version"): "github.com/docker/buildx 0.29.1\n",
            ("buildx", "bake", "--help"): self.bake_help or (FIXTURES / "buildx-0.29.1-bake-help.txt").read_text(),
            ("buildx", "inspect", "default"): "Name: default\nDriver: docker\n",
        }
        if args in answers:
            return docker.Completed(call.argv, 0, answers[args], "")
        if args[:2] == ("image", "inspect"):
            # The roots the selection needs (bakery.engine.system_image.require): all present.
            return docker.Completed(call.argv, 0, "sha256:root\n" * len(args[4:]), "")
        if "--print" in args:
            return docker.Completed(call.argv, 0, json.dumps(self.definition), "")
        assert args[:2] == ("buildx", "bake"), args
        assert call.on_stderr is not None
        progress = self.progress
        if progress is None:
            progress = (FIXTURES / "progress-smoketest-version.jsonl").read_text().splitlines(keepends=True)
        for line in progress:
            call.on_stderr(line)
        return docker.Completed(call.argv, self.bake_code, "", "")

    @property
    def lines(self) -> list[str]:
        """What bake printed through `out`."""
        return [str(value) for kind, value in self.events if kind == "out"]

    @property
    def bake_call(self) -> tuple[str, ...]:
        """The bake's own argv: the last call, never a `--print`."""
        calls = [value for kind, value in self.events if kind == "seam"]
        assert isinstance(calls[-1], tuple) and "--print" not in calls[-1]
        return calls[-1]
