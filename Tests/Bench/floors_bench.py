"""`make bench`, section "every path at the floor's cost" (issue 26): long-polling and TLS, each beside a floor.

- The long-poll floor (Tests/Bench/poll_floor.c, build/poll_floor): the least an Engine.IO long-polling chat
  server on lws 4.1 must do. quench and it alternate for the rounds of bench.py's WebSocket section at 50 and
  1,000 quench-bench polling clients (CPU per reply), then each fans a reminder out to N clients that are all on
  long-polling (the server's last write after the boundary, and every client must get it once).
- The TLS floor (Tests/Bench/tls_floor.c, build/tls_floor): ../shared/reference/lws_floor.c itself with TLS on,
  the same certificate and key as quench's `--tls-cert`/`--tls-key` (made once into build/bench-tls/ with
  openssl). quench and it alternate at 50 and 1,000 wss:// clients, fan a reminder out to N wss:// clients, and
  take N wss:// connections (TLS handshake, WebSocket upgrade, Engine.IO open and Socket.IO CONNECT) for the
  handshake rate and the server's CPU per handshake.

Standard library only, like bench.py, whose process helpers (Server, BenchRun, run_many, scenario_fanout) it uses.
"""

import collections
import os
import shutil
import subprocess
import time

POLL_FLOOR_SOURCE = os.path.join("Tests", "Bench", "poll_floor.c")
TLS_FLOOR_SOURCE = os.path.join("Tests", "Bench", "tls_floor.c")


def tls_files(b):
    """The bench's certificate and key (self-signed, RSA 2048, as the interop tests make theirs), made once."""
    folder = os.path.join(b.ROOT, "build", "bench-tls")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "30", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


def missing(b):
    out = [f"{path} (make bench builds it from {source})" for path, source in
           ((b.POLL_FLOOR, POLL_FLOOR_SOURCE), (b.TLS_FLOOR, TLS_FLOOR_SOURCE)) if not os.path.exists(path)]
    if not shutil.which("openssl"):
        out.append("openssl (for the TLS section's certificate)")
    return out


# ---------------------------------------------------------------------------------------------- scenarios

def polling_rtt(b, kind, clients, seconds):
    b.log(f"polling rtt beside the long-poll floor: {kind} with {clients} clients for {seconds}s")
    with b.Server(kind, ["--reminder-interval", "0"] if kind == "quench" else [], tag="-pollfloor") as server:
        result = b.BenchRun(server, clients, seconds, "rtt", 60.0, tag="-pollfloor", transport="polling").wait()
        result["_alive"] = server.alive()
    return result


def tls_rtt(b, kind, clients, seconds):
    b.log(f"wss:// rtt beside the TLS floor: {kind} with {clients} clients for {seconds}s")
    with b.Server(kind, tag="-tls", tls=True) as server:
        result = b.BenchRun(server, clients, seconds, "rtt", 60.0, tag="-tls").wait()
        result["_alive"] = server.alive()
    return result


def tls_handshakes(b, kind, clients):
    """`clients` wss:// clients connect as fast as quench-bench connects them: handshakes/s from the bench
    process's start to its READY line, and the server's CPU per handshake over the same span."""
    b.log(f"wss:// handshakes: {clients} to {kind}")
    with b.Server(kind, tag="-tlshs", tls=True) as server:
        before, started = server.cpu_ns(), time.monotonic()
        run = b.BenchRun(server, clients, 1.0, "idle", 60.0, with_pid=False, tag="-tlshs")
        run.ready.wait(90)
        at_ready, ready_at = server.cpu_ns(), run.ready_at
        result = run.wait()
        connected = int(b.num(result, "connected") or 0)
        seconds = ready_at - started if ready_at else None
        return {"connected": connected, "failures": int(b.num(result, "failures") or 0), "seconds": seconds,
                "rate": connected / seconds if seconds and connected else None,
                "cpu_us": (at_ready - before) / 1000 / connected if connected and before is not None and at_ready else None,
                "alive": server.alive()}


