"""The object-store connector on S3: a moto server in a thread, over HTTP, reached through the `endpoint_url`
source option, with the sample lake in a bucket under a prefix.

Each test gets a bucket of its own. Credentials are test values in the environment (boto3's usual chain), as
the catalog refuses plain secrets in source options.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from catalog.settings import Settings
from connectors.base import CrawlReport, DatasetSnapshot
from connectors.objects import ObjectStoreConnector
from tests.helpers import crawl, names, register, show
from tests.objects_data import (
    LAKE_DATASETS,
    columns,
    csv_text,
    orders_table,
    parquet_bytes,
    sample_lake,
    upload,
    warnings_of,
    write_tree,
)
from tests.s3_server import ServerSpy, running_moto, start_server


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[str, ServerSpy]]:
    with running_moto() as started:
        yield started


@pytest.fixture
def endpoint(moto: tuple[str, ServerSpy]) -> str:
    return moto[0]


@pytest.fixture
def spy(moto: tuple[str, ServerSpy]) -> ServerSpy:
    moto[1].denied.clear()
    moto[1].gets.clear()
    return moto[1]


@pytest.fixture
def s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def snapshots(url: str, endpoint: str, **options: str) -> tuple[dict[str, DatasetSnapshot], CrawlReport]:
    report = CrawlReport("s")
    found = {s.path: s for s in ObjectStoreConnector("s", url, {"endpoint_url": endpoint, **options}).crawl(report)
             if isinstance(s, DatasetSnapshot)}
    return found, report


def comparable(snapshot: DatasetSnapshot) -> tuple[Any, ...]:
    stats = {k: v for k, v in snapshot.stats.items() if k != "last_modified"}
    return snapshot.kind, snapshot.columns, snapshot.row_estimate, dict(snapshot.properties), stats


def test_bucket_with_prefix_through_the_catalog(settings: Settings, s3: Any, bucket: str, endpoint: str) -> None:
    upload(s3, bucket, "lake/", sample_lake())
    s3.put_object(Bucket=bucket, Key="elsewhere/stray.csv", Body=b"a,b\n1,2\n")  # outside the prefix
    s3.put_object(Bucket=bucket, Key="lake/sales/", Body=b"")  # a console's folder marker
    register(settings, "s3lake", f"s3://{bucket}/lake", endpoint_url=endpoint)
    result = crawl(settings, "s3lake")
    assert (result["status"], result["warnings"]) == ("succeeded", [])
    assert names(settings) == [f"s3lake/{name}" for name in LAKE_DATASETS]
    orders = show(settings, "s3lake/sales/orders")
    assert orders["row_estimate"] == 65 and orders["stats"]["partitions"] == 3
    assert [c["name"] for c in orders["columns"]][-2:] == ["year", "month"]
    assert orders["stats"]["last_modified"].startswith("20")
    images = show(settings, "s3lake/images")
    assert images["stats"]["subfolders"] == {"cats": 3, "dogs": 2}
    assert images["stats"]["images"]["width"] == {"min": 32, "median": 48, "max": 64}
    assert list(columns(show(settings, "s3lake/events/gz/events")))[-1] == "user.id"


def test_s3_and_a_local_copy_give_the_same_datasets(s3: Any, bucket: str, endpoint: str, tmp_path: Path) -> None:
    lake = sample_lake()
    upload(s3, bucket, "deep/er/", lake)
    remote, remote_report = snapshots(f"s3://{bucket}/deep/er/", endpoint)
    local_report = CrawlReport("l")
    local = {s.path: s for s in ObjectStoreConnector("l", write_tree(tmp_path / "er", lake).as_uri()).crawl(
        local_report) if isinstance(s, DatasetSnapshot)}
    assert remote_report.warnings == local_report.warnings == []
    assert sorted(remote) == sorted(local) == LAKE_DATASETS
    for path in LAKE_DATASETS:
        assert comparable(remote[path]) == comparable(local[path]), path


def test_parquet_footer_costs_one_small_request(s3: Any, bucket: str, endpoint: str, spy: ServerSpy) -> None:
    rows = 700_000
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "score": pa.array(range(rows), pa.float64())})
    data = parquet_bytes(table, compression="none", row_group_size=100_000)
    assert len(data) > 5_000_000
    s3.put_object(Bucket=bucket, Key="big/huge.parquet", Body=data)
    found, report = snapshots(f"s3://{bucket}", endpoint)
    assert report.warnings == []
    assert found["big/huge"].row_estimate == rows and found["big/huge"].stats["rows_exact"] is True
    ((byte_range, cost),) = spy.reads_of(f"/{bucket}/big/huge.parquet")
    assert byte_range is not None and byte_range.startswith("bytes=-") and cost < 100_000  # one suffix GET


def test_zero_byte_objects_unreadable_objects_and_sampled_csv(settings: Settings, s3: Any, bucket: str,
                                                              endpoint: str, spy: ServerSpy) -> None:
    big = csv_text(["code", "n"], [(f"{i:06d}", 100_000 + i) for i in range(20_000)]).encode()
    upload(s3, bucket, "p/", {
        "empty/nothing.csv": b"", "empty/fine.csv": b"a\n1\n", "zero/part-0.parquet": b"",
        "zero/part-1.parquet": parquet_bytes(orders_table(4)), "big/big.csv": big,
        "locked/secret.csv": b"a,b\n1,2\n", "open/ok.csv": b"a,b\n1,2\n",
    })
    spy.denied.add(f"/{bucket}/p/locked/secret.csv")
    register(settings, "p", f"s3://{bucket}/p/", endpoint_url=endpoint, sample_bytes="4096")
    result = crawl(settings, "p")
    assert result["status"] == "partial"
    warnings = warnings_of(result)
    assert warnings["locked/secret.csv"].startswith("cannot read: AccessDenied Access Denied")
    assert warnings == {
        "empty/nothing.csv": "empty file (0 bytes)",
        "zero/part-0.parquet": "empty file (0 bytes)",
        "locked/secret.csv": warnings["locked/secret.csv"],
        "locked/secret": "none of its 1 file(s) could be read",
        "empty/nothing": "none of its 1 file(s) could be read",
    }
    assert "\n" not in warnings["locked/secret.csv"] and "4442587FB7D0A2F9" not in warnings["locked/secret.csv"]
    assert names(settings) == ["p/big/big", "p/empty/fine", "p/open/ok", "p/zero"]
    zero = show(settings, "p/zero")
    assert zero["row_estimate"] == 4 and zero["stats"]["unreadable_files"] == 1
    sampled = show(settings, "p/big/big")
    assert sampled["stats"]["rows_exact"] is False and sampled["row_estimate"] == pytest.approx(20_000, rel=0.05)
    assert [c["type"] for c in sampled["columns"]] == ["string", "int64"]
    assert spy.reads_of(f"/{bucket}/p/big/big.csv") == [("bytes=0-4095", 4096)]
    assert spy.reads_of(f"/{bucket}/p/empty/nothing.csv") == []  # zero bytes listed: nothing to read


def test_hostile_keys(settings: Settings, s3: Any, bucket: str, endpoint: str) -> None:
    folder = 'we"ird \'q\' <script>alert(1)</script> 日本'
    name = "na'me & \"x\" a+b 100% <script>alert(2)</script>"
    upload(s3, bucket, "", {
        f"{folder}/{name}.csv": csv_text(['"na""me"', "<script>alert(3)</script>", "Straße"], [(1, 2, 3)]).encode(),
        f"{folder}/pics <b>/a b.bin": b"\x00\x01",
        "sp ace/k=v w<x>/part-0.parquet": parquet_bytes(orders_table(2)),
    })
    register(settings, "h", f"s3://{bucket}", endpoint_url=endpoint)
    result = crawl(settings, "h")
    assert (result["status"], result["warnings"]) == ("succeeded", [])
    assert names(settings) == sorted([f"h/{folder}/{name}", f"h/{folder}/pics <b>", "h/sp ace"])
    assert list(columns(show(settings, f"h/{folder}/{name}"))) == ['na"me', "<script>alert(3)</script>", "Straße"]
    assert list(columns(show(settings, "h/sp ace")))[-1] == "k"
    assert show(settings, f"h/{folder}/pics <b>")["stats"]["files"] == 1


def test_recrawl_unchanged_new_column_and_deleted_prefix(settings: Settings, s3: Any, bucket: str,
                                                         endpoint: str) -> None:
    upload(s3, bucket, "lake/", sample_lake())
    register(settings, "r", f"s3://{bucket}/lake", endpoint_url=endpoint)
    assert crawl(settings, "r")["new"] == len(LAKE_DATASETS)
    again = crawl(settings, "r")
    assert (again["changed"], again["unchanged"], again["deleted"]) == (0, len(LAKE_DATASETS), 0)

    s3.put_object(Bucket=bucket, Key="lake/sales/orders/year=2025/month=01/part-00000.parquet",
                  Body=parquet_bytes(orders_table(3, extra=True)))
    changed = crawl(settings, "r")
    assert (changed["changed"], changed["unchanged"]) == (1, len(LAKE_DATASETS) - 1)
    orders = show(settings, "r/sales/orders")
    assert orders["schema_versions"][0]["diff"]["added"] == ["discount"]
    assert orders["stats"]["partition_values"] == {"year": 2, "month": 3}

    for key in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/crm/")["Contents"]]:
        s3.delete_object(Bucket=bucket, Key=key)
    gone = crawl(settings, "r")
    assert (gone["status"], gone["deleted"]) == ("succeeded", 2)
    assert "r/crm/orders" not in names(settings) and show(settings, "r/crm/orders")["deleted"] is True


def test_unreachable_endpoint_fails_in_one_line_and_keeps_the_catalog(settings: Settings) -> None:
    import time

    import boto3

    server, url, _ = start_server()
    try:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        name = f"short-lived-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=name)
        upload(client, name, "", {"crm/customers.csv": b"id,name\n1,Ada\n",
                                           "crm/orders.csv": b"order_id,total\n1,2\n"})
        register(settings, "gone", f"s3://{name}/", endpoint_url=url, timeout_s="1")
        assert crawl(settings, "gone")["new"] == 2
    finally:
        server.stop()
    started = time.monotonic()
    result = crawl(settings, "gone")
    assert time.monotonic() - started < 15  # boto3 retries with backoff; no endless hang
    assert result["status"] == "failed" and result["deleted"] == 0
    assert result["error"].startswith(f"source 'gone': cannot list s3://{name}/: Could not connect to the "
                                      f"endpoint URL: \"{url}/{name}?")
    assert "\n" not in result["error"]
    assert names(settings) == ["gone/crm/customers", "gone/crm/orders"]


def test_missing_bucket_fails_in_one_line_and_keeps_the_catalog(settings: Settings, s3: Any, bucket: str,
                                                                endpoint: str) -> None:
    upload(s3, bucket, "", {"t/a.csv": b"a\n1\n"})
    register(settings, "b", f"s3://{bucket}/", endpoint_url=endpoint)
    assert crawl(settings, "b")["new"] == 1
    s3.delete_object(Bucket=bucket, Key="t/a.csv")
    s3.delete_bucket(Bucket=bucket)
    result = crawl(settings, "b")
    assert result["status"] == "failed" and result["deleted"] == 0
    assert result["error"] == (f"source 'b': cannot list s3://{bucket}/: NoSuchBucket The specified bucket does "
                               "not exist")
    assert names(settings) == ["b/t/a"]
    register(settings, "nobucket", "s3://no-such-bucket-anywhere/x", endpoint_url=endpoint)
    assert crawl(settings, "nobucket")["error"] == ("source 'nobucket': cannot list s3://no-such-bucket-anywhere/x/: "
                                                   "NoSuchBucket The specified bucket does not exist")


def test_a_failed_read_names_the_object_without_its_presigned_signature() -> None:
    from connectors.objects.stores import S3Store, StoreError

    store = S3Store("s3://lake/raw", {"endpoint_url": "http://127.0.0.1:9", "timeout_s": "1",
                                      "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI"})
    with pytest.raises(StoreError) as failure:
        store.read_range("sales/orders.parquet", 0, 100)
    message = str(failure.value)
    assert message.startswith("cannot read:") and "/lake/raw/sales/orders.parquet" in message
    assert "Signature" not in message and "AKIDEXAMPLE" not in message and "?" not in message
