"""quench-bench, the load tool, over both transports: against a real quench it connects every client,
checks every reply and answers pings; against servers that answer differently it scores zero and exits
non-zero, so a fast wrong server can never look good in BENCHMARKS.md.

A scripted raw HTTP server checks the polling client's wire format: the handshake answered in pieces,
the exact POST it sends, a non-200 reported with status and body, chunked bodies joined (trailers refused).

The wrong servers are quench-conformance (its /socket.io/ app greets with `auth`, not the welcome) and
python-socketio on aiohttp running the chat app with one byte-level slip in the reply; the same python
app without the slip must pass, so the failure is the slip and nothing else. Readiness is polled, never
slept for; the assertions are about behaviour (exit status, failures, replies, reminders), not timings.
"""

import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pytest

from conformance_support import conformance  # noqa: F401
from conftest import POLL_S, REPO_ROOT, START_DEADLINE_S, _port_accepts, free_port
from interop_helpers import BENCH_BIN, explain, run_bench

TRANSPORTS = ["websocket", "polling"]
#: quench-bench's rtt clients send as fast as replies come (hundreds a second each): the per-client event
#: budget (--event-rate, 50 a second by default) is lifted, as `make bench` does, or it would be measured.
UNLIMITED = ("--event-rate", "1000000", "--event-burst", "1000000")
CLIENTS = 5

# The seed's chat app on python-socketio + aiohttp (which serves both WebSocket and polling with
# Content-Length). argv: PORT and "right" or "wrong"; "wrong" drops the seconds from the reply's clock.
# "once" and "twice" also send the reminder at every whole second, once or (wrongly) twice.
PYTHON_CHAT_APP = r"""
import asyncio, sys, time
from aiohttp import web
import socketio

port, flavour = int(sys.argv[1]), sys.argv[2]
sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
app = web.Application()
sio.attach(app)

@sio.event
async def connect(sid, environ, auth=None):
    await sio.emit("system_message", {"text": "Connected to server"}, to=sid)

@sio.on("user_message")
async def user_message(sid, data):
    clock = time.strftime("%H:%M:%S" if flavour == "right" else "%H:%M")
    await sio.emit("bot_message", {"text": f"{data['text']} rcvd at {clock} (dummy reply)"}, to=sid)

async def remind():
    while True:
        await asyncio.sleep(1 - time.time() % 1)
        for _ in range(2 if flavour == "twice" else 1):
            await sio.emit("bot_message", {"text": "Remember to stay hydrated! It's " + time.strftime("%H:%M")})

async def start_reminders(app):
    if flavour in ("once", "twice"):
        app["reminders"] = asyncio.create_task(remind())

app.on_startup.append(start_reminders)
web.run_app(app, host="127.0.0.1", port=port, print=None)
"""


