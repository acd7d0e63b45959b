"""A loopback TCP proxy that delays every byte by a fixed one-way latency, to emulate a network link.

Why: on loopback a round trip costs ~50 µs, which hides what per-query designs cost once the database sits on
another host (same-zone cloud links: 0.2-1 ms round trip; cross-zone 1-2 ms). The proxy delays delivery, not
throughput: each chunk is stamped on arrival and delivered `one_way` seconds later by a second thread, so a
large result streams at full speed and only pays the latency once, as on a real link.
"""

from __future__ import annotations

import asyncio
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



async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, one_way: float) -> None:
    """Deliver each chunk `one_way` seconds after it arrived; timers fire in order, so bytes stay in order."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await reader.read(65536)
        except OSError:
            data = b""
        due = loop.time() + one_way
        if not data:
            loop.call_at(due, writer.close)
            return
        loop.call_at(due, writer.write, data)


async def _serve_async(host: str, port: int, rtt_ms: float) -> None:
    one_way = rtt_ms / 2000.0
    active: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references to connection tasks

    async def accept(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        active.add(task)  # type: ignore[arg-type]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            for writer in (client_writer, upstream_writer):
                writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.gather(_forward(client_reader, upstream_writer, one_way),
                                 _forward(upstream_reader, client_writer, one_way))
        finally:
            active.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """`python bench/latency_proxy.py HOST PORT RTT_MS`: print the proxy's port, then forward until killed.

    Runs as its own process on one asyncio loop (no thread per connection), so that emulating the link costs
    little CPU and does not compete with the measured client for its interpreter lock."""
    import sys

    asyncio.run(_serve_async(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))


if __name__ == "__main__":
    main()
