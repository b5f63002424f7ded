"""The RabbitMQ message queue (issue 23): quench nodes on a real rabbitmq-server beside python-socketio's
KombuManager (a server node and a write-only emitter) and AsyncAioPikaManager, on one fanout exchange.

One broker serves the whole module (amqp_support.py); every test has an exchange (--channel) of its own.
No fixed sleeps: readiness is polled (bindings, log lines), and the absence of a message is proven by a
sentinel sent after it (a queue keeps each publisher's order).
"""

import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest
import requests
import socketio

kombu = pytest.importorskip("kombu")

from amqp_support import rabbit  # noqa: E402,F401  (fixture: one broker per module)
from conftest import free_port, run_cli, wait_until  # noqa: E402
from interop_helpers import EioWS, reply_re  # noqa: E402
from test_redis import SENTINEL, clients, received_until_sentinel  # noqa: E402,F401  (clients is a fixture)
from test_redis_tls import certificates  # noqa: E402,F401  (fixture: the broker's amqps:// listener uses them)


@pytest.fixture
def channel(request):
    """An exchange of the test's own."""
    return f"t-{request.node.name[:40]}-{uuid.uuid4().hex[:6]}".replace("[", "-").replace("]", "")


def start_node(start_quench, url, channel, *extra):
    node = start_quench("--message-queue", url, "--channel", channel, *extra)
    node.wait_for_log(r'info message queue: consuming queue "python-socketio\.[0-9a-f-]{36}" bound to fanout exchange', timeout=15)
    return node


def node_queue(node):
    return re.search(r'consuming queue "(python-socketio\.[0-9a-f-]{36})"', node.log_text()).group(1)


def emitter(rabbit, channel, vhost=""):
    return socketio.KombuManager(rabbit.url_for(vhost=vhost), channel=channel, write_only=True)


class Tap:
    """A Kombu consumer with a queue of its own on the exchange: what quench publishes, as a Kombu peer reads it."""

    def __init__(self, rabbit, channel):
        self.connection = kombu.Connection(rabbit.url)
        exchange = kombu.Exchange(channel, type="fanout", durable=False)
        self.queue = self.connection.SimpleQueue(kombu.Queue(f"tap-{uuid.uuid4()}", exchange, durable=False,
                                                             queue_arguments={"x-expires": 300000}))

    def get(self, timeout=10):
        message = self.queue.get(timeout=timeout)
        message.ack()
        return message

    def close(self):
        self.queue.close()
        self.connection.close()


# ----------------------------------------------------------------------------------------------- flags

@pytest.mark.parametrize("args, flag", [
    (("--message-queue", "amqps://h:x"), "--message-queue"),
    (("--message-queue", "amqp://h", "--message-queue-tls-host", "h"), "--message-queue-tls-host"),
    (("--message-queue", "amqp://h:0"), "--message-queue"),
    (("--message-queue", "amqp://h", "--recovery-window", "30s"), "--recovery-window"),
    (("--message-queue", "amqp://h", "--channel", "amq.topic"), "--channel"),
    (("--message-queue", "amqp://h", "--channel", "x" * 233), "--channel"),
    (("--message-queue", "amqp://h", "--message-queue-ca", "/etc/hostname"), "--message-queue-ca"),
])
def test_amqp_flags_that_cannot_work_exit_64_naming_the_flag(args, flag):
    r = run_cli(*args)
    assert r.returncode == 64, f"exit {r.returncode}; stderr={r.stderr!r}"
    assert flag in r.stderr, r.stderr


# -------------------------------------------------------------------------------- Kombu, both directions

