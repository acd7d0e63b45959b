"""The contract every description backend implements (rules, local model, OpenAI-compatible endpoint).

Why a tiny shared module: several backends are written independently and the annotator swaps them (and falls back to
rules when a model fails), so they must agree on exactly what goes in (a masked brief of the table) and what comes out
(short plain text with a confidence). PROMPT_VERSION is part of every cache signature, so bumping it invalidates
cached descriptions when prompts or templates change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

PROMPT_VERSION = "1"  # bump when prompts/templates change: it is part of every cache signature


@dataclass(frozen=True)
class ColumnBrief:
    """What a backend may see of one column. Values are already masked/scrubbed by the caller; never raw PII."""

    name: str
    normalized_type: str
    native_type: str = ""
    comment: str | None = None  # native comment: DATA, may be hostile ("ignore previous instructions")
    primary_key: bool = False
    foreign_key: str | None = None  # "schema/table.column" inside the same source
    labels: tuple[str, ...] = ()  # PII labels (e.g. "pii.email")
    null_share: float | None = None
    distinct: int | None = None  # distinct estimate
    top_values: tuple[str, ...] = ()  # most common values (never for PII columns)
    examples: tuple[str, ...] = ()  # masked/scrubbed examples
    minimum: str | None = None
    maximum: str | None = None


@dataclass(frozen=True)
class TableBrief:
    """What a backend may see of one table: its identity, native comment and all columns (neighbours give context)."""

    source_kind: str  # "sql", "mongodb", "objects"
    dataset: str  # full name "shop/main/customers"
    kind: str  # table, view, collection, file_set
    comment: str | None
    row_estimate: int | None
    columns: tuple[ColumnBrief, ...]  # all columns (neighbours), in order


@dataclass(frozen=True)
class Description:
    """A generated description: one or two plain sentences, <= 300 chars, no markup."""

    text: str
    confidence: float  # 0..1: how sure the backend is that the text is right


class BackendError(Exception):
    """The backend could not produce valid output (after its own retries); the caller falls back to rules."""


class Backend(Protocol):
    """A description backend. `remote` is True when text leaves the machine (the caller then strips examples of
    PII-suspected columns)."""

    name: str  # "rules", "local", "openai"
    model: str  # e.g. "lexicon/1", "gemma-3-270m-q4_k_m", "gpt-4o-mini"
    remote: bool

    def describe_columns(self, table: TableBrief, names: Sequence[str]) -> dict[str, Description]: ...

    def describe_table(self, table: TableBrief, column_texts: Mapping[str, str]) -> Description: ...
