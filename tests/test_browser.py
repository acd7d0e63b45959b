"""The web UI in a real browser (issue 10): Debian's Chromium driven by Playwright against a served catalog.

One server-mode catalog serves the whole module: a SQLite shop (customers with personal data, orders), a
PostgreSQL schema whose table and column comments carry script payloads, AI descriptions from the rules backend,
a search index, `team/scores` published and read by a training run of model `churn`, and four people who sign
in through the login form: ana (analyst), olga (owner of the customers table), stella (steward) and pat
(publisher, granted read_data on the customers table so that a redaction recipe may read it). Every flow saves
screenshots (see tests/browser.py). Cases that change state act on their own
targets, so their order does not matter.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text

from catalog import descriptions, stewardship
from catalog.access import Actor
from catalog.annotate import annotate
from catalog.app import create_app
from catalog.client import Client
from catalog.db import migrate, session_scope
from catalog.principals import add_grant, add_user
from catalog.publish import publish
from catalog.search import build_index
from catalog.settings import load_settings
from tests.browser import LAPTOP, launch, screenshot, serious_violations, sign_in
from tests.conftest import scratch_name
from tests.helpers import crawl, live_server, register

PASSWORDS = {"ana": "ana-password-1234", "olga": "olga-password-1234", "stella": "stella-password-1234",
             "pat": "pat-password-1234"}
ROLES = {"ana": ["analyst"], "olga": ["owner"], "stella": ["steward"], "pat": ["publisher"]}
CUSTOMERS = "shop/main/customers"
SCORES = "team/scores"
TABLE_PAYLOAD = "<script>window.__xss = 'table comment'</script>"
COLUMN_PAYLOAD = "<img src=x onerror=\"window.__xss = 'column comment'\">"
DESCRIPTION_PAYLOAD = "<svg onload=\"window.__xss = 'description'\"></svg><script>alert('description')</script>"
SECRET = "browser-test-secret-" + "0123456789abcdef" * 2


@dataclasses.dataclass
class World:
    url: str
    browser: Any
    hostile: str  # the dataset whose comments and description carry payloads

    def page_for(self, name: str, *, javascript: bool = True) -> Any:
        return sign_in(self.browser, self.url, name, PASSWORDS[name], javascript=javascript)


def _shop(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, c_eml TEXT, full_name TEXT, city TEXT)")
        conn.execute("CREATE TABLE orders (ord_id INTEGER PRIMARY KEY, cust_id INTEGER, amt_usd REAL, ord_dt TEXT)")
        cities = ["Lyon", "Bonn", "Leeds", "Porto"]
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)",
                         [(i, f"user{i}@example.org", f"Person {i}", cities[i % 4]) for i in range(1, 301)])
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)",
                         [(i, i % 300 + 1, 10.0 + i % 97, f"2026-0{i % 9 + 1}-1{i % 9}") for i in range(1, 901)])
    return path


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _hostile_schema(url: str) -> str:
    schema = scratch_name("xss")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".notes (id integer primary key, body text)'))
        # COMMENT takes no bind parameters: a literal, quotes doubled.
        conn.exec_driver_sql(f'COMMENT ON TABLE "{schema}".notes IS {_literal(TABLE_PAYLOAD)}')
        conn.exec_driver_sql(f'COMMENT ON COLUMN "{schema}".notes.body IS {_literal(COLUMN_PAYLOAD)}')
    engine.dispose()
    return schema


def _drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _build(root: Path, pg_url: str, schema: str) -> Any:
    local = Actor.local()
    embedded = load_settings(home=root / "home")
    migrate(embedded)
    register(embedded, "shop", f"sqlite:///{_shop(root / 'shop.db')}")
    register(embedded, "pg", pg_url, include_schemas=schema)
    crawl(embedded, "shop")
    crawl(embedded, "pg")
    annotate(embedded, local)
    rng = np.random.default_rng(7)
    publish(embedded, local, SCORES, data=pa.table({"id": np.arange(400), "score": rng.random(400)}))
    Client(str(embedded.home), cache_dir=root / "client-cache").log_run(
        "train-churn", run_id="browser-train-1", inputs=[(SCORES, "v1")],
        outputs=[{"model": "churn", "framework": "sklearn", "metrics": {"auc": 0.81}}])
    hostile = f"pg/{schema}/notes"
    with session_scope(embedded) as session:
        descriptions.decide(session, local, hostile, "id", "edit", DESCRIPTION_PAYLOAD)
        for name, roles in ROLES.items():
            add_user(session, local, name, roles, password=PASSWORDS[name])
        stewardship.change(session, local, CUSTOMERS, "owner", "olga", "add")
        add_grant(session, local, "pat", CUSTOMERS, "read_data", days=30, reason="cleaned copy for the recipe case")
    build_index(embedded, local)
    return dataclasses.replace(embedded, mode="server", secret_key=SECRET), hostile


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import _server_url

    pg_url = _server_url("CATALOG_TEST_POSTGRES_URL", "PostgreSQL")
    root = tmp_path_factory.mktemp("browser")
    schema = _hostile_schema(pg_url)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for variable in ("CATALOG_DATABASE_URL", "CATALOG_MODE", "CATALOG_DVC_REMOTE", "CATALOG_SECRET_KEY"):
                patch.delenv(variable, raising=False)
            patch.setenv("CATALOG_HOME", str(root / "home"))
            settings, hostile = _build(root, pg_url, schema)
            with live_server(create_app(settings)) as url, sync_playwright() as playwright:
                browser = launch(playwright)
                yield World(url, browser, hostile)
                browser.close()
    finally:
        _drop_schema(pg_url, schema)


def _fail_on_dialog(page: Any) -> list[str]:
    """Record every alert/confirm the page opens: a script from stored text would open one."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def test_search_then_open_a_dataset(world: World) -> None:
    page = world.page_for("ana")
    page.get_by_label(re.compile("Describe what you are looking for")).fill("customer email")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=customer\+email"))
    results = page.get_by_role("main")
    assert results.locator("mark").count() > 0, "matched words are highlighted"
    screenshot(page, "search-customer-email")
    page.get_by_role("link", name=re.compile(r"customers$")).first.click()
    page.wait_for_url(re.compile(r"/datasets/shop/main/customers"))
    assert page.get_by_role("heading", level=1).inner_text() == "main/customers"
    assert page.locator("#col-c_eml").get_by_text("pii.email").count() > 0
    screenshot(page, "dataset-customers-as-analyst")
    page.context.close()


