"""Read a column name as a noun phrase: split it, expand its abbreviations, recognise its role.

Why roles: a name's last token usually says what kind of thing the column is (`_id` an identifier, `_dt` a date,
`_usd` an amount in dollars, `_flg` a flag) and its first tokens whose thing it is (`cust_`, `ord_`). Reading those
roles gives "Customer identifier", "Order date", "Price in US dollars" from the name alone, so every word of the
result comes from the name, the lexicon or the table's own name; nothing is guessed. Document paths read outside in:
`items[].sku` is the SKU of each item, `reviewer.email` the e-mail of the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from annotator.describe.lexicon import ABBREVIATION, UNKNOWN, Word, join_words, plural, read_tokens, singular, units
from annotator.pii.names import split_identifier

_PATH_SPLIT = re.compile(r"(?<!\\)\.")
BOOL_PREFIX = {"is": "is", "has": "has", "was": "was", "can": "can", "should": "should", "allow": "allows",
               "allows": "allows", "needs": "needs", "did": "did", "uses": "uses", "includes": "includes"}
FLAG_SUFFIX = frozenset({"flg", "flag", "ind", "indicator", "yn", "bool", "bit"})
COUNT_PREFIX = frozenset({"n", "nb", "cnt", "count"})
NUMBER_PREFIX = frozenset({"num", "no", "nbr", "number"})
COUNT_SUFFIX = frozenset({"cnt", "count", "counter"})
ID_SUFFIX = {"id": "identifier", "ids": "identifiers", "key": "key", "pk": "identifier", "uuid": "UUID",
             "guid": "GUID", "sk": "surrogate key"}
DATE_SUFFIX = frozenset({"dt", "date", "day"})
TIME_SUFFIX = frozenset({"ts", "timestamp", "tstamp", "tmstmp", "time", "tm", "dttm", "dtm", "datetime"})
WHEN_SUFFIX = frozenset({"at", "on"})  # created_at, updated_on: only for temporal columns
TEMPORAL = frozenset({"date", "timestamp", "time", "integer", "string"})
DURATION_WORDS = frozenset({"dur", "duration", "time", "wait", "delay", "elapsed", "runtime", "latency"})
ADJECTIVES = frozenset({"active", "valid", "open", "public", "private", "visible", "available", "primary", "default",
                        "current", "online", "paid", "free", "live", "new", "hidden", "required", "optional",
                        "unique", "internal", "external", "final", "complete", "anonymous", "sent", "read", "done"})
IRREGULAR_PARTICIPLES = frozenset({"paid", "sent", "built", "held", "sold", "made", "done", "seen", "lost", "won",
                                   "begun", "shown", "taken", "given", "written", "hidden", "read", "run", "set"})
# A name that is only one of these words gets the thing it belongs to: "status" -> "Status of the order".
GENERIC = frozenset({
    "status", "state", "type", "kind", "name", "description", "title", "amount", "total", "price", "priority",
    "category", "level", "rank", "score", "notes", "note", "comment", "comments", "body", "subject", "text", "value",
    "currency", "quantity", "version", "source", "reason",
    "rating", "phone", "e-mail", "address", "URL", "label", "tags", "tier", "team", "role", "stage", "mode",
    "method", "language", "country", "city", "region", "location", "channel", "position", "balance", "discount",
    "tax", "fee", "date", "timestamp", "code", "number", "sequence", "message", "content", "format", "color",
    "colour", "brand", "model", "owner", "severity", "outcome", "result", "reference", "year", "month",
})


@dataclass(frozen=True)
class Segment:
    """One step of a name's path (the whole name for a flat column); `array` for `items[]`."""

    words: tuple[Word, ...]
    array: bool


@dataclass(frozen=True)
class NameReading:
    containers: tuple[Segment, ...]
    field: Segment

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in (*self.containers, self.field) for w in s.words)


@dataclass(frozen=True)
class Phrase:
    """A column's subject phrase; `uses_entity` when the phrase already names the thing it belongs to."""

    text: str
    uses_entity: bool = False