def test_kombu_emitter_reaches_exactly_the_addressed_clients_on_two_nodes(start_quench, rabbit, channel, clients):
    a, b = start_node(start_quench, rabbit.url, channel), start_node(start_quench, rabbit.url, channel)
    a1, a2, b1 = clients(a), clients(a), clients(b)
    manager = emitter(rabbit, channel)
    manager.emit("bot_message", {"text": "everyone"})
    manager.emit("bot_message", {"text": "a2 only"}, to=a2.sid)
    manager.emit("bot_message", {"text": "b1 only"}, room=b1.sid)
    manager.emit("bot_message", {"text": "all but a1"}, skip_sid=a1.sid)
    manager.emit("bot_message", {"text": "binary", "blob": b"\x00\xff"}, to=b1.sid)
    # A named room: a2 and b1 enter it through the exchange (as a python node's enter_room publishes it).
    for sid in (a2.sid, b1.sid):
        manager._publish({"method": "enter_room", "sid": sid, "room": "team", "namespace": "/", "host_id": manager.host_id})
    manager.emit("bot_message", {"text": "team"}, room="team")
    big = "z" * 2_000_000  # many AMQP frames (frame_max 128 KiB)
    publish_as_kombu(rabbit, channel, {"method": "emit", "event": "bot_message", "data": [{"text": big}], "namespace": "/",
                                       "room": a1.sid, "skip_sid": None, "callback": None, "host_id": manager.host_id})
    manager.emit("bot_message", SENTINEL)
    assert received_until_sentinel(a1) == [{"text": "everyone"}, {"text": big}]
    assert received_until_sentinel(a2) == [{"text": "everyone"}, {"text": "a2 only"}, {"text": "all but a1"},
                                           {"text": "team"}]
    assert received_until_sentinel(b1) == [{"text": "everyone"}, {"text": "b1 only"}, {"text": "all but a1"},
                                           {"text": "binary", "blob": b"\x00\xff"}, {"text": "team"}]
    # Disconnect by sid: a write-only manager cannot call disconnect() (it applies it locally first), so
    # publish the very message a python server node's disconnect() sends.
    b1_sid = b1.sid
    manager._publish({"method": "disconnect", "sid": b1_sid, "namespace": "/", "host_id": manager.host_id})
    assert b1.disconnected.wait(10), "b1 was not disconnected"
    b.wait_for_log(r"\binfo disconnect sid=" + re.escape(b1_sid) + r' reason="server namespace disconnect"')
    manager.emit("bot_message", SENTINEL)
    assert received_until_sentinel(a1) == [] and not a1.disconnected.is_set()


PY_KOMBU_NODE = textwrap.dedent('''
    import sys, socketserver
    from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server
    import socketio

    url, port, channel = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sio = socketio.Server(client_manager=socketio.KombuManager(url, channel=channel), async_mode="threading")

    @sio.on("relay")
    def relay(sid, data):
        sio.emit("bot_message", data)  # everyone, on every node

    @sio.on("ask")
    def ask(sid, target):
        def answered(*args):
            sio.emit("bot_message", {"text": "acked", "args": list(args)})
        sio.emit("question", {"text": "ack me"}, to=target, callback=answered)

    @sio.on("kick")
    def kick(sid, target):
        sio.disconnect(target)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Threaded(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = make_server("127.0.0.1", port, socketio.WSGIApp(sio), server_class=Threaded, handler_class=Quiet)
    print("ready", flush=True)
    server.serve_forever()
''')

PY_AIOPIKA_NODE = textwrap.dedent('''
    import sys
    from aiohttp import web
    import socketio

    url, port, channel = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sio = socketio.AsyncServer(client_manager=socketio.AsyncAioPikaManager(url, channel=channel), async_mode="aiohttp")

    @sio.on("relay")
    async def relay(sid, data):
        await sio.emit("bot_message", data)

    @sio.on("ask")
    async def ask(sid, target):
        async def answered(*args):
            await sio.emit("bot_message", {"text": "acked", "args": list(args)})
        await sio.emit("question", {"text": "ack me"}, to=target, callback=answered)

    @sio.on("kick")
    async def kick(sid, target):
        await sio.disconnect(target)

    app = web.Application()
    sio.attach(app)
    web.run_app(app, host="127.0.0.1", port=port, print=lambda *args: print("ready", flush=True))
''')


@pytest.fixture
def python_node(tmp_path):
    procs = []

    def _start(script_text, url, channel):
        script = tmp_path / f"py_node_{len(procs)}.py"
        script.write_text(script_text)
        port = free_port()
        log_path = tmp_path / f"py_node_{len(procs)}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen([sys.executable, str(script), url, str(port), channel], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((proc, log))
        wait_until(lambda: proc.poll() is not None or "ready" in log_path.read_text(), 20, "python node ready")
        assert proc.poll() is None, log_path.read_text()
        return f"http://127.0.0.1:{port}"

    yield _start
    for proc, log in procs:
        proc.kill()  # aiohttp's graceful stop would wait a minute for its clients
        proc.wait(timeout=10)
        log.close()


