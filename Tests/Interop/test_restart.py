"""A stop closes transports, not Socket.IO sessions: after SIGTERM the official clients (python-socketio
and socket.io-client 4.8 in Chromium), on WebSocket and on long-polling, read a transport close or error,
reconnect by themselves to a new quench on the same port, and get a new system_message there. Server-side
the app's disconnect handlers still run, with reason "server shutting down"."""

import importlib.util
import json
import pathlib
import shutil
import signal
import subprocess
import tempfile

import pytest
import socketio

from conftest import START_DEADLINE_S, QuenchServer, _port_accepts, free_port, require_binary, wait_until


@pytest.fixture
def quench_on_port(tmp_path):
    """Factory: quench_on_port(port, *args) -> QuenchServer on that exact port (a restart reuses it)."""
    started = []

    def _start(port, *args):
        log_path = tmp_path / f"quench-{port}-{len(started)}.log"
        argv = [require_binary(), "--host", "127.0.0.1", "--port", str(port), *map(str, args)]
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        server = QuenchServer(proc, port, log_path, argv)
        started.append(server)
        wait_until(lambda: _port_accepts(port) or proc.poll() is not None, START_DEADLINE_S, what=f"quench on port {port}")
        assert proc.poll() is None, f"quench exited with {proc.returncode} at start:\n{server.log_text()}"
        return server

    yield _start
    for server in started:
        server.kill()
        print(f"----- quench log ({' '.join(server.argv[1:])}) -----\n{server.log_text()[-3000:]}")


def stop_and_check_goodbye(server):
    """SIGTERM: quench exits 0, having run the app's disconnect handler with "server shutting down" and
    sent no Socket.IO DISCONNECT."""
    assert server.stop() == 0
    log = server.log_text()
    assert 'reason="server shutting down"' in log, log


@pytest.mark.deadline(60)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_python_socketio_reconnects_to_a_restarted_server(quench_on_port, transport):
    port = free_port()
    first = quench_on_port(port)
    sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5)
    systems, reasons = [], []
    sio.on("system_message", lambda data: systems.append(data))
    sio.on("disconnect", lambda reason=None: reasons.append(reason))
    sio.connect(first.url, transports=[transport], wait_timeout=10)
    try:
        wait_until(lambda: len(systems) == 1, 10, what="the first system_message")
        stop_and_check_goodbye(first)
        wait_until(lambda: reasons, 10, what="python-socketio to notice the stop")
        assert reasons[0] in ("transport close", "transport error"), reasons
        second = quench_on_port(port)
        wait_until(lambda: len(systems) == 2, 20, what="python-socketio to reconnect to the restarted server",
                   detail=lambda: f"disconnect reasons {reasons}; log:\n{second.log_text()}")
        assert systems[1] == {"text": "Connected to server"}
        second.wait_for_log(r"\binfo connect sid=\S+ sessions=1\b")
    finally:
        sio.disconnect()


def socketio_min_js() -> pathlib.Path:
    """socket.io-client's browser bundle (Socket.IO v4.8.1) as the nicegui wheel ships it (requirements.txt)."""
    spec = importlib.util.find_spec("nicegui")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the nicegui package (which ships socket.io.min.js) is not installed: pip install -r Tests/Interop/requirements.txt")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "static" / "socket.io.min.js"
    assert path.is_file(), path
    assert "Socket.IO v4.8" in path.read_text(errors="replace")[:200], "not socket.io-client 4.8"
    return path


PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="/socket.io.min.js"></script></head>
<body><script>
const transports = new URLSearchParams(location.search).get("t").split(",");
const d = document.body.dataset;
d.connects = 0; d.systems = 0; d.reasons = "";
const socket = io({transports, reconnectionDelay: 200, reconnectionDelayMax: 500});
socket.on("connect", () => { d.connects = +d.connects + 1; });
socket.on("system_message", () => { d.systems = +d.systems + 1; });
socket.on("disconnect", (reason) => { d.reasons += reason + ";"; d.active = socket.active; });
</script></body></html>
"""

PAGE_STATE_JS = "JSON.stringify(document.body ? document.body.dataset : {})"


@pytest.mark.deadline(90)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_socketio_client_in_chromium_reconnects_to_a_restarted_server(quench_on_port, browser, transport):
    # The page comes from quench itself (--static), so the restarted server serves the same origin.
    static = pathlib.Path(tempfile.mkdtemp(prefix="quench-restart-"))
    try:
        shutil.copy(socketio_min_js(), static / "socket.io.min.js")
        (static / "index.html").write_text(PAGE)
        port = free_port()
        first = quench_on_port(port, "--static", static)
        browser.navigate(f"{first.url}/index.html?t={transport}")

        def page():
            return json.loads(browser.evaluate(PAGE_STATE_JS) or "{}")

        def page_until(predicate, what, timeout=20):
            return wait_until(lambda: (lambda state: state if predicate(state) else None)(page()), timeout, what=what,
                              detail=lambda: f"page {page()}; console:\n{browser.console_text()}")

        page_until(lambda s: s.get("systems") == "1", "the first system_message")
        stop_and_check_goodbye(first)
        state = page_until(lambda s: s.get("reasons"), "socket.io-client to notice the stop")
        assert "io server disconnect" not in state["reasons"], state
        assert state["reasons"].split(";")[0] in ("transport close", "transport error"), state
        assert state.get("active") == "true", f"socket.io-client will not reconnect: {state}"
        second = quench_on_port(port, "--static", static)
        page_until(lambda s: s.get("systems") == "2" and s.get("connects") == "2",
                   "socket.io-client to reconnect to the restarted server and get a new system_message", timeout=30)
        second.wait_for_log(r"\binfo connect sid=\S+ sessions=1\b")
    finally:
        shutil.rmtree(static, ignore_errors=True)


from test_browser import browser, needs_chromium  # noqa: E402,F401  (fixtures: one Chromium per test, skip without it)


def test_a_stop_closes_a_websocket_with_1001_and_no_disconnect_packet(start_quench, open_ws):
    server = start_quench()
    ws = open_ws(server)
    ws.handshake()
    ws.seen.clear()
    server.proc.send_signal(signal.SIGTERM)
    while True:
        kind, value = ws.recv_frame(timeout=5)
        if kind != "text" or value != "2":
            break
    assert (kind, value) == ("close", 1001), f"want the close frame 1001 (going away) first, got {kind} {value!r}; frames {ws.seen}"
    assert server.wait_exit() == 0
