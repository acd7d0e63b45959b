"""A real MongoDB wire-protocol server for tests: nx-27017 (SQLite underneath) as a subprocess on a free port.

The process management is the demo's (`catalog.demo_documents.start_server`), so the tests exercise exactly what
`catalog demo` runs. Tests get one server per session and a fresh database each (`MongoScratch`), named so that
no two tests share one; a source URL that names the database (`mongodb://127.0.0.1:<port>/<db>`) makes the
connector crawl only that database.

What nx-27017 0.8.1 does and does not do, as the tests rely on it:
- supports `$sample`, `listIndexes`, `estimatedDocumentCount`, `listDatabases`, `listCollections`;
- accepts `create` with `viewOn` but makes an ordinary (empty) collection: no views;
- reports the index keys but not their direction (always 1), not `sparse`, and names indexes itself;
- stores no Decimal128; collection and database names must be plain identifiers;
- purges documents under a TTL index, so TTL tests use dates in the future.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database

from catalog.demo_documents import DocumentServer, free_port, start_server

__all__ = ["DocumentServer", "MongoScratch", "free_port", "running_server", "scratch_database"]


@contextmanager
def running_server(folder: Path, port: int | None = None) -> Iterator[DocumentServer]:
    """An nx-27017 server with its data under `folder`, stopped (and waited for) on exit."""
    server = start_server(folder, port)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class MongoScratch:
    """A fresh database on the test server: `url` names it, `db` writes to it."""

    server_url: str
    name: str
    db: Database[dict[str, Any]]

    @property
    def url(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.name}"


@contextmanager
def scratch_database(server: DocumentServer, prefix: str = "t") -> Iterator[MongoScratch]:
    """A database with a unique name, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    client: MongoClient[dict[str, Any]] = MongoClient(server.url, serverSelectionTimeoutMS=5000)
    try:
        yield MongoScratch(server.url, name, client[name])
    finally:
        client.drop_database(name)
        client.close()
