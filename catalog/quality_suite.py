"""Expectation suites for the quality gate: checking a user's suite and generating a default one from data.

A suite is plain JSON so it can live in the database and travel through the API:
`{"format": 1, "name": str, "expectations": [{"type": "expect_...", "kwargs": {...}, "meta": {...}}], "meta": {...}}`.
Nothing here imports Great Expectations at module level: importing it costs seconds, and generating a suite or
rejecting a misspelt expectation name must stay cheap. Only the kwargs check (GE's own pydantic models, which know
every expectation's arguments far better than a copy of them could) imports it, lazily.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.errors import InvalidInput

SUITE_FORMAT = 1
MAX_EXPECTATIONS = 500
MAX_SUITE_BYTES = 2_000_000
MAX_NAME_LENGTH = 200

# Every `expect_*` expectation Great Expectations 1.24 registers (tests/test_quality.py compares this list with GE's
# registry, so an upgrade that adds or drops one fails a test instead of silently drifting). A static list keeps
# name checks free of the multi-second GE import.
EXPECTATION_TYPES = frozenset(
    """
    expect_column_distinct_values_to_be_in_set expect_column_distinct_values_to_contain_set
    expect_column_distinct_values_to_equal_set expect_column_kl_divergence_to_be_less_than
    expect_column_max_to_be_between expect_column_mean_to_be_between expect_column_median_to_be_between
    expect_column_min_to_be_between expect_column_most_common_value_to_be_in_set
    expect_column_pair_values_a_to_be_greater_than_b expect_column_pair_values_to_be_equal
    expect_column_pair_values_to_be_in_set expect_column_proportion_of_non_null_values_to_be_between
    expect_column_proportion_of_unique_values_to_be_between expect_column_quantile_values_to_be_between
    expect_column_stdev_to_be_between expect_column_sum_to_be_between expect_column_to_exist expect_column_type_to_be
    expect_column_unique_value_count_to_be_between expect_column_value_lengths_to_be_between
    expect_column_value_lengths_to_equal expect_column_value_z_scores_to_be_less_than
    expect_column_values_to_be_between expect_column_values_to_be_dateutil_parseable
    expect_column_values_to_be_decreasing expect_column_values_to_be_in_set expect_column_values_to_be_in_type_list
    expect_column_values_to_be_increasing expect_column_values_to_be_json_parseable expect_column_values_to_be_null
    expect_column_values_to_be_of_type expect_column_values_to_be_unique expect_column_values_to_match_json_schema
    expect_column_values_to_match_like_pattern expect_column_values_to_match_like_pattern_list
    expect_column_values_to_match_regex expect_column_values_to_match_regex_list
    expect_column_values_to_match_strftime_format expect_column_values_to_not_be_in_set
    expect_column_values_to_not_be_null expect_column_values_to_not_be_outliers
    expect_column_values_to_not_match_like_pattern expect_column_values_to_not_match_like_pattern_list
    expect_column_values_to_not_match_regex expect_column_values_to_not_match_regex_list
    expect_compound_columns_to_be_unique expect_multicolumn_sum_to_equal expect_multicolumn_values_to_be_equal
    expect_query_results_to_match_comparison expect_select_column_values_to_be_unique_within_record
    expect_table_column_count_to_be_between expect_table_column_count_to_equal
    expect_table_columns_to_match_ordered_list expect_table_columns_to_match_set expect_table_row_count_to_be_between
    expect_table_row_count_to_equal expect_table_row_count_to_equal_other_table
    """.split()
)

# Real expectations that cannot run here: versions are checked with GE's pandas engine, one table at a time.
NOT_ON_PANDAS = {
    "expect_column_values_to_match_like_pattern": "LIKE patterns need a SQL database",
    "expect_column_values_to_match_like_pattern_list": "LIKE patterns need a SQL database",
    "expect_column_values_to_not_match_like_pattern": "LIKE patterns need a SQL database",
    "expect_column_values_to_not_match_like_pattern_list": "LIKE patterns need a SQL database",
    "expect_query_results_to_match_comparison": "it runs SQL queries",
    "expect_table_row_count_to_equal_other_table": "a version is checked on its own, without other tables",
}

# kwargs the catalog controls. result_format would let a suite ask for unexpected row values; row_condition is
# evaluated by pandas' DataFrame.query, which pandas documents as unsafe for untrusted input.
_RESERVED_KWARGS = {
    "result_format": "is set by the catalog, which never stores row values",
    "catch_exceptions": "is set by the catalog",
    "include_config": "is set by the catalog",
    "batch_id": "is set by the catalog",
    "row_condition": "is not supported: pandas evaluates row conditions as code",
    "condition_parser": "is not supported: pandas evaluates row conditions as code",
    "meta": "belongs next to kwargs, not inside them",
} | dict.fromkeys(("id", "notes", "description", "severity", "rendered_content", "windows"), "is not an argument")
_EXPECTATION_KEYS = ("type", "kwargs", "meta")
_IGNORED_EXPECTATION_KEYS = {"id", "rendered_content", "notes", "description"}  # GE export bookkeeping
_SUITE_KEYS = {"format", "name", "expectations", "meta"}
_IGNORED_SUITE_KEYS = {"id", "notes", "data_asset_type", "ge_cloud_id", "expectation_suite_name"}

# default_suite tuning; the reasons are in default_suite's docstring.
NULL_SHARE_LIMIT = 0.5
RANGE_MOSTLY = 0.999
TEMPORAL_MIN_MARGIN = dt.timedelta(days=366)


# --- checking a user-supplied suite -------------------------------------------------------------------------------


def check_suite(suite: Any) -> dict[str, Any]:
    """Validate a parsed-JSON suite and return it normalised, or raise InvalidInput naming the first problem.

    Structure and expectation names are checked without Great Expectations; the kwargs of each expectation are then
    checked by constructing GE's own expectation model (its pydantic validation knows the required and allowed
    arguments), which imports GE lazily. GE's export format is accepted too: its bookkeeping keys (`id`, `notes`,
    `rendered_content`, `expectation_suite_name`...) are dropped and 0.x's `expectation_type` is read as `type`.
    """
    if not isinstance(suite, dict):
        raise InvalidInput(f"suite must be a JSON object, not {_json_kind(suite)}")
    unknown = sorted(set(suite) - _SUITE_KEYS - _IGNORED_SUITE_KEYS)
    if unknown:
        raise InvalidInput(f"suite has unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_SUITE_KEYS))})")
    fmt = suite.get("format", SUITE_FORMAT)
    if fmt != SUITE_FORMAT or isinstance(fmt, bool):
        raise InvalidInput(f"suite.format must be {SUITE_FORMAT}, not {fmt!r}")
    name = suite.get("name", suite.get("expectation_suite_name", "suite"))
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"suite.name must be a non-empty string of at most {MAX_NAME_LENGTH} characters")
    meta = suite.get("meta", {})
    if not isinstance(meta, dict):
        raise InvalidInput(f"suite.meta must be an object, not {_json_kind(meta)}")
    expectations = suite.get("expectations")
    if not isinstance(expectations, list):
        raise InvalidInput(f"suite.expectations must be a list, not {_json_kind(expectations)}")
    if len(expectations) > MAX_EXPECTATIONS:
        raise InvalidInput(f"suite.expectations has {len(expectations)} items; the limit is {MAX_EXPECTATIONS}")
    copy = _plain_copy(suite)  # the result shares nothing with the caller's objects
    checked = [_check_expectation(i, item) for i, item in enumerate(copy["expectations"])]
    _check_kwargs_with_ge(checked)
    return {"format": SUITE_FORMAT, "name": name.strip(), "expectations": checked, "meta": copy.get("meta", {})}


def _plain_copy(suite: dict[str, Any]) -> dict[str, Any]:
    """A deep copy through JSON, which also enforces plain JSON values and the size limit."""
    try:
        text = json.dumps(suite, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"suite must be plain JSON (no NaN, infinity or non-JSON values): {exc}") from None
    if len(text) > MAX_SUITE_BYTES:
        raise InvalidInput(f"suite is {len(text)} bytes as JSON; the limit is {MAX_SUITE_BYTES}")
    return json.loads(text)


def _check_expectation(index: int, item: Any) -> dict[str, Any]:
    where = f"expectations[{index}]"
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} must be an object, not {_json_kind(item)}")
    item = dict(item)
    if "type" not in item and "expectation_type" in item:
        item["type"] = item.pop("expectation_type")
    severity = item.pop("severity", "critical")
    if severity != "critical":
        raise InvalidInput(f"{where}.severity {severity!r} is not supported: every expectation gates the version")
    unknown = sorted(set(item) - set(_EXPECTATION_KEYS) - _IGNORED_EXPECTATION_KEYS)
    if unknown:
        raise InvalidInput(f"{where} has unknown key {unknown[0]!r} (allowed: {', '.join(_EXPECTATION_KEYS)})")
    kind = item.get("type")
    if not isinstance(kind, str):
        raise InvalidInput(f"{where}.type must be a string naming a Great Expectations expectation")
    if kind not in EXPECTATION_TYPES:
        raise InvalidInput(f"{where}.type {kind!r} is not a Great Expectations expectation")
    if kind in NOT_ON_PANDAS:
        raise InvalidInput(f"{where}.type {kind!r} cannot check a dataset version: {NOT_ON_PANDAS[kind]}")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise InvalidInput(f"{where}.kwargs must be an object, not {_json_kind(kwargs)}")
    for key, value in kwargs.items():
        if key in _RESERVED_KWARGS:
            raise InvalidInput(f"{where}.kwargs.{key} {_RESERVED_KWARGS[key]}")
        if _has_parameter(value):
            raise InvalidInput(f"{where}.kwargs.{key} uses a suite parameter ($PARAMETER); give the value itself")
    meta = item.get("meta", {})
    if not isinstance(meta, dict):
        raise InvalidInput(f"{where}.meta must be an object, not {_json_kind(meta)}")
    return {"type": kind, "kwargs": kwargs, "meta": meta}


def _has_parameter(value: Any) -> bool:
    if isinstance(value, dict):
        return "$PARAMETER" in value or any(_has_parameter(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_parameter(v) for v in value)
    return False


def _check_kwargs_with_ge(expectations: list[dict[str, Any]]) -> None:
    """Let GE's expectation models judge each kwargs object; report the first error with its path."""
    if not expectations:
        return
    from great_expectations.expectations.registry import get_expectation_impl

    for index, item in enumerate(expectations):
        try:
            get_expectation_impl(item["type"])(**item["kwargs"])
        except Exception as exc:  # pydantic.v1 ValidationError, or a GE error for a model-level rule
            raise InvalidInput(f"expectations[{index}].kwargs: {_describe_model_error(exc)}") from None


