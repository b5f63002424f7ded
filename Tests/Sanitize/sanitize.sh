#!/usr/bin/env bash
# `make sanitize`: the Swift unit tests, then a named part of the interop suite and a short soak
# (Tests/Soak/soak.py, SANITIZE_SOAK_SECONDS, default 45) against a quench built with the same sanitizer,
# first under ThreadSanitizer, then under AddressSanitizer (LeakSanitizer included).
# Each sanitizer builds in its own scratch path (.build-tsan, .build-asan); the normal .build is untouched.
# Every report fails the run: the unit tests' process exits non-zero on one, and the server's reports are
# written to build/sanitize/<sanitizer>/ (log_path), which must be empty when the interop tests end.
#   Tests/Sanitize/sanitize.sh [thread|address]…    default: both
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-.venv/bin/python}
SOAK_SECONDS=${SANITIZE_SOAK_SECONDS:-45}
SWIFT=${SWIFT:-swift}
# The interop files run against the sanitized binary: WebSocket (Engine.IO and the app), long-polling and
# its held requests, CORS over polling, python-socketio clients (upgrade, reminders, both transports, many
# clients at once), the Redis and RabbitMQ message queues (restarts and broker faults included), connection state recovery across nodes
# through Redis (its store thread, handover on SIGTERM), signals (test_cli: SIGINT/SIGTERM) and --reuse-port
# (quench's own listening socket: raw-descriptor adoption, accepts handed to lws, its close at a stop; not
# its TLS test, whose SIGHUP reload leaks OpenSSL objects under LeakSanitizer with or without --reuse-port),
# and any node serving any request (requests passed between nodes over Redis, sessions moved with their
# acknowledgements, an owner gone), with and without a balancer, and over --node-link (its sockets on the
# service loop, a refused hello).
INTEROP_FILES=(
    Tests/Interop/test_engineio_websocket.py
    Tests/Interop/test_websocket_app.py
    Tests/Interop/test_polling_hold.py
    Tests/Interop/test_cors_polling.py
    Tests/Interop/test_socketio_client.py
    Tests/Interop/test_redis.py
    Tests/Interop/test_amqp.py
    Tests/Interop/test_recovery_cluster.py
    Tests/Interop/test_cli.py
    Tests/Interop/test_reuse_port.py::test_two_processes_share_a_port_and_a_message_queue
    Tests/Interop/test_reuse_port.py::test_a_port_held_without_reuse_port_stays_in_use_either_way
    Tests/Interop/test_reuse_port.py::test_polling_clients_work_across_two_processes_on_one_port
    Tests/Interop/test_any_node.py::test_one_session_s_requests_on_three_nodes_in_turn
    Tests/Interop/test_any_node.py::test_a_websocket_upgrade_on_another_node_moves_the_session
    Tests/Interop/test_any_node.py::test_an_owner_that_is_gone_gives_400_session_id_unknown_not_a_hang
    Tests/Interop/test_node_link.py::test_one_session_s_requests_on_three_nodes_in_turn
    Tests/Interop/test_node_link.py::test_forwarded_requests_travel_on_the_link_and_fall_back_to_redis_for_a_node_without_one
    Tests/Interop/test_node_link.py::test_a_connection_with_a_wrong_token_or_no_hello_is_closed_and_logged
    Tests/Interop/test_admin.py::test_quench_speaks_the_admin_protocol_as_python_socketio_instrument_does
    Tests/Interop/test_admin.py::test_one_ui_sees_and_acts_on_two_quench_nodes_on_redis
)
# Left out of those files: tests that bound the server's resident memory per session. A sanitizer build is a
# debug build that shadows every byte and keeps freed memory in quarantine, so its RSS says nothing of quench's
# (as the soak's RSS check is off below). Named as pytest names them, from Tests/Interop (its rootdir).
MEMORY_TESTS=(
    test_polling_hold.py::test_a_held_poll_gives_back_its_header_area
)
TSAN_SUPPRESSIONS=$PWD/Tests/Sanitize/tsan.supp
LSAN_SUPPRESSIONS=$PWD/Tests/Sanitize/lsan.supp

