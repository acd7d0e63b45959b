"""Row generators for the demo company dataset built by `catalog.demo_data`.

Everything draws from one `random.Random` handed in by the caller, always in the same order, so one seed
always yields the same rows. The personal data is fake but shaped like the real thing: e-mail domains are
reserved (`example.*`), phone numbers sit in fictional ranges, card numbers use test BINs with a valid Luhn
digit, IBANs carry correct mod-97 check digits, SSNs follow the issuing rules. Each generator returns
`{table: [row dict, ...]}` in foreign-key order, so the rows can be inserted table by table.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import NamedTuple

Row = dict[str, object]
Rows = dict[str, list[Row]]

START = datetime(2019, 1, 1)
END = datetime(2025, 10, 31, 23, 59, 59)
CUSTOMER_COUNT = 800
PRODUCT_COUNT = 240
ORDER_COUNT = 3000
EMPLOYEE_COUNT = 60
AGENT_COUNT = 15
TICKET_COUNT = 1200

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Sophia", "Mateo", "Mia", "Elias", "Amelia", "Leon",
    "Isabella", "Finn", "Charlotte", "Jonas", "Harper", "Hugo", "Chloé", "Louis", "Léa", "Gabriel",
    "Lucía", "Martín", "Sofía", "Daniel", "Emilia", "Ben", "Hannah", "Paul", "Anna", "Felix", "Julia",
    "Oscar", "Freya", "Arjun", "Priya", "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar", "Aisha", "Kwame",
    "Amara", "Chidi", "Sven", "Ingrid", "Lars", "Sanne", "Daan", "Femke", "Jack", "Grace", "Oliver", "Isla",
    "James", "Ethan", "Zoe", "Maya", "Leah", "Nora", "Aaron", "Marta", "Tomás", "Chiara", "Marco", "Dmitri",
    "Olga",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Lee", "Walker", "Hall", "Young", "King", "Müller",
    "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch", "Martin",
    "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau", "Fernández", "González", "Rodríguez", "Sánchez",
    "Pérez", "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "O'Brien", "Murphy", "Kelly", "Evans",
    "Hughes", "Patel", "Shah", "Nguyen", "Chen", "Wang", "Kim", "Tanaka", "Okafor", "Mensah", "Haddad",
    "Novak", "Kowalski", "Andersson", "Johansson", "Rossi", "Bianchi", "Ivanova",
)  # fmt: skip
MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net")


class Country(NamedTuple):
    """Address and phone conventions; in patterns `#` is a digit, `%` a digit 2-9, `@` a capital letter."""

    weight: int
    currency: str
    cities: tuple[tuple[str, str], ...]  # (city, postcode pattern)
    streets: tuple[str, ...]
    street_fmt: str
    phone: str


COUNTRIES = {
    "US": Country(34, "USD", (("Portland", "972##"), ("Austin", "787##"), ("Denver", "802##"),
                              ("Columbus", "432##"), ("Raleigh", "276##"), ("Seattle", "981##")),
                  ("Maple Ave", "Oak St", "Cedar Ln", "Lakeview Dr", "Pine St", "Washington Blvd",
                   "Hillcrest Rd", "2nd Ave"), "{n} {street}", "+1 (%##) 555-01##"),
    "CA": Country(9, "CAD", (("Toronto", "M#@ #@#"), ("Vancouver", "V#@ #@#"), ("Montréal", "H#@ #@#")),
                  ("King St W", "Rue Sainte-Catherine", "Granville St", "Queen St E"), "{n} {street}",
                  "+1 (%##) 555-01##"),
    "GB": Country(14, "GBP", (("London", "E# #@@"), ("Manchester", "M## #@@"), ("Bristol", "BS# #@@"),
                              ("Leeds", "LS# #@@")),
                  ("High Street", "Church Road", "Station Road", "Victoria Road", "Park Lane"),
                  "{n} {street}", "+44 20 7946 0###"),
    "DE": Country(15, "EUR", (("Berlin", "10###"), ("Hamburg", "20###"), ("München", "80###"),
                              ("Köln", "50###"), ("Leipzig", "04###")),
                  ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schillerstraße", "Am Markt"),
                  "{street} {n}", "+49 30 %######"),
    "FR": Country(10, "EUR", (("Paris", "750##"), ("Lyon", "6900#"), ("Toulouse", "310##"),
                              ("Nantes", "440##")),
                  ("rue de la République", "avenue Victor Hugo", "boulevard Voltaire", "rue Pasteur"),
                  "{n} {street}", "+33 1 ## ## ## ##"),
    "NL": Country(8, "EUR", (("Amsterdam", "10## @@"), ("Utrecht", "35## @@"), ("Rotterdam", "30## @@")),
                  ("Keizersgracht", "Prinsengracht", "Dorpsstraat", "Kerkstraat"), "{street} {n}",
                  "+31 20 ### ####"),
    "ES": Country(7, "EUR", (("Madrid", "280##"), ("Barcelona", "080##"), ("Valencia", "460##")),
                  ("Calle Mayor", "Gran Vía", "Avinguda Diagonal", "Calle de Alcalá"), "{street}, {n}",
                  "+34 91 ### ## ##"),
}  # fmt: skip
SEPA_COUNTRIES = {"DE": 8, "NL": 4, "FR": 10, "ES": 10}  # IBAN country -> digits in the bank code


# --- small helpers ----------------------------------------------------------------------


def _pattern(rng: random.Random, pattern: str) -> str:
    """Fill a pattern: `#` any digit, `%` a digit 2-9, `@` a capital letter; other characters stay."""
    fill = {"#": "0123456789", "%": "23456789", "@": "ABCDEFGHJKLMNPRSTUVWXYZ"}
    return "".join(rng.choice(fill[ch]) if ch in fill else ch for ch in pattern)


def _ascii(text: str) -> str:
    """Lower-case ASCII fold for e-mail local parts ("Müller" -> "muller", "O'Brien" -> "obrien")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _ts(moment: datetime) -> str:
    """A timestamp in SQLite's text form."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A uniformly random second in [low, high]."""
    return low + timedelta(seconds=rng.randint(0, max(0, int((high - low).total_seconds()))))


