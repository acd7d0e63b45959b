"""Value generators for the PII evaluation set: what faker offers plus what it lacks (valid UK NINOs, German tax ids,
passport numbers per country, MRZ lines) and the hard negatives (order numbers that fail Luhn, phone-shaped product
codes, release numbers shaped like IPs, free text with a rare e-mail).

Check digits are computed here independently of annotator.pii.validators, so a bug in the classifier's checksum
code cannot be hidden by the same bug in the data.
"""

from __future__ import annotations

import hashlib
import random
import string
from datetime import date, datetime, timedelta
from decimal import Decimal

from faker import Faker

COUNTRY = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES", "it_IT": "IT", "nl_NL": "NL",
           "pt_BR": "BR", "sv_SE": "SE", "pl_PL": "PL"}
DATE_FORMATS = {"en_US": "%m/%d/%Y", "en_GB": "%d/%m/%Y", "de_DE": "%d.%m.%Y", "fr_FR": "%d/%m/%Y",
                "es_ES": "%d/%m/%Y", "it_IT": "%d/%m/%Y", "nl_NL": "%d-%m-%Y", "pt_BR": "%d/%m/%Y"}


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return luhn_digit(number[:-1]) == number[-1]


# --- national identity numbers and passports ---------------------------------------------------------------


def nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        second = "A"
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    return f"{first}{second}{digits}{suffix}"


def steuer_id(rng: random.Random) -> str:
    """German tax id: ten digits where exactly one digit appears twice, then an ISO 7064 MOD 11,10 check digit."""
    pool = rng.sample(string.digits, 9)
    body = pool + [rng.choice(pool)]
    rng.shuffle(body)
    if body[0] == "0":
        body[0], body[1] = body[1], body[0]
    if body[0] == "0":
        return steuer_id(rng)
    product = 10
    for ch in body:
        s = (int(ch) + product) % 10
        s = 10 if s == 0 else s
        product = (2 * s) % 11
    check = 11 - product
    return "".join(body) + str(0 if check == 10 else check)


def cpf_digits(rng: random.Random) -> str:
    base = [rng.randint(0, 9) for _ in range(9)]
    for n in (10, 11):
        s = sum(d * w for d, w in zip(base, range(n, 1, -1), strict=False))
        base.append((s * 10) % 11 % 10)
    return "".join(map(str, base))


def national_id(fake: Faker, locale: str, rng: random.Random) -> str:
    if locale == "en_US":
        ssn = fake.ssn()
        return ssn if rng.random() < 0.7 else ssn.replace("-", "")
    if locale == "en_GB":
        return nino(rng)
    if locale == "de_DE":
        return steuer_id(rng)
    if locale == "es_ES":
        return fake.nif() if rng.random() < 0.8 else fake.nie()
    if locale == "pt_BR":
        cpf = cpf_digits(rng)
        return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}" if rng.random() < 0.6 else cpf
    return fake.ssn()  # fr_FR NIR, it_IT codice fiscale, nl_NL BSN


_DE_PASSPORT = "CFGHJKLMNPRTVWXYZ0123456789"


def passport(locale: str, rng: random.Random) -> str:
    up, dig = string.ascii_uppercase, string.digits

    def pick(chars: str, n: int) -> str:
        return "".join(rng.choice(chars) for _ in range(n))

    return {
        "en_US": lambda: pick(dig, 9) if rng.random() < 0.5 else pick(up, 1) + pick(dig, 8),
        "en_GB": lambda: pick(dig, 9),
        "de_DE": lambda: "C" + pick(_DE_PASSPORT, 8),
        "fr_FR": lambda: pick(dig, 2) + pick(up, 2) + pick(dig, 5),
        "es_ES": lambda: pick(up, 3) + pick(dig, 6),
        "it_IT": lambda: pick(up, 2) + pick(dig, 7),
        "nl_NL": lambda: pick(up.replace("O", ""), 2) + pick(up.replace("O", "") + dig, 6) + pick(dig, 1),
        "pt_BR": lambda: pick(up, 2) + pick(dig, 6),
    }[locale]()


def _mrz_check(field: str) -> str:
    values = {ch: i for i, ch in enumerate(string.digits + string.ascii_uppercase)}
    values["<"] = 0
    return str(sum(values[ch] * (7, 3, 1)[i % 3] for i, ch in enumerate(field)) % 10)


def mrz_line(locale: str, rng: random.Random, birth: date) -> str:
    """Line 2 of a TD3 passport machine-readable zone with its check digits."""
    number = passport(locale, rng)[:9].ljust(9, "<")
    nationality = {"US": "USA", "GB": "GBR", "DE": "D<<", "FR": "FRA", "ES": "ESP", "IT": "ITA", "NL": "NLD",
                   "BR": "BRA"}[COUNTRY[locale]]
    dob = birth.strftime("%y%m%d")
    expiry = (date.today() + timedelta(days=rng.randint(100, 3500))).strftime("%y%m%d")
    personal = "<" * 14
    parts = [number + _mrz_check(number), nationality, dob + _mrz_check(dob), rng.choice("MF"),
             expiry + _mrz_check(expiry), personal + "<"]
    line = "".join(parts)
    composite = line[0:10] + line[13:20] + line[21:43]
    return line + _mrz_check(composite)


# --- payment data ------------------------------------------------------------------------------------------


