"""Fixtures for the quench interop suite.

Every test runs the real `quench` binary on 127.0.0.1 (a free port picked by binding port 0) and
talks to it with third-party clients. Nothing here sleeps a fixed time to wait for something:
readiness and log lines are polled with deadlines.
"""

import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
QUENCH_BIN = os.environ.get("QUENCH_BIN") or str(REPO_ROOT / ".build" / "debug" / "quench")

DEFAULT_DEADLINE_S = 60.0
START_DEADLINE_S = 10.0
POLL_S = 0.02


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_binary() -> str:
    if not os.path.isfile(QUENCH_BIN) or not os.access(QUENCH_BIN, os.X_OK):
        pytest.fail(f"quench binary not found or not executable at {QUENCH_BIN} (build it, or set QUENCH_BIN)")
    return QUENCH_BIN


def run_cli(*args, timeout=10.0, env=None):
    """Run quench to completion (for flag/CLI tests). A process that does not exit in time is killed and fails."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        return subprocess.run(
            [require_binary(), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"quench {' '.join(args)} did not exit within {timeout}s "
            f"(stdout={e.stdout!r}, stderr={e.stderr!r})"
        )


class QuenchServer:
    """A running quench process plus its combined stdout/stderr log file."""

    def __init__(self, proc, port, log_path, argv):
        self.proc = proc
        self.port = port
        self.host = "127.0.0.1"
        self.url = f"http://127.0.0.1:{port}"
        self.ws_base = f"ws://127.0.0.1:{port}"
        self.log_path = log_path
        self.argv = argv

    # -- log -------------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """Current length of the log; pass as since= to only look at lines written later."""
        return len(self.log_text())

    def wait_for_log(self, regex, timeout=10.0, since=0):
        """Poll the log until `regex` (multiline) matches in the text after `since`; return the match."""
        pattern = re.compile(regex, re.M)
        return wait_until(
            lambda: pattern.search(self.log_text(), since), timeout, what=f"a log line matching {regex!r}",
            detail=lambda: (f"process {'running' if self.proc.poll() is None else 'exited ' + str(self.proc.returncode)}; "
                            f"log since offset {since}:\n{self.log_text()[since:][-6000:]}"))

    def wait_for_log_count(self, regex, count, timeout=10.0, since=0):
        """Poll the log until `regex` matches at least `count` times after `since`; return the matches."""
        pattern = re.compile(regex, re.M)

        def enough():
            found = list(pattern.finditer(self.log_text(), since))
            return (found,) if len(found) >= count else None

        return wait_until(
            enough, timeout, what=f"{count} log lines matching {regex!r}",
            detail=lambda: f"log tail:\n{self.log_text()[-6000:]}")[0]

    # -- lifecycle -------------------------------------------------------------------------
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0) -> int:
        """Send `sig` (SIGTERM by default), wait up to `timeout` s, return the exit code.

        If the process does not exit in time it is killed and the test fails.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"quench did not exit within {timeout}s after signal {sig!r}; log tail:\n{self.log_text()[-6000:]}"
            )

    def wait_exit(self, timeout=5.0) -> int:
        """Wait (without signalling) up to `timeout` s for the process to exit; return the exit code or fail."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"quench did not exit within {timeout}s; log tail:\n{self.log_text()[-6000:]}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def wait_until(predicate, timeout=10.0, what="condition", detail=None):
    """Poll `predicate` until it returns a truthy value (returned) or fail at the deadline, with `detail()`
    (what was seen instead: a log tail, a page snapshot) appended to the failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s" + (f"; {detail()}" if detail else ""))
        time.sleep(POLL_S)


def _port_accepts(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def start_quench(tmp_path):
    """Factory: start_quench(*args, env=None, open_files=None, port=None) -> QuenchServer.

    Runs `quench --host 127.0.0.1 --port P *args` with stdout+stderr going to a log file, waits (<= 10 s)
    until the port accepts TCP, and returns the server. `env` entries are added to the current environment.
    Every process started here is killed at teardown if it is still running.

    Reminders are off (`--reminder-interval 0`) unless the test passes its own `--reminder-interval`: with
    the default (every 120 s on the even minute) a reminder now and then lands where a test takes the next
    bot_message as its reply, and CI has failed on that more than once.
    """
    binary = require_binary()
    started = []

    def _start(*args, env=None, open_files=None, port=None):
        # open_files: an RLIMIT_NOFILE (soft and hard) for the server, to reach its session limit cheaply.
        # port: this port rather than a free one (a second process sharing it with --reuse-port); one attempt.
        fixed_port = port
        limit_files = None
        if open_files is not None:
            import resource

            def limit_files():
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        last_log = ""
        for attempt in range(1 if fixed_port else 3):  # a free port can be taken by someone else between pick and bind
            port = fixed_port or free_port()
            log_path = tmp_path / f"quench-{port}-{len(started)}.log"
            argv = [binary, "--host", "127.0.0.1", "--port", str(port), *map(str, args)]
            if not any(str(arg).startswith("--reminder-interval") for arg in args):
                argv += ["--reminder-interval", "0"]
            with open(log_path, "wb") as log_file:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=full_env,
                    start_new_session=True,
                    preexec_fn=limit_files,
                )
            server = QuenchServer(proc, port, log_path, argv)
            started.append(server)
            deadline = time.monotonic() + START_DEADLINE_S
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if _port_accepts(port):
                    return server
                time.sleep(POLL_S)
            last_log = server.log_text()
            if proc.poll() is None:
                server.kill()
                pytest.fail(f"quench did not accept TCP on port {port} within {START_DEADLINE_S}s; log:\n{last_log}")
            if proc.returncode == 1 and re.search(r"in use|EADDRINUSE|bind", last_log, re.I):
                continue  # lost the port race: try another port
            pytest.fail(f"quench exited with {proc.returncode} during start ({' '.join(argv)}); log:\n{last_log}")
        pytest.fail(f"quench could not bind a free port in 3 attempts; last log:\n{last_log}")

    yield _start

    for server in started:
        server.kill()
        if server.log_path.exists():
            text = server.log_text()
            print(f"----- quench log ({' '.join(server.argv[1:])}), last 4000 chars -----\n{text[-4000:]}")


class DeadlineExceeded(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Hard per-test deadline (default 60 s, @pytest.mark.deadline(S) to change): no test can hang the suite."""
    marker = item.get_closest_marker("deadline")
    seconds = float(marker.args[0]) if marker else DEFAULT_DEADLINE_S

    def on_alarm(signum, frame):
        raise DeadlineExceeded(f"test exceeded its {seconds:.0f}s deadline")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def open_ws(start_quench):
    """Factory: open_ws(server, **EioWS kwargs) -> EioWS; every socket is closed at teardown."""
    from interop_helpers import EioWS

    opened = []

    def _open(server, **kwargs):
        ws = EioWS(server, **kwargs)
        opened.append(ws)
        return ws

    yield _open
    for ws in opened:
        ws.close()


@pytest.fixture
def sio_client(start_quench):
    """Factory: sio_client(server, connect=True, **kw) -> SioClient (python-socketio, websocket only)."""
    from interop_helpers import SioClient

    clients = []

    def _make(server, connect=True, **kwargs):
        client = SioClient(server)
        clients.append(client)
        if connect:
            client.connect(**kwargs)
        return client

    yield _make
    for client in clients:
        client.disconnect()
