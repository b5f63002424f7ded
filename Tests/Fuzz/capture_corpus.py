#!/usr/bin/env python3
"""Regenerates the fuzz seed corpora (Tests/Fuzz/Corpus/<target>/) from real traffic.

Runs quench (QUENCH_BIN, default the release build) with `--message-queue` on a redis-server of its own,
puts a recording TCP proxy in front of quench and another between quench and Redis, and drives them with
python-socketio clients (WebSocket and long-polling, events, acks, binary attachments), with socket.io-client
in headless Chromium when SIO_CLIENT_JS names its browser build (quench serves it with --static), and with
python-socketio's RedisManager publishing every pub/sub method. The recorded bytes are cut into the
units each fuzz target reads (see Tests/Fuzz/README.md) and written one file per unit, named by content.

Not run by CI: the committed corpus is its output. Usage:
    QUENCH_BIN=.build/release/quench SIO_CLIENT_JS=.venv/lib/python3.11/site-packages/nicegui/static/socket.io.min.js \\
        .venv/bin/python Tests/Fuzz/capture_corpus.py
"""

import asyncio
import base64
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = HERE / "Corpus"
QUENCH_BIN = os.environ.get("QUENCH_BIN") or str(REPO / ".build" / "release" / "quench")
# socket.io-client's browser build (socket.io.min.js, e.g. the one nicegui ships in site-packages).
SIO_CLIENT_JS = os.environ.get("SIO_CLIENT_JS")
RS = b"\x1e"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


class RecordingProxy:
    """Forwards 127.0.0.1:listen → 127.0.0.1:target and keeps each connection's bytes, both ways."""

    def __init__(self, target):
        self.target = target
        self.port = free_port()
        self.connections = []  # [(client→server bytearray, server→client bytearray)]
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()

    async def _start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader, writer):
        record = (bytearray(), bytearray())
        self.connections.append(record)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pump(src, dst, sink):
            try:
                while data := await src.read(65536):
                    sink.extend(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, record[0]), pump(up_reader, writer, record[1]))


# -- cutting recorded streams into units ------------------------------------------------------


