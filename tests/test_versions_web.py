"""The pages of published versions: the dataset page's versions section, one version, a diff, the suite editor.

Versions are published for real (DVC repository, gates, catalog sync), so the pages render what publishing stores;
a publisher's message is hostile input and must come out escaped.
"""

from __future__ import annotations

import json
import sqlite3
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from catalog.access import Actor
from catalog.app import create_app
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings
from tests.helpers import crawl, foreign_scripts, register
from tests.test_web_pages import Links

NAME = "team/sales"
ORIGIN = {"origin": "http://testserver"}
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def sales(rows: int = 500, seed: int = 1, shift: float = 0.0, nudge: float = 0.0) -> pa.Table:
    """Ids, amounts, discounts and countries: nothing the PII gate blocks. `shift` moves the amounts by two
    standard deviations per 30 (major drift), `nudge` the discounts by 0.3 of one per 0.6 (moderate drift)."""
    rng = np.random.default_rng(seed)
    return pa.table({
        "order_id": np.arange(rows, dtype=np.int64),
        "amount": rng.normal(100 + shift, 15, rows),
        "discount": rng.normal(10 + nudge, 2, rows),
        "country": pa.array(rng.choice(["NL", "DE", "FR", "US"], rows)),
    })


def hrefs(html: str, prefix: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return [h for h in parser.hrefs if h.startswith(prefix)]


def page(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text[:800]
    assert response.headers["content-type"].startswith("text/html")
    assert foreign_scripts(response.text) == []
    return response.text


def error_page(response, status: int) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text[:800]
    assert response.headers["content-type"].startswith("text/html")
    assert foreign_scripts(response.text) == []
    return unescape(response.text)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    """v1 with a hostile message; v2 derived from it with the amounts shifted far (major drift) and the discounts a
    little (moderate drift), both within the ranges of the default suite generated from v1."""
    actor = Actor.local()
    first = publish(settings, actor, NAME, data=sales(), options=PublishOptions(message=HOSTILE))
    assert first["status"] == "published", first
    second = publish(settings, actor, NAME, data=sales(seed=2, shift=30, nudge=0.6),
                     options=PublishOptions(message="shifted amounts", parents=(f"{NAME}@v1",)))
    assert second["status"] == "published", second
    return TestClient(create_app(settings))


def test_dataset_page_lists_versions_with_checks_compare_form_and_python(client: TestClient) -> None:
    html = page(client.get(f"/datasets/{NAME}"))
    assert "Published versions" in html
    assert html.index('id="published-heading"') < html.index('id="history-heading"')
    versions = hrefs(html, "/versions?")
    assert "/versions?dataset=team%2Fsales&version=v2" in versions
    # v1's own row, v2's parent link, the lineage section's "v2 derived from v1", and in its graph v1's node and
    # its line in the graph's plain-text list of edges
    assert versions.count("/versions?dataset=team%2Fsales&version=v1") == 5
    graph = html[html.index('id="lineage-heading"'):html.index('id="access-heading"')]
    assert 'class="lg-svg"' in graph and graph.count("/versions?dataset=team%2Fsales&amp;version=v1") == 3
    assert "PII passed" in html and "quality passed" in html and "quality not run" in html
    assert "500 rows validated" in html and "shifted amounts" in html
    assert 'action="/versions/diff"' in html and 'method="get"' in html
    assert '<select id="compare-old" name="old">' in html and '<select id="compare-new" name="new">' in html
    assert "/suites?dataset=team%2Fsales" in hrefs(html, "/suites")
    assert 'Client("http://testserver").get("team/sales", version="v2")' in html
    assert html.count(ESCAPED) == 1


def test_crawled_dataset_page_has_no_versions_section(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    register(settings, "shop", f"sqlite:///{path}")
    crawl(settings, "shop")
    html = page(TestClient(create_app(settings)).get("/datasets/shop/main/orders"))
    assert "Schema history" in html and "Published versions" not in html and "/versions?" not in html


def test_version_page_shows_facts_schema_checks_and_schema_change(client: TestClient) -> None:
    v2 = client.get("/api/v1/versions/resolve", params={"dataset": NAME, "version": "v2"}).json()
    html = page(client.get("/versions", params={"dataset": NAME, "version": "v2"}))
    for fact in (v2["tag"], v2["git_commit"][:12], v2["md5"], v2["content_hash"], "shifted amounts", "local"):
        assert fact in html
    assert "team/sales@v1" in html and "/versions?dataset=team%2Fsales&version=v1" in hrefs(html, "/versions?")
    assert "/versions/diff?dataset=team%2Fsales&old=v1&new=v2" in hrefs(html, "/versions/diff")
    assert "<th scope=\"row\" class=\"mono\">amount</th>" in html and "double" in html
    assert "expect_column_values_to_be_between" in html and "expect_table_row_count_to_be_between" in html
    assert "unexpected count" in html, "observed aggregates are listed"
    assert "No personal data found." in html
    assert "Same columns and types as v1." in html
    # By hash prefix, and v1 (whose suite did not run yet) with its hostile message.
    assert "v2" in page(client.get("/versions", params={"dataset": NAME, "version": v2["content_hash"][:8]}))
    first = page(client.get("/versions", params={"dataset": NAME, "version": "v1"}))
    assert ESCAPED in first and "First version" in first and "no expectation suite yet" in first


def test_version_page_lists_pii_findings_and_allowances(settings: Settings) -> None:
    rows = 200
    table = pa.table({"id": np.arange(rows), "email": [f"user{i}@example.org" for i in range(rows)]})
    result = publish(settings, Actor.local(), "team/contacts", data=table,
                     options=PublishOptions(allow_pii={"email": "needed <b>to</b> send the invoices"}))
    assert result["status"] == "published"
    html = page(TestClient(create_app(settings)).get("/versions", params={"dataset": "team/contacts"}))
    assert "pii.email" in html and "allowed" in html
    assert "needed &lt;b&gt;to&lt;/b&gt; send the invoices" in html and "<b>to</b>" not in html
    assert "example.org" not in html
    wider = table.append_column("segment", pa.array(["a", "b"] * (rows // 2)))
    again = publish(settings, Actor.local(), "team/contacts", data=wider,
                    options=PublishOptions(allow_pii={"email": "needed to send the invoices"}))
    assert again["status"] == "published"
    html = page(TestClient(create_app(settings)).get("/versions", params={"dataset": "team/contacts"}))
    assert '<span class="diff-label">added</span> <span class="mono">segment</span>' in html


def test_unknown_versions_are_404_pages_and_bad_refs_400(client: TestClient) -> None:
    assert "no version 'v9'" in error_page(client.get("/versions", params={"dataset": NAME, "version": "v9"}), 404)
    assert "has no published versions" in error_page(
        client.get("/versions", params={"dataset": "team/nothing"}), 404)
    assert "hash prefix" in error_page(client.get("/versions", params={"dataset": NAME, "version": "abc"}), 400)
    assert "dataset" in error_page(client.get("/versions"), 400)
    error_page(client.get("/versions/diff", params={"dataset": NAME, "old": "v1", "new": "v7"}), 404)
    error_page(client.get("/suites", params={"dataset": "team/nothing"}), 404)


def test_diff_page_shows_schema_rows_and_drift_levels(client: TestClient) -> None:
    dataset = page(client.get(f"/datasets/{NAME}"))
    assert '<option value="v1" selected>' in dataset and '<option value="v2" selected>' in dataset
    html = page(client.get("/versions/diff", params={"dataset": NAME, "old": "v1", "new": "v2"}))
    assert "v1 &rarr; v2" in html
    assert "No columns added, removed or retyped." in html and "4 columns unchanged." in html
    levels = {row.split('"')[0]: row for row in html.split('<tr class="drift-')[1:]}
    assert '<span class="badge badge-bad">major</span>' in levels["major"] and ">amount<" in levels["major"]
    assert '<span class="badge badge-warn">moderate</span>' in levels["moderate"] and ">discount<" in levels["moderate"]
    assert '<span class="badge badge-ok">none</span>' in levels["none"]
    diff = client.get("/api/v1/versions/diff", params={"dataset": NAME, "old": "v1", "new": "v2"}).json()
    amount = next(d for d in diff["drift"] if d["column"] == "amount")
    country = next(d for d in diff["drift"] if d["column"] == "country")
    assert f"{amount['psi']:.3f}" in html and f"{country['js']:.3f}" in html and f"{country['chi2_pvalue']:.3f}" in html
    assert "PSI over 10 quantile bins" in html
    reverse = page(client.get("/versions/diff", params={"dataset": NAME, "old": "v2", "new": "latest"}))
    assert "v2 &rarr; v2" in reverse and "drift-major" not in reverse and "drift-moderate" not in reverse


def test_suite_page_edit_round_trip_errors_and_reset(client: TestClient) -> None:
    html = page(client.get("/suites", params={"dataset": NAME}))
    assert "default from v2" in html and 'action="/suites"' in html and 'action="/suites/reset"' in html
    assert "expect_column_values_to_be_between" in html and '<textarea id="suite-json" name="suite"' in html
    suite = {"name": "lenient", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "amount"}}],
             "meta": {"why": HOSTILE}}
    saved = client.post("/suites", data={"dataset": NAME, "suite": json.dumps(suite)}, headers=ORIGIN,
                        follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/suites?dataset=team%2Fsales"
    html = page(client.get(saved.headers["location"]))
    assert "human:local" in html and ESCAPED in html and "expect_column_values_to_be_between" not in html
    assert client.get("/api/v1/suites", params={"dataset": NAME}).json()["suite"]["name"] == "lenient"

    bad_json = client.post("/suites", data={"dataset": NAME, "suite": '{"name": "x", "expectations": [}'},
                           headers=ORIGIN)
    assert "not valid JSON" in error_page(bad_json, 400) and "line 1" in error_page(bad_json, 400)
    unknown = {"name": "x", "expectations": [{"type": "expect_rows_to_be_nice", "kwargs": {}}]}
    refused = client.post("/suites", data={"dataset": NAME, "suite": json.dumps(unknown)}, headers=ORIGIN)
    assert "'expect_rows_to_be_nice' is not a Great Expectations expectation" in error_page(refused, 400)
    assert "empty" in error_page(client.post("/suites", data={"dataset": NAME, "suite": " "}, headers=ORIGIN), 400)
    assert client.get("/api/v1/suites", params={"dataset": NAME}).json()["suite"]["name"] == "lenient"

    reset = client.post("/suites/reset", data={"dataset": NAME}, headers=ORIGIN, follow_redirects=False)
    assert reset.status_code == 303 and reset.headers["location"] == "/suites?dataset=team%2Fsales"
    html = page(client.get(reset.headers["location"]))
    assert "default from v2" in html and "expect_column_values_to_be_between" in html


def test_suite_forms_refuse_posts_from_elsewhere(client: TestClient) -> None:
    form = {"dataset": NAME, "suite": json.dumps({"name": "x", "expectations": []})}
    for path, data in (("/suites", form), ("/suites/reset", {"dataset": NAME})):
        assert client.post(path, data=data, follow_redirects=False).status_code == 403
        forged = client.post(path, data=data, headers={"origin": "http://evil.example"}, follow_redirects=False)
        assert forged.status_code == 403
    assert client.get("/api/v1/suites", params={"dataset": NAME}).json()["origin"] == "default from v2"


class Forms(HTMLParser):
    """The GET forms of a page: action and each field's submitted value (hidden inputs, selected options)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and found.get("method") == "get":
            self.forms.append((found.get("action") or "", {}))
        elif not self.forms:
            return
        elif tag == "input" and found.get("name"):
            self.forms[-1][1][found["name"] or ""] = found.get("value") or ""
        elif tag == "select":
            self._select = found.get("name")
        elif tag == "option" and self._select and "selected" in found:
            self.forms[-1][1][self._select] = found.get("value") or ""


def test_compare_form_submits_to_the_diff_page(client: TestClient) -> None:
    parser = Forms()
    parser.feed(page(client.get(f"/datasets/{NAME}")))
    action, fields = next(f for f in parser.forms if f[0] == "/versions/diff")
    assert fields == {"dataset": NAME, "old": "v1", "new": "v2"}
    html = page(client.get(action, params=fields))
    assert "Drift per column" in html and "team/sales</span>: v1 &rarr; v2" in html
