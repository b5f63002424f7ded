"""The bare Engine.IO server of quench-conformance (/engine.io/), over raw HTTP and WebSocket.

Each test names the protocol behaviour it checks; the server echoes every message as it came.
"""

import base64
import json
import threading

import pytest
import requests
import websocket

from conformance_support import MAX_PAYLOAD, PING_INTERVAL_MS, PING_TIMEOUT_MS, RS, conformance, wait_until  # noqa: F401


def sid_refused(server, sid) -> bool:
    response = server.get(sid)
    return response.status_code == 400 and response.json() == {"code": 1, "message": "Session ID unknown"}


class TestHandshake:
    def test_polling_open_packet_carries_every_setting(self, conformance):
        sid, packet = conformance.open_polling()
        assert set(packet) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert isinstance(sid, str) and sid
        assert packet["upgrades"] == ["websocket"]
        assert packet["pingInterval"] == PING_INTERVAL_MS
        assert packet["pingTimeout"] == PING_TIMEOUT_MS
        assert packet["maxPayload"] == MAX_PAYLOAD

    def test_websocket_open_packet_offers_no_upgrade(self, conformance):
        ws = conformance.ws()
        try:
            packet = ws.open_packet()
            assert packet["upgrades"] == []
            assert packet["maxPayload"] == MAX_PAYLOAD
            assert packet["pingInterval"] == PING_INTERVAL_MS
        finally:
            ws.close()

    @pytest.mark.parametrize("query", ["transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling",
                                       "EIO=4", "EIO=4&transport=abc"])
    def test_bad_query_is_400(self, conformance, query):
        assert requests.get(f"{conformance.url}/engine.io/?{query}", timeout=5).status_code == 400

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
    def test_handshake_with_another_method_is_400(self, conformance, method):
        assert requests.request(method, conformance.eio_url(), timeout=5).status_code == 400

    @pytest.mark.parametrize("query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4"])
    def test_bad_websocket_handshake_is_refused(self, conformance, query):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(f"{conformance.ws_base}/engine.io/?{query}", timeout=5)
        assert refused.value.status_code == 400


class TestEcho:
    def test_polling_echoes_text_and_binary_in_one_payload(self, conformance):
        sid, _ = conformance.open_polling()
        body = "4hello" + RS + "b" + base64.b64encode(bytes([1, 2, 3, 4])).decode() + RS + "4é✓"
        response = conformance.post(sid, body.encode())
        assert (response.status_code, response.text) == (200, "ok")
        assert conformance.get(sid).content.decode() == body

    def test_websocket_echoes_text_and_binary_frames(self, conformance):
        ws = conformance.ws()
        try:
            ws.open_packet()
            ws.send("4hello")
            assert ws.text() == "4hello"
            ws.send_binary(bytes([0, 1, 2, 255]))
            assert ws.binary() == bytes([0, 1, 2, 255])
        finally:
            ws.close()

    def test_real_engineio_client_gets_its_messages_back(self, conformance):
        import queue

        import engineio

        received = queue.Queue()
        client = engineio.Client()
        client.on("message", lambda data: received.put(data))
        client.connect(conformance.url, engineio_path="engine.io")
        try:
            client.send("text message")
            client.send(b"\x00\x01binary")
            got = {received.get(timeout=5), received.get(timeout=5)}
            assert got == {"text message", b"\x00\x01binary"}
        finally:
            client.disconnect()


