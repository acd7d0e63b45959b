"""The keyword side of search: identifier-aware tokens and the incremental FTS5 index, on real SQLite files."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.keyword_tokens import last_segment_key, name_key
from catalog.keywords import KeywordHit, KeywordIndex, tokens

DOCUMENTS = [
    (1, "shop/main/orders", "One row per customer order, written by the checkout service."),
    (2, "orders", "Number of orders of the customer."),
    (3, "shop/main/order_items", "Order items: one row per order item with quantity and unit price."),
    (4, "c_eml", "Customer e-mail. Personal data: e-mail address. | column of main customers"),
    (5, "shop/main/customers", "Customers: one row per customer with e-mail, first name and city."),
    (6, "reviewer.email", "E-mail of the reviewer. | column of shop reviews"),
    (7, "dob", "Date of birth. | column of hr employees"),
    (8, "salary_usd", "current annual base salary | column of hr employees"),
    (9, "order_ref", "reference printed on invoices and parcel labels"),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[KeywordIndex]:
    keyword_index = KeywordIndex(tmp_path / "search" / "keywords.sqlite")
    keyword_index.upsert(DOCUMENTS)
    yield keyword_index
    keyword_index.close()


def ids(hits: list[KeywordHit]) -> list[int]:
    return [hit.id for hit in hits]


@pytest.mark.parametrize(("text", "expected"), [
    ("c_eml", ["c", "eml", "email"]),
    ("customerEmail", ["customer", "email"]),
    ("reviewer.email", ["reviewer", "email"]),
    ("items[].sku", ["items", "sku"]),
    ("addr2", ["addr", "address", "2"]),
    ("IPAddress", ["ip", "address"]),
])
def test_identifiers_split_and_keep_the_original_tokens(text: str, expected: list[str]) -> None:
    found = tokens(text)
    assert list(dict.fromkeys(t for t in found if t in expected)) == expected


def test_abbreviations_are_expanded_and_kept() -> None:
    assert tokens("eml")[:2] == ["eml", "email"]
    assert tokens("cust")[:2] == ["cust", "customer"]
    assert tokens("dob")[:3] == ["dob", "date", "birth"]
    assert {"amt", "amount", "usd", "dollars"} <= set(tokens("amt_usd"))


def test_free_text_drops_stopwords_but_identifiers_keep_them() -> None:
    assert tokens("the date of birth of employees") == ["date", "birth", "employees"]
    assert tokens("is_active") == ["is", "active"]
    assert tokens("Café CRÈME") == ["cafe", "creme"]
    assert "email" in tokens("their e-mail address")


def test_tokens_are_deterministic_plain_terms() -> None:
    text = 'Müller\'s "c_eml" NEAR(x) OR * -- camelCaseName reviewer.email[0]'
    assert tokens(text) == tokens(text)
    assert all(t.isalnum() and t == t.lower() for t in tokens(text))


def test_name_keys_normalise_separators() -> None:
    assert name_key("c_eml") == name_key("c eml") == name_key("C-Eml") == "c eml"
    assert name_key("customerEmail") == name_key("customer email")
    assert last_segment_key("shop/main/orders") == "orders"
    assert last_segment_key("c_eml") == ""


def test_exact_names_rank_first(index: KeywordIndex) -> None:
    hits = index.search("orders", 10)
    assert set(ids(hits[:2])) == {1, 2}
    assert all(h.exact_name for h in hits[:2])
    assert 3 in ids(hits) and ids(hits).index(3) > 1
    assert not next(h for h in hits if h.id == 3).exact_name
    assert index.search("c eml", 5)[0] == index.search("C_EML", 5)[0]
    assert index.search("c eml", 5)[0].id == 4 and index.search("c eml", 5)[0].exact_name


def test_an_exact_name_ranks_first_even_beyond_the_bm25_depth(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "k.sqlite")
    index.upsert([(i, f"status_{i}", "status status of the status") for i in range(1, 500)])
    index.upsert([(1000, "shop/main/status", "a long description " * 50 + "status"), (2000, "is", "a flag")])
    first = index.search("status", 3)[0]
    assert first.id == 1000 and first.exact_name and first.matched == ("status",)
    assert ids(index.search("is", 3)) == [2000]  # a stopword as a query still finds the column of that name
    index.close()


def test_cryptic_names_are_found_by_words(index: KeywordIndex) -> None:
    hits = index.search("customer email", 10)
    assert hits[0].id == 4
    assert {"customer", "email"} <= set(hits[0].matched)
    assert index.search("date of birth", 5)[0].id == 7
    assert index.search("reviewer email", 5)[0].id == 6


def test_a_query_with_unknown_words_still_returns_matches(index: KeywordIndex) -> None:
    hits = index.search("zebra quokka invoices", 10)
    assert ids(hits) == [9]
    assert hits[0].matched == ("invoices",)
    assert index.search("zebra quokka", 10) == []


def test_documents_matching_more_words_rank_first(index: KeywordIndex) -> None:
    hits = index.search("annual salary employees", 10)
    assert hits[0].id == 8
    assert set(ids(hits)) >= {7, 8}


def test_two_query_words_also_match_their_compound(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "k.sqlite")
    index.upsert([(1, "signup_ts", "Signup timestamp of the customer."), (2, "sign_code", "Sign code.")])
    hits = index.search("when did the customer sign up", 5)
    assert hits[0].id == 1 and "signup" in hits[0].matched
    index.close()


def test_description_words_are_searchable(index: KeywordIndex) -> None:
    assert ids(index.search("parcel", 5)) == [9]
    assert ids(index.search("checkout service", 5))[0] == 1


def test_upsert_replaces_and_remove_drops(index: KeywordIndex) -> None:
    assert len(index) == len(DOCUMENTS)
    index.upsert([(9, "order_ref", "tracking code"), (9, "order_ref", "tracking code for couriers")])
    assert len(index) == len(DOCUMENTS)
    assert index.search("parcel", 5) == []
    assert ids(index.search("couriers", 5)) == [9]
    index.remove([9, 12345])
    assert index.search("couriers", 5) == [] and len(index) == len(DOCUMENTS) - 1
    assert 9 not in ids(index.search("order_ref", 10))


def test_allowed_filters_and_reads_deeper(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "k.sqlite")
    index.upsert((i, f"col_{i}", "customer record") for i in range(1, 2001))
    hits = index.search("customer", 5, allowed=lambda i: i % 500 == 0)
    assert sorted(ids(hits)) == [500, 1000, 1500, 2000]
    assert index.search("customer", 3, allowed=lambda i: False) == []
    index.close()


def test_read_only_sees_writes_and_refuses_to_write(tmp_path: Path, index: KeywordIndex) -> None:
    reader = KeywordIndex(index.path, read_only=True)
    index.upsert([(50, "loyalty_tier", "bronze silver gold")])
    assert ids(reader.search("loyalty", 5)) == [50]
    with pytest.raises(PermissionError):
        reader.upsert([(51, "x", "y")])
    reader.close()
    with pytest.raises(FileNotFoundError):
        KeywordIndex(tmp_path / "missing.sqlite", read_only=True)


def test_clear_empties_and_stamps_the_tokenizer_version(index: KeywordIndex) -> None:
    assert not index.stale
    index.clear()
    assert len(index) == 0 and index.search("orders", 5) == [] and not index.stale


def test_a_failed_upsert_leaves_the_previous_state(index: KeywordIndex) -> None:
    def documents() -> Iterator[tuple[int, str, str]]:
        yield 60, "first_new", "written then rolled back"
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        index.upsert(documents())
    assert len(index) == len(DOCUMENTS)
    assert index.search("rolled", 5) == []


@pytest.mark.parametrize("query", [
    '"', '""', "c_eml OR", "OR", "NEAR(", "NEAR(c_eml email, 2)", "*", "c*", "-email", "name:email", "email:",
    "'; DROP TABLE x; --", "'; DROP TABLE terms; --", "AND NOT", "(", ")", "^email", "{name text}: x", "\x00", "",
    "   ", "!!! ... ???", "x" * 10_000, "email " * 2_000, "ümlaut ß ﬁ ½ 😀 中文 عربي",
])
def test_hostile_queries_do_not_raise(index: KeywordIndex, query: str) -> None:
    hits = index.search(query, 10)
    assert isinstance(hits, list)
    assert len(index) == len(DOCUMENTS)


def test_punctuation_only_and_empty_queries_return_nothing(index: KeywordIndex) -> None:
    for query in ("", "   ", '"', "*", "!!! ... ???", "()"):
        assert index.search(query, 10) == []
    assert index.search("orders", 0) == []


def test_query_syntax_words_are_plain_words(index: KeywordIndex) -> None:
    index.upsert([(70, "near_store", "store nearest to the customer"), (71, "or_flag", "operating room flag")])
    assert 70 in ids(index.search("NEAR", 10))
    assert 71 in ids(index.search("or_flag", 10))


def test_large_and_incremental_upserts_take_seconds(tmp_path: Path) -> None:
    rng = random.Random(5)
    parts = "cust ord amt usd dt ts id nm eml addr qty prod sku price status created is active cnt total".split()
    words = "customer order amount date of the e-mail address quantity product price status when record".split()

    def document(i: int) -> tuple[int, str, str]:
        name = "_".join(rng.sample(parts, rng.randint(1, 3)))
        return i, name, " ".join(rng.choice(words) for _ in range(rng.randint(8, 30))) + f" | table {i // 20}"

    documents = [document(i) for i in range(1, 100_001)]
    index = KeywordIndex(tmp_path / "big.sqlite")
    started = time.perf_counter()
    index.upsert(documents)
    bulk = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(100_001, 101_001):
        index.upsert([document(i)])
    one_by_one = time.perf_counter() - started
    started = time.perf_counter()
    index.upsert(document(i) for i in range(101_001, 102_001))
    batched = time.perf_counter() - started
    started = time.perf_counter()
    hits = index.search("customer email address", 10)
    query = time.perf_counter() - started
    print(f"\n100k upsert {bulk:.2f} s; 1,000 upserts one by one {one_by_one:.2f} s, in one call {batched:.3f} s; "
          f"query over 102k {query * 1000:.0f} ms")
    assert len(index) == 102_000 and len(hits) == 10
    assert bulk < 10 and one_by_one < 10 and batched < 10
    index.close()
