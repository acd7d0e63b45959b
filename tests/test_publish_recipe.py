"""Publishing a raw PostgreSQL table through a redaction recipe: no PII label left, hashed keys still join,
scrubbing removes planted PII, bad recipes fail before anything is read or written, the version records how it
was derived (source, schema version, recipe, key fingerprint) and lineage shows it."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from catalog import recipes, redaction
from catalog.access import Actor
from catalog.annotate import annotate
from catalog.db import session_scope
from catalog.errors import InvalidInput, NotFound
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings
from catalog.version_repo import VersionRepo
from catalog.versions import describe_version, version_file
from tests.helpers import labelled_source, show

KEY = "a-test-key-that-is-long-enough-0123456789"
FIRST = ["Anna", "Bernd", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiroshi", "Ingrid", "José"]
LAST = ["Müller", "O'Brien", "Schmidt", "Nguyen", "García", "Kowalski", "Rossi", "Jansen"]
PLANTED_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PLANTED_PHONE = re.compile(r"\+?\d[\d ()/-]{7,}\d")
CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009"]


def _customers(rows: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    found = []
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{i}@example-shop.com".replace("é", "e")
        phone = f"+49 30 {rng.randint(1_000_000, 9_999_999)}"
        note = rng.choice([
            f"Customer asked to be called back on {phone}.",
            f"New address sent from {email}, please update.",
            f"Paid with card {rng.choice(CARDS)} after two tries.",
            "Prefers delivery after 5pm; no PII here.",
            f"Mail copy to {first.lower()}@private-mail.org or ring 030 {rng.randint(1_000_000, 9_999_999)}",
        ])
        found.append({"id": i + 1, "email": email, "phone": phone,
                      "birth_date": date(1940 + rng.randint(0, 60), rng.randint(1, 12), rng.randint(1, 28)),
                      "postcode": f"{rng.randint(10_000, 99_999)}", "full_name": f"{first} {last}",
                      "support_notes": note, "lat": 52.3 + rng.random(), "lon": 13.1 + rng.random(),
                      "lifetime_value": round(rng.random() * 900, 2)})
    return found


@pytest.fixture
def shop(pg_schema: tuple[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A PostgreSQL schema with `customers` (PII in most columns) and `orders` (the customer's e-mail as its
    key), crawled (so the catalog has PII labels) into source `pg`."""
    url, schema = pg_schema
    customers = _customers(1500)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'''CREATE TABLE "{schema}".customers (id integer primary key, email text not null,
            phone text, birth_date date, postcode text, full_name text, support_notes text, lat double precision,
            lon double precision, lifetime_value numeric(10,2))'''))
        conn.execute(text(f'''INSERT INTO "{schema}".customers VALUES (:id, :email, :phone, :birth_date, :postcode,
            :full_name, :support_notes, :lat, :lon, :lifetime_value)'''), customers)
        conn.execute(text(f'CREATE TABLE "{schema}".orders (order_id integer primary key, customer_email text, '
                          'total double precision)'))
        orders = [{"o": i, "e": customers[(i * 7) % len(customers)]["email"], "t": i * 1.5} for i in range(1, 3001)]
        conn.execute(text(f'INSERT INTO "{schema}".orders VALUES (:o, :e, :t)'), orders)
    engine.dispose()
    assert labelled_source(settings, "pg", url, include_schemas=schema)["status"] != "failed"
    monkeypatch.setenv("CATALOG_REDACTION_KEY", KEY)
    return {"schema": schema, "customers": f"pg/{schema}/customers", "orders": f"pg/{schema}/orders",
            "rows": customers}


def _suggested(settings: Settings, actor: Actor, source: str) -> dict[str, Any]:
    with session_scope(settings) as session:
        return recipes.suggest(session, actor, source)


def _table(settings: Settings, actor: Actor, name: str) -> Any:
    with session_scope(settings) as session:
        _, path = version_file(settings, session, actor, name, "latest")
        return pq.read_table(path)


