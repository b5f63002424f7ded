"""HTTP/1.1 at the byte level, for the tests and the fuzzer that drive quench with pipelined requests on one
connection: request builders for every kind of request quench answers, a response reader that parses
responses as they arrive (and notices the end of the connection), and the server-health probes that say
whether the service thread is still free."""

import socket
import time

SIO = "/socket.io/?EIO=4&transport=polling"
UNKNOWN_SID = "AAAAAAAAAAAAAAAAAAAA"


def get(path: str, extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: quench\r\n" + extra + b"\r\n"


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: quench\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n" + extra + b"\r\n" + body)


def poll(sid: str) -> str:
    return f"{SIO}&sid={sid}"


def handshake(port: int) -> str:
    """A new polling session's sid, over a connection of its own."""
    responses, _ = exchange(port, get(SIO), expect=1)
    status, _, body = responses[0]
    assert status == 200 and body.startswith(b"0{"), (status, body)
    start = body.index(b'"sid":"') + 7
    return body[start:start + 20].decode()


def read_responses(sock: socket.socket, expect: int, timeout: float):
    """Responses (status, headers, body) read from `sock` until `expect` of them arrived, the peer closed,
    or `timeout` passed; returns (responses, closed)."""
    deadline = time.monotonic() + timeout
    data = b""
    responses = []
    closed = False
    while len(responses) < expect:
        # Parse whatever is complete.
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(data) >= end + 4 + length:
                status = int(head[0].split()[1])
                responses.append((status, headers, data[end + 4:end + 4 + length]))
                data = data[end + 4 + length:]
                continue
        if closed:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            continue
        if not chunk:
            closed = True
        data += chunk
    if not closed and len(responses) >= expect:
        # Did the server close right after the last expected response?
        sock.settimeout(0.05)
        try:
            closed = sock.recv(1) == b""
        except (socket.timeout, BlockingIOError):
            pass
        except ConnectionResetError:
            closed = True
    return responses, closed


def exchange(port: int, data: bytes, expect: int, timeout: float = 3.0, pieces=None, gap: float = 0.0):
    """Sends `data` on one new connection (in `pieces`, split at those offsets, with `gap` seconds between
    them, when given) and reads up to `expect` responses; returns (responses, closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        offsets = [0, *(pieces or []), len(data)]
        for start, end in zip(offsets, offsets[1:]):
            try:
                sock.sendall(data[start:end])
            except (BrokenPipeError, ConnectionResetError):
                break  # the server closed after an answer (a refusal that ends the connection)
            if gap:
                time.sleep(gap)  # pacing between the pieces, so that each arrives in a read of its own
        return read_responses(sock, expect, timeout)


def healthz_status(port: int, timeout: float = 1.0):
    """The status of GET /healthz on a new connection within `timeout` seconds, or None."""
    try:
        responses, _ = exchange(port, get("/healthz"), expect=1, timeout=timeout)
    except OSError:
        return None
    return responses[0][0] if responses else None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    import os
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_used_over(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)  # a measurement window, not a wait for readiness
    return cpu_seconds(pid) - before
