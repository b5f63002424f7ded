"""Engine.IO v4 over WebSocket, frame by frame (websocket-client as a raw client)."""

import re

import pytest

from interop_helpers import ENGINE_CLOSE_REASONS, EIO_SID_RE, reply_re, user_message


def close_line_re(eio_sid, reason=None):
    r = r"\binfo close sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 transport=websocket reason=\"(?P<reason>[^\"]*)\""
    if reason is not None:
        r = r.replace(r"(?P<reason>[^\"]*)", "(?P<reason>" + re.escape(reason) + ")")
    return r


def disconnect_line_re(sio_sid, sessions):
    return r"\binfo disconnect sid=" + re.escape(sio_sid) + r" reason=\"[^\"]*\" sessions=" + str(sessions) + r"\b"


def test_open_packet_defaults(start_quench, open_ws):
    server = start_quench()
    op = open_ws(server).open_packet()
    assert EIO_SID_RE.match(op.get("sid", "")), f"sid must be 20 chars of [A-Za-z0-9_-]: {op!r}"
    assert op["upgrades"] == [], op
    assert op["pingInterval"] == 25000, op
    assert op["pingTimeout"] == 20000, op
    assert op["maxPayload"] == 1000000, op


DURATIONS = [("300ms", 300), ("7", 7000), ("30s", 30000), ("2m", 120000), ("1500ms", 1500)]


@pytest.mark.parametrize("value,ms", DURATIONS, ids=[d for d, _ in DURATIONS])
def test_open_packet_reflects_duration_flags(start_quench, open_ws, value, ms):
    server = start_quench("--ping-interval", value, "--ping-timeout", value, "--max-payload", "5000")
    op = open_ws(server).open_packet()
    assert op["pingInterval"] == ms, op
    assert op["pingTimeout"] == ms, op
    assert op["maxPayload"] == 5000, op


def test_sids_are_unique_and_open_is_logged(start_quench, open_ws):
    server = start_quench()
    sids = [open_ws(server).open_packet()["sid"] for _ in range(5)]
    assert len(set(sids)) == 5, sids
    for sid in sids:
        assert EIO_SID_RE.match(sid), sid
        server.wait_for_log(r"\binfo open sid=" + re.escape(sid) + r" peer=127\.0\.0\.1 transport=websocket\b")


def test_client_close_frame_logs_transport_close(start_quench, open_ws):
    server = start_quench()
    ws = open_ws(server)
    eio_sid, sio_sid = ws.handshake()
    ws.close()
    server.wait_for_log(close_line_re(eio_sid, "transport close"))
    server.wait_for_log(disconnect_line_re(sio_sid, 0))


def test_dropped_tcp_connection_leaves_session_table(start_quench, open_ws):
    server = start_quench()
    ws = open_ws(server)
    eio_sid, sio_sid = ws.handshake()
    server.wait_for_log(r"\binfo connect sid=" + re.escape(sio_sid) + r" sessions=1\b")
    ws.abort()  # no close frame: shutdown + close of the TCP socket
    m = server.wait_for_log(close_line_re(eio_sid))
    assert m.group("reason") in ("transport close", "transport error"), m.group(0)
    server.wait_for_log(disconnect_line_re(sio_sid, 0))


def test_heartbeat_answered_keeps_connection(start_quench, open_ws):
    server = start_quench("--ping-interval", "300ms", "--ping-timeout", "200ms")
    ws = open_ws(server)
    op = ws.open_packet()
    assert (op["pingInterval"], op["pingTimeout"]) == (300, 200), op
    ws.sio_connect()
    pings = 0
    while pings < 5:
        frame = ws.recv_text(timeout=5, answer_pings=False)
        assert frame == "2", f"expected a ping, got {frame!r}"
        ws.send("3")
        pings += 1
    ws.send(user_message({"text": "alive"}))
    pkt = ws.recv_sio(timeout=5)  # recv_sio answers any further pings
    assert pkt["data"][0] == "bot_message" and reply_re("alive").match(pkt["data"][1]["text"]), pkt
    assert "ping timeout" not in server.log_text()


def test_heartbeat_unanswered_closes_with_ping_timeout(start_quench, open_ws):
    server = start_quench("--ping-interval", "300ms", "--ping-timeout", "200ms")
    ws = open_ws(server)
    eio_sid, sio_sid = ws.handshake()
    frames = ws.wait_closed(timeout=5)  # never answer
    assert "2" in frames, f"server closed without having pinged: {frames!r}"
    server.wait_for_log(close_line_re(eio_sid, "ping timeout"))
    server.wait_for_log(disconnect_line_re(sio_sid, 0))


MALFORMED = [
    ("9", "unknown engine.io type"),
    ("", "empty frame"),
    ("42[", "bad JSON"),
    ('42{"a":1}', "event not an array"),
    ("42[1]", "event name not a string"),
    ("42[]", "empty event array"),
    ("49", "unknown socket.io type"),
]


