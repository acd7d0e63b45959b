"""Drift between what a model was trained on and what its data is now, reduced to one verdict per input.

Published inputs are compared file to file with `catalog.version_diff` (PSI for numbers and times, Jensen-Shannon
distance for categories, on a fixed-seed sample). Crawled inputs have no files to keep, so they are compared
through the value-free profile snapshot taken when the run was recorded (`catalog.lineage.crawled_snapshot`):
PSI between the two sampled histograms (the new one re-binned onto the old edges, assuming values spread evenly
inside a bin), JS distance between the hashed top-value shares, and the change in the share of empty values.

A verdict exceeds the thresholds when any compared column does, or when a column the model used was removed or
changed type (the model cannot even be fed the new data the same way).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon

from catalog.errors import InvalidInput

PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class Thresholds:
    """Beyond any of these, retraining is recommended. Defaults are the "major" drift levels of
    `catalog.version_diff` (PSI 0.25, JS 0.21) and a 10-point move in the share of empty values."""

    psi: float = 0.25
    js: float = 0.21
    nulls: float = 0.10

    @classmethod
    def parse(cls, text: str | None) -> Thresholds:
        """`psi=0.2,js=0.15,nulls=0.05` (any subset); the rest keep their defaults."""
        values = asdict(cls())
        for part in (text or "").split(","):
            if not part.strip():
                continue
            key, sep, raw = part.partition("=")
            key = key.strip().lower()
            if not sep or key not in values:
                raise InvalidInput(f"drift threshold '{part.strip()}' is not one of psi=, js=, nulls=")
            try:
                number = float(raw)
            except ValueError:
                number = -1.0
            if not 0 < number <= 10 or math.isnan(number):
                raise InvalidInput(f"drift threshold {key} must be a positive number, not '{raw.strip()}'")
            values[key] = number
        return cls(**values)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def column_verdicts(columns: Iterable[Mapping[str, Any]], thresholds: Thresholds) -> list[dict[str, Any]]:
    """Each compared column with the measure that decided it and whether it crossed a threshold."""
    verdicts = []
    for entry in columns:
        reasons = []
        if entry.get("psi") is not None and entry["psi"] >= thresholds.psi:
            reasons.append(f"PSI {entry['psi']:.3f} ≥ {thresholds.psi}")
        if entry.get("js") is not None and entry["js"] >= thresholds.js:
            reasons.append(f"JS distance {entry['js']:.3f} ≥ {thresholds.js}")
        moved = abs(float(entry.get("null_share_new") or 0) - float(entry.get("null_share_old") or 0))
        if moved >= thresholds.nulls:
            reasons.append(f"empty share moved by {moved:.2f} ≥ {thresholds.nulls}")
        verdicts.append({"column": entry.get("column"), "kind": entry.get("kind"), "psi": entry.get("psi"),
                         "js": entry.get("js"), "null_share_old": entry.get("null_share_old"),
                         "null_share_new": entry.get("null_share_new"), "exceeds": bool(reasons),
                         "reasons": reasons, "note": entry.get("note")})
    return verdicts


def snapshot_drift(old: Mapping[str, Any], new: Mapping[str, Any], used: Iterable[str] = ()) -> dict[str, Any]:
    """Schema changes and per-column drift between two crawled-dataset snapshots (see the module docstring)."""
    before, after = old.get("columns") or {}, new.get("columns") or {}
    wanted = set(used) or set(before)
    removed = sorted(c for c in wanted if c in before and c not in after)
    retyped = sorted(c for c in wanted if c in before and c in after and before[c].get("type") != after[c].get("type"))
    entries = []
    for name in sorted(wanted & set(before) & set(after)):
        if name in retyped:
            continue
        entries.append(_column_entry(name, before[name], after[name]))
    return {"removed": removed, "type_changed": retyped, "columns": entries,
            "rows": {"old": old.get("rows"), "new": new.get("rows")}}


def _column_entry(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"column": name, "kind": "none", "psi": None, "js": None,
                             "null_share_old": old.get("null_share"), "null_share_new": new.get("null_share"),
                             "note": None}
    if old.get("histogram") and new.get("histogram"):
        entry.update(kind="numeric", psi=round(histogram_psi(old["histogram"], new["histogram"]), 6))
    elif old.get("top") and new.get("top"):
        entry.update(kind="categorical", js=round(top_share_js(old["top"], new["top"]), 6))
    elif old.get("true_share") is not None and new.get("true_share") is not None:
        entry.update(kind="categorical", js=round(top_share_js({"t": old["true_share"]}, {"t": new["true_share"]}),
                                                  6))
    else:
        entry["note"] = "no distribution in the profiles (not profiled, or values withheld as personal data)"
    return entry


def histogram_psi(old: Mapping[str, Any], new: Mapping[str, Any]) -> float:
    """PSI of `new` against `old`, with `new` re-binned onto `old`'s edges (open-ended first and last bins)."""
    edges = np.asarray(old["edges"], dtype=float)
    expected = np.asarray(old["counts"], dtype=float)
    if expected.sum() <= 0 or edges.size < 2:
        return 0.0
    cumulative = _cdf(np.asarray(new["edges"], dtype=float), np.asarray(new["counts"], dtype=float), edges)
    cumulative[0], cumulative[-1] = 0.0, 1.0  # whatever fell outside the old range joins the end bins
    actual = np.diff(cumulative)
    p = np.maximum(expected / expected.sum(), PSI_EPSILON)
    q = np.maximum(actual, PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def _cdf(edges: np.ndarray, counts: np.ndarray, at: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total <= 0 or edges.size < 2:
        return np.linspace(0.0, 1.0, at.size)
    if edges[-1] == edges[0]:  # every value equal: a step
        return (at >= edges[0]).astype(float)
    return np.interp(at, edges, np.concatenate([[0.0], np.cumsum(counts) / total]))


def top_share_js(old: Mapping[str, float], new: Mapping[str, float]) -> float:
    """Jensen-Shannon distance (base 2) between two top-value share maps, the rest pooled as "other"."""
    keys = sorted(set(old) | set(new))
    p = np.array([float(old.get(k) or 0.0) for k in keys] + [max(0.0, 1.0 - sum(float(v or 0) for v in old.values()))])
    q = np.array([float(new.get(k) or 0.0) for k in keys] + [max(0.0, 1.0 - sum(float(v or 0) for v in new.values()))])
    if p.sum() <= 0 or q.sum() <= 0:
        return 0.0
    return float(jensenshannon(p / p.sum(), q / q.sum(), base=2))
