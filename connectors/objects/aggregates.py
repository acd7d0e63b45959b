"""Running summaries of the files that make up one dataset, folded in one file at a time.

A dataset of 100,000 files must not hold 100,000 file records, so each group keeps counts, a merged schema and
at most `MAX_VARIANTS` distinct file schemas (to report how files differ), never the list of files.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.objects.arrow_columns import FieldSpec
from connectors.objects.readers import FileFacts

MAX_VARIANTS = 20
MAX_PARTITION_VALUES = 1000
MAX_SUBFOLDERS = 100
IMAGE_SAMPLE = 20
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
INTEGER_VALUE = re.compile(r"-?(0|[1-9][0-9]{0,17})")  # a partition value typed int64


def _widest(normalized: set[str]) -> str:
    if len(normalized) == 1:
        return next(iter(normalized))
    if normalized <= {"integer", "float"}:
        return "float"
    if normalized <= {"integer", "decimal"}:
        return "decimal"
    if normalized <= {"date", "timestamp"}:
        return "timestamp"
    return "other"


@dataclass
class MergedField:
    spec: FieldSpec
    native_types: set[str]
    normalized: set[str]
    nullable: bool
    files: int = 0


@dataclass
class Variant:
    signature: tuple[tuple[str, str], ...]
    files: int
    example: str


@dataclass
class PartitionKey:
    values: set[str] = field(default_factory=set)
    overflow: bool = False
    all_integers: bool = True
    has_null: bool = False

    def add(self, value: str) -> None:
        if value == HIVE_NULL:
            self.has_null = True
            return
        if self.all_integers and not INTEGER_VALUE.fullmatch(value):
            self.all_integers = False
        if len(self.values) < MAX_PARTITION_VALUES:
            self.values.add(value)
        else:
            self.overflow = self.overflow or value not in self.values


@dataclass
class TabularGroup:
    """Files of one tabular dataset: a partitioned folder, or files of one format and compatible schema."""

    format_class: str
    first_stem: str
    stem_prefix: str
    partitioned: bool = False
    first_name: str = ""  # the first file's name, which is how a one-file dataset is found again
    files: int = 0
    readable: int = 0
    unreadable: int = 0
    bytes: int = 0
    rows: int = 0
    rows_known: bool = False
    rows_exact: bool = True
    last_modified: datetime | None = None
    formats: Counter[str] = field(default_factory=Counter)
    fields: dict[str, MergedField] = field(default_factory=dict)
    variants: dict[tuple[tuple[str, str], ...], Variant] = field(default_factory=dict)
    other_variants: int = 0
    partition_keys: dict[str, PartitionKey] = field(default_factory=dict)
    partition_layouts: Counter[tuple[str, ...]] = field(default_factory=Counter)
    partitions: int = 0
    last_partition: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.fields)

    def add_listing(self, facts: FileFacts, partition: list[tuple[str, str]], partition_path: str) -> None:
        info = facts.info
        if not self.files:
            self.first_name = info.key.rsplit("/", 1)[-1]
        self.files += 1
        self.bytes += info.size
        self.formats[facts.kind.label] += 1
        if info.modified is not None and (self.last_modified is None or info.modified > self.last_modified):
            self.last_modified = info.modified
        self.stem_prefix = _common_prefix(self.stem_prefix, facts.kind.stem)
        if partition:
            self.partitioned = True
            self.partition_layouts[tuple(k for k, _ in partition)] += 1
            for key, value in partition:
                self.partition_keys.setdefault(key, PartitionKey()).add(value)
            if partition_path != self.last_partition:  # depth-first listing: each partition's files are adjacent
                self.partitions += 1
                self.last_partition = partition_path

    def add_schema(self, facts: FileFacts) -> None:
        if facts.fields is None:
            self.unreadable += 1
            return
        self.readable += 1
        if facts.rows is not None:
            self.rows += facts.rows
            self.rows_known = True
        self.rows_exact = self.rows_exact and facts.rows_exact
        if not self.details:
            self.details = {k: v for k, v in facts.details.items() if k in ("delimiter", "header", "encoding")}
        for spec in facts.fields:
            merged = self.fields.get(spec.name)
            if merged is None:
                merged = self.fields[spec.name] = MergedField(spec, set(), set(), False)
            merged.native_types.add(spec.native_type)
            merged.normalized.add(spec.normalized_type)
            merged.nullable = merged.nullable or spec.nullable
            merged.files += 1
        signature = tuple((f.name, f.native_type) for f in facts.fields)
        variant = self.variants.get(signature)
        if variant is not None:
            variant.files += 1
        elif len(self.variants) < MAX_VARIANTS:
            self.variants[signature] = Variant(signature, 1, facts.info.key)
        else:
            self.other_variants += 1

    def merged_fields(self) -> list[FieldSpec]:
        """The union of all files' columns in first-seen order; a column missing from some files is nullable,
        one typed differently across files gets the union of its types."""
        merged: list[FieldSpec] = []
        for item in self.fields.values():
            native = item.spec.native_type if len(item.native_types) == 1 else "|".join(sorted(item.native_types))
            nullable = item.nullable or item.files < self.readable
            merged.append(FieldSpec(item.spec.name, native, _widest(item.normalized), nullable,
                                    item.spec.nested_path, item.spec.comment))
        return merged

    def partition_fields(self) -> list[FieldSpec]:
        return [
            FieldSpec(key, "int64" if part.all_integers and part.values else "string",
                      "integer" if part.all_integers and part.values else "string", part.has_null)
            for key, part in self.partition_keys.items() if key not in self.fields
        ]

    def differences(self) -> str | None:
        """One line on how files' schemas differ from the most common one, or None when they all agree."""
        if len(self.variants) + self.other_variants <= 1:
            return None
        ranked = sorted(self.variants.values(), key=lambda v: -v.files)
        common = dict(ranked[0].signature)
        parts = []
        for variant in ranked[1:4]:
            mine = dict(variant.signature)
            added = [n for n in mine if n not in common]
            missing = [n for n in common if n not in mine]
            retyped = [f"{n} {common[n]}->{mine[n]}" for n in mine if n in common and mine[n] != common[n]]
            said = "; ".join(x for x in (
                f"adds {', '.join(added[:5])}" if added else "",
                f"lacks {', '.join(missing[:5])}" if missing else "",
                f"retypes {', '.join(retyped[:5])}" if retyped else "",
            ) if x) or "orders columns differently"
            parts.append(f"{variant.files} file(s) like '{variant.example}' {said}")
        others = len(ranked) - 4 + (1 if self.other_variants else 0)
        tail = f"; and {others} more schema(s)" if others > 0 else ""
        return (f"files differ in schema: {ranked[0].files} of {self.readable} share the most common one; "
                + "; ".join(parts) + tail)

    def absorb(self, other: TabularGroup) -> None:
        """Fold another group of the same folder into this (partitioned) one."""
        self.files += other.files
        self.readable += other.readable
        self.unreadable += other.unreadable
        self.bytes += other.bytes
        self.rows += other.rows
        self.rows_known = self.rows_known or other.rows_known
        self.rows_exact = self.rows_exact and other.rows_exact
        self.formats.update(other.formats)
        if other.last_modified and (self.last_modified is None or other.last_modified > self.last_modified):
            self.last_modified = other.last_modified
        for name, item in other.fields.items():
            mine = self.fields.get(name)
            if mine is None:
                self.fields[name] = item
                continue
            mine.native_types |= item.native_types
            mine.normalized |= item.normalized
            mine.nullable = mine.nullable or item.nullable
            mine.files += item.files
        for signature, variant in other.variants.items():
            if signature in self.variants:
                self.variants[signature].files += variant.files
            elif len(self.variants) < MAX_VARIANTS:
                self.variants[signature] = variant
            else:
                self.other_variants += variant.files
        self.other_variants += other.other_variants


