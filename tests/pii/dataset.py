"""The labelled PII evaluation set: faker-generated tables in several locales, deterministic by seed.

What it holds, per locale (en_US, en_GB, de_DE, fr_FR, es_ES, it_IT, nl_NL, pt_BR, plus sv_SE and pl_PL customers
whose names are mostly outside the built-in lexicon):
* PII columns under varied names: plain English, local-language, cryptic abbreviations (`c_eml`, `cust_ph_no`,
  `fec_nac`), document paths (`contact.email`, `emails[]`), and columns whose name says nothing (`col_7`, `f3`) so
  only the values can carry them; a few columns with no sampled values at all (name evidence alone);
* hard negatives: the false positives users of other catalogs complain about (`email_verified` flags, year codes,
  browser names, 16-digit order numbers failing Luhn, phone-shaped product codes, notes mentioning an e-mail in one
  row of fifty, `phone_model`, product `name`, `address_type`, release numbers shaped like IPs, e-mail hashes,
  unnamed old dates in a table without people);
* ordinary business columns (amounts, statuses, cities, post codes, timestamps, ids).

Names are drawn from pools by the seed, so two seeds give different names, null rates, sizes and values: the tests
run a second "fresh draw" so the classifier cannot be fitted to one sample.
"""

from __future__ import annotations

import json
import random
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from faker import Faker

from annotator.pii import ColumnContext
from tests.pii import generators as g
from tests.pii.names_pool import GEO_PAIRS, POOLS, UNNAMED_STYLES

