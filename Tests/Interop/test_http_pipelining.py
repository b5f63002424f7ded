"""Pipelined HTTP/1.1 requests on one connection, and upgrades other than WebSocket: none of them may take
the service thread away from everyone else.

Two pipelined POSTs once made lws 4.1 re-deliver the first POST's completion on every turn of the service
loop (100% CPU, /healthz unanswered, SIGTERM ignored), and an `Upgrade: h2c` switched the connection to
HTTP/2, outside every deadline. Each pair of request kinds below goes down one connection back to back;
after each, /healthz must answer within a second, every request must have been answered in order or the
connection closed after the last answer (as HTTP/1.1 allows), and at the end the server is idle and exits
0 on SIGTERM."""

import random
import re
import socket
import subprocess

import pytest

from conftest import wait_until
from raw_http import (SIO, UNKNOWN_SID, cpu_used_over, exchange, get, handshake, healthz_status, poll, post)


class Kinds:
    """Every kind of request quench answers, built fresh for each pair (a valid sid is a new session).
    Each maps to (request bytes, the status or statuses it gets, whether lws reads a body for it)."""

    def __init__(self, port, closed_sid):
        self.port = port
        self.closed_sid = closed_sid

    def build(self, kind):
        port = self.port
        table = {
            "healthz": lambda: (get("/healthz"), 200, False),
            "metrics": lambda: (get("/metrics"), 200, False),
            "page": lambda: (get("/"), 200, False),
            "404": lambda: (get("/nope"), 404, False),
            "handshake": lambda: (get(SIO), 200, False),
            "get-unknown-sid": lambda: (get(poll(UNKNOWN_SID)), 400, False),
            # A sid whose client said goodbye: a noop within pingTimeout of it, unknown after.
            "get-closed-sid": lambda: (get(poll(self.closed_sid)), {200, 400}, False),
            # Held until the next ping (--ping-interval 300ms), then answered with it.
            "get-valid-sid": lambda: (get(poll(handshake(port))), 200, False),
            "post-unknown-sid": lambda: (post(poll(UNKNOWN_SID), b"40"), 400, True),
            "post-closed-sid": lambda: (post(poll(self.closed_sid), b"40"), 400, True),
            "post-valid-sid": lambda: (post(poll(handshake(port)), b"40"), 200, True),
            "post-malformed": lambda: (post(poll(handshake(port)), b"zz"), 400, True),
            "post-empty": lambda: (post(poll(handshake(port)), b""), 400, True),
            # Refused from the headers (413, closed); the body is never sent.
            "post-over-limit": lambda: (
                f"POST {poll(handshake(port))} HTTP/1.1\r\nHost: q\r\nContent-Length: 2000000\r\n\r\n".encode(), 413, True),
            "post-expect-continue": lambda: (post(poll(handshake(port)), b"40", b"Expect: 100-continue\r\n"), 200, True),
            "post-chunked": lambda: (
                f"POST {poll(handshake(port))} HTTP/1.1\r\nHost: q\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n40\r\n0\r\n\r\n".encode(),
                411, True),
        }
        data, status, has_body = table[kind]()
        return data, status if isinstance(status, set) else {status}, has_body


KINDS = ["healthz", "metrics", "page", "404", "handshake", "get-unknown-sid", "get-closed-sid", "get-valid-sid",
         "post-unknown-sid", "post-closed-sid", "post-valid-sid", "post-malformed", "post-empty", "post-over-limit",
         "post-expect-continue", "post-chunked"]


def closed_session(port):
    """The sid of a session that existed and was closed (by the client's close packet)."""
    sid = handshake(port)
    responses, _ = exchange(port, post(poll(sid), b"1"), expect=1)
    assert responses[0][0] == 200
    return sid


def check_pair(server, kinds, first, second, pieces=None):
    first_bytes, first_statuses, _ = kinds.build(first)
    second_bytes, second_statuses, second_has_body = kinds.build(second)
    data = first_bytes + second_bytes
    split = None if pieces is None else sorted(pieces(len(data)))
    responses, closed = exchange(server.port, data, expect=2, timeout=4.0, pieces=split, gap=0.005 if split else 0.0)
    context = f"{first} then {second} (split at {split}): got {[r[0] for r in responses]}, closed={closed}"
    assert responses, "no answer to the first request: " + context
    assert responses[0][0] in first_statuses, context
    if len(responses) == 2:
        # The second request is answered as on its own, or refused for a body lws cannot read pipelined.
        allowed = second_statuses | ({400} if second_has_body else set())
        assert responses[1][0] in allowed, context
    else:
        assert closed, "the second request was neither answered nor the connection closed: " + context
    assert healthz_status(server.port) == 200, "/healthz did not answer within 1 s after " + context


@pytest.fixture
def pipelining_server(start_quench):
    server = start_quench("--metrics", "--ping-interval", "300ms", "--ping-timeout", "2s")
    return server, Kinds(server.port, closed_session(server.port))


