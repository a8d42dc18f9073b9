#!/bin/bash
# Complement tester entrypoint: runs the suite against the testee image in $1.
# Run, skip, count, parallel, timeout and tags arrive as environment at run
# time, so changing them needs no rebuild (docs/commands.md, "invoke complement").
# Results: /results/go-test.jsonl (raw go test -json) and /results/results.jsonl
# (one {"Action","Test"} line per test), extracted by `invoke complement`.
set -uo pipefail
testee=${1:?usage: complement-tester <testee-image>}
results=${COMPLEMENT_RESULTS_DIR:-/results}
mkdir -p "$results"
export COMPLEMENT_BASE_IMAGE=$testee

args=(-json -v -count="${COMPLEMENT_COUNT:-1}" -parallel="${COMPLEMENT_PARALLEL:-4}"
  -timeout="${COMPLEMENT_TIMEOUT:-1h}")
[ -n "${COMPLEMENT_RUN:-}" ] && args+=(-run "$COMPLEMENT_RUN")
[ -n "${COMPLEMENT_SKIP:-}" ] && args+=(-skip "$COMPLEMENT_SKIP")
[ -n "${COMPLEMENT_TAGS:-}" ] && args+=(-tags "$COMPLEMENT_TAGS")

# go test runs in the background so SIGTERM reaches it: bash as PID 1 would
# otherwise defer the trap until the suite ends (the original lost SIGTERM).
# It writes the file itself (stderr goes straight to the log), so the file is
# complete once it exits; tail streams it to the log and stops with it.
go test "${args[@]}" ./tests/... >"$results/go-test.jsonl" &
pid=$!
tail -n +1 -f --pid="$pid" "$results/go-test.jsonl" &
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
status=0
wait "$pid" || status=$?
# A trapped signal interrupts wait; wait again for go test, then for tail.
wait "$pid" 2>/dev/null || true
wait

jq -c 'select(.Test != null and (.Action == "pass" or .Action == "fail" or .Action == "skip"))
       | {Action, Test}' "$results/go-test.jsonl" >"$results/results.jsonl" || true
# go test: 0 all passed, 1 some failed; anything else is an infrastructure failure.
exit "$status"
