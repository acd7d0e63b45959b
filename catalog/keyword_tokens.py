"""Identifier-aware tokens for the keyword index: what `c_eml`, `customerEmail` and "customer e-mail" have in common.

Why our own tokenizer in front of FTS5: catalog names are identifiers, and the words an analyst types ("customer
email") only meet `c_eml` after the identifier is split (snake_case, camelCase, digits, dots, brackets) and its
abbreviations are expanded through the same lexicon the rules describer reads names with
(annotator.describe.lexicon). An expansion is added next to the abbreviation, never instead of it, so typing the
abbreviation still works. English function words are dropped from free text ("date of birth" -> date, birth) but
never from identifiers (`is_active` keeps "is"), because inside a name every token was chosen on purpose.

Tokens are folded (lower case, no accents) runs of letters and digits only, so FTS5's unicode61 tokenizer sees each
one as exactly one term and no token can ever carry query syntax. Everything here is deterministic and cached per
chunk: a catalog repeats the same few thousand words, so indexing 100k documents mostly hits the cache.
"""

from __future__ import annotations

import re
from functools import lru_cache

from annotator.describe.lexicon import ABBREVIATION, read_tokens, singular, units
from annotator.pii.lexicon import fold
from annotator.pii.names import split_identifier

TOKENS_VERSION = "1"  # bump when tokens() changes: an index written by another version must be rebuilt
MAX_CHUNK = 200  # characters of one identifier that are read (split_identifier reads as many)

# Chunks are runs of characters that can belong to an identifier or a word; the rest separates them.
_CHUNK = re.compile(r"[^\s,;()\"'`!?<>{}=+*&|~^%@«»“”‘’]+")
_EDGES = ".:-/#\\[]$"
# A chunk is an identifier when it has a separator inside, a camelCase hump or letters next to digits.
_IDENTIFIER = re.compile(r"[_.\[\]/\\#$:]|[^\W\d_]\d|\d[^\W\d_]|[a-z][A-Z]|[A-Z][A-Z][a-z]")
_WORDS = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d+|[^\W\d_]+")
STOPWORDS = frozenset(
    "a about above across after against all also am an and any are as at be because been before being below"
    " between both but by can could did do does doing down during each either for from further had has have having"
    " he her here hers him his how i if in into is it its itself just me might more most must my myself neither"
    " nor of on once only or other our ours out over own per same shall she should so some such than that the their"
    " theirs them then there these they this those through to too under until upon very was we were what when"
    " where which while who whom whose why via will with within without would you your yours s t d ll m re ve".split()
)


def tokens(text: str) -> list[str]:
    """Identifier-aware tokens of `text`, in order, repeats kept (term frequency is part of BM25).

    'c_eml' -> c, eml, email; 'customerEmail' -> customer, email; 'reviewer.email' -> reviewer, email;
    'dob' -> dob, date, birth; 'Café' -> cafe. Stopwords are dropped from free text, never from identifiers."""
    return [token for group in token_groups(text) for token in group]


def token_groups(text: str) -> list[tuple[str, ...]]:
    """One group per token of the text: the token first, then what the lexicon expands it to.

    Why groups: a query word and its expansions are alternatives ("dob" or "date" and "birth"), so a search counts
    how many of the query's *words* a document matches, not how many expansion terms."""
    groups: list[tuple[str, ...]] = []
    for match in _CHUNK.finditer(text or ""):
        chunk = match.group().strip(_EDGES)
        if chunk:
            groups.extend(_chunk_groups(chunk[:MAX_CHUNK]))
    return groups


def index_terms(text: str) -> str:
    """The terms FTS5 stores for a text: each token, followed by its singular when it is a plural (so "order"
    finds `orders` and "orders" finds `order_items`). Cached per whitespace-separated piece: a catalog repeats
    the same words, which is what makes 100k documents quick."""
    return " ".join(terms for terms in map(_piece_terms, (text or "").split()) if terms)


