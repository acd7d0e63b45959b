"""Benchmark: hybrid search against keyword-only and vector-only, on queries written the way analysts ask.

What is compared, and why:

* **keyword** - BM25 over identifier-aware tokens (catalog.keywords): finds `c_eml` for "customer email" through
  the abbreviation lexicon, ranks exact names first, but knows no synonyms ("refunds" vs `returns`).
* **vector** - cosine similarity of sentence embeddings of the same documents: knows synonyms, but blurs names.
* **hybrid** - both, fused by reciprocal rank with exact names first: what `catalog search` does by default. It is
  reported as a ratio to each single side, both measured in this run.

The set is tests/fixtures/search_queries.json (format in its "about"): each query with the datasets
(`source/path`) and columns (`dataset#column`) a good answer contains, against the demo catalog. Metrics per mode:
recall@10 (share of the expected items in the top 10, averaged over queries) and MRR (1 / rank of the first
expected item, 0 when none is in the top 10), overall and per query kind; with `--per-query`, each query's first
expected rank per mode. Before searching, every expected name is checked against the demo catalog: a name that does
not exist is reported and the script exits 2 (a stale query set must not quietly lower the scores).

Run: `python bench/search_eval.py [--home DIR] [--per-query] [--json]`. Without `--home` the demo is built in a
temporary folder (about a minute with the embedding model); with it, an existing demo home is reused and
re-indexed incrementally.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import select  # noqa: E402

from catalog.access import Actor  # noqa: E402 - needs the repo root on sys.path
from catalog.db import migrate, session_scope  # noqa: E402
from catalog.models import Column, Dataset  # noqa: E402
from catalog.settings import Settings, load_settings  # noqa: E402

QUERIES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "search_queries.json"
MODES = ("hybrid", "keyword", "vector")
K = 10


@dataclass(frozen=True)
class Query:
    text: str
    kind: str
    expected: tuple[str, ...]


@dataclass
class ModeScores:
    """Per-query recall@K and reciprocal rank of one mode, plus the first expected rank (for --per-query)."""

    recall: list[float] = field(default_factory=list)
    reciprocal: list[float] = field(default_factory=list)
    first_rank: list[int | None] = field(default_factory=list)
    seconds: float = 0.0


def load_queries(path: Path = QUERIES) -> list[Query]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [Query(q["query"], q.get("kind", ""), tuple(q["expected"])) for q in raw["queries"]]


def result_key(result: dict[str, Any]) -> str:
    """A search result as the query set names it: `dataset` or `dataset#column`."""
    return f"{result['dataset']}#{result['column']}" if result.get("column") else result["dataset"]


def missing_names(settings: Settings, queries: Iterable[Query]) -> list[str]:
    """Expected names that do not exist in the catalog (datasets, and columns of existing datasets)."""
    with session_scope(settings) as session:
        datasets = dict(session.execute(select(Dataset.name, Dataset.id)).all())
        columns = {(dataset_id, name) for dataset_id, name in session.execute(select(Column.dataset_id,
                                                                                     Column.name))}
    missing = []
    for query in queries:
        for name in query.expected:
            dataset, _, column = name.partition("#")
            if dataset not in datasets or (column and (datasets[dataset], column) not in columns):
                missing.append(f"{query.text!r}: {name}")
    return missing


def evaluate(settings: Settings, actor: Actor, queries: Sequence[Query], modes: Sequence[str]
             ) -> dict[str, ModeScores]:
    from catalog.search import search

    scores = {mode: ModeScores() for mode in modes}
    with session_scope(settings) as session:
        for mode in modes:
            search(session, actor, settings, "warm up", limit=K, mode=mode)  # loads the model and index files
            started = time.perf_counter()
            for query in queries:
                results = search(session, actor, settings, query.text, limit=K, mode=mode)["results"]
                _score(scores[mode], [result_key(r) for r in results[:K]], query.expected)
            scores[mode].seconds = time.perf_counter() - started
    return scores


def _score(scores: ModeScores, ranked: list[str], expected: Sequence[str]) -> None:
    wanted = set(expected)
    found = [i for i, key in enumerate(ranked, start=1) if key in wanted]
    scores.recall.append(len(set(ranked) & wanted) / len(wanted))
    scores.reciprocal.append(1.0 / found[0] if found else 0.0)
    scores.first_rank.append(found[0] if found else None)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summary(queries: Sequence[Query], scores: dict[str, ModeScores]) -> dict[str, Any]:
    """Overall and per-kind recall@K and MRR per mode, and hybrid's ratios to each single side."""
    kinds = sorted({q.kind for q in queries})
    out: dict[str, Any] = {"queries": len(queries), "k": K, "modes": {}}
    for mode, s in scores.items():
        by_kind = {}
        for kind in kinds:
            picked = [i for i, q in enumerate(queries) if q.kind == kind]
            by_kind[kind] = {"queries": len(picked), "recall": _mean([s.recall[i] for i in picked]),
                             "mrr": _mean([s.reciprocal[i] for i in picked])}
        out["modes"][mode] = {"recall": _mean(s.recall), "mrr": _mean(s.reciprocal), "by_kind": by_kind,
                              "ms_per_query": 1000 * s.seconds / max(len(queries), 1)}
    if "hybrid" in scores:
        hybrid = out["modes"]["hybrid"]
        out["hybrid_ratio"] = {mode: {metric: round(hybrid[metric] / m[metric], 3) if m[metric] else None
                                      for metric in ("recall", "mrr")}
                               for mode, m in out["modes"].items() if mode != "hybrid"}
    return out


