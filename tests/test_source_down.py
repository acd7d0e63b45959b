"""A source that goes down in the middle of a job (the link to PostgreSQL dropped by `tests.cut_proxy`): the job
fails with an error naming the source, nothing already stored is lost or marked deleted, nothing half-written is
left, and the next run after the source is back completes."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from catalog.access import Actor
from catalog.db import session_scope
from catalog.errors import SourceUnavailable
from catalog.models import CrawlRun, Dataset, DatasetVersion
from catalog.publish import publish
from catalog.settings import Settings
from catalog.version_repo import VersionRepo
from tests.cut_proxy import CutProxy
from tests.helpers import crawl, register


@pytest.fixture
def proxied(pg_schema: tuple[str, str]) -> Iterator[tuple[CutProxy, str, str]]:
    """(proxy, source URL through the proxy, schema) for a schema of 120 small tables and one of 300,000 rows."""
    url, schema = pg_schema
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"""DO $$ BEGIN FOR i IN 1..120 LOOP
            EXECUTE format('CREATE TABLE %I.%I (id int primary key, email text, note text)', '{schema}',
                           'table_' || lpad(i::text, 3, '0'));
            END LOOP; END $$"""))
        conn.execute(text(f'CREATE TABLE "{schema}".big AS SELECT g AS id, md5(g::text) AS note '
                          "FROM generate_series(1, 300000) g"))
    engine.dispose()
    parts = urlsplit(url)
    with CutProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy, url.replace(f":{parts.port or 5432}/", f":{proxy.port}/"), schema


def _live(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(Dataset).where(Dataset.deleted_at.is_(None))))


def test_a_crawl_cut_off_mid_way_fails_clearly_and_keeps_what_was_stored(
        settings: Settings, proxied: tuple[CutProxy, str, str]) -> None:
    proxy, url, schema = proxied
    register(settings, "pg", url, include_schemas=schema)
    assert crawl(settings, "pg")["status"] != "failed" and _live(settings) == 121

    engine = create_engine(url.replace(f":{proxy.port}/", f":{proxy.target[1]}/"))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE TABLE "{schema}".table_new (id int)'))
    engine.dispose()
    proxy.cut_after = proxy.relayed + 2_000  # the next crawl's link drops after a couple of answers
    failed = crawl(settings, "pg")
    assert failed["status"] in ("failed", "partial") and failed["deleted"] == 0
    problems = " ".join([failed.get("error") or ""] + [w["message"] for w in failed["warnings"]])
    assert "closed the connection" in problems or "connection" in problems.lower(), problems
    assert _live(settings) == 121  # a failed crawl deletes nothing: the source was unreachable, not emptied

    proxy.restore()
    assert crawl(settings, "pg")["status"] != "failed" and _live(settings) == 122
    with session_scope(settings) as session:
        statuses = list(session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))
    assert statuses[1] in ("failed", "partial") and statuses[-1] == "succeeded", statuses


def test_a_publish_whose_source_goes_down_mid_read_leaves_nothing(
        settings: Settings, actor: Actor, proxied: tuple[CutProxy, str, str]) -> None:
    proxy, url, schema = proxied
    register(settings, "pg", url, include_schemas=schema)
    crawl(settings, "pg")
    proxy.cut_after = proxy.relayed + 3_000_000  # a few MB into the 300,000 rows
    with pytest.raises(SourceUnavailable) as down:
        publish(settings, actor, "lake/big", dataset=f"pg/{schema}/big")
    assert f"'{schema}/big' cannot be read" in str(down.value) and "nothing was published" in str(down.value)
    staging = VersionRepo(settings).staging_dir()
    assert not any(staging.iterdir())
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(DatasetVersion)) == 0

    proxy.restore()
    done = publish(settings, actor, "lake/big", dataset=f"pg/{schema}/big")
    assert done["status"] == "published" and done["version"]["rows"] == 300_000
