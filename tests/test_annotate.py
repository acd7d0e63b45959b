"""`annotate` end to end on a real SQLite source: profiles per schema version, PII labels with evidence, masked
samples, human decisions that survive re-evaluation, failures that keep what was stored."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.classifications import decide, review_queue
from catalog.db import session_scope
from catalog.errors import InvalidInput, NotFound
from catalog.settings import Settings
from tests.helpers import crawl, register, show

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson"]
CARDS = ["4111111111111111", "5555555555554444", "4012888888881881", "378282246310005", "6011111111111117"]
ROWS = 600


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _order_number(rng: random.Random) -> str:
    while True:
        number = "".join(rng.choice("0123456789") for _ in range(16))
        if not _luhn_ok(number):
            return number


def _people(rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(ROWS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{last.lower()}{i}@example.com"
        phone = f"+1 415-555-{rng.randrange(10000):04d}"
        born = f"{rng.randrange(1940, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        note = f"called about {email}" if i % 50 == 7 else rng.choice(
            ["delivered on time", "asked for a refund", "prefers evening delivery", "gift wrap", None])
        rows.append((i + 1, email, phone, f"{first} {last}", born, int(rng.random() < 0.8),
                     rng.choice(["Safari", "Chrome", "Firefox", "Edge"]), note, _order_number(rng),
                     rng.choice(CARDS), first))
    return rows


@pytest.fixture
def people_db(tmp_path: Path) -> Path:
    path = tmp_path / "people.db"
    with sqlite3.connect(path) as conn:
        conn.execute("""CREATE TABLE people (
            id INTEGER PRIMARY KEY, c_eml TEXT, phone TEXT, full_name TEXT, birth_dt DATE,
            email_verified BOOLEAN, browser TEXT, notes TEXT, order_no CHAR(16), card_no TEXT, nickname TEXT)""")
        conn.executemany("INSERT INTO people VALUES (?,?,?,?,?,?,?,?,?,?,?)", _people(random.Random(3)))
        conn.execute('CREATE TABLE "odd ""name"" <b>" ("x<script>" TEXT, "y" INTEGER)')
        conn.executemany('INSERT INTO "odd ""name"" <b>" VALUES (?, ?)', [(f"v{i}", i) for i in range(20)])
    return path


@pytest.fixture
def annotated(settings: Settings, actor: Actor, people_db: Path) -> dict[str, Any]:
    register(settings, "crm", f"sqlite:///{people_db}")
    crawl(settings, "crm")
    return annotate(settings, actor)


def _labels(dataset: dict[str, Any]) -> dict[str, list[str]]:
    return {c["name"]: c["classifications"] for c in dataset["columns"]}


def test_annotate_profiles_and_labels_personal_data(settings: Settings, annotated: dict[str, Any]) -> None:
    assert annotated["datasets"] == 2 and annotated["profiled"] == 2 and annotated["failed"] == 0
    people = show(settings, "crm/main/people")
    labels = _labels(people)
    assert labels["c_eml"] == ["pii.email"]
    assert labels["phone"] == ["pii.phone"]
    assert labels["card_no"] == ["pii.credit_card"]
    assert labels["birth_dt"] == ["pii.date_of_birth"]
    assert "pii.person_name" in labels["full_name"]
    for trap in ("email_verified", "browser", "notes", "order_no", "id"):
        assert labels[trap] == [], f"{trap} is not personal data"
    assert "pii.email" in people["classifications"]
    email = next(c for c in people["columns"] if c["name"] == "c_eml")["labels"][0]
    assert email["status"] == "suggested" and email["confidence"] >= 0.5
    assert email["evidence"] and all(isinstance(e["detail"], str) for e in email["evidence"])
    assert people["profile"]["rows_sampled"] == ROWS and people["profile"]["status"] == "profiled"


def test_stored_profiles_never_hold_raw_personal_data(settings: Settings, annotated: dict[str, Any]) -> None:
    people = show(settings, "crm/main/people")
    text = json.dumps(people)
    for raw in ("@example.com", "415-555-", "4111111111111111", "5555555555554444"):
        assert raw not in text, f"{raw!r} leaked into the dataset view"
    profiles = {c["name"]: c["profile"] for c in people["columns"]}
    assert profiles["c_eml"]["masked"] and profiles["c_eml"]["examples"]
    assert all("***" in e for e in profiles["c_eml"]["examples"])
    assert "top_values" not in profiles["c_eml"] and "min" not in profiles["c_eml"]
    assert profiles["id"]["min"] == 1 and profiles["id"]["max"] == ROWS and profiles["id"]["distinct_exact"]
    assert {t["value"] for t in profiles["browser"]["top_values"]} == {"Safari", "Chrome", "Firefox", "Edge"}
    # Free text is not PII as a column, but the one e-mail inside it is scrubbed wherever values show.
    assert not any("@" in str(v) for v in profiles["notes"].get("examples", []))


def test_hostile_names_are_sampled_and_profiled(settings: Settings, annotated: dict[str, Any]) -> None:
    odd = show(settings, 'crm/main/odd "name" <b>')
    assert odd["profile"]["status"] == "profiled"
    column = next(c for c in odd["columns"] if c["name"] == "x<script>")
    assert column["profile"]["count"] == 20


def test_second_run_does_only_what_changed(settings: Settings, actor: Actor, annotated: dict[str, Any],
                                           people_db: Path) -> None:
    assert annotate(settings, actor)["datasets"] == 0
    with sqlite3.connect(people_db) as conn:
        conn.execute("ALTER TABLE people ADD COLUMN ip_addr TEXT")
        conn.executemany("UPDATE people SET ip_addr = ? WHERE id = ?",
                         [(f"10.{i % 250}.{i % 7}.{i % 200 + 1}", i) for i in range(1, ROWS + 1)])
    crawl(settings, "crm")
    again = annotate(settings, actor)
    assert [r["dataset"] for r in again["results"]] == ["crm/main/people"]
    people = show(settings, "crm/main/people")
    assert people["profile"]["schema_version"] == 2 and people["profile"]["current"]
    assert _labels(people)["ip_addr"] == ["pii.ip_address"]


def test_human_decisions_survive_re_evaluation(settings: Settings, actor: Actor, annotated: dict[str, Any],
                                               people_db: Path) -> None:
    with session_scope(settings) as session:
        decide(session, actor, "crm/main/people", "phone", "pii.phone", "reject", "test numbers only")
        decide(session, actor, "crm/main/people", "nickname", "pii.person_name", "confirm", "first names")
    with sqlite3.connect(people_db) as conn:  # the e-mails are gone: the suggestion should go with them
        conn.execute("UPDATE people SET c_eml = 'segment-' || (id % 7)")
    annotate(settings, actor, everything=True)
    columns = {c["name"]: c for c in show(settings, "crm/main/people")["columns"]}
    phone = columns["phone"]["labels"][0]
    assert phone["status"] == "rejected" and phone["decided_by"] == "local" and phone["comment"] == "test numbers only"
    assert phone["confidence"] >= 0.5, "the classifier still sees a phone; the person's rejection stands"
    assert columns["phone"]["classifications"] == []
    nickname = columns["nickname"]
    assert nickname["classifications"] == ["pii.person_name"] and nickname["labels"][0]["status"] == "confirmed"
    assert nickname["profile"]["masked"], "a confirmed label masks the column's samples from then on"
    assert columns["c_eml"]["labels"] == [], "a suggestion the classifier no longer makes is dropped"


def test_confirming_masks_an_already_stored_profile(settings: Settings, actor: Actor,
                                                    annotated: dict[str, Any]) -> None:
    before = next(c for c in show(settings, "crm/main/people")["columns"] if c["name"] == "browser")
    assert not before["profile"].get("masked") and before["profile"]["top_values"]
    with session_scope(settings) as session:  # say a person knows these are pseudonyms of staff
        decide(session, actor, "crm/main/people", "browser", "pii.person_name", "confirm")
    after = next(c for c in show(settings, "crm/main/people")["columns"] if c["name"] == "browser")
    assert after["profile"]["masked"] and "top_values" not in after["profile"]
    assert after["profile"]["examples"] and not {"Safari", "Chrome", "Firefox", "Edge"} & set(
        after["profile"]["examples"])


def test_reset_returns_to_the_suggestion(settings: Settings, actor: Actor, annotated: dict[str, Any]) -> None:
    with session_scope(settings) as session:
        decide(session, actor, "crm/main/people", "c_eml", "pii.email", "reject")
        assert decide(session, actor, "crm/main/people", "c_eml", "pii.email", "reset")["status"] == "suggested"
        decide(session, actor, "crm/main/people", "browser", "pii.passport", "confirm")
        gone = decide(session, actor, "crm/main/people", "browser", "pii.passport", "reset")
        assert gone["status"] is None, "a label only a person added disappears when the decision is undone"


def test_bad_decisions_are_refused_with_a_clear_message(settings: Settings, actor: Actor,
                                                        annotated: dict[str, Any]) -> None:
    with session_scope(settings) as session:
        with pytest.raises(InvalidInput, match="decision 'maybe'"):
            decide(session, actor, "crm/main/people", "c_eml", "pii.email", "maybe")
        with pytest.raises(InvalidInput, match="label 'Email!'"):
            decide(session, actor, "crm/main/people", "c_eml", "Email!", "confirm")
        with pytest.raises(NotFound, match="column 'ghost'"):
            decide(session, actor, "crm/main/people", "ghost", "pii.email", "confirm")
        with pytest.raises(NotFound, match="dataset 'crm/main/nope'"):
            decide(session, actor, "crm/main/nope", "c_eml", "pii.email", "confirm")


def test_review_queue_lists_open_suggestions_strongest_first(settings: Settings, actor: Actor,
                                                             annotated: dict[str, Any]) -> None:
    with session_scope(settings) as session:
        queue = review_queue(session, actor)["labels"]
        assert {(v["column"], v["label"]) for v in queue} >= {("c_eml", "pii.email"), ("phone", "pii.phone")}
        confidences = [v["confidence"] for v in queue]
        assert confidences == sorted(confidences, reverse=True)
        assert review_queue(session, actor, label="pii.iban")["labels"] == []
        with pytest.raises(InvalidInput):
            review_queue(session, actor, status="pending")


def test_unreachable_source_fails_cleanly_and_keeps_the_profile(settings: Settings, actor: Actor,
                                                                annotated: dict[str, Any], people_db: Path) -> None:
    people_db.unlink()
    result = annotate(settings, actor, everything=True)
    assert result["failed"] == 2 and all(r["error"] for r in result["results"])
    people = show(settings, "crm/main/people")
    assert people["profile"]["status"] == "profiled" and people["profile"]["rows_sampled"] == ROWS
    assert _labels(people)["c_eml"] == ["pii.email"], "labels stay when a source cannot be sampled"


def test_unknown_source_or_dataset_is_named(settings: Settings, actor: Actor, annotated: dict[str, Any]) -> None:
    with pytest.raises(NotFound, match="source 'nope'"):
        annotate(settings, actor, sources=["nope"])
    with pytest.raises(NotFound, match="dataset 'crm/x'"):
        annotate(settings, actor, datasets=["crm/x"])


def test_sample_rows_bound_the_sample(settings: Settings, actor: Actor, annotated: dict[str, Any]) -> None:
    result = annotate(settings, actor, datasets=["crm/main/people"], sample_rows=100)
    assert result["results"][0]["rows"] <= 100
    assert show(settings, "crm/main/people")["profile"]["rows_sampled"] <= 100


def test_annotate_on_a_postgres_store(pg_store: Settings, actor: Actor, people_db: Path) -> None:
    register(pg_store, "crm", f"sqlite:///{people_db}")
    crawl(pg_store, "crm")
    assert annotate(pg_store, actor)["profiled"] == 2
    with session_scope(pg_store) as session:
        decide(session, actor, "crm/main/people", "phone", "pii.phone", "confirm")
    annotate(pg_store, actor, everything=True)
    people = show(pg_store, "crm/main/people")
    assert _labels(people)["c_eml"] == ["pii.email"] and _labels(people)["phone"] == ["pii.phone"]
    assert "@example.com" not in json.dumps(people)
