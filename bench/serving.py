"""A catalog server in a process of its own, for the benchmarks that measure over HTTP.

Why a separate process: the measuring client must not share the server's interpreter lock, or its own work would
be counted as server latency. Used by fetch.py, load.py, page_render.py and search_http.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

READY_WITHIN_S = 300.0  # a 1M-column catalog loads its indexes before it answers


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def catalog_serve(workers: int = 1) -> list[str]:
    """The `catalog serve` command line (without its port)."""
    return [sys.executable, "-m", "catalog.cli", "serve", "--workers", str(workers)]


@contextmanager
def served(command: list[str], env: dict[str, str] | None = None, ready: str = "/healthz"
           ) -> Iterator[tuple[str, int]]:
    """Run `command --port N` and yield (base URL, process id) once GET `ready` answers 200; stop it afterwards.
    A server that exits or does not answer within READY_WITHIN_S fails with the end of its stderr, which goes to
    a file (a pipe nobody reads could fill and stall a chatty server)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        try:
            deadline = time.monotonic() + READY_WITHIN_S
            while not _answers(url + ready):
                if process.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    tail = errors.read().decode("utf-8", "replace")[-2000:]
                    raise RuntimeError(f"the catalog server did not start: {tail}")
                time.sleep(0.2)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
