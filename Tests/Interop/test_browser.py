"""A real browser against quench: headless Chromium runs quench's own chat page (ChatPage.swift).

Chromium (Debian package `chromium`) is driven over the Chrome DevTools Protocol with websocket-client,
which the suite already uses: no selenium, no chromedriver. Chromium starts with
`--remote-debugging-port=0` and writes the port it chose to `DevToolsActivePort` in its profile
directory; the test attaches to the page target, navigates, and reads the page's hooks
(`document.body.dataset.state` / `.transport` / `.error`, the `li.msg` elements) by polling
`Runtime.evaluate` with deadlines. Network events tell whether a request failed the browser's own CORS
check (`Network.loadingFailed` with a `corsErrorStatus`).

The page under test is the one quench serves at `/`, fetched from the running binary:
- same origin: Chromium loads quench's `/` directly;
- another origin: the test re-serves that document from a Python http.server on another loopback port,
  with `<script>window.QUENCH_URL = "http://127.0.0.1:<quench port>"</script>` inserted in its head
  (the page's documented way to point at a server other than its own origin). Different port, different
  origin: every polling request is a real cross-origin fetch that the browser checks.

Skipped only when no Chromium binary is installed (CHROMIUM_BIN overrides the lookup); with
QUENCH_REQUIRE_CHROMIUM=1 (set it in CI) a missing Chromium fails instead.
"""

import base64
import http.server
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest
import websocket

from conftest import free_port, wait_until
from interop_helpers import CONNECTED, REMINDER_RE, reply_re

CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")



@pytest.fixture(autouse=True)
def needs_chromium():
    """Skip when no Chromium is installed — unless QUENCH_REQUIRE_CHROMIUM=1 (CI), where that is a failure."""
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install chromium, or set CHROMIUM_BIN)"
        if os.environ.get("QUENCH_REQUIRE_CHROMIUM") == "1":
            pytest.fail(reason + " and QUENCH_REQUIRE_CHROMIUM=1")
        pytest.skip(reason + ": the browser tests need it")

START_DEADLINE_S = 30.0
PAGE_DEADLINE_S = 20.0
POLL_S = 0.05

# Everything the tests read from the page, in one evaluation.
SNAPSHOT_JS = """(() => {
  const d = document.body ? document.body.dataset : {};
  return {
    url: location.href,
    state: d.state ?? null,
    transport: d.transport ?? null,
    error: d.error ?? null,
    attempts: d.attempts ?? null,
    sendEnabled: !!document.querySelector('#composer button:not([disabled])'),
    messages: Array.from(document.querySelectorAll('#messages li.msg')).map(li => ({
      kind: Array.from(li.classList).filter(c => c !== 'msg').join(' '),
      text: li.textContent,
    })),
  };
})()"""


class CDPError(AssertionError):
    pass


