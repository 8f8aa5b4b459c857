#!/usr/bin/env bash
# Checks `ozgtrack serve` against its OpenAPI description (Sources/OZGService/openapi.json) with schemathesis:
# starts the server on a free loopback port against a throwaway database, runs every documented operation with
# generated inputs (as an admin, so that writes are exercised too), and fails on any response that the description
# does not allow (status code, content type, schema, headers) or any server error.
#
#   pip install schemathesis        (CI: see .ci/run)
#   scripts/openapi-check.sh [extra schemathesis options]
#
# OZGTRACK_BINARY names the binary (default: .build/debug/ozgtrack, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${OZGTRACK_BINARY:-.build/debug/ozgtrack}"
if [[ ! -x "$binary" ]]; then swift build --product ozgtrack; fi
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
work="$(mktemp -d "${TMPDIR:-/tmp}/ozgtrack-openapi.XXXXXX")"
server=""
cleanup() {
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; wait "$server" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
unset OZGTRACK_DB OZGTRACK_CATALOGUE
"$binary" init --db db.sqlite >/dev/null
printf 'region,ozg_id,status,maturity,url\n08115001,10244,online,3,https://example.org/a\n08115,10089,planned,,\n' > seed.csv
"$binary" import --db db.sqlite seed.csv >/dev/null
token="$("$binary" token create --db db.sqlite --name "OpenAPI check" --role admin)"
"$binary" serve --db db.sqlite --port 0 --rate-limit 0 > server.out 2> server.log &
server=$!
for _ in $(seq 1 100); do
    if grep -q '^listening on ' server.out 2>/dev/null; then break; fi
    sleep 0.1
done
base="$(sed -n 's/^listening on //p' server.out | head -1)"
if [[ -z "$base" ]]; then echo "openapi-check: the server did not start" >&2; cat server.log >&2; exit 1; fi
# The national report (/api/v1/report without a scope, /report/DE) is left to the end-to-end tests: hundreds of
# megabytes per generated example would only measure the disk.
schemathesis run "$base/api/v1/openapi.json" --url "$base" \
    -H "Authorization: Bearer $token" \
    --checks all --exclude-checks ignored_auth,positive_data_acceptance,use_after_free,ensure_resource_availability \
    --exclude-operation-id reportCountry \
    --max-examples "${OPENAPI_CHECK_EXAMPLES:-25}" --workers 1 --request-timeout 600 --max-response-time 300 \
    --suppress-health-check all "$@"
