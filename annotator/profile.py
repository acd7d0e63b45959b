"""Column profiles from a bounded sample: a pure function of the sampled values.

A profile answers what an analyst asks before using a column: how often is it empty, how many different values
does it hold, what range do numbers and dates span, how long is the text, what does the distribution look like,
which values are most common. It is computed from a sample, so:

- `distinct` counts distinct values in the sample; `distinct_estimate` extrapolates to the whole dataset with
  the Haas-Stokes "Duj1" estimator that PostgreSQL's ANALYZE uses: `n*d / (n - f1 + f1*n/N)` for `n` sampled
  values, `d` distinct among them, `f1` seen exactly once and `N` in the dataset. It gives the sampled count for
  a code column (no singletons) and scales towards `N` for a key column (all singletons). When the sample is the
  whole dataset the count is exact and `distinct_exact` is true.
- values are grouped by what they are (number, text, temporal, boolean, other), not by the declared type, because
  document and CSV columns mix types; the majority group gets the statistics and `kinds` records the mix.

Personal data: nothing here knows about PII. The caller (catalog.annotate) decides which parts of a profile may
be stored for a column, through `restrict_profile`, once the classifier has looked at the values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

TOP_VALUES = 10
HISTOGRAM_BINS = 20
EXAMPLES = 5
SHOWN_TEXT = 120  # characters of a top value or example kept for display

NUMBER, TEXT, TEMPORAL, BOOLEAN, OTHER = "number", "text", "temporal", "boolean", "other"
# What may not be shown for a column suspected of holding personal data: anything that is a sampled value.
VALUE_FIELDS = ("min", "max", "top_values", "examples")
EPOCH = datetime(1970, 1, 1)


def value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float | Decimal):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    if isinstance(value, date | datetime | time):
        return TEMPORAL
    return OTHER


def _key(value: Any) -> Any:
    """A hashable stand-in for a value (documents hold dicts and lists)."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def shown(value: Any) -> str:
    """A value as display text, cut to `SHOWN_TEXT` characters."""
    if isinstance(value, bytes):
        text = f"<{len(value)} bytes>"
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= SHOWN_TEXT else text[: SHOWN_TEXT - 1] + "…"


def estimate_distinct(counts: Counter[Any], sampled: int, population: int | None) -> tuple[int, bool]:
    """(estimate, exact): Duj1 extrapolation of the distinct count from `sampled` non-null values."""
    distinct = len(counts)
    if population is None or population <= sampled:
        return distinct, population is not None
    singletons = sum(1 for c in counts.values() if c == 1)
    denominator = sampled - singletons + singletons * sampled / population
    estimate = sampled * distinct / denominator if denominator > 0 else population
    return int(min(max(round(estimate), distinct), population)), False


def _histogram(numbers: np.ndarray, distinct: int) -> dict[str, Any] | None:
    if numbers.size == 0:
        return None
    bins = max(1, min(HISTOGRAM_BINS, distinct))
    counts, edges = np.histogram(numbers, bins=bins)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _number_stats(values: list[Any], distinct: int) -> dict[str, Any]:
    numbers = np.array([float(v) for v in values], dtype=float)
    finite = numbers[np.isfinite(numbers)]
    stats: dict[str, Any] = {"non_finite": int(numbers.size - finite.size)}
    if finite.size == 0:
        return stats
    p25, p50, p75 = (float(q) for q in np.percentile(finite, [25, 50, 75]))
    stats.update({
        "min": _plain(min(values, key=float)), "max": _plain(max(values, key=float)),
        "mean": float(finite.mean()), "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        "p25": p25, "median": p50, "p75": p75,
        "histogram": _histogram(finite, distinct),
    })
    return stats


def _plain(value: Any) -> Any:
    """JSON-safe number: Decimals become floats or ints, non-finite floats become text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _length_stats(lengths: list[int], distinct: int) -> dict[str, Any]:
    array = np.array(lengths, dtype=float)
    return {
        "min_length": int(array.min()), "max_length": int(array.max()), "mean_length": float(array.mean()),
        "length_histogram": _histogram(array, distinct),
    }


def _naive_utc(value: date | datetime) -> datetime:
    """Dates and datetimes on one comparable axis (aware ones in UTC, zone dropped)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _temporal_stats(values: list[Any], distinct: int) -> dict[str, Any]:
    comparable = [_naive_utc(v) for v in values if not isinstance(v, time)]
    if not comparable:
        times = [v.replace(tzinfo=None) for v in values]
        return {"min": shown(min(times)), "max": shown(max(times))}
    seconds = np.array([(v - EPOCH).total_seconds() for v in comparable], dtype=float)
    histogram = _histogram(seconds, distinct)
    if histogram:
        histogram["edges"] = [(EPOCH + timedelta(seconds=e)).isoformat(timespec="seconds")
                              for e in histogram["edges"]]
    return {"min": shown(min(comparable)), "max": shown(max(comparable)), "histogram": histogram}


def _top_values(counts: Counter[Any], non_null: int) -> list[dict[str, Any]]:
    """The most common values, only when some value repeats (a top list of singletons says nothing)."""
    common = counts.most_common(TOP_VALUES)
    if not common or common[0][1] < 2:
        return []
    return [{"value": shown(v), "count": c, "share": round(c / non_null, 4)} for v, c in common]


