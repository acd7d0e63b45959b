"""Redacting a large table's batches in worker processes, in order, a few batches in flight.

Why processes: a recipe's costly rules hold the GIL (HMAC-SHA256 is a Python loop over values, ~2.5 µs each) or
scale poorly on threads (Arrow's regex replacement), so one process redacts at one core's speed while the other
core waits. Workers are started with `spawn` (forking a process that runs threads, such as a web server or the
reader thread of `catalog.streams.prefetch`, is unsafe); each builds its own `Redactor` once, and batches travel
as Arrow IPC buffers (pickling a RecordBatch), a copy per batch that is small next to redacting it.

The HMAC key goes to the workers through their start-up arguments (a pipe), lives in their memory only, and dies
with them; it is never written anywhere. Results come back in submission order, so the output, and the
version's bytes, are the same as redacting in-process. Small tables stay in-process: starting workers costs
about half a second.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pyarrow as pa

from catalog.errors import CatalogError
from catalog.redaction import Recipe, Redactor, parse_recipe

MIN_ROWS_FOR_WORKERS = 400_000
IN_FLIGHT_PER_WORKER = 2

_redactor: Redactor | None = None  # the worker's own, built once by `_start`


def worker_count(rows_estimate: int | None) -> int:
    """Workers for a table of about `rows_estimate` rows: every core for big tables, none for small ones."""
    if rows_estimate is None or rows_estimate < MIN_ROWS_FOR_WORKERS:
        return 0
    return max(0, min(os.cpu_count() or 1, int(os.environ.get("CATALOG_REDACT_WORKERS", "64"))))


def redact_batches(recipe: Recipe, schema: pa.Schema, key: bytes | None, batches: Iterable[pa.RecordBatch],
                   workers: int) -> Iterator[pa.RecordBatch]:
    """The redacted batches, in order: in this process when `workers` < 2, else spread over `workers`
    processes with at most `IN_FLIGHT_PER_WORKER` batches each in flight (memory stays a few batches)."""
    if workers < 2:
        redactor = Redactor(recipe, schema, key)
        yield from (redactor(batch) for batch in batches)
        return
    Redactor(recipe, schema, key)  # the same checks as in-process, raised here before any worker starts
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                               initargs=(recipe.as_dict(), schema, key))
    pending: deque[Future[pa.RecordBatch]] = deque()
    try:
        for batch in batches:
            pending.append(pool.submit(_redact, batch))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        raise CatalogError("a redaction worker process ended abruptly (killed, or out of memory); nothing was "
                           "published: publish again, or set CATALOG_REDACT_WORKERS=1 to redact in-process") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start(recipe: dict[str, Any], schema: pa.Schema, key: bytes | None) -> None:
    global _redactor
    _redactor = Redactor(parse_recipe(recipe), schema, key)


def _redact(batch: pa.RecordBatch) -> pa.RecordBatch:
    assert _redactor is not None, "worker used before its start-up"
    return _redactor(batch)