def _describe_model_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for error in errors():
            loc = ".".join(str(p) for p in error.get("loc", ()) if p != "__root__")
            parts.append(f"{loc}: {error.get('msg')}" if loc else str(error.get("msg")))
        if parts:
            return "; ".join(dict.fromkeys(parts))
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


# --- how Arrow columns look to GE -----------------------------------------------------------------------------


def arrow_kind(arrow_type: pa.DataType) -> str:
    """The family an Arrow type belongs to; catalog.quality converts each family to one pandas representation."""
    if pa.types.is_dictionary(arrow_type):
        return arrow_kind(arrow_type.value_type)
    checks = (
        ("int", pa.types.is_integer),
        ("float", pa.types.is_floating),
        ("decimal", pa.types.is_decimal),
        ("bool", pa.types.is_boolean),
        ("string", _is_string),
        ("timestamp", pa.types.is_timestamp),
        ("date", pa.types.is_date),
        ("duration", pa.types.is_duration),
        ("time", pa.types.is_time),
        ("binary", _is_binary),
        ("list", _is_list),
        ("struct", pa.types.is_struct),
    )
    return next((kind for kind, test in checks if test(arrow_type)), "other")


def _is_string(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or _is_view(arrow_type, "string")


def _is_binary(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
        or _is_view(arrow_type, "binary")
    )


def _is_list(arrow_type: pa.DataType) -> bool:
    tests = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list, pa.types.is_map)
    return any(test(arrow_type) for test in tests)


