"""Per-value street-address grade: a house number next to a street-type word, in any of the supported languages.

Why both parts: a street-type word alone ("Park", "Via") is common in prose and product names, and a number alone is
everywhere; together, in a short value, they are an address. The vocabulary is data/street_types.txt: strong words
(street, rue, Straße, calle...) count anywhere, weak ones (park, view, hill...) only when the value is already
address-shaped, and compound endings catch German and Dutch street names written as one word (Kerkstraat).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from annotator.pii.lexicon import DATA_DIR, fold

_TOKENS = re.compile(r"[^\W\d_]+\.?|\d+[^\W_]{0,3}")
_HOUSE_NUMBER = re.compile(r"^\d{1,5}[a-z]{0,3}$")


@dataclass(frozen=True)
class StreetVocabulary:
    strong: frozenset[str]
    weak: frozenset[str]
    leading: frozenset[str]
    suffixes: re.Pattern[str]  # a compound word ending in a street type, with at least 3 letters before it
    units: frozenset[str]


@cache
def vocabulary() -> StreetVocabulary:
    """Parse data/street_types.txt ([strong], [weak], [leading], [suffix], [unit] sections)."""
    sections: dict[str, set[str]] = {"strong": set(), "weak": set(), "leading": set(), "suffix": set(), "unit": set()}
    current = "strong"
    for raw in (DATA_DIR / "street_types.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        sections[current].add(line)
    endings = "|".join(re.escape(s) for s in sorted(sections["suffix"], key=len, reverse=True))
    suffixes = re.compile(rf"^\w{{3,}}(?:{endings})$")
    return StreetVocabulary(frozenset(sections["strong"]), frozenset(sections["weak"] | sections["leading"]),
                            frozenset(sections["leading"]), suffixes, frozenset(sections["unit"]))


def street_score(text: str) -> float:
    """1.0 for a street word plus a house number, 0.6 for a street word in a short named value without a number,
    0.25 for a short "number + words" value without a street word, else 0; long prose is never an address."""
    if not 4 <= len(text) <= 160 or "@" in text or "://" in text:
        return 0.0
    tokens = _TOKENS.findall(fold(text))
    if not 2 <= len(tokens) <= 18:
        return 0.0
    words = [t.rstrip(".") for t in tokens if not t[0].isdigit()]
    numbers = [t for t in tokens if t[0].isdigit()]
    if not words:
        return 0.0
    vocab = vocabulary()
    has_number = any(_HOUSE_NUMBER.match(n) for n in numbers)
    shaped = tokens[0][0].isdigit() or any(w in vocab.units for w in words)
    # A weak word counts in an address-shaped value, or leading a value that ends in a house number
    # ("Jardim de Azevedo, 58": Romance languages put the street type first).
    leading_type = has_number and words[0] in vocab.leading and tokens[0].rstrip(".") == words[0]
    street_word = leading_type or any(
        w in vocab.strong
        or (shaped and w in vocab.weak)
        or (len(w) > 5 and vocab.suffixes.match(w) is not None)
        for w in words
    )
    if street_word and has_number:
        return 1.0
    if street_word and len(words) >= 2:
        return 0.6
    if has_number and shaped and len(words) <= 5:
        return 0.25
    return 0.0
