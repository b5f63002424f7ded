"""A real Engine.IO 3 / Socket.IO 2 client for test_eio3.py: python-socketio 4.6 with python-engineio 3.14,
run with .venv-eio3's python (it cannot share a process with the v4 client).

    eio3_client.py URL TRANSPORTS PONGS [restart|reminders]

Connects over TRANSPORTS (comma-separated; `default` is polling then the upgrade), plays the seed's chat,
waits until it has had PONGS answers to its own pings, then prints `ready` and one JSON line per `bin`
event until a `bin` of "sentinel" comes, and disconnects. With `restart` it instead waits, after
`ready`, for the server to go away and come back: reconnected by itself, it is welcomed again and
answered (`reconnected`); with `reminders`, it prints the next two hydration reminders (`reminder`),
which never count as replies. Every step prints one JSON line
(`{"step": …}`); a step that does not come within its deadline exits 1 with the step's name.
"""

import json
import queue
import re
import sys
import threading
import time

import engineio
import socketio

url, transports, pongs_wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
restart = sys.argv[4:] == ["restart"]
reminders = sys.argv[4:] == ["reminders"]
REMINDER = re.compile(r"^Remember to stay hydrated! It's \d\d:\d\d$")
events = {name: queue.Queue() for name in ("system_message", "bot_message", "bin", "reminder")}
pongs = []
pong_seen = threading.Event()


def plain(value):
    """JSON for what the client got: bytes as {"bytes": [...]}."""
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": list(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def say(step, **fields):
    print(json.dumps({"step": step, **plain(fields)}), flush=True)


def get(name, timeout=10):
    try:
        return events[name].get(timeout=timeout)
    except queue.Empty:
        say("timeout", waiting_for=name)
        sys.exit(1)


sio = socketio.Client(reconnection=restart, reconnection_delay=0.2, reconnection_delay_max=0.5)
def record(name):
    def handler(*args):
        data = args[0] if len(args) == 1 else list(args)
        if name == "bot_message" and isinstance(data, dict) and REMINDER.match(str(data.get("text"))):
            name_ = "reminder"
        else:
            name_ = name
        events[name_].put(data)
    return handler


for name in ("system_message", "bot_message", "bin"):
    sio.on(name, record(name))

# Count the server's answers to the client's pings (the v3 heartbeat runs client to server).
original = sio.eio._receive_packet


def counting(pkt):
    if pkt.packet_type == engineio.packet.PONG:
        pongs.append(time.monotonic())
        pong_seen.set()
    return original(pkt)


sio.eio._receive_packet = counting
sio.connect(url, transports=None if transports == "default" else transports.split(","))
say("connected", transport=sio.transport(), sid=sio.sid)
say("welcome", data=get("system_message"))
sio.emit("user_message", {"text": "héllo 😀"})
say("reply", data=get("bot_message"))
acked = queue.Queue()
sio.emit("user_message", {"text": "x"}, callback=lambda *args: acked.put(list(args)))
try:
    say("ack", args=acked.get(timeout=10))
except queue.Empty:
    say("timeout", waiting_for="ack")
    sys.exit(1)
say("ack reply", data=get("bot_message"))
deadline = time.monotonic() + 30
while len(pongs) < pongs_wanted and time.monotonic() < deadline:
    pong_seen.wait(0.5)
    pong_seen.clear()
say("heartbeats", pongs=len(pongs), transport=sio.transport())
sio.emit("user_message", {"text": "after the heartbeats"})
say("late reply", data=get("bot_message"))
say("ready")
if reminders:
    for _ in range(2):
        say("reminder", data=get("reminder", timeout=10))
    sio.disconnect()
    sys.exit(0)
if restart:
    say("welcome again", data=get("system_message", timeout=30))
    sio.emit("user_message", {"text": "back"})
    say("reconnected", data=get("bot_message"))
    sio.disconnect()
    sys.exit(0)
while (item := get("bin")) != "sentinel":
    say("bin", data=item)
sio.disconnect()
say("done")