def _is_view(arrow_type: pa.DataType, what: str) -> bool:
    test = getattr(pa.types, f"is_{what}_view", None)
    return bool(test and test(arrow_type))


def type_expectation(column: str, arrow_type: pa.DataType) -> dict[str, Any] | None:
    """A type check GE's pandas engine answers from the dtype alone (never row by row), or None if none fits.

    catalog.quality hands type expectations a dtype faithful to the Arrow type: masked Int8..UInt64 for integers
    (so a null does not turn an int column into float64), numpy floats of the same width, `boolean`, pandas' `str`,
    datetime64 (dates included) and Arrow-backed dtypes for the rest. expect_column_values_to_be_of_type matches a
    name against the dtype's scalar type: numpy names, pandas names and names in pandas.core.dtypes.dtypes, which
    is how "Decimal" and "time" resolve. Types it cannot name get expect_column_type_to_be with the exact pandas
    dtype name when pandas can parse it back.
    """
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    kind = arrow_kind(arrow_type)
    type_name = _SIMPLE_TYPE_NAMES.get(kind, "")
    if kind == "int":
        type_name = arrow_type.to_pandas_dtype().__name__
    elif kind == "float":
        type_name = {16: "float16", 32: "float32"}.get(arrow_type.bit_width, "float64")
    elif kind == "timestamp" and arrow_type.tz is not None:
        type_name = "Timestamp"
    if type_name:
        return _expectation("expect_column_values_to_be_of_type", column=column, type_=type_name)
    dtype_name = f"{arrow_type}[pyarrow]"
    if not _pandas_can_parse(dtype_name):
        return None
    return _expectation("expect_column_type_to_be", column=column, type_=dtype_name)


