"""Row sampling of MongoDB collections against a real wire-protocol server (nx-27017, see `tests.mongo_server`).

Targets are built from the connector's own crawl, so the column names are the inferred document paths.
"""

from __future__ import annotations

import datetime

import pytest
from bson import Binary, Int64, ObjectId

from connectors.base import ConnectorError, CrawlReport, DatasetKind, DatasetSnapshot, SampleTarget
from connectors.mongo import MongoConnector
from connectors.mongo.flatten import Flattener, document_parents, parent_of
from tests.mongo_server import MongoScratch


def targets(url: str) -> dict[str, SampleTarget]:
    report = CrawlReport("m")
    return {
        s.path: SampleTarget(s.path, s.kind, tuple(c.name for c in s.columns), s.row_estimate, s.properties)
        for s in MongoConnector("m", url).crawl(report) if isinstance(s, DatasetSnapshot)
    }


def test_nested_paths_arrays_and_missing_fields(mongo: MongoScratch) -> None:
    first, second = ObjectId(), ObjectId()
    at = datetime.datetime(2024, 5, 1, 12, 30)
    mongo.db.products.insert_many([
        {"_id": first, "name": "lamp", "specs": {"dims": {"h": 30, "w": 12}}, "tags": ["home", "light"],
         "items": [{"sku": "L-1", "qty": 2}, {"sku": "L-2"}], "added": at, "raw": Binary(b"\x00\x01"),
         "big": Int64(2**40), "a.b": "dotted key", "notes": "n" * 5000},
        {"_id": second, "name": "chair", "tags": [], "items": [{"qty": 1}]},
    ])
    found = targets(mongo.url)
    target = found[f"{mongo.name}/products"]
    assert {"specs.dims.h", "tags[]", "items[].sku", "a\\.b"} <= set(target.columns)
    sample = MongoConnector("m", mongo.url).sample(target, 10_000)
    assert (sample.rows, sample.method, sample.population) == (2, "whole collection (2 documents)", 2)
    values = sample.values
    order = [values["_id"].index(str(first)), values["_id"].index(str(second))]
    assert [values["name"][i] for i in order] == ["lamp", "chair"]
    assert [values["specs.dims.h"][i] for i in order] == [30, None], "missing in a document -> None"
    assert [values["a\\.b"][i] for i in order] == ["dotted key", None]
    assert values["added"][order[0]] == at and values["raw"][order[0]] == b"\x00\x01"
    assert type(values["big"][order[0]]) is int and values["big"][order[0]] == 2**40
    assert sorted(values["tags[]"]) == ["home", "light"], "one value per array element"
    assert sorted(values["items[].sku"], key=str) == ["L-1", "L-2", None]
    assert sorted(values["items[].qty"], key=str) == [1, 2, None]
    assert values["specs"] == values["specs.dims"] == values["tags"] == values["items"] == []
    assert len(values["notes"][order[0]]) == 4096 and any("cut" in w for w in sample.warnings)


def test_limit_is_respected_with_sample(mongo: MongoScratch) -> None:
    mongo.db.events.insert_many([{"n": i, "kind": "a" if i % 2 else "b", "tags": ["x", "y", "z"][: i % 4]}
                                 for i in range(600)])
    target = targets(mongo.url)[f"{mongo.name}/events"]
    sample = MongoConnector("m", mongo.url).sample(target, 50)
    assert (sample.rows, sample.method, sample.population) == (50, "$sample of 50", 600)
    assert len(sample.values["n"]) == len(sample.values["kind"]) == 50
    assert len(set(sample.values["n"])) == 50
    assert len(sample.values["tags[]"]) == sum(n % 4 for n in sample.values["n"])
    assert max(sample.values["n"]) > 100, "not just the first documents"


def test_vanished_collection_and_unreachable_server(mongo: MongoScratch) -> None:
    mongo.db.doomed.insert_one({"a": 1})
    target = targets(mongo.url)[f"{mongo.name}/doomed"]
    mongo.db.doomed.drop()
    with pytest.raises(ConnectorError, match=f"'{mongo.name}/doomed' no longer exists"):
        MongoConnector("m", mongo.url).sample(target, 10)
    unreachable = MongoConnector("m", "mongodb://u:s3cret-pw@127.0.0.1:1/db", {"timeout_ms": "300"})
    with pytest.raises(ConnectorError) as caught:
        unreachable.sample(SampleTarget("db/c", DatasetKind.COLLECTION, ("a",)), 10)
    assert "s3cret-pw" not in str(caught.value)


def test_flattener_follows_the_inferred_paths() -> None:
    """Pure: the inverse of `connectors.mongo.infer`'s path rules, escapes and arrays of arrays included."""
    assert [parent_of(p) for p in ("items[].sku", "tags[]", "a\\.b", "x.a\\.b", "m[][]")] == \
        ["items[]", "tags", None, "x", "m[]"]
    columns = ["_id", "specs", "specs.h", "matrix", "matrix[]", "matrix[][]", "items", "items[].sku", "a\\.b"]
    flattener = Flattener(columns, document_parents(columns))
    flattener.add({"_id": 1, "specs": {"h": 3}, "matrix": [[1, 2], [3]], "items": [{"sku": "s"}, "junk"],
                   "a.b": "dotted"})
    flattener.add({"_id": 2, "specs": "not a document", "matrix": "not an array"})
    assert flattener.values == {
        "_id": [1, 2], "specs": [], "specs.h": [3, None], "matrix": [], "matrix[]": [], "matrix[][]": [1, 2, 3],
        "items": [], "items[].sku": ["s", None], "a\\.b": ["dotted", None],
    }
