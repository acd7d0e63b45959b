"""Infer a CSV/TSV file's dialect, header and column types from a bounded text sample.

Types are inferred here rather than by pyarrow's CSV reader, whose inference turns zip codes like `02139` into
integers and stops at the first ragged row; a catalog must keep `02139` a string and report ragged rows instead.
Native types are written in Arrow's notation (`int64`, `double`, `timestamp[s]`) like those of Parquet files,
so a dataset whose files are CSV and Parquet compares like with like.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass
from typing import Any

from connectors.objects.arrow_columns import FieldSpec, SampleSchema

SNIFF_CHARS = 64 * 1024
_INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]{0,18})")
# No leading zeros (`02139` is a code, not a number), as for integers.
_FLOAT = re.compile(r"[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)", re.IGNORECASE)
_NAME = re.compile(r"[^\W\d][\w .()/#%-]{0,63}")
_BOOLEAN = {"true", "false"}
_DATE = re.compile(r"[0-9]{4}-[01][0-9]-[0-3][0-9]")
_TIMESTAMP = re.compile(r"[0-9]{4}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
                        r"(Z|[+-][0-2][0-9]:?[0-5][0-9])?")
# Most specific first: a column takes the first type every non-empty sampled value fits.
_TYPES: tuple[tuple[str, str, Any], ...] = (
    ("bool", "boolean", lambda v: v.lower() in _BOOLEAN),
    ("int64", "integer", _INTEGER.fullmatch),
    ("double", "float", _FLOAT.fullmatch),
    ("date32[day]", "date", _DATE.fullmatch),
    ("timestamp[s]", "timestamp", _TIMESTAMP.fullmatch),
)


def _dialect(sample: str, forced: str | None) -> type[csv.Dialect] | csv.Dialect:
    if forced:
        class Forced(csv.excel):
            delimiter = forced
        return Forced
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel  # one column, or nothing a sniffer can tell: plain comma-separated


def _value_type(values: list[str]) -> tuple[str, str]:
    present = [v for v in values if v != ""]
    if not present:
        return "string", "string"
    for native, normalized, fits in _TYPES:
        if all(fits(v.strip()) for v in present):
            return native, normalized
    return "string", "string"


def _looks_like_header(first: list[str], column_types: list[str], sniffer_says: bool) -> bool:
    """Header cells are non-empty, distinct and untyped. Then it is a header when the data columns under it are
    typed, when the sniffer's own heuristic (cell lengths) says so, or when every cell reads like a column name
    (most CSV files have a header; a headerless all-text file whose first row reads like names is the price)."""
    if not first or any(not cell.strip() for cell in first) or len(set(first)) != len(first):
        return False
    if any(_value_type([cell])[0] != "string" for cell in first):
        return False
    return any(t != "string" for t in column_types) or sniffer_says or \
        all(_NAME.fullmatch(cell.strip()) for cell in first)


def _unique_names(cells: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells, start=1):
        base = cell.strip() or f"column_{index}"
        name, suffix = base, 2
        while name in seen:
            name, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(name)
        names.append(name)
    return names


@dataclass
class ParsedCsv:
    """A CSV sample split into rows, with the dialect and header decisions the crawl makes."""

    dialect: type[csv.Dialect] | csv.Dialect
    header: bool
    names: list[str]
    data: list[tuple[int, list[str]]]  # (line number, cells) of the data rows, blank rows left out
    width: int


def parse_csv(text: str, forced_delimiter: str | None) -> ParsedCsv:
    sample = text[:SNIFF_CHARS]
    dialect = _dialect(sample, forced_delimiter)
    reader = csv.reader(io.StringIO(text), dialect)
    records: list[tuple[int, list[str]]] = []
    for row in reader:
        if row and any(cell.strip() for cell in row):
            records.append((reader.line_num, row))
    if not records:
        raise ValueError("no rows in the sample")
    first = records[0][1]
    width = len(first)
    body = [row for _, row in records[1:]]
    data_types = [_value_type([row[i] for row in body if i < len(row)])[0] for i in range(width)]
    try:
        sniffer_says = csv.Sniffer().has_header(sample)
    except csv.Error:
        sniffer_says = False
    header = _looks_like_header(first, data_types, sniffer_says)
    names = _unique_names(first) if header else [f"column_{i}" for i in range(1, width + 1)]
    return ParsedCsv(dialect, header, names, records[1:] if header else records, width)


def infer_csv(text: str, forced_delimiter: str | None, max_fields: int) -> SampleSchema:
    parsed = parse_csv(text, forced_delimiter)
    header, names, data, width = parsed.header, parsed.names, parsed.data, parsed.width
    result = SampleSchema([], len(data), {
        "delimiter": parsed.dialect.delimiter, "quotechar": parsed.dialect.quotechar, "header": header,
    })
    ragged = [(line, len(row)) for line, row in data if len(row) != width]
    if ragged:
        line, found = ragged[0]
        result.problems.append(
            f"{len(ragged)} of {len(data)} sampled rows have a different number of fields than the "
            f"{'header' if header else 'first row'} (first at line {line}: {found} fields, expected {width})"
        )
    if width > max_fields:
        result.problems.append(f"{width} columns; only the first {max_fields} are catalogued")
    for index, name in enumerate(names[:max_fields]):
        values = [row[index] for _, row in data if index < len(row)]
        native, normalized = _value_type(values)
        nullable = any(v == "" for v in values) or len(values) < len(data) or not values
        result.fields.append(FieldSpec(name, native, normalized, nullable))
    return result


_CONVERT: dict[str, Any] = {
    "bool": lambda v: v.lower() == "true", "int64": int, "double": float,
    "date32[day]": datetime.date.fromisoformat, "timestamp[s]": datetime.datetime.fromisoformat,
}


def csv_records(text: str, forced_delimiter: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """The sample's rows as records keyed by column name, each column typed the way the crawl types it (from
    the same sample), so `02139` stays a string and `2.5` becomes a float; an empty cell is None."""
    parsed = parse_csv(text, forced_delimiter)
    converters = []
    for index in range(len(parsed.names)):
        native, _ = _value_type([row[index] for _, row in parsed.data if index < len(row)])
        converters.append(_CONVERT.get(native))
    records = []
    for _, row in parsed.data:
        record: dict[str, Any] = {}
        for name, convert, cell in zip(parsed.names, converters, row, strict=False):
            record[name] = _typed(cell, convert)
        records.append(record)
    return parsed.names, records


def _typed(cell: str, convert: Any) -> Any:
    if cell == "":
        return None
    if convert is None:
        return cell
    try:
        return convert(cell.strip())
    except ValueError:  # a timestamp form fromisoformat does not take: keep the text
        return cell
