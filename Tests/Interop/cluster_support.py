"""A quench cluster behind a real balancer, for the "any node, any request" tests (issue 21).

Real parts, all on free loopback ports under the test's temporary folder and stopped by pid at teardown:
- a redis-server (test_redis.RedisServer) that every node uses as its message queue;
- N quench release binaries (conftest's start_quench) with `--message-queue redis://127.0.0.1:P`;
- Debian's haproxy in front of them, configured as issue 21 and /work/shared/CLUSTER-NOTES.md say a balancer
  that knows nothing of Socket.IO is: `mode http`, `balance roundrobin`, no cookies, and `option httpclose`, so
  every request travels on its own connection and is balanced on its own — a client's handshake, its GETs, its
  POSTs and its upgrade land on different nodes.

haproxy's stats page (CSV) says which server each request went to, so a test can prove the requests really
were spread; it is also how readiness is polled (every server UP). Skipped only when haproxy is not installed,
unless QUENCH_REQUIRE_HAPROXY=1 (CI), where that is a failure — as QUENCH_REQUIRE_CHROMIUM does for Chromium.
"""

import csv
import io
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import POLL_S, free_port, wait_until
from test_redis import RedisServer

HAPROXY = os.environ.get("HAPROXY_BIN") or shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
START_DEADLINE_S = 10.0


@pytest.fixture
def needs_haproxy():
    """Skip when no haproxy is installed — unless QUENCH_REQUIRE_HAPROXY=1 (CI), where that is a failure."""
    if HAPROXY is None:
        reason = "haproxy is not installed (apt-get install haproxy, or set HAPROXY_BIN)"
        if os.environ.get("QUENCH_REQUIRE_HAPROXY") == "1":
            pytest.fail(reason + " and QUENCH_REQUIRE_HAPROXY=1")
        pytest.skip(reason + ": the balancer tests need it")


#: The balancer's configuration. Timeouts: a held GET lasts up to the ping interval and a client has the ping
#: timeout on top, so client and server timeouts sit well above both (the tests use pings of a second or two);
#: `timeout tunnel` keeps WebSockets up. Retries: a request whose connection to a node fails (a node just
#: killed) goes to the next node (`retries` + `option redispatch`); `empty-response` also re-sends a request
#: that a node died on before answering a byte — a held GET there is then held elsewhere instead of failing its
#: client, which is the point of the kill test. The stats page (CSV, on its own port) shows where each request
#: went; `log stdout` with one short line per request is for a person reading a failure.
CONFIG = """global
    maxconn 8192
    log stdout format raw daemon

defaults
    mode http
    log global
    log-format "%ci:%cp %b/%s %ST %HM %HU %Tr/%Tt"
    option httpclose
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend quench_cluster
    bind 127.0.0.1:{port}
    default_backend quench_nodes

backend quench_nodes
    balance roundrobin
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
    stats refresh 0
"""


