"""The rows of a dataset page's columns table, computed once per column in Python.

Why not Jinja filters and lookups in the template: a wide dataset has a row per column, and formatting counts,
sorting kinds, laying out ~20 histogram bars and looking keys up in dicts (Jinja tries an attribute first, so every
`c.name` on a dict raises and catches an AttributeError) in each of 500 rows cost about a millisecond per column,
most of a 500-column page. Here a row is a handful of string operations, and the template reads plain attributes.

Markup: every field is plain text that the template escapes, except `ProfileView.bars`, the histogram's `<title>`
and `<path>`. Those are built here from numbers this module computes and edge labels passed through
`markupsafe.escape`, so no stored text is marked safe unescaped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import quote

from markupsafe import Markup, escape

from annotator.profile import edge_text, percent, summary_line
from web.filters import dataset_url, fk_dataset, label_tone, sample_stats, thousands

BAR_SLOT = 10  # viewBox units per bin; a bar is 8 wide and starts 1 into its slot


class ColumnRow(NamedTuple):
    """One row of the columns table: the column's facts as shown, its label badges, description and profile."""

    name: str
    shown_name: str  # the nested path of a document field, else the name
    anchor: str  # the row's id after `col-`: the name, URL-quoted
    ordinal: int
    type: str
    normalized_type: str
    nullable: str  # yes / no
    primary_key: bool
    foreign_key: str | None
    foreign_url: str | None  # the page of the dataset the foreign key points at, when it can be named
    badges: list[tuple[str, str, str]]  # (label, tone, title) of each label that is not rejected
    description: str | None
    description_source: str | None
    written: dict[str, Any] | None  # the stored description row, for the review controls
    key: str  # unique per page, for form field ids
    profile: ProfileView | None
    sampled: str  # what the crawl's sample saw, or ""


def column_rows(dataset: dict[str, Any]) -> Iterator[ColumnRow]:
    """The rows of `dataset["columns"]` (a `catalog.datasets.get_dataset` result), in order, made one at a time
    as the template asks for them, so a row's objects are freed once it is drawn."""
    return (_row(c, dataset["source"]) for c in dataset["columns"])


def _row(c: dict[str, Any], source: str) -> ColumnRow:
    target = fk_dataset(c["foreign_key"], source)
    return ColumnRow(
        name=c["name"], shown_name=c["nested_path"] or c["name"], anchor=quote(str(c["name"]), safe="/"),
        ordinal=c["ordinal"], type=c["type"], normalized_type=c["normalized_type"],
        nullable="yes" if c["nullable"] else "no", primary_key=bool(c["primary_key"]),
        foreign_key=c["foreign_key"], foreign_url=dataset_url(target) if target else None,
        badges=[_badge(v) for v in c["labels"] if v["status"] != "rejected"],
        description=c["description"], description_source=c["description_source"],
        written=c["written_description"], key=f"c{c['ordinal']}",
        profile=profile_view(c["profile"]), sampled=sample_stats(c["stats"]),
    )


def _badge(label: dict[str, Any]) -> tuple[str, str, str]:
    """A label as (text, tone, title): `suggested, confidence 0.93` says how sure the classifier was."""
    confidence = label["confidence"]
    title = label["status"] + (f", confidence {confidence:.2f}" if confidence is not None else "")
    return label["label"], label_tone(label["status"]), title


class ProfileView(NamedTuple):
    """What one profile cell shows; a text field is None when the profile lacks it (the row is not shown)."""

    summary: str
    sampled: str
    distinct: str | None
    kinds: str | None
    value_range: str | None
    mean: str | None
    length: str | None
    true_share: str | None
    suspected: str | None
    histogram_of: str  # "values" or "lengths"
    bins: int
    bars: Markup
    top_values: list[tuple[Any, str]]  # (value, share as text)
    examples: list[Any]
    masked: bool


def profile_view(p: dict[str, Any] | None) -> ProfileView | None:
    """The cell of one column profile (as `catalog.datasets.get_dataset` returns it); None without a profile."""
    if not p:
        return None
    histogram = p.get("histogram") or p.get("length_histogram")
    counts = (histogram or {}).get("counts") or []
    return ProfileView(
        summary=summary_line(p) or "no values",
        sampled=f"{thousands(p.get('count'))} values, {thousands(p.get('nulls'))} empty",
        distinct=_distinct(p), kinds=_kinds(p),
        value_range=f"{p['min']} … {p.get('max', '')}" if "min" in p else None,
        mean=_mean(p), length=_length(p),
        true_share=percent(p["true_share"]) if "true_share" in p else None,
        suspected=", ".join(map(str, p["suspected"])) if p.get("suspected") else None,
        histogram_of="values" if p.get("histogram") else "lengths",
        bins=len(counts), bars=histogram_bars(counts, (histogram or {}).get("edges") or []),
        top_values=[(t["value"], percent(t["share"])) for t in p.get("top_values") or []],
        examples=list(p.get("examples") or []), masked=bool(p.get("masked")),
    )


def _distinct(p: dict[str, Any]) -> str | None:
    if "distinct" not in p:
        return None
    how = "exactly" if p.get("distinct_exact") else "about"
    return f"{thousands(p['distinct'])} in the sample, {how} {thousands(p.get('distinct_estimate'))} overall"


def _kinds(p: dict[str, Any]) -> str | None:
    """`number 90%, text 10%`: kinds sorted by name, ignoring case (as Jinja's `dictsort` did)."""
    if "kinds" not in p:
        return None
    ranked = sorted(p["kinds"].items(), key=lambda item: str(item[0]).lower())
    return ", ".join(f"{kind} {percent(share)}" for kind, share in ranked)


def _mean(p: dict[str, Any]) -> str | None:
    if "mean" not in p:
        return None
    return f"{p['mean']:.6g} (σ {p['std']:.4g}), median {p['median']:.6g}"


def _length(p: dict[str, Any]) -> str | None:
    if "mean_length" not in p:
        return None
    return f"{p.get('min_length', '')} to {p.get('max_length', '')}, mean {p['mean_length']:.1f}"


def histogram_bars(counts: list[Any], edges: list[Any]) -> Markup:
    """The bars of a histogram as one SVG `<path>` (one subpath per bin), titled with the range it covers.

    Why one path instead of a titled `<rect>` per bin: a 500-column page carried ~10,000 rects with a title each
    (a third of its bytes); one path per histogram draws the same bars. Heights are percents of the tallest bin
    rounded to 0.1 (the viewBox is 100 high, bars grow up from y=100). Edge labels are escaped; counts are
    numbers (they divide here), so their text needs no escaping.
    """
    if not counts:
        return Markup("")
    tallest = max(counts) or 1
    heights = [round(100 * count / tallest, 1) for count in counts]
    bars = "".join(f"M{i * BAR_SLOT + 1} 100v-{h:g}h8v{h:g}z" for i, h in enumerate(heights) if h > 0)
    low = _edge_label(edges[0]) if edges else ""
    high = _edge_label(edges[len(counts)]) if len(edges) > len(counts) else ""
    span = f"{low} to {high}: " if low or high else ""
    return Markup(f'<title>{span}{len(counts)} bins, the fullest holding {max(counts)}</title><path d="{bars}"/>')


def _edge_label(edge: Any) -> str:
    """A bin edge as escaped text: numbers print as digits, temporal edges are ISO text (escaped all the same)."""
    text = edge_text(edge)
    return text if isinstance(edge, int | float) else str(escape(text))
