"""Any node, any request (issue 21): three quench nodes and a real redis-server behind Debian's haproxy, with
round robin, no cookies and `option httpclose`, so that every request travels on its own connection and a
client's handshake, GETs, POSTs and upgrade land on different nodes (cluster_support.py).

Proven here, with real clients only:
- raw Engine.IO requests sent to chosen nodes: a sid names the node that made it; one session's POSTs and
  GETs, each on another node, reach the owner in order and come back as the owner would answer them (held
  GETs, the 16-packet limit); a WebSocket upgrade on another node moves the session (rooms and queued packets
  with it); an owner that is gone gives 400 "Session ID unknown" instead of a hang; /metrics counts it all;
- python-socketio's client over polling only, 200 clients x 20 messages through the balancer, every reply
  exact and in order, and the requests spread over the three nodes;
- socket.io-client 4.8.1 in headless Chromium (polling then upgrade, polling only, WebSocket only) through the
  balancer: 50 messages in order, a reminder, a room (joined through the Redis emitter: the chat app itself
  has no join event), an ack, binary both ways; no error, no reconnect, no "Session ID unknown" anywhere;
- a node killed (SIGKILL) or stopped (SIGTERM) mid-run: its clients reconnect through the balancer within the
  ping interval + ping timeout + a few seconds (and, after SIGTERM, recover their session through the
  handover); the other nodes' clients see nothing.
WebSocket-only clients work through such a balancer without forwarding: those tests guard that.
"""

import asyncio
import json
import os
import pathlib
import re
import shutil
import signal
import tempfile
import threading
import time

import pytest
import requests
import socketio

from cluster_support import cluster, cluster_factory, cluster_redis, needs_haproxy  # noqa: F401  (fixtures)
from conftest import wait_until
from interop_helpers import CONNECTED, REMINDER_RE, EioWS, reply_re, user_message
from test_browser import CHROMIUM, browser  # noqa: F401  (fixture: one headless Chromium per test)
from test_metrics import metric
from test_restart import socketio_min_js

#: A sid made by a node with --message-queue: the node's 12-hex-digit tag, then 20 random URL-safe characters.
CLUSTER_SID_RE = re.compile(r"^([0-9a-f]{12})[A-Za-z0-9_-]{20}$")
UNKNOWN = "Session ID unknown"
#: Heartbeat of the tests that wait for a dead node to be noticed: short, so the bound below is too. The
#: timeout is 3 s, not shorter: haproxy waits up to a second before it retries a request whose node refused
#: the connection (the moments before its health check marks the node down), and a pong held up that long
#: must still count.
PING = ("--ping-interval", "1s", "--ping-timeout", "3s")
#: How long a client of a dead node may take to be back: ping interval + ping timeout, the 3 s a node waits
#: for an owner's answer (EngineServer.nodeAnswerTimeout), and socket.io-client's reconnection delay (at most
#: 500 ms here), plus a second of haproxy's retry delay.
RECONNECT_BOUND_S = 1 + 3 + 3 + 0.5 + 1


# ------------------------------------------------------------------------------------------ raw Engine.IO

def path(node, sid=None, transport="polling"):
    return f"{node.url}/socket.io/?EIO=4&transport={transport}" + (f"&sid={sid}" if sid else "")


def handshake(node):
    r = requests.get(path(node), headers={"Connection": "close"}, timeout=5)
    assert r.status_code == 200 and r.text.startswith("0"), (r.status_code, r.text)
    return json.loads(r.text[1:])["sid"]


def post(node, sid, *packets, timeout=10):
    r = requests.post(path(node, sid), data="\x1e".join(packets).encode(), headers={"Connection": "close",
                      "Content-Type": "text/plain;charset=UTF-8"}, timeout=timeout)
    assert (r.status_code, r.text) == (200, "ok"), f"POST {packets!r} to {node.url}: {r.status_code} {r.text!r}"


