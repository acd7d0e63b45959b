"""The demo company databases: built once, reused, realistic enough for the catalog's detectors."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from catalog.demo_data import DEMO_MARKER, build_demo_databases

EXPECTED_ROWS = {
    "main": {"customers": (500, 2000), "products": (100, 1000), "product_categories": (5, 50),
             "orders": (2000, 5000), "order_items": (4000, 10000), "payments": (2000, 5000)},
    "hr": {"employees": (40, 100), "departments": (3, 20), "salaries": (60, 1000)},
    "support": {"tickets": (800, 2000), "ticket_messages": (1000, 6000), "agents": (5, 50)},
}  # fmt: skip


def luhn_valid(number: str) -> bool:
    digits = [int(ch) for ch in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(d * 2, 10)) for d in digits[1::2])
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_demo_databases(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def shop(demo: dict[str, Path]) -> Iterator[sqlite3.Connection]:
    """shop.db with hr.db and support.db attached, the way the catalog crawls them."""
    with closing(sqlite3.connect(demo["main"])) as conn:
        for schema in ("hr", "support"):
            conn.execute(f"ATTACH DATABASE ? AS {schema}", (str(demo[schema]),))
        yield conn


def test_files_are_created(demo: dict[str, Path]) -> None:
    assert list(demo) == ["main", "hr", "support"]
    assert [p.name for p in demo.values()] == ["shop.db", "hr.db", "support.db"]
    for path in demo.values():
        assert path.is_file() and path.is_absolute()
        assert not list(path.parent.glob("*.tmp"))


def test_second_call_does_not_rebuild(demo: dict[str, Path]) -> None:
    before = {schema: path.stat().st_mtime_ns for schema, path in demo.items()}
    assert build_demo_databases(demo["main"].parent) == demo
    assert {schema: path.stat().st_mtime_ns for schema, path in demo.items()} == before


def test_incomplete_file_triggers_rebuild(tmp_path: Path) -> None:
    paths = build_demo_databases(tmp_path)
    with closing(sqlite3.connect(paths["hr"])) as conn:
        conn.execute("PRAGMA user_version = 0")  # as if the build had crashed before finishing
    paths["support"].unlink()
    assert build_demo_databases(tmp_path) == paths
    for path in paths.values():
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == DEMO_MARKER


def test_build_is_deterministic(demo: dict[str, Path], tmp_path: Path) -> None:
    other = build_demo_databases(tmp_path)
    query = "SELECT c_eml, phone, signup_ts FROM customers ORDER BY cust_id"
    with closing(sqlite3.connect(demo["main"])) as a, closing(sqlite3.connect(other["main"])) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


@pytest.mark.parametrize("schema", EXPECTED_ROWS)
def test_tables_have_plausible_row_counts(shop: sqlite3.Connection, schema: str) -> None:
    for table, (low, high) in EXPECTED_ROWS[schema].items():
        count = shop.execute(f"SELECT COUNT(*) FROM {schema}.{table}").fetchone()[0]  # noqa: S608
        assert low <= count <= high, (schema, table, count)


def test_foreign_keys_hold(shop: sqlite3.Connection) -> None:
    for schema in EXPECTED_ROWS:
        assert shop.execute(f"PRAGMA {schema}.foreign_key_check").fetchall() == []


def test_card_numbers_pass_luhn_and_order_refs_fail(shop: sqlite3.Connection) -> None:
    cards = [row[0] for row in shop.execute("SELECT card_no FROM payments WHERE card_no IS NOT NULL")]
    refs = [row[0] for row in shop.execute("SELECT order_ref FROM orders")]
    assert len(cards) > 500
    assert all(card.isdigit() and 15 <= len(card) <= 16 and luhn_valid(card) for card in cards)
    assert all(ref.isdigit() and len(ref) == 16 and not luhn_valid(ref) for ref in refs)


def test_ibans_pass_mod_97(shop: sqlite3.Connection) -> None:
    ibans = [row[0] for row in shop.execute("SELECT iban FROM payments WHERE iban IS NOT NULL")]
    assert len(ibans) > 50
    assert all(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban) and iban_valid(iban) for iban in ibans)


def test_ssns_follow_issuing_rules(shop: sqlite3.Connection) -> None:
    ssns = [row[0] for row in shop.execute("SELECT ssn FROM hr.employees WHERE ssn IS NOT NULL")]
    assert ssns
    for ssn in ssns:
        area, group, serial = ssn.split("-")
        assert area not in ("000", "666") and not area.startswith("9")
        assert group != "00" and serial != "0000"


def test_traps_are_present(shop: sqlite3.Connection) -> None:
    browsers = {row[0] for row in shop.execute("SELECT DISTINCT browser FROM orders")}
    years = {row[0] for row in shop.execute("SELECT DISTINCT model_year FROM products")}
    assert {"Safari", "Chrome", "Firefox"} <= browsers
    assert {1999, 2000} <= years
    mentions = shop.execute("SELECT COUNT(*) FROM support.tickets WHERE body LIKE '%@%'").fetchone()[0]
    assert 0 < mentions < 100


def test_sqlite_stat1_has_row_counts(shop: sqlite3.Connection) -> None:
    for schema in EXPECTED_ROWS:
        stats = dict(shop.execute(f"SELECT tbl, stat FROM {schema}.sqlite_stat1"))  # noqa: S608
        assert set(EXPECTED_ROWS[schema]) <= set(stats)
    orders = shop.execute("SELECT stat FROM main.sqlite_stat1 WHERE tbl = 'orders'").fetchone()[0]
    assert int(orders.split()[0]) == shop.execute("SELECT COUNT(*) FROM orders").fetchone()[0]


def test_orders_ddl_carries_comments(shop: sqlite3.Connection) -> None:
    sql = shop.execute("SELECT sql FROM sqlite_master WHERE name = 'orders'").fetchone()[0]
    lines = sql.splitlines()
    assert lines[0].rstrip().endswith("(") and lines[1].strip().startswith("-- ")
    assert re.search(r"^\s*ord_dt .*, -- \S", sql, re.MULTILINE)


def test_view_reports_revenue(shop: sqlite3.Connection) -> None:
    top = shop.execute(
        "SELECT cust_id, customer_name, total_revenue_usd FROM v_customer_revenue ORDER BY 3 DESC LIMIT 1"
    ).fetchone()
    assert top[2] > 0 and " " in top[1]
