"""Table descriptions of the rules backend, written from the dataset name and its column set.

Why from the columns and not from their descriptions: the descriptions handed to `describe_table` may come from a
model, and repeating a model's guess as a rules "fact" would launder it. The name says what the rows are, a single
primary key named after the table says what one row is ("one row per customer"), the readable columns say what is
recorded, the foreign keys what it links to and the row estimate how big it is. Nothing else is claimed.
"""

from __future__ import annotations

from annotator.describe.base import ColumnBrief, TableBrief
from annotator.describe.lexicon import UNKNOWN, join_words, read_tokens, singular, understood, units
from annotator.describe.reading import ID_SUFFIX, read_name, texts
from annotator.pii.names import split_identifier

MAX_FEATURES = 6
NAME_PREFIXES = frozenset({"v", "vw", "view", "tbl", "tb", "t"})
ROW_WORDS = {"mongodb": "document", "objects": "record"}


def dataset_words(dataset: str) -> str:
    """"shop/main/order_items" -> "order items"; view/table prefixes (`v_`, `tbl_`) are dropped."""
    last = dataset.rstrip("/").rsplit("/", 1)[-1]
    tokens = list(split_identifier(last).tokens)
    if len(tokens) > 1 and tokens[0] in NAME_PREFIXES:
        tokens = tokens[1:]
    return texts(read_tokens(tokens))


def table_entity(dataset: str) -> str:
    """What one row of the dataset is about, with an article: "the customer" ("" when the name says nothing)."""
    words = dataset_words(dataset)
    return f"the {singular(words)}" if words else ""


def describe_table_text(table: TableBrief) -> tuple[str, float]:
    """("Customers: one row per customer with e-mail, ...; about 800 rows.", confidence)."""
    title = dataset_words(table.dataset) or "dataset"
    kind = f" ({table.kind.replace('_', ' ')})" if table.kind in ("view", "file_set") else ""
    head = title[:1].upper() + title[1:] + kind
    unit = ROW_WORDS.get(table.source_kind, "row")
    grain = _grain(table, title, unit)
    features = _features(table.columns, singular(title))
    parts = []
    if grain or features:
        parts.append((grain or f"{unit}s") + (" with " + _and_list(features) if features else ""))
    links = _links(table)
    if links:
        parts.append("linked to " + _and_list(links))
    if any(c.labels for c in table.columns):
        parts.append("contains personal data")
    if table.row_estimate is not None:
        parts.append(f"about {table.row_estimate:,} {unit}s")
    return f"{head}: {'; '.join(parts)}." if parts else f"{head}.", _table_confidence(table)


def _grain(table: TableBrief, title: str, unit: str) -> str:
    """"one row per customer" when the only primary key is named after the table (cust_id in customers)."""
    keys = [c for c in table.columns if c.primary_key]
    entity = singular(title)
    if table.source_kind == "mongodb" and title:
        return f"one {unit} per {entity}"
    if len(keys) != 1:
        return ""
    words = read_name(keys[0].name, entity).field.words
    if len(words) < 2 or words[-1].token not in ID_SUFFIX:
        return f"one {unit} per {entity}" if len(words) == 1 and title else ""
    key_thing = texts(words[:-1]).lower()
    if key_thing and (entity.lower().endswith(key_thing) or key_thing.endswith(entity.lower().split()[-1])):
        return f"one {unit} per {entity}"
    return ""


def _features(columns: tuple[ColumnBrief, ...], owner: str) -> list[str]:
    """Readable names of the columns that hold content (not keys, not identifiers), in table order; a nested field
    counts as its container ("reviewer"); a trailing unit and a leading table word are dropped."""
    found: list[str] = []
    for column in columns:
        if column.primary_key or column.foreign_key:
            continue
        reading = read_name(column.name, owner)
        words = [w for s in reading.containers for w in s.words] if reading.containers else reading.field.words
        if len(words) > 1 and words[-1].token in units():
            words = words[:-1]
        if len(words) > 1 and words[0].text == owner:
            words = words[1:]  # "customer e-mail" in customers is just "e-mail"
        if not words or words[-1].token in ID_SUFFIX or understood(words) < 0.5:
            continue
        text = join_words([w.text for w in words if w.kind != UNKNOWN])  # tokens are folded: acronyms stay
        if text and text not in found:
            found.append(text)
        if len(found) == MAX_FEATURES:
            break
    return found


def referenced_table(foreign_key: str) -> str:
    """"main/customers.cust_id" -> "customers" (read through the lexicon, so "prod_cat" -> "product category")."""
    table = foreign_key.rsplit(".", 1)[0].rsplit("/", 1)[-1]
    return texts(read_tokens(split_identifier(table).tokens)) or "another table"


def _links(table: TableBrief) -> list[str]:
    own = dataset_words(table.dataset)
    names = [referenced_table(c.foreign_key) for c in table.columns if c.foreign_key]
    return list(dict.fromkeys(n for n in names if n and n != own))


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _table_confidence(table: TableBrief) -> float:
    """How much of the table name and its column names the lexicon understood."""
    words = list(read_tokens(split_identifier(table.dataset.rsplit("/", 1)[-1]).tokens))
    for column in table.columns:
        words.extend(read_name(column.name).words)
    return round(0.1 + 0.8 * understood(words), 2)
