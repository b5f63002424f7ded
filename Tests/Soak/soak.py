#!/usr/bin/env python3
"""`make soak SOAK_SECONDS=N`: quench under a mixed, bounded load of real clients for N seconds, then checks
that everything it held comes back.

quench (the release build, QUENCH_BIN) runs on 127.0.0.1 with `--message-queue` on a redis-server this
script starts on a free port, reminders every 2 s and a short heartbeat (4 s + 3 s), so that clients which
vanish are dropped within the run. The load, every part of it bounded in concurrency:

- WebSocket churn: raw clients open, join, send a user_message, take the reply and leave — with a close
  frame, or by dropping the TCP connection (FIN or RST) without one;
- polling churn: the same over long-polling (aiohttp), leaving with a close packet or by vanishing;
- upgrades abandoned half-way: a polling session probes a WebSocket (`2probe`/`3probe`) and drops it;
- clients that stop reading: join, send a burst, never read again;
- clients that miss pings: join, then never answer, until quench closes them;
- steady clients that answer pings all along and count reminders and Redis emits;
- python-socketio AsyncClients (default transports: polling, then the upgrade) connecting in a loop;
- python-socketio's RedisManager emitting to everyone every second through Redis, and Redis killed and
  restarted half-way through.

Every second it records quench's RSS, open descriptors (/proc/PID/fd), session count (the app's table from
its `sessions=N` log lines, and the engine's open − closed) and CPU. When the load stops it waits, with a
deadline, for the session table to empty and the descriptors to return to the idle figure, then checks RSS
against where it settled after the warm-up (the first minute, or the first quarter of a shorter run).
Writes build/soak/report.md, soak.svg and samples.csv; exits 1 if a check fails.
"""

import argparse
import asyncio
import base64
import json
import os
import pathlib
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import soak_plot  # noqa: E402  (after sys.path)

PING_INTERVAL_S = 4
PING_TIMEOUT_S = 3
REMINDER_S = 2
RSS_SLACK_MB = 5.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, deadline_s, what):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    print(f"soak: timed out waiting for {what}", file=sys.stderr)
    return False


# -- the server's side: process figures and its log ---------------------------------------------------


