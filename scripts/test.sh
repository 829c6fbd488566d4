#!/usr/bin/env bash
# `npm test`: the type check and lint (`npm run check`) run beside jest instead of before it. Jest
# leaves a core idle whenever both workers wait (on a runtime, a child process, a timer), and the
# check fills those gaps; it runs at a lower priority so the suites' timings see the cores first.
# Its output follows jest's, and either failing fails the run. Arguments go to jest.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
log=$(mktemp)
trap 'rm -f "$log"' EXIT
nice -n 10 npm run -s check >"$log" 2>&1 &
check=$!
node_modules/.bin/jest "$@"
tests=$?
wait "$check"
checked=$?
cat "$log"
if [ "$checked" -ne 0 ]; then echo "npm test: the type check or lint failed (output above)" >&2; fi
exit $((tests != 0 || checked != 0))
