"""Query parameters are decoded exactly once (by lws), and nothing in them can forge a log line.

lws already turns `%XX` into bytes and `+` into a space, argument by argument. A second decoding on
top read `pollin%2567` as `polling`, turned `%250A` into a newline in the log, and split `a=%26b` in
two. The requests here go out over raw sockets / http.client, so no client library re-encodes them.
"""

import base64
import http.client
import json
import os
import re

import pytest


@pytest.fixture
def server(start_quench):
    return start_quench()


def raw_get(server, target, headers=None):
    """GET `target` exactly as written (http.client sends the path unchanged); (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", target, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read() if resp.status != 101 else b""
    finally:
        conn.close()


def upgrade_headers(port):
    return {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }


def assert_no_forged_line(server, since, forged):
    lines = server.log_text()[since:].splitlines()
    bad = [line for line in lines if line.startswith(forged)]
    assert not bad, f"forged log line(s) {bad!r}; log since mark:\n{server.log_text()[since:]}"


def test_a_percent_escape_decoded_by_lws_is_not_decoded_again(server):
    mark = server.log_mark()
    status, body = raw_get(server, "/socket.io/?EIO=4&transport=pollin%2567")
    assert status == 400, (status, body)
    assert json.loads(body) == {"code": 0, "message": "Transport unknown"}
    server.wait_for_log(r"^warn refused .*\"Transport unknown\" transport=pollin%67$", since=mark)


def test_an_escaped_ampersand_stays_inside_its_value(server):
    # Split again at the decoded '&', this would be transport=polling&EIO=4: a handshake (200).
    status, body = raw_get(server, "/socket.io/?transport=polling%26EIO%3D4")
    assert status == 400, (status, body)
    assert json.loads(body) == {"code": 0, "message": "Transport unknown"}
    # And the other way round: a value holding "&sid=x" must not become a sid (that would be 400).
    status, body = raw_get(server, "/socket.io/?EIO=4&transport=polling&t=%26sid%3Dnope")
    assert status == 200, (status, body)
    assert body.startswith(b"0{") and b'"sid"' in body, body


def test_an_empty_argument_does_not_end_the_query(server):
    status, body = raw_get(server, "/socket.io/?EIO=4&&transport=polling")
    assert status == 200, (status, body)
    assert body.startswith(b"0{"), body


def test_a_double_escaped_newline_in_the_transport_is_refused_and_forges_no_log_line(server):
    mark = server.log_mark()
    status, body = raw_get(server, "/socket.io/?EIO=4&transport=x%250Awarn%20forged%20line")
    assert status == 400, (status, body)
    assert json.loads(body) == {"code": 0, "message": "Transport unknown"}
    server.wait_for_log(r"^warn refused .*\"Transport unknown\" transport=x%0Awarn forged line$", since=mark)
    assert_no_forged_line(server, mark, "warn forged")


def test_the_same_on_a_websocket_upgrade(server):
    mark = server.log_mark()
    status, body = raw_get(
        server, "/socket.io/?EIO=4&transport=web%2573ocket%250Aerror%20forged", headers=upgrade_headers(server.port))
    assert status == 400, (status, body)
    assert json.loads(body) == {"code": 0, "message": "Transport unknown"}
    server.wait_for_log(r"^warn refused .* transport=web%73ocket%0Aerror forged$", since=mark)
    assert_no_forged_line(server, mark, "error forged")
    # A plain websocket handshake still works on the same server.
    status, _ = raw_get(server, "/socket.io/?EIO=4&transport=websocket", headers=upgrade_headers(server.port))
    assert status == 101