class Probe:
    """Reads quench's /proc figures and follows its log for session counts."""

    def __init__(self, pid, log_path):
        self.pid = pid
        self.log_path = log_path
        self.log_offset = 0
        self.partial = b""
        self.app_sessions = 0
        self.engine_open = set()
        self.opened = 0
        self.closed = 0
        self.redis_events = []
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.last_cpu = None

    def rss_mb(self):
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        return 0.0

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_percent(self):
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / self.ticks
        now = time.monotonic()
        percent = 0.0
        if self.last_cpu:
            percent = 100.0 * (used - self.last_cpu[0]) / max(now - self.last_cpu[1], 1e-6)
        self.last_cpu = (used, now)
        return percent

    def follow_log(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            data = f.read()
            self.log_offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if " open sid=" in line:
                self.engine_open.add(line.split(" open sid=")[1].split()[0])
                self.opened += 1
            elif " close sid=" in line:
                self.engine_open.discard(line.split(" close sid=")[1].split()[0])
                self.closed += 1
            elif " sessions=" in line and (" connect sid=" in line or " disconnect sid=" in line):
                self.app_sessions = int(re.search(r" sessions=(\d+)", line).group(1))
            elif "message queue:" in line:
                self.redis_events.append(line.strip()[-160:])

    def sample(self):
        self.follow_log()
        return {
            "rss_mb": self.rss_mb(),
            "fds": self.fds(),
            "sessions": self.app_sessions,
            "engine_sessions": len(self.engine_open),
            "cpu": self.cpu_percent(),
            "opened": self.opened,
            "closed": self.closed,
        }


# -- clients --------------------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.counts = {}

    def add(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n


class WebSocket:
    """A minimal RFC 6455 client over asyncio streams (masked frames out, pings answered by the caller)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port, query):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))
        return cls(reader, writer)

    def send(self, text, opcode=1):
        payload = text.encode() if isinstance(text, str) else text
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
        self.writer.write(header + mask + masked)

    async def recv(self):
        """The next text or binary message as (opcode, bytes); None once the server closed."""
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                return None
            if opcode == 9:
                self.send(payload, opcode=10)
                continue
            if opcode in (1, 2):
                return opcode, payload

    async def recv_until(self, predicate, answer_pings=True):
        """Engine.IO packets until one satisfies `predicate`; answers Engine.IO pings on the way."""
        while True:
            message = await self.recv()
            if message is None:
                raise ConnectionError("server closed")
            text = message[1].decode(errors="replace")
            if text == "2" and answer_pings:
                self.send("3")
                continue
            if predicate(text):
                return text

    def close(self, how="close"):
        """Leaves: with a close frame, by dropping the connection (FIN), or with a reset (RST)."""
        try:
            if how == "close":
                self.send(struct.pack("!H", 1000), opcode=8)
            elif how == "rst":
                sock = self.writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.close()
        except (OSError, RuntimeError):
            pass


def reply_to(text):
    return lambda packet: packet.startswith('42["bot_message"') and text in packet


class Load:
    def __init__(self, port, stats, stop):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stats = stats
        self.stop = stop
        self.serial = 0

    def next_text(self, kind):
        self.serial += 1
        return f"soak {kind} {self.serial}"

    async def guarded(self, name, body, pause=0.0):
        """Runs `body` in a loop until the load stops; each failure is counted, never fatal."""
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(body(), 20)
                self.stats.add(name + " ok")
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                self.stats.add(name + " failed")
                self.stats.add(f"{name} failed: {type(error).__name__} {str(error)[:60]}")
            if pause:
                await asyncio.sleep(pause * random.uniform(0.5, 1.5))

    async def ws_join(self, query="EIO=4&transport=websocket"):
        ws = await WebSocket.connect(self.port, query)
        await ws.recv_until(lambda p: p.startswith("0{"))
        ws.send("40")
        await ws.recv_until(lambda p: p.startswith("40{"))
        return ws

    async def ws_churn(self):
        ws = await self.ws_join()
        try:
            text = self.next_text("ws")
            ws.send('42["user_message",' + json.dumps({"text": text}) + "]")
            await ws.recv_until(reply_to(text))
        finally:
            ws.close(random.choices(["close", "fin", "rst"], [6, 2, 2])[0])

    async def polling_churn(self, http):
        base = self.url + "/socket.io/?EIO=4&transport=polling"
        async with http.get(base) as response:
            sid = json.loads((await response.text())[1:])["sid"]
        url = f"{base}&sid={sid}"

        async def post(body):
            async with http.post(url, data=body.encode(), headers={"Content-Type": "text/plain;charset=UTF-8"}) as r:
                if r.status != 200:
                    raise ConnectionError(f"POST {r.status}")

        async def get_until(predicate):
            while True:
                async with http.get(url) as response:
                    if response.status != 200:
                        raise ConnectionError(f"GET {response.status}")
                    packets = (await response.text()).split("\x1e")
                if "2" in packets:
                    await post("3")
                if any(predicate(p) for p in packets):
                    return

        await post("40")
        await get_until(lambda p: p.startswith("40{"))
        text = self.next_text("polling")
        await post('42["user_message",' + json.dumps({"text": text}) + "]")
        await get_until(reply_to(text))
        if random.random() < 0.8:
            await post("1")
        # else: vanish; quench drops the session when its ping goes unanswered

    async def abandoned_upgrade(self, http):
        base = self.url + "/socket.io/?EIO=4&transport=polling"
        async with http.get(base) as response:
            sid = json.loads((await response.text())[1:])["sid"]
        ws = await WebSocket.connect(self.port, f"EIO=4&transport=websocket&sid={sid}")
        ws.send("2probe")
        await ws.recv_until(lambda p: p == "3probe")
        ws.close(random.choice(["close", "fin", "rst"]))  # never sends 5 (upgrade)
        if random.random() < 0.5:
            async with http.post(f"{base}&sid={sid}", data=b"1") as response:
                await response.read()

    async def non_reader(self):
        ws = await self.ws_join()
        for k in range(300):
            ws.send('42["user_message",{"text":"' + "x" * 200 + f' {k}"}}]')
        await ws.writer.drain()
        await asyncio.sleep(random.uniform(2, 6))  # reads nothing meanwhile
        ws.close("rst")

    async def ping_misser(self):
        ws = await self.ws_join()
        try:
            # Never answers a ping: quench must close it after pingInterval + pingTimeout.
            while await ws.recv() is not None:
                pass
        except asyncio.IncompleteReadError:
            pass
        finally:
            ws.close("fin")

    async def steady(self, index, counters):
        ws = await self.ws_join()
        try:
            while not self.stop.is_set():
                try:
                    packet = await asyncio.wait_for(ws.recv_until(lambda p: p.startswith("42")), 1.0)
                except asyncio.TimeoutError:
                    continue
                if "Remember to stay hydrated" in packet:
                    counters["reminders"] += 1
                elif "from redis" in packet:
                    counters["redis"] += 1
                    counters["redis_last"] = time.monotonic()
        finally:
            ws.close("close")

    async def python_socketio(self):
        import socketio

        client = socketio.AsyncClient(reconnection=False)
        got = asyncio.Event()
        text = self.next_text("python")
        client.on("bot_message", lambda data: got.set() if text in data.get("text", "") else None)
        await client.connect(self.url, wait_timeout=10)
        try:
            await client.emit("user_message", {"text": text})
            await asyncio.wait_for(got.wait(), 10)
        finally:
            await client.disconnect()


def redis_emitter(redis_port, stop, stats):
    """python-socketio's RedisManager, emitting to every client once a second; errors while Redis is
    down are counted and retried."""
    import socketio

    manager = socketio.RedisManager(f"redis://127.0.0.1:{redis_port}/0", write_only=True)
    serial = 0
    while not stop.wait(1.0):
        serial += 1
        try:
            manager.emit("bot_message", {"text": f"from redis {serial}"}, namespace="/")
            stats.add("redis emits ok")
        except Exception:  # redis-py raises several types while the server restarts
            stats.add("redis emits failed")


# -- the run --------------------------------------------------------------------------------------------


async def drive(load, args, counters, stats):
    import aiohttp

    connector = aiohttp.TCPConnector(limit=200, force_close=False)
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = [asyncio.create_task(load.steady(i, counters)) for i in range(args.steady)]
        tasks += [asyncio.create_task(load.guarded("websocket churn", load.ws_churn)) for _ in range(args.ws_churn)]
        tasks += [asyncio.create_task(load.guarded("polling churn", lambda: load.polling_churn(http)))
                  for _ in range(args.polling_churn)]
        tasks += [asyncio.create_task(load.guarded("abandoned upgrade", lambda: load.abandoned_upgrade(http), 0.2))
                  for _ in range(4)]
        tasks += [asyncio.create_task(load.guarded("non-reader", load.non_reader, 1.0)) for _ in range(3)]
        tasks += [asyncio.create_task(load.guarded("ping misser", load.ping_misser, 0.5)) for _ in range(5)]
        tasks += [asyncio.create_task(load.guarded("python-socketio", load.python_socketio, 0.1)) for _ in range(3)]
        while not load.stop.is_set():
            await asyncio.sleep(0.2)
        await asyncio.wait(tasks, timeout=30)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")))
    parser.add_argument("--quench", default=os.environ.get("QUENCH_BIN") or str(REPO / ".build" / "release" / "quench"))
    parser.add_argument("--out", default=str(REPO / "build" / "soak"))
    parser.add_argument("--ws-churn", type=int, default=24, help="concurrent WebSocket churn loops")
    parser.add_argument("--polling-churn", type=int, default=12, help="concurrent polling churn loops")
    parser.add_argument("--steady", type=int, default=20, help="clients that stay the whole run")
    parser.add_argument("--min-rate", type=float, default=200.0, help="sessions opened per second the load must reach")
    parser.add_argument("--rss-slack-mb", type=float, default=RSS_SLACK_MB,
                        help="how far above its settled figure RSS may end (a sanitizer build's quarantine needs more)")
    args = parser.parse_args()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warmup_s = min(60, max(10, args.seconds // 4))
    redis_port, quench_port = free_port(), free_port()
    redis_dir = out / "redis"
    redis_dir.mkdir(exist_ok=True)
    redis_cmd = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(redis_dir)]
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    log_path = out / "quench.log"
    quench = subprocess.Popen(
        [args.quench, "--host", "127.0.0.1", "--port", str(quench_port), "--message-queue",
         f"redis://127.0.0.1:{redis_port}/0", "--reminder-interval", f"{REMINDER_S}s",
         "--ping-interval", f"{PING_INTERVAL_S}s", "--ping-timeout", f"{PING_TIMEOUT_S}s",
         # Every client comes from 127.0.0.1; the churn alone is past the per-address handshake rate.
         "--handshake-rate", "1000000", "--handshake-burst", "1000000"],
        stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"), start_new_session=True)
    probe = Probe(quench.pid, log_path)
    failures = []
    samples = []
    events = []
    stats = Stats()
    counters = {"reminders": 0, "redis": 0, "redis_last": 0.0}
    t0 = time.monotonic()

    lock = threading.Lock()
    phase = ["idle"]

    def record():
        with lock:
            sample = probe.sample()
            sample["t"] = time.monotonic() - t0
            sample["phase"] = phase[0]
            samples.append(sample)
            return sample

    def set_phase(name):
        with lock:
            phase[0] = name

    def mark(name):
        """An event drawn on the plot."""
        events.append((time.monotonic() - t0, name))

    sampling = threading.Event()

    def sampler():
        """One sample a second, whatever the main thread is waiting for."""
        next_tick = time.monotonic()
        while not sampling.is_set():
            next_tick += 1.0
            sampling.wait(max(0.0, next_tick - time.monotonic()))
            if quench.poll() is None and not sampling.is_set():
                record()

    redis_box = [redis]

    def restart_redis():
        mark("Redis killed")
        redis_box[0].kill()
        redis_box[0].wait()
        time.sleep(2.0)  # Redis stays down a while, as after a crash; quench retries meanwhile
        redis_box[0] = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
        restarted[0] = time.monotonic()
        mark("Redis back")

    restarted = [None]
    try:
        if not wait_until(lambda: "subscribed to channel" in log_path.read_text(errors="replace"), 15,
                          "quench to listen and subscribe"):
            raise SystemExit(1)
        record()
        idle = record()
        idle_fds = idle["fds"]
        print(f"soak: quench pid {quench.pid} on port {quench_port}, redis on {redis_port}; idle: "
              f"{idle_fds} descriptors, {idle['rss_mb']:.1f} MB; load for {args.seconds} s (warm-up {warmup_s} s)")
        sampler_thread = threading.Thread(target=sampler, daemon=True)
        sampler_thread.start()

        stop = threading.Event()
        load = Load(quench_port, stats, stop)
        loop_thread = threading.Thread(target=lambda: asyncio.run(drive(load, args, counters, stats)), daemon=True)
        emitter = threading.Thread(target=redis_emitter, args=(redis_port, stop, stats), daemon=True)
        load_start = time.monotonic()
        set_phase("warm-up")
        mark("load starts")
        loop_thread.start()
        emitter.start()
        settled_rss = None
        restart_thread = None
        while time.monotonic() - load_start < args.seconds:
            time.sleep(0.2)
            elapsed = time.monotonic() - load_start
            if settled_rss is None and elapsed >= warmup_s:
                settled_rss = probe.rss_mb()
                set_phase("load")
                mark("warm-up ends")
            if restart_thread is None and elapsed >= args.seconds / 2:
                restart_thread = threading.Thread(target=restart_redis, daemon=True)
                restart_thread.start()
            if quench.poll() is not None:
                failures.append(f"quench exited with status {quench.returncode} during the load")
                break
        stop.set()
        set_phase("drain")
        mark("load stops")
        loop_thread.join(60)
        emitter.join(10)
        if restart_thread:
            restart_thread.join(30)
        redis = redis_box[0]
        redis_restarted = restarted[0]
        load_seconds = time.monotonic() - load_start

        # Drain: every client is gone; vanished ones leave when their heartbeat runs out.
        drain_deadline = time.monotonic() + 3 * (PING_INTERVAL_S + PING_TIMEOUT_S) + 30
        while time.monotonic() < drain_deadline and quench.poll() is None:
            time.sleep(0.5)
            last = samples[-1]
            if last["sessions"] == 0 and last["engine_sessions"] == 0 and last["fds"] <= idle_fds:
                break
        # Ten more seconds of quiet, so the last figures are a settled idle, not a passing moment.
        set_phase("idle after")
        time.sleep(10.0)
        sampling.set()
        sampler_thread.join(5)
        final = record() if quench.poll() is None else samples[-1]

        opened = final["opened"]
        rate = opened / max(load_seconds, 1.0)
        if quench.poll() is not None:
            failures.append(f"quench is not running (status {quench.returncode})")
        if final["sessions"] != 0:
            failures.append(f"session table holds {final['sessions']} sessions after the load")
        if final["engine_sessions"] != 0:
            failures.append(f"{final['engine_sessions']} engine sessions opened and never closed")
        if final["fds"] != idle_fds:
            failures.append(f"{final['fds']} descriptors open after the load, {idle_fds} when idle")
        if settled_rss is None:
            failures.append("the load ended before the warm-up did")
        elif final["rss_mb"] > settled_rss + args.rss_slack_mb:
            failures.append(f"RSS {final['rss_mb']:.1f} MB after the load, settled at {settled_rss:.1f} MB "
                            f"(more than {args.rss_slack_mb:.0f} MB above)")
        if rate < args.min_rate:
            failures.append(f"only {rate:.0f} sessions opened per second (at least {args.min_rate:.0f} asked)")
        if counters["reminders"] == 0:
            failures.append("no steady client got a reminder")
        if redis_restarted is not None and counters["redis_last"] < redis_restarted:
            failures.append("no Redis emit reached a client after Redis came back")
        for name in ("websocket churn", "polling churn", "python-socketio"):
            ok, failed = stats.counts.get(name + " ok", 0), stats.counts.get(name + " failed", 0)
            if ok == 0 or failed > 0.01 * (ok + failed):
                failures.append(f"{name}: {ok} ok, {failed} failed (more than 1%)")
        summary = {
            "seconds": args.seconds, "load_seconds": load_seconds, "warmup_s": warmup_s, "idle_fds": idle_fds,
            "idle_rss": idle["rss_mb"], "settled_rss": settled_rss, "final": final, "opened": opened,
            "closed": final["closed"], "rate": rate, "counters": counters, "stats": stats.counts,
            "peak_rss": max(s["rss_mb"] for s in samples), "peak_fds": max(s["fds"] for s in samples),
            "peak_sessions": max(s["sessions"] for s in samples), "redis_log": probe.redis_events[-6:],
        }
    finally:
        sampling.set()
        redis = redis_box[0]
        if quench.poll() is None:
            quench.send_signal(signal.SIGTERM)
            try:
                quench.wait(15)
            except subprocess.TimeoutExpired:
                quench.kill()
                failures.append("quench did not exit within 15 s of SIGTERM")
        if redis.poll() is None:
            redis.terminate()
            redis.wait(10)

    if quench.returncode not in (0, None):
        failures.append(f"quench exited with status {quench.returncode} on SIGTERM")
    summary["rss_slack_mb"] = args.rss_slack_mb
    soak_plot.write_reports(out, samples, events, summary, failures)
    if not failures:  # a passing run's log is only its last lines (a long run writes hundreds of MB)
        tail = log_path.read_bytes().split(b"\n")[-2000:]
        log_path.write_bytes(b"\n".join(tail))
    print(f"soak: report in {out / 'report.md'}, plot in {out / 'soak.svg'}, quench's log in {log_path}")
    if failures:
        for failure in failures:
            print(f"soak: FAILED: {failure}")
        sys.exit(1)
    print(f"soak: passed: {opened} sessions in {load_seconds:.0f} s ({rate:.0f}/s), table empty, "
          f"{final['fds']} descriptors (idle {idle_fds}), RSS {final['rss_mb']:.1f} MB (settled {settled_rss:.1f} MB)")


if __name__ == "__main__":
    main()
