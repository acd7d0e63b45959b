"""What a search needs to know about its candidates, read from the store in as few statements as possible.

Why few statements: under load (bench/load.py, issue 11) a web worker runs dozens of requests on two cores, and
after every round trip to the store a request thread waits for the interpreter lock again behind every other busy
thread; reading per dataset (three statements for each dataset shown, ~35 per search) made that wait, not the
SQL, the cost of a search. A search now reads its candidates in three statements whatever their number:
1. `document_facts`: each candidate's dataset, column, kind and the dataset's source comment;
2. `dataset_marks`: the standing labels, tags and owners of those datasets (one UNION ALL);
3. `add_descriptions`: the source comments and stored descriptions of the results shown (one UNION ALL), only
   for the shown columns, never all of a wide dataset's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from catalog.classifications import REJECTED
from catalog.descriptions import TABLE, effective
from catalog.models import Classification, Column, DatasetOwner, DatasetTag, Description

Key = tuple[int, str]  # (dataset id, column name; TABLE for the dataset itself)


@dataclass
class Marks:
    """Standing labels (by column and by dataset), tags and owners of a set of datasets."""

    by_column: dict[Key, set[str]] = field(default_factory=dict)
    by_dataset: dict[int, set[str]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    owners: dict[int, list[str]] = field(default_factory=dict)

    def labels_of(self, dataset_id: int, column: str | None) -> list[str]:
        """A column's own labels; for a dataset (column None) those of all its columns."""
        found = self.by_column.get((dataset_id, column), set()) if column else self.by_dataset.get(dataset_id, set())
        return sorted(found)


def dataset_marks(session: Session, dataset_ids: Iterable[int]) -> Marks:
    """Labels (not rejected), tags and owners of the datasets, in one statement; tags and owners sorted as the
    store sorts them (as `stewardship_of` does)."""
    ids = sorted(set(dataset_ids))
    marks = Marks()
    if not ids:
        return marks
    labels = select(Classification.dataset_id, literal_column("'label'"), Classification.column_name,
                    Classification.label).where(Classification.dataset_id.in_(ids), Classification.status != REJECTED)
    tags = select(DatasetTag.dataset_id, literal_column("'tag'"), literal_column("''"), DatasetTag.tag
                  ).where(DatasetTag.dataset_id.in_(ids))
    owners = select(DatasetOwner.dataset_id, literal_column("'owner'"), literal_column("''"), DatasetOwner.owner
                    ).where(DatasetOwner.dataset_id.in_(ids))
    statement = union_all(labels, tags, owners)
    for dataset_id, kind, column, value in session.execute(statement.order_by(statement.selected_columns[3])):
        if kind == "label":
            marks.by_column.setdefault((dataset_id, column), set()).add(value)
            marks.by_dataset.setdefault(dataset_id, set()).add(value)
        else:
            (marks.tags if kind == "tag" else marks.owners).setdefault(dataset_id, []).append(value)
    return marks


def add_descriptions(session: Session, results: list[dict[str, Any]], facts: dict[int, dict[str, Any]]) -> None:
    """Set each shown result's description and its source (the same precedence as the dataset page)."""
    keys = {(facts[r["id"]]["dataset_id"], r["column"] or TABLE) for r in results}
    if not keys:
        return
    comments: dict[Key, str | None] = {(f["dataset_id"], TABLE): f["dataset_comment"] for f in facts.values()}
    written: dict[Key, dict[str, str]] = {}
    for dataset_id, column, kind, text, source, status in session.execute(_texts_statement(keys)):
        if (dataset_id, column) not in keys:
            continue
        if kind == "comment":
            comments[(dataset_id, column)] = text
        else:
            written[(dataset_id, column)] = {"text": text, "source": source, "status": status}
    for result in results:
        key = (facts[result["id"]]["dataset_id"], result["column"] or TABLE)
        result["description"], result["description_source"] = effective(comments.get(key), written.get(key))


def _texts_statement(keys: set[Key]) -> Any:
    """The source comments of the keys' columns and the stored descriptions of all keys, as one UNION ALL of
    (dataset id, column, 'comment' or 'written', text, source, status). Rows of other pairs of the same datasets
    and names come back too; the caller drops them."""
    dataset_ids = sorted({d for d, _ in keys})
    names = sorted({c for _, c in keys})
    written = select(Description.dataset_id, Description.column_name, literal_column("'written'"),
                     Description.text, Description.source, Description.status
                     ).where(Description.dataset_id.in_(dataset_ids), Description.column_name.in_(names))
    columns = [name for name in names if name != TABLE]
    if not columns:
        return written
    comments = select(Column.dataset_id, Column.name, literal_column("'comment'"), Column.native_comment,
                      cast(null(), String), cast(null(), String)
                      ).where(Column.dataset_id.in_(dataset_ids), Column.name.in_(columns))
    return union_all(comments, written)
