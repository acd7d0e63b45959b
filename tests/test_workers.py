"""Several uvicorn workers on a PostgreSQL store (issue 11): no state lives only in one worker's memory.

`catalog serve --workers 2` runs in a process of its own. Both workers first answer searches from the index as it
was (so each holds it open), then `catalog index` runs in this process after a new table was crawled: every
later search, whichever worker answers it, finds the new column, because each worker reopens the index when a
newer snapshot is committed. Sessions and grants are in the store already (tested elsewhere).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from catalog.search import build_index
from catalog.settings import Settings
from tests.helpers import LOCAL, crawl, register

REQUESTS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(pg_store: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings, Path, int]]:
    source = tmp_path / "shop.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, c_eml TEXT)")
    register(pg_store, "shop", f"sqlite:///{source}")
    crawl(pg_store, "shop")
    build_index(pg_store, LOCAL)
    port = _free_port()
    env = {**os.environ, "CATALOG_HOME": str(pg_store.home), "CATALOG_DATABASE_URL": pg_store.database_url,
           "HF_HUB_OFFLINE": "1"}
    env.pop("CATALOG_MODE", None)
    server = subprocess.Popen([sys.executable, "-m", "catalog.cli", "serve", "--workers", "2", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError(f"catalog serve --workers 2 did not start: {server.stderr.read1().decode()[-2000:]}")
        yield url, pg_store, source, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _found(url: str, query: str) -> list[str]:
    """Columns a fresh connection's vector search returns (the FAISS snapshot is what each worker holds in memory;
    a new connection lets the kernel pick either worker)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        body = client.get("/api/v1/search", params={"q": query, "mode": "vector"}).json()
    return [r["column"] for r in body["results"] if r.get("column")]


def test_every_worker_sees_a_newly_committed_index(served: tuple[str, Settings, Path, int]) -> None:
    url, settings, source, pid = served
    workers = psutil.Process(pid).children(recursive=True)
    assert len(workers) >= 2, "uvicorn runs two worker processes"
    for _ in range(REQUESTS):  # every worker opens the index as it is now
        assert "zebra_stripes" not in _found(url, "zebra stripes")
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE animals (id INTEGER PRIMARY KEY, zebra_stripes INTEGER)")
    crawl(settings, "shop")
    build_index(settings, LOCAL)
    answers = [_found(url, "zebra stripes") for _ in range(REQUESTS)]
    assert all("zebra_stripes" in found for found in answers), answers


def test_workers_must_be_a_sensible_count(tmp_path: Path) -> None:
    env = {**os.environ, "CATALOG_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "catalog.cli", "serve", "--workers", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "--workers must be between 1 and 64" in done.stderr
