"""The publishing page: upload a file (or name a crawled dataset) and publish it, through the real gates and repo.

Publishes run for real (DVC repository, PII classifier, Great Expectations, catalog sync). Every refusal must show
the form again with the reason and leave nothing behind: no version row, no tag, no file in the staging area.
"""

from __future__ import annotations

import io
import re
import sqlite3
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from catalog import api_versions
from catalog.access import Actor
from catalog.app import create_app
from catalog.db import session_scope
from catalog.principals import add_user, create_token
from catalog.publish import publish
from catalog.settings import Settings
from catalog.version_repo import VersionRepo
from tests.helpers import crawl, governed_catalog, register
from tests.test_versions import git, staging_files, version_count
from tests.test_versions_web import hrefs
from tests.test_web_login import csrf_of

NAME = "team/sales"
ORIGIN = {"Origin": "http://testserver"}
HOSTILE = "<script>alert(1)</script>"
HOSTILE_FILE = "<img src=x onerror=alert(1)>.csv"
PASSWORD = "a long enough passphrase"


def sales(rows: int = 300, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"order_id": np.arange(rows, dtype=np.int64), "amount": rng.normal(100, 15, rows),
                     "country": pa.array(rng.choice(["NL", "DE", "FR", "US"], rows))})


def people(rows: int = 300) -> pa.Table:
    return pa.table({"customer_id": list(range(rows)), "email": [f"user{i}@example.com" for i in range(rows)],
                     "spend": [float(i) for i in range(rows)]})