def _day_between(rng: random.Random, low: date, high: date) -> date:
    """A uniformly random day in [low, high]."""
    return low + timedelta(days=rng.randint(0, max(0, (high - low).days)))


def _email(rng: random.Random, first: str, last: str, used: set[str], domain: str | None = None) -> str:
    """A plausible, unique address in a reserved domain."""
    f, la = _ascii(first), _ascii(last)
    local = rng.choice((f"{f}.{la}", f"{f[0]}{la}", f"{f}{la[:1]}", f"{la}.{f}", f"{f}_{la}"))
    if rng.random() < 0.35:
        local += str(rng.randint(1, 99))
    address = f"{local}@{domain or rng.choice(MAIL_DOMAINS)}"
    n = 2
    while address in used:
        address = f"{local}{n}@{address.split('@')[1]}"
        n += 1
    used.add(address)
    return address


def _street(rng: random.Random, country: Country) -> str:
    """A street address in the country's usual order (house number first or last)."""
    return country.street_fmt.format(n=rng.randint(1, 240), street=rng.choice(country.streets))


def _country_code(rng: random.Random) -> str:
    """A customer country, weighted like the shop's markets."""
    codes = list(COUNTRIES)
    return rng.choices(codes, weights=[COUNTRIES[c].weight for c in codes])[0]


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        digit = int(ch)
        if i % 2 == 0:  # doubled once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def _card_number(rng: random.Random) -> str:
    """A Luhn-valid number on a well-known test BIN (Visa 4111.., Mastercard 5555.., Amex 3782.., ...)."""
    bin_, length = rng.choice(
        (("411111", 16), ("400000", 16), ("424242", 16), ("555555", 16), ("510510", 16), ("222300", 16),
         ("378282", 15), ("601111", 16))
    )  # fmt: skip
    payload = bin_ + _pattern(rng, "#" * (length - len(bin_) - 1))
    return payload + luhn_check_digit(payload)


