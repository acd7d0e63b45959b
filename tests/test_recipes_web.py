"""The recipe pages: review a suggested redaction recipe, save it, publish through it, and see how a version was
derived; through the real services (crawl, PII labels, recipe checks, publish gates, DVC repository).

Column names come from the crawled source and reasons from the suggestion: a name holding quotes and a script
tag must come out escaped on every page that shows a recipe.
"""

from __future__ import annotations

import re
import sqlite3
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog import recipes, redaction
from catalog.access import Actor
from catalog.app import create_app
from catalog.db import session_scope
from catalog.principals import create_token
from catalog.settings import Settings
from tests.helpers import foreign_scripts, governed_catalog, labelled_source
from tests.test_publish_web import field_value
from tests.test_versions_web import hrefs

KEY = "a-web-test-key-that-is-long-enough-0123"
SOURCE = "shop/main/customers"
TARGET = "shop_clean/customers"
HOSTILE = 'na"me <script>alert(1)</script>'
ESCAPED = "na&#34;me &lt;script&gt;alert(1)&lt;/script&gt;"
ORIGIN = {"Origin": "http://testserver"}
FIRST = ["Anna", "Bernd", "Chiara", "Dmitri", "Elif"]
LAST = ["Müller", "O'Brien", "Schmidt", "Nguyen"]


def shop_db(path: Path) -> Path:
    """Customers with an e-mail, a name and a street (labelled as personal data), free-text notes, and a column
    whose name holds quotes and a script tag."""
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, full_name TEXT, city TEXT, '
                     'notes TEXT, "na""me <script>alert(1)</script>" TEXT, "Straße" TEXT)')
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (i, f"user{i}@example.org", f"{FIRST[i % 5]} {LAST[i % 4]}", ["Lyon", "Bonn"][i % 2],
             f"Call back on +49 30 {1_000_000 + i * 7} or mail user{i}@example.org please, thanks a lot",
             f"v{i}", f"Weg {i}") for i in range(1, 301)])
    return path


