"""A loopback TCP proxy that can drop the link: a database "going down" in the middle of a job.

`CutProxy(host, port, cut_after=N)` relays connections to `host:port`; once `N` bytes have come back from the
server (over all connections), it closes every connection and refuses new ones, as a crashed server or a broken
network does. `cut()` does the same at once; `restore()` accepts connections again.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class CutProxy:
    def __init__(self, host: str, port: int, cut_after: int | None = None) -> None:
        self.target = (host, port)
        self.cut_after = cut_after
        self.relayed = 0
        self.down = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> CutProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if from_server:
                    with self._lock:
                        self.relayed += len(data)
                        over = self.cut_after is not None and self.relayed >= self.cut_after
                    if over:
                        self.cut()
                        return
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)

    def cut(self) -> None:
        """Drop every connection now and refuse new ones until `restore()`."""
        self.down = True
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self.down, self.cut_after = False, None


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