def http_messages(stream):
    """Yields (start line, headers dict, body) for each HTTP/1.1 message; stops at a 101 or a WebSocket
    upgrade request and yields ('<ws>', {}, rest) with the bytes after it."""
    i = 0
    while i < len(stream):
        end = stream.find(b"\r\n\r\n", i)
        if end < 0:
            return
        lines = stream[i:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        i = end + 4
        body = b""
        if "content-length" in headers:
            n = int(headers["content-length"])
            body = bytes(stream[i:i + n])
            i += n
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line_end = stream.find(b"\r\n", i)
                size = int(stream[i:line_end].split(b";")[0], 16)
                i = line_end + 2
                chunks.append(bytes(stream[i:i + size]))
                i += size + 2
                if size == 0:
                    break
            body = b"".join(chunks)
        yield lines[0], headers, body
        if lines[0].startswith("HTTP/1.1 101") or headers.get("upgrade", "").lower() == "websocket":
            yield "<ws>", {}, bytes(stream[i:])
            return


def ws_frames(data):
    """Yields (is_binary, payload) for each data frame (continuations joined); control frames skipped."""
    i = 0
    message, kind = bytearray(), None
    while i + 2 <= len(data):
        b0, b1 = data[i], data[i + 1]
        i += 2
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(data[i:i + 2], "big")
            i += 2
        elif length == 127:
            length = int.from_bytes(data[i:i + 8], "big")
            i += 8
        mask = None
        if b1 & 0x80:
            mask = data[i:i + 4]
            i += 4
        payload = bytearray(data[i:i + length])
        i += length
        if mask:
            for k in range(len(payload)):
                payload[k] ^= mask[k % 4]
        opcode = b0 & 0x0F
        if opcode in (1, 2):
            message, kind = payload, opcode
        elif opcode == 0:
            message.extend(payload)
        else:
            continue
        if b0 & 0x80 and kind is not None:
            yield kind == 2, bytes(message)
            message, kind = bytearray(), None


class Units:
    """The corpus units, per target, deduplicated."""

    def __init__(self):
        self.units = {name: set() for name in ("json", "socketio", "engineio", "query", "resp", "pubsub")}

    def add(self, target, data):
        if data and len(data) <= 4096:
            self.units[target].add(bytes(data))

    def engine_message_stream(self, packets):
        """Engine.IO packets (is_binary, bytes) of one direction of one session → Socket.IO units.

        A text message starts a unit; the binary attachments after it join it as `\\x1eb<bytes>` parts."""
        unit = None
        for is_binary, packet in packets:
            if is_binary:
                if unit is not None:
                    unit += RS + b"b" + packet
                continue
            if unit is not None:
                self.add_socketio(unit)
                unit = None
            if packet[:1] == b"4":
                unit = packet[1:]
        if unit is not None:
            self.add_socketio(unit)

    def add_socketio(self, unit):
        self.add("socketio", unit)
        text = unit.split(RS)[0]
        start = next((k for k, c in enumerate(text) if c in b"[{\""), None)
        if start is not None:
            self.add("json", text[start:])

    def write(self):
        for target, units in self.units.items():
            folder = CORPUS / target
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            for unit in sorted(units):
                (folder / hashlib.sha1(unit).hexdigest()[:16]).write_bytes(unit)
            print(f"{target}: {len(units)} units")


def cut_http_connection(units, record):
    client, server = record
    for direction, stream in (("up", client), ("down", server)):
        packets = []
        for start, headers, body in http_messages(bytes(stream)):
            if start == "<ws>":
                for is_binary, payload in ws_frames(body):
                    if is_binary:
                        packets.append((True, payload))
                    else:
                        units.add("engineio", payload)
                        packets.append((False, payload))
                continue
            if " " in start and "?" in start.split(" ")[1]:
                units.add("query", start.split(" ")[1].split("?", 1)[1].encode())
            if body and (direction == "up" or headers.get("content-type", "").startswith("text/plain")):
                units.add("engineio", body)
                for part in body.split(RS):
                    packets.append((True, base64.b64decode(part[1:])) if part[:1] == b"b" else (False, part))
        units.engine_message_stream(packets)


# -- traffic ---------------------------------------------------------------------------------


def python_clients(url):
    import socketio

    for transports in (["websocket"], ["polling"], ["polling", "websocket"]):
        sio = socketio.Client(reconnection=False)
        got = threading.Event()
        sio.on("bot_message", lambda data: got.set())
        sio.connect(url, transports=transports, namespaces=["/"])
        sio.emit("user_message", {"text": "hello from python"})
        sio.call("user_message", {"text": "with an ack ✓"}, timeout=5)
        sio.emit("user_message", {"text": "binary", "blob": b"\x00\x01\x02\xff", "more": [b"abc", {"n": 1.5e300}]})
        sio.emit("user_message", {"nested": [[[{"a": None, "b": True, "c": -0.0, "d": 12345678901234}]]]})
        sio.emit("user_message", "not an object")
        sio.emit("user_message", ["text", "\u0000\u001f\"\\/\ud83d\ude00"])
        got.wait(5)
        sio.disconnect()


BROWSER_PAGE = r"""<!doctype html><html><head><script src="socket.io.min.js"></script></head><body><script>
async function session(transports) {
  const socket = io({ transports, reconnection: false });
  await new Promise((ok, fail) => { socket.on("connect", ok); socket.on("connect_error", fail); });
  const reply = new Promise((ok) => socket.on("bot_message", (m) => { if (m.text.includes("browser")) ok(m); }));
  socket.emit("user_message", { text: "hello from the browser" });
  await reply;
  await socket.timeout(5000).emitWithAck("user_message", { text: "ack from the browser \u2713" });
  socket.emit("user_message", { text: "binary", buf: new Uint8Array([1, 2, 3, 0, 255]), more: [new Uint8Array([9]).buffer] });
  socket.emit("user_message", { text: "\u00fcn\u00efc\u00f6d\u00e9 \ud83d\ude00", n: [1, -2.5e-7, null, true, 1e21] });
  await new Promise((ok) => setTimeout(ok, 300));
  socket.disconnect();
}
async function captureAll() {
  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) await session(transports);
  return "done";
}
</script></body></html>
"""


def browser_clients(url, static_dir, work):
    """socket.io-client (the browser build, SIO_CLIENT_JS) in headless Chromium, driven over DevTools with
    the interop suite's Chromium helper."""
    if not SIO_CLIENT_JS:
        print("SIO_CLIENT_JS not set: no socket.io-client traffic")
        return
    sys.path.insert(0, str(REPO / "Tests" / "Interop"))
    from test_browser import Chromium

    browser = Chromium(work / "chromium-profile", work / "chromium.log")
    try:
        browser.navigate(url + "/index.html")
        end = time.monotonic() + 10
        while browser.evaluate("typeof captureAll") != "function" and time.monotonic() < end:
            time.sleep(0.05)
        result = browser.evaluate("captureAll()")
        if result != "done":
            raise SystemExit(f"socket.io-client in Chromium: {result}")
    finally:
        browser.close()


def redis_publishers(redis_url, units):
    import redis
    import socketio

    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.subscribe("socketio")
    mgr = socketio.RedisManager(redis_url, write_only=True)
    socketio.Server(client_manager=mgr)  # disconnect and close_room also act on the local server
    mgr.emit("bot_message", {"text": "to everyone"})
    mgr.emit("bot_message", {"text": "to one"}, to="some-sid", namespace="/")
    mgr.emit("bot_message", {"text": "rooms"}, room=["a", "b"], skip_sid="x")
    mgr.emit("bot_message", ("two", "args"))
    mgr.emit("bot_message", {"blob": b"\x00\x01binary\xff"})
    mgr.emit("bot_message", None)
    # emit() asks for callbacks only inside a server; the message a server node publishes then:
    mgr._publish({"method": "emit", "event": "bot_message", "data": [{"text": "callback"}], "binary": False,
                  "namespace": "/", "room": "sid1", "skip_sid": None, "callback": ["sid1", "/", 7],
                  "host_id": mgr.host_id})
    mgr.disconnect("sid-gone", namespace="/")
    mgr.enter_room("sid1", "/", "room1")
    mgr.leave_room("sid1", "/", "room1")
    mgr.close_room("room1", namespace="/")
    mgr._publish({"method": "callback", "host_id": "h", "sid": "s", "namespace": "/", "id": 1, "args": [1, "two"]})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=0.2)
        if message and message["type"] == "message":
            units.add("pubsub", message["data"])
            units.add("json", message["data"])


