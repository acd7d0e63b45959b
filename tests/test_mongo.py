"""The MongoDB connector against a real wire-protocol server (nx-27017, started once per session).

Every test writes to a database of its own and points its source at it (`mongodb://host:port/<db>`), so tests
never see each other's collections. Where nx-27017 lacks a feature (views, permissions), the server's answer is
replaced with what MongoDB would say, by patching the one PyMongo call concerned.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import NetworkTimeout, OperationFailure

from catalog.demo_documents import COUNTS, load_documents, serve_demo_documents
from catalog.settings import Settings
from connectors.base import ConnectorError, CrawlReport, DatasetKind, DatasetSnapshot
from connectors.mongo import MongoConnector
from tests.helpers import crawl, names, register, show
from tests.mongo_server import DocumentServer, MongoScratch, free_port, running_server, scratch_database


def snapshots(url: str, **options: str) -> tuple[dict[str, DatasetSnapshot], CrawlReport]:
    """Crawl at connector level: the `stats` are checked here, before the store (maybe) persists them."""
    report = CrawlReport("m")
    found = {s.path: s for s in MongoConnector("m", url, options).crawl(report) if isinstance(s, DatasetSnapshot)}
    return found, report


def columns(dataset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in dataset["columns"]}


FUTURE = datetime.datetime(2099, 1, 1)  # nx-27017 purges documents under a TTL index: keep them in the future


def seed_shop(db: Database[dict[str, Any]]) -> None:
    db.products.insert_many([
        {"_id": 1, "name": "Tent", "price": 100, "specs": {"weight": 2.5, "dims": {"h": 120}},
         "tags": ["outdoor", "camping"], "items": [{"sku": "T-1", "qty": 2}, {"sku": "T-2"}], "expires": FUTURE},
        {"_id": 2, "name": "Lamp", "price": 19.5, "specs": {"weight": 0.3, "dims": {"h": 20}}, "tags": [],
         "items": [{"sku": "L-1", "qty": 1}], "expires": FUTURE},
        {"_id": 3, "name": None, "price": "n/a", "specs": {"weight": 1, "dims": {"h": 5}}, "tags": ["home"],
         "expires": FUTURE},
        {"_id": 4, "name": "Mug", "price": 8, "specs": {"weight": 0.4, "dims": {"h": 10}}, "tags": ["home", 7],
         "expires": FUTURE},
    ])
    db.products.create_index([("name", ASCENDING), ("price", DESCENDING)], unique=True)
    db.products.create_index("expires", expireAfterSeconds=3600)
    db.customers.insert_one({"_id": "c1", "email": "a@example.com"})


def test_nested_fields_arrays_unions_and_indexes(settings: Settings, mongo: MongoScratch) -> None:
    seed_shop(mongo.db)
    register(settings, "m", mongo.url)
    result = crawl(settings, "m")
    assert result["status"] == "succeeded", result
    assert names(settings) == [f"m/{mongo.name}/customers", f"m/{mongo.name}/products"]
    products = show(settings, f"m/{mongo.name}/products")
    assert products["kind"] == "collection" and products["row_estimate"] == 4
    cols = columns(products)
    assert list(cols) == ["_id", "expires", "items", "items[]", "items[].qty", "items[].sku", "name", "price",
                          "specs", "specs.dims", "specs.dims.h", "specs.weight", "tags", "tags[]"]
    assert cols["_id"]["primary_key"] is True and cols["_id"]["type"] == "int"
    assert (cols["price"]["type"], cols["price"]["normalized_type"]) == ("double|int|string", "other")
    assert (cols["specs.weight"]["type"], cols["specs.weight"]["normalized_type"]) == ("double|int", "float")
    assert (cols["specs.dims.h"]["nested_path"], cols["items[].sku"]["nested_path"]) == ("specs.dims", "items[]")
    assert (cols["tags[]"]["type"], cols["tags[]"]["normalized_type"]) == ("int|string", "other")
    assert (cols["items"]["normalized_type"], cols["items[]"]["normalized_type"]) == ("array", "struct")
    assert (cols["expires"]["type"], cols["expires"]["normalized_type"]) == ("date", "timestamp")
    assert cols["name"]["nullable"] and cols["items"]["nullable"] and cols["items[].qty"]["nullable"]
    assert not cols["specs.dims.h"]["nullable"] and not cols["tags"]["nullable"] and not cols["_id"]["nullable"]
    indexes = {i["name"]: i for i in products["properties"]["indexes"]}
    assert indexes["_id_"]["keys"] == [["_id", 1]]
    (compound,) = [i for i in indexes.values() if [k for k, _ in i["keys"]] == ["name", "price"]]
    assert compound["unique"] is True and compound["sparse"] is False
    (ttl,) = [i for i in indexes.values() if i["keys"] == [["expires", 1]]]
    assert ttl["ttl_seconds"] == 3600 and ttl["unique"] is False


def test_type_shares_presence_and_sample_size_at_connector_level(mongo: MongoScratch) -> None:
    seed_shop(mongo.db)
    mongo.db.events.insert_many([{"_id": i, "kind": "click" if i % 4 else None, "n": i} for i in range(300)]
                                + [{"_id": 300 + i, "n": "x"} for i in range(100)])
    found, report = snapshots(mongo.url)
    assert report.warnings == []
    products = found[f"{mongo.name}/products"]
    assert products.stats == {"documents_sampled": 4, "sampling": "all"}
    cols = {c.name: c for c in products.columns}
    assert cols["price"].stats == {"presence": 1.0, "types": {"double": 0.25, "int": 0.5, "string": 0.25}}
    assert cols["items"].stats == {"presence": 0.5, "types": {"array": 1.0}}
    assert cols["items[].qty"].stats == {"presence": 0.5, "types": {"int": 1.0}}
    assert cols["tags[]"].stats == {"presence": 0.75, "types": {"int": 0.2, "string": 0.8}}
    assert cols["name"].stats == {"presence": 1.0, "types": {"null": 0.25, "string": 0.75}}
    events = {c.name: c for c in found[f"{mongo.name}/events"].columns}
    assert events["kind"].stats == {"presence": 0.75, "types": {"null": 0.25, "string": 0.75}}
    assert events["n"].stats == {"presence": 1.0, "types": {"int": 0.75, "string": 0.25}}

    sampled, report = snapshots(mongo.url, sample_size="50", include="events")
    (events_snapshot,) = sampled.values()
    assert events_snapshot.stats == {"documents_sampled": 50, "sampling": "sample"}
    assert events_snapshot.row_estimate == 400 and report.warnings == []


def test_unchanged_data_recrawls_as_unchanged(settings: Settings, mongo: MongoScratch) -> None:
    seed_shop(mongo.db)
    # Large enough to be sampled (not read in full), uniform enough that every sample sees the same schema.
    mongo.db.logs.insert_many([{"_id": i, "at": FUTURE, "msg": f"m{i}", "ctx": {"ip": "192.0.2.1"}}
                               for i in range(400)])
    register(settings, "m", mongo.url, sample_size="40")
    first = crawl(settings, "m")
    assert (first["status"], first["new"]) == ("succeeded", 3)
    second = crawl(settings, "m")
    assert (second["new"], second["changed"], second["unchanged"], second["deleted"]) == (0, 0, 3, 0)
    mongo.db.customers.insert_one({"_id": "c2", "email": "b@example.com", "vip": True})
    third = crawl(settings, "m")
    assert (third["changed"], third["unchanged"]) == (1, 2)
    customers = show(settings, f"m/{mongo.name}/customers")
    assert customers["schema_versions"][0]["diff"]["added"] == ["vip"]


def test_field_cap_warns_and_keeps_the_most_present_fields(settings: Settings, mongo: MongoScratch) -> None:
    mongo.db.wide.insert_many([{"_id": i, "always": 1, f"sometimes_{i % 40}": i} for i in range(80)])
    register(settings, "m", mongo.url, max_fields="5")
    result = crawl(settings, "m")
    assert result["status"] == "succeeded"
    assert result["warnings"] == [{"dataset": f"{mongo.name}/wide", "message": "42 fields found: only the 5 present "
                                   "in the most documents are listed (option max_fields)"}]
    assert list(columns(show(settings, f"m/{mongo.name}/wide"))) == [
        "_id", "always", "sometimes_0", "sometimes_1", "sometimes_10"]


def test_hostile_keys_give_unique_escaped_columns(settings: Settings, mongo: MongoScratch) -> None:
    mongo.db.hostile.insert_many([
        {"_id": 1, "a.b": 1, "a": {"b": 2, "c.d": {"e": 3}}, "": "empty", "x[]": 4, "x": [5, {"y.z": 6}],
         "back\\slash": 7, "$dollar": 8, 'q"uote\'s': 9, "<script>alert(1)</script>": "<b>", "Straße 日本": 10},
        {"_id": 2, "a.b": "one", "<script>alert(1)</script>": None},
    ])
    register(settings, "m", mongo.url)
    assert crawl(settings, "m")["status"] == "succeeded"
    cols = columns(show(settings, f"m/{mongo.name}/hostile"))
    assert {"a\\.b", "a", "a.b", "a.c\\.d", "a.c\\.d.e", "\\e", "x\\[\\]", "x", "x[]", "x[].y\\.z", "back\\\\slash",
            "$dollar", 'q"uote\'s', "<script>alert(1)</script>", "Straße 日本"} <= set(cols)
    assert cols["a\\.b"]["nested_path"] is None and cols["a\\.b"]["type"] == "int|string"
    assert cols["a.b"]["nested_path"] == "a" and cols["a.c\\.d.e"]["nested_path"] == "a.c\\.d"
    assert cols["<script>alert(1)</script>"]["nullable"] is True


def test_unreachable_server_fails_in_one_line_and_keeps_the_catalog(settings: Settings, tmp_path: Path) -> None:
    with running_server(tmp_path / "short-lived") as server:
        with MongoClient(server.url) as client:
            seed_shop(client.shop)
        register(settings, "gone", f"{server.url}shop", timeout_ms="300")
        assert crawl(settings, "gone")["status"] == "succeeded"
    started = time.monotonic()
    result = crawl(settings, "gone")
    assert time.monotonic() - started < 3
    assert result["status"] == "failed"
    error = result["error"]
    assert error.startswith("source 'gone': cannot reach MongoDB: 127.0.0.1:") and "\n" not in error
    assert error.endswith("(gave up after 300 ms)") and "Topology" not in error
    assert names(settings) == ["gone/shop/customers", "gone/shop/products"]
    assert len(columns(show(settings, "gone/shop/products"))) == 14

    connector = MongoConnector("x", f"mongodb://u:s3cr%40t@127.0.0.1:{free_port()}/", {"timeout_ms": "200"})
    with pytest.raises(ConnectorError, match=r"^source 'x': cannot reach MongoDB: .*Connection refused") as info:
        connector.test_connection()
    assert "s3cr" not in str(info.value)


@pytest.mark.parametrize(("url", "options", "message"), [
    ("mongodb://a:b:c@host/", {}, "cannot use the MongoDB URL: Username and password must be escaped"),
    ("mongodb://127.0.0.1:1/", {"sample_size": "lots"}, "option sample_size must be a positive whole number, "
                                                        "not 'lots'"),
    ("mongodb://127.0.0.1:1/", {"timeout_ms": "0"}, "option timeout_ms must be a positive whole number"),
])
def test_bad_urls_and_options_are_one_clear_line(url: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(ConnectorError, match=f"^source 'x': {message}"):
        list(MongoConnector("x", url, options).crawl(CrawlReport("x")))


def test_view_is_reported_by_what_the_server_supports(mongo: MongoScratch) -> None:
    """nx-27017 accepts `create` with `viewOn` but makes an ordinary collection; a MongoDB server makes a view.
    Either way the crawl must say what the server really has."""
    mongo.db.products.insert_many([{"_id": i, "price": i} for i in range(5)])
    mongo.db.command("create", "pricey", viewOn="products", pipeline=[{"$match": {"price": {"$gt": 2}}}])
    kind = {i["name"]: i.get("type") for i in mongo.db.list_collections()}["pricey"]
    found, report = snapshots(mongo.url)
    pricey = found[f"{mongo.name}/pricey"]
    if kind == "view":
        assert pricey.kind == DatasetKind.VIEW and pricey.properties["viewOn"] == "products"
        assert [c.name for c in pricey.columns] == ["_id", "price"] and pricey.stats["documents_sampled"] == 2
    else:
        assert pricey.kind == DatasetKind.COLLECTION and pricey.columns == () and report.warnings == []


def test_views_as_mongodb_lists_them(mongo: MongoScratch, monkeypatch: pytest.MonkeyPatch) -> None:
    """listCollections answers as MongoDB does for two views; `pricey` is served (nx-27017 has no views) by a
    collection of that name holding what the view would return, `broken` fails like a view whose pipeline
    the server cannot run."""
    mongo.db.products.insert_many([{"_id": i, "price": i, "name": f"p{i}"} for i in range(5)])
    mongo.db.pricey.insert_many([{"_id": i, "price": i} for i in range(3, 5)])
    views = [
        {"name": "pricey", "type": "view", "options": {"viewOn": "products", "pipeline": [
            {"$match": {"price": {"$gt": 2}, "at": {"$lt": datetime.datetime(2030, 1, 1)}}},
            {"$project": {"name": 0}}]}, "info": {"readOnly": True}},
        {"name": "broken", "type": "view", "options": {"viewOn": "products", "pipeline": [{"$bogus": {}}]}},
        {"name": "system.views", "type": "collection", "options": {}},
    ]
    real_list, real_aggregate = Database.list_collections, Collection.aggregate

    def list_collections(self: Database[Any], *args: Any, **kwargs: Any) -> Any:
        listed = [i for i in real_list(self, *args, **kwargs) if i["name"] != "pricey"]
        return iter(listed + views) if self.name == mongo.name else iter(listed)

    def aggregate(self: Collection[Any], pipeline: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == "broken":
            raise OperationFailure("Unrecognized pipeline stage name: '$bogus'", code=40324)
        return real_aggregate(self, pipeline, *args, **kwargs)

    monkeypatch.setattr(Database, "list_collections", list_collections)
    monkeypatch.setattr(Collection, "aggregate", aggregate)
    found, report = snapshots(mongo.url)
    assert sorted(found) == [f"{mongo.name}/broken", f"{mongo.name}/pricey", f"{mongo.name}/products"]
    pricey = found[f"{mongo.name}/pricey"]
    assert pricey.kind == DatasetKind.VIEW and pricey.row_estimate is None
    assert pricey.properties == {"viewOn": "products", "pipeline": [
        {"$match": {"price": {"$gt": 2}, "at": {"$lt": {"$date": "2030-01-01T00:00:00Z"}}}},
        {"$project": {"name": 0}}]}
    assert [c.name for c in pricey.columns] == ["_id", "price"]
    assert pricey.stats == {"documents_sampled": 2, "sampling": "sample"}
    broken = found[f"{mongo.name}/broken"]
    assert broken.kind == DatasetKind.VIEW and broken.columns == () and broken.properties["viewOn"] == "products"
    assert [(w.dataset, w.message) for w in report.warnings] == [(
        f"{mongo.name}/broken",
        "view could not be sampled, listed without columns: Unrecognized pipeline stage name: '$bogus'")]
    assert report.incomplete_scopes == set()


def test_server_without_sample_falls_back_to_a_bounded_find(mongo: MongoScratch,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    mongo.db.big.insert_many([{"_id": i, "v": i} for i in range(120)])
    mongo.db.other.insert_many([{"_id": i} for i in range(120)])

    def aggregate(self: Collection[Any], pipeline: Any, *args: Any, **kwargs: Any) -> Any:
        raise OperationFailure("Unrecognized pipeline stage name: '$sample'", code=40324)

    monkeypatch.setattr(Collection, "aggregate", aggregate)
    found, report = snapshots(mongo.url, sample_size="30")
    assert {path: s.stats for path, s in found.items()} == {
        f"{mongo.name}/big": {"documents_sampled": 30, "sampling": "first"},
        f"{mongo.name}/other": {"documents_sampled": 30, "sampling": "first"}}
    assert [w.dataset for w in report.warnings] == [f"{mongo.name}/big", f"{mongo.name}/other"]
    assert report.warnings[0].message == ("the server cannot $sample (Unrecognized pipeline stage name: '$sample'):"
                                          " read the first 30 documents")


def test_unlistable_database_and_failing_collection_do_not_stop_the_crawl(
        settings: Settings, mongo_server: DocumentServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with scratch_database(mongo_server, "open") as open_db, scratch_database(mongo_server, "locked") as locked:
        open_db.db.good.insert_one({"_id": 1, "a": 1})
        open_db.db.bad.insert_one({"_id": 1})
        locked.db.secret.insert_one({"_id": 1, "ssn": "078-05-1120"})
        register(settings, "m", mongo_server.url, databases=f"{open_db.name},{locked.name}")
        assert crawl(settings, "m")["new"] == 3

        real_list, real_find = Database.list_collections, Collection.find

        def list_collections(self: Database[Any], *args: Any, **kwargs: Any) -> Any:
            if self.name == locked.name:
                raise OperationFailure(f"not authorized on {locked.name} to execute command", code=13)
            return real_list(self, *args, **kwargs)

        def find(self: Collection[Any], *args: Any, **kwargs: Any) -> Any:
            if self.name == "bad":
                raise OperationFailure("Executor error during find command", code=96)
            return real_find(self, *args, **kwargs)

        monkeypatch.setattr(Database, "list_collections", list_collections)
        monkeypatch.setattr(Collection, "find", find)
        open_db.db.good.insert_one({"_id": 2, "a": 2, "b": 3})
        result = crawl(settings, "m")
        assert result["status"] == "partial"
        assert result["warnings"] == [  # databases in name order: locked_* before open_*
            {"dataset": locked.name, "message": f"database could not be listed: not authorized on {locked.name} "
             "to execute command"},
            {"dataset": f"{open_db.name}/bad", "message": "collection could not be read: "
             "Executor error during find command"},
        ]
        # The readable collection is updated; nothing under the unreadable scopes is taken for deleted.
        assert (result["changed"], result["unchanged"], result["deleted"]) == (1, 0, 0)
        assert sorted(names(settings)) == sorted([f"m/{open_db.name}/bad", f"m/{open_db.name}/good",
                                                  f"m/{locked.name}/secret"])
        assert "b" in columns(show(settings, f"m/{open_db.name}/good"))


def test_a_network_error_on_one_collection_while_the_server_answers(mongo: MongoScratch,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    mongo.db.flaky.insert_one({"_id": 1})
    mongo.db.fine.insert_one({"_id": 1})
    real_find = Collection.find

    def find(self: Collection[Any], *args: Any, **kwargs: Any) -> Any:
        if self.name == "flaky":
            raise NetworkTimeout("127.0.0.1:27017: timed out")
        return real_find(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "find", find)
    found, report = snapshots(mongo.url)
    assert list(found) == [f"{mongo.name}/fine"]
    assert report.incomplete_scopes == {f"{mongo.name}/flaky"}
    assert report.warnings[0].message == "collection could not be read: 127.0.0.1:27017: timed out"


def test_database_and_collection_filters(settings: Settings, mongo_server: DocumentServer) -> None:
    with scratch_database(mongo_server, "fa") as first, scratch_database(mongo_server, "fb") as second:
        for scratch in (first, second):
            scratch.db.orders.insert_one({"_id": 1})
            scratch.db.order_items.insert_one({"_id": 1})
            scratch.db.tmp_x.insert_one({"_id": 1})
        register(settings, "all", mongo_server.url, databases="fa_*,fb_*", exclude_databases=second.name,
                 exclude="tmp_*")
        crawl(settings, "all")
        assert names(settings, source="all") == [f"all/{first.name}/order_items", f"all/{first.name}/orders"]
        register(settings, "one", f"{mongo_server.url}{second.name}", include=f"{second.name}/orders,tmp_*")
        crawl(settings, "one")
        assert names(settings, source="one") == [f"one/{second.name}/orders", f"one/{second.name}/tmp_x"]
        # Without a database in the URL every database is crawled, except admin/local/config; `/admin` in the
        # URL is taken for the authentication database, not as a limit.
        for url in (mongo_server.url, f"{mongo_server.url}admin"):
            found, _ = snapshots(url, exclude="tmp_*")
            databases = {path.split("/")[0] for path in found}
            assert databases >= {first.name, second.name} and not databases & {"admin", "local", "config"}


def test_demo_documents_build_and_crawl(settings: Settings, tmp_path: Path) -> None:
    with serve_demo_documents(tmp_path / "docs") as server:
        assert load_documents(server.url, tmp_path / "docs") is False  # already loaded: the marker says so
        register(settings, "docs", server.url)
        result = crawl(settings, "docs")
        assert result["status"] == "succeeded" and result["warnings"] == []
        assert names(settings) == ["docs/shop/products", "docs/shop/reviews", "docs/shop/sessions"]
        reviews = show(settings, "docs/shop/reviews")
        assert reviews["row_estimate"] == COUNTS["reviews"]
        cols = columns(reviews)
        assert cols["reviewer.email"]["type"] == "null|string" and cols["reviewer.email"]["nullable"]
        products = columns(show(settings, "docs/shop/products"))
        assert products["specs.ip\\.rating"]["nested_path"] == "specs"
        assert products["price"]["normalized_type"] == "float" and products["variants[].sku"]["nullable"]
        sessions = columns(show(settings, "docs/shop/sessions"))
        assert {"browser", "ip", "c_ref", "pages[].ts", "utm.source"} <= set(sessions)
    # Restarting on the same folder keeps the data, skips the load and crawls as unchanged.
    with serve_demo_documents(tmp_path / "docs", port=server.port) as again:
        assert again.url == server.url
        assert crawl(settings, "docs")["unchanged"] == 3
