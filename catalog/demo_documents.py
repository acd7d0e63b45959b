"""A deterministic demo document database `shop`, served by a local nx-27017 (MongoDB wire protocol on SQLite).

Three collections, built to exercise the MongoDB connector and the annotator:

- `products`: nested `specs` (with `dims` and a literal-dot key `ip.rating`, e.g. "IP67"), `tags` arrays,
  `variants` arrays of subdocuments, prices that are sometimes int and sometimes double, an optional
  `discontinued` flag, a nullable `rating_avg`, and cryptic `p_flg` / `mdl_yr` (model years like 1999: a trap for
  birth-year detectors);
- `reviews`: a `reviewer` subdocument with name and e-mail (personal data, sometimes missing or null), ratings,
  optional `photos`, the cryptic `rv_src`;
- `sessions`: string ids, `browser` names ("Safari", "Opera": not people), IPv4/IPv6 addresses from the
  documentation ranges, `pages` visited, an optional `utm` subdocument, the cryptic referrer code `c_ref`.

`serve_demo_documents(folder)` starts the server with its data under `folder`, loads the documents once (a marker
file records a complete load; an interrupted load is redone from scratch) and returns a `DocumentServer` whose
`url` is the `mongodb://` URL to register and whose `stop()` (or `with`) ends the server.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.errors import PyMongoError

from catalog.demo_rows import ADJECTIVES, BRANDS, FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS

SEED = 42
DATABASE = "shop"
DEMO_MARKER = "shop-documents-v1"  # bump when the generated documents change: a stale load is redone
MARKER_FILE = "documents.loaded"
COUNTS = {"products": 120, "reviews": 300, "sessions": 400}
START = datetime(2024, 1, 1)

Document = dict[str, Any]

_CATEGORIES = {
    "Outdoor": ("Tents", "Backpacks", "Lamps"),
    "Electronics": ("Headphones", "Speakers", "Chargers"),
    "Home": ("Kettles", "Lamps", "Blankets"),
}
_NOUNS = {"Tents": "Tent", "Backpacks": "Pack", "Lamps": "Lamp", "Headphones": "Headphones", "Speakers": "Speaker",
          "Chargers": "Charger", "Kettles": "Kettle", "Blankets": "Blanket"}
_COLORS = ("black", "white", "olive", "navy", "sand", "red")
_TAGS = ("new", "bestseller", "eco", "gift", "sale", "waterproof", "wireless", "limited")
_TITLES = ("Great value", "Does the job", "Not as pictured", "Love it", "Broke after a month", "Five stars",
           "Good but pricey", "Would buy again")
_BODIES = ("Arrived quickly and works as described.", "The zip failed on the second trip.",
           "Sound is crisp, battery lasts all day.", "Colour is darker than on the photos.",
           "Sturdy, light and easy to set up.", "Customer service replaced it without fuss.")
_BROWSERS = ("Chrome", "Safari", "Firefox", "Edge", "Opera", "Brave", "Samsung Internet")
_AGENTS = {
    "Chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
    "Safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edg/124.0",
    "Opera": "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 OPR/109.0",
    "Brave": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "Samsung Internet": "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 SamsungBrowser/24.0",
}  # fmt: skip
_CITIES = (("DE", "Berlin"), ("DE", "Hamburg"), ("NL", "Utrecht"), ("FR", "Lyon"), ("US", "Portland"),
           ("GB", "Leeds"), ("ES", "Valencia"))


# -- documents ---------------------------------------------------------------------------------------------------

def _object_id(rng: random.Random) -> ObjectId:
    return ObjectId(rng.randbytes(12))


def _moment(rng: random.Random, days: int = 600) -> datetime:
    return START + timedelta(seconds=rng.randrange(days * 86400))


def _products(rng: random.Random) -> list[Document]:
    products = []
    for n in range(COUNTS["products"]):
        main = rng.choice(sorted(_CATEGORIES))
        sub = rng.choice(_CATEGORIES[main])
        brand = rng.choice(BRANDS)
        sku = f"{brand[:2].upper()}-{10000 + n}"
        cents = rng.randrange(999, 49999)
        specs: Document = {"weight_g": rng.randrange(80, 4000),
                           "dims": {"h_cm": rng.randrange(2, 120), "w_cm": rng.randrange(2, 80)},
                           "color": rng.choice(_COLORS)}
        if main == "Electronics":
            specs["ip.rating"] = rng.choice(("IP44", "IP54", "IP67"))  # a literal dot in a key
        product: Document = {
            "_id": _object_id(rng), "sku": sku, "name": f"{brand} {rng.choice(ADJECTIVES)} {_NOUNS[sub]}",
            "category": {"main": main, "sub": sub},
            # Round prices are stored as int by many shop front-ends: the field is int|double.
            "price": cents // 100 if cents % 100 == 0 or rng.random() < 0.2 else cents / 100,
            "currency": rng.choice(("EUR", "EUR", "USD")), "specs": specs,
            "tags": rng.sample(_TAGS, rng.randrange(0, 4)), "mdl_yr": rng.choice((1999, 2000, 2019, 2023, 2024)),
            "p_flg": rng.randrange(0, 16), "rating_avg": round(rng.uniform(2.5, 5), 1) if rng.random() < 0.8 else None,
            "created_at": _moment(rng),
        }
        if rng.random() < 0.5:
            product["variants"] = [{"sku": f"{sku}-{i}", "color": rng.choice(_COLORS), "stock": rng.randrange(0, 90)}
                                   for i in range(rng.randrange(1, 4))]
        if rng.random() < 0.3:
            product["discontinued"] = rng.random() < 0.5
        products.append(product)
    return products


def _reviews(rng: random.Random, products: list[Document]) -> list[Document]:
    reviews = []
    for _ in range(COUNTS["reviews"]):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        reviewer: Document = {"name": f"{first} {last}"}
        roll = rng.random()
        if roll < 0.8:
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            reviewer["email"] = f"{local}{rng.randrange(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
        elif roll < 0.9:
            reviewer["email"] = None
        review: Document = {
            "_id": _object_id(rng), "product_id": rng.choice(products)["_id"], "reviewer": reviewer,
            "rating": rng.choice((1, 2, 3, 4, 4, 5, 5, 5)), "title": rng.choice(_TITLES), "body": rng.choice(_BODIES),
            "verified": rng.random() < 0.7, "helpful": rng.randrange(0, 40),
            "rv_src": rng.choice(("web", "app", "imp")),
            "created_at": _moment(rng),
        }
        if rng.random() < 0.15:
            review["photos"] = [{"url": f"https://cdn.example.com/r/{rng.randrange(10**8):08d}.jpg",
                                 "w": 1200, "h": 900} for _ in range(rng.randrange(1, 3))]
        reviews.append(review)
    return reviews


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
    network = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{network}.{rng.randrange(1, 255)}"


def _sessions(rng: random.Random, products: list[Document]) -> list[Document]:
    sessions = []
    for _ in range(COUNTS["sessions"]):
        browser = rng.choice(_BROWSERS)
        started = _moment(rng)
        country, city = rng.choice(_CITIES)
        pages, at = [], started
        for _ in range(rng.randrange(1, 6)):
            at += timedelta(seconds=rng.randrange(5, 300))
            pages.append({"path": f"/p/{rng.choice(products)['sku']}", "ts": at})
        seconds = int((at - started).total_seconds())
        session: Document = {
            "_id": f"s_{rng.getrandbits(64):016x}", "browser": browser, "user_agent": _AGENTS[browser],
            "ip": _ip(rng), "started_at": started,
            # Whole seconds from one tracker, fractional from the other: int|double.
            "dur_s": seconds if rng.random() < 0.7 else seconds + 0.5,
            "pages": pages, "geo": {"cc": country, "city": city},
            "c_ref": "".join(rng.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(5)),
        }
        if rng.random() < 0.25:
            session["utm"] = {"source": rng.choice(("newsletter", "ads", "partner")),
                              "campaign": f"c{rng.randrange(9)}"}
        sessions.append(session)
    return sessions


def generate_documents(seed: int = SEED) -> dict[str, list[Document]]:
    """The `shop` collections by name; one seed, always the same documents."""
    rng = random.Random(seed)
    products = _products(rng)
    return {"products": products, "reviews": _reviews(rng, products), "sessions": _sessions(rng, products)}


INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "products": [([("sku", ASCENDING)], {"unique": True}), ([("category.main", ASCENDING)], {})],
    "reviews": [([("product_id", ASCENDING), ("created_at", DESCENDING)], {})],
    "sessions": [([("started_at", ASCENDING)], {})],
}


def load_documents(url: str, folder: Path) -> bool:
    """Load the documents into database `shop` unless `folder` records a complete load; True when loaded now."""
    marker = folder / MARKER_FILE
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == DEMO_MARKER:
        return False
    client: MongoClient[Document] = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(DATABASE)  # a half-finished earlier load starts over
        database = client[DATABASE]
        for name, documents in generate_documents().items():
            database[name].insert_many(documents, ordered=True)
            for keys, options in INDEXES.get(name, []):
                database[name].create_index(keys, **options)
    finally:
        client.close()
    partial = marker.with_suffix(".tmp")
    partial.write_text(DEMO_MARKER + "\n", encoding="utf-8")
    os.replace(partial, marker)
    return True


# -- server ------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class DocumentServer:
    """A running nx-27017 process; `url` is `mongodb://127.0.0.1:<port>/`."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> DocumentServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def start_server(folder: Path, port: int | None = None, timeout: float = 20.0) -> DocumentServer:
    """Start nx-27017 with one SQLite file per database under `folder/data`; return once it answers a ping."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    chosen = port or free_port()
    if port and port_in_use(port):
        raise RuntimeError(f"cannot start the document server: port {port} is already in use")
    output = folder / "nx-27017.out"
    command = [sys.executable, "-m", "nx_27017.nx_27017", "--data-dir", str(folder / "data"),
               "--host", "127.0.0.1", "-p", str(chosen),
               "--log-file", str(folder / "nx-27017.log"), "--pid-file", str(folder / "nx-27017.pid")]
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = DocumentServer(chosen, folder, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = output.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"the document server exited with code {process.returncode}: {' | '.join(tail)}")
        client: MongoClient[Document] = MongoClient(server.url, serverSelectionTimeoutMS=250, connectTimeoutMS=250)
        try:
            client.admin.command("ping")
            return server
        except PyMongoError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"the document server did not answer on port {chosen} within {timeout:.0f} s") from None
            time.sleep(0.05)
        finally:
            client.close()


def serve_demo_documents(folder: Path, port: int | None = None) -> DocumentServer:
    """Start the server for `folder` (a free port unless one is given) and make sure `shop` is loaded."""
    server = start_server(folder, port)
    try:
        load_documents(server.url, folder)
    except BaseException:
        server.stop()
        raise
    return server
