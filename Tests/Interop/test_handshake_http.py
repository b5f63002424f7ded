"""The HTTP side of the handshake: bad queries, custom path, CORS at the WebSocket upgrade."""

import base64
import http.client
import json
import os
import re
import shutil
import subprocess

import pytest
import requests
import websocket

from interop_helpers import EIO_SID_RE

# (query, id, error body on a plain GET, error body on a WebSocket upgrade). The transport is checked
# first, as the reference server does: a plain GET asking for transport=websocket is a bad request (3)
# before its EIO is looked at; on an upgrade the version is what is wrong (5).
TRANSPORT_UNKNOWN = {"code": 0, "message": "Transport unknown"}
BAD_REQUEST = {"code": 3, "message": "Bad request"}
UNSUPPORTED_VERSION = {"code": 5, "message": "Unsupported protocol version"}
BAD_QUERIES = [
    ("transport=websocket", "missing EIO", BAD_REQUEST, UNSUPPORTED_VERSION),
    ("EIO=3&transport=websocket", "EIO=3", BAD_REQUEST, UNSUPPORTED_VERSION),
    ("EIO=5&transport=websocket", "EIO=5", BAD_REQUEST, UNSUPPORTED_VERSION),
    ("EIO=4", "missing transport", TRANSPORT_UNKNOWN, TRANSPORT_UNKNOWN),
    ("EIO=4&transport=foo", "transport=foo", TRANSPORT_UNKNOWN, TRANSPORT_UNKNOWN),
]
BAD_IDS = [case[1] for case in BAD_QUERIES]


def assert_error_body(body: bytes, context: str):
    try:
        doc = json.loads(body)
    except ValueError:
        raise AssertionError(f"{context}: body is not JSON: {body!r}")
    assert isinstance(doc, dict), f"{context}: body is not a JSON object: {doc!r}"
    assert isinstance(doc.get("code"), int) and not isinstance(doc.get("code"), bool), f"{context}: no integer code: {doc!r}"
    assert isinstance(doc.get("message"), str) and doc["message"], f"{context}: no message: {doc!r}"


def upgrade_headers(host_port: str, origin=None) -> dict:
    headers = {
        "Host": host_port,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    if origin:
        headers["Origin"] = origin
    return headers


@pytest.fixture
def server(start_quench):
    return start_quench()


@pytest.mark.parametrize("query,expected", [(q, get) for q, _, get, _ in BAD_QUERIES], ids=BAD_IDS)
def test_bad_query_plain_get_is_400_json(server, query, expected):
    r = requests.get(f"{server.url}/socket.io/?{query}", timeout=5)
    assert r.status_code == 400, f"GET ?{query}: status {r.status_code}, body {r.content!r}"
    assert_error_body(r.content, f"GET ?{query}")
    assert r.json() == expected, f"GET ?{query}"


@pytest.mark.parametrize("query", [case[0] for case in BAD_QUERIES], ids=BAD_IDS)
def test_bad_query_upgrade_refused_with_400(server, query):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?{query}", timeout=5)
        ws.close()
    assert info.value.status_code == 400, f"upgrade ?{query}: status {info.value.status_code}, want 400"


@pytest.mark.parametrize("query,expected", [(q, upgrade) for q, _, _, upgrade in BAD_QUERIES], ids=BAD_IDS)
def test_bad_query_upgrade_raw_http_gets_400_json_body(server, query, expected):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", f"/socket.io/?{query}", headers=upgrade_headers(f"127.0.0.1:{server.port}"))
        resp = conn.getresponse()
        status = resp.status
        body = resp.read() if status != 101 else b""
    finally:
        conn.close()
    assert status == 400, f"upgrade ?{query}: status {status}, want 400 before any upgrade"
    assert_error_body(body, f"upgrade ?{query}")
    assert json.loads(body) == expected, f"upgrade ?{query}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_bad_protocol_version_with_curl(server):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}",
         f"{server.url}/socket.io/?EIO=3&transport=websocket"],
        capture_output=True, timeout=10,
    )
    assert r.returncode == 0, f"curl failed: {r.stderr!r}"
    body, _, status = r.stdout.rpartition(b"\n")
    assert status == b"400", f"curl status {status!r}, body {body!r}"
    assert_error_body(body, "curl EIO=3")


