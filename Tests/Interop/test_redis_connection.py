"""The Redis connection you can trust (issue 20): every write has a deadline, "reachable" means Redis answered,
every failure backs off, and the password can stay off the command line. Each test runs a real redis-server
on a free loopback port (an ACL user with `default` off where a password is needed).

No fixed sleeps to wait for readiness: PING, PUBSUB NUMSUB and log lines are polled with deadlines. The
sleeps here are the thing under test: how long Redis stays stopped (SIGSTOP), or the window in which
connection attempts to something that is not Redis are counted.
"""

import collections
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

redis = pytest.importorskip("redis")

from conftest import free_port, run_cli, wait_until  # noqa: E402
from interop_helpers import reply_re  # noqa: E402

CHANNEL = "socketio"
USER, PASSWORD = "quench", "s3cret-Pa55"
ENV_PASSWORD = "QUENCH_MESSAGE_QUEUE_PASSWORD"


class RedisProcess:
    """redis-server on 127.0.0.1 without persistence, with `extra` arguments; `client()` talks to it."""

    def __init__(self, tmp_path, *extra, username=None, password=None):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.fail("redis-server not installed (apt-get install redis-server)")
        self.port = free_port()
        self.extra = list(extra)
        self.username, self.password = username, password
        self.log = tmp_path / f"redis-{self.port}.log"
        self.proc = None

    def url(self, credentials=""):
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log), *self.extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._pings, 10, f"redis-server on port {self.port} answering PING")
        return self

    def client(self, **kwargs):
        return redis.Redis(port=self.port, username=self.username, password=self.password, socket_connect_timeout=0.5,
                           **kwargs)

    def _pings(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    def subscribers(self):
        try:
            return dict(self.client().pubsub_numsub(CHANNEL)).get(CHANNEL.encode(), 0)
        except redis.RedisError:
            return 0

    def wait_subscribers(self, count, timeout=15):
        wait_until(lambda: self.subscribers() >= count, timeout, f"{count} subscribers on {CHANNEL!r}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_processes(tmp_path):
    made = []

    def _make(*extra, **kwargs):
        server = RedisProcess(tmp_path, *extra, **kwargs).start()
        made.append(server)
        return server

    yield _make
    for server in made:
        server.stop()


def acl_redis(redis_processes):
    """A Redis whose only user is USER with PASSWORD (`default` is off, as on managed Redis services)."""
    return redis_processes("--user", "default", "off", "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all",
                           username=USER, password=PASSWORD)


def connected(node, open_ws):
    """A raw WebSocket client past its CONNECT and welcome (with recovery on, events carry an offset)."""
    ws = open_ws(node)
    ws.open_packet()
    ws.send("40")
    assert ws.recv_sio(timeout=10)["type"] == 0
    assert ws.recv_sio(timeout=10)["data"][0] == "system_message"
    return ws


def served(node, open_ws):
    """A client of `node` gets its bot reply (the node serves its own clients whatever Redis does)."""
    ws = connected(node, open_ws)
    ws.send('42["user_message",{"text":"still served"}]')
    packet = ws.recv_sio(timeout=10)
    assert packet["data"][0] == "bot_message" and reply_re("still served").match(packet["data"][1]["text"]), packet
    ws.close()


# -- 1. Writes with deadlines -------------------------------------------------------------------------------


class ChannelCounter:
    """Subscribes to the channel (its own connection) and counts each `callback` message by its sequence."""

    def __init__(self, server):
        self.pubsub = server.client().pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(CHANNEL)
        self.seen = collections.Counter()
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                message = self.pubsub.get_message(timeout=0.2)
            except redis.RedisError:
                return
            if not message:
                continue
            data = json.loads(message["data"])
            if data.get("method") == "callback":
                with self.lock:
                    self.seen[data["args"][0].split(":", 1)[0]] += 1

    def counts(self):
        with self.lock:
            return collections.Counter(self.seen)

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.pubsub.close()


@pytest.mark.deadline(120)
def test_a_redis_that_stops_reading_mid_write_gets_every_message_at_most_once(start_quench, redis_processes, open_ws):
    """Redis is stopped (SIGSTOP) while quench publishes a 14 MB acknowledgement, more than the two sockets'
    buffers hold, and 20 small ones behind it. The kernel takes what fits, then nothing: at the write deadline
    (5 s) quench logs it and drops the connection rather than wait for ever; its reconnects meet a Redis
    whose kernel accepts TCP but which does not answer PING. After SIGCONT it reconnects and sends again only
    what the kernel had not taken whole. A subscriber on the channel sees each message at most once, and
    misses at most those quench said had gone out whole and were not sent again."""
    # Pub/sub clients are disconnected past 32 MB of backlog by default; this subscriber must see everything.
    server = redis_processes("--client-output-buffer-limit", "pubsub 0 0 0")
    node = start_quench("--message-queue", server.url(), "--max-payload", "15000000", "--log-level", "debug")
    counter = ChannelCounter(server)
    try:
        server.wait_subscribers(2)  # quench's and the counter's
        ws = open_ws(node, timeout=30)
        _, sid = ws.handshake()
        asker = server.client()
        total = 22
        for index in range(total):
            asker.publish(CHANNEL, json.dumps({
                "method": "emit", "event": "question", "data": [index], "namespace": "/", "room": sid,
                "skip_sid": None, "callback": [sid, "/", index], "host_id": "an-asker"}))
        ids = [ws.recv_sio(timeout=10)["id"] for _ in range(total)]
        assert ids == list(range(total))

        # The publisher connects when it first has something to send: before Redis stops.
        ws.send('430["0:first"]')
        wait_until(lambda: "0" in counter.counts(), 10, "the first acknowledgement on the channel")

        server.proc.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        ws.send(f'431["1:{"z" * 14_000_000}"]')
        for index in ids[2:]:
            ws.send(f'43{index}["{index}:small"]')
        line = node.wait_for_log(
            r"^warn message queue: writing to Redis failed \(Redis took no bytes for 5000 ms \(write deadline; \d+ of \d+ "
            r"bytes unsent\)\); (?:(\d+) of (\d+) messages had gone out whole and are not sent again|the (\d+) messages wait)",
            timeout=40)
        whole = int(line.group(1) or 0)
        # The deadline, not a hang: the line came about 5 s after the kernel stopped taking bytes.
        assert time.monotonic() - stopped_at < 30
        # Still stopped: quench's next attempt meets a Redis that accepts TCP but does not answer.
        node.wait_for_log(r"^debug message queue: publisher cannot reach .*no reply to PING within 3000 ms", timeout=15)
        served(node, open_ws)
        server.proc.send_signal(signal.SIGCONT)

        expected = {str(index) for index in range(total)}
        try:
            wait_until(lambda: set(counter.counts()) >= expected, 30, "every acknowledgement on the channel")
        except AssertionError:
            pass  # checked below: what is missing must be within what quench said it did not send again
        counts = counter.counts()
        twice = {key: count for key, count in counts.items() if count > 1}
        assert twice == {}, f"published more than once: {twice}"
        missing = expected - set(counts)
        assert len(missing) <= whole, f"{len(missing)} never published, but quench left out only {whole}: {sorted(missing)}"
        assert set(counts) <= expected
        assert node.running()
    finally:
        counter.close()


def test_a_stopped_redis_is_not_called_reachable_until_it_answers(start_quench, redis_processes, open_ws):
    """With Redis stopped its kernel still completes connects: the recovery store must not log "reachable
    again" for a connect alone (it flipped 11 times in 25 s before), only once Redis answers PING."""
    server = redis_processes()
    node = start_quench("--message-queue", server.url(), "--recovery-window", "30s")
    server.wait_subscribers(1)
    server.proc.send_signal(signal.SIGSTOP)
    try:
        node.wait_for_log(r"^warn recovery: store redis://127\.0\.0\.1:\d+/0 unreachable", timeout=10)
        time.sleep(10)  # the window under test: Redis stays stopped
        served(node, open_ws)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    node.wait_for_log(r"^info recovery: store reachable again", timeout=20)
    text = node.log_text()
    assert len(re.findall(r"recovery: store .* unreachable", text)) == 1, text[-3000:]
    assert len(re.findall(r"recovery: store reachable again", text)) == 1, text[-3000:]


# -- 2. Backoff on anything that is not Redis ---------------------------------------------------------------


class CountingHTTPServer:
    """An HTTP server (python's http.server) on a free port that counts the connections it accepts."""

    def __init__(self):
        outer = self
        self.lock = threading.Lock()
        self.connections = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with outer.lock:
                    outer.connections.append(time.monotonic())
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.connections)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_port_that_speaks_http_is_retried_with_backoff_and_never_called_reachable(start_quench, open_ws):
    web = CountingHTTPServer()
    try:
        node = start_quench("--message-queue", f"redis://127.0.0.1:{web.port}/0", "--recovery-window", "30s",
                            "--log-level", "debug")
        node.wait_for_log(r"^warn message queue: cannot reach Redis .*is this a Redis server\?\)", timeout=10)
        node.wait_for_log(r"^warn recovery: store .* unreachable \(.*is this a Redis server\?\)", timeout=10)
        started = web.connections[0]
        served(node, open_ws)
        time.sleep(8)  # the window under test: attempts are counted
        attempts = [at - started for at in list(web.connections) if at - started < 8]
        # Two owners (the subscriber and the recovery store), each at about 0, 0.5, 1.5, 3.5 and 7.5 s (or the
        # store's next 1 s tick): at most 5 each. Without a backoff it was 2 a second each, 32 in 8 s.
        assert 4 <= len(attempts) <= 12, f"{len(attempts)} connections in 8 s: {[round(a, 2) for a in attempts]}"
        text = node.log_text()
        for word in ("reachable again", "subscribed to channel", "is back; resubscribed"):
            assert word not in text, text[-3000:]
        assert len(re.findall(r"warn message queue: cannot reach Redis", text)) == 1, text[-3000:]
        assert len(re.findall(r"warn recovery: store .* unreachable", text)) == 1, text[-3000:]
        assert node.running()
    finally:
        web.close()


# -- 3. Managed Redis: an ACL user, the password off the command line -----------------------------------------


def cmdline(node):
    with open(f"/proc/{node.proc.pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def password_file(tmp_path, text):
    path = tmp_path / "redis-password"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def expect_shared(node, server, open_ws):
    """`node` is on the channel: an emit from another Redis client reaches its client."""
    node.wait_for_log(r'^info message queue: subscribed to channel "socketio"', timeout=10)
    ws = connected(node, open_ws)
    server.client().publish(CHANNEL, json.dumps({
        "method": "emit", "event": "bot_message", "data": {"text": "over the ACL"}, "namespace": "/", "room": None,
        "skip_sid": None, "callback": None, "host_id": "someone"}))
    assert ws.recv_sio(timeout=10)["data"][:2] == ["bot_message", {"text": "over the ACL"}]
    ws.close()


def test_an_acl_user_with_the_password_in_a_file(start_quench, redis_processes, open_ws, tmp_path):
    server = acl_redis(redis_processes)
    node = start_quench("--message-queue", server.url(f"{USER}@"), "--message-queue-password-file",
                        password_file(tmp_path, PASSWORD + "\n"), "--recovery-window", "10s")
    expect_shared(node, server, open_ws)
    assert PASSWORD not in cmdline(node)
    assert PASSWORD not in node.log_text()


def test_an_acl_user_with_the_password_in_the_environment(start_quench, redis_processes, open_ws):
    server = acl_redis(redis_processes)
    node = start_quench("--message-queue", server.url(f"{USER}@"), env={ENV_PASSWORD: PASSWORD})
    expect_shared(node, server, open_ws)
    assert PASSWORD not in cmdline(node)


def test_a_password_in_the_url_is_hidden_from_ps_once_started(start_quench, redis_processes, open_ws):
    server = acl_redis(redis_processes)
    node = start_quench("--message-queue", server.url(f"{USER}:{PASSWORD}@"))
    expect_shared(node, server, open_ws)
    seen = cmdline(node)
    assert PASSWORD not in seen and f"redis://{USER}:{'*' * len(PASSWORD)}@127.0.0.1" in seen, seen
    ps = subprocess.run(["ps", "-o", "args=", "-p", str(node.proc.pid)], capture_output=True, text=True).stdout
    assert PASSWORD not in ps, ps
    node.wait_for_log(r"^info message queue: the password given in --message-queue is now hidden from ps")


def test_a_wrong_password_is_one_clear_line_and_retries_with_backoff(start_quench, redis_processes, open_ws, tmp_path):
    server = acl_redis(redis_processes)
    node = start_quench("--message-queue", server.url(f"{USER}@"), "--message-queue-password-file",
                        password_file(tmp_path, "not-the-password"), "--log-level", "debug")
    node.wait_for_log(
        r'^warn message queue: cannot reach Redis redis://quench:\*\*\*@127\.0\.0\.1:\d+/0 \(Redis refused AUTH as user "quench": '
        r"WRONGPASS invalid username-password pair or user is disabled\.\); serving this node's clients only", timeout=10)
    served(node, open_ws)
    time.sleep(4)  # the window under test: retries are counted
    text = node.log_text()
    retries = re.findall(r"^debug message queue: subscriber retries in (\d+) ms", text, re.M)
    assert 2 <= len(retries) <= 5, text[-3000:]
    assert [int(delay) for delay in retries] == [500 * 2 ** index for index in range(len(retries))], retries
    assert len(re.findall(r"^warn ", text, re.M)) == 1, text[-3000:]
    assert "not-the-password" not in text
    assert node.running()


@pytest.mark.parametrize("args, env, named", [
    (("--message-queue", "redis://:hunter2@127.0.0.1:6379", "--message-queue-password-file", "FILE"), {},
     ["--message-queue", "--message-queue-password-file"]),
    (("--message-queue", "redis://127.0.0.1:6379", "--message-queue-password-file", "FILE"), {ENV_PASSWORD: "x"},
     ["--message-queue-password-file", ENV_PASSWORD]),
    (("--message-queue", "redis://:hunter2@127.0.0.1:6379"), {ENV_PASSWORD: "x"}, ["--message-queue", ENV_PASSWORD]),
    (("--message-queue-password-file", "FILE"), {}, ["--message-queue-password-file", "--message-queue"]),
    (("--message-queue", "redis://127.0.0.1:6379", "--message-queue-password-file", "MISSING"), {},
     ["--message-queue-password-file", "No such file"]),
    (("--message-queue", "redis://127.0.0.1:6379", "--message-queue-password-file", "EMPTY"), {},
     ["--message-queue-password-file", "is empty"]),
])
def test_password_flags_that_do_not_fit_exit_64_naming_them(tmp_path, args, env, named):
    files = {"FILE": password_file(tmp_path, "hunter2"), "MISSING": str(tmp_path / "missing"), "EMPTY": str(tmp_path / "empty")}
    (tmp_path / "empty").write_text("\n")
    r = run_cli(*[files.get(arg, arg) for arg in args], env={ENV_PASSWORD: "", **env})
    assert r.returncode == 64, f"exit {r.returncode}; stderr={r.stderr!r}"
    first = r.stderr.splitlines()[0]
    for word in named:
        assert word in first, first
    assert "hunter2" not in r.stderr
