"""Credentials by reference: refused in plain text, resolved at connect time, redacted in output."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import CatalogError, InvalidInput
from catalog.secrets import redact_url, reject_plain_secrets, resolve_url


def test_redact_url_hides_passwords_but_keeps_placeholders() -> None:
    assert redact_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://u:${PW}@h/db") == "postgresql://u:${PW}@h/db"
    assert redact_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
    assert redact_url("mysql://u@h/db") == "mysql://u@h/db"


def test_plain_secrets_are_refused() -> None:
    with pytest.raises(InvalidInput, match="plain-text password"):
        reject_plain_secrets("s", "postgresql://u:p@h/db", {})
    with pytest.raises(InvalidInput, match="aws_secret_access_key"):
        reject_plain_secrets("s", "s3://b/p", {"aws_secret_access_key": "abc"})
    reject_plain_secrets("s", "s3://b/p", {"aws_secret_access_key": "env:AWS_SECRET"})
    reject_plain_secrets("s", "postgresql://u:${PW}@h/db", {"password_file": "/run/secrets/pw"})


def test_resolution_from_environment_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW", "p@ss/word")
    assert resolve_url("s", "postgresql://u:${PW}@h/db", {}) == "postgresql://u:p%40ss%2Fword@h/db"
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert resolve_url("s", "postgresql://u@h/db", {"password_file": str(secret)}) == "postgresql://u:from-file@h/db"
    assert resolve_url("s", "postgresql://u@h/db", {"password_env": "PW"}) == "postgresql://u:p%40ss%2Fword@h/db"


def test_missing_references_name_the_source_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(CatalogError, match="source 's': environment variable NOPE is not set"):
        resolve_url("s", "postgresql://u:${NOPE}@h/db", {})
    with pytest.raises(CatalogError, match="cannot read secrets file"):
        resolve_url("s", "postgresql://u@h/db", {"password_file": "/nonexistent/pw"})
