"""The seed's chat exchange on python-socketio's asyncio server under uvicorn: the fastest Python
Socket.IO stack, and a second polling-capable peer for `make bench` beside the seed app itself.

Same handlers as ../shared/reference/seed_app.py (welcome on connect, dummy reply per user_message);
no reminders, which the polling benchmark does not exercise.

Usage: python asgi_app.py PORT   (listens on 127.0.0.1; needs python-socketio and uvicorn)
"""

import datetime
import sys

import socketio
import uvicorn

server = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
active_sessions = {}


@server.event
async def connect(sid, environ, auth=None):
    now = datetime.datetime.now()
    active_sessions[sid] = {"connected_at": now, "last_activity": now}
    await server.emit("system_message", {"text": "Connected to server"}, to=sid)


@server.event
async def disconnect(sid, *reason):
    active_sessions.pop(sid, None)


@server.event
async def user_message(sid, data):
    if sid in active_sessions:
        now = datetime.datetime.now()
        active_sessions[sid]["last_activity"] = now
        await server.emit("bot_message", {"text": f"{data['text']} rcvd at {now:%H:%M:%S} (dummy reply)"}, to=sid)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    uvicorn.run(socketio.ASGIApp(server), host="127.0.0.1", port=port, log_level="warning", access_log=False)
