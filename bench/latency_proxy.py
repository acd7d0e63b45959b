"""A loopback TCP proxy that delays every byte by a fixed one-way latency, to emulate a network link.

Why: on loopback a round trip costs ~50 µs, which hides what per-query designs cost once the database sits on
another host (same-zone cloud links: 0.2-1 ms round trip; cross-zone 1-2 ms). The proxy delays delivery, not
throughput: each chunk is stamped on arrival and delivered `one_way` seconds later by a second thread, so a
large result streams at full speed and only pays the latency once, as on a real link.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from types import TracebackType


def _pump(src: socket.socket, dst: socket.socket, one_way: float) -> None:
    pending: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def deliver() -> None:
        while True:
            due, data = pending.get()
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            if not data:
                _close(dst)
                return
            try:
                dst.sendall(data)
            except OSError:
                return

    threading.Thread(target=deliver, daemon=True).start()
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        pending.put((time.perf_counter() + one_way, data))
        if not data:
            return


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class LatencyProxy:
    """`with LatencyProxy("127.0.0.1", 5432, rtt_ms=1.0) as port:` forwards 127.0.0.1:port to the target."""

    def __init__(self, host: str, port: int, rtt_ms: float) -> None:
        self.target = (host, port)
        self.one_way = rtt_ms / 2000.0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=_pump, args=(client, upstream, self.one_way), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client, self.one_way), daemon=True).start()

    def __enter__(self) -> int:
        threading.Thread(target=self._serve, daemon=True).start()
        return self.port

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.listener.close()
