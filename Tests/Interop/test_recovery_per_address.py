"""Recovery that a stranger cannot evict: with --recovery-window, kept sessions are bounded per client address
(--max-sessions-per-address) before the namespace's total, so one address churning join-and-drop sessions
replaces only its own, and a client on another address still comes back with its sid."""

import re
import socket
import struct

import pytest

from hostile_ws import RawWebSocket
from test_metrics import metric, wait_metric
from test_recovery import next_event, raw_connect

CHURNER = "127.0.0.2"
BOUND = 100


def join_and_drop(server):
    """A WebSocket from 127.0.0.2 that joins `/`, reads its CONNECT reply and resets the connection."""
    ws = RawWebSocket(server.port, rcvbuf=65536, source=CHURNER)
    opcode, payload = ws.read_frame()
    assert opcode == 0x1 and payload.startswith(b"0{"), payload
    assert ws.send_text("40")
    while True:
        opcode, payload = ws.read_frame()
        assert opcode is not None, "closed before the CONNECT reply"
        if payload.startswith(b"40"):
            break
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset: a dropped client
    ws.sock.close()


@pytest.mark.deadline(120)
def test_one_address_churning_cannot_push_out_another_addresss_kept_session(start_quench):
    server = start_quench(
        "--metrics", "--recovery-window", "60s", "--max-sessions-per-address", BOUND,
        "--handshake-rate", 100000, "--handshake-burst", 100000)
    client, data = raw_connect(server)  # 127.0.0.1
    sid, pid = data["sid"], data["pid"]
    welcome = next_event(client)
    mark = server.log_mark()
    client.abort()
    server.wait_for_log(rf'disconnect sid={re.escape(sid)} reason="transport (close|error)"', since=mark)

    churn = 10 * BOUND
    for _ in range(churn):
        join_and_drop(server)
    wait_metric(server, "quench_recovery_sessions_dropped_per_address_total", lambda v: v == churn - BOUND,
                "to count the churning address's own oldest, dropped at its bound", timeout=30, namespace="/")
    assert metric(server, "quench_recovery_sessions_kept", namespace="/") == BOUND + 1
    assert metric(server, "quench_recovery_sessions_dropped_total", namespace="/") == 0
    lines = re.findall(r"^warn recovery: " + str(BOUND) + r" dropped sessions kept for address 127\.0\.0\.2 in namespace /; "
                       r"that address's oldest went, other addresses' are untouched.*$", server.log_text(), re.M)
    assert 1 <= len(lines) <= 5, lines  # throttled per address: not one line per drop

    back, again = raw_connect(server, {"pid": pid, "offset": welcome[-1]})
    assert again == {"sid": sid, "pid": pid}, again
    server.wait_for_log(rf"info recovered sid={re.escape(sid)} ")
    back.close()
