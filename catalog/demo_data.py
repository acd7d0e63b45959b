"""A deterministic demo company as three SQLite files: the shop (`main`), `hr` and `support`.

The catalog crawls `shop.db` with the other two ATTACHed as schemas `hr` and `support`. The data is built to
exercise an AI data catalog: cryptic column names (`c_eml`, `pay_mthd`), personal data to detect (e-mails,
phones, addresses, SSNs, passports, card numbers, IBANs), and traps for naive detectors (a `browser` column of
"Safari"/"Chrome", 16-digit `order_ref` values that fail Luhn, `model_year` integers like 1999).

Comments live in the CREATE TABLE text (SQLite has no COMMENT statement): a `--` line right after the opening
parenthesis is the table comment, a `--` at the end of a column's line is that column's comment. Only some
tables and columns are documented; the annotator fills in the rest.

Building is idempotent and crash-safe: each file is written to a temporary name and renamed into place only
once complete, and a finished file carries `PRAGMA user_version = DEMO_MARKER`.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from catalog.demo_rows import Row, generate_rows

SEED = 42
DEMO_MARKER = 0x0DE30001  # user_version of a complete demo file; bump the low bits when the content changes
FILES = {"main": "shop.db", "hr": "hr.db", "support": "support.db"}
_STALE_TEMP_SECONDS = 600

SHOP_DDL = """
CREATE TABLE product_categories (
    -- Product taxonomy; top-level categories have no parent.
    category_id INTEGER PRIMARY KEY,
    category_nm VARCHAR(80) NOT NULL,
    parent_id INTEGER REFERENCES product_categories(category_id)
);
CREATE TABLE products (
    prod_id INTEGER PRIMARY KEY,
    sku VARCHAR(20) NOT NULL UNIQUE,
    prod_nm VARCHAR(120) NOT NULL,
    category_id INTEGER NOT NULL REFERENCES product_categories(category_id),
    price_usd NUMERIC(10,2) NOT NULL, -- current list price
    weight_g INTEGER,
    model_year INTEGER,
    active BOOLEAN NOT NULL DEFAULT 1
);
CREATE TABLE customers (
    cust_id INTEGER PRIMARY KEY,
    c_eml VARCHAR(254) NOT NULL,
    first_nm VARCHAR(60) NOT NULL,
    last_nm VARCHAR(60) NOT NULL,
    phone VARCHAR(32),
    street_addr VARCHAR(120),
    city VARCHAR(80),
    postcode VARCHAR(12),
    country_cd CHAR(2) NOT NULL, -- ISO 3166-1 alpha-2
    birth_dt DATE,
    signup_ts TIMESTAMP NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT 0,
    loyalty_tier VARCHAR(10)
);
CREATE TABLE orders (
    -- One row per customer order, written by the checkout service.
    ord_id INTEGER PRIMARY KEY,
    order_ref CHAR(16) NOT NULL, -- reference printed on invoices and parcel labels
    cust_id INTEGER NOT NULL REFERENCES customers(cust_id),
    ord_dt TIMESTAMP NOT NULL, -- order date (UTC)
    status VARCHAR(12) NOT NULL,
    amt_usd NUMERIC(12,2) NOT NULL, -- order total in US dollars, shipping included
    currency CHAR(3) NOT NULL,
    ship_addr TEXT,
    client_ip VARCHAR(45),
    browser VARCHAR(40)
);
CREATE TABLE order_items (
    item_id INTEGER PRIMARY KEY,
    ord_id INTEGER NOT NULL,
    prod_id INTEGER NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    unit_price_usd NUMERIC(10,2) NOT NULL, -- price paid per unit, after discounts
    FOREIGN KEY (ord_id) REFERENCES orders(ord_id),
    FOREIGN KEY (prod_id) REFERENCES products(prod_id)
);
CREATE TABLE payments (
    -- Payments captured by the payment provider webhook, one per order.
    pay_id INTEGER PRIMARY KEY,
    ord_id INTEGER NOT NULL REFERENCES orders(ord_id),
    pay_mthd VARCHAR(16) NOT NULL,
    card_no VARCHAR(19),
    card_exp CHAR(5), -- MM/YY
    iban VARCHAR(34),
    amt_usd NUMERIC(12,2) NOT NULL,
    paid_ts TIMESTAMP -- NULL while the payment is pending
);
CREATE VIEW v_customer_revenue AS
SELECT c.cust_id,
       c.first_nm || ' ' || c.last_nm AS customer_name,
       ROUND(COALESCE(SUM(o.amt_usd), 0), 2) AS total_revenue_usd
