"""The dataset page costs the same SQL statements for 20 columns as for 200, and shows every column.

Why: a page that reads labels, descriptions or profiles per column (N+1) is fast on the 5-column demo and slow on
a real 500-column table. Counting statements (a `before_cursor_execute` listener on the store's engine) catches
that without timing anything; bench/page_render.py measures the time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.app import create_app
from catalog.db import get_engine
from catalog.settings import Settings
from tests.helpers import crawl, register

NARROW, WIDE = 20, 200
ROWS = 60
KINDS = ("email", "phone", "amount", "city", "note")  # e-mails and phone numbers get labels with evidence


def column_names(count: int) -> list[str]:
    return ["id"] + [f"{KINDS[n % len(KINDS)]}_{n:03d}" for n in range(count - 1)]


def value(name: str, row: int) -> object:
    kind = name.rsplit("_", 1)[0]
    return {"email": f"person{row}@example.org", "phone": f"+31 6 {10_000_000 + row * 7919}",
            "amount": round(row * 3.7 % 250, 2), "city": ("Lyon", "Bonn", "Leeds")[row % 3],
            "note": f"call back {'soon' if row % 2 else 'later'}"}.get(kind, row)


def make_table(conn: sqlite3.Connection, table: str, count: int) -> None:
    names = column_names(count)
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {', '.join(f'{n} TEXT' for n in names[1:])})")
    marks = ", ".join("?" * count)
    conn.executemany(f"INSERT INTO {table} VALUES ({marks})",  # noqa: S608 - test-made identifiers
                     [tuple(value(n, row) for n in names) for row in range(ROWS)])


@pytest.fixture
def client(settings: Settings, actor: Actor, tmp_path: Path) -> TestClient:
    """A crawled, profiled, classified and described source with a 20-column and a 200-column table."""
    path = tmp_path / "wide.db"
    with sqlite3.connect(path) as conn:
        make_table(conn, "narrow", NARROW)
        make_table(conn, "wide", WIDE)
    register(settings, "src", f"sqlite:///{path}")
    crawl(settings, "src")
    annotate(settings, actor, sources=["src"], backend="rules")
    return TestClient(create_app(settings))


@pytest.fixture
def statements(settings: Settings) -> Iterator[list[str]]:
    """Every SQL statement sent to the catalog's store while the test runs."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    engine = get_engine(settings)
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def page(client: TestClient, statements: list[str], name: str) -> tuple[str, int]:
    """The dataset page's HTML and the statements one request of it sent (after a first, warming request)."""
    url = "/datasets/" + quote(name, safe="/")
    assert client.get(url).status_code == 200
    statements.clear()
    response = client.get(url)
    assert response.status_code == 200
    return response.text, len(statements)


def test_statements_do_not_grow_with_columns(client: TestClient, statements: list[str]) -> None:
    _, narrow = page(client, statements, "src/main/narrow")
    _, wide = page(client, statements, "src/main/wide")
    assert wide == narrow, f"{WIDE} columns cost {wide} statements, {NARROW} columns {narrow}"


def test_page_shows_every_column_with_its_profile_labels_and_description(client: TestClient,
                                                                        statements: list[str]) -> None:
    html, _ = page(client, statements, "src/main/wide")
    for name in column_names(WIDE):
        assert f'<tr id="col-{name}">' in html, f"column {name} is missing from the page"
    assert html.count('<td class="profile-cell"><details>') == WIDE, "every column shows its profile"
    assert html.count('<svg class="histogram"') == WIDE, "every profile keeps its histogram"
    assert html.count("AI suggestion (rules") >= WIDE, "every column shows its AI description and its source"
    assert '<td class="mono">pii.email</td>' in html and '<ul class="evidence">' in html, "labels keep evidence"
