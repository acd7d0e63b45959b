"""Benchmark: fetching and publishing a ~1 GB version, against raw pyarrow, `dvc.api.read` and `md5sum`.

One run builds a catalog in a temporary home, writes a ~1 GB deterministic Parquet file, and measures (best of
`--repeat`, page cache warm, so the disk does not decide):
- publish: `catalog.publish.publish(path=...)` with every gate (PII scan, Great Expectations on up to
  CATALOG_VALIDATE_ROWS rows, schema), hashing, DVC cache + remote, git commit + tag, catalog sync;
  against `md5sum` of the same file (target: publish within 2x md5sum);
- raw: `pyarrow.parquet.read_table` of the version's file in the DVC cache (the baseline);
- dvc: `dvc.api.read(path, repo, rev=tag, mode="rb")` then `read_table` of those bytes;
- client cold: `Client(url).get` over HTTP from `catalog serve` (another process) with an empty client cache:
  download straight into the cache file (sha256 on a second thread as bytes land), then a read of the verified
  entry (target: at least 0.7x raw throughput);
- client cold, overlapped: the same with `decode_while_downloading=True`: the footer by a range request first,
  then row groups decoded as they arrive while the download goes on, returned once the hash matched;
- client warm: the same `get` again: no network, stamp check, read with page checksums (target: 0.9x raw);
- local cold / warm: the same through `Client(CATALOG_HOME)`, without a server.

Order: by default round-robin (each round runs every variant once, so a busy moment slows every variant alike).
On a VM whose host reclaims freed guest memory within seconds, touching fresh memory costs 1-2 s a GB, and a
variant runs faster when the one before it freed at least as much memory as it needs: in round-robin each
variant inherits its predecessor's footprint (raw follows local warm, cold follows dvc). `--order blocked` runs
each variant's repeats back to back instead, so each is timed after itself (steady state).

`--variants raw,cold,cold_overlap,warm` times only those (publish and md5sum are skipped when `publish` is not
listed); by default everything.

Usage: python bench/fetch.py [--gb 1.0] [--repeat 3] [--order round-robin|blocked] [--variants ...] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from serving import catalog_serve, served

ROWS_PER_BATCH = 500_000
VARIANTS = ("raw", "dvc", "cold", "cold_overlap", "warm", "local_cold", "local_warm", "publish")
MB = 1024 * 1024


def batches(target_bytes: int, probe: Path) -> Iterator[pa.RecordBatch]:
    """Sales-like rows (ids, amounts, quantities, countries, timestamps, free-text notes) until the written file
    would reach about `target_bytes` (measured on a first batch)."""
    from catalog.parquet_io import write_batches

    rng = np.random.default_rng(7)
    countries = np.array(["NL", "DE", "FR", "US", "GB", "ES", "IT", "PL", "SE", "BE"])
    words = np.array(["late", "gift", "fragile", "express", "return", "bulk", "priority", "promo", "b2b", "retry"])

    def make(start: int) -> pa.RecordBatch:
        n = ROWS_PER_BATCH
        notes = np.char.add(np.char.add(rng.choice(words, n), " "), rng.integers(0, 10**6, n).astype(str))
        return pa.RecordBatch.from_pydict({
            "order_id": np.arange(start, start + n, dtype=np.int64),
            "customer_id": rng.integers(1, 2_000_000, n),
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "discount": rng.random(n).astype(np.float32),
            "quantity": rng.integers(1, 50, n, dtype=np.int32),
            "country": pa.array(rng.choice(countries, n)),
            "placed_at": pa.array(np.datetime64("2023-01-01T00:00:00") + rng.integers(0, 3 * 365 * 86400, n)
                                  .astype("timedelta64[s]")),
            "note": pa.array(notes),
        })

    first = make(0)
    write_batches(first.schema, [first], probe)
    per_batch = probe.stat().st_size
    probe.unlink()
    count = max(1, round(target_bytes / per_batch))
    yield first
    for index in range(1, count):
        yield make(index * ROWS_PER_BATCH)


def best(repeat: int, run: Callable[[], object], before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=1.0, help="size of the version's Parquet file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary catalog home")
    parser.add_argument("--order", choices=("round-robin", "blocked"), default="round-robin",
                        help="round-robin: every variant once per round; blocked: each variant's repeats together")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated subset of {','.join(VARIANTS)} (raw is always timed: the baseline)")
    args = parser.parse_args()
    chosen = {"raw", *args.variants.split(",")}
    unknown = chosen - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")

    from catalog.access import Actor
    from catalog.client import Client
    from catalog.db import ensure_store
    from catalog.parquet_io import write_batches
    from catalog.publish import publish
    from catalog.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    try:
        source = work / "orders.parquet"
        started = time.perf_counter()
        gen = batches(int(args.gb * 1024 * MB), work / "probe.parquet")
        first = next(gen)
        write_batches(first.schema, [first, *gen], source)
        size = source.stat().st_size
        rows = pq.read_metadata(source).num_rows
        took = time.perf_counter() - started
        print(f"data: {size / MB:,.0f} MiB, {rows:,} rows, 8 columns (written in {took:.1f} s)")

        md5sum = (best(args.repeat, lambda: subprocess.run(["md5sum", str(source)], check=True, capture_output=True))
                  if "publish" in chosen else 0.0)
        settings = load_settings(home=work / "home")
        ensure_store(settings)
        actor = Actor.local()
        publish(settings, actor, "bench/warmup", data=pa.table({"x": [1, 2, 3]}))  # repository, imports, GE
        numbers = iter(range(1, 100))

        def publish_once() -> None:
            # A new version each time: the same bytes would be an "unchanged" no-op.
            publish(settings, actor, f"bench/orders_{next(numbers)}", path=source)

        published = best(args.repeat if "publish" in chosen else 1, publish_once)
        import dvc.api

        from catalog.version_repo import VersionRepo

        repo = VersionRepo(settings)
        version = Client(str(settings.home)).version("bench/orders_1", "v1")
        cached = repo.cache_path(version["md5"])
        with served(catalog_serve(), {**os.environ, "CATALOG_HOME": str(settings.home)}) as (url, _pid):
            http_cache, local_cache, overlap_cache = work / "client-cache", work / "local-cache", work / "overlap-cache"
            http = Client(url, cache_dir=http_cache)
            overlapped = Client(url, cache_dir=overlap_cache, decode_while_downloading=True)
            local = Client(str(settings.home), cache_dir=local_cache)
            http.version("bench/orders_1", "v1")  # connection set up
            variants: dict[str, tuple[Callable[[], object], Callable[[], None] | None]] = {
                "raw": (lambda: pq.read_table(cached), None),
                "dvc": (lambda: pq.read_table(pa.BufferReader(dvc.api.read(
                    "data/bench/orders_1.parquet", repo=str(repo.root), rev="bench/orders_1@v1", mode="rb"))), None),
                "cold": (lambda: http.get("bench/orders_1", "v1"),
                         lambda: shutil.rmtree(http_cache / "objects", ignore_errors=True)),
                "cold_overlap": (lambda: overlapped.get("bench/orders_1", "v1"),
                                 lambda: shutil.rmtree(overlap_cache / "objects", ignore_errors=True)),
                "warm": (lambda: http.get("bench/orders_1", "v1"), None),
                "local_cold": (lambda: local.get("bench/orders_1", "v1"),
                               lambda: shutil.rmtree(local_cache / "objects", ignore_errors=True)),
                "local_warm": (lambda: local.get("bench/orders_1", "v1"), None),
            }
            variants = {key: variant for key, variant in variants.items() if key in chosen}
            if "warm" in variants and "cold" not in variants:
                http.get("bench/orders_1", "v1")  # warm needs an entry
            timings: dict[str, float] = {}
            order = ([key for _ in range(args.repeat) for key in variants] if args.order == "round-robin"
                     else [key for key in variants for _ in range(args.repeat)])
            try:
                for key in order:
                    run, before = variants[key]
                    timings[key] = min(timings.get(key, float("inf")), best(1, run, before))
            finally:
                http.close()
                overlapped.close()
        raw = timings["raw"]

        def line(name: str, key: str, target: float | None = None) -> None:
            if key not in timings:
                return
            seconds = timings[key]
            verdict = f"target >= {target:.2f}x: {'PASS' if raw / seconds >= target else 'FAIL'}" if target else ""
            print(f"  {name:<40} {seconds:7.2f} s  {size / MB / seconds:8.0f} MiB/s  "
                  f"{raw / seconds:5.2f}x raw  {verdict}")

        print(f"\nfetch ({os.cpu_count()} cores, best of {args.repeat}, {args.order}; ratio = raw time / time, "
              "higher is faster)")
        line("pyarrow.parquet.read_table (raw)", "raw")
        line("dvc.api.read + read_table", "dvc")
        line("client.get cold (HTTP)", "cold", 0.7)
        line("client.get cold (HTTP, overlapped)", "cold_overlap", 0.7)
        line("client.get warm (HTTP client)", "warm", 0.9)
        line("client.get cold (local home)", "local_cold")
        line("client.get warm (local home)", "local_warm")
        if "publish" in chosen:
            print(f"\npublish: {published:.2f} s vs md5sum {md5sum:.2f} s = {published / md5sum:.2f}x md5sum "
                  f"(target <= 2.00x: {'PASS' if published <= 2 * md5sum else 'FAIL'})")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
