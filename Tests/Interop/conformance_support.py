"""Fixtures and raw clients for the quench-conformance interop tests (test_conformance_*.py).

quench-conformance serves the two applications the official Engine.IO / Socket.IO protocol suites
expect: a bare Engine.IO echo server at /engine.io/ and a Socket.IO app (namespaces / and /custom)
at /socket.io/, with pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000 and a 1000 ms
connectTimeout. Each test module gets one server on a free port; nothing sleeps a fixed time.

Test modules pull the fixture in with `from conformance_support import conformance  # noqa: F401`.
"""

import json
import os
import subprocess
import time

import pytest
import requests
import websocket

from conftest import POLL_S, REPO_ROOT, START_DEADLINE_S, QuenchServer, _port_accepts, free_port, wait_until  # noqa: F401

CONFORMANCE_BIN = os.environ.get("QUENCH_CONFORMANCE_BIN") or str(REPO_ROOT / ".build" / "release" / "quench-conformance")

PING_INTERVAL_MS = 300
PING_TIMEOUT_MS = 200
MAX_PAYLOAD = 1_000_000
RS = "\x1e"


class ConformanceServer(QuenchServer):
    """A running quench-conformance process and its log (the quench fixture's server, plus raw clients)."""

    # -- Engine.IO over HTTP ----------------------------------------------------------------
    def eio_url(self, path="engine.io", sid=None, transport="polling") -> str:
        url = f"{self.url}/{path}/?EIO=4&transport={transport}"
        return url + (f"&sid={sid}" if sid else "")

    def open_polling(self, path="engine.io"):
        """Polling handshake: returns (sid, open packet dict)."""
        response = requests.get(self.eio_url(path), timeout=5)
        assert response.status_code == 200, response.text
        assert response.text.startswith("0"), response.text
        packet = json.loads(response.text[1:])
        return packet["sid"], packet

    def get(self, sid, path="engine.io", timeout=5.0):
        return requests.get(self.eio_url(path, sid), timeout=timeout)

    def post(self, sid, body, path="engine.io", timeout=5.0):
        return requests.post(self.eio_url(path, sid), data=body, timeout=timeout)

    # -- WebSocket ---------------------------------------------------------------------------
    def ws(self, path="engine.io", sid=None, timeout=5.0) -> "RawWS":
        url = f"{self.ws_base}/{path}/?EIO=4&transport=websocket" + (f"&sid={sid}" if sid else "")
        return RawWS(websocket.create_connection(url, timeout=timeout, suppress_origin=True))


class RawWS:
    """A WebSocket that reports every frame as (kind, value): ('text', str), ('binary', bytes),
    ('close', code or None) or ('eof', None)."""

    def __init__(self, ws):
        self.ws = ws

    def send(self, text):
        self.ws.send(text)

    def send_binary(self, data: bytes):
        self.ws.send_binary(data)

    def frame(self, timeout=5.0):
        self.ws.settimeout(timeout)
        try:
            # recv_frame, not recv_data_frame: the latter answers a close frame itself, and that answer
            # can fail (and hide the close code) when the server has already closed its side.
            frame = self.ws.recv_frame()
            opcode = frame.opcode
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"no frame within {timeout}s")
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return ("eof", None)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return ("text", frame.data.decode("utf-8"))
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return ("binary", bytes(frame.data))
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return ("close", int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None)
        return ("control", opcode)

    def next(self, timeout=5.0, answer_pings=True):
        """The next text or binary frame; pings are answered and skipped. Fails on close."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message within {timeout}s")
            kind, value = self.frame(remaining)
            if kind == "text" and value == "2" and answer_pings:
                self.send("3")
                continue
            if kind in ("text", "binary"):
                return kind, value
            if kind in ("close", "eof"):
                raise AssertionError(f"server closed the connection ({kind} {value})")

    def text(self, timeout=5.0, answer_pings=True) -> str:
        kind, value = self.next(timeout, answer_pings)
        assert kind == "text", f"expected a text frame, got {kind} {value!r}"
        return value

    def binary(self, timeout=5.0) -> bytes:
        kind, value = self.next(timeout)
        assert kind == "binary", f"expected a binary frame, got {kind} {value!r}"
        return value

    def open_packet(self) -> dict:
        first = self.text(answer_pings=False)
        assert first.startswith("0"), first
        return json.loads(first[1:])

    def wait_closed(self, timeout=10.0, answer_pings=True):
        """Wait until the server ends the connection; returns (close code or None, frames seen meanwhile).

        Pings are answered (so only the behaviour under test can close the session) unless answer_pings=False.
        """
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"server did not close the connection within {timeout}s; frames: {seen!r}")
            kind, value = self.frame(remaining)
            if kind in ("close", "eof"):
                return value, seen
            if kind == "text" and value == "2" and answer_pings:
                self.send("3")
            seen.append((kind, value))

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass




@pytest.fixture(scope="module")
def conformance(tmp_path_factory):
    """One quench-conformance server (free port, log in a temp dir) for the whole test module."""
    if not os.path.isfile(CONFORMANCE_BIN) or not os.access(CONFORMANCE_BIN, os.X_OK):
        pytest.fail(f"quench-conformance not found at {CONFORMANCE_BIN} (build it, or set QUENCH_CONFORMANCE_BIN)")
    log_dir = tmp_path_factory.mktemp("conformance")
    server = None
    for _ in range(3):  # a free port can be taken between pick and bind
        port = free_port()
        log_path = log_dir / f"quench-conformance-{port}.log"
        argv = [CONFORMANCE_BIN, "--host", "127.0.0.1", "--port", str(port)]
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        candidate = ConformanceServer(proc, port, log_path, argv)
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline and proc.poll() is None and not _port_accepts(port):
            time.sleep(POLL_S)
        if proc.poll() is None and _port_accepts(port):
            server = candidate
            break
        candidate.kill()
    if server is None:
        pytest.fail(f"quench-conformance did not start; log:\n{candidate.log_text()}")
    yield server
    alive = server.running()
    server.kill()
    print(f"----- quench-conformance log, last 4000 chars -----\n{server.log_text()[-4000:]}")
    assert alive, "quench-conformance exited during the tests"