_SIMPLE_TYPE_NAMES = {
    "bool": "bool",
    "string": "str",
    "timestamp": "datetime64",
    "date": "datetime64",
    "duration": "timedelta64",
    "binary": "bytes",
    "list": "list",
    "struct": "dict",
    "decimal": "Decimal",
    "time": "time",
}


def _pandas_can_parse(dtype_name: str) -> bool:
    from pandas.api.types import pandas_dtype

    try:
        pandas_dtype(dtype_name)
    except Exception:  # pandas raises TypeError or NotImplementedError for names it cannot build
        return False
    return True


# --- the default suite ------------------------------------------------------------------------------------------


def default_suite(table: pa.Table, name: str) -> dict[str, Any]:
    """A suite generated from a previous version's data, to gate the next version.

    Per column: expect_column_to_exist; a type check (see `type_expectation`); expect_column_values_to_not_be_null
    when the column was mostly non-null (under half null), with `mostly = 1 - (2 * null_share + 0.01)` so the
    null share may double plus one point before the gate fails (a never-null column tolerates 1%, a 40% null
    column fails only when nearly all of it is gone) - sparse columns get no null check, since their null share
    says little; and for numeric (int, float, decimal) and temporal (date,
    timestamp) columns expect_column_values_to_be_between on the observed range widened on both sides:
      - numbers by half the larger of the observed span and the largest magnitude: unit mistakes (cents vs euros,
        ms vs s), sign flips of large values and sentinels like 999999 land far outside, while ordinary growth of
        an id or an amount between consecutive versions stays inside (a fixed 10% of the span would fail an
        append-only id column after modest growth);
      - dates and timestamps by half the span but at least 366 days: data moves forward in time between versions,
        and the errors worth catching (1970-01-01, 1900, 9999-12-31, seconds read as milliseconds) are decades off.
      The range uses mostly=0.999 so a handful of genuine new extremes do not block a publish while a systematic
      shift does.
    Per table: expect_table_row_count_to_be_between(min_value=1), and expect_table_columns_to_match_set with
    exact_match=False: a removed or renamed column fails (as does its expect_column_to_exist), while an added
    column - a backward-compatible change the schema history already records - does not block the version;
    the result still lists the observed columns.
    """
    rows = table.num_rows
    expectations: list[dict[str, Any]] = [
        _expectation("expect_table_row_count_to_be_between", min_value=1),
        _expectation("expect_table_columns_to_match_set", column_set=list(table.column_names), exact_match=False),
    ]
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        expectations.append(_expectation("expect_column_to_exist", column=column_name))
        type_check = type_expectation(column_name, column.type)
        if type_check is not None:
            expectations.append(type_check)
        if rows:
            expectations.extend(_value_expectations(column_name, column, rows))
    meta = {"generated_by": "catalog.quality.default_suite", "rows": rows}
    return {"format": SUITE_FORMAT, "name": name, "expectations": expectations, "meta": meta}