def as_csv(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return buffer.getvalue()


def as_parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def post(client: TestClient, file: tuple[str, bytes] | None = None, headers: dict[str, str] | None = None,
         **fields: str):  # type: ignore[no-untyped-def]
    """The form as a browser sends it: text fields, then the file input (an empty part when no file is chosen)."""
    name, content = file or ("", b"")
    return client.post("/publish", data={"dataset": NAME, **fields}, files={"file": (name, content)},
                       headers=ORIGIN if headers is None else headers)


def refused(response, status: int) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text[:800]
    assert response.headers["content-type"].startswith("text/html")
    assert 'enctype="multipart/form-data"' in response.text, "a refusal shows the form again"
    assert HOSTILE not in response.text and "<img" not in response.text
    return response.text


def field_value(html: str, name: str) -> str:
    """What a text input or textarea of the re-rendered form holds (entities decoded)."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html) or re.search(
        rf'<textarea[^>]*name="{name}"[^>]*>([^<]*)</textarea>', html)
    assert found is not None, f"no field {name}"
    return unescape(found.group(1))


def nothing_published(settings: Settings, name: str = NAME) -> None:
    repo = VersionRepo(settings)
    assert version_count(settings) == 0
    assert not (repo.root / ".git").exists() or (repo.tags_of(name) == [] and git(repo, "tag") == "")
    assert staging_files(settings) == []


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False)


class Form(HTMLParser):
    """Inputs, labels, ids and aria-describedby references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.options: dict[str, list[str]] = {}
        self._datalist: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "label" and found.get("for"):
            self.label_for.add(str(found["for"]))
        if tag in ("input", "textarea", "select") and found.get("type") != "hidden":
            self.inputs.append(found)
        if tag == "datalist":
            self._datalist = str(found["id"])
            self.options[self._datalist] = []
        if tag == "option" and self._datalist:
            self.options[self._datalist].append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "datalist":
            self._datalist = None


def test_the_form_labels_every_input_and_offers_targets_and_crawled_datasets(settings: Settings, tmp_path: Path,
                                                                            client: TestClient) -> None:
    publish(settings, Actor.local(), NAME, data=sales())
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    register(settings, "shop", f"sqlite:///{shop}")
    crawl(settings, "shop")
    response = client.get("/publish", params={"dataset": NAME})
    assert response.status_code == 200 and 'aria-current="page">Publish' in response.text
    form = Form()
    form.feed(response.text)
    names = {str(i["name"]) for i in form.inputs}
    assert names == {"dataset", "message", "parents", "allow_pii", "allow_schema_change", "file", "from_dataset",
                     "recipe"}
    for element in form.inputs:
        assert element["id"] in form.label_for, f"{element['name']} has no label"
        described = str(element.get("aria-describedby") or "")
        assert described and described in form.ids, f"{element['name']} has no help text"
    assert form.options["pub-dataset-names"] == [NAME]
    assert "shop/main/orders" in form.options["pub-from-names"]
    assert field_value(response.text, "dataset") == NAME and field_value(response.text, "base") == "1"
    assert 'action="/publish"' in response.text and 'method="post"' in response.text
    assert "must not be the name of a crawled source" in response.text and ".csv" in response.text


@pytest.mark.parametrize(("suffix", "encode"), [(".csv", as_csv), (".parquet", as_parquet)])
def test_uploads_publish_v1_then_v2_and_the_same_bytes_are_unchanged(settings: Settings, client: TestClient,
                                                                     suffix: str, encode) -> None:  # type: ignore[no-untyped-def]
    first = post(client, (f"sales{suffix}", encode(sales())), message="first cut")
    assert first.status_code == 303, first.text[:800]
    assert first.headers["location"] == "/versions?dataset=team%2Fsales&version=v1&notice=published"
    listed = client.get("/versions", params={"dataset": NAME})
    assert listed.status_code == 200 and "team/sales</span> v1" in listed.text and "first cut" in listed.text
    assert f"upload sales{suffix}" in listed.text
    assert "Published v1" in client.get(first.headers["location"]).text

    second_bytes = encode(sales(seed=2))
    second = post(client, (f"more{suffix}", second_bytes))
    assert second.headers["location"] == "/versions?dataset=team%2Fsales&version=v2&notice=published"
    again = post(client, (f"copy{suffix}", second_bytes))
    assert again.status_code == 303
    assert again.headers["location"] == "/versions?dataset=team%2Fsales&version=v2&notice=unchanged"
    shown = client.get(again.headers["location"]).text
    assert "Nothing new was published" in shown and "same as v2" in shown
    assert version_count(settings) == 2 and staging_files(settings) == []
    assert VersionRepo(settings).tags_of(NAME) == [f"{NAME}@v1", f"{NAME}@v2"]


def test_personal_data_is_blocked_with_the_column_named_then_published_with_a_justification(
        settings: Settings, client: TestClient) -> None:
    data = ("people.csv", as_csv(people()))
    html = refused(post(client, data, dataset="crm/customers", message="contacts"), 422)
    text = unescape(html)
    assert "personal data in 'email'" in text and "pii.email" in text and "blocking" in text
    assert "user1@example.com" not in text, "the report never quotes data values"
    assert field_value(html, "dataset") == "crm/customers" and field_value(html, "message") == "contacts"
    assert "choose it again" in text
    nothing_published(settings, "crm/customers")

    short = refused(post(client, data, dataset="crm/customers", allow_pii="email: ok"), 400)
    assert "at least 10 characters" in unescape(short) and field_value(short, "allow_pii") == "email: ok"
    done = post(client, data, dataset="crm/customers", allow_pii="\nemail: support answers tickets by email\n")
    assert done.status_code == 303, done.text[:800]
    page = client.get(done.headers["location"]).text
    assert "support answers tickets by email" in page and "allowed" in page


def test_schema_breaks_and_failing_expectations_are_reported_by_name(settings: Settings,
                                                                    client: TestClient) -> None:
    assert post(client, ("v1.csv", as_csv(sales()))).status_code == 303
    narrower = sales(seed=3).drop_columns(["country"])
    html = unescape(refused(post(client, ("v2.csv", as_csv(narrower))), 422))
    assert "removes 'country'" in html and "removed" in html
    broken = sales(seed=4)
    amounts = broken.column("amount").to_numpy().copy()
    amounts[::2] = np.nan
    broken = broken.set_column(1, "amount", pa.array(amounts, from_pandas=True))
    html = unescape(refused(post(client, ("nulls.parquet", as_parquet(broken))), 422))
    assert "Failed expectations" in html and "expect_column_values_to_not_be_null" in html
    assert re.search(r'<th scope="row" class="mono">expect_[a-z_]+</th><td class="mono">amount</td>', html)
    empty = refused(post(client, ("empty.csv", b"order_id,amount,country\n")), 422)
    assert "the table is empty" in unescape(empty)
    justified = post(client, ("v2.csv", as_csv(narrower)), allow_schema_change="country moved to the geo dataset")
    assert justified.headers["location"].endswith("version=v2&notice=published")
    assert version_count(settings) == 2 and staging_files(settings) == []


def test_publishing_from_a_crawled_dataset(settings: Settings, client: TestClient, tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i * 2.5) for i in range(200)])
    register(settings, "shop", f"sqlite:///{shop}")
    crawl(settings, "shop")
    done = post(client, dataset="shop_clean/orders", from_dataset="shop/main/orders", parents="")
    assert done.status_code == 303, done.text[:800]
    page = client.get(done.headers["location"]).text
    assert "dataset shop/main/orders" in page and "200" in page
    missing = refused(post(client, dataset="shop_clean/orders", from_dataset="shop/main/nothing"), 400)
    assert "'shop/main/nothing' does not exist" in unescape(missing)