def _order_ref(rng: random.Random) -> str:
    """16 digits that look like a card number but deliberately fail Luhn."""
    payload = _pattern(rng, "%" + "#" * 14)
    return payload + str((int(luhn_check_digit(payload)) + rng.randint(1, 9)) % 10)


def iban(country: str, bban: str) -> str:
    """An IBAN for `bban` with correct ISO 13616 mod-97 check digits."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _random_iban(rng: random.Random, country: str) -> str:
    """A random, check-digit-correct IBAN from one of the SEPA countries the shop debits."""
    bban_patterns = {"DE": "#" * 18, "NL": "@@@@" + "#" * 10, "FR": "#" * 23, "ES": "#" * 20}
    return iban(country, _pattern(rng, bban_patterns[country]))


def _ssn(rng: random.Random) -> str:
    """US SSN shape obeying the issuing rules: area not 000/666/9xx, group not 00, serial not 0000."""
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


# --- shop (schema main) -----------------------------------------------------------------

CATEGORIES = (
    (1, "Electronics", None), (2, "Phones & Tablets", 1), (3, "Cameras", 1), (4, "Audio", 1),
    (5, "Home & Kitchen", None), (6, "Cookware", 5), (7, "Furniture", 5), (8, "Sports & Outdoors", None),
    (9, "Bicycles", 8), (10, "Camping", 8), (11, "Books", None), (12, "Vintage & Collectibles", None),
)  # fmt: skip
RECENT = tuple(range(2016, 2026))
VINTAGE = (1979, 1984, 1989, 1994, 1997, 1998, 1999, 1999, 1999, 2000, 2000, 2000, 2001, 2003)
# leaf category -> (SKU prefix, nouns, price range USD, weight range g, model years or None)
PRODUCT_LINES = {
    2: ("PHN", ("Smartphone", "Tablet", "Phone Case", "USB-C Charger"), (9, 1099), (30, 650), RECENT),
    3: ("CAM", ("Mirrorless Camera", "Action Cam", "Zoom Lens", "Tripod"), (49, 2499), (90, 1800), RECENT),
    4: ("AUD", ("Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar"), (19, 899), (20, 4200), None),
    6: ("CKW", ("Frying Pan", "Dutch Oven", "Chef's Knife", "Saucepan Set"), (15, 349), (150, 6500), None),
    7: ("FRN", ("Desk Chair", "Bookshelf", "Coffee Table", "Floor Lamp"), (39, 1290), (2500, 38000), None),
    9: ("BIK", ("Road Bike", "Gravel Bike", "E-Bike", "Kids' Bike"), (199, 4999), (7500, 26000), RECENT),
    10: ("CMP", ("Tent", "Sleeping Bag", "Camping Stove", "Headlamp"), (12, 699), (80, 5200), None),
    11: ("BOK", ("Cookbook", "Travel Guide", "Novel", "Field Guide"), (8, 59), (180, 1400), None),
    12: ("VIN", ("Film Camera", "Vinyl Record", "Game Console", "Walkman"), (25, 1500), (150, 3000), VINTAGE),
}
BRANDS = ("Nordvik", "Altura", "Kestrel", "Lumen", "Brightwater", "Oakridge", "Solenne", "Tamarack", "Vireo")
ADJECTIVES = ("Classic", "Pro", "Lite", "Max", "Compact", "Trail", "Urban", "Studio", "Everyday", "Summit")


def _categories() -> list[Row]:
    """The fixed two-level category tree."""
    return [{"category_id": cid, "category_nm": nm, "parent_id": parent} for cid, nm, parent in CATEGORIES]


def _products(rng: random.Random) -> list[Row]:
    """Products spread over the leaf categories; model_year only where products have one."""
    rows = []
    for prod_id in range(1, PRODUCT_COUNT + 1):
        category_id = rng.choice(list(PRODUCT_LINES))
        prefix, nouns, (lo_price, hi_price), (lo_g, hi_g), years = PRODUCT_LINES[category_id]
        price = round(lo_price + (hi_price - lo_price) * rng.random() ** 3) + 0.99  # most products are cheap
        rows.append({
            "prod_id": prod_id,
            "sku": f"{prefix}-{prod_id:05d}",
            "prod_nm": f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {rng.choice(nouns)}",
            "category_id": category_id,
            "price_usd": round(price, 2),
            "weight_g": None if rng.random() < 0.05 else rng.randint(lo_g, hi_g),
            "model_year": rng.choice(years) if years else None,
            "active": int(rng.random() < 0.88),
        })  # fmt: skip
    return rows


def _customer(rng: random.Random, used_emails: set[str]) -> Row:
    """One customer without an id (ids are assigned in sign-up order)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    code = _country_code(rng)
    country = COUNTRIES[code]
    city, postcode = rng.choice(country.cities)
    born = _day_between(rng, date(1948, 1, 1), date(2006, 12, 31))
    tiers, tier_weights = ("bronze", "silver", "gold", "platinum", None), (40, 25, 12, 3, 20)
    return {
        "c_eml": _email(rng, first, last, used_emails),
        "first_nm": first,
        "last_nm": last,
        "phone": None if rng.random() < 0.15 else _pattern(rng, country.phone),
        "street_addr": _street(rng, country),
        "city": city,
        "postcode": _pattern(rng, postcode),
        "country_cd": code,
        "birth_dt": None if rng.random() < 0.12 else born.isoformat(),
        "signup_ts": _ts(_between(rng, START, datetime(2025, 9, 30))),
        "email_verified": int(rng.random() < 0.82),
        "loyalty_tier": rng.choices(tiers, weights=tier_weights)[0],
    }  # fmt: skip