class Chromium:
    """One headless Chromium process and a DevTools connection to its page."""

    def __init__(self, profile_dir: pathlib.Path, log_path: pathlib.Path):
        self.profile_dir = profile_dir
        self.log_path = log_path
        self.events = []
        self._next_id = 0
        argv = [
            CHROMIUM,
            "--headless",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile_dir}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=900,700",
            "about:blank",
        ]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox (CI containers)
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self.ws = self._attach()
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.command(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    # -- startup ---------------------------------------------------------------------------
    def _attach(self):
        """Poll DevToolsActivePort, then /json/list, until the page target appears; connect to it."""
        port_file = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + START_DEADLINE_S
        port = None
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"chromium exited with {self.proc.returncode} at start; log:\n{self.log_text()}")
            if port is None and port_file.exists():
                lines = port_file.read_text().split("\n")
                if lines and lines[0].strip().isdigit():
                    port = int(lines[0])
            if port is not None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                        targets = json.load(response)
                    pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
                    if pages:
                        return websocket.create_connection(
                            pages[0]["webSocketDebuggerUrl"], timeout=10, suppress_origin=True
                        )
                except OSError:
                    pass
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"chromium's DevTools page target not reachable within {START_DEADLINE_S}s; log:\n{self.log_text()}"
                )
            time.sleep(POLL_S)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    # -- protocol --------------------------------------------------------------------------
    def command(self, method, **params):
        """Send one CDP command and return its result; events read meanwhile go to self.events."""
        self._next_id += 1
        call_id = self._next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression):
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise CDPError(f"page threw evaluating {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url):
        result = self.command("Page.navigate", url=url)
        if result.get("errorText"):
            raise AssertionError(f"chromium could not load {url}: {result['errorText']}")

    def snapshot(self) -> dict:
        return self.evaluate(SNAPSHOT_JS)

    def wait_until(self, predicate, what, timeout=PAGE_DEADLINE_S) -> dict:
        """Poll the page snapshot until predicate(snapshot) is truthy; fail with the page and console if not."""
        def reached():
            snap = self.snapshot()
            return snap if predicate(snap) else None

        return wait_until(reached, timeout, what=f"page state: {what}",
                          detail=lambda: f"page: {json.dumps(self.snapshot(), indent=1)}\nconsole:\n{self.console_text()}")

    # -- what the browser reported ---------------------------------------------------------
    def console_text(self) -> str:
        lines = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Log.entryAdded":
                entry = params["entry"]
                lines.append(f"[{entry.get('level')}/{entry.get('source')}] {entry.get('text')}")
            elif event["method"] == "Runtime.consoleAPICalled":
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                lines.append(f"[console.{params.get('type')}] {args}")
            elif event["method"] == "Runtime.exceptionThrown":
                lines.append(f"[exception] {params['exceptionDetails'].get('text')}")
        return "\n".join(lines) or "(nothing)"

    def requests_to(self, url_prefix):
        """Request ids and URLs of every request the page made to url_prefix."""
        return {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent" and e["params"]["request"]["url"].startswith(url_prefix)
        }

    def cors_failures(self, url_prefix):
        """(url, corsError) for each request to url_prefix that the browser failed on a CORS check."""
        requests = self.requests_to(url_prefix)
        return [
            (requests[e["params"]["requestId"]], e["params"]["corsErrorStatus"].get("corsError"))
            for e in self.events
            if e["method"] == "Network.loadingFailed"
            and e["params"].get("corsErrorStatus")
            and e["params"]["requestId"] in requests
        ]

    def drain_events(self):
        """Pull in events that arrived since the last command (a cheap command flushes the socket)."""
        self.evaluate("0")

    def screenshot(self, path: pathlib.Path):
        data = self.command("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    # -- teardown --------------------------------------------------------------------------
    def close(self):
        try:
            if getattr(self, "ws", None) is not None:
                try:
                    self.ws.send(json.dumps({"id": 0, "method": "Browser.close"}))
                except Exception:
                    pass
                self.ws.close()
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the group this Popen started, nothing else
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)


class OtherOrigin:
    """A Python http.server on another loopback port: serves one HTML document (`.html`) at /chat.html."""

    def __init__(self):
        self.html = None
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] != "/chat.html" or owner.html is None:
                    self.send_error(404)
                    return
                body = owner.html.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/chat.html"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def browser(tmp_path):
    # A short profile path of our own: Chromium's sockets live under it and unix socket paths are short.
    profile = pathlib.Path(tempfile.mkdtemp(prefix="quench-chromium-"))
    chromium = Chromium(profile, tmp_path / "chromium.log")
    yield chromium
    try:
        chromium.screenshot(tmp_path / "page.png")  # left for a human looking at a failure
    except Exception:
        pass
    chromium.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def other_origin():
    servers = []

    def _serve(html=None):
        server = OtherOrigin()
        server.html = html
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.close()


def chat_page(server) -> str:
    """quench's built-in page, as the binary serves it at `/` (no Origin: a plain client)."""
    with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        html = response.read().decode("utf-8")
    assert response.status == 200 and content_type.startswith("text/html"), (
        f"GET / should serve the chat page as text/html, got {response.status} {content_type!r}"
    )
    assert "function QuenchClient(" in html, "GET / does not serve the page from ChatPage.swift"
    return html


def pointed_at(html: str, quench_url: str) -> str:
    """The page with window.QUENCH_URL set before its own script (the page's documented override)."""
    setting = f"<script>window.QUENCH_URL = {json.dumps(quench_url)};</script>"
    patched, count = re.subn(r"<head>", "<head>\n" + setting, html, count=1, flags=re.I)
    assert count == 1, "the chat page has no <head> to put the server setting in"
    return patched


def messages(snap, kind):
    return [m["text"] for m in snap["messages"] if m["kind"] == kind]


def send_as_user(chromium, text):
    """Type into the message box and press Enter, as a person would."""
    chromium.evaluate("document.getElementById('text').focus()")
    chromium.command("Input.insertText", text=text)
    for kind in ("keyDown", "keyUp"):
        chromium.command(
            "Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
            **({"text": "\r"} if kind == "keyDown" else {}),
        )