def test_owner_edits_and_accepts_descriptions(world: World) -> None:
    page = world.page_for("olga")
    page.goto("/datasets/" + CUSTOMERS)
    row = page.locator("#col-city")
    row.get_by_text("Edit the description of city").click()
    row.get_by_label("Description").fill("City of the customer's billing address, as typed at sign-up.")
    row.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    row = page.locator("#col-city")
    assert "billing address" in row.inner_text()
    assert "to review" not in row.inner_text()
    accept = page.locator("#col-full_name").get_by_role("button", name="Accept the description of full_name")
    accept.click()
    page.wait_for_load_state()
    assert page.locator("#col-full_name").get_by_role("button", name=re.compile("^Accept")).count() == 0
    assert "to review" not in page.locator("#col-full_name").inner_text()
    screenshot(page, "dataset-descriptions-decided")
    page.context.close()


def test_analyst_requests_access_and_a_steward_approves(world: World) -> None:
    analyst = world.page_for("ana")
    analyst.goto("/datasets/" + CUSTOMERS + "#access")
    section = analyst.locator("#access")
    assert "not granted" in section.inner_text()
    section.get_by_label("Ask for").select_option("read_data")
    section.get_by_label("Why you need it").fill("Churn analysis of repeat customers for the Q4 review.")
    section.get_by_role("button", name="Request access").click()
    analyst.wait_for_url(re.compile(r"/datasets/shop/main/customers#access"))
    assert "waiting for an owner or a steward" in analyst.locator("#access").inner_text()
    screenshot(analyst, "access-requested")

    steward = world.page_for("stella")
    steward.goto("/access")
    pending = steward.locator("#decide")
    assert "Churn analysis of repeat customers" in pending.inner_text()
    pending.get_by_role("button", name=re.compile("^Approve")).first.click()
    steward.wait_for_load_state()
    screenshot(steward, "access-approved-by-steward")

    analyst.goto("/datasets/" + CUSTOMERS)
    rights = analyst.locator("#access tbody tr", has_text="read_data")
    assert "allowed" in rights.inner_text()
    analyst.context.close()
    steward.context.close()


