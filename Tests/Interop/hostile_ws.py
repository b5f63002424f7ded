"""A hostile WebSocket client on a bare socket: it writes frames (masked, as a client must) and reads
only when told to, so the server's replies pile up the way they do for a client that stops reading."""

import base64
import os
import socket
import struct


class RawWebSocket:
    def __init__(self, port, query="EIO=4&transport=websocket", rcvbuf=4096, timeout=10.0, source=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive buffer (set before connect, so the window stays small): the kernel absorbs
        # little, and what the client does not read waits on the server.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        if source is not None:  # another loopback address (127.0.0.2) as the client's own
            self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise AssertionError(f"server closed during the WebSocket handshake: {head!r}")
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_frame(self, payload: bytes, opcode=0x1, fin=True):
        """One masked frame; returns False if the server has closed the connection."""
        header = bytes([(0x80 if fin else 0) | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if length < 4096 else _mask_fast(payload, mask)
        try:
            self.sock.sendall(header + mask + masked)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            return False

    def send_text(self, text: str):
        return self.send_frame(text.encode())

    def read_frame(self):
        """The next frame as (opcode, payload), or (None, b"") at end of stream."""
        def exactly(n):
            data = b""
            while len(data) < n:
                chunk = self.sock.recv(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data

        head = exactly(2)
        if head is None:
            return None, b""
        length = head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", exactly(8))[0]
        payload = exactly(length) if length else b""
        return head[0] & 0x0F, payload or b""

    def is_closed_by_server(self, timeout=10.0):
        """Reads and discards until end of stream (or a reset); True if that happens within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(1 << 20):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _mask_fast(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
