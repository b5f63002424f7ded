"""Per-client budgets with real hostile clients. A raw WebSocket flooding `user_message` gets a
system_message saying its messages are dropped, then a DISCONNECT and a closed connection once it has
stayed over --event-rate for --over-budget-time; a client cycling `40`/`41` gets CONNECT_ERROR and is
closed; a client sending pongs and noops in a loop (over WebSocket, and as a polling body full of them) is
dropped and closed. Meanwhile a python-socketio client on the same server chats as if nothing were going
on. /metrics counts each refusal and disconnect by cause.

The fairness test measures the reply latency of 50 ordinary clients with quench-bench, alone and while
one client floods, in the same run (see its docstring)."""

import os
import re
import subprocess
import sys
import threading
import time

import pytest

from conftest import wait_until
from hostile_ws import RawWebSocket
from interop_helpers import BENCH_BIN, reply_re
from raw_http import exchange, handshake, poll, post
from test_metrics import metric

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOD_FRAME = b'42["user_message",{"text":"flood"}]'


def zero_masked(text: bytes, count: int) -> bytes:
    """`count` client text frames of `text`, masked with a zero key (valid, and built once)."""
    return (bytes([0x81, 0x80 | len(text)]) + b"\0\0\0\0" + text) * count


class Reader:
    """Reads a RawWebSocket's frames on a thread: text payloads in order, and whether it has ended."""

    def __init__(self, ws):
        self.ws = ws
        self.texts = []
        self.ended = threading.Event()
        ws.sock.settimeout(None)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            while True:
                opcode, payload = self.ws.read_frame()
                if opcode is None or opcode == 0x8:
                    break
                self.texts.append(payload.decode("utf-8", "replace"))
        except OSError:
            pass
        self.ended.set()

    def has(self, fragment):
        return any(fragment in text for text in self.texts)


def chat_round(client, text):
    client.sio.emit("user_message", {"text": text})
    reply = client.get(client.bot, timeout=5, what=f"reply to {text!r}")
    assert reply_re(text).match(reply["text"]), reply


def flood_until_closed(ws, reader, block, seconds, pause=0.0):
    """Writes `block` over and over until the server closes the connection (or `seconds` pass), `pause` seconds
    apart (a flood whose answers outrun the reader gets closed at --max-buffered first, a close for not reading)."""
    deadline = time.monotonic() + seconds
    while not reader.ended.is_set() and time.monotonic() < deadline:
        try:
            ws.sock.sendall(block)
        except OSError:
            break
        if pause:
            time.sleep(pause)
    return reader.ended.wait(max(0.0, deadline - time.monotonic()))


def test_an_event_flood_is_dropped_told_and_disconnected_while_a_chat_goes_on(start_quench, sio_client):
    server = start_quench("--metrics", "--event-rate", 20, "--event-burst", 50, "--over-budget-time", "2s")
    ordinary = sio_client(server)
    ordinary.get(ordinary.system, what="welcome")
    flooder = RawWebSocket(server.port, rcvbuf=1 << 20)
    reader = Reader(flooder)
    flooder.send_text("40")
    started = time.monotonic()
    chatting = threading.Event()
    errors = []

    def chat():
        try:
            n = 0
            # A person's pace (well under the rate of 20): a line, then a wait.
            while not chatting.wait(0.1):
                chat_round(ordinary, f"still here {n}")
                n += 1
        except AssertionError as error:
            errors.append(error)

    talker = threading.Thread(target=chat)
    talker.start()
    try:
        closed = flood_until_closed(flooder, reader, zero_masked(FLOOD_FRAME, 256), seconds=20)
    finally:
        chatting.set()
        talker.join(10)
    elapsed = time.monotonic() - started
    assert closed, f"the flooder was not disconnected; frames: {reader.texts[-5:]}"
    assert elapsed >= 2, elapsed  # not before --over-budget-time
    assert not errors, errors
    notices = [text for text in reader.texts if "Too many messages" in text]
    assert notices and "system_message" in notices[0] and " dropped (at most 20 messages a second" in notices[0], notices[:2]
    assert any("Disconnected: too many messages" in text for text in reader.texts), reader.texts[-5:]
    assert "41" in reader.texts, reader.texts[-5:]
    # Told at most once a second (and once at the end): a handful, not one per dropped message.
    assert len(notices) <= elapsed + 2, (len(notices), elapsed)
    chat_round(ordinary, "after the flood")
    # Held back by TCP while its reading is paused, the flooder is refused about once per paused interval.
    assert metric(server, "quench_budget_refused_total", cause="events") > 20
    assert metric(server, "quench_budget_disconnects_total", cause="events") == 1
    server.wait_for_log(r"over budget .*events over 20/s after a burst of 50")
    server.wait_for_log(r"warn.*over budget .*events over --event-rate for \d+ ms .*disconnecting")