@pytest.mark.parametrize("frame", [f for f, _ in MALFORMED], ids=[n for _, n in MALFORMED])
def test_malformed_input_closes_connection(start_quench, open_ws, frame):
    server = start_quench()
    ws = open_ws(server)
    eio_sid, sio_sid = ws.handshake()
    ws.send(frame)
    # Default heartbeat is 25 s + 20 s: a close within 5 s is the server reacting to the bad frame.
    ws.wait_closed(timeout=5)
    m = server.wait_for_log(close_line_re(eio_sid))
    assert m.group("reason") in ENGINE_CLOSE_REASONS, m.group(0)
    if frame in ("9", ""):
        assert m.group("reason") == "parse error", m.group(0)
    server.wait_for_log(disconnect_line_re(sio_sid, 0))


def test_malformed_input_does_not_affect_other_clients(start_quench, open_ws):
    server = start_quench()
    good = open_ws(server)
    good.handshake()
    bad = open_ws(server)
    bad.handshake()
    bad.send("42[")
    bad.wait_closed(timeout=5)
    good.send(user_message({"text": "unaffected"}))
    pkt = good.recv_sio()
    assert pkt["data"][0] == "bot_message" and reply_re("unaffected").match(pkt["data"][1]["text"]), pkt


def test_message_over_max_payload_closes_connection(start_quench, open_ws):
    server = start_quench("--max-payload", "1000")
    ws = open_ws(server)
    op = ws.open_packet()
    assert op["maxPayload"] == 1000, op
    ws.sio_connect()
    small = "s" * 500
    ws.send(user_message({"text": small}))
    pkt = ws.recv_sio()
    assert reply_re(small).match(pkt["data"][1]["text"]), pkt
    ws.send(user_message({"text": "x" * 2000}))
    frames = ws.wait_closed(timeout=5)
    assert not any("x" * 2000 in f for f in frames), "oversized message was answered"


def test_engineio_message_order_preserved(start_quench, open_ws):
    server = start_quench()
    ws = open_ws(server)
    ws.handshake()
    n = 100
    for i in range(n):
        ws.send(user_message({"text": f"m{i:03d}"}))
    for i in range(n):
        pkt = ws.recv_sio()
        assert pkt["data"][0] == "bot_message", pkt
        assert reply_re(f"m{i:03d}").match(pkt["data"][1]["text"]), f"reply #{i} out of order: {pkt!r}"


def test_second_connection_after_close_gets_new_sid(start_quench, open_ws):
    server = start_quench()
    first = open_ws(server)
    sid1, sio1 = first.handshake()
    first.close()
    server.wait_for_log(disconnect_line_re(sio1, 0))
    mark = server.log_mark()
    second = open_ws(server)
    sid2, sio2 = second.handshake()
    assert sid1 != sid2 and sio1 != sio2, (sid1, sid2, sio1, sio2)
    server.wait_for_log(r"\binfo connect sid=" + re.escape(sio2) + r" sessions=1\b", since=mark)


def test_fragmented_text_message_is_reassembled(start_quench, open_ws):
    # RFC 6455 §5.4: a message may arrive as a text frame plus continuation frames.
    import websocket

    server = start_quench()
    ws = open_ws(server)
    ws.handshake()
    data = user_message({"text": "fragmented"}).encode()
    parts = [data[:5], data[5:17], data[17:]]
    ws.ws.send_frame(websocket.ABNF.create_frame(parts[0], websocket.ABNF.OPCODE_TEXT, fin=0))
    ws.ws.send_frame(websocket.ABNF.create_frame(parts[1], websocket.ABNF.OPCODE_CONT, fin=0))
    ws.ws.send_frame(websocket.ABNF.create_frame(parts[2], websocket.ABNF.OPCODE_CONT, fin=1))
    pkt = ws.recv_sio()
    assert pkt["data"][0] == "bot_message" and reply_re("fragmented").match(pkt["data"][1]["text"]), pkt


def test_invalid_utf8_text_frame_closes_connection_and_server_survives(start_quench, open_ws):
    # RFC 6455 §8.1: invalid UTF-8 in a text message fails the WebSocket connection.
    import websocket

    server = start_quench()
    ws = open_ws(server)
    eio_sid, sio_sid = ws.handshake()
    ws.ws.send(b'42["user_message",{"text":"\xff\xfe bad"}]', opcode=websocket.ABNF.OPCODE_TEXT)
    ws.wait_closed(timeout=5)
    server.wait_for_log(disconnect_line_re(sio_sid, 0))
    assert server.running(), f"quench exited ({server.proc.returncode}); log:\n{server.log_text()[-3000:]}"
    other = open_ws(server)
    other.handshake()
    other.send(user_message({"text": "after bad utf8"}))
    pkt = other.recv_sio()
    assert reply_re("after bad utf8").match(pkt["data"][1]["text"]), pkt


