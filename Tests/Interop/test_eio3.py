"""`--allow-eio3` (issue 25): Engine.IO 3 / Socket.IO 2 clients beside v4 ones.

The v2 client is python-socketio 4.6.1 with python-engineio 3.14.2, the last releases that speak EIO=3,
from their own venv (`make venv-eio3`), run as a subprocess (eio3_client.py) over polling, WebSocket and
polling-then-upgrade: the seed's exchange, acks, reminders, heartbeats over several short intervals, binaries from
the Redis queue; a python-socketio 5 client talks to the same server meanwhile. Raw HTTP shows the parts
the client library hides: the clear 400 with the flag off, the text payload form for `b64=1`, a client
that stops pinging being closed, and the payload bounds.

No fixed sleeps: readiness is polled, each client step has a deadline.
"""

import json
import pathlib
import queue
import re
import subprocess
import threading

import pytest
import requests
import socketio

from conftest import REPO_ROOT, wait_until
from interop_helpers import CONNECTED, REMINDER_RE, reply_re
from test_redis import RedisServer

EIO3_PYTHON = REPO_ROOT / ".venv-eio3" / "bin" / "python"
CLIENT = pathlib.Path(__file__).with_name("eio3_client.py")
HEARTBEAT = ("--ping-interval", "150ms", "--ping-timeout", "300ms")


@pytest.fixture
def eio3_python():
    if not EIO3_PYTHON.exists():
        pytest.fail(f"{EIO3_PYTHON} is missing: run `make venv-eio3`")
    return str(EIO3_PYTHON)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class V2Client:
    """eio3_client.py in its own process; its JSON lines read one by one with a deadline each."""

    def __init__(self, python, url, transports, pongs=4, mode=None):
        argv = [python, str(CLIENT), url, transports, str(pongs)] + ([mode] if mode else [])
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = []
        # A thread reads the pipe: select() on a buffered pipe misses lines already read into the buffer.
        self.queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.queue.put(line)
        self.queue.put(None)

    def step(self, name, timeout=20):
        """The next line, which must be step `name`."""
        while True:
            try:
                line = self.queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no step {name!r} within {timeout}s; so far: {self.lines}")
            assert line is not None, f"the v2 client ended before step {name!r}: {self.lines}"
            self.lines.append(line.rstrip())
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a library's own log line
            assert record["step"] == name, f"step {record!r}, expected {name!r}; so far: {self.lines}"
            return record

    def finish(self):
        assert self.proc.wait(timeout=20) == 0, self.lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