def _customers(rng: random.Random) -> list[Row]:
    """Customers with ids in sign-up order."""
    used: set[str] = set()
    rows = sorted((_customer(rng, used) for _ in range(CUSTOMER_COUNT)), key=lambda r: str(r["signup_ts"]))
    return [{"cust_id": i, **row} for i, row in enumerate(rows, start=1)]


def _status(rng: random.Random, ordered: datetime) -> str:
    """Order status, plausible for the order's age."""
    age = END - ordered
    if age < timedelta(days=3):
        return rng.choice(("placed", "paid"))
    if age < timedelta(days=14):
        return rng.choice(("paid", "shipped", "shipped"))
    return rng.choices(("delivered", "cancelled", "returned"), weights=(86, 6, 8))[0]


def _client(rng: random.Random) -> tuple[str | None, str | None]:
    """(client_ip, browser); both NULL for orders taken by phone."""
    if rng.random() < 0.05:
        return None, None
    if rng.random() < 0.08:
        ip = "2001:db8:" + ":".join(f"{rng.randint(0, 0xFFFF):x}" for _ in range(6))
    else:
        first = rng.choice((23, 31, 45, 62, 81, 89, 94, 104, 151, 176, 185, 203))
        ip = f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    browser = rng.choices(("Chrome", "Safari", "Firefox", "Edge", "Opera", "Samsung Internet"),
                          weights=(55, 25, 8, 8, 2, 2))[0]  # fmt: skip
    return ip, browser


def _items(
    rng: random.Random, ord_id: int, products: list[Row], popularity: list[float], next_id: int
) -> list[Row]:
    """1-4 distinct products per order; cheap products sell more often (`popularity` is cumulative)."""
    count = rng.choices((1, 2, 3, 4), weights=(22, 30, 25, 23))[0]
    picks = {p["prod_id"]: p for p in rng.choices(products, cum_weights=popularity, k=count)}
    rows = []
    for offset, product in enumerate(picks.values()):
        price = float(product["price_usd"])  # type: ignore[arg-type]
        rows.append({
            "item_id": next_id + offset,
            "ord_id": ord_id,
            "prod_id": product["prod_id"],
            "qty": rng.choices((1, 2, 3, 5), weights=(72, 19, 7, 2))[0],
            "unit_price_usd": round(price * 0.9, 2) if rng.random() < 0.15 else price,
        })  # fmt: skip
    return rows


