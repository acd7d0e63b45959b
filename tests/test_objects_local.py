"""The object-store connector on local folders (`file://` URLs and plain paths), through the catalog where the
behaviour is user-visible and at connector level where the detail is in the snapshots' stats.

When the tests run as root (they do in this project's container), chmod does not stop reads: "permission denied"
is then simulated by making the operating-system call fail for that one path (see `denied`), which goes through
the store's own error handling.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import itertools
import json
import os
import shutil
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from catalog.settings import Settings
from connectors.base import ConnectorError, CrawlReport, DatasetSnapshot
from connectors.objects import ObjectStoreConnector, stores
from connectors.objects import connector as connector_module
from connectors.objects.sampling import CHUNK
from connectors.objects.stores import LocalStore, ObjectInfo
from tests.helpers import crawl, names, register, show
from tests.objects_data import (
    EVENTS,
    LAKE_DATASETS,
    arrow_bytes,
    columns,
    csv_text,
    image_bytes,
    jsonl_text,
    orders_table,
    parquet_bytes,
    sample_lake,
    warnings_of,
    write_tree,
)


def snapshots(url: str, **options: str) -> tuple[dict[str, DatasetSnapshot], CrawlReport]:
    report = CrawlReport("o")
    found = {s.path: s for s in ObjectStoreConnector("o", url, options).crawl(report)
             if isinstance(s, DatasetSnapshot)}
    return found, report


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "lake", sample_lake())


@contextlib.contextmanager
def denied(monkeypatch: pytest.MonkeyPatch, path: Path) -> Iterator[None]:
    """Make `path` unreadable (a file) or unlistable (a folder). chmod does not stop root, so as root the
    operating-system call the store makes for that one path (`open` or `os.scandir`) raises EACCES instead."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    with monkeypatch.context() as patch:
        if path.is_dir():
            real_scandir = os.scandir

            def scandir(target: Any = ".") -> Any:
                if Path(target) == path:
                    raise PermissionError(errno.EACCES, "Permission denied", str(target))
                return real_scandir(target)

            patch.setattr(os, "scandir", scandir)
        else:
            def fake_open(target: Any, *args: Any, **kwargs: Any) -> Any:
                if Path(target) == path:
                    raise PermissionError(errno.EACCES, "Permission denied", str(target))
                return open(target, *args, **kwargs)

            patch.setattr(stores, "open", fake_open, raising=False)  # the store's module-level `open`
        yield


# -- the sample lake through the catalog -------------------------------------------------------------------------