@pytest.mark.parametrize("script", [PY_KOMBU_NODE, PY_AIOPIKA_NODE], ids=["kombu", "aio-pika"])
def test_python_server_node_and_quench_share_the_exchange_both_ways(start_quench, rabbit, channel, python_node,
                                                                    clients, script):
    node = start_node(start_quench, rabbit.url, channel)
    quench_client, victim = clients(node), clients(node)
    questions = queue.Queue()

    def on_question(data):
        questions.put(data)
        return "pong", 7

    quench_client.sio.on("question", on_question)
    url = python_node(script, rabbit.url, channel)
    py_bot = queue.Queue()
    py_client = socketio.Client(reconnection=False)
    py_client.on("bot_message", lambda data: py_bot.put(data))
    py_client.connect(url, transports=["polling"], wait_timeout=10)
    try:
        # The python node binds its queue on its first connection: quench's + python's.
        rabbit.wait_bindings(channel, 2)
        # python -> quench: an emit to everyone reaches python's own client and quench's.
        py_client.emit("relay", {"text": "from the python node"})
        assert py_bot.get(timeout=10) == {"text": "from the python node"}
        assert quench_client.get(quench_client.bot, timeout=10) == {"text": "from the python node"}
        # quench -> python: python asks quench's client for an ack across the exchange; quench publishes
        # python's `callback` message, which python's own consumer must accept; python then emits to everyone.
        py_client.emit("ask", quench_client.sid)
        assert questions.get(timeout=10) == {"text": "ack me"}
        expected = {"text": "acked", "args": ["pong", 7]}
        assert py_bot.get(timeout=10) == expected
        assert quench_client.get(quench_client.bot, timeout=10) == expected
        # A disconnect by sid from the python node drops quench's client, and only it.
        py_client.emit("kick", victim.sid)
        assert victim.disconnected.wait(10), "the python node's disconnect did not reach quench"
        assert not quench_client.disconnected.is_set()
    finally:
        # Without waiting for the held long-poll to come back (up to the python node's 25 s ping interval).
        py_client.eio.disconnect(abort=True)


def test_quench_publishes_what_kombu_publishes(start_quench, rabbit, channel, clients):
    """The bytes on the wire: quench's message has KombuManager's content type, encoding and delivery mode,
    and its body is the python-socketio JSON a Kombu consumer reads as text."""
    node = start_node(start_quench, rabbit.url, channel)
    client = clients(node)
    answers = queue.Queue()
    client.sio.on("question", lambda data: answers.put(data) or "yes")
    tap = Tap(rabbit, channel)
    try:
        manager = emitter(rabbit, channel)
        manager._publish({"method": "emit", "event": "question", "data": [{"q": 1}], "namespace": "/",
                          "room": client.sid, "skip_sid": None, "callback": [client.sid, "/", 5],
                          "host_id": "f" * 32})
        reference = tap.get()  # Kombu's own message, as sent
        assert answers.get(timeout=10) == {"q": 1}
        ours = tap.get()
        for message in (reference, ours):
            assert message.content_type == "text/plain" and message.content_encoding == "utf-8", message.properties
            assert message.properties.get("delivery_mode") == 2, message.properties
        assert json_of(ours.payload) == {"method": "callback", "host_id": "f" * 32, "sid": client.sid,
                                         "namespace": "/", "id": 5, "args": ["yes"]}
    finally:
        tap.close()


def publish_as_kombu(rabbit, channel, message):
    """Publishes `message` as KombuManager does (its str through a Kombu producer), but a failure raises
    (KombuManager logs it and gives up after one retry). With publisher confirms, so it returns once the broker
    has routed the message: what a test publishes next, on another connection, is queued behind it (RabbitMQ
    orders messages per channel only, and a 2 MB message still arriving would otherwise let a short one pass)."""
    import json
    with kombu.Connection(rabbit.url, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=kombu.Exchange(channel, type="fanout", durable=False))
        producer.publish(json.dumps(message))


def json_of(payload):
    import json
    return json.loads(payload) if isinstance(payload, (str, bytes)) else payload