def print_summary(report: dict[str, Any], queries: Sequence[Query], scores: dict[str, ModeScores],
                  per_query: bool) -> None:
    modes = list(report["modes"])
    print(f"{report['queries']} queries, recall@{K} / MRR")
    print(f"{'':22}" + "".join(f"{mode:>20}" for mode in modes))
    print(f"{'all':22}" + "".join(f"{m['recall']:>10.3f}{m['mrr']:>10.3f}" for m in report["modes"].values()))
    for kind in report["modes"][modes[0]]["by_kind"]:
        cells = [report["modes"][mode]["by_kind"][kind] for mode in modes]
        label = f"{kind} ({cells[0]['queries']})"
        print(f"{label:22}" + "".join(f"{c['recall']:>10.3f}{c['mrr']:>10.3f}" for c in cells))
    print(f"{'ms per query':22}" + "".join(f"{m['ms_per_query']:>20.1f}" for m in report["modes"].values()))
    for mode, ratio in report.get("hybrid_ratio", {}).items():
        print(f"hybrid / {mode}: recall x{ratio['recall']}, MRR x{ratio['mrr']}")
    if per_query:
        print("\nfirst expected rank per query (- = not in the top 10)")
        for i, query in enumerate(queries):
            ranks = "".join(f"{scores[mode].first_rank[i] or '-':>9}" for mode in modes)
            print(f"{ranks}  {query.text}")


def prepare(home: Path | None, workdir: Path, index: bool = True) -> Settings:
    """The demo catalog, crawled, annotated and (with `index`) indexed; built in `workdir` unless `home` already
    holds one."""
    from catalog.demo import build_demo
    from catalog.search import build_index

    settings = load_settings(home=home or workdir / "home")
    migrate(settings)
    started = time.perf_counter()
    if home is None or not (settings.home / "demo").exists():
        build_demo(settings, Actor.local())
    built = time.perf_counter()
    if not index:
        return settings
    indexed = build_index(settings)
    print(f"demo ready in {built - started:.1f} s, indexed {indexed['indexed']} documents in "
          f"{time.perf_counter() - built:.1f} s", file=sys.stderr)
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="reuse this catalog home (the demo is built there if missing)")
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: hybrid,keyword,vector")
    parser.add_argument("--per-query", action="store_true", help="print each query's first expected rank")
    parser.add_argument("--check-only", action="store_true", help="only check the expected names exist")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    queries = load_queries(args.queries)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="search-eval-") as workdir:
        settings = prepare(args.home, Path(workdir), index=not args.check_only)
        missing = missing_names(settings, queries)
        if missing:
            print("expected names not in the demo catalog:\n  " + "\n  ".join(missing), file=sys.stderr)
            return 2
        if args.check_only:
            print(f"all {sum(len(q.expected) for q in queries)} expected names of {len(queries)} queries exist")
            return 0
        scores = evaluate(settings, Actor.local(), queries, modes)
        report = summary(queries, scores)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print_summary(report, queries, scores, args.per_query)
    return 0


if __name__ == "__main__":
    sys.exit(main())