def test_sample_lake_datasets_columns_and_stats(settings: Settings, lake: Path) -> None:
    register(settings, "lake", lake.as_uri())
    result = crawl(settings, "lake")
    assert (result["status"], result["warnings"], result["new"]) == ("succeeded", [], len(LAKE_DATASETS))
    assert names(settings) == [f"lake/{name}" for name in LAKE_DATASETS]

    # Hive partitions are columns of one dataset; `_SUCCESS`, `.crc` files and `_temporary/` are ignored.
    orders = show(settings, "lake/sales/orders")
    assert orders["kind"] == "file_set" and orders["row_estimate"] == 65
    cols = columns(orders)
    assert list(cols) == ["order_id", "amount", "status", "customer", "customer.id", "customer.address",
                          "customer.address.city", "year", "month"]
    assert (cols["year"]["type"], cols["year"]["nullable"]) == ("int64", False)
    assert cols["month"]["type"] == "string"  # `01`, `02`: leading zeros, so kept as written
    assert cols["customer.address.city"]["nested_path"] == "customer.address"
    assert orders["properties"] == {"format": "parquet", "partitioning": {"style": "hive", "keys": ["year", "month"]},
                                    "location": {"folder": "sales/orders", "partitioned": True}}
    stats = orders["stats"]
    assert (stats["files"], stats["partitions"], stats["partition_values"]) == (4, 3, {"year": 1, "month": 3})
    assert stats["rows_exact"] is True and stats["formats"] == {"parquet": 4}

    # One dataset per file in `crm/`, named without the extension; a folder of parts is one dataset.
    customers = columns(show(settings, "lake/crm/customers"))
    assert {n: c["type"] for n, c in customers.items()} == {
        "customer_id": "int64", "name": "string", "zip": "string", "signed_up": "date32[day]"}
    daily = show(settings, "lake/exports/daily")
    assert (daily["row_estimate"], daily["stats"]["files"]) == (15, 3)

    # Dialects: semicolons and tabs.
    assert show(settings, "lake/dialects/eu")["properties"]["csv"] == {
        "encoding": "utf-8", "delimiter": ";", "header": True}
    assert [c["type"] for c in show(settings, "lake/dialects/eu")["columns"]] == ["int64", "double", "string"]
    assert show(settings, "lake/dialects/tabs")["properties"] == {
        "format": "tsv", "csv": {"encoding": "utf-8", "delimiter": "\t", "header": True},
        "location": {"folder": "dialects", "format": "csv", "file": "tabs.tsv"}}

    # JSON document, JSON lines, multi-member gzip JSON lines: the same nested schema, as dotted paths.
    expected = ["event_id", "kind", "tags", "tags[]", "user", "user.geo", "user.geo.country", "user.id"]
    for path in ("events/doc/events", "events/lines/events", "events/gz/events", "events/zjsonl/events"):
        dataset = show(settings, f"lake/{path}")
        assert list(columns(dataset)) == expected and dataset["row_estimate"] == len(EVENTS), path
    assert show(settings, "lake/events/gz/events")["stats"]["formats"] == {"jsonl+gzip": 1}
    assert show(settings, "lake/events/zjsonl/events")["properties"]["format"] == "jsonl+zstd"
    assert show(settings, "lake/events/zst/events")["row_estimate"] == 50
    assert show(settings, "lake/events/csvgz/events")["properties"]["format"] == "csv+gzip"

    metrics = show(settings, "lake/metrics/metrics")
    assert metrics["properties"]["format"] == "arrow" and metrics["row_estimate"] == 3
    assert [(c["name"], c["normalized_type"]) for c in metrics["columns"]] == [("ts", "integer"), ("value", "float")]


def test_binary_folders_are_file_collections(settings: Settings, lake: Path) -> None:
    register(settings, "lake", str(lake))  # a plain folder path
    crawl(settings, "lake")
    images = show(settings, "lake/images")
    assert images["columns"] == [] and images["row_estimate"] == 5
    assert images["properties"] == {"content": "image", "formats": ["jpg", "png"]}
    stats = images["stats"]
    assert (stats["files"], stats["formats"], stats["subfolders"]) == (5, {"jpg": 2, "png": 3},
                                                                       {"cats": 3, "dogs": 2})
    assert stats["bytes"] == sum(p.stat().st_size for p in (lake / "images").rglob("*.*"))
    assert stats["images"] == {"sampled": 5, "unreadable": 0, "width": {"min": 32, "median": 48, "max": 64},
                               "height": {"min": 24, "median": 24, "max": 48}, "formats": {"JPEG": 2, "PNG": 3}}
    audio = show(settings, "lake/audio")
    assert audio["properties"]["content"] == "audio" and audio["stats"]["files"] == 2

    # A source that is itself an image folder with class subfolders: one collection, named after the folder.
    register(settings, "pets", str(lake / "images"))
    assert crawl(settings, "pets")["new"] == 1
    pets = show(settings, "pets/images")
    assert pets["stats"]["subfolders"] == {"cats": 3, "dogs": 2} and pets["row_estimate"] == 5


