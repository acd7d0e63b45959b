"""The built-in person-name lexicon and the per-value person-name grade.

Why a lexicon at all: "Julia Becker" and "Steel Chair" have the same shape (two capitalised words); only knowing
that Julia is a given name and Becker a surname separates them. The lexicon (data/given_names.txt, surnames.txt) is a
few thousand folded names across the supported locales, generated once from faker's providers and committed; the
runtime never imports faker. data/not_names.txt lists tokens that rule a value out even when they are also names
(browsers, brands, countries, cities, company forms), because "Safari" or "Chrome" must never read as people.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")

_TOKEN_SPLIT = re.compile(r"[\s,]+")
_NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*\.?$")
_TITLE_PARTS = re.compile(r"[.-]")
_INITIAL = re.compile(r"^[^\W\d_]\.$")
TITLES = frozenset(
    "mr mrs ms miss mx dr prof sir dame lady lord rev hon herr frau hr fr mme mlle m sr sra srta dna don dona dott"
    " dottssa sig sigra ing dipl dipling dhr mevr jr ii iii iv md phd mba bsc msc ba ma beng meng llm dds dvm mag"
    " univ med rer nat pan pani".split()
)
PARTICLES = frozenset(
    "van von der den de del della dei di da do dos das du la le ten ter zu y e af av bin ibn al el st 't d".split()
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lowercase without accents, so "Müller", "MULLER" and "muller" meet the same lexicon entry."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ß", "ss")


def _read_words(filename: str) -> frozenset[str]:
    lines = (DATA_DIR / filename).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def given_names() -> frozenset[str]:
    return _read_words("given_names.txt")


@cache
def surnames() -> frozenset[str]:
    return _read_words("surnames.txt")


@cache
def person_names() -> frozenset[str]:
    return given_names() | surnames()


@cache
def not_names() -> frozenset[str]:
    return _read_words("not_names.txt")


def _is_title(folded: str) -> bool:
    """"Dr", "B.Sc.", "Univ.Prof." and "Dipl.-Ing." are titles; parts are checked when the whole is not."""
    if "." not in folded and "-" not in folded:
        return folded in TITLES
    bare = folded.replace(".", "").replace("-", "")
    return bare in TITLES or all(p in TITLES for p in _TITLE_PARTS.split(folded) if p)


def person_name_score(text: str, *, hinted: bool = False) -> float:
    """1.0 when every core token is a known name, 0.8 when some are, 0.25 for an unknown but name-shaped value
    (capitalised words only; 0.5 when the column name already says "name", as names outside the lexicon are
    common), 0 for anything with digits, symbols, too many words or a known non-name token."""
    text = text.strip()
    if not 2 <= len(text) <= 80 or any(ch.isdigit() for ch in text) or "@" in text:
        return 0.0
    tokens = [t for t in _TOKEN_SPLIT.split(text) if t]
    if not 1 <= len(tokens) <= 6:
        return 0.0
    known, stop, lexicon = 0, not_names(), person_names()
    core = 0
    for token in tokens:
        folded = fold(token).rstrip(".")
        if _is_title(folded) or folded in PARTICLES or _INITIAL.match(token):
            continue
        if not _NAME_TOKEN.match(token):
            return 0.0
        parts = [p for p in re.split(r"['’-]", folded) if p]
        if any(p in stop for p in parts) or folded in stop:
            return 0.0
        core += 1
        if folded in lexicon or any(p in lexicon for p in parts):
            known += 1
        elif not token[0].isupper():
            return 0.0  # an unknown lower-case word is prose, not a name
    if not 1 <= core <= 4:
        return 0.0
    if known == core:
        return 1.0
    return 0.8 if known else 0.5 if hinted else 0.25
