"""Schema inference, type mapping and properties of the MongoDB connector, without a server."""

from __future__ import annotations

import datetime
import random
import re
import uuid
from typing import Any

import pytest
from bson import Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.binary import Binary
from bson.datetime_ms import DatetimeMS

from connectors.base import ColumnSnapshot
from connectors.mongo.infer import ARRAY_ELEMENTS_SAMPLED, MAX_NAME_LENGTH, escape_key, infer_schema
from connectors.mongo.properties import collection_properties, describe_indexes, json_safe
from connectors.mongo.types import bson_type, native_type, normalized_type
from connectors.sql.types import NORMALIZED_TYPES


def by_name(columns: tuple[ColumnSnapshot, ...]) -> dict[str, ColumnSnapshot]:
    return {c.name: c for c in columns}


def test_nested_documents_and_arrays_become_paths() -> None:
    docs = [
        {"_id": 1, "name": "a", "specs": {"dims": {"h": 2}}, "tags": ["x", "y"],
         "items": [{"sku": "s1", "qty": 1}, {"sku": "s2"}], "grid": [[1, 2], [3]]},
        {"_id": 2, "name": "b", "specs": {"dims": {"h": 3.5}}, "tags": [], "items": [{"sku": "s3", "qty": 2}]},
    ]
    inference = infer_schema(docs)
    assert [c.name for c in inference.columns] == [
        "_id", "grid", "grid[]", "grid[][]", "items", "items[]", "items[].qty", "items[].sku", "name", "specs",
        "specs.dims", "specs.dims.h", "tags", "tags[]"]
    assert [c.ordinal for c in inference.columns] == list(range(1, 15))
    cols = by_name(inference.columns)
    assert cols["_id"].is_primary_key and not cols["_id"].nullable and cols["_id"].nested_path is None
    assert not any(c.is_primary_key for c in inference.columns if c.name != "_id")
    assert (cols["items[].sku"].nested_path, cols["items[]"].nested_path, cols["specs.dims.h"].nested_path) == (
        "items[]", "items", "specs.dims")
    assert (cols["tags"].native_type, cols["tags"].normalized_type) == ("array", "array")
    assert (cols["tags[]"].native_type, cols["tags[]"].normalized_type) == ("string", "string")
    assert (cols["items[]"].native_type, cols["items[]"].normalized_type) == ("object", "struct")
    assert (cols["grid[]"].normalized_type, cols["grid[][]"].native_type) == ("array", "int")
    assert (cols["specs.dims.h"].native_type, cols["specs.dims.h"].normalized_type) == ("double|int", "float")
    # Missing from some documents, from some array elements, or no element at all: nullable.
    assert cols["grid"].nullable and cols["items[].qty"].nullable and cols["tags[]"].nullable
    assert not cols["items[].sku"].nullable and not cols["specs.dims.h"].nullable and not cols["tags"].nullable
    assert inference.documents == 2 and not inference.capped


def test_union_types_shares_and_presence() -> None:
    docs = [{"v": 1}] * 6 + [{"v": "x"}] * 2 + [{"v": None}] + [{"other": True}]
    inference = infer_schema(docs)
    v = by_name(inference.columns)["v"]
    assert v.native_type == "int|null|string" and v.normalized_type == "other" and v.nullable
    assert v.stats == {"presence": 0.9, "types": {"int": 0.6667, "null": 0.1111, "string": 0.2222}}
    assert by_name(inference.columns)["other"].stats == {"presence": 0.1, "types": {"bool": 1.0}}
    # Array elements each count towards the type shares; presence counts documents.
    tags = by_name(infer_schema([{"t": ["a", "b", 3]}, {"t": []}]).columns)["t[]"]
    assert tags.stats == {"presence": 0.5, "types": {"int": 0.3333, "string": 0.6667}}


def test_null_only_and_nullable_rules() -> None:
    cols = by_name(infer_schema([{"a": None, "b": 1, "s": {"x": 1}}, {"a": None, "b": 2, "s": {"y": 1}}]).columns)
    assert (cols["a"].native_type, cols["a"].normalized_type, cols["a"].nullable) == ("null", "other", True)
    assert not cols["b"].nullable and not cols["s"].nullable
    assert cols["s.x"].nullable and cols["s.y"].nullable  # missing from a subdocument that exists
    assert cols["s.x"].stats["presence"] == 0.5


