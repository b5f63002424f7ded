"""The Socket.IO Admin UI's server side (issue 24): quench started with --admin, driven by python-socketio's
client on /admin as the UI (@socket.io/admin-ui 0.5) drives it, and the same script run against
python-socketio's own server with `instrument()` as the reference: for each event the same name, the same
keys and the same value types; the actions have the same effects. Then the refusals (wrong password, no
auth, too many attempts, a read-only session sending an action), the flags, and two quench nodes on Redis.

No fixed sleeps: every wait polls for an event or a log line with a deadline.
"""

import ctypes
import queue
import subprocess
import sys
import textwrap
import threading

import pytest
import requests
import socketio

from conftest import free_port, run_cli, wait_until

AUTH = {"username": "admin", "password": "s3cret pass"}
TIMEOUT = 10


def bcrypt_hash(password: str, cost: int = 4) -> str:
    """A `$2b$` hash made by the system's libcrypt (what quench checks with); cost 4 keeps tests fast."""
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt.restype = ctypes.c_char_p
    salt = lib.crypt_gensalt(b"$2b$", cost, None, 0)
    return lib.crypt(password.encode(), salt).decode()


class Watcher:
    """A python-socketio client on the admin namespace that keeps every event it is sent, in order."""

    def __init__(self, url, auth, namespace="/admin", transports=("polling",)):
        self.events = []
        self.lock = threading.Condition()
        self.namespace = namespace
        self.connect_error = None
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._any, namespace=namespace)
        self.client.on("connect_error", self._error, namespace=namespace)
        self.url, self.auth, self.transports = url, auth, list(transports)

    def _any(self, event, *args):
        with self.lock:
            self.events.append((event, args))
            self.lock.notify_all()

    def _error(self, data):
        self.connect_error = data

    def connect(self):
        self.client.connect(self.url, namespaces=[self.namespace], auth=self.auth, transports=self.transports, wait_timeout=TIMEOUT)
        return self

    def wait(self, name, predicate=lambda args: True, timeout=TIMEOUT):
        """The arguments of the first `name` event whose arguments satisfy `predicate`."""
        def found():
            with self.lock:
                for event, args in self.events:
                    if event == name and predicate(args):
                        return (args,)
            return None
        return wait_until(found, timeout, f"admin event {name}", detail=lambda: f"seen: {[e for e, _ in self.events]}")[0]

    def names(self):
        with self.lock:
            return [event for event, _ in self.events]

    def act(self, action, *args):
        self.client.emit(action, args, namespace=self.namespace)

    def close(self):
        self.client.disconnect()


class User:
    """A plain chat client on `/` that keeps what it receives."""

    def __init__(self, url, transports=("polling",)):
        self.received = queue.Queue()
        self.disconnected = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", lambda event, *args: self.received.put((event, args)))
        self.client.on("disconnect", lambda *args: self.disconnected.set())
        self.client.connect(url, transports=list(transports), wait_timeout=TIMEOUT)
        self.sid = self.client.get_sid("/")

    def next_event(self, name):
        while True:
            event, args = self.received.get(timeout=TIMEOUT)
            if event == name:
                return args

    def close(self):
        self.client.disconnect()


def run_script(url, auth):
    """What the UI does, step by step; returns the first arguments of each admin event it relies on and the
    effects the actions had."""
    watcher = Watcher(url, auth).connect()
    user = None
    try:
        seen = {}
        seen["config"] = watcher.wait("config")
        seen["all_sockets"] = watcher.wait("all_sockets")
        user = User(url)
        sid = user.sid
        seen["socket_connected"] = watcher.wait("socket_connected", lambda a: a[0]["id"] == sid)
        user.client.emit("user_message", {"text": "hi"})
        seen["event_received"] = watcher.wait("event_received", lambda a: a[1] == sid and a[2][0] == "user_message")
        seen["event_sent"] = watcher.wait("event_sent", lambda a: a[1] == sid and a[2][0] == "bot_message")
        seen["server_stats"] = watcher.wait("server_stats")
        effects = {}
        watcher.act("join", "/", "room-a", sid)
        seen["room_joined"] = watcher.wait("room_joined", lambda a: a[1] == "room-a" and a[2] == sid)
        watcher.act("emit", "/", "room-a", "announce", {"n": 1})
        effects["announce"] = user.next_event("announce")
        watcher.act("leave", "/", "room-a", sid)
        seen["room_left"] = watcher.wait("room_left", lambda a: a[1] == "room-a" and a[2] == sid)
        watcher.act("_disconnect", "/", False, sid)
        seen["socket_disconnected"] = watcher.wait("socket_disconnected", lambda a: a[1] == sid)
        effects["disconnected"] = user.disconnected.wait(TIMEOUT)
        return seen, effects, watcher.names()
    finally:
        if user:
            user.close()
        watcher.close()


