#!/usr/bin/env bash
# Counts the CPU instructions (user space) that `ozgtrack serve` spends on one uncached GET /api/v1/status/{gemeinde}
# on the national database, with valgrind's callgrind: a figure that does not depend on what else the machine is doing
# (wrk's requests per second do). See docs/performance.md, "The service".
#
#   scripts/serve-instructions.sh [BINARY] [REQUESTS]
#
# BINARY defaults to .build/release/ozgtrack; its debug information is stripped into a copy first (valgrind 3.19
# cannot read the DWARF of Swift 6 binaries). REQUESTS (default 100) different Gemeinden are asked for one after the
# other, after 30 others warmed the server up; the counters cover exactly those requests (callgrind_control -z / -d).
# BENCH_DIR (default bench-data/serve) must hold national.sqlite (scripts/bench-serve.sh prepare, or NATIONAL_DB
# there). Needs valgrind and curl (Debian: apt-get install valgrind curl). Slow (about a minute), but needs no lock:
# it counts instructions, it does not time anything.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
binary="${1:-.build/release/ozgtrack}"
requests="${2:-100}"
[[ -x "$binary" ]] || swift build -c release --product ozgtrack
dir="${BENCH_DIR:-$root/bench-data/serve}"
[[ -f "$dir/national.sqlite" ]] || { echo "no $dir/national.sqlite: run scripts/bench-serve.sh prepare first" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
objcopy --strip-debug "$binary" "$work/ozgtrack"
cp "$dir/national.sqlite" "$work/db.sqlite"
cd "$work"
unset OZGTRACK_DB OZGTRACK_CATALOGUE
token="$(./ozgtrack token create --db db.sqlite --name Instructions --role admin)"
./ozgtrack regions list --level gemeinde --format csv | sed -n '2,$p' | cut -d, -f1 > gemeinden.txt
valgrind --tool=callgrind --callgrind-out-file=callgrind.out --dump-instr=no \
    ./ozgtrack serve --db db.sqlite --port 0 --rate-limit 0 > server.out 2> server.log &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
    grep -q '^listening on ' server.out 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat server.log >&2; exit 1; }
    sleep 0.2
done
base="$(sed -n 's/^listening on //p' server.out | head -1)"
get() { curl -s -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/status/$1"; }
for key in $(sed -n '1000,1029p' gemeinden.txt); do get "$key"; done
callgrind_control -z $server > /dev/null
for key in $(sed -n "2000,$((1999 + requests))p" gemeinden.txt); do get "$key"; done
callgrind_control -d $server > /dev/null
sleep 1
total=$(grep -h -E '^(summary|totals):' callgrind.out.* | head -1 | awk '{print $2}')
echo "instructions (user space) per uncached status request: $((total / requests)) ($total over $requests requests)"
echo "functions by their own instructions, all requests together (thread entry points left out):"
callgrind_annotate --threshold=100 callgrind.out.1 2>/dev/null | sed -n '/file:function/,$p' \
    | grep -v -E 'clone|start_thread|NIOThread|ThreadOpsPosix|EventLoopGroup' | sed -n '3,27p' | cut -c1-160
