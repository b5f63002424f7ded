"""The command line: flags, exit codes, start/stop, log levels."""

import re
import signal
import socket
import subprocess

import pytest

from conftest import free_port, require_binary, run_cli, wait_until
from interop_helpers import CONNECTED

ALL_FLAGS = [
    "--host",
    "--port",
    "--cors-origins",
    "--reminder-interval",
    "--ping-interval",
    "--ping-timeout",
    "--max-payload",
    "--path",
    "--log-level",
    "--version",
    "--help",
]


def test_help_lists_every_flag():
    r = run_cli("--help")
    assert r.returncode == 0, f"--help exited {r.returncode}; stderr={r.stderr!r}"
    missing = [flag for flag in ALL_FLAGS if flag not in r.stdout]
    assert not missing, f"--help does not mention {missing}; stdout:\n{r.stdout}"


def test_version_prints_a_version_and_exits_0():
    r = run_cli("--version")
    assert r.returncode == 0, f"--version exited {r.returncode}; stderr={r.stderr!r}"
    assert re.search(r"\d+\.\d+", r.stdout), f"--version printed no version number: stdout={r.stdout!r}"
    assert len(r.stdout.strip().splitlines()) == 1, f"--version should print one line: {r.stdout!r}"


BAD_VALUES = [
    (["--port", "70000"], "--port"),
    (["--port", "abc"], "--port"),
    (["--port", "-1"], "--port"),
    (["--port", "0"], "--port"),
    (["--port"], "--port"),
    (["--ping-interval", "-1"], "--ping-interval"),
    (["--ping-interval", "5x"], "--ping-interval"),
    (["--ping-interval", "ms"], "--ping-interval"),
    (["--ping-timeout", "abc"], "--ping-timeout"),
    (["--reminder-interval", "-5"], "--reminder-interval"),
    (["--log-level", "loud"], "--log-level"),
    (["--max-payload", "0"], "--max-payload"),
    (["--max-payload", "lots"], "--max-payload"),
    (["--host", "not-an-address"], "--host"),
    (["--bogus-flag"], "--bogus-flag"),
    # Values that used to trap (integer overflow downstream) instead of being refused; each range is in --help.
    (["--reminder-interval", "3000000h"], "--reminder-interval"),
    (["--reminder-interval", "25h"], "--reminder-interval"),
    (["--ping-interval", "3000000000h"], "--ping-interval"),
    (["--ping-interval", "0"], "--ping-interval"),
    (["--ping-timeout", "1e308"], "--ping-timeout"),
    (["--ping-timeout", "86400001ms"], "--ping-timeout"),
    (["--max-payload", "1000000001"], "--max-payload"),
    (["--max-payload", "99999999999999999999"], "--max-payload"),
    (["--max-buffered", "0"], "--max-buffered"),
    (["--max-buffered", "4294967297"], "--max-buffered"),
    (["--max-buffered", "1e308"], "--max-buffered"),
    (["--path", "/" + "p" * 300 + "/"], "--path"),
    (["--path", "/a//b/"], "--path"),
    (["--max-open-files", "255"], "--max-open-files"),
    (["--max-open-files", "1048577"], "--max-open-files"),
    (["--parser", "cbor"], "--parser"),
]


@pytest.mark.parametrize("args,flag", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_flag_value_exits_64_naming_the_flag(args, flag):
    # A valid host/port first, so that a binary that wrongly accepts the value only binds loopback
    # (and run_cli kills it and fails the test at the deadline).
    prefix = ["--host", "127.0.0.1"]
    if flag != "--port":
        prefix += ["--port", str(free_port())]
    r = run_cli(*prefix, *args)
    assert r.returncode == 64, f"exit {r.returncode}, want 64; stderr={r.stderr!r}"
    assert flag in r.stderr, f"stderr does not name {flag}: {r.stderr!r}"


def test_a_long_path_with_static_exits_64_not_a_signal(tmp_path):
    # lws keeps a mountpoint's length in one byte: a 300-byte --path beside --static used to trap.
    r = run_cli("--host", "127.0.0.1", "--port", str(free_port()), "--static", str(tmp_path), "--path", "/" + "p" * 300 + "/")
    assert r.returncode == 64, f"exit {r.returncode} (negative = killed by a signal), want 64; stderr={r.stderr!r}"
    assert "--path" in r.stderr and "128 bytes" in r.stderr, r.stderr


def test_help_states_each_numeric_range():
    r = run_cli("--help")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())  # help wraps lines
    for phrase in ("(1-65535)", "1s to 24h", "(1ms to 24h)", "(1 to 1000000000)", "From --max-payload to 4294967296", "at most 128 bytes",
                   "(1 to 1000000)"):
        assert phrase in text, f"--help does not state {phrase!r}:\n{r.stdout}"


