"""Redaction spread over worker processes gives exactly the in-process result, in order, and fails loudly."""

from __future__ import annotations

import pyarrow as pa
import pytest

from catalog.errors import CatalogError
from catalog.redact_pool import MIN_ROWS_FOR_WORKERS, redact_batches, worker_count
from catalog.redaction import load_recipe

KEY = b"pool-test-key-0123456789abcdef"
RECIPE = load_recipe("""
version: 1
default: keep
columns:
  email: {rule: hash, length: 20}
  note: {rule: scrub}
  amount: {rule: generalise, to: bucket, width: 100}
""")


def _batches(count: int, rows: int) -> list[pa.RecordBatch]:
    return [pa.RecordBatch.from_pydict({
        "id": list(range(b * rows, (b + 1) * rows)),
        "email": [f"user{b}-{i}@example.org" for i in range(rows)],
        "note": [f"batch {b}: call +44 20 7946 {i:04d}" if i % 3 == 0 else "nothing here" for i in range(rows)],
        "amount": [float(i * 7) for i in range(rows)],
    }) for b in range(count)]


def test_workers_give_the_in_process_result_in_order() -> None:
    batches = _batches(9, 2000)
    alone = list(redact_batches(RECIPE, batches[0].schema, KEY, batches, workers=0))
    pooled = list(redact_batches(RECIPE, batches[0].schema, KEY, iter(batches), workers=2))
    assert [b.num_rows for b in pooled] == [2000] * 9
    assert pa.Table.from_batches(pooled).equals(pa.Table.from_batches(alone))
    assert pooled[4].column("id")[0].as_py() == 8000 and "[phone]" in pooled[4].column("note")[0].as_py()


def test_a_failure_in_a_worker_reaches_the_caller() -> None:
    batches = _batches(3, 100)
    bad = pa.RecordBatch.from_pydict({"id": [1], "mail": ["x@y.org"], "note": ["n"], "amount": [1.0]})
    with pytest.raises(CatalogError, match="columns differ"):
        list(redact_batches(RECIPE, batches[0].schema, KEY, [*batches, bad], workers=2))


def test_only_big_tables_use_workers() -> None:
    assert worker_count(None) == 0 and worker_count(MIN_ROWS_FOR_WORKERS - 1) == 0
    assert worker_count(MIN_ROWS_FOR_WORKERS) >= 1
