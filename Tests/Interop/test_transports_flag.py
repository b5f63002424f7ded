"""--transports: which Engine.IO transports the server offers (python-socketio's and Node's `transports`
option). Real clients of each kind connect to what is offered and are refused, with code 0 and a log line,
on what is not; a polling session is offered the upgrade only when WebSocket is offered too."""

import json

import pytest
import requests
import websocket

from conftest import run_cli, wait_until
from interop_helpers import reply_re


def polling_open(server):
    r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    return r


def open_packet(r):
    assert r.status_code == 200, f"polling handshake: {r.status_code} {r.content!r}"
    assert r.text.startswith("0{"), f"not an open packet: {r.text!r}"
    return json.loads(r.text[1:])


def chat_over(client):
    client.get(client.system, what="system_message")
    client.sio.emit("user_message", {"text": "which transport"})
    reply = client.get(client.bot, what="bot_message")
    assert reply_re("which transport").match(reply["text"]), reply


def test_default_offers_both_and_polling_upgrades(start_quench, sio_client):
    server = start_quench()
    assert open_packet(polling_open(server))["upgrades"] == ["websocket"]
    client = sio_client(server, transports=None)  # python-socketio's default: polling, then upgrade
    chat_over(client)
    wait_until(lambda: client.sio.transport() == "websocket", what="python-socketio upgraded to websocket")


def test_polling_only_serves_polling_clients_and_refuses_websocket(start_quench, sio_client):
    server = start_quench("--transports", "polling")
    assert open_packet(polling_open(server))["upgrades"] == [], "no upgrade may be offered without websocket"

    client = sio_client(server, transports=("polling",))
    chat_over(client)
    default_client = sio_client(server, transports=None)
    chat_over(default_client)
    assert default_client.sio.transport() == "polling", "a client that would upgrade stays on polling"

    mark = server.log_mark()
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=5).close()
    assert info.value.status_code == 400
    server.wait_for_log(r"^warn refused peer=127\.0\.0\.1 status=400 code=0 .*transport=websocket", since=mark)


def test_websocket_only_serves_websocket_clients_and_refuses_polling(start_quench, sio_client, open_ws):
    server = start_quench("--transports", "websocket")
    client = sio_client(server, transports=("websocket",))
    chat_over(client)
    assert json.loads(open_ws(server).recv_text()[1:])["upgrades"] == []

    mark = server.log_mark()
    r = polling_open(server)
    assert r.status_code == 400
    assert r.json() == {"code": 0, "message": "Transport unknown"}
    server.wait_for_log(r"^warn refused peer=127\.0\.0\.1 status=400 code=0 .*transport=polling", since=mark)


def test_both_spelled_the_other_way_round_is_the_default(start_quench):
    server = start_quench("--transports", "websocket,polling")
    assert open_packet(polling_open(server))["upgrades"] == ["websocket"]


@pytest.mark.parametrize("value", ["", "carrier-pigeon", "polling,", "polling,bogus", "Polling", "websocket polling"])
def test_an_unknown_transport_exits_64_naming_the_flag(value):
    r = run_cli("--transports", value)
    assert r.returncode == 64, f"--transports {value!r}: exit {r.returncode}, stderr={r.stderr!r}"
    assert "--transports" in r.stderr, r.stderr