def run(b, data, quick):
    """Both floors' scenarios, into data["floors"]; the rounds alternate as in bench.py's WebSocket section."""
    seconds, rounds = data["rtt_duration"], data["rtt_rounds"]
    sessions = 1000 if quick else 5000
    floors = data["floors"] = {"sessions": sessions, "poll_rtt": {}, "tls_rtt": {}, "fanout": {}, "handshakes": {}}
    for clients in (50, 1000):
        for section, kinds, scenario in (("poll_rtt", ("quench", "pollfloor"), polling_rtt), ("tls_rtt", ("quench", "floor"), tls_rtt)):
            samples = collections.defaultdict(list)
            for _ in range(rounds):
                for kind in kinds:
                    samples[kind].append(scenario(b, kind, clients, seconds))
            for kind in kinds:
                floors[section][(kind, clients)] = b.median_result(samples[kind])
    for kind in ("quench", "pollfloor"):
        floors["fanout"][("polling", kind)] = b.scenario_fanout(kind, sessions, data["interval"], 18, polling=sessions)
    for kind in ("quench", "floor"):
        floors["fanout"][("tls", kind)] = b.scenario_fanout(kind, sessions, data["interval"], 13, tls=True)
    for kind in ("quench", "floor"):
        floors["handshakes"][kind] = tls_handshakes(b, kind, 200 if quick else 1000)


# ------------------------------------------------------------------------------------------------- report

def lines(b, data):
    floors = data.get("floors")
    if not floors:
        return []
    n = f"{floors['sessions']:,}"
    out = ["## Every path beside its floor: long-polling and TLS (issue 26)", "",
           "The long-poll floor is `Tests/Bench/poll_floor.c`; the TLS floor is `Tests/Bench/tls_floor.c` (the WebSocket "
           "floor with TLS on, the same certificate as quench's `--tls-cert`). quench and each floor alternate for "
           f"{data['rtt_rounds']} rounds of {data['rtt_duration']:.0f} s; bold is the median, the rounds follow in brackets.", "",
           "| path, server, clients | connected | replies/s | latency p50 / p99 ms | server CPU µs per reply |",
           "|---|---|---|---|---|"]
    for section, label, kinds in (("poll_rtt", "long-polling", (("quench", "quench"), ("pollfloor", "long-poll floor"))),
                                  ("tls_rtt", "wss://", (("quench", "quench"), ("floor", "TLS floor")))):
        for clients in (50, 1000):
            for kind, name in kinds:
                out.append(b.rtt_row(f"{label}, {name}, {clients:,}", floors[section].get((kind, clients))))
    out += ["", "| ratio | replies/s | CPU µs per reply |", "|---|---|---|"]
    for section, label, floor in (("poll_rtt", "long-polling quench/floor", "pollfloor"), ("tls_rtt", "wss:// quench/floor", "floor")):
        for clients in (50, 1000):
            q, f = floors[section].get(("quench", clients)) or {}, floors[section].get((floor, clients)) or {}
            out.append(f"| {label}, {clients:,} clients | {b.ratio(b.num(q, 'replies_per_s'), b.num(f, 'replies_per_s'))} | "
                       f"{b.ratio(b.num(q, 'server_us_per_reply'), b.num(f, 'server_us_per_reply'))} |")
    for clients in (50, 1000):
        p, w = floors["poll_rtt"].get(("quench", clients)) or {}, data["rtt"].get(("quench", clients)) or {}
        out.append(f"| quench long-polling/WebSocket, {clients:,} clients | | "
                   f"{b.ratio(b.num(p, 'server_us_per_reply'), b.num(w, 'server_us_per_reply'))} |")
    out += split_lines(b, data)
    out += ["", f"### Reminder fan-out to {n} long-polling or wss:// clients", "",
            "As in the fan-out section above: *server last ran* is when the server's CPU counter last moved after the "
            "boundary (long-polling: watched 3.5 s, which covers answering each client's next GET).", "",
            "| clients, server | connected | boundaries with every client | server last ran, ms after boundary (worst) | "
            "server CPU per fan-out ms (worst) | client-seen lag max ms |", "|---|---|---|---|---|---|"]
    fan = floors["fanout"]
    for (path, kind), name in ((("polling", "quench"), "long-polling, quench"), (("polling", "pollfloor"), "long-polling, long-poll floor"),
                               (("tls", "quench"), "wss://, quench"), (("tls", "floor"), "wss://, TLS floor")):
        r = fan.get((path, kind)) or {}
        note = f" ({b.fmt(r.get('failures'))} failures)" if r.get("failures") else ""
        out.append(f"| {name} | {b.fmt(r.get('connected'))}{note} | {len(r.get('full') or {})} | {b.fmt(r.get('server_max_ms'))} | "
                   f"{b.fmt(r.get('server_cpu_ms'))} | {b.fmt(r.get('max_ms'))} |")
    for path, floor in (("polling", "pollfloor"), ("tls", "floor")):
        q, f = fan.get((path, "quench")) or {}, fan.get((path, floor)) or {}
        out.append(f"| {'long-polling' if path == 'polling' else 'wss://'} quench/floor | | | "
                   f"{b.ratio(q.get('server_max_ms'), f.get('server_max_ms'))} | {b.ratio(q.get('server_cpu_ms'), f.get('server_cpu_ms'))} | "
                   f"{b.ratio(q.get('max_ms'), f.get('max_ms'))} |")
    hs = floors["handshakes"]
    out += ["", "### wss:// handshakes", "",
            "One quench-bench process opens the connections as fast as it can (TLS handshake, WebSocket upgrade, Engine.IO "
            "open, Socket.IO CONNECT and welcome); handshakes/s from its start to its READY line, CPU from the server's "
            "schedstat over the same span.", "",
            "| server | connected | handshakes/s | server CPU µs per handshake |", "|---|---|---|---|"]
    for kind, name in (("quench", "quench"), ("floor", "TLS floor")):
        r = hs.get(kind) or {}
        out.append(f"| {name} | {b.fmt(r.get('connected'))} ({b.fmt(r.get('failures'))} failures) | {b.fmt(r.get('rate'))} | "
                   f"{b.fmt(r.get('cpu_us'))} |")
    q, f = hs.get("quench") or {}, hs.get("floor") or {}
    out += [f"| quench/floor | | {b.ratio(q.get('rate'), f.get('rate'))} | {b.ratio(q.get('cpu_us'), f.get('cpu_us'))} |", ""]
    return out


