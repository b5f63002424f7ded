"""SIGHUP: with TLS, the certificate and key are reloaded from their files without dropping anyone, so a
renewed certificate needs no restart; a bad pair keeps the old certificate, with a line saying why.
Without TLS there is nothing to reload: a line says so and the server carries on."""

import hashlib
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess

import socketio
import websocket


def make_certificate(directory, name, serial):
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-set_serial", str(serial)],
        check=True, capture_output=True, timeout=60)
    return cert, key


def fingerprint(cert_path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_path.read_text())).hexdigest()


def served_fingerprint(port) -> str:
    """The SHA-256 of the certificate a new TLS connection is shown."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def install(source_cert, source_key, live_cert, live_key):
    """Replace the live files the way a certificate renewal does (write beside, rename over)."""
    for source, live in ((source_cert, live_cert), (source_key, live_key)):
        shutil.copyfile(source, str(live) + ".new")
        os.replace(str(live) + ".new", live)


def sighup(server):
    mark = server.log_mark()
    server.proc.send_signal(signal.SIGHUP)
    return mark


class WssClient:
    """A Socket.IO client on a raw wss:// WebSocket (websocket-client): one connection, answered pings."""

    def __init__(self, port):
        self.ws = websocket.create_connection(
            f"wss://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", sslopt={"cert_reqs": ssl.CERT_NONE}, timeout=5)
        assert self.ws.recv().startswith("0{")
        self.ws.send("40")
        assert self.next_matching("40{")

    def next_matching(self, prefix):
        while True:
            frame = self.ws.recv()
            if frame == "2":
                self.ws.send("3")
            elif frame.startswith(prefix):
                return frame

    def ask(self, text):
        self.ws.send('42["user_message",{"text":"%s"}]' % text)
        return self.next_matching('42["bot_message"')


def test_sighup_reloads_the_certificate_without_dropping_clients(start_quench, tmp_path):
    first = make_certificate(tmp_path, "first", 1)
    renewed = make_certificate(tmp_path, "renewed", 2)
    stranger = make_certificate(tmp_path, "stranger", 3)
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    install(*first, live_cert, live_key)
    # No reminders: ask() takes the next bot_message, which at an even minute would be the reminder.
    server = start_quench("--tls-cert", str(live_cert), "--tls-key", str(live_key), "--reminder-interval", "0")
    assert served_fingerprint(server.port) == fingerprint(first[0])

    client = WssClient(server.port)
    try:
        install(*renewed, live_cert, live_key)
        mark = sighup(server)
        server.wait_for_log(r"^info SIGHUP: TLS certificate reloaded from \S+live\.crt and \S+live\.key; new connections use it", since=mark)
        assert served_fingerprint(server.port) == fingerprint(renewed[0]), "a new connection sees the renewed certificate"

        # The client connected before the reload is still there, on the same connection, and served.
        assert '"after reload rcvd at ' in client.ask("after reload")

        # A file that is not a certificate: the renewed one stays, and the log says why.
        live_cert.write_text("not a certificate\n")
        mark = sighup(server)
        server.wait_for_log(r"^warn SIGHUP: TLS certificate not reloaded, keeping the current one: --tls-cert \S+ is not", since=mark)
        assert served_fingerprint(server.port) == fingerprint(renewed[0])

        # A certificate with someone else's key: likewise.
        install(stranger[0], renewed[1], live_cert, live_key)
        mark = sighup(server)
        server.wait_for_log(r"^warn SIGHUP: TLS certificate not reloaded, keeping the current one: --tls-key \S+ is not the private key", since=mark)
        assert served_fingerprint(server.port) == fingerprint(renewed[0])

        assert '"still here rcvd at ' in client.ask("still here")
    finally:
        client.ws.close()
    assert server.stop() == 0


def test_sighup_without_tls_logs_and_keeps_serving(start_quench):
    server = start_quench()
    mark = sighup(server)
    server.wait_for_log(r"^info SIGHUP: no TLS certificate to reload \(serving plain HTTP\); nothing to do", since=mark)
    assert server.running()
    client = socketio.Client(reconnection=False)
    got = queue.Queue()
    client.on("system_message", got.put)
    client.connect(server.url, transports=["websocket"], wait_timeout=5)
    assert got.get(timeout=5) == {"text": "Connected to server"}
    client.disconnect()
    assert server.stop() == 0
