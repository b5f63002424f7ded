"""A hostile Socket.IO client, run as its own process: over a raw WebSocket it joins `/` and sends
`42["user_message",…]` as fast as the socket takes them, never waiting for a reply, and reads what comes
back on a thread of its own (so its replies never pile up on the server). When the server disconnects it,
it connects again at once and goes on, as a flooding script would.

    python event_flooder.py PORT [SECONDS]

Prints one line at the end: `sent=N connections=N notices=N disconnects=N`. With SECONDS 0 it runs until
killed (SIGTERM prints the line too). Used by test_client_budgets.py and by `make bench`."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_ws import RawWebSocket  # noqa: E402

FRAME = b'42["user_message",{"text":"flood"}]'
# Masked with a zero key (a client must mask; any key is valid): the frames are built once.
BLOCK = (bytes([0x81, 0x80 | len(FRAME)]) + b"\0\0\0\0" + FRAME) * 512


def reader(ws, counts, done):
    """Reads frames until the connection ends; counts the budget's notices and DISCONNECT packets."""
    try:
        while True:
            opcode, payload = ws.read_frame()
            if opcode is None or opcode == 0x8:
                break
            if b"Too many messages" in payload:
                counts["notices"] += 1
            if payload == b"41":
                counts["disconnects"] += 1
            if payload == b"2":
                ws.send_text("3")
    except OSError:
        pass
    done.set()


def main():
    port = int(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    counts = {"sent": 0, "connections": 0, "notices": 0, "disconnects": 0}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + seconds if seconds else None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        try:
            ws = RawWebSocket(port, rcvbuf=1 << 20)
        except (OSError, AssertionError):
            time.sleep(0.05)  # refused at the handshake bound: try again shortly
            continue
        counts["connections"] += 1
        ws.sock.settimeout(None)
        ws.send_text("40")
        done = threading.Event()
        threading.Thread(target=reader, args=(ws, counts, done), daemon=True).start()
        while not done.is_set() and not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                ws.sock.sendall(BLOCK)
            except OSError:
                break
            counts["sent"] += 512
        ws.close()
        done.wait(1)
    print(" ".join(f"{key}={value}" for key, value in counts.items()), flush=True)


if __name__ == "__main__":
    main()