CORE_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR")
EXTRA_LOCALES = ("sv_SE", "pl_PL")
NULL_RATES = (0.0, 0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
E, P, N, S = "pii.email", "pii.phone", "pii.person_name", "pii.street_address"
NID, CC, IB, IP = "pii.national_id", "pii.credit_card", "pii.iban", "pii.ip_address"
DOB, PP, GEO = "pii.date_of_birth", "pii.passport", "pii.geo_location"


@dataclass(frozen=True)
class Case:
    case_id: str
    column: ColumnContext
    expected: frozenset[str]
    kind: str  # "pii", "hard_negative" or "ordinary"

    @property
    def hard_negative(self) -> bool:
        return self.kind == "hard_negative"


@dataclass(frozen=True)
class Table:
    name: str
    comment: str | None
    cases: tuple[Case, ...]


class TableBuilder:
    """Collects the columns of one table; every column gets its own size and null rate."""

    def __init__(self, name: str, rng: random.Random, comment: str | None = None) -> None:
        self.name, self.rng, self.comment = name, rng, comment
        self.cases: list[Case] = []

    def add(self, name: str, ntype: str, gen: Callable[[], Any], expected: tuple[str, ...] = (), *,
            kind: str | None = None, comment: str | None = None, null_rate: float | None = None,
            empty: bool = False) -> None:
        rate = self.rng.choice(NULL_RATES) if null_rate is None else null_rate
        size = 0 if empty else self.rng.randint(200, 500)
        values = [None if self.rng.random() < rate else gen() for _ in range(size)]
        kind = kind or ("pii" if expected else "ordinary")
        column = ColumnContext(name=name, normalized_type=ntype, values=values, comment=comment)
        self.cases.append(Case(f"{self.name}.{name}", column, frozenset(expected), kind))

    def table(self) -> Table:
        order = list(self.cases)
        self.rng.shuffle(order)
        return Table(self.name, self.comment, tuple(order))


def _faker(locale: str, seed: int, salt: str) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(zlib.crc32(f"{seed}:{locale}:{salt}".encode()))
    return fake


def _pick(rng: random.Random, concept: str, locale: str) -> str:
    pool = POOLS[concept]
    return rng.choice(pool.get(locale, pool.get(locale[:2], pool["en"])))


def _dob(fake: Faker, rng: random.Random, locale: str, style: str) -> Callable[[], Any]:
    def gen() -> Any:
        born = fake.date_of_birth(minimum_age=18, maximum_age=92)
        if style == "date":
            return born
        if style == "midnight":
            return datetime.combine(born, time())
        return born.isoformat() if style == "iso" else born.strftime(g.DATE_FORMATS.get(locale, "%Y-%m-%d"))
    return gen


def customers(locale: str, seed: int, rng: random.Random) -> Table:
    fake = _faker(locale, seed, "customers")
    t = TableBuilder(f"{locale}.customers", rng, rng.choice([None, "Customer master data", "Kunden / clients"]))
    t.add("id", "integer", iter(range(1, 10**6)).__next__)
    t.add(_pick(rng, "first", locale), "string", fake.first_name, (N,))
    t.add(_pick(rng, "last", locale), "string", fake.last_name, (N,))
    t.add(_pick(rng, "email", locale), "string", fake.email, (E,))
    t.add(_pick(rng, "phone", locale), "string", fake.phone_number, (P,))
    style = rng.choice(["date", "iso", "local", "midnight"])
    ntype = {"date": "date", "midnight": "timestamp"}.get(style, "string")
    t.add(_pick(rng, "dob", locale), ntype, _dob(fake, rng, locale, style), (DOB,))
    t.add(_pick(rng, "street", locale), "string", fake.street_address, (S,))
    t.add(_pick(rng, "city", locale), "string", fake.city)
    t.add(_pick(rng, "postcode", locale), "string", fake.postcode)
    t.add("country", "string", lambda: fake.country_code())
    t.add("created_at", "timestamp", lambda: g.recent_timestamp(rng))
    t.add(rng.choice(["email_verified", "is_email_verified", "email_confirmed", "email_opt_in"]), "boolean",
          lambda: rng.random() < 0.7, kind="hard_negative")
    t.add("status", "string", lambda: rng.choice(g.STATUSES))
    t.add(rng.choice(["loyalty_points", "points", "score"]), "integer", lambda: rng.randint(0, 5000))
    return t.table()


def payments(locale: str, seed: int, rng: random.Random) -> Table:
    fake = _faker(locale, seed, "payments")
    t = TableBuilder(f"{locale}.payments", rng)
    t.add("payment_id", "uuid", lambda: str(uuid.UUID(int=rng.getrandbits(128))))
    as_int = rng.random() < 0.25
    card = (lambda: int(g.card_number(fake, rng).replace(" ", "").replace("-", ""))) if as_int else (
        lambda: g.card_number(fake, rng))
    t.add(_pick(rng, "card", locale), "integer" if as_int else "string", card, (CC,))
    t.add(_pick(rng, "iban", locale), "string", lambda: g.iban(fake, rng), (IB,))
    t.add(rng.choice(["order_number", "order_no", "ref_number", "transaction_ref", "invoice_no"]), "string",
          lambda: g.order_number(rng), kind="hard_negative")
    t.add(rng.choice(["amount", "total", "betrag", "montant", "importe"]), "decimal", lambda: g.amount(rng))
    t.add("currency", "string", lambda: rng.choice(g.CURRENCIES))
    t.add("paid_at", "timestamp", lambda: g.recent_timestamp(rng))
    t.add(rng.choice(["yr_code", "model_year", "fiscal_year", "year_cd", "vintage"]), "integer",
          lambda: rng.choice([1998, 1999, 2000, 2001, 2002, 2010, 2015, 2020, 2023]), kind="hard_negative")
    t.add("card_expiry", "string", lambda: f"{rng.randint(1, 12):02d}/{rng.randint(25, 32)}")
    return t.table()


def web_events(locale: str, seed: int, rng: random.Random) -> Table:
    fake = _faker(locale, seed, "events")
    t = TableBuilder(f"{locale}.web_events", rng)

    def mixed() -> str:
        return rng.choice([fake.ipv4(), fake.ipv6()])

    ip_gen = rng.choice([fake.ipv4_public, fake.ipv4_private, fake.ipv6, mixed])
    t.add(_pick(rng, "ip", locale), "string", ip_gen, (IP,))
    t.add(rng.choice(["browser", "browser_name", "ua_family", "client"]), "string",
          lambda: rng.choice(g.BROWSERS), kind="hard_negative")
    t.add(rng.choice(["app_version", "build", "release", "client_version"]), "string",
          lambda: g.app_version(rng), kind="hard_negative")
    t.add("event_time", "timestamp", lambda: g.recent_timestamp(rng))
    t.add("path", "string", lambda: "/" + fake.uri_path())
    t.add("session_id", "uuid", lambda: str(uuid.UUID(int=rng.getrandbits(128))))
    t.add("http_status", "integer", lambda: rng.choice([200, 200, 200, 301, 404, 500]))
    t.add("latency_ms", "float", lambda: round(rng.uniform(1, 900), 3))
    lat_name, lon_name = rng.choice(GEO_PAIRS.get(locale[:2], GEO_PAIRS["en"]))
    points = [g.coordinate(fake, locale, rng) for _ in range(600)]
    t.add(lat_name, "float", lambda: rng.choice(points)[0], (GEO,))
    t.add(lon_name, "float", lambda: rng.choice(points)[1], (GEO,))
    return t.table()


def identity(locale: str, seed: int, rng: random.Random) -> Table:
    fake = _faker(locale, seed, "identity")
    t = TableBuilder(f"{locale}.identity_documents", rng, rng.choice([None, "KYC checks", "Verified identities"]))
    t.add(_pick(rng, "national_id", locale), "string", lambda: g.national_id(fake, locale, rng), (NID,))
    t.add(_pick(rng, "passport", locale), "string", lambda: g.passport(locale, rng), (PP,))
    t.add(_pick(rng, "full_name", locale), "string", fake.name, (N,))
    t.add(rng.choice(["nationality", "citizenship", "country_of_issue"]), "string", fake.country_code)
    t.add(rng.choice(["passport_expiry", "valid_until", "expiry_date"]), "date",
          lambda: fake.date_between(start_date="+30d", end_date="+10y"))
    t.add(rng.choice(["verified_at", "checked_on"]), "date", lambda: g.recent_date(rng))
    t.add("check_result", "string", lambda: rng.choice(["passed", "failed", "manual_review"]))
    return t.table()


def products(locale: str, seed: int, rng: random.Random) -> Table:
    t = TableBuilder(f"{locale}.products", rng)
    t.add("name", "string", lambda: g.product_name(rng), kind="hard_negative")
    t.add(rng.choice(["product_code", "sku", "part_no", "article_number", "item_code"]), "string",
          lambda: g.product_code(rng), kind="hard_negative")
    t.add("category", "string", lambda: rng.choice(g.CATEGORIES))
    t.add("price", "decimal", lambda: g.amount(rng))
    t.add(rng.choice(["weight_kg", "rating"]), "float", lambda: round(rng.uniform(0.1, 5.0), 4))
    t.add(rng.choice(["phone_model", "device_model", "handset"]), "string", lambda: rng.choice(g.PHONE_MODELS),
          kind="hard_negative")
    t.add("launched", "date", lambda: g.recent_date(rng, 2.5))
    return t.table()


def crm_notes(locale: str, seed: int, rng: random.Random) -> Table:
    fake = _faker(locale, seed, "notes")
    t = TableBuilder(f"{locale}.crm_notes", rng)
    t.add(_pick(rng, "notes", locale), "string",
          lambda: g.free_text(fake, rng, fake.email() if rng.random() < 0.02 else None), kind="hard_negative")
    t.add(_pick(rng, "comment", locale), "string",
          lambda: g.free_text(fake, rng, fake.phone_number() if rng.random() < 0.02 else None), kind="hard_negative")
    t.add(rng.choice(["address_type", "addr_type", "adresstyp"]), "string", lambda: rng.choice(g.ADDRESS_TYPES),
          kind="hard_negative")
    t.add(rng.choice(["email_hash", "email_sha256", "hashed_email"]), "string", lambda: g.sha256_hex(rng),
          kind="hard_negative")
    t.add(rng.choice(["newsletter_email_sent", "email_verified"]), "string", lambda: rng.choice(["Y", "N"]),
          kind="hard_negative")
    t.add("channel", "string", lambda: rng.choice(["email", "phone", "chat", "store"]))
    t.add("company", "string", fake.company)
    t.add("job", "string", fake.job)
    return t.table()


def unnamed(locale: str, seed: int, rng: random.Random) -> Table:
    """Columns whose names say nothing: the values must carry them (and the DOB column its neighbours)."""
    fake = _faker(locale, seed, "unnamed")
    style = rng.choice(UNNAMED_STYLES)
    t = TableBuilder(f"{locale}.import_batch", rng, "raw import, columns not yet mapped")
    columns: list[tuple[str, Callable[[], Any], tuple[str, ...], str]] = [
        ("string", fake.email, (E,), "pii"),
        ("string", fake.phone_number, (P,), "pii"),
        ("string", fake.name, (N,), "pii"),
        ("string", fake.street_address, (S,), "pii"),
        ("string", lambda: g.iban(fake, rng), (IB,), "pii"),
        ("string", lambda: g.card_number(fake, rng), (CC,), "pii"),
        ("string", lambda: g.national_id(fake, locale, rng), (NID,), "pii"),
        ("string", rng.choice([fake.ipv4, fake.ipv6]), (IP,), "pii"),
        ("string", _geo_text(fake, locale, rng), (GEO,), "pii"),
        ("date", _dob(fake, rng, locale, "date"), (DOB,), "pii"),
        ("decimal", lambda: g.amount(rng), (), "ordinary"),
        ("string", lambda: rng.choice(g.STATUSES), (), "ordinary"),
        ("date", lambda: g.recent_date(rng), (), "ordinary"),
        ("string", lambda: g.free_text(fake, rng, fake.email() if rng.random() < 0.02 else None), (), "hard_negative"),
        ("string", lambda: g.random_order_number(rng), (), "hard_negative"),
    ]
    if locale in ("de_DE", "es_ES", "it_IT", "nl_NL"):  # faker draws real town names only for these
        columns.append(("string", fake.city, (), "hard_negative"))
    rng.shuffle(columns)
    for i, (ntype, gen, expected, kind) in enumerate(columns, start=1):
        t.add(style.format(i=i), ntype, gen, expected, kind=kind)
    return t.table()


def _geo_text(fake: Faker, locale: str, rng: random.Random) -> Callable[[], Any]:
    shape = rng.choice(["text", "geojson", "wkt"])

    def gen() -> Any:
        lat, lon = g.coordinate(fake, locale, rng)
        if shape == "geojson":
            return {"type": "Point", "coordinates": [lon, lat]}
        return f"POINT({lon} {lat})" if shape == "wkt" else f"{lat}, {lon}"
    return gen


def messy(locale: str, seed: int, rng: random.Random) -> Table:
    """Real-world mess: junk placeholders among e-mails, upper-case and "Last, First" names, bare MSISDNs, IPs with
    ports, multi-line addresses, display-name e-mails, coordinates as text (CSV sources)."""
    fake = _faker(locale, seed, "messy")
    t = TableBuilder(f"{locale}.legacy_contacts", rng)
    junk = ["n/a", "unknown", "test", "none@", "-", "", "noemail", "xxx"]
    t.add(_pick(rng, "email", locale), "string",
          lambda: rng.choice(junk) if rng.random() < 0.12 else fake.email().upper() if rng.random() < 0.3 else
          fake.email(), (E,))
    t.add(_pick(rng, "full_name", locale), "string",
          lambda: rng.choice([fake.name().upper(), f"{fake.last_name()}, {fake.first_name()}", fake.name()]), (N,))
    t.add(rng.choice(["msisdn", "mobile", "phone_e164"]), "string",
          lambda: fake.phone_number() if rng.random() < 0.2 else g.msisdn(locale, rng), (P,))
    t.add(rng.choice(["ip_port", "remote_addr", "client_ip"]), "string",
          lambda: f"{fake.ipv4()}:{rng.choice([443, 80, 8080, rng.randint(1024, 65535)])}", (IP,))
    t.add(_pick(rng, "street", locale), "string", fake.address, (S,))
    t.add(rng.choice(["contact", "email_contact", "recipient"]), "string",
          lambda: f"{fake.name()} <{fake.email()}>", (E,))
    lat_name, lon_name = rng.choice(GEO_PAIRS.get(locale[:2], GEO_PAIRS["en"]))
    points = [g.coordinate(fake, locale, rng) for _ in range(400)]
    t.add(lat_name, "string", lambda: str(rng.choice(points)[0]), (GEO,))
    t.add(lon_name, "string", lambda: str(rng.choice(points)[1]), (GEO,))
    t.add("source_system", "string", lambda: rng.choice(["crm", "erp", "webshop"]))
    return t.table()


def assets(locale: str, seed: int, rng: random.Random) -> Table:
    """No people here: unnamed old dates (maintenance dates over decades) must not read as birth dates."""
    fake = _faker(locale, seed, "assets")
    t = TableBuilder(f"{locale}.asset_register", rng)
    t.add("f1", "string", lambda: f"AS-{rng.randint(10000, 99999)}")
    t.add("f2", "date", lambda: fake.date_between(start_date="-40y", end_date="-1y"), kind="hard_negative")
    t.add("f3", "decimal", lambda: g.amount(rng))
    t.add("f4", "string", lambda: rng.choice(["in use", "retired", "stock"]))
    t.add("f5", "string", lambda: g.product_name(rng), kind="hard_negative")
    return t.table()


def documents(locale: str, seed: int, rng: random.Random) -> Table:
    """A document collection: nested paths, arrays of values, GeoJSON, ISO-date strings."""
    fake = _faker(locale, seed, "documents")
    t = TableBuilder(f"{locale}.profiles", rng)
    t.add("contact.email", "string", fake.email, (E,))
    t.add("emails[]", "string", fake.free_email, (E,))
    t.add("contact.phone", "string", fake.phone_number, (P,))
    t.add("profile.name.first", "string", fake.first_name, (N,))
    t.add("profile.name.last", "string", fake.last_name, (N,))
    t.add("profile.birthDate", "string", _dob(fake, rng, locale, "iso"), (DOB,))
    t.add("addr.street", "string", fake.street_address, (S,))
    t.add("addr.zip", "string", fake.postcode)
    t.add("addr.city", "string", fake.city)
    t.add("location", "json", _geo_text(fake, locale, rng), (GEO,))
    t.add("meta.last_ip", "string", fake.ipv4, (IP,))
    t.add("tags[]", "array", lambda: [rng.choice(g.CATEGORIES) for _ in range(rng.randint(1, 3))])
    t.add("prefs.newsletter", "boolean", lambda: rng.random() < 0.4, kind="hard_negative")
    t.add("meta.raw", "json", lambda: json.loads(json.dumps({"v": rng.randint(1, 9), "ok": True})))
    return t.table()


def schema_only(seed: int, rng: random.Random) -> Table:
    """Columns of a table that could not be sampled: names alone; only unambiguous ones may be suggested."""
    t = TableBuilder("schema_only.accounts", rng)
    columns = [("email", "string", (E,)), ("ssn", "string", (NID,)), ("date_of_birth", "date", (DOB,)),
               ("iban", "string", (IB,)), ("passport_number", "string", (PP,)), ("address", "string", ()),
               ("name", "string", ()), ("email_verified", "boolean", ()), ("notes", "string", ()),
               ("phone_model", "string", ()), ("created_at", "timestamp", ())]
    for name, ntype, expected in columns:
        kind = "hard_negative" if name in ("email_verified", "phone_model") else None
        t.add(name, ntype, lambda: None, expected, kind=kind, empty=True)
    return t.table()


def extra_customers(locale: str, seed: int, rng: random.Random) -> Table:
    """Locales whose names are mostly missing from the lexicon: names must be carried by shape and column name."""
    fake = _faker(locale, seed, "extra")
    t = TableBuilder(f"{locale}.customers", rng)
    t.add(_pick(rng, "first", locale), "string", fake.first_name, (N,))
    t.add(_pick(rng, "last", locale), "string", fake.last_name, (N,))
    t.add("email", "string", fake.email, (E,))
    t.add(_pick(rng, "phone", locale), "string", fake.phone_number, (P,))
    t.add("birth_date", "date", lambda: fake.date_of_birth(minimum_age=18, maximum_age=90), (DOB,))
    t.add("city", "string", fake.city)
    return t.table()


def build_tables(seed: int) -> list[Table]:
    rng = random.Random(seed)
    tables: list[Table] = []
    for locale in CORE_LOCALES:
        for builder in (customers, payments, web_events, identity, products, crm_notes, unnamed, assets, messy):
            tables.append(builder(locale, seed, random.Random(rng.random())))
        if rng.random() < 0.5 or locale in ("en_US", "de_DE"):
            tables.append(documents(locale, seed, random.Random(rng.random())))
    for locale in EXTRA_LOCALES:
        tables.append(extra_customers(locale, seed, random.Random(rng.random())))
    tables.append(schema_only(seed, random.Random(rng.random())))
    return tables


def build_cases(seed: int) -> list[Case]:
    return [case for table in build_tables(seed) for case in table.cases]
