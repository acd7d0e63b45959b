"""Statistical diff between two published versions of a dataset stored as Parquet files.

A new version can keep its schema and still change underneath (a unit change, a broken join, a shifted population).
`diff_parquet` tells a reviewer what changed: columns, row counts and, for every column present in both versions,
how far its distribution moved. It returns statistics only, never a data value (no top values, no minimum or
maximum), because the diff may be shown to people who may see the catalog entry but not the data.

Cost on ~1 GB files: row counts come from the Parquet footers; each column is read on its own (one column of one
version at a time per worker, streamed in record batches), so memory stays near one batch plus the sample whatever the
file size. A version with more than `sample_rows` rows is compared on a uniform random sample of rows drawn with a
fixed seed, so the same two files always give the same diff.

Levels: numeric and temporal columns use the Population Stability Index (PSI < 0.1 none, < 0.25 moderate, else major,
the credit-scoring rule of thumb); categorical columns use the Jensen-Shannon distance (base 2, between 0 and 1).
For small shifts the JS divergence in nats is about PSI / 8, so JS distance = sqrt(PSI / (8 ln 2)): PSI 0.1 and 0.25
correspond to JS distances 0.13 and 0.21, which are our thresholds; both statistics then flag the same shift size.
KS and chi-square p-values are reported but never decide the level: on samples of 10^5 rows any negligible
difference is "significant" (p close to 0), so p-values measure sample size more than drift.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

SAMPLE_SEED = 20_240_917
PSI_BINS = 10
PSI_EPSILON = 1e-4  # share given to an empty bucket so that log(q / p) stays finite
PSI_MODERATE, PSI_MAJOR = 0.1, 0.25
JS_MODERATE, JS_MAJOR = 0.13, 0.21
TOP_K = 50
SMALL_SAMPLE = 1_000  # below this many rows PSI and JS carry visible sampling noise
BATCH_ROWS = 128 * 1024
KS_EXACT_MAX = 10_000  # scipy's exact KS is quadratic; above this the asymptotic p-value is accurate anyway
UNITS_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


@dataclass(frozen=True)
class _Version:
    """One Parquet file: its parsed footer (read once, shared by the workers) and the rows to read."""

    path: Path
    metadata: pq.FileMetaData
    schema: pa.Schema
    positions: np.ndarray | None  # sorted sampled row numbers; None reads every row
    duplicated: frozenset[str]  # names used by more than one column (Parquet allows it; reads by name are ambiguous)

    @property
    def num_rows(self) -> int:
        return int(self.metadata.num_rows)

    @property
    def rows_read(self) -> int:
        return self.num_rows if self.positions is None else len(self.positions)


def diff_parquet(old_path: str | Path, new_path: str | Path, *, sample_rows: int = 200_000,
                 workers: int | None = None) -> dict[str, Any]:
    """JSON-ready diff of two versions: schema changes, row counts and per-column drift (statistics only).

    `workers` threads compute column drift in parallel (default: one per CPU); Parquet decoding and numpy release the
    GIL, so on two cores this cuts the wall time roughly in half.
    """
    if sample_rows < 1:
        raise ValueError("sample_rows must be at least 1")
    old, new = _open_version(old_path, sample_rows), _open_version(new_path, sample_rows)
    old_types = {f.name: f.type for f in reversed(old.schema)}
    new_types = {f.name: f.type for f in reversed(new.schema)}  # reversed: the first of duplicated names wins
    shared = [(name, old_types[name], new_types[name]) for name in dict.fromkeys(new.schema.names) if name in old_types]
    return {
        "schema": _schema_diff(old.schema, new.schema),
        "rows": _row_counts(old.num_rows, new.num_rows),
        "drift": _drift_columns(shared, old, new, workers),
        "sampled": old.positions is not None or new.positions is not None,
        "method_note": _method_note(old, new, sample_rows),
    }


def _open_version(path: str | Path, sample_rows: int) -> _Version:
    with pq.ParquetFile(path) as parquet:
        metadata, schema = parquet.metadata, parquet.schema_arrow
    duplicated = frozenset(name for name, uses in Counter(schema.names).items() if uses > 1)
    return _Version(Path(path), metadata, schema, _sample_positions(int(metadata.num_rows), sample_rows), duplicated)


def _sample_positions(num_rows: int, sample_rows: int) -> np.ndarray | None:
    """Row numbers of a uniform sample without replacement; a fixed seed keeps the diff reproducible.

    Whole rows are sampled (the same rows for every column), not whole row groups: files are often sorted by time or
    key, and a row-group sample would then be a biased slice of the data.
    """
    if num_rows <= sample_rows:
        return None
    rng = np.random.default_rng(SAMPLE_SEED)
    return np.sort(rng.choice(num_rows, size=sample_rows, replace=False))


def _schema_diff(old: pa.Schema, new: pa.Schema) -> dict[str, Any]:
    before = {f.name: f.type for f in old}
    after = {f.name: f.type for f in new}
    kept = [f for f in new if f.name in before]
    return {
        "added": [{"name": f.name, "type": str(f.type)} for f in new if f.name not in before],
        "removed": [{"name": f.name, "type": str(f.type)} for f in old if f.name not in after],
        "type_changed": [{"name": f.name, "old": str(before[f.name]), "new": str(f.type)}
                         for f in kept if not before[f.name].equals(f.type)],
        "unchanged": sum(1 for f in kept if before[f.name].equals(f.type)),
    }


def _row_counts(old: int, new: int) -> dict[str, Any]:
    change = new - old
    return {"old": old, "new": new, "change": change, "change_pct": round(100.0 * change / old, 4) if old else None}


def _drift_columns(shared: Sequence[tuple[str, pa.DataType, pa.DataType]], old: _Version, new: _Version,
                   workers: int | None) -> list[dict[str, Any]]:
    """Drift of every shared column, in the new version's column order.

    Columns go to the threads largest first (by compressed size in the footers): a big string column started last
    would otherwise leave the other thread idle for most of the run.
    """
    count = max(1, min(len(shared), workers or os.cpu_count() or 1))

    def one(column: tuple[str, pa.DataType, pa.DataType]) -> dict[str, Any]:
        return _column_drift(*column, old, new)

    if count == 1:
        return [one(column) for column in shared]
    leaves = _leaf_bytes(old) + _leaf_bytes(new)
    sizes = [sum(size for path, size in leaves if path == name or path.startswith(name + ".")) for name, _, _ in shared]
    order = sorted(range(len(shared)), key=lambda i: -sizes[i])
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="version-diff") as pool:
        done = dict(zip(order, pool.map(one, [shared[i] for i in order]), strict=True))
    return [done[i] for i in range(len(shared))]


def _leaf_bytes(version: _Version) -> list[tuple[str, int]]:
    """Compressed bytes of each Parquet leaf column (dotted path), summed over row groups."""
    metadata = version.metadata
    totals = [0] * metadata.num_columns
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for leaf in range(metadata.num_columns):
            totals[leaf] += row_group.column(leaf).total_compressed_size
    return [(metadata.schema.column(leaf).path, totals[leaf]) for leaf in range(metadata.num_columns)]


def _column_kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_dictionary(arrow_type):
        return _column_kind(arrow_type.value_type)
    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_temporal(arrow_type):
        return "temporal"
    if (pa.types.is_boolean(arrow_type) or pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_string_view(arrow_type)):
        return "categorical"
    return "skipped"


def _shared_kind(old_type: pa.DataType, new_type: pa.DataType) -> tuple[str, str | None]:
    """How to compare a column whose type may have changed; a column typed `null` (all nulls) fits any kind."""
    old_kind, new_kind = _column_kind(old_type), _column_kind(new_type)
    if "skipped" in (old_kind, new_kind):
        return "skipped", "nested, binary or other non-scalar type: distribution not compared"
    kind = new_kind if old_kind == "null" else old_kind
    if kind == "null":
        kind = "categorical"
    elif "null" not in (old_kind, new_kind) and old_kind != new_kind:
        return "skipped", f"type changed from {old_kind} to {new_kind}: distributions not comparable"
    return kind, None if old_type.equals(new_type) else f"type changed; compared as {kind} values"


def _column_drift(name: str, old_type: pa.DataType, new_type: pa.DataType, old: _Version,
                  new: _Version) -> dict[str, Any]:
    kind, type_note = _shared_kind(old_type, new_type)
    if name in old.duplicated or name in new.duplicated:
        return {**_empty_entry(name, "skipped"), "note": "several columns share this name: not compared"}
    if kind == "skipped":
        return _skipped_entry(name, type_note, (old, old_type), (new, new_type))
    try:
        old_values, new_values = _read_column(old, name, old_type), _read_column(new, name, new_type)
        stats, notes = _distribution_stats(kind, old_values, new_values)
    except (pa.ArrowException, ValueError, ArithmeticError) as error:
        # Only the exception type: Arrow messages can quote the offending data value.
        note = f"could not compute drift ({type(error).__name__})"
        return _skipped_entry(name, note, (old, old_type), (new, new_type))
    entry = _empty_entry(name, kind)
    entry.update(stats)
    entry["null_share_old"] = _share(old_values.null_count, len(old_values))
    entry["null_share_new"] = _share(new_values.null_count, len(new_values))
    if kind == "categorical":
        entry["level"] = _level(entry["js"], JS_MODERATE, JS_MAJOR)
    else:
        entry["level"] = _level(entry["psi"], PSI_MODERATE, PSI_MAJOR)
    notes = [type_note, *_size_notes(old, new), *notes]
    entry["note"] = "; ".join(n for n in notes if n) or None
    return entry


def _empty_entry(name: str, kind: str) -> dict[str, Any]:
    return {"column": name, "kind": kind, "method": "none", "psi": None, "ks": None, "ks_pvalue": None, "js": None,
            "chi2_pvalue": None, "null_share_old": 0.0, "null_share_new": 0.0, "level": "none", "note": None}


def _skipped_entry(name: str, note: str | None, old: tuple[_Version, pa.DataType],
                   new: tuple[_Version, pa.DataType]) -> dict[str, Any]:
    entry = _empty_entry(name, "skipped")
    entry["null_share_old"] = _null_share_without_values(*old, name)
    entry["null_share_new"] = _null_share_without_values(*new, name)
    entry["note"] = note
    return entry


def _size_notes(old: _Version, new: _Version) -> list[str]:
    notes = [f"{label} version has no rows: no distribution to compare"
             for label, version in (("old", old), ("new", new)) if version.num_rows == 0]
    smaller = min(old.rows_read, new.rows_read)
    if not notes and smaller < SMALL_SAMPLE:
        notes.append(f"only {smaller} rows in the smaller version: PSI/JS carry sampling noise")
    return notes


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _level(value: float | None, moderate: float, major: float) -> str:
    if value is None:
        return "none"
    return "major" if value >= major else "moderate" if value >= moderate else "none"


def _rounded(value: float | None, digits: int = 6) -> float | None:
    """JSON-safe float: NaN and infinities become None."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


