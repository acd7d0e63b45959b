"""Free-text scrubbing for redaction recipes: e-mail addresses, phone numbers and payment card numbers found inside
text become `[email]`, `[phone]` and `[card]`, over whole Arrow arrays at a time.

Why not `annotator.pii.scrub_text`: it validates every match in Python, which is right for the few hundred sampled
values a person looks at, but costs about 10 µs a value, and a publish scrubs millions of rows. Here the shapes are
RE2 expressions that Arrow's compute kernels run over the whole array (the GIL is released, one pass is a fraction
of a second per million rows), and the Luhn check of card numbers runs in numpy over all candidates at once. Python
(with `annotator.pii.validators.luhn_ok`, the classifier's own check) only sees the rare rows where a card may hide
inside a longer run of digit groups.

Recall over precision: a missed phone number is a leak in a published version, an order number replaced by
`[phone]` is a small loss. So the rules are:
- e-mail: `local@domain.tld`, letters of any script allowed in both parts (`josé@exämple.de`).
- card: 12-19 digits (Maestro numbers can have 12), single spaces or dashes allowed between them, passing the
  Luhn check (no issuer check: an unknown issuer is still a card). A longer run of digit groups is searched for a
  card-sized window of whole groups. A phone number of 12 or more digits that passes Luhn becomes `[card]`.
- phone: a `+` followed by 7-15 digits; a parenthesised area code with 4 or more digits after it; digit groups
  separated by spaces, dots, dashes, slashes or parentheses with 8-15 digits in all; a bare run of 9-12 digits
  (optionally after `00`); each with an optional extension (`x123`, `ext. 12`). Dates (`2024-01-15`,
  `15.03.2024`, `03/15/2024`) and year ranges (`2019-2024`) are protected first, so they stay as they are.
What stays: years, amounts (`1,234.56`), times, versions, numbers of up to 8 bare digits (order numbers, postcodes).
Known misses: 7-digit local numbers (`555-1234`) and bare 8-digit numbers (Danish or Australian numbers written
without spaces), which cannot be told from order numbers. Decimal numbers with 8 or more digits become `[phone]`.
The protection marks dates with U+FFFF (a Unicode noncharacter, never meant for interchange); any U+FFFF already
in the text is removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from annotator.pii.validators import luhn_ok

EMAIL, PHONE, CARD = "email", "phone", "card"
KINDS: tuple[str, ...] = (EMAIL, PHONE, CARD)
PLACEHOLDERS = {EMAIL: "[email]", PHONE: "[phone]", CARD: "[card]"}

_WORD = r"A-Za-z0-9\x{80}-\x{10FFFF}"  # letters and digits of any script (RE2 character-class body)
EMAIL_RE2 = (rf"[{_WORD}._%+'\-]+@[{_WORD}\-]+(?:\.[{_WORD}\-]+)*"
             r"\.[A-Za-z\x{80}-\x{10FFFF}]{2,63}")

# Seven digits with at most two separator characters between neighbours: every phone and card shape has this,
# so rows without it skip the phone and card passes.
_DIGIT_RUN = r"\d(?:[ .\-/()]{0,2}\d){6}"
_CARD_RUN = r"\d(?:[ \-]?\d){11,}"  # 12 or more digits, groups joined by single spaces or dashes
_GAP = r"[ .\-/()]{0,2}"
_EXT = r"(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?"


def _phone_pattern() -> str:
    """The alternatives of the module docstring; a first group of g digits needs 8-g more after a separator."""
    alternatives = [rf"\+\s?\d(?:{_GAP}\d){{6,14}}{_EXT}\b",
                    rf"\(\d{{2,5}}\){_GAP}\d(?:{_GAP}\d){{3,12}}{_EXT}\b"]
    alternatives += [rf"\b\d{{{g}}}[ .\-/()]{{1,2}}\d(?:{_GAP}\d){{{7 - g},{14 - g}}}{_EXT}\b" for g in range(1, 6)]
    alternatives.append(rf"\b(?:00)?\d{{9,12}}{_EXT}\b")
    return "|".join(alternatives)


PHONE_RE2 = _phone_pattern()

MARK = "\uffff"
_CONTEXT = r"(^|[^\d.\-/+])"  # a date does not continue a digit sequence (`+61-2-1926-5360` is a phone)
_YEAR, _MONTH, _DAY = r"(?:19|20)\d\d", r"(?:0?[1-9]|1[0-2])", r"(?:0?[1-9]|[12]\d|3[01])"
# Three alternatives of three groups each (context, head, tail); unmatched groups rewrite as empty text, so one
# rewrite puts the mark between head and tail of whichever alternative matched. RE2 rewrites know \0-\9 only.
_PROTECT_RE2 = "|".join([
    rf"{_CONTEXT}({_YEAR})([-/.]{_MONTH}[-/.]{_DAY})\b",
    rf"{_CONTEXT}({_DAY}[-/.]{_DAY})([-/.]{_YEAR})\b",
    rf"{_CONTEXT}({_YEAR})(\s?[-\x{{2013}}]\s?{_YEAR})\b",
])
_PROTECT_REWRITE = r"\1\4\7\2\5\8" + MARK + r"\3\6\9"

_PY_DIGIT_RUN = re.compile(_CARD_RUN, re.ASCII)  # the same runs as RE2 finds (ASCII digits only, like RE2)
_PY_GROUP = re.compile(r"\d+", re.ASCII)
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)  # Luhn: a doubled digit, digits summed


def scrub_array(values: pa.Array, kinds: Iterable[str] = KINDS) -> pa.Array:
    """Scrub a string array (nulls stay null); `kinds` chooses among e-mail, phone and card."""
    wanted = frozenset(kinds)
    values = values.cast(pa.string()) if values.type != pa.string() else values
    if EMAIL in wanted:
        values = _on_rows(values, _rows_with_byte(values, ord("@")), _emails)
    if wanted & {PHONE, CARD}:
        values = _on_rows(values, pc.match_substring_regex(values, _DIGIT_RUN),
                          lambda rows: _digits(rows, wanted))
    return values


def _on_rows(values: pa.Array, mask: pa.Array, change: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Apply `change` to the rows where `mask` holds and put them back: most rows of a text column hold no
    e-mail or long digit run, and every regex pass skipped on them is time saved."""
    mask = pc.fill_null(mask, False)
    hits = pc.sum(mask).as_py() or 0
    if hits == 0:
        return values
    if hits == len(values):
        return change(values)
    return pc.replace_with_mask(values, mask, change(values.filter(mask)))


