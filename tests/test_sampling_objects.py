"""Row sampling of file sets: local folders and an S3 bucket (moto's server, see `tests.s3_server`).

Targets are built from the connector's own crawl, as the catalog stores them: the `location` property the crawl
writes is how a sample finds the dataset's files again.
"""

from __future__ import annotations

import datetime
import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connectors.base import ConnectorError, CrawlReport, DatasetSnapshot, SampleTarget, SampleUnsupported
from connectors.objects import ObjectStoreConnector
from connectors.objects.locate import member, spread
from tests.objects_data import (
    csv_text,
    image_bytes,
    jsonl_text,
    orders_table,
    parquet_bytes,
    upload,
    write_tree,
    zstd_bytes,
)
from tests.s3_server import ServerSpy, running_moto


def targets(connector: ObjectStoreConnector) -> dict[str, SampleTarget]:
    report = CrawlReport(connector.name)
    return {
        s.path: SampleTarget(s.path, s.kind, tuple(c.name for c in s.columns), s.row_estimate, s.properties)
        for s in connector.crawl(report) if isinstance(s, DatasetSnapshot)
    }


def partitioned_orders() -> dict[str, bytes]:
    """12 partitions of 100 rows: order ids say their partition (day x 1000, +500 in `us`)."""
    files = {}
    for region in ("eu", "us"):
        for day in range(1, 7):
            start = day * 1000 + (500 if region == "us" else 0)
            files[f"sales/orders/region={region}/day={day}/part-0.parquet"] = parquet_bytes(
                orders_table(100, start), row_group_size=10)
    files["sales/orders/_SUCCESS"] = b""
    return files


