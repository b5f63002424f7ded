"""A private rabbitmq-server (Debian's, 3.10) for the AMQP tests: its own node name, ports, epmd port and
data folder under the test's temporary folder; started once per module (it takes about 4 s) and stopped at
teardown with `rabbitmqctl stop`, then its epmd, then whatever is left of its process group.

Each test gives its quench nodes and python peers a channel (exchange) of its own, so tests sharing the
broker never see each other's messages.
"""

import glob
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import free_port, wait_until


#: Where Debian's rabbitmq-server package keeps the real start and control scripts, and Erlang's epmd.
SCRIPTS = "/usr/lib/rabbitmq/bin"
EPMD = (glob.glob("/usr/lib/erlang/erts-*/bin/epmd") or ["epmd"])[0]


class RabbitServer:
    """rabbitmq-server on 127.0.0.1:port; guest/guest works from loopback."""

    def __init__(self, base, certificates=None):
        if not os.access(f"{SCRIPTS}/rabbitmq-server", os.X_OK) or not os.access(f"{SCRIPTS}/rabbitmqctl", os.X_OK):
            pytest.fail("rabbitmq-server not installed (apt-get install rabbitmq-server)")
        self.base = base
        self.port = free_port()
        self.node = f"q{self.port}@{socket.gethostname()}"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        # With certificates (test_redis_tls.py's: a CA, and a server certificate for localhost and 127.0.0.1),
        # an amqps:// listener on a port of its own as well.
        self.tls_port = free_port() if certificates else None
        tls = "" if not certificates else (
            f"listeners.ssl.1 = 127.0.0.1:{self.tls_port}\n"
            f"ssl_options.cacertfile = {certificates / 'ca.pem'}\n"
            f"ssl_options.certfile = {certificates / 'server.pem'}\n"
            f"ssl_options.keyfile = {certificates / 'server.key'}\n"
            "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n")
        self.proc = None
        base.mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text("log.console = false\nlog.file.level = info\n" + tls)
        # A clean environment, and the scripts behind Debian's wrappers (which su to the rabbitmq user, who
        # cannot enter pytest's 0700 folders): the node runs as the test's user, in the test's session, with
        # its Erlang cookie in its own HOME, the data folder.
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/bin", "HOME": str(base),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
            "ERL_EPMD_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
        }

    def url_for(self, user="guest", password="guest", vhost="", tls=False):
        if tls:
            return f"amqps://{user}:{password}@127.0.0.1:{self.tls_port}/{vhost}"
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{vhost}"

    def start(self):
        self.proc = subprocess.Popen([f"{SCRIPTS}/rabbitmq-server"], env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.base / "server.log", "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        # await_startup fails at once while the node has not registered yet: poll it.
        wait_until(self._started, 60, f"rabbitmq-server {self.node} started")

    def _started(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"rabbitmq-server exited with {self.proc.returncode}: "
                                 f"{(self.base / 'server.log').read_text()[-2000:]}")
        return self.ctl("await_startup", check=False).returncode == 0

    def ctl(self, *args, check=True, timeout=60):
        result = subprocess.run([f"{SCRIPTS}/rabbitmqctl", "-n", self.node, *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}"
        return result

    def bindings(self, exchange, vhost="/"):
        """The queues bound to `exchange`."""
        out = self.ctl("list_bindings", "-p", vhost, "-q", "--no-table-headers", "source_name", "destination_name").stdout
        return [line.split("\t")[1] for line in out.splitlines() if line.split("\t")[0] == exchange]

    def wait_bindings(self, exchange, count, vhost="/", timeout=30):
        wait_until(lambda: len(self.bindings(exchange, vhost)) >= count, timeout,
                   f"{count} queues bound to exchange {exchange!r}")

    def beam_pid(self):
        """The Erlang VM's pid."""
        try:
            return int((self.base / "rabbit.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.proc is None:
            return
        beam = self.beam_pid()
        if beam:
            os.kill(beam, signal.SIGCONT)  # a test that stopped it must not leave it stopped
        self.ctl("stop", check=False, timeout=30)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of its process group
        except ProcessLookupError:
            pass
        # epmd (the Erlang port mapper) daemonises on this broker's own port; it refuses to go while it still
        # lists the node, which takes a moment after the VM is gone.
        wait_until(lambda: subprocess.run([EPMD, "-port", self.env["ERL_EPMD_PORT"], "-kill"], env=self.env,
                                          capture_output=True, text=True).stdout.strip() in ("Killed", ""),
                   10, "epmd stopped")
        self.proc = None


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory, certificates):
    server = RabbitServer(tmp_path_factory.mktemp("rabbitmq"), certificates)
    try:
        server.start()
        yield server
    finally:
        server.stop()