# --- reading -----------------------------------------------------------------------------------------------------


def _read_column(version: _Version, name: str, arrow_type: pa.DataType) -> pa.ChunkedArray:
    """One column of one version: every row, or only the sampled rows, streamed batch by batch.

    Only row groups holding sampled rows are read, one at a time: a single `iter_batches` call over many row groups
    let Arrow's buffers grow to a whole column (300 MB for a string column of a 1 GB file) where one row group at a
    time stays near one column chunk. Peak memory is then one chunk plus the sample.
    """
    if version.num_rows == 0:
        return pa.chunked_array([], type=arrow_type)
    with pq.ParquetFile(version.path, metadata=version.metadata) as parquet:
        if version.positions is None:
            return parquet.read(columns=[name], use_threads=False).column(0)
        pieces = []
        for group, rows in _rows_by_group(version.metadata, version.positions):
            offset = 0
            for batch in parquet.iter_batches(BATCH_ROWS, row_groups=[group], columns=[name], use_threads=False):
                low, high = np.searchsorted(rows, [offset, offset + batch.num_rows])
                if high > low:
                    pieces.append(batch.column(0).take(pa.array(rows[low:high] - offset)))
                offset += batch.num_rows
    return pa.chunked_array(pieces, type=pieces[0].type if pieces else arrow_type)


