"""The server-rendered pages, against a catalog filled by a real crawl of a real SQLite file.

Why a real crawl and not hand-made rows: the pages must render what the crawler actually stores (paths,
foreign-key strings, schema diffs, warnings), including hostile names that the source itself holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog import sources
from catalog.access import Actor
from catalog.app import create_app
from catalog.crawl import crawl_source
from catalog.db import migrate, session_scope
from catalog.models import Dataset
from catalog.settings import Settings, load_settings
from tests.helpers import foreign_scripts
from web.filters import dataset_url

XSS_TABLE = "<script>alert(1)</script>"
XSS_COLUMN = "<script>alert(2)</script>"
XSS_COMMENT = "<script>alert(\"c\")</script> Kunden '; DROP TABLE x; --"
ODD_TABLE = "odd name 'q' \"dq\" #?% Straße"
UNICODE_COLUMN = 'Straße "x"'
BROKEN_VIEW = "<img src=x onerror=alert(3)> broken"
FILLER_TABLES = 60  # with the 5 named datasets: more than one page of 50
ENV_VARS = ("CATALOG_HOME", "CATALOG_DATABASE_URL", "CATALOG_MODE", "CATALOG_CRAWL_BATCH_SIZE")


class Links(HTMLParser):
    """Every href of a page, entities decoded (what a browser would follow)."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links(html: str, prefix: str = "") -> list[str]:
    parser = Links()
    parser.feed(html)
    return [h for h in parser.hrefs if h.startswith(prefix)]


def source_db_url(path: Path) -> str:
    return f"sqlite:///{path}"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def make_source_db(path: Path) -> None:
    """A shop: two related tables, a view, hostile and odd names, and enough tables to paginate."""
    conn = sqlite3.connect(path)
    conn.executescript(f"""
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total REAL);
        CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
        CREATE TABLE {quoted(XSS_TABLE)} ({quoted(UNICODE_COLUMN)} TEXT, {quoted(XSS_COLUMN)} INTEGER);
        CREATE TABLE {quoted(ODD_TABLE)} (v TEXT);
    """)  # noqa: S608 - identifiers are quoted test constants
    for n in range(FILLER_TABLES):
        conn.execute(f"CREATE TABLE t_{n:03d} (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO customers (name) VALUES (?)", [(f"c{n}",) for n in range(1234)])
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def build_catalog(root: Path) -> tuple[Settings, Path]:
    """Register and crawl the shop in a fresh catalog home under `root`, never the caller's environment."""
    db_path = root / "shop.db"
    make_source_db(db_path)
    with pytest.MonkeyPatch.context() as patch:
        for name in ENV_VARS:
            patch.delenv(name, raising=False)
        settings = load_settings(home=root / "home")
    migrate(settings)
    with session_scope(settings) as session:
        sources.add_source(session, Actor.local(), "shop", source_db_url(db_path))
    result = crawl_source(settings, Actor.local(), "shop")
    assert result["status"] == "succeeded", result
    return settings, db_path


def set_comment(settings: Settings, name: str, comment: str) -> None:
    """SQLite has no comments; put a hostile one where a PostgreSQL crawl would have stored it."""
    with session_scope(settings) as session:
        session.scalars(select(Dataset).where(Dataset.name == name)).one().native_comment = comment


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings, _ = build_catalog(tmp_path_factory.mktemp("web"))
    set_comment(settings, "shop/main/customers", XSS_COMMENT)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture()
