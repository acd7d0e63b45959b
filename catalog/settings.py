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
    mode: str = "embedded"  # "embedded" (single local user) or "server" (governance issue)

    @property
    def is_embedded_store(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_home() -> Path:
    return Path(os.environ.get("CATALOG_HOME") or "./.catalog").expanduser().resolve()


def load_settings(home: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Build settings from arguments, then the environment, then defaults."""
    home_path = Path(home).expanduser().resolve() if home else default_home()
    url = database_url or os.environ.get("CATALOG_DATABASE_URL") or f"sqlite:///{home_path / 'catalog.db'}"
    batch = int(os.environ.get("CATALOG_CRAWL_BATCH_SIZE", "500"))
    mode = os.environ.get("CATALOG_MODE", "embedded")
    return Settings(home=home_path, database_url=with_installed_driver(url), crawl_batch_size=batch, mode=mode)

