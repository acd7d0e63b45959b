"""Scoring a classifier against the labelled set: per-label precision/recall/F1, micro F1, hard-negative false
positives. Shared by the tests and bench/pii_eval.py so both report the same numbers."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from annotator.pii import LABELS, SUGGEST_THRESHOLD, SUSPECT_THRESHOLD, classify_columns
from tests.pii.dataset import Case, Table

Predictor = Callable[[Table], list[frozenset[str]]]


@dataclass
class LabelStats:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    per_label: dict[str, LabelStats] = field(default_factory=lambda: {label: LabelStats() for label in LABELS})
    micro: LabelStats = field(default_factory=LabelStats)
    hard_negative_fps: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    mistakes: list[tuple[str, frozenset[str], frozenset[str]]] = field(default_factory=list)
    columns: int = 0
    seconds: float = 0.0

    @property
    def ms_per_column(self) -> float:
        return 1000 * self.seconds / max(self.columns, 1)


def classifier_predictor(threshold: float = SUGGEST_THRESHOLD) -> Predictor:
    """The real classifier: labels at or above `threshold` (the suggest threshold by default)."""
    def predict(table: Table) -> list[frozenset[str]]:
        findings = classify_columns([c.column for c in table.cases], dataset=table.name, table_comment=table.comment)
        return [frozenset(f.label for f in found if f.confidence >= threshold) for found in findings]
    return predict


def suspect_predictor() -> Predictor:
    return classifier_predictor(SUSPECT_THRESHOLD)


def evaluate(tables: Sequence[Table], predict: Predictor) -> Report:
    report = Report()
    for table in tables:
        started = time.perf_counter()
        predicted = predict(table)
        report.seconds += time.perf_counter() - started
        for case, labels in zip(table.cases, predicted, strict=True):
            _score(report, case, labels)
    return report


def _score(report: Report, case: Case, predicted: frozenset[str]) -> None:
    report.columns += 1
    for label in LABELS:
        stats = report.per_label[label]
        hit, want = label in predicted, label in case.expected
        stats.tp += hit and want
        stats.fp += hit and not want
        stats.fn += want and not hit
    report.micro.tp += len(predicted & case.expected)
    report.micro.fp += len(predicted - case.expected)
    report.micro.fn += len(case.expected - predicted)
    if predicted != case.expected:
        report.mistakes.append((case.case_id, case.expected, predicted))
    if case.hard_negative and predicted:
        report.hard_negative_fps.append((case.case_id, predicted))