@pytest.fixture
def shop(settings: Settings, actor: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    labelled_source(settings, "shop", f"sqlite:///{shop_db(tmp_path / 'shop.db')}")
    monkeypatch.setenv("CATALOG_REDACTION_KEY", KEY)
    return settings


@pytest.fixture
def client(shop: Settings) -> TestClient:
    return TestClient(create_app(shop), follow_redirects=False)


def page(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.text[:800]
    assert response.headers["content-type"].startswith("text/html")
    assert foreign_scripts(response.text) == [], "a name or reason reached the page as markup"
    return response.text


def textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    assert found is not None, f"no textarea {name}"
    return unescape(found.group(1))


def suggestion(settings: Settings) -> str:
    with session_scope(settings) as session:
        return recipes.suggest(session, Actor.local(), SOURCE)["yaml"]


def stored(settings: Settings, name: str = TARGET) -> dict[str, Any]:
    with session_scope(settings) as session:
        return recipes.get_recipe(session, Actor.local(), name)


def save(client: TestClient, text: str, source: str = SOURCE, dataset: str = TARGET) -> Any:
    return client.post("/recipes", data={"dataset": dataset, "source": source, "recipe": text}, headers=ORIGIN)


def test_the_suggestion_prefills_the_editor_and_saving_shows_the_rules(shop: Settings, client: TestClient) -> None:
    empty = page(client.get("/recipes", params={"dataset": TARGET}))
    assert "No recipe is stored for shop_clean/customers yet" in empty and textarea(empty, "recipe") == ""

    html = page(client.get("/recipes", params={"dataset": TARGET, "suggest": SOURCE}))
    assert "A suggestion to review, not saved yet" in html
    assert "labelled columns:" in html and 'id="recipe-suggestion"' in html
    proposed = textarea(html, "recipe")
    assert proposed == suggestion(shop) and "rule: hash" in proposed
    assert field_value(html, "source") == SOURCE
    assert HOSTILE not in html and ESCAPED in html, "the hostile column name is escaped in the YAML"
    assert stored(shop)["recipe"] is None, "a suggestion is not saved by looking at it"

    done = save(client, proposed)
    assert done.status_code == 303, done.text[:800]
    assert done.headers["location"] == "/recipes?dataset=shop_clean%2Fcustomers&notice=saved"
    shown = page(client.get(done.headers["location"]))
    assert "Saved: the recipe was checked against the columns of shop/main/customers" in shown
    kept = stored(shop)
    assert kept["source"] == SOURCE and kept["recipe_hash"] in shown and kept["updated_by"] in shown
    rules = re.search(r'<table class="data-table recipe-rules">.*?</table>', shown, re.DOTALL)
    assert rules is not None
    rows = {unescape(m.group(1)): unescape(re.sub(r"<[^>]+>", "", m.group(2)))
            for m in re.finditer(r'<th scope="row" class="mono">(.*?)</th>\s*<td>(.*?)</td>', rules.group(0))}
    assert rows["email"] == "hash" and rows["full_name"] == "drop" and rows["notes"] == "scrub"
    assert rows[HOSTILE] == "keep" and rows["Straße"] == "drop"
    assert "labelled pii.email" in shown and "CATALOG_REDACTION_KEY" in shown
    assert textarea(shown, "recipe") == kept["yaml"], "the editor holds the stored recipe"
    assert f"/datasets/{SOURCE}" in hrefs(shown, "/datasets/")


def test_a_bad_recipe_shows_the_error_and_keeps_the_text(shop: Settings, client: TestClient) -> None:
    typo = "version: 1\ndefault: drop\ncolumns:\n  email: {rule: encrypt}  # <script>alert(2)</script>\n"
    html = page(save(client, typo), 400)
    text = unescape(html)
    assert "unknown rule 'encrypt'" in text and "Nothing was saved" in text
    assert textarea(html, "recipe") == typo and field_value(html, "source") == SOURCE
    assert "<script>alert(2)" not in html

    missing = page(save(client, "version: 1\ndefault: drop\ncolumns: {phone: drop}\n"), 400)
    assert "phone" in unescape(missing)
    broken = page(save(client, "version: 1\ndefault: [drop\n"), 400)
    assert "not valid YAML" in unescape(broken) and textarea(broken, "recipe") == "version: 1\ndefault: [drop\n"
    unknown = page(save(client, "version: 1\ndefault: keep\ncolumns: {}\n", source="shop/main/nothing"), 400)
    assert "'shop/main/nothing' does not exist" in unescape(unknown)
    badname = page(save(client, "version: 1\ndefault: keep\ncolumns: {}\n", dataset="shop_clean/../x"), 400)
    assert "must not contain '..'" in unescape(badname)
    assert stored(shop)["recipe"] is None
    assert client.post("/recipes", data={"dataset": TARGET, "source": SOURCE, "recipe": typo}).status_code == 403


def test_dataset_pages_link_to_suggesting_and_to_the_stored_recipe(shop: Settings, client: TestClient) -> None:
    crawled = page(client.get(f"/datasets/{SOURCE}"))
    wanted = "/recipes?dataset=shop_clean%2Fcustomers&suggest=shop%2Fmain%2Fcustomers"
    assert wanted in hrefs(crawled, "/recipes")
    assert "Suggest a redaction recipe" in crawled
    assert save(client, suggestion(shop)).status_code == 303
    done = client.post("/publish", data={"dataset": TARGET, "from_dataset": SOURCE}, files={"file": ("", b"")},
                       headers=ORIGIN)
    assert done.status_code == 303, done.text[:800]
    published = page(client.get(f"/datasets/{TARGET}"))
    assert "/recipes?dataset=shop_clean%2Fcustomers" in hrefs(published, "/recipes")
    assert stored(shop)["recipe_hash"][:12] in published
    assert not hrefs(published, "/recipes?dataset=shop_clean%2Fcustomers&suggest"), "no suggestion for a copy"


def _derivation(html: str) -> str:
    found = re.search(r'<section aria-labelledby="derivation-heading".*?</section>', html, re.DOTALL)
    assert found is not None, "the version page has no derivation section"
    return found.group(0)


def test_the_version_page_shows_how_a_version_was_derived(shop: Settings, client: TestClient) -> None:
    assert save(client, suggestion(shop)).status_code == 303
    form = page(client.get("/publish", params={"dataset": TARGET}))
    assert "/recipes?dataset=shop_clean%2Fcustomers" in hrefs(form, "/recipes"), "the stored recipe is named"
    done = client.post("/publish", data={"dataset": TARGET, "from_dataset": SOURCE, "recipe": ""},
                       files={"file": ("", b"")}, headers=ORIGIN)
    assert done.status_code == 303, done.text[:800]
    section = _derivation(page(client.get(done.headers["location"])))
    recipe = stored(shop)
    assert f'href="/datasets/{SOURCE}"' in section and "the one stored with the dataset" in section
    assert recipe["recipe_hash"] in section
    assert redaction.key_fingerprint(KEY.encode()) in section and KEY not in section
    assert "<dt>Its schema version</dt><dd>1</dd>" in section
    assert ESCAPED in section and HOSTILE not in section and "scrub" in section
    assert "/recipes?dataset=shop_clean%2Fcustomers" in hrefs(section, "/recipes")

    given = "version: 1\ndefault: drop\ncolumns:\n  id: keep\n  city: {rule: keep, why: cities are coarse}\n"
    second = client.post("/publish", data={"dataset": TARGET, "from_dataset": SOURCE, "recipe": given,
                                           "allow_schema_change": "only ids and cities from now on"},
                         files={"file": ("", b"")}, headers=ORIGIN)
    assert second.status_code == 303, second.text[:800]
    assert second.headers["location"].endswith("version=v2&notice=published")
    section = _derivation(page(client.get(second.headers["location"])))
    assert "given with this publish" in section and "cities are coarse" in section
    assert "no key: the recipe hashes and tokenizes nothing" in section
    assert stored(shop)["recipe"]["columns"] == {"id": {"rule": "keep"},
                                                 "city": {"rule": "keep", "why": "cities are coarse"}}


def test_the_publish_page_refuses_a_recipe_with_an_upload_or_a_broken_one(shop: Settings,
                                                                          client: TestClient) -> None:
    text = "version: 1\ndefault: keep\ncolumns: {}\n"
    upload = client.post("/publish", data={"dataset": TARGET, "recipe": text},
                         files={"file": ("sales.csv", b"a,b\n1,2\n")}, headers=ORIGIN)
    html = page(upload, 400)
    assert "a redaction recipe applies when publishing from a crawled dataset" in unescape(html)
    assert textarea(html, "recipe") == text
    broken = client.post("/publish", data={"dataset": TARGET, "from_dataset": SOURCE, "recipe": "columns: 3"},
                         files={"file": ("", b"")}, headers=ORIGIN)
    assert "`version` is missing" in unescape(page(broken, 400))
    assert stored(shop)["recipe"] is None


def bearer(settings: Settings, user: str) -> TestClient:
    with session_scope(settings) as session:
        token = create_token(session, Actor.local(), user, days=1)["token"]
    return TestClient(create_app(settings), follow_redirects=False, headers={"Authorization": f"Bearer {token}"})


def test_only_people_who_may_publish_see_the_editor_and_may_save(settings: Settings, actor: Actor,
                                                                 sqlite_source: Path) -> None:
    server = governed_catalog(settings, actor, sqlite_source, {"ana": ["analyst"], "pat": ["publisher"],
                                                               "olga": ["owner"]})
    with session_scope(server) as session:
        from catalog import stewardship

        stewardship.change(session, actor, "shop/main/customers", "owner", "olga", "add")
    keep_all = "version: 1\ndefault: keep\ncolumns: {}\n"

    analyst = bearer(server, "ana")
    html = page(analyst.get("/recipes", params={"dataset": "team/scores"}))
    assert "<textarea" not in html and 'action="/recipes"' not in html and "No recipe is stored" in html
    refused = analyst.post("/recipes", data={"dataset": "team/scores", "source": "shop/main/customers",
                                             "recipe": keep_all}, headers=ORIGIN)
    assert refused.status_code == 403 and "<textarea" not in refused.text

    publisher = bearer(server, "pat")  # may publish anywhere, may read no data
    form = page(publisher.get("/recipes", params={"dataset": "team/scores"}))
    assert 'action="/recipes"' in form
    denied = publisher.post("/recipes", data={"dataset": "team/scores", "source": "shop/main/customers",
                                              "recipe": keep_all}, headers=ORIGIN)
    assert denied.status_code == 403 and textarea(denied.text, "recipe") == keep_all, "the text is kept"
    assert "read_data" in unescape(denied.text)

    owner = bearer(server, "olga")  # owns the source: reads its data; publishing needs the target, not owned
    assert owner.post("/recipes", data={"dataset": "team/scores", "source": "shop/main/customers",
                                        "recipe": keep_all}, headers=ORIGIN).status_code == 403
    assert stored(server, "team/scores")["recipe"] is None