def test_plain_relative_path_becomes_a_file_url(settings: Settings, lake: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(lake.parent)
    register(settings, "rel", "lake/crm")
    result = crawl(settings, "rel")
    assert result["status"] == "succeeded"
    assert names(settings) == ["rel/customers", "rel/orders"]


def test_binaries_next_to_tables_and_files_in_the_root(tmp_path: Path) -> None:
    write_tree(tmp_path / "train", {
        "labels.csv": csv_text(["file", "label"], [("a.png", "cat")]).encode(),
        "images/cats/a.png": image_bytes(8, 8), "images/dogs/b.png": image_bytes(8, 8),
        "README.md": b"# notes", "partners/partners.csv": b"id,name\n1,Acme\n",
        "data/data.parquet": parquet_bytes(orders_table(2)),
    })
    found, report = snapshots((tmp_path / "train").as_uri())
    assert report.warnings == []
    assert sorted(found) == ["data", "images", "labels", "partners/partners", "train"]
    assert found["images"].stats["subfolders"] == {"cats": 1, "dogs": 1}
    assert found["train"].stats["formats"] == {"md": 1}  # loose files in the root: named after the root folder


# -- reading as little as possible ------------------------------------------------------------------------------

@pytest.fixture
def read_meter(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """What local reads cost, by key: [reads, bytes]."""
    meter: dict[str, list[int]] = {}
    real = LocalStore.read_range

    def read_range(self: LocalStore, key: str, start: int, length: int) -> bytes:
        data = real(self, key, start, length)
        cost = meter.setdefault(key, [0, 0])
        cost[0] += 1
        cost[1] += len(data)
        return data

    monkeypatch.setattr(LocalStore, "read_range", read_range)
    return meter


def test_parquet_schema_and_rows_come_from_the_footer(tmp_path: Path, read_meter: dict[str, list[int]]) -> None:
    rows = 700_000
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "score": pa.array(range(rows), pa.float64())})
    data = bytearray(parquet_bytes(table, compression="none", row_group_size=100_000))
    assert len(data) > 5_000_000
    data[1000:len(data) // 2] = b"\xff" * (len(data) // 2 - 1000)  # ruin the column data, keep the footer
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "huge.parquet").write_bytes(bytes(data))
    found, report = snapshots(tmp_path.as_uri())
    assert report.warnings == []
    big = found["big/huge"]
    assert big.row_estimate == rows and big.stats["rows_exact"] is True
    assert [(c.name, c.native_type) for c in big.columns] == [("id", "int64"), ("score", "double")]
    reads, cost = read_meter["big/huge.parquet"]
    assert reads == 1 and cost < 100_000  # one suffix read of a 5 MB file


def test_large_csv_is_sampled_and_its_rows_estimated(tmp_path: Path, read_meter: dict[str, list[int]]) -> None:
    body: list[tuple[Any, ...]] = [(f"{i:05d}", 1000 + i % 9000, f"name {i:05d}") for i in range(60_000)]
    body[45_000] = ("x", "not a number", "late surprise")  # far past the sample: it cannot change the types
    text = csv_text(["code", "n", "label"], body).encode()
    compressed = gzip.compress(text, compresslevel=1)
    assert len(compressed) > CHUNK
    write_tree(tmp_path, {"big/big.csv": text, "gz/big.csv.gz": compressed})
    found, report = snapshots(tmp_path.as_uri(), sample_bytes="8192")
    assert report.warnings == []
    for path in ("big/big", "gz/big"):
        snapshot = found[path]
        assert snapshot.stats["rows_exact"] is False, path
        assert snapshot.row_estimate == pytest.approx(60_000, rel=0.05), path
        assert [(c.name, c.native_type) for c in snapshot.columns] == [
            ("code", "string"), ("n", "int64"), ("label", "string")], path
    assert read_meter["big/big.csv"] == [1, 8192]
    assert read_meter["gz/big.csv.gz"] == [1, CHUNK]  # one chunk of the compressed file decompresses past 8 KiB


# -- grouping and schema differences ----------------------------------------------------------------------------

def test_schema_differences_are_a_warning_naming_an_example_file(settings: Settings, tmp_path: Path) -> None:
    files = {f"logs/app/part-000{i}.csv": csv_text(["at", "level", "msg"], [("2024-01-01", "INFO", "hi")]).encode()
             for i in range(4)}
    files["logs/app/part-0002.csv"] = csv_text(["at", "level", "msg", "host"], [("2024-01-01", "WARN", "x", "h1")]
                                               ).encode()
    write_tree(tmp_path / "src", files)
    register(settings, "logs", str(tmp_path / "src"))
    result = crawl(settings, "logs")
    assert result["status"] == "succeeded"
    assert result["warnings"] == [{"dataset": "logs/app", "message": (
        "files differ in schema: 3 of 4 share the most common one; 1 file(s) like 'logs/app/part-0002.csv' "
        "adds host")}]
    app = show(settings, "logs/logs/app")
    assert list(columns(app)) == ["at", "level", "msg", "host"]
    assert columns(app)["host"]["nullable"] is True and columns(app)["host"]["stats"] == {"presence": 0.25}


