"""/metrics (with --metrics): a real scrape of the real binary, parsed by prometheus_client's text parser
(and checked by `promtool check metrics`, Debian's prometheus package), with counters that move as real
python-socketio clients come and go, are refused, get reminders, and as a real redis-server carries
messages. Every wait is a poll with a deadline."""

import os
import re
import shutil
import subprocess
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import REPO_ROOT, wait_until
from interop_helpers import SioClient

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Every sample name the page always has (histograms by their _count).
ALWAYS = {
    "quench_build_info", "quench_sessions", "quench_sessions_opened_total", "quench_sessions_closed_total",
    "quench_upgrades_total", "quench_sessions_eio3", "quench_connections", "quench_socketio_connects_total", "quench_socketio_sockets",
    "quench_messages_received_total", "quench_received_bytes_total", "quench_messages_sent_total",
    "quench_sent_bytes_total", "quench_reminders_total", "quench_reminder_delivery_seconds_count",
    "quench_service_loop_lag_seconds_count", "process_cpu_seconds_total", "process_resident_memory_bytes",
    "process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds",
}
QUEUE = {"quench_message_queue_connected", "quench_message_queue_published_total",
         "quench_message_queue_received_total", "quench_message_queue_dropped_total"}


class Scrape:
    def __init__(self, server):
        r = requests.get(server.url + "/metrics", timeout=5)
        assert r.status_code == 200, r.status_code
        assert r.headers["Content-Type"] == CONTENT_TYPE
        self.text = r.text
        self.families = list(text_string_to_metric_families(r.text))
        self.samples = [s for f in self.families for s in f.samples]

    def names(self):
        return {s.name for s in self.samples}

    def value(self, name, **labels):
        found = [s.value for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        assert len(found) == 1, f"{name}{labels}: {len(found)} samples in\n{self.text}"
        return found[0]


def metric(server, name, **labels):
    return Scrape(server).value(name, **labels)


def wait_metric(server, name, predicate, what, timeout=10, **labels):
    seen = []

    def check():
        seen.append(metric(server, name, **labels))
        return predicate(seen[-1])

    wait_until(check, timeout, what=f"{name}{labels} {what}", detail=lambda: f"last value {seen[-1] if seen else None}")


def test_page_parses_with_prometheus_conventions(start_quench):
    server = start_quench("--metrics")
    scrape = Scrape(server)
    assert ALWAYS <= scrape.names(), f"missing: {sorted(ALWAYS - scrape.names())}"
    assert not scrape.names() & QUEUE, "message-queue metrics without --message-queue"
    for family in scrape.families:
        assert family.name.startswith(("quench_", "process_")), family.name
        assert family.type in ("counter", "gauge", "histogram"), (family.name, family.type)
        assert family.documentation, f"{family.name} has no HELP"
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
            assert sample.value >= 0, sample
    # Histograms: cumulative buckets ending in +Inf equal to _count.
    for name in ("quench_reminder_delivery_seconds", "quench_service_loop_lag_seconds"):
        buckets = [s for s in scrape.samples if s.name == name + "_bucket"]
        counts = [s.value for s in buckets]
        assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf", buckets
        assert counts[-1] == scrape.value(name + "_count")
    assert scrape.value("quench_build_info", version=subprocess.run(
        [server.argv[0], "--version"], capture_output=True, text=True).stdout.strip()) == 1
    # The process metrics are this process's.
    assert abs(scrape.value("process_start_time_seconds") - time.time()) < 120
    assert 0 < scrape.value("process_open_fds") <= scrape.value("process_max_fds")
    assert scrape.value("process_resident_memory_bytes") > 1 << 20
    assert scrape.value("quench_sessions", transport="websocket") == 0
    head = requests.head(server.url + "/metrics", timeout=5)
    assert head.status_code == 200 and head.content == b""


def find_promtool():
    """promtool: $PROMTOOL, on PATH, or where `make test-deps` unpacks it (build/tools, not installed)."""
    candidates = [os.environ.get("PROMTOOL"), shutil.which("promtool"), str(REPO_ROOT / "build/tools/usr/bin/promtool")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def test_promtool_accepts_the_page(start_quench):
    promtool = find_promtool()
    if promtool is None:
        pytest.fail("promtool not found (`make test-deps` unpacks it into build/tools; or apt-get install prometheus)")
    server = start_quench("--metrics")
    client = SioClient(server).connect()
    client.get(client.system, what="system_message")
    text = requests.get(server.url + "/metrics", timeout=5).text
    client.disconnect()
    # And a page with connection state recovery's families.
    recovering = requests.get(start_quench("--metrics", "--recovery-window", "30s").url + "/metrics", timeout=5).text
    assert "quench_recovery_refused_total" in recovering and "quench_recovery" not in text
    for page in (text, recovering):
        r = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", f"{r.stdout}{r.stderr}\n{page}"


def test_counters_follow_a_websocket_client(start_quench):
    server = start_quench("--metrics", "--reminder-interval", "0")
    client = SioClient(server).connect()
    client.get(client.system, what="system_message")
    client.sio.emit("user_message", {"text": "hi"})
    client.get(client.bot, what="bot_message")
    scrape = Scrape(server)
    assert scrape.value("quench_sessions", transport="websocket") == 1
    assert scrape.value("quench_sessions", transport="polling") == 0
    assert scrape.value("quench_sessions_opened_total") == 1
    assert scrape.value("quench_socketio_connects_total", namespace="/") == 1
    assert scrape.value("quench_socketio_sockets", namespace="/") == 1
    # In: the Socket.IO CONNECT and the user_message. Out: the CONNECT reply, system_message, bot_message.
    assert scrape.value("quench_messages_received_total") == 2
    assert scrape.value("quench_messages_sent_total") == 3
    assert scrape.value("quench_received_bytes_total") >= len('2["user_message",{"text":"hi"}]')
    assert scrape.value("quench_sent_bytes_total") >= len('2["bot_message",{"text":"hi rcvd at 00:00:00 (dummy reply)"}]')
    client.disconnect()
    wait_metric(server, "quench_sessions", lambda v: v == 0, "back to 0", transport="websocket")
    scrape = Scrape(server)
    assert scrape.value("quench_sessions_closed_total", reason="transport_close") == 1
    assert scrape.value("quench_socketio_sockets", namespace="/") == 0
    assert sum(scrape.value("quench_sessions_closed_total", reason=r) for r in (
        "transport_error", "ping_timeout", "forced_close", "parse_error", "server_shutting_down")) == 0


def test_upgrade_and_refusals_are_counted(start_quench):
    server = start_quench("--metrics", "--reminder-interval", "0")
    client = SioClient(server).connect(transports=None)  # polling, then the upgrade to WebSocket
    client.get(client.system, what="system_message")
    wait_metric(server, "quench_upgrades_total", lambda v: v == 1, "counting the upgrade")
    assert metric(server, "quench_sessions", transport="websocket") == 1
    assert metric(server, "quench_sessions", transport="polling") == 0
    client.disconnect()

    assert requests.get(server.url + "/socket.io/?EIO=3&transport=polling", timeout=5).status_code == 400
    assert requests.get(server.url + "/socket.io/?EIO=4&transport=polling&sid=nope", timeout=5).status_code == 400
    assert requests.get(server.url + "/no-such-page", timeout=5).status_code == 404
    scrape = Scrape(server)
    assert scrape.value("quench_http_refused_total", status="400") == 2
    assert scrape.value("quench_http_refused_total", status="404") == 1


def test_reminders_and_their_delivery_time(start_quench):
    server = start_quench("--metrics", "--reminder-interval", "1s")
    client = SioClient(server).connect()
    client.get(client.system, what="system_message")
    client.get(client.reminders, timeout=5, what="a reminder")
    wait_metric(server, "quench_reminders_total", lambda v: v >= 1, "at least 1")
    scrape = Scrape(server)
    count = scrape.value("quench_reminder_delivery_seconds_count")
    assert count == scrape.value("quench_reminders_total")
    # Each delivery took some time, and less than the interval (else reminders would pile up).
    assert 0 < scrape.value("quench_reminder_delivery_seconds_sum") < count * 1.0
    client.disconnect()


def test_message_queue_metrics_follow_redis(start_quench, tmp_path):
    from test_redis import RedisServer, emitter

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        server = start_quench("--metrics", "--message-queue", redis_server.url, "--reminder-interval", "0")
        wait_metric(server, "quench_message_queue_connected", lambda v: v == 1, "1 once subscribed")
        client = SioClient(server).connect()
        client.get(client.system, what="system_message")
        emitter(redis_server).emit("bot_message", {"text": "from another node"})
        assert client.get(client.bot, what="the emit through Redis") == {"text": "from another node"}
        scrape = Scrape(server)
        assert scrape.value("quench_message_queue_received_total") == 1
        assert scrape.value("quench_message_queue_dropped_total") == 0
        assert QUEUE <= scrape.names()
        client.disconnect()
        redis_server.stop()
        wait_metric(server, "quench_message_queue_connected", lambda v: v == 0, "0 once Redis is gone")
    finally:
        redis_server.stop()


def test_metrics_off_by_default(start_quench):
    server = start_quench()
    assert requests.get(server.url + "/metrics", timeout=5).status_code == 404