def main():
    if not os.access(QUENCH_BIN, os.X_OK):
        raise SystemExit(f"no quench binary at {QUENCH_BIN}")
    work = pathlib.Path(tempfile.mkdtemp(prefix="quench-capture-"))
    static_dir = work / "static"
    static_dir.mkdir()
    (static_dir / "index.html").write_text(BROWSER_PAGE)
    if SIO_CLIENT_JS:
        shutil.copy(SIO_CLIENT_JS, static_dir / "socket.io.min.js")
    redis_port = free_port()
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL)
    wait_port(redis_port)
    redis_proxy = RecordingProxy(redis_port)
    quench_port = free_port()
    quench = subprocess.Popen(
        [QUENCH_BIN, "--host", "127.0.0.1", "--port", str(quench_port), "--message-queue",
         f"redis://127.0.0.1:{redis_proxy.port}/0", "--reminder-interval", "1s", "--static", str(static_dir)],
        stderr=open(work / "quench.log", "w"))
    units = Units()
    try:
        wait_port(quench_port)
        proxy = RecordingProxy(quench_port)
        url = f"http://127.0.0.1:{proxy.port}"
        python_clients(url)
        browser_clients(url, static_dir, work)
        redis_publishers(f"redis://127.0.0.1:{redis_port}/0", units)
        time.sleep(1.5)  # let the reminder at the next whole second reach the recording (capture tool, not a test)
        for record in proxy.connections:
            cut_http_connection(units, record)
        for _, down in redis_proxy.connections:
            for k in range(0, len(down), 512):
                units.add("resp", down[k:k + 512])
            units.add("resp", down[:4096])
    finally:
        quench.terminate()
        quench.wait(10)
        redis_proc.terminate()
        redis_proc.wait(10)
    units.write()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
