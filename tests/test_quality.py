"""The Great Expectations quality gate: default suites, suite checking, real GE validation and leak-free reports.

Everything runs through the installed Great Expectations (pandas engine); the tables are small so the module stays
within a few seconds after GE's import.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from catalog import quality
from catalog.errors import InvalidInput
from catalog.quality import SUITE_FORMAT, ValidationReport, check_suite, default_suite, validate
from catalog.quality_suite import EXPECTATION_TYPES

SECRET = "SECRET-VALUE-1234"
SECRET_NUMBER = 987654321987


def version_table(rows: int = 400, seed: int = 1, **overrides: pa.Array) -> pa.Table:
    """A dataset version with one column per Arrow family the catalog publishes."""
    rng = random.Random(seed)
    start = dt.datetime(2021, 1, 1)
    columns: dict[str, pa.Array] = {
        "id": pa.array(range(50 * seed, 50 * seed + rows), pa.int64()),  # each version drops old rows, adds new
        "qty": pa.array([None if i % 25 == 0 else rng.randint(0, 500) for i in range(rows)], pa.int32()),
        "amount": pa.array([None if i % 50 == 0 else round(rng.gauss(100, 20), 2) for i in range(rows)]),
        "score": pa.array([rng.random() for _ in range(rows)], pa.float32()),
        "price": pa.array([Decimal(rng.randint(100, 9999)) / 100 for _ in range(rows)], pa.decimal128(8, 2)),
        "city name": pa.array([rng.choice(["Oslo", "Lima", "Pune"]) for _ in range(rows)]).dictionary_encode(),
        "note": pa.array([None if i % 3 == 0 else f"note {i}" for i in range(rows)], pa.large_string()),
        "active": pa.array([rng.random() < 0.5 for _ in range(rows)]),
        "created": pa.array([start + dt.timedelta(minutes=rng.randint(0, 500_000)) for _ in range(rows)]),
        "updated": pa.array(
            [dt.datetime(2022, 3, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(rows)],
            pa.timestamp("ms", tz="Europe/Oslo"),
        ),
        "day": pa.array([dt.date(2021, 1, 1) + dt.timedelta(days=i % 300) for i in range(rows)], pa.date32()),
        "wait": pa.array([dt.timedelta(seconds=i) for i in range(rows)], pa.duration("s")),
        "blob": pa.array([b"\x00\x01"] * rows),
        "tags": pa.array([["a", "b"]] * rows),
        "point": pa.array([{"x": i, "y": -i} for i in range(rows)]),
        "at": pa.array([dt.time(8, 30)] * rows, pa.time64("us")),
        "nothing": pa.array([None] * rows, pa.null()),
    }
    columns.update(overrides)
    return pa.table(columns)


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    return default_suite(version_table(seed=1), "orders")


def failed(report: ValidationReport, column: str | None = None) -> set[str]:
    return {r["type"] for r in report.failures() if column is None or r["column"] == column}


def test_default_suite_passes_on_a_similar_version(suite: dict[str, Any]) -> None:
    assert suite["format"] == SUITE_FORMAT and check_suite(suite)["expectations"] == suite["expectations"]
    report = validate(version_table(seed=2), suite)
    assert report.success, report.failures()
    assert report.statistics == {
        "evaluated": len(suite["expectations"]),
        "successful": len(suite["expectations"]),
        "unsuccessful": 0,
    }
    kinds = {(r["column"], r["type"]) for r in report.results}
    for column in ("id", "qty", "amount", "score", "price", "created", "updated", "day"):
        assert (column, "expect_column_values_to_be_between") in kinds, column
    assert ("note", "expect_column_values_to_not_be_null") in kinds, "a third null: still mostly non-null"
    assert ("nothing", "expect_column_values_to_not_be_null") not in kinds, "all null: no null check"
    assert ("city name", "expect_column_values_to_be_between") not in kinds
    not_null = next(r for r in report.results if r["column"] == "qty" and r["type"].endswith("not_be_null"))
    assert not_null["kwargs"]["mostly"] == 0.91, "4% null observed: may double plus one point"
    assert not_null["observed"]["element_count"] == 400 and not_null["observed"]["unexpected_count"] == 16
    types = {r["column"]: r["observed"].get("observed_value") for r in report.results if "type" in r["type"][7:]}
    assert types["qty"] == "int32" and types["city name"] == "str" and types["nothing"] == "null[pyarrow]"
    assert set(report.to_json()) == {"success", "results", "statistics", "seconds"} and report.failures() == []


def test_the_default_suite_explains_its_tolerances(suite: dict[str, Any]) -> None:
    by_key = {(e["kwargs"].get("column"), e["type"]): e["kwargs"] for e in suite["expectations"]}
    assert by_key[(None, "expect_table_row_count_to_be_between")] == {"min_value": 1}
    assert by_key[(None, "expect_table_columns_to_match_set")]["exact_match"] is False
    ids = by_key[("id", "expect_column_values_to_be_between")]
    assert (ids["min_value"], ids["max_value"]) == (50 - 225, 449 + 225), "half the largest magnitude"
    created = by_key[("created", "expect_column_values_to_be_between")]
    first, last = min(version_table(seed=1)["created"].to_pylist()), max(version_table(seed=1)["created"].to_pylist())
    assert last - first < dt.timedelta(days=366), "a short span: the one-year minimum margin applies"
    assert created["min_value"] == (first - dt.timedelta(days=366)).isoformat()
    assert created["max_value"] == (last + dt.timedelta(days=366)).isoformat()
    assert "T" in by_key[("day", "expect_column_values_to_be_between")]["min_value"], "never a bare date"
    assert by_key[("updated", "expect_column_values_to_be_between")]["max_value"].endswith("+01:00")
    json.dumps(suite, allow_nan=False)


def test_a_column_with_a_new_type_fails_its_type_check(suite: dict[str, Any]) -> None:
    report = validate(version_table(seed=2, qty=pa.array([str(i) for i in range(400)])), suite)
    assert not report.success
    type_result = next(r for r in report.failures() if r["type"] == "expect_column_values_to_be_of_type")
    assert type_result["column"] == "qty" and type_result["observed"] == {"observed_value": "str"}
    assert failed(report) <= {"expect_column_values_to_be_of_type", "expect_column_values_to_be_between"}
    assert failed(report, "qty") == failed(report)


def test_many_new_nulls_fail_the_null_check(suite: dict[str, Any]) -> None:
    amounts = pa.array([None if i % 2 else 10.0 for i in range(400)])
    report = validate(version_table(seed=2, amount=amounts), suite)
    assert failed(report) == {"expect_column_values_to_not_be_null"}
    result = report.failures()[0]
    assert result["column"] == "amount" and result["observed"]["unexpected_percent"] == 50.0


def test_out_of_range_values_fail_the_range_check(suite: dict[str, Any]) -> None:
    cents = pa.array([None if i % 50 == 0 else 100.0 * (i + 1) for i in range(400)])
    early = pa.array([dt.datetime(1970, 1, 1)] * 400)
    report = validate(version_table(seed=2, amount=cents, created=early), suite)
    assert failed(report, "amount") == {"expect_column_values_to_be_between"}
    assert failed(report, "created") == {"expect_column_values_to_be_between"}
    created = next(r for r in report.failures() if r["column"] == "created")
    assert created["observed"]["unexpected_count"] == 400 and created["note"] is None


def test_a_missing_column_fails_with_a_note_and_an_added_one_passes(suite: dict[str, Any]) -> None:
    table = version_table(seed=2).drop_columns(["amount"]).append_column("extra", pa.array([1] * 400))
    report = validate(table, suite)
    assert failed(report, "amount") == {
        "expect_column_to_exist",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
    }
    assert all(r["note"] == "column 'amount' is not in the table" for r in report.failures() if r["column"])
    column_set = next(r for r in report.failures() if r["type"] == "expect_table_columns_to_match_set")
    assert column_set["observed"]["mismatched"] == {"missing": ["amount"], "unexpected": ["extra"]}
    assert "extra" in column_set["observed"]["observed_value"]
    assert report.statistics["unsuccessful"] == 5


def test_an_empty_version_fails_only_its_row_count(suite: dict[str, Any]) -> None:
    report = validate(version_table(seed=2).slice(0, 0), suite)
    assert failed(report) == {"expect_table_row_count_to_be_between"}
    assert report.failures()[0]["observed"] == {"observed_value": 0}
    empty_suite = default_suite(version_table().slice(0, 0), "empty")
    assert not validate(version_table().slice(0, 0), empty_suite).success


def test_no_row_value_ever_reaches_the_report() -> None:
    table = pa.table(
        {
            "code": pa.array(["ok"] * 50 + [SECRET] * 50),
            "n": pa.array([1] * 99 + [SECRET_NUMBER]),
            "when": pa.array([dt.datetime(2020, 1, 1)] * 99 + [dt.datetime(2099, 12, 31, 23, 59, 58)]),
        }
    )
    probes: list[tuple[str, dict[str, Any]]] = [
        ("expect_column_values_to_be_in_set", {"column": "code", "value_set": ["ok"]}),
        ("expect_column_values_to_not_be_in_set", {"column": "code", "value_set": ["ok"]}),
        ("expect_column_values_to_match_regex", {"column": "code", "regex": "^ok$"}),
        ("expect_column_value_lengths_to_be_between", {"column": "code", "max_value": 3}),
        ("expect_column_values_to_be_unique", {"column": "code"}),
        ("expect_column_most_common_value_to_be_in_set", {"column": "code", "value_set": ["x"]}),
        ("expect_column_distinct_values_to_be_in_set", {"column": "code", "value_set": ["ok"]}),
        ("expect_column_distinct_values_to_equal_set", {"column": "code", "value_set": ["ok"]}),
        ("expect_column_values_to_be_between", {"column": "code", "min_value": 0, "max_value": 5}),
        ("expect_column_values_to_be_of_type", {"column": "code", "type_": "int64"}),
        ("expect_column_max_to_be_between", {"column": "n", "max_value": 5}),
        ("expect_column_min_to_be_between", {"column": "n", "min_value": 5}),
        ("expect_column_mean_to_be_between", {"column": "n", "max_value": 5}),
        ("expect_column_sum_to_be_between", {"column": "n", "max_value": 5}),
        ("expect_column_values_to_be_between", {"column": "n", "max_value": 5}),
        (
            "expect_column_quantile_values_to_be_between",
            {"column": "n", "quantile_ranges": {"quantiles": [0.5, 1.0], "value_ranges": [[0, 1], [0, 1]]}},
        ),
        ("expect_column_values_to_be_between", {"column": "when", "max_value": "2030-01-01T00:00:00"}),
        ("expect_column_max_to_be_between", {"column": "when", "max_value": "2030-01-01T00:00:00"}),
        ("expect_column_pair_values_to_be_equal", {"column_A": "code", "column_B": "n"}),
        ("expect_compound_columns_to_be_unique", {"column_list": ["code", "n"]}),
    ]
    report = validate(table, {"expectations": [{"type": t, "kwargs": k} for t, k in probes]})
    assert report.statistics["unsuccessful"] == len(probes), [r["type"] for r in report.results if r["success"]]
    text = json.dumps(report.to_json())
    for leaked in (SECRET, str(SECRET_NUMBER), "9.87654", "2099", "23:59:58"):
        assert leaked not in text
    assert any(r["observed"].get("unexpected_count") == 50 for r in report.results), "counts are still reported"


def test_an_expectation_ge_cannot_evaluate_is_a_failure_with_a_note() -> None:
    table = pa.table({"code": pa.array(["a", SECRET])})
    report = validate(
        table,
        {"expectations": [{"type": "expect_column_mean_to_be_between", "kwargs": {"column": "code", "min_value": 0}}]},
    )
    (result,) = report.results
    assert not result["success"] and result["observed"] == {}
    assert "could not evaluate" in result["note"] and "Error" in result["note"] and SECRET not in result["note"]


@pytest.mark.parametrize(
    ("suite", "message"),
    [
        ([], "suite must be a JSON object, not a list"),
        ({"expectations": {}}, "suite.expectations must be a list, not an object"),
        ({"expectations": [], "format": 2}, "suite.format must be 1, not 2"),
        ({"expectations": [], "owner": "me"}, "suite has unknown key 'owner'"),
        ({"expectations": ["x"]}, "expectations[0] must be an object, not a string"),
        (
            {
                "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}] * 3
                + [{"type": "expect_foo", "kwargs": {}}]
            },
            "expectations[3].type 'expect_foo' is not a Great Expectations expectation",
        ),
        ({"expectations": [{"kwargs": {}}]}, "expectations[0].type must be a string"),
        (
            {"expectations": [{"type": "expect_column_to_exist", "kwargs": []}]},
            "expectations[0].kwargs must be an object, not a list",
        ),
        ({"expectations": [{"type": "expect_column_to_exist", "kwargs": {}, "meta": 1}]}, "expectations[0].meta"),
        ({"expectations": [{"type": "expect_column_to_exist", "kwargs": {}, "extra": 1}]}, "unknown key 'extra'"),
        (
            {"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}] * 501},
            "suite.expectations has 501 items; the limit is 500",
        ),
        (
            {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "mostly": 2}}]},
            "expectations[0].kwargs: mostly: ensure this value is less than or equal to 1",
        ),
        (
            {"expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a"}}]},
            "expectations[0].kwargs: value_set: field required",
        ),
        (
            {"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a", "colour": 1}}]},
            "expectations[0].kwargs: colour: extra fields not permitted",
        ),
        (
            {
                "expectations": [
                    {"type": "expect_column_to_exist", "kwargs": {"column": "a", "result_format": "COMPLETE"}}
                ]
            },
            "expectations[0].kwargs.result_format is set by the catalog",
        ),
        (
            {
                "expectations": [
                    {
                        "type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": "a", "row_condition": "a > 1", "condition_parser": "pandas"},
                    }
                ]
            },
            "expectations[0].kwargs.row_condition is not supported",
        ),
        (
            {
                "expectations": [
                    {
                        "type": "expect_column_values_to_match_like_pattern",
                        "kwargs": {"column": "a", "like_pattern": "a%"},
                    }
                ]
            },
            "cannot check a dataset version: LIKE patterns need a SQL database",
        ),
        (
            {"expectations": [{"type": "expect_table_row_count_to_equal", "kwargs": {"value": {"$PARAMETER": "n"}}}]},
            "expectations[0].kwargs.value uses a suite parameter",
        ),
        (
            {"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "severity": "warning"}]},
            "expectations[0].severity 'warning' is not supported",
        ),
        (
            {"expectations": [{"type": "expect_table_row_count_to_equal", "kwargs": {"value": float("nan")}}]},
            "suite must be plain JSON",
        ),
    ],
)
def test_check_suite_names_exactly_what_is_wrong(suite: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_suite(suite)
    assert message in str(caught.value)


def test_check_suite_reads_great_expectations_exports() -> None:
    exported = {
        "name": "from gx",
        "id": "c0ffee",
        "notes": None,
        "meta": {"great_expectations_version": "1.24.1"},
        "expectations": [
            {
                "type": "expect_column_to_exist",
                "kwargs": {"column": "a"},
                "meta": {},
                "id": "1",
                "severity": "critical",
                "rendered_content": None,
                "notes": None,
                "description": None,
            },
            {"expectation_type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        ],
    }
    checked = check_suite(exported)
    assert checked == {
        "format": 1,
        "name": "from gx",
        "meta": {"great_expectations_version": "1.24.1"},
        "expectations": [
            {"type": "expect_column_to_exist", "kwargs": {"column": "a"}, "meta": {}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {}},
        ],
    }
    checked["expectations"][0]["kwargs"]["column"] = "b"
    assert exported["expectations"][0]["kwargs"]["column"] == "a", "the normalised suite is a copy"


def test_the_expectation_list_matches_great_expectations() -> None:
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    registered = {name for name in list_registered_expectation_implementations() if name.startswith("expect_")}
    assert registered == set(EXPECTATION_TYPES)


def test_wide_values_and_far_dates_keep_their_exact_checks() -> None:
    big = 2**60
    table = pa.table(
        {
            "big": pa.array([big, None, big + 1] * 20, pa.int64()),
            "unsigned": pa.array([2**64 - 1, 1, 2] * 20, pa.uint64()),
            "far": pa.array([dt.datetime(3000, 1, 1), dt.datetime(1600, 1, 1), None] * 20),
        }
    )
    suite = default_suite(table, "edges")
    report = validate(table, suite)
    assert report.success, report.failures()
    shifted = table.set_column(0, "big", pa.array([-big, None, big] * 20, pa.int64()))
    assert failed(validate(shifted, suite)) == {"expect_column_values_to_be_between"}


def test_two_threads_and_concurrent_calls_agree(suite: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    tables = [version_table(seed=2), version_table(seed=3, amount=pa.array([None] * 400, pa.float64()))]
    expected = [validate(table, suite).to_json()["results"] for table in tables]
    monkeypatch.setattr(quality, "CELL_BUDGET", 1)  # one batch per column, on two worker threads
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda table: validate(table, suite).to_json()["results"], tables * 3))
    assert got == expected * 3


def test_repeated_expectations_each_get_a_result() -> None:
    table = pa.table({"a": pa.array([1, None])})
    twice = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}] * 2
    report = validate(table, {"expectations": [*twice, {"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]})
    assert [r["success"] for r in report.results] == [False, False, True]
    assert report.results[0]["observed"]["unexpected_count"] == 1 and report.results[0] is not report.results[1]


def test_duplicate_column_names_are_rejected(suite: dict[str, Any]) -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(InvalidInput, match="more than one column named 'a'"):
        validate(table, suite)
