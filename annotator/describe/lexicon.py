"""The built-in vocabulary of the rules backend: abbreviations, whole words and unit suffixes.

Why a lexicon and not a model: most cryptic column names are built from a few hundred conventional abbreviations
(`cust_nm`, `ord_dt`, `amt_usd`). Expanding them from a fixed table is instant, deterministic and can never invent a
fact; a token the lexicon does not know stays as it is and lowers the confidence instead of being guessed. The files
in data/ are plain text so a deployment can review them; LEXICON_VERSION is part of the backend's model string, so
bumping it invalidates cached descriptions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEXICON_VERSION = "1"
DATA_DIR = Path(__file__).with_name("data")
MAX_PHRASE_TOKENS = 3

WORD, ENGLISH, ABBREVIATION, UNIT, NUMBER, UNKNOWN = "word", "english", "abbreviation", "unit", "number", "unknown"
# How much each kind of token says about the meaning of a name (the confidence is their mean): a curated data word
# is sure, an expansion or a general English word may be the wrong sense.
UNDERSTOOD: dict[str, float] = {WORD: 1.0, ENGLISH: 0.8, ABBREVIATION: 0.9, UNIT: 0.9, NUMBER: 1.0, UNKNOWN: 0.0}

_TRAILING_NUMBER = re.compile(r"^([a-z]+?)(\d+)$")


@dataclass(frozen=True)
class Word:
    """One reading of one or more name tokens: `token` as it was in the name, `text` as it reads in a sentence."""

    token: str
    text: str
    kind: str


def _lines(filename: str) -> list[str]:
    text = (DATA_DIR / filename).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _pairs(filename: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in _lines(filename):
        key, _, value = line.partition("\t")
        if value.strip():
            pairs[key.strip().lower()] = value.strip()
    return pairs


@cache
def abbreviations() -> dict[tuple[str, ...], str]:
    """Abbreviation tokens (one or more, "cost ctr") -> expansion."""
    return {tuple(key.split()): value for key, value in _pairs("abbreviations.txt").items()}


@cache
def units() -> dict[str, str]:
    """Trailing unit tokens -> unit phrase ("usd" -> "US dollars")."""
    return _pairs("units.txt")


@cache
def words() -> frozenset[str]:
    """Curated data-modelling words (data/words.txt)."""
    return frozenset(w for line in _lines("words.txt") for w in line.split())


@cache
def english() -> frozenset[str]:
    """General English words of four letters or more (data/english.txt, generated: see its header)."""
    return frozenset(w for line in _lines("english.txt") for w in line.split())


def is_word(token: str) -> bool:
    """A known word, or a regular plural / past / -ing form of one ("orders", "categories", "shipped")."""
    vocabulary = words()
    if token in vocabulary:
        return True
    candidates = []
    if token.endswith("ies"):
        candidates.append(token[:-3] + "y")
    if token.endswith("es"):
        candidates.append(token[:-2])
    if token.endswith("s") and not token.endswith("ss"):
        candidates.append(token[:-1])
    if token.endswith("ed"):
        candidates += [token[:-2], token[:-1], token[:-3]]
    if token.endswith("ing"):
        candidates += [token[:-3], token[:-3] + "e"]
    return any(len(c) > 2 and c in vocabulary for c in candidates)


def read_token(token: str) -> list[Word]:
    """One name token as words: a number, an abbreviation, a known word, a general English word, a word with a
    number ("addr2"), or unknown (kept verbatim: the name contains it, but its meaning is not known)."""
    if token.isdigit():
        return [Word(token, token, NUMBER)]
    expansion = abbreviations().get((token,))
    if expansion is not None:
        return [Word(token, expansion, ABBREVIATION)]
    if is_word(token):
        return [Word(token, token, WORD)]
    if token in english():
        return [Word(token, token, ENGLISH)]
    match = _TRAILING_NUMBER.match(token)
    if match and ((match.group(1),) in abbreviations() or is_word(match.group(1)) or match.group(1) in english()):
        return read_token(match.group(1)) + [Word(match.group(2), match.group(2), NUMBER)]
    return [Word(token, token, UNKNOWN)]


def read_tokens(tokens: Sequence[str]) -> list[Word]:
    """Name tokens as words, longest abbreviation phrase first ("cost ctr" before "cost", "ctr")."""
    table = abbreviations()
    out: list[Word] = []
    i = 0
    while i < len(tokens):
        for size in range(min(MAX_PHRASE_TOKENS, len(tokens) - i), 1, -1):
            phrase = tuple(tokens[i:i + size])
            if phrase in table:
                out.append(Word(" ".join(phrase), table[phrase], ABBREVIATION))
                i += size
                break
        else:
            out.extend(read_token(tokens[i]))
            i += 1
    if len(out) > 1 and out[-1].kind == UNKNOWN and out[-1].token in units():
        out[-1] = Word(out[-1].token, out[-1].token, UNIT)  # only a trailing token is a unit ("temp_c", not "c_eml")
    return out


def understood(words_read: Sequence[Word]) -> float:
    """Share of the name that the lexicon understood; numbers say nothing on their own, so they do not count
    (a name that is only "2024" or nothing at all is not understood)."""
    counted = [w for w in words_read if w.kind != NUMBER]
    if not counted:
        return 0.0
    return sum(UNDERSTOOD[w.kind] for w in counted) / len(counted)


def join_words(texts: Sequence[str]) -> str:
    """Words as a phrase, dropping a word that repeats the end of the previous one ("IP address" + "address") and
    unknown one-letter tokens ("c" in "c_eml") next to other words, which carry nothing a reader could use."""
    if len(texts) > 1:
        texts = [t for t in texts if len(t) > 1 or t.isdigit() or t.isupper()] or list(texts)
    out: list[str] = []
    for text in texts:
        if not text:
            continue
        parts = text.split()
        if out and out[-1].lower() == parts[0].lower():
            parts = parts[1:]
        out.extend(parts)
    return " ".join(out)


def singular(phrase: str) -> str:
    """The phrase with its last word made singular by the regular English rules ("order items" -> "order item")."""
    head, _, last = phrase.rpartition(" ")
    low = last.lower()
    if low.endswith("ies") and len(low) > 4:
        last = last[:-3] + "y"
    elif low.endswith(("sses", "xes", "ches", "shes", "uses")):
        last = last[:-2]
    elif low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
        last = last[:-1]
    return f"{head} {last}".strip()


def plural(phrase: str) -> str:
    """The phrase with its last word made plural ("order" -> "orders", "category" -> "categories")."""
    head, _, last = phrase.rpartition(" ")
    low = last.lower()
    if low.endswith("s") and not low.endswith(("ss", "us")):
        return phrase
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    elif low.endswith(("ss", "x", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}".strip()