def test_port_in_use_exits_1_with_one_line_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        r = run_cli("--host", "127.0.0.1", "--port", str(port))
    assert r.returncode == 1, f"exit {r.returncode} (negative = killed by a signal), want 1; stderr={r.stderr!r}"
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"want a one-line error on stderr, got {len(lines)} lines: {r.stderr!r}"
    assert str(port) in lines[0], f"error line does not mention port {port}: {lines[0]!r}"


def test_start_logs_listening_url(start_quench):
    server = start_quench()
    server.wait_for_log(r"listening on " + re.escape(f"http://127.0.0.1:{server.port}") + r"\b")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_disconnects_clients_and_exits_0(start_quench, sio_client, open_ws, sig):
    server = start_quench()
    client = sio_client(server)
    assert client.get(client.system, what="system_message") == CONNECTED
    raw = open_ws(server)
    eio_sid, sio_sid = raw.handshake()
    server.wait_for_log(r"\bconnect sid=" + re.escape(sio_sid) + r" sessions=2\b")

    server.proc.send_signal(sig)
    assert client.disconnected.wait(5), "python-socketio client saw no disconnect within 5 s of the signal"
    raw.wait_closed(5)
    code = server.wait_exit(timeout=5)
    assert code == 0, f"exit code {code} after {sig.name}, want 0"
    assert re.search(
        r"\bclose sid=" + re.escape(eio_sid) + r" peer=127\.0\.0\.1 transport=websocket reason=\"server shutting down\"",
        server.log_text(),
    ), f"no 'close … reason=\"server shutting down\"' line for {eio_sid}; log:\n{server.log_text()}"


def test_log_level_error_hides_info_events(start_quench, sio_client):
    server = start_quench("--log-level", "error")
    client = sio_client(server)
    assert client.get(client.system, what="system_message") == CONNECTED
    client.sio.emit("user_message", {"text": "quiet"})
    assert client.get(client.bot, what="bot_message")["text"].startswith("quiet rcvd at ")
    client.disconnect()
    assert server.stop() == 0
    log = server.log_text()
    assert not re.search(r"\binfo (open|close|connect|disconnect) sid=", log), f"info events at --log-level error:\n{log}"


def test_log_level_debug_keeps_info_events(start_quench, sio_client):
    server = start_quench("--log-level", "debug")
    client = sio_client(server)
    assert client.get(client.system, what="system_message") == CONNECTED
    server.wait_for_log(r"\binfo connect sid=" + re.escape(client.sid) + r" sessions=1\b")


def test_reminder_interval_zero_is_accepted(start_quench, sio_client):
    server = start_quench("--reminder-interval", "0")
    client = sio_client(server)
    assert client.get(client.system, what="system_message") == CONNECTED
    client.sio.emit("user_message", {"text": "still here"})
    assert client.get(client.bot, what="bot_message")["text"].startswith("still here rcvd at ")


def test_a_second_stop_signal_exits_at_once_with_a_line_saying_so(start_quench):
    server = start_quench("--drain-time", "10s")
    server.proc.send_signal(signal.SIGTERM)
    server.wait_for_log(r"stopping|draining")
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait_exit(timeout=5) == 1
    server.wait_for_log(r"warn SIGTERM again while stopping: exiting at once \(status 1\)")


def test_an_ipv6_listening_url_has_brackets(tmp_path):
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        port = probe.getsockname()[1]
    log_path = tmp_path / "quench.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([require_binary(), "--host", "::1", "--port", str(port), "--reminder-interval", "0"],
                                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "listening on" in log_path.read_text(), 10, what="the listening line")
        assert f"listening on http://[::1]:{port} " in log_path.read_text(), log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def open_files_limits(pid):
    """(soft, hard) of `pid`'s open-files limit, from /proc/<pid>/limits."""
    with open(f"/proc/{pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return int(soft), (None if hard == "unlimited" else int(hard))


def test_max_open_files_sets_the_limit_itself_the_hard_limit_winning(start_quench):
    """libwebsockets sizes (and scans on every close) a table of this many descriptors: quench sets the limit
    it is asked for, 65,536 by default, rather than the hard limit, and never above the hard limit."""
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    asked = start_quench("--max-open-files", "2048")
    assert open_files_limits(asked.proc.pid)[0] == 2048
    default = start_quench()
    assert open_files_limits(default.proc.pid)[0] == min(hard, 65536)
    above = start_quench("--max-open-files", str(hard + 1))
    assert open_files_limits(above.proc.pid)[0] == hard
    above.wait_for_log(rf"open files limit: the hard limit \({hard}\) is below --max-open-files {hard + 1}; using {hard}")

