"""Checksum validators for identifiers: cards, IBANs and national identity numbers of the supported locales.

Why checksums: a pattern alone cannot tell a card number from a 16-digit order number, or a Dutch BSN from any
nine-digit account number. A check digit passes for roughly one random number in ten (Luhn, 11-proof) or one in
ninety-seven (IBAN, NIR), so a *column* where nearly every value passes is overwhelming evidence even when each
single value is weak. Every function takes a string and returns a bool; none raises on junk input.
"""

from __future__ import annotations

import re

_NON_DIGIT = re.compile(r"\D")
_CARD_SHAPE = re.compile(r"^\d(?:[ -]?\d){12,18}$")
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_SSN_SHAPE = re.compile(r"^(\d{3})([- ]?)(\d{2})\2(\d{4})$")
_NINO_SHAPE = re.compile(r"^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])(\d{6})([A-D])$")
_DNI_SHAPE = re.compile(r"^([XYZ]|\d)(\d{7})-?([A-Z])$")
_CF_SHAPE = re.compile(r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$")
_CPF_FORMATTED = re.compile(r"^\d{3}\.\d{3}\.\d{3}-\d{2}$")

# ISO 13616 registry: IBAN length per country (the common ones; an unknown country falls back to 15..34).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24,
    "XK": 20,
}
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
_NINO_BAD_PREFIXES = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}


def digits_of(text: str) -> str:
    return _NON_DIGIT.sub("", text)


def luhn_ok(digits: str) -> bool:
    """Luhn mod-10 over a digit string (cards, Canadian SINs, IMEIs)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The issuer family for a known IIN prefix and length, or None: 16 random digits rarely start like a card."""
    n = len(digits)
    p2, p4, p6 = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or p2 == 65 or 644 <= p4 // 10 <= 649 or 622126 <= p6 <= 622925) and 16 <= n <= 19:
        return "discover"
    if 3528 <= p4 <= 3589 and 15 <= n <= 19:
        return "jcb"
    if (300 <= p4 // 10 <= 305 or p2 in (36, 38, 39) or p4 == 3095) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    if 2200 <= p4 <= 2204 and 16 <= n <= 19:
        return "mir"
    if (p2 == 50 or 56 <= p2 <= 69) and 12 <= n <= 19:
        return "maestro"
    return None


def card_ok(text: str) -> bool:
    """13-19 digits (spaces or dashes allowed), a known issuer prefix and a passing Luhn check."""
    text = text.strip()
    if not _CARD_SHAPE.match(text):
        return False
    digits = digits_of(text)
    return card_brand(digits) is not None and luhn_ok(digits)


def iban_ok(text: str) -> bool:
    """ISO 13616: country length and the mod-97 check over the rearranged string."""
    compact = text.replace(" ", "").replace("-", "").upper()
    if not _IBAN_SHAPE.match(compact):
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ssn_ok(text: str, *, require_separators: bool = False) -> bool:
    """US SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000; not the famous advertising numbers."""
    m = _SSN_SHAPE.match(text.strip())
    if not m or (require_separators and not m.group(2)):
        return False
    area, group, serial = m.group(1), m.group(3), m.group(4)
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return f"{area}{group}{serial}" not in ("078051120", "219099999", "123456789")


def nino_ok(text: str) -> bool:
    """UK National Insurance number: two prefix letters with HMRC's exclusions, six digits, suffix A-D."""
    compact = text.replace(" ", "").upper()
    m = _NINO_SHAPE.match(compact)
    return bool(m) and compact[:2] not in _NINO_BAD_PREFIXES


def bsn_ok(text: str) -> bool:
    """Dutch BSN: nine digits passing the 11-proof (last digit weighted -1)."""
    digits = text.strip().zfill(9) if text.strip().isdigit() else ""
    if len(digits) != 9 or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def nir_ok(text: str) -> bool:
    """French NIR (numéro de sécurité sociale): 13 digits + 2-digit key = 97 - (number mod 97); Corsica 2A/2B."""
    compact = text.replace(" ", "").upper()
    if len(compact) != 15 or compact[0] not in "123478":
        return False
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    if not body.isdigit() or not compact[13:].isdigit():
        return False
    return 97 - int(body) % 97 == int(compact[13:])


def spanish_id_ok(text: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter), letter = number mod 23."""
    m = _DNI_SHAPE.match(text.strip().upper())
    if not m:
        return False
    lead = "XYZ".index(m.group(1)) if m.group(1) in "XYZ" else int(m.group(1))
    return _DNI_LETTERS[int(f"{lead}{m.group(2)}") % 23] == m.group(3)


def codice_fiscale_ok(text: str) -> bool:
    """Italian codice fiscale: 16 characters in the fixed layout, check letter from the odd/even tables."""
    code = text.strip().upper()
    if not _CF_SHAPE.match(code):
        return False
    total = 0
    for i, ch in enumerate(code[:15]):
        idx = int(ch) if ch.isdigit() else ord(ch) - 65
        total += _CF_ODD[idx] if i % 2 == 0 else idx
    return chr(65 + total % 26) == code[15]


def steuer_id_ok(text: str) -> bool:
    """German Steuer-ID: 11 digits, no leading 0, one digit repeated in the first ten, ISO 7064 MOD 11,10 check."""
    digits = text.strip()
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    counts = sorted((digits[:10].count(d) for d in set(digits[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    return (11 - product) % 10 == int(digits[10])


def cpf_ok(text: str) -> bool:
    """Brazilian CPF: 11 digits (optionally ###.###.###-##), two mod-11 check digits, not all digits equal."""
    digits = digits_of(text) if _CPF_FORMATTED.match(text.strip()) else text.strip().zfill(11)
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    for pos in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:pos], range(pos + 1, 1, -1), strict=True))
        if (total * 10) % 11 % 10 != int(digits[pos]):
            return False
    return True


def national_id_score(text: str, *, hinted: bool) -> float:
    """How surely one value is a national identity number: 1.0 for a self-describing format with a passing check,
    0.9 for a bare digit string with a passing check, 0.35 for a bare nine-digit string obeying only the SSN rules
    (any account number does); a column name saying "ssn" (hinted) lifts bare shapes because the name resolves them."""
    text = text.strip()
    if len(text) < 8 or len(text) > 21:
        return 0.0
    if ssn_ok(text, require_separators=True) or nino_ok(text) or spanish_id_ok(text) or codice_fiscale_ok(text):
        return 1.0
    if _CPF_FORMATTED.match(text):
        return 1.0 if cpf_ok(text) else 0.0
    if nir_ok(text):
        return 1.0
    if text.isdigit():
        if (len(text) <= 9 and bsn_ok(text)) or (len(text) == 11 and (cpf_ok(text) or steuer_id_ok(text))):
            return 0.9
        if len(text) == 9 and ssn_ok(text):
            return 0.9 if hinted else 0.35
        if hinted and 6 <= len(text) <= 13:
            return 0.5
    return 0.0
