"""Clients and parsers shared by the interop tests.

EioWS is a raw Engine.IO-over-WebSocket client built on websocket-client: it shows every frame the
server sends, so the tests can assert exact packets. SioClient wraps python-socketio's sync Client
and records the app's events in queues.
"""

import datetime
import json
import os
import queue
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest
import socketio
import websocket

from conftest import REPO_ROOT

EIO_SID_RE = re.compile(r"^[A-Za-z0-9_-]{20}$")
REMINDER_RE = re.compile(r"^Remember to stay hydrated! It's (\d\d):(\d\d)$")
CONNECTED = {"text": "Connected to server"}
#: The load tool (`swift build -c release --product quench-bench`, which `make interop-test` does).
BENCH_BIN = os.environ.get("QUENCH_BENCH_BIN") or str(REPO_ROOT / ".build" / "release" / "quench-bench")
ENGINE_CLOSE_REASONS = {
    "transport close",
    "transport error",
    "ping timeout",
    "forced close",
    "parse error",
    "server shutting down",
}


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's memory figure from /proc/PID/status, in KiB: VmRSS (resident now) or VmHWM (the peak so far)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reply_re(text: str) -> re.Pattern:
    """The bot's reply to `text`: '<text> rcvd at HH:MM:SS (dummy reply)'."""
    return re.compile(r"^" + re.escape(text) + r" rcvd at (\d\d):(\d\d):(\d\d) \(dummy reply\)$", re.S)


def user_message(payload, ack_id=None) -> str:
    prefix = "42" if ack_id is None else f"42{ack_id}"
    return prefix + json.dumps(["user_message", payload], separators=(",", ":"), ensure_ascii=False)


def parse_sio(frame: str) -> dict:
    """Decode a Socket.IO packet carried in an Engine.IO message frame: '4' + type [/nsp,] [id] [json]."""
    assert isinstance(frame, str) and len(frame) >= 2 and frame[0] == "4", f"not a Socket.IO message frame: {frame!r}"
    body = frame[1:]
    ptype = int(body[0])
    i = 1
    nsp = "/"
    if i < len(body) and body[i] == "/":
        comma = body.find(",", i)
        nsp = body[i:] if comma < 0 else body[i:comma]
        i = len(body) if comma < 0 else comma + 1
    m = re.match(r"\d+", body[i:])
    ack_id = None
    if m:
        ack_id = int(m.group())
        i += len(m.group())
    rest = body[i:]
    data = json.loads(rest) if rest else None
    return {"type": ptype, "nsp": nsp, "id": ack_id, "data": data}


def seconds_of_day(h, m, s=0) -> int:
    return int(h) * 3600 + int(m) * 60 + int(s)


def circular_distance(a: int, b: int, modulus: int = 86400) -> int:
    d = (a - b) % modulus
    return min(d, modulus - d)


def now_seconds_of_day(tz) -> int:
    n = datetime.datetime.now(tz)
    return seconds_of_day(n.hour, n.minute, n.second)


class ServerClosed(AssertionError):
    pass


