#!/usr/bin/env python3
"""`make bench`: quench beside the libwebsockets floor and the seed app, in one run, into BENCHMARKS.md.

Starts each server on a free 127.0.0.1 port (fresh per scenario), waits until it accepts a TCP connection
(polled, never a fixed sleep), drives it with quench-bench (WebSocket or polling) or wrk (handshakes), reads
the servers' CPU and memory from /proc, and writes a table of figures and ratios plus a checklist of the
targets of issue 6. Every child process is stopped at the end, also on failure or Ctrl-C.

Standard library only. Run from anywhere: paths are found from this file's place in the repository.
"""

import argparse
import base64
import collections
import datetime
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import cluster_bench
import floors_bench

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "reference"))
QUENCH = os.path.join(ROOT, ".build", "release", "quench")
UNLIMITED_ADDRESS = ("--max-sessions-per-address", "1000000", "--handshake-rate", "1000000", "--handshake-burst", "1000000")
#: The per-client budgets lifted too: the rtt clients send as fast as replies come (hundreds a second each),
#: which is what the cost figures measure. The fairness section puts the defaults back (a later flag wins).
UNLIMITED_BUDGETS = ("--event-rate", "1000000", "--event-burst", "1000000", "--ping-rate", "1000000", "--ping-burst", "1000000")
DEFAULT_BUDGETS = ("--event-rate", "50", "--event-burst", "200", "--ping-rate", "5", "--ping-burst", "20")
BENCH = os.path.join(ROOT, ".build", "release", "quench-bench")
FLOOR = os.path.join(ROOT, "build", "lws_floor")
SEND_FLOOR = os.path.join(ROOT, "build", "send_floor")
#: Issue 26's floors: long-polling (Tests/Bench/poll_floor.c) and the WebSocket floor with TLS on (tls_floor.c).
POLL_FLOOR = os.path.join(ROOT, "build", "poll_floor")
TLS_FLOOR = os.path.join(ROOT, "build", "tls_floor")
SEED_PYTHON = os.path.join(ROOT, ".venv-seed", "bin", "python")
SEED_APP = os.path.join(SHARED, "seed_app.py")
#: The seed's exchange on python-socketio's asyncio server under uvicorn: the fastest Python stack.
ASGI_APP = os.path.join(ROOT, "Tests", "Bench", "asgi_app.py")
LOG_DIR = os.path.join(ROOT, "build", "bench-logs")

#: Clients per quench-bench process for the big scenarios: each process polls only its own sockets, and
#: several processes finish connecting sooner than one (lws 4.1's default loop is poll(), O(n) per wakeup).
CLIENTS_PER_BENCH = 5000
TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------- processes

_children = []  # every Popen started here, so cleanup() can stop them all


def spawn(argv, log_name, **kwargs):
    os.makedirs(LOG_DIR, exist_ok=True)
    out = open(os.path.join(LOG_DIR, log_name), "w")
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, **kwargs)
    out.close()
    _children.append(process)
    return process


def stop(process, grace=3.0):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cleanup():
    for process in _children:
        try:
            stop(process, 2.0)
        except Exception:
            pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(process, port, timeout=30.0, interval=0.001):
    """Polls a TCP connect to 127.0.0.1:port every `interval` s; returns seconds since `process` was spawned."""
    start = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"server did not listen on {port} within {timeout:.0f}s")
        time.sleep(interval)


class Server:
    """One server process on a free loopback port: quench, the floor or the seed app. With `tls`, quench and the
    floor serve wss:// with the bench's certificate (floors_bench.tls_files); `url` says wss:// then."""

    def __init__(self, kind, extra=(), tag="", tls=False):
        self.kind = kind
        self.port = free_port()
        self.tls = tls
        env = None
        if tls:
            cert, key = floors_bench.tls_files(sys.modules[__name__])
            if kind == "quench":
                extra = ("--tls-cert", cert, "--tls-key", key, *extra)
            elif kind == "floor":
                env = dict(os.environ, TLS_FLOOR_CERT=cert, TLS_FLOOR_KEY=key)
            else:
                raise ValueError(f"{kind} has no TLS here")
        if kind == "quench":
            # Every load client comes from 127.0.0.1: the per-address bounds are lifted, or the bench would
            # measure them instead of the server.
            argv = [QUENCH, "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warn", *UNLIMITED_ADDRESS, *UNLIMITED_BUDGETS, *extra]
        elif kind == "floor":
            argv = [TLS_FLOOR if tls else FLOOR, str(self.port), *extra]
        elif kind == "pollfloor":
            argv = [POLL_FLOOR, str(self.port), *extra]
        elif kind == "seed":
            argv = [SEED_PYTHON, SEED_APP, str(self.port)]
        elif kind == "asgi":
            argv = [SEED_PYTHON, ASGI_APP, str(self.port)]
        else:
            raise ValueError(kind)
        self.log_path = os.path.join(LOG_DIR, f"{kind}{tag}-{self.port}.log")
        self.process = spawn(argv, os.path.basename(self.log_path), env=env)
        self.pid = self.process.pid
        self.startup_seconds = wait_listening(self.process, self.port, timeout=60.0 if kind in ("seed", "asgi") else 30.0)

    @property
    def url(self):
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def alive(self):
        return self.process.poll() is None

    def sample(self):
        """(CPU seconds used, RSS KiB) from /proc, or None if the process is gone."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{self.pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return None
        return (int(fields[11]) + int(fields[12])) / TICKS, rss

    def cpu_ns(self):
        """CPU time of all the process's threads in ns (schedstat), or None if it is gone."""
        total = 0
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return total

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        stop(self.process)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ------------------------------------------------------------------------------------------- quench-bench

class BenchRun:
    """One quench-bench process, its stdout read by a thread (READY line, RESULT line)."""

    def __init__(self, server, clients, duration, mode="rtt", connect_timeout=30.0, reminder=0, with_pid=True, tag="",
                 transport="websocket", extra=()):
        argv = [BENCH, "--url", server.url, "--transport", transport, "--clients", str(clients), "--duration", str(duration),
                "--mode", mode, "--connect-timeout", str(connect_timeout), "--machine", *extra]
        if with_pid:
            argv += ["--pid", str(server.pid)]
        if reminder:
            argv += ["--reminder-interval", str(reminder)]
        self.limit = connect_timeout + duration + 60
        self.lines = []
        self.ready_at = None
        self.ready_wall = None
        self.duration = duration
        self.ready = threading.Event()
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        text=True, cwd=ROOT)
        _children.append(self.process)
        self.log_name = f"bench-{server.kind}{tag}-{transport}-{mode}-{clients}-{self.process.pid}.log"
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("READY"):
                self.ready_at = time.monotonic()
                self.ready_wall = time.time()
                self.ready.set()
        self.ready.set()

    def wait(self):
        try:
            self.process.wait(self.limit)
            self.killed = False
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.killed = True
        self.reader.join(5)
        with open(os.path.join(LOG_DIR, self.log_name), "w") as f:
            f.write("\n".join(self.lines) + "\n")
        return self.result()

    def result(self):
        fields = {}
        for line in self.lines:
            if line.startswith("RESULT "):
                for item in line.split()[1:]:
                    key, _, value = item.partition("=")
                    fields[key] = value
        fields["_failures"] = [line.strip() for line in self.lines if line.strip().startswith("failure:")]
        fields["_killed"] = getattr(self, "killed", False)
        fields["_output"] = self.lines
        return fields


def num(fields, key):
    try:
        return float(fields[key])
    except (KeyError, ValueError, TypeError):
        return None