def test_unrelated_files_of_one_folder_stay_separate(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "mix/orders_2024_01.csv": b"id,total\n1,2\n", "mix/orders_2024_02.csv": b"id,total\n3,4\n",
        "mix/customers.csv": b"cid,email\n1,a@example.com\n", "mix/customers.parquet": parquet_bytes(orders_table(1)),
    })
    found, _ = snapshots(tmp_path.as_uri())
    assert found["mix/orders"].stats["files"] == 2 and found["mix/orders"].row_estimate == 2
    # Two `customers` datasets: the one listed second is suffixed with its format (local listings are unsorted).
    (other,) = set(found) - {"mix/orders", "mix/customers"}
    assert other == f"mix/customers.{found[other].properties['format']}"
    assert {found["mix/customers"].properties["format"], found[other].properties["format"]} == {"csv", "parquet"}


# -- streaming ----------------------------------------------------------------------------------------------------

class CountedInfo(ObjectInfo):
    """An ObjectInfo that knows how many of its kind are alive."""

    __slots__ = ()
    alive = 0

    def __del__(self) -> None:
        CountedInfo.alive -= 1


class SyntheticStore:
    """100,000 listed objects, generated on the fly: 99,500 binaries in 995 folders and 100 partitioned Parquet
    datasets whose 500 files all share one tiny real footer."""

    root = "synthetic://lake/"
    FOLDERS, PER_FOLDER, TABLES, PARTITIONS = 995, 100, 100, 5

    def __init__(self) -> None:
        self.parquet = parquet_bytes(orders_table(3))
        self.walks = 0
        self.listed = 0
        self.most_alive = 0
        self.listed_at_first_dataset: int | None = None

    def check(self) -> None:
        pass

    def _info(self, key: str, size: int) -> ObjectInfo:
        self.listed += 1
        CountedInfo.alive += 1
        self.most_alive = max(self.most_alive, CountedInfo.alive)
        return CountedInfo(key, size)

    def walk(self, on_unlistable: Any) -> Iterator[ObjectInfo]:
        self.walks += 1
        for folder in range(self.FOLDERS):
            for item in range(self.PER_FOLDER):
                yield self._info(f"media/shard_{folder:04d}/item_{item:03d}.bin", 1000 + item)
        for table in range(self.TABLES):
            for day in range(self.PARTITIONS):
                yield self._info(f"tables/t{table:03d}/day={day}/part-0.parquet", len(self.parquet))

    def read_range(self, key: str, start: int, length: int) -> bytes:
        return self.parquet[start:start + length]

    def read_tail(self, key: str, length: int, size: int) -> bytes:
        return self.parquet[-length:]


