"""Neighbour evidence: what the other columns of the same table say about this one.

Why: some PII is only recognisable in company. A `lat` column is a coordinate because a `lon` column sits next to it;
`first` and `last` are names together; `line1` is a street when `city` and `zip` follow; and a column of adult-age
dates is a birth date far more often when the table also holds names and e-mail addresses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from annotator.pii.labels import (
    DATE_OF_BIRTH,
    EMAIL,
    GEO_LOCATION,
    NATIONAL_ID,
    PERSON_NAME,
    PHONE,
    STREET_ADDRESS,
    SUGGEST_THRESHOLD,
    Evidence,
)
from annotator.pii.names import Identifier
from annotator.pii.scoring import ValueResult

LAT_WORDS = frozenset({"lat", "latitude", "breitengrad", "latitud", "latitudine", "breedtegraad", "breite"})
LON_WORDS = frozenset({"lon", "lng", "long", "longitude", "laengengrad", "langengrad", "longitud", "longitudine",
                       "lengtegraad", "laenge"})
FIRST_WORDS = frozenset({"first", "given", "fname", "forename", "vorname", "prenom", "voornaam", "firstname"})
LAST_WORDS = frozenset({"last", "surname", "lname", "family", "nachname", "nom", "apellido", "apellidos", "cognome",
                        "achternaam", "sobrenome", "familienname", "lastname"})
ADDRESS_PARTS = frozenset(
    "city town ort stadt ville ciudad citta plaats cidade municipio zip zipcode postcode postal plz postleitzahl cp"
    " cap cep state province provincia bundesland country land pays pais region county district suburb hausnummer"
    " huisnummer".split()
)
PAIR_WEIGHT, CLUSTER_WEIGHT, PERSON_CONTEXT_WEIGHT = 1.5, 1.0, 1.6
PERSON_LABELS = (PERSON_NAME, EMAIL, PHONE, NATIONAL_ID, STREET_ADDRESS)


@dataclass
class ColumnState:
    """What the neighbour rules need from a column after its own evidence was scored."""

    ident: Identifier
    values: dict[str, ValueResult] = field(default_factory=dict)
    name_weight: dict[str, float] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)


def geo_axis(ident: Identifier) -> str | None:
    """"lat" or "lon" when the name names exactly one axis."""
    words = set(ident.bases)
    lat, lon = bool(words & LAT_WORDS), bool(words & LON_WORDS)
    return "lat" if lat and not lon else "lon" if lon and not lat else None


def neighbour_evidence(index: int, states: Sequence[ColumnState]) -> dict[str, Evidence]:
    me = states[index]
    others = [s for i, s in enumerate(states) if i != index]
    out: dict[str, Evidence] = {}
    for label, rule in ((GEO_LOCATION, _geo_pair), (PERSON_NAME, _name_pair), (STREET_ADDRESS, _address_cluster),
                        (DATE_OF_BIRTH, _person_context)):
        if _values_allow(me, label):
            found = rule(me, others)
            if found is not None:
                out[label] = found
    return out


def _values_allow(me: ColumnState, label: str) -> bool:
    """Neighbours may support values that are at worst neutral, never overrule values that disagree."""
    result = me.values.get(label)
    return result is None or result.weight >= -0.5


def _geo_pair(me: ColumnState, others: list[ColumnState]) -> Evidence | None:
    axis = geo_axis(me.ident)
    if axis is None:
        return None
    wanted = "lon" if axis == "lat" else "lat"
    if any(geo_axis(o.ident) == wanted for o in others):
        other = "longitude" if wanted == "lon" else "latitude"
        return Evidence("neighbours", f"paired with a {other} column in the same table", PAIR_WEIGHT)
    return None


def _name_pair(me: ColumnState, others: list[ColumnState]) -> Evidence | None:
    words = set(me.ident.bases)
    if words & FIRST_WORDS:
        wanted, what = LAST_WORDS, "a last-name column"
    elif words & LAST_WORDS:
        wanted, what = FIRST_WORDS, "a first-name column"
    else:
        return None
    if any(set(o.ident.bases) & wanted for o in others):
        return Evidence("neighbours", f"sits next to {what}", PAIR_WEIGHT)
    return None


def _address_cluster(me: ColumnState, others: list[ColumnState]) -> Evidence | None:
    street_values = me.values.get(STREET_ADDRESS)
    if me.name_weight.get(STREET_ADDRESS, 0.0) <= 0 and (street_values is None or street_values.weight <= 0):
        return None
    parts = sorted({w for o in others for w in o.ident.bases if w in ADDRESS_PARTS})
    if len(parts) >= 2:
        return Evidence("neighbours", f"part of an address group with {', '.join(parts[:3])} columns", CLUSTER_WEIGHT)
    return None


def _person_context(me: ColumnState, others: list[ColumnState]) -> Evidence | None:
    result = me.values.get(DATE_OF_BIRTH)
    if result is None or "adult_ages" not in result.facts:
        return None
    for other in others:
        for label in PERSON_LABELS:
            if other.confidence.get(label, 0.0) >= SUGGEST_THRESHOLD:
                return Evidence("neighbours", "adult-age dates in a table that also holds "
                                f"{label.removeprefix('pii.').replace('_', ' ')} columns", PERSON_CONTEXT_WEIGHT)
    return None
