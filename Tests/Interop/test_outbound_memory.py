"""All clients' queued output together, against --max-buffered-total: raw WebSocket clients that never read,
each under its own --max-buffered, pass the total; the ones holding the most are closed first (not the one
being written to), with a log line each and a count in /metrics; an ordinary client keeps being answered;
and once they are gone the memory goes back to the system (VmRSS comes down, not only stops growing)."""

import re

import pytest

from conftest import wait_until
from interop_helpers import memory_kib, reply_re, user_message
from test_metrics import metric, wait_metric
from test_outbound_limits import RSSWatcher, open_hostile

MIB = 1024 * 1024
CHUNK = "q" * (256 * 1024)


def feed(ws, mib, tag):
    """Sends `mib` MiB of chat messages; the server's replies (as large) wait for a client that never reads."""
    sent = 0
    for i in range(mib * 4):
        if not ws.send_text(user_message({"text": f"{tag}-{i}-{CHUNK}"})):
            break
        sent += 1
    return sent


@pytest.mark.deadline(120)
def test_at_the_total_the_biggest_holders_go_first_and_memory_comes_back(start_quench, sio_client):
    total = 64 * MIB
    server = start_quench("--metrics", "--max-buffered-total", str(total))
    good = sio_client(server)
    assert good.get(good.system, what="system_message")["text"] == "Connected to server"
    pid = server.proc.pid
    baseline = memory_kib(pid)
    watcher = RSSWatcher(pid)

    # Eight small holders (2 MiB each), then six big ones (14 MiB each, under --max-buffered 16 MiB):
    # 100 MiB asked for (the kernel's socket buffers take some 20 of it), 64 allowed.
    small = [open_hostile(server) for _ in range(8)]
    big = [open_hostile(server) for _ in range(6)]
    wait_metric(server, "quench_socketio_sockets", lambda v: v == 15, "to count every client connected", namespace="/")
    sent = metric(server, "quench_messages_received_total")
    for n, (ws, _) in enumerate(small):
        sent += feed(ws, 2, f"s{n}")
    for n, (ws, _) in enumerate(big):
        sent += feed(ws, 14, f"b{n}")
        sent += 1
        good.sio.emit("user_message", {"text": f"during {n}"})
        assert reply_re(f"during {n}").match(good.get(good.bot, timeout=10, what="bot_message")["text"])
    wait_metric(server, "quench_messages_received_total", lambda v: v >= sent, "to count every message sent", timeout=30)

    lines = re.findall(
        r"^warn outbound memory sid=(\S+) peer=127\.0\.0\.1 queued=(\d+) bytes, the most of any client, while all clients' "
        r"queues would reach (\d+) bytes > --max-buffered-total " + str(total) + r": closing$",
        server.log_text(), re.M)
    print(f"closed at the total: {[(sid, int(queued) // MIB) for sid, queued, _ in lines]}")
    assert 1 <= len(lines) <= 5, server.log_text()[-3000:]
    big_sids = {sid for _, sid in big}
    for sid, queued, reach in lines:
        assert sid in big_sids, f"{sid} is not one of the big holders"
        assert int(queued) > 4 * MIB, f"{sid} held only {queued} bytes: not one of the biggest"
        assert int(reach) > total
        server.wait_for_log(r"\binfo close sid=" + re.escape(sid) + r" peer=127\.0\.0\.1 transport=websocket reason=\"transport error\"")
    closed = {sid for sid, _, _ in lines}
    for ws, sid in big:
        if sid in closed:
            assert ws.is_closed_by_server(timeout=10), f"{sid} was closed at the total but its connection is open"
    for _, sid in small:
        assert not re.search(r"\binfo close sid=" + re.escape(sid) + r" ", server.log_text()), f"small holder {sid} was closed"
    assert "outbound limit" not in server.log_text()  # no client passed its own --max-buffered
    assert metric(server, "quench_outbound_limit_closes_total", cause="total") == len(lines)
    assert metric(server, "quench_outbound_limit_closes_total", cause="client") == 0
    assert metric(server, "quench_outbound_queued_limit_bytes") == total
    assert metric(server, "quench_outbound_queued_bytes") <= total

    good.sio.emit("user_message", {"text": "after"})
    assert reply_re("after").match(good.get(good.bot, timeout=10, what="bot_message")["text"])

    # The rest leave; their queues are dropped, and the memory goes back to the system.
    for ws, _ in small + big:
        ws.close()
    wait_metric(server, "quench_outbound_queued_bytes", lambda v: v < MIB, "to fall once the non-readers have gone")
    peak = watcher.stop()
    grown = lambda: (memory_kib(pid) - baseline) // 1024  # noqa: E731
    print(f"RSS baseline {baseline // 1024} MiB, peak {peak // 1024} MiB")
    assert (peak - baseline) // 1024 > 48, "the clients never made the server hold much: the test proves nothing"
    wait_until(lambda: grown() < 24, timeout=15, what="RSS to come back down after the non-readers left",
               detail=lambda: f"RSS baseline {baseline // 1024} MiB, peak {peak // 1024} MiB, now {memory_kib(pid) // 1024} MiB")
    print(f"RSS after: {memory_kib(pid) // 1024} MiB")


def test_max_buffered_total_below_max_buffered_is_refused():
    from conftest import run_cli

    result = run_cli("--max-buffered", "20000000", "--max-buffered-total", "19999999")
    assert result.returncode == 64, result
    assert "--max-buffered-total must be between --max-buffered (20000000)" in result.stderr, result.stderr