def _ship_addr(rng: random.Random, customer: Row) -> str | None:
    """Shipping address: usually the customer's, sometimes another, NULL for click & collect."""
    if rng.random() < 0.04:
        return None  # click & collect
    code = str(customer["country_cd"])
    if rng.random() < 0.1:  # shipped somewhere else, e.g. to the office
        city, postcode = rng.choice(COUNTRIES[code].cities)
        return f"{_street(rng, COUNTRIES[code])}, {_pattern(rng, postcode)} {city}, {code}"
    return f"{customer['street_addr']}, {customer['postcode']} {customer['city']}, {code}"


def _orders(rng: random.Random, customers: list[Row], products: list[Row]) -> tuple[list[Row], list[Row]]:
    """Orders (ids in date order) and their items; a few customers buy a lot, some never."""
    weights = [rng.paretovariate(2.0) if rng.random() < 0.9 else 0.0 for _ in customers]
    popularity = list(accumulate(float(p["price_usd"]) ** -0.8 for p in products))  # type: ignore[arg-type]
    buyers = rng.choices(customers, weights=weights, k=ORDER_COUNT)
    drafts = sorted(
        ((_between(rng, datetime.fromisoformat(str(c["signup_ts"])), END), c) for c in buyers),
        key=lambda d: (d[0], d[1]["cust_id"]),
    )
    orders: list[Row] = []
    items: list[Row] = []
    for ord_id, (ordered, customer) in enumerate(drafts, start=1):
        lines = _items(rng, ord_id, products, popularity, len(items) + 1)
        items.extend(lines)
        subtotal = sum(float(line["unit_price_usd"]) * int(line["qty"]) for line in lines)  # type: ignore[arg-type]
        ip, browser = _client(rng)
        orders.append({
            "ord_id": ord_id,
            "order_ref": _order_ref(rng),
            "cust_id": customer["cust_id"],
            "ord_dt": _ts(ordered),
            "status": _status(rng, ordered),
            "amt_usd": round(subtotal + (0 if subtotal >= 50 else 4.99), 2),
            "currency": COUNTRIES[str(customer["country_cd"])].currency,
            "ship_addr": _ship_addr(rng, customer),
            "client_ip": ip,
            "browser": browser,
        })  # fmt: skip
    return orders, items


def _payment(rng: random.Random, order: Row, country_cd: str) -> Row:
    """The payment for one order; card and IBAN fields are filled only for those methods."""
    sepa_weight = 18 if country_cd in SEPA_COUNTRIES else 0
    method = rng.choices(("card", "sepa_debit", "paypal", "gift_card"), weights=(60, sepa_weight, 15, 7))[0]
    ordered = datetime.fromisoformat(str(order["ord_dt"]))
    paid = None if order["status"] == "placed" else _ts(ordered + timedelta(seconds=rng.randint(2, 7200)))
    card = method == "card"
    expiry = f"{rng.randint(1, 12):02d}/{(ordered.year + rng.randint(1, 5)) % 100:02d}"
    return {
        "pay_id": order["ord_id"],
        "ord_id": order["ord_id"],
        "pay_mthd": method,
        "card_no": _card_number(rng) if card else None,
        "card_exp": expiry if card else None,
        "iban": _random_iban(rng, country_cd) if method == "sepa_debit" else None,
        "amt_usd": order["amt_usd"],
        "paid_ts": paid,
    }  # fmt: skip


def shop_rows(rng: random.Random) -> Rows:
    """Rows for shop.db: catalogue, customers, orders with items, payments."""
    products = _products(rng)
    customers = _customers(rng)
    orders, items = _orders(rng, customers, products)
    country = {c["cust_id"]: str(c["country_cd"]) for c in customers}
    payments = [_payment(rng, order, country[order["cust_id"]]) for order in orders]
    return {
        "product_categories": _categories(),
        "products": products,
        "customers": customers,
        "orders": orders,
        "order_items": items,
        "payments": payments,
    }