def split_lines(b, data):
    """Each reply's CPU in user space and in the kernel, and what that leaves for the "polling ≤ 2× quench's own
    WebSocket" target: a polling reply makes two requests and two responses where a WebSocket reply makes one
    frame each way, so its kernel time alone is most of that budget, whatever the server's own code costs."""
    floors = data["floors"]
    rows = [("WebSocket", "quench", data["rtt"], "quench"), ("WebSocket", "WebSocket floor", data["rtt"], "floor"),
            ("long-polling", "quench", floors["poll_rtt"], "quench"), ("long-polling", "long-poll floor", floors["poll_rtt"], "pollfloor")]
    out = ["", "Where each reply's CPU goes (the medians of the same rounds; kernel time is the system calls and the loopback TCP "
           "work they do, user time is the server's code and lws's):", "",
           "| path, server, clients | user µs per reply | kernel µs per reply |", "|---|---|---|"]
    for clients in (50, 1000):
        for path, name, section, kind in rows:
            r = section.get((kind, clients))
            if r:
                out.append(f"| {path}, {name}, {clients:,} | {b.fmt(b.num(r, 'server_user_us_per_reply'))} | "
                           f"{b.fmt(b.num(r, 'server_sys_us_per_reply'))} |")
    for clients in (50, 1000):
        w, p, f = data["rtt"].get(("quench", clients)), floors["poll_rtt"].get(("quench", clients)), floors["poll_rtt"].get(("pollfloor", clients))
        whole, kernel = b.num(w, "server_us_per_reply"), b.num(p, "server_sys_us_per_reply")
        floor_user = b.num(f, "server_user_us_per_reply")
        if whole and kernel is not None and floor_user is not None:
            out.append("")
            out.append(f"At {clients:,} clients a polling reply's kernel time alone is {b.fmt(kernel)} µs, {b.ratio(kernel, whole)} quench's whole "
                       f"WebSocket reply ({b.fmt(whole)} µs). Within 2× of that reply, quench's user-space code and lws's together would "
                       f"have {b.fmt(max(2 * whole - kernel, 0))} µs a reply; the long-poll floor's user time is {b.fmt(floor_user)} µs.")
    return out


