"""Unit tests for the PII building blocks: checksums, shapes, birth-date plausibility, name splitting, masking,
scrubbing, and hostile names/comments handled as plain data."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import perf_counter

import pytest

from annotator.pii import (
    LABELS,
    SUGGEST_THRESHOLD,
    SUSPECT_THRESHOLD,
    ColumnContext,
    classify_columns,
    mask_value,
    scrub_text,
)
from annotator.pii.dates import dob_values
from annotator.pii.names import split_identifier
from annotator.pii.sample import build_sample
from annotator.pii.scoring import Hint
from annotator.pii.shapes import email_ok, ip_score, phone_score, version_like
from annotator.pii.validators import (
    bsn_ok,
    card_ok,
    codice_fiscale_ok,
    cpf_ok,
    iban_ok,
    luhn_ok,
    nino_ok,
    nir_ok,
    spanish_id_ok,
    ssn_ok,
    steuer_id_ok,
)


def test_labels_and_thresholds() -> None:
    assert LABELS == ("pii.email", "pii.phone", "pii.person_name", "pii.street_address", "pii.national_id",
                      "pii.credit_card", "pii.iban", "pii.ip_address", "pii.date_of_birth", "pii.passport",
                      "pii.geo_location")
    assert SUGGEST_THRESHOLD == 0.5 and 0 < SUSPECT_THRESHOLD < SUGGEST_THRESHOLD


@pytest.mark.parametrize("number", ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444",
                                    "378282246310005", "6011111111111117", "3530111333300000", "30569309025904"])
def test_card_numbers_with_known_issuers_and_luhn(number: str) -> None:
    assert card_ok(number)


@pytest.mark.parametrize("number", ["4111111111111112", "2023061500012345", "1234567812345670", "1999", "411111111111",
                                    "4111 1111 1111 1111 1111 1"])
def test_card_rejects_luhn_failures_unknown_prefixes_and_wrong_lengths(number: str) -> None:
    assert not card_ok(number)


def test_luhn() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710") and not luhn_ok("7992739871x")


@pytest.mark.parametrize("value", ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
                                   "NL91ABNA0417164300", "BE68 5390 0754 7034", "de89370400440532013000"])
def test_iban_valid(value: str) -> None:
    assert iban_ok(value)


@pytest.mark.parametrize("value", ["DE89370400440532013001", "DE8937040044053201300", "XX00", "GB82WEST1234569876543X"])
def test_iban_invalid(value: str) -> None:
    assert not iban_ok(value)


def test_ssn_rules() -> None:
    assert ssn_ok("536-90-4399") and ssn_ok("536904399")
    assert not ssn_ok("536904399", require_separators=True)
    for bad in ("000-12-3456", "666-12-3456", "912-12-3456", "536-00-4399", "536-90-0000", "078-05-1120"):
        assert not ssn_ok(bad), bad


def test_national_ids_of_the_supported_locales() -> None:
    assert nino_ok("AB123456C") and nino_ok("ab 12 34 56 c")
    assert not nino_ok("BG123456A") and not nino_ok("DA123456A") and not nino_ok("AB123456E")
    assert bsn_ok("111222333") and bsn_ok("123456782") and not bsn_ok("123456789")
    assert nir_ok("255081416802538") and nir_ok("2 55 08 14 168 025 38") and not nir_ok("255081416802539")
    assert spanish_id_ok("12345678Z") and spanish_id_ok("X1234567L") and not spanish_id_ok("12345678A")
    assert codice_fiscale_ok("RSSMRA85T10A562S") and not codice_fiscale_ok("RSSMRA85T10A562A")
    assert steuer_id_ok("86095742719") and not steuer_id_ok("86095742718") and not steuer_id_ok("12345678901")
    assert cpf_ok("529.982.247-25") and cpf_ok("52998224725") and not cpf_ok("111.111.111-11")


def test_ip_parsing() -> None:
    assert ip_score("192.168.1.5") == 1.0 and ip_score("2001:db8::1") == 1.0 and ip_score("10.0.0.1:443") == 0.8
    for bad in ("256.1.1.1", "1.2.3", "hello", "12:30:45", ""):
        assert ip_score(bad) == 0.0, bad
    assert version_like("4.2.0.1") and not version_like("192.168.1.5")


def test_email_shape_accepts_addresses_not_sentences() -> None:
    assert email_ok("jane.doe+tag@example.co.uk") and email_ok("Jane Doe <jane@example.org>")
    assert not email_ok("write to jane@example.org please") and not email_ok("jane@") and not email_ok("@x.com")


def test_phone_grades_follow_how_telling_the_shape_is() -> None:
    assert phone_score("+49 30 1234567") == 1.0 and phone_score("(0113) 496 0123") >= 0.85
    assert phone_score("030 1234567") >= 0.8 and phone_score("415-555-2671") >= 0.8
    assert phone_score("iPhone 13") == 0.0 and phone_score("1999") == 0.0 and phone_score("4111111111111111") == 0.0
    assert phone_score("123-45-678") < 0.5


def _dob(values: list[object], hinted: bool = True) -> float:
    return dob_values(build_sample(values), Hint(positive=hinted)).weight


def test_birth_dates_need_plausible_ages_spread_and_no_time_of_day() -> None:
    today = date.today()
    births = [today.replace(year=today.year - 20 - i % 60) - timedelta(days=i) for i in range(300)]
    assert _dob(births) > 1.0
    assert _dob([today + timedelta(days=30 + i) for i in range(300)]) < 0  # in the future
    assert _dob([today.replace(year=1850) + timedelta(days=i) for i in range(300)]) < 0  # older than 120 years
    assert _dob([today - timedelta(days=i % 700) for i in range(300)]) < 0  # recent: event dates
    events = [datetime(1970 + i % 40, 1 + i % 12, 1 + i % 28, i % 24, (7 * i) % 60) for i in range(300)]
    assert _dob(events) < 0  # timestamps of events, with varying times of day
    shifted = [datetime(b.year, b.month, b.day) - timedelta(hours=1) for b in births]  # local midnight in UTC
    assert _dob(shifted) > 1.0
    assert _dob([int(b.strftime("%Y%m%d")) for b in births]) > 1.0  # legacy compact dates under a birth name
    assert _dob([int(b.strftime("%Y%m%d")) for b in births], hinted=False) < 0
    assert _dob([b.year for b in births]) > 1.0 and _dob([b.year for b in births], hinted=False) < 0
    assert _dob([b.isoformat() for b in births]) > 1.0 and _dob([b.strftime("%d.%m.%Y") for b in births]) > 1.0


def test_identifier_splitting() -> None:
    assert split_identifier("contact.eMail[]").tokens == ("contact", "e", "mail")
    assert split_identifier("IPAddress").tokens == ("ip", "address")
    assert split_identifier("cust_ph_no").tokens == ("cust", "ph", "no")
    assert split_identifier("Straße").tokens == ("strasse",)
    assert split_identifier("address_line1").bases == ("address", "line")


SAMPLES = {
    "pii.email": ["john.doe@example.com", "Jane <jane@x.org>", "a@b.de"],
    "pii.phone": ["+49 151 12345678", "(0113) 496 0123", "415-555-2671"],
    "pii.person_name": ["John Doe", "Marie-Claude de la Fontaine", "X"],
    "pii.street_address": ["123 Main St", "Hauptstraße 5", "12, rue de la Paix"],
    "pii.national_id": ["536-90-4399", "AB123456C", "12345678Z"],
    "pii.credit_card": ["4111 1111 1111 1111", "378282246310005", 4111111111111111],
    "pii.iban": ["DE89370400440532013000", "GB82 WEST 1234 5698 7654 32"],
    "pii.ip_address": ["192.168.1.5", "2001:db8::1", "10.0.0.1:443"],
    "pii.date_of_birth": [date(1985, 3, 12), "1985-03-12", datetime(1985, 3, 12)],
    "pii.passport": ["C01X00T47", "12AB34567", "123456789"],
    "pii.geo_location": [52.52, "52.5200, 13.4050", {"type": "Point", "coordinates": [13.405, 52.52]}, 52.5],
}


@pytest.mark.parametrize("label", LABELS)
def test_masks_never_return_the_raw_value(label: str) -> None:
    for value in SAMPLES[label] + ["x", "", "plain text", 7]:
        masked = mask_value(value, label)
        assert masked != str(value) and masked.strip() != str(value).strip(), (label, value, masked)


def test_mask_shapes() -> None:
    assert mask_value("john.doe@example.com", "pii.email") == "j***@e***.com"
    assert mask_value("+49 151 12345689", "pii.phone") == "+** *** ******89"
    assert mask_value("4111 1111 1111 1234", "pii.credit_card") == "**** **** **** 1234"
    assert mask_value("DE89370400440532013000", "pii.iban").startswith("DE** ****")
    assert mask_value("DE89370400440532013000", "pii.iban").endswith("3000")
    assert mask_value("John Doe", "pii.person_name") == "J*** D***"
    assert mask_value("123 Main St", "pii.street_address") == "*** **** St"
    assert mask_value("192.168.1.5", "pii.ip_address") == "192.168.*.*"
    assert mask_value(date(1985, 3, 12), "pii.date_of_birth") == "19**-**-**"
    assert mask_value("536-90-4399", "pii.national_id") == "***-**-**99"
    assert mask_value(52.520008, "pii.geo_location") == "~52.5"
    assert mask_value("secret-value", "unknown.label") == "********"
    assert mask_value("abc", "unknown.label") == "***" and mask_value(None, "pii.email") == ""


def test_scrub_text_replaces_pii_and_leaves_the_rest() -> None:
    text = ("Mail j.doe@example.com or call +49 30 1234567, card 4111-1111-1111-1111, IBAN DE89 3704 0044 0532 "
            "0130 00, from 10.0.0.1 and 2001:db8::1 on 2024-03-15 for 19.99 EUR, order 2023061500012345.")
    scrubbed = scrub_text(text)
    for placeholder in ("<email>", "<phone>", "<card>", "<iban>", "<ip>"):
        assert placeholder in scrubbed
    for raw in ("j.doe@example.com", "1234567", "4111", "DE89", "10.0.0.1", "2001:db8::1"):
        assert raw not in scrubbed
    assert "2024-03-15" in scrubbed and "19.99" in scrubbed and "2023061500012345" in scrubbed  # not PII


HOSTILE = ["'; DROP TABLE users; --", "<script>alert(1)</script>", "{{7*7}}", "email\x00<img src=x>", "ssn" * 500]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_comments_are_plain_data(hostile: str) -> None:
    columns = [ColumnContext(hostile, "string", ["a@b.com", "c@d.org"] * 20, comment=hostile),
               ColumnContext("notes", "string", ["hello"] * 5, comment=f"e-mail {hostile}")]
    results = classify_columns(columns, dataset=hostile, table_comment=hostile)
    assert len(results) == 2
    for findings in results:
        for finding in findings:
            for evidence in finding.evidence:
                assert hostile not in evidence.detail and "<script>" not in evidence.detail
                assert "DROP" not in evidence.detail


def test_evidence_never_quotes_sample_values() -> None:
    values = ["john.doe@example.com", "jane@example.org", "Hauptstraße 5", "4111111111111111"]
    columns = [ColumnContext("email", "string", values[:2] * 50), ColumnContext("addr", "string", [values[2]] * 40),
               ColumnContext("cc", "string", [values[3]] * 40)]
    for findings in classify_columns(columns):
        for finding in findings:
            text = str(finding.as_dict())
            assert not any(v in text for v in values)


def test_values_dominate_names() -> None:
    columns = [ColumnContext("email", "string", ["yes", "no"] * 100),
               ColumnContext("email", "boolean", [True, False] * 100),
               ColumnContext("col_3", "string", [f"user{i}@example.com" for i in range(200)])]
    results = classify_columns(columns)
    assert results[0] == [] and results[1] == []
    assert results[2][0].label == "pii.email" and results[2][0].confidence > 0.9


def test_name_alone_suggests_only_unambiguous_names() -> None:
    names = {"email": "string", "ssn": "string", "date_of_birth": "date", "iban": "string",
             "passport_number": "string", "address": "string", "name": "string", "email_verified": "boolean"}
    results = classify_columns([ColumnContext(n, t, []) for n, t in names.items()])
    suggested = {n: {f.label for f in r if f.confidence >= SUGGEST_THRESHOLD}
                 for n, r in zip(names, results, strict=True)}
    assert suggested["email"] == {"pii.email"} and suggested["ssn"] == {"pii.national_id"}
    assert suggested["date_of_birth"] == {"pii.date_of_birth"} and suggested["iban"] == {"pii.iban"}
    assert suggested["passport_number"] == {"pii.passport"}
    assert suggested["address"] == set() and suggested["name"] == set() and suggested["email_verified"] == set()
    assert all(f.match_share is None for r in results for f in r)


def test_mixed_contact_column_is_at_least_suspected() -> None:
    values = [f"user{i}@example.com" if i % 2 else f"+49 30 {1000000 + i}" for i in range(300)]
    findings = classify_columns([ColumnContext("col_1", "string", values)])[0]
    assert findings and findings[0].label == "pii.email" and findings[0].confidence >= SUSPECT_THRESHOLD


def test_finding_shape_and_order() -> None:
    columns = [ColumnContext("contact", "string", ["+49 30 1234567"] * 10 + ["a@b.de"] * 200), ColumnContext(
        "nothing", "integer", list(range(300)))]
    first, second = classify_columns(columns)
    assert second == []
    assert [f.confidence for f in first] == sorted((f.confidence for f in first), reverse=True)
    doc = first[0].as_dict()
    assert set(doc) == {"label", "confidence", "match_share", "evidence"}
    assert doc["label"] == "pii.email" and doc["confidence"] == round(doc["confidence"], 3)
    assert {"kind", "detail", "weight"} == set(doc["evidence"][0])
    assert all(f.confidence >= SUSPECT_THRESHOLD for f in first)


def test_neighbours_pair_coordinates_and_names() -> None:
    lat = [52.0 + i / 997 for i in range(200)]
    lon = [13.0 + i / 991 for i in range(200)]
    alone = classify_columns([ColumnContext("long", "float", lon)])[0]
    paired = classify_columns([ColumnContext("latitude", "float", lat), ColumnContext("long", "float", lon)])[1]
    assert not any(f.confidence >= SUGGEST_THRESHOLD for f in alone)
    assert paired[0].label == "pii.geo_location" and paired[0].confidence >= SUGGEST_THRESHOLD
    assert any(e.kind == "neighbours" for e in paired[0].evidence)


ODD_VALUES = [b"\x00\xff", {"a": {"b": [1, 2]}}, {1, 2}, Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
              float("inf"), float("nan"), "x" * 100_000, None, "", "   ", [None, [1, 2, 3]], (1.0, 2.0), [], {},
              uuid.uuid4(), time(1, 2), timedelta(3), True, 0, -5, 10**40, "\u202e\u0000", "Émile Zola 👍",
              date(1, 1, 1), datetime(9999, 12, 31), Decimal("1E+5"), "nan.5", "1.2e999", [Decimal("sNaN"), 1],
              {"type": "Point", "coordinates": ["a", None]}, {"type": "Point", "coordinates": [500, 500]},
              '{"coordinates": [1,', "POINT(x y)", [float("inf"), 2.0], "99999999999999999999", -(10**30)]


def test_odd_values_never_crash_and_are_never_echoed_by_masks() -> None:
    circular: dict[str, object] = {}
    circular["self"] = circular
    extreme = [10**5000, circular, {"type": "Point", "coordinates": [10**5000, 1]}]
    columns = [ColumnContext(name, ntype, (ODD_VALUES + extreme) * 10) for name, ntype in
               [("", "weird"), ("email", "string"), ("lat", "float"), ("dob", "date"), ("card_number", "integer"),
                ("passport", "string"), ("location", "json")]]
    assert len(classify_columns(columns)) == len(columns)
    for value in ODD_VALUES:
        for label in (*LABELS, "other"):
            masked = mask_value(value, label)
            assert value is None or masked != str(value)
    assert mask_value(10**5000, "pii.phone") == "********"
    assert scrub_text("x" * 50_000 + " a@b.com").endswith("<email>")


@pytest.mark.parametrize("unit,times", [("0", 400_000), ("1-", 100_000), ("+1", 100_000), ("a.", 200_000),
                                        ("f:", 200_000)], ids=["zeros", "dashes", "plus", "dots", "colons"])
def test_scrub_text_is_linear_on_pathological_input(unit: str, times: int) -> None:
    """Not a benchmark: a guard against regexes that backtrack quadratically (that took minutes, not seconds)."""
    started = perf_counter()
    scrub_text(unit * times)
    assert perf_counter() - started < 5.0
