"""Benchmark: the object-store crawl against a naive crawl, on 10,000 Parquet files in a local S3 server.

What is compared, and why:

* **naive crawl** - what a simple catalog crawler does: list the whole bucket into a list, then open each
  Parquet file with pyarrow's S3 filesystem, one after another, and read its footer (schema and row count).
  pyarrow's reader is efficient per file (it reads only the footer); what it lacks is concurrency, and it pays
  an extra request per file to learn the size before it can read the footer.
* **catalog crawl** - `catalog crawl lake` as a user runs it (`crawl_source` in-process, so interpreter start-up
  is not counted for either side): one streaming listing, footers read with one suffix range request each, in a
  thread pool, folded into 200 partitioned datasets and written to a fresh metadata store. The connector alone
  (without the store) is timed too.

Both read the same footers from the same moto S3 server, which runs in its own process so that neither side
shares its interpreter lock. Target: the catalog crawl is >= 5x faster than the naive one.

The data: N datasets (`lake/<domain>/table_<i>`), each with 5 regions x 10 days of Hive partitions holding one
small Parquet file (8 columns, 40-200 rows); every 20th dataset gains a column in its later partitions so the
crawl has schema differences to report. Everything lives in a temporary folder and a server that are removed at
the end.

Run: `python bench/crawl_objects.py [--datasets 200] [--concurrency 16]`; `--datasets 20` for a quick run.
The script exits 0 once it has measured something; PASS/FAIL is printed against the target.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 5.0
BUCKET = "bench"
REGIONS = 5
DAYS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, endpoint
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto server did not start")


def parquet_bytes(dataset: int, region: int, day: int) -> bytes:
    rows = 40 + (dataset * 7 + region * 13 + day) % 160
    columns = {
        "id": pa.array(range(rows), pa.int64()),
        "customer_id": pa.array([i % 97 for i in range(rows)], pa.int32()),
        "amount": pa.array([i * 1.25 for i in range(rows)], pa.float64()),
        "currency": pa.array(["EUR"] * rows),
        "status": pa.array(["shipped" if i % 3 else "open" for i in range(rows)]),
        "created_at": pa.array([1_700_000_000_000 + i for i in range(rows)], pa.timestamp("ms", tz="UTC")),
        "is_gift": pa.array([i % 5 == 0 for i in range(rows)]),
        "note": pa.array([None if i % 4 else f"n{i}" for i in range(rows)], pa.string()),
    }
    if dataset % 20 == 0 and day >= 5:
        columns["discount"] = pa.array([0.1] * rows)
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def upload(endpoint: str, datasets: int) -> int:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    jobs = [(d, r, day) for d in range(datasets) for r in range(REGIONS) for day in range(DAYS)]

    def put(job: tuple[int, int, int]) -> None:
        d, r, day = job
        key = f"lake/domain_{d % 10}/table_{d:03d}/region=r{r}/day=2024-01-{day + 1:02d}/part-00000.parquet"
        client.put_object(Bucket=BUCKET, Key=key, Body=parquet_bytes(d, r, day))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, jobs))
    return len(jobs)


def naive_crawl(endpoint: str) -> tuple[float, int, int]:
    """List everything, then read each footer one by one through pyarrow's S3 filesystem."""
    from pyarrow import fs

    started = time.perf_counter()
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for item in page.get("Contents", ())]
    s3 = fs.S3FileSystem(endpoint_override=endpoint, scheme="http", region="us-east-1",
                         access_key="bench", secret_key="bench")
    rows = 0
    for key in keys:
        with s3.open_input_file(f"{BUCKET}/{key}") as handle:
            metadata = pq.ParquetFile(handle).metadata
            metadata.schema.to_arrow_schema()
            rows += metadata.num_rows
    return time.perf_counter() - started, len(keys), rows


def connector_crawl(endpoint: str, concurrency: int) -> tuple[float, int, int]:
    from connectors.base import CrawlReport
    from connectors.objects import ObjectStoreConnector

    started = time.perf_counter()
    connector = ObjectStoreConnector("lake", f"s3://{BUCKET}/lake",
                                     {"endpoint_url": endpoint, "concurrency": str(concurrency)})
    snapshots = list(connector.crawl(CrawlReport("lake")))
    rows = sum(s.row_estimate or 0 for s in snapshots)
    return time.perf_counter() - started, len(snapshots), rows


def catalog_crawl(endpoint: str, concurrency: int, home: Path) -> tuple[float, dict[str, object]]:
    from catalog.access import Actor
    from catalog.crawl import crawl_source
    from catalog.db import migrate, session_scope
    from catalog.settings import load_settings
    from catalog.sources import add_source

    settings = load_settings(home=home)
    migrate(settings)
    with session_scope(settings) as session:
        add_source(session, Actor.local(), "lake", f"s3://{BUCKET}/lake",
                   {"endpoint_url": endpoint, "concurrency": str(concurrency)})
    started = time.perf_counter()
    result = crawl_source(settings, Actor.local(), "lake")
    return time.perf_counter() - started, result


def start_proxy(endpoint: str, rtt_ms: float) -> tuple[subprocess.Popen[str] | None, str]:
    """A latency proxy in front of the S3 server (its own process), or the server itself for 0 ms."""
    if rtt_ms <= 0:
        return None, endpoint
    host, port = endpoint.removeprefix("http://").split(":")
    process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "latency_proxy.py"), host, port, str(rtt_ms)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, f"http://127.0.0.1:{process.stdout.readline().strip()}"


def measure(endpoint: str, rtt_ms: float, datasets_expected: int, concurrency: int) -> float:
    proxy, url = start_proxy(endpoint, rtt_ms)
    try:
        print(f"-- round trip {rtt_ms:g} ms {'(loopback, no proxy)' if proxy is None else '(latency proxy)'}")
        naive_seconds, naive_files, naive_rows = naive_crawl(url)
        print(f"naive crawl (list, then each footer in turn): {naive_seconds:7.2f} s  {naive_files} files, "
              f"{naive_rows} rows")
        connector_seconds, datasets, rows = connector_crawl(url, concurrency)
        print(f"connector only (concurrency {concurrency}):            {connector_seconds:7.2f} s  {datasets} "
              f"datasets, {rows} rows")
        with tempfile.TemporaryDirectory(prefix="bench-objects-") as home:
            crawl_seconds, result = catalog_crawl(url, concurrency, Path(home))
        print(f"catalog crawl (connector + store):            {crawl_seconds:7.2f} s  {result['new']} new datasets, "
              f"status {result['status']}, {len(result.get('warnings', []))} warnings")
        if rows != naive_rows or datasets != datasets_expected:
            print(f"MISMATCH: naive read {naive_rows} rows, the catalog {rows} rows in {datasets} datasets")
        ratio = naive_seconds / crawl_seconds
        print(f"ratio naive / catalog crawl at {rtt_ms:g} ms: {ratio:.1f}x "
              f"(target >= {TARGET:.0f}x) {'PASS' if ratio >= TARGET else 'FAIL'}")
        return ratio
    finally:
        if proxy is not None:
            proxy.kill()
            proxy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rtt-ms", default="0,10",
                        help="comma-separated round trips to emulate in front of the server (0 = plain loopback)")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    process, endpoint = start_moto()
    try:
        started = time.perf_counter()
        files = upload(endpoint, args.datasets)
        print(f"uploaded {files} Parquet files in {args.datasets} datasets in {time.perf_counter() - started:.1f} s")
        for rtt in (float(x) for x in args.rtt_ms.split(",")):
            measure(endpoint, rtt, args.datasets, args.concurrency)
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
