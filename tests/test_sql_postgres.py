"""The SQL connector against a real PostgreSQL: bulk catalog reads, comments, keys, odd names, wide tables."""

from __future__ import annotations

from sqlalchemy import event

from catalog.settings import Settings
from tests.helpers import crawl, names, register, run_sql, show


def _shop(url: str, schema: str) -> None:
    s = f'"{schema}"'
    run_sql(url,
         f"CREATE TABLE {s}.customers (id bigint PRIMARY KEY, c_eml varchar(200) NOT NULL, born date, "
         "tags text[], prefs jsonb, created_at timestamptz)",
         f"COMMENT ON TABLE {s}.customers IS 'People who bought something'",
         f"COMMENT ON COLUMN {s}.customers.c_eml IS 'customer email'",
         f"CREATE TABLE {s}.orders (ord_id serial PRIMARY KEY, cust_id bigint REFERENCES {s}.customers(id), "
         "amt_usd numeric(12,2), status text)",
         f"CREATE TABLE {s}.lines (ord_id int, line_no int, qty int, PRIMARY KEY (ord_id, line_no), "
         f"FOREIGN KEY (ord_id) REFERENCES {s}.orders(ord_id))",
         f"CREATE VIEW {s}.v_revenue AS SELECT cust_id, sum(amt_usd) AS revenue FROM {s}.orders GROUP BY cust_id",
         f"CREATE MATERIALIZED VIEW {s}.mv_counts AS SELECT count(*) AS n FROM {s}.orders",
         f"CREATE TABLE {s}.events (id int, at date) PARTITION BY RANGE (at)",
         f"CREATE TABLE {s}.events_2024 PARTITION OF {s}.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
         f"INSERT INTO {s}.customers (id, c_eml) SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 500) g",
         f"ANALYZE {s}.customers")


