"""The column kernels of redaction recipes: which Arrow types each rule accepts, what type it produces, and the
transform itself, vectorised with `pyarrow.compute` wherever Arrow has a kernel.

The recipe format, its validation and the per-batch driver are in `catalog.redaction`; free-text scrubbing is in
`catalog.redaction_text`. Kernels take already validated options (defaults filled in), so they never re-check.

Hashing is the one rule that needs Python per value (Arrow has no HMAC kernel). It runs once per *distinct* value
of a batch (dictionary encoding first, unless a sample shows nearly every value differs), with the HMAC inner and
outer states prepared once per key: about 0.7 µs a value, against about 2.5 µs for `hmac.digest` per value. The hex
text is built in one piece (`bytes.hex` of all digests) and handed to Arrow as a buffer, not as a million Python
strings.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from catalog.redaction_text import KINDS, scrub_array

KEEP, DROP, MASK, HASH, TOKENIZE, GENERALISE, SCRUB = "keep", "drop", "mask", "hash", "tokenize", "generalise", "scrub"
RULES: tuple[str, ...] = (KEEP, DROP, MASK, HASH, TOKENIZE, GENERALISE, SCRUB)
YEAR, AGE_BAND, PREFIX, BUCKET, GRID = "year", "age_band", "prefix", "bucket", "grid"
TARGETS: tuple[str, ...] = (YEAR, AGE_BAND, PREFIX, BUCKET, GRID)

TOKEN_BYTES = 10  # 80 bits: 20 hex characters; about one collision in 2.4e6 among a billion distinct values
TOKENIZE_CONTEXT = b"catalog.redaction.tokenize/v1"
_CHUNK = 1 << 20  # distinct values hashed per piece, so hex offsets stay far below int32
_SAMPLE = 4096  # values looked at to decide whether hashing per distinct value pays

# What each rule accepts, by type family (see `family`); generalise depends on its target.
_ACCEPTS: dict[str, frozenset[str]] = {
    MASK: frozenset({"string", "integer"}),
    HASH: frozenset({"string", "binary", "integer", "decimal", "date"}),
    TOKENIZE: frozenset({"string", "binary", "integer", "decimal", "date"}),
    SCRUB: frozenset({"string"}),
    YEAR: frozenset({"date", "timestamp", "string"}),
    AGE_BAND: frozenset({"date", "timestamp", "string"}),
    PREFIX: frozenset({"string"}),
    BUCKET: frozenset({"integer", "float", "decimal"}),
    GRID: frozenset({"float", "decimal"}),
}
_HINTS: dict[str, str] = {
    MASK: "mask applies to text and integer columns; for dates use generalise, for numbers generalise to bucket",
    HASH: "hash applies to text, binary, integer, decimal and date columns",
    TOKENIZE: "tokenize applies to text, binary, integer, decimal and date columns",
    SCRUB: "scrub applies to text columns only",
    YEAR: "generalise to year applies to date, timestamp and text (with `format`) columns",
    AGE_BAND: "generalise to age_band applies to date, timestamp and text (with `format`) columns",
    PREFIX: "generalise to prefix applies to text columns (postcodes, codes)",
    BUCKET: "generalise to bucket applies to integer, float and decimal columns",
    GRID: "generalise to grid (round_to) applies to float and decimal columns (coordinates)",
}


_REQUIRED = object()
_TOKEN_PREFIX = re.compile(r"^[A-Za-z0-9_-]{0,16}$")


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return check


def _positive(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError("a number above 0")
    return value


def _char(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1:
        raise ValueError("one character")
    return value


def _prefix(value: Any) -> str:
    if not isinstance(value, str) or not _TOKEN_PREFIX.match(value):
        raise ValueError("0 to 16 letters, digits, '_' or '-'")
    return value


def _kinds(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value or any(v not in KINDS for v in value):
        raise ValueError(f"a non-empty list of {', '.join(KINDS)}")
    return tuple(kind for kind in KINDS if kind in value)


def _reference_date(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()  # YAML reads an unquoted 2024-01-01 as a date
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValueError("a date written YYYY-MM-DD")


def _format(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 100 or not ("%Y" in value or "%y" in value):
        raise ValueError("a strptime pattern with the year in it, such as %Y-%m-%d")
    return value


def _target(value: Any) -> str:
    if value not in TARGETS:
        raise ValueError(f"one of {', '.join(TARGETS)}")
    return str(value)


# Per rule (and per generalise target): option -> (check, default); _REQUIRED must be given, None may be omitted.
_OPTIONS: dict[str, dict[str, tuple[Callable[[Any], Any], Any]]] = {
    KEEP: {}, DROP: {},
    MASK: {"keep_first": (_whole(0, 32), 0), "keep_last": (_whole(0, 32), 0), "char": (_char, "*")},
    HASH: {"length": (_whole(16, 64), 64)},
    TOKENIZE: {"prefix": (_prefix, "tok_")},
    SCRUB: {"find": (_kinds, KINDS)},
    YEAR: {"format": (_format, None)},
    AGE_BAND: {"reference_date": (_reference_date, _REQUIRED), "band": (_whole(1, 50), 10),
               "top": (_whole(1, 150), 90), "format": (_format, None)},
    PREFIX: {"length": (_whole(1, 32), _REQUIRED)},
    BUCKET: {"width": (_positive, _REQUIRED)},
    GRID: {"round_to": (_positive, _REQUIRED)},
}


def parse_options(where: str, kind: str, given: Mapping[str, Any], problems: list[str]) -> dict[str, Any] | None:
    """Options of one rule, checked and completed with defaults; problems are appended (None when any)."""
    spec = dict(_OPTIONS[kind]) if kind != GENERALISE else {"to": (_target, _REQUIRED)}
    label = kind
    if kind == GENERALISE:
        if "to" not in given:
            problems.append(f"{where}: generalise needs `to`: one of {', '.join(TARGETS)}")
            return None
        if given["to"] in TARGETS:
            spec.update(_OPTIONS[given["to"]])
            label = f"generalise to {given['to']}"
    before = len(problems)
    options: dict[str, Any] = {}
    for name in given:
        if name not in spec:
            known = ", ".join(spec) or "none"
            problems.append(f"{where}: unknown option {_shown(name)} for {label} (options: {known})")
    for name, (check, default) in spec.items():
        if name not in given:
            if default is _REQUIRED:
                problems.append(f"{where}: {label} needs `{name}`")
            elif default is not None:
                options[name] = default
            continue
        try:
            options[name] = check(given[name])
        except ValueError as exc:
            problems.append(f"{where}: {label} option `{name}` must be {exc} (got {_shown(given[name])})")
    return options if len(problems) == before else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def family(data_type: pa.DataType) -> str:
    """The type family rules are defined on; dictionary columns count as their value type."""
    if pat.is_dictionary(data_type):
        return family(data_type.value_type)
    checks: tuple[tuple[Callable[[pa.DataType], bool], str], ...] = (
        (pat.is_boolean, "boolean"), (pat.is_integer, "integer"), (pat.is_floating, "float"),
        (pat.is_decimal, "decimal"), (pat.is_date, "date"), (pat.is_timestamp, "timestamp"),
        (lambda t: pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t), "string"),
        (lambda t: pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t)
         or pat.is_binary_view(t), "binary"),
    )
    for check, name in checks:
        if check(data_type):
            return name
    return "other"


def _value_type(data_type: pa.DataType) -> pa.DataType:
    return data_type.value_type if pat.is_dictionary(data_type) else data_type


def fit_problem(rule: str, options: Mapping[str, Any], data_type: pa.DataType) -> str | None:
    """Why `rule` cannot apply to a column of `data_type`, or None when it can."""
    if rule in (KEEP, DROP):
        return None
    which = options["to"] if rule == GENERALISE else rule
    kind = family(data_type)
    if kind not in _ACCEPTS[which]:
        return f"{_HINTS[which]}, not {data_type}"
    if which in (YEAR, AGE_BAND):
        if kind == "string" and not options.get("format"):
            return (f"the column is text ({data_type}): add `format` (a strptime pattern such as %Y-%m-%d) so "
                    "its dates can be read")
        if kind != "string" and options.get("format"):
            return f"`format` is for text columns; this one is {data_type} already"
    return None


def output_type(rule: str, options: Mapping[str, Any], data_type: pa.DataType) -> pa.DataType:
    """The Arrow type a rule produces (stable whatever the input's string flavour)."""
    if rule == KEEP:
        return data_type
    if rule in (MASK, HASH, TOKENIZE, SCRUB):
        return pa.string()
    target = options["to"]
    if target == YEAR:
        return pa.int32()
    if target in (AGE_BAND, PREFIX):
        return pa.string()
    if target == BUCKET and family(data_type) == "integer" and float(options["width"]).is_integer():
        return pa.uint64() if pat.is_unsigned_integer(_value_type(data_type)) else pa.int64()
    return pa.float64()


def transform(rule: str, options: Mapping[str, Any], values: pa.Array, hasher: Hasher | None) -> pa.Array:
    """Apply one (non-drop) rule to one column of a batch."""
    if rule == KEEP:
        return values
    if pat.is_dictionary(values.type):
        values = values.dictionary_decode()
    if rule == MASK:
        return mask(values, options["keep_first"], options["keep_last"], options["char"])
    if rule in (HASH, TOKENIZE):
        if hasher is None:
            raise ValueError("hash and tokenize rules need the HMAC key")
        return hasher.hash(values, options["length"]) if rule == HASH else hasher.tokens(values, options["prefix"])
    if rule == SCRUB:
        return scrub_array(values, options["find"])
    return generalise(values, options)


def mask(values: pa.Array, keep_first: int, keep_last: int, char: str) -> pa.Array:
    """Replace every character but the first/last few by `char`, keeping the length. Values shorter than twice the
    kept characters are masked entirely, so `keep_last: 4` never shows all of a 5-character value. Integers are
    masked as their decimal text."""
    text = values.cast(pa.string())
    length = pc.utf8_length(text)
    shown = keep_first + keep_last
    long = pc.greater_equal(length, 2 * shown)
    hidden = pc.if_else(long, pc.subtract(length, shown), length) if shown else length
    parts: list[Any] = []
    if keep_first:
        parts.append(pc.if_else(long, pc.utf8_slice_codeunits(text, 0, keep_first), ""))
    parts.append(pc.binary_repeat(pa.scalar(char), hidden))
    if keep_last:
        parts.append(pc.if_else(long, pc.utf8_slice_codeunits(text, -keep_last), ""))
    if len(parts) == 1:
        return parts[0].cast(pa.string())
    return pc.binary_join_element_wise(*parts, "")


class Hasher:
    """Keyed HMAC-SHA256 over a column's values, with the key's inner and outer states prepared once.

    Values are hashed as bytes: text as UTF-8, binary as is, integers, decimals and dates as the text Arrow gives
    them (`42`, `12.30`, `2024-01-15`), so an id stored as an integer in one source and as text in another still
    hashes equal. `hash` is plain HMAC-SHA256 (checkable with `openssl dgst -sha256 -hmac KEY`); `tokens` use a key
    derived for tokenizing, so a token can never be matched against a hash of the same value.
    """

    def __init__(self, key: bytes) -> None:
        self._hash = _prepared(key)
        self._token = _prepared(hmac.digest(key, TOKENIZE_CONTEXT, "sha256"))

    def hash(self, values: pa.Array, length: int) -> pa.Array:
        """Lower-case hex of HMAC-SHA256, cut to `length` characters; nulls stay null."""
        hexed = self._per_distinct(values, self._hash, (length + 1) // 2)
        return hexed if length % 2 == 0 else pc.utf8_slice_codeunits(hexed, 0, length)

    def tokens(self, values: pa.Array, prefix: str) -> pa.Array:
        """`prefix` + 20 hex characters of the tokenizing HMAC; nulls stay null."""
        return self._per_distinct(values, self._token, TOKEN_BYTES, prefix)

    def _per_distinct(self, values: pa.Array, states: _States, nbytes: int, prefix: str = "") -> pa.Array:
        """Hash each distinct value once (ids and e-mails repeat in fact tables), unless a sample says the values
        are nearly all distinct, where building the dictionary would cost more than it saves."""
        raw = _as_bytes(values)
        if _mostly_distinct(raw):
            hexed = self._hex(pc.fill_null(raw, b""), states, nbytes, prefix)
            return pc.if_else(pc.is_null(raw), pa.scalar(None, pa.string()), hexed) if raw.null_count else hexed
        encoded = pc.dictionary_encode(raw)
        return pc.take(self._hex(encoded.dictionary, states, nbytes, prefix), encoded.indices)

    @staticmethod
    def _hex(values: pa.Array, states: _States, nbytes: int, prefix: str) -> pa.Array:
        pieces = [_hex_digests(values.slice(start, _CHUNK).to_pylist(), states, nbytes)
                  for start in range(0, len(values), _CHUNK)] or [pa.array([], pa.string())]
        hexed = pa.concat_arrays(pieces)
        return pc.binary_join_element_wise(pa.scalar(prefix), hexed, "") if prefix else hexed


def _mostly_distinct(values: pa.Array) -> bool:
    """Whether the first `_SAMPLE` values are at least 90% distinct (nulls not counted)."""
    sample = values.slice(0, _SAMPLE)
    present = len(sample) - sample.null_count
    return present > 0 and pc.count_distinct(sample).as_py() >= 0.9 * present


_States = tuple[Any, Any]


def _prepared(key: bytes) -> _States:
    """SHA-256 states after the ipad and opad blocks of RFC 2104, so each value costs two short updates."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def _hex_digests(messages: list[bytes], states: _States, nbytes: int) -> pa.Array:
    """HMACs of `messages` as a string array of 2*nbytes hex characters each, built from one buffer."""
    inner_copy, outer_copy = states[0].copy, states[1].copy
    digests: list[bytes] = []
    append = digests.append
    for message in messages:
        inner = inner_copy()
        inner.update(message)
        outer = outer_copy()
        outer.update(inner.digest())
        append(outer.digest())
    joined = b"".join(digests) if nbytes == 32 else b"".join(d[:nbytes] for d in digests)
    width = 2 * nbytes
    offsets = np.arange(0, width * len(messages) + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(messages), pa.py_buffer(offsets), pa.py_buffer(joined.hex().encode()))


def _as_bytes(values: pa.Array) -> pa.Array:
    kind = family(values.type)
    if kind in ("string", "binary"):
        return values.cast(pa.binary())
    return values.cast(pa.string()).cast(pa.binary())


def generalise(values: pa.Array, options: Mapping[str, Any]) -> pa.Array:
    """Coarser values: year, age band, text prefix, numeric bucket or coordinate grid."""
    target = options["to"]
    if target == YEAR:
        return pc.year(_temporal(values, options.get("format"))).cast(pa.int32())
    if target == AGE_BAND:
        return age_bands(_temporal(values, options.get("format")), date.fromisoformat(options["reference_date"]),
                         options["band"], options["top"])
    if target == PREFIX:
        return pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(values.cast(pa.string())), 0, options["length"])
    if target == BUCKET:
        return bucket(values, options["width"])
    return grid(values, options["round_to"])


def _temporal(values: pa.Array, fmt: str | None) -> pa.Array:
    """Dates and timestamps as they are; text parsed with `fmt`, a value that does not parse becoming null (it
    cannot be generalised, and publishing it unparsed would leak it)."""
    if family(values.type) != "string":
        return values
    return pc.strptime(values.cast(pa.string()), format=fmt, unit="s", error_is_null=True)


def age_bands(moments: pa.Array, reference: date, band: int, top: int) -> pa.Array:
    """Completed years at `reference` in bands of `band` years (`30-39`), `top` and above as one band (`90+`);
    ages below zero (born after the reference date) become null. Fixed reference: the same data gives the same
    version whenever it is published."""
    years = pc.year(moments)
    birthday_later = pc.greater(pc.add(pc.multiply(pc.month(moments), 100), pc.day(moments)),
                                reference.month * 100 + reference.day)
    age = pc.subtract(pc.subtract(reference.year, years), pc.cast(birthday_later, pa.int64()))
    age = pc.if_else(pc.less(age, 0), pa.scalar(None, pa.int64()), age)
    low = pc.multiply(pc.divide(age, band), band)
    if band == 1:
        label = low.cast(pa.string())
    else:
        high = pc.min_element_wise(pc.add(low, band - 1), top - 1)
        label = pc.binary_join_element_wise(low.cast(pa.string()), high.cast(pa.string()), "-")
    return pc.if_else(pc.greater_equal(age, top), f"{top}+", label)


def bucket(values: pa.Array, width: float) -> pa.Array:
    """The lower edge of the `width`-wide bucket holding each value (floor, so -1 falls in [-width, 0))."""
    if family(values.type) == "integer" and float(width).is_integer():
        step = int(width)
        if pat.is_unsigned_integer(values.type):  # no negatives; uint64 values may not fit int64
            unsigned_step = pa.scalar(step, pa.uint64())
            return pc.multiply(pc.divide(values.cast(pa.uint64()), unsigned_step), unsigned_step)
        numbers = values.cast(pa.int64())
        quotient = pc.divide(numbers, step)  # truncates toward zero: one step down for negative remainders
        below = pc.less(pc.subtract(numbers, pc.multiply(quotient, step)), 0)
        quotient = pc.if_else(below, pc.subtract(quotient, 1), quotient)
        return pc.multiply(quotient, step)
    numbers = values.cast(pa.float64())
    return pc.multiply(pc.floor(pc.divide(numbers, float(width))), float(width))


def grid(values: pa.Array, step: float) -> pa.Array:
    """Round to the nearest multiple of `step` (0.1 degree is about 11 km), printed without float noise
    (52.5, not 52.500000000000004) and without negative zero."""
    rounded = pc.round_to_multiple(values.cast(pa.float64()), multiple=float(step))
    places = max(0, -Decimal(repr(float(step))).normalize().as_tuple().exponent)  # type: ignore[operator]
    return pc.add(pc.round(rounded, ndigits=places), 0.0)


# ------------------------------------------------------------------------------------------------ suggestions

DEFAULT_KEY_ENV = "CATALOG_REDACTION_KEY"
POSTCODE = "pii.postcode"  # not a classifier label (yet); people may add it by hand
TEXT_CUES = frozenset({"note", "notes", "comment", "comments", "description", "desc", "remark", "remarks", "message",
                       "msg", "body", "text", "feedback", "memo", "summary", "details", "bio", "content", "review"})
FREE_TEXT_MEAN_LENGTH = 40
FREE_TEXT_MAX_LENGTH = 200


def suggest_recipe(columns: Iterable[Mapping[str, Any]], today: date | None = None) -> dict[str, Any]:
    """A recipe proposal from a dataset's columns as `catalog.datasets.get_dataset` lists them (name,
    normalized_type, classifications, profile, nested_path), every rule with a `why`, for a person to review
    before the first publish. `default: drop`, so columns the source gains later stay out until reviewed.
    `today` becomes the fixed reference date of age bands (so republishing the same rows gives the same bytes)."""
    columns = list(columns)
    nested = [c for c in columns if c.get("nested_path")]
    reference = (today or date.today()).isoformat()
    proposed = {str(c["name"]): _suggest_column(c, _nested_pii(str(c["name"]), nested), reference)
                for c in columns if not c.get("nested_path")}
    recipe: dict[str, Any] = {"version": 1, "default": DROP}
    if any(rule["rule"] in (HASH, TOKENIZE) for rule in proposed.values()):
        recipe["key_env"] = DEFAULT_KEY_ENV
    recipe["columns"] = proposed
    return recipe


def _nested_pii(name: str, nested: list[Mapping[str, Any]]) -> tuple[str, str] | None:
    """The first PII-labelled field inside a struct or document column (`contact.email` inside `contact`)."""
    for child in nested:
        child_name = str(child["name"])
        if child_name.startswith((f"{name}.", f"{name}[")):
            labels = [lb for lb in child.get("classifications") or [] if str(lb).startswith("pii.")]
            if labels:
                return child_name, labels[0]
    return None


def _suggest_column(column: Mapping[str, Any], nested_pii: tuple[str, str] | None, reference: str
                    ) -> dict[str, Any]:
    labels = [str(lb) for lb in column.get("classifications") or [] if str(lb).startswith("pii.")]
    kind = str(column.get("normalized_type") or "other")
    if nested_pii:
        return {"rule": DROP, "why": f"its field {nested_pii[0]} is labelled {nested_pii[1]}; a nested column can "
                                     "only be kept or dropped as a whole"}
    if not labels:
        if kind == "string" and _free_text(column):
            return {"rule": SCRUB, "why": "free text with no PII label (long values, or a name like notes): "
                                          "e-mails, phones and card numbers inside it become placeholders"}
        return {"rule": KEEP, "why": "no PII label"}
    proposals = [_for_label(label, kind, reference) for label in labels]
    dropped = [p for p in proposals if p["rule"] == DROP]
    if dropped and len(proposals) > 1:
        return {"rule": DROP, "why": f"labelled {', '.join(labels)}: " + "; ".join(p["why"] for p in dropped)}
    return dropped[0] if dropped else proposals[0]


def _for_label(label: str, kind: str, reference: str) -> dict[str, Any]:
    """The suggestion for one label on a column of a normalized type; drop when no rule fits the type.

    Birth dates become 10-year age bands, not birth years: the PII scan (rightly) still reads a column of birth
    years as dates of birth, so a year would block the publish; bands of ages do not identify anyone."""
    why = f"labelled {label}"
    if label == "pii.email" and kind in ("string", "integer", "binary"):
        return {"rule": HASH, "why": f"{why}: a keyed hash, so joins on it still match across datasets "
                                     "published with the same key"}
    if label == "pii.phone" and kind in ("string", "integer"):
        return {"rule": MASK, "keep_last": 2, "why": f"{why}: only the last 2 digits stay; drop it if nobody "
                                                     "needs to tell numbers apart"}
    if label == "pii.date_of_birth" and kind in ("date", "timestamp", "string"):
        text = {"format": "%Y-%m-%d"} if kind == "string" else {}
        note = "; stored as text: check that `format` matches the values (values that do not parse become null)"
        return {"rule": GENERALISE, "to": AGE_BAND, "reference_date": reference, "band": 10, "top": 90, **text,
                "why": f"{why}: 10-year age bands at {reference} keep age analyses possible without the birth "
                       f"date{note if text else ''}"}
    if label == POSTCODE and kind == "string":
        return {"rule": GENERALISE, "to": PREFIX, "length": 3, "why": f"{why}: the first 3 characters keep the area"}
    if label == "pii.geo_location" and kind in ("float", "decimal"):
        return {"rule": GENERALISE, "to": GRID, "round_to": 0.1,
                "why": f"{why}: a 0.1 degree grid (about 11 km) keeps the region, not the address"}
    return {"rule": DROP, "why": f"{why}: no generalisation keeps it safe; drop it (hash it instead if rows must "
                                 "stay linkable)"}


def _free_text(column: Mapping[str, Any]) -> bool:
    """Long values in the profile, or a name that says notes/comment/description."""
    words = set(re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(column.get("name") or "")).lower()))
    if words & TEXT_CUES:
        return True
    profile = column.get("profile") or {}
    mean, longest = profile.get("mean_length"), profile.get("max_length")
    return (isinstance(mean, int | float) and mean >= FREE_TEXT_MEAN_LENGTH) or (
        isinstance(longest, int | float) and longest >= FREE_TEXT_MAX_LENGTH)
