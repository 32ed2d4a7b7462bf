#!/usr/bin/env bash
# fuzz/run.sh -- run every libFuzzer harness of a fuzzer build for a while.
#
#   fuzz/run.sh <build-dir> [seconds-per-fuzzer (default 20)]
#
# <build-dir> is a build configured with clang++ and -DCRDT_BUILD_FUZZERS=ON
# whose fuzzers are built (<build-dir>/fuzz/fuzz_*). For each fuzzer, in
# turn: write its seed corpus (fuzz_<name> -crdt_write_seeds=DIR) into a
# work directory, then fuzz for the given time with -max_len=4096.
#
# Exit status: 0 if no fuzzer crashed; 1 otherwise, after naming each failed
# harness, its crash input (artifact) and the command that reproduces it.
# The work directory ($CRDT_FUZZ_WORK, default a fresh temp dir) is removed
# when everything passed and kept otherwise. Environment:
#   CRDT_FUZZ_WORK   where corpora, logs and crash inputs go;
#   CRDT_FUZZ_ONLY   a space-separated list of harness names to run (e.g.
#                    "codec_scalars reader"); default all;
#   CRDT_FUZZ_PARALLEL  how many fuzzers run at once (default 1; 2 on a
#                    2-core machine halves the wall time);
#   CRDT_FUZZ_ARGS   extra libFuzzer flags (e.g. "-use_value_profile=1").
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 <build-dir> [seconds-per-fuzzer]" >&2
    exit 2
fi
build=$1
seconds=${2:-20}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -eq 0 ]]; then
    echo "$0: seconds-per-fuzzer must be a positive integer, got '$seconds'" >&2
    exit 2
fi

shopt -s nullglob
fuzzers=()
for f in "$build"/fuzz/fuzz_*; do
    [[ -f $f && -x $f ]] || continue
    name=${f##*/fuzz_}
    if [[ -n ${CRDT_FUZZ_ONLY:-} && " $CRDT_FUZZ_ONLY " != *" $name "* ]]; then
        continue
    fi
    fuzzers+=("$f")
done
if [[ ${#fuzzers[@]} -eq 0 ]]; then
    echo "$0: no fuzzers in $build/fuzz (configure with clang++ -DCRDT_BUILD_FUZZERS=ON and build)" >&2
    exit 2
fi

work=${CRDT_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/crdt-fuzz.XXXXXX")}
mkdir -p "$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

parallel=${CRDT_FUZZ_PARALLEL:-1}
if ! [[ $parallel =~ ^[1-9][0-9]*$ ]]; then
    echo "$0: CRDT_FUZZ_PARALLEL must be a positive integer, got '$parallel'" >&2
    exit 2
fi

# fuzz_one <fuzzer>: seeds, fuzzes, and writes its report to
# $work/<name>/report and "ok" or "FAIL" to $work/<name>/status.
fuzz_one() {
    local f=$1
    local name=${f##*/fuzz_}
    local dir=$work/$name
    local corpus=$dir/corpus log=$dir/log.txt report=$dir/report
    mkdir -p "$corpus" "$dir/crashes"
    : >"$report"
    if ! "$f" -crdt_write_seeds="$corpus" >"$log" 2>&1; then
        echo "FAIL  $name: could not write its seed corpus (see $log)" >>"$report"
        echo FAIL >"$dir/status"
        return
    fi
    local seeds
    seeds=$(find "$corpus" -type f | wc -l)
    # shellcheck disable=SC2086 # CRDT_FUZZ_ARGS is a list of flags
    "$f" -max_len=4096 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/crashes/" \
        ${CRDT_FUZZ_ARGS:-} "$corpus" >>"$log" 2>&1
    local status=$?
    local runs cov
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [[ $status -ne 0 ]]; then
        {
            echo "FAIL  $name (exit $status, ${runs:-?} runs, started from $seeds inputs)"
            local crash
            for crash in "$dir/crashes/"*; do
                echo "      crash input: $crash"
                echo "      bytes (hex): $(head -c 512 "$crash" | od -An -tx1 -v | tr -d ' \n')"
                echo "      reproduce:   $f $crash"
            done
            echo "      --- from $log ---"
            grep -E 'crdt fuzz:|ERROR:|SUMMARY|runtime error|terminate called|what\(\)' "$log" |
                head -n 8 | sed 's/^/      /'
        } >>"$report"
        echo FAIL >"$dir/status"
    else
        echo "ok    $name (${runs:-?} runs, ${cov:-cov: ?}, started from $seeds inputs)" >>"$report"
        echo ok >"$dir/status"
    fi
}

echo "fuzz/run.sh: ${#fuzzers[@]} fuzzers, ${seconds}s each, $parallel at a time," \
     "work directory $work"
start=$(date +%s)
running=0
for f in "${fuzzers[@]}"; do
    if [[ $parallel -eq 1 ]]; then
        fuzz_one "$f"
        cat "$work/${f##*/fuzz_}/report"
        continue
    fi
    if [[ $running -ge $parallel ]]; then
        wait -n
        running=$((running - 1))
    fi
    fuzz_one "$f" &
    running=$((running + 1))
done
wait
failed=()
for f in "${fuzzers[@]}"; do
    name=${f##*/fuzz_}
    if [[ $parallel -ne 1 ]]; then
        cat "$work/$name/report"
    fi
    if [[ "$(cat "$work/$name/status" 2>/dev/null)" != ok ]]; then
        failed+=("$name")
    fi
done
elapsed=$(($(date +%s) - start))

if [[ ${#failed[@]} -ne 0 ]]; then
    echo "fuzz/run.sh: ${#failed[@]} of ${#fuzzers[@]} fuzzers FAILED in ${elapsed}s: ${failed[*]}"
    echo "fuzz/run.sh: logs, corpora and crash inputs kept in $work"
    exit 1
fi
echo "fuzz/run.sh: all ${#fuzzers[@]} fuzzers passed in ${elapsed}s"
if [[ -z ${CRDT_FUZZ_WORK:-} ]]; then
    rm -rf "$work"
fi
exit 0
