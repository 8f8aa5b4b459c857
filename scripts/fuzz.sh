#!/usr/bin/env bash
# Runs ozgtrack's libFuzzer targets, each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      targets: csv json keys registry xml (default: all, 60 s each)
#
# Builds the targets with -sanitize=fuzzer,address into .build-fuzz (OZGTRACK_FUZZ=1 adds them to the package),
# seeds each from Tests/Fuzz/corpus/TARGET and writes new inputs to .build-fuzz/corpus/TARGET. A crashing,
# hanging or leaking input is saved under Tests/Fuzz/crashes/; once the cause is fixed, move it into
# Tests/Fuzz/corpus/TARGET, where the regression test (FuzzCorpusTests) replays it on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(csv json keys registry xml)
export OZGTRACK_FUZZ=1
status=0
for target in "${targets[@]}"; do
    case "$target" in
        csv) product=FuzzCSV ;;
        json) product=FuzzJSON ;;
        keys) product=FuzzKeys ;;
        registry) product=FuzzRegistry ;;
        xml) product=FuzzXML ;;
        *) echo "fuzz: unknown target '$target' (csv json keys registry xml)" >&2; exit 2 ;;
    esac
    swift build -c release --scratch-path .build-fuzz --product "$product" >&2
    mkdir -p ".build-fuzz/corpus/$target" Tests/Fuzz/crashes
    echo "== $target: $seconds s" >&2
    if ! ".build-fuzz/release/$product" ".build-fuzz/corpus/$target" "Tests/Fuzz/corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="Tests/Fuzz/crashes/$target-" -print_final_stats=1; then
        echo "fuzz: $target found a problem: see Tests/Fuzz/crashes/" >&2
        status=1
    fi
done
exit $status
