"""SQL URL conveniences shared by the connector and the metadata store."""

from __future__ import annotations

_DRIVERS = (
    ("postgresql://", "postgresql+psycopg://"),
    ("postgres://", "postgresql+psycopg://"),
    ("mysql://", "mysql+pymysql://"),
    ("mariadb://", "mysql+pymysql://"),
)


def with_installed_driver(url: str) -> str:
    """Bare `postgresql://` and `mysql://` URLs use the drivers we install (psycopg 3, PyMySQL)."""
    for bare, full in _DRIVERS:
        if url.startswith(bare):
            return full + url[len(bare):]
    return url