def split_clients(total):
    count = max(1, -(-total // CLIENTS_PER_BENCH))
    return [total // count + (1 if i < total % count else 0) for i in range(count)]


def run_many(server, total, duration, mode, connect_timeout, reminder=0, on_all_ready=None, polling=0):
    """Several bench processes against one server; samples the server when all of them are connected.
    `polling` of the `total` clients use long-polling (in processes of their own), the rest WebSocket."""
    plan = [(n, "websocket") for n in split_clients(total - polling)] if total > polling else []
    plan += [(n, "polling") for n in split_clients(polling)] if polling else []
    runs = [BenchRun(server, n, duration, mode, connect_timeout, reminder, with_pid=False, tag=f"-p{i}", transport=transport)
            for i, (n, transport) in enumerate(plan)]
    for run in runs:
        run.ready.wait(connect_timeout + 30)
    all_ready_wall = time.time()
    at_ready = server.sample()
    extra = on_all_ready(runs) if on_all_ready else None
    results = [run.wait() for run in runs]
    return results, at_ready, all_ready_wall, runs, extra


def total(results, key):
    return sum(int(num(r, key) or 0) for r in results)


# -------------------------------------------------------------------------------------------- scenarios

#: quench's flags for the connection-state-recovery runs: every reply is kept in the log and carries an offset.
RECOVERY_FLAGS = ("--recovery-window", "2m")
#: quench's flags for the Admin UI runs: the admin namespace served, nobody logged in to it (issue 24: the cost
#: of having it on while nobody watches).
ADMIN_FLAGS = ("--admin", "--admin-auth", "none")
#: quench's and quench-bench's flags for the msgpack runs (issue 25): every packet one msgpack binary frame.
MSGPACK_FLAGS = ("--parser", "msgpack")


def scenario_rtt(kind, clients, duration, connect_timeout, extra=(), tag=None, bench_extra=()):
    log(f"rtt {clients} clients: {kind} {' '.join(extra)}")
    with Server(kind, extra, tag=tag if tag is not None else ("-recovery" if extra else "")) as server:
        result = BenchRun(server, clients, duration, "rtt", connect_timeout, extra=bench_extra).wait()
        result["_alive"] = server.alive()
    return result


def scenario_fairness(clients, duration):
    """Issue 22's fairness figure: `clients` ordinary clients (40 ms between a reply and the next message)
    measure their p99 alone, then while one client floods `user_message` as fast as its socket takes it
    (Tests/Interop/event_flooder.py, at nice 19 so that it does not take the server's core), same server."""
    log(f"fairness: {clients} clients alone, then beside an event flood")
    with Server("quench", ("--metrics", *DEFAULT_BUDGETS), tag="-fairness") as server:
        alone = BenchRun(server, clients, duration, "rtt", 30.0, extra=("--think-ms", "40")).wait()
        flooder = subprocess.Popen(["nice", "-n", "19", sys.executable, os.path.join(ROOT, "Tests", "Interop", "event_flooder.py"),
                                    str(server.port), "0"], stdout=subprocess.PIPE, text=True)
        _children.append(flooder)
        time.sleep(1)  # the flood under way (its first second spends the burst)
        during = BenchRun(server, clients, duration, "rtt", 30.0, extra=("--think-ms", "40")).wait()
        flooder.terminate()
        summary = flooder.communicate(timeout=10)[0].strip()
    return {"alone": alone, "during": during, "flooder": summary}


def scenario_idle_rss(kind, sessions, hold, extra=()):
    log(f"RSS per idle session, {sessions} sessions: {kind} {' '.join(extra)}")
    with Server(kind, extra, tag="-recovery" if extra else "") as server:
        base = server.sample()
        results, at_ready, _, _, _ = run_many(server, sessions, hold, "idle", connect_timeout=90)
        connected = total(results, "connected")
        kib = (at_ready[1] - base[1]) / connected if connected and at_ready and base else None
        return {"connected": connected, "failures": total(results, "failures"), "kib": kib,
                "rss_base": base and base[1], "rss_ready": at_ready and at_ready[1], "alive": server.alive()}


def watch_bursts(server, interval, stop_event, bursts, watch=1.5):
    """Samples the server's CPU (ns, schedstat) every ~1 ms around each reminder boundary; for each boundary
    records when the server last ran (ms after the boundary) and how much CPU it used: the server-side view
    of when the last reminder left, free of the bench clients' own receive work."""
    while not stop_event.is_set():
        now = time.time()
        boundary = (int(now) // interval + 1) * interval
        if stop_event.wait(max(0.0, boundary - now - 0.05)):
            return
        start_cpu = server.cpu_ns()
        last_cpu, last_change = start_cpu, None
        while time.time() < boundary + watch and not stop_event.is_set():
            cpu = server.cpu_ns()
            if cpu is None:
                return
            if cpu != last_cpu:
                last_cpu, last_change = cpu, time.time()
            time.sleep(0.001)
        if start_cpu is not None:
            bursts[boundary] = ((last_change - boundary) * 1000 if last_change else None, (last_cpu - start_cpu) / 1e6)


def scenario_fanout(kind, sessions, interval, duration, polling=0, tls=False):
    """The reminder fan-out to `sessions` clients (`polling` of them long-polling; with `tls` the WebSocket ones
    on wss://). With polling clients the server also answers each one's next GET after its reminder, which the
    watch (3.5 s instead of 1.5 s after each boundary) must include."""
    watch = 3.5 if polling else 1.5
    log(f"reminder fan-out every {interval}s to {sessions} sessions ({polling} of them long-polling{', TLS' if tls else ''}): {kind}")
    # quench's pings go to 60 s so no heartbeat lands in the window (the floor sends none): the server's CPU
    # around a boundary is then the fan-out alone.
    extra = ["--reminder-interval", str(interval), "--ping-interval", "60s"] if kind == "quench" else [str(interval)]
    with Server(kind, extra, tag=("-polling" if polling else "") + ("-tls" if tls else ""), tls=tls) as server:
        bursts, stop_event = {}, threading.Event()

        def start_watching(runs):
            watcher = threading.Thread(target=watch_bursts, args=(server, interval, stop_event, bursts, watch), daemon=True)
            watcher.start()
            return watcher

        try:
            results, _, ready_wall, runs, watcher = run_many(server, sessions, duration, "fanout", connect_timeout=90,
                                                          reminder=interval, on_all_ready=start_watching, polling=polling)
        finally:
            stop_event.set()
        watcher.join(watch + 2)
        per_boundary = collections.defaultdict(lambda: [0, 0.0, 0.0])
        for result in results:
            for item in filter(None, result.get("reminders", "").split(",")):
                boundary, count, p50, worst = item.split(":")
                entry = per_boundary[int(boundary)]
                entry[0] += int(count)
                entry[1] = max(entry[1], float(p50) if p50 != "-" else 0)
                entry[2] = max(entry[2], float(worst) if worst != "-" else 0)
        connected = total(results, "connected")
        # A boundary counts when every client had connected before it and no bench process had started closing
        # its clients within the time the server is watched after it (closing costs the server CPU too).
        window_end = min((r.ready_wall + r.duration for r in runs if r.ready_wall), default=0)
        full = {b: e for b, e in sorted(per_boundary.items())
                if e[0] >= connected and b >= ready_wall - 0.5 and b + watch + 0.1 <= window_end}
        server_side = {b: v for b, v in bursts.items() if b in full}
        return {"connected": connected, "failures": total(results, "failures"), "alive": server.alive(),
                "failure_lines": [f for r in results for f in r["_failures"]][:3], "polling": polling,
                "server": server_side,
                "server_max_ms": max((v[0] for v in server_side.values() if v[0] is not None), default=None),
                "server_cpu_ms": max((v[1] for v in server_side.values()), default=None),
                "boundaries": dict(sorted(per_boundary.items())), "full": full,
                "max_ms": max((e[2] for e in full.values()), default=None),
                "p50_ms": max((e[1] for e in full.values()), default=None)}


#: The active clients beside a fan-out: how many, and how long each waits after a reply before its next message.
ACTIVE_CLIENTS, ACTIVE_THINK_MS = 50, 20


def scenario_fanout_latency(kind, sessions, interval, duration):
    """Replies of ACTIVE_CLIENTS paced clients while the server fans reminders out to `sessions` others: the
    latency of replies in flight within 1 s after each boundary (quench-bench's fan-out window), beside the
    latency over the whole run, and whether any reply was lost (unanswered) or wrong (a failure: every reply is
    checked against the one message its client has in flight, so a reply out of order fails too)."""
    log(f"replies of {ACTIVE_CLIENTS} active clients during fan-outs to {sessions} sessions: {kind}")
    extra = ["--reminder-interval", str(interval), "--ping-interval", "60s"] if kind == "quench" else [str(interval)]
    with Server(kind, extra, tag="-latency") as server:
        active = {}

        def start_active(runs):
            active["run"] = BenchRun(server, ACTIVE_CLIENTS, duration - 2, "rtt", 30.0, reminder=interval, with_pid=False,
                                     tag="-active", extra=("--think-ms", str(ACTIVE_THINK_MS)))

        results, _, _, _, _ = run_many(server, sessions, duration, "fanout", connect_timeout=90, reminder=interval,
                                       on_all_ready=start_active)
        result = active["run"].wait() if "run" in active else {}
        result["_sessions_connected"] = total(results, "connected")
        result["_alive"] = server.alive()
        return result


def scenario_kernel_fanout(sessions, runs):
    """The kernel's own cost of a fan-out (Tests/Bench/send_floor.c): one bare send() on each of `sessions`
    loopback connections, no server code at all. Whatever quench or the floor take beyond it is theirs."""
    log(f"kernel floor: {sessions} bare send() calls x{runs}")
    walls, cpus = [], []
    for _ in range(runs):
        out = subprocess.run([SEND_FLOOR, str(sessions), str(free_port())], capture_output=True, text=True, timeout=120)
        fields = dict(item.partition("=")[::2] for item in out.stdout.split())
        if out.returncode != 0 or "wall_ms" not in fields:
            return {"error": (out.stderr or out.stdout).strip()[:200]}
        walls.append(float(fields["wall_ms"]))
        cpus.append(float(fields["cpu_ms"]))
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus), "all_wall_ms": walls}


def upgrade_probe(port, count, timeout=5.0):
    """Opens `count` raw WebSocket upgrades; returns (outcome counts, worst response seconds, open sockets)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode()
    outcomes, pending, worst = collections.Counter(), [], 0.0
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        started = time.monotonic()
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(request)
            pending.append((sock, started))
        except OSError as error:
            outcomes[f"connect error: {error.strerror or error}"] += 1
            sock.close()
    for sock, started in pending:
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError as error:
            outcomes[f"no status line ({error.strerror or 'timed out'})"] += 1
            continue
        worst = max(worst, time.monotonic() - started)
        line = data.split(b"\r\n", 1)[0].decode(errors="replace").strip()
        outcomes[line if line else "closed without a status line"] += 1
    return outcomes, worst, [sock for sock, _ in pending]


def scenario_hold(sessions, hold, extra_a, extra_b):
    log(f"{sessions} quench sessions held {hold}s with heartbeats, then {extra_a} and {extra_b} more")
    flags = ["--ping-interval", "10s", "--ping-timeout", "5s"]
    with Server("quench", flags, tag="-hold") as server:
        base = server.sample()
        probes = {}

        def during_hold(runs):
            connected = sum(int(re.search(r"connected=(\d+)", next((l for l in r.lines if l.startswith("READY")), "connected=0"))
                                .group(1)) for r in runs)
            probes["connected_at_ready"] = connected
            time.sleep(min(15, hold / 3))
            opened = []
            try:
                for label, count in (("a", extra_a), ("b", extra_b)):
                    outcomes, worst, sockets = upgrade_probe(server.port, count)
                    opened += sockets
                    probes[label] = (count, outcomes, worst)
            finally:
                for sock in opened:
                    sock.close()
            probes["alive_after_probe"] = server.alive()

        # Each bench process holds for its own window from its own all-connected moment; the slack keeps every
        # session open together for at least `hold` seconds as long as the processes finish connecting within it.
        slack = 15
        results, at_ready, _, runs, _ = run_many(server, sessions, hold + slack, "idle", connect_timeout=120,
                                                 on_all_ready=during_hold)
        ready_times = [r.ready_at for r in runs if r.ready_at]
        text = server.log_text()
        return {"connected": total(results, "connected"), "failures": total(results, "failures"),
                "failure_lines": [f for r in results for f in r["_failures"]][:5],
                "killed": any(r["_killed"] for r in results), "alive": server.alive(),
                "ready_spread": (max(ready_times) - min(ready_times)) if ready_times else None,
                "together": (hold + slack - (max(ready_times) - min(ready_times))) if len(ready_times) == len(runs) else None,
                "rss_kib": at_ready and base and (at_ready[1] - base[1]) / max(1, total(results, "connected")),
                "probes": probes, "log_503": text.count("status=503"),
                "log_tail": [l for l in text.splitlines() if "503" in l][:2]}


def scenario_wrk(kind, seconds, connections):
    # quench keeps an abandoned polling session until its ping times out, and counts it against its session
    # limit (19,900 here); short pings let wrk's tens of thousands of handshakes/s expire before they reach it.
    extra = ["--ping-interval", "100ms", "--ping-timeout", "100ms"] if kind == "quench" else []
    log(f"wrk polling handshakes: {kind}")
    with Server(kind, extra, tag="-wrk") as server:
        url = f"http://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=polling"
        before = server.sample()
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", url],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
        after = server.sample()
        with open(os.path.join(LOG_DIR, f"wrk-{kind}.log"), "w") as f:
            f.write(out)
        requests = int(re.search(r"(\d+) requests in", out).group(1)) if "requests in" in out else 0
        elapsed = re.search(r"requests in ([\d.]+)(m?s)", out)
        secs = (float(elapsed.group(1)) / (1000 if elapsed.group(2) == "ms" else 1)) if elapsed else seconds
        non2xx = int(re.search(r"Non-2xx or 3xx responses: (\d+)", out).group(1)) if "Non-2xx" in out else 0
        errors = re.search(r"Socket errors: (.*)", out)
        ok = requests - non2xx
        return {"rate": ok / secs if secs else 0, "requests": requests, "non2xx": non2xx,
                "errors": errors.group(1) if errors else "none", "alive": server.alive(),
                "cpu_us": (after[0] - before[0]) * 1e6 / ok if ok and after and before else None}


def scenario_polling_rtt(kind, clients, seconds):
    """Replies over long-polling, driven by quench-bench's polling clients (a held GET and a POST connection
    each, one user_message in flight): replies/s and the server's own CPU per reply."""
    log(f"polling rtt: {kind} with {clients} clients for {seconds}s")
    with Server(kind, ["--reminder-interval", "0"] if kind == "quench" else [], tag="-poll") as server:
        result = BenchRun(server, clients, seconds, "rtt", 60.0, tag="-poll", transport="polling").wait()
        result["_alive"] = server.alive()
    return result


def scenario_startup(kind, runs):
    log(f"start-up to listening: {kind} x{runs}")
    times = []
    for i in range(runs):
        with Server(kind, tag=f"-start{i}") as server:
            times.append(server.startup_seconds * 1000)
    return {"median_ms": statistics.median(times), "all_ms": times}


def scenario_idle_cpu(sessions, seconds):
    log(f"idle CPU: quench holding {sessions} sessions for {seconds}s")
    with Server("quench", tag="-idlecpu") as server:
        run = BenchRun(server, sessions, seconds + 3, "idle", 30, with_pid=False)
        run.ready.wait(60)
        time.sleep(1)  # let the last handshakes' writes drain before the window
        before = server.sample()
        time.sleep(seconds)
        after = server.sample()
        result = run.wait()
        cpu_ms = (after[0] - before[0]) * 1000 if before and after else None
        return {"cpu_ms": cpu_ms, "seconds": seconds, "connected": num(result, "connected"),
                "failures": num(result, "failures"), "alive": server.alive()}


# ---------------------------------------------------------------------------------------------- report

def fmt(value, digits=1, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}"
    else:
        text = f"{value:,}"
    return text + unit


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "—"
    value = a / b
    return f"{value:.{digits}f}×" if value >= 0.1 else f"{value:.2g}×"


def machine_lines():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lws = subprocess.run(["pkg-config", "--modversion", "libwebsockets"], capture_output=True, text=True).stdout.strip().rstrip("-")
    return [
        f"- machine: {os.cpu_count()} cores (`nproc` {os.sysconf('SC_NPROCESSORS_ONLN')}), {model}, "
        f"Linux {platform.release()}, RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)[1]}",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: `{commit}`" + (" (with uncommitted changes under Sources/ in the shared working tree)" if dirty else ""),
        f"- libwebsockets {lws or '?'}; Python {platform.python_version()}; load: quench-bench over loopback "
        f"(WebSocket unless a section says long-polling; one message in flight per connection), big runs split over processes of ≤{CLIENTS_PER_BENCH:,} clients",
    ]


def median_result(results):
    """One result standing for several rounds: the round with the median replies/s, its CPU per reply (and
    that CPU's user and kernel parts) replaced by the median of the rounds' (each median taken separately),
    every round kept."""
    ordered = sorted(results, key=lambda r: num(r, "replies_per_s") or 0)
    middle = dict(ordered[len(ordered) // 2])
    for key in ("server_us_per_reply", "server_user_us_per_reply", "server_sys_us_per_reply"):
        values = [c for c in (num(r, key) for r in results) if c is not None]
        if values:
            middle[key] = str(statistics.median(values))
    middle["failures"] = str(sum(int(num(r, "failures") or 0) for r in results))
    middle["_rounds"] = [(num(r, "replies_per_s"), num(r, "server_us_per_reply")) for r in results]
    return middle


def rtt_row(name, r):
    if r is None:
        return f"| {name} | not run | | | |"
    note = ""
    if r.get("_killed"):
        note = " (bench killed at its time limit)"
    elif num(r, "failures"):
        note = f" ({int(num(r, 'failures'))} failures)"
    rounds = r.get("_rounds")
    if rounds:
        rates = " / ".join(fmt(rate) for rate, _ in rounds)
        cpus = " / ".join(fmt(cpu) for _, cpu in rounds)
        return (f"| {name} | {fmt(num(r, 'connected'), 0)}/{fmt(num(r, 'clients'), 0)}{note} | **{fmt(num(r, 'replies_per_s'))}** "
                f"({rates}) | {r.get('p50_ms', '—')} / {r.get('p99_ms', '—')} | **{fmt(num(r, 'server_us_per_reply'))}** ({cpus}) |")
    return (f"| {name} | {fmt(num(r, 'connected'), 0)}/{fmt(num(r, 'clients'), 0)}{note} | {fmt(num(r, 'replies_per_s'))} | "
            f"{r.get('p50_ms', '—')} / {r.get('p99_ms', '—')} | {fmt(num(r, 'server_us_per_reply'))} |")


def recovery_lines(data):
    """What connection state recovery costs: CPU per reply at 1,000 clients and RSS per idle session, on beside off."""
    off, on = data["rtt"].get(("quench", 1000)) or {}, data["rtt"].get(("quench+recovery", 1000)) or {}
    idle_off, idle_on = data["idle"].get("quench") or {}, data["idle"].get("quench+recovery") or {}
    return [f"## Connection state recovery (`{' '.join(RECOVERY_FLAGS)}`) beside off", "",
            "With recovery on, every reply and the welcome carry an offset and are kept once in the namespace's log "
            "(16 MiB by default); the RTT rounds alternate with quench and the floor above.", "",
            "| quench | replies/s, 1,000 clients | server CPU µs per reply | KiB per idle session, "
            f"{data['sessions']:,} sessions |", "|---|---|---|---|",
            f"| recovery off | {fmt(num(off, 'replies_per_s'))} | {fmt(num(off, 'server_us_per_reply'))} | {fmt(idle_off.get('kib'), 2)} |",
            f"| recovery on | {fmt(num(on, 'replies_per_s'))} | {fmt(num(on, 'server_us_per_reply'))} | {fmt(idle_on.get('kib'), 2)} |",
            f"| on/off | {ratio(num(on, 'replies_per_s'), num(off, 'replies_per_s'))} | "
            f"{ratio(num(on, 'server_us_per_reply'), num(off, 'server_us_per_reply'))} | {ratio(idle_on.get('kib'), idle_off.get('kib'))} |",
            ""]


def admin_lines(data):
    """What `--admin` costs while no Admin UI is connected: CPU per reply at 50 clients, on beside off."""
    off, on = data["rtt"].get(("quench", 50)) or {}, data["rtt"].get(("quench+admin", 50)) or {}
    return [f"## Admin UI (`{' '.join(ADMIN_FLAGS)}`, no UI connected) beside off", "",
            "With nobody logged in to the admin namespace the server's observer is unset: each place that would report "
            "costs one branch, and the 2 s stats timer reads counters kept anyway. The RTT rounds alternate with quench "
            "and the floor above.", "",
            "| quench | replies/s, 50 clients | server CPU µs per reply |", "|---|---|---|",
            f"| --admin off | {fmt(num(off, 'replies_per_s'))} | {fmt(num(off, 'server_us_per_reply'))} |",
            f"| --admin on, no UI | {fmt(num(on, 'replies_per_s'))} | {fmt(num(on, 'server_us_per_reply'))} |",
            f"| on/off | {ratio(num(on, 'replies_per_s'), num(off, 'replies_per_s'))} | "
            f"{ratio(num(on, 'server_us_per_reply'), num(off, 'server_us_per_reply'))} |",
            ""]


def msgpack_lines(data):
    """What the msgpack parser costs beside JSON: replies/s and server CPU per reply at 50 and 1,000 clients."""
    lines = [f"## The msgpack parser (`{' '.join(MSGPACK_FLAGS)}`) beside JSON", "",
             "The same closed loop with every packet one msgpack binary frame (quench-bench `--parser msgpack` writes "
             "and checks the same exchange); the rounds alternate with quench and the floor above.", "",
             "| quench, clients | replies/s json | replies/s msgpack | server CPU µs per reply json | msgpack | msgpack/json CPU |",
             "|---|---|---|---|---|---|"]
    for clients in (50, 1000):
        j, m = data["rtt"].get(("quench", clients)) or {}, data["rtt"].get(("quench+msgpack", clients)) or {}
        lines.append(f"| {clients:,} | {fmt(num(j, 'replies_per_s'))} | {fmt(num(m, 'replies_per_s'))} | "
                     f"{fmt(num(j, 'server_us_per_reply'))} | {fmt(num(m, 'server_us_per_reply'))} | "
                     f"{ratio(num(m, 'server_us_per_reply'), num(j, 'server_us_per_reply'))} |")
    return lines + [""]


#: How each kind of server is named in the report.
SERVER_NAMES = {"quench": "quench", "floor": "floor", "seed": "seed", "asgi": "python-socketio+uvicorn"}


def write_report(path, data, started):
    lines = ["# Benchmarks", "", "Written by `make bench` (Tests/Bench/bench.py); every figure below comes from one run. "
             "The machines are shared and noisy: quote the ratios, measured side by side, rather than the absolute figures.",
             ""]
    lines += machine_lines()
    lines += [f"- run time: {time.monotonic() - started:.0f} s", ""]

    rtt = data["rtt"]
    lines += ["## Request/reply over WebSocket (closed loop: one `user_message` in flight per client)", "",
              f"quench and the floor alternate for {data['rtt_rounds']} rounds of {data['rtt_duration']:.0f} s at each client "
              "count; the figure in bold is the median, the rounds follow in brackets in the order run (latency: the "
              "median round's). The Python servers run once.", "",
              "| server, clients | connected | replies/s | latency p50 / p99 ms | server CPU µs per reply |",
              "|---|---|---|---|---|"]
    for clients in (50, 1000):
        for kind in ("quench", "floor", "seed", "asgi"):
            if (kind, clients) in rtt:
                lines.append(rtt_row(f"{SERVER_NAMES[kind]}, {clients:,}", rtt.get((kind, clients))))
    lines += ["", "| ratio | replies/s | CPU µs per reply |", "|---|---|---|"]
    for clients in (50, 1000):
        q, f, s = (rtt.get((k, clients)) or {} for k in ("quench", "floor", "seed"))
        lines.append(f"| quench/floor, {clients:,} clients | {ratio(num(q, 'replies_per_s'), num(f, 'replies_per_s'))} | "
                     f"{ratio(num(q, 'server_us_per_reply'), num(f, 'server_us_per_reply'))} |")
        lines.append(f"| quench/seed, {clients:,} clients | {ratio(num(q, 'replies_per_s'), num(s, 'replies_per_s'), 1)} | "
                     f"{ratio(num(q, 'server_us_per_reply'), num(s, 'server_us_per_reply'), 3)} |")
        a = rtt.get(("asgi", clients))
        if a:
            lines.append(f"| quench/python-socketio+uvicorn, {clients:,} clients | "
                         f"{ratio(num(q, 'replies_per_s'), num(a, 'replies_per_s'), 1)} | "
                         f"{ratio(num(q, 'server_us_per_reply'), num(a, 'server_us_per_reply'), 3)} |")
    seed1k = rtt.get(("seed", 1000)) or {}
    lines += ["", f"The seed app at 1,000 clients (bounded attempt: {data['seed_connect_timeout']:.0f} s to connect, then "
              f"{data['rtt_duration']:.0f} s measured): {seed_story(seed1k)}", ""]

    idle = data["idle"]
    q, f = idle.get("quench") or {}, idle.get("floor") or {}
    lines += [f"## Memory: RSS per idle session at {data['sessions']:,} sessions", "",
              "| server | connected | RSS before → with sessions | KiB per session |", "|---|---|---|---|"]
    for kind, r in (("quench", q), ("floor", f)):
        lines.append(f"| {kind} | {fmt(r.get('connected'))} ({fmt(r.get('failures'))} failures) | "
                     f"{fmt(r.get('rss_base'))} → {fmt(r.get('rss_ready'))} KiB | {fmt(r.get('kib'), 2)} |")
    lines += [f"| quench/floor | | | {ratio(q.get('kib'), f.get('kib'))} |", ""]
    lines += recovery_lines(data)
    lines += admin_lines(data)


    lines += msgpack_lines(data)

    fan = data["fanout"]
    lines += [f"## Reminder fan-out to {data['sessions']:,} sessions (every {data['interval']} s)", "",
              "Lag = wall time from the boundary until each client *has* the reminder, measured inside the bench "
              "processes: it includes their own receive work and shares the 2 cores with the server, so it is an upper "
              "bound on when the server's last write left.", "",
              "Server side: the harness reads the server's CPU time (all threads, `/proc/PID/task/*/schedstat`, ns) "
              "every ~1 ms around each boundary; *server last ran* is when that counter last moved after the boundary "
              "(nothing else runs then: no requests, no pings in the window), i.e. when its last write was done.", "",
              "| server | connected | boundaries with every client | server last ran, ms after boundary (worst) | server CPU per fan-out ms (worst) | client-seen lag p50 (worst process) / max ms | per boundary: clients reached, client max ms, server last ran ms |",
              "|---|---|---|---|---|---|---|"]
    for kind in ("quench", "floor", "quench+polling"):
        if kind not in fan:
            continue
        r = fan.get(kind) or {}
        server_side = r.get("server") or {}
        per = "; ".join(f"{e[0]:,}: {e[2]:.1f}, {fmt((server_side.get(b) or (None,))[0])}"
                        for b, e in (r.get("boundaries") or {}).items()) or "—"
        name = kind if kind != "quench+polling" else (
            f"quench, {data['sessions'] - r.get('polling', 0):,} WebSocket + {r.get('polling', 0):,} long-polling")
        note = f" ({fmt(r.get('failures'))} failures)" if r.get("failures") else ""
        lines.append(f"| {name} | {fmt(r.get('connected'))}{note} | {len(r.get('full') or {})} | {fmt(r.get('server_max_ms'))} | "
                     f"{fmt(r.get('server_cpu_ms'))} | {fmt(r.get('p50_ms'))} / {fmt(r.get('max_ms'))} | {per} |")
    fq, ff = fan.get("quench") or {}, fan.get("floor") or {}
    kernel = data.get("kernel_fanout") or {}
    lines += [f"| kernel alone: {data['sessions']:,} bare `send()` calls, no server (median of "
              f"{len(kernel.get('all_wall_ms') or [])}: {', '.join(fmt(v) for v in kernel.get('all_wall_ms') or []) or kernel.get('error', '—')} ms) "
              f"| | | {fmt(kernel.get('wall_ms'))} | {fmt(kernel.get('cpu_ms'))} | | |",
              f"| quench/floor | | | {ratio(fq.get('server_max_ms'), ff.get('server_max_ms'))} | "
              f"{ratio(fq.get('server_cpu_ms'), ff.get('server_cpu_ms'))} | {ratio(fq.get('max_ms'), ff.get('max_ms'))} (max) | |",
              f"| quench/kernel alone | | | {ratio(fq.get('server_max_ms'), kernel.get('wall_ms'))} | "
              f"{ratio(fq.get('server_cpu_ms'), kernel.get('cpu_ms'))} | | |", "",
              "*Kernel alone* is `Tests/Bench/send_floor.c`: the same number of established loopback connections, one "
              "reminder-sized `send()` on each, timed in the sending process, with a second process reading the client "
              "ends. It is what the fan-out costs before any server code runs (over loopback the sender's `send()` also "
              "pays the receiver's TCP processing), and so the least any one-thread server can take here.", ""]
    fp = fan.get("quench+polling")
    if fp:
        lines += [f"With long-polling: {fp.get('polling', 0):,} of the {data['sessions']:,} clients hold a GET open (their POST "
                  "connection is let go while they have nothing to send), and each reminder goes out as the response to "
                  "it; *server last ran* then also covers answering and holding each polling client's next GET (watched "
                  "3.5 s after each boundary). quench-bench fails a client that gets a second reminder for one boundary; "
                  f"failures: {fmt(fp.get('failures'))}"
                  + (f" (`{fp['failure_lines'][0][:140]}`)" if fp.get("failure_lines") else "") + ".", ""]
    lat = data.get("fanout_latency") or {}
    if lat:
        lines += [f"### Replies during the fan-out: {ACTIVE_CLIENTS} active clients beside {data['sessions']:,} listening", "",
                  f"Each active client sends a `user_message`, waits for its reply, pauses {ACTIVE_THINK_MS} ms and sends the "
                  "next (WebSocket; every reply is checked against the one message in flight, so a lost reply leaves its "
                  "client waiting and a reply out of order fails it). *During the fan-out* = replies in flight at some moment "
                  "of the second after a reminder boundary.", "",
                  "| server | replies (during the fan-out) | latency during the fan-out p50 / p99 / max ms | latency over the whole run p50 / p99 ms | lost (unanswered at the end) | failures |",
                  "|---|---|---|---|---|---|"]
        for kind in ("quench", "floor"):
            r = lat.get(kind) or {}
            lines.append(f"| {kind} | {fmt(num(r, 'replies'), 0)} ({fmt(num(r, 'fanout_replies'), 0)}) | "
                         f"{r.get('fanout_p50_ms', '—')} / {r.get('fanout_p99_ms', '—')} / {r.get('fanout_max_ms', '—')} | "
                         f"{r.get('p50_ms', '—')} / {r.get('p99_ms', '—')} | {fmt(num(r, 'unanswered'), 0)} | {fmt(num(r, 'failures'), 0)} |")
        q, f = lat.get("quench") or {}, lat.get("floor") or {}
        lines += [f"| quench/floor | | {ratio(num(q, 'fanout_p99_ms'), num(f, 'fanout_p99_ms'))} (p99) | | | |", ""]

    hold = data["hold"] or {}
    probes = hold.get("probes") or {}
    lines += [f"## {data['hold_sessions']:,} concurrent quench sessions held {data['hold_seconds']} s with heartbeats "
              "(`--ping-interval 10s --ping-timeout 5s`)", "",
              f"- connected: {fmt(hold.get('connected'))} of {data['hold_sessions']:,}; dropped or failed: "
              f"{fmt(hold.get('failures'))}; quench alive at the end: {hold.get('alive')}; RSS per session "
              f"{fmt(hold.get('rss_kib'), 2)} KiB; spread between bench processes' all-connected moments "
              f"{fmt(hold.get('ready_spread'), 1)} s; all {data['hold_sessions']:,} open together for "
              f"{fmt(hold.get('together'), 1)} s"]
    for line in hold.get("failure_lines") or []:
        lines.append(f"  - `{line}`")
    lines += ["", "### Past the limit", "",
              f"While the {data['hold_sessions']:,} were held, raw WebSocket upgrades were opened from the harness, "
              "and the first response line of each recorded (quench's limit is RLIMIT_NOFILE − 100 = 19,900 here, so "
              "the first batch may still fit):", ""]
    for label in ("a", "b"):
        if label in probes:
            count, outcomes, worst = probes[label]
            seen = ", ".join(f"{n} × `{k}`" for k, n in outcomes.most_common()) or "—"
            lines.append(f"- {count} more: {seen}; slowest answer {worst * 1000:.0f} ms")
    lines += [f"- quench log lines with `status=503`: {hold.get('log_503', 0)}"
              + (f" (e.g. `{hold['log_tail'][0].strip()[:160]}`)" if hold.get("log_tail") else ""),
              f"- quench alive after the probes: {probes.get('alive_after_probe')}", ""]

    wrk = data["wrk"]
    q, s = wrk.get("quench") or {}, wrk.get("seed") or {}
    lines += [f"## Polling handshakes (`wrk -t1 -c{data['wrk_connections']} -d{data['wrk_seconds']}s`, "
              "GET `/socket.io/?EIO=4&transport=polling`)", "",
              "quench runs with `--ping-interval 100ms --ping-timeout 100ms` here: wrk abandons every session it opens, "
              "and quench keeps each until its ping times out, bounded by its session limit (four per connection "
              "slot), so with default pings the limit would be reached within seconds and the rest (correctly) be 503s.", "",
              "| server | handshakes/s (2xx) | requests | non-2xx | socket errors | server CPU µs per handshake |",
              "|---|---|---|---|---|---|"]
    for kind, r in (("quench", q), ("seed", s)):
        lines.append(f"| {kind} | {fmt(r.get('rate'))} | {fmt(r.get('requests'))} | {fmt(r.get('non2xx'))} | "
                     f"{r.get('errors', '—')} | {fmt(r.get('cpu_us'))} |")
    lines += [f"| quench/seed | {ratio(q.get('rate'), s.get('rate'), 1)} | | | | {ratio(q.get('cpu_us'), s.get('cpu_us'), 3)} |", ""]

    polling = data["polling"]
    pq, pa, ps = (polling.get(kind) or {} for kind in ("quench", "asgi", "seed"))
    lines += [f"## Replies over long-polling ({data['polling_clients']} quench-bench polling clients, one user_message in "
              f"flight each, {data['polling_seconds']} s)", "",
              "Each client holds a GET open and sends on a second connection, as browsers do. The peers speak polling "
              "through python-engineio: python-socketio on uvicorn (the fastest Python stack, and the peer the target "
              "names) and the seed app (Flask-SocketIO on Werkzeug, which closes the connection after every response).", "",
              "| server, clients | connected | replies/s | latency p50 / p99 ms | server CPU µs per reply |", "|---|---|---|---|---|"]
    for kind, r in (("quench", pq), ("asgi", pa), ("seed", ps)):
        lines.append(rtt_row(f"{SERVER_NAMES[kind]}, {data['polling_clients']}", r or None))
    lines += ["", "| ratio | replies/s | CPU µs per reply |", "|---|---|---|",
              f"| quench/python-socketio+uvicorn | {ratio(num(pq, 'replies_per_s'), num(pa, 'replies_per_s'), 1)} | "
              f"{ratio(num(pq, 'server_us_per_reply'), num(pa, 'server_us_per_reply'), 3)} |",
              f"| quench/seed | {ratio(num(pq, 'replies_per_s'), num(ps, 'replies_per_s'), 1)} | "
              f"{ratio(num(pq, 'server_us_per_reply'), num(ps, 'server_us_per_reply'), 3)} |", ""]

    st = data["startup"]
    lines += cluster_bench.lines(sys.modules[__name__], data)
    lines += floors_bench.lines(sys.modules[__name__], data)

    lines += ["## Start-up and idle", "",
              "| figure | quench | floor | quench/floor |", "|---|---|---|---|",
              f"| start-up to listening, median of {data['startup_runs']} (spawn → first TCP connect, polled every 1 ms) | "
              f"{fmt(st['quench']['median_ms'], 1, ' ms')} | {fmt(st['floor']['median_ms'], 1, ' ms')} | "
              f"{ratio(st['quench']['median_ms'], st['floor']['median_ms'])} |"]
    ic = data["idle_cpu"] or {}
    lines += [f"| CPU while holding {data['idle_cpu_sessions']:,} idle sessions for {ic.get('seconds')} s (default pings) | "
              f"{fmt(ic.get('cpu_ms'), 0, ' ms')} | | |", ""]

    fair = data.get("fairness") or {}
    if fair:
        a, d = fair["alone"], fair["during"]
        lines += ["## Fairness under an event flood (issue 22)", "",
                  f"{data['fairness_clients']} WebSocket clients, 40 ms between a reply and the next message, {data['fairness_seconds']:.0f} s each run; "
                  "then the same beside one client flooding `user_message` without waiting for replies (default budgets). Bound: p99 during ≤ 2 × alone.", "",
                  "| run | replies/s | latency p50 / p99 ms |", "|---|---|---|",
                  f"| alone | {fmt(num(a, 'replies_per_s'), 0)} | {a.get('p50_ms', '—')} / {a.get('p99_ms', '—')} |",
                  f"| during the flood | {fmt(num(d, 'replies_per_s'), 0)} | {d.get('p50_ms', '—')} / {d.get('p99_ms', '—')} |",
                  f"| during / alone (p99) | | {ratio(num(d, 'p99_ms'), num(a, 'p99_ms'))} |", "",
                  f"Flooder: {fair['flooder']}", ""]

    lines += ["## Targets (issues 6, 16 and 21)", ""] + targets(data) + [""]
    lines += ["Logs of this run: `build/bench-logs/` (not committed).", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def seed_story(r):
    if not r:
        return "not run."
    connected, clients = num(r, "connected"), num(r, "clients")
    rate = num(r, "replies_per_s")
    story = f"{fmt(connected, 0)} of {fmt(clients, 0)} clients connected, {fmt(rate)} replies/s"
    if r.get("p99_ms"):
        story += f", p99 {r['p99_ms']} ms"
    if r.get("_failures"):
        story += f"; first failure: `{r['_failures'][0][9:][:140]}`"
    if r.get("_killed"):
        story += "; the bench process had to be killed at its time limit"
    if r.get("_alive") is False:
        story += "; the seed process died"
    return story + "."


def check(met, text):
    return f"- [{'x' if met else ' '}] **{'met' if met else 'not met'}** — {text}"


def targets(data):
    out = []
    rtt = data["rtt"]
    for clients in (50, 1000):
        q, f = rtt.get(("quench", clients)) or {}, rtt.get(("floor", clients)) or {}
        qc, fc = num(q, "server_us_per_reply"), num(f, "server_us_per_reply")
        qr, fr = num(q, "replies_per_s"), num(f, "replies_per_s")
        clean = not num(q, "failures")
        ok = qc is not None and fc and qc / fc <= 1.25 and clean
        out.append(check(ok, f"CPU per reply ≤ 1.25× floor at {clients:,} clients: {fmt(qc)} vs {fmt(fc)} µs = {ratio(qc, fc)}"
                         + ("" if clean else f" ({int(num(q, 'failures'))} quench failures)")))
        ok = qr is not None and fr and qr / fr >= 0.9 and clean
        out.append(check(ok, f"replies/s ≥ 0.9× floor at {clients:,} clients: {fmt(qr)} vs {fmt(fr)} = {ratio(qr, fr)}"))
    q = data["idle"].get("quench") or {}
    ok = q.get("kib") is not None and q["kib"] <= 12 and q.get("connected") == data["sessions"]
    out.append(check(ok, f"RSS per idle session ≤ 12 KiB at {data['sessions']:,}: {fmt(q.get('kib'), 2)} KiB "
                         f"({fmt(q.get('connected'))} connected)"))
    hold = data["hold"] or {}
    ok = (hold.get("connected") == data["hold_sessions"] and hold.get("failures") == 0 and hold.get("alive")
          and not hold.get("killed") and (hold.get("together") or 0) >= data["hold_seconds"])
    out.append(check(ok, f"{data['hold_sessions']:,} sessions held {data['hold_seconds']} s with heartbeats, none dropped: "
                         f"{fmt(hold.get('connected'))} connected, {fmt(hold.get('failures'))} dropped/failed, "
                         f"all open together {fmt(hold.get('together'), 1)} s"))
    probes = hold.get("probes") or {}
    statuses = collections.Counter()
    for label in ("a", "b"):
        if label in probes:
            statuses.update(probes[label][1])
    refused = sum(n for k, n in statuses.items() if " 503" in k)
    bad = sum(n for k, n in statuses.items() if " 503" not in k and " 101" not in k)
    ok = refused > 0 and bad == 0 and hold.get("log_503", 0) > 0 and probes.get("alive_after_probe") and hold.get("failures") == 0
    out.append(check(ok, f"past the limit a clean refusal (HTTP 503 + log line, no crash, no stall for the others): "
                         f"{refused} answered 503, {bad} other outcomes, {hold.get('log_503', 0)} log lines, "
                         f"held sessions dropped {fmt(hold.get('failures'))}"))
    fq, ff = data["fanout"].get("quench") or {}, data["fanout"].get("floor") or {}
    kernel = data.get("kernel_fanout") or {}
    n = f"{data['sessions']:,}"
    whole = fq.get("connected") == data["sessions"] and not fq.get("failures")
    qw, fw, kw = fq.get("server_max_ms"), ff.get("server_max_ms"), kernel.get("wall_ms")
    ok = whole and qw is not None and fw and kw and qw <= fw and qw <= 2 * kw
    out.append(check(ok, f"fan-out to {n}: server's last write ≤ 1.0× the floor's and ≤ 2× the kernel alone: {fmt(qw)} ms vs "
                         f"floor {fmt(fw)} ms = {ratio(qw, fw)}, vs kernel alone {fmt(kw)} ms = {ratio(qw, kw)}"))
    qm, fm = fq.get("max_ms"), ff.get("max_ms")
    ok = whole and qm is not None and fm and qm <= fm
    out.append(check(ok, f"fan-out to {n}: last arrival as the clients see it ≤ 1.0× the floor's: {fmt(qm)} vs {fmt(fm)} ms = {ratio(qm, fm)}"))
    qc, fc = fq.get("server_cpu_ms"), ff.get("server_cpu_ms")
    ok = whole and qc is not None and fc and qc <= 1.1 * fc
    out.append(check(ok, f"fan-out to {n}: server CPU per fan-out ≤ 1.1× the floor's: {fmt(qc)} vs {fmt(fc)} ms = {ratio(qc, fc)}"))
    lat = data.get("fanout_latency") or {}
    lq, lf = lat.get("quench") or {}, lat.get("floor") or {}
    clean = (num(lq, "fanout_replies") or 0) > 0 and not num(lq, "unanswered") and not num(lq, "failures")
    out.append(check(clean, f"replies of {ACTIVE_CLIENTS} active clients during fan-outs to {n} others: p99 "
                            f"{lq.get('fanout_p99_ms', '—')} ms (floor {lf.get('fanout_p99_ms', '—')} ms, reported), no reply lost "
                            f"or reordered: {fmt(num(lq, 'unanswered'), 0)} unanswered, {fmt(num(lq, 'failures'), 0)} failures "
                            f"in {fmt(num(lq, 'replies'), 0)} replies"))
    fp = data["fanout"].get("quench+polling") or {}
    ok = (fp.get("connected") == data["sessions"] and not fp.get("failures") and len(fp.get("full") or {}) > 0)
    out.append(check(ok, f"fan-out to {n} with {fp.get('polling', 0):,} on long-polling: every client gets each reminder once: "
                         f"{fmt(fp.get('connected'))} connected, {len(fp.get('full') or {})} boundaries reached every client, "
                         f"{fmt(fp.get('failures'))} failures (a second reminder fails a client); server's last write "
                         f"{fmt(fp.get('server_max_ms'))} ms after the boundary (reported)"))
    wq, ws = data["wrk"].get("quench") or {}, data["wrk"].get("seed") or {}
    ok = wq.get("rate") and ws.get("rate") and wq["rate"] / ws["rate"] >= 10 and wq.get("non2xx") == 0
    out.append(check(ok, f"polling handshakes ≥ 10× seed: {fmt(wq.get('rate'))} vs {fmt(ws.get('rate'))}/s = "
                         f"{ratio(wq.get('rate'), ws.get('rate'), 1)} (non-2xx: quench {fmt(wq.get('non2xx'))}, seed {fmt(ws.get('non2xx'))})"))
    pq, pa = data["polling"].get("quench") or {}, data["polling"].get("asgi") or {}
    qc, ac = num(pq, "server_us_per_reply"), num(pa, "server_us_per_reply")
    ok = qc and ac and qc / ac <= 1.25 and not num(pq, "failures") and not num(pa, "failures")
    out.append(check(ok, f"replies over polling ≤ 1.25× the CPU of a polling-capable peer (python-socketio on uvicorn): "
                         f"{fmt(qc)} vs {fmt(ac)} µs per reply = {ratio(qc, ac, 3)} (failures: quench "
                         f"{fmt(num(pq, 'failures'))}, peer {fmt(num(pa, 'failures'))})"))
    sq = data["startup"]["quench"]["median_ms"]
    out.append(check(sq <= 50, f"start-up to listening ≤ 50 ms: median {sq:.1f} ms (floor {data['startup']['floor']['median_ms']:.1f} ms)"))
    ic = data["idle_cpu"] or {}
    cpu = ic.get("cpu_ms")
    ok = cpu is not None and cpu / (ic["seconds"] * 1000) <= 0.01
    out.append(check(ok, f"idle CPU ≈ 0 (taken as ≤ 1% of a core): {fmt(cpu, 0)} ms over {ic.get('seconds')} s with "
                         f"{data['idle_cpu_sessions']:,} sessions" + (f" = {cpu / ic['seconds'] / 10:.2f}%" if cpu is not None else "")))
    out += cluster_bench.targets(sys.modules[__name__], data)
    out += floors_bench.targets(sys.modules[__name__], data)
    return out


# ------------------------------------------------------------------------------------------------- main

def preflight():
    missing = []
    if not os.path.isdir(SHARED):
        missing.append(f"the shared reference folder {SHARED} (expected beside the repository, at ../shared/reference)")
    for path, hint in ((QUENCH, "make release"), (BENCH, "swift build -c release --product quench-bench"),
                       (FLOOR, "make bench builds it from ../shared/reference/lws_floor.c"),
                       (SEND_FLOOR, "make bench builds it from Tests/Bench/send_floor.c"),
                       (SEED_PYTHON, "make bench creates .venv-seed"), (SEED_APP, "../shared/reference/seed_app.py"),
                       (ASGI_APP, "Tests/Bench/asgi_app.py")):
        if not os.path.exists(path):
            missing.append(f"{path} ({hint})")
    if not shutil.which("wrk"):
        missing.append("wrk (apt-get install wrk)")
    missing += cluster_bench.missing()
    missing += floors_bench.missing(sys.modules[__name__])
    if missing:
        sys.exit("bench: missing:\n  " + "\n  ".join(missing))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument("--quick", action="store_true", help="short durations and small counts, to test the harness")
    parser.add_argument("--only", choices=["cluster", "floors"],
                        help="run one section alone (cluster: issue 21's balancer section; floors: issue 26's long-poll and TLS floors)")
    args = parser.parse_args()
    if args.only == "cluster":
        return cluster_only(args)
    if args.only == "floors":
        return floors_only(args)
    preflight()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    quick = args.quick
    data = {
        "rtt_duration": 3.0 if quick else 10.0, "rtt_rounds": 3 if quick else 5, "seed_connect_timeout": 10.0 if quick else 20.0,
        "sessions": 3000 if quick else 15000, "interval": 5,
        "hold_sessions": 3000 if quick else 19500, "hold_seconds": 20 if quick else 60,
        "wrk_seconds": 2 if quick else 5, "wrk_connections": 32, "startup_runs": 3 if quick else 7,
        "idle_cpu_sessions": 1000, "polling_seconds": 3 if quick else 10, "polling_clients": 50, "polling": {}, "rtt": {}, "idle": {}, "fanout": {}, "wrk": {}, "hold": None, "idle_cpu": None,
    }
    try:
        data["startup"] = {kind: scenario_startup(kind, data["startup_runs"]) for kind in ("quench", "floor")}
        for clients in (50, 1000):
            # quench and the floor alternate for several rounds and each keeps its median: the 2-core machines
            # are noisy enough that one pair of samples can swing the ratio by 15%.
            rounds = collections.defaultdict(list)
            for _ in range(data["rtt_rounds"]):
                for kind in ("quench", "floor"):
                    rounds[kind].append(scenario_rtt(kind, clients, data["rtt_duration"], 30.0))
                if clients == 1000:  # the cost of connection state recovery, in the same alternation
                    rounds["quench+recovery"].append(scenario_rtt("quench", clients, data["rtt_duration"], 30.0, RECOVERY_FLAGS))
                if clients == 50:  # the cost of --admin with no Admin UI connected, in the same alternation
                    rounds["quench+admin"].append(scenario_rtt("quench", clients, data["rtt_duration"], 30.0, ADMIN_FLAGS, tag="-admin"))
                # The msgpack parser's cost beside JSON's (issue 25), in the same alternation.
                rounds["quench+msgpack"].append(
                    scenario_rtt("quench", clients, data["rtt_duration"], 30.0, MSGPACK_FLAGS, "-msgpack", MSGPACK_FLAGS))
            for kind in rounds:
                data["rtt"][(kind, clients)] = median_result(rounds[kind])
            for kind in ("seed", "asgi"):
                data["rtt"][(kind, clients)] = scenario_rtt(kind, clients, data["rtt_duration"], data["seed_connect_timeout"])
        for kind in ("quench", "floor"):
            data["idle"][kind] = scenario_idle_rss(kind, data["sessions"], 2)
        data["idle"]["quench+recovery"] = scenario_idle_rss("quench", data["sessions"], 2, RECOVERY_FLAGS)
        for kind in ("quench", "floor"):
            data["fanout"][kind] = scenario_fanout(kind, data["sessions"], data["interval"], 13)
        data["kernel_fanout"] = scenario_kernel_fanout(data["sessions"], 3)
        # 18 s: the polling clients take longer to connect, and each process's window starts when it is ready.
        data["fanout"]["quench+polling"] = scenario_fanout("quench", data["sessions"], data["interval"], 18,
                                                           polling=data["sessions"] // 3)
        data["fanout_latency"] = {kind: scenario_fanout_latency(kind, data["sessions"], data["interval"], 13)
                                  for kind in ("quench", "floor")}
        data["idle_cpu"] = scenario_idle_cpu(data["idle_cpu_sessions"], 10)
        for kind in ("quench", "seed"):
            data["wrk"][kind] = scenario_wrk(kind, data["wrk_seconds"], data["wrk_connections"])
        for kind in ("quench", "asgi", "seed"):
            data["polling"][kind] = scenario_polling_rtt(kind, data["polling_clients"], data["polling_seconds"])
        data["fairness_clients"], data["fairness_seconds"] = 50, 3.0 if quick else 10.0
        data["fairness"] = scenario_fairness(data["fairness_clients"], data["fairness_seconds"])
        data["hold"] = scenario_hold(data["hold_sessions"], data["hold_seconds"], 200, 400)
        run_cluster(data, quick)
        floors_bench.run(sys.modules[__name__], data, quick)
    finally:
        cleanup()
    write_report(args.output, data, started)
    log(f"wrote {args.output} in {time.monotonic() - started:.0f} s")
    print("\n".join(targets(data)))


def run_cluster(data, quick):
    """Issue 21's section: polling replies forwarded across three nodes beside local ones, and session moves."""
    module = sys.modules[__name__]
    data["cluster_clients"], data["cluster_seconds"] = 50, 3 if quick else 10
    data["cluster_polling"] = cluster_bench.scenario_polling(module, data["cluster_clients"], data["cluster_seconds"],
                                                             redis_rounds=1 if quick else cluster_bench.ROUNDS)
    data["cluster_moves"] = cluster_bench.scenario_moves(module, 50 if quick else 500)


def cluster_only(args):
    """`--only cluster`: the balancer section alone, written to --output (not BENCHMARKS.md's other sections)."""
    missing = [f"{path} ({hint})" for path, hint in ((QUENCH, "make release"), (BENCH, "swift build -c release --product quench-bench"))
               if not os.path.exists(path)] + cluster_bench.missing()
    if missing:
        sys.exit("bench: missing:\n  " + "\n  ".join(missing))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started, data = time.monotonic(), {}
    try:
        run_cluster(data, args.quick)
    finally:
        cleanup()
    lines = ["# Benchmarks: the cluster section alone", "", "Written by `Tests/Bench/bench.py --only cluster`.", ""]
    lines += machine_lines() + [f"- run time: {time.monotonic() - started:.0f} s", ""]
    lines += cluster_bench.lines(sys.modules[__name__], data)
    lines += ["## Target (issue 21)", ""] + cluster_bench.targets(sys.modules[__name__], data) + [""]
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    log(f"wrote {args.output}")
    print("\n".join(cluster_bench.targets(sys.modules[__name__], data)))


def floors_only(args):
    """`--only floors`: issue 26's section alone, written to --output, beside the plain WebSocket quench figures
    it compares with (the 50 and 1,000 client rounds of quench alone)."""
    module = sys.modules[__name__]
    missing = [f"{path} ({hint})" for path, hint in ((QUENCH, "make release"), (BENCH, "swift build -c release --product quench-bench"),
                                                     (FLOOR, "make bench-floors"))
               if not os.path.exists(path)] + floors_bench.missing(module)
    if missing:
        sys.exit("bench: missing:\n  " + "\n  ".join(missing))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started, quick = time.monotonic(), args.quick
    data = {"rtt_duration": 3.0 if quick else 10.0, "rtt_rounds": 3 if quick else 5, "interval": 5, "rtt": {}}
    try:
        for clients in (50, 1000):
            data["rtt"][("quench", clients)] = median_result(
                [scenario_rtt("quench", clients, data["rtt_duration"], 30.0) for _ in range(data["rtt_rounds"])])
        floors_bench.run(module, data, quick)
    finally:
        cleanup()
    lines = ["# Benchmarks: long-polling and TLS beside their floors alone", "",
             "Written by `Tests/Bench/bench.py --only floors`.", ""]
    lines += machine_lines() + [f"- run time: {time.monotonic() - started:.0f} s", ""]
    lines += floors_bench.lines(module, data)
    lines += ["## Targets (issue 26)", ""] + floors_bench.targets(module, data) + [""]
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    log(f"wrote {args.output}")
    print("\n".join(floors_bench.targets(module, data)))


if __name__ == "__main__":
    main()
