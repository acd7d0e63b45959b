"""`catalog demo`: build the bundled sample sources under CATALOG_HOME, register and crawl them.

Three sources of one demo company: `shop` (SQLite files: the shop with `hr` and `support` attached), `docs`
(a MongoDB-compatible document database served by a local nx-27017 process) and `lake` (a folder of Parquet,
CSV, TSV, JSON lines, Feather and images). The document server runs only while the demo runs: `running_demo`
keeps it up for the crawl and for serving the UI, and stops it on exit.

It also publishes a feature table in two versions, records the runs that made and used it and the model trained
on it, and runs the drift watch (`catalog.demo_lineage`).

Idempotent: a second run reuses the sample files and sources and simply re-crawls (everything unchanged), and
annotates only what changed (nothing, the second time).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import Actor
from catalog.crawl import Progress, crawl_sources
from catalog.db import session_scope
from catalog.models import Source
from catalog.settings import Settings
from catalog.sources import add_source, normalize_source_url

DEMO_SOURCE = "shop"
DOCUMENTS_SOURCE = "docs"
LAKE_SOURCE = "lake"
DEMO_SOURCES = (DEMO_SOURCE, DOCUMENTS_SOURCE, LAKE_SOURCE)


def _document_port(folder: Path) -> int:
    """The port used last time when it is free (the registered URL stays valid), else a new free one."""
    from catalog.demo_documents import free_port, port_in_use

    folder.mkdir(parents=True, exist_ok=True)
    remembered = folder / "port"
    try:
        port = int(remembered.read_text(encoding="utf-8").strip())
        if not port_in_use(port):
            return port
    except (OSError, ValueError):
        pass
    port = free_port()
    remembered.write_text(f"{port}\n", encoding="utf-8")
    return port


def _ensure_source(session: Session, actor: Actor, name: str, url: str, options: Mapping[str, str]) -> None:
    """Register a demo source, or point an existing one at where the demo data lives now."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        add_source(session, actor, name, url, options)
        return
    url = normalize_source_url(url)
    if source.url != url or dict(source.options or {}) != dict(options):
        source.url, source.options = url, dict(options)


@contextmanager
def running_demo(settings: Settings, actor: Actor, progress: Progress | None = None
                 ) -> Iterator[dict[str, Any]]:
    """Build the sample sources, register, crawl, annotate and index them; the document server runs until the
    block ends. Yields `{"crawls": [...], "annotate": {...}, "index": {...}}`."""
    from catalog.annotate import annotate
    from catalog.demo_data import build_demo_databases
    from catalog.demo_documents import serve_demo_documents
    from catalog.demo_files import build_demo_lake
    from catalog.demo_lineage import FEATURES, build_demo_lineage
    from catalog.demo_users import build_demo_users
    from catalog.search import build_index

    demo = settings.home / "demo"
    files = build_demo_databases(demo)
    lake = build_demo_lake(demo / "lake")
    documents = demo / "documents"
    with serve_demo_documents(documents, port=_document_port(documents)) as server:
        with session_scope(settings) as session:
            attach = ";".join(f"{schema}={path}" for schema, path in files.items() if schema != "main")
            _ensure_source(session, actor, DEMO_SOURCE, f"sqlite:///{files['main']}", {"attach": attach})
            _ensure_source(session, actor, DOCUMENTS_SOURCE, f"{server.url}shop", {})
            _ensure_source(session, actor, LAKE_SOURCE, str(lake), {})
        crawls = crawl_sources(settings, actor, list(DEMO_SOURCES), progress)
        lineage = build_demo_lineage(settings, actor, files["main"])
        annotated = annotate(settings, actor, sources=(*DEMO_SOURCES, FEATURES.split("/", 1)[0]),
                             progress=progress)
        users = build_demo_users(settings, actor, FEATURES)
        yield {"crawls": crawls, "annotate": annotated, "lineage": lineage,
               "index": build_index(settings, actor, progress), "users": users}


def build_demo(settings: Settings, actor: Actor, progress: Progress | None = None) -> dict[str, Any]:
    """Build, crawl, annotate and index the demo, then stop the document server."""
    with running_demo(settings, actor, progress) as results:
        return results