def test_column_order_does_not_depend_on_sample_order() -> None:
    rng = random.Random(7)
    docs: list[dict[str, Any]] = [
        {"_id": i, "z": i, "a": {"k": [1, {"m": i}] if i % 3 else "s"}, f"rare{i % 5}": i, "b-c": 1, "b": {"c": 1}}
        for i in range(50)
    ]
    first = infer_schema(docs)
    for _ in range(5):
        rng.shuffle(docs)
        again = infer_schema(docs)
        assert [c.schema_values() for c in again.columns] == [c.schema_values() for c in first.columns]
    names = [c.name for c in first.columns]
    assert names[0] == "_id"
    # Depth first: a parent's children follow it directly, even when a sibling name sorts in between
    # (plain sorting would give b, b-c, b.c).
    assert names.index("b.c") == names.index("b") + 1 and names.index("b-c") == names.index("b.c") + 1


def test_literal_dots_and_structure_characters_are_escaped() -> None:
    assert escape_key("a.b") == "a\\.b" and escape_key("x[]") == "x\\[\\]" and escape_key("c\\d") == "c\\\\d"
    assert escape_key("") == "\\e" and escape_key("$in") == "$in" and escape_key("Straße") == "Straße"
    docs = [{
        "a.b": 1, "a": {"b": 2}, "": 3, "x[]": 4, "x": [5], "back\\slash": 6, "back": {"slash": 7},
        "$dollar": 8, "q\"uote'": 9, "<script>alert(1)</script>": 10, "ünï 日本": 11,
        "nested": {"$in": 1, "q.r": {"s": 1}}, "arr": [{"a.b": 1}], "\\e": 12,
    }]
    cols = by_name(infer_schema(docs).columns)
    assert len(cols) == len(infer_schema(docs).columns)  # unique names
    assert {"a\\.b", "a", "a.b", "\\e", "x\\[\\]", "x", "x[]", "back\\\\slash", "back.slash", "$dollar",
            "q\"uote'", "<script>alert(1)</script>", "ünï 日本", "nested.$in", "nested.q\\.r", "nested.q\\.r.s",
            "arr[].a\\.b", "\\\\e"} <= set(cols)
    assert cols["a\\.b"].nested_path is None and cols["a.b"].nested_path == "a"
    assert cols["nested.q\\.r.s"].nested_path == "nested.q\\.r"


def test_field_cap_keeps_the_most_present_fields_and_their_parents() -> None:
    docs = [{"_id": i, "common": {"x": 1, "y": 2}, f"k{i:02d}": i} for i in range(30)]
    inference = infer_schema(docs, max_fields=5)
    assert [c.name for c in inference.columns] == ["_id", "common", "common.x", "common.y", "k00"]
    assert inference.capped and inference.paths_found == 34
    assert [c.ordinal for c in inference.columns] == [1, 2, 3, 4, 5]
    # Parents are never dropped for their children: a cap of 2 keeps `_id` and `common`, not `common.x`.
    assert [c.name for c in infer_schema(docs, max_fields=2).columns] == ["_id", "common"]


def test_tracking_limit_and_long_names_are_bounded() -> None:
    docs = [{f"key{i}": 1 for i in range(500)}]
    inference = infer_schema(docs, max_fields=10, track_limit=50)
    assert inference.tracking_limited and inference.capped and len(inference.columns) == 10
    long_key = "k" * (MAX_NAME_LENGTH + 1)
    inference = infer_schema([{"ok": 1, long_key: {"child": 1}, "p": {"k" * (MAX_NAME_LENGTH - 1): 1}}])
    assert [c.name for c in inference.columns] == ["ok", "p"] and inference.too_long == 2


def test_only_the_first_elements_of_long_arrays_are_read() -> None:
    values = [1] * ARRAY_ELEMENTS_SAMPLED + ["late string"]
    column = by_name(infer_schema([{"big": values}]).columns)["big[]"]
    assert column.native_type == "int"


def test_empty_input_and_deep_nesting() -> None:
    assert infer_schema([]).columns == () and infer_schema([{}]).documents == 1
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(400):
        deep = {"n": deep}
    columns = infer_schema([deep]).columns  # no recursion: deeper than the Python stack would allow per frame
    assert columns[-1].name.endswith(".leaf") and len(columns) == 401


