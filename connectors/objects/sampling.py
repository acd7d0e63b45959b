"""Bounded reads of a file's beginning: decompressed, decoded to text, never more than a sample.

CSV and JSON have no footer, so their schema comes from the first `sample_bytes` of decompressed content. Gzip
(including multi-member files) and zstd (including multi-frame files) are decompressed as a stream, chunk by
chunk, so a 10 GB `.csv.gz` costs one small read.
"""

from __future__ import annotations

import codecs
import zlib
from dataclasses import dataclass
from typing import Any

from connectors.objects.stores import ObjectInfo, ObjectStore

CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class Head:
    data: bytes
    complete: bool  # the whole (decompressed) file is in `data`
    consumed: int  # stored (possibly compressed) bytes that produced `data` (pro rata for the last chunk)


class _Gzip:
    def __init__(self) -> None:
        self._inner = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)

    def decompress(self, chunk: bytes) -> bytes:
        out = [self._inner.decompress(chunk)]
        while self._inner.eof and self._inner.unused_data:  # the next member of a multi-member gzip file
            rest = self._inner.unused_data
            self._inner = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            out.append(self._inner.decompress(rest))
        return b"".join(out)


def _decompressor(compression: str) -> Any:
    if compression == "gzip":
        return _Gzip()
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)
    raise ValueError(f"unknown compression {compression}")


def read_head(store: ObjectStore, info: ObjectInfo, compression: str | None, sample_bytes: int) -> Head:
    """Up to `sample_bytes` of the file's content (raises StoreError, or ValueError for corrupt compression)."""
    if compression is None:
        data = store.read_range(info.key, 0, min(info.size, sample_bytes))
        return Head(data, info.size <= sample_bytes, len(data))
    decompressor = _decompressor(compression)
    parts: list[bytes] = []
    produced = consumed = 0
    sample_cost = 0.0  # stored bytes that produced the first `sample_bytes` of content
    while consumed < info.size and produced < sample_bytes:
        chunk = store.read_range(info.key, consumed, min(CHUNK, info.size - consumed))
        if not chunk:
            break
        consumed += len(chunk)
        try:
            out = decompressor.decompress(chunk)
        except (zlib.error, Exception) as exc:  # zstandard.ZstdError has no common base with zlib.error
            raise ValueError(f"corrupt {compression} data: {exc}") from None
        parts.append(out)
        # A chunk usually decompresses past the sample: only the share of it inside the sample is counted, or
        # row estimates (file size x rows / stored bytes) would be too low by the overshoot.
        wanted = sample_bytes - produced
        sample_cost += len(chunk) if len(out) <= wanted else len(chunk) * wanted / len(out)
        produced += len(out)
    data = b"".join(parts)
    complete = consumed >= info.size and produced <= sample_bytes
    return Head(data[:sample_bytes], complete, max(1, round(sample_cost)) if data else consumed)


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    encoding: str
    problem: str | None  # set when the bytes were not what they claimed to be


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _as_cp1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("objects.cp1252", _as_cp1252)


def decode(data: bytes, complete: bool) -> Text:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; bytes that are not valid UTF-8 are read as Windows-1252
    and reported, because a file that is not valid UTF-8 will break most readers downstream. Only the invalid
    bytes are: a UTF-8 file with a few stray Windows-1252 rows keeps its UTF-8 header names intact."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Text(data.decode(encoding, errors="replace"), encoding, None)
    try:
        return Text(data.decode("utf-8"), "utf-8", None)
    except UnicodeDecodeError as exc:
        if not complete and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return Text(data[: exc.start].decode("utf-8"), "utf-8", None)  # the sample cut a character in two
        text = data.decode("utf-8", errors="objects.cp1252")
        problem = f"not valid UTF-8 (first bad byte at offset {exc.start}); "
        if text == data.decode("cp1252", errors="replace"):  # no UTF-8 beyond ASCII: a Windows-1252 file
            return Text(text, "cp1252", problem + "read as Windows-1252")
        return Text(text, "utf-8", problem + "its invalid bytes read as Windows-1252")


def whole_lines(text: str, complete: bool) -> str:
    """Drop the last, possibly cut, line of a partial sample."""
    if complete:
        return text
    cut = text.rfind("\n")
    return text[: cut + 1] if cut >= 0 else ""
