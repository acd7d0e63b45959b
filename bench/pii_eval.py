"""Benchmark: the PII classifier against a naive regex-only classifier, on the labelled evaluation set.

What is compared, and why:

* **classifier** - `annotator.pii.classify_columns`, one call per table (so neighbours count), a label counts when
  its confidence reaches the suggest threshold (0.5).
* **naive regex** - what simple catalogs do: one regular expression per label applied to each sampled value, the
  label given when more than half of the non-null values match; no checksums, no column names, no neighbours.
  It shows what the validators, names and hard-negative handling buy.

The set is tests/pii/dataset.py: faker-generated PII columns in ten locales, hard negatives (`email_verified`
flags, year codes, browser names, 16-digit order numbers failing Luhn, phone-shaped product codes, notes with a
rare e-mail...) and ordinary business columns, drawn twice: the development seed and a fresh seed.

Printed per seed: precision, recall and F1 per label for both, micro F1, hard-negative false positives (a hard
negative with any label at the suggest threshold), and classification time per column, plus the time for
10,000-value columns. Targets: classifier micro F1 >= 0.95 and no hard-negative false positive on every seed;
the script exits 1 when a target is missed.

Run: `python bench/pii_eval.py [--seeds 4 20240611]`.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faker import Faker  # noqa: E402 - the test extra; the runtime never imports it

from annotator.pii import LABELS, ColumnContext, classify_columns  # noqa: E402 - needs the repo root on sys.path
from tests.pii.dataset import Table, build_tables  # noqa: E402
from tests.pii.evaluation import Report, classifier_predictor, evaluate  # noqa: E402

TARGET_MICRO_F1 = 0.95
DEFAULT_SEEDS = [4, 20240611]
NAIVE_PATTERNS: dict[str, re.Pattern[str]] = {
    label: re.compile(pattern) for label, pattern in {
        "pii.email": r"\S+@\S+\.\S+",
        "pii.phone": r"\+?[\d\s().-]{7,}",
        "pii.person_name": r"[A-Z][a-z]+(?: [A-Z][a-z]+)*",
        "pii.street_address": r"\d+\s+\w+.*|\w+.*\s\d+\w?",
        "pii.national_id": r"\d{3}-?\d{2}-?\d{4}|[A-Z]{2}\s?\d{6}\s?[A-D]",
        "pii.credit_card": r"(?:\d[ -]?){13,19}",
        "pii.iban": r"[A-Z]{2}\d{2}[A-Z0-9 ]{11,30}",
        "pii.ip_address": r"\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:]+",
        "pii.date_of_birth": r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}",
        "pii.passport": r"[A-Z0-9]{6,9}",
        "pii.geo_location": r"-?\d{1,3}\.\d{3,}(?:\s*,\s*-?\d{1,3}\.\d{3,})?",
    }.items()
}


def naive_labels(values: list[Any]) -> frozenset[str]:
    """Labels whose regex fully matches more than half of the non-null values (dates as ISO text)."""
    texts = [v.isoformat() if isinstance(v, date) else str(v) for v in values if v is not None]
    if not texts:
        return frozenset()
    found = set()
    for label, pattern in NAIVE_PATTERNS.items():
        if sum(1 for t in texts if pattern.fullmatch(t)) > len(texts) / 2:
            found.add(label)
    return frozenset(found)


def naive_predict(table: Table) -> list[frozenset[str]]:
    return [naive_labels(list(case.column.values)) for case in table.cases]


def print_table(seed: int, ours: Report, naive: Report) -> None:
    print(f"\nseed {seed}: {ours.columns} columns")
    print(f"{'label':22s} | {'classifier P':>12s} {'R':>6s} {'F1':>6s} | {'naive P':>8s} {'R':>6s} {'F1':>6s} |"
          f" {'positives':>9s}")
    for label in LABELS:
        a, b = ours.per_label[label], naive.per_label[label]
        print(f"{label:22s} | {a.precision:12.3f} {a.recall:6.3f} {a.f1:6.3f} | {b.precision:8.3f} {b.recall:6.3f}"
              f" {b.f1:6.3f} | {a.tp + a.fn:9d}")
    print(f"{'micro':22s} | {ours.micro.precision:12.3f} {ours.micro.recall:6.3f} {ours.micro.f1:6.3f} |"
          f" {naive.micro.precision:8.3f} {naive.micro.recall:6.3f} {naive.micro.f1:6.3f} |")
    print(f"hard-negative false positives: classifier {len(ours.hard_negative_fps)}, naive "
          f"{len(naive.hard_negative_fps)}")
    print(f"time per column: classifier {ours.ms_per_column:.2f} ms, naive {naive.ms_per_column:.2f} ms")
    for case_id, expected, got in ours.mistakes:
        print(f"  classifier mistake: {case_id}: expected {sorted(expected)}, got {sorted(got)}")


def large_column_ms() -> float:
    """Mean classification time of single 10,000-value columns of several kinds (names, e-mails, free text,
    addresses, phone numbers, integers, dates)."""
    fake = Faker("de_DE")
    fake.seed_instance(0)
    rng = random.Random(0)
    makers = [fake.name, fake.email, fake.sentence, fake.street_address, fake.phone_number,
              lambda: rng.randint(0, 10**9), fake.date_of_birth]
    columns = [ColumnContext("col", "other", [make() for _ in range(10_000)]) for make in makers]
    started = time.perf_counter()
    for column in columns:
        classify_columns([column])
    return 1000 * (time.perf_counter() - started) / len(columns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=DEFAULT_SEEDS)
    args = parser.parse_args(argv)
    failed = False
    for seed in args.seeds:
        tables = build_tables(seed)
        ours, naive = evaluate(tables, classifier_predictor()), evaluate(tables, naive_predict)
        print_table(seed, ours, naive)
        ok = ours.micro.f1 >= TARGET_MICRO_F1 and not ours.hard_negative_fps
        print(f"target (micro F1 >= {TARGET_MICRO_F1}, no hard-negative FP): {'PASS' if ok else 'FAIL'}")
        failed |= not ok
    print(f"\n10,000-value column: {large_column_ms():.1f} ms on average (target: well under 100 ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