def name_key(name: str) -> str:
    """A name with its separators normalised, for exact-name matching: 'c_eml', 'c eml' and 'C-Eml' -> 'c eml'."""
    parts: list[str] = []
    for match in _CHUNK.finditer(name or ""):
        parts.extend(_split(match.group()[:MAX_CHUNK]))
    return " ".join(parts)


def last_segment_key(name: str) -> str:
    """The key of a name's last path segment ('shop/main/orders' -> 'orders'), or "" for a name without one.

    Why only '/' and '#': those separate a dataset's source, schema and table (and a column from its dataset in a
    'dataset#column' reference); a column's own dots are part of its name ('reviewer.email' is one name)."""
    cut = max(name.rfind("/"), name.rfind("#"))
    return name_key(name[cut + 1:]) if cut >= 0 else ""


@lru_cache(maxsize=131072)
def stem(token: str) -> str:
    """The singular of a plural token ('orders' -> 'order', 'categories' -> 'category'); other tokens unchanged.

    Why only plurals: analysts write "orders" for a table called `order` and the reverse; heavier stemming would
    join names that mean different things ('shipping' and 'ship', 'paid' and 'pay')."""
    if len(token) <= 3 or not token.isalpha():
        return token
    return singular(token)


@lru_cache(maxsize=131072)
def _split(chunk: str) -> tuple[str, ...]:
    """An identifier's folded tokens: split_identifier's (snake, camel, dots, brackets), then letters from digits."""
    out: list[str] = []
    for part in split_identifier(chunk).tokens:
        for word in _WORDS.findall(fold(part)):
            out.extend(_DIGITS.findall(word))
    return tuple(out)


@lru_cache(maxsize=65536)
def _piece_terms(piece: str) -> str:
    """The index terms of one whitespace-separated piece of text."""
    out: list[str] = []
    for token in tokens(piece):
        out.append(token)
        if stem(token) != token:
            out.append(stem(token))
    return " ".join(out)


@lru_cache(maxsize=65536)
def _chunk_groups(chunk: str) -> tuple[tuple[str, ...], ...]:
    if _IDENTIFIER.search(chunk):
        groups = _expand([(token,) for token in _split(chunk)])
        last = groups[-1][0] if len(groups) > 1 else ""
        if last in units():  # only a trailing token is a unit ('weight_g', not 'g_weight')
            groups[-1] = _dedupe(groups[-1] + _plain_words(units()[last]))
        return tuple(groups)
    return tuple(_expand(_plain_groups(chunk)))


def _plain_groups(text: str) -> list[tuple[str, ...]]:
    """Free-text words, folded, stopwords dropped; a hyphenated word is one group: 'e-mail' -> (email, mail), the
    joined form first and then the parts that are words."""
    out: list[tuple[str, ...]] = []
    for piece in text.split():
        folded = fold(piece)
        parts = _WORDS.findall(folded)
        if len(parts) > 1 and "-" in folded and all(p.isalpha() for p in parts):
            joined = "".join(parts)
            if joined not in STOPWORDS:
                out.append(_dedupe((joined, *(p for p in parts if len(p) > 1 and p not in STOPWORDS))))
            continue
        out.extend((p,) for p in parts if p not in STOPWORDS)
    return out


def _plain_words(text: str) -> tuple[str, ...]:
    return tuple(token for group in _plain_groups(text) for token in group)


def _expand(groups: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Each group with the expansion of the abbreviation its first token is part of (a phrase like 'cost ctr'
    expands once, on its last token). An expansion adds whole words only ('e-mail' -> email, not also 'mail')."""
    heads = [group[0] for group in groups]
    position = 0
    for word in read_tokens(heads):
        size = len(word.token.split())
        position += size
        if word.kind != ABBREVIATION:
            continue
        phrase = set(heads[position - size:position])
        extra = tuple(group[0] for group in _plain_groups(word.text) if group[0] not in phrase)
        groups[position - 1] = _dedupe(groups[position - 1] + extra)
    return groups


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
