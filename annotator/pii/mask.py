"""Masked display forms for PII values, and scrubbing of PII found inside free text.

Why per-label masks instead of plain stars: a reviewer deciding whether a column really holds e-mail addresses needs
to see the shape (`j***@e***.com`, `**** **** **** 1234`) but never the value. Every mask is checked last: if it
would equal the raw text (a one-letter name, an already-rounded coordinate), plain stars are returned instead.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from annotator.pii.addresses import vocabulary
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
from annotator.pii.lexicon import fold
from annotator.pii.shapes import as_date, email_ok, geo_point, ip_score, phone_score
from annotator.pii.validators import card_ok, digits_of, iban_ok, ssn_ok

_WORDS_AND_GAPS = re.compile(r"([^\W_]+)")
_SCRUBBERS: tuple[tuple[re.Pattern[str], Callable[[str], bool], str], ...] = (
    # Bounded and anchored at a word start: an unbounded local part backtracks quadratically on long digit runs.
    (re.compile(r"(?<![A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
                r"\.[A-Za-z]{2,24}"), email_ok, "<email>"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"), iban_ok, "<iban>"),
    (re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"), card_ok, "<card>"),
    (re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"), lambda s: ssn_ok(s, require_separators=True),
     "<national_id>"),
    (re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"), lambda s: ip_score(s) == 1.0, "<ip>"),
    (re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])"), lambda s: ip_score(s) == 1.0,
     "<ip>"),
    (re.compile(r"(?<![\w+])(?:\+|00)\d[\d ().\-/]{6,20}\d(?!\w)"), lambda s: phone_score(s) >= 0.7, "<phone>"),
    (re.compile(r"(?<![\w+])\(?\d[\d ().\-/]{6,18}\d(?!\w)"), lambda s: phone_score(s) >= 0.7, "<phone>"),
)


def stars(text: str) -> str:
    """Fully starred, length-preserving up to 8 characters (at least one, so an empty value is not echoed)."""
    return "*" * max(1, min(len(text), 8))


def display_text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, int) and abs(value) >= 10**1000:
        return "*" * 8  # too long to print (and no identifier is that long)
    return str(value)


def mask_value(value: Any, label: str) -> str:
    """Masked display form of one value for a label; never the raw value (see the module docstring)."""
    if value is None:
        return ""
    text = display_text(value)
    masker = _MASKERS.get(label)
    masked = masker(value, text) if masker else None
    if not masked or masked.strip() == text.strip():
        return stars(text)
    return masked


def _keep_last(text: str, keep: int, *, kind: Callable[[str], bool]) -> str:
    """Star every character of `kind` except the last `keep` of them; separators stay."""
    positions = [i for i, ch in enumerate(text) if kind(ch)]
    visible = set(positions[-keep:]) if keep and len(positions) > keep * 2 else set()
    return "".join(ch if (i in visible or not kind(ch)) else "*" for i, ch in enumerate(text))


def _email(value: Any, text: str) -> str | None:
    address = text.strip().rsplit("<", 1)[-1].rstrip(">")
    local, _, domain = address.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not local or not host or not dot:
        return None
    return f"{local[0]}***@{host[0]}***.{tld}"


def _phone(value: Any, text: str) -> str:
    return _keep_last(text, 2, kind=str.isdigit)


def _card(value: Any, text: str) -> str | None:
    digits = digits_of(text)
    return f"**** **** **** {digits[-4:]}" if len(digits) >= 12 else None


def _iban(value: Any, text: str) -> str | None:
    compact = text.replace(" ", "").upper()
    if len(compact) < 12 or not compact[:2].isalpha():
        return None
    groups = math.ceil((len(compact) - 8) / 4)
    return " ".join([f"{compact[:2]}**", *(["****"] * groups), compact[-4:]])


def _person(value: Any, text: str) -> str:
    return " ".join(f"{token[0]}***" for token in text.split())


def _street(value: Any, text: str) -> str:
    """Keep only the street-type words ("St", "rue"), so the shape of an address survives and nothing else."""
    vocab = vocabulary()
    keep = vocab.strong | vocab.weak | vocab.units

    def word(match: re.Match[str]) -> str:
        token = match.group(1)
        return token if fold(token) in keep and not token.isdigit() else "*" * min(len(token), 6)

    return _WORDS_AND_GAPS.sub(word, text)


def _ip(value: Any, text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.strip().rsplit(":", 1)[0] if text.count(":") == 1 else text.strip())
    except ValueError:
        return None
    if address.version == 4:
        first, second = str(address).split(".")[:2]
        return f"{first}.{second}.*.*"
    hextets = address.exploded.split(":")
    return f"{hextets[0]}:{hextets[1]}:*:*:*:*:*:*"


def _dob(value: Any, text: str) -> str:
    day = as_date(value)
    return f"{str(day.year)[:2]}**-**-**" if day else "****-**-**"


def _identifier(value: Any, text: str) -> str:
    return _keep_last(text, 2, kind=str.isalnum)


def _geo(value: Any, text: str) -> str | None:
    """Coordinates rounded to one decimal (about 11 km): the region survives, the address does not."""
    point = None if isinstance(value, int | float | Decimal) else geo_point(value)
    if point is not None:
        return f"~{point[0]:.1f}, {point[1]:.1f}"
    try:
        number = float(value if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else text)
    except (ValueError, OverflowError):
        return None
    return f"~{number:.1f}" if math.isfinite(number) else None


_MASKERS: dict[str, Callable[[Any, str], str | None]] = {
    EMAIL: _email, PHONE: _phone, CREDIT_CARD: _card, IBAN: _iban, PERSON_NAME: _person, STREET_ADDRESS: _street,
    IP_ADDRESS: _ip, DATE_OF_BIRTH: _dob, NATIONAL_ID: _identifier, PASSPORT: _identifier, GEO_LOCATION: _geo,
}


def scrub_text(text: str) -> str:
    """Replace e-mails, IBANs, valid card numbers, US SSNs, IPs and phone numbers inside free text by placeholders."""
    for pattern, valid, placeholder in _SCRUBBERS:
        text = pattern.sub(lambda m, v=valid, p=placeholder: p if v(m.group(0).strip()) else m.group(0), text)
    return text
