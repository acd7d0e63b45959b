"""Decode a version's row groups while its bytes are still downloading (`Client(..., decode_while_downloading=True)`
on an empty cache; off by default because on 2 cores it measured slower than downloading first, see `Client`).

A cold `get` used to download the whole file (hashing it on arrival), then decode it: two phases of about the
same length, one after the other. Parquet keeps its metadata in a footer at the end of the file, so the client
asks for the footer first (an HTTP Range request for the last bytes), and from it knows where each row group's
column chunks lie. A `RowGroupDecoder` thread then decodes row group `i` as soon as the download has passed its
last byte, reading the growing cache file through a memory map (page cache, no copy), while the download, the
hashing and the cache write go on.

Nothing decoded is trusted before the whole file hashed to the catalog's content hash: the caller joins the
decoder only after `Incoming.finish` succeeded, and checks that the footer it decoded with is byte for byte the
footer of the verified file (it came in a separate response). A decoding error on bytes that then fail the hash
is the corrupt download the hash reports; on bytes that pass it, the caller reads the verified file the usual way.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.client_cache import Incoming

MAGIC = b"PAR1"
TAIL_BYTES = 256 * 1024  # one request holds the footer of a file with hundreds of row groups (82 KB for 84 here)


class NotParquet(ValueError):
    """The tail is not a Parquet footer (or not all of it): the caller falls back to download-then-read."""


def footer_length(tail: bytes) -> int:
    """Bytes of the footer including its 8-byte trailer (length + magic), read from the end of the file."""
    if len(tail) < 12 or tail[-4:] != MAGIC:
        raise NotParquet("no Parquet magic at the end of the file")
    return struct.unpack("<I", tail[-8:-4])[0] + 8


def parse_footer(tail: bytes, size: int) -> pq.FileMetaData:
    """The file's metadata from its last bytes (`tail` must hold the whole footer, and the file its header)."""
    needed = footer_length(tail)
    if needed > len(tail) or needed + len(MAGIC) > size:
        raise NotParquet(f"the footer needs {needed:,} bytes, {len(tail):,} were fetched")
    try:
        return pq.read_metadata(pa.BufferReader(tail[-needed:]))
    except (pa.ArrowException, OSError) as exc:
        raise NotParquet(f"unreadable footer: {exc}") from None


def _chunk_end(chunk: Any) -> int:
    """Where a column chunk's bytes end: it starts at its dictionary page (when it has one) or its first data
    page, and spans `total_compressed_size` bytes."""
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and chunk.dictionary_page_offset:
        start = min(start, chunk.dictionary_page_offset)
    return start + chunk.total_compressed_size


def row_group_ends(metadata: pq.FileMetaData, data_end: int) -> list[int]:
    """For each row group, how many bytes of the file must have arrived before it can be decoded. Clamped to
    `data_end` (where the footer starts), so a row group with odd offsets waits for all the data rather than
    reading bytes that are not there yet."""
    ends = []
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        end = max((_chunk_end(group.column(c)) for c in range(group.num_columns)), default=data_end)
        ends.append(end if 0 < end <= data_end else data_end)
    return ends


class RowGroupDecoder:
    """Decodes row groups on its own thread as their bytes land in an `Incoming` entry.

    One thread calls `read_row_group` in order (a `ParquetFile` is not meant to be read from several threads);
    Arrow decodes the columns of each row group on its own pool with the GIL released, so the download loop and
    the hashing thread keep running. `use_threads=False` keeps decoding on this one thread: on two cores a
    decoder pool competes with the download for the same CPUs.
    """

    def __init__(self, incoming: Incoming, metadata: pq.FileMetaData, footer_bytes: int,
                 columns: list[str] | None, use_threads: bool = True) -> None:
        self._incoming, self._metadata, self._columns = incoming, metadata, columns
        self._use_threads = use_threads
        self._ends = row_group_ends(metadata, incoming.size - footer_bytes)
        self._tables: list[pa.Table] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="cache-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Decode each row group once its bytes are there; stop at the first error or a download that ended
        short (the caller learns which from `finish`)."""
        try:
            path = self._incoming.partial_path
            if path is None:
                raise RuntimeError("the download was discarded before decoding started")
            with pa.memory_map(str(path)) as source:
                parquet = pq.ParquetFile(source, metadata=self._metadata)
                for index, end in enumerate(self._ends):
                    if not self._incoming.wait_for(end):
                        raise RuntimeError(f"the download ended before row group {index} arrived")
                    self._tables.append(parquet.read_row_group(index, columns=self._columns,
                                                               use_threads=self._use_threads))
        except BaseException as exc:  # reported by `table`, after the hash decided what it means
            self.error = exc

    @property
    def decoded(self) -> int:
        """Row groups decoded so far (progress, for tests and callers that report it)."""
        return len(self._tables)

    def join(self) -> None:
        """Wait for the thread (it stops on its own once the download ended, successfully or not)."""
        self._thread.join()

    def table(self) -> pa.Table:
        """The decoded row groups as one table; raises the decoding error, if any (call after `join`)."""
        if self.error is not None:
            raise self.error
        if len(self._tables) != len(self._ends):
            raise RuntimeError(f"decoded {len(self._tables)} of {len(self._ends)} row groups")
        return pa.concat_tables(self._tables)