def test_lineage_graph_from_the_dataset_page(world: World) -> None:
    page = world.page_for("ana")
    page.goto("/datasets/" + SCORES)
    graph = page.locator("#lineage svg.lg-svg")
    assert graph.is_visible()
    assert "churn" in graph.inner_html()
    page.get_by_role("link", name="Full lineage graph and impact analysis").click()
    page.wait_for_url(re.compile(r"/lineage\?dataset=team%2Fscores"))
    full = page.locator("svg.lg-svg")
    assert full.is_visible() and "train-churn" in full.inner_html()
    screenshot(page, "lineage-graph")
    page.get_by_role("link", name=re.compile("churn")).first.click()
    page.wait_for_url(re.compile(r"/models/detail"))
    screenshot(page, "model-page")
    page.context.close()


def test_script_in_crawled_comments_and_descriptions_is_inert(world: World) -> None:
    page = world.page_for("ana")
    opened = _fail_on_dialog(page)
    page.goto("/datasets/" + world.hostile)
    page.wait_for_load_state("load")
    assert page.evaluate("window.__xss") is None, "a stored payload ran"
    body = page.get_by_role("main").inner_text()
    assert TABLE_PAYLOAD in body and COLUMN_PAYLOAD in body and "<svg onload=" in body
    assert page.locator("main script, main img[src='x'], main svg[onload]").count() == 0
    page.goto("/search?q=notes")
    page.goto("/datasets?q=notes")
    assert page.evaluate("window.__xss") is None and opened == []
    screenshot(page, "hostile-comments-escaped")
    page.context.close()


PAGES = ["/", "/search?q=customer+email", "/datasets", "/datasets/" + CUSTOMERS, "/datasets/" + SCORES,
         "/sources", "/sources/shop", "/models", "/lineage?dataset=team%2Fscores", "/access",
         "/versions?dataset=team%2Fscores", "/review", "/publish?dataset=team%2Fscores"]
STEWARD_PAGES = ["/access/review?dataset=shop%2Fmain%2Fcustomers", "/access"]


@pytest.mark.parametrize(("user", "path"), [("olga", p) for p in PAGES] + [("stella", p) for p in STEWARD_PAGES])
def test_pages_are_accessible_and_fit_a_laptop_screen(world: World, user: str, path: str) -> None:
    page = world.page_for(user)
    response = page.goto(path)
    assert response is not None and response.status == 200
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"], "the page scrolls sideways"
    assert serious_violations(page) == []
    page.context.close()


def test_login_page_is_accessible(world: World) -> None:
    context = world.browser.new_context(base_url=world.url, viewport=LAPTOP)
    page = context.new_page()
    page.goto("/datasets")
    page.wait_for_url(re.compile(r"/login"))
    assert serious_violations(page) == []
    screenshot(page, "login")
    context.close()


def test_keyboard_only_search(world: World) -> None:
    page = world.page_for("ana")
    page.keyboard.press("Tab")
    skip = page.evaluate("document.activeElement.textContent")
    assert skip.strip() == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(10):  # tab forward until the search box has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "q":
            break
    page.keyboard.type("orders amount")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=orders\+amount"))
    assert page.get_by_role("link", name=re.compile("orders")).count() > 0
    page.context.close()


def test_pages_work_without_javascript(world: World) -> None:
    page = world.page_for("olga", javascript=False)
    page.goto("/datasets/" + CUSTOMERS)
    row = page.locator("#col-c_eml")
    row.get_by_text("Edit the description of c_eml").click()
    row.get_by_label("Description").fill("E-mail address the customer signed up with.")
    row.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "signed up with" in page.locator("#col-c_eml").inner_text()
    screenshot(page, "no-javascript-edit")
    page.context.close()


