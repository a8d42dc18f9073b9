"""What recording the inputs manifest (bakery/explain/manifest.py) costs a
bake: the recording hook's own work, timed in process, for one vector of
`install` (bench/README.md, "Recording the inputs for invoke explain").

    python -m bench.recording RUN_RECORD [--rounds N]

RUN_RECORD is a cached `invoke bake install` record whose step stream is fed
to the recorder as bake feeds it. The definition is bake's own (`--print`,
cached like bake's); the source project is the settings' (`source_location`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bakery import ROOT
from bakery.baking import flatten, progress
from bakery.baking.bake import _read, _shown
from bakery.cache import policy
from bakery.config.settings import load
from bakery.engine import builder, probe
from bakery.explain import manifest
from bakery.tree import bakefile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("record", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    settings = load({})
    vector = settings.vectors()[0]
    plan = policy.from_settings(settings)
    env = bakefile.bake_env(settings, {k: (v,) for k, v in vector.items}, cache_scope=plan.cache_scope)
    definition = bakefile.definition(settings, ("install",), env)
    tree = bakefile.bake_file(settings)
    flat = flatten.flatten(definition, ("install",), _read, _shown(tree), tree.read_text())
    stream = progress.parse((args.record / "progress.jsonl").read_text().splitlines())
    found = probe.probe(builder.name(settings))
    owners = {flatten.stage_name(i): i for i in flat.instances}
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.rounds):
            start = time.perf_counter()
            recorder = manifest.Recorder(ROOT, plan, found, "default")
            recorder.vector(0, vector.as_dict(), "install", definition, flat)
            recorder.steps(stream.vertices.values(), owners, flatten.AGGREGATE)
            recorder.write(Path(out))
            times.append(time.perf_counter() - start)
        size = (Path(out) / manifest.FILE).stat().st_size
    q = statistics.quantiles(times, n=4)
    print(
        f"recording: median {statistics.median(times) * 1000:.1f} ms (IQR {q[0] * 1000:.1f}-{q[2] * 1000:.1f}) "
        f"over {args.rounds} rounds; {len(flat.instances)} instances; inputs.json {size} bytes"
    )


if __name__ == "__main__":
    main()
