"""A hold-out check: the demo company's SQLite databases were written (catalog/demo_rows.py) before the classifier
and by other hands, with their own generators and traps. Every column's labels must be exactly the truth below."""

from __future__ import annotations

from pathlib import Path

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.demo_data import build_demo_databases
from catalog.settings import Settings
from tests.helpers import crawl, register, show

TRUTH = {
    "shop/main/customers": {"c_eml": "pii.email", "first_nm": "pii.person_name", "last_nm": "pii.person_name",
                            "phone": "pii.phone", "street_addr": "pii.street_address",
                            "birth_dt": "pii.date_of_birth"},
    "shop/main/orders": {"ship_addr": "pii.street_address", "client_ip": "pii.ip_address"},
    "shop/main/payments": {"card_no": "pii.credit_card", "iban": "pii.iban"},
    "shop/main/products": {},
    "shop/main/v_customer_revenue": {"customer_name": "pii.person_name"},
    "shop/hr/employees": {"full_name": "pii.person_name", "work_email": "pii.email", "ssn": "pii.national_id",
                          "dob": "pii.date_of_birth", "home_addr": "pii.street_address", "lat": "pii.geo_location",
                          "lon": "pii.geo_location"},
    "shop/hr/salaries": {},
    "shop/support/agents": {"agent_nm": "pii.person_name", "passport_no": "pii.passport"},
    "shop/support/tickets": {},
    "shop/support/ticket_messages": {},
}


def test_demo_databases_are_labelled_exactly(settings: Settings, actor: Actor, tmp_path: Path) -> None:
    files = build_demo_databases(tmp_path / "demo")
    attach = ";".join(f"{schema}={path}" for schema, path in files.items() if schema != "main")
    register(settings, "shop", f"sqlite:///{files['main']}", attach=attach)
    crawl(settings, "shop")
    assert annotate(settings, actor)["failed"] == 0
    wrong = []
    for name, expected in TRUTH.items():
        for column in show(settings, name)["columns"]:
            labels = column["classifications"]
            want = [expected[column["name"]]] if column["name"] in expected else []
            if labels != want:
                wrong.append(f"{name}.{column['name']}: {labels} (expected {want})")
    assert not wrong, wrong
