"""Logs a client cannot flood: a line a client can cause at will is written a few times per address (or per
session) and window, then counted, and the count reaches the next line and /metrics; ordinary traffic, many
clients each doing a thing once, is still logged line by line."""

import re
import socket

from interop_helpers import EioWS
from raw_http import UNKNOWN_SID, get, poll, read_responses
from test_metrics import metric


def test_a_dead_sid_asked_for_in_a_loop_writes_a_few_lines_and_a_count(start_quench):
    server = start_quench("--metrics")
    before = len(server.log_text())
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        for _ in range(40):  # 40 batches of 50 pipelined GETs: 2,000 refusals on one keep-alive connection
            sock.sendall(get(poll(UNKNOWN_SID)) * 50)
            responses, closed = read_responses(sock, expect=50, timeout=5)
            assert len(responses) == 50 and all(status == 400 for status, _, _ in responses) and not closed
    grown = len(server.log_text()) - before
    lines = re.findall(r'refused peer=127\.0\.0\.1 status=400 code=1 "Session ID unknown"', server.log_text())
    assert len(lines) <= 5, f"{len(lines)} refusal lines for one address in one window"
    assert grown < 5_000, f"the log grew by {grown} bytes for 2,000 refusals"
    assert metric(server, "quench_log_lines_suppressed_total") >= 1995


def test_a_client_cycling_a_namespace_gets_a_summary_not_a_line_per_cycle(start_quench):
    server = start_quench()
    ws = EioWS(server)
    ws.open_packet()
    for _ in range(500):
        ws.send("40")
        ws.send("41")
    ws.send("40")
    # The last CONNECT is answered, so every cycle before it was handled.
    while not ws.recv_text(timeout=5).startswith("40{"):
        pass
    connects = re.findall(r"\binfo connect sid=", server.log_text())
    assert 1 <= len(connects) <= 6, f"{len(connects)} connect lines for one client cycling 500 times"
    ws.close()


def test_many_clients_of_one_address_each_get_their_lines(start_quench):
    server = start_quench()
    clients = []
    for _ in range(50):
        ws = EioWS(server)
        ws.open_packet()
        ws.send("40")
        clients.append(ws)
    server.wait_for_log_count(r"\binfo connect sid=", 50)
    for ws in clients:
        ws.close()
    server.wait_for_log_count(r'\binfo disconnect sid=\S+ reason="(client namespace disconnect|transport close)"', 50)
    server.wait_for_log_count(r"\binfo close sid=\S+ peer=127\.0\.0\.1 transport=websocket", 50)


def test_a_standard_error_nobody_reads_does_not_stall_the_server(tmp_path):
    """quench's standard error is a pipe whose reader has stopped: once the pipe is full, a write would
    block. The log's own thread takes that wait (holding up to 4 MiB of lines meanwhile); the service
    thread goes on serving, and once the pipe is read again every line comes out. (Past 4 MiB lines are
    dropped and counted: BackgroundLogSinkTests.)"""
    import os
    import subprocess
    from conftest import free_port, require_binary, wait_until
    from raw_http import SIO, exchange, healthz_status

    port = free_port()
    read_end, write_end = os.pipe()
    # 3,000 handshakes at once from one address are past the default handshake burst: lifted here.
    proc = subprocess.Popen([require_binary(), "--host", "127.0.0.1", "--port", str(port), "--reminder-interval", "0",
                             "--handshake-burst", "5000"],
                            stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end)
    os.close(write_end)
    try:
        wait_until(lambda: healthz_status(port, 0.5) == 200, 10, what="quench answering")
        # Each handshake writes an `open` line: 3,000 of them are far more than a 64 KiB pipe holds.
        for _ in range(30):
            responses, _ = exchange(port, get(SIO) * 100, expect=100, timeout=10)
            assert len(responses) == 100 and all(status == 200 for status, _, _ in responses)
        assert healthz_status(port, 1.0) == 200
        os.set_blocking(read_end, False)
        text = b""

        def every_open_line():
            nonlocal text
            try:
                while chunk := os.read(read_end, 65536):
                    text += chunk
            except BlockingIOError:
                pass
            return len(re.findall(rb"info open sid=", text)) >= 3000

        wait_until(every_open_line, 10, what="all 3,000 open lines once the pipe is read")
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        os.close(read_end)
