"""Column profiles from samples: statistics per kind of value, the distinct estimate, and what masking removes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

from annotator.profile import estimate_distinct, profile_column, restrict_profile, summary_line


def test_numbers_get_range_moments_quantiles_and_a_histogram() -> None:
    values = [*range(1, 101), None, None, float("inf")]
    p = profile_column(values, population=len(values))
    assert p["count"] == 103 and p["nulls"] == 2 and p["null_share"] == round(2 / 103, 4)
    assert p["kind"] == "number" and p["min"] == 1 and p["max"] == "inf"
    assert p["non_finite"] == 1
    assert abs(p["mean"] - 50.5) < 1e-9 and abs(p["median"] - 50.5) < 1e-9
    assert sum(p["histogram"]["counts"]) == 100 and len(p["histogram"]["counts"]) == 20
    assert p["distinct"] == 101 and p["distinct_exact"], "the sample was the whole dataset: exact count"


def test_decimals_stay_json_friendly() -> None:
    p = profile_column([Decimal("1.50"), Decimal("2"), Decimal("2")])
    assert p["min"] == 1.5 and p["max"] == 2 and isinstance(p["max"], int)
    assert p["top_values"][0] == {"value": "2", "count": 2, "share": 0.6667}


def test_text_gets_lengths_top_values_and_examples() -> None:
    p = profile_column(["red", "green", "red", "blue", None])
    assert p["kind"] == "text" and (p["min_length"], p["max_length"]) == (3, 5)
    assert p["top_values"][0] == {"value": "red", "count": 2, "share": 0.5}
    assert p["examples"] == ["red", "green", "blue"]
    assert "length 3–5" in summary_line(p)


def test_top_values_are_left_out_when_nothing_repeats() -> None:
    assert profile_column([f"id-{i}" for i in range(50)])["top_values"] == []


def test_dates_and_aware_datetimes_share_one_axis() -> None:
    p = profile_column([date(1990, 5, 1), datetime(2001, 1, 1, 12, tzinfo=UTC), None])
    assert p["kind"] == "temporal" and p["min"] == "1990-05-01T00:00:00" and p["max"] == "2001-01-01T12:00:00"
    assert p["histogram"]["edges"][0].startswith("1990-05-01")


def test_booleans_and_mixed_kinds() -> None:
    assert profile_column([True, True, False, None])["true_share"] == round(2 / 3, 4)
    mixed = profile_column([1, 2, 3, "n/a", {"a": 1}])
    assert mixed["kind"] == "number" and mixed["kinds"] == {"number": 0.6, "other": 0.2, "text": 0.2}


def test_all_null_column() -> None:
    p = profile_column([None, None])
    assert p == {"count": 2, "nulls": 2, "null_share": 1.0}


def test_distinct_estimate_extrapolates_from_a_sample() -> None:
    rng = random.Random(7)
    population = 1_000_000
    keys = [rng.randrange(population) for _ in range(10_000)]  # a key column: nearly all distinct
    p = profile_column(keys, population=population)
    assert not p["distinct_exact"]
    assert 400_000 < p["distinct_estimate"] <= population, "a sample of unique keys must not say 10,000 distinct"
    codes = [rng.choice("ABCDE") for _ in range(10_000)]  # a code column: 5 values however large the table
    assert profile_column(codes, population=population)["distinct_estimate"] == 5


def test_estimate_never_exceeds_population() -> None:
    from collections import Counter

    estimate, exact = estimate_distinct(Counter(range(100)), 100, 120)
    assert estimate <= 120 and not exact


def test_restricted_profile_keeps_no_value() -> None:
    p = profile_column(["ann@example.com", "bob@example.org", "ann@example.com"])
    restricted = restrict_profile(p, ["a***@e***.com"])
    text = repr(restricted)
    assert "ann@" not in text and "bob@" not in text
    assert restricted["masked"] and restricted["examples"] == ["a***@e***.com"]
    assert restricted["null_share"] == 0.0 and restricted["distinct"] == 2



def test_values_take_their_declared_type_when_the_driver_gave_text() -> None:
    from annotator.profile import typed_values

    assert typed_values(["1990-01-02", "not a date", None], "date") == [date(1990, 1, 2), "not a date", None]
    assert typed_values(["2020-01-01 10:00:00"], "timestamp") == [datetime(2020, 1, 1, 10)]
    assert typed_values([0, 1, 2, None], "boolean") == [False, True, 2, None]
    assert typed_values([1, 2], "integer") == [1, 2]
