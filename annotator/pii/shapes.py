"""Per-value shape checks without checksums: e-mail, phone, IP, dates, passports and coordinates.

Each scorer returns a grade in 0..1 rather than a bool, because the shapes are not equally telling: "+49 30 1234567"
can only be a phone number, "0301234567" probably is one, and "123-456-78" might be anything. The column-level code
averages these grades, so a column of ambiguous shapes never looks as sure as a column of unambiguous ones.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_EMAIL = re.compile(
    r"^(?:[^<>@]{0,80}<)?[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}>?$"
)
_PHONE_EXT = re.compile(r"\s*(?:x|ext\.?|extension|#|poste|durchwahl)\s*\d{1,6}$", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_GROUPS = re.compile(r"\d+")
# ITU-T E.164 country calling codes, as prefixes (1-3 digits).
_CALLING_CODES = frozenset(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84"
    " 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235"
    " 236 237 238 239 240 241 242 243 244 245 246 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264"
    " 265 266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376"
    " 377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593"
    " 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692"
    " 850 852 853 855 856 880 886 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994"
    " 995 996 998".split()
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})$")
# US/UK/BR letter+digits, French 99AA99999, Dutch AA9999999-like, German (restricted alphabet), bare 8-9 digits.
_PASSPORT = re.compile(
    r"^(?:[A-Z]{1,3}\d{6,8}|\d{2}[A-Z]{2}\d{5}|[A-Z]{2}[A-Z0-9]{6}\d|[CFGHJKLMNPRTVWXYZ0-9]{9}|\d{8,9})$"
)
_MRZ_TD3 = re.compile(r"^[A-Z0-9<]{9}\d[A-Z<]{3}\d{6}\d[MF<]\d{6}\d[A-Z0-9<]{14}[\d<]\d$")
_LATLON_TEXT = re.compile(r"^\(?\s*(-?\d{1,3}\.\d+)\s*[,; ]\s*(-?\d{1,3}\.\d+)\s*\)?$")
_WKT_POINT = re.compile(r"^(?:SRID=\d+;)?POINT\s*Z?\s*\(\s*(-?\d{1,3}(?:\.\d+)?)\s+(-?\d{1,3}(?:\.\d+)?)", re.I)


def email_ok(text: str) -> bool:
    """An address (optionally in "Name <addr>" form) and nothing else: a sentence that mentions one is not one."""
    return len(text) <= 254 and "@" in text and bool(_EMAIL.match(text.strip()))


def phone_score(text: str) -> float:
    """Grade a string as a phone number by how telling its shape is (see the module docstring)."""
    text = _PHONE_EXT.sub("", text.strip())
    if not 7 <= len(text) <= 26 or not _PHONE_CHARS.match(text):
        return 0.0
    groups = _GROUPS.findall(text)
    digits = "".join(groups)
    if not 7 <= len(digits) <= 15:
        return 0.0
    if text.startswith("+") or (text.startswith("00") and len(digits) >= 10):
        rest = digits if text.startswith("+") else digits[2:]
        return 1.0 if any(rest[:n] in _CALLING_CODES for n in (1, 2, 3)) and len(rest) >= 8 else 0.3
    if text.startswith("(") and ")" in text[:8]:
        return 0.9
    return _national_phone_score(text, digits, [len(g) for g in groups])


def _national_phone_score(text: str, digits: str, sizes: list[int]) -> float:
    """Numbers written without a country code: trunk prefix 0, NANP 3-3-4, or known mobile/area layouts."""
    separated = len(sizes) > 1
    if digits[0] == "0" and 9 <= len(digits) <= 12:
        return 0.85 if separated else 0.7
    if len(digits) == 11 and digits[0] == "1":
        digits, sizes = digits[1:], sizes[1:] if sizes[0] == 1 else sizes
    if len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789":
        if sizes == [3, 3, 4]:
            return 0.8
        if not separated:
            return 0.45
    if separated and sizes[0] == 2 and len(digits) in (10, 11) and sizes[-1] == 4:
        return 0.7  # Brazilian "NN NNNN-NNNN" / "NN 9NNNN-NNNN"
    if len(digits) == 9 and digits[0] in "6789":
        return 0.6 if separated else 0.4  # Spanish and Portuguese numbers have no trunk prefix
    if len(digits) in (9, 10, 11) and digits[0] == "3":
        return 0.5  # Italian mobiles
    return 0.2 if separated else 0.05


def ip_score(text: str) -> float:
    """1.0 for a literal IPv4/IPv6 address (ipaddress decides), 0.8 with a port, else 0."""
    text = text.strip()
    if not 2 <= len(text) <= 45:
        return 0.0
    try:
        ipaddress.ip_address(text)
        return 1.0
    except ValueError:
        pass
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and host.count(":") == 0:
        try:
            ipaddress.IPv4Address(host)
            return 0.8
        except ValueError:
            return 0.0
    return 0.0


def version_like(text: str) -> bool:
    """"4.2.0.1" parses as IPv4 but is a release number: small octets, a small first part."""
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 30 for p in parts) and int(parts[0]) <= 20


def as_date(value: Any) -> date | None:
    """A calendar date from a date, a midnight datetime or a date-like string; None for timestamps of events."""
    if isinstance(value, datetime):
        has_time = (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0)
        return None if has_time else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and 8 <= len(value) <= 32:
        return _parse_date_text(value.strip())
    return None


def _parse_date_text(text: str) -> date | None:
    m = _ISO_DATE.match(text) or _YMD_SLASH.match(text)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DMY.match(text)
    if m:
        a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        return _safe_date(year, b, a) or _safe_date(year, a, b)  # day-first (Europe), then month-first (US)
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def mrz_ok(text: str) -> bool:
    """Line 2 of a passport MRZ (TD3): the document number's 7-3-1 check digit must match."""
    line = text.strip().upper()
    if len(line) != 44 or not _MRZ_TD3.match(line):
        return False
    return _mrz_check(line[:9]) == int(line[9])


