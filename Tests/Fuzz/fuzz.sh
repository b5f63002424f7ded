#!/usr/bin/env bash
# `make fuzz FUZZ_SECONDS=N`: builds each fuzz target with libFuzzer and AddressSanitizer and runs it for N
# seconds, one line per target. A crash (trap, sanitizer report, timeout, out-of-memory, leak) is kept as
# a reproducer under build/fuzz/crashes/<target>/ and fails the run.
#
# The targets are built with swiftc straight from the module sources (no SwiftPM), so the normal .build
# is never touched and nothing in Package.swift changes: each module is compiled once, whole-module, with
# the fuzzer's coverage instrumentation, into build/fuzz/modules/, and each target links them.
#   Tests/Fuzz/fuzz.sh build         build only
#   Tests/Fuzz/fuzz.sh run SECONDS   build, then run every target
#   Tests/Fuzz/fuzz.sh run SECONDS json resp   … only these targets
#
# One more target, `http`, is not libFuzzer's: Tests/Fuzz/http_sequences.py sends random pipelined, split and
# abandoned HTTP requests to the release binary (QUENCH_BIN, default .build/release/quench) over loopback
# for SECONDS, and fails when /healthz stops answering within a second; its reproducers go to
# build/fuzz/crashes/http/.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=build/fuzz
SWIFTC=${SWIFTC:-swiftc}
# Module → the modules it imports, in build order.
MODULES=(EngineIO QuenchSystem SocketIO EngineIOTesting QuenchApp QuenchTLSClient QuenchMessageQueue QuenchRedis)
# Target name → source folder under Tests/Fuzz.
declare -A TARGET_DIRS=([json]=JSON [socketio]=SocketIO [engineio]=EngineIO [query]=Query [resp]=RESP [pubsub]=PubSub [recovery]=Recovery [nodemessage]=NodeMessage [forwarded]=Forwarded [nodelink]=NodeLink [msgpack]=MsgPack [eio3]=EngineIO3)
ALL_TARGETS=(json socketio msgpack engineio eio3 query resp pubsub recovery nodemessage nodelink forwarded)
FLAGS=(-O -g -swift-version 6 -enable-upcoming-feature ExistentialAny -sanitize=fuzzer,address -parse-as-library -package-name quench
       -use-ld=lld -I "$OUT/modules" -I Sources/COpenSSL -I Sources/CCrypt)

# True when $1 is missing or older than any file in the folders that follow.
stale() {
    local product=$1; shift
    [[ ! -e $product ]] && return 0
    [[ -n $(find "$@" -name '*.swift' -newer "$product" -print -quit) ]]
}

build() {
    mkdir -p "$OUT/modules" "$OUT/bin"
    local rebuilt=0
    for module in "${MODULES[@]}"; do
        if [[ $rebuilt == 1 ]] || stale "$OUT/modules/$module.o" "Sources/$module"; then
            echo "fuzz: compiling $module"
            mapfile -t sources < <(find "Sources/$module" -name '*.swift' | sort)
            "$SWIFTC" "${FLAGS[@]}" -wmo -num-threads 0 -module-name "$module" -emit-module \
                -emit-module-path "$OUT/modules/$module.swiftmodule" -c -o "$OUT/modules/$module.o" "${sources[@]}"
            rebuilt=1  # modules after it import it
        fi
    done
    local objects=()
    for module in "${MODULES[@]}"; do objects+=("$OUT/modules/$module.o"); done
    for target in "${ALL_TARGETS[@]}"; do
        local dir=Tests/Fuzz/${TARGET_DIRS[$target]}
        if [[ $rebuilt == 1 ]] || stale "$OUT/bin/fuzz-$target" "$dir" Tests/Fuzz/Support; then
            echo "fuzz: linking fuzz-$target"
            "$SWIFTC" "${FLAGS[@]}" -module-name "Fuzz_$target" "$dir"/*.swift Tests/Fuzz/Support/*.swift "${objects[@]}" \
                -o "$OUT/bin/fuzz-$target"
        fi
    done
}

run() {
    local seconds=$1; shift
    local targets=("$@")
    [[ ${#targets[@]} == 0 ]] && targets=("${ALL_TARGETS[@]}" http)
    local failed=0
    for target in "${targets[@]}"; do
        if [[ $target == http ]]; then
            rm -rf "$OUT/crashes/http"
            python3 Tests/Fuzz/http_sequences.py --quench "${QUENCH_BIN:-.build/release/quench}" --seconds "$seconds" --out "$OUT" \
                || failed=1
            continue
        fi
        local crashes=$OUT/crashes/$target log=$OUT/logs/$target.log
        rm -rf "$crashes"
        mkdir -p "$crashes" "$OUT/corpus/$target" "$OUT/logs"
        # The first folder gathers what this machine's runs discover; the committed seeds are read only.
        local status=0
        # SWIFT_BACKTRACE: Swift's own crash handler would add a report of its own (it reads memory the
        # way AddressSanitizer flags) after the real one.
        SWIFT_BACKTRACE=enable=no "$OUT/bin/fuzz-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$crashes/" "$OUT/corpus/$target" "Tests/Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
        local runs count
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        count=$(find "$crashes" -type f | wc -l)
        if [[ $status != 0 && $count == 0 ]]; then count=1; fi  # died without writing an artifact
        if [[ $count == 0 ]]; then
            echo "fuzz $target: ${runs:-0} runs, 0 crashes"
        else
            failed=1
            echo "fuzz $target: ${runs:-0} runs, $count crashes (exit $status); reproducer: $(find "$crashes" -type f | head -1); log: $log"
            grep -E 'ERROR|Fatal error|property failed|SUMMARY|^    #[0-9] ' "$log" | head -25 | sed 's/^/    /'
        fi
    done
    return $failed
}

case ${1:-run} in
    build) build ;;
    run) shift; seconds=${1:-60}; shift || true; build; run "$seconds" "$@" ;;
    *) echo "usage: $0 build | run SECONDS [target…]" >&2; exit 64 ;;
esac