# --- hr --------------------------------------------------------------------------------

# office -> (country, lat, lon)
OFFICES = {"Portland": ("US", 45.5152, -122.6784), "Austin": ("US", 30.2672, -97.7431),
           "Berlin": ("DE", 52.5200, 13.4050), "London": ("GB", 51.5072, -0.1276)}  # fmt: skip
# (dept_id, name, cost centre, office, weight for staff placement)
DEPARTMENTS = (
    (1, "Executive", "CC-1000", "Portland", 0), (2, "Engineering", "CC-2100", "Berlin", 30),
    (3, "Sales", "CC-3100", "Austin", 15), (4, "Marketing", "CC-3200", "London", 8),
    (5, "Customer Support", "CC-4100", "Austin", 20), (6, "Finance", "CC-5100", "Portland", 6),
    (7, "People Operations", "CC-5200", "Portland", 5), (8, "Logistics", "CC-6100", "Portland", 10),
)  # fmt: skip


def _departments() -> list[Row]:
    """The fixed list of departments."""
    return [{"dept_id": d, "dept_nm": n, "cost_ctr": c, "office_city": o} for d, n, c, o, _ in DEPARTMENTS]


def _placement(rng: random.Random, emp_id: int) -> tuple[int, int | None]:
    """(dept_id, manager_id): emp 1 is the CEO, emps 2-8 head departments 2-8, the rest report to a head."""
    if emp_id == 1:
        return 1, None
    if emp_id <= len(DEPARTMENTS):
        return emp_id, 1
    dept_id = rng.choices([d[0] for d in DEPARTMENTS], weights=[d[4] for d in DEPARTMENTS])[0]
    return dept_id, dept_id


def _salary_history(rng: random.Random, emp_id: int, hired: date, head: bool) -> list[Row]:
    """Salary at hire, then yearly merit raises and the odd promotion up to 2025."""
    salary = rng.randrange(170_000, 260_000, 500) if head else rng.randrange(52_000, 150_000, 500)
    rows = [{"emp_id": emp_id, "eff_dt": hired.isoformat(), "salary_usd": float(salary), "chg_rsn": "hire"}]
    for year in range(hired.year + 1, 2026):
        roll = rng.random()
        if roll > 0.7:
            continue
        promoted = roll < 0.08
        salary = round(salary * (1 + (rng.uniform(0.08, 0.18) if promoted else rng.uniform(0.02, 0.06))), -2)
        effective = _day_between(rng, date(year, 1, 1), date(year, 10, 1)) if promoted else date(year, 4, 1)
        rows.append({"emp_id": emp_id, "eff_dt": effective.isoformat(), "salary_usd": float(salary),
                     "chg_rsn": "promotion" if promoted else "merit"})  # fmt: skip
    return rows


def _employee(rng: random.Random, emp_id: int, used: set[str]) -> tuple[Row, list[Row]]:
    """One employee and their salary history."""
    dept_id, manager_id = _placement(rng, emp_id)
    office = DEPARTMENTS[dept_id - 1][3] if rng.random() < 0.8 else rng.choice(list(OFFICES))
    code, lat, lon = OFFICES[office]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    head = manager_id in (None, 1)
    hired = _day_between(rng, date(2012, 3, 1), date(2017, 12, 31) if head else date(2025, 9, 30))
    history = _salary_history(rng, emp_id, hired, head)
    postcode = dict(COUNTRIES[code].cities)[office]
    row = {
        "emp_id": emp_id,
        "full_name": f"{first} {last}",
        "work_email": _email(rng, first, last, used, domain="corp.example.com"),
        "ssn": _ssn(rng) if code == "US" else None,
        "dob": _day_between(rng, date(1960, 1, 1), date(min(2001, hired.year - 21), 12, 31)).isoformat(),
        "hire_dt": hired.isoformat(),
        "dept_id": dept_id,
        "salary_usd": history[-1]["salary_usd"],
        "manager_id": manager_id,
        "home_addr": None if rng.random() < 0.05
        else f"{_street(rng, COUNTRIES[code])}, {_pattern(rng, postcode)} {office}, {code}",
        "lat": round(lat + rng.gauss(0, 0.06), 6),
        "lon": round(lon + rng.gauss(0, 0.08), 6),
    }  # fmt: skip
    return row, history


