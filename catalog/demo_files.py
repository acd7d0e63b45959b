"""A deterministic demo data lake folder: the file source `lake` of `catalog demo`.

Built from the same demo company as the SQL source (`catalog.demo_rows`), so the catalog can show the same data
in different shapes:

- `sales/orders/year=YYYY/month=MM/part-00000.parquet`: orders as Hive-partitioned Parquet (partition columns
  `year` and `month`, the cryptic `amt_usd`, the Luhn-failing `order_ref` trap, client IPs);
- `sales/order_items.parquet`: one plain Parquet file;
- `exports/customers_export.csv`: a CRM export with personal data (e-mails, phones, birth dates, addresses);
- `exports/returns.tsv.zst`: a zstd-compressed TSV of returned orders;
- `events/clickstream.jsonl.gz`: gzip JSON lines with nested `device` objects, `items[]` arrays and IP addresses;
- `ml/customer_features.feather`: an Arrow/Feather feature table;
- `images/products/<category>/<sku>.png`: small product pictures of varied sizes (one file collection).

Idempotent and crash-safe: the lake is written to a temporary folder and renamed into place; a marker file names
the content version, so a changed generator rebuilds it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from catalog.demo_rows import generate_rows

SEED = 42
MARKER = ".demo-lake"
VERSION = "lake-1"


def build_demo_lake(folder: Path) -> Path:
    """The lake folder, built unless `folder` already holds this version."""
    marker = folder / MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == VERSION:
        return folder
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shop = generate_rows(random.Random(SEED))["main"]
    _orders(staging, shop["orders"])
    _order_items(staging, shop["order_items"])
    _customers(staging, shop["customers"])
    _returns(staging, shop["orders"])
    _clickstream(staging, shop["orders"], shop["products"])
    _features(staging, shop["customers"], shop["orders"])
    _images(staging, shop["products"], shop["product_categories"])
    (staging / MARKER).write_text(VERSION + "\n", encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


def _parquet(path: Path, rows: list[dict[str, Any]], types: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(name, data_type) for name, data_type in types.items()])
    table = pa.Table.from_pylist([{k: row.get(k) for k in types} for row in rows], schema=schema)
    pq.write_table(table, path, compression="zstd")


def _orders(root: Path, orders: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    by_month: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for order in orders:
        moment = datetime.fromisoformat(order["ord_dt"])
        by_month[(f"{moment.year}", f"{moment.month:02d}")].append({**order, "ord_dt": moment})
    types = {"ord_id": pa.int64(), "order_ref": pa.string(), "cust_id": pa.int64(), "ord_dt": pa.timestamp("s"),
             "status": pa.string(), "amt_usd": pa.float64(), "currency": pa.string(), "client_ip": pa.string(),
             "browser": pa.string()}
    for (year, month), rows in sorted(by_month.items()):
        _parquet(root / "sales" / "orders" / f"year={year}" / f"month={month}" / "part-00000.parquet", rows, types)


def _order_items(root: Path, items: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    _parquet(root / "sales" / "order_items.parquet", items,
             {"item_id": pa.int64(), "ord_id": pa.int64(), "prod_id": pa.int64(), "qty": pa.int32(),
              "unit_price_usd": pa.float64()})


def _customers(root: Path, customers: list[dict[str, Any]]) -> None:
    columns = ["cust_id", "c_eml", "first_nm", "last_nm", "phone", "street_addr", "city", "postcode", "country_cd",
               "birth_dt", "email_verified", "loyalty_tier"]
    path = root / "exports" / "customers_export.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for customer in customers:
            writer.writerow(["" if customer.get(c) is None else customer[c] for c in columns])


def _returns(root: Path, orders: list[dict[str, Any]]) -> None:
    import zstandard

    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(["ord_id", "rtn_dt", "reason_cd", "refund_usd"])
    rng = random.Random(SEED + 1)
    for order in orders:
        if order["status"] != "returned":
            continue
        returned = datetime.fromisoformat(order["ord_dt"]) + timedelta(days=rng.randint(3, 40))
        writer.writerow([order["ord_id"], returned.date().isoformat(), rng.choice(["DMG", "SIZE", "LATE", "OTHER"]),
                         order["amt_usd"]])
    path = root / "exports" / "returns.tsv.zst"
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(text.getvalue().encode("utf-8")))


def _clickstream(root: Path, orders: list[dict[str, Any]], products: list[dict[str, Any]]) -> None:
    rng = random.Random(SEED + 2)
    path = root / "events" / "clickstream.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw, encoding="utf-8") as handle:
        for number, order in enumerate(orders[:1500]):
            event: dict[str, Any] = {
                "evt_id": f"e{number:06d}",
                "evt_ts": order["ord_dt"].replace(" ", "T") + "Z",
                "sess": f"s{rng.randrange(16**8):08x}",
                "evt_typ": rng.choice(["page_view", "add_to_cart", "checkout"]),
                "device": {"browser": order["browser"], "os": rng.choice(["iOS", "Android", "Windows", "macOS"])},
                "ip": order["client_ip"],
            }
            if event["evt_typ"] != "page_view":
                event["items"] = [{"sku": rng.choice(products)["sku"], "qty": rng.randint(1, 3)}
                                  for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.3:
                event["utm"] = {"src": rng.choice(["newsletter", "search", "social"])}
            handle.write(json.dumps(event, separators=(",", ":")) + "\n")


def _features(root: Path, customers: list[dict[str, Any]], orders: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather

    totals: dict[int, list[float]] = defaultdict(list)
    for order in orders:
        totals[order["cust_id"]].append(order["amt_usd"])
    table = pa.table({
        "cust_id": pa.array([c["cust_id"] for c in customers], pa.int64()),
        "n_ord": pa.array([len(totals[c["cust_id"]]) for c in customers], pa.int32()),
        "ltv_usd": pa.array([round(sum(totals[c["cust_id"]]), 2) for c in customers], pa.float64()),
        "churn_p": pa.array([round(1 / (2 + len(totals[c["cust_id"]])), 4) for c in customers], pa.float32()),
    })
    path = root / "ml" / "customer_features.feather"
    path.parent.mkdir(parents=True, exist_ok=True)
    feather.write_feather(table, str(path), compression="uncompressed")


def _images(root: Path, products: list[dict[str, Any]], categories: list[dict[str, Any]]) -> None:
    from PIL import Image

    names = {c["category_id"]: c["category_nm"].lower().replace(" ", "_").replace("&", "and") for c in categories}
    rng = random.Random(SEED + 3)
    for product in products[:36]:
        folder = root / "images" / "products" / names[product["category_id"]]
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.choice([(64, 64), (96, 64), (120, 90), (80, 120)])
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        Image.new("RGB", size, color).save(folder / f"{product['sku']}.png", optimize=False)
