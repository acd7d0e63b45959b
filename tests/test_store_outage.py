"""The metadata database going down and restarting under load: requests fail cleanly (503, Retry-After, no
traceback, nothing half-written), then the catalog recovers by itself once the database is back.

A real PostgreSQL server of the test's own (`tests.private_postgres`) is stopped, started and restarted while
client threads keep asking for API documents, pages and the health check of a catalog served by uvicorn.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from catalog.app import create_app
from catalog.db import migrate
from catalog.settings import Settings, load_settings
from catalog.store_errors import CLIENT_MESSAGE, RETRY_AFTER_SECONDS
from tests.helpers import crawl, live_server, register
from tests.private_postgres import PrivatePostgres, binaries

pytestmark = pytest.mark.skipif(binaries() is None, reason="needs PostgreSQL server binaries (/usr/lib/postgresql)")

PATHS = ["/api/v1/datasets", "/api/v1/datasets/shop/main/customers", "/datasets", "/healthz",
         "/datasets/shop/main/customers"]


@dataclass
class Answer:
    phase: str
    path: str
    status: int
    content_type: str
    retry_after: str | None
    body: str


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def store(private_pg: PrivatePostgres, tmp_path: Path, sqlite_source: Path) -> Settings:
    if not _reachable(private_pg):  # a test before this one failed while the server was stopped
        private_pg.start()
    settings = load_settings(home=tmp_path / "home", database_url=private_pg.new_database())
    migrate(settings)
    register(settings, "shop", f"sqlite:///{sqlite_source}")
    crawl(settings, "shop")
    return settings


def _reachable(server: PrivatePostgres) -> bool:
    try:
        server.wait_ready(seconds=0.2)
        return True
    except RuntimeError:
        return False


class Load:
    """Client threads looping over PATHS, recording every answer under the phase current when it arrived."""

    def __init__(self, base: str, clients: int = 6) -> None:
        self.base = base
        self.phase = "before"
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self, offset: int) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            turn = offset
            while not self._stop.is_set():
                path = PATHS[turn % len(PATHS)]
                turn += 1
                try:
                    response = client.get(path)
                except httpx.HTTPError as exc:  # the server itself must never drop a request
                    self.failures.append(f"{self.phase} {path}: {type(exc).__name__}: {exc}")
                    continue
                self.answers.append(Answer(self.phase, path, response.status_code,
                                           response.headers.get("content-type", ""),
                                           response.headers.get("retry-after"), response.text))

    def during(self, phase: str, seconds: float) -> None:
        self.phase = phase
        time.sleep(seconds)

    def of(self, phase: str) -> list[Answer]:
        return [a for a in self.answers if a.phase == phase]


def assert_only_200_or_503_then_200(load: Load) -> None:
    """Every request got an answer, each a 200 or a 503, and in the "after" phase every one was a 200 again."""
    assert not load.failures, load.failures[:5]
    odd = {(a.path, a.status, a.body[:200]) for a in load.answers if a.status not in (200, 503)}
    assert not odd
    after = load.of("after")
    assert len(after) > 20
    assert all(a.status == 200 for a in after), {(a.path, a.status) for a in after if a.status != 200}


def test_requests_fail_cleanly_while_the_store_is_down_then_recover(private_pg: PrivatePostgres,
                                                                    store: Settings) -> None:
    with live_server(create_app(store)) as base, Load(base) as load:
        load.during("before", 1.5)
        load.phase = "down"
        private_pg.stop()
        load.during("down", 3.0)
        load.phase = "coming back"
        private_pg.start()
        load.during("coming back", 2.0)
        load.during("after", 3.0)

    assert_only_200_or_503_then_200(load)
    assert load.of("before") and all(a.status == 200 for a in load.of("before"))

    down = [a for a in load.of("down") if a.status == 503]
    assert down, "no request saw the store down"
    api = [a for a in down if a.path.startswith("/api/") or a.path == "/healthz"]
    pages = [a for a in down if not (a.path.startswith("/api/") or a.path == "/healthz")]
    assert api and pages
    for answer in api:
        assert answer.content_type.startswith("application/json")
        assert answer.retry_after == str(RETRY_AFTER_SECONDS)
        assert CLIENT_MESSAGE in answer.body
    for answer in pages:
        assert answer.content_type.startswith("text/html")
        assert "Temporarily unavailable" in answer.body and "try again shortly" in answer.body
    for answer in down:  # nothing internal: no driver text, no port, no trace
        assert "psycopg" not in answer.body and str(private_pg.port) not in answer.body
        assert "Traceback" not in answer.body


def test_a_restart_under_load_costs_at_most_a_few_503s(private_pg: PrivatePostgres, store: Settings) -> None:
    """pg_ctl restart terminates every pooled connection; pre-ping replaces them, so after the restart every
    request succeeds again without the catalog being restarted."""
    with live_server(create_app(store)) as base, Load(base) as load:
        load.during("before", 1.0)
        load.phase = "restart"
        private_pg.restart()
        load.during("restart", 0.5)
        load.during("after", 3.0)

    assert_only_200_or_503_then_200(load)


def test_a_write_refused_while_the_store_is_down_leaves_nothing(private_pg: PrivatePostgres,
                                                                 store: Settings) -> None:
    """A tag added while the database is down is refused with 503 and is not there afterwards; the same request
    succeeds once the database is back."""
    change = {"dataset": "shop/main/customers", "value": "gold", "action": "add"}
    with live_server(create_app(store)) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/api/v1/datasets/shop/main/customers").status_code == 200  # a pooled connection
        private_pg.stop()
        try:
            refused = client.post("/api/v1/tags", json=change)
        finally:
            private_pg.start()
        assert refused.status_code == 503 and refused.json() == {"error": CLIENT_MESSAGE}
        assert "gold" not in client.get("/api/v1/datasets/shop/main/customers").json().get("tags", [])
        assert client.post("/api/v1/tags", json=change).status_code == 200
        assert "gold" in client.get("/api/v1/datasets/shop/main/customers").json()["tags"]


def test_the_cli_says_the_store_is_unavailable_in_one_line(private_pg: PrivatePostgres, store: Settings) -> None:
    private_pg.stop()
    try:
        done = subprocess.run([sys.executable, "-m", "catalog.cli", "datasets"], capture_output=True, text=True,
                              env={"CATALOG_HOME": str(store.home), "CATALOG_DATABASE_URL": store.database_url,
                                   "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}, timeout=120)
    finally:
        private_pg.start()
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "metadata store" in lines[0] and "Traceback" not in done.stderr
