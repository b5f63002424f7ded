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
