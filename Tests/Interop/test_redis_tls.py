"""rediss://: quench talks to a real redis-server over TLS (its --tls-port, certificates made here with openssl),
verifies the server's certificate (the system's CA store by default, --message-queue-ca, a name from
--message-queue-tls-host), and treats every TLS failure as a failed attempt: one clear line, retries with
backoff, never a crash, local clients served throughout. python-socketio's RedisManager over TLS is the
reference back end on the same channel.
"""

import json
import re
import shutil
import subprocess
import time

import pytest

redis = pytest.importorskip("redis")

from conftest import wait_until  # noqa: E402
from test_redis_connection import (  # noqa: E402
    CHANNEL, PASSWORD, USER, ChannelCounter, RedisProcess, connected, password_file, served)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA and a server certificate it signed for localhost and 127.0.0.1; a second certificate for the name
    redis.test only; and another CA that signed neither."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN=quench {ca}",
                cwd=folder)
    for name, alt in (("server", "DNS:localhost,IP:127.0.0.1"), ("named", "DNS:redis.test")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)
        (folder / f"{name}.ext").write_text(f"subjectAltName={alt}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=folder)
    return folder


class TLSRedis(RedisProcess):
    """redis-server serving TLS only (`--port 0 --tls-port P`), with the certificate `name`."""

    def __init__(self, tmp_path, certificates, name="server", *extra, **kwargs):
        super().__init__(tmp_path, *extra, **kwargs)
        self.ca = str(certificates / "ca.pem")
        self.tls_args = ["--tls-port", str(self.port), "--tls-cert-file", str(certificates / f"{name}.pem"),
                         "--tls-key-file", str(certificates / f"{name}.key"), "--tls-ca-cert-file", self.ca,
                         "--tls-auth-clients", "no"]
        self.server_hostname = "redis.test" if name == "named" else "localhost"

    def url(self, credentials=""):
        return f"rediss://{credentials}127.0.0.1:{self.port}/0"

    def start(self):
        self.extra = ["--port", "0", *self.tls_args, *self.extra]
        return super().start()

    def client(self, **kwargs):
        return redis.Redis(host="127.0.0.1", port=self.port, username=self.username, password=self.password, ssl=True,
                           ssl_ca_certs=self.ca, ssl_check_hostname=False, socket_connect_timeout=0.5, **kwargs)


@pytest.fixture
def tls_redis(tmp_path, certificates):
    made = []

    def _make(*extra, name="server", **kwargs):
        server = TLSRedis(tmp_path, certificates, name, *extra, **kwargs).start()
        made.append(server)
        return server

    yield _make
    for server in made:
        server.stop()


def acl(tls_redis, **kwargs):
    return tls_redis("--user", "default", "off", "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all",
                     username=USER, password=PASSWORD, **kwargs)


def test_tls_with_the_ca_flag_and_an_acl_user_carries_both_ways(start_quench, tls_redis, open_ws, tmp_path, certificates):
    """A managed Redis: TLS, an ACL user, `default` off. quench subscribes, receives an emit published by
    python-socketio's RedisManager over TLS, and publishes an acknowledgement a subscriber sees; the recovery
    store uses the same connection settings."""
    import socketio

    server = acl(tls_redis)
    node = start_quench("--message-queue", server.url(f"{USER}@"), "--message-queue-ca", server.ca,
                        "--message-queue-password-file", password_file(tmp_path, PASSWORD), "--recovery-window", "10s")
    node.wait_for_log(r'^info message queue: subscribed to channel "socketio" on rediss://quench:\*\*\*@127\.0\.0\.1:\d+/0$')
    counter = ChannelCounter(server)
    try:
        server.wait_subscribers(2)
        ws = connected(node, open_ws)
        manager = socketio.RedisManager(f"rediss://{USER}:{PASSWORD}@localhost:{server.port}/0",
                                        redis_options={"ssl_ca_certs": server.ca}, write_only=True)
        manager.emit("bot_message", {"text": "over TLS"})
        assert ws.recv_sio(timeout=10)["data"][:2] == ["bot_message", {"text": "over TLS"}]
        # quench publishes too: an acknowledgement for a question asked across the channel.
        server.client().publish(CHANNEL, json.dumps({
            "method": "emit", "event": "question", "data": [1], "namespace": "/", "room": None, "skip_sid": None,
            "callback": ["asker-room", "/", 7], "host_id": "an-asker"}))
        question = ws.recv_sio(timeout=10)
        assert question["data"][0] == "question", question
        ws.send(f'43{question["id"]}["7:answered over TLS"]')
        wait_until(lambda: counter.counts().get("7") == 1, 10, "the acknowledgement published over TLS")
        text = node.log_text()
        assert "unreachable" not in text and "cannot reach" not in text, text[-3000:]
        assert PASSWORD not in text
    finally:
        counter.close()


def test_the_tls_host_flag_names_the_certificate_when_the_url_has_an_ip(start_quench, tls_redis):
    server = tls_redis(name="named")  # its certificate names redis.test only
    refused = start_quench("--message-queue", server.url(), "--message-queue-ca", server.ca)
    refused.wait_for_log(r"^warn message queue: cannot reach Redis rediss://127\.0\.0\.1:\d+/0 \(TLS handshake with "
                         r"127\.0\.0\.1:\d+ failed: certificate verify failed: IP address mismatch\)")
    node = start_quench("--message-queue", server.url(), "--message-queue-ca", server.ca,
                        "--message-queue-tls-host", "redis.test")
    node.wait_for_log(r'^info message queue: subscribed to channel "socketio" on rediss://')


def expect_one_line_and_backoff(node, open_ws, pattern, window=5):
    """`pattern` is the one warn line; retries follow at 0.5, 1, 2 s … (debug lines); clients are served."""
    node.wait_for_log(pattern, timeout=15)
    served(node, open_ws)
    started = time.monotonic()
    time.sleep(window)  # the window under test: retries are counted
    text = node.log_text()
    assert len(re.findall(r"^warn ", text, re.M)) == 1, text[-3000:]
    delays = [int(delay) for delay in re.findall(r"^debug message queue: subscriber retries in (\d+) ms", text, re.M)]
    assert delays and delays == [500 * 2 ** index for index in range(len(delays))], delays
    assert len(delays) <= 2 + window, delays
    assert node.running()
    return time.monotonic() - started


@pytest.mark.parametrize("ca, reason", [
    (None, "self-signed certificate in certificate chain"),  # the system's store does not know the test's CA
    ("other-ca.pem", "self-signed certificate in certificate chain"),
])
def test_a_certificate_that_does_not_verify_is_one_line_and_retries(start_quench, tls_redis, open_ws, certificates, ca,
                                                                      reason):
    server = tls_redis()
    extra = ["--message-queue-ca", str(certificates / ca)] if ca else []
    node = start_quench("--message-queue", server.url(), *extra, "--log-level", "debug")
    expect_one_line_and_backoff(
        node, open_ws, r"^warn message queue: cannot reach Redis rediss://127\.0\.0\.1:\d+/0 \(TLS handshake with "
        rf"127\.0\.0\.1:\d+ failed: certificate verify failed: {re.escape(reason)}\); serving this node's clients only")


@pytest.mark.deadline(90)
def test_a_plain_text_server_on_a_rediss_url_is_one_line_and_retries(start_quench, tmp_path, open_ws, certificates):
    plain = RedisProcess(tmp_path).start()
    try:
        node = start_quench("--message-queue", f"rediss://127.0.0.1:{plain.port}/0", "--message-queue-ca",
                            str(certificates / "ca.pem"), "--log-level", "debug")
        expect_one_line_and_backoff(
            node, open_ws, r"^warn message queue: cannot reach Redis rediss://127\.0\.0\.1:\d+/0 \(TLS handshake with "
            r"127\.0\.0\.1:\d+ (failed: .*|not done within 3000 ms \(is it serving TLS\?\))\); serving this node's clients only",
            window=8)
    finally:
        plain.stop()


def test_a_plain_redis_url_on_the_tls_port_is_one_line_and_retries(start_quench, tls_redis, open_ws):
    server = tls_redis()
    node = start_quench("--message-queue", f"redis://127.0.0.1:{server.port}/0", "--log-level", "debug")
    expect_one_line_and_backoff(node, open_ws, r"^warn message queue: cannot reach Redis redis://127\.0\.0\.1:\d+/0 \(.+\); "
                                               r"serving this node's clients only")
