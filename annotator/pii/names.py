"""Column-name and comment evidence: split identifiers into tokens and match them against the cue vocabulary.

Why tokens rather than substring search: "hotel_name" contains "tel" and "ipaddress" contains "address"; matching
whole tokens (with a few long, distinctive stems for compound words like "geburtsdatum") keeps names from lighting
up by accident. Names and comments are untrusted input: they are only lower-cased, split and looked up, and an
evidence detail quotes the vocabulary entry that matched, never the name or the comment itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from annotator.pii.labels import LABEL_TEXT, LABELS, PERSON_NAME, Evidence
from annotator.pii.lexicon import fold
from annotator.pii.name_cues import (
    COMMENT_CONTRA,
    CUE_CONTRA_WEIGHT,
    CUES,
    ENTITY_CONTRA_WEIGHT,
    HANDLE_NAMES,
    MEDIUM,
    PERSON_TABLE_WORDS,
    STRONG,
    WEAK,
)

_PARTS = re.compile(r"[\W_]+")
_WORDS = re.compile(r"[^\W_]+")
_TRAILING_DIGITS = re.compile(r"\d+$")
_PERSON_NOUNS = frozenset({"name", "nm", "nom", "nombre", "nome", "naam", "first", "last"})
COMMENT_SCALE = 0.67
MAX_COMMENT_CHARS = 500


@dataclass(frozen=True)
class Pattern:
    text: str
    tokens: tuple[str, ...]
    stem: bool


@dataclass(frozen=True)
class Cues:
    levels: tuple[tuple[float, tuple[Pattern, ...]], ...]
    qualifiers: frozenset[str]
    cue_contra: tuple[Pattern, ...]
    entity_contra: frozenset[str]


@dataclass(frozen=True)
class Identifier:
    """A column name as the classifier sees it: folded tokens, the same tokens without trailing digits, squashed."""

    tokens: tuple[str, ...]
    bases: tuple[str, ...]
    squashed: str


def split_identifier(name: str) -> Identifier:
    """snake_case, camelCase, kebab, dotted, bracketed paths -> folded tokens ("contact.eMail[]": contact e mail)."""
    tokens: list[str] = []
    for part in _PARTS.split(name[:200]):
        tokens.extend(fold(t) for t in _camel_split(part))
    tokens = [t for t in tokens if t]
    bases = tuple(_TRAILING_DIGITS.sub("", t) or t for t in tokens)
    return Identifier(tuple(tokens), bases, "".join(tokens))


def _camel_split(part: str) -> list[str]:
    """Split at lower->upper and at the last capital of an acronym ("IPAddress" -> IP, Address)."""
    if not part:
        return []
    out, start = [], 0
    for i in range(1, len(part)):
        prev, cur = part[i - 1], part[i]
        nxt = part[i + 1] if i + 1 < len(part) else ""
        if (prev.islower() and cur.isupper()) or (prev.isupper() and cur.isupper() and nxt.islower()):
            out.append(part[start:i])
            start = i
    out.append(part[start:])
    return out


def _pattern(text: str) -> Pattern:
    if text.startswith("~"):
        return Pattern(text[1:], (), True)
    return Pattern(text, tuple(text.split("+")), False)


@cache
def cues(label: str) -> Cues:
    table = CUES[label]
    levels = tuple((weight, tuple(_pattern(p) for p in table[key].split()))
                   for key, weight in (("strong", STRONG), ("medium", MEDIUM), ("weak", WEAK)))
    return Cues(levels, frozenset(table.get("qualifiers", "").split()),
                tuple(_pattern(p) for p in table["cue_contra"].split()), frozenset(table["entity_contra"].split()))


def _matches(pattern: Pattern, ident: Identifier) -> bool:
    if pattern.stem:
        return pattern.text in ident.squashed
    n = len(pattern.tokens)
    for seq in (ident.tokens, ident.bases):
        for i in range(len(seq) - n + 1):
            if seq[i:i + n] == pattern.tokens:
                return True
    return False


def best_cue(label: str, ident: Identifier) -> tuple[float, str] | None:
    """The strongest cue for `label` in the identifier, with the vocabulary entry that matched."""
    for weight, patterns in cues(label).levels:
        for pattern in patterns:
            if _matches(pattern, ident):
                return weight, pattern.text
    return None


def name_evidence(ident: Identifier) -> dict[str, Evidence]:
    """Signed name evidence per label (only labels the name says something about)."""
    out: dict[str, Evidence] = {}
    for label in LABELS:
        found = _name_signal(label, ident)
        if found is not None:
            out[label] = found
    return out


def _name_signal(label: str, ident: Identifier) -> Evidence | None:
    table = cues(label)
    what = LABEL_TEXT[label]
    cue = best_cue(label, ident)
    entity = next((t for t in ident.bases if t in table.entity_contra), None)
    if label == PERSON_NAME and ident.squashed in HANDLE_NAMES:
        entity = "login handle"
    if entity is not None and (cue is None or cue[0] < STRONG):
        return Evidence("name", f"column name names another kind of thing ('{entity}'), not {what}",
                        ENTITY_CONTRA_WEIGHT)
    if cue is None:
        return None
    weight, matched = cue
    contra = next((p.text for p in table.cue_contra if _matches(p, ident)), None)
    if contra is not None:
        return Evidence("name", f"column name is about {what} but describes a property of them ('{contra}')",
                        CUE_CONTRA_WEIGHT)
    if matched in _PERSON_NOUNS and any(t in table.qualifiers for t in ident.bases):
        weight, matched = STRONG, f"{matched} of a person"
    strength = {STRONG: "strong", MEDIUM: "medium"}.get(weight, "weak")
    return Evidence("name", f"column name reads as {what} ({strength} cue '{matched.replace('+', ' ')}')", weight)


def comment_evidence(comment: str | None) -> dict[str, Evidence]:
    """Evidence from the column's native comment: the same vocabulary, scaled down, turned negative by words that
    make the comment a statement *about* the PII ("whether the e-mail was verified")."""
    if not comment:
        return {}
    words = [fold(w) for w in _WORDS.findall(comment[:MAX_COMMENT_CHARS])]
    if not words:
        return {}
    ident = Identifier(tuple(words), tuple(_TRAILING_DIGITS.sub("", w) or w for w in words), "")
    contra = next((w for w in words if w in COMMENT_CONTRA), None)
    found = {label: cue for label in LABELS if (cue := _comment_cue(label, ident)) is not None}
    top = max((weight for weight, _ in found.values()), default=0.0)
    out: dict[str, Evidence] = {}
    for label, (weight, matched) in found.items():
        if weight < top:
            continue  # "e-mail address" is about e-mail, not about a street address
        what = LABEL_TEXT[label]
        if contra is not None:
            out[label] = Evidence("comment", f"column comment mentions {what} but as a property ('{contra}')", -1.5)
        else:
            out[label] = Evidence("comment", f"column comment mentions {what} ('{matched.replace('+', ' ')}')",
                                  weight * COMMENT_SCALE)
    return out


def _comment_cue(label: str, ident: Identifier) -> tuple[float, str] | None:
    """Like best_cue, but a stem must start a word (no squashing across the words of a sentence)."""
    for weight, patterns in cues(label).levels:
        for pattern in patterns:
            if pattern.stem:
                if any(w.startswith(pattern.text) or (len(pattern.text) >= 6 and pattern.text in w)
                       for w in ident.tokens):
                    return weight, pattern.text
            elif _matches(pattern, ident):
                return weight, pattern.text
    return None


def table_is_about_people(dataset: str, table_comment: str | None) -> bool:
    """True when the table's name or comment says its rows are people (customers, employees, patients...)."""
    words = set(split_identifier(dataset.rsplit("/", 1)[-1]).bases) if dataset else set()
    if table_comment:
        words |= {fold(w) for w in _WORDS.findall(table_comment[:MAX_COMMENT_CHARS])}
    return bool(words & PERSON_TABLE_WORDS)