def _rows_by_group(metadata: pq.FileMetaData, positions: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Sampled row numbers split by row group, relative to the group's first row; groups without any are left out."""
    sizes = np.array([metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)], dtype=np.int64)
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(positions, ends)
    groups, low = [], 0
    for group, high in enumerate(cuts):
        if high > low:
            groups.append((group, positions[low:high] - (ends[group] - sizes[group])))
        low = high
    return groups


def _null_share_without_values(version: _Version, arrow_type: pa.DataType, name: str) -> float:
    """Null share of a column we do not compare, from footer statistics when the column is one flat leaf.

    Binary columns (images, blobs) can be most of a file; the footer's null counts spare reading them. Nested columns
    have no top-level null count in the footer, so their sampled rows are read.
    """
    if version.num_rows == 0:
        return 0.0
    metadata = version.metadata
    leaves = [i for i in range(metadata.num_columns) if metadata.schema.column(i).path == name]
    if len(leaves) == 1:
        nulls = 0
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(leaves[0]).statistics
            if stats is None or not stats.has_null_count:
                break
            nulls += stats.null_count
        else:
            return _share(nulls, version.num_rows)
    try:
        values = _read_column(version, name, arrow_type)
    except (pa.ArrowException, ValueError):
        return 0.0
    return _share(values.null_count, len(values))


