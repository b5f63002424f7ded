#!/usr/bin/env python3
"""`make fuzz`'s HTTP target: random sequences of well-formed and malformed HTTP/1.1 requests, pipelined on
one connection, split at random points, sometimes abandoned half-way, against the real quench binary on
loopback. It fails when the server stops answering /healthz within a second, exits, or does not exit 0 on
SIGTERM at the end; the sequence that did it is written as a reproducer (replay it with --replay FILE).

    Tests/Fuzz/http_sequences.py --quench .build/release/quench --seconds 20 --out build/fuzz
    Tests/Fuzz/http_sequences.py --quench .build/release/quench --replay build/fuzz/crashes/http/NAME.json
"""

import argparse
import base64
import json
import os
import random
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Interop"))
from raw_http import SIO, UNKNOWN_SID, get, handshake, healthz_status, poll, post, read_responses  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Requests:
    """Random requests: the kinds quench serves, and the ways a client can get them wrong."""

    def __init__(self, rng: random.Random, port: int):
        self.rng = rng
        self.port = port
        self.sids = []

    def sid(self) -> str:
        roll = self.rng.random()
        if roll < 0.3 or not self.sids:
            try:
                self.sids.append(handshake(self.port))
                del self.sids[:-20]
            except (OSError, AssertionError, IndexError, ValueError):
                return UNKNOWN_SID
        if roll < 0.8:
            return self.rng.choice(self.sids)
        return self.rng.choice([UNKNOWN_SID, "", "x" * 300, "a:b*", "%00"])

    def body(self) -> bytes:
        return self.rng.choice([b"40", b"3", b"1", b"6", b"", b"zz", b"42[\"user_message\",\"hi\"]", b"4" * 64,
                                b"\x1e\x1e", b"b" + b"A" * 30, bytes(self.rng.randrange(256) for _ in range(12))])

    def header_noise(self) -> bytes:
        options = [b"", b"Connection: close\r\n", b"Connection: keep-alive\r\n", b"Expect: 100-continue\r\n",
                   b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
                   b"Upgrade: websocket\r\nConnection: Upgrade\r\n", b"Upgrade: foo\r\nConnection: Upgrade\r\n",
                   b"Origin: http://example.com\r\n", b"Transfer-Encoding: chunked\r\n", b"Content-Length: 0\r\n",
                   b"Content-Length: -1\r\n", b"Content-Length: 99999999999\r\n", b"X-Big: " + b"a" * 3000 + b"\r\n",
                   b"Cookie: " + b"c" * 9000 + b"\r\n", b"Bad header line\r\n"]
        return b"".join(self.rng.choice(options) for _ in range(self.rng.randrange(3)))

    def one(self) -> bytes:
        rng = self.rng
        kind = rng.randrange(14)
        extra = self.header_noise()
        if kind == 0:
            return get(rng.choice(["/healthz", "/metrics", "/", "/nope", "/socket.io/", "/socket.io/x"]), extra)
        if kind == 1:
            return get(SIO, extra)
        if kind == 2:
            return get(poll(self.sid()), extra)
        if kind in (3, 4):
            return post(poll(self.sid()), self.body(), extra)
        if kind == 5:  # a Content-Length that does not match the body
            body = self.body()
            return (f"POST {poll(self.sid())} HTTP/1.1\r\nHost: q\r\nContent-Length: {len(body) + rng.choice([-1, 1, 5])}\r\n\r\n"
                    .encode() + body)
        if kind == 6:
            method = rng.choice(["PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "FOO"])
            body = self.body() if rng.random() < 0.5 else b""
            length = f"Content-Length: {len(body)}\r\n".encode() if body or rng.random() < 0.5 else b""
            return f"{method} {rng.choice([SIO, '/healthz', '/'])} HTTP/1.1\r\nHost: q\r\n".encode() + length + extra + b"\r\n" + body
        if kind == 7:
            return rng.choice([b"GET / HTTP/1.0\r\n\r\n", b"GET /healthz\r\n\r\n", b"\r\n\r\n", b"GET  HTTP/1.1\r\n\r\n",
                               b"get /healthz http/1.1\r\n\r\n", b"GET /healthz HTTP/9.9\r\nHost: q\r\n\r\n",
                               b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"])
        if kind == 8:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        if kind == 9:  # a chunked body that is never finished, or is
            return (f"POST {poll(self.sid())} HTTP/1.1\r\nHost: q\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n40\r\n"
                    .encode() + rng.choice([b"", b"0\r\n\r\n"]))
        if kind == 10:  # a WebSocket upgrade, with or without a key
            key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" if rng.random() < 0.7 else b""
            return get(SIO.replace("polling", "websocket"), b"Upgrade: websocket\r\nConnection: Upgrade\r\n" + key)
        if kind == 11:  # query strings that decode oddly
            return get(rng.choice([SIO + "&sid=%", SIO + "&EIO=3", "/socket.io/?EIO=4&transport=polling&t=%ZZ",
                                   "/socket.io/?" + "a=b&" * 300]), extra)
        if kind == 12:  # headers only, body never sent (held until the body deadline)
            return f"POST {poll(self.sid())} HTTP/1.1\r\nHost: q\r\nContent-Length: 50\r\n\r\n".encode()
        return get("/healthz", extra)

    def sequence(self) -> dict:
        data = b"".join(self.one() for _ in range(self.rng.randrange(1, 6)))
        cuts = sorted(self.rng.sample(range(1, len(data)), min(len(data) - 1, self.rng.randrange(4)))) if len(data) > 1 else []
        # Abandon: close the connection after sending this many bytes, without reading (None: send all, read).
        abandon = self.rng.choice([None, None, None, self.rng.randrange(len(data) + 1)])
        return {"data": base64.b64encode(data).decode(), "cuts": cuts, "abandon": abandon,
                "keep_open": self.rng.random() < 0.05}


def play(port: int, step: dict, kept: list):
    data = base64.b64decode(step["data"])
    abandon = step["abandon"]
    if abandon is not None:
        data = data[:abandon]
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    offsets = [0, *[cut for cut in step["cuts"] if cut < len(data)], len(data)]
    try:
        for start, end in zip(offsets, offsets[1:]):
            sock.sendall(data[start:end])
            time.sleep(0.002)  # pacing between the pieces, so that they arrive in separate reads
        if abandon is None:
            read_responses(sock, expect=8, timeout=0.2)
    except OSError:
        pass
    if step["keep_open"] and len(kept) < 40:
        kept.append(sock)  # idle connections the server must close at its own deadlines
    else:
        sock.close()


def start(quench: str, port: int, log_path: str):
    log = open(log_path, "ab")
    proc = subprocess.Popen([quench, "--host", "127.0.0.1", "--port", str(port), "--metrics", "--ping-interval", "500ms",
                             "--ping-timeout", "1s", "--reminder-interval", "0", "--log-level", "warn"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while healthz_status(port, 0.5) != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"http fuzz: quench did not start (see {log_path})")
        time.sleep(0.05)
    return proc


def healthy(proc, port: int):
    """None when the server is alive and answers /healthz within a second; else why not."""
    if proc.poll() is not None:
        return f"quench exited with {proc.returncode}"
    status = healthz_status(port, 1.0)
    return None if status == 200 else f"/healthz answered {status} instead of 200 within 1 s"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quench", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", default="build/fuzz")
    parser.add_argument("--replay", default=None, help="a reproducer written by an earlier run")
    args = parser.parse_args()

    crashes = os.path.join(args.out, "crashes", "http")
    os.makedirs(crashes, exist_ok=True)
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    log_path = os.path.join(args.out, "logs", "http.log")
    open(log_path, "wb").close()
    port = free_port()
    proc = start(args.quench, port, log_path)
    kept = []
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    requests = Requests(rng, port)
    history = []
    failure = None
    runs = 0
    try:
        if args.replay:
            with open(args.replay) as file:
                steps = json.load(file)["steps"]
        else:
            steps = None
        deadline = time.monotonic() + args.seconds
        while failure is None:
            if steps is not None:
                if runs == len(steps):
                    break
                step = steps[runs]
            elif time.monotonic() >= deadline:
                break
            else:
                step = requests.sequence()
            history.append(step)
            del history[:-50]
            play(port, step, kept)
            runs += 1
            failure = healthy(proc, port)
        if failure is None:
            for sock in kept:
                sock.close()
            proc.send_signal(15)
            try:
                code = proc.wait(timeout=5)
                if code != 0:
                    failure = f"quench exited {code} on SIGTERM"
            except subprocess.TimeoutExpired:
                failure = "quench did not exit within 5 s of SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if failure is None:
        print(f"fuzz http: {runs} sequences (seed {seed}), 0 failures")
        return 0
    name = os.path.join(crashes, f"seed-{seed}-run-{runs}.json")
    with open(name, "w") as file:
        json.dump({"failure": failure, "seed": seed, "steps": history}, file)
    print(f"fuzz http: {runs} sequences (seed {seed}), FAILED: {failure}; reproducer: {name} "
          f"(the last {len(history)} sequences; --replay it); log: {log_path}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
