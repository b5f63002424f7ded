"""The Redis message queue (issue 7): quench nodes, python-socketio's RedisManager and a python-socketio
server node on one channel of a real redis-server started here on a free loopback port.

No fixed sleeps: readiness is polled (PING, PUBSUB NUMSUB, log lines) with deadlines, and the absence of a
message is proven by a sentinel sent after it (pub/sub keeps order per publisher and per node).
"""

import pathlib
import queue
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import socketio

redis = pytest.importorskip("redis")

from conftest import POLL_S, free_port, run_cli, wait_until  # noqa: E402
from interop_helpers import SioClient, reply_re  # noqa: E402
from test_metrics import metric  # noqa: E402

CHANNEL = "socketio"
SENTINEL = {"text": "sentinel"}




class RedisServer:
    """redis-server on 127.0.0.1:port without persistence; stop() and start() keep the port."""

    def __init__(self, tmp_path):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.fail("redis-server not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = tmp_path / f"redis-{self.port}.log"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._pings, 10, f"redis-server on port {self.port} answering PING")

    def _pings(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def subscribers(self, channel=CHANNEL) -> int:
        try:
            return dict(redis.Redis(port=self.port, socket_connect_timeout=0.5).pubsub_numsub(channel)).get(
                channel.encode(), 0)
        except redis.RedisError:
            return 0

    def wait_subscribers(self, count, timeout=15):
        wait_until(lambda: self.subscribers() >= count, timeout, f"{count} subscribers on {CHANNEL!r}")


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clients():
    made = []

    def _make(server, **kwargs):
        client = SioClient(server, **kwargs).connect()
        client.get(client.system, what="system_message")
        made.append(client)
        return client

    yield _make
    for client in made:
        client.disconnect()


def start_node(start_quench, redis_server, *extra):
    node = start_quench("--message-queue", redis_server.url, "--reminder-interval", "0", *extra)
    return node


def emitter(redis_server):
    return socketio.RedisManager(redis_server.url, write_only=True)


def received_until_sentinel(client, timeout=10.0):
    """Every bot_message `client` got up to and excluding the sentinel."""
    got = []
    while True:
        data = client.get(client.bot, timeout=timeout, what="sentinel bot_message")
        if data == SENTINEL:
            return got
        got.append(data)


@pytest.mark.parametrize("args, flag", [
    (("--message-queue", "http://127.0.0.1:6379"), "--message-queue"),
    (("--message-queue", "redis://h:70000"), "--message-queue"),
    (("--message-queue", "rediss://h", "--message-queue-ca", "/nonexistent/ca.pem"), "--message-queue-ca"),
    (("--message-queue", "redis://h", "--message-queue-tls-host", "h"), "--message-queue-tls-host"),
    (("--message-queue", "sentinel://h"), "--message-queue"),
    (("--message-queue", "redis://h", "--channel", ""), "--channel"),
])
def test_bad_queue_flags_exit_64_naming_the_flag(args, flag):
    r = run_cli(*args)
    assert r.returncode == 64, f"exit {r.returncode}; stderr={r.stderr!r}"
    assert flag in r.stderr, r.stderr


def test_help_lists_the_queue_flags():
    r = run_cli("--help")
    assert "--message-queue" in r.stdout and "--channel" in r.stdout, r.stdout


def test_write_only_emitter_reaches_exactly_the_addressed_clients(start_quench, redis_server, clients):
    a, b = start_node(start_quench, redis_server), start_node(start_quench, redis_server)
    redis_server.wait_subscribers(2)
    a.wait_for_log(r'subscribed to channel "socketio"')
    a1, a2, b1 = clients(a), clients(a), clients(b)
    manager = emitter(redis_server)
    manager.emit("bot_message", {"text": "everyone"})
    manager.emit("bot_message", {"text": "a2 only"}, to=a2.sid)
    manager.emit("bot_message", {"text": "b1 only"}, room=b1.sid)
    manager.emit("bot_message", {"text": "all but a1"}, skip_sid=a1.sid)
    manager.emit("bot_message", {"text": "all but a1 and b1"}, skip_sid=[a1.sid, b1.sid])
    manager.emit("other_event", {"text": "not a bot_message"})
    manager.emit("bot_message", {"text": "other namespace"}, namespace="/nowhere")
    manager.emit("bot_message", SENTINEL)
    assert received_until_sentinel(a1) == [{"text": "everyone"}]
    assert received_until_sentinel(a2) == [{"text": "everyone"}, {"text": "a2 only"}, {"text": "all but a1"},
                                           {"text": "all but a1 and b1"}]
    assert received_until_sentinel(b1) == [{"text": "everyone"}, {"text": "b1 only"}, {"text": "all but a1"}]


def test_binary_and_multiple_arguments_arrive_intact(start_quench, redis_server):
    node = start_node(start_quench, redis_server)
    redis_server.wait_subscribers(1)
    got = queue.Queue()
    sio = socketio.Client(reconnection=False)
    sio.on("bin", lambda *args: got.put(args))
    sio.connect(node.url, transports=["websocket"], wait_timeout=10)
    try:
        manager = emitter(redis_server)
        manager.emit("bin", {"blob": b"\x00\xff\x10", "n": 1}, to=sio.get_sid())
        manager.emit("bin", (1, "two", [3], b"four"))
        manager.emit("bin", None)  # python publishes data [null]: no argument at all
        assert got.get(timeout=10) == ({"blob": b"\x00\xff\x10", "n": 1},)
        assert got.get(timeout=10) == (1, "two", [3], b"four")
        assert got.get(timeout=10) == ()
    finally:
        sio.disconnect()


def test_disconnect_by_sid_drops_the_client_on_whichever_node_holds_it(start_quench, redis_server, clients):
    a, b = start_node(start_quench, redis_server), start_node(start_quench, redis_server)
    redis_server.wait_subscribers(2)
    a1, b1 = clients(a), clients(b)
    b1_sid = b1.sid
    manager = emitter(redis_server)
    # A write-only RedisManager cannot call disconnect() (it first applies it locally, through a server it
    # does not have), so publish the very message a python server node's disconnect() sends
    # (pubsub_manager.py PubSubManager.disconnect).
    manager._publish({"method": "disconnect", "sid": b1_sid, "namespace": "/", "host_id": manager.host_id})
    assert b1.disconnected.wait(10), "b1 was not disconnected"
    b.wait_for_log(r"\binfo disconnect sid=" + re.escape(b1_sid) + r' reason="server namespace disconnect"')
    manager.emit("bot_message", SENTINEL)
    assert received_until_sentinel(a1) == []
    assert not a1.disconnected.is_set()
    assert "disconnect sid=" not in a.log_text()


def test_redis_restart_keeps_clients_and_later_emits_arrive(start_quench, redis_server, clients):
    a, b = start_node(start_quench, redis_server), start_node(start_quench, redis_server)
    redis_server.wait_subscribers(2)
    a1, b1 = clients(a), clients(b)
    redis_server.stop()
    for node in (a, b):
        node.wait_for_log(r"warn message queue: lost Redis", timeout=10)
    # Still served while Redis is away.
    for client in (a1, b1):
        client.sio.emit("user_message", {"text": "still here"})
        assert reply_re("still here").match(client.get(client.bot, what="reply")["text"])
    redis_server.start()
    redis_server.wait_subscribers(2, timeout=20)
    for node in (a, b):
        node.wait_for_log(r"info message queue: Redis .* is back; resubscribed", timeout=20)
    manager = emitter(redis_server)
    manager.emit("bot_message", {"text": "after restart"})
    manager.emit("bot_message", SENTINEL)
    for client in (a1, b1):
        assert received_until_sentinel(client) == [{"text": "after restart"}]
        assert client.sio.connected and not client.disconnected.is_set()
    for node in (a, b):
        text = node.log_text()
        assert len(re.findall(r"lost Redis", text)) == 1, text[-3000:]
        assert len(re.findall(r"is back; resubscribed", text)) == 1, text[-3000:]
        assert "disconnect sid=" not in text


def test_redis_down_at_start_serves_clients_then_joins(start_quench, tmp_path, clients):
    redis_server = RedisServer(tmp_path)  # not started yet
    node = start_node(start_quench, redis_server)
    node.wait_for_log(r"warn message queue: cannot reach Redis .*serving this node's clients only", timeout=10)
    client = clients(node)
    client.sio.emit("user_message", {"text": "alone"})
    assert reply_re("alone").match(client.get(client.bot, what="reply")["text"])
    try:
        redis_server.start()
        redis_server.wait_subscribers(1, timeout=20)
        emitter(redis_server).emit("bot_message", {"text": "joined"})
        assert client.get(client.bot, timeout=10, what="queued emit") == {"text": "joined"}
        assert len(re.findall(r"cannot reach Redis", node.log_text())) == 1
    finally:
        redis_server.stop()


def test_malformed_messages_are_logged_and_skipped(start_quench, redis_server, clients):
    """Each kind of junk is skipped; anyone who can publish can send it in a loop, so the log gets the first
    few lines of a window and /metrics counts the rest."""
    node = start_node(start_quench, redis_server, "--metrics")
    redis_server.wait_subscribers(1)
    client = clients(node)
    r = redis.Redis(port=redis_server.port)
    junks = (b"not json", b"[1,2]", b'{"method":"emit"}', b'{"method":"emit","event":"x","data":[],"room":5}',
             b'{"method":"warp"}', b'{"method":"emit","event":"bot_message","binary":true,"data":[[1],"@@"]}')
    for junk in junks * 50:
        r.publish(CHANNEL, junk)
    emitter(redis_server).emit("bot_message", SENTINEL)
    assert received_until_sentinel(client) == []
    lines = node.wait_for_log_count(r"warn message queue: skipped a malformed message", 5)
    assert len(lines) == 5, f"{len(lines)} lines for {len(junks) * 50} malformed messages in one window"
    assert metric(node, "quench_log_lines_suppressed_total") >= len(junks) * 50 - 5


def test_the_debug_log_shows_a_large_message_cut_short(start_quench, redis_server, clients):
    node = start_node(start_quench, redis_server, "--log-level", "debug")
    redis_server.wait_subscribers(1)
    client = clients(node)
    big = "y" * 5_000_000
    emitter(redis_server).emit("bot_message", {"text": big, "note": "line\nbreak"})
    assert client.get(client.bot, timeout=20)["text"] == big
    line = node.wait_for_log(r"^debug message queue: received (\d+) bytes: (.*)$")
    assert int(line.group(1)) > 5_000_000
    assert len(line.group(2)) < 400 and line.group(2).endswith(f"…({line.group(1)} bytes)")
    longest = max(len(text.encode()) for text in node.log_text().splitlines())
    assert longest < 2200, f"a log line of {longest} bytes"


PY_NODE = textwrap.dedent('''
    import sys, socketserver
    from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server
    import socketio

    url, port = sys.argv[1], int(sys.argv[2])
    sio = socketio.Server(client_manager=socketio.RedisManager(url), async_mode="threading")

    @sio.on("relay")
    def relay(sid, data):
        sio.emit("bot_message", data)  # everyone, on every node

    @sio.on("ask")
    def ask(sid, target):
        def answered(*args):
            sio.emit("bot_message", {"text": "acked", "args": list(args)})
        sio.emit("question", {"text": "ack me"}, to=target, callback=answered)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Threaded(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = make_server("127.0.0.1", port, socketio.WSGIApp(sio), server_class=Threaded, handler_class=Quiet)
    print("ready", flush=True)
    server.serve_forever()
''')


@pytest.fixture
def python_node(tmp_path, redis_server):
    script = tmp_path / "py_node.py"
    script.write_text(PY_NODE)
    port = free_port()
    log = open(tmp_path / "py_node.log", "wb")
    proc = subprocess.Popen([sys.executable, str(script), redis_server.url, str(port)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    wait_until(lambda: proc.poll() is not None or "ready" in (tmp_path / "py_node.log").read_text(), 15,
               "python node ready")
    assert proc.poll() is None, (tmp_path / "py_node.log").read_text()
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_python_socketio_server_node_and_quench_share_the_channel(start_quench, redis_server, python_node, clients):
    node = start_node(start_quench, redis_server)
    quench_client = clients(node)
    questions = queue.Queue()

    def on_question(data):
        questions.put(data)
        return "pong", 7

    quench_client.sio.on("question", on_question)
    py_bot = queue.Queue()
    py_client = socketio.Client(reconnection=False)
    py_client.on("bot_message", lambda data: py_bot.put(data))
    py_client.connect(python_node, transports=["polling"], wait_timeout=10)  # wsgiref: no WebSocket
    try:
        # python-socketio starts its listener on its first connection: quench + python = 2 subscribers.
        redis_server.wait_subscribers(2)
        # An emit from the python node reaches its own client and quench's.
        py_client.emit("relay", {"text": "from the python node"})
        assert py_bot.get(timeout=10) == {"text": "from the python node"}
        assert quench_client.get(quench_client.bot, timeout=10) == {"text": "from the python node"}
        # A write-only emitter reaches both nodes' clients.
        emitter(redis_server).emit("bot_message", {"text": "from an emitter"})
        assert py_bot.get(timeout=10) == {"text": "from an emitter"}
        assert quench_client.get(quench_client.bot, timeout=10) == {"text": "from an emitter"}
        # quench publishes too: the python node asks quench's client for an ack across the queue; quench
        # publishes python's `callback` message; python's callback then emits to everyone.
        py_client.emit("ask", quench_client.sid)
        assert questions.get(timeout=10) == {"text": "ack me"}
        expected = {"text": "acked", "args": ["pong", 7]}
        assert py_bot.get(timeout=10) == expected
        assert quench_client.get(quench_client.bot, timeout=10) == expected
    finally:
        py_client.disconnect()


def test_acknowledgements_a_client_never_gives_are_bounded(start_quench, redis_server, python_node, open_ws):
    """A python node asks quench's client for 101 acknowledgements it never gives: quench keeps the newest 100
    (one warn line), and a late answer to the dropped oldest goes nowhere while the newest still does."""
    node = start_node(start_quench, redis_server)
    ws = open_ws(node)
    _, sio_sid = ws.handshake()
    py_bot = queue.Queue()
    py_client = socketio.Client(reconnection=False)
    py_client.on("bot_message", lambda data: py_bot.put(data))
    py_client.connect(python_node, transports=["polling"], wait_timeout=10)
    try:
        redis_server.wait_subscribers(2)
        ids = []
        for _ in range(101):  # one at a time: python's server refuses a polling POST of more than 16 packets
            py_client.emit("ask", sio_sid)
            packet = ws.recv_sio(timeout=10)
            assert packet["data"] == ["question", {"text": "ack me"}], packet
            ids.append(packet["id"])
        assert ids == list(range(101))
        node.wait_for_log(r"^warn acknowledgements: 100 waiting for sid=\S+ peer=127\.0\.0\.1 namespace=/; dropping the oldest")
        ws.send('430["zero"]')  # the dropped one: nothing is published for it
        ws.send('43100["hundred"]')
        assert py_bot.get(timeout=10) == {"text": "acked", "args": ["hundred"]}
        assert len(re.findall(r"acknowledgements: 100 waiting", node.log_text())) == 1
    finally:
        py_client.disconnect()