def test_a_namespace_cycler_gets_connect_error_then_is_closed(start_quench, sio_client):
    server = start_quench("--metrics", "--namespace-rate", 5, "--namespace-burst", 10, "--over-budget-time", "2s")
    ordinary = sio_client(server)
    ordinary.get(ordinary.system, what="welcome")
    cycler = RawWebSocket(server.port, rcvbuf=1 << 20)
    reader = Reader(cycler)
    # Paced, yet hundreds of times the budget: each refused connect is answered, and unpaced those answers
    # outran this reader and reached --max-buffered (16 MiB) within the 2 s the budget waits.
    closed = flood_until_closed(cycler, reader, zero_masked(b"40", 64) + zero_masked(b"41", 64), seconds=15, pause=0.005)
    assert closed, f"the cycler was not closed; frames: {reader.texts[-5:]}"
    assert reader.has('44{"message":"Too many namespace connects'), reader.texts[-5:]
    chat_round(ordinary, "unbothered")
    assert metric(server, "quench_budget_refused_total", cause="namespace_cycles") > 100
    assert metric(server, "quench_budget_disconnects_total", cause="namespace_cycles") == 1
    # The log grows by a few lines, not one per cycle.
    assert len(re.findall(r"over budget", server.log_text())) <= 5


def test_a_pong_and_noop_flood_is_dropped_then_closed_over_websocket_and_polling(start_quench, sio_client):
    server = start_quench("--metrics", "--ping-rate", 5, "--ping-burst", 20, "--over-budget-time", "2s")
    ordinary = sio_client(server)
    ordinary.get(ordinary.system, what="welcome")
    pinger = RawWebSocket(server.port, rcvbuf=1 << 20)
    reader = Reader(pinger)
    pinger.send_text("40")
    closed = flood_until_closed(pinger, reader, zero_masked(b"3", 128) + zero_masked(b"6", 128), seconds=15)
    assert closed, f"the ping flooder was not closed; frames: {reader.texts[-5:]}"
    after_websocket = metric(server, "quench_budget_refused_total", cause="pings")
    assert after_websocket > 100
    assert metric(server, "quench_budget_disconnects_total", cause="pings") == 1
    chat_round(ordinary, "pings elsewhere")

    # Long-polling: one POST body of 1,000 noops; 20 pass (the burst), the rest are dropped and counted.
    sid = handshake(server.port)
    body = "\x1e".join(["6"] * 1000).encode()
    responses, _ = exchange(server.port, post(poll(sid), body), expect=1)
    assert responses[0][0] == 200, responses
    assert metric(server, "quench_budget_refused_total", cause="pings") >= after_websocket + 980


def bench_p99(server, clients, seconds):
    """quench-bench rtt with `clients` WebSocket clients, each waiting 40 ms after a reply before the next
    message (people, not a load test): its p99 reply latency in ms, and its result fields."""
    argv = [BENCH_BIN, "--url", server.url, "--transport", "websocket", "--clients", str(clients), "--duration", str(seconds),
            "--mode", "rtt", "--think-ms", "40", "--connect-timeout", "15", "--machine"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 40)
    fields = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            fields = dict(item.partition("=")[::2] for item in line.split()[1:])
    assert out.returncode == 0 and "p99_ms" in fields, out.stdout[-3000:] + out.stderr[-2000:]
    return float(fields["p99_ms"]), fields


@pytest.mark.deadline(90)
def test_fairness_fifty_clients_p99_within_twice_their_own_while_one_client_floods(start_quench):
    """The fairness figure of issue 22, as a bound on behaviour rather than on time: 50 ordinary clients
    (quench-bench, WebSocket, one message in flight each, 40 ms of thought between replies, so about 25
    messages a second each, within the default --event-rate of 50) measure their
    p99 reply latency alone, then again while one client floods `user_message` as fast as its socket takes
    it (event_flooder.py: never waiting for a reply, reconnecting when disconnected). Both runs are in this
    test, on this machine, back to back, so the baseline is its own; the assertion is flood p99 ≤ 2 ×
    baseline p99, with the baseline taken as at least 1 ms (below that a p99 on a shared 2-core machine is
    the scheduler's noise, not the server's doing).

    Robust on a 2-core CI machine: each run is 5 s of 50 clients, some 6,000 replies, so the p99 rests on
    ~60 samples above it; the flooder runs at nice 19, so it takes what CPU is idle and the measurement is of
    what quench does with a flood it receives, not of the load generator starving the server of a core (an
    attacker is on another machine); the default budgets apply."""
    if not os.path.exists(BENCH_BIN):
        pytest.skip(f"quench-bench not built: {BENCH_BIN}")
    server = start_quench("--metrics")
    alone, _ = bench_p99(server, 50, 5)
    flooder = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, os.path.join(HERE, "event_flooder.py"), str(server.port), "0"],
        stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: metric(server, "quench_budget_refused_total", cause="events") > 20, 15, what="the flood under way")
        during, fields = bench_p99(server, 50, 5)
        refused = metric(server, "quench_budget_refused_total", cause="events")
    finally:
        flooder.terminate()
        summary = flooder.communicate(timeout=10)[0]
    print(f"fairness: p99 alone {alone} ms, during the flood {during} ms; flooder {summary.strip()}; refused {refused}")
    assert int(fields.get("failures", "0") or 0) == 0, fields
    assert during <= 2 * max(alone, 1.0), f"p99 {during} ms during the flood against {alone} ms alone"
