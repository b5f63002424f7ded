"""--reuse-port: several quench processes listen on one port (SO_REUSEPORT) and share one Redis message
queue; the kernel spreads connections among them. A polling client's requests (and its upgrade) reach
either process: each passes on what belongs to the other, or moves the session to itself (issue 21).
"""

import re
import signal
import socket
import subprocess

import pytest
import requests
import socketio

from conftest import require_binary, run_cli, wait_until
from interop_helpers import CONNECTED, SioClient, reply_re
from test_redis import redis_server  # noqa: F401 (a fixture)
from test_service import notify_socket  # noqa: F401 (a fixture)
from test_sighup import WssClient, fingerprint, install, make_certificate, served_fingerprint, sighup

CLIENTS = 40
OPEN_RE = r"^info open sid=((?:[0-9a-f]{12})?[A-Za-z0-9_-]{20}) peer=\S+ transport=websocket$"


def opened(server) -> set:
    """The sids of the WebSocket sessions `server` opened, from its `open` log lines."""
    return set(re.findall(OPEN_RE, server.log_text(), re.M))


def connect(server) -> SioClient:
    client = SioClient(server).connect(transports=("websocket",))
    assert client.get(client.system, timeout=10, what="system_message") == CONNECTED
    return client


@pytest.mark.deadline(120)
def test_two_processes_share_a_port_and_a_message_queue(start_quench, redis_server):  # noqa: F811
    queue_args = ("--reuse-port", "--message-queue", redis_server.url, "--log-level", "info")
    first = start_quench(*queue_args)
    second = start_quench(*queue_args, port=first.port)
    for server in (first, second):
        server.wait_for_log(rf"^info listening on http://127\.0\.0\.1:{first.port} paths=/socket\.io/$")
    redis_server.wait_subscribers(2)

    clients = []
    try:
        # The kernel spreads the connections: each process serves some of the 40.
        clients = [connect(first) for _ in range(CLIENTS)]
        sids = [client.sio.eio.sid for client in clients]

        def spread():
            on_first, on_second = opened(first), opened(second)
            return all(sid in on_first or sid in on_second for sid in sids) and (on_first, on_second)

        on_first, on_second = wait_until(spread, 10, what="an open line for every client in one of the logs")
        assert on_first & set(sids) and on_second & set(sids), f"one process served all {CLIENTS}: {len(on_first)} / {len(on_second)}"
        assert not on_first & on_second

        # Each is served where it landed.
        for i, client in enumerate(clients[:5]):
            client.sio.emit("user_message", {"text": f"hello {i}"})
            reply = client.get(client.bot, timeout=10, what="the reply")
            assert reply_re(f"hello {i}").match(reply["text"]), reply

        # A broadcast through Redis reaches every client on both processes, once.
        manager = socketio.RedisManager(redis_server.url, write_only=True)
        manager.emit("bot_message", {"text": "to everyone"})
        for client in clients:
            assert client.get(client.bot, timeout=10, what="the broadcast") == {"text": "to everyone"}
        assert all(client.bot.empty() for client in clients)

        # SIGTERM stops one; the other keeps its clients and takes every new one.
        kept = [client for client, sid in zip(clients, sids) if sid in on_second]
        assert first.stop() == 0
        later = [connect(second) for _ in range(10)]
        clients += later
        wait_until(lambda: {c.sio.eio.sid for c in later} <= opened(second), 10, what="the new clients on the second process")
        for client in kept[:3] + later[:3]:
            client.sio.emit("user_message", {"text": "after the stop"})
            assert reply_re("after the stop").match(client.get(client.bot, timeout=10, what="the reply")["text"])
        assert second.running()
    finally:
        for client in clients:
            client.disconnect()