def hr_rows(rng: random.Random) -> Rows:
    """Rows for hr.db: departments, employees (with a manager hierarchy), salary history."""
    used: set[str] = set()
    employees, salaries = [], []
    for emp_id in range(1, EMPLOYEE_COUNT + 1):
        row, history = _employee(rng, emp_id, used)
        employees.append(row)
        salaries.extend(history)
    salaries = [{"sal_id": i, **row} for i, row in enumerate(salaries, start=1)]
    return {"departments": _departments(), "employees": employees, "salaries": salaries}


# --- support ---------------------------------------------------------------------------

PASSPORT_PATTERNS = {"US": "5########", "GB": "#########", "DE": "C%@#@##@#", "NL": "N@#@##@##"}
SUBJECTS = {
    "delivery": ("Where is my order #{ord}?", "Parcel marked delivered but not received", "Delivery delayed"),
    "billing": ("Charged twice for order #{ord}", "Refund not received yet", "Invoice needs our VAT number"),
    "account": ("Can't log in to my account", "Please update my e-mail address", "Delete my account (GDPR)"),
    "product": ("{product} stopped working", "Missing parts in my {product}", "Question about the {product}"),
}
BODIES = {
    "delivery": ("Tracking has not moved for five days.", "The courier says the parcel was left at "
                 "reception, but nobody there has seen it.", "I needed this before the weekend, can you "
                 "check with the carrier?"),
    "billing": ("My bank statement shows the amount twice.", "You confirmed the return two weeks ago but the "
                "money is still not back.", "Please reissue the invoice with the company details."),
    "account": ("The reset link in your e-mail expires immediately.", "I have changed jobs and no longer use "
                "the old address.", "Please remove all my data as required by law."),
    "product": ("It worked fine for a month and now it does not turn on.", "The box was missing two "
                "screws and the manual.", "Does it come with a warranty outside the US?"),
}  # fmt: skip
AGENT_REPLIES = (
    "Thanks for reaching out, I am looking into this now.", "Could you send a photo of the label?",
    "I have escalated this to our logistics team.", "Your refund is issued and should arrive in 3-5 days.",
    "We have sent a replacement free of charge.", "Is there anything else I can help with?",
)  # fmt: skip
CUSTOMER_REPLIES = ("Thanks, that solved it!", "Still waiting, any update?", "Photo attached.", "OK, thanks.")


def _agents(rng: random.Random) -> list[Row]:
    """Support agents, some with a passport number on file."""
    rows = []
    for agent_id in range(1, AGENT_COUNT + 1):
        code = rng.choices(list(PASSPORT_PATTERNS), weights=(6, 3, 4, 2))[0]
        rows.append({
            "agent_id": agent_id,
            "agent_nm": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "team": rng.choice(("tier1", "tier1", "tier2", "billing")),
            "country_cd": code,
            "passport_no": None if rng.random() < 0.1 else _pattern(rng, PASSPORT_PATTERNS[code]),
        })  # fmt: skip
    return rows


