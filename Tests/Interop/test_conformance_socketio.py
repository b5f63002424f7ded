"""The Socket.IO app of quench-conformance (/socket.io/, namespaces / and /custom): python-socketio as a
real client, plus raw WebSocket frames where the exact packet matters.

The app emits `auth` with the CONNECT auth object, answers `message` with `message-back` and the same
arguments, and acknowledges `message-with-ack` with the same arguments; binary included.
"""

import json
import queue

import pytest
import socketio

from conformance_support import conformance  # noqa: F401


def sio_packet(frame: str):
    """'4' + Socket.IO packet → (type, namespace, ack id, data); binary prefixes are kept in the type."""
    assert frame.startswith("4"), frame
    body = frame[1:]
    kind = body[0]
    rest = body[1:]
    if kind in "56":
        count, rest = rest.split("-", 1)
        kind += count + "-"
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = ""
    while rest[:1].isdigit():
        digits, rest = digits + rest[0], rest[1:]
    return kind, namespace, int(digits) if digits else None, json.loads(rest) if rest else None


def joined(conformance, namespace="/", auth=None):
    """A raw WebSocket that has joined `namespace` and read the CONNECT reply and the auth event."""
    ws = conformance.ws(path="socket.io")
    ws.open_packet()
    prefix = "" if namespace == "/" else namespace + ","
    ws.send("40" + prefix + (json.dumps(auth) if auth is not None else ""))
    kind, nsp, _, data = sio_packet(ws.text())
    assert (kind, nsp) == ("0", namespace) and set(data) == {"sid"}
    assert sio_packet(ws.text()) == ("2", namespace, None, ["auth", auth if auth is not None else {}])
    return ws


class Recorder:
    """A python-socketio client recording `auth` and `message-back` per namespace."""

    def __init__(self):
        self.client = socketio.Client(reconnection=False)
        self.events = queue.Queue()
        for namespace in ("/", "/custom"):
            self.client.on("auth", self._recorder("auth", namespace), namespace=namespace)
            self.client.on("message-back", self._recorder("message-back", namespace), namespace=namespace)

    def _recorder(self, name, namespace):
        return lambda *args: self.events.put((namespace, name, list(args)))

    def next(self, timeout=5.0):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s")


@pytest.fixture
def recorder():
    made = []

    def _make():
        made.append(Recorder())
        return made[-1]

    yield _make
    for r in made:
        try:
            r.client.disconnect()
        except Exception:
            pass


class TestPythonSocketIOClient:
    @pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["polling", "websocket"]])
    def test_both_namespaces_on_one_connection_get_their_auth(self, conformance, recorder, transports):
        r = recorder()
        r.client.connect(conformance.url, namespaces=["/", "/custom"], auth={"token": "abc"},
                         transports=transports, wait_timeout=10)
        events = sorted([r.next(), r.next()])
        assert events == [("/", "auth", [{"token": "abc"}]), ("/custom", "auth", [{"token": "abc"}])]
        # One Engine.IO session carries both namespaces.
        assert r.client.eio.sid is not None
        assert r.client.get_sid("/") != r.client.get_sid("/custom")

    def test_message_back_with_binary_arguments(self, conformance, recorder):
        r = recorder()
        r.client.connect(conformance.url, namespaces=["/", "/custom"], transports=["websocket"], wait_timeout=10)
        r.next(), r.next()  # the two auth events
        r.client.emit("message", (1, "2", {"3": [True]}, b"\x01\x02\x03"), namespace="/custom")
        assert r.next() == ("/custom", "message-back", [1, "2", {"3": [True]}, b"\x01\x02\x03"])
        r.client.emit("message", {"nested": [b"\xff", {"deep": b""}]}, namespace="/")
        assert r.next() == ("/", "message-back", [{"nested": [b"\xff", {"deep": b""}]}])

    @pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
    def test_ack_returns_the_same_arguments_binary_included(self, conformance, recorder, transports):
        r = recorder()
        r.client.connect(conformance.url, namespaces=["/"], transports=transports, wait_timeout=10)
        assert r.client.call("message-with-ack", (1, "2", {"3": [False]}), timeout=5) == (1, "2", {"3": [False]})
        assert r.client.call("message-with-ack", b"\x00bytes\xff", timeout=5) == b"\x00bytes\xff"

    def test_unknown_namespace_is_refused(self, conformance, recorder):
        r = recorder()
        errors = queue.Queue()
        r.client.on("connect_error", lambda data: errors.put(data), namespace="/random")
        with pytest.raises(socketio.exceptions.ConnectionError) as refused:
            r.client.connect(conformance.url, namespaces=["/random"], transports=["websocket"], wait_timeout=10)
        assert "/random" in str(refused.value)
        assert errors.get(timeout=5) == {"message": "Invalid namespace"}


