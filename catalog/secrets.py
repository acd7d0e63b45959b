"""Credentials by reference: the catalog stores where a secret lives, never the secret itself.

A source URL may carry `${ENV_VAR}` placeholders (`postgresql://app:${SHOP_PW}@db/shop`), and options may name a
password through `password_env=VAR` or `password_file=/run/secrets/shop`. Other secret-looking options
(`aws_secret_access_key`, `token`, ...) take `env:VAR` or `file:/path` values. Secrets are resolved only at
connect time and never returned, logged or printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from catalog.errors import CatalogError, InvalidInput

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_OPTION = re.compile(r"(password|secret|token|api_key|access_key|credential)", re.IGNORECASE)
REFERENCE_OPTIONS = {"password_env", "password_file"}


def _userinfo_password(url: str) -> str | None:
    netloc = urlsplit(url).netloc if "://" in url else ""
    userinfo, at, _ = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1]


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***` (placeholders are kept: they name, not reveal)."""
    password = _userinfo_password(url)
    if not password or PLACEHOLDER.fullmatch(password):
        return url
    scheme, rest = url.split("://", 1)
    netloc_end = len(urlsplit(url).netloc)
    netloc = rest[:netloc_end]
    userinfo, _, hostport = netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{hostport}{rest[netloc_end:]}"


def reject_plain_secrets(source: str, url: str, options: Mapping[str, str]) -> None:
    """Refuse a plain-text password in a URL or option, naming how to pass it by reference instead."""
    password = _userinfo_password(url)
    if password and not PLACEHOLDER.fullmatch(password):
        raise InvalidInput(
            f"source '{source}': the URL contains a plain-text password; put it in an environment variable "
            "and write ${VAR} in the URL, or pass --option password_env=VAR or --option password_file=PATH"
        )
    for key, value in options.items():
        if key in REFERENCE_OPTIONS or not SECRET_OPTION.search(key):
            continue
        if not (value.startswith("env:") or value.startswith("file:")):
            raise InvalidInput(
                f"source '{source}': option '{key}' looks like a secret; pass it as env:VAR or file:/path"
            )


def _read_env(source: str, var: str) -> str:
    value = os.environ.get(var)
    if value is None:
        raise CatalogError(f"source '{source}': environment variable {var} is not set")
    return value


def _read_file(source: str, path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CatalogError(f"source '{source}': cannot read secrets file {path}: {exc.strerror}") from exc


def resolve_reference(source: str, value: str) -> str:
    """Turn `env:VAR` / `file:/path` into the secret; other values pass through."""
    if value.startswith("env:"):
        return _read_env(source, value[4:])
    if value.startswith("file:"):
        return _read_file(source, value[5:])
    return value


def resolve_options(source: str, options: Mapping[str, str]) -> dict[str, str]:
    """Options as the connector needs them: secret-looking ones (`aws_secret_access_key=env:VAR`) resolved."""
    return {
        key: resolve_reference(source, value) if key not in REFERENCE_OPTIONS and SECRET_OPTION.search(key)
        else value
        for key, value in options.items()
    }


def resolve_url(source: str, url: str, options: Mapping[str, str]) -> str:
    """The connectable URL: placeholders filled from the environment, a referenced password put in."""
    resolved = PLACEHOLDER.sub(lambda m: quote(_read_env(source, m.group(1)), safe=""), url)
    password: str | None = None
    if "password_env" in options:
        password = _read_env(source, options["password_env"])
    elif "password_file" in options:
        password = _read_file(source, options["password_file"])
    if password is None:
        return resolved
    parts = urlsplit(resolved)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        raise InvalidInput(f"source '{source}': a password option needs a user name in the URL")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:{quote(password, safe='')}@{hostport}"
    return resolved.replace(parts.netloc, netloc, 1)

