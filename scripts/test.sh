#!/usr/bin/env bash
# `npm test`: the type check and lint (`npm run check`), then jest. Jest runs even when the check
# fails, so one run reports both, and either failing fails the run. Arguments go to jest.
#
# The check used to run beside jest at a lower priority, to fill the moments both workers wait.
# On 2 cores it cost more than it filled: five fresh clones each way, alternated, took a median
# 186 CPU-s and 98.7 s beside jest, 167 CPU-s and 94.3 s before it (docs/testing.md). Before jest,
# it also no longer reads the tree while the suites write their scratch files.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
npm run -s check
checked=$?
node_modules/.bin/jest "$@"
tests=$?
if [ "$checked" -ne 0 ]; then echo "npm test: the type check or lint failed (its output is above jest's)" >&2; fi
exit $((tests != 0 || checked != 0))
