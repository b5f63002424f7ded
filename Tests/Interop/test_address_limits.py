"""Per-address limits with real hostile clients: one address (127.0.0.2, the client socket bound to it) runs
into its session bound and its handshake rate and gets 429 with Retry-After and a JSON reason, for polling
and WebSocket handshakes alike, while a python-socketio client on 127.0.0.1 connects as if nothing were
happening; thousands of refusals write a handful of log lines and are counted in /metrics. Behind
--trusted-proxies the address is the one the proxy names in X-Forwarded-For or Forwarded."""

import json
import re
import socket
import threading

from interop_helpers import CONNECTED, SioClient, reply_re
from raw_http import SIO, get, read_responses
from test_metrics import metric

HOSTILE = "127.0.0.2"
MESSAGES = {"sessions_per_address": "Too many sessions from this address", "handshake_rate": "Too many handshakes from this address"}


def connect_from(server, source):
    return socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=(source, 0))


def handshakes(server, source, count, batch=50, extra=b"", until=None):
    """`count` polling handshakes pipelined on one keep-alive connection from `source` (and more, while
    the event `until` is not set): their responses."""
    responses = []
    with connect_from(server, source) as sock:
        while len(responses) < count or (until is not None and not until.is_set()):
            n = min(batch, count - len(responses)) if len(responses) < count else batch
            sock.sendall(get(SIO, extra) * n)
            got, closed = read_responses(sock, expect=n, timeout=10)
            assert len(got) == n and not closed, f"{len(got)} of {n} responses, closed={closed}"
            responses += got
    return responses


def websocket_handshake(server, source, extra=b""):
    """A WebSocket handshake from `source`: (status, headers, body) of the answer."""
    request = get(
        "/socket.io/?EIO=4&transport=websocket",
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra)
    with connect_from(server, source) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, f"closed without an answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        status = int(lines[0].split()[1])
        if status == 101:
            return status, headers, b""
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
        return status, headers, body[:length]


def assert_refusal(status, headers, body, causes=MESSAGES):
    assert status == 429, (status, body)
    assert int(headers["retry-after"]) >= 1, headers
    reason = json.loads(body)
    assert reason["code"] == 429 and reason["message"] in causes.values(), reason
    return next(cause for cause, message in causes.items() if message == reason["message"])


def test_one_address_over_its_bounds_gets_429_while_another_connects(start_quench):
    server = start_quench("--metrics", "--max-sessions-per-address", 100, "--handshake-rate", 20, "--handshake-burst", 300)
    before = len(server.log_text())
    results = {}
    client_done = threading.Event()

    def hostile():
        # At least 3,000 handshakes, and on until the ordinary client below is done.
        results["polling"] = handshakes(server, HOSTILE, 3000, until=client_done)

    attacker = threading.Thread(target=hostile)
    attacker.start()
    # At the same moment, an ordinary client on 127.0.0.1 connects, talks and is answered.
    client = SioClient(server).connect(transports=None)  # long-polling first, then the upgrade
    try:
        assert client.get(client.system, timeout=10) == CONNECTED
        client.sio.emit("user_message", {"text": "still here"})
        assert reply_re("still here").match(client.get(client.bot, timeout=10)["text"])
        assert client.sio.transport() == "websocket"
    finally:
        client_done.set()
        client.disconnect()
    attacker.join(timeout=60)
    assert not attacker.is_alive()

    polling = results["polling"]
    admitted = [r for r in polling if r[0] == 200]
    refused = [r for r in polling if r[0] != 200]
    assert len(polling) >= 3000
    # The session bound holds exactly: 100 sessions, then refusals, first for sessions, then for the rate.
    assert len(admitted) == 100 and all(body.startswith(b"0{") for _, _, body in admitted)
    assert all(r[0] == 200 for r in polling[:100])
    causes = [assert_refusal(*r) for r in refused]
    assert causes[0] == "sessions_per_address" and int(refused[0][1]["retry-after"]) == 45  # pingInterval + pingTimeout
    assert "handshake_rate" in causes, f"{len(polling)} handshakes with a burst of 300 and 20/s never reached the rate"

    # A WebSocket handshake from the same address is refused before the upgrade, the same way.
    status, headers, body = websocket_handshake(server, HOSTILE)
    causes.append(assert_refusal(status, headers, body))
    # …while one from 127.0.0.1 is upgraded.
    assert websocket_handshake(server, "127.0.0.1")[0] == 101

    # Thousands of refusals, a handful of lines: one when the episode began.
    lines = re.findall(r"^warn refused peer=127\.0\.0\.2 status=429 .*$", server.log_text()[before:], re.M)
    assert 1 <= len(lines) <= 3, lines
    assert "cause=sessions_per_address" in lines[0] and "Retry-After: 45" in lines[0]
    grown = len(server.log_text()) - before
    assert grown < 40_000, f"the log grew by {grown} bytes"  # 100 open lines of ~70 bytes, the client's lines, the refusals' few
    assert len(re.findall(r"info open sid=\S+ peer=127\.0\.0\.2 ", server.log_text())) == 100

    # /metrics counts each refusal by its cause.
    for cause in MESSAGES:
        assert metric(server, "quench_address_refused_total", cause=cause) == causes.count(cause), cause
    assert metric(server, "quench_http_refused_total", status="429") == len(causes)
    assert metric(server, "quench_address_table_entries") == 2
    assert metric(server, "quench_address_table_evictions_total") == 0


