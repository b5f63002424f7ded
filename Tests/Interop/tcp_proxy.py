"""A TCP proxy the test controls: forwards 127.0.0.1:port to a target until cut(), then drops every
forwarded connection and closes each new one at once (a network that went away: the client reconnects
and fails until restore()). retarget() points new connections at another server (a load balancer
sending a client back to another node)."""

import socket
import threading


class TogglingProxy:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._up = True
        self._open = set()  # every socket of a forwarded pair, to close on cut()
        self._closed = False
        self.refused = 0  # connections closed at once while cut
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up, target = self._up, self.target_port
            if not up:
                self.refused += 1
                _abort(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _abort(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Drop every forwarded connection (both sides see the TCP connection end) and refuse new ones."""
        with self._lock:
            self._up = False
            doomed, self._open = self._open, set()
        for sock in doomed:
            _abort(sock)

    def restore(self):
        with self._lock:
            self._up = True

    def retarget(self, port: int):
        with self._lock:
            self.target_port = port

    def close(self):
        self.cut()
        self._listener.close()


def _abort(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