def test_bad_names_and_the_choice_of_data_are_refused_with_the_inputs_kept(settings: Settings,
                                                                          client: TestClient) -> None:
    data = ("sales.csv", as_csv(sales()))
    html = refused(post(client, data, dataset="team/../x", message=HOSTILE), 400)
    assert "must not contain '..'" in unescape(html)
    assert field_value(html, "dataset") == "team/../x" and field_value(html, "message") == HOSTILE
    both = refused(post(client, data, from_dataset="shop/main/orders"), 400)
    assert "not both" in both and field_value(both, "from_dataset") == "shop/main/orders"
    neither = refused(post(client), 400)
    assert "choose a file to upload or name a crawled dataset" in neither
    unsupported = refused(post(client, ("sales.txt", b"a,b\n1,2\n")), 400)
    assert "unsupported file type" in unsupported
    broken = refused(post(client, ("broken.parquet", b"PAR1 not parquet at all")), 400)
    assert "cannot read &#39;broken.parquet&#39;" in broken
    parents = refused(post(client, data, parents="team/other@v1"), 400)
    assert "team/other" in unescape(parents)
    nothing_published(settings)


def test_a_concurrent_publish_is_a_conflict_and_the_form_follows_it(settings: Settings, client: TestClient) -> None:
    publish(settings, Actor.local(), NAME, data=sales())
    form = client.get("/publish", params={"dataset": NAME}).text
    base = {"base": field_value(form, "base"), "base_of": field_value(form, "base_of")}
    publish(settings, Actor.local(), NAME, data=sales(seed=2))  # lands while the form is open
    html = refused(post(client, ("mine.csv", as_csv(sales(seed=3))), **base), 409)
    assert "moved on" in unescape(html) and field_value(html, "base") == "2"
    again = post(client, ("mine.csv", as_csv(sales(seed=3))), base="2", base_of=NAME)
    assert again.headers["location"].endswith("version=v3&notice=published")
    renamed = post(client, ("other.csv", as_csv(sales(seed=3))), dataset="team/other", base="2", base_of=NAME)
    assert renamed.headers["location"].startswith("/versions?dataset=team%2Fother&version=v1")


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(settings: Settings, client: TestClient,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_versions, "MAX_UPLOAD_BYTES", 2000)
    html = refused(post(client, ("big.csv", as_csv(sales())), message="too big"), 413)
    assert "larger than the upload limit of 2,000 bytes" in html and field_value(html, "message") == "too big"
    assert staging_files(settings) == []
    # Declared far over the limit: refused when the file part starts, the fields before it still read back.
    huge = refused(post(client, ("huge.csv", b"x" * (1024 * 1024 + 5000)), message="huge"), 413)
    assert field_value(huge, "message") == "huge" and field_value(huge, "dataset") == NAME
    api = client.post("/api/v1/versions", params={"dataset": NAME}, content=as_csv(sales()),
                      headers={"Content-Type": "text/csv"})
    assert api.status_code == 413 and "larger than 2,000 bytes" in api.json()["error"], "the API's own limit"
    assert post(client, ("small.csv", as_csv(sales(rows=20)))).status_code == 303
    assert version_count(settings) == 1 and staging_files(settings) == []