class TestRawFrames:
    def test_connect_reply_comes_before_the_auth_event(self, conformance):
        ws = conformance.ws(path="socket.io")
        try:
            ws.open_packet()
            ws.send('40{"token":"123"}')
            first = ws.text()
            assert first.startswith('40{"sid":"')
            assert ws.text() == '42["auth",{"token":"123"}]'
        finally:
            ws.close()

    def test_unknown_namespace_gets_the_exact_connect_error(self, conformance):
        ws = conformance.ws(path="socket.io")
        try:
            ws.open_packet()
            ws.send("40/random")
            assert ws.text() == '44/random,{"message":"Invalid namespace"}'
            # The Engine.IO connection stays usable for other namespaces.
            ws.send("40/custom,")
            assert ws.text().startswith('40/custom,{"sid":"')
        finally:
            ws.close()

    def test_leaving_one_namespace_keeps_the_other(self, conformance):
        ws = joined(conformance)
        try:
            ws.send("40/custom,")
            assert ws.text().startswith("40/custom,")
            assert ws.text() == '42/custom,["auth",{}]'
            ws.send("41/custom,")
            ws.send('42/custom,["message","to custom"]')
            ws.send('42["message","to main"]')
            # /custom was left, so only / answers (and it answers in order, after /custom would have).
            assert ws.text() == '42["message-back","to main"]'
        finally:
            ws.close()

    def test_binary_event_and_binary_ack_frames(self, conformance):
        ws = joined(conformance)
        try:
            ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
            ws.send_binary(bytes([1, 2, 3]))
            ws.send_binary(bytes([4, 5, 6]))
            assert ws.text() == '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
            assert ws.binary() == bytes([1, 2, 3])
            assert ws.binary() == bytes([4, 5, 6])
            ws.send('451-789["message-with-ack",{"_placeholder":true,"num":0}]')
            ws.send_binary(b"\x00")
            assert ws.text() == '461-789[{"_placeholder":true,"num":0}]'
            assert ws.binary() == b"\x00"
            ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
            assert ws.text() == '43456[1,"2",{"3":[false]}]'
        finally:
            ws.close()

    @pytest.mark.parametrize("frame", [
        "4abc",  # unknown Socket.IO packet type
        "42{}",  # event payload not an array
        "42[42]",  # event name not a string
        '42abc["message-with-ack",1]',  # ack id not a number
        '42["message"',  # bad JSON
        '451-["message"]',  # attachment count and placeholders disagree
        "9",  # unknown Engine.IO packet type
    ])
    def test_invalid_input_closes_the_connection(self, conformance, frame):
        ws = joined(conformance)
        ws.send(frame)
        _, seen = ws.wait_closed()
        assert [f for f in seen if f != ("text", "2")] == []

    def test_binary_frame_without_a_binary_packet_closes_the_connection(self, conformance):
        ws = joined(conformance)
        ws.send_binary(b"\x01")
        ws.wait_closed()

    def test_invalid_handshake_closes_the_connection(self, conformance):
        ws = conformance.ws(path="socket.io")
        ws.open_packet()
        ws.send("4abc")
        ws.wait_closed()


class TestConnectTimeout:
    def test_connection_that_joins_no_namespace_is_closed_though_it_answers_pings(self, conformance):
        ws = conformance.ws(path="socket.io")
        ws.open_packet()
        _, seen = ws.wait_closed(answer_pings=True)
        assert all(frame == ("text", "2") for frame in seen)

    def test_connection_that_joined_outlives_the_connect_timeout(self, conformance):
        ws = joined(conformance)
        try:
            # 8 pings at 300 ms span more than the 1000 ms connectTimeout: counted, not slept.
            for _ in range(8):
                assert ws.text(answer_pings=False) == "2"
                ws.send("3")
            ws.send('42["message","still here"]')
            assert ws.text() == '42["message-back","still here"]'
        finally:
            ws.close()

    def test_leaving_every_namespace_does_not_restart_the_timeout(self, conformance):
        ws = joined(conformance)
        try:
            ws.send("41")
            for _ in range(8):
                assert ws.text(answer_pings=False) == "2"
                ws.send("3")
            ws.send("40/custom,")
            assert ws.text().startswith("40/custom,")
        finally:
            ws.close()


class TestClosedSessions:
    def test_closed_session_sid_is_refused_on_both_transports(self, conformance):
        import requests
        import websocket

        ws = conformance.ws(path="socket.io")
        sid = ws.open_packet()["sid"]
        ws.send("1")
        ws.wait_closed(answer_pings=False)
        response = requests.get(conformance.eio_url("socket.io", sid), timeout=5)
        assert response.status_code == 400
        with pytest.raises(websocket.WebSocketBadStatusException):
            conformance.ws(path="socket.io", sid=sid)

    def test_invalid_input_closes_at_once_not_at_the_next_heartbeat(self, conformance):
        ws = joined(conformance)
        ws.send("4abc")
        code, seen = ws.wait_closed(answer_pings=False)
        assert seen == []
