"""`catalog demo`: build the bundled sample sources under CATALOG_HOME, register and crawl them.

Idempotent: a second run reuses the sample files and sources and simply re-crawls (everything unchanged).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from catalog.access import Actor
from catalog.crawl import Progress, crawl_sources
from catalog.db import session_scope
from catalog.models import Source
from catalog.settings import Settings
from catalog.sources import add_source

DEMO_SOURCE = "shop"


def build_demo(settings: Settings, actor: Actor, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Create the sample company databases, register them as source `shop` and crawl it."""
    from catalog.demo_data import build_demo_databases

    files = build_demo_databases(settings.home / "demo")
    with session_scope(settings) as session:
        exists = session.scalar(select(Source.id).where(Source.name == DEMO_SOURCE)) is not None
        if not exists:
            attach = ";".join(f"{schema}={path}" for schema, path in files.items() if schema != "main")
            add_source(session, actor, DEMO_SOURCE, f"sqlite:///{files['main']}", {"attach": attach})
    return crawl_sources(settings, actor, [DEMO_SOURCE], progress)