class TestInvalidInput:
    def test_invalid_post_is_400_and_ends_the_session(self, conformance):
        sid, _ = conformance.open_polling()
        assert conformance.post(sid, b"abc").status_code == 400
        assert sid_refused(conformance, sid)

    def test_invalid_websocket_frame_closes_the_connection(self, conformance):
        ws = conformance.ws()
        ws.open_packet()
        ws.send("abc")
        code, seen = ws.wait_closed()
        assert seen == []
        assert code in (1002, None)

    def test_overlapping_get_ends_the_session(self, conformance):
        sid, _ = conformance.open_polling()
        responses = []

        def poll():
            responses.append(conformance.get(sid))

        threads = [threading.Thread(target=poll) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        # Whichever GET the server read first was held and is released with a close packet; the other is refused.
        answers = sorted((r.status_code, r.text if r.status_code == 200 else "") for r in responses)
        assert answers == [(200, "1"), (400, "")]
        assert sid_refused(conformance, sid)


class TestHeartbeat:
    def test_polling_ping_pong(self, conformance):
        sid, _ = conformance.open_polling()
        for _ in range(3):
            response = conformance.get(sid)
            assert (response.status_code, response.text) == (200, "2")
            assert conformance.post(sid, b"3").status_code == 200

    def test_polling_client_that_stops_answering_is_dropped(self, conformance):
        sid, _ = conformance.open_polling()
        wait_until(lambda: sid_refused(conformance, sid), what="sid refused after the ping timeout")

    def test_websocket_client_that_answers_stays(self, conformance):
        ws = conformance.ws()
        try:
            ws.open_packet()
            for _ in range(5):
                assert ws.text(answer_pings=False) == "2"
                ws.send("3")
            ws.send("4still here")
            assert ws.text() == "4still here"
        finally:
            ws.close()

    def test_silent_websocket_client_is_closed(self, conformance):
        ws = conformance.ws()
        ws.open_packet()
        _, seen = ws.wait_closed(answer_pings=False)
        assert seen == [("text", "2")]


class TestClose:
    def test_close_packet_releases_the_held_get_with_a_noop(self, conformance):
        sid, _ = conformance.open_polling()
        held = {}

        def hold():
            held["response"] = conformance.get(sid)

        holder = threading.Thread(target=hold)
        holder.start()
        # POST the close only once the GET is held: the server answers a POST-before-GET the same way
        # (next test), so both orders give the same result; this test wants the held case.
        wait_until(lambda: holder.is_alive(), what="GET in flight")
        response = conformance.post(sid, b"1")
        assert response.status_code == 200
        holder.join(timeout=10)
        assert held["response"].status_code == 200
        assert held["response"].text == "6"
        assert sid_refused(conformance, sid)

    def test_get_arriving_after_the_close_post_still_gets_the_noop_once(self, conformance):
        sid, _ = conformance.open_polling()
        assert conformance.post(sid, b"1").status_code == 200
        late = conformance.get(sid)
        assert (late.status_code, late.text) == (200, "6")
        assert sid_refused(conformance, sid)

    def test_websocket_close_packet_closes_and_no_ping_follows(self, conformance):
        ws = conformance.ws()
        sid = ws.open_packet()["sid"]
        ws.send("1")
        _, seen = ws.wait_closed(answer_pings=False)
        assert ("text", "2") not in seen
        assert sid_refused(conformance, sid)
        with pytest.raises(websocket.WebSocketBadStatusException):
            conformance.ws(sid=sid)


class TestUpgrade:
    def test_probe_noop_upgrade_then_messages_on_websocket(self, conformance):
        sid, _ = conformance.open_polling()
        ws = conformance.ws(sid=sid)
        try:
            ws.send("2probe")
            assert ws.text(answer_pings=False) == "3probe"
            released = conformance.get(sid)
            assert (released.status_code, released.text) == (200, "6")
            ws.send("5")
            ws.send("4hello")
            assert ws.text() == "4hello"
            # The polling side is over, and a second WebSocket for the sid is closed without a session.
            refused = conformance.get(sid)
            assert refused.status_code == 400
            second = conformance.ws(sid=sid)
            code, seen = second.wait_closed(answer_pings=False)
            assert seen == []
            ws.send("4after")
            assert ws.text() == "4after"
        finally:
            ws.close()

    def test_get_sent_without_waiting_for_the_probe_is_refused_after_the_upgrade(self, conformance):
        sid, _ = conformance.open_polling()
        ws = conformance.ws(sid=sid)
        try:
            ws.send("2probe")
            ws.send("5")
            assert conformance.get(sid).status_code == 400
            ws.send("4hello")
            assert [ws.text(), ws.text()] == ["3probe", "4hello"]
        finally:
            ws.close()


class TestMaxPayload:
    def test_websocket_message_of_exactly_max_payload_is_accepted(self, conformance):
        ws = conformance.ws()
        try:
            ws.open_packet()
            message = "4" + "x" * (MAX_PAYLOAD - 1)
            ws.send(message)
            assert ws.text(timeout=10) == message
        finally:
            ws.close()

    def test_oversize_websocket_message_closes_with_1009(self, conformance):
        ws = conformance.ws()
        ws.open_packet()
        ws.send("4" + "x" * MAX_PAYLOAD)
        code, _ = ws.wait_closed()
        assert code == 1009

    def test_oversize_fragmented_websocket_message_closes_with_1009(self, conformance):
        ws = conformance.ws()
        ws.open_packet()
        chunk = b"y" * 300_000
        ws.ws.send_frame(websocket.ABNF(fin=0, opcode=websocket.ABNF.OPCODE_TEXT, data=b"4" + chunk))
        for _ in range(3):
            ws.ws.send_frame(websocket.ABNF(fin=0, opcode=websocket.ABNF.OPCODE_CONT, data=chunk))
        # Over the limit before the message is even complete: the server closes without waiting for the
        # last fragment (sending it now could race the server's close and reset the connection).
        code, _ = ws.wait_closed()
        assert code == 1009

    def test_oversize_post_is_413_and_ends_the_session(self, conformance):
        sid, _ = conformance.open_polling()
        response = conformance.post(sid, b"4" + b"z" * MAX_PAYLOAD)
        assert response.status_code == 413
        assert sid_refused(conformance, sid)

    def test_server_keeps_serving_after_oversize_messages(self, conformance):
        sid, _ = conformance.open_polling()
        assert conformance.post(sid, b"4fine").text == "ok"
        assert conformance.get(sid).text == "4fine"
