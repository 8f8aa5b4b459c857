#!/usr/bin/env bash
# Benchmarks `ozgtrack serve` on the national database (see docs/performance.md, "The service"):
#   1. GET /api/v1/status/{gemeinde}: throughput and latency percentiles at 64 connections (wrk, 2 threads, 20 s);
#   2. POST /api/v1/import of Gemeinde XML reports (each ~557 entries, each a real change): submissions per second
#      with 8 clients;
#   3. the national CSV report over HTTP (curl to a file) against the CLI (`report --output`), and both to /dev/null.
# Needs wrk and curl (Debian: apt-get install wrk curl). Serialise with other timing on a shared machine:
#   flock /work/coord/bench.lock scripts/bench-serve.sh
# BENCH_DIR (default bench-data/serve) keeps the generated data between runs; NATIONAL_DB names an existing national
# database to copy instead of generating one (e.g. /work/bench-data/national.sqlite: it is only read); OZGTRACK_BINARY
# names the binary (default: a release build, made if missing). WRK_SECONDS (default 20) is the length of each wrk run. `scripts/bench-serve.sh prepare` only generates the data (no timing,
# so it need not hold the lock).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
binary="${OZGTRACK_BINARY:-.build/release/ozgtrack}"
[[ -x "$binary" ]] || swift build -c release --product ozgtrack
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
dir="${BENCH_DIR:-$root/bench-data/serve}"
mkdir -p "$dir"
cd "$dir"
unset OZGTRACK_DB OZGTRACK_CATALOGUE
if [[ ! -f national.sqlite && -n "${NATIONAL_DB:-}" ]]; then
    cp "$NATIONAL_DB" national.sqlite.tmp
    "$binary" init --db national.sqlite.tmp >/dev/null
    mv national.sqlite.tmp national.sqlite
fi
if [[ ! -f national.sqlite ]]; then
    [[ -f data/national.csv ]] || "$binary" bench-data --output data >/dev/null
    rm -f national.sqlite.tmp*
    "$binary" init --db national.sqlite.tmp >/dev/null
    "$binary" import --db national.sqlite.tmp data/national.csv >/dev/null
    mv national.sqlite.tmp national.sqlite
fi
if [[ "${1:-}" == prepare ]]; then prepare_only=1; else prepare_only=0; fi
cp national.sqlite work.sqlite
rm -f work.sqlite-wal work.sqlite-shm
token="$("$binary" token create --db work.sqlite --name "Bench" --role admin)"
# Gemeinde XML reports with every status moved on by one step, so that each submission writes.
mkdir -p xml
gemeinden=($("$binary" regions list --within 08 --level gemeinde --format csv | sed -n '2,101p' | cut -d, -f1))
if [[ ! -f xml/done ]]; then
    for key in "${gemeinden[@]}"; do
        "$binary" report --db national.sqlite --scope "$key" --format xml --output "xml/$key.orig.xml"
        sed -e 's/status="planned"/status="TMP"/g' -e 's/status="in_progress"/status="planned"/g' \
            -e 's/status="TMP"/status="in_progress"/g' "xml/$key.orig.xml" > "xml/$key.xml"
    done
    touch xml/done
fi
if [[ $prepare_only == 1 ]]; then echo "prepared $dir"; exit 0; fi
# The previous run's server.out must go first: the loop below could read its address before the new server's
# redirection empties the file.
rm -f server.out
"$binary" serve --db work.sqlite --port 0 --rate-limit 0 > server.out 2> server.log &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do grep -q '^listening on ' server.out 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/^listening on //p' server.out | head -1)"
echo "server: $base ($(nproc) cores); load: $(uptime)"
seconds="${WRK_SECONDS:-20}"
memory() { grep -E 'VmRSS|VmHWM' /proc/$server/status | tr -s ' \t' ' ' | tr '\n' ' '; echo; }

echo "== 1. GET status/08111000 (the same Gemeinde: its document is reused while nothing changes), 64 connections, $seconds s"
wrk -t2 -c64 -d${seconds}s --latency -H "Authorization: Bearer $token" "$base/api/v1/status/08111000" | tee wrk-status.txt

echo "server memory: $(memory)"
echo "== 1b. GET status of every Gemeinde in turn (10,751 keys: never the same document twice in a row), 64 connections, $seconds s"
"$binary" regions list --level gemeinde --format csv | sed -n '2,$p' | cut -d, -f1 > gemeinden.txt
cat > rotate.lua <<'LUA'
local keys = {}
for line in io.lines("gemeinden.txt") do keys[#keys + 1] = line end
local counter = 0
request = function()
    counter = counter + 1
    return wrk.format("GET", "/api/v1/status/" .. keys[(counter % #keys) + 1])
end
LUA
wrk -t2 -c64 -d${seconds}s --latency -s rotate.lua -H "Authorization: Bearer $token" "$base" | tee wrk-status-rotating.txt
echo "server memory (the cache holds at most 128 documents): $(memory)"

echo "== 2. POST import, ${#gemeinden[@]} Gemeinde XML reports, 8 clients"
start=$(date +%s.%N)
printf '%s\n' "${gemeinden[@]}" | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
    -H "Authorization: Bearer $token" -H "Content-Type: application/xml" --data-binary "@xml/{}.xml" "$base/api/v1/import" \
    > import-codes.txt
end=$(date +%s.%N)
ok=$(grep -c '^200$' import-codes.txt || true)
echo "submissions: ${#gemeinden[@]}, 200 OK: $ok, seconds: $(echo "$end - $start" | bc), per second: $(echo "scale=1; ${#gemeinden[@]} / ($end - $start)" | bc)"

echo "== 3. national CSV report: HTTP vs CLI"
/usr/bin/time -f "http: %e s (curl: %S s system)" curl -s -o report-http.csv -H "Authorization: Bearer $token" "$base/api/v1/report/DE?format=csv"
/usr/bin/time -f "cli: %e s, peak %M kB" "$binary" report --db work.sqlite --format csv --output report-cli.csv
# The same, both streams thrown away: the CLI writes its file with O_DIRECT, curl through the page cache (≈ 1 s of
# system time for 1 GB here), so the pair above also compares two ways of writing a file; this pair compares only
# the report's way to its reader.
/usr/bin/time -f "http to /dev/null: %e s" curl -s -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/report/DE?format=csv"
/usr/bin/time -f "cli to /dev/null: %e s" "$binary" report --db work.sqlite --format csv > /dev/null
echo "server peak resident: $(grep VmHWM /proc/$server/status)"
ls -l report-http.csv report-cli.csv | awk '{print $5, $9}'