def test_form_posts_without_an_origin_are_refused(settings: Settings, client: TestClient) -> None:
    response = post(client, ("sales.csv", as_csv(sales())), headers={})
    assert response.status_code == 403 and "no Origin header" in response.text
    elsewhere = post(client, ("sales.csv", as_csv(sales())), headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    nothing_published(settings)


def test_hostile_file_names_and_messages_are_escaped(settings: Settings, client: TestClient) -> None:
    blocked = refused(post(client, (HOSTILE_FILE, as_csv(people())), dataset="crm/customers", message=HOSTILE), 422)
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in blocked and "<img" not in blocked
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in blocked
    done = post(client, (HOSTILE_FILE, as_csv(sales())), message=HOSTILE)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert HOSTILE not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "upload &lt;img src=x onerror=alert(1)&gt;.csv" in page


def test_dataset_and_version_pages_link_to_publishing(settings: Settings, client: TestClient) -> None:
    publish(settings, Actor.local(), NAME, data=sales())
    wanted = "/publish?dataset=team%2Fsales"
    assert wanted in hrefs(client.get(f"/datasets/{NAME}").text, "/publish")
    assert wanted in hrefs(client.get("/versions", params={"dataset": NAME}).text, "/publish")
    odd = client.get("/versions", params={"dataset": NAME, "notice": "<b>x</b>"}).text
    assert "&lt;b&gt;x" not in odd and 'role="status"' not in odd, "unknown notices are never echoed"


@pytest.fixture
def server(settings: Settings, actor: Actor, sqlite_source: Path) -> Settings:
    """Server mode: a publisher, a viewer, and a publisher who signs in with a password (browser session)."""
    with session_scope(settings) as session:
        add_user(session, actor, "paula", ["publisher"], password=PASSWORD)
    return governed_catalog(settings, actor, sqlite_source, {"pat": ["publisher"], "vic": ["viewer"]})


def bearer(settings: Settings, user: str) -> TestClient:
    with session_scope(settings) as session:
        token = create_token(session, Actor.local(), user, days=1)["token"]
    return TestClient(create_app(settings), follow_redirects=False, headers={"Authorization": f"Bearer {token}"})


def test_only_publishers_see_the_page_and_may_post(server: Settings) -> None:
    viewer = bearer(server, "vic")
    assert viewer.get("/publish").status_code == 403
    denied = post(viewer, ("sales.csv", as_csv(sales())), dataset="team/new")
    assert denied.status_code == 403 and "may not publish" in denied.text
    assert viewer.get("/publish", headers={"Authorization": ""}).status_code == 303  # strangers: sign in
    before = version_count(server)
    publisher = bearer(server, "pat")
    assert publisher.get("/publish").status_code == 200
    done = post(publisher, ("sales.csv", as_csv(sales())), dataset="team/new")
    assert done.headers["location"].startswith("/versions?dataset=team%2Fnew&version=v1")
    assert version_count(server) == before + 1 and VersionRepo(server).tags_of("team/new") == ["team/new@v1"]


def test_a_browser_session_needs_its_csrf_token_and_keeps_the_upload_limit(server: Settings,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    browser = TestClient(create_app(server), follow_redirects=False)
    signed = browser.post("/login", data={"name": "paula", "password": PASSWORD, "next": "/publish"},
                          headers=ORIGIN)
    assert signed.status_code == 303
    token = csrf_of(browser.get("/publish").text)
    data = ("sales.csv", as_csv(sales()))
    stale = post(browser, data, dataset="team/web", csrf_token="not-the-token")
    assert stale.status_code == 403 and "stale" in stale.text and staging_files(server) == []
    with monkeypatch.context() as patch:
        patch.setattr(api_versions, "MAX_UPLOAD_BYTES", 2000)
        too_big = refused(post(browser, data, dataset="team/web", csrf_token=token), 413)
    assert csrf_of(too_big) == token and staging_files(server) == []
    done = post(browser, data, dataset="team/web", csrf_token=token)
    assert done.headers["location"].startswith("/versions?dataset=team%2Fweb&version=v1")
