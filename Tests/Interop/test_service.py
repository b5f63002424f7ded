"""Running quench as a service: /healthz for load balancers and systemd's notify protocol (READY=1,
STATUS=, WATCHDOG=1 from the service loop at half of WATCHDOG_USEC, STOPPING=1). No systemd here: the test
binds the NOTIFY_SOCKET datagram socket itself and reads what quench sends, as systemd would."""

import os
import re
import signal
import socket
import subprocess
import tempfile

import pytest
import requests
import socketio

from conftest import START_DEADLINE_S, QuenchServer, _port_accepts, free_port, require_binary, wait_until


@pytest.fixture
def notify_socket():
    """An AF_UNIX datagram socket standing in for systemd's; yields (path, receive(timeout) -> str or None)."""
    directory = tempfile.mkdtemp(prefix="qn-", dir="/tmp")  # sun_path holds 108 bytes: keep it short
    path = os.path.join(directory, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)

    def receive(timeout=5.0):
        sock.settimeout(timeout)
        try:
            return sock.recv(4096).decode()
        except socket.timeout:
            return None

    yield path, receive
    sock.close()
    os.unlink(path)
    os.rmdir(directory)


def test_healthz_answers_get_and_head(start_quench):
    server = start_quench()
    r = requests.get(server.url + "/healthz", timeout=5)
    assert (r.status_code, r.text) == (200, "ok\n")
    assert r.headers["Cache-Control"] == "no-store"
    head = requests.head(server.url + "/healthz", timeout=5)
    assert head.status_code == 200 and head.content == b""
    post = requests.post(server.url + "/healthz", data=b"x", timeout=5)
    assert post.status_code == 405 and post.headers["Allow"] == "GET, HEAD"
    # Only the exact path: the page handler still owns everything else.
    assert requests.get(server.url + "/healthz/x", timeout=5).status_code == 404
    # /metrics is not served without --metrics.
    assert requests.get(server.url + "/metrics", timeout=5).status_code == 404


def test_static_does_not_shadow_healthz_or_metrics(start_quench, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>static</p>")
    (site / "healthz").write_text("a file called healthz")
    (site / "metrics").write_text("a file called metrics")
    server = start_quench("--static", site, "--metrics")
    r = requests.get(server.url + "/healthz", timeout=5)
    assert (r.status_code, r.text) == (200, "ok\n")
    m = requests.get(server.url + "/metrics", timeout=5)
    assert m.status_code == 200 and "quench_sessions" in m.text, m.text[:300]
    assert requests.get(server.url + "/", timeout=5).text == "<p>static</p>"


def test_systemd_ready_status_watchdog_and_stopping(start_quench, notify_socket):
    path, receive = notify_socket
    server = start_quench("--drain-time", "3s", env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    first = receive()
    assert first is not None and "READY=1" in first.splitlines(), first
    assert "STATUS=serving 0 sessions" in first.splitlines(), first
    # READY=1 comes once the port is bound: a connection is accepted and served.
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    # WATCHDOG=1 keeps coming (every 100 ms for WATCHDOG_USEC=0.2 s) while the loop turns.
    pings = 0
    while pings < 3:
        message = receive()
        assert message is not None, f"no WATCHDOG=1 within 5 s after {pings}; log:\n{server.log_text()}"
        pings += message == "WATCHDOG=1"

    client = socketio.Client(reconnection=False)
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    server.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: receive(0.2) == "STOPPING=1", 5, what="STOPPING=1 after SIGTERM")
    # From here the test reads no more notifications: the WATCHDOG=1 pings fill the socket's queue (10
    # datagrams by default) within a second, and quench must drop them rather than block its loop on them.
    # Draining: /healthz says 503 at once, while the connected client is still served.
    r = requests.get(server.url + "/healthz", timeout=5)
    assert (r.status_code, r.text) == (503, "stopping\n")
    assert requests.head(server.url + "/healthz", timeout=5).status_code == 503
    replies = []
    client.on("bot_message", lambda data: replies.append(data))
    client.emit("user_message", {"text": "still there?"})
    wait_until(lambda: replies, 5, what="a reply while draining")
    server.wait_for_log(r"draining: /healthz answers 503; closing 1 sessions in 3000 ms")
    # After the drain the stop proper: the client's transport is closed and quench exits 0.
    assert server.wait_exit(timeout=15) == 0
    wait_until(lambda: not client.connected, 10, what="the client disconnected by the stop")


def test_no_watchdog_pings_for_another_pid(start_quench, notify_socket):
    """WATCHDOG_PID names the process the watchdog is for (sd_watchdog_enabled(3)): not ours, no pings."""
    path, receive = notify_socket
    start_quench(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
    assert "READY=1" in receive().splitlines()
    # Status lines come every 10 s; a ping would come every 50 ms.
    message = receive(1.0)
    assert message is None or "WATCHDOG=1" not in message, message


def start_with_stderr_file(tmp_path, journal_stream):
    """quench with standard error on a file of ours; JOURNAL_STREAM set from that file's device and inode
    (as systemd sets it for a unit whose output goes to the journal), or to `journal_stream` if given."""
    port = free_port()
    log_path = tmp_path / f"stderr-{port}.log"
    log_file = open(log_path, "wb")
    info = os.fstat(log_file.fileno())
    env = dict(os.environ, JOURNAL_STREAM=journal_stream or f"{info.st_dev}:{info.st_ino}")
    argv = [require_binary(), "--host", "127.0.0.1", "--port", str(port), "--log-level", "debug"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file, env=env,
                            start_new_session=True)
    log_file.close()
    server = QuenchServer(proc, port, log_path, argv)
    wait_until(lambda: _port_accepts(port) or proc.poll() is not None, START_DEADLINE_S, what=f"quench on port {port}")
    assert proc.poll() is None, server.log_text()
    return server


def test_journal_stream_lines_carry_syslog_priorities(tmp_path):
    server = start_with_stderr_file(tmp_path, None)
    try:
        assert requests.get(server.url + "/socket.io/?EIO=3&transport=polling", timeout=5).status_code == 400
        server.wait_for_log(r"^<4>warn refused peer=127\.0\.0\.1 status=400")
        assert server.stop() == 0
        lines = server.log_text().splitlines()
        assert lines, "nothing logged"
        levels = {"error": 3, "warn": 4, "info": 6, "debug": 7}
        for line in lines:
            m = re.match(r"<(\d)>(\w+) ", line)
            assert m and levels.get(m.group(2)) == int(m.group(1)), f"line without its priority: {line!r}"
        assert any(line.startswith("<6>info listening on ") for line in lines), lines
        assert any(line.startswith("<7>debug ") for line in lines), lines
    finally:
        server.kill()


def test_another_journal_stream_gets_plain_lines(tmp_path):
    """JOURNAL_STREAM inherited by a process whose standard error is elsewhere (a redirection) is not ours."""
    server = start_with_stderr_file(tmp_path, "1:1")
    try:
        assert server.stop() == 0
        text = server.log_text()
        assert re.search(r"^info listening on ", text, re.M), text
        assert "<6>" not in text and "<7>" not in text, text
    finally:
        server.kill()
