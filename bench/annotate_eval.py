"""Benchmark: description backends against columns people documented, with throughput cold and cached.

What is compared, and why:

* **baselines** - "description = column name" (what a catalog without descriptions shows) and the name split into
  words without expanding abbreviations (what splitting alone buys). Every backend is reported as a ratio to both.
* **backends** - every backend `annotator.describe.registry.available_backends()` lists (or `--backends`), each
  asked for all columns of each documented table in one `describe_columns` call, then for each table description.
* **combinations** - for every model backend B, "rules>B": the rules text where the rules backend is confident
  (>= `--threshold`), B's text elsewhere. This is the candidate default the issue asks about: instant rules for
  the names the lexicon can read, the model only for the rest.

Quality: mean cosine similarity of all-MiniLM-L6-v2 sentence embeddings (offline) between generated and human text,
and mean token F1 over lower-cased content words. Throughput: columns per second on the first pass with a fresh
backend (cold: includes loading the lexicon or the model) and on a second pass served from an in-memory cache keyed
by the description signature (backend, model, prompt version, column brief), which is the path a re-annotation of
unchanged columns takes; the real cache lives in the catalog store.

The documented set is tests/fixtures/documented/*.json (format in its README). A backend that fails is reported and
skipped; the script exits non-zero only when it crashes itself.

Run: `python bench/annotate_eval.py [--backends rules,local] [--threshold 0.7] [--per-column]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from annotator.describe.base import PROMPT_VERSION, Backend, ColumnBrief, Description, TableBrief  # noqa: E402
from annotator.describe.evaluate import (  # noqa: E402
    DocumentedTable,
    Embedder,
    Scores,
    column_pairs,
    load_documented,
    name_baseline,
    score,
    split_baseline,
)
from annotator.describe.registry import available_backends, get_backend  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "documented"
DEFAULT_THRESHOLD = 0.7
CACHED_PASSES = 5


@dataclass
class Run:
    """One backend's output over the documented set, in column order, plus its timings."""

    name: str
    model: str = ""
    texts: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    table_texts: list[str] = field(default_factory=list)
    cold_seconds: float = 0.0
    cached_seconds: float = 0.0
    error: str | None = None


def signature(backend: Backend, table: TableBrief, column: ColumnBrief) -> str:
    """What a cached description is keyed by: a change to any of these must produce a fresh description."""
    neighbours = [c.name for c in table.columns]
    payload = [backend.name, backend.model, PROMPT_VERSION, table.dataset, asdict(column), neighbours]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_backend(name: str, docs: Sequence[DocumentedTable]) -> Run:
    run = Run(name)
    try:
        backend = get_backend(name)
        run.model = backend.model
        cache: dict[str, Description] = {}
        start = time.perf_counter()
        for doc in docs:
            out = backend.describe_columns(doc.table, [c.name for c in doc.table.columns])
            for column in doc.table.columns:
                cache[signature(backend, doc.table, column)] = out[column.name]
        run.cold_seconds = time.perf_counter() - start
        run.cached_seconds = float("inf")
        for _ in range(CACHED_PASSES):  # the best of a few passes: a cache hit is too quick to time once
            start = time.perf_counter()
            hits = [cache[signature(backend, doc.table, c)] for doc in docs for c in doc.table.columns]
            run.cached_seconds = min(run.cached_seconds, time.perf_counter() - start)
        run.texts = [d.text for d in hits]
        run.confidences = [d.confidence for d in hits]
        for doc in docs:
            texts = {c.name: cache[signature(backend, doc.table, c)].text for c in doc.table.columns}
            run.table_texts.append(backend.describe_table(doc.table, texts).text)
    except Exception as exc:  # a backend that cannot run here is reported, not fatal
        run.error = f"{type(exc).__name__}: {exc}"[:200]
    return run


def combine(rules: Run, other: Run, threshold: float) -> Run:
    """Rules where it is confident, the other backend elsewhere (timings: rules always, the other for the rest)."""
    texts = [r if c >= threshold else o for r, c, o in zip(rules.texts, rules.confidences, other.texts, strict=True)]
    share = sum(1 for c in rules.confidences if c < threshold) / max(len(rules.confidences), 1)
    return Run(f"rules>{other.name}", f"{rules.model}+{other.model}", texts, rules.confidences, other.table_texts,
               rules.cold_seconds + share * other.cold_seconds, rules.cached_seconds)


def _rate(columns: int, seconds: float) -> str:
    return f"{columns / seconds:,.0f}" if seconds > 0 else "-"


