"""The checks a staged version must pass before it is accepted: rows, declared columns, PII, quality suite.

Each gate returns a JSON-ready result `{"gate", "passed", ...}` that never quotes a data value: results are
stored with the version and shown to people who may lack the right to read the data.

- rows: an empty table is not a version anyone can train on.
- schema: a new version keeps the declared columns (name and type) of the dataset; adding columns is fine, a
  removal or a type change needs a declared reason (`allow_schema_change`).
- pii: the PII classifier runs on a bounded sample spread along the file; every label at or above the
  suggestion threshold blocks unless the column is declared allowed with a justification. People's decisions on
  the catalog dataset of the same name count: a confirmed label blocks even if the sample misses it, a rejected
  one does not block.
- quality: the dataset's Great Expectations suite; all rows up to `validate_rows`, else an evenly spread sample
  of that many rows (the result says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotator.pii import SUGGEST_THRESHOLD, ColumnContext, classify_columns
from annotator.profile import typed_values
from connectors.objects.arrow_columns import fields_from_arrow
from connectors.published import sample_parquet

MIN_JUSTIFICATION = 10


def check_rows(rows: int) -> dict[str, Any]:
    return {"gate": "rows", "passed": rows > 0, "rows": rows,
            "message": None if rows > 0 else "the table is empty: a version needs at least one row"}


def check_schema(declared: list[dict[str, Any]], schema: pa.Schema, allow_change: str | None) -> dict[str, Any]:
    current = {field.name: str(field.type) for field in schema}
    known = {column["name"] for column in declared}
    removed = [column for column in declared if column["name"] not in current]
    changed = [{"name": c["name"], "old": c["type"], "new": current[c["name"]]}
               for c in declared if c["name"] in current and current[c["name"]] != c["type"]]
    added = [{"name": name, "type": kind} for name, kind in current.items() if name not in known]
    breaking = bool(removed or changed)
    passed = not breaking or bool(allow_change)
    message = None
    if breaking and not passed:
        parts = [f"removes {', '.join(repr(c['name']) for c in removed)}" if removed else "",
                 f"changes the type of {', '.join(repr(c['name']) for c in changed)}" if changed else ""]
        message = (f"the new data {' and '.join(p for p in parts if p)} of the declared columns; publish with a "
                   "schema-change justification to break them on purpose")
    return {"gate": "schema", "passed": passed, "added": added, "removed": removed, "type_changed": changed,
            "breaking": breaking, "justification": allow_change if breaking else None, "message": message}


def scan_pii(path: Path, sample_rows: int, allow: Mapping[str, str], decisions: Mapping[str, dict[str, str]],
             dataset: str) -> dict[str, Any]:
    """Classify a sample of the staged file; block on unallowed personal data."""
    parquet = pq.ParquetFile(str(path))
    specs = fields_from_arrow(parquet.schema_arrow)
    sample = sample_parquet(parquet, [s.name for s in specs], sample_rows)
    contexts = [ColumnContext(name=s.name, normalized_type=s.normalized_type, native_type=s.native_type,
                              comment=s.comment, values=typed_values(sample.values.get(s.name, []), s.normalized_type))
                for s in specs]
    found: dict[str, dict[str, Any]] = {}
    for spec, findings in zip(specs, classify_columns(contexts, dataset=dataset), strict=True):
        decided = decisions.get(spec.name, {})
        for finding in findings:
            if finding.confidence >= SUGGEST_THRESHOLD and decided.get(finding.label) != "rejected":
                found.setdefault(spec.name, {})[finding.label] = {
                    "confidence": round(finding.confidence, 3), "by": "classifier",
                    "evidence": [e.detail for e in finding.evidence][:6]}
    for column, labels in decisions.items():
        for label, status in labels.items():
            if status == "confirmed" and column in {s.name for s in specs}:
                found.setdefault(column, {}).setdefault(label, {"confidence": 1.0, "by": "confirmed by a person",
                                                                "evidence": []})
    findings = [{"column": column, "label": label, **detail, "allowed": column in allow}
                for column, labels in sorted(found.items()) for label, detail in sorted(labels.items())]
    blocking = [f for f in findings if not f["allowed"]]
    message = None
    if blocking:
        columns = sorted({f["column"] for f in blocking})
        message = (f"personal data in {', '.join(repr(c) for c in columns)} "
                   f"({', '.join(sorted({f['label'] for f in blocking}))}); remove it, or declare each column "
                   "allowed with a justification")
    return {"gate": "pii", "passed": not blocking, "findings": findings, "sample_rows": sample.rows,
            "method": sample.method, "message": message}


def check_allowances(allow: Mapping[str, str], schema: pa.Schema) -> None:
    """Every allowance names a real column and gives a reason worth recording."""
    from catalog.errors import InvalidInput

    names = set(schema.names) | {s.name for s in fields_from_arrow(schema)}
    for column, reason in allow.items():
        if column not in names:
            raise InvalidInput(f"PII allowance names column '{column}', which the data does not have")
        if len((reason or "").strip()) < MIN_JUSTIFICATION:
            raise InvalidInput(f"PII allowance for '{column}' needs a justification of at least "
                               f"{MIN_JUSTIFICATION} characters (it is recorded with the version)")


def run_suite(table: pa.Table, rows: int, sampled: bool, suite: dict[str, Any] | None) -> dict[str, Any]:
    """The dataset's Great Expectations suite on the staged data (`table`: all rows, or an even sample)."""
    if not suite or not suite.get("expectations"):
        return {"gate": "quality", "passed": True, "skipped": True,
                "message": "no expectation suite yet: this version's data defines the default one"}
    from catalog.quality import validate

    report = validate(table, suite).to_json()
    failures = [r for r in report.get("results", []) if not r.get("success")]
    message = None
    if not report.get("success"):
        names = ", ".join(sorted({f"{r.get('type')}({r.get('column') or 'table'})" for r in failures})[:8])
        message = f"{len(failures)} expectation(s) failed: {names}"
    return {"gate": "quality", "passed": bool(report.get("success")), "validated_rows": table.num_rows,
            "rows": rows, "sampled": sampled, "report": report, "message": message}


def read_rows_for_validation(path: Path, limit: int) -> tuple[pa.Table, int, bool]:
    """The whole table when it has at most `limit` rows, else whole row groups spread evenly until `limit`."""
    parquet = pq.ParquetFile(str(path))
    total = parquet.metadata.num_rows
    if total <= limit:
        return parquet.read(), total, False
    groups = parquet.metadata.num_row_groups
    average = max(1, total // max(groups, 1))
    wanted = max(1, min(groups, -(-limit // average)))
    chosen = sorted({round(i * (groups - 1) / max(wanted - 1, 1)) for i in range(wanted)})
    table = parquet.read_row_groups(chosen)
    if table.num_rows > limit:
        table = table.slice(0, limit)
    return table, total, True
