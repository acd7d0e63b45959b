"""Value evidence per label: grade every distinct sampled value, average by frequency, map the share to a weight.

weight = clip(K * (share - mid), low, high), with per-label parameters (VALUE_CURVES).

`mid` is the share at which values stop arguing against the label: 0.35 for checksum-backed labels, because a
column where half the values are valid e-mail addresses (a mixed "contact" column) still deserves masking,
while one e-mail in fifty notes does not. `high` caps what values alone can say: checksum-backed labels (e-mail,
IBAN, cards, IPs, national ids) may carry a column on their own, shape-only labels (names, addresses, phones) can
just reach the suggest threshold, and labels whose values are ambiguous by nature (birth dates, bare passport
numbers, single coordinates) need the column name or neighbours to get there."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from annotator.pii.addresses import street_score
from annotator.pii.dates import dob_values
from annotator.pii.labels import (
    CREDIT_CARD,
    DATE_OF_BIRTH,
    EMAIL,
    GEO_LOCATION,
    IBAN,
    IP_ADDRESS,
    NATIONAL_ID,
    PASSPORT,
    PERSON_NAME,
    PHONE,
    STREET_ADDRESS,
)
from annotator.pii.lexicon import person_name_score
from annotator.pii.sample import Sample
from annotator.pii.scoring import Hint, ValueResult, curve, describe, graded
from annotator.pii.shapes import (
    decimal_places,
    email_ok,
    geo_point,
    ip_score,
    passport_score,
    phone_score,
    version_like,
)
from annotator.pii.validators import card_ok, iban_ok, national_id_score

SECURITY_CODE_CUES = frozenset({"cvv", "cvc", "cvv2", "csc"})

# label: (K, mid, low, high)
VALUE_CURVES: dict[str, tuple[float, float, float, float]] = {
    EMAIL: (12, 0.35, -7, 5.5), IBAN: (12, 0.35, -7, 5.5), CREDIT_CARD: (12, 0.35, -7, 5.5),
    IP_ADDRESS: (12, 0.35, -7, 5.0), NATIONAL_ID: (12, 0.55, -7, 5.0), PHONE: (10, 0.5, -6, 4.0),
    PERSON_NAME: (10, 0.45, -6, 3.2), STREET_ADDRESS: (10, 0.45, -6, 3.5), PASSPORT: (8, 0.6, -6, 1.2),
    GEO_LOCATION: (10, 0.5, -6, 1.2),
}


def as_text(value: Any) -> str | None:
    """Strings as they are, integers (and integral decimals) as digits; everything else is not an identifier."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) < 10**24 else None  # identifiers are short; huge ints are not text-able
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 24:
        return str(int(value)) if value == value.to_integral_value() else None
    return None


def _simple(label: str, sample: Sample, grade: Callable[[Any], float], noun: str | None = None) -> ValueResult:
    share, matched, seen = graded(sample, grade)
    return ValueResult(curve(share, *VALUE_CURVES[label]), matched, describe(label, matched, seen, noun))


def _email(sample: Sample, hint: Hint) -> ValueResult:
    return _simple(EMAIL, sample, lambda v: 1.0 if isinstance(v, str) and email_ok(v) else 0.0,
                   "valid e-mail addresses")


def _phone(sample: Sample, hint: Hint) -> ValueResult:
    def grade(v: Any) -> float:
        if isinstance(v, str):
            score = phone_score(v)
            if score < 0.6 and hint.positive and v.isdigit() and 9 <= len(v) <= 15:
                return 0.6  # a bare MSISDN ("4915112345678"): only the name can tell
            return score
        if isinstance(v, int) and not isinstance(v, bool) and 10**8 <= abs(v) < 10**15:
            return 0.6 if hint.positive else 0.3  # digits stored as a number: only the name can tell
        return 0.0

    return _simple(PHONE, sample, grade, "phone-number shaped")


def _person(sample: Sample, hint: Hint) -> ValueResult:
    def grade(v: Any) -> float:
        return person_name_score(v, hinted=hint.positive) if isinstance(v, str) else 0.0

    result = _simple(PERSON_NAME, sample, grade, "names from the name lexicon or name-shaped")
    if sample.total >= 30 and sample.distinct < 8:
        return ValueResult(min(result.weight, -1.0), result.match_share,
                           f"only {sample.distinct} distinct values: a category, not names of people")
    return result


def _street(sample: Sample, hint: Hint) -> ValueResult:
    return _simple(STREET_ADDRESS, sample, lambda v: street_score(v) if isinstance(v, str) else 0.0,
                   "street addresses (house number and street type)")


def _national(sample: Sample, hint: Hint) -> ValueResult:
    def grade(v: Any) -> float:
        text = as_text(v)
        return national_id_score(text, hinted=hint.positive) if text else 0.0

    return _simple(NATIONAL_ID, sample, grade, "national identity numbers (format and check digits)")


