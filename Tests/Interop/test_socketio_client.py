"""The chat app through the real python-socketio 5.x client (websocket transport)."""

import asyncio
import re
import time
import zoneinfo

import pytest
import socketio

from interop_helpers import CONNECTED, REMINDER_RE, circular_distance, now_seconds_of_day, reply_re, seconds_of_day


@pytest.fixture
def server(start_quench):
    return start_quench()


def test_connect_gets_system_message_and_is_logged(server, sio_client):
    client = sio_client(server)
    assert client.get(client.system, what="system_message") == CONNECTED
    server.wait_for_log(r"\binfo connect sid=" + re.escape(client.sid) + r" sessions=1\b")


def test_emit_user_message_gets_bot_message(server, sio_client):
    client = sio_client(server)
    client.get(client.system, what="system_message")
    client.sio.emit("user_message", {"text": "hi"})
    reply = client.get(client.bot, what="bot_message")
    assert set(reply) == {"text"}, reply
    assert re.fullmatch(r"hi rcvd at \d\d:\d\d:\d\d \(dummy reply\)", reply["text"]), reply


def test_call_returns_empty_ack_and_bot_message_arrives(server, sio_client):
    client = sio_client(server)
    client.get(client.system, what="system_message")
    result = client.sio.call("user_message", {"text": "x"}, timeout=5)
    assert result is None, f"ack with no arguments should give None, got {result!r}"
    reply = client.get(client.bot, what="bot_message")
    assert reply_re("x").match(reply["text"]), reply


def test_session_table_follows_connects_and_disconnects(server, sio_client):
    a = sio_client(server)
    server.wait_for_log(r"\binfo connect sid=" + re.escape(a.sid) + r" sessions=1\b")
    b = sio_client(server)
    server.wait_for_log(r"\binfo connect sid=" + re.escape(b.sid) + r" sessions=2\b")
    a_sid, b_sid = a.sid, b.sid
    a.disconnect()
    server.wait_for_log(r"\binfo disconnect sid=" + re.escape(a_sid) + r" reason=\"[^\"]*\" sessions=1\b")
    b.sio.emit("user_message", {"text": "b still here"})
    assert reply_re("b still here").match(b.get(b.bot, what="bot_message")["text"])
    b.disconnect()
    server.wait_for_log(r"\binfo disconnect sid=" + re.escape(b_sid) + r" reason=\"[^\"]*\" sessions=0\b")


def test_reminders_reach_every_client(start_quench, sio_client):
    zone = zoneinfo.ZoneInfo("Asia/Kolkata")  # not the machine's zone: proves the reminder honours TZ
    server = start_quench("--reminder-interval", "2", env={"TZ": "Asia/Kolkata"})
    a = sio_client(server)
    b = sio_client(server)
    for client in (a, b):
        reminder = client.get(client.reminders, timeout=8, what="hydration reminder")
        assert set(reminder) == {"text"}, reminder
        m = REMINDER_RE.match(reminder["text"])
        assert m, reminder
        got = seconds_of_day(m.group(1), m.group(2))
        now = now_seconds_of_day(zone)
        assert circular_distance(got, now - now % 60) <= 60, f"reminder says {reminder['text']!r}, Kolkata now {now}s of day"
    # The reminder is periodic: a second one arrives too.
    second = a.get(a.reminders, timeout=8, what="second hydration reminder")
    assert REMINDER_RE.match(second["text"]), second


def test_reminders_do_not_break_replies(start_quench, sio_client):
    server = start_quench("--reminder-interval", "1")
    client = sio_client(server)
    client.get(client.reminders, timeout=6, what="hydration reminder")
    client.sio.emit("user_message", {"text": "between reminders"})
    assert reply_re("between reminders").match(client.get(client.bot, what="bot_message")["text"])


N_CLIENTS = 200
N_MESSAGES = 50