def get(node, sid, timeout=10):
    """One polling GET on `node`: the packets of its payload (a held GET waits for them)."""
    r = requests.get(path(node, sid), headers={"Connection": "close"}, timeout=timeout)
    assert r.status_code == 200, f"GET on {node.url}: {r.status_code} {r.text!r}"
    return r.text.split("\x1e")


def events(packets):
    """The Socket.IO events among Engine.IO packets, as [name, *args]."""
    return [json.loads(p[2:]) for p in packets if p.startswith("42")]


def collect(nodes, sid, want, sizes=None, rounds=40):
    """GETs on `nodes` in turn (answering pings by POSTing "3" to the next node) until `want(events so far)`;
    returns every event seen. `sizes` gets each payload's packet count."""
    seen = []
    for i in range(rounds):
        packets = get(nodes[i % len(nodes)], sid)
        if sizes is not None:
            sizes.append(len(packets))
        if "2" in packets:
            post(nodes[(i + 1) % len(nodes)], sid, "3")
        seen += events(packets)
        if want(seen):
            return seen
    raise AssertionError(f"not reached after {rounds} GETs; events: {seen!r}")


def connect_polling(owner, other, third):
    """Handshake on `owner`, Socket.IO CONNECT posted on `other`, the answer read on `third`: (eio sid, sio sid)."""
    sid = handshake(owner)
    post(other, sid, "40")
    packets = []
    while not any(p.startswith("42") for p in packets):
        packets += get(third, sid)
    connect = next(p for p in packets if p.startswith("40"))
    assert events(packets) == [["system_message", CONNECTED]], packets
    return sid, json.loads(connect[2:])["sid"]


def test_every_sid_names_the_node_that_made_it(cluster):
    c = cluster(3)
    tags = []
    for node in c.nodes:
        sids = [handshake(node) for _ in range(3)]
        matches = [CLUSTER_SID_RE.match(sid) for sid in sids]
        assert all(matches), f"sids of a node with --message-queue should be a 12-hex tag + 20 characters: {sids}"
        assert len({m.group(1) for m in matches}) == 1, f"one node, one tag: {sids}"
        tags.append(matches[0].group(1))
    assert len(set(tags)) == 3, f"each node its own tag: {tags}"


@pytest.mark.deadline(60)
def test_one_session_s_requests_on_three_nodes_in_turn(cluster):
    c = cluster(3)
    a, b, n3 = c.nodes
    sid, sio_sid = connect_polling(a, b, n3)

    # A GET held on B is answered by what C's POST makes the owner (A) send.
    held = {}
    thread = threading.Thread(target=lambda: held.setdefault("packets", get(b, sid, timeout=20)), daemon=True)
    thread.start()
    post(n3, sid, user_message({"text": "held across"}))
    thread.join(20)
    got = events(held.get("packets", []))
    if not any(e[0] == "bot_message" for e in got):
        got += collect([n3, a, b], sid, lambda seen: any(e[0] == "bot_message" for e in seen))
    assert [e for e in got if e[0] == "bot_message"][0][1]["text"].startswith("held across rcvd at"), got

    # POSTs on A, B, C, A, B...: the owner sees them in the order sent; the replies come back in that order.
    order = [f"in order {k:02d}" for k in range(9)]
    for k, text in enumerate(order):
        post(c.nodes[k % 3], sid, user_message({"text": text}))
    seen = collect([b, n3, a], sid, lambda s: len([e for e in s if e[0] == "bot_message"]) >= len(order))
    texts = [e[1]["text"] for e in seen if e[0] == "bot_message"]
    assert len(texts) == len(order) and all(reply_re(t).match(x) for t, x in zip(order, texts)), texts

    # Twenty emits to the sid through Redis: no payload carries more than 16 packets, whichever node serves it,
    # and all twenty come once, in order.
    emitter = socketio.RedisManager(c.redis.url, write_only=True)
    for k in range(20):
        emitter.emit("bot_message", {"text": f"queued {k:02d}"}, to=sio_sid, namespace="/")
    a.wait_for_log_count(r"received \d+ bytes: .*queued 19", 1, timeout=10)
    sizes = []
    seen = collect([n3, b, a], sid, lambda s: len(s) >= 20, sizes)
    assert [e[1]["text"] for e in seen] == [f"queued {k:02d}" for k in range(20)], seen
    assert max(sizes) <= 16, sizes

    # The nodes count it: requests forwarded where they arrived, served where the session lives.
    for node in (b, n3):
        assert metric(node, "quench_forwarded_requests_total", outcome="answered") > 0
    assert metric(a, "quench_forwarded_requests_served_total") > 0
    assert not c.grep_logs(UNKNOWN), c.grep_logs(UNKNOWN)