class EioWS:
    """A raw Engine.IO v4 WebSocket client (websocket-client underneath)."""

    def __init__(self, server, query="EIO=4&transport=websocket", path="/socket.io/", origin=None,
                 suppress_origin=False, header=None, timeout=5.0, sockopt=(), tls=False):
        # tls: wss:// without verifying the (self-signed) certificate.
        self.server = server
        self.url = f"{'wss' if tls else 'ws'}://127.0.0.1:{server.port}{path}?{query}"
        options = {"timeout": timeout, "header": header or [], "suppress_origin": suppress_origin, "sockopt": sockopt}
        if tls:
            options["sslopt"] = {"cert_reqs": ssl.CERT_NONE}
        if origin is not None:
            options["origin"] = origin
        self.ws = websocket.create_connection(self.url, **options)
        self.pings_answered = 0
        self.seen = []  # every text frame received, in order

    # -- frames ----------------------------------------------------------------------------
    def recv_frame(self, timeout=5.0):
        """Next data frame as ('text', str) / ('binary', bytes) / ('close', code|None) / ('eof', None)."""
        self.ws.settimeout(timeout)
        try:
            opcode, frame = self.ws.recv_data_frame(True)
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"no frame from server within {timeout}s; frames so far: {self.seen[-20:]!r}")
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return ("eof", None)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            text = frame.data.decode("utf-8")
            self.seen.append(text)
            return ("text", text)
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return ("binary", frame.data)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
            return ("close", code)
        return ("control", opcode)

    def recv_text(self, timeout=5.0, answer_pings=True) -> str:
        """Next text frame; Engine.IO pings ('2') are answered with '3' and skipped unless answer_pings=False."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no text frame within {timeout}s; frames so far: {self.seen[-20:]!r}")
            kind, value = self.recv_frame(remaining)
            if kind == "text":
                if answer_pings and value == "2":
                    self.send("3")
                    self.pings_answered += 1
                    continue
                return value
            if kind in ("close", "eof"):
                raise ServerClosed(f"server closed the connection ({kind} {value}); frames so far: {self.seen[-20:]!r}")
            if kind == "binary":
                raise AssertionError(f"unexpected binary frame {value!r}")

    def recv_sio(self, timeout=5.0) -> dict:
        return parse_sio(self.recv_text(timeout))

    def send(self, text: str):
        self.ws.send(text)

    def wait_closed(self, timeout=5.0):
        """Wait until the server closes the connection (close frame or EOF), answering nothing.

        Returns the text frames received meanwhile. Fails if the socket is still open at the deadline.
        """
        deadline = time.monotonic() + timeout
        frames = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"server did not close the connection within {timeout}s; frames meanwhile: {frames!r}")
            try:
                kind, value = self.recv_frame(remaining)
            except AssertionError:
                raise AssertionError(f"server did not close the connection within {timeout}s; frames meanwhile: {frames!r}")
            if kind in ("close", "eof"):
                return frames
            if kind == "text":
                frames.append(value)

    # -- Engine.IO / Socket.IO steps -------------------------------------------------------
    def open_packet(self, timeout=5.0) -> dict:
        first = self.recv_text(timeout, answer_pings=False)
        assert first.startswith("0"), f"first frame is not an Engine.IO open packet: {first!r}"
        return json.loads(first[1:])

    def sio_connect(self, timeout=5.0) -> str:
        """Send '40', expect '40{"sid":…}' then the app's system_message; return the Socket.IO sid."""
        self.send("40")
        pkt = self.recv_sio(timeout)
        assert pkt["type"] == 0 and pkt["nsp"] == "/" and isinstance(pkt["data"], dict), f"CONNECT reply: {pkt!r}"
        sid = pkt["data"].get("sid")
        assert isinstance(sid, str) and sid, f"CONNECT reply without sid: {pkt!r}"
        welcome = self.recv_sio(timeout)
        assert welcome == {"type": 2, "nsp": "/", "id": None, "data": ["system_message", CONNECTED]}, welcome
        return sid

    def handshake(self, timeout=5.0):
        """open packet + Socket.IO connect: returns (engine sid, socket.io sid)."""
        op = self.open_packet(timeout)
        return op["sid"], self.sio_connect(timeout)

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass

    def abort(self):
        """Drop the TCP connection without a WebSocket close frame."""
        sock = self.ws.sock
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class SioClient:
    """python-socketio sync Client (websocket transport only) that records what the app sends."""

    def __init__(self, server, **client_kwargs):
        self.server = server
        self.sio = socketio.Client(reconnection=False, **client_kwargs)
        self.system = queue.Queue()
        self.bot = queue.Queue()
        self.reminders = queue.Queue()
        self.disconnected = threading.Event()
        self.disconnect_args = []
        self.sio.on("system_message", self._on_system)
        self.sio.on("bot_message", self._on_bot)
        self.sio.on("disconnect", self._on_disconnect)

    def _on_system(self, data):
        self.system.put(data)

    def _on_bot(self, data):
        text = data.get("text") if isinstance(data, dict) else None
        if isinstance(text, str) and REMINDER_RE.match(text):
            self.reminders.put(data)
        else:
            self.bot.put(data)

    def _on_disconnect(self, *args):
        self.disconnect_args.append(args)
        self.disconnected.set()

    def connect(self, socketio_path="socket.io", headers=None, transports=("websocket",)):
        """Connect; transports=None means python-socketio's default (polling, then upgrade)."""
        self.sio.connect(self.server.url, transports=list(transports) if transports else None,
                         socketio_path=socketio_path, headers=headers or {}, wait_timeout=10)
        return self

    @property
    def sid(self):
        return self.sio.get_sid()

    def get(self, q, timeout=5.0, what="event"):
        try:
            return q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {what} within {timeout}s")

    def disconnect(self):
        try:
            self.sio.disconnect()
        except Exception:
            pass


def run_bench(url, *args, timeout=60):
    """Run quench-bench --machine to completion; returns (process, RESULT fields as a dict of strings)."""
    if not os.access(BENCH_BIN, os.X_OK):
        pytest.fail(f"quench-bench not found at {BENCH_BIN} (swift build -c release --product quench-bench, or set QUENCH_BENCH_BIN)")
    argv = [BENCH_BIN, "--url", url, "--machine", "--connect-timeout", "10", *map(str, args)]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(argv)} did not exit within {timeout}s (stdout={e.stdout!r}, stderr={e.stderr!r})")
    results = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 1, f"expected one RESULT line from {' '.join(argv)}:\n{proc.stdout}\n{proc.stderr}"
    fields = dict(item.partition("=")[::2] for item in results[0].split()[1:])
    return proc, fields


def explain(proc) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
