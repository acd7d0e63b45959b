"""Throughput of redaction recipes (`catalog.redaction`) on Arrow batches, against copying the same batches.

    python bench/redact_rules.py [--rows 1000000] [--batch 65536]

Four PII columns, as a customer table has them: an e-mail (hash), a phone (mask keep_last 2), a birth date
(generalise to year) and free-text notes (scrub), plus an id that is kept. E-mails are unique per row, so hashing
gets no help from repeated values. The input is generated before timing (faker pools composed by a seeded RNG);
the baseline copies every column of every batch (`pa.concat_arrays`), the floor of any per-batch transform.
Prints rows/s of both, their ratio, and peak RSS before and after the redaction loop (flat: one batch at a time).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog import redaction_rules as rules  # noqa: E402
from catalog.redaction import Recipe, Redactor, load_recipe  # noqa: E402

RECIPE = """
version: 1
default: drop
columns:
  id: keep
  email: {rule: hash}
  phone: {rule: mask, keep_last: 2}
  birth_date: {rule: generalise, to: year}
  notes: {rule: scrub}
"""
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR")


def _pools(seed: int) -> dict[str, list[str]]:
    from faker import Faker

    fakers = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        fakers.append(fake)
    return {
        "user": [f.user_name() for f in fakers for _ in range(500)],
        "domain": [f.free_email_domain() for f in fakers for _ in range(20)],
        "phone": [f.phone_number() for f in fakers for _ in range(1000)],
        "sentence": [f.sentence(nb_words=10) for f in fakers for _ in range(500)],
        "card": [f.credit_card_number() for f in fakers for _ in range(100)],
    }


def _note(rng: random.Random, pools: dict[str, list[str]], row: int) -> str:
    text = rng.choice(pools["sentence"])
    roll = rng.random()
    if roll < 0.2:
        text += f" Write to {rng.choice(pools['user'])}@{rng.choice(pools['domain'])}."
    elif roll < 0.35:
        text += f" Call {rng.choice(pools['phone'])} after 5pm."
    elif roll < 0.4:
        text += f" Paid with {rng.choice(pools['card'])}."
    elif roll < 0.6:
        text += f" Order {rng.randint(10**5, 10**8)} shipped on 2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}."
    return text


def make_batches(rows: int, batch_rows: int, seed: int = 7) -> list[pa.RecordBatch]:
    rng = random.Random(seed)
    pools = _pools(seed)
    born = date(1940, 1, 1)
    batches = []
    for start in range(0, rows, batch_rows):
        ids = range(start, min(rows, start + batch_rows))
        batches.append(pa.record_batch({
            "id": pa.array(ids, pa.int64()),
            "email": [None if i % 50 == 0 else f"{rng.choice(pools['user'])}.{i}@{rng.choice(pools['domain'])}"
                      for i in ids],
            "phone": [rng.choice(pools["phone"]) for _ in ids],
            "birth_date": pa.array([born + timedelta(days=rng.randint(0, 25_000)) for _ in ids], pa.date32()),
            "notes": [_note(rng, pools, i) for i in ids],
        }))
    return batches


def _copy(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.concat_arrays([c]) for c in batch.columns], schema=batch.schema)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall time of `repeat` runs, and the process CPU time of that run (on a busy machine, wall time
    measures the neighbours too)."""
    found = (math.inf, math.inf)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        found = min(found, (time.perf_counter() - wall, time.process_time() - cpu))
    return found


def _per_rule(recipe: Recipe, batches: list[pa.RecordBatch], key: bytes, repeat: int) -> None:
    """Each rule alone, on one thread: where the time goes."""
    hasher = rules.Hasher(key)
    rows = sum(b.num_rows for b in batches)
    for name, rule in recipe.columns.items():
        if rule.kind == "keep":
            continue
        wall, _ = _best(lambda n=name, r=rule: [rules.transform(r.kind, r.options, b.column(n), hasher)
                                                for b in batches], repeat)
        print(f"  {name:<11} {rule.kind:<10} {rows / wall:>12,.0f} rows/s ({wall:.2f}s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best is shown")
    args = parser.parse_args()
    started = time.perf_counter()
    batches = make_batches(args.rows, args.batch)
    print(f"generated {args.rows:,} rows in {len(batches)} batches in {time.perf_counter() - started:.1f}s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    key = os.urandom(32)
    recipe = load_recipe(RECIPE)
    redactor = Redactor(recipe, batches[0].schema, key)
    redactor(batches[0])  # warm up (regex compilation, thread pool)
    copy_wall, _ = _best(lambda: [_copy(b) for b in batches], args.repeat)
    print("per rule, one thread:")
    _per_rule(recipe, batches, key, args.repeat)
    peak_before = _peak_mib()
    wall, cpu = _best(lambda: [redactor(b) for b in batches], args.repeat)
    print(f"copy (baseline): {args.rows / copy_wall:>14,.0f} rows/s ({copy_wall:.3f}s)")
    print(f"redact (apply):  {args.rows / wall:>14,.0f} rows/s ({wall:.2f}s wall, {cpu:.2f}s CPU)")
    print(f"redact takes {wall / copy_wall:.0f}x the time of copying; the whole publish must reach 500,000 rows/s")
    print(f"peak RSS: {peak_before:.0f} MiB before redacting, {_peak_mib():.0f} MiB after "
          f"(the input, {sum(b.nbytes for b in batches) / 2**20:.0f} MiB, is generated up front)")


if __name__ == "__main__":
    main()