@pytest.mark.deadline(60)
def test_a_websocket_upgrade_on_another_node_moves_the_session(cluster):
    c = cluster(3)
    a, b, n3 = c.nodes
    sid, sio_sid = connect_polling(a, a, a)
    emitter = socketio.RedisManager(c.redis.url, write_only=True)
    emitter.enter_room(sio_sid, "/", "lobby")
    for node in c.nodes:
        node.wait_for_log(r"received \d+ bytes: .*enter_room")
    post(a, sid, user_message({"text": "queued on a"}))  # its reply waits in A's queue: nobody GETs it
    a.wait_for_log(r"connect sid=" + re.escape(sio_sid))

    ws = EioWS(b, query=f"EIO=4&transport=websocket&sid={sid}")
    try:
        ws.send("2probe")
        assert ws.recv_text(answer_pings=False) == "3probe"
        ws.send("5")
        # What A had queued comes over the WebSocket on B; the room came along; the session works on B.
        queued = ws.recv_sio()
        assert queued["data"][0] == "bot_message" and reply_re("queued on a").match(queued["data"][1]["text"]), queued
        emitter.emit("bot_message", {"text": "to the lobby"}, room="lobby", namespace="/")
        assert ws.recv_sio()["data"] == ["bot_message", {"text": "to the lobby"}]
        ws.send(user_message({"text": "on b"}))
        reply = ws.recv_sio()
        assert reply_re("on b").match(reply["data"][1]["text"]), reply
    finally:
        ws.close()
    assert metric(b, "quench_session_moves_total", outcome="moved_in") == 1
    assert metric(a, "quench_session_moves_total", outcome="moved_out") == 1
    assert not c.grep_logs(UNKNOWN), c.grep_logs(UNKNOWN)


@pytest.mark.deadline(60)
def test_an_owner_that_is_gone_gives_400_session_id_unknown_not_a_hang(cluster):
    c = cluster(3, "--ping-interval", "2s", "--ping-timeout", "1s")
    a, b, n3 = c.nodes
    sid, _ = connect_polling(a, b, n3)  # B and C do reach the owner while it lives

    # A GET held on B for a session of A, then A dies: B answers 400 within the ping interval and a few seconds.
    held = {}

    def hold():
        held["response"] = requests.get(path(b, sid), headers={"Connection": "close"}, timeout=2 + 5)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    c.kill(0)
    thread.join(10)
    response = held.get("response")
    assert response is not None, "the GET held on B for the dead owner got no answer within the ping interval + 5 s"
    if response.status_code == 200:  # the owner answered it (a ping) before it died: the next GET must fail
        response = requests.get(path(b, sid), headers={"Connection": "close"}, timeout=2 + 5)
    assert response.status_code == 400 and UNKNOWN in response.text, (response.status_code, response.text)
    # A POST and a GET on the third node: 400 as well, and quickly (the owner is known gone, or found so).
    r = requests.post(path(n3, sid), data=b"3", headers={"Connection": "close"}, timeout=2 + 5)
    assert r.status_code == 400 and UNKNOWN in r.text, (r.status_code, r.text)
    r = requests.get(path(n3, sid), headers={"Connection": "close"}, timeout=2 + 5)
    assert r.status_code == 400 and UNKNOWN in r.text, (r.status_code, r.text)
    assert metric(b, "quench_forwarded_requests_total", outcome="owner_gone") >= 1
    assert metric(n3, "quench_forwarded_requests_total", outcome="owner_gone") >= 1


