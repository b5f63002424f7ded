"""The Redis trust boundary as the README draws it: quench and the Python back ends each get an ACL user of
their own, with only the rights the README lists. quench's user can run the whole cluster path — publish,
subscribe, keep a dropped session and hand it to another node — and nothing outside its keys and channel;
the back end's user can publish to the channel and read nothing."""

import hashlib
import re

import pytest
import socketio

from conftest import wait_until
from test_recovery import next_event, raw_connect
from test_redis import redis_server  # noqa: F401  (fixture: a real redis-server on a free port)

redis = pytest.importorskip("redis")

CHANNEL = "socketio"
# The README's rules, word for word (section "What the Redis can see and do").
QUENCH_RULES = ["on", ">quench-secret", f"~quench:{CHANNEL}:*", f"&{CHANNEL}", f"&quench:{CHANNEL}:to:*", "+@pubsub", "+eval", "+get", "+set", "+del",
                "+exists", "+lrange", "+rpush", "+pexpire", "+pttl", "+ping", "+select"]
BACKEND_RULES = ["on", ">backend-secret", f"&{CHANNEL}", "+publish"]


def handle_of(pid):
    """The name Redis knows a dropped session by (quench's RecoveryHandle), never the pid."""
    return hashlib.sha256(b"quench-recovery:" + pid.encode()).hexdigest()[:32]


def test_least_privilege_users_run_the_cluster_path_and_nothing_else(start_quench, redis_server):
    admin = redis.Redis(port=redis_server.port)
    admin.execute_command("ACL", "SETUSER", "quench", "reset", *QUENCH_RULES)
    admin.execute_command("ACL", "SETUSER", "backend", "reset", *BACKEND_RULES)
    url = f"redis://quench@127.0.0.1:{redis_server.port}/0"
    env = {"QUENCH_MESSAGE_QUEUE_PASSWORD": "quench-secret"}
    node_a, node_b = (start_quench("--message-queue", url, "--recovery-window", "30s", "--log-level", "debug", env=env)
                      for _ in range(2))
    redis_server.wait_subscribers(2)

    client, data = raw_connect(node_a)
    sid, pid = data["sid"], data["pid"]
    handle = handle_of(pid)
    seen = next_event(client)  # the welcome
    mark = node_a.log_mark()
    client.abort()
    node_a.wait_for_log(rf'disconnect sid={re.escape(sid)} reason="transport (close|error)"', since=mark)
    wait_until(lambda: admin.keys(f"quench:{CHANNEL}:{handle}:*"), 10, what="the dropped session kept in Redis")

    backend = socketio.RedisManager(f"redis://backend:backend-secret@127.0.0.1:{redis_server.port}/0", write_only=True)
    backend.emit("bot_message", {"text": "while away"}, room=sid, namespace="/")
    wait_until(lambda: admin.llen(f"quench:{CHANNEL}:{handle}:o") == 1, 10, what="node A to record the emit")

    back, again = raw_connect(node_b, {"pid": pid, "offset": seen[-1]})
    assert again == {"sid": sid, "pid": pid}, again
    assert next_event(back)[1] == {"text": "while away"}
    back.close()
    for node in (node_a, node_b):
        assert "NOPERM" not in node.log_text(), node.log_text()[-3000:]

    # Each user reaches nothing beyond its rules.
    as_quench = redis.Redis(port=redis_server.port, username="quench", password="quench-secret")
    as_backend = redis.Redis(port=redis_server.port, username="backend", password="backend-secret")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_quench.get("someone-elses-key")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_quench.publish("another-channel", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_backend.keys(f"quench:{CHANNEL}:*")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_backend.get(f"quench:{CHANNEL}:{handle}:s")
    assert node_a.stop() == 0 and node_b.stop() == 0
