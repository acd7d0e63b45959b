"""Configuration in one object, built by a factory and never at import time.

Why a factory: tests and the CLI build settings for a particular `CATALOG_HOME`; reading the environment at
import time would freeze whatever was set when the module was first imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from connectors.sql.urls import with_installed_driver


@dataclass(frozen=True)
class Settings:
    """Everything the catalog reads from its environment.

    `database_url` is a secret-bearing value (it may carry a password): never print it; use
    `catalog.secrets.redact_url` when it has to appear in a message.
    """

    home: Path
    database_url: str
    crawl_batch_size: int = 500
    sample_rows: int = 10_000  # rows sampled per dataset for profiles and PII classification
    annotate_workers: int = 4  # datasets sampled at once (sampling mostly waits on the source)
    describe_backend: str = "rules"  # rules, local, openai or none (see annotator.describe.registry)
    embedding_model: str | None = None  # None: the bundled all-MiniLM-L6-v2; else a local sentence-transformers path
    mode: str = "embedded"  # "embedded" (single local user) or "server" (governance issue)
    dvc_remote: str | None = None  # None: CATALOG_HOME/dvc-remote; else any DVC remote URL (s3://bucket/prefix)
    validate_rows: int = 1_000_000  # rows Great Expectations checks per version (all of them up to this)
    secret_key: str | None = None  # server mode: signs login sessions; required, never printed
    trusted_header: str | None = None  # server mode behind an SSO proxy: the header naming the signed-in user
    trusted_proxy_secret: str | None = None  # ...trusted only when the proxy also sends this secret
    drift_thresholds: str = ""  # `catalog watch` thresholds, e.g. "psi=0.2,js=0.15,nulls=0.05" (else defaults)

    @property
    def is_embedded_store(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_home() -> Path:
    return Path(os.environ.get("CATALOG_HOME") or "./.catalog").expanduser().resolve()


def load_settings(home: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Build settings from arguments, then the environment, then defaults."""
    home_path = Path(home).expanduser().resolve() if home else default_home()
    url = database_url or os.environ.get("CATALOG_DATABASE_URL") or f"sqlite:///{home_path / 'catalog.db'}"
    batch = _positive_int("CATALOG_CRAWL_BATCH_SIZE", 500)
    mode = os.environ.get("CATALOG_MODE", "embedded").strip() or "embedded"
    if mode not in ("embedded", "server"):
        from catalog.errors import InvalidInput

        raise InvalidInput(f"CATALOG_MODE must be 'embedded' or 'server', not '{mode}'")
    return Settings(home=home_path, database_url=with_installed_driver(url), crawl_batch_size=batch, mode=mode,
                    sample_rows=_positive_int("CATALOG_SAMPLE_ROWS", 10_000),
                    annotate_workers=_positive_int("CATALOG_ANNOTATE_WORKERS", 4),
                    describe_backend=os.environ.get("CATALOG_DESCRIBE_BACKEND", "rules").strip() or "rules",
                    embedding_model=os.environ.get("CATALOG_EMBEDDING_MODEL") or None,
                    dvc_remote=os.environ.get("CATALOG_DVC_REMOTE", "").strip() or None,
                    validate_rows=_positive_int("CATALOG_VALIDATE_ROWS", 1_000_000),
                    drift_thresholds=os.environ.get("CATALOG_DRIFT_THRESHOLDS", "").strip(),
                    secret_key=os.environ.get("CATALOG_SECRET_KEY") or None,
                    trusted_header=os.environ.get("CATALOG_TRUSTED_HEADER", "").strip().lower() or None,
                    trusted_proxy_secret=os.environ.get("CATALOG_TRUSTED_PROXY_SECRET") or None)


def _positive_int(variable: str, default: int) -> int:
    """An integer setting from the environment; a wrong value is named instead of crashing later."""
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        from catalog.errors import InvalidInput

        raise InvalidInput(f"{variable} must be a positive integer, not '{raw}'")
    return value

