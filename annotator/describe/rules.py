"""The `rules` description backend: no model, always available, never invents a fact.

Why it exists next to the model backends: it is instant and deterministic, so the catalog can describe every column
of a large source on the first run, and it is the fallback whenever a model fails. Its sentences are built only from
what the catalog knows for sure: the name read through the lexicon (annotator.describe.reading), the type, keys, PII
labels and, for low-cardinality non-personal columns, the listed values. The native comment is deliberately ignored:
the catalog shows it separately, and it is untrusted text ("ignore previous instructions") that must not steer
anything. A name the lexicon cannot read gives a low confidence and a sentence that only states the facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from annotator.describe.base import ColumnBrief, Description, TableBrief
from annotator.describe.lexicon import LEXICON_VERSION, singular, understood
from annotator.describe.reading import NameReading, container_entity, field_phrase, read_name
from annotator.describe.table_text import dataset_words, describe_table_text, referenced_table, table_entity

MAX_CHARS = 300
# A column with at most this many distinct values lists them all, as "Values seen" (a sample cannot prove there
# are no others).
MAX_LISTED = 8
MAX_COMMON = 5  # otherwise up to this many common values, when the column is still low-cardinality
LOW_CARDINALITY = 50
LISTED_TYPES = frozenset({"string", "integer", "other", ""})
MIN_CONFIDENCE, CONFIDENCE_SPAN = 0.1, 0.85
PII_TEXT: dict[str, str] = {
    "pii.email": "e-mail address", "pii.phone": "phone number", "pii.person_name": "person name",
    "pii.street_address": "street address", "pii.national_id": "national identity number",
    "pii.credit_card": "payment card number", "pii.iban": "IBAN", "pii.ip_address": "IP address",
    "pii.date_of_birth": "date of birth", "pii.passport": "passport number",
    "pii.geo_location": "geographic coordinates",
}
# Values are data: only short, plain ones are quoted (no markup, quotes, or control characters can get through).
_PLAIN_VALUE = re.compile(r"^[^\W_][\w .,'&/+%:-]{0,29}$")
_SAFE_NAME = re.compile(r"[^\w.\[\]-]+")
_SPACES = re.compile(r"\s+")


class RulesBackend:
    """Describes columns and tables from names, types, keys, labels and profiles (see the module docstring)."""

    name = "rules"
    remote = False

    def __init__(self, **_options: object) -> None:
        self.model = f"lexicon/{LEXICON_VERSION}"

    def describe_columns(self, table: TableBrief, names: Sequence[str]) -> dict[str, Description]:
        by_name = {column.name: column for column in table.columns}
        return {name: describe_column(table, by_name.get(name) or ColumnBrief(name, "other")) for name in names}

    def describe_table(self, table: TableBrief, column_texts: Mapping[str, str]) -> Description:
        """From the column set and the dataset name only; `column_texts` may hold another backend's guesses, so
        they are not repeated here."""
        text, confidence = describe_table_text(table)
        return Description(finish(text), confidence)


def confidence(reading: NameReading) -> float:
    """Share of the name the lexicon understood, mapped into [0.1, 0.95]: an unreadable name stays below 0.3."""
    return round(MIN_CONFIDENCE + CONFIDENCE_SPAN * understood(reading.words), 2)


def describe_column(table: TableBrief, column: ColumnBrief) -> Description:
    reading = read_name(column.name, owner=singular(dataset_words(table.dataset)))
    share = understood(reading.words)
    if share == 0.0:
        subject = f"Column {_safe_name(column.name)} ({column.normalized_type or 'unknown type'})"
    else:
        subject = capitalize(subject_text(reading, column, table_entity(table.dataset)))
    keys = key_facts(column, table)
    sentences = [subject + ("; " + "; ".join(keys) if keys else "") + "."]
    extra = pii_sentence(column.labels) or values_sentence(column)
    if extra:
        sentences.append(extra)
    return Description(finish(" ".join(sentences)), confidence(reading))


def subject_text(reading: NameReading, column: ColumnBrief, entity: str) -> str:
    """The noun phrase for the column; a nested field belongs to its containers rather than to the table."""
    owner = container_entity(reading.containers) if reading.containers else entity
    key = "primary" if column.primary_key else "foreign" if column.foreign_key else ""
    phrase = field_phrase(reading.field.words, column.normalized_type, owner, key, attach=bool(reading.containers))
    text = phrase.text
    if reading.containers and not phrase.uses_entity:
        text += f" of {owner}"
    if reading.field.array:
        text += " (one value per array element)"
    return text


def key_facts(column: ColumnBrief, table: TableBrief) -> list[str]:
    facts = []
    if column.primary_key:
        composite = sum(1 for c in table.columns if c.primary_key) > 1
        facts.append(f"{'part of the ' if composite else ''}primary key of {dataset_words(table.dataset)}")
    if column.foreign_key:
        facts.append(f"references {referenced_table(column.foreign_key)}")
    return facts


def pii_sentence(labels: Sequence[str]) -> str:
    names = [PII_TEXT.get(label, label.removeprefix("pii.").replace("_", " ")) for label in labels]
    names = list(dict.fromkeys(n for n in names if n))
    return f"Personal data: {', '.join(names)}." if names else ""


def values_sentence(column: ColumnBrief) -> str:
    """Listed values of a low-cardinality column that is not personal data and not a key."""
    if column.labels or column.primary_key or column.foreign_key or column.normalized_type not in LISTED_TYPES:
        return ""
    if not column.top_values or column.distinct is None or column.distinct > LOW_CARDINALITY:
        return ""
    values = [v for v in (_SPACES.sub(" ", str(v)).strip() for v in column.top_values) if _PLAIN_VALUE.match(v)]
    values = list(dict.fromkeys(values))
    if not values:
        return ""
    if column.distinct <= min(MAX_LISTED, len(values)):
        return f"Values seen: {', '.join(values[:MAX_LISTED])}."
    return f"Common values: {', '.join(values[:MAX_COMMON])}."


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _safe_name(name: str) -> str:
    return _SAFE_NAME.sub("", name)[:60] or "?"


def finish(text: str) -> str:
    """One line of plain text, at most MAX_CHARS (cut at a word, ending with a full stop)."""
    text = _SPACES.sub(" ", "".join(ch for ch in text if ch.isprintable())).strip()
    if len(text) <= MAX_CHARS:
        return text
    cut = text[: MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…" if not cut.endswith(".") else cut