def test_search_updates_while_typing(world: World) -> None:
    page = world.page_for("ana")
    page.goto("/search")
    page.get_by_label("Describe what you are looking for").press_sequentially("order amount", delay=30)
    page.wait_for_url(re.compile(r"/search\?q=order(%20|\+)amount"))
    results = page.locator("#search-results")
    results.locator(".result").first.wait_for()
    assert "amt_usd" in results.inner_text()
    screenshot(page, "search-while-typing")
    page.context.close()


def test_publish_a_version_and_see_it_listed(world: World, tmp_path: Path) -> None:
    data = tmp_path / "daily_sales.csv"
    data.write_text("day,store,units\n" + "".join(f"2026-11-{d:02d},s{d % 3},{d * 7}\n" for d in range(1, 29)))
    page = world.page_for("pat")
    page.get_by_role("link", name="Publish", exact=True).click()
    page.get_by_label("Published dataset name").fill("team/daily_sales")
    page.get_by_label("File").set_input_files(str(data))
    page.get_by_label("Message").fill("November store sales, one row per day and store")
    screenshot(page, "publish-form")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r"/versions\?dataset=team%2Fdaily_sales&version=v1"))
    assert "v1" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "published-v1")
    page.goto("/datasets/team/daily_sales")
    listed = page.locator("#published-versions")
    assert listed.get_by_role("link", name="v1").count() == 1
    assert "November store sales" in listed.inner_text()
    page.context.close()


def test_publisher_reviews_a_suggested_recipe_and_saves_it(world: World) -> None:
    page = world.page_for("pat")
    opened = _fail_on_dialog(page)
    page.goto("/datasets/" + CUSTOMERS)
    page.get_by_role("link", name="Suggest a redaction recipe").click()
    page.wait_for_url(re.compile(r"/recipes\?dataset=shop_clean%2Fcustomers&suggest=shop%2Fmain%2Fcustomers"))
    assert "A suggestion to review" in page.locator("#recipe-suggestion").inner_text()
    editor = page.get_by_label("Recipe (YAML or JSON)")
    assert "c_eml:" in editor.input_value() and "rule: hash" in editor.input_value()
    assert page.get_by_label(re.compile("^Source")).input_value() == CUSTOMERS
    assert serious_violations(page) == []
    screenshot(page, "recipe-suggested")
    page.get_by_role("button", name="Save recipe").click()
    page.wait_for_url(re.compile(r"/recipes\?dataset=shop_clean%2Fcustomers&notice=saved"))
    assert "Saved" in page.get_by_role("status").first.inner_text()
    rules = page.get_by_role("table", name=re.compile("Rules of the stored recipe"))
    assert "hash" in rules.get_by_role("row", name=re.compile("^c_eml")).inner_text()
    assert "keep" in rules.get_by_role("row", name=re.compile("^city")).inner_text()
    assert "c_eml:" in page.get_by_label("Recipe (YAML or JSON)").input_value(), "the editor holds what was saved"
    assert serious_violations(page) == [] and opened == []
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"], "the page scrolls sideways"
    screenshot(page, "recipe-saved")
    page.context.close()


def test_review_queue_accepts_in_bulk(world: World) -> None:
    page = world.page_for("olga")
    page.get_by_role("link", name="Review", exact=True).click()
    page.wait_for_url(re.compile(r"/review"))
    table = page.locator("table[data-select-all]").first
    boxes = table.locator("tbody input[type=checkbox]")
    assert boxes.count() > 0, "olga owns the customers table, whose AI descriptions wait for review"
    table.locator("thead input[type=checkbox]").check()
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    screenshot(page, "review-queue-selected")
    page.get_by_role("button", name=re.compile("^Accept selected")).first.click()
    page.wait_for_url(re.compile(r"/review\?.*done="))
    assert re.search(r"Accepted \d+ suggestion", page.get_by_role("status").first.inner_text())
    screenshot(page, "review-queue-accepted")
    page.context.close()