def test_100k_objects_are_streamed_not_held(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SyntheticStore()
    assert store.FOLDERS * store.PER_FOLDER + store.TABLES * store.PARTITIONS == 100_000
    monkeypatch.setattr(connector_module, "open_store", lambda url, options: store)

    # What holding records would cost: 10,000 listed objects kept in a list, times ten.
    tracemalloc.start()
    held = list(itertools.islice(SyntheticStore().walk(None), 10_000))
    held_cost = tracemalloc.get_traced_memory()[0] * 10
    tracemalloc.stop()
    del held

    count = files = 0
    tracemalloc.start()
    try:
        report = CrawlReport("syn")
        for snapshot in ObjectStoreConnector("syn", "s3://synthetic/lake", {"concurrency": "4"}).crawl(report):
            if store.listed_at_first_dataset is None:
                store.listed_at_first_dataset = store.listed
                first = snapshot.path
            assert isinstance(snapshot, DatasetSnapshot)
            count += 1
            files += snapshot.stats["files"]
            if snapshot.path == "media":
                media = snapshot
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert held_cost > 10_000_000  # 100,000 held records: well over 10 MB
    assert peak < held_cost / 5, f"peak {peak} bytes vs {held_cost} for 100,000 held records"
    assert store.most_alive <= 100, f"{store.most_alive} listed objects were alive at once"
    assert store.walks == 1 and store.listed == 100_000
    assert (count, files, report.warnings) == (101, 100_000, [])
    assert media.stats["files"] == 99_500 and len(media.stats["subfolders"]) == 100  # capped
    # Datasets come out while the listing goes on: the first table a few objects after the listing has left it
    # (the reads of at most 4 x concurrency files are pending), long before the last of the 500 table files.
    assert first == "tables/t000"
    assert store.listed_at_first_dataset is not None and store.listed_at_first_dataset <= 99_500 + 10 + 4 * 4 + 5


def test_a_real_tree_of_thousands_of_files_is_listed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files: dict[str, bytes] = {}
    for folder in range(20):
        for item in range(100):
            files[f"raw/batch_{folder:02d}/blob_{item:03d}.bin"] = b"x" * item
    for day in range(1, 31):
        files[f"tables/visits/day={day:02d}/part-0.csv"] = csv_text(["user", "visits"], [(day, day)]).encode()
    write_tree(tmp_path / "tree", files)
    walks = []
    real_walk = LocalStore.walk

    def walk(self: LocalStore, on_unlistable: Any) -> Iterator[ObjectInfo]:
        walks.append(self.root)
        yield from real_walk(self, on_unlistable)

    monkeypatch.setattr(LocalStore, "walk", walk)
    found, report = snapshots((tmp_path / "tree").as_uri())
    assert len(walks) == 1 and report.warnings == []
    assert sorted(found) == ["raw", "tables/visits"]
    assert found["raw"].stats["files"] == 2000 and found["raw"].stats["bytes"] == 20 * sum(range(100))
    visits = found["tables/visits"]
    assert (visits.row_estimate, visits.stats["partitions"]) == (30, 30)


# -- bad input -----------------------------------------------------------------------------------------------------

def test_bad_files_are_warnings_naming_the_object_and_the_crawl_goes_on(settings: Settings, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    good = parquet_bytes(orders_table(10))
    small = pa.table({"a": [1, 2, 3]})
    stream = pa.BufferOutputStream()
    with pa.ipc.new_stream(stream, small.schema) as writer:
        writer.write_table(small)
    write_tree(tmp_path / "src", {
        "bad/garbage.parquet": b"this is not parquet at all" * 10,
        "bad/truncated.parquet": good[:-100],
        "bad/short.parquet": b"PAR1",
        "parts/part-0000.parquet": good, "parts/part-0001.parquet": good[: len(good) // 2],
        "parts/part-0002.parquet": good,
        "ragged/ragged.csv": b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n",
        "enc/mixed.csv": "name,Straße\nZoë,Köln\n".encode() + "Renée,Besançon\n".encode("cp1252"),
        "empty/nothing.jsonl": b"",
        "empty/also.csv": b"",
        "locked/secret.csv": b"a,b\n1,2\n",
        "odd/doc.json": json.dumps({"k": "x" * 10_000}).encode(),
        "odd/pq.parquet.gz": gzip.compress(good),
        "odd/broken.csv.gz": b"\x1f\x8b\x08\x00garbage, not deflate",
        "odd/truncated.feather": arrow_bytes(small)[:-30],
        "odd/stream.arrow": stream.getvalue().to_pybytes(),  # an Arrow IPC stream, not a file: readable
        "fine/ok.csv": b"a,b\n1,2\n",
    })
    register(settings, "src", str(tmp_path / "src"), sample_bytes="4096")
    with denied(monkeypatch, tmp_path / "src" / "locked" / "secret.csv"):
        result = crawl(settings, "src")
    assert result["status"] == "partial"  # datasets none of whose files could be read were not listed in full
    warnings = warnings_of(result)
    assert len(warnings) == len(result["warnings"])
    no_footer = "unreadable parquet: no Parquet footer (the file does not end with PAR1): truncated or not Parquet"
    unreadable = "none of its 1 file(s) could be read"
    assert warnings == {
        "bad/garbage.parquet": no_footer, "bad/garbage": unreadable,
        "bad/truncated.parquet": no_footer, "bad/truncated": unreadable,
        "bad/short.parquet": no_footer, "bad/short": unreadable,
        "parts/part-0001.parquet": no_footer,
        "ragged/ragged.csv": "2 of 3 sampled rows have a different number of fields than the header (first at line "
                             "3: 2 fields, expected 3)",
        "enc/mixed.csv": "not valid UTF-8 (first bad byte at offset 27); its invalid bytes read as Windows-1252",
        "empty/nothing.jsonl": "empty file (0 bytes)", "empty/also.csv": "empty file (0 bytes)",
        "empty/nothing": unreadable, "empty/also": unreadable,
        "locked/secret.csv": "cannot read: Permission denied", "locked/secret": unreadable,
        "odd/doc.json": "unreadable json: a single JSON document larger than the sample; split it into JSON lines",
        "odd/doc": unreadable,
        "odd/pq.parquet.gz": "gzip-compressed parquet cannot be read without decompressing it whole; store it "
                             "uncompressed (it compresses internally)",
        "odd/pq": unreadable,
        "odd/broken.csv.gz": warnings["odd/broken.csv.gz"],
        "odd/broken": unreadable,
        "odd/truncated.feather": warnings["odd/truncated.feather"], "odd/truncated": unreadable,
    }
    assert warnings["odd/truncated.feather"].startswith("unreadable arrow: ")
    assert warnings["odd/broken.csv.gz"].startswith("unreadable csv+gzip: corrupt gzip data: Error -3 ")
    assert all("\n" not in w["message"] for w in result["warnings"])
    # Readable data is catalogued: the ragged and mis-encoded files, and a dataset with one corrupt part.
    assert names(settings) == ["src/enc/mixed", "src/fine/ok", "src/odd/stream", "src/parts", "src/ragged/ragged"]
    parts = show(settings, "src/parts")
    assert parts["row_estimate"] == 20 and parts["stats"]["unreadable_files"] == 1 and parts["stats"]["files"] == 3
    mixed = show(settings, "src/enc/mixed")
    assert [c["name"] for c in mixed["columns"]] == ["name", "Straße"] and mixed["row_estimate"] == 2
    assert mixed["properties"]["csv"]["encoding"] == "utf-8"  # with stray Windows-1252 bytes, as warned
    assert show(settings, "src/odd/stream")["row_estimate"] == 3


def test_unreadable_file_or_folder_keeps_what_was_stored(settings: Settings, lake: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    register(settings, "lake", str(lake))
    assert crawl(settings, "lake")["new"] == len(LAKE_DATASETS)
    with denied(monkeypatch, lake / "crm"), denied(monkeypatch, lake / "dialects" / "eu.csv"):
        result = crawl(settings, "lake")
    assert result["status"] == "partial"
    assert warnings_of(result) == {
        "crm": "cannot list folder: Permission denied",
        "dialects/eu.csv": "cannot read: Permission denied",
        "dialects/eu": "none of its 1 file(s) could be read",
    } and len(result["warnings"]) == 3
    # Nothing under what could not be read is taken for deleted.
    assert (result["deleted"], result["unchanged"]) == (0, len(LAKE_DATASETS) - 3)
    assert names(settings) == [f"lake/{name}" for name in LAKE_DATASETS]
    # Readable again: everything as before.
    again = crawl(settings, "lake")
    assert (again["status"], again["unchanged"], again["deleted"]) == ("succeeded", len(LAKE_DATASETS), 0)


def test_listing_that_breaks_off_deletes_nothing(settings: Settings, lake: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    register(settings, "lake", str(lake))
    crawl(settings, "lake")
    real_walk = LocalStore.walk

    def walk(self: LocalStore, on_unlistable: Any) -> Iterator[ObjectInfo]:
        for number, info in enumerate(real_walk(self, on_unlistable)):
            if number == 3:
                raise OSError(errno.EIO, "Input/output error")
            yield info

    monkeypatch.setattr(LocalStore, "walk", walk)
    result = crawl(settings, "lake")
    assert result["status"] == "partial" and result["deleted"] == 0
    assert result["warnings"][-1]["message"].startswith("listing stopped after 3 objects: ")
    assert names(settings) == [f"lake/{name}" for name in LAKE_DATASETS]


def test_missing_folder_and_bad_options_are_one_clear_line(settings: Settings, lake: Path, tmp_path: Path) -> None:
    register(settings, "lake", str(lake))
    crawl(settings, "lake")
    shutil.move(lake, tmp_path / "moved")
    result = crawl(settings, "lake")
    assert result["status"] == "failed" and result["deleted"] == 0
    assert result["error"] == f"source 'lake': folder {lake} does not exist"
    assert len(names(settings)) == len(LAKE_DATASETS)
    with pytest.raises(ConnectorError, match=r"^source 'x': option sample_bytes must be an integer of at least "
                                             r"1024, not 'lots'$"):
        list(ObjectStoreConnector("x", (tmp_path / "moved").as_uri(), {"sample_bytes": "lots"}).crawl(
            CrawlReport("x")))
    with pytest.raises(ConnectorError, match=r"is not a folder"):
        ObjectStoreConnector("x", (tmp_path / "moved" / "audio" / "clip_1.wav").as_uri()).test_connection()


# -- hostile names --------------------------------------------------------------------------------------------------

HOSTILE_FOLDER = 'we"ird \'q\' <script>alert(1)</script> 日本'
HOSTILE_FILE = "na'me & \"x\" <script>alert(2)</script> Straße.csv"


def test_hostile_file_folder_and_column_names(settings: Settings, tmp_path: Path) -> None:
    header = ['"na""me"', "<script>alert(3)</script>", "Straße 日本", "with space"]
    write_tree(tmp_path / "src", {
        f"{HOSTILE_FOLDER}/{HOSTILE_FILE}": csv_text(header, [(1, "<b>", "x", "y")]).encode(),
        f"{HOSTILE_FOLDER}/pics <img src=x onerror=alert(4)>/a b.png": image_bytes(4, 4),
        "events/city=S%C3%A3o Paulo <i>/part-0.jsonl": jsonl_text([{"<k>": {"'q'": 1}}]).encode(),
    })
    register(settings, "h", str(tmp_path / "src"))
    result = crawl(settings, "h")
    assert (result["status"], result["warnings"]) == ("succeeded", [])
    table = f"h/{HOSTILE_FOLDER}/{HOSTILE_FILE[:-4]}"
    assert names(settings) == sorted(["h/events", table, f"h/{HOSTILE_FOLDER}/pics <img src=x onerror=alert(4)>"])
    assert [c["name"] for c in show(settings, table)["columns"]] == [
        'na"me', "<script>alert(3)</script>", "Straße 日本", "with space"]
    events = columns(show(settings, "h/events"))
    assert list(events) == ["<k>", "<k>.'q'", "city"]
    assert show(settings, "h/events")["stats"]["partition_values"] == {"city": 1}


# -- re-crawls ----------------------------------------------------------------------------------------------------

def test_recrawl_unchanged_new_column_and_deleted_folder(settings: Settings, lake: Path) -> None:
    register(settings, "lake", lake.as_uri())
    assert crawl(settings, "lake")["new"] == len(LAKE_DATASETS)
    again = crawl(settings, "lake")
    assert (again["new"], again["changed"], again["unchanged"], again["deleted"]) == (0, 0, len(LAKE_DATASETS), 0)

    write_tree(lake, {"sales/orders/year=2024/month=04/part-00000.parquet": parquet_bytes(
        orders_table(7, 5000, extra=True))})
    changed = crawl(settings, "lake")
    assert (changed["changed"], changed["unchanged"], changed["warnings"]) == (1, len(LAKE_DATASETS) - 1, [{
        "dataset": "sales/orders", "message": "files differ in schema: 4 of 5 share the most common one; "
        "1 file(s) like 'sales/orders/year=2024/month=04/part-00000.parquet' adds discount"}])
    orders = show(settings, "lake/sales/orders")
    assert orders["row_estimate"] == 72 and orders["stats"]["partitions"] == 4
    assert [v["version"] for v in orders["schema_versions"]] == [2, 1]
    assert orders["schema_versions"][0]["diff"]["added"] == ["discount"]
    assert orders["schema_versions"][0]["diff"]["removed"] == []
    assert columns(orders)["discount"]["nullable"] is True

    shutil.rmtree(lake / "crm")
    gone = crawl(settings, "lake")
    assert (gone["status"], gone["deleted"], gone["unchanged"]) == ("succeeded", 2, len(LAKE_DATASETS) - 2)
    assert "lake/crm/customers" not in names(settings)
    assert show(settings, "lake/crm/customers")["deleted"] is True
    assert names(settings, include_deleted=True) == [f"lake/{name}" for name in LAKE_DATASETS]
