"""Descriptor exhaustion: 400 idle TCP connections against a 256-descriptor limit.

Before the fix quench spun a core in accept() (EMFILE, retried at once) and logged `accept: errno 24`
tens of thousands of times a second. Now, past the open-files limit less a reserve, it turns new
connections away and stops polling its listening socket until some close: one log line when that
begins, one when it is over, no busy loop, and service resumes by itself.
"""

import os
import socket
import time

from conftest import wait_until
from interop_helpers import SioClient

OPEN_FILES = 256
IDLE_CONNECTIONS = 400
WINDOW_S = 2.0


def cpu_seconds(pid) -> float:
    """utime + stime of the process, from /proc/PID/stat (fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_connections_past_the_descriptor_limit_neither_spin_nor_flood_the_log(start_quench):
    server = start_quench("--log-level", "info", open_files=OPEN_FILES)
    idle = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            sock = socket.socket()
            sock.setblocking(False)
            try:
                sock.connect(("127.0.0.1", server.port))
            except BlockingIOError:
                pass  # completes in the kernel's listen queue whether or not quench accepts it
            idle.append(sock)
        server.wait_for_log(r"warn descriptor limit: \d+ connections .*turning new ones away")

        # While the surplus waits in the listen queue, quench is idle: it is not retrying accept().
        before = cpu_seconds(server.proc.pid)
        started = time.monotonic()
        wait_until(lambda: time.monotonic() - started >= WINDOW_S, WINDOW_S + 5, what="the measuring window")
        used = cpu_seconds(server.proc.pid) - before
        elapsed = time.monotonic() - started
        assert used < elapsed / 2, f"quench used {used:.2f} s of CPU in {elapsed:.2f} s with idle connections at the limit"

        log = server.log_text()
        assert log.count("accept: errno") <= 3, f"accept failures flood the log:\n{log[-3000:]}"
        assert len([line for line in log.splitlines() if "descriptor limit:" in line and "turning new ones away" in line]) == 1
    finally:
        for sock in idle:
            sock.close()

    # The idle connections are gone: service resumes by itself, and says so once.
    server.wait_for_log(r"info descriptor limit: \d+ connections, accepting again \(\d+ turned away meanwhile\)")
    client = SioClient(server)
    try:
        client.connect(transports=("polling",))
        assert client.get(client.system, what="system_message") == {"text": "Connected to server"}
    finally:
        client.disconnect()
    assert server.running()
