"""CORS on the polling transport, with raw HTTP: allowed, refused, preflight, no Origin; and the
HTTP errors of a polling session's life (closed sid, upgraded sid)."""

import http.client
import json

import websocket

GOOD = "http://good.example:8080"
BAD = "http://evil.example"


def request(server, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def open_polling(server, origin=None):
    status, headers, body = request(server, "GET", "/socket.io/?EIO=4&transport=polling", {"Origin": origin} if origin else {})
    assert status == 200, body
    return json.loads(body[1:])["sid"], headers


def test_allowed_origin_is_echoed_with_credentials(start_quench):
    server = start_quench("--cors-origins", f"{GOOD},http://other.example")
    sid, headers = open_polling(server, GOOD)
    assert headers["access-control-allow-origin"] == GOOD
    assert headers["access-control-allow-credentials"] == "true"
    status, headers, body = request(
        server, "POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", {"Origin": GOOD, "Content-Type": "text/plain"}, b"40"
    )
    assert (status, body) == (200, b"ok")
    assert headers["access-control-allow-origin"] == GOOD


def test_refused_origin_gets_400_and_a_log_line_naming_it(start_quench):
    server = start_quench("--cors-origins", GOOD)
    status, headers, body = request(server, "GET", "/socket.io/?EIO=4&transport=polling", {"Origin": BAD})
    assert status == 400
    assert json.loads(body) == {"code": 4, "message": "Not an accepted origin."}
    assert "access-control-allow-origin" not in headers
    server.wait_for_log(r"refused peer=127\.0\.0\.1 status=400 .*Not an accepted origin.*evil\.example")
    assert "open sid=" not in server.log_text()


def test_requests_without_origin_are_allowed_and_get_no_cors_headers(start_quench):
    server = start_quench("--cors-origins", GOOD)
    sid, headers = open_polling(server)
    assert "access-control-allow-origin" not in headers


def test_preflight_allows_methods_and_requested_headers(start_quench):
    server = start_quench("--cors-origins", GOOD)
    status, headers, body = request(
        server, "OPTIONS", "/socket.io/?EIO=4&transport=polling",
        {"Origin": GOOD, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-token"},
    )
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == GOOD
    assert headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert headers["access-control-allow-headers"] == "content-type, x-token"
    status, headers, body = request(server, "OPTIONS", "/socket.io/?EIO=4&transport=polling", {"Origin": BAD, "Access-Control-Request-Method": "POST"})
    assert (status, json.loads(body)) == (400, {"code": 4, "message": "Not an accepted origin."})
    assert "access-control-allow-origin" not in headers


def test_default_star_echoes_any_origin(start_quench):
    server = start_quench()
    _, headers = open_polling(server, BAD)
    assert headers["access-control-allow-origin"] == BAD


def test_closed_session_and_upgraded_session_are_400(start_quench):
    server = start_quench()
    sid, _ = open_polling(server)
    status, _, body = request(server, "POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", body=b"1")
    assert (status, body) == (200, b"ok")
    # A GET already on its way when the client said goodbye is released once with a noop...
    status, _, body = request(server, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    assert (status, body) == (200, b"6")
    # ...after that the sid is unknown.
    status, _, body = request(server, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    assert status == 400 and json.loads(body)["code"] == 1

    sid, _ = open_polling(server)
    ws = websocket.create_connection(f"{server.ws_base}/socket.io/?EIO=4&transport=websocket&sid={sid}", timeout=5)
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        status, _, body = request(server, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        assert (status, body) == (200, b"6")  # the poll is released so the client can finish the upgrade
        ws.send("5")
        server.wait_for_log(r"upgrade sid=%s " % sid)
        status, _, body = request(server, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        assert status == 400 and json.loads(body)["code"] == 3
    finally:
        ws.close()