def finish(server):
    """The server is idle again and exits 0 on SIGTERM."""
    assert cpu_used_over(server.proc.pid, 1.0) < 0.3, "quench kept using CPU after the pipelined requests"
    assert server.stop() == 0, server.log_text()[-4000:]


@pytest.mark.deadline(240)
def test_every_pair_of_requests_pipelined_on_one_connection(pipelining_server):
    server, kinds = pipelining_server
    for first in KINDS:
        for second in KINDS:
            check_pair(server, kinds, first, second)
    finish(server)


@pytest.mark.deadline(120)
def test_pipelined_pairs_split_across_reads(pipelining_server):
    server, kinds = pipelining_server
    rng = random.Random(19)
    pairs = [(first, second) for first in KINDS for second in KINDS]
    for first, second in rng.sample(pairs, 64):
        check_pair(server, kinds, first, second, pieces=lambda n: rng.sample(range(1, n), min(3, n - 1)))
    finish(server)


def test_the_reported_packet_leaves_the_server_serving(start_quench):
    """The issue's reproducer: two pipelined POSTs for an unknown sid, then the connection closed."""
    server = start_quench("--log-level", "error")
    assert healthz_status(server.port) == 200
    request = post(poll(UNKNOWN_SID), b"40")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request + request)
    wait_until(lambda: healthz_status(server.port) == 200, timeout=3, what="/healthz answering after the attack")
    finish(server)


def test_pipelined_requests_are_answered_in_order(start_quench):
    server = start_quench()
    data = get("/healthz") + get("/nope") + get(SIO) + get("/healthz")
    responses, _ = exchange(server.port, data, expect=4)
    assert [status for status, _, _ in responses] == [200, 404, 200, 200]
    assert responses[2][2].startswith(b"0{")


def test_pipelined_post_with_a_body_is_refused_with_a_reason(start_quench):
    server = start_quench()
    sid = handshake(server.port)
    data = post(poll(sid), b"40") + post(poll(sid), b"40")
    responses, closed = exchange(server.port, data, expect=2)
    assert [status for status, _, _ in responses] == [200, 400] and closed
    assert b"pipelined POST with a body" in responses[1][2]
    server.wait_for_log(r"refused peer=127\.0\.0\.1 status=400 POST /socket\.io/: pipelined POST with a body")
    # The session is unharmed: the first POST connected the namespace, the refused one did nothing.
    responses, _ = exchange(server.port, get(poll(sid)), expect=1)
    assert responses[0][0] == 200 and responses[0][2].startswith(b"40{")


def test_get_with_a_body_is_answered_then_closed(start_quench):
    server = start_quench()
    responses, closed = exchange(server.port, get("/healthz", b"Content-Length: 5\r\n") + b"hello" + get("/healthz"), expect=2)
    assert [status for status, _, _ in responses] == [200] and closed
    assert healthz_status(server.port) == 200


# -- upgrades other than WebSocket ------------------------------------------------------------------------


def test_h2c_upgrade_is_answered_as_http11(start_quench):
    server = start_quench()
    settings = b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    for path in ("/healthz", SIO):
        responses, _ = exchange(server.port, get(path, settings), expect=1)
        assert responses and responses[0][0] == 200, (path, responses)
    curl = subprocess.run(["curl", "-s", "--http2", "-m", "5", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                           f"{server.url}/healthz"], capture_output=True, text=True, timeout=10)
    assert curl.stdout == "1.1 200", curl


def test_other_upgrades_are_refused_and_closed(start_quench):
    server = start_quench()
    responses, closed = exchange(server.port, get("/healthz", b"Connection: Upgrade\r\nUpgrade: foo/1\r\n"), expect=1)
    assert responses and responses[0][0] == 403 and closed


@pytest.mark.deadline(90)
def test_idle_h2c_connections_close_at_the_deadline_under_a_small_descriptor_limit(start_quench):
    """Once, an h2c upgrade kept its connection forever: 250 of them made a server with 256 descriptors
    refuse everyone. Now each is an HTTP/1.1 connection, closed after lws's 5 s keep-alive idle time."""
    server = start_quench(open_files=64)
    settings = b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    idle = []
    for _ in range(40):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(get("/healthz", settings))
        idle.append(sock)
    for sock in idle:
        sock.settimeout(5)
        assert sock.recv(12) == b"HTTP/1.1 200"

    def all_closed():
        for sock in idle:
            sock.settimeout(0.01)
            try:
                while chunk := sock.recv(65536):
                    pass
            except socket.timeout:
                return False
            except ConnectionResetError:
                pass
        return True

    wait_until(all_closed, timeout=20, what="every idle h2c connection closed by the server")
    assert healthz_status(server.port) == 200
    for sock in idle:
        sock.close()
    finish(server)
