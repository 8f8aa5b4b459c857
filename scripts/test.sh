#!/bin/sh
# The one test command: starts a throwaway PostgreSQL cluster (scripts/pg-cluster.sh), exports its URL as
# OZGTRACK_TEST_POSTGRES_URL, runs `swift test "$@"`, and always stops the cluster again. The exit status is
# swift test's.
#
#   scripts/test.sh                          every test
#   scripts/test.sh --filter PostgresStore   some of them (any `swift test` arguments)
#   OZGTRACK_QUICK=1 scripts/test.sh         a quick run: no server is started, tests that need PostgreSQL
#                                            (or another external program) are skipped
#
# Without OZGTRACK_QUICK=1 a missing PostgreSQL server is a failure, never a skip.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ "${OZGTRACK_QUICK:-}" = 1 ]; then
    exec swift test "$@"
fi

CLUSTER=
cleanup() {
    if [ -n "$CLUSTER" ]; then
        "$ROOT/scripts/pg-cluster.sh" stop "$CLUSTER" || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CLUSTER=$("$ROOT/scripts/pg-cluster.sh" start) || {
    echo "test.sh: could not start a PostgreSQL cluster (see above); OZGTRACK_QUICK=1 skips the PostgreSQL tests" >&2
    exit 1
}
OZGTRACK_TEST_POSTGRES_URL=$("$ROOT/scripts/pg-cluster.sh" url "$CLUSTER")
export OZGTRACK_TEST_POSTGRES_URL

status=0
swift test "$@" || status=$?
exit "$status"