def _value_expectations(name: str, column: pa.ChunkedArray, rows: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    null_share = _null_count(column) / rows
    mostly = math.floor((1 - (2 * null_share + 0.01)) * 10_000) / 10_000
    if null_share < NULL_SHARE_LIMIT and mostly > 0:
        found.append(_expectation("expect_column_values_to_not_be_null", column=name, mostly=mostly))
    bounds = _widened_range(column)
    if bounds is not None:
        low, high = bounds
        found.append(
            _expectation(
                "expect_column_values_to_be_between", column=name, min_value=low, max_value=high, mostly=RANGE_MOSTLY
            )
        )
    return found


def _null_count(column: pa.ChunkedArray) -> int:
    """Nulls as pandas counts them: a float NaN is missing there too."""
    count = column.null_count
    if arrow_kind(column.type) == "float":
        count += pc.sum(pc.is_nan(column)).as_py() or 0
    return count


def _widened_range(column: pa.ChunkedArray) -> tuple[Any, Any] | None:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    kind = arrow_kind(column.type)
    if kind not in ("int", "float", "decimal", "timestamp", "date") or column.null_count == len(column):
        return None
    if kind in ("timestamp", "date"):
        return _temporal_range(column)
    values = column.cast(pa.float64()) if kind == "decimal" else column
    extremes = pc.min_max(values)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    if low is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    margin = 0.5 * max(high - low, abs(low), abs(high))
    if kind == "int":
        margin = max(1, math.ceil(margin))
        return int(low) - margin, int(high) + margin
    margin = margin or 1.0
    return float(low - margin), float(high + margin)


def _temporal_range(column: pa.ChunkedArray) -> tuple[str, str]:
    """ISO bounds with a time part: GE's pydantic model reads a bare "2020-01-01" as a date, which compares unequal
    to every datetime64 value, so a date-only bound would fail every row."""
    tz = getattr(column.type, "tz", None)
    micros = pc.cast(column, pa.timestamp("us", tz=tz), safe=False)  # sub-microsecond digits cannot matter here
    extremes = pc.min_max(micros)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    margin = max((high - low) / 2, TEMPORAL_MIN_MARGIN)
    return _iso(_shift(low, -margin)), _iso(_shift(high, margin))


def _shift(value: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    try:
        return value + delta
    except OverflowError:
        edge = dt.datetime.min if delta < dt.timedelta(0) else dt.datetime.max
        return edge.replace(tzinfo=value.tzinfo)


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def _expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {}}