def chat_round_trip(chromium, text):
    """Connected, upgraded, one message and its reply: what a person sees working."""
    snap = chromium.wait_until(lambda s: s["state"] == "connected", "state=connected")
    assert snap["error"] is None, snap
    snap = chromium.wait_until(lambda s: s["transport"] == "websocket", "transport=websocket (the upgrade)")
    assert snap["state"] == "connected", snap
    snap = chromium.wait_until(lambda s: CONNECTED["text"] in messages(s, "system"), "the welcome system_message")
    assert snap["sendEnabled"], snap

    send_as_user(chromium, text)
    pattern = reply_re(text)
    snap = chromium.wait_until(
        lambda s: any(pattern.match(t) for t in messages(s, "bot")), f"a bot reply matching {pattern.pattern}"
    )
    assert text in messages(snap, "user"), snap
    assert chromium.evaluate("document.getElementById('text').value") == ""
    assert snap["state"] == "connected" and snap["transport"] == "websocket", snap
    return snap


@pytest.mark.deadline(90)
def test_page_from_another_origin_connects_upgrades_and_chats(start_quench, browser, other_origin):
    quench = start_quench("--cors-origins", "*", "--reminder-interval", "1s")
    page = other_origin(pointed_at(chat_page(quench), quench.url))
    assert page.origin != quench.url

    browser.navigate(page.url)
    text = "hi from <b>chromium</b> & co — ünïcode ✓"
    chat_round_trip(browser, text)

    # A reminder arrives as a bot_message while the page is open.
    snap = browser.wait_until(lambda s: any(REMINDER_RE.match(t) for t in messages(s, "bot")), "a hydration reminder")
    # Server text is shown as text: the <b> in the message did not become an element.
    assert browser.evaluate("document.querySelectorAll('#messages b').length") == 0

    # The session began on polling, cross-origin, and moved to WebSocket: the log shows both steps.
    quench.wait_for_log(r"open sid=\S+ peer=127\.0\.0\.1 transport=polling")
    quench.wait_for_log(r"upgrade sid=\S+ peer=127\.0\.0\.1 transport=websocket")
    browser.drain_events()
    polls = browser.requests_to(f"{quench.url}/socket.io/")
    assert any("transport=polling" in u for u in polls.values()), polls
    assert not browser.cors_failures(quench.url), browser.cors_failures(quench.url)
    assert snap["attempts"] == "1", snap  # connected on the first try, never dropped


@pytest.mark.deadline(90)
def test_page_served_by_quench_itself(start_quench, browser):
    quench = start_quench("--reminder-interval", "0")
    browser.navigate(f"{quench.url}/")
    snap = chat_round_trip(browser, "same origin")
    assert snap["url"] == f"{quench.url}/"
    assert snap["attempts"] == "1", snap


@pytest.mark.deadline(90)
def test_page_of_a_websocket_only_server_starts_on_websocket(start_quench, browser):
    """With --transports websocket the page opens a WebSocket at once; it once started on long-polling
    and showed 'handshake failed: HTTP 400 … Transport unknown' forever."""
    quench = start_quench("--transports", "websocket", "--reminder-interval", "0")
    browser.navigate(f"{quench.url}/")
    snap = chat_round_trip(browser, "no polling here")
    assert snap["attempts"] == "1", snap
    quench.wait_for_log(r"open sid=\S+ peer=127\.0\.0\.1 transport=websocket")
    assert "transport=polling" not in quench.log_text()
    assert "Transport unknown" not in quench.log_text()