def _mrz_check(field: str) -> int:
    weights = (7, 3, 1)
    total = 0
    for i, ch in enumerate(field):
        val = 0 if ch == "<" else int(ch) if ch.isdigit() else ord(ch) - 55
        total += val * weights[i % 3]
    return total % 10


def passport_score(text: str, *, hinted: bool) -> float:
    """MRZ lines are unambiguous; a bare document number is only passport-shaped, which a name must confirm."""
    compact = text.strip().replace(" ", "").upper()
    if len(compact) == 44:
        return 1.0 if mrz_ok(compact) else 0.0
    if not 6 <= len(compact) <= 10 or not _PASSPORT.match(compact):
        return 0.0
    return 1.0 if hinted else 0.5


def geo_point(value: Any) -> tuple[float, float] | None:
    """(lat, lon) from a "lat,lon" string, WKT POINT, GeoJSON Point (dict or JSON text) or a 2-number sequence."""
    if isinstance(value, dict):
        return _geojson_point(value)
    if isinstance(value, list | tuple) and len(value) == 2 and all(_is_number(v) for v in value):
        return _checked(float(value[0]), float(value[1]))
    if not isinstance(value, str) or len(value) > 200:
        return None
    text = value.strip()
    m = _LATLON_TEXT.match(text)
    if m:
        return _checked(float(m.group(1)), float(m.group(2)))
    m = _WKT_POINT.match(text)
    if m:
        return _checked(float(m.group(2)), float(m.group(1)))  # WKT is x (lon) then y (lat)
    if text.startswith("{") and '"coordinates"' in text:
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        return _geojson_point(parsed) if isinstance(parsed, dict) else None
    return None


def _geojson_point(obj: dict[str, Any]) -> tuple[float, float] | None:
    coords = obj.get("coordinates")
    if str(obj.get("type", "")).lower() != "point" or not isinstance(coords, list | tuple) or len(coords) < 2:
        return None
    if not (_is_number(coords[0]) and _is_number(coords[1])):
        return None
    return _checked(float(coords[1]), float(coords[0]))


def _checked(lat: float, lon: float) -> tuple[float, float] | None:
    if -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0):
        return lat, lon
    return None


def _is_number(value: Any) -> bool:
    """A finite, coordinate-sized number (anything beyond 1e6 is not a coordinate, and may not even fit a float)."""
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value) <= 10**6
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) <= 10**6


def decimal_places(value: Any) -> int:
    """Digits after the point as written (floats via repr), so 52.520008 counts 6 and 19.99 counts 2."""
    if isinstance(value, Decimal):
        exp = value.as_tuple().exponent
        return -exp if isinstance(exp, int) and exp < 0 else 0
    text = repr(value) if isinstance(value, float) else str(value)
    if "e" in text.lower():
        return 0
    _, _, frac = text.partition(".")
    return len(frac.rstrip("0"))