def _common_prefix(current: str, stem: str) -> str:
    if current == "\0":
        return stem
    length = 0
    for a, b in zip(current, stem, strict=False):
        if a != b:
            break
        length += 1
    return current[:length]


@dataclass
class FileCollection:
    """Images, audio and other binaries of one folder (and of binary-only subfolders merged into it)."""

    files: int = 0
    bytes: int = 0
    last_modified: datetime | None = None
    families: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    subfolders: Counter[str] = field(default_factory=Counter)
    dimensions: list[tuple[int, int]] = field(default_factory=list)
    image_formats: Counter[str] = field(default_factory=Counter)
    unreadable_images: int = 0
    sampling: int = 0  # image reads submitted and not folded yet

    def add(self, facts: FileFacts, subfolder: str | None) -> None:
        info = facts.info
        self.files += 1
        self.bytes += info.size
        self.families[facts.kind.family.value] += 1
        self.formats[facts.kind.format] += 1
        if subfolder is not None and (subfolder in self.subfolders or len(self.subfolders) < MAX_SUBFOLDERS):
            self.subfolders[subfolder] += 1
        if info.modified is not None and (self.last_modified is None or info.modified > self.last_modified):
            self.last_modified = info.modified

    def wants_image_sample(self) -> bool:
        return len(self.dimensions) + self.unreadable_images + self.sampling < IMAGE_SAMPLE

    def add_image(self, facts: FileFacts) -> None:
        if "width" in facts.details:
            self.dimensions.append((facts.details["width"], facts.details["height"]))
            self.image_formats[str(facts.details.get("image_format"))] += 1
        else:
            self.unreadable_images += 1

    def absorb(self, other: FileCollection, subfolder: str) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.families.update(other.families)
        self.formats.update(other.formats)
        if subfolder in self.subfolders or len(self.subfolders) < MAX_SUBFOLDERS:
            self.subfolders[subfolder] += other.files
        room = IMAGE_SAMPLE - len(self.dimensions)
        self.dimensions.extend(other.dimensions[:max(0, room)])
        self.image_formats.update(other.image_formats)
        self.unreadable_images += other.unreadable_images
        if other.last_modified and (self.last_modified is None or other.last_modified > self.last_modified):
            self.last_modified = other.last_modified

    def content(self) -> str:
        return self.families.most_common(1)[0][0] if len(self.families) == 1 else "mixed"
