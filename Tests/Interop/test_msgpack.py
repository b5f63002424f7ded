"""`--parser msgpack` (issue 25): python-socketio 5.x's client with serializer='msgpack' against quench over
WebSocket, polling and polling-then-upgrade, and the same script against python-socketio's own server with
serializer='msgpack' (aiohttp, both transports) as the reference: the seed's exchange, acks, reminders, and
binaries and rooms through the Redis queue, whose messages stay python-socketio's JSON whatever the parser.

No fixed sleeps: readiness is polled (port, PUBSUB NUMSUB, log lines) with deadlines.
"""

import json
import queue
import re
import subprocess
import sys
import textwrap
import threading

import pytest
import socketio
import websocket

from conftest import free_port, wait_until
from interop_helpers import CONNECTED, REMINDER_RE, reply_re
from test_redis import RedisServer

redis = pytest.importorskip("redis")
msgpack = pytest.importorskip("msgpack")

TRANSPORTS = {"websocket": ["websocket"], "polling": ["polling"], "upgrade": None}


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


REFERENCE = textwrap.dedent('''
    """The seed's chat on python-socketio with serializer='msgpack' and the Redis manager (aiohttp)."""
    import sys, time
    from aiohttp import web
    import socketio

    url, port = sys.argv[1], int(sys.argv[2])
    sio = socketio.AsyncServer(serializer="msgpack", async_mode="aiohttp",
                               client_manager=socketio.AsyncRedisManager(url))
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid, environ, auth=None):
        await sio.emit("system_message", {"text": "Connected to server"}, to=sid)

    @sio.on("user_message")
    async def user_message(sid, data):
        text = data.get("text") if isinstance(data, dict) else None
        await sio.emit("bot_message", {"text": f"{text} rcvd at {time.strftime('%H:%M:%S')} (dummy reply)"}, to=sid)

    @sio.on("relay")
    async def relay(sid, data):
        await sio.emit("bot_message", data)  # everyone, on every node

    @sio.on("ask")
    async def ask(sid, target):
        async def answered(*args):
            await sio.emit("bot_message", {"text": "acked", "args": list(args)})
        await sio.emit("question", {"text": "ack me", "blob": b"?"}, to=target, callback=answered)

    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None)
''')


@pytest.fixture
def reference(tmp_path, redis_server):
    """python-socketio's AsyncServer(serializer='msgpack') on aiohttp, on the test's Redis."""
    script = tmp_path / "msgpack_reference.py"
    script.write_text(REFERENCE)
    port = free_port()
    log_path = tmp_path / "reference.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(script), redis_server.url, str(port)], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def accepts():
        assert proc.poll() is None, log_path.read_text()
        try:
            import socket
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(accepts, 15, "the python-socketio msgpack reference server")
    yield f"http://127.0.0.1:{port}"
    proc.kill()  # aiohttp's graceful shutdown would wait for the clients' sockets
    proc.wait(timeout=10)


class MsgPackClient:
    """python-socketio's sync client with serializer='msgpack', recording the chat's events."""

    def __init__(self, url, transports):
        self.sio = socketio.Client(serializer="msgpack", reconnection=False)
        self.events = {name: queue.Queue() for name in ("system_message", "bot_message", "bin", "question")}
        self.reminders = queue.Queue()
        for name, q in self.events.items():
            self.sio.on(name, self._recorder(name, q))
        self.sio.connect(url, transports=transports, wait_timeout=10)

    def _recorder(self, name, q):
        def record(*args):
            data = args[0] if len(args) == 1 else args
            if name == "bot_message" and isinstance(data, dict) and REMINDER_RE.match(str(data.get("text"))):
                self.reminders.put(data)
            else:
                q.put(data)
            if name == "question":
                # No binary here: python-socketio's `callback` message on the queue is plain JSON with no
                # attachment form (python's own json.dumps refuses bytes there), so quench writes one as null.
                return "pong", 7
        return record

    def get(self, name, timeout=10.0):
        try:
            return self.events[name].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {name} within {timeout}s")


