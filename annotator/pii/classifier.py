"""The PII column classifier: evidence from values, name, comment, neighbours and table, squashed into a confidence.

Confidence formula (a logistic over summed log-odds):

    confidence = 1 / (1 + exp(-(BIAS + w_values + w_name + w_comment + w_neighbours + w_table)))

* BIAS = -2.5: with no evidence a column is PII with probability ~0.08.
* w_values = clip(K * (share - mid), low, high) per label (values.py): the frequency-weighted share of sampled values
  that validate. It dominates: a share near 0 (booleans under `email_verified`, one e-mail in fifty notes) gives
  about -6 and nothing else can lift the label; checksum-backed labels may reach +5.5 alone.
* w_name: +3.0 / +1.8 / +0.9 for strong / medium / weak cues in the column name, -2.5 when the name is about the PII
  but describes a property of it (`phone_model`), -2.0 when it names another kind of thing (`city`, `product_name`).
* w_comment: the same vocabulary at 0.67 of the weight; -1.5 when the comment describes a property ("whether...").
* w_neighbours: +1.0..+1.6 from the other columns of the call (lat+lon, first+last, street+city+zip, adult-age dates
  next to person columns); never applied when the column's own values disagree.
* w_table: +0.4 when the table's name or comment says its rows are people and the column already has support.

So a strong name alone gives 0.62 (suggested), a medium one 0.33 (suspected only), values alone from a checksum
validator 0.95, and a name plus agreeing values > 0.9. Columns whose type cannot hold a label are not scored for it,
and a column whose sampled values are all null counts as unsampled (match_share None).

Names also change how values are read (scoring.Hint): under a name cue of at least medium weight, shapes that are
ambiguous on their own count as matches (bare nine-digit SSNs, bare MSISDNs, passport numbers, coordinates named
lat/lon, years and compact dates under a birth name, unknown but name-shaped words under a person-name column).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from annotator.pii.labels import (
    CREDIT_CARD,
    DATE_OF_BIRTH,
    EMAIL,
    GEO_LOCATION,
    IBAN,
    IP_ADDRESS,
    LABELS,
    NATIONAL_ID,
    PASSPORT,
    PERSON_NAME,
    PHONE,
    STREET_ADDRESS,
    SUSPECT_THRESHOLD,
    ColumnContext,
    Evidence,
    Finding,
)
from annotator.pii.names import Identifier, best_cue, comment_evidence, name_evidence, split_identifier
from annotator.pii.names import table_is_about_people as _people_table
from annotator.pii.neighbours import PERSON_LABELS, ColumnState, geo_axis, neighbour_evidence
from annotator.pii.sample import build_sample
from annotator.pii.scoring import Hint, ValueResult
from annotator.pii.values import value_evidence

BIAS = -2.5
TABLE_WEIGHT = 0.4
HINT_WEIGHT = 1.2  # a medium name cue, or a strong comment cue, lets values be read in its light
_TEXTUAL = {"string", "json", "array", "struct", "other"}
TYPE_OK: dict[str, set[str]] = {
    EMAIL: _TEXTUAL, PHONE: _TEXTUAL | {"integer", "decimal"}, PERSON_NAME: _TEXTUAL, STREET_ADDRESS: _TEXTUAL,
    NATIONAL_ID: {"string", "integer", "decimal", "other"}, CREDIT_CARD: {"string", "integer", "decimal", "other"},
    IBAN: {"string", "other"}, IP_ADDRESS: {"string", "binary", "array", "other"},
    DATE_OF_BIRTH: {"date", "timestamp", "string", "integer", "other"}, PASSPORT: {"string", "integer", "other"},
    GEO_LOCATION: _TEXTUAL | {"float", "decimal", "geometry"},
}
KNOWN_TYPES = {"boolean", "integer", "decimal", "float", "string", "date", "time", "timestamp", "interval", "binary",
               "json", "uuid", "array", "geometry", "struct", "other"}


@dataclass
class _Column:
    """A column after its own evidence was scored: the labels its type allows, their evidence, the neighbour view."""

    labels: tuple[str, ...]
    evidence: dict[str, list[Evidence]]
    state: ColumnState


def classify_columns(columns: Sequence[ColumnContext], *, dataset: str = "",
                     table_comment: str | None = None) -> list[list[Finding]]:
    """One list per input column (same order): findings >= SUSPECT_THRESHOLD, best first. The other columns of the
    call are the neighbours."""
    axes = {geo_axis(split_identifier(c.name)) for c in columns} - {None}
    prepared = [_prepare(c, paired_axes=len(axes) == 2) for c in columns]
    states = [p.state for p in prepared]
    people = _people_table(dataset, table_comment)
    results: list[list[Finding]] = []
    for index, column in enumerate(prepared):
        extra = neighbour_evidence(index, states)
        findings = [_finding(column, label, extra.get(label), people) for label in column.labels]
        kept = [f for f in findings if f.confidence >= SUSPECT_THRESHOLD]
        results.append(sorted(kept, key=lambda f: (-f.confidence, LABELS.index(f.label))))
    return results


def _prepare(context: ColumnContext, *, paired_axes: bool = False) -> _Column:
    """Score the column's own evidence (values, name, comment) for every label its type can hold."""
    ident = split_identifier(context.name)
    sample = build_sample(context.values or ())
    ctype = context.normalized_type if context.normalized_type in KNOWN_TYPES else "other"
    labels = tuple(label for label in LABELS if ctype in TYPE_OK[label])
    names, comments = name_evidence(ident), comment_evidence(context.comment)
    state = ColumnState(ident)
    evidence: dict[str, list[Evidence]] = {}
    axis = geo_axis(ident)
    for label in labels:
        items = [e for e in (names.get(label), comments.get(label)) if e is not None]
        positive = any(e.weight >= HINT_WEIGHT for e in items) or (label == GEO_LOCATION and paired_axes and axis)
        hint = Hint(positive=bool(positive), cue=_cue_text(label, ident), axis=axis)
        if not sample.empty:
            result = value_evidence(label, sample, hint)
            state.values[label] = result
            items.insert(0, Evidence("values", result.detail, result.weight))
        state.name_weight[label] = names[label].weight if label in names else 0.0
        state.confidence[label] = _squash(sum(e.weight for e in items))
        evidence[label] = items
    return _Column(labels, evidence, state)


def _cue_text(label: str, ident: Identifier) -> str | None:
    found = best_cue(label, ident)
    return found[1] if found else None


def _finding(column: _Column, label: str, neighbour: Evidence | None, people: bool) -> Finding:
    items = list(column.evidence[label])
    if neighbour is not None:
        items.append(neighbour)
    if people and label in (*PERSON_LABELS, DATE_OF_BIRTH, PASSPORT) and any(e.weight >= 0.9 for e in items):
        items.append(Evidence("table", "the table's name or comment says its rows are people", TABLE_WEIGHT))
    result: ValueResult | None = column.state.values.get(label)
    share = None if result is None else round(result.match_share, 3)
    return Finding(label, round(_squash(sum(e.weight for e in items)), 3), tuple(items), share)


def _squash(weight_sum: float) -> float:
    return 1.0 / (1.0 + math.exp(-(BIAS + weight_sum)))

