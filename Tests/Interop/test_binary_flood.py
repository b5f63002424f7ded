"""Binary reassembly is bounded: a hostile client cannot make quench hold attachments beyond maxPayload.

A BINARY_EVENT header announces N attachments, each of which is its own WebSocket message of up to
maxPayload bytes. quench takes at most 100 attachments per packet, all of them together at most maxPayload
bytes, and only for a namespace the client has joined (checked at the header, before any attachment).
Each refusal closes the session with one warn line. The hostile client here is websocket-client speaking
raw Engine.IO; the legitimate one is python-socketio.
"""

import json
import re

import websocket

from interop_helpers import memory_kib, reply_re

MAX_PAYLOAD = 1_000_000  # quench's default --max-payload
MAX_ATTACHMENTS = 100


def binary_header(count, namespace=""):
    placeholders = ",".join(json.dumps({"_placeholder": True, "num": n}) for n in range(count))
    prefix = f"{namespace}," if namespace else ""
    return f'45{count}-{prefix}["user_message",{placeholders}]'


def flood(ws, frame, count):
    """Send up to `count` binary messages; stop when the server has closed the connection."""
    try:
        for _ in range(count):
            ws.ws.send_binary(frame)
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        pass


def test_attachments_past_max_payload_close_the_session_and_memory_stays_flat(start_quench, open_ws, sio_client):
    server = start_quench()
    ws = open_ws(server)
    ws.handshake()
    before = memory_kib(server.proc.pid, "VmRSS")
    mark = server.log_mark()

    # A count within the limit, then messages that are each just under maxPayload: before the bound, the
    # 99 sent here (98 MB) were all kept, waiting for the 100th.
    ws.send(binary_header(MAX_ATTACHMENTS))
    flood(ws, bytes(990_000), MAX_ATTACHMENTS - 1)
    ws.wait_closed(timeout=10)

    line = server.wait_for_log(
        r"^warn bad Socket\.IO packet sid=\S+ peer=127\.0\.0\.1: attachments too large: attachment 2 of 100 "
        r"brings them to 1980000 bytes \(limit 1000000\); closing$", since=mark)
    assert len(re.findall(r"attachments too large", server.log_text()[mark:])) == 1, line
    # The peak resident size during the flood stayed within a few maxPayloads of where it started.
    grown = memory_kib(server.proc.pid, "VmHWM") - before
    assert grown < 30_000, f"quench's peak RSS grew by {grown} KiB during the flood"

    # Others are served as before.
    client = sio_client(server)
    client.sio.emit("user_message", {"text": "after the flood"})
    assert reply_re("after the flood").match(client.get(client.bot)["text"])


def test_a_header_announcing_too_many_attachments_is_refused_at_once(start_quench, open_ws):
    server = start_quench()
    ws = open_ws(server)
    ws.handshake()
    mark = server.log_mark()
    ws.send(binary_header(MAX_ATTACHMENTS + 1))
    ws.wait_closed(timeout=5)  # no attachment sent: the header alone ends the session
    server.wait_for_log(
        r"^warn bad Socket\.IO packet sid=\S+ peer=127\.0\.0\.1: invalid attachment count: more than 100; closing$",
        since=mark)


def test_a_binary_packet_for_an_unjoined_namespace_is_refused_at_its_header(start_quench, open_ws):
    server = start_quench()
    ws = open_ws(server)
    ws.handshake()  # joins "/" only
    mark = server.log_mark()
    ws.send(binary_header(3, namespace="/never\njoined"))
    ws.wait_closed(timeout=5)  # refused before any attachment arrives
    server.wait_for_log(
        r"^warn binary packet for unjoined namespace /never\\njoined sid=\S+ peer=127\.0\.0\.1; closing$", since=mark)
    assert "\njoined" not in server.log_text()[mark:]


def test_a_python_socketio_binary_emit_still_works(start_quench, sio_client):
    server = start_quench()
    client = sio_client(server)
    # Two attachments of 400 kB each: 800 kB together, within maxPayload.
    client.sio.emit("user_message", {"text": "with bytes", "a": bytes(400_000), "b": b"\x01" * 400_000})
    assert reply_re("with bytes").match(client.get(client.bot)["text"])
    assert "attachments too large" not in server.log_text()