def _body(rng: random.Random, topic: str, customer: Row | None) -> str:
    """Free text; only a few tickets mention an e-mail address or phone number mid-sentence."""
    sentences = rng.sample(BODIES[topic], 2)
    roll = rng.random()
    if customer is not None and roll < 0.025:
        other = _email(rng, str(customer["first_nm"]), str(customer["last_nm"]), set())
        sentences.append(f"Please write to me at {other} from now on, I can't access the old inbox.")
    elif customer is not None and roll < 0.045:
        phone = _pattern(rng, COUNTRIES[str(customer["country_cd"])].phone)
        sentences.append(f"If it is easier, call me on {phone} any day after 5pm.")
    sign_off = customer["first_nm"] if customer is not None else "A customer"
    return f"Hi,\n\n{' '.join(sentences)}\n\nThanks,\n{sign_off}"


def _ticket(
    rng: random.Random, tkt_id: int, customer: Row | None, orders: list[Row], products: list[Row]
) -> Row:
    """One ticket, opened after the order it is about (or after sign-up)."""
    topic = rng.choice(list(SUBJECTS))
    order = rng.choice(orders) if orders else None
    earliest = order["ord_dt"] if order else customer["signup_ts"] if customer else _ts(START)
    opened = _between(rng, datetime.fromisoformat(str(earliest)), END)
    closed = None if rng.random() < 0.08 else opened + timedelta(hours=rng.lognormvariate(3, 1.2))
    closed = closed if closed and closed <= END else None
    subject = rng.choice(SUBJECTS[topic]).format(
        ord=order["ord_id"] if order else rng.randint(1, ORDER_COUNT),
        product=str(rng.choice(products)["prod_nm"]).split(" ", 2)[-1],
    )
    return {
        "tkt_id": tkt_id,
        "cust_id": customer["cust_id"] if customer else None,
        "agent_id": None if closed is None and rng.random() < 0.5 else rng.randint(1, AGENT_COUNT),
        "opened_ts": _ts(opened),
        "closed_ts": _ts(closed) if closed else None,
        "prio": rng.choices(("low", "normal", "high", "urgent"), weights=(25, 50, 20, 5))[0],
        "status": rng.choice(("solved", "closed") if closed else ("open", "pending")),
        "subj": subject,
        "body": _body(rng, topic, customer),
    }  # fmt: skip


def _messages(rng: random.Random, ticket: Row, next_id: int) -> list[Row]:
    """The back-and-forth on a ticket, agents and customer alternating."""
    sent = datetime.fromisoformat(str(ticket["opened_ts"]))
    rows = []
    for n in range(rng.choices((1, 2, 3, 4), weights=(20, 35, 30, 15))[0]):
        from_agent = n % 2 == 0
        sent += timedelta(minutes=rng.randint(5, 1800))
        rows.append({
            "msg_id": next_id + n,
            "tkt_id": ticket["tkt_id"],
            "sent_ts": _ts(min(sent, END)),
            "sender_role": "agent" if from_agent else "customer",
            "agent_id": (ticket["agent_id"] or rng.randint(1, AGENT_COUNT)) if from_agent else None,
            "msg_txt": rng.choice(AGENT_REPLIES if from_agent else CUSTOMER_REPLIES),
        })  # fmt: skip
    return rows


def support_rows(rng: random.Random, shop: Rows) -> Rows:
    """Rows for support.db; tickets point at shop customers and orders by id (no FK across files)."""
    by_customer: dict[object, list[Row]] = {}
    for order in shop["orders"]:
        by_customer.setdefault(order["cust_id"], []).append(order)
    tickets, messages = [], []
    for tkt_id in range(1, TICKET_COUNT + 1):
        customer = None if rng.random() < 0.05 else rng.choice(shop["customers"])
        orders = by_customer.get(customer["cust_id"], []) if customer else []
        tickets.append(_ticket(rng, tkt_id, customer, orders, shop["products"]))
        messages.extend(_messages(rng, tickets[-1], len(messages) + 1))
    return {"agents": _agents(rng), "tickets": tickets, "ticket_messages": messages}


def generate_rows(rng: random.Random) -> dict[str, Rows]:
    """All rows, keyed by schema (`main`, `hr`, `support`), drawn from `rng` in a fixed order."""
    shop = shop_rows(rng)
    return {"main": shop, "hr": hr_rows(rng), "support": support_rows(rng, shop)}
