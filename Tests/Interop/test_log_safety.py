"""Nothing a client sends can forge a log line or flood the log.

Each hostile field (a namespace, an event name, a bad user_message argument, a transport, an origin, a
path) is sent by a raw client; the log must show it escaped (`\\n`, never a line break) and cut to
LogSafe's 96 bytes, and no line may start with the text the client tried to forge.
"""

import http.client
import json
import re

import pytest
import requests
import websocket

FORGED = "warn forged by the client"


@pytest.fixture
def server(start_quench):
    return start_quench("--log-level", "debug")


def assert_no_forged_line(server, since):
    lines = server.log_text()[since:].splitlines()
    forged = [line for line in lines if line.startswith(FORGED) or line.startswith(" " + FORGED)]
    assert not forged, f"forged log line(s) {forged!r}; log since mark:\n{server.log_text()[since:]}"


def test_a_namespace_with_a_newline_over_websocket(server, open_ws):
    ws = open_ws(server)
    ws.open_packet()
    mark = server.log_mark()
    ws.send(f"40/x\n{FORGED},")
    reply = ws.recv_text()
    assert reply.startswith("44/x\n" + FORGED + ","), reply
    assert json.loads(reply.split(",", 1)[1]) == {"message": "Invalid namespace"}
    line = server.wait_for_log(r"^info refused namespace (.*) sid=\S+ peer=127\.0\.0\.1: not served$", since=mark)
    assert line.group(1) == "/x\\n" + FORGED, line.group(0)
    assert_no_forged_line(server, mark)


def test_a_namespace_with_a_newline_over_polling(server):
    r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    sid = json.loads(r.text[1:])["sid"]
    mark = server.log_mark()
    body = f"40/p\r\n{FORGED},".encode()
    r = requests.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data=body, timeout=5)
    assert (r.status_code, r.text) == (200, "ok")
    line = server.wait_for_log(r"^info refused namespace (.*) sid=\S+ peer=127\.0\.0\.1: not served$", since=mark)
    assert line.group(1) == "/p\\r\\n" + FORGED, line.group(0)
    assert_no_forged_line(server, mark)


def test_an_event_name_and_a_bad_argument_with_newlines(server, open_ws):
    ws = open_ws(server)
    ws.handshake()
    mark = server.log_mark()
    ws.send("42" + json.dumps([f"ev\n{FORGED}", 1]))
    line = server.wait_for_log(r'^debug no handler for event "(.*)" sid=\S+$', since=mark)
    assert line.group(1) == "ev\\n" + FORGED, line.group(0)
    # A user_message whose argument is a string (not {"text": …}) is logged as the JSON it was.
    ws.send("42" + json.dumps(["user_message", f"a\n{FORGED}"]))
    assert ws.recv_sio()["data"][0] == "system_message"
    line = server.wait_for_log(r"^info bad user_message sid=\S+: (.*)$", since=mark)
    assert FORGED in line.group(1) and "\n" not in line.group(1), line.group(0)
    assert_no_forged_line(server, mark)


def test_a_huge_bad_argument_is_cut_to_a_short_field(server, open_ws):
    ws = open_ws(server)
    ws.handshake()
    mark = server.log_mark()
    ws.send("42" + json.dumps(["user_message", "x" * 200_000]))
    assert ws.recv_sio()["data"][0] == "system_message"
    line = server.wait_for_log(r"^info bad user_message sid=\S+: (.*)$", since=mark)
    # 96 bytes of the JSON text, escaped, then how long it was.
    assert line.group(1).endswith("…(200002 bytes)"), line.group(0)[:300]
    assert len(line.group(0).encode()) < 300, len(line.group(0))


def test_a_transport_and_an_origin_with_escapes(start_quench):
    server = start_quench("--cors-origins", "http://good.example")
    mark = server.log_mark()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        # %25 decodes (once, by lws) to a literal %: the transport stays "x%0Awarn …", never a newline.
        conn.request("GET", "/socket.io/?EIO=4&transport=x%250A" + FORGED.replace(" ", "%20"))
        resp = conn.getresponse()
        assert resp.status == 400, resp.status
        resp.read()
    finally:
        conn.close()
    line = server.wait_for_log(r'^warn refused .*"Transport unknown" transport=(.*)$', since=mark)
    assert line.group(1) == "x%0A" + FORGED, line.group(0)
    # An origin header cannot hold a newline, but it can hold quotes, backslashes and a lot of text.
    origin = 'http://evil.example/"\\' + "o" * 300
    r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin}, timeout=5)
    assert r.status_code == 400 and r.json() == {"code": 4, "message": "Not an accepted origin."}
    line = server.wait_for_log(r'^warn refused .*"Not an accepted origin\." origin (.*) is not in --cors-origins$', since=mark)
    assert line.group(1).startswith('http://evil.example/\\"\\\\ooo'), line.group(0)
    assert line.group(1).endswith(f"…({len(origin)} bytes)"), line.group(0)
    assert_no_forged_line(server, mark)


def test_a_websocket_to_a_long_unknown_path(server):
    mark = server.log_mark()
    path = "/elsewhere/" + "p" * 500
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{server.port}{path}?EIO=4&transport=websocket", timeout=5)
    assert refused.value.status_code == 404
    line = server.wait_for_log(r"^warn refused peer=127\.0\.0\.1 status=404 WebSocket to (.*): no Engine.IO endpoint there$", since=mark)
    assert line.group(1) == path[:96] + f"…({len(path)} bytes)", line.group(0)
