"""The limits: past them a new client gets a clean HTTP 503 and a log line; the others carry on.

Connections (file descriptors) are limited to the open-files limit less 100, so the server is started
with a small RLIMIT_NOFILE. Polling sessions hold no descriptor between requests; they are limited
to four per connection slot instead.
"""

import http.client

import websocket

OPEN_FILES = 130  # → a limit of 30 sessions


def open_session(server):
    ws = websocket.create_connection(f"{server.ws_base}/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv().startswith("0{")
    ws.send("40")
    assert ws.recv().startswith("40{")
    assert "Connected to server" in ws.recv()
    return ws


def test_new_clients_past_the_limit_get_503_and_existing_ones_keep_working(start_quench):
    server = start_quench("--log-level", "info", open_files=OPEN_FILES)
    sessions = [open_session(server) for _ in range(30)]
    try:
        server.wait_for_log(r"connect sid=\S+ sessions=30\b")

        # A WebSocket handshake is refused with 503 before the upgrade.
        try:
            websocket.create_connection(f"{server.ws_base}/socket.io/?EIO=4&transport=websocket", timeout=5)
            raise AssertionError("a 31st WebSocket session was accepted")
        except websocket.WebSocketBadStatusException as refused:
            assert refused.status_code == 503

        # So is a polling handshake, with a JSON body and Retry-After.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/socket.io/?EIO=4&transport=polling")
        response = conn.getresponse()
        assert response.status == 503
        assert response.getheader("Retry-After") == "5"
        assert b"Server full" in response.read()
        conn.close()
        server.wait_for_log(r"refused peer=127\.0\.0\.1 status=503 server full: \d+ connections \(limit 30,")

        # The sessions already in keep working.
        sessions[0].send('42["user_message",{"text":"still here"}]')
        assert sessions[0].recv().startswith('42["bot_message",{"text":"still here rcvd at ')

        # When one leaves, a newcomer fits again.
        sessions.pop().close()
        server.wait_for_log(r"disconnect sid=\S+ .*sessions=29\b")
        sessions.append(open_session(server))
    finally:
        for ws in sessions:
            ws.close()


def polling_handshake(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/socket.io/?EIO=4&transport=polling")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_polling_sessions_do_not_use_up_connection_slots_but_are_bounded(start_quench):
    server = start_quench(open_files=OPEN_FILES)  # 30 connection slots → 120 sessions
    for index in range(120):
        status, body = polling_handshake(server)
        assert status == 200, f"polling session {index + 1} refused: {body!r}"
    status, body = polling_handshake(server)
    assert status == 503 and b"Server full" in body
    server.wait_for_log(r"status=503 server full: 120 sessions \(limit 120, four per connection slot\)")