def read_name(name: str, owner: str = "") -> NameReading:
    """`items[].sku` -> containers (items, array) and field (sku); a flat name is one field segment.

    `owner` is what one row of the table is ("customer"). Names abbreviate their own table's words, so a token
    that starts one of them reads as that word (`enc_id` in encounters, `emp_id` in employees), and a one-letter
    prefix with its initial (`c_eml` in customers) is the common table-alias convention."""
    segments: list[Segment] = []
    for part in _PATH_SPLIT.split(name[:200]):
        tokens = split_identifier(part.replace("\\.", ".")).tokens
        if tokens:
            words = _in_context(read_tokens(tokens), owner, first=not segments)
            segments.append(Segment(tuple(words), "[]" in part))
    if not segments:
        return NameReading((), Segment((), False))
    return NameReading(tuple(segments[:-1]), segments[-1])


def _in_context(words: list[Word], owner: str, first: bool) -> list[Word]:
    if not owner:
        return words
    owner_words = [w for w in owner.lower().split() if len(w) > 3]
    out = []
    for i, word in enumerate(words):
        token = word.token
        expansion = None
        if word.kind in (UNKNOWN, ABBREVIATION) and len(token) >= 3:
            expansion = next((w for w in owner_words if w.startswith(token) and w != token), None)
        if expansion is None and first and i == 0 and len(words) > 1 and len(token) == 1 and word.kind == UNKNOWN \
                and owner[:1].lower() == token:
            expansion = owner
        out.append(Word(token, expansion, ABBREVIATION) if expansion else word)
    return out


def texts(words: Sequence[Word]) -> str:
    return join_words([w.text for w in words])


def container_entity(containers: Sequence[Segment]) -> str:
    """The thing a nested field belongs to: ("shipping", "address") -> "the shipping address",
    (orders[], items[]) -> "each item of each order"."""
    groups: list[str] = []
    pending: list[Word] = []
    for segment in containers:
        pending.extend(segment.words)
        if segment.array:
            groups.append("each " + singular(texts(pending)))
            pending = []
    if pending:
        groups.append("the " + texts(pending))
    return " of ".join(reversed(groups))


def is_participle(word: Word) -> bool:
    """"created", "paid", "verified"; not "speed" or "feed" (known words only: an unknown token is no verb)."""
    last = word.text.split()[-1].lower() if word.text else ""
    if word.kind == UNKNOWN or not last:
        return False
    regular = len(last) >= 4 and last.endswith("ed") and (not last.endswith("eed") or last in ("agreed", "freed"))
    return regular or last in IRREGULAR_PARTICIPLES


def _is_state(word: Word) -> bool:
    return is_participle(word) or word.text.lower() in ADJECTIVES


def field_phrase(words: Sequence[Word], normalized_type: str, entity: str, key: str = "",
                 attach: bool = False) -> Phrase:
    """The subject phrase of a field from its words, by the first role that applies. `entity` is what the field
    belongs to ("the order", "each item"); `key` is "primary", "foreign" or ""; `attach` names the entity in every
    phrase (a nested field: "Width of each image in pixels")."""
    tokens = [w.token for w in words]
    if not words:
        return Phrase("")
    if tokens[-1] in ID_SUFFIX and (key or normalized_type != "boolean"):
        return _identifier(words, tokens[-1], key, entity)
    for role in (_boolean, _count, _temporal):
        found = role(words, tokens, normalized_type, entity)
        if found is not None:
            return found
    return _unit(words, tokens, normalized_type, entity, attach) or _plain(words, entity, attach)


def of_entity(text: str, entity: str) -> Phrase:
    """"Post date" -> "Post date of the ledger entry": saying whose value a column holds is a fact of the table
    and what people write first. Not when the phrase already shares a word with the thing ("Order date" in
    orders, "Customer identifier" in customer revenue)."""
    if not entity:
        return Phrase(text)
    thing = set(entity.lower().split()) - {"the", "each", "of"}
    if thing & set(text.lower().split()):
        return Phrase(text)
    return Phrase(f"{text} of {entity}", True)


def _plain(words: Sequence[Word], entity: str, attach: bool = False) -> Phrase:
    text = texts(words)
    if entity and len(words) == 1 and text in GENERIC:
        return Phrase(f"{text} of {entity}", True)
    return of_entity(text, entity) if attach else Phrase(text)