@pytest.mark.parametrize(("value", "expected"), [
    (None, "null"), (True, "bool"), (1, "int"), (2**40, "long"), (Int64(5), "long"), (1.5, "double"),
    ("s", "string"), (Code("x"), "javascript"), (ObjectId(), "objectId"), (datetime.datetime(2024, 1, 1), "date"),
    (DatetimeMS(2**62), "date"), (b"x", "binData"), (Binary(b"x", 5), "binData"), (uuid.uuid4(), "binData"),
    (Decimal128("1.5"), "decimal"), (Timestamp(1, 1), "timestamp"), (Regex("a"), "regex"),
    (re.compile("a"), "regex"), (MinKey(), "minKey"), (MaxKey(), "maxKey"), ({"a": 1}, "object"), ([1], "array"),
    (DBRef("c", 1), "object"),
])
def test_bson_type_names(value: Any, expected: str) -> None:
    assert bson_type(value) == expected


def test_normalized_types() -> None:
    cases = {
        ("int",): "integer", ("int", "long"): "integer", ("double", "int"): "float", ("decimal", "int"): "decimal",
        ("objectId",): "string", ("string", "objectId"): "string", ("date",): "timestamp",
        ("date", "timestamp"): "timestamp", ("bool",): "boolean", ("binData",): "binary", ("object",): "struct",
        ("array",): "array", ("array", "null"): "array", ("null",): "other", ("int", "string"): "other",
        ("minKey",): "other", ("object", "string"): "other", ("regex",): "string",
    }
    for types, expected in cases.items():
        assert normalized_type(types) == expected, types
        assert expected in NORMALIZED_TYPES
    assert native_type(["string", "int", "string"]) == "int|string"


def test_dbref_and_odd_values_are_walked() -> None:
    cols = by_name(infer_schema([{"ref": DBRef("users", ObjectId(), "db"), "when": DatetimeMS(-(2**62))}]).columns)
    assert {"ref.$ref", "ref.$id", "ref.$db"} <= set(cols) and cols["when"].normalized_type == "timestamp"


def test_indexes_are_described_in_a_stable_shape() -> None:
    specs = [
        {"v": 2, "key": {"when": 1}, "name": "when_ttl", "expireAfterSeconds": 3600},
        {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        {"v": 2, "key": {"name": 1.0, "price": -1}, "name": "name_price", "unique": True, "sparse": True},
        {"v": 2, "key": {"loc": "2dsphere", "body": "text"}, "name": "geo", "partialFilterExpression": {
            "at": {"$gt": datetime.datetime(2024, 1, 1)}}, "hidden": True},
    ]
    assert describe_indexes(specs) == [
        {"name": "_id_", "keys": [["_id", 1]], "unique": False, "sparse": False},
        {"name": "geo", "keys": [["loc", "2dsphere"], ["body", "text"]], "unique": False, "sparse": False,
         "partial_filter": {"at": {"$gt": {"$date": "2024-01-01T00:00:00Z"}}}, "hidden": True},
        {"name": "name_price", "keys": [["name", 1], ["price", -1]], "unique": True, "sparse": True},
        {"name": "when_ttl", "keys": [["when", 1]], "unique": False, "sparse": False, "ttl_seconds": 3600},
    ]


def test_view_capped_and_timeseries_properties() -> None:
    view = {"name": "v", "type": "view", "options": {
        "viewOn": "orders", "pipeline": [{"$match": {"_id": ObjectId("0" * 24), "at": {"$lt": datetime.datetime(
            2024, 1, 1)}}}]}}
    assert collection_properties(view) == {"viewOn": "orders", "pipeline": [
        {"$match": {"_id": {"$oid": "0" * 24}, "at": {"$lt": {"$date": "2024-01-01T00:00:00Z"}}}}]}
    capped = {"name": "log", "type": "collection", "options": {"capped": True, "size": 4096, "max": 10}}
    assert collection_properties(capped) == {"capped": True, "max_bytes": 4096, "max_documents": 10}
    series = {"name": "m", "type": "timeseries", "options": {"timeseries": {"timeField": "t"}}}
    assert collection_properties(series) == {"timeseries": {"timeField": "t"}}
    assert collection_properties({"name": "plain", "type": "collection", "options": {}}) == {}
    assert json_safe({"d": Decimal128("1.5"), "r": Regex("^a", "i")}) == {
        "d": {"$numberDecimal": "1.5"}, "r": {"$regularExpression": {"pattern": "^a", "options": "i"}}}
