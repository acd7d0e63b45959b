"""The classifier against the labelled evaluation set, on the development draw and on a fresh draw (another seed).

Thresholds and why: each label has 9-45 positive columns per draw, so one miss costs 2-11 points of recall; 0.9 per
label tolerates a single miss on the smallest labels while still failing any systematic gap. Overall micro F1 must
be >= 0.95 (the issue's target) and no hard negative may reach the suggest threshold (the issue's hard rule).
"""

from __future__ import annotations

from functools import cache

import pytest

from annotator.pii import LABELS, SUGGEST_THRESHOLD
from tests.pii.dataset import CORE_LOCALES, EXTRA_LOCALES, Case, Table, build_tables
from tests.pii.evaluation import Report, classifier_predictor, evaluate

DEV_SEED = 4
FRESH_SEED = 20240611  # never looked at while building the classifier
SEEDS = [DEV_SEED, FRESH_SEED]
MIN_PRECISION = MIN_RECALL = 0.9
MIN_MICRO_F1 = 0.95


@cache
def tables(seed: int) -> tuple[Table, ...]:
    return tuple(build_tables(seed))


def cases(seed: int) -> list[Case]:
    return [case for table in tables(seed) for case in table.cases]


@cache
def report(seed: int) -> Report:
    return evaluate(tables(seed), classifier_predictor())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("label", LABELS)
def test_per_label_precision_and_recall(seed: int, label: str) -> None:
    stats = report(seed).per_label[label]
    misses = [m for m in report(seed).mistakes if label in (m[1] ^ m[2])]
    assert stats.tp + stats.fn >= 8, f"too few {label} columns in the set"
    assert stats.precision >= MIN_PRECISION, misses
    assert stats.recall >= MIN_RECALL, misses


@pytest.mark.parametrize("seed", SEEDS)
def test_overall_micro_f1(seed: int) -> None:
    assert report(seed).micro.f1 >= MIN_MICRO_F1, report(seed).mistakes


@pytest.mark.parametrize("seed", SEEDS)
def test_no_hard_negative_reaches_the_suggest_threshold(seed: int) -> None:
    assert report(seed).hard_negative_fps == []


@pytest.mark.parametrize("seed", SEEDS)
def test_the_set_is_what_the_issue_asks_for(seed: int) -> None:
    drawn = cases(seed)
    assert len(drawn) >= 300
    locales = {c.case_id.split(".")[0] for c in drawn}
    assert set(CORE_LOCALES) | set(EXTRA_LOCALES) <= locales
    sampled = [c for c in drawn if c.column.values]
    assert all(200 <= len(c.column.values) <= 500 for c in sampled)
    assert any(any(v is None for v in c.column.values) for c in sampled)
    names = {c.column.name for c in drawn}
    assert {"col_1", "f1", "field_1", "c1", "attr_1", "x1", "column1"} & names  # names that say nothing
    hard = [c for c in drawn if c.hard_negative]
    assert len(hard) >= 60 and all(not c.expected for c in hard)
    hard_names = " ".join(c.column.name for c in hard)
    for trap in ("name", "address_type", "phone_model", "browser", "email", "f2"):
        assert trap in hard_names


def test_fresh_draw_differs_from_the_development_draw() -> None:
    dev, fresh = cases(DEV_SEED), cases(FRESH_SEED)
    assert [c.case_id for c in dev] != [c.case_id for c in fresh]
    dev_values = {str(v) for c in dev for v in c.column.values[:5]}
    fresh_values = {str(v) for c in fresh for v in c.column.values[:5]}
    assert len(dev_values & fresh_values) < 0.2 * len(fresh_values)


def test_suggest_threshold_is_what_the_evaluation_uses() -> None:
    assert SUGGEST_THRESHOLD == 0.5
