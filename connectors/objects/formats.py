"""What a file is, from its name: a tabular format (possibly compressed), an image, audio, or another binary.

The name decides how a file is read and how files group into datasets; content checks (magic bytes) happen in
the readers, which report a file whose content does not match its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    TABULAR = "tabular"
    IMAGE = "image"
    AUDIO = "audio"
    OTHER = "other"


COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
TABULAR = {
    ".parquet": "parquet", ".pq": "parquet", ".parq": "parquet",
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow",
}
IMAGES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
AUDIO = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".m4a", ".aac", ".opus"}
# Formats that need random access (a footer): they cannot be read through a stream decompressor.
RANDOM_ACCESS = {"parquet", "arrow"}
# Formats that group together into one dataset: TSV files are CSV files with another delimiter, and so on.
_FORMAT_CLASS = {"tsv": "csv", "jsonl": "json"}


def format_class(format_: str) -> str:
    return _FORMAT_CLASS.get(format_, format_)


@dataclass(frozen=True, slots=True)
class FileKind:
    family: Family
    format: str  # "parquet", "csv", ... for tabular; the lower-case extension (or "none") otherwise
    compression: str | None = None
    stem: str = ""  # the file name without format and compression extensions

    @property
    def label(self) -> str:
        return f"{self.format}+{self.compression}" if self.compression else self.format


def classify(name: str) -> FileKind:
    lower = name.lower()
    stem, compression = name, None
    for suffix, codec in COMPRESSIONS.items():
        if lower.endswith(suffix):
            stem, lower, compression = name[: -len(suffix)], lower[: -len(suffix)], codec
            break
    dot = lower.rfind(".")
    extension = lower[dot:] if dot > 0 else ""
    base = stem[:dot] if dot > 0 else stem
    if extension in TABULAR:
        return FileKind(Family.TABULAR, TABULAR[extension], compression, base)
    if compression:  # `notes.txt.gz`: a compressed something we do not read
        return FileKind(Family.OTHER, (extension or ".none")[1:] + "+" + compression, None, base)
    if extension in IMAGES:
        return FileKind(Family.IMAGE, extension[1:], None, base)
    if extension in AUDIO:
        return FileKind(Family.AUDIO, extension[1:], None, base)
    return FileKind(Family.OTHER, extension[1:] or "none", None, base)