class Haproxy:
    """Debian's haproxy in the foreground (`haproxy -f cfg -db`) in front of `nodes` (QuenchServer-like: .port)."""

    def __init__(self, tmp_path, nodes, name="balancer"):
        self.tmp_path = tmp_path
        self.nodes = list(nodes)
        self.name = name
        self.proc = None
        self.port = None
        self.stats_port = None
        self.log_path = tmp_path / f"{name}.log"
        self.cfg_path = tmp_path / f"{name}.cfg"

    @staticmethod
    def server_name(index):
        return f"node{index}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self):
        return f"ws://127.0.0.1:{self.port}"

    def start(self):
        last = ""
        for _ in range(3):  # a free port can be taken between pick and bind: try others
            self.port, self.stats_port = free_port(), free_port()
            servers = "\n".join(
                f"    server {self.server_name(i)} 127.0.0.1:{node.port} check inter 200ms fall 1 rise 1"
                for i, node in enumerate(self.nodes))
            self.cfg_path.write_text(CONFIG.format(port=self.port, stats_port=self.stats_port, servers=servers))
            check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(self.cfg_path)], capture_output=True, text=True, timeout=10)
            assert check.returncode == 0, f"haproxy rejects its configuration:\n{check.stdout}{check.stderr}"
            with open(self.log_path, "ab") as log_file:
                self.proc = subprocess.Popen([HAPROXY, "-f", str(self.cfg_path), "-db"], stdin=subprocess.DEVNULL,
                                             stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + START_DEADLINE_S
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.servers_up() == len(self.nodes):
                    return self
                time.sleep(POLL_S)
            last = self.log_text()
            if self.proc.poll() is None:
                self.stop()
                pytest.fail(f"haproxy did not report {len(self.nodes)} servers UP within {START_DEADLINE_S}s; log:\n{last[-4000:]}")
            if "cannot bind" not in last.lower() and "address already in use" not in last.lower():
                break
        pytest.fail(f"haproxy exited with {self.proc.returncode} at start; log:\n{last[-4000:]}")

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stats(self):
        """haproxy's CSV stats as {server name: row} for the backend's servers (empty if not answering yet)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return {}
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {row["svname"]: row for row in rows if row["pxname"] == "quench_nodes" and row["svname"] not in ("BACKEND", "FRONTEND")}

    def servers_up(self):
        return sum(1 for row in self.stats().values() if row.get("status", "").startswith("UP"))

    def requests_per_server(self):
        """Requests haproxy sent to each node so far ({node index: count}), from the stats' `stot` column
        (sessions: one request each, with `option httpclose`)."""
        stats = self.stats()
        return {i: int(stats.get(self.server_name(i), {}).get("stot") or 0) for i in range(len(self.nodes))}

    def wait_server_down(self, index, timeout=10):
        name = self.server_name(index)
        wait_until(lambda: self.stats().get(name, {}).get("status", "").startswith("DOWN"), timeout,
                   what=f"haproxy to mark {name} DOWN", detail=lambda: str(self.stats().get(name)))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # haproxy's "hard stop" in -db mode
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Cluster:
    """N quench nodes on one redis-server, behind one haproxy."""

    def __init__(self, redis_server, nodes, balancer):
        self.redis = redis_server
        self.nodes = nodes
        self.balancer = balancer

    @property
    def url(self):
        return self.balancer.url

    def node_of_log(self, text, since=None):
        """Index of the node whose log contains `text` (after its mark in `since`, a list of marks), or None."""
        for i, node in enumerate(self.nodes):
            start = since[i] if since else 0
            if text in node.log_text()[start:]:
                return i
        return None

    def marks(self):
        return [node.log_mark() for node in self.nodes]

    def kill(self, index, sig=signal.SIGKILL):
        """Stop node `index` with `sig` (SIGKILL: no handover, no goodbye) and wait for the process to end."""
        node = self.nodes[index]
        node.proc.send_signal(sig)
        node.proc.wait(timeout=10)
        return node

    def logs(self):
        return "\n".join(f"----- node{i} (port {node.port}) -----\n{node.log_text()[-3000:]}" for i, node in enumerate(self.nodes))

    def grep_logs(self, needle):
        """(node index, line) for every node log line containing `needle`."""
        return [(i, line) for i, node in enumerate(self.nodes) for line in node.log_text().splitlines() if needle in line]


def link_connections(node):
    """quench_node_link_connections of `node` (0 before its first scrape answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.port}/metrics", timeout=2) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("quench_node_link_connections "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0


@pytest.fixture
def cluster_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cluster(cluster_factory):
    """The factory below (a module may put its own `cluster` in front of it: test_node_link.py)."""
    return cluster_factory


@pytest.fixture
def cluster_factory(needs_haproxy, cluster_redis, start_quench, tmp_path):
    """Factory: cluster(count=3, *extra_flags) -> Cluster. Every node runs with `--message-queue` on the one
    redis-server, `--log-level debug` and `--metrics`, plus `extra_flags`; the balancer starts once every node
    has subscribed to the channel. Nodes are stopped by start_quench's teardown, haproxy here."""
    balancers = []

    def _make(count=3, *extra, node_link=None):
        # node_link: a list of booleans, one per node: whether it runs with --node-link on a free port; the
        # balancer then starts once every linked node is linked both ways to every other linked one.
        links = list(node_link or [False] * count)
        nodes = [start_quench("--message-queue", cluster_redis.url, "--log-level", "debug", "--metrics", *extra,
                              *(["--node-link", f"127.0.0.1:{free_port()}"] if links[i] else []))
                 for i in range(count)]
        cluster_redis.wait_subscribers(count)
        linked = [node for node, on in zip(nodes, links) if on]
        for node in linked:
            wait_until(lambda: link_connections(node) >= 2 * (len(linked) - 1), 10,
                       what=f"node on port {node.port} linked to the {len(linked) - 1} other linked node(s) both ways")
        balancer = Haproxy(tmp_path, nodes, name=f"haproxy{len(balancers)}")
        balancers.append(balancer)
        balancer.start()
        return Cluster(cluster_redis, nodes, balancer)

    yield _make
    for balancer in balancers:
        balancer.stop()
        print(f"----- {balancer.name} log, last 3000 chars -----\n{balancer.log_text()[-3000:]}")


@pytest.fixture
def linked_cluster(cluster_factory):
    """cluster() with --node-link on every node (or on those `node_link` names)."""
    def _make(count=3, *extra, node_link=None):
        return cluster_factory(count, *extra, node_link=node_link or [True] * count)
    return _make