TRANSPORTS = {"polling": "polling", "websocket": "websocket", "upgrade": "default"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_socketio_2_client_and_a_v4_client_on_one_server(start_quench, redis_server, eio3_python, transport):
    server = start_quench("--allow-eio3", *HEARTBEAT, "--message-queue", redis_server.url)
    server.wait_for_log(r'subscribed to channel "socketio"')
    v2 = V2Client(eio3_python, server.url, TRANSPORTS[transport])
    v4 = socketio.Client(reconnection=False)
    v4_bot = []
    v4.on("bot_message", v4_bot.append)
    try:
        connected = v2.step("connected")
        assert connected["transport"] == ("polling" if transport == "polling" else "websocket")
        server.wait_for_log(r"\binfo open sid=" + re.escape(connected["sid"]) + r" peer=\S+ transport=\S+ eio=3\n")
        assert v2.step("welcome")["data"] == CONNECTED
        assert reply_re("héllo 😀").match(v2.step("reply")["data"]["text"])
        assert v2.step("ack")["args"] == []
        assert reply_re("x").match(v2.step("ack reply")["data"]["text"])
        # The v4 client meanwhile, on the same server.
        v4.connect(server.url, transports=["websocket"], wait_timeout=10)
        v4.emit("user_message", {"text": "v4 here"})
        wait_until(lambda: v4_bot, 10, "the v4 client's reply")
        assert reply_re("v4 here").match(v4_bot[0]["text"])
        # Several heartbeat intervals: the client pinged and the server answered each time.
        beats = v2.step("heartbeats", timeout=30)
        assert beats["pongs"] >= 4
        assert reply_re("after the heartbeats").match(v2.step("late reply")["data"]["text"])
        v2.step("ready")
        # Binaries (Socket.IO 2's placeholders, Engine.IO 3's binary framing) from a python emitter on the queue.
        emitter = socketio.RedisManager(redis_server.url, write_only=True)
        emitter.emit("bin", {"blob": b"\x00\xff\x10", "n": 1})
        emitter.emit("bin", [1, "two", b"\x04three"])
        emitter.emit("bin", "sentinel")
        assert v2.step("bin")["data"] == {"blob": {"bytes": [0, 255, 16]}, "n": 1}
        assert v2.step("bin")["data"] == [1, "two", {"bytes": [4, 116, 104, 114, 101, 101]}]
        v2.step("done")
        v2.finish()
        assert "ping timeout" not in server.log_text()
    finally:
        v2.kill()
        v4.disconnect()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_a_socketio_2_client_comes_back_after_a_server_restart(start_quench, eio3_python, transport):
    server = start_quench("--allow-eio3", *HEARTBEAT)
    v2 = V2Client(eio3_python, server.url, transport, pongs=1, mode="restart")
    try:
        v2.step("connected")
        assert v2.step("welcome")["data"] == CONNECTED
        for step in ("reply", "ack", "ack reply", "heartbeats", "late reply", "ready"):
            v2.step(step)
        assert server.stop() == 0
        again = start_quench("--allow-eio3", *HEARTBEAT, port=server.port)
        assert v2.step("welcome again", timeout=30)["data"] == CONNECTED
        assert reply_re("back").match(v2.step("reconnected")["data"]["text"])
        v2.finish()
        again.wait_for_log(r"\binfo open sid=\S+ peer=\S+ transport=\S+ eio=3\n")
    finally:
        v2.kill()


def test_reminders_reach_a_socketio_2_client(start_quench, eio3_python):
    server = start_quench("--allow-eio3", *HEARTBEAT, "--reminder-interval", "1")
    v2 = V2Client(eio3_python, server.url, "default", pongs=1, mode="reminders")
    try:
        for step in ("connected", "welcome", "reply", "ack", "ack reply", "heartbeats", "late reply", "ready"):
            v2.step(step)
        for _ in range(2):
            assert REMINDER_RE.match(v2.step("reminder")["data"]["text"])
        v2.finish()
    finally:
        v2.kill()


def test_metrics_count_the_open_eio3_sessions(start_quench):
    server = start_quench("--allow-eio3", "--metrics")

    def eio3_sessions():
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        return int(float(re.search(r"^quench_sessions_eio3 (\S+)$", text, re.M).group(1)))

    assert eio3_sessions() == 0
    r = v3_handshake(server)
    sid = json.loads(r.content[r.content.index(b"0{") + 1:r.content.index(b"}") + 1])["sid"]
    v4 = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    assert v4.status_code == 200
    assert eio3_sessions() == 1
    assert requests.post(f"{server.url}/socket.io/?EIO=3&transport=polling&sid={sid}", data=b"1:1", timeout=5).text == "ok"
    wait_until(lambda: eio3_sessions() == 0, 10, "the v3 session counted out after its close packet")


def test_without_the_flag_eio3_gets_the_clear_400(start_quench):
    server = start_quench()
    r = requests.get(f"{server.url}/socket.io/?EIO=3&transport=polling", timeout=5)
    assert r.status_code == 400
    assert r.json() == {"code": 5, "message": "Unsupported protocol version"}
    server.wait_for_log(r"EIO=3; this server speaks Engine\.IO 4 .*\(Engine\.IO 3 clients are served with --allow-eio3\)")


def text_payload(text):
    """Engine.IO 3's text payload split into packets (lengths in UTF-16 code units, as JavaScript counts)."""
    packets, units = [], text.encode("utf-16-le")
    i = 0
    while i < len(units):
        colon = units.index(":".encode("utf-16-le"), i)
        length = int(units[i:colon].decode("utf-16-le"))
        start = colon + 2
        packets.append(units[start:start + 2 * length].decode("utf-16-le"))
        i = start + 2 * length
    return packets


def test_jsonp_polling_is_refused_clearly(start_quench):
    server = start_quench("--allow-eio3")
    r = requests.get(f"{server.url}/socket.io/?EIO=3&transport=polling&j=0", timeout=5)
    assert r.status_code == 400 and r.json()["code"] == 3, r.text
    server.wait_for_log(r"JSONP polling \(j=\) is not served")


def v3_handshake(server, extra=""):
    r = requests.get(f"{server.url}/socket.io/?EIO=3&transport=polling{extra}", timeout=5)
    assert r.status_code == 200, r.text
    return r


def test_text_payloads_for_a_b64_client_and_a_client_that_stops_pinging_is_closed(start_quench):
    server = start_quench("--allow-eio3", *HEARTBEAT)
    # b64=1: text form `<length>:<packet>`, lengths in UTF-16 code units.
    r = v3_handshake(server, "&b64=1")
    assert r.headers["Content-Type"].startswith("text/plain")
    packets = text_payload(r.text)
    assert packets[0].startswith("0{"), packets
    sid = json.loads(packets[0][1:])["sid"]
    # Socket.IO 2: the server connects the client to / by itself (no data in the CONNECT reply), then welcomes it.
    assert packets[1:] == ["40", '42["system_message",{"text":"Connected to server"}]'], packets
    base = f"{server.url}/socket.io/?EIO=3&transport=polling&b64=1&sid={sid}"
    # A message with a character beyond the BMP: JavaScript counts it as two.
    message = '42["user_message",{"text":"😀"}]'
    assert requests.post(base, data=f"{len(message.encode('utf-16-le')) // 2}:{message}".encode(), timeout=5).text == "ok"
    # This client never pings: pingInterval + pingTimeout later the server closes it.
    server.wait_for_log(r"\binfo close sid=" + re.escape(sid) + r' .*reason="ping timeout"', timeout=10)


@pytest.mark.parametrize("body", [b"9:42", b"3x:abc", b"\x00\x09\x09\x09\xff4", b"\x01\x02\xff\x034", b"4:b4!!"],
                         ids=["short", "not a length", "length past the body", "binary not a message", "bad base64"])
def test_a_malformed_v3_payload_is_a_clear_400_and_closes(start_quench, body):
    server = start_quench("--allow-eio3")
    r = v3_handshake(server)
    sid = json.loads(r.content[r.content.index(b"0{") + 1:r.content.index(b"}") + 1])["sid"]
    post = requests.post(f"{server.url}/socket.io/?EIO=3&transport=polling&sid={sid}", data=body, timeout=5)
    assert post.status_code == 400, post.text
    server.wait_for_log(r"warn bad POST body sid=" + re.escape(sid) + r" .*: (bad length prefix in an Engine\.IO 3 payload|unknown packet type|binary packet is not valid base64)")
    server.wait_for_log(r"\binfo close sid=" + re.escape(sid) + r' .*reason="parse error"')


def test_the_payload_bound_holds_for_v3(start_quench):
    server = start_quench("--allow-eio3", "--max-payload", "1000")
    r = v3_handshake(server)
    sid = json.loads(r.content[r.content.index(b"0{") + 1:r.content.index(b"}") + 1])["sid"]
    message = b"42" + json.dumps(["user_message", {"text": "x" * 2000}]).encode()
    post = requests.post(f"{server.url}/socket.io/?EIO=3&transport=polling&sid={sid}",
                         data=str(len(message)).encode() + b":" + message, timeout=5)
    assert post.status_code == 413, post.text