def chat_script(url, transports, redis_server):
    """The same script for quench and the reference: what a msgpack client sees, in a comparable form."""
    client = MsgPackClient(url, transports)
    seen = {}
    try:
        seen["welcome"] = client.get("system_message")
        client.sio.emit("user_message", {"text": "héllo", "blob": b"\x00\x01\x02"})
        reply = client.get("bot_message")
        assert reply_re("héllo").match(reply["text"]), reply
        seen["reply"] = "matches"
        seen["ack"] = client.sio.call("user_message", {"text": "x"}, timeout=10)
        assert reply_re("x").match(client.get("bot_message")["text"])
        # Binaries and rooms from a python emitter on the queue (JSON on the channel): to the client's own
        # room, to everyone, and to everyone but it; then a sentinel proves what did not come.
        redis_server.wait_subscribers(1)
        emitter = socketio.RedisManager(redis_server.url, write_only=True)
        emitter.emit("bin", {"blob": b"\x00\xff\x10", "n": 1}, to=client.sio.get_sid())
        emitter.emit("bin", (1, "two", [3], b"four"))
        emitter.emit("bin", {"skipped": True}, skip_sid=client.sio.get_sid())
        emitter.emit("bin", "sentinel")
        got = []
        while (item := client.get("bin")) != "sentinel":
            got.append(item)
        seen["binary"] = got
        seen["transport"] = client.sio.transport()
    finally:
        client.sio.disconnect()
    return seen


EXPECTED = {
    "welcome": CONNECTED,
    "reply": "matches",
    "ack": None,
    "binary": [{"blob": b"\x00\xff\x10", "n": 1}, (1, "two", [3], b"four")],
}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_chat_script_gives_what_python_socketio_msgpack_server_gives(
        start_quench, redis_server, reference, transport):
    node = start_quench("--parser", "msgpack", "--message-queue", redis_server.url)
    node.wait_for_log(r'subscribed to channel "socketio"')
    ours = chat_script(node.url, TRANSPORTS[transport], redis_server)
    theirs = chat_script(reference, TRANSPORTS[transport], redis_server)
    assert ours == theirs
    assert {k: v for k, v in ours.items() if k != "transport"} == EXPECTED
    assert ours["transport"] == ("polling" if transport == "polling" else "websocket")


def test_a_msgpack_quench_and_a_msgpack_python_node_share_the_queue_in_json(start_quench, redis_server, reference):
    """Emits and acknowledgements cross between the nodes; every message on the channel is JSON."""
    node = start_quench("--parser", "msgpack", "--message-queue", redis_server.url)
    listener = redis.Redis(port=redis_server.port).pubsub()
    listener.subscribe("socketio")
    ours = MsgPackClient(node.url, ["websocket"])
    theirs = MsgPackClient(reference, ["websocket"])
    try:
        ours.get("system_message")
        theirs.get("system_message")
        redis_server.wait_subscribers(3)  # quench, the python node (after its first client) and the listener
        theirs.sio.emit("relay", {"text": "to everyone", "blob": b"\x01"})
        assert ours.get("bot_message") == {"text": "to everyone", "blob": b"\x01"}
        assert theirs.get("bot_message") == {"text": "to everyone", "blob": b"\x01"}
        # The python node asks quench's client for an acknowledgement across the queue; quench publishes
        # python's `callback` message with the client's answer.
        theirs.sio.emit("ask", ours.sio.get_sid())
        assert ours.get("question") == {"text": "ack me", "blob": b"?"}
        expected = {"text": "acked", "args": ["pong", 7]}
        assert theirs.get("bot_message") == expected
        assert ours.get("bot_message") == expected
    finally:
        ours.sio.disconnect()
        theirs.sio.disconnect()
    methods = []
    while (message := listener.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            methods.append(json.loads(message["data"])["method"])  # JSON, not msgpack
    assert "emit" in methods and "callback" in methods, methods
    listener.close()


def test_reminders_arrive_as_msgpack(start_quench):
    node = start_quench("--parser", "msgpack", "--reminder-interval", "1")
    client = MsgPackClient(node.url, ["websocket"])
    try:
        for _ in range(2):
            assert REMINDER_RE.match(client.reminders.get(timeout=10)["text"])
    finally:
        client.sio.disconnect()


def test_a_text_client_on_a_msgpack_server_is_told_why_it_is_closed(start_quench):
    node = start_quench("--parser", "msgpack")
    ws = websocket.create_connection(f"ws://127.0.0.1:{node.port}/socket.io/?EIO=4&transport=websocket", timeout=5)
    try:
        assert ws.recv().startswith("0{")
        ws.send("40")
        node.wait_for_log(r"warn bad Socket\.IO packet .*a text message, but this server's parser is msgpack \(--parser\); closing")
    finally:
        ws.close()


def test_a_json_server_refuses_a_msgpack_client_clearly(start_quench):
    node = start_quench()
    client = socketio.Client(serializer="msgpack", reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(node.url, transports=["websocket"], wait_timeout=1)
    client.disconnect()
    node.wait_for_log(r"warn bad Socket\.IO packet .*; closing")