def test_partitioned_parquet_spread_over_files(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "lake", partitioned_orders())
    connector = ObjectStoreConnector("lake", f"file://{root}")
    target = targets(connector)["sales/orders"]
    assert target.properties["location"] == {"folder": "sales/orders", "partitioned": True}
    sample = connector.sample(target, 200)
    assert (sample.rows, sample.method, sample.population) == (200, "first rows of 8 of 12 files", 1200)
    values = sample.values
    assert all(len(values[c]) == 200 for c in ("order_id", "status", "customer.id", "region", "day"))
    assert values["customer"] == [] and values["customer.address"] == []
    assert set(values["customer.address.city"]) == {"Lyon"}
    for order_id, region, day in zip(values["order_id"], values["region"], values["day"], strict=True):
        assert (order_id // 1000, order_id % 1000 >= 500) == (day, region == "us")
    assert len({(r, d) for r, d in zip(values["region"], values["day"], strict=True)}) == 8
    assert {type(d) for d in values["day"]} == {int} and set(values["region"]) == {"eu", "us"}

    small = connector.sample(target, 10_000)
    assert (small.rows, small.method) == (800, "first rows of 8 of 12 files")
    everything = ObjectStoreConnector("lake", f"file://{root}", {"sample_files": "20"}).sample(target, 10_000)
    assert (everything.rows, everything.method) == (1200, "all 12 files (1,200 rows)")


def test_compressed_text_formats(tmp_path: Path) -> None:
    events = [{"id": i, "user": {"email": f"u{i}@example.com"}, "tags": ["a", "b"][: i % 3], "a.b": i}
              for i in range(30)]
    files = {
        f"logs/2024-01-0{day}.csv.gz": gzip.compress(csv_text(
            ["day", "zip", "visits", "ratio"], [(f"2024-01-0{day}", "02139", v, "" if v == 1 else v / 2)
                                                for v in range(5)]).encode())
        for day in range(1, 4)
    }
    files["events/events.jsonl.zst"] = zstd_bytes(jsonl_text(events).encode())
    root = write_tree(tmp_path / "lake", files)
    connector = ObjectStoreConnector("lake", f"file://{root}")
    found = targets(connector)
    logs = connector.sample(found["logs"], 100)
    assert (logs.rows, logs.method) == (15, "all 3 files (15 rows)")
    assert set(logs.values["day"]) == {datetime.date(2024, 1, day) for day in (1, 2, 3)}
    assert set(logs.values["zip"]) == {"02139"}, "typed as the crawl types them: a code stays a string"
    assert logs.values["visits"][:5] == [0, 1, 2, 3, 4] and logs.values["ratio"][:3] == [0.0, None, 1.0]

    jsonl = connector.sample(found["events/events"], 20)
    assert (jsonl.rows, jsonl.method) == (20, "first rows of 1 of 1 file")
    assert jsonl.values["user.email"] == [f"u{i}@example.com" for i in range(20)]
    assert jsonl.values["a\\.b"] == list(range(20))
    assert len(jsonl.values["tags[]"]) == sum(i % 3 for i in range(20)) and jsonl.values["user"] == []


def test_root_folder_dataset_and_collections(tmp_path: Path) -> None:
    files = {f"part-{i}.parquet": parquet_bytes(pa.table({"n": list(range(i * 10, i * 10 + 10))}))
             for i in range(3)}
    root = write_tree(tmp_path / "parts", files)
    connector = ObjectStoreConnector("parts", f"file://{root}")
    sample = connector.sample(targets(connector)["parts"], 100)
    assert sorted(sample.values["n"]) == list(range(30))

    images = write_tree(tmp_path / "pics", {f"cats/cat_{i}.png": image_bytes(8, 8) for i in range(2)})
    pictures = ObjectStoreConnector("pics", f"file://{images}")
    with pytest.raises(SampleUnsupported, match="file collections have no rows"):
        pictures.sample(targets(pictures)["pics"], 10)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    files = {f"daily/part-{i}.csv": csv_text(["n"], [(i,)]).encode() for i in range(4)}
    files["crm/customers.csv"] = csv_text(["id", "name"], [(1, "Ada")]).encode()
    root = write_tree(tmp_path / "lake", files)
    connector = ObjectStoreConnector("lake", f"file://{root}")
    found = targets(connector)

    (root / "daily/part-1.csv").unlink()  # deleted since the crawl: simply not listed any more
    (root / "daily/part-2.csv").write_bytes(b"")  # unreadable: skipped with a warning
    sample = connector.sample(found["daily"], 100)
    assert sorted(sample.values["n"]) == [0, 3] and sample.method == "first rows of 2 of 3 files"
    assert any(w.startswith("skipped daily/part-2.csv") for w in sample.warnings), sample.warnings

    (root / "crm/customers.csv").unlink()
    with pytest.raises(ConnectorError, match="'crm/customers'.*none of its files"):
        connector.sample(found["crm/customers"], 10)
    for name in ("part-0.csv", "part-3.csv"):
        (root / "daily" / name).write_bytes(b"")
    with pytest.raises(ConnectorError, match="'daily'.*could be read"):
        connector.sample(found["daily"], 10)

    old = found["daily"]
    before_upgrade = SampleTarget(old.path, old.kind, old.columns, old.row_estimate, {"format": "csv"})
    with pytest.raises(ConnectorError, match="crawl the source again"):
        connector.sample(before_upgrade, 10)


# -- S3 --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[str, ServerSpy]]:
    with running_moto() as started:
        yield started


def test_s3_parquet_is_read_by_ranges(moto: tuple[str, ServerSpy]) -> None:
    import boto3

    endpoint, spy = moto
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    big = pa.table({"id": pa.array(range(200_000), pa.int64()),
                    "text": pa.array([uuid.uuid4().hex for _ in range(200_000)])})
    files: dict[str, Any] = {"lake/big/table.parquet": parquet_bytes(big, row_group_size=10_000)}
    files.update(partitioned_orders())
    files["lake/notes/notes.json"] = json.dumps([{"k": i} for i in range(5)]).encode()
    upload(s3, bucket, "", {k if k.startswith("lake/") else f"lake/{k}": v for k, v in files.items()})
    connector = ObjectStoreConnector("s", f"s3://{bucket}/lake", {"endpoint_url": endpoint})
    found = targets(connector)
    spy.gets.clear()

    sample = connector.sample(found["big/table"], 1_000)
    assert (sample.rows, sample.method) == (1_000, "first rows of 1 of 1 file")
    assert sample.values["id"] == list(range(1_000))
    reads = spy.reads_of(f"/{bucket}/lake/big/table.parquet")
    assert reads and all(byte_range for byte_range, _ in reads), "range requests only"
    assert sum(size for _, size in reads) < len(files["lake/big/table.parquet"]) / 5

    orders = connector.sample(found["sales/orders"], 120)
    assert (orders.rows, orders.method) == (120, "first rows of 8 of 12 files")
    assert set(orders.values["region"]) == {"eu", "us"}
    notes = connector.sample(found["notes/notes"], 10)
    assert (notes.method, notes.values["k"]) == ("whole file (5 rows)", [0, 1, 2, 3, 4])

    s3.delete_object(Bucket=bucket, Key="lake/notes/notes.json")
    with pytest.raises(ConnectorError, match="'notes/notes'"):
        connector.sample(found["notes/notes"], 10)


# -- units -----------------------------------------------------------------------------------------------------


def test_spread_is_even_and_bounded() -> None:
    chosen, total = spread(range(1000), 8)
    assert total == 1000 and len(chosen) == 8
    assert chosen[0] == 0 and chosen[-1] > 800 and all(b - a >= 64 for a, b in zip(chosen, chosen[1:], strict=False))
    assert spread(range(5), 8) == ([0, 1, 2, 3, 4], 5)
    assert spread([], 8) == ([], 0)


def test_membership_follows_the_grouping_rules() -> None:
    partitioned = {"folder": "sales", "partitioned": True}
    assert member(partitioned, "sales/year=2024/part-0.parquet") is not None
    assert member(partitioned, "sales/year=2024/part-0.parquet")[1] == [("year", "2024")]  # type: ignore[index]
    assert member(partitioned, "sales/part-0.csv") is not None, "a partitioned folder takes its loose files too"
    for key in ("sales/archive/part-0.parquet", "sales/_temporary/part-0.parquet", "sales/year=2024/x.png",
                "salesforce/a.csv"):
        assert member(partitioned, key) is None, key
    family = {"folder": "raw", "format": "csv", "stem_prefix": "orders"}
    assert member(family, "raw/orders_2024_01.csv.gz") is not None and member(family, "raw/orders.tsv") is not None
    assert member(family, "raw/refunds_01.csv") is None and member(family, "raw/orders_01.parquet") is None
    assert member({"folder": "", "format": "json", "file": "a.jsonl"}, "a.jsonl") is not None
    assert member({"folder": "", "format": "json", "file": "a.jsonl"}, "b.jsonl") is None
