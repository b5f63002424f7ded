"""`make bench`, section "any node, any request" (issue 21): what routing by session costs.

Three quench nodes on one redis-server (`--message-queue`), and Debian's haproxy in front of them with
`balance roundrobin`, no cookies and `option httpclose` (every request on its own connection, balanced on its
own, so nearly every GET and POST of a client lands on a node that does not hold its session).
- Polling replies: the same quench-bench polling clients, once through the balancer (forwarded) and once
  straight to one node (local), the three nodes and Redis running both times. The nodes run with
  `--node-link` (forwarded requests travel node to node over TCP); a second cluster without it gives the
  figure of requests forwarded through Redis. CPU per reply is summed over
  the three nodes and redis-server (utime + stime from /proc/<pid>/stat, read when quench-bench says READY
  and again when its window ends); haproxy's own CPU is reported beside it, not in the sum.
- A session move: sessions opened over polling on node A, then upgraded to WebSocket (probe, upgrade, one
  message and its reply) on node B, one at a time, beside the same upgrades done on A itself. The move's cost
  is the difference, per session: wall time and CPU (schedstat, ns: the window is short) summed over the nodes
  and Redis.

Standard library only, like bench.py, whose process helpers (spawn, Server, BenchRun) it uses: every child
is stopped by bench.cleanup().
"""

import base64
import http.client
import json
import os
import shutil
import socket
import time

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
REDIS_SERVER = shutil.which("redis-server")
NODES = 3
CHANNEL = b"socketio"

#: The balancer of the interop tests (Tests/Interop/cluster_support.py) without health checks or stats:
#: nothing is killed here.
HAPROXY_CONFIG = """global
    maxconn 4096

defaults
    mode http
    option httpclose
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h

frontend quench_cluster
    bind 127.0.0.1:{port}
    default_backend quench_nodes

backend quench_nodes
    balance roundrobin
{servers}

# The same clients stuck to one node: the same balancer and a new connection per request, no forwarding.
frontend quench_stuck
    bind 127.0.0.1:{stuck_port}
    default_backend quench_node0

backend quench_node0
{first_server}
"""


def missing():
    """What this section needs and does not find (empty when it can run)."""
    return [name for name, path in (("haproxy (apt-get install haproxy)", HAPROXY),
                                    ("redis-server (apt-get install redis-server)", REDIS_SERVER)) if not path]


def cpu_seconds(pid):
    """utime + stime of `pid` in seconds (/proc/<pid>/stat), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ns(pid):
    """CPU time of all `pid`'s threads in ns (/proc/<pid>/task/*/schedstat), or None if it is gone: fine enough
    for a window of a few hundred upgrades, which utime + stime (10 ms ticks) is not."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total


def total_cpu_ns(pids):
    values = [cpu_ns(pid) for pid in pids]
    return None if None in values else sum(values)


def total_cpu(pids):
    values = [cpu_seconds(pid) for pid in pids]
    return None if None in values else sum(values)


class Endpoint:
    """Where quench-bench connects (bench.BenchRun reads .kind, .url and .pid)."""

    def __init__(self, kind, port):
        self.kind, self.port, self.pid = kind, port, None

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"


