"""Long-polling details that depend on the lws binding: a GET held longer than lws's own 5 s request
timeout, keep-alive across polls, listening only where --host says, and a held GET's header area."""

import http.client
import json
import re
import shutil
import socket
import subprocess

import pytest

from interop_helpers import explain, run_bench


def handshake(conn):
    conn.request("GET", "/socket.io/?EIO=4&transport=polling")
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 200 and body.startswith("0{")
    return json.loads(body[1:])["sid"]


def begin_raw_post(server):
    """A new session, then a POST to it on a fresh connection with only its request line sent, so the test
    writes the headers and body it wants to get refused."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    sid = handshake(conn)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    return conn


def test_held_get_outlives_lws_request_timeout_and_gets_the_ping(start_quench):
    server = start_quench("--ping-interval", "7s", "--ping-timeout", "2s")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    sid = handshake(conn)
    # One keep-alive connection: the same socket carries the handshake and the held poll.
    conn.request("GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    response = conn.getresponse()
    assert response.status == 200
    assert response.read() == b"2"  # the ping, after 7 s: longer than lws's 5 s content timeout
    conn.request("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", body=b"3")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"ok")
    # The pong counted: the session outlives that ping's deadline (2 s after it) and the next GET, held
    # another 7 s, gets the next ping rather than a close packet or an unknown-session 400.
    conn.request("GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"2")
    conn.close()
    assert not re.search(r"\bclose sid=" + re.escape(sid), server.log_text()), server.log_text()


def test_idle_keep_alive_connection_is_still_closed_by_the_server(start_quench):
    """quench, not lws, times a keep-alive connection waiting for its next request (lws's sorted timeout
    list cost a polling reply dearly, issue 26): one left idle after a response is still closed, as lws
    closed it, after its 5 s keep-alive time, and the server serves on."""
    server = start_quench()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: quench\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received or not received.split(b"\r\n\r\n", 1)[1].startswith(b"0{"):
        chunk = sock.recv(4096)
        assert chunk, f"closed before the handshake's answer: {received!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    sock.settimeout(20)  # the keep-alive time, the once-a-second sweep, and a loaded machine's slack
    try:
        rest = sock.recv(4096)
    except socket.timeout:
        pytest.fail("the idle keep-alive connection was never closed")
    except ConnectionResetError:
        rest = b""
    assert rest == b"", rest
    sock.close()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    handshake(conn)
    conn.close()


def test_post_without_content_length_is_refused_not_hung(start_quench):
    server = start_quench()
    conn = begin_raw_post(server)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"2\r\n40\r\n0\r\n\r\n")
    response = conn.getresponse()
    assert response.status == 411
    conn.close()
    server.wait_for_log(r"status=411")


def test_oversize_post_is_413_before_the_body_is_read(start_quench):
    server = start_quench("--max-payload", "1000")
    conn = begin_raw_post(server)
    conn.putheader("Content-Length", "5000000")
    conn.endheaders()
    response = conn.getresponse()  # answered without sending the 5 MB
    assert response.status == 413
    assert b"Payload too large" in response.read()
    conn.close()


@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) not installed")
def test_ipv4_host_listens_on_that_address_only(start_quench):
    server = start_quench()
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True, timeout=10).stdout
    assert f"127.0.0.1:{server.port}" in listening, listening
    assert "[::]" not in listening and "*:" not in listening, listening


def test_a_held_poll_gives_back_its_header_area(start_quench):
    """lws attaches a header area (32 KiB, the header limits) to each request while it parses it. A GET held for
    a whole poll gives it back once quench has read the request (issue 26): with it held, 1,000 clients each
    waiting on a GET grew the server by 10 KiB a session; without, by 3.5 KiB."""
    clients = 1000
    server = start_quench("--log-level", "warn", "--max-sessions-per-address", "1000000", "--handshake-rate", "1000000",
                          "--handshake-burst", "1000000")
    proc, fields = run_bench(server.url, "--transport", "polling", "--mode", "idle", "--clients", clients, "--duration", 1,
                             "--pid", server.proc.pid)
    assert proc.returncode == 0 and fields["connected"] == str(clients) and fields["failures"] == "0", explain(proc)
    assert float(fields["kib_per_session"]) < 6, explain(proc)
    assert server.running()
