"""--node-link (issue 21): quench nodes pass node messages (forwarded polling requests, session moves) to each
other directly over TCP, finding each other through `quench_link` announcements on the Redis channel, and fall
back to Redis when no link is up.

Proven here with the real binary, redis-server and haproxy (cluster_support.py):
- the any-node tests of test_any_node.py pass with --node-link on every node (they are collected here again
  with this module's `cluster` fixture): requests on three nodes in turn, a WebSocket upgrade that moves the
  session, python-socketio polling clients through the balancer, a SIGKILLed owner that gives 400, and
  socket.io-client polling in Chromium whose node is SIGKILLed reconnecting within the bound;
- /metrics shows the frames on the link, and the fallback through Redis to a node without --node-link;
- a raw TCP connection naming a wrong token, or saying nothing, is closed and logged;
- the command line refuses --node-link without --message-queue and on an unspecified address.
"""

import json
import signal
import socket
import struct

import pytest

from cluster_support import cluster_factory, cluster_redis, linked_cluster, needs_haproxy  # noqa: F401  (fixtures)
from conftest import free_port, run_cli, wait_until
from test_any_node import (  # noqa: F401  (collected again here, on linked nodes)
    connect_polling, get, post, test_a_websocket_upgrade_on_another_node_moves_the_session,
    test_an_owner_that_is_gone_gives_400_session_id_unknown_not_a_hang, test_one_session_s_requests_on_three_nodes_in_turn,
    test_python_socketio_polling_clients_through_the_balancer)
from test_any_node import chromium, chromium_installed, static_page  # noqa: F401  (fixtures)
from test_any_node import test_a_node_going_away_mid_run as going_away
from test_browser import browser  # noqa: F401  (fixture)
from interop_helpers import user_message
from test_metrics import metric


@pytest.fixture
def cluster(linked_cluster):
    """The any-node tests' factory, with --node-link on every node."""
    return linked_cluster


@pytest.mark.deadline(120)
def test_a_linked_node_killed_mid_run_its_polling_clients_reconnect_within_the_bound(cluster, chromium, static_page):
    """test_any_node's SIGKILL case for polling clients, on linked nodes: the links to the dead node break, the
    requests for its sessions fall back to Redis, and the engine's deadlines answer them 400 in bounded time."""
    going_away(cluster, chromium, static_page, "polling", signal.SIGKILL)


@pytest.mark.deadline(60)
def test_forwarded_requests_travel_on_the_link_and_fall_back_to_redis_for_a_node_without_one(linked_cluster):
    c = linked_cluster(3, node_link=[True, True, False])
    a, b, n3 = c.nodes
    # A session of A served through B (linked) and the third node (not linked: through Redis).
    sid, _ = connect_polling(a, b, n3)
    for k in range(3):
        post(b, sid, user_message({"text": f"via link {k}"}))
        post(n3, sid, user_message({"text": f"via redis {k}"}))
    got = []
    wait_until(lambda: got.extend(get(b, sid)) or sum("rcvd at" in p for p in got) >= 6, 20, what="six replies")
    assert metric(b, "quench_node_link_frames_sent_total") > 0
    assert metric(a, "quench_node_link_frames_received_total") > 0
    assert metric(a, "quench_node_link_frames_sent_total") > 0  # the answers go back on A's own link to B
    assert metric(a, "quench_node_link_connections") == 2
    # The unlinked node is not a peer: A's answers to it go through Redis, counted.
    assert metric(a, "quench_node_link_fallback_total") > 0
    assert metric(n3, "quench_forwarded_requests_total", outcome="answered") > 0
    assert metric(a, "quench_node_link_auth_refused_total") == 0


@pytest.mark.deadline(60)
def test_a_connection_with_a_wrong_token_or_no_hello_is_closed_and_logged(cluster_redis, start_quench):
    port = free_port()
    node = start_quench("--message-queue", cluster_redis.url, "--metrics", "--node-link", f"127.0.0.1:{port}")
    node.wait_for_log(r"node link: listening for the other quench nodes at 127\.0\.0\.1:%d" % port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        hello = b"quench-link/1 hello 0123456789ab " + b"0" * 64
        s.sendall(struct.pack(">I", len(hello)) + hello)
        assert s.recv(100) == b"", "a hello with a wrong token must get the connection closed, not a welcome"
    node.wait_for_log(r"node link: closed the connection from 127\.0\.0\.1:\d+: its first frame was not a hello")
    with socket.create_connection(("127.0.0.1", port), timeout=6) as s:
        assert s.recv(100) == b"", "a connection that says nothing must be closed after 3 s"
    node.wait_for_log(r"node link: closed the connection from 127\.0\.0\.1:\d+: no hello within 3 s")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack(">I", 100_000_000))
        assert s.recv(100) == b"", "a frame past the bound must get the connection closed"
    node.wait_for_log(r"node link: closed the connection from 127\.0\.0\.1:\d+: a frame of 100000000 bytes")
    assert metric(node, "quench_node_link_auth_refused_total") == 3
    assert metric(node, "quench_node_link_connections") == 0
    assert node.running()


@pytest.mark.deadline(60)
def test_made_up_nodes_announced_on_the_channel_are_bounded(cluster_redis, start_quench):
    """Whoever can publish on the channel can announce nodes that do not exist: past 256 known ones they are
    ignored and counted, the log is not flooded, and the node keeps serving."""
    import redis
    port = free_port()
    node = start_quench("--message-queue", cluster_redis.url, "--metrics", "--node-link", f"127.0.0.1:{port}")
    node.wait_for_log(r"^info message queue: subscribed to channel \"socketio\"")
    publisher = redis.Redis(port=cluster_redis.port)
    for number in range(300):
        # Every address refuses at once (nothing listens on 127.0.0.2), so the node keeps retrying each.
        publisher.publish("socketio", json.dumps({
            "method": "quench_link", "host_id": "x", "tag": "%012x" % number, "address": f"127.0.0.2:{10000 + number}",
            "token": "e" * 64}, separators=(",", ":")))
    wait_until(lambda: metric(node, "quench_node_link_peers_ignored_total") == 300 - 256, timeout=10,
               what="the announcements past 256 known nodes counted as ignored")
    ignored = [line for line in node.log_text().splitlines() if "nodes are known already" in line]
    assert 1 <= len(ignored) <= 10, f"{len(ignored)} warn lines for 44 ignored nodes"
    assert node.running()
    assert metric(node, "quench_node_link_connections") == 0


@pytest.mark.parametrize("args, expected", [
    (["--node-link", "127.0.0.1:9999"], "--node-link needs --message-queue"),
    (["--message-queue", "redis://127.0.0.1:1", "--node-link", "0.0.0.0:9999"], "not 0.0.0.0 or ::"),
    (["--message-queue", "redis://127.0.0.1:1", "--node-link", "[::]:9999"], "not 0.0.0.0 or ::"),
    (["--message-queue", "redis://127.0.0.1:1", "--node-link", "127.0.0.1"], "--node-link must be HOST:PORT"),
    (["--message-queue", "redis://127.0.0.1:1", "--node-link", "127.0.0.1:70000"], "--node-link must be HOST:PORT"),
])
def test_the_command_line_refuses_a_bad_node_link(args, expected):
    result = run_cli(*args)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(expected in line for line in lines), result.stderr