def _examples(values: Sequence[Any]) -> list[str]:
    seen: dict[Any, None] = {}
    for value in values:
        key = _key(value)
        if key not in seen:
            seen[key] = None
            if len(seen) == EXAMPLES:
                break
    return [shown(v) for v in seen]


def typed_values(values: Sequence[Any], normalized_type: str) -> list[Any]:
    """Values as the declared type says they are, where the driver handed back something plainer.

    SQLite returns DATE and TIMESTAMP columns as ISO text and BOOLEAN as 0/1; profiling those as text lengths or
    numbers would describe the storage, not the data. A value that does not convert is kept as it is.
    """
    if normalized_type in ("date", "timestamp"):
        parse = date.fromisoformat if normalized_type == "date" else datetime.fromisoformat
        return [_parsed(v, parse) if isinstance(v, str) else v for v in values]
    if normalized_type == "boolean":
        return [bool(v) if isinstance(v, int) and not isinstance(v, bool) and v in (0, 1) else v for v in values]
    return list(values)


def _parsed(text: str, parse: Any) -> Any:
    try:
        return parse(text.strip())
    except ValueError:
        return text


def profile_column(values: Sequence[Any], population: int | None = None) -> dict[str, Any]:
    """The profile of one column from its sampled values (None for nulls).

    `population` is the estimated number of values in the whole dataset (rows for tables), used to extrapolate
    the distinct count; None when unknown.
    """
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    count = len(values)
    profile: dict[str, Any] = {
        "count": count, "nulls": count - len(present),
        "null_share": round((count - len(present)) / count, 4) if count else None,
    }
    if not present:
        return profile
    kinds = Counter(value_kind(v) for v in present)
    main = kinds.most_common(1)[0][0]
    if len(kinds) > 1:
        profile["kinds"] = {k: round(n / len(present), 4) for k, n in sorted(kinds.items())}
    counts = Counter(_key(v) for v in present)
    population_values = None if population is None else max(population - profile["nulls"], len(present))
    estimate, exact = estimate_distinct(counts, len(present), population_values)
    profile.update({"distinct": len(counts), "distinct_estimate": estimate, "distinct_exact": exact,
                    "kind": main})
    chosen = [v for v in present if value_kind(v) == main]
    distinct_chosen = len({_key(v) for v in chosen})
    if main == NUMBER:
        profile.update(_number_stats(chosen, distinct_chosen))
    elif main == TEXT:
        profile.update(_length_stats([len(v) for v in chosen], distinct_chosen))
        profile["min"], profile["max"] = shown(min(chosen)), shown(max(chosen))
    elif main == TEMPORAL:
        profile.update(_temporal_stats(chosen, distinct_chosen))
    elif main == BOOLEAN:
        profile["true_share"] = round(sum(1 for v in chosen if v) / len(chosen), 4)
    else:
        lengths = [len(v) if isinstance(v, bytes | list | dict) else len(str(v)) for v in chosen]
        profile.update(_length_stats(lengths, distinct_chosen))
    if main != OTHER:
        profile["top_values"] = _top_values(counts, len(present))
    profile["examples"] = _examples(present)
    return profile


def restrict_profile(profile: dict[str, Any], masked_examples: list[str]) -> dict[str, Any]:
    """The profile of a column suspected of holding personal data: no sampled value survives.

    Ranges of text (min/max), top values and examples are values; they are dropped, and the examples are replaced
    by masked ones. Counts, shares, lengths and histograms of numbers and dates stay: they describe the column
    without naming anyone.
    """
    kept = {k: v for k, v in profile.items() if k not in VALUE_FIELDS}
    if profile.get("kind") == TEXT:
        kept.pop("histogram", None)
    kept["examples"] = masked_examples
    kept["masked"] = True
    return kept


def percent(value: float | None) -> str:
    """A share as a whole percent; a tiny non-zero share says `<1%` rather than a misleading `0%`."""
    if value is None:
        return "—"
    return f"{value:.0%}" if value >= 0.01 or value == 0 else "<1%"


def edge_text(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def summary_line(profile: dict[str, Any] | None) -> str:
    """One line of a column profile (CLI and pages): empty share, distinct values, then range, share or lengths."""
    if not profile:
        return ""
    parts = []
    if profile.get("null_share") is not None:
        parts.append(f"{percent(profile['null_share'])} empty")
    if profile.get("distinct_estimate") is not None:
        prefix = "" if profile.get("distinct_exact") else "~"
        parts.append(f"{prefix}{profile['distinct_estimate']:,} distinct")
    if profile.get("kind") == BOOLEAN and profile.get("true_share") is not None:
        parts.append(f"{percent(profile['true_share'])} true")
    elif profile.get("kind") == TEXT and "mean_length" in profile:
        parts.append(f"length {profile['min_length']}–{profile['max_length']}")
    elif "min" in profile and "max" in profile:
        parts.append(f"{edge_text(profile['min'])} … {edge_text(profile['max'])}")
    if profile.get("masked"):
        parts.append("masked")
    return " · ".join(parts)
