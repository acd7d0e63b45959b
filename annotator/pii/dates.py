"""Birth-date evidence: plausible ages, a spread of years, and calendar dates rather than timestamps of events.

Why the distribution matters more than any single value: every past date is a plausible birthday, so the column as a
whole must look like a population's birth dates: ages between 0 and 120, many different years, not clustered in the
last few years (order and sign-up dates are), and dates rather than timestamps with a time of day. Even then values
alone stay below the suggest threshold: an unnamed column of past dates is usually not a birth date, so a name or
neighbouring person columns must agree (see VALUE_CURVES in values.py and the neighbour rules).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from annotator.pii.labels import DATE_OF_BIRTH
from annotator.pii.sample import Sample
from annotator.pii.scoring import Hint, ValueResult, curve, describe
from annotator.pii.shapes import as_date

DOB_CURVE = (8.0, 0.6, -6.0, 1.8)
MAX_AGE = 120.0
RECENT_MEDIAN_YEARS = 3.0
MIN_SPAN_YEARS = 8
ADULT_P10, ADULT_MEDIAN = 12.0, 25.0


def dob_values(sample: Sample, hint: Hint, today: date | None = None) -> ValueResult:
    today = today or date.today()
    ages: list[tuple[float, int]] = []
    years: set[int] = set()
    timestamps = 0
    shifted = _constant_time_of_day(sample)
    for value, count in sample.items:
        if shifted and isinstance(value, datetime):
            value = (value + timedelta(hours=12)).date()
        day = as_date(value) or _birth_year(value, hint, today) or _compact_date(value, hint)
        if day is None:
            timestamps += count if isinstance(value, datetime) else 0
            continue
        age = (today - day).days / 365.25
        if 0 <= age <= MAX_AGE:
            ages.append((age, count))
            years.add(day.year)
    total = sample.total
    plausible = sum(c for _, c in ages)
    share = plausible / total
    if timestamps > 0.5 * total:
        return ValueResult(-4.0, share, f"{timestamps} of {total} sampled values are timestamps with a time of day "
                           "(events), not calendar dates")
    detail = describe(DATE_OF_BIRTH, share, total, "dates with a plausible age (0-120 years)")
    weight = curve(share, *DOB_CURVE)
    if share < 0.5:
        return ValueResult(weight, share, detail)
    median, p10 = _quantile(ages, 0.5), _quantile(ages, 0.1)
    span = max(years) - min(years)
    facts = frozenset({"adult_ages"}) if p10 >= ADULT_P10 and median >= ADULT_MEDIAN else frozenset()
    if median < RECENT_MEDIAN_YEARS:
        return ValueResult(-2.5, share, f"{detail}; but they cluster in recent years (median age {median:.1f}), "
                           "like event dates")
    if span < MIN_SPAN_YEARS or len(years) < min(MIN_SPAN_YEARS, max(3, len(ages) // 5)):
        return ValueResult(min(weight, 0.0), share, f"{detail}; but they span only {span} years")
    return ValueResult(weight, share, f"{detail}; median age {median:.0f}, {len(years)} different years", facts)


def _constant_time_of_day(sample: Sample) -> bool:
    """Birthdays stored as local midnight converted to UTC all share one odd time (23:00, 05:00): still dates."""
    times = Counter(v.time() for v, _ in sample.items if isinstance(v, datetime))
    total = sum(times.values())
    return total >= 10 and times.most_common(1)[0][1] >= 0.9 * total


def _compact_date(value: object, hint: Hint) -> date | None:
    """"19850312" (or the integer) under a birth name: a legacy compact date."""
    if not hint.positive or isinstance(value, bool):
        return None
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) and 0 < value < 10**8 else ""
    if len(text) != 8 or not text.isdigit() or text[:2] not in ("19", "20"):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _birth_year(value: object, hint: Hint, today: date) -> date | None:
    """A bare year counts only under a birth name (`birth_year`); unnamed, 1999 is just a year code."""
    if hint.positive and isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= today.year:
        return date(value, 7, 1)
    return None


def _quantile(weighted: list[tuple[float, int]], q: float) -> float:
    """Weighted quantile of (value, count) pairs."""
    ordered = sorted(weighted)
    target = q * sum(c for _, c in ordered)
    running = 0
    for value, count in ordered:
        running += count
        if running >= target:
            return value
    return ordered[-1][0]
