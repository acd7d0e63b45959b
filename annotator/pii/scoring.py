"""The arithmetic shared by the value scorers: hints from the name, results, the share-to-weight curve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from annotator.pii.labels import LABEL_TEXT
from annotator.pii.sample import Sample

EARLY_STOP_AFTER = 200


@dataclass(frozen=True)
class Hint:
    """What the name and comment said about this label, because some values are only telling once named."""

    positive: bool = False
    cue: str | None = None
    axis: str | None = None  # "lat" / "lon" for coordinate columns


@dataclass(frozen=True)
class ValueResult:
    weight: float
    match_share: float
    detail: str
    facts: frozenset[str] = frozenset()


def curve(share: float, k: float, mid: float, low: float, high: float) -> float:
    return max(low, min(high, k * (share - mid)))


def graded(sample: Sample, grade: Callable[[Any], float]) -> tuple[float, float, int]:
    """(mean grade, share of values graded >= 0.5, values looked at), most frequent values first; stops early when
    the first EARLY_STOP_AFTER distinct values are plainly not this label."""
    score = matched = seen = 0.0
    for i, (value, count) in enumerate(sample.items):
        g = grade(value)
        score += g * count
        seen += count
        if g >= 0.5:
            matched += count
        if i == EARLY_STOP_AFTER and score < 0.02 * seen:
            break
    return score / seen, matched / seen, int(seen)


def describe(label: str, matched: float, seen: int, noun: str | None = None) -> str:
    count = round(matched * seen)
    return f"{count} of {seen} sampled values are {noun or LABEL_TEXT[label]} ({matched:.0%})"