class Cluster:
    """redis-server, three quench nodes on it, haproxy in front: started and stopped together."""

    def __init__(self, b, node_link=True):
        self.b = b
        self.redis_port = b.free_port()
        self.redis = b.spawn([REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], f"cluster-redis-{self.redis_port}.log")
        b.wait_listening(self.redis, self.redis_port)
        url = f"redis://127.0.0.1:{self.redis_port}/0"
        link = lambda: ["--node-link", f"127.0.0.1:{b.free_port()}", "--metrics"] if node_link else []
        self.nodes = [b.Server("quench", ["--message-queue", url, "--reminder-interval", "0", *link()], tag=f"-cluster{i}")
                      for i in range(NODES)]
        self.wait_subscribers(NODES)
        if node_link:
            self.wait_linked()
        self.port = b.free_port()
        self.stuck_port = b.free_port()
        lines = [f"    server node{i} 127.0.0.1:{node.port}" for i, node in enumerate(self.nodes)]
        config = os.path.join(b.LOG_DIR, f"cluster-haproxy-{self.port}.cfg")
        with open(config, "w") as f:
            f.write(HAPROXY_CONFIG.format(port=self.port, servers="\n".join(lines), stuck_port=self.stuck_port, first_server=lines[0]))
        self.haproxy = b.spawn([HAPROXY, "-f", config, "-db"], f"cluster-haproxy-{self.port}.log")
        b.wait_listening(self.haproxy, self.port)

    def wait_subscribers(self, count, timeout=15.0):
        """Polls PUBSUB NUMSUB on the channel (RESP by hand) until every node has subscribed."""
        command = b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as sock:
                sock.sendall(command)
                reply = sock.recv(4096).split(b"\r\n")
            counts = [int(item[1:]) for item in reply if item.startswith(b":")]  # *2 $8 socketio :N
            if counts and counts[0] >= count:
                return
            time.sleep(0.02)
        raise RuntimeError(f"the {count} quench nodes did not subscribe to Redis within {timeout:.0f}s")

    def wait_linked(self, timeout=15.0):
        """Polls each node's /metrics until it is linked both ways to the other nodes (--node-link)."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while True:
                status, text = 0, ""
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=2)
                    connection.request("GET", "/metrics")
                    response = connection.getresponse()
                    status, text = response.status, response.read().decode()
                    connection.close()
                except OSError:
                    pass
                values = [float(line.split()[1]) for line in text.splitlines() if line.startswith("quench_node_link_connections ")]
                if status == 200 and values and values[0] >= 2 * (NODES - 1):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {NODES} quench nodes did not link to each other within {timeout:.0f}s")
                time.sleep(0.02)

    @property
    def summed_pids(self):
        """The processes whose CPU a reply or a move is charged with: the nodes and redis-server."""
        return [node.pid for node in self.nodes] + [self.redis.pid]

    def alive(self):
        return all(node.alive() for node in self.nodes) and self.redis.poll() is None and self.haproxy.poll() is None

    def stop(self):
        for process in [self.haproxy] + [node.process for node in self.nodes] + [self.redis]:
            self.b.stop(process)


def thread_cpu_ns(pids):
    """CPU ns of every thread of `pids`, by (process kind, thread name): quench names its threads (the service
    thread is `quench`), so what a reply costs can be told apart by who spends it."""
    out = {}
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/comm") as f:
                    name = f.read().strip()
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    ns = int(f.read().split()[0])
            except OSError:
                continue
            out[(pid, task, name)] = ns
    return out


def measured_polling_run(b, cluster, endpoint, clients, seconds, tag):
    """One quench-bench polling run against `endpoint`; CPU of the nodes + Redis and of haproxy over its window,
    and the nodes' and Redis's CPU per reply by thread name."""
    run = b.BenchRun(endpoint, clients, seconds, "rtt", 60.0, with_pid=False, tag=tag, transport="polling")
    run.ready.wait(90)
    start = time.monotonic()
    summed, proxy = total_cpu(cluster.summed_pids), cpu_seconds(cluster.haproxy.pid)
    threads = thread_cpu_ns(cluster.summed_pids)
    time.sleep(seconds)
    window = time.monotonic() - start
    summed_after, proxy_after = total_cpu(cluster.summed_pids), cpu_seconds(cluster.haproxy.pid)
    threads_after = thread_cpu_ns(cluster.summed_pids)
    result = run.wait()
    replies = (b.num(result, "replies_per_s") or 0) * window
    if replies and summed is not None and summed_after is not None:
        result["cluster_us_per_reply"] = (summed_after - summed) * 1e6 / replies
        result["haproxy_us_per_reply"] = (proxy_after - proxy) * 1e6 / replies if proxy is not None and proxy_after is not None else None
        by_name = {}
        for key, ns in threads_after.items():
            name = "redis-server" if key[0] == cluster.redis.pid else key[2]
            by_name[name] = by_name.get(name, 0) + (ns - threads.get(key, 0)) / 1000 / replies
        result["threads_us_per_reply"] = {name: us for name, us in by_name.items() if us >= 0.05}
    return result


#: Forwarded and stuck runs alternate this many times; each is reported by its median round, so a burst of
#: other work on the machine during one window does not decide the ratio.
ROUNDS = 3


def median_round(results):
    """The round whose CPU per reply is the median (all rounds' figures kept beside it)."""
    measured = [r for r in results if r.get("cluster_us_per_reply") is not None]
    if not measured:
        return results[0] if results else {}
    ordered = sorted(measured, key=lambda r: r["cluster_us_per_reply"])
    median = dict(ordered[len(ordered) // 2])
    median["rounds_us_per_reply"] = [r["cluster_us_per_reply"] for r in results if r.get("cluster_us_per_reply") is not None]
    median["failures"] = sum(b_num(r, "failures") for r in results)
    return median


def b_num(r, key):
    try:
        return float(r.get(key) or 0)
    except (TypeError, ValueError):
        return 0.0


def scenario_polling(b, clients, seconds, redis_rounds=ROUNDS):
    b.log(f"cluster: {clients} polling clients through haproxy across {NODES} nodes, then stuck to one node, {ROUNDS} rounds "
          f"of {seconds}s each; then straight to one node")
    cluster = Cluster(b)
    try:
        forwarded, stuck = [], []
        for round_index in range(ROUNDS):
            forwarded.append(measured_polling_run(b, cluster, Endpoint("balancer", cluster.port), clients, seconds,
                                                  f"-cluster-forwarded{round_index}"))
            stuck.append(measured_polling_run(b, cluster, Endpoint("balancer", cluster.stuck_port), clients, seconds,
                                              f"-cluster-stuck{round_index}"))
        local = measured_polling_run(b, cluster, Endpoint("node0", cluster.nodes[0].port), clients, seconds, "-cluster-local")
        alive = cluster.alive()
    finally:
        cluster.stop()
    b.log(f"cluster: the same clients through haproxy across {NODES} nodes without --node-link (forwarded over Redis), {redis_rounds} rounds")
    cluster = Cluster(b, node_link=False)
    try:
        over_redis = [measured_polling_run(b, cluster, Endpoint("balancer", cluster.port), clients, seconds, f"-cluster-redis{round_index}")
                      for round_index in range(redis_rounds)]
        alive = alive and cluster.alive()
    finally:
        cluster.stop()
    return {"forwarded": median_round(forwarded), "stuck": median_round(stuck), "local": local, "redis": median_round(over_redis), "alive": alive}


# ------------------------------------------------------------------------------------------ session moves

def exchange(port, method, query, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, f"/socket.io/?EIO=4&{query}", body=body, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def open_polling_session(port):
    """Handshake, Socket.IO CONNECT and its answer over polling on `port`: the Engine.IO sid."""
    status, text = exchange(port, "GET", "transport=polling")
    if status != 200 or not text.startswith("0"):
        raise RuntimeError(f"handshake: {status} {text[:100]}")
    sid = json.loads(text[1:])["sid"]
    status, text = exchange(port, "POST", f"transport=polling&sid={sid}", b"40")
    if (status, text) != (200, "ok"):
        raise RuntimeError(f"POST 40: {status} {text[:100]}")
    seen = ""
    while "Connected to server" not in seen:
        status, text = exchange(port, "GET", f"transport=polling&sid={sid}")
        if status != 200:
            raise RuntimeError(f"GET: {status} {text[:100]}")
        seen += text
    return sid


def ws_send(sock, text):
    payload, mask = text.encode(), os.urandom(4)
    length = len(payload)
    header = bytes([0x81, 0x80 | length]) if length < 126 else bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
    sock.sendall(header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload)))


def ws_recv_text(sock, pending):
    """The next text frame (server frames are unmasked); `pending` is a bytearray of bytes read ahead."""
    while True:
        while len(pending) < 2 or len(pending) < frame_end(pending):
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed the WebSocket")
            pending += chunk
        end = frame_end(pending)
        opcode, start = pending[0] & 0x0F, end - payload_length(pending)
        payload = bytes(pending[start:end])
        del pending[:end]
        if opcode == 1:
            return payload.decode()
        if opcode == 8:
            raise RuntimeError("the server sent a close frame")


def payload_length(frame):
    length = frame[1] & 0x7F
    if length == 126:
        return int.from_bytes(frame[2:4], "big") if len(frame) >= 4 else 1 << 30
    if length == 127:
        return int.from_bytes(frame[2:10], "big") if len(frame) >= 10 else 1 << 30
    return length


def frame_end(frame):
    length = frame[1] & 0x7F
    header = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return header + payload_length(frame)


def upgrade(port, sid):
    """WebSocket upgrade of `sid` on `port`: probe, upgrade, one user_message and its reply. Seconds taken."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # frames go out at once, as a browser's do
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise RuntimeError(f"closed during the upgrade: {head[:200]!r}")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            body = rest.decode(errors="replace")[:100]
            raise RuntimeError(f"{status} {body}".strip())
        pending = bytearray(rest)
        ws_send(sock, "2probe")
        if (answer := ws_recv_text(sock, pending)) != "3probe":
            raise RuntimeError(f"probe answered {answer!r}")
        ws_send(sock, "5")
        ws_send(sock, '42["user_message",{"text":"moved"}]')
        while not (answer := ws_recv_text(sock, pending)).startswith('42["bot_message",{"text":"moved rcvd at'):
            if answer == "2":
                ws_send(sock, "3")
        return time.monotonic() - started
    finally:
        sock.close()


def measured_upgrades(b, cluster, sessions, on_port):
    """`sessions` sessions opened on node 0, then upgraded one at a time on `on_port`: times, CPU, failures."""
    sids = [open_polling_session(cluster.nodes[0].port) for _ in range(sessions)]
    before = total_cpu_ns(cluster.summed_pids)
    times, failures = [], []
    for sid in sids:
        try:
            times.append(upgrade(on_port, sid))
        except (OSError, RuntimeError) as error:
            failures.append(str(error))
    after = total_cpu_ns(cluster.summed_pids)
    done = len(times)
    ordered = sorted(times)
    return {"sessions": sessions, "done": done, "failures": len(failures), "first_failure": failures[0] if failures else None,
            "p50_ms": ordered[done // 2] * 1000 if done else None,
            "p99_ms": ordered[min(done - 1, int(done * 0.99))] * 1000 if done else None,
            "cpu_us": (after - before) / 1e3 / done if done and before is not None and after is not None else None}


def scenario_moves(b, sessions):
    b.log(f"cluster: {sessions} polling sessions upgraded to WebSocket on their own node, then {sessions} on another node")
    cluster = Cluster(b)
    try:
        local = measured_upgrades(b, cluster, sessions, cluster.nodes[0].port)
        moved = measured_upgrades(b, cluster, sessions, cluster.nodes[1].port)
        return {"local": local, "moved": moved, "alive": cluster.alive()}
    finally:
        cluster.stop()


# ------------------------------------------------------------------------------------------------- report

def lines(b, data):
    polling, moves = data.get("cluster_polling") or {}, data.get("cluster_moves") or {}
    if not polling and not moves:
        return []
    fwd, loc = polling.get("forwarded") or {}, polling.get("local") or {}
    stuck, redis = polling.get("stuck") or {}, polling.get("redis") or {}
    out = [f"## Any node, any request: polling through a round-robin balancer (issue 21)", "",
           f"{NODES} quench nodes on one redis-server, haproxy in front (`balance roundrobin`, no cookies, `option httpclose`: "
           "each request on its own connection, so most GETs and POSTs land on a node that does not hold the session and "
           f"are forwarded to it, node to node over `--node-link`). The same {data.get('cluster_clients')} quench-bench polling clients run "
           f"{data.get('cluster_seconds')} s through the balancer, then {data.get('cluster_seconds')} s through the same balancer "
           f"stuck to one node (the same new connection per request, no forwarding), {ROUNDS} times in turn (each row is its median "
           "round, every round's CPU beside it), then straight to one node on keep-alive "
           "connections; the three nodes and Redis are up each time. Last, a second cluster without `--node-link` runs the "
           f"balancer's clients {len(redis.get('rounds_us_per_reply') or []) or '—'} times: requests forwarded through Redis, as before the link. CPU per reply is summed over the three "
           "nodes and redis-server (utime + stime, /proc, over the measured window); haproxy's is beside it. The target "
           "compares the first two: what forwarding itself costs, the balancer's connection per request being the same.", "",
           "| clients reach | connected | replies/s | latency p50 / p99 ms | CPU µs per reply, nodes + Redis | haproxy CPU µs per reply |",
           "|---|---|---|---|---|---|"]
    for name, r in (("3 nodes through haproxy (forwarded, --node-link)", fwd), ("haproxy stuck to one node (local)", stuck),
                    ("one node directly, keep-alive", loc), ("3 nodes through haproxy (forwarded over Redis)", redis)):
        note = f" ({int(b.num(r, 'failures'))} failures)" if b.num(r, "failures") else ""
        out.append(f"| {name} | {b.fmt(b.num(r, 'connected'), 0)}/{b.fmt(b.num(r, 'clients'), 0)}{note} | "
                   f"{b.fmt(b.num(r, 'replies_per_s'))} | {r.get('p50_ms', '—')} / {r.get('p99_ms', '—')} | "
                   f"{b.fmt(r.get('cluster_us_per_reply'))} | {b.fmt(r.get('haproxy_us_per_reply'))} |")
    out += [f"| forwarded/stuck | | {b.ratio(b.num(fwd, 'replies_per_s'), b.num(stuck, 'replies_per_s'))} | | "
            f"**{b.ratio(fwd.get('cluster_us_per_reply'), stuck.get('cluster_us_per_reply'))}** | |",
            f"| forwarded over Redis/stuck | | {b.ratio(b.num(redis, 'replies_per_s'), b.num(stuck, 'replies_per_s'))} | | "
            f"{b.ratio(redis.get('cluster_us_per_reply'), stuck.get('cluster_us_per_reply'))} | |", ""]
    rounds = [", ".join(b.fmt(v) for v in (r.get("rounds_us_per_reply") or [])) for r in (fwd, stuck, redis)]
    if all(rounds):
        out += [f"Every round's CPU µs per reply: forwarded {rounds[0]}; stuck {rounds[1]}; forwarded over Redis {rounds[2]}.", ""]
    names = sorted(set(fwd.get("threads_us_per_reply") or {}) | set(stuck.get("threads_us_per_reply") or {})
                   | set(redis.get("threads_us_per_reply") or {}),
                   key=lambda n: -((fwd.get("threads_us_per_reply") or {}).get(n, 0)))
    if names:
        out += ["Where it goes, by thread (CPU µs per reply, the median rounds; `quench` is the nodes' service threads):", "",
                "| thread | forwarded (--node-link) | stuck | forwarded over Redis |", "|---|---|---|---|"]
        for name in names:
            out.append(f"| {name} | {b.fmt((fwd.get('threads_us_per_reply') or {}).get(name))} | "
                       f"{b.fmt((stuck.get('threads_us_per_reply') or {}).get(name))} | "
                       f"{b.fmt((redis.get('threads_us_per_reply') or {}).get(name))} |")
        out.append("")
    first = (fwd.get("_failures") or [None])[0]
    if first:
        out += [f"First failure through the balancer: `{first[9:][:160]}`", ""]
    ml, mm = moves.get("local") or {}, moves.get("moved") or {}
    out += [f"### The cost of a session move ({ml.get('sessions', '—')} sessions, one at a time)", "",
            "Each session opens over polling on node A, then upgrades to WebSocket — probe, upgrade, one `user_message` "
            "and its reply — on A itself (local) or on node B (the session moves from A to B). The move's cost is the "
            "difference. CPU here is each process's threads' schedstat (ns), summed over the nodes and Redis.", "",
            "| upgrade on | done | time p50 / p99 ms | CPU µs per upgrade, nodes + Redis |", "|---|---|---|---|"]
    for name, r in (("its own node (local)", ml), ("another node (a move)", mm)):
        note = f" ({r['failures']} failed: `{(r.get('first_failure') or '')[:80]}`)" if r.get("failures") else ""
        out.append(f"| {name} | {b.fmt(r.get('done'))}/{b.fmt(r.get('sessions'))}{note} | {b.fmt(r.get('p50_ms'), 2)} / "
                   f"{b.fmt(r.get('p99_ms'), 2)} | {b.fmt(r.get('cpu_us'))} |")
    extra_ms = mm["p50_ms"] - ml["p50_ms"] if mm.get("p50_ms") is not None and ml.get("p50_ms") is not None else None
    extra_cpu = mm["cpu_us"] - ml["cpu_us"] if mm.get("cpu_us") is not None and ml.get("cpu_us") is not None else None
    out += [f"| one move costs | | {b.fmt(extra_ms, 2, ' ms')} (p50) | {b.fmt(extra_cpu, 1, ' µs')} |", ""]
    return out


def targets(b, data):
    polling = data.get("cluster_polling")
    if not polling:
        return []
    fwd, loc = polling.get("forwarded") or {}, polling.get("stuck") or {}
    f, l = fwd.get("cluster_us_per_reply"), loc.get("cluster_us_per_reply")
    clean = not b.num(fwd, "failures") and b.num(fwd, "connected") == b.num(fwd, "clients")
    ok = clean and f is not None and l and f / l <= 2
    return [b.check(ok, f"a forwarded polling reply costs ≤ 2× the CPU of a local one through the same balancer (nodes + Redis summed): {b.fmt(f)} vs "
                        f"{b.fmt(l)} µs = {b.ratio(f, l)}; {b.fmt(b.num(fwd, 'connected'), 0)}/{b.fmt(b.num(fwd, 'clients'), 0)} "
                        f"clients connected through the balancer, {b.fmt(b.num(fwd, 'failures'), 0)} failures")]
