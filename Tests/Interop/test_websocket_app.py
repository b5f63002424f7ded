"""The chat app over Socket.IO v5, with exact packets on a raw WebSocket."""

import re
import socket
import zoneinfo

import pytest

from interop_helpers import (
    circular_distance,
    now_seconds_of_day,
    parse_sio,
    reply_re,
    seconds_of_day,
    user_message,
)


@pytest.fixture
def server(start_quench):
    return start_quench()


def expect_bot_reply(ws, text):
    pkt = ws.recv_sio()
    assert pkt["type"] == 2 and pkt["nsp"] == "/" and pkt["id"] is None, pkt
    name, payload = pkt["data"]
    assert name == "bot_message" and set(payload) == {"text"}, pkt
    m = reply_re(text).match(payload["text"])
    assert m, f"reply text {payload['text']!r} does not match {reply_re(text).pattern!r}"
    return m


def test_connect_reply_then_welcome_in_order(server, open_ws):
    ws = open_ws(server)
    op = ws.open_packet()
    ws.send("40")
    first = ws.recv_text()
    assert re.fullmatch(r'40\{"sid":"[^"]+"\}', first), f"first reply to 40 must be the CONNECT ack: {first!r}"
    second = ws.recv_text()
    assert second == '42["system_message",{"text":"Connected to server"}]', second
    sio_sid = first[len('40{"sid":"'):-2]
    server.wait_for_log(r"\binfo connect sid=" + re.escape(sio_sid) + r" sessions=1\b")
    server.wait_for_log(r"\binfo open sid=" + re.escape(op["sid"]) + r" peer=127\.0\.0\.1 transport=websocket\b")


def test_invalid_namespace_gets_connect_error_and_connection_stays(server, open_ws):
    ws = open_ws(server)
    ws.open_packet()
    ws.send("40/nope,")
    pkt = ws.recv_sio()
    assert pkt == {"type": 4, "nsp": "/nope", "id": None, "data": {"message": "Invalid namespace"}}, pkt
    assert ws.seen[-1] == '44/nope,{"message":"Invalid namespace"}', ws.seen[-1]
    ws.sio_connect()  # the Engine.IO connection is still usable


def test_user_message_gets_bot_reply(server, open_ws):
    ws = open_ws(server)
    ws.handshake()
    ws.send('42["user_message",{"text":"hi"}]')
    expect_bot_reply(ws, "hi")


def test_user_message_with_ack_id_gets_reply_and_empty_ack(server, open_ws):
    ws = open_ws(server)
    ws.handshake()
    ws.send('421["user_message",{"text":"hi"}]')
    frames = [ws.recv_text(), ws.recv_text()]
    assert "431[]" in frames, f"no ack '431[]' among {frames!r}"
    frames.remove("431[]")
    pkt = parse_sio(frames[0])
    assert pkt["data"][0] == "bot_message" and reply_re("hi").match(pkt["data"][1]["text"]), frames


def test_ack_ids_are_echoed(server, open_ws):
    ws = open_ws(server)
    ws.handshake()
    for ack_id in (7, 12345):
        ws.send(user_message({"text": f"a{ack_id}"}, ack_id=ack_id))
        got = {ws.recv_text(), ws.recv_text()}
        assert f"43{ack_id}[]" in got, got


def test_namespace_disconnect_then_reconnect(server, open_ws):
    ws = open_ws(server)
    ws.open_packet()
    sid1 = ws.sio_connect()
    server.wait_for_log(r"\binfo connect sid=" + re.escape(sid1) + r" sessions=1\b")
    ws.send("41")
    server.wait_for_log(r"\binfo disconnect sid=" + re.escape(sid1) + r" reason=\"[^\"]*\" sessions=0\b")
    sid2 = ws.sio_connect()  # same Engine.IO connection
    server.wait_for_log(r"\binfo connect sid=" + re.escape(sid2) + r" sessions=1\b")
    ws.send(user_message({"text": "back"}))
    expect_bot_reply(ws, "back")


@pytest.mark.parametrize("value,shown", [(42, "42"), (True, "true")], ids=["int", "bool"])
def test_non_string_text_is_rendered(server, open_ws, value, shown):
    ws = open_ws(server)
    ws.handshake()
    ws.send(user_message({"text": value}))
    expect_bot_reply(ws, shown)


UNUSABLE = [({}, "empty object"), ("hello", "string payload"), ({"text": None}, "null text"), ({"text": {"a": 1}}, "object text")]


@pytest.mark.parametrize("payload", [p for p, _ in UNUSABLE], ids=[n for _, n in UNUSABLE])
def test_payload_without_usable_text_gets_system_message(server, open_ws, payload):
    ws = open_ws(server)
    ws.handshake()
    ws.send(user_message(payload))
    pkt = ws.recv_sio()
    assert pkt["type"] == 2 and pkt["data"][0] == "system_message", f"want a system_message, got {pkt!r}"
    text = pkt["data"][1]["text"]
    assert isinstance(text, str) and "text" in text, f"system_message does not mention 'text': {text!r}"
    ws.send(user_message({"text": "after"}))
    expect_bot_reply(ws, "after")


