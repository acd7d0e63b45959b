"""Small helpers shared by tests: register and crawl a source, read a dataset."""

from __future__ import annotations

import re
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


OWN_SCRIPT = re.compile(r'<script src="/static/[\w./-]+\.js" defer></script>')


def foreign_scripts(html: str) -> list[str]:
    """Script tags in a page other than the catalog's own static files (which carry no inline code): text from a
    source or a person that reached the page as a tag instead of escaped text shows up here."""
    return re.findall(r"<script[^>]*>", OWN_SCRIPT.sub("", html))


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


def labelled_source(settings: Settings, name: str, url: str, **options: str) -> dict[str, Any]:
    """Register, crawl and annotate (rules only, no descriptions) a source, so its columns carry PII labels;
    returns the crawl's summary."""
    from catalog.annotate import annotate

    register(settings, name, url, **options)
    summary = crawl(settings, name)
    annotate(settings, LOCAL, sources=[name], backend="none")
    return summary


def show(settings: Settings, name: str) -> dict[str, Any]:
    with session_scope(settings) as session:
        return get_dataset(session, LOCAL, name)


def names(settings: Settings, **filters: Any) -> list[str]:
    with session_scope(settings) as session:
        return [d["name"] for d in list_datasets(session, LOCAL, limit=500, **filters)["datasets"]]


class CountingApp:
    """ASGI middleware that records the path of every HTTP request, to count calls (a cached get makes none)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


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


def server_mode(settings: Settings) -> Settings:
    """The same catalog in server mode (tokens and grants decide), with a strong secret key."""
    import dataclasses

    return dataclasses.replace(settings, mode="server", secret_key="server-mode-test-" + "0123456789abcdef" * 2)


def governed_catalog(settings: Settings, actor: Actor, sqlite_path: Any, users: dict[str, list[str]],
                     rows: int = 300) -> Settings:
    """A server-mode catalog with the crawled SQLite source `shop`, a published `team/scores` and `users`
    (name -> roles)."""
    import numpy as np
    import pyarrow as pa

    from catalog.principals import add_user
    from catalog.publish import publish

    register(settings, "shop", f"sqlite:///{sqlite_path}")
    crawl(settings, "shop")
    rng = np.random.default_rng(1)
    publish(settings, actor, "team/scores", data=pa.table({"id": np.arange(rows), "score": rng.random(rows)}))
    with session_scope(settings) as session:
        for name, roles in users.items():
            add_user(session, actor, name, roles)
    return server_mode(settings)
