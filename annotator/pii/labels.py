"""The PII vocabulary shared by the classifier, the store and the UI: label names, thresholds, result types.

The label names are fixed (issue 4) because they are stored with column annotations and used in search filters; the
thresholds live here so the lead's code (masking, remote-model gating) and the classifier agree on one number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EMAIL = "pii.email"
PHONE = "pii.phone"
PERSON_NAME = "pii.person_name"
STREET_ADDRESS = "pii.street_address"
NATIONAL_ID = "pii.national_id"
CREDIT_CARD = "pii.credit_card"
IBAN = "pii.iban"
IP_ADDRESS = "pii.ip_address"
DATE_OF_BIRTH = "pii.date_of_birth"
PASSPORT = "pii.passport"
GEO_LOCATION = "pii.geo_location"

LABELS: tuple[str, ...] = (
    EMAIL, PHONE, PERSON_NAME, STREET_ADDRESS, NATIONAL_ID, CREDIT_CARD, IBAN, IP_ADDRESS, DATE_OF_BIRTH, PASSPORT,
    GEO_LOCATION,
)

# How evidence details name each label ("412 of 430 sampled values are valid e-mail addresses").
LABEL_TEXT: dict[str, str] = {
    EMAIL: "e-mail addresses", PHONE: "phone numbers", PERSON_NAME: "person names", STREET_ADDRESS: "street addresses",
    NATIONAL_ID: "national identity numbers", CREDIT_CARD: "payment card numbers", IBAN: "IBANs",
    IP_ADDRESS: "IP addresses", DATE_OF_BIRTH: "plausible birth dates", PASSPORT: "passport numbers",
    GEO_LOCATION: "geographic coordinates",
}

# At or above: the label is offered to a human as "suggested".
SUGGEST_THRESHOLD: float = 0.5
# At or above: the column is "suspected PII": samples are masked and never leave the machine. Deliberately low,
# because a missed mask costs more than an unnecessary one.
SUSPECT_THRESHOLD: float = 0.25


@dataclass(frozen=True)
class ColumnContext:
    """What the classifier may know about one column; the comment is untrusted text and only ever tokenised."""

    name: str
    normalized_type: str
    values: Sequence[Any]
    comment: str | None = None
    native_type: str = ""


@dataclass(frozen=True)
class Evidence:
    """One signed reason for or against a label; `detail` is shown to users, so it never quotes a sample value."""

    kind: str
    detail: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class Finding:
    """A label with its confidence and the evidence that produced it, so a reviewer can see why."""

    label: str
    confidence: float
    evidence: tuple[Evidence, ...]
    match_share: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": self.confidence,
            "match_share": self.match_share,
            "evidence": [e.as_dict() for e in self.evidence],
        }
