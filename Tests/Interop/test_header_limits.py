"""Request headers: each header under 16 KiB is accepted (browsers send large cookies; nginx's default
buffers allow as much); a longer one is answered 431 with a log line, not a silent close."""

import pytest
import requests

from interop_helpers import SioClient, reply_re

POLLING = "/socket.io/?EIO=4&transport=polling"


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_a_client_with_a_6_kb_cookie_connects_and_gets_replies(start_quench, transport):
    server = start_quench()
    cookie = "session=" + "c" * 6 * 1024
    client = SioClient(server)
    try:
        client.connect(headers={"Cookie": cookie}, transports=(transport,))
        assert client.get(client.system, what="system_message") == {"text": "Connected to server"}
        client.sio.emit("user_message", {"text": "big cookie"})
        assert reply_re("big cookie").match(client.get(client.bot, what="bot_message")["text"])
        assert client.sio.transport() == transport
    finally:
        client.disconnect()


def test_headers_just_under_16_kib_are_accepted(start_quench):
    server = start_quench()
    response = requests.get(server.url + POLLING, headers={"Cookie": "a=" + "b" * (16 * 1024 - 10)}, timeout=5)
    assert response.status_code == 200 and response.text.startswith("0{")


@pytest.mark.parametrize("size", [16 * 1024 + 100, 64 * 1024])
def test_a_larger_header_is_answered_431_with_a_log_line(start_quench, size):
    server = start_quench()
    session = requests.Session()
    response = session.get(server.url + POLLING, headers={"Cookie": "a=" + "b" * size}, timeout=5)
    assert response.status_code == 431
    assert response.text == "A request header is 16384 bytes or longer\n"
    assert response.headers.get("Connection") == "close"
    server.wait_for_log(r"warn refused peer=127\.0\.0\.1 status=431 a request header of 16384 bytes or more")
    # The same client, with an ordinary request, is served on a new connection.
    assert session.get(server.url + POLLING, timeout=5).status_code == 200


def test_a_websocket_handshake_with_a_larger_header_is_answered_431(start_quench):
    import websocket

    server = start_quench()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            f"{server.ws_base}/socket.io/?EIO=4&transport=websocket", header=["Cookie: a=" + "b" * 20000], timeout=5)
    assert refused.value.status_code == 431
    server.wait_for_log(r"status=431 a request header of 16384 bytes or more")


def test_headers_over_the_whole_area_close_the_connection_with_a_log_line(start_quench):
    """A header lws does not know by name is not cut at 16 KiB; past the 32 KiB area lws can only close."""
    server = start_quench()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + POLLING, headers={"X-Large": "b" * 40000}, timeout=5)
    server.wait_for_log(r"warn lws: request headers over 32768 bytes in total: connection closed without an answer")
    assert requests.get(server.url + POLLING, timeout=5).status_code == 200
