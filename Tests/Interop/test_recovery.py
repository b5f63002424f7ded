"""Connection state recovery (issue 13) with the real clients against the real binary.

socket.io-client 4.8.1 (the browser bundle from the nicegui wheel) in headless Chromium reaches quench
through a TCP proxy the test cuts (over WebSocket, and over long-polling with a short ping timeout): a
reminder and an emit through the Redis queue (to its sid, and to everyone) fire while it is away; when the network is back it reconnects by itself with `socket.recovered`
true, the same id, and each missed event once, in order, before anything newer. With recovery off the same
drop gives a new session. Raw WebSocket clients show the refusals: window expired, unknown pid, an offset
older than the bounded log, a client that left on purpose; python-socketio works against a server with
recovery on only with handlers that take the extra offset argument (the documented caveat)."""

import json
import pathlib
import re
import shutil
import tempfile

import pytest
import socketio

from conftest import wait_until
from interop_helpers import CONNECTED, REMINDER_RE, EioWS, user_message
from tcp_proxy import TogglingProxy
from test_metrics import metric, wait_metric
from test_browser import browser, needs_chromium  # noqa: F401  (fixtures: one Chromium per test, skip without it)
from test_redis import redis_server  # noqa: F401  (fixture: a real redis-server on a free port)
from test_restart import socketio_min_js

PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="/socket.io.min.js"></script></head>
<body><script>
window.state = {connects: [], received: [], reasons: []};
const transports = new URLSearchParams(location.search).get("t").split(",");
const socket = io({transports, reconnectionDelay: 200, reconnectionDelayMax: 500});
socket.on("connect", () => { state.connects.push({id: socket.id, recovered: !!socket.recovered}); });
setInterval(() => { state.transport = socket.io.engine ? socket.io.engine.transport.name : null; }, 20);
socket.onAny((event, ...args) => { state.received.push([event, ...args]); });
socket.on("disconnect", (reason) => { state.reasons.push(reason); });
</script></body></html>
"""


@pytest.fixture
def static_page():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="quench-recovery-"))
    shutil.copy(socketio_min_js(), directory / "socket.io.min.js")
    (directory / "index.html").write_text(PAGE)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def proxy():
    made = []

    def _make(port):
        made.append(TogglingProxy(port))
        return made[-1]

    yield _make
    for one in made:
        one.close()


@pytest.fixture
def witness():
    """A python-socketio client straight to quench that records bot_message texts; disconnected at teardown.
    Its handler takes the offset argument that comes with recovery on (python-socketio has no recovery)."""
    made = []

    def _connect(server):
        texts_seen = []
        client = socketio.Client(reconnection=False)
        client.on("bot_message", lambda data, offset=None: texts_seen.append(data.get("text")))
        client.connect(server.url, transports=["websocket"], wait_timeout=10)
        made.append(client)
        return texts_seen

    yield _connect
    for client in made:
        client.disconnect()


def raw_connect(server, auth=None):
    """A raw WebSocket Socket.IO client joined to `/` with `auth`: (client, the CONNECT reply's data)."""
    client = EioWS(server)
    client.open_packet()
    client.send("40" + (json.dumps(auth) if auth is not None else ""))
    reply = client.recv_sio()
    assert reply["type"] == 0 and isinstance(reply["data"], dict), reply
    return client, reply["data"]


def next_event(client, timeout=5.0):
    packet = client.recv_sio(timeout)
    assert packet["type"] == 2, packet
    return packet["data"]


def page_state(chromium):
    return json.loads(chromium.evaluate("JSON.stringify(window.state || {})") or "{}")


def page_until(chromium, predicate, what, timeout=30):
    return wait_until(lambda: (lambda state: state if predicate(state) else None)(page_state(chromium)), timeout, what=what,
                      detail=lambda: f"page {page_state(chromium)}; console:\n{chromium.console_text()}")


def offset_of(event):
    """The offset socket.io-client keeps: the last argument, when it is a string."""
    return event[-1] if len(event) > 1 and isinstance(event[-1], str) else None


def texts(events, name="bot_message"):
    return [event[1].get("text") for event in events if event[0] == name and isinstance(event[1], dict)]


@pytest.mark.deadline(120)
@pytest.mark.parametrize("recovery, transport", [("on", "websocket"), ("on", "polling"), ("off", "websocket")])
def test_socketio_client_in_chromium_recovers_what_it_missed(start_quench, redis_server, browser, static_page, proxy, witness,
                                                              recovery, transport):
    window = "30s" if recovery == "on" else "0"
    # Long-polling: a poll cut short is noticed by the server at the ping timeout, so make that short.
    heartbeat = ["--ping-interval", "500ms", "--ping-timeout", "500ms"] if transport == "polling" else []
    server = start_quench("--static", static_page, "--recovery-window", window, "--reminder-interval", "1",
                          "--message-queue", redis_server.url, "--log-level", "debug", *heartbeat)
    redis_server.wait_subscribers(1)
    emitter = socketio.RedisManager(redis_server.url, write_only=True)
    # A client of its own, straight to quench: when it has the broadcast, quench has applied the emit before it.
    witnessed = witness(server)
    net = proxy(server.port)
    browser.navigate(f"{net.url}/index.html?t={transport}")
    state = page_until(browser, lambda s: s.get("connects") and "system_message" in [e[0] for e in s["received"]]
                       and s.get("transport") == transport, f"socket.io-client to connect over {transport} and be welcomed")
    first_id = state["connects"][0]["id"]

    mark = server.log_mark()
    net.cut()
    after_cut = server.log_mark()  # a reminder logged from here on could not reach the page
    server.wait_for_log(rf'disconnect sid={re.escape(first_id)} reason="(transport close|transport error|ping timeout)"', since=mark)
    away = server.log_mark()
    before = page_state(browser)["received"]
    emitter.emit("bot_message", {"text": "to your sid while away"}, room=first_id, namespace="/")
    emitter.emit("bot_message", {"text": "to everyone while away"}, namespace="/")
    wait_until(lambda: "to everyone while away" in witnessed, 15, what="the broadcast through the queue to reach quench's other client")
    server.wait_for_log(r"reminder at \d\d:\d\d to \d+ sessions", since=away, timeout=15)
    net.restore()

    state = page_until(browser, lambda s: len(s["connects"]) == 2, "socket.io-client to reconnect through the proxy")
    again = state["connects"][1]
    if recovery == "off":
        assert again == {"id": again["id"], "recovered": False} and again["id"] != first_id, state["connects"]
        emitter.emit("bot_message", {"text": "after"}, namespace="/")
        state = page_until(browser, lambda s: "after" in texts(s["received"]), "an emit after the reconnect")
        after = state["received"][len(before):]
        assert "to your sid while away" not in texts(after) and "to everyone while away" not in texts(after), after
        assert texts(after, "system_message") == [CONNECTED["text"]], after  # a new session: welcomed again
        assert all(len(event) == 2 for event in state["received"]), "an offset was sent with recovery off"
        return

    assert again == {"id": first_id, "recovered": True}, state["connects"]
    recovered = server.wait_for_log(rf"info recovered sid={re.escape(first_id)} missed=(\d+) ", since=mark)
    missed = int(recovered.group(1))
    gap_reminders = len(re.findall(r"reminder at \d\d:\d\d to \d+ sessions", server.log_text()[after_cut:recovered.start()]))
    assert missed >= gap_reminders + 2, (missed, gap_reminders)
    state = page_until(browser, lambda s: len(s["received"]) >= len(before) + missed, "the missed events to arrive")
    received = state["received"]
    gap = received[len(before):len(before) + missed]
    # The missed events first: both queue emits once, every reminder sent while away, no welcome again.
    assert texts(gap).count("to your sid while away") == 1 and texts(gap).count("to everyone while away") == 1, gap
    assert sum(1 for text in texts(gap) if REMINDER_RE.match(text)) >= gap_reminders, gap
    assert texts(received, "system_message") == [CONNECTED["text"]], received
    # Exactly once and in order over the whole session: every event's offset is newer than the last one.
    offsets = [int(offset_of(event)) for event in received]
    assert offsets == sorted(set(offsets)), offsets
    assert texts(received).count("to your sid while away") == 1
    # The session row was kept: the app counts one session, the same sid.
    emitter.emit("bot_message", {"text": "after"}, room=first_id, namespace="/")
    page_until(browser, lambda s: "after" in texts(s["received"]), "an emit to the recovered sid")


def test_a_dropped_client_recovers_its_sid_room_and_missed_events_over_a_raw_websocket(start_quench):
    server = start_quench("--recovery-window", "30s", "--reminder-interval", "0")
    client, data = raw_connect(server)
    sid, pid = data["sid"], data["pid"]
    assert pid and pid != sid
    welcome = next_event(client)
    assert welcome[:2] == ["system_message", CONNECTED] and isinstance(welcome[2], str), welcome
    client.send(user_message({"text": "one"}))
    reply = next_event(client)
    assert reply[0] == "bot_message" and len(reply) == 3, reply
    mark = server.log_mark()
    client.abort()
    server.wait_for_log(rf'disconnect sid={re.escape(sid)} reason="transport (close|error)"', since=mark)

    # Another client's replies are not this one's to miss.
    other, _ = raw_connect(server)
    next_event(other)
    other.send(user_message({"text": "not yours"}))
    next_event(other)

    back, again = raw_connect(server, {"pid": pid, "offset": welcome[2]})
    assert again == {"sid": sid, "pid": pid}
    missed = next_event(back)
    assert missed == reply, (missed, reply)  # the reply it had already seen after the welcome's offset
    back.send(user_message({"text": "two"}))
    newer = next_event(back)
    assert newer[0] == "bot_message" and "two rcvd" in newer[1]["text"] and int(newer[2]) > int(reply[2])
    server.wait_for_log(rf"info recovered sid={re.escape(sid)} sessions=2\b")
    assert server.log_text().count(f"info connect sid={sid} ") == 1  # no second connect (or welcome) for the app


def _dropped(server):
    client, data = raw_connect(server)
    welcome = next_event(client)
    mark = server.log_mark()
    client.abort()
    server.wait_for_log(rf'disconnect sid={re.escape(data["sid"])} reason="transport (close|error)"', since=mark)
    return data, welcome[-1]


def _expect_new_session(server, auth, old_sid, reason):
    mark = server.log_mark()
    client, data = raw_connect(server, auth)
    assert data["sid"] != old_sid and data.get("pid") and data["pid"] != auth.get("pid"), data
    assert next_event(client)[:2] == ["system_message", CONNECTED]  # welcomed as new
    server.wait_for_log(r"info recovery refused namespace=/ peer=\S+: " + re.escape(reason) + "; new session", since=mark)
    client.close()


def test_after_the_window_it_is_a_new_session(start_quench):
    server = start_quench("--recovery-window", "300ms", "--reminder-interval", "0", "--log-level", "debug")
    data, offset = _dropped(server)
    server.wait_for_log(r"recovery: 1 dropped sessions expired; 0 kept")
    _expect_new_session(server, {"pid": data["pid"], "offset": offset}, data["sid"], "unknown pid")


def test_an_unknown_pid_or_offset_is_a_new_session(start_quench):
    server = start_quench("--recovery-window", "30s", "--reminder-interval", "0")
    data, offset = _dropped(server)
    _expect_new_session(server, {"pid": "not-" + data["pid"], "offset": offset}, data["sid"], "unknown pid")
    _expect_new_session(server, {"pid": data["pid"], "offset": "12"}, data["sid"], "unknown offset")
    # The attempt with the right pid used the session up: recovered at most once.
    _expect_new_session(server, {"pid": data["pid"], "offset": offset}, data["sid"], "unknown pid")


def test_an_offset_older_than_the_bounded_log_is_refused_not_delivered_with_a_hole(start_quench):
    # Its client sends a burst well past the per-client event budget (which is not under test here).
    server = start_quench("--recovery-window", "30s", "--recovery-log-bytes", "65536", "--reminder-interval", "0",
                          "--event-rate", "1000000", "--event-burst", "1000000")
    data, offset = _dropped(server)
    # Enough replies to another client to push the dropped client's offset out of 64 KiB.
    other, _ = raw_connect(server)
    next_event(other)
    for index in range(400):
        other.send(user_message({"text": f"filler {index:03d} " + "x" * 100}))
    for _ in range(400):
        next_event(other)
    _expect_new_session(server, {"pid": data["pid"], "offset": offset}, data["sid"],
                        "offset older than the oldest packet kept (the log dropped packets it missed)")


def test_leaving_on_purpose_keeps_nothing(start_quench):
    server = start_quench("--recovery-window", "30s", "--reminder-interval", "0")
    client, data = raw_connect(server)
    welcome = next_event(client)
    client.send("41")
    server.wait_for_log(rf'disconnect sid={re.escape(data["sid"])} reason="client namespace disconnect"')
    _expect_new_session(server, {"pid": data["pid"], "offset": welcome[-1]}, data["sid"], "unknown pid")


def test_recovery_off_sends_no_pid_and_no_offset(start_quench):
    server = start_quench("--reminder-interval", "0")
    client, data = raw_connect(server, {"pid": "anything", "offset": "1"})
    assert set(data) == {"sid"}, data
    assert next_event(client) == ["system_message", CONNECTED]
    client.send(user_message({"text": "hi"}))
    assert len(next_event(client)) == 2


def test_python_socketio_sees_the_offset_as_an_extra_argument(start_quench):
    """python-socketio has no recovery: with it on, handlers get the offset too (why it is opt-in)."""
    server = start_quench("--recovery-window", "30s", "--reminder-interval", "0")
    got = []
    sio = socketio.Client(reconnection=False)
    sio.on("system_message", lambda data, offset=None: got.append(("system", data, offset)))
    sio.on("bot_message", lambda data, offset=None: got.append(("bot", data, offset)))
    sio.connect(server.url, transports=["websocket"], wait_timeout=10)
    try:
        wait_until(lambda: got, 10, what="the welcome")
        sio.emit("user_message", {"text": "hello"})
        wait_until(lambda: len(got) == 2, 10, what="the reply")
        assert got[0][:2] == ("system", CONNECTED) and isinstance(got[0][2], str)
        assert got[1][0] == "bot" and "hello rcvd" in got[1][1]["text"] and int(got[1][2]) > int(got[0][2])
    finally:
        sio.disconnect()


def test_metrics_count_what_recovery_kept_restored_and_refused(start_quench):
    server = start_quench("--recovery-window", "30s", "--reminder-interval", "0", "--metrics")

    def counts():
        return {"kept": metric(server, "quench_recovery_sessions_kept", namespace="/"),
                "memory": metric(server, "quench_recovery_restored_total", namespace="/", **{"from": "memory"}),
                "store": metric(server, "quench_recovery_restored_total", namespace="/", **{"from": "store"}),
                "unknown": metric(server, "quench_recovery_refused_total", namespace="/", reason="unknown_session"),
                "offset": metric(server, "quench_recovery_refused_total", namespace="/", reason="offset")}

    assert counts() == {"kept": 0, "memory": 0, "store": 0, "unknown": 0, "offset": 0}
    data, offset = _dropped(server)
    wait_metric(server, "quench_recovery_sessions_kept", lambda v: v == 1, "one dropped session kept", namespace="/")
    _expect_new_session(server, {"pid": "not-" + data["pid"], "offset": offset}, data["sid"], "unknown pid")
    _expect_new_session(server, {"pid": data["pid"], "offset": "12"}, data["sid"], "unknown offset")
    # The refused attempt with the right pid used the session up; the two new sessions were closed by their
    # clients' transports (a recoverable reason), so they are kept in its place.
    assert counts() == {"kept": 2, "memory": 0, "store": 0, "unknown": 1, "offset": 1}

    data, offset = _dropped(server)
    back, again = raw_connect(server, {"pid": data["pid"], "offset": offset})
    assert again["sid"] == data["sid"]
    assert counts() == {"kept": 2, "memory": 1, "store": 0, "unknown": 1, "offset": 1}
    back.close()
