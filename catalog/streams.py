"""Overlap producing batches with consuming them: one reader thread a couple of batches ahead.

Publishing from a database reads (network, CSV parsing in Arrow, which releases the GIL), redacts (Arrow
kernels and HMACs) and writes Parquet (compression, GIL released); on two cores, reading on its own thread
while the caller redacts and writes is what keeps both busy. The queue is bounded, so memory stays at a few
batches whatever the table's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_S = 0.2


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `items` yields, produced on a background thread at most `depth` items ahead. An exception in
    the producer is raised here, in the consumer; when the consumer stops early (an error while writing, or
    closing this generator), the producer stops at its next item and closes `items` (releasing its cursor)."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(slots, item, stop):
                    return
            _put(slots, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, raised there
            _put(slots, exc, stop)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def _put(slots: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Queue `item` unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            slots.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