def test_trusted_proxies_name_the_client_and_others_do_not(start_quench):
    server = start_quench("--metrics", "--max-sessions-per-address", 3, "--trusted-proxies", "127.0.0.1/32,10.0.0.0/8")
    xff = lambda value: b"X-Forwarded-For: " + value.encode() + b"\r\n"  # noqa: E731

    # From the trusted proxy (127.0.0.1), each forwarded client has its own bound.
    first = handshakes(server, "127.0.0.1", 4, extra=xff("198.51.100.7, 203.0.113.1"))
    assert [r[0] for r in first] == [200, 200, 200, 429]
    assert assert_refusal(*first[3]) == "sessions_per_address"
    assert [r[0] for r in handshakes(server, "127.0.0.1", 3, extra=xff("203.0.113.2"))] == [200, 200, 200]
    # Trusted hops are skipped: the right-most that is not a proxy is the client (here 203.0.113.1, full).
    assert handshakes(server, "127.0.0.1", 1, extra=xff("203.0.113.1, 10.9.9.9"))[0][0] == 429
    # Forwarded (RFC 7239) when there is no X-Forwarded-For, IPv6 included (grouped by its /64).
    forwarded = b'Forwarded: for="[2001:db8:1:2::1]:4711";proto=http\r\n'
    assert [r[0] for r in handshakes(server, "127.0.0.1", 3, extra=forwarded)] == [200, 200, 200]
    other_host = b'Forwarded: for="[2001:db8:1:2:ffff::9]"\r\n'
    assert handshakes(server, "127.0.0.1", 1, extra=other_host)[0][0] == 429
    # The WebSocket handshake is judged by the forwarded address too.
    assert assert_refusal(*websocket_handshake(server, "127.0.0.1", xff("203.0.113.1"))) == "sessions_per_address"
    assert websocket_handshake(server, "127.0.0.1", xff("203.0.113.3"))[0] == 101

    # From an address that is not a proxy the header is ignored: 127.0.0.2 claiming to be the full
    # 203.0.113.1 is admitted, and counted (and logged) as itself.
    spoofed = handshakes(server, HOSTILE, 4, extra=xff("203.0.113.1"))
    assert [r[0] for r in spoofed] == [200, 200, 200, 429]

    log = server.log_text()
    assert len(re.findall(r"info open sid=\S+ peer=203\.0\.113\.1 transport=polling", log)) == 3
    assert len(re.findall(r"info open sid=\S+ peer=203\.0\.113\.2 transport=polling", log)) == 3
    assert len(re.findall(r"info open sid=\S+ peer=2001:db8:1:2::1 transport=polling", log)) == 3
    assert len(re.findall(r"info open sid=\S+ peer=127\.0\.0\.2 transport=polling", log)) == 3
    assert re.search(r"^warn refused peer=203\.0\.113\.1 status=429 cause=sessions_per_address address 203\.0\.113\.1:", log, re.M)
    assert re.search(r"^warn refused peer=2001:db8:1:2:ffff::9 status=429 .*address 2001:db8:1:2::/64:", log, re.M)
    assert re.search(r"^warn refused peer=127\.0\.0\.2 status=429 ", log, re.M)
    assert not re.search(r"peer=127\.0\.0\.1 ", log), "a forwarded request was logged as the proxy's"
    assert metric(server, "quench_address_refused_total", cause="sessions_per_address") == 5