def _boolean(words: Sequence[Word], tokens: list[str], normalized_type: str, entity: str) -> Phrase | None:
    """is_active -> "Whether the product is active"; email_verified (boolean) -> "Whether the e-mail is verified";
    verified_buyer (boolean) -> "Whether the reviewer is a verified buyer"; promo_flg -> "Promotion flag"."""
    subject = entity or "the record"
    if tokens[0] in BOOL_PREFIX and len(words) > 1:
        rest = list(words[1:])
        article = "" if _is_state(rest[-1]) or tokens[0] != "is" else _article(texts(rest))
        return Phrase(f"whether {subject} {BOOL_PREFIX[tokens[0]]} {article}{texts(rest)}", True)
    flagged = tokens[-1] in FLAG_SUFFIX and len(words) > 1
    if not flagged and normalized_type != "boolean":
        return None
    rest = list(words[:-1]) if flagged else list(words)
    if rest and _is_state(rest[-1]):
        owner = f"the {texts(rest[:-1])}" if len(rest) > 1 else subject
        return Phrase(f"whether {owner} is {texts(rest[-1:])}", len(rest) == 1)
    if len(rest) > 1 and _is_state(rest[0]):
        return Phrase(f"whether {subject} is {_article(texts(rest))}{texts(rest)}", True)
    return Phrase(f"{texts(rest)} flag")


def _article(text: str) -> str:
    return "an " if text[:1].lower() in "aeiou" else "a "


def _count(words: Sequence[Word], tokens: list[str], normalized_type: str, entity: str) -> Phrase | None:
    """n_ord, num_items (integer), ord_cnt -> "Number of orders"."""
    if len(words) < 2:
        return None
    if tokens[0] in COUNT_PREFIX or (tokens[0] in NUMBER_PREFIX and normalized_type == "integer"):
        rest = [w for w in words[1:] if w.token != "of"]
    elif tokens[-1] in COUNT_SUFFIX:
        rest = list(words[:-1])
    else:
        return None
    return Phrase(f"number of {plural(texts(rest))}") if rest else None


def _identifier(words: Sequence[Word], suffix: str, key: str, entity: str) -> Phrase:
    """A primary key: "Customer identifier"; a foreign key: "Customer of the order" (the key clause says it is a
    reference); another identifier: "Device identifier of the reading"; a bare `id` / `_id`: "Identifier of the
    order"."""
    what = ID_SUFFIX[suffix]
    if len(words) == 1:
        return Phrase(f"{what} of {entity}", True) if entity else Phrase(what)
    rest = texts(words[:-1])
    if key == "foreign":
        reference = of_entity(rest, entity)
        if reference.uses_entity:
            return reference
    return Phrase(f"{rest} {what}") if key else of_entity(f"{rest} {what}", entity)


def _temporal(words: Sequence[Word], tokens: list[str], normalized_type: str, entity: str) -> Phrase | None:
    """ord_dt -> "Order date"; opened_ts -> "Timestamp when the ticket was opened"; created_by -> "Who created..."."""
    last = tokens[-1]
    rest = list(words[:-1])
    if last == "by" and rest and is_participle(rest[-1]):
        return Phrase(f"who {texts(rest)} {entity or 'the record'}", True)
    if last in DATE_SUFFIX:
        kind = "date"
    elif last in TIME_SUFFIX or (last in WHEN_SUFFIX and normalized_type in TEMPORAL and rest):
        kind = {"date": "date", "time": "time"}.get(normalized_type, "timestamp")
    else:
        return None
    if rest and is_participle(rest[-1]):
        return Phrase(f"{kind} when {entity or 'the record'} was {texts(rest)}", True)
    if not rest:
        return _plain(words, entity)
    return of_entity(f"{texts(rest)} {kind}", entity)


def _unit(words: Sequence[Word], tokens: list[str], normalized_type: str, entity: str,
          attach: bool) -> Phrase | None:
    """price_usd -> "Price in US dollars"; dur_s -> "Duration in seconds"; min only after a duration word."""
    if len(words) < 2:
        return None
    unit = units().get(tokens[-1])
    if tokens[-1] in ("min", "mins") and any(t in DURATION_WORDS for t in tokens[:-1]):
        unit = "minutes"
    if unit is None or normalized_type in ("boolean", "date", "timestamp"):
        return None
    inner = field_phrase(words[:-1], normalized_type, entity, attach=attach)
    return Phrase(f"{inner.text} in {unit}", inner.uses_entity)