@pytest.mark.deadline(150)
@pytest.mark.parametrize("transport,n_messages", [("websocket", N_MESSAGES), ("polling", 10)])
def test_many_concurrent_clients_get_all_replies_in_order(start_quench, transport, n_messages):
    server = start_quench()
    deadline = time.monotonic() + 120

    async def one_client(index, connect_gate, results):
        sio = socketio.AsyncClient(reconnection=False)
        texts = []
        done = asyncio.Event()
        welcomed = asyncio.Event()

        def on_bot(data):  # sync handler: runs in arrival order
            text = data.get("text", "")
            if REMINDER_RE.match(text):
                return
            texts.append(text)
            if len(texts) == n_messages:
                done.set()

        def on_system(data):
            if data == CONNECTED:
                welcomed.set()

        sio.on("bot_message", on_bot)
        sio.on("system_message", on_system)
        async with connect_gate:
            await sio.connect(server.url, transports=[transport], wait_timeout=20)
        try:
            await asyncio.wait_for(welcomed.wait(), timeout=max(1, deadline - time.monotonic()))
            for seq in range(n_messages):
                await sio.emit("user_message", {"text": f"c{index:03d}-m{seq:02d}"})
            await asyncio.wait_for(done.wait(), timeout=max(1, deadline - time.monotonic()))
        finally:
            results[index] = texts
            await sio.disconnect()

    async def main():
        results = {}
        gate = asyncio.Semaphore(50)  # at most 50 handshakes in flight at once
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(one_client(i, gate, results) for i in range(N_CLIENTS)), return_exceptions=True),
            timeout=max(1, deadline - time.monotonic()),
        )
        return results, outcomes

    results, outcomes = asyncio.run(main())
    errors = [(i, repr(o)) for i, o in enumerate(outcomes) if isinstance(o, BaseException)]
    assert not errors, f"{len(errors)} clients failed, first: {errors[:5]}"
    for i in range(N_CLIENTS):
        texts = results.get(i, [])
        assert len(texts) == n_messages, f"client {i} got {len(texts)}/{n_messages} replies over {transport}"
        for seq, text in enumerate(texts):
            assert reply_re(f"c{i:03d}-m{seq:02d}").match(text), f"client {i} reply #{seq} is {text!r}"
    connects = server.wait_for_log_count(r"\binfo connect sid=(\S+) sessions=\d+\b", N_CLIENTS, timeout=10)
    assert len({m.group(1) for m in connects}) == N_CLIENTS, "Socket.IO sids are not unique"
    disconnects = server.wait_for_log_count(r"\binfo disconnect sid=\S+ reason=\"[^\"]*\" sessions=(\d+)\b", N_CLIENTS, timeout=15)
    assert disconnects[-1].group(1) == "0", f"after every client left, the last line says {disconnects[-1].group(0)!r}"


def test_default_transports_poll_then_upgrade(server, sio_client):
    # python-socketio's default: open over polling, upgrade to websocket during connect().
    client = sio_client(server, transports=None)
    assert client.get(client.system, what="system_message") == CONNECTED
    assert client.sio.transport() == "websocket", f"transport after connect: {client.sio.transport()!r}"
    client.sio.emit("user_message", {"text": "upgraded"})
    assert reply_re("upgraded").match(client.get(client.bot, what="bot_message")["text"])


def test_polling_only_client(server, sio_client):
    client = sio_client(server, transports=["polling"])
    assert client.get(client.system, what="system_message") == CONNECTED
    assert client.sio.transport() == "polling"
    assert client.sio.call("user_message", {"text": "polled"}, timeout=5) is None
    assert reply_re("polled").match(client.get(client.bot, what="bot_message")["text"])
    sid = client.sid
    client.disconnect()
    server.wait_for_log(r"\binfo disconnect sid=" + re.escape(sid) + r" reason=\"[^\"]*\" sessions=0\b")


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], None], ids=["websocket", "polling", "polling-then-upgrade"])
def test_the_whole_app_over_each_transport_mode(start_quench, sio_client, transports):
    """The seed's behaviour, the same over every transport mode a python-socketio client can pick."""
    server = start_quench("--reminder-interval", "1")
    client = sio_client(server, transports=transports)
    assert client.sio.transport() == (transports[0] if transports else "websocket")
    assert client.get(client.system, what="system_message") == CONNECTED
    assert client.sio.call("user_message", {"text": "over " + client.sio.transport()}, timeout=5) is None
    assert reply_re("over " + client.sio.transport()).match(client.get(client.bot, what="bot_message")["text"])
    client.sio.emit("user_message", {"text": 7})
    assert reply_re("7").match(client.get(client.bot, what="bot_message")["text"])
    client.sio.emit("user_message", {"no": "text"})
    assert "text" in client.get(client.system, what="shape system_message")["text"]
    assert REMINDER_RE.match(client.get(client.reminders, timeout=5, what="hydration reminder")["text"])
    sid = client.sid
    client.disconnect()
    server.wait_for_log(r"\binfo disconnect sid=" + re.escape(sid) + r" reason=\"[^\"]*\" sessions=0\b")
