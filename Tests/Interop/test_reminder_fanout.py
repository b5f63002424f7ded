"""The reminder fan-out: one frame built for every WebSocket and written straight to each socket that has
nothing waiting, the rest queued; polling clients in the same broadcast; a slow reader's stream kept whole."""

import re
import shutil
import socket
import subprocess
import threading

import pytest
import socketio

from conftest import wait_until
from interop_helpers import REMINDER_RE, EioWS, parse_sio, reply_re, user_message

CAP = 2_000_000  # --max-buffered for the slow reader (with --max-payload 100000)
REMINDER_LINE = r"debug reminder at \d\d:\d\d to \d+ sessions"


def test_reminders_reach_a_slow_reader_whole_and_between_its_replies(start_quench, open_ws):
    # A client with a 4 KB receive buffer sends 20 messages of 64 KB and reads nothing while at least three
    # reminders fire: the replies meet a full socket (lws holds a tail, quench queues behind it), and each
    # reminder is written straight to the socket or queued behind them, whichever the socket's state allows.
    # When it reads, every frame must be whole: the 20 replies in the order sent, and the three reminders.
    server = start_quench("--reminder-interval", "1", "--max-payload", "100000", "--max-buffered", str(CAP),
                          "--log-level", "debug")
    ws = open_ws(server, timeout=30.0, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    ws.handshake()
    body = "x" * 65536
    count = 20
    mark = len(re.findall(REMINDER_LINE, server.log_text()))
    for i in range(count):
        ws.send(user_message({"text": f"{i}-{body}"}))
    server.wait_for_log_count(REMINDER_LINE, mark + 3, timeout=30)
    replies, reminders = 0, 0
    while replies < count or reminders < 3:
        pkt = parse_sio(ws.recv_text(timeout=30))
        assert pkt["type"] == 2 and pkt["nsp"] == "/", pkt
        name, payload = pkt["data"]
        assert name == "bot_message" and set(payload) == {"text"}, pkt
        if REMINDER_RE.match(payload["text"]):
            reminders += 1
            continue
        assert reply_re(f"{replies}-{body}").match(payload["text"]), f"reply {replies} is not next: {payload['text'][:80]!r}"
        replies += 1
    assert "outbound limit" not in server.log_text()


class RecoveringClient:
    """python-socketio over one transport, recording the offset each reminder carries (recovery is on, so
    every event ends with its offset, which python-socketio hands to the handler as an extra argument)."""

    def __init__(self, server, transport):
        self.offsets = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("bot_message", self._bot)
        self.sio.on("system_message", lambda *args: None)
        self.sio.connect(server.url, transports=[transport], wait_timeout=10)

    def _bot(self, data, *rest):
        if isinstance(data, dict) and REMINDER_RE.match(data.get("text", "")) and rest:
            with self.lock:
                self.offsets.append(int(rest[0]))

    def snapshot(self):
        with self.lock:
            return list(self.offsets)


def test_websocket_and_polling_clients_get_each_reminder_once_with_the_same_offset(start_quench):
    # With connection state recovery on, a broadcast is logged once and carries one offset, so the offsets a
    # client sees tell the reminders apart: each client's must rise strictly (nothing twice, nothing out of
    # order), and from the first reminder every client was there for, all must have the same ones.
    server = start_quench("--reminder-interval", "1", "--recovery-window", "1m")
    clients = [RecoveringClient(server, "websocket") for _ in range(6)] + [RecoveringClient(server, "polling") for _ in range(4)]
    try:
        def common_start():
            return max(c.snapshot()[0] for c in clients) if all(c.snapshot() for c in clients) else None

        def three_each():
            start = common_start()
            return start is not None and all(len([o for o in c.snapshot() if o >= start]) >= 3 for c in clients)

        wait_until(three_each, timeout=30, what="three reminders at every client after all had joined",
                   detail=lambda: [c.snapshot() for c in clients])
        start = common_start()
        seen = [c.snapshot() for c in clients]
        for offsets in seen:
            assert offsets == sorted(set(offsets)), f"a reminder arrived twice or out of order: {offsets}"
        windows = [[o for o in offsets if o >= start][:3] for offsets in seen]
        assert all(w == windows[0] for w in windows), f"clients got different reminders: {seen}"
    finally:
        for c in clients:
            c.sio.disconnect()


def test_broadcasts_to_a_client_that_stops_reading_stay_whole_and_in_order(start_quench, open_ws, tmp_path):
    # Broadcasts from the message queue take the same shared-frame path as the reminder, many per second: a
    # client with a 4 KB receive buffer that reads nothing gets them written straight to its socket until the
    # kernel takes no more (its send buffer grows to 4 MiB here), then one in part (lws keeps the tail), then
    # the rest queued behind it. When it reads, all 8,000 (5.9 MB) must be there, whole, each once, in the
    # order sent; and at a second client that read nothing meanwhile either.
    from test_redis import RedisServer

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        server = start_quench("--message-queue", redis_server.url, "--reminder-interval", "0")  # 16 MiB budget
        redis_server.wait_subscribers(1)
        slow = open_ws(server, timeout=30.0, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        slow.handshake()
        reader = open_ws(server, timeout=30.0)
        reader.handshake()
        manager = socketio.RedisManager(redis_server.url, write_only=True)
        count, pad = 8000, "y" * 700
        for i in range(count):
            manager.emit("bot_message", {"text": f"{i:05d}-{pad}"})
        for ws in (reader, slow):
            for i in range(count):
                pkt = parse_sio(ws.recv_text(timeout=30))
                assert pkt["data"] == ["bot_message", {"text": f"{i:05d}-{pad}"}], f"broadcast {i}: {str(pkt)[:120]}"
        assert "outbound limit" not in server.log_text()
    finally:
        redis_server.stop()


def test_reminders_over_tls_go_through_lws_and_arrive_whole(start_quench, tmp_path):
    # Over TLS the shared frame cannot go to the socket with send(): lws_write encrypts it. Three
    # WebSocket clients over wss:// must each get reminders, whole, with nothing else in between.
    # The clients read and write on one thread each (websocket-client): python-socketio's client reads and
    # writes one SSL socket from two threads, which now and then loses the connection on its own side when a
    # frame arrives while it sends (seen against builds before and after the shared frame alike).
    if not shutil.which("openssl"):
        pytest.fail("openssl not installed (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    server = start_quench("--tls-cert", str(cert), "--tls-key", str(key), "--reminder-interval", "1")
    server.wait_for_log(r"listening on https://127\.0\.0\.1:%d" % server.port)
    clients = [EioWS(server, tls=True) for _ in range(3)]
    try:
        for client in clients:
            client.handshake()
        for client in clients:
            for _ in range(2):  # two reminders each, and nothing else
                pkt = client.recv_sio(timeout=10)
                assert pkt["type"] == 2 and pkt["data"][0] == "bot_message", pkt
                assert REMINDER_RE.match(pkt["data"][1]["text"]), pkt
    finally:
        for client in clients:
            client.close()