def targets(b, data):
    floors = data.get("floors")
    if not floors:
        return []
    out = []
    for clients in (50, 1000):
        q, f = floors["poll_rtt"].get(("quench", clients)) or {}, floors["poll_rtt"].get(("pollfloor", clients)) or {}
        w = data["rtt"].get(("quench", clients)) or {}
        qc, fc, wc = (b.num(r, "server_us_per_reply") for r in (q, f, w))
        clean = not b.num(q, "failures") and b.num(q, "connected") == clients
        ok = clean and qc is not None and fc and qc / fc <= 1.25
        out.append(b.check(ok, f"long-polling CPU per reply ≤ 1.25× the long-poll floor's at {clients:,} clients: "
                               f"{b.fmt(qc)} vs {b.fmt(fc)} µs = {b.ratio(qc, fc)}"))
        ok = clean and qc is not None and wc and qc / wc <= 2
        out.append(b.check(ok, f"long-polling CPU per reply ≤ 2× quench's own over WebSocket at {clients:,} clients: "
                               f"{b.fmt(qc)} vs {b.fmt(wc)} µs = {b.ratio(qc, wc)}"))
    n, fan = floors["sessions"], floors["fanout"]
    q, f = fan.get(("polling", "quench")) or {}, fan.get(("polling", "pollfloor")) or {}
    whole = q.get("connected") == n and not q.get("failures") and len(q.get("full") or {}) > 0
    qw, fw = q.get("server_max_ms"), f.get("server_max_ms")
    ok = whole and qw is not None and fw and qw <= 1.25 * fw
    out.append(b.check(ok, f"reminder to {n:,} long-polling clients: last write ≤ 1.25× the floor's, every client once: "
                           f"{b.fmt(qw)} vs {b.fmt(fw)} ms = {b.ratio(qw, fw)}; {b.fmt(q.get('connected'))} connected, "
                           f"{len(q.get('full') or {})} boundaries reached every client, {b.fmt(q.get('failures'))} failures"))
    for clients in (50, 1000):
        q, f = floors["tls_rtt"].get(("quench", clients)) or {}, floors["tls_rtt"].get(("floor", clients)) or {}
        qc, fc = b.num(q, "server_us_per_reply"), b.num(f, "server_us_per_reply")
        ok = not b.num(q, "failures") and qc is not None and fc and qc / fc <= 1.1
        out.append(b.check(ok, f"wss:// CPU per reply ≤ 1.1× the TLS floor's at {clients:,} clients: {b.fmt(qc)} vs {b.fmt(fc)} µs = {b.ratio(qc, fc)}"))
    q, f = fan.get(("tls", "quench")) or {}, fan.get(("tls", "floor")) or {}
    whole = q.get("connected") == n and not q.get("failures") and len(q.get("full") or {}) > 0
    qw, fw = q.get("server_max_ms"), f.get("server_max_ms")
    ok = whole and qw is not None and fw and qw <= fw
    out.append(b.check(ok, f"reminder to {n:,} wss:// clients: last write ≤ 1.0× the TLS floor's: {b.fmt(qw)} vs {b.fmt(fw)} ms = {b.ratio(qw, fw)}"))
    hq, hf = floors["handshakes"].get("quench") or {}, floors["handshakes"].get("floor") or {}
    out.append(b.check(bool(hq.get("rate") and hf.get("rate")),
                       f"wss:// handshakes/s reported beside the TLS floor's: {b.fmt(hq.get('rate'))} vs {b.fmt(hf.get('rate'))}/s "
                       f"= {b.ratio(hq.get('rate'), hf.get('rate'))}; CPU per handshake {b.fmt(hq.get('cpu_us'))} vs {b.fmt(hf.get('cpu_us'))} µs"))
    return out