def print_table(rows: list[tuple[str, str, Scores, str, str]], name: Scores, split: Scores) -> None:
    print(f"{'method':<18} {'model':<28} {'cosine':>7} {'tokenF1':>7} {'x name':>7} {'x split':>7} "
          f"{'cols/s cold':>12} {'cols/s cached':>14}")
    for label, model, s, cold, cached in rows:
        print(f"{label:<18} {model[:28]:<28} {s.cosine:>7.3f} {s.token_f1:>7.3f} {s.cosine / name.cosine:>6.2f}x "
              f"{s.cosine / split.cosine:>6.2f}x {cold:>12} {cached:>14}")


def print_confidence(run: Run, scores: Scores, threshold: float) -> None:
    """Is the rules confidence worth routing on? Mean cosine above and below the threshold."""
    for label, keep in (("confident", lambda c: c >= threshold), ("unsure", lambda c: c < threshold)):
        picked = [s for s, c in zip(scores.per_item, run.confidences, strict=True) if keep(c)]
        mean = sum(picked) / len(picked) if picked else float("nan")
        print(f"  {run.name} {label:<9} (confidence {'>=' if label == 'confident' else '<'} {threshold}): "
              f"{len(picked):>4} columns, mean cosine {mean:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--backends", default="", help="comma-separated names (default: all available)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--per-column", action="store_true", help="print every generated text with its score")
    args = parser.parse_args(argv)

    docs = load_documented(args.fixtures)
    pairs = column_pairs(docs)
    truth = [doc.truth[c.name] for doc, c in pairs]
    names = [n for n in args.backends.split(",") if n] or available_backends()
    print(f"documented set: {len(docs)} datasets, {len(pairs)} columns ({args.fixtures})")
    embedder = Embedder()
    name_scores = score(embedder, [name_baseline(c) for _, c in pairs], truth)
    split_scores = score(embedder, [split_baseline(c) for _, c in pairs], truth)
    rows = [("name baseline", "-", name_scores, "-", "-"), ("split baseline", "-", split_scores, "-", "-")]
    runs = [run_backend(n, docs) for n in names]
    for run in runs:
        if run.error:
            print(f"backend {run.name}: unavailable ({run.error})")
    ok = [r for r in runs if not r.error]
    rules = next((r for r in ok if r.name == "rules"), None)
    if rules is not None:
        ok += [combine(rules, r, args.threshold) for r in ok if r.name != "rules"]
    scored = {r.name: score(embedder, r.texts, truth) for r in ok}
    for run in ok:
        rows.append((run.name, run.model, scored[run.name], _rate(len(pairs), run.cold_seconds),
                     _rate(len(pairs), run.cached_seconds)))
    print("\ncolumn descriptions")
    print_table(rows, name_scores, split_scores)
    if rules is not None:
        print_confidence(rules, scored["rules"], args.threshold)
    _print_tables(embedder, docs, [r for r in ok if "+" not in r.model])
    if args.per_column:
        _print_columns(pairs, truth, ok, scored)
    return 0


def _print_tables(embedder: Embedder, docs: Sequence[DocumentedTable], runs: Sequence[Run]) -> None:
    """Table descriptions against the human ones; the baseline is the table's own name."""
    truth = [doc.table_truth for doc in docs]
    baseline = score(embedder, [doc.table.dataset.rsplit("/", 1)[-1] for doc in docs], truth)
    print(f"\ntable descriptions ({len(docs)} datasets)")
    print(f"  {'name baseline':<18} cosine {baseline.cosine:.3f}  tokenF1 {baseline.token_f1:.3f}")
    for run in runs:
        s = score(embedder, run.table_texts, truth)
        print(f"  {run.name:<18} cosine {s.cosine:.3f}  tokenF1 {s.token_f1:.3f}  ({s.cosine / baseline.cosine:.2f}x)")


def _print_columns(pairs: Sequence[tuple[DocumentedTable, ColumnBrief]], truth: Sequence[str], runs: Sequence[Run],
                   scored: dict[str, Scores]) -> None:
    for i, (doc, column) in enumerate(pairs):
        print(f"\n{doc.table.dataset} {column.name}\n  human: {truth[i]}")
        for run in runs:
            print(f"  {run.name:<14} {scored[run.name].per_item[i]:.2f} {run.confidences[i]:.2f} {run.texts[i]}")


if __name__ == "__main__":
    sys.exit(main())