def test_message_queue_metrics_follow_rabbitmq(start_quench, rabbit, channel, clients):
    from test_metrics import QUEUE, Scrape, wait_metric

    node = start_node(start_quench, rabbit.url, channel, "--metrics")
    wait_metric(node, "quench_message_queue_connected", lambda v: v == 1, "1 once consuming")
    client = clients(node)
    client.sio.on("question", lambda data: "yes")
    manager = emitter(rabbit, channel)
    manager.emit("bot_message", {"text": "from another node"})
    assert client.get(client.bot, what="the emit through RabbitMQ") == {"text": "from another node"}
    manager._publish({"method": "emit", "event": "question", "data": [{}], "namespace": "/", "room": client.sid,
                      "skip_sid": None, "callback": [client.sid, "/", 1], "host_id": "d" * 32})
    wait_metric(node, "quench_message_queue_published_total", lambda v: v == 1, "the answer published")
    scrape = Scrape(node)
    assert scrape.value("quench_message_queue_received_total") == 2
    assert scrape.value("quench_message_queue_dropped_total") == 0
    assert QUEUE <= scrape.names()


def test_amqps_verifies_the_broker_and_carries_messages(start_quench, rabbit, channel, clients, certificates):
    node = start_quench("--message-queue", rabbit.url_for(tls=True), "--message-queue-ca", certificates / "ca.pem",
                        "--channel", channel)
    node.wait_for_log(r'info message queue: consuming queue "python-socketio\.[0-9a-f-]{36}" bound to fanout exchange .* on amqps://guest@127\.0\.0\.1:', timeout=15)
    client = clients(node)
    emitter(rabbit, channel).emit("bot_message", {"text": "over TLS"})
    assert client.get(client.bot, timeout=10, what="the emit through amqps://") == {"text": "over TLS"}


@pytest.mark.parametrize("ca, name", [("other-ca.pem", None), ("ca.pem", "rabbit.test")], ids=["unknown-ca", "wrong-name"])
def test_an_amqps_broker_that_does_not_verify_is_one_line_and_retries(start_quench, rabbit, channel, clients,
                                                                     certificates, ca, name):
    extra = ["--message-queue-tls-host", name] if name else []
    node = start_quench("--message-queue", rabbit.url_for(tls=True), "--message-queue-ca", certificates / ca,
                        "--channel", channel, "--log-level", "debug", *extra)
    node.wait_for_log(r"^warn message queue: cannot reach RabbitMQ amqps://.*(SSL|certificate|verif)", timeout=15)
    node.wait_for_log_count(r"^debug message queue: consumer retries in \d+ ms", 2, timeout=15)
    assert len(re.findall(r"cannot reach RabbitMQ", node.log_text())) == 1
    assert "consuming queue" not in node.log_text()
    client = clients(node)
    client.sio.emit("user_message", {"text": "alone"})
    assert reply_re("alone").match(client.get(client.bot, what="reply")["text"])


# ------------------------------------------------------------------------------------------ two nodes

def test_two_quench_nodes_with_200_clients_get_every_emit_once(start_quench, rabbit, channel):
    a, b = start_node(start_quench, rabbit.url, channel), start_node(start_quench, rabbit.url, channel)
    sockets = []
    try:
        for index in range(200):
            ws = EioWS(a if index % 2 else b)
            ws.handshake()
            sockets.append(ws)
        manager = emitter(rabbit, channel)
        for n in range(5):
            manager.emit("bot_message", {"n": n})
        manager.emit("bot_message", SENTINEL)
        for ws in sockets:
            got = []
            while True:
                packet = ws.recv_sio(timeout=15)
                if packet.get("data") == ["bot_message", SENTINEL]:
                    break
                got.append(packet.get("data"))
            assert got == [["bot_message", {"n": n}] for n in range(5)]
    finally:
        for ws in sockets:
            ws.close()


