"""Infer the schema of a JSON document or a JSON lines file from a bounded text sample.

Records are inferred exactly like MongoDB documents (`connectors.mongo.infer`): dotted paths for nested objects,
`path[]` for array elements, unions of types. A top-level array is read element by element, so a sample that
cuts a large array in the middle still yields every complete record before the cut.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.mongo.infer import infer_schema
from connectors.objects.arrow_columns import FieldSpec, SampleSchema


def _lines(text: str, problems: list[str]) -> list[Any]:
    records: list[Any] = []
    bad, first_bad = 0, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
            first_bad = first_bad or number
    if bad:
        problems.append(f"{bad} of {bad + len(records)} sampled lines are not valid JSON (first at line {first_bad})")
    return records


def _array_elements(text: str, start: int, complete: bool) -> list[Any]:
    """Decode `[a, b, ...` element by element; stop quietly at the sample's cut when it is partial."""
    decoder = json.JSONDecoder()
    records: list[Any] = []
    position, end = start + 1, len(text)
    while position < end:
        while position < end and text[position] in " \t\r\n,":
            position += 1
        if position >= end or text[position] == "]":
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            if complete:
                raise
            break
        records.append(value)
    return records


def _document(text: str, complete: bool) -> tuple[list[Any], str]:
    start = len(text) - len(text.lstrip())
    if text[start:start + 1] == "[":
        return _array_elements(text, start, complete), "array"
    if not complete:
        raise ValueError("a single JSON document larger than the sample; split it into JSON lines")
    return [json.loads(text)], "document"


def parse_objects(text: str, lines: bool, complete: bool) -> tuple[list[dict[str, Any]], int, str, list[str]]:
    """(the JSON objects of the sample, records read, layout, problems); raises ValueError when there are none."""
    problems: list[str] = []
    if lines:
        records, layout = _lines(text, problems), "lines"
    else:
        records, layout = _document(text, complete)
    objects = [r for r in records if isinstance(r, dict)]
    if len(objects) < len(records):
        problems.append(f"{len(records) - len(objects)} of {len(records)} sampled records are not JSON objects; "
                        "only objects are catalogued")
    if not objects:
        raise ValueError("no JSON objects in the sample")
    return objects, len(records), layout, problems


def infer_json(text: str, lines: bool, complete: bool, max_fields: int) -> SampleSchema:
    objects, records, layout, problems = parse_objects(text, lines, complete)
    inference = infer_schema(objects, max_fields=max_fields)
    if inference.capped:
        problems.append(f"more than {max_fields} fields; only the {max_fields} most common are catalogued")
    fields = [FieldSpec(c.name, c.native_type, c.normalized_type, c.nullable, c.nested_path)
              for c in inference.columns]
    return SampleSchema(fields, records, {"layout": layout}, problems)
