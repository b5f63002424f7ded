/// The chat page quench serves at `GET /` (unless `--static DIR` replaces it).
///
/// Why it exists: the seed is a chat app whose users sit in a browser, so quench carries a page a person can
/// open to try it with nothing else installed — see the connection state, send a message, read the bot's
/// reply and the hydration reminders. Its client is not socket.io-client: it is a few dozen lines written
/// here that speak Engine.IO v4 / Socket.IO v5 themselves, the way socket.io-client does — handshake over
/// HTTP long-polling, then upgrade to WebSocket. That makes the page the reference browser client for the
/// interop suite: `Tests/Interop/test_browser.py` loads this exact document in headless Chromium, both from
/// quench itself and re-served from another origin, to prove polling, the upgrade and CORS in a real browser.
///
/// Which server the page talks to: `window.QUENCH_URL` when a script sets it before the page's own script
/// runs (that is how a copy of the page served from another origin is pointed at quench), otherwise the
/// page's own origin; the Engine.IO path is `window.QUENCH_PATH`, by default `/socket.io/` (a server run
/// with another `--path` sets it the same way). There is deliberately no query-string override, so a link
/// cannot point quench's own page at some other server.
///
/// Hooks for tests and curious people (all on `document.body.dataset`): `state` is `connecting`,
/// `connected` or `disconnected`; `transport` is `polling` or `websocket` (absent while disconnected);
/// `error` is why the last session ended or failed; `attempts` counts connection attempts (the page retries
/// with backoff). Every message is an `li.msg` in `#messages` with a second class `bot`, `system` or
/// `user`; its text is set with `textContent`, never parsed as HTML.
public enum ChatPage {
    /// The Engine.IO/Socket.IO client alone: defines `QuenchClient(server, path, handlers)` and touches no
    /// DOM, so another page can embed it. `handlers` has `connect(sid)`, `transport(name)`,
    /// `event(name, data)` and `close(reason)`; the returned object has `emit(name, data)` and `close()`.
    public static let clientScript: String = #"""
    /* QuenchClient: Engine.IO v4 + Socket.IO v5, written for this page (no socket.io-client). It opens an
       HTTP long-polling session, then upgrades it to a WebSocket, as socket.io-client does; when the
       server offers no long-polling (`transports` without "polling"), it opens a WebSocket at once. */
    function QuenchClient(server, path, on, transports) {
      var RS = "\x1e", base = server.replace(/\/+$/, "") + path + "?EIO=4&transport=";
      var sid, ws, pingWait, watchdog, transport = "polling", closed = false, paused = false;
      var polling = false, posting = false, outbox = [];

      function url(kind) { return base + kind + (sid ? "&sid=" + encodeURIComponent(sid) : ""); }
      function request(method, body) {
        return fetch(url("polling") + "&t=" + Date.now().toString(36), { method: method, body: body, cache: "no-store" })
          .then(function (r) {
            return r.text().then(function (text) {
              if (!r.ok) throw new Error("HTTP " + r.status + " " + text);
              return text;
            });
          });
      }
      function stop(reason) {
        if (closed) return;
        closed = true;
        clearTimeout(watchdog);
        if (ws) ws.close();
        on.close(reason);
      }
      function lost(error) { stop("connection lost: " + error.message); }

      function receive(packet) {            // one Engine.IO packet
        if (closed) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(function () { stop("ping timeout"); }, pingWait);
        var type = packet.charAt(0), data = packet.slice(1);
        if (type === "2") send("3");        // ping → pong
        else if (type === "1") stop("closed by the server");
        else if (type === "4") message(data);
      }
      function message(data) {              // one Socket.IO packet on "/"
        var kind = data.charAt(0), json = data.slice(1).replace(/^\d+/, "");
        if (kind === "0") on.connect(JSON.parse(json).sid);
        else if (kind === "2") on.event.apply(null, JSON.parse(json));
        else if (kind === "1") stop("disconnected by the server");
        else if (kind === "4") stop("refused: " + json);
      }
      function send(packet) {
        if (closed) return;
        if (transport === "websocket") ws.send(packet);
        else { outbox.push(packet); flush(); }
      }
      function flush() {                    // one POST at a time; packets joined by the record separator
        if (posting || paused || closed || !outbox.length) return;
        posting = true;
        request("POST", outbox.splice(0).join(RS)).then(function () {
          posting = false;
          if (paused) upgraded(); else flush();
        }).catch(lost);
      }
      function poll() {                     // one GET at a time; the server holds it until it has packets
        if (closed || paused || transport !== "polling") return;
        polling = true;
        request("GET").then(function (text) {
          polling = false;
          text.split(RS).forEach(receive);
          if (paused) upgraded(); else poll();
        }).catch(lost);
      }
      function upgrade() {                  // probe a WebSocket; a failed probe leaves polling working
        var probe = new WebSocket(url("websocket").replace(/^http/, "ws"));
        probe.onopen = function () { probe.send("2probe"); };
        probe.onmessage = function (event) {
          if (event.data === "3probe" && !ws && !closed) { ws = probe; paused = true; upgraded(); }
          else if (ws === probe) receive(event.data);
        };
        probe.onclose = function () { if (ws === probe) stop("WebSocket closed"); };
      }
      function upgraded() {                 // once the last GET (answered with a noop) and POST are back
        if (!paused || polling || posting || closed) return;
        transport = "websocket";
        paused = false;
        ws.send("5");
        outbox.splice(0).forEach(function (packet) { ws.send(packet); });
        on.transport("websocket");
      }

      function opened(text) {               // the open packet: 0{"sid":…,"upgrades":[…],…}
        if (text.charAt(0) !== "0") throw new Error("unexpected handshake " + text.slice(0, 60));
        var open = JSON.parse(text.slice(1));
        sid = open.sid;
        pingWait = open.pingInterval + open.pingTimeout;
        return open;
      }
      function websocketOnly() {            // no polling to start on: the WebSocket carries the handshake
        transport = "websocket";
        ws = new WebSocket(url("websocket").replace(/^http/, "ws"));
        ws.onmessage = function (event) {
          if (sid) { receive(event.data); return; }
          try { opened(event.data); } catch (error) { stop("handshake failed: " + error.message); return; }
          on.transport("websocket");
          send("40");
        };
        ws.onclose = function () { stop(sid ? "WebSocket closed" : "handshake failed: WebSocket closed"); };
      }

      if (transports && transports.indexOf("polling") < 0) websocketOnly();
      else request("GET").then(function (text) { // the handshake over long-polling
        var packets = text.split(RS), open = opened(packets.shift());
        on.transport("polling");
        packets.forEach(receive);
        send("40");
        poll();
        if (window.WebSocket && (open.upgrades || []).indexOf("websocket") >= 0) upgrade();
      }).catch(function (error) { stop("handshake failed: " + error.message); });

      return {
        emit: function (name, data) { send("42" + JSON.stringify([name, data])); },
        close: function () { send("1"); stop("closed by the page"); }
      };
    }
    """#

    /// The page's own glue: connection state, the message list, the form, reconnecting with backoff.
    static let pageScript: String = #"""
    (function () {
      var server = window.QUENCH_URL || location.origin, path = window.QUENCH_PATH || "/socket.io/";
      var transports = window.QUENCH_TRANSPORTS || ["polling", "websocket"];
      var page = document.body, list = document.getElementById("messages");
      var status = document.getElementById("status"), form = document.getElementById("composer");
      var input = document.getElementById("text"), button = form.querySelector("button");
      var client, attempts = 0, retries = 0;

      function show(kind, text) {
        var item = document.createElement("li");
        item.className = "msg " + kind;
        item.textContent = text;
        list.appendChild(item);
        list.scrollTop = list.scrollHeight;
      }
      function state(name, text) {
        page.dataset.state = name;
        status.textContent = text;
        button.disabled = name !== "connected";
      }
      function connect() {
        page.dataset.attempts = ++attempts;
        // Every session starts on long-polling, unless the server offers none.
        page.dataset.transport = transports.indexOf("polling") < 0 ? "websocket" : "polling";
        state("connecting", "Connecting to " + server + "…");
        client = QuenchClient(server, path, {
          connect: function () {
            retries = 0;
            delete page.dataset.error;
            state("connected", "Connected via " + page.dataset.transport);
          },
          transport: function (name) {
            page.dataset.transport = name;
            if (page.dataset.state === "connected") state("connected", "Connected via " + name);
          },
          event: function (name, data) {
            var text = data && typeof data.text === "string" ? data.text : JSON.stringify(data);
            if (name === "bot_message") show("bot", text);
            else if (name === "system_message") show("system", text);
          },
          close: function (reason) {
            var delay = Math.min(30, Math.pow(2, retries++));
            if (page.dataset.state === "connected") show("system", "Disconnected: " + reason);
            delete page.dataset.transport;
            page.dataset.error = reason;
            state("disconnected", "Disconnected (" + reason + "). Retrying in " + delay + " s.");
            setTimeout(connect, delay * 1000);
          }
        }, transports);
      }

      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!input.value.trim() || page.dataset.state !== "connected") return;
        client.emit("user_message", { text: input.value });
        show("user", input.value);
        input.value = "";
      });
      document.getElementById("server").textContent = server;
      connect();
    })();
    """#

    /// The whole page: one self-contained HTML document (inline CSS and script, nothing fetched).
    public static let html: String = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>quench chat</title>
    <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'%3E%3Ctext y='.9em' font-size='90'%3E%F0%9F%92%A7%3C/text%3E%3C/svg%3E">
    <style>
      :root { color-scheme: light dark; --bg: #f3f5f8; --card: #fff; --ink: #1c2430; --muted: #5f6b7a;
              --line: #dce2ea; --accent: #1f6feb; --bot: #eaeef3; --ok: #1a7f37; --bad: #cf222e; --wait: #bf8700; }
      @media (prefers-color-scheme: dark) {
        :root { --bg: #0d1117; --card: #161b22; --ink: #e6edf3; --muted: #8b949e; --line: #30363d;
                --accent: #2f81f7; --bot: #262c36; }
      }
      * { box-sizing: border-box; }
      body { margin: 0; background: var(--bg); color: var(--ink);
             font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
      main { display: flex; flex-direction: column; gap: 12px; max-width: 680px; height: 100vh;
             margin: 0 auto; padding: 20px 16px; }
      header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 16px; }
      h1 { margin: 0; font-size: 1.3rem; }
      h1 small { color: var(--muted); font-size: .8rem; font-weight: normal; margin-left: .5em; }
      #status { margin: 0; color: var(--muted); font-size: .9rem; }
      #status::before { content: ""; display: inline-block; width: .6em; height: .6em; margin-right: .45em;
                        border-radius: 50%; background: var(--wait); }
      [data-state=connected] #status::before { background: var(--ok); }
      [data-state=disconnected] #status::before { background: var(--bad); }
      #messages { flex: 1; display: flex; flex-direction: column; gap: 8px; margin: 0; padding: 14px;
                  overflow-y: auto; list-style: none; background: var(--card); border: 1px solid var(--line);
                  border-radius: 12px; }
      .msg { max-width: 80%; padding: 7px 12px; border-radius: 16px; white-space: pre-wrap; overflow-wrap: anywhere; }
      .msg.user { align-self: flex-end; color: #fff; background: var(--accent); border-bottom-right-radius: 4px; }
      .msg.bot { align-self: flex-start; background: var(--bot); border-bottom-left-radius: 4px; }
      .msg.system { align-self: center; padding: 2px 8px; color: var(--muted); font-size: .85rem; font-style: italic; }
      form { display: flex; gap: 8px; }
      input, button { font: inherit; border-radius: 10px; }
      input { flex: 1; min-width: 0; padding: 9px 12px; color: inherit; background: var(--card); border: 1px solid var(--line); }
      input:focus-visible, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
      button { padding: 9px 20px; font-weight: 600; color: #fff; background: var(--accent); border: 0; cursor: pointer; }
      button:disabled { opacity: .45; cursor: not-allowed; }
      .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    </style>
    </head>
    <body data-state="connecting">
    <main>
      <header>
        <h1>quench chat <small id="server"></small></h1>
        <p id="status" role="status">Connecting…</p>
      </header>
      <ol id="messages" aria-live="polite" aria-label="Messages"></ol>
      <form id="composer" autocomplete="off">
        <label for="text" class="visually-hidden">Message</label>
        <input id="text" name="text" placeholder="Type a message and press Enter">
        <button type="submit" disabled>Send</button>
      </form>
      <noscript>This page needs JavaScript to talk to the server.</noscript>
    </main>
    <script>
    \#(clientScript)
    \#(pageScript)
    </script>
    </body>
    </html>

    """#
}
