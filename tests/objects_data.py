"""Sample lakes for the object-store tests: file contents by key, written to a folder or uploaded to a bucket.

Everything is built in memory (small Parquet, Arrow, CSV, JSON files, real PNG/JPEG images) so the same lake can
be laid out on disk for `file://` sources and put into a moto bucket for `s3://` sources. `MemoryStore` is an
`ObjectStore` over a dict that counts reads, for unit tests.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import zstandard


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def arrow_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    feather.write_feather(table, buffer)  # Feather v2 = the Arrow IPC file format
    return buffer.getvalue()


def orders_table(rows: int, start: int = 0, extra: bool = False) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "order_id": pa.array(range(start, start + rows), pa.int64()),
        "amount": pa.array([i * 1.5 for i in range(rows)], pa.float64()),
        "status": pa.array(["open" if i % 3 else "shipped" for i in range(rows)]),
        "customer": pa.array([{"id": i, "address": {"city": "Lyon"}} for i in range(rows)]),
    }
    if extra:
        columns["discount"] = pa.array([0.1] * rows)
    return pa.table(columns)


def image_bytes(width: int, height: int, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def wav_bytes(samples: int = 800) -> bytes:
    data = b"\0\0" * samples
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(data))
    return header + data


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]], delimiter: str = ",") -> str:
    lines = [delimiter.join(header)] + [delimiter.join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def jsonl_text(records: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def gzip_members(*parts: bytes) -> bytes:
    """A multi-member gzip file, as `cat a.gz b.gz` or some log shippers write them."""
    return b"".join(gzip.compress(p) for p in parts)


def zstd_bytes(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


EVENTS = [{"event_id": i, "kind": "click" if i % 2 else "view", "user": {"id": i % 7, "geo": {"country": "FR"}},
           "tags": ["a", "b"]} for i in range(40)]


# The datasets `sample_lake()` makes, in name order.
LAKE_DATASETS = [
    "audio", "crm/customers", "crm/orders", "dialects/eu", "dialects/tabs", "events/csvgz/events", "events/doc/events",
    "events/gz/events", "events/lines/events", "events/zjsonl/events", "events/zst/events", "exports/daily", "images",
    "metrics/metrics", "sales/orders",
]


def sample_lake() -> dict[str, bytes]:
    """A lake with one of each layout rule; the keys are what a listing of the lake returns."""
    files: dict[str, bytes] = {}
    # Hive-partitioned Parquet with Spark bookkeeping around it: one dataset `sales/orders`.
    for month, rows in (("01", 10), ("02", 20), ("03", 30)):
        files[f"sales/orders/year=2024/month={month}/part-00000.parquet"] = parquet_bytes(orders_table(rows))
    files["sales/orders/year=2024/month=03/part-00001.parquet"] = parquet_bytes(orders_table(5, 1000))
    files["sales/orders/_SUCCESS"] = b""
    files["sales/orders/year=2024/month=01/.part-00000.parquet.crc"] = b"crc"
    files["sales/orders/_temporary/0/part-9.parquet"] = b"not even parquet"
    # One dataset per file: `crm/customers`, `crm/orders`.
    files["crm/customers.csv"] = csv_text(["customer_id", "name", "zip", "signed_up"], [
        (1, "Ada", "02139", "2024-01-02"), (2, "Bob", "10001", "2024-02-03"), (3, "Cy", "00501", "2024-03-04")]
    ).encode()
    files["crm/orders.csv"] = csv_text(["order_id", "customer_id", "total"], [
        (10, 1, "9.5"), (11, 2, "12.25"), (12, 1, "3")]).encode()
    # A folder of same-schema CSV parts: one dataset `exports/daily`.
    for day in range(1, 4):
        files[f"exports/daily/2024-01-0{day}.csv"] = csv_text(
            ["day", "visits"], [(f"2024-01-0{day}", v) for v in range(5)]).encode()
    # Dialects: semicolons, tabs.
    files["dialects/eu.csv"] = csv_text(["id", "price", "label"], [(1, "2.5", "a"), (2, "3.0", "b")], ";").encode()
    files["dialects/tabs.tsv"] = csv_text(["id", "name"], [(1, "x"), (2, "y")], "\t").encode()
    # JSON document (top-level array) and JSON lines, plain and compressed.
    files["events/doc/events.json"] = json.dumps(EVENTS).encode()
    files["events/lines/events.jsonl"] = jsonl_text(EVENTS).encode()
    files["events/gz/events.jsonl.gz"] = gzip_members(jsonl_text(EVENTS[:20]).encode(),
                                                       jsonl_text(EVENTS[20:]).encode())
    files["events/zjsonl/events.jsonl.zst"] = zstd_bytes(jsonl_text(EVENTS[:10]).encode()) + zstd_bytes(
        jsonl_text(EVENTS[10:]).encode())  # two frames
    files["events/zst/events.csv.zst"] = zstd_bytes(csv_text(["a", "b"], [(i, f"v{i}") for i in range(50)]).encode())
    files["events/csvgz/events.csv.gz"] = gzip.compress(csv_text(["a", "b"], [(i, i) for i in range(25)]).encode())
    # Arrow/Feather.
    files["metrics/metrics.feather"] = arrow_bytes(pa.table({"ts": pa.array([1, 2, 3], pa.int64()),
                                                             "value": pa.array([0.1, 0.2, 0.3])}))
    # Binary collections: class subfolders are counted in one collection; audio separately.
    for index in range(3):
        files[f"images/cats/cat_{index}.png"] = image_bytes(32 + index * 8, 24)
    for index in range(2):
        files[f"images/dogs/dog_{index}.jpg"] = image_bytes(64, 48, "JPEG")
    files["audio/clip_1.wav"] = wav_bytes()
    files["audio/clip_2.wav"] = wav_bytes(1600)
    return files


def write_tree(root: Path, files: Mapping[str, bytes]) -> Path:
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def upload(client: Any, bucket: str, prefix: str, files: Mapping[str, bytes]) -> None:
    for key, data in files.items():
        client.put_object(Bucket=bucket, Key=f"{prefix}{key}", Body=data)


class MemoryStore:
    """An in-memory `ObjectStore` that counts what it is asked: listings, reads and bytes read."""

    root = "memory://test/"

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)
        self.walks = 0
        self.reads = 0
        self.bytes_read = 0

    def check(self) -> None:
        pass

    def walk(self, on_unlistable: Any) -> Any:
        from connectors.objects.stores import ObjectInfo

        self.walks += 1
        for key in sorted(self.files):
            yield ObjectInfo(key, len(self.files[key]))

    def read_range(self, key: str, start: int, length: int) -> bytes:
        data = self.files[key][start:start + max(0, length)]
        self.reads += 1
        self.bytes_read += len(data)
        return data

    def read_tail(self, key: str, length: int, size: int) -> bytes:
        return self.read_range(key, max(0, size - length), min(size, length))


def columns(dataset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A shown dataset's columns by name."""
    return {c["name"]: c for c in dataset["columns"]}


def warnings_of(result: dict[str, Any]) -> dict[str, str]:
    """A crawl's warnings as {object or dataset: message}."""
    return {w["dataset"]: w["message"] for w in result["warnings"]}