def evolved(tmp_path: Path) -> Iterator[TestClient]:
    """A catalog crawled twice: a column added, a table dropped and a view broken in between."""
    settings, db_path = build_catalog(tmp_path)
    conn = sqlite3.connect(db_path)
    conn.executescript(f"""
        ALTER TABLE customers ADD COLUMN loyalty_points INTEGER;
        DROP TABLE t_000;
        CREATE TABLE scratch (a INTEGER);
        CREATE VIEW {quoted(BROKEN_VIEW)} AS SELECT a FROM scratch;
        DROP TABLE scratch;
    """)  # noqa: S608 - identifiers are quoted test constants
    conn.close()
    crawl_source(settings, Actor.local(), "shop")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def assert_html(response, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def assert_escaped(html: str) -> None:
    assert foreign_scripts(html) == []
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_templates_autoescape() -> None:
    from web.routes import templates

    badge = templates.get_template("_badge.html").module.badge  # type: ignore[attr-defined]
    assert str(badge("<b>x</b>")) == '<span class="badge badge-neutral">&lt;b&gt;x&lt;/b&gt;</span>'


def test_home_page(client: TestClient) -> None:
    html = assert_html(client.get("/"))
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and 'id="main"' in html
    assert '<span class="stat-number">1</span> source' in html
    assert f'<span class="stat-number">{FILLER_TABLES + 5}</span> datasets' in html
    assert 'action="/search"' in html and '<label for="home-q">' in html
    assert "Recently changed datasets" in html
    assert 'href="/sources/shop"' in html and "succeeded" in html
    assert '/static/style.css' in html
    assert_escaped(html)


def test_stylesheet_is_local(client: TestClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert "http" not in response.text and "@import" not in response.text


def test_dataset_list_first_page(client: TestClient) -> None:
    html = assert_html(client.get("/datasets"))
    assert f"Showing 1–50 of {FILLER_TABLES + 5} datasets" in html
    assert html.count('<tr class="is-deleted">') == 0
    assert len(links(html, "/datasets/")) == 50
    for label in ('<label for="filter-q">', '<label for="filter-source">', '<label for="filter-kind">',
                  '<label for="filter-deleted">'):
        assert label in html
    assert "/datasets?page=2" in links(html)
    assert_escaped(html)


def test_pagination_keeps_filters(client: TestClient) -> None:
    html = assert_html(client.get("/datasets", params={"q": "t_0", "kind": "table"}))
    assert f"Showing 1–50 of {FILLER_TABLES} datasets" in html
    next_links = [h for h in links(html, "/datasets?") if "page=2" in h]
    assert next_links
    assert parse_qs(urlsplit(next_links[0]).query) == {"q": ["t_0"], "kind": ["table"], "page": ["2"]}
    second = assert_html(client.get(next_links[0]))
    assert f"Showing 51–{FILLER_TABLES} of {FILLER_TABLES} datasets" in second
    assert f"t_{FILLER_TABLES - 1:03d}" in second and ">main/t_000<" not in second
    assert 'value="t_0"' in second and '<option value="table" selected>' in second


def test_page_past_the_end(client: TestClient) -> None:
    html = assert_html(client.get("/datasets?page=9"))
    assert "Page 9 is past the end" in html


@pytest.mark.parametrize(("params", "present", "absent"), [
    ({"kind": "view"}, ["main/big_orders"], ["main/orders<", "main/customers"]),
    ({"q": "CUST"}, ["main/customers"], ["main/orders<"]),
    ({"q": "kunden"}, ["main/customers"], ["main/t_001"]),  # matches the description
    ({"source": "shop", "q": "odd"}, ["odd name"], ["main/customers"]),
])
def test_filters(client: TestClient, params: dict[str, str], present: list[str], absent: list[str]) -> None:
    html = assert_html(client.get("/datasets", params=params))
    for text in present:
        assert text in html
    for text in absent:
        assert text not in html


def test_filters_with_no_match_show_empty_state(client: TestClient) -> None:
    html = assert_html(client.get("/datasets", params={"q": "no-such-thing"}))
    assert "No datasets match these filters" in html
    html = assert_html(client.get("/datasets", params={"source": "elsewhere"}))
    assert "No datasets match these filters" in html


@pytest.mark.parametrize(("query", "words"), [
    ("kind=bad", ["kind", "bad"]),
    ("page=x", ["page", "x"]),
    ("page=0", ["page"]),
    ("include_deleted=maybe", ["include_deleted"]),
    ("q=" + "a" * 201, ["q", "200"]),
])
def test_bad_parameters_give_a_400_page(client: TestClient, query: str, words: list[str]) -> None:
    html = assert_html(client.get(f"/datasets?{query}"), 400)
    assert "Bad request" in html
    for word in words:
        assert word in html


def test_unknown_dataset_and_source_give_a_404_page(client: TestClient) -> None:
    html = assert_html(client.get("/datasets/shop/main/nope"), 404)
    assert "dataset &#39;shop/main/nope&#39; does not exist" in html
    html = assert_html(client.get("/sources/nope"), 404)
    assert "source &#39;nope&#39; does not exist" in html


def test_dataset_page(client: TestClient) -> None:
    html = assert_html(client.get("/datasets/shop/main/orders"))
    assert "<h1 class=\"dataset-name\">main/orders</h1>" in html
    assert 'href="/sources/shop"' in html
    for text in ("customer_id", "INTEGER", "integer", "REAL", "float", ">PK<", ">FK<", "main/customers.id",
                 "First seen", "Last seen", "Version 1", "First version seen"):
        assert text in html
    target = [h for h in links(html, "/datasets/") if h.endswith("customers")]
    assert target == ["/datasets/shop/main/customers"]
    assert client.get(target[0]).status_code == 200


def test_dataset_page_description_and_row_estimate(client: TestClient) -> None:
    html = assert_html(client.get("/datasets/shop/main/customers"))
    assert "1,234" in html
    assert "from source comment" in html
    assert "&lt;script&gt;alert(&#34;c&#34;)&lt;/script&gt; Kunden &#39;; DROP TABLE x; --" in html
    assert foreign_scripts(html) == []


def test_hostile_names_are_escaped_everywhere(client: TestClient) -> None:
    name = f"shop/main/{XSS_TABLE}"
    page = assert_html(client.get(dataset_url(name)))
    assert_escaped(page)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "Straße &#34;x&#34;" in page
    for path in ("/", "/datasets", "/datasets?q=script", "/sources", "/sources/shop"):
        assert foreign_scripts(assert_html(client.get(path))) == []


def test_links_to_odd_names_resolve(client: TestClient) -> None:
    hrefs: list[str] = []
    for page in (1, 2):
        hrefs += links(assert_html(client.get(f"/datasets?page={page}")), "/datasets/")
    assert len(hrefs) == FILLER_TABLES + 5
    odd = [h for h in hrefs if "odd" in h or "script" in h]
    assert len(odd) == 2
    assert all("#" not in h and "?" not in h and " " not in h for h in odd)
    for href in odd:
        html = assert_html(client.get(href))
        assert "Columns" in html


def test_sources_pages(client: TestClient) -> None:
    html = assert_html(client.get("/sources"))
    assert 'href="/sources/shop"' in html and "succeeded" in html
    assert f"{FILLER_TABLES + 5} / 0 / 0 / 0 / 0" in html
    html = assert_html(client.get("/sources/shop"))
    assert "Crawl history" in html and "Run 1" in html and "No warnings." in html
    assert "/datasets?source=shop" in links(html)


def test_schema_history_after_a_column_is_added(evolved: TestClient) -> None:
    html = assert_html(evolved.get("/datasets/shop/main/customers"))
    assert "Version 2" in html and "Version 1" in html
    assert html.index("Version 2") < html.index("Version 1")
    assert ">added</span> <span class=\"mono\">loyalty_points</span>" in html
    assert "4 columns" in html and "3 columns" in html


def test_deleted_datasets(evolved: TestClient) -> None:
    assert ">main/t_000<" not in assert_html(evolved.get("/datasets?q=t_000"))
    html = assert_html(evolved.get("/datasets?q=t_000&include_deleted=true"))
    assert ">main/t_000<" in html and ">deleted<" in html
    assert 'name="include_deleted" type="checkbox" value="true" checked' in html
    page = assert_html(evolved.get("/datasets/shop/main/t_000"))
    assert "This dataset was not found by the latest crawl" in page


def test_crawl_warnings_are_listed_and_escaped(evolved: TestClient) -> None:
    html = assert_html(evolved.get("/sources/shop"))
    assert "Run 2" in html and "partial" in html and "1 warning" in html
    assert "&lt;img src=x onerror=alert(3)&gt; broken" in html
    assert "<img" not in html


def test_failed_crawl_shows_its_error(tmp_path: Path) -> None:
    settings, db_path = build_catalog(tmp_path)
    db_path.unlink()
    assert crawl_source(settings, Actor.local(), "shop")["status"] == "failed"
    with TestClient(create_app(settings)) as test_client:
        html = assert_html(test_client.get("/sources/shop"))
        assert "Error:" in html and "failed" in html
        assert "failed" in assert_html(test_client.get("/sources"))


def test_file_datasets_show_partitions_observations_and_escape_hostile_headers(settings: Settings,
                                                                                tmp_path: Path) -> None:
    """A lake folder: partition count and file sizes on the page; a CSV header written as HTML stays text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake = tmp_path / "lake"
    for month in ("01", "02"):
        part = lake / "sales" / f"month={month}"
        part.mkdir(parents=True)
        pq.write_table(pa.table({"id": [1, 2], "amount": [1.5, 2.5]}), part / "part-0.parquet")
    (lake / "raw.csv").write_text('id,"<img src=x onerror=alert(1)>"\n1,2\n', encoding="utf-8")
    with session_scope(settings) as session:
        sources.add_source(session, Actor.local(), "lake", str(lake))
    assert crawl_source(settings, Actor.local(), "lake")["status"] == "succeeded"
    with TestClient(create_app(settings)) as web:
        sales = web.get(dataset_url("lake/sales")).text
        raw = web.get(dataset_url("lake/raw")).text
    assert "<dt>Partitions</dt><dd>2</dd>" in sales and "<dt>Files</dt><dd>2 (" in sales
    assert "Observed at the last crawl" in sales and '<dt>partitions</dt><dd class="mono">2</dd>' in sales
    assert "<img src=x" not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw


def test_page_forms_refuse_uploads_and_oversized_bodies(client: TestClient) -> None:
    """Only the publish page takes files; other page posts are small url-encoded forms, bounded before parsing."""
    origin = {"Origin": "http://testserver"}
    upload = client.post("/descriptions", headers=origin, data={"dataset": "shop/main/customers"},
                         files={"text": ("big.bin", b"x" * 1024, "application/octet-stream")})
    assert upload.status_code == 400 and "not a file upload" in upload.text
    huge = client.post("/descriptions", headers=origin, data={"dataset": "shop/main/customers", "column": "",
                                                              "decision": "edit", "text": "y" * 300_000})
    assert huge.status_code == 413 and "limited to 256 KiB" in huge.text