def test_custom_path(start_quench, open_ws, sio_client):
    server = start_quench("--path", "/chat/")
    ws = open_ws(server, path="/chat/")
    assert EIO_SID_RE.match(ws.open_packet()["sid"])
    client = sio_client(server, socketio_path="chat")
    assert client.get(client.system, what="system_message") == {"text": "Connected to server"}
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=5)
    # No Engine.IO endpoint at /socket.io/ any more: a plain 404, not an Engine.IO error.
    assert info.value.status_code == 404, f"/socket.io/ with --path /chat/: status {info.value.status_code}"


# -- CORS at the WebSocket handshake ---------------------------------------------------------------


def test_cors_restricted_refuses_other_origin(start_quench):
    server = start_quench("--cors-origins", "http://good.example")
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=5, origin="http://bad.example"
        )
    assert info.value.status_code == 400, f"bad origin: status {info.value.status_code}, want 400"
    assert json.loads(info.value.resp_body) == {"code": 4, "message": "Not an accepted origin."}


def test_cors_restricted_accepts_listed_origin_and_no_origin(start_quench, open_ws):
    server = start_quench("--cors-origins", "http://good.example")
    good = open_ws(server, origin="http://good.example")
    assert EIO_SID_RE.match(good.open_packet()["sid"])
    none = open_ws(server, suppress_origin=True)
    assert EIO_SID_RE.match(none.open_packet()["sid"])


def test_cors_origin_list(start_quench, open_ws):
    server = start_quench("--cors-origins", "http://a.example,http://b.example")
    for origin in ("http://a.example", "http://b.example"):
        ws = open_ws(server, origin=origin)
        assert EIO_SID_RE.match(ws.open_packet()["sid"]), origin
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=5, origin="http://c.example"
        )
    assert info.value.status_code == 400, f"unlisted origin: status {info.value.status_code}, want 400"
    assert json.loads(info.value.resp_body) == {"code": 4, "message": "Not an accepted origin."}


def test_cors_default_star_accepts_any_origin(server, open_ws):
    for origin in ("http://bad.example", "https://anything.example:8443"):
        ws = open_ws(server, origin=origin)
        assert EIO_SID_RE.match(ws.open_packet()["sid"]), origin


# -- sid misuse on the WebSocket transport ---------------------------------------------------------


def test_websocket_with_unknown_sid_is_refused(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA", timeout=5
        )
    assert info.value.status_code == 400, info.value.status_code
    assert json.loads(info.value.resp_body) == {"code": 1, "message": "Session ID unknown"}


def test_second_websocket_for_a_websocket_sid_is_refused(server, open_ws):
    # As the JS server does: the new WebSocket is accepted and closed at once without a single
    # Engine.IO frame (a refused handshake would surface as an error event in clients that only listen
    # for close), with a log line. The first connection must be unaffected.
    first = open_ws(server)
    sid, _ = first.handshake()
    mark = server.log_mark()
    second = open_ws(server, query=f"EIO=4&transport=websocket&sid={sid}")
    frames = second.wait_closed(timeout=5)
    assert frames == [], f"the second WebSocket for {sid} received Engine.IO frames: {frames!r}"
    server.wait_for_log(r"^warn refused upgrade sid=" + re.escape(sid) + r" peer=127\.0\.0\.1: transport=websocket ", since=mark)
    first.send('42["user_message",{"text":"first still works"}]')
    pkt = first.recv_sio()
    assert pkt["data"][0] == "bot_message" and pkt["data"][1]["text"].startswith("first still works rcvd at "), pkt


def test_polling_with_unknown_sid_is_400_json(server):
    r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", timeout=5)
    assert r.status_code == 400, (r.status_code, r.content)
    assert_error_body(r.content, "polling unknown sid")
    assert r.json() == {"code": 1, "message": "Session ID unknown"}


def test_unsupported_method_is_400_json(server):
    r = requests.put(f"{server.url}/socket.io/?EIO=4&transport=polling", data=b"x", timeout=5)
    assert r.status_code == 400, (r.status_code, r.content)
    assert_error_body(r.content, "PUT")
    assert r.json() == {"code": 2, "message": "Bad handshake method"}