run_one() {
    local sanitizer=$1 scratch short reports
    case $sanitizer in
        thread) short=tsan ;;
        address) short=asan ;;
        *) echo "sanitize: unknown sanitizer $sanitizer" >&2; return 64 ;;
    esac
    scratch=.build-$short
    reports=$PWD/build/sanitize/$short
    rm -rf "$reports"
    mkdir -p "$reports"
    export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$TSAN_SUPPRESSIONS"
    export ASAN_OPTIONS="detect_leaks=1 abort_on_error=0 strict_string_checks=1 detect_stack_use_after_return=1"
    export LSAN_OPTIONS="suppressions=$LSAN_SUPPRESSIONS print_suppressions=0"

    echo "sanitize $short: unit tests"
    local start=$SECONDS status=0 log=build/sanitize/$short-unit.log
    # --disable-xctest: every suite is Swift Testing; the empty XCTest run would only add libXCTest's own
    # objects still held at exit to the leak report.
    "$SWIFT" test --disable-xctest --sanitize="$sanitizer" --scratch-path "$scratch" >"$log" 2>&1 || status=$?
    tail -3 "$log"
    if [[ $status != 0 ]]; then
        grep -E -A30 'WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer' "$log" | head -80 || true
        echo "sanitize $short: unit tests FAILED (exit $status; log: $log)"
        return 1
    fi
    echo "sanitize $short: unit tests passed in $((SECONDS - start)) s"

    start=$SECONDS
    "$SWIFT" build --sanitize="$sanitizer" --scratch-path "$scratch" --product quench 2>&1 | tail -1
    local binary=$PWD/$scratch/debug/quench
    echo "sanitize $short: interop tests against $binary"
    # The server's reports go to files (quench's stderr is the tests' log, which they read line by line).
    log=build/sanitize/$short-interop.log
    status=0
    TSAN_OPTIONS="$TSAN_OPTIONS log_path=$reports/report" ASAN_OPTIONS="$ASAN_OPTIONS log_path=$reports/report" \
    QUENCH_BIN=$binary "$PYTHON" -m pytest "${INTEROP_FILES[@]}" "${MEMORY_TESTS[@]/#/--deselect=}" -q -p no:cacheprovider >"$log" 2>&1 || status=$?
    tail -15 "$log"
    [[ $status == 0 ]] || { echo "sanitize $short: interop tests FAILED"; report_findings "$short" "$reports"; return 1; }
    echo "sanitize $short: interop tests passed in $((SECONDS - start)) s"

    # The soak's churn against the same binary: thousands of sessions on both transports, abandoned
    # upgrades, reminders and a Redis restart, all threads busy at once; then SIGTERM, and the leak check
    # at exit. Its rate and RSS checks are off (a sanitizer build is slower and keeps freed memory in
    # quarantine); the sessions and descriptors must still come back.
    start=$SECONDS
    log=build/sanitize/$short-soak.log
    status=0
    TSAN_OPTIONS="$TSAN_OPTIONS log_path=$reports/report" ASAN_OPTIONS="$ASAN_OPTIONS log_path=$reports/report" \
    "$PYTHON" Tests/Soak/soak.py --seconds "$SOAK_SECONDS" --quench "$binary" --out "build/sanitize/$short-soak" \
        --min-rate 0 --rss-slack-mb 100000 >"$log" 2>&1 || status=$?
    grep '^soak: ' "$log" | tail -3
    [[ $status == 0 ]] || { echo "sanitize $short: soak FAILED (log: $log)"; report_findings "$short" "$reports"; return 1; }
    report_findings "$short" "$reports" || return 1
    echo "sanitize $short: soak of $SOAK_SECONDS s passed in $((SECONDS - start)) s, 0 reports"
}

# Prints the server's sanitizer reports, if any; fails when there is one.
report_findings() {
    local short=$1 reports=$2 found
    found=$(find "$reports" -type f -name 'report*' | wc -l)
    [[ $found == 0 ]] && return 0
    echo "sanitize $short: $found sanitizer report(s) from quench:"
    for report in "$reports"/report*; do echo "== $report"; head -60 "$report"; done
    return 1
}

sanitizers=("$@")
[[ ${#sanitizers[@]} == 0 ]] && sanitizers=(thread address)
for sanitizer in "${sanitizers[@]}"; do run_one "$sanitizer"; done
echo "sanitize: ${sanitizers[*]}: all clean"