# --- statistics --------------------------------------------------------------------------------------------------


def _distribution_stats(kind: str, old: pa.ChunkedArray, new: pa.ChunkedArray) -> tuple[dict[str, Any], list[str]]:
    if kind == "categorical":
        return _categorical_stats(_as_categories(old), _as_categories(new))
    old_floats, new_floats = _as_floats(old), _as_floats(new)
    stats, notes = _numeric_stats(old_floats, new_floats)
    nulls = old.null_count + new.null_count
    if np.count_nonzero(~np.isfinite(old_floats)) + np.count_nonzero(~np.isfinite(new_floats)) > nulls:
        notes.append("NaN and infinite values count as missing in PSI and are left out of KS")
    return stats, notes


def _as_floats(values: pa.ChunkedArray) -> np.ndarray:
    """Numbers as float64 with NaN for nulls; dates and times as seconds, so a unit change (ms -> us) still compares.

    Casting is unchecked (`safe=False`): int64 beyond 2**53 loses digits, which does not matter for distributions.
    """
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    arrow_type = values.type
    if pa.types.is_date32(arrow_type):
        return pc.cast(values.cast(pa.int32()), pa.float64()).to_numpy() * 86_400.0
    if pa.types.is_date64(arrow_type):
        return pc.cast(values.cast(pa.int64()), pa.float64()).to_numpy() / 1e3
    if pa.types.is_time32(arrow_type):
        return pc.cast(values.cast(pa.int32()), pa.float64()).to_numpy() / UNITS_PER_SECOND[arrow_type.unit]
    if pa.types.is_temporal(arrow_type):
        # Division, not multiplication by 1e-3 etc.: it is correctly rounded, so 1500 ms and 1500000 us agree exactly.
        return pc.cast(values.cast(pa.int64()), pa.float64(), safe=False).to_numpy() / UNITS_PER_SECOND[arrow_type.unit]
    return pc.cast(values, pa.float64(), safe=False).to_numpy()


def _numeric_stats(old: np.ndarray, new: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """PSI over all rows (missing is a bucket, so a column going null is drift too) and KS on the finite values."""
    old_finite, new_finite = old[np.isfinite(old)], new[np.isfinite(new)]
    notes = [f"{label} version has no non-missing values" for label, values, finite
             in (("old", old, old_finite), ("new", new, new_finite)) if len(values) and not len(finite)]
    stats: dict[str, Any] = {"method": "psi+ks", "psi": None, "ks": None, "ks_pvalue": None}
    if len(old) and len(new):
        stats["psi"] = _rounded(_psi(len(old), old_finite, len(new), new_finite))
    if len(old_finite) and len(new_finite):
        method = "asymp" if max(len(old_finite), len(new_finite)) > KS_EXACT_MAX else "auto"
        result = ks_2samp(old_finite, new_finite, method=method)
        stats["ks"], stats["ks_pvalue"] = _rounded(result.statistic), _rounded(result.pvalue, 12)
    return stats, notes


def _psi(old_rows: int, old_finite: np.ndarray, new_rows: int, new_finite: np.ndarray) -> float:
    """PSI = sum((q - p) * ln(q / p)) over buckets cut at the old version's deciles.

    Tied quantiles collapse into one edge, so a constant column gets three buckets (below, equal, above) instead of
    ten; values outside the old range get their own buckets, and NaN/null share one "missing" bucket. Empty buckets
    get a share of PSI_EPSILON, so a value range that appears from nowhere scores high instead of infinite.
    """
    reference = old_finite if len(old_finite) else new_finite
    if len(reference):
        edges = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, PSI_BINS + 1)))
    else:
        edges = np.zeros(1)
    p = _bucket_shares(old_rows, old_finite, edges)
    q = _bucket_shares(new_rows, new_finite, edges)
    return float(np.sum((q - p) * np.log(q / p)))