def test_suggested_recipe_publishes_the_table_with_no_pii_left(settings: Settings, actor: Actor,
                                                               shop: dict[str, Any]) -> None:
    labelled = {c["name"]: c["classifications"] for c in show(settings, shop["customers"])["columns"]}
    assert "pii.email" in labelled["email"] and "pii.person_name" in labelled["full_name"]
    suggestion = _suggested(settings, actor, shop["customers"])
    rules = {name: rule["rule"] for name, rule in suggestion["recipe"]["columns"].items()}
    assert rules["email"] == "hash" and rules["full_name"] == "drop" and rules["support_notes"] == "scrub"
    assert rules["birth_date"] == "generalise" and rules["id"] == "keep"
    recipe = recipes.parse(suggestion["yaml"])  # the YAML a person reviews is the recipe

    done = publish(settings, actor, "clean/customers", dataset=shop["customers"],
                   options=PublishOptions(recipe=recipe, message="first clean cut"))

    assert done["status"] == "published"
    pii = next(g for g in done["report"]["gates"] if g["gate"] == "pii")
    assert pii["passed"] and pii["findings"] == []
    annotate(settings, actor, sources=["clean"], backend="none")
    published = show(settings, "clean/customers")
    assert published["classifications"] == [], published["classifications"]
    table = _table(settings, actor, "clean/customers")
    assert table.num_rows == len(shop["rows"]) and "full_name" not in table.column_names
    raw_emails = {r["email"] for r in shop["rows"]}
    assert not raw_emails & set(table.column("email").to_pylist())
    notes = table.column("support_notes").to_pylist()
    for note in notes:
        assert not PLANTED_EMAIL.search(note) and not PLANTED_PHONE.search(note), note
        assert not any(card in note for card in CARDS), note
    assert all(any(f"[{kind}]" in n for n in notes) for kind in ("email", "phone", "card"))

    with session_scope(settings) as session:
        view = describe_version(session, actor, "clean/customers", "v1")
    derivation = view["derivation"]
    assert derivation["source"]["dataset"] == shop["customers"] and derivation["source"]["schema_version"] == 1
    assert derivation["recipe_hash"] == redaction.recipe_hash(recipe) and derivation["recipe_origin"] == "given"
    assert derivation["key_fingerprint"] == redaction.key_fingerprint(KEY.encode())
    assert view["source_dataset"] == shop["customers"]
    assert KEY not in repr(view) and KEY not in repr(done)
    with session_scope(settings) as session:
        stored = recipes.get_recipe(session, actor, "clean/customers")
    assert stored["recipe_hash"] == redaction.recipe_hash(recipe) and stored["source"] == shop["customers"]


def _key_recipe(columns: dict[str, Any]) -> redaction.Recipe:
    return recipes.parse({"version": 1, "default": "drop", "columns": columns})


def test_hashed_keys_still_join_across_two_published_datasets(settings: Settings, actor: Actor,
                                                              shop: dict[str, Any]) -> None:
    customers = _key_recipe({"id": "keep", "email": {"rule": "hash"}, "lifetime_value": "keep"})
    orders = _key_recipe({"order_id": "keep", "customer_email": {"rule": "hash"}, "total": "keep"})
    publish(settings, actor, "clean/customers", dataset=shop["customers"], options=PublishOptions(recipe=customers))
    publish(settings, actor, "clean/orders", dataset=shop["orders"], options=PublishOptions(recipe=orders))

    people = _table(settings, actor, "clean/customers")
    bought = _table(settings, actor, "clean/orders")
    joined = bought.join(people, keys="customer_email", right_keys="email", join_type="inner")
    assert joined.num_rows == bought.num_rows == 3000
    by_id = {r["email"]: r["id"] for r in shop["rows"]}
    hashed_to_id = dict(zip(people.column("email").to_pylist(), people.column("id").to_pylist(), strict=True))
    raw_orders = {i: shop["rows"][(i * 7) % len(shop["rows"])]["email"] for i in range(1, 3001)}
    for order_id, hashed in zip(bought.column("order_id").to_pylist(), bought.column("customer_email").to_pylist(),
                                strict=True):
        assert hashed_to_id[hashed] == by_id[raw_orders[order_id]]  # the join finds the right customer
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in people.column("email").to_pylist()[:50])


def _nothing_written(settings: Settings) -> None:
    """No version, and not even the versions repository: the checks ran before anything was created."""
    with session_scope(settings) as session:
        with pytest.raises(NotFound):
            describe_version(session, Actor.local(), "clean/customers", "latest")
    assert not VersionRepo(settings).root.exists()