def _buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets (for its own slice) and its whole data buffer, as numpy views (no copy)."""
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(values) + 1 + values.offset)[values.offset:]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _rows_with_byte(values: pa.Array, byte: int) -> pa.Array:
    """Rows whose UTF-8 text holds `byte` (an ASCII character), found with numpy over the data buffer: four times
    faster than `match_substring`, which searches row by row."""
    offsets, data = _buffers(values)
    hits = np.flatnonzero(data[offsets[0]:offsets[-1]] == byte) + offsets[0]
    rows = np.searchsorted(offsets, hits, side="right") - 1
    found = pa.array(np.bincount(rows, minlength=len(values)) > 0)
    return pc.and_(found, pc.is_valid(values)) if values.null_count else found


def _luhn_valid(digits: pa.Array) -> np.ndarray:
    """The Luhn check over every string of ASCII digits in an array at once (numpy over the data buffer)."""
    offsets, data = _buffers(digits)
    lengths = np.diff(offsets).astype(np.int64)
    values = data[offsets[0]:offsets[-1]].astype(np.int64) - 48
    from_end = np.repeat(offsets[1:].astype(np.int64), lengths) - 1 - np.arange(offsets[0], offsets[-1])
    values = np.where(from_end % 2 == 1, _DOUBLED[values], values)
    sums = np.bincount(np.repeat(np.arange(len(digits)), lengths), weights=values, minlength=len(digits))
    return (sums.astype(np.int64) % 10 == 0) & (lengths > 0)


def _emails(rows: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(rows, EMAIL_RE2, PLACEHOLDERS[EMAIL])


def _digits(rows: pa.Array, wanted: frozenset[str]) -> pa.Array:
    """Cards first (a grouped card number is phone-shaped too), then phones around protected dates."""
    if CARD in wanted:
        rows = _on_rows(rows, pc.match_substring_regex(rows, _CARD_RUN), _cards)
    if PHONE in wanted:
        rows = pc.replace_substring_regex(rows, _PROTECT_RE2, _PROTECT_REWRITE)
        rows = pc.replace_substring_regex(rows, PHONE_RE2, PLACEHOLDERS[PHONE])
        rows = pc.replace_substring(rows, MARK, "")
    return rows


def _cards(rows: pa.Array) -> pa.Array:
    """Rows holding a run of 12+ digits. The common case, one run that is a card as a whole or a bare number that
    is not, is decided for all rows at once (numpy Luhn); only rows with several runs, or a grouped run that
    fails as a whole (a card may hide in part of it), go through Python. Both give what `scrub_cards` gives."""
    first = pc.struct_field(pc.extract_regex(rows, f"(?P<run>{_CARD_RUN})"), [0])
    digits = pc.replace_substring_regex(first, r"[ \-]", "")
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    single = pc.equal(pc.count_substring_regex(rows, _CARD_RUN), 1).to_numpy(zero_copy_only=False)
    bare = pc.equal(pc.utf8_length(first), pc.utf8_length(digits)).to_numpy(zero_copy_only=False)
    card = single & _luhn_valid(digits) & (length <= 19)
    rows = _on_rows(rows, pa.array(card), lambda found: pc.replace_substring_regex(
        found, _CARD_RUN, PLACEHOLDERS[CARD], max_replacements=1))
    return _on_rows(rows, pa.array(~card & ~(single & bare)), _cards_in_python)


def _cards_in_python(rows: pa.Array) -> pa.Array:
    return pa.array([None if text is None else scrub_cards(text) for text in rows.to_pylist()], pa.string())


def scrub_cards(text: str) -> str:
    """Replace Luhn-valid card numbers (12-19 digits in groups joined by single spaces or dashes) by `[card]`."""
    return _PY_DIGIT_RUN.sub(_card_run, text)


def _card_run(match: re.Match[str]) -> str:
    """Within one run of digit groups, replace the longest card-sized window of whole groups that passes Luhn,
    scanning left to right (`4111 1111 1111 1111 2024` keeps its trailing year)."""
    run = match.group(0)
    if run.isdigit():  # one bare group: a card exactly, or no card (a 20-digit number is not cut into one)
        return PLACEHOLDERS[CARD] if len(run) <= 19 and luhn_ok(run) else run
    groups = [(m.start(), m.end()) for m in _PY_GROUP.finditer(run)]
    pieces: list[str] = []
    cursor = index = 0
    while index < len(groups):
        end = _card_window(run, groups, index)
        if end is None:
            index += 1
            continue
        pieces += [run[cursor:groups[index][0]], PLACEHOLDERS[CARD]]
        cursor, index = groups[end][1], end + 1
    pieces.append(run[cursor:])
    return "".join(pieces)


def _card_window(run: str, groups: list[tuple[int, int]], first: int) -> int | None:
    """The last group index of the longest Luhn-valid 12-19 digit window starting at `first`, or None (a window
    grows one group at a time and stops past 19 digits, so a long run costs linear time)."""
    best, digits = None, ""
    for last in range(first, len(groups)):
        digits += run[groups[last][0]:groups[last][1]]
        if len(digits) > 19:
            break
        if len(digits) >= 12 and luhn_ok(digits):
            best = last
    return best
