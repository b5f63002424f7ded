"""A Redis that breaks the protocol cannot make quench grow: a fake Redis (a Python socket server here)
answers SUBSCRIBE, then sends a 100 MB line that never ends. quench's RESP reader caps a line at 64 KiB:
it drops the connection with a log line naming the violation, reconnects with its usual backoff, and its
clients are served throughout.
"""

import socket
import threading

from interop_helpers import memory_kib, reply_re

LINE_BYTES = 100 * 1024 * 1024
CHUNK = b"x" * (1 << 20)


class FakeRedis:
    """Speaks just enough RESP for quench's two connections (PING, SUBSCRIBE, PUBLISH). The first SUBSCRIBE is answered, then followed
    by a `+` line of LINE_BYTES bytes without CRLF; later SUBSCRIBEs are answered and left quiet."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.subscribes = 0
        self.flood_sent = None  # bytes of the endless line written before quench hung up
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buffered = b""
        subscribed = False
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buffered += data
                while True:
                    command, buffered = self._take_command(buffered)
                    if command is None:
                        break
                    name = command[0].upper()
                    if name == b"SUBSCRIBE":
                        subscribed = True
                        # As Redis: one confirmation per channel (quench subscribes to the shared channel
                        # and to its own node channel).
                        for count, channel in enumerate(command[1:], start=1):
                            conn.sendall(b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:%d\r\n" % (len(channel), channel, count))
                        with self.lock:
                            self.subscribes += 1
                            first = self.subscribes == 1
                        if first:
                            self._flood(conn)
                            return
                    elif name == b"PING":
                        # As Redis: PONG, or in subscribed mode the array ["pong", ""]. quench's handshake
                        # (PING after connecting) counts a connection as up only on PONG.
                        conn.sendall(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" if subscribed else b"+PONG\r\n")
                    elif name == b"PUBLISH":
                        conn.sendall(b":0\r\n")
                    else:
                        conn.sendall(b"+OK\r\n")
        except OSError:
            return

    def _flood(self, conn):
        sent = 0
        try:
            conn.sendall(b"+")
            while sent < LINE_BYTES:
                conn.sendall(CHUNK)
                sent += len(CHUNK)
        except OSError:
            pass
        self.flood_sent = sent

    @staticmethod
    def _take_command(buffered):
        """One RESP array of bulk strings from the front of `buffered`, or (None, buffered) if incomplete."""
        if not buffered.startswith(b"*"):
            return None, buffered
        end = buffered.find(b"\r\n")
        if end < 0:
            return None, buffered
        count = int(buffered[1:end])
        position = end + 2
        parts = []
        for _ in range(count):
            end = buffered.find(b"\r\n", position)
            if end < 0:
                return None, buffered
            length = int(buffered[position + 1:end])
            start = end + 2
            if len(buffered) < start + length + 2:
                return None, buffered
            parts.append(buffered[start:start + length])
            position = start + length + 2
        return parts, buffered[position:]

    def close(self):
        self.listener.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass


def test_an_endless_line_from_redis_is_refused_and_quench_reconnects(start_quench, sio_client):
    fake = FakeRedis()
    try:
        node = start_quench("--message-queue", fake.url, "--reminder-interval", "0")
        node.wait_for_log(r"^info message queue: subscribed to channel \"socketio\"")
        before = memory_kib(node.proc.pid, "VmRSS")

        node.wait_for_log(
            r"^warn message queue: lost Redis redis://127\.0\.0\.1:\d+/0 \(protocol violation: a line longer than "
            r"65536 bytes without CRLF\); clients stay connected, retrying with backoff$", timeout=20)
        node.wait_for_log(r"^info message queue: Redis redis://127\.0\.0\.1:\d+/0 is back; resubscribed", timeout=20)
        assert fake.subscribes >= 2
        assert fake.flood_sent is not None and fake.flood_sent < LINE_BYTES, \
            f"quench read {fake.flood_sent} bytes of a line it should have refused after 64 KiB"

        grown = memory_kib(node.proc.pid, "VmHWM") - before
        assert grown < 30_000, f"quench's peak RSS grew by {grown} KiB while Redis sent an endless line"

        client = sio_client(node)
        client.sio.emit("user_message", {"text": "still served"})
        assert reply_re("still served").match(client.get(client.bot)["text"])
    finally:
        fake.close()