def test_binary_frame_does_not_crash_server(start_quench, open_ws):
    # What the server does with a stray binary frame is not pinned (ignore or close); it must not die,
    # and other clients must keep working.
    server = start_quench()
    victim = open_ws(server)
    victim.handshake()
    victim.ws.send_binary(b"\x04\x00\xffbinary")
    other = open_ws(server)
    other.handshake()
    other.send(user_message({"text": "after binary"}))
    pkt = other.recv_sio()
    assert reply_re("after binary").match(pkt["data"][1]["text"]), pkt
    assert server.running()


def test_max_payload_boundary_is_inclusive(start_quench, open_ws):
    # --max-payload is the largest message a client may send: exactly that many bytes is accepted.
    server = start_quench("--max-payload", "1000")
    ws = open_ws(server)
    ws.handshake()
    overhead = len(user_message({"text": ""}).encode())
    exact = "e" * (1000 - overhead)
    assert len(user_message({"text": exact}).encode()) == 1000
    ws.send(user_message({"text": exact}))
    pkt = ws.recv_sio()
    assert reply_re(exact).match(pkt["data"][1]["text"]), pkt
    ws.send(user_message({"text": exact + "e"}))  # 1001 bytes
    ws.wait_closed(timeout=5)


def test_many_abrupt_drops_empty_the_session_table(start_quench, open_ws):
    server = start_quench()
    clients = [open_ws(server) for _ in range(20)]
    sio_sids = [ws.handshake()[1] for ws in clients]
    server.wait_for_log(r"\binfo connect sid=" + re.escape(sio_sids[-1]) + r" sessions=20\b")
    for ws in clients:
        ws.abort()
    lines = server.wait_for_log_count(r"\binfo disconnect sid=(\S+) reason=\"[^\"]*\" sessions=(\d+)\b", 20)
    assert {m.group(1) for m in lines} == set(sio_sids)
    assert lines[-1].group(2) == "0", lines[-1].group(0)
    assert sorted(int(m.group(2)) for m in lines) == list(range(20)), [m.group(2) for m in lines]


def slow_reader_burst(server, open_ws, n=2000, pad="p" * 2000):
    """A client with a small receive buffer sends a burst (~4 MB of replies) and reads only once it has
    sent it all: returns the socket, its engine sid and the texts it sent."""
    import socket
    import threading

    ws = open_ws(server, timeout=10.0, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 16384),))
    eio_sid, _ = ws.handshake()
    texts = [f"{i:04d}{pad}" for i in range(n)]
    errors = []

    def writer():
        try:
            for text in texts:
                ws.send(user_message({"text": text}))
        except Exception as e:  # the server may close the connection mid-burst
            errors.append(repr(e))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    t.join(30)
    return ws, eio_sid, texts, errors


#: The slow-reader bursts send hundreds of events at once, past the per-client event budget (--event-rate).
NO_EVENT_BUDGET = ("--event-rate", "1000000", "--event-burst", "1000000")


def test_slow_reader_within_the_cap_gets_every_reply_in_order(start_quench, open_ws):
    # The burst stays under --max-buffered: the server queues its writes (lws: write only when writable)
    # and delivers every reply, whole and in order.
    # The burst is past the per-client event budget, which is not under test here: lifted.
    server = start_quench("--max-buffered", "8000000", *NO_EVENT_BUDGET)
    ws, _, texts, errors = slow_reader_burst(server, open_ws)
    assert not errors, errors
    for i, text in enumerate(texts):
        pkt = ws.recv_sio(timeout=10)
        assert pkt["data"][0] == "bot_message", pkt
        assert reply_re(text).match(pkt["data"][1]["text"]), f"reply #{i}: {pkt['data'][1]['text'][:40]!r}…"
    assert "outbound limit" not in server.log_text()


def test_slow_reader_past_the_cap_is_closed_as_a_transport_error(start_quench, open_ws):
    # A larger burst (~10 MB: more than the kernel's socket buffers hold) with --max-buffered 1 MB: the
    # session ends at the cap with one warning, the connection is closed, and the server goes on serving others.
    server = start_quench("--max-payload", "100000", "--max-buffered", "1000000", *NO_EVENT_BUDGET)
    ws, eio_sid, texts, _ = slow_reader_burst(server, open_ws, pad="p" * 5000)
    server.wait_for_log(r"^warn outbound limit sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 queued=\d+ bytes > --max-buffered 1000000")
    server.wait_for_log(close_line_re(eio_sid, "transport error"))
    frames = ws.wait_closed(timeout=10)
    assert len(frames) < len(texts), "every reply arrived: nothing was capped"
    other = open_ws(server)
    other.handshake()
    other.send(user_message({"text": "next"}))
    pkt = other.recv_sio()
    assert reply_re("next").match(pkt["data"][1]["text"]), pkt
