#!/bin/bash
# Stand-in Complement tester for the engine tests. It keeps the contract of
# the real tester (docker/complement/tester-entrypoint.sh): the testee image
# arrives as $1 and is started through the mounted docker socket; go test
# -json lines go to stdout and /results/go-test.jsonl; one {"Action","Test"}
# line per test goes to /results/results.jsonl; exit 0 if every test passed,
# 1 if some failed.
#
# COMPLEMENT_STANDIN_MODE picks the behaviour:
#   pass     every test passes (the example project's baseline is this run);
#   regress  TestVersions/SpecVersion, which passes in the baseline, fails;
#   infra    exit 2, as a tester that broke outside its pass/fail contract;
#   hang     sleep until a signal arrives (the interrupt tests).
# infra and hang leave their testee and network behind on purpose, as a
# crashed tester would: `invoke complement` must sweep them by the run label.
set -euo pipefail

testee=${1:?usage: standin <testee-image>}
mode=${COMPLEMENT_STANDIN_MODE:-pass}
# invoke complement passes its run label in, so all we start can be swept.
label=${BAKERY_RUN_LABEL:-bakery.run-id=standin}
run_id=${BAKERY_RUN_ID:-$$}
results=/results
mkdir -p "$results"
: >"$results/go-test.jsonl"
verdicts=()
failed=0
status=000
body=""

# One go test -json event, to stdout and the raw log. Names and messages here
# never contain quotes or backslashes, so printf gives valid JSON.
event() {
  local line
  line=$(printf '{"Action":"%s","Package":"standin","Test":"%s"' "$1" "$2")
  if [ $# -gt 2 ]; then
    line+=$(printf ',"Output":"%s\\n"' "$3")
  fi
  printf '%s}\n' "$line" | tee -a "$results/go-test.jsonl"
}

# verdict TEST ok|fail MESSAGE: the test's output and final event.
verdict() {
  local action=pass
  if [ "$2" != ok ]; then
    action=fail
    failed=1
  fi
  event output "$1" "$3"
  event "$action" "$1"
  verdicts+=("$(printf '{"Action":"%s","Test":"%s"}' "$action" "$1")")
}

# get PATH: GET from the testee's client port into $status and $body. The
# server may still be starting (or restarting), so retry, boundedly.
get() {
  local address attempt reply
  reply=$(mktemp)
  status=000
  body=""
  for attempt in $(seq 1 100); do
    address=$(docker port "$cid" 8008/tcp 2>/dev/null | head -n 1 || true)
    if [ -n "$address" ] &&
      status=$(curl -sS -o "$reply" -w '%{http_code}' --max-time 2 "http://$address$1" 2>/dev/null); then
      body=$(cat "$reply")
      break
    fi
    status=000
    [ "$attempt" -lt 100 ] && sleep 0.1
  done
  rm -f "$reply"
}

# Complement's homeserver contract: SERVER_NAME set, client port published on
# the loopback address, reachable from here because we run on the host network.
net=standin-$run_id
docker network create --label "$label" "$net" >/dev/null
cid=$(docker run -d --label "$label" --network "$net" -e SERVER_NAME=hs1 -p 127.0.0.1::8008 "$testee")

case $mode in
infra)
  echo "standin: simulated infrastructure failure (testee $cid left running)" >&2
  exit 2
  ;;
hang)
  event run TestHang
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # In the background, so the traps run as soon as a signal arrives.
  sleep infinity &
  wait "$!"
  ;;
pass | regress) ;;
*)
  echo "standin: unknown COMPLEMENT_STANDIN_MODE=$mode (pass, regress, infra, hang)" >&2
  exit 2
  ;;
esac

# regress looks for a version the server never claims: a real check failing.
version=v1.1
if [ "$mode" = regress ]; then
  version=r0.0.0
fi

event run TestVersions
get /_matrix/client/versions
event run TestVersions/Status200
if [ "$status" = 200 ]; then
  verdict TestVersions/Status200 ok "GET /_matrix/client/versions: 200"
else
  verdict TestVersions/Status200 fail "GET /_matrix/client/versions: $status"
fi
event run TestVersions/SpecVersion
if [[ $body == *"\"$version\""* ]]; then
  verdict TestVersions/SpecVersion ok "versions lists $version"
else
  verdict TestVersions/SpecVersion fail "versions does not list $version"
fi
if [ "$failed" = 0 ]; then
  verdict TestVersions ok "subtests passed"
else
  verdict TestVersions fail "a subtest failed"
fi

event run TestUnknownEndpoint
get /_matrix/client/v3/standin_unknown
if [ "$status" = 404 ]; then
  verdict TestUnknownEndpoint ok "unknown endpoint: 404"
else
  verdict TestUnknownEndpoint fail "unknown endpoint: $status"
fi

# The testee must tolerate being started more than once.
event run TestRestart
docker restart -t 5 "$cid" >/dev/null
get /_matrix/client/versions
if [ "$status" = 200 ]; then
  verdict TestRestart ok "answers after a restart"
else
  verdict TestRestart fail "after a restart: $status"
fi

docker rm -f "$cid" >/dev/null
docker network rm "$net" >/dev/null
printf '%s\n' "${verdicts[@]}" >"$results/results.jsonl"
if [ "$failed" = 0 ]; then
  printf '{"Action":"pass","Package":"standin"}\n' | tee -a "$results/go-test.jsonl"
else
  printf '{"Action":"fail","Package":"standin"}\n' | tee -a "$results/go-test.jsonl"
fi
exit "$failed"