@pytest.fixture
def python_chat_app(tmp_path):
    """Factory: python_chat_app("right" | "wrong") -> port of a running python-socketio chat app."""
    script = tmp_path / "chat_app.py"
    script.write_text(PYTHON_CHAT_APP)
    started = []

    def _start(flavour):
        for _ in range(3):  # a free port can be taken between pick and bind
            port = free_port()
            log = open(tmp_path / f"chat-app-{port}.log", "wb")
            proc = subprocess.Popen(
                [sys.executable, str(script), str(port), flavour],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            log.close()
            started.append(proc)
            deadline = time.monotonic() + START_DEADLINE_S
            while time.monotonic() < deadline and proc.poll() is None:
                if _port_accepts(port):
                    return port
                time.sleep(POLL_S)
            if proc.poll() is None:
                pytest.fail(f"python chat app did not accept TCP on {port}; log:\n{(tmp_path / f'chat-app-{port}.log').read_text()}")
        pytest.fail(f"python chat app exited at start; log:\n{(tmp_path / f'chat-app-{port}.log').read_text()}")

    yield _start
    for proc in started:
        proc.kill()
        proc.wait(timeout=5)


# -- against quench ----------------------------------------------------------------------------------


@pytest.mark.parametrize("recovery", ["0", "2m"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rtt_against_quench_connects_everyone_and_every_reply_passes(start_quench, transport, recovery):
    # With --recovery-window every event ends with an offset argument; the replies are checked all the same.
    server = start_quench("--log-level", "warn", *UNLIMITED, "--recovery-window", recovery)
    proc, fields = run_bench(server.ws_base, "--transport", transport, "--clients", CLIENTS, "--duration", 1)
    assert proc.returncode == 0, explain(proc)
    assert fields["transport"] == transport
    assert fields["connected"] == str(CLIENTS) and fields["failures"] == "0", explain(proc)
    assert float(fields["replies_per_s"]) > 0, explain(proc)


def test_rtt_with_the_msgpack_parser_checks_every_reply(start_quench):
    """quench --parser msgpack: the bench writes msgpack packets and judges the replies as it does JSON's."""
    server = start_quench("--log-level", "warn", *UNLIMITED, "--parser", "msgpack")
    proc, fields = run_bench(server.ws_base, "--parser", "msgpack", "--clients", CLIENTS, "--duration", 1)
    assert proc.returncode == 0, explain(proc)
    assert fields["connected"] == str(CLIENTS) and fields["failures"] == "0", explain(proc)
    assert float(fields["replies_per_s"]) > 0, explain(proc)
    # The same bench speaking JSON to a msgpack server fails every client: the check is real.
    proc, fields = run_bench(server.ws_base, "--clients", 2, "--duration", 1)
    assert proc.returncode != 0 and fields.get("failures") == "2", explain(proc)


def test_wss_against_quench_with_tls_connects_everyone_and_every_reply_passes(start_quench, tmp_path):
    """wss:// (issue 26: the TLS floor's comparison): an lws client context with TLS, the self-signed
    certificate taken as it is; polling over TLS is refused with a clear error."""
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    server = start_quench("--log-level", "warn", *UNLIMITED, "--tls-cert", str(cert), "--tls-key", str(key))
    proc, fields = run_bench(f"wss://127.0.0.1:{server.port}", "--clients", CLIENTS, "--duration", 1)
    assert proc.returncode == 0, explain(proc)
    assert fields["transport"] == "websocket"
    assert fields["connected"] == str(CLIENTS) and fields["failures"] == "0", explain(proc)
    assert float(fields["replies_per_s"]) > 0, explain(proc)
    # Plain ws:// to the TLS port fails every client rather than passing.
    proc, fields = run_bench(f"ws://127.0.0.1:{server.port}", "--clients", 2, "--duration", 0.5)
    assert proc.returncode != 0 and fields.get("connected", "0") == "0", explain(proc)
    refused = subprocess.run([BENCH_BIN, "--url", f"wss://127.0.0.1:{server.port}", "--transport", "polling"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "polling over TLS is not supported" in refused.stderr, refused.stderr


def test_http_url_means_polling_unless_told_otherwise(start_quench):
    server = start_quench("--log-level", "warn", *UNLIMITED)
    proc, fields = run_bench(server.url, "--clients", 2, "--duration", 0.5)
    assert proc.returncode == 0, explain(proc)
    assert fields["transport"] == "polling" and fields["failures"] == "0"
    proc, fields = run_bench(server.url, "--transport", "websocket", "--clients", 2, "--duration", 0.5)
    assert proc.returncode == 0, explain(proc)
    assert fields["transport"] == "websocket" and fields["failures"] == "0"


def test_idle_polling_clients_answer_pings(start_quench):
    # Pings every 300 ms with 300 ms to answer: a client that did not answer (a POST of `3`) would be
    # dropped several times over during the 2 s hold, and its next GET would fail the run.
    server = start_quench(*UNLIMITED, "--ping-interval", "300ms", "--ping-timeout", "300ms")
    proc, fields = run_bench(server.url, "--transport", "polling", "--mode", "idle", "--clients", CLIENTS, "--duration", 2)
    assert proc.returncode == 0, explain(proc)
    assert fields["connected"] == str(CLIENTS) and fields["failures"] == "0", explain(proc)
    # The premise: these settings do drop a silent client. Once the bench has closed its sockets, every
    # session ends by ping timeout.
    server.wait_for_log_count(r'close sid=\S+ .*transport=polling reason="ping timeout"', CLIENTS)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fanout_reaches_every_client(start_quench, transport):
    server = start_quench("--log-level", "warn", *UNLIMITED, "--reminder-interval", "1s")
    # A 1.5 s window holds a whole-second boundary at least 0.5 s before its end. Boundaries while clients
    # were still connecting, or just before the window closed, may reach only some: one must reach all.
    proc, fields = run_bench(
        server.ws_base, "--transport", transport, "--mode", "fanout", "--reminder-interval", 1, "--clients", CLIENTS, "--duration", 1.5
    )
    assert proc.returncode == 0, explain(proc)
    assert fields["failures"] == "0", explain(proc)
    reached = [int(boundary.split(":")[1]) for boundary in fields["reminders"].split(",")]
    assert max(reached) == CLIENTS, explain(proc)


def test_paced_clients_report_the_replies_in_flight_after_each_boundary(start_quench):
    # --think-ms paces each client; with --reminder-interval the replies in flight within a second after a
    # boundary are reported on their own, and a client still waiting at the end would count as unanswered.
    server = start_quench("--log-level", "warn", *UNLIMITED, "--reminder-interval", "1s")
    proc, fields = run_bench(server.ws_base, "--clients", CLIENTS, "--duration", 2.5, "--think-ms", 10, "--reminder-interval", 1)
    assert proc.returncode == 0, explain(proc)
    assert fields["failures"] == "0" and fields["unanswered"] == "0", explain(proc)
    assert int(fields["fanout_replies"]) > 0 and float(fields["fanout_p99_ms"]) > 0, explain(proc)
    # Paced: at most one message per client per 10 ms (plus the first), however fast the server answers.
    assert int(fields["replies"]) <= CLIENTS * (2.5 / 0.010 + 1), explain(proc)


@pytest.mark.parametrize("args", [("--transport", "polling"), ("--mode", "idle")])
def test_think_ms_is_refused_outside_rtt_over_websocket(args):
    proc = subprocess.run([BENCH_BIN, "--think-ms", "10", *args], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 64 and "--think-ms is for --mode rtt over WebSocket" in proc.stderr, explain(proc)


# -- against servers that answer differently -----------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_second_reminder_for_one_boundary_fails_the_client(python_chat_app, transport):
    # The same app reminding once per second passes; reminding twice, every client fails on its second one.
    for flavour, clean in (("once", True), ("twice", False)):
        port = python_chat_app(flavour)
        proc, fields = run_bench(f"ws://127.0.0.1:{port}", "--transport", transport, "--mode", "fanout",
                                 "--reminder-interval", 1, "--clients", CLIENTS, "--duration", 2.5)
        if clean:
            assert proc.returncode == 0 and fields["failures"] == "0", explain(proc)
        else:
            assert proc.returncode != 0 and int(fields["failures"]) > 0, explain(proc)
            assert "a second reminder for the boundary at " in proc.stdout, explain(proc)



@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_different_app_scores_zero(conformance, transport):  # noqa: F811
    proc, fields = run_bench(conformance.ws_base, "--transport", transport, "--clients", CLIENTS, "--duration", 0.5)
    assert proc.returncode != 0, explain(proc)
    assert int(fields["failures"]) > 0 and fields["connected"] == "0", explain(proc)
    assert float(fields["replies_per_s"]) == 0
    assert 'unexpected frame: 42["auth"' in proc.stdout, explain(proc)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_python_socketio_chat_app_passes(python_chat_app, transport):
    port = python_chat_app("right")
    proc, fields = run_bench(f"ws://127.0.0.1:{port}", "--transport", transport, "--clients", CLIENTS, "--duration", 1)
    assert proc.returncode == 0, explain(proc)
    assert fields["failures"] == "0" and float(fields["replies_per_s"]) > 0, explain(proc)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_reply_off_by_a_few_bytes_scores_zero(python_chat_app, transport):
    port = python_chat_app("wrong")
    proc, fields = run_bench(f"ws://127.0.0.1:{port}", "--transport", transport, "--clients", CLIENTS, "--duration", 1)
    assert proc.returncode != 0, explain(proc)
    # Every client connects (the greeting is right), then fails on its first reply: none is counted.
    assert fields["connected"] == str(CLIENTS) and fields["failures"] == str(CLIENTS), explain(proc)
    assert float(fields["replies_per_s"]) == 0
    assert "wrong reply: " in proc.stdout, explain(proc)


# -- the polling client's HTTP, against a scripted server -----------------------------------------------

HANDSHAKE_BODY = b'0{"sid":"scripted_sid-1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
UNKNOWN_SID = b'{"code":1,"message":"Session ID unknown"}'


class ScriptedEngineIO(socketserver.ThreadingTCPServer):
    """Answers the polling handshake (in pieces, or chunked), refuses the first POST with a 400, holds GETs."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, flavour):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.flavour = flavour
        self.requests = []  # (head, body) of every request, in arrival order
        self.lock = threading.Lock()


class ScriptedHandler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffered) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            body, buffered = buffered[:length], buffered[length:]
            with self.server.lock:
                self.server.requests.append((head.decode(), body))
            if head.startswith(b"GET ") and b"&sid=" not in head:
                self.handshake(conn)
            elif head.startswith(b"POST "):
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(UNKNOWN_SID) + UNKNOWN_SID)
            # a GET with a sid is held: never answered

    def handshake(self, conn):
        if self.server.flavour == "chunked":
            # Three chunks (one size in upper-case hex, one with an extension), sent in two reads that split a
            # chunk: the client must join them into the one handshake body.
            a, b, c = HANDSHAKE_BODY[:10], HANDSHAKE_BODY[10:40], HANDSHAKE_BODY[40:]
            response = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + b"%x\r\n" % len(a) + a + b"\r\n" + b"%X;x=y\r\n" % len(b) + b + b"\r\n"
                        + b"%x\r\n" % len(c) + c + b"\r\n0\r\n\r\n")
            conn.sendall(response[:70])
            time.sleep(0.02)
            conn.sendall(response[70:])
            return
        if self.server.flavour == "trailer":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % len(HANDSHAKE_BODY) + HANDSHAKE_BODY
                         + b"\r\n0\r\nX-Trailer: 1\r\n\r\n")
            return
        # Header names in odd case, and the response cut mid-header and mid-body: the client must
        # put it back together from several reads. The pauses only make the pieces separate reads.
        response = b"HTTP/1.1 200 OK\r\nCONTENT-type: text/plain\r\ncontent-LENGTH: %d\r\n\r\n" % len(HANDSHAKE_BODY) + HANDSHAKE_BODY
        for start, end in ((0, 20), (20, 60), (60, 90), (90, len(response))):
            conn.sendall(response[start:end])
            time.sleep(0.02)


@pytest.fixture
def scripted_server():
    servers = []

    def _start(flavour):
        server = ScriptedEngineIO(flavour)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_polling_client_reassembles_responses_and_reports_http_errors(scripted_server):
    server = scripted_server("pieces")
    port = server.server_address[1]
    proc, fields = run_bench(f"http://127.0.0.1:{port}", "--clients", 2, "--duration", 0.5)
    assert proc.returncode != 0, explain(proc)
    assert fields["connected"] == "0" and fields["failures"] == "2", explain(proc)
    assert 'POST: HTTP 400: {"code":1,"message":"Session ID unknown"}' in proc.stdout, explain(proc)
    with server.lock:
        posts = [(head, body) for head, body in server.requests if head.startswith("POST ")]
        polls = [head for head, _ in server.requests if head.startswith("GET ") and "&sid=" in head]
    # The sid came out of the handshake that arrived in pieces; the namespace connect is one POST.
    assert len(posts) == 2 and all(body == b"40" for _, body in posts), server.requests
    head = posts[0][0].split("\r\n")
    assert head[0] == "POST /socket.io/?EIO=4&transport=polling&sid=scripted_sid-1 HTTP/1.1", head
    assert f"Host: 127.0.0.1:{port}" in head and "Content-Type: text/plain;charset=UTF-8" in head and "Content-Length: 2" in head
    assert all(p.startswith("GET /socket.io/?EIO=4&transport=polling&sid=scripted_sid-1 HTTP/1.1\r\n") for p in polls), polls


def test_polling_client_joins_chunked_bodies(scripted_server):
    # python-engineio under Werkzeug or uvicorn sends chunked bodies: the handshake must yield the sid, which
    # the namespace connect then carries (and the scripted server refuses with a 400).
    server = scripted_server("chunked")
    port = server.server_address[1]
    proc, fields = run_bench(f"http://127.0.0.1:{port}", "--clients", 2, "--duration", 0.5)
    assert proc.returncode != 0 and fields["failures"] == "2", explain(proc)
    assert 'POST: HTTP 400: {"code":1,"message":"Session ID unknown"}' in proc.stdout, explain(proc)
    with server.lock:
        posts = [head for head, _ in server.requests if head.startswith("POST ")]
    assert len(posts) == 2 and all("&sid=scripted_sid-1 HTTP/1.1" in head.split("\r\n")[0] for head in posts), server.requests


def test_polling_client_refuses_chunked_trailers(scripted_server):
    server = scripted_server("trailer")
    proc, fields = run_bench(f"http://127.0.0.1:{server.server_address[1]}", "--clients", 2, "--duration", 0.5)
    assert proc.returncode != 0, explain(proc)
    assert fields["connected"] == "0" and fields["failures"] == "2", explain(proc)
    assert "trailer fields after the last chunk are not supported" in proc.stdout, explain(proc)


# -- bench.py's cluster section (issue 21) ------------------------------------------------------------


@pytest.mark.deadline(90)
def test_bench_cluster_section_runs_and_reports_both_sides(tmp_path):
    """`bench.py --only cluster --quick`: three nodes, Redis and haproxy start and stop, the local sides (clients
    through the balancer stuck to one node, straight to one node, upgrades on the session's own node) are measured in full, and the report names the
    forwarded side and the move whatever their outcome (before issue 21 they fail with "Session ID unknown")."""
    from cluster_support import HAPROXY

    if HAPROXY is None:
        if os.environ.get("QUENCH_REQUIRE_HAPROXY") == "1":
            pytest.fail("haproxy is not installed and QUENCH_REQUIRE_HAPROXY=1")
        pytest.skip("haproxy is not installed: the cluster section needs it")
    report = tmp_path / "cluster-bench.md"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "Tests" / "Bench" / "bench.py"), "--only", "cluster", "--quick",
                           "--output", str(report)], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=80)
    assert proc.returncode == 0, explain(proc)
    text = report.read_text()
    assert "| haproxy stuck to one node (local) | 50/50 |" in text, text
    assert "| one node directly, keep-alive | 50/50 |" in text, text
    assert "| its own node (local) | 50/50 |" in text, text
    assert "| 3 nodes through haproxy (forwarded, --node-link) |" in text and "| another node (a move) |" in text, text
    assert "| 3 nodes through haproxy (forwarded over Redis) |" in text, text
    assert "a forwarded polling reply costs ≤ 2× the CPU of a local one" in text, text
