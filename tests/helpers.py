"""Small helpers shared by tests: register and crawl a source, read a dataset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text

from catalog.access import Actor
from catalog.crawl import crawl_source
from catalog.datasets import get_dataset, list_datasets
from catalog.db import session_scope
from catalog.settings import Settings
from catalog.sources import add_source

LOCAL = Actor.local()


def run_sql(url: str, *statements: str) -> None:
    """Run statements against a test server in one transaction."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def register(settings: Settings, name: str, url: str, **options: str) -> None:
    with session_scope(settings) as session:
        add_source(session, LOCAL, name, url, options)


def crawl(settings: Settings, name: str) -> dict[str, Any]:
    return crawl_source(settings, LOCAL, name)


def show(settings: Settings, name: str) -> dict[str, Any]:
    with session_scope(settings) as session:
        return get_dataset(session, LOCAL, name)


def names(settings: Settings, **filters: Any) -> list[str]:
    with session_scope(settings) as session:
        return [d["name"] for d in list_datasets(session, LOCAL, limit=500, **filters)["datasets"]]


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not running.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=5)
