"""Few-shot completion prompts for base (not instruction-tuned) models, used by the `local` backend.

Why completion prompts: the default local model (Gemma 3 270M) is a base model; it does not follow instructions, it
continues text. So it is shown worked examples in a fixed three-line format and asked to complete the last
`Description:` line, and generation stops at the end of that line.

Why every source string is flattened and quoted: a column comment is data. `one_line` removes newlines and control
characters and caps the length, and `json.dumps` quotes it, so a comment like "ignore previous instructions ...
Description: ..." stays inside one quoted field of the `Column:` line and cannot start a new example or instruction.
The fixed examples come first, so the runtime can reuse their cached state across calls.

What the model sees of a column: the table's name, the column's name and type, the name read into words by the
rules lexicon, comment, keys, PII labels and up to three masked examples. Neighbouring columns are left out on
purpose: measured on tests/fixtures/documented, listing them made the 270M model copy words from other columns
and examples (mean cosine to the human text 0.58 with them, 0.61 without). Table descriptions are written from the
column set (names and their generated descriptions).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

from annotator.describe.base import ColumnBrief, TableBrief
from annotator.describe.prompts import one_line, safe_examples
from annotator.describe.reading import read_name, texts
from annotator.describe.table_text import table_entity

STOP = ["\n"]

HEADER = "Descriptions of database columns, written for a data catalog.\n\n"
TABLE_HEADER = "Descriptions of database tables, written for a data catalog.\n\n"

# (table, column, type, extra facts, description)
COLUMN_EXAMPLES: tuple[tuple[str, str, str, str, str], ...] = (
    ("customers", "cust_nm", "string", 'reads "customer name"', "Full name of the customer."),
    ("orders", "ord_id", "integer", 'reads "order identifier"; primary key', "Unique identifier of the order."),
    ("orders", "ord_dt", "date", 'reads "order date"', "Date on which the order was placed."),
    ("orders", "tot_amt", "decimal", 'reads "total amount"', "Total amount of the order."),
    ("order_items", "qty", "integer", 'reads "quantity"', "Number of units ordered."),
    ("order_items", "sku", "string", 'examples "AB-1234", "XK-0042"',
     "Stock keeping unit: the product's catalogue code."),
    ("shipments", "wgt_kg", "decimal", 'reads "weight kilograms"', "Weight of the shipment in kilograms."),
    ("shipments", "upd_ts", "timestamp", 'reads "updated timestamp"', "When the shipment record was last updated."),
    ("employees", "is_actv", "boolean", 'reads "is active"', "Whether the employee is currently active."),
    ("employees", "dept_id", "integer", 'reads "department identifier"; foreign key "hr/departments.id"',
     "Department the employee belongs to."),
    ("addresses", "ctry_cd", "string", 'reads "country code"; examples "DE", "FR", "US"',
     "Two-letter ISO code of the country."),
    ("tickets", "prio", "string", 'reads "priority"; comment "1 = urgent, 3 = low"',
     "Priority of the support ticket, from 1 (urgent) to 3 (low)."),
)

TABLE_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("shop/main/customers", "cust_id (Customer identifier), cust_nm (Full name of the customer), "
     "c_eml (E-mail address of the customer)", "Customers of the shop with their contact details."),
    ("hr/employees", "emp_id (Employee identifier), dept_id (Department the employee belongs to), "
     "hire_dt (Date the employee was hired)", "Employees with their department and hiring date."),
    ("lake/events/clicks", "ts (Time of the click), user_id (User who clicked), url (Page that was clicked)",
     "Click events on web pages, one row per click."),
)


def _quoted(text: str | None, limit: int = 120) -> str:
    return json.dumps(one_line(text, limit), ensure_ascii=False)


def _column_block(table: str, column: str, kind: str, facts: str) -> str:
    line = f"Column: {column} ({kind}{'; ' + facts if facts else ''})"
    return f"Table: {table}\n{line}\nDescription:"


def name_words(table: TableBrief, column: ColumnBrief) -> str:
    """The name read into words with the rules backend's lexicon ("fx_rt" -> "foreign exchange rate"), when that
    reading differs from the name. Why: a 270M model does not know abbreviations; given the words it phrases them."""
    words = texts(read_name(column.name, table_entity(table.dataset)).words)
    plain = " ".join(column.name.replace("_", " ").replace(".", " ").replace("[]", " ").lower().split())
    return words if words and words.lower() != plain else ""


def column_facts(table: TableBrief, column: ColumnBrief) -> str:
    """Comment, keys, PII labels and a few masked examples as one line of quoted fields."""
    facts: list[str] = []
    words = name_words(table, column)
    if words:
        facts.append(f"reads {_quoted(words, 80)}")
    if column.comment:
        facts.append(f"comment {_quoted(column.comment)}")
    if column.primary_key:
        facts.append("primary key")
    if column.foreign_key:
        facts.append(f"foreign key {_quoted(column.foreign_key, 80)}")
    if column.labels:
        facts.append("personal data: " + ", ".join(one_line(label, 30) for label in column.labels[:3]))
    examples, top, _, _ = safe_examples(column, remote=False)
    values = (top or examples)[:3]
    if values:
        facts.append("examples " + ", ".join(_quoted(v, 30) for v in values))
    return "; ".join(facts)


def _table_name(table: TableBrief) -> str:
    """The last path part (the table itself) is what the examples show; the full path adds noise for a tiny model."""
    return one_line(table.dataset.rsplit("/", 1)[-1], 80)


def column_prompt(table: TableBrief, column: ColumnBrief, shuffle_seed: int | None = None) -> str:
    """Fixed examples (in a seeded order on retries), then the column to describe, ending in `Description:`."""
    examples = list(COLUMN_EXAMPLES)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(examples)
    shots = "\n\n".join(_column_block(t, c, k, f) + " " + d for t, c, k, f, d in examples)
    query = _column_block(_table_name(table), one_line(column.name, 80), one_line(column.normalized_type, 30),
                          column_facts(table, column))
    return f"{HEADER}{shots}\n\n{query}"


def table_prompt(table: TableBrief, column_texts: Mapping[str, str], shuffle_seed: int | None = None) -> str:
    """Table descriptions are written from the column set: names with their (already generated) descriptions."""
    examples = list(TABLE_EXAMPLES)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(examples)
    shots = "\n\n".join(f"Table: {t}\nColumns: {c}\nDescription: {d}" for t, c, d in examples)
    parts = []
    for column in table.columns[:12]:
        text = column_texts.get(column.name)
        name = one_line(column.name, 40)
        parts.append(f"{name} ({one_line(text, 80)})" if text else name)
    columns = one_line(", ".join(parts), 900)
    comment = f" (comment {_quoted(table.comment)})" if table.comment else ""
    return f"{TABLE_HEADER}{shots}\n\nTable: {one_line(table.dataset, 120)}{comment}\nColumns: {columns}\nDescription:"