def test_unknown_event_is_ignored(server, open_ws):
    ws = open_ws(server)
    ws.handshake()
    ws.send('42["something_else",{"text":"x"}]')
    ws.send(user_message({"text": "next"}))
    expect_bot_reply(ws, "next")  # nothing was sent for the unknown event


@pytest.mark.parametrize(
    "text",
    ["héllo wörld 👋 — 日本語", 'quote " backslash \\ slash / newline \n tab \t', "y" * 2000, "x" * 10000],
    ids=["unicode", "escapes", "2k", "10k"],
)
def test_text_round_trips_exactly(server, open_ws, text):
    ws = open_ws(server)
    ws.handshake()
    ws.send(user_message({"text": text}))
    expect_bot_reply(ws, text)


def reply_seconds(ws, text):
    ws.send(user_message({"text": text}))
    m = expect_bot_reply(ws, text)
    return seconds_of_day(*m.groups())


def test_reply_time_honours_tz(start_quench, open_ws):
    kolkata = zoneinfo.ZoneInfo("Asia/Kolkata")
    utc = zoneinfo.ZoneInfo("UTC")

    ws_k = open_ws(start_quench(env={"TZ": "Asia/Kolkata"}))
    ws_k.handshake()
    got_k = reply_seconds(ws_k, "tz")
    want_k = now_seconds_of_day(kolkata)
    assert circular_distance(got_k, want_k) <= 5, f"TZ=Asia/Kolkata reply at {got_k}s of day, Kolkata now {want_k}s"

    ws_u = open_ws(start_quench(env={"TZ": "UTC"}))
    ws_u.handshake()
    got_u = reply_seconds(ws_u, "tz")
    want_u = now_seconds_of_day(utc)
    assert circular_distance(got_u, want_u) <= 5, f"TZ=UTC reply at {got_u}s of day, UTC now {want_u}s"
    # Kolkata is UTC+5:30: the two servers' clocks must differ by that much.
    assert circular_distance(got_k - got_u, 5 * 3600 + 1800) <= 10, (got_k, got_u)


def test_connect_with_auth_payload(server, open_ws):
    # socket.io clients send CONNECT with an auth object when given one: 40{"token":"…"}.
    ws = open_ws(server)
    ws.open_packet()
    ws.send('40{"token":"abc"}')
    pkt = ws.recv_sio()
    assert pkt["type"] == 0 and isinstance(pkt["data"], dict) and isinstance(pkt["data"].get("sid"), str), pkt
    assert ws.recv_text() == '42["system_message",{"text":"Connected to server"}]'


CAP = 2_000_000  # --max-buffered in the two tests below (with --max-payload 100000)


def test_replies_queued_within_the_cap_arrive_whole_and_in_order(start_quench, open_ws):
    # A client with a tiny receive buffer sends 20 messages of 64 KB before reading anything: 1.3 MB of
    # replies meet full socket buffers, so writes go out in part and the rest waits (lws holds the tail,
    # quench queues behind it), all within --max-buffered. Then it reads: every reply must be there, whole,
    # in the order sent, and the session is still open.
    server = start_quench("--max-payload", "100000", "--max-buffered", str(CAP))
    ws = open_ws(server, timeout=30.0, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    ws.open_packet()
    ws.send("40")
    ws.recv_text()
    assert ws.recv_text() == '42["system_message",{"text":"Connected to server"}]'
    body = "x" * 65536
    count = 20
    for i in range(count):
        ws.send(user_message({"text": f"{i}-{body}"}))
    for i in range(count):
        expect_bot_reply(ws, f"{i}-{body}")
    ws.seen.clear()
    ws.send(user_message({"text": "still here"}))
    expect_bot_reply(ws, "still here")
    assert "outbound limit" not in server.log_text()


def test_a_client_that_stops_reading_is_closed_at_the_cap(start_quench, open_ws):
    # The same client sends 100 messages of 64 KB (6.5 MB of replies) and reads nothing: once more than
    # --max-buffered waits for it, its session ends as a transport error with one warning naming the sid,
    # the peer and the bytes queued, and its connection is closed (it reads what the sockets held, then the end).
    server = start_quench("--max-payload", "100000", "--max-buffered", str(CAP))
    ws = open_ws(server, timeout=30.0, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    eio_sid, _ = ws.handshake()
    body = "x" * 65536
    for i in range(100):
        try:
            ws.send(user_message({"text": f"{i}-{body}"}))
        except (ConnectionError, OSError, websocket_closed()):
            break  # the server closed the connection while the client was still sending
    warning = server.wait_for_log(
        r"^warn outbound limit sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 queued=(\d+) bytes > --max-buffered "
        + str(CAP) + r": the client is not reading; closing$")
    assert int(warning.group(1)) > CAP, warning.group(0)
    server.wait_for_log(r"\binfo close sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 transport=websocket reason=\"transport error\"")
    frames = ws.wait_closed(timeout=10)
    assert len([f for f in frames if f.startswith('42["bot_message"')]) < 100, "every reply arrived: nothing was capped"
    assert len(re.findall(r"outbound limit", server.log_text())) == 1, server.log_text()[-3000:]


def websocket_closed():
    import websocket

    return websocket.WebSocketConnectionClosedException