#: Objects whose keys are data (header names, query keys, the app's data), not protocol: compared as "object".
OPAQUE = {"headers", "query", "data"}


def shape(value, key=None):
    """A value's structure: its JSON types and, for objects, its keys, recursively."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return ("list", tuple(sorted({repr(shape(element)) for element in value})))
    if isinstance(value, dict):
        if key in OPAQUE:
            return "object"
        return ("object", tuple(sorted((k, repr(shape(v, k))) for k, v in value.items())))
    return type(value).__name__


REFERENCE = textwrap.dedent('''
    import sys, socketserver
    from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server
    import socketio

    port = int(sys.argv[1])
    sio = socketio.Server(async_mode="threading")

    @sio.on("connect")
    def connect(sid, environ):
        sio.emit("system_message", {"text": "Connected to server"}, to=sid)

    @sio.on("user_message")
    def user_message(sid, data):
        sio.emit("bot_message", {"text": data["text"] + " rcvd (dummy reply)"}, to=sid)

    sio.instrument(auth={"username": "admin", "password": "s3cret pass"})

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Threaded(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = make_server("127.0.0.1", port, socketio.WSGIApp(sio), server_class=Threaded, handler_class=Quiet)
    print("ready", flush=True)
    server.serve_forever()
''')


@pytest.fixture
def reference_server(tmp_path):
    """python-socketio's server with `instrument()` (PyPI), the chat's two handlers, on a free port."""
    script = tmp_path / "reference.py"
    script.write_text(REFERENCE)
    port = free_port()
    log_path = tmp_path / "reference.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_until(lambda: proc.poll() is not None or "ready" in log_path.read_text(), 15, "reference server ready")
    assert proc.poll() is None, log_path.read_text()
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def admin_env():
    return {"QUENCH_ADMIN_AUTH": "admin:" + bcrypt_hash(AUTH["password"])}


@pytest.mark.deadline(60)
def test_quench_speaks_the_admin_protocol_as_python_socketio_instrument_does(start_quench, reference_server, admin_env):
    node = start_quench("--admin", env=admin_env)
    reference, reference_effects, _ = run_script(reference_server, AUTH)
    ours, our_effects, our_names = run_script(node.url, AUTH)
    assert our_effects == reference_effects == {"announce": ({"n": 1},), "disconnected": True}
    for name, args in reference.items():
        assert len(ours[name]) == len(args), f"{name}: {ours[name]!r} vs the reference's {args!r}"
        assert shape(ours[name]) == shape(args), f"{name}: {ours[name]!r}\nreference: {args!r}"
    assert set(ours["config"][0]["supportedFeatures"]) == set(reference["config"][0]["supportedFeatures"])
    # As Node's server (and the UI) does on a password login: a session id, so a reload need not ask again.
    assert our_names[0] == "session"
    stats = ours["server_stats"][0]
    assert {"name": "/", "socketsCount": 1} in stats["namespaces"]
    assert {e["type"] for e in stats["aggregatedEvents"]} >= {"rawConnection", "packetsIn", "packetsOut"}
    # Shown: the peer, not the handshake's headers (cookies) nor the whole Engine.IO sid.
    handshake = ours["socket_connected"][0]["handshake"]
    assert handshake["address"] == "127.0.0.1" and handshake["headers"] == {}
    assert len(ours["socket_connected"][0]["clientId"]) == 12
    node.wait_for_log(r"admin: _disconnect namespace=/ filter=\S+ by sid=")


def test_session_id_logs_in_again_and_an_upgrade_is_reported(start_quench, admin_env):
    from interop_helpers import EioWS
    from test_any_node import connect_polling

    node = start_quench("--admin", env=admin_env)
    first = Watcher(node.url, AUTH).connect()
    session = first.wait("session")[0]
    first.close()
    again = Watcher(node.url, {"sessionId": session}).connect()
    try:
        again.wait("config")
        # A client joins "/" over polling, then upgrades (python-socketio's client upgrades before it joins).
        eio_sid, sid = connect_polling(node, node, node)
        again.wait("socket_connected", lambda a: a[0]["id"] == sid and a[0]["transport"] == "polling")
        ws = EioWS(node, query=f"EIO=4&transport=websocket&sid={eio_sid}")
        try:
            ws.send("2probe")
            assert ws.recv_text(answer_pings=False) == "3probe"
            ws.send("5")
            updated = again.wait("socket_updated", lambda a: a[0]["id"] == sid)[0]
            assert updated == {"id": sid, "nsp": "/", "transport": "websocket"}
        finally:
            ws.close()
    finally:
        again.close()


@pytest.mark.parametrize("auth, reason", [
    ({"username": "admin", "password": "wrong"}, "wrong username or password"),
    ({"username": "root", "password": AUTH["password"]}, "wrong username or password"),
    (None, "no username and password"),
    ({"sessionId": "made-up"}, "no username and password"),
])
def test_a_bad_login_is_refused_as_the_ui_expects_and_logged(start_quench, admin_env, auth, reason):
    node = start_quench("--admin", env=admin_env)
    watcher = Watcher(node.url, auth)
    with pytest.raises(socketio.exceptions.ConnectionError):
        watcher.connect()
    # The UI shows its login form again on exactly this message.
    wait_until(lambda: watcher.connect_error, TIMEOUT, "connect_error")
    assert watcher.connect_error == {"message": "invalid credentials"}
    node.wait_for_log(rf"warn admin: login refused peer=127\.0\.0\.1 namespace=/admin: {reason}")
    assert AUTH["password"] not in node.log_text()
    # Nothing else changed: the right login still works.
    Watcher(node.url, AUTH).connect().close()


def test_logins_are_slowed_per_address(start_quench, admin_env):
    """Twenty guesses at once from one address: the first five are checked, and the budget (5, then one a
    second) refuses most of the rest unchecked, however slow the machine (they all arrive within seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    node = start_quench("--admin", "--metrics", env=admin_env)

    def guess(_):
        watcher = Watcher(node.url, {"username": "admin", "password": "guess"})
        with pytest.raises(socketio.exceptions.ConnectionError):
            watcher.connect()
        wait_until(lambda: watcher.connect_error, TIMEOUT, "connect_error")
        return watcher.connect_error["message"]

    with ThreadPoolExecutor(20) as pool:
        messages = list(pool.map(guess, range(20)))
    assert set(messages) == {"invalid credentials", "too many login attempts, try again later"}, messages
    assert messages.count("invalid credentials") >= 5
    node.wait_for_log(r"admin: login refused peer=127\.0\.0\.1 namespace=/admin: login budget spent")
    page = requests.get(f"{node.url}/metrics", timeout=TIMEOUT).text
    throttled = messages.count("too many login attempts, try again later")
    assert f'quench_admin_logins_total{{outcome="throttled"}} {throttled}' in page, page
    assert f'quench_admin_logins_total{{outcome="refused"}} {20 - throttled}' in page, page


def test_read_only_advertises_no_actions_and_refuses_them(start_quench, admin_env):
    node = start_quench("--admin", "--admin-read-only", "--admin-namespace", "/watch", env=admin_env)
    watcher = Watcher(node.url, AUTH, namespace="/watch").connect()
    user = User(node.url)
    try:
        assert set(watcher.wait("config")[0]["supportedFeatures"]) == {"AGGREGATED_EVENTS", "ALL_EVENTS"}
        mark = node.log_mark()
        watcher.act("emit", "/", None, "announce", {"n": 1})
        watcher.act("_disconnect", "/", False, user.sid)
        node.wait_for_log(r"warn admin: refused emit from sid=\S+ peer=127\.0\.0\.1: read-only", since=mark)
        node.wait_for_log(r"admin: refused _disconnect from sid=\S+ peer=127\.0\.0\.1: read-only", since=mark)
        # The client got nothing from the refused emit, and is still connected: its next reply is the next event.
        user.client.emit("user_message", {"text": "still here"})
        event, args = user.received.get(timeout=TIMEOUT)
        while event == "system_message":
            event, args = user.received.get(timeout=TIMEOUT)
        assert event == "bot_message" and "still here" in args[0]["text"]
        assert not user.disconnected.is_set()
    finally:
        user.close()
        watcher.close()


def test_without_admin_the_namespace_does_not_exist(start_quench):
    node = start_quench()
    watcher = Watcher(node.url, AUTH)
    with pytest.raises(socketio.exceptions.ConnectionError):
        watcher.connect()
    wait_until(lambda: watcher.connect_error, TIMEOUT, "connect_error")
    assert watcher.connect_error == {"message": "Invalid namespace"}


def test_auth_none_must_be_asked_for(start_quench):
    node = start_quench("--admin", "--admin-auth", "none", "--admin-event-rate", "0")
    watcher = Watcher(node.url, None).connect()
    try:
        assert "ALL_EVENTS" not in watcher.wait("config")[0]["supportedFeatures"]
        watcher.wait("all_sockets")
        assert "session" not in watcher.names()
    finally:
        watcher.close()
    node.wait_for_log(r"admin: Admin UI on namespace /admin, no login \(--admin-auth none\)")


@pytest.mark.parametrize("args, env, flag", [
    (("--admin",), {}, "--admin-auth-file"),
    (("--admin-read-only",), {}, "--admin-read-only needs --admin"),
    (("--admin-event-rate", "5"), {}, "--admin-event-rate needs --admin"),
    (("--admin", "--admin-namespace", "/"), {"QUENCH_ADMIN_AUTH": "a:" + "x" * 10}, "--admin-namespace"),
    (("--admin",), {"QUENCH_ADMIN_AUTH": "admin:plaintext"}, "QUENCH_ADMIN_AUTH: the hash after USER: is not a bcrypt hash"),
    (("--admin",), {"QUENCH_ADMIN_AUTH": "nocolon"}, "QUENCH_ADMIN_AUTH must hold USER:HASH"),
    (("--admin", "--admin-auth-file", "/nonexistent"), {}, "--admin-auth-file /nonexistent: cannot open it"),
    (("--admin", "--admin-auth", "none", "--admin-auth-file", "/x"), {}, "--admin-auth-file is for --admin-auth basic"),
    (("--admin", "--admin-auth", "none", "--admin-event-rate", "100001"), {}, "--admin-event-rate must be between 0 and 100000"),
])
def test_admin_flags_are_checked(args, env, flag):
    result = run_cli(*args, env={"QUENCH_ADMIN_AUTH": "", **env})
    assert result.returncode != 0
    assert flag in result.stderr, result.stderr


def test_admin_auth_file(start_quench, tmp_path):
    login = tmp_path / "admin-login"
    login.write_text("admin:" + bcrypt_hash(AUTH["password"]) + "\n")
    node = start_quench("--admin", "--admin-auth-file", str(login), env={"QUENCH_ADMIN_AUTH": ""})
    Watcher(node.url, AUTH).connect().close()
    assert "$2b$" not in " ".join(node.argv)


@pytest.mark.deadline(60)
def test_one_ui_sees_and_acts_on_two_quench_nodes_on_redis(start_quench, tmp_path, admin_env):
    from test_redis import RedisServer

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        a = start_quench("--admin", "--message-queue", redis_server.url, env=admin_env)
        b = start_quench("--admin", "--message-queue", redis_server.url, env=admin_env)
        redis_server.wait_subscribers(2)
        early = User(b.url)  # on node B before the UI connects to node A: listed through A's request to B
        watcher = Watcher(a.url, AUTH).connect()
        late = None
        try:
            watcher.wait("socket_connected", lambda args: args[0]["id"] == early.sid)
            late = User(b.url)  # after: reported live by B
            watcher.wait("socket_connected", lambda args: args[0]["id"] == late.sid)

            def stats_from_both_nodes():
                with watcher.lock:
                    return len({args[0]["serverId"] for name, args in watcher.events if name == "server_stats"}) >= 2

            wait_until(stats_from_both_nodes, TIMEOUT, "server_stats from both nodes")
            # An action sent to node A reaches node B's socket.
            watcher.act("_disconnect", "/", False, early.sid)
            assert early.disconnected.wait(TIMEOUT)
            watcher.wait("socket_disconnected", lambda args: args[1] == early.sid)
            watcher.act("join", "/", "room-b", late.sid)
            watcher.wait("room_joined", lambda args: args[1] == "room-b" and args[2] == late.sid)
            watcher.act("emit", "/", "room-b", "announce", {"n": 2})
            assert late.next_event("announce") == ({"n": 2},)
        finally:
            watcher.close()
            early.close()
            if late:
                late.close()
    finally:
        redis_server.stop()