def _bucket_shares(rows: int, finite: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of len(edges) + 3 buckets: below the old minimum, [edge, next edge) with the last one closed at the old
    maximum (for a single edge, i.e. a constant column: equal to it), above the maximum, missing."""
    bucket = np.searchsorted(edges, finite, side="right")
    if len(edges) > 1:
        bucket[finite == edges[-1]] = len(edges) - 1
    bucket[finite > edges[-1]] = len(edges) + 1
    counts = np.bincount(bucket, minlength=len(edges) + 2).astype(np.float64)
    counts = np.append(counts, rows - len(finite))
    return np.maximum(counts / rows, PSI_EPSILON)


def _as_categories(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strings, booleans and dictionaries as large_string, so a type change (string -> dictionary) still compares."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    return values.cast(pa.large_string())


def _categorical_stats(old: pa.ChunkedArray, new: pa.ChunkedArray) -> tuple[dict[str, Any], list[str]]:
    """JS distance and chi-square over the top-K values (by combined share), "other" and "missing"."""
    table = _category_table(old, new)
    stats: dict[str, Any] = {"method": "js+chi2", "js": None, "chi2_pvalue": None}
    notes = [f"{label} version has no non-missing values" for label, values in (("old", old), ("new", new))
             if len(values) and values.null_count == len(values)]
    totals = table.sum(axis=1)
    if (totals == 0).any():
        return stats, notes
    js = float(jensenshannon(table[0] / totals[0], table[1] / totals[1], base=2))
    stats["js"] = 0.0 if math.isnan(js) else _rounded(js)
    kept = table[:, table.sum(axis=0) > 0]  # chi2_contingency rejects all-zero columns
    stats["chi2_pvalue"] = 1.0 if kept.shape[1] < 2 else _rounded(chi2_contingency(kept).pvalue, 12)
    other = table[:, -2] / np.maximum(totals - table[:, -1], 1)
    if (other > 0.5).all():
        notes.append(f"high cardinality: most values fall outside the top {TOP_K}; JS compares the frequent ones")
    return stats, notes


def _category_table(old: pa.ChunkedArray, new: pa.ChunkedArray) -> np.ndarray:
    """2 x (K + 2) counts. Values never leave Arrow (no Python strings), which keeps them out of any output."""
    old_counts, new_counts = pc.value_counts(pc.drop_null(old)), pc.value_counts(pc.drop_null(new))
    candidates = pc.unique(pa.concat_arrays([_top_values(old_counts), _top_values(new_counts)]))
    old_hits, new_hits = _counts_of(candidates, old_counts), _counts_of(candidates, new_counts)
    old_total, new_total = max(old_hits.sum(), 1), max(new_hits.sum(), 1)
    combined = old_hits / old_total + new_hits / new_total
    keep = np.argsort(-combined, kind="stable")[:TOP_K]
    rows = []
    for hits, values in ((old_hits[keep], old), (new_hits[keep], new)):
        present = len(values) - values.null_count
        rows.append(np.concatenate([hits, [present - hits.sum(), values.null_count]]))
    return np.asarray(rows, dtype=np.float64)


def _top_values(counts: pa.StructArray) -> pa.Array:
    values = counts.field("values")
    if len(values) <= TOP_K:
        return values
    order = pc.array_sort_indices(counts.field("counts"), order="descending")
    return values.take(order[:TOP_K])


def _counts_of(candidates: pa.Array, counts: pa.StructArray) -> np.ndarray:
    where = pc.index_in(candidates, value_set=counts.field("values"))
    found = pc.take(counts.field("counts"), where)
    return pc.fill_null(found, 0).to_numpy(zero_copy_only=False).astype(np.float64)


def _method_note(old: _Version, new: _Version, sample_rows: int) -> str:
    def scope(label: str, version: _Version) -> str:
        if version.positions is None:
            return f"{label}: all {version.num_rows} rows"
        return f"{label}: {version.rows_read} of {version.num_rows} rows"

    sampling = (f"Drift is computed on a uniform random sample of up to {sample_rows} rows per version (rows drawn "
                f"without replacement from the whole file, numpy seed {SAMPLE_SEED}, same rows for every column)"
                if old.positions is not None or new.positions is not None else "Drift is computed on every row")
    return (f"{sampling}; {scope('old', old)}, {scope('new', new)}. Numeric and temporal columns: PSI over "
            f"{PSI_BINS} quantile bins of the old version plus below-range, above-range and missing buckets "
            f"(none < {PSI_MODERATE}, moderate < {PSI_MAJOR}, else major) and the two-sample KS test on non-missing "
            f"values. Categorical columns: Jensen-Shannon distance (base 2) over the top {TOP_K} values plus 'other' "
            f"and 'missing' (none < {JS_MODERATE}, moderate < {JS_MAJOR}, else major) and a chi-square test. "
            "Levels ignore p-values: on large samples they are near zero for negligible differences.")