# --------------------------------------------------------------------------------- python-socketio clients

def run_clients(url, count, messages, transports, deadline_s=90, gate_size=100):
    """`count` python-socketio AsyncClients on `transports` through `url`, each sending `messages`
    user_messages at once and collecting its bot replies. Returns (replies per client, exceptions)."""
    deadline = time.monotonic() + deadline_s

    async def one(index, gate, results):
        sio = socketio.AsyncClient(reconnection=False)
        texts, done, welcomed = [], asyncio.Event(), asyncio.Event()

        def on_bot(data):
            if not REMINDER_RE.match(data.get("text", "")):
                texts.append(data.get("text"))
                if len(texts) == messages:
                    done.set()

        def on_disconnect(*reason):
            gone.append(reason)
            welcomed.set()
            done.set()

        gone = []
        sio.on("bot_message", on_bot)
        sio.on("system_message", lambda data: welcomed.set() if data == CONNECTED else None)
        sio.on("disconnect", on_disconnect)  # ends the waits below at once: a dropped client fails now, not at the deadline
        async with gate:
            await sio.connect(url, transports=list(transports), wait_timeout=10)
        try:
            await asyncio.wait_for(welcomed.wait(), timeout=max(1, deadline - time.monotonic()))
            for seq in range(messages):
                if gone:
                    break
                await sio.emit("user_message", {"text": f"c{index:03d}-m{seq:02d}"})
            await asyncio.wait_for(done.wait(), timeout=max(1, deadline - time.monotonic()))
            if gone:
                raise AssertionError(f"client {index} was disconnected: {gone[0]!r}")
        finally:
            results[index] = texts
            await sio.disconnect()

    async def main():
        results, gate = {}, asyncio.Semaphore(gate_size)
        outcomes = await asyncio.wait_for(asyncio.gather(*(one(i, gate, results) for i in range(count)), return_exceptions=True),
                                          timeout=deadline_s + 10)
        return results, [(i, repr(o)) for i, o in enumerate(outcomes) if isinstance(o, BaseException)]

    return asyncio.run(main())


def check_replies(results, count, messages):
    for i in range(count):
        texts = results.get(i, [])
        assert len(texts) == messages, f"client {i} got {len(texts)}/{messages} replies: {texts[-3:]}"
        for seq, text in enumerate(texts):
            assert reply_re(f"c{i:03d}-m{seq:02d}").match(text), f"client {i} reply #{seq} is {text!r}"


@pytest.mark.deadline(120)
def test_python_socketio_polling_clients_through_the_balancer(cluster):
    c = cluster(3)
    count, messages = 200, 20
    results, errors = run_clients(c.url, count, messages, ["polling"])
    assert not errors, f"{len(errors)} clients failed (connect errors included), first: {errors[:3]}\n{c.logs()}"
    check_replies(results, count, messages)
    spread = c.balancer.requests_per_server()
    assert all(n > count for n in spread.values()), f"requests per node through the balancer: {spread}"
    for node in c.nodes:  # each node both forwarded requests and served forwarded ones
        assert metric(node, "quench_forwarded_requests_total", outcome="answered") > 0
        assert metric(node, "quench_forwarded_requests_served_total") > 0
    assert not c.grep_logs(UNKNOWN), c.grep_logs(UNKNOWN)[:5]


