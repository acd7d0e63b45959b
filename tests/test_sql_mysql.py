"""The SQL connector against a real MariaDB: information_schema in bulk, comments, keys, broken views."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from catalog.settings import Settings
from tests.helpers import crawl, names, register, run_sql, show


def _shop(url: str) -> None:
    run_sql(url,
         "CREATE TABLE customers (cust_id BIGINT PRIMARY KEY, c_eml VARCHAR(200) NOT NULL COMMENT 'customer email', "
         "vip TINYINT(1), born DATE) COMMENT='People who bought something'",
         "CREATE TABLE orders (ord_id INT AUTO_INCREMENT PRIMARY KEY, cust_id BIGINT, amt_usd DECIMAL(12,2), "
         "FOREIGN KEY (cust_id) REFERENCES customers(cust_id)) ENGINE=InnoDB",
         "CREATE VIEW v_revenue AS SELECT cust_id, SUM(amt_usd) AS revenue FROM orders GROUP BY cust_id",
         "CREATE TABLE `we``ird tablé; DROP --` (`select` INT, `Größe <b>` TEXT COMMENT '<script>x</script>')")


def test_mariadb_database_is_read_in_bulk(settings: Settings, mysql_db: str) -> None:
    _shop(mysql_db)
    register(settings, "my", mysql_db)
    result = crawl(settings, "my")
    assert result["status"] == "succeeded", result
    db = mysql_db.rsplit("/", 1)[1]
    assert names(settings) == [f"my/{db}/{n}" for n in ("customers", "orders", "v_revenue", "we`ird tablé; DROP --")]
    customers = show(settings, f"my/{db}/customers")
    assert customers["description"] == "People who bought something"
    cols = {c["name"]: c for c in customers["columns"]}
    assert cols["c_eml"]["description"] == "customer email" and not cols["c_eml"]["nullable"]
    assert cols["vip"]["normalized_type"] == "boolean" and cols["cust_id"]["primary_key"]
    orders = {c["name"]: c for c in show(settings, f"my/{db}/orders")["columns"]}
    assert orders["cust_id"]["foreign_key"] == f"{db}/customers.cust_id"
    assert orders["amt_usd"]["type"] == "decimal(12,2)"
    assert show(settings, f"my/{db}/v_revenue")["kind"] == "view"
    weird = show(settings, f"my/{db}/we`ird tablé; DROP --")
    assert [c["description"] for c in weird["columns"]] == [None, "<script>x</script>"]


def test_broken_view_is_a_warning_and_keeps_its_schema(settings: Settings, mysql_db: str) -> None:
    _shop(mysql_db)
    register(settings, "my", mysql_db)
    crawl(settings, "my")
    run_sql(mysql_db, "DROP VIEW v_revenue", "CREATE TABLE base (x INT)", "CREATE VIEW v_revenue AS SELECT x FROM base",
         "DROP TABLE base")
    result = crawl(settings, "my")
    db = mysql_db.rsplit("/", 1)[1]
    assert result["status"] == "partial"
    assert any(w["dataset"] == f"{db}/v_revenue" for w in result["warnings"]), result["warnings"]
    assert [c["name"] for c in show(settings, f"my/{db}/v_revenue")["columns"]] == ["cust_id", "revenue"]
    assert len(names(settings)) == 4


def test_table_dropped_during_crawl_is_a_warning(settings: Settings, mysql_db: str) -> None:
    _shop(mysql_db)
    run_sql(mysql_db, "CREATE TABLE doomed (a INT)")
    register(settings, "my", mysql_db)
    dropped: list[bool] = []

    def drop_between_queries(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "information_schema.COLUMNS" in statement and not dropped:
            dropped.append(True)
            run_sql(mysql_db, "DROP TABLE doomed")

    event.listen(Engine, "before_cursor_execute", drop_between_queries)
    try:
        result = crawl(settings, "my")
    finally:
        event.remove(Engine, "before_cursor_execute", drop_between_queries)
    db = mysql_db.rsplit("/", 1)[1]
    assert dropped and result["status"] == "succeeded"
    assert {"dataset": f"{db}/doomed", "message": "table was dropped during the crawl"} in result["warnings"]
    assert f"my/{db}/doomed" not in names(settings)
    assert result["new"] == 4


def test_wrong_password_is_one_clear_line(settings: Settings, mysql_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    host = mysql_url.split("@", 1)[1]
    monkeypatch.setenv("BAD_PW", "definitely-wrong")
    register(settings, "bad", f"mysql://root:${{BAD_PW}}@{host}")
    result = crawl(settings, "bad")
    assert result["status"] == "failed"
    assert result["error"].startswith("source 'bad': cannot connect:") and "Access denied" in result["error"]
    assert "definitely-wrong" not in result["error"]
