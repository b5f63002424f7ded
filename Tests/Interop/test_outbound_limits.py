"""What one client can make quench hold for it: hostile clients on raw sockets that never read, against
--max-buffered and the heartbeat, with well-behaved clients beside them; and polling responses small
enough for python-engineio's client (at most 16 packets each)."""

import re
import threading
import time

import pytest
import socketio

from conftest import wait_until
from hostile_ws import RawWebSocket
from interop_helpers import memory_kib, reply_re, user_message

MIB = 1024 * 1024


def open_hostile(server, **kwargs):
    """A raw WebSocket that reads its open packet, joins the namespace and from then on reads nothing."""
    ws = RawWebSocket(server.port, **kwargs)
    opcode, payload = ws.read_frame()
    assert opcode == 0x1 and payload.startswith(b"0{"), payload
    eio_sid = re.search(rb'"sid":"([^"]+)"', payload).group(1).decode()
    assert ws.send_text("40")
    return ws, eio_sid


class RSSWatcher:
    """Samples a process's VmRSS every few milliseconds on a thread; keeps the largest seen."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = memory_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, memory_kib(self.pid))
            except (OSError, AssertionError):
                return
            time.sleep(0.005)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        return self.peak


@pytest.mark.deadline(120)
def test_a_client_that_never_reads_is_closed_at_the_cap_with_rss_bounded_and_others_served(start_quench, sio_client):
    cap = 4 * MIB
    server = start_quench("--max-buffered", str(cap))
    good = sio_client(server)
    assert good.get(good.system, what="system_message")["text"] == "Connected to server"
    good.sio.emit("user_message", {"text": "before"})
    assert reply_re("before").match(good.get(good.bot, what="bot_message")["text"])

    baseline = memory_kib(server.proc.pid)
    watcher = RSSWatcher(server.proc.pid)
    hostile, eio_sid = open_hostile(server)
    text = "h" * (256 * 1024)
    sent = 0
    pongs = 0
    # Up to 64 MB of replies (16 times the cap) while answering every would-be ping blindly.
    for i in range(256):
        if not hostile.send_text(user_message({"text": f"{i}-{text}"})):
            break
        sent += 1
        if i % 8 == 0:
            pongs += hostile.send_text("3")
        if i % 16 == 0:  # the well-behaved client keeps being answered meanwhile
            good.sio.emit("user_message", {"text": f"during {i}"})
            assert reply_re(f"during {i}").match(good.get(good.bot, timeout=10, what="bot_message")["text"])
        if "outbound limit" in server.log_text():
            break
    warning = server.wait_for_log(
        r"^warn outbound limit sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 queued=(\d+) bytes > --max-buffered "
        + str(cap) + r": the client is not reading; closing$")
    server.wait_for_log(r"\binfo close sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 transport=websocket reason=\"transport error\"")
    assert hostile.is_closed_by_server(timeout=10), "the hostile client's connection is still open after its session ended"
    peak = watcher.stop()
    hostile.close()
    assert sent < 256, "the server took 64 MB of replies for a client that never reads without closing it"
    assert len(re.findall(r"outbound limit", server.log_text())) == 1
    # The queue is capped at 4 MiB; lws's tail, the scratch buffer and the allocator's slack add a few MB.
    growth_mib = (peak - baseline) / 1024
    print(f"RSS baseline {baseline} KiB, peak {peak} KiB, growth {growth_mib:.1f} MiB")
    assert growth_mib < cap / MIB + 8, f"RSS grew {growth_mib:.1f} MiB (baseline {baseline} KiB, peak {peak} KiB) for a {cap // MIB} MiB cap"

    good.sio.emit("user_message", {"text": "after"})
    assert reply_re("after").match(good.get(good.bot, timeout=10, what="bot_message")["text"])


@pytest.mark.deadline(60)
def test_blind_pongs_do_not_keep_a_client_that_never_reads(start_quench):
    # The client fills the socket buffers with replies it never reads (far less than --max-buffered), so the
    # server's pings wait in its queue; it sends `3` every 50 ms all the same. Those pongs answer pings it
    # cannot have read: the session ends at its ping timeout, and its connection with it.
    server = start_quench("--ping-interval", "1s", "--ping-timeout", "1s")
    hostile, eio_sid = open_hostile(server)
    text = "p" * (256 * 1024)
    for i in range(40):  # ~10 MB of replies: more than the kernel's buffers hold, less than the cap
        assert hostile.send_text(user_message({"text": f"{i}-{text}"})), "server closed the connection early"
    closed = re.compile(r"\binfo close sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 transport=websocket reason=\"(?P<reason>[^\"]*)\"")
    pongs = 0

    def blind_pong_until_closed():
        nonlocal pongs
        if closed.search(server.log_text()):
            return True
        if hostile.send_text("3"):
            pongs += 1
        time.sleep(0.05)
        return False

    wait_until(blind_pong_until_closed, timeout=20, what="the session of a client that never reads to close",
               detail=lambda: server.log_text()[-3000:])
    assert pongs > 10, pongs
    assert closed.search(server.log_text()).group("reason") == "ping timeout", server.log_text()[-3000:]
    assert "outbound limit" not in server.log_text()
    assert hostile.is_closed_by_server(timeout=10), "the connection stayed open after its session timed out"


@pytest.mark.deadline(180)
def test_python_socketio_polling_clients_get_every_reply_to_a_burst(start_quench):
    # python-engineio's client refuses a polling payload of more than 16 packets (and reconnects, losing
    # them): each of 20 polling clients sends 200 messages back to back and must get all 200 replies.
    # No reminders: one landing in the middle (at an even minute) would be a bot_message that is no reply.
    server = start_quench("--reminder-interval", "0")
    clients = []
    for _ in range(20):
        sio = socketio.Client(reconnection=False)
        replies = []
        lost = []
        sio.on("bot_message", lambda data, replies=replies: replies.append(data["text"]))
        sio.on("disconnect", lambda *args, lost=lost: lost.append(args))
        sio.connect(server.url, transports=["polling"], wait_timeout=10)
        clients.append((sio, replies, lost))
    try:
        for sio, _, _ in clients:
            for i in range(200):
                sio.emit("user_message", {"text": f"m{i}"})
        wait_until(lambda: all(len(replies) >= 200 for _, replies, _ in clients), timeout=120,
                   what="200 replies for each of 20 polling clients",
                   detail=lambda: f"replies: {[len(r) for _, r, _ in clients]}; disconnects: {[len(d) for _, _, d in clients]}")
        for _, replies, lost in clients:
            assert not lost, lost
            assert [re.match(r"(m\d+) rcvd", text).group(1) for text in replies] == [f"m{i}" for i in range(200)]
    finally:
        for sio, _, _ in clients:
            sio.disconnect()


def test_max_buffered_below_max_payload_is_refused(start_quench):
    from conftest import run_cli

    result = run_cli("--max-payload", "2000", "--max-buffered", "1999")
    assert result.returncode == 64, result
    assert "--max-buffered" in result.stderr, result.stderr
