"""Arrow schemas (from Parquet footers, Arrow files, or types inferred from CSV samples) as catalog columns.

Structs are flattened into dotted paths and lists of structs into `path[].field`, the same shape the document
connector uses, so `address.city` means the same thing in a Parquet file and in a MongoDB collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.types as pat

MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A column as one file reports it; files of a dataset are merged field by field."""

    name: str
    native_type: str
    normalized_type: str
    nullable: bool = True
    nested_path: str | None = None
    comment: str | None = None


@dataclass
class SampleSchema:
    """What a text sample (CSV, JSON) says about its file: columns, rows in the sample, format details
    (dialect, layout) and problems worth a warning."""

    fields: list[FieldSpec]
    rows: int
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def normalize_arrow(data_type: pa.DataType) -> str:
    checks = (
        (pat.is_boolean, "boolean"), (pat.is_integer, "integer"), (pat.is_floating, "float"),
        (pat.is_decimal, "decimal"), (pat.is_timestamp, "timestamp"), (pat.is_date, "date"),
        (pat.is_time, "time"), (pat.is_duration, "interval"), (pat.is_interval, "interval"),
        (lambda t: pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t), "string"),
        (lambda t: pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t)
         or pat.is_binary_view(t), "binary"),
        (lambda t: pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t) or pat.is_list_view(t),
         "array"),
        (pat.is_struct, "struct"), (pat.is_map, "json"),
    )
    if pat.is_dictionary(data_type):
        return normalize_arrow(data_type.value_type)
    for check, name in checks:
        if check(data_type):
            return name
    return "other"


def _comment(field: pa.Field) -> str | None:
    """Field-level descriptions some writers keep in Arrow metadata (`description` or `comment`)."""
    metadata = field.metadata or {}
    for key in (b"description", b"comment", b"doc"):
        if key in metadata:
            return metadata[key].decode("utf-8", "replace")[:4000] or None
    return None


def _list_value_field(data_type: pa.DataType) -> pa.Field | None:
    if pat.is_list(data_type) or pat.is_large_list(data_type) or pat.is_fixed_size_list(data_type):
        return data_type.value_field
    return None


def fields_from_arrow(schema: pa.Schema) -> list[FieldSpec]:
    specs: list[FieldSpec] = []

    def visit(field: pa.Field, path: str, parent: str | None, depth: int) -> None:
        data_type = field.type
        specs.append(FieldSpec(path, str(data_type), normalize_arrow(data_type), field.nullable, parent,
                               _comment(field)))
        if depth >= MAX_DEPTH:
            return
        if pat.is_struct(data_type):
            for index in range(data_type.num_fields):
                child = data_type.field(index)
                visit(child, f"{path}.{child.name}", path, depth + 1)
            return
        value = _list_value_field(data_type)
        if value is not None and pat.is_struct(value.type):
            element = f"{path}[]"
            for index in range(value.type.num_fields):
                child = value.type.field(index)
                visit(child, f"{element}.{child.name}", element, depth + 1)

    for top in schema:
        visit(top, top.name, None, 0)
    return specs