@pytest.mark.deadline(90)
def test_websocket_only_clients_through_the_balancer(cluster):
    """No forwarding needed (one connection per client): works without issue 21, and must keep working."""
    c = cluster(3)
    count, messages = 60, 20
    results, errors = run_clients(c.url, count, messages, ["websocket"])
    assert not errors, f"{len(errors)} clients failed, first: {errors[:3]}"
    check_replies(results, count, messages)
    spread = c.balancer.requests_per_server()
    assert all(n >= count // 3 - 1 for n in spread.values()), spread
    for i, node in enumerate(c.nodes):
        assert re.search(r"info connect sid=", node.log_text()), f"node{i} served no client"
    assert not c.grep_logs(UNKNOWN), c.grep_logs(UNKNOWN)[:5]


# ----------------------------------------------------------------------------- socket.io-client in Chromium

#: n sockets (forceNew: one Engine.IO session each) on the transports in ?t=, each with its own record.
PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="/socket.io.min.js"></script></head>
<body><script>
const q = new URLSearchParams(location.search);
const transports = q.get("t").split(",");
const plain = (v) => v instanceof ArrayBuffer ? {bin: Array.from(new Uint8Array(v))}
  : ArrayBuffer.isView(v) ? {bin: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}
  : Array.isArray(v) ? v.map(plain)
  : (v && typeof v === "object") ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
window.sockets = []; window.S = [];
for (let i = 0; i < +(q.get("n") || 1); i++) {
  const st = {connects: [], received: [], reasons: [], errors: [], acks: [], transport: null};
  const socket = io({transports, forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 500});
  socket.on("connect", () => st.connects.push({id: socket.id, engine: socket.io.engine.id, recovered: !!socket.recovered}));
  socket.on("connect_error", (e) => st.errors.push(String(e && e.message) + " " + JSON.stringify(e && e.description)));
  socket.on("disconnect", (reason, detail) => st.reasons.push(reason + " " + String(detail && detail.message || "")));
  socket.onAny((event, ...args) => st.received.push([event, ...args.map(plain)]));
  setInterval(() => { st.transport = socket.io.engine ? socket.io.engine.transport.name : null; }, 20);
  sockets.push(socket); S.push(st);
}
window.sendMany = (i, prefix, n) => { for (let k = 0; k < n; k++) sockets[i].emit("user_message", {text: prefix + String(k).padStart(2, "0")}); };
window.askWithAck = (i, text) => { sockets[i].timeout(5000).emit("user_message", {text}, (err) => S[i].acks.push(err ? "error: " + err.message : "ok")); };
window.sendBinary = (i, text) => { sockets[i].emit("user_message", {text, blob: new Uint8Array([0, 1, 254, 255])}); };
</script></body></html>
"""


@pytest.fixture
def static_page():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="quench-any-node-"))
    shutil.copy(socketio_min_js(), directory / "socket.io.min.js")
    (directory / "index.html").write_text(PAGE)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def chromium_installed():
    """test_browser's rule, for this module's browser tests only: skip without Chromium, fail with
    QUENCH_REQUIRE_CHROMIUM=1."""
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install chromium, or set CHROMIUM_BIN)"
        if os.environ.get("QUENCH_REQUIRE_CHROMIUM") == "1":
            pytest.fail(reason + " and QUENCH_REQUIRE_CHROMIUM=1")
        pytest.skip(reason + ": the browser tests need it")


@pytest.fixture
def chromium(chromium_installed, browser):
    return browser


def page(chromium):
    return json.loads(chromium.evaluate("JSON.stringify(window.S || [])") or "[]")


def page_until(chromium, predicate, what, timeout=30, fail_on_error=True):
    """Poll the page's records until predicate(records); with fail_on_error, a connect error or a disconnect
    on any socket fails at once (instead of at the deadline) with what the page saw."""
    def detail():
        lines = [f"socket {i}: connects={[(c['engine'], c['recovered']) for c in s['connects']]} reasons={s['reasons']} "
                 f"errors={s['errors']} last={bot_texts(s)[-2:]}" for i, s in enumerate(page(chromium))]
        return "page:\n" + "\n".join(lines) + f"\nconsole:\n{chromium.console_text()[-2000:]}"

    def reached():
        state = page(chromium)
        if fail_on_error and any(s["errors"] or s["reasons"] for s in state):
            raise AssertionError(f"a socket failed while waiting for {what}; {detail()}")
        return state if state and predicate(state) else None

    return wait_until(reached, timeout, what=what, detail=detail)


def bot_texts(state):
    return [e[1]["text"] for e in state["received"] if e[0] == "bot_message" and isinstance(e[1], dict)]


def replies(state, prefix):
    return [t for t in bot_texts(state) if t.startswith(prefix)]


def failed_socketio_responses(chromium, base):
    """(status, url) of every socket.io response with status >= 400 the page received."""
    chromium.drain_events()
    urls = chromium.requests_to(f"{base}/socket.io/")
    return [(e["params"]["response"]["status"], urls[e["params"]["requestId"]]) for e in chromium.events
            if e["method"] == "Network.responseReceived" and e["params"]["requestId"] in urls
            and e["params"]["response"]["status"] >= 400]


@pytest.mark.deadline(90)
@pytest.mark.parametrize("transports", ["polling,websocket", "polling", "websocket"],
                         ids=["polling-then-upgrade", "polling-only", "websocket-only"])
def test_socketio_client_in_chromium_through_the_balancer(cluster, chromium, static_page, transports):
    browser = chromium
    c = cluster(3, "--static", static_page, "--reminder-interval", "1s")
    emitter = socketio.RedisManager(c.redis.url, write_only=True)
    browser.navigate(f"{c.url}/index.html?t={transports}")
    final = transports.split(",")[-1]
    state = page_until(browser, lambda s: s[0]["connects"] and s[0]["transport"] == final
                       and ["system_message", CONNECTED] in s[0]["received"], f"connected over {final} and welcomed")[0]
    sio_sid = state["connects"][0]["id"]

    browser.evaluate("sendMany(0, 'm', 50)")
    state = page_until(browser, lambda s: len(replies(s[0], "m")) >= 50, "50 replies")[0]
    got = replies(state, "m")
    assert len(got) == 50 and all(reply_re(f"m{k:02d}").match(t) for k, t in enumerate(got)), got
    page_until(browser, lambda s: any(REMINDER_RE.match(t) for t in bot_texts(s[0])), "a reminder", timeout=10)

    # A room, joined through the Redis emitter (the app has no join event): the owner applies it.
    emitter.enter_room(sio_sid, "/", "lobby")
    emitter.emit("bot_message", {"text": "not for this page"}, room="elsewhere", namespace="/")
    emitter.emit("bot_message", {"text": "to the lobby"}, room="lobby", namespace="/")
    emitter.emit("bot_message", {"text": "sentinel"}, to=sio_sid, namespace="/")
    state = page_until(browser, lambda s: "sentinel" in bot_texts(s[0]), "the sentinel after the room emits")[0]
    assert "to the lobby" in bot_texts(state) and "not for this page" not in bot_texts(state), bot_texts(state)[-5:]

    browser.evaluate("askWithAck(0, 'with ack')")
    state = page_until(browser, lambda s: s[0]["acks"], "the ack")[0]
    assert state["acks"] == ["ok"], state["acks"]
    browser.evaluate("sendBinary(0, 'binary up')")
    emitter.emit("bin", {"blob": b"\x00\x01\xfe\xff"}, to=sio_sid, namespace="/")
    state = page_until(browser, lambda s: replies(s[0], "binary up") and any(e[0] == "bin" for e in s[0]["received"]),
                       "the binary reply and the binary emit")[0]
    assert reply_re("binary up").match(replies(state, "binary up")[0])
    assert [e[1] for e in state["received"] if e[0] == "bin"] == [{"blob": {"bin": [0, 1, 254, 255]}}]

    # Nothing went wrong on the way: one connect, no error, no disconnect, no failed request, no unknown sid.
    assert len(state["connects"]) == 1 and not state["errors"] and not state["reasons"], state
    assert state["transport"] == final, state["transport"]
    assert not failed_socketio_responses(browser, c.url), failed_socketio_responses(browser, c.url)[:5]
    assert not c.grep_logs(UNKNOWN), c.grep_logs(UNKNOWN)[:5]
    if transports != "websocket":  # polling's requests were spread over the nodes
        spread = c.balancer.requests_per_server()
        assert all(n > 0 for n in spread.values()), spread


@pytest.mark.deadline(120)
@pytest.mark.parametrize("transports, sig", [("websocket", signal.SIGKILL), ("polling", signal.SIGKILL),
                                              ("websocket", signal.SIGTERM)],
                         ids=["websocket-SIGKILL", "polling-SIGKILL", "websocket-SIGTERM"])
def test_a_node_going_away_mid_run(cluster, chromium, static_page, transports, sig):
    """Its clients are back through the balancer within the bound; after SIGTERM (the handover) they continue
    their sessions; after SIGKILL nothing was handed over, so they start new ones (or recover, if the nodes ever
    keep live sessions in Redis). The others see nothing."""
    browser = chromium
    c = cluster(3, "--static", static_page, "--recovery-window", "30s", "--reminder-interval", "0", *PING)
    count = 9
    browser.navigate(f"{c.url}/index.html?t={transports}&n={count}")
    states = page_until(browser, lambda s: len(s) == count and all(
        x["connects"] and any(e[0] == "system_message" for e in x["received"]) for x in s), f"{count} sockets welcomed")
    owner = {}
    for i, st in enumerate(states):
        sio_id = st["connects"][0]["id"]
        found = wait_until(lambda: (lambda n: None if n is None else (n,))(c.node_of_log(f"connect sid={sio_id} ")), 10,
                           what=f"the node of socket {i}")
        owner[i] = found[0]
    per_node = [[i for i in owner if owner[i] == n] for n in range(3)]
    victim = max(range(3), key=lambda n: len(per_node[n]))
    victims = per_node[victim]
    others = [i for i in owner if owner[i] != victim]
    assert victims and others, per_node

    for i in range(count):
        browser.evaluate(f"sendMany({i}, 'before{i}-', 1)")
    page_until(browser, lambda s: all(replies(s[i], f"before{i}-") for i in range(count)), "a reply on every socket")

    c.kill(victim, sig)
    states = page_until(browser, lambda s: all(len(s[i]["connects"]) >= 2 for i in victims),
                        f"the {len(victims)} sockets of the {sig.name}ed node to reconnect", timeout=RECONNECT_BOUND_S,
                        fail_on_error=False)
    for i in victims:
        first, again = states[i]["connects"][:2]
        if sig == signal.SIGTERM:
            assert again == {"id": first["id"], "engine": again["engine"], "recovered": True}, (i, states[i]["connects"])
        elif again["recovered"]:  # nothing was handed over; recovering anyway (from Redis) is allowed, as the same session
            assert again["id"] == first["id"], (i, states[i]["connects"])
        else:  # a new session, welcomed as one
            assert again["id"] != first["id"], (i, states[i]["connects"])
            page_until(browser, lambda s: [e[0] for e in s[i]["received"]].count("system_message") == 2,
                       f"socket {i}'s new session to be welcomed", fail_on_error=False)
    for i in range(count):  # everyone works afterwards
        browser.evaluate(f"sendMany({i}, 'after{i}-', 1)")
    states = page_until(browser, lambda s: all(replies(s[i], f"after{i}-") for i in range(count)), "a reply on every socket after",
                        fail_on_error=False)
    balancer_log = c.balancer.log_text().splitlines()
    victim_server = f"/{c.balancer.server_name(victim)} "
    for i in others:
        st = states[i]
        if len(st["connects"]) == 1 and not st["reasons"] and not st["errors"]:
            continue
        # One exception: a request of this client's (a pong's POST, a poll passed on) that was on its way through
        # the node when it died. The balancer re-sends a request a node died on only when that is safe, never a
        # POST, so the client sees a transport error and reconnects: the balancer's log must show that request
        # failing on the killed node, and the client must have recovered its session, losing nothing.
        engine = st["connects"][0]["engine"]
        failed = [line for line in balancer_log if f"sid={engine}" in line and victim_server in line and " 200 " not in line]
        assert failed, (i, st, f"no request for sid={engine} failed on the killed node")
        again = st["connects"][1]
        assert len(st["connects"]) == 2 and again["recovered"] and again["id"] == st["connects"][0]["id"], (i, st, failed)