def test_a_polling_request_on_another_node_is_passed_on_over_amqp(start_quench, rabbit, channel):
    """Any-node routing travels over AMQP too: a session made on one node is served through the other."""
    a, b = start_node(start_quench, rabbit.url, channel), start_node(start_quench, rabbit.url, channel)
    opened = requests.get(f"{a.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    assert opened.status_code == 200 and opened.text.startswith("0"), opened.text
    sid = re.search(r'"sid":"([^"]+)"', opened.text).group(1)
    posted = requests.post(f"{b.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="40", timeout=10)
    assert (posted.status_code, posted.text) == (200, "ok")
    got = requests.get(f"{b.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=10)
    assert got.status_code == 200 and got.text.startswith("40{"), got.text


# ---------------------------------------------------------------------------------------------- faults

def test_broker_restart_keeps_clients_and_later_emits_arrive(start_quench, rabbit, channel, clients):
    a, b = start_node(start_quench, rabbit.url, channel), start_node(start_quench, rabbit.url, channel)
    a1, b1 = clients(a), clients(b)
    rabbit.ctl("stop_app")
    try:
        for node in (a, b):
            node.wait_for_log(r"warn message queue: lost RabbitMQ", timeout=15)
        for client in (a1, b1):  # still served while the broker is away
            client.sio.emit("user_message", {"text": "still here"})
            assert reply_re("still here").match(client.get(client.bot, what="reply")["text"])
    finally:
        rabbit.ctl("start_app")
    for node in (a, b):
        node.wait_for_log(r"info message queue: RabbitMQ .* is back; declared exchange", timeout=30)
    manager = emitter(rabbit, channel)
    manager.emit("bot_message", {"text": "after restart"})
    manager.emit("bot_message", SENTINEL)
    for client in (a1, b1):
        assert received_until_sentinel(client) == [{"text": "after restart"}]
        assert client.sio.connected and not client.disconnected.is_set()
    for node in (a, b):
        text = node.log_text()
        assert len(re.findall(r"lost RabbitMQ", text)) == 1, text[-3000:]
        assert len(re.findall(r"is back; declared exchange", text)) == 1, text[-3000:]
        assert "disconnect sid=" not in text


def test_a_deleted_queue_is_declared_again(start_quench, rabbit, channel, clients):
    node = start_node(start_quench, rabbit.url, channel)
    client = clients(node)
    rabbit.ctl("delete_queue", node_queue(node))
    node.wait_for_log(r"warn message queue: lost RabbitMQ .*cancelled this node's consumer", timeout=15)
    node.wait_for_log(r"info message queue: RabbitMQ .* is back; declared exchange", timeout=15)
    rabbit.wait_bindings(channel, 1)
    manager = emitter(rabbit, channel)
    manager.emit("bot_message", {"text": "after delete"})
    manager.emit("bot_message", SENTINEL)
    assert received_until_sentinel(client) == [{"text": "after delete"}]


def test_wrong_password_is_one_clear_line_at_start_and_on_every_retry(start_quench, rabbit, channel, clients):
    node = start_quench("--message-queue", rabbit.url_for(password="wrong"), "--channel", channel)
    lines = node.wait_for_log_count(r"^error message queue: RabbitMQ amqp://guest@127\.0\.0\.1:\d+/ refused the login.*", 2, timeout=15)
    assert "ACCESS_REFUSED" in lines[0].group(0), lines[0].group(0)
    assert "wrong" not in node.log_text()
    with open(f"/proc/{node.proc.pid}/cmdline", "rb") as f:  # the password is masked on the command line too
        assert b"guest:*****@" in f.read()
    client = clients(node)  # served all the same
    client.sio.emit("user_message", {"text": "alone"})
    assert reply_re("alone").match(client.get(client.bot, what="reply")["text"])


def test_unknown_vhost_is_refused_on_every_retry_then_joins_once_created(start_quench, rabbit, channel, clients):
    vhost = f"v-{uuid.uuid4().hex[:8]}"
    node = start_quench("--message-queue", rabbit.url_for(vhost=vhost), "--channel", channel)
    lines = node.wait_for_log_count(r"^error message queue: RabbitMQ .* refused the login or virtual host \"" + vhost + ".*", 2, timeout=15)
    assert "not found" in lines[0].group(0) or "NOT_ALLOWED" in lines[0].group(0), lines[0].group(0)
    client = clients(node)
    rabbit.ctl("add_vhost", vhost)
    try:
        rabbit.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        node.wait_for_log(r"info message queue: RabbitMQ .* is back; declared exchange", timeout=20)
        manager = emitter(rabbit, channel, vhost=vhost)
        manager.emit("bot_message", {"text": "in the vhost"})
        assert client.get(client.bot, timeout=10, what="emit in the new vhost") == {"text": "in the vhost"}
    finally:
        rabbit.ctl("delete_vhost", vhost)


def test_memory_alarm_blocks_publishing_which_waits_then_resumes(start_quench, rabbit, channel, clients):
    """A memory alarm: the broker blocks quench's publishing connection (connection.blocked). quench logs
    why, keeps its clients served, holds the message in its publish queue and sends it once unblocked."""
    node = start_node(start_quench, rabbit.url, channel)
    client = clients(node)
    answers = queue.Queue()
    release = threading.Event()

    def on_question(data):
        answers.put(data)
        if data["n"] == 2:
            release.wait(30)  # answered only once the alarm is on
        return data["n"]

    client.sio.on("question", on_question)
    tap = Tap(rabbit, channel)
    manager = emitter(rabbit, channel)

    def ask(n):
        manager._publish({"method": "emit", "event": "question", "data": [{"n": n}], "namespace": "/",
                          "room": client.sid, "skip_sid": None, "callback": [client.sid, "/", n],
                          "host_id": "e" * 32})
        assert answers.get(timeout=10) == {"n": n}

    def next_callback():
        while True:
            payload = json_of(tap.get(timeout=30).payload)
            if payload.get("method") == "callback":
                return payload["id"]

    try:
        ask(1)  # quench's publisher connects and publishes
        assert next_callback() == 1
        ask(2)  # reaches the client before the alarm; its answer comes after
        rabbit.ctl("set_vm_memory_high_watermark", "0.0000001")
        try:
            release.set()
            node.wait_for_log(r"warn message queue: RabbitMQ blocked publishing \(.*\); messages wait in the publish queue", timeout=20)
            client.sio.emit("user_message", {"text": "served while blocked"})
            assert reply_re("served while blocked").match(client.get(client.bot, what="reply")["text"])
        finally:
            rabbit.ctl("set_vm_memory_high_watermark", "0.4")
        node.wait_for_log(r"info message queue: RabbitMQ unblocked publishing after \d+ ms", timeout=20)
        assert next_callback() == 2
    finally:
        tap.close()


@pytest.mark.deadline(90)
def test_broker_stopped_for_20_seconds_is_noticed_and_traffic_resumes(start_quench, rabbit, channel, clients):
    node = start_node(start_quench, rabbit.url, channel)
    client = clients(node)
    beam = rabbit.beam_pid()
    assert beam, "no pid file from rabbitmq-server"
    os.kill(beam, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        # Two missed heartbeats (10 s each) and the consumer gives up on the silent broker.
        node.wait_for_log(r"warn message queue: lost RabbitMQ .*(heartbeat|timed out|timeout)", timeout=35)
        client.sio.emit("user_message", {"text": "served meanwhile"})
        assert reply_re("served meanwhile").match(client.get(client.bot, what="reply")["text"])
        wait_until(lambda: time.monotonic() - stopped >= 20, 25, "20 s stopped")
    finally:
        os.kill(beam, signal.SIGCONT)
    node.wait_for_log(r"info message queue: RabbitMQ .* is back; declared exchange", timeout=40)
    manager = emitter(rabbit, channel)
    manager.emit("bot_message", {"text": "after the stop"})
    manager.emit("bot_message", SENTINEL)
    assert received_until_sentinel(client, timeout=15) == [{"text": "after the stop"}]


@pytest.mark.deadline(60)
def test_node_link_announces_over_the_exchange_and_carries_a_forwarded_request(start_quench, rabbit, channel):
    """--node-link over RabbitMQ: the nodes find each other through quench_link messages on the fanout exchange,
    link both ways, and a polling request for A's session that lands on B travels on the link."""
    from cluster_support import link_connections
    from test_any_node import connect_polling
    from test_metrics import metric

    a, b = (start_node(start_quench, rabbit.url, channel, "--metrics", "--node-link", f"127.0.0.1:{free_port()}") for _ in range(2))
    for node in (a, b):
        wait_until(lambda: link_connections(node) >= 2, 15, what=f"node on port {node.port} linked both ways")
    connect_polling(a, b, b)
    assert metric(b, "quench_node_link_frames_sent_total") > 0
    assert metric(a, "quench_node_link_frames_received_total") > 0
    assert "skipped" not in a.log_text() + b.log_text()