FROM customers c
LEFT JOIN orders o ON o.cust_id = c.cust_id AND o.status NOT IN ('cancelled', 'returned')
GROUP BY c.cust_id, c.first_nm, c.last_nm;
CREATE UNIQUE INDEX ux_customers_c_eml ON customers(c_eml);
CREATE INDEX ix_orders_cust_id ON orders(cust_id, ord_dt);
CREATE INDEX ix_order_items_ord_id ON order_items(ord_id);
CREATE INDEX ix_payments_ord_id ON payments(ord_id);
"""

HR_DDL = """
CREATE TABLE departments (
    -- Org units as maintained in the HR system.
    dept_id INTEGER PRIMARY KEY,
    dept_nm VARCHAR(80) NOT NULL,
    cost_ctr VARCHAR(10), -- finance cost centre
    office_city VARCHAR(80)
);
CREATE TABLE employees (
    emp_id INTEGER PRIMARY KEY,
    full_name VARCHAR(120) NOT NULL,
    work_email VARCHAR(254) NOT NULL,
    ssn CHAR(11),
    dob DATE,
    hire_dt DATE NOT NULL,
    dept_id INTEGER NOT NULL REFERENCES departments(dept_id),
    salary_usd NUMERIC(12,2), -- current annual base salary
    manager_id INTEGER REFERENCES employees(emp_id),
    home_addr TEXT,
    lat REAL,
    lon REAL
);
CREATE TABLE salaries (
    sal_id INTEGER PRIMARY KEY,
    emp_id INTEGER NOT NULL REFERENCES employees(emp_id),
    eff_dt DATE NOT NULL, -- date the salary took effect
    salary_usd NUMERIC(12,2) NOT NULL,
    chg_rsn VARCHAR(24)
);
CREATE INDEX ix_employees_dept_id ON employees(dept_id);
CREATE INDEX ix_salaries_emp_id ON salaries(emp_id, eff_dt);
"""

SUPPORT_DDL = """
CREATE TABLE agents (
    agent_id INTEGER PRIMARY KEY,
    agent_nm VARCHAR(120) NOT NULL,
    team VARCHAR(20),
    country_cd CHAR(2),
    passport_no VARCHAR(12) -- kept for travel bookings
);
CREATE TABLE tickets (
    -- Customer support tickets, imported nightly from the helpdesk.
    tkt_id INTEGER PRIMARY KEY,
    cust_id INTEGER, -- shop customer (main.customers.cust_id); NULL for anonymous web-form tickets
    agent_id INTEGER REFERENCES agents(agent_id),
    opened_ts TIMESTAMP NOT NULL,
    closed_ts TIMESTAMP,
    prio VARCHAR(8) NOT NULL,
    status VARCHAR(12) NOT NULL,
    subj VARCHAR(200) NOT NULL,
    body TEXT
);
CREATE TABLE ticket_messages (
    msg_id INTEGER PRIMARY KEY,
    tkt_id INTEGER NOT NULL REFERENCES tickets(tkt_id),
    sent_ts TIMESTAMP NOT NULL,
    sender_role VARCHAR(10) NOT NULL,
    agent_id INTEGER REFERENCES agents(agent_id),
    msg_txt TEXT NOT NULL
);
CREATE INDEX ix_tickets_cust_id ON tickets(cust_id);
CREATE INDEX ix_ticket_messages_tkt_id ON ticket_messages(tkt_id);
"""

DDL = {"main": SHOP_DDL, "hr": HR_DDL, "support": SUPPORT_DDL}


def build_demo_databases(folder: Path) -> dict[str, Path]:
    """Create (or reuse) the demo files in `folder`; returns `{"main": shop.db, "hr": ..., "support": ...}`.

    Files that are all complete are returned untouched. Otherwise all three are rebuilt from the fixed seed:
    written under temporary names, then renamed into place, so a crash never leaves a half-built file behind
    the final name.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {schema: folder / name for schema, name in FILES.items()}
    if all(_is_complete(path) for path in paths.values()):
        return paths
    _remove_stale_temp_files(folder)
    rows = generate_rows(random.Random(SEED))
    temps = {schema: path.with_name(f".{path.name}.{os.getpid()}.tmp") for schema, path in paths.items()}
    try:
        for schema, temp in temps.items():
            _build_file(temp, DDL[schema], rows[schema])
        for schema, path in paths.items():
            _remove_sidecars(path)
            os.replace(temps[schema], path)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    return paths


def _is_complete(path: Path) -> bool:
    """True when `path` is a finished demo file (opened read-only, so its mtime is left alone)."""
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0] == DEMO_MARKER
    except sqlite3.Error:
        return False


def _remove_stale_temp_files(folder: Path) -> None:
    """Delete temp files left by builds that crashed (old enough not to belong to a running build)."""
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for name in FILES.values():
        for leftover in folder.glob(f".{name}.*.tmp"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                continue


def _remove_sidecars(path: Path) -> None:
    """Drop a stale rollback journal or WAL of the file being replaced, so SQLite never applies it to ours."""
    for suffix in ("-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _build_file(temp: Path, ddl: str, tables: dict[str, list[Row]]) -> None:
    """Write one complete database to `temp`: schema, rows, statistics, then the completion marker."""
    temp.unlink(missing_ok=True)
    _remove_sidecars(temp)
    with closing(sqlite3.connect(temp, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(ddl)
        conn.execute("BEGIN")
        for table, rows in tables.items():
            _insert(conn, table, rows)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute(f"PRAGMA user_version = {DEMO_MARKER:d}")


def _insert(conn: sqlite3.Connection, table: str, rows: list[Row]) -> None:
    """Insert row dicts (all with the same keys) into `table`; names come from this module, not from users."""
    if not rows:
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"  # noqa: S608
    conn.executemany(sql, rows)