@pytest.mark.parametrize(("columns", "expected"), [
    ({"id": "keep", "e_mail": {"rule": "hash"}},
     'column "e_mail" does not exist in the source (did you mean "email"?)'),
    ({"id": "keep", "birth_date": {"rule": "mask", "keep_last": 2}}, 'column "birth_date": mask'),
    ({"id": {"rule": "scrub"}, "email": "keep"}, 'column "id": scrub'),
    ({"id": {"rule": "hash", "lenght": 12}}, "lenght"),
], ids=["missing-column", "mask-on-date", "scrub-on-number", "unknown-option"])
def test_a_bad_recipe_fails_before_the_source_is_read(settings: Settings, actor: Actor, shop: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch, columns: dict[str, Any],
                                                      expected: str) -> None:
    from connectors.sql.connector import SqlConnector

    reads: list[str] = []
    monkeypatch.setattr(SqlConnector, "read_batches", lambda self, target, *a: reads.append(target.path) or iter(()))
    with pytest.raises(InvalidInput) as failed:
        publish(settings, actor, "clean/customers", dataset=shop["customers"],
                options=PublishOptions(recipe=_key_recipe(columns)))
    assert expected in str(failed.value)
    assert reads == []
    _nothing_written(settings)


def test_a_missing_or_short_hmac_key_fails_before_the_source_is_read(settings: Settings, actor: Actor,
                                                                     shop: dict[str, Any],
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    recipe = _key_recipe({"id": "keep", "email": {"rule": "tokenize"}})
    monkeypatch.delenv("CATALOG_REDACTION_KEY")
    with pytest.raises(InvalidInput, match="CATALOG_REDACTION_KEY is not set"):
        publish(settings, actor, "clean/customers", dataset=shop["customers"], options=PublishOptions(recipe=recipe))
    monkeypatch.setenv("CATALOG_REDACTION_KEY", "short")
    with pytest.raises(InvalidInput, match="5 bytes long") as failed:
        publish(settings, actor, "clean/customers", dataset=shop["customers"], options=PublishOptions(recipe=recipe))
    assert "short" not in str(failed.value).replace("5 bytes long", "")
    in_file = recipes.parse({"version": 1, "default": "drop", "key_file": str(tmp_path / "no-such-key"),
                             "columns": {"id": "keep", "email": {"rule": "hash"}}})
    with pytest.raises(InvalidInput, match="no-such-key does not exist"):
        publish(settings, actor, "clean/customers", dataset=shop["customers"], options=PublishOptions(recipe=in_file))
    _nothing_written(settings)


def test_the_stored_recipe_is_reused_and_lineage_shows_the_derivation(settings: Settings, actor: Actor,
                                                                      shop: dict[str, Any]) -> None:
    from catalog.lineage_graph import Focus, graph

    with session_scope(settings) as session:
        saved = recipes.save_recipe(settings, session, actor, "clean/orders",
                                    "version: 1\ndefault: keep\ncolumns:\n  customer_email: {rule: tokenize, "
                                    "prefix: cust_, why: joins without the address}\n", shop["orders"])
    assert saved["source"] == shop["orders"] and "tokenize" in saved["yaml"] and "joins without" in saved["yaml"]
    first = publish(settings, actor, "clean/orders", dataset=shop["orders"])
    assert first["version"]["derivation"]["recipe_origin"] == "stored"
    tokens = _table(settings, actor, "clean/orders").column("customer_email").to_pylist()
    assert all(t.startswith("cust_") and len(t) == 25 for t in tokens)
    again = publish(settings, actor, "clean/orders", dataset=shop["orders"])
    assert again["status"] == "unchanged"  # same rows, same recipe, same key: the same bytes

    with session_scope(settings) as session:
        found = graph(session, actor, Focus(dataset=shop["orders"]), direction="down", depth=2)
    edges = {(e["source"], e["target"], e["label"]) for e in found["edges"]}
    version = next(n for n in found["nodes"] if n["kind"] == "version")
    assert (f"dataset:{shop['orders']}", version["id"], "redacted into") in edges
    with session_scope(settings) as session:
        up = graph(session, actor, Focus(dataset="clean/orders", version="v1"), direction="up", depth=1)
    assert any(n["id"] == f"dataset:{shop['orders']}" for n in up["nodes"])


def test_a_recipe_for_a_file_publish_is_refused(settings: Settings, actor: Actor, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="crawled dataset"):
        publish(settings, actor, "clean/x", path=path, options=PublishOptions(recipe=_key_recipe({"a": "keep"})))


def test_a_stored_recipe_that_no_longer_fits_says_it_is_the_stored_one(settings: Settings, actor: Actor,
                                                                       shop: dict[str, Any]) -> None:
    with session_scope(settings) as session:
        recipes.save_recipe(settings, session, actor, "clean/orders",
                            {"version": 1, "default": "keep", "columns": {"customer_email": {"rule": "hash"}}},
                            shop["orders"])
    with pytest.raises(InvalidInput, match="the recipe stored with this dataset .* does not fit") as failed:
        publish(settings, actor, "clean/orders", dataset=shop["customers"])  # another table, no customer_email
    assert '"customer_email" does not exist' in str(failed.value)