def card_number(fake: Faker, rng: random.Random) -> str:
    kind = rng.choice(["visa16", "visa16", "mastercard", "mastercard", "amex", "discover", "jcb16", "diners"])
    number = fake.credit_card_number(card_type=kind)
    style = rng.random()
    if style < 0.3 and len(number) == 16:
        return " ".join(number[i:i + 4] for i in range(0, 16, 4))
    if style < 0.45 and len(number) == 16:
        return "-".join(number[i:i + 4] for i in range(0, 16, 4))
    return number


CALLING_CODES = {"en_US": "1", "en_GB": "44", "de_DE": "49", "fr_FR": "33", "es_ES": "34", "it_IT": "39",
                 "nl_NL": "31", "pt_BR": "55"}


def msisdn(locale: str, rng: random.Random) -> str:
    """A mobile number in bare E.164 digits, as telecom systems store it ("4915112345678")."""
    national = {"en_US": 10, "en_GB": 10, "de_DE": 11, "fr_FR": 9, "es_ES": 9, "it_IT": 10, "nl_NL": 9,
                "pt_BR": 11}[locale]
    rest = "".join(rng.choice(string.digits) for _ in range(national - 1))
    return CALLING_CODES[locale] + str(rng.randint(2, 9)) + rest


def iban(fake: Faker, rng: random.Random) -> str:
    value = fake.iban()
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.35 else value


def order_number(rng: random.Random) -> str:
    """A 16-digit order number that fails Luhn (the hard negative): date-like prefix, running suffix."""
    number = f"{rng.randint(2015, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 99999999):08d}"
    if luhn_valid(number):
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    return number


def random_order_number(rng: random.Random) -> str:
    number = str(rng.randint(10**15, 10**16 - 1))
    if luhn_valid(number):
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    return number


# --- hard negatives and ordinary business values -----------------------------------------------------------

BROWSERS = ["Chrome", "Safari", "Firefox", "Edge", "Opera", "Samsung Internet", "Brave", "Chrome Mobile",
            "Mobile Safari", "Vivaldi"]
PHONE_MODELS = ["iPhone 13", "iPhone 14 Pro", "iPhone SE", "Galaxy S21", "Galaxy A52", "Pixel 7", "Pixel 6a",
                "Redmi Note 12", "OnePlus 9", "Xperia 10 IV", "Moto G84", "Nokia G21", "iPhone 15 Pro Max"]
ADDRESS_TYPES = ["home", "work", "billing", "shipping", "other"]
STATUSES = ["active", "inactive", "pending", "suspended", "closed"]
CURRENCIES = ["EUR", "USD", "GBP", "BRL", "CHF", "SEK"]
CATEGORIES = ["Electronics", "Books", "Garden", "Toys", "Clothing", "Sports", "Beauty", "Grocery", "Automotive"]
_ADJECTIVES = ["Ergonomic", "Rustic", "Sleek", "Practical", "Smart", "Handcrafted", "Refined", "Incredible",
               "Gorgeous", "Classic", "Modern", "Compact", "Deluxe", "Premium", "Durable"]
_MATERIALS = ["Steel", "Wooden", "Cotton", "Granite", "Plastic", "Rubber", "Leather", "Bamboo", "Glass", "Concrete"]
_PRODUCTS = ["Chair", "Table", "Lamp", "Keyboard", "Wallet", "Shoes", "Bottle", "Backpack", "Jacket", "Mug",
             "Towels", "Gloves", "Desk", "Speaker", "Notebook"]


def product_name(rng: random.Random) -> str:
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_MATERIALS)} {rng.choice(_PRODUCTS)}"


def product_code(rng: random.Random) -> str:
    """Part numbers a naive phone regex accepts: digit groups with dashes, dots or spaces, or an EAN-13."""
    d = string.digits
    shape = rng.choice(["3-3-2", "2-4-3", "4-3-3", "3.3.3", "ean", "2-3-4", "4-4-2"])
    if shape == "ean":
        return str(rng.randint(4000000000000, 4999999999999))
    sep = "." if "." in shape else "-"
    return sep.join("".join(rng.choice(d) for _ in range(int(n))) for n in shape.replace(".", "-").split("-"))


def app_version(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}"


def sha256_hex(rng: random.Random) -> str:
    return hashlib.sha256(str(rng.random()).encode()).hexdigest()


def amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(100, 250000)) / 100


def recent_timestamp(rng: random.Random) -> datetime:
    return datetime.now().replace(microsecond=0) - timedelta(seconds=rng.randint(0, 3 * 365 * 86400))


def recent_date(rng: random.Random, years: float = 3.0) -> date:
    return date.today() - timedelta(days=rng.randint(0, int(years * 365)))


def free_text(fake: Faker, rng: random.Random, pii: str | None) -> str:
    """A note; `pii` (an e-mail or phone number) is woven into it when given."""
    text = fake.sentence(nb_words=rng.randint(6, 14))
    if pii is None:
        return text
    lead = rng.choice(["Customer asked to use", "Please contact", "Reach out via", "New contact:", "Call back on"])
    return f"{text} {lead} {pii} {rng.choice(['tomorrow.', 'asap.', 'after 5pm.', ''])}".strip()


def coordinate(fake: Faker, locale: str, rng: random.Random) -> tuple[float, float]:
    """A point near a real town of the locale's country, with GPS-like precision."""
    lat, lon, *_ = fake.local_latlng(country_code=COUNTRY[locale]) or (fake.latitude(), fake.longitude())
    places = rng.choice([4, 5, 6])
    return (round(float(lat) + rng.uniform(-0.05, 0.05), places), round(float(lon) + rng.uniform(-0.05, 0.05), places))