def test_postgres_schema_is_read_in_bulk(settings: Settings, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    _shop(url, schema)
    register(settings, "pg", url, include_schemas=schema)
    result = crawl(settings, "pg")
    assert result["status"] == "succeeded", result
    prefix = f"pg/{schema}/"
    assert names(settings) == [prefix + n for n in ("customers", "events", "lines", "mv_counts", "orders",
                                                      "v_revenue")], "partitions are not separate datasets"
    customers = show(settings, prefix + "customers")
    assert customers["description"] == "People who bought something"
    assert customers["row_estimate"] == 500
    cols = {c["name"]: c for c in customers["columns"]}
    assert cols["c_eml"]["description"] == "customer email" and cols["c_eml"]["type"] == "character varying(200)"
    assert cols["id"]["primary_key"] and not cols["id"]["nullable"]
    assert {n: c["normalized_type"] for n, c in cols.items()} == {
        "id": "integer", "c_eml": "string", "born": "date", "tags": "array", "prefs": "json",
        "created_at": "timestamp"}
    lines = {c["name"]: c for c in show(settings, prefix + "lines")["columns"]}
    assert lines["ord_id"]["primary_key"] and lines["line_no"]["primary_key"]
    assert lines["ord_id"]["foreign_key"] == f"{schema}/orders.ord_id"
    assert show(settings, prefix + "v_revenue")["kind"] == "view"
    assert show(settings, prefix + "mv_counts")["properties"] == {"storage": "materialized view"}


def test_hostile_identifiers_and_comments(settings: Settings, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    table = 'we"ird tablé; DROP TABLE x; --'
    quoted = '"' + table.replace('"', '""') + '"'
    run_sql(url,
         f'CREATE TABLE "{schema}".{quoted} ("select" int, "Größe <b>" text, "a.b" int)',
         f"COMMENT ON TABLE \"{schema}\".{quoted} IS '<script>alert(1)</script> it''s'")
    register(settings, "pg", url, include_schemas=schema)
    assert crawl(settings, "pg")["status"] == "succeeded"
    dataset = show(settings, f"pg/{schema}/{table}")
    assert dataset["description"] == "<script>alert(1)</script> it's"
    assert [c["name"] for c in dataset["columns"]] == ["select", "Größe <b>", "a.b"]


def test_wide_table(settings: Settings, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    run_sql(url, f'CREATE TABLE "{schema}".wide (' + ", ".join(f"c{i} int" for i in range(1600)) + ")")
    register(settings, "pg", url, include_schemas=schema)
    crawl(settings, "pg")
    assert len(show(settings, f"pg/{schema}/wide")["columns"]) == 1600


def test_table_dropped_mid_crawl_is_never_half_read(settings: Settings, pg_schema: tuple[str, str]) -> None:
    """The three catalog queries share one snapshot: a table dropped between them is read whole, then deleted
    by the next crawl."""
    url, schema = pg_schema
    _shop(url, schema)
    register(settings, "pg", url, include_schemas=schema)
    dropped: list[bool] = []

    def drop_after_relations(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "format_type(a.atttypid, a.atttypmod) AS type" in statement and not dropped:
            dropped.append(True)
            run_sql(url, f'DROP TABLE "{schema}".lines')

    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", drop_after_relations)
    try:
        result = crawl(settings, "pg")
    finally:
        event.remove(Engine, "before_cursor_execute", drop_after_relations)
    assert dropped and result["status"] == "succeeded"
    assert len(show(settings, f"pg/{schema}/lines")["columns"]) == 3
    assert crawl(settings, "pg")["deleted"] == 1


def test_metadata_store_on_postgres(pg_store: Settings, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    _shop(url, schema)
    register(pg_store, "pg", url, include_schemas=schema)
    first = crawl(pg_store, "pg")
    second = crawl(pg_store, "pg")
    assert (first["new"], second["unchanged"]) == (6, 6)
    assert show(pg_store, f"pg/{schema}/customers")["columns"][1]["description"] == "customer email"


def test_unreachable_and_missing_database(settings: Settings, pg_url: str) -> None:
    register(settings, "down", "postgresql://postgres@127.0.0.1:1/test", connect_timeout="3")
    result = crawl(settings, "down")
    assert result["status"] == "failed"
    assert result["error"].startswith("source 'down': cannot connect:")
    assert "\n" not in result["error"]
    base = pg_url.rsplit("/", 1)[0]
    register(settings, "nodb", f"{base}/no_such_database_here")
    result = crawl(settings, "nodb")
    assert result["status"] == "failed" and "no_such_database_here" in result["error"]


def test_fingerprints_skip_unchanged_and_catch_every_kind_of_change(settings: Settings,
                                                                     pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    _shop(url, schema)
    register(settings, "pg", url, include_schemas=schema)
    crawl(settings, "pg")
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", record)
    try:
        quiet = crawl(settings, "pg")
        column_reads = sum("AS type" in s for s in statements)
        s = f'"{schema}"'
        run_sql(url, f"COMMENT ON COLUMN {s}.orders.status IS 'order status'",
             f"COMMENT ON TABLE {s}.lines IS 'order lines'",
             f"ALTER TABLE {s}.customers ALTER COLUMN born TYPE timestamptz")
        changed = crawl(settings, "pg")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert quiet["unchanged"] == 6 and column_reads == 0, "an unchanged schema is not read column by column"
    assert (changed["changed"], changed["unchanged"]) == (3, 3)
    assert show(settings, f"pg/{schema}/orders")["columns"][3]["description"] == "order status"
    assert show(settings, f"pg/{schema}/lines")["description"] == "order lines"
    diff = show(settings, f"pg/{schema}/customers")["schema_versions"][0]["diff"]
    assert diff["retyped"] == [{"name": "born", "from": "date", "to": "timestamp with time zone"}]


def test_unchanged_fingerprint_restores_and_counts_a_deleted_dataset(settings: Settings,
                                                                     pg_schema: tuple[str, str]) -> None:
    """A dataset soft-deleted while its table was filtered out comes back through the fingerprint fast path."""
    url, schema = pg_schema
    _shop(url, schema)
    register(settings, "pg", url, include_schemas=schema)
    crawl(settings, "pg")
    from catalog.db import session_scope
    from catalog.models import Dataset, utcnow

    with session_scope(settings) as session:
        session.query(Dataset).filter(Dataset.name == f"pg/{schema}/orders").update({"deleted_at": utcnow()})
    result = crawl(settings, "pg")
    assert (result["restored"], result["unchanged"], result["changed"]) == (1, 5, 0)
    assert show(settings, f"pg/{schema}/orders")["deleted"] is False