@pytest.mark.deadline(120)
@pytest.mark.parametrize("transports", [("polling",), None], ids=["polling-only", "polling-then-upgrade"])
def test_polling_clients_work_across_two_processes_on_one_port(start_quench, redis_server, transports):  # noqa: F811
    """No balancer at all: the kernel alone picks the process for each of a polling client's connections."""
    queue_args = ("--reuse-port", "--message-queue", redis_server.url, "--log-level", "debug")
    first = start_quench(*queue_args)
    second = start_quench(*queue_args, port=first.port)
    redis_server.wait_subscribers(2)
    clients = []
    crossed = re.compile(r"^debug passed on id=\d+ |^info moved in sid=", re.M)
    try:
        # The kernel spreads connections by a hash of their addresses, so whether a given client's
        # connections land on both processes is chance (about one in four for each process): clients are
        # added, 10 at a time, until each process has served one whose session the other holds (a request
        # passed on, or a session moved in), which 100 clients miss only once in 10^12.
        while len(clients) < 100 and not all(crossed.search(server.log_text()) for server in (first, second)):
            batch = [SioClient(first).connect(transports=transports) for _ in range(10)]
            clients += batch
            for client in batch:
                assert client.get(client.system, timeout=10, what="system_message") == CONNECTED
            for round_ in range(5):
                for i, client in enumerate(clients):
                    client.sio.emit("user_message", {"text": f"c{i} r{round_}"})
                for i, client in enumerate(clients):
                    reply = client.get(client.bot, timeout=10, what=f"reply {round_} of client {i}")
                    assert reply_re(f"c{i} r{round_}").match(reply["text"]), reply
        # The connections really were spread: each process passed requests on to the other (polling), or
        # took sessions in from it (the upgrade).
        for server in (first, second):
            assert crossed.search(server.log_text()), server.log_text()[-2000:]
        assert "Session ID unknown" not in first.log_text() + second.log_text()
    finally:
        for client in clients:
            client.disconnect()


def test_a_port_held_without_reuse_port_stays_in_use_either_way(start_quench):
    shared = start_quench("--reuse-port")
    r = run_cli("--host", "127.0.0.1", "--port", str(shared.port), "--reminder-interval", "0")
    assert r.returncode == 1, r
    assert f"error port {shared.port} on 127.0.0.1 is already in use (another quench, or another server?)" in r.stderr, r.stderr

    plain = start_quench()
    r = run_cli("--host", "127.0.0.1", "--port", str(plain.port), "--reminder-interval", "0", "--reuse-port")
    assert r.returncode == 1, r
    assert (f"error port {plain.port} on 127.0.0.1 is already in use by a socket that does not share it "
            "(a quench without --reuse-port, another user's, or another server?)") in r.stderr, r.stderr
    assert shared.running() and plain.running()


def test_tls_and_sighup_reload_with_reuse_port(start_quench, tmp_path):
    first, renewed = make_certificate(tmp_path, "first", 1), make_certificate(tmp_path, "renewed", 2)
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    install(*first, live_cert, live_key)
    server = start_quench("--reuse-port", "--tls-cert", str(live_cert), "--tls-key", str(live_key))
    server.wait_for_log(rf"^info listening on https://127\.0\.0\.1:{server.port} ")
    assert served_fingerprint(server.port) == fingerprint(first[0])
    client = WssClient(server.port)
    try:
        assert '"over tls rcvd at ' in client.ask("over tls")
        install(*renewed, live_cert, live_key)
        mark = sighup(server)
        server.wait_for_log(r"^info SIGHUP: TLS certificate reloaded", since=mark)
        assert served_fingerprint(server.port) == fingerprint(renewed[0])
        assert '"still here rcvd at ' in client.ask("still here")
    finally:
        client.ws.close()
    assert server.stop() == 0


def test_systemd_readiness_and_health_with_reuse_port(start_quench, notify_socket):  # noqa: F811
    path, receive = notify_socket
    server = start_quench("--reuse-port", env={"NOTIFY_SOCKET": path})
    first = receive()
    assert first is not None and "READY=1" in first.splitlines(), first
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_ipv6_loopback_with_reuse_port(tmp_path):
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        port = probe.getsockname()[1]
    procs = []
    try:
        for i in range(2):
            log_path = tmp_path / f"quench-v6-{i}.log"
            with open(log_path, "wb") as log_file:
                procs.append((subprocess.Popen(
                    [require_binary(), "--host", "::1", "--port", str(port), "--reuse-port", "--reminder-interval", "0"],
                    stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT), log_path))
        for proc, log_path in procs:
            wait_until(lambda: "listening on" in log_path.read_text() or proc.poll() is not None, 10, what="the listening line")
            assert f"listening on http://[::1]:{port} " in log_path.read_text(), log_path.read_text()
        for _ in range(10):
            assert requests.get(f"http://[::1]:{port}/healthz", timeout=5).status_code == 200
        # Bound to ::1 only: nothing answers on IPv4 loopback.
        with socket.socket() as v4:
            assert v4.connect_ex(("127.0.0.1", port)) != 0
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, log_path in procs:
            assert proc.wait(timeout=5) == 0, log_path.read_text()