def _card(sample: Sample, hint: Hint) -> ValueResult:
    if hint.cue in SECURITY_CODE_CUES:
        def code(v: Any) -> float:
            text = as_text(v)
            return 1.0 if text and text.isdigit() and 3 <= len(text) <= 4 else 0.0

        share, matched, seen = graded(sample, code)
        return ValueResult(curve(share, 6, 0.6, -5, 1.5), matched,
                           describe(CREDIT_CARD, matched, seen, "3-4 digit card security codes"))

    def grade(v: Any) -> float:
        text = as_text(v)
        return 1.0 if text and card_ok(text) else 0.0

    return _simple(CREDIT_CARD, sample, grade, "card numbers (issuer prefix and Luhn check)")


def _iban(sample: Sample, hint: Hint) -> ValueResult:
    return _simple(IBAN, sample, lambda v: 1.0 if isinstance(v, str) and iban_ok(v) else 0.0,
                   "IBANs (country length and mod-97 check)")


def _ip(sample: Sample, hint: Hint) -> ValueResult:
    seen_ips = [0, 0]  # addresses, of which release-number shaped

    def grade(v: Any) -> float:
        g = ip_score(v) if isinstance(v, str) else 0.0
        if g:
            seen_ips[0] += 1
            seen_ips[1] += version_like(v)
        return g

    share, matched, seen = graded(sample, grade)
    detail = describe(IP_ADDRESS, matched, seen, "IP addresses")
    if seen_ips[1] > 0.6 * max(seen_ips[0], 1):
        share *= 0.3
        detail += "; most look like release numbers (small parts), not addresses"
    return ValueResult(curve(share, *VALUE_CURVES[IP_ADDRESS]), matched, detail)


def _passport(sample: Sample, hint: Hint) -> ValueResult:
    def grade(v: Any) -> float:
        text = as_text(v)
        return passport_score(text, hinted=hint.positive) if text else 0.0

    share, matched, seen = graded(sample, grade)
    mrz = sum(c for v, c in sample.items if isinstance(v, str) and len(v.strip()) == 44) / max(sample.total, 1)
    k, mid, low, high = VALUE_CURVES[PASSPORT]
    high = 5.0 if mrz >= 0.5 else 2.0 if hint.positive else high
    noun = "passport machine-readable zones" if mrz >= 0.5 else "passport-number shaped"
    return ValueResult(curve(share, k, mid, low, high), matched, describe(PASSPORT, matched, seen, noun))


def _geo(sample: Sample, hint: Hint) -> ValueResult:
    limit = 90.0 if hint.axis == "lat" else 180.0

    def composite(v: Any) -> float:
        return 1.0 if not isinstance(v, int | float | Decimal) and geo_point(v) else 0.0

    def scalar(v: Any) -> float:
        if isinstance(v, str):
            v = _number(v)  # CSV sources hand over "52.5200" as text
        finite = v.is_finite() if isinstance(v, Decimal) else isinstance(v, float) and math.isfinite(v)
        if not finite or not -limit <= v <= limit:
            return 0.0
        places = decimal_places(v)
        if hint.positive:  # a coordinate kept to 0.1 degree (about 11 km) or coarser locates a region, not a person
            return 1.0 if places >= 2 else 0.0
        return 0.5 if places >= 4 else 0.0

    share, matched, seen = graded(sample, composite)
    if matched >= 0.5:
        return ValueResult(curve(share, 10, 0.5, -6, 5.0), matched,
                           describe(GEO_LOCATION, matched, seen, "coordinate pairs (lat/lon, WKT or GeoJSON)"))
    share, matched, seen = graded(sample, scalar)
    k, mid, low, high = VALUE_CURVES[GEO_LOCATION]
    noun = f"numbers within ±{limit:.0f} with coordinate precision"
    return ValueResult(curve(share, k, mid, low, 2.0 if hint.positive else high), matched,
                       describe(GEO_LOCATION, matched, seen, noun), frozenset({"scalar"}))


def _number(text: str) -> Decimal | None:
    if not 3 <= len(text) <= 14 or "." not in text:
        return None
    try:
        return Decimal(text.strip())
    except ArithmeticError:
        return None


SCORERS: dict[str, Callable[[Sample, Hint], ValueResult]] = {
    EMAIL: _email, PHONE: _phone, PERSON_NAME: _person, STREET_ADDRESS: _street, NATIONAL_ID: _national,
    CREDIT_CARD: _card, IBAN: _iban, IP_ADDRESS: _ip, DATE_OF_BIRTH: dob_values, PASSPORT: _passport,
    GEO_LOCATION: _geo,
}


def value_evidence(label: str, sample: Sample, hint: Hint) -> ValueResult:
    return SCORERS[label](sample, hint)