@pytest.mark.deadline(90)
def test_origin_not_on_the_allow_list_is_refused_by_the_browser(start_quench, browser, other_origin):
    page = other_origin()
    allowed_port = free_port()
    while allowed_port == page.port:
        allowed_port = free_port()
    allowed = f"http://127.0.0.1:{allowed_port}"  # an allow-list without the page's origin
    quench = start_quench("--cors-origins", allowed, "--reminder-interval", "0")
    page.html = pointed_at(chat_page(quench), quench.url)

    mark = quench.log_mark()
    browser.navigate(page.url)
    # The second attempt has failed too (the page retries after 1 s): the refusal is stable, not a start-up race.
    snap = browser.wait_until(
        lambda s: int(s["attempts"] or 0) >= 2 and s["state"] == "disconnected", "a second failed connection attempt"
    )
    assert snap["error"].startswith("handshake failed"), snap
    assert CONNECTED["text"] not in messages(snap, "system"), snap
    assert not snap["sendEnabled"], snap

    # It was the browser's own CORS check that failed the handshake (quench answered 400 without
    # Access-Control-Allow-Origin), and quench logged the refusal with the origin.
    browser.drain_events()
    failures = browser.cors_failures(f"{quench.url}/socket.io/")
    assert failures, f"no CORS failure reported by chromium; console:\n{browser.console_text()}"
    assert all("transport=polling" in url and "sid=" not in url for url, _ in failures), failures
    assert {kind for _, kind in failures} <= {"MissingAllowOriginHeader", "AllowOriginMismatch"}, failures
    quench.wait_for_log_count(r"Not an accepted origin.*" + re.escape(page.origin), 2, since=mark)
    assert not re.search(r"\b(open|connect) sid=", quench.log_text()[mark:]), quench.log_text()[mark:]

    # Never connected, at any point of the test.
    assert browser.evaluate("document.body.dataset.state") != "connected"


ADMIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script>%(bundle)s</script></head><body><script>
// What the Admin UI (0.5, App.vue tryConnect) does: the same client options, from another origin.
window.seen = {};
function open(auth, key) {
  const socket = io(%(url)s + "/admin", {forceNew: true, reconnection: false, withCredentials: true,
                                        transports: ["polling", "websocket"], path: "/socket.io", auth});
  const seen = window.seen[key] = {events: {}};
  for (const name of ["session", "config", "all_sockets", "server_stats", "socket_connected"]) {
    socket.on(name, (...args) => { (seen.events[name] ||= []).push(args); });
  }
  socket.on("connect_error", (error) => { seen.error = error.message; });
  socket.on("connect", () => { seen.connected = true; });
  return socket;
}
open({username: "admin", password: "wrong"}, "bad");
window.good = open(%(auth)s, "good");
const user = io(%(url)s, {forceNew: true, withCredentials: true});
user.on("connect", () => { window.seen.user = user.id; });
</script></body></html>"""


@pytest.mark.deadline(90)
def test_the_admin_ui_client_logs_in_from_its_own_origin(start_quench, browser, other_origin):
    """The Admin UI's socket.io client options (withCredentials, polling then WebSocket, auth) from another
    origin, as admin.socket.io is to quench: allowed by --cors-origins naming that origin."""
    from test_admin import AUTH, bcrypt_hash
    from test_restart import socketio_min_js

    page = other_origin()
    quench = start_quench("--admin", "--cors-origins", page.origin, "--reminder-interval", "0",
                          env={"QUENCH_ADMIN_AUTH": "admin:" + bcrypt_hash(AUTH["password"])})
    page.html = ADMIN_PAGE % {"bundle": socketio_min_js().read_text(), "url": json.dumps(quench.url), "auth": json.dumps(AUTH)}
    browser.navigate(page.url)

    def seen():
        value = browser.evaluate(
            "JSON.stringify(Object.assign({}, window.seen, {transport: window.good && window.good.io.engine && window.good.io.engine.transport.name}))")
        return json.loads(value or "{}")

    def complete():
        s = seen()
        good = s.get("good", {})
        events = good.get("events", {})
        done = (s.get("bad", {}).get("error") and s.get("user") and "server_stats" in events and s.get("transport") == "websocket"
                and any(args[0]["id"] == s["user"] for args in events.get("socket_connected", [])))
        return s if done else None

    s = wait_until(complete, PAGE_DEADLINE_S, "the admin page's login, stats and the user's socket",
                   detail=lambda: f"seen: {json.dumps(seen())[:3000]}\nconsole:\n{browser.console_text()}")
    assert s["bad"]["error"] == "invalid credentials"
    good = s["good"]["events"]
    assert isinstance(good["session"][0][0], str) and "EMIT" in good["config"][0][0]["supportedFeatures"]
    assert s["good"]["connected"] and s["transport"] == "websocket"
    browser.drain_events()
    # Cross-origin polling with credentials first (the browser checks each response's CORS headers), then WebSocket.
    assert any("transport=polling" in u for u in browser.requests_to(f"{quench.url}/socket.io/").values())
    assert not browser.cors_failures(quench.url), browser.cors_failures(quench.url)
    quench.wait_for_log(r"admin: login refused peer=127\.0\.0\.1 namespace=/admin: wrong username or password")
