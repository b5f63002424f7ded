"""Close frames follow RFC 6455 (5.5.1, 7.4): a client's close is answered with a close whose body is
empty or a two-byte status; a one-byte close body, which the RFC forbids, gets 1002 (protocol error)
rather than an echo. Raw sockets, since WebSocket libraries refuse to send such frames."""

import re
import struct

import pytest

from hostile_ws import RawWebSocket


def closing_answer(server, payload: bytes):
    """Opens a WebSocket session, sends a close frame with `payload`, returns the server's close body."""
    ws = RawWebSocket(server.port)
    try:
        opcode, open_packet = ws.read_frame()
        assert opcode == 0x1 and open_packet.startswith(b"0{"), open_packet
        eio_sid = re.search(rb'"sid":"([^"]+)"', open_packet).group(1).decode()
        assert ws.send_frame(payload, opcode=0x8)
        while True:
            opcode, body = ws.read_frame()
            assert opcode is not None, "the server closed the TCP connection without a close frame"
            if opcode == 0x8:
                return eio_sid, body
    finally:
        ws.close()


def test_a_one_byte_close_body_is_answered_with_1002(start_quench):
    server = start_quench()
    eio_sid, body = closing_answer(server, b"\x03")
    assert body[:2] == struct.pack("!H", 1002) and len(body) >= 2, f"want status 1002, got {body!r}"
    server.wait_for_log(r"^warn bad close frame sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1: a one-byte close payload; closing with 1002$")
    server.wait_for_log(r"\binfo close sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 transport=websocket reason=")


@pytest.mark.parametrize("payload,want", [
    (struct.pack("!H", 1000) + b"bye", struct.pack("!H", 1000) + b"bye"),  # a valid close is echoed
    (b"", b""),  # an empty close gets an empty close
    (struct.pack("!H", 1005), struct.pack("!H", 1002)),  # 1005 may not be sent: protocol error
], ids=["1000 with a reason", "empty", "reserved 1005"])
def test_valid_and_reserved_close_bodies(start_quench, payload, want):
    server = start_quench()
    _, body = closing_answer(server, payload)
    assert body == want, f"sent {payload!r}, got {body!r}"
    assert server.running()


def frames_until_end(ws, seconds):
    """Every frame the server sends until it closes the TCP connection or `seconds` pass."""
    import socket
    ws.sock.settimeout(seconds)
    frames = []
    try:
        while True:
            opcode, payload = ws.read_frame()
            if opcode is None:
                return frames, True
            frames.append((opcode, payload))
    except socket.timeout:
        return frames, False


@pytest.mark.parametrize("bad, status", [
    (lambda ws: ws.send_frame(b"\xff\xfe", opcode=0x1), 1007),  # invalid UTF-8 in a text frame
    (lambda ws: ws.send_frame(b"x", opcode=0x3), 1002),  # a reserved opcode
    (lambda ws: ws.sock.sendall(bytes([0xC1, 0x81, 1, 2, 3, 4, ord("x") ^ 1])), 1002),  # RSV1 set
    (lambda ws: ws.send_frame(b"x", opcode=0x0), 1002),  # a continuation with nothing to continue
], ids=["invalid-utf8", "reserved-opcode", "rsv-bits", "stray-continuation"])
def test_nothing_is_written_after_the_close_frame_lws_sends_itself(start_quench, bad, status):
    """lws closes these connections itself and waits up to 5 s for the client's close; reminders every
    second went on being written after its close frame (RFC 6455 5.5.1 forbids it) until the session
    noticed. Now the session ends with lws's close, and nothing follows the close frame."""
    server = start_quench("--reminder-interval", "1s")
    ws = RawWebSocket(server.port)
    assert ws.read_frame()[1].startswith(b"0{")
    ws.send_text("40")
    assert ws.read_frame()[1].startswith(b"40{")
    bad(ws)
    frames, ended = frames_until_end(ws, 4.0)
    closes = [index for index, (opcode, _) in enumerate(frames) if opcode == 0x8]
    assert closes, f"no close frame: {frames}"
    assert struct.unpack("!H", frames[closes[0]][1][:2])[0] == status, frames[closes[0]]
    assert frames[closes[0] + 1:] == [], f"frames after the close frame: {frames[closes[0] + 1:]}"
    assert ended, "the connection was not closed"
    server.wait_for_log(r'close sid=\S+ peer=127\.0\.0\.1 transport=websocket reason="transport (close|error)"')